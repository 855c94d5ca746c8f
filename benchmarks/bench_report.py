"""Benchmark: ``make report`` — the whole report suite on the bundled sample.

Runs ``rad3d report`` as ``make report`` does (base case, every notebook, one scorecard
per practice) into a temporary folder, from a cold shared-input cache (claims loaded,
validated, linked and summarized inside the timing) and then again with ``--resume``
(everything reused), and records the wall times. Then ``--repeat N`` rounds, round robin
(medians shown): ``make report`` again from a cold input cache (the first round's is the
run above), the same batch from a warm input cache, with ``--fresh`` the batch with a
fresh kernel per notebook (``RAD3D_FRESH_KERNELS=1``, as papermill does by default), and
a naive sequential loop of ``papermill.execute_notebook`` over the same notebooks and
parameters (the same prepared shared inputs; one kernel per notebook, one at a time, no
HTML export).

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
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RAD3D = Path(sys.executable).with_name("rad3d")


def _run(args: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(RAD3D), "report", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, env=None if env is None else {**os.environ, **env})
    return time.perf_counter() - t0


NAIVE = r"""
import sys, tempfile, time
from pathlib import Path
import papermill as pm
from analysis.report.parameters import KERNEL_NAME, notebook_parameters
from analysis.run.inputs import prepare_inputs
from analysis.run.jobs import find_notebooks, plan_jobs
from analysis.paths import PARAMS_DIR
from analysis.run.scenarios import load_scenario
cache = sys.argv[1]
scenario = load_scenario(PARAMS_DIR / "base.yaml")
notebooks = find_notebooks(Path("notebooks"), None)
declared = {n: notebook_parameters(p) for n, p in notebooks.items()}
inputs = prepare_inputs(None, cache_dir=cache)
jobs = plan_jobs([scenario], notebooks, declared, inputs_for=lambda s: inputs,
                 practices="all")
t = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    for i, job in enumerate(jobs):
        out = Path(tmp) / str(i)
        out.mkdir()
        pm.execute_notebook(job.notebook_path, str(out / "run.ipynb"),
                            parameters={**job.parameters, "output_dir": str(out)},
                            kernel_name=KERNEL_NAME, progress_bar=False, cwd=str(out))
print(len(jobs), time.perf_counter() - t)
"""


def _naive(cache: Path) -> tuple[int, float]:
    """A plain sequential papermill loop over the batch's jobs (inputs prepared first,
    outside the timing)."""
    out = subprocess.run([sys.executable, "-c", NAIVE, str(cache)], check=True, cwd=ROOT,
                         capture_output=True, text=True)
    n, seconds = out.stdout.split()[-2:]
    return int(n), float(seconds)


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
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of the cold batch (make report), the warm batch and the "
                        "naive loop (round robin; medians shown)")
    parser.add_argument("--fresh", action="store_true",
                        help="add the batch with a fresh kernel per notebook to each round")
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
        # read now: the rounds below run into the same folder and rewrite its manifest
        again = json.loads((out / "manifest.json").read_text())["jobs"]
        # round robin: make report again from a cold input cache, the batch as shipped
        # (warm kernels) from a warm input cache, optionally with a fresh kernel per
        # notebook, and the naive papermill loop
        rounds: dict[str, list[float]] = {"cold": [cold], "warm": [], "fresh": [],
                                          "naive": []}
        n_naive = 0
        for i in range(args.repeat):
            if i:
                cache = Path(tmp) / f"cache-{i}"
                rounds["cold"].append(_run([*common, "--cache", str(cache)]))
                shutil.rmtree(cache)
            rounds["warm"].append(_run(common))
            if args.fresh:
                rounds["fresh"].append(_run(common, {"RAD3D_FRESH_KERNELS": "1"}))
            n_naive, seconds = _naive(out.parent / ".rad3d-cache")
            rounds["naive"].append(seconds)
        load_end = os.getloadavg()[0]
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
        f"| full run, cold input cache (`make report`), median of {len(rounds['cold'])} "
        f"({', '.join(f'{x:.1f}' for x in rounds['cold'])}) | "
        f"{statistics.median(rounds['cold']):.1f} |",
        f"| `--resume` right after ({n_reused} of {len(again)} runs reused) | {resumed:.1f} |",
        "",
        f"Execution strategies, {args.repeat} round(s) each (round robin, input cache "
        "warm; median, all runs in brackets):",
        "",
        "| run | notebooks | wall time (s) | x naive loop |",
        "|---|---:|---:|---:|",
        *(f"| {label} | {n} | {statistics.median(rounds[k]):.1f} "
          f"({', '.join(f'{x:.1f}' for x in rounds[k])}) | "
          f"{statistics.median(rounds[k]) / statistics.median(rounds['naive']):.2f} |"
          for k, label, n in (
              ("cold", "`make report`: the same from a cold input cache (claims loaded, "
               "checked, linked and summarized inside the timing)", len(jobs)),
              ("warm", f"`rad3d report --workers {args.workers}` (one warm kernel per "
               "worker; with HTML export and the privacy gate)", len(jobs)),
              ("fresh", "the same with `RAD3D_FRESH_KERNELS=1` (a kernel per notebook)",
               len(jobs)),
              ("naive", "naive loop: `papermill.execute_notebook` per job, one at a time, "
               "no export", n_naive)) if rounds[k]),
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
