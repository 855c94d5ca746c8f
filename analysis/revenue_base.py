"""The annualized revenue base of the budget-impact model: one row per practice x payer.

:func:`impact_base` sums the additive practice summary (:mod:`analysis.summary`) over
its baseline periods and scales it to one year, as the *Revenue base* and
*Annualization* definitions of :mod:`analysis.impact` state. The result,
:class:`ImpactBase`, is what the revenue engine (:mod:`analysis.revenue_engine`)
evaluates, once for the base case and once per draw of the uncertainty analyses.

A base may carry each practice's *price basket* (:data:`BASKET_COLUMNS`, from
:func:`analysis.revenue_engine.price_baskets` or the claims engines of
:mod:`analysis.scale`): the mix of its 3D lines that moves its prices from year to year
(:func:`analysis.revenue_engine.horizon_prices`). A summary carries them to
:func:`impact_base` in ``attrs`` (:func:`attach_baskets`), as the report's shared inputs
hand them out, so that every entry point given that summary prices by them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.policy import GROUPS, PER_CODE_COLUMNS

__all__ = [
    "BASKET_COLUMNS",
    "BASKETS_ATTR",
    "REQUIRED_COLUMNS",
    "ImpactBase",
    "as_base",
    "attach_baskets",
    "attached_baskets",
    "baskets_frame",
    "impact_base",
]

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


#: Columns of the per-practice price baskets: 3D units by code, component ("global",
#: "26", "TC"), setting ("facility", "non_facility") and pricing state, one row per
#: practice and item (:func:`analysis.revenue_engine.price_baskets`).
BASKET_COLUMNS: tuple[str, ...] = (
    "practice_id", "cpt_code", "component", "setting", "state", "units")
#: The key of ``DataFrame.attrs`` under which a summary carries its practices' baskets.
BASKETS_ATTR = "price_baskets"


def baskets_frame(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """A basket table in its one layout: :data:`BASKET_COLUMNS` (text keys, float
    units), sorted by its keys, a fresh index; empty without ``frame``."""
    if frame is None:
        frame = pd.DataFrame({c: [] for c in BASKET_COLUMNS})
    missing = [c for c in BASKET_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"a basket table needs the columns {', '.join(BASKET_COLUMNS)}",
                         column=missing[0])
    keys = list(BASKET_COLUMNS[:-1])
    return (frame[list(BASKET_COLUMNS)]
            .astype(dict.fromkeys(keys, "string") | {"units": "float64"})
            .sort_values(keys, kind="stable").reset_index(drop=True))


def attach_baskets(summary: pd.DataFrame, baskets: pd.DataFrame | None) -> pd.DataFrame:
    """``summary`` (a shallow copy) carrying ``baskets`` for :func:`impact_base`.

    They are kept in ``summary.attrs[BASKETS_ATTR]`` as JSON text: pandas copies
    ``attrs`` to the frames derived from the summary (a filtered or concatenated
    summary keeps them; practices it no longer holds are ignored), and text is copied
    and compared at no cost. ``baskets`` None: the copy carries none.
    """
    out = summary.copy(deep=False)
    out.attrs = {k: v for k, v in summary.attrs.items() if k != BASKETS_ATTR}
    if baskets is not None:
        b = baskets_frame(baskets)
        out.attrs[BASKETS_ATTR] = json.dumps(
            {"columns": list(BASKET_COLUMNS),
             "data": b.astype(object).to_numpy().tolist()})
    return out


def attached_baskets(summary: pd.DataFrame) -> pd.DataFrame | None:
    """The baskets ``summary`` carries (:func:`attach_baskets`), or None."""
    text = summary.attrs.get(BASKETS_ATTR)
    if text is None:
        return None
    table = json.loads(text)
    return baskets_frame(pd.DataFrame(table["data"], columns=table["columns"]))


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


_PERIOD_NAMES = {1.0: "year", 0.25: "quarter", 1 / 12: "month"}
_GROUPS_NAMED = 4  # groups of practices named in the statement; the rest are counted


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class ImpactBase:
    """The annualized revenue base: one row per practice x payer.

    Attributes
    ----------
    rows : DataFrame
        ``practice_id, payer`` and the summary's counts and dollars summed over the
        baseline periods and multiplied by the practice's ``annualization_factor``,
        plus ``unpaid_fraction_{g}`` (share of the group's units without
        ``paid_usd``). Sorted by practice.
    practice_ids : tuple of str
        Practices in row order (each once).
    periods : tuple of str
        Baseline periods of the summary (all practices).
    baseline_days : float
        Calendar days from the start of the first period to the end of the last (or
        the ``baseline_days`` given).
    annualization : DataFrame
        One row per practice: ``practice_id, first_period, last_period,
        periods_observed`` (periods in which it has claim lines), ``years_observed``
        (their length in years, or ``baseline_days / 365``) and
        ``annualization_factor`` (``1 / years_observed``).
    method : str
        ``"practice_periods"`` (each practice by its own observed periods) or
        ``"days"`` (365 / baseline_days for every practice).
    period_length_years : float
        Length of one period of the summary (1, 1/4 or 1/12); NaN with ``"days"``
        when the labels were not read.
    period_units : DataFrame
        ``practice_id, period, units_3d``: the practice's 3D units in each period,
        before annualization (``units_3d_76376 + units_3d_76377``, or the compliant
        ``rev_units_*`` when the summary lacks them), which weight the fee schedules
        that priced its baseline (:func:`analysis.revenue_engine.horizon_prices`).
    baskets : DataFrame or None
        Each practice's price basket (:data:`BASKET_COLUMNS`) for the base's practices,
        or None: :func:`analysis.revenue_engine.horizon_prices` then prices every
        practice by its units of 76376 and 76377 as the global service.
    """

    rows: pd.DataFrame
    practice_ids: tuple[str, ...]
    periods: tuple[str, ...]
    baseline_days: float
    annualization: pd.DataFrame
    method: str
    period_length_years: float = float("nan")
    period_units: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["practice_id", "period", "units_3d"]))
    baskets: pd.DataFrame | None = None

    @property
    def annualization_factor(self) -> float | None:
        """The factor every practice shares, or ``None`` when they differ."""
        factors = self.annualization["annualization_factor"].unique()
        return float(factors[0]) if len(factors) == 1 else None

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

    def statement(self) -> str:
        """How year 1 was annualized, in words (for reports, the CLI and JSON).

        >>> s = pd.DataFrame({"practice_id": ["A", "A", "B"], "payer": "X",
        ...                   "period": ["2024Q1", "2024Q2", "2024Q2"]})
        >>> base = impact_base(s.assign(**dict.fromkeys(REQUIRED_COLUMNS[3:], 0)))
        >>> print(base.statement())  # doctest: +NORMALIZE_WHITESPACE
        Year 1 is each practice's claims scaled to one year from the quarters in which it
        has claim lines (baseline 2024Q1..2024Q2): 1 practice with 2 quarters (x2),
        1 practice with 1 quarter (x4).
        """
        span = f"baseline {self.periods[0]}..{self.periods[-1]}"
        if self.method == "days":
            return (f"Year 1 is the claims scaled by 365 / {self.baseline_days:g} days = "
                    f"x{365.0 / self.baseline_days:.4g} for every practice (baseline days "
                    f"given; {span}).")
        unit = _PERIOD_NAMES.get(self.period_length_years, "period")
        groups = (
            self.annualization.groupby(["periods_observed", "annualization_factor"])
            .size()
            .rename("n")
            .reset_index()
            .sort_values(["n", "periods_observed"], ascending=False)
        )
        parts = [
            f"{_plural(int(g.n), 'practice')} with {_plural(int(g.periods_observed), unit)} "
            f"(x{g.annualization_factor:.4g})"
            for g in groups.head(_GROUPS_NAMED).itertuples()
        ]
        rest = int(groups["n"].iloc[_GROUPS_NAMED:].sum())
        if rest:
            parts.append(f"{_plural(rest, 'practice')} with other numbers of {unit}s "
                         "(each in the per-practice table)")
        return (f"Year 1 is each practice's claims scaled to one year from the {unit}s in "
                f"which it has claim lines ({span}): {', '.join(parts)}.")

    def to_dict(self) -> dict[str, Any]:
        factors = self.annualization["annualization_factor"]
        return {
            "periods": list(self.periods),
            "baseline_days": self.baseline_days,
            "annualization_method": self.method,
            "period_unit": _PERIOD_NAMES.get(self.period_length_years),
            "annualization_factor": self.annualization_factor,
            "annualization_factor_min": float(factors.min()),
            "annualization_factor_max": float(factors.max()),
            "annualization": self.statement(),
            "n_practices": len(self.practice_ids),
            "n_practice_payer_rows": len(self.rows),
        }


def _annualization(
    keys: pd.DataFrame, labels: pd.Series, baseline_days: float | None
) -> tuple[pd.DataFrame, float, float, str]:
    """Per practice: its observed periods and annualization factor; and the file's
    baseline days, the period length and the method (see :func:`impact_base`)."""
    periods = sorted(labels.unique())
    observed = (
        pd.DataFrame({"practice_id": keys["practice_id"], "period": labels})
        .drop_duplicates()
        .groupby("practice_id", sort=True)["period"]
        .agg(first_period="min", last_period="max", periods_observed="nunique")
        .reset_index()
    )
    if baseline_days is not None:
        days = float(baseline_days)
        if not days > 0:
            raise InputError("must be > 0 days", column="baseline_days", value=baseline_days)
        return (
            observed.assign(years_observed=days / 365.0, annualization_factor=365.0 / days),
            days, float("nan"), "days",
        )
    bounds = {p: _period_bounds(p) for p in periods}
    lengths = {b[2] for b in bounds.values()}
    if len(lengths) > 1:
        raise InputError("the summary mixes period lengths", column="period", value=periods)
    (length,) = lengths
    days = float((bounds[periods[-1]][1] - bounds[periods[0]][0]).days)
    years = observed["periods_observed"] * length
    return (
        observed.assign(years_observed=years, annualization_factor=1.0 / years),
        days, length, "practice_periods",
    )


def impact_base(summary: pd.DataFrame, *, baseline_days: float | None = None,
                baskets: pd.DataFrame | None = None) -> ImpactBase:
    """Aggregate the practice summary to an annualized practice x payer revenue base.

    Each practice is annualized by its own observed periods: the calendar periods of
    the summary (``"2024"`` = 1 year, ``"2024Q1"`` = 1/4, ``"2024-01"`` = 1/12) in which
    it has a row, i.e. at least one CT/MR encounter or 3D line. Its counts and dollars
    are divided by their number times the period length, so a practice with two
    quarters of claims is doubled and one with four is unchanged, whatever the other
    practices' dates: a stray far-off date changes only its own practice (by one
    period), and a practice that joined late is not diluted by the others' months.
    Gaps count as unobserved. A quarterly summary gives the finer answer.

    Parameters
    ----------
    summary : DataFrame
        The additive practice summary (one row per ``practice_id, period, payer``;
        columns in :data:`REQUIRED_COLUMNS`, see :mod:`analysis.summary`).
    baseline_days : float, optional
        Annualize every practice by ``365 / baseline_days`` instead.
    baskets : DataFrame, optional
        Each practice's price basket (:data:`BASKET_COLUMNS`; the ``baskets`` of
        :func:`analysis.scale.summarize_files`); default those the summary carries
        (:func:`attach_baskets`; the report's shared inputs attach them), else none.
        Rows of practices not in the summary are left out.

    Returns
    -------
    ImpactBase
        With the per-practice ``annualization`` table and its :meth:`~ImpactBase.statement`.

    Examples
    --------
    Practice A has claims in two quarters of 2024 (doubled), B in one (times four).

    >>> s = pd.DataFrame({"practice_id": ["A", "A", "B"], "payer": "X",
    ...                   "period": ["2024Q1", "2024Q2", "2024Q2"]})
    >>> base = impact_base(s.assign(**dict.fromkeys(REQUIRED_COLUMNS[3:], 0)))
    >>> base.annualization[["practice_id", "periods_observed", "annualization_factor"]
    ...                    ].to_dict("list")
    {'practice_id': ['A', 'B'], 'periods_observed': [2, 1], 'annualization_factor': [2.0, 4.0]}
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
    keys = (
        summary[["practice_id", "payer"]]
        .astype(str)
        .assign(payer=lambda d: d["payer"].str.strip().str.upper())
    )
    labels = summary["period"].astype(str)
    annual, days, length, method = _annualization(keys, labels, baseline_days)
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
    factor = (
        rows["practice_id"]
        .map(annual.set_index("practice_id")["annualization_factor"])
        .to_numpy(dtype=float)
    )
    rows = rows.assign(**{c: rows[c] * factor for c in numeric}).assign(**unpaid)
    per_code = [f"units_3d_{c}" for c in ("76376", "76377")]
    unit_cols = (per_code if all(c in values for c in per_code)
                 else [f"rev_units_{g}" for g in GROUPS])
    period_units = (
        keys[["practice_id"]]
        .assign(period=labels.to_numpy(), units_3d=values[unit_cols].sum(axis=1).to_numpy())
        .groupby(["practice_id", "period"], sort=True, as_index=False)["units_3d"]
        .sum()
    )
    practice_ids = tuple(rows["practice_id"].drop_duplicates())
    baskets = attached_baskets(summary) if baskets is None else baskets
    if baskets is not None:
        if "practice_id" not in baskets.columns:
            raise InputError("practice baskets need a practice_id column (one basket for "
                             "every practice goes to horizon_prices(basket=...))",
                             column="practice_id")
        baskets = baskets.loc[baskets["practice_id"].astype(str).isin(practice_ids)]
        baskets = baskets.assign(practice_id=baskets["practice_id"].astype(str)).reset_index(
            drop=True)
    return ImpactBase(
        rows=rows.reset_index(drop=True),
        practice_ids=practice_ids,
        periods=tuple(sorted(labels.unique())),
        baseline_days=days,
        annualization=annual,
        method=method,
        period_length_years=length,
        period_units=period_units,
        baskets=baskets,
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
