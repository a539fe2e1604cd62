#!/usr/bin/env bash
# The demo sweep on two "hosts" (network namespaces, netns_hosts.sh) joined
# by TCP only, launched by mpirun from host a as `--host a:2,b:2`:
#   reference - the 1-host run the others compare with (2 ranks, no namespaces)
#   hosts     - 2 x 2 ranks: local ranks 0,1 on each host, `status` while it
#               runs, results byte-identical to the reference
#   node_kill - kill -9 every rank on host b mid-unit; mpirun ends the job;
#               the same command on host a alone resumes: identical results,
#               each unit recorded once, no .tmp left
#   link_cut  - host a (mpirun, rank 0, the run lock) hangs (SIGSTOP) and its
#               link is cut; the stranded ranks on b are killed (as the
#               scheduler would); on b the sweep is refused with the lock's
#               holder and the unlock command named; `ldmground unlock
#               --host-lost a`, then the same command on b resumes: identical
#               results, each unit recorded once, no .tmp left
#   slurm     - a 2-node Slurm cluster, one slurmd per host (tests/slurm/cluster.sh
#               with LDMG_SLURM_NODES), runs slurm/sweep.sbatch on 2 nodes x 2
#               tasks (srun --mpi=pmix) through tests/slurm/slurm_sweep_test.sh
#               (uninterrupted, then SIGUSR1 + requeue + resume): both runs
#               byte-identical to the reference, local ranks 0,1 per node
# Exit 77 (skipped) where namespaces cannot be made (not root, no iproute2...).
# usage: multinode_test.sh MODE LDMGROUND MPIEXEC WORKDIR REFERENCE_DIR
set -euo pipefail
mode=$1 bin=$2 mpiexec=$3 work=$4 ref=$5
# shellcheck disable=SC2034  # read by sweep_lib.sh's log()
test_name=multinode_test
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../sweep/sweep_lib.sh
source "$here/../sweep/sweep_lib.sh"
# shellcheck source=netns_hosts.sh
source "$here/netns_hosts.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
n_units=8  # the demo's: 11 pairs on 8 images at one T
# The demo job at T=10 instead of 20 (half the time; the same machinery).
sweep_args=(sweep --job "$ref/demo/demo.ini" --steps 10 --threads 1)

if [ "$mode" = reference ]; then
  rm -rf "$ref" && mkdir -p "$ref"
  "$bin" demo --out "$ref/demo" --no-run --log-level warn
  # 2 ranks on one host, shared memory: byte-identical to 1 rank (tests/sweep sweep_ranks).
  "$mpiexec" -n 2 --oversubscribe "$bin" "${sweep_args[@]}" --run "$ref/run" --log-level warn ||
    fail "reference sweep exited $?"
  each_unit_once "$ref/run" "$n_units"
  log "passed"
  exit 0
fi

if [ ! -f "$ref/run/plan.json" ] || [ ! -d "$ref/run/results" ]; then
  fail "no reference run in $ref (test multinode_reference)"
fi
if ! why=$(netns_hosts_available); then
  echo "[multinode_test $mode] SKIPPED: cannot make network-namespace hosts here: $why"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
netns_hosts_up "ldmg$$" a b
run=$work/run

# The sweep from host HOST on the given --host list, output in $work/NAME.out.
sweep_on() {  # sweep_on HOST HOSTLIST NAME
  local mpirun_args
  mapfile -t mpirun_args < <(host_mpirun_args)
  on_host "$1" "$mpiexec" --host "$2" "${mpirun_args[@]}" \
    "$bin" "${sweep_args[@]}" --run "$run" --log-level info >"$work/$3.out" 2>&1
}
sweep_bg_on() {  # like sweep_on, in the background; $launcher = that job's pid
  sweep_on "$@" &
  launcher=$!
}
wait_for_tmp() {  # a unit in progress: its cache file is still .tmp
  for _ in $(seq 1 300); do
    ls "$run"/cache/*.tmp >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "no unit in progress (cache/*.tmp) in $run after 30 s"
}
ldmground_ranks() {  # the pids of ldmground processes on HOST
  local p
  for p in $(host_pids "$1"); do
    [ "$(ps -o comm= -p "$p" 2>/dev/null || true)" = ldmground ] && echo "$p"
  done
  return 0
}
expect_exit_nonzero() {  # expect_exit_nonzero WHAT: after `wait $launcher`
  set +e; wait "$launcher"; local rc=$?; set -e
  [ "$rc" -ne 0 ] || fail "$1: mpirun exited 0"
  log "$1: mpirun exited $rc"
}
resumed_identical() {  # resumed_identical HOST: the same command on HOST alone
  local stale
  stale=$(find "$run/cache" -name '*.tmp' | wc -l)
  log "resuming on host $1 alone; $stale .tmp file(s) left by killed units"
  sweep_on "$1" "$1:2" "resume_on_$1" || fail "the resume on host $1 exited $? ($(tail -5 "$work/resume_on_$1.out"))"
  same_results "$ref/run" "$run"
  each_unit_once "$run" "$n_units"
  ! ls "$run"/cache/*.tmp >/dev/null 2>&1 || fail "*.tmp cache files left after the resume"
  [ "$(grep -c "removing '.*\.tmp', left by an interrupted unit" "$work/resume_on_$1.out")" -eq "$stale" ] ||
    fail "the resume did not report removing the $stale .tmp file(s) left by killed units"
}

case $mode in
  hosts)
    sweep_bg_on a a:2,b:2 hosts
    wait_for_units "$run" 1 "$launcher"
    on_host b "$bin" status --run "$run" --json >"$work/status.json"
    on_host b "$bin" status --run "$run" | tee "$work/status.txt"
    python3 - "$work/status.json" "$n_units" <<'PY' || fail "status while running: $(cat "$work/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["units"] == int(sys.argv[2]) and s["done"] >= 1 and s["done"] + s["pending"] == s["units"], s
assert s["last_run"]["ranks"] == 4 and s["last_run"]["host"] == "a", s
# Caught while running (the usual case: 8 units on 4 ranks take seconds): no outcome yet.
assert s["pending"] == 0 or "outcome" not in s["last_run"], s
print(f"status while running: {s['done']} done, {s['pending']} pending")
PY
    set +e; wait "$launcher"; rc=$?; set -e
    [ "$rc" -eq 0 ] || fail "the 2-host sweep exited $rc: $(tail -20 "$work/hosts.out")"
    # Local rank (and so device: cuda:<local rank mod GPUs>) per host, from each rank's log.
    for r in 0 1 2 3; do
      host=a; [ "$r" -ge 2 ] && host=b
      grep -q "rank $r of 4 on $host (local rank $((r % 2))): device cpu" "$run/logs/rank$r.log" ||
        fail "rank $r: expected host $host, local rank $((r % 2)): $(head -3 "$run/logs/rank$r.log")"
    done
    ! grep -q "gives this rank local rank" "$work/hosts.out" || fail "launcher/MPI local rank mismatch reported"
    [ "$(cat "$run"/ledger/rank2.jsonl "$run"/ledger/rank3.jsonl 2>/dev/null | wc -l)" -ge 1 ] ||
      fail "the ranks on host b recorded no unit"
    log "local ranks 0,1 on hosts a and b; units per rank: $(for r in 0 1 2 3; do
      printf '%s ' "$(wc -l <"$run/ledger/rank$r.jsonl" 2>/dev/null || echo 0)"; done)"
    same_results "$ref/run" "$run"
    each_unit_once "$run" "$n_units"
    ;;
  node_kill)
    sweep_bg_on a a:2,b:2 node_kill
    wait_for_units "$run" 1 "$launcher"
    wait_for_tmp
    victims=$(ldmground_ranks b)
    [ "$(echo "$victims" | wc -w)" -eq 2 ] || fail "expected 2 ranks on host b, found: $victims"
    # shellcheck disable=SC2086  # a list of pids
    kill -9 $victims
    log "killed the ranks on host b: ${victims//$'\n'/ }"
    expect_exit_nonzero "host b's ranks killed"
    [ ! -d "$run/results" ] || fail "a sweep that lost a host left results/"
    ls "$run"/cache/*.tmp >/dev/null 2>&1 || log "note: no .tmp left (the killed ranks were between units)"
    resumed_identical a
    ;;
  link_cut)
    sweep_bg_on a a:2,b:2 link_cut
    wait_for_units "$run" 1 "$launcher"
    wait_for_tmp
    holder=$(cat "$run/.lock")
    case $holder in *" host=a "*) ;; *) fail "the lock is not held by host a: '$holder'" ;; esac
    # shellcheck disable=SC2046  # a list of pids
    kill -STOP $(host_pids a)
    cut_host a
    log "host a hung and cut off (lock: $holder)"
    # The job is dead: its stranded ranks on b are killed, as the scheduler would.
    # shellcheck disable=SC2046
    kill -9 $(host_pids b)
    if sweep_on b b:2 refused; then fail "a sweep on b ran while host a holds the lock"; fi
    grep -q "is in use by another sweep (pid=[0-9]* host=a since=" "$work/refused.out" ||
      fail "the refusal does not name the holder: $(tail -5 "$work/refused.out")"
    grep -q "ldmground unlock --run $run --host-lost a" "$work/refused.out" ||
      fail "the refusal does not say how to break the lock: $(tail -5 "$work/refused.out")"
    if on_host b "$bin" unlock --run "$run" --host-lost b >"$work/unlock_wrong.out" 2>&1; then
      fail "unlock naming the wrong host succeeded"
    fi
    on_host b "$bin" unlock --run "$run" --host-lost a | tee "$work/unlock.out"
    grep -q "broke the lock of $run held by pid [0-9]* on host a" "$work/unlock.out" || fail "unlock: $(cat "$work/unlock.out")"
    ls "$run"/.lock.broken-* >/dev/null || fail "the broken lock file was not kept"
    resumed_identical b
    ;;
  slurm)
    host_mca_env  # inherited by sbatch's job, srun and the ranks
    export LDMG_SLURM_NODES LDMG_SLURM_ON_HOST=$here/on_host.sh
    LDMG_SLURM_NODES=$(host_addresses)
    set +e
    on_host a bash "$here/../slurm/slurm_sweep_test.sh" --sweep-bin "$bin" --work "$work/slurm" --nodes 2 \
      --sweep-args "${sweep_args[*]:1} --log-level info"
    rc=$?
    set -e
    [ "$rc" -ne 77 ] || { echo "[multinode_test $mode] SKIPPED: Slurm is not available (see above)"; exit 77; }
    [ "$rc" -eq 0 ] || fail "the 2-node Slurm sweep test exited $rc"
    for r in 0 1 2 3; do
      host=a; [ "$r" -ge 2 ] && host=b
      grep -q "rank $r of 4 on $host (local rank $((r % 2)))" "$work/slurm/runA/logs/rank$r.log" ||
        fail "Slurm run, rank $r: expected node $host, local rank $((r % 2)): $(head -2 "$work/slurm/runA/logs/rank$r.log")"
    done
    for r in runA runB; do
      same_results "$ref/run" "$work/slurm/$r"
      each_unit_once "$work/slurm/$r" "$n_units"
    done
    ;;
  *) fail "unknown mode $mode" ;;
esac
log "passed"
