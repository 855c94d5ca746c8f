"""The CMS fee schedule files bundled with rad3d, each read once, by year.

The only module that knows the default file names. Relative value files
(:data:`BUNDLED_RVU_FILES`): ``data/reference/pprrvu2025_oct_imaging.csv`` (the real title
and header lines of RVU25D, 31 columns, and its CT/MR/3D rows) and
``pprrvu2026_jul_nonqpp_imaging.csv`` (RVU26C, 32 columns). GPCI tables
(:data:`BUNDLED_GPCI_FILES`): ``data/reference/GPCI2025.csv`` (a real copy of the 2025
table whose MAC and locality numbers lost their leading zeros); no 2026 GPCI file is
shipped.

A :class:`FeeSchedule` holds one or several *vintages* (the year of each file): a table
with a ``vintage`` column stacks the files of several years, and
:func:`analysis.pricing.price` prices a line of year ``y`` with the latest vintage up to
``y`` - or, for a year before the earliest file, with the earliest one - and says which
(:func:`vintage_for`). :func:`bundled_schedule` is every bundled vintage;
:func:`fee_schedule` adds a user's files of other years (e.g. the 2026 GPCI table) to
them. :func:`load_rvu` and :func:`load_gpci` read one file: a user's, or a bundled one
(default 2025).

The bundled tables are read on first use and kept; callers get shallow copies, so
adding a column to one never changes what the next caller sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from os import PathLike
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.paths import reference_file
from analysis.pricing.gpci import read_gpci
from analysis.pricing.rvu import read_rvu

__all__ = [
    "BUNDLED_GPCI_FILES",
    "BUNDLED_RVU_FILES",
    "DEFAULT_GPCI_PATH",
    "DEFAULT_RVU_PATH",
    "VINTAGE",
    "FeeSchedule",
    "bundled_schedule",
    "fee_schedule",
    "load_gpci",
    "load_rvu",
    "select_vintage",
    "vintage_for",
    "vintages",
]

BUNDLED_RVU_FILES: dict[int, Path] = {
    2025: reference_file("pprrvu2025_oct_imaging.csv"),
    2026: reference_file("pprrvu2026_jul_nonqpp_imaging.csv"),
}
"""The bundled extracts of the PFS relative value files, by year (RVU25D, RVU26C)."""
BUNDLED_GPCI_FILES: dict[int, Path] = {2025: reference_file("GPCI2025.csv")}
"""The bundled GPCI tables (PFS final rule Addendum E), by year."""
DEFAULT_RVU_PATH = BUNDLED_RVU_FILES[2025]
"""The bundled extract of the 2025 PFS relative value file (RVU25D)."""
DEFAULT_GPCI_PATH = BUNDLED_GPCI_FILES[2025]
"""The bundled 2025 GPCI table (PFS final rule Addendum E)."""
VINTAGE = "vintage"
"""Column of a stacked table: the year of the file each row comes from."""


class FeeSchedule(NamedTuple):
    """The two CMS tables a Medicare PFS price is computed from.

    Attributes
    ----------
    rvu : DataFrame
        Relative values by code and modifier, from :func:`load_rvu` (one file, used
        for every date), or several years' files stacked with a ``vintage`` column
        (:func:`fee_schedule`).
    gpci : DataFrame
        GPCIs by MAC and locality, from :func:`load_gpci`, likewise.

    Examples
    --------
    >>> schedule = bundled_schedule()
    >>> vintages(schedule.rvu), vintages(schedule.gpci)
    ((2025, 2026), (2025,))
    """

    rvu: pd.DataFrame
    gpci: pd.DataFrame


@cache
def _bundled_rvu(year: int) -> pd.DataFrame:
    return read_rvu(BUNDLED_RVU_FILES[year])


@cache
def _bundled_gpci(year: int) -> pd.DataFrame:
    return read_gpci(BUNDLED_GPCI_FILES[year])


def _bundled_year(files: dict[int, Path], year: int | None, what: str) -> int:
    if year is None:
        return min(files)
    if year not in files:
        raise InputError(
            f"no bundled {what} for this year (bundled: {', '.join(map(str, files))}); "
            "give the CMS file's path",
            column="year",
            value=year,
        )
    return int(year)


def load_rvu(path: str | PathLike[str] | None = None, *, year: int | None = None) -> pd.DataFrame:
    """A CMS PFS relative value file: :func:`analysis.pricing.rvu.read_rvu` of ``path``.

    Parameters
    ----------
    path : path-like, optional
        The ``PPRRVU<year>_<release>.csv`` file from a CMS RVU zip. Default: a
        bundled extract (:data:`BUNDLED_RVU_FILES`), read once.
    year : int, optional
        Which bundled extract, when no path is given (default 2025).

    Returns
    -------
    DataFrame
        One row per code and modifier, columns as in :func:`~analysis.pricing.rvu.read_rvu`.

    Examples
    --------
    >>> rvu = load_rvu()
    >>> rows = rvu.loc[rvu["cpt_code"].eq("76377"), ["modifier", "work_rvu", "facility_na"]]
    >>> rows.values.tolist()
    [['', 0.79, True], ['26', 0.79, False], ['TC', 0.0, True]]
    """
    if path is None:
        return _bundled_rvu(_bundled_year(BUNDLED_RVU_FILES, year, "PFS RVU file")).copy(
            deep=False
        )
    return read_rvu(path)


def load_gpci(path: str | PathLike[str] | None = None, *, year: int | None = None) -> pd.DataFrame:
    """A CMS GPCI table: :func:`analysis.pricing.gpci.read_gpci` of ``path``.

    Parameters
    ----------
    path : path-like, optional
        The Addendum E CSV. Default: a bundled table (:data:`BUNDLED_GPCI_FILES`),
        read once.
    year : int, optional
        Which bundled table, when no path is given (default and only: 2025).

    Returns
    -------
    DataFrame
        One row per MAC and locality, columns as in :func:`~analysis.pricing.gpci.read_gpci`.

    Examples
    --------
    >>> gpci = load_gpci()
    >>> gpci.loc[gpci["state"].eq("NC"), ["mac", "locality", "gpci_pe"]].values.tolist()
    [['11502', '00', 0.926]]
    """
    if path is None:
        return _bundled_gpci(_bundled_year(BUNDLED_GPCI_FILES, year, "GPCI file")).copy(
            deep=False
        )
    return read_gpci(path)


def _stack(tables: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """One table of several years' files, each row marked with its file's year."""
    stacked = pd.concat(
        [t.assign(**{VINTAGE: year}) for year, t in sorted(tables.items())], ignore_index=True
    )
    stacked.attrs = {
        "source": "; ".join(str(t.attrs.get("source", "")) for _, t in sorted(tables.items())),
        "year": None,
        "vintages": {year: dict(t.attrs) for year, t in sorted(tables.items())},
    }
    return stacked


def _by_year(tables: Iterable[pd.DataFrame], what: str) -> dict[int, pd.DataFrame]:
    out = {}
    for table in tables:
        year = table.attrs.get("year")
        if year is None:
            raise InputError(
                f"the {what} names no year (its title or column labels), so it cannot be "
                "placed among the fee schedules by year; give it alone instead",
                file=table.attrs.get("source"),
            )
        out[int(year)] = table
    return out


@cache
def _bundled_stacks() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        _stack({year: _bundled_rvu(year) for year in BUNDLED_RVU_FILES}),
        _stack({year: _bundled_gpci(year) for year in BUNDLED_GPCI_FILES}),
    )


def fee_schedule(
    rvu: Iterable[pd.DataFrame] = (), gpci: Iterable[pd.DataFrame] = ()
) -> FeeSchedule:
    """The bundled fee schedule files of every year, plus (or replaced by) a user's.

    Parameters
    ----------
    rvu, gpci : iterables of DataFrame
        Tables from :func:`load_rvu` / :func:`load_gpci` of a user's CMS files, each
        placed by the year its file names; one replaces the bundled file of its year.

    Returns
    -------
    FeeSchedule
        Both tables stacked by year (``vintage`` column): a line dated in year ``y``
        is priced with the latest file up to ``y`` (:func:`vintage_for`).

    Examples
    --------
    >>> schedule = fee_schedule(gpci=[load_gpci("GPCI2026.csv")])     # doctest: +SKIP
    """
    rvu, gpci = list(rvu), list(gpci)
    if not rvu and not gpci:
        stacked_rvu, stacked_gpci = _bundled_stacks()
        return FeeSchedule(stacked_rvu.copy(deep=False), stacked_gpci.copy(deep=False))
    rvus = {year: _bundled_rvu(year) for year in BUNDLED_RVU_FILES}
    gpcis = {year: _bundled_gpci(year) for year in BUNDLED_GPCI_FILES}
    rvus.update(_by_year(rvu, "PFS relative value file"))
    gpcis.update(_by_year(gpci, "GPCI file"))
    return FeeSchedule(_stack(rvus), _stack(gpcis))


def bundled_schedule() -> FeeSchedule:
    """Every bundled relative value file (2025, 2026) and GPCI table (2025), stacked by
    year and read once (shallow copies): :func:`fee_schedule` without a user's files."""
    return fee_schedule()


def vintages(table: pd.DataFrame) -> tuple[int, ...]:
    """The years of the files in ``table``: its ``vintage`` values, or the year its
    one file names (empty when it names none)."""
    if VINTAGE in table.columns:
        return tuple(int(y) for y in sorted(table[VINTAGE].unique()))
    year = table.attrs.get("year")
    return () if year is None else (int(year),)


def vintage_for(years, table: pd.DataFrame) -> np.ndarray:
    """The file year that prices each service year: the latest up to it, else the
    earliest (a year before the first file). ``-1`` where ``table`` names no year.

    >>> vintage_for([2024, 2025, 2026, 2027], bundled_schedule().rvu).tolist()
    [2025, 2025, 2026, 2026]
    """
    y = np.asarray(years, dtype=np.int64)
    known = np.asarray(vintages(table), dtype=np.int64)
    if not len(known):
        return np.full(y.shape, -1, dtype=np.int64)
    at = np.searchsorted(known, y, side="right") - 1
    return known[np.clip(at, 0, None)]


def select_vintage(table: pd.DataFrame, vintage: int) -> pd.DataFrame:
    """The rows of one file year of a stacked table, with that file's ``attrs``
    (``table`` itself when it holds one file)."""
    if VINTAGE not in table.columns:
        return table
    one = table.loc[table[VINTAGE].eq(vintage)].drop(columns=VINTAGE)
    one.attrs = dict(table.attrs["vintages"][int(vintage)])
    return one
