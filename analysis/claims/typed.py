"""The typed fast path: the row checks on Parquet values already stored with their
canonical types, without the text round trip.

:func:`fast_columns` takes the canonical columns of a batch as Arrow arrays of their
canonical types (or gives up when one is stored otherwise); :func:`fast_clean` marks the
rows that the repairs would leave unchanged and that pass every row check. Those rows
are accepted as they are; every other row goes through the text checks
(:func:`analysis.claims.checks.check_rows`), so the result is the same row for row. The
patterns, value sets and limits are those of the rule table
(:mod:`analysis.claims.rules`) and :mod:`analysis.schema`; the NPI check digit is
:func:`analysis.npi.valid_npi_int`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.claims.rules import (
    AMOUNT_COLUMNS,
    CODE_PATTERNS,
    MAX_DOLLAR_DIGITS,
    MAX_WHOLE,
    RULES,
    anchored,
    state_codes,
)
from analysis.npi import valid_npi_int
from analysis.schema import (
    CANONICAL_ARROW_SCHEMA,
    CANONICAL_COLUMNS,
    EARLIEST_DATE,
    LATEST_DATE,
    NULL_TOKENS,
    REQUIRED_COLUMNS,
)

__all__ = ["arrow_mask", "fast_clean", "fast_columns"]

_NULL_TOKEN_SET = pa.array(NULL_TOKENS, pa.string())
_EARLIEST_DAY = int((EARLIEST_DATE - pd.Timestamp("1970-01-01")).days)
_LATEST_DAY = int((LATEST_DATE - pd.Timestamp("1970-01-01")).days)
_US_PER_DAY = 86_400_000_000


def arrow_mask(arr, null: bool) -> np.ndarray:
    """An Arrow boolean array as numpy bool, nulls as ``null``."""
    return pc.fill_null(arr, null).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def fast_columns(batch: pa.RecordBatch, col_sources: Mapping[str, list[str]],
                 extra: Mapping[str, str]) -> dict[str, pa.Array] | None:
    """Each canonical column as one Arrow array of its canonical type, or None when a
    column is not stored with a type the fast path can take as is.

    ``col_sources`` maps each canonical column to the batch columns feeding it and
    ``extra`` holds hive partition values (as :func:`analysis.claims.sources.
    map_table_headers` returns them).
    """
    n = batch.num_rows
    out: dict[str, pa.Array] = {}
    for c in CANONICAL_COLUMNS:
        want = CANONICAL_ARROW_SCHEMA.field(c).type
        src = col_sources.get(c, [])
        if len(src) > 1:
            return None  # several source columns are joined as text
        if src:
            arr = batch.column(src[0])
        elif c in extra:
            arr = pa.array(np.full(n, extra[c], dtype=object), pa.string())
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


def fast_clean(cols: dict[str, pa.Array]) -> np.ndarray:
    """Rows that the repairs would leave unchanged and that pass every row check.

    A row is clean when each value is already in canonical form -- text with no
    surrounding whitespace, not empty and not a null token (``NA``, ``NULL``, ...);
    codes matching their canonical pattern (CPT, modifiers, place of service 01-99,
    10-digit NPI, ICD-10-CM list, USPS state); payer upper-case -- and passes the
    checks that can fail on typed values: required fields present, service date within
    :data:`~analysis.schema.EARLIEST_DATE`..:data:`~analysis.schema.LATEST_DATE` at
    midnight, line number and units whole numbers 1..999,999,999, amounts >= 0 in
    whole cents up to the per-line cap (``amount_above_cap``), NPI check digit; no
    control character in an identifier. Every other row is checked as text by the
    full checks.
    """
    n = len(cols["claim_id"])
    ok = np.ones(n, dtype=bool)

    def not_token(arr):
        return pc.invert(pc.is_in(arr, value_set=_NULL_TOKEN_SET))

    def text_ok(arr):
        plain = pc.invert(pc.match_substring_regex(arr, RULES["control_character"].pattern))
        return pc.and_(pc.and_(pc.and_(pc.equal(arr, pc.utf8_trim_whitespace(arr)),
                                       pc.greater(pc.binary_length(arr), 0)), not_token(arr)),
                       plain)

    def pattern_ok(c):
        def check(arr):
            good = pc.and_(pc.match_substring_regex(arr, anchored(CODE_PATTERNS[c])),
                           not_token(arr))
            if c == "rendering_npi":  # check digit where the 10-digit pattern holds
                where = arrow_mask(good, False)
                luhn = np.zeros(len(arr), dtype=bool)
                if where.any():
                    digits = pc.cast(arr.filter(pa.array(where)), pa.int64())
                    luhn[where] = valid_npi_int(digits.to_numpy())
                good = pc.and_(good, pa.array(luhn))
            return good
        return check

    def state_ok(arr):
        return pc.if_else(pc.is_valid(arr),
                          pc.is_in(arr, value_set=pa.array(sorted(state_codes()))),
                          pa.scalar(None, pa.bool_()))

    def payer_ok(arr):
        return pc.and_(text_ok(arr), pc.equal(arr, pc.utf8_upper(arr)))

    checks = [("claim_id", text_ok), ("patient_id", text_ok), ("practice_id", text_ok),
              ("payer", payer_ok), ("state", state_ok)]
    checks += [(c, pattern_ok(c)) for c in CODE_PATTERNS]
    for c, check in checks:
        # a null is a missing value: a failure if required, else fine
        ok &= arrow_mask(_by_value(cols[c], check), c not in REQUIRED_COLUMNS)
    has_day = arrow_mask(pc.is_valid(cols["service_date"]), False)
    day = pc.fill_null(cols["service_date"].cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    ok &= has_day & (day % _US_PER_DAY == 0)
    ok &= (day // _US_PER_DAY >= _EARLIEST_DAY) & (day // _US_PER_DAY <= _LATEST_DAY)
    for c, least in (("line_number", RULES["bad_line_number"].limit),
                     ("units", RULES["units_not_positive"].limit)):
        v = pc.fill_null(cols[c], 0).to_numpy(zero_copy_only=False)
        ok &= (v >= least) & (v <= MAX_WHOLE)
    least = RULES["negative_amount"].limit
    too_large = min(10.0**MAX_DOLLAR_DIGITS, RULES["amount_above_cap"].limit + 0.005)
    for c in AMOUNT_COLUMNS:
        v = cols[c].to_numpy(zero_copy_only=False)  # nulls -> NaN
        null = arrow_mask(pc.is_null(cols[c]), False)
        with np.errstate(invalid="ignore"):
            whole_cents = np.rint(v * 100) / 100 == v
            ok &= null | ((v >= least) & (v < too_large) & ~np.signbit(v) & whole_cents)
    return ok
