"""Field parsers of the text checks: dollar amounts to whole cents, service dates, whole
numbers, and the vectorised pattern extraction they share.

Each parser takes a column of stripped text (missing values as ``pd.NA``), or the same
column stored typed (:func:`analysis.claims.sources.typed_or_text`), and returns numpy
arrays: the parsed values, which values parsed, and the repairs it applied, so that
:func:`analysis.claims.checks.check_rows` can count repairs and pick the first failing
reason. A typed value in the plain, canonical range (a whole number 0-999,999,999; an
amount >= 0 in whole cents; a date at midnight) is taken as it is; any other typed
value is rendered as text (:func:`analysis.claims.sources.as_text`) and parsed like
text, so a value gets the same verdict, repairs and message however it was stored.
Patterns and limits come from the rule table (:mod:`analysis.claims.rules`) and
:mod:`analysis.schema`.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.claims.rules import MAX_DOLLAR_DIGITS, MAX_WHOLE, RULES, anchored
from analysis.claims.sources import as_text, is_typed
from analysis.schema import EARLIEST_DATE, LATEST_DATE, empty_lines

__all__ = ["LINE_DTYPES", "as_mask", "extract", "parse_cents", "parse_dates", "parse_whole"]

# TODO(shared): analysis.schema could publish the pandas dtype of each column (its
# private _dtype); until then it is read off empty_lines().
LINE_DTYPES: dict[str, Any] = dict(empty_lines().dtypes)
"""The pandas dtype of each canonical column (``pd.StringDtype()`` for text)."""

# scientific notation, as a spreadsheet writes a float or a cast from Parquet prints it
_SCIENTIFIC = r"[-+]?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+"
_WHOLE_RULE = {"line_number": "bad_line_number", "units": "bad_units"}
_DATE_FLAGS = ("impossible", "two_digit_year", "us", "compact", "unpadded", "time")
_US_PER_DAY = 86_400_000_000


def as_mask(mask) -> np.ndarray:
    """Boolean Series (possibly with NA) -> numpy bool, NA as False."""
    if isinstance(mask, np.ndarray):
        return mask.astype(bool)
    return mask.fillna(False).to_numpy(dtype=bool)


def extract(s: pd.Series, pattern: str) -> tuple[pd.DataFrame, np.ndarray]:
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


def _typed(val: pd.Series, inside: np.ndarray, parse, **direct: np.ndarray) -> dict:
    """A parser's result on a typed column: ``direct`` where ``inside`` (the plain range),
    ``parse`` on the text of the other present values."""
    present = as_mask(val.notna())
    out = {k: np.where(inside, v, np.zeros(1, dtype=v.dtype)) for k, v in direct.items()}
    other = present & ~inside
    if other.any():
        sub = parse(as_text(val[other]))
        for k, v in sub.items():
            if k in out:
                out[k][other] = v
            elif isinstance(v, np.ndarray):
                out[k] = np.zeros(len(val), dtype=v.dtype)
                out[k][other] = v
    return out


def _values(val: pd.Series, dtype) -> tuple[np.ndarray, np.ndarray]:
    """A typed column's values (nulls filled with 0) and where it is present."""
    arr = val.array.__arrow_array__()
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.int64())
    present = arr.is_valid().to_numpy(zero_copy_only=False)
    return pc.fill_null(arr, 0).to_numpy(zero_copy_only=False).astype(dtype), present


def parse_cents(val: pd.Series) -> dict[str, np.ndarray]:
    """Parse amounts to whole cents.

    Returns arrays ``cents`` (int64, 0 where not parsed), ``parsed`` (bool),
    ``unparsed`` (a value present but unreadable), ``currency`` and ``rounded``
    (repairs). Plain amounts (``1234.5``) take a fast path; the rest go through the
    full grammar: optional sign and ``$`` in either order, digits with or without
    comma thousands groups, optional decimals, or accounting parentheses.
    """
    n = len(val)
    if is_typed(val):
        v, present = _values(val, np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            cents = np.rint(v * 100)
            inside = (present & np.isfinite(v) & (v >= 0) & ~np.signbit(v)
                      & (v < 10.0**MAX_DOLLAR_DIGITS) & (cents / 100 == v))
        none = np.zeros(n, dtype=bool)
        out = _typed(val, inside, parse_cents,
                     cents=np.where(inside, cents, 0).astype(np.int64), parsed=inside.copy(),
                     currency=none.copy(), rounded=none.copy())
        out["unparsed"] = present & ~out["parsed"]
        return out
    present = as_mask(val.notna())
    cents = np.zeros(n, dtype=np.int64)
    fast = as_mask(val.str.fullmatch(RULES["bad_amount"].pattern))
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
    grammar = RULES["amount_currency_format"].pattern
    paren = as_mask(sub.str.fullmatch(grammar["accounting"]))
    body = sub.mask(pd.Series(paren, index=sub.index), sub.str.slice(1, -1).str.strip())
    m, matched = extract(body, anchored(grammar["amount"]))
    int_digits = m["int"].fillna("").str.replace(",", "", regex=False)
    frac = m["frac"].fillna("")
    good = matched & as_mask((int_digits.str.len() + frac.str.len()) > 0)
    has_s1, has_s2 = as_mask(m["s1"].notna()), as_mask(m["s2"].notna())
    negative = as_mask(m["s1"].eq("-")) | as_mask(m["s2"].eq("-")) | paren
    good &= ~(has_s1 & has_s2) & ~(paren & (has_s1 | has_s2))
    good &= as_mask(int_digits.str.len() <= MAX_DOLLAR_DIGITS)
    sub_cents = np.zeros(len(sub), dtype=np.int64)
    sub_rounded = np.zeros(len(sub), dtype=bool)
    if good.any():
        ints = int_digits[good].mask(int_digits[good].eq(""), "0")
        ints = pc.cast(pa.array(ints.array), pa.int64()).to_numpy(zero_copy_only=False)
        f = frac[good]
        two = pc.cast(pa.array(f.str.slice(0, 2).str.pad(2, side="right", fillchar="0").array),
                      pa.int64()).to_numpy(zero_copy_only=False)
        up = as_mask(f.str.slice(2, 3).str.fullmatch(r"[5-9]"))
        sub_rounded[good] = as_mask(f.str.slice(2).str.contains(r"[1-9]"))
        magnitude = ints * 100 + two + up
        sub_cents[good] = np.where(negative[good], -magnitude, magnitude)
    sub_currency = good & (paren | as_mask(m["dollar"].notna())
                           | as_mask(m["int"].str.contains(",")))
    sci = ~good & as_mask(sub.str.fullmatch(_SCIENTIFIC))
    for i in np.flatnonzero(sci):
        d = Decimal(sub.iat[i])
        if abs(d) >= Decimal(10) ** MAX_DOLLAR_DIGITS:
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


def parse_dates(val: pd.Series) -> dict[str, Any]:
    """Service dates: ISO fast path, then ``MM/DD/YYYY``, ``YYYYMMDD``, unpadded ISO and
    trailing times; everything else (and two-digit years) is not a date."""
    n = len(val)
    if is_typed(val):
        v, present = _values(val, np.int64)  # microseconds since 1970
        inside = present & (v % _US_PER_DAY == 0)
        days = v.astype("datetime64[us]")
        days[~inside] = np.datetime64("NaT")
        flags = {k: np.zeros(n, dtype=bool) for k in _DATE_FLAGS}
        other = present & ~inside
        if other.any():
            sub = parse_dates(as_text(val[other]))
            days[other] = sub["dates"].to_numpy(dtype="datetime64[us]")
            for k in _DATE_FLAGS:
                flags[k][other] = sub[k]
        return _date_result(pd.Series(days, index=val.index), flags)
    dates = pd.to_datetime(val, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")
    fast = as_mask(dates.notna()) & as_mask(val.str.len() == 10)
    flags = {k: np.zeros(n, dtype=bool) for k in _DATE_FLAGS}
    slow = as_mask(val.notna()) & ~fast
    if slow.any():
        sub = val[slow]
        iso, is_iso = extract(sub, anchored(RULES["date_zero_padded"].pattern))
        us, is_us = extract(sub, anchored(RULES["date_us_format"].pattern))
        compact, is_compact = extract(sub, anchored(RULES["date_compact"].pattern))
        year = iso["y"].fillna(us["y"]).fillna(compact["y"])
        text = (year + "-" + iso["m"].fillna(us["m"]).fillna(compact["m"]).str.zfill(2)
                + "-" + iso["d"].fillna(us["d"]).fillna(compact["d"]).str.zfill(2))
        sub_dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        dates = dates.mask(pd.Series(slow, index=val.index), pd.NaT)
        dates.loc[slow] = sub_dates.to_numpy(dtype="datetime64[us]")
        valid = as_mask(sub_dates.notna())
        for key, sub_mask in (
            ("impossible", (is_iso | is_us | is_compact) & ~valid),
            ("two_digit_year",
             as_mask(sub.str.fullmatch(RULES["bad_date"].pattern["two_digit_year"]))),
            ("us", is_us),
            ("compact", is_compact),
            ("unpadded", is_iso & as_mask((iso["m"].str.len() < 2) | (iso["d"].str.len() < 2))),
            ("time", as_mask(iso["t"].notna() | us["t"].notna())),
        ):
            flags[key][slow] = sub_mask
    return _date_result(dates, flags)


def _date_result(dates: pd.Series, flags: dict[str, np.ndarray]) -> dict[str, Any]:
    valid = as_mask(dates.notna())
    ok = valid & as_mask((dates >= EARLIEST_DATE) & (dates <= LATEST_DATE))
    return dict(dates=dates.astype("datetime64[us]"), ok=ok, out_of_range=valid & ~ok, **flags)


def parse_whole(val: pd.Series, column: str) -> dict[str, np.ndarray]:
    """Whole numbers (line numbers, units): digits, or with a sign or a spreadsheet's
    ``.0``.

    Returns arrays ``ok`` (parsed), ``number`` (int64, 0 where not parsed),
    ``present`` and ``suffix`` (a ``.0`` was dropped: ``numeric_suffix_dropped``).
    """
    n = len(val)
    if is_typed(val):
        v, present = _values(val, np.int64)
        inside = present & (v >= 0) & (v <= MAX_WHOLE)
        out = _typed(val, inside, lambda text: parse_whole(text, column),
                     ok=inside.copy(), number=v, suffix=np.zeros(n, dtype=bool))
        out["present"] = present
        return out
    ok = as_mask(val.str.fullmatch(RULES[_WHOLE_RULE[column]].pattern))
    number = np.zeros(n, dtype=np.int64)
    suffix = np.zeros(n, dtype=bool)
    if ok.any():
        number[ok] = pc.cast(pa.array(val[ok].array), pa.int64()).to_numpy(zero_copy_only=False)
    slow = as_mask(val.notna()) & ~ok
    if slow.any():
        grammar = RULES["numeric_suffix_dropped"].pattern[column]
        mt, sub_ok = extract(val[slow], anchored(grammar))
        where = np.flatnonzero(slow)[sub_ok]
        number[where] = pc.cast(pa.array(mt["n"][sub_ok].str.lstrip("+").array),
                                pa.int64()).to_numpy(zero_copy_only=False)
        ok[where] = True
        suffix[slow] = sub_ok & as_mask(mt["z"].notna())
    return dict(ok=ok, number=number, present=as_mask(val.notna()), suffix=suffix)
