"""Statistics for comparing practices' rates with a benchmark, one function each.

The building blocks of the LCD screen (:func:`analysis.lcd.screen`) and of its
funnel plot (:func:`analysis.plots.funnel_plot`), each usable alone on arrays of
counts ``x`` of ``n`` (in the screen's table, ``n_3d`` of ``n_ct_mr``): binomial
confidence intervals, Benjamini–Hochberg q-values, exact funnel limits,
Spiegelhalter's overdispersion estimates and the empirical-Bayes beta-binomial prior.
Every function is vectorised and treats ``n == 0`` as "not screened" (NaN, or left out
of estimates across practices).

References
----------
Clopper CJ, Pearson ES (1934). Biometrika 26:404–413.
Wilson EB (1927). J Am Stat Assoc 22:209–212.
Benjamini Y, Hochberg Y (1995). J R Stat Soc B 57:289–300.
Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance.
Stat Med 24:1185–1202.
Spiegelhalter DJ (2005b). Handling over-dispersion of performance indicators.
Qual Saf Health Care 14:347–351.
DerSimonian R, Laird N (1986). Control Clin Trials 7:177–188.
Kleinman JC (1973). Proportions with extraneous variance. J Am Stat Assoc 68:46–54.
Efron B, Morris C (1975). J Am Stat Assoc 70:311–319 (empirical Bayes).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from analysis.errors import InputError

__all__ = [
    "TRIMS",
    "BetaPrior",
    "Overdispersion",
    "bh_qvalues",
    "binomial_ci",
    "fit_beta_prior",
    "funnel_limits",
    "overdispersion",
    "truncate",
    "winsorise",
]

_WINSOR = 0.10  # share Winsorised (or truncated) at each end (Spiegelhalter 2005b)
#: How the extreme z-scores enter phi: capped (Winsorised) or left out (truncated).
TRIMS: tuple[str, ...] = ("winsorise", "truncate")


@dataclass(frozen=True)
class Overdispersion:
    """Spiegelhalter's (2005b) overdispersion estimates across the practices screened.

    ``pooled_rate`` is ``p0``; ``phi`` the Winsorised (or truncated) multiplicative
    factor (NaN when it cannot be estimated: fewer than 2 practices or ``p0`` in {0, 1},
    see :attr:`not_estimable`); ``tau2`` the additive DerSimonian–Laird variance on the
    ``scale`` of the estimate; ``chi2_p`` the p-value of ``m phi`` against chi-square
    with ``m - 1`` degrees of freedom (a test of no overdispersion); ``n_practices`` =
    I, the practices screened; ``trim`` how the extreme z-scores entered ``phi``
    (:func:`overdispersion`) and ``n_practices_used`` = m, how many z-scores did (I,
    unless truncated).
    """

    pooled_rate: float
    phi: float
    tau2: float
    chi2_p: float
    n_practices: int
    scale: str = "rate"
    trim: str = "winsorise"
    n_practices_used: int | None = None

    def __post_init__(self) -> None:
        if self.n_practices_used is None:
            object.__setattr__(self, "n_practices_used", self.n_practices)

    @property
    def estimable(self) -> bool:
        return bool(np.isfinite(self.phi))

    @property
    def not_estimable(self) -> str:
        """Why phi and tau2 cannot be estimated (empty when they can).

        >>> Overdispersion(0.0, float("nan"), float("nan"), float("nan"), 4).not_estimable
        'no practice screened has any 3D rendering (pooled rate 0)'
        """
        if self.estimable:
            return ""
        if self.n_practices < 2:
            return f"fewer than 2 practices screened ({self.n_practices})"
        if self.pooled_rate == 0:
            return "no practice screened has any 3D rendering (pooled rate 0)"
        return "all the CT/MR imaging screened has 3D rendering (pooled rate 1)"

    @property
    def phi_used(self) -> float:
        """Factor applied to the limits: ``max(phi, 1)`` (1 when phi is NaN)."""
        return 1.0 if not np.isfinite(self.phi) else max(self.phi, 1.0)

    @property
    def tau2_used(self) -> float:
        """Variance added to the limits: ``tau2``, or 0 when it is NaN or ``phi <= 1``.

        With ``phi <= 1`` the practices vary no more than chance; the DerSimonian–Laird
        formula can still give ``tau2 > 0`` (``I phi > I - 1`` with ``phi`` just below
        1), and FunnelPlotR, like Spiegelhalter, then uses the unadjusted limits.

        >>> Overdispersion(0.2, 0.9948, 1.7e-6, 0.6, 40).tau2_used
        0.0
        """
        if not np.isfinite(self.tau2) or not np.isfinite(self.phi) or self.phi <= 1.0:
            return 0.0
        return self.tau2

    def rejects(self, alpha: float) -> bool:
        """Whether the chi-square test of no overdispersion rejects at ``alpha``: the
        practices vary more than chance would make them."""
        return bool(self.estimable and np.isfinite(self.chi2_p) and self.chi2_p < alpha
                    and self.phi > 1.0)

    def half_width(
        self, n: Any, threshold: float, level: float, *, method: str = "tau2"
    ) -> np.ndarray:
        """Half-width of the overdispersion-adjusted funnel limits ``threshold +/- half``.

        ``method="phi"`` (multiplicative): ``z sqrt(phi_used t (1 - t) / n)``;
        ``method="tau2"`` (additive): ``z sqrt(t (1 - t) / n + tau2_used)``; ``z`` is
        the ``1 - (1 - level) / 2`` normal quantile and ``t`` the threshold. Infinite
        where ``n == 0``. The limits are not clipped to [0, 1].

        >>> od = Overdispersion(0.2, 2.0, 0.001, 0.01, 10)
        >>> round(float(od.half_width(100, 0.2, 0.95, method="phi")), 4)
        0.1109
        """
        if method not in ("phi", "tau2"):
            raise InputError("method must be 'phi' or 'tau2'", column="method", value=method)
        zq = stats.norm.isf((1 - level) / 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = threshold * (1 - threshold) / np.asarray(n, dtype=float)
            if method == "phi":
                return zq * np.sqrt(self.phi_used * var)
            return zq * np.sqrt(var + self.tau2_used)

    def upper(self, n: Any, threshold: float, level: float, *, method: str = "tau2"
              ) -> np.ndarray:
        """The overdispersion-adjusted upper funnel limit (rate scale) at volume ``n``.

        On the rate scale: ``threshold + half_width``. On the arcsine scale (the
        FunnelPlotR proportion method): ``sin(asin(sqrt(t)) + z_q sqrt(s^2 + tau2))^2``
        with ``s = 1 / (2 sqrt(n))`` (``method="tau2"``) or ``sin(asin(sqrt(t)) + z_q
        sqrt(phi_used) s)^2`` (``method="phi"``), within [0, 1].
        """
        return self._limit(n, threshold, level, method, +1)

    def lower(self, n: Any, threshold: float, level: float, *, method: str = "tau2"
              ) -> np.ndarray:
        """The overdispersion-adjusted lower funnel limit (rate scale), as :meth:`upper`."""
        return self._limit(n, threshold, level, method, -1)

    def _limit(self, n, threshold: float, level: float, method: str, sign: int) -> np.ndarray:
        if self.scale != "arcsine":
            return threshold + sign * self.half_width(n, threshold, level, method=method)
        zq = stats.norm.isf((1 - level) / 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = 1.0 / (2.0 * np.sqrt(np.asarray(n, dtype=float)))
            spread = (np.sqrt(s**2 + self.tau2_used) if method == "tau2"
                      else np.sqrt(self.phi_used) * s)
            y = np.clip(np.arcsin(np.sqrt(threshold)) + sign * zq * spread, 0.0, np.pi / 2)
        return np.sin(y) ** 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"phi_used": self.phi_used, "not_estimable": self.not_estimable}


@dataclass(frozen=True)
class BetaPrior:
    """The fitted Beta(a, b) prior of the practices' true rates.

    ``a``, ``b`` and ``loglik`` are NaN and ``not_estimable`` says why when the
    between-practice variation cannot be estimated (see :func:`fit_beta_prior`).
    """

    a: float
    b: float
    method: str
    loglik: float
    not_estimable: str = ""

    @property
    def estimable(self) -> bool:
        return not self.not_estimable

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"mean": self.mean}



def binomial_ci(
    x: Any, n: Any, *, method: str = "clopper-pearson", level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided confidence interval of a binomial proportion, vectorised.

    Clopper–Pearson: ``[Beta^-1(a/2; x, n-x+1), Beta^-1(1-a/2; x+1, n-x)]`` with the
    ends 0 at x = 0 and 1 at x = n. Wilson: ``(x + z^2/2)/(n + z^2) +/-
    z/(n + z^2) sqrt(x (n - x)/n + z^2/4)``, z the ``1 - a/2`` normal quantile.
    Both match ``scipy.stats.binomtest(x, n).proportion_ci(level, method="exact"|"wilson")``.
    NaN where ``n == 0``.
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    a = 1.0 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "clopper-pearson":
            lo = np.where(x > 0, special.betaincinv(x, n - x + 1, a / 2), 0.0)
            hi = np.where(x < n, special.betaincinv(x + 1, n - x, 1 - a / 2), 1.0)
        elif method == "wilson":
            z = stats.norm.isf(a / 2)
            centre = (x + z * z / 2) / (n + z * z)
            half = z / (n + z * z) * np.sqrt(x * (n - x) / n + z * z / 4)
            lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
        else:
            raise InputError("ci must be 'clopper-pearson' or 'wilson'", column="ci", value=method)
    bad = n <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def bh_qvalues(p: Any) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN entries are not counted.

    ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` over the m non-missing p-values in
    increasing order. Matches ``scipy.stats.false_discovery_control(p, method="bh")``.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    scaled = pv[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adjusted
    q[ok] = out
    return q


def funnel_limits(n: Any, threshold: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial funnel limits (rate scale) around ``threshold`` at volume ``n``.

    For p = (1 - level)/2 (lower) and 1 - (1 - level)/2 (upper): ``r_p`` is the
    p-quantile of Binomial(n, threshold) (smallest r with F(r) >= p) and the limit is
    ``(r_p - a)/n`` with ``a = (F(r_p) - p)/(F(r_p) - F(r_p - 1))`` — Spiegelhalter's
    interpolation (Stat Med 2005; 24:1185, appendix A.1.1), which makes the limits a
    smooth function of n. NaN where n == 0.

    Examples
    --------
    n = 40, threshold 0.2, level 0.95, upper: F(12) = 0.95676 < 0.975 <= F(13) = 0.98059,
    so r = 13, a = (0.98059 - 0.975)/(0.98059 - 0.95676) = 0.2347 and the limit is
    (13 - 0.2347)/40 = 0.3191.

    >>> lo, hi = funnel_limits(40, 0.2, 0.95)
    >>> round(float(hi), 4)
    0.3191
    """
    n = np.asarray(n, dtype=float)
    out = []
    for p in ((1 - level) / 2, 1 - (1 - level) / 2):
        r = stats.binom.ppf(p, n, threshold)
        f_r = stats.binom.cdf(r, n, threshold)
        f_rm1 = stats.binom.cdf(r - 1, n, threshold)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = (f_r - p) / (f_r - f_rm1)
            lim = (r - a) / n
        out.append(np.where(n > 0, np.clip(lim, 0.0, 1.0), np.nan))
    return out[0], out[1]


def winsorise(z: np.ndarray, share: float = _WINSOR) -> np.ndarray:
    """Set the floor(share * I) lowest and highest values to the nearest remaining one.

    >>> winsorise(np.arange(10.0)).tolist()
    [1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 8.0]
    """
    k = int(math.floor(share * z.size))
    if k == 0:
        return z.copy()
    s = np.sort(z)
    return np.clip(z, s[k], s[z.size - 1 - k])


def truncate(z: np.ndarray, share: float = _WINSOR) -> np.ndarray:
    """Which z-scores NHS Digital's SHMI truncation keeps (a boolean mask).

    FunnelPlotR's ``truncation()`` (the ``sr_method = "SHMI"`` branch of
    ``funnel_plot``): with ``k = 1 / share`` groups, rank the z-scores (ties take their
    average rank), put each in group ``floor(rank k / (I + 1))`` and keep the groups
    ``1 .. k - 2``; the others are left out of phi, not capped. With 10 % that drops
    about a tenth at each end once ``I >= 10`` (below 10 practices group 0 is empty,
    and from 9 on the largest rank falls in group 9: the ends need not be symmetric).

    >>> np.flatnonzero(~truncate(np.arange(20.0))).tolist()
    [0, 1, 18, 19]
    """
    k = 1.0 / share
    group = np.floor(stats.rankdata(z, method="average") * k / (z.size + 1))
    return (group > 0) & (group < k - 1)


def overdispersion(x: Any, n: Any, *, method: str = "rate", trim: str = "winsorise"
                   ) -> Overdispersion:
    """Winsorised phi and DerSimonian–Laird tau² around the pooled rate (Spiegelhalter 2005b).

    ``method="rate"`` (default): ``p0 = sum x / sum n``; ``z_i = (x_i/n_i - p0)/s_i``,
    ``s_i^2 = p0(1-p0)/n_i``; ``phi = mean(winsorised z^2)`` with the ``floor(0.1 I)``
    lowest and highest z-scores set to the nearest remaining one (none below 10
    practices); ``tau2 = max(0, (I phi - (I-1)) / (sum w - sum w^2/sum w))`` with
    ``w_i = 1/s_i^2``.

    ``method="arcsine"``: the proportion method of FunnelPlotR (Hughes, NHS-R
    community; Spiegelhalter 2005b): ``y_i = asin(sqrt(x_i/n_i))``, target
    ``asin(sqrt(p0))``, ``s_i = 1/(2 sqrt(n_i))``, ``z_i = (y_i - target)/s_i``,
    Winsorised at the 10 % and 90 % quantiles with linear interpolation (R's type 7);
    ``phi`` and ``tau2`` as above on that scale, ``tau2 = 0`` when ``I phi < I - 1``.
    The rate scale is rad3d's default because its limits are the benchmark's binomial
    variance, the quantity the LCD names; the arcsine scale stabilises the variance
    and gives larger phi on skewed rates (on the sample: phi 70 against 55). Practices
    with n == 0 are ignored.

    ``trim="truncate"`` replaces the Winsorising, on either scale, by the truncation
    of NHS Digital's SHMI (FunnelPlotR's ``sr_method = "SHMI"``, :func:`truncate`): the
    z-scores of the lowest and highest tenth by rank are left out, and phi, tau2 and
    the chi-square test use the m kept ones (``phi = mean(z_kept^2)``, ``tau2 = max(0,
    (m phi - (m-1)) / (sum w - sum w^2/sum w))`` over the kept practices). Winsorising
    stays the default: it is what FunnelPlotR does for proportions (``data_type =
    "PR"``; it truncates only standardised ratios by the SHMI method) and what
    Spiegelhalter (2005b) describes, and it keeps every practice in the estimate,
    which matters with the few dozen practices of a state. Truncating drops the
    extremes altogether and usually gives a smaller phi (on the sample: 36.8 against
    55.2 on the rate scale, 50.5 against 70.1 on the arcsine scale).

    >>> od = overdispersion([2, 8, 15, 40], [50, 60, 70, 80], method="arcsine")
    >>> round(od.phi, 4), round(od.tau2, 6)
    (7.5974, 0.035465)
    """
    if method not in ("rate", "arcsine"):
        raise InputError("method must be 'rate' or 'arcsine'", column="funnel_method",
                         value=method)
    if trim not in TRIMS:
        raise InputError(f"trim must be one of {', '.join(TRIMS)}",
                         column="overdispersion_trim", value=trim)
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = n > 0
    x, n = np.minimum(x[keep], n[keep]), n[keep]
    i = int(n.size)
    p0 = float(x.sum() / n.sum()) if i else float("nan")
    if i < 2 or not 0.0 < p0 < 1.0:
        return Overdispersion(p0, float("nan"), float("nan"), float("nan"), i, method, trim)
    if method == "arcsine":
        s2 = 1.0 / (4.0 * n)
        z = (np.arcsin(np.sqrt(x / n)) - np.arcsin(np.sqrt(p0))) / np.sqrt(s2)
    else:
        s2 = p0 * (1 - p0) / n
        z = (x / n - p0) / np.sqrt(s2)
    if trim == "truncate":
        used = truncate(z)
        z, s2 = z[used], s2[used]
    elif method == "arcsine":
        lo, hi = np.quantile(z, [_WINSOR, 1 - _WINSOR])  # R's type 7
        z = np.clip(z, lo, hi)
    else:
        z = winsorise(z)
    m = int(z.size)
    phi = float(np.mean(z**2))
    w = 1.0 / s2
    tau2 = max(0.0, (m * phi - (m - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    chi2_p = float(stats.chi2.sf(m * phi, m - 1))
    return Overdispersion(p0, phi, float(tau2), chi2_p, i, method, trim, m)


def _betabinom_negloglik(params: np.ndarray, x: np.ndarray, n: np.ndarray) -> float:
    mu = special.expit(params[0])
    kappa = math.exp(params[1])
    return -float(stats.betabinom.logpmf(x, n, mu * kappa, (1 - mu) * kappa).sum())


_KAPPA_MAX = 1e7
_LOG_KAPPA_BOUNDS = (math.log(1e-2), math.log(_KAPPA_MAX))


def _moments_rho(x: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Kleinman (1973) moments, unclipped: returns (mu, rho).

    With ``mu = sum x / sum n``, ``S = sum n_i (r_i - mu)^2`` has expectation
    ``mu (1 - mu) [(I - 1) + rho B]``, ``B = sum (n_i - 1)(1 - n_i / N)`` and
    ``rho = 1/(kappa + 1)`` the intra-practice correlation; solved for rho, which is
    <= 0 when the rates vary no more than binomial chance.
    """
    big_n = n.sum()
    mu = float(x.sum() / big_n)
    mu = min(max(mu, 1e-6), 1 - 1e-6)
    s = float((n * (x / n - mu) ** 2).sum())
    b = float(((n - 1) * (1 - n / big_n)).sum())
    rho = (s / (mu * (1 - mu)) - (n.size - 1)) / b if b > 0 else 0.0
    return mu, rho


def _moments_prior(x: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Kleinman (1973) moments (:func:`_moments_rho`): returns (mu, kappa) with
    kappa = a + b, rho clipped to ``[1/(1e7 + 1), 0.99]``."""
    mu, rho = _moments_rho(x, n)
    rho = min(max(rho, 1.0 / (_KAPPA_MAX + 1)), 0.99)
    return mu, 1.0 / rho - 1.0


def _prior_not_estimable(x: np.ndarray, n: np.ndarray) -> str:
    """Why the spread of the prior cannot be estimated from these practices ("" if it can)."""
    if n.size < 3:
        return f"fewer than 3 practices screened ({n.size})"
    if x.sum() == 0:
        return "no practice screened has any 3D rendering (pooled rate 0)"
    if x.sum() == n.sum():
        return "all the CT/MR imaging screened has 3D rendering (pooled rate 1)"
    if _moments_rho(x, n)[1] <= 0:
        return ("the practices' rates vary no more than chance, so the variance between "
                "practices is estimated at zero")
    return ""


def fit_beta_prior(x: Any, n: Any, *, method: str = "mle") -> BetaPrior:
    """Fit the Beta(a, b) prior of an empirical-Bayes beta-binomial model.

    ``method="mle"`` maximises ``sum log BetaBinom(x_i | n_i, a, b)`` over
    ``(logit mu, log kappa)`` (``a = mu kappa``, ``b = (1 - mu) kappa``, ``kappa`` bounded
    to [1e-2, 1e7]), starting from the method-of-moments estimate. ``method="moments"``,
    or an optimiser failure: Kleinman's (1973) method of moments (see
    ``_moments_prior``). Practices with n == 0 are ignored.

    The prior is **not estimable** (NaN ``a, b``, with the reason in
    ``not_estimable``) with fewer than 3 practices, a pooled rate of 0 or 1, or rates
    that vary no more than binomial chance (the moments estimate of the between-practice
    variance is <= 0, or the fit reaches the upper bound of ``kappa``). A fit there
    would put the whole prior on the pooled rate and claim near certainty for every
    practice (P(rate > 0.2) = 1.0 from two practices at 5/20 and 4/20).

    >>> fit_beta_prior([5, 4], [20, 20]).not_estimable
    'fewer than 3 practices screened (2)'
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = n > 0
    x, n = np.minimum(x[keep], n[keep]), n[keep]
    reason = _prior_not_estimable(x, n)
    if reason:
        return BetaPrior(float("nan"), float("nan"), "none", float("nan"), reason)
    mu0, kappa0 = _moments_prior(x, n)
    start = np.array([special.logit(mu0), math.log(kappa0)])
    used = "moments"
    params = start
    if method == "mle" and n.size >= 3:
        res = optimize.minimize(
            _betabinom_negloglik,
            start,
            args=(x, n),
            method="L-BFGS-B",
            bounds=[(-15.0, 15.0), _LOG_KAPPA_BOUNDS],
        )
        if res.success and np.all(np.isfinite(res.x)):
            params, used = res.x, "mle"
        else:
            used = "moments (optimiser failed)"
    mu = float(special.expit(params[0]))
    kappa = math.exp(float(params[1]))
    if kappa >= 0.99 * _KAPPA_MAX:
        return BetaPrior(float("nan"), float("nan"), "none", float("nan"),
                         "the variance between practices is estimated at zero (the fit "
                         "reaches its bound)")
    return BetaPrior(mu * kappa, (1 - mu) * kappa, used, -_betabinom_negloglik(params, x, n))

