"""Benchmark: start-up time of the ``rad3d`` command line.

Times ``rad3d --help``, ``rad3d fees --help`` and ``rad3d fees --code 76377 --state NC
--year 2025`` as whole processes (a warm-up, then several runs; median, minimum and
maximum of the wall time, and the median CPU time of the process), and summarizes
``python -X importtime`` of ``rad3d --help``: the total import time, the heaviest
top-level imports and the third-party packages loaded. Target: ``rad3d --help`` within
1 s on this machine when it is idle; the load average is recorded beside the figures,
because the machine is shared.

Each command runs as ``python -m analysis.cli ...`` with this checkout first on
``PYTHONPATH``, so the code measured is the code beside this script, wherever the
package is installed (the ``rad3d`` console script imports the same ``analysis.cli``).

Usage::

    .venv/bin/python benchmarks/bench_cli.py                 # print the figures
    .venv/bin/python benchmarks/bench_cli.py --record        # and append them to RESULTS.md

``--record`` appends one row to the table of the ``bench_cli`` section of
``benchmarks/RESULTS.md`` (earlier rows stay: the table is a history) and replaces the
import summary under it.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scale_common import cpu_model, total_ram_gb, write_section  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTION = "bench_cli"
COMMANDS = {
    "--help": ["--help"],
    "fees --help": ["fees", "--help"],
    "fees NC 2025": ["fees", "--code", "76377", "--state", "NC", "--year", "2025"],
}


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "analysis.cli", *args]


def time_command(args: list[str], runs: int) -> dict[str, float]:
    """Wall and CPU seconds of ``rad3d ARGS`` as a whole process: one warm-up, ``runs`` timed."""
    walls, cpus = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(_cli(*args), env=_env(), cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:  # the first run warms the file cache
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls),
            "cpu": statistics.median(cpus)}


def _importtime_once(args: list[str]) -> list[tuple[int, str, int]]:
    """``(depth, module, cumulative microseconds)`` of each import ``rad3d ARGS`` makes."""
    done = subprocess.run([sys.executable, "-X", "importtime", *_cli(*args)[1:]],
                          env=_env(), cwd=ROOT, capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append((depth, name.strip(), int(cumulative)))
    return rows


def import_summary(args: list[str], runs: int) -> dict:
    """Median total import time and heaviest top-level imports of ``rad3d ARGS``."""
    totals, per_module = [], {}
    for _ in range(runs):
        top = [(name, us) for depth, name, us in _importtime_once(args) if depth == 0]
        totals.append(sum(us for _, us in top))
        for name, us in top:
            per_module.setdefault(name, []).append(us)
    heaviest = sorted(((statistics.median(v), k) for k, v in per_module.items()), reverse=True)
    return {"total_ms": statistics.median(totals) / 1000,
            "heaviest": [(name, us / 1000) for us, name in heaviest[:8]]}


# importtime also lists imports that failed (pickle probes for Jython's ``org``), so
# what is loaded is read from sys.modules after the command has run.
_LOADED = """
import sys
from analysis.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
names = {m.split(".")[0] for m in sys.modules} - set(sys.stdlib_module_names)
print(" ".join(sorted(n for n in names if not n.startswith("_"))), file=sys.stderr)
"""


def third_party_loaded(args: list[str]) -> list[str]:
    """The non-standard-library packages in ``sys.modules`` after ``rad3d ARGS``."""
    done = subprocess.run([sys.executable, "-c", _LOADED, *args], env=_env(), cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return done.stderr.split()


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted changes" if git("status", "--porcelain", "analysis") else "")


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _seconds(t: dict[str, float]) -> str:
    return f"{t['median']:.2f} ({t['min']:.2f}-{t['max']:.2f})"


HEADER = [
    "| date | commit | machine | load (1/5/15 min) at start; at end | python "
    "| `rad3d --help`, s: median (min-max) | CPU s | `fees --help`, s | `fees` NC 2025, s "
    "| imports of `--help`, ms | `--help` loads |",
    "|---|---|---|---|---|---:|---:|---:|---:|---:|---|",
]


def record(row: str, imports: dict, runs: int) -> None:
    path = HERE / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = f"<!-- {SECTION}:start -->", f"<!-- {SECTION}:end -->"
    history = []
    if start in text and end in text:
        old = text[text.index(start):text.index(end)].splitlines()
        if HEADER[1] in old:
            for line in old[old.index(HEADER[1]) + 1:]:
                if not line.startswith("|"):
                    break
                history.append(line)
    lines = [
        "## Start-up of the command line (`bench_cli.py`)",
        "",
        f"- Each command runs as a whole process (`python -m analysis.cli ...`, the code of "
        f"the checkout), one warm-up then {runs} timed runs; wall time median (min-max), "
        "CPU time (user + system) median. Target: `rad3d --help` within 1 s on this "
        "machine when idle. The machine is shared: read the times beside the load average.",
        "- Imports: `python -X importtime -m analysis.cli --help`, median of the runs; "
        "\"loads\" lists the third-party packages imported (not the standard library).",
        "",
        *HEADER,
        *history,
        row,
        "",
        "Heaviest top-level imports of `rad3d --help` in the latest run (cumulative ms):",
        "",
        "| module | ms |",
        "|---|---:|",
        *(f"| `{name}` | {ms:.1f} |" for name, ms in imports["heaviest"]),
    ]
    write_section(SECTION, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each command")
    parser.add_argument("--record", action="store_true",
                        help="append the figures to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)

    load_start = _load()
    times = {name: time_command(cli_args, args.runs) for name, cli_args in COMMANDS.items()}
    imports = import_summary(COMMANDS["--help"], args.runs)
    imports["third_party"] = third_party_loaded(COMMANDS["--help"])
    load_end = _load()

    for name, t in times.items():
        print(f"rad3d {name:<14} wall {_seconds(t)} s, CPU {t['cpu']:.2f} s")
    print(f"imports of --help: {imports['total_ms']:.0f} ms; third-party: "
          f"{', '.join(imports['third_party']) or 'none'}")
    for name, ms in imports["heaviest"]:
        print(f"  {name:<32} {ms:8.1f} ms")
    print(f"load average at start {load_start}, at end {load_end}")
    if args.record:
        machine = (f"{platform.system()} {platform.machine()}, {cpu_model()}, "
                   f"{os.cpu_count()} cores, {total_ram_gb():.1f} GB RAM")
        help_ = times["--help"]
        row = (f"| {time.strftime('%Y-%m-%d %H:%M')} | {_commit()} | {machine} "
               f"| {load_start}; {load_end} | {platform.python_version()} "
               f"| {_seconds(help_)} | {help_['cpu']:.2f} "
               f"| {times['fees --help']['median']:.2f} | {times['fees NC 2025']['median']:.2f} "
               f"| {imports['total_ms']:.0f} "
               f"| {', '.join(imports['third_party'])} |")
        record(row, imports, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
