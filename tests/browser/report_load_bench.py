#!/usr/bin/env python3
"""report_load_bench.py SITE [--repeat 5]: how long a report takes to load in
headless Chromium (cdp.py), from navigation start to the page's ready marker
(the table, summaries and plots rendered: window.LDMG_READY_MS, a
performance.now() reading) and to the thumbnails in view once the table is scrolled to, with
the browser cache off, and how long a sort and a filter take on it. Prints the figures; a benchmark, not a test
(bench/README.md "Report load time")."""
import argparse
import os
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    index = os.path.join(os.path.abspath(args.site), "index.html")
    if not os.path.isfile(index):
        sys.exit(f"{index}: no report there (report_synthetic OUT or ldmground report --out OUT writes one)")
    try:
        b = cdp.Browser()
    except cdp.ChromiumUnavailable as e:
        sys.exit(f"cannot start Chromium: {e}")
    ready, wall, thumbs, sort_ms, filter_ms = [], [], [], [], []
    try:
        b.open_page()
        b.call("Network.setCacheDisabled", {"cacheDisabled": True})
        url = "file://" + urllib.parse.quote(index)
        for _ in range(args.repeat):
            b.call("Page.navigate", {"url": "about:blank"})
            b.wait_event("Page.loadEventFired")
            b.events.clear()
            t = time.monotonic()
            b.call("Page.navigate", {"url": url})
            b.wait_for("document.documentElement.dataset.ready === '1'", timeout=60)
            wall.append((time.monotonic() - t) * 1000)
            ready.append(b.evaluate("window.LDMG_READY_MS"))
            # The table scrolled into view: its visible (lazy) thumbnails all decoded.
            b.evaluate("document.getElementById('pairs-table').scrollIntoView()")
            b.wait_for("""Array.from(document.querySelectorAll('#pairs-body img'))
                .filter(i => i.getBoundingClientRect().top < innerHeight).every(i => i.complete && i.naturalWidth > 0)""",
                       timeout=60)
            thumbs.append(b.evaluate("performance.now()"))
            sort_ms.append(b.evaluate("""(() => { const t = performance.now();
                document.querySelector('th[data-key=miou]').click(); return performance.now() - t; })()"""))
            filter_ms.append(b.evaluate("""(() => { const s = document.getElementById('filter-category');
                const t = performance.now(); s.value = s.options[1].value; s.dispatchEvent(new Event('change'));
                return performance.now() - t; })()"""))
        rows = b.evaluate("window.LDMG_REPORT.rows.length")
        problems = b.problems()
    finally:
        b.close()
    size = os.path.getsize(os.path.join(args.site, "data.js")) / 1e6
    med = statistics.median
    print(f"report {args.site}: {rows} rows, data.js {size:.2f} MB, {args.repeat} cold loads (cache off)")
    print(f"  ready (navigation start -> table rendered, performance.now): median {med(ready):.0f} ms, "
          f"min {min(ready):.0f}, max {max(ready):.0f}")
    print(f"  thumbnails in view (navigation start -> table scrolled into view, its visible thumbnails decoded): "
          f"median {med(thumbs):.0f} ms")
    print(f"  wall (Page.navigate -> ready seen by the driver): median {med(wall):.0f} ms")
    print(f"  sort by mIoU: median {med(sort_ms):.1f} ms; category filter: median {med(filter_ms):.1f} ms")
    if problems:
        print("  console problems:", problems[:5])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
