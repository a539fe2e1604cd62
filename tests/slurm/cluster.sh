#!/usr/bin/env bash
# A one-node Slurm cluster on localhost for tests: munged, slurmctld and slurmd,
# run as root with their own config, key, sockets, ports, spool, logs and PID
# files in one state folder. Nothing under /etc is changed and no system
# service is used, so it can sit next to a real installation.
#
#   cluster.sh start    write the configs, start the three daemons, wait until
#                       the node is idle; prints `export SLURM_CONF=...`
#   cluster.sh stop     kill the daemons listed in the PID files, by PID only
#   cluster.sh status   show PIDs and sinfo
#
# Environment: LDMG_SLURM_STATE (state folder, default /tmp/ldmg-slurm),
# LDMG_SLURM_PORT (slurmctld port; slurmd uses the next one, default 16817),
# LDMG_SLURM_CPUS (CPUs of the node, default nproc), LDMG_SLURM_GPUS (GPUs the
# node claims to have, default 2: a GRES count without device files, so that
# --gpus-per-task and --gres are scheduled as on a GPU cluster; no device is
# bound and no CUDA_VISIBLE_DEVICES is set).
# Install the binaries first: scripts/install_slurm.sh.
set -euo pipefail

state=${LDMG_SLURM_STATE:-/tmp/ldmg-slurm}
port=${LDMG_SLURM_PORT:-16817}
cpus=${LDMG_SLURM_CPUS:-$(nproc)}
gpus=${LDMG_SLURM_GPUS:-2}
node=ldmg1
conf=$state/slurm.conf
export SLURM_CONF=$conf

log() { echo "[cluster] $*" >&2; }

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_configs() {
  mkdir -p "$state"/{munge,ctld,spool,log,pmix}
  chmod 700 "$state/munge"
  if [[ ! -s $state/munge/munge.key ]]; then
    head -c 1024 /dev/urandom > "$state/munge/munge.key"
    chmod 400 "$state/munge/munge.key"
  fi
  local mem
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
  cat > "$conf" <<CONF
# Written by tests/slurm/cluster.sh: one node on localhost, everything as root.
ClusterName=ldmgtest
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups in containers: track processes by parent PID, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
JobRequeue=1
MinJobAge=600
KillWait=10
InactiveLimit=0
Waittime=0
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) CPUs=$cpus RealMemory=$mem Gres=gpu:$gpus State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  cat > "$state/cgroup.conf" <<CONF
# Not used (proctrack/linuxproc, task/none); present so no plugin goes looking.
CgroupPlugin=autodetect
IgnoreSystemd=yes
CONF
  echo "NodeName=$node Name=gpu File=/dev/tty[0-$((gpus - 1))]" > "$state/gres.conf"
  cat > "$state/mpi.conf" <<CONF
PMIxCliTmpDirBase=$state/pmix
CONF
}

wait_idle() {
  local t0=$SECONDS st=""
  while (( SECONDS - t0 < 60 )); do
    st=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
    case $st in
      idle) return 0 ;;
      down*|drain*) scontrol update nodename="$node" state=resume 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  log "node $node not idle after 60 s (state '${st}'); logs in $state/log"
  tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
  return 1
}

start() {
  for b in munged slurmctld slurmd sinfo sbatch; do
    command -v "$b" >/dev/null || { log "$b not found: run scripts/install_slurm.sh"; return 1; }
  done
  [[ $(id -u) == 0 ]] || { log "must run as root"; return 1; }
  if pid_alive "$state/slurmctld.pid" || pid_alive "$state/slurmd.pid" || pid_alive "$state/munged.pid"; then
    log "already running in $state (stop it first)"; return 1
  fi
  local t0
  t0=$(date +%s.%N)
  write_configs
  munged --force --socket="$state/munge/munge.socket" --key-file="$state/munge/munge.key" \
    --pid-file="$state/munged.pid" --log-file="$state/log/munged.log" --seed-file="$state/munge/seed"
  # -i: the first start of a fresh state folder, ignore (absent) saved state.
  slurmctld -i -f "$conf"
  slurmd -f "$conf" -N "$node"
  wait_idle
  log "up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s: state $state"
  echo "export SLURM_CONF=$conf"
}

stop() {
  local f pid
  # slurmd before slurmctld before munged; each by the PID it wrote.
  for f in slurmd slurmctld munged; do
    [[ -s $state/$f.pid ]] || continue
    pid=$(cat "$state/$f.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && { log "$f ($pid) ignored TERM, sending KILL"; kill -KILL "$pid"; }
      log "stopped $f ($pid)"
    fi
    rm -f "$state/$f.pid"
  done
}

status() {
  local f
  for f in munged slurmctld slurmd; do
    if pid_alive "$state/$f.pid"; then echo "$f: $(cat "$state/$f.pid")"; else echo "$f: not running"; fi
  done
  pid_alive "$state/slurmctld.pid" && sinfo || true
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
