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
    """

    practice_id: str
    position: pd.DataFrame
    screen_row: pd.DataFrame
    flags: pd.DataFrame
    compliance: pd.DataFrame
    dollars: pd.DataFrame
    suppressed: bool = False

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
        flagged = "flags" if bool(self.flags.loc[0, "flagged"]) else "does not flag"
        if self.suppressed:
            return (f"**Practice {self.practice_id}.** Its counts are withheld in this "
                    "report (a count below the reporting threshold, or the practice that "
                    "keeps one from being recovered from a total), so its rate is not shown "
                    "(suppressed); the peer "
                    f"median is {d.loc[0, 'peer_median']} against the "
                    f"{d.loc[0, 'benchmark']} benchmark. The exact test {flagged} it.")
        return (f"**Practice {self.practice_id}.** Its 3D rate is {d.loc[0, 'practice']} "
                f"against a peer median of {d.loc[0, 'peer_median']} and the "
                f"{d.loc[0, 'benchmark']} benchmark; the exact test {flagged} it.")


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
    flags = pd.DataFrame([
        {"screen": "exact binomial test, Benjamini-Hochberg", "flagged": bool(rec["flag_exact"]),
         "rule": f"q < {s.alpha:g} for H0: rate <= {s.threshold:g}"},
        {"screen": "peer percentile (PEPPER-style)", "flagged": bool(rec["flag_percentile"]),
         "rule": f"rate above the {s.percentile_flag:.0%} quantile of peers"},
        {"screen": "empirical-Bayes shrinkage", "flagged": bool(rec["flag_shrinkage"]),
         "rule": "P(true rate > benchmark) > 0.95"},
        {"screen": "funnel plot, exact 99.8% limit", "flagged": bool(rec["above_exact_998"]),
         "rule": "rate above the upper 99.8% limit at its volume"},
    ])
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
    return Scorecard(pid, position, row[screen_cols].reset_index(drop=True), flags,
                     compliance, dollars, suppressed)

