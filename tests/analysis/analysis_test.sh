#!/usr/bin/env bash
# analyze, search and the analysis/ figures on a small demo sweep:
#   run     - the fixture: demo assets (4 images, T=10) and a one-rank sweep
#             with a float32 cache into WORKDIR/run;
#   figures - analyze (+ --tables, --heatmaps) and search on it, every
#             analysis/ script, then check_figures.py: the PNGs decode at a
#             sensible size and the values drawn equal their sources;
#   mpi     - analyze (exact and --fast) and search on 2 MPI ranks: the same
#             bytes as on 1 rank (one thread per rank, as sweeps: README "Sweeps").
# usage: analysis_test.sh MODE LDMGROUND MPIEXEC WORKDIR
set -euo pipefail
mode=$1 bin=$2 mpiexec=$3 work=$4
src=${LDMG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
py=${LDMG_PYTHON:-$src/.venv/bin/python}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export MPLBACKEND=Agg
log() { echo "[analysis_test $mode] $*"; }
fail() { echo "[analysis_test $mode] FAIL: $*" >&2; exit 1; }
timed() {  # timed LABEL CMD...: runs CMD, logs its wall time
  local label=$1 t0; shift
  t0=$(date +%s.%N)
  "$@" || fail "$label exited $?"
  log "$label: $(echo "$(date +%s.%N) - $t0" | bc) s"
}
run=$work/run
grid=$src/jobs/demo_small.ini space=$src/tests/analysis/search_space.txt
[ "$mode" = run ] || [ -f "$run/cache/index.h5" ] || fail "no finished demo sweep in $run (the fixture analysis_demo_run)"

case $mode in
  run)
    rm -rf "$work" && mkdir -p "$work"
    "$bin" demo --out "$work/demo" --no-run --images 4 --steps 10 --log-level warn
    timed sweep "$bin" sweep --job "$work/demo/demo.ini" --run "$run" --threads 1 --cache-dtype float32 --log-level warn
    ;;
  figures)
    if ! "$py" -c 'import matplotlib, h5py, numpy' 2>/dev/null; then
      echo "[analysis_test figures] SKIP: $py lacks matplotlib/h5py/numpy (bash scripts/bootstrap.sh installs them)"
      exit 77
    fi
    out=$work/figures
    rm -rf "$out" && mkdir -p "$out"
    paper="L3,4,6,7_Wpaper_Tall_otsu_s2.5_code" ablation="L0,1,2,3,4,5,6,7,8,9,10_Wpaper_Tall_nootsu_s2.5_code"
    timed analyze "$bin" analyze --run "$run" --grid "$grid" --out "$out/analysis" --tables --heatmaps 3,0,1 \
      --threads 1 --log-level warn
    timed search "$bin" search --run "$run" --space "$space" --out "$out/search" --threads 1 --log-level warn
    a=$src/analysis f=$out/figs
    timed categories "$py" "$a/plot_categories.py" "$out/analysis" --metric miou,abs_cnr \
      --out "$f/categories.png" --data-out "$f/categories.csv"
    timed categories_ci "$py" "$a/plot_categories.py" "$out/analysis/T10/$paper/summary.json" \
      "$run/results/T10/$ablation" --error ci95 --metric auroc --out "$f/categories_ci.png" --data-out "$f/categories_ci.csv"
    timed table3 "$py" "$a/plot_categories.py" "$out/analysis/tables.csv" --table III --metric miou,cnr \
      --out "$f/table3.png" --data-out "$f/table3.csv"
    timed search_avg "$py" "$a/plot_search.py" "$out/search" --out "$f/search.png" --data-out "$f/search.csv"
    cat=$("$py" -c 'import json,sys; print(max(json.load(open(sys.argv[1]))["categories"], key=lambda c: c["n"])["category"])' "$out/search/search.json")
    timed search_cat "$py" "$a/plot_search.py" "$out/search/scores.csv" --category "$cat" --where otsu=on \
      --out "$f/search_category.png" --data-out "$f/search_category.csv"
    timed overlays "$py" "$a/plot_overlays.py" "$out/analysis/T10/$paper" --out "$f/overlays.png" \
      --data-out "$f/overlays.csv"
    timed overlays_rows "$py" "$a/plot_overlays.py" "$out/analysis/T10/$paper/heatmaps.h5" \
      "$out/analysis/T10/$ablation" --pairs 1,3 --out "$f/overlays_configs.png" --data-out "$f/overlays_configs.csv"
    # Bad input: one line, status 2, no traceback.
    if "$py" "$a/plot_search.py" "$out/search" --category "No Such" --out "$f/x.png" 2> "$out/err.txt"; then
      fail "plot_search.py accepted an unknown category"
    fi
    grep -q "no category 'No Such'" "$out/err.txt" && ! grep -q Traceback "$out/err.txt" ||
      fail "unhelpful error: $(cat "$out/err.txt")"
    timed check "$py" "$src/tests/analysis/check_figures.py" --run "$run" --analysis "$out/analysis" \
      --search "$out/search" --figs "$f" --category "$cat"
    ;;
  mpi)
    out=$work/mpi
    rm -rf "$out" && mkdir -p "$out"
    same() {  # same DIR_A DIR_B: every file byte-identical (HDF5 files: h5diff, object times differ)
      local a=$1 b=$2 n=0
      diff <(cd "$a" && find . -type f | sort) <(cd "$b" && find . -type f | sort) ||
        fail "$a and $b hold different files"
      while IFS= read -r file; do
        case $file in
          *.h5) h5diff "$a/$file" "$b/$file" > /dev/null || fail "$file differs between $a and $b (h5diff)" ;;
          *) cmp -s "$a/$file" "$b/$file" || fail "$file differs between $a and $b" ;;
        esac
        n=$((n + 1))
      done < <(cd "$a" && find . -type f | sort)
      log "identical: $n files of $a and $b"
    }
    for np in 1 2; do
      launch=()
      [ "$np" -gt 1 ] && launch=("$mpiexec" -n "$np" --oversubscribe)
      timed "analyze np=$np" "${launch[@]}" "$bin" analyze --run "$run" --grid "$grid" --out "$out/exact$np" \
        --tables --heatmaps 0,2 --threads 1 --log-level warn
      timed "analyze --fast np=$np" "${launch[@]}" "$bin" analyze --run "$run" --grid "$grid" --out "$out/fast$np" \
        --fast --threads 1 --log-level warn
      timed "search np=$np" "${launch[@]}" "$bin" search --run "$run" --space "$space" --out "$out/search$np" \
        --threads 1 --log-level warn
    done
    same "$out/exact1" "$out/exact2"
    same "$out/fast1" "$out/fast2"
    # search.json/md carry the rank count and timings; the scores and the chosen configs must not differ.
    for file in scores.csv best.ini; do
      cmp -s "$out/search1/$file" "$out/search2/$file" || fail "search $file differs between 1 and 2 ranks"
    done
    "$py" - "$out/search1/search.json" "$out/search2/search.json" <<'PY' || fail "search.json differs beyond provenance and timing"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for j in (a, b):
    j.pop("provenance"), j.pop("throughput")
sys.exit(a != b)
PY
    # The exact path on 1 and 2 ranks equals the sweep's own results (same configs, float32 cache).
    for c in "$run"/results/T10/*/; do
      name=$(basename "$c")
      [ -d "$out/exact2/T10/$name" ] || continue
      cmp -s "$c/pairs.csv" "$out/exact2/T10/$name/pairs.csv" || fail "analyze on 2 ranks: $name/pairs.csv differs from the sweep's"
      log "pairs.csv of $name equals the sweep's"
    done
    ;;
  *) fail "unknown mode $mode" ;;
esac
log "passed"
