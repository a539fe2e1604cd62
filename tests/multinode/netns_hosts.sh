# shellcheck shell=bash
# "Hosts" on one machine for multi-node tests: one Linux network namespace
# per host, all joined by veth pairs to a bridge in a namespace of its own,
# addresses 10.213.0.<i>/24 that exist only inside these namespaces (no
# route anywhere else), and each command run on a host in a UTS namespace
# of its own carrying the host's name. The hosts share the file system, as a
# cluster's nodes share theirs. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
# Source it, then:
#   netns_hosts_available           exit status 0, or prints why not
#   netns_hosts_up PREFIX NAME...   create (netns_hosts_down is set as EXIT trap)
#   on_host NAME CMD...             run CMD on that host (on_host.sh)
#   host_addresses                  "a=10.213.0.1 b=10.213.0.2": what cluster.sh takes
#   host_pids NAME                  the pids of every process on that host
#   cut_host NAME                   remove the host's link to the others
#   host_mpirun_args                mpirun options for these hosts, one a line:
#                                   launch through rsh_agent.sh, TCP only
#   host_mca_env                    the TCP-only settings as OMPI_MCA_* (srun)
netns_subnet=10.213.0
netns_names=()
netns_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# OpenMPI between the hosts: TCP only, on the hosts' own subnet (no shared
# memory between hosts), and the one-sided counter through point-to-point
# messages (osc pt2pt: OpenMPI 4.1's osc/rdma cannot allocate a window over
# btl tcp, osc/sm spans one host only).
# shellcheck disable=SC2054  # "tcp,self" is one value
netns_mca=(btl tcp,self pml ob1 osc pt2pt
           btl_tcp_if_include "$netns_subnet.0/24" oob_tcp_if_include "$netns_subnet.0/24")

netns_hosts_available() {
  command -v ip >/dev/null || { echo "no 'ip' command (iproute2)"; return 1; }
  if ! command -v unshare >/dev/null || ! command -v nsenter >/dev/null; then
    echo "no 'unshare'/'nsenter' command (util-linux)"; return 1
  fi
  [ "$(id -u)" -eq 0 ] || { echo "not root: network namespaces need CAP_NET_ADMIN"; return 1; }
  local probe="ldmg-probe-$$" out
  out=$(ip netns add "$probe" 2>&1) || { echo "cannot create a network namespace: $out"; return 1; }
  out=$(nsenter --net="/run/netns/$probe" unshare --uts sh -c 'hostname probe-host && hostname' 2>&1)
  local rc=$?
  ip netns del "$probe" 2>/dev/null
  if [ $rc -ne 0 ] || [ "$out" != probe-host ]; then
    echo "cannot set a host name in a UTS namespace: $out"; return 1
  fi
}

netns_of() { echo "${netns_prefix}-$1"; }

netns_hosts_up() {  # netns_hosts_up PREFIX NAME...
  netns_prefix=$1; shift
  remove_orphans
  netns_names=("$@")
  export LDMG_NETNS_PREFIX=$netns_prefix  # for rsh_agent.sh, through mpirun
  trap netns_hosts_down EXIT
  local sw i=1
  sw=$(netns_of switch)
  ip netns add "$sw"
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for name in "${netns_names[@]}"; do
    local ns
    ns=$(netns_of "$name")
    ip netns add "$ns"
    # Interface names are per namespace: eth0 on every host.
    ip link add eth0 netns "$ns" type veth peer name "p$i" netns "$sw"
    ip -n "$ns" addr add "$netns_subnet.$i/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$sw" link set "p$i" master br0
    ip -n "$sw" link set "p$i" up
    i=$((i + 1))
  done
}

# Hosts left by a test that was killed (a ctest timeout skips EXIT traps):
# namespaces ldmg<pid>-* whose pid is gone, with whatever still runs there.
remove_orphans() {
  local ns pid pids
  for ns in $(ip netns list | awk '{print $1}' | grep -E '^ldmg[0-9]+-' || true); do
    pid=${ns#ldmg}; pid=${pid%%-*}
    kill -0 "$pid" 2>/dev/null && continue
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086  # a list of pids
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null && echo "removed namespace $ns left by a killed test (pid $pid)"
  done
  return 0
}

host_addresses() {  # "NAME=ADDRESS ..." of the hosts, in order (cluster.sh LDMG_SLURM_NODES)
  local i out=()
  for i in "${!netns_names[@]}"; do out+=("${netns_names[i]}=$netns_subnet.$((i + 1))"); done
  echo "${out[*]}"
}

host_pids() { ip netns pids "$(netns_of "$1")" 2>/dev/null || true; }

netns_hosts_down() {
  for name in "${netns_names[@]}" switch; do
    local pids
    pids=$(host_pids "$name")
    # shellcheck disable=SC2086  # a list of pids
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  done
  for name in "${netns_names[@]}" switch; do
    for _ in 1 2 3 4 5; do
      [ -z "$(host_pids "$name")" ] && break
      sleep 0.2
    done
    ip netns del "$(netns_of "$name")" 2>/dev/null || true
  done
  netns_names=()
}

on_host() { "$netns_dir/on_host.sh" "$@"; }  # on_host NAME CMD...

cut_host() { ip -n "$(netns_of "$1")" link del eth0; }

host_mpirun_args() {
  # rsh_agent.sh starts OpenMPI's daemon on another host (no ssh).
  local i args=(--oversubscribe --mca plm_rsh_agent "$netns_dir/rsh_agent.sh")
  for ((i = 0; i < ${#netns_mca[@]}; i += 2)); do args+=(--mca "${netns_mca[i]}" "${netns_mca[i + 1]}"); done
  printf '%s\n' "${args[@]}"
}

host_mca_env() {  # the same settings for ranks that srun starts: OMPI_MCA_* exported
  local i
  for ((i = 0; i < ${#netns_mca[@]}; i += 2)); do export "OMPI_MCA_${netns_mca[i]}=${netns_mca[i + 1]}"; done
}
