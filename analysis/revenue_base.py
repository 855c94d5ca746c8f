"""The annualized revenue base of the budget-impact model: one row per practice x payer.

:func:`impact_base` sums the additive practice summary (:mod:`analysis.summary`) over
its baseline periods and scales it to one year, as the *Revenue base* and
*Annualization* definitions of :mod:`analysis.impact` state. The result,
:class:`ImpactBase`, is what the revenue engine (:mod:`analysis.revenue_engine`)
evaluates, once for the base case and once per draw of the uncertainty analyses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.policy import GROUPS, PER_CODE_COLUMNS

__all__ = ["REQUIRED_COLUMNS", "ImpactBase", "as_base", "impact_base"]

_REV = (
    "rev_units",
    "rev_encounters",
    "rev_observed_usd",
    "rev_medicare_usd",
    "rev_paid_usd",
    "rev_unpaid_lines",
)
#: Columns of the practice summary the revenue model reads.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "practice_id",
    "period",
    "payer",
    "n_nononc_encounters",
    *(f"{c}_{g}" for c in _REV for g in GROUPS),
    "noncompliant_allowed_usd",
    "n_noncompliant_3d_lines",
)
#: Summed and annualized with the required columns where the summary has them.
_OPTIONAL_SUMS: tuple[str, ...] = (
    *PER_CODE_COLUMNS,
    "n_encounters",
    "n_onc_encounters",
    *(f"rev_lines_{g}" for g in GROUPS),
)


def _period_bounds(label: str) -> tuple[pd.Timestamp, pd.Timestamp, float]:
    """Start, end (exclusive) and length in years of a period label."""
    if m := re.fullmatch(r"(\d{4})", label):
        start = pd.Timestamp(int(m[1]), 1, 1)
        return start, start + pd.DateOffset(years=1), 1.0
    if m := re.fullmatch(r"(\d{4})Q([1-4])", label):
        start = pd.Timestamp(int(m[1]), 3 * int(m[2]) - 2, 1)
        return start, start + pd.DateOffset(months=3), 0.25
    if m := re.fullmatch(r"(\d{4})-(\d{2})", label):
        start = pd.Timestamp(int(m[1]), int(m[2]), 1)
        return start, start + pd.DateOffset(months=1), 1 / 12
    raise InputError(
        "period label not understood (expected '2024', '2024Q1' or '2024-01'); "
        "give baseline_days instead",
        column="period",
        value=label,
    )


@dataclass(frozen=True)
class ImpactBase:
    """The annualized revenue base: one row per practice x payer.

    Attributes
    ----------
    rows : DataFrame
        ``practice_id, payer`` and the summary's counts and dollars summed over the
        baseline periods and multiplied by ``annualization_factor``, plus
        ``unpaid_fraction_{g}`` (share of the group's units without ``paid_usd``).
        Sorted by practice.
    practice_ids : tuple of str
        Practices in row order (each once).
    periods : tuple of str
        Baseline periods covered.
    baseline_days : float
        Calendar days of the baseline (first period start to last period end, or
        the ``baseline_days`` given).
    annualization_factor : float
        Multiplier from the baseline to one year.
    method : str
        ``"periods"`` (period averaging) or ``"days"`` (365 / baseline_days).
    """

    rows: pd.DataFrame
    practice_ids: tuple[str, ...]
    periods: tuple[str, ...]
    baseline_days: float
    annualization_factor: float
    method: str

    def arrays(self) -> dict[str, np.ndarray]:
        """Numeric columns as float arrays (the engine's input)."""
        return {
            c: self.rows[c].to_numpy(dtype=float)
            for c in self.rows.columns
            if c not in ("practice_id", "payer")
        }

    def row_starts(self) -> np.ndarray:
        """Index of each practice's first row (for ``np.add.reduceat``)."""
        codes = self.rows["practice_id"].to_numpy()
        return np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])

    def to_dict(self) -> dict[str, Any]:
        return {
            "periods": list(self.periods),
            "baseline_days": self.baseline_days,
            "annualization_factor": self.annualization_factor,
            "annualization_method": self.method,
            "n_practices": len(self.practice_ids),
            "n_practice_payer_rows": len(self.rows),
        }


def impact_base(summary: pd.DataFrame, *, baseline_days: float | None = None) -> ImpactBase:
    """Aggregate the practice summary to an annualized practice x payer revenue base.

    Parameters
    ----------
    summary : DataFrame
        The additive practice summary (one row per ``practice_id, period, payer``;
        columns in :data:`REQUIRED_COLUMNS`, see :mod:`analysis.summary`).
    baseline_days : float, optional
        Annualize by ``365 / baseline_days`` instead of by the periods' length.

    Returns
    -------
    ImpactBase

    Examples
    --------
    Two quarters of 2024 are half a year, so every amount is doubled.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in summary.columns]
    if missing:
        raise InputError(
            "the practice summary lacks a column the revenue model needs "
            "(build it with analysis.summary.summarize)",
            column=missing[0],
        )
    if summary.empty:
        raise InputError("the practice summary has no rows", column="practice_id")
    numeric = [c for c in REQUIRED_COLUMNS[3:]] + [c for c in _OPTIONAL_SUMS if c in summary]
    values = summary[numeric].apply(pd.to_numeric, errors="coerce").astype(float)
    bad = values.isna() | (values < 0)
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise InputError(
            "counts and dollars of the summary must be non-negative numbers",
            row=int(row) + 1,
            column=numeric[col],
            value=summary[numeric[col]].iloc[row],
        )
    periods = tuple(sorted(summary["period"].astype(str).unique()))
    bounds = [_period_bounds(p) for p in periods] if baseline_days is None else []
    if baseline_days is None:
        lengths = {b[2] for b in bounds}
        if len(lengths) > 1:
            raise InputError("the summary mixes period lengths", column="period", value=periods)
        (length,) = lengths
        first, last = min(b[0] for b in bounds), max(b[1] for b in bounds)
        n_periods = round(
            ((last.year - first.year) * 12 + last.month - first.month) / (12 * length)
        )
        years = n_periods * length
        factor, days, method = 1.0 / years, float((last - first).days), "periods"
    else:
        days = float(baseline_days)
        if not days > 0:
            raise InputError("must be > 0 days", column="baseline_days", value=baseline_days)
        factor, method = 365.0 / days, "days"
    keys = (
        summary[["practice_id", "payer"]]
        .astype(str)
        .assign(payer=lambda d: d["payer"].str.strip().str.upper())
    )
    rows = (
        pd.concat([keys, values], axis=1)
        .groupby(["practice_id", "payer"], sort=True, as_index=False)
        .sum()
    )
    # Lines without paid_usd as a share of the group's lines (of its units when the
    # summary has no line counts: 3D lines carry one unit per rendering).
    unpaid = {}
    for g in GROUPS:
        den = rows[f"rev_lines_{g}"] if f"rev_lines_{g}" in rows else rows[f"rev_units_{g}"]
        den = den.to_numpy(dtype=float)
        unpaid[f"unpaid_fraction_{g}"] = np.clip(
            rows[f"rev_unpaid_lines_{g}"].to_numpy(dtype=float) / np.where(den > 0, den, 1.0),
            0.0,
            1.0,
        )
    rows = rows.assign(**{c: rows[c] * factor for c in numeric}).assign(**unpaid)
    return ImpactBase(
        rows=rows.reset_index(drop=True),
        practice_ids=tuple(rows["practice_id"].drop_duplicates()),
        periods=periods,
        baseline_days=days,
        annualization_factor=factor,
        method=method,
    )


def as_base(
    summary: pd.DataFrame | ImpactBase, *, baseline_days: float | None = None
) -> ImpactBase:
    """``summary`` itself when it is already a base, else its :func:`impact_base`.

    The model's entry points accept either, so that a base built once serves many
    runs (one per policy, scenario or sensitivity bound).
    """
    if isinstance(summary, ImpactBase):
        return summary
    return impact_base(summary, baseline_days=baseline_days)
