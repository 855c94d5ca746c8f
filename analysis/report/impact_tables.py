"""Views of a budget-impact result for shown tables: per year, per payer, per practice.

Each takes an :class:`analysis.impact.ImpactResult` and returns a plain table (dates as
``YYYY-MM-DD`` text) that :meth:`analysis.report.ReportWriter.table` can show.
"""

from __future__ import annotations

import pandas as pd

from analysis.errors import InputError
from analysis.report.labels import parameter_label
from analysis.report.scenario_section import param_text

__all__ = ["assumption_view", "impact_payers", "impact_prices", "impact_years", "policy_row",
           "policy_value", "top_losers", "varied_assumptions"]


def varied_assumptions(result, *, source_chars: int = 160) -> pd.DataFrame:
    """The rows of :func:`assumption_view` that the tornado and the PSA vary (a low and
    a high end), each source cut to about ``source_chars`` characters at a word: the
    brief's short table (settings are in its scenario table, every row and source in
    full on the revenue-impact page)."""
    def cut(text: str) -> str:
        return text if len(text) <= source_chars else (
            text[:source_chars].rsplit(" ", 1)[0] + " …")

    view = assumption_view(result)
    varied = view.loc[view["low"].ne("not varied")]
    return varied.assign(source=varied["source"].map(cut))


def assumption_view(result) -> pd.DataFrame:
    """The assumption table of an :class:`analysis.impact.ImpactResult` as a committee
    reads it: every row named (the reference file's label, else the label table's),
    values and ranges in words and units (shares as percentages, payers by name; a
    setting without a range is "not varied")."""
    t = result.assumption_table()

    def value(name: str, text: str) -> str:
        try:
            number = float(text)
        except ValueError:
            return param_text(name, text)
        return param_text(name, int(number) if name == "horizon_years" else number)

    labels = [lab if isinstance(lab, str) and lab else parameter_label(name)
              for name, lab in zip(t["parameter"], t["label"], strict=True)]
    def bound(name: str, number: float) -> str:
        return param_text(name, float(number)) if pd.notna(number) else "not varied"

    return t.assign(
        label=labels,
        value=[value(n, v) for n, v in zip(t["parameter"], t["value"], strict=True)],
        low=[bound(n, v) for n, v in zip(t["parameter"], t["low"], strict=True)],
        high=[bound(n, v) for n, v in zip(t["parameter"], t["high"], strict=True)],
    )


def impact_years(result, *, policy: str | None = None) -> pd.DataFrame:
    """Totals per policy and year of an :class:`analysis.impact.ImpactResult`."""
    cols = ["policy", "year", "year_start", "in_force_share", "revenue_without_usd",
            "revenue_with_usd", "loss_usd", "loss_share", "loss_pv_usd",
            "net_margin_loss_usd", "payer_savings_usd", "patient_savings_usd",
            "renderings_unpaid", "n_practices_losing"]
    t = result.totals
    if policy is not None:
        t = t.loc[t["policy"] == policy]
    t = t[[c for c in cols if c in t.columns]]
    if "year_start" in t:
        t = t.assign(year_start=pd.to_datetime(t["year_start"]).dt.strftime("%Y-%m-%d"))
    return t.reset_index(drop=True)


def impact_prices(result) -> pd.DataFrame:
    """Which fee schedule priced each horizon year (``result.prices.years``): the RVU
    and GPCI files, the conversion factor, the whole baseline's price index, the years
    of fee update after the schedule, and the same in words."""
    cols = ["year", "year_start", "fee_year", "rvu_vintage", "gpci_vintage",
            "conversion_factor", "price_index", "years_after_schedule", "fee_schedule"]
    t = result.prices.years[cols]
    return t.assign(year_start=t["year_start"].dt.strftime("%Y-%m-%d")).reset_index(drop=True)


def impact_payers(result) -> pd.DataFrame:
    """Per policy, year and payer (the payer perspective)."""
    t = result.payers
    if "year_start" in t:
        t = t.assign(year_start=pd.to_datetime(t["year_start"]).dt.strftime("%Y-%m-%d"))
    return t.reset_index(drop=True)


def policy_row(result, policy: str) -> pd.Series:
    """The headline row of ``policy`` in ``result.summary``."""
    table = result.summary
    hit = table.loc[table["policy"] == policy]
    if hit.empty:
        raise InputError("not among the policies compared", column="headline_policy",
                         value=policy)
    return hit.iloc[0]


def policy_value(table: pd.DataFrame, policy: str, column: str) -> float | None:
    """One value of a per-policy table (``None`` when the policy is absent)."""
    hit = table.loc[table["policy"] == policy, column]
    return None if hit.empty else float(hit.iloc[0])


def top_losers(result, policy: str, *, n: int = 10) -> pd.DataFrame:
    """The practices that lose most under ``policy`` over the horizon.

    From an :class:`analysis.impact.ImpactResult`: per practice, **horizon sums** of
    ``revenue_without_usd, loss_usd, net_margin_loss_usd, renderings_unpaid`` and
    ``loss_share`` = loss / revenue without the policy over the horizon; beside them
    the **year-1** figures ``loss_year1_usd`` and ``loss_share_year1`` (year 1 =
    the first horizon year), and how the practice was annualized
    (``periods_observed``, ``annualization_factor``). Sorted by horizon loss, largest
    first.
    """
    p = result.practices.loc[result.practices["policy"] == policy]
    cols = [c for c in ("revenue_without_usd", "loss_usd", "net_margin_loss_usd",
                        "renderings_unpaid") if c in p.columns]
    first = p.loc[p["year"] == p["year"].min()] if "year" in p.columns else p.iloc[:0]
    year1 = (
        first.groupby("practice_id", as_index=False)[["revenue_without_usd", "loss_usd"]]
        .sum()
        .rename(columns={"revenue_without_usd": "_rev1", "loss_usd": "loss_year1_usd"})
    )
    return (
        p.groupby("practice_id", as_index=False)[cols].sum()
        .assign(loss_share=lambda d: d["loss_usd"] / d["revenue_without_usd"].where(
            d["revenue_without_usd"] > 0))
        .merge(year1, on="practice_id", how="left")
        .assign(loss_share_year1=lambda d: d["loss_year1_usd"] / d["_rev1"].where(
            d["_rev1"] > 0))
        .drop(columns=["_rev1"])
        .merge(result.annualization[["practice_id", "periods_observed", "annualization_factor"]],
               on="practice_id", how="left")
        .sort_values(["loss_usd", "practice_id"], ascending=[False, True])
        .head(n)
        .reset_index(drop=True)
    )

