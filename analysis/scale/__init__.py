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
    file, and not the largest practice. The pieces are checked in one process per core
    (at most one per piece, at most four; ``workers``); DuckDB uses ``threads``.
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
:mod:`analysis.summary` (dask, memory). One file per part: :mod:`.settings` (the
relevant codes, :class:`StreamSettings`), :mod:`.results` (:class:`ScaleResult` and its
reconciled :class:`ScaleReport`), :mod:`.spill` (checking a piece and spilling its
lines), :mod:`.runners` (in this process, in worker processes, on Dask),
:mod:`.progress`, :mod:`.stream` (the default engine's DuckDB pass) and :mod:`.shards`
(the Dask engine's passes); :func:`summarize_files` here chooses among them.

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

import dataclasses
import math
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from analysis.claims import (
    load_claims,
    plan_pieces,
)
from analysis.claims.duplicates import key_hash
from analysis.claims.headers import read_column_map
from analysis.claims.sources import expand_paths
from analysis.claims.window import check_settings
from analysis.defaults import MAX_LINE_USD
from analysis.encounters import LinkSettings, link
from analysis.errors import InputError
from analysis.paths import SAMPLE_CLAIMS
from analysis.revenue_engine import price_baskets
from analysis.scale.progress import Progress, estimate_rows
from analysis.scale.results import ScaleReport, ScaleResult
from analysis.scale.runners import DaskRunner, Processes, Serial
from analysis.scale.settings import ENGINES, StreamSettings, auto_workers, relevant_codes
from analysis.scale.shards import shard_passes
from analysis.scale.stream import sql_pass
from analysis.summary import (
    PERIODS,
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



def summarize_files(
    paths,
    *,
    engine: str = "stream",
    period: str | Sequence[str] = "year",
    scheduler: Any = None,
    workers: int | None = None,
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
    workers : int, optional
        ``stream`` only: check processes; default one per core, at most one per piece
        and at most four (:func:`~analysis.scale.settings.auto_workers`).
    batch_rows, rows_per_piece, bucket_rows, n_buckets, pushdown, memory_limit, threads
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
    settings = StreamSettings(engine=engine, workers=1 if workers is None else workers,
                              batch_rows=batch_rows,
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
    # finding the window read every service date: Arrow's allocator keeps the freed
    # buffers for reuse (300 MB after 10 M lines); give them back before the checks
    # start their own processes
    pa.default_memory_pool().release_unused()
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
    if workers is None and engine == "stream":
        settings = dataclasses.replace(settings, workers=auto_workers(len(pieces)))
    workers = settings.workers
    if engine == "dask":
        runner = DaskRunner(scheduler)
    elif workers > 1 and len(pieces) > 1:
        runner = Processes(workers)
    else:
        runner = Serial()
    try:
        estimate = estimate_rows(pieces)
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
                return sql_pass(runner, pieces, workdir, keep, settings, start,
                                 column_map=column_map, encoding=encoding,
                                 delimiter=delimiter, periods=periods,
                                 link_options=link_options, progress=progress,
                                 checks=checks)
            return shard_passes(runner, pieces, workdir, n_shards, n_key_parts, keep, settings,
                               start, column_map=column_map, encoding=encoding,
                               delimiter=delimiter, periods=periods,
                               link_options=link_options, progress=progress, checks=checks)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        runner.close()




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
