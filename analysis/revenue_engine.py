"""The revenue engine: the budget-impact model's arithmetic, vectorised over draws.

Revenue is linear in every price and volume (see the definitions in
:mod:`analysis.impact`), so one pass over the practice x payer rows of an
:class:`~analysis.revenue_base.ImpactBase` evaluates any number of parameter draws
at once: every parameter is an array of shape ``(n_draws,)`` and every quantity an
array of shape ``(n_draws, n_practices)``. :func:`analysis.impact.impact` runs it
with one draw, the base case (:func:`base_case_parameters`);
:mod:`analysis.uncertainty` with thousands.

- :func:`annual_quantities`: the annualized baseline, at its own prices, with the
  policy fully in force.
- :func:`horizon_prices`: the fee schedule that prices each horizon year and each
  practice's price index against its baseline (:class:`HorizonPrices`;
  :func:`price_table`: the prices a run uses; :func:`price_basket`: a basket of linked
  lines; :func:`price_baskets`: one per practice).
- :func:`year_factors`: share of each horizon year in force, volume growth, prices
  (the index, and ``fee_update`` after the last known schedule) and discounting.
- :func:`horizon_totals`: the two combined into discounted totals over the horizon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.defaults import DEFAULT_STATE
from analysis.errors import InputError
from analysis.policy import GROUPS, Policy, paid_share_arrays
from analysis.pricing import FeeSchedule, bundled_schedule, conversion_factors, price
from analysis.revenue_base import BASKET_COLUMNS, ImpactBase, baskets_frame

if TYPE_CHECKING:
    from analysis.impact import ImpactAssumptions

__all__ = [
    "ANNUAL_QUANTITIES",
    "PAYER_CLASSES",
    "annual_quantities",
    "base_case_parameters",
    "PRICE_MODES",
    "horizon_prices",
    "horizon_totals",
    "price_basket",
    "price_baskets",
    "price_table",
    "year_factors",
]

#: How the horizon years are priced (:func:`horizon_prices`): each year's fee schedule,
#: or the baseline's prices moved by ``fee_update`` from year 2.
PRICE_MODES: tuple[str, ...] = ("fee_schedule", "baseline")
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
    if assumptions.stop_share_pending:
        raise InputError(
            "stop_share 'measured' is not measured yet: pass the summary or response= to "
            "the model (analysis.impact.resolve_stop_share)", column="stop_share",
            value=assumptions.stop_share)
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
    """Annual quantities of the baseline, at its prices, with the policy fully in force.

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


_BASKET_DEFAULTS = {"component": "global", "setting": "non_facility", "state": DEFAULT_STATE}
_CODES = ("76376", "76377")
_KEYS = BASKET_COLUMNS[1:-1]  # cpt_code, component, setting, state


@dataclass(frozen=True)
class HorizonPrices:
    """What prices each horizon year: the result of :func:`horizon_prices`.

    Attributes
    ----------
    years : DataFrame
        One row per horizon year: ``year, year_start, schedule_date, fee_year,
        rvu_vintage, gpci_vintage`` (NA for national amounts), ``conversion_factor,
        basket_usd`` (the whole baseline's basket at that schedule), ``price_index``
        (of that basket, on the baseline's pricing of it), ``years_after_schedule``
        (years of ``fee_update`` after the schedule) and ``fee_schedule`` (the same in
        words). The schedule columns are NA with the baseline's prices.
    practices : DataFrame
        ``practice_id, year, price_index``: the index each practice's prices move by,
        from its own basket and baseline periods, so that practices run apart add up
        to the whole; the base's practice order.
    prices : {"fee_schedule", "baseline"}
    baseline : str
        How the baseline was priced, in words.
    basket : str
        What the basket holds, in words ("" with the baseline's prices): with the
        base's practice baskets, that each practice's index is the mix of its own
        fee-schedule-priced 3D lines, their mix over all practices and how many
        practices kept the default rule.
    """

    years: pd.DataFrame
    practices: pd.DataFrame
    prices: str
    baseline: str
    basket: str

    @property
    def horizon(self) -> int:
        return len(self.years)

    def index(self) -> np.ndarray:
        """``price_index`` as an array ``(horizon, n_practices)`` in the base's order."""
        h = self.horizon
        return self.practices["price_index"].to_numpy(dtype=float).reshape(-1, h).T

    def to_dict(self) -> dict[str, Any]:
        """Plain values: the per-year table and the statements (JSON)."""
        years = self.years.assign(
            year_start=self.years["year_start"].dt.strftime("%Y-%m-%d"),
            schedule_date=self.years["schedule_date"].dt.strftime("%Y-%m-%d"),
        )
        return {"prices": self.prices, "baseline": self.baseline, "basket": self.basket,
                "years": years.astype(object).where(years.notna(), None).to_dict("records")}


def _default_units(base: ImpactBase) -> np.ndarray:
    """Each practice's units of 76376 and 76377 ``(n_practices, 2)``; zeros when the
    summary has no units by code."""
    cols = [f"units_3d_{c}" for c in _CODES]
    if not all(c in base.rows for c in cols):
        return np.zeros((len(base.practice_ids), len(_CODES)))
    return (base.rows.groupby("practice_id", sort=False)[cols].sum()
            .reindex(list(base.practice_ids)).to_numpy(dtype=float))  # fmt: skip


def _default_basket(base: ImpactBase) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str]:
    """The default basket [A]: each practice's units of 76376 and 76377 (one each
    without any), global service, non-facility, in :data:`DEFAULT_STATE`."""
    items = pd.DataFrame({"cpt_code": list(_CODES)}).assign(**_BASKET_DEFAULTS)
    per = _default_units(base)
    whole = per.sum(axis=0)
    known = whole.sum() > 0
    if not known:
        whole = np.ones(len(_CODES))
    # A practice without 3D units has no 3D revenue to move: one unit each.
    per[per.sum(axis=1) == 0] = 1.0
    said = ("each practice's own units of 76376 and 76377 (all practices: "
            + ", ".join(f"{c} {u / whole.sum():.0%}" for c, u in zip(_CODES, whole,
                                                                      strict=True))
            + ")" if known
            else "one unit each of 76376 and 76377 (the summary has no units by code)")
    return items, per, whole, (f"{said}, global service, non-facility, priced in "
                               f"{DEFAULT_STATE} (the state of lines without one)")


def _item_words(item: Any) -> str:
    return f"{item.cpt_code} {item.component} {item.setting} {item.state}"


def _unit_prices(items: pd.DataFrame, dates: pd.DatetimeIndex, schedule: FeeSchedule,
                 qualifying_apm: bool) -> pd.DataFrame:
    """Every item priced at every date: ``len(dates) x len(items)`` rows, date-major."""
    lines = pd.concat([items.assign(service_date=d) for d in dates], ignore_index=True)
    return price(lines, *schedule, qualifying_apm=qualifying_apm)


def _practice_baskets(base: ImpactBase, basket: pd.DataFrame, *, own: bool,
                      dates: pd.DatetimeIndex, schedule: FeeSchedule, qualifying_apm: bool
                      ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str]:
    """Each practice's own basket (rows with its ``practice_id``); a practice without
    one keeps the default rule. Items the fee schedule cannot price at every date
    carry no amount to index and are left out (and said)."""
    ids = list(base.practice_ids)
    keys = list(_KEYS)
    b = basket.loc[basket["practice_id"].isin(ids) & (basket["units"] > 0)]
    found = b[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    dropped = pd.DataFrame(columns=keys)
    if len(found):
        usd = _unit_prices(found, dates, schedule, qualifying_apm)["medicare_usd"]
        bad = np.isnan(usd.to_numpy(dtype=float).reshape(len(dates), len(found))).any(axis=0)
        dropped, found = found.loc[bad], found.loc[~bad].reset_index(drop=True)
        b = b.merge(found, on=keys, how="inner")
    fallback = ~np.isin(ids, b["practice_id"].unique())
    if fallback.all():
        items, per, whole, said = _default_basket(base)
    else:
        default = pd.DataFrame({"cpt_code": list(_CODES)}).assign(**_BASKET_DEFAULTS)
        items = (pd.concat([found, default[keys]], ignore_index=True) if fallback.any()
                 else found).drop_duplicates(keys, ignore_index=True)
        col = {tuple(r): j for j, r in enumerate(items.itertuples(index=False))}
        row = {p: i for i, p in enumerate(ids)}
        # Annual units, as the summary's: the whole baseline's basket weighs the
        # practices by a year of their lines, whichever rule each follows.
        factor = base.annualization.set_index("practice_id")["annualization_factor"]
        per = np.zeros((len(ids), len(items)))
        np.add.at(per, (b["practice_id"].map(row).to_numpy(dtype=int),
                        [col[tuple(r)] for r in b[keys].itertuples(index=False)]),
                  (b["units"] * b["practice_id"].map(factor)).to_numpy(dtype=float))
        if fallback.any():
            d_cols = [col[(c, *_BASKET_DEFAULTS.values())] for c in _CODES]
            per[np.ix_(fallback, d_cols)] = _default_units(base)[fallback]
            whole = per.sum(axis=0)
            empty = per.sum(axis=1) == 0
            per[np.ix_(empty, d_cols)] = 1.0  # no 3D units: one each, as by default
        else:
            whole = per.sum(axis=0)
        # No shares of the pooled mix are stated: an item that one practice alone
        # bills would show that practice's mix beside the published totals.
        said = (("the mix of each practice's own 3D lines priced by the fee schedule (its "
                 "compliant lines without an observed allowed amount; all its compliant "
                 "lines when each has one)" if own else "each practice's own basket given")
                + ", by code, component, setting and state")
        n_default = int(fallback.sum())
        if n_default:
            said += (f"; {n_default} practice{'' if n_default == 1 else 's'} without "
                     f"such lines: {'its' if n_default == 1 else 'their'} units of 76376 "
                     f"and 76377, global service, non-facility, priced in {DEFAULT_STATE}")
    if len(dropped):
        said += ("; left out, without a fee-schedule price: "
                 + ", ".join(_item_words(r) for r in dropped.itertuples(index=False)))
    return items[keys].reset_index(drop=True), per, whole, said


def _basket_items(base: ImpactBase, basket: pd.DataFrame | None, *,
                  dates: pd.DatetimeIndex, schedule: FeeSchedule, qualifying_apm: bool
                  ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str]:
    """The basket's items (``cpt_code, component, setting, state``), their units per
    practice ``(n_practices, n_items)`` and for the whole baseline ``(n_items,)``, and
    what the basket holds in words."""
    n = len(base.practice_ids)
    own = basket is None and base.baskets is not None
    basket = base.baskets if basket is None else basket
    if basket is None:
        return _default_basket(base)
    missing = {"cpt_code", "units"} - set(basket.columns)
    if missing:
        raise InputError("a price basket needs the columns cpt_code and units",
                         column=sorted(missing)[0])
    items = basket.assign(**{c: basket[c] if c in basket else v
                             for c, v in _BASKET_DEFAULTS.items()}).reset_index(drop=True)
    units = pd.to_numeric(items["units"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(units) & (units >= 0))
    by_practice = "practice_id" in items.columns
    if bad.any() or not (units.sum() > 0 or by_practice):
        i = int(np.argmax(bad)) if bad.any() else 0
        raise InputError("basket units must be numbers >= 0, not all 0", row=i + 1,
                         column="units", value=items["units"].iloc[i] if len(items) else "")
    if by_practice:
        items = items.assign(practice_id=items["practice_id"].astype(str), units=units)
        return _practice_baskets(base, items, own=own, dates=dates, schedule=schedule,
                                 qualifying_apm=qualifying_apm)
    said = ", ".join(f"{_item_words(r)} {u / units.sum():.0%}"
                     for u, r in zip(units, items.itertuples(), strict=True))  # fmt: skip
    return (items[list(_KEYS)], np.broadcast_to(units, (n, len(units))), units,
            f"the basket given, by units: {said}")


def _gpci_words(gpci_vintage: Any, fee_year: int) -> str:
    """Which GPCIs priced a year's basket: national, or the file year (and why)."""
    if pd.isna(gpci_vintage):
        return "national GPCIs (1.0)"
    year = int(gpci_vintage)
    if year == fee_year:
        return f"{year} GPCI file"
    which = "latest" if year < fee_year else "earliest"
    return f"{year} GPCI file (no {fee_year} GPCI file given; the {which})"


def horizon_prices(
    base: ImpactBase,
    *,
    horizon: int,
    start_date: dt.date,
    prices: str = "fee_schedule",
    schedule: FeeSchedule | None = None,
    basket: pd.DataFrame | None = None,
    qualifying_apm: bool = False,
) -> HorizonPrices:
    """The fee schedule that prices each horizon year and its index on the baseline.

    ``prices="fee_schedule"`` (the default): base-year volumes are priced at each
    horizon year's fee schedule, the Medicare PFS in force at the middle of the year:
    its conversion factor, the RVU file of its year and the GPCI file of its year (each
    the latest up to it, :func:`analysis.pricing.price`), so with a 2025-01-01 start
    year 1 is the 2025 schedule and year 2 the 2026 one (2026 RVUs; the 2025 GPCIs,
    the latest shipped, unless ``schedule`` has 2026's). A year after the last known
    schedule (the last year in ``data/reference/conversion_factors.csv``) keeps that
    schedule and is moved by ``fee_update`` once per year after it
    (:func:`year_factors`). ``prices="baseline"``: every year keeps the baseline's
    prices (index 1), moved by ``fee_update`` once per year after year 1.

    A practice's ``price_index`` in a year is the fee-schedule amount of a fixed
    basket of 3D rendering priced as in that year, over the same basket priced as its
    baseline was: at the schedule of each baseline period's middle, weighted by the
    practice's 3D units in the period (``ImpactBase.period_units``; the middle of its
    observed periods when it has none), e.g. a 2024 baseline by quarters at $32.7442
    for Q1 and $33.2875 for Q2-Q4, the conversion factor having changed on 2024-03-09.

    The basket of a practice is, by default, the mix of its own 3D lines that the fee
    schedule priced (``base.baskets``, :func:`price_baskets`: its compliant lines
    without an observed allowed amount, or all its compliant lines when each has one),
    by code, component, setting and state, as the claims engines give it beside the
    summary (:func:`analysis.scale.summarize_files`, the report's shared inputs). A
    practice without such lines, or a base without baskets (a summary alone), takes
    the rule of the summary [A]: the practice's own units of 76376 and 76377
    (``units_3d_*``; one each if the summary lacks them), each the global service,
    non-facility, in the state that prices lines without one
    (:data:`analysis.defaults.DEFAULT_STATE`, North Carolina: the summary records no
    state, component or setting). An item the fee schedule cannot price is left out
    of the practice baskets. ``basket`` states others: one row per item with
    ``cpt_code`` and ``units`` and optionally ``practice_id`` (one basket per
    practice; without it, one basket for every practice), ``component``
    (``"global"``, ``"26"``, ``"TC"``), ``setting`` (``"non_facility"``,
    ``"facility"``) and ``state`` (``"US"`` for national amounts), e.g. the lines the
    fee schedule priced (:func:`price_basket`). The whole baseline's index
    (``years``) is that of the practices' baskets added up. Each practice's index
    depends on its own data only, so practices run apart add up to the whole. Every
    3D price - observed allowed amounts and fee-schedule prices alike - moves with the
    index [A]: commercial rates are modelled as multiples of Medicare's.

    Parameters
    ----------
    base : ImpactBase
    horizon : int
        Years, 1-5.
    start_date : date
        First day of year 1.
    prices : {"fee_schedule", "baseline"}
    schedule : FeeSchedule, optional
        The RVU and GPCI files by year (:func:`analysis.pricing.fee_schedule`; a
        user's 2026 GPCI file, say); default the bundled ones.
    basket : DataFrame, optional
    qualifying_apm : bool
        Price 2026 on at the qualifying APM participants' conversion factor.

    Returns
    -------
    HorizonPrices
        The per-year schedule and the whole baseline's index (``years``), each
        practice's index (``practices``) and the statements.

    Examples
    --------
    >>> hp = horizon_prices(impact_base(summary), horizon=3,
    ...                     start_date=dt.date(2025, 1, 1))                 # doctest: +SKIP
    >>> hp.years[["year", "fee_year", "rvu_vintage", "price_index"]]      # doctest: +SKIP
    """
    if prices not in PRICE_MODES:
        raise InputError(f"prices must be one of {', '.join(PRICE_MODES)}", column="prices",
                         value=prices)
    schedule = bundled_schedule() if schedule is None else schedule
    last = int(conversion_factors()["end_date"].max().year)
    hold = prices == "baseline"

    def known(d: pd.Timestamp) -> pd.Timestamp:
        """A date after the last known schedule is priced at that schedule."""
        return d if d.year <= last else pd.Timestamp(last, 7, 1)

    def middle(first: str, final: str) -> pd.Timestamp:
        return known(_middle(pd.Period(first).start_time, pd.Period(final).end_time))

    ids = list(base.practice_ids)
    starts = [pd.Timestamp(start_date) + pd.DateOffset(years=k) for k in range(horizon + 1)]
    raw = [_middle(a, b) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    after = list(range(horizon)) if hold else [max(0, m.year - last) for m in raw]
    mids = [known(m) for m in raw]

    # Weights of the baseline's schedules: each practice's 3D units by period, or
    # (without 3D units) the middle of its observed periods.
    pu = base.period_units
    pu = pu.loc[pu["units_3d"] > 0]
    pu = pu.assign(date=[middle(p, p) for p in pu["period"]])
    spans = base.annualization.set_index("practice_id").reindex(ids)
    fallback = pd.DataFrame({
        "practice_id": ids, "units_3d": 1.0,
        "date": [middle(a, b) for a, b in zip(spans["first_period"], spans["last_period"],
                                              strict=True)],
    })  # fmt: skip
    weights = pd.concat([pu[["practice_id", "date", "units_3d"]],
                         fallback.loc[~fallback["practice_id"].isin(pu["practice_id"])]])
    base_dates = sorted(weights["date"].unique())
    w = (weights.pivot_table(index="practice_id", columns="date", values="units_3d",
                             aggfunc="sum", fill_value=0.0)
         .reindex(index=ids, columns=base_dates, fill_value=0.0).to_numpy(dtype=float))

    dates = pd.DatetimeIndex([*base_dates, *mids]).unique()
    items, per, whole, basket_words = _basket_items(
        base, basket, dates=dates, schedule=schedule, qualifying_apm=qualifying_apm)
    priced = _unit_prices(items, dates, schedule, qualifying_apm)
    if priced["medicare_usd"].isna().any():
        i = int(np.argmax(priced["medicare_usd"].isna().to_numpy()))
        raise InputError(f"a basket item has no fee-schedule price ({priced['note'].iloc[i]})",
                         row=i % len(items) + 1, column="cpt_code",
                         value=items["cpt_code"].iloc[i % len(items)])
    k = len(items)
    unit = priced["medicare_usd"].to_numpy(dtype=float).reshape(len(dates), k).T
    at = {d: j for j, d in enumerate(dates)}
    b_cols = [at[d] for d in base_dates]
    y_cols = [at[d] for d in mids]
    # Baseline basket of each practice and of the whole baseline, then the years'.
    baseline_usd = (w * (per @ unit[:, b_cols])).sum(axis=1) / w.sum(axis=1)
    w_all = w.sum(axis=0)
    whole_baseline_usd = float(w_all @ (whole @ unit[:, b_cols]) / w_all.sum())
    if hold:
        index = np.ones((len(ids), horizon))
        whole_index = np.ones(horizon)
    else:
        index = (per @ unit[:, y_cols]) / baseline_usd[:, None]
        whole_index = (whole @ unit[:, y_cols]) / whole_baseline_usd

    first = priced.iloc[[at[d] * k for d in mids]]
    out = pd.DataFrame({
        "year": np.arange(1, horizon + 1),
        "year_start": starts[:-1],
        "schedule_date": mids,
        "fee_year": pd.array([d.year for d in mids], dtype="Int64"),
        "rvu_vintage": pd.array(first["rvu_vintage"].to_numpy(), dtype="Int64"),
        "gpci_vintage": pd.array(first["gpci_vintage"].to_numpy(), dtype="Int64"),
        "conversion_factor": first["conversion_factor"].to_numpy(dtype=float),
        "basket_usd": whole @ unit[:, y_cols],
        "price_index": whole_index,
        "years_after_schedule": after,
    })  # fmt: skip
    gpcis = [_gpci_words(g, d.year) for g, d in zip(out["gpci_vintage"], mids, strict=True)]
    if hold:
        out.loc[:, ["schedule_date"]] = pd.NaT
        out.loc[:, ["fee_year", "rvu_vintage", "gpci_vintage"]] = pd.NA
        out.loc[:, ["conversion_factor", "basket_usd"]] = np.nan
    out["fee_schedule"] = [
        ("the baseline's prices (observed amounts, else the fee schedule of each line's "
         "date)" if hold else
         f"{r.fee_year} Medicare PFS: {r.rvu_vintage} RVU file, {g}, conversion factor "
         f"${r.conversion_factor:.4f}, price index {r.price_index:.4f}")
        + (f", then x (1 + fee update)^{r.years_after_schedule}" if r.years_after_schedule
           else "")
        for r, g in zip(out.itertuples(), gpcis, strict=True)
    ]  # fmt: skip

    shares: dict[str, dict[float, float]] = {}
    for d, wd in zip(base_dates, w_all / w_all.sum(), strict=True):
        row = priced.iloc[at[d] * k]
        key = f"{row['rvu_vintage']} RVU file, {_gpci_words(row['gpci_vintage'], d.year)}"
        cf = float(row["conversion_factor"])
        shares.setdefault(key, {}).setdefault(cf, 0.0)
        shares[key][cf] += wd
    said = "; ".join(
        key + ", conversion factor " + ", ".join(
            f"${cf:.4f}" + ("" if len(cfs) == 1 else f" ({share:.0%} of the 3D units)"
                            if i == 0 else f" ({share:.0%})")
            for i, (cf, share) in enumerate(sorted(cfs.items())))
        for key, cfs in shares.items())  # fmt: skip
    practices = pd.DataFrame({
        "practice_id": np.repeat(ids, horizon),
        "year": np.tile(np.arange(1, horizon + 1), len(ids)),
        "price_index": index.ravel(),
    })  # fmt: skip
    return HorizonPrices(
        years=out,
        practices=practices,
        prices=prices,
        baseline=(f"baseline {base.periods[0]}..{base.periods[-1]} priced at the schedule "
                  + ("of each period's middle, weighted by the practices' 3D units in it"
                     if len(pu) else "of the middle of each practice's periods (no 3D units)")
                  + f": {said}"),
        basket="" if hold else basket_words,
    )


def price_basket(lines_3d: pd.DataFrame) -> pd.DataFrame:
    """A price basket of linked 3D lines: units by code, component, setting and state.

    The compliant lines without an observed ``allowed_usd`` (those the fee schedule
    prices) of :attr:`analysis.encounters.Linked.lines_3d`, for
    :func:`horizon_prices`'s ``basket``; all compliant lines when every line has an
    observed amount.
    """
    lines = lines_3d.loc[~lines_3d["is_noncompliant"].astype(bool)]
    unpriced = lines["allowed_usd"].isna()
    if unpriced.any():
        lines = lines.loc[unpriced]
    keys = ["cpt_code", "component", "setting", "state"]
    return (lines.groupby(keys, sort=True, observed=True)["units"].sum().reset_index()
            .astype({"units": float}))


def price_baskets(lines_3d: pd.DataFrame) -> pd.DataFrame:
    """Each practice's price basket of linked 3D lines: :func:`price_basket`'s rule per
    practice.

    The practice's compliant lines without an observed ``allowed_usd`` (those the fee
    schedule prices) of :attr:`analysis.encounters.Linked.lines_3d`, or all its
    compliant lines when each has an observed amount, their units summed by code,
    component, setting and state: the default ``base.baskets`` of
    :func:`horizon_prices`. A practice without a compliant 3D line has no row. The
    claims engines give the same table in SQL
    (:func:`analysis.sql_link.price_baskets`).

    Returns
    -------
    DataFrame
        :data:`analysis.revenue_base.BASKET_COLUMNS`, sorted by practice and item.

    Examples
    --------
    >>> lines = pd.DataFrame({
    ...     "practice_id": ["A", "A", "B"], "cpt_code": ["76376", "76377", "76376"],
    ...     "component": ["26", "global", "global"], "state": "NC",
    ...     "setting": ["facility", "non_facility", "non_facility"], "units": 1,
    ...     "allowed_usd": [float("nan"), 80.0, 30.0], "is_noncompliant": False})
    >>> price_baskets(lines)[["practice_id", "cpt_code", "component", "units"]].values.tolist()
    [['A', '76376', '26', 1.0], ['B', '76376', 'global', 1.0]]
    """
    lines = lines_3d.loc[~lines_3d["is_noncompliant"].astype(bool)]
    unpriced = lines["allowed_usd"].isna()
    some = unpriced.groupby(lines["practice_id"], sort=False, observed=True).transform("any")
    lines = lines.loc[unpriced | ~some.astype(bool)]
    return baskets_frame(lines.groupby(["practice_id", *_KEYS], sort=True, observed=True)[
        "units"].sum().reset_index())


def price_table(
    base: ImpactBase,
    assumptions: ImpactAssumptions,
    prices: str | HorizonPrices | None = None,
) -> HorizonPrices:
    """The prices of a run's horizon years (:func:`horizon_prices`).

    ``prices`` None: ``assumptions.prices`` with the bundled files; a string: that
    mode; a :class:`HorizonPrices` (a user's files or basket): checked against the
    base's practices and the assumptions' horizon and start date, and used as it is.
    """
    horizon, start = assumptions.horizon_years, assumptions.start_date
    if prices is None or isinstance(prices, str):
        return horizon_prices(base, horizon=horizon, start_date=start,
                              prices=assumptions.prices if prices is None else prices)
    if not isinstance(prices, HorizonPrices):
        raise InputError("prices must be 'fee_schedule', 'baseline' or horizon_prices(...)",
                         column="prices", value=type(prices).__name__)
    ids = prices.practices["practice_id"].drop_duplicates().tolist()
    if (prices.horizon != horizon
            or prices.years["year_start"].iloc[0] != pd.Timestamp(start)
            or ids != list(base.practice_ids)):
        raise InputError(
            f"the prices were built for other years or practices; build them from this "
            f"base with horizon={horizon} and start_date={start.isoformat()}",
            column="prices", value=f"{prices.horizon} year(s), {len(ids)} practice(s)")
    return prices


def year_factors(
    policy: Policy,
    params: Mapping[str, np.ndarray],
    *,
    horizon: int,
    start_date: dt.date,
    prices: HorizonPrices | None = None,
) -> dict[str, np.ndarray]:
    """``in_force (H,)``; ``volume, price, discount`` ``(n_draws, H)``; ``index``.

    ``price`` is ``(1 + fee_update)`` to the power of each year's
    ``years_after_schedule`` (from ``prices``, :func:`horizon_prices`; ``t - 1``
    without it), and ``index`` ``(H, n_practices)`` each practice's price index of
    the year (``(H, 1)`` ones without ``prices``: the baseline's prices).
    """
    t = np.arange(horizon)
    if prices is None:
        index, after = np.ones((horizon, 1)), t[None, :].astype(float)
    else:
        index = prices.index()[:horizon]
        after = prices.years["years_after_schedule"].to_numpy(dtype=float)[None, :horizon]
    return {
        "in_force": _in_force(policy, start_date, horizon),
        "volume": (1.0 + params["volume_growth"][:, None]) ** t,
        "price": (1.0 + params["fee_update"][:, None]) ** after,
        "index": index,
        "discount": (1.0 + params["discount_rate"][:, None]) ** -t,
    }


def horizon_totals(
    annual: Mapping[str, np.ndarray],
    factors: Mapping[str, np.ndarray],
    params: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Discounted horizon totals ``(n_draws, n_practices)`` from year-1 quantities."""
    v, p, d, e = factors["volume"], factors["price"], factors["discount"], factors["in_force"]
    index = factors["index"]
    world = (v * p * d) @ index
    policy = (e * v * p * d) @ index
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
