"""The revenue engine: the budget-impact model's arithmetic, vectorised over draws.

Revenue is linear in every price and volume (see the definitions in
:mod:`analysis.impact`), so one pass over the practice x payer rows of an
:class:`~analysis.revenue_base.ImpactBase` evaluates any number of parameter draws
at once: every parameter is an array of shape ``(n_draws,)`` and every quantity an
array of shape ``(n_draws, n_practices)``. :func:`analysis.impact.impact` runs it
with one draw, the base case (:func:`base_case_parameters`);
:mod:`analysis.uncertainty` with thousands.

- :func:`annual_quantities`: year 1 with the policy fully in force.
- :func:`horizon_prices`: the fee schedule that prices each horizon year and its price
  index against the baseline.
- :func:`year_factors`: share of each horizon year in force, volume growth, prices
  and discounting.
- :func:`horizon_totals`: the two combined into discounted totals over the horizon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.policy import GROUPS, Policy, paid_share_arrays
from analysis.pricing import FeeSchedule, bundled_schedule, conversion_factors, price
from analysis.revenue_base import ImpactBase

if TYPE_CHECKING:
    from analysis.impact import ImpactAssumptions

__all__ = [
    "ANNUAL_QUANTITIES",
    "PAYER_CLASSES",
    "annual_quantities",
    "base_case_parameters",
    "horizon_prices",
    "horizon_totals",
    "year_factors",
]

#: Price classes of payer labels; each has a multiplier of the Medicare fee schedule.
PAYER_CLASSES: tuple[str, ...] = ("commercial", "medicare", "medicaid", "self_pay")
#: What :func:`annual_quantities` returns, per practice (or row) and draw.
ANNUAL_QUANTITIES: tuple[str, ...] = (
    "revenue_without_usd",
    "loss_usd",
    "payer_savings_usd",
    "patient_savings_usd",
    "renderings_unpaid",
    "noncompliant_allowed_usd",
)


def base_case_parameters(
    assumptions: ImpactAssumptions, policy: Policy
) -> dict[str, np.ndarray]:
    """The engine's parameters at their base-case values, as one-draw arrays.

    Every numeric field of ``assumptions`` (:meth:`ImpactAssumptions.parameter_names`)
    and the policy's ``scope_share`` and ``threshold``, each an array of shape
    ``(1,)``; the uncertainty analyses replace some of them by their draws.
    """
    params = {n: np.array([getattr(assumptions, n)]) for n in assumptions.parameter_names()}
    params["scope_share"] = np.array([policy.scope_share])
    params["threshold"] = np.array([policy.threshold])
    return params


def annual_quantities(
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
    ``reduce``) for :data:`ANNUAL_QUANTITIES`; the behavioural cost is applied by
    the callers, per year.
    """
    a = base.arrays() if arrays is None else arrays
    n_rows = len(base.rows)
    n_draws = len(params["commercial_multiplier"])
    mult = np.column_stack([params[f"{c}_multiplier"] for c in PAYER_CLASSES])[:, classes]
    applies = policy.applies_to(base.rows["payer"])
    keep = paid_share_arrays(
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


def _middle(start: pd.Timestamp, end: pd.Timestamp) -> pd.Timestamp:
    return (start + (end - start) / 2).normalize()


def horizon_prices(
    base: ImpactBase,
    *,
    horizon: int,
    start_date: dt.date,
    schedule: FeeSchedule | None = None,
    qualifying_apm: bool = False,
) -> pd.DataFrame:
    """The fee schedule of each horizon year and its price index against the baseline.

    Base-year volumes are priced at each horizon year's fee schedule: the Medicare PFS
    in force at the middle of the year (its conversion factor, and the RVU file of
    its year, the latest up to it), so with a 2025-01-01 start year 1 is the 2025
    schedule and year 2 the 2026 one. A year after the last known schedule (the
    last year in ``data/reference/conversion_factors.csv``) keeps that schedule and is
    moved by ``fee_update`` once per year after it (:func:`year_factors`).

    ``price_index`` is the fee-schedule amount of the baseline's 3D rendering, priced
    as in that year, over the same amount priced as at the middle of the baseline
    (the schedule that priced the baseline's lines). The amount is that of a fixed
    basket [A]: the baseline's units of 76376 and 76377 (``units_3d_*``; one each if
    the summary lacks them), each the global service (professional + technical) at
    the national non-facility rate (GPCIs 1.0). Every 3D price - observed allowed
    amounts and fee-schedule prices alike - moves with this index, as it moved with
    ``fee_update`` alone before 2026's schedule was known [A]: commercial rates are
    modelled as multiples of Medicare's.

    Returns
    -------
    DataFrame
        One row per horizon year: ``year, year_start, schedule_date, fee_year,
        rvu_vintage, conversion_factor, basket_usd, price_index,
        years_after_schedule`` and ``fee_schedule`` (what priced the year, in words);
        ``attrs["baseline"]`` says the same of the baseline.
    """
    schedule = bundled_schedule() if schedule is None else schedule
    last = int(conversion_factors()["end_date"].max().year)
    periods = [pd.Period(p) for p in base.periods]
    base_mid = _middle(min(p.start_time for p in periods), max(p.end_time for p in periods))
    starts = [pd.Timestamp(start_date) + pd.DateOffset(years=k) for k in range(horizon + 1)]
    mids = [_middle(a, b) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    dates = [d if d.year <= last else pd.Timestamp(last, 7, 1) for d in [base_mid, *mids]]
    rows = base.rows
    units = {c: float(rows[f"units_3d_{c}"].sum()) if f"units_3d_{c}" in rows else 1.0
             for c in ("76376", "76377")}  # fmt: skip
    if not sum(units.values()):
        units = dict.fromkeys(units, 1.0)
    basket = pd.DataFrame(
        [(c, d) for d in dates for c in units], columns=["cpt_code", "service_date"]
    ).assign(component="global", setting="non_facility", state="US")
    priced = price(basket, *schedule, qualifying_apm=qualifying_apm).assign(
        units=basket["cpt_code"].map(units), date=basket["service_date"]
    )
    by_date = (
        priced.assign(usd=priced["medicare_usd"] * priced["units"])
        .groupby("date", sort=False)
        .agg(basket_usd=("usd", "sum"), conversion_factor=("conversion_factor", "first"),
             rvu_vintage=("rvu_vintage", "first"))  # fmt: skip
    )
    first = by_date.loc[dates[0]]
    out = pd.DataFrame({
        "year": np.arange(1, horizon + 1),
        "year_start": starts[:-1],
        "schedule_date": dates[1:],
        "fee_year": [d.year for d in dates[1:]],
        "rvu_vintage": by_date.loc[dates[1:], "rvu_vintage"].to_numpy(dtype=int),
        "conversion_factor": by_date.loc[dates[1:], "conversion_factor"].to_numpy(),
        "basket_usd": by_date.loc[dates[1:], "basket_usd"].to_numpy(),
        "years_after_schedule": [max(0, m.year - last) for m in mids],
    })  # fmt: skip
    out["price_index"] = out["basket_usd"] / first["basket_usd"]
    out["fee_schedule"] = [
        f"{r.fee_year} Medicare PFS: {r.rvu_vintage} RVU file, conversion factor "
        f"${r.conversion_factor:.4f}, price index {r.price_index:.4f}"
        + (f", then x (1 + fee update)^{r.years_after_schedule}" if r.years_after_schedule
           else "")
        for r in out.itertuples()
    ]  # fmt: skip
    out.attrs["baseline"] = (
        f"baseline {base.periods[0]}..{base.periods[-1]} priced as on "
        f"{dates[0]:%Y-%m-%d}: {int(first['rvu_vintage'])} RVU file, conversion factor "
        f"${first['conversion_factor']:.4f}"
    )
    return out


def year_factors(
    policy: Policy,
    params: Mapping[str, np.ndarray],
    *,
    horizon: int,
    start_date: dt.date,
    prices: pd.DataFrame | None = None,
) -> dict[str, np.ndarray]:
    """``in_force (H,)``, and ``volume, price, discount`` of shape ``(n_draws, H)``.

    ``price`` is the fee-schedule index of each year (``prices``, from
    :func:`horizon_prices`) times ``(1 + fee_update)`` for each year after the last
    known schedule; without ``prices``, the baseline's prices times
    ``(1 + fee_update)^(t-1)``.
    """
    t = np.arange(horizon)
    if prices is None:
        index, after = np.ones((1, horizon)), t[None, :].astype(float)
    else:
        index = prices["price_index"].to_numpy(dtype=float)[None, :horizon]
        after = prices["years_after_schedule"].to_numpy(dtype=float)[None, :horizon]
    return {
        "in_force": _in_force(policy, start_date, horizon),
        "volume": (1.0 + params["volume_growth"][:, None]) ** t,
        "price": index * (1.0 + params["fee_update"][:, None]) ** after,
        "discount": (1.0 + params["discount_rate"][:, None]) ** -t,
    }


def horizon_totals(
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

