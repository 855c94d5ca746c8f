"""Several years of claims: seasonality, growth, entry and exit, and a known policy response.

A multi-year run (:func:`analysis.synth.generate_years`, ``rad3d synth --years
2023-2025``) follows the practices of a one-year run through consecutive calendar
years. What changes over the span is drawn here, per practice, after the practices
themselves (:func:`draw_span`); the lines are then generated month by month by
:mod:`analysis.synth.claims` as for one year. [A] marks an assumption rather than a
published figure.

Seasonality [A]
    CT/MR volume per quarter is 0.95, 1.01, 0.99 and 1.05 times the year's average:
    elective imaging dips in the first quarter, when deductibles reset, and rises in
    the fourth, when many are met (:attr:`SpanSettings.seasonality`).
Growth [A]
    Each practice's volume grows by its own rate a year, normal with mean 3 % and
    sd 4 % (CT/MR volumes grew by a few per cent a year before and after 2020),
    compounded month by month from the first month of the span.
3D trend [A]
    Every practice's 3D propensities grow by 5 % a year (relative), for every payer
    alike: a common trend that quarter fixed effects absorb.
Entry and exit [A]
    A few practices (5 % each, at least one of each when there are 20 practices or
    more) start billing in a month after the first year began, or stop before the span
    ends (a new group, a merger, a lost hospital contract). The practices' other
    parameters are those of a one-year run with the same seed.
Policy response
    With a :class:`PolicyResponse`, from its ``effective_date`` each practice stops a
    share of the 3D renderings it would have billed to the policy payer: the
    practice's ``stop_share``, drawn from a beta distribution with mean ``share``
    (``Beta(share * c, (1 - share) * c)``, concentration ``c`` = 20 [A]: practices
    respond differently; at a mean of 25 % the middle 80 % of them stop 13-38 %).
    The stopped encounter keeps its studies and diagnoses; only its 3D lines (and
    orphan 3D lines of that payer) disappear. Other payers are unchanged.

Determinism
-----------
The span's draws come after the practices' and are the same whether or not a
response is given, and the decision to stop a rendering draws from generators of its
own, so the same seed with and without a response gives the same lines except the
stopped 3D lines: the run without a response is the exact counterfactual, and a
larger ``share`` stops a superset of the renderings a smaller one stops.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from analysis.defaults import EFFECTIVE_DATE, POLICY_PAYERS
from analysis.errors import InputError
from analysis.policy import as_date
from analysis.synth.model import PAYERS

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "MonthStop",
    "PolicyResponse",
    "SpanSettings",
    "check_years",
    "draw_span",
    "span_months",
]

FIRST_YEAR, LAST_YEAR = 2022, 2026
"""The service years the bundled fee schedules price (a span must lie within them)."""


@dataclass(frozen=True)
class SpanSettings:
    """How practices change over a multi-year span (sources in the module docstring).

    Parameters
    ----------
    seasonality : tuple of 4 float
        CT/MR volume of each calendar quarter relative to the year's average (mean 1).
    growth_mean, growth_sd : float
        Normal distribution of a practice's yearly volume growth (0.03 = 3 % a year).
    trend_3d : float
        Relative yearly growth of every practice's 3D propensities, all payers alike.
    entry_share, exit_share : float
        Shares of practices that start billing after the span begins / stop before it
        ends (rounded to whole practices; a practice does not do both).
    """

    seasonality: tuple[float, float, float, float] = (0.95, 1.01, 0.99, 1.05)
    growth_mean: float = 0.03
    growth_sd: float = 0.04
    trend_3d: float = 0.05
    entry_share: float = 0.05
    exit_share: float = 0.05

    def __post_init__(self) -> None:
        season = tuple(float(s) for s in self.seasonality)
        if len(season) != 4 or min(season) <= 0 or not math.isclose(sum(season), 4.0):
            raise InputError("must be 4 positive quarterly factors averaging 1",
                             column="seasonality", value=self.seasonality)  # fmt: skip
        object.__setattr__(self, "seasonality", season)
        if not -0.5 < self.growth_mean < 1.0:
            raise InputError("must be between -0.5 and 1 (a yearly rate)",
                             column="growth_mean", value=self.growth_mean)  # fmt: skip
        for name in ("growth_sd", "trend_3d"):
            if not 0 <= getattr(self, name) < 1:
                raise InputError("must be in [0, 1)", column=name, value=getattr(self, name))
        for name in ("entry_share", "exit_share"):
            if not 0 <= getattr(self, name) <= 0.5:
                raise InputError("must be in [0, 0.5]", column=name, value=getattr(self, name))

    def to_dict(self) -> dict:
        """Plain-Python form for manifests."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class PolicyResponse:
    """Practices stop part of their 3D rendering for one payer from a date.

    Parameters
    ----------
    share : float
        Mean share, across practices, of the renderings a practice would have billed
        to ``payer`` on or after ``effective_date`` that it no longer performs (0-1).
    effective_date : date or ISO string
        First service date the response applies to (default
        :data:`analysis.defaults.EFFECTIVE_DATE`).
    payer : str
        The policy payer, one of :data:`analysis.synth.PAYERS` (default BCBSNC).
    concentration : float
        Concentration ``c`` of the practices' beta distribution around ``share``;
        larger is more alike.
    """

    share: float
    effective_date: date = EFFECTIVE_DATE
    payer: str = POLICY_PAYERS[0]
    concentration: float = 20.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "effective_date",
                           as_date(self.effective_date, "effective_date"))  # fmt: skip
        if not (isinstance(self.share, int | float) and 0 <= self.share <= 1):
            raise InputError("must be a share in [0, 1]", column="policy_response",
                             value=self.share)  # fmt: skip
        if self.payer not in PAYERS:
            raise InputError(f"must be one of {', '.join(PAYERS)}", column="policy_payer",
                             value=self.payer)  # fmt: skip
        if not self.concentration > 0:
            raise InputError("must be > 0", column="concentration", value=self.concentration)

    def stop_shares(self, u: np.ndarray) -> np.ndarray:
        """Practices' stop shares: the beta quantiles of uniforms ``u`` (monotone in share)."""
        if self.share in (0, 1):
            return np.full(len(u), float(self.share))
        c = self.concentration
        return stats.beta.ppf(u, self.share * c, (1 - self.share) * c)

    def to_dict(self) -> dict:
        """Plain-Python form for manifests."""
        return {"share": self.share, "effective_date": self.effective_date.isoformat(),
                "payer": self.payer, "concentration": self.concentration}  # fmt: skip


@dataclass(frozen=True)
class MonthStop:
    """The response within one practice-month, as :func:`analysis.synth.claims` applies it.

    A 3D rendering billed to payer index ``payer`` on or after day ``first_day`` (days
    since January 1 of the span's first year, the numbering of the month's days) is
    stopped when a uniform draw from ``rng`` falls below ``share``.
    """

    share: float
    payer: int
    first_day: int
    rng: np.random.Generator


def check_years(years: tuple[int, int]) -> tuple[int, int]:
    """``(first, last)`` service years of a span, checked against the fee schedules."""
    try:
        first, last = (int(y) for y in years)
    except (TypeError, ValueError):
        raise InputError("must be two years, first and last", column="years",
                         value=years) from None  # fmt: skip
    if not FIRST_YEAR <= first <= last <= LAST_YEAR:
        raise InputError(
            f"must be a span of years within {FIRST_YEAR}-{LAST_YEAR} (the fee schedules "
            "bundled), first before last", column="years", value=f"{first}-{last}")
    return first, last


def span_months(years: tuple[int, int]) -> list[tuple[int, int, int]]:
    """``(year, month, day offset of the year)`` of every month of the span, in order.

    The offset is the number of days from January 1 of the first year to January 1 of
    ``year``, so that day numbers run across the whole span.
    """
    first, last = years
    return [(y, m, (date(y, 1, 1) - date(first, 1, 1)).days)
            for y in range(first, last + 1) for m in range(1, 13)]  # fmt: skip


def draw_span(
    practices: pd.DataFrame,
    *,
    years: tuple[int, int],
    rng: np.random.Generator,
    span: SpanSettings,
    response: PolicyResponse | None,
) -> pd.DataFrame:
    """Add each practice's course over the span (the draws after the practices').

    Adds ``growth_per_year``, ``first_month`` and ``last_month`` (0-based indices into
    :func:`span_months` of the first and last month the practice bills),
    ``active_from`` and ``active_to`` (ISO dates of those months' first and last days)
    and ``stop_share`` (the practice's true response; 0 without a ``response``).
    """
    n = len(practices)
    n_months = 12 * (years[1] - years[0] + 1)
    growth = rng.normal(span.growth_mean, span.growth_sd, n)
    # The few practices that enter or exit: distinct, at least one each from 20 on.
    n_entry = min(n, round(span.entry_share * n))
    n_exit = min(n - n_entry, round(span.exit_share * n))
    order = rng.permutation(n)
    first = np.zeros(n, dtype=np.int64)
    last = np.full(n, n_months - 1, dtype=np.int64)
    # Entering practices start between the 4th month and half a year before the end,
    # exiting ones stop between the 7th month and 4 months before the end.
    entry = rng.integers(3, max(4, n_months - 6), size=n)
    exit_ = rng.integers(6, max(7, n_months - 4), size=n)
    first[order[:n_entry]] = entry[order[:n_entry]]
    last[order[n_entry:n_entry + n_exit]] = exit_[order[n_entry:n_entry + n_exit]]
    u_stop = rng.random(n)  # drawn with or without a response: the streams stay paired
    stop = np.zeros(n) if response is None else response.stop_shares(u_stop)
    months = span_months(years)

    def first_day(k: int) -> str:
        return date(months[k][0], months[k][1], 1).isoformat()

    def last_day(k: int) -> str:
        y, m, _ = months[k]
        return (date(y + m // 12, m % 12 + 1, 1) - date.resolution).isoformat()

    return practices.assign(
        growth_per_year=growth.round(4),
        first_month=first,
        last_month=last,
        active_from=[first_day(k) for k in first],
        active_to=[last_day(k) for k in last],
        stop_share=stop,
    )
