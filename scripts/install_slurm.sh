#!/usr/bin/env bash
# Installs a Slurm that can run a one-node test cluster on localhost (Debian /
# Ubuntu): slurmctld + slurmd (slurm-wlm), munge, the PMIx plugin for
# `srun --mpi=pmix` (shipped in slurm-wlm-basic-plugins, linked to libpmix2)
# and OpenMPI's mpirun as the fallback launcher. Idempotent: does nothing when
# everything is present. Needs root (or sudo). Used by tests/slurm/.
set -euo pipefail
pkgs=(slurm-wlm slurm-client slurm-wlm-basic-plugins munge libpmix2 openmpi-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "[install_slurm] already installed: ${pkgs[*]}"
else
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  command -v apt-get >/dev/null || { echo "[install_slurm] no apt-get; install ${missing[*]} by hand" >&2; exit 1; }
  start=$(date +%s)
  $sudo apt-get update -qq
  # The packages' postinst scripts try to start the services: on a machine
  # without systemd (containers, CI) that fails harmlessly; policy-rc.d stops
  # them from being started at all, since tests/slurm/cluster.sh starts its own.
  prc=/usr/sbin/policy-rc.d
  own_prc=0
  if [[ ! -e $prc ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$prc" >/dev/null && $sudo chmod +x "$prc" && own_prc=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ((own_prc)) && $sudo rm -f "$prc"
  echo "[install_slurm] installed ${missing[*]} in $(( $(date +%s) - start )) s"
fi
echo "[install_slurm] $(slurmctld -V 2>/dev/null || echo 'slurmctld missing'); mpi plugins: $(find /usr/lib/*/slurm-wlm -name "mpi_*.so" -printf "%f " 2>/dev/null)"
