"""Shared code of the analysis/ figures: finding and reading ldmground's
outputs (summary.json, tables.csv, search's scores.csv and search.json,
analyze's heatmaps.h5), the metric names and units of the paper's tables,
labels, and writing the figure and the values it plots (--data-out).

The figure scripts only draw: every number comes from a file the C++ code
wrote (heatmaps included: `ldmground analyze --heatmaps`), and each script
can write back the numbers it drew, read from the matplotlib artists, as CSV.
"""
import argparse
import csv
import json
import math
import os
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402  (after the backend choice)

# key -> (axis label, factor from the file's value to the plotted one). mIoU
# and AUC-ROC are shown in % as in the paper's tables.
METRICS = {
    "miou": ("mIoU (%)", 100.0),
    "abs_cnr": ("|CNR|", 1.0),
    "cnr": ("CNR", 1.0),
    "auroc": ("AUC-ROC (%)", 100.0),
    "auroc_exact": ("AUC-ROC, exact (%)", 100.0),
}
# search.json / scores.csv spell the metric as shown; the keys above.
SEARCH_METRIC_KEYS = {"mIoU": "miou", "|CNR|": "abs_cnr", "CNR": "cnr", "AUC-ROC": "auroc"}
AVERAGE = "Avg"  # the Table I row and the summaries' "average"


class InputError(Exception):
    """A file or folder that is not what the script expects; printed without a traceback."""


def common_arguments(parser):
    parser.add_argument("--out", required=True, help="the PNG to write")
    parser.add_argument("--data-out", help="also write the plotted values (read back from the figure) as CSV here")
    parser.add_argument("--title", help="figure title (default: made from the inputs)")
    parser.add_argument("--dpi", type=int, default=150, help="resolution of the PNG (default: %(default)s)")


def main(run):
    """Runs `run()`; an InputError or a missing file exits with status 2 and one line."""
    try:
        run()
    except (InputError, FileNotFoundError, KeyError, ValueError) as e:
        print(f"{Path(sys.argv[0]).name}: error: {e}", file=sys.stderr)
        sys.exit(2)


def metric_list(text):
    keys = [k.strip() for k in text.split(",") if k.strip()]
    for k in keys:
        if k not in METRICS:
            raise argparse.ArgumentTypeError(f"unknown metric '{k}' (expected {', '.join(METRICS)})")
    if not keys:
        raise argparse.ArgumentTypeError("no metric given")
    return keys


def find_files(paths, name):
    """Each path: the file itself when it is `name`, or every `name` below a folder (sorted)."""
    found = []
    for p in map(Path, paths):
        if p.is_file():
            if p.name != name:
                raise InputError(f"'{p}' is not a {name}")
            found.append(p)
        elif p.is_dir():
            below = sorted(p.rglob(name))
            if not below:
                raise InputError(f"no {name} below '{p}'")
            found.extend(below)
        else:
            raise InputError(f"'{p}' does not exist")
    return found


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(row for row in f if not row.startswith("#")))


def number(text):
    return float("nan") if text in ("", "nan", "null", None) else float(text)


def summary_identity(path, summary):
    """(T, config name) of a summary.json: its provenance, else its folders (T<T>/<config>/summary.json)."""
    prov = summary.get("provenance", {})
    config = prov.get("heatmap_config") or path.parent.name
    T = prov.get("T")
    if T is None and path.parent.parent.name.startswith("T"):
        T = int(path.parent.parent.name[1:])
    return T, config


ALL_LAYERS = ",".join(map(str, range(11)))


def describe_part(part):
    """One '_'-separated part of a config name (pipeline::HeatmapConfig::name) in words."""
    if part in ("otsu", "nootsu"):
        return "Otsu" if part == "otsu" else "no Otsu"
    if part in ("code", "paper"):
        return f"order {part}"
    head, rest = part[:1], part[1:]
    if head == "L":
        return "layers " + ("all" if rest == ALL_LAYERS else rest)
    if head == "W":
        return "steps " + rest.replace("-", ":")
    if head == "T":
        return "tokens " + rest
    if head == "s":
        return "σ " + rest
    return part


CONFIG_TEXT = re.compile(r"^(?:T=\d+ )?(?P<name>L[^ ]+)(?P<note> .*)?$")  # tables.csv blocks: "T=20 NAME (note)"


def config_labels(names):
    """Legend labels for config names ("L3,4,6,7_Wpaper_Tall_otsu_s2.5_code", or tables.csv's block
    "T=20 NAME (note)") in words, keeping only what differs between them, and the note."""
    parsed = [CONFIG_TEXT.match(n) for n in names]
    if not all(parsed) or any(len(m["name"].split("_")) != 6 for m in parsed):
        return list(names)
    parts = [m["name"].split("_") for m in parsed]
    keep = [i for i in range(6) if len({p[i] for p in parts}) > 1] or list(range(6))
    return [", ".join(describe_part(p[i]) for i in keep) + (m["note"] or "") for p, m in zip(parts, parsed)]


def finite(x):
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def write_data(path, header, rows):
    """The plotted values as CSV (floats with repr: round-trip exact)."""
    if not path:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow([repr(v) if isinstance(v, float) else v for v in r])
    print(f"wrote {path}")


def save(fig, path, dpi):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    print(f"wrote {path}")
