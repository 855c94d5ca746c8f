"""Writing and reading the generator's files: claim lines, the truth, damaged copies.

Lines go to Parquet (zstd, the canonical types of :data:`PARQUET_SCHEMA`) or to CSV,
gzipped when the name ends in ``.gz``; every file is written atomically
(:func:`analysis._io.write_atomic`) and byte for byte the same for the same seed, so
the bundled samples in ``data/sample`` can be regenerated and compared.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis._io import write_atomic, write_bytes
from analysis.errors import InputError
from analysis.schema import CANONICAL_ARROW_SCHEMA, CANONICAL_COLUMNS, STRING_COLUMNS
from analysis.synth.claims import (
    Synthetic,
    check_args,
    check_span_args,
    generate_batches,
    generate_years_batches,
)
from analysis.synth.damage import Damage
from analysis.synth.model import SAMPLE_SCALE, SynthSettings
from analysis.synth.years import PolicyResponse, SpanSettings

__all__ = [
    "PARQUET_SCHEMA",
    "read_lines",
    "to_arrow",
    "write_damaged",
    "write_lines",
    "write_synthetic",
    "write_truth",
]

PARQUET_SCHEMA: pa.Schema = pa.schema(
    [(f.name, pa.date32() if f.name == "service_date" else f.type)
     for f in CANONICAL_ARROW_SCHEMA]
)
"""The canonical columns as the generator's Parquet files store them: as
:data:`analysis.schema.CANONICAL_ARROW_SCHEMA`, with ``service_date`` a ``date32``."""

_T = TypeVar("_T")


def to_arrow(lines: pd.DataFrame):
    """Claim lines as a ``pyarrow.Table`` with the canonical Parquet types.

    Codes and identifiers are strings, ``service_date`` a ``date32``, ``units`` and
    ``line_number`` ``int64``, amounts ``float64``.
    """
    arrays = []
    for f in PARQUET_SCHEMA:
        col = lines[f.name]
        if f.name == "service_date":
            values = pd.to_datetime(col).to_numpy().astype("datetime64[D]")
            arrays.append(pa.array(values, type=pa.date32()))
        elif pa.types.is_string(f.type):
            arrays.append(pa.array(col.astype(object).where(col.notna(), None), type=f.type))
        else:
            # from_pandas: a missing amount (NaN) is stored as a Parquet null.
            arrays.append(pa.array(col.to_numpy(), type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=PARQUET_SCHEMA)


def _csv_text(lines: pd.DataFrame, *, header: bool) -> str:
    """Lines as CSV text: ISO dates, amounts with two decimals, ``\n`` line ends."""
    out = lines.assign(service_date=pd.to_datetime(lines["service_date"]).dt.strftime("%Y-%m-%d"))
    return out.to_csv(index=False, header=header, float_format="%.2f", lineterminator="\n")


class _Sink:
    """Writes batches of claim lines to one open Parquet or (gzipped) CSV file."""

    def __init__(self, path: str, fmt: str, *, gzipped: bool) -> None:
        self.path, self.fmt, self.gzipped = path, fmt, gzipped
        self.writer = None
        self.raw = self.handle = None
        self.n_lines = 0

    def __enter__(self) -> _Sink:
        if self.fmt == "parquet":
            self.writer = pq.ParquetWriter(self.path, PARQUET_SCHEMA, compression="zstd")
        else:
            self.raw = open(self.path, "wb")  # noqa: SIM115 - closed in __exit__
            # No file name and time in the gzip header: the same lines, the same bytes.
            self.handle = (
                gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0)
                if self.gzipped
                else self.raw
            )
        return self

    def write(self, lines: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            self.writer.write_table(to_arrow(lines), row_group_size=max(1, len(lines)))
        else:
            text = _csv_text(lines, header=self.n_lines == 0)
            self.handle.write(text.encode("utf-8"))
        self.n_lines += len(lines)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.fmt == "parquet":
            self.writer.close()
        else:
            if self.handle is not self.raw:
                self.handle.close()
            self.raw.close()


def _stream_to(
    path: Path, fmt: str, fill: Callable[[Callable[[pd.DataFrame], None]], _T]
) -> _T:
    """Call ``fill(write)``, where ``write`` appends a batch of lines to ``path``.

    The file is written to a temporary name and renamed when ``fill`` returns, so a
    failed run leaves no partial file behind.
    """
    _check_out(path)
    result: list[_T] = []

    def write_file(tmp: str) -> None:
        with _Sink(tmp, fmt, gzipped=path.name.endswith(".gz")) as sink:
            result.append(fill(sink.write))

    write_atomic(path, write_file)
    return result[0]


def _check_out(path: Path) -> None:
    """Refuse to write into a folder that does not exist (rather than create it)."""
    if not path.parent.is_dir():
        raise InputError("the output folder does not exist; create it first", file=path)


def _format_of(path: Path, fmt: str | None) -> str:
    """``fmt``, or the format the file name implies (``.parquet``/``.pq``: Parquet)."""
    if fmt is None:
        fmt = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
    if fmt not in ("parquet", "csv"):
        raise InputError("format must be 'parquet' or 'csv'", file=path, value=fmt)
    return fmt




def write_synthetic(
    path: str | PathLike[str],
    n_practices: int = 40,
    *,
    year: int = 2024,
    rng: np.random.Generator,
    scale: float = SAMPLE_SCALE,
    settings: SynthSettings | None = None,
    format: str | None = None,
    truth: str | PathLike[str] | None = None,
    batch_lines: int = 250_000,
    years: tuple[int, int] | None = None,
    span: SpanSettings | None = None,
    response: PolicyResponse | None = None,
) -> Synthetic:
    """Stream synthetic claims to a Parquet or CSV file in bounded memory.

    The lines are exactly those of :func:`analysis.synth.generate` with the same
    arguments and seed (of :func:`analysis.synth.generate_years` when ``years`` is
    given); they are produced practice-month by practice-month and written in batches
    of about ``batch_lines`` lines (one Parquet row group each), so memory stays
    bounded however large ``scale`` is.

    Parameters
    ----------
    path : path
        Output file; ``.parquet`` gives Parquet (zstd), anything else CSV, gzipped
        when the name ends with ``.gz``. Written to a temporary file and renamed.
    n_practices, year, rng, scale, settings
        As in :func:`analysis.synth.generate`.
    format : {"parquet", "csv"}, optional
        Overrides the format implied by the file name.
    truth : path, optional
        Where to write the practices' true parameters and realized counts (CSV).
    batch_lines : int
        Lines per written batch.
    years : (int, int), optional
        First and last service year of a multi-year run (``year`` is then ignored).
    span, response
        As in :func:`analysis.synth.generate_years` (multi-year runs only).

    Returns
    -------
    Synthetic
        With empty ``lines`` and the full ``practices`` table.
    """
    # The arguments are checked before the output paths, and both before any draw.
    if years is None:
        if span is not None or response is not None:
            raise InputError("a span's settings and a policy response need a multi-year "
                             "run (years=(first, last))", column="years")  # fmt: skip
        check_args(n_practices, year, scale)
    else:
        years = check_span_args(n_practices, years, scale, response)
    if batch_lines < 1:
        raise InputError("must be >= 1", column="batch_lines", value=batch_lines)
    path = Path(path)
    fmt = _format_of(path, format)
    for out in (path, truth):
        if out is not None:
            _check_out(Path(out))
    if years is None:
        result = _stream_to(path, fmt, lambda write: generate_batches(
            n_practices, year=year, rng=rng, scale=scale, settings=settings,
            batch_lines=batch_lines, write=write))
    else:
        result = _stream_to(path, fmt, lambda write: generate_years_batches(
            n_practices, years=years, rng=rng, scale=scale, settings=settings, span=span,
            response=response, batch_lines=batch_lines, write=write))
    if truth is not None:
        write_truth(result.practices, truth)
    return result


def write_truth(practices: pd.DataFrame, path: str | PathLike[str]) -> None:
    """Write the practices' true parameters as CSV (atomically)."""
    path = Path(path)
    _check_out(path)
    # compression=None: plain CSV whatever the name ends in.
    write_atomic(path, lambda tmp: practices.to_csv(
        tmp, index=False, float_format="%.6g", lineterminator="\n", compression=None))


def write_lines(
    lines: pd.DataFrame, path: str | PathLike[str], *, format: str | None = None
) -> None:
    """Write claim lines to Parquet or (gzipped) CSV exactly as :func:`write_synthetic` does."""
    path = Path(path)
    _stream_to(path, _format_of(path, format), lambda write: write(lines))


def write_damaged(result: Damage, path: str | PathLike[str]) -> None:
    """Write a damaged frame as CSV (gzipped for ``.gz``), with its BOM and CRLF damage.

    Deterministic bytes: the gzip header carries no file name or time.
    """
    path = Path(path)
    _check_out(path)
    terminator = "\r\n" if result.rates.crlf else "\n"
    text = result.frame.to_csv(index=False, lineterminator=terminator)
    data = (("\ufeff" if result.rates.bom else "") + text).encode("utf-8")
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    write_bytes(path, data)


def read_lines(path: str | PathLike[str]) -> pd.DataFrame:
    """Read lines written by :func:`write_synthetic` back into the in-memory form.

    For the generator's own files only (no validation); user files go through
    ``analysis.claims.load_claims``.
    """
    path = Path(path)
    if _format_of(path, None) == "parquet":
        frame = pq.read_table(path).to_pandas(date_as_object=False)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        frame = frame.astype({"line_number": "int64", "units": "int64",
                              "allowed_usd": "float64", "paid_usd": "float64"})  # fmt: skip
    dates = pd.to_datetime(frame["service_date"]).astype("datetime64[us]")
    return (frame.assign(service_date=dates).astype(dict.fromkeys(STRING_COLUMNS, "string"))
            .loc[:, list(CANONICAL_COLUMNS)])
