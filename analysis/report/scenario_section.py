"""The scenario section of a report: what this run assumes, and what it changes.

Every report shows, near its top, the scenario's name and description, the key
assumptions (whether changed or not) and every other parameter whose value differs from
the notebook's default, with the default and the parameter's help comment beside it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.report.formatting import table_html
from analysis.report.labels import VALUE_LABELS, parameter_label, value_label
from analysis.report.parameters import RESERVED, NotebookParameter

__all__ = ["KEY_ASSUMPTIONS", "ScenarioOverview", "param_text", "scenario_overview",
           "settings_frame"]

#: Parameters shown in every scenario table, whether or not the scenario changes them.
KEY_ASSUMPTIONS = ("headline_policy", "commercial_multiplier", "horizon_years",
                   "effective_date", "scope_share", "threshold")

_NOT_SCENARIO = frozenset(RESERVED) | {"scenario_title", "scenario_description"}


def param_text(name: str, value: Any) -> str:
    """A parameter's value as a committee reads it: shares as percentages, coded
    values in words (:func:`analysis.report.labels.value_label`), lists joined.

    >>> param_text("scope_share", 0.7), param_text("headline_policy", "lcd_cap")
    ('70%', 'Cap at the LCD benchmark')
    """
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if name == "claims":
        files = value if isinstance(value, list | tuple) else [value]
        return ", ".join(Path(str(v)).name for v in files) or "bundled synthetic sample"
    if name in VALUE_LABELS and isinstance(value, str | list | tuple):
        return str(value_label(name, list(value) if not isinstance(value, str) else value)
                   ) or "all"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "all"
    if value is None:
        return "all"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and name.endswith(("_share", "_rate", "threshold",
                                                     "growth", "update", "alpha", "_level",
                                                     "percentile_flag", "_low", "_high")) \
            and not name.startswith(("commercial_multiplier", "commercial_to_medicare")):
        return f"{value:.0%}" if abs(100 * value - round(100 * value)) < 1e-9 \
            else f"{value:.1%}"
    if isinstance(value, float | int) and name.endswith("_usd"):
        return f"${value:,.2f}".replace(".00", "")
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value) if name == "seed" or "year" in name else f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class ScenarioOverview:
    """What a report's scenario section shows (see :func:`scenario_overview`).

    Attributes
    ----------
    name, title, description : str
    table : DataFrame
        ``setting, this_scenario, default, changed, note``: the key assumptions
        (:data:`KEY_ASSUMPTIONS` the notebook declares), then every other parameter
        whose value differs from the notebook's default.
    """

    name: str
    title: str
    description: str
    table: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        return self.table

    @property
    def n_changed(self) -> int:
        return int(self.table["changed"].sum())

    def _repr_html_(self) -> str:
        head = f"<p><b>{html.escape(self.title or self.name)}</b> ({html.escape(self.name)})"
        if self.description:
            head += f" — {html.escape(self.description)}"
        return head + "</p>" + table_html(self.table.drop(columns=["changed"]))


def scenario_overview(
    values: Mapping[str, Any],
    *,
    defaults: Mapping[str, NotebookParameter],
    title: str = "",
    description: str = "",
    key: Sequence[str] = KEY_ASSUMPTIONS,
) -> ScenarioOverview:
    """The scenario of a notebook run: name, description, key assumptions, changes.

    Parameters
    ----------
    values : mapping
        Holds (at least) the notebook's parameters by name, e.g. ``globals()`` of
        the notebook; other names are ignored.
    defaults : mapping
        The notebook's declared parameters (:func:`notebook_defaults`).
    title, description : str
        From the scenario file (``rad3d report`` passes them as ``scenario_title``
        and ``scenario_description``).
    key : sequence of str
        Parameters always shown (those the notebook declares).

    Returns
    -------
    ScenarioOverview
        The table's ``changed`` column is True where the value differs from the
        default. Runner-set parameters (folders, practice, labels) are left out.
    """
    rows = []
    declared = [n for n in defaults if n not in _NOT_SCENARIO and n in values]
    shown = [n for n in key if n in declared]
    shown += [n for n in declared if n not in shown and values[n] != defaults[n].default]
    for n in shown:
        p = defaults[n]
        rows.append({
            "setting": parameter_label(n),
            "this_scenario": param_text(n, values[n]),
            "default": param_text(n, p.default),
            "changed": values[n] != p.default,
            "note": p.help,
        })
    table = pd.DataFrame(rows, columns=["setting", "this_scenario", "default", "changed",
                                        "note"])
    return ScenarioOverview(str(values.get("scenario_name", "adhoc")), title, description,
                            table)


def settings_frame(settings: Mapping[str, Any]) -> pd.DataFrame:
    """A settings mapping (``to_dict()`` of a settings object) as a two-column table,
    each setting by its name and its value in words (:func:`param_text`)."""
    return pd.DataFrame(
        [{"setting": parameter_label(k), "value": param_text(k, v)}
         for k, v in settings.items()], columns=["setting", "value"])
