#!/usr/bin/env python3
"""check_layers.py SRC: the module include graph of src/ has no cycle, and the
three parts of the tool keep their order (pipeline <- cache <- sweep <-
analysis <- report <- cli): no module includes a header of a module above it.
Prints the graph, and each offending #include with file:line."""
import os
import re
import sys
from collections import defaultdict

src = sys.argv[1]
# Lower index = lower layer. Modules of one layer may not include each other
# in a cycle (checked separately); a module may include any lower layer.
ORDER = ["core", "io", "text", "model", "data", "metrics", "grounding", "diffusion", "viz", "demo",
         "pipeline", "cache", "sweep", "analysis", "report", "cli"]
PARTS = ["pipeline", "cache", "sweep", "analysis", "report", "cli"]
include = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
edges, where = defaultdict(set), {}
modules = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
unknown = [m for m in modules if m not in ORDER]
if unknown:
    sys.exit(f"FAIL: modules {unknown} have no place in ORDER (tests/build/check_layers.py): add them")
for m in modules:
    for root, _, files in os.walk(os.path.join(src, m)):
        for f in files:
            if not f.endswith((".h", ".cpp")):
                continue
            path = os.path.join(root, f)
            for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                hit = include.match(line)
                if hit and hit.group(1) in modules and hit.group(1) != m:
                    edges[m].add(hit.group(1))
                    where.setdefault((m, hit.group(1)), f"{path}:{n}")

bad = []
for m, deps in edges.items():
    for d in deps:
        if m in PARTS and d in PARTS and PARTS.index(d) > PARTS.index(m):
            bad.append(f"{where[(m, d)]}: {m} includes {d}, a part above it")
        elif m not in PARTS and d in PARTS:
            bad.append(f"{where[(m, d)]}: method module {m} includes {d}")

# Cycles: depth-first search over the module graph.
state, stack = {}, []
def visit(m):
    state[m] = "open"
    stack.append(m)
    for d in sorted(edges[m]):
        if state.get(d) == "open":
            cyc = stack[stack.index(d):] + [d]
            bad.append("cycle: " + " -> ".join(cyc) + f" (e.g. {where[(m, d)]})")
        elif d not in state:
            visit(d)
    stack.pop()
    state[m] = "done"
for m in modules:
    if m not in state:
        visit(m)

for m in modules:
    print(f"{m:10s} -> {', '.join(sorted(edges[m])) or '-'}")
if bad:
    print("\n".join("FAIL: " + b for b in bad))
    sys.exit(1)
print(f"ok: {len(modules)} modules, no cycle, parts in order {' <- '.join(PARTS)}")
