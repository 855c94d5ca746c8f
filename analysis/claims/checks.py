"""The row checks: repair what is certain, then give each failing row its reason.

:func:`check_rows` takes a batch of raw values in the canonical columns -- text, or a
column a table stores with its canonical type (:func:`analysis.claims.sources.
typed_or_text`), which the field parsers read directly (:mod:`analysis.claims.fields`)
-- and runs the
repairs and quarantine reasons 2-18 of the rule table (:mod:`analysis.claims.rules`)
in its order, column by column: each row gets the first reason that fails, and a bit
mask of the repairs it needed. The duplicate reasons (19, 20) need every row of a key
and are applied afterwards (:mod:`analysis.claims.duplicates`); ``malformed_row`` (1)
is found by the CSV reader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.claims.fields import as_mask, extract, parse_cents, parse_dates, parse_whole
from analysis.claims.rules import (
    AMOUNT_COLUMNS,
    CODE_PATTERNS,
    REPAIR_BIT,
    RULES,
    anchored,
    state_codes,
)
from analysis.claims.sources import as_text, is_typed, stored_encoding
from analysis.codes import normalize_cpt
from analysis.npi import valid_npi
from analysis.schema import (
    CANONICAL_COLUMNS,
    EARLIEST_DATE,
    LATEST_DATE,
    NULL_TOKENS,
    REQUIRED_COLUMNS,
)

__all__ = ["CheckedRows", "check_rows", "is_blank"]


@dataclass
class CheckedRows:
    """A batch after the row checks.

    Attributes
    ----------
    typed : DataFrame
        Canonical typed values (meaningful where ``reason`` is None).
    reason, column, detail : ndarray of object
        The first failing reason of each row (None if it passed), its column and the
        message naming the value.
    repairs : ndarray of int64
        Bit mask of the row repairs applied (:data:`analysis.claims.rules.REPAIR_BIT`).
    cents, parsed, unparsed : dict
        Per amount column, as :func:`analysis.claims.fields.parse_cents` returns them.
    """

    typed: pd.DataFrame
    reason: np.ndarray
    column: np.ndarray
    detail: np.ndarray
    repairs: np.ndarray
    cents: dict[str, np.ndarray]
    parsed: dict[str, np.ndarray]
    unparsed: dict[str, np.ndarray]


def is_blank(frame: pd.DataFrame, present: frozenset[str]) -> np.ndarray:
    """Rows whose mapped fields (columns in ``present``) are all empty: skipped, not read."""
    present_cols = [c for c in CANONICAL_COLUMNS if c in present]
    if not present_cols:
        return np.ones(len(frame), dtype=bool)
    blank = np.ones(len(frame), dtype=bool)
    for c in present_cols:  # each column only on the rows still blank: cheap on real data
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        s = frame[c].iloc[rows]
        blank[rows] = as_mask(s.isna()) if is_typed(s) else as_mask(
            s.fillna("").str.strip().eq(""))
    return blank


def _quote(values: pd.Series) -> np.ndarray:
    return ("'" + as_text(values).fillna("").astype(str) + "'").to_numpy(dtype=object)


class ByValue:
    """``fn(s)`` computed once per distinct value when values repeat (codes, payers,
    dates as text), then spread back; ``fn`` returns a Series, an array, or a dict of
    them. A missing value is a value of its own, so the result is the same as ``fn(s)``
    row by row. The distinct values of a column are found once (Arrow's dictionary
    encoding) and reused by every check of that column."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple] = {}

    def _encoded(self, s: pd.Series):
        key = id(s.array)
        if key not in self._seen and (known := stored_encoding(s)) is not None:
            self._seen[key] = (s.array, known)
        if key not in self._seen:
            arr = s.array.__arrow_array__()
            if pc.count_distinct(arr.slice(0, 4096), mode="all").as_py() > 512:
                self._seen[key] = (s.array, None)  # identifiers, amounts: row by row
                return None
            enc = pc.dictionary_encode(arr, null_encoding="encode")
            if isinstance(enc, pa.ChunkedArray):
                enc = enc.combine_chunks()
            repeated = len(enc.dictionary) * 8 <= len(s)
            self._seen[key] = (s.array, (
                enc.indices.to_numpy(zero_copy_only=False),
                pd.Series(pd.array(enc.dictionary, dtype=s.dtype))) if repeated else None)
        return self._seen[key][1]

    def __call__(self, s: pd.Series, fn):
        encoded = self._encoded(s) if len(s) >= 4096 else None
        if encoded is None:
            return fn(s)
        codes, uniques = encoded
        return _spread(fn(uniques), codes, s.index)


def _surroundings(values: pd.Series) -> dict[str, np.ndarray]:
    """Where a text value has surrounding whitespace (``padded``), is a null token once
    stripped (``token``) or is empty once stripped (``empty``)."""
    stripped = values.str.strip()
    return dict(padded=as_mask(values.ne(stripped)), token=as_mask(stripped.isin(NULL_TOKENS)),
                empty=as_mask(stripped.eq("")))


def _has_control(s: pd.Series) -> np.ndarray:
    """Where a text value holds a control character (the ``control_character`` rule):
    searched only in values that are not all printable ASCII."""
    printable = pc.ascii_is_printable(s.array.__arrow_array__())
    out = np.zeros(len(s), dtype=bool)
    rows = np.flatnonzero(~pc.fill_null(printable, True).to_numpy(zero_copy_only=False))
    if len(rows):
        out[rows] = as_mask(s.iloc[rows].str.contains(RULES["control_character"].pattern,
                                                      regex=True))
    return out


def _spread(result, codes: np.ndarray, index: pd.Index):
    if isinstance(result, dict):
        return {k: _spread(v, codes, index) for k, v in result.items()}
    if isinstance(result, pd.Series) and pd.api.types.is_bool_dtype(result.dtype):
        return as_mask(result)[codes]  # a mask: NA is False, as every caller reads it
    if isinstance(result, pd.Series) and hasattr(result.array, "__arrow_array__"):
        taken = result.array.__arrow_array__().take(pa.array(codes))
        return pd.Series(pd.array(taken, dtype=result.dtype), index=index)
    if isinstance(result, pd.Series):
        return result.take(codes).set_axis(index)
    if isinstance(result, np.ndarray) and result.ndim == 1:
        return result[codes]
    return result


def _on(slow: np.ndarray, sub_mask) -> np.ndarray:
    """Scatter a mask computed on the rows ``slow`` back to full length."""
    out = np.zeros(len(slow), dtype=bool)
    out[slow] = as_mask(sub_mask)
    return out


def check_rows(raw: pd.DataFrame, present: frozenset[str], settings=None) -> CheckedRows:
    """Repair and check a batch of raw values (vectorised): the one implementation of
    reasons 2-18 for every input, text or typed. ``settings``
    (:class:`analysis.claims.window.CheckSettings`) holds the study window dates must fall
    in and the per-line amount cap (None: no window, the default cap).

    ``present`` names the canonical columns the file has. Each column has a fast path
    for values already in canonical form; only the other values go through the
    repairs, so clean files cost one regular expression per column.
    """
    n = len(raw)
    idx = raw.index
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)
    repairs = np.zeros(n, dtype=np.int64)
    suffix = RULES["numeric_suffix_dropped"].pattern

    def repaired(kind: str, mask) -> None:
        mask = as_mask(mask)
        if mask.any():
            repairs[mask] |= REPAIR_BIT[kind]

    passed = np.ones(n, dtype=bool)  # no reason yet

    def fail(name: str, col: str, mask, message: Callable[[np.ndarray], Any]) -> None:
        m = as_mask(mask) & passed
        if m.any():
            passed[m] = False
            reason[m] = name
            column[m] = col
            detail[m] = message(m)

    by_value = ByValue()
    val: dict[str, pd.Series] = {}
    for c in CANONICAL_COLUMNS:
        s = raw[c]
        if c not in present:
            val[c] = s
            continue
        if is_typed(s):  # no text to repair, but a float NaN is written "nan": a null token
            arr = s.array.__arrow_array__()
            if pa.types.is_floating(arr.type):
                nan = pc.fill_null(pc.is_nan(arr), False).to_numpy(zero_copy_only=False)
                if nan.any():
                    repaired("null_token", nan)
                    s = s.mask(pd.Series(nan, index=idx))
            val[c] = s
            continue
        control = _has_control(s)
        if control.any():
            fail("control_character", c, control,
                 lambda m, s=s, c=c: np.array(
                     [f"{c} '{v.encode('unicode_escape').decode('ascii')}' holds a control "
                      "character" for v in s[m]], dtype=object))
        flags = by_value(s, _surroundings)
        repaired("whitespace_stripped", flags["padded"])
        repaired("null_token", flags["token"])
        if flags["padded"].any() or flags["token"].any() or flags["empty"].any():
            stripped = by_value(s, lambda v: v.str.strip())
            val[c] = stripped.mask(pd.Series(flags["token"] | flags["empty"], index=idx))
        else:
            val[c] = s  # already clean: the same values (and their distinct values)

    # 2. missing required fields
    missing = {c: as_mask(val[c].isna()) for c in REQUIRED_COLUMNS}
    any_missing = np.logical_or.reduce([missing[c] for c in REQUIRED_COLUMNS])
    m = any_missing & passed
    if m.any():
        names = np.array([np.where(missing[c][m], c, "") for c in REQUIRED_COLUMNS])
        passed[m] = False
        reason[m] = "missing_required"
        column[m] = [next(x for x in col if x) for col in names.T]
        detail[m] = ["missing " + ", ".join(x for x in col if x) for col in names.T]

    payer = by_value(val["payer"], lambda v: v.str.upper())
    repaired("upper_cased", val["payer"].ne(payer))

    # 3. CPT
    s = val["cpt_code"]
    cpt = s
    lost_digit = np.zeros(n, dtype=bool)
    slow = as_mask(s.notna()) & ~as_mask(by_value(s, lambda v: v.str.fullmatch(
        CODE_PATTERNS["cpt_code"])))
    low, high = RULES["cpt_zero_padded"].limit
    if slow.any():
        sub = s[slow]
        up = sub.str.upper()
        norm = normalize_cpt(sub)
        repaired("upper_cased", _on(slow, sub.ne(up)))
        repaired("numeric_suffix_dropped", _on(slow, up.str.contains(suffix["cpt_code"])))
        padded = as_mask(up.str.replace(suffix["cpt_code"], "", regex=True)
                         .str.fullmatch(RULES["cpt_zero_padded"].pattern))
        lost = padded & ~as_mask(norm.ge(low) & norm.le(high))
        repaired("cpt_zero_padded", _on(slow, padded & ~lost))
        lost_digit = _on(slow, lost)
        cpt = s.mask(pd.Series(slow, index=idx), norm)
    fail("invalid_cpt", "cpt_code",
         (as_mask(cpt.notna()) & ~as_mask(by_value(cpt, lambda v: v.str.fullmatch(
             CODE_PATTERNS["cpt_code"]))))
         | lost_digit,
         lambda m: _quote(raw["cpt_code"][m]) + np.where(
             lost_digit[m], " has fewer than 5 digits and is not an anesthesia code "
             f"({low}-{high}) missing its leading zeros", " is not a 5-character CPT/HCPCS code"))

    # 4. service date
    d = by_value(val["service_date"], parse_dates)

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

    fail("bad_date", "service_date", ~d["ok"] & as_mask(val["service_date"].notna()),
         date_message)
    window = None if settings is None else settings.study_window
    if window is not None:
        dates = d["dates"]
        fail("outside_study_window", "service_date",
             d["ok"] & as_mask((dates < window.start) | (dates > window.end)),
             lambda m: _quote(raw["service_date"][m]) + f" is outside the study window {window}")
    for kind, key in (("date_us_format", "us"), ("date_compact", "compact"),
                      ("date_zero_padded", "unpadded"), ("date_time_dropped", "time")):
        repaired(kind, d[key] & d["ok"])

    # 5-7. line number and units: whole numbers, a spreadsheet's ".0" dropped
    ln = by_value(val["line_number"], lambda v: parse_whole(v, "line_number"))
    repaired("numeric_suffix_dropped", ln["suffix"])
    line_number = ln["number"]
    fail("bad_line_number", "line_number",
         ln["present"] & ~(ln["ok"] & (line_number >= RULES["bad_line_number"].limit)),
         lambda m: _quote(raw["line_number"][m]) + " is not a whole number >= 1")
    u = by_value(val["units"], lambda v: parse_whole(v, "units"))
    repaired("numeric_suffix_dropped", u["suffix"])
    units = u["number"]
    negative_units = u["present"] & ~u["ok"]
    if negative_units.any():
        negative_units[negative_units] = as_mask(as_text(val["units"][negative_units])
                                                 .str.fullmatch(RULES["units_not_positive"].pattern))
    fail("bad_units", "units", u["present"] & ~u["ok"] & ~negative_units,
         lambda m: _quote(raw["units"][m]) + " is not a whole number of units")
    fail("units_not_positive", "units",
         u["present"] & (~u["ok"] | (units < RULES["units_not_positive"].limit)),
         lambda m: _quote(raw["units"][m]) + " is not a positive number of units")

    # 8-9. amounts
    amounts = {col: parse_cents(val[col]) for col in AMOUNT_COLUMNS}
    for a in amounts.values():
        repaired("amount_currency_format", a["currency"])
        repaired("amount_rounded_to_cents", a["rounded"])
    for col, a in amounts.items():
        fail("negative_amount", col, a["parsed"] & (a["cents"] < RULES["negative_amount"].limit),
             lambda m, col=col: _quote(raw[col][m]) + " is below zero")
    for col, a in amounts.items():
        fail("bad_amount", col, a["unparsed"],
             lambda m, col=col: _quote(raw[col][m]) + " is not an amount in dollars and cents")
    cap = RULES["amount_above_cap"].limit if settings is None else settings.max_line_usd
    cap_text = f"{cap:,.0f}" if float(cap).is_integer() else f"{cap:,.2f}"
    for col, a in amounts.items():
        fail("amount_above_cap", col, a["parsed"] & (a["cents"] > cap * 100),
             lambda m, col=col: _quote(raw[col][m]) + f" is above ${cap_text} for one line")

    # 10. modifiers
    s = val["modifiers"]
    mods = s
    slow = as_mask(s.notna()) & ~as_mask(by_value(s, lambda v: v.str.fullmatch(
        CODE_PATTERNS["modifiers"])))
    if slow.any():
        sub = s[slow]
        up = sub.str.upper()
        sep = up.str.replace(RULES["modifiers_reformatted"].pattern, " ", regex=True).str.strip()
        fixed = sep.str.replace(suffix["modifiers"], r"\1\2", regex=True)
        repaired("upper_cased", _on(slow, sub.ne(up)))
        repaired("modifiers_reformatted", _on(slow, sep.ne(up)))
        repaired("numeric_suffix_dropped", _on(slow, fixed.ne(sep)))
        mods = s.mask(pd.Series(slow, index=idx), fixed.mask(fixed.eq("")))
    fail("invalid_modifier", "modifiers",
         as_mask(mods.notna()) & ~as_mask(by_value(mods, lambda v: v.str.fullmatch(
             CODE_PATTERNS["modifiers"]))),
         lambda m: _quote(raw["modifiers"][m]) + " holds a modifier that is not 2 characters")

    # 11. place of service
    s = val["place_of_service"]
    pos_ok = as_mask(by_value(s, lambda v: v.str.fullmatch(CODE_PATTERNS["place_of_service"])))
    pos = s.where(pd.Series(pos_ok, index=idx))
    slow = as_mask(s.notna()) & ~pos_ok
    if slow.any():
        pm, _ = extract(s[slow], anchored(RULES["pos_zero_padded"].pattern))
        fixed = pm["p"].str.zfill(2)
        good = as_mask(fixed.str.fullmatch(CODE_PATTERNS["place_of_service"]))
        repaired("numeric_suffix_dropped", _on(slow, good & as_mask(pm["z"].notna())))
        repaired("pos_zero_padded", _on(slow, good & as_mask(pm["p"].str.len() == 1)))
        pos = pos.mask(pd.Series(slow, index=idx), fixed.where(pd.Series(good, index=fixed.index)))
        pos_ok = pos_ok | _on(slow, good)
    fail("invalid_pos", "place_of_service", as_mask(s.notna()) & ~pos_ok,
         lambda m: _quote(raw["place_of_service"][m])
         + " is not a 2-digit place of service 01-99")

    # 12-13. NPI
    s = val["rendering_npi"]
    ok = as_mask(by_value(s, lambda v: v.str.fullmatch(CODE_PATTERNS["rendering_npi"])))
    npi = s.where(pd.Series(ok, index=idx))
    lost = np.zeros(n, dtype=bool)
    slow = as_mask(s.notna()) & ~ok
    if slow.any():
        sub = s[slow]
        plain, is_plain = extract(sub, anchored(suffix["rendering_npi"]))
        sci, is_sci = extract(sub, anchored(RULES["npi_scientific"].pattern))
        # exact only when the mantissa carries all ten digits (any more must be zeros)
        exact = is_sci & as_mask(sci["b"].str.len() >= 9) & as_mask(
            sci["b"].str.slice(9).str.fullmatch(r"0*"))
        fixed = plain["n"].fillna((sci["a"] + sci["b"].str.slice(0, 9)).where(
            pd.Series(exact, index=sub.index)))
        repaired("numeric_suffix_dropped", _on(slow, is_plain))
        repaired("npi_scientific", _on(slow, exact))
        lost = _on(slow, is_sci & ~exact)
        npi = npi.mask(pd.Series(slow, index=idx), fixed)
    fail("invalid_npi", "rendering_npi", as_mask(s.notna()) & as_mask(npi.isna()),
         lambda m: _quote(raw["rendering_npi"][m]) + np.where(
             lost[m], " is scientific notation that lost digits; re-export the NPI as text",
             " is not a 10-digit NPI"))
    fail("invalid_npi_check_digit", "rendering_npi",
         as_mask(npi.notna()) & ~as_mask(by_value(npi, valid_npi)),
         lambda m: _quote(raw["rendering_npi"][m]) + " fails the NPI check digit")

    # 14. state
    s = val["state"]
    codes = state_codes()
    state = s
    slow = as_mask(s.notna()) & ~as_mask(by_value(s, lambda v: v.isin(codes)))
    if slow.any():
        up = s[slow].str.upper()
        repaired("upper_cased", _on(slow, up.ne(s[slow]) & up.isin(codes)))
        state = s.mask(pd.Series(slow, index=idx), up)
    fail("invalid_state", "state",
         as_mask(state.notna()) & ~as_mask(by_value(state, lambda v: v.isin(codes))),
         lambda m: _quote(raw["state"][m]) + " is not a USPS state code")

    # 15. diagnoses
    s = val["diagnosis_codes"]
    pattern = CODE_PATTERNS["diagnosis_codes"]
    dx = s
    slow = as_mask(s.notna()) & ~as_mask(by_value(s, lambda v: v.str.fullmatch(pattern)))
    if slow.any():
        sub = s[slow]
        up = sub.str.upper()
        fixed = up.str.replace(RULES["diagnosis_reformatted"].pattern, ";",
                               regex=True).str.strip(";")
        repaired("upper_cased", _on(slow, sub.ne(up)))
        repaired("diagnosis_reformatted", _on(slow, fixed.ne(up)))
        dx = s.mask(pd.Series(slow, index=idx), fixed.mask(fixed.eq("")))
    fail("invalid_diagnosis", "diagnosis_codes",
         as_mask(dx.notna()) & ~as_mask(by_value(dx, lambda v: v.str.fullmatch(pattern))),
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
    return CheckedRows(typed, reason, column, detail, repairs,
                       cents={c: a["cents"] for c, a in amounts.items()},
                       parsed={c: a["parsed"] for c, a in amounts.items()},
                       unparsed={c: a["unparsed"] for c, a in amounts.items()})
