# shellcheck shell=bash disable=SC1090,SC2206
# Sourced by the batch scripts in slurm/ (not run on its own): start the
# MPI sweep, pass the warning signal on to it, requeue on "resume me" (exit
# 75) a bounded number of times, and log every start and end to RUNDIR/slurm.log.
# Expects from the sourcing script: site_launcher, site_srun_mpi (may be
# overridden by LDMG_LAUNCHER), and LDMGROUND / LDMG_MAX_RESTARTS if set.

ldmg_restart=${SLURM_RESTART_COUNT:-${LDMG_RESTART_COUNT:-0}}
ldmg_log_file=/dev/null

ldmg_log() {
  local line
  line="$(date -u +%FT%TZ) job=${SLURM_JOB_ID:-none}${SLURM_ARRAY_TASK_ID:+ array=${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID} restart=$ldmg_restart $*"
  echo "[ldmg-slurm] $line"
  echo "$line" >> "$ldmg_log_file"
}

# ldmg_load_modules "gcc/12 cuda/12.1": module purge + load, when not empty.
ldmg_load_modules() {
  [[ -n $1 ]] || return 0
  if ! type module >/dev/null 2>&1; then
    local f
    for f in /etc/profile.d/lmod.sh /etc/profile.d/modules.sh; do [[ -r $f ]] && source "$f" && break; done
  fi
  # shellcheck disable=SC2086  # a list of module names
  module purge && module load $1 || { echo "[ldmg-slurm] module load '$1' failed" >&2; exit 1; }
}

# The value of --run in the sweep's arguments.
ldmg_run_dir() {
  local a=("$@") i
  for ((i = 0; i < ${#a[@]}; i++)); do
    case ${a[i]} in
      --run) echo "${a[i + 1]:-}"; return ;;
      --run=*) echo "${a[i]#--run=}"; return ;;
    esac
  done
}

# ldmg_sweep_step ARGS...: runs `ldmground sweep ARGS` on every task of the
# allocation, requeues the job on exit 75, exits with the batch job's status.
ldmg_sweep_step() {
  local bin=${LDMGROUND:-ldmground} launcher=${LDMG_LAUNCHER:-$site_launcher}
  local max_restarts=${LDMG_MAX_RESTARTS:-5} run cmd child="" rc
  run=$(ldmg_run_dir "$@")
  [[ -n $run ]] || { echo "[ldmg-slurm] pass --run RUNDIR (and the sweep's other options)" >&2; exit 2; }
  mkdir -p "$run"
  ldmg_log_file=$run/slurm.log
  export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
  case $launcher in
    # Slurm 22.05's srun does not inherit --cpus-per-task from sbatch: pass it.
    srun) cmd=(srun --mpi="${site_srun_mpi:-pmix}" ${SLURM_CPUS_PER_TASK:+--cpus-per-task=$SLURM_CPUS_PER_TASK}
               "$bin" sweep "$@") ;;
    mpirun) cmd=(mpirun -np "${SLURM_NTASKS:-1}" ${LDMG_MPIRUN_FLAGS:-} "$bin" sweep "$@") ;;
    *) ldmg_log "unknown launcher '$launcher' (srun|mpirun)"; exit 2 ;;
  esac
  ldmg_log "start host=$(hostname -s) nodes=${SLURM_JOB_NUM_NODES:-1} tasks=${SLURM_NTASKS:-1} launcher=$launcher: ${cmd[*]}"

  # --signal=B:USR1@N signals this shell only; srun and mpirun forward SIGUSR1
  # to every rank. SIGTERM (scancel, preemption, the limit itself) is passed
  # on as SIGUSR1 too, since mpirun kills its ranks on SIGTERM.
  LDMG_STOP_SIG=""
  _ldmg_forward() {
    LDMG_STOP_SIG=$1
    ldmg_log "got SIG$1: forwarding SIGUSR1 to the launcher (pid ${child:-none})"
    [[ -n $child ]] && kill -USR1 "$child" 2>/dev/null
  }
  trap '_ldmg_forward USR1' USR1
  trap '_ldmg_forward TERM' TERM
  "${cmd[@]}" &
  child=$!
  while :; do
    wait "$child"
    kill -0 "$child" 2>/dev/null || break   # wait was cut short by a trapped signal
  done
  wait "$child"
  rc=$?
  trap - USR1 TERM

  case $rc in
    0) ldmg_log "end exit=0: all units done"; exit 0 ;;
    75) ;;
    *) ldmg_log "end exit=$rc (1 = some units failed: \`ldmground status --run $run\`)"; exit "$rc" ;;
  esac
  if ((ldmg_restart >= max_restarts)); then
    ldmg_log "end exit=75: stopped; restart limit $max_restarts reached, resume by resubmitting"
    exit 75
  fi
  if [[ $LDMG_STOP_SIG == TERM ]]; then
    ldmg_log "end exit=75 after SIGTERM: not requeued (cancelled, or preempted: Slurm requeues those itself)"
    exit 75
  fi
  # Logged first: a successful requeue kills this script at once.
  ldmg_log "end exit=75: requeueing as restart $((ldmg_restart + 1)) of at most $max_restarts"
  if scontrol requeue "$SLURM_JOB_ID"; then
    sleep 120 &   # the requeue kills this script meanwhile
    wait
    exit 0
  fi
  # Requeue refused (site policy): a fresh job resumes instead. Jobs that
  # depend on this one (afterok) will then never start: resubmit them too.
  local script new
  script=$(scontrol show job -o "$SLURM_JOB_ID" | sed -n 's/.* Command=\([^ ]*\).*/\1/p')
  if [[ -n $script ]] && new=$(sbatch --parsable --export=ALL,LDMG_RESTART_COUNT=$((ldmg_restart + 1)) \
       ${SLURM_ARRAY_TASK_ID:+--array=$SLURM_ARRAY_TASK_ID} "$script" "${LDMG_SCRIPT_ARGS[@]}"); then
    ldmg_log "requeue refused: resubmitted as job $new"
  else
    ldmg_log "requeue refused and resubmission failed: resume by resubmitting"
  fi
  exit 75
}
