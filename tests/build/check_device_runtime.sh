#!/usr/bin/env bash
# check_device_runtime.sh LDMGROUND CUDA(0|1) NCCL(0|1): what CMake decided
# against what the binary links and reports.
set -euo pipefail
bin=$1 want_cuda=$2 want_nccl=$3
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
report=$("$bin" env --json)
echo "$report"
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(v if not isinstance(v,bool) else int(v))' "$report" "$1"; }
fail() { echo "FAIL: $*"; exit 1; }
[ "$(field cuda_built)" = "$want_cuda" ] || fail "env reports cuda_built=$(field cuda_built), CMake configured LDMG_HAVE_CUDA=$want_cuda"
[ "$(field nccl_built)" = "$want_nccl" ] || fail "env reports nccl_built=$(field nccl_built), CMake configured LDMG_HAVE_NCCL=$want_nccl"
if [ "$want_cuda" = 1 ]; then
  grep -qx 'libtorch_cuda.so' <<<"$needed" || fail "CUDA build but $bin has no NEEDED libtorch_cuda.so (readelf -d)"
  loaded=$(field libtorch_cuda)
  [ -n "$loaded" ] || fail "CUDA build but libtorch_cuda is not loaded at run time"
  echo "ok: CUDA build; libtorch_cuda linked and loaded from $loaded"
else
  if grep -qx 'libtorch_cuda.so' <<<"$needed"; then fail "CPU build but $bin links libtorch_cuda.so"; fi
  [ -z "$(field libtorch_cuda)" ] || fail "CPU build but libtorch_cuda is loaded"
  echo "ok: CPU-only build (LibTorch's CUDA part not linked)"
fi
"$bin" --version | grep -q "CUDA built in: $([ "$want_cuda" = 1 ] && echo yes || echo no)" || fail "--version disagrees"
