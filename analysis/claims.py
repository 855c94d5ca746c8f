"""Claims lines: loading CSV/Parquet extracts, repairing what is unambiguous,
quarantining the rest, and reconciling every row and every dollar.

Billing systems and payer warehouses export claim lines damaged in predictable ways.
:func:`load_claims` reads such files into the canonical schema (:data:`CANONICAL_COLUMNS`,
described by :func:`canonical_schema`), :func:`validate_lines` does the same for a
DataFrame already in memory. Both return a :class:`LoadResult` with the accepted
``lines``, the rejected rows in ``quarantine`` (one reason each) and a
:class:`ValidationReport` that reconciles exactly::

    rows read = rows accepted + rows quarantined
    dollars read = dollars accepted + dollars quarantined   (allowed_usd and paid_usd)

Definitions
-----------
**Row read.** A data record of a file: a CSV line after the header (a quoted value may
span lines) or a Parquet row. Records whose mapped fields are all empty (blank lines,
spreadsheet filler such as ``,,,,``) are *blank rows*: skipped, counted in the report,
and not rows read. A CSV line with the wrong number of fields is a row read and is
quarantined as ``malformed_row``.

**Source row** (``source_row``). The 1-based line of the record in the file as a text
editor shows it (the header is line 1), counting blank lines and lines inside quoted
values; for Parquet and in-memory frames, the 1-based position of the row.

**Headers.** Matched case-, space- and punctuation-insensitively (``Date of Service``,
``date_of_service`` and ``DATEOFSERVICE`` are one header) against the canonical names and
the aliases in ``data/reference/claims_header_aliases.csv`` (:func:`header_aliases`).
Numbered columns (``Modifier 1``..``Modifier 4``, ``Dx 1``..``Dx 12``) are joined in
header order into ``modifiers`` (space-separated) and ``diagnosis_codes``
(``;``-separated). A ``column_map`` ``{header: canonical column or None}`` (a dict or a
YAML file of that mapping) takes precedence; ``None`` ignores a column. Two headers for
one single-valued column (e.g. both ``CPT`` and ``HCPCS``) are a file-level error.

**Repairs** (:data:`REPAIRS`), applied only where the intended value is certain and
counted in the report by kind: the number of *accepted* rows a repair touched (a row
counts once per kind), or for file-level repairs (``bom``, ``crlf``) the number of files.

- ``bom``: a UTF-8 (or UTF-16) byte-order mark before the header.
- ``crlf``: Windows line ends.
- ``whitespace_stripped``: leading/trailing whitespace in any field.
- ``null_token``: ``NULL``, ``NA``, ``N/A``, ``#N/A``, ``NaN``, ``None``, ``<NA>``, ``NaT``
  read as missing.
- ``upper_cased``: codes, modifiers, state and payer upper-cased (``0523t`` -> ``0523T``).
- ``numeric_suffix_dropped``: a spreadsheet's ``.0`` on a code, POS, NPI, modifier,
  line number or units (``76376.0`` -> ``76376``, ``2.0`` -> ``2``).
- ``cpt_zero_padded``: an all-digit CPT code of 1-4 digits left-padded (``100`` ->
  ``00100``; CPT codes always have five characters, see
  :func:`analysis.codes.normalize_cpt`).
- ``pos_zero_padded``: a one-digit place of service left-padded (``2`` -> ``02``).
- ``npi_scientific``: an NPI in scientific notation whose mantissa carries all ten
  digits (``1.234567893E9`` -> ``1234567893``). A mantissa with fewer digits
  (``1.23457E+09``) lost digits and is quarantined (``invalid_npi``).
- ``amount_currency_format``: ``$``, thousands separators and accounting parentheses
  (``$1,234.50`` -> 1234.5, ``(12.00)`` -> -12). A comma not grouping thousands
  (``12,50``) is ambiguous and quarantined (``bad_amount``).
- ``amount_rounded_to_cents``: amounts with non-zero digits beyond the cent rounded to
  the cent, half up (``23.375`` -> 23.38). All dollar sums are exact sums of cents.
- ``date_us_format``: ``MM/DD/YYYY`` (also ``M/D/YYYY``), the US claims convention;
  day-first dates are not recognised, so ``25/03/2024`` is a ``bad_date``.
- ``date_compact``: ``YYYYMMDD`` (the X12 ``D8`` format).
- ``date_zero_padded``: ISO dates with one-digit month or day (``2024-3-1``).
- ``date_time_dropped``: a time after the date (``2024-03-01 00:00:00``).
- ``modifiers_reformatted``: modifier separators (comma, semicolon, slash, pipe, runs of
  spaces) made single spaces (``26,59`` -> ``26 59``).
- ``diagnosis_reformatted``: diagnosis separators (comma, pipe, spaces) made ``;``.

Not repaired, because the intended value is not certain: identifiers (``claim_id``,
``patient_id``, ``practice_id``) other than stripping whitespace; two-digit years
(``03/04/24``: the century is a guess) and any other date format; day-first dates;
decimal commas.

**Quarantine reasons** (:data:`QUARANTINE_REASONS`), one per row: the *first* failing
check in this order.

1. ``malformed_row``: a CSV line with more or fewer fields than the header.
2. ``missing_required``: an empty required field (:data:`REQUIRED_COLUMNS`).
3. ``invalid_cpt``: not five characters ``[0-9A-Z]`` after repair.
4. ``bad_date``: not a recognised format, an impossible date (``2024-02-30``), a
   two-digit year, or outside ``[EARLIEST_DATE, LATEST_DATE]``.
5. ``bad_line_number``: not a whole number >= 1.
6. ``bad_units``: not a number, or not a whole number (``1.5``).
7. ``units_not_positive``: units <= 0.
8. ``negative_amount``: ``allowed_usd`` or ``paid_usd`` below zero.
9. ``bad_amount``: an amount that cannot be read as dollars and cents.
10. ``invalid_modifier``: a modifier that is not two characters ``[0-9A-Z]``.
11. ``invalid_pos``: a place of service that is not a two-digit code 01-99.
12. ``invalid_npi``: an NPI that is not ten digits (or lost digits in scientific
    notation).
13. ``invalid_npi_check_digit``: a ten-digit NPI whose check digit fails the Luhn
    formula with the ``80840`` prefix (CMS, NPI check digit standard).
14. ``invalid_state``: not a USPS state, DC or territory code
    (``data/reference/usps_state_codes.csv``).
15. ``invalid_diagnosis``: a diagnosis code not shaped like ICD-10-CM (a letter, a
    digit, a letter or digit, then up to four letters or digits, dot optional).
16. ``conflicting_duplicate``: two or more rows that passed every other check share
    ``(claim_id, line_number)`` but differ in content. Which one is right cannot be
    known, so *all* of them are quarantined.
17. ``duplicate_line``: a row identical (after repair, in every canonical column) to
    an earlier accepted row with the same ``(claim_id, line_number)``, in any of the
    files loaded together. The first occurrence is accepted; each repeat is
    quarantined, its ``detail`` naming the row it repeats.

**Dollars.** Amounts are parsed to whole cents (integers), so the report's sums are
exact. ``read`` is the sum over all rows read of every amount that could be parsed
(negative amounts included, with their sign); ``accepted`` and ``quarantined`` split it.
An amount that cannot be parsed (``bad_amount``, or any field of a ``malformed_row``)
has no dollar value: its row is counted in ``unparsed_rows`` and its text kept in the
quarantine, so ``read == accepted + quarantined`` holds exactly and no unreadable
dollar is silently dropped.

**File-level problems** raise :class:`analysis.errors.InputError` naming the file: a
required column missing (named, with the headers found), a file that is empty, binary
(NUL bytes, a ZIP/Excel workbook), not valid in the given encoding (the message says
where and which ``encoding=`` to pass), an unreadable Parquet file, a path that does not
exist or a glob that matches nothing. A file with a header and no rows is not an error:
it loads zero rows (one of several monthly files may be empty).

References
----------
CMS, "Requirements for the NPI check digit" (Luhn formula, prefix 80840), NPPES.
CMS, Place of Service Code Set. USPS Publication 28, Appendix B.
ASC X12 837P, date format qualifier D8 (CCYYMMDD).
"""

from __future__ import annotations

import codecs
import glob as _glob
import gzip
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from analysis.codes import REFERENCE_DIR, normalize_cpt
from analysis.errors import InputError

__all__ = [
    "CANONICAL_COLUMNS",
    "CANONICAL_DTYPES",
    "DEFAULT_SAMPLE",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "QUARANTINE_REASONS",
    "REPAIRS",
    "REQUIRED_COLUMNS",
    "AmountTotals",
    "LoadResult",
    "ValidationReport",
    "canonical_schema",
    "empty_lines",
    "header_aliases",
    "load_claims",
    "npi_check_digit_ok",
    "validate_lines",
]

# ----------------------------------------------------------------------- schema

_SCHEMA: tuple[tuple[str, str, bool, str], ...] = (
    ("claim_id", "string", True, "claim identifier"),
    ("line_number", "int64", True, "line within the claim, >= 1; unique with claim_id"),
    ("practice_id", "string", True, "billing group / TIN the practice is screened as"),
    ("patient_id", "string", True, "pseudonymous patient key (never shown in reports)"),
    ("service_date", "datetime64[us]", True, "date of service"),
    ("cpt_code", "string", True, "CPT/HCPCS code, 5 characters [0-9A-Z]"),
    ("modifiers", "string", False, "modifiers separated by single spaces, e.g. '26 59'"),
    ("units", "int64", True, "service units, >= 1"),
    ("place_of_service", "string", False, "CMS 2-digit place of service code"),
    ("payer", "string", True, "payer, upper-cased (e.g. BCBSNC, MEDICARE)"),
    ("diagnosis_codes", "string", False, "ICD-10-CM codes separated by ';' (dots as given)"),
    ("allowed_usd", "float64", False, "allowed amount in US dollars (whole cents); NaN if missing"),
    ("paid_usd", "float64", False, "payer-paid amount in US dollars (whole cents); NaN if missing"),
    ("rendering_npi", "string", False, "rendering provider NPI, 10 digits, valid check digit"),
    ("state", "string", False, "2-letter USPS practice state"),
)

CANONICAL_COLUMNS: tuple[str, ...] = tuple(name for name, *_ in _SCHEMA)
"""The columns of ``LoadResult.lines``, in order."""

CANONICAL_DTYPES: dict[str, str] = {name: dtype for name, dtype, *_ in _SCHEMA}
"""pandas dtype of each canonical column (``string`` is ``pd.StringDtype()``)."""

REQUIRED_COLUMNS: tuple[str, ...] = tuple(name for name, _, req, _ in _SCHEMA if req)
"""Columns every file must have and every accepted row must fill."""

DEFAULT_SAMPLE = REFERENCE_DIR.parent / "sample" / "claims_2024.parquet"
"""The bundled synthetic sample that commands read when no input is given."""

EARLIEST_DATE = pd.Timestamp("2000-01-01")
"""Earliest plausible service date; earlier dates are ``bad_date`` (typos such as 1024)."""
LATEST_DATE = pd.Timestamp("2099-12-31")
"""Latest plausible service date; later dates are ``bad_date``."""

_STRING_COLUMNS = tuple(c for c in CANONICAL_COLUMNS if CANONICAL_DTYPES[c] == "string")
_MULTI_VALUED = {"modifiers": " ", "diagnosis_codes": ";"}
_AMOUNTS = ("allowed_usd", "paid_usd")

QUARANTINE_REASONS: dict[str, str] = {
    "malformed_row": "the CSV line has more or fewer fields than the header",
    "missing_required": "a required field is empty",
    "invalid_cpt": "not a 5-character CPT/HCPCS code",
    "bad_date": "not a valid date in a recognised format within the plausible range",
    "bad_line_number": "line number is not a whole number >= 1",
    "bad_units": "units is not a whole number",
    "units_not_positive": "units <= 0",
    "negative_amount": "allowed or paid amount below zero",
    "bad_amount": "allowed or paid amount cannot be read as dollars and cents",
    "invalid_modifier": "a modifier is not 2 characters [0-9A-Z]",
    "invalid_pos": "place of service is not a 2-digit code 01-99",
    "invalid_npi": "NPI is not 10 digits",
    "invalid_npi_check_digit": "NPI check digit fails (Luhn with prefix 80840)",
    "invalid_state": "not a USPS state, DC or territory code",
    "invalid_diagnosis": "a diagnosis code is not shaped like ICD-10-CM",
    "conflicting_duplicate": "same claim_id and line_number as another row with different content",
    "duplicate_line": "exact repeat of an earlier accepted line",
}
"""Quarantine reasons in the order the checks run, with a one-line meaning."""

REPAIRS: dict[str, tuple[str, str]] = {
    "bom": ("files", "byte-order mark before the header removed"),
    "crlf": ("files", "Windows line ends (CRLF) read as line ends"),
    "whitespace_stripped": ("rows", "leading/trailing whitespace stripped"),
    "null_token": ("rows", "NULL / NA / N/A / #N/A / NaN / None read as missing"),
    "upper_cased": ("rows", "codes, modifiers, state or payer upper-cased"),
    "numeric_suffix_dropped": ("rows", "spreadsheet '.0' dropped (76376.0 -> 76376)"),
    "cpt_zero_padded": ("rows", "all-digit CPT code left-padded to 5 digits"),
    "pos_zero_padded": ("rows", "one-digit place of service left-padded (2 -> 02)"),
    "npi_scientific": ("rows", "NPI in exact scientific notation expanded"),
    "amount_currency_format": ("rows", "$, thousands separators or (parentheses) removed"),
    "amount_rounded_to_cents": ("rows", "amount rounded to the cent (half up)"),
    "date_us_format": ("rows", "MM/DD/YYYY date read"),
    "date_compact": ("rows", "YYYYMMDD date read"),
    "date_zero_padded": ("rows", "ISO date with one-digit month or day read"),
    "date_time_dropped": ("rows", "time of day after the date dropped"),
    "modifiers_reformatted": ("rows", "modifier separators made single spaces"),
    "diagnosis_reformatted": ("rows", "diagnosis separators made ';'"),
}
"""Repair kinds: ``(unit counted, description)``."""

_ROW_REPAIRS = tuple(k for k, (unit, _) in REPAIRS.items() if unit == "rows")
_REPAIR_BIT = {k: 1 << i for i, k in enumerate(_ROW_REPAIRS)}

_NULL_TOKENS = ("NULL", "null", "Null", "NA", "N/A", "n/a", "#N/A", "NaN", "nan", "None",
                "none", "<NA>", "NaT")
_ICD10 = r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?"
_MAX_DOLLAR_DIGITS = 12  # amounts of a trillion dollars or more are typos, not claims
_BATCH_BYTES = 16 << 20
_PARQUET_BATCH_ROWS = 200_000


def canonical_schema() -> pd.DataFrame:
    """The canonical claim-line schema: ``column, dtype, required, meaning``."""
    return pd.DataFrame(
        [dict(column=c, dtype=d, required=r, meaning=m) for c, d, r, m in _SCHEMA]
    )


def empty_lines() -> pd.DataFrame:
    """A zero-row DataFrame with the canonical columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in CANONICAL_COLUMNS})


def _dtype(column: str):
    d = CANONICAL_DTYPES[column]
    return pd.StringDtype() if d == "string" else np.dtype(d)


# ---------------------------------------------------------------------- headers


def _header_key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(header).replace("\ufeff", "").lower())


def _numbered_base(key: str) -> str:
    return re.sub(r"\d+(?:st|nd|rd|th)?", "", key)


def header_aliases() -> pd.DataFrame:
    """Recognised headers: ``column, alias, source`` from
    ``data/reference/claims_header_aliases.csv``.

    Matching ignores case, spaces and punctuation. Numbered variants of the
    ``modifiers`` and ``diagnosis_codes`` aliases (``Modifier 2``, ``Dx 10``,
    ``ICD_DGNS_CD3``) are joined in header order.
    """
    return _alias_table().copy()


@cache
def _alias_table() -> pd.DataFrame:
    table = pd.read_csv(REFERENCE_DIR / "claims_header_aliases.csv", dtype=str,
                        keep_default_na=False)
    unknown = set(table["column"]) - set(CANONICAL_COLUMNS)
    if unknown:  # a broken reference file is a bug, not a user error
        raise ValueError(f"claims_header_aliases.csv names unknown columns {sorted(unknown)}")
    return table


@cache
def _alias_index() -> tuple[dict[str, str], dict[str, str]]:
    table = _alias_table()
    exact = {_header_key(a): c for a, c in zip(table["alias"], table["column"], strict=True)}
    numbered = {
        _numbered_base(_header_key(a)): c
        for a, c in zip(table["alias"], table["column"], strict=True)
        if c in _MULTI_VALUED
    }
    return exact, numbered


def _read_column_map(column_map: Mapping[str, str | None] | str | os.PathLike | None
                     ) -> dict[str, str | None]:
    if column_map is None:
        return {}
    source = None
    if isinstance(column_map, str | os.PathLike):
        source = str(column_map)
        import yaml

        try:
            with open(column_map, encoding="utf-8") as f:
                column_map = yaml.safe_load(f)
        except OSError as err:
            raise InputError(f"cannot read the column map: {err.strerror}", file=source) from None
        except yaml.YAMLError as err:
            raise InputError(f"not valid YAML: {err}".replace("\n", " "), file=source) from None
    if not isinstance(column_map, Mapping):
        raise InputError("the column map must be a mapping {header in file: canonical column}",
                         file=source)
    out: dict[str, str | None] = {}
    for header, target in column_map.items():
        if target is not None and target not in CANONICAL_COLUMNS:
            raise InputError(
                f"column map target is not a canonical column; use one of "
                f"{', '.join(CANONICAL_COLUMNS)} (or null to ignore the column)",
                file=source, column=str(header), value=target,
            )
        out[str(header)] = target
    return out


def _map_headers(headers: list[str], column_map: dict[str, str | None], label: str
                 ) -> tuple[dict[str, list[int]], list[str]]:
    """Canonical column -> indices of the source columns feeding it; ignored headers."""
    exact, numbered = _alias_index()
    user_exact = {h: t for h, t in column_map.items()}
    user_keyed = {_header_key(h): t for h, t in column_map.items()}
    sources: dict[str, list[int]] = {}
    ignored: list[str] = []
    for i, header in enumerate(headers):
        key = _header_key(header)
        if header in user_exact:
            target = user_exact[header]
        elif key in user_keyed:
            target = user_keyed[key]
        elif not key:
            target = None
        elif key in exact:
            target = exact[key]
        else:
            target = numbered.get(_numbered_base(key))
        if target is None:
            ignored.append(header)
            continue
        sources.setdefault(target, []).append(i)
    for target, idx in sources.items():
        if len(idx) > 1 and target not in _MULTI_VALUED:
            names = " and ".join(repr(headers[i]) for i in idx)
            raise InputError(
                f"headers {names} both map to {target!r}; pass column_map="
                f"{{{headers[idx[1]]!r}: None}} (or a YAML file with --column-map) to say "
                "which one to ignore", file=label, column=target)
    missing = [c for c in REQUIRED_COLUMNS if c not in sources]
    if missing:
        col = missing[0]
        table = _alias_table()
        looked = ", ".join(table.loc[table["column"].eq(col), "alias"].tolist()[:8])
        found = ", ".join(repr(h) for h in headers[:20]) + (" ..." if len(headers) > 20 else "")
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise InputError(
            f"required column {col!r} is missing{more}; headers found: {found}; "
            f"recognised names include {looked}; pass column_map={{'<your header>': {col!r}}} "
            "(rad3d validate --column-map map.yaml)",
            file=label, column=col)
    return sources, ignored


# ------------------------------------------------------------------- sources


@dataclass
class _Source:
    """One input: a CSV/Parquet file or an in-memory frame; iterable more than once."""

    label: str
    kind: str  # "csv" | "parquet" | "frame"
    path: Path | None = None
    frame: pd.DataFrame | None = None
    extra: dict[str, str] = field(default_factory=dict)  # hive partition values
    gzip: bool = False


def _expand_paths(paths) -> list[_Source]:
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    sources: list[_Source] = []
    for p in paths:
        text = os.fspath(p)
        if any(ch in text for ch in "*?[") and not os.path.exists(text):
            matches = sorted(_glob.glob(text, recursive=True))
            if not matches:
                raise InputError("no file matches this pattern", file=text)
            for m in matches:
                sources.extend(_expand_paths([m]))
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
        sources.append(_classify(path, text))
    if not sources:
        raise InputError("no input files given")
    return sources


def _classify(path: Path, label: str) -> _Source:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise InputError(f"cannot read the file: {err.strerror}", file=label) from None
    if head[:4] == b"PAR1":
        return _Source(label=label, kind="parquet", path=path)
    if path.suffix.lower() in (".parquet", ".pq") and head:
        raise InputError("has a .parquet name but is not a Parquet file (no PAR1 magic "
                         "bytes); is it a CSV or a damaged copy?", file=label)
    return _Source(label=label, kind="csv", path=path, gzip=head[:2] == b"\x1f\x8b")


# ------------------------------------------------------------------ CSV reading


@dataclass
class _Raw:
    """A batch of raw string values: canonical columns (absent ones all-NA)."""

    frame: pd.DataFrame
    ordinal: np.ndarray  # 0-based index of each record among the file's parsed records
    newlines: np.ndarray | None = None  # embedded line breaks per record, if any


@dataclass
class _FileState:
    present: frozenset[str] = frozenset()
    mapping: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    file_repairs: dict[str, int] = field(default_factory=dict)
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (record number, text)
    n_records: int = 0
    newline_counts: dict[int, int] = field(default_factory=dict)  # ordinal -> embedded \n
    fmt: str = "csv"


def _open_bytes(src: _Source):
    if src.gzip:
        return gzip.open(src.path, "rb")
    return open(src.path, "rb")


def _sniff_csv(src: _Source, encoding: str, delimiter: str | None
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
    elif b"\x00" in sample:
        at = sample.index(b"\x00")
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
    import csv

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


def _locate_encoding_error(src: _Source, encoding: str) -> InputError:
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


def _csv_batches(src: _Source, state: _FileState, column_map, encoding, delimiter
                 ) -> Iterator[_Raw]:
    headers, delim, enc, repairs = _sniff_csv(src, encoding, delimiter)
    sources, ignored = _map_headers(headers, column_map, src.label)
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
                use_threads=False, block_size=_BATCH_BYTES, skip_rows=1,
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
            frame = _assemble(columns, {c: [names[i] for i in idx] for c, idx in sources.items()},
                              n, src.extra)
            nl = None
            for name in columns:
                arr = columns[name]
                if pc.any(pc.match_substring(arr, "\n")).as_py():
                    counts = pc.count_substring(arr, "\n").to_numpy(zero_copy_only=False)
                    nl = counts if nl is None else nl + counts
            yield _Raw(frame, np.arange(ordinal, ordinal + n, dtype=np.int64), nl)
            ordinal += n
        state.n_records = ordinal
    except pa.ArrowInvalid as err:
        msg = str(err)
        if "UTF8" in msg or "UTF-8" in msg or "decode" in msg.lower():
            raise _locate_encoding_error(src, enc) from None
        raise InputError(f"cannot be read as CSV: {msg}", file=src.label) from None
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise InputError(f"cannot read the file ({err})", file=src.label) from None


def _assemble(columns: Mapping[str, pa.Array], sources: Mapping[str, list[str]], n: int,
              extra: Mapping[str, str]) -> pd.DataFrame:
    """Canonical-named DataFrame of raw strings (absent columns all-NA)."""
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
            sep = _MULTI_VALUED[col]
            joined = parts[0].fillna("")
            for p in parts[1:]:
                joined = joined.str.cat(p.fillna(""), sep=sep)
            pattern = r"[ \t]+" if sep == " " else rf"[ \t]*{re.escape(sep)}[ \t{re.escape(sep)}]*"
            joined = joined.str.replace(pattern, sep, regex=True).str.strip(f"{sep} ")
            out[col] = joined
    return pd.DataFrame(out)


def _to_series(arr: pa.Array | pa.ChunkedArray) -> pd.Series:
    mapper = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}.get
    return arr.to_pandas(types_mapper=mapper).reset_index(drop=True)


# -------------------------------------------------------------- Parquet / frames


def _arrow_to_string(arr: pa.ChunkedArray | pa.Array, label: str, column: str) -> pa.ChunkedArray:
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


def _map_table_headers(headers: list[str], src: _Source, column_map, state: _FileState, *,
                       fmt: str) -> tuple[list[str], dict[str, list[str]], dict[str, str]]:
    """Map the physical ``headers`` of a Parquet file or frame (plus ``src.extra``
    partition values) to canonical columns and record the mapping in ``state``.

    Returns the physical columns to read, canonical -> physical columns read, and the
    constant (partition) values by canonical column or header.
    """
    headers_all = headers + [k for k in src.extra if k not in headers]
    sources, ignored = _map_headers(headers_all, column_map, src.label)
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


def _table_batches(src: _Source, state: _FileState, column_map) -> Iterator[_Raw]:
    if src.kind == "parquet":
        try:
            pf = pq.ParquetFile(src.path)
            headers = list(pf.schema_arrow.names)
        except (pa.ArrowInvalid, OSError) as err:
            raise InputError(f"is not a readable Parquet file ({err})", file=src.label) from None
        used, col_sources, extra_cols = _map_table_headers(headers, src, column_map, state,
                                                           fmt="parquet")

        def batches():
            try:
                yield from pf.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=used)
            except (pa.ArrowInvalid, OSError) as err:
                raise InputError(f"is not a readable Parquet file ({err})",
                                 file=src.label) from None
    else:
        frame = src.frame.rename(columns=str)
        # object columns may mix types (ints and strings, dates and None): text first
        frame = frame.assign(**{
            c: frame[c].astype(pd.StringDtype()) for c in frame.columns if frame[c].dtype == object
        })
        used, col_sources, extra_cols = _map_table_headers(list(frame.columns), src,
                                                           column_map, state, fmt="frame")
        try:
            table = pa.Table.from_pandas(frame[used], preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise InputError(f"cannot convert the frame to text columns ({err})",
                             file=src.label) from None

        def batches():
            yield from table.to_batches(max_chunksize=_PARQUET_BATCH_ROWS)

    ordinal = 0
    for batch in batches():
        n = batch.num_rows
        columns = {name: _arrow_to_string(batch.column(name), src.label, name) for name in used}
        frame = _assemble(columns, col_sources, n, extra_cols)
        yield _Raw(frame, np.arange(ordinal, ordinal + n, dtype=np.int64))
        ordinal += n
    state.n_records = ordinal


def _batches(src: _Source, state: _FileState, column_map, encoding, delimiter) -> Iterator[_Raw]:
    if src.kind == "csv":
        return _csv_batches(src, state, column_map, encoding, delimiter)
    return _table_batches(src, state, column_map)


# ------------------------------------------------------------------- checks


def _np(mask) -> np.ndarray:
    """Boolean Series (possibly with NA) -> numpy bool, NA as False."""
    if isinstance(mask, np.ndarray):
        return mask.astype(bool)
    return mask.fillna(False).to_numpy(dtype=bool)


def _mark_duplicates(frame: pd.DataFrame, shared_key: np.ndarray, key: list[str],
                     conflict: np.ndarray, repeat: np.ndarray) -> None:
    """Among the rows ``shared_key`` (whose ``key`` occurs more than once), set in place
    ``conflict`` where the key has two or more distinct contents and ``repeat`` on every
    exact copy after the first."""
    if shared_key.any():
        sub = frame.loc[shared_key, list(CANONICAL_COLUMNS)]
        distinct = sub.drop_duplicates().groupby(key, sort=False, dropna=False).size()
        n_distinct = sub.join(distinct.rename("_n"), on=key)["_n"].to_numpy()
        conflict[shared_key] = n_distinct > 1
        repeat[shared_key] = (n_distinct == 1) & _np(sub.duplicated(keep="first"))


def _extract(s: pd.Series, pattern: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Named groups of an anchored RE2 pattern (pyarrow, vectorised).

    Returns the groups (NA where the row does not match or an optional group matched
    nothing) and whether each row matched.
    """
    arr = pa.array(s.astype(pd.StringDtype()).array)
    groups = re.findall(r"\(\?P<(\w+)>", pattern)
    found = pc.extract_regex(arr, pattern)
    matched = found.is_valid().to_numpy(zero_copy_only=False)
    out = {}
    for i, name in enumerate(groups):
        part = pc.struct_field(found, [i])
        part = pc.if_else(pc.equal(part, ""), pa.scalar(None, part.type), part)
        out[name] = part.to_pandas(types_mapper=lambda t: pd.StringDtype()).set_axis(s.index)
    return pd.DataFrame(out, index=s.index), matched


def npi_check_digit_ok(npi: pd.Series) -> pd.Series:
    """True where a 10-digit NPI has a valid check digit.

    The check digit is the Luhn check digit of the first nine digits prefixed with
    ``80840`` (the health-industry prefix): double every second digit starting from the
    rightmost of the nine, add the digits of the products and the undoubled digits plus
    24 (the constant contribution of the prefix); the check digit takes the sum to the
    next multiple of ten.

    Examples
    --------
    >>> npi_check_digit_ok(pd.Series(["1234567893", "1234567890", "12345"])).tolist()
    [True, False, False]

    References
    ----------
    CMS, "Requirements for National Provider Identifier (NPI) and NPI Enumerator Check
    Digit Algorithm" (the example NPI 1234567893).
    """
    s = pd.Series(npi, copy=False).astype(pd.StringDtype())
    ten = _np(s.str.fullmatch(r"[0-9]{10}"))
    out = np.zeros(len(s), dtype=bool)
    if ten.any():
        raw = "".join(s[ten].tolist()).encode("ascii")
        digits = (np.frombuffer(raw, dtype=np.uint8) - 48).reshape(-1, 10).astype(np.int64)
        base = digits[:, :9]
        doubled = base[:, 0::2] * 2  # positions 1,3,5,7,9 (rightmost of nine is doubled)
        total = 24 + (doubled // 10 + doubled % 10).sum(axis=1) + base[:, 1::2].sum(axis=1)
        out[ten] = (10 - total % 10) % 10 == digits[:, 9]
    return pd.Series(out, index=s.index)


@cache
def _state_codes() -> frozenset[str]:
    return frozenset(pd.read_csv(REFERENCE_DIR / "usps_state_codes.csv", dtype=str)["state"])


_FAST_AMOUNT = r"[0-9]{1,12}(?:\.[0-9]{1,2})?"


def _parse_cents(val: pd.Series) -> dict[str, np.ndarray]:
    """Parse amounts to whole cents.

    Returns arrays ``cents`` (int64, 0 where not parsed), ``parsed`` (bool),
    ``unparsed`` (a value present but unreadable), ``currency`` and ``rounded``
    (repairs). Plain amounts (``1234.5``) take a fast path; the rest go through the
    full grammar: optional sign and ``$`` in either order, digits with or without
    comma thousands groups, optional decimals, or accounting parentheses.
    """
    n = len(val)
    present = _np(val.notna())
    cents = np.zeros(n, dtype=np.int64)
    fast = _np(val.str.fullmatch(_FAST_AMOUNT))
    if fast.any():
        floats = pc.cast(pa.array(val[fast].array), pa.float64()).to_numpy(zero_copy_only=False)
        cents[fast] = np.rint(floats * 100).astype(np.int64)  # exact below 2**53 cents
    ok = fast.copy()
    currency = np.zeros(n, dtype=bool)
    rounded = np.zeros(n, dtype=bool)
    slow = present & ~fast
    if not slow.any():
        return dict(cents=cents, parsed=ok, unparsed=present & ~ok, currency=currency,
                    rounded=rounded)
    where = np.flatnonzero(slow)
    sub = val[slow]
    paren = _np(sub.str.fullmatch(r"\(.*\)"))
    body = sub.mask(pd.Series(paren, index=sub.index), sub.str.slice(1, -1).str.strip())
    m, matched = _extract(
        body,
        r"^(?P<s1>[-+]?)[ ]*(?P<dollar>\$?)[ ]*(?P<s2>[-+]?)"
        r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.(?P<frac>[0-9]*))?$",
    )
    int_digits = m["int"].fillna("").str.replace(",", "", regex=False)
    frac = m["frac"].fillna("")
    good = matched & _np((int_digits.str.len() + frac.str.len()) > 0)
    has_s1, has_s2 = _np(m["s1"].notna()), _np(m["s2"].notna())
    negative = _np(m["s1"].eq("-")) | _np(m["s2"].eq("-")) | paren
    good &= ~(has_s1 & has_s2) & ~(paren & (has_s1 | has_s2))
    good &= _np(int_digits.str.len() <= _MAX_DOLLAR_DIGITS)
    sub_cents = np.zeros(len(sub), dtype=np.int64)
    sub_rounded = np.zeros(len(sub), dtype=bool)
    if good.any():
        ints = int_digits[good].mask(int_digits[good].eq(""), "0")
        ints = pc.cast(pa.array(ints.array), pa.int64()).to_numpy(zero_copy_only=False)
        f = frac[good]
        two = pc.cast(pa.array(f.str.slice(0, 2).str.pad(2, side="right", fillchar="0").array),
                      pa.int64()).to_numpy(zero_copy_only=False)
        up = _np(f.str.slice(2, 3).str.fullmatch(r"[5-9]"))
        sub_rounded[good] = _np(f.str.slice(2).str.contains(r"[1-9]"))
        magnitude = ints * 100 + two + up
        sub_cents[good] = np.where(negative[good], -magnitude, magnitude)
    sub_currency = good & (paren | _np(m["dollar"].notna()) | _np(m["int"].str.contains(",")))
    # scientific notation (a float written by a spreadsheet or cast from Parquet)
    sci = ~good & _np(sub.str.fullmatch(r"[-+]?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+"))
    for i in np.flatnonzero(sci):
        d = Decimal(sub.iat[i])
        if abs(d) >= Decimal(10) ** _MAX_DOLLAR_DIGITS:
            continue
        q = (d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        sub_cents[i] = int(q)
        sub_rounded[i] = q != d * 100
        good[i] = True
    cents[where] = sub_cents
    ok[where] = good
    currency[where] = sub_currency
    rounded[where] = sub_rounded & good
    return dict(cents=cents, parsed=ok, unparsed=present & ~ok, currency=currency,
                rounded=rounded)


def _parse_dates(val: pd.Series) -> dict[str, Any]:
    """Service dates: ISO fast path, then ``MM/DD/YYYY``, ``YYYYMMDD``, unpadded ISO and
    trailing times; everything else (and two-digit years) is not a date."""
    n = len(val)
    dates = pd.to_datetime(val, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")
    fast = _np(dates.notna()) & _np(val.str.len() == 10)
    flags = {k: np.zeros(n, dtype=bool) for k in
             ("impossible", "two_digit_year", "us", "compact", "unpadded", "time")}
    slow = _np(val.notna()) & ~fast
    if slow.any():
        sub = val[slow]
        time = r"(?:[T ](?P<t>[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?))?"
        iso, is_iso = _extract(
            sub, rf"^(?P<y>[0-9]{{4}})-(?P<m>[0-9]{{1,2}})-(?P<d>[0-9]{{1,2}}){time}$")
        us, is_us = _extract(
            sub, rf"^(?P<m>[0-9]{{1,2}})/(?P<d>[0-9]{{1,2}})/(?P<y>[0-9]{{4}}){time}$")
        compact, is_compact = _extract(sub, r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$")
        year = iso["y"].fillna(us["y"]).fillna(compact["y"])
        text = (year + "-" + iso["m"].fillna(us["m"]).fillna(compact["m"]).str.zfill(2)
                + "-" + iso["d"].fillna(us["d"]).fillna(compact["d"]).str.zfill(2))
        sub_dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        dates = dates.mask(pd.Series(slow, index=val.index), pd.NaT)
        dates.loc[slow] = sub_dates.to_numpy(dtype="datetime64[us]")
        valid = _np(sub_dates.notna())
        for key, sub_mask in (
            ("impossible", (is_iso | is_us | is_compact) & ~valid),
            ("two_digit_year",
             _np(sub.str.fullmatch(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}(?:[T ].*)?"))),
            ("us", is_us),
            ("compact", is_compact),
            ("unpadded", is_iso & _np((iso["m"].str.len() < 2) | (iso["d"].str.len() < 2))),
            ("time", _np(iso["t"].notna() | us["t"].notna())),
        ):
            flags[key][slow] = sub_mask
    valid = _np(dates.notna())
    ok = valid & _np((dates >= EARLIEST_DATE) & (dates <= LATEST_DATE))
    return dict(dates=dates.astype("datetime64[us]"), ok=ok, out_of_range=valid & ~ok, **flags)


@dataclass
class _Checked:
    typed: pd.DataFrame  # canonical typed values (meaningful where reason is None)
    reason: np.ndarray  # object: reason or None
    column: np.ndarray
    detail: np.ndarray
    repairs: np.ndarray  # int64 bit mask of row repairs
    cents: dict[str, np.ndarray]
    parsed: dict[str, np.ndarray]
    unparsed: dict[str, np.ndarray]


def _quote(values: pd.Series) -> np.ndarray:
    return ("'" + values.fillna("").astype(str) + "'").to_numpy(dtype=object)


def _on(slow: np.ndarray, sub_mask) -> np.ndarray:
    """Scatter a mask computed on the rows ``slow`` back to full length."""
    out = np.zeros(len(slow), dtype=bool)
    out[slow] = _np(sub_mask)
    return out


def _check(raw: pd.DataFrame, present: frozenset[str]) -> _Checked:
    """Repair and check a batch of raw strings (vectorised).

    Each column has a fast path for values already in canonical form; only the other
    values go through the repairs, so clean files cost one regular expression per column.
    """
    n = len(raw)
    idx = raw.index
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)
    repairs = np.zeros(n, dtype=np.int64)

    def repaired(kind: str, mask) -> None:
        nonlocal repairs
        repairs = repairs | np.where(_np(mask), _REPAIR_BIT[kind], 0)

    def fail(name: str, col: str, mask, message: Callable[[np.ndarray], Any]) -> None:
        m = _np(mask) & (reason == None)  # noqa: E711 - elementwise on an object array
        if m.any():
            reason[m] = name
            column[m] = col
            detail[m] = message(m)

    val: dict[str, pd.Series] = {}
    for c in CANONICAL_COLUMNS:
        s = raw[c]
        if c not in present:
            val[c] = s
            continue
        stripped = s.str.strip()
        repaired("whitespace_stripped", s.ne(stripped))
        token = _np(stripped.isin(_NULL_TOKENS))
        repaired("null_token", token)
        val[c] = stripped.mask(pd.Series(token | _np(stripped.eq("")), index=idx))

    # 2. missing required fields
    missing = {c: _np(val[c].isna()) for c in REQUIRED_COLUMNS}
    any_missing = np.logical_or.reduce([missing[c] for c in REQUIRED_COLUMNS])
    m = any_missing & (reason == None)  # noqa: E711
    if m.any():
        names = np.array([np.where(missing[c][m], c, "") for c in REQUIRED_COLUMNS])
        reason[m] = "missing_required"
        column[m] = [next(x for x in col if x) for col in names.T]
        detail[m] = ["missing " + ", ".join(x for x in col if x) for col in names.T]

    payer = val["payer"].str.upper()
    repaired("upper_cased", val["payer"].ne(payer))

    # 3. CPT
    s = val["cpt_code"]
    cpt = s
    lost_digit = np.zeros(n, dtype=bool)
    slow = _np(s.notna()) & ~_np(s.str.fullmatch(r"[0-9A-Z]{5}"))
    if slow.any():
        sub = s[slow]
        up = sub.str.upper()
        norm = normalize_cpt(sub)
        repaired("upper_cased", _on(slow, sub.ne(up)))
        repaired("numeric_suffix_dropped", _on(slow, up.str.contains(r"\.0+$")))
        # Zero-padding restores the leading zeros a spreadsheet dropped from anesthesia
        # codes (00100-01999), the only all-digit CPT codes starting with 0; a short
        # code that pads to anything else (7637 -> 07637) lost another digit.
        padded = _np(up.str.replace(r"\.0+$", "", regex=True).str.fullmatch(r"[0-9]{1,4}"))
        lost = padded & ~_np(norm.str.fullmatch(r"0[01][0-9]{3}") & norm.ge("00100"))
        repaired("cpt_zero_padded", _on(slow, padded & ~lost))
        lost_digit = _on(slow, lost)
        cpt = s.mask(pd.Series(slow, index=idx), norm)
    fail("invalid_cpt", "cpt_code",
         (_np(cpt.notna()) & ~_np(cpt.str.fullmatch(r"[0-9A-Z]{5}"))) | lost_digit,
         lambda m: _quote(raw["cpt_code"][m]) + np.where(
             lost_digit[m], " has fewer than 5 digits and is not an anesthesia code "
             "(00100-01999) missing its leading zeros", " is not a 5-character CPT/HCPCS code"))

    # 4. service date
    d = _parse_dates(val["service_date"])

    def date_message(m: np.ndarray) -> np.ndarray:
        why = np.where(d["two_digit_year"][m], " has a two-digit year (the century is a guess); "
                       "re-export with four-digit years",
                       np.where(d["impossible"][m], " is not a calendar date",
                                np.where(d["out_of_range"][m],
                                         f" is outside {EARLIEST_DATE:%Y-%m-%d}.."
                                         f"{LATEST_DATE:%Y-%m-%d}",
                                         " is not a recognised date (use YYYY-MM-DD or "
                                         "MM/DD/YYYY)")))
        return _quote(raw["service_date"][m]) + why

    fail("bad_date", "service_date", ~d["ok"] & _np(val["service_date"].notna()), date_message)
    for kind, key in (("date_us_format", "us"), ("date_compact", "compact"),
                      ("date_zero_padded", "unpadded"), ("date_time_dropped", "time")):
        repaired(kind, d[key] & d["ok"])

    # 5-7. line number and units: whole numbers, a spreadsheet's ".0" dropped
    def whole(col: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = val[col]
        ok = _np(s.str.fullmatch(r"[0-9]{1,9}"))
        number = np.zeros(n, dtype=np.int64)
        if ok.any():
            number[ok] = pc.cast(pa.array(s[ok].array), pa.int64()).to_numpy(zero_copy_only=False)
        slow = _np(s.notna()) & ~ok
        if slow.any():
            mt, sub_ok = _extract(s[slow], r"^(?P<n>[-+]?[0-9]{1,9})(?P<z>\.0*)?$")
            where = np.flatnonzero(slow)[sub_ok]
            number[where] = pc.cast(pa.array(mt["n"][sub_ok].str.lstrip("+").array),
                                    pa.int64()).to_numpy(zero_copy_only=False)
            ok[where] = True
            repaired("numeric_suffix_dropped", _on(slow, sub_ok & _np(mt["z"].notna())))
        return ok, number, _np(s.notna())

    ln_ok, line_number, ln_present = whole("line_number")
    fail("bad_line_number", "line_number", ln_present & ~(ln_ok & (line_number >= 1)),
         lambda m: _quote(raw["line_number"][m]) + " is not a whole number >= 1")
    u_ok, units, u_present = whole("units")
    negative_units = u_present & ~u_ok & _np(val["units"].str.fullmatch(r"-[0-9.]+"))
    fail("bad_units", "units", u_present & ~u_ok & ~negative_units,
         lambda m: _quote(raw["units"][m]) + " is not a whole number of units")
    fail("units_not_positive", "units", u_present & (~u_ok | (units <= 0)),
         lambda m: _quote(raw["units"][m]) + " is not a positive number of units")

    # 8-9. amounts
    amounts = {col: _parse_cents(val[col]) for col in _AMOUNTS}
    for a in amounts.values():
        repaired("amount_currency_format", a["currency"])
        repaired("amount_rounded_to_cents", a["rounded"])
    for col, a in amounts.items():
        fail("negative_amount", col, a["parsed"] & (a["cents"] < 0),
             lambda m, col=col: _quote(raw[col][m]) + " is below zero")
    for col, a in amounts.items():
        fail("bad_amount", col, a["unparsed"],
             lambda m, col=col: _quote(raw[col][m]) + " is not an amount in dollars and cents")

    # 10. modifiers
    s = val["modifiers"]
    mods = s
    slow = _np(s.notna()) & ~_np(s.str.fullmatch(r"[0-9A-Z]{2}(?: [0-9A-Z]{2})*"))
    if slow.any():
        sub = s[slow]
        up = sub.str.upper()
        sep = up.str.replace(r"[ \t,;/|]+", " ", regex=True).str.strip()
        fixed = sep.str.replace(r"([0-9])\.0+( |$)", r"\1\2", regex=True)
        repaired("upper_cased", _on(slow, sub.ne(up)))
        repaired("modifiers_reformatted", _on(slow, sep.ne(up)))
        repaired("numeric_suffix_dropped", _on(slow, fixed.ne(sep)))
        mods = s.mask(pd.Series(slow, index=idx), fixed.mask(fixed.eq("")))
    fail("invalid_modifier", "modifiers",
         _np(mods.notna()) & ~_np(mods.str.fullmatch(r"[0-9A-Z]{2}(?: [0-9A-Z]{2})*")),
         lambda m: _quote(raw["modifiers"][m]) + " holds a modifier that is not 2 characters")

    # 11. place of service
    s = val["place_of_service"]
    pos_ok = _np(s.str.fullmatch(r"[0-9]{2}")) & _np(s.ne("00"))
    pos = s.where(pd.Series(pos_ok, index=idx))
    slow = _np(s.notna()) & ~pos_ok
    if slow.any():
        pm, _ = _extract(s[slow], r"^(?P<p>[0-9]{1,2})(?P<z>\.0+)?$")
        fixed = pm["p"].str.zfill(2)
        good = _np(fixed.notna()) & _np(fixed.ne("00"))
        repaired("numeric_suffix_dropped", _on(slow, good & _np(pm["z"].notna())))
        repaired("pos_zero_padded", _on(slow, good & _np(pm["p"].str.len() == 1)))
        pos = pos.mask(pd.Series(slow, index=idx), fixed.where(pd.Series(good, index=fixed.index)))
        pos_ok = pos_ok | _on(slow, good)
    fail("invalid_pos", "place_of_service", _np(s.notna()) & ~pos_ok,
         lambda m: _quote(raw["place_of_service"][m])
         + " is not a 2-digit place of service 01-99")

    # 12-13. NPI
    s = val["rendering_npi"]
    ok = _np(s.str.fullmatch(r"[0-9]{10}"))
    npi = s.where(pd.Series(ok, index=idx))
    lost = np.zeros(n, dtype=bool)
    slow = _np(s.notna()) & ~ok
    if slow.any():
        sub = s[slow]
        plain, is_plain = _extract(sub, r"^(?P<n>[0-9]{10})(?P<z>\.0*)$")
        sci, is_sci = _extract(sub, r"^(?P<a>[0-9])\.(?P<b>[0-9]+)[eE]\+?0*9$")
        # exact only when the mantissa carries all ten digits (any more must be zeros)
        exact = is_sci & _np(sci["b"].str.len() >= 9) & _np(
            sci["b"].str.slice(9).str.fullmatch(r"0*"))
        fixed = plain["n"].fillna((sci["a"] + sci["b"].str.slice(0, 9)).where(
            pd.Series(exact, index=sub.index)))
        repaired("numeric_suffix_dropped", _on(slow, is_plain))
        repaired("npi_scientific", _on(slow, exact))
        lost = _on(slow, is_sci & ~exact)
        npi = npi.mask(pd.Series(slow, index=idx), fixed)
    fail("invalid_npi", "rendering_npi", _np(s.notna()) & _np(npi.isna()),
         lambda m: _quote(raw["rendering_npi"][m]) + np.where(
             lost[m], " is scientific notation that lost digits; re-export the NPI as text",
             " is not a 10-digit NPI"))
    fail("invalid_npi_check_digit", "rendering_npi",
         _np(npi.notna()) & ~npi_check_digit_ok(npi).to_numpy(),
         lambda m: _quote(raw["rendering_npi"][m]) + " fails the NPI check digit")

    # 14. state
    s = val["state"]
    codes = _state_codes()
    state = s
    slow = _np(s.notna()) & ~_np(s.isin(codes))
    if slow.any():
        up = s[slow].str.upper()
        repaired("upper_cased", _on(slow, up.ne(s[slow]) & up.isin(codes)))
        state = s.mask(pd.Series(slow, index=idx), up)
    fail("invalid_state", "state", _np(state.notna()) & ~_np(state.isin(codes)),
         lambda m: _quote(raw["state"][m]) + " is not a USPS state code")

    # 15. diagnoses
    s = val["diagnosis_codes"]
    pattern = rf"{_ICD10}(?:;{_ICD10})*"
    dx = s
    slow = _np(s.notna()) & ~_np(s.str.fullmatch(pattern))
    if slow.any():
        sub = s[slow]
        up = sub.str.upper()
        fixed = up.str.replace(r"[ \t;,|]+", ";", regex=True).str.strip(";")
        repaired("upper_cased", _on(slow, sub.ne(up)))
        repaired("diagnosis_reformatted", _on(slow, fixed.ne(up)))
        dx = s.mask(pd.Series(slow, index=idx), fixed.mask(fixed.eq("")))
    fail("invalid_diagnosis", "diagnosis_codes",
         _np(dx.notna()) & ~_np(dx.str.fullmatch(pattern)),
         lambda m: _quote(raw["diagnosis_codes"][m]) + " holds a code not shaped like ICD-10-CM")

    def dollars(col: str) -> np.ndarray:
        a = amounts[col]
        return np.where(a["parsed"], a["cents"] / 100.0, np.nan)

    typed = pd.DataFrame({
        "claim_id": val["claim_id"],
        "line_number": line_number,
        "practice_id": val["practice_id"],
        "patient_id": val["patient_id"],
        "service_date": d["dates"],
        "cpt_code": cpt,
        "modifiers": mods,
        "units": units,
        "place_of_service": pos,
        "payer": payer,
        "diagnosis_codes": dx,
        "allowed_usd": dollars("allowed_usd"),
        "paid_usd": dollars("paid_usd"),
        "rendering_npi": npi,
        "state": state,
    }, index=idx)
    return _Checked(typed, reason, column, detail, repairs,
                    cents={c: a["cents"] for c, a in amounts.items()},
                    parsed={c: a["parsed"] for c, a in amounts.items()},
                    unparsed={c: a["unparsed"] for c, a in amounts.items()})



# ------------------------------------------------------------------- report


@dataclass(frozen=True)
class AmountTotals:
    """Whole-cent totals of one amount column; ``read == accepted + quarantined``.

    Attributes
    ----------
    read_cents, accepted_cents, quarantined_cents : int
        Sums of the parsed amounts of all rows read, of the accepted rows and of the
        quarantined rows (signed: negative amounts count with their sign).
    unparsed_rows : int
        Rows read whose amount was present but could not be parsed (all of them are
        quarantined; their text is in the quarantine table).
    missing_accepted_rows : int
        Accepted rows without this amount (priced from the fee schedule downstream).
    """

    read_cents: int
    accepted_cents: int
    quarantined_cents: int
    unparsed_rows: int
    missing_accepted_rows: int

    @property
    def reconciles(self) -> bool:
        return self.read_cents == self.accepted_cents + self.quarantined_cents

    def to_dict(self) -> dict[str, int]:
        return dict(read_cents=self.read_cents, accepted_cents=self.accepted_cents,
                    quarantined_cents=self.quarantined_cents, unparsed_rows=self.unparsed_rows,
                    missing_accepted_rows=self.missing_accepted_rows)


def _usd(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


@dataclass(frozen=True)
class ValidationReport:
    """What loading did: rows and dollars read, accepted and quarantined, and repairs.

    Attributes
    ----------
    rows_read, rows_accepted, rows_quarantined : int
        ``rows_read == rows_accepted + rows_quarantined`` (see :attr:`reconciles`).
    blank_rows : int
        Records with every mapped field empty, skipped (not rows read).
    quarantined_by_reason : dict
        Every reason of :data:`QUARANTINE_REASONS`, in check order, with its row count.
    quarantined_cents_by_reason : dict
        ``{reason: {"allowed_usd": cents, "paid_usd": cents}}``.
    repairs : dict
        Every kind of :data:`REPAIRS` with its count (accepted rows, or files).
    amounts : dict
        ``{"allowed_usd": AmountTotals, "paid_usd": AmountTotals}``.
    files : DataFrame
        One row per file: ``source_file, format, rows_read, rows_accepted,
        rows_quarantined, blank_rows, columns`` (``canonical <- header`` pairs) and
        ``ignored_columns``.
    """

    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    blank_rows: int
    quarantined_by_reason: dict[str, int]
    quarantined_cents_by_reason: dict[str, dict[str, int]]
    repairs: dict[str, int]
    amounts: dict[str, AmountTotals]
    files: pd.DataFrame

    @property
    def reconciles(self) -> bool:
        """Rows and dollars (``allowed_usd``, ``paid_usd``) reconcile exactly."""
        return self.rows_read == self.rows_accepted + self.rows_quarantined and all(
            a.reconciles for a in self.amounts.values())

    @property
    def summary(self) -> pd.DataFrame:
        """Rows and dollars read / accepted / quarantined (and by reason).

        Columns ``measure, rows, allowed_usd, paid_usd``; the dollars are exact
        (sums of whole cents) and the quarantine rows add up to ``quarantined``.
        """
        a, p = self.amounts["allowed_usd"], self.amounts["paid_usd"]
        rows = [
            ("read", self.rows_read, a.read_cents, p.read_cents),
            ("accepted", self.rows_accepted, a.accepted_cents, p.accepted_cents),
            ("quarantined", self.rows_quarantined, a.quarantined_cents, p.quarantined_cents),
        ]
        for reason, count in self.quarantined_by_reason.items():
            if count:
                c = self.quarantined_cents_by_reason[reason]
                rows.append((f"quarantined: {reason}", count, c["allowed_usd"], c["paid_usd"]))
        return pd.DataFrame(
            [dict(measure=m, rows=r, allowed_usd=ac / 100, paid_usd=pc_ / 100)
             for m, r, ac, pc_ in rows]
        )

    @property
    def repairs_table(self) -> pd.DataFrame:
        """Repairs with a non-zero count: ``repair, count, unit, description``."""
        return pd.DataFrame(
            [dict(repair=k, count=v, unit=REPAIRS[k][0], description=REPAIRS[k][1])
             for k, v in self.repairs.items() if v],
            columns=["repair", "count", "unit", "description"],
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record (dollars as integer cents)."""
        return dict(
            rows_read=self.rows_read, rows_accepted=self.rows_accepted,
            rows_quarantined=self.rows_quarantined, blank_rows=self.blank_rows,
            quarantined_by_reason=dict(self.quarantined_by_reason),
            quarantined_cents_by_reason={k: dict(v) for k, v in
                                         self.quarantined_cents_by_reason.items()},
            repairs=dict(self.repairs),
            amounts={k: v.to_dict() for k, v in self.amounts.items()},
            reconciles=self.reconciles,
            files=[{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                   for r in self.files.to_dict("records")],
        )

    def __str__(self) -> str:
        a, p = self.amounts["allowed_usd"], self.amounts["paid_usd"]
        w = 28
        lines = [f"{len(self.files)} file(s): " + ", ".join(self.files["source_file"].tolist()),
                 "",
                 f"{'':<{w}} {'rows':>12} {'allowed_usd':>18} {'paid_usd':>18}"]
        for m, r, ac, pc_ in (
            ("read", self.rows_read, a.read_cents, p.read_cents),
            ("accepted", self.rows_accepted, a.accepted_cents, p.accepted_cents),
            ("quarantined", self.rows_quarantined, a.quarantined_cents, p.quarantined_cents),
        ):
            lines.append(f"{m:<{w}} {r:>12,} {_usd(ac):>18} {_usd(pc_):>18}")
        for reason, count in self.quarantined_by_reason.items():
            if count:
                c = self.quarantined_cents_by_reason[reason]
                lines.append(f"  {reason:<{w - 2}} {count:>12,} {_usd(c['allowed_usd']):>18} "
                             f"{_usd(c['paid_usd']):>18}")
        lines.append(f"reconciles: {'yes' if self.reconciles else 'NO'}"
                     + (f"; blank rows skipped: {self.blank_rows:,}" if self.blank_rows else ""))
        unparsed = {k: v.unparsed_rows for k, v in self.amounts.items() if v.unparsed_rows}
        if unparsed:
            lines.append("rows with unreadable amounts (no dollar value, kept in quarantine): "
                         + ", ".join(f"{k} {v:,}" for k, v in unparsed.items()))
        table = self.repairs_table
        if len(table):
            lines += ["", "repairs"]
            lines += [f"  {r.repair:<26} {r.count:>12,} {r.unit:<6} {r.description}"
                      for r in table.itertuples()]
        ignored = [f"{r.source_file}: {r.ignored_columns}" for r in self.files.itertuples()
                   if r.ignored_columns]
        if ignored:
            lines += ["", "columns ignored"] + [f"  {x}" for x in ignored]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        fmt = {"allowed_usd": "${:,.2f}".format, "paid_usd": "${:,.2f}".format,
               "rows": "{:,}".format}
        parts = [
            "<h4>Claims validation</h4>",
            f"<p>Rows and dollars reconcile: <b>{'yes' if self.reconciles else 'NO'}</b>"
            + (f"; blank rows skipped: {self.blank_rows:,}" if self.blank_rows else "") + "</p>",
            self.summary.to_html(index=False, formatters=fmt),
        ]
        if len(self.repairs_table):
            parts += ["<h5>Repairs</h5>", self.repairs_table.to_html(index=False)]
        parts += ["<h5>Files</h5>",
                  self.files.drop(columns=["columns"]).to_html(index=False)]
        return "\n".join(parts)


@dataclass(frozen=True)
class LoadResult:
    """Accepted lines, the quarantine, and the report of one load.

    Attributes
    ----------
    lines : DataFrame
        Accepted rows in the canonical schema (:data:`CANONICAL_COLUMNS`,
        :data:`CANONICAL_DTYPES`), in file order, with a RangeIndex.
    quarantine : DataFrame
        Rejected rows: ``source_file, source_row, reason, column, detail`` then the
        original text of every canonical column (``string``; NA where the file has no
        such column). ``detail`` of a ``malformed_row`` holds the line's text.
    report : ValidationReport
    """

    lines: pd.DataFrame
    quarantine: pd.DataFrame
    report: ValidationReport

    @property
    def summary(self) -> pd.DataFrame:
        return self.report.summary

    def _repr_html_(self) -> str:
        return self.report._repr_html_()

    def __str__(self) -> str:
        return str(self.report)


# ------------------------------------------------------------------- loading


_QUARANTINE_HEAD = ("source_file", "source_row", "reason", "column", "detail")


def load_claims(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    strict: bool = False,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> LoadResult:
    """Load claim lines from CSV (plain or gzip) and Parquet files into the canonical schema.

    Parameters
    ----------
    paths : path, glob pattern, directory, or a list of them
        Files are read in the order given (a glob's matches and a directory's files
        sorted by name). A directory is read file by file (Parquet datasets); ``key=value``
        folder names (hive partitions) supply columns the files lack.
    column_map : dict or path to a YAML file, optional
        ``{header in file: canonical column}``; ``None`` as target ignores a header. Takes
        precedence over the built-in aliases (:func:`header_aliases`).
    strict : bool, default False
        Raise :class:`~analysis.errors.InputError` naming the first quarantined row
        instead of returning a result with a quarantine.
    encoding : str, default "utf-8"
        Text encoding of CSV files (e.g. ``"cp1252"`` for files saved by Excel on Windows).
        A UTF-8 or UTF-16 byte-order mark is honoured.
    delimiter : str, optional
        Field separator; by default the most frequent of ``, \\t | ;`` in the header line.

    Returns
    -------
    LoadResult
        ``lines``, ``quarantine`` and ``report`` (see the module docstring for the
        repairs, the quarantine reasons and their order, and the dollar reconciliation).

    Raises
    ------
    InputError
        For file-level problems (missing required column, empty, binary, undecodable or
        unreadable file, no such file), naming the file.

    Notes
    -----
    CSV files are parsed by pyarrow in blocks of 16 MB and Parquet files in row groups
    of at most 200,000 rows, so peak memory is the accepted lines plus one block. If
    some accepted rows turn out to repeat a ``(claim_id, line_number)``, the files
    holding them are read a second time to fetch those rows' original text.

    Examples
    --------
    >>> result = load_claims("data/sample/claims_2024.parquet")  # doctest: +SKIP
    >>> result.report.reconciles  # doctest: +SKIP
    True
    """
    sources = _expand_paths(paths)
    return _run(sources, column_map=_read_column_map(column_map), strict=strict,
                encoding=encoding, delimiter=delimiter)


def validate_lines(
    frame: pd.DataFrame,
    *,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    strict: bool = False,
    source: str = "<DataFrame>",
) -> LoadResult:
    """Validate claim lines already in memory, exactly as :func:`load_claims` would.

    ``frame`` may hold the canonical columns with any dtypes (strings, numbers, dates)
    or aliased headers; every value is turned into text and goes through the same
    repairs and checks as a file. ``source`` names the frame in the quarantine and in
    error messages.

    Examples
    --------
    >>> frame = pd.DataFrame(dict(claim_id=["A"], line_number=[1], practice_id=["P1"],
    ...     patient_id=["X"], service_date=["2024-03-01"], cpt_code=["74177"], units=[1],
    ...     payer=["BCBSNC"], allowed_usd=["$1,234.50"]))
    >>> validate_lines(frame).lines["allowed_usd"].tolist()
    [1234.5]
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError("expected a pandas DataFrame of claim lines", file=source)
    src = _Source(label=source, kind="frame", frame=frame)
    return _run([src], column_map=_read_column_map(column_map), strict=strict,
                encoding="utf-8", delimiter=None)


def _line_numbers(state: _FileState) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``f(ordinals, records)``: 1-based file lines of parsed records (by ordinal) and of
    malformed records (by pyarrow's record number; -1 marks a parsed record).

    A record's line is its record number (the header is record 1) plus the line breaks
    inside quoted values of the records before it.
    """
    if state.fmt != "csv":
        return lambda ordinals, records: ordinals + 1
    if not state.malformed and not state.newline_counts:
        return lambda ordinals, records: ordinals + 2
    total = state.n_records + len(state.malformed)
    bad = np.array(sorted(r for r, _ in state.malformed), dtype=np.int64)
    good = np.setdiff1d(np.arange(2, total + 2, dtype=np.int64), bad, assume_unique=True)
    newlines = np.zeros(total, dtype=np.int64)
    if state.newline_counts:
        o = np.fromiter(state.newline_counts.keys(), dtype=np.int64)
        newlines[good[o] - 2] = np.fromiter(state.newline_counts.values(), dtype=np.int64)
    for r, text in state.malformed:
        newlines[r - 2] += text.count("\n")
    before = np.concatenate([[0], np.cumsum(newlines)[:-1]])
    if not len(good):  # every record malformed
        good = np.full(1, 2, dtype=np.int64)

    def lines(ordinals: np.ndarray, records: np.ndarray) -> np.ndarray:
        numbers = np.where(records > 0, records, good[np.where(records > 0, 0, ordinals)])
        return numbers + before[numbers - 2]

    return lines


def _run(sources: list[_Source], *, column_map, strict, encoding, delimiter) -> LoadResult:
    states: list[_FileState] = []
    candidates: list[pd.DataFrame] = []
    quarantined: list[pd.DataFrame] = []
    read_cents = {c: 0 for c in _AMOUNTS}
    unparsed_rows = {c: 0 for c in _AMOUNTS}
    blank = []

    for file_no, src in enumerate(sources):
        state = _FileState()
        states.append(state)
        n_blank = 0
        file_candidates, file_quarantined = [], []
        for raw in _batches(src, state, column_map, encoding, delimiter):
            frame = raw.frame
            present_cols = [c for c in CANONICAL_COLUMNS if c in state.present]
            is_blank = np.logical_and.reduce(
                [_np(frame[c].fillna("").str.strip().eq("")) for c in present_cols])
            if raw.newlines is not None:
                for o, k in zip(raw.ordinal[raw.newlines > 0], raw.newlines[raw.newlines > 0],
                                strict=True):
                    state.newline_counts[int(o)] = int(k)
            n_blank += int(is_blank.sum())
            keep = ~is_blank
            frame = frame.loc[keep].reset_index(drop=True)
            ordinal = raw.ordinal[keep]
            checked = _check(frame, state.present)
            for c in _AMOUNTS:
                read_cents[c] += int(checked.cents[c][checked.parsed[c]].sum())
                unparsed_rows[c] += int(checked.unparsed[c].sum())
            bad = checked.reason != None  # noqa: E711
            if bad.any():
                file_quarantined.append(
                    frame.loc[bad].assign(
                        _file=file_no, _ordinal=ordinal[bad], _record=-1,
                        reason=checked.reason[bad], column=checked.column[bad],
                        detail=checked.detail[bad],
                        **{f"_{c}_cents": np.where(checked.parsed[c], checked.cents[c], 0)[bad]
                           for c in _AMOUNTS})
                )
            good = ~bad
            file_candidates.append(
                checked.typed.loc[good].assign(_file=file_no, _ordinal=ordinal[good],
                                               _repairs=checked.repairs[good])
            )
        blank.append(n_blank)
        if state.malformed:
            records = np.array([r for r, _ in state.malformed], dtype=np.int64)
            texts = [t for _, t in state.malformed]
            mal = pd.DataFrame({c: pd.Series(pd.NA, index=range(len(texts)),
                                             dtype=pd.StringDtype()) for c in CANONICAL_COLUMNS})
            file_quarantined.append(mal.assign(
                _file=file_no, _ordinal=-1, _record=records, reason="malformed_row",
                column=None, detail=[f"wrong number of fields: {t[:300]!r}" for t in texts],
                **{f"_{c}_cents": 0 for c in _AMOUNTS}))
            for c in _AMOUNTS:
                if c in state.present:
                    unparsed_rows[c] += len(texts)
        # file lines can only be computed once the whole file has been parsed
        to_line = _line_numbers(state)
        for fr in file_candidates:
            fr["_row"] = to_line(fr["_ordinal"].to_numpy(), np.full(len(fr), -1))
        for fr in file_quarantined:
            fr["_row"] = to_line(fr["_ordinal"].to_numpy(), fr["_record"].to_numpy())
        candidates += file_candidates
        quarantined += file_quarantined

    cand = (pd.concat(candidates, ignore_index=True) if candidates else
            empty_lines().assign(_file=0, _ordinal=0, _repairs=0, _row=0))
    cand = cand.astype({c: _dtype(c) for c in CANONICAL_COLUMNS})

    # duplicates: exact repeats (keep the first) and conflicting keys (reject all)
    key = ["claim_id", "line_number"]
    shared_key = _np(cand.duplicated(subset=key, keep=False))
    conflict = np.zeros(len(cand), dtype=bool)
    repeat = np.zeros(len(cand), dtype=bool)
    _mark_duplicates(cand, shared_key, key, conflict, repeat)
    dup = conflict | repeat
    if dup.any():
        quarantined.append(_duplicate_rows(cand, conflict, repeat, sources, states,
                                           column_map, encoding, delimiter))
    lines_full = cand.loc[~dup].reset_index(drop=True)
    lines = lines_full[list(CANONICAL_COLUMNS)]

    q_cols = list(_QUARANTINE_HEAD) + list(CANONICAL_COLUMNS)
    if quarantined:
        q = (pd.concat(quarantined, ignore_index=True)
             .sort_values(["_file", "_row"], kind="stable")
             .reset_index(drop=True))
    else:
        q = pd.DataFrame({c: pd.Series(dtype=pd.StringDtype()) for c in CANONICAL_COLUMNS}
                         ).assign(_file=0, _row=0, reason="", column="", detail="",
                                  **{f"_{c}_cents": 0 for c in _AMOUNTS})
    labels = np.array([s.label for s in sources], dtype=object)
    quarantine = q.assign(
        source_file=pd.array(labels[q["_file"].to_numpy(dtype=np.int64)], dtype=pd.StringDtype()),
        source_row=q["_row"].astype(np.int64),
        reason=q["reason"].astype(pd.StringDtype()),
        column=q["column"].astype(pd.StringDtype()),
        detail=q["detail"].astype(pd.StringDtype()),
    )[q_cols]
    quarantine = quarantine.astype({c: pd.StringDtype() for c in CANONICAL_COLUMNS})

    # report
    reasons = q["reason"].to_numpy(dtype=object)
    by_reason = {r: int((reasons == r).sum()) for r in QUARANTINE_REASONS}
    cents_by_reason = {
        r: {c: int(q[f"_{c}_cents"].to_numpy(dtype=np.int64)[reasons == r].sum())
            for c in _AMOUNTS} for r in QUARANTINE_REASONS}
    amounts = {}
    for c in _AMOUNTS:
        acc = lines[c].to_numpy()
        amounts[c] = AmountTotals(
            read_cents=read_cents[c],
            accepted_cents=int(np.rint(acc[~np.isnan(acc)] * 100).astype(np.int64).sum()),
            quarantined_cents=int(q[f"_{c}_cents"].to_numpy(dtype=np.int64).sum()),
            unparsed_rows=unparsed_rows[c],
            missing_accepted_rows=int(np.isnan(acc).sum()),
        )
    bits = lines_full["_repairs"].to_numpy(dtype=np.int64)
    repairs = {k: 0 for k in REPAIRS}
    for st in states:
        for k, v in st.file_repairs.items():
            repairs[k] += v
    for k, bit in _REPAIR_BIT.items():
        repairs[k] = int(((bits & bit) != 0).sum())
    acc_by_file = np.bincount(lines_full["_file"].to_numpy(dtype=np.int64),
                              minlength=len(sources))
    q_by_file = np.bincount(q["_file"].to_numpy(dtype=np.int64), minlength=len(sources))
    files = pd.DataFrame({
        "source_file": [s.label for s in sources],
        "format": [st.fmt for st in states],
        "rows_read": acc_by_file + q_by_file,
        "rows_accepted": acc_by_file,
        "rows_quarantined": q_by_file,
        "blank_rows": blank,
        "columns": ["; ".join(f"{c} <- {', '.join(map(repr, h))}"
                              for c, h in st.mapping.items()) for st in states],
        "ignored_columns": [", ".join(map(repr, st.ignored)) for st in states],
    })
    report = ValidationReport(
        rows_read=int(acc_by_file.sum() + q_by_file.sum()),
        rows_accepted=len(lines),
        rows_quarantined=len(quarantine),
        blank_rows=int(sum(blank)),
        quarantined_by_reason=by_reason,
        quarantined_cents_by_reason=cents_by_reason,
        repairs=repairs,
        amounts=amounts,
        files=files,
    )
    if strict and len(quarantine):
        first = quarantine.iloc[0]
        col = None if pd.isna(first["column"]) else str(first["column"])
        raise InputError(
            f"{first['reason']}: {first['detail']} ({len(quarantine):,} row(s) quarantined "
            "in all; strict mode)", file=first["source_file"], row=int(first["source_row"]),
            column=col)
    return LoadResult(lines=lines, quarantine=quarantine, report=report)


def _duplicate_rows(cand: pd.DataFrame, conflict: np.ndarray, repeat: np.ndarray,
                    sources: list[_Source], states: list[_FileState], column_map,
                    encoding, delimiter) -> pd.DataFrame:
    """Quarantine rows for duplicates, with their original text re-read from the source."""
    dup = cand.loc[conflict | repeat].copy()
    key = ["claim_id", "line_number"]
    firsts = cand.loc[~conflict].groupby(key, sort=False)[["_file", "_row"]].first()
    first = dup.join(firsts.rename(columns={"_file": "_ff", "_row": "_fr"}), on=key)
    labels = [s.label for s in sources]
    detail = [
        f"claim_id {cid!r} line {ln} appears with different content; every version is "
        "quarantined" if is_conflict else f"repeats {labels[int(ff)]}, row {int(fr)}"
        for cid, ln, is_conflict, ff, fr in zip(
            dup["claim_id"], dup["line_number"], conflict[conflict | repeat],
            first["_ff"], first["_fr"], strict=True)
    ]
    raw_parts = []
    for file_no in sorted(dup["_file"].unique()):
        want = np.sort(dup.loc[dup["_file"] == file_no, "_ordinal"].to_numpy())
        state = _FileState()
        for raw in _batches(sources[file_no], state, column_map, encoding, delimiter):
            hit = np.isin(raw.ordinal, want)
            if hit.any():
                raw_parts.append(raw.frame.loc[hit].assign(_file=file_no,
                                                           _ordinal=raw.ordinal[hit]))
    raw = pd.concat(raw_parts, ignore_index=True)
    out = dup[["_file", "_ordinal", "_row", "allowed_usd", "paid_usd"]].assign(
        reason=np.where(conflict[conflict | repeat], "conflicting_duplicate", "duplicate_line"),
        column="claim_id", detail=detail, _record=-1,
        **{f"_{c}_cents": np.rint(dup[c].fillna(0).to_numpy() * 100).astype(np.int64)
           for c in _AMOUNTS},
    ).drop(columns=list(_AMOUNTS))
    return out.merge(raw, on=["_file", "_ordinal"], how="left", validate="one_to_one")


# ------------------------------------------------------------ pieces (streaming)
#
# Additions for reading claims piece by piece (analysis.scale); the functions above
# are unchanged. A *piece* is a unit of reading that one process can do on its own:
# a CSV file, or a run of row groups of one Parquet file.


@dataclass(frozen=True)
class ClaimsPiece:
    """A picklable unit of reading: a CSV file or row groups of a Parquet file.

    Attributes
    ----------
    index : int
        Position of the piece in the plan (files in :func:`load_claims` order).
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

    def _source(self) -> _Source:
        return _Source(label=self.label, kind=self.kind, path=Path(self.path),
                       extra=dict(self.extra), gzip=self.gzip)


def plan_pieces(paths, *, rows_per_piece: int = 500_000) -> list[ClaimsPiece]:
    """Split the inputs of :func:`load_claims` into pieces of about ``rows_per_piece``.

    Paths are expanded exactly as :func:`load_claims` expands them (globs,
    directories, hive partitions). A Parquet file is split at row-group boundaries
    into runs of row groups holding at most ``rows_per_piece`` rows (a single larger
    row group is one piece); a CSV file is one piece.

    Raises
    ------
    InputError
        As :func:`load_claims` for missing or unreadable files.
    """
    if rows_per_piece < 1:
        raise InputError("must be >= 1", column="rows_per_piece", value=rows_per_piece)
    pieces: list[ClaimsPiece] = []
    for src in _expand_paths(paths):
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


def _parquet_piece_open(piece: ClaimsPiece, state: _FileState, column_map,
                        keep: frozenset[str] | None, batch_rows: int
                        ) -> tuple[_Layout, Iterator[pa.RecordBatch]]:
    """The layout of a Parquet piece and its record batches after the pushed-down code
    filter (the caller counts the rows the filter dropped: ``piece.n_rows`` minus the
    rows yielded)."""
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    src = piece._source()
    try:
        fragment = ds.ParquetFileFormat().make_fragment(
            str(Path(src.path).resolve()), pafs.LocalFileSystem(),
            row_groups=list(piece.row_groups))
        headers = list(fragment.physical_schema.names)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(f"is not a readable Parquet file ({err})", file=src.label) from None
    used, col_sources, extra_cols = _map_table_headers(headers, src, column_map, state,
                                                       fmt="parquet")
    cpt_cols = col_sources.get("cpt_code", [])
    code_col = cpt_cols[0] if keep is not None and len(cpt_cols) == 1 else None
    keep_arr = None if keep is None else pa.array(sorted(keep), pa.string())
    layout = _Layout(src.label, tuple(used), col_sources, extra_cols)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in fragment.to_batches(columns=used, batch_size=batch_rows,
                                             use_threads=False):
                if code_col is not None:
                    batch = batch.filter(pa.array(_keep_mask(batch.column(code_col),
                                                             keep_arr)))
                if batch.num_rows:
                    yield batch
        except (pa.ArrowInvalid, OSError) as err:
            raise InputError(f"is not a readable Parquet file ({err})",
                             file=src.label) from None

    return layout, batches()


def _raw_frame(batch: pa.RecordBatch, layout: _Layout) -> pd.DataFrame:
    """The batch as canonical-named raw text, exactly as :func:`load_claims` sees it."""
    columns = {name: _arrow_to_string(batch.column(name), layout.label, name)
               for name in layout.used}
    return _assemble(columns, layout.col_sources, batch.num_rows, layout.extra)


# --- typed fast path: rows of a typed Parquet batch that are already canonical

_ARROW_TYPES = {"string": pa.string(), "int64": pa.int64(),
                "datetime64[us]": pa.timestamp("us"), "float64": pa.float64()}
CANONICAL_ARROW_SCHEMA: pa.Schema = pa.schema(
    [(c, _ARROW_TYPES[CANONICAL_DTYPES[c]]) for c in CANONICAL_COLUMNS])
"""Arrow types of the canonical columns (``string``, ``int64``, ``timestamp[us]``,
``float64``); missing values are nulls."""

_NULL_TOKEN_SET = pa.array(_NULL_TOKENS, pa.string())
_FREE_TEXT = ("claim_id", "practice_id", "patient_id", "payer")
_CANONICAL_PATTERNS = {
    "cpt_code": r"[0-9A-Z]{5}",
    "modifiers": r"[0-9A-Z]{2}(?: [0-9A-Z]{2})*",
    "place_of_service": r"[0-9]{2}",
    "rendering_npi": r"[0-9]{10}",
    "diagnosis_codes": rf"{_ICD10}(?:;{_ICD10})*",
}
_EARLIEST_DAY = int((EARLIEST_DATE - pd.Timestamp("1970-01-01")).days)
_LATEST_DAY = int((LATEST_DATE - pd.Timestamp("1970-01-01")).days)


def npi_check_digits_ok_int(npi: np.ndarray) -> np.ndarray:
    """:func:`npi_check_digit_ok` for NPIs held as integers ``0 <= npi < 10**10``.

    Digits are taken by integer division (digit ``k`` from the left of a ten-digit
    number is ``npi // 10**(9 - k) % 10``), so the check runs on numpy arrays without
    text. Same algorithm and result as :func:`npi_check_digit_ok` on the zero-padded
    ten-digit text.

    Examples
    --------
    >>> npi_check_digits_ok_int(np.array([1234567893, 1234567890])).tolist()
    [True, False]
    """
    x = np.asarray(npi, dtype=np.int64)
    digits = [(x // 10 ** (9 - k)) % 10 for k in range(10)]
    total = np.full(len(x), 24, dtype=np.int64)
    for k in range(9):
        if k % 2 == 0:  # positions 1, 3, 5, 7, 9 of the nine: doubled
            d2 = digits[k] * 2
            total += d2 // 10 + d2 % 10
        else:
            total += digits[k]
    return (10 - total % 10) % 10 == digits[9]


def _bool(arr, null: bool) -> np.ndarray:
    return pc.fill_null(arr, null).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _fast_columns(batch: pa.RecordBatch, layout: _Layout, present: frozenset[str]
                  ) -> dict[str, pa.Array] | None:
    """Each canonical column as one Arrow array of its canonical type, or None when a
    column is not stored with a type the fast path can take as is."""
    n = batch.num_rows
    out: dict[str, pa.Array] = {}
    for c in CANONICAL_COLUMNS:
        want = CANONICAL_ARROW_SCHEMA.field(c).type
        src = layout.col_sources.get(c, [])
        if len(src) > 1:
            return None  # several source columns are joined as text
        if src:
            arr = batch.column(src[0])
        elif c in layout.extra:
            arr = pa.array(np.full(n, layout.extra[c], dtype=object), pa.string())
        elif c in REQUIRED_COLUMNS:
            return None  # every row fails missing_required: the checks say so
        else:
            arr = pa.nulls(n, want)
        t = arr.type
        if pa.types.is_dictionary(t):
            arr = arr.dictionary_decode()
            t = arr.type
        if pa.types.is_null(t):
            arr = pa.nulls(n, want)
        elif want == pa.string():
            if not (pa.types.is_string(t) or pa.types.is_large_string(t)
                    or pa.types.is_string_view(t)):
                return None
            arr = arr.cast(pa.string())
        elif want == pa.int64():
            if not pa.types.is_integer(t):
                return None
            if t != pa.int64():
                try:
                    arr = arr.cast(pa.int64())
                except (pa.ArrowInvalid, OverflowError):
                    return None
        elif want == pa.float64():
            if t != pa.float64():
                return None
        else:  # service_date
            if pa.types.is_date32(t) or pa.types.is_date64(t):
                arr = arr.cast(pa.timestamp("us"))
            elif pa.types.is_timestamp(t) and t.tz is None:
                try:
                    arr = arr.cast(pa.timestamp("us"))  # safe: fails if precision is lost
                except pa.ArrowInvalid:
                    return None
            else:
                return None
        out[c] = arr
    return out


def _by_value(arr: pa.Array, check) -> pa.Array:
    """``check(arr)``, computed once per distinct value when values repeat a lot
    (codes, payers, NPIs): nulls stay null."""
    if len(arr) >= 4096:
        enc = pc.dictionary_encode(arr)
        if len(enc.dictionary) * 16 <= len(arr):
            return check(enc.dictionary).take(enc.indices)
    return check(arr)


def _fast_clean(cols: dict[str, pa.Array]) -> np.ndarray:
    """Rows that the repairs would leave unchanged and that pass every row check.

    A row is clean when each value is already in canonical form -- text with no
    surrounding whitespace, not empty and not a null token (``NA``, ``NULL``, ...);
    codes matching their canonical pattern (CPT, modifiers, place of service 01-99,
    10-digit NPI, ICD-10-CM list, USPS state); payer upper-case -- and passes the
    checks that can fail on typed values: required fields present, service date within
    :data:`EARLIEST_DATE`..:data:`LATEST_DATE` at midnight, line number and units
    whole numbers 1..999,999,999, amounts >= 0 in whole cents below $10**12, NPI check
    digit. Every other row is checked as text by the full checks.
    """
    n = len(cols["claim_id"])
    ok = np.ones(n, dtype=bool)

    def not_token(arr):
        return pc.invert(pc.is_in(arr, value_set=_NULL_TOKEN_SET))

    def text_ok(arr):
        return pc.and_(pc.and_(pc.equal(arr, pc.utf8_trim_whitespace(arr)),
                               pc.greater(pc.binary_length(arr), 0)), not_token(arr))

    def pattern_ok(c):
        def check(arr):
            good = pc.and_(pc.match_substring_regex(arr, f"^(?:{_CANONICAL_PATTERNS[c]})$"),
                           not_token(arr))
            if c == "place_of_service":
                good = pc.and_(good, pc.not_equal(arr, "00"))
            elif c == "rendering_npi":  # check digit where the 10-digit pattern holds
                where = _bool(good, False)
                luhn = np.zeros(len(arr), dtype=bool)
                if where.any():
                    digits = pc.cast(arr.filter(pa.array(where)), pa.int64())
                    luhn[where] = npi_check_digits_ok_int(digits.to_numpy())
                good = pc.and_(good, pa.array(luhn))
            return good
        return check

    def state_ok(arr):
        return pc.if_else(pc.is_valid(arr),
                          pc.is_in(arr, value_set=pa.array(sorted(_state_codes()))),
                          pa.scalar(None, pa.bool_()))

    def payer_ok(arr):
        return pc.and_(text_ok(arr), pc.equal(arr, pc.utf8_upper(arr)))

    checks = [("claim_id", text_ok), ("patient_id", text_ok), ("practice_id", text_ok),
              ("payer", payer_ok), ("state", state_ok)]
    checks += [(c, pattern_ok(c)) for c in _CANONICAL_PATTERNS]
    for c, check in checks:
        # a null is a missing value: a failure if required, else fine
        ok &= _bool(_by_value(cols[c], check), c not in REQUIRED_COLUMNS)
    us_per_day = 86_400_000_000
    has_day = _bool(pc.is_valid(cols["service_date"]), False)
    day = pc.fill_null(cols["service_date"].cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    ok &= has_day & (day % us_per_day == 0)
    ok &= (day // us_per_day >= _EARLIEST_DAY) & (day // us_per_day <= _LATEST_DAY)
    for c in ("line_number", "units"):
        v = pc.fill_null(cols[c], 0).to_numpy(zero_copy_only=False)
        ok &= (v >= 1) & (v <= 999_999_999)
    for c in _AMOUNTS:
        v = cols[c].to_numpy(zero_copy_only=False)  # nulls -> NaN
        null = _bool(pc.is_null(cols[c]), False)
        with np.errstate(invalid="ignore"):
            whole_cents = np.rint(v * 100) / 100 == v
            ok &= null | ((v >= 0) & (v < 1e12) & ~np.signbit(v) & whole_cents)
    return ok


@dataclass
class CheckedBatch:
    """One batch of a piece after the row checks (all but the duplicate checks).

    Attributes
    ----------
    candidates : DataFrame or pyarrow.Table
        Canonical typed lines that passed every row check (``dtypes`` as
        :attr:`LoadResult.lines`; with ``as_arrow=True`` a table of
        :data:`CANONICAL_ARROW_SCHEMA`). Duplicates among them are not yet resolved:
        that needs every row with the same ``(claim_id, line_number)``.
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
        Per amount column, as :class:`AmountTotals`.
    fast_rows : int
        Rows that took the typed fast path (all checks passed on typed values).
    """

    candidates: Any
    rows_read: int = 0
    rows_filtered_out: int = 0
    blank_rows: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    quarantined_cents: dict[str, dict[str, int]] = field(default_factory=dict)
    read_cents: dict[str, int] = field(default_factory=dict)
    unparsed_rows: dict[str, int] = field(default_factory=dict)
    fast_rows: int = 0


def _normalized_cpt(codes: pa.Array) -> pa.Array:
    """:func:`analysis.codes.normalize_cpt` on an Arrow array (any type, as text)."""
    if pa.types.is_dictionary(codes.type):
        codes = codes.dictionary_decode()
    s = pc.utf8_upper(pc.utf8_trim_whitespace(codes.cast(pa.string())))
    s = pc.replace_substring_regex(s, pattern=r"\.0+$", replacement="")
    return pc.if_else(pc.match_substring_regex(s, r"^[0-9]{1,4}$"),
                      pc.utf8_lpad(s, width=5, padding="0"), s)


def _keep_mask(codes: pa.Array, keep: pa.Array) -> np.ndarray:
    """Rows whose code, normalized as :func:`analysis.codes.normalize_cpt` normalizes
    it, is in ``keep`` (canonical 5-character codes).

    Codes already in canonical form (``[0-9A-Z]{5}``) are their own normal form and
    are looked up directly; only the others are normalized first.
    """
    if pa.types.is_dictionary(codes.type):
        codes = codes.dictionary_decode()
    if not (pa.types.is_string(codes.type) or pa.types.is_large_string(codes.type)):
        return _bool(pc.is_in(_normalized_cpt(codes), value_set=keep), False)
    hit = _bool(pc.is_in(codes, value_set=keep), False)
    plain = _bool(pc.match_substring_regex(codes, r"^[0-9A-Z]{5}$"), True)  # null: no code
    other = np.flatnonzero(~hit & ~plain)
    if len(other):
        sub = codes.take(pa.array(other))
        hit[other] = _bool(pc.is_in(_normalized_cpt(sub), value_set=keep), False)
    return hit


def _is_blank(frame: pd.DataFrame, present: frozenset[str]) -> np.ndarray:
    present_cols = [c for c in CANONICAL_COLUMNS if c in present]
    if not present_cols:
        return np.ones(len(frame), dtype=bool)
    return np.logical_and.reduce(
        [_np(frame[c].fillna("").str.strip().eq("")) for c in present_cols])


def _check_text(frame: pd.DataFrame, present: frozenset[str], keep: frozenset[str] | None
                ) -> tuple[CheckedBatch, np.ndarray]:
    """The code filter (if ``keep``), blank rows and the row checks of :func:`_check`
    on a frame of raw text; candidates as a DataFrame, and their positions in
    ``frame``."""
    out = CheckedBatch(candidates=empty_lines())
    pos = np.arange(len(frame))
    if len(frame) and keep is not None:
        hit = _np(normalize_cpt(frame["cpt_code"]).isin(keep))
        blank = _is_blank(frame, present)
        out.blank_rows = int((blank & ~hit).sum())
        out.rows_filtered_out = int((~hit & ~blank).sum())
        frame, pos = frame.loc[hit].reset_index(drop=True), pos[hit]
    if len(frame):
        blank = _is_blank(frame, present)
        out.blank_rows += int(blank.sum())
        frame, pos = frame.loc[~blank].reset_index(drop=True), pos[~blank]
    if len(frame):
        checked = _check(frame, present)
        bad = checked.reason != None  # noqa: E711
        out.rows_read = len(frame)
        out.read_cents = {c: int(checked.cents[c][checked.parsed[c]].sum()) for c in _AMOUNTS}
        out.unparsed_rows = {c: int(checked.unparsed[c].sum()) for c in _AMOUNTS}
        if bad.any():
            reasons = checked.reason[bad]
            for r in pd.unique(reasons):
                m = reasons == r
                out.quarantined_by_reason[r] = int(m.sum())
                out.quarantined_cents[r] = {
                    c: int(np.where(checked.parsed[c], checked.cents[c], 0)[bad][m].sum())
                    for c in _AMOUNTS}
        out.candidates = (checked.typed.loc[~bad, list(CANONICAL_COLUMNS)]
                          .reset_index(drop=True)
                          .astype({c: _dtype(c) for c in CANONICAL_COLUMNS}))
        pos = pos[~bad]
    else:
        pos = pos[:0]
    return out, pos


def _lines_to_arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame[list(CANONICAL_COLUMNS)], schema=CANONICAL_ARROW_SCHEMA,
                                preserve_index=False).replace_schema_metadata(None)


def arrow_to_lines(table: pa.Table) -> pd.DataFrame:
    """A table of :data:`CANONICAL_ARROW_SCHEMA` as canonical lines (the dtypes of
    :attr:`LoadResult.lines`); other columns are kept as Arrow converts them."""
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype(),
                                          pa.large_string(): pd.StringDtype()}.get)
    want = {c: _dtype(c) for c in CANONICAL_COLUMNS if c in frame.columns}
    return frame.astype({c: t for c, t in want.items() if frame[c].dtype != t})


def _check_typed(batch: pa.RecordBatch, layout: _Layout, present: frozenset[str],
                 keep: frozenset[str] | None) -> CheckedBatch:
    """Row checks of a Parquet batch: the typed fast path for clean rows, the text
    checks for the others; candidates as an Arrow table in file order."""
    cols = _fast_columns(batch, layout, present)
    if cols is None:
        out, _ = _check_text(_raw_frame(batch, layout), present, keep)
        out.candidates = _lines_to_arrow(out.candidates)
        return out
    clean = _fast_clean(cols)
    if keep is not None:
        in_keep = _bool(pc.is_in(cols["cpt_code"],
                                 value_set=pa.array(sorted(keep), pa.string())), False)
    else:
        in_keep = np.ones(len(clean), dtype=bool)
    fast = clean & in_keep
    fast_idx = pa.array(np.flatnonzero(fast))
    table = pa.Table.from_arrays([cols[c].take(fast_idx) for c in CANONICAL_COLUMNS],
                                 schema=CANONICAL_ARROW_SCHEMA)
    out = CheckedBatch(candidates=table, rows_read=len(table),
                       rows_filtered_out=int((clean & ~in_keep).sum()), fast_rows=len(table))
    for c in _AMOUNTS:
        v = table.column(c).to_numpy()
        out.read_cents[c] = int(np.rint(v[~np.isnan(v)] * 100).astype(np.int64).sum())
        out.unparsed_rows[c] = 0
    if clean.all():
        return out
    slow_pos = np.flatnonzero(~clean)
    slow, slow_ok = _check_text(_raw_frame(batch.take(pa.array(slow_pos)), layout), present,
                                keep)
    out.rows_read += slow.rows_read
    out.rows_filtered_out += slow.rows_filtered_out
    out.blank_rows += slow.blank_rows
    out.quarantined_by_reason = slow.quarantined_by_reason
    out.quarantined_cents = slow.quarantined_cents
    for c in _AMOUNTS:
        out.read_cents[c] += slow.read_cents.get(c, 0)
        out.unparsed_rows[c] += slow.unparsed_rows.get(c, 0)
    if len(slow.candidates):
        # back in file order: the slow candidates are the slow rows that passed
        # (filtered, blank and quarantined rows removed, order kept)
        slow_table = _lines_to_arrow(slow.candidates)
        pos = np.concatenate([np.flatnonzero(fast), slow_pos[slow_ok]])
        both = pa.concat_tables([table, slow_table])
        out.candidates = both.take(pa.array(np.argsort(pos, kind="stable")))
    return out

def check_piece(
    piece: ClaimsPiece,
    *,
    keep_codes: Iterable[str] | None = None,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    batch_rows: int = _PARQUET_BATCH_ROWS,
    as_arrow: bool = False,
    fast: bool = True,
) -> Iterator[CheckedBatch]:
    """Read one piece in batches, keep the rows whose code is in ``keep_codes``, and run
    the row checks of :func:`load_claims` on them.

    The repairs and row checks (reasons 1-15 of the module docstring) are the very
    ones :func:`load_claims` applies; the duplicate checks (16, 17) need every row of
    a ``(claim_id, line_number)`` and are left to the caller (see
    :func:`resolve_duplicates`). With ``keep_codes``, a row is read only if its CPT
    code, normalized by :func:`analysis.codes.normalize_cpt`, is in the set: for
    Parquet the filter is pushed into the scan (``pyarrow.dataset``), for CSV it is
    applied to each parsed block before any check. Rows filtered out are counted, not
    validated. Source rows are not tracked (quarantine counts only).

    **Typed fast path** (Parquet, ``fast=True``). When every canonical column is stored
    with its canonical Arrow type (text as strings, ``line_number``/``units`` as
    integers, ``service_date`` as a date or timestamp, amounts as float64), the rows
    already in canonical form that pass every check on their typed values
    (:func:`_fast_clean`: required fields, code patterns, dates in range, units and
    line numbers >= 1, amounts >= 0 in whole cents, NPI check digits, state codes) are
    taken as they are, without the text round trip. Every other row -- and every row
    of a file with other column types -- goes through the text checks, so the result
    is the same row for row; ``fast=False`` checks every row as text.

    Parameters
    ----------
    as_arrow : bool, default False
        Candidates as a ``pyarrow.Table`` of :data:`CANONICAL_ARROW_SCHEMA` instead
        of a DataFrame.
    fast : bool, default True
        Use the typed fast path where it applies.
    """
    keep = None if keep_codes is None else frozenset(keep_codes)
    cmap = _read_column_map(column_map)
    state = _FileState()

    def empty():
        return CANONICAL_ARROW_SCHEMA.empty_table() if as_arrow else empty_lines()

    def finish(out: CheckedBatch) -> CheckedBatch:
        is_table = isinstance(out.candidates, pa.Table)
        if as_arrow and not is_table:
            out.candidates = _lines_to_arrow(out.candidates)
        elif not as_arrow and is_table:
            out.candidates = arrow_to_lines(out.candidates)
        return out

    if piece.kind == "parquet":
        layout, batches = _parquet_piece_open(piece, state, cmap, keep, batch_rows)
        kept = 0
        for batch in batches:
            kept += batch.num_rows
            if fast:
                yield finish(_check_typed(batch, layout, state.present, keep))
            else:
                yield finish(_check_text(_raw_frame(batch, layout), state.present, keep)[0])
        if piece.n_rows > kept:
            yield CheckedBatch(candidates=empty(), rows_filtered_out=piece.n_rows - kept)
        return
    src = piece._source()
    for raw in _csv_batches(src, state, cmap, encoding, delimiter):
        yield finish(_check_text(raw.frame, state.present, keep)[0])
    if state.malformed:
        n = len(state.malformed)
        yield CheckedBatch(
            candidates=empty(), rows_read=n,
            quarantined_by_reason={"malformed_row": n},
            quarantined_cents={"malformed_row": {c: 0 for c in _AMOUNTS}},
            read_cents={c: 0 for c in _AMOUNTS},
            unparsed_rows={c: (n if c in state.present else 0) for c in _AMOUNTS})


def resolve_duplicates(
    lines: pd.DataFrame, *, conflicting_keys: pd.DataFrame | None = None,
    key_hash: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Apply the duplicate checks of :func:`load_claims` to rows that passed the row checks.

    ``lines`` must hold every candidate row of each ``(claim_id, line_number)`` it
    contains, except those listed in ``conflicting_keys`` (keys known from elsewhere
    to appear with different content: all their rows are ``conflicting_duplicate``).
    Exact repeats keep one row (``duplicate_line``); keys with two or more distinct
    contents lose every row (``conflicting_duplicate``). Which of several identical
    rows is kept does not change the accepted lines.

    ``key_hash`` (optional) is a hash of each row's ``(claim_id, line_number)``: only
    rows whose hash occurs twice are compared by key, which is exact (rows sharing a
    key share its hash) and saves hashing the text keys again.

    Returns
    -------
    (accepted, reason, cents) : DataFrame, Series, Series
        Accepted lines; the reason of each removed row (index = position in
        ``lines``); and ``{"allowed_usd": cents, "paid_usd": cents}`` removed, by reason
        (a Series of dicts indexed by reason).
    """
    key = ["claim_id", "line_number"]
    n = len(lines)
    conflict = np.zeros(n, dtype=bool)
    repeat = np.zeros(n, dtype=bool)
    if conflicting_keys is not None and len(conflicting_keys):
        ck = conflicting_keys[key].astype({"claim_id": pd.StringDtype(), "line_number": "int64"})
        conflict |= _np(pd.MultiIndex.from_frame(lines[key]).isin(pd.MultiIndex.from_frame(ck)))
    if key_hash is None:
        shared_key = _np(lines.duplicated(subset=key, keep=False)) & ~conflict
    else:
        maybe = pd.Series(np.asarray(key_hash)).duplicated(keep=False).to_numpy()
        shared_key = np.zeros(n, dtype=bool)
        if maybe.any():
            shared_key[maybe] = _np(lines.loc[maybe, key].duplicated(keep=False))
        shared_key &= ~conflict
    _mark_duplicates(lines, shared_key, key, conflict, repeat)
    dup = conflict | repeat
    reasons = pd.Series(np.where(conflict, "conflicting_duplicate", "duplicate_line")[dup],
                        index=np.flatnonzero(dup), dtype=object)
    cents = {}
    for r, m in (("conflicting_duplicate", conflict), ("duplicate_line", repeat)):
        cents[r] = {c: int(np.rint(np.nan_to_num(
            lines[c].to_numpy(dtype=float, na_value=np.nan)[m]) * 100).astype(np.int64).sum())
            for c in _AMOUNTS}
    accepted = lines.loc[~dup].reset_index(drop=True) if dup.any() else lines
    return accepted, reasons, pd.Series(cents, dtype=object)
