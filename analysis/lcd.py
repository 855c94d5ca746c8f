"""Screen practices' 3D rendering against the 20 % benchmark of the retired Novitas LCD.

Novitas LCD L35408 "3D Interpretation and Reporting of Imaging Studies" (effective
2015-10-01, **retired 2023-09-28**) said: "Medicare expects that no more than 20 percent
of the total CT and MR imaging of any practice be submitted with 3-D rendering", with
cancer evaluation allowed to exceed it. The LCD is retired: the 20 % test here is a
*benchmark drawn from a retired LCD*, not an active coverage rule.

CMS's own screens compare providers with percentiles (PEPPER) or one chi-square test
each (comparative billing reports) without accounting for volume or multiplicity.
:func:`screen` reports, for each practice, an exact test against the benchmark with
false-discovery-rate control, funnel-plot limits with and without overdispersion,
empirical-Bayes shrinkage, and the percentile screen beside them, so that a reader can
see where the methods agree and where they do not. The statistics themselves, each a
function of counts alone, are in :mod:`analysis.rate_stats`.

Definitions (also returned as text in :attr:`ScreenResult.definitions`)
-----------------------------------------------------------------------
Each practice's denominator is ``n_ct_mr`` (its CT/MR imaging) and its numerator
``n_3d`` (the part of it with 3D rendering), both counted in the ``unit`` of the basis,
``"encounters"`` or ``"services"``; in the formulas below ``n`` is ``n_ct_mr`` and ``x``
is ``n_3d``.

- **Encounter basis** (default, ``unit = "encounters"``): ``n_ct_mr`` = CT/MR
  encounters, ``n_3d`` = encounters with at least one linked 3D line (76376/76377).
  With the oncology exemption (default) both count only non-oncology encounters
  (``n_nononc_encounters``, ``n_nononc_encounters_3d`` of :mod:`analysis.summary`);
  ``rate = n_3d / n_ct_mr`` is a true binomial proportion.
- **Services basis** (``unit = "services"``): ``n_3d`` = 3D units (``units_3d_76376 +
  units_3d_76377``), ``n_ct_mr`` = CT/MR units (``ct_mr_units``), the only basis the
  Medicare PUF allows. Units carry no diagnosis, so the oncology exemption cannot be
  applied on this basis; units are not independent Bernoulli trials, so the binomial
  statistics are an approximation. Fractional services (the Medicare PUF's
  ``Tot_Srvcs``) are summed per practice first and rounded once (half to even). Where
  ``n_3d > n_ct_mr`` the statistics use ``min(n_3d, n_ct_mr)``.
- **Exact test**: one-sided binomial test of H0: p <= threshold,
  ``p_value = P(X >= x | n, threshold) = binom.sf(x - 1, n, threshold)``.
- **Interval**: two-sided ``ci_level`` interval, Clopper–Pearson (exact, default) or
  Wilson score (no continuity correction).
- **Multiplicity**: Benjamini–Hochberg q-values across the practices screened;
  ``beyond_chance = q_value < alpha`` (also ``flag_exact``).
- **Tiers** (Spiegelhalter 2005; the FunnelPlotR default): ``above_benchmark`` (rate >
  threshold), ``beyond_chance``, and ``beyond_variation``: above the 99.8 % funnel limit
  widened by the additive ``tau2`` when the chi-square test of ``phi`` rejects at
  ``alpha`` (the practices vary beyond chance), otherwise equal to ``beyond_chance``.
  ``flag`` is ``beyond_variation``, the tier a committee can defend; ``status`` names
  each practice's tier in words. **Minimum volume**: a practice with fewer than
  ``min_volume`` (default 30) CT/MR encounters (services on the services basis) is
  ``too_few`` to judge and flagged by no tier (its counts would be suppressed in a
  shared report anyway). The BH correction still counts it among the practices
  screened.
- **Funnel limits**: for the practice's ``n_ct_mr``, the exact binomial quantiles of
  Binomial(n, threshold) at 2.5/97.5 % (95 % limits) and 0.1/99.9 % (99.8 %), smoothed
  by Spiegelhalter's interpolation (2005, appendix A.1.1): with ``r_p`` the p-quantile
  and ``F`` the binomial CDF, ``limit = (r_p - a) / n``,
  ``a = (F(r_p) - p) / (F(r_p) - F(r_p - 1))``. ``funnel_z = (rate - t) /
  sqrt(t (1 - t) / n)``. ``above_exact_95``/``above_exact_998``: rate above the upper
  limit (the screen is about excess, so only the upper limit flags).
- **Overdispersion** (Spiegelhalter 2005b), estimated around the peer pooled rate
  ``p0 = sum x / sum n`` (not around the threshold: centring on the threshold would
  count the distance between peers and the benchmark as overdispersion):
  ``z_i = (rate_i - p0) / s_i``, ``s_i^2 = p0 (1 - p0) / n_i``; the z-scores are
  Winsorised at 10 % (the ``floor(0.1 I)`` lowest and highest are set to the nearest
  remaining value); ``phi = mean(z_w^2)``. Multiplicative limits
  ``t +/- z_q sqrt(max(phi, 1) t (1 - t) / n)``. Additive (DerSimonian–Laird)
  ``tau2 = max(0, (I phi - (I - 1)) / (sum w - sum w^2 / sum w))``, ``w_i = 1 / s_i^2``,
  limits ``t +/- z_q sqrt(t (1 - t) / n + tau2)``, with ``tau2`` taken as 0 when
  ``phi <= 1`` (no overdispersion; FunnelPlotR does the same).
  ``funnel_method="arcsine"`` estimates both on FunnelPlotR's arcsine scale for
  proportions (Winsorising at R's type-7 quantiles; :func:`analysis.rate_stats.
  overdispersion`), where the limits are ``sin(asin(sqrt(t)) +/- z_q sqrt(s^2 +
  tau2))^2``, ``s = 1 / (2 sqrt(n))``. The rate scale is the default: its limits are
  the benchmark's own binomial variance. The two differ (on the sample phi 55 and
  tau2 0.0025 on the rate scale, 70 and 0.0089 on the arcsine scale, which leaves no
  practice beyond the usual variation). ``overdispersion_trim="truncate"`` leaves the
  lowest and highest tenth of the z-scores by rank out of phi and tau2, as NHS Digital's
  SHMI does (FunnelPlotR's ``sr_method = "SHMI"``), instead of capping them; Winsorising
  stays the default because FunnelPlotR Winsorises proportions and it keeps every
  practice in the estimate (on the sample truncating gives phi 36.8 instead of 55.2 on
  the rate scale and flags the same 2 practices). Both are reported *beside* the exact
  limits, each with its own flag, never replacing them. Not estimable (stated, and the
  adjusted limits equal the exact ones) with fewer than 2 practices screened or a
  pooled rate of 0 or 1.
- **Shrinkage** (empirical Bayes, beta-binomial): ``p_i ~ Beta(a, b)``,
  ``x_i | p_i ~ Binomial(n_i, p_i)``; ``a, b`` maximise the beta-binomial marginal
  likelihood across the practices screened (fallback: Kleinman's method of moments,
  used when the optimiser fails). Posterior ``Beta(a + x, b + n - x)``;
  ``shrunken_rate`` is its mean and ``prob_above = P(p > threshold | data)``;
  ``flag_shrinkage = prob_above > 0.95``. **Not estimable** with fewer than 3
  practices screened, a pooled rate of 0 or 1, or rates that vary no more than chance
  (between-practice variance estimated at zero): a prior fitted there sits entirely on
  the pooled rate and claims near certainty for every practice, so ``shrunken_rate``
  and ``prob_above`` are NaN, no practice is flagged by shrinkage, and the result says
  why (:attr:`ScreenResult.not_estimable`).
- **Peer percentile**: share of practices screened whose rate is <= the practice's
  (empirical CDF). ``flag_percentile``: rate at or above the ``percentile_flag``
  quantile (linear interpolation) of peers' rates, the PEPPER-style screen; practices
  tied at the cut are flagged. A rate above the exact 95 % funnel limit need not have
  ``p < 0.025``: the limits are interpolated (Spiegelhalter), the test is not.
- **Excess**: ``expected_n_3d = threshold * n_ct_mr``, ``excess_n_3d = max(0, n_3d -
  expected_n_3d)``; ``excess_usd = excess_n_3d * usd_per_3d`` where ``usd_per_3d`` is
  the practice's 3D dollars per encounter with 3D (``n_encounters_3d``, all encounters:
  the summary does not split dollars by oncology) on the encounter basis, per 3D unit
  on the services basis. The dollars are priced as the revenue model prices them: the
  observed ``allowed_usd`` where a line has one, else the Medicare fee schedule times
  the payer's multiplier (``rev_medicare_usd_*`` of the compliant lines;
  :class:`analysis.impact.ImpactAssumptions`). Where neither exists the dollars are
  unknown: ``usd_per_3d`` and (with an excess) ``excess_usd`` are NaN, never $0;
  ``excess_usd_priced_by`` says which.
- Practices with ``n_ct_mr == 0`` are reported but not screened: NaN statistics, no
  flags; they do not count in the BH correction, the overdispersion or the prior.

References
----------
The statistical methods' references are in :mod:`analysis.rate_stats`.
Novitas Solutions, LCD L35408, retired 2023-09-28; CMS PEPPER user's guide.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis import plots
from analysis.defaults import ALPHA, LCD_BENCHMARK
from analysis.errors import InputError, first_bad_row
from analysis.rate_stats import (
    TRIMS,
    BetaPrior,
    Overdispersion,
    bh_qvalues,
    binomial_ci,
    fit_beta_prior,
    funnel_limits,
    overdispersion,
)

# The statistics are defined in analysis.rate_stats and stay importable from here,
# beside the screen that reports them.
__all__ = [
    "LCD_STATUS",
    "BetaPrior",
    "Overdispersion",
    "ScreenResult",
    "ScreenSettings",
    "bh_qvalues",
    "binomial_ci",
    "fit_beta_prior",
    "funnel_limits",
    "overdispersion",
    "screen",
]

LCD_STATUS = (
    'Novitas LCD L35408 "3D Interpretation and Reporting of Imaging Studies", effective '
    '2015-10-01, RETIRED 2023-09-28. Its text: "Medicare expects that no more than 20 '
    "percent of the total CT and MR imaging of any practice be submitted with 3-D "
    'rendering"; cancer evaluation may exceed it. The threshold test is a benchmark drawn '
    "from a retired LCD, not an active coverage rule."
)

MIN_VOLUME = 30
"""Fewest CT/MR encounters (or services) a practice needs before the screen judges it:
with fewer, even every encounter rendered in 3D is weak evidence, and counts that small
are suppressed in shared reports anyway."""

_FUNNEL_LEVELS = {"95": 0.95, "998": 0.998}
_SHRINK_PROB = 0.95


# --------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ScreenSettings:
    """Options of :func:`screen` (validated; ``to_dict`` for the manifest).

    Parameters
    ----------
    threshold : float
        Benchmark share in (0, 1); 0.20 from the retired LCD L35408.
    basis : {"encounters", "services"}
    exempt_oncology : bool
        Exclude oncology encounters from ``n_ct_mr`` and ``n_3d`` (encounter basis only).
    alpha : float
        False discovery rate; ``flag = q_value < alpha``.
    ci : {"clopper-pearson", "wilson"}
    ci_level : float
        Two-sided confidence level of ``ci_low``/``ci_high``.
    periods, payers : tuple of str or None
        Keep only these periods (a year also selects its quarters) / payers; None = all.
    percentile_flag : float
        Quantile of peers' rates at or above which the percentile screen flags.
    shrinkage : {"mle", "moments"}
        How the beta prior is fitted.
    min_volume : int
        Fewest CT/MR encounters (services on the services basis) a practice needs to be
        judged; below it the practice is "too few to judge" and flagged by no tier
        (default :data:`MIN_VOLUME`).
    funnel_method : {"rate", "arcsine"}
        Scale of the overdispersion estimate and the adjusted limits: the rate scale
        (default) or FunnelPlotR's arcsine scale for proportions
        (:func:`analysis.rate_stats.overdispersion`).
    overdispersion_trim : {"winsorise", "truncate"}
        How the most extreme tenth of z-scores at each end enters phi: capped
        (Winsorised, default, as FunnelPlotR does for proportions) or left out (the
        truncation of NHS Digital's SHMI, FunnelPlotR's ``sr_method = "SHMI"``).
    """

    threshold: float = LCD_BENCHMARK
    basis: Literal["encounters", "services"] = "encounters"
    exempt_oncology: bool = True
    alpha: float = ALPHA
    ci: Literal["clopper-pearson", "wilson"] = "clopper-pearson"
    ci_level: float = 0.95
    periods: tuple[str, ...] | None = None
    payers: tuple[str, ...] | None = None
    percentile_flag: float = 0.90
    shrinkage: Literal["mle", "moments"] = "mle"
    min_volume: int = MIN_VOLUME
    funnel_method: Literal["rate", "arcsine"] = "rate"
    overdispersion_trim: Literal["winsorise", "truncate"] = "winsorise"

    def __post_init__(self) -> None:
        if (isinstance(self.min_volume, bool) or not isinstance(self.min_volume, int | np.integer)
                or self.min_volume < 0):
            raise InputError("min_volume must be a whole number >= 0", column="min_volume",
                             value=self.min_volume)
        for name in ("threshold", "alpha", "ci_level", "percentile_flag"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 < float(value) < 1.0:
                raise InputError(
                    f"{name} must be a number strictly between 0 and 1", column=name, value=value
                )
        choices = {
            "basis": ("encounters", "services"),
            "ci": ("clopper-pearson", "wilson"),
            "shrinkage": ("mle", "moments"),
            "funnel_method": ("rate", "arcsine"),
            "overdispersion_trim": TRIMS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise InputError(
                    f"{name} must be one of {', '.join(allowed)}",
                    column=name,
                    value=getattr(self, name),
                )
        for name in ("periods", "payers"):
            value = getattr(self, name)
            if value is not None:
                if isinstance(value, str):
                    value = (value,)
                object.__setattr__(self, name, tuple(str(v) for v in value))
        object.__setattr__(self, "exempt_oncology", bool(self.exempt_oncology))

    @property
    def oncology_exemption_applied(self) -> bool:
        """The exemption applies on the encounter basis only (units carry no diagnosis)."""
        return self.exempt_oncology and self.basis == "encounters"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("periods", "payers"):
            out[name] = None if out[name] is None else list(out[name])
        out["oncology_exemption_applied"] = self.oncology_exemption_applied
        return out


# ----------------------------------------------------------------------- result


@dataclass(frozen=True)
class ScreenResult:
    """What :func:`screen` returns.

    Attributes
    ----------
    table : DataFrame
        One row per practice (columns documented in :func:`screen`).
    agreement : DataFrame
        One row per combination of ``flag_exact``, ``flag_percentile``,
        ``flag_shrinkage`` among practices screened: ``n_practices``, ``practice_ids``
        (comma separated) and ``agree`` (all three the same).
    trend : DataFrame
        One row per practice × period: ``practice_id, period, n_ct_mr, n_3d, unit,
        rate, ci_low, ci_high, p_value`` (per period, not multiplicity-adjusted),
        ``funnel_hi95, funnel_hi998, above_exact_998``.
    settings : ScreenSettings
    definitions : str
        Every definition used, as text.
    overdispersion : Overdispersion
    prior : BetaPrior
    """

    table: pd.DataFrame
    agreement: pd.DataFrame
    trend: pd.DataFrame
    settings: ScreenSettings
    definitions: str
    overdispersion: Overdispersion
    prior: BetaPrior
    lcd_status: str = field(default=LCD_STATUS)

    @property
    def n_screened(self) -> int:
        return int(self.table["screened"].sum())

    @property
    def not_estimable(self) -> list[str]:
        """One sentence for each part of the screen the data cannot support.

        Practices not screened (no CT/MR imaging in the basis, e.g. only orphan 3D
        lines or only oncology encounters), overdispersion and shrinkage that cannot
        be estimated; empty when everything could be.
        """
        out = []
        t = self.table
        unscreened = int((~t["screened"]).sum())
        if unscreened:
            out.append(
                f"{unscreened} of {len(t)} practices not screened: no "
                + _denominator_words(self.settings)
                + " in the claims (only oncology encounters, or 3D lines without a "
                "CT/MR study); their rate is not estimable."
            )
        if not self.overdispersion.estimable:
            out.append(
                "Overdispersion not estimable: "
                f"{self.overdispersion.not_estimable}; only the exact funnel limits apply."
            )
        if not self.prior.estimable:
            out.append(
                f"Shrinkage not estimable: {self.prior.not_estimable}; no shrunken rate, "
                "probability above the benchmark or shrinkage flag is reported."
            )
        return out

    @property
    def n_flagged(self) -> int:
        return int(self.table["flag"].sum())

    @property
    def disagreements(self) -> pd.DataFrame:
        """Practices screened whose exact, percentile and shrinkage flags differ."""
        t = self.table.loc[self.table["screened"]]
        compared = ["flag_exact", "flag_percentile"] + (
            ["flag_shrinkage"] if self.prior.estimable else [])
        return t.loc[
            t[compared].nunique(axis=1) > 1,
            [
                "practice_id",
                "n_ct_mr",
                "n_3d",
                "unit",
                "rate",
                "q_value",
                "prob_above",
                "percentile",
                "flag_exact",
                "flag_percentile",
                "flag_shrinkage",
            ],
        ]

    @property
    def flag_label(self) -> str:
        """What ``flag`` (the leading tier) means for this screen, in words."""
        if self.overdispersion.rejects(self.settings.alpha):
            return "beyond the usual variation (above the 99.8 % limit widened for overdispersion)"
        return f"beyond chance (exact test, BH q < {self.settings.alpha:g})"

    @property
    def tiers(self) -> dict[str, int]:
        """Practices in each tier: screened, above the benchmark, beyond chance, beyond
        the usual variation, too few to judge."""
        t = self.table
        return {"screened": self.n_screened,
                **{c: int(t[c].sum()) for c in ("above_benchmark", "beyond_chance",
                                               "beyond_variation", "too_few")}}

    @property
    def headline(self) -> str:
        """The answer in one sentence, the robust tier first (see :func:`screen`)."""
        s, od, k = self.settings, self.overdispersion, self.tiers
        what = f"3D rendering on more than {s.threshold:.0%} of " + (
            "non-oncology CT/MR encounters" if s.oncology_exemption_applied
            else "CT/MR encounters" if s.basis == "encounters" else "CT/MR services")
        test = f"one-sided exact binomial test, Benjamini–Hochberg q < {s.alpha:g}"
        n = k["screened"]
        if od.rejects(s.alpha):
            text = (f"{k['beyond_variation']} of {n} practices screened bill {what} beyond "
                    "the usual variation between practices (above the 99.8 % funnel limit "
                    f"widened for overdispersion, φ = {od.phi:.1f}); "
                    f"{k['beyond_chance']} of {n} beyond chance alone ({test})")
        else:
            why = ("vary no more than chance would make them" if od.estimable
                   else f"cannot show overdispersion ({od.not_estimable})")
            text = (f"{k['beyond_chance']} of {n} practices screened bill {what} beyond "
                    f"chance ({test}); the practices {why}, so no wider limit applies")
        if k["too_few"]:
            unit = "encounters" if s.basis == "encounters" else "services"
            text += (f"; {k['too_few']} with fewer than {s.min_volume} {unit} are too few "
                     "to judge")
        return text + "."

    @property
    def summary(self) -> pd.DataFrame:
        """Compact per-practice table, most significant first."""
        cols = [
            "practice_id",
            "n_ct_mr",
            "n_3d",
            "unit",
            "rate",
            "ci_low",
            "ci_high",
            "p_value",
            "q_value",
            "flag",
            "status",
            "shrunken_rate",
            "prob_above",
            "percentile",
            "excess_n_3d",
            "excess_usd",
        ]
        return (
            self.table[cols]
            .sort_values(["q_value", "practice_id"], na_position="last")
            .reset_index(drop=True)
        )

    def to_dict(self) -> dict[str, Any]:
        """Headline numbers and settings (JSON-serialisable)."""
        return {
            "n_screened": self.n_screened,
            "n_flagged": self.n_flagged,
            "tiers": self.tiers,
            "flagged": self.table.loc[self.table["flag"], "practice_id"].tolist(),
            "settings": self.settings.to_dict(),
            "overdispersion": self.overdispersion.to_dict(),
            "prior": self.prior.to_dict(),
            "not_estimable": self.not_estimable,
            "lcd_status": self.lcd_status,
        }

    def _repr_html_(self) -> str:
        fmt = {
            "rate": "{:.1%}",
            "ci_low": "{:.1%}",
            "ci_high": "{:.1%}",
            "p_value": "{:.3g}",
            "q_value": "{:.3g}",
            "shrunken_rate": "{:.1%}",
            "prob_above": "{:.3f}",
            "percentile": "{:.0%}",
            "excess_n_3d": "{:,.1f}",
            "excess_usd": "${:,.0f}",
        }
        table = self.summary.to_html(
            index=False,
            na_rep="–",
            formatters={k: _fmt_or_dash(v) for k, v in fmt.items()},
            border=0,
        )
        defs = "".join(
            f"<li>{html.escape(line)}</li>"
            for line in self.definitions.splitlines()
            if line.strip()
        )
        # the funnel plot: every practice's rate against its volume and the limits
        funnel = plots.figure_html(plots.funnel_plot(self)) if self.n_screened else ""
        return (
            "<div class='rad3d-lcd-screen'>"
            f"<p><strong>{html.escape(self.headline)}</strong></p>"
            f"<p><em>LCD status:</em> {html.escape(self.lcd_status)}</p>"
            + "".join(f"<p>{html.escape(x)}</p>" for x in self.not_estimable)
            + f"{funnel}{table}"
            f"<details open><summary>Definitions</summary><ul>{defs}</ul></details>"
            "</div>"
        )


# ------------------------------------------------------------------------ screen

_KEYS = ("practice_id", "period", "payer")
_COUNTS = {
    ("encounters", True): ("n_nononc_encounters", "n_nononc_encounters_3d"),
    ("encounters", False): ("n_encounters", "n_encounters_3d"),
}
_DOLLARS = ("allowed_3d_76376_usd", "allowed_3d_76377_usd")


def _select(frame: pd.DataFrame, settings: ScreenSettings, *, name: str) -> pd.DataFrame:
    missing = [c for c in _KEYS if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {name} has no column {missing[0]!r}; pass a frame from "
            "analysis.summary.summarize",
            column=missing[0],
        )
    out = frame.assign(
        period=frame["period"].astype(str),
        payer=frame["payer"].astype(str),
        practice_id=frame["practice_id"].astype(str),
    )
    if settings.payers is not None:
        unknown = sorted(set(settings.payers) - set(out["payer"]))
        if unknown:
            raise InputError(
                f"payer not in the {name}; available: {', '.join(sorted(set(out['payer'])))}",
                column="payer",
                value=unknown[0],
            )
        out = out.loc[out["payer"].isin(settings.payers)]
    if settings.periods is not None:
        keep = np.zeros(len(out), dtype=bool)
        for p in settings.periods:
            hit = (out["period"] == p) | out["period"].str.startswith(p + "Q")
            if not hit.any():
                raise InputError(
                    f"period not in the {name}; available: {', '.join(sorted(set(out['period'])))}",
                    column="period",
                    value=p,
                )
            keep |= hit.to_numpy()
        out = out.loc[keep]
    return out


def _counts(frame: pd.DataFrame, settings: ScreenSettings, *, name: str) -> pd.DataFrame:
    """Add ``n_ct_mr`` and ``n_3d`` for the basis; check the columns they come from."""
    if settings.basis == "services":
        needed = ("ct_mr_units", "units_3d_76376", "units_3d_76377")
    else:
        needed = _COUNTS[("encounters", settings.oncology_exemption_applied)]
    for col in needed:
        if col not in frame.columns:
            raise InputError(
                f"the {name} has no column {col!r}, needed on the {settings.basis} basis",
                column=col,
            )
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            raise _count_error(
                frame, first_bad_row(bad), col,
                f"counts must be non-negative numbers (in the {name})",
            )
    if settings.basis == "services":
        # Service counts can be fractional (the Medicare PUF's Tot_Srvcs): they are
        # summed as they are and rounded once, per practice (or practice and period),
        # where the exact test needs whole counts (_whole).
        n = frame["ct_mr_units"].astype(float)
        x = frame["units_3d_76376"].astype(float) + frame["units_3d_76377"].astype(float)
    else:
        n_col, x_col = needed
        n, x = frame[n_col].astype(float), frame[x_col].astype(float)
        fractional = (n != n.round()) | (x != x.round())
        if fractional.any():
            row = first_bad_row(fractional)
            col = n_col if n.iloc[row] != round(n.iloc[row]) else x_col
            raise _count_error(
                frame, row, col, f"encounter counts must be whole numbers (in the {name})"
            )
        over = x > n
        if over.any():
            raise _count_error(
                frame, first_bad_row(over), x_col,
                f"encounters with 3D exceed encounters (in the {name})",
            )
    return frame.assign(n_ct_mr=n, n_3d=x)


def _whole(values: np.ndarray) -> np.ndarray:
    """Counts summed per practice (or practice and period), rounded once, half to even:
    fractional service counts are rounded after they are added, not row by row."""
    return np.round(np.asarray(values, dtype=float))


_MEDICARE_PRICED = tuple(f"rev_medicare_usd_{g}" for g in ("onc", "ind", "oth"))


def _priced_dollars(rows: pd.DataFrame, practices: pd.Series, assumptions
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Dollars of each practice's 3D lines, priced as the revenue model prices them, and
    how: the observed allowed amount where a line has one, else the fee schedule times the
    payer's multiplier (:class:`analysis.impact.ImpactAssumptions`); NaN with the reason
    where neither exists (never $0 for "unknown")."""
    n = len(practices)
    if not all(c in rows.columns for c in _DOLLARS):
        return np.full(n, np.nan), np.full(n, "unknown: no dollar columns in the summary",
                                            dtype=object)
    observed = rows[list(_DOLLARS)].sum(axis=1).astype(float)
    fee = pd.Series(0.0, index=rows.index)
    if all(c in rows.columns for c in _MEDICARE_PRICED):
        from analysis.impact import ImpactAssumptions
        from analysis.revenue_engine import PAYER_CLASSES

        a = ImpactAssumptions() if assumptions is None else assumptions
        mult = np.array([getattr(a, f"{c}_multiplier") for c in PAYER_CLASSES])
        fee = rows[list(_MEDICARE_PRICED)].sum(axis=1).astype(float) * mult[
            a.payer_class(rows["payer"])]
    lines = rows["n_3d_lines"] if "n_3d_lines" in rows.columns else pd.Series(0, rows.index)
    unpriced = (rows["n_unpriced_3d_lines"] if "n_unpriced_3d_lines" in rows.columns
                else pd.Series(0, rows.index))
    no_price = (rows["n_no_price_3d_lines"] if "n_no_price_3d_lines" in rows.columns
                else pd.Series(0, rows.index))
    by = pd.DataFrame({"practice_id": rows["practice_id"], "observed": observed, "fee": fee,
                       "lines": lines, "unpriced": unpriced, "no_price": no_price}
                      ).groupby("practice_id").sum().reindex(practices.astype(str))
    has_columns = {"n_3d_lines", "n_unpriced_3d_lines"} <= set(rows.columns)
    all_unknown = (by["lines"] > 0) & (by["no_price"] >= by["lines"]) if has_columns else (
        by["observed"] == 0)
    dollars = (by["observed"] + by["fee"]).to_numpy(float, copy=True)
    dollars[all_unknown.to_numpy(bool)] = np.nan
    how = np.select(
        [all_unknown.to_numpy(bool), (by["unpriced"] == 0).to_numpy(bool),
         (by["unpriced"] >= by["lines"]).to_numpy(bool)],
        ["unknown: no allowed amount and no fee-schedule price", "observed allowed amounts",
         "fee schedule x payer multiplier (no allowed amounts)"],
        default="observed, and fee schedule x payer multiplier where missing")
    if not has_columns:
        how = np.where(all_unknown.to_numpy(bool), how, "observed allowed amounts")
    return dollars, how.astype(object)


def _count_error(frame: pd.DataFrame, row: int, column: str, message: str) -> InputError:
    """The error for the count in 0-based ``row`` of ``column`` (reported 1-based)."""
    return InputError(message, row=row + 1, column=column, value=frame[column].iloc[row])


def _per_practice_stats(n: np.ndarray, x: np.ndarray, s: ScreenSettings) -> dict:
    """Rate, interval, exact p-value and funnel limits, vectorised (x clipped to n)."""
    t = s.threshold
    xe = np.minimum(x, n)
    screened = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(screened, x / n, np.nan)
        z = np.where(screened, (rate - t) / np.sqrt(t * (1 - t) / n), np.nan)
    lo, hi = binomial_ci(xe, n, method=s.ci, level=s.ci_level)
    p = np.where(screened, stats.binom.sf(xe - 1, n, t), np.nan)
    out = {"rate": rate, "ci_low": lo, "ci_high": hi, "p_value": p, "funnel_z": z}
    for tag, level in _FUNNEL_LEVELS.items():
        flo, fhi = funnel_limits(n, t, level)
        out[f"funnel_lo{tag}"], out[f"funnel_hi{tag}"] = flo, fhi
        out[f"above_exact_{tag}"] = screened & (rate > fhi)
    return out


def _definitions(s: ScreenSettings, od: Overdispersion, prior: BetaPrior) -> str:
    t = f"{s.threshold:.0%}"
    if s.basis == "services":
        basis = (
            "Services basis (unit: services): n_ct_mr = CT/MR units, n_3d = 3D units "
            "(76376 + 76377); units "
            "carry no diagnosis, so oncology is not exempt on this basis"
            + (" (exemption requested but not applicable)" if s.exempt_oncology else "")
            + "; binomial statistics are an approximation for units."
        )
    elif s.exempt_oncology:
        basis = (
            "Encounter basis (unit: encounters), oncology exempt: n_ct_mr = non-oncology "
            "CT/MR encounters (practice, patient, date), n_3d = those with >= 1 linked 3D "
            "line "
            "(76376/76377); oncology = any ICD-10-CM diagnosis in the cancer set."
        )
    else:
        basis = (
            "Encounter basis (unit: encounters), all encounters: n_ct_mr = CT/MR "
            "encounters, n_3d = encounters with >= 1 linked 3D line (76376/76377)."
        )
    ci = "Clopper–Pearson (exact)" if s.ci == "clopper-pearson" else "Wilson score"
    lines = [
        f"Benchmark: {t} of a practice's CT and MR imaging with 3D rendering, from "
        "Novitas LCD L35408 (effective 2015-10-01, retired 2023-09-28); a benchmark from "
        "a retired LCD, not an active rule.",
        basis,
        "Periods: "
        + ("all in the summary" if s.periods is None else ", ".join(s.periods))
        + "; payers: "
        + ("all" if s.payers is None else ", ".join(s.payers))
        + ".",
        f"Rate = n_3d / n_ct_mr. Interval: two-sided {s.ci_level:.0%} {ci}.",
        f"Exact test: one-sided binomial, H0 p <= {s.threshold:g}; p_value = "
        f"P(X >= n_3d | n_ct_mr, {s.threshold:g}).",
        f"Multiplicity: Benjamini–Hochberg q-values across practices screened; beyond "
        f"chance when q < {s.alpha:g}.",
        "Tiers: above the benchmark (rate > threshold); beyond chance (q < alpha); beyond "
        "the usual variation (above the 99.8 % funnel limit widened by tau2) when the "
        "chi-square test of phi shows the practices vary beyond chance, otherwise the "
        "same as beyond chance. The flag is the last tier (Spiegelhalter 2005; "
        f"FunnelPlotR). Practices with fewer than {s.min_volume} CT/MR {s.basis} are "
        "too few to judge: no tier flags them.",
        "Funnel limits: exact Binomial(n_ct_mr, threshold) quantiles at 95 % and 99.8 % "
        "with Spiegelhalter's (2005) interpolation; funnel_z = (rate - threshold) / "
        "sqrt(threshold (1 - threshold) / n_ct_mr).",
        _overdispersion_text(od),
        _shrinkage_text(prior, s),
        f"Peer percentile: share of practices screened with a rate <= the practice's; "
        f"percentile flag when the rate is at or above the {s.percentile_flag:.0%} "
        "quantile of peers (PEPPER-style; practices tied at the cut are flagged).",
        f"Excess: excess_n_3d = max(0, n_3d - {s.threshold:g} n_ct_mr); excess_usd = "
        "excess_n_3d times "
        "the 3D dollars per "
        + ("3D unit" if s.basis == "services" else "encounter with 3D (all encounters)")
        + ": the observed allowed amount, else the fee schedule times the payer's "
        "multiplier; unknown (not $0) where a practice's 3D lines have neither.",
        "Practices with n_ct_mr = 0 are reported but not screened (no p-value, no flag).",
    ]
    return "\n".join(lines)


def _denominator_words(s: ScreenSettings) -> str:
    if s.basis == "services":
        return "CT/MR units"
    return ("non-oncology CT/MR encounter" if s.oncology_exemption_applied
            else "CT/MR encounter")


def _overdispersion_text(od: Overdispersion) -> str:
    if not od.estimable:
        return (f"Overdispersion (Spiegelhalter 2005b): not estimable: {od.not_estimable}; "
                "only the exact limits apply.")
    trimmed = ("Winsorised (10 %)" if od.trim == "winsorise" else
               f"truncated (10 % each end left out, SHMI; {od.n_practices_used} of "
               f"{od.n_practices} practices)")
    return (f"Overdispersion (Spiegelhalter 2005b) around the pooled rate "
            f"{od.pooled_rate:.4f}: {trimmed} phi = {od.phi:.3f} (applied as "
            f"max(phi, 1) = {od.phi_used:.3f}), DerSimonian–Laird tau2 = {od.tau2:.3g}; "
            "adjusted limits are shown beside the exact limits, never replacing them.")


def _shrinkage_text(prior: BetaPrior, s: ScreenSettings) -> str:
    if not prior.estimable:
        return (f"Shrinkage (empirical-Bayes beta-binomial): not estimable: "
                f"{prior.not_estimable}; no shrunken rate, probability above the "
                "benchmark or shrinkage flag is reported.")
    return (f"Shrinkage: empirical-Bayes beta-binomial, prior Beta({prior.a:.3g}, "
            f"{prior.b:.3g}) fitted by {prior.method}; shrunken rate = posterior mean; "
            f"prob_above = P(p > {s.threshold:g} | data); shrinkage flag when prob_above > "
            f"{_SHRINK_PROB:g}.")


def _trend(frame: pd.DataFrame, s: ScreenSettings) -> pd.DataFrame:
    by = (
        frame.groupby(["practice_id", "period"], as_index=False, observed=True)[
            ["n_ct_mr", "n_3d"]]
        .sum()
        .sort_values(["practice_id", "period"])
        .reset_index(drop=True)
    )
    n, x = _whole(by["n_ct_mr"]), _whole(by["n_3d"])
    st = _per_practice_stats(n, x, s)
    return by.assign(
        n_ct_mr=_maybe_int(n),
        n_3d=_maybe_int(x),
        unit=s.basis,
        rate=st["rate"],
        ci_low=st["ci_low"],
        ci_high=st["ci_high"],
        p_value=st["p_value"],
        funnel_hi95=st["funnel_hi95"],
        funnel_hi998=st["funnel_hi998"],
        above_exact_998=st["above_exact_998"],
    )


def _agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Cross-tab of the three flags over practices screened, all 8 combinations."""
    flags = ("flag_exact", "flag_percentile", "flag_shrinkage")
    t = table.loc[table["screened"]]
    ids = t["practice_id"].to_numpy()
    values = t[list(flags)].to_numpy(bool)
    rows = []
    for combo in itertools.product((False, True), repeat=3):
        hit = (values == np.array(combo)).all(axis=1)
        rows.append(
            dict(zip(flags, combo, strict=True))
            | {
                "n_practices": int(hit.sum()),
                "practice_ids": ", ".join(sorted(ids[hit])),
                "agree": len(set(combo)) == 1,
            }
        )
    return pd.DataFrame(rows).astype({"n_practices": "int64", "practice_ids": "string"})


def screen(
    summary: pd.DataFrame,
    settings: ScreenSettings | None = None,
    *,
    quarterly: pd.DataFrame | None = None,
    assumptions=None,
    **options: Any,
) -> ScreenResult:
    """Screen each practice's 3D rendering rate against the LCD L35408 benchmark.

    Parameters
    ----------
    summary : DataFrame
        Practice × period × payer summary (``analysis.summary.summarize``); rows are
        filtered by ``periods``/``payers`` and summed per practice.
    settings : ScreenSettings, optional
        The options; default ``ScreenSettings()``.
    quarterly : DataFrame, optional
        A quarterly summary for the trend; default: the periods present in ``summary``.
    assumptions : analysis.impact.ImpactAssumptions, optional
        The payer multipliers that price 3D lines without an observed allowed amount in
        the excess dollars (default: the bundled assumptions).
    **options
        Fields of :class:`ScreenSettings` (``threshold``, ``basis``,
        ``exempt_oncology``, ``alpha``, ``ci``, ``ci_level``, ``periods``, ``payers``,
        ``percentile_flag``, ``shrinkage``), replacing those of ``settings``:
        ``screen(summary, threshold=0.25)``.

    Returns
    -------
    ScreenResult
        ``table`` has one row per practice: ``practice_id, screened, n_ct_mr`` (CT/MR
        imaging), ``n_3d`` (of it, with 3D rendering), ``unit`` (what both count:
        ``"encounters"`` or ``"services"``, the basis), ``rate, ci_low, ci_high,
        p_value, q_value, flag`` (= ``flag_exact``), ``n_encounters, n_encounters_3d,
        n_onc_encounters, n_onc_encounters_3d`` (when in the summary),
        ``expected_n_3d`` (threshold × n_ct_mr), ``funnel_z, funnel_lo95, funnel_hi95,
        funnel_lo998, funnel_hi998, above_exact_95, above_exact_998``, multiplicative
        (``phi_hi95, phi_hi998, above_phi_95, above_phi_998``) and additive
        (``tau_hi95, tau_hi998, above_tau_95, above_tau_998``) overdispersion-adjusted
        upper limits, ``shrunken_rate, prob_above, flag_shrinkage, percentile,
        flag_percentile, excess_n_3d, usd_per_3d, excess_usd``. The definitions are in the
        module docstring and in ``result.definitions``.

    Raises
    ------
    InputError
        Bad option, missing column, negative or inconsistent counts, unknown payer or
        period.
    TypeError
        A keyword that is not a field of :class:`ScreenSettings`.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"practice_id": ["A", "B"], "period": "2024", "payer": "X",
    ...                   "n_nononc_encounters": [100, 100],
    ...                   "n_nononc_encounters_3d": [35, 10]})
    >>> r = screen(s)
    >>> r.table[["practice_id", "n_ct_mr", "n_3d", "beyond_chance"]].to_dict("list")
    {'practice_id': ['A', 'B'], 'n_ct_mr': [100, 100], 'n_3d': [35, 10], \
'beyond_chance': [True, False]}
    >>> r.table["status"].tolist()  # two practices this far apart vary beyond chance
    ['beyond chance only', 'at or below the benchmark']
    >>> r.table["unit"].unique().tolist()
    ['encounters']
    """
    s = _settings(settings, options)
    rows = _counts(_select(summary, s, name="summary"), s, name="summary")
    if rows.empty:
        raise InputError("the summary has no rows for the periods and payers selected")
    numeric = [c for c in rows.columns if c not in _KEYS and pd.api.types.is_numeric_dtype(rows[c])]
    per = (
        rows.groupby("practice_id", as_index=False, observed=True)[numeric]
        .sum()
        .sort_values("practice_id")
        .reset_index(drop=True)
    )
    n = _whole(per["n_ct_mr"])
    x = _whole(per["n_3d"])
    screened = n > 0
    st = _per_practice_stats(n, x, s)
    q = bh_qvalues(st["p_value"])
    too_few = screened & (n < s.min_volume)
    flag_exact = screened & ~too_few & (q < s.alpha)

    od = overdispersion(x, n, method=s.funnel_method, trim=s.overdispersion_trim)
    t = s.threshold
    adjusted = {}
    for tag, level in _FUNNEL_LEVELS.items():
        phi_hi = np.where(screened, od.upper(n, t, level, method="phi"), np.nan)
        tau_hi = np.where(screened, od.upper(n, t, level, method="tau2"), np.nan)
        adjusted |= {
            f"phi_hi{tag}": phi_hi,
            f"above_phi_{tag}": screened & (st["rate"] > phi_hi),
            f"tau_hi{tag}": tau_hi,
            f"above_tau_{tag}": screened & (st["rate"] > tau_hi),
        }

    prior = fit_beta_prior(x, n, method=s.shrinkage)
    shrunk, prob_above = np.full(n.shape, np.nan), np.full(n.shape, np.nan)
    if prior.estimable:
        xe = np.minimum(x, n)
        post_a, post_b = prior.a + xe, prior.b + n - xe
        shrunk = np.where(screened, post_a / (post_a + post_b), np.nan)
        prob_above = np.where(screened, stats.beta.sf(t, post_a, post_b), np.nan)

    rates = st["rate"][screened]
    percentile = np.full(n.shape, np.nan)
    flag_pct = np.zeros(n.shape, dtype=bool)
    if rates.size:
        sorted_rates = np.sort(rates)
        percentile[screened] = np.searchsorted(sorted_rates, rates, side="right") / rates.size
        cut = float(np.quantile(rates, s.percentile_flag))
        flag_pct = screened & ~too_few & (st["rate"] >= cut)  # ties at the cut flag

    if s.basis == "services":
        per_3d_den = (per["units_3d_76376"] + per["units_3d_76377"]).to_numpy(float)
    else:
        per_3d_den = (
            per["n_encounters_3d"].to_numpy(float) if "n_encounters_3d" in per.columns else x
        )
    dollars, priced_by = _priced_dollars(rows, per["practice_id"], assumptions)
    with np.errstate(invalid="ignore", divide="ignore"):
        usd_per_3d = np.where(per_3d_den > 0, dollars / per_3d_den, np.nan)
    excess = np.where(screened, np.maximum(0.0, x - t * n), 0.0)
    # no excess: $0; an excess whose dollars are unknown: NaN, never $0
    excess_usd = np.where(excess > 0, excess * usd_per_3d, 0.0)

    # the tiers: above the benchmark, beyond chance, beyond the usual variation
    above = screened & (st["rate"] > t)
    overdispersed = od.rejects(s.alpha)
    beyond_variation = (screened & ~too_few & adjusted["above_tau_998"] if overdispersed
                        else flag_exact)
    status = np.select(
        [~screened, too_few, beyond_variation, flag_exact, above],
        ["not screened", "too few to judge", "beyond the usual variation",
         "beyond chance only", "above the benchmark within chance"],
        default="at or below the benchmark")

    extra = [
        c
        for c in ("n_encounters", "n_encounters_3d", "n_onc_encounters", "n_onc_encounters_3d")
        if c in per.columns
    ]
    table = (
        pd.DataFrame(
            {
                "practice_id": per["practice_id"].astype(str),
                "screened": screened,
                "n_ct_mr": _maybe_int(n),
                "n_3d": _maybe_int(x),
                "unit": s.basis,
                "rate": st["rate"],
                "ci_low": st["ci_low"],
                "ci_high": st["ci_high"],
                "p_value": st["p_value"],
                "q_value": q,
                "flag": beyond_variation,
                "status": status,
            }
        )
        .join(per[extra])
        .assign(
            expected_n_3d=np.where(screened, t * n, np.nan),
            funnel_z=st["funnel_z"],
            **{
                k: st[k]
                for k in (
                    "funnel_lo95",
                    "funnel_hi95",
                    "funnel_lo998",
                    "funnel_hi998",
                    "above_exact_95",
                    "above_exact_998",
                )
            },
            **adjusted,
            too_few=too_few,
            above_benchmark=above,
            beyond_chance=flag_exact,
            beyond_variation=beyond_variation,
            shrunken_rate=shrunk,
            prob_above=prob_above,
            flag_exact=flag_exact,
            flag_shrinkage=screened & ~too_few & (prob_above > _SHRINK_PROB),
            percentile=percentile,
            flag_percentile=flag_pct,
            excess_n_3d=excess,
            usd_per_3d=usd_per_3d,
            excess_usd=excess_usd,
            excess_usd_priced_by=priced_by,
        )
    )
    if quarterly is not None:
        trend_rows = _counts(
            _select(quarterly, s, name="quarterly summary"), s, name="quarterly summary"
        )
    else:
        trend_rows = rows
    return ScreenResult(
        table=table,
        agreement=_agreement(table),
        trend=_trend(trend_rows, s),
        settings=s,
        definitions=_definitions(s, od, prior),
        overdispersion=od,
        prior=prior,
    )


_SETTING_NAMES = tuple(f.name for f in dataclasses.fields(ScreenSettings))


def _settings(settings: ScreenSettings | None, options: dict[str, Any]) -> ScreenSettings:
    """``settings`` (default ``ScreenSettings()``) with ``options`` replacing its fields."""
    unknown = [k for k in options if k not in _SETTING_NAMES]
    if unknown:
        raise TypeError(
            f"screen() got an unknown option {unknown[0]!r}; the options are the fields "
            f"of ScreenSettings: {', '.join(_SETTING_NAMES)}"
        )
    if settings is None:
        return ScreenSettings(**options)
    return dataclasses.replace(settings, **options) if options else settings


def _fmt_or_dash(spec: str):
    """A formatter for ``DataFrame.to_html`` that shows missing values as a dash."""
    return lambda v: "–" if pd.isna(v) else spec.format(v)


def _maybe_int(values: np.ndarray) -> np.ndarray:
    """Counts as int64 when they are whole numbers (they always are from a summary)."""
    return values.astype("int64") if np.all(values == np.round(values)) else values
