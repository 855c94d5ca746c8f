"""Tests for analysis.plots (LCD screen figures): figures are returned, never shown by
the package itself; a notebook cell that returns one shows it."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.core.formatters import DisplayFormatter  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis import lcd, plots  # noqa: E402
from analysis.errors import InputError  # noqa: E402
from analysis.paths import PROJECT_DIR  # noqa: E402
from analysis.report.parameters import KERNEL_NAME  # noqa: E402


def _summary() -> pd.DataFrame:
    """Eleven practices over four quarters: H1 and H2 bill 3D on ~35 % (flagged), P1-P9
    on 6-14 %; Z has only oncology encounters (n_ct_mr = 0: reported, never screened).
    """
    rows = []
    low = {f"P{i}": 0.05 + 0.01 * i for i in range(1, 10)}
    rates = {"H1": 0.35, "H2": 0.36, **low}
    for q in ("2024Q1", "2024Q2", "2024Q3", "2024Q4"):
        for k, (pid, r) in enumerate(rates.items()):
            n = 100 + 40 * k
            x = round(r * n)
            rows.append(
                {
                    "practice_id": pid,
                    "period": q,
                    "payer": "BCBSNC",
                    "n_encounters": n,
                    "n_encounters_3d": x,
                    "n_onc_encounters": 0,
                    "n_onc_encounters_3d": 0,
                    "n_nononc_encounters": n,
                    "n_nononc_encounters_3d": x,
                }
            )
    rows.append(
        {
            "practice_id": "Z",
            "period": "2024Q1",
            "payer": "BCBSNC",
            "n_encounters": 5,
            "n_encounters_3d": 0,
            "n_onc_encounters": 5,
            "n_onc_encounters_3d": 0,
            "n_nononc_encounters": 0,
            "n_nononc_encounters_3d": 0,
        }
    )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def result() -> lcd.ScreenResult:
    res = lcd.screen(_summary())
    # H1 and H2 are beyond chance; the robust tier flags neither (two outliers of eleven
    # make the peers vary beyond chance, which widens the limits). The figures draw
    # whatever a screen flags: here the beyond-chance tier.
    assert set(res.table.loc[res.table["beyond_chance"], "practice_id"]) == {"H1", "H2"}
    assert not res.table["flag"].any()
    return dataclasses.replace(res, table=res.table.assign(flag=res.table["beyond_chance"]))


def _render(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_palette_is_okabe_ito_without_a_red_green_pair():
    assert len(set(plots.PALETTE)) == len(plots.PALETTE) == 8
    assert set(plots.PALETTE) == set(plots.OKABE_ITO.values())
    # Flagged vs. not flagged is orange vs. grey: no red/green verdict.
    assert plots.COLORS["highlight"] == "#E69F00"
    assert "#FF0000" not in plots.PALETTE and "#00FF00" not in plots.PALETTE


def test_importing_plots_chooses_no_backend():
    # Figures are built without pyplot, so importing the module loads no pyplot, which
    # would pick a backend: the caller's choice stays the caller's.
    code = "import sys, analysis.plots; print('matplotlib.pyplot' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "False"


def test_funnel_plot(result):
    fig = plots.funnel_plot(result)
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == []  # not registered with pyplot: never shown
    ax = fig.axes[0]
    assert ax.get_title(loc="left").startswith("2 of 11 practices bill 3D above the 20%")
    assert "encounters" in ax.get_xlabel() and "(%)" in ax.get_ylabel()
    ids = set(result.table["practice_id"])
    assert sorted(t.get_text() for t in ax.texts if t.get_text() in ids) == ["H1", "H2"]
    styles = {(to_hex(line.get_color()), line.get_linestyle()) for line in ax.lines}
    assert ("#000000", "-") in styles  # threshold
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 2]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(solid) == 4 and len(dashed) == 4  # exact and adjusted, 95 % and 99.8 %
    # The exact upper 95 % curve is the one analysis.lcd.funnel_limits gives.
    curve = solid[0]
    n = np.asarray(curve.get_xdata(), dtype=float)
    np.testing.assert_allclose(curve.get_ydata(), lcd.funnel_limits(n, 0.2, 0.95)[1])
    # Points: 9 unflagged + 2 flagged; Z (n_ct_mr = 0) is not plotted.
    offsets = [c.get_offsets().shape[0] for c in ax.collections]
    assert sorted(offsets) == [2, 9]
    assert len(_render(fig)) > 10_000


def test_funnel_plot_without_overdispersion(result):
    ax = plots.funnel_plot(result, overdispersion=None, label_flagged=False).axes[0]
    assert not [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert all(t.get_text() not in ("H1", "H2") for t in ax.texts)
    with pytest.raises(InputError):
        plots.funnel_plot(result, overdispersion="both")


def test_rate_distribution(result):
    fig = plots.rate_distribution(result)
    ax = fig.axes[0]
    title = ax.get_title(loc="left")
    assert "2 of 11 above 20%" in title and "2 beyond chance" in title
    heights = sum(p.get_height() for p in ax.patches)
    assert heights == 11  # every screened practice counted once
    assert len(_render(fig)) > 10_000


def test_trend_plot(result):
    fig = plots.trend_plot(result, "H1")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert "H1: above the 99.8 % limit in 4 of 4 periods" in ax.get_title(loc="left")
    assert "P1: above the 99.8 % limit in 0 of 4" in plots.trend_plot(result, "P1").axes[
        0
    ].get_title(loc="left")
    assert len(_render(fig)) > 10_000
    with pytest.raises(InputError) as err:
        plots.trend_plot(result, "NOPE")
    assert err.value.column == "practice_id"


def test_style_axes_labels_and_spines():
    fig, ax = plots.new_figure()
    plots.style_axes(
        ax,
        xlabel="Year",
        ylabel="Revenue (USD)",
        title="Finding",
        subtitle="method",
        percent_y=False,
    )
    assert ax.get_xlabel() == "Year" and not ax.spines["top"].get_visible()
    assert fig.get_figwidth() == 7.0


def _labels(ax) -> list[str]:
    return [t.get_text() for t in ax.texts
            if isinstance(t, matplotlib.text.Annotation) and t.xycoords == "data"]


def _all_text(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def test_funnel_plot_highlights_one_practice_and_keeps_peers_anonymous(result):
    fig = plots.funnel_plot(result, highlight="P3", label_flagged=False)
    ax = fig.axes[0]
    # the practice itself is labelled; no peer (H1, H2 are flagged) is named anywhere
    assert _labels(ax) == ["This practice (P3)"]
    ids = set(result.table["practice_id"]) - {"P3"}
    words = {w.strip("(),.;:") for s in _all_text(fig) for w in s.split()}
    assert not ids & words
    assert "This practice (P3)" in _all_text(fig)  # the legend entry
    # 11 screened: 8 other unflagged + 2 flagged + the star of P3 at its own (n, rate)
    offsets = sorted(c.get_offsets().shape[0] for c in ax.collections)
    assert offsets == [1, 2, 8]
    star = next(c for c in ax.collections if c.get_offsets().shape[0] == 1)
    row = result.table.set_index("practice_id").loc["P3"]
    np.testing.assert_allclose(star.get_offsets()[0], [row["n_ct_mr"], row["rate"]])
    # a flagged practice highlighted says so; the default still labels flagged ids
    assert _labels(plots.funnel_plot(result, highlight="H1", label_flagged=False).axes[0]) == [
        "This practice (H1, flagged)"]
    assert sorted(_labels(plots.funnel_plot(result).axes[0])) == ["H1", "H2"]
    with pytest.raises(InputError) as err:
        plots.funnel_plot(result, highlight="NOPE")
    assert err.value.column == "highlight"


def test_funnel_plot_of_a_practice_not_screened_says_so(result):
    # Z has n_ct_mr = 0: its scorecard's funnel shows its peers and says why it is absent
    ax = plots.funnel_plot(result, highlight="Z", label_flagged=False).axes[0]
    assert _labels(ax) == []
    assert any("this practice (Z) is not screened: it has no non-oncology CT/MR encounters"
               in " ".join(t.split()) for t in _all_text(ax.figure))
    assert "Z: no period can be screened" in plots.trend_plot(result, "Z").axes[0].get_title(
        loc="left")


def test_funnel_plot_draws_exact_limits_only_without_overdispersion_estimate():
    # One practice: phi cannot be estimated, so no dashed (adjusted) limits are drawn.
    one = lcd.screen(pd.DataFrame({"practice_id": ["A"], "period": "2024", "payer": "X",
                                   "n_nononc_encounters": [40], "n_nononc_encounters_3d": [12]}))
    fig = plots.funnel_plot(one)
    assert not [ln for ln in fig.axes[0].lines if ln.get_linestyle() == "--"]
    assert any("overdispersion not estimable, exact limits only" in " ".join(t.split())
               for t in _all_text(fig))


def test_funnel_plot_hides_practices(result):
    fig = plots.funnel_plot(result, hide=["P1", "H2"])
    ax = fig.axes[0]
    # 11 screened - 2 hidden: 8 unflagged + 1 flagged; the title still counts all 11
    assert sorted(c.get_offsets().shape[0] for c in ax.collections) == [1, 8]
    assert _labels(ax) == ["H1"]
    assert ax.get_title(loc="left").startswith("2 of 11 practices")
    assert any("2 practices with small counts not shown" in t for t in _all_text(fig))


# ------------------------------------------------------------------- in a notebook


def test_a_figure_shows_itself_to_ipython_without_pyplot(result):
    # What IPython does with a cell's last value: the figure gives a PNG of itself,
    # whatever the backend, and pyplot never holds it.
    data, _ = DisplayFormatter().format(plots.funnel_plot(result))
    png = data["image/png"]
    assert (png if isinstance(png, bytes) else png.encode())[:4] in (b"\x89PNG", b"iVBO")
    assert plt.get_fignums() == []


def test_png_bytes_writes_dollar_signs_as_text_and_the_same_bytes_twice():
    fig, ax = plots.new_figure()
    ax.set_title("95% of draws between $303k and $386k")
    assert plots.png_bytes(fig) == plots.png_bytes(fig)
    assert ax.title.get_parse_math() is False


def _pixels(data: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(data), format="png")


def test_png_bytes_draws_once_and_crops_as_savefig_tight_does():
    # Reference: matplotlib's own savefig(bbox_inches="tight"). With the content at
    # least the 0.1-inch pad from every edge, the crop of the single drawing must have
    # the same size and the same pixels, but for anti-aliasing: "tight" draws again at
    # the box's fractional offset, a crop shifts by whole pixels.
    fig, ax = plots.new_figure(width=5, height=4)
    fig.get_layout_engine().set(w_pad=0.3, h_pad=0.3)
    ax.plot([0, 1, 2], [3, 1, 2], label="a line")
    plots.style_axes(ax, xlabel="x (count)", ylabel="y (count)", title="A finding",
                     subtitle="a method")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=144, bbox_inches="tight", metadata={"Software": None})
    mine, theirs = _pixels(plots.png_bytes(fig, dpi=144)), _pixels(buf.getvalue())
    assert mine.shape == theirs.shape
    assert np.abs(mine - theirs).mean() < 0.01  # 0.0037 when written
    assert (mine != theirs).any(axis=2).mean() < 0.1  # 5 % of the pixels, on edges
    assert fig.dpi == 110  # the figure's own dpi is back


def test_png_bytes_widens_a_figure_whose_title_overflows_it():
    fig, ax = plots.new_figure(width=3, height=2)
    ax.set_title("A title much too long for a figure three inches wide, overflowing it",
                 loc="left")
    png = _pixels(plots.png_bytes(fig, dpi=100))
    assert png.shape[1] > 3 * 100  # widened to the title, as savefig's "tight" does


def test_results_show_their_figure_with_the_finding_as_alternative_text(result):
    img = plots.figure_html(plots.funnel_plot(result))
    assert img.startswith('<img src="data:image/png;base64,')
    # the fixture's flag is the beyond-chance tier, so both tiers count 2
    assert ('alt="2 of 11 practices bill 3D above the 20% benchmark beyond the usual '
            'variation between practices; 2 beyond chance alone"') in img
    html = result._repr_html_()
    assert html.count("<img") == 1 and 'alt="2 of 11 practices bill 3D' in html


@pytest.mark.slow
def test_readme_notebook_example_shows_figures_in_a_fresh_kernel(tmp_path):
    # The README's notebook example, one line a cell, in a fresh kernel started in an
    # empty folder, with no magics and no backend chosen by the caller.
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## In a notebook\n\n```python\n(.*?)```", readme, re.S).group(1)
    cells = [line.split("  #")[0].rstrip() for line in block.splitlines() if line.strip()]
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    km = KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel(cwd=str(tmp_path), env=env)
    kc = km.client()
    kc.start_channels()
    outputs = {}
    try:
        kc.wait_for_ready(timeout=120)
        for code in cells:
            got: list[dict] = []
            reply = kc.execute_interactive(code, timeout=600, output_hook=got.append)
            errors = [m["content"] for m in got if m["msg_type"] == "error"]
            assert reply["content"]["status"] == "ok", (code, errors)
            outputs[code] = [m["content"]["data"] for m in got
                             if m["msg_type"] in ("execute_result", "display_data")]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    figure = outputs["rad3d.funnel_plot(result)"]
    assert len(figure) == 1 and "image/png" in figure[0]
    assert "<img" in outputs["result"][0]["text/html"]
    assert "<img" in outputs["impact"][0]["text/html"]



# ------------------------------------------------------------- measured response


def _response_cells(stop: float) -> pd.DataFrame:
    """Twelve practices over 2024-2025 with Poisson noise; BCBSNC cut by ``stop`` in 2025."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(12):
        for t, q in enumerate(f"{y}Q{k}" for y in (2024, 2025) for k in (1, 2, 3, 4)):
            for payer in ("BCBSNC", "OTHER_COMMERCIAL", "MEDICARE"):
                n = 300 + 50 * i
                cut = 1 - stop if payer == "BCBSNC" and t >= 4 else 1.0
                x = rng.poisson(n * (0.04 + 0.02 * (i % 4)) * (1 + 0.03 * t) * cut)
                rows.append({"practice_id": f"P{i:02d}", "period": q, "payer": payer,
                             "n_nononc_encounters": n, "n_nononc_encounters_3d": x})
    return pd.DataFrame(rows)


def test_event_study_plot():
    from analysis.response import estimate_response

    result = estimate_response(_response_cells(0.4))
    fig = plots.event_study_plot(result)
    assert isinstance(fig, Figure) and plt.get_fignums() == []
    ax = fig.axes[0]
    head = result.headline_row
    assert ax.get_title(loc="left").startswith(
        f"Practices stopped {head['stop_share']:.0%} of BCBS NC 3D renderings (95% interval")
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["2024Q1", "2024Q2"]
    assert "(%)" in ax.get_ylabel().replace("\n", " ")
    # One series of points per control payer, the difference in differences across the
    # post quarters at minus the stop share.
    assert len(ax.containers) == 2
    (did,) = [c for c in ax.collections if c.get_label().startswith("All quarters after")]
    assert np.allclose(did.get_segments()[0][:, 1], -head["stop_share"])
    subtitle = " ".join(t.get_text() for t in ax.texts)
    assert "pre-trend test against other commercial insurers: p =" in subtitle
    assert len(_render(fig)) > 10_000
    linear = plots.event_study_plot(estimate_response(_response_cells(0.4), model="linear"))
    assert "percentage points" in linear.axes[0].get_ylabel().replace("\n", " ")
    none = estimate_response(_response_cells(0.0))
    assert none.stop_share_ci[0] <= 0 <= none.stop_share_ci[1]
    assert plots.event_study_plot(none).axes[0].get_title(loc="left").startswith(
        "No measurable change in BCBS NC 3D renderings (stop share")


def test_event_study_plot_of_a_withheld_estimate_says_so():
    from analysis.response import estimate_response

    cells = _response_cells(0.0)
    ax = plots.event_study_plot(estimate_response(cells[cells["payer"].eq("BCBSNC")])).axes[0]
    assert ax.get_title(loc="left") == "No response can be measured"
    assert "No control payer" in " ".join(t.get_text() for t in ax.texts)
