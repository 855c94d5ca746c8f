"""Disclosure control of a shared report: which cells every published view withholds.

A report publishes the same numbers in many views: the screen table, the quarterly
trend, each practice's scorecard, the dollar tables of the impact model, the totals of
the claims read, peer medians and percentiles. Suppressing small counts table by table
(:func:`analysis.privacy.suppress_counts`) is not enough: a cell hidden in one view and
shown in another, or recoverable from a total published elsewhere, or from dollars that
are counts times a published price, is disclosed. So the cells are decided **once, over
all views together** (:func:`disclosure_plan`), and every writer applies the same
decision (:class:`DisclosurePlan`, used by :class:`analysis.report.ReportWriter`).

The rule (:attr:`DisclosurePlan.rule`, stated once on every report page):

1. **Practices.** A practice is suppressed in every view -- screen, trend, funnel,
   scorecard, dollar tables -- when any of its whole-period counts that a report
   publishes or derives (:data:`PRACTICE_MEASURES`: CT/MR encounters with and without
   oncology, those with 3D, CT/MR and 3D units, 3D lines) is from 1 to
   ``min_cell_count - 1``.
2. **Complements.** Each of those counts is published as a total over all practices,
   so the practices suppressed must, in every measure, number none or at least two and
   hold together none or at least ``min_cell_count`` of it; otherwise the smallest
   further practice with a non-zero count is suppressed too, until every total holds.
3. **Periods.** A quarter of a shown practice is suppressed in the per-quarter views
   when one of its counts is from 1 to ``min_cell_count - 1``, with the smallest further
   quarter of the practice (or the practice itself) by the same rule, since its
   quarters add up to its published total; and, since the statewide trend
   (:mod:`analysis.trends`) publishes each quarter's total over all practices, the
   quarters suppressed in one calendar quarter must by rule 2 number none or at least
   two and hold none or at least ``min_cell_count`` of each count, else the smallest
   further practice's quarter is suppressed too.
4. **Dollars.** Dollars of a suppressed practice are suppressed (they are counts times
   a published price), and so are the dollars of a practice whose 3D lines with the
   policy payers (what its loss is made of) number 1 to ``min_cell_count - 1`` over the
   whole period or in any one period of the summary (the revenue model may price one
   year of several, :mod:`analysis.baseline`), with complements among the practices by
   rule 2 for each.
5. **Peers.** Peer medians and percentiles are computed over the shown practices only
   (:meth:`DisclosurePlan.shown_screen`).

References
----------
Hundepool A. et al., *Statistical Disclosure Control*, Wiley 2012, section 4.2
(secondary cell suppression over linked tables).
CMS, "CMS Cell Size Suppression Policy" (Research Data Assistance Center, 2017).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.privacy import PrivacySettings

__all__ = ["PRACTICE_MEASURES", "DisclosurePlan", "disclosure_plan", "is_dollar_column"]

#: The per-practice counts a report publishes or derives (screen counts on every basis,
#: 3D lines behind the dollars); a total of each over all practices is published too.
PRACTICE_MEASURES: tuple[str, ...] = (
    "n_encounters", "n_encounters_3d", "n_nononc_encounters", "n_nononc_encounters_3d",
    "ct_mr_units", "units_3d", "n_3d_lines",
)
#: Columns that are dollars, or statistics of dollars (the PSA's per-practice table).
_DOLLAR_TOKENS = frozenset({"usd", "loss", "revenue", "savings", "deterministic", "mean",
                            "median", "lower", "upper", "mcse", "renderings"})

Cell = tuple[Hashable, ...]


def is_dollar_column(name: object) -> bool:
    """Whether a column holds dollars or a statistic of dollars (by its name)."""
    return bool(_DOLLAR_TOKENS.intersection(str(name).lower().split("_")))


def _measures(summary: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per ``keys``: the :data:`PRACTICE_MEASURES` the summary holds (``units_3d`` =
    76376 + 76377 units)."""
    frame = summary.assign(practice_id=summary["practice_id"].astype(str))
    if {"units_3d_76376", "units_3d_76377"} <= set(frame.columns):
        frame = frame.assign(units_3d=frame["units_3d_76376"] + frame["units_3d_76377"])
    cols = [m for m in PRACTICE_MEASURES if m in frame.columns]
    if "period" in keys:
        frame = frame.assign(period=frame["period"].astype(str))
    return frame.groupby(list(keys), as_index=False, observed=True)[cols].sum()


def _protect(values: dict[Cell, float], groups: Iterable[tuple[Cell | None, Sequence[Cell]]],
             primary: set[Cell], close: Callable[[set[Cell]], set[Cell]],
             k: int) -> tuple[set[Cell], list]:
    """Hidden cells: ``primary`` and complements until no published relation
    ``total = sum(parts)`` gives one hidden cell away.

    A group is ``(total, parts)``; ``total`` is a cell, or ``None`` for a total that is
    always published. Among the group's cells none, or at least two, are hidden; and when
    the total is shown, the hidden parts (which the total less the shown parts gives
    away together) sum to 0 or at least ``k``. ``close`` adds the cells that go with a
    hidden one (the rest of its row). Returns the hidden cells and the groups that
    could not be protected (nothing left to hide: their total must not be
    published).
    """
    groups = [(total, list(parts)) for total, parts in groups]
    hidden = close(set(primary))
    unprotected = []
    changed = True
    while changed:
        changed = False
        unprotected = []
        for total, parts in groups:
            cells = parts if total is None else [total, *parts]
            inside = [c for c in cells if c in hidden]
            part = sum(values[c] for c in parts if c in hidden)
            small = (total is None or total not in hidden) and 0 < part < k
            if not inside or (len(inside) >= 2 and not small):
                continue
            open_cells = [c for c in cells if c not in hidden]
            positive = [c for c in open_cells if values[c] > 0]
            pool = positive or (open_cells if len(inside) == 1 else [])
            if not pool:
                if total is None:
                    unprotected.append(parts)
                continue
            hidden |= close({min(pool, key=lambda c: (values[c], str(c)))})
            changed = True
    return hidden, unprotected


def _total_name(cell: Cell) -> str:
    """The published total a group of cells adds up to, in words."""
    if cell[0] == "p":
        return str(cell[-1])
    if cell[0] == "q":
        return f"{cell[-1]} in {cell[2]} (all practices)"
    return "policy 3D lines"


@dataclass(frozen=True)
class DisclosurePlan:
    """What every view of one report withholds (see :func:`disclosure_plan`).

    Attributes
    ----------
    settings : PrivacySettings
    practices : tuple of str
        Every practice of the summary.
    hidden : frozenset of str
        Practices suppressed in every view (rules 1 and 2).
    primary : frozenset of str
        Of those, the practices with a count from 1 to ``min_cell_count - 1``.
    hidden_periods : frozenset of (str, str)
        ``(practice_id, period)`` suppressed in per-period views (rule 3; every period
        of a hidden practice included).
    hidden_dollars : frozenset of str
        Practices whose dollars are suppressed (rule 4; includes :attr:`hidden`).
    unprotected : tuple of str
        Measures whose total over all practices (or over all practices in one quarter)
        cannot be published (too few practices to protect a suppressed one); empty in
        any real report.
    """

    settings: PrivacySettings
    practices: tuple[str, ...]
    hidden: frozenset[str]
    primary: frozenset[str]
    hidden_periods: frozenset[tuple[str, str]]
    hidden_dollars: frozenset[str]
    unprotected: tuple[str, ...] = ()

    @property
    def rule(self) -> str:
        """The disclosure rule in words, for the top of every page."""
        k = self.settings.min_cell_count
        return (
            f"Counts from 1 to {k - 1} are not shown (CMS cell-size suppression policy); "
            "a suppressed cell reads *. A practice with such a count (CT/MR or 3D "
            "encounters, units or 3D lines) is suppressed in every table, figure and "
            "scorecard of this report, with its rates and dollars (dollars are counts "
            "times a published price); so is the smallest further practice needed so that "
            "no published total, less the practices shown, leaves one suppressed practice "
            f"or fewer than {k} of a count. Quarters and dollars follow the same rule. "
            "Peer medians and percentiles are computed over the practices shown. "
            f"In this report: {len(self.hidden)} of {len(self.practices)} practices "
            "suppressed."
        )

    def hides(self, practice: object, period: object = None) -> bool:
        """Whether a practice (or one period of it) is suppressed."""
        p = str(practice)
        return p in self.hidden or (period is not None
                                    and (p, str(period)) in self.hidden_periods)

    def periods_of(self, practice: object) -> list[str]:
        """The periods of ``practice`` suppressed in per-period views, sorted."""
        p = str(practice)
        return sorted(q for who, q in self.hidden_periods if who == p)

    def mask(self, table: pd.DataFrame, *, practice: str | None = None) -> pd.DataFrame:
        """The cells of a view this plan withholds (True), same shape as ``table``.

        A row belongs to its ``practice_id`` (else to ``practice``, for a view about one
        practice, else to none). In the rows of a hidden practice, or of a hidden
        period (``period`` column), every numeric cell is withheld; in the rows of a
        practice whose dollars are hidden, every dollar cell. Text and flags stay.
        """
        out = pd.DataFrame(False, index=table.index, columns=table.columns)
        if "practice_id" in table.columns:
            who = table["practice_id"].astype(str).to_numpy()
        elif practice is not None:
            who = np.full(len(table), str(practice), dtype=object)
        else:
            return out
        rows = np.isin(who, list(self.hidden))
        if "period" in table.columns:
            periods = table["period"].astype(str).to_numpy()
            rows |= np.array([(w, q) in self.hidden_periods for w, q in zip(who, periods,
                                                                             strict=True)],
                             dtype=bool)
        money = np.isin(who, list(self.hidden_dollars))
        for c in table.columns:
            kind = table[c].dtype
            if not pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind):
                continue
            out[c] = rows | (money if is_dollar_column(c) else False)
        return out

    def screen_view(self, screen, *, drop_hidden: bool = False):
        """A copy of an :class:`analysis.lcd.ScreenResult` for publishing: each
        percentile recomputed among the practices shown (NaN for a hidden one), and
        with ``drop_hidden`` the hidden practices and periods left out -- what figures
        plot and what peer statistics are computed from (rule 5)."""
        t = screen.table
        shown = ~t["practice_id"].astype(str).isin(self.hidden).to_numpy()
        screened = t["screened"].to_numpy(bool) & shown
        rates = t["rate"].to_numpy(float)
        peers = np.sort(rates[screened])
        percentile = np.full(len(t), np.nan)
        if peers.size:
            percentile[screened] = np.searchsorted(peers, rates[screened],
                                                   side="right") / peers.size
        table, trend = t.assign(percentile=percentile), screen.trend
        if drop_hidden:
            table = table.loc[shown].reset_index(drop=True)
            drop = np.array([self.hides(p, q) for p, q in zip(trend["practice_id"],
                                                              trend["period"], strict=True)],
                            dtype=bool)
            trend = trend.loc[~drop].reset_index(drop=True)
        return dataclasses.replace(screen, table=table, trend=trend)

    def shown_screen(self, screen):
        """:meth:`screen_view` without the hidden practices and periods."""
        return self.screen_view(screen, drop_hidden=True)

    def to_dict(self) -> dict[str, object]:
        return {**self.settings.to_dict(), "n_practices": len(self.practices),
                "n_practices_suppressed": len(self.hidden),
                "n_periods_suppressed": len(self.hidden_periods),
                "n_practices_dollars_suppressed": len(self.hidden_dollars),
                "unprotected_totals": list(self.unprotected)}


def disclosure_plan(
    summary: pd.DataFrame,
    quarterly: pd.DataFrame | None = None,
    *,
    settings: PrivacySettings | None = None,
    payers: Sequence[str] = (),
) -> DisclosurePlan:
    """Decide, over every view of a report at once, which cells it withholds.

    Parameters
    ----------
    summary : DataFrame
        The practice summary (:mod:`analysis.summary`), any period: its whole-period
        totals per practice are the cells of rules 1, 2 and 4.
    quarterly : DataFrame, optional
        The same summary by quarter: the cells of rule 3 (per-quarter views).
    settings : PrivacySettings, optional
        The threshold (default: 1-10 suppressed). ``min_cell_count = 1`` withholds
        nothing.
    payers : sequence of str
        The payers applying the policy whose losses the report shows per practice
        (rule 4); empty when the report shows no practice's loss.

    Returns
    -------
    DisclosurePlan

    Examples
    --------
    >>> s = pd.DataFrame({"practice_id": ["TINY", "MID", "BIG1", "BIG2"],
    ...                   "period": "2024", "payer": "BCBSNC",
    ...                   "n_encounters": [3, 150, 200, 250],
    ...                   "n_encounters_3d": [2, 60, 45, 45]})
    >>> sorted(disclosure_plan(s).hidden)   # TINY primary, MID its complement
    ['MID', 'TINY']
    """
    settings = settings or PrivacySettings()
    k = settings.min_cell_count
    per = _measures(summary, ["practice_id"])
    practices = tuple(per["practice_id"])
    measures = [c for c in per.columns if c != "practice_id"]
    values: dict[Cell, float] = {}
    for row in per.itertuples(index=False):
        for m in measures:
            values[("p", row.practice_id, m)] = float(getattr(row, m))
    groups: list[tuple[Cell | None, list[Cell]]] = [
        (None, [("p", p, m) for p in practices]) for m in measures]

    by_practice_period: dict[str, list[str]] = {}
    if quarterly is not None and len(quarterly):
        q = _measures(quarterly, ["practice_id", "period"])
        for row in q.itertuples(index=False):
            by_practice_period.setdefault(row.practice_id, []).append(row.period)
            for m in measures:
                values[("q", row.practice_id, row.period, m)] = float(getattr(row, m))
        groups += [(("p", p, m), [("q", p, t, m) for t in by_practice_period.get(p, [])])
                   for p in practices for m in measures]
        # the statewide trend publishes each quarter's total over all practices
        by_period: dict[str, list[str]] = {}
        for p, periods in by_practice_period.items():
            for t in periods:
                by_period.setdefault(t, []).append(p)
        groups += [(None, [("q", p, t, m) for p in sorted(who)])
                   for t, who in sorted(by_period.items()) for m in measures]

    lines = summary
    if payers:
        lines = summary.loc[summary["payer"].astype(str).isin(list(payers))]
    dollar_cells: dict[str, list[Cell]] = {}
    if payers and "n_3d_lines" in summary.columns:
        by = lines.assign(practice_id=lines["practice_id"].astype(str),
                          period=lines["period"].astype(str))
        # the whole period, and each period on its own: the revenue model may price any
        # one year of the claims (analysis.baseline), so its dollars are that year's lines
        spans = {"": by.groupby("practice_id")["n_3d_lines"].sum()}
        periods = sorted(summary["period"].astype(str).unique())
        if len(periods) > 1:
            spans |= {t: by.loc[by["period"] == t].groupby("practice_id")["n_3d_lines"].sum()
                      for t in periods}
        for t, policy_lines in spans.items():
            for p in practices:
                values[("d", p, t)] = float(policy_lines.get(p, 0))
                dollar_cells.setdefault(p, []).append(("d", p, t))
            groups.append((None, [("d", p, t) for p in practices]))

    def close(cells: set[Cell]) -> set[Cell]:
        out = set(cells)
        for c in cells:
            if c[0] == "p":
                p = c[1]
                out |= {("p", p, m) for m in measures}
                out |= {("q", p, t, m) for t in by_practice_period.get(p, []) for m in measures}
                out |= set(dollar_cells.get(p, ()))
            elif c[0] == "d":  # a practice's dollars are hidden as a whole
                out |= set(dollar_cells.get(c[1], ()))
            elif c[0] == "q":
                out |= {("q", c[1], c[2], m) for m in measures}
        return out

    primary = {c for c, v in values.items() if 0 < v < k}
    hidden, unprotected = _protect(values, groups, primary, close, k)
    return DisclosurePlan(
        settings=settings,
        practices=practices,
        hidden=frozenset(c[1] for c in hidden if c[0] == "p"),
        primary=frozenset(c[1] for c in primary if c[0] == "p"),
        hidden_periods=frozenset((c[1], c[2]) for c in hidden if c[0] == "q"),
        hidden_dollars=frozenset(c[1] for c in hidden if c[0] in ("p", "d")),
        unprotected=tuple(sorted({_total_name(g[0]) for g in unprotected if g})),
    )

