"""Benchmark: ``rad3d report --claims`` on a real-size claims file, every notebook.

Runs the command as a user would (``rad3d report --claims FILE``: the policy brief,
the LCD screen, the revenue impact, the Medicare page and one scorecard per practice),
in a fresh process, and records its wall time, the number of pages, and the peak
memory of the whole process tree: the largest sum of resident memory of the command,
its notebook workers and their kernels, sampled every 0.1 s.

Usage::

    .venv/bin/python benchmarks/bench_report_claims.py [--lines 10000000] [--record]

Inputs are cached in ``$RAD3D_BENCH_DATA`` (default ``/tmp/rad3d_bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scale_common import machine, machine_lines, run_child, synthetic_parquet, write_section  # noqa: E402

CHILD = r"""
import json, sys, time
from pathlib import Path
from analysis.cli import main
t = time.perf_counter()
code = main(["report", "--claims", sys.argv[1], "--out", sys.argv[2], "--workers",
             sys.argv[3], "--no-progress"])
out = Path(sys.argv[2])
manifest = json.loads((out / "manifest.json").read_text())
print(json.dumps({"seconds": round(time.perf_counter() - t, 1), "exit": code,
                  "pages": len(list(out.rglob("*.html"))), "jobs": len(manifest["jobs"]),
                  "failures": len(manifest["failures"])}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--file", type=Path, help="a claims file instead of the synthetic one")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    path = args.file or synthetic_parquet(args.lines)
    m = machine()
    with tempfile.TemporaryDirectory(prefix="rad3d-report-bench-") as tmp:
        r = run_child(CHILD, str(path), str(Path(tmp) / "reports" / "latest"),
                      str(args.workers), timeout=5400)
    print(json.dumps(r), file=sys.stderr, flush=True)
    lines = [
        "## `rad3d report --claims` on a real-size file (`bench_report_claims.py`)",
        "",
        *machine_lines(m, " / ".join(f"{x:.2f}" for x in os.getloadavg())),
        f"- File: `{path.name}`; `rad3d report --claims FILE --workers {args.workers}`, "
        "every notebook (brief, LCD screen, revenue impact, Medicare, one scorecard per "
        "practice), in a fresh process, the input cache empty; peak memory = the largest "
        "sum of resident memory of the command, its workers and their kernels, sampled "
        "every 0.1 s.",
        "",
        "| wall time (s) | notebooks run (failed) | pages (HTML) "
        "| peak memory, all processes (MB) | exit |",
        "|---:|---:|---:|---:|---|",
        (f"| {r['seconds']:.1f} | {r['jobs']} ({r['failures']}) | {r['pages']} "
         f"| {r['tree_peak_mb']:,} | {r['exit']} |"
         if "error" not in r else f"| - | - | - | - | failed: {r['error']} |"),
    ]
    if args.record:
        write_section("bench_report_claims", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
