"""The accepted range of every numeric parameter, defined once.

A scenario file (``rad3d report``) and a command-line option (``rad3d impact --draws``)
are checked against :data:`RANGES` before anything runs, so that ``n_draws: 1000000000``
is one line naming the file, parameter and value rather than a ``MemoryError`` an hour
later. The ranges are the values for which the model is defined or that are physically
possible, not the plausible ranges of the assumptions (those are in
``data/reference/impact_assumptions.csv``): a share lies in [0, 1], a price multiplier in
(0, 10], a budget-impact horizon is 1 to 5 years (ISPOR Budget Impact Analysis good
practice II, Sullivan et al. 2014), and a simulation has at most 200,000 draws (20 times
the notebooks' default; the per-practice draws of 1,000 practices are then 1.6 GB of
float64, about what a laptop holds).

Nothing heavy is imported here: the command line's parser uses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike

from analysis.errors import InputError

__all__ = ["RANGES", "WORDS", "Range", "check_range"]


@dataclass(frozen=True)
class Range:
    """An interval of accepted values.

    Attributes
    ----------
    low, high : float
    low_open, high_open : bool
        Whether the end itself is left out (``(0, 10]``: ``low_open=True``).
    integer : bool
        Whole numbers only.
    """

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"empty range {self.low}..{self.high}")

    def contains(self, value: object) -> bool:
        """Whether ``value`` is a number (not a bool, not NaN) inside the range.

        >>> Range(0, 10, low_open=True).contains(10), Range(0, 10, low_open=True).contains(0)
        (True, False)
        """
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        """The range in words: ``'a whole number from 1 to 200,000'``."""
        kind = "a whole number" if self.integer else "a number"
        lo = f"above {self.low:,g}" if self.low_open else f"from {self.low:,g}"
        hi = f"below {self.high:,g}" if self.high_open else f"at most {self.high:,g}"
        if not self.low_open and not self.high_open:
            return f"{kind} {lo} to {self.high:,g}"
        return f"{kind} {lo} and {hi}"


_SHARE = Range(0.0, 1.0)
_OPEN_SHARE = Range(0.0, 1.0, low_open=True, high_open=True)
_MULTIPLIER = Range(0.0, 10.0, low_open=True)
_ANNUAL_CHANGE = Range(-1.0, 1.0)  # -100 % to +100 % a year

RANGES: Mapping[str, Range] = {
    # simulation and run
    "n_draws": Range(1, 200_000, integer=True),
    "exposure_draws": Range(100, 1_000_000, integer=True),
    "seed": Range(0, 2**63 - 1, integer=True),
    "workers": Range(1, 256, integer=True),
    "min_cell_count": Range(1, 1_000, integer=True),
    "link_window_days": Range(0, 366, integer=True),
    "data_year": Range(2000, 2100, integer=True),
    # claims checks
    "max_line_usd": Range(0.0, 1e9, low_open=True),
    # LCD screen
    "threshold": _OPEN_SHARE,
    "min_volume": Range(0, 1_000_000, integer=True),
    "alpha": _OPEN_SHARE,
    # policies and the revenue model
    "cap_threshold": _SHARE,
    "scope_share": _SHARE,
    "stop_share": _SHARE,
    "payer_cost_share": _SHARE,
    "discount_rate": _SHARE,
    "horizon_years": Range(1, 5, integer=True),
    "volume_growth": _ANNUAL_CHANGE,
    "fee_update": _ANNUAL_CHANGE,
    "cost_per_rendering_usd": Range(0.0, 10_000.0),
    "baseline_days": Range(0.0, 3_660.0, low_open=True),
    "commercial_multiplier": _MULTIPLIER,
    "medicaid_multiplier": _MULTIPLIER,
    "self_pay_multiplier": _MULTIPLIER,
    # Medicare benchmark and payer exposure
    "services_per_beneficiary": Range(0.0, 1_000.0, low_open=True),
    **{f"commercial_multiplier{end}": _MULTIPLIER for end in ("_low", "_high")},
    **{f"commercial_to_medicare_volume{end}": _MULTIPLIER for end in ("", "_low", "_high")},
    **{f"bcbs_share_of_commercial{end}": _SHARE for end in ("", "_low", "_high")},
}
"""Parameter name -> accepted :class:`Range` (notebook parameters and CLI options)."""

WORDS: Mapping[str, tuple[str, ...]] = {
    # the stop share measured from the claims instead of assumed (analysis.measured)
    "stop_share": ("measured",),
}
"""Parameter name -> the words it accepts beside a number in its range."""


def check_range(name: str, value: object, *, file: str | PathLike[str] | None = None,
                column: str | None = None) -> None:
    """Raise :class:`InputError` if ``value`` is outside the range of parameter ``name``.

    A parameter without an entry in :data:`RANGES` is not checked. ``column`` is what
    the message names (a command-line option such as ``--draws``); default ``name``.

    >>> try:
    ...     check_range("n_draws", 0, file="s.yaml")
    ... except InputError as err:
    ...     print(err)
    s.yaml, column 'n_draws', value '0': must be a whole number from 1 to 200,000
    """
    accepted = RANGES.get(name)
    if accepted is None or accepted.contains(value) or value in WORDS.get(name, ()):
        return
    shown = value if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
    words = " or ".join(repr(w) for w in WORDS.get(name, ()))
    raise InputError(f"must be {accepted}" + (f" or {words}" if words else ""), file=file,
                     column=column or name, value=shown)
