"""The CMS fee schedule files bundled with rad3d, each read once.

The only module that knows the default file names: ``data/reference/
pprrvu2025_oct_imaging.csv`` (the real title and header lines of RVU25D and its
CT/MR/3D rows) and ``data/reference/GPCI2025.csv`` (a real copy of the 2025 GPCI table
whose MAC and locality numbers lost their leading zeros). :func:`load_rvu` and
:func:`load_gpci` read a user's file, or the bundled one when given none;
:func:`bundled_schedule` returns both bundled tables as the :class:`FeeSchedule` that
:func:`analysis.pricing.price` and :func:`analysis.encounters.link` take.

The bundled tables are read on first use and kept; callers get shallow copies, so
adding a column to one never changes what the next caller sees.
"""

from __future__ import annotations

from functools import cache
from os import PathLike
from typing import NamedTuple

import pandas as pd

from analysis.paths import reference_file
from analysis.pricing.gpci import read_gpci
from analysis.pricing.rvu import read_rvu

__all__ = [
    "DEFAULT_GPCI_PATH",
    "DEFAULT_RVU_PATH",
    "FeeSchedule",
    "bundled_schedule",
    "load_gpci",
    "load_rvu",
]

DEFAULT_RVU_PATH = reference_file("pprrvu2025_oct_imaging.csv")
"""The bundled extract of the 2025 PFS relative value file (RVU25D)."""
DEFAULT_GPCI_PATH = reference_file("GPCI2025.csv")
"""The bundled 2025 GPCI table (PFS final rule Addendum E)."""


class FeeSchedule(NamedTuple):
    """The two CMS tables a Medicare PFS price is computed from.

    Attributes
    ----------
    rvu : DataFrame
        Relative values by code and modifier, from :func:`load_rvu`.
    gpci : DataFrame
        GPCIs by MAC and locality, from :func:`load_gpci`.

    Examples
    --------
    >>> schedule = bundled_schedule()
    >>> schedule.rvu.attrs["year"], schedule.gpci.attrs["year"]
    (2025, 2025)
    """

    rvu: pd.DataFrame
    gpci: pd.DataFrame


@cache
def _bundled_rvu() -> pd.DataFrame:
    return read_rvu(DEFAULT_RVU_PATH)


@cache
def _bundled_gpci() -> pd.DataFrame:
    return read_gpci(DEFAULT_GPCI_PATH)


def load_rvu(path: str | PathLike[str] | None = None) -> pd.DataFrame:
    """A CMS PFS relative value file: :func:`analysis.pricing.rvu.read_rvu` of ``path``.

    Parameters
    ----------
    path : path-like, optional
        The ``PPRRVU<year>_<release>.csv`` file from a CMS RVU zip. Default: the
        bundled extract :data:`DEFAULT_RVU_PATH`, read once.

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
        return _bundled_rvu().copy(deep=False)
    return read_rvu(path)


def load_gpci(path: str | PathLike[str] | None = None) -> pd.DataFrame:
    """A CMS GPCI table: :func:`analysis.pricing.gpci.read_gpci` of ``path``.

    Parameters
    ----------
    path : path-like, optional
        The Addendum E CSV. Default: the bundled 2025 table :data:`DEFAULT_GPCI_PATH`,
        read once.

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
        return _bundled_gpci().copy(deep=False)
    return read_gpci(path)


def bundled_schedule() -> FeeSchedule:
    """The bundled 2025 relative values and GPCIs, read once (shallow copies)."""
    return FeeSchedule(rvu=load_rvu(), gpci=load_gpci())
