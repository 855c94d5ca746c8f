"""One practice's comparative billing report (in the spirit of CMS's).

The practice's 3D rate against the benchmark and its peers, the screens that flag it,
compliance findings on its 3D lines and the dollars at stake under each policy; its rate
is withheld when its counts are suppressed in a shared report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.disclosure import DisclosurePlan
from analysis.errors import InputError
from analysis.privacy import MARKER, PrivacySettings
from analysis.report.figure_privacy import hidden_practices

__all__ = ["Scorecard", "scorecard"]


@dataclass(frozen=True)
class Scorecard:
    """One practice's comparative billing report (see :func:`scorecard`).

    Attributes
    ----------
    practice_id : str
    position : DataFrame
        One row per measure: the practice's value, the peer median and the
        benchmark (``measure, practice, peer_median, benchmark``).
    screen_row : DataFrame
        The practice's row of the LCD screen (``n_ct_mr, n_3d, unit, rate, ci_low,
        ci_high, p_value, q_value, shrunken_rate, prob_above, percentile, excess_n_3d,
        excess_usd``).
    flags : DataFrame
        ``screen, flagged, rule`` for the exact, percentile and shrinkage screens.
    compliance : DataFrame
        Per period: 3D lines, non-compliant 3D lines (with a "do not report with"
        code or both 3D codes), orphan 3D lines, 3D lines on a later date than the
        study, 3D lines without an allowed amount, and non-compliant allowed dollars.
    dollars : DataFrame
        Per policy: 3D revenue without the policy, loss in year 1 and over the
        horizon, net margin loss, loss share.
    suppressed : bool
        The practice's screen counts are suppressed in a shared report
        (:func:`hidden_practices`): its rate and every figure derived from it are
        not shown (:attr:`position_display`, :attr:`headline`).
    not_screened : str
        Why the practice is not screened (empty when it is): it has no CT/MR imaging
        in the screen's basis (only orphan 3D lines, or only oncology encounters), so
        its rate is not estimable; its dollars are still in :attr:`dollars`.
    annualization : str
        How year 1 of :attr:`dollars` was annualized for this practice, in words.
    status : str
        The practice's tier in the screen (``analysis.lcd``: beyond the usual
        variation, beyond chance only, too few to judge, ...).
    not_in_model : str
        Why the practice has no dollars (empty when it has): no claims in the periods
        the revenue model priced (e.g. it left before, or entered after, the baseline
        year of :func:`analysis.baseline.baseline_year`).
    """

    practice_id: str
    position: pd.DataFrame
    screen_row: pd.DataFrame
    flags: pd.DataFrame
    compliance: pd.DataFrame
    dollars: pd.DataFrame
    suppressed: bool = False
    not_screened: str = ""
    annualization: str = ""
    status: str = ""
    not_in_model: str = ""

    @property
    def summary(self) -> pd.DataFrame:
        return self.position

    @property
    def position_display(self) -> pd.DataFrame:
        """:attr:`position` with every value written as a percentage (all four
        measures are shares: rates, a percentile, a probability)."""
        def pct(v: Any) -> str:
            if v is None or not np.isfinite(float(v)):
                return "–"
            v = 100 * float(v)
            return "< 0.1%" if 0 < v < 0.05 else "> 99.9%" if 99.95 < v < 100 else f"{v:.1f}%"

        shown = self.position.assign(
            **{c: self.position[c].map(pct) for c in ("practice", "peer_median", "benchmark")}
        )
        return shown.assign(practice=MARKER) if self.suppressed else shown

    @property
    def headline(self) -> str:
        """One sentence: the practice's rate against its peers and whether it is
        flagged (its rate withheld when its counts are suppressed)."""
        d = self.position_display
        if self.not_screened:
            return (f"**Practice {self.practice_id}.** It is not screened against the "
                    f"{d.loc[0, 'benchmark']} benchmark: {self.not_screened}, so its 3D "
                    "rate is not estimable. Its 3D lines still count in the dollars below.")
        verb = "flags" if bool(self.flags.loc[0, "flagged"]) else "does not flag"
        flagged = f"the screen {verb} it"
        if self.suppressed:
            return (f"**Practice {self.practice_id}.** Its counts are withheld in this "
                    "report (a count below the reporting threshold, or the practice that "
                    "keeps one from being recovered from a total), so its rate is not shown "
                    "(suppressed); the peer "
                    f"median is {d.loc[0, 'peer_median']} against the "
                    f"{d.loc[0, 'benchmark']} benchmark; {flagged}.")
        return (f"**Practice {self.practice_id}.** Its 3D rate is {d.loc[0, 'practice']} "
                f"against a peer median of {d.loc[0, 'peer_median']} and the "
                f"{d.loc[0, 'benchmark']} benchmark; {flagged} ({self.status}).")


def scorecard(summary: pd.DataFrame, practice_id: str, *, screen, impact,
              privacy: PrivacySettings | None = None,
              plan: DisclosurePlan | None = None) -> Scorecard:
    """Assemble one practice's scorecard from the screen and the impact of all policies.

    Parameters
    ----------
    summary : DataFrame
        The practice summary (:mod:`analysis.summary`), any period.
    practice_id : str
    screen : analysis.lcd.ScreenResult
        The screen of all practices (the practice's peers).
    impact : analysis.impact.ImpactResult
        Impact of every policy to compare.
    privacy : PrivacySettings, optional
        For a shared report: mark the scorecard ``suppressed`` when the practice's
        screen counts are (:func:`hidden_practices`).
    plan : DisclosurePlan, optional
        The report's disclosure plan (:func:`analysis.disclosure.disclosure_plan`),
        which replaces ``privacy``: the scorecard is ``suppressed`` when the plan hides
        the practice, and peer medians and percentiles are taken over the practices
        the plan shows (:meth:`~analysis.disclosure.DisclosurePlan.shown_screen`), so
        that they reveal nothing of a suppressed one.

    Raises
    ------
    InputError
        ``practice_id`` is not in the summary.
    """
    pid = str(practice_id)
    known = summary["practice_id"].astype(str)
    if pid not in set(known):
        raise InputError(
            f"no such practice in the claims (e.g. {', '.join(sorted(set(known))[:5])})",
            column="practice_id", value=practice_id,
        )
    t = screen.table
    shown = plan.shown_screen(screen).table if plan is not None else t
    if plan is not None and pid not in plan.hidden:
        t = shown  # its percentile among the practices shown
    row = t.loc[t["practice_id"].astype(str) == pid]
    peers = shown.loc[shown["screened"]]
    s = screen.settings
    rec = row.iloc[0]
    position = pd.DataFrame([
        {"measure": "3D rate (screen basis)", "practice": rec["rate"],
         "peer_median": peers["rate"].median(), "benchmark": s.threshold},
        {"measure": "shrunken 3D rate (empirical Bayes)", "practice": rec["shrunken_rate"],
         "peer_median": peers["shrunken_rate"].median(), "benchmark": s.threshold},
        {"measure": "peer percentile of the rate", "practice": rec["percentile"],
         "peer_median": 0.5, "benchmark": s.percentile_flag},
        {"measure": "probability the true rate exceeds the benchmark",
         "practice": rec["prob_above"], "peer_median": peers["prob_above"].median(),
         "benchmark": 0.95},
    ])
    screen_cols = [c for c in ("n_ct_mr", "n_3d", "unit", "rate", "ci_low", "ci_high",
                               "p_value", "q_value", "shrunken_rate", "prob_above",
                               "percentile", "excess_n_3d", "excess_usd")
                   if c in row.columns]
    not_screened = "" if bool(rec["screened"]) else _why_not_screened(rec, screen)
    shrinkage = ("P(true rate > benchmark) > 0.95" if screen.prior.estimable
                 else f"not estimable: {screen.prior.not_estimable}")
    flags = pd.DataFrame([
        {"screen": "the screen's leading tier", "flagged": bool(rec["flag"]),
         "rule": f"{screen.flag_label}; at least {s.min_volume} CT/MR {s.basis}"},
        {"screen": "exact binomial test, Benjamini-Hochberg", "flagged": bool(rec["flag_exact"]),
         "rule": f"q < {s.alpha:g} for H0: rate <= {s.threshold:g}"},
        {"screen": "peer percentile (PEPPER-style)", "flagged": bool(rec["flag_percentile"]),
         "rule": f"rate at or above the {s.percentile_flag:.0%} quantile of peers"},
        {"screen": "empirical-Bayes shrinkage",
         "flagged": bool(rec["flag_shrinkage"]) if screen.prior.estimable else None,
         "rule": shrinkage},
        {"screen": "funnel plot, exact 99.8% limit", "flagged": bool(rec["above_exact_998"]),
         "rule": "rate above the upper 99.8% limit at its volume"},
    ])
    if not_screened:
        flags = flags.assign(flagged=None, rule="not screened: its rate is not estimable")
    counts = [c for c in ("n_3d_lines", "n_noncompliant_3d_lines", "n_orphan_3d_lines",
                          "n_separate_date_3d_lines", "n_unpriced_3d_lines",
                          "noncompliant_allowed_usd") if c in summary.columns]
    compliance = (
        summary.loc[known == pid]
        .groupby("period", as_index=False)[counts].sum()
        .sort_values("period")
        .reset_index(drop=True)
    )
    p = impact.practices.loc[impact.practices["practice_id"].astype(str) == pid]
    dollars = (
        p.groupby("policy", sort=False)
        .agg(revenue_without_usd=("revenue_without_usd", "sum"),
             loss_usd=("loss_usd", "sum"),
             loss_year1_usd=("loss_usd", lambda v: float(v.iloc[0])),
             net_margin_loss_usd=("net_margin_loss_usd", "sum"))
        .reset_index()
        .assign(loss_share=lambda d: d["loss_usd"] / d["revenue_without_usd"].where(
            d["revenue_without_usd"] > 0))
        .rename(columns={"revenue_without_usd": "revenue_without_horizon_usd",
                         "loss_usd": "loss_horizon_usd",
                         "net_margin_loss_usd": "net_margin_loss_horizon_usd"})
    )
    if plan is not None:
        suppressed = plan.settings.min_cell_count > 1 and plan.hides(pid)
    else:
        suppressed = privacy is not None and privacy.min_cell_count > 1 and pid in set(
            hidden_practices(screen, settings=privacy))
    not_in_model = ""
    if p.empty:
        periods = (getattr(impact, "base", None) or {}).get("periods") or []
        span = f" ({periods[0]} to {periods[-1]})" if periods else ""
        not_in_model = (f"it has no claims in the periods the revenue model prices{span}, "
                        "so no dollars are modelled for it")
    return Scorecard(pid, position, row[screen_cols].reset_index(drop=True), flags,
                     compliance, dollars, suppressed, not_screened,
                     _annualization_text(impact, pid), str(rec["status"]), not_in_model)


def _annualization_text(impact, pid: str) -> str:
    """How year 1 of the practice's dollars was annualized, in words."""
    a = impact.annualization.set_index("practice_id")
    if pid not in a.index:
        return ""
    rec = a.loc[pid]
    if impact.base["annualization_method"] == "days":
        return (f"Year 1 is this practice's claims scaled by 365 / "
                f"{impact.base['baseline_days']:g} days (x{rec['annualization_factor']:.4g}).")
    n, unit = int(rec["periods_observed"]), impact.base["period_unit"] or "period"
    return (f"Year 1 is this practice's claims in the {n} {unit}{'' if n == 1 else 's'} in "
            f"which it has claim lines ({rec['first_period']} to {rec['last_period']}), "
            f"scaled to one year (x{rec['annualization_factor']:.4g}).")


def _why_not_screened(rec: pd.Series, screen) -> str:
    """Why a practice of the screen has no CT/MR imaging in its basis, in words."""
    if screen.settings.basis == "services":
        return "it has no CT/MR units in the claims"
    encounters = rec.get("n_encounters", np.nan)
    if encounters == 0:
        return ("it has no CT/MR encounter in the claims (its 3D lines have no CT/MR study "
                "within the link window)")
    if screen.settings.oncology_exemption_applied and rec.get("n_onc_encounters") == encounters:
        return ("all its CT/MR encounters are oncology encounters, exempt from the "
                "benchmark (the LCD's cancer-evaluation exception)")
    return "it has no CT/MR encounter in the periods and payers screened"

