#!/usr/bin/env bash
# Builds the libFuzzer targets (a separate clang configuration, see
# CMakeLists.txt) if needed and runs each for SECONDS on its corpus.
#   usage: run_fuzz.sh SECONDS [BUILD_DIR] [TARGET...]
# Corpora: tests/fuzz/corpus/<target>/ (seeds and regression inputs, read
# only); new coverage goes to BUILD_DIR/corpus/<target>/, crashes to
# BUILD_DIR/crashes/<target>/ (copy a fixed one into tests/fuzz/corpus/<target>/
# to keep it as a regression input). Exit 1 if a target crashed, 77 (skip)
# without clang or libFuzzer.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-30}
build=${2:-$root/build-fuzz}
shift $(( $# >= 2 ? 2 : $# ))
targets=${*:-csv ms_cxr tokenizer safetensors torch_zip pickle ledger job_ini model_yaml text_config_json cache_reader cache_manifest dicom_structure}
cxx=${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14 || true)}
[ -n "$cxx" ] || { echo "run_fuzz: no clang++; skipping"; exit 77; }
cc=${cxx/clang++/clang}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" -DLDMG_FUZZ=ON -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" > "$build.configure.log" 2>&1 ||
    { echo "run_fuzz: configure failed (libFuzzer missing? apt-get install libclang-rt-14-dev):"; tail -20 "$build.configure.log"; exit 77; }
fi
nice -n 10 cmake --build "$build" -j"${FUZZ_JOBS:-2}" || { echo "run_fuzz: build failed"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
printf '%-18s %8s %10s %8s %s\n' target seconds execs exec/s result
for t in $targets; do
  exe=$build/fuzz_$t
  [ -x "$exe" ] || { echo "run_fuzz: no $exe"; status=1; continue; }
  seeds=$here/corpus/$t work=$build/corpus/$t crashes=$build/crashes/$t
  mkdir -p "$seeds" "$work" "$crashes"
  # Regression inputs first: every stored input must run clean.
  if ls "$seeds"/* > /dev/null 2>&1; then
    "$exe" -runs=0 "$seeds" > "$build/$t.regress.log" 2>&1 ||
      { echo "run_fuzz: $t fails on a stored corpus input:"; tail -30 "$build/$t.regress.log"; status=1; continue; }
  fi
  dict=()
  [ -f "$here/dict/$t.dict" ] && dict=(-dict="$here/dict/$t.dict")
  t0=$(date +%s)
  # shellcheck disable=SC2086  # FUZZ_ARGS: extra libFuzzer flags, e.g. -detect_leaks=0
  "$exe" "$work" "$seeds" "${dict[@]}" ${FUZZ_ARGS:-} -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$crashes/" -print_final_stats=1 > "$build/$t.log" 2>&1
  rc=$?
  execs=$(grep -a 'stat::number_of_executed_units' "$build/$t.log" | tail -1 | awk '{print $2}')
  took=$(( $(date +%s) - t0 ))
  rate=$(( ${execs:-0} / (took > 0 ? took : 1) ))
  if [ "$rc" -eq 0 ]; then res=ok; else res="CRASH (rc $rc): $(ls -t "$crashes" | head -1)"; status=1; fi
  printf '%-18s %8s %10s %8s %s\n' "$t" "$took" "${execs:-?}" "$rate" "$res"
  [ "$rc" -eq 0 ] || grep -a -m1 -A12 'ERROR:\|==ERROR\|runtime error\|deadly signal\|uncaught' "$build/$t.log" | head -20
done
exit $status
