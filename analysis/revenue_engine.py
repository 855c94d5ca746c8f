"""The revenue engine: the budget-impact model's arithmetic, vectorised over draws.

Revenue is linear in every price and volume (see the definitions in
:mod:`analysis.impact`), so one pass over the practice x payer rows of an
:class:`~analysis.revenue_base.ImpactBase` evaluates any number of parameter draws
at once: every parameter is an array of shape ``(n_draws,)`` and every quantity an
array of shape ``(n_draws, n_practices)``. :func:`analysis.impact.impact` runs it
with one draw, the base case (:func:`base_case_parameters`);
:mod:`analysis.uncertainty` with thousands.

- :func:`annual_quantities`: year 1 with the policy fully in force.
- :func:`year_factors`: share of each horizon year in force, volume growth, price
  updates and discounting.
- :func:`horizon_totals`: the two combined into discounted totals over the horizon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.policy import GROUPS, Policy, paid_share_arrays
from analysis.revenue_base import ImpactBase

if TYPE_CHECKING:
    from analysis.impact import ImpactAssumptions

__all__ = [
    "ANNUAL_QUANTITIES",
    "PAYER_CLASSES",
    "annual_quantities",
    "base_case_parameters",
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


def year_factors(
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

