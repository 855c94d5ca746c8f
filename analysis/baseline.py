"""The baseline year of the budget-impact model: which claims year 1 is made of.

The impact model (:func:`analysis.impact.impact`) annualizes whatever summary it is
given, each practice from its own observed periods (:mod:`analysis.revenue_base`).
Given three years of claims that span the policy's effective date, that would average
the years before the policy with the quarters after it -- in which the practices have
already stopped part of their unpaid renderings -- and would project a practice that
left years ago into the horizon. A budget impact compares a world without the policy
with a world with it, so year 1 must rest on claims from before the policy.

Definition
----------
The baseline is the **last full calendar year of claims before the start of the
horizon** (``start_date``; the policy's effective date, 2025-01-01 by default): the
latest year ``Y`` with ``Y-12-31 < start_date`` whose periods all lie in the summary
(four quarters, twelve months or the year itself, each with claims of some practice).
Only the summary's rows of that year are kept; each practice is then annualized by the
model from its own periods in that year (a practice that entered in its last quarter
counts x4). Practices with claims only outside that year are not in the model, and the
statement names them: those that left before it and those that entered after it (the
latter have no claims from before the policy to price). A summary without a full year
before ``start_date`` keeps its periods before ``start_date``; one with none keeps
every period; the statement says which.

On the bundled one-year sample (2024, start 2025-01-01) the baseline is the whole
file, so the numbers are those of the model given the whole summary.

Examples
--------
>>> import pandas as pd
>>> q = pd.DataFrame({"practice_id": ["A"] * 8 + ["B"], "payer": "X",
...                   "period": [f"{y}Q{k}" for y in (2024, 2025) for k in (1, 2, 3, 4)]
...                             + ["2025Q2"]})
>>> b = baseline_year(q, start_date="2025-01-01")
>>> b.periods, b.entered_after
(('2024Q1', '2024Q2', '2024Q3', '2024Q4'), ('B',))
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.errors import InputError

__all__ = ["Baseline", "baseline_year"]

_FREQ = {"Y": "year", "Q": "quarter", "M": "month"}


@dataclass(frozen=True)
class Baseline:
    """The claims year 1 of the impact model rests on (see :func:`baseline_year`).

    Attributes
    ----------
    summary : DataFrame
        The rows of the summary in the baseline periods (``attrs`` kept, so the
        practices' price baskets travel with it).
    periods : tuple of str
        The baseline periods, oldest first.
    year : int or None
        The calendar year, when the baseline is a full year.
    start_date : datetime.date
    left_before, entered_after : tuple of str
        Practices with claims only before / only after the baseline periods.
    all_periods : tuple of str
        Every period of the summary.
    """

    summary: pd.DataFrame
    periods: tuple[str, ...]
    year: int | None
    start_date: dt.date
    left_before: tuple[str, ...] = ()
    entered_after: tuple[str, ...] = ()
    all_periods: tuple[str, ...] = ()

    @property
    def statement(self) -> str:
        """The choice in words, for the pages that show dollars, naming the practices
        left out (:meth:`statement_for` on a page that may name no other practice)."""
        return self._text(named=True)

    def statement_for(self, practice_id: str) -> str:
        """:attr:`statement` for one practice's page: the practices left out counted,
        not named, and whether this practice is one of them."""
        text = self._text(named=False)
        pid = str(practice_id)
        if pid in self.left_before or pid in self.entered_after:
            words = "left before" if pid in self.left_before else "entered after"
            text += f" This practice is one of them: it {words} the baseline."
        return text

    def _text(self, *, named: bool) -> str:
        span = f"{self.periods[0]} to {self.periods[-1]}" if len(self.periods) > 1 \
            else self.periods[0]
        whole = f"{self.all_periods[0]} to {self.all_periods[-1]}"
        if self.year is not None:
            of = f"{self.year}" + ("" if span == str(self.year) else f" ({span})")
            text = (f"Year 1 rests on the claims of {of}, the last full calendar year "
                    f"before the horizon starts on {self.start_date:%Y-%m-%d}")
        elif any(pd.Period(p).end_time.date() < self.start_date for p in self.periods):
            text = (f"Year 1 rests on the claims before {self.start_date:%Y-%m-%d} ({span}); "
                    "they make no full calendar year")
        else:
            text = (f"Year 1 rests on every period of the claims ({span}): none lies before "
                    f"the horizon's start on {self.start_date:%Y-%m-%d}")
        if self.periods != self.all_periods:
            text += (f"; the claims cover {whole}, and their other periods are not priced, "
                     "so that year 1 is one year of billing before the policy")
        text += "; each practice is scaled to one year from its own periods in it."
        groups = ((self.left_before, "left before it"), (self.entered_after, "entered after it"))
        out = [f"{', '.join(who)} ({words})" if named else
               f"{len(who)} practice{'s' * (len(who) != 1)} that {words.replace(' it', '')}"
               for who, words in groups if who]
        if out:
            text += f" Not in the model, with no claims in it: {' and '.join(out)}."
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"periods": list(self.periods), "year": self.year,
                "start_date": self.start_date.isoformat(),
                "left_before": list(self.left_before),
                "entered_after": list(self.entered_after), "statement": self.statement}


def baseline_year(summary: pd.DataFrame, *, start_date: str | dt.date) -> Baseline:
    """The summary's rows of the last full calendar year before ``start_date``.

    Parameters
    ----------
    summary : DataFrame
        The additive practice summary (:mod:`analysis.summary`), periods of one length
        (years ``"2024"``, quarters ``"2024Q1"`` or months ``"2024-01"``).
    start_date : str or date
        First day of horizon year 1 (the impact model's ``start_date``).

    Returns
    -------
    Baseline

    Raises
    ------
    InputError
        A bad date; periods that are not calendar years, quarters or months, or that
        mix lengths; an empty summary.
    """
    try:
        start = pd.Timestamp(start_date).date()
    except (ValueError, TypeError) as exc:
        raise InputError("not a date (use YYYY-MM-DD)", column="start_date",
                         value=start_date) from exc
    if summary.empty:
        raise InputError("the practice summary has no rows", column="period")
    labels = summary["period"].astype(str)
    try:
        periods = {p: pd.Period(p) for p in sorted(set(labels))}
    except ValueError as exc:
        raise InputError("periods must be years, quarters or months (2024, 2024Q1, "
                         "2024-01)", column="period", value=labels.iloc[0]) from exc
    freqs = {p.freqstr[0] for p in periods.values()}
    if len(freqs) != 1 or not freqs <= set(_FREQ):
        raise InputError("the summary mixes period lengths, or has periods that are not "
                         "years, quarters or months", column="period", value=sorted(periods))
    before = [k for k, p in periods.items() if p.end_time.date() < start]
    per_year = {"Y": 1, "Q": 4, "M": 12}[freqs.pop()]
    full = sorted({p.year for p in periods.values() if dt.date(p.year, 12, 31) < start
                   and sum(q.year == p.year for q in periods.values()) == per_year})
    if full:
        year = full[-1]
        keep = [k for k, p in periods.items() if p.year == year]
    else:
        year, keep = None, before or list(periods)
    rows = labels.isin(keep).to_numpy()
    first = keep[0]
    last = keep[-1]
    spans = (summary.assign(period=labels, practice_id=summary["practice_id"].astype(str))
             .groupby("practice_id")["period"].agg(["min", "max"]))
    inside = set(summary.loc[rows, "practice_id"].astype(str))
    out = spans.loc[~spans.index.isin(inside)]
    return Baseline(
        summary=summary.loc[rows],
        periods=tuple(keep),
        year=year,
        start_date=start,
        left_before=tuple(sorted(out.index[out["max"] < first])),
        entered_after=tuple(sorted(out.index[out["min"] > last])),
        all_periods=tuple(periods),
    )
