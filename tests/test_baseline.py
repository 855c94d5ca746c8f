"""Tests for analysis.baseline: the claims year 1 of the impact model rests on."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import impact
from analysis.baseline import baseline_year
from analysis.errors import InputError


def _summary(periods_by_practice: dict[str, list[str]]) -> pd.DataFrame:
    rows = [{"practice_id": p, "payer": "BCBSNC", "period": q, "n_3d_lines": 1}
            for p, periods in periods_by_practice.items() for q in periods]
    return pd.DataFrame(rows)


def _q(first: str, last: str) -> list[str]:
    return [str(p) for p in pd.period_range(first, last, freq="Q")]


THREE_YEARS = {"STAY": _q("2023Q1", "2025Q4"), "LEFT": _q("2023Q1", "2023Q3"),
               "LATE": _q("2024Q4", "2025Q4"), "NEW": _q("2025Q1", "2025Q4")}


def test_the_last_full_year_before_the_horizon():
    b = baseline_year(_summary(THREE_YEARS), start_date="2025-01-01")
    assert b.year == 2024 and b.periods == tuple(_q("2024Q1", "2024Q4"))
    assert set(b.summary["period"]) == set(b.periods)
    assert b.left_before == ("LEFT",) and b.entered_after == ("NEW",)
    # LATE has one quarter of 2024: in the model (the model scales it x4)
    assert set(b.summary["practice_id"]) == {"STAY", "LATE"}
    assert "2024Q1 to 2024Q4" in b.statement and "LEFT (left before it)" in b.statement
    assert "NEW (entered after it)" in b.statement


def test_a_practice_page_names_no_other_practice():
    b = baseline_year(_summary(THREE_YEARS), start_date="2025-01-01")
    text = b.statement_for("STAY")
    assert "LEFT" not in text and "NEW" not in text
    assert "1 practice that left before and 1 practice that entered after" in text
    assert b.statement_for("NEW").endswith("it entered after the baseline.")


def test_a_later_start_takes_the_year_that_ends_before_it():
    b = baseline_year(_summary(THREE_YEARS), start_date="2024-06-01")
    assert b.year == 2023  # 2024 does not end before 2024-06-01
    assert b.entered_after == ("LATE", "NEW")


def test_without_a_full_year_before_the_start():
    half = _summary({"A": _q("2024Q3", "2025Q2")})
    b = baseline_year(half, start_date="2025-01-01")
    assert b.year is None and b.periods == ("2024Q3", "2024Q4")
    assert "make no full calendar year" in b.statement
    b = baseline_year(half, start_date="2024-01-01")
    assert b.periods == tuple(_q("2024Q3", "2025Q2")) and "none lies before" in b.statement


def test_years_and_months():
    years = _summary({"A": ["2023", "2024", "2025"]})
    assert baseline_year(years, start_date="2025-01-01").periods == ("2024",)
    months = _summary({"A": [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01"]})
    assert baseline_year(months, start_date="2025-01-01").year == 2024


def test_bad_input():
    with pytest.raises(InputError, match="start_date"):
        baseline_year(_summary(THREE_YEARS), start_date="soon")
    with pytest.raises(InputError, match="mixes"):
        baseline_year(_summary({"A": ["2024", "2024Q1"]}), start_date="2025-01-01")
    with pytest.raises(InputError, match="no rows"):
        baseline_year(_summary({}).reindex(columns=["practice_id", "period"]),
                      start_date="2025-01-01")


def test_one_year_of_claims_is_kept_whole_and_prices_the_same(tmp_path):
    from analysis.claims import load_claims
    from analysis.paths import SAMPLE_CLAIMS
    from analysis.summary import summarize

    quarters = summarize(load_claims(SAMPLE_CLAIMS).lines, period="quarter")
    quarters.attrs["marker"] = "kept"
    b = baseline_year(quarters, start_date="2025-01-01")
    assert b.year == 2024 and len(b.summary) == len(quarters)
    assert b.summary.attrs["marker"] == "kept"  # the practices' baskets travel with it
    assert "other periods" not in b.statement and "Not in the model" not in b.statement
    policies = impact.default_policies()
    pd.testing.assert_frame_equal(impact.impact(b.summary, policies).practices,
                                  impact.impact(quarters, policies).practices)
