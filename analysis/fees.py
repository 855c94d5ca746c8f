"""Medicare PFS pricing under its former module name; the code is in :mod:`analysis.pricing`.

Every public name ``analysis.fees`` had is importable from here as before. One
differs: :func:`analysis.pricing.price` takes the relative value and GPCI tables it
prices from, while :func:`price` here keeps the former signature and prices from the
bundled files of every year (:func:`analysis.pricing.bundled_schedule`) when no tables
are given.
"""

from __future__ import annotations

import pandas as pd

from analysis import pricing
from analysis.pricing import (
    COMPONENTS,
    DEFAULT_GPCI_PATH,
    DEFAULT_RVU_PATH,
    NOTE_FACILITY_NA,
    NOTE_NON_FACILITY_NA,
    NOTE_NOT_IN_FILE,
    PAYABLE_STATUS_CODES,
    SETTINGS,
    FeeTable,
    component_from_modifiers,
    conversion_factor,
    conversion_factors,
    facility_places_of_service,
    fee_table,
    gpci_repairs,
    load_gpci,
    load_rvu,
    mac_jurisdiction,
    mac_jurisdictions,
    round_cents,
    setting_from_pos,
    state_locality,
)

__all__ = [
    "COMPONENTS",
    "DEFAULT_GPCI_PATH",
    "DEFAULT_RVU_PATH",
    "NOTE_FACILITY_NA",
    "NOTE_NON_FACILITY_NA",
    "NOTE_NOT_IN_FILE",
    "PAYABLE_STATUS_CODES",
    "SETTINGS",
    "FeeTable",
    "component_from_modifiers",
    "conversion_factor",
    "conversion_factors",
    "facility_places_of_service",
    "fee_table",
    "gpci_repairs",
    "load_gpci",
    "load_rvu",
    "mac_jurisdiction",
    "mac_jurisdictions",
    "price",
    "round_cents",
    "setting_from_pos",
    "state_locality",
]


def price(
    lines: pd.DataFrame,
    *,
    rvu: pd.DataFrame | None = None,
    gpci: pd.DataFrame | None = None,
    qualifying_apm: bool = False,
) -> pd.DataFrame:
    """:func:`analysis.pricing.price`, from the bundled files of every year where
    ``rvu`` or ``gpci`` is not given.

    >>> lines = pd.DataFrame({"cpt_code": ["76376"], "state": "US", "year": 2025})
    >>> price(lines)["medicare_usd"].tolist()
    [24.91]
    """
    bundled = pricing.bundled_schedule()
    return pricing.price(
        lines,
        bundled.rvu if rvu is None else rvu,
        bundled.gpci if gpci is None else gpci,
        qualifying_apm=qualifying_apm,
    )
