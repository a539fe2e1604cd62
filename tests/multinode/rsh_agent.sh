#!/usr/bin/env bash
# OpenMPI's rsh agent for the namespace hosts of netns_hosts.sh (mpirun
# --mca plm_rsh_agent): called as `rsh_agent.sh [ssh options] HOST COMMAND...`
# like ssh, it runs COMMAND (mpirun's daemon) on HOST (on_host.sh) instead of
# logging in anywhere.
set -euo pipefail
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done
host=${1:?rsh_agent.sh: no host given}; shift
# ssh hands the remote shell one command line: so do we.
exec "$(dirname "$0")/on_host.sh" "$host" sh -c "$*"
