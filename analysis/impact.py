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
    Year 1 is each practice's baseline scaled to one year, from the practice's own
    observed periods: the calendar periods of the summary (``"2024"`` = 1 year,
    ``"2024Q1"`` = 1/4, ``"2024-01"`` = 1/12) in which it has claim lines are
    counted, and its counts and dollars are divided by their length in years, so a
    practice with two quarters of claims is doubled and one with four (even a leap
    year) is unchanged. One practice's dates never scale another's: a stray line
    dated decades away adds one period to its own practice only. Every output states
    how each practice was annualized (``ImpactResult.annualization``, the columns
    ``periods_observed`` and ``annualization_factor`` of ``practices``, and
    ``base["annualization"]``). With ``baseline_days`` the factor is ``365 /
    baseline_days`` for every practice instead (for data that start or end inside a
    period). The LCD cap is computed on the whole baseline, not per period.
Years
    Year ``t`` (1..horizon) starts ``t - 1`` years after ``start_date``. Volumes grow
    by ``(1 + volume_growth)^(t-1)``. Prices are those of each year's Medicare fee
    schedule (``prices="fee_schedule"``, the default;
    :func:`analysis.revenue_engine.horizon_prices`): with a 2025 start, year 1 is
    priced at the 2025 PFS (2025 RVU file, conversion factor $32.3465), year 2 at the
    2026 PFS (2026 RVU file, $33.4009, and the 2025 GPCIs, the latest shipped), each as
    a price index of a fixed basket of 3D rendering on the schedule that priced the
    baseline - each practice's own mix of fee-schedule-priced 3D lines by code,
    component, setting and state when the base carries it (``baskets``, from the
    claims engines), else its units of 76376 and 76377 as the global service - and
    later years at the last known schedule times ``(1 + fee_update)`` per year after
    it. ``prices="baseline"`` keeps the baseline's prices,
    times ``(1 + fee_update)^(t-1)``. The result's ``prices`` table, its assumption
    table and JSON say which schedule priced each year. The loss
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
``data/reference/impact_settings.csv`` (read by :mod:`analysis.assumptions`). The stop
share may instead be measured from the claims ([M], ``stop_share="measured"``,
:mod:`analysis.measured`): the response estimate is the base case, its interval the
tornado's range and the PSA's fitted distribution, and every output says which it was.

This module holds the model's inputs (:class:`ImpactAssumptions`), its entry point
(:func:`impact`) and its result (:class:`ImpactResult`); the annualized revenue base
is built in :mod:`analysis.revenue_base` and the arithmetic, shared with
:mod:`analysis.uncertainty`, is in :mod:`analysis.revenue_engine`.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis import plots
from analysis._io import dumps_json
from analysis.assumptions import (
    assumption_table,
    default_payer_classes,
    default_setting,
    default_value,
    settings_table,
)
from analysis.errors import InputError
from analysis.measured import MEASURED, MeasuredStopShare, resolve_stop_share
from analysis.policy import (
    POLICY_NAMES,
    Policy,
    as_date,
    full_bundling,
    lcd_cap,
    medical_necessity,
    status_quo,
)
from analysis.response import ResponseResult
from analysis.revenue_base import REQUIRED_COLUMNS, ImpactBase, as_base, impact_base
from analysis.revenue_engine import (
    PAYER_CLASSES,
    PRICE_MODES,
    HorizonPrices,
    annual_quantities,
    base_case_parameters,
    price_table,
    year_factors,
)

__all__ = [
    "MEASURED",
    "PAYER_CLASSES",
    "REQUIRED_COLUMNS",
    "ImpactAssumptions",
    "ImpactBase",
    "ImpactResult",
    "MeasuredStopShare",
    "assumption_table",
    "default_policies",
    "impact",
    "impact_base",
    "resolve_stop_share",
    "settings_table",
]



def _base_value(parameter: str) -> Any:
    """A dataclass field whose default is the parameter's base in the assumption table."""
    return field(default_factory=lambda: default_value(parameter))


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
        Annual growth of volume after year 1, and of prices after the last known fee
        schedule (2026; after year 1 with ``prices="baseline"``).
    stop_share : float in [0, 1], or "measured"
        Share of newly unpaid renderings the practice stops producing. ``"measured"``
        asks for the share measured from the claims (:mod:`analysis.measured`): the
        model functions (:func:`impact`, :func:`analysis.uncertainty.one_way`,
        :func:`~analysis.uncertainty.psa`, :func:`~analysis.uncertainty.run_scenarios`)
        measure it, or take the ``response`` they are given, through
        :func:`resolve_stop_share`; resolved, ``stop_share`` is the estimate and
        ``measured_response`` says where it came from.
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
    prices : {"fee_schedule", "baseline"}
        How the horizon years are priced: each at its own Medicare fee schedule
        (default) or at the baseline's prices moved by ``fee_update`` from year 2
        (:func:`analysis.revenue_engine.horizon_prices`).
    measured_response : MeasuredStopShare, optional
        The measurement the stop share was taken from (its estimate, interval and
        source); None when the stop share is assumed. Given, ``stop_share`` becomes its
        estimate, and the tornado and the PSA take its interval instead of the
        assumption table's range.
    """

    commercial_multiplier: float = _base_value("commercial_multiplier")
    medicare_multiplier: float = _base_value("medicare_multiplier")
    medicaid_multiplier: float = _base_value("medicaid_multiplier")
    self_pay_multiplier: float = _base_value("self_pay_multiplier")
    payer_cost_share: float = _base_value("payer_cost_share")
    volume_growth: float = _base_value("volume_growth")
    fee_update: float = _base_value("fee_update")
    stop_share: float = _base_value("stop_share")
    cost_per_rendering_usd: float = _base_value("cost_per_rendering_usd")
    discount_rate: float = _base_value("discount_rate")
    horizon_years: int = field(default_factory=lambda: int(default_setting("horizon_years")))
    start_date: dt.date = field(
        default_factory=lambda: dt.date.fromisoformat(default_setting("start_date"))
    )
    baseline_days: float | None = None
    payer_classes: tuple[tuple[str, str], ...] = field(default_factory=default_payer_classes)
    prices: str = field(default_factory=lambda: default_setting("prices"))
    measured_response: MeasuredStopShare | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        measured = self.measured_response
        if isinstance(measured, Mapping):
            measured = MeasuredStopShare.from_dict(measured)
            set_(self, "measured_response", measured)
        if measured is not None:
            if not isinstance(measured, MeasuredStopShare):
                raise InputError("expected a MeasuredStopShare (analysis.measured)",
                                 column="measured_response", value=type(measured).__name__)
            if self.stop_share != MEASURED and not (
                    isinstance(self.stop_share, int | float)
                    and np.isclose(self.stop_share, measured.estimate, rtol=0, atol=1e-12)):
                raise InputError(
                    f"the stop share is measured ({measured.estimate:.4g}); give "
                    "stop_share 'measured' with it, or a number without measured_response",
                    column="stop_share", value=self.stop_share)
            set_(self, "stop_share", measured.estimate)
        for name in self.parameter_names():
            value = getattr(self, name)
            if name == "stop_share" and value == MEASURED:
                continue  # to be measured: resolve_stop_share
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
        if self.stop_share == MEASURED:
            del checks["stop_share"]
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
        set_(self, "start_date", as_date(self.start_date, "start_date"))
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
        if self.prices not in PRICE_MODES:
            raise InputError(f"must be one of {', '.join(PRICE_MODES)}", column="prices",
                             value=self.prices)

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

    @property
    def stop_share_measured(self) -> bool:
        """Whether the stop share was measured from the claims (resolved)."""
        return self.measured_response is not None

    @property
    def stop_share_pending(self) -> bool:
        """Whether the stop share is ``"measured"`` but not yet measured
        (:func:`resolve_stop_share` measures it)."""
        return self.stop_share == MEASURED

    @property
    def stop_share_statement(self) -> str:
        """Where the stop share comes from, in a sentence: assumed (value, range,
        source) or measured (estimate, interval, quarters, payers)."""
        if self.measured_response is not None:
            return self.measured_response.sentence
        if self.stop_share_pending:
            return "The stop share is to be measured from the claims (not yet measured)."
        row = assumption_table().set_index("parameter").loc["stop_share"]
        return (f"The stop share is assumed, not measured: practices stop "
                f"{self.stop_share:.0%} of the renderings that become unpaid (range "
                f"{row['low']:.0%} to {row['high']:.0%}; {row['source']}).")

    def replace(self, **changes: Any) -> ImpactAssumptions:
        """A validated copy with some fields changed.

        A new number for ``stop_share`` drops the measurement (the share is then
        assumed); ``stop_share="measured"`` keeps it.
        """
        if ("stop_share" in changes and "measured_response" not in changes
                and changes["stop_share"] != MEASURED):
            changes["measured_response"] = None
        if changes.get("stop_share") == MEASURED and self.measured_response is not None:
            changes.setdefault("measured_response", self.measured_response)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable fields."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["start_date"] = self.start_date.isoformat()
        out["payer_classes"] = dict(self.payer_classes)
        out["measured_response"] = (None if self.measured_response is None
                                    else self.measured_response.to_dict())
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImpactAssumptions:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InputError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown assumption; known: {sorted(known)}", value=sorted(unknown))
        return cls(**dict(data))



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


def _factor_text(base: Mapping[str, Any]) -> str:
    """The annualization factor as an assumption value: one number, or its range."""
    if base["annualization_factor"] is not None:
        return f"{base['annualization_factor']:.6g}"
    return (f"{base['annualization_factor_min']:.4g} to {base['annualization_factor_max']:.4g} "
            "(per practice)")


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
        cost_avoided_usd, net_margin_loss_usd``, ``noncompliant_allowed_usd``
        (denied in every world, not revenue), how the practice was annualized:
        ``periods_observed`` and ``annualization_factor``, and ``price_factor``, its
        prices in the year relative to its baseline (the fee-schedule index of
        :attr:`prices` times ``(1 + fee_update)`` per year after the schedule).
    totals : DataFrame
        The same sums per ``policy x year`` with ``loss_share``, ``loss_pv_usd``,
        ``n_practices`` and ``n_practices_losing``.
    payers : DataFrame
        Per ``policy x year x payer``: revenue without, loss, payer and patient
        savings.
    assumptions : ImpactAssumptions
    policies : tuple of Policy
    base : dict
        Baseline periods and days, how year 1 was annualized (``annualization``, in
        words; the common ``annualization_factor`` or None, its min and max) and counts.
    annualization : DataFrame
        Per practice: ``practice_id, first_period, last_period, periods_observed,
        years_observed, annualization_factor`` (:class:`analysis.revenue_base.ImpactBase`).
    prices : HorizonPrices
        What priced each horizon year (:func:`~analysis.revenue_engine.horizon_prices`):
        ``prices.years`` its fee schedule (RVU and GPCI file years, conversion factor),
        the whole baseline's price index and the years of ``fee_update`` after it, in
        numbers and in words (``fee_schedule``); ``prices.practices`` each practice's
        index; ``prices.baseline`` and ``prices.basket`` in words.
    """

    practices: pd.DataFrame
    totals: pd.DataFrame
    payers: pd.DataFrame
    assumptions: ImpactAssumptions
    policies: tuple[Policy, ...]
    base: dict[str, Any]
    annualization: pd.DataFrame
    prices: HorizonPrices | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """Headline numbers per policy (one row each), with the stop share used and
        whether it was ``"assumed"`` or ``"measured"`` (``stop_share_source``)."""
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
                "stop_share": self.assumptions.stop_share,
                "stop_share_source": self.stop_share_source,
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
            if rec["parameter"] == "stop_share" and self.assumptions.measured_response:
                m = self.assumptions.measured_response
                rec = {**rec, "low": m.low, "high": m.high, "distribution": m.distribution,
                       "source": m.source, "label": m.label(rec["label"])}
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
            ("annualization_factor", _factor_text(self.base), self.base["annualization"]),
            ("prices", self.assumptions.prices, settings["prices"]),
            *(
                (f"fee_schedule_year_{r.year}", round(r.price_index, 6), r.fee_schedule)
                for r in self.prices.years.itertuples()
            ),
            ("fee_schedule_baseline", 1.0, self.prices.baseline),
            *([("fee_schedule_basket", "-", self.prices.basket)] if self.prices.basket else []),
        ]
        out = pd.DataFrame(rows)[
            ["parameter", "value", "base", "low", "high", "distribution", "unit", "label", "source"]
        ]
        return pd.concat(
            [out, pd.DataFrame(extra, columns=["parameter", "value", "source"])],
            ignore_index=True,
        ).assign(value=lambda d: d["value"].astype(str))

    @property
    def stop_share_source(self) -> str:
        """``"measured"`` (from the claims) or ``"assumed"``."""
        return "measured" if self.assumptions.stop_share_measured else "assumed"

    @property
    def stop_share_statement(self) -> str:
        """Where the stop share comes from, in a sentence
        (:attr:`ImpactAssumptions.stop_share_statement`)."""
        return self.assumptions.stop_share_statement

    def headline(self, *, policy: str | None = None) -> str:
        """One sentence per policy (for reports and the CLI), or for ``policy`` only."""
        if policy is not None:
            names = [p.name for p in self.policies]
            if policy not in names:
                raise InputError("not among the policies compared", column="policy",
                                 value=policy)
            return self.headline().splitlines()[names.index(policy)]
        lines = []
        h = self.assumptions.horizon_years
        disc = (
            "undiscounted"
            if self.assumptions.discount_rate == 0
            else f"{self.assumptions.discount_rate:.1%} discount rate shown separately"
        )
        for pol, row in zip(self.policies, self.summary.itertuples(index=False), strict=True):
            name = POLICY_NAMES.get(pol.name, pol.name)  # a named policy keeps its name
            if pol.kind == "status_quo":
                lines.append(f"{name}: the reference world, nothing changes.")
                continue
            if not row.revenue_without_horizon_usd > 0:
                lines.append(
                    f"{name}: no practice has 3D rendering revenue in the claims, so "
                    "there is nothing to lose ($0); the loss share is not estimable."
                )
                continue
            # With 3D revenue, both shares are defined.
            share = f"{row.loss_share_year1:.1%}"
            worst = f"{row.max_practice_loss_share:.0%}"
            lines.append(
                f"{name}: practices lose ${row.loss_year1_usd:,.0f} of 3D revenue in year 1 "
                f"({share} of their 3D revenue) and ${row.loss_horizon_usd:,.0f} over {h} "
                f"year{'' if h == 1 else 's'} ({disc}); {row.n_practices_losing} of "
                f"{row.n_practices} practices "
                f"lose revenue, the most affected {worst} of its 3D revenue."
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Headline numbers, per-year totals, all inputs and each practice's
        annualization, as plain JSON values.

        Missing numbers (NaN) are None, as in the standard JSON the result is written to.
        """
        return json.loads(
            dumps_json(
                {
                    "summary": self.summary.to_dict("records"),
                    "totals": self.totals.assign(
                        year_start=self.totals["year_start"].dt.strftime("%Y-%m-%d")
                    ).to_dict("records"),
                    "assumptions": self.assumptions.to_dict(),
                    "stop_share_source": {
                        "source": self.stop_share_source,
                        "statement": self.stop_share_statement,
                        "measured": self.assumptions.to_dict()["measured_response"],
                    },
                    "assumption_sources": self.assumption_table().to_dict("records"),
                    "policies": [p.to_dict() for p in self.policies],
                    "baseline": self.base,
                    "annualization": self.annualization.to_dict("records"),
                    "fee_schedules": self.prices.to_dict(),
                },
                indent=None,
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
            f"<ul>{heads}</ul><p>{html.escape(self.base['annualization'])}</p>"
            f"<p>{html.escape(self.stop_share_statement)}</p>"
            f"{self._figure_html()}<h5>Per year</h5>{per_year}"
            f"<h5>Assumptions and sources</h5>{table.to_html(index=False, na_rep='')}</div>"
        )

    def _figure_html(self) -> str:
        """The loss of each alternative policy over the horizon (two or more), or the
        revenue with and without the one alternative per year; none for the status
        quo alone."""
        alternatives = [p.name for p in self.policies if p.kind != "status_quo"]
        if not alternatives:
            return ""
        fig = (plots.policy_comparison(self) if len(alternatives) > 1
               else plots.impact_by_year(self, alternatives[0]))
        return plots.figure_html(fig)

    def __repr__(self) -> str:
        return (
            f"ImpactResult({len(self.policies)} policies, {self.base['n_practices']} practices)\n"
            + self.headline() + "\n" + self.stop_share_statement
        )



def impact(
    summary: pd.DataFrame | ImpactBase,
    policies: Policy | Sequence[Policy] | None = None,
    *,
    assumptions: ImpactAssumptions | None = None,
    prices: str | HorizonPrices | None = None,
    response: ResponseResult | None = None,
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
    prices : {"fee_schedule", "baseline"} or HorizonPrices, optional
        How the horizon years are priced; default ``assumptions.prices``
        (``"fee_schedule"``), which a string replaces. ``"fee_schedule"``: base-year
        volumes priced at each horizon year's Medicare fee schedule
        (:func:`analysis.revenue_engine.horizon_prices` with the bundled files), then
        ``(1 + fee_update)`` per year after the last known one. ``"baseline"``: the
        baseline's prices, times ``(1 + fee_update)`` per year after year 1 (the
        model before 2026's schedule was known). The result of ``horizon_prices``
        prices with a user's files (a 2026 GPCI table, say) or basket. The result's
        ``prices``, its practices' ``price_factor``, its assumption table and JSON say
        which schedule priced each year.
    response : ResponseResult, optional
        With ``assumptions.stop_share="measured"``: the measured response whose
        headline stop share the model takes (:func:`resolve_stop_share`; measured from
        ``summary`` when not given). Not used when the stop share is a number.

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
    if isinstance(prices, str):
        assumptions = assumptions.replace(prices=prices)
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
    assumptions = resolve_stop_share(assumptions, summary, policies=policies,
                                     response=response)
    base = as_base(summary, baseline_days=assumptions.baseline_days)
    classes = assumptions.payer_class(base.rows["payer"])
    arrays = base.arrays()
    horizon = assumptions.horizon_years
    n_rows = len(base.rows)
    prices = price_table(base, assumptions, None if isinstance(prices, str) else prices)
    owner = np.repeat(np.arange(len(base.practice_ids)),
                      np.diff(np.r_[base.row_starts(), n_rows]))
    blocks: dict[str, list[np.ndarray]] = {}
    years = []
    for policy in policies:
        params = base_case_parameters(assumptions, policy)
        rows = {
            k: v[0]
            for k, v in annual_quantities(
                base, policy, params, classes, arrays=arrays, reduce=False
            ).items()
        }
        f = year_factors(
            policy, params, horizon=horizon, start_date=assumptions.start_date, prices=prices
        )
        e = f["in_force"][:, None]
        v, p, d = (f[x][0][:, None] for x in ("volume", "price", "discount"))
        p = p * f["index"][:, owner]
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
        .merge(
            base.annualization[["practice_id", "periods_observed", "annualization_factor"]],
            on="practice_id",
            how="left",
        )
        .merge(_price_factors(prices, assumptions.fee_update), on=["practice_id", "year"],
               how="left")
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
        annualization=base.annualization,
        prices=prices,
    )


def _price_factors(prices: HorizonPrices, fee_update: float) -> pd.DataFrame:
    """Each practice's prices in each year relative to its baseline: its fee-schedule
    index times ``(1 + fee_update)`` per year after the schedule."""
    after = prices.years.set_index("year")["years_after_schedule"]
    p = prices.practices
    return pd.DataFrame({
        "practice_id": p["practice_id"],
        "year": p["year"],
        "price_factor": p["price_index"] * (1.0 + fee_update) ** p["year"].map(after),
    })  # fmt: skip


def default_policies() -> tuple[Policy, ...]:
    """Status quo and the three alternatives with their default parameters."""
    return (status_quo(), full_bundling(), lcd_cap(), medical_necessity())

