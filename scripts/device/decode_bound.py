#!/usr/bin/env python3
"""Decode tokens/s beside the bandwidth bound: the measured device-to-device copy bandwidth (gemv.json) over the
weight bytes each token streams (the bench table's 'weight MB/token'), for each row of decode.log's tables.

usage: decode_bound.py GEMV_JSON DECODE_LOG
"""
import json
import sys


def main():
    try:
        bw = json.load(open(sys.argv[1])).get("copy_GBps")
    except (OSError, ValueError):
        bw = None
    rows = []
    for line in open(sys.argv[2]):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 9 and cells[0].startswith("synthetic"):
            rows.append(cells)
    if not rows:
        print("decode bound: no decode rows")
        return
    print(f"Decode against the bandwidth bound (copy bandwidth {bw and round(bw, 1)} GB/s read + written, from gemv.json):\n")
    print("| model | type | weight MiB/token | decode tok/s | bound tok/s | % of bound |")
    print("|---|---|---:|---:|---:|---:|")
    for c in rows:
        try:
            mb, tps = float(c[4]), float(c[6])  # the table's MB are MiB
        except ValueError:
            continue
        bound = bw and bw * 1e9 / (mb * 1048576)
        print(f"| {c[0]} | {c[1]} | {mb:.1f} | {tps:.1f} | {'n/a' if not bound else f'{bound:.1f}'} | "
              f"{'n/a' if not bound else f'{100 * tps / bound:.0f}%'} |")


if __name__ == "__main__":
    main()
