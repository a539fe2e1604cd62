# shellcheck shell=bash
# Shell helpers shared by the end-to-end sweep tests (tests/sweep,
# tests/multinode): source it after setting `mode` (the test's name in log
# lines). Results are compared byte for byte; the ledgers are read as text.

# shellcheck disable=SC2154  # mode: set by the sourcing script
log() { echo "[${test_name:-sweep_test} $mode] $*"; }
fail() { echo "[${test_name:-sweep_test} $mode] FAIL: $*" >&2; exit 1; }

same_results() {  # same_results RUN_A RUN_B: results/ and plan.json byte-identical
  local a=$1 b=$2 n=0
  while IFS= read -r f; do
    cmp -s "$a/results/$f" "$b/results/$f" || fail "results/$f differs between $a and $b"
    n=$((n + 1))
  done < <(cd "$a/results" && find . -type f | sort)
  [ "$n" -gt 0 ] || fail "no result files in $a"
  diff <(cd "$a/results" && find . -type f | sort) <(cd "$b/results" && find . -type f | sort) >/dev/null ||
    fail "the result files of $a and $b differ in name"
  cmp -s "$a/plan.json" "$b/plan.json" || fail "plan.json differs"
  log "identical: $n result files of $a and $b"
}

units_recorded() {  # units_recorded RUN: ledger lines with status ok, all ranks
  cat "$1"/ledger/rank*.jsonl 2>/dev/null | grep -c '"status":"ok"' || true
}

wait_for_units() {  # wait_for_units RUN N [PID]: until the ledgers record N units (while PID runs)
  local run=$1 want=$2 pid=${3:-}
  for _ in $(seq 1 600); do
    [ "$(units_recorded "$run")" -ge "$want" ] && return 0
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || fail "the sweep ended before $want unit(s) were recorded in $run"
    sleep 0.2
  done
  fail "fewer than $want units recorded in $run after 120 s"
}

each_unit_once() {  # each_unit_once RUN N: N units recorded ok, none twice, none failed
  local run=$1 want=$2 lines distinct
  lines=$(cat "$run"/ledger/rank*.jsonl | grep -c '"status":"ok"' || true)
  distinct=$(cat "$run"/ledger/rank*.jsonl | grep '"status":"ok"' | sed 's/.*"unit":"\([^"]*\)".*/\1/' | sort -u | wc -l)
  [ "$distinct" -eq "$want" ] || fail "$run: $distinct distinct units recorded ok, the plan has $want"
  [ "$lines" -eq "$want" ] || fail "$run: $lines ok records for $want units (some unit counted twice)"
  ! grep -q '"status":"failed"' "$run"/ledger/rank*.jsonl || fail "$run: failed units in the ledger"
  log "each of the $want units recorded once in $run"
}
