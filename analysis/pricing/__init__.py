"""Medicare Physician Fee Schedule (PFS) pricing from the real CMS files.

The Medicare allowed amount of a service line is

    ``[(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF``

for its CPT/HCPCS code and component (global, professional ``-26``, technical
``-TC``), its setting (the facility setting uses the facility PE RVU), its payment
locality (the GPCIs) and its date: the conversion factor (CF) of the date, and the
RVU and GPCI files of its year - the latest file up to the year, the earliest for a
year before it (RVUs 2025 and 2026, GPCIs 2025 are bundled; ``rvu_vintage``,
``gpci_vintage`` and ``note`` say which priced a line). The unrounded product
is rounded half up to the cent (:func:`round_cents`), which reproduces the published
2025 amounts (North Carolina 76377 global $72.67, -26 $35.10, -TC $37.57; national
76376 $24.91), the 2026 national amounts (76376 $25.38, 76377 $78.83; $25.51 and
$79.22 for qualifying APM participants) and, for every payable row of the bundled
files, the file's own total RVUs times its conversion factor.

One idea a file:

=================  ==================================================================
``rvu``            :func:`read_rvu`: the CMS relative value file (PPRRVU CSV), by header
``gpci``           :func:`read_gpci`: the GPCI table (Addendum E) and its repairs
``csv_files``      decoding and numbered CSV records, shared by the two readers
``bundled``        the bundled files by year, read once: :func:`load_rvu`,
                   :func:`load_gpci`, :func:`bundled_schedule` and :func:`fee_schedule`
                   (a :class:`FeeSchedule` of every year), :func:`vintage_for`
``tables``         the small bundled tables: conversion factors by date, MAC
                   jurisdictions, payment localities, facility places of service
``components``     component from modifiers, setting from place of service
``prices``         :func:`price` from the tables it is given; :func:`round_cents`
``fee_tables``     :class:`FeeTable` / :func:`fee_table`: one code, component x setting
=================  ==================================================================

References
----------
CMS, PFS Relative Value Files, RVU25D (``PPRRVU2025_Oct.csv``, released 2025-09-11),
and its README (payment formula, status codes, PC/TC and NA indicators); RVU26C
(``PPRRVU2026_Jul_nonQPP.csv``, released 2026-06-30).
CMS, CY 2025 PFS final rule (CMS-1807-F), Addendum E: GPCIs by state and Medicare
locality (MAC assignments as of 2023-11-22).
CMS, Medicare Claims Processing Manual (Pub. 100-04), Chapter 12, section 20.4.2,
"Site of Service Payment Differential".
Sources of the conversion factors, MAC jurisdictions and facility places of service:
the ``source`` column of the files in ``data/reference/``.

Examples
--------
>>> import pandas as pd
>>> lines = pd.DataFrame({"cpt_code": ["76377", "76377"], "component": ["global", "TC"],
...                       "setting": ["non_facility", "facility"], "state": "NC",
...                       "year": 2025})
>>> price(lines, *bundled_schedule())[["medicare_usd", "payable"]].to_dict("list")
{'medicare_usd': [72.67, nan], 'payable': [True, False]}
"""

from __future__ import annotations

from analysis.pricing.bundled import (
    BUNDLED_GPCI_FILES,
    BUNDLED_RVU_FILES,
    DEFAULT_GPCI_PATH,
    DEFAULT_RVU_PATH,
    FeeSchedule,
    bundled_schedule,
    fee_schedule,
    load_gpci,
    load_rvu,
    vintage_for,
    vintages,
)
from analysis.pricing.components import (
    COMPONENTS,
    SETTINGS,
    component_from_modifiers,
    setting_from_pos,
)
from analysis.pricing.fee_tables import FeeTable, fee_table
from analysis.pricing.gpci import gpci_repairs, read_gpci
from analysis.pricing.prices import (
    NOTE_FACILITY_NA,
    NOTE_NON_FACILITY_NA,
    NOTE_NOT_IN_FILE,
    PAYABLE_STATUS_CODES,
    price,
    round_cents,
)
from analysis.pricing.rvu import read_rvu
from analysis.pricing.tables import (
    conversion_factor,
    conversion_factors,
    facility_places_of_service,
    mac_jurisdiction,
    mac_jurisdictions,
    state_locality,
)

__all__ = [
    "BUNDLED_GPCI_FILES",
    "BUNDLED_RVU_FILES",
    "COMPONENTS",
    "DEFAULT_GPCI_PATH",
    "DEFAULT_RVU_PATH",
    "NOTE_FACILITY_NA",
    "NOTE_NON_FACILITY_NA",
    "NOTE_NOT_IN_FILE",
    "PAYABLE_STATUS_CODES",
    "SETTINGS",
    "FeeSchedule",
    "FeeTable",
    "bundled_schedule",
    "component_from_modifiers",
    "conversion_factor",
    "conversion_factors",
    "facility_places_of_service",
    "fee_schedule",
    "fee_table",
    "gpci_repairs",
    "load_gpci",
    "load_rvu",
    "mac_jurisdiction",
    "mac_jurisdictions",
    "price",
    "read_gpci",
    "read_rvu",
    "round_cents",
    "setting_from_pos",
    "state_locality",
    "vintage_for",
    "vintages",
]
