"""Tests for analysis.uncertainty: distributions, tornado, scenarios, PSA, convergence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_impact import hand_summary

from analysis import plots
from analysis.assumptions import assumption_table
from analysis.distributions import fit_distribution
from analysis.errors import InputError
from analysis.impact import ImpactAssumptions, default_policies, impact, impact_base
from analysis.policy import full_bundling, lcd_cap, medical_necessity, status_quo
from analysis.uncertainty import (
    METRICS,
    _mix_draws,
    _mix_setup,
    convergence,
    default_scenarios,
    one_way,
    parameter_table,
    psa,
    run_scenarios,
    sample_parameters,
)


def centred_table() -> pd.DataFrame:
    """The reference table with every distribution centred on its base case."""
    t = parameter_table()
    return t.assign(distribution=t["distribution"].replace({"pert": "fixed"}))


# ------------------------------------------------------------- distributions


def fit(parameter: str, distribution: str, **bounds: float) -> dict[str, float]:
    return fit_distribution({"parameter": parameter, "distribution": distribution, **bounds})


def test_fitted_distributions_are_centred_with_the_stated_spread():
    sd = (2.5 - 1.2) / 3.919927969  # the 1.2-2.5 range read as a 95 % interval
    f = fit("m", "lognormal", base=1.8, low=1.2, high=2.5)
    # scipy.stats.lognorm(s=sigma, scale=exp(mu)).mean(), .std()
    d = stats.lognorm(s=f["sigma"], scale=np.exp(f["mu"]))
    assert d.mean() == pytest.approx(1.8)
    assert d.std() == pytest.approx(sd)
    f = fit("s", "beta", base=0.8, low=0.6, high=0.95)
    d = stats.beta(f["a"], f["b"])
    assert d.mean() == pytest.approx(0.8)
    assert d.std() == pytest.approx(0.35 / 3.919927969)
    f = fit("c", "gamma", base=15, low=5, high=40)
    d = stats.gamma(f["shape"], scale=f["scale"])
    assert (d.mean(), d.std()) == pytest.approx((15.0, 35 / 3.919927969))
    # PERT on [0.7, 1] with mode 1: Beta(1 + 4*0.3/0.3, 1) = Beta(5, 1), mean 0.95.
    f = fit("scope", "pert", base=1.0, low=0.7, high=1.0)
    assert (f["a"], f["b"]) == (5.0, 1.0)


def test_infeasible_beta_is_an_input_error():
    bad = parameter_table().assign(
        distribution=lambda t: t["distribution"].where(t["parameter"] != "scope_share", "beta")
    )
    with pytest.raises(InputError, match="pert"):
        parameter_table(table=bad)
    with pytest.raises(InputError, match="unknown distribution"):
        parameter_table(table=parameter_table().assign(distribution="cauchy"))


def test_parameter_table_centres_on_the_values_used():
    t = parameter_table(ImpactAssumptions(commercial_multiplier=3.0), lcd_cap(threshold=0.3))
    t = t.set_index("parameter")
    assert t.at["commercial_multiplier", "base"] == 3.0
    assert t.at["commercial_multiplier", "high"] == 3.0  # range widened to hold the base
    assert t.at["threshold", "base"] == 0.3


def test_samples_match_their_distributions():
    draws = sample_parameters(parameter_table(), 40_000, rng=np.random.default_rng(7))
    assert draws["commercial_multiplier"].mean() == pytest.approx(1.8, rel=0.01)
    assert draws["payer_cost_share"].between(0, 1).all()
    assert draws["stop_share"].mean() == pytest.approx(0.25, abs=0.005)
    assert draws["scope_share"].between(0.7, 1.0).all()
    assert draws["scope_share"].mean() == pytest.approx(0.95, abs=0.002)
    assert (draws["medicare_multiplier"] == 1.0).all()  # fixed
    assert (draws["threshold"] == 0.2).all()  # fixed in the PSA


def test_correlation_through_the_copula():
    rng = np.random.default_rng(3)
    corr = {("commercial_multiplier", "medicaid_multiplier"): 0.8}
    d = sample_parameters(parameter_table(), 20_000, rng=rng, correlation=corr)
    rho = stats.spearmanr(d["commercial_multiplier"], d["medicaid_multiplier"]).statistic
    # Spearman of a Gaussian copula with r = 0.8: (6/pi) asin(0.4) = 0.786
    assert rho == pytest.approx(6 / np.pi * np.arcsin(0.4), abs=0.01)
    with pytest.raises(InputError, match="not drawn"):
        sample_parameters(
            parameter_table(), 10, rng=rng, correlation={("medicare_multiplier", "stop_share"): 0.5}
        )
    with pytest.raises(InputError, match="positive definite"):
        sample_parameters(
            parameter_table(),
            10,
            rng=rng,
            correlation={
                ("commercial_multiplier", "medicaid_multiplier"): 0.99,
                ("commercial_multiplier", "stop_share"): 0.99,
                ("medicaid_multiplier", "stop_share"): -0.99,
            },
        )


def test_rng_must_be_a_generator():
    with pytest.raises(TypeError):
        sample_parameters(parameter_table(), 10, rng=1)


# ------------------------------------------------------------------- one-way


def test_tornado_hand_worked_for_the_cap():
    t = one_way(hand_summary(), lcd_cap()).set_index("parameter")
    # Base: A loses 4/14 x 1180 = 337.14 a year, x 3 years = 1011.43.
    assert t.at["threshold", "outcome_base"] == pytest.approx(4 / 14 * 1180 * 3)
    # Threshold 0.15: cap 7.5 of A's 14 -> 6.5/14 x 1180 x 3; B (15 <= 15) still 0.
    assert t.at["threshold", "outcome_low"] == pytest.approx(6.5 / 14 * 1180 * 3)
    assert t.at["threshold", "outcome_high"] == pytest.approx(1.5 / 14 * 1180 * 3)
    # The widest bar comes first; parameters that cannot move the loss have no swing.
    assert t.index[0] == "threshold"
    assert t.at["stop_share", "swing"] == 0.0
    assert t.at["medicaid_multiplier", "swing"] == 0.0
    # Scope 0.7 scales the loss by 0.7.
    assert t.at["scope_share", "outcome_low"] == pytest.approx(0.7 * 4 / 14 * 1180 * 3)


def test_tornado_of_the_net_margin_moves_with_the_behaviour():
    t = one_way(hand_summary(), full_bundling(), metric="net_margin_loss_usd").set_index(
        "parameter"
    )
    # 62 renderings a year become unpaid; at stop share 0.5, $15 each over 3 years:
    # cost avoided 0.5 x 15 x 62 x 3 = 1395 vs 697.5 at the base 0.25.
    assert t.at["stop_share", "outcome_base"] - t.at["stop_share", "outcome_high"] == (
        pytest.approx(1395 - 697.5)
    )
    with pytest.raises(InputError, match="metric"):
        one_way(hand_summary(), full_bundling(), metric="happiness")


# ----------------------------------------------------------------- scenarios


def test_scenarios_run_together():
    res = run_scenarios(hand_summary(), [full_bundling(), lcd_cap(), medical_necessity()])
    s = res.summary.set_index(["scenario", "policy"])
    base = s.loc[("base", "full_bundling"), "loss_year1_usd"]
    assert base == pytest.approx(2680.0)
    assert s.loc[("narrow_scope", "full_bundling"), "loss_year1_usd"] == pytest.approx(0.7 * base)
    assert s.loc[("mid_year_start", "full_bundling"), "loss_year1_usd"] == pytest.approx(
        184 / 365 * base
    )
    # Only unpriced lines (A's $50 x 2) react to the multiplier: 1.2 instead of 1.8.
    assert s.loc[("low_commercial_price", "full_bundling"), "loss_year1_usd"] == pytest.approx(
        base - 0.6 * 100
    )
    assert set(res.totals["scenario"]) == set(default_scenarios()["scenario"])
    assert "<table" in res._repr_html_()
    with pytest.raises(InputError, match="unknown scenario input"):
        run_scenarios(
            hand_summary(),
            full_bundling(),
            scenarios=pd.DataFrame({"scenario": ["x"], "mood": [1.0]}),
        )


def test_scenarios_follow_the_table_given():
    table = assumption_table()
    table.loc[table["parameter"] == "commercial_multiplier", "low"] = 1.1
    table.loc[table["parameter"] == "scope_share", "low"] = 0.5
    s = default_scenarios(table).set_index("scenario")
    assert s.at["low_commercial_price", "commercial_multiplier"] == 1.1
    assert s.at["low_commercial_price", "description"].endswith("(1.1 x Medicare)")
    assert s.at["narrow_scope", "description"] == "Policy applies to 50% of the payer's business"
    # The bundled table's scenarios, as written in the reports.
    d = default_scenarios().set_index("scenario")["description"]
    assert d["low_commercial_price"] == "Commercial rates at the low end (1.2 x Medicare)"
    assert d["growth_and_fee_cuts"] == "Volume +5%/yr, fees -3%/yr"


# ----------------------------------------------------------------------- PSA


def test_same_seed_same_psa_and_different_seed_different():
    a = psa(hand_summary(), full_bundling(), rng=np.random.default_rng(11), n_draws=500)
    b = psa(hand_summary(), full_bundling(), rng=np.random.default_rng(11), n_draws=500)
    c = psa(hand_summary(), full_bundling(), rng=np.random.default_rng(12), n_draws=500)
    pd.testing.assert_frame_equal(a.totals, b.totals)
    np.testing.assert_array_equal(a.practice_loss_usd, b.practice_loss_usd)
    assert not np.array_equal(a.totals["loss_usd"], c.totals["loss_usd"])
    m, n = (
        psa(
            hand_summary(),
            full_bundling(),
            rng=np.random.default_rng(11),
            n_draws=300,
            payer_mix_concentration=10,
        )
        for _ in range(2)
    )
    pd.testing.assert_frame_equal(m.totals, n.totals)


def test_psa_without_spread_is_the_deterministic_model():
    fixed = parameter_table().assign(distribution="fixed")
    for pol in (full_bundling(), lcd_cap(), medical_necessity(), status_quo()):
        res = psa(hand_summary(), pol, rng=np.random.default_rng(0), n_draws=5, table=fixed)
        det = impact(hand_summary(), pol).summary.iloc[0]
        np.testing.assert_allclose(res.totals["loss_usd"], det["loss_horizon_usd"])
        np.testing.assert_allclose(
            res.totals["net_margin_loss_usd"], det["net_margin_loss_horizon_usd"]
        )
        np.testing.assert_allclose(
            res.totals["payer_savings_usd"], det["payer_savings_horizon_usd"]
        )
        assert res.deterministic["loss_usd"] == pytest.approx(det["loss_horizon_usd"])


def test_psa_mean_converges_to_the_deterministic_result_when_centred():
    # Centred distributions (mean = base) and a 2-year horizon (the loss is then a
    # sum of products of independent draws, so its expectation is the base case).
    a = ImpactAssumptions(horizon_years=2)
    res = psa(
        hand_summary(),
        lcd_cap(),
        rng=np.random.default_rng(2024),
        n_draws=20_000,
        assumptions=a,
        table=centred_table(),
        payer_mix_concentration=50,
    )
    s = res.summary.set_index("metric")
    for m in METRICS:
        assert abs(s.at[m, "mean"] - s.at[m, "deterministic"]) < 4 * s.at[m, "mcse"], m
    ps = res.practice_summary.set_index("practice_id")
    se = res.practice_loss_usd.std(axis=0, ddof=1) / np.sqrt(res.n_draws)
    assert (np.abs(ps["mean"] - ps["deterministic"]) <= 4 * se + 1e-9).all()
    # The default scope distribution (PERT, mode 1.0) is not centred: lower mean.
    skew = psa(hand_summary(), full_bundling(), rng=np.random.default_rng(1), n_draws=4000)
    assert skew.totals["loss_usd"].mean() < 0.97 * skew.deterministic["loss_usd"]


def test_psa_summary_and_totals_agree():
    res = psa(hand_summary(), medical_necessity(), rng=np.random.default_rng(5), n_draws=2000)
    np.testing.assert_allclose(res.practice_loss_usd.sum(axis=1), res.totals["loss_usd"])
    s = res.summary.set_index("metric")
    lo, hi = res.interval("loss_usd")
    assert lo < s.at["loss_usd", "median"] < hi
    assert s.at["loss_usd", "lower"] == pytest.approx(np.quantile(res.totals["loss_usd"], 0.025))
    ps = res.practice_summary
    assert list(ps["practice_id"]) == ["A", "B"]
    assert (ps["lower"] <= ps["upper"]).all()
    d = res.to_dict()
    assert d["n_draws"] == 2000 and d["totals"][0]["metric"] == "loss_usd"
    assert "PSA" in res._repr_html_()


def test_dirichlet_payer_mix_keeps_each_practices_volume():
    base = impact_base(hand_summary())
    arrays = base.arrays()
    setup = _mix_setup(base, arrays)
    f = _mix_draws(setup, 4000, 20.0, np.random.default_rng(9))
    units = sum(arrays[f"rev_units_{g}"] for g in ("onc", "ind", "oth"))
    # Rows: A/BCBSNC (32 units), A/MEDICARE (10), B/BCBSNC (30, its only payer).
    np.testing.assert_allclose((f[:, :2] * units[:2]).sum(axis=1), 42.0)
    assert (f[:, 2] == 1.0).all()
    assert f[:, :2].mean(axis=0) == pytest.approx([1.0, 1.0], abs=0.02)


# --------------------------------------------------------------- convergence


def test_convergence_rule_hand_worked():
    # 4 draws, checkpoints at 2 and 4: the mean of the first 4 (2.5) against the first
    # 2 (1.5) moved by 1.0 / 2.5 = 40 %.
    c = convergence(
        np.array([1.0, 2.0, 3.0, 4.0]), min_draws=2, n_checkpoints=2, tolerance=0.5, level=0.5
    )
    row = c.table.iloc[-1]
    assert row["n_draws"] == 4 and row["mean"] == 2.5
    # level 0.5: 25th-75th percentiles of 1..4 (numpy linear) = 1.75, 3.25; of 1..2 =
    # 1.25, 1.75 -> the upper bound moved most: 1.5 / 2.5 = 60 % > 50 %.
    assert (row["lower"], row["upper"]) == (1.75, 3.25)
    assert row["rel_change"] == pytest.approx(0.6)
    assert not c.converged and c.n_stable is None


def test_convergence_detects_stability_and_its_absence():
    x = np.random.default_rng(4).lognormal(8, 0.2, 20_000)
    c = convergence(x, tolerance=0.02)
    assert c.converged and c.n_stable is not None and c.n_stable <= 20_000
    assert (c.table.loc[c.table["n_draws"] >= c.n_stable, "stable"]).all()
    drift = np.r_[x[:15_000], x[15_000:] * 2.0]  # the process changes late
    assert not convergence(drift, tolerance=0.02).converged
    res = psa(hand_summary(), full_bundling(), rng=np.random.default_rng(8), n_draws=3000)
    conv = res.convergence(tolerance=0.05)
    assert conv.metric == "loss_usd" and "draws" in repr(conv)


# ------------------------------------------------------------------- figures


def test_impact_figures_state_their_findings():
    res = impact(hand_summary(), default_policies())
    runs = [
        psa(hand_summary(), p, rng=np.random.default_rng(1), n_draws=400) for p in res.policies[1:]
    ]
    figs = {
        "by_year": plots.impact_by_year(res),
        "loss": plots.loss_distribution(res, "medical_necessity"),
        "tornado": plots.tornado_plot(one_way(hand_summary(), lcd_cap())),
        "hist": plots.psa_histogram(runs[0]),
        "conv": plots.convergence_plot(runs[0].convergence()),
        "compare": plots.policy_comparison(res, runs),
    }
    titles = {k: f.axes[0].get_title(loc="left") for k, f in figs.items()}
    assert titles["by_year"].startswith("full_bundling: practices lose $8k")
    # A loses 780 / 1620 = 48 %, B 800 / 1300 = 62 % of their 3D revenue.
    assert "1 of 2 practices lose more than half" in titles["loss"]
    assert titles["tornado"].startswith("lcd_cap: threshold moves")
    assert titles["compare"] == "full_bundling costs practices the most"
    with pytest.raises(InputError, match="policy"):
        plots.impact_by_year(res, "no_such_policy")
