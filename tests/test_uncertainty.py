"""Tests for analysis.uncertainty: distributions, tornado, scenarios, PSA, convergence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_impact import A1, A2, B1, hand_summary

from analysis import plots
from analysis.assumptions import assumption_table
from analysis.distributions import fit_distribution, fit_table
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
    """The reference table without the PERT scope (the one distribution with a fixed mode)."""
    t = parameter_table()
    return t.assign(distribution=t["distribution"].replace({"pert": "fixed"}))


# ------------------------------------------------------------- distributions


def fit(parameter: str, distribution: str, **bounds: float) -> dict[str, float]:
    return fit_distribution({"parameter": parameter, "distribution": distribution, **bounds})


def scipy_quantiles(f: dict[str, float], q) -> np.ndarray:
    """Quantiles of a fitted distribution from scipy.stats itself, not the package's mapping."""
    kind = f["kind"]
    if kind == "normal":
        return stats.norm(f["mean"], f["sd"]).ppf(q)
    if kind == "censored_normal":  # censoring at 0 and 1 moves no quantile inside (0, 1)
        return np.clip(stats.norm(f["mean"], f["sd"]).ppf(q), 0, 1)
    if kind == "lognormal":
        return stats.lognorm(s=f["sigma"], scale=np.exp(f["mu"])).ppf(q)
    if kind == "gamma":
        return stats.gamma(f["shape"], scale=f["scale"]).ppf(q)
    if kind == "beta":
        return stats.beta(f["a"], f["b"]).ppf(q)
    if kind == "pert":
        return stats.beta(f["a"], f["b"], loc=f["min"], scale=f["max"] - f["min"]).ppf(q)
    return stats.uniform(f["min"], f["max"] - f["min"]).ppf(q)


def relative_errors(got, low: float, high: float) -> np.ndarray:
    """(got - stated) / |stated| at both ends (/ (high - low) where the stated value is 0)."""
    stated = np.array([low, high])
    scale = np.where(stated != 0, np.abs(stated), high - low)
    return (np.asarray(got) - stated) / scale


# Every parameter of impact_assumptions.csv that the PSA draws: all but Medicare's
# multiplier (1 by definition), the discount rate and the cap threshold (fixed).
VARYING = (set(ImpactAssumptions.parameter_names()) - {"medicare_multiplier", "discount_rate"}) | {
    "scope_share"
}


def test_gamma_fitted_to_its_range_hand_checked():
    # Cost per rendering, stated $5-40 (gamma). Under the former fit (mean 15, sd
    # 35/3.92) scipy.stats.gamma(2.822, scale=5.315).ppf([0.025, 0.975]) = 2.89, 36.89.
    f = fit("c", "gamma", base=15, low=5, high=40)
    d = stats.gamma(f["shape"], scale=f["scale"])
    assert d.ppf(0.025) == pytest.approx(5.0, abs=1e-6)
    assert d.ppf(0.975) == pytest.approx(40.0, abs=1e-6)
    assert d.cdf(5.0) == pytest.approx(0.025, abs=1e-9)  # not 8.9 % below $5
    # the ratio 40 / 5 = 8 alone fixes the shape: scipy.optimize.brentq of
    # gamma.ppf(0.975, k) / gamma.ppf(0.025, k) - 8 gives k = 4.0190
    assert f["shape"] == pytest.approx(4.0190, abs=1e-4)


def test_closed_form_fits_hand_worked():
    # lognormal 1.2-2.5: median sqrt(1.2 x 2.5) = sqrt(3) = 1.7320508,
    # sigma = ln(2.5 / 1.2) / (2 x 1.959964) = 0.73397 / 3.919928 = 0.187241
    f = fit("m", "lognormal", base=1.8, low=1.2, high=2.5)
    assert np.exp(f["mu"]) == pytest.approx(np.sqrt(3))
    assert f["sigma"] == pytest.approx(0.187241, abs=1e-6)
    # normal -0.03..0.033: mean 0.0015, sd 0.063 / 3.919928 = 0.016072
    f = fit("g", "normal", base=0.0, low=-0.03, high=0.033)
    assert (f["mean"], f["sd"]) == pytest.approx((0.0015, 0.016072), abs=1e-6)
    # censored normal 0-0.5: N(0.25, 0.25 / 1.959964 = 0.127554), clipped to [0, 1]
    f = fit("s", "censored_normal", base=0.25, low=0.0, high=0.5)
    assert (f["mean"], f["sd"]) == pytest.approx((0.25, 0.127554), abs=1e-6)
    # uniform 0-1: 2.5 % of the width beyond each end, per 95 %: [-1/38, 1 + 1/38]
    f = fit("u", "uniform", base=0.5, low=0.0, high=1.0)
    assert (f["min"], f["max"]) == pytest.approx((-1 / 38, 1 + 1 / 38))


def test_pert_keeps_the_base_as_mode_and_stops_at_a_bound():
    # Scope 0.7-1.0 with base (mode) 1.0: the support cannot pass 1, so it is
    # [m, 1] and Beta(1 + 4, 1) = Beta(5, 1), whose ppf is q ** (1/5). Matching the
    # 2.5 % quantile: m + (1 - m) 0.025 ** 0.2 = 0.7 with 0.025 ** 0.2 = 0.478176,
    # m = (0.7 - 0.478176) / 0.521824 = 0.425094; the 97.5 % quantile is then
    # 0.425094 + 0.574906 x 0.975 ** 0.2 (0.994949) = 0.997096, 0.29 % short of 1.
    f = fit("scope", "pert", base=1.0, low=0.7, high=1.0)
    assert (f["a"], f["b"], f["max"]) == (5.0, 1.0, 1.0)
    assert f["min"] == pytest.approx(0.425094, abs=1e-6)
    np.testing.assert_allclose(scipy_quantiles(f, [0.025, 0.975]), [0.7, 0.997096], atol=1e-6)
    # Inside [0, 1] both quantiles are matched and the mode stays the base.
    f = fit("x", "pert", base=0.3, low=0.2, high=0.6)
    np.testing.assert_allclose(scipy_quantiles(f, [0.025, 0.975]), [0.2, 0.6], rtol=1e-9)
    assert f["min"] + (f["max"] - f["min"]) * (f["a"] - 1) / (f["a"] + f["b"] - 2) == (
        pytest.approx(0.3)
    )
    assert f["a"] == pytest.approx(1 + 4 * (0.3 - f["min"]) / (f["max"] - f["min"]))


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [
        ("beta", 0.6, 0.95),
        ("beta", 0.01, 0.02),
        ("beta", 0.001, 0.999),
        ("beta", 0.9, 0.9999),
        ("gamma", 5.0, 40.0),
        ("gamma", 1.0, 1.001),
        ("gamma", 0.001, 1000.0),
        ("lognormal", 0.5, 1.8),
        ("pert", 0.2, 0.6),
    ],
)
def test_numerical_fits_reproduce_the_range(kind, low, high):
    f = fit("x", kind, base=(low + high) / 2, low=low, high=high)
    np.testing.assert_allclose(scipy_quantiles(f, [0.025, 0.975]), [low, high], rtol=1e-8)


def test_every_drawn_parameter_reproduces_its_stated_range():
    table = parameter_table()
    draws = sample_parameters(table, 100_000, rng=np.random.default_rng(13))
    fits = fit_table(table).set_index("parameter")
    varying = set()
    for rec in table.to_dict("records"):
        f = fit_distribution(rec)
        if f["kind"] == "fixed":
            continue
        varying.add(rec["parameter"])
        lo, hi = rec["low"], rec["high"]
        reference = scipy_quantiles(f, [0.025, 0.975])
        empirical = np.quantile(draws[rec["parameter"]], [0.025, 0.975])
        assert (np.abs(relative_errors(reference, lo, hi)) <= 0.02).all(), rec["parameter"]
        assert (np.abs(relative_errors(empirical, lo, hi)) <= 0.02).all(), (
            rec["parameter"],
            empirical,
        )
        # the fit table states the same quantiles and their error
        row = fits.loc[rec["parameter"]]
        np.testing.assert_allclose(row[["fit_low", "fit_high"]].astype(float), reference)
        np.testing.assert_allclose(
            row[["fit_error_low_pct", "fit_error_high_pct"]].astype(float),
            100 * relative_errors(reference, lo, hi),
            atol=1e-9,
        )
    assert varying == VARYING
    # Only the scope's bound at 1 is not met exactly (hand-worked above: -0.29 %).
    errors = fits[["fit_error_low_pct", "fit_error_high_pct"]].abs().max(axis=1)
    assert (errors.drop(["scope_share"]).fillna(0) < 1e-6).all()
    assert fits.at["scope_share", "fit_error_high_pct"] == pytest.approx(-0.2904, abs=1e-4)


def test_fit_table_states_what_the_base_is():
    t = fit_table(parameter_table()).set_index("parameter")
    assert t.at["scope_share", "base_is"] == "mode"  # PERT keeps the most likely value
    assert t.at["volume_growth", "base_is"] == "mean, median, mode"  # range centred on 0
    assert t.at["stop_share", "base_is"] == "median, mode"  # the 2.5 % at 0 lifts the mean
    assert t.at["cost_per_rendering_usd", "base_is"] == "none"
    assert t.at["threshold", "base_is"] == "fixed"
    # gamma(4.0190, scale 4.5476): mean 18.28, median scipy.stats.gamma.median() = 16.79
    assert t.at["cost_per_rendering_usd", "psa_mean"] == pytest.approx(18.277, abs=1e-3)
    assert t.at["cost_per_rendering_usd", "psa_median"] == pytest.approx(16.785, abs=1e-3)
    # PERT Beta(5, 1) on [0.425094, 1]: mean 0.425094 + 0.574906 x 5/6 = 0.904183
    assert t.at["scope_share", "psa_mean"] == pytest.approx(0.904183, abs=1e-6)
    assert t.at["cost_per_rendering_usd", "fitted"] == "gamma(shape 4.019, scale 4.548)"


def test_infeasible_fits_are_input_errors():
    bad = parameter_table().assign(
        distribution=lambda t: t["distribution"].where(t["parameter"] != "scope_share", "beta")
    )
    with pytest.raises(InputError, match="pert"):
        parameter_table(table=bad)  # a beta cannot have a 97.5 % quantile at 1
    with pytest.raises(InputError, match="censored_normal"):
        fit("s", "beta", base=0.25, low=0.0, high=0.5)
    with pytest.raises(InputError, match="low > 0"):
        fit("c", "gamma", base=1.0, low=0.0, high=2.0)
    with pytest.raises(InputError, match="within"):
        fit("s", "censored_normal", base=0.5, low=-0.1, high=0.5)
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
    # lognormal(mu = ln sqrt(3), sigma 0.187241): mean sqrt(3) exp(sigma^2 / 2) = 1.762680
    assert draws["commercial_multiplier"].mean() == pytest.approx(1.762680, rel=0.01)
    assert draws["commercial_multiplier"].median() == pytest.approx(np.sqrt(3), rel=0.01)
    assert draws["payer_cost_share"].between(0, 1).all()
    # censored N(0.25, 0.127554): 2.5 % of the draws are exactly 0, none below
    assert draws["stop_share"].min() == 0.0
    assert (draws["stop_share"] == 0).mean() == pytest.approx(0.025, abs=0.003)
    assert draws["scope_share"].between(0.425094, 1.0).all()
    assert draws["scope_share"].mean() == pytest.approx(0.904183, abs=0.002)
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
    # Base: A loses 4/14 x 1180 = 337.14 a year at baseline prices; over 3 years at
    # 2025, 2026 and 2026 prices (A's indices A1, A2, A2 in test_impact) x (A1 + 2 A2).
    years = A1 + 2 * A2
    assert t.at["threshold", "outcome_base"] == pytest.approx(4 / 14 * 1180 * years)
    # The same model as impact(): the base outcome is its horizon loss.
    det = impact(hand_summary(), lcd_cap()).summary.iloc[0]
    assert t.at["threshold", "outcome_base"] == pytest.approx(det["loss_horizon_usd"])
    # Threshold 0.15: cap 7.5 of A's 14 -> 6.5/14 x 1180; B (15 <= 15) still 0.
    assert t.at["threshold", "outcome_low"] == pytest.approx(6.5 / 14 * 1180 * years)
    assert t.at["threshold", "outcome_high"] == pytest.approx(1.5 / 14 * 1180 * years)
    # The widest bar comes first; parameters that cannot move the loss have no swing.
    assert t.index[0] == "threshold"
    assert t.at["stop_share", "swing"] == 0.0
    assert t.at["medicaid_multiplier", "swing"] == 0.0
    # Scope 0.7 scales the loss by 0.7.
    assert t.at["scope_share", "outcome_low"] == pytest.approx(0.7 * 4 / 14 * 1180 * years)
    # The fee update moves year 3 only (2027, after the last known schedule): -3 %
    # takes 0.03 x 4/14 x 1180 x A2 off the base.
    assert t.at["fee_update", "outcome_low"] == pytest.approx(
        4 / 14 * 1180 * (A1 + A2 + A2 * 0.97))
    # With the baseline's prices it moves years 2 and 3: 4/14 x 1180 x (1 + 0.97 +
    # 0.97^2), and the base is three times the year.
    flat = one_way(hand_summary(), lcd_cap(), prices="baseline").set_index("parameter")
    assert flat.at["threshold", "outcome_base"] == pytest.approx(4 / 14 * 1180 * 3)
    assert flat.at["fee_update", "outcome_low"] == pytest.approx(
        4 / 14 * 1180 * (1 + 0.97 + 0.97**2))


def test_tornado_bars_span_the_psa_ranges():
    # The tornado moves each parameter to the low/high that its PSA distribution has
    # as 2.5 % and 97.5 % quantiles (scope: 0.7, where the former PERT put 0.84).
    t = one_way(hand_summary(), full_bundling()).set_index("parameter")
    res = psa(hand_summary(), full_bundling(), rng=np.random.default_rng(3), n_draws=200)
    fits = res.distributions.set_index("parameter")
    assert VARYING <= set(t.index)
    for p in VARYING:
        assert (t.at[p, "low"], t.at[p, "high"]) == (fits.at[p, "low"], fits.at[p, "high"])
        got = fits.loc[p, ["fit_low", "fit_high"]].astype(float)
        assert (np.abs(relative_errors(got, t.at[p, "low"], t.at[p, "high"])) < 0.003).all(), p
    assert t.at["scope_share", "low"] == fits.at["scope_share", "fit_low"] == pytest.approx(0.7)
    assert res.to_dict()["distributions"][0]["parameter"] == "commercial_multiplier"


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
    # A 1380 and B 1300 at baseline prices, at 2025's by their indices (test_impact).
    assert base == pytest.approx(1380 * A1 + 1300 * B1)
    assert s.loc[("narrow_scope", "full_bundling"), "loss_year1_usd"] == pytest.approx(0.7 * base)
    assert s.loc[("mid_year_start", "full_bundling"), "loss_year1_usd"] == pytest.approx(
        184 / 365 * base
    )
    # Only unpriced lines (A's $50 x 2) react to the multiplier: 1.2 instead of 1.8.
    assert s.loc[("low_commercial_price", "full_bundling"), "loss_year1_usd"] == pytest.approx(
        base - 0.6 * 100 * A1
    )
    # The baseline's prices as a scenario: year 1 is the baseline, 1380 + 1300.
    assert s.loc[("baseline_prices", "full_bundling"), "loss_year1_usd"] == pytest.approx(2680)
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
    assert d["growth_and_fee_cuts"] == (
        "Volume +5%/yr, fees -3%/yr after the last known fee schedule")


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
    # The baseline's prices, asked for by name, agree the same way.
    res = psa(hand_summary(), lcd_cap(), rng=np.random.default_rng(0), n_draws=5, table=fixed,
              prices="baseline")
    det = impact(hand_summary(), lcd_cap(), prices="baseline").summary.iloc[0]
    np.testing.assert_allclose(res.totals["loss_usd"], det["loss_horizon_usd"])
    assert res.assumptions.prices == "baseline"


def test_psa_mean_converges_to_the_deterministic_result_at_the_means():
    # The base case at each distribution's mean and a 2-year horizon: the loss is then
    # a sum of products of independent draws, so its expectation is that base case.
    # (Fitted to their ranges, the distributions' means are not the reference bases:
    # e.g. the $5-40 gamma has mean 18.28, not 15.)
    means = fit_table(centred_table()).set_index("parameter")["psa_mean"]
    drawn = {p: means[p] for p in ImpactAssumptions.parameter_names() if p in means}
    assert drawn["cost_per_rendering_usd"] == pytest.approx(18.277, abs=1e-3)
    a = ImpactAssumptions(horizon_years=2, **drawn)
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
    # The default scope distribution (PERT, mode 1.0, mean 0.904) lowers the mean.
    skew = psa(hand_summary(), full_bundling(), rng=np.random.default_rng(1), n_draws=4000)
    assert skew.totals["loss_usd"].mean() < 0.93 * skew.deterministic["loss_usd"]


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
    # the result and its convergence check show their figures in a notebook
    html = res._repr_html_()
    assert "PSA" in html and '<img src="data:image/png;base64,' in html
    assert "of draws between" in html  # the histogram's title, as its alternative text
    assert '<img src="data:image/png;base64,' in res.convergence()._repr_html_()


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
    assert titles["by_year"].startswith("Full bundling (BCBS NC, 2024): practices lose $8k")
    # A loses 780 / 1620 = 48 %, B 800 / 1300 = 62 % of their 3D revenue.
    assert "1 of 2 practices lose more than half" in titles["loss"]
    # policies and parameters by name, never by code
    assert titles["tornado"].startswith("Cap at the LCD benchmark: LCD-style cap")
    assert "moves the loss most" in titles["tornado"]
    assert titles["compare"] == "Full bundling (BCBS NC, 2024) costs practices the most"
    with pytest.raises(InputError, match="policy"):
        plots.impact_by_year(res, "no_such_policy")
