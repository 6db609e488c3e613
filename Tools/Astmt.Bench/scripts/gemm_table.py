#!/usr/bin/env python3
"""Merge `Astmt.Bench gemm --json` files (same suite, different thread counts / clocks) into one markdown table.

Usage: gemm_table.py LABEL=FILE.json [LABEL=FILE.json ...]
Each column group shows ours ms, OpenBLAS ms and the ratio (OpenBLAS ms / ours; above 1 means we are faster).
"""
import json
import math
import sys


def main(args):
    runs = []
    for arg in args:
        label, _, path = arg.partition("=")
        with open(path) as f:
            runs.append((label, json.load(f)))
    if not runs:
        sys.exit(__doc__)
    header = ["shape", "form", "M", "N", "K"]
    for label, _ in runs:
        header += [f"{label} ours ms", f"{label} OpenBLAS ms", f"{label} ratio"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    rows = runs[0][1]["results"]
    for i, row in enumerate(rows):
        cells = [row["shape"], row["form"], str(row["m"]), str(row["n"]), str(row["k"])]
        for _, data in runs:
            r = data["results"][i]
            ref = r.get("reference") or {}
            cells += [f'{r["ms"]:.3f}', f'{ref.get("ms", float("nan")):.3f}', f'{r.get("ratio", float("nan")):.2f}']
        print("| " + " | ".join(cells) + " |")
    for label, data in runs:
        ratios = [r["ratio"] for r in data["results"] if r.get("ratio")]
        geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios)) if ratios else float("nan")
        print(f"\n{label}: threads {data['threads']}, clock {data.get('clock', 'Wall')}, geometric-mean ratio {geo:.2f}, "
              f"min ratio {min(ratios):.2f}, FMA peak {data['peak_gflop_per_s']:.0f} GFLOP/s, peak RSS {data['peak_rss_mb']:.0f} MB, "
              f"GC during timed runs {data['gc_count']}")


if __name__ == "__main__":
    main(sys.argv[1:])
