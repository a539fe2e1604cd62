#!/usr/bin/env bash
# End-to-end sweep tests on the demo assets (no ../shared needed):
#   ranks  - the same job on 1, 2 and 3 MPI ranks gives byte-identical
#            results/ (pairs.csv, summary.json, summary.md) and plan.json;
#   resume - kill -9 one rank of a 2-rank sweep mid-run, re-run the same
#            command on 3 ranks: results identical to the uninterrupted run;
#   signal - SIGUSR1 to mpirun mid-run: exit 75 with no results, the re-run
#            finishes with identical results;
#   status - `status` on a finished and on a stopped run folder.
# usage: sweep_test.sh MODE LDMGROUND MPIEXEC WORKDIR
set -euo pipefail
mode=$1 bin=$2 mpiexec=$3 work=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$work" && mkdir -p "$work"
# shellcheck source=sweep_lib.sh
source "$(dirname "$0")/sweep_lib.sh"

"$bin" demo --out "$work/demo" --no-run --log-level warn
# One thread per rank: LibTorch's CPU kernels sum in an order that depends on
# the thread count, and identical bytes across rank counts need the same
# per-rank arithmetic (docs: README "Sweeps").
sweep() {  # sweep NP RUN [extra args]
  local np=$1 run=$2; shift 2
  "$mpiexec" -n "$np" --oversubscribe "$bin" sweep --job "$work/demo/demo.ini" --run "$run" --threads 1 \
    --log-level warn "$@"
}
sweep_bg() {  # sweep_bg NP RUN: in the background, $! = mpiexec's pid
  local np=$1 run=$2
  "$mpiexec" -n "$np" --oversubscribe "$bin" sweep --job "$work/demo/demo.ini" --run "$run" --threads 1 \
    --log-level warn &
  launcher=$!
}
case $mode in
  ranks)
    for np in 1 2 3; do
      start=$(date +%s.%N)
      sweep "$np" "$work/np$np" || fail "sweep on $np rank(s) exited $?"
      log "np=$np: $(echo "$(date +%s.%N) - $start" | bc) s"
    done
    same_results "$work/np1" "$work/np2"
    same_results "$work/np1" "$work/np3"
    # A second run on a finished folder does nothing and rewrites the same results.
    sweep 2 "$work/np2" || fail "re-run of a finished sweep exited $?"
    same_results "$work/np1" "$work/np2"
    [ "$(cat "$work"/np2/ledger/rank*.jsonl | wc -l)" -eq "$(cat "$work"/np1/ledger/rank*.jsonl | wc -l)" ] ||
      fail "the re-run of a finished sweep ran units again"
    ;;
  resume)
    sweep 1 "$work/ref" || fail "reference sweep exited $?"
    sweep_bg 2 "$work/run"
    wait_for_units "$work/run" 1
    victim=
    for p in $(pgrep -f -- "--run $work/run" || true); do
      if [ "$(ps -o comm= -p "$p" || true)" = ldmground ]; then victim=$p; break; fi
    done
    [ -n "$victim" ] || fail "no rank process found"
    kill -9 "$victim"
    log "killed rank pid $victim"
    set +e; wait "$launcher"; rc=$?; set -e
    [ "$rc" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
    [ ! -d "$work/run/results" ] || fail "a killed sweep left results/"
    sweep 3 "$work/run" || fail "resumed sweep exited $?"
    same_results "$work/ref" "$work/run"
    ;;
  signal)
    sweep 1 "$work/ref" || fail "reference sweep exited $?"
    sweep_bg 2 "$work/run"
    wait_for_units "$work/run" 1
    kill -USR1 "$launcher"
    set +e; wait "$launcher"; rc=$?; set -e
    [ "$rc" -eq 75 ] || fail "a sweep stopped by SIGUSR1 exited $rc, expected 75"
    [ ! -d "$work/run/results" ] || fail "a stopped sweep left results/"
    ls "$work"/run/cache/*.tmp >/dev/null 2>&1 && fail "a stopped sweep left *.tmp cache files"
    "$bin" status --run "$work/run" | tee "$work/status.txt"
    grep -q "pending" "$work/status.txt" || fail "status does not report pending units"
    sweep 2 "$work/run" || fail "resumed sweep exited $?"
    same_results "$work/ref" "$work/run"
    "$bin" status --run "$work/run" --json > "$work/status.json"
    grep -q '"pending": 0' "$work/status.json" || fail "status after the resume: $(cat "$work/status.json")"
    ;;
  *) fail "unknown mode $mode" ;;
esac
log "passed"
