#!/usr/bin/env python3
"""A grid of overlays like the paper's Fig. 3: for chosen pairs, the X-ray in
gray, the final heatmap over it (jet, alpha 0.5, fixed 0..1 scale; NaN outside
the mapped square is left clear), the ground-truth boxes (green; dashed: a box
dropped by the crop, not scored) and the sentence as the title, with the
pair's category and metric below.

Source: the heatmaps.h5 files of `ldmground analyze --heatmaps PAIRS`, or the
folders holding them (OUT/T<T>/<config>/). The heatmaps are the C++ code's
own (analyze's exact path, mapped back to the image size); this script only
draws. One file: the pairs wrap over --cols columns. Several files (configs):
one row per file, one column per pair.

Example (demo run):
  .venv/bin/python analysis/plot_overlays.py "demo/analysis/T20/L3,4,6,7_Wpaper_Tall_otsu_s2.5_code" --out demo/figs/overlays.png
"""
import argparse
import math
import textwrap

import h5py
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

import ldmg_plot as lp


def read_heatmaps(path):
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != "ldmground.heatmaps":
            raise lp.InputError(f"'{path}' is not an ldmground heatmaps file (format attribute)")
        if int(f.attrs["schema_version"]) != 1:
            raise lp.InputError(f"'{path}': schema version {int(f.attrs['schema_version'])}, expected 1")
        pairs = {}
        for name, g in f["pairs"].items():
            pairs[int(name)] = {
                "prompt": str(g.attrs["prompt"]),
                "category": str(g.attrs["category"]),
                "metrics": {m: float(g.attrs[m]) for m in ("miou", "abs_cnr", "cnr", "auroc")},
                "image": g["image"][()],
                "heatmap": g["heatmap"][()],
                "boxes": g["boxes"][()].reshape(-1, 4),
                "scored": g["box_scored"][()],
            }
        return {"config": str(f.attrs["heatmap_config"]), "T": int(f.attrs["T"]), "pairs": pairs,
                "order": [int(p) for p in f.attrs["pairs"]]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("heatmaps", nargs="+", help="heatmaps.h5 files, or folders holding them")
    ap.add_argument("--pairs", help="pair indices to draw, in this order (default: the file's, in the order given "
                                    "to analyze --heatmaps)")
    ap.add_argument("--cols", type=int, default=4, help="columns for one file (default: %(default)s)")
    ap.add_argument("--alpha", type=float, default=0.5, help="heatmap opacity (default: %(default)s)")
    ap.add_argument("--cmap", default="jet", help="colour map of the heatmap (default: %(default)s)")
    ap.add_argument("--metric", choices=["miou", "abs_cnr", "cnr", "auroc"], default="miou",
                    help="the metric shown under each panel (default: %(default)s)")
    lp.common_arguments(ap)
    args = ap.parse_args()

    files = lp.find_files(args.heatmaps, "heatmaps.h5")
    runs = [read_heatmaps(p) for p in files]
    try:
        order = [int(x) for x in args.pairs.split(",")] if args.pairs else runs[0]["order"]
    except ValueError:
        raise lp.InputError(f"--pairs: expected pair indices like 3,0,7, got '{args.pairs}'") from None
    for path, r in zip(files, runs):
        missing = [p for p in order if p not in r["pairs"]]
        if missing:
            raise lp.InputError(f"'{path}' has no pair {', '.join(map(str, missing))} (it has "
                                f"{', '.join(map(str, sorted(r['pairs'])))}; analyze --heatmaps chooses them)")
    if len(runs) == 1:
        cols = max(1, min(args.cols, len(order)))
        cells = [(runs[0], files[0], p) for p in order]
        nrows = math.ceil(len(cells) / cols)
    else:
        cols, nrows = len(order), len(runs)
        cells = [(r, f, p) for r, f in zip(runs, files) for p in order]
    row_labels = lp.config_labels([r["config"] for r in runs]) if len(runs) > 1 else None

    fig, axes = lp.plt.subplots(nrows, cols, figsize=(3.0 * cols + 0.9, 3.55 * nrows), squeeze=False)
    norm = Normalize(0.0, 1.0)
    metric_name = {"miou": "mIoU", "abs_cnr": "|CNR|", "cnr": "CNR", "auroc": "AUC-ROC"}[args.metric]
    factor = lp.METRICS[args.metric][1]
    plotted = []
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(cells):
            continue
        r, path, pair = cells[i]
        d = r["pairs"][pair]
        img = ax.imshow(d["image"], cmap="gray", vmin=0, vmax=255, interpolation="antialiased")
        hm = ax.imshow(np.ma.masked_invalid(d["heatmap"]), cmap=args.cmap, norm=norm, alpha=args.alpha,
                       interpolation="nearest")
        boxes = []
        for (x, y, w, h), scored in zip(d["boxes"], d["scored"]):
            # A box covers pixel columns x .. x+w-1: its edges are half a pixel outside their centres.
            boxes.append(ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, ec="lime", lw=1.6,
                                                ls="-" if scored else "--")))
        ax.set_title("\n".join(textwrap.wrap(d["prompt"], 34)), fontsize=8)
        v = d["metrics"][args.metric]
        shown_v = f"{v * factor:.1f}%" if factor == 100.0 else f"{v:.2f}"
        ax.text(0.5, -0.02, f"pair {pair} · {d['category']} · {metric_name} {shown_v}", fontsize=7,
                ha="center", va="top", transform=ax.transAxes)
        if row_labels and i % cols == 0:
            ax.text(-0.06, 0.5, row_labels[i // cols], fontsize=8, rotation=90, ha="right", va="center",
                    transform=ax.transAxes)
        # What was drawn, from the artists.
        shown = hm.get_array()
        vals = shown.compressed()
        for k, rect in enumerate(boxes):
            plotted.append([str(path), r["config"], pair, d["prompt"], d["category"], img.get_array().shape[1],
                            img.get_array().shape[0], int(vals.size), float(vals.min()) if vals.size else math.nan,
                            float(vals.max()) if vals.size else math.nan,
                            float(vals.astype(np.float64).mean()) if vals.size else math.nan,
                            d["metrics"]["miou"], d["metrics"]["abs_cnr"], k, float(rect.get_x() + 0.5),
                            float(rect.get_y() + 0.5), float(rect.get_width()), float(rect.get_height()),
                            int(rect.get_linestyle() == "-")])
    fig.tight_layout(rect=(0.03 if row_labels else 0, 0, 0.93, 0.95 if args.title else 1))
    cax = fig.add_axes((0.945, 0.25, 0.015, 0.5))
    fig.colorbar(ScalarMappable(norm=norm, cmap=args.cmap), cax=cax, label="heatmap (normalised)")
    if args.title:
        fig.suptitle(args.title, fontsize=10)
    lp.save(fig, args.out, args.dpi)
    lp.write_data(args.data_out, ["source", "config", "pair", "prompt", "category", "image_width", "image_height",
                                  "heatmap_pixels", "heatmap_min", "heatmap_max", "heatmap_mean", "miou", "abs_cnr",
                                  "box", "x", "y", "w", "h", "scored"], plotted)


if __name__ == "__main__":
    lp.main(main)
