"""Tests for analysis.trends: PEPPER-style quarterly trends of rate, volume and flag status."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import lcd, plots
from analysis.errors import InputError
from analysis.trends import quarterly_trends


def _quarters(cells: dict[str, list[tuple[int, int]]], periods: list[str]) -> pd.DataFrame:
    """A quarterly summary: ``{practice: [(encounters, with 3D) per period]}``, no
    oncology, one payer; a ``None`` cell is a quarter without claims."""
    rows = []
    for practice, values in cells.items():
        for period, cell in zip(periods, values, strict=True):
            if cell is not None:
                rows.append({"practice_id": practice, "period": period, "payer": "BCBSNC",
                             "n_nononc_encounters": cell[0], "n_nononc_encounters_3d": cell[1],
                             "n_encounters": cell[0], "n_encounters_3d": cell[1]})
    return pd.DataFrame(rows)


Q3 = ["2024Q1", "2024Q2", "2024Q3"]
# UP: 10 % then 40 % of 200 (newly flagged); DOWN: the reverse (no longer flagged);
# MID: 40 % only in the middle quarter (flagged in some quarters); FLAT1-10 at 10 %.
# Each quarter: 12 practices at 10 %, one at 40 %; Winsorising caps the one, so the
# practices vary no more than chance and the flag is the exact test's (q < 0.05).
CELLS = {"UP": [(200, 20), (200, 20), (200, 80)],
         "DOWN": [(200, 80), (200, 20), (200, 20)],
         "MID": [(200, 20), (200, 80), (200, 20)],
         **{f"FLAT{i}": [(200, 20)] * 3 for i in range(1, 11)}}


@pytest.fixture(scope="module")
def small():
    return quarterly_trends(_quarters(CELLS, Q3), effective_date="2024-07-01")


def test_each_quarter_is_the_screen_of_that_quarter_alone(small):
    q = _quarters(CELLS, Q3)
    for period in Q3:
        alone = lcd.screen(q.loc[q["period"] == period]).table.set_index("practice_id")
        got = small.table.loc[small.table["period"] == period].set_index("practice_id")
        for col in ("n_ct_mr", "n_3d", "rate", "q_value", "flag", "status", "too_few"):
            pd.testing.assert_series_equal(got[col], alone.loc[got.index, col],
                                           check_names=False)


def test_changes_of_flag_status_in_words(small):
    changes = small.changes.set_index("practice_id")
    assert changes["change"].to_dict() == {"DOWN": "no longer flagged",
                                           "MID": "flagged in some quarters",
                                           "UP": "newly flagged"}
    assert changes.loc["MID", "flagged_quarters"] == "2024Q2"
    assert changes.loc["UP", ["periods_flagged", "periods_judged"]].tolist() == [1, 3]
    assert changes.loc["UP", "first_status"] == "at or below the benchmark"
    assert "FLAT1" not in changes.index  # never flagged: no change


def test_statewide_adds_the_practices_up_with_an_exact_interval(small):
    sw = small.statewide.set_index("period")
    # 2024Q1: 13 x 200 = 2600 encounters, 12 x 20 + 80 = 320 with 3D
    assert sw.loc["2024Q1", ["n_ct_mr", "n_3d"]].tolist() == [2600, 320]
    assert sw.loc["2024Q1", "rate"] == pytest.approx(320 / 2600)
    # Clopper-Pearson: scipy.stats.beta.ppf(0.025, 320, 2281), beta.ppf(0.975, 321, 2280)
    assert sw.loc["2024Q1", "ci_low"] == pytest.approx(stats.beta.ppf(0.025, 320, 2281))
    assert sw.loc["2024Q1", "ci_high"] == pytest.approx(stats.beta.ppf(0.975, 321, 2280))
    assert sw["n_practices_flagged"].tolist() == [1, 1, 1]
    assert sw["n_practices_screened"].tolist() == [13, 13, 13]
    assert sw["after_effective_date"].tolist() == [False, False, True]
    assert small.table["after_effective_date"].sum() == 13  # the practices' 2024Q3
    assert small.effective_date == dt.date(2024, 7, 1)


def test_twelve_quarters_back_from_the_last_with_gaps_kept():
    periods = [str(p) for p in pd.period_range("2022Q1", "2025Q2", freq="Q")]  # 14
    cells = {"A": [(100, 10)] * 14, "B": [(100, 10)] * 14,
             "LATE": [None] * 12 + [(100, 10)] * 2}
    q = _quarters(cells, periods)
    q = q.loc[q["period"] != "2024Q1"]  # a quarter without any claims
    t = quarterly_trends(q)
    assert t.periods[0] == "2022Q3" and t.periods[-1] == "2025Q2" and len(t.periods) == 12
    assert "2024Q1" in t.periods and "2024Q1" not in set(t.table["period"])
    assert t.statewide.set_index("period").loc["2024Q1", "n_ct_mr"] == 0
    assert t.practice("LATE")["period"].tolist() == ["2025Q1", "2025Q2"]
    assert t.practice("NOPE").empty
    assert len(quarterly_trends(q, n_quarters=4).periods) == 4


def test_periods_are_screened_one_by_one_whatever_the_option():
    q = _quarters(CELLS, Q3)
    a = quarterly_trends(q, periods=["2024Q1"])
    assert a.table.equals(quarterly_trends(q).table)
    assert a.settings.periods is None


def test_the_minimum_volume_leaves_small_quarters_unjudged():
    cells = {**CELLS, "TINY": [(20, 15), (20, 15), (20, 15)]}
    t = quarterly_trends(_quarters(cells, Q3))
    tiny = t.practice("TINY")
    assert tiny["status"].eq("too few to judge").all() and not tiny["judged"].any()
    assert not tiny["flag"].any() and "TINY" not in set(t.changes["practice_id"])


def test_bad_input_is_an_input_error():
    with pytest.raises(InputError, match="quarterly summary"):
        quarterly_trends(_quarters(CELLS, Q3).assign(period="2024"))
    with pytest.raises(InputError, match="n_quarters"):
        quarterly_trends(_quarters(CELLS, Q3), n_quarters=0)
    with pytest.raises(InputError, match="effective_date"):
        quarterly_trends(_quarters(CELLS, Q3), effective_date="soon")


def test_figures_statewide_and_practice(small):
    fig = plots.quarterly_trend_plot(small)
    title = fig.axes[0].get_title("left")
    assert title.startswith("All practices: 12.3%") and "2024Q3" in title
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Benchmark 20%" in legend and "Policy effective 2024-07-01" in legend
    # the date is the boundary before 2024Q3 (position 2 - 0.5)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"]
    assert np.allclose(lines[0].get_xdata(), 1.5)
    up = plots.quarterly_trend_plot(small, "UP")
    assert up.axes[0].get_title("left") == "Practice UP: flagged in 1 of 3 quarters judged"
    with pytest.raises(InputError):
        plots.quarterly_trend_plot(small, "NOPE")
    assert plots.png_bytes(up)[:4] == b"\x89PNG"


def test_the_result_renders_itself(small):
    text = small._repr_html_()
    assert "Practices whose flag status changed" in text and "<img" in text
    assert small.to_dict()["n_practices_changed"] == 3
    assert "practices whose flag status changed: 3" in small.headline
    assert small.headline.startswith("Over 2024Q1 to 2024Q3 (3 quarters): statewide, 12.3%")


@pytest.fixture(scope="module")
def sample_quarters():
    from analysis.claims import load_claims
    from analysis.paths import SAMPLE_CLAIMS_2023_2025
    from analysis.summary import summarize

    return summarize(load_claims(SAMPLE_CLAIMS_2023_2025).lines, period="quarter")


def test_on_the_three_year_sample(sample_quarters):
    t = quarterly_trends(sample_quarters, effective_date="2025-01-01")
    assert t.periods == tuple(str(p) for p in pd.period_range("2023Q1", "2025Q4", freq="Q"))
    # data/sample/README.md: NC030 enters in October 2024, NC001 leaves after September 2023
    assert t.practice("NC030")["period"].iloc[0] == "2024Q4"
    assert t.practice("NC001")["period"].iloc[-1] == "2023Q3"
    assert t.statewide["after_effective_date"].sum() == 4
    assert (t.statewide["n_practices_flagged"] >= 1).all()
    assert set(t.changes["change"]) <= {"newly flagged", "no longer flagged",
                                        "flagged in some quarters"}
