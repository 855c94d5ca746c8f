"""The PSA's parameter distributions: fitted to the stated ranges, drawn together.

Each parameter's ``low`` and ``high`` in the assumption table
(:func:`analysis.assumptions.assumption_table`) are read as a central 95 % interval:
its distribution is fitted so that its 2.5 % and 97.5 % quantiles are ``low`` and
``high`` (quantile matching). The one-way sensitivity (tornado,
:func:`analysis.uncertainty.one_way`) moves each parameter to the same two values, so
the tornado's bars and the PSA's ranges describe the same uncertainty.

``normal`` (growth rates)
    Mean ``(low + high) / 2``, sd ``(high - low) / 3.92``. Exact.
``lognormal`` (prices and multipliers)
    ``log X`` normal with mean ``(log low + log high) / 2`` and sd ``(log high - log
    low) / 3.92``; its median is ``sqrt(low * high)``. Exact; needs ``low > 0``.
``gamma`` (costs)
    The shape solves ``ppf(0.975) / ppf(0.025) = high / low`` (the ratio falls as the
    shape grows), the scale is then ``low / ppf(0.025)``. Exact; needs ``low > 0``.
``beta`` (shares)
    ``a, b`` solved numerically for both quantiles. Needs ``0 < low < high < 1``: no
    continuous distribution on [0, 1] has a 2.5 % quantile at 0 or a 97.5 % quantile
    at 1.
``censored_normal`` (a share whose range reaches 0 or 1 while its base is inside)
    The ``normal`` above, with draws below 0 set to 0 and above 1 set to 1. The bound
    is a real outcome that carries the tail's probability (a stop share of 0: the
    practices keep rendering everything), so the 2.5 % quantile is 0 exactly. Needs
    ``0 <= low < high <= 1``.
``log_complement`` (a share implied by a ratio, such as the measured stop share)
    ``log(1 - X)`` normal with mean ``(log(1 - low) + log(1 - high)) / 2`` and sd
    ``(log(1 - low) - log(1 - high)) / 3.92``, draws below 0 set to 0: the stop share
    ``1 - exp(b)`` of the response's ratio model (:mod:`analysis.response`), whose
    coefficient ``b`` has a symmetric interval, so that its median is the estimate
    the interval came from (:mod:`analysis.measured`). Exact; needs ``0 <= low < high
    < 1`` (a low of 0 carries the tail's probability, as in ``censored_normal``).
``pert`` (a share with a most likely value)
    A beta on ``[min, max]`` with its mode at the base and the PERT weights ``a = 1 + 4
    (mode - min) / (max - min)``, ``b = 1 + 4 (max - mode) / (max - min)``; ``min``
    and ``max`` are moved beyond ``[low, high]`` until the quantiles match, but never
    outside [0, 1]. Where a bound of [0, 1] stops them (a product scope of 1.0: the
    policy cannot apply to more than all of the payer's business) only the other
    quantile is matched and the fit error at the bound is reported (scope 0.7-1.0:
    97.5 % quantile 0.9971).
``uniform``
    ``[low - 0.025 w / 0.95, high + 0.025 w / 0.95]`` with ``w = high - low``. Exact.
``fixed``
    Not drawn (its low/high are still used one-way).

Only ``pert`` keeps the base as a named statistic of its distribution: the mode,
because a PERT distribution is a three-point estimate (least, most likely, greatest)
whose middle point is the base case. In the two-parameter families the two quantiles
fix both parameters, so the base case (the deterministic model's value) is in general
not the mean, median or mode of the draws; keeping it as well would need a third
parameter and would move the range. :func:`fit_table` states for every parameter the
fitted quantiles and their error, the distribution's mean and median, and which of
mean, median and mode the base is.

Correlations, where stated, enter through a Gaussian copula: correlated standard
normal draws are mapped through each marginal's quantile function.

References
----------
Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation.
Oxford University Press, 2006 (ch. 4: choosing distributions; beta for
probabilities, gamma/lognormal for costs and relative prices).
Vose D. Risk Analysis: A Quantitative Guide, 3rd ed. Wiley, 2008 (PERT distribution;
fitting distributions to percentiles).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from analysis.assumptions import assumption_table
from analysis.errors import InputError
from analysis.impact import ImpactAssumptions
from analysis.policy import Policy

__all__ = [
    "DISTRIBUTIONS",
    "QUANTILES",
    "fit_distribution",
    "fit_table",
    "parameter_table",
    "sample_parameters",
]

DISTRIBUTIONS = (
    "lognormal",
    "gamma",
    "beta",
    "normal",
    "censored_normal",
    "log_complement",
    "pert",
    "uniform",
    "fixed",
)
#: The quantiles that ``low`` and ``high`` of the assumption table stand for.
QUANTILES = (0.025, 0.975)
_Z = stats.norm.ppf(QUANTILES[1])  # 1.96: a 95 % range is 2 x 1.96 sd wide
_SHARES = ("beta", "censored_normal", "log_complement", "pert")  # families on [0, 1]


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
        A stop share measured from the claims (``assumptions.measured_response``,
        :mod:`analysis.measured`) replaces the row's ``low``, ``high``,
        ``distribution`` and ``source`` by its interval, fitted family and source, and
        marks its ``label`` as measured.
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
    measured = None if assumptions is None else assumptions.measured_response
    if measured is not None and "stop_share" in set(table["parameter"]):
        row = table["parameter"].eq("stop_share")
        table = table.assign(
            low=table["low"].astype(float).mask(row, measured.low),
            high=table["high"].astype(float).mask(row, measured.high),
            distribution=table["distribution"].mask(row, measured.distribution),
            **({"source": table["source"].mask(row, measured.source)}
               if "source" in table else {}),
            **({"label": table["label"].mask(row, table["label"].map(measured.label))}
               if "label" in table else {}),
        )
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
    """The distribution of one parameter-table row, fitted to its stated range.

    Its 2.5 % and 97.5 % quantiles are the row's ``low`` and ``high`` (see the module
    docstring for each family, and for ``pert``, whose mode is the ``base``).

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
        ``value`` (fixed), ``mean, sd`` (normal, censored_normal), ``mu, sigma``
        (lognormal), ``shape, scale`` (gamma), ``a, b`` (beta), ``min, max, a, b``
        (pert: a beta on ``[min, max]``) or ``min, max`` (uniform).

    Raises
    ------
    InputError
        A specification no distribution of its kind can meet.

    Examples
    --------
    >>> f = fit_distribution({"parameter": "c", "distribution": "gamma",
    ...                       "base": 15.0, "low": 5.0, "high": 40.0})
    >>> [round(float(x), 6) for x in stats.gamma.ppf(QUANTILES, f["shape"], scale=f["scale"])]
    [5.0, 40.0]
    """
    kind, base = rec["distribution"], float(rec["base"])
    lo, hi = float(rec["low"]), float(rec["high"])
    where = {"row": row, "column": "distribution", "value": f"{rec['parameter']}: {kind}"}
    if kind == "fixed" or hi <= lo:
        return {"kind": "fixed", "value": base}
    if kind in _SHARES and not 0 <= lo < hi <= 1:
        raise InputError(f"a {kind} share needs a range within [0, 1]", **where)
    if kind in ("normal", "censored_normal"):
        return {"kind": kind, "mean": (lo + hi) / 2, "sd": (hi - lo) / (2 * _Z)}
    if kind == "log_complement":
        if not hi < 1:
            raise InputError("a log_complement share needs a high below 1", **where)
        return {"kind": kind, "mu": (np.log1p(-lo) + np.log1p(-hi)) / 2,
                "sigma": (np.log1p(-lo) - np.log1p(-hi)) / (2 * _Z)}
    if kind == "uniform":
        pad = (QUANTILES[0] / (QUANTILES[1] - QUANTILES[0])) * (hi - lo)
        return {"kind": kind, "min": lo - pad, "max": hi + pad}
    if kind in ("lognormal", "gamma") and lo <= 0:
        raise InputError(f"a {kind} parameter needs a low > 0", **where)
    if kind == "lognormal":
        return {
            "kind": kind,
            "mu": (np.log(lo) + np.log(hi)) / 2,
            "sigma": (np.log(hi) - np.log(lo)) / (2 * _Z),
        }
    if kind == "gamma":
        return {"kind": kind, **_fit_gamma(lo, hi, where)}
    if kind == "beta":
        if lo == 0 or hi == 1:
            raise InputError(
                "a beta share cannot have its 2.5 % quantile at 0 or its 97.5 % quantile "
                "at 1; use 'pert' for a share whose base is on the bound or "
                "'censored_normal' for one whose base is inside",
                **where,
            )
        return {"kind": kind, **_fit_beta(lo, hi, where)}
    if not lo <= base <= hi:
        raise InputError("a pert parameter needs its base within its range", **where)
    return {"kind": kind, **_fit_pert(lo, base, hi)}


def _fit_gamma(lo: float, hi: float, where: Mapping[str, Any]) -> dict[str, float]:
    """Shape and scale of the gamma whose 2.5/97.5 % quantiles are ``lo`` and ``hi``."""

    def log_ratio(log_shape: float) -> float:
        q = stats.gamma.ppf(QUANTILES, np.exp(log_shape))
        return float(np.log(q[1]) - np.log(q[0]) - np.log(hi / lo))

    bracket = np.log([0.05, 1e9])  # ratios from about 1e58 down to 1.0001
    if not log_ratio(bracket[0]) > 0 > log_ratio(bracket[1]):
        raise InputError("no gamma has this range; use lognormal or normal", **where)
    shape = float(np.exp(optimize.brentq(log_ratio, *bracket, xtol=1e-12, rtol=1e-14)))
    return {"shape": shape, "scale": lo / float(stats.gamma.ppf(QUANTILES[0], shape))}


def _fit_beta(lo: float, hi: float, where: Mapping[str, Any]) -> dict[str, float]:
    """``a, b`` of the beta whose 2.5/97.5 % quantiles are ``lo`` and ``hi``."""
    target = special.logit([lo, hi])
    m, sd = (lo + hi) / 2, (hi - lo) / (2 * _Z)
    common = m * (1 - m) / sd**2 - 1  # moments of the midpoint, as a start
    start = np.log([m * common, (1 - m) * common]) if common > 0 else np.zeros(2)
    sol = optimize.least_squares(
        lambda x: special.logit(stats.beta.ppf(QUANTILES, *np.exp(x))) - target,
        start,
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
    )
    a, b = (float(v) for v in np.exp(sol.x))
    if not np.allclose(stats.beta.ppf(QUANTILES, a, b), [lo, hi], rtol=1e-8, atol=0):
        raise InputError("no beta has this range; use pert or censored_normal", **where)
    return {"a": a, "b": b}


def _pert_shape(lo: float, mode: float, hi: float) -> tuple[float, float]:
    """PERT weights of a beta on ``[lo, hi]`` with its mode at ``mode``."""
    return 1 + 4 * (mode - lo) / (hi - lo), 1 + 4 * (hi - mode) / (hi - lo)


def _pert_ppf(q: float, lo: float, mode: float, hi: float) -> float:
    return lo + (hi - lo) * float(stats.beta.ppf(q, *_pert_shape(lo, mode, hi)))


def _fit_pert(lo: float, mode: float, hi: float) -> dict[str, float]:
    """Support ``[min, max]`` of the PERT with this mode whose quantiles are lo and hi.

    Unconstrained, ``t = (mode - min) / (max - min)`` fixes the shape, hence the
    standard quantiles ``q1, q2``, hence ``max - min = (hi - lo) / (q2 - q1)`` and
    ``min = lo - (max - min) q1``; ``t`` solves ``t = q1 + r (q2 - q1)`` with ``r =
    (mode - lo) / (hi - lo)`` (a root in [0, 1]: the left side minus the right
    changes sign between 0 and 1). Where ``min < 0`` or ``max > 1``, that end is set
    to the bound and the other solved for its own quantile alone.
    """
    r = (mode - lo) / (hi - lo)

    def gap(t: float) -> float:
        q1, q2 = stats.beta.ppf(QUANTILES, 1 + 4 * t, 1 + 4 * (1 - t))
        return float(q1 + r * (q2 - q1) - t)

    t = optimize.brentq(gap, 0.0, 1.0, xtol=1e-15, rtol=1e-15)
    q1, q2 = stats.beta.ppf(QUANTILES, 1 + 4 * t, 1 + 4 * (1 - t))
    width = (hi - lo) / (q2 - q1)
    low_end = lo - width * q1
    high_end = low_end + width
    if high_end > 1:
        high_end = 1.0
        low_end = _root_or_bound(lambda m: _pert_ppf(QUANTILES[0], m, mode, 1.0) - lo, 0.0, lo)
    if low_end < 0:
        low_end = 0.0
        high_end = _root_or_bound(lambda m: _pert_ppf(QUANTILES[1], 0.0, mode, m) - hi, 1.0, hi)
    a, b = _pert_shape(low_end, mode, high_end)
    return {"min": float(low_end), "max": float(high_end), "a": float(a), "b": float(b)}


def _root_or_bound(f: Callable[[float], float], bound: float, inside: float) -> float:
    """The root of ``f`` between a bound of [0, 1] and a value inside; the bound itself
    where ``f`` has one sign on the whole interval (the bound stops the fit)."""
    if bound == inside or f(bound) * f(inside) > 0:
        return bound
    return float(optimize.brentq(f, min(bound, inside), max(bound, inside), xtol=1e-15))


def _from_normal(fit: Mapping[str, float], z: np.ndarray) -> np.ndarray:
    """Map standard normal values through the fitted distribution's quantile function."""
    kind = fit["kind"]
    if kind == "normal":
        return fit["mean"] + fit["sd"] * z
    if kind == "censored_normal":
        return np.clip(fit["mean"] + fit["sd"] * z, 0.0, 1.0)
    if kind == "lognormal":
        return np.exp(fit["mu"] + fit["sigma"] * z)
    if kind == "log_complement":  # increasing in z, as every other family
        return np.clip(-np.expm1(fit["mu"] - fit["sigma"] * z), 0.0, 1.0)
    u = stats.norm.cdf(z)
    if kind == "gamma":
        return stats.gamma.ppf(u, fit["shape"], scale=fit["scale"])
    if kind == "beta":
        return stats.beta.ppf(u, fit["a"], fit["b"])
    if kind == "pert":
        return fit["min"] + (fit["max"] - fit["min"]) * stats.beta.ppf(u, fit["a"], fit["b"])
    return fit["min"] + (fit["max"] - fit["min"]) * u  # uniform


def _ppf(fit: Mapping[str, float], q: Any) -> np.ndarray:
    """Quantiles of a fitted (non-fixed) distribution."""
    return _from_normal(fit, stats.norm.ppf(np.asarray(q, dtype=float)))


def _mean_and_mode(fit: Mapping[str, float]) -> tuple[float, float]:
    """Mean and mode of a fitted (non-fixed) distribution (mode NaN where none is)."""
    kind = fit["kind"]
    if kind == "normal":
        return fit["mean"], fit["mean"]
    if kind == "censored_normal":
        # E[clip(X, 0, 1)] = integral over [0, 1] of P(X > t)
        mean = integrate.quad(lambda t: stats.norm.sf(t, fit["mean"], fit["sd"]), 0, 1)[0]
        return mean, float(np.clip(fit["mean"], 0, 1))
    if kind == "lognormal":
        mu, s2 = fit["mu"], fit["sigma"] ** 2
        return float(np.exp(mu + s2 / 2)), float(np.exp(mu - s2))
    if kind == "log_complement":
        # Y = log(1 - X) ~ N(mu, s): E[max(0, 1 - e^Y)] = P(Y < 0) - E[e^Y; Y < 0];
        # the density of X peaks where Y = mu - s^2.
        mu, s = fit["mu"], fit["sigma"]
        mean = stats.norm.cdf(-mu / s) - np.exp(mu + s**2 / 2) * stats.norm.cdf(-mu / s - s)
        return float(mean), float(np.clip(-np.expm1(mu - s**2), 0, 1))
    if kind == "gamma":
        k, theta = fit["shape"], fit["scale"]
        return k * theta, (k - 1) * theta if k >= 1 else np.nan
    if kind in ("beta", "pert"):
        a, b = fit["a"], fit["b"]
        lo, width = (fit["min"], fit["max"] - fit["min"]) if kind == "pert" else (0.0, 1.0)
        mode = (a - 1) / (a + b - 2) if a >= 1 and b >= 1 and a + b > 2 else np.nan
        return lo + width * a / (a + b), lo + width * mode
    return (fit["min"] + fit["max"]) / 2, np.nan  # uniform


def _described(fit: Mapping[str, float]) -> str:
    """The fitted distribution in words and numbers, e.g. ``gamma(shape 4.02, scale 4.55)``."""
    args = ", ".join(f"{k} {v:.4g}" for k, v in fit.items() if k != "kind")
    return f"{fit['kind']}({args})"


def _relative_error(fitted: float, stated: float, width: float) -> float:
    """``(fitted - stated) / |stated|``; relative to the range's width where stated is 0."""
    return (fitted - stated) / (abs(stated) if stated != 0 else width)


def fit_table(table: pd.DataFrame) -> pd.DataFrame:
    """How well each fitted distribution reproduces its stated range.

    Parameters
    ----------
    table : DataFrame
        From :func:`parameter_table`.

    Returns
    -------
    DataFrame
        One row per parameter: ``parameter, label`` (where the table has labels),
        ``distribution, fitted`` (the fitted parameters, e.g. ``gamma(shape 4.019,
        scale 4.548)``), ``base, low, high``; ``fit_low, fit_high``: the fitted
        distribution's 2.5 % and 97.5 % quantiles; ``fit_error_low_pct,
        fit_error_high_pct``: their error relative to ``low`` and ``high`` in percent,
        to 1e-9 % (relative to ``high - low`` where the stated value is 0); ``psa_mean,
        psa_median``: the distribution's mean and median; ``base_is``: which of
        ``mean``, ``median`` and ``mode`` the base case equals (``"none"`` where it is
        none of them, ``"fixed"`` where the parameter is not drawn). Quantiles, mean and
        median of a ``fixed`` parameter are its value.

    Examples
    --------
    >>> t = fit_table(parameter_table()).set_index("parameter")
    >>> float(t.at["scope_share", "fit_low"]), t.at["scope_share", "base_is"]
    (0.7, 'mode')
    """
    rows = []
    for rec in table.to_dict("records"):
        fit = fit_distribution(rec)
        base, lo, hi = float(rec["base"]), float(rec["low"]), float(rec["high"])
        if fit["kind"] == "fixed":
            value = fit["value"]
            q_low = q_high = mean = median = value
            described, base_is, errors = "fixed", "fixed", (np.nan, np.nan)
        else:
            q_low, median, q_high = (float(v) for v in _ppf(fit, [QUANTILES[0], 0.5, QUANTILES[1]]))
            mean, mode = _mean_and_mode(fit)
            close = {
                name: bool(np.isclose(value, base, rtol=1e-9, atol=1e-12))
                for name, value in (("mean", mean), ("median", median), ("mode", mode))
            }
            base_is = ", ".join(n for n, ok in close.items() if ok) or "none"
            described = _described(fit)
            # to 1e-9 %: below that the error is the solvers' rounding
            errors = (
                round(100 * _relative_error(q_low, lo, hi - lo), 9) + 0.0,
                round(100 * _relative_error(q_high, hi, hi - lo), 9) + 0.0,
            )
        rows.append(
            {
                "parameter": rec["parameter"],
                **({"label": rec["label"]} if "label" in rec else {}),
                "distribution": rec["distribution"],
                "fitted": described,
                "base": base,
                "low": lo,
                "high": hi,
                "fit_low": q_low,
                "fit_high": q_high,
                "fit_error_low_pct": errors[0],
                "fit_error_high_pct": errors[1],
                "psa_mean": mean,
                "psa_median": median,
                "base_is": base_is,
            }
        )
    return pd.DataFrame(rows)


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
            out[name] = _from_normal(fit, z[:, varying.index(name)])
    return pd.DataFrame(out)
