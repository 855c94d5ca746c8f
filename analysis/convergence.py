"""When has a Monte Carlo estimate settled? A running-interval diagnostic and stopping rule.

:func:`convergence` follows the running mean and central interval of draws in the
order they were drawn, and reports from how many draws on they stop moving by more
than a tolerance. The PSA (:mod:`analysis.uncertainty`) and the exposure estimate of
the public-data pathway (:mod:`analysis.puf`) report it beside their intervals.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import plots
from analysis.errors import InputError

__all__ = ["Convergence", "convergence"]


@dataclass(frozen=True)
class Convergence:
    """Running mean and interval of a PSA outcome against the number of draws.

    Attributes
    ----------
    table : DataFrame
        Per checkpoint ``n_draws, mean, mcse`` (Monte Carlo standard error of the
        mean), ``lower, upper`` (the central ``level`` interval of the first
        ``n_draws`` draws) and ``rel_change``: the largest change of mean, lower and
        upper since the checkpoint at half as many draws, relative to ``|mean|``.
    tolerance : float
    n_stable : int or None
        Stopping rule: the first checkpoint from which ``rel_change <= tolerance``
        at every later checkpoint (None if the last one still exceeds it).
    converged : bool
        ``rel_change <= tolerance`` at the last checkpoint.
    """

    table: pd.DataFrame
    tolerance: float
    n_stable: int | None
    converged: bool
    level: float
    metric: str = ""

    @property
    def summary(self) -> pd.DataFrame:
        return self.table

    def __repr__(self) -> str:
        state = f"stable from {self.n_stable:,} draws" if self.n_stable else "not yet stable"
        return (
            f"Convergence({self.metric or 'outcome'}: {state} at tolerance "
            f"{self.tolerance:g}; {int(self.table['n_draws'].iloc[-1]):,} draws)"
        )

    def _repr_html_(self) -> str:
        figure = plots.figure_html(plots.convergence_plot(self)) if len(self.table) else ""
        return (f"<div><p>{html.escape(repr(self))}</p>{figure}"
                f"{self.table.to_html(index=False)}</div>")


def convergence(
    values: np.ndarray | pd.Series,
    *,
    tolerance: float = 0.01,
    level: float = 0.95,
    n_checkpoints: int = 40,
    min_draws: int = 100,
    metric: str = "",
) -> Convergence:
    """Convergence diagnostic of a PSA outcome (draws in the order drawn).

    At ``n_checkpoints`` evenly spaced numbers of draws ``n`` (from ``min_draws``)
    the running mean and central ``level`` interval are computed from the first
    ``n`` draws and compared with those from the first ``n // 2`` draws. The
    interval is *stable* at ``n`` when mean, lower and upper bound each moved by at
    most ``tolerance x |mean|``; the stopping rule reports the first ``n`` from
    which it stays stable.

    Parameters
    ----------
    values : array of shape (n_draws,)
    tolerance : float
        Relative tolerance (default 1 % of the mean).
    level : float
        Interval level (default 0.95: 2.5th-97.5th percentiles).
    n_checkpoints, min_draws : int

    Returns
    -------
    Convergence
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) < 2:
        raise InputError("need a 1-d array of at least 2 draws", column="values")
    if not 0 < level < 1:
        raise InputError("level must be in (0, 1)", column="level", value=level)
    if not tolerance > 0:
        raise InputError("tolerance must be > 0", column="tolerance", value=tolerance)
    n = len(x)
    first = min(max(2, min_draws), n)
    points = np.unique(np.linspace(first, n, max(2, n_checkpoints)).round().astype(int))
    alpha = (1 - level) / 2
    csum, csum2 = np.cumsum(x), np.cumsum(x * x)

    def stats_at(k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        mean = csum[k - 1] / k
        var = np.maximum(csum2[k - 1] / k - mean**2, 0.0) * k / np.maximum(k - 1, 1)
        qs = np.array([np.quantile(x[:j], [alpha, 1 - alpha]) for j in k])
        return mean, np.sqrt(var / k), qs[:, 0], qs[:, 1]

    mean, mcse, lo, hi = stats_at(points)
    hmean, _, hlo, hhi = stats_at(np.maximum(points // 2, 1))
    scale = np.where(np.abs(mean) > 0, np.abs(mean), np.maximum(hi - lo, 1e-12))
    change = np.max(np.abs(np.vstack([mean - hmean, lo - hlo, hi - hhi])), axis=0) / scale
    ok = change <= tolerance
    n_stable = None
    if ok[-1]:
        bad = np.flatnonzero(~ok)
        n_stable = int(points[bad[-1] + 1] if len(bad) else points[0])
    table = pd.DataFrame(
        {
            "n_draws": points,
            "mean": mean,
            "mcse": mcse,
            "lower": lo,
            "upper": hi,
            "rel_change": change,
            "stable": ok,
        }
    )
    return Convergence(
        table=table,
        tolerance=tolerance,
        n_stable=n_stable,
        converged=bool(ok[-1]),
        level=level,
        metric=metric,
    )

