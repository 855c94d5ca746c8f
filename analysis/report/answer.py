"""The answer a committee page opens with: what the policy costs, who is flagged and how
sure, the one assumption that moves the answer most, and the data it rests on.

Each page's answer is a few short rows (:class:`Answer`), built here from the results
the page shows anyway, so that every number in it is one the page already discloses:
totals over all practices, the PSA interval, the tornado's top bar, and practice ids and
dollars only of the practices the report's disclosure plan shows. The writer puts it at
the top of the page (:meth:`analysis.report.ReportWriter.answer`) with the data
statement as its last row, and records it in ``results.json`` for the index page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.report.formatting import plural, text_html
from analysis.report.labels import parameter_label, policy_label
from analysis.report.scenario_section import param_text

__all__ = [
    "ANSWER_ID",
    "Answer",
    "AnswerRow",
    "brief_answer",
    "impact_answer",
    "medicare_answer",
    "scorecard_answer",
    "screen_answer",
]

ANSWER_ID = "answer"
"""The id of a page's answer box (its class is ``rad3d-answer``)."""


@dataclass(frozen=True)
class AnswerRow:
    """One line of the answer: a stable ``key``, the ``title`` shown and its ``text``."""

    key: str
    title: str
    text: str


@dataclass(frozen=True)
class Answer:
    """The rows of a page's answer, in the order shown."""

    rows: tuple[AnswerRow, ...]

    def with_row(self, row: AnswerRow) -> Answer:
        return replace(self, rows=(*self.rows, row))

    def to_dict(self) -> list[dict[str, str]]:
        return [{"key": r.key, "title": r.title, "text": r.text} for r in self.rows]

    def html(self) -> str:
        """The answer box: ``<section id="answer">``, a titled line per row."""
        rows = "".join(
            f'<div class="rad3d-answer-row rad3d-answer-{html.escape(r.key)}">'
            f'<div class="rad3d-answer-head">{html.escape(r.title)}</div>'
            f'<div class="rad3d-answer-text">{text_html(r.text)}</div></div>'
            for r in self.rows)
        return (f'<section id="{ANSWER_ID}" class="rad3d-answer" aria-label="Answer">'
                f'<div class="rad3d-answer-title">Answer</div>{rows}</section>')


# ------------------------------------------------------------------------ words


def _usd(value: float) -> str:
    return f"${value:,.0f}"


def _ids(ids: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    ids = list(ids)
    if len(ids) <= 1:
        return "".join(ids)
    return ", ".join(ids[:-1]) + " and " + ids[-1]


def _shown_ids(ids: Iterable[str], hidden: Iterable[str]) -> tuple[list[str], int]:
    """The ids a page may name, and how many it may not (the plan hides them)."""
    hidden = set(map(str, hidden))
    ids = [str(i) for i in ids]
    return [i for i in ids if i not in hidden], sum(i in hidden for i in ids)


def _named(ids: list[str], withheld: int) -> str:
    if not ids and not withheld:
        return ""
    text = _ids(ids)
    if withheld:
        more = f"{plural(withheld, 'practice')} whose counts are withheld"
        text = f"{text} and {more}" if text else more
    return text


def _span(horizon_years: int) -> str:
    return plural(int(horizon_years), "year")


# ------------------------------------------------------------------------- rows


#: What the PSA's uncertain parameters are about, in words.
_COVERS = (
    (("commercial_multiplier", "medicaid_multiplier", "self_pay_multiplier", "fee_update",
      "payer_cost_share"), "prices"),
    (("volume_growth",), "volume"),
    (("stop_share", "cost_per_rendering_usd"), "the practices' response"),
    (("scope_share",), "the policy's scope"),
    (("discount_rate",), "discounting"),
)


def _covers(sim) -> str:
    drawn = set(sim.distributions.loc[sim.distributions["distribution"] != "fixed",
                                      "parameter"])
    words = [w for names, w in _COVERS if drawn & set(names)]
    return _ids(words) or "the assumptions drawn"


def cost_row(result, sim, *, policy: str, converged: bool | None = None) -> AnswerRow:
    """What ``policy`` costs the practices: year 1, the horizon, the PSA interval of
    the horizon loss and what that interval covers."""
    row = result.summary.set_index("policy").loc[policy]
    h = result.assumptions.horizon_years
    if not row["revenue_without_horizon_usd"] > 0:
        return AnswerRow("cost", "What it costs", (
            f"No practice has 3D rendering revenue in the claims, so {policy_label(policy)} "
            "costs the practices nothing ($0) and there is no interval to give."))
    lower, upper = sim.interval()
    discount = "" if result.assumptions.discount_rate == 0 else " before discounting"
    text = (f"{policy_label(policy)} costs the practices {_usd(row['loss_year1_usd'])} of "
            f"3D revenue in year 1 ({row['loss_share_year1']:.0%} of it) and "
            f"{_usd(row['loss_horizon_usd'])} over {_span(h)}{discount}. The "
            f"{sim.level:.0%} interval of the {h}-year loss is {_usd(lower)} to "
            f"{_usd(upper)} ({sim.n_draws:,} PSA draws); it covers the uncertainty of "
            f"{_covers(sim)}, not the claims' own sampling error.")
    if converged is False:
        text += (f" The interval has not settled at {sim.n_draws:,} draws: read its ends "
                 "as approximate.")
    return AnswerRow("cost", "What it costs", text)


def flags_row(screen, *, hidden: Iterable[str] = ()) -> AnswerRow:
    """Who the LCD-benchmark screen flags, by tier, with the ids a page may name."""
    s, od, k = screen.settings, screen.overdispersion, screen.tiers
    t = screen.table.loc[screen.table["screened"]].sort_values(["q_value", "practice_id"])
    what = (f"on more than {s.threshold:.0%} of their "
            + ("non-oncology CT/MR encounters" if s.oncology_exemption_applied
               else "CT/MR encounters" if s.basis == "encounters" else "CT/MR services"))
    n = k["screened"]
    chance_ids = _named(*_shown_ids(t.loc[t["beyond_chance"], "practice_id"], hidden))
    chance = (f"{k['beyond_chance']} of {n} bill 3D {what} beyond chance alone (exact test, "
              f"BH q < {s.alpha:g})" + (f": {chance_ids}" if chance_ids else ""))
    if od.rejects(s.alpha):
        robust_ids = _named(*_shown_ids(t.loc[t["beyond_variation"], "practice_id"], hidden))
        text = (f"{k['beyond_variation']} of {n} practices are beyond the usual variation "
                "between practices, the robust flag"
                + (f": {robust_ids}" if robust_ids else "") + f". {chance}.")
    else:
        text = (f"{chance}. The practices vary no more than chance would make them, so this "
                "is also the robust flag.")
    if k["too_few"]:
        text += (f" {plural(k['too_few'], 'practice')} with fewer than {s.min_volume} "
                 f"CT/MR {s.basis} are too few to judge.")
    text += (f" The {s.threshold:.0%} benchmark comes from the retired Novitas LCD L35408: "
             "a reference point, not an active rule.")
    return AnswerRow("flagged", "Who is flagged, and how sure", text)


def tornado_row(tornado: pd.DataFrame, *, horizon_years: int) -> AnswerRow:
    """The assumption at the top of the tornado and what it does to the horizon loss."""
    if tornado.empty or not tornado["swing"].iloc[0] > 0:
        return AnswerRow("moves", "What moves the answer most",
                         "No single assumption moves the loss within its range.")
    top = tornado.iloc[0]
    name = str(top["parameter"])
    # the tornado's own label: a name such as "threshold" means the cap here
    label = top["label"] if isinstance(top.get("label"), str) and top["label"] \
        else parameter_label(name)
    text = (f"{label}: the {horizon_years}-year loss is "
            f"{_usd(top['outcome_low'])} at {param_text(name, top['low'])} and "
            f"{_usd(top['outcome_high'])} at {param_text(name, top['high'])} (base case "
            f"{param_text(name, top['base'])}, {_usd(top['outcome_base'])}). It is the top "
            "bar of the tornado diagram.")
    return AnswerRow("moves", "What moves the answer most", text)


def alternatives_row(result, *, policy: str) -> AnswerRow:
    """The horizon loss of every other policy compared."""
    h = result.assumptions.horizon_years
    rows = result.summary.set_index("policy")
    others = [f"{policy_label(p)} {_usd(r['loss_horizon_usd'])}"
              for p, r in rows.iterrows()
              if p != policy and p in {q.name for q in result.policies if q.kind != "status_quo"}]
    text = (f"Over {_span(h)}: " + "; ".join(others) + "." if others
            else "No alternative policy was compared.")
    return AnswerRow("alternatives", "The alternatives", text)


def losers_row(result, *, policy: str, hidden: Iterable[str] = (), n: int = 3) -> AnswerRow:
    """How many practices lose, and the largest losses a page may name."""
    row = result.summary.set_index("policy").loc[policy]
    h = result.assumptions.horizon_years
    p = (result.practices.loc[result.practices["policy"] == policy]
         .groupby("practice_id", as_index=False)["loss_usd"].sum()
         .sort_values(["loss_usd", "practice_id"], ascending=[False, True]))
    hidden = set(map(str, hidden))
    named = [f"{pid} {_usd(v)}" for pid, v in zip(p["practice_id"].astype(str), p["loss_usd"],
                                                  strict=True)
             if pid not in hidden and v > 0][:n]
    text = (f"{int(row['n_practices_losing'])} of {int(row['n_practices'])} practices lose "
            "3D revenue")
    worst = row["max_practice_loss_share"]
    text += (f"; the most affected loses {worst:.0%} of it." if np.isfinite(worst) and worst > 0
             else ".")
    if named:
        text += f" Largest losses over {_span(h)}: " + "; ".join(named) + "."
    return AnswerRow("losers", "Who loses most", text)


def _variant_text(rec: pd.Series, hidden: Iterable[str]) -> str:
    ids = [i.strip() for i in str(rec["flagged"]).split(",") if i.strip()]
    named = _named(*_shown_ids(ids, hidden))
    return (f"{int(rec['n_practices_flagged'])} of {int(rec['n_practices_screened'])}"
            + (f" ({named})" if named else ""))


def variants_row(variants: pd.DataFrame, *, hidden: Iterable[str] = ()) -> AnswerRow:
    """How the flag count changes without the oncology exemption and on services."""
    v = variants.set_index("variant")
    parts = []
    if "oncology not exempt" in v.index:
        parts.append("without the oncology exemption: "
                     + _variant_text(v.loc["oncology not exempt"], hidden))
    if "services basis" in v.index:
        parts.append("on the services basis, the only one public Medicare data allow: "
                     + _variant_text(v.loc["services basis"], hidden))
    text = ("Flagged " + "; ".join(parts) + "." if parts
            else "The screen was run under one variant only.")
    return AnswerRow("moves", "What moves the flags", text)


def trend_row(trend, *, hidden: Iterable[str] = ()) -> AnswerRow:
    """The quarters (:class:`analysis.trends.TrendResult`): the statewide rate at both
    ends, practices flagged per quarter, and the practices shown whose flag status
    changed, by name."""
    sw = trend.statewide.loc[trend.statewide["n_ct_mr"] > 0]
    if sw.empty:
        return AnswerRow("trend", "Over the quarters", f"No CT/MR imaging in {trend.span}.")
    first, last = sw.iloc[0], sw.iloc[-1]
    flagged = sw["n_practices_flagged"]
    low, high = int(flagged.min()), int(flagged.max())
    changes = trend.changes.loc[~trend.changes["practice_id"].isin(set(hidden))]
    named = "; ".join(f"{r.practice_id} ({r.change}: {r.flagged_quarters})"
                      for r in changes.itertuples())
    text = (f"Over {trend.span}, the rate of all practices went from {first['rate']:.1%} "
            f"({first['period']}) to {last['rate']:.1%} ({last['period']}); "
            f"{low if low == high else f'{low} to {high}'} practice"
            f"{'' if high == 1 else 's'} flagged per quarter. "
            + (f"Flag status changed: {named}." if named else
               "No practice shown changed its flag status."))
    return AnswerRow("trend", "Over the quarters", text)


# -------------------------------------------------------------------- per page


def brief_answer(result, sim, screen, tornado: pd.DataFrame, *, policy: str,
                 plan=None, converged: bool | None = None) -> Answer:
    """The policy brief: cost, flags, the top of the tornado (the writer adds the data)."""
    hidden = plan.hidden if plan is not None else ()
    return Answer((
        cost_row(result, sim, policy=policy, converged=converged),
        flags_row(screen, hidden=hidden),
        tornado_row(tornado, horizon_years=result.assumptions.horizon_years),
    ))


def impact_answer(result, sim, tornado: pd.DataFrame, *, policy: str, plan=None,
                  converged: bool | None = None) -> Answer:
    """The revenue-impact report: cost, who loses most, the top of the tornado and the
    alternatives."""
    hidden = set(plan.hidden) | set(plan.hidden_dollars) if plan is not None else set()
    return Answer((
        cost_row(result, sim, policy=policy, converged=converged),
        losers_row(result, policy=policy, hidden=hidden),
        tornado_row(tornado, horizon_years=result.assumptions.horizon_years),
        alternatives_row(result, policy=policy),
    ))


def screen_answer(screen, variants: pd.DataFrame, *, plan=None, trend=None) -> Answer:
    """The LCD screen: who is flagged and how sure, and what moves the flags; with a
    ``trend`` (:func:`analysis.trends.quarterly_trends`), what the quarters show."""
    hidden = plan.hidden if plan is not None else ()
    rows = (flags_row(screen, hidden=hidden), variants_row(variants, hidden=hidden))
    if trend is not None:
        rows += (trend_row(trend, hidden=hidden),)
    return Answer(rows)


def scorecard_answer(card, screen, *, policy: str, horizon_years: int,
                     dollars_withheld: bool = False) -> Answer:
    """One practice: its rate and flag against the benchmark and its peers, and its
    dollars at stake under each policy (withheld as the report's plan says)."""
    s = screen.settings
    pos = card.position_display
    row = card.screen_row.iloc[0]
    if card.not_screened:
        where = (f"Practice {card.practice_id} is not screened against the "
                 f"{s.threshold:.0%} benchmark: {card.not_screened}.")
        flag = "Not screened, so not flagged."
    elif card.suppressed:
        where = (f"Practice {card.practice_id}: its counts are withheld in this report (a "
                 "count from 1 to 10, or the practice that keeps one from being recovered "
                 f"from a total), so its rate is not shown. The peer median is "
                 f"{pos.loc[0, 'peer_median']} against the {s.threshold:.0%} benchmark.")
        flag = ("Flagged: " + card.status + "." if bool(card.flags.loc[0, "flagged"])
                else "Not flagged.")
    else:
        where = (f"Practice {card.practice_id} bills 3D on {pos.loc[0, 'practice']} of its "
                 + ("non-oncology CT/MR encounters" if s.oncology_exemption_applied
                    else f"CT/MR {s.basis}")
                 + (f" ({s.ci_level:.0%} interval {row['ci_low']:.1%} to {row['ci_high']:.1%})"
                    if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]) else "")
                 + ", "
                 f"against a peer median of {pos.loc[0, 'peer_median']} and the "
                 f"{s.threshold:.0%} benchmark of the retired LCD.")
        tier = card.status
        flag = ((f"Flagged: {tier}" if bool(card.flags.loc[0, "flagged"]) else
                 f"Not flagged: {tier}")
                + f" (BH q-value {_q(row['q_value'])}; peer percentile "
                f"{pos.loc[2, 'practice']}).")
    if dollars_withheld:
        money = ("Its dollars are withheld in this report: its 3D lines with the policy's "
                 "payers are too few to show.")
    elif getattr(card, "not_in_model", ""):
        money = f"Not in the revenue model: {card.not_in_model}."
    else:
        d = card.dollars.set_index("policy")
        head = d.loc[policy]
        others = [f"{policy_label(p)} {_usd(r['loss_horizon_usd'])}" for p, r in d.iterrows()
                  if p != policy and r["loss_horizon_usd"] > 0]
        money = (f"Under {policy_label(policy)} it loses {_usd(head['loss_year1_usd'])} in "
                 f"year 1 and {_usd(head['loss_horizon_usd'])} over {_span(horizon_years)}"
                 + ("; under the alternatives, over the same years: " + "; ".join(others)
                    if others else "") + ".")
    return Answer((
        AnswerRow("practice", "Where the practice stands", where),
        AnswerRow("flagged", "Flagged, and how sure", flag),
        AnswerRow("cost", "Dollars at stake", money),
    ))


def _q(value: float) -> str:
    if not np.isfinite(value):
        return "not estimable"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def medicare_answer(run, assumptions, *, threshold: float, alpha: float) -> Answer:
    """The Medicare public-data page: flags and their robustness to the file's
    suppression, the payer's estimated exposure, and the ratio that moves it most."""
    t = run.screen.table
    screened = t.loc[t["screened"]]
    flagged = screened.loc[screened["flag"]].sort_values(["q_value", "practice_id"])
    robust = flagged.loc[flagged["robust"]]
    names = [f"{r.practice_name} ({r.practice_id})" if isinstance(r.practice_name, str)
             and r.practice_name else str(r.practice_id) for r in flagged.itertuples()]
    where = ", ".join(run.screen_states) if run.screen_states else "all states"
    text = (f"{len(flagged)} of {plural(len(screened), 'provider')} in {where} bill 3D on "
            f"more than {threshold:.0%} of their CT/MR services beyond chance on the rows "
            f"CMS publishes (exact test, BH q < {alpha:g})"
            + (f": {_ids(names)}" if names else "") + ". ")
    if len(flagged):
        text += (f"{len(robust)} of these flags hold at both bounds of the rows CMS leaves "
                 "out (robust)." if len(robust) else
                 "No flag holds at both bounds of the rows CMS leaves out: each could be "
                 "explained by hidden CT/MR rows.")
    text += " Services basis; the benchmark comes from the retired Novitas LCD L35408."
    e = run.exposure.table.set_index("quantity").loc["payer_3d_allowed_usd"]
    cost = (f"Estimated from public Medicare data, {assumptions.payer} allows "
            f"{_usd(e['point'])} a year for 3D rendering in {run.exposure.state} (95% "
            f"interval {_usd(e['low'])} to {_usd(e['high'])} for this annual estimate, from "
            "the three ratios drawn together): what bundling would stop paying. An "
            "estimate from public data, not the payer's claims.")
    conv = run.exposure.convergence
    if conv is not None and not conv.n_stable:
        cost += (f" The interval's ends still move by more than {conv.tolerance:.0%} of the "
                 f"estimate at {len(run.exposure.draws):,} draws: more draws would settle "
                 "them.")
    ratios = [
        ("commercial_to_medicare_volume", "commercial-to-Medicare 3D volume"),
        ("bcbs_share_of_commercial", f"{assumptions.payer} share of commercial 3D services"),
        ("commercial_multiplier", "commercial price multiplier"),
    ]
    a = assumptions.to_dict()
    name, words = max(ratios, key=lambda r: a[f"{r[0]}_high"] / a[f"{r[0]}_low"])
    base, low, high = a[name], a[f"{name}_low"], a[f"{name}_high"]
    moves = (f"The {words}: the estimate is proportional to it, {_usd(e['point'] * low / base)} "
             f"at {param_text(name, low)} and {_usd(e['point'] * high / base)} at "
             f"{param_text(name, high)} (central {param_text(name, base)}); it has the widest "
             "range of the three ratios.")
    return Answer((
        AnswerRow("flagged", "Who is flagged, and how sure", text),
        AnswerRow("cost", "What it costs the payer", cost),
        AnswerRow("moves", "What moves the answer most", moves),
    ))
