"""Tests for analysis.measured: the measured response as the revenue model's stop share.

``stop_share="measured"`` must give the deterministic case of the estimate, the tornado
of its interval and a PSA drawn from a distribution fitted to that interval; each is
checked against the same model run with the numbers set by hand. A withheld estimate
(one year of claims) must stop the run with the reason, never fall back silently.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_pages import MAX_BRIEF_PAGES, findings, page_text

from analysis import summarize, synth
from analysis.baseline import baseline_year
from analysis.distributions import fit_distribution, fit_table, parameter_table
from analysis.errors import InputError
from analysis.impact import ImpactAssumptions, impact, impact_base, resolve_stop_share
from analysis.measured import MEASURED, MeasuredStopShare, measure_stop_share
from analysis.policy import full_bundling, status_quo
from analysis.ranges import check_range
from analysis.report import notebook_parameters
from analysis.response import (
    _ESTIMATE_COLUMNS,
    ResponseResult,
    ResponseSettings,
    estimate_response,
)
from analysis.revenue_engine import base_case_parameters
from analysis.run import pdf as pdf_step
from analysis.run.batch import run_report
from analysis.run.inputs import prepare_inputs
from analysis.run.validation import validate_parameters
from analysis.synth.years import PolicyResponse
from analysis.uncertainty import one_way, psa, run_scenarios

ROOT = Path(__file__).resolve().parents[1]
QUARTERS = [f"{y}Q{q}" for y in (2024, 2025) for q in (1, 2, 3, 4)]


def response_of(stop: float, low: float, high: float, *, status: str = "estimated",
                warnings: str = "", quarters=QUARTERS) -> ResponseResult:
    """A ResponseResult with a headline stop share and interval set by hand."""
    row = dict.fromkeys(_ESTIMATE_COLUMNS, np.nan) | {
        "control": "OTHER_COMMERCIAL", "control_label": "other commercial insurers",
        "status": status, "stop_share": stop, "stop_share_ci_low": low,
        "stop_share_ci_high": high, "n_practices": 12, "pretrend_p_value": 0.5,
        "warnings": warnings}  # fmt: skip
    events = pd.DataFrame({"control": "OTHER_COMMERCIAL", "period": quarters,
                           "post": [q >= "2025Q1" for q in quarters]})  # fmt: skip
    return ResponseResult(estimates=pd.DataFrame([row]), event_study=events, notes=(),
                          settings=ResponseSettings(), definitions="")  # fmt: skip


def ratio_response(b: float, se: float, t: float) -> ResponseResult:
    """The stop share of a ratio-model coefficient ``b`` (1 - exp(b)) and its interval
    ``b -/+ t se``, transformed, as :func:`analysis.response.estimate_response` gives it."""
    return response_of(-np.expm1(b), -np.expm1(b + t * se), -np.expm1(b - t * se))


@pytest.fixture(scope="module")
def quarterly() -> pd.DataFrame:
    """Twelve practices, 2024-2025 by quarter, half of BCBS NC renderings stopped from
    2025 (estimate 0.48 [0.37, 0.57] against other commercial insurers)."""
    syn = synth.generate_years(12, years=(2024, 2025), rng=np.random.default_rng(3),
                               scale=0.02, response=PolicyResponse(0.5))  # fmt: skip
    return summarize(syn.lines, period="quarter")


# ------------------------------------------------------- reference values


def test_deterministic_case_is_the_model_with_the_estimate_set_by_hand(quarterly):
    resp = ratio_response(np.log(0.7), 0.15, 2.2)  # estimate 0.30
    measured = impact(quarterly, assumptions=ImpactAssumptions(stop_share=MEASURED),
                      response=resp)  # fmt: skip
    by_hand = impact(quarterly, assumptions=ImpactAssumptions(stop_share=0.3))
    cols = [c for c in by_hand.totals.columns if c.endswith("_usd")]
    pd.testing.assert_frame_equal(measured.totals[cols], by_hand.totals[cols])
    assert measured.assumptions.stop_share == pytest.approx(0.3)
    # net margin = loss - renderings unpaid x stop share x $15 avoided per rendering
    t = measured.totals
    assert t["net_margin_loss_usd"].to_numpy() == pytest.approx(
        (t["loss_usd"] - t["renderings_unpaid"] * 0.3 * 15.0).to_numpy())


def test_tornado_row_of_the_stop_share_is_the_interval(quarterly):
    resp = ratio_response(np.log(0.7), 0.15, 2.2)
    low, high = resp.stop_share_ci  # 1 - exp(log 0.7 +/- 0.33): 0.0066, 0.4984
    table = one_way(quarterly, full_bundling(), metric="net_margin_loss_usd",
                    assumptions=ImpactAssumptions(stop_share=MEASURED), response=resp)
    row = table.set_index("parameter").loc["stop_share"]
    assert (row["base"], row["low"], row["high"]) == pytest.approx((0.3, low, high))
    assert row["label"].endswith("(behavioural response), measured from the claims")
    for end, value in (("outcome_low", low), ("outcome_high", high)):
        by_hand = impact(quarterly, full_bundling(),
                         assumptions=ImpactAssumptions(stop_share=value))
        assert row[end] == pytest.approx(by_hand.summary["net_margin_loss_horizon_usd"][0])
    # the revenue loss itself does not depend on the stop share: no swing
    loss = one_way(quarterly, full_bundling(), assumptions=ImpactAssumptions(
        stop_share=MEASURED), response=resp).set_index("parameter")
    assert loss.loc["stop_share", "swing"] == 0


def test_psa_draws_follow_the_distribution_fitted_to_the_interval(quarterly):
    # b = log(0.7), se 0.15, t 2.2: the interval is symmetric in b, so the fitted
    # log(1 - stop) ~ N(log 0.7, 0.33 / 1.96) has its median at the estimate 0.30.
    resp = ratio_response(np.log(0.7), 0.15, 2.2)
    low, high = resp.stop_share_ci
    sim = psa(quarterly, full_bundling(), rng=np.random.default_rng(5), n_draws=20_000,
              assumptions=ImpactAssumptions(stop_share=MEASURED), response=resp)
    draws = sim.parameters["stop_share"].to_numpy()
    # 1 - exp(scipy.stats.norm.ppf(1 - q, log(0.7), 2.2 * 0.15 / 1.959964))
    sd = 2.2 * 0.15 / stats.norm.ppf(0.975)
    expected = -np.expm1(stats.norm.ppf([0.975, 0.5, 0.025], np.log(0.7), sd))
    assert expected == pytest.approx([low, 0.3, high], abs=1e-12)
    assert np.quantile(draws, [0.025, 0.5, 0.975]) == pytest.approx(expected, abs=0.01)
    fitted = sim.distributions.set_index("parameter").loc["stop_share"]
    assert fitted["distribution"] == "log_complement" and fitted["base_is"] == "median"
    assert (fitted["fit_low"], fitted["fit_high"]) == pytest.approx((low, high), abs=1e-12)
    # the PSA's deterministic column is the measured base case
    assert sim.deterministic["net_margin_loss_usd"] == pytest.approx(
        impact(quarterly, full_bundling(), assumptions=ImpactAssumptions(stop_share=0.3))
        .summary["net_margin_loss_horizon_usd"][0])


def test_log_complement_moments_match_numerical_integration():
    fit = fit_distribution({"parameter": "stop_share", "distribution": "log_complement",
                            "base": 0.1, "low": 0.0, "high": 0.4})  # fmt: skip
    row = fit_table(pd.DataFrame([{"parameter": "stop_share", "distribution":
                                   "log_complement", "base": 0.1, "low": 0.0,
                                   "high": 0.4}])).iloc[0]  # fmt: skip
    # E[max(0, 1 - e^Y)], Y ~ N(mu, sigma), by scipy.integrate.quad
    from scipy import integrate
    mean = integrate.quad(lambda y: max(0.0, -np.expm1(y)) * stats.norm.pdf(
        y, fit["mu"], fit["sigma"]), -20, 20, points=[0.0])[0]
    assert row["psa_mean"] == pytest.approx(mean, rel=1e-7)
    assert (row["fit_low"], row["fit_high"]) == pytest.approx((0.0, 0.4), abs=1e-12)
    with pytest.raises(InputError, match="high below 1"):
        fit_distribution({"parameter": "stop_share", "distribution": "log_complement",
                          "base": 0.5, "low": 0.1, "high": 1.0})


def test_measured_from_the_summary_equals_the_response_passed(quarterly):
    a = ImpactAssumptions(stop_share=MEASURED)
    inside = impact(quarterly, [status_quo(), full_bundling()], assumptions=a)
    resp = estimate_response(quarterly, on_pretrend="withhold")
    given = impact(quarterly, [status_quo(), full_bundling()], assumptions=a, response=resp)
    assert inside.assumptions.measured_response == given.assumptions.measured_response
    m = inside.assumptions.measured_response
    assert m.estimate == pytest.approx(resp.stop_share)
    assert (m.low, m.high) == pytest.approx(resp.stop_share_ci)
    assert m.pre_quarters == tuple(QUARTERS[:4]) and m.post_quarters == tuple(QUARTERS[4:])
    assert (m.policy_payer, m.control) == ("BCBSNC", "OTHER_COMMERCIAL")
    assert 0.25 < m.low < 0.5 < m.high  # the sample's true response, 0.5, is covered
    second = resp.estimates.iloc[1]
    assert m.other_controls[0][0] == "MEDICARE"
    assert (f"As a check, against Medicare {second['stop_share']:.0%} "
            f"({second['stop_share_ci_low']:.0%} to {second['stop_share_ci_high']:.0%})"
            ) in m.sentence
    # the scenarios share the measurement but for the one that assumes no response
    scen = run_scenarios(quarterly, full_bundling(), assumptions=a, response=resp)
    net = scen.summary.set_index("scenario")["net_margin_loss_horizon_usd"]
    assert net["base"] == pytest.approx(given.summary["net_margin_loss_horizon_usd"][1])
    assert net["no_behavioural_response"] == pytest.approx(
        given.summary["loss_horizon_usd"][1])


# --------------------------------------------------- withheld, bounds, words


def test_one_year_of_claims_stops_with_the_reason(quarterly):
    one_year = quarterly.loc[quarterly["period"] < "2025"]
    with pytest.raises(InputError, match="No quarter after the effective date 2025-01-01"
                       ) as err:  # fmt: skip
        impact(one_year, assumptions=ImpactAssumptions(stop_share=MEASURED))
    assert "Give stop_share a number" in str(err.value)
    withheld = response_of(np.nan, np.nan, np.nan, status="withheld",
                           warnings="No control payer: none in the claims.")
    with pytest.raises(InputError, match="No control payer"):
        measure_stop_share(withheld)
    with pytest.raises(InputError, match="not an annualized base"):
        resolve_stop_share(ImpactAssumptions(stop_share=MEASURED), impact_base(one_year))
    with pytest.raises(InputError, match="not measured yet"):
        base_case_parameters(ImpactAssumptions(stop_share=MEASURED), full_bundling())


def test_pre_trends_rejected_withhold_the_measurement():
    # the policy payer's rate falls by half before the date, not after: rejected
    rows = []
    for i in range(20):
        for t, q in enumerate(QUARTERS):
            for payer in ("BCBSNC", "OTHER_COMMERCIAL", "MEDICARE"):
                n = 200 + 10 * i
                rate = 0.1 * (1 + 0.02 * i)
                if payer == "BCBSNC":
                    rate *= 1.0 if t < 2 else 0.5
                x = np.random.default_rng(i * 100 + t).binomial(n, rate)
                rows.append({"practice_id": f"P{i}", "period": q, "payer": payer,
                             "n_encounters": n, "n_encounters_3d": x,
                             "n_nononc_encounters": n, "n_nononc_encounters_3d": x})
    cells = pd.DataFrame(rows)
    assert estimate_response(cells).headline_row["status"] == "estimated with warnings"
    with pytest.raises(InputError, match="Pre-trends rejected"):
        resolve_stop_share(ImpactAssumptions(stop_share=MEASURED), cells,
                           policies=full_bundling())


def test_an_interval_below_zero_is_bounded_and_said():
    m = measure_stop_share(response_of(0.1, -0.2, 0.3))
    assert (m.estimate, m.low, m.high) == (0.1, 0.0, 0.3)
    assert (m.low_raw, m.distribution) == (-0.2, "log_complement")
    assert any("below 0" in w for w in m.warnings) and "below 0" in m.sentence
    none = measure_stop_share(response_of(-0.05, -0.3, 0.15))
    assert none.estimate == 0.0 and "model takes a stop share of 0" in none.sentence
    table = parameter_table(ImpactAssumptions(stop_share=MEASURED, measured_response=none))
    row = table.set_index("parameter").loc["stop_share"]
    assert (row["base"], row["low"], row["high"]) == (0.0, 0.0, 0.15)


def test_assumptions_keep_or_drop_the_measurement():
    m = measure_stop_share(response_of(0.3, 0.1, 0.45))
    a = ImpactAssumptions(stop_share=MEASURED, measured_response=m)
    assert a.stop_share == 0.3 and a.stop_share_measured and not a.stop_share_pending
    assert a.replace(commercial_multiplier=2.0).measured_response == m
    assert a.replace(stop_share=0.1).measured_response is None  # a number: assumed
    assert a.replace(stop_share=MEASURED).measured_response == m
    back = ImpactAssumptions.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back == a and isinstance(back.measured_response, MeasuredStopShare)
    with pytest.raises(InputError, match="the stop share is measured"):
        ImpactAssumptions(stop_share=0.2, measured_response=m)
    with pytest.raises(InputError, match="expected a number"):
        ImpactAssumptions(stop_share="guessed")
    assert ImpactAssumptions(stop_share=MEASURED).stop_share_pending
    # an assumed share is returned as it is, whatever response is at hand
    assumed = ImpactAssumptions(stop_share=0.2)
    assert resolve_stop_share(assumed, response=response_of(0.3, 0.1, 0.45)) is assumed


def test_results_say_where_the_stop_share_came_from(quarterly):
    resp = ratio_response(np.log(0.7), 0.15, 2.2)
    measured = impact(quarterly, assumptions=ImpactAssumptions(stop_share=MEASURED),
                      response=resp)  # fmt: skip
    assert measured.stop_share_source == "measured"
    assert measured.summary[["stop_share", "stop_share_source"]].iloc[0].tolist() == [
        pytest.approx(0.3), "measured"]
    text = measured.stop_share_statement
    assert "measured from the claims, not assumed" in text and "30%" in text
    assert "2024Q1–2024Q4 before and 2025Q1–2025Q4 after 2025-01-01" in text
    assert "BCBS NC" in text and "other commercial insurers" in text
    assert html.escape(text) in measured._repr_html_() and text in repr(measured)
    out = measured.to_dict()
    assert out["stop_share_source"]["source"] == "measured"
    assert out["assumptions"]["measured_response"]["pre_quarters"][0] == "2024Q1"
    row = measured.assumption_table().set_index("parameter").loc["stop_share"]
    assert row["source"].startswith("[M] measured from the claims")
    assert (row["low"], row["high"]) == pytest.approx(resp.stop_share_ci)
    assumed = impact(quarterly)
    assert assumed.stop_share_source == "assumed"
    assert assumed.stop_share_statement.startswith(
        "The stop share is assumed, not measured: practices stop 25%")


# ------------------------------------------------- parameters and the CLI


def test_scenario_and_option_accept_measured_and_nothing_else():
    check_range("stop_share", MEASURED)
    with pytest.raises(InputError, match="or 'measured'"):
        check_range("stop_share", "guessed")
    declared = {nb: notebook_parameters(ROOT / "notebooks" / f"{nb}.ipynb")
                for nb in ("revenue_impact", "policy_brief", "practice_scorecard")}
    validate_parameters({"stop_share": MEASURED}, declared)
    with pytest.raises(InputError, match="wrong type"):
        validate_parameters({"stop_share": "guessed"}, declared)


def _write_claims(tmp_path: Path, *, years: tuple[int, int]) -> Path:
    syn = synth.generate_years(12, years=years, rng=np.random.default_rng(3), scale=0.02,
                               response=PolicyResponse(0.5) if years[1] >= 2025 else None)
    path = tmp_path / f"claims_{years[0]}_{years[1]}.parquet"
    synth.write_lines(syn.lines, path)
    return path


def _rad3d(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_cli_impact_stop_share_measured(tmp_path):
    claims = _write_claims(tmp_path, years=(2024, 2025))
    done = _rad3d("impact", str(claims), "--policy", "full_bundling", "--stop-share",
                  "measured", "--draws", "500", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "The stop share is measured from the claims" in done.stdout
    summary = json.loads((tmp_path / "out" / "impact_summary.json").read_text())
    assert summary["stop_share_source"]["source"] == "measured"
    m = summary["assumptions"]["measured_response"]
    assert m["low"] < summary["assumptions"]["stop_share"] == m["estimate"] < m["high"]
    one = _write_claims(tmp_path, years=(2024, 2024))
    failed = _rad3d("impact", str(one), "--stop-share", "measured", "--draws", "0",
                    "--out", str(tmp_path / "one"))
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert "No quarter after the effective date" in failed.stderr
    bad = _rad3d("impact", "--stop-share", "often", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "'measured'" in bad.stderr


# ---------------------------------------------- the measured scenario, a real run


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory):
    """``rad3d report --claims data/sample/claims_2023_2025.parquet --params
    notebooks/params/measured_response.yaml`` (the two pages that measure it)."""
    out = tmp_path_factory.mktemp("measured") / "reports" / "latest"
    result = run_report(scenarios=[ROOT / "notebooks/params/measured_response.yaml"],
                        claims=[synth.SAMPLE_CLAIMS_2023_2025], practices="none",
                        notebooks=["revenue_impact", "policy_brief"], out=out, workers=2,
                        progress=False)  # fmt: skip
    assert result.ok, result.summary.to_string()
    # the run's own inputs, from its cache: the summary its pages were computed from
    inputs = prepare_inputs([synth.SAMPLE_CLAIMS_2023_2025], cache_dir=out.parent / ".rad3d-cache")
    return out / "measured_response", inputs


@pytest.mark.slow
def test_measured_scenario_report_states_the_measurement(measured_run):
    measured_run, inputs = measured_run
    results = json.loads((measured_run / "revenue_impact/results.json").read_text())
    head = {k: v["value"] for k, v in results["headline"].items()}
    # the bundled sample's estimate against other commercial insurers (data/sample/README.md)
    assert round(head["stop_share"], 2) == 0.32
    assert results["headline"]["stop_share"]["label"].endswith("(measured)")
    table = pd.read_csv(measured_run / "revenue_impact/tables/psa_distributions.csv")
    row = table.set_index("parameter").loc["stop_share"]
    assert (round(row["low"], 2), round(row["high"], 2)) == (0.04, 0.52)
    assert (row["distribution"], row["base_is"]) == ("log_complement", "median")
    tornado = pd.read_csv(measured_run / "revenue_impact/tables/tornado.csv")
    row = tornado.set_index("parameter").loc["stop_share"]
    assert (round(row["low"], 2), round(row["high"], 2)) == (0.04, 0.52)
    # net margin loss = the model with the estimate set by hand, on the baseline year
    # (2024: the last full year before the horizon) as the page prices it
    by_hand_assumptions = ImpactAssumptions(stop_share=head["stop_share"])
    pre = baseline_year(inputs.summary("quarter"), start_date=by_hand_assumptions.start_date)
    assert pre.periods == ("2024Q1", "2024Q2", "2024Q3", "2024Q4")
    by_hand = impact(pre.summary, full_bundling(), assumptions=by_hand_assumptions)
    assert head["net_margin_loss_horizon_usd"] == pytest.approx(
        by_hand.summary["net_margin_loss_horizon_usd"][0])
    assert head["loss_horizon_usd"] == pytest.approx(by_hand.summary["loss_horizon_usd"][0])
    for page in ("revenue_impact/revenue_impact.html", "policy_brief/policy_brief.html"):
        text = page_text((measured_run / page).read_text(encoding="utf-8"))
        assert findings((measured_run / page).read_text(encoding="utf-8")) == {}, page
        assert "The stop share is measured from the claims, not assumed" in text
        assert "2023Q1–2024Q4 before and 2025Q1–2025Q4 after 2025-01-01" in text
    assert (measured_run / "revenue_impact/figures/event_study.png").is_file()


@pytest.mark.slow
def test_measured_scenario_brief_prints_to_six_pages(measured_run):
    measured_run, _ = measured_run
    if pdf_step.find_browser() is None or not shutil.which("pdfinfo"):
        pytest.skip("no Chromium or poppler-utils: no PDF is printed or counted")
    info = subprocess.run(["pdfinfo", str(measured_run / "policy_brief/policy_brief.pdf")],
                          capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines()
                     if line.startswith("Pages:")))
    assert 1 <= pages <= MAX_BRIEF_PAGES
