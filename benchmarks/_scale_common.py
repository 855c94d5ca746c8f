"""Shared helpers of the scale benchmarks (bench_summarize, bench_scaling,
bench_screen_psa): synthetic inputs, child-process runs with peak memory, machine
facts, and writing one section of RESULTS.md."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from analysis import synth

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("RAD3D_BENCH_DATA", "/tmp/rad3d_bench"))


def synthetic_parquet(n_lines: int, *, n_practices: int | None = None, seed: int = 8) -> Path:
    """A synthetic claims Parquet of about ``n_lines`` lines (cached by size and seed).

    Practices are full-size (about 120,000 lines a year each, as in the bundled
    generator at scale 1), so more lines means more practices.
    """
    n_practices = n_practices or max(8, round(n_lines / 120_000))
    path = DATA / f"claims_{n_lines // 1_000_000}M_p{n_practices}_s{seed}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    scale = synth.scale_for_lines(n_lines, n_practices, rng=np.random.default_rng(seed))
    t = time.perf_counter()
    synth.write_synthetic(path, n_practices, rng=np.random.default_rng(seed), scale=scale)
    print(f"  wrote {path} in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    return path


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux ru_maxrss is in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tree_rss_mb(proc) -> float:
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def run_child(code: str, *args: str, timeout: float = 1800) -> dict:
    """Run ``python -c code args`` in a fresh process; its last stdout line is JSON.

    Adds ``tree_peak_mb``: the largest sum of resident memory of the child and all its
    descendants (worker processes), sampled every 0.1 s.
    """
    import psutil

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=err,
                                text=True, cwd=HERE.parent)
        ps = psutil.Process(proc.pid)
        peak, start = 0.0, time.monotonic()
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mb(ps))
            if time.monotonic() - start > timeout:
                proc.kill()
            time.sleep(0.1)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        return {"error": (stderr or stdout or "no output").strip().splitlines()[-1][:300]}
    last = [line for line in stdout.splitlines() if line.startswith("{")]
    if not last:
        return {"error": "no result line: " + stdout.strip()[-300:]}
    result = json.loads(last[-1][last[-1].index("{"):])
    result["tree_peak_mb"] = round(peak)
    return result


def cpu_model(unknown: str = "unknown") -> str:
    """The CPU model name from /proc/cpuinfo (``unknown`` where it cannot be read)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return unknown


def total_ram_gb() -> float:
    """Physical memory of the machine in GB (2**30 bytes)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def machine() -> dict:
    import dask
    import duckdb
    import pandas
    import pyarrow

    return dict(
        date=dt.date.today().isoformat(), system=f"{platform.system()} {platform.machine()}",
        cpu=cpu_model(), nproc=os.cpu_count(), ram_gb=round(total_ram_gb(), 1),
        load=" / ".join(f"{x:.2f}" for x in os.getloadavg()),
        versions=(f"python {platform.python_version()}, pandas {pandas.__version__}, "
                  f"pyarrow {pyarrow.__version__}, numpy {np.__version__}, "
                  f"dask {dask.__version__}, duckdb {duckdb.__version__}"),
    )


def machine_lines(m: dict, load_after: str | None = None) -> list[str]:
    load = f"load average (1/5/15 min) at start {m['load']}"
    if load_after:
        load += f", at end {load_after}"
    return [
        f"- Date: {m['date']}; machine: {m['system']}, {m['cpu']}, {m['nproc']} cores, "
        f"{m['ram_gb']} GB RAM; {load} (the machine was shared with other work, so "
        "times are indicative).",
        f"- Versions: {m['versions']}.",
    ]


def write_section(name: str, lines: list[str]) -> None:
    """Replace (or append) the ``name`` section of RESULTS.md, leaving the others."""
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = "\n".join([start, *lines, end])
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
