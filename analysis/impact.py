"""Revenue impact of a 3D-rendering payment policy: a budget-impact calculator.

The model follows the ISPOR Budget Impact Analysis Good Practice II task force
(Sullivan et al., 2014): a transparent calculator of a world *without* the policy
(status quo) and a world *with* it, per practice and in total, per year over a 1-5
year horizon, undiscounted by default.

Definitions
-----------
Revenue base
    The compliant 3D lines of the additive practice summary
    (:mod:`analysis.summary`), per practice x payer, split by encounter group ``g``
    (``onc``, ``ind``, ``oth``; see :mod:`analysis.policy`). Non-compliant lines
    are denied in every world: never revenue, reported as
    ``noncompliant_allowed_usd``.
Price of a 3D line
    Its observed ``allowed_usd``; where missing, the Medicare fee-schedule price
    (``rev_medicare_usd_{g}``, PFS RVUs x GPCI x conversion factor) times the
    multiplier of the payer's class (commercial 1.8 [A], Medicare 1.0, Medicaid
    0.75 [A], self-pay 1.0 [A]). Revenue of a group is therefore
    ``rev_observed_usd_{g} + multiplier x rev_medicare_usd_{g}`` - linear in every
    price, which lets :mod:`analysis.uncertainty` evaluate thousands of draws at
    once.
Annualization
    Year 1 is the baseline period scaled to one year. By default the summary's
    periods are averaged: the covered calendar periods (first to last, inclusive;
    ``"2024"`` = 1 year, ``"2024Q1"`` = 1/4, ``"2024-01"`` = 1/12) are counted and
    every count and dollar is divided by their length in years, so two quarters are
    doubled and a full (even leap) year is unchanged. With ``baseline_days`` the
    factor is ``365 / baseline_days`` instead (for data that start or end inside a
    period). The LCD cap is computed on the whole baseline, not per period.
Years
    Year ``t`` (1..horizon) starts ``t - 1`` years after ``start_date``. Volumes grow
    by ``(1 + volume_growth)^(t-1)``, prices by ``(1 + fee_update)^(t-1)``. The loss
    in year ``t`` is scaled by the share of the year in which the policy is in force
    (from its ``effective_date``). Present values discount year ``t`` by
    ``(1 + discount_rate)^-(t-1)``; the default rate 0 gives undiscounted totals.
Perspectives
    *Practice*: the revenue loss ``loss_usd`` and its share of the practice's 3D
    revenue (all payers) ``loss_share``. *Behavioural response*: the practice stops
    ``stop_share`` of the renderings that become unpaid and so avoids
    ``cost_per_rendering_usd`` per rendering; ``net_margin_loss_usd = loss_usd -
    cost_avoided_usd``. *Payer*: the savings are the payer's part of the lost
    revenue - observed ``paid_usd`` where present, else ``payer_cost_share`` x the
    allowed amount; for a group mixing lines with and without ``paid_usd`` the part
    without is approximated by its share of the group's lines (``rev_lines_{g}``; of
    its units if the summary lacks line counts). *Patient*: the rest (cost sharing
    no longer charged).

Every default, with its source and evidence label ([V] verbatim, [S] secondary, [A]
assumption), is in ``data/reference/impact_assumptions.csv`` and
``data/reference/impact_settings.csv``.

References
----------
Sullivan SD, Mauskopf JA, Augustovski F, et al. Budget impact analysis - principles
of good practice: report of the ISPOR 2012 Budget Impact Analysis Good Practice II
Task Force. Value Health. 2014;17(1):5-14.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from analysis.codes import CODES_3D, REFERENCE_DIR
from analysis.errors import InputError
from analysis.policy import GROUPS, Policy, _as_date, _paid_shares, full_bundling, status_quo

__all__ = [
    "PAYER_CLASSES",
    "REQUIRED_COLUMNS",
    "ImpactAssumptions",
    "ImpactBase",
    "ImpactResult",
    "assumption_table",
    "default_policies",
    "impact",
    "impact_base",
    "settings_table",
]

PAYER_CLASSES: tuple[str, ...] = ("commercial", "medicare", "medicaid", "self_pay")
_REV = (
    "rev_units",
    "rev_encounters",
    "rev_observed_usd",
    "rev_medicare_usd",
    "rev_paid_usd",
    "rev_unpaid_lines",
)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "practice_id",
    "period",
    "payer",
    "n_nononc_encounters",
    *(f"{c}_{g}" for c in _REV for g in GROUPS),
    "noncompliant_allowed_usd",
    "n_noncompliant_3d_lines",
)
_OPTIONAL_SUMS: tuple[str, ...] = tuple(
    f"{k}_{c}{u}" for c in CODES_3D for k, u in (("allowed_3d", "_usd"), ("units_3d", ""))
) + ("n_encounters", "n_onc_encounters", *(f"rev_lines_{g}" for g in GROUPS))
#: Annual quantities of the engine, per practice (or row) and draw.
_ANNUAL = (
    "revenue_without_usd",
    "loss_usd",
    "payer_savings_usd",
    "patient_savings_usd",
    "renderings_unpaid",
    "noncompliant_allowed_usd",
)


# ------------------------------------------------------------------ reference


@cache
def _read_reference(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / name, dtype={"parameter": str, "setting": str})


def assumption_table() -> pd.DataFrame:
    """The numeric assumptions with base, low, high, distribution and source.

    Read from ``data/reference/impact_assumptions.csv``: columns ``parameter, base,
    low, high, distribution, unit, applies_to, label, source``. ``applies_to`` is
    ``assumptions`` (a field of :class:`ImpactAssumptions`) or ``policy`` (a field
    of :class:`analysis.policy.Policy`). ``distribution`` is the PSA distribution
    (``lognormal``, ``gamma``, ``beta``, ``normal``, ``pert``, ``uniform`` or
    ``fixed``); ``low``/``high`` are the one-way sensitivity bounds.
    """
    return _read_reference("impact_assumptions.csv").copy()


def settings_table() -> pd.DataFrame:
    """Non-numeric defaults (dates, horizon, payers, payer classes) with sources."""
    return _read_reference("impact_settings.csv").copy()


def _default(parameter: str) -> float:
    table = _read_reference("impact_assumptions.csv").set_index("parameter")
    return float(table.at[parameter, "base"])


def _setting(name: str) -> str:
    table = _read_reference("impact_settings.csv").set_index("setting")
    return str(table.at[name, "default"])


def _default_payer_classes() -> tuple[tuple[str, str], ...]:
    table = _read_reference("impact_settings.csv")
    rows = table[table["setting"].str.startswith("payer_class_")]
    return tuple(
        (s.removeprefix("payer_class_"), str(c))
        for s, c in zip(rows["setting"], rows["default"], strict=True)
    )


# ---------------------------------------------------------------- assumptions


@dataclass(frozen=True)
class ImpactAssumptions:
    """Inputs of the revenue model other than the policy.

    Defaults come from ``data/reference/impact_assumptions.csv`` and
    ``impact_settings.csv`` (each with its source); see the module docstring for
    how every parameter enters the model.

    Parameters
    ----------
    commercial_multiplier, medicare_multiplier, medicaid_multiplier, self_pay_multiplier : float > 0
        Price of a line without an observed allowed amount, as a multiple of its
        Medicare fee-schedule price, by payer class.
    payer_cost_share : float in [0, 1]
        Payer's share of the allowed amount where ``paid_usd`` is not observed.
    volume_growth, fee_update : float > -1
        Annual growth of volume and of prices after year 1.
    stop_share : float in [0, 1]
        Share of newly unpaid renderings the practice stops producing.
    cost_per_rendering_usd : float >= 0
        Cost the practice avoids per rendering it stops.
    discount_rate : float >= 0
        For present values (0: undiscounted, the budget-impact convention).
    horizon_years : int in 1..5
    start_date : date
        First day of year 1.
    baseline_days : float, optional
        Length of the baseline in days; annualize by ``365 / baseline_days`` instead
        of averaging the summary's periods.
    payer_classes : mapping of payer label to class
        Labels not listed are ``commercial``.
    """

    commercial_multiplier: float = field(default_factory=lambda: _default("commercial_multiplier"))
    medicare_multiplier: float = field(default_factory=lambda: _default("medicare_multiplier"))
    medicaid_multiplier: float = field(default_factory=lambda: _default("medicaid_multiplier"))
    self_pay_multiplier: float = field(default_factory=lambda: _default("self_pay_multiplier"))
    payer_cost_share: float = field(default_factory=lambda: _default("payer_cost_share"))
    volume_growth: float = field(default_factory=lambda: _default("volume_growth"))
    fee_update: float = field(default_factory=lambda: _default("fee_update"))
    stop_share: float = field(default_factory=lambda: _default("stop_share"))
    cost_per_rendering_usd: float = field(
        default_factory=lambda: _default("cost_per_rendering_usd")
    )
    discount_rate: float = field(default_factory=lambda: _default("discount_rate"))
    horizon_years: int = field(default_factory=lambda: int(_setting("horizon_years")))
    start_date: dt.date = field(
        default_factory=lambda: dt.date.fromisoformat(_setting("start_date"))
    )
    baseline_days: float | None = None
    payer_classes: tuple[tuple[str, str], ...] = field(default_factory=_default_payer_classes)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in self.parameter_names():
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError("expected a number", column=name, value=value) from None
            if not np.isfinite(value):
                raise InputError("expected a finite number", column=name, value=value)
            set_(self, name, value)
        checks = {
            "commercial_multiplier": (lambda v: v > 0, "> 0"),
            "medicare_multiplier": (lambda v: v > 0, "> 0"),
            "medicaid_multiplier": (lambda v: v > 0, "> 0"),
            "self_pay_multiplier": (lambda v: v > 0, "> 0"),
            "payer_cost_share": (lambda v: 0 <= v <= 1, "in [0, 1]"),
            "stop_share": (lambda v: 0 <= v <= 1, "in [0, 1]"),
            "volume_growth": (lambda v: v > -1, "> -1"),
            "fee_update": (lambda v: v > -1, "> -1"),
            "cost_per_rendering_usd": (lambda v: v >= 0, ">= 0"),
            "discount_rate": (lambda v: v >= 0, ">= 0"),
        }
        for name, (ok, text) in checks.items():
            if not ok(getattr(self, name)):
                raise InputError(f"must be {text}", column=name, value=getattr(self, name))
        try:
            horizon = int(self.horizon_years)
        except (TypeError, ValueError):
            raise InputError(
                "expected 1-5", column="horizon_years", value=self.horizon_years
            ) from None
        if horizon != self.horizon_years or not 1 <= horizon <= 5:
            raise InputError(
                "the horizon is 1 to 5 whole years (ISPOR BIA)",
                column="horizon_years",
                value=self.horizon_years,
            )
        set_(self, "horizon_years", horizon)
        set_(self, "start_date", _as_date(self.start_date, "start_date"))
        if self.baseline_days is not None:
            days = float(self.baseline_days)
            if not days > 0:
                raise InputError(
                    "must be > 0 days", column="baseline_days", value=self.baseline_days
                )
            set_(self, "baseline_days", days)
        classes = self.payer_classes
        pairs = tuple(classes.items()) if isinstance(classes, Mapping) else tuple(classes)
        pairs = tuple((str(k).strip().upper(), str(v)) for k, v in pairs)
        for label, cls in pairs:
            if cls not in PAYER_CLASSES:
                raise InputError(
                    f"unknown payer class; choose one of {list(PAYER_CLASSES)}",
                    column=f"payer_classes[{label}]",
                    value=cls,
                )
        set_(self, "payer_classes", pairs)

    @staticmethod
    def parameter_names() -> tuple[str, ...]:
        """The numeric parameters (those in the assumption table)."""
        return (
            "commercial_multiplier",
            "medicare_multiplier",
            "medicaid_multiplier",
            "self_pay_multiplier",
            "payer_cost_share",
            "volume_growth",
            "fee_update",
            "stop_share",
            "cost_per_rendering_usd",
            "discount_rate",
        )

    def payer_class(self, payers: Iterable[str]) -> np.ndarray:
        """Class index (into :data:`PAYER_CLASSES`) of each payer label."""
        lookup = dict(self.payer_classes)
        labels = [str(p).strip().upper() for p in payers]
        return np.array(
            [PAYER_CLASSES.index(lookup.get(p, "commercial")) for p in labels], dtype=int
        )

    def replace(self, **changes: Any) -> ImpactAssumptions:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable fields."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["start_date"] = self.start_date.isoformat()
        out["payer_classes"] = dict(self.payer_classes)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImpactAssumptions:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InputError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown assumption; known: {sorted(known)}", value=sorted(unknown))
        return cls(**dict(data))


# ----------------------------------------------------------------- base


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


# --------------------------------------------------------------- the engine


def _parameters(assumptions: ImpactAssumptions, policy: Policy) -> dict[str, np.ndarray]:
    """The base case as one-draw parameter arrays."""
    params = {n: np.array([getattr(assumptions, n)]) for n in assumptions.parameter_names()}
    params["scope_share"] = np.array([policy.scope_share])
    params["threshold"] = np.array([policy.threshold])
    return params


def _annual(
    base: ImpactBase,
    policy: Policy,
    params: Mapping[str, np.ndarray],
    classes: np.ndarray,
    *,
    arrays: Mapping[str, np.ndarray] | None = None,
    mix: np.ndarray | None = None,
    reduce: bool = True,
) -> dict[str, np.ndarray]:
    """Annual quantities of year 1 with the policy fully in force.

    ``params`` maps each parameter to an ``(n_draws,)`` array; ``mix`` is an
    optional ``(n_draws, n_rows)`` factor on every row's volume (payer mix draws).
    Returns ``(n_draws, n_practices)`` arrays (``(n_draws, n_rows)`` when not
    ``reduce``) for :data:`_ANNUAL` quantities; the behavioural cost is applied by
    the callers, per year.
    """
    a = base.arrays() if arrays is None else arrays
    n_rows = len(base.rows)
    n_draws = len(params["commercial_multiplier"])
    mult = np.column_stack([params[f"{c}_multiplier"] for c in PAYER_CLASSES])[:, classes]
    applies = policy.applies_to(base.rows["payer"])
    keep = _paid_shares(
        policy,
        a,
        applies,
        scope_share=params["scope_share"][:, None],
        threshold=params["threshold"][:, None],
    )
    phi = params["payer_cost_share"][:, None]
    shape = (n_draws, n_rows)
    revenue_all, loss, payer_sav, unpaid = (np.zeros(shape) for _ in range(4))
    for g in GROUPS:
        revenue = a[f"rev_observed_usd_{g}"] + mult * a[f"rev_medicare_usd_{g}"]
        paid = a[f"rev_paid_usd_{g}"]
        units = a[f"rev_units_{g}"]
        if mix is not None:
            revenue, paid, units = revenue * mix, paid * mix, units * mix
        revenue_all += revenue
        k = keep[g]
        if k.shape[0] == 1 and np.all(k == 1.0):
            continue  # fully paid group: no loss (most groups of most policies)
        cut = 1.0 - k
        lost = cut * revenue
        loss += lost
        # The payer's part: observed paid amounts, plus the cost-share assumption on the
        # lines without paid_usd; never more than the revenue itself.
        payer_sav += cut * np.minimum(paid + phi * a[f"unpaid_fraction_{g}"] * revenue, revenue)
        unpaid += cut * units
    noncompliant = a["noncompliant_allowed_usd"] * (1.0 if mix is None else mix)
    out = {
        "revenue_without_usd": revenue_all,
        "loss_usd": loss,
        "payer_savings_usd": payer_sav,
        "renderings_unpaid": unpaid,
        "noncompliant_allowed_usd": np.broadcast_to(noncompliant, shape),
    }
    if reduce:
        starts = base.row_starts()
        out = {k: np.add.reduceat(v, starts, axis=1) for k, v in out.items()}
    out["patient_savings_usd"] = out["loss_usd"] - out["payer_savings_usd"]
    return out


def _in_force(policy: Policy, start_date: dt.date, horizon: int) -> np.ndarray:
    """Share of each horizon year in which the policy is in force."""
    share = np.ones(horizon)
    effective = pd.Timestamp(policy.effective_date)
    for k in range(horizon):
        begin = pd.Timestamp(start_date) + pd.DateOffset(years=k)
        end = pd.Timestamp(start_date) + pd.DateOffset(years=k + 1)
        share[k] = np.clip((end - max(effective, begin)).days / (end - begin).days, 0.0, 1.0)
    return share


def _year_factors(
    policy: Policy, params: Mapping[str, np.ndarray], *, horizon: int, start_date: dt.date
) -> dict[str, np.ndarray]:
    """``in_force (H,)``, and ``volume, price, discount`` of shape ``(n_draws, H)``."""
    t = np.arange(horizon)
    return {
        "in_force": _in_force(policy, start_date, horizon),
        "volume": (1.0 + params["volume_growth"][:, None]) ** t,
        "price": (1.0 + params["fee_update"][:, None]) ** t,
        "discount": (1.0 + params["discount_rate"][:, None]) ** -t,
    }


def _horizon_totals(
    annual: Mapping[str, np.ndarray],
    factors: Mapping[str, np.ndarray],
    params: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Discounted horizon totals ``(n_draws, n_practices)`` from year-1 quantities."""
    v, p, d, e = factors["volume"], factors["price"], factors["discount"], factors["in_force"]
    world = (v * p * d).sum(axis=1)[:, None]
    policy = (e * v * p * d).sum(axis=1)[:, None]
    work = (e * v * d).sum(axis=1)[:, None]
    stop_cost = (params["stop_share"] * params["cost_per_rendering_usd"])[:, None]
    loss = annual["loss_usd"] * policy
    cost_avoided = stop_cost * annual["renderings_unpaid"] * work
    return {
        "revenue_without_usd": annual["revenue_without_usd"] * world,
        "loss_usd": loss,
        "net_margin_loss_usd": loss - cost_avoided,
        "payer_savings_usd": annual["payer_savings_usd"] * policy,
        "patient_savings_usd": annual["patient_savings_usd"] * policy,
    }


# ------------------------------------------------------------------ results


_YEAR_COLUMNS = (
    "revenue_without_usd",
    "revenue_with_usd",
    "loss_usd",
    "payer_savings_usd",
    "patient_savings_usd",
    "renderings_unpaid",
    "cost_avoided_usd",
    "net_margin_loss_usd",
    "noncompliant_allowed_usd",
)


def _share(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


@dataclass(frozen=True)
class ImpactResult:
    """Revenue impact of one or more policies, per practice and year.

    Attributes
    ----------
    practices : DataFrame
        One row per ``practice_id x policy x year``: ``year`` (1..horizon),
        ``year_start``, ``in_force_share``, ``discount_factor``,
        ``revenue_without_usd, revenue_with_usd, loss_usd, loss_share`` (of the
        practice's 3D revenue, all payers; NaN without 3D revenue),
        ``payer_savings_usd, patient_savings_usd, renderings_unpaid,
        cost_avoided_usd, net_margin_loss_usd`` and ``noncompliant_allowed_usd``
        (denied in every world, not revenue).
    totals : DataFrame
        The same sums per ``policy x year`` with ``loss_share``, ``loss_pv_usd``,
        ``n_practices`` and ``n_practices_losing``.
    payers : DataFrame
        Per ``policy x year x payer``: revenue without, loss, payer and patient
        savings.
    assumptions : ImpactAssumptions
    policies : tuple of Policy
    base : dict
        Baseline periods, days, annualization factor and counts.
    """

    practices: pd.DataFrame
    totals: pd.DataFrame
    payers: pd.DataFrame
    assumptions: ImpactAssumptions
    policies: tuple[Policy, ...]
    base: dict[str, Any]

    @property
    def summary(self) -> pd.DataFrame:
        """Headline numbers per policy (one row each)."""
        t = self.totals
        p = self.practices
        first = t[t["year"] == 1].set_index("policy")
        horizon = t.groupby("policy", sort=False)[
            [
                "revenue_without_usd",
                "loss_usd",
                "loss_pv_usd",
                "net_margin_loss_usd",
                "payer_savings_usd",
                "patient_savings_usd",
            ]
        ].sum()
        per_practice = p.groupby(["policy", "practice_id"], sort=False)[
            ["loss_usd", "revenue_without_usd"]
        ].sum()
        worst = (
            _share(per_practice["loss_usd"], per_practice["revenue_without_usd"])
            .groupby(level="policy", sort=False)
            .max()
        )
        names = [pol.name for pol in self.policies]
        return pd.DataFrame(
            {
                "policy": names,
                "loss_year1_usd": first["loss_usd"].reindex(names).to_numpy(),
                "loss_share_year1": first["loss_share"].reindex(names).to_numpy(),
                "loss_horizon_usd": horizon["loss_usd"].reindex(names).to_numpy(),
                "loss_pv_usd": horizon["loss_pv_usd"].reindex(names).to_numpy(),
                "net_margin_loss_horizon_usd": horizon["net_margin_loss_usd"]
                .reindex(names)
                .to_numpy(),
                "payer_savings_horizon_usd": horizon["payer_savings_usd"].reindex(names).to_numpy(),
                "patient_savings_horizon_usd": horizon["patient_savings_usd"]
                .reindex(names)
                .to_numpy(),
                "revenue_without_horizon_usd": horizon["revenue_without_usd"]
                .reindex(names)
                .to_numpy(),
                "n_practices": first["n_practices"].reindex(names).to_numpy(),
                "n_practices_losing": first["n_practices_losing"].reindex(names).to_numpy(),
                "max_practice_loss_share": worst.reindex(names).to_numpy(),
                "noncompliant_allowed_year1_usd": first["noncompliant_allowed_usd"]
                .reindex(names)
                .to_numpy(),
            }
        )

    def assumption_table(self) -> pd.DataFrame:
        """Every input used, with its value, range and source."""
        table = assumption_table()
        values = {n: getattr(self.assumptions, n) for n in self.assumptions.parameter_names()}
        rows = []
        for rec in table.to_dict("records"):
            if rec["applies_to"] == "policy":
                kinds = (
                    ("lcd_cap",)
                    if rec["parameter"] == "threshold"
                    else ("full_bundling", "lcd_cap", "medical_necessity")
                )
                used = sorted(
                    {getattr(p, rec["parameter"]) for p in self.policies if p.kind in kinds}
                )
                value = (
                    used[0] if len(used) == 1 else ", ".join(f"{u:g}" for u in used) or "not used"
                )
            else:
                value = values[rec["parameter"]]
            rows.append({**rec, "value": value})
        settings = settings_table().set_index("setting")["source"]
        eff = sorted(
            {p.effective_date.isoformat() for p in self.policies if p.kind != "status_quo"}
        )
        extra = [
            ("effective_date", ", ".join(eff) or "-", settings["effective_date"]),
            ("start_date", self.assumptions.start_date.isoformat(), settings["start_date"]),
            ("horizon_years", self.assumptions.horizon_years, settings["horizon_years"]),
            (
                "policy_payers",
                ", ".join(sorted({x for p in self.policies for x in p.payers})) or "-",
                settings["policy_payers"],
            ),
            (
                "annualization_factor",
                round(self.base["annualization_factor"], 6),
                f"baseline {self.base['periods'][0]}..{self.base['periods'][-1]}, "
                f"{self.base['baseline_days']:g} days, "
                f"method '{self.base['annualization_method']}'",
            ),
        ]
        out = pd.DataFrame(rows)[
            ["parameter", "value", "base", "low", "high", "distribution", "unit", "label", "source"]
        ]
        return pd.concat(
            [out, pd.DataFrame(extra, columns=["parameter", "value", "source"])],
            ignore_index=True,
        ).assign(value=lambda d: d["value"].astype(str))

    def headline(self) -> str:
        """One sentence per policy (for reports and the CLI)."""
        lines = []
        h = self.assumptions.horizon_years
        disc = (
            "undiscounted"
            if self.assumptions.discount_rate == 0
            else f"{self.assumptions.discount_rate:.1%} discount rate shown separately"
        )
        for pol, row in zip(self.policies, self.summary.itertuples(index=False), strict=True):
            if pol.kind == "status_quo":
                lines.append(f"{pol.name}: no change (reference world).")
                continue
            share = "n/a" if pd.isna(row.loss_share_year1) else f"{row.loss_share_year1:.1%}"
            worst = (
                "n/a"
                if pd.isna(row.max_practice_loss_share)
                else f"{row.max_practice_loss_share:.0%}"
            )
            lines.append(
                f"{pol.name}: practices lose ${row.loss_year1_usd:,.0f} of 3D revenue in year 1 "
                f"({share} of their 3D revenue) and ${row.loss_horizon_usd:,.0f} over {h} "
                f"year(s) ({disc}); {row.n_practices_losing} of {row.n_practices} practices "
                f"lose revenue, the most affected {worst} of its 3D revenue."
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable headline numbers, per-year totals and all inputs."""
        return json.loads(
            json.dumps(
                {
                    "summary": self.summary.to_dict("records"),
                    "totals": self.totals.assign(
                        year_start=self.totals["year_start"].dt.strftime("%Y-%m-%d")
                    ).to_dict("records"),
                    "assumptions": self.assumptions.to_dict(),
                    "assumption_sources": self.assumption_table().to_dict("records"),
                    "policies": [p.to_dict() for p in self.policies],
                    "baseline": self.base,
                },
                default=_json_default,
            )
        )

    def _repr_html_(self) -> str:
        fmt = {c: "{:,.0f}" for c in self.totals.columns if c.endswith("_usd")}
        fmt.update({"loss_share": "{:.2%}", "in_force_share": "{:.2f}"})
        year_cols = [
            "policy",
            "year",
            "in_force_share",
            "revenue_without_usd",
            "revenue_with_usd",
            "loss_usd",
            "loss_share",
            "net_margin_loss_usd",
            "payer_savings_usd",
            "patient_savings_usd",
            "n_practices_losing",
        ]
        per_year = self.totals[year_cols].style.format(fmt).hide(axis="index").to_html()
        table = self.assumption_table()[["parameter", "value", "low", "high", "source"]]
        heads = "".join(f"<li>{html.escape(x)}</li>" for x in self.headline().splitlines())
        return (
            "<div><h4>Revenue impact of 3D rendering payment policies</h4>"
            f"<ul>{heads}</ul><h5>Per year</h5>{per_year}"
            f"<h5>Assumptions and sources</h5>{table.to_html(index=False, na_rep='')}</div>"
        )

    def __repr__(self) -> str:
        return (
            f"ImpactResult({len(self.policies)} policies, {self.base['n_practices']} practices)\n"
            + self.headline()
        )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, (dt.date, pd.Timestamp)):
        return obj.isoformat()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def impact(
    summary: pd.DataFrame | ImpactBase,
    policies: Policy | Sequence[Policy] | None = None,
    *,
    assumptions: ImpactAssumptions | None = None,
) -> ImpactResult:
    """World without vs. world with each policy, per practice and year.

    Parameters
    ----------
    summary : DataFrame or ImpactBase
        The additive practice summary (:func:`analysis.summary.summarize`), or a
        base already built with :func:`impact_base`.
    policies : Policy or sequence of Policy, optional
        Default: full bundling by BCBS NC (:func:`analysis.policy.full_bundling`).
    assumptions : ImpactAssumptions, optional
        Defaults from ``data/reference/impact_assumptions.csv``.

    Returns
    -------
    ImpactResult
        ``practices`` (practice x policy x year), ``totals`` (policy x year),
        ``payers`` (policy x year x payer), ``summary`` and a rendered report.

    Examples
    --------
    >>> result = impact(summary, [full_bundling(), lcd_cap()])   # doctest: +SKIP
    >>> result.totals[["policy", "year", "loss_usd"]]              # doctest: +SKIP
    """
    assumptions = assumptions or ImpactAssumptions()
    if policies is None:
        policies = (full_bundling(),)
    elif isinstance(policies, Policy):
        policies = (policies,)
    policies = tuple(policies)
    if not policies:
        raise InputError("give at least one policy", column="policy")
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise InputError("policy names must be unique", column="policy", value=names)
    base = (
        summary
        if isinstance(summary, ImpactBase)
        else impact_base(summary, baseline_days=assumptions.baseline_days)
    )
    classes = assumptions.payer_class(base.rows["payer"])
    arrays = base.arrays()
    horizon = assumptions.horizon_years
    n_rows = len(base.rows)
    blocks: dict[str, list[np.ndarray]] = {}
    years = []
    for policy in policies:
        params = _parameters(assumptions, policy)
        rows = {
            k: v[0]
            for k, v in _annual(base, policy, params, classes, arrays=arrays, reduce=False).items()
        }
        f = _year_factors(policy, params, horizon=horizon, start_date=assumptions.start_date)
        e = f["in_force"][:, None]
        v, p, d = (f[x][0][:, None] for x in ("volume", "price", "discount"))
        unpaid = rows["renderings_unpaid"] * e * v
        cost = unpaid * (assumptions.stop_share * assumptions.cost_per_rendering_usd)
        loss = rows["loss_usd"] * e * v * p
        without = rows["revenue_without_usd"] * v * p
        block = {
            "revenue_without_usd": without,
            "revenue_with_usd": without - loss,
            "loss_usd": loss,
            "payer_savings_usd": rows["payer_savings_usd"] * e * v * p,
            "patient_savings_usd": rows["patient_savings_usd"] * e * v * p,
            "renderings_unpaid": unpaid,
            "cost_avoided_usd": cost,
            "net_margin_loss_usd": loss - cost,
            "noncompliant_allowed_usd": rows["noncompliant_allowed_usd"] * v * p,
        }
        for k, x in block.items():
            blocks.setdefault(k, []).append(np.broadcast_to(x, (horizon, n_rows)).ravel())
        years.append(
            pd.DataFrame(
                {
                    "policy": policy.name,
                    "year": np.arange(1, horizon + 1),
                    "year_start": [
                        pd.Timestamp(assumptions.start_date) + pd.DateOffset(years=k)
                        for k in range(horizon)
                    ],
                    "in_force_share": f["in_force"],
                    "discount_factor": f["discount"][0],
                }
            )
        )
    n_pol = len(policies)
    long = pd.DataFrame(
        {
            "policy": np.repeat([p.name for p in policies], horizon * n_rows),
            "year": np.tile(np.repeat(np.arange(1, horizon + 1), n_rows), n_pol),
            "practice_id": np.tile(base.rows["practice_id"].to_numpy(), horizon * n_pol),
            "payer": np.tile(base.rows["payer"].to_numpy(), horizon * n_pol),
            **{k: np.concatenate(x) for k, x in blocks.items()},
        }
    )
    year_info = pd.concat(years, ignore_index=True)
    keys = ["policy", "year", "year_start", "in_force_share", "discount_factor"]
    practices = (
        long.groupby(["policy", "year", "practice_id"], sort=False, as_index=False)[
            list(_YEAR_COLUMNS)
        ]
        .sum()
        .merge(year_info, on=["policy", "year"], how="left")
        .assign(loss_share=lambda x: _share(x["loss_usd"], x["revenue_without_usd"]))[
            [
                "practice_id",
                *keys,
                "revenue_without_usd",
                "revenue_with_usd",
                "loss_usd",
                "loss_share",
                *_YEAR_COLUMNS[3:],
            ]
        ]
    )
    totals = (
        practices.assign(losing=practices["loss_usd"] > 0, one=1)
        .groupby(["policy", "year"], sort=False, as_index=False)
        .agg(
            **{c: (c, "sum") for c in _YEAR_COLUMNS},
            n_practices=("one", "sum"),
            n_practices_losing=("losing", "sum"),
        )
        .merge(year_info, on=["policy", "year"], how="left")
        .assign(
            loss_share=lambda x: _share(x["loss_usd"], x["revenue_without_usd"]),
            loss_pv_usd=lambda x: x["loss_usd"] * x["discount_factor"],
        )
    )
    totals = totals[keys + [c for c in totals.columns if c not in keys]]
    payers = (
        long.groupby(["policy", "year", "payer"], sort=False, as_index=False)[
            ["revenue_without_usd", "loss_usd", "payer_savings_usd", "patient_savings_usd"]
        ]
        .sum()
        .assign(loss_share=lambda x: _share(x["loss_usd"], x["revenue_without_usd"]))
    )
    return ImpactResult(
        practices=practices,
        totals=totals.reset_index(drop=True),
        payers=payers,
        assumptions=assumptions,
        policies=policies,
        base=base.to_dict(),
    )


def default_policies() -> tuple[Policy, ...]:
    """Status quo and the three alternatives with their default parameters."""
    from analysis.policy import lcd_cap, medical_necessity

    return (status_quo(), full_bundling(), lcd_cap(), medical_necessity())
