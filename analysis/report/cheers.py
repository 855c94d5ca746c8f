"""The CHEERS 2022 appendix: where a budget-impact report answers each item that applies
(Husereau et al., Value Health 2022; see :func:`cheers_appendix`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.report.formatting import plural
from analysis.report.labels import payer_label, policy_label

__all__ = ["cheers_appendix"]


#: CHEERS 2022 items (Husereau et al. 2022) that apply to a budget-impact report.
_CHEERS = (
    (5, "Study population", "population"),
    (6, "Setting and location", "setting"),
    (7, "Comparators", "comparators"),
    (8, "Perspective", "perspective"),
    (9, "Time horizon", "horizon"),
    (10, "Discount rate", "discount"),
    (14, "Measurement and valuation of resources and costs", "costs"),
    (15, "Currency, price date, and conversion", "currency"),
    (16, "Rationale and description of model", "model"),
    (17, "Analytics and assumptions", "assumptions"),
    (18, "Characterizing heterogeneity", "heterogeneity"),
    (19, "Characterizing distributional effects", "distribution"),
    (20, "Characterizing uncertainty", "uncertainty"),
    (22, "Study parameters", "parameters"),
    (23, "Summary of main results", "results"),
    (24, "Effect of uncertainty", "uncertainty_effect"),
    (26, "Study findings, limitations, generalizability, and current knowledge",
     "limitations"),
)


def cheers_appendix(impact, *, screen=None, psa=None, n_practices: int | None = None,
                    periods: Sequence[str] = ()) -> pd.DataFrame:
    """The CHEERS 2022 items that apply to this report, and where each is answered.

    Parameters
    ----------
    impact : analysis.impact.ImpactResult
    screen : analysis.lcd.ScreenResult, optional
    psa : analysis.uncertainty.PSAResult, optional
    n_practices : int, optional
    periods : sequence of str
        Baseline periods of the claims.

    Returns
    -------
    DataFrame
        ``item, topic, how this report addresses it`` (CHEERS item numbers of the
        28-item 2022 checklist; items for health outcomes, engagement, funding and
        conflicts are outside a budget-impact calculator and are left to the
        committee's cover note).

    References
    ----------
    Husereau D, Drummond M, Augustovski F, et al. Consolidated Health Economic
    Evaluation Reporting Standards 2022 (CHEERS 2022) statement. Value Health
    2022;25(1):3-9.
    """
    a = impact.assumptions
    pols = ", ".join(policy_label(p.name) for p in impact.policies if p.kind != "status_quo")
    payers = ", ".join(sorted({payer_label(x) for p in impact.policies for x in p.payers})) or "-"
    base = impact.base
    baseline = ", ".join(periods) or "-".join(map(str, base.get("periods", [])[:1]))
    text = {
        "population": f"{n_practices if n_practices is not None else base.get('n_practices')} "
                      "radiology practices (billing groups) and their CT/MR encounters with "
                      f"3D rendering (CPT 76376/76377) in the claims, baseline {baseline}.",
        "setting": "North Carolina commercial market (BCBS NC 3D bundling policy, 2024); "
                   "prices from the Medicare PFS with the NC locality GPCIs.",
        "comparators": f"Status quo (separate payment) versus: {pols}.",
        "perspective": "Practice revenue (primary); payer and patient perspectives "
                       "reported beside it.",
        "horizon": f"{plural(a.horizon_years, 'year')} from {a.start_date.isoformat()}, per year "
                   "(ISPOR budget-impact convention).",
        "discount": f"Undiscounted totals; present value at {a.discount_rate:.1%} shown "
                    "separately." if a.discount_rate else
                    "Undiscounted (budget-impact convention).",
        "costs": "Observed allowed amounts; missing ones priced from the Medicare PFS "
                 "(RVU x GPCI x conversion factor) times a payer multiplier; practice cost "
                 "avoided per rendering stopped.",
        "currency": "US dollars, nominal; " + _price_date(impact) + "; no currency conversion.",
        "model": "Budget-impact calculator: world without vs. world with each policy, "
                 "per practice x payer from the additive claims summary.",
        "assumptions": "Assumption table with values, ranges, distributions and sources "
                       "(section 'Assumptions and sources'); the behavioural response "
                       + ("measured from the claims (difference in differences)."
                          if a.stop_share_measured else "assumed."),
        "heterogeneity": "Results per practice (loss and loss share), per payer; LCD screen "
                         "per practice with volume-aware statistics.",
        "distribution": "Who loses most: practices ranked by loss and share of 3D revenue; "
                        f"payers affected: {payers}; patient cost sharing.",
        "uncertainty": "Named scenarios, one-way sensitivity (tornado) and probabilistic "
                       "sensitivity analysis with a convergence check"
                       + (f" ({psa.n_draws:,} draws)." if psa is not None else "."),
        "parameters": "Every parameter with base, low, high, distribution and source "
                      "(the reference file impact_assumptions.csv); each PSA distribution "
                      "fitted so that its 2.5 % and 97.5 % quantiles are low and high, "
                      "with the fit error (revenue-impact analysis, 'Assumptions and "
                      "sources').",
        "results": "Headline table: loss per year and over the horizon, per policy.",
        "uncertainty_effect": (
            f"{psa.level:.0%} interval of the horizon loss from the PSA; tornado of the "
            "parameters that move it most." if psa is not None else
            "Tornado of the parameters that move the loss most."),
        "limitations": "Section 'Limitations'; the LCD 20% test is a benchmark from a "
                       "retired LCD (L35408, 2015-10-01 to 2023-09-28).",
    }
    if screen is not None:
        text["heterogeneity"] += f" {screen.n_flagged} of {screen.n_screened} practices flagged."
    return pd.DataFrame(
        [{"item": n, "topic": topic, "how this report addresses it": text[key]}
         for n, topic, key in _CHEERS]
    )


def _price_date(impact) -> str:
    """Which fee schedule priced each horizon year, for CHEERS item 15."""
    a = impact.assumptions
    if a.prices == "baseline" or impact.prices is None:
        return (f"the baseline's prices (claim lines priced at the fee schedule of their "
                f"date), fee update {a.fee_update:+.1%} per year after year 1")
    years = "; ".join(f"year {r.year}: {r.fee_schedule}"
                      for r in impact.prices.years.itertuples())
    return (f"each horizon year at its own Medicare fee schedule ({years}); fee update "
            f"{a.fee_update:+.1%} per year after the last known schedule")
