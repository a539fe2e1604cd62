#!/usr/bin/env bash
# The GPU check, one prepared script with its own deadline: runs on the GPU host
# from the bundle that scripts/gpu/bundle.sh makes, and here on the CPU against
# build/bin/ldmground (ctest gpu_kit_cpu, label kit). Results: a few flat files in
# --out (default $OUT, the device tool's folder):
#   summary.tsv   step, status (ok | fail | timeout | skip), seconds, detail
#   results.txt   key=value numbers: the bench's per-pair and per-image seconds at T=300
#                 (one image, and BATCH images batched), peak memory, achieved FLOP/s, CUDA
#                 graph replays, bf16/tf32 error against fp32, the speedup against the
#                 authors' pipeline, parity's status
#   env.txt, gpu_tests.txt (+ .xml), bench.txt, bench.json, bench_<prec>.{txt,json},
#                 parity.txt, demo.txt, ctest.txt:
#                 each step's output
#
#   bash check.sh --bundle ldmground-gpu.tar.xz          # on the GPU host (defaults: cuda, T=300)
#   bash scripts/gpu/check.sh --bin build/bin/ldmground --device cpu --T 10 --small --out /tmp/k
#
# Steps, each under `timeout` and within --deadline seconds overall (the most
# important first): env (`ldmground env`), gpu_tests (the gpu-labelled GoogleTest
# program test_gpu next to the binary: parity on the device, fast == faithful,
# GPU == CPU, offline analyze == online), bench (`ldmground bench` with the
# authors' pipeline when its Python has torch, transformers, yaml and monai-generative;
# rows of 8 images batched on CUDA, 2 on the CPU), bench_bf16 and bench_tf32 (CUDA
# only): the error against fp32 at T and the fast, batched seconds per image,
# parity (`parity --golden T20` on the fixtures, when present), demo (`demo --ranks 2`:
# a 2-rank MPI sweep with the bundled OpenMPI), ctest (`ctest -L gpu` when --ctest-dir
# names a build tree). Exit status 0 when no step failed or timed out.
#
# Options: --bundle DIR|TAR.XZ (source its env.sh; a tarball is unpacked to a temporary
# folder), --bin PATH (no bundle: this binary), --out DIR, --device D (default cuda with a
# bundle, else cpu), --T N (300 on CUDA, 10 on the CPU), --deadline S (300), --configs DIR
# (bench configs; default the bundle's configs/ or ../shared/fixtures/configs), --small
# (bench on the tiny demo U-Net instead: CPU tests), --fixtures DIR (parity fixtures),
# --python PY (the authors' pipeline's Python; default the bundle's authors-python or
# $LDMG_AUTHORS_PYTHON), --ctest-dir DIR, --work DIR (scratch; default a temporary folder).
set -uo pipefail

START=$(date +%s)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUNDLE="" BIN="" DEVICE="" T="" DEADLINE=300 CONFIGS="" SMALL=0 FIXTURES="" PY="" CTEST_DIR="" WORK=""
RESULTS="${OUT:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) BUNDLE=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --out) RESULTS=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --T) T=$2; shift 2 ;;
    --deadline) DEADLINE=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    --small) SMALL=1; shift ;;
    --fixtures) FIXTURES=$2; shift 2 ;;
    --python) PY=$2; shift 2 ;;
    --ctest-dir) CTEST_DIR=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "check.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$RESULTS" ] || { echo "check.sh: no result folder (--out DIR or \$OUT)" >&2; exit 2; }
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
OWN_WORK=0
if [ -z "$WORK" ]; then WORK=$(mktemp -d "${TMPDIR:-/tmp}/ldmg-check.XXXXXX"); OWN_WORK=1; fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
cleanup() { [ "$OWN_WORK" = 1 ] && rm -rf "$WORK"; }
trap cleanup EXIT

SUMMARY="$RESULTS/summary.tsv"
FLAT="$RESULTS/results.txt"
printf 'step\tstatus\tseconds\tdetail\n' > "$SUMMARY"
: > "$FLAT"
result() { echo "$1=$2" >> "$FLAT"; }
log() { echo "[check $(( $(date +%s) - START ))s] $*"; }

# ---------------------------------------------------------------- bundle or binary
if [ -n "$BUNDLE" ]; then
  if [ -f "$BUNDLE" ]; then
    log "unpacking $BUNDLE"
    tar -C "$WORK" -xJf "$BUNDLE" || { echo "check.sh: cannot unpack $BUNDLE" >&2; exit 1; }
    BUNDLE="$WORK/ldmground-gpu"
  fi
  BUNDLE=$(cd "$BUNDLE" && pwd)
  # shellcheck disable=SC1091
  . "$BUNDLE/env.sh"
  BIN="$BUNDLE/bin/ldmground"
  [ -n "$DEVICE" ] || DEVICE=cuda
  [ -n "$CONFIGS" ] || CONFIGS="$BUNDLE/configs"
  [ -n "$FIXTURES" ] || FIXTURES="$BUNDLE/fixtures/parity"
  [ -n "$PY" ] || PY="$BUNDLE/bin/authors-python"
  SCRIPT="$BUNDLE/share/ldmground/official_pipeline.py"
else
  [ -n "$BIN" ] || { echo "check.sh: --bundle or --bin is needed" >&2; exit 2; }
  [ -n "$DEVICE" ] || DEVICE=cpu
  SRC=$(cd "$HERE/../.." && pwd)
  [ -n "$CONFIGS" ] || CONFIGS="$SRC/../shared/fixtures/configs"
  [ -n "$PY" ] || PY="${LDMG_AUTHORS_PYTHON:-}"
  SCRIPT="$SRC/bench/official_pipeline.py"
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
BIN=$(realpath "$BIN")
[ -x "$BIN" ] || { echo "check.sh: no executable $BIN" >&2; exit 1; }
case "$DEVICE" in cuda*) [ -n "$T" ] || T=300 ;; *) [ -n "$T" ] || T=10 ;; esac
result device "$DEVICE"
result T "$T"
log "binary $BIN, device $DEVICE, T=$T, deadline ${DEADLINE}s, results in $RESULTS"

FAILED=0
# run_step NAME LIMIT OUTFILE CMD...: under timeout, within the deadline.
run_step() {
  local name=$1 limit=$2 out=$3; shift 3
  local left=$(( DEADLINE - ($(date +%s) - START) - 5 ))
  if [ "$left" -lt 10 ]; then
    printf '%s\tskip\t0\tdeadline reached\n' "$name" >> "$SUMMARY"; log "$name: skipped (deadline)"; return 1
  fi
  [ "$limit" -le "$left" ] || limit=$left
  log "$name (limit ${limit}s): $*"
  local t0 rc status
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > "$out" 2>&1
  rc=$?
  case $rc in 0) status=ok ;; 124|137) status=timeout ;; *) status=fail ;; esac
  [ "$status" = ok ] || FAILED=1
  printf '%s\t%s\t%s\texit %s\n' "$name" "$status" "$(( $(date +%s) - t0 ))" "$rc" >> "$SUMMARY"
  log "$name: $status (exit $rc, $(( $(date +%s) - t0 ))s)"
  [ "$status" = ok ]
}
skip_step() { printf '%s\tskip\t0\t%s\n' "$1" "$2" >> "$SUMMARY"; log "$1: skipped ($2)"; }

# ---------------------------------------------------------------- env
run_step env 60 "$RESULTS/env.txt" "$BIN" env
timeout 60 "$BIN" env --json > "$RESULTS/env.json" 2>/dev/null || rm -f "$RESULTS/env.json"

# ---------------------------------------------------------------- gpu tests (test_gpu)
# The gpu-labelled GoogleTest program next to the binary (the bundle's, or a
# build tree's): parity on the device, fast == faithful, GPU == CPU heatmaps,
# offline analyze == online. Without a GPU every test skips (counted below).
TEST_GPU="$(dirname "$BIN")/test_gpu"
if [ -x "$TEST_GPU" ]; then
  gpu_env=(env LDMG_GPU_DEVICE="$( case "$DEVICE" in cuda:*) echo "$DEVICE" ;; *) echo cuda:0 ;; esac )")
  [ -n "$FIXTURES" ] && [ -d "$FIXTURES" ] && gpu_env+=(LDMG_SHARED_DIR="$(cd "$FIXTURES/../.." && pwd)")
  run_step gpu_tests 180 "$RESULTS/gpu_tests.txt" "${gpu_env[@]}" "$TEST_GPU" --gtest_color=no \
    --gtest_output="xml:$RESULTS/gpu_tests.xml"
  result gpu_tests_passed "$(grep -c '^\[       OK \]' "$RESULTS/gpu_tests.txt")"
  result gpu_tests_skipped "$(grep -c '^\[  SKIPPED \] [A-Z][A-Za-z0-9_]*\.[A-Za-z0-9_]* (' "$RESULTS/gpu_tests.txt")"
  result gpu_tests_failed "$(grep -c '^\[  FAILED  \] [A-Z][A-Za-z0-9_]*\.[A-Za-z0-9_]* (' "$RESULTS/gpu_tests.txt")"
else
  skip_step gpu_tests "no test_gpu next to $BIN"
fi
command -v nvidia-smi >/dev/null && timeout 30 nvidia-smi -L >> "$RESULTS/env.txt" 2>&1

# ---------------------------------------------------------------- bench
if [ "$SMALL" = 1 ]; then
  "$BIN" demo --no-run --images 1 --out "$WORK/small" > "$WORK/small.log" 2>&1 \
    || { cat "$WORK/small.log"; echo "check.sh: demo --no-run failed" >&2; exit 1; }
  CONFIGS="$WORK/small/model/configs"
fi
bench_args=(bench --device "$DEVICE" --T "$T" --configs "$CONFIGS" --json "$RESULTS/bench.json")
authors_note="not run"
if [ -n "$PY" ] && [ -f "$SCRIPT" ]; then
  if "$PY" -c "import torch, transformers, yaml, generative" > "$WORK/py.log" 2>&1; then
    bench_args+=(--authors "$PY" --authors-script "$SCRIPT" --export "$WORK/bench-model")
    authors_note="ran"
  else
    authors_note="its Python lacks modules: $(tail -1 "$WORK/py.log")"
  fi
else
  authors_note="no Python given (--python, LDMG_AUTHORS_PYTHON)"
fi
result authors "$authors_note"
# Batched rows (--batch-images): the fast inversion of BATCH images in one U-Net batch, as
# `sweep --batch-images`: the seconds per image of the issue's GPU targets.
case "$DEVICE" in
  cuda*) BATCH=8 ;;
  *) BATCH=2; bench_args+=(--call-batches 1,2 --call-precisions fp32,bf16 --call-reps 2 --peak-n 1024) ;;
esac
bench_args+=(--batch-images "$BATCH")
if run_step bench 240 "$RESULTS/bench.txt" "$BIN" "${bench_args[@]}"; then
  python3 - "$RESULTS/bench.json" >> "$FLAT" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
t = j["target_T"]
for r in j["rows"]:
    key = f'{r["mode"]}_x{r["prompts"]}' + (f'_b{r["images"]}' if r.get("images", 1) > 1 else '')
    print(f's_per_pair_T{t}_{key}={r["target_seconds_per_pair"]:.6g}')
    print(f's_per_image_T{t}_{key}={r["target_seconds_per_image"]:.6g}')
    if not r["derived"]:
        print(f'peak_bytes_{key}={max(r["peak_device_bytes"], r["peak_rss_bytes"])}')
print(f'flops_per_batch2_call={j["flops_per_call"]:.6g}')
print(f'achieved_flops_per_second={j["achieved_flops_per_second"]:.6g}')
for c in j["calls"]:
    print(f'call_seconds_{c["precision"]}_b{c["batch"]}={c["seconds"]:.6g}')
    print(f'call_flops_per_second_{c["precision"]}_b{c["batch"]}={c["flops_per_second"]:.6g}')
    if c.get("graph_seconds", 0) > 0:
        print(f'call_graph_seconds_{c["precision"]}_b{c["batch"]}={c["graph_seconds"]:.6g}')
        print(f'call_graph_max_abs_diff_{c["precision"]}_b{c["batch"]}={c["graph_max_abs_diff"]:.3g}')
    elif c.get("graph_error"):
        print(f'call_graph_error_{c["precision"]}_b{c["batch"]}={c["graph_error"][:200]}')
for k, v in j["speedup"].items():
    print(f'speedup_{k}={v:.6g}')
if "authors" in j:
    print(f'authors_s_per_pair_T{t}={j["authors"]["target_seconds_per_pair"]:.6g}')
    print(f'authors_peak_bytes={j["authors"]["peak_bytes"]:.6g}')
EOF
  tail -1 "$RESULTS/bench.txt" | sed 's/^/bench_last_line=/' >> "$FLAT"
fi

# ---------------------------------------------------------------- bench_bf16, bench_tf32
# The reduced precisions against fp32 at T on the same weights (the heatmap and latent
# error of a fast 1-prompt inversion) and their fast and batched seconds per image.
# tf32 exists on CUDA only (on a CPU it is fp32).
precisions="bf16 tf32"
case "$DEVICE" in cuda*) ;; *) precisions="bf16" ;; esac
for prec in $precisions; do
  if run_step "bench_$prec" 90 "$RESULTS/bench_$prec.txt" "$BIN" bench --device "$DEVICE" --T "$T" --configs "$CONFIGS" \
      --precision "$prec" --modes fast --prompts 1 --batch-images "$BATCH" --call-batches none --no-flops --peak-n 0 \
      --json "$RESULTS/bench_$prec.json"; then
    python3 - "$RESULTS/bench_$prec.json" "$prec" >> "$FLAT" <<'EOF'
import json, sys
j, prec = json.load(open(sys.argv[1])), sys.argv[2]
e = j["precision_error"]
print(f'{prec}_heatmap_max_abs_vs_fp32_T{j["T"]}={e["heatmap_max_abs"]:.3g}')
print(f'{prec}_heatmap_mean_abs_vs_fp32_T{j["T"]}={e["heatmap_mean_abs"]:.3g}')
print(f'{prec}_latent_rel_l2_vs_fp32_T{j["T"]}={e["latent_rel_l2"]:.3g}')
for r in j["rows"]:
    key = f'{r["mode"]}_x{r["prompts"]}' + (f'_b{r["images"]}' if r.get("images", 1) > 1 else '')
    print(f'{prec}_s_per_image_T{j["target_T"]}_{key}={r["target_seconds_per_image"]:.6g}')
EOF
  fi
done

# ---------------------------------------------------------------- parity
if [ -n "$FIXTURES" ] && [ -d "$FIXTURES/golden/T20" ]; then
  parity_args=(parity --fixtures "$FIXTURES" --golden T20)
  "$BIN" parity --help 2>/dev/null | grep -q -- "--device" && parity_args+=(--device "$DEVICE")
  parity_limit=120
  case "$DEVICE" in cuda*) ;; *) parity_limit=400 ;; esac  # T=20 on 2 CPU cores: 1.5-2 min
  run_step parity "$parity_limit" "$RESULTS/parity.txt" "$BIN" "${parity_args[@]}"
  result parity_exit "$(awk -F'\t' '$1 == "parity" {print $4}' "$SUMMARY" | sed 's/exit //')"
else
  skip_step parity "no fixtures (--fixtures DIR with golden/T20)"
fi

# ---------------------------------------------------------------- demo (2-rank MPI sweep)
if command -v mpiexec >/dev/null || command -v mpirun >/dev/null; then
  if run_step demo 120 "$RESULTS/demo.txt" "$BIN" demo --out "$WORK/demo" --ranks 2 --images 2 --steps 10 --overlays 0; then
    result demo_units_done "$(grep -c '"status": *"ok"' "$WORK"/demo/run/ledger/rank*.jsonl 2>/dev/null | awk -F: '{s += $NF} END {print s + 0}')"
  fi
else
  skip_step demo "no mpiexec on PATH"
fi

# ---------------------------------------------------------------- ctest -L gpu
if [ -n "$CTEST_DIR" ]; then
  run_step ctest 120 "$RESULTS/ctest.txt" ctest --test-dir "$CTEST_DIR" -L gpu --output-on-failure --timeout 100
else
  skip_step ctest "no build tree here (--ctest-dir); the bundle carries the binary only"
fi

result seconds "$(( $(date +%s) - START ))"
log "done: $(awk -F'\t' 'NR > 1 {printf "%s=%s ", $1, $2}' "$SUMMARY")"
exit $FAILED
