"""Benchmark: the practice summary of 10 million synthetic claim lines (Parquet).

Each engine runs in its own fresh process on the same file, in the same run:

- rad3d ``stream`` (:func:`analysis.scale.summarize_files`, bounded memory);
- rad3d ``memory`` (``summarize(load_claims(path).lines)``);
- DuckDB running the equivalent SQL (filter to CT/MR, 3D and "do not report with"
  codes; CT/MR encounters; 3D lines linked to the latest encounter of the practice and
  patient within 7 days by an ASOF join; counts per practice) -- no validation;
- rad3d ``dask`` on a 2-worker ``LocalCluster`` (processes, one thread each).

Peak memory is the maximum resident set of the child (for Dask, also of each worker).
The rad3d engines must give identical summaries; DuckDB's per-practice counts are
compared with rad3d's on the columns both compute.

Usage::

    .venv/bin/python benchmarks/bench_summarize.py [--lines 10000000] [--record]
    .venv/bin/python benchmarks/bench_summarize.py --profile 1000000   # cProfile, stream

Inputs are cached in ``$RAD3D_BENCH_DATA`` (default ``/tmp/rad3d_bench``).
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
import json, sys, time, resource, hashlib
import pandas as pd
engine, path = sys.argv[1], sys.argv[2]
out = {}
t = time.perf_counter()
if engine == "duckdb":
    import duckdb
    from analysis.scale import relevant_codes
    from analysis import codes
    ct = sorted(codes.ct_mr_codes()["cpt_code"])
    threed = sorted(codes.CODES_3D)
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute("CREATE TEMP TABLE ct(code VARCHAR)"); con.executemany("INSERT INTO ct VALUES (?)", [[c] for c in ct if c not in threed])
    con.execute("CREATE TEMP TABLE rel(code VARCHAR)"); con.executemany("INSERT INTO rel VALUES (?)", [[c] for c in sorted(relevant_codes())])
    sql = f'''
    WITH lines AS (
      SELECT practice_id, patient_id, CAST(service_date AS DATE) AS d, cpt_code, units,
             allowed_usd, claim_id, line_number
      FROM read_parquet('{path}') WHERE cpt_code IN (SELECT code FROM rel)
    ),
    enc AS (
      SELECT practice_id, patient_id, d, count(*) AS ct_mr_lines, sum(units) AS ct_mr_units
      FROM lines WHERE cpt_code IN (SELECT code FROM ct) GROUP BY ALL
    ),
    l3 AS (SELECT * FROM lines WHERE cpt_code IN ('76376', '76377')),
    linked AS (
      SELECT l3.practice_id, l3.units, l3.cpt_code, l3.allowed_usd,
             e.d AS enc_d, l3.d - e.d AS gap,
             CASE WHEN e.d IS NOT NULL AND l3.d - e.d <= 7 THEN e.patient_id || '|' || CAST(e.d AS VARCHAR) END AS enc_key
      FROM l3 ASOF LEFT JOIN enc e
        ON l3.practice_id = e.practice_id AND l3.patient_id = e.patient_id AND l3.d >= e.d
    ),
    p3 AS (
      SELECT practice_id, count(*) AS n_lines_3d,
             count(DISTINCT enc_key) AS n_encounters_3d,
             sum(CASE WHEN enc_key IS NULL THEN 1 ELSE 0 END) AS n_orphan_3d_lines,
             sum(CASE WHEN cpt_code = '76376' THEN units ELSE 0 END) AS units_3d_76376,
             sum(CASE WHEN cpt_code = '76377' THEN units ELSE 0 END) AS units_3d_76377,
             sum(CASE WHEN cpt_code = '76376' THEN allowed_usd ELSE 0 END) AS allowed_3d_76376_usd
      FROM linked GROUP BY ALL
    ),
    pe AS (SELECT practice_id, count(*) AS n_encounters, sum(ct_mr_lines) AS ct_mr_lines,
                  sum(ct_mr_units) AS ct_mr_units FROM enc GROUP BY ALL)
    SELECT pe.*, p3.* EXCLUDE (practice_id) FROM pe LEFT JOIN p3 USING (practice_id)
    ORDER BY practice_id
    '''
    res = con.execute(sql).df()
    out["rows_in"] = int(con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0])
    totals = res
else:
    from analysis.scale import summarize_files
    from analysis.summary import practice_totals
    kw = {}
    if engine == "dask":
        from distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        kw["scheduler"] = client
    r = summarize_files(path, engine=engine, **kw)
    if engine == "dask":
        import resource as _r
        w = client.run(lambda: _r.getrusage(_r.RUSAGE_SELF).ru_maxrss / 1024)
        out["worker_peak_mb"] = [round(v) for v in w.values()]
        client.close(); cluster.close()
    out.update(rows_read=r.report.rows_read, rows_accepted=r.report.rows_accepted,
               reconciles=r.report.reconciles, n_buckets=r.report.n_buckets,
               largest_bucket=r.report.largest_bucket_rows)
    s = r.summary
    out["digest"] = hashlib.sha256(pd.util.hash_pandas_object(s, index=False).values.tobytes()).hexdigest()[:16]
    out["rows_summary"] = len(s)
    totals = practice_totals(s)
cols = ["practice_id", "n_encounters", "ct_mr_lines", "ct_mr_units", "n_lines_3d",
        "n_encounters_3d", "n_orphan_3d_lines", "units_3d_76376", "units_3d_76377"]
tt = totals[cols].fillna(0)
out["check"] = {c: int(tt[c].sum()) for c in cols[1:]}
out["seconds"] = round(time.perf_counter() - t, 2)
out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def profile(n_lines: int) -> None:
    import cProfile
    import pstats

    from analysis.scale import summarize_files

    path = synthetic_parquet(n_lines)
    prof = cProfile.Profile()
    prof.enable()
    summarize_files(path, engine="stream")
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--engines", nargs="+", default=["stream", "memory", "duckdb", "dask"])
    parser.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--profile", type=int, metavar="LINES",
                        help="profile the stream engine on this many lines and exit")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
        return
    m = machine()
    path = synthetic_parquet(args.lines)
    size_mb = os.path.getsize(path) / 2**20
    results = {}
    for engine in args.engines:
        print(f"running {engine} ...", file=sys.stderr, flush=True)
        results[engine] = run_child(CHILD, engine, str(path))
        print(engine, json.dumps(results[engine]), file=sys.stderr, flush=True)
    load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    ok = [e for e in results if "error" not in results[e]]
    digests = {results[e].get("digest") for e in ok if e != "duckdb"}
    checks = {e: results[e]["check"] for e in ok}
    same_counts = len({json.dumps(c, sort_keys=True) for c in checks.values()}) == 1
    any_res = next((results[e] for e in ok if e != "duckdb"), {})
    lines = [
        "## Practice summary of 10 M claim lines: stream vs memory vs DuckDB vs Dask "
        "(`bench_summarize.py`)",
        "",
        *machine_lines(m, load_after),
        f"- File: `{path.name}`, {any_res.get('rows_read', 0):,} synthetic lines "
        f"({size_mb:,.0f} MB Parquet, zstd, ~250k-line row groups; all lines are relevant "
        "codes, so the code filter skips nothing here).",
        "- Each engine in a fresh process; peak memory = that process's max RSS (Dask: "
        "the client, and each of the 2 worker processes).",
        "",
        "| engine | wall time (s) | peak memory (MB) | notes |",
        "|---|---:|---:|---|",
    ]
    notes = {
        "stream": "validates every row, spills by practice hash, links per bucket",
        "memory": "`summarize(load_claims(path).lines)`",
        "duckdb": "equivalent SQL (filter, encounters, ASOF link, per-practice counts); "
                  "no validation, no pricing, no payer attribution",
        "dask": "2-worker LocalCluster (processes, 1 thread each), same tasks as stream",
    }
    for e, r in results.items():
        if "error" in r:
            lines.append(f"| {e} | - | - | failed: {r['error']} |")
            continue
        peak = f"{r['peak_mb']:,}"
        if "worker_peak_mb" in r:
            peak += " (workers " + ", ".join(f"{w:,}" for w in r["worker_peak_mb"]) + ")"
        extra = (f"; {r['n_buckets']} buckets, largest {r['largest_bucket']:,} lines"
                 if "n_buckets" in r else "")
        lines.append(f"| {e} | {r['seconds']:.1f} | {peak} | {notes[e]}{extra} |")
    lines += [
        "",
        f"- rad3d engines identical (hash of the full summary): {len(digests) == 1} "
        f"({', '.join(sorted(d for d in digests if d))}); rows reconcile: "
        f"{all(results[e].get('reconciles', True) for e in ok)}.",
        f"- Per-practice counts equal across all engines incl. DuckDB (encounters, CT/MR "
        f"lines/units, 3D lines, encounters with 3D, orphans, 3D units): {same_counts}.",
    ]
    if args.record:
        write_section("bench_summarize", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
