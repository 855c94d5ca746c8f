"""Summaries of claims of any size: streamed in bounded memory, or on a Dask cluster.

:func:`summarize_files` computes the additive practice summary
(:func:`analysis.summary.summarize`) of claim files too large to load at once. Three
engines give the same numbers:

``"memory"``
    ``summarize(load_claims(paths).lines)``: everything in memory (the reference).
``"stream"`` (the default)
    Two passes on one machine. *Check*: each piece of the input (a CSV file, or a run
    of Parquet row groups, :func:`analysis.claims.plan_pieces`) is read in batches,
    keeping only the lines whose code matters (:func:`relevant_codes`, tested on the
    Arrow batch before any conversion), repaired and row-checked exactly as
    :func:`analysis.claims.load_claims` does (Parquet columns already stored with
    their canonical types are read typed, :func:`analysis.claims.check_piece`), and
    the accepted lines are written, in file order, to one Parquet file per piece.
    *Link*: DuckDB (:mod:`analysis.sql_link`) reads those files, resolves duplicate
    keys, links and summarizes, within ``memory_limit`` (it spills to the spill folder
    above it); the finest period is summarized once and coarser ones added up from it
    (:func:`analysis.summary.coarsen`). Peak memory is one batch (and a flush of at
    most 500,000 lines) while checking, and DuckDB's limit while linking -- not the
    file, and not the largest practice. ``workers=2`` checks the pieces in two
    processes; DuckDB uses ``threads``.
``"dask"``
    Beyond one machine: one check task per piece, each spilling its lines by a hash of
    ``practice_id`` to shards (Arrow IPC) of about a quarter of ``bucket_rows`` lines;
    the shards, holding whole practices, are packed into units of about
    ``bucket_rows`` lines; one summary task per unit resolves its duplicates
    (:func:`analysis.claims.resolve_duplicates`), links and summarizes it in memory;
    the partial summaries are added on the client
    (:func:`analysis.summary.add_summaries`). ``scheduler`` is the address of an
    existing cluster (``tcp://host:8786``) or a ``distributed.Client``; without it a
    ``LocalCluster`` of worker processes is started and closed. The spill directory
    must be visible to every worker (a local disk for a ``LocalCluster``; shared
    storage such as NFS for a cluster of machines). Needs the ``distributed`` extra
    (``pip install rad3d[distributed]``).

This module reads files (it orchestrates :mod:`analysis.claims`) and writes and removes
its temporary spill files; the summaries themselves come from :mod:`analysis.sql_link`
(stream) or the pure functions of :mod:`analysis.encounters` and
:mod:`analysis.summary` (dask, memory). It is one file of some 1,000 lines,
above the usual size, because its parts -- settings and report, the spill and summary
tasks, the runners and the two-pass driver -- make one engine and change together.

Definitions
-----------
**Relevant line.** A line whose CPT code (normalized by
:func:`analysis.codes.normalize_cpt`) is a CT/MR base-study code (with the
``ct_mr_include``/``ct_mr_exclude`` changes of the link options), a 3D code (76376,
76377) or on either 3D code's "do not report with" list. :func:`analysis.encounters.link`
ignores every other line, so the summary depends on relevant lines only.

**Reconciliation** (streaming and Dask). ``rows_scanned = rows_read +
rows_filtered_out + blank_rows``; ``rows_read = rows_accepted + rows_quarantined``;
dollars read = accepted + quarantined, in whole cents, for ``allowed_usd`` and
``paid_usd``, over the rows read. Filtered-out rows are counted, never validated (their
dollars are not read); with the Parquet filter pushed down, blank rows of Parquet files
count among the filtered-out.

**Duplicates.** Rows sharing ``(claim_id, line_number)`` are resolved as
:func:`~analysis.claims.load_claims` resolves them, across all files and batches. The
stream engine resolves them in DuckDB over all accepted lines
(:func:`analysis.sql_link.resolve_duplicates`). On Dask, both copies of a practice's
line land in its shard; a key that appears under two practices in different shards
is found by a spilled index of key hashes (:func:`key_hash`, partitioned by hash,
confirmed on the keys themselves) and all its rows are ``conflicting_duplicate``, as
in memory.

Equivalence: for input whose duplicate keys involve relevant lines only, the summary of
every engine equals the in-memory summary exactly (same rows; dollar sums are whole
cents, :func:`analysis.summary.add_summaries`; each practice's lines are summarized in
file order in one piece of work). One
difference is by design: a relevant line that shares ``(claim_id, line_number)`` with
a *filtered-out* line is quarantined in memory (``conflicting_duplicate``) but accepted
by the streaming engines, which never read the other line; pass ``pushdown=False`` to
read and validate every line when that matters.

Examples
--------
>>> result = summarize_files("data/sample/claims_2024.parquet",
...                          engine="stream")  # doctest: +SKIP
>>> result.report.reconciles  # doctest: +SKIP
True
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis import codes, sql_link
from analysis.claims import (
    CANONICAL_COLUMNS,
    QUARANTINE_REASONS,
    AmountTotals,
    ClaimsPiece,
    arrow_to_lines,
    check_piece,
    load_claims,
    plan_pieces,
    resolve_duplicates,
)
from analysis.claims.duplicates import key_hash
from analysis.claims.headers import read_column_map
from analysis.claims.rules import AMOUNT_COLUMNS, DUPLICATE_KEY
from analysis.claims.sources import expand_paths
from analysis.claims.window import check_settings
from analysis.defaults import MAX_LINE_USD
from analysis.encounters import LinkSettings, link
from analysis.errors import InputError
from analysis.paths import SAMPLE_CLAIMS
from analysis.revenue_base import baskets_frame
from analysis.revenue_engine import price_baskets
from analysis.summary import (
    PERIODS,
    add_summaries,
    coarsen,
    empty_summary,
    summarize_linked,
)

__all__ = [
    "ENGINES",
    "Progress",
    "ScaleReport",
    "ScaleResult",
    "StreamSettings",
    "key_hash",
    "relevant_codes",
    "summarize_files",
    "summary_for_cli",
]

ENGINES: tuple[str, ...] = ("memory", "stream", "dask")
_KEY = list(DUPLICATE_KEY)


def relevant_codes(*, ct_mr_include: Iterable[str] = (),
                   ct_mr_exclude: Iterable[str] = ()) -> frozenset[str]:
    """CPT codes whose lines can change a summary (see *Relevant line* above).

    Examples
    --------
    >>> codes_kept = relevant_codes()
    >>> {"74177", "76376", "76377"} <= codes_kept, "99213" in codes_kept
    (True, False)
    """
    ct = codes.ct_mr_codes(include=tuple(ct_mr_include), exclude=tuple(ct_mr_exclude))
    return frozenset(
        set(ct["cpt_code"]) | set(codes.CODES_3D)
        | codes.do_not_report_with("76376") | codes.do_not_report_with("76377")
    )


@dataclass(frozen=True)
class StreamSettings:
    """How :func:`summarize_files` reads and partitions (validated, serializable).

    Parameters
    ----------
    engine : {"memory", "stream", "dask"}
    workers : int, default 1
        ``stream`` only: worker processes for the row checks (1 = in this process);
        each holds one batch. DuckDB then links in this process. Workers are started
        with ``spawn``: call from a script's ``if __name__ == "__main__":`` block
        (notebooks and the CLI are fine).
    batch_rows : int, default 200_000
        Rows per batch read (Parquet); CSV is parsed in 16 MB blocks.
    rows_per_piece : int, default 1_000_000
        Parquet rows per spill task (:func:`analysis.claims.plan_pieces`).
    bucket_rows : int, default 500_000
        ``dask`` only: target lines per summary unit (*bucket*). Lines are spilled to
        shards of about a quarter of this (by a hash of ``practice_id``), and the shards are packed
        into units of about ``bucket_rows`` lines once their sizes are known (at least
        two units per worker). Memory of the summary pass grows with it; a practice
        larger than this makes its unit larger.
    n_buckets : int, optional
        ``dask`` only: fixed number of buckets, one shard each (overrides ``bucket_rows``).
    pushdown : bool, default True
        Read only relevant lines. False validates every line (slower; exact even
        for duplicates shared with irrelevant lines).
    memory_limit : str, default "1GB"
        ``stream`` only: DuckDB's memory limit for the duplicates, the link and the
        summary (:mod:`analysis.sql_link`); above it DuckDB spills to the spill folder.
    threads : int, optional
        ``stream`` only: DuckDB's threads (default: the machine's cores).
    """

    engine: str = "stream"
    workers: int = 1
    batch_rows: int = 200_000
    rows_per_piece: int = 1_000_000
    bucket_rows: int = 500_000
    n_buckets: int | None = None
    pushdown: bool = True
    memory_limit: str = "1GB"
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InputError(f"engine must be one of {list(ENGINES)}", column="engine",
                             value=self.engine)
        for name in ("workers", "batch_rows", "rows_per_piece", "bucket_rows"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise InputError("must be a whole number >= 1", column=name, value=v)
        if self.n_buckets is not None and (
                isinstance(self.n_buckets, bool) or not isinstance(self.n_buckets, int)
                or not 1 <= self.n_buckets <= 100_000):
            raise InputError("must be a whole number from 1 to 100,000", column="n_buckets",
                             value=self.n_buckets)
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)",
                            str(self.memory_limit).strip(), flags=re.IGNORECASE):
            raise InputError("must be an amount of memory such as 1GB or 512MB",
                             column="memory_limit", value=self.memory_limit)
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(
                self.threads, int | np.integer) or self.threads < 1):
            raise InputError("must be a whole number >= 1", column="threads",
                             value=self.threads)

    def to_dict(self) -> dict:
        return dict(engine=self.engine, workers=self.workers, batch_rows=self.batch_rows,
                    rows_per_piece=self.rows_per_piece, bucket_rows=self.bucket_rows,
                    n_buckets=self.n_buckets, pushdown=self.pushdown,
                    memory_limit=self.memory_limit, threads=self.threads)


@dataclass(frozen=True)
class ScaleReport:
    """Rows and dollars of a :func:`summarize_files` run, reconciled.

    Attributes
    ----------
    engine : str
    rows_read, rows_accepted, rows_quarantined : int
        ``rows_read == rows_accepted + rows_quarantined``.
    rows_filtered_out : int
        Rows not read because their code is not relevant (0 for ``"memory"`` and with
        ``pushdown=False``).
    blank_rows : int
    quarantined_by_reason : dict
        Reason (:data:`analysis.claims.QUARANTINE_REASONS`) -> rows.
    amounts : dict
        ``allowed_usd`` / ``paid_usd`` -> :class:`analysis.claims.AmountTotals`.
    n_pieces, n_buckets, largest_bucket_rows : int
        Spill tasks, summary units (buckets), and the most candidate lines in one unit.
    seconds : float
        Wall time of the run.
    settings : dict
        :meth:`StreamSettings.to_dict`.
    n_shards : int
        Spill shards (by practice hash) packed into the units.
    """

    engine: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_filtered_out: int
    blank_rows: int
    quarantined_by_reason: dict[str, int]
    amounts: dict[str, AmountTotals]
    n_pieces: int = 0
    n_buckets: int = 0
    largest_bucket_rows: int = 0
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)
    n_shards: int = 0
    study_window: str | None = None

    @property
    def reconciles(self) -> bool:
        """Rows read = accepted + quarantined, and every amount's dollars likewise."""
        return (self.rows_read == self.rows_accepted + self.rows_quarantined
                and all(a.reconciles for a in self.amounts.values()))

    @property
    def summary(self) -> pd.DataFrame:
        """Counts as a two-column table (``measure``, ``value``)."""
        rows = [
            ("engine", self.engine),
            ("rows read (validated)", self.rows_read),
            ("rows accepted", self.rows_accepted),
            ("rows quarantined", self.rows_quarantined),
            ("rows filtered out (codes not relevant)", self.rows_filtered_out),
            ("blank rows", self.blank_rows),
            ("service dates accepted", self.study_window or "any (no study window)"),
        ] + [(f"quarantined: {r}", n) for r, n in self.quarantined_by_reason.items() if n] + [
            (f"{c} read / accepted / quarantined (cents)",
             f"{a.read_cents} / {a.accepted_cents} / {a.quarantined_cents}")
            for c, a in self.amounts.items()
        ] + [
            ("reconciles", self.reconciles),
            ("pieces / shards / buckets",
             f"{self.n_pieces} / {self.n_shards} / {self.n_buckets}"),
            ("largest bucket (lines)", self.largest_bucket_rows),
            ("wall time (s)", round(self.seconds, 2)),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).astype({"value": str})

    def _repr_html_(self) -> str:
        return "<p><b>Claims read for the practice summary</b></p>" + self.summary.to_html(
            index=False)

    def to_dict(self) -> dict:
        return dict(engine=self.engine, rows_read=self.rows_read,
                    rows_accepted=self.rows_accepted, rows_quarantined=self.rows_quarantined,
                    rows_filtered_out=self.rows_filtered_out, blank_rows=self.blank_rows,
                    quarantined_by_reason=dict(self.quarantined_by_reason),
                    amounts={c: a.to_dict() for c, a in self.amounts.items()},
                    n_pieces=self.n_pieces, n_buckets=self.n_buckets,
                    largest_bucket_rows=self.largest_bucket_rows, seconds=self.seconds,
                    settings=dict(self.settings), n_shards=self.n_shards,
                    study_window=self.study_window)


@dataclass(frozen=True, eq=False)
class ScaleResult:
    """The practice summary and how it was read.

    Attributes
    ----------
    summary : DataFrame
        As :func:`analysis.summary.summarize` (one row per practice x period x payer),
        for the first period asked for.
    report : ScaleReport
    summaries : dict
        ``{period: summary}`` for every period asked for (the lines are linked once).
    baskets : DataFrame
        Each practice's price basket (:func:`analysis.revenue_engine.price_baskets`:
        its fee-schedule-priced 3D units by code, component, setting and state;
        :data:`analysis.revenue_base.BASKET_COLUMNS`), for
        :func:`analysis.impact.impact_base`'s ``baskets``. The same table from every
        engine; no patient or claim identifier.
    """

    summary: pd.DataFrame
    report: ScaleReport
    summaries: dict[str, pd.DataFrame] = field(default_factory=dict)
    baskets: pd.DataFrame = field(default_factory=baskets_frame)

    def _repr_html_(self) -> str:
        return self.report._repr_html_() + self.summary.head(20).to_html(index=False)


# ----------------------------------------------------------------- tasks

def _bucket_of(practice_id: pd.Series, n_buckets: int) -> np.ndarray:
    # pandas' hash is keyed and deterministic across processes and machines
    h = pd.util.hash_array(practice_id.to_numpy(dtype=object))
    return (h % np.uint64(n_buckets)).astype(np.int64)


def _shard_of(practice_id: pa.ChunkedArray | pa.Array, n_shards: int) -> np.ndarray:
    """:func:`_bucket_of` computed once per distinct practice of the batch."""
    enc = pc.dictionary_encode(practice_id)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    per_value = _bucket_of(pd.Series(enc.dictionary.to_pylist(), dtype=object), n_shards)
    return per_value[enc.indices.to_numpy(zero_copy_only=False)].astype(np.int32)


_Where = list  # [(path of an Arrow IPC file, [record-batch indices])], in piece order


def _read_batches(where: _Where, columns: list[str] | None = None) -> pa.Table | None:
    batches = []
    for path, idx in where:
        reader = pa.ipc.open_file(pa.memory_map(path))
        for i in idx:
            b = reader.get_batch(i)
            batches.append(b if columns is None else b.select(columns))
    return pa.Table.from_batches(batches) if batches else None


class _Spill:
    """Writes the candidates of one piece: lines by shard, key hashes by key partition.

    Lines go to ``lines/p{piece}.arrow`` and key hashes to ``keys/p{piece}.arrow``
    (Arrow IPC files, one record batch per shard or partition and flush); ``where``
    maps each shard and key partition to its record batches.
    """

    def __init__(self, root: Path, index: int, n_shards: int, n_key_parts: int) -> None:
        self.root, self.index = root, index
        self.n_shards, self.n_key_parts = n_shards, n_key_parts
        self.writers: dict[str, Any] = {}
        self.n_batches = {"lines": 0, "keys": 0}
        self.lines: dict[int, list[int]] = {}
        self.keys: dict[int, list[int]] = {}
        self.shard_rows = np.zeros(n_shards, dtype=np.int64)

    def _write(self, kind: str, table: pa.Table, group: np.ndarray, into: dict) -> None:
        """Write ``table`` as record batches of one ``group`` value each, in row order
        within each group: runs of equal values as zero-copy slices when the rows
        come grouped (claims exported practice by practice), else after a stable sort."""
        if kind not in self.writers:
            path = self.root / kind / f"p{self.index:06d}.arrow"
            path.parent.mkdir(exist_ok=True)
            self.writers[kind] = (path, pa.ipc.new_file(path, table.schema))
        path, writer = self.writers[kind]
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        if len(starts) > 64 + len(group) // 20_000:  # scattered: sort the groups
            order = np.argsort(group, kind="stable")
            table, group = table.take(pa.array(order)), group[order]
            starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        table = table.combine_chunks()
        ends = np.r_[starts[1:], len(group)]
        for lo, hi in zip(starts, ends, strict=True):
            for batch in table.slice(lo, hi - lo).to_batches():
                writer.write_batch(batch)
                into.setdefault(int(group[lo]), []).append(self.n_batches[kind])
                self.n_batches[kind] += 1

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        shard = _shard_of(table.column("practice_id"), self.n_shards)
        h = key_hash(table.column("claim_id"), table.column("line_number").to_numpy())
        self.shard_rows += np.bincount(shard, minlength=self.n_shards)
        lines = table.append_column("_h", pa.array(h)).append_column("_s", pa.array(shard))
        self._write("lines", lines, shard, self.lines)
        part = (h % np.uint64(self.n_key_parts)).astype(np.int64)
        self._write("keys", pa.table({"h": pa.array(h), "s": pa.array(shard)}), part,
                    self.keys)

    def close(self) -> dict[str, Any]:
        for _, writer in self.writers.values():
            writer.close()
        paths = {k: str(p) for k, (p, _) in self.writers.items()}
        return dict(lines={s: (paths["lines"], idx) for s, idx in self.lines.items()},
                    keys={j: (paths["keys"], idx) for j, idx in self.keys.items()},
                    shard_rows=self.shard_rows)


class _FlatSpill:
    """Writes the candidates of one piece, in file order, to ``lines/p{piece}.parquet``
    for the DuckDB pass (no shards: DuckDB partitions and spills by itself); counts
    their rows, dollars (whole cents) and missing amounts on the way."""

    def __init__(self, root: Path, index: int) -> None:
        self.path = root / "lines" / f"p{index:06d}.parquet"
        self.path.parent.mkdir(exist_ok=True)
        self.writer = None
        self.rows = 0
        self.cents = dict.fromkeys(AMOUNT_COLUMNS, 0)
        self.missing = dict.fromkeys(AMOUNT_COLUMNS, 0)

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="lz4")
        self.writer.write_table(table, row_group_size=len(table))
        self.rows += table.num_rows
        for c in AMOUNT_COLUMNS:
            col = table.column(c)
            self.missing[c] += col.null_count
            cents = pc.sum(pc.cast(pc.round(pc.multiply(col, 100)), pa.int64()))
            self.cents[c] += int(cents.as_py() or 0)

    def close(self) -> dict[str, Any]:
        if self.writer is not None:
            self.writer.close()
        return dict(flat=str(self.path) if self.writer is not None else None,
                    candidates=self.rows, candidate_cents=self.cents,
                    candidate_missing=self.missing)


def _spill_piece(piece: ClaimsPiece, *, spill_dir: str, n_shards: int,
                 n_key_parts: int, keep_codes: frozenset[str] | None, column_map,
                 encoding: str, delimiter: str | None, batch_rows: int,
                 flush_rows: int = 500_000, checks=None) -> dict[str, Any]:
    """Read, filter and row-check one piece; spill its candidates by shard (or, with
    ``n_shards=0``, to one Parquet file for the DuckDB pass).

    Returns the piece's counts and where its lines (and key hashes) were written.
    """
    counts: dict[str, Any] = dict(rows_read=0, rows_filtered_out=0, blank_rows=0,
                                  quarantined={}, q_cents={},
                                  read_cents=dict.fromkeys(AMOUNT_COLUMNS, 0),
                                  unparsed=dict.fromkeys(AMOUNT_COLUMNS, 0))
    spill = (_FlatSpill(Path(spill_dir), piece.index) if n_shards == 0
             else _Spill(Path(spill_dir), piece.index, n_shards, n_key_parts))
    buffer: list[pa.Table] = []
    buffered = 0
    try:
        for batch in check_piece(piece, keep_codes=keep_codes, column_map=column_map,
                                 encoding=encoding, delimiter=delimiter,
                                 batch_rows=batch_rows, as_arrow=True, checks=checks):
            for k in ("rows_read", "rows_filtered_out", "blank_rows"):
                counts[k] += getattr(batch, k)
            for r, n in batch.quarantined_by_reason.items():
                counts["quarantined"][r] = counts["quarantined"].get(r, 0) + n
                qc = counts["q_cents"].setdefault(r, dict.fromkeys(AMOUNT_COLUMNS, 0))
                for c in AMOUNT_COLUMNS:
                    qc[c] += batch.quarantined_cents[r][c]
            for c in AMOUNT_COLUMNS:
                counts["read_cents"][c] += batch.read_cents.get(c, 0)
                counts["unparsed"][c] += batch.unparsed_rows.get(c, 0)
            if batch.candidates.num_rows:
                buffer.append(batch.candidates)
                buffered += batch.candidates.num_rows
            if buffered >= flush_rows:
                spill.add(pa.concat_tables(buffer))
                buffer, buffered = [], 0
        if buffer:
            spill.add(pa.concat_tables(buffer))
    finally:
        where = spill.close()
    return counts | where


def _conflict_hashes(where: _Where) -> np.ndarray:
    """Key hashes (of one key partition) seen in more than one shard."""
    table = _read_batches(where)
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


def _keys_with_hashes(where: _Where, hashes: np.ndarray) -> pd.DataFrame:
    """The exact keys (and shard) of a unit's lines whose key hash is in ``hashes``."""
    table = _read_batches(where, columns=[*_KEY, "_h", "_s"])
    if table is None:
        return pd.DataFrame({"claim_id": pd.Series(dtype="string"),
                             "line_number": pd.Series(dtype="int64"),
                             "_s": pd.Series(dtype="int32")})
    hit = np.isin(table.column("_h").to_numpy(), hashes)
    frame = arrow_to_lines(table.filter(pa.array(hit)).select([*_KEY, "_s"]))
    return frame.drop_duplicates()


def _summarize_unit(where: _Where, *, conflicting_keys: pd.DataFrame | None,
                    periods: tuple[str, ...], link_options: Mapping[str, Any]
                    ) -> dict[str, Any]:
    """Resolve duplicates, link once and summarize the lines of one unit (whole shards)
    for each of ``periods``."""
    table = _read_batches(where)
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


def _pack(sizes: np.ndarray, n_units: int) -> list[list[int]]:
    """Shards (by size) into at most ``n_units`` units of similar size: largest shard
    first, each to the unit with the fewest lines so far (LPT scheduling)."""
    busy = [int(i) for i in np.argsort(-sizes, kind="stable") if sizes[i] > 0]
    n_units = max(1, min(n_units, len(busy)))
    units: list[list[int]] = [[] for _ in range(n_units)]
    load = np.zeros(n_units, dtype=np.int64)
    for shard in busy:
        u = int(np.argmin(load))
        units[u].append(shard)
        load[u] += sizes[shard]
    return [sorted(u) for u in units if u]


# ----------------------------------------------------------------- drivers


class _Serial:
    """Runs tasks one after another in this process (``stream`` with one worker)."""

    n_workers = 1

    def map(self, fn, items, done=None):
        out = []
        for x in items:
            out.append(fn(x))
            if done is not None:
                done(out[-1])
        return out

    def close(self) -> None:
        pass


class _Processes:
    """Runs tasks in a pool of worker processes (``stream`` with ``workers > 1``)."""

    def __init__(self, n_workers: int) -> None:
        self.n_workers = n_workers
        self.pool = ProcessPoolExecutor(max_workers=n_workers,
                                        mp_context=mp.get_context("spawn"))

    def map(self, fn, items, done=None):
        out = []
        for result in self.pool.map(fn, items):  # in order, as they finish
            out.append(result)
            if done is not None:
                done(result)
        return out

    def close(self) -> None:
        self.pool.shutdown()  # idempotent


class _Dask:
    """Runs tasks on a dask.distributed cluster (the ``dask`` engine)."""

    def __init__(self, scheduler) -> None:
        try:  # an optional extra, so imported only when the dask engine runs
            import distributed
        except ImportError:  # pragma: no cover - depends on the install
            raise InputError("the dask engine needs the distributed extra: "
                             "pip install 'rad3d[distributed]'", column="engine",
                             value="dask") from None
        self._own: list = []
        if scheduler is None:
            cluster = distributed.LocalCluster(n_workers=min(os.cpu_count() or 1, 4),
                                               threads_per_worker=1, processes=True,
                                               dashboard_address=None)
            self.client = distributed.Client(cluster)
            self._own = [self.client, cluster]
        elif isinstance(scheduler, distributed.Client):
            self.client = scheduler
        else:
            try:
                self.client = distributed.Client(str(scheduler), timeout="30s")
            except (OSError, TimeoutError) as err:
                raise InputError(f"cannot connect to the Dask scheduler ({err})",
                                 column="scheduler", value=str(scheduler)) from None
            self._own = [self.client]

    @property
    def n_workers(self) -> int:
        return max(len(self.client.scheduler_info().get("workers", {})), 1)

    def map(self, fn, items, done=None):
        items = list(items)
        if not items:
            return []
        futures = self.client.map(fn, items, pure=False)
        if done is not None:
            import distributed
            for future in distributed.as_completed(futures):
                done(future.result())
        return self.client.gather(futures)

    def close(self) -> None:
        for obj in self._own:
            obj.close()


class Progress:
    """Progress of a long :func:`summarize_files` run, on a text stream (stderr).

    On a terminal one status line is rewritten in place: lines read and quarantined
    while the pieces are read, then practices done while the units are summarized.
    Elsewhere (a pipe, a log file, CI) nothing is written until the end, then one
    summary line; :meth:`quiet` writes nothing at all.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(out, live=False)
    >>> p.read({"rows_read": 1200, "quarantined": {"bad_date": 3}})
    >>> p.finish(rows_accepted=1197, seconds=2.0)
    >>> out.getvalue()
    'claims: 1,200 lines read, 3 quarantined, 1,197 accepted, 0 practices in 2.0 s\\n'
    """

    def __init__(self, stream=None, *, live: bool | None = None, enabled: bool = True) -> None:
        import sys
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.live = (enabled and bool(getattr(self.stream, "isatty", lambda: False)())
                     if live is None else live and enabled)
        self.rows = self.quarantined = self.pieces = self.practices = 0
        self.n_pieces = self.n_units = self.units = 0

    @classmethod
    def quiet(cls) -> Progress:
        return cls(enabled=False)

    def _show(self, text: str) -> None:
        if self.live:
            self.stream.write("\r" + text.ljust(78)[:120])
            self.stream.flush()

    def read(self, part: Mapping[str, Any]) -> None:
        """One piece of the input read and checked."""
        self.pieces += 1
        self.rows += int(part.get("rows_read", 0))
        self.quarantined += sum(int(n) for n in part.get("quarantined", {}).values())
        self._show(f"claims: {self.rows:,} lines read, {self.quarantined:,} quarantined"
                   f" (piece {self.pieces:,}" + (f" of {self.n_pieces:,})" if self.n_pieces
                                                 else ")"))

    def summarized(self, unit: Mapping[str, Any]) -> None:
        """One unit of whole practices linked and summarized."""
        self.units += 1
        summaries = unit.get("summaries") or {}
        first = next(iter(summaries.values()), None)
        if first is not None and len(first):
            self.practices += int(first["practice_id"].nunique())
        self.quarantined += sum(int(n) for n in unit.get("dup", {}).values())
        self._show(f"practices: {self.practices:,} done (unit {self.units:,}"
                   + (f" of {self.n_units:,})" if self.n_units else ")"))

    def finish(self, *, rows_accepted: int, seconds: float) -> None:
        """The one summary line (also when not on a terminal)."""
        if not self.enabled:
            return
        end = "\r" if self.live else ""
        self.stream.write(f"{end}claims: {self.rows:,} lines read, {self.quarantined:,} "
                          f"quarantined, {rows_accepted:,} accepted, {self.practices:,} "
                          f"practices in {seconds:.1f} s".ljust(78 if self.live else 0) + "\n")
        self.stream.flush()


def _estimate_rows(pieces: list[ClaimsPiece]) -> int:
    total = 0
    for p in pieces:
        if p.n_rows >= 0:
            total += p.n_rows
        else:  # CSV: about 120 bytes a line, 4x that gzipped
            size = os.path.getsize(p.path)
            total += size // (30 if p.gzip else 120)
    return total


def summarize_files(
    paths,
    *,
    engine: str = "stream",
    period: str | Sequence[str] = "year",
    scheduler: Any = None,
    workers: int = 1,
    batch_rows: int = 200_000,
    rows_per_piece: int = 1_000_000,
    bucket_rows: int = 500_000,
    n_buckets: int | None = None,
    pushdown: bool = True,
    memory_limit: str = "1GB",
    threads: int | None = None,
    spill_dir: str | os.PathLike | None = None,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    study_window="auto",
    max_line_usd: float = MAX_LINE_USD,
    progress: Progress | None = None,
    **link_options,
) -> ScaleResult:
    """Summarize claim files per practice x period x payer with a chosen engine.

    Parameters
    ----------
    paths : path, glob, directory (hive-partitioned Parquet dataset) or a list of them
        CSV (also gzipped) and Parquet, as :func:`analysis.claims.load_claims` reads.
    engine : {"memory", "stream", "dask"}
        See the module docstring. All three give the same summary.
    period : {"year", "quarter"} or a sequence of them
        With several (``("year", "quarter")``), the lines are read and linked once and
        :attr:`ScaleResult.summaries` holds one summary per period.
    scheduler : str or distributed.Client, optional
        Dask only: scheduler address of an existing cluster (``tcp://host:8786``) or a
        client. Default: start a ``LocalCluster`` of worker processes for this call.
    workers, batch_rows, rows_per_piece, bucket_rows, n_buckets, pushdown, memory_limit, threads
        See :class:`StreamSettings`.
    spill_dir : path, optional
        Where the temporary spill files go (a fresh subfolder, removed afterwards);
        default the system temporary folder. On a multi-machine Dask cluster it must
        be shared storage every worker can read and write.
    column_map, encoding, delimiter, study_window, max_line_usd
        As :func:`analysis.claims.load_claims`: by default, service dates outside the
        claims' years +/- 1 are quarantined, the window found from the files once, before
        any engine runs, so that every engine checks the same one.
    progress : Progress, optional
        Where to report progress (lines read and quarantined, practices done) and the
        final summary line; default none. The CLI passes ``Progress()`` (stderr).
    **link_options
        Keywords of :func:`analysis.encounters.link` (``link_window_days``,
        ``ct_mr_include``, ...).

    Returns
    -------
    ScaleResult
        ``summary`` (as :func:`analysis.summary.summarize`), ``report``
        (:class:`ScaleReport`) and each practice's price ``baskets``.

    Raises
    ------
    InputError
        Bad settings, unreadable files (as :func:`~analysis.claims.load_claims`), an
        unreachable scheduler.

    Examples
    --------
    >>> r = summarize_files("claims/*.parquet", engine="dask",
    ...                     scheduler="tcp://10.0.0.5:8786")  # doctest: +SKIP
    >>> r.summary.equals(summarize_files("claims/*.parquet", engine="memory").summary
    ...                  )  # doctest: +SKIP
    True
    """
    settings = StreamSettings(engine=engine, workers=workers, batch_rows=batch_rows,
                              rows_per_piece=rows_per_piece, bucket_rows=bucket_rows,
                              n_buckets=n_buckets, pushdown=bool(pushdown),
                              memory_limit=memory_limit, threads=threads)
    periods = (period,) if isinstance(period, str) else tuple(period)
    bad = [p for p in periods if p not in PERIODS]
    if bad or not periods:
        raise InputError(f"period must be one of {list(PERIODS)}", column="period",
                         value=bad[0] if bad else "")
    if scheduler is not None and engine != "dask":
        raise InputError("a scheduler is only used by the dask engine; add engine='dask' "
                         "(--engine dask)", column="scheduler", value=str(scheduler))
    start = time.perf_counter()
    progress = Progress.quiet() if progress is None else progress
    checks = check_settings(expand_paths(paths), study_window=study_window,
                            max_line_usd=max_line_usd, column_map=read_column_map(column_map),
                            encoding=encoding, delimiter=delimiter)
    window = checks.study_window
    if engine == "memory":
        loaded = load_claims(paths, column_map=column_map, encoding=encoding,
                             delimiter=delimiter, study_window=window,
                             max_line_usd=checks.max_line_usd)
        rep = loaded.report
        linked = link(loaded.lines, **link_options)
        summaries = {p: summarize_linked(linked, period=p) for p in periods}
        baskets = price_baskets(linked.lines_3d)
        return ScaleResult(summaries[periods[0]], ScaleReport(
            engine=engine, rows_read=rep.rows_read, rows_accepted=rep.rows_accepted,
            rows_quarantined=rep.rows_quarantined, rows_filtered_out=0,
            blank_rows=rep.blank_rows, quarantined_by_reason=dict(rep.quarantined_by_reason),
            amounts=dict(rep.amounts), n_pieces=len(rep.files), n_buckets=1,
            largest_bucket_rows=rep.rows_accepted, seconds=time.perf_counter() - start,
            settings=settings.to_dict(), study_window=rep.study_window), summaries,
            baskets)

    # link options are validated (and the relevant codes fixed) before any reading
    LinkSettings(**{k: v for k, v in link_options.items() if k not in ("rvu", "gpci")})
    keep = relevant_codes(ct_mr_include=link_options.get("ct_mr_include", ()),
                          ct_mr_exclude=link_options.get("ct_mr_exclude", ())
                          ) if pushdown else None
    pieces = plan_pieces(paths, rows_per_piece=rows_per_piece)
    if engine == "dask":
        runner = _Dask(scheduler)
    elif workers > 1 and len(pieces) > 1:
        runner = _Processes(workers)
    else:
        runner = _Serial()
    try:
        estimate = _estimate_rows(pieces)
        if n_buckets is not None:
            n_shards = n_buckets
        else:  # shards of about a quarter unit, packed into units after the spill
            n_shards = int(np.clip(math.ceil(4 * estimate / bucket_rows), 1, 4096))
            n_shards = max(n_shards, 4 * runner.n_workers) if runner.n_workers > 1 else n_shards
        n_key_parts = int(np.clip(math.ceil(estimate / 4_000_000), 1, 256))
        tmp_root = None if spill_dir is None else os.fspath(spill_dir)
        workdir = tempfile.mkdtemp(prefix="rad3d-spill-", dir=tmp_root)
        try:
            if engine == "stream":
                return _sql_pass(runner, pieces, workdir, keep, settings, start,
                                 column_map=column_map, encoding=encoding,
                                 delimiter=delimiter, periods=periods,
                                 link_options=link_options, progress=progress,
                                 checks=checks)
            return _two_passes(runner, pieces, workdir, n_shards, n_key_parts, keep, settings,
                               start, column_map=column_map, encoding=encoding,
                               delimiter=delimiter, periods=periods,
                               link_options=link_options, progress=progress, checks=checks)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        runner.close()


def _quarantine_totals(parts, duplicates) -> tuple[dict, dict]:
    """Rows and cents quarantined, by reason: the row checks of every piece plus the
    duplicate checks, given as ``(rows by reason, cents by reason)`` pairs."""
    quarantined = dict.fromkeys(QUARANTINE_REASONS, 0)
    q_cents = {r: dict.fromkeys(AMOUNT_COLUMNS, 0) for r in QUARANTINE_REASONS}
    counts = [(p["quarantined"], p["q_cents"]) for p in parts] + list(duplicates)
    for rows, cents in counts:
        for r, n in rows.items():
            quarantined[r] += n
            for c in AMOUNT_COLUMNS:
                q_cents[r][c] += cents[r][c]
    return quarantined, q_cents


def _two_passes(runner, pieces, workdir: str, n_shards: int, n_key_parts: int, keep,
                settings: StreamSettings, start: float, *, column_map, encoding, delimiter,
                periods, link_options, progress: Progress, checks=None) -> ScaleResult:
    spill = partial(_spill_piece, spill_dir=workdir, n_shards=n_shards,
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
        units = _pack(shard_rows, n_units)

    def where(kind: str, shards) -> _Where:
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
    if runner.n_workers > 1 and isinstance(runner, _Processes):
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

    quarantined, q_cents = _quarantine_totals(
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


def _sql_pass(runner, pieces, workdir: str, keep, settings: StreamSettings, start: float,
              *, column_map, encoding, delimiter, periods, link_options,
              progress: Progress, checks=None) -> ScaleResult:
    """The default engine: row checks in Arrow batches (in ``runner``'s processes),
    candidates spilled to Parquet, then duplicates, link and summary in DuckDB."""
    spill = partial(_spill_piece, spill_dir=workdir, n_shards=0, n_key_parts=0,
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

    quarantined, q_cents = _quarantine_totals(parts, [(dup.rows, dup.cents)])
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


def summary_for_cli(paths, *, engine: str = "stream", scheduler: Any = None,
                    period: str = "year", **options) -> ScaleResult:
    """What a CLI command that reads claims calls: :func:`summarize_files` with the
    engine flags (``--engine stream|dask``, ``--scheduler ADDRESS``).

    ``paths`` may be empty: the bundled synthetic sample is read. Options are those
    of :func:`summarize_files` (link options included).
    """
    paths = list(paths) if not isinstance(paths, str | os.PathLike) else [paths]
    paths = paths or [str(SAMPLE_CLAIMS)]
    return summarize_files(paths, engine=engine, scheduler=scheduler, period=period,
                           **options)
