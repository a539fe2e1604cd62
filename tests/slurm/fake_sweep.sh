#!/usr/bin/env bash
# A stand-in for `ldmground sweep` that keeps its contract with the batch
# scripts, so the Slurm harness can be tested in seconds without a model:
#   fake_sweep.sh sweep --run RUNDIR [--units N] [--unit-seconds S] [other options ignored]
#   fake_sweep.sh analyze --run RUNDIR [--run ...]   (writes RUNDIR/analysis.done)
# One process per rank (rank/size from OpenMPI, PMIx or Slurm variables). Unit u
# goes to rank u % size; each unit sleeps S seconds (ignoring signals, so a
# unit in progress always finishes), then writes its result and its ledger
# entry RUNDIR/ledger/unit<u>.ok. SIGUSR1/SIGTERM/SIGINT: finish the unit in
# progress, exit 75. Done units are skipped on rerun. Rank 0 writes
# RUNDIR/results/T10/fake/pairs.csv and summary.json once every unit is done.
set -euo pipefail
if [[ ${1:-} == analyze ]]; then   # records that it ran, and on which runs
  shift; runs=()
  while (($#)); do [[ $1 == --run ]] && runs+=("$2"); shift; done
  for r in "${runs[@]}"; do [[ -e $r/ledger ]] || { echo "fake analyze: $r has no ledger" >&2; exit 1; }; done
  echo "analyzed ${runs[*]}" | tee "${runs[0]}/analysis.done"; exit 0
fi
[[ ${1:-} == sweep ]] || { echo "fake_sweep.sh: only 'sweep' and 'analyze'" >&2; exit 2; }
shift
run="" units=8 secs=0.5
while (($#)); do
  case $1 in
    --run) run=$2; shift 2 ;;
    --units) units=$2; shift 2 ;;
    --unit-seconds) secs=$2; shift 2 ;;
    --*=*) shift ;;
    --*) if [[ ${2:-} == --* || -z ${2:-} ]]; then shift; else shift 2; fi ;;
    *) shift ;;
  esac
done
[[ -n $run ]] || { echo "fake_sweep.sh: --run is required" >&2; exit 2; }
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}
size=${OMPI_COMM_WORLD_SIZE:-${SLURM_NTASKS:-1}}
stop=0
trap 'stop=1' USR1 TERM INT
out=$run/results/T10/fake
mkdir -p "$run/ledger" "$out/units"
echo "[fake rank $rank/$size] start pid $$ on $(hostname)"
for ((u = rank; u < units; u += size)); do
  ((stop)) && break
  [[ -e $run/ledger/unit$u.ok ]] && continue
  (trap '' USR1 TERM INT; exec sleep "$secs") & w=$!
  while kill -0 "$w" 2>/dev/null; do wait "$w" || true; done
  printf '%d,%s\n' "$u" "$(printf 'unit%d' "$u" | sha256sum | cut -c1-16)" > "$out/units/$u.csv"
  echo "rank=$rank time=$(date +%s.%N)" > "$run/ledger/unit$u.ok"
  echo "[fake rank $rank/$size] unit $u done"
done
if ((stop)); then echo "[fake rank $rank/$size] stop requested: exit 75"; exit 75; fi
if ((rank == 0)); then
  while (($(find "$run/ledger" -name 'unit*.ok' | wc -l) < units)); do
    ((stop)) && { echo "[fake rank 0] stop requested while waiting: exit 75"; exit 75; }
    sleep 0.2
  done
  for ((u = 0; u < units; u++)); do cat "$out/units/$u.csv"; done > "$out/pairs.csv"
  printf '{"units": %d, "pairs_sha": "%s"}\n' "$units" "$(sha256sum < "$out/pairs.csv" | cut -c1-16)" > "$out/summary.json"
  echo "[fake rank 0] results written"
fi
exit 0
