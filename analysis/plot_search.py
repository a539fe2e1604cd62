#!/usr/bin/env python3
"""The config search as a figure: for one pathology (or the Average over
pathologies), the score of every step window (x: start, one panel per window
length) for each layer subset (one line each), and the best score of each
layer subset over all windows (last panel). Configs that share layers and
window but differ in tokens, Otsu, sigma or order are combined with --reduce
(default: the best of them); --where keeps only some. The paper's default
config (dashed line) and the in-sample best (star) come from search.json.

Source: `ldmground search`'s output folder (scores.csv, search.json) or its
scores.csv.

Example (demo run):
  .venv/bin/python analysis/plot_search.py demo/search --category "Lung Opacity" --out demo/figs/search.png
"""
import argparse
import math
from pathlib import Path

import ldmg_plot as lp

FILTER_KEYS = ("layers", "tokens", "otsu", "sigma", "order")


def where(text):
    key, sep, value = text.partition("=")
    if not sep or key not in FILTER_KEYS:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY in {', '.join(FILTER_KEYS)}, got '{text}'")
    return key, value


def layers_label(layers):
    return "all" if layers == lp.ALL_LAYERS else layers


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("search", help="search's output folder, or its scores.csv")
    ap.add_argument("--category", default="Average", help="a pathology of the CSV, or Average (default)")
    ap.add_argument("--where", type=where, action="append", default=[],
                    help="keep configs with KEY=VALUE only (repeatable; KEY: layers, tokens, otsu, sigma, order; "
                         "values as in scores.csv, e.g. otsu=on, sigma=2.5)")
    ap.add_argument("--reduce", choices=["max", "mean"], default="max",
                    help="combine configs with the same layers and window (default: %(default)s)")
    lp.common_arguments(ap)
    args = ap.parse_args()

    src = Path(args.search)
    csv_path = src / "scores.csv" if src.is_dir() else src
    if not csv_path.is_file():
        raise lp.InputError(f"no scores.csv at '{csv_path}' (run `ldmground search`; older versions did not write it)")
    rows = lp.read_csv(csv_path)
    cats = list(dict.fromkeys(r["category"] for r in rows))
    if args.category not in cats:
        raise lp.InputError(f"no category '{args.category}' in {csv_path} (it has: {', '.join(cats)})")
    metric_name = rows[0]["metric"]
    key = lp.SEARCH_METRIC_KEYS.get(metric_name)
    label, factor = lp.METRICS[key] if key else (metric_name, 1.0)
    rows = [r for r in rows if r["category"] == args.category and all(r[k] == v for k, v in args.where)]
    if not rows:
        raise lp.InputError(f"no config of {csv_path} matches --where {' '.join(f'{k}={v}' for k, v in args.where)}")

    # (layers, begin, end) -> scores of the configs there
    cells = {}
    for r in rows:
        v = lp.number(r["score"])
        if not math.isnan(v):
            cells.setdefault((r["layers"], int(r["window_begin"]), int(r["window_end"])), []).append(v * factor)
    if not cells:
        raise lp.InputError(f"every score of '{args.category}' is nan (no scored pair)")
    combine = max if args.reduce == "max" else (lambda v: sum(v) / len(v))
    value = {k: combine(v) for k, v in cells.items()}
    layer_sets = list(dict.fromkeys(r["layers"] for r in rows if any(k[0] == r["layers"] for k in value)))
    lengths = sorted({e - b for _, b, e in value})

    info = lp.read_json(csv_path.parent / "search.json") if (csv_path.parent / "search.json").is_file() else None
    paper = best = None
    if info:
        if args.category == "Average":
            paper = info["average"].get("paper_default")
        else:
            c = next((c for c in info["categories"] if c["category"] == args.category), None)
            if c and c.get("n"):
                paper, best = c.get("paper_default"), c["in_sample_best"]
    best_row = next((r for r in rows if best and r["config"] == best["config"]), None)

    fig, axes = lp.plt.subplots(1, len(lengths) + 1, figsize=(3.3 * (len(lengths) + 1) + 0.8, 3.8), squeeze=False,
                                gridspec_kw={"width_ratios": [3] * len(lengths) + [2.2]})
    axes = axes[0]
    for ax in axes[1:-1]:  # one y scale for every window panel
        ax.sharey(axes[0])
    plotted = []
    unit = "%" if factor == 100.0 else ""
    for ax, length in zip(axes, lengths):
        for li, layers in enumerate(layer_sets):
            pts = sorted((b, v) for (l, b, e), v in value.items() if l == layers and e - b == length)
            if not pts:
                continue
            line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=4, lw=1.4, color=f"C{li}",
                            label=f"layers {layers_label(layers)}")
            for x, y in zip(line.get_xdata(), line.get_ydata()):
                b = int(x)
                plotted.append([f"length {length}", layers, b, b + length, len(cells[(layers, b, b + length)]),
                                float(y), unit])
        if best_row and int(best_row["window_end"]) - int(best_row["window_begin"]) == length:
            ax.plot([int(best_row["window_begin"])], [lp.number(best_row["score"]) * factor], marker="*", ms=14,
                    color="gold", markeredgecolor="black", ls="none", label="in-sample best", zorder=5)
        if lp.finite(paper):
            ax.axhline(paper * factor, color="0.4", ls="--", lw=1, label="paper default")
        ax.set_title(f"window length {length} steps", fontsize=9)
        ax.set_xlabel("window start (inversion step)")
        ax.grid(alpha=0.3)
        starts = sorted({b for (_, b, e) in value if e - b == length})
        ax.set_xticks(starts)
        if len(starts) == 1:
            ax.set_xlim(starts[0] - 1, starts[0] + 1)
        ax.margins(y=0.1)
    axes[0].set_ylabel(label)

    # Per layer subset: its best over every window.
    ax = axes[-1]
    per_layer = [(layers, max(v for (l, _, _), v in value.items() if l == layers)) for layers in layer_sets]
    bars = ax.barh(range(len(per_layer)), [v for _, v in per_layer], color=[f"C{i}" for i in range(len(per_layer))])
    for rect, (layers, _) in zip(bars.patches, per_layer):
        plotted.append(["best per layers", layers, "", "", sum(len(v) for k, v in cells.items() if k[0] == layers),
                        float(rect.get_width()), unit])
    ax.set_yticks(range(len(per_layer)), [layers_label(l) for l, _ in per_layer], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"best {label}")
    ax.set_title("best over windows, per layer subset", fontsize=9)
    if lp.finite(paper):
        ax.axvline(paper * factor, color="0.4", ls="--", lw=1)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)

    T = rows[0]["T"]
    filt = ", ".join(f"{k}={v}" for k, v in args.where)
    what = "mean over pathologies" if args.category == "Average" else args.category
    fig.suptitle(args.title or f"Config search, T={T}: {metric_name}, {what} "
                 f"({args.reduce} over tokens/Otsu/σ/order{'; ' + filt if filt else ''})", fontsize=10)
    handles, names = [], []
    for a in axes[:-1]:
        for h, n in zip(*a.get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
    fig.tight_layout()
    fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(4, len(names)), fontsize=8,
               frameon=False)
    lp.save(fig, args.out, args.dpi)
    lp.write_data(args.data_out, ["panel", "layers", "window_begin", "window_end", "configs", "value", "unit"], plotted)


if __name__ == "__main__":
    lp.main(main)
