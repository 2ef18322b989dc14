#!/usr/bin/env python3
"""Prints a Markdown table of criterion's last measured means for the given benchmark groups,
with each entry's ratio to a reference entry of the same group (default: the bare free list).

  cargo bench -p detalloc --features critical-section --bench compare
  python3 scripts/criterion-table.py pair64 live64_lifo live64_fifo mixed

Reads target/criterion/<group>/<bench>/new/{estimates,benchmark}.json. Throughput groups are
reported per element (per operation)."""
import json, os, sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "target", "criterion")
REFERENCE = os.environ.get("REFERENCE", "bare free list")


def load(group):
    rows = []
    gdir = os.path.join(ROOT, group)
    for bench in sorted(os.listdir(gdir)):
        new = os.path.join(gdir, bench, "new")
        if not os.path.isfile(os.path.join(new, "estimates.json")):
            continue
        est = json.load(open(os.path.join(new, "estimates.json")))
        meta = json.load(open(os.path.join(new, "benchmark.json")))
        ns = est["mean"]["point_estimate"]
        tp = meta.get("throughput") or {}
        per = tp.get("Elements") or 1
        rows.append((meta["function_id"], ns / per))
    return rows


def main(groups):
    for group in groups:
        rows = load(group)
        refname = REFERENCE if REFERENCE in dict(rows) else "std System"
        ref = dict(rows).get(refname)
        print(f"\n{group} (ns per {'operation' if group != 'pair64' else 'pair'}; ratio to {refname})\n")
        print("| allocator | ns | ratio |")
        print("|---|---:|---:|")
        for name, ns in sorted(rows, key=lambda r: r[1]):
            ratio = f"{ns / ref:.2f}x" if ref else "-"
            print(f"| {name} | {ns:.2f} | {ratio} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["pair64", "live64_lifo", "live64_fifo", "mixed"])
