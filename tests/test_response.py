"""Tests for analysis.response: the measured response (difference in differences, event study).

Hand-made panels check the estimators against independent computations (first
differences by hand, the clustered sandwich written out in numpy); synthetic claims
with a known response check that the interval recovers it, on the bundled three-year
sample (one seed, fast) and on 50 seeds (slow, deselected by default: run it with
``pytest -m calibration tests/test_response.py``).
"""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import estimate_response, summarize, synth
from analysis.errors import InputError
from analysis.response import ResponseSettings

QUARTERS = [f"{y}Q{q}" for y in (2024, 2025) for q in (1, 2, 3, 4)]


def _cells(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    """A summary of (practice, period, payer, n, n_3d) rows on both encounter bases."""
    frame = pd.DataFrame(rows, columns=["practice_id", "period", "payer", "n", "x"])
    return pd.DataFrame({
        "practice_id": frame["practice_id"], "period": frame["period"],
        "payer": frame["payer"],
        "n_encounters": frame["n"], "n_encounters_3d": frame["x"],
        "n_nononc_encounters": frame["n"], "n_nononc_encounters_3d": frame["x"],
    })  # fmt: skip


def _proportional(stop: float, rates: list[float], *, quarters=QUARTERS) -> pd.DataFrame:
    """Cells whose 3D counts are exactly n x practice rate x payer level x quarter factor,
    the policy payer's cut by ``stop`` from 2025Q1: the ratio model fits them exactly."""
    level = {"BCBSNC": 1.0, "OTHER_COMMERCIAL": 0.8, "MEDICARE": 1.3}
    rows = []
    for i, rate in enumerate(rates):
        for t, q in enumerate(quarters):
            factor = 1.0 + 0.05 * t + (0.04 if q.endswith("Q4") else 0.0)
            for payer, lv in level.items():
                n = 150 + 40 * i + 7 * t
                cut = 1 - stop if payer == "BCBSNC" and q >= "2025Q1" else 1.0
                rows.append((f"P{i}", q, payer, n, n * rate * lv * factor * cut))
    return _cells(rows)


# ------------------------------------------------------- reference values


def test_linear_model_is_the_first_difference_by_hand():
    # Two quarters, three practices, 100 encounters in every cell; 3D encounters:
    #            BCBSNC 2024Q4 -> 2025Q1   other commercial 2024Q4 -> 2025Q1
    #   P1            10 -> 6                        8 -> 9
    #   P2            20 -> 15                      20 -> 21
    #   P3             5 -> 5                        5 -> 6
    # With a fixed effect per practice x payer, two quarters reduce to first differences:
    # b = mean(dBCBS) - mean(dOther) = (-4 - 5 + 0) / 3 - (1 + 1 + 1) / 3 = -4 points.
    # r0 = mean BCBS rate after - b = (6 + 15 + 5) / 300 + 0.04 = 0.126667,
    # stop share = 0.04 / 0.126667 = 0.315789.
    counts = {"P1": (10, 6, 8, 9), "P2": (20, 15, 20, 21), "P3": (5, 5, 5, 6)}
    rows = [(p, q, payer, 100, c[k])
            for p, c in counts.items()
            for k, (payer, q) in enumerate([("BCBSNC", "2024Q4"), ("BCBSNC", "2025Q1"),
                                            ("OTHER_COMMERCIAL", "2024Q4"),
                                            ("OTHER_COMMERCIAL", "2025Q1")])]  # fmt: skip
    summary = _cells(rows)
    result = estimate_response(summary, model="linear", controls=("OTHER_COMMERCIAL",),
                               min_practices=2, min_post_quarters=1)  # fmt: skip
    row = result.headline_row
    assert row["rate_change"] == pytest.approx(-0.04, abs=1e-12)
    assert row["baseline_rate"] == pytest.approx(0.126667, abs=1e-6)
    assert row["stop_share"] == pytest.approx(0.315789, abs=1e-6)
    # The clustered sandwich written out: WLS on the full dummy design, clusters =
    # practices, factor G/(G-1) (N-1)/(N-K); here N = 12 cells, K = 1 + 6 + 1 = 8.
    cells = summary.assign(rate=summary["n_encounters_3d"] / 100)
    unit = pd.factorize(cells["practice_id"] + cells["payer"])[0]
    x = np.column_stack([
        (cells["payer"].eq("BCBSNC") & cells["period"].eq("2025Q1")).astype(float),
        np.eye(6)[unit], cells["period"].eq("2025Q1").astype(float)])  # fmt: skip
    beta, *_ = np.linalg.lstsq(x, cells["rate"], rcond=None)
    e = cells["rate"].to_numpy() - x @ beta
    bread = np.linalg.inv(x.T @ x)
    groups = pd.factorize(cells["practice_id"])[0]
    meat = sum(np.outer(x[groups == g].T @ e[groups == g], x[groups == g].T @ e[groups == g])
               for g in range(3))  # fmt: skip
    v = bread @ meat @ bread * 3 / 2 * 11 / 4
    assert row["rate_change_se"] == pytest.approx(np.sqrt(v[0, 0]), rel=1e-9)
    # Interval: t with G - 1 = 2 degrees of freedom, scipy.stats.t.ppf(0.975, 2) = 4.302653.
    assert row["rate_change_ci_high"] == pytest.approx(-0.04 + 4.302653 * np.sqrt(v[0, 0]))


def test_ratio_model_clustered_errors_are_the_poisson_sandwich():
    rng = np.random.default_rng(5)
    exact = _proportional(0.3, [0.05, 0.1, 0.2, 0.3, 0.08])
    noisy = exact.assign(n_nononc_encounters_3d=rng.poisson(exact["n_nononc_encounters_3d"]))
    result = estimate_response(noisy, controls=("MEDICARE",), min_practices=2)
    row = result.headline_row
    # The sandwich of the Poisson pseudo-likelihood by hand: bread (X' diag(mu) X)^-1,
    # meat sum over practices of s_g s_g', s_g = X_g' (y_g - mu_g), the same factor.
    c = noisy.loc[noisy["payer"].isin(["BCBSNC", "MEDICARE"])].reset_index(drop=True)
    unit = pd.factorize(c["practice_id"] + c["payer"], sort=True)[0]
    quarter = pd.factorize(c["period"], sort=True)[0]
    x = np.column_stack([
        (c["payer"].eq("BCBSNC") & c["period"].ge("2025Q1")).astype(float),
        np.eye(unit.max() + 1)[unit], np.eye(8)[quarter][:, 1:]])  # fmt: skip
    y, n = c["n_nononc_encounters_3d"].to_numpy(float), c["n_nononc_encounters"].to_numpy(float)
    theta = np.zeros(x.shape[1])
    theta[1:] = np.log(y.sum() / n.sum())
    for _ in range(50):  # Newton's method on the Poisson log-likelihood
        mu = n * np.exp(x @ theta)
        theta += np.linalg.solve(x.T @ (mu[:, None] * x), x.T @ (y - mu))
    mu = n * np.exp(x @ theta)
    assert row["coef"] == pytest.approx(theta[0], abs=1e-8)
    assert row["stop_share"] == pytest.approx(1 - np.exp(theta[0]), abs=1e-8)
    bread = np.linalg.inv(x.T @ (mu[:, None] * x))
    groups = pd.factorize(c["practice_id"])[0]
    scores = [x[groups == g].T @ (y - mu)[groups == g] for g in range(5)]
    big_n, k = x.shape
    v = bread @ sum(np.outer(s, s) for s in scores) @ bread * 5 / 4 * (big_n - 1) / (big_n - k)
    assert row["coef_se"] == pytest.approx(np.sqrt(v[0, 0]), rel=1e-6)


# Counts the model fits exactly make statsmodels warn of perfect prediction.
_EXACT = pytest.mark.filterwarnings(
    "ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")


@_EXACT
@settings(max_examples=20, deadline=None)
@given(stop=st.floats(0.0, 0.9),
       rates=st.lists(st.floats(0.01, 0.5), min_size=3, max_size=6))  # fmt: skip
def test_a_proportional_cut_is_recovered_exactly(stop, rates):
    # Counts that follow the ratio model exactly: the estimate is the cut itself, every
    # pre-period effect is 0 and so is the pre-trend statistic.
    result = estimate_response(_proportional(stop, rates), min_practices=2)
    for row in result.estimates.itertuples():
        assert row.stop_share == pytest.approx(stop, abs=1e-7)
        assert row.pretrend_f == pytest.approx(0.0, abs=1e-8)
    ev = result.event_study
    assert np.allclose(ev.loc[~ev["post"], "estimate"], 0.0, atol=1e-7)
    assert np.allclose(ev.loc[ev["post"], "estimate"], -stop, atol=1e-7)


@_EXACT
def test_no_change_is_no_response_when_the_model_holds():
    # Proportional trends, payers at different levels: the ratio model holds.
    proportional = _proportional(0.0, [0.1, 0.2, 0.3])
    ratio = estimate_response(proportional, min_practices=2).headline_row
    assert ratio["stop_share"] == pytest.approx(0.0, abs=1e-7)
    # Additive trends (rate = practice + payer + quarter terms): the linear model holds.
    rows = [(f"P{i}", q, payer, 200, 200 * (0.1 * (i + 1) + shift + 0.01 * t))
            for i in range(3) for t, q in enumerate(QUARTERS)
            for payer, shift in (("BCBSNC", 0.0), ("OTHER_COMMERCIAL", -0.03),
                                 ("MEDICARE", 0.02))]  # fmt: skip
    linear = estimate_response(_cells(rows), model="linear", min_practices=2).headline_row
    assert linear["rate_change"] == pytest.approx(0.0, abs=1e-10)
    # The linear model's parallel trends fail when trends are proportional and the
    # payers' levels differ: a response appears where there is none (module docstring).
    wrong = estimate_response(proportional, model="linear", min_practices=2).headline_row
    assert abs(wrong["stop_share"]) > 0.01


# ----------------------------------------------------------- diagnostics


@pytest.fixture(scope="module")
def null_cells() -> pd.DataFrame:
    """Twelve practices with Poisson noise and no response, eight quarters."""
    exact = _proportional(0.0, [0.05, 0.1, 0.2, 0.3, 0.08, 0.12] * 2)
    noisy = np.random.default_rng(8).poisson(exact["n_nononc_encounters_3d"])
    return exact.assign(n_nononc_encounters_3d=noisy, n_encounters_3d=noisy)


def test_no_control_payer_is_withheld(null_cells):
    result = estimate_response(null_cells.loc[null_cells["payer"].eq("BCBSNC")])
    assert result.withheld and result.estimates["status"].eq("withheld").all()
    assert np.isnan(result.stop_share)
    assert all("No control payer" in w for w in result.warnings)
    assert "No response" in result.headline and "No control payer" in result._repr_html_()


def test_no_quarter_after_the_date_is_withheld(null_cells):
    result = estimate_response(null_cells.loc[null_cells["period"] < "2025Q1"])
    assert result.withheld and "No quarter after the effective date" in result.warnings[0]
    assert result.event_study.empty


def test_too_few_post_quarters_and_practices_are_stated(null_cells):
    result = estimate_response(null_cells.loc[null_cells["period"] <= "2025Q1"],
                               min_practices=20)  # fmt: skip
    row = result.headline_row
    assert row["status"] == "estimated with warnings" and np.isfinite(row["stop_share"])
    assert any("Too few post-period quarters: only 1" in w for w in result.warnings)
    assert any("Only 12 practices (fewer than 20)" in w for w in result.warnings)


def test_one_pre_quarter_cannot_test_pre_trends(null_cells):
    result = estimate_response(null_cells.loc[null_cells["period"] >= "2024Q4"],
                               min_practices=2)  # fmt: skip
    assert np.isnan(result.headline_row["pretrend_p_value"])
    assert any("pre-trends cannot be tested" in w for w in result.warnings)


def test_rejected_pre_trends_warn_or_withhold():
    # The policy payer's 3D counts grow 15 % a quarter before the date, not the controls'.
    # (30 practices: the score statistic cannot exceed the number of practices, so on a
    # dozen with three pre-period effects no p-value falls below 0.038.)
    exact = _proportional(0.0, [0.05, 0.1, 0.2, 0.3, 0.08, 0.12] * 5)
    cells = exact.assign(n_nononc_encounters_3d=np.random.default_rng(9).poisson(
        exact["n_nononc_encounters_3d"]))
    growth = {q: 1.15 ** k for k, q in enumerate(QUARTERS[:4])}
    pre = cells["payer"].eq("BCBSNC") & cells["period"].isin(list(growth))
    trending = cells.assign(n_nononc_encounters_3d=cells["n_nononc_encounters_3d"].where(
        ~pre, cells["n_nononc_encounters_3d"] * cells["period"].map(growth)))
    shown = estimate_response(trending)
    row = shown.headline_row
    assert row["pretrend_p_value"] < 0.05 and row["status"] == "estimated with warnings"
    assert np.isfinite(row["stop_share"])
    assert any(w.startswith("other commercial insurers as control: Pre-trends rejected")
               for w in shown.warnings)  # fmt: skip
    held = estimate_response(trending, on_pretrend="withhold")
    assert held.headline_row["status"] == "withheld" and np.isnan(held.stop_share)
    assert held.headline_row["pretrend_p_value"] == row["pretrend_p_value"]
    assert "the estimate is withheld" in held.headline


def test_an_effective_date_inside_a_quarter_leaves_that_quarter_out(null_cells):
    result = estimate_response(null_cells, effective_date="2025-02-15", min_practices=2)
    assert result.notes == ("The quarter 2025Q1 contains the effective date 2025-02-15 and is "
                            "left out: its cells mix the two regimes.",)  # fmt: skip
    ev = result.event_study
    assert "2025Q1" not in set(ev["period"])
    assert ev.loc[ev["reference"], "period"].unique().tolist() == ["2024Q4"]
    assert ev.loc[ev["period"].eq("2025Q2"), "event_quarter"].unique().tolist() == [0]


def test_bad_input_raises_input_error(null_cells):
    with pytest.raises(InputError, match="by quarter"):
        estimate_response(null_cells.assign(period="2024"))
    with pytest.raises(InputError, match="n_nononc_encounters"):
        estimate_response(null_cells.drop(columns="n_nononc_encounters"))
    with pytest.raises(InputError, match="controls"):
        ResponseSettings(controls=("BCBSNC",))
    with pytest.raises(InputError, match="model"):
        estimate_response(null_cells, model="logit")
    with pytest.raises(InputError, match="not an option"):
        estimate_response(null_cells, threshold=0.2)
    with pytest.raises(InputError, match="ISO date"):
        ResponseSettings(effective_date="1 Jan 2025")


def test_result_renders_itself_and_serializes(null_cells):
    result = estimate_response(null_cells.loc[null_cells["period"] <= "2025Q1"])
    page = result._repr_html_()
    assert html.escape(result.headline) in page
    assert "<table" in page and "Warnings" in page and "Too few post-period quarters" in page
    assert "Event study" in page and "Definitions" in page
    data = json.loads(json.dumps(result.to_dict()))
    assert data["estimates"][0]["control"] == "OTHER_COMMERCIAL"
    assert data["settings"]["effective_date"] == "2025-01-01"
    assert len(data["event_study"]) == 2 * len(set(result.event_study["period"]))


# ------------------------------------------------- synthetic claims, known truth


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled three-year sample (stop share 0.25 from 2025, seed 2024) summarized."""
    lines = synth.read_lines(synth.SAMPLE_CLAIMS_2023_2025)
    return summarize(lines, period="quarter"), pd.read_csv(synth.SAMPLE_PRACTICES_2023_2025)


@pytest.fixture(scope="module")
def no_response() -> pd.DataFrame:
    """The same seed and practices without a response (the sample's counterfactual)."""
    syn = synth.generate_years(40, years=(2023, 2025), rng=np.random.default_rng(2024),
                               scale=1 / 80)  # fmt: skip
    return summarize(syn.lines, period="quarter")


def test_the_bundled_sample_recovers_its_known_response(sample):
    summary, truth = sample
    result = estimate_response(summary)
    assert result.estimates["status"].eq("estimated").all()  # no warning at all
    for row in result.estimates.itertuples():
        assert row.stop_share_ci_low <= 0.25 <= row.stop_share_ci_high
        assert row.pretrend_p_value > 0.05
        assert row.n_practices == 40 and row.n_post_quarters == 4
    # The share of the renderings practices would have billed that they stopped, among
    # non-oncology encounters (480 of 1,398 over all encounters: 34 %).
    realized = (truth["n_response_nononc_encounters_3d_stopped"].sum()
                / truth["n_response_nononc_encounters_3d_would"].sum())  # fmt: skip
    low, high = result.stop_share_ci
    assert low <= realized <= high
    assert round(truth["stop_share"].mean(), 2) == 0.25
    # The numbers data/sample/README.md states.
    shown = result.estimates.set_index("control")[
        ["stop_share", "stop_share_ci_low", "stop_share_ci_high", "pretrend_p_value"]]
    assert shown.round(2).to_dict("index") == {
        "OTHER_COMMERCIAL": {"stop_share": 0.32, "stop_share_ci_low": 0.04,
                             "stop_share_ci_high": 0.52, "pretrend_p_value": 0.87},
        "MEDICARE": {"stop_share": 0.36, "stop_share_ci_low": 0.17,
                     "stop_share_ci_high": 0.51, "pretrend_p_value": 0.75}}  # fmt: skip
    assert "practices stopped an estimated 32% of these renderings" in result.headline


def test_without_a_response_the_interval_covers_zero(no_response):
    result = estimate_response(no_response)
    for row in result.estimates.itertuples():
        assert row.stop_share_ci_low <= 0 <= row.stop_share_ci_high
        assert row.rate_change_ci_low <= 0 <= row.rate_change_ci_high
    linear = estimate_response(no_response, model="linear").headline_row
    assert linear["stop_share_ci_low"] <= 0 <= linear["stop_share_ci_high"]
    assert "no fewer renderings than expected" in result.headline  # the estimate is -7 %


def _estimate(seed: int, share: float) -> pd.Series:
    syn = synth.generate_years(40, years=(2023, 2025), rng=np.random.default_rng(seed),
                               scale=1 / 80, response=synth.PolicyResponse(share))  # fmt: skip
    return estimate_response(summarize(syn.lines, period="quarter")).headline_row


@pytest.mark.slow
@pytest.mark.calibration
def test_the_interval_covers_the_response_in_nine_of_ten_samples():
    # 50 samples like the bundled one (40 practices, 2023-2025, 1/80 volumes), each
    # practice stopping its own share (beta, mean 0.25) of BCBS NC renderings from 2025.
    # A 95 % interval should cover 0.25 in about 47 of 50; at least 45 is asked.
    rows = [_estimate(seed, 0.25) for seed in range(50)]
    covered = [r["stop_share_ci_low"] <= 0.25 <= r["stop_share_ci_high"] for r in rows]
    assert sum(covered) >= 45, f"covered in {sum(covered)} of 50"
