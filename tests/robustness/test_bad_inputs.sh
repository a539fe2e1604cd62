#!/usr/bin/env bash
# End-to-end robustness tests: the real CLI on corrupted inputs built from
# the demo assets (no ../shared needed). Every bad input must give
#   - a non-zero exit that is not a signal (1 <= rc < 128),
#   - a message naming the file / row / key (grep),
#   - no output that looks complete (no pairs.csv, or its bad rows marked),
# and in a sweep a corrupt image fails only its own unit. Also: a second
# sweep on a locked run folder, disk full while writing the cache (then a
# resume equal to a clean run), SIGTERM mid-unit.
# usage: test_bad_inputs.sh LDMGROUND WORKDIR [GROUP...]
#   env: LDMG_DEMO_DIR=DIR reuse demo assets; LDMG_ROBUST_NO_TMPFS=1 use ulimit -f
#   for the disk-full check even where a tmpfs could be mounted
#   groups: data images text weights configs cache sweep faults (default: all)
set -uo pipefail
bin=$(realpath "$1") work=$2
shift 2
groups=${*:-data images text weights configs cache sweep faults}
here=$(cd "$(dirname "$0")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work" && mkdir -p "$work" && work=$(realpath "$work")
D=$work/demo
failures=0 checks=0
log() { echo "[bad_inputs] $*"; }
bad() { echo "[bad_inputs] FAIL: $*" >&2; failures=$((failures + 1)); }

# LDMG_DEMO_DIR: reuse demo assets written earlier (`ldmground demo --no-run`).
if [ -n "${LDMG_DEMO_DIR:-}" ]; then
  cp -r "$LDMG_DEMO_DIR" "$D"
else
  "$bin" demo --out "$D" --no-run --log-level warn || { echo "demo assets failed"; exit 1; }
fi
M=$D/model IMG=$D/data/images CSV=$D/data/ms_cxr.csv
HEADER=$(head -1 "$CSV")
ROW1=$(sed -n 2p "$CSV")
ROW1_PATH=$(echo "$ROW1" | cut -d, -f4)
# A two-image subset (3 pairs) keeps the runs that do reach the model short.
mini=$work/mini.csv
{ echo "$HEADER"; grep -F "$ROW1_PATH" "$CSV"; sed -n '2,$p' "$CSV" | grep -vF "$ROW1_PATH" | head -1; } > "$mini"

# expect_fail NAME OUTDIR PATTERN... -- CMD...: CMD must exit 1..127, its
# output must contain every PATTERN (fixed strings) and OUTDIR must hold no
# pairs.csv (OUTDIR "-" = not checked).
expect_fail() {
  local name=$1 out=$2; shift 2
  local pats=()
  while [ "$1" != "--" ]; do pats+=("$1"); shift; done
  shift
  checks=$((checks + 1))
  "$@" > "$work/$name.log" 2>&1
  local rc=$?
  if [ "$rc" -eq 0 ]; then bad "$name: exit 0 on a bad input"; return; fi
  if [ "$rc" -ge 128 ]; then bad "$name: killed by a signal (rc $rc)"; tail -5 "$work/$name.log" >&2; return; fi
  local p
  for p in "${pats[@]}"; do
    grep -qF -- "$p" "$work/$name.log" || { bad "$name: message lacks '$p': $(grep -v '\[#\|\[\.' "$work/$name.log" | tail -3)"; return; }
  done
  if [ "$out" != - ] && [ -n "$(find "$out" -name pairs.csv 2>/dev/null)" ]; then
    bad "$name: left $(find "$out" -name pairs.csv | head -1)"; return
  fi
  log "ok   $name (rc $rc): $(grep -a 'error\]' "$work/$name.log" | tail -1 | cut -c1-160)"
}
# expect_ok NAME PATTERN... -- CMD...: exit 0 and the output has every PATTERN.
expect_ok() {
  local name=$1; shift
  local pats=()
  while [ "$1" != "--" ]; do pats+=("$1"); shift; done
  shift
  checks=$((checks + 1))
  "$@" > "$work/$name.log" 2>&1
  local rc=$?
  [ "$rc" -eq 0 ] || { bad "$name: exit $rc: $(tail -3 "$work/$name.log")"; return; }
  local p
  for p in "${pats[@]}"; do
    grep -qF -- "$p" "$work/$name.log" || { bad "$name: output lacks '$p'"; return; }
  done
  log "ok   $name"
}
# A one-row CSV from ROW1 with awk edits: csv_row NAME 'awk statements'
csv_row() { { echo "$HEADER"; echo "$ROW1" | awk -F, -v OFS=, "{ $2; print }"; } > "$work/$1.csv"; echo "$work/$1.csv"; }
evaluate() {  # evaluate OUT [args]: a short fast-mode evaluation
  local out=$1; shift
  "$bin" evaluate --model-dir "$M" --images "${EVIMG:-$IMG}" --out "$out" --steps 10 --mode fast --bootstrap 10 \
    --threads 1 --log-level warn "$@"
}
evaluate_img() { EVIMG=$work/img evaluate "$@"; }  # evaluate on the corrupted images folder
has() { [[ " $groups " == *" $1 "* ]]; }

# ---------------------------------------------------------------- data (CSV)
if has data; then
  f=$work/missing_col.csv; { echo "$HEADER" | cut -d, -f1-9; echo "$ROW1" | cut -d, -f1-9; } > "$f"
  expect_fail csv_missing_column "$work/o_mc" "missing_col.csv" "image_height" -- evaluate "$work/o_mc" --dataset "$f"
  f=$(csv_row neg_x '$5=-3');          expect_fail csv_negative "$work/o1" "neg_x.csv" "row 1" "'x'" -- evaluate "$work/o1" --dataset "$f"
  f=$(csv_row nan_w '$7="NaN"');       expect_fail csv_nan "$work/o2" "nan_w.csv" "row 1" "'w'" -- evaluate "$work/o2" --dataset "$f"
  f=$(csv_row abc_h '$8="abc"');       expect_fail csv_non_numeric "$work/o3" "abc_h.csv" "'h'" "abc" -- evaluate "$work/o3" --dataset "$f"
  f=$(csv_row empty_prompt '$3=""');   expect_fail csv_empty_prompt "$work/o4" "empty_prompt.csv" "label_text" -- evaluate "$work/o4" --dataset "$f"
  f=$(csv_row escape '$4="../../../etc/passwd"')
  expect_fail csv_path_escape "$work/o5" "escape.csv" "'path'" ".." -- evaluate "$work/o5" --dataset "$f"
  f=$(csv_row absolute '$4="/etc/passwd"')
  expect_fail csv_path_absolute "$work/o5b" "absolute.csv" "'path'" -- evaluate "$work/o5b" --dataset "$f"
  # A symlink inside the root pointing outside it.
  ln -sfn /etc "$IMG/files/escape_link"
  f=$(csv_row symlink '$4="files/escape_link/passwd"')
  expect_fail csv_path_symlink_escape "$work/o5c" "symlink.csv" "images root" -- evaluate "$work/o5c" --dataset "$f"
  rm -f "$IMG/files/escape_link"
  f=$(csv_row outside '$5=5000')
  # A box beyond the image is kept (upstream clips it) with a warning naming the row.
  expect_ok csv_box_outside_warns "outside.csv" "row 1" -- evaluate "$work/o6" --dataset "$f"
  f=$work/unclosed.csv; { echo "$HEADER"; echo "$ROW1" | awk -F, -v OFS=, '{$3="\"never closed"; print}'; } > "$f"
  expect_fail csv_unclosed_quote "$work/o7" "unclosed.csv" "line 2" -- evaluate "$work/o7" --dataset "$f"
  f=$work/ragged.csv; { echo "$HEADER"; echo "$ROW1,extra"; } > "$f"
  expect_fail csv_extra_field "$work/o8" "ragged.csv" "line 2" -- evaluate "$work/o8" --dataset "$f"
  expect_fail csv_not_found "$work/o9" "nothere.csv" -- evaluate "$work/o9" --dataset "$work/nothere.csv"
  f=$work/dup_header.csv; { echo "$HEADER,x"; echo "$ROW1,1"; } > "$f"
  expect_fail csv_duplicate_header "$work/o10" "dup_header.csv" "'x'" -- evaluate "$work/o10" --dataset "$f"
  # Accepted inputs: an extra column, quoted comma/newline/quote in label_text,
  # duplicate rows (merged into one pair with the box twice, as upstream),
  # non-ASCII text - the run must succeed and keep the prompt intact.
  f=$work/good_quirks.csv
  {
    echo "$HEADER,note"
    echo "$ROW1,hello"
    echo "$ROW1,hello"
    echo "$ROW1" | awk -F, -v OFS=, '{$3="\"Effusion, \"\"small\"\"\nleft side — naïve ≥ 2 cm\""; print $0 ",x"}'
  } > "$f"
  expect_ok csv_accepted_quirks -- evaluate "$work/o_quirks" --dataset "$f"
  if [ -f "$work/o_quirks/pairs.csv" ]; then
    n=$(grep -c '^[0-9]' "$work/o_quirks/pairs.csv" || true)
    [ "$n" = 2 ] || bad "csv_accepted_quirks: expected 2 pairs (duplicates merged), pairs.csv has $n rows"
    grep -qF 'naïve ≥ 2 cm' "$work/o_quirks/pairs.csv" || bad "csv_accepted_quirks: non-ASCII prompt not kept in pairs.csv"
    grep -qF '""small""' "$work/o_quirks/pairs.csv" || bad "csv_accepted_quirks: quoted prompt not written back RFC 4180"
  fi
fi

# ------------------------------------------------------------------- images
if has images; then
  mkdir -p "$work/img"
  cp -r "$IMG/files" "$work/img/"
  src=$work/img/$ROW1_PATH
  python3 - "$src" "$work/img" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
d = sys.argv[2]
open(d + "/trunc.png", "wb").write(b[: len(b) // 2])
bb = bytearray(b); bb[60:90] = b"\0" * 30; open(d + "/corrupt.png", "wb").write(bytes(bb))
open(d + "/trunc.jpg", "wb").write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 40)
open(d + "/notimage.png", "wb").write(b"hello, this is text\n")
open(d + "/empty.png", "wb").write(b"")
PY
  for k in trunc.png corrupt.png trunc.jpg notimage.png empty.png missing.png; do
    f=$(csv_row "img_$k" "\$4=\"$k\"")
    expect_fail "image_$k" - "$work/img/$k" -- evaluate_img "$work/o_img_$k" --dataset "$f"
    # evaluate records the failed pair: pairs.csv may exist but its row must say error.
    if [ -f "$work/o_img_$k/pairs.csv" ] && ! grep -q ',error' "$work/o_img_$k/pairs.csv"; then
      bad "image_$k: pairs.csv does not mark the failed pair"
    fi
  done
  cp "$src" "$work/img/unreadable.png" && chmod 000 "$work/img/unreadable.png"
  if [ "$(id -u)" != 0 ]; then
    f=$(csv_row img_unreadable '$4="unreadable.png"')
    expect_fail image_unreadable - "unreadable.png" -- evaluate_img "$work/o_img_unr" --dataset "$f"
  fi
  # The image's size differs from the CSV's image_width x image_height.
  f=$(csv_row img_size '$9=600; $10=600')
  expect_fail image_size_mismatch - "$ROW1_PATH" "600" -- evaluate_img "$work/o_img_size" --dataset "$f"
  # ground on a bad image
  expect_fail ground_corrupt_image "$work/o_g1" "corrupt.png" -- \
    "$bin" ground --model-dir "$M" --image "$work/img/corrupt.png" --prompt "effusion" --out "$work/o_g1" --steps 10 --log-level warn
fi

# --------------------------------------------------------------------- text
if has text; then
  long=$(printf 'small left pleural effusion %.0s' $(seq 1 40))
  f=$(csv_row long_prompt "\$3=\"$long\"")
  expect_ok prompt_over_77_tokens_warns "token" -- evaluate "$work/o_long" --dataset "$f"
  grep -qiE 'warn.*(truncat|77)' "$work/prompt_over_77_tokens_warns.log" || bad "prompt_over_77_tokens_warns: no truncation warning"
  expect_ok prompt_non_ascii -- "$bin" ground --model-dir "$M" --image "$IMG/$ROW1_PATH" --prompt "Épanchement pleural ≥ 2 cm — 胸水 😷" \
    --out "$work/o_utf8" --steps 10 --threads 1 --log-level warn
  expect_fail prompt_invalid_utf8 - "UTF-8" -- "$bin" ground --model-dir "$M" --image "$IMG/$ROW1_PATH" --prompt $'bad \xff\xfe utf8' \
    --out "$work/o_badutf8" --steps 10 --threads 1 --log-level warn
  expect_fail prompt_empty - "prompt" -- "$bin" ground --model-dir "$M" --image "$IMG/$ROW1_PATH" --prompt "" \
    --out "$work/o_emptyp" --steps 10 --threads 1 --log-level warn
fi

# ------------------------------------------------------------------ weights
if has weights; then
  W=$work/weights && mkdir -p "$W"
  python3 "$here/make_bad_weights.py" "$M/text_encoder/model.safetensors" "$M/diffusion_model.pth" "$W" ||
    bad "make_bad_weights.py failed"
  for k in missing_key extra_key wrong_shape wrong_dtype truncated; do
    te=$W/te_$k && mkdir -p "$te" && cp "$M/text_encoder/config.json" "$te/" && cp "$W/$k.safetensors" "$te/model.safetensors"
    pats=("$te/model.safetensors")
    case $k in
      missing_key) pats+=("missing" "$(cat "$W/missing_key.name")") ;;
      extra_key) pats+=("text_model.bogus_extra.weight") ;;
      wrong_shape) pats+=("$(cat "$W/wrong_shape.name")") ;;
      wrong_dtype) pats+=("$(cat "$W/wrong_dtype.name")") ;;
    esac
    expect_fail "weights_$k" "$work/o_w_$k" "${pats[@]}" -- evaluate "$work/o_w_$k" --dataset "$mini" --text-encoder "$te"
  done
  expect_fail weights_truncated_inspect - "truncated.safetensors" -- "$bin" inspect "$W/truncated.safetensors"
  expect_fail weights_bad_crc "$work/o_w_crc" "bad_crc.pth" "$(cat "$W/bad_crc.name")" "CRC" -- \
    evaluate "$work/o_w_crc" --dataset "$mini" --unet "$W/bad_crc.pth"
  expect_fail weights_forbidden_global "$work/o_w_glob" "forbidden_global.pth" "os.system" -- \
    evaluate "$work/o_w_glob" --dataset "$mini" --unet "$W/forbidden_global.pth"
  head -c 1000 "$M/autoencoder.pth" > "$W/trunc_ae.pth"
  expect_fail weights_truncated_zip "$work/o_w_tz" "trunc_ae.pth" -- evaluate "$work/o_w_tz" --dataset "$mini" --autoencoder "$W/trunc_ae.pth"
  expect_fail weights_not_found "$work/o_w_nf" "nothere.pth" -- evaluate "$work/o_w_nf" --dataset "$mini" --unet "$W/nothere.pth"
fi

# ------------------------------------------------------------------ configs
if has configs; then
  C=$work/cfg && mkdir -p "$C"
  ae=$M/configs/stage1/aekl_v0.yaml ldm=$M/configs/ldm/ldm_v0.yaml
  sed 's/^\(    latent_channels:.*\)$/\1\n    latent_chanels: 3/' "$ae" > "$C/ae_unknown.yaml"
  expect_fail yaml_unknown_key "$work/o_c1" "ae_unknown.yaml" "latent_chanels" -- evaluate "$work/o_c1" --dataset "$mini" --ae-config "$C/ae_unknown.yaml"
  sed 's/^\(    norm_num_groups:\).*$/\1 banana/' "$ae" > "$C/ae_badvalue.yaml"
  expect_fail yaml_bad_value "$work/o_c2" "ae_badvalue.yaml" "norm_num_groups" -- evaluate "$work/o_c2" --dataset "$mini" --ae-config "$C/ae_badvalue.yaml"
  printf 'stage1:\n  params: [unclosed\n' > "$C/ae_syntax.yaml"
  expect_fail yaml_syntax "$work/o_c3" "ae_syntax.yaml" -- evaluate "$work/o_c3" --dataset "$mini" --ae-config "$C/ae_syntax.yaml"
  # job .ini: an unknown key and a bad value
  { cat "$D/demo.ini"; echo "stpes = 20"; } > "$C/unknown.ini"
  expect_fail ini_unknown_key "$work/o_c4" "unknown.ini" "stpes" -- "$bin" sweep --job "$C/unknown.ini" --run "$work/o_c4" --log-level warn
  sed 's/^steps = .*/steps = twenty/' "$D/demo.ini" > "$C/badvalue.ini"
  expect_fail ini_bad_value "$work/o_c5" "badvalue.ini" "steps" -- "$bin" sweep --job "$C/badvalue.ini" --run "$work/o_c5" --log-level warn
  sed 's/^mode = .*/mode = turbo/' "$D/demo.ini" > "$C/badmode.ini"
  expect_fail ini_bad_choice "$work/o_c6" "mode" "turbo" -- "$bin" sweep --job "$C/badmode.ini" --run "$work/o_c6" --log-level warn
  # text encoder config.json with a wrong type
  te=$C/te_badjson && mkdir -p "$te" && cp "$M/text_encoder/model.safetensors" "$te/"
  sed 's/"hidden_size": 32/"hidden_size": "32"/' "$M/text_encoder/config.json" > "$te/config.json"
  expect_fail json_bad_value "$work/o_c7" "config.json" "hidden_size" -- evaluate "$work/o_c7" --dataset "$mini" --text-encoder "$te"
fi

# --------------------------------------------------- sweep (per-unit failure)
sweep() {  # sweep RUN [args]: the mini job, one config, one thread
  local run=$1; shift
  "$bin" sweep --run "$run" --model-dir "$M" --dataset "$mini" --images "$IMG" --steps 10 --mode fast \
    --bootstrap 10 --threads 1 --log-level warn "$@"
}
results_equal() {  # results_equal A B
  diff -r "$1/results" "$2/results" > "$work/diff.txt" 2>&1 || { bad "results differ: $1 vs $2: $(head -5 "$work/diff.txt")"; return 1; }
  [ -n "$(find "$1/results" -name pairs.csv)" ] || { bad "no pairs.csv in $1/results"; return 1; }
}
if has sweep || has cache || has faults; then
  checks=$((checks + 1))
  sweep "$work/clean" > "$work/clean.log" 2>&1 || bad "clean mini sweep exited $?: $(tail -3 "$work/clean.log")"
fi
if has sweep; then
  # One of the two images corrupt: its unit fails (error recorded), the other is ok.
  n0=$failures
  mkdir -p "$work/simg" && cp -r "$IMG/files" "$work/simg/"
  head -c 300 "$IMG/$ROW1_PATH" > "$work/simg/$ROW1_PATH"
  checks=$((checks + 1))
  "$bin" sweep --run "$work/s_bad" --model-dir "$M" --dataset "$mini" --images "$work/simg" --steps 10 --mode fast \
    --bootstrap 10 --threads 1 --log-level warn > "$work/s_bad.log" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then bad "sweep with a corrupt image: exit $rc"; fi
  ok=$(cat "$work"/s_bad/ledger/rank*.jsonl 2>/dev/null | grep -c '"status":"ok"')
  failed=$(cat "$work"/s_bad/ledger/rank*.jsonl 2>/dev/null | grep -c '"status":"failed"')
  [ "$ok" -ge 1 ] && [ "$failed" -eq 1 ] || bad "sweep with a corrupt image: ledger has $ok ok / $failed failed units (want >=1 / 1)"
  grep -q "$(basename "$ROW1_PATH")" "$work"/s_bad/ledger/rank*.jsonl || bad "the failed unit's ledger error does not name the image"
  p=$(find "$work/s_bad/results" -name pairs.csv 2>/dev/null | head -1)
  if [ -n "$p" ]; then
    grep -qF "$ROW1_PATH" "$p" && grep "$ROW1_PATH" "$p" | grep -q error || bad "sweep pairs.csv does not mark the corrupt image's pairs as error"
    grep -v "$ROW1_PATH" "$p" | grep -q '^[0-9].*,0,' || bad "sweep pairs.csv has no scored pair of the good image"
  fi
  [ "$failures" -eq "$n0" ] && log "ok   sweep_corrupt_image_fails_only_its_unit (rc $rc, $ok ok, $failed failed)"
fi

# ---------------------------------------------------------------- cache
if has cache; then
  # A cache file truncated mid-write / from another schema / other model files:
  # the re-run must refuse it or redo the unit, never read garbage.
  cp -r "$work/clean" "$work/c_trunc"
  rm -rf "$work/c_trunc/results" "$work/c_trunc/ledger"
  n0=$failures
  h5=$(ls "$work"/c_trunc/cache/*.h5 | grep -v '/index\.h5$' | head -1)
  head -c $(( $(stat -c %s "$h5") / 2 )) "$h5" > "$h5.cut" && mv "$h5.cut" "$h5"
  checks=$((checks + 1))
  sweep "$work/c_trunc" > "$work/c_trunc.log" 2>&1
  rc=$?
  if [ "$rc" -ge 128 ]; then bad "truncated cache: killed by a signal ($rc)"
  elif [ "$rc" -ne 0 ]; then grep -qF "$(basename "$h5")" "$work/c_trunc.log" || bad "truncated cache: error does not name $(basename "$h5")"
  else results_equal "$work/clean" "$work/c_trunc"; fi
  [ "$failures" -eq "$n0" ] && log "ok   cache_truncated (rc $rc)"
  # Offline analysis reads the cache: a finished run with one cache file cut in half.
  if "$bin" analyze --help > /dev/null 2>&1; then
    cp -r "$work/clean" "$work/c_ro"
    h5=$(ls "$work"/c_ro/cache/*.h5 | grep -v '/index\.h5$' | head -1)
    head -c $(( $(stat -c %s "$h5") / 2 )) "$h5" > "$h5.cut" && mv "$h5.cut" "$h5"
    expect_fail cache_truncated_analyze "$work/c_ro_out" "$(basename "$h5")" -- \
      "$bin" analyze --run "$work/c_ro" --out "$work/c_ro_out" --sweep-configs --log-level warn
  fi
fi

# ----------------------------------------------------------------- faults
if has faults; then
  # Two sweeps on one run folder: the second is refused naming the holder.
  # (the binary itself in the background, so that $! is its pid)
  "$bin" sweep --run "$work/locked" --model-dir "$M" --dataset "$mini" --images "$IMG" --steps 10 --mode fast \
    --bootstrap 10 --threads 1 --log-level warn > "$work/lock1.log" 2>&1 &
  first=$!
  # The first sweep is frozen (SIGSTOP) while it holds the lock, so that a
  # fast machine cannot finish both units before the checks below (with fixed
  # sleeps instead, SIGTERM could arrive after the results were written).
  for _ in $(seq 1 300); do [ -s "$work/locked/.lock" ] && break; sleep 0.1; done
  kill -STOP "$first" 2>/dev/null
  expect_fail second_sweep_locked - "in use by another sweep" "pid=$first" "host=$(hostname)" -- sweep "$work/locked"
  kill -CONT "$first" 2>/dev/null
  # SIGTERM while a unit is being computed: its cache file is still a .tmp.
  for _ in $(seq 1 1200); do ls "$work"/locked/cache/*.h5.tmp > /dev/null 2>&1 && break; sleep 0.05; done
  kill -STOP "$first" 2>/dev/null
  kill -TERM "$first" 2>/dev/null
  kill -CONT "$first" 2>/dev/null
  wait "$first"; rc=$?
  checks=$((checks + 1))
  # SIGTERM mid-unit: a clean stop (exit < 128, resumable), no results/, no *.tmp
  [ "$rc" -eq 75 ] || bad "SIGTERM mid-unit: exit $rc, expected 75 (stopped, resumable)"
  [ ! -d "$work/locked/results" ] || bad "SIGTERM mid-unit: left results/"
  ls "$work"/locked/cache/*.tmp > /dev/null 2>&1 && bad "SIGTERM mid-unit: left *.tmp cache files"
  sweep "$work/locked" > "$work/lock2.log" 2>&1 || bad "resume after SIGTERM exited $?"
  results_equal "$work/clean" "$work/locked" && log "ok   sigterm_mid_unit_then_resume (rc $rc)"

  # Disk full while writing the cache: a small tmpfs (needs root and mount
  # permission; skipped otherwise - `ulimit -f` is no substitute, MPI_Init's
  # PMIx shared-memory files hit the limit first). Then the same run folder,
  # copied to a roomy place, resumed with --retry-failed: results identical
  # to the clean run.
  full=$work/full && mkdir -p "$full"
  if [ -z "${LDMG_ROBUST_NO_TMPFS:-}" ] && [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1200k tmpfs "$full" 2> /dev/null; then
    trap 'umount "$full" 2> /dev/null' EXIT
    checks=$((checks + 1))
    sweep "$full/run" > "$work/full.log" 2>&1
    rc=$?
    n0=$failures
    if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then
      bad "disk full (tmpfs of 1200 KiB): exit $rc: $(grep -a 'error\]\|Signal' "$work/full.log" | tail -3)"
    else
      grep -qiE 'space|too large|disk|quota|writ' "$work/full.log" || bad "disk full: no clear message: $(tail -3 "$work/full.log")"
      grep -qF "$full/run/cache/" "$work/full.log" || bad "disk full: the message does not name the cache file"
      # Every unit failed, so results/ may hold pairs.csv only with every row
      # marked error (as for a corrupt image), never a row that looks scored.
      for p in $(find "$full/run/results" -name pairs.csv 2> /dev/null); do
        [ "$(sed 1d "$p" | grep -vc ',error,')" -eq 0 ] || bad "disk full: $p has rows not marked error"
      done
      # A failed close must not poison later files (HDF5 kept its id counted).
      grep -qF "handle(s) still open" "$work/full.log" && bad "disk full: $(grep -m1 -F 'handle(s) still open' "$work/full.log")"
    fi
    [ "$failures" -eq "$n0" ] && log "ok   disk_full_cache (rc $rc): $(grep -a 'error\]' "$work/full.log" | head -1 | cut -c1-200)"
    cp -a "$full/run" "$work/roomy"
    umount "$full" && trap - EXIT
    checks=$((checks + 1))
    if sweep "$work/roomy" --retry-failed > "$work/roomy.log" 2>&1; then
      results_equal "$work/clean" "$work/roomy" && log "ok   disk_full_then_resume_identical"
    else
      bad "resume after disk full exited non-zero: $(tail -3 "$work/roomy.log")"
    fi
  else
    log "skip disk_full_cache: cannot mount a tmpfs here (not root, or no permission)"
  fi
fi

log "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
