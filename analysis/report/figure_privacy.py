"""What a shared figure must not plot: the points its table would suppress.

A point at volume ``n_ct_mr`` and rate ``n_3d / n_ct_mr`` reveals both counts, so a
funnel or trend figure leaves out exactly the rows that
:func:`analysis.privacy.suppress_counts` suppresses in the matching table (the small
cells and their complements).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.privacy import PrivacySettings, suppress_counts

__all__ = ["hidden_periods", "hidden_practices", "hidden_quarters", "shareable_trend",
           "without_periods"]


def _hidden_rows(table: pd.DataFrame, settings: PrivacySettings, *,
                 count_columns: Sequence[str] = ("n_ct_mr", "n_3d")) -> np.ndarray:
    """Rows a shown table would suppress (primary or complementary) in its counts."""
    cols = [c for c in count_columns if c in table.columns]
    if table.empty or not cols:
        return np.zeros(len(table), dtype=bool)
    frame = table[cols].reset_index(drop=True).apply(pd.to_numeric, errors="coerce")
    s = suppress_counts(frame, settings=settings, count_columns=cols, column_totals=True)
    return s.mask.to_numpy().any(axis=1)


def hidden_practices(screen, *, settings: PrivacySettings | None = None) -> list[str]:
    """Practices a shared figure must not plot: their screen counts are suppressed.

    A practice is hidden when its ``n_ct_mr`` or ``n_3d`` (CT/MR and 3D encounters,
    or services) is from 1 to ``min_cell_count - 1``, or is the complementary cell
    that keeps it from being recovered from the published total — exactly the rows
    :func:`analysis.privacy.suppress_counts` suppresses in the screen table, so a
    figure never shows what the table hides (a point at volume ``n_ct_mr`` and rate
    ``n_3d / n_ct_mr`` reveals both counts).
    """
    settings = settings or PrivacySettings()
    t = screen.table.loc[screen.table["screened"]].reset_index(drop=True)
    return sorted(t.loc[_hidden_rows(t, settings), "practice_id"].astype(str))


def hidden_periods(screen, practice_id: str, *, settings: PrivacySettings | None = None
                   ) -> list[str]:
    """Periods of one practice's trend a shared figure must not plot.

    The rows whose ``n_ct_mr`` or ``n_3d`` the trend table would suppress, with
    complementary suppression within the practice (its periods add up to its
    published total).
    """
    settings = settings or PrivacySettings()
    tr = screen.trend.loc[screen.trend["practice_id"].astype(str) == str(practice_id)]
    tr = tr.loc[tr["n_ct_mr"] > 0].reset_index(drop=True)
    return sorted(tr.loc[_hidden_rows(tr, settings), "period"].astype(str))


def hidden_quarters(rows: pd.DataFrame, *, settings: PrivacySettings | None = None
                    ) -> list[str]:
    """Quarters of one practice's rows of a :class:`analysis.trends.TrendResult` a
    shared figure must not plot (as :func:`hidden_periods`, where no disclosure plan
    decides)."""
    settings = settings or PrivacySettings()
    rows = rows.loc[rows["n_ct_mr"] > 0].reset_index(drop=True)
    return sorted(rows.loc[_hidden_rows(rows, settings), "period"].astype(str))


def shareable_trend(screen, practice_id: str, *, settings: PrivacySettings | None = None):
    """A copy of ``screen`` whose trend omits the practice's suppressed periods.

    Returns
    -------
    (ScreenResult, list of str)
        The copy (hidden periods get ``n_ct_mr = 0``, which
        :func:`analysis.plots.trend_plot` does not plot) and the hidden periods.
    """
    hidden = hidden_periods(screen, practice_id, settings=settings)
    return without_periods(screen, practice_id, hidden), hidden


def without_periods(screen, practice_id: str, hidden: Sequence[str]):
    """A copy of ``screen`` whose trend gives ``n_ct_mr = 0`` (not plotted by
    :func:`analysis.plots.trend_plot`) to the ``hidden`` periods of ``practice_id``."""
    if not hidden:
        return screen
    tr = screen.trend
    drop = (tr["practice_id"].astype(str) == str(practice_id)) & tr["period"].astype(
        str).isin(hidden)
    masked = tr.assign(n_ct_mr=tr["n_ct_mr"].where(~drop, 0))
    return dataclasses.replace(screen, trend=masked)
