"""Claims lines: loading CSV/Parquet extracts, repairing what is unambiguous,
quarantining the rest, and reconciling every row and every dollar.

Billing systems and payer warehouses export claim lines damaged in predictable ways.
:func:`load_claims` reads such files into the canonical schema (:data:`CANONICAL_COLUMNS`,
described by :func:`canonical_schema`, both from :mod:`analysis.schema`),
:func:`validate_lines` does the same for a DataFrame already in memory, and
:func:`validate_files` checks files of any size without keeping their lines. All return a
:class:`LoadResult` with the accepted ``lines``, the rejected rows in ``quarantine`` (one
reason each) and a :class:`ValidationReport` that reconciles exactly::

    rows read = rows accepted + rows quarantined
    dollars read = dollars accepted + dollars quarantined   (allowed_usd and paid_usd)

The package, one idea a module, in the order a file goes through it:

- :mod:`~analysis.claims.sources`: paths, file kinds, encodings, CSV dialects, batches;
- :mod:`~analysis.claims.headers`: header aliases and column maps;
- :mod:`~analysis.claims.rules`: the rule table -- every repair (:data:`REPAIRS`) and
  every quarantine reason (:data:`QUARANTINE_REASONS`) with its pattern or limit;
- :mod:`~analysis.claims.fields`: parsers of amounts, dates and whole numbers;
- :mod:`~analysis.claims.checks`: the row checks, one implementation for text and typed
  columns;
- :mod:`~analysis.claims.duplicates`: the duplicate checks;
- :mod:`~analysis.claims.report`: :class:`ValidationReport`, :class:`AmountTotals`;
- :mod:`~analysis.claims.load`: :func:`load_claims`, :func:`validate_lines`,
  :func:`validate_files`;
- :mod:`~analysis.claims.pieces`: reading piece by piece for :mod:`analysis.scale`.

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

**Headers.** Matched case-, space- and punctuation-insensitively against the canonical
names and the aliases in ``data/reference/claims_header_aliases.csv``
(:func:`header_aliases`); numbered columns (``Modifier 1``..``Modifier 4``, ``Dx 1``..
``Dx 12``) are joined into ``modifiers`` and ``diagnosis_codes``. A ``column_map``
``{header: canonical column or None}`` (a dict or a YAML file) takes precedence;
``None`` ignores a column. Two headers for one single-valued column (e.g. both ``CPT``
and ``HCPCS``) are a file-level error.

**Repairs and quarantine reasons.** Listed, with their order and what each accepts, in
:mod:`analysis.claims.rules`. A row gets the first reason that fails; repairs are
applied only where the intended value is certain.

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

Compatibility names: the schema constants, :func:`canonical_schema` and
:func:`empty_lines` are those of :mod:`analysis.schema`; :data:`DEFAULT_SAMPLE` is
:data:`analysis.paths.SAMPLE_CLAIMS`; :func:`npi_check_digit_ok` and
:func:`npi_check_digits_ok_int` are :func:`analysis.npi.valid_npi` and
:func:`analysis.npi.valid_npi_int`.
"""

from __future__ import annotations

from analysis.claims.duplicates import resolve_duplicates
from analysis.claims.headers import header_aliases
from analysis.claims.load import LoadResult, load_claims, validate_files, validate_lines
from analysis.claims.pieces import (
    CheckedBatch,
    ClaimsPiece,
    arrow_to_lines,
    check_piece,
    plan_pieces,
)
from analysis.claims.report import AmountTotals, ValidationReport
from analysis.claims.rules import QUARANTINE_REASONS, REPAIRS
from analysis.npi import valid_npi as npi_check_digit_ok
from analysis.npi import valid_npi_int as npi_check_digits_ok_int
from analysis.paths import SAMPLE_CLAIMS as DEFAULT_SAMPLE
from analysis.schema import (
    CANONICAL_ARROW_SCHEMA,
    CANONICAL_COLUMNS,
    CANONICAL_DTYPES,
    EARLIEST_DATE,
    LATEST_DATE,
    REQUIRED_COLUMNS,
    canonical_schema,
    empty_lines,
)

__all__ = [
    "CANONICAL_ARROW_SCHEMA",
    "CANONICAL_COLUMNS",
    "CANONICAL_DTYPES",
    "DEFAULT_SAMPLE",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "QUARANTINE_REASONS",
    "REPAIRS",
    "REQUIRED_COLUMNS",
    "AmountTotals",
    "CheckedBatch",
    "ClaimsPiece",
    "LoadResult",
    "ValidationReport",
    "arrow_to_lines",
    "canonical_schema",
    "check_piece",
    "empty_lines",
    "header_aliases",
    "load_claims",
    "npi_check_digit_ok",
    "npi_check_digits_ok_int",
    "plan_pieces",
    "resolve_duplicates",
    "validate_files",
    "validate_lines",
]
