"""The PSA's parameter distributions: fitted to the assumption table, drawn together.

Each parameter's distribution is named in the assumption table
(:func:`analysis.assumptions.assumption_table`) and fitted to its base value and
range: the mean is the base case and the standard deviation is ``(high - low) /
3.92`` (the range read as a 95 % interval) for ``lognormal`` (prices and
multipliers), ``gamma`` (costs), ``beta`` (shares) and ``normal`` (growth rates).
``pert`` is a beta distribution on ``[low, high]`` with mode at the base (for a share
whose base sits on a bound, e.g. a product scope of 1.0: its mean ``(low + 4 base +
high) / 6`` is then below the base); ``uniform`` spans ``[low, high]``; ``fixed`` is
not drawn (its low/high are still used one-way). Correlations, where stated, enter
through a Gaussian copula: correlated standard normal draws are mapped through each
marginal's quantile function.

References
----------
Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation.
Oxford University Press, 2006 (ch. 4: choosing distributions; beta for
probabilities, gamma/lognormal for costs and relative prices).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.assumptions import assumption_table
from analysis.errors import InputError
from analysis.impact import ImpactAssumptions
from analysis.policy import Policy

__all__ = ["DISTRIBUTIONS", "fit_distribution", "parameter_table", "sample_parameters"]

DISTRIBUTIONS = ("lognormal", "gamma", "beta", "normal", "pert", "uniform", "fixed")
_Z95 = 2 * stats.norm.ppf(0.975)  # 3.92: a 95 % range is this many sd wide


def parameter_table(
    assumptions: ImpactAssumptions | None = None,
    policy: Policy | None = None,
    *,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The assumption table with ``base`` set to the values actually used.

    Parameters
    ----------
    assumptions, policy : optional
        Their values replace the reference ``base`` (so a CLI ``--multiplier 2.0``
        centres the PSA on 2.0); ``low``/``high`` are widened to include the base.
    table : DataFrame, optional
        The table to start from, with the columns of
        :func:`analysis.assumptions.assumption_table` (at least ``parameter, base,
        low, high, distribution``); default the bundled one.

    Returns
    -------
    DataFrame
        One row per parameter, validated.
    """
    table = assumption_table() if table is None else table.copy()
    need = ["parameter", "base", "low", "high", "distribution"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InputError("the parameter table lacks a column", column=missing[0])
    known = set(ImpactAssumptions.parameter_names()) | {"scope_share", "threshold"}
    allowed = {
        "parameter": (known, f"unknown parameter; known: {sorted(known)}"),
        "distribution": (
            DISTRIBUTIONS,
            f"unknown distribution; choose one of {list(DISTRIBUTIONS)}",
        ),
    }
    for i, rec in enumerate(table.to_dict("records"), start=1):
        for column, (values, message) in allowed.items():
            if rec[column] not in values:
                raise InputError(message, row=i, column=column, value=rec[column])
    base = table["base"].astype(float).to_numpy(copy=True)
    for i, name in enumerate(table["parameter"]):
        if assumptions is not None and name in ImpactAssumptions.parameter_names():
            base[i] = getattr(assumptions, name)
        if policy is not None and name in ("scope_share", "threshold"):
            base[i] = getattr(policy, name)
    table = table.assign(
        base=base,
        low=np.minimum(table["low"].astype(float), base),
        high=np.maximum(table["high"].astype(float), base),
    )
    for i, rec in enumerate(table.to_dict("records"), start=1):
        fit_distribution(rec, row=i)  # raises on infeasible specifications
    return table.reset_index(drop=True)


def fit_distribution(rec: Mapping[str, Any], *, row: int | None = None) -> dict[str, float]:
    """The fitted distribution of one parameter-table row (mean = base, sd from the range).

    Parameters
    ----------
    rec : mapping
        ``parameter, base, low, high, distribution`` of one row.
    row : int, optional
        The row's 1-based number, reported in the :class:`InputError`.

    Returns
    -------
    dict
        ``kind`` (``"fixed"`` when nothing varies) and the parameters of that kind:
        ``value`` (fixed), ``mean, sd`` (normal), ``mu, sigma`` (lognormal),
        ``shape, scale`` (gamma), ``a, b`` (beta), ``lo, hi, a, b`` (pert) or
        ``lo, hi`` (uniform).

    Raises
    ------
    InputError
        A specification no distribution of its kind can meet.

    Examples
    --------
    >>> fit_distribution({"parameter": "c", "distribution": "gamma",
    ...                   "base": 15.0, "low": 5.0, "high": 40.0})["kind"]
    'gamma'
    """
    kind, m = rec["distribution"], float(rec["base"])
    lo, hi = float(rec["low"]), float(rec["high"])
    sd = (hi - lo) / _Z95
    where = {"row": row, "column": "distribution", "value": f"{rec['parameter']}: {kind}"}
    if kind == "fixed" or (sd == 0 and kind != "pert"):
        return {"kind": "fixed", "value": m}
    if kind == "normal":
        return {"kind": kind, "mean": m, "sd": sd}
    if kind in ("lognormal", "gamma"):
        if m <= 0:
            raise InputError(f"a {kind} parameter needs a base > 0", **where)
        if kind == "lognormal":
            s2 = np.log1p((sd / m) ** 2)
            return {"kind": kind, "mu": np.log(m) - s2 / 2, "sigma": np.sqrt(s2)}
        return {"kind": kind, "shape": (m / sd) ** 2, "scale": sd**2 / m}
    if kind == "beta":
        var = sd**2
        if not (0 < m < 1) or var >= m * (1 - m):
            raise InputError(
                "a beta share needs a base inside (0, 1) and a range narrower than the base "
                "allows; use 'pert' for a share whose base is on a bound",
                **where,
            )
        common = m * (1 - m) / var - 1
        return {"kind": kind, "a": m * common, "b": (1 - m) * common}
    if kind == "pert":
        if hi <= lo:
            return {"kind": "fixed", "value": m}
        return {
            "kind": kind,
            "lo": lo,
            "hi": hi,
            "a": 1 + 4 * (m - lo) / (hi - lo),
            "b": 1 + 4 * (hi - m) / (hi - lo),
        }
    return {"kind": "uniform", "lo": lo, "hi": hi}  # uniform


def _quantiles(fit: Mapping[str, float], z: np.ndarray) -> np.ndarray:
    """Map standard normal draws through the fitted marginal's quantile function."""
    kind = fit["kind"]
    if kind == "normal":
        return fit["mean"] + fit["sd"] * z
    if kind == "lognormal":
        return np.exp(fit["mu"] + fit["sigma"] * z)
    u = stats.norm.cdf(z)
    if kind == "gamma":
        return stats.gamma.ppf(u, fit["shape"], scale=fit["scale"])
    if kind == "beta":
        return stats.beta.ppf(u, fit["a"], fit["b"])
    if kind == "pert":
        return fit["lo"] + (fit["hi"] - fit["lo"]) * stats.beta.ppf(u, fit["a"], fit["b"])
    return fit["lo"] + (fit["hi"] - fit["lo"]) * u  # uniform


def sample_parameters(
    table: pd.DataFrame,
    n_draws: int,
    *,
    rng: np.random.Generator,
    correlation: Mapping[tuple[str, str], float] | None = None,
) -> pd.DataFrame:
    """Draw every parameter of ``table`` ``n_draws`` times.

    Parameters
    ----------
    table : DataFrame
        From :func:`parameter_table`.
    n_draws : int
    rng : numpy.random.Generator
        The only source of randomness.
    correlation : mapping of (parameter, parameter) to rho, optional
        Rank-preserving correlation through a Gaussian copula (the correlation of
        the underlying normals).

    Returns
    -------
    DataFrame
        ``n_draws`` rows, one column per parameter (``fixed`` ones constant).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    n_draws = int(n_draws)
    if n_draws < 1:
        raise InputError("need at least one draw", column="n_draws", value=n_draws)
    fits = {rec["parameter"]: fit_distribution(rec) for rec in table.to_dict("records")}
    varying = [p for p, f in fits.items() if f["kind"] != "fixed"]
    corr = np.eye(len(varying))
    for (a, b), rho in (correlation or {}).items():
        if a not in varying or b not in varying:
            raise InputError(
                "correlation between parameters that are not drawn",
                column="correlation",
                value=(a, b),
            )
        if not -1 < rho < 1:
            raise InputError("a correlation must be in (-1, 1)", column="correlation", value=rho)
        i, j = varying.index(a), varying.index(b)
        corr[i, j] = corr[j, i] = rho
    try:
        chol = np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        raise InputError(
            "the correlations are not a valid (positive definite) matrix", column="correlation"
        ) from None
    z = rng.standard_normal((n_draws, len(varying))) @ chol.T
    out = {}
    for name, fit in fits.items():
        if fit["kind"] == "fixed":
            out[name] = np.full(n_draws, fit["value"])
        else:
            out[name] = _quantiles(fit, z[:, varying.index(name)])
    return pd.DataFrame(out)

