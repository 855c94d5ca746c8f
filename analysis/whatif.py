"""The live what-if: the revenue model recomputed from the summary as settings change.

:class:`WhatIf` puts the settings a committee asks about on controls (ipywidgets) -- the
policy, the payers applying it and the share of their business in scope, the commercial
price multiplier, the horizon, the fee update, volume growth, the share of unpaid
renderings practices stop (assumed, or measured from the claims), the cost avoided per
rendering stopped, and the LCD-style cap -- and on every change shows, from the practice
summary alone (no claims are read again):

- the **headline**: the loss to practices in year 1 and over the horizon, the share of
  their 3D revenue, how many practices lose (:meth:`analysis.impact.ImpactResult.headline`);
- the **per-year table** (:func:`analysis.report.impact_years`);
- the **practices that lose most**, with the report's disclosure rule
  (:func:`analysis.disclosure.disclosure_plan` and
  :func:`analysis.privacy.suppress_counts`, exactly as a report page shows practice
  dollars: a practice with a small count, or too few 3D lines with the policy payers,
  has its dollars suppressed);
- the **tornado**: one-way sensitivity of the horizon loss
  (:func:`analysis.uncertainty.one_way`).

Every number comes from :func:`analysis.impact.impact` and
:func:`analysis.uncertainty.one_way`: the what-if is a view of the model, not a second
one. What makes it fast is done once, at construction: the annualized revenue base
(:func:`analysis.impact.impact_base`), the prices of each horizon from 1 to 5 years
(:func:`analysis.revenue_engine.price_table`, passed to the model as its ``prices``), the
disclosure plan of each set of payers, and the measured response.

Measured stop share
    Where the summary is by quarter and spans the policy's effective date,
    :func:`analysis.response.estimate_response` is run once; its headline estimate of the
    stop share (against the first control payer) can replace the assumed one, clipped to
    [0, 1], and its interval (clipped likewise) replaces the stop share's low-high range
    in the tornado. Otherwise the option is shown disabled with the reason.

Scenario export
    :meth:`WhatIf.export_scenario` writes the current settings as a scenario file of
    ``rad3d report --params`` (``notebooks/params/*.yaml`` format,
    :func:`analysis.run.scenarios.load_scenario`), so that a committee's "what if" becomes
    a reproducible report run with the same headline. A measured stop share is written as
    its value (the file says where it came from).

Examples
--------
>>> from analysis import report, whatif                                      # doctest: +SKIP
>>> inputs = report.load_inputs("", claims=[], link_window_days=7)           # doctest: +SKIP
>>> app = whatif.WhatIf(inputs.summary("quarter"))                            # doctest: +SKIP
>>> app                      # the controls and the results, in JupyterLab   # doctest: +SKIP
>>> app.update(commercial_multiplier=2.5).headline                          # doctest: +SKIP
>>> app.export_scenario("what_if.yaml")                                      # doctest: +SKIP
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import html
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import yaml

from analysis._io import write_atomic
from analysis.assumptions import assumption_table, default_setting, default_value
from analysis.baseline import Baseline, baseline_year
from analysis.defaults import LCD_BENCHMARK, LINK_WINDOW_DAYS, MIN_CELL_COUNT, POLICY_PAYERS
from analysis.disclosure import DisclosurePlan, disclosure_plan
from analysis.errors import InputError
from analysis.impact import ImpactAssumptions, ImpactResult, impact
from analysis.measured import MEASURED, MeasuredStopShare, measure_stop_share
from analysis.plots import COLORS
from analysis.policy import ALTERNATIVES, Policy, get_policy
from analysis.privacy import MARKER, PrivacySettings, suppress_counts
from analysis.report.formatting import table_html
from analysis.report.impact_tables import impact_years, policy_row, top_losers
from analysis.report.labels import (
    PARAMETER_LABELS,
    column_labels,
    payer_label,
    policy_label,
)
from analysis.report.scenario_section import param_text
from analysis.report.steps import ASSUMPTION_PARAMETERS
from analysis.response import ResponseResult, estimate_response
from analysis.revenue_base import ImpactBase, as_base
from analysis.revenue_engine import HorizonPrices, price_table
from analysis.uncertainty import one_way

__all__ = ["MEASURED", "WhatIf", "WhatIfResult", "WhatIfSettings"]


#: The settings on the controls, in the order shown.
SETTINGS = ("policy", "payers", "scope_share", "commercial_multiplier", "horizon_years",
            "fee_update", "volume_growth", "stop_share", "cost_per_rendering_usd",
            "cap_threshold")

#: Range and step of each slider: the ranges of ``data/reference/impact_assumptions.csv``
#: with room on either side (a committee asks about values beyond them too).
SLIDERS: Mapping[str, tuple[float, float, float, str]] = {
    "scope_share": (0.0, 1.0, 0.05, ".0%"),
    "commercial_multiplier": (1.0, 3.0, 0.05, ".2f"),
    "fee_update": (-0.05, 0.05, 0.005, ".1%"),
    "volume_growth": (-0.10, 0.10, 0.01, ".0%"),
    "stop_share": (0.0, 1.0, 0.01, ".0%"),
    "cost_per_rendering_usd": (0.0, 60.0, 1.0, ".0f"),
    "cap_threshold": (0.05, 0.50, 0.01, ".0%"),
}

#: The look of the tables on the page (the reports' stylesheet is not there).
_STYLE = (
    "<style>.rad3d-whatif-pane table.rad3d-table{border-collapse:collapse;font-size:0.9em;"
    "line-height:1.35;margin:0.6em 0}.rad3d-whatif-pane .rad3d-table td,"
    ".rad3d-whatif-pane .rad3d-table th{padding:2px 8px;text-align:right;"
    "vertical-align:top}.rad3d-whatif-pane .rad3d-table thead th{border-bottom:1px solid "
    "#999}.rad3d-whatif-pane .rad3d-table caption{font-weight:600;text-align:left;"
    "padding:0.3em 0}.rad3d-whatif-pane p{line-height:1.4}</style>")

#: Report-notebook parameters that are :class:`ImpactAssumptions` fields the what-if keeps
#: as given (written to an exported scenario so that it reproduces the run).
_KEPT_ASSUMPTIONS = tuple(n for n in ASSUMPTION_PARAMETERS if n not in SETTINGS)


def _years(n: int) -> str:
    return f"{n} year{'s' if n != 1 else ''}"


def _pane(markup: str) -> str:
    return f'<div class="rad3d-whatif-pane">{markup}</div>'


@functools.cache
def _reference_assumptions() -> ImpactAssumptions:
    """The reference defaults (read from the assumption table once)."""
    return ImpactAssumptions()


def _round(x: float) -> float:
    """A slider's value without the float noise of its steps (2.1000000000000005)."""
    return float(round(float(x), 10))


@dataclass(frozen=True)
class WhatIfSettings:
    """The settings of a what-if (validated; the controls of :class:`WhatIf`).

    Parameters
    ----------
    policy : {"full_bundling", "lcd_cap", "medical_necessity"}
        The policy whose impact is shown (against the status quo).
    payers : tuple of str
        Payer labels applying it.
    scope_share : float in [0, 1]
        Share of their business in scope.
    commercial_multiplier, horizon_years, fee_update, volume_growth, cost_per_rendering_usd
        As in :class:`analysis.impact.ImpactAssumptions`.
    stop_share : float in [0, 1] or "measured"
        Share of newly unpaid renderings practices stop; ``"measured"`` takes the
        estimate from the claims (:class:`WhatIf` says whether it can).
    cap_threshold : float in (0, 1]
        The LCD-style cap's paid share of non-oncology encounters (``lcd_cap`` only).
    """

    policy: str = "full_bundling"
    payers: tuple[str, ...] = POLICY_PAYERS
    scope_share: float = 1.0
    commercial_multiplier: float = field(
        default_factory=lambda: default_value("commercial_multiplier"))
    horizon_years: int = field(default_factory=lambda: int(default_setting("horizon_years")))
    fee_update: float = field(default_factory=lambda: default_value("fee_update"))
    volume_growth: float = field(default_factory=lambda: default_value("volume_growth"))
    stop_share: float | str = field(default_factory=lambda: default_value("stop_share"))
    cost_per_rendering_usd: float = field(
        default_factory=lambda: default_value("cost_per_rendering_usd"))
    cap_threshold: float = LCD_BENCHMARK

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.policy not in ALTERNATIVES:
            raise InputError(f"choose one of {', '.join(ALTERNATIVES)}", column="policy",
                             value=self.policy)
        payers = (self.payers,) if isinstance(self.payers, str) else tuple(self.payers)
        set_(self, "payers", tuple(sorted({str(p).strip().upper() for p in payers})))
        if self.stop_share != MEASURED:
            set_(self, "stop_share", float(self.stop_share))
        for name in ("scope_share", "commercial_multiplier", "fee_update", "volume_growth",
                     "cost_per_rendering_usd", "cap_threshold"):
            set_(self, name, float(getattr(self, name)))
        set_(self, "horizon_years", int(self.horizon_years))
        # Policy and assumptions validate every value (one InputError naming it).
        self.to_policy()
        self.to_assumptions(_reference_assumptions(), measured=0.0)

    def to_policy(self, *, effective_date: dt.date | str | None = None) -> Policy:
        """The policy of these settings."""
        options: dict[str, Any] = {"payers": self.payers, "scope_share": self.scope_share}
        if self.policy == "lcd_cap":
            options["threshold"] = self.cap_threshold
        if effective_date is not None:
            options["effective_date"] = effective_date
        return get_policy(self.policy, **options)

    def to_assumptions(self, base: ImpactAssumptions, *,
                       measured: float | None = None) -> ImpactAssumptions:
        """``base`` with these settings; ``measured`` is the stop share used for
        ``stop_share="measured"``."""
        stop = self.stop_share
        if stop == MEASURED:
            if measured is None:
                raise InputError("no stop share could be measured from these claims",
                                 column="stop_share", value=MEASURED)
            stop = measured
        return base.replace(
            commercial_multiplier=self.commercial_multiplier,
            horizon_years=self.horizon_years, fee_update=self.fee_update,
            volume_growth=self.volume_growth, stop_share=stop,
            cost_per_rendering_usd=self.cost_per_rendering_usd)

    def replace(self, **changes: Any) -> WhatIfSettings:
        """A validated copy with some settings changed."""
        unknown = sorted(set(changes) - set(SETTINGS))
        if unknown:
            raise InputError(f"not a what-if setting (settings: {', '.join(SETTINGS)})",
                             column=unknown[0])
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {name: (list(v) if isinstance(v := getattr(self, name), tuple) else v)
                for name in SETTINGS}


@dataclass(frozen=True)
class WhatIfResult:
    """What one what-if update shows.

    Attributes
    ----------
    settings : WhatIfSettings
    impact : ImpactResult
        :func:`analysis.impact.impact` of the policy (the numbers shown).
    years : DataFrame
        Totals per year (:func:`analysis.report.impact_years`), small counts suppressed.
    losers : DataFrame
        Every practice, largest horizon loss first (:func:`analysis.report.top_losers`),
        its cells suppressed as a report page suppresses them (``"*"``); the practices
        whose dollars are suppressed come last, by identifier (their rank would bound
        their loss).
    tornado : DataFrame
        :func:`analysis.uncertainty.one_way` of the horizon loss.
    stop_share : float
        The stop share used (the measured one with ``stop_share="measured"``).
    row : Series
        The policy's headline row (:attr:`analysis.impact.ImpactResult.summary`).
    headline : str
        The model's headline sentence for the policy
        (:meth:`analysis.impact.ImpactResult.headline`).
    seconds : float
        Time the update took.
    """

    settings: WhatIfSettings
    impact: ImpactResult
    years: pd.DataFrame
    losers: pd.DataFrame
    tornado: pd.DataFrame
    stop_share: float
    row: pd.Series
    headline: str
    top: int = 10
    seconds: float = 0.0
    privacy_rule: str = ""

    @property
    def loss_year1_usd(self) -> float:
        return float(self.row["loss_year1_usd"])

    @property
    def loss_horizon_usd(self) -> float:
        return float(self.row["loss_horizon_usd"])

    # ------------------------------------------------------------ views

    def headline_html(self) -> str:
        """The key numbers and the headline sentence."""
        row, span = self.row, _years(self.settings.horizon_years)
        share = row["loss_share_year1"]
        items = [
            ("loss_year1_usd", "Loss to practices in year 1", f"${row['loss_year1_usd']:,.0f}"),
            ("loss_horizon_usd", f"Loss over {span}", f"${row['loss_horizon_usd']:,.0f}"),
            ("loss_share_year1", "Share of their 3D revenue lost, year 1",
             "not estimable" if pd.isna(share) else f"{share:.1%}"),
            ("n_practices_losing", "Practices losing revenue",
             f"{int(row['n_practices_losing'])} of {int(row['n_practices'])}"),
        ]
        cells = "".join(
            f'<div class="rad3d-whatif-number" style="padding:0 1.5em 0 0">'
            f'<div style="font-size:0.85em;color:#555">{html.escape(label)}</div>'
            f'<div style="font-size:1.6em;font-weight:600" data-measure="{key}">'
            f"{html.escape(text)}</div></div>"
            for key, label, text in items)
        return (f'<div class="rad3d-whatif-headline">'
                f'<h3 style="margin:0.2em 0">{html.escape(policy_label(self.settings.policy))}'
                f'</h3><div style="display:flex;flex-wrap:wrap">{cells}</div>'
                f"<p>{html.escape(self.headline)}</p></div>")

    def years_html(self) -> str:
        cols = ["year", "year_start", "in_force_share", "revenue_without_usd",
                "revenue_with_usd", "loss_usd", "loss_share", "net_margin_loss_usd",
                "payer_savings_usd", "patient_savings_usd", "n_practices_losing"]
        return table_html(self.years[cols], caption="Per year",
                          labels=column_labels(horizon_years=self.settings.horizon_years))

    def losers_html(self) -> str:
        cols = ["practice_id", "loss_year1_usd", "loss_share_year1", "loss_horizon_usd",
                "loss_horizon_share"]
        shown = self.losers[cols].head(self.top)
        note = (f"The {len(shown)} practices that lose most over the horizon, of "
                f"{len(self.losers)}; practices whose dollars are suppressed are listed "
                f"last, by identifier. * suppressed: {self.privacy_rule}")
        return table_html(shown, caption="Practices that lose most", footnote=note,
                          labels=column_labels(horizon_years=self.settings.horizon_years))

    def tornado_html(self) -> str:
        """The tornado as bars drawn in HTML (a figure per update would take longer
        than the update; ``analysis.plots.tornado_plot`` draws the same data)."""
        t = self.tornado.loc[self.tornado["swing"] > 0]
        if t.empty:
            return "<p>No parameter moves the loss.</p>"
        base = float(self.tornado["outcome_base"].iloc[0])
        lo = min(base, t["outcome_low"].min(), t["outcome_high"].min())
        hi = max(base, t["outcome_low"].max(), t["outcome_high"].max())
        span = (hi - lo) or 1.0

        def pct(x: float) -> float:
            return 100.0 * (x - lo) / span

        rows = []
        for r in t.itertuples():
            bars = []
            for value, colour, words in ((r.outcome_low, COLORS["secondary"], "low"),
                                         (r.outcome_high, COLORS["primary"], "high")):
                left, right = sorted((pct(base), pct(value)))
                bars.append(
                    f'<div title="At its {words} value: ${value:,.0f}" style="position:'
                    f"absolute;top:2px;bottom:2px;left:{left:.2f}%;width:{right - left:.2f}%;"
                    f'background:{colour}"></div>')
            rows.append(
                f'<tr><td style="text-align:left">{html.escape(str(r.label))} '
                f"({param_text(r.parameter, r.low)} to {param_text(r.parameter, r.high)})</td>"
                f"<td>${r.outcome_low:,.0f}</td><td>${r.outcome_high:,.0f}</td>"
                f'<td style="width:40%"><div style="position:relative;height:1.2em">'
                f'{"".join(bars)}<div style="position:absolute;top:0;bottom:0;'
                f'left:{pct(base):.2f}%;border-left:1px solid {COLORS["reference"]}"></div>'
                "</div></td></tr>")
        return (
            '<table class="rad3d-table rad3d-whatif-tornado"><caption>One-way sensitivity '
            f"of the loss over {_years(self.settings.horizon_years)} around ${base:,.0f}: "
            "each parameter alone at its low and high value</caption><thead><tr>"
            "<th>Parameter (range)</th><th>Loss at low ($)</th><th>Loss at high ($)</th>"
            f'<th><span style="color:{COLORS["secondary"]}">&#9632;</span> low '
            f'<span style="color:{COLORS["primary"]}">&#9632;</span> high</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")

    def _repr_html_(self) -> str:
        return ("<div class='rad3d-whatif'>" + _STYLE + _pane(
            self.headline_html() + self.years_html() + self.losers_html()
            + self.tornado_html()) + "</div>")


class WhatIf:
    """The revenue model on controls: recomputed from the summary on every change.

    Parameters
    ----------
    summary : DataFrame
        The additive practice summary, by quarter for the measured stop share
        (``analysis.report.load_inputs(...).summary("quarter")``, which carries the
        practices' price baskets as the report's does).
    settings : WhatIfSettings, optional
        The settings first shown (default: the report's base case).
    assumptions : ImpactAssumptions, optional
        The model's other inputs (payer multipliers, start date, prices ...), kept as
        given; default the reference defaults.
    effective_date : date or str, optional
        The policy's effective date (default :data:`analysis.defaults.EFFECTIVE_DATE`).
    claims : sequence of str
        The claims files the summary was built from, written into exported scenarios
        (so that ``rad3d report --params`` reads the same claims); empty: the report's
        default, the bundled sample.
    link_window_days : int
        The link window the summary was built with (written into exported scenarios
        when it is not the default).
    min_cell_count, internal
        The disclosure rule (:class:`analysis.privacy.PrivacySettings`), as in the
        report notebooks.
    top : int
        Practices shown in the table of those that lose most.
    response : ResponseResult, optional
        A measured response already estimated from ``summary``; default: estimated here
        when the summary is by quarter (``measure_response=False``: never).
    export_dir : path, optional
        Folder the export button writes to (default the working directory).
    """

    def __init__(
        self,
        summary: pd.DataFrame,
        *,
        settings: WhatIfSettings | None = None,
        assumptions: ImpactAssumptions | None = None,
        effective_date: dt.date | str | None = None,
        claims: Sequence[str] = (),
        link_window_days: int = LINK_WINDOW_DAYS,
        min_cell_count: int = MIN_CELL_COUNT,
        internal: bool = False,
        top: int = 10,
        response: ResponseResult | None = None,
        measure_response: bool = True,
        export_dir: str | Path | None = None,
    ) -> None:
        self.summary = summary
        self.assumptions = assumptions or ImpactAssumptions()
        self.effective_date = (get_policy("full_bundling").effective_date
                               if effective_date is None else effective_date)
        self.claims = [str(c) for c in claims]
        self.link_window_days = int(link_window_days)
        self.privacy = PrivacySettings(min_cell_count=min_cell_count, internal=internal)
        self.top = int(top)
        self.export_dir = Path(export_dir) if export_dir else None
        # Year 1 rests on the last full year of claims before the horizon, as in the
        # reports (analysis.baseline); the response is measured on every quarter.
        self.baseline: Baseline | None = (
            baseline_year(summary, start_date=self.assumptions.start_date)
            if isinstance(summary, pd.DataFrame) else None)
        self.base: ImpactBase = as_base(
            summary if self.baseline is None else self.baseline.summary,
            baseline_days=self.assumptions.baseline_days)
        self.payers = tuple(sorted(self.base.rows["payer"].astype(str).unique()))
        # The prices of every horizon, once: the slow part of a model run.
        self._prices: dict[int, HorizonPrices] = {
            h: price_table(self.base, self.assumptions.replace(horizon_years=h))
            for h in range(1, 6)}
        self._plans: dict[tuple[str, ...], DisclosurePlan] = {}
        self.response, self.measured_reason = self._measure(response, measure_response)
        #: The measured stop share as the revenue model takes it
        #: (:func:`analysis.measured.measure_stop_share`: in [0, 1]), or None.
        self.measurement: MeasuredStopShare | None = (
            None if self.measured_reason or self.response is None
            else measure_stop_share(self.response))
        settings = settings or WhatIfSettings()
        if settings.stop_share == MEASURED and self.measured_stop_share is None:
            raise InputError(self.measured_reason, column="stop_share", value=MEASURED)
        self._settings = settings
        self._widget: widgets.Widget | None = None
        self._controls: dict[str, widgets.Widget] = {}
        self._result = self.compute(settings)

    # ------------------------------------------------------------ measured response

    def _measure(self, given: ResponseResult | None,
                 wanted: bool) -> tuple[ResponseResult | None, str]:
        """The measured response and, when it cannot be used, why (in words)."""
        result = given
        if result is None and wanted:
            periods = self.summary["period"].astype(str)
            if not periods.str.fullmatch(r"\d{4}Q[1-4]").all():
                return None, ("The claims summary is not by quarter, so no response can "
                              "be measured (open the what-if on a quarterly summary).")
            try:
                result = estimate_response(self.summary,
                                           effective_date=self.effective_date)
            except InputError as err:
                return None, f"No response can be measured from these claims: {err}"
        if result is None:
            return None, "Not measured (the what-if was opened without it)."
        if result.withheld or not np.isfinite(result.stop_share):
            return result, result.headline
        return result, ""

    @property
    def measured_stop_share(self) -> float | None:
        """The measured stop share, or None when there is none."""
        m = self.measurement
        return None if m is None else m.estimate

    @property
    def measured_interval(self) -> tuple[float, float] | None:
        """Its interval."""
        m = self.measurement
        return None if m is None else (m.low, m.high)

    def measured_text(self) -> str:
        """What the measured option uses, or why it is not available, in words."""
        if self.measured_stop_share is None:
            return self.measured_reason
        lo, hi = self.measured_interval
        r = self.response
        row = r.headline_row
        periods = sorted(r.event_study.loc[r.event_study["control"] == row["control"],
                                           "period"].astype(str))
        span = f", quarters {periods[0]} to {periods[-1]}" if periods else ""
        return (f"Measured from the claims: {self.measured_stop_share:.0%} "
                f"({r.settings.ci_level:.0%} interval {lo:.0%} to {hi:.0%}), "
                f"{payer_label(r.settings.policy_payer)} against {row['control_label']}"
                f"{span}; status: {row['status']}.")

    # ------------------------------------------------------------ the model

    def _plan(self, payers: tuple[str, ...]) -> DisclosurePlan:
        if payers not in self._plans:
            self._plans[payers] = disclosure_plan(self.summary, self.summary,
                                                  settings=self.privacy, payers=payers)
        return self._plans[payers]

    def assumptions_for(self, settings: WhatIfSettings) -> ImpactAssumptions:
        """The model's assumptions under ``settings``."""
        return settings.to_assumptions(self.assumptions, measured=self.measured_stop_share)

    def policy_for(self, settings: WhatIfSettings) -> Policy:
        """The policy under ``settings``."""
        return settings.to_policy(effective_date=self.effective_date)

    def compute(self, settings: WhatIfSettings) -> WhatIfResult:
        """Everything the what-if shows under ``settings`` (no widget is touched)."""
        t0 = time.perf_counter()
        assumptions = self.assumptions_for(settings)
        policy = self.policy_for(settings)
        prices = self._prices[settings.horizon_years]
        result = impact(self.base, [policy], assumptions=assumptions, prices=prices)
        table = None
        if settings.stop_share == MEASURED:
            lo, hi = self.measured_interval
            table = assumption_table()
            row = table["parameter"] == "stop_share"
            table.loc[row, ["low", "high"]] = [lo, hi]
        tornado = one_way(self.base, policy, assumptions=assumptions, table=table,
                          prices=prices)
        plan = self._plan(policy.payers)
        losers = top_losers(result, policy.name, n=len(self.base.practice_ids)).rename(
            columns={"loss_usd": "loss_horizon_usd",
                     "revenue_without_usd": "revenue_without_horizon_usd",
                     "loss_share": "loss_horizon_share",
                     "net_margin_loss_usd": "net_margin_loss_horizon_usd"}).drop(
            columns=["renderings_unpaid"])
        losers = suppress_counts(losers, settings=self.privacy,
                                 preset=plan.mask(losers)).table
        # A suppressed practice is listed after the others, by identifier: its rank among
        # shown losses would bound its own, and the controls would move that bound.
        hidden = losers["loss_horizon_usd"].eq(MARKER)
        losers = pd.concat([losers.loc[~hidden],
                            losers.loc[hidden].sort_values("practice_id")], ignore_index=True)
        years = suppress_counts(impact_years(result, policy=policy.name),
                                settings=self.privacy).table
        return WhatIfResult(settings=settings, impact=result, years=years, losers=losers,
                            tornado=tornado, stop_share=assumptions.stop_share,
                            row=policy_row(result, policy.name),
                            headline=result.headline(), top=self.top,  # one policy: its line
                            seconds=time.perf_counter() - t0, privacy_rule=plan.rule)

    @property
    def settings(self) -> WhatIfSettings:
        """The settings shown."""
        return self._settings

    @property
    def result(self) -> WhatIfResult:
        """What is shown: the result of the current settings."""
        return self._result

    def update(self, **changes: Any) -> WhatIfResult:
        """Change settings (as the controls do) and recompute once; returns the result."""
        settings = self._settings.replace(**changes)
        if settings.stop_share == MEASURED and self.measured_stop_share is None:
            raise InputError(self.measured_reason, column="stop_share", value=MEASURED)
        self._settings = settings
        self._result = self.compute(settings)
        if self._widget is not None:
            self._sync_controls()
            self._show()
        return self._result

    # ------------------------------------------------------------ scenario export

    def scenario(self, *, name: str = "what_if", title: str = "") -> dict[str, Any]:
        """The current settings as a scenario of ``rad3d report --params``: the report
        notebooks' parameters (:func:`analysis.run.scenarios.load_scenario` format)."""
        s, a = self._settings, self.assumptions_for(self._settings)
        params: dict[str, Any] = {
            "headline_policy": s.policy,
            "policy_payers": list(s.payers),
            "scope_share": _round(s.scope_share),
            "commercial_multiplier": _round(s.commercial_multiplier),
            "horizon_years": int(s.horizon_years),
            "fee_update": _round(s.fee_update),
            "volume_growth": _round(s.volume_growth),
            "stop_share": _round(a.stop_share),
            "cost_per_rendering_usd": _round(s.cost_per_rendering_usd),
            "cap_threshold": _round(s.cap_threshold),
            "effective_date": self.policy_for(s).effective_date.isoformat(),
        }
        for key in _KEPT_ASSUMPTIONS:
            value = getattr(a, key)
            params[key] = value.isoformat() if isinstance(value, dt.date) else (
                _round(value) if isinstance(value, float) else value)
        if self.claims:
            params["claims"] = list(self.claims)
        if self.link_window_days != LINK_WINDOW_DAYS:
            params["link_window_days"] = self.link_window_days
        if self.privacy.min_cell_count != MIN_CELL_COUNT or self.privacy.internal:
            params["min_cell_count"] = self.privacy.min_cell_count
            params["internal"] = self.privacy.internal
        measured = self.measured_text().rstrip(".")
        stop = (measured[:1].lower() + measured[1:] if s.stop_share == MEASURED
                else "assumed")
        return {
            "name": name,
            "title": title or f"What-if: {policy_label(s.policy)}",
            "description": (
                f"Settings chosen in the live what-if: {policy_label(s.policy)} by "
                f"{', '.join(payer_label(p) for p in s.payers)} on {s.scope_share:.0%} of "
                f"their business; commercial price {s.commercial_multiplier:.2f} x the "
                f"Medicare fee schedule; {s.horizon_years}-year horizon; fee update "
                f"{s.fee_update:+.1%} and volume growth {s.volume_growth:+.0%} a year; "
                f"practices stop {a.stop_share:.0%} of unpaid renderings ({stop}) and "
                f"avoid ${s.cost_per_rendering_usd:,.0f} per rendering stopped"
                + (f"; cap at {s.cap_threshold:.0%} of non-oncology encounters"
                   if s.policy == "lcd_cap" else "") + "."),
            "parameters": params,
        }

    def scenario_yaml(self, *, name: str = "what_if", title: str = "") -> str:
        """:meth:`scenario` as the text of a scenario file."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        head = (f"# Exported from the rad3d what-if on {stamp}.\n"
                "# Run it: rad3d report --params THIS_FILE --out reports/what_if\n")
        return head + yaml.safe_dump(self.scenario(name=name, title=title), sort_keys=False,
                                     allow_unicode=True, width=88)

    def export_scenario(self, path: str | Path, *, name: str | None = None,
                        title: str = "") -> Path:
        """Write the current settings as a scenario file for ``rad3d report --params``.

        ``name`` (the report folder of the run) defaults to the file's stem.
        """
        path = Path(path)
        text = self.scenario_yaml(name=name or path.stem, title=title)
        write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        return path

    # ------------------------------------------------------------ the widgets

    @property
    def widget(self) -> widgets.Widget:
        """The controls and the results (built on first use)."""
        if self._widget is None:
            self._widget = self._build()
            self._show()
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.widget._repr_mimebundle_(**kwargs)

    def _build(self) -> widgets.Widget:
        s = self._settings
        style = {"description_width": "33em"}
        wide = widgets.Layout(width="60em")
        c = self._controls
        c["policy"] = widgets.Dropdown(
            options=[(policy_label(k), k) for k in ALTERNATIVES], value=s.policy,
            description="Policy", style=style, layout=wide)
        c["payers"] = widgets.SelectMultiple(
            options=[(payer_label(p), p) for p in self.payers],
            value=tuple(p for p in s.payers if p in self.payers),
            description=PARAMETER_LABELS["policy_payers"], style=style, layout=wide,
            rows=min(5, max(2, len(self.payers))))
        labels = {
            "scope_share": PARAMETER_LABELS["scope_share"],
            "commercial_multiplier": PARAMETER_LABELS["commercial_multiplier"],
            "fee_update": PARAMETER_LABELS["fee_update"],
            "volume_growth": PARAMETER_LABELS["volume_growth"],
            "stop_share": PARAMETER_LABELS["stop_share"],
            "cost_per_rendering_usd": PARAMETER_LABELS["cost_per_rendering_usd"],
            "cap_threshold": PARAMETER_LABELS["cap_threshold"],
        }
        for key, label in labels.items():
            lo, hi, step, fmt = SLIDERS[key]
            value = getattr(s, key) if key != "stop_share" or s.stop_share != MEASURED \
                else self.measured_stop_share
            c[key] = widgets.FloatSlider(
                value=value, min=lo, max=hi, step=step, readout_format=fmt,
                description=label, continuous_update=False, style=style, layout=wide)
        c["horizon_years"] = widgets.IntSlider(
            value=s.horizon_years, min=1, max=5, step=1, continuous_update=False,
            description=PARAMETER_LABELS["horizon_years"], style=style, layout=wide)
        c["measured"] = widgets.Checkbox(
            value=s.stop_share == MEASURED, disabled=self.measured_stop_share is None,
            description="Use the share measured from the claims", indent=False)
        for w in c.values():
            w.observe(self._changed, names="value")
        measured_note = widgets.HTML(
            f'<p style="margin:0 0 0 2em;font-size:0.9em">{html.escape(self.measured_text())}'
            "</p>")
        self._name = widgets.Text(value="what_if", description="Scenario name",
                                  style={"description_width": "initial"})
        button = widgets.Button(description="Save as scenario file", icon="download",
                                tooltip="A scenario file for rad3d report --params",
                                layout=widgets.Layout(width="auto"))
        button.on_click(self._export_clicked)
        self._export_out = widgets.HTML()
        self._panes = {k: widgets.HTML() for k in ("headline", "years", "losers", "tornado",
                                                   "status")}
        controls = widgets.VBox([
            c["policy"], c["payers"], c["scope_share"], c["cap_threshold"],
            c["commercial_multiplier"], c["horizon_years"], c["fee_update"],
            c["volume_growth"], c["stop_share"], widgets.HBox([c["measured"]]),
            measured_note, c["cost_per_rendering_usd"],
            widgets.HBox([self._name, button]), self._export_out])
        self._sync_controls()
        return widgets.VBox(
            [widgets.HTML("<h3>Settings</h3>"), controls, self._panes["headline"],
             self._panes["years"], self._panes["losers"], self._panes["tornado"],
             self._panes["status"]],
            layout=widgets.Layout(max_width="72em"))

    def _sync_controls(self) -> None:
        """Put the settings on the controls without triggering updates."""
        c, s = self._controls, self._settings
        self._syncing = True
        try:
            for key in ("policy", "scope_share", "commercial_multiplier", "horizon_years",
                        "fee_update", "volume_growth", "cost_per_rendering_usd",
                        "cap_threshold"):
                c[key].value = getattr(s, key)
            c["payers"].value = tuple(p for p in s.payers if p in self.payers)
            measured = s.stop_share == MEASURED
            c["measured"].value = measured
            c["stop_share"].value = self.measured_stop_share if measured else s.stop_share
            c["stop_share"].disabled = measured
            c["cap_threshold"].disabled = s.policy != "lcd_cap"
        finally:
            self._syncing = False

    def _changed(self, change: Mapping[str, Any]) -> None:
        if getattr(self, "_syncing", False):
            return
        c = self._controls
        changes: dict[str, Any] = {
            key: c[key].value for key in ("policy", "scope_share", "commercial_multiplier",
                                          "horizon_years", "fee_update", "volume_growth",
                                          "cost_per_rendering_usd", "cap_threshold")}
        changes["payers"] = tuple(c["payers"].value)
        changes["stop_share"] = MEASURED if c["measured"].value else c["stop_share"].value
        try:
            if not changes["payers"]:
                raise InputError("choose at least one payer", column="policy_payers")
            self.update(**changes)
        except InputError as err:
            self._panes["status"].value = (
                f'<p class="rad3d-whatif-error"><b>Not updated:</b> {html.escape(str(err))}</p>')

    def _show(self) -> None:
        r = self._result
        self._panes["headline"].value = _pane(_STYLE + r.headline_html())
        self._panes["years"].value = _pane(r.years_html())
        self._panes["losers"].value = _pane(r.losers_html())
        self._panes["tornado"].value = _pane(r.tornado_html())
        self._panes["status"].value = (
            f'<p style="color:#777;font-size:0.85em">Recomputed from the practice summary '
            f"in {r.seconds * 1000:.0f} ms.</p>")

    def _export_clicked(self, _button: Any) -> None:
        name = "".join(ch for ch in self._name.value.strip() if ch.isalnum() or ch in "_-.")
        name = name or "what_if"
        folder = self.export_dir or Path.cwd()
        try:
            path = self.export_scenario(folder / f"{name}.yaml", name=name)
        except (OSError, InputError) as err:
            self._export_out.value = f"<p>Could not save: {html.escape(str(err))}</p>"
            return
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        self._export_out.value = (
            f"<p>Saved <code>{html.escape(str(path))}</code> "
            f'(<a download="{html.escape(path.name)}" '
            f'href="data:text/yaml;base64,{data}">download</a>). Run it with '
            f"<code>rad3d report --params {html.escape(path.name)}</code>.</p>")
