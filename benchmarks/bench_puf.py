"""Benchmark: the Medicare provider-and-service reader on a full-size synthetic file.

    .venv/bin/python benchmarks/bench_puf.py [--rows 9700000] [--file PATH] [--keep]

1. Writes a synthetic "by Provider and Service" file in the real 28-column layout
   (``analysis.synth.puf.write_synthetic_puf``, seed 7) of ``--rows`` rows (default
   9.7 M, about the size of the real national file), unless it already exists.
2. Runs the same query twice, each in its own child process so that peak memory
   (the child's maximum resident set size from ``wait4``) is its own:
   - **rad3d**: ``read_provider_service`` (streamed, CT/MR + 3D codes, all states)
     then ``summarize_puf`` per NPI;
   - **duckdb**: ``read_csv`` of the same file with typed columns, the same code
     filter, and the same per-NPI sums in SQL.
3. Checks that both give the same NPIs and the same CT/MR and 3D service totals
   and writes ``benchmarks/out/bench_puf.json`` and the section of
   ``benchmarks/RESULTS.md`` between its markers.

The parent process imports only the standard library, so the package is imported
inside the child entry points (and the paths below are not taken from
``analysis.paths``): a child forked from a large parent would report the parent's
pages as its own peak memory.
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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scale_common import cpu_model, total_ram_gb  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
DEFAULT_FILE = ROOT / "data" / "interim" / "bench_puf_provider_service.csv"
START, END = "<!-- bench_puf:start -->", "<!-- bench_puf:end -->"


def _engine_rad3d(path: str, result: str) -> None:
    from analysis import puf

    read = puf.read_provider_service(path)
    summary = puf.summarize_puf(read.lines, period="bench")
    out = {
        "rows_read": int(read.counts["rows_read"]),
        "rows_kept": int(read.counts["rows_kept"]),
        "n_npis": int(len(summary)),
        "ct_mr_units": float(summary["ct_mr_units"].sum()),
        "units_3d": float((summary["units_3d_76376"] + summary["units_3d_76377"]).sum()),
        "per_npi": summary.set_index("practice_id")[["ct_mr_units", "units_3d_76376",
                                                     "units_3d_76377"]]
        .sum(axis=1).round(6).sort_index().to_dict(),
    }
    Path(result).write_text(json.dumps(out))


def _engine_duckdb(path: str, result: str) -> None:
    import duckdb

    from analysis.codes import CODES_3D, ct_mr_codes
    from analysis.puf.layouts import PROVIDER_SERVICE_COLUMNS

    numeric = {"Tot_Benes", "Tot_Srvcs", "Tot_Bene_Day_Srvcs", "Avg_Sbmtd_Chrg",
               "Avg_Mdcr_Alowd_Amt", "Avg_Mdcr_Pymt_Amt", "Avg_Mdcr_Stdzd_Amt"}
    columns = {c: ("DOUBLE" if c in numeric else "VARCHAR") for c in PROVIDER_SERVICE_COLUMNS}
    ctmr = ct_mr_codes()["cpt_code"].tolist()
    codes = ", ".join(f"'{c}'" for c in ctmr + list(CODES_3D))
    ctmr_list = ", ".join(f"'{c}'" for c in ctmr)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    query = f"""
        SELECT Rndrng_NPI AS npi,
               sum(CASE WHEN HCPCS_Cd IN ({ctmr_list}) THEN Tot_Srvcs ELSE 0 END) AS ct_mr_units,
               sum(CASE WHEN HCPCS_Cd = '76376' THEN Tot_Srvcs ELSE 0 END) AS u76376,
               sum(CASE WHEN HCPCS_Cd = '76377' THEN Tot_Srvcs ELSE 0 END) AS u76377,
               sum(Tot_Srvcs * Avg_Mdcr_Alowd_Amt) AS allowed_usd
        FROM read_csv('{path}', header = true, columns = {columns!r}, quote = '"',
                      escape = '"')
        WHERE HCPCS_Cd IN ({codes})
        GROUP BY Rndrng_NPI
    """
    frame = con.execute(query).df()
    rows = con.execute(
        f"SELECT count(*) FROM read_csv('{path}', header = true, columns = {columns!r})"
    ).fetchone()[0]
    out = {
        "rows_read": int(rows),
        "n_npis": int(len(frame)),
        "ct_mr_units": float(frame["ct_mr_units"].sum()),
        "units_3d": float((frame["u76376"] + frame["u76377"]).sum()),
        "per_npi": frame.set_index("npi")[["ct_mr_units", "u76376", "u76377"]]
        .sum(axis=1).round(6).sort_index().to_dict(),
    }
    Path(result).write_text(json.dumps(out))


def _run_child(engine: str, path: Path) -> dict:
    """Run one engine in a child process: wall time, peak RSS (MB), its result."""
    result = OUT / f"bench_puf_{engine}.json"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", engine, "--file", str(path),
                             "--result", str(result)])
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{engine} failed with status {status}")
    data = json.loads(result.read_text())
    return {"engine": engine, "seconds": round(seconds, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "result": data}


def _versions() -> dict:
    import duckdb
    import numpy
    import pandas
    import pyarrow

    return {"python": platform.python_version(), "pandas": pandas.__version__,
            "pyarrow": pyarrow.__version__, "numpy": numpy.__version__,
            "duckdb": duckdb.__version__}


def _machine() -> str:
    return (f"{platform.system()} {platform.machine()}, {cpu_model('unknown CPU')}, "
            f"{os.cpu_count()} cores, {total_ram_gb():.0f} GB RAM")


def _write_section(report: dict) -> None:
    e = {r["engine"]: r for r in report["engines"]}
    r3, dk = e["rad3d"], e["duckdb"]
    lines = [
        START,
        "## Medicare provider-and-service reader (`bench_puf.py`)",
        "",
        f"- Date: {report['date']}; machine: {report['machine']} (shared with other work "
        "while it ran, so times are indicative).",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in report['versions'].items())}.",
        f"- File: synthetic, real 28-column layout, {report['rows']:,} rows, "
        f"{report['file_gb']:.2f} GB (written in {report['generate_seconds']:.0f} s by "
        "`write_synthetic_puf`, seed 7, one core).",
        "- Query: keep CT/MR + 76376/76377 rows (all states), sum services per NPI "
        "(CT/MR, 76376, 76377). Each engine in its own process; peak memory = the "
        "child's maximum resident set size. rad3d also validates every kept row (NPI "
        "check digit, numbers), keeps 21 tidy columns and counts hidden cells; the target "
        "is well under 2 GB for the full national file.",
        "",
        "| engine | wall time (s) | peak memory (MB) | rows kept / NPIs |",
        "|---|---:|---:|---|",
        f"| rad3d `read_provider_service` + `summarize_puf` (pyarrow streaming, "
        f"~66 MB pieces) | {r3['seconds']} | {r3['peak_rss_mb']} | "
        f"{r3['result']['rows_kept']:,} / {r3['result']['n_npis']:,} |",
        f"| DuckDB {report['versions']['duckdb']} `read_csv` + GROUP BY (includes a second "
        f"count(*) scan) | {dk['seconds']} | {dk['peak_rss_mb']} | – / "
        f"{dk['result']['n_npis']:,} |",
        "",
        f"- Same answer: {report['same_answer']} (NPIs, CT/MR and 3D service totals "
        f"{r3['result']['ct_mr_units']:,.2f} / {r3['result']['units_3d']:,.2f}; per-NPI sums "
        "equal).",
        END,
    ]
    text = RESULTS.read_text() if RESULTS.exists() else (
        "# Benchmark results\n\nRecorded by the scripts in `benchmarks/`; each section says "
        "how it was made.\n"
    )
    section = "\n".join(lines)
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=9_700_000)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--child", choices=["rad3d", "duckdb", "generate"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":
        import numpy as np

        from analysis.synth.puf import write_synthetic_puf

        write_synthetic_puf(args.file, n_rows=args.rows, rng=np.random.default_rng(7))
        return
    if args.child:
        {"rad3d": _engine_rad3d, "duckdb": _engine_duckdb}[args.child](str(args.file),
                                                                        args.result)
        return
    # The parent stays light (standard library only until the children have run):
    # a child forked from a large parent would report the parent's pages as its peak.
    OUT.mkdir(parents=True, exist_ok=True)
    args.file.parent.mkdir(parents=True, exist_ok=True)
    gen_seconds = 0.0
    sidecar = args.file.with_name(args.file.name + ".generate.json")
    if not args.file.exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--child", "generate", "--file",
                        str(args.file), "--rows", str(args.rows)], check=True)
        gen_seconds = time.perf_counter() - t0
        print(f"generated {args.rows:,} rows in {gen_seconds:.0f} s", flush=True)
        sidecar.write_text(json.dumps({"generate_seconds": gen_seconds}))
    elif sidecar.exists():  # a file kept from an earlier run (--keep)
        gen_seconds = json.loads(sidecar.read_text())["generate_seconds"]
    engines = [_run_child("rad3d", args.file), _run_child("duckdb", args.file)]
    a, b = engines[0]["result"], engines[1]["result"]
    same = (
        a["n_npis"] == b["n_npis"]
        and abs(a["ct_mr_units"] - b["ct_mr_units"]) <= 1e-9 * max(1.0, a["ct_mr_units"])
        and abs(a["units_3d"] - b["units_3d"]) <= 1e-9 * max(1.0, a["units_3d"])
        and a["per_npi"].keys() == b["per_npi"].keys()
        and all(abs(a["per_npi"][k] - b["per_npi"][k]) < 1e-6 for k in a["per_npi"])
        and a["rows_read"] == b["rows_read"]
    )
    for e in engines:
        e["result"].pop("per_npi")
    report = {
        "date": dt.date.today().isoformat(),
        "machine": _machine(),
        "versions": _versions(),
        "rows": a["rows_read"],
        "file_gb": args.file.stat().st_size / 1e9,
        "generate_seconds": gen_seconds,
        "engines": engines,
        "same_answer": same,
    }
    (OUT / "bench_puf.json").write_text(json.dumps(report, indent=2))
    _write_section(report)
    print(json.dumps(report, indent=2))
    if not args.keep:
        args.file.unlink()
        sidecar.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
