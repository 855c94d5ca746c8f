"""The default engine's passes: row checks in Arrow batches spilled to Parquet, then
duplicates, link and summary in DuckDB (:mod:`analysis.sql_link`).
"""


from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pyarrow.parquet as pq

from analysis import sql_link
from analysis.claims import (
    CANONICAL_COLUMNS,
    AmountTotals,
)
from analysis.claims.rules import AMOUNT_COLUMNS
from analysis.encounters import LinkSettings
from analysis.revenue_base import baskets_frame
from analysis.scale.progress import Progress
from analysis.scale.results import ScaleReport, ScaleResult, quarantine_totals
from analysis.scale.settings import StreamSettings
from analysis.scale.spill import spill_piece
from analysis.summary import (
    coarsen,
    empty_summary,
)


def sql_pass(runner, pieces, workdir: str, keep, settings: StreamSettings, start: float,
              *, column_map, encoding, delimiter, periods, link_options,
              progress: Progress, checks=None) -> ScaleResult:
    """The default engine: row checks in Arrow batches (in ``runner``'s processes),
    candidates spilled to Parquet, then duplicates, link and summary in DuckDB."""
    spill = partial(spill_piece, spill_dir=workdir, n_shards=0, n_key_parts=0,
                    keep_codes=keep, column_map=column_map, encoding=encoding,
                    delimiter=delimiter, batch_rows=settings.batch_rows,
                    flush_rows=min(settings.rows_per_piece, 500_000), checks=checks)
    progress.n_pieces = len(pieces)
    parts = runner.map(spill, pieces, done=progress.read)
    runner.close()  # the workers' memory is given back before DuckDB starts
    files = [p["flat"] for p in parts if p["flat"]]
    fee_schedule = link_options.get("fee_schedule")
    link_settings = LinkSettings(**{k: v for k, v in link_options.items()
                                    if k != "fee_schedule"})
    dup = sql_link.DuplicateCounts(
        rows=dict.fromkeys(("conflicting_duplicate", "duplicate_line"), 0),
        cents={r: dict.fromkeys(AMOUNT_COLUMNS, 0)
               for r in ("conflicting_duplicate", "duplicate_line")},
        missing={r: dict.fromkeys(AMOUNT_COLUMNS, 0)
                 for r in ("conflicting_duplicate", "duplicate_line")})
    summaries = {p: empty_summary() for p in periods}
    baskets = baskets_frame()
    if files:
        temp = Path(workdir) / "duckdb"
        con = sql_link.connect(memory_limit=settings.memory_limit, threads=settings.threads,
                               temp_directory=temp)
        try:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(
                "CREATE TEMP VIEW _cand AS SELECT * EXCLUDE (file_row_number), "
                "file_row_number AS _rid "
                f"FROM read_parquet([{listed}], file_row_number = true)")
            dup = sql_link.resolve_duplicates(con, "_cand", name="lines",
                                              content=tuple(CANONICAL_COLUMNS))
            optional = tuple(c for c in ("mac", "locality")
                             if c in pq.read_schema(files[0]).names)
            sql_link.build_linked(con, "lines", link_settings, fee_schedule=fee_schedule,
                                  optional=optional)
            # the finest period once; a year is the sum of its quarters
            finest = "quarter" if "quarter" in periods else periods[0]
            fine = sql_link.summary_from_linked(con, finest)
            summaries = {p: coarsen(fine, period=p) for p in periods}
            baskets = sql_link.price_baskets(con)
        finally:
            con.close()
    progress.summarized({"summaries": summaries, "dup": dup.rows})

    quarantined, q_cents = quarantine_totals(parts, [(dup.rows, dup.cents)])
    candidates = sum(p["candidates"] for p in parts)
    n_dup = sum(dup.rows.values())
    amounts = {
        c: AmountTotals(
            read_cents=sum(p["read_cents"][c] for p in parts),
            accepted_cents=sum(p["candidate_cents"][c] for p in parts)
            - sum(dup.cents[r][c] for r in dup.cents),
            quarantined_cents=sum(q_cents[r][c] for r in q_cents),
            unparsed_rows=sum(p["unparsed"][c] for p in parts),
            missing_accepted_rows=sum(p["candidate_missing"][c] for p in parts)
            - sum(dup.missing[r][c] for r in dup.missing))
        for c in AMOUNT_COLUMNS
    }
    report = ScaleReport(
        engine=settings.engine,
        rows_read=sum(p["rows_read"] for p in parts),
        rows_accepted=candidates - n_dup,
        rows_quarantined=sum(quarantined.values()),
        rows_filtered_out=sum(p["rows_filtered_out"] for p in parts),
        blank_rows=sum(p["blank_rows"] for p in parts),
        quarantined_by_reason=quarantined, amounts=amounts, n_pieces=len(pieces),
        n_buckets=1 if files else 0, largest_bucket_rows=candidates - n_dup,
        seconds=time.perf_counter() - start, settings=settings.to_dict(), n_shards=0,
        study_window=None if checks.study_window is None else str(checks.study_window))
    progress.finish(rows_accepted=report.rows_accepted, seconds=report.seconds)
    return ScaleResult(summary=summaries[periods[0]], report=report, summaries=summaries,
                       baskets=baskets)
