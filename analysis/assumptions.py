"""The revenue model's bundled assumption tables, read once.

Two files in ``data/reference`` hold every default of the budget-impact model
(:mod:`analysis.impact`) with its source and evidence label ([V] verbatim, [S]
secondary, [A] assumption):

``impact_assumptions.csv``
    The numeric parameters: ``parameter, base, low, high, distribution, unit,
    applies_to, label, source``. ``applies_to`` is ``assumptions`` (a field of
    :class:`analysis.impact.ImpactAssumptions`) or ``policy`` (a field of
    :class:`analysis.policy.Policy`). ``distribution`` is the PSA distribution
    (``lognormal``, ``gamma``, ``beta``, ``normal``, ``censored_normal``,
    ``log_complement``, ``pert``, ``uniform`` or ``fixed``, see
    :mod:`analysis.distributions`); ``low``/``high``
    are the one-way sensitivity bounds and the 2.5 % and 97.5 % quantiles that the
    PSA distribution is fitted to.
``impact_settings.csv``
    The non-numeric defaults: ``setting, default, source`` (dates, horizon, policy
    payers and codes, and one ``payer_class_<LABEL>`` row per payer label that is not
    priced as commercial).

This is the only module that reads them; the model's modules receive the tables (or
the defaults taken from them) and read no files.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from analysis.paths import reference_file

__all__ = [
    "ASSUMPTIONS_FILE",
    "SETTINGS_FILE",
    "assumption_table",
    "default_payer_classes",
    "default_setting",
    "default_value",
    "settings_table",
]

ASSUMPTIONS_FILE = "impact_assumptions.csv"
SETTINGS_FILE = "impact_settings.csv"


@cache
def _read(name: str) -> pd.DataFrame:
    # Cached: every ImpactAssumptions() takes its defaults from here.
    return pd.read_csv(reference_file(name), dtype={"parameter": str, "setting": str})


def assumption_table() -> pd.DataFrame:
    """The numeric assumptions with base, low, high, distribution and source.

    A copy of ``data/reference/impact_assumptions.csv`` (columns in the module
    docstring), so the caller may change it.
    """
    return _read(ASSUMPTIONS_FILE).copy()


def settings_table() -> pd.DataFrame:
    """Non-numeric defaults (dates, horizon, payers, payer classes) with sources.

    A copy of ``data/reference/impact_settings.csv``: ``setting, default, source``.
    """
    return _read(SETTINGS_FILE).copy()


def default_value(parameter: str) -> float:
    """The ``base`` of one parameter of the assumption table.

    >>> default_value("commercial_multiplier")
    1.8
    """
    table = _read(ASSUMPTIONS_FILE).set_index("parameter")
    return float(table.at[parameter, "base"])


def default_setting(name: str) -> str:
    """The ``default`` of one row of the settings table, as text.

    >>> default_setting("horizon_years")
    '3'
    """
    table = _read(SETTINGS_FILE).set_index("setting")
    return str(table.at[name, "default"])


def default_payer_classes() -> tuple[tuple[str, str], ...]:
    """``(payer label, payer class)`` of every ``payer_class_<LABEL>`` setting.

    >>> dict(default_payer_classes())["MEDICAID"]
    'medicaid'
    """
    table = _read(SETTINGS_FILE)
    rows = table[table["setting"].str.startswith("payer_class_")]
    return tuple(
        (s.removeprefix("payer_class_"), str(c))
        for s, c in zip(rows["setting"], rows["default"], strict=True)
    )
