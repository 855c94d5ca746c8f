"""The small bundled tables a price is looked up in, besides the RVUs and GPCIs.

- **Conversion factors by date**: ``data/reference/conversion_factors.csv`` (2022-2026
  with the 2024 change on March 9; 2026 has one CF for qualifying APM participants and
  one for everyone else, the latter by default). A year alone stands for 1 July of
  that year (so 2024 means the CF from 2024-03-09, 33.2875): :func:`conversion_factor`.
- **MAC jurisdictions** by the first two digits of the MAC number:
  ``data/reference/mac_jurisdictions.csv``, :func:`mac_jurisdiction`.
- **Payment localities**: a state with one payment locality needs nothing else; a state
  with several (CA, TX, NY, ...) needs the locality number. ``state="US"`` prices
  nationally, all GPCIs 1.0: :func:`state_locality`.
- **Facility places of service**: ``data/reference/pos_facility.csv``, the CMS settings
  paid at the PFS facility rate (:func:`facility_places_of_service`).

Each file is read once, on first use. Sources: the ``source`` column of each file.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd

from analysis.errors import InputError, first_bad_row
from analysis.paths import reference_file
from analysis.pricing.bundled import load_gpci
from analysis.pricing.gpci import GPCI_COLUMNS

__all__ = [
    "NATIONAL_STATES",
    "as_dates",
    "conversion_factor",
    "conversion_factors",
    "facility_places_of_service",
    "facility_pos_codes",
    "mac_jurisdiction",
    "mac_jurisdictions",
    "national_locality",
    "normalize_locality",
    "normalize_mac",
    "state_locality",
]

NATIONAL_STATES = frozenset({"US", "USA", "NATIONAL"})
"""``state`` values that price nationally (all GPCIs 1.0)."""

# ----------------------------------------------------------- conversion factors


@cache
def _cf_table() -> pd.DataFrame:
    table = pd.read_csv(reference_file("conversion_factors.csv"), dtype=str)
    return table.assign(
        start_date=pd.to_datetime(table["start_date"]),
        end_date=pd.to_datetime(table["end_date"]),
        conversion_factor=table["conversion_factor"].astype(float),
    )


def conversion_factors() -> pd.DataFrame:
    """The conversion factor table: ``start_date, end_date, apm_status,
    conversion_factor, basis, source`` (``data/reference/conversion_factors.csv``).

    ``apm_status`` is ``all``, or for 2026 ``non_qualifying`` / ``qualifying``
    (qualifying APM participants); ``basis`` is V (read in a primary file) or S
    (several secondary sources agree).
    """
    return _cf_table().copy()


def as_dates(values: pd.Series, *, column: str) -> pd.Series:
    """Dates from dates, ISO strings or years (a year stands for 1 July).

    A value that is none of these raises :class:`~analysis.errors.InputError` naming
    ``column``; missing values stay missing (``NaT``).

    >>> as_dates(pd.Series([2024, None]), column="year").tolist()
    [Timestamp('2024-07-01 00:00:00'), NaT]
    """
    s = pd.Series(values, copy=False)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.tz_localize(None) if s.dt.tz is not None else s
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        years = s.astype("Float64")
        ok = years.isna() | (years.mod(1).eq(0) & years.between(1900, 2999))
        if not ok.fillna(False).all():
            i = first_bad_row(~ok.fillna(False).to_numpy(dtype=bool))
            raise InputError("not a year", column=column, value=s.iloc[i])
        text = years.astype("Int64").astype("string") + "-07-01"
        return pd.to_datetime(text, errors="coerce")
    text = s.astype("string").str.strip()
    text = text.mask(text.str.fullmatch(r"\d{4}").fillna(False).astype(bool), text + "-07-01")
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = text.notna() & text.ne("") & parsed.isna()
    if bad.any():
        i = first_bad_row(bad)
        raise InputError("not a date (YYYY-MM-DD) or year", column=column, value=s.iloc[i])
    return parsed


def _show_date(value: object) -> object:
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return f"{value:%Y-%m-%d}"
    return value


def conversion_factor(dates, *, qualifying_apm: bool = False) -> pd.Series | float:
    """The PFS conversion factor (USD per RVU) in effect on each date.

    Parameters
    ----------
    dates : date, str, int year, or Series of them
        Service dates; a year alone stands for 1 July of that year.
    qualifying_apm : bool, default False
        From 2026, use the CF for qualifying APM participants (33.5675) instead of
        the one for everyone else (33.4009).

    Returns
    -------
    float for one date, else a float Series with the input's index.

    Raises
    ------
    InputError
        A missing or unparseable date, or one outside the years in
        ``data/reference/conversion_factors.csv`` (2022-2026).

    Examples
    --------
    >>> conversion_factor("2024-03-08"), conversion_factor("2024-03-09")
    (32.7442, 33.2875)
    >>> conversion_factor(2026), conversion_factor(2026, qualifying_apm=True)
    (33.4009, 33.5675)
    """
    scalar = not isinstance(dates, (pd.Series, pd.Index, np.ndarray, list, tuple))
    series = pd.Series([dates] if scalar else dates)
    if isinstance(dates, pd.Series):
        series.index = dates.index
    when = as_dates(series, column="service_date")
    status = "qualifying" if qualifying_apm else "non_qualifying"
    result = np.full(len(when), np.nan)
    values = when.dt.normalize().to_numpy(dtype="datetime64[ns]")  # a time of day is ignored
    for row in _cf_table().itertuples(index=False):
        if row.apm_status not in ("all", status):
            continue
        hit = (values >= np.datetime64(row.start_date)) & (values <= np.datetime64(row.end_date))
        result[hit] = row.conversion_factor
    missing = np.isnan(result)
    if missing.any():
        i = first_bad_row(missing)
        table = _cf_table()
        known = f"{table['start_date'].min():%Y-%m-%d} to {table['end_date'].max():%Y-%m-%d}"
        raise InputError(
            f"no Medicare PFS conversion factor for this date (known: {known}; add a "
            "row to data/reference/conversion_factors.csv for other years)",
            column="service_date",
            value="missing" if pd.isna(values[i]) else _show_date(series.iloc[i]),
        )
    if scalar:
        return float(result[0])
    return pd.Series(result, index=series.index, name="conversion_factor")


# ---------------------------------------------------------- MACs and localities


@cache
def _mac_table() -> pd.DataFrame:
    return pd.read_csv(reference_file("mac_jurisdictions.csv"), dtype=str)


def mac_jurisdictions() -> pd.DataFrame:
    """A/B MAC jurisdictions by the first two digits of the MAC number:
    ``mac_prefix, jurisdiction, contractor, states, source``
    (``data/reference/mac_jurisdictions.csv``)."""
    return _mac_table().copy()


def normalize_mac(values: pd.Series) -> pd.Series:
    """MAC numbers as 5-digit strings where a spreadsheet stripped leading zeros
    (``4412`` -> ``04412``) or added ``.0``; anything else is left for the caller to
    reject."""
    s = pd.Series(values, copy=False).astype("string").str.strip()
    s = s.str.replace(r"\.0*$", "", regex=True)
    short = s.str.fullmatch(r"\d{1,4}").fillna(False).astype(bool)
    return s.mask(short, s.str.zfill(5))


def mac_jurisdiction(mac):
    """The A/B MAC jurisdiction (``JH``, ``JL``, ``JN``, ``JM``, ...) of a MAC number.

    MAC numbers that lost their leading zero (``4412``) or gained ``.0`` are
    accepted. Works on one value (returns str) or a Series (returns a string
    Series; missing stays missing).

    Examples
    --------
    >>> mac_jurisdiction("11502"), mac_jurisdiction(4412), mac_jurisdiction("12502")
    ('JM', 'JH', 'JL')
    """
    scalar = not isinstance(mac, pd.Series)
    s = normalize_mac(pd.Series([mac]) if scalar else mac)
    mapping = _mac_table().set_index("mac_prefix")["jurisdiction"]
    result = s.str[:2].map(mapping).astype("string")
    bad = s.notna() & (~s.str.fullmatch(r"\d{5}").fillna(False) | result.isna())
    if bad.any():
        i = first_bad_row(bad)
        raise InputError(
            "not a known A/B MAC number (5 digits; see data/reference/mac_jurisdictions.csv)",
            column="mac",
            value=(mac if scalar else mac.iloc[i]),
        )
    if scalar:
        if result.isna().iloc[0]:
            raise InputError("missing MAC number", column="mac", value=mac)
        return str(result.iloc[0])
    return result


def national_locality() -> dict:
    """The locality row that prices nationally: no MAC or locality, all GPCIs 1.0."""
    return {
        "mac": pd.NA,
        "state": "US",
        "locality": pd.NA,
        "locality_name": "NATIONAL (all GPCIs 1.0)",
        "gpci_work": 1.0,
        "gpci_pe": 1.0,
        "gpci_mp": 1.0,
    }


def normalize_locality(values: pd.Series) -> pd.Series:
    """Locality numbers as 2-digit strings (``1``, ``1.0`` -> ``01``); blank is missing."""
    s = pd.Series(values, copy=False).astype("string").str.strip()
    s = s.str.replace(r"\.0*$", "", regex=True).mask(lambda x: x.eq(""))
    short = s.str.fullmatch(r"\d").fillna(False).astype(bool)
    return s.mask(short, s.str.zfill(2))


def state_locality(
    state: str, *, locality: str | int | None = None, gpci: pd.DataFrame | None = None
) -> pd.Series:
    """The payment locality (MAC, locality, GPCIs, jurisdiction) of a state.

    Parameters
    ----------
    state : str
        Two-letter state, or ``"US"`` for national (all GPCIs 1.0).
    locality : str or int, optional
        Locality number; required when the state has several localities
        (``"1"``, ``1`` and ``"01"`` are the same).
    gpci : DataFrame, optional
        From :func:`analysis.pricing.load_gpci` (default: the bundled 2025 table).

    Returns
    -------
    Series
        ``mac, state, locality, locality_name, gpci_work, gpci_pe, gpci_mp,
        jurisdiction`` (MAC and jurisdiction missing for national).

    Examples
    --------
    >>> state_locality("NC")[["mac", "locality", "jurisdiction"]].tolist()
    ['11502', '00', 'JM']
    """
    gpci = load_gpci() if gpci is None else gpci
    st = str(state).strip().upper()
    if st in NATIONAL_STATES:
        row = pd.Series(national_locality())
        return pd.concat([row, pd.Series({"jurisdiction": pd.NA})])
    rows = gpci.loc[gpci["state"].eq(st)]
    if rows.empty:
        raise InputError(
            "no payment locality for this state in the GPCI file (use a 2-letter state, "
            "or US for national)",
            file=gpci.attrs.get("source"),
            column="state",
            value=state,
        )
    if locality is None or (isinstance(locality, str) and not locality.strip()):
        if len(rows) > 1:
            options = ", ".join(
                f"{a} {b}" for a, b in zip(rows["locality"], rows["locality_name"], strict=True)
            )
            raise InputError(
                f"{st} has {len(rows)} payment localities; give one ({options})",
                column="locality",
                value=state,
            )
        row = rows.iloc[0]
    else:
        loc = normalize_locality(pd.Series([str(locality)])).iloc[0]
        match = rows.loc[rows["locality"].eq(loc)]
        if match.empty:
            options = ", ".join(rows["locality"])
            raise InputError(
                f"no such locality in {st} (localities: {options})",
                column="locality",
                value=locality,
            )
        row = match.iloc[0]
    row = row[list(GPCI_COLUMNS)]
    return pd.concat([row, pd.Series({"jurisdiction": mac_jurisdiction(row["mac"])})])


# ---------------------------------------------------- facility places of service


@cache
def _pos_table() -> pd.DataFrame:
    return pd.read_csv(reference_file("pos_facility.csv"), dtype=str)


def facility_places_of_service() -> pd.DataFrame:
    """The CMS place-of-service codes paid at the PFS facility rate:
    ``pos, name, setting, source`` (``data/reference/pos_facility.csv``)."""
    return _pos_table().copy()


@cache
def facility_pos_codes() -> frozenset[str]:
    """The 2-digit place-of-service codes of the facility setting."""
    table = _pos_table()
    return frozenset(table.loc[table["setting"].eq("facility"), "pos"])
