#!/usr/bin/env python3
"""Compare two summary.json files, ignoring how-it-was-made fields that differ
between runs by design (times, host, job ids, restarts). Exit 1 on a difference."""
import json
import sys

# Keys whose values describe the run, not the result (STYLE.md point 10).
VOLATILE = {"provenance", "run_info", "started", "finished", "start_time", "end_time", "start", "end",
            "time", "created", "host", "hostname", "pid", "seconds", "wall_seconds", "elapsed",
            "slurm", "job_id", "restarts", "argv", "command", "run_dir"}


def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in VOLATILE}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


a, b = (strip(json.load(open(p))) for p in sys.argv[1:3])
if a != b:
    for k in sorted(set(a) | set(b) if isinstance(a, dict) and isinstance(b, dict) else []):
        if a.get(k) != b.get(k):
            print(f"{sys.argv[1]} vs {sys.argv[2]}: '{k}': {a.get(k)!r} != {b.get(k)!r}")
    sys.exit(1)
