"""Figures for the rad3d reports.

Every function returns a :class:`NotebookFigure` (a :class:`matplotlib.figure.Figure`)
built without ``pyplot``, so nothing is shown, saved or kept in global state, and no
backend is chosen; the caller (a notebook cell, a report writer) decides. A notebook cell
that ends with a figure shows it (``_repr_png_``, in any kernel, without magics); a
result object shows its figure in its ``_repr_html_`` (:func:`figure_html`). Figures use
one colour-blind-safe palette (Okabe & Ito 2008) and no red/green value judgements;
titles state the finding and axes carry units.

References
----------
Okabe M, Ito K (2008). Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance.
Stat Med 24:1185–1202.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import image as mpl_image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, PercentFormatter

from analysis.errors import InputError
from analysis.policy import POLICY_NAMES
from analysis.rate_stats import funnel_limits

if TYPE_CHECKING:
    from collections.abc import Iterable

    from matplotlib.axes import Axes

    from analysis.lcd import ScreenResult
    from analysis.response import ResponseResult
    from analysis.trends import TrendResult

__all__ = [
    "COLORS",
    "OKABE_ITO",
    "PALETTE",
    "NotebookFigure",
    "alt_text",
    "convergence_plot",
    "event_study_plot",
    "figure_html",
    "funnel_plot",
    "impact_by_year",
    "legend_below",
    "loss_distribution",
    "new_figure",
    "png_html",
    "png_bytes",
    "policy_comparison",
    "psa_histogram",
    "quarterly_trend_plot",
    "rate_distribution",
    "style_axes",
    "tornado_plot",
    "trend_plot",
]

# ------------------------------------------------------------------ palette/style

#: The Okabe–Ito colour-blind-safe palette (hex), in its usual order.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Colour cycle for categorical series (black last: it is kept for reference lines).
PALETTE: tuple[str, ...] = tuple(
    OKABE_ITO[k]
    for k in (
        "blue",
        "orange",
        "sky_blue",
        "bluish_green",
        "reddish_purple",
        "vermillion",
        "yellow",
        "black",
    )
)

#: Roles used across the figures. "highlight" marks what a figure is about (e.g. a
#: flagged practice); it is a contrast, not a verdict, so no red/green pair is used.
COLORS: dict[str, str] = {
    "primary": OKABE_ITO["blue"],
    "highlight": OKABE_ITO["orange"],
    "secondary": OKABE_ITO["sky_blue"],
    "reference": OKABE_ITO["black"],
    "muted": "#8C8C8C",
}

_FONT = {"title": 11.5, "subtitle": 9.0, "label": 10.0, "tick": 9.0}


def png_bytes(fig: Figure, *, dpi: float | None = None) -> bytes:
    """The figure as PNG bytes, cropped to what it draws (default dpi: the figure's).

    Dollar amounts in titles and legends ("between $303k and $386k") are text, not
    mathtext: a pair of "$" must not typeset what lies between them. No software tag is
    written, so the same figure gives the same bytes.

    The figure is drawn once and cropped to its tight bounding box with
    ``savefig.pad_inches`` of margin (as far as the figure reaches); only when something
    it draws lies outside the figure (a long title) does ``savefig(bbox_inches="tight")``
    widen it, at the cost of a second drawing.
    """
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    dpi = float(dpi or fig.dpi)
    pad = float(mpl.rcParams["savefig.pad_inches"])
    original, own_canvas = fig.dpi, fig.canvas
    try:
        fig.set_dpi(dpi)
        canvas = FigureCanvasAgg(fig)  # draws into memory; the figure's own canvas is back after
        canvas.draw()
        box = fig.get_tightbbox(canvas.get_renderer())
        width, height = fig.get_size_inches()
        if box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height:
            pixels = np.asarray(canvas.buffer_rgba())
            top = round(max(height - box.y1 - pad, 0) * dpi)
            bottom = round(min(height - box.y0 + pad, height) * dpi)
            left, right = round(max(box.x0 - pad, 0) * dpi), round(min(box.x1 + pad, width) * dpi)
            buf = io.BytesIO()
            mpl_image.imsave(buf, pixels[top:bottom, left:right], format="png", dpi=dpi,
                             metadata={"Software": None})
            return buf.getvalue()
    finally:
        fig.set_canvas(own_canvas)
        fig.set_dpi(original)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def figure_html(fig: Figure, *, alt: str = "") -> str:
    """An ``<img>`` of the figure (PNG inline) for a result's ``_repr_html_``; its
    alternative text is ``alt``, else the figure's title (the finding)."""
    return png_html(base64.b64encode(png_bytes(fig)).decode("ascii"), alt or alt_text(fig))


def png_html(png_base64: str, alt: str) -> str:
    """An inline ``<img>`` of a PNG given in base64, with its alternative text."""
    return (f'<img src="data:image/png;base64,{png_base64}" alt="{html.escape(alt)}" '
            'style="max-width:100%">')


def alt_text(fig: Figure) -> str:
    """A figure's alternative text for a page: the title of its first panel (the
    finding), else the figure's title, else the first panel title found; empty if it
    has none."""
    titles = [ax.get_title(loc="left") for ax in fig.axes[:1]] + [fig.get_suptitle()] + [
        ax.get_title(loc=loc) for ax in fig.axes for loc in ("left", "center")]
    return next((" ".join(t.split()) for t in titles if t.strip()), "")


class NotebookFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that shows itself when a notebook cell
    returns it.

    The figures here are built without pyplot, so no backend's display hook knows them;
    ``_repr_png_`` gives IPython the PNG (:func:`png_bytes`) in any kernel, whatever
    the backend and without ``%matplotlib``.
    """

    def _repr_png_(self) -> bytes:
        return png_bytes(self)


def new_figure(*, width: float = 7.0, height: float = 5.0) -> tuple[Figure, Axes]:
    """A new :class:`NotebookFigure` (no pyplot state) with one Axes and the palette as
    colour cycle.

    Sized in inches for a printed page (7 × 5 in fits a portrait A4/Letter column).
    """
    fig = NotebookFigure(figsize=(width, height), layout="constrained", dpi=110)
    ax = fig.add_subplot()
    ax.set_prop_cycle(color=list(PALETTE))
    return fig, ax


def legend_below(fig: Figure, ax: Axes, *, ncol: int = 2) -> None:
    """Put the Axes' legend under the plot, outside the data area.

    Labels are wrapped so that ``ncol`` columns fit the figure's width (a legend wider
    than its figure would widen the saved image, or be cut off the page).
    """
    handles, labels = ax.get_legend_handles_labels()
    # 8-point type: about 0.06 inch a character; 0.6 inch for the handle and the gap
    chars = max(16, int((fig.get_figwidth() / ncol - 0.6) / 0.06))
    labels = [textwrap.fill(label, chars) for label in labels]
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=8, frameon=False)


def style_axes(
    ax: Axes,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    subtitle: str | None = None,
    percent_y: bool = False,
) -> Axes:
    """House style: labelled axes with units, light grid, no top/right spines.

    ``title`` should state the finding; ``subtitle`` the method or data in small type.
    ``percent_y`` formats a 0–1 y axis as percent.
    """
    ax.set_xlabel(xlabel, fontsize=_FONT["label"])
    ax.set_ylabel(ylabel, fontsize=_FONT["label"])
    ax.tick_params(labelsize=_FONT["tick"])
    ax.grid(True, color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if percent_y:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    sub = textwrap.fill(subtitle, 95) if subtitle else ""
    if title:
        ax.set_title(
            textwrap.fill(title, 78),
            fontsize=_FONT["title"],
            loc="left",
            pad=6 + 11 * (sub.count("\n") + 1) if sub else 6,
        )
    if sub:
        ax.annotate(
            sub,
            xy=(0.0, 1.0),
            xycoords="axes fraction",
            xytext=(0, 4),
            textcoords="offset points",
            fontsize=_FONT["subtitle"],
            color="#444444",
            va="bottom",
            ha="left",
            annotation_clip=False,
        )
    return ax


# ------------------------------------------------------------------- LCD screen


def _volume_label(result: ScreenResult) -> tuple[str, str]:
    s = result.settings
    if s.basis == "services":
        return "CT/MR units", "3D units per CT/MR unit"
    what = "non-oncology CT/MR encounters" if s.oncology_exemption_applied else "CT/MR encounters"
    return what, f"{what[0].upper()}{what[1:]} with 3D rendering"


def _finding(result: ScreenResult) -> str:
    """The title: the flagged tier first, as the screen's headline states it."""
    s, k = result.settings, result.tiers
    if result.overdispersion.rejects(s.alpha):
        return (f"{result.n_flagged} of {result.n_screened} practices bill 3D above the "
                f"{s.threshold:.0%} benchmark beyond the usual variation between practices; "
                f"{k['beyond_chance']} beyond chance alone")
    return (
        f"{result.n_flagged} of {result.n_screened} practices bill 3D above the "
        f"{s.threshold:.0%} benchmark beyond chance"
    )


def funnel_plot(
    result: ScreenResult,
    *,
    overdispersion: str | None = "tau2",
    label_flagged: bool = True,
    log_x: bool | None = None,
    highlight: str | None = None,
    hide: Iterable[str] = (),
) -> Figure:
    """Funnel plot: each practice's rate against its volume, around the benchmark.

    Shows the threshold, the exact binomial 95 % and 99.8 % limits (Spiegelhalter's
    interpolation, solid), the overdispersion-adjusted limits (``"tau2"``: additive
    DerSimonian–Laird, ``"phi"``: multiplicative Winsorised; dashed) beside them, and
    the practices flagged by the screen's leading tier (labelled; see
    :attr:`analysis.lcd.ScreenResult.flag_label`). Practices with
    n = 0 are not plotted.

    Parameters
    ----------
    result : ScreenResult
    overdispersion : {"tau2", "phi", None}
        Which adjusted limits to draw (None: exact limits only).
    label_flagged : bool
        Write the practice id next to each flagged practice. A practice's own
        scorecard sets it False, so peers stay anonymous (as in CMS comparative
        billing reports).
    log_x : bool, optional
        Log volume axis; default when volumes span more than a factor of 20.
    highlight : str, optional
        A practice drawn with its own marker (a large star) and labelled "This
        practice (id)": the practice a scorecard is about. A practice of the screen
        that could not be screened (no CT/MR imaging in the basis) is not drawn; the
        subtitle says so.
    hide : iterable of str
        Practices not plotted (e.g. those whose counts a shared report suppresses);
        the subtitle says how many. The title still counts every practice screened.

    Raises
    ------
    InputError
        ``overdispersion`` not one of the choices, or ``highlight`` not a practice
        of the screen.
    """
    if overdispersion not in ("tau2", "phi", None):
        raise InputError(
            "overdispersion must be 'tau2', 'phi' or None",
            column="overdispersion",
            value=overdispersion,
        )
    s = result.settings
    t = s.threshold
    tab = result.table.loc[result.table["screened"]]
    ids = tab["practice_id"].astype(str)
    if highlight is not None and str(highlight) not in set(result.table["practice_id"].astype(str)):
        raise InputError("not a practice of the screen", column="highlight", value=highlight)
    unscreened = (
        f"; this practice ({highlight}) is not screened: it has no {_volume_label(result)[0]}"
        if highlight is not None and str(highlight) not in set(ids) else ""
    )
    hidden = {str(h) for h in hide}
    n_hidden = int(ids.isin(hidden).sum())
    this = tab.loc[ids == str(highlight)] if highlight is not None else tab.iloc[:0]
    tab = tab.loc[~ids.isin(hidden | ({str(highlight)} if highlight is not None else set()))]
    fig, ax = new_figure()
    if tab.empty and this.empty:
        style_axes(ax, xlabel="Volume", ylabel="Rate", title="No practice to screen",
                   subtitle=unscreened.lstrip("; ").capitalize())
        return fig
    shown_this = this.loc[~this["practice_id"].astype(str).isin(hidden)]
    n = np.concatenate([tab["n_ct_mr"].to_numpy(float), shown_this["n_ct_mr"].to_numpy(float)])
    if n.size == 0:
        style_axes(ax, xlabel="Volume", ylabel="Rate",
                   title="No practice can be shown (small counts suppressed)")
        return fig
    lo_n, hi_n = max(1.0, n.min() / 1.5), n.max() * 1.5
    if log_x is None:
        log_x = hi_n / lo_n > 20
    grid = np.unique(
        np.round(np.geomspace(lo_n, hi_n, 400) if log_x else np.linspace(lo_n, hi_n, 400))
    )
    limit_style = {
        "95": (COLORS["secondary"], 1.2, "95 %"),
        "998": (COLORS["primary"], 1.4, "99.8 %"),
    }
    for tag, level in (("95", 0.95), ("998", 0.998)):
        color, lw, name = limit_style[tag]
        lo, hi = funnel_limits(grid, t, level)
        ax.plot(grid, hi, color=color, lw=lw, label=f"Exact {name} limits")
        ax.plot(grid, lo, color=color, lw=lw)
        if overdispersion is not None and result.overdispersion.estimable:
            od = result.overdispersion
            upper = od.upper(grid, t, level, method=overdispersion)
            lower = od.lower(grid, t, level, method=overdispersion)
            adj = (
                f"τ² = {od.tau2_used:.2g}" if overdispersion == "tau2" else f"φ = {od.phi_used:.2f}"
            )
            ax.plot(
                grid,
                np.clip(upper, 0, 1),
                color=color,
                lw=lw,
                ls="--",
                label=f"{name} limits, overdispersion-adjusted ({adj})",
            )
            ax.plot(grid, np.clip(lower, 0, 1), color=color, lw=lw, ls="--")
    ax.axhline(
        t, color=COLORS["reference"], lw=1.2, label=f"Benchmark {t:.0%} (retired LCD L35408)"
    )
    flagged = tab["flag"].to_numpy(bool)
    n_peers = tab["n_ct_mr"].to_numpy(float)
    ax.scatter(
        n_peers[~flagged],
        tab["rate"].to_numpy(float)[~flagged],
        s=22,
        color=COLORS["muted"],
        edgecolor="white",
        linewidth=0.4,
        zorder=3,
        label="Practice",
    )
    ax.scatter(
        n_peers[flagged],
        tab["rate"].to_numpy(float)[flagged],
        s=36,
        marker="D",
        color=COLORS["highlight"],
        edgecolor=COLORS["reference"],
        linewidth=0.6,
        zorder=4,
        label=f"Flagged: {result.flag_label}",
    )
    if not shown_this.empty:
        rec = shown_this.iloc[0]
        ax.scatter(
            [float(rec["n_ct_mr"])],
            [float(rec["rate"])],
            s=160,
            marker="*",
            color=COLORS["primary"],
            edgecolor=COLORS["reference"],
            linewidth=0.8,
            zorder=5,
            label=f"This practice ({rec['practice_id']})",
        )
        ax.annotate(
            f"This practice ({rec['practice_id']}{', flagged' if bool(rec['flag']) else ''})",
            (float(rec["n_ct_mr"]), float(rec["rate"])),
            xytext=(7, 6),
            textcoords="offset points",
            fontsize=9,
            fontweight="bold",
        )
    if label_flagged:
        for _, row in tab.loc[tab["flag"]].iterrows():
            ax.annotate(
                str(row["practice_id"]),
                (row["n_ct_mr"], row["rate"]),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=8,
            )
    if log_x:
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    rates = np.concatenate([tab["rate"].to_numpy(float), shown_this["rate"].to_numpy(float)])
    ymax = max(float(np.nanmax(rates)), t) * 1.15
    ax.set_ylim(0, min(1.0, max(ymax, 2 * t)))
    ax.set_xlim(lo_n, hi_n)
    volume, rate = _volume_label(result)
    style_axes(
        ax,
        xlabel=f"Volume: {volume} per practice" + (" (log scale)" if log_x else ""),
        ylabel=f"{rate} (%)",
        title=_finding(result),
        subtitle=(
            "Funnel plot: one-sided exact binomial test, Benjamini–Hochberg; "
            "benchmark from Novitas LCD L35408 (retired 2023-09-28)"
            + (f"; {n_hidden} {'practice' if n_hidden == 1 else 'practices'} with small "
               "counts not shown" if n_hidden else "")
            + unscreened
            + ("" if result.overdispersion.estimable else
               "; overdispersion not estimable, exact limits only")
        ),
        percent_y=True,
    )
    legend_below(fig, ax)
    return fig


def rate_distribution(result: ScreenResult, *, bins: int | None = None) -> Figure:
    """Histogram of practices' rates, flagged practices stacked in the highlight colour.

    Marks the benchmark and the peer-percentile cut (the PEPPER-style screen), so the
    figure shows how many practices each rule would single out.
    """
    s = result.settings
    tab = result.table.loc[result.table["screened"]]
    fig, ax = new_figure()
    rates = tab["rate"].to_numpy(float)
    if rates.size == 0:
        style_axes(ax, xlabel="Rate", ylabel="Practices", title="No practice to screen")
        return fig
    flagged = tab["flag"].to_numpy(bool)
    top = max(float(rates.max()), s.threshold) * 1.05
    edges = np.linspace(0, top, (bins or min(30, max(8, rates.size // 2))) + 1)
    ax.hist(
        [rates[~flagged], rates[flagged]],
        bins=edges,
        stacked=True,
        color=[COLORS["primary"], COLORS["highlight"]],
        edgecolor="white",
        label=["Not flagged", f"Flagged: {result.flag_label}"],
    )
    ax.axvline(s.threshold, color=COLORS["reference"], lw=1.4, label=f"Benchmark {s.threshold:.0%}")
    cut = float(np.quantile(rates, s.percentile_flag))
    ax.axvline(
        cut,
        color=COLORS["reference"],
        lw=1.2,
        ls=":",
        label=f"Peer {s.percentile_flag:.0%} quantile ({cut:.1%})",
    )
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    _, rate = _volume_label(result)
    above = int((rates > s.threshold).sum())
    style_axes(
        ax,
        xlabel=f"{rate} (%)",
        ylabel="Practices (count)",
        title=(
            f"Median practice {np.median(rates):.1%}; {above} of {rates.size} above "
            f"{s.threshold:.0%}, {int(flagged.sum())} beyond chance"
        ),
        subtitle="Distribution of practice rates; benchmark from retired Novitas LCD L35408",
    )
    legend_below(fig, ax)
    return fig


def trend_plot(result: ScreenResult, practice_id: str) -> Figure:
    """One practice's rate per period with its interval, the benchmark and the upper
    exact 95 %/99.8 % funnel limits at that period's volume.

    Raises
    ------
    InputError
        ``practice_id`` is not in the result.
    """
    s = result.settings
    tr = result.trend.loc[result.trend["practice_id"] == str(practice_id)]
    if tr.empty:
        known = ", ".join(sorted(result.trend["practice_id"].unique())[:10])
        raise InputError(
            f"practice not in the screen (first ids: {known})",
            column="practice_id",
            value=practice_id,
        )
    tr = tr.loc[tr["n_ct_mr"] > 0].sort_values("period")
    fig, ax = new_figure()
    if tr.empty:
        volume, _ = _volume_label(result)
        style_axes(ax, xlabel="Period", ylabel="Rate",
                   title=f"Practice {practice_id}: no period can be screened",
                   subtitle=f"It has no {volume} in the claims; its rate is not estimable")
        return fig
    pos = np.arange(len(tr))
    rate = tr["rate"].to_numpy(float)
    yerr = np.vstack([rate - tr["ci_low"].to_numpy(float), tr["ci_high"].to_numpy(float) - rate])
    ax.axhline(s.threshold, color=COLORS["reference"], lw=1.2, label=f"Benchmark {s.threshold:.0%}")
    ax.plot(
        pos,
        tr["funnel_hi95"],
        color=COLORS["secondary"],
        lw=1.0,
        marker="_",
        ms=14,
        label="Exact 95 % upper limit at the period's volume",
    )
    ax.plot(
        pos,
        tr["funnel_hi998"],
        color=COLORS["primary"],
        lw=1.0,
        marker="_",
        ms=14,
        ls="--",
        label="Exact 99.8 % upper limit",
    )
    ax.errorbar(
        pos,
        rate,
        yerr=yerr,
        fmt="o",
        color=COLORS["highlight"],
        ecolor=COLORS["highlight"],
        mec=COLORS["reference"],
        capsize=3,
        zorder=4,
        label=f"Rate with {s.ci_level:.0%} interval",
    )
    ax.set_xticks(pos, tr["period"].astype(str).tolist())
    ax.set_xlim(-0.5, len(tr) - 0.5)
    top = np.nanmax(np.concatenate([tr["ci_high"].to_numpy(float), [s.threshold * 1.6]]))
    ax.set_ylim(0, min(1.0, top * 1.1))
    above = int(tr["above_exact_998"].sum())
    _, label = _volume_label(result)
    style_axes(
        ax,
        xlabel="Period",
        ylabel=f"{label} (%)",
        title=(f"Practice {practice_id}: above the 99.8 % limit in {above} of {len(tr)} periods"),
        subtitle=(
            "Per-period exact limits around the benchmark; periods are not "
            "adjusted for multiplicity"
        ),
        percent_y=True,
    )
    legend_below(fig, ax)
    return fig


# ------------------------------------------------------------ quarterly trends


def _effective_position(periods: list[str], effective) -> float | None:
    """Where the effective date falls on an axis of quarters at 0, 1, 2, ...: the
    boundary before the quarter it starts (``i - 0.5``), proportionally inside it."""
    if effective is None or not periods:
        return None
    quarters = [pd.Period(p, "Q") for p in periods]
    when = pd.Timestamp(effective)
    for i, q in enumerate(quarters):
        if q.start_time <= when <= q.end_time:
            share = (when - q.start_time) / (q.end_time - q.start_time)
            return i - 0.5 + float(share)
    return None


def quarterly_trend_plot(result: TrendResult, practice_id: str | None = None) -> Figure:
    """The PEPPER-style trend: the 3D rate per quarter with its interval, the benchmark
    line and the policy's effective date, above the quarter's volume.

    ``practice_id=None`` draws the statewide trend (all practices' counts added up;
    the bars are the practices flagged per quarter); a practice's draws its own
    quarters, flagged quarters filled, quarters too few to judge hollow and grey. A
    quarter left out of ``result.table`` (suppressed in a shared report) is a gap.

    Raises
    ------
    InputError
        ``practice_id`` has no quarter in the result.
    """
    s = result.settings
    periods = list(result.periods)
    pos_of = {p: i for i, p in enumerate(periods)}
    what = ("non-oncology CT/MR encounters" if s.oncology_exemption_applied
            else "CT/MR encounters" if s.basis == "encounters" else "CT/MR units")
    if practice_id is None:
        rows = result.statewide.loc[result.statewide["n_ct_mr"] > 0]
        flagged = rows["n_practices_flagged"].to_numpy(int)
    else:
        rows = result.table.loc[(result.table["practice_id"] == str(practice_id))
                                & (result.table["n_ct_mr"] > 0)]
        if rows.empty and not (result.table["practice_id"] == str(practice_id)).any():
            raise InputError("practice has no quarter in the trend", column="practice_id",
                             value=practice_id)
        flagged = rows["flag"].to_numpy(bool)
    fig = NotebookFigure(figsize=(7.0, 5.4), layout="constrained", dpi=110)
    ax, vol = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2]})
    pos = np.array([pos_of[p] for p in rows["period"]], dtype=float)
    rate = rows["rate"].to_numpy(float)
    ax.axhline(s.threshold, color=COLORS["reference"], lw=1.2,
               label=f"Benchmark {s.threshold:.0%}")
    if len(rows):
        yerr = np.vstack([rate - rows["ci_low"].to_numpy(float),
                          rows["ci_high"].to_numpy(float) - rate])
        ax.errorbar(pos, rate, yerr=yerr, fmt="none", ecolor=COLORS["primary"], capsize=3,
                    lw=1.0, zorder=3)
        # the line joins neighbouring quarters only: a quarter not shown is a gap
        line = np.full(len(periods), np.nan)
        line[pos.astype(int)] = rate
        ax.plot(np.arange(len(periods)), line, color=COLORS["primary"], lw=1.0, zorder=3)
    if practice_id is None:
        ax.plot(pos, rate, "o", color=COLORS["primary"], mec=COLORS["reference"], zorder=4,
                label=f"Rate of all practices with {s.ci_level:.0%} interval")
    else:
        judged = ~rows["too_few"].to_numpy(bool)
        for mask, style, label in (
                (flagged & judged, dict(color=COLORS["highlight"], mec=COLORS["reference"]),
                 "Quarter flagged"),
                (~flagged & judged, dict(color="white", mec=COLORS["primary"]),
                 "Quarter not flagged"),
                (~judged, dict(color="white", mec=COLORS["muted"]), "Too few to judge")):
            if mask.any():
                ax.plot(pos[mask], rate[mask], "o", ms=7, mew=1.3, zorder=4, label=label,
                        **style)
    at = _effective_position(periods, result.effective_date)
    for axis in (ax, vol):
        if at is not None:
            axis.axvline(at, color=COLORS["muted"], ls="--", lw=1.2,
                         label=f"Policy effective {result.effective_date:%Y-%m-%d}"
                         if axis is ax else None)
    top = np.nanmax(np.concatenate([rows["ci_high"].to_numpy(float), [s.threshold * 1.6]]))
    ax.set_ylim(0, min(1.0, top * 1.1))
    vol.bar(pos, rows["n_ct_mr"].to_numpy(float), color=COLORS["secondary"], width=0.6)
    vol.set_xticks(np.arange(len(periods)), periods, rotation=45, ha="right")
    vol.set_xlim(-0.5, len(periods) - 0.5)
    vol.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    who = "All practices" if practice_id is None else f"Practice {practice_id}"
    if practice_id is None:
        first, last = rows.iloc[0], rows.iloc[-1]
        title = (f"{who}: {first['rate']:.1%} of {what} with 3D in {first['period']}, "
                 f"{last['rate']:.1%} in {last['period']}")
        subtitle = (f"Practices flagged per quarter: {flagged.min()} to {flagged.max()}; "
                    "the interval treats encounters as independent")
    elif rows.empty:
        title, subtitle = f"{who}: no quarter can be shown", "Every quarter is withheld"
    else:
        judged_n = int((~rows["too_few"]).sum())
        title = (f"{who}: flagged in {int(flagged.sum())} of {judged_n} "
                 f"quarter{'s' * (judged_n != 1)} judged")
        subtitle = ("Each quarter screened on its own claims, among the practices with "
                    "claims in it; gaps are quarters not shown")
    # on two lines, so that the rate's label stays beside its own panel
    style_axes(ax, xlabel="", ylabel=textwrap.fill(f"{what[0].upper()}{what[1:]} with 3D (%)",
                                                   28),
               title=title, subtitle=subtitle, percent_y=True)
    style_axes(vol, xlabel="Quarter", ylabel=f"{what.split(' ')[-1].capitalize()}")
    fig.align_ylabels([ax, vol])
    legend_below(fig, ax, ncol=3)
    return fig


# ------------------------------------------------------------- measured response


def event_study_plot(result: ResponseResult) -> Figure:
    """The policy payer's 3D rate quarter by quarter against each control payer.

    Each control's event-study effects with their intervals (the reference quarter,
    the last before the effective date, is 0 by definition), the post period shaded,
    and the headline difference in differences drawn across the post quarters with its
    interval. The title states the measured stop share (or that its interval covers 0),
    the subtitle the pre-trend tests.

    Parameters
    ----------
    result : analysis.response.ResponseResult
        From :func:`analysis.response.estimate_response`.
    """
    s, ev, head = result.settings, result.event_study, result.headline_row
    names = dict(zip(result.estimates["control"], result.estimates["control_label"],
                     strict=True))  # fmt: skip
    ratio = s.model == "ratio"
    scale = 1.0 if ratio else 100.0  # the linear model's rates in percentage points
    ylabel = (f"{result.policy_label} 3D rate vs the last quarter before, beyond the "
              f"control's change ({'%' if ratio else 'percentage points'})")  # fmt: skip
    fig, ax = new_figure(width=8.0, height=5.4)
    if ev.empty:
        style_axes(ax, xlabel="Calendar quarter", ylabel=ylabel,
                   title="No response can be measured",
                   subtitle=" ".join(result.warnings))  # fmt: skip
        return fig
    quarters = sorted(ev["period"].unique())
    pos = {q: i for i, q in enumerate(quarters)}
    end = len(quarters) - 0.5
    post = [pos[q] for q in ev.loc[ev["post"], "period"]]
    if post:
        start = min(post) - 0.5
        ax.axvspan(start, end, color="#EEEEEE", zorder=0,
                   label=f"From the effective date, {s.effective_date.day} "
                         f"{s.effective_date:%B %Y}")
        ax.axvline(start, color=COLORS["reference"], lw=1.0, ls="--")
        if head["status"] != "withheld":
            # The difference in differences on the event study's scale.
            mid, lo, hi = ((-head["stop_share"], -head["stop_share_ci_high"],
                            -head["stop_share_ci_low"]) if ratio else
                           (head["rate_change"], head["rate_change_ci_low"],
                            head["rate_change_ci_high"]))  # fmt: skip
            ax.fill_between([start, end], lo * scale, hi * scale, color=PALETTE[0],
                            alpha=0.15, lw=0)
            ax.hlines(mid * scale, start, end, color=PALETTE[0], lw=1.8,
                      label=f"All quarters after, against {names[head['control']]} "
                            f"({s.ci_level:.0%} interval shaded)")  # fmt: skip
    ax.axhline(0, color=COLORS["reference"], lw=0.8)
    controls = list(dict.fromkeys(ev["control"]))
    for k, control in enumerate(controls):
        e = ev.loc[ev["control"].eq(control)]
        x = np.array([pos[q] for q in e["period"]]) + 0.18 * (k - (len(controls) - 1) / 2)
        y = e["estimate"].to_numpy(float) * scale
        err = np.vstack([y - e["ci_low"].to_numpy(float) * scale,
                         e["ci_high"].to_numpy(float) * scale - y])  # fmt: skip
        ax.errorbar(x, y, yerr=err, fmt="osD^"[k % 4], color=PALETTE[k], ecolor=PALETTE[k],
                    ms=5, capsize=2.5, lw=1.0, zorder=3,
                    label=f"Each quarter, against {names[control]} "
                          f"({s.ci_level:.0%} interval)")  # fmt: skip
    ax.set_xticks(range(len(quarters)), quarters, rotation=45, ha="right")
    ax.set_xlim(-0.5, end)
    if ratio:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    interval = (f"{s.ci_level:.0%} interval {head['stop_share_ci_low']:.0%} to "
                f"{head['stop_share_ci_high']:.0%}")
    if head["status"] == "withheld":
        title = f"No response can be measured against {names[head['control']]}"
    elif head["stop_share_ci_low"] <= 0 <= head["stop_share_ci_high"]:
        title = (f"No measurable change in {result.policy_label} 3D renderings (stop share "
                 f"{head['stop_share']:.0%}, {interval})")
    else:
        title = (f"Practices stopped {head['stop_share']:.0%} of {result.policy_label} 3D "
                 f"renderings ({interval})")
    tests = "; ".join(
        f"pre-trend test against {names[r.control]}: p = {r.pretrend_p_value:.2f}"
        for r in result.estimates.itertuples() if np.isfinite(r.pretrend_p_value))
    style_axes(ax, xlabel="Calendar quarter", ylabel=textwrap.fill(ylabel, 48), title=title,
               subtitle=(f"Event study of {s.basis}; practice and quarter fixed effects, "
                         "intervals clustered by practice" + (f"; {tests}" if tests else "")))
    legend_below(fig, ax, ncol=1)
    return fig


# ---------------------------------------------------------------- impact figures
# Figures of the revenue model (analysis.impact, analysis.uncertainty). They take the
# result objects and return Figures; dollars are formatted as $k / $M.


def _usd(value: float, _pos: object = None) -> str:
    a = abs(value)
    if a >= 1e6:
        return f"${value / 1e6:,.1f}M"
    if a >= 1e3:
        return f"${value / 1e3:,.0f}k"
    return f"${value:,.0f}"


def _policy_name(name: str) -> str:
    """A policy's name in a figure: its kind's name (:data:`analysis.policy.POLICY_NAMES`)."""
    return POLICY_NAMES.get(str(name), str(name))


def _lower_first(text: str) -> str:
    """``text`` to follow a colon: its first letter lower-cased unless it begins an
    acronym (``LCD-style cap`` stays)."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _years(n: int) -> str:
    return f"{n} year" if n == 1 else f"{n} years"


def _pick_policy(result, policy: str | None) -> str:
    names = [p.name for p in result.policies]
    if policy is None:
        alternatives = [p.name for p in result.policies if p.kind != "status_quo"]
        return alternatives[0] if alternatives else names[0]
    if policy not in names:
        raise InputError(f"policy not in the result; choose one of {names}", column="policy",
                         value=policy)
    return policy


def impact_by_year(result, policy: str | None = None) -> Figure:
    """Statewide 3D revenue per year in the world without and with a policy.

    Parameters
    ----------
    result : analysis.impact.ImpactResult
    policy : str, optional
        Policy name (default: the first policy other than the status quo).
    """
    name = _pick_policy(result, policy)
    t = result.totals[result.totals["policy"] == name]
    fig, ax = new_figure(width=7.0, height=4.6)
    x = np.arange(len(t))
    ax.bar(x - 0.2, t["revenue_without_usd"], width=0.4, color=COLORS["muted"],
           label="Without the policy (status quo)")
    ax.bar(x + 0.2, t["revenue_with_usd"], width=0.4, color=COLORS["primary"],
           label=f"With the policy: {_policy_name(name)}")
    for xi, (w, loss) in enumerate(zip(t["revenue_without_usd"], t["loss_usd"], strict=True)):
        ax.annotate(f"-{_usd(loss)}", (xi + 0.2, w - loss), xytext=(0, 3),
                    textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(x, [f"Year {y}\n({s:%Y})" for y, s in zip(t["year"], t["year_start"],
                                                            strict=True)])
    ax.yaxis.set_major_formatter(FuncFormatter(_usd))
    total = t["loss_usd"].sum()
    style_axes(
        ax, xlabel="Horizon year", ylabel="3D rendering revenue, all practices (USD)",
        title=(f"{_policy_name(name)}: practices lose {_usd(total)} of 3D revenue over "
               f"{_years(len(t))}"),
        subtitle=("Year 1 = the baseline claims annualized; undiscounted; non-compliant "
                  "lines excluded from both worlds"),
    )
    legend_below(fig, ax)
    return fig


def loss_distribution(result, policy: str | None = None, *, year: int = 1) -> Figure:
    """Who loses most: each practice's loss as a share of its 3D revenue, ranked.

    One bar per practice (largest share first), coloured by the size of its loss
    in dollars; practices without 3D revenue are left out.
    """
    name = _pick_policy(result, policy)
    p = result.practices
    p = (p[(p["policy"] == name) & (p["year"] == year)]
         .dropna(subset=["loss_share"])
         .sort_values("loss_share", ascending=False, kind="stable"))
    fig, ax = new_figure(width=7.0, height=4.6)
    if p.empty:
        style_axes(ax, xlabel="Practices", ylabel="Loss, share of the practice's 3D revenue (%)",
                   title=f"{_policy_name(name)}: no practice has 3D revenue in the claims",
                   subtitle="Loss shares are not estimable without 3D revenue")
        return fig
    x = np.arange(len(p))
    big = p["loss_usd"] >= p["loss_usd"].median()
    ax.bar(x[big.to_numpy()], p.loc[big, "loss_share"], width=0.9, color=COLORS["highlight"],
           label="Loss at or above the median in dollars")
    ax.bar(x[~big.to_numpy()], p.loc[~big, "loss_share"], width=0.9, color=COLORS["primary"],
           label="Loss below the median in dollars")
    ax.set_xlim(-1, max(len(p), 1))
    ax.set_ylim(0, 1.05)
    ax.set_xticks([])
    half = int((p["loss_share"] > 0.5).sum())
    style_axes(
        ax, xlabel=f"Practices, ranked by loss share ({len(p)} with 3D revenue)",
        ylabel="Loss, share of the practice's 3D revenue (%)",
        title=(f"{_policy_name(name)}: {half} of {len(p)} practices lose more than half "
               "of their 3D revenue"),
        subtitle=f"Year {year}; share of 3D revenue from all payers",
        percent_y=True,
    )
    legend_below(fig, ax)
    return fig


_METRIC_LABELS = {
    "loss_usd": "3D revenue lost",
    "net_margin_loss_usd": "Net margin lost",
    "payer_savings_usd": "Payer savings",
    "patient_savings_usd": "Patient savings",
    "payer_3d_allowed_usd": "Payer's 3D allowed dollars",
}


def tornado_plot(tornado, *, top: int = 10) -> Figure:
    """One-way sensitivity (tornado): the outcome at each parameter's low and high bound.

    Parameters
    ----------
    tornado : DataFrame
        From :func:`analysis.uncertainty.one_way`.
    top : int
        Number of parameters shown (widest swings).
    """
    t = tornado[tornado["swing"] > 0].head(top).iloc[::-1]
    base = float(tornado["outcome_base"].iloc[0])
    fig, ax = new_figure(width=8.5, height=0.55 * max(len(t), 3) + 2.2)
    y = np.arange(len(t))
    ax.barh(y, t["outcome_low"] - base, left=base, color=COLORS["secondary"],
            label="Parameter at its low value")
    ax.barh(y, t["outcome_high"] - base, left=base, color=COLORS["primary"],
            label="Parameter at its high value")
    ax.axvline(base, color=COLORS["reference"], lw=1.0)
    names = t["label"] if "label" in t else t["parameter"]
    labels = [
        textwrap.fill(f"{name} ({r.low:g} to {r.high:g})", 42)
        for name, r in zip(names, t.itertuples(), strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=7.5)
    ax.xaxis.set_major_formatter(FuncFormatter(_usd))
    metric = tornado["metric"].iloc[0] if "metric" in tornado else "outcome"
    policy = tornado["policy"].iloc[0] if "policy" in tornado else ""
    lead = str((t["label"] if "label" in t else t["parameter"]).iloc[-1]) if len(t) \
        else "No parameter"
    ax.grid(True, axis="x")
    style_axes(ax, xlabel=f"{_METRIC_LABELS.get(metric, metric)} over the horizon (USD)",
               ylabel="",
               title=f"{_policy_name(policy)}: {_lower_first(lead)} moves the loss most"
               if policy else f"{lead} moves the loss most",
               subtitle=f"One-way sensitivity around the base case {_usd(base)}")
    legend_below(fig, ax)
    return fig


def psa_histogram(psa_result, *, metric: str = "loss_usd", bins: int = 50) -> Figure:
    """Distribution of a PSA total with its central interval and the base case."""
    x = psa_result.totals[metric].to_numpy()
    lo, hi = psa_result.interval(metric)
    det = psa_result.deterministic[metric]
    fig, ax = new_figure(width=7.0, height=4.6)
    ax.hist(x, bins=bins, color=COLORS["secondary"], edgecolor="white", linewidth=0.4,
            label=f"{len(x):,} draws")
    ax.axvspan(lo, hi, color=COLORS["primary"], alpha=0.12,
               label=f"{psa_result.level:.0%} interval {_usd(lo)} to {_usd(hi)}")
    ax.axvline(x.mean(), color=COLORS["primary"], lw=1.5, label=f"Mean {_usd(x.mean())}")
    ax.axvline(det, color=COLORS["reference"], lw=1.2, ls="--",
               label=f"Base case {_usd(det)}")
    ax.xaxis.set_major_formatter(FuncFormatter(_usd))
    style_axes(ax, xlabel=f"{_METRIC_LABELS.get(metric, metric)} over the horizon (USD)",
               ylabel="Number of draws",
               title=(f"{_policy_name(psa_result.policy.name)}: {psa_result.level:.0%} of "
                      f"draws between {_usd(lo)} and {_usd(hi)}"),
               subtitle="Probabilistic sensitivity analysis; distributions fitted to the "
                        "ranges of the assumption table")
    legend_below(fig, ax)
    return fig


def convergence_plot(conv) -> Figure:
    """Running mean and interval of a PSA total against the number of draws."""
    t = conv.table
    fig, ax = new_figure(width=7.0, height=4.6)
    ax.fill_between(t["n_draws"], t["lower"], t["upper"], color=COLORS["secondary"],
                    alpha=0.35, label=f"Running {conv.level:.0%} interval")
    ax.plot(t["n_draws"], t["mean"], color=COLORS["primary"], lw=1.6, label="Running mean")
    if conv.n_stable:
        ax.axvline(conv.n_stable, color=COLORS["reference"], lw=1.0, ls="--",
                   label=f"Stable within {conv.tolerance:.0%} from {conv.n_stable:,} draws")
    ax.yaxis.set_major_formatter(FuncFormatter(_usd))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    title = (f"The interval is stable from {conv.n_stable:,} draws" if conv.n_stable
             else "The interval has not yet stabilised: run more draws")
    style_axes(ax, xlabel="Number of draws",
               ylabel=f"{_METRIC_LABELS.get(conv.metric, 'Total')} (USD)",
               title=title,
               subtitle="Mean and interval of the first n draws; stable = moved by at most "
                        f"{conv.tolerance:.0%} of the mean since n/2 draws")
    legend_below(fig, ax)
    return fig


def policy_comparison(result, psa_results=None) -> Figure:
    """Horizon revenue loss of every policy, with PSA intervals where given.

    Parameters
    ----------
    result : analysis.impact.ImpactResult
    psa_results : sequence of analysis.uncertainty.PSAResult, optional
        Error bars from their intervals (matched by policy name).
    """
    s = result.summary
    s = s[s["loss_horizon_usd"].notna()]
    intervals = {r.policy.name: r.interval("loss_usd") for r in (psa_results or [])}
    fig, ax = new_figure(width=7.0, height=4.6)
    y = np.arange(len(s))[::-1]
    ax.barh(y, s["loss_horizon_usd"], color=COLORS["primary"], height=0.6,
            label="Base case")
    if intervals:
        lo = np.array([intervals.get(n, (v, v))[0] for n, v in
                       zip(s["policy"], s["loss_horizon_usd"], strict=True)])
        hi = np.array([intervals.get(n, (v, v))[1] for n, v in
                       zip(s["policy"], s["loss_horizon_usd"], strict=True)])
        ax.errorbar((lo + hi) / 2, y, xerr=(hi - lo) / 2, fmt="none",
                    ecolor=COLORS["reference"], capsize=4, label="PSA 95 % interval")
    ax.set_yticks(y, [textwrap.fill(_policy_name(n), 24) for n in s["policy"]])
    ax.xaxis.set_major_formatter(FuncFormatter(_usd))
    horizon = result.assumptions.horizon_years
    worst = s.loc[s["loss_horizon_usd"].idxmax(), "policy"] if len(s) else ""
    style_axes(ax, xlabel=f"3D revenue lost by all practices over {_years(horizon)} (USD)",
               ylabel="", title=f"{_policy_name(worst)} costs practices the most",
               subtitle="Undiscounted; each alternative applied to the same payers")
    ax.grid(True, axis="x")
    legend_below(fig, ax)
    return fig
