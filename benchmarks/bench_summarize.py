"""Benchmark: the practice summary of 10 million synthetic claim lines (Parquet).

Each engine runs in its own fresh process on the same file, in the same run:

- rad3d ``stream`` (:func:`analysis.scale.summarize_files`, bounded memory);
- rad3d ``memory`` (``summarize(load_claims(path).lines)``);
- DuckDB running the equivalent SQL (filter to CT/MR, 3D and "do not report with"
  codes; CT/MR encounters; 3D lines linked to the latest encounter of the practice and
  patient within 7 days by an ASOF join; counts per practice) -- no validation;
- rad3d ``dask`` on a 2-worker ``LocalCluster`` (processes, one thread each);
- rad3d ``stream`` with its row checks in one process (``stream-1proc``, ``workers=1``);
- ``checks``: the default engine's row checks and spill alone, in one process (what
  validation costs; no summary);
- ``duckdb-checks``: the tests of the row checks as bare SQL in DuckDB (a floor for
  validation inside the engine, not a second implementation: no repairs or messages);
- ``report-inputs``: what ``rad3d report`` prepares before its notebooks run
  (:func:`analysis.run.inputs.prepare_inputs`: both summaries and the identifiers).

Peak memory is the largest sum of resident memory of the child and its worker
processes (sampled every 0.1 s); CPU time is user plus system time of the child and
its finished worker processes. The rad3d summaries are compared with
``assert_frame_equal(check_exact=True)``; DuckDB's per-practice counts are compared
with rad3d's on the columns both compute.

Usage::

    .venv/bin/python benchmarks/bench_summarize.py [--lines 10000000] [--record]
    .venv/bin/python benchmarks/bench_summarize.py --profile 1000000   # cProfile, stream
    .venv/bin/python benchmarks/bench_summarize.py --ablation 3000000  # stream variants

Inputs are cached in ``$RAD3D_BENCH_DATA`` (default ``/tmp/rad3d_bench``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
from pathlib import Path

import pandas as pd

from analysis.scale import summarize_files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scale_common import machine, machine_lines, run_child, synthetic_parquet, write_section  # noqa: E402

CHILD = r"""
import json, sys, time, resource, hashlib
import pandas as pd
engine, path, save = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}
def cpu():  # user + system seconds of this process and its finished children (workers)
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
t, c0 = time.perf_counter(), cpu()
if engine == "duckdb":
    import duckdb
    from analysis.scale import relevant_codes
    from analysis import codes
    ct = sorted(codes.ct_mr_codes()["cpt_code"])
    threed = sorted(codes.CODES_3D)
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE TEMP TABLE ct(code VARCHAR)")
    con.executemany("INSERT INTO ct VALUES (?)", [[c] for c in ct if c not in threed])
    con.execute("CREATE TEMP TABLE rel(code VARCHAR)")
    con.executemany("INSERT INTO rel VALUES (?)", [[c] for c in sorted(relevant_codes())])
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
             CASE WHEN e.d IS NOT NULL AND l3.d - e.d <= 7
                  THEN e.patient_id || '|' || CAST(e.d AS VARCHAR) END AS enc_key
      FROM l3 ASOF LEFT JOIN enc e
        ON l3.practice_id = e.practice_id AND l3.patient_id = e.patient_id
           AND l3.d >= e.d
    ),
    p3 AS (
      SELECT practice_id, count(*) AS n_3d_lines,
             count(DISTINCT enc_key) AS n_encounters_3d,
             sum(CASE WHEN enc_key IS NULL THEN 1 ELSE 0 END) AS n_orphan_3d_lines,
             sum(CASE WHEN cpt_code = '76376' THEN units ELSE 0 END) AS units_3d_76376,
             sum(CASE WHEN cpt_code = '76377' THEN units ELSE 0 END) AS units_3d_76377,
             sum(CASE WHEN cpt_code = '76376' THEN allowed_usd ELSE 0 END)
               AS allowed_3d_76376_usd
      FROM linked GROUP BY ALL
    ),
    pe AS (SELECT practice_id, count(*) AS n_encounters, sum(ct_mr_lines) AS ct_mr_lines,
                  sum(ct_mr_units) AS ct_mr_units FROM enc GROUP BY ALL)
    SELECT pe.*, p3.* EXCLUDE (practice_id) FROM pe LEFT JOIN p3 USING (practice_id)
    ORDER BY practice_id
    '''
    t, c0 = time.perf_counter(), cpu()
    totals = con.execute(sql).df()
    out["seconds"] = round(time.perf_counter() - t, 2)
    out["cpu_s"] = round(cpu() - c0, 1)
    n = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
    out["rows_in"] = int(n)
elif engine.startswith("sql-link"):  # the stream engine's SQL pass alone, no row checks
    from analysis import sql_link as q
    from analysis.encounters import LinkSettings
    from analysis.scale import relevant_codes
    from analysis.summary import practice_totals
    limit = engine.split("-")[2] if engine.count("-") == 2 else "20GB"
    t, c0 = time.perf_counter(), cpu()
    con = q.connect(memory_limit=limit, threads=2)
    keep = ",".join(f"'{c}'" for c in sorted(relevant_codes()))
    con.execute(
        "CREATE TEMP VIEW lines AS SELECT * EXCLUDE (file_row_number), "
        f"file_row_number AS _rid FROM read_parquet('{path}', file_row_number=true) "
        f"WHERE cpt_code IN ({keep})")
    counts = q.build_linked(con, "lines", LinkSettings())
    s = q.summary_from_linked(con, "year")
    out["seconds"] = round(time.perf_counter() - t, 2)
    out["cpu_s"] = round(cpu() - c0, 1)
    out.update(rows_read=counts.n_lines, rows_filtered_out=0, reconciles=True)
    s.to_parquet(save)
    out["rows_summary"] = len(s)
    totals = practice_totals(s)
elif engine == "duckdb-checks":  # a floor for validation inside DuckDB (see NOTES)
    import duckdb
    from analysis.claims.rules import CONTROL_CHARACTERS, MAX_WHOLE, RULES, state_codes
    from analysis.defaults import MAX_LINE_USD
    from analysis.schema import (EARLIEST_DATE, FIELD_PATTERNS as P, LATEST_DATE, NULL_TOKENS,
                                 REQUIRED_COLUMNS)
    text = ["claim_id", "practice_id", "patient_id", "cpt_code", "modifiers",
            "place_of_service", "payer", "diagnosis_codes", "rendering_npi", "state"]
    tokens = ", ".join(f"'{x}'" for x in NULL_TOKENS)
    states = ", ".join(f"'{x}'" for x in sorted(state_codes()))
    digit = lambda i: f"CAST(substr(rendering_npi, {i}, 1) AS INTEGER)"
    luhn = " + ".join(f"({digit(i)} * 2) // 10 + ({digit(i)} * 2) % 10" if i % 2 else digit(i)
                      for i in range(1, 10))
    tests = [f"regexp_matches({c}, '{CONTROL_CHARACTERS}')" for c in text] + [
        f"trim({c}) <> {c} OR trim({c}) IN ({tokens}) OR trim({c}) = ''" for c in text] + [
        " OR ".join(f"{c} IS NULL" for c in REQUIRED_COLUMNS),
        f"NOT regexp_full_match(cpt_code, '{P['cpt_code']}')",
        f"service_date < DATE '{EARLIEST_DATE:%Y-%m-%d}' "
        f"OR service_date > DATE '{LATEST_DATE:%Y-%m-%d}'",
        f"line_number < 1 OR line_number > {MAX_WHOLE}",
        f"units < 1 OR units > {MAX_WHOLE}",
        "allowed_usd < 0 OR paid_usd < 0",
        f"allowed_usd > {MAX_LINE_USD} OR paid_usd > {MAX_LINE_USD}",
        f"NOT regexp_full_match(modifiers, '{P['modifiers']}')",
        f"NOT regexp_full_match(place_of_service, '{RULES['invalid_pos'].pattern}')",
        f"NOT regexp_full_match(rendering_npi, '{P['rendering_npi']}')",
        f"(24 + {luhn} + {digit(10)}) % 10 <> 0",
        f"state NOT IN ({states})",
        f"NOT regexp_full_match(diagnosis_codes, '{P['diagnosis_codes']}')"]
    case = " ".join(f"WHEN {x} THEN {i}" for i, x in enumerate(tests))
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute("SET enable_progress_bar = false")
    t, c0 = time.perf_counter(), cpu()
    n = con.execute(f"SELECT count(*) FILTER (reason IS NULL), count(*) FROM (SELECT CASE "
                    f"{case} END AS reason FROM read_parquet('{path}'))").fetchone()
    out["seconds"] = round(time.perf_counter() - t, 2)
    out["cpu_s"] = round(cpu() - c0, 1)
    out.update(rows_read=int(n[1]), rows_accepted=int(n[0]), reconciles=True,
               rows_filtered_out=0)
    totals = None
elif engine == "checks":  # the row checks and the spill alone, in this one process
    import tempfile
    from analysis.claims.pieces import plan_pieces
    from analysis.claims.sources import expand_paths
    from analysis.claims.window import check_settings
    from analysis.scale import relevant_codes
    from analysis.scale.settings import StreamSettings
    from analysis.scale.spill import spill_piece
    t, c0 = time.perf_counter(), cpu()
    keep, spill_dir = relevant_codes(), tempfile.mkdtemp(prefix="bench-checks-")
    checks = check_settings(expand_paths(path))
    parts = [spill_piece(p, spill_dir=spill_dir, n_shards=0, n_key_parts=0, keep_codes=keep,
                         column_map=None, encoding="utf-8", delimiter=None,
                         batch_rows=StreamSettings().batch_rows, checks=checks)
             for p in plan_pieces(path)]
    out["seconds"] = round(time.perf_counter() - t, 2)
    out["cpu_s"] = round(cpu() - c0, 1)
    out.update(rows_read=sum(p["rows_read"] for p in parts), reconciles=True,
               rows_filtered_out=sum(p["rows_filtered_out"] for p in parts))
    totals = None
elif engine == "report-inputs":  # what rad3d report prepares before any notebook runs
    import tempfile
    from analysis.run.inputs import prepare_inputs
    from analysis.summary import practice_totals
    t, c0 = time.perf_counter(), cpu()
    inputs = prepare_inputs([path], cache_dir=tempfile.mkdtemp(prefix="bench-inputs-"))
    out["seconds"] = round(time.perf_counter() - t, 2)
    out["cpu_s"] = round(cpu() - c0, 1)
    rep = inputs.info["claims_report"]
    out.update(rows_read=rep["rows_read"], rows_accepted=rep["rows_accepted"],
               rows_filtered_out=rep["rows_filtered_out"], reconciles=True)
    s = inputs.summary("year")
    s.to_parquet(save)
    hashed = pd.util.hash_pandas_object(s, index=False).values.tobytes()
    out["digest"] = hashlib.sha256(hashed).hexdigest()[:16]
    out["rows_summary"] = len(s)
    totals = practice_totals(s)
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
    elif engine == "stream-1proc":
        kw["workers"] = 1
    t, c0 = time.perf_counter(), cpu()  # the Dask cluster's start is not timed
    r = summarize_files(path, engine=engine.split("-")[0], **kw)
    out["seconds"] = round(time.perf_counter() - t, 2)
    out["cpu_s"] = round(cpu() - c0, 1)
    if engine == "dask":
        import resource as _r
        w = client.run(lambda: _r.getrusage(_r.RUSAGE_SELF).ru_maxrss / 1024)
        out["worker_peak_mb"] = [round(v) for v in w.values()]
        client.close(); cluster.close()
    rep = r.report
    out.update(rows_read=rep.rows_read, rows_accepted=rep.rows_accepted,
               rows_filtered_out=rep.rows_filtered_out, reconciles=rep.reconciles,
               n_buckets=rep.n_buckets, largest_bucket=rep.largest_bucket_rows,
               n_shards=rep.n_shards)
    s = r.summary
    s.to_parquet(save)
    hashed = pd.util.hash_pandas_object(s, index=False).values.tobytes()
    out["digest"] = hashlib.sha256(hashed).hexdigest()[:16]
    out["rows_summary"] = len(s)
    totals = practice_totals(s)
cols = ["practice_id", "n_encounters", "ct_mr_lines", "ct_mr_units", "n_3d_lines",
        "n_encounters_3d", "n_orphan_3d_lines", "units_3d_76376", "units_3d_76377"]
if totals is not None:
    tt = totals[cols].fillna(0)
    out["check"] = {c: int(tt[c].sum()) for c in cols[1:]}
out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


ABLATION_CHILD = r"""
import json, sys, time, resource
from analysis.scale import summarize_files
path, kw = sys.argv[1], json.loads(sys.argv[2])
t, c = time.perf_counter(), time.process_time()
r = summarize_files(path, engine="stream", **kw)
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": round(time.perf_counter() - t, 2),
                  "cpu": round(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
                               - c, 2),
                  "largest": r.report.largest_bucket_rows, "units": r.report.n_buckets}))
"""


def ablation(n_lines: int) -> None:
    """Stream engine variants on one file: unit size, workers."""
    path = synthetic_parquet(n_lines)
    variants = [
        ("default (bucket_rows=500,000)", {}),
        ("bucket_rows=1,000,000", {"bucket_rows": 1_000_000}),
        ("bucket_rows=250,000", {"bucket_rows": 250_000}),
        ("workers=2", {"workers": 2}),
    ]
    print(f"| stream variant ({path.name}) | wall (s) | CPU, all processes (s) | "
          "peak memory, all processes (MB) | units (largest) | load at start |")
    print("|---|---:|---:|---:|---|---|")
    for name, kw in variants:
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        r = run_child(ABLATION_CHILD, str(path), json.dumps(kw))
        if "error" in r:
            print(f"| {name} | failed: {r['error']} | | | | {load} |")
            continue
        print(f"| {name} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['tree_peak_mb']:,} | "
              f"{r['units']} ({r['largest']:,}) | {load} |", flush=True)


def profile(n_lines: int) -> None:
    path = synthetic_parquet(n_lines)
    prof = cProfile.Profile()
    prof.enable()
    summarize_files(path, engine="stream")
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def _same_summaries(paths: dict[str, Path]) -> dict[str, str]:
    """``assert_frame_equal(check_exact=True)`` of each engine's summary against
    ``memory`` (or the first one)."""
    if not paths:
        return {}
    ref_name = "memory" if "memory" in paths else next(iter(paths))
    ref = pd.read_parquet(paths[ref_name])
    out = {}
    for name, path in paths.items():
        if name == ref_name:
            continue
        try:
            pd.testing.assert_frame_equal(pd.read_parquet(path), ref, check_exact=True)
            out[name] = f"identical to {ref_name}"
        except AssertionError as err:
            out[name] = f"DIFFERS from {ref_name}: {str(err).splitlines()[0][:200]}"
    return out


NOTES = {
    "stream": "the default: row checks in Arrow batches in one process per core (at "
              "most one per piece, at most 4; once per distinct value of repeating "
              "columns, typed columns read typed), accepted lines spilled to Parquet, then "
              "duplicates, link and summary on DuckDB (1 GB memory limit, 2 threads)",
    "stream-1proc": "the same with the row checks in this one process (`workers=1`)",
    "duckdb-checks": "a floor for validation inside DuckDB: the tests of the row checks "
                     "as bare SQL over the Parquet scan (control characters, blanks and "
                     "null tokens, required fields, each code's pattern, dates, whole "
                     "numbers, amounts, the NPI check digit, states), the first failing "
                     "test per row counted, 2 threads; no repairs, no messages, no "
                     "quarantine file, no output",
    "checks": "the row checks and the spill of the default engine alone, in one process "
              "(no duplicates, link or summary): what validating every line costs",
    "memory": "`summarize(load_claims(path).lines)`: every row checked as text",
    "duckdb": "equivalent SQL (filter, encounters, ASOF link, per-practice counts), 2 "
              "threads; no validation, no pricing, no payer attribution",
    "report-inputs": "`rad3d report`'s shared inputs (`prepare_inputs`): the stream engine "
                     "linking once for year and quarter, plus the identifiers file for the "
                     "privacy gate (a second scan of the patient and claim ids)",
    "sql-link": "rad3d's link and summary written as SQL on DuckDB (`analysis/sql_link.py` alone: "
                "encounters, modal payer, link within the window, both compliance rules, "
                "oncology, "
                "prices, the full summary), 2 threads, no memory limit; no validation",
    "sql-link-1GB": "the same SQL with DuckDB's memory limit at 1 GB (it spills to disk)",
    "dask": "2-worker LocalCluster (processes, 1 thread each; cluster start not timed): "
            "row checks per piece, spill by practice hash, link and summary per unit of "
            "whole practices, summaries added",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--engines", nargs="+",
                        default=["stream", "memory", "duckdb", "dask", "stream-1proc"],
                        choices=list(NOTES))
    parser.add_argument("--file", type=Path,
                        help="a claims Parquet file to use instead of the cached synthetic one")
    parser.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of all engines (round robin); the fastest run is shown")
    parser.add_argument("--profile", type=int, metavar="LINES",
                        help="profile the stream engine on this many lines and exit")
    parser.add_argument("--ablation", type=int, metavar="LINES",
                        help="time stream engine variants on this many lines and exit")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
        return
    if args.ablation:
        ablation(args.ablation)
        return
    m = machine()
    path = args.file or synthetic_parquet(args.lines)
    size_mb = os.path.getsize(path) / 2**20
    results, saved, runs = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="rad3d-bench-") as tmp:
        for _ in range(args.repeat):  # round robin: engines share the conditions
            for engine in args.engines:
                print(f"running {engine} ...", file=sys.stderr, flush=True)
                save = Path(tmp) / f"{engine}.parquet"
                load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
                r = run_child(CHILD, engine, str(path), str(save)) | {"load": load}
                runs.setdefault(engine, []).append(r)
                if save.exists():
                    saved[engine] = save
                print(engine, json.dumps(r), file=sys.stderr, flush=True)
        for engine, rs in runs.items():
            good = [r for r in rs if "error" not in r]
            best = min(good, key=lambda r: r["seconds"]) if good else rs[0]
            best["all_seconds"] = [r.get("seconds") for r in rs]
            results[engine] = best
        same = _same_summaries(saved)
    load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    ok = [e for e in results if "error" not in results[e]]
    checks = {e: results[e]["check"] for e in ok if "check" in results[e]}
    same_counts = len({json.dumps(c, sort_keys=True) for c in checks.values()}) == 1
    any_res = next((results[e] for e in ok if e != "duckdb"), {})
    duck = results.get("duckdb", {}).get("seconds")
    duck_cpu = results.get("duckdb", {}).get("cpu_s")
    lines = [
        f"## Practice summary of {args.lines / 1e6:g} M claim lines: stream vs memory vs "
        "DuckDB vs Dask (`bench_summarize.py`)",
        "",
        *machine_lines(m, load_after),
        f"- File: `{path.name}`, {any_res.get('rows_read', 0):,} synthetic lines "
        f"({size_mb:,.0f} MB Parquet, zstd, ~250k-line row groups, columns stored with "
        f"their canonical types; {any_res.get('rows_filtered_out', 0):,} lines filtered "
        "out: every line of the synthetic file has a relevant code).",
        f"- Each engine in a fresh process, one after the other, {args.repeat} round(s) "
        "(the fastest run is shown, all runs in brackets; load average when it started); "
        "wall time of the work "
        "(imports and the Dask cluster's start excluded), and the CPU time of that work "
        "(the process and its finished worker processes; the Dask cluster's workers are "
        "not counted); peak memory = the largest sum "
        "of resident memory of the process and its worker processes, sampled every "
        "0.1 s (and each process's own maximum).",
        "",
        "| engine | wall time (s), fastest (all runs) | x DuckDB | CPU s (user + system, "
        "all processes) | x DuckDB's CPU | peak memory, all processes (MB) | load at start "
        "| notes |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for e, r in results.items():
        if "error" in r:
            lines.append(f"| {e} | - | - | - | - | - | {r['load']} | failed: {r['error']} |")
            continue
        peak = f"{r['tree_peak_mb']:,}"
        if "worker_peak_mb" in r:
            peak += (f" (client {r['peak_mb']:,}; workers "
                     + ", ".join(f"{w:,}" for w in r["worker_peak_mb"]) + ")")
        extra = ""
        if "n_buckets" in r and e != "memory" and r.get("n_shards"):  # the dask engine
            extra = (f"; {r['n_shards']} shards in {r['n_buckets']} units, largest "
                     f"{r['largest_bucket']:,} lines (the largest practice)")
        ratio = f"{r['seconds'] / duck:.2f}" if duck else "-"
        cpu_ratio = f"{r['cpu_s'] / duck_cpu:.2f}" if duck_cpu else "-"
        times = f"{r['seconds']:.1f}"
        others = [t for t in r["all_seconds"] if t is not None]
        if len(others) > 1:
            times += " (" + ", ".join(f"{t:.1f}" for t in others) + ")"
        lines.append(f"| {e} | {times} | {ratio} | {r['cpu_s']:.1f} | {cpu_ratio} | {peak} "
                     f"| {r['load']} | "
                     f"{NOTES[e]}{extra} |")
    lines += [
        "",
        "- rad3d summaries, `assert_frame_equal(check_exact=True)`: "
        + ("; ".join(f"{e} {v}" for e, v in same.items()) or "not compared")
        + f". Rows reconcile: {all(results[e].get('reconciles', True) for e in ok)}.",
        f"- Per-practice counts equal across all engines incl. DuckDB (encounters, CT/MR "
        f"lines/units, 3D lines, encounters with 3D, orphans, 3D units): {same_counts}.",
    ]
    if args.record:
        write_section("bench_summarize", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
