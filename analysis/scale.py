"""Summaries of claims of any size: streamed in bounded memory, or on a Dask cluster.

:func:`summarize_files` computes the additive practice summary
(:func:`analysis.summary.summarize`) of claim files too large to load at once. Three
engines give the same numbers:

``"memory"``
    ``summarize(load_claims(paths).lines)``: everything in memory (the reference).
``"stream"``
    Two passes on one machine. *Spill*: each piece of the input (a CSV file, or a run
    of Parquet row groups, :func:`analysis.claims.plan_pieces`) is read in batches,
    keeping only the lines whose code matters (:func:`relevant_codes`; the filter is
    pushed into the Parquet scan), repaired and row-checked exactly as
    :func:`analysis.claims.load_claims` does, and written to ``n_buckets`` temporary
    Parquet files by a hash of ``practice_id``. *Summarize*: each bucket, holding
    whole practices, is read back, its duplicates resolved
    (:func:`analysis.claims.resolve_duplicates`), linked and summarized in memory; the
    partial summaries are added (:func:`analysis.summary.add_summaries`). Peak memory
    is one batch during the spill and the largest bucket (about ``bucket_rows`` lines,
    or the largest practice if bigger) during the summary, not the whole file.
``"dask"``
    The same two kinds of tasks run on a ``dask.distributed`` cluster: one spill task
    per piece, then one summary task per bucket, then the partial summaries are added
    on the client. ``scheduler`` is the address of an existing cluster
    (``tcp://host:8786``) or a ``distributed.Client``; without it a
    ``LocalCluster`` of worker processes is started and closed. The spill directory
    must be visible to every worker (a local disk for a ``LocalCluster``; shared
    storage such as NFS for a cluster of machines). Needs the ``distributed`` extra
    (``pip install rad3d[distributed]``).

This module reads files (it orchestrates :mod:`analysis.claims`) and writes and removes
its temporary spill files; the summaries themselves come from the pure functions of
:mod:`analysis.encounters` and :mod:`analysis.summary`.

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
:func:`~analysis.claims.load_claims` resolves them, across all files and batches: both
copies of a practice's line land in its bucket; a key that appears under two practices
(hence in two buckets) is found by a spilled hash index (one small file per piece) and
all its rows are ``conflicting_duplicate``, as in memory.

Equivalence: for input whose duplicate keys involve relevant lines only, the summary of
every engine equals the in-memory summary exactly (same rows, same float sums, because
each practice's lines are summarized in file order in one piece of work). One
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
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import claims, codes
from analysis.errors import InputError
from analysis.summary import PERIODS, add_summaries, summarize

__all__ = [
    "ENGINES",
    "ScaleReport",
    "ScaleResult",
    "StreamSettings",
    "relevant_codes",
    "summarize_files",
    "summary_for_cli",
]

ENGINES: tuple[str, ...] = ("memory", "stream", "dask")
_AMOUNTS = ("allowed_usd", "paid_usd")
_KEY = ["claim_id", "line_number"]


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
    batch_rows : int, default 200_000
        Rows per batch read (Parquet); CSV is parsed in 16 MB blocks.
    rows_per_piece : int, default 1_000_000
        Parquet rows per spill task (:func:`analysis.claims.plan_pieces`).
    bucket_rows : int, default 1_000_000
        Target lines per bucket; the number of buckets is the rows to read divided by
        this (at least 1, and at least twice the workers on Dask). Memory of the
        summary pass grows with it.
    n_buckets : int, optional
        Fixed number of buckets (overrides ``bucket_rows``).
    pushdown : bool, default True
        Read only relevant lines. False validates every line (slower; exact even
        for duplicates shared with irrelevant lines).
    """

    engine: str = "stream"
    batch_rows: int = 200_000
    rows_per_piece: int = 1_000_000
    bucket_rows: int = 1_000_000
    n_buckets: int | None = None
    pushdown: bool = True

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InputError(f"engine must be one of {list(ENGINES)}", column="engine",
                             value=self.engine)
        for name in ("batch_rows", "rows_per_piece", "bucket_rows"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise InputError("must be a whole number >= 1", column=name, value=v)
        if self.n_buckets is not None and (
                isinstance(self.n_buckets, bool) or not isinstance(self.n_buckets, int)
                or not 1 <= self.n_buckets <= 100_000):
            raise InputError("must be a whole number from 1 to 100,000", column="n_buckets",
                             value=self.n_buckets)

    def to_dict(self) -> dict:
        return dict(engine=self.engine, batch_rows=self.batch_rows,
                    rows_per_piece=self.rows_per_piece, bucket_rows=self.bucket_rows,
                    n_buckets=self.n_buckets, pushdown=self.pushdown)


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
        Spill tasks, buckets, and the most candidate lines in one bucket.
    seconds : float
        Wall time of the run.
    settings : dict
        :meth:`StreamSettings.to_dict`.
    """

    engine: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_filtered_out: int
    blank_rows: int
    quarantined_by_reason: dict[str, int]
    amounts: dict[str, claims.AmountTotals]
    n_pieces: int = 0
    n_buckets: int = 0
    largest_bucket_rows: int = 0
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

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
        ] + [(f"quarantined: {r}", n) for r, n in self.quarantined_by_reason.items() if n] + [
            (f"{c} read / accepted / quarantined (cents)",
             f"{a.read_cents} / {a.accepted_cents} / {a.quarantined_cents}")
            for c, a in self.amounts.items()
        ] + [
            ("reconciles", self.reconciles),
            ("pieces / buckets", f"{self.n_pieces} / {self.n_buckets}"),
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
                    settings=dict(self.settings))


@dataclass(frozen=True, eq=False)
class ScaleResult:
    """The practice summary and how it was read.

    Attributes
    ----------
    summary : DataFrame
        As :func:`analysis.summary.summarize` (one row per practice x period x payer).
    report : ScaleReport
    """

    summary: pd.DataFrame
    report: ScaleReport

    def _repr_html_(self) -> str:
        return self.report._repr_html_() + self.summary.head(20).to_html(index=False)


# ----------------------------------------------------------------- tasks


def _bucket_of(practice_id: pd.Series, n_buckets: int) -> np.ndarray:
    # pandas' hash is keyed and deterministic across processes and machines
    h = pd.util.hash_array(practice_id.to_numpy(dtype=object))
    return (h % np.uint64(n_buckets)).astype(np.int64)


def _key_hash(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame[_KEY], index=False).to_numpy(dtype=np.uint64)


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def _from_arrow(table: pa.Table) -> pd.DataFrame:
    mapper = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}.get
    frame = table.to_pandas(types_mapper=mapper)
    want = {c: claims.empty_lines()[c].dtype for c in claims.CANONICAL_COLUMNS}
    return frame.astype({c: t for c, t in want.items() if frame[c].dtype != t})


def _spill_piece(piece: claims.ClaimsPiece, *, spill_dir: str, n_buckets: int,
                 keep_codes: frozenset[str] | None, column_map, encoding: str,
                 delimiter: str | None, batch_rows: int) -> dict[str, Any]:
    """Read, filter and row-check one piece; write its candidates by bucket.

    Writes ``b{bucket}/p{piece}.parquet`` (candidate lines) and
    ``k{bucket}/p{piece}.parquet`` (distinct key hashes of the piece's lines, by the
    bucket they went to, partitioned by key hash) and returns the piece's counts.
    """
    root = Path(spill_dir)
    writers: dict[str, pq.ParquetWriter] = {}
    counts: dict[str, Any] = dict(rows_read=0, rows_filtered_out=0, blank_rows=0,
                                  quarantined={}, q_cents={}, read_cents=dict.fromkeys(_AMOUNTS, 0),
                                  unparsed=dict.fromkeys(_AMOUNTS, 0),
                                  bucket_rows=np.zeros(n_buckets, dtype=np.int64))
    keys: list[pd.DataFrame] = []

    def write(name: str, table: pa.Table) -> None:
        if name not in writers:
            path = root / name / f"p{piece.index:06d}.parquet"
            path.parent.mkdir(exist_ok=True)
            writers[name] = pq.ParquetWriter(path, table.schema, compression="lz4")
        writers[name].write_table(table)

    try:
        for batch in claims.check_piece(piece, keep_codes=keep_codes, column_map=column_map,
                                        encoding=encoding, delimiter=delimiter,
                                        batch_rows=batch_rows):
            counts["rows_read"] += batch.rows_read
            counts["rows_filtered_out"] += batch.rows_filtered_out
            counts["blank_rows"] += batch.blank_rows
            for r, n in batch.quarantined_by_reason.items():
                counts["quarantined"][r] = counts["quarantined"].get(r, 0) + n
                qc = counts["q_cents"].setdefault(r, dict.fromkeys(_AMOUNTS, 0))
                for c in _AMOUNTS:
                    qc[c] += batch.quarantined_cents[r][c]
            for c in _AMOUNTS:
                counts["read_cents"][c] += batch.read_cents.get(c, 0)
                counts["unparsed"][c] += batch.unparsed_rows.get(c, 0)
            cand = batch.candidates
            if not len(cand):
                continue
            bucket = _bucket_of(cand["practice_id"], n_buckets)
            counts["bucket_rows"] += np.bincount(bucket, minlength=n_buckets)
            keys.append(pd.DataFrame({"h": _key_hash(cand), "b": bucket}))
            order = np.argsort(bucket, kind="stable")  # file order within each bucket
            bounds = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
            table = _to_arrow(cand)
            for b in range(n_buckets):
                lo, hi = bounds[b], bounds[b + 1]
                if hi > lo:
                    write(f"b{b:05d}", table.take(order[lo:hi]))
        if keys:
            k = pd.concat(keys, ignore_index=True).drop_duplicates()
            part = (k["h"].to_numpy() % np.uint64(n_buckets)).astype(np.int64)
            for j in np.unique(part):
                write(f"k{j:05d}", pa.Table.from_pandas(k.loc[part == j], preserve_index=False))
    finally:
        for w in writers.values():
            w.close()
    return counts


def _conflict_hashes(spill_dir: str, j: int) -> np.ndarray:
    """Key hashes of key partition ``j`` seen in more than one bucket."""
    folder = Path(spill_dir) / f"k{j:05d}"
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return np.zeros(0, dtype=np.uint64)
    k = pq.read_table(files).to_pandas().drop_duplicates()
    n = k.groupby("h", sort=False)["b"].size()
    return n.index[n.to_numpy() > 1].to_numpy(dtype=np.uint64)


def _bucket_files(spill_dir: str, b: int) -> list[Path]:
    return sorted((Path(spill_dir) / f"b{b:05d}").glob("*.parquet"))


def _keys_with_hashes(spill_dir: str, b: int, hashes: np.ndarray) -> pd.DataFrame:
    files = _bucket_files(spill_dir, b)
    if not files:
        return pd.DataFrame({"claim_id": pd.Series(dtype="string"),
                             "line_number": pd.Series(dtype="int64"), "b": 0})[:0]
    frame = pq.read_table(files, columns=_KEY).to_pandas(
        types_mapper={pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}.get)
    hit = np.isin(_key_hash(frame), hashes)
    return frame.loc[hit].drop_duplicates().assign(b=b)


def _summarize_bucket(spill_dir: str, b: int, *, conflicting_keys: pd.DataFrame | None,
                      period: str, link_options: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve duplicates, link and summarize the lines of bucket ``b``."""
    files = _bucket_files(spill_dir, b)
    if not files:
        return dict(summary=None, accepted=0, missing=dict.fromkeys(_AMOUNTS, 0),
                    accepted_cents=dict.fromkeys(_AMOUNTS, 0), dup={}, dup_cents={})
    lines = _from_arrow(pq.read_table(files))
    keys = None
    if conflicting_keys is not None and len(conflicting_keys):
        keys = conflicting_keys
    accepted, reasons, cents = claims.resolve_duplicates(lines, conflicting_keys=keys)
    del lines
    acc_cents, missing = {}, {}
    for c in _AMOUNTS:
        v = accepted[c].to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(v)
        acc_cents[c] = int(np.rint(v[ok] * 100).astype(np.int64).sum())
        missing[c] = int((~ok).sum())
    dup = {r: int((reasons == r).sum()) for r in ("conflicting_duplicate", "duplicate_line")}
    return dict(summary=summarize(accepted, period=period, **link_options),
                accepted=len(accepted), accepted_cents=acc_cents, missing=missing, dup=dup,
                dup_cents=dict(cents))


# ----------------------------------------------------------------- drivers


class _Serial:
    """Runs tasks one after another in this process (the ``stream`` engine)."""

    def map(self, fn, items):
        return [fn(x) for x in items]


class _Dask:
    """Runs tasks on a dask.distributed cluster (the ``dask`` engine)."""

    def __init__(self, scheduler) -> None:
        try:
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

    def map(self, fn, items):
        items = list(items)
        if not items:
            return []
        futures = self.client.map(fn, items, pure=False)
        return self.client.gather(futures)

    def close(self) -> None:
        for obj in self._own:
            obj.close()


def _estimate_rows(pieces: list[claims.ClaimsPiece]) -> int:
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
    period: str = "year",
    scheduler: Any = None,
    batch_rows: int = 200_000,
    rows_per_piece: int = 1_000_000,
    bucket_rows: int = 1_000_000,
    n_buckets: int | None = None,
    pushdown: bool = True,
    spill_dir: str | os.PathLike | None = None,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    **link_options,
) -> ScaleResult:
    """Summarize claim files per practice x period x payer with a chosen engine.

    Parameters
    ----------
    paths : path, glob, directory (hive-partitioned Parquet dataset) or a list of them
        CSV (also gzipped) and Parquet, as :func:`analysis.claims.load_claims` reads.
    engine : {"memory", "stream", "dask"}
        See the module docstring. All three give the same summary.
    period : {"year", "quarter"}
    scheduler : str or distributed.Client, optional
        Dask only: scheduler address of an existing cluster (``tcp://host:8786``) or a
        client. Default: start a ``LocalCluster`` of worker processes for this call.
    batch_rows, rows_per_piece, bucket_rows, n_buckets, pushdown
        See :class:`StreamSettings`.
    spill_dir : path, optional
        Where the temporary bucket files go (a fresh subfolder, removed afterwards);
        default the system temporary folder. On a multi-machine Dask cluster it must
        be shared storage every worker can read and write.
    column_map, encoding, delimiter
        As :func:`analysis.claims.load_claims`.
    **link_options
        Keywords of :func:`analysis.encounters.link` (``link_window_days``,
        ``ct_mr_include``, ...).

    Returns
    -------
    ScaleResult
        ``summary`` (as :func:`analysis.summary.summarize`) and ``report``
        (:class:`ScaleReport`).

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
    settings = StreamSettings(engine=engine, batch_rows=batch_rows,
                              rows_per_piece=rows_per_piece, bucket_rows=bucket_rows,
                              n_buckets=n_buckets, pushdown=bool(pushdown))
    if period not in PERIODS:
        raise InputError(f"period must be one of {list(PERIODS)}", column="period", value=period)
    if scheduler is not None and engine != "dask":
        raise InputError("a scheduler is only used by the dask engine; add engine='dask' "
                         "(--engine dask)", column="scheduler", value=str(scheduler))
    start = time.perf_counter()
    if engine == "memory":
        loaded = claims.load_claims(paths, column_map=column_map, encoding=encoding,
                                    delimiter=delimiter)
        rep = loaded.report
        result = summarize(loaded.lines, period=period, **link_options)
        return ScaleResult(result, ScaleReport(
            engine=engine, rows_read=rep.rows_read, rows_accepted=rep.rows_accepted,
            rows_quarantined=rep.rows_quarantined, rows_filtered_out=0,
            blank_rows=rep.blank_rows, quarantined_by_reason=dict(rep.quarantined_by_reason),
            amounts=dict(rep.amounts), n_pieces=len(rep.files), n_buckets=1,
            largest_bucket_rows=rep.rows_accepted, seconds=time.perf_counter() - start,
            settings=settings.to_dict()))

    # link options are validated (and the relevant codes fixed) before any reading
    from analysis.encounters import LinkSettings

    LinkSettings(**{k: v for k, v in link_options.items() if k not in ("rvu", "gpci")})
    keep = relevant_codes(ct_mr_include=link_options.get("ct_mr_include", ()),
                          ct_mr_exclude=link_options.get("ct_mr_exclude", ())
                          ) if pushdown else None
    pieces = claims.plan_pieces(paths, rows_per_piece=rows_per_piece)
    runner = _Dask(scheduler) if engine == "dask" else _Serial()
    try:
        k = n_buckets or max(1, math.ceil(_estimate_rows(pieces) / bucket_rows))
        if engine == "dask" and n_buckets is None:
            k = max(k, 2 * runner.n_workers)
        tmp_root = None if spill_dir is None else os.fspath(spill_dir)
        workdir = tempfile.mkdtemp(prefix="rad3d-spill-", dir=tmp_root)
        try:
            return _two_passes(runner, pieces, workdir, k, keep, settings, start,
                               column_map=column_map, encoding=encoding, delimiter=delimiter,
                               period=period, link_options=link_options)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        if isinstance(runner, _Dask):
            runner.close()


def _two_passes(runner, pieces, workdir: str, k: int, keep, settings: StreamSettings,
                start: float, *, column_map, encoding, delimiter, period, link_options
                ) -> ScaleResult:
    spill = partial(_spill_piece, spill_dir=workdir, n_buckets=k, keep_codes=keep,
                    column_map=column_map, encoding=encoding, delimiter=delimiter,
                    batch_rows=settings.batch_rows)
    parts = runner.map(spill, pieces)
    bucket_rows = np.sum([p["bucket_rows"] for p in parts], axis=0) if parts else np.zeros(k)

    # keys under two practices: hash candidates, then the exact keys
    hashes = runner.map(partial(_conflict_hashes, workdir), range(k))
    hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
    conflicting = None
    if len(hashes):
        found = runner.map(partial(_keys_with_hashes, workdir, hashes=hashes), range(k))
        allk = pd.concat(found, ignore_index=True)
        n_b = allk.groupby(_KEY, sort=False)["b"].nunique()
        conflicting = n_b[n_b > 1].reset_index()[_KEY]

    busy = [b for b in range(k) if bucket_rows[b] > 0]
    done = runner.map(partial(_summarize_bucket, workdir, conflicting_keys=conflicting,
                              period=period, link_options=link_options), busy)
    summary = add_summaries([d["summary"] for d in done if d["summary"] is not None])

    quarantined = dict.fromkeys(claims.QUARANTINE_REASONS, 0)
    q_cents = {r: dict.fromkeys(_AMOUNTS, 0) for r in claims.QUARANTINE_REASONS}
    for p in parts:
        for r, n in p["quarantined"].items():
            quarantined[r] += n
            for c in _AMOUNTS:
                q_cents[r][c] += p["q_cents"][r][c]
    for d in done:
        for r, n in d["dup"].items():
            quarantined[r] += n
            for c in _AMOUNTS:
                q_cents[r][c] += d["dup_cents"][r][c]
    amounts = {
        c: claims.AmountTotals(
            read_cents=sum(p["read_cents"][c] for p in parts),
            accepted_cents=sum(d["accepted_cents"][c] for d in done),
            quarantined_cents=sum(q_cents[r][c] for r in q_cents),
            unparsed_rows=sum(p["unparsed"][c] for p in parts),
            missing_accepted_rows=sum(d["missing"][c] for d in done))
        for c in _AMOUNTS
    }
    report = ScaleReport(
        engine=settings.engine,
        rows_read=sum(p["rows_read"] for p in parts),
        rows_accepted=sum(d["accepted"] for d in done),
        rows_quarantined=sum(quarantined.values()),
        rows_filtered_out=sum(p["rows_filtered_out"] for p in parts),
        blank_rows=sum(p["blank_rows"] for p in parts),
        quarantined_by_reason=quarantined, amounts=amounts, n_pieces=len(pieces),
        n_buckets=k, largest_bucket_rows=int(bucket_rows.max()) if len(bucket_rows) else 0,
        seconds=time.perf_counter() - start, settings=settings.to_dict())
    return ScaleResult(summary=summary, report=report)


def summary_for_cli(paths, *, engine: str = "memory", scheduler: Any = None,
                    period: str = "year", **options) -> ScaleResult:
    """What a CLI command that reads claims calls: :func:`summarize_files` with the
    engine flags (``--engine memory|stream|dask``, ``--scheduler ADDRESS``).

    ``paths`` may be empty: the bundled synthetic sample is read. Options are those
    of :func:`summarize_files` (link options included).
    """
    from analysis import synth

    paths = list(paths) if not isinstance(paths, str | os.PathLike) else [paths]
    paths = paths or [str(synth.SAMPLE_CLAIMS)]
    return summarize_files(paths, engine=engine, scheduler=scheduler, period=period,
                           **options)
