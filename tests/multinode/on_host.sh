#!/usr/bin/env bash
# on_host.sh NAME CMD...: runs CMD on namespace host NAME of netns_hosts.sh,
# that is in NAME's network namespace and in a UTS namespace of its own named
# NAME. LDMG_NETNS_PREFIX (set by netns_hosts_up) names the namespaces.
# nsenter, not `ip netns exec`: that remounts /sys, hiding /sys/fs/cgroup from slurmd.
set -euo pipefail
: "${LDMG_NETNS_PREFIX:?on_host.sh: LDMG_NETNS_PREFIX is not set (netns_hosts.sh netns_hosts_up sets it)}"
name=${1:?usage: on_host.sh NAME CMD...}; shift
# shellcheck disable=SC2016  # $0, $@ are the inner shell's
exec nsenter --net="/run/netns/$LDMG_NETNS_PREFIX-$name" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$name" "$@"
