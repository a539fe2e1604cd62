#!/usr/bin/env python3
"""report_browser_test.py LDMGROUND WORK OUT: the demo run's report in a real
browser (headless Chromium over the DevTools pipe, cdp.py).

Runs `ldmground demo` (which ends by writing its report and printing the
path), then asserts through the DOM: the per-pair table has every row of the
run's results/*/pairs.csv, sorting by a metric orders the rows, the category
filter shows only that category (as many rows as the CSVs say), every image
and link target exists on disk, the overlay viewer opens the full-size PNG,
the page loads nothing but local files and logs no console error or
exception. Then a report with an analysis folder, a search and a score
folder beside the run (three scorings side by side, figures), and the
report of the same run with one unit taken out of the ledger (a run in
progress: it says so and shows what is done). Screenshots go to OUT.
Exit 77 (skipped) when Chromium is missing or cannot start."""
import csv
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

SKIP = 77


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        print(r.stdout)
        sys.exit(f"FAIL: {cmd[0]} {cmd[1]} exited with {r.returncode}")
    return r.stdout


def csv_rows(path):
    with open(path, newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    return list(csv.DictReader(lines))


def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
    print("ok:", what, flush=True)


def load(browser, site):
    browser.events.clear()
    browser.navigate("file://" + urllib.parse.quote(os.path.join(site, "index.html")))
    browser.wait_for("document.documentElement.dataset.ready === '1'")


def set_select(browser, element_id, value):
    browser.evaluate(f"(() => {{ const s = document.getElementById({json.dumps(element_id)}); s.value = {json.dumps(value)};"
                     f" s.dispatchEvent(new Event('change')); }})()")


def dom_rows(browser):
    return browser.evaluate("""Array.from(document.querySelectorAll('#pairs-body tr')).map(tr => ({
        pair: Number(tr.dataset.pair), category: tr.dataset.category,
        miou: tr.querySelector('td[data-metric=miou]').textContent}))""")


def check_local_targets(browser, site, what):
    targets = browser.evaluate("""Array.from(document.querySelectorAll('img[src], a[href]'))
        .map(e => e.getAttribute('src') || e.getAttribute('href')).filter(t => !t.startsWith('#'))""")
    missing = [t for t in targets if not os.path.isfile(os.path.join(site, urllib.parse.unquote(t)))]
    check(targets and not missing, f"{what}: all {len(targets)} image and link targets exist on disk"
          + (f" (missing: {missing[:5]})" if missing else ""))
    return targets


def check_clean(browser, what):
    problems = browser.problems()
    check(not problems, f"{what}: no console errors, exceptions or failed loads" + (f": {problems[:5]}" if problems else ""))
    foreign = [u for u in browser.requested_urls() if not u.startswith(("file://", "data:"))]
    check(not foreign, f"{what}: only local files requested" + (f": {foreign[:5]}" if foreign else ""))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    exe, work, out = (os.path.abspath(a) for a in sys.argv[1:4])
    started = time.monotonic()
    try:
        browser = cdp.Browser()
    except cdp.ChromiumUnavailable as e:
        print(f"SKIPPED: the browser test needs a headless Chromium that starts here: {e}")
        return SKIP
    try:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        os.makedirs(out, exist_ok=True)
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        demo = os.path.join(work, "demo")
        text = run([exe, "demo", "--out", demo, "--images", "6", "--overlays", "1", "--threads", "1"], env=env)
        site = os.path.join(demo, "report")
        index = os.path.join(site, "index.html")
        check(index in text, f"the demo prints the report path {index}")
        run_dir = os.path.join(demo, "run")

        # What the page must show, from the run's own result files.
        expected = []
        results = os.path.join(run_dir, "results")
        for t in sorted(os.listdir(results)):
            for cfg in sorted(os.listdir(os.path.join(results, t))):
                expected += csv_rows(os.path.join(results, t, cfg, "pairs.csv"))
        plan = json.load(open(os.path.join(run_dir, "plan.json")))
        n_configs = len(os.listdir(os.path.join(results, os.listdir(results)[0])))

        browser.open_page()
        load(browser, site)
        browser.screenshot(os.path.join(out, "report.png"))
        set_select(browser, "page-size", "0")
        rows = dom_rows(browser)
        check(len(rows) == len(expected) == len(plan["pairs"]) * len(plan["Ts"]) * n_configs,
              f"the table has every pair: {len(rows)} rows = {len(expected)} rows of results/*/pairs.csv = "
              f"{len(plan['pairs'])} pairs x {len(plan['Ts'])} T x {n_configs} configs")
        check(sorted(r["pair"] for r in rows) == sorted(int(r["pair"]) for r in expected), "the same pair indices as the CSVs")

        # Sorting: a numeric header sorts descending first, then ascending; missing values last.
        for direction in ("descending", "ascending"):
            browser.evaluate("document.querySelector('th[data-key=miou]').click()")
            rows = dom_rows(browser)
            vals = [float(r["miou"]) for r in rows if r["miou"] != "–"]
            ordered = sorted(vals, reverse=direction == "descending")
            check(vals == ordered and all(r["miou"] == "–" for r in rows[len(vals):]),
                  f"sorting by mIoU orders the rows {direction}")
            aria = browser.evaluate("document.querySelector('th[data-key=miou]').getAttribute('aria-sort')")
            check(aria == direction, f"the mIoU header says aria-sort={direction}")
        csv_miou = sorted(float(r["miou"]) for r in expected if r["skipped"] == "0")
        # toFixed(3) rounds ties up, Python's round to even: compare within half a unit of the last digit.
        check(len(vals) == len(csv_miou) and all(abs(a - b) <= 0.0005 + 1e-9 for a, b in zip(sorted(vals), csv_miou)),
              "the mIoU column holds the CSVs' values (3 decimals)")

        # Category filter: the largest category, as many rows as the CSVs have.
        cats = {}
        for r in expected:
            cats[r["category"]] = cats.get(r["category"], 0) + 1
        cat = max(sorted(cats), key=lambda c: cats[c])
        set_select(browser, "filter-category", cat)
        rows = dom_rows(browser)
        check(len(rows) == cats[cat] and all(r["category"] == cat for r in rows),
              f"the category filter '{cat}' shows exactly its {cats[cat]} rows")
        set_select(browser, "filter-category", "")

        targets = check_local_targets(browser, site, "demo report")
        n_ok = sum(1 for r in expected if r["skipped"] == "0")
        check(sum(t.startswith("thumbs/") for t in targets) == n_ok,
              f"one thumbnail per scored row ({n_ok}), drawn from the cache")

        # The overlay viewer opens the full-size PNG.
        set_select(browser, "page-size", "50")
        first = browser.evaluate("document.querySelector('a.overlay-link').getAttribute('href')")
        browser.evaluate("document.querySelector('a.overlay-link img').click()")
        browser.wait_for("!document.getElementById('viewer').hidden && document.querySelector('#viewer-body img').complete")
        shown = browser.evaluate("document.querySelector('#viewer-body img').getAttribute('src')")
        width = browser.evaluate("document.querySelector('#viewer-body img').naturalWidth")
        check(shown == first and width > 200, f"clicking a thumbnail opens its overlay {first} ({width} px wide)")
        browser.screenshot(os.path.join(out, "report_overlay.png"))
        check_clean(browser, "demo report")

        # Several scorings side by side: analyze (grid of 3 configs, tables), a small search with its plot,
        # and an evaluate-format folder.
        analysis = os.path.join(work, "analysis")
        run([exe, "analyze", "--run", run_dir, "--out", analysis, "--tables", "--threads", "1",
             "--config", "layers=all;window=paper;otsu=on"])
        space = os.path.join(work, "space.txt")
        with open(space, "w") as f:
            f.write("layers = 3,4,6,7 | all\nwindow = paper\ntokens = all\notsu = on | off\nsigma = 2.5\n")
        search = os.path.join(work, "search")
        run([exe, "search", "--run", run_dir, "--space", space, "--out", search, "--folds", "2", "--threads", "1"])
        figs = os.path.join(work, "figs")
        os.makedirs(figs)
        python = os.environ.get("LDMG_PYTHON") or os.path.join(os.environ.get("LDMG_SOURCE_DIR", ""), ".venv/bin/python")
        plot = os.path.join(os.environ.get("LDMG_SOURCE_DIR", ""), "analysis/plot_search.py")
        have_plot = os.path.isfile(python) and os.path.isfile(plot) and subprocess.run(
            [python, "-c", "import matplotlib"], capture_output=True).returncode == 0
        if have_plot:
            run([python, plot, search, "--out", os.path.join(figs, "search.png")])
        else:
            print("note: no matplotlib: the search plot is left out")
        score = os.path.join(work, "score")
        shutil.copytree(os.path.join(results, sorted(os.listdir(results))[0],
                                     sorted(os.listdir(os.path.join(results, sorted(os.listdir(results))[0])))[0]), score)
        full = os.path.join(work, "report_full")
        args = [exe, "report", "--run", run_dir, "--out", full, "--analysis", analysis, "--analysis", search,
                "--score", score, "--threads", "1"]
        if have_plot:
            args += ["--analysis", figs]
        run(args)
        load(browser, full)
        n_sources = browser.evaluate("window.LDMG_REPORT.sources.length")
        columns = browser.evaluate("document.querySelectorAll('#compare-table thead th').length - 1")
        check(n_sources == n_configs + 2 and columns == n_sources,
              f"run ({n_configs}), analysis (1) and score (1) side by side: {columns} columns")
        set_select(browser, "page-size", "0")
        check(len(dom_rows(browser)) == len(expected) + 2 * len(plan["pairs"]), "the table holds every source's rows")
        check(browser.evaluate("document.querySelectorAll('#search-results table').length") == 1,
              "the search result is shown")
        if have_plot:
            check(browser.evaluate("document.querySelectorAll('#figures img').length") == 1, "the search plot is shown")
        check_local_targets(browser, full, "report with analysis")
        check_clean(browser, "report with analysis")
        browser.evaluate("document.getElementById('analysis').scrollIntoView()")
        browser.screenshot(os.path.join(out, "report_analysis.png"))

        # A run in progress: one unit taken out of the ledger.
        partial_run = os.path.join(work, "run_partial")
        shutil.copytree(run_dir, partial_run, ignore=shutil.ignore_patterns("cache"))
        os.symlink(os.path.join(run_dir, "cache"), os.path.join(partial_run, "cache"))
        shutil.rmtree(os.path.join(partial_run, "results"))
        ledger = os.path.join(partial_run, "ledger", "rank0.jsonl")
        lines = open(ledger).read().splitlines(keepends=True)
        dropped = json.loads(lines[-1])["unit"]
        # and another one failed later (a later record wins)
        failed_rec = dict(json.loads(lines[0]), status="failed", error="test: cannot decode this image",
                          time="2099-01-01T00:00:00.000000Z")
        open(ledger, "w").writelines(lines[:-1] + [json.dumps(failed_rec) + "\n"])
        unit = next(u for u in plan["units"] if u["id"] == dropped)
        failed_unit = next(u for u in plan["units"] if u["id"] == failed_rec["unit"])
        partial_site = os.path.join(work, "report_partial")
        run([exe, "report", "--run", partial_run, "--out", partial_site, "--threads", "1"])
        load(browser, partial_site)
        banner = browser.evaluate("document.getElementById('run-status').textContent")
        check("RUN IN PROGRESS" in banner and f"{len(plan['units']) - 1} of {len(plan['units'])} units" in banner,
              f"a run in progress says so: {banner[:90]}...")
        set_select(browser, "page-size", "0")
        n_partial = len(dom_rows(browser))
        check(n_partial == len(expected) - len(unit["pairs"]) * n_configs,
              f"and shows what is done: {n_partial} rows (the pending unit's {len(unit['pairs'])} pair(s) left out)")
        check(browser.evaluate("document.querySelectorAll('#compare-table em').length") == n_configs,
              "its summaries are marked partial")
        failures = browser.evaluate("document.getElementById('failures-body').textContent")
        check(failed_rec["unit"] in failures and failed_rec["error"] in failures,
              "the failed unit is listed with its error")
        set_select(browser, "filter-status", "failed")
        rows = dom_rows(browser)
        check(len(rows) == len(failed_unit["pairs"]) * n_configs and
              sorted({r["pair"] for r in rows}) == sorted(failed_unit["pairs"]),
              f"the status filter 'failed' shows the failed unit's {len(rows)} rows")
        check(browser.evaluate("document.querySelectorAll('#pairs-body .error').length") == len(rows),
              "each with its error")
        check_clean(browser, "partial report")
    finally:
        browser.close()
    print(f"browser test passed in {time.monotonic() - started:.0f} s; screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
