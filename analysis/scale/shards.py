"""The Dask engine's passes: spill by practice shard, resolve keys across shards,
then link and summarize each unit of whole practices in memory.
"""


from __future__ import annotations

import math
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.claims import (
    CANONICAL_COLUMNS,
    AmountTotals,
    arrow_to_lines,
    resolve_duplicates,
)
from analysis.claims.rules import AMOUNT_COLUMNS, DUPLICATE_KEY
from analysis.encounters import link
from analysis.revenue_base import baskets_frame
from analysis.revenue_engine import price_baskets
from analysis.scale.progress import Progress
from analysis.scale.results import ScaleReport, ScaleResult, quarantine_totals
from analysis.scale.runners import Processes, pack
from analysis.scale.settings import StreamSettings
from analysis.scale.spill import Where, read_batches, spill_piece
from analysis.summary import (
    add_summaries,
    summarize_linked,
)

_KEY = list(DUPLICATE_KEY)


def _conflict_hashes(where: Where) -> np.ndarray:
    """Key hashes (of one key partition) seen in more than one shard."""
    table = read_batches(where)
    if table is None:
        return np.zeros(0, dtype=np.uint64)
    h = table.column("h").to_numpy()
    s = table.column("s").to_numpy()
    repeated = pd.Series(h).duplicated(keep=False).to_numpy()  # most keys occur once
    h, s = h[repeated], s[repeated]
    order = np.argsort(h, kind="stable")
    hs, ss = h[order], s[order]
    # a run of equal hashes with two shards has two neighbours that differ in shard
    hit = (hs[1:] == hs[:-1]) & (ss[1:] != ss[:-1])
    return np.unique(hs[1:][hit])


def _keys_with_hashes(where: Where, hashes: np.ndarray) -> pd.DataFrame:
    """The exact keys (and shard) of a unit's lines whose key hash is in ``hashes``."""
    table = read_batches(where, columns=[*_KEY, "_h", "_s"])
    if table is None:
        return pd.DataFrame({"claim_id": pd.Series(dtype="string"),
                             "line_number": pd.Series(dtype="int64"),
                             "_s": pd.Series(dtype="int32")})
    hit = np.isin(table.column("_h").to_numpy(), hashes)
    frame = arrow_to_lines(table.filter(pa.array(hit)).select([*_KEY, "_s"]))
    return frame.drop_duplicates()


def _summarize_unit(where: Where, *, conflicting_keys: pd.DataFrame | None,
                    periods: tuple[str, ...], link_options: Mapping[str, Any]
                    ) -> dict[str, Any]:
    """Resolve duplicates, link once and summarize the lines of one unit (whole shards)
    for each of ``periods``."""
    table = read_batches(where)
    if table is None:
        return dict(summaries=None, baskets=None, accepted=0,
                    missing=dict.fromkeys(AMOUNT_COLUMNS, 0),
                    accepted_cents=dict.fromkeys(AMOUNT_COLUMNS, 0), dup={}, dup_cents={})
    h = table.column("_h").to_numpy()
    lines = arrow_to_lines(table.select(list(CANONICAL_COLUMNS)))
    del table
    keys = conflicting_keys if conflicting_keys is not None and len(conflicting_keys) else None
    accepted, reasons, cents = resolve_duplicates(lines, conflicting_keys=keys, key_hash=h)
    del lines
    acc_cents, missing, acc_rows = {}, {}, len(accepted)
    for c in AMOUNT_COLUMNS:
        v = accepted[c].to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(v)
        acc_cents[c] = int(np.rint(v[ok] * 100).astype(np.int64).sum())
        missing[c] = int((~ok).sum())
    dup = {r: int((reasons == r).sum()) for r in ("conflicting_duplicate", "duplicate_line")}
    linked = link(accepted, **link_options)
    del accepted
    result = {p: summarize_linked(linked, period=p) for p in periods}
    baskets = price_baskets(linked.lines_3d)
    del linked
    pa.default_memory_pool().release_unused()  # give the unit's memory back
    return dict(summaries=result, baskets=baskets, accepted=acc_rows,
                accepted_cents=acc_cents, missing=missing, dup=dup, dup_cents=dict(cents))



def shard_passes(runner, pieces, workdir: str, n_shards: int, n_key_parts: int, keep,
                settings: StreamSettings, start: float, *, column_map, encoding, delimiter,
                periods, link_options, progress: Progress, checks=None) -> ScaleResult:
    spill = partial(spill_piece, spill_dir=workdir, n_shards=n_shards,
                    n_key_parts=n_key_parts, keep_codes=keep, column_map=column_map,
                    encoding=encoding, delimiter=delimiter, batch_rows=settings.batch_rows,
                    flush_rows=min(settings.rows_per_piece, 500_000), checks=checks)
    progress.n_pieces = len(pieces)
    parts = runner.map(spill, pieces, done=progress.read)
    shard_rows = (np.sum([p["shard_rows"] for p in parts], axis=0) if parts
                  else np.zeros(n_shards, dtype=np.int64))

    # units of whole shards, about bucket_rows lines each (or one shard each when the
    # number of buckets is fixed)
    if settings.n_buckets is not None:
        units = [[s] for s in range(n_shards) if shard_rows[s] > 0]
    else:
        n_units = math.ceil(shard_rows.sum() / settings.bucket_rows)
        if runner.n_workers > 1:
            n_units = max(n_units, 2 * runner.n_workers)
        units = pack(shard_rows, n_units)

    def where(kind: str, shards) -> Where:
        out = []
        for p in parts:
            idx = sorted(i for s in shards if s in p[kind] for i in p[kind][s][1])
            if idx:
                out.append((p[kind][next(s for s in shards if s in p[kind])][0], idx))
        return out

    unit_where = [where("lines", u) for u in units]

    # keys under two practices in different shards: hash candidates, then exact keys
    hashes = runner.map(_conflict_hashes, [where("keys", [j]) for j in range(n_key_parts)])
    hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
    conflicting = None
    if len(hashes):
        found = runner.map(partial(_keys_with_hashes, hashes=hashes), unit_where)
        allk = pd.concat(found, ignore_index=True)
        n_s = allk.groupby(_KEY, sort=False)["_s"].nunique()
        conflicting = n_s[n_s > 1].reset_index()[_KEY]

    task = partial(_summarize_unit, conflicting_keys=conflicting, periods=periods,
                   link_options=link_options)
    unit_rows = np.array([int(shard_rows[u].sum()) for u in units], dtype=np.int64)
    if runner.n_workers > 1 and isinstance(runner, Processes):
        # Units much larger than the target (a practice bigger than bucket_rows) run
        # alone, in this process, after the pool has closed: two of them at once, or
        # one beside a worker still holding a unit's memory, would add their peaks.
        big = unit_rows > 2 * settings.bucket_rows
        done = [None] * len(units)
        small = np.flatnonzero(~big)
        progress.n_units = len(units)
        for i, d in zip(small, runner.map(task, [unit_where[i] for i in small],
                                          done=progress.summarized), strict=True):
            done[i] = d
        runner.close()
        for i in np.flatnonzero(big):
            done[i] = task(unit_where[i])
            progress.summarized(done[i])
    else:
        progress.n_units = len(units)
        done = runner.map(task, unit_where, done=progress.summarized)
    summaries = {p: add_summaries([d["summaries"][p] for d in done
                                   if d["summaries"] is not None]) for p in periods}
    # each unit holds whole practices: its baskets are theirs alone
    baskets = baskets_frame(pd.concat([baskets_frame(), *(d["baskets"] for d in done
                                                          if d["baskets"] is not None)]))

    quarantined, q_cents = quarantine_totals(
        parts, [(d["dup"], d["dup_cents"]) for d in done])
    amounts = {
        c: AmountTotals(
            read_cents=sum(p["read_cents"][c] for p in parts),
            accepted_cents=sum(d["accepted_cents"][c] for d in done),
            quarantined_cents=sum(q_cents[r][c] for r in q_cents),
            unparsed_rows=sum(p["unparsed"][c] for p in parts),
            missing_accepted_rows=sum(d["missing"][c] for d in done))
        for c in AMOUNT_COLUMNS
    }
    report = ScaleReport(
        engine=settings.engine,
        rows_read=sum(p["rows_read"] for p in parts),
        rows_accepted=sum(d["accepted"] for d in done),
        rows_quarantined=sum(quarantined.values()),
        rows_filtered_out=sum(p["rows_filtered_out"] for p in parts),
        blank_rows=sum(p["blank_rows"] for p in parts),
        quarantined_by_reason=quarantined, amounts=amounts, n_pieces=len(pieces),
        n_buckets=len(units), largest_bucket_rows=int(unit_rows.max(initial=0)),
        seconds=time.perf_counter() - start, settings=settings.to_dict(),
        n_shards=n_shards,
        study_window=None if checks.study_window is None else str(checks.study_window))
    progress.finish(rows_accepted=report.rows_accepted, seconds=report.seconds)
    return ScaleResult(summary=summaries[periods[0]], report=report, summaries=summaries,
                       baskets=baskets)
