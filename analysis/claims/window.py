"""The study window: the service dates an analysis of a claims extract accepts.

A claims extract covers a known stretch of time. A line dated far outside it -- a
typo's ``2099-12-31``, a default ``2000-01-01`` -- is not a claim of the study, yet a
valid date; left in, it stretches the observed period that annualizes every practice's
volume. Such lines are quarantined as ``outside_study_window``
(:data:`analysis.claims.rules.QUARANTINE_REASONS`), with their dollars, so rows and
dollars still reconcile.

The window is given (``study_window=("2024-01-01", "2024-12-31")``, ``--study-window
2024-01-01:2024-12-31``) or, by default (``"auto"``), found from the claims themselves
before they are checked (:func:`find_window`): the *claims' years* are the modal service
year and every year next to them that holds at least :data:`MIN_YEAR_SHARE` of the
lines; the window runs from 1 January of the year before the first to 31 December of the
year after the last. A one-year extract of 2024 accepts 2023-2025; a 2023-2025 extract
accepts 2022-2026; a stray line in 2099 is outside either. ``None`` checks no window
(only the plausible range of :data:`analysis.schema.EARLIEST_DATE` ..
:data:`~analysis.schema.LATEST_DATE`).

Finding the window reads the service dates of every file once before the checks: the
one column of a Parquet file, every field of a CSV file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis.claims.checks import ByValue
from analysis.claims.fields import parse_dates
from analysis.claims.headers import read_column_map
from analysis.claims.sources import (
    FileState,
    Source,
    is_typed,
    map_table_headers,
    raw_batches,
    table_frame,
)
from analysis.defaults import MAX_LINE_USD
from analysis.errors import InputError

__all__ = ["MIN_YEAR_SHARE", "CheckSettings", "StudyWindow", "check_settings", "find_window",
           "resolve_window"]

MIN_YEAR_SHARE = 0.05
"""A year next to the modal year belongs to the claims' years when it holds at least this
share of the lines (5 %)."""


@dataclass(frozen=True)
class StudyWindow:
    """First and last service date accepted, and how they were set."""

    start: pd.Timestamp
    end: pd.Timestamp
    basis: str

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d} ({self.basis})"

    def to_dict(self) -> dict:
        return {"start": f"{self.start:%Y-%m-%d}", "end": f"{self.end:%Y-%m-%d}",
                "basis": self.basis}


def window_of_years(years: Counter) -> StudyWindow | None:
    """The window around the claims' years of a count of lines by service year.

    >>> str(window_of_years(Counter({2024: 990, 2099: 10})))
    '2023-01-01..2025-12-31 (the claims year 2024 +/- 1)'
    >>> str(window_of_years(Counter({2023: 300, 2024: 400, 2025: 300})))
    '2022-01-01..2026-12-31 (the claims years 2023-2025 +/- 1)'
    """
    total = sum(years.values())
    if not total:
        return None
    first = last = max(sorted(years), key=lambda y: years[y])
    while years.get(first - 1, 0) >= MIN_YEAR_SHARE * total:
        first -= 1
    while years.get(last + 1, 0) >= MIN_YEAR_SHARE * total:
        last += 1
    span = f"year {first}" if first == last else f"years {first}-{last}"
    return StudyWindow(pd.Timestamp(first - 1, 1, 1), pd.Timestamp(last + 1, 12, 31),
                       f"the claims {span} +/- 1")


def _years(dates: pd.Series) -> Counter:
    """Lines by service year among the valid dates of a raw column (text or typed)."""
    if not is_typed(dates):
        dates = dates.str.strip()
    parsed = ByValue()(dates, parse_dates)
    years = pd.Series(parsed["dates"][parsed["ok"]]).dt.year
    return Counter({int(y): int(n) for y, n in years.value_counts().items()})


def find_window(sources: Sequence[Source], *, column_map=None, encoding: str = "utf-8",
                delimiter: str | None = None) -> StudyWindow | None:
    """The default window of a claims input (see the module docstring): its service
    dates are read once; None when no line has a valid date."""
    column_map = read_column_map(column_map)
    years: Counter = Counter()
    for src in sources:
        if src.kind == "parquet":
            try:
                pf = pq.ParquetFile(src.path)
            except Exception as err:  # noqa: BLE001 - the checks name the problem later
                raise InputError(f"is not a readable Parquet file ({err})",
                                 file=src.label) from None
            _, col_sources, _ = map_table_headers(list(pf.schema_arrow.names), src,
                                                  column_map, FileState(), fmt="parquet")
            names = col_sources.get("service_date", [])
            if len(names) == 1:  # one column to read
                for batch in pf.iter_batches(columns=names, batch_size=1_000_000):
                    frame = table_frame(batch, src.label, names,
                                        {"service_date": names}, {})
                    years += _years(frame["service_date"])
                continue
        for raw in raw_batches(src, FileState(), column_map, encoding, delimiter):
            years += _years(raw.frame["service_date"])
    return window_of_years(years)


def resolve_window(value, sources: Sequence[Source], *, column_map=None,
                   encoding: str = "utf-8", delimiter: str | None = None
                   ) -> StudyWindow | None:
    """The window a reader checks: ``"auto"`` (:func:`find_window`), ``None`` (no
    window), a :class:`StudyWindow`, or ``(start, end)`` dates (``"2024-01-01"``)."""
    if value is None or isinstance(value, StudyWindow):
        return value
    if isinstance(value, str) and value == "auto":
        return find_window(sources, column_map=column_map, encoding=encoding,
                           delimiter=delimiter)
    try:
        start, end = (pd.Timestamp(v) for v in value)
    except (TypeError, ValueError) as err:
        raise InputError("the study window must be two dates, first and last (YYYY-MM-DD)",
                         column="study_window", value=value) from err
    if start > end or start.normalize() != start or end.normalize() != end or np.isnat(
            np.datetime64(start)):
        raise InputError("the study window must run from a first to a later last date",
                         column="study_window", value=value)
    return StudyWindow(start, end, "given")


@dataclass(frozen=True)
class CheckSettings:
    """The settings of the row checks that a user may change, decided once for a whole
    input: the study window (None: none) and the largest amount one line may carry
    (``amount_above_cap``; default :data:`analysis.defaults.MAX_LINE_USD`)."""

    study_window: StudyWindow | None = None
    max_line_usd: float = MAX_LINE_USD


def check_settings(sources: Sequence[Source], *, study_window="auto",
                   max_line_usd: float = MAX_LINE_USD, column_map=None,
                   encoding: str = "utf-8", delimiter: str | None = None) -> CheckSettings:
    """:class:`CheckSettings` for ``sources``: the window resolved
    (:func:`resolve_window`), the cap checked (a positive number of dollars)."""
    try:
        cap = float(max_line_usd)
    except (TypeError, ValueError):
        cap = float("nan")
    if not (np.isfinite(cap) and cap > 0) or isinstance(max_line_usd, bool):
        raise InputError("the per-line amount cap must be a positive number of dollars",
                         column="max_line_usd", value=max_line_usd)
    window = resolve_window(study_window, sources, column_map=column_map, encoding=encoding,
                            delimiter=delimiter)
    return CheckSettings(window, cap)
