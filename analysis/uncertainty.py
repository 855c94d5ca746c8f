"""Uncertainty in the revenue impact: scenarios, one-way sensitivity, PSA.

Three complementary analyses, as the ISPOR budget-impact guidance recommends
(Sullivan et al., 2014):

- **Named scenarios** (:func:`run_scenarios`): a table of input sets, each run
  through :func:`analysis.impact.impact` for every policy.
- **One-way sensitivity** (:func:`one_way`): every parameter with a documented
  ``low``/``high`` in ``data/reference/impact_assumptions.csv`` moved alone to each
  bound; the result is the data of a tornado diagram.
- **Probabilistic sensitivity analysis** (:func:`psa`): all uncertain parameters
  drawn together with an explicit ``rng``, the model evaluated for every draw. Each
  distribution is fitted so that its 2.5 % and 97.5 % quantiles are the same
  ``low``/``high`` that the one-way sensitivity uses (:mod:`analysis.distributions`,
  which also reports the fit error); the stopping rule for the number of draws is in
  :mod:`analysis.convergence`.

Prices: every analysis prices the horizon years as :func:`analysis.impact.impact` does
(``assumptions.prices``, by default each year at its own Medicare fee schedule;
:func:`analysis.revenue_engine.price_table`), once per run, the same for every draw, so
the deterministic result, the tornado's base and the PSA's deterministic column agree.

Payer mix (optional): the model uses each practice's observed payer mix; with
``payer_mix_concentration`` the share of the practice's 3D volume billed to each
payer is drawn from a Dirichlet distribution centred on the observed shares
(concentration = its total pseudo-count; larger = less uncertain).

Because revenue is linear in prices and volumes (see :mod:`analysis.impact`), the
model is evaluated as arrays ``draws x practice-payer rows``
(:mod:`analysis.revenue_engine`), in chunks: 10,000 draws over 500 practices take
seconds (``benchmarks/bench_psa.py``).

References
----------
Sullivan SD et al., Value Health 2014;17:5-14 (ISPOR BIA Good Practice II).
Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation.
Oxford University Press, 2006 (ch. 4: Dirichlet for multinomial shares).
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import plots
from analysis._io import dumps_json
from analysis.assumptions import assumption_table
from analysis.convergence import Convergence, convergence
from analysis.distributions import DISTRIBUTIONS, fit_table, parameter_table, sample_parameters
from analysis.errors import InputError
from analysis.impact import ImpactAssumptions, impact, resolve_stop_share
from analysis.policy import GROUPS, Policy
from analysis.response import ResponseResult
from analysis.revenue_base import ImpactBase, as_base
from analysis.revenue_engine import (
    HorizonPrices,
    annual_quantities,
    base_case_parameters,
    horizon_totals,
    price_table,
    year_factors,
)

__all__ = [
    "DISTRIBUTIONS",
    "METRICS",
    "Convergence",
    "PSAResult",
    "ScenarioResult",
    "convergence",
    "default_scenarios",
    "fit_table",
    "one_way",
    "parameter_table",
    "psa",
    "run_scenarios",
    "sample_parameters",
]

#: Horizon totals (discounted at ``discount_rate``; undiscounted by default).
METRICS = (
    "loss_usd",
    "net_margin_loss_usd",
    "payer_savings_usd",
    "patient_savings_usd",
    "revenue_without_usd",
)


# ------------------------------------------------------------- evaluation


def _param_arrays(
    draws: pd.DataFrame, assumptions: ImpactAssumptions, policy: Policy
) -> dict[str, np.ndarray]:
    """Every engine parameter as an array over draws (base values where not drawn)."""
    base = base_case_parameters(assumptions, policy)
    n = len(draws)
    return {
        k: draws[k].to_numpy(dtype=float) if k in draws else np.repeat(v, n)
        for k, v in base.items()
    }


def _evaluate(
    base: ImpactBase,
    policy: Policy,
    params: Mapping[str, np.ndarray],
    assumptions: ImpactAssumptions,
    *,
    prices: HorizonPrices,
    rng: np.random.Generator | None = None,
    payer_mix_concentration: float | None = None,
    chunk_elements: int = 1_000_000,
) -> dict[str, np.ndarray]:
    """Horizon totals ``(n_draws, n_practices)`` per metric, evaluated in chunks.

    ``prices`` are the run's (:func:`analysis.revenue_engine.price_table`),
    the same that :func:`analysis.impact.impact` uses, so that the base case, the
    tornado and the PSA price every year alike.
    """
    classes = assumptions.payer_class(base.rows["payer"])
    arrays = base.arrays()
    n_draws = len(params["commercial_multiplier"])
    n_rows = len(base.rows)
    chunk = max(1, chunk_elements // max(1, n_rows))
    mix_setup = None
    if payer_mix_concentration is not None:
        mix_setup = _mix_setup(base, arrays)
    out = {m: np.empty((n_draws, len(base.practice_ids))) for m in METRICS}
    for start in range(0, n_draws, chunk):
        sl = slice(start, min(start + chunk, n_draws))
        p = {k: v[sl] for k, v in params.items()}
        mix = None
        if mix_setup is not None:
            mix = _mix_draws(mix_setup, sl.stop - sl.start, payer_mix_concentration, rng)
        annual = annual_quantities(base, policy, p, classes, arrays=arrays, mix=mix)
        factors = year_factors(
            policy, p, horizon=assumptions.horizon_years, start_date=assumptions.start_date,
            prices=prices,
        )
        for m, v in horizon_totals(annual, factors, p).items():
            out[m][sl] = v
    return out


def _mix_setup(base: ImpactBase, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    units = sum(arrays[f"rev_units_{g}"] for g in GROUPS)
    starts = base.row_starts()
    owner = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(units)]))
    total = np.add.reduceat(units, starts)[owner]
    share = np.where(total > 0, units / np.where(total > 0, total, 1.0), 0.0)
    return {"share": share, "owner": owner, "active": share > 0}


def _mix_draws(
    setup: Mapping[str, np.ndarray], n: int, concentration: float, rng: np.random.Generator | None
) -> np.ndarray:
    """Dirichlet(concentration x observed shares) payer mix per practice, as factors."""
    if rng is None:
        raise TypeError("payer mix draws need an rng")
    if not concentration > 0:
        raise InputError("must be > 0", column="payer_mix_concentration", value=concentration)
    active = setup["active"]
    share, owner = setup["share"][active], setup["owner"][active]
    gam = rng.gamma(concentration * share, size=(n, len(share)))
    sums = np.zeros((n, owner.max() + 1 if len(owner) else 0))
    np.add.at(sums.T, owner, gam.T)
    factors = np.ones((n, len(setup["share"])))
    factors[:, active] = gam / sums[:, owner] / share
    return factors


# ------------------------------------------------------------------ one-way


def one_way(
    summary: pd.DataFrame | ImpactBase,
    policy: Policy,
    *,
    assumptions: ImpactAssumptions | None = None,
    table: pd.DataFrame | None = None,
    metric: str = "loss_usd",
    prices: str | HorizonPrices | None = None,
    response: ResponseResult | None = None,
) -> pd.DataFrame:
    """One-way sensitivity: each parameter alone at its low and high bound.

    The bounds are the table's ``low`` and ``high``: the same values the PSA's
    distributions have as their 2.5 % and 97.5 % quantiles
    (:func:`analysis.distributions.fit_table` states how closely), so each bar spans
    the range that holds 95 % of that parameter's draws.

    Parameters
    ----------
    summary : DataFrame or ImpactBase
    policy : Policy
    assumptions : ImpactAssumptions, optional
    table : DataFrame, optional
        Parameter table (default :func:`parameter_table` of the assumptions).
    metric : str
        A horizon total in :data:`METRICS`, summed over practices.
    prices : {"fee_schedule", "baseline"} or HorizonPrices, optional
        How the horizon years are priced, as in :func:`analysis.impact.impact`
        (default ``assumptions.prices``).
    response : ResponseResult, optional
        With ``stop_share="measured"``, the measured response
        (:func:`analysis.impact.resolve_stop_share`); its interval's ends are the stop
        share's low and high.

    Returns
    -------
    DataFrame
        Tornado data, widest swing first: ``parameter, label, base, low, high,
        outcome_base, outcome_low, outcome_high, swing`` (``|outcome_high -
        outcome_low|``). Parameters without a range are left out.
    """
    if metric not in METRICS:
        raise InputError(
            f"unknown metric; choose one of {list(METRICS)}", column="metric", value=metric
        )
    assumptions = assumptions or ImpactAssumptions()
    if isinstance(prices, str):
        assumptions = assumptions.replace(prices=prices)
    assumptions = resolve_stop_share(assumptions, summary, policies=policy, response=response)
    table = parameter_table(assumptions, policy, table=table)
    base = as_base(summary, baseline_days=assumptions.baseline_days)
    ranged = table[table["high"] > table["low"]].reset_index(drop=True)
    k = len(ranged)
    frame = pd.DataFrame(
        {p: np.repeat(b, 1 + 2 * k) for p, b in zip(table["parameter"], table["base"], strict=True)}
    )
    for i, rec in enumerate(ranged.to_dict("records")):
        frame.loc[1 + 2 * i, rec["parameter"]] = rec["low"]
        frame.loc[2 + 2 * i, rec["parameter"]] = rec["high"]
    params = _param_arrays(frame, assumptions, policy)
    year_prices = price_table(base, assumptions, None if isinstance(prices, str) else prices)
    totals = _evaluate(base, policy, params, assumptions, prices=year_prices)[metric].sum(axis=1)
    label = ranged["label"] if "label" in ranged else ranged["parameter"]
    return (
        pd.DataFrame(
            {
                "parameter": ranged["parameter"],
                "label": label,
                "base": ranged["base"],
                "low": ranged["low"],
                "high": ranged["high"],
                "outcome_base": totals[0],
                "outcome_low": totals[1::2],
                "outcome_high": totals[2::2],
            }
        )
        .assign(swing=lambda d: (d["outcome_high"] - d["outcome_low"]).abs())
        .sort_values("swing", ascending=False, kind="stable")
        .reset_index(drop=True)
        .assign(metric=metric, policy=policy.name)
    )


# ------------------------------------------------------------------ scenarios


_POLICY_FIELDS = ("scope_share", "threshold", "effective_date", "payers")


def default_scenarios(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Named scenarios of the defaults' plausible alternatives (a table).

    Columns ``scenario, description`` and one column per changed input (missing =
    base case). Values come from the ranges of ``table`` (default the bundled
    :func:`analysis.assumptions.assumption_table`).
    """
    table = (assumption_table() if table is None else table).set_index("parameter")
    low, high = table["low"], table["high"]
    return pd.DataFrame(
        [
            {"scenario": "base", "description": "Base case (reference defaults)"},
            {
                "scenario": "low_commercial_price",
                "description": "Commercial rates at the low end "
                f"({low['commercial_multiplier']:g} x Medicare)",
                "commercial_multiplier": low["commercial_multiplier"],
            },
            {
                "scenario": "high_commercial_price",
                "description": "Commercial rates at the high end "
                f"({high['commercial_multiplier']:g} x Medicare)",
                "commercial_multiplier": high["commercial_multiplier"],
            },
            {
                "scenario": "narrow_scope",
                "description": f"Policy applies to {low['scope_share']:.0%} of the payer's "
                "business",
                "scope_share": low["scope_share"],
            },
            {
                "scenario": "mid_year_start",
                "description": "Policy in force from 1 July of year 1",
                "effective_date": "2025-07-01",
            },
            {
                "scenario": "growth_and_fee_cuts",
                "description": f"Volume {high['volume_growth']:+.0%}/yr, "
                f"fees {low['fee_update']:+.0%}/yr after the last known fee schedule",
                "volume_growth": high["volume_growth"],
                "fee_update": low["fee_update"],
            },
            {
                "scenario": "baseline_prices",
                "description": "Every year at the baseline's prices, moved by the fee update "
                "from year 2, instead of each year's Medicare fee schedule",
                "prices": "baseline",
            },
            {
                "scenario": "no_behavioural_response",
                "description": "Practices keep rendering all unpaid studies",
                "stop_share": 0.0,
            },
        ]
    )


@dataclass(frozen=True)
class ScenarioResult:
    """Totals of every scenario x policy x year, and their headline numbers."""

    totals: pd.DataFrame
    summary: pd.DataFrame
    scenarios: pd.DataFrame

    def _repr_html_(self) -> str:
        cols = [
            "scenario",
            "policy",
            "loss_year1_usd",
            "loss_horizon_usd",
            "loss_share_year1",
            "n_practices_losing",
        ]
        fmt = {
            "loss_year1_usd": "{:,.0f}",
            "loss_horizon_usd": "{:,.0f}",
            "loss_share_year1": "{:.1%}",
        }
        return (
            "<div><h4>Scenarios</h4>"
            + self.summary[cols].style.format(fmt).hide(axis="index").to_html()
            + "</div>"
        )


def run_scenarios(
    summary: pd.DataFrame | ImpactBase,
    policies: Policy | Sequence[Policy],
    *,
    scenarios: pd.DataFrame | None = None,
    assumptions: ImpactAssumptions | None = None,
    prices: HorizonPrices | None = None,
    response: ResponseResult | None = None,
) -> ScenarioResult:
    """Run a table of named input sets through :func:`analysis.impact.impact`.

    Parameters
    ----------
    summary : DataFrame or ImpactBase
    policies : Policy or sequence of Policy
    scenarios : DataFrame, optional
        A ``scenario`` column (unique names), an optional ``description`` and columns
        named after :class:`ImpactAssumptions` fields or the policy fields
        ``scope_share, threshold, effective_date, payers``; empty cells keep the
        base value. Default :func:`default_scenarios`.
    assumptions : ImpactAssumptions, optional
        The base case.
    prices : HorizonPrices, optional
        Prices from :func:`analysis.revenue_engine.horizon_prices` (a user's
        fee-schedule files or basket) for every scenario that prices by the fee
        schedule (and keeps the base's horizon and start date); default the bundled
        files. A scenario column ``prices`` chooses ``"fee_schedule"`` or
        ``"baseline"``.
    response : ResponseResult, optional
        With ``stop_share="measured"`` in the base case, the measured response
        (:func:`analysis.impact.resolve_stop_share`), measured once for every
        scenario; a scenario that sets ``stop_share`` to a number assumes it instead.

    Returns
    -------
    ScenarioResult
        ``totals`` (scenario x policy x year) and ``summary`` (scenario x policy).
    """
    assumptions = assumptions or ImpactAssumptions()
    assumptions = resolve_stop_share(assumptions, summary, policies=policies,
                                     response=response)
    scenarios = default_scenarios() if scenarios is None else scenarios
    if "scenario" not in scenarios.columns:
        raise InputError("the scenario table needs a 'scenario' column", column="scenario")
    if scenarios["scenario"].duplicated().any():
        dup = scenarios.loc[scenarios["scenario"].duplicated(), "scenario"].iloc[0]
        raise InputError("scenario names must be unique", column="scenario", value=dup)
    policies = (policies,) if isinstance(policies, Policy) else tuple(policies)
    fields = {f.name for f in dataclasses.fields(ImpactAssumptions)}
    totals, heads = [], []
    for i, rec in enumerate(scenarios.to_dict("records"), start=1):
        changes = {
            k: v for k, v in rec.items() if k not in ("scenario", "description") and not _missing(v)
        }
        unknown = set(changes) - fields - set(_POLICY_FIELDS)
        if unknown:
            raise InputError(
                "unknown scenario input", row=i, column=sorted(unknown)[0], value=rec["scenario"]
            )
        a_changes = {k: v for k, v in changes.items() if k in fields}
        if "horizon_years" in a_changes:
            a_changes["horizon_years"] = int(a_changes["horizon_years"])
        p_changes = {k: v for k, v in changes.items() if k in _POLICY_FIELDS}
        scen_assumptions = assumptions.replace(**a_changes)
        scen_policies = tuple(
            p if p.kind == "status_quo" else p.replace(**p_changes) for p in policies
        )
        if isinstance(summary, ImpactBase) and "baseline_days" in a_changes:
            raise InputError(
                "baseline_days needs the summary, not an annualized base",
                row=i,
                column="baseline_days",
                value=rec["scenario"],
            )
        table = prices if scen_assumptions.prices == "fee_schedule" else None
        result = impact(summary, scen_policies, assumptions=scen_assumptions, prices=table,
                        response=response)
        label = {"scenario": rec["scenario"], "description": rec.get("description", "")}
        totals.append(result.totals.assign(**label))
        heads.append(result.summary.assign(**label))
    first = ["scenario", "description", "policy"]
    t = pd.concat(totals, ignore_index=True)
    s = pd.concat(heads, ignore_index=True)
    return ScenarioResult(
        totals=t[first + [c for c in t.columns if c not in first]],
        summary=s[first + [c for c in s.columns if c not in first]],
        scenarios=scenarios.reset_index(drop=True),
    )


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------------ PSA


def _interval(x: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - level) / 2
    lo, hi = np.quantile(x, [alpha, 1 - alpha], axis=axis)
    return lo, hi


@dataclass(frozen=True)
class PSAResult:
    """Probabilistic sensitivity analysis of one policy.

    Attributes
    ----------
    policy : Policy
    assumptions : ImpactAssumptions
    table : DataFrame
        Parameter specifications used (:func:`parameter_table`).
    distributions : DataFrame
        How each distribution was fitted and how closely its 2.5/97.5 % quantiles
        reproduce ``low``/``high`` (:func:`analysis.distributions.fit_table`).
    parameters : DataFrame
        One row per draw, one column per parameter.
    totals : DataFrame
        One row per draw: ``draw`` and the horizon totals of :data:`METRICS`, summed
        over practices.
    practice_ids : tuple of str
    practice_loss_usd : ndarray, shape (n_draws, n_practices)
        Horizon-total revenue loss of every practice in every draw.
    deterministic : dict
        The base-case value of every metric (same engine, parameters at base).
    deterministic_practice_loss_usd : ndarray, shape (n_practices,)
    level : float
        Interval level (0.95).
    """

    policy: Policy
    assumptions: ImpactAssumptions
    table: pd.DataFrame
    distributions: pd.DataFrame
    parameters: pd.DataFrame
    totals: pd.DataFrame
    practice_ids: tuple[str, ...]
    practice_loss_usd: np.ndarray
    deterministic: dict[str, float]
    deterministic_practice_loss_usd: np.ndarray
    revenue_without_practice_usd: np.ndarray
    level: float = 0.95
    payer_mix_concentration: float | None = None

    @property
    def n_draws(self) -> int:
        return len(self.totals)

    @property
    def summary(self) -> pd.DataFrame:
        """Per metric (horizon totals, all practices): base case, mean, sd, median, interval."""
        rows = []
        for m in METRICS:
            x = self.totals[m].to_numpy()
            lo, hi = _interval(x, self.level)
            rows.append(
                {
                    "metric": m,
                    "deterministic": self.deterministic[m],
                    "mean": x.mean(),
                    "sd": x.std(ddof=1) if len(x) > 1 else 0.0,
                    "median": np.median(x),
                    "lower": float(lo),
                    "upper": float(hi),
                    "mcse": x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0,
                }
            )
        return pd.DataFrame(rows).assign(
            policy=self.policy.name, level=self.level, n_draws=self.n_draws
        )

    @property
    def practice_summary(self) -> pd.DataFrame:
        """Per practice: horizon loss (base case, mean, median, interval) and its share."""
        x = self.practice_loss_usd
        lo, hi = _interval(x, self.level, axis=0)
        rev = self.revenue_without_practice_usd
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(rev > 0, self.deterministic_practice_loss_usd / rev, np.nan)
        return pd.DataFrame(
            {
                "practice_id": list(self.practice_ids),
                "policy": self.policy.name,
                "deterministic": self.deterministic_practice_loss_usd,
                "mean": x.mean(axis=0),
                "median": np.median(x, axis=0),
                "lower": lo,
                "upper": hi,
                "loss_share": share,
            }
        )

    def interval(self, metric: str = "loss_usd") -> tuple[float, float]:
        """The central ``level`` interval of a total."""
        lo, hi = _interval(self.totals[metric].to_numpy(), self.level)
        return float(lo), float(hi)

    def convergence(self, metric: str = "loss_usd", **options: Any) -> Convergence:
        """:func:`convergence` of a total over the draws."""
        return convergence(
            self.totals[metric].to_numpy(), level=self.level, metric=metric, **options
        )

    def to_dict(self) -> dict[str, Any]:
        """Headline totals with intervals, the parameter table and the convergence state.

        Plain JSON values; missing numbers (NaN) are None.
        """
        conv = self.convergence()
        return json.loads(
            dumps_json(
                {
                    "policy": self.policy.to_dict(),
                    "n_draws": self.n_draws,
                    "level": self.level,
                    "payer_mix_concentration": self.payer_mix_concentration,
                    "totals": self.summary.to_dict("records"),
                    "parameters": self.table.to_dict("records"),
                    "distributions": self.distributions.to_dict("records"),
                    "convergence": {
                        "metric": "loss_usd",
                        "tolerance": conv.tolerance,
                        "n_stable": conv.n_stable,
                        "converged": conv.converged,
                    },
                },
                indent=None,
            )
        )

    def __repr__(self) -> str:
        lo, hi = self.interval()
        return (
            f"PSAResult({self.policy.name}: {self.n_draws:,} draws, horizon loss mean "
            f"${self.totals['loss_usd'].mean():,.0f}, {self.level:.0%} interval "
            f"${lo:,.0f} to ${hi:,.0f})"
        )

    def _repr_html_(self) -> str:
        fmt = {
            c: "{:,.0f}"
            for c in ("deterministic", "mean", "sd", "median", "lower", "upper", "mcse")
        }
        table = self.summary.drop(columns=["policy", "level", "n_draws"])
        return (
            f"<div><h4>PSA: {html.escape(self.policy.description)}</h4>"
            f"<p>{self.n_draws:,} draws; horizon totals over "
            f"{self.assumptions.horizon_years} year(s); {self.level:.0%} intervals.</p>"
            + plots.figure_html(plots.psa_histogram(self))
            + table.style.format(fmt).hide(axis="index").to_html()
            + "</div>"
        )


def psa(
    summary: pd.DataFrame | ImpactBase,
    policy: Policy,
    *,
    rng: np.random.Generator,
    n_draws: int = 10_000,
    assumptions: ImpactAssumptions | None = None,
    table: pd.DataFrame | None = None,
    correlation: Mapping[tuple[str, str], float] | None = None,
    payer_mix_concentration: float | None = None,
    level: float = 0.95,
    prices: str | HorizonPrices | None = None,
    response: ResponseResult | None = None,
) -> PSAResult:
    """Probabilistic sensitivity analysis of a policy's revenue impact.

    Parameters
    ----------
    summary : DataFrame or ImpactBase
        The additive practice summary (or its annualized base).
    policy : Policy
    rng : numpy.random.Generator
        The only source of randomness: the same seed gives identical results.
    n_draws : int
        Number of draws (10,000 by default).
    assumptions : ImpactAssumptions, optional
        The base case (the deterministic result, and the mode of ``pert``
        distributions); a value outside a parameter's range widens the range.
    table : DataFrame, optional
        Parameter specifications (default: ``impact_assumptions.csv``).
    correlation : mapping, optional
        ``{(parameter, parameter): rho}`` through a Gaussian copula.
    payer_mix_concentration : float, optional
        Draw each practice's payer mix of 3D volume from a Dirichlet distribution
        with this total concentration around the observed shares.
    level : float
        Interval level.
    prices : {"fee_schedule", "baseline"} or HorizonPrices, optional
        How the horizon years are priced, as in :func:`analysis.impact.impact`
        (default ``assumptions.prices``); every draw uses the same prices.
    response : ResponseResult, optional
        With ``stop_share="measured"``, the measured response
        (:func:`analysis.impact.resolve_stop_share`); the stop share is drawn from a
        distribution fitted to its interval (:mod:`analysis.measured`).

    Returns
    -------
    PSAResult

    Examples
    --------
    >>> result = psa(summary, full_bundling(), rng=np.random.default_rng(1))  # doctest: +SKIP
    >>> result.summary                                                          # doctest: +SKIP
    """
    assumptions = assumptions or ImpactAssumptions()
    if isinstance(prices, str):
        assumptions = assumptions.replace(prices=prices)
    assumptions = resolve_stop_share(assumptions, summary, policies=policy, response=response)
    table = parameter_table(assumptions, policy, table=table)
    base = as_base(summary, baseline_days=assumptions.baseline_days)
    draws = sample_parameters(table, n_draws, rng=rng, correlation=correlation)
    params = _param_arrays(draws, assumptions, policy)
    year_prices = price_table(base, assumptions, None if isinstance(prices, str) else prices)
    out = _evaluate(
        base, policy, params, assumptions, prices=year_prices, rng=rng,
        payer_mix_concentration=payer_mix_concentration,
    )
    det = _evaluate(base, policy, base_case_parameters(assumptions, policy), assumptions,
                    prices=year_prices)
    totals = pd.DataFrame({m: out[m].sum(axis=1) for m in METRICS}).assign(
        draw=np.arange(1, n_draws + 1)
    )
    return PSAResult(
        policy=policy,
        assumptions=assumptions,
        table=table,
        distributions=fit_table(table),
        parameters=draws,
        totals=totals[["draw", *METRICS]],
        practice_ids=base.practice_ids,
        practice_loss_usd=out["loss_usd"],
        deterministic={m: float(det[m].sum()) for m in METRICS},
        deterministic_practice_loss_usd=det["loss_usd"][0],
        revenue_without_practice_usd=det["revenue_without_usd"][0],
        level=level,
        payer_mix_concentration=payer_mix_concentration,
    )
