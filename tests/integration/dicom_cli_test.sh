#!/usr/bin/env bash
# --dicom-conversion through the binary, on the demo model (T=10) and a DICOM
# written by GDCM (write_test_dicom: 36x36, window 500/201 unlike its min-max):
#  - --help of ground, evaluate and sweep documents it;
#  - ground: ground.json's image.dicom says which conversion the reader applied;
#  - evaluate: summary.json provenance has "dicom": {conversion, images} only
#    when DICOM was read; pairs.csv keeps its columns; the DICOM pair's numbers
#    change with the conversion, the PNG pair's do not;
#  - sweep: `dicom-conversion = window` in a job file reaches the units (rows
#    equal evaluate --dicom-conversion window's), the plan's settings and the
#    run's job.ini, and the offline readers of the run (analyze --heatmaps
#    stores the hand-computed window pixels; report draws the pair); resuming
#    with another conversion runs new units (as any changed setting does)
#    whose rows equal evaluate's mimic_jpg rows;
#  - a bad value, on the command line or in a job file, names the option and
#    the accepted values.
# Usage: dicom_cli_test.sh LDMGROUND WRITE_TEST_DICOM WORKDIR
set -euo pipefail
bin=$1
write_dicom=$2
work=$3
log() { echo "[dicom_cli] $*"; }
fail() { echo "[dicom_cli] FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

for cmd in ground evaluate sweep; do
  "$bin" "$cmd" --help | tr -s ' \n' ' ' > help.txt
  for want in "--dicom-conversion" "mimic_jpg" "window" "PNG and JPEG images ignore it" "docs/images.md"; do
    grep -q -- "$want" help.txt || fail "$cmd --help does not mention '$want'"
  done
done

"$bin" demo --out demo --no-run --images 1 --log-level warn
rel=files/p99/p99000001/s99000001/pattern.dcm
mkdir -p "demo/data/images/$(dirname $rel)"
"$write_dicom" "demo/data/images/$rel"
{ head -2 demo/data/ms_cxr.csv; echo "pattern,Pneumonia,Patchy opacity in the middle.,$rel,8,8,16,16,36,36,test"; } > two.csv
head -2 demo/data/ms_cxr.csv > png_only.csv
common=(--model-dir demo/model --steps 10 --threads 1 --log-level warn)
data=(--dataset two.csv --images demo/data/images)

# ground: the conversion the reader applied, from the reader's own record.
for c in mimic_jpg window; do
  "$bin" ground "${common[@]}" --image "demo/data/images/$rel" --prompt "opacity" --out "ground_$c" --dicom-conversion $c
  [ "$(json "ground_$c/ground.json" "d['image']['dicom']['conversion']")" = $c ] || fail "ground --dicom-conversion $c"
done
"$bin" ground "${common[@]}" --image "demo/data/images/$rel" --prompt "opacity" --out ground_default
[ "$(json ground_default/ground.json "d['image']['dicom']['conversion']")" = mimic_jpg ] || fail "ground's default"
[ "$(json ground_window/ground.json "d['image']['dicom']['window_used']")" = "center 500 width 201 LINEAR" ] ||
  fail "ground window: $(json ground_window/ground.json "d['image']['dicom']")"
log "ground: the reader applied the conversion asked for"

# evaluate
for c in mimic_jpg window; do
  "$bin" evaluate "${common[@]}" "${data[@]}" --out "eval_$c" --dicom-conversion $c
  [ "$(json "eval_$c/summary.json" "d['provenance']['dicom']")" = "{'conversion': '$c', 'images': 1}" ] ||
    fail "eval_$c: provenance.dicom is $(json "eval_$c/summary.json" "d['provenance'].get('dicom')")"
  [ "$(json "eval_$c/summary.json" "d['provenance']['options']['dicom-conversion']")" = $c ] || fail "options"
  [ "$(head -1 "eval_$c/pairs.csv")" = "pair,dicom_id,path,category,prompt,skipped,cnr_abs,cnr,miou,auroc,auroc_exact" ] ||
    fail "pairs.csv header changed: $(head -1 "eval_$c/pairs.csv")"
done
[ "$(sed -n 2p eval_mimic_jpg/pairs.csv)" = "$(sed -n 2p eval_window/pairs.csv)" ] || fail "the PNG pair's row changed"
[ "$(sed -n 3p eval_mimic_jpg/pairs.csv)" != "$(sed -n 3p eval_window/pairs.csv)" ] ||
  fail "the DICOM pair's row is the same under both conversions"
awk -F, 'NR > 1 && $6 != "0" { exit 1 }' eval_window/pairs.csv || fail "a pair was not scored: $(cat eval_window/pairs.csv)"
"$bin" evaluate "${common[@]}" --dataset png_only.csv --images demo/data/images --out eval_png
[ "$(json eval_png/summary.json "'dicom' in d['provenance']")" = False ] || fail "a PNG-only run has provenance.dicom"
[ "$(sed -n 2p eval_png/pairs.csv)" = "$(sed -n 2p eval_window/pairs.csv)" ] || fail "PNG row differs"
log "evaluate: provenance.dicom only with DICOM; the DICOM row follows the conversion, the PNG row does not"

# sweep: the job file key, then a resume with another conversion.
cat > job.ini <<JOB
model-dir = demo/model
dataset = two.csv
images = demo/data/images
steps = 10
cache = none
dicom-conversion = window
JOB
"$bin" sweep --job job.ini --run run --threads 1 --log-level warn
results=$(dirname "$(ls run/results/T10/*/pairs.csv | head -1)")
tail -n +2 "$results/pairs.csv" > sweep_rows.csv
tail -n +2 eval_window/pairs.csv > eval_rows.csv
cmp -s sweep_rows.csv eval_rows.csv || fail "sweep (job.ini window) rows differ from evaluate --dicom-conversion window"
grep -q "^dicom-conversion = window$" run/job.ini || fail "run/job.ini lacks the key"
[ "$(json run/plan.json "d['settings']['outputs'].endswith(';dicom=window')")" = True ] ||
  fail "plan settings: $(json run/plan.json "d['settings']")"
json run/plan.json "' '.join(u['id'] for u in d['units'])" > ids_window
# Offline, the run's key again: analyze --heatmaps stores the image as re-read (window values,
# hand-computed in dicom_pattern.h), and report draws the DICOM pair's overlay.
# (A run of its own with a cache: capturing every layer batches the inversion
# otherwise, and evaluate's rows are then equal only within float32 rounding.)
"$bin" sweep --job job.ini --run run_cached --cache window --threads 1 --log-level warn > /dev/null
"$bin" analyze --run run_cached --out analysis --heatmaps 1 --log-level warn > /dev/null
h5dump -d /pairs/1/image -y -w 0 -o image.txt "$(ls analysis/T10/*/heatmaps.h5 | head -1)" > /dev/null
python3 - image.txt <<'PY' || fail "analyze --heatmaps: the DICOM was not re-read with the run's window conversion"
import sys
values = [int(v) for v in open(sys.argv[1]).read().replace(",", " ").split()]
window = [0, 0, 1, 64, 128, 192, 254, 255, 255]  # dicom_pattern.h
want = [window[(x + y) % 9] for y in range(36) for x in range(36)]
sys.exit(0 if values == want else 1)
PY
"$bin" report --run run_cached --out site --log-level warn > /dev/null
[ -s site/overlays/T10_c0/0001.png ] || fail "report drew no overlay of the DICOM pair: $(ls -R site/overlays | head)"
"$bin" sweep --job job.ini --run run --threads 1 --log-level warn --dicom-conversion mimic_jpg
json run/plan.json "' '.join(u['id'] for u in d['units'])" > ids_mimic
[ "$(json run/plan.json "'dicom=' not in d['settings']['outputs']")" = True ] || fail "resumed plan settings (the default conversion is not named)"
for id in $(cat ids_mimic); do grep -q "$id" ids_window && fail "unit $id kept its name under another conversion"; done
tail -n +2 "$results/pairs.csv" > sweep_rows.csv
tail -n +2 eval_mimic_jpg/pairs.csv > eval_rows.csv
cmp -s sweep_rows.csv eval_rows.csv || fail "resumed sweep (mimic_jpg) rows differ from evaluate's"
grep -q "^dicom-conversion = mimic_jpg$" run/job.ini || fail "run/job.ini after the resume"
log "sweep: job.ini key honoured; the resume with another conversion ran $(wc -w < ids_mimic) new unit(s)"

# Bad values name the option and what it accepts.
expect_bad() {  # expect_bad NAME command...
  local name=$1; shift
  if "$@" 2> "$name.err"; then fail "$name: accepted a bad conversion"; fi
  for want in "--dicom-conversion" "'jpeg'" "mimic_jpg" "window"; do
    grep -q -- "$want" "$name.err" || fail "$name: the error does not say '$want': $(cat "$name.err")"
  done
}
expect_bad ground "$bin" ground "${common[@]}" --image "demo/data/images/$rel" --prompt x --out bad_g --dicom-conversion jpeg
expect_bad evaluate "$bin" evaluate "${common[@]}" "${data[@]}" --out bad_e --dicom-conversion jpeg
sed 's/^dicom-conversion = window$/dicom-conversion = jpeg/' job.ini > bad_job.ini
expect_bad sweep_job "$bin" sweep --job bad_job.ini --run bad_run --threads 1 --log-level warn
log "bad values: $(head -1 evaluate.err)"
log "ok"
