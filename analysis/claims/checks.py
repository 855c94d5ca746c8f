"""The row checks on text: repair what is certain, then give each failing row its reason.

:func:`check_rows` takes a batch of raw text in the canonical columns and runs the
repairs and quarantine reasons 2-17 of the rule table (:mod:`analysis.claims.rules`)
in its order, column by column: each row gets the first reason that fails, and a bit
mask of the repairs it needed. The duplicate reasons (18, 19) need every row of a key
and are applied afterwards (:mod:`analysis.claims.duplicates`); ``malformed_row`` (1)
is found by the CSV reader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.claims.fields import as_mask, extract, parse_cents, parse_dates, parse_whole
from analysis.claims.rules import (
    AMOUNT_COLUMNS,
    CODE_PATTERNS,
    REPAIR_BIT,
    RULES,
    anchored,
    state_codes,
)
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
    return np.logical_and.reduce(
        [as_mask(frame[c].fillna("").str.strip().eq("")) for c in present_cols])


def _quote(values: pd.Series) -> np.ndarray:
    return ("'" + values.fillna("").astype(str) + "'").to_numpy(dtype=object)


def _on(slow: np.ndarray, sub_mask) -> np.ndarray:
    """Scatter a mask computed on the rows ``slow`` back to full length."""
    out = np.zeros(len(slow), dtype=bool)
    out[slow] = as_mask(sub_mask)
    return out


def check_rows(raw: pd.DataFrame, present: frozenset[str]) -> CheckedRows:
    """Repair and check a batch of raw strings (vectorised).

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
        nonlocal repairs
        repairs = repairs | np.where(as_mask(mask), REPAIR_BIT[kind], 0)

    def fail(name: str, col: str, mask, message: Callable[[np.ndarray], Any]) -> None:
        m = as_mask(mask) & (reason == None)  # noqa: E711 - elementwise on an object array
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
        control = as_mask(s.str.contains(RULES["control_character"].pattern, regex=True))
        if control.any():
            fail("control_character", c, control,
                 lambda m, s=s, c=c: np.array(
                     [f"{c} '{v.encode('unicode_escape').decode('ascii')}' holds a control "
                      "character" for v in s[m]], dtype=object))
        stripped = s.str.strip()
        repaired("whitespace_stripped", s.ne(stripped))
        token = as_mask(stripped.isin(NULL_TOKENS))
        repaired("null_token", token)
        val[c] = stripped.mask(pd.Series(token | as_mask(stripped.eq("")), index=idx))

    # 2. missing required fields
    missing = {c: as_mask(val[c].isna()) for c in REQUIRED_COLUMNS}
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
    slow = as_mask(s.notna()) & ~as_mask(s.str.fullmatch(CODE_PATTERNS["cpt_code"]))
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
         (as_mask(cpt.notna()) & ~as_mask(cpt.str.fullmatch(CODE_PATTERNS["cpt_code"])))
         | lost_digit,
         lambda m: _quote(raw["cpt_code"][m]) + np.where(
             lost_digit[m], " has fewer than 5 digits and is not an anesthesia code "
             f"({low}-{high}) missing its leading zeros", " is not a 5-character CPT/HCPCS code"))

    # 4. service date
    d = parse_dates(val["service_date"])

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
    for kind, key in (("date_us_format", "us"), ("date_compact", "compact"),
                      ("date_zero_padded", "unpadded"), ("date_time_dropped", "time")):
        repaired(kind, d[key] & d["ok"])

    # 5-7. line number and units: whole numbers, a spreadsheet's ".0" dropped
    ln = parse_whole(val["line_number"], "line_number")
    repaired("numeric_suffix_dropped", ln["suffix"])
    line_number = ln["number"]
    fail("bad_line_number", "line_number",
         ln["present"] & ~(ln["ok"] & (line_number >= RULES["bad_line_number"].limit)),
         lambda m: _quote(raw["line_number"][m]) + " is not a whole number >= 1")
    u = parse_whole(val["units"], "units")
    repaired("numeric_suffix_dropped", u["suffix"])
    units = u["number"]
    negative_units = u["present"] & ~u["ok"] & as_mask(
        val["units"].str.fullmatch(RULES["units_not_positive"].pattern))
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
    cap = RULES["amount_above_cap"].limit
    for col, a in amounts.items():
        fail("amount_above_cap", col, a["parsed"] & (a["cents"] > cap * 100),
             lambda m, col=col: _quote(raw[col][m]) + f" is above ${cap:,} for one line")

    # 10. modifiers
    s = val["modifiers"]
    mods = s
    slow = as_mask(s.notna()) & ~as_mask(s.str.fullmatch(CODE_PATTERNS["modifiers"]))
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
         as_mask(mods.notna()) & ~as_mask(mods.str.fullmatch(CODE_PATTERNS["modifiers"])),
         lambda m: _quote(raw["modifiers"][m]) + " holds a modifier that is not 2 characters")

    # 11. place of service
    s = val["place_of_service"]
    pos_ok = as_mask(s.str.fullmatch(CODE_PATTERNS["place_of_service"]))
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
    ok = as_mask(s.str.fullmatch(CODE_PATTERNS["rendering_npi"]))
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
         as_mask(npi.notna()) & ~valid_npi(npi).to_numpy(),
         lambda m: _quote(raw["rendering_npi"][m]) + " fails the NPI check digit")

    # 14. state
    s = val["state"]
    codes = state_codes()
    state = s
    slow = as_mask(s.notna()) & ~as_mask(s.isin(codes))
    if slow.any():
        up = s[slow].str.upper()
        repaired("upper_cased", _on(slow, up.ne(s[slow]) & up.isin(codes)))
        state = s.mask(pd.Series(slow, index=idx), up)
    fail("invalid_state", "state", as_mask(state.notna()) & ~as_mask(state.isin(codes)),
         lambda m: _quote(raw["state"][m]) + " is not a USPS state code")

    # 15. diagnoses
    s = val["diagnosis_codes"]
    pattern = CODE_PATTERNS["diagnosis_codes"]
    dx = s
    slow = as_mask(s.notna()) & ~as_mask(s.str.fullmatch(pattern))
    if slow.any():
        sub = s[slow]
        up = sub.str.upper()
        fixed = up.str.replace(RULES["diagnosis_reformatted"].pattern, ";",
                               regex=True).str.strip(";")
        repaired("upper_cased", _on(slow, sub.ne(up)))
        repaired("diagnosis_reformatted", _on(slow, fixed.ne(up)))
        dx = s.mask(pd.Series(slow, index=idx), fixed.mask(fixed.eq("")))
    fail("invalid_diagnosis", "diagnosis_codes",
         as_mask(dx.notna()) & ~as_mask(dx.str.fullmatch(pattern)),
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
