"""Medicare PFS allowed amounts of claim lines: :func:`price` and :func:`round_cents`.

The Medicare allowed amount of a service line is

    ``[(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF``

for its CPT/HCPCS code and component, its setting (the facility setting uses the
facility PE RVU), its payment locality (the GPCIs) and its date (the conversion factor,
CF). The unrounded product is rounded half up to the cent (:func:`round_cents`).
:func:`price` computes from the relative values and GPCIs it is given (a
:class:`~analysis.pricing.bundled.FeeSchedule`; the bundled one is
:func:`~analysis.pricing.bundled.bundled_schedule`), so the caller decides which year's
files price its lines.

**Not payable** (``payable`` false, ``medicare_usd`` NaN, reason in ``note``): the PE
RVU of the setting is marked ``NA`` in the relative value file (e.g. the global and -TC
rows of 76376/76377 in a facility, where the facility's own payment, e.g. OPPS, covers
the technical work and only -26 is paid under the PFS); the PFS status code is not A,
R or T (e.g. B bundled, C carrier-priced, I not valid for Medicare, N non-covered, X
statutory exclusion); or the code/modifier is not in the file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.codes import normalize_cpt
from analysis.errors import InputError, first_bad_row
from analysis.pricing.bundled import select_vintage, vintage_for
from analysis.pricing.components import (
    COMPONENTS,
    MODIFIER_OF_COMPONENT,
    SETTINGS,
    component_from_modifiers,
    setting_from_pos,
)
from analysis.pricing.gpci import GPCI_COLUMNS
from analysis.pricing.tables import (
    NATIONAL_STATES,
    as_dates,
    conversion_factor,
    national_locality,
    normalize_locality,
    normalize_mac,
)

__all__ = [
    "NOTE_FACILITY_NA",
    "NOTE_NON_FACILITY_NA",
    "NOTE_NOT_IN_FILE",
    "PAYABLE_STATUS_CODES",
    "price",
    "round_cents",
]

PAYABLE_STATUS_CODES = frozenset({"A", "R", "T"})
"""PFS status codes paid under the fee schedule: A active, R restricted coverage,
T paid only when no other service is billed (RVU file README)."""

NOTE_FACILITY_NA = (
    "not payable under the PFS in a facility (facility PE RVU 'NA'): the facility's "
    "own payment (e.g. OPPS) covers the technical component, so only -26 is paid"
)
NOTE_NON_FACILITY_NA = (
    "not payable under the PFS in a non-facility setting (non-facility PE RVU 'NA')"
)
NOTE_NOT_IN_FILE = "code and modifier not in the PFS relative value file"

# Columns of ``lines`` that determine a price; lines equal on these are priced once.
_PRICE_INPUTS = (
    "cpt_code", "component", "modifiers", "setting", "place_of_service", "state", "mac",
    "locality", "service_date", "year",
)  # fmt: skip
_MULTIPLICITY = "__n_lines"


def round_cents(amounts) -> np.ndarray:
    """Round USD amounts half up to the cent, as published PFS amounts are.

    The product is first rounded to 1e-6 cent so that binary floating-point error
    (``x.xx4999999``) cannot move an exact half cent down.

    Examples
    --------
    >>> round_cents([23.37358, 0.125, 8.78095]).tolist()
    [23.37, 0.13, 8.78]
    """
    a = np.asarray(amounts, dtype=float)
    return np.floor(np.round(a * 100.0, 6) + 0.5) / 100.0


def _bad_row(mask: np.ndarray, lines: pd.DataFrame) -> tuple[int, object, int]:
    """Position, index label and number of lines (with multiplicity) where ``mask``."""
    i = first_bad_row(mask)
    weight = lines[_MULTIPLICITY].to_numpy() if _MULTIPLICITY in lines else np.ones(len(lines))
    return i, lines.index[i], int(weight[mask].sum())


def _known_values(
    values: pd.Series,
    raw: pd.Series,
    lines: pd.DataFrame,
    *,
    column: str,
    allowed: tuple[str, ...],
    expected: str,
) -> pd.Series:
    """``values`` (normalized ``raw``) if all are in ``allowed``, else InputError."""
    bad = ~values.isin(allowed).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i, label, count = _bad_row(bad, lines)
        raise InputError(
            f"{column} must be {expected} (line index {label!r}; {count} such lines)",
            column=column,
            value=raw.iloc[i],
        )
    return values


def _line_components(lines: pd.DataFrame) -> pd.Series:
    if "component" in lines:
        raw = pd.Series(lines["component"], copy=False).astype("string").str.strip()
        comp = raw.str.upper().str.lstrip("-")
        comp = comp.mask(comp.isna() | comp.isin(["", "GLOBAL"]), "global")
        return _known_values(comp, raw, lines, column="component", allowed=COMPONENTS,
                             expected="'global', '26' or 'TC'")
    if "modifiers" in lines:
        return component_from_modifiers(lines["modifiers"])
    return pd.Series("global", index=lines.index, dtype="string")


def _line_settings(lines: pd.DataFrame) -> pd.Series:
    if "setting" in lines:
        raw = pd.Series(lines["setting"], copy=False).astype("string").str.strip()
        key = raw.str.lower().str.replace(r"[\s-]+", "_", regex=True)
        setting = key.replace({"f": "facility", "o": "non_facility", "nonfacility": "non_facility"})
        return _known_values(setting, raw, lines, column="setting", allowed=SETTINGS,
                             expected="'facility' or 'non_facility'")
    if "place_of_service" in lines:
        return setting_from_pos(lines["place_of_service"])
    return pd.Series("non_facility", index=lines.index, dtype="string")


def _line_dates(lines: pd.DataFrame) -> pd.Series:
    for column in ("service_date", "year"):
        if column in lines:
            when = as_dates(lines[column], column=column)
            missing = when.isna().to_numpy(dtype=bool)
            if missing.any():
                i, label, count = _bad_row(missing, lines)
                raise InputError(
                    f"missing {column} (line index {label!r}; {count} such lines)",
                    column=column,
                )
            return when
    raise InputError(
        "lines need a service_date or year column to choose the conversion factor",
        column="service_date",
    )


def _line_gpcis(lines: pd.DataFrame, gpci: pd.DataFrame) -> pd.DataFrame:
    """GPCIs per line, from ``mac`` + ``locality`` or from ``state`` (+ ``locality``)."""
    keys = list(GPCI_COLUMNS)
    index = lines.index
    source = gpci.attrs.get("source")
    if "mac" in lines and "locality" in lines and "state" not in lines:
        left = pd.DataFrame({
            "mac": normalize_mac(lines["mac"]).to_numpy(),
            "locality": normalize_locality(lines["locality"]).to_numpy(),
        }).astype("string")  # fmt: skip
        merged = left.merge(gpci[keys], on=["mac", "locality"], how="left", validate="many_to_one")
        bad = merged["gpci_work"].isna().to_numpy(dtype=bool)
        if bad.any():
            i, label, count = _bad_row(bad, lines)
            raise InputError(
                f"no such MAC and locality in the GPCI file (line index {label!r}; "
                f"{count} such lines)",
                file=source,
                column="mac, locality",
                value=f"{lines['mac'].iloc[i]} {lines['locality'].iloc[i]}",
            )
        return merged[keys]
    if "state" not in lines:
        raise InputError(
            "lines need a state column (US for national) or mac and locality columns",
            column="state",
        )
    state = pd.Series(lines["state"], copy=False).astype("string").str.strip().str.upper()
    missing = (state.isna() | state.eq("")).to_numpy(dtype=bool)
    if missing.any():
        i, label, count = _bad_row(missing, lines)
        raise InputError(
            f"missing state (line index {label!r}; {count} such lines): give the practice "
            "state, or US to price nationally",
            column="state",
        )
    locality = (
        normalize_locality(lines["locality"])
        if "locality" in lines
        else pd.Series(pd.NA, index=index, dtype="string")
    )
    national = state.isin(NATIONAL_STATES).to_numpy(dtype=bool)
    counts = gpci["state"].value_counts()
    known = state.isin(counts.index).to_numpy(dtype=bool)
    bad = ~national & ~known
    if bad.any():
        i, label, count = _bad_row(bad, lines)
        raise InputError(
            f"no payment locality for this state in the GPCI file (line index {label!r}; "
            f"{count} such lines); use a 2-letter state, or US for national",
            file=source,
            column="state",
            value=lines["state"].iloc[i],
        )
    n_localities = state.map(counts).fillna(0).to_numpy(dtype=int)
    need = ~national & locality.isna().to_numpy(dtype=bool)
    ambiguous = need & (n_localities > 1)
    if ambiguous.any():
        i, label, count = _bad_row(ambiguous, lines)
        st = state.iloc[i]
        options = ", ".join(gpci.loc[gpci["state"].eq(st), "locality"])
        raise InputError(
            f"{st} has several payment localities ({options}); add a locality column "
            f"(line index {label!r}; {count} such lines)",
            column="locality",
            value=st,
        )
    single = gpci.loc[gpci["state"].map(counts).eq(1)].set_index("state")["locality"]
    locality = locality.mask(pd.Series(need, index=index), state.map(single))
    left = pd.DataFrame({
        "state": state.mask(pd.Series(national, index=index)).to_numpy(),
        "locality": locality.to_numpy(),
    }).astype("string")  # fmt: skip
    merged = left.merge(gpci[keys], on=["state", "locality"], how="left", validate="many_to_one")
    bad = ~national & merged["gpci_work"].isna().to_numpy(dtype=bool)
    if bad.any():
        i, label, count = _bad_row(bad, lines)
        raise InputError(
            f"no such locality in this state in the GPCI file (line index {label!r}; "
            f"{count} such lines)",
            file=source,
            column="locality",
            value=f"{state.iloc[i]} {locality.iloc[i]}",
        )
    nat = national_locality()
    national_s = pd.Series(national)
    for name, value in nat.items():
        if name in ("gpci_work", "gpci_pe", "gpci_mp"):
            merged[name] = merged[name].mask(national_s, value)
        else:
            merged[name] = merged[name].astype("string").mask(national_s, value)
    return merged[keys]


def price(
    lines: pd.DataFrame,
    rvu: pd.DataFrame,
    gpci: pd.DataFrame,
    *,
    qualifying_apm: bool = False,
) -> pd.DataFrame:
    """Medicare PFS allowed amount of each line, vectorized.

    ``medicare_usd = round_half_up([(work_rvu x gpci_work) + (pe_rvu x gpci_pe) +
    (mp_rvu x gpci_mp)] x conversion_factor, cents)``, where ``pe_rvu`` is the
    facility PE RVU in the facility setting and the non-facility PE RVU otherwise.

    Parameters
    ----------
    lines : DataFrame
        ``cpt_code``; ``component`` ("global" | "26" | "TC"; or ``modifiers``, read
        with :func:`component_from_modifiers`; neither: global); ``setting``
        ("facility" | "non_facility", also PUF-style "F"/"O"; or
        ``place_of_service``, read with :func:`setting_from_pos`; neither:
        non-facility); ``state`` (``"US"`` = national, all GPCIs 1.0) with
        ``locality`` where the state has several, or ``mac`` + ``locality``; and
        ``service_date`` or ``year`` (a year stands for 1 July).
    rvu, gpci : DataFrame
        From :func:`~analysis.pricing.bundled.load_rvu` /
        :func:`~analysis.pricing.bundled.load_gpci`, or the two fields of a
        :class:`~analysis.pricing.bundled.FeeSchedule` (``price(lines, *schedule)``).
        The RVUs of the ``rvu`` table are used whatever the date; a line dated in
        another year than the RVU file says so in ``note``.
    qualifying_apm : bool, default False
        2026 on: price with the qualifying APM participant conversion factor.

    Returns
    -------
    DataFrame
        Same index as ``lines``: ``cpt_code, component, setting, mac, state,
        locality, locality_name, work_rvu, pe_rvu, mp_rvu, gpci_work, gpci_pe,
        gpci_mp, conversion_factor, medicare_usd`` (NaN where not payable),
        ``payable`` (bool) and ``note`` ("" when payable and nothing to say;
        otherwise why not, e.g. facility global/TC not paid under the PFS).

    Raises
    ------
    InputError
        Missing columns, an unknown state or locality, a state with several
        localities and no locality, an unknown component/setting, a date outside the
        known conversion factors.

    Examples
    --------
    >>> from analysis.pricing import bundled_schedule
    >>> lines = pd.DataFrame({"cpt_code": ["76376"] * 3, "component": ["global", "26", "TC"],
    ...                       "setting": "non_facility", "state": "NC",
    ...                       "service_date": pd.Timestamp("2025-06-01")})
    >>> price(lines, *bundled_schedule())["medicare_usd"].tolist()
    [23.37, 8.78, 14.59]
    """
    if "cpt_code" not in lines:
        raise InputError("lines need a cpt_code column", column="cpt_code")
    inputs = [c for c in _PRICE_INPUTS if c in lines.columns]
    if len(lines) <= 1000:
        return _price_distinct(lines[inputs], rvu, gpci, qualifying_apm)
    group = lines[inputs].groupby(inputs, dropna=False, sort=False).ngroup().to_numpy()
    _, first, inverse, counts = np.unique(
        group, return_index=True, return_inverse=True, return_counts=True
    )
    distinct = lines[inputs].iloc[first].assign(**{_MULTIPLICITY: counts})
    priced = _price_distinct(distinct, rvu, gpci, qualifying_apm)
    return priced.iloc[inverse].set_axis(lines.index)


def _price_distinct(
    lines: pd.DataFrame, rvu: pd.DataFrame, gpci: pd.DataFrame, qualifying_apm: bool
) -> pd.DataFrame:
    """Price each line with the file years (vintages) of its service year."""
    when = _line_dates(lines)
    years = when.dt.year.to_numpy(dtype=np.int64)
    rvu_at, gpci_at = vintage_for(years, rvu), vintage_for(years, gpci)
    pairs = np.unique(np.column_stack([rvu_at, gpci_at]), axis=0)
    if len(pairs) <= 1:
        r, g = pairs[0] if len(pairs) else (-1, -1)
        return _price_one(lines, when, select_vintage(rvu, r), select_vintage(gpci, g),
                          qualifying_apm)  # fmt: skip
    parts, positions = [], []
    for r, g in pairs:
        at = np.flatnonzero((rvu_at == r) & (gpci_at == g))
        parts.append(_price_one(lines.iloc[at], when.iloc[at], select_vintage(rvu, r),
                                select_vintage(gpci, g), qualifying_apm))  # fmt: skip
        positions.append(at)
    order = np.argsort(np.concatenate(positions), kind="stable")
    return pd.concat(parts).iloc[order].set_axis(lines.index)


def _price_one(
    lines: pd.DataFrame,
    when: pd.Series,
    rvu: pd.DataFrame,
    gpci: pd.DataFrame,
    qualifying_apm: bool,
) -> pd.DataFrame:
    index = lines.index
    code = normalize_cpt(lines["cpt_code"])
    component = _line_components(lines)
    setting = _line_settings(lines)
    cf = conversion_factor(when, qualifying_apm=qualifying_apm).to_numpy(dtype=float)
    geo = _line_gpcis(lines, gpci)

    rvu_cols = [
        "cpt_code", "modifier", "status_code", "not_used_for_medicare_payment", "work_rvu",
        "pe_rvu_non_facility", "pe_rvu_facility", "mp_rvu", "non_facility_na", "facility_na",
    ]  # fmt: skip
    keys = pd.DataFrame({
        "cpt_code": code.to_numpy(),
        "modifier": component.map(MODIFIER_OF_COMPONENT).to_numpy(),
    }).astype("string")  # fmt: skip
    table = rvu[rvu_cols].astype({"cpt_code": "string", "modifier": "string"})
    merged = keys.merge(table, on=["cpt_code", "modifier"], how="left", validate="many_to_one")

    found = merged["status_code"].notna().to_numpy(dtype=bool)
    facility = setting.eq("facility").to_numpy(dtype=bool)
    status = merged["status_code"].astype("string").fillna("").to_numpy(dtype=object)
    status_ok = np.isin(status, list(PAYABLE_STATUS_CODES))
    not_used = merged["not_used_for_medicare_payment"].astype("string").fillna("").ne("")
    not_used = not_used.to_numpy(dtype=bool)
    fac_na = merged["facility_na"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    nonfac_na = merged["non_facility_na"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    setting_na = np.where(facility, fac_na, nonfac_na)

    work = merged["work_rvu"].to_numpy(dtype=float, na_value=np.nan)
    pe = np.where(
        facility,
        merged["pe_rvu_facility"].to_numpy(dtype=float, na_value=np.nan),
        merged["pe_rvu_non_facility"].to_numpy(dtype=float, na_value=np.nan),
    )
    mp = merged["mp_rvu"].to_numpy(dtype=float, na_value=np.nan)
    gw, gp, gm = (geo[c].to_numpy(dtype=float) for c in ("gpci_work", "gpci_pe", "gpci_mp"))
    amount = round_cents((work * gw + pe * gp + mp * gm) * cf)

    payable = found & status_ok & ~not_used & ~setting_na & np.isfinite(amount)
    note = np.full(len(lines), "", dtype=object)
    note[found & setting_na & facility] = NOTE_FACILITY_NA
    note[found & setting_na & ~facility] = NOTE_NON_FACILITY_NA
    note[found & status_ok & not_used] = "RVUs marked not used for Medicare payment"
    status_reason = found & ~status_ok
    for s in np.unique(status[status_reason]):
        label = {"C": "carrier-priced (no national RVUs)"}.get(s, "not paid under the PFS")
        note[status_reason & (status == s)] = f"status code {s}: {label}"
    note[~found] = np.where(code.isna().to_numpy(dtype=bool)[~found], "missing CPT code",
                            NOTE_NOT_IN_FILE)  # fmt: skip
    # Say which file years priced a line when they are not its service year.
    years = when.dt.year.to_numpy()
    rvu_year, gpci_year = rvu.attrs.get("year"), gpci.attrs.get("year")
    national = geo["mac"].isna().to_numpy(dtype=bool)
    for y in np.unique(years[found]):
        for differs, at, said in (
            (rvu_year is not None and y != rvu_year, found & (years == y),
             f"RVUs of the {rvu_year} file priced with the {y} conversion factor"),
            (gpci_year is not None and y != gpci_year, found & (years == y) & ~national,
             f"GPCIs of the {gpci_year} file (no {y} GPCI file given)"),
        ):  # fmt: skip
            if differs:
                note[at] = np.where(note[at] == "", said, note[at] + "; " + said)

    return pd.DataFrame(
        {
            "cpt_code": code.to_numpy(),
            "component": component.to_numpy(),
            "setting": setting.to_numpy(),
            "mac": geo["mac"].to_numpy(),
            "state": geo["state"].to_numpy(),
            "locality": geo["locality"].to_numpy(),
            "locality_name": geo["locality_name"].to_numpy(),
            "work_rvu": work,
            "pe_rvu": pe,
            "mp_rvu": mp,
            "gpci_work": gw,
            "gpci_pe": gp,
            "gpci_mp": gm,
            "conversion_factor": cf,
            "rvu_vintage": pd.array(np.full(len(lines), rvu_year), dtype="Int64"),
            "gpci_vintage": pd.array(np.where(national, None, gpci_year), dtype="Int64"),
            "medicare_usd": np.where(payable, amount, np.nan),
            "payable": payable,
            "note": note,
        },
        index=index,
    ).astype({c: "string" for c in (
        "cpt_code", "component", "setting", "mac", "state", "locality", "locality_name", "note",
    )})  # fmt: skip

