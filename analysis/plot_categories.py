#!/usr/bin/env python3
"""Per-category bars with error bars for several heatmap configs (the paper's
Tables I-III as a figure): one bar per config in each pathology group and in
the Avg group, one panel per metric.

Sources: summary.json files, or folders searched for them (a sweep's run
folder, its results/, analyze's OUT, one T<T>/<config> folder); each is one
series. With --table I|II|III the source is analyze's tables.csv (or a folder
holding it) and the series are that table's blocks (Table III: pathology vs
all tokens on the prompts containing the class name).

Example (demo run):
  .venv/bin/python analysis/plot_categories.py demo/analysis --metric miou,abs_cnr --out demo/figs/categories.png
"""
import argparse
import math

import ldmg_plot as lp


def summary_series(paths, metrics, error):
    out = []
    for path in lp.find_files(paths, "summary.json"):
        s = lp.read_json(path)
        T, config = lp.summary_identity(path, s)
        rows = {}
        entries = [(c["name"], c["n"], c) for c in s["categories"]]
        entries.append((lp.AVERAGE, s["pairs"]["scored"], s["average"]))
        for name, n, block in entries:
            vals = {}
            for m in metrics:
                factor = lp.METRICS[m][1]
                b = block.get(m) or {}
                mean = b.get("mean")
                if not lp.finite(mean):
                    continue
                if error == "std":
                    lo, hi = mean - b["std"], mean + b["std"]
                elif error == "ci95":
                    lo, hi = b["ci95"]
                else:
                    lo = hi = None
                vals[m] = (mean * factor, None if lo is None else lo * factor, None if hi is None else hi * factor)
            rows[name] = (n, vals)
        out.append({"key": config, "T": T, "source": str(path), "order": [e[0] for e in entries], "rows": rows})
    return out


def table_series(paths, table, metrics, error):
    if error == "ci95":
        raise lp.InputError("tables.csv holds mean and std only: use --error std or none with --table")
    columns = {"miou": "miou_pct", "auroc": "auroc_pct", "abs_cnr": "abs_cnr", "cnr": "cnr"}
    for m in metrics:
        if m not in columns:
            raise lp.InputError(f"tables.csv has no {m}")
    out = {}
    for path in lp.find_files(paths, "tables.csv"):
        for r in lp.read_csv(path):
            if r["table"] != table:
                continue
            s = out.setdefault((str(path), r["block"]), {"key": r["block"], "T": None, "source": str(path),
                                                          "order": [], "rows": {}})
            vals = {}
            for m in metrics:
                mean, std = lp.number(r[columns[m] + "_mean"]), lp.number(r[columns[m] + "_std"])
                if math.isnan(mean):
                    continue
                vals[m] = (mean, None, None) if error == "none" else (mean, mean - std, mean + std)
            s["order"].append(r["pathology"])
            s["rows"][r["pathology"]] = (int(r["n"]), vals)
    if not out:
        raise lp.InputError(f"no Table {table} rows in {', '.join(paths)}")
    return list(out.values())


def labels_for(series, given):
    if given:
        if len(given) != len(series):
            raise lp.InputError(f"--labels: {len(given)} label(s) for {len(series)} series")
        return given
    Ts = {s["T"] for s in series}
    short = lp.config_labels([s["key"] for s in series])
    if len(Ts) > 1:
        return [f"T={s['T']} {k}" for s, k in zip(series, short)]
    return short


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="+", help="summary.json files or folders holding them (tables.csv with --table)")
    ap.add_argument("--metric", type=lp.metric_list, default=["miou"],
                    help=f"comma-separated, one panel each: {', '.join(lp.METRICS)} (default: miou)")
    ap.add_argument("--error", choices=["std", "ci95", "none"], default="std",
                    help="error bars: std over pairs (as Table I), the bootstrap 95%% interval, or none "
                         "(default: %(default)s)")
    ap.add_argument("--table", choices=["I", "II", "III"], help="plot this table's blocks from tables.csv instead")
    ap.add_argument("--labels", nargs="+", help="one legend label per series (default: what differs between configs)")
    lp.common_arguments(ap)
    args = ap.parse_args()

    metrics = args.metric
    series = (table_series(args.sources, args.table, metrics, args.error) if args.table
              else summary_series(args.sources, metrics, args.error))
    labels = labels_for(series, args.labels)
    cats = []
    for s in series:
        cats += [c for c in s["order"] if c not in cats and c != lp.AVERAGE]
    if any(lp.AVERAGE in s["rows"] for s in series):
        cats.append(lp.AVERAGE)

    def tick(cat):
        ns = sorted({s["rows"][cat][0] for s in series if cat in s["rows"]})
        return f"{cat.replace(' ', chr(10))}\nn={'/'.join(map(str, ns))}"

    k = len(series)
    width = 0.8 / k
    fig, axes = lp.plt.subplots(len(metrics), 1, figsize=(max(7.0, 0.9 * len(cats) + 2.0), 3.4 * len(metrics) + 0.6),
                                squeeze=False)
    axes = [a[0] for a in axes]
    plotted = []
    for ax, m in zip(axes, metrics):
        for si, s in enumerate(series):
            drawn = [c for c in cats if c in s["rows"] and m in s["rows"][c][1]]
            xs = [cats.index(c) - 0.4 + width * (si + 0.5) for c in drawn]
            vals = [s["rows"][c][1][m] for c in drawn]  # (value, low, high)
            bars = ax.bar(xs, [v[0] for v in vals], width * 0.92, color=f"C{si}", label=labels[si])
            # Error bars as whiskers from low to high (a bootstrap interval need not contain the mean).
            whiskers = [None] * len(xs)
            if args.error != "none":
                seg = ax.vlines(xs, [v[1] for v in vals], [v[2] for v in vals], color="0.15", lw=1, zorder=3)
                cap = 0.25 * width  # half the cap length
                ax.hlines([v[1] for v in vals] + [v[2] for v in vals], [x - cap for x in xs] * 2,
                          [x + cap for x in xs] * 2, color="0.15", lw=1, zorder=3)
                whiskers = seg.get_segments()
            # The data-out file holds what was drawn: read back from the artists.
            for rect, w, cat in zip(bars.patches, whiskers, drawn):
                lo, hi = (float(w[0][1]), float(w[1][1])) if w is not None else (math.nan, math.nan)
                plotted.append([m, "%" if lp.METRICS[m][1] == 100.0 else "", si, labels[si], s["key"], s["source"], cat,
                                s["rows"][cat][0], float(rect.get_height()), lo, hi])
        ax.set_xticks(range(len(cats)), [tick(c) for c in cats], fontsize=8)
        ax.set_xlim(-0.6, len(cats) - 0.4)
        ax.set_ylabel(lp.METRICS[m][0])
        ax.axhline(0, color="black", lw=0.6)
        if cats[-1] == lp.AVERAGE:
            ax.axvline(len(cats) - 1.5, color="0.5", lw=0.8, ls=":")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    what = {"std": "mean ± std over pairs", "ci95": "mean, bootstrap 95% interval", "none": "mean"}[args.error]
    source = {None: "Per pathology", "I": "Table I", "II": "Table II (Avg over pathologies)",
              "III": "Table III (prompts containing the class name)"}[args.table]
    axes[0].set_title(args.title or f"{source}: {what}", fontsize=10)
    handles, names = axes[0].get_legend_handles_labels()
    fig.tight_layout()
    fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=1 if k > 3 else k,
               fontsize=8, frameon=False)
    lp.save(fig, args.out, args.dpi)
    lp.write_data(args.data_out, ["metric", "unit", "series", "label", "key", "source", "category", "n", "value",
                                  "err_low", "err_high"], plotted)


if __name__ == "__main__":
    lp.main(main)
