#!/usr/bin/env bash
# `ldmground score` and `compare` through the binary, on the demo model and
# dataset (T=10): evaluate --save-heatmaps, then score its heatmaps.h5 with
# --otsu off -> pairs.csv and summary.log byte-identical to evaluate's; the
# default --otsu on is refused for those final maps (exit 1, message names
# the file and the option); a missing prediction names the file and the pair;
# compare writes the Table I files with one column group per method.
# Usage: score_cli_test.sh LDMGROUND WORKDIR
set -euo pipefail
bin=$1
work=$2
log() { echo "[score_cli] $*"; }
fail() { echo "[score_cli] FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"

"$bin" demo --out demo --no-run --log-level warn
data=(--dataset demo/data/ms_cxr.csv --images demo/data/images)
"$bin" evaluate --model-dir demo/model "${data[@]}" --out eval --steps 10 --threads 1 --save-heatmaps --log-level warn

"$bin" score "${data[@]}" --predictions eval/heatmaps.h5 --out rescored --otsu off --method "ours again" --log-level warn
for f in pairs.csv summary.log; do
  cmp -s "eval/$f" "rescored/$f" || fail "$f differs between evaluate and score"
done
grep -q '"tool": "score"' rescored/summary.json || fail "summary.json lacks provenance.tool = score"
grep -q '"method": "ours again"' rescored/summary.json || fail "summary.json lacks provenance.method"
scored=$(awk -F, 'NR > 1 && $6 == "0"' eval/pairs.csv | wc -l)
[ "$scored" -ge 5 ] || fail "only $scored scored pairs in evaluate's pairs.csv"
log "pairs.csv and summary.log byte-identical ($scored scored pairs)"

if "$bin" score "${data[@]}" --predictions eval/heatmaps.h5 --out twice 2> twice.err; then
  fail "score --otsu on accepted evaluate's final (already thresholded) heatmaps"
fi
grep -q "eval/heatmaps.h5" twice.err && grep -q -- "--otsu off" twice.err || fail "unclear error: $(cat twice.err)"

mkdir -p npy
if "$bin" score "${data[@]}" --predictions npy --out missing 2> missing.err; then fail "empty folder accepted"; fi
grep -q "no prediction for pair 0" missing.err || fail "unclear error: $(cat missing.err)"

"$bin" compare --out table Ours=eval rescored > /dev/null
grep -q "| Pathology | N | Ours \\\\|CNR\\\\| |" table/compare.md || fail "compare.md header: $(head -5 table/compare.md)"
[ -s table/compare.csv ] && [ -s table/compare.json ] || fail "compare.csv/json missing"
log "ok"
