"""Measured response: how much 3D rendering practices stopped for the policy payer.

The revenue model assumes a behavioural response (the share of unpaid 3D work that
practices stop, ``stop_share`` of ``data/reference/impact_assumptions.csv``). Where the
claims span the policy's effective date it can be measured instead: :func:`estimate_response`
compares the policy payer's 3D rate before and after the date with that of a control
payer, whose patients the policy does not touch (difference in differences), and
reports the comparison quarter by quarter (event study).

Definitions (also returned as text in :attr:`ResponseResult.definitions`)
-------------------------------------------------------------------------
- **Cells**: the rows of the additive summary (:func:`analysis.summary.summarize` with
  ``period="quarter"``) for the policy payer and one control payer: practice ``i`` x
  payer ``p`` x calendar quarter ``t``. Outcome: the encounter-basis 3D rate
  ``y = n_3d / n``, by default on the LCD basis, non-oncology CT/MR encounters
  (``n_nononc_encounters_3d / n_nononc_encounters``); every encounter is attributed to
  the quarter of its date and its payer. Cells without encounters carry no rate and are
  left out.
- **Periods**: quarters that end before the effective date are *pre*, quarters that
  start on or after it *post*; a quarter containing the date (an effective date that is
  not the first day of a quarter) is left out and named. ``event_quarter`` counts
  quarters from the first post quarter (0); the last pre quarter is the reference.
- **Difference in differences**, the ratio model (default): the Poisson
  pseudo-likelihood of the cell's 3D count with its encounters as exposure,
  ``E[n_3d_ipt] = n_ipt exp(a_ip + l_t + b D_ipt)``, where ``D`` = 1 for the policy
  payer's post cells, ``a_ip`` one fixed effect per practice and payer (it holds the
  practice's fixed effect and the payers' difference in level within it) and ``l_t``
  one per quarter (the trend and seasonality every payer shares). ``exp(b) - 1`` is the
  proportional change in the policy payer's 3D rate after the date beyond the control
  payer's change, so ``stop_share = 1 - exp(b)``, with the interval of ``b``
  transformed. ``r0``, the policy payer's rate after the date had the policy not come,
  is its observed rate over the post cells times ``exp(-b)`` (the fitted counts of the
  post cells sum to the observed ones, the score equation of ``D``), and
  ``rate_change = observed - r0`` (-0.02 = 2 percentage points fewer encounters with
  3D), its interval that of ``b`` through the same function. A practice's payer
  without any 3D rendering in the cells carries no information on a proportion and is
  left out (``n_series_without_3d``). The Poisson pseudo-likelihood is consistent for
  any count or rate whose mean has this form, whatever its distribution (Santos Silva &
  Tenreyro 2006; Wooldridge 2023 for differences in differences).
- **Why a ratio**: practices' 3D rates differ twentyfold (2 % to 40 % of encounters)
  and a practice that stops a share of its renderings lowers its rate in proportion to
  it, as a common trend moves every rate in proportion. In percentage points the same
  stop share is a large change at a high-rendering practice and a small one at a typical
  practice, and a proportional trend is not parallel between payers at different
  levels: the linear model then finds a response where there is none
  (``tests/test_response.py``). On 50 synthetic samples like the bundled one (40
  practices, 2023-2025, mean stop share 0.25) both models estimate the stop share
  without bias (mean 0.26 against other commercial insurers, sd 0.06); the ratio
  model's 95 % interval covers 0.25 in 47 of 50 samples with a mean width of 0.23, the
  linear model's in 49 of 50 with a width of 0.31. With no response the ratio model's
  intervals cover 0 in 50 of 50 (Medicare as control: 47 of 50).
- **The linear model** (``model="linear"``): weighted least squares of the rate
  (weights ``n``, which equals the linear probability model fitted to the encounters
  themselves), ``y_ipt = a_ip + l_t + b D_ipt + e_ipt``; ``rate_change = b``,
  ``r0`` = mean fitted value of the policy payer's post cells (weights ``n``) minus
  ``b`` (a linear function of the coefficients, because the weighted residuals of the
  post cells average to 0 with ``D`` among the regressors), ``stop_share = -b / r0``
  with a delta-method interval on the coefficients' clustered covariance.
- **Standard errors** clustered by practice (statsmodels ``cov_type="cluster"``: the
  sandwich over practices with the small-sample factor ``G/(G-1) (N-1)/(N-K)``), so
  that a practice's cells may be correlated in any way over quarters and payers and
  practices may respond differently; intervals and tests use Student's t with ``G - 1``
  degrees of freedom (``G`` practices). The interval therefore covers the response of
  practices like these, not only of the practices observed: it estimates the share of
  the renderings the policy payer's patients would have had that practices no longer
  perform, weighted by each practice's renderings.
- **Event study**: the same model with ``sum_k d_k [p = policy][t = k]`` over every
  quarter ``k`` but the reference in place of ``b D``; ``d_k`` compares the policy
  payer's rate in quarter ``k`` with its rate in the reference quarter, beyond the
  control's same comparison (``estimate = exp(d_k) - 1``, a proportion, in the ratio
  model; ``d_k``, in rate units, in the linear one). **Pre-trend test**: that every
  pre-period ``d_k`` is 0, by the cluster-robust score (Lagrange multiplier) test: the
  model is fitted without the pre-period effects and the practices' scores for them
  are tested (Wooldridge 2010, 12.6.2), ``pretrend_f = LM / q`` against F(q, G - 1)
  for ``q`` pre-period effects. It needs two pre quarters or more. The Wald test of the
  same hypothesis over-rejects badly when a few practices carry most renderings (see
  ``_pretrend_test``).
- **Controls**: each control payer in turn (default: other commercial insurers, then
  Medicare as a second control); the first is the headline.
- **Diagnostics** (stated with the estimate, which is withheld where it cannot be
  trusted at all): no control payer or no policy payer encounters, no quarter before
  or after the date, or fewer than two practices with the policy payer before and after
  it -> withheld; fewer than ``min_post_quarters`` post quarters, a single pre quarter
  (no pre-trend test), fewer than ``min_practices`` practices, or pre-trends rejected
  at ``alpha`` -> shown with the warning (``on_pretrend="withhold"`` withholds it).

References
----------
Angrist JD, Pischke J-S (2009). Mostly Harmless Econometrics, ch. 5 (differences in
differences) and 8.2 (clustered standard errors). Princeton University Press.
Cameron AC, Miller DL (2015). A practitioner's guide to cluster-robust inference.
J Hum Resour 50(2):317-372.
Freyaldenhoven S, Hansen C, Perez JP, Shapiro JM (2021). Visualization, identification,
and estimation in the linear panel event-study design. NBER Working Paper 29170.
Santos Silva JMC, Tenreyro S (2006). The log of gravity. Rev Econ Stat 88(4):641-658.
Wooldridge JM (2010). Econometric Analysis of Cross Section and Panel Data, 2nd ed.,
section 12.6.2 (robust score tests). MIT Press.
Wooldridge JM (2023). Simple approaches to nonlinear difference-in-differences with
panel data. Econom J 26(3):C31-C66.

Examples
--------
>>> import numpy as np
>>> from analysis import summarize, synth
>>> from analysis.synth.years import PolicyResponse
>>> syn = synth.generate_years(12, years=(2024, 2025), rng=np.random.default_rng(3),
...                            scale=0.02, response=PolicyResponse(0.5))
>>> result = estimate_response(summarize(syn.lines, period="quarter"))
>>> result.estimates["control"].tolist()
['OTHER_COMMERCIAL', 'MEDICARE']
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from analysis.defaults import ALPHA, EFFECTIVE_DATE, POLICY_PAYERS
from analysis.errors import InputError
from analysis.policy import as_date

__all__ = ["ResponseResult", "ResponseSettings", "estimate_response"]

_BASES = {
    True: ("n_nononc_encounters", "n_nononc_encounters_3d"),
    False: ("n_encounters", "n_encounters_3d"),
}
_KEYS = ("practice_id", "period", "payer")
_QUARTER = r"\d{4}Q[1-4]"


@dataclass(frozen=True)
class ResponseSettings:
    """Options of :func:`estimate_response` (validated; ``to_dict`` for the manifest).

    Parameters
    ----------
    policy_payer : str
        The payer whose policy changed (default BCBSNC).
    effective_date : date or ISO string
        First service date under the policy (default
        :data:`analysis.defaults.EFFECTIVE_DATE`).
    controls : tuple of str
        Control payers, each estimated on its own; the first is the headline.
    exempt_oncology : bool
        Rates of non-oncology encounters (the LCD basis, default) or of all encounters.
    ci_level : float
        Two-sided level of every interval.
    alpha : float
        Level of the pre-trend test.
    min_post_quarters : int
        Fewer post quarters than this are stated as too few (the estimate is shown).
    min_practices : int
        Fewer practices than this are stated as too few for clustered errors.
    on_pretrend : {"warn", "withhold"}
        What rejected pre-trends do to the estimate.
    model : {"ratio", "linear"}
        ``"ratio"`` (default): the policy changes the 3D rate by a proportion, and
        quarters move every payer's rate by a common proportion (Poisson
        pseudo-likelihood); ``"linear"``: by percentage points (weighted least squares).
        See the module docstring for why the ratio model is the default.
    """

    policy_payer: str = POLICY_PAYERS[0]
    effective_date: date = EFFECTIVE_DATE
    controls: tuple[str, ...] = ("OTHER_COMMERCIAL", "MEDICARE")
    exempt_oncology: bool = True
    ci_level: float = 0.95
    alpha: float = ALPHA
    min_post_quarters: int = 2
    min_practices: int = 10
    on_pretrend: Literal["warn", "withhold"] = "warn"
    model: Literal["ratio", "linear"] = "ratio"

    def __post_init__(self) -> None:
        object.__setattr__(self, "effective_date",
                           as_date(self.effective_date, "effective_date"))  # fmt: skip
        controls = (self.controls,) if isinstance(self.controls, str) else self.controls
        controls = tuple(str(c) for c in controls)
        if not controls or self.policy_payer in controls or len(set(controls)) < len(controls):
            raise InputError("must name one or more payers, each once, other than the policy "
                             "payer", column="controls", value=controls)  # fmt: skip
        object.__setattr__(self, "controls", controls)
        for name in ("ci_level", "alpha"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 < value < 1:
                raise InputError("must be strictly between 0 and 1", column=name, value=value)
        for name in ("min_post_quarters", "min_practices"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InputError("must be a whole number >= 1", column=name, value=value)
        for name, allowed in (("on_pretrend", ("warn", "withhold")),
                              ("model", ("ratio", "linear"))):  # fmt: skip
            if getattr(self, name) not in allowed:
                raise InputError(f"must be one of {', '.join(allowed)}", column=name,
                                 value=getattr(self, name))  # fmt: skip
        object.__setattr__(self, "exempt_oncology", bool(self.exempt_oncology))

    @property
    def basis(self) -> str:
        """The encounters the rate counts, in words."""
        return ("non-oncology CT/MR encounters" if self.exempt_oncology
                else "CT/MR encounters")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["effective_date"] = self.effective_date.isoformat()
        out["controls"] = list(self.controls)
        return out


_ESTIMATE_COLUMNS = (
    "control", "control_label", "status", "coef", "coef_se", "p_value", "rate_change",
    "rate_change_se", "rate_change_ci_low", "rate_change_ci_high", "baseline_rate", "stop_share",
    "stop_share_se", "stop_share_ci_low", "stop_share_ci_high", "pretrend_f",
    "pretrend_df_num", "pretrend_df_denom", "pretrend_p_value", "n_practices",
    "n_practices_informative", "n_pre_quarters", "n_post_quarters", "n_cells",
    "n_encounters_policy_pre", "n_encounters_policy_post", "n_series_without_3d", "warnings",
)  # fmt: skip
_EVENT_COLUMNS = (
    "control", "period", "event_quarter", "post", "reference", "coef", "coef_se", "estimate",
    "ci_low", "ci_high", "n_encounters_policy", "rate_policy", "n_encounters_control",
    "rate_control",
)  # fmt: skip
_STATUSES = ("estimated", "estimated with warnings", "withheld")


@dataclass(frozen=True)
class ResponseResult:
    """What :func:`estimate_response` returns.

    Attributes
    ----------
    estimates : DataFrame
        One row per control payer, the headline first: ``control`` and
        ``control_label`` (in words), ``status`` (``"estimated"``, ``"estimated with
        warnings"`` or ``"withheld"``); the model's coefficient ``coef`` (``b``) with
        ``coef_se`` and ``p_value`` (H0: b = 0, t on G - 1 df); ``rate_change`` (rate
        units) with ``rate_change_se``, ``rate_change_ci_low``, ``rate_change_ci_high``;
        ``baseline_rate`` (``r0``, the policy payer's rate after the date without the
        policy); ``stop_share`` with ``stop_share_se``, ``stop_share_ci_low``,
        ``stop_share_ci_high``; the pre-trend test ``pretrend_f``, ``pretrend_df_num``,
        ``pretrend_df_denom``, ``pretrend_p_value``; ``n_practices`` (clusters),
        ``n_practices_informative`` (with the policy payer before and after the date),
        ``n_pre_quarters``, ``n_post_quarters``, ``n_cells``,
        ``n_encounters_policy_pre``, ``n_encounters_policy_post``,
        ``n_series_without_3d`` (left out by the ratio model) and ``warnings``
        (sentences, one a line). Withheld rows carry no estimate, only the counts (and
        the pre-trend test when that is why).
    event_study : DataFrame
        One row per control x quarter: ``control``, ``period``, ``event_quarter``,
        ``post``, ``reference``, ``coef`` (``d_k``; 0 at the reference) and ``coef_se``,
        ``estimate``, ``ci_low``, ``ci_high`` (``exp(d_k) - 1`` and its interval in the
        ratio model, ``d_k`` in the linear one), and the raw ``n_encounters_policy``,
        ``rate_policy``, ``n_encounters_control``, ``rate_control`` of the quarter.
    notes : tuple of str
        What the data made the analysis do (a quarter left out ...), in words.
    settings : ResponseSettings
    definitions : str
        Every definition used, as text.
    """

    estimates: pd.DataFrame
    event_study: pd.DataFrame
    notes: tuple[str, ...]
    settings: ResponseSettings
    definitions: str

    @property
    def headline_row(self) -> pd.Series:
        """The estimate against the first control payer."""
        return self.estimates.iloc[0]

    @property
    def policy_label(self) -> str:
        """The policy payer in words."""
        return _payer_words(self.settings.policy_payer)

    @property
    def withheld(self) -> bool:
        """True when the headline estimate is withheld."""
        return self.headline_row["status"] == "withheld"

    @property
    def stop_share(self) -> float:
        """The headline implied stop share (NaN when withheld)."""
        return float(self.headline_row["stop_share"])

    @property
    def stop_share_ci(self) -> tuple[float, float]:
        """Its ``ci_level`` interval."""
        row = self.headline_row
        return float(row["stop_share_ci_low"]), float(row["stop_share_ci_high"])

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every warning, each naming its control payer."""
        out = []
        for row in self.estimates.itertuples():
            out += [f"{_payer_words(row.control)} as control: {w}"
                    for w in _sentences(row.warnings)]  # fmt: skip
        return tuple(out)

    @property
    def headline(self) -> str:
        """The headline estimate in one or two sentences."""
        s, row = self.settings, self.headline_row
        control = _payer_words(row["control"])
        if row["status"] == "withheld":
            return (f"No response of practices to the {_payer_words(s.policy_payer)} policy "
                    f"can be measured against {control}: {_sentences(row['warnings'])[0]}")
        level = f"{s.ci_level:.0%}"
        change = row["rate_change"]
        text = (
            f"From {s.effective_date.day} {s.effective_date:%B %Y}, 3D rendering of "
            f"{_patients(s.policy_payer)}' {s.basis} {'fell' if change < 0 else 'rose'} by "
            f"{abs(change) * 100:.1f} percentage points beyond the change for "
            f"{_patients(row['control'])} ({level} interval "
            f"{row['rate_change_ci_low'] * 100:+.1f} to {row['rate_change_ci_high'] * 100:+.1f}"
            + (f"): practices stopped an estimated {row['stop_share']:.0%} of these renderings"
               if row["stop_share"] >= 0 else "): no fewer renderings than expected; the "
               f"implied stop share is {row['stop_share']:.0%}")
            + f" ({level} interval {row['stop_share_ci_low']:.0%} to "
            f"{row['stop_share_ci_high']:.0%})."
        )
        if np.isfinite(row["pretrend_p_value"]):
            verdict = ("rejects parallel trends" if row["pretrend_p_value"] < s.alpha
                       else "finds no difference in trends")  # fmt: skip
            text += (f" Before the date, the pre-trend test {verdict} "
                     f"(p = {row['pretrend_p_value']:.2f}).")
        return text

    @property
    def summary(self) -> pd.DataFrame:
        """The estimates in the committee's terms: one row per control payer."""
        cols = ["control_label", "status", "rate_change", "rate_change_ci_low",
                "rate_change_ci_high", "stop_share", "stop_share_ci_low", "stop_share_ci_high",
                "pretrend_p_value", "n_practices", "n_pre_quarters", "n_post_quarters"]  # fmt: skip
        return self.estimates[cols].rename(columns={"control_label": "control"})

    def to_dict(self) -> dict[str, Any]:
        """Headline numbers, warnings and settings (JSON-serialisable)."""

        def number(v):
            return None if pd.isna(v) else (int(v) if isinstance(v, int | np.integer)
                                            else float(v) if isinstance(v, float) else v)

        return {
            "estimates": [{k: number(v) for k, v in row.items()}
                          for row in self.estimates.to_dict("records")],  # fmt: skip
            "event_study": [{k: number(v) for k, v in row.items()}
                            for row in self.event_study.to_dict("records")],  # fmt: skip
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "settings": self.settings.to_dict(),
        }

    def _repr_html_(self) -> str:
        pp = _fmt("{:+.2f} pp", scale=100)
        share = _fmt("{:.1%}")
        fmt = {"rate_change": pp, "rate_change_ci_low": pp, "rate_change_ci_high": pp,
               "stop_share": share, "stop_share_ci_low": share, "stop_share_ci_high": share,
               "pretrend_p_value": _fmt("{:.3g}")}  # fmt: skip
        table = self.summary.to_html(index=False, na_rep="–", formatters=fmt, border=0)
        effect = share if self.settings.model == "ratio" else pp
        events = "".join(
            f"<p>{html.escape(_payer_words(control))} as control</p>"
            + group.drop(columns=["control", "coef", "coef_se"]).to_html(
                index=False, na_rep="–", border=0,
                formatters={"estimate": effect, "ci_low": effect, "ci_high": effect,
                            "rate_policy": share, "rate_control": share})
            for control, group in self.event_study.groupby("control", sort=False))  # fmt: skip
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        defs = "".join(f"<li>{html.escape(line.strip())}</li>"
                       for line in self.definitions.splitlines() if line.strip())  # fmt: skip
        return (
            "<div class='rad3d-response'>"
            f"<p><strong>{html.escape(self.headline)}</strong></p>"
            + (f"<p><em>Warnings</em></p><ul>{warn}</ul>" if warn else "")
            + (f"<p><em>Notes</em></p><ul>{notes}</ul>" if notes else "")
            + table
            + f"<details><summary>Event study, quarter by quarter</summary>{events}</details>"
            f"<details><summary>Definitions</summary><ul>{defs}</ul></details>"
            "</div>"
        )


def _fmt(spec: str, *, scale: float = 1.0):
    return lambda v: "–" if pd.isna(v) else spec.format(v * scale)


def _sentences(text: str) -> list[str]:
    return [s for s in text.split("\n") if s] if isinstance(text, str) else []


def _patients(payer: str) -> str:
    return ("patients of other commercial insurers" if payer == "OTHER_COMMERCIAL"
            else f"{_payer_words(payer)} patients")  # fmt: skip


def _payer_words(payer: str) -> str:
    return {"BCBSNC": "BCBS NC", "OTHER_COMMERCIAL": "other commercial insurers",
            "MEDICARE": "Medicare", "MEDICAID": "Medicaid",
            "SELF_PAY": "self-pay"}.get(payer, payer)  # fmt: skip


# ------------------------------------------------------------------- the panel


def _quarter_bounds(periods: pd.Series) -> tuple[pd.Series, pd.Series]:
    q = pd.PeriodIndex(periods.to_numpy(dtype=str), freq="Q")
    return (pd.Series(q.start_time.date, index=periods.index),
            pd.Series(q.end_time.date, index=periods.index))  # fmt: skip


def _panel(summary: pd.DataFrame, settings: ResponseSettings) -> tuple[pd.DataFrame, list[str]]:
    """The cells of the policy payer and the controls: rate, weight, period, event time."""
    n_col, x_col = _BASES[settings.exempt_oncology]
    missing = [c for c in (*_KEYS, n_col, x_col) if c not in summary.columns]
    if missing:
        raise InputError(f"the summary has no column {missing[0]!r}; pass a frame from "
                         "analysis.summary.summarize(lines, period='quarter')",
                         column=missing[0])  # fmt: skip
    period = summary["period"].astype(str)
    bad = ~period.str.fullmatch(_QUARTER)
    if bad.any():
        raise InputError("the response is measured by quarter; summarize with "
                         "period='quarter'", column="period",
                         value=period[bad].iloc[0])  # fmt: skip
    payers = (settings.policy_payer, *settings.controls)
    cells = (
        summary.assign(period=period, payer=summary["payer"].astype(str),
                       practice_id=summary["practice_id"].astype(str))
        .loc[lambda d: d["payer"].isin(payers)]
        .groupby(list(_KEYS), as_index=False)[[n_col, x_col]].sum()
        .rename(columns={n_col: "n", x_col: "n_3d"})
        .loc[lambda d: d["n"] > 0]
    )
    start, end = _quarter_bounds(cells["period"])
    eff = settings.effective_date
    notes = []
    straddle = sorted(cells.loc[(start < eff) & (end >= eff), "period"].unique())
    if straddle:
        notes.append(f"The quarter {straddle[0]} contains the effective date "
                     f"{eff:%Y-%m-%d} and is left out: its cells mix the two regimes.")
    quarters = pd.PeriodIndex(cells["period"].to_numpy(dtype=str), freq="Q")
    first_post = pd.Period(eff, freq="Q") + (0 if pd.Period(eff, freq="Q").start_time.date()
                                             == eff else 1)  # fmt: skip
    cells = cells.assign(
        rate=cells["n_3d"] / cells["n"],
        post=start >= eff,
        treated=cells["payer"].eq(settings.policy_payer),
        event_quarter=[int((q - first_post).n) for q in quarters],
    )
    return cells.loc[~cells["period"].isin(straddle)].reset_index(drop=True), notes


# -------------------------------------------------------------------- the fits


def _design(cells: pd.DataFrame, effects: list[np.ndarray]) -> np.ndarray:
    """The ``effects`` columns, then practice x payer and quarter dummies (first dropped)."""
    unit = pd.factorize(cells["practice_id"] + "|" + cells["payer"], sort=True)[0]
    quarter = pd.factorize(cells["period"], sort=True)[0]
    rows = np.arange(len(cells))
    units = np.zeros((len(cells), unit.max() + 1))
    units[rows, unit] = 1.0
    quarters = np.zeros((len(cells), quarter.max() + 1))
    quarters[rows, quarter] = 1.0
    return np.column_stack([*effects, units, quarters[:, 1:]])


def _fit(cells: pd.DataFrame, x: np.ndarray, model: str):
    """The model fitted to the cells, errors clustered by practice (t on G - 1 df).

    ``"ratio"``: Poisson pseudo-likelihood of the 3D count with the encounters as
    exposure; ``"linear"``: least squares of the rate, weights the encounters.
    """
    # statsmodels takes most of a second to import; every report process imports this
    # module (through the impact model), few of them fit.
    import statsmodels.api as sm

    groups = pd.factorize(cells["practice_id"])[0]
    n = cells["n"].to_numpy(float)
    # hasconst: the fixed effects hold the constant (and statsmodels need not look for it).
    if model == "ratio":
        fitted = sm.GLM(cells["n_3d"].to_numpy(float), x, family=sm.families.Poisson(),
                        exposure=n, hasconst=True)  # fmt: skip
    else:
        fitted = sm.WLS(cells["rate"].to_numpy(float), x, weights=n, hasconst=True)
    return fitted.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)


def _did(c: pd.DataFrame, s: ResponseSettings, tq: float) -> tuple[dict, list[str]]:
    """The difference in differences, its rate change and stop share with intervals."""
    d = (c["treated"] & c["post"]).to_numpy(bool)
    x = _design(c, [d.astype(float)])
    fit = _fit(c, x, s.model)
    b, se = float(fit.params[0]), float(fit.bse[0])
    lo, hi = (float(v) for v in fit.conf_int(alpha=1 - s.ci_level)[0])
    out = {"coef": b, "coef_se": se, "p_value": float(fit.pvalues[0])}
    if s.model == "ratio":
        # Sum of fitted = sum of observed over the post cells (the score of D), so the
        # rate without the policy is the observed rate / exp(b).
        observed = c.loc[d, "n_3d"].sum() / c.loc[d, "n"].sum()
        r0 = observed * np.exp(-b)
        return out | {
            "baseline_rate": r0, "rate_change": observed - r0,
            "rate_change_se": r0 * se,
            "rate_change_ci_low": observed * (1 - np.exp(-lo)),
            "rate_change_ci_high": observed * (1 - np.exp(-hi)),
            "stop_share": 1 - np.exp(b), "stop_share_se": np.exp(b) * se,
            "stop_share_ci_low": 1 - np.exp(hi), "stop_share_ci_high": 1 - np.exp(lo),
        }, []  # fmt: skip
    # Linear: r0 = (mean fitted value of the post cells, weights n) - b = g'theta,
    # because the WLS residuals of the post cells average to 0 with D a regressor.
    w = c["n"].to_numpy(float) * d
    g = (w @ x) / w.sum()
    g[0] -= 1.0
    r0 = float(g @ fit.params)
    out |= {"baseline_rate": r0, "rate_change": b, "rate_change_se": se,
            "rate_change_ci_low": lo, "rate_change_ci_high": hi}  # fmt: skip
    if not r0 > 0:
        return out, [f"The {_payer_words(s.policy_payer)} rate expected without the policy "
                     "is not above 0, so no stop share can be implied."]
    # stop = -b / r0: d stop / d theta = -e_b / r0 + b g / r0^2 (delta method).
    grad = b * g / r0**2
    grad[0] -= 1.0 / r0
    stop_se = float(np.sqrt(grad @ fit.cov_params() @ grad))
    stop = -b / r0
    return out | {"stop_share": stop, "stop_share_se": stop_se,
                  "stop_share_ci_low": stop - tq * stop_se,
                  "stop_share_ci_high": stop + tq * stop_se}, []  # fmt: skip


def _pretrend_test(c: pd.DataFrame, x: np.ndarray, pre: list[int], model: str) -> dict:
    """Cluster-robust score test that the event-study effects in columns ``pre`` are 0.

    The model is fitted without them (the null imposed); ``s_g`` is practice ``g``'s
    score of the full model there, ``s~_g`` its part for ``pre`` net of the other
    parameters (``s_pre - H_pr H_rr^-1 s_rest``, ``H`` the full model's information),
    and ``LM = (sum s~_g)' (sum s~_g s~_g')^-1 (sum s~_g)``; ``pretrend_f = LM / q`` is
    referred to F(q, G - 1). The Wald test of the unrestricted fit rejects far too
    often when a few large practices carry most renderings: in 50 synthetic samples
    like the bundled one, whose trends are parallel, it rejected at the 5 % level in
    20-24 % of them, this test in 2-4 %. ``LM`` cannot exceed ``G``, so with few
    practices the test has little power: with 12 practices and 3 pre-period effects its
    smallest possible p-value is 0.038 (``scipy.stats.f.sf(12 / 3, 3, 11)``); with 40
    practices and 7, 0.0001.
    """
    rest = [j for j in range(x.shape[1]) if j not in set(pre)]
    theta = np.zeros(x.shape[1])
    theta[rest] = _fit(c, x[:, rest], model).params
    n = c["n"].to_numpy(float)
    if model == "ratio":
        w = n * np.exp(x @ theta)  # the fitted counts
        u = c["n_3d"].to_numpy(float) - w
    else:
        w = n
        u = n * (c["rate"].to_numpy(float) - x @ theta)
    groups = pd.factorize(c["practice_id"])[0]
    scores = np.zeros((groups.max() + 1, x.shape[1]))
    np.add.at(scores, groups, x * u[:, None])
    info = x.T @ (w[:, None] * x)
    net = scores[:, pre] - scores[:, rest] @ np.linalg.solve(
        info[np.ix_(rest, rest)], info[np.ix_(rest, pre)])
    # In units of each score's information (LM does not change), a score below the
    # fit's numerical precision is 0: cells the model fits exactly give LM = 0.
    net = net / np.sqrt(np.diag(info)[pre])
    net[np.abs(net) < 1e-9] = 0.0
    total = net.sum(axis=0)
    lm = float(total @ np.linalg.pinv(net.T @ net) @ total)
    q, g = len(pre), len(scores)
    return {"pretrend_f": lm / q, "pretrend_df_num": q, "pretrend_df_denom": g - 1,
            "pretrend_p_value": float(stats.f.sf(lm / q, q, g - 1))}


def _event_study(c: pd.DataFrame, s: ResponseSettings, ref: str) -> tuple[pd.DataFrame, dict]:
    """One effect per quarter of the policy payer but ``ref``; the pre-trend test."""
    quarters = sorted(c["period"].unique())
    t = c["treated"]
    effects = [q for q in quarters if q != ref and (t & c["period"].eq(q)).any()]
    x = _design(c, [(t & c["period"].eq(q)).to_numpy(float) for q in effects])
    fit = _fit(c, x, s.model)
    ci = fit.conf_int(alpha=1 - s.ci_level)
    scale = (lambda v: np.expm1(v)) if s.model == "ratio" else (lambda v: v)
    coef = {q: (fit.params[i], fit.bse[i], scale(fit.params[i]), scale(ci[i][0]),
                scale(ci[i][1])) for i, q in enumerate(effects)}  # fmt: skip
    coef[ref] = (0.0,) * 5
    pre = [i for i, q in enumerate(effects) if q < ref]
    test = _pretrend_test(c, x, pre, s.model) if pre else {}
    sums = c.groupby(["period", "treated"])[["n", "n_3d"]].sum()

    def raw(treated: bool, column: str) -> np.ndarray:
        if treated not in sums.index.get_level_values("treated"):
            return np.zeros(len(quarters))
        return (sums.xs(treated, level="treated")[column].reindex(quarters)
                .fillna(0).to_numpy())  # fmt: skip

    event = c.drop_duplicates("period").set_index("period")["event_quarter"]
    n_pol, n_ctl = raw(True, "n"), raw(False, "n")
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = raw(True, "n_3d") / n_pol, raw(False, "n_3d") / n_ctl
    nan5 = (np.nan,) * 5
    events = pd.DataFrame({
        "period": quarters,
        "event_quarter": [int(event[q]) for q in quarters],
        "post": [q > ref for q in quarters],
        "reference": [q == ref for q in quarters],
        **{k: [float(coef.get(q, nan5)[i]) for q in quarters]
           for i, k in enumerate(("coef", "coef_se", "estimate", "ci_low", "ci_high"))},
        "n_encounters_policy": n_pol.astype("int64"),
        "rate_policy": np.where(n_pol > 0, rates[0], np.nan),
        "n_encounters_control": n_ctl.astype("int64"),
        "rate_control": np.where(n_ctl > 0, rates[1], np.nan),
    })  # fmt: skip
    return events, test


def _estimate_one(cells: pd.DataFrame, control: str,
                  s: ResponseSettings) -> tuple[dict, pd.DataFrame]:  # fmt: skip
    """The difference in differences and event study against one control payer."""
    eff = f"{s.effective_date:%Y-%m-%d}"
    policy, ctrl = _payer_words(s.policy_payer), _payer_words(control)
    c = cells.loc[cells["payer"].isin([s.policy_payer, control])]
    # A practice's payer with no 3D rendering in any quarter says nothing about a
    # proportional change (its fixed effect would be minus infinity): the ratio model
    # leaves such series out.
    series = c["practice_id"] + "|" + c["payer"]
    empty = (c.groupby(series)["n_3d"].transform("sum") == 0) & (s.model == "ratio")
    c = c.loc[~empty].reset_index(drop=True)
    t, post = c["treated"], c["post"]
    pre_q, post_q = sorted(c.loc[~post, "period"].unique()), sorted(c.loc[post, "period"].unique())
    before = set(c.loc[t & ~post, "practice_id"])
    after = set(c.loc[t & post, "practice_id"])
    counts = {
        "control": control,
        "control_label": _payer_words(control),
        "n_practices": int(c["practice_id"].nunique()),
        "n_practices_informative": len(before & after),
        "n_pre_quarters": len(pre_q),
        "n_post_quarters": len(post_q),
        "n_cells": len(c),
        "n_encounters_policy_pre": int(c.loc[t & ~post, "n"].sum()),
        "n_encounters_policy_post": int(c.loc[t & post, "n"].sum()),
        "n_series_without_3d": int(series[empty].nunique()),
    }
    row: dict[str, Any] = dict.fromkeys(_ESTIMATE_COLUMNS, np.nan) | counts
    both = "with both payers in the claims"
    reason = (
        f"No control payer: {ctrl} have no {s.basis} in the claims, so a change cannot "
        "be told from a trend." if not (~t).any()
        else f"{policy} patients have no {s.basis} in the claims: there is no response to "
        "measure." if not t.any()
        else f"No quarter after the effective date {eff} {both}: there is no response to "
        "measure yet." if not ((t & post).any() and (~t & post).any())
        else f"No quarter before the effective date {eff} {both}: nothing to compare the "
        "change with." if not ((t & ~post).any() and (~t & ~post).any())
        else f"Fewer than 2 practices bill {policy} both before and after {eff}: a change "
        "within practices cannot be measured, nor its error."
        if counts["n_practices_informative"] < 2 else None
    )
    if reason:
        return row | {"status": "withheld", "warnings": reason}, pd.DataFrame(
            columns=list(_EVENT_COLUMNS))
    warnings = []
    if len(post_q) < s.min_post_quarters:
        warnings.append(f"Too few post-period quarters: only {len(post_q)} after {eff} "
                        f"(fewer than {s.min_post_quarters}), so a lasting response cannot be "
                        "told from one quarter's variation.")
    if counts["n_practices"] < s.min_practices:
        warnings.append(f"Only {counts['n_practices']} practices (fewer than "
                        f"{s.min_practices}): standard errors clustered by practice are "
                        "unreliable with so few.")
    tq = float(stats.t.ppf(0.5 + s.ci_level / 2, counts["n_practices"] - 1))
    did, why = _did(c, s, tq)
    warnings += why
    events, test = _event_study(c, s, ref=pre_q[-1])
    row |= did | test
    withhold = False
    if not test:
        warnings.append(f"Only one quarter before {eff}: pre-trends cannot be tested.")
    elif test["pretrend_p_value"] < s.alpha:
        withhold = s.on_pretrend == "withhold"
        warnings.append(
            f"Pre-trends rejected: before {eff} the {policy} 3D rate already moved "
            f"differently from that of {ctrl} (F = {test['pretrend_f']:.2f} on "
            f"{test['pretrend_df_num']} and {test['pretrend_df_denom']} df, p = "
            f"{test['pretrend_p_value']:.3g} < {s.alpha:g}); "
            + ("the estimate is withheld." if withhold
               else "the estimate may mix that trend with the policy's effect."))
    if withhold:
        row = dict.fromkeys(_ESTIMATE_COLUMNS, np.nan) | counts | test
    row["status"] = _STATUSES[2 if withhold else 1 if warnings else 0]
    row["warnings"] = "\n".join(warnings)
    return row, events.assign(control=control).loc[:, list(_EVENT_COLUMNS)]


def estimate_response(
    summary: pd.DataFrame, settings: ResponseSettings | None = None, **options: Any
) -> ResponseResult:
    """Measure the change in 3D rendering for the policy payer after its effective date.

    A difference in differences and event study of the encounter-basis 3D rate, the
    policy payer against each control payer, with practice (x payer) and quarter fixed
    effects and standard errors clustered by practice; the implied stop share; a
    pre-trend test; diagnostics stated in words (module docstring).

    Parameters
    ----------
    summary : DataFrame
        A quarterly practice x period x payer summary
        (``analysis.summary.summarize(lines, period="quarter")``) spanning the
        effective date.
    settings : ResponseSettings, optional
        Default ``ResponseSettings()``.
    **options
        Fields of :class:`ResponseSettings` replacing those of ``settings``:
        ``estimate_response(summary, effective_date="2025-04-01")``.

    Returns
    -------
    ResponseResult
        ``estimates`` (one row per control payer), ``event_study`` (per quarter),
        ``notes`` and ``warnings`` in words; renders itself in a notebook.

    Raises
    ------
    InputError
        The summary lacks a column or is not by quarter; an option is invalid.
    """
    base = settings or ResponseSettings()
    if options:
        unknown = sorted(set(options) - set(asdict(base)))
        if unknown:
            raise InputError(f"not an option of estimate_response (options: "
                             f"{', '.join(asdict(base))})", column=unknown[0])  # fmt: skip
        base = ResponseSettings(**(asdict(base) | options))
    cells, notes = _panel(summary, base)
    rows, events = [], []
    # The fits solve many small least-squares problems: one BLAS thread each is 10-25x
    # faster than a pool of threads contending for the cores (0.4 s against 4-10 s on
    # the three-year sample of a busy 2-core machine).
    with threadpool_limits(limits=1, user_api="blas"):
        for control in base.controls:
            row, ev = _estimate_one(cells, control, base)
            rows.append(row)
            events.append(ev)
    estimates = pd.DataFrame(rows, columns=list(_ESTIMATE_COLUMNS))
    found = [e for e in events if len(e)]
    event_study = (pd.concat(found, ignore_index=True) if found
                   else pd.DataFrame(columns=list(_EVENT_COLUMNS)))  # fmt: skip
    return ResponseResult(estimates=estimates, event_study=event_study, notes=tuple(notes),
                          settings=base, definitions=_definitions(base))  # fmt: skip


def _definitions(s: ResponseSettings) -> str:
    level = f"{s.ci_level:.0%}"
    return "\n".join([
        f"Outcome: the share of {s.basis} with 3D rendering (76376/76377), per practice, "
        "payer and calendar quarter, from the additive summary.",
        f"Policy payer {_payer_words(s.policy_payer)}, effective {s.effective_date:%Y-%m-%d}; "
        f"control payers {', '.join(_payer_words(c) for c in s.controls)}, each in turn, "
        "the first as the headline.",
        ("Difference in differences, ratio model: Poisson pseudo-likelihood of the 3D "
         "count (encounters as exposure) on one fixed effect per practice and payer, one "
         "per quarter, and the policy payer's quarters after the date; exp(coefficient) - 1 "
         "is the proportional change in its rate."
         if s.model == "ratio" else
         "Difference in differences, linear model: weighted least squares (weights: "
         "encounters) of the rate on one fixed effect per practice and payer, one per "
         "quarter, and the policy payer's quarters after the date; its coefficient is the "
         "change in the rate."),
        "Standard errors clustered by practice; intervals and tests with Student's t on "
        f"practices - 1 degrees of freedom; {level} intervals.",
        "Event study: the same regression with one effect per quarter of the policy payer, "
        "relative to the last quarter before the date. Pre-trend test: all pre-period "
        f"effects are 0 (cluster-robust score test, level {s.alpha:g}).",
        ("Implied stop share: 1 - exp(coefficient), its interval transformed likewise."
         if s.model == "ratio" else
         "Implied stop share: minus the change divided by the policy payer's rate after "
         "the date without the policy; interval by the delta method."),
    ])  # fmt: skip
