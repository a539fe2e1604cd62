#!/usr/bin/env bash
# Submits the sweep and the analysis that waits for it (afterok):
#
#   slurm/submit.sh [options] -- --job FILE.ini --run RUNDIR [sweep options]
#
#   --blocks LIST     a job array over coarse blocks (array.sbatch): "50,100,300"
#                     (T values) or "category=Pneumonia,category=Edema,..."
#   --throttle K      at most K array tasks at once (default 2)
#   --sbatch "OPTS"   more sbatch options for the sweep (e.g. "-N 4 -t 1-00:00:00")
#   --analysis "ARGS" options for `ldmground analyze` besides --run (default none)
#   --analysis-sbatch "OPTS"  more sbatch options for the analysis job
#   --no-analysis     submit the sweep only
#
# Logs go to RUNDIR/ (one .out per job); prints the job ids.
# Environment: LDMGROUND, LDMG_LAUNCHER, LDMG_MAX_RESTARTS pass through to the jobs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
blocks="" throttle=2 extra="" analysis_args="" analysis_extra="" analysis=1
while (($#)); do
  case $1 in
    --blocks) blocks=$2; shift 2 ;;
    --throttle) throttle=$2; shift 2 ;;
    --sbatch) extra=$2; shift 2 ;;
    --analysis) analysis_args=$2; shift 2 ;;
    --analysis-sbatch) analysis_extra=$2; shift 2 ;;
    --no-analysis) analysis=0; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "submit.sh: unknown option '$1' (sweep options go after --)" >&2; exit 2 ;;
  esac
done
source "$here/lib.sh"
run=$(ldmg_run_dir "$@")
[[ -n $run ]] || { echo "submit.sh: the sweep options need --run RUNDIR" >&2; exit 2; }
mkdir -p "$run"
run=$(cd "$run" && pwd)
export LDMG_SLURM_DIR=$here   # the jobs find lib.sh here
# shellcheck disable=SC2086  # $extra is a list of sbatch options
if [[ -z $blocks ]]; then
  sweep=$(sbatch --parsable -o "$run/%x-%j.out" $extra "$here/sweep.sbatch" "$@")
  runs=(--run "$run")
  echo "sweep: job $sweep (log $run/ldmg-sweep-$sweep.out)"
else
  IFS=, read -r -a list <<< "$blocks"
  sweep=$(sbatch --parsable --array="0-$((${#list[@]} - 1))%$throttle" -o "$run/%x-%A_%a.out" $extra \
          "$here/array.sbatch" --blocks "$blocks" "$@")
  runs=()
  for b in "${list[@]}"; do
    [[ $b == *=* ]] || b="steps=$b"
    v=${b#*=}
    runs+=(--run "$run/${b%%=*}-${v// /_}")
  done
  echo "sweep: array job $sweep, ${#list[@]} blocks, at most $throttle at once (logs $run/)"
fi
if ((analysis)); then
  # shellcheck disable=SC2086
  ana=$(sbatch --parsable --dependency="afterok:${sweep%%;*}" --kill-on-invalid-dep=yes -o "$run/%x-%j.out" $analysis_extra \
        "$here/analysis.sbatch" "${runs[@]}" $analysis_args)
  echo "analysis: job $ana, starts after job $sweep ends with 0"
fi
