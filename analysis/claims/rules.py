"""The rule table: every repair and every quarantine reason of claims loading, as data.

Each :class:`Rule` names the columns it applies to, says what it means and carries the
pattern, value set or limit it uses. The row checks (:mod:`analysis.claims.checks`,
with the field parsers of :mod:`analysis.claims.fields`) are their one implementation,
for every input -- CSV text, Parquet columns stored typed or as text, in-memory frames
-- and every engine; they read their patterns and limits from here (and the column
shapes, null tokens and date range from :mod:`analysis.schema`, the NPI check digit
from :mod:`analysis.npi`). :data:`REPAIRS` and :data:`QUARANTINE_REASONS`, which the
report lists, are derived from the table.

Repairs
-------
Applied only where the intended value is certain and counted in the report by kind:
the number of *accepted* rows a repair touched (a row counts once per kind), or for
file-level repairs (``bom``, ``crlf``) the number of files.

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

Quarantine reasons
------------------
One per row: the *first* failing check in this order.

1. ``malformed_row``: a CSV line with more or fewer fields than the header.
2. ``control_character``: a field holding a C0 control character or DEL other than tab,
   line feed or carriage return (a NUL, a vertical tab, an escape): searched anywhere in
   the field, before any repair.
3. ``missing_required``: an empty required field (:data:`analysis.schema.REQUIRED_COLUMNS`).
4. ``invalid_cpt``: not five characters ``[0-9A-Z]`` after repair.
5. ``bad_date``: not a recognised format, an impossible date (``2024-02-30``), a
   two-digit year, or outside ``[EARLIEST_DATE, LATEST_DATE]``.
6. ``outside_study_window``: a valid date outside the study window, by default 1 January
   of the year before the claims' years to 31 December of the year after
   (:mod:`analysis.claims.window`): a typo's ``2099-12-31`` would otherwise stretch the
   observed period that annualizes every practice's volume.
7. ``bad_line_number``: not a whole number >= 1.
8. ``bad_units``: not a number, or not a whole number (``1.5``).
9. ``units_not_positive``: units <= 0.
10. ``negative_amount``: ``allowed_usd`` or ``paid_usd`` below zero.
11. ``bad_amount``: an amount that cannot be read as dollars and cents.
12. ``amount_above_cap``: an amount above :data:`analysis.defaults.MAX_LINE_USD`
    ($100,000) on one line.
13. ``invalid_modifier``: a modifier that is not two characters ``[0-9A-Z]``.
14. ``invalid_pos``: a place of service that is not a two-digit code 01-99.
15. ``invalid_npi``: an NPI that is not ten digits (or lost digits in scientific
    notation).
16. ``invalid_npi_check_digit``: a ten-digit NPI whose check digit fails the Luhn
    formula with the ``80840`` prefix (CMS, NPI check digit standard).
17. ``invalid_state``: not a USPS state, DC or territory code
    (``data/reference/usps_state_codes.csv``).
18. ``invalid_diagnosis``: a diagnosis code not shaped like ICD-10-CM (a letter, a
    digit, a letter or digit, then up to four letters or digits, dot optional).
19. ``conflicting_duplicate``: two or more rows that passed every other check share
    ``(claim_id, line_number)`` but differ in content. Which one is right cannot be
    known, so *all* of them are quarantined.
20. ``duplicate_line``: a row identical (after repair, in every canonical column) to
    an earlier accepted row with the same ``(claim_id, line_number)``, in any of the
    files loaded together. The first occurrence is accepted; each repeat is
    quarantined, its ``detail`` naming the row it repeats.

Patterns are full-match regular expressions written in the syntax Python's :mod:`re`
and RE2 (pyarrow) share, so either engine can use them as they are (RE2 through
:func:`anchored`).

References
----------
CMS, "Requirements for the NPI check digit" (Luhn formula, prefix 80840), NPPES.
CMS, Place of Service Code Set. USPS Publication 28, Appendix B.
ASC X12 837P, date format qualifier D8 (CCYYMMDD).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd

from analysis.defaults import MAX_LINE_USD
from analysis.paths import reference_file
from analysis.schema import (
    CANONICAL_COLUMNS,
    CANONICAL_DTYPES,
    EARLIEST_DATE,
    FIELD_PATTERNS,
    LATEST_DATE,
    NULL_TOKENS,
    REQUIRED_COLUMNS,
)

__all__ = [
    "AMOUNT_COLUMNS",
    "CODE_PATTERNS",
    "CONTROL_CHARACTERS",
    "DUPLICATE_KEY",
    "MAX_DOLLAR_DIGITS",
    "MAX_WHOLE",
    "MAX_WHOLE_DIGITS",
    "QUARANTINE_REASONS",
    "QUARANTINE_RULES",
    "REPAIRS",
    "REPAIR_BIT",
    "REPAIR_RULES",
    "ROW_REPAIRS",
    "RULES",
    "Rule",
    "anchored",
    "state_codes",
]


@dataclass(frozen=True)
class Rule:
    """One repair or one quarantine reason.

    Attributes
    ----------
    name : str
        The name the report and the quarantine use.
    columns : tuple of str
        Canonical columns the rule applies to (empty: the whole record or file).
    meaning : str
        One line for the report.
    unit : {"rows", "files"} or None
        Repairs: what the report counts. ``None`` for a quarantine reason.
    pattern : str or mapping, optional
        The full-match regular expression the rule uses; a mapping ``{column: pattern}``
        where the rule reads each column with its own pattern, or ``{part: pattern}``
        where it uses several.
    values : tuple of str
        The value set the rule uses (the null tokens).
    limit : optional
        The bound the rule uses, as its meaning says.
    reference : str, optional
        The file of ``data/reference`` holding the rule's code list.
    """

    name: str
    columns: tuple[str, ...]
    meaning: str
    unit: str | None = None
    pattern: str | Mapping[str, str] | None = None
    values: tuple[str, ...] = ()
    limit: Any = None
    reference: str | None = None


def anchored(pattern: str) -> str:
    """``pattern`` as a whole-string match for RE2 (pyarrow's ``match_substring_regex``).

    >>> anchored("[0-9]{2}")
    '^(?:[0-9]{2})$'
    """
    return f"^(?:{pattern})$"


# ------------------------------------------------------------- shared limits

AMOUNT_COLUMNS: tuple[str, ...] = ("allowed_usd", "paid_usd")
"""The dollar columns: parsed to whole cents and reconciled read = accepted + quarantined."""

DUPLICATE_KEY: tuple[str, ...] = ("claim_id", "line_number")
"""The key of a claim line; rows sharing it are duplicates."""

MAX_DOLLAR_DIGITS = 12
"""Digits before the decimal point an amount may have: amounts of a trillion dollars or
more are typos, not claims."""

MAX_WHOLE_DIGITS = 9
"""Digits a line number or a count of units may have (any int64 holds them)."""
MAX_WHOLE = 10**MAX_WHOLE_DIGITS - 1
"""The largest line number or count of units."""

_WHOLE = rf"[0-9]{{1,{MAX_WHOLE_DIGITS}}}"
_PLAIN_AMOUNT = rf"[0-9]{{1,{MAX_DOLLAR_DIGITS}}}(?:\.[0-9]{{1,2}})?"
# a place of service as the file may hold it: one or two digits, a spreadsheet's ".0"
_POS_TEXT = r"(?P<p>[0-9]{1,2})(?P<z>\.0+)?"
# a time of day after a date: hours 0-23, minutes and seconds 0-59 (25:00 is no time)
_TIME = (r"(?:[T ](?P<t>(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?))?")
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
"""C0 control characters and DEL, other than tab, line feed and carriage return (which are
whitespace, stripped at the ends of a field): no claims field holds one legitimately, and
one inside an identifier would reach file names, spreadsheets and terminals."""


# -------------------------------------------------------------------- repairs

REPAIR_RULES: tuple[Rule, ...] = (
    Rule("bom", (), "byte-order mark before the header removed", unit="files"),
    Rule("crlf", (), "Windows line ends (CRLF) read as line ends", unit="files"),
    Rule("whitespace_stripped", CANONICAL_COLUMNS, "leading/trailing whitespace stripped",
         unit="rows"),
    Rule("null_token", CANONICAL_COLUMNS,
         "NULL / NA / N/A / #N/A / NaN / None read as missing", unit="rows",
         values=NULL_TOKENS),
    Rule("upper_cased", ("cpt_code", "modifiers", "state", "payer", "diagnosis_codes"),
         "codes, modifiers, state or payer upper-cased", unit="rows"),
    Rule("numeric_suffix_dropped",
         ("cpt_code", "line_number", "units", "modifiers", "place_of_service",
          "rendering_npi"),
         "spreadsheet '.0' dropped (76376.0 -> 76376)", unit="rows",
         pattern={
             "cpt_code": r"\.0+$",  # searched, and removed as normalize_cpt removes it
             "line_number": rf"(?P<n>[-+]?{_WHOLE})(?P<z>\.0*)?",
             "units": rf"(?P<n>[-+]?{_WHOLE})(?P<z>\.0*)?",
             "modifiers": r"([0-9])\.0+( |$)",  # searched in the modifier list
             "place_of_service": _POS_TEXT,
             "rendering_npi": r"(?P<n>[0-9]{10})(?P<z>\.0*)",
         }),
    Rule("cpt_zero_padded", ("cpt_code",), "all-digit CPT code left-padded to 5 digits",
         unit="rows", pattern=r"[0-9]{1,4}",
         # Padding restores the leading zeros a spreadsheet dropped from anesthesia
         # codes, the only all-digit CPT codes starting with 0; a short code that pads
         # to anything else (7637 -> 07637) lost another digit.
         limit=("00100", "01999")),
    Rule("pos_zero_padded", ("place_of_service",),
         "one-digit place of service left-padded (2 -> 02)", unit="rows", pattern=_POS_TEXT),
    Rule("npi_scientific", ("rendering_npi",), "NPI in exact scientific notation expanded",
         unit="rows", pattern=r"(?P<a>[0-9])\.(?P<b>[0-9]+)[eE]\+?0*9"),
    Rule("amount_currency_format", AMOUNT_COLUMNS,
         "$, thousands separators or (parentheses) removed", unit="rows",
         pattern={
             "accounting": r"\(.*\)",
             "amount": r"(?P<s1>[-+]?)[ ]*(?P<dollar>\$?)[ ]*(?P<s2>[-+]?)"
                       r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.(?P<frac>[0-9]*))?",
         }),
    Rule("amount_rounded_to_cents", AMOUNT_COLUMNS, "amount rounded to the cent (half up)",
         unit="rows"),
    Rule("date_us_format", ("service_date",), "MM/DD/YYYY date read", unit="rows",
         pattern=rf"(?P<m>[0-9]{{1,2}})/(?P<d>[0-9]{{1,2}})/(?P<y>[0-9]{{4}}){_TIME}"),
    Rule("date_compact", ("service_date",), "YYYYMMDD date read", unit="rows",
         pattern=r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"),
    Rule("date_zero_padded", ("service_date",), "ISO date with one-digit month or day read",
         unit="rows",
         pattern=rf"(?P<y>[0-9]{{4}})-(?P<m>[0-9]{{1,2}})-(?P<d>[0-9]{{1,2}}){_TIME}"),
    Rule("date_time_dropped", ("service_date",), "time of day after the date dropped",
         unit="rows", pattern=_TIME),
    Rule("modifiers_reformatted", ("modifiers",), "modifier separators made single spaces",
         unit="rows", pattern=r"[ \t,;/|]+"),
    Rule("diagnosis_reformatted", ("diagnosis_codes",), "diagnosis separators made ';'",
         unit="rows", pattern=r"[ \t;,|]+"),
)
"""Every repair, in the order the report lists them."""


# --------------------------------------------------------- quarantine reasons

QUARANTINE_RULES: tuple[Rule, ...] = (
    Rule("malformed_row", (), "the CSV line has more or fewer fields than the header"),
    Rule("control_character", CANONICAL_COLUMNS,
         "a field holds a control character (NUL, vertical tab, escape, ...)",
         pattern=CONTROL_CHARACTERS),
    Rule("missing_required", REQUIRED_COLUMNS, "a required field is empty"),
    Rule("invalid_cpt", ("cpt_code",), "not a 5-character CPT/HCPCS code",
         pattern=FIELD_PATTERNS["cpt_code"]),
    Rule("bad_date", ("service_date",),
         "not a valid date in a recognised format within the plausible range",
         pattern={"two_digit_year": r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}(?:[T ].*)?"},
         limit=(EARLIEST_DATE, LATEST_DATE)),
    Rule("outside_study_window", ("service_date",),
         "a valid date outside the study window (the claims' years +/- 1, or as given)"),
    Rule("bad_line_number", ("line_number",), "line number is not a whole number >= 1",
         pattern=_WHOLE, limit=1),
    Rule("bad_units", ("units",), "units is not a whole number", pattern=_WHOLE),
    Rule("units_not_positive", ("units",), "units <= 0",
         # a negative number, whole or not, is not positive rather than not whole
         pattern=r"-[0-9.]+", limit=1),
    Rule("negative_amount", AMOUNT_COLUMNS, "allowed or paid amount below zero", limit=0),
    Rule("bad_amount", AMOUNT_COLUMNS,
         "allowed or paid amount cannot be read as dollars and cents",
         pattern=_PLAIN_AMOUNT, limit=MAX_DOLLAR_DIGITS),
    Rule("amount_above_cap", AMOUNT_COLUMNS,
         f"allowed or paid amount above ${MAX_LINE_USD:,} for one line (a typo or test "
         "value)", limit=MAX_LINE_USD),
    Rule("invalid_modifier", ("modifiers",), "a modifier is not 2 characters [0-9A-Z]",
         pattern=FIELD_PATTERNS["modifiers"]),
    # two digits as FIELD_PATTERNS has it, without 00: not a place of service
    Rule("invalid_pos", ("place_of_service",), "place of service is not a 2-digit code 01-99",
         pattern=r"0[1-9]|[1-9][0-9]"),
    Rule("invalid_npi", ("rendering_npi",), "NPI is not 10 digits",
         pattern=FIELD_PATTERNS["rendering_npi"]),
    Rule("invalid_npi_check_digit", ("rendering_npi",),
         "NPI check digit fails (Luhn with prefix 80840)"),
    Rule("invalid_state", ("state",), "not a USPS state, DC or territory code",
         reference="usps_state_codes.csv"),
    Rule("invalid_diagnosis", ("diagnosis_codes",),
         "a diagnosis code is not shaped like ICD-10-CM",
         pattern=FIELD_PATTERNS["diagnosis_codes"]),
    Rule("conflicting_duplicate", DUPLICATE_KEY,
         "same claim_id and line_number as another row with different content"),
    Rule("duplicate_line", DUPLICATE_KEY, "exact repeat of an earlier accepted line"),
)
"""Every quarantine reason, in the order the checks run (a row gets the first that fails)."""


RULES: dict[str, Rule] = {rule.name: rule for rule in REPAIR_RULES + QUARANTINE_RULES}
"""Every rule by name."""

QUARANTINE_REASONS: dict[str, str] = {rule.name: rule.meaning for rule in QUARANTINE_RULES}
"""Quarantine reasons in the order the checks run, with a one-line meaning."""

REPAIRS: dict[str, tuple[str, str]] = {rule.name: (rule.unit, rule.meaning)
                                       for rule in REPAIR_RULES}
"""Repair kinds: ``(unit counted, description)``."""

ROW_REPAIRS: tuple[str, ...] = tuple(rule.name for rule in REPAIR_RULES if rule.unit == "rows")
"""Repairs counted in rows (the others are counted in files)."""
REPAIR_BIT: dict[str, int] = {name: 1 << i for i, name in enumerate(ROW_REPAIRS)}
"""The bit of each row repair in a row's repair mask."""

CODE_PATTERNS: dict[str, str] = {
    rule.columns[0]: rule.pattern for rule in QUARANTINE_RULES
    if isinstance(rule.pattern, str) and len(rule.columns) == 1
    and CANONICAL_DTYPES[rule.columns[0]] == "string"
}
"""The full-match pattern of each coded text column (CPT, modifiers, place of service,
NPI, diagnoses): a canonical value matches it."""


@cache
def state_codes() -> frozenset[str]:
    """The codes ``invalid_state`` accepts: USPS states, DC and territories."""
    path = reference_file(RULES["invalid_state"].reference)
    return frozenset(pd.read_csv(path, dtype=str)["state"])
