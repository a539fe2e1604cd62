#!/usr/bin/env bash
# ctest gpu_kit_cpu: scripts/gpu/check.sh on the CPU (--device cpu --T 10 --small),
# then its flat result files: every step ok (or an honest skip), the numbers
# present, and consistent with each other and with the bench's own report.
# usage: kit_test.sh LDMGROUND OUT_DIR
set -euo pipefail
BIN=$1
OUT=$2
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FIX="${LDMG_SHARED_DIR:-$SRC/../shared}/fixtures/parity"
fail() { echo "kit_test: $*" >&2; exit 1; }

rm -rf "$OUT" && mkdir -p "$OUT"
args=(--bin "$BIN" --device cpu --T 10 --small --out "$OUT" --deadline 900)
if [ -d "$FIX/golden/T20" ]; then args+=(--fixtures "$FIX"); else echo "kit_test: no parity fixtures at $FIX: parity is skipped"; fi
rc=0
bash "$SRC/scripts/gpu/check.sh" "${args[@]}" || rc=$?
cat "$OUT/summary.tsv"
for f in summary.tsv results.txt env.txt bench.txt bench.json demo.txt; do [ -s "$OUT/$f" ] || fail "no $OUT/$f"; done
[ "$rc" = 0 ] || fail "check.sh exited with $rc"
awk -F'\t' 'NR > 1 && $2 != "ok" && $2 != "skip" {bad = 1} END {exit bad}' "$OUT/summary.tsv" || fail "a step did not pass"
for step in env bench bench_bf16 demo; do
  awk -F'\t' -v s="$step" '$1 == s && $2 == "ok" {found = 1} END {exit !found}' "$OUT/summary.tsv" || fail "step $step not ok"
done

# The gpu tests beside the binary: here, without a GPU, each one skips.
if [ -x "$(dirname "$BIN")/test_gpu" ]; then
  awk -F'\t' '$1 == "gpu_tests" && $2 == "ok" {found = 1} END {exit !found}' "$OUT/summary.tsv" || fail "step gpu_tests not ok"
  grep -qx 'gpu_tests_failed=0' "$OUT/results.txt" || fail "gpu tests failed: $(grep gpu_tests "$OUT/results.txt")"
  grep -qE '^gpu_tests_skipped=[1-9]' "$OUT/results.txt" || fail "no gpu test reported as skipped without a GPU"
fi

python3 - "$OUT" <<'PY'
import json, re, sys
out = sys.argv[1]
kv = dict(line.rstrip("\n").split("=", 1) for line in open(f"{out}/results.txt") if "=" in line)
num = lambda k: float(kv[k]) if k in kv else sys.exit(f"kit_test: results.txt has no {k}")
def check(cond, what):
    if not cond:
        sys.exit(f"kit_test: {what}")
for k in ["s_per_pair_T300_faithful_x1", "s_per_pair_T300_fast_x1", "s_per_pair_T300_fast_x2",
          "flops_per_batch2_call", "achieved_flops_per_second", "call_seconds_fp32_b1", "call_seconds_bf16_b2"]:
    check(num(k) > 0, f"{k} = {kv[k]} is not > 0")
# The derived faithful x2 row is 2 x the batch-2 calls of x1: the same U-Net seconds per
# pair, without x1's measured non-U-Net time (inverse steps, capture: a few percent).
r = num("s_per_pair_T300_faithful_x2") / num("s_per_pair_T300_faithful_x1")
check(0.9 < r <= 1.0, f"faithful x2 / x1 per pair = {r}, expected in (0.9, 1]")
check(abs(num("s_per_image_T300_fast_x2") / num("s_per_pair_T300_fast_x2") - 2) < 1e-4, "fast x2: image != 2 pairs")  # 6 digits in results.txt
ratio = num("s_per_pair_T300_faithful_x1") / num("s_per_pair_T300_fast_x1")
check(abs(num("speedup_fast_vs_faithful") / ratio - 1) < 1e-4, "speedup_fast_vs_faithful is not faithful/fast")
report = open(f"{out}/bench.txt").read()
m = re.search(r"^fast/faithful speedup: ([0-9.]+)x$", report, re.M)
check(m and abs(float(m.group(1)) - ratio) < 0.006, "bench.txt's fast/faithful line disagrees with bench.json")
check(report.rstrip("\n").endswith(m.group(0)), "the CPU report does not end with the fast/faithful line")
j = json.load(open(f"{out}/bench.json"))
check(j["schema_version"] == 1 and j["device"] == "cpu" and j["T"] == 10 and j["target_T"] == 300, "bench.json header")
check(j["steps_target"] == 334, "T=300 is not 334 steps (the authors' trailing spacing)")
check(len(j["calls"]) == 4, "the per-call table has not 2 precisions x 2 batches")
# The batched rows (2 images): per image = 2 pairs with 2 prompts, one U-Net call per step as one image.
check(abs(num("s_per_image_T300_fast_x2_b2") / num("s_per_pair_T300_fast_x2_b2") - 2) < 1e-4, "fast x2 b2: image != 2 pairs")
batched = [r for r in j["rows"] if r.get("images") == 2]
single = {r["prompts"]: r for r in j["rows"] if r.get("images") == 1 and r["mode"] == "fast"}
check(len(batched) == 2 and all(r["target_unet_calls"] == single[r["prompts"]]["target_unet_calls"] for r in batched),
      "the batched rows do not make one image's calls")
# bf16 against fp32 on the same weights: a real, small error (bf16 keeps 8 bits of mantissa).
e = num("bf16_heatmap_max_abs_vs_fp32_T10")
check(0 < e < 0.5, f"bf16 heatmap error against fp32 {e} is not in (0, 0.5)")
check(num("bf16_s_per_image_T300_fast_x1_b2") > 0, "no bf16 batched seconds per image")
check("provenance" in j, "bench.json has no provenance")
if kv.get("authors") == "ran":
    a = num("authors_s_per_pair_T300")
    check(a > 0 and abs(num("speedup_fast_vs_authors") - a / num("s_per_pair_T300_fast_x1")) < 1e-3 * num("speedup_fast_vs_authors"),
          "speedup_fast_vs_authors is not authors/fast")
    check(re.search(r"^cpu speedup vs authors: [0-9]+\.[0-9]{2}x$", report, re.M), "no 'cpu speedup vs authors' line")
else:
    print(f"kit_test: the authors' pipeline did not run ({kv.get('authors')}); set LDMG_AUTHORS_PYTHON to include it")
if "parity_exit" in kv:
    check(kv["parity_exit"] == "0", f"parity exited {kv['parity_exit']}")
check(kv.get("demo_units_done") == "2", f"the 2-rank demo sweep recorded {kv.get('demo_units_done')} units, expected 2")
print("kit_test: ok")
PY
