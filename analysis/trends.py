"""PEPPER-style trends: each practice's 3D rate, volume and flag status per quarter.

CMS's PEPPER reports give a provider up to 12 quarters of each target area, so that a
reader sees whether an outlying rate is a habit or an accident. :func:`quarterly_trends` does the
same for the LCD-benchmark screen: the screen of :func:`analysis.lcd.screen` is run
once per quarter, on that quarter's claims alone, so that a quarter's flag means what
the screen's flag means (the same tiers, tests, minimum volume and false-discovery
control, among the practices with claims in that quarter); nothing is re-derived here.

Definitions
-----------
Quarters
    The last ``n_quarters`` (default 12, as PEPPER) calendar quarters of the summary,
    from its last quarter back; a quarter inside that span with no claims at all is
    kept (every practice has no row in it). A practice has a row in each quarter in
    which it has claims: a practice that entered or left has fewer rows.
Per quarter and practice
    ``n_ct_mr``, ``n_3d``, ``rate`` and its interval, ``p_value``, ``q_value`` (BH
    across the practices screened *that quarter*), ``flag`` (the leading tier,
    :attr:`analysis.lcd.ScreenResult.flag_label` of that quarter's screen) and
    ``status`` (the tier in words), exactly as :func:`analysis.lcd.screen` defines
    them. A quarter is *judged* when the practice was screened with at least the
    screen's ``min_volume``: a quarter "too few to judge" (or not screened) is neither
    flagged nor not flagged.
Statewide
    Per quarter: the counts of all practices added up, the pooled rate with its
    Clopper--Pearson interval (which treats encounters as independent, so it is too
    narrow where practices differ; it describes, it does not test) and the number of
    practices screened, above the benchmark, beyond chance, flagged and too few to
    judge.
Change of flag status
    A practice whose judged quarters are not all flagged or all not flagged:
    "newly flagged" (not flagged in its first judged quarter, flagged in its last),
    "no longer flagged" (the reverse), or "flagged in some quarters" (the same at both
    ends, different between them).
Policy date
    ``effective_date`` (optional) marks the quarters that start on or after it
    (``after_effective_date``) and is drawn on the figure
    (:func:`analysis.plots.quarterly_trend_plot`).

References
----------
CMS, *PEPPER User's Guide* (Program for Evaluating Payment Patterns Electronic Report),
TMF Health Quality Institute: target-area rates for the last 12 federal fiscal
quarters, with national, jurisdiction and state percentiles.

Examples
--------
>>> import pandas as pd
>>> q = pd.DataFrame({"practice_id": ["A", "B"] * 2, "payer": "X",
...                   "period": ["2024Q1", "2024Q1", "2024Q2", "2024Q2"],
...                   "n_nononc_encounters": [100, 100, 100, 100],
...                   "n_nononc_encounters_3d": [35, 10, 15, 10]})
>>> t = quarterly_trends(q, min_volume=30)
>>> t.table[["practice_id", "period", "n_3d", "status"]].values.tolist()
... # doctest: +NORMALIZE_WHITESPACE
[['A', '2024Q1', 35, 'beyond chance only'], ['A', '2024Q2', 15, 'at or below the benchmark'],
 ['B', '2024Q1', 10, 'at or below the benchmark'],
 ['B', '2024Q2', 10, 'at or below the benchmark']]
>>> t.statewide[["period", "n_ct_mr", "n_3d", "n_practices_beyond_chance"]].values.tolist()
[['2024Q1', 200, 45, 1], ['2024Q2', 200, 25, 0]]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import plots
from analysis.errors import InputError
from analysis.lcd import ScreenSettings, binomial_ci, screen

__all__ = ["TREND_QUARTERS", "TrendResult", "quarterly_trends"]

TREND_QUARTERS = 12
"""Quarters a trend covers, as in CMS's PEPPER reports."""

_QUARTER = re.compile(r"^\d{4}Q[1-4]$")
#: The summary's counts any basis of the screen reads (:func:`analysis.lcd.screen`).
_TREND_COUNTS = ("n_encounters", "n_encounters_3d", "n_nononc_encounters",
                 "n_nononc_encounters_3d", "n_onc_encounters", "n_onc_encounters_3d",
                 "ct_mr_units", "units_3d_76376", "units_3d_76377")
#: The per-quarter columns of :attr:`TrendResult.table` taken from each quarter's screen.
_SCREEN_COLUMNS = ("practice_id", "screened", "n_ct_mr", "n_3d", "unit", "rate", "ci_low",
                   "ci_high", "p_value", "q_value", "flag", "status", "above_benchmark",
                   "beyond_chance", "beyond_variation", "too_few")


@dataclass(frozen=True)
class TrendResult:
    """What :func:`quarterly_trends` returns.

    Attributes
    ----------
    table : DataFrame
        One row per practice and quarter with claims, sorted by practice and period:
        ``practice_id, period, quarter_start`` (date), ``after_effective_date``,
        ``screened, n_ct_mr, n_3d, unit, rate, ci_low, ci_high, p_value, q_value,
        flag, status, above_benchmark, beyond_chance, beyond_variation, too_few,
        judged`` (see the module docstring).
    statewide : DataFrame
        One row per quarter: ``period, quarter_start, after_effective_date,
        n_ct_mr, n_3d, rate, ci_low, ci_high, n_practices_screened,
        n_practices_above_benchmark, n_practices_beyond_chance, n_practices_flagged,
        n_practices_too_few``.
    changes : DataFrame
        One row per practice whose flag status changed: ``practice_id, change`` (in
        words), ``first_status, last_status`` (the tiers of its first and last judged
        quarters), ``flagged_quarters`` (runs, e.g. ``"2023Q2-2023Q4, 2025Q1"``),
        ``periods_flagged, periods_judged, first_period, last_period`` (its quarters
        with claims).
    settings : ScreenSettings
        The screen's settings (``periods`` is set per quarter).
    periods : tuple of str
        The quarters covered, oldest first.
    effective_date : datetime.date or None
    flag_labels : dict
        Each quarter's :attr:`analysis.lcd.ScreenResult.flag_label`.
    """

    table: pd.DataFrame
    statewide: pd.DataFrame
    changes: pd.DataFrame
    settings: ScreenSettings
    periods: tuple[str, ...]
    effective_date: dt.date | None = None
    flag_labels: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def practices(self) -> list[str]:
        """Practices with claims in at least one quarter, sorted."""
        return sorted(self.table["practice_id"].unique())

    def practice(self, practice_id: str) -> pd.DataFrame:
        """One practice's quarters (rows of :attr:`table`; none for a practice without
        claims in the quarters covered)."""
        rows = self.table.loc[self.table["practice_id"] == str(practice_id)]
        return rows.reset_index(drop=True)

    @property
    def span(self) -> str:
        """The quarters covered, as ``"2023Q1 to 2025Q4 (12 quarters)"``."""
        n = len(self.periods)
        return f"{self.periods[0]} to {self.periods[-1]} ({n} quarter{'s' * (n != 1)})"

    @property
    def headline(self) -> str:
        """The statewide trend and the changes of flag status, in one sentence."""
        sw = self.statewide.loc[self.statewide["n_ct_mr"] > 0]
        if sw.empty:
            return f"No CT/MR imaging in {self.span}."
        first, last = sw.iloc[0], sw.iloc[-1]
        kinds = self.changes["change"].value_counts()
        changed = ", ".join(f"{n} {kind}" for kind, n in kinds.items()) or "none"
        s = self.settings
        what = ("non-oncology CT/MR encounters" if s.oncology_exemption_applied
                else "CT/MR encounters" if s.basis == "encounters" else "CT/MR services")
        return (f"Over {self.span}: statewide, {first['rate']:.1%} of the {what} had 3D "
                f"rendering in {first['period']} and {last['rate']:.1%} in "
                f"{last['period']}; practices flagged per quarter: "
                f"{int(sw['n_practices_flagged'].min())} to "
                f"{int(sw['n_practices_flagged'].max())}; practices whose flag status "
                f"changed: {len(self.changes)} ({changed}).")

    @property
    def summary(self) -> pd.DataFrame:
        """The statewide trend (one row per quarter)."""
        return self.statewide

    def to_dict(self) -> dict[str, Any]:
        """Headline numbers (JSON-serialisable)."""
        return {
            "periods": list(self.periods),
            "effective_date": None if self.effective_date is None
            else self.effective_date.isoformat(),
            "n_practices": len(self.practices),
            "n_practices_changed": len(self.changes),
            "changes": self.changes["change"].value_counts().to_dict(),
            "settings": self.settings.to_dict(),
        }

    def _repr_html_(self) -> str:
        fig = plots.figure_html(plots.quarterly_trend_plot(self))
        table = self.statewide.to_html(index=False, border=0, na_rep="–", formatters={
            c: (lambda v: "–" if pd.isna(v) else f"{v:.1%}")
            for c in ("rate", "ci_low", "ci_high")})
        changes = self.changes.to_html(index=False, border=0) if len(self.changes) else (
            "<p>No practice's flag status changed.</p>")
        return ("<div class='rad3d-trends'>"
                f"<p><strong>{html.escape(self.headline)}</strong></p>{fig}{table}"
                f"<h4>Practices whose flag status changed</h4>{changes}</div>")


def _quarters(labels: pd.Series, n_quarters: int) -> list[pd.Period]:
    present = sorted(set(labels))
    bad = [p for p in present if not _QUARTER.match(p)]
    if bad:
        raise InputError("trends need a quarterly summary (periods like 2024Q1); build it "
                         "with analysis.summary.summarize(..., period='quarter')",
                         column="period", value=bad[0])
    if not present:
        raise InputError("the summary has no rows", column="period")
    span = pd.period_range(pd.Period(present[0], "Q"), pd.Period(present[-1], "Q"), freq="Q")
    return list(span[-n_quarters:])


def _runs(periods: list[str]) -> str:
    """Consecutive quarters as runs: ``["2023Q1", "2023Q2", "2024Q1"]`` ->
    ``"2023Q1-2023Q2, 2024Q1"``."""
    runs: list[list[pd.Period]] = []
    for p in sorted(pd.Period(x, "Q") for x in periods):
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _changes(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for pid, g in table.groupby("practice_id", sort=True):
        judged = g.loc[g["judged"]]
        flags = judged["flag"].to_numpy(bool)
        if flags.size < 2 or flags.all() or not flags.any():
            continue
        kind = ("newly flagged" if flags[-1] and not flags[0]
                else "no longer flagged" if flags[0] and not flags[-1]
                else "flagged in some quarters")
        rows.append({
            "practice_id": pid,
            "change": kind,
            "first_status": judged["status"].iloc[0],
            "last_status": judged["status"].iloc[-1],
            "flagged_quarters": _runs(judged.loc[judged["flag"], "period"].tolist()),
            "periods_flagged": int(flags.sum()),
            "periods_judged": int(flags.size),
            "first_period": g["period"].iloc[0],
            "last_period": g["period"].iloc[-1],
        })
    columns = ["practice_id", "change", "first_status", "last_status", "flagged_quarters",
               "periods_flagged", "periods_judged", "first_period", "last_period"]
    return pd.DataFrame(rows, columns=columns).astype(
        {"periods_flagged": "int64", "periods_judged": "int64"})


def _statewide(table: pd.DataFrame, quarters: list[pd.Period], settings: ScreenSettings,
               effective: dt.date | None) -> pd.DataFrame:
    tiers = {"n_practices_screened": "screened", "n_practices_above_benchmark":
             "above_benchmark", "n_practices_beyond_chance": "beyond_chance",
             "n_practices_flagged": "flag", "n_practices_too_few": "too_few"}
    by = (table.groupby("period")
          .agg(n_ct_mr=("n_ct_mr", "sum"), n_3d=("n_3d", "sum"),
               **{k: (v, "sum") for k, v in tiers.items()})
          .reindex([str(q) for q in quarters], fill_value=0)
          .rename_axis("period").reset_index())
    n, x = by["n_ct_mr"].to_numpy(float), by["n_3d"].to_numpy(float)
    lo, hi = binomial_ci(np.minimum(x, n), n, method=settings.ci, level=settings.ci_level)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, x / n, np.nan)
    starts = [q.start_time.date() for q in quarters]
    return by.assign(
        quarter_start=starts,
        after_effective_date=[effective is not None and s >= effective for s in starts],
        rate=rate, ci_low=lo, ci_high=hi,
    )[["period", "quarter_start", "after_effective_date", "n_ct_mr", "n_3d", "rate",
       "ci_low", "ci_high", *tiers]].astype({c: "int64" for c in ("n_ct_mr", "n_3d", *tiers)})


def quarterly_trends(
    quarterly: pd.DataFrame,
    settings: ScreenSettings | None = None,
    *,
    effective_date: str | dt.date | None = None,
    n_quarters: int = TREND_QUARTERS,
    assumptions=None,
    **options: Any,
) -> TrendResult:
    """Each practice's 3D rate, volume and flag status per quarter, and the statewide trend.

    Parameters
    ----------
    quarterly : DataFrame
        Practice × quarter × payer summary (``analysis.summary.summarize(...,
        period="quarter")``).
    settings : ScreenSettings, optional
        The screen's options (default ``ScreenSettings()``); ``periods`` is ignored:
        every quarter of the trend is screened on its own.
    effective_date : str or date, optional
        The policy's effective date, marked in the result and the figure.
    n_quarters : int
        How many quarters, counted back from the summary's last (default 12).
    assumptions : analysis.impact.ImpactAssumptions, optional
        Passed to :func:`analysis.lcd.screen`; a trend shows no dollars.
    **options
        Fields of :class:`analysis.lcd.ScreenSettings`, as for :func:`analysis.lcd.screen`
        (``periods`` is ignored, as in ``settings``).

    Returns
    -------
    TrendResult
        ``table`` (practice × quarter), ``statewide`` (quarter) and ``changes``
        (practices whose flag status changed), columns documented in
        :class:`TrendResult`.

    Raises
    ------
    InputError
        Periods that are not quarters, ``n_quarters`` below 1, a bad screen option.
    """
    if isinstance(n_quarters, bool) or not isinstance(n_quarters, int) or n_quarters < 1:
        raise InputError("must be a whole number >= 1", column="n_quarters", value=n_quarters)
    options.pop("periods", None)  # every quarter is screened on its own
    base = dataclasses.replace(settings or ScreenSettings(), **options, periods=None)
    effective = None
    if effective_date is not None:
        try:
            effective = pd.Timestamp(effective_date).date()
        except (ValueError, TypeError) as exc:
            raise InputError("not a date (use YYYY-MM-DD)", column="effective_date",
                             value=effective_date) from exc
    labels = quarterly["period"].astype(str)
    quarters = _quarters(labels, n_quarters)
    # Only the counts the screen reads: the dollars price an excess a trend never shows,
    # and twelve screens of the whole summary would sum every column twelve times.
    counts = [c for c in _TREND_COUNTS if c in quarterly.columns]
    slim = quarterly[counts].assign(
        **{k: quarterly[k].astype(str).to_numpy(object) for k in ("practice_id", "payer")},
        period=labels.to_numpy(object))
    by_quarter = dict(tuple(slim.groupby("period", sort=False)))
    frames, flag_labels = [], {}
    for q in quarters:
        if str(q) not in by_quarter:
            continue
        result = screen(by_quarter[str(q)], base, assumptions=assumptions)
        flag_labels[str(q)] = result.flag_label
        frames.append(result.table[list(_SCREEN_COLUMNS)].assign(period=str(q)))
    if not frames:
        raise InputError("the summary has no rows in the quarters of the trend",
                         column="period", value=str(quarters[-1]))
    table = pd.concat(frames, ignore_index=True)
    starts = pd.PeriodIndex(table["period"], freq="Q").start_time.date
    table = (
        table.assign(
            quarter_start=starts,
            after_effective_date=[effective is not None and s >= effective for s in starts],
            judged=table["screened"] & ~table["too_few"],
        )
        .loc[:, ["practice_id", "period", "quarter_start", "after_effective_date",
                 *_SCREEN_COLUMNS[1:], "judged"]]
        .sort_values(["practice_id", "period"])
        .reset_index(drop=True)
    )
    return TrendResult(
        table=table,
        statewide=_statewide(table, quarters, base, effective),
        changes=_changes(table),
        settings=base,
        periods=tuple(str(q) for q in quarters),
        effective_date=effective,
        flag_labels=flag_labels,
    )
