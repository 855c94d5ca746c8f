"""Reading claim files: paths, file kinds, bytes, encodings, CSV dialects, batches.

:func:`expand_paths` turns paths, glob patterns and directories (hive-partitioned
Parquet datasets) into :class:`Source` inputs, each classified as CSV (plain or gzip)
or Parquet by its bytes. :func:`raw_batches` reads one source in batches of raw text
(:class:`RawBatch`), its headers mapped to canonical columns
(:mod:`analysis.claims.headers`), and records what it learnt about the file in a
:class:`FileState`: CSV files are sniffed for byte-order mark, line ends, encoding and
delimiter, and parsed by pyarrow in blocks of :data:`CSV_BLOCK_BYTES`; Parquet files
and in-memory frames are read in batches of :data:`PARQUET_BATCH_ROWS` rows; a column
stored with its canonical type stays typed and every other column is turned into text
(:func:`table_frame`), and the row checks read both (:mod:`analysis.claims.checks`).

**File-level problems** raise :class:`analysis.errors.InputError` naming the file: a
file that is empty, binary (NUL bytes, a ZIP/Excel workbook), not valid in the given
encoding (the message says where and which ``encoding=`` to pass), an unreadable
Parquet file, a path that does not exist or a glob that matches nothing.
"""

from __future__ import annotations

import codecs
import csv
import glob as _glob
import gzip
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from analysis.claims.headers import MULTI_VALUED, map_headers
from analysis.errors import InputError
from analysis.schema import CANONICAL_COLUMNS

__all__ = [
    "CSV_BLOCK_BYTES",
    "PARQUET_BATCH_ROWS",
    "REPEATING_COLUMNS",
    "FileState",
    "RawBatch",
    "Source",
    "TYPED_COLUMNS",
    "arrow_to_string",
    "as_text",
    "assemble",
    "csv_batches",
    "dictionary_columns",
    "expand_paths",
    "is_typed",
    "map_table_headers",
    "raw_batches",
    "stored_encoding",
    "table_frame",
    "text_frame",
    "typed_or_text",
]

CSV_BLOCK_BYTES = 16 << 20
"""Bytes of CSV text pyarrow parses at a time (one batch)."""
PARQUET_BATCH_ROWS = 200_000
"""Rows of a Parquet file or an in-memory frame read at a time (one batch)."""


@dataclass
class Source:
    """One input: a CSV/Parquet file or an in-memory frame; iterable more than once."""

    label: str
    kind: str  # "csv" | "parquet" | "frame"
    path: Path | None = None
    frame: pd.DataFrame | None = None
    extra: dict[str, str] = field(default_factory=dict)  # hive partition values
    gzip: bool = False


def expand_paths(paths) -> list[Source]:
    """The inputs named by a path, glob pattern, directory, or a list of them, in order.

    A glob's matches and a directory's files (hidden and ``_``-prefixed ones left out)
    are sorted by name; ``key=value`` folder names of a directory become the files'
    hive partition values (:attr:`Source.extra`).
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    sources: list[Source] = []
    for p in paths:
        text = os.fspath(p)
        if any(ch in text for ch in "*?[") and not os.path.exists(text):
            matches = sorted(_glob.glob(text, recursive=True))
            if not matches:
                raise InputError("no file matches this pattern", file=text)
            for m in matches:
                sources.extend(expand_paths([m]))
            continue
        path = Path(text)
        if path.is_dir():
            files = sorted(
                f for f in path.rglob("*")
                if f.is_file()
                and not any(part.startswith((".", "_")) for part in f.relative_to(path).parts)
            )
            if not files:
                raise InputError("directory holds no data files", file=text)
            for f in files:
                src = _classify(f, str(f))
                src.extra = dict(
                    part.split("=", 1) for part in f.relative_to(path).parts[:-1] if "=" in part
                )
                sources.append(src)
            continue
        if not path.exists():
            raise InputError("no such file", file=text)
        if not path.is_file():  # reading a named pipe or a device could wait forever
            raise InputError("is not a regular file (a named pipe or a device?); save the "
                             "data to a file first", file=text)
        sources.append(_classify(path, text))
    if not sources:
        raise InputError("no input files given")
    return sources


def _classify(path: Path, label: str) -> Source:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise InputError(f"cannot read the file: {err.strerror}", file=label) from None
    if head[:4] == b"PAR1":
        return Source(label=label, kind="parquet", path=path)
    if path.suffix.lower() in (".parquet", ".pq") and head:
        raise InputError("has a .parquet name but is not a Parquet file (no PAR1 magic "
                         "bytes); is it a CSV or a damaged copy?", file=label)
    return Source(label=label, kind="csv", path=path, gzip=head[:2] == b"\x1f\x8b")


# ------------------------------------------------------------------ CSV reading


@dataclass
class RawBatch:
    """A batch of raw string values: canonical columns (absent ones all-NA)."""

    frame: pd.DataFrame
    ordinal: np.ndarray  # 0-based index of each record among the file's parsed records
    newlines: np.ndarray | None = None  # embedded line breaks per record, if any


@dataclass
class FileState:
    """What reading one file found: its columns and mapping, file-level repairs,
    malformed CSV records and the record count (filled in while its batches are read)."""

    present: frozenset[str] = frozenset()
    mapping: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    file_repairs: dict[str, int] = field(default_factory=dict)
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (record number, text)
    n_records: int = 0
    newline_counts: dict[int, int] = field(default_factory=dict)  # ordinal -> embedded \n
    fmt: str = "csv"


def _open_bytes(src: Source):
    if src.gzip:
        return gzip.open(src.path, "rb")
    return open(src.path, "rb")


def _wide(encoding: str) -> bool:
    """Whether an encoding writes ASCII characters with NUL bytes (UTF-16, UTF-32)."""
    return encoding.lower().replace("-", "").replace("_", "").startswith(("utf16", "utf32"))


def _sniff_csv(src: Source, encoding: str, delimiter: str | None
               ) -> tuple[list[str], str, str, dict[str, int]]:
    """Header, delimiter, effective encoding and file-level repairs of a CSV file."""
    label = src.label
    try:
        with _open_bytes(src) as f:
            sample = f.read(1 << 16)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise InputError(f"cannot read the file ({err}); is it a complete gzip file?",
                         file=label) from None
    repairs: dict[str, int] = {}
    if not sample.strip():
        raise InputError("the file is empty: no header line and no rows", file=label)
    if sample.startswith(b"PK\x03\x04"):
        raise InputError("is a ZIP archive (an Excel .xlsx workbook?), not a CSV text file: "
                         "save it as CSV (UTF-8) or Parquet", file=label)
    if sample.startswith(b"PAR1"):
        raise InputError("is a compressed Parquet file; decompress it first", file=label)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and \
            encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf16"):
        encoding = "utf-16"
        repairs["bom"] = 1
    elif b"\x00" in sample and not _wide(encoding):  # UTF-16/32 text holds NUL bytes
        at = sample.index(b"\x00")
        head = sample[:200]
        for order, nuls in (("be", head[0::2]), ("le", head[1::2])):
            if len(head) >= 20 and nuls.count(0) == len(nuls):
                raise InputError(
                    f"looks like UTF-16 text without a byte-order mark: pass "
                    f"encoding='utf-16-{order}' (rad3d validate --encoding utf-16-{order}), "
                    "or save it as UTF-8", file=label)
        raise InputError(f"is not a text CSV file (binary content: NUL byte at offset {at}); "
                         "export the data as CSV or Parquet", file=label)
    elif sample.startswith(codecs.BOM_UTF8):
        repairs["bom"] = 1
    try:
        text = sample.decode(encoding)
    except LookupError:
        raise InputError("unknown text encoding; use e.g. 'utf-8', 'cp1252', 'latin-1'",
                         file=label, value=encoding) from None
    except UnicodeDecodeError as err:
        if len(sample) == (1 << 16) and err.start >= len(sample) - 4:
            text = sample[: err.start].decode(encoding)  # a character cut by the sample
        else:
            raise _encoding_error(label, sample, err, encoding) from None
    text = text.lstrip("\ufeff")
    if "\r\n" in text:
        repairs["crlf"] = 1
    first = text.splitlines()[0] if text.splitlines() else ""
    if delimiter is None:
        counts = {d: first.count(d) for d in (",", "\t", "|", ";")}
        delimiter = max(counts, key=counts.get) if max(counts.values()) > 0 else ","
    headers = next(csv.reader([first], delimiter=delimiter))
    return headers, delimiter, encoding, repairs


def _encoding_error(label: str, data: bytes, err: UnicodeDecodeError, encoding: str,
                    offset: int = 0) -> InputError:
    line = data[: err.start].count(b"\n") + 1
    byte = data[err.start: err.start + 1].hex().upper()
    return InputError(
        f"is not valid {encoding} text: byte 0x{byte} on line {line + offset}; the file "
        "looks like Windows-1252/Latin-1: pass encoding='cp1252' (rad3d validate "
        "--encoding cp1252)", file=label)


def _locate_encoding_error(src: Source, encoding: str) -> InputError:
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with _open_bytes(src) as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                return _encoding_error(src.label, chunk, err, encoding, offset=lines_before)
            lines_before += chunk.count(b"\n")
    return InputError(f"is not valid {encoding} text; pass encoding='cp1252' (rad3d "
                      "validate --encoding cp1252)", file=src.label)


def csv_batches(src: Source, state: FileState, column_map, encoding, delimiter
                ) -> Iterator[RawBatch]:
    """Raw text batches of a CSV file (blocks of :data:`CSV_BLOCK_BYTES`); records with
    the wrong number of fields go to ``state.malformed``."""
    headers, delim, enc, repairs = _sniff_csv(src, encoding, delimiter)
    sources, ignored = map_headers(headers, column_map, src.label)
    state.present = frozenset(sources)
    state.mapping = {c: [headers[i] for i in idx] for c, idx in sources.items()}
    state.ignored = ignored
    state.file_repairs = repairs
    names = [f"c{i}" for i in range(len(headers))]
    used = sorted({i for idx in sources.values() for i in idx})
    state.malformed = []

    def on_invalid(row) -> str:
        state.malformed.append((int(row.number), row.text))
        return "skip"

    stream = pa.input_stream(str(src.path), compression="gzip" if src.gzip else None)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                use_threads=False, block_size=CSV_BLOCK_BYTES, skip_rows=1,
                column_names=names, encoding="utf8" if enc.lower() in ("utf8", "utf-8")
                else enc),
            parse_options=pacsv.ParseOptions(
                delimiter=delim, newlines_in_values=True, ignore_empty_lines=False,
                invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={names[i]: pa.string() for i in used},
                include_columns=[names[i] for i in used],
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        ordinal = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            n = batch.num_rows
            columns = {names[i]: batch.column(names[i]) for i in used}
            frame = assemble(columns, {c: [names[i] for i in idx] for c, idx in sources.items()},
                              n, src.extra)
            nl = None
            for name in columns:
                arr = columns[name]
                if pc.any(pc.match_substring(arr, "\n")).as_py():
                    counts = pc.count_substring(arr, "\n").to_numpy(zero_copy_only=False)
                    nl = counts if nl is None else nl + counts
            yield RawBatch(frame, np.arange(ordinal, ordinal + n, dtype=np.int64), nl)
            ordinal += n
        state.n_records = ordinal
    except pa.ArrowInvalid as err:
        msg = str(err)
        if "UTF8" in msg or "UTF-8" in msg or "decode" in msg.lower():
            raise _locate_encoding_error(src, enc) from None
        raise InputError(f"cannot be read as CSV: {msg}", file=src.label) from None
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise InputError(f"cannot read the file ({err})", file=src.label) from None


def assemble(columns: Mapping[str, pa.Array], sources: Mapping[str, list[str]], n: int,
             extra: Mapping[str, str]) -> pd.DataFrame:
    """Canonical-named DataFrame of raw strings and typed columns (absent columns all-NA)."""
    out: dict[str, pd.Series] = {}
    for col in CANONICAL_COLUMNS:
        names = sources.get(col)
        if not names:
            if col in extra:
                out[col] = pd.Series([extra[col]] * n, dtype=pd.StringDtype())
            else:
                out[col] = pd.Series(pd.NA, index=range(n), dtype=pd.StringDtype())
            continue
        parts = [_to_series(columns[x]) for x in names]
        if len(parts) == 1:
            out[col] = parts[0]
        else:
            sep = MULTI_VALUED[col]
            joined = parts[0].fillna("")
            for p in parts[1:]:
                joined = joined.str.cat(p.fillna(""), sep=sep)
            pattern = r"[ \t]+" if sep == " " else rf"[ \t]*{re.escape(sep)}[ \t{re.escape(sep)}]*"
            joined = joined.str.replace(pattern, sep, regex=True).str.strip(f"{sep} ")
            out[col] = joined
    return pd.DataFrame(out)


REPEATING_COLUMNS: tuple[str, ...] = ("practice_id", "cpt_code", "modifiers",
                                      "place_of_service", "payer", "diagnosis_codes",
                                      "rendering_npi", "state")
"""Text columns whose values repeat: read from Parquet as dictionaries (the distinct
values and each row's index into them), so that the row checks judge each distinct value
once (:func:`stored_encoding`)."""

_ENCODINGS: dict[tuple, tuple[np.ndarray, pd.Series]] = {}
_MAX_ENCODINGS = 64


def dictionary_columns(schema: pa.Schema, col_sources: Mapping[str, list[str]]) -> list[str]:
    """The stored text columns to read as dictionaries: each alone feeds one of
    :data:`REPEATING_COLUMNS`."""
    return [names[0] for c, names in col_sources.items()
            if c in REPEATING_COLUMNS and len(names) == 1
            and names[0] in schema.names and pa.types.is_string(schema.field(names[0]).type)]


def _data_key(values: pd.Series) -> tuple | None:
    """The identity of a text column's Arrow data (shared by copies of the column)."""
    arr = values.array.__arrow_array__() if hasattr(values.array, "__arrow_array__") else None
    if not isinstance(arr, pa.ChunkedArray) or arr.num_chunks != 1:
        return None
    chunk = arr.chunk(0)
    buffers = chunk.buffers()
    if len(buffers) < 3 or buffers[2] is None:
        return None
    return (buffers[2].address, buffers[1].address, chunk.offset, len(chunk))


def stored_encoding(values: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """A column's distinct values and each row's position among them, when the column
    was read as a dictionary (:data:`REPEATING_COLUMNS`), else None. A missing value is
    the last distinct value."""
    key = _data_key(values)
    return None if key is None else _ENCODINGS.get(key)


def _from_dictionary(arr: pa.DictionaryArray) -> pd.Series:
    """A dictionary-encoded text column as text, its encoding kept for the checks."""
    series = pd.Series(pd.array(arr.dictionary_decode(), dtype=pd.StringDtype()))
    key = _data_key(series)
    if key is not None:
        n = len(arr.dictionary)
        codes = pc.fill_null(arr.indices.cast(pa.int64()), n).to_numpy(zero_copy_only=False)
        uniques = pd.Series(pd.array(pa.concat_arrays(
            [arr.dictionary.cast(pa.large_string()), pa.nulls(1, pa.large_string())]),
            dtype=pd.StringDtype()))
        while len(_ENCODINGS) >= _MAX_ENCODINGS:
            _ENCODINGS.pop(next(iter(_ENCODINGS)))
        _ENCODINGS[key] = (codes, uniques)
    return series


def _to_series(arr: pa.Array | pa.ChunkedArray) -> pd.Series:
    """Text as ``pd.StringDtype``; a typed column (:func:`typed_or_text`) keeps its Arrow
    type (``pd.ArrowDtype``), so that a missing value and a NaN stay apart."""
    t = arr.type
    if isinstance(arr, pa.DictionaryArray) and (pa.types.is_string(t.value_type)
                                                or pa.types.is_large_string(t.value_type)):
        return _from_dictionary(arr)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.to_pandas(types_mapper=lambda _: pd.StringDtype()).reset_index(drop=True)
    return arr.to_pandas(types_mapper=pd.ArrowDtype).reset_index(drop=True)


def is_typed(values: pd.Series) -> bool:
    """True for a column kept with its stored type by :func:`typed_or_text`."""
    return isinstance(values.dtype, pd.ArrowDtype) and not pa.types.is_string(
        values.dtype.pyarrow_dtype)


def as_text(values: pd.Series) -> pd.Series:
    """A column as text, the typed one rendered as :func:`arrow_to_string` writes it (for
    messages and the quarantine file); text is returned as it is."""
    if not is_typed(values):
        return values
    text = arrow_to_string(values.array.__arrow_array__(), "", str(values.name))
    return pd.Series(text.to_pandas(types_mapper=lambda _: pd.StringDtype()).array,
                     index=values.index, name=values.name)


def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its typed columns rendered as text (:func:`as_text`)."""
    typed = [c for c in frame.columns if is_typed(frame[c])]
    return frame.assign(**{c: as_text(frame[c]) for c in typed}) if typed else frame


def typed_or_text(arr: pa.ChunkedArray | pa.Array, label: str, column: str,
                  canonical: str | None) -> pa.ChunkedArray | pa.DictionaryArray:
    """A table column as the row checks read it: kept typed when it is stored with the
    type of its canonical column (``line_number``/``units`` as integers, the amounts as
    float64, ``service_date`` as a date or a timestamp without time zone), otherwise as
    text (:func:`arrow_to_string`).

    Typed values skip the text round trip; the checks read them directly and turn into
    text only the values outside the plain, canonical range (:mod:`analysis.claims.
    fields`), so a value is judged the same whichever way it was stored.
    """
    t = arr.type
    if (isinstance(arr, pa.DictionaryArray) and canonical in REPEATING_COLUMNS
            and pa.types.is_string(t.value_type)):
        return arr  # text, with its distinct values (:func:`stored_encoding`)
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    want = TYPED_COLUMNS.get(canonical)
    if want == "int" and pa.types.is_integer(t):
        try:
            return arr.cast(pa.int64())
        except (pa.ArrowInvalid, OverflowError):
            pass
    elif want == "float" and pa.types.is_float64(t):
        return arr
    elif want == "date" and (pa.types.is_date(t) or (pa.types.is_timestamp(t) and t.tz is None)):
        try:
            return arr.cast(pa.timestamp("us"))  # safe: fails if precision is lost
        except pa.ArrowInvalid:
            pass
    return arrow_to_string(arr, label, column)


TYPED_COLUMNS: dict[str, str] = {"line_number": "int", "units": "int", "allowed_usd": "float",
                                 "paid_usd": "float", "service_date": "date"}
"""Canonical columns a table may store typed, and the kind of type they take."""


# -------------------------------------------------------------- Parquet / frames


def arrow_to_string(arr: pa.ChunkedArray | pa.Array, label: str, column: str) -> pa.ChunkedArray:
    """A Parquet or frame column as text: dates as ``YYYY-MM-DD`` (with the time where
    any value has one), numbers as pyarrow writes them."""
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.cast(pa.string())
    if pa.types.is_timestamp(t):
        if arr.null_count == len(arr) or pc.all(
                pc.equal(pc.floor_temporal(arr, unit="day"), arr)).as_py() is not False:
            return pc.strftime(arr, format="%Y-%m-%d")
        return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S")
    if pa.types.is_null(t):
        return pa.chunked_array([pa.nulls(len(arr), pa.string())])
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(f"column of type {t} cannot be read as text", file=label,
                         column=column) from None


def map_table_headers(headers: list[str], src: Source, column_map, state: FileState, *,
                      fmt: str) -> tuple[list[str], dict[str, list[str]], dict[str, str]]:
    """Map the physical ``headers`` of a Parquet file or frame (plus ``src.extra``
    partition values) to canonical columns and record the mapping in ``state``.

    Returns the physical columns to read, canonical -> physical columns read, and the
    constant (partition) values by canonical column or header.
    """
    headers_all = headers + [k for k in src.extra if k not in headers]
    sources, ignored = map_headers(headers_all, column_map, src.label)
    used = sorted({headers_all[i] for idx in sources.values() for i in idx
                   if headers_all[i] in headers})
    state.fmt = fmt
    state.present = frozenset(sources)
    state.mapping = {c: [headers_all[i] for i in idx] for c, idx in sources.items()}
    state.ignored = ignored
    extra_cols = dict(src.extra)
    col_sources = {
        c: [headers_all[i] for i in idx if headers_all[i] in used] for c, idx in sources.items()
    }
    for c, idx in sources.items():
        if not col_sources[c] and any(headers_all[i] in extra_cols for i in idx):
            extra_cols[c] = extra_cols[headers_all[idx[0]]]
    return used, col_sources, extra_cols


def _table_batches(src: Source, state: FileState, column_map) -> Iterator[RawBatch]:
    if src.kind == "parquet":
        try:
            pf = pq.ParquetFile(src.path)
            headers = list(pf.schema_arrow.names)
        except (pa.ArrowInvalid, OSError) as err:
            raise InputError(f"is not a readable Parquet file ({err})", file=src.label) from None
        used, col_sources, extra_cols = map_table_headers(headers, src, column_map, state,
                                                           fmt="parquet")
        as_dictionary = dictionary_columns(pf.schema_arrow, col_sources)
        if as_dictionary:
            pf = pq.ParquetFile(src.path, read_dictionary=as_dictionary)

        def batches():
            try:
                yield from pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=used)
            except (pa.ArrowInvalid, OSError) as err:
                raise InputError(f"is not a readable Parquet file ({err})",
                                 file=src.label) from None
    else:
        frame = src.frame.rename(columns=str)
        # object columns may mix types (ints and strings, dates and None): text first
        frame = frame.assign(**{
            c: frame[c].astype(pd.StringDtype()) for c in frame.columns if frame[c].dtype == object
        })
        used, col_sources, extra_cols = map_table_headers(list(frame.columns), src,
                                                           column_map, state, fmt="frame")
        try:
            table = pa.Table.from_pandas(frame[used], preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise InputError(f"cannot convert the frame to text columns ({err})",
                             file=src.label) from None

        def batches():
            yield from table.to_batches(max_chunksize=PARQUET_BATCH_ROWS)

    ordinal = 0
    for batch in batches():
        n = batch.num_rows
        frame = table_frame(batch, src.label, used, col_sources, extra_cols)
        yield RawBatch(frame, np.arange(ordinal, ordinal + n, dtype=np.int64))
        ordinal += n
    state.n_records = ordinal


def table_frame(batch: pa.RecordBatch, label: str, used, col_sources: Mapping[str, list[str]],
                extra: Mapping[str, str]) -> pd.DataFrame:
    """A Parquet or frame batch as the canonical-named frame the row checks read: a
    column that alone feeds a canonical column and is stored with its type stays typed
    (:func:`typed_or_text`), every other column is text."""
    canonical = {names[0]: c for c, names in col_sources.items() if len(names) == 1}
    columns = {name: typed_or_text(batch.column(name), label, name, canonical.get(name))
               for name in used}
    return assemble(columns, col_sources, batch.num_rows, extra)


def raw_batches(src: Source, state: FileState, column_map, encoding, delimiter
                ) -> Iterator[RawBatch]:
    """Raw text batches of any source, in file order (see the module docstring)."""
    if src.kind == "csv":
        return csv_batches(src, state, column_map, encoding, delimiter)
    return _table_batches(src, state, column_map)


