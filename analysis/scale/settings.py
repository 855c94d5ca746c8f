"""What the engines are told: the relevant codes and :class:`StreamSettings`.
"""


from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from analysis import codes
from analysis.errors import InputError

ENGINES: tuple[str, ...] = ("memory", "stream", "dask")
"""The engines of :func:`analysis.scale.summarize_files`."""


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
        each holds one batch. DuckDB then links in this process.
        :func:`summarize_files` chooses it when not given (:func:`auto_workers`).
        Workers are started with ``spawn``: call from a script's
        ``if __name__ == "__main__":`` block (notebooks and the CLI are fine).
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


MAX_AUTO_WORKERS = 4
"""At most this many check processes are chosen by themselves: each holds a batch and
a Python process (some 150-250 MB), so memory stays bounded on a machine of many cores."""


def auto_workers(n_pieces: int, cores: int | None = None) -> int:
    """Check processes when none are asked for: one per core, at most one per piece
    and at most :data:`MAX_AUTO_WORKERS` (a single piece is checked in this process).

    >>> auto_workers(1, cores=8), auto_workers(3, cores=2), auto_workers(20, cores=64)
    (1, 2, 4)
    """
    if cores is None:
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_pieces, MAX_AUTO_WORKERS))
