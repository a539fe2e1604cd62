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
# Several nodes (tests/multinode): LDMG_SLURM_NODES="a=10.213.0.1 b=10.213.0.2"
# makes one node per NAME=ADDRESS, slurmctld listening on the first (run
# cluster.sh on that host), and each slurmd started on its host through
# LDMG_SLURM_ON_HOST (a command: ON_HOST NAME CMD..., e.g.
# tests/multinode/on_host.sh), with a PMIx folder of its own (the hosts share
# one file system; a cluster's nodes have their own /tmp).
# Install the binaries first: scripts/install_slurm.sh.
set -euo pipefail

state=${LDMG_SLURM_STATE:-/tmp/ldmg-slurm}
port=${LDMG_SLURM_PORT:-16817}
cpus=${LDMG_SLURM_CPUS:-$(nproc)}
gpus=${LDMG_SLURM_GPUS:-2}
node=ldmg1
nodes=${LDMG_SLURM_NODES:-}
on_host=${LDMG_SLURM_ON_HOST:-}
conf=$state/slurm.conf
export SLURM_CONF=$conf

log() { echo "[cluster] $*" >&2; }
node_names() { if [[ -n $nodes ]]; then for n in $nodes; do echo "${n%%=*}"; done; else echo "$node"; fi; }

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_configs() {
  mkdir -p "$state"/{munge,ctld,spool,log,pmix}
  local mem node_list
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 / $(node_names | wc -l) ))
  node_list=$(node_names | paste -sd,)
  # Per node when there are several: spool, PID file, log.
  local n node_lines ctld_host spool=$state/spool slurmd_pid=$state/slurmd.pid slurmd_log=$state/log/slurmd.log
  if [[ -n $nodes ]]; then
    for n in $nodes; do
      node_lines+="NodeName=${n%%=*} NodeAddr=${n#*=} NodeHostname=${n%%=*} CPUs=$cpus RealMemory=$mem Gres=gpu:$gpus"
      node_lines+=$' State=UNKNOWN\n'
      mkdir -p "$state/spool/${n%%=*}" "$state/pmix-${n%%=*}"
    done
    n=${nodes%% *}
    ctld_host="${n%%=*}(${n#*=})"
    spool=$state/spool/%n slurmd_pid=$state/slurmd-%n.pid slurmd_log=$state/log/slurmd-%n.log
  else
    node_lines="NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) CPUs=$cpus RealMemory=$mem Gres=gpu:$gpus"
    node_lines+=" State=UNKNOWN"$'\n'
    ctld_host="$(hostname -s)(127.0.0.1)"
  fi
  chmod 700 "$state/munge"
  if [[ ! -s $state/munge/munge.key ]]; then
    head -c 1024 /dev/urandom > "$state/munge/munge.key"
    chmod 400 "$state/munge/munge.key"
  fi
  cat > "$conf" <<CONF
# Written by tests/slurm/cluster.sh: node(s) $node_list, everything as root.
ClusterName=ldmgtest
SlurmctldHost=$ctld_host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$slurmd_pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$slurmd_log
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
$node_lines
PartitionName=debug Nodes=$node_list Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  cat > "$state/cgroup.conf" <<CONF
# Not used (proctrack/linuxproc, task/none); present so no plugin goes looking.
CgroupPlugin=autodetect
IgnoreSystemd=yes
CONF
  echo "NodeName=$node_list Name=gpu File=/dev/tty[0-$((gpus - 1))]" > "$state/gres.conf"
  cat > "$state/mpi.conf" <<CONF
PMIxCliTmpDirBase=$state/pmix
CONF
}

wait_idle() {
  local t0=$SECONDS st="" n idle
  while (( SECONDS - t0 < 60 )); do
    idle=1
    for n in $(node_names); do
      st=$(sinfo -h -n "$n" -o %T 2>/dev/null || true)
      case $st in
        idle) ;;
        down*|drain*) idle=0; scontrol update nodename="$n" state=resume 2>/dev/null || true ;;
        *) idle=0 ;;
      esac
    done
    ((idle)) && return 0
    sleep 0.5
  done
  log "node(s) $(node_names | paste -sd,) not idle after 60 s (state '${st}'); logs in $state/log"
  tail -n 20 "$state/log/slurmctld.log" "$state"/log/slurmd*.log >&2 || true
  return 1
}

# slurmd's PID file(s) (one per node when there are several), slurmctld's, munged's: the stop order.
pid_files() { ls "$state"/slurmd*.pid 2>/dev/null || true; echo "$state/slurmctld.pid"; echo "$state/munged.pid"; }

start() {
  for b in munged slurmctld slurmd sinfo sbatch; do
    command -v "$b" >/dev/null || { log "$b not found: run scripts/install_slurm.sh"; return 1; }
  done
  [[ $(id -u) == 0 ]] || { log "must run as root"; return 1; }
  local f
  for f in $(pid_files); do
    pid_alive "$f" && { log "already running in $state (stop it first)"; return 1; }
  done
  [[ -z $nodes || -n $on_host ]] || { log "LDMG_SLURM_NODES needs LDMG_SLURM_ON_HOST"; return 1; }
  local t0
  t0=$(date +%s.%N)
  write_configs
  munged --force --socket="$state/munge/munge.socket" --key-file="$state/munge/munge.key" \
    --pid-file="$state/munged.pid" --log-file="$state/log/munged.log" --seed-file="$state/munge/seed"
  # -i: the first start of a fresh state folder, ignore (absent) saved state.
  slurmctld -i -f "$conf"
  if [[ -z $nodes ]]; then
    slurmd -f "$conf" -N "$node"
  else
    local n
    for n in $(node_names); do
      # Each slurmd (and its steps) on its host, with a PMIx folder of its own mounted over the shared one.
      # shellcheck disable=SC2016  # $0.. are the inner shell's
      $on_host "$n" unshare --mount sh -c 'mount --bind "$0" "$1" && exec slurmd -f "$2" -N "$3"' \
        "$state/pmix-$n" "$state/pmix" "$conf" "$n"
    done
  fi
  wait_idle
  log "up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s: state $state"
  echo "export SLURM_CONF=$conf"
}

stop() {
  local f pid
  # slurmd before slurmctld before munged; each by the PID it wrote.
  for f in $(pid_files); do
    [[ -s $f ]] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && { log "$(basename "$f" .pid) ($pid) ignored TERM, sending KILL"; kill -KILL "$pid"; }
      log "stopped $(basename "$f" .pid) ($pid)"
    fi
    rm -f "$f"
  done
}

status() {
  local f
  for f in $(pid_files); do
    if pid_alive "$f"; then echo "$(basename "$f" .pid): $(cat "$f")"; else echo "$(basename "$f" .pid): not running"; fi
  done
  pid_alive "$state/slurmctld.pid" && sinfo || true
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
