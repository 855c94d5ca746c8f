"""Tests for analysis.whatif: the live what-if shows what analysis.impact computes."""

from __future__ import annotations

import json
import socket

import numpy as np
import pandas as pd
import pytest

from analysis import report, synth
from analysis.baseline import baseline_year
from analysis.disclosure import disclosure_plan
from analysis.errors import InputError
from analysis.impact import ImpactAssumptions, impact
from analysis.paths import NOTEBOOK_DIR
from analysis.policy import full_bundling, get_policy, lcd_cap, medical_necessity
from analysis.privacy import MARKER
from analysis.report import notebook_defaults, notebook_parameters
from analysis.response import estimate_response
from analysis.run.jobs import APPS, find_notebooks
from analysis.run.scenarios import load_scenario
from analysis.run.validation import validate_parameters
from analysis.summary import summarize
from analysis.synth.years import PolicyResponse
from analysis.uncertainty import one_way
from analysis.whatif import MEASURED, WhatIf, WhatIfSettings


@pytest.fixture(scope="module")
def claims_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("whatif") / "claims.parquet"
    generated = synth.generate(8, rng=np.random.default_rng(11), scale=1 / 100)
    synth.write_lines(generated.lines, path)
    return path


@pytest.fixture(scope="module")
def quarterly(claims_file):
    """The quarterly summary a report notebook gets (with the practices' price baskets)."""
    return report.load_inputs("", claims=[str(claims_file)], link_window_days=7).summary(
        "quarter")


@pytest.fixture(scope="module")
def app(quarterly, claims_file):
    return WhatIf(quarterly, claims=[str(claims_file)])


def _reference(summary, changes):
    """The same setting computed by calling analysis.impact directly."""
    s = WhatIfSettings(**changes)
    options = {"payers": s.payers, "scope_share": s.scope_share}
    if s.policy == "lcd_cap":
        options["threshold"] = s.cap_threshold
    policy = get_policy(s.policy, **options)
    assumptions = ImpactAssumptions(
        commercial_multiplier=s.commercial_multiplier, horizon_years=s.horizon_years,
        fee_update=s.fee_update, volume_growth=s.volume_growth, stop_share=s.stop_share,
        cost_per_rendering_usd=s.cost_per_rendering_usd)
    return policy, assumptions, impact(summary, [policy], assumptions=assumptions)


SETTINGS = [
    {},
    {"commercial_multiplier": 2.5},
    {"commercial_multiplier": 1.2, "horizon_years": 5, "fee_update": 0.02,
     "volume_growth": -0.03, "stop_share": 0.5, "cost_per_rendering_usd": 30.0},
    {"policy": "lcd_cap", "cap_threshold": 0.1, "scope_share": 0.7, "horizon_years": 2},
    {"policy": "medical_necessity", "payers": ("BCBSNC", "OTHER_COMMERCIAL"),
     "stop_share": 0.0, "horizon_years": 1},
]


@pytest.mark.parametrize("changes", SETTINGS)
def test_numbers_equal_impact(app, quarterly, changes):
    result = app.update(**{**WhatIfSettings().to_dict(), **changes})
    policy, assumptions, expected = _reference(quarterly, changes)
    row = expected.summary.iloc[0]
    assert result.loss_year1_usd == pytest.approx(row["loss_year1_usd"], rel=1e-12)
    assert result.loss_horizon_usd == pytest.approx(row["loss_horizon_usd"], rel=1e-12)
    assert result.headline == expected.headline()
    pd.testing.assert_frame_equal(result.impact.totals, expected.totals)
    pd.testing.assert_frame_equal(result.impact.practices, expected.practices)
    tornado = one_way(quarterly, policy, assumptions=assumptions)
    pd.testing.assert_frame_equal(result.tornado, tornado)
    # the page shows the same numbers
    html = result._repr_html_()
    assert f'data-measure="loss_horizon_usd">${row["loss_horizon_usd"]:,.0f}<' in html
    assert f'data-measure="loss_year1_usd">${row["loss_year1_usd"]:,.0f}<' in html


def test_the_controls_recompute(app, quarterly):
    app.update(**WhatIfSettings().to_dict())
    box = app.widget
    assert box is app.widget  # built once
    app._controls["commercial_multiplier"].value = 2.3
    assert app.settings.commercial_multiplier == 2.3
    _, _, expected = _reference(quarterly, {"commercial_multiplier": 2.3})
    loss = expected.summary["loss_horizon_usd"].iloc[0]
    assert f"${loss:,.0f}" in app._panes["headline"].value
    app._controls["policy"].value = "lcd_cap"
    assert app.result.settings.policy == "lcd_cap"
    assert not app._controls["cap_threshold"].disabled
    app._controls["payers"].value = ()  # no payer: nothing recomputed, the reason shown
    assert app.result.settings.policy == "lcd_cap" and app.result.settings.payers
    assert "choose at least one payer" in app._panes["status"].value
    app.update(**WhatIfSettings().to_dict())
    assert app._controls["policy"].value == "full_bundling"
    assert app._controls["cap_threshold"].disabled


def test_labels_are_words(app):
    app.widget  # noqa: B018 - builds the controls
    for key, control in app._controls.items():
        text = control.description
        assert text and "_" not in text, (key, text)
        for label, _value in getattr(control, "options", ()):
            assert "_" not in label, (key, label)


def test_practice_dollars_are_suppressed_as_in_the_report(app, quarterly):
    result = app.update(**WhatIfSettings().to_dict())
    plan = disclosure_plan(quarterly, quarterly, payers=("BCBSNC",))
    losers = result.losers.set_index("practice_id")
    starred = set(losers.index[losers["loss_horizon_usd"].eq(MARKER)])
    assert plan.hidden_dollars <= starred
    shown = losers.loc[~losers.index.isin(starred), "loss_horizon_usd"].astype(float)
    assert (shown.diff().dropna() <= 0).all()  # largest loss first
    assert len(losers) == len(plan.practices)
    # the suppressed come last, by identifier: their rank says nothing of their loss
    assert list(losers.index[len(shown):]) == sorted(starred)
    assert starred, "the fixture should have a practice whose dollars are suppressed"


def test_the_export_button_saves_a_scenario_and_offers_it(quarterly, tmp_path):
    app = WhatIf(quarterly, measure_response=False, export_dir=tmp_path)
    app.widget  # noqa: B018
    app._name.value = "board ask/1"
    app._export_clicked(None)
    path = tmp_path / "boardask1.yaml"
    assert load_scenario(path).name == "boardask1"
    assert 'download="boardask1.yaml"' in app._export_out.value


def test_rad3d_whatif_says_what_is_wrong_before_serving(tmp_path, capsys):
    from analysis.cli import main

    assert main(["whatif", "--claims", str(tmp_path / "none.parquet")]) == 2
    assert "claims file not found" in capsys.readouterr().err
    assert main(["whatif", "--port", "70000"]) == 2
    assert "65535" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["whatif", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rad3d whatif: error:") and "--port" in err


def test_invalid_settings_raise_input_error():
    with pytest.raises(InputError, match="policy"):
        WhatIfSettings(policy="status_quo")
    with pytest.raises(InputError, match="scope_share"):
        WhatIfSettings(scope_share=1.5)
    with pytest.raises(InputError, match="horizon"):
        WhatIfSettings(horizon_years=7)
    with pytest.raises(InputError, match="not a what-if setting"):
        WhatIfSettings().replace(threshold=0.3)


# ------------------------------------------------------------------ export


def _report_declared():
    """What the report notebooks declare (the apps are not among them)."""
    return {n: notebook_parameters(p) for n, p in find_notebooks(NOTEBOOK_DIR, None).items()}


def test_the_report_skips_the_app():
    assert set(APPS) == {"what_if"}
    assert (NOTEBOOK_DIR / "what_if.ipynb").is_file()
    assert "what_if" not in find_notebooks(NOTEBOOK_DIR, None)
    with pytest.raises(InputError, match="rad3d whatif"):
        find_notebooks(NOTEBOOK_DIR, ["what_if"])


@pytest.mark.parametrize("changes", SETTINGS[1:])
def test_exported_scenario_loads_and_gives_the_same_headline(app, quarterly, tmp_path,
                                                             changes):
    result = app.update(**{**WhatIfSettings().to_dict(), **changes})
    path = app.export_scenario(tmp_path / "committee_ask.yaml")
    scenario = load_scenario(path)  # the validator of rad3d report --params
    validate_parameters(scenario.parameters, _report_declared(), source=path)
    assert scenario.name == "committee_ask"
    # the report notebook's own setup from its defaults and the scenario's parameters
    values = {k: p.default for k, p in notebook_defaults("revenue_impact").items()}
    values |= scenario.parameters
    setup = report.impact_setup(values)
    expected = impact(quarterly, setup.policies, assumptions=setup.assumptions)
    row = report.policy_row(expected, setup.headline.name)
    assert row["loss_year1_usd"] == pytest.approx(result.loss_year1_usd, rel=1e-9)
    assert row["loss_horizon_usd"] == pytest.approx(result.loss_horizon_usd, rel=1e-9)
    assert expected.headline(policy=setup.headline.name) == result.headline


@pytest.mark.slow
def test_the_notebook_runs(claims_file, tmp_path):
    import nbformat
    import papermill

    out = tmp_path / "what_if.ipynb"
    papermill.execute_notebook(str(NOTEBOOK_DIR / "what_if.ipynb"), str(out),
                               parameters={"claims": [str(claims_file)],
                                           "scenario_dir": str(tmp_path)},
                               kernel_name="python3", progress_bar=False)
    last = nbformat.read(out, as_version=4).cells[-1]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in last.outputs)


@pytest.mark.slow
def test_a_report_run_with_the_exported_scenario_has_the_same_headline(app, tmp_path):
    from analysis.run.batch import run_report

    result = app.update(**{**WhatIfSettings().to_dict(), "commercial_multiplier": 2.2,
                           "policy": "lcd_cap", "cap_threshold": 0.15})
    path = app.export_scenario(tmp_path / "asked.yaml")
    out = tmp_path / "reports" / "latest"
    run = run_report(scenarios=[path], practices="none", notebooks=["revenue_impact"],
                     out=out, workers=1, progress=False)
    assert run.ok, run.summary.to_string()
    data = json.loads((out / "asked" / "revenue_impact" / "results.json").read_text())
    numbers = {k: v["value"] for k, v in data["headline"].items()}
    assert numbers["loss_year1_usd"] == pytest.approx(result.loss_year1_usd, rel=1e-9)
    assert numbers["loss_horizon_usd"] == pytest.approx(result.loss_horizon_usd, rel=1e-9)


# ------------------------------------------------------------------ measured response


@pytest.fixture(scope="module")
def two_years():
    """Two years of claims in which practices stop half their BCBS NC renderings in 2025."""
    syn = synth.generate_years(12, years=(2024, 2025), rng=np.random.default_rng(3),
                               scale=0.02, response=PolicyResponse(0.5))
    return summarize(syn.lines, period="quarter")


def test_measured_stop_share_is_the_estimate(two_years):
    measured = estimate_response(two_years)
    app = WhatIf(two_years, response=measured)
    assert app.measured_stop_share == pytest.approx(np.clip(measured.stop_share, 0, 1))
    lo, hi = measured.stop_share_ci
    assert app.measured_interval == pytest.approx((max(lo, 0.0), min(hi, 1.0)))
    result = app.update(stop_share=MEASURED)
    assert result.stop_share == app.measured_stop_share
    policy = full_bundling()
    assumptions = ImpactAssumptions(stop_share=app.measured_stop_share)
    # year 1 rests on the last full year before the horizon, as in the reports
    pre = baseline_year(two_years, start_date=assumptions.start_date)
    assert app.baseline.periods == pre.periods and all(
        p < str(assumptions.start_date.year) for p in pre.periods)
    expected = impact(pre.summary, [policy], assumptions=assumptions)
    pd.testing.assert_frame_equal(result.impact.totals, expected.totals)
    # the tornado varies the stop share over the measured interval
    row = result.tornado.set_index("parameter").loc["stop_share"]
    assert (row["low"], row["high"]) == pytest.approx(app.measured_interval)
    assert "Measured from the claims" in app.measured_text()
    app.widget  # noqa: B018
    assert app._controls["measured"].value and app._controls["stop_share"].disabled
    scenario = app.scenario()
    assert scenario["parameters"]["stop_share"] == pytest.approx(app.measured_stop_share)
    assert "measured from the claims" in scenario["description"]


def test_measured_is_estimated_at_construction(two_years):
    app = WhatIf(two_years)
    assert app.response is not None and app.measured_stop_share is not None


def test_measured_is_disabled_with_the_reason_without_the_quarters(quarterly):
    app = WhatIf(quarterly)  # one year of claims: nothing after the effective date
    assert app.measured_stop_share is None
    assert "after the effective date" in app.measured_text()
    app.widget  # noqa: B018
    assert app._controls["measured"].disabled
    with pytest.raises(InputError, match="after the effective date"):
        app.update(stop_share=MEASURED)
    yearly = quarterly.assign(period=quarterly["period"].str[:4])
    assert "not by quarter" in WhatIf(yearly).measured_text()
    assert "Not measured" in WhatIf(quarterly, measure_response=False).measured_text()


def test_lcd_cap_and_medical_necessity_helpers_agree():
    s = WhatIfSettings(policy="lcd_cap", cap_threshold=0.3, payers=["bcbsnc"])
    assert s.to_policy() == lcd_cap(threshold=0.3)
    assert WhatIfSettings(policy="medical_necessity").to_policy() == medical_necessity()
