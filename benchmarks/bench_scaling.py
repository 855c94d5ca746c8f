"""Benchmark: scaling of the streaming summary with the number of claim lines.

Runs :func:`analysis.scale.summarize_files` (``engine="stream"``) in a fresh process
on synthetic Parquet files of 1, 10 and 50 million lines (full-size practices, so
more lines = more practices) and records wall time and peak memory: time per million
lines should stay about flat and memory bounded (one batch while checking, DuckDB's
memory limit while linking; not the file).

Usage::

    .venv/bin/python benchmarks/bench_scaling.py [--sizes 1 10 50] [--workers auto] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scale_common import machine, machine_lines, run_child, synthetic_parquet, write_section  # noqa: E402

CHILD = r"""
import json, sys, time, resource
from analysis.scale import summarize_files
t = time.perf_counter()
workers = None if sys.argv[3] == "auto" else int(sys.argv[3])
r = summarize_files(sys.argv[1], engine=sys.argv[2], workers=workers)
print(json.dumps({"seconds": round(time.perf_counter() - t, 1),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "lines": r.report.rows_read, "buckets": r.report.n_buckets,
                  "largest": r.report.largest_bucket_rows, "ok": r.report.reconciles}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50],
                        help="millions of lines")
    parser.add_argument("--engine", default="stream")
    parser.add_argument("--workers", default="auto",
                        help="check processes: a number, or auto (the default engine's own "
                        "choice: one per core, at most one per piece, at most 4)")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    m = machine()
    rows = []
    for size in args.sizes:
        path = synthetic_parquet(size * 1_000_000)
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        r = run_child(CHILD, str(path), args.engine, args.workers) | {"load": load}
        print(size, json.dumps(r), file=sys.stderr, flush=True)
        rows.append((size, r))
    lines = [
        f"## Scaling of the `{args.engine}` summary (`bench_scaling.py`)",
        "",
        *machine_lines(m, " / ".join(f"{x:.2f}" for x in os.getloadavg())),
        f"- Each size in a fresh process, `workers={args.workers}`; wall time of the work "
        "(imports excluded); peak memory = the largest sum of resident memory of the "
        "process and its workers, sampled every 0.1 s. Synthetic files of full-size "
        "practices (more lines = more practices). DuckDB's memory limit: the default "
        "(1 GB).",
        "- Run: `.venv/bin/python benchmarks/bench_scaling.py --sizes "
        f"{' '.join(map(str, args.sizes))} --workers {args.workers} --engine {args.engine}`; "
        "the command `rad3d lcd FILE` runs the same summary.",
        "",
        "| lines | wall time (s) | s per M lines | x s per M lines at the smallest size "
        "| peak memory (MB) | load at start |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    first = None
    for size, r in rows:
        if "error" in r:
            lines.append(f"| {size} M | - | - | - | failed: {r['error']} | {r['load']} |")
            continue
        per_m = r["seconds"] / (r["lines"] / 1e6)
        first = per_m if first is None else first
        lines.append(f"| {r['lines']:,} | {r['seconds']:.1f} | {per_m:.2f} | "
                     f"{per_m / first:.2f} | {r['tree_peak_mb']:,} | {r['load']} |")
    if args.record:
        write_section("bench_scaling", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
