#!/usr/bin/env bash
# Sets up (bootstrap), builds and runs the default test suite. The README's
# second Quickstart command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s)
cmake --preset default
cmake --build --preset default
echo "[test] build took $(( $(date +%s) - start )) s"
ctest --preset default "$@"
