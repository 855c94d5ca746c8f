"""Reading claims piece by piece, for the streaming and Dask engines (:mod:`analysis.scale`).

A *piece* (:class:`ClaimsPiece`) is a unit of reading that one process can do on its
own: a CSV file, or a run of row groups of one Parquet file (:func:`plan_pieces`).
:func:`check_piece` reads a piece in batches, keeps the rows whose CPT code matters
(pushed into the Parquet scan, :func:`keep_mask`), and runs the very repairs and row
checks of :func:`~analysis.claims.load_claims` on them (Parquet columns stored with
their canonical types are read typed) -- giving a :class:`CheckedBatch` of candidates
and counts. The duplicate checks need every row of a key and are left to the caller
(:func:`analysis.claims.duplicates.resolve_duplicates`). :func:`lines_to_arrow` and
:func:`arrow_to_lines` convert canonical lines between pandas and Arrow.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from analysis.claims.checks import check_rows, is_blank
from analysis.claims.fields import LINE_DTYPES
from analysis.claims.headers import read_column_map
from analysis.claims.rules import AMOUNT_COLUMNS, CODE_PATTERNS, RULES, anchored
from analysis.claims.sources import (
    PARQUET_BATCH_ROWS,
    FileState,
    Source,
    csv_batches,
    dictionary_columns,
    expand_paths,
    map_table_headers,
    table_frame,
)
from analysis.errors import InputError
from analysis.schema import CANONICAL_ARROW_SCHEMA, CANONICAL_COLUMNS, empty_lines

__all__ = [
    "CheckedBatch",
    "ClaimsPiece",
    "arrow_to_lines",
    "check_piece",
    "keep_mask",
    "lines_to_arrow",
    "plan_pieces",
]


@dataclass(frozen=True)
class ClaimsPiece:
    """A picklable unit of reading: a CSV file or row groups of a Parquet file.

    Attributes
    ----------
    index : int
        Position of the piece in the plan (files in :func:`~analysis.claims.load_claims` order).
    label : str
        The file as named to the user (error messages).
    path : str
    kind : {"csv", "parquet"}
    row_groups : tuple of int
        Parquet row groups of the piece (empty for CSV: the whole file).
    n_rows : int
        Rows in the piece for Parquet (from the file metadata); -1 for CSV.
    extra : tuple of (str, str)
        Hive partition values (``key=value`` folder names) of the file.
    gzip : bool
    """

    index: int
    label: str
    path: str
    kind: str
    row_groups: tuple[int, ...] = ()
    n_rows: int = -1
    extra: tuple[tuple[str, str], ...] = ()
    gzip: bool = False

    def _source(self) -> Source:
        return Source(label=self.label, kind=self.kind, path=Path(self.path),
                       extra=dict(self.extra), gzip=self.gzip)


def plan_pieces(paths, *, rows_per_piece: int = 500_000) -> list[ClaimsPiece]:
    """Split the inputs of :func:`~analysis.claims.load_claims` into pieces of about
    ``rows_per_piece``.

    Paths are expanded exactly as :func:`~analysis.claims.load_claims` expands them
    (globs, directories, hive partitions). A Parquet file is split at row-group boundaries
    into runs of row groups holding at most ``rows_per_piece`` rows (a single larger
    row group is one piece); a CSV file is one piece.

    Raises
    ------
    InputError
        As :func:`~analysis.claims.load_claims` for missing or unreadable files.
    """
    if rows_per_piece < 1:
        raise InputError("must be >= 1", column="rows_per_piece", value=rows_per_piece)
    pieces: list[ClaimsPiece] = []
    for src in expand_paths(paths):
        if src.kind == "frame":  # pragma: no cover - paths never give frames
            raise InputError("in-memory frames have no pieces", file=src.label)
        extra = tuple(src.extra.items())
        if src.kind == "csv":
            pieces.append(ClaimsPiece(len(pieces), src.label, str(src.path), "csv",
                                      extra=extra, gzip=src.gzip))
            continue
        try:
            meta = pq.ParquetFile(src.path).metadata
        except (pa.ArrowInvalid, OSError) as err:
            raise InputError(f"is not a readable Parquet file ({err})", file=src.label) from None
        run: list[int] = []
        run_rows = 0
        for rg in range(meta.num_row_groups):
            n = meta.row_group(rg).num_rows
            if run and run_rows + n > rows_per_piece:
                pieces.append(ClaimsPiece(len(pieces), src.label, str(src.path), "parquet",
                                          tuple(run), run_rows, extra))
                run, run_rows = [], 0
            run.append(rg)
            run_rows += n
        if run or meta.num_row_groups == 0:
            pieces.append(ClaimsPiece(len(pieces), src.label, str(src.path), "parquet",
                                      tuple(run), run_rows, extra))
    return pieces


@dataclass(frozen=True)
class _Layout:
    """Where each canonical column of a Parquet piece comes from."""

    label: str
    used: tuple[str, ...]  # physical columns read
    col_sources: dict[str, list[str]]  # canonical -> physical columns
    extra: dict[str, str]  # canonical or header -> hive partition value
    filtered: bool = False  # the code filter was pushed into the scan


def _open_parquet_piece(piece: ClaimsPiece, state: FileState, column_map,
                        keep: frozenset[str] | None, batch_rows: int
                        ) -> tuple[_Layout, Iterator[pa.RecordBatch]]:
    """The layout of a Parquet piece and its record batches after the pushed-down code
    filter (the caller counts the rows the filter dropped: ``piece.n_rows`` minus the
    rows yielded)."""
    src = piece._source()
    try:
        fragment = ds.ParquetFileFormat().make_fragment(
            str(Path(src.path).resolve()), pafs.LocalFileSystem(),
            row_groups=list(piece.row_groups))
        headers = list(fragment.physical_schema.names)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(f"is not a readable Parquet file ({err})", file=src.label) from None
    used, col_sources, extra_cols = map_table_headers(headers, src, column_map, state,
                                                      fmt="parquet")
    as_dictionary = dictionary_columns(fragment.physical_schema, col_sources)
    if as_dictionary:
        fragment = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(
            dictionary_columns=as_dictionary)).make_fragment(
            str(Path(src.path).resolve()), pafs.LocalFileSystem(),
            row_groups=list(piece.row_groups))
    cpt_cols = col_sources.get("cpt_code", [])
    code_col = cpt_cols[0] if keep is not None and len(cpt_cols) == 1 else None
    keep_arr = None if keep is None else pa.array(sorted(keep), pa.string())
    layout = _Layout(src.label, tuple(used), col_sources, extra_cols,
                     filtered=code_col is not None)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in fragment.to_batches(columns=used, batch_size=batch_rows,
                                             use_threads=False):
                if code_col is not None:
                    batch = batch.filter(pa.array(keep_mask(batch.column(code_col),
                                                            keep_arr)))
                if batch.num_rows:
                    yield batch
        except (pa.ArrowInvalid, OSError) as err:
            raise InputError(f"is not a readable Parquet file ({err})",
                             file=src.label) from None

    return layout, batches()


def _raw_frame(batch: pa.RecordBatch, layout: _Layout) -> pd.DataFrame:
    """The batch as canonical-named raw values, typed where stored with their canonical
    type, exactly as :func:`~analysis.claims.load_claims` sees it."""
    return table_frame(batch, layout.label, layout.used, layout.col_sources, layout.extra)


@dataclass
class CheckedBatch:
    """One batch of a piece after the row checks (all but the duplicate checks).

    Attributes
    ----------
    candidates : DataFrame or pyarrow.Table
        Canonical typed lines that passed every row check (``dtypes`` as
        :attr:`~analysis.claims.LoadResult.lines`; with ``as_arrow=True`` a table of
        :data:`~analysis.schema.CANONICAL_ARROW_SCHEMA`). Duplicates among them are not
        yet resolved: that needs every row with the same ``(claim_id, line_number)``.
    rows_read : int
        Rows read (after the code filter, blank rows excluded).
    rows_filtered_out : int
        Rows skipped by the code filter (never validated).
    blank_rows : int
    quarantined_by_reason : dict
        Row-check reasons with their counts in this batch.
    quarantined_cents : dict
        ``{reason: {"allowed_usd": cents, "paid_usd": cents}}`` for this batch.
    read_cents, unparsed_rows : dict
        Per amount column, as :class:`~analysis.claims.report.AmountTotals`.
    """

    candidates: Any
    rows_read: int = 0
    rows_filtered_out: int = 0
    blank_rows: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    quarantined_cents: dict[str, dict[str, int]] = field(default_factory=dict)
    read_cents: dict[str, int] = field(default_factory=dict)
    unparsed_rows: dict[str, int] = field(default_factory=dict)


def _normalized_cpt(codes: pa.Array) -> pa.Array:
    """:func:`analysis.codes.normalize_cpt` on an Arrow array (any type, as text)."""
    if pa.types.is_dictionary(codes.type):
        codes = codes.dictionary_decode()
    s = pc.utf8_upper(pc.utf8_trim_whitespace(codes.cast(pa.string())))
    s = pc.replace_substring_regex(s, pattern=RULES["numeric_suffix_dropped"].pattern["cpt_code"],
                                   replacement="")
    return pc.if_else(pc.match_substring_regex(s, anchored(RULES["cpt_zero_padded"].pattern)),
                      pc.utf8_lpad(s, width=5, padding="0"), s)


def arrow_mask(arr, null: bool) -> np.ndarray:
    """An Arrow boolean array as numpy bool, nulls as ``null``."""
    return pc.fill_null(arr, null).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def keep_mask(codes: pa.Array, keep: pa.Array) -> np.ndarray:
    """Rows whose code, normalized as :func:`analysis.codes.normalize_cpt` normalizes
    it, is in ``keep`` (canonical 5-character codes).

    Codes already in canonical form (``[0-9A-Z]{5}``) are their own normal form and
    are looked up directly; only the others are normalized first.
    """
    if pa.types.is_dictionary(codes.type):
        codes = codes.dictionary_decode()
    if not (pa.types.is_string(codes.type) or pa.types.is_large_string(codes.type)):
        return arrow_mask(pc.is_in(_normalized_cpt(codes), value_set=keep), False)
    hit = arrow_mask(pc.is_in(codes, value_set=keep), False)
    plain = arrow_mask(pc.match_substring_regex(codes, anchored(CODE_PATTERNS["cpt_code"])),
                       True)  # null: no code
    other = np.flatnonzero(~hit & ~plain)
    if len(other):
        sub = codes.take(pa.array(other))
        hit[other] = arrow_mask(pc.is_in(_normalized_cpt(sub), value_set=keep), False)
    return hit


def _check_text(frame: pd.DataFrame, present: frozenset[str], keep: frozenset[str] | None,
                checks=None) -> tuple[CheckedBatch, np.ndarray]:
    """The code filter (if ``keep``), blank rows and the row checks
    (:func:`~analysis.claims.checks.check_rows`) on a frame of raw text; candidates as a
    DataFrame, and their positions in ``frame``."""
    out = CheckedBatch(candidates=empty_lines())
    pos = np.arange(len(frame))
    if len(frame) and keep is not None:
        codes = frame["cpt_code"].array.__arrow_array__()
        hit = keep_mask(codes, pa.array(sorted(keep), pa.string()))
        blank = is_blank(frame, present)
        out.blank_rows = int((blank & ~hit).sum())
        out.rows_filtered_out = int((~hit & ~blank).sum())
        frame, pos = frame.loc[hit].reset_index(drop=True), pos[hit]
    if len(frame):
        blank = is_blank(frame, present)
        out.blank_rows += int(blank.sum())
        frame, pos = frame.loc[~blank].reset_index(drop=True), pos[~blank]
    if len(frame):
        checked = check_rows(frame, present, checks)
        bad = checked.reason != None  # noqa: E711
        out.rows_read = len(frame)
        out.read_cents = {c: int(checked.cents[c][checked.parsed[c]].sum())
                          for c in AMOUNT_COLUMNS}
        out.unparsed_rows = {c: int(checked.unparsed[c].sum()) for c in AMOUNT_COLUMNS}
        if bad.any():
            reasons = checked.reason[bad]
            for r in pd.unique(reasons):
                m = reasons == r
                out.quarantined_by_reason[r] = int(m.sum())
                out.quarantined_cents[r] = {
                    c: int(np.where(checked.parsed[c], checked.cents[c], 0)[bad][m].sum())
                    for c in AMOUNT_COLUMNS}
        out.candidates = (checked.typed.loc[~bad, list(CANONICAL_COLUMNS)]
                          .reset_index(drop=True).astype(LINE_DTYPES))
        pos = pos[~bad]
    else:
        pos = pos[:0]
    return out, pos


def lines_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """Canonical lines as a table of :data:`~analysis.schema.CANONICAL_ARROW_SCHEMA`
    (other columns dropped)."""
    return pa.Table.from_pandas(frame[list(CANONICAL_COLUMNS)], schema=CANONICAL_ARROW_SCHEMA,
                                preserve_index=False).replace_schema_metadata(None)


def arrow_to_lines(table: pa.Table) -> pd.DataFrame:
    """A table of :data:`~analysis.schema.CANONICAL_ARROW_SCHEMA` as canonical lines (the
    dtypes of :attr:`~analysis.claims.LoadResult.lines`); other columns are kept as Arrow
    converts them."""
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype(),
                                          pa.large_string(): pd.StringDtype()}.get)
    want = {c: t for c, t in LINE_DTYPES.items() if c in frame.columns}
    return frame.astype({c: t for c, t in want.items() if frame[c].dtype != t})


def check_piece(
    piece: ClaimsPiece,
    *,
    keep_codes: Iterable[str] | None = None,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    batch_rows: int = PARQUET_BATCH_ROWS,
    as_arrow: bool = False,
    checks=None,
) -> Iterator[CheckedBatch]:
    """Read one piece in batches, keep the rows whose code is in ``keep_codes``, and run
    the row checks of :func:`~analysis.claims.load_claims` on them.

    The repairs and row checks (reasons 1-15 of :mod:`analysis.claims.rules`) are the
    very ones :func:`~analysis.claims.load_claims` applies; the duplicate checks (18, 19)
    need every row of a ``(claim_id, line_number)`` and are left to the caller (see
    :func:`~analysis.claims.duplicates.resolve_duplicates`). With ``keep_codes``, a row
    is read only if its CPT code, normalized by :func:`analysis.codes.normalize_cpt`, is
    in the set: for Parquet the filter is pushed into the scan (``pyarrow.dataset``),
    for CSV it is applied to each parsed block before any check. Rows filtered out are
    counted, not validated. Source rows are not tracked (quarantine counts only).

    **Typed columns** (Parquet). A column stored with its canonical type (integers for
    ``line_number``/``units``, float64 amounts, a date or timestamp) is read typed, not
    turned into text and parsed back (:func:`analysis.claims.sources.typed_or_text`);
    the row checks are the same for both (:func:`analysis.claims.checks.check_rows`).

    Parameters
    ----------
    checks : analysis.claims.window.CheckSettings, optional
        The study window and the per-line amount cap; the caller decides them once for
        the whole input (:func:`analysis.claims.window.check_settings`). Default: no
        window, the default cap.
    as_arrow : bool, default False
        Candidates as a ``pyarrow.Table`` of :data:`~analysis.schema.CANONICAL_ARROW_SCHEMA`
        instead of a DataFrame.
    """
    keep = None if keep_codes is None else frozenset(keep_codes)
    cmap = read_column_map(column_map)
    state = FileState()

    def empty():
        return CANONICAL_ARROW_SCHEMA.empty_table() if as_arrow else empty_lines()

    def finish(out: CheckedBatch) -> CheckedBatch:
        is_table = isinstance(out.candidates, pa.Table)
        if as_arrow and not is_table:
            out.candidates = lines_to_arrow(out.candidates)
        elif not as_arrow and is_table:
            out.candidates = arrow_to_lines(out.candidates)
        return out

    if piece.kind == "parquet":
        layout, batches = _open_parquet_piece(piece, state, cmap, keep, batch_rows)
        kept = 0
        for batch in batches:
            kept += batch.num_rows
            yield finish(_check_text(_raw_frame(batch, layout), state.present,
                                     None if layout.filtered else keep, checks)[0])
        if piece.n_rows > kept:
            yield CheckedBatch(candidates=empty(), rows_filtered_out=piece.n_rows - kept)
        return
    src = piece._source()
    for raw in csv_batches(src, state, cmap, encoding, delimiter):
        yield finish(_check_text(raw.frame, state.present, keep, checks)[0])
    if state.malformed:
        n = len(state.malformed)
        yield CheckedBatch(
            candidates=empty(), rows_read=n,
            quarantined_by_reason={"malformed_row": n},
            quarantined_cents={"malformed_row": {c: 0 for c in AMOUNT_COLUMNS}},
            read_cents={c: 0 for c in AMOUNT_COLUMNS},
            unparsed_rows={c: (n if c in state.present else 0) for c in AMOUNT_COLUMNS})
