#!/usr/bin/env python3
"""Checks the analysis/ figures of analysis_test.sh against their sources.

Every PNG decodes, has a sensible size and is not blank; every value a script
drew (its --data-out CSV, read back from the matplotlib artists) equals the
file it came from: summary.json and tables.csv (bars), search's scores.csv
and search.json (search), heatmaps.h5, the analyze pairs.csv and the sweep's
attention cache index (overlays). scores.csv itself is checked against
search.json: each pathology's best score and config, and the paper default.
"""
import argparse
import csv
import json
import math
import sys
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

FACTOR = {"miou": 100.0, "auroc": 100.0, "auroc_exact": 100.0, "abs_cnr": 1.0, "cnr": 1.0}
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(r for r in f if not r.startswith("#")))


def num(s):
    return float("nan") if s in ("", "nan") else float(s)


def close(a, b, tol=1e-9):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def check_png(path):
    check(path.is_file(), f"{path}: missing")
    if not path.is_file():
        return
    with Image.open(path) as im:
        im.load()
        w, h = im.size
        px = np.asarray(im.convert("RGB"), dtype=np.float64)
    check(im.format == "PNG", f"{path}: not a PNG ({im.format})")
    check(400 <= w <= 6000 and 300 <= h <= 6000, f"{path}: odd size {w}x{h}")
    nonwhite = (px.min(axis=2) < 250).mean()
    check(px.std() > 10 and nonwhite > 0.02, f"{path}: nearly blank (std {px.std():.1f}, {nonwhite:.1%} non-white)")
    print(f"{path.name}: {w}x{h}, {nonwhite:.0%} non-white")


def check_categories(data_csv, error="std", table_csv=None):
    drawn = rows(data_csv)
    check(drawn, f"{data_csv}: nothing drawn")
    summaries = {}
    for r in drawn:
        m, factor = r["metric"], FACTOR[r["metric"]]
        check(r["unit"] == ("%" if factor == 100.0 else ""), f"{data_csv}: unit of {m}")
        v, lo, hi = num(r["value"]), num(r["err_low"]), num(r["err_high"])
        if table_csv is None:
            s = summaries.setdefault(r["source"], json.load(open(r["source"])))
            block = s["average"] if r["category"] == "Avg" else next(c for c in s["categories"] if c["name"] == r["category"])
            n = s["pairs"]["scored"] if r["category"] == "Avg" else block["n"]
            want = block[m]
            check(int(r["n"]) == n, f"{data_csv}: n of {r['category']}")
            check(close(v, want["mean"] * factor), f"{data_csv}: {m} {r['category']} {v} != {want['mean']} x {factor}")
            w_lo, w_hi = want["ci95"] if error == "ci95" else (want["mean"] - want["std"], want["mean"] + want["std"])
            check(close(lo, w_lo * factor) and close(hi, w_hi * factor),
                  f"{data_csv}: error bar of {m} {r['category']}: {lo}..{hi} != {w_lo}..{w_hi} x {factor}")
        else:
            col = {"miou": "miou_pct", "auroc": "auroc_pct"}.get(m, m)
            matches = [t for t in rows(table_csv) if t["table"] == "III" and t["pathology"] == r["category"]
                       and t["block"] == r["key"]]
            check(len(matches) == 1, f"{data_csv}: no single Table III row for {r['label']} {r['category']}")
            if matches:
                t = matches[0]
                mean, std = float(t[col + "_mean"]), float(t[col + "_std"])
                check(v == mean and close(lo, mean - std) and close(hi, mean + std),
                      f"{data_csv}: {m} {r['category']} {v} != tables.csv {mean} ± {std}")
    # Every category with a defined mean is drawn, for every series and metric.
    if table_csv is None:
        for src, s in summaries.items():
            metrics = {r["metric"] for r in drawn}
            for m in metrics:
                want = {c["name"] for c in s["categories"] if c[m]["mean"] is not None} | {"Avg"}
                got = {r["category"] for r in drawn if r["source"] == src and r["metric"] == m}
                check(got == want, f"{data_csv}: {src} {m} drew {sorted(got)}, expected {sorted(want)}")
    print(f"{data_csv.name}: {len(drawn)} bars equal their sources")


def check_scores(search_dir):
    scores, info = rows(search_dir / "scores.csv"), json.load(open(search_dir / "search.json"))
    cats = [c["category"] for c in info["categories"]]
    check(len(scores) == info["configs_evaluated"] * (len(cats) + 1),
          f"scores.csv: {len(scores)} rows for {info['configs_evaluated']} configs x {len(cats)} categories + Average")
    for c in info["categories"]:
        mine = [r for r in scores if r["category"] == c["category"]]
        check(all(int(r["n"]) == c["n"] for r in mine), f"scores.csv: n of {c['category']}")
        if not c["n"]:
            continue
        best = max(mine, key=lambda r: num(r["score"]))  # first of the ties, as the search
        check(float(best["score"]) == c["in_sample_best"]["score"] and best["config"] == c["in_sample_best"]["config"],
              f"scores.csv: best of {c['category']} {best['config']} {best['score']} != search.json's")
        paper = next(r for r in mine if r["config"] == "L3,4,6,7_Wpaper_Tall_otsu_s2.5_code")
        check(float(paper["score"]) == c["paper_default"], f"scores.csv: paper default of {c['category']}")
    T = info["T"]
    for r in scores:
        if r["window"] == "paper":
            check((int(r["window_begin"]), int(r["window_end"])) == (T // 2 - 10 * T // 100, T // 2 + 10 * T // 100),
                  f"scores.csv: paper window of {r['config']}")
        else:
            check(r["window"] == f"{r['window_begin']}:{r['window_end']}", f"scores.csv: window of {r['config']}")
    print(f"scores.csv: {len(scores)} rows agree with search.json")
    return scores, info


def check_search(data_csv, scores, info, category, where):
    drawn = rows(data_csv)
    check(drawn, f"{data_csv}: nothing drawn")
    factor = 100.0 if info["metric"] in ("mIoU", "AUC-ROC") else 1.0
    mine = [r for r in scores if r["category"] == category and all(r[k] == v for k, v in where)]
    for d in drawn:
        if d["panel"] == "best per layers":
            cand = [num(r["score"]) for r in mine if r["layers"] == d["layers"]]
        else:
            cand = [num(r["score"]) for r in mine if r["layers"] == d["layers"]
                    and (r["window_begin"], r["window_end"]) == (d["window_begin"], d["window_end"])]
            check(d["panel"] == f"length {int(d['window_end']) - int(d['window_begin'])}", f"{data_csv}: panel {d}")
        cand = [c for c in cand if not math.isnan(c)]
        check(cand and float(d["value"]) == max(cand) * factor, f"{data_csv}: {d} is not the max of {cand} x {factor}")
    # The windows drawn are every (layers, window) of the CSV.
    want = {(r["layers"], r["window_begin"], r["window_end"]) for r in mine if not math.isnan(num(r["score"]))}
    got = {(d["layers"], d["window_begin"], d["window_end"]) for d in drawn if d["panel"] != "best per layers"}
    check(got == want, f"{data_csv}: drew {len(got)} windows, the CSV has {len(want)}")
    if not where and category != "Average":
        c = next(c for c in info["categories"] if c["category"] == category)
        top = max(float(d["value"]) for d in drawn if d["panel"] == "best per layers")
        check(top == c["in_sample_best"]["score"] * factor, f"{data_csv}: best {top} != search.json's")
    print(f"{data_csv.name}: {len(drawn)} values equal scores.csv")


def check_overlays(data_csv, analysis, run):
    drawn = rows(data_csv)
    check(drawn, f"{data_csv}: nothing drawn")
    index = h5py.File(run / "cache" / "index.h5", "r")
    seen = set()
    for d in drawn:
        pair, src = int(d["pair"]), Path(d["source"])
        with h5py.File(src, "r") as f:
            T = int(f.attrs["T"])
            g = f[f"pairs/{pair}"]
            hm = g["heatmap"][()]
            box = g["boxes"][()][int(d["box"])]
            scored = int(g["box_scored"][()][int(d["box"])])
            h512 = g["heatmap_512"][()]
            img_shape = g["image"].shape
        fin = hm[np.isfinite(hm)]
        check(int(d["heatmap_pixels"]) == fin.size and num(d["heatmap_min"]) == float(fin.min())
              and num(d["heatmap_max"]) == float(fin.max()) and close(num(d["heatmap_mean"]), float(fin.mean(dtype=np.float64))),
              f"{data_csv}: heatmap of pair {pair} drawn differs from {src}")
        check(0.0 <= fin.min() and fin.max() <= 1.0 and fin.max() == np.nanmax(h512), f"{src}: pair {pair} heatmap range")
        check((int(d["image_height"]), int(d["image_width"])) == img_shape, f"{data_csv}: image size of pair {pair}")
        # Boxes and size against the sweep's own record (the attention cache).
        c = index[f"pairs/T{T}/{pair}"]
        check((int(d["image_width"]), int(d["image_height"])) == (int(c.attrs["image_width"]), int(c.attrs["image_height"])),
              f"{data_csv}: pair {pair} image size != the cache's")
        want_box = c["boxes"][()][int(d["box"])]
        got_box = [float(d[k]) for k in ("x", "y", "w", "h")]
        check(np.array_equal(got_box, want_box) and np.array_equal(got_box, box),
              f"{data_csv}: pair {pair} box {d['box']} drawn at {got_box}, the cache has {list(want_box)}")
        check(int(d["scored"]) == scored, f"{data_csv}: pair {pair} box {d['box']} scored flag")
        # Prompt and metrics against analyze's pairs.csv of the same config.
        row = next(r for r in rows(analysis / f"T{T}" / d["config"] / "pairs.csv") if int(r["pair"]) == pair)
        check(row["prompt"] == d["prompt"] and row["category"] == d["category"], f"{data_csv}: pair {pair} text")
        check(float(row["miou"]) == float(d["miou"]) and float(row["cnr_abs"]) == float(d["abs_cnr"]),
              f"{data_csv}: pair {pair} metrics {d['miou']} {d['abs_cnr']} != pairs.csv {row['miou']} {row['cnr_abs']}")
        seen.add((d["config"], pair))
    print(f"{data_csv.name}: {len(seen)} panels, {len(drawn)} boxes equal heatmaps.h5, pairs.csv and the cache")
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--analysis", type=Path, required=True)
    ap.add_argument("--search", type=Path, required=True)
    ap.add_argument("--figs", type=Path, required=True)
    ap.add_argument("--category", required=True, help="the pathology of search_category.png (drawn with otsu=on)")
    a = ap.parse_args()
    for png in ("categories", "categories_ci", "table3", "search", "search_category", "overlays", "overlays_configs"):
        check_png(a.figs / f"{png}.png")
    check_categories(a.figs / "categories.csv")
    check_categories(a.figs / "categories_ci.csv", "ci95")
    check_categories(a.figs / "table3.csv", "std", a.analysis / "tables.csv")
    scores, info = check_scores(a.search)
    check_search(a.figs / "search.csv", scores, info, "Average", [])
    check_search(a.figs / "search_category.csv", scores, info, a.category, [("otsu", "on")])
    one = check_overlays(a.figs / "overlays.csv", a.analysis, a.run)
    check(len(one) == 3, f"overlays.csv: {len(one)} panels, expected the 3 pairs of --heatmaps")
    order = list(dict.fromkeys(int(r["pair"]) for r in rows(a.figs / "overlays.csv")))
    check(order == [3, 0, 1], f"overlays.csv: pairs drawn in the order {order}, not --heatmaps 3,0,1's")
    two = check_overlays(a.figs / "overlays_configs.csv", a.analysis, a.run)
    check(len(two) == 4, f"overlays_configs.csv: {len(two)} panels, expected 2 configs x 2 pairs")
    for e in errors:
        print("FAIL:", e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
