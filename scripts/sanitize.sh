#!/usr/bin/env bash
# CI's sanitizer steps (.ci/run calls this after scripts/test.sh), each timed:
#   fuzz  every libFuzzer target for LDMG_CI_FUZZ_SECONDS (default 20) on its
#         stored corpus (tests/fuzz/run_fuzz.sh: a separate clang tree,
#         build-fuzz/, ASan + UBSan + leak checks);
#   asan  an ASan + UBSan build (preset asan, build-asan/) of the unit tests
#         of the modules whose sources compile without LibTorch's headers
#         (core, io, metrics, viz) plus data (image decoders, CSV), then a
#         run of them. The rest (text, model, pipeline...) would rebuild
#         LibTorch-heavy code for ~30 min on 2 cores without new coverage of
#         untrusted input; their parsers are covered by the fuzz targets.
# usage: scripts/sanitize.sh [fuzz] [asan]   (default: both)
# clang and libFuzzer come from scripts/bootstrap.sh (clang, libclang-rt-14-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${*:-fuzz asan}
jobs=${LDMG_SANITIZE_JOBS:-2}
status=0

for step in $steps; do
  start=$(date +%s)
  case $step in
    fuzz)
      # A fixed seed: the same inputs on every CI run, so a red CI is
      # reproducible; longer, randomly seeded campaigns are run by hand.
      FUZZ_ARGS=${FUZZ_ARGS:--seed=1} bash tests/fuzz/run_fuzz.sh "${LDMG_CI_FUZZ_SECONDS:-20}" "$PWD/build-fuzz" ||
        status=1
      ;;
    asan)
      # The unit-test executables worth it; ctest then runs exactly their tests.
      targets=(test_core test_io test_pickle_reader test_torch_zip test_outputs test_metrics test_viz test_data)
      cmake --preset asan > build-asan.configure.log 2>&1 || { tail -20 build-asan.configure.log; exit 1; }
      cmake --build --preset asan -j"$jobs" --target "${targets[@]}"
      echo "[sanitize] asan build took $(( $(date +%s) - start )) s"
      # LibTorch (linked by core, not instrumented) allocates process-lifetime
      # registries at static initialisation that LeakSanitizer reports at exit:
      # suppressed by library, so leaks in our code are still reported.
      export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0}
      export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
      export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
      # Only the executables built above have discovered tests ("Suite.Name");
      # the others appear as "<exe>_NOT_BUILT" and the script tests have no dot.
      ctest --test-dir build-asan --output-on-failure -j"$jobs" -R '\.' -LE "slow|fuzz|slurm|gpu|python" || status=1
      ;;
    *) echo "sanitize: unknown step '$step' (fuzz, asan)"; exit 2 ;;
  esac
  echo "[sanitize] $step took $(( $(date +%s) - start )) s"
done
exit $status
