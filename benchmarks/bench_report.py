"""Benchmark: ``make report`` — the whole report suite on the bundled sample.

Runs ``rad3d report`` as ``make report`` does (base case, every notebook, one scorecard
per practice) into a temporary folder, from a cold shared-input cache (claims loaded,
validated, linked and summarized inside the timing) and then again with ``--resume``
(everything reused), and records the wall times.

Usage::

    .venv/bin/python benchmarks/bench_report.py              # print the results
    .venv/bin/python benchmarks/bench_report.py --record     # and update RESULTS.md

``--record`` rewrites only the ``bench_report`` section of ``benchmarks/RESULTS.md``.
The machine may be shared: the script first waits (up to ``--wait`` seconds) for the
1-minute load average to drop below ``--max-load`` and records the load averages
seen before and after each run, so a reader can tell a clean timing from a busy one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RAD3D = Path(sys.executable).with_name("rad3d")


def _run(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(RAD3D), "report", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _source_hash() -> str:
    """The package-source hash in the resume key (an edit re-runs every notebook)."""
    out = subprocess.run([sys.executable, "-c", "from analysis.run import provenance; "
                          "print(provenance.source_hash())"], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return out.stdout.strip()


def _wait_for_quiet(max_load: float, wait_s: float) -> float:
    """Wait until the 1-minute load average is below ``max_load`` (or time runs out)."""
    deadline = time.monotonic() + wait_s
    while os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        time.sleep(10)
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--max-load", type=float, default=2.0,
                        help="start when the 1-minute load average is below this")
    parser.add_argument("--wait", type=float, default=600,
                        help="seconds to wait for a quiet machine before starting anyway")
    args = parser.parse_args(argv)
    load_start = _wait_for_quiet(args.max_load, args.wait)
    with tempfile.TemporaryDirectory(prefix="bench_report-") as tmp:
        out = Path(tmp) / "reports" / "latest"
        common = ["--out", str(out), "--workers", str(args.workers), "--no-progress"]
        source_before = _source_hash()
        cold = _run(common)
        load_cold = os.getloadavg()[0]
        source_changed = _source_hash() != source_before
        manifest = json.loads((out / "manifest.json").read_text())
        resumed = _run([*common, "--resume"])
        load_end = os.getloadavg()[0]
        again = json.loads((out / "manifest.json").read_text())["jobs"]
        n_reused = sum(j["status"] == "reused" for j in again)
        jobs = manifest["jobs"]
        per_notebook: dict[str, list[float]] = {}
        for job in jobs:
            per_notebook.setdefault(job["notebook"], []).append(job["seconds"])
        size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
        failed = [j["rel_dir"] for j in jobs if j["status"] == "failed"]
    cores = os.cpu_count()
    lines = [
        "## `make report` on the bundled sample (`bench_report.py`)",
        "",
        f"- Date: {dt.date.today().isoformat()}; machine: {platform.system()} "
        f"{platform.machine()}, {cores} cores; 1-minute load average {load_start:.2f} at "
        f"the start, {load_cold:.2f} after the full run, {load_end:.2f} at the end (the "
        "report's own 2 workers account for up to about 2).",
        f"- Versions: python {platform.python_version()}, papermill {version('papermill')}, "
        f"nbconvert {version('nbconvert')}, pandas {version('pandas')}.",
        f"- Run: `rad3d report --out DIR --workers {args.workers}` (base case, "
        f"{len(jobs)} notebook runs: brief, screen, impact"
        + (", Medicare benchmark" if "medicare_benchmark" in per_notebook else "")
        + f", {len(per_notebook.get('practice_scorecard', []))} practice scorecards), "
        "cold input cache; then the same with `--resume`.",
        "",
        "A resumed run reuses a notebook's outputs only when its resume key (notebook, "
        "parameters, input hashes and the package source) is unchanged; an edit to "
        "`analysis/` between the two runs re-runs everything.",
        "",
        "| run | wall time (s) |",
        "|---|---:|",
        f"| full run, cold cache (`make report`) | {cold:.1f} |",
        f"| `--resume` right after ({n_reused} of {len(again)} runs reused) | {resumed:.1f} |",
        "",
        "| notebook | runs | mean time per run (s), incl. kernel start and HTML export |",
        "|---|---:|---:|",
        *(f"| {name} | {len(times)} | {sum(times) / len(times):.1f} |"
          for name, times in per_notebook.items()),
        "",
        f"- Report folder: {size_mb:.1f} MB; failed runs: {', '.join(failed) or 'none'}.",
        *(["- The package source changed while the full run ran (an edit under "
           "`analysis/`), so `--resume` could not reuse the runs: repeat on a quiet "
           "checkout."] if source_changed else []),
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        path = HERE / "RESULTS.md"
        current = path.read_text() if path.exists() else (
            "# Benchmark results\n\nRecorded by the scripts in `benchmarks/`; each section "
            "says how it was made.\n")
        section = f"<!-- bench_report:start -->\n{text}\n<!-- bench_report:end -->"
        pattern = re.compile(r"<!-- bench_report:start -->.*?<!-- bench_report:end -->", re.S)
        new = (pattern.sub(section, current) if pattern.search(current)
               else current.rstrip("\n") + "\n\n" + section + "\n")
        path.write_text(new)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
