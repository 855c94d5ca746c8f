"""Tests for analysis.lcd: the threshold screen against the retired LCD L35408 benchmark.

Fixtures are hand-built practice summaries with the columns of the
``analysis.summary`` contract; expected numbers are worked out in comments or quoted
from the independent scipy computation they must match.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import lcd
from analysis._io import dumps_json
from analysis.cli import main
from analysis.defaults import ALPHA, LCD_BENCHMARK
from analysis.errors import InputError
from analysis.rate_stats import winsorise

ZERO_COLS = (
    "n_encounters_3d_76376", "n_encounters_3d_76377", "ct_mr_lines", "n_3d_lines",
    "n_noncompliant_3d_lines", "n_orphan_3d_lines", "n_separate_date_3d_lines",
    "n_unpriced_3d_lines", "noncompliant_allowed_usd",
)  # fmt: skip


def make_summary(rows: list[dict]) -> pd.DataFrame:
    """A summary frame (analysis.summary contract columns) from per-row essentials.

    Each row gives practice_id, period, payer, nononc (n, x), onc (n, x) and optionally
    ct_mr_units, units_3d_76376/77, allowed_3d_76376/77_usd; totals are derived.
    """
    out = []
    for r in rows:
        n_non, x_non = r["nononc"]
        n_onc, x_onc = r.get("onc", (0, 0))
        out.append({
            "practice_id": r["practice_id"], "period": r.get("period", "2024"),
            "payer": r.get("payer", "BCBSNC"),
            "n_encounters": n_non + n_onc, "n_encounters_3d": x_non + x_onc,
            "n_onc_encounters": n_onc, "n_onc_encounters_3d": x_onc,
            "n_nononc_encounters": n_non, "n_nononc_encounters_3d": x_non,
            "ct_mr_units": r.get("ct_mr_units", n_non + n_onc),
            "units_3d_76376": r.get("units_3d_76376", x_non + x_onc),
            "units_3d_76377": r.get("units_3d_76377", 0),
            "allowed_3d_76376_usd": r.get("allowed_3d_76376_usd", 0.0),
            "allowed_3d_76377_usd": r.get("allowed_3d_76377_usd", 0.0),
            **dict.fromkeys(ZERO_COLS, 0),
        })  # fmt: skip
    return pd.DataFrame(out).astype(
        {"practice_id": "string", "period": "string", "payer": "string"}
    )


# A: 40 non-oncology encounters, 12 with 3D (30 %); 10 oncology encounters, 3 with 3D.
#    3D dollars $400 (76376) + $200 (76377) over 15 encounters with 3D = $40 each.
# B: 100 non-onc, 35 with 3D (35 %), split over two payers and two quarters.
# C: 50 non-onc, 5 with 3D (10 %).
# D: only oncology encounters (n_ct_mr = 0 on the exempt basis): reported, not screened.
SMALL = make_summary([
    {"practice_id": "A", "nononc": (40, 12), "onc": (10, 3),
     "allowed_3d_76376_usd": 400.0, "allowed_3d_76377_usd": 200.0},
    {"practice_id": "B", "period": "2024Q1", "payer": "BCBSNC", "nononc": (30, 10)},
    {"practice_id": "B", "period": "2024Q2", "payer": "BCBSNC", "nononc": (20, 8)},
    {"practice_id": "B", "period": "2024Q2", "payer": "MEDICARE", "nononc": (50, 17)},
    {"practice_id": "C", "nononc": (50, 5), "onc": (5, 5)},
    {"practice_id": "D", "nononc": (0, 0), "onc": (20, 15)},
])  # fmt: skip


@pytest.fixture(scope="module")
def small() -> lcd.ScreenResult:
    return lcd.screen(SMALL)


def row(result: lcd.ScreenResult, pid: str) -> pd.Series:
    return result.table.set_index("practice_id").loc[pid]


# ------------------------------------------------------------- reference values


def test_counts_per_basis(small):
    t = small.table.set_index("practice_id")
    assert t["n_ct_mr"].to_dict() == {"A": 40, "B": 100, "C": 50, "D": 0}
    assert t["n_3d"].to_dict() == {"A": 12, "B": 35, "C": 5, "D": 0}
    assert t.loc["A", "n_onc_encounters"] == 10 and t.loc["A", "n_onc_encounters_3d"] == 3
    # Without the exemption: all encounters. A: 50 / 15, D: 20 / 15.
    full = lcd.screen(SMALL, exempt_oncology=False).table.set_index("practice_id")
    assert full.loc["A", ["n_ct_mr", "n_3d"]].tolist() == [50, 15]
    assert full.loc["D", ["n_ct_mr", "n_3d"]].tolist() == [20, 15]
    # Services basis: n_3d = units_3d_76376 + units_3d_76377, n_ct_mr = ct_mr_units; no
    # exemption.
    serv = lcd.screen(SMALL, basis="services")
    assert serv.table.set_index("practice_id").loc["C", ["n_ct_mr", "n_3d"]].tolist() == [55, 10]
    assert not serv.settings.oncology_exemption_applied
    assert "not applicable" in serv.definitions


def test_tables_say_what_their_counts_count(small):
    # unit names the basis, in the table, the trend and the compact summary
    serv = lcd.screen(SMALL, basis="services")
    for result, unit in ((small, "encounters"), (serv, "services")):
        for table in (result.table, result.trend, result.summary):
            assert table["unit"].tolist() == [unit] * len(table)
        cols = result.table.columns.tolist()
        assert cols[cols.index("n_ct_mr"):cols.index("n_ct_mr") + 3] == ["n_ct_mr", "n_3d", "unit"]
    assert "unit: services" in serv.definitions and "unit: encounters" in small.definitions
    assert not {"n", "x", "excess_x", "expected_x", "usd_per_x"} & set(small.table.columns)


def test_p_value_matches_binomtest(small):
    for pid, x, n in [("A", 12, 40), ("B", 35, 100), ("C", 5, 50)]:
        # scipy.stats.binomtest(x, n, 0.2, alternative="greater").pvalue
        ref = stats.binomtest(x, n, 0.2, alternative="greater").pvalue
        assert row(small, pid)["p_value"] == pytest.approx(ref, rel=1e-10)
    # Hand value: binomtest(12, 40, 0.2, alternative="greater").pvalue = 0.0875052359
    assert row(small, "A")["p_value"] == pytest.approx(0.0875052359, rel=1e-8)


@pytest.mark.parametrize(("ci", "method"), [("clopper-pearson", "exact"), ("wilson", "wilson")])
def test_intervals_match_scipy_proportion_ci(ci, method):
    res = lcd.screen(SMALL, ci=ci, ci_level=0.90)
    for pid, x, n in [("A", 12, 40), ("B", 35, 100), ("C", 5, 50)]:
        # scipy.stats.binomtest(x, n).proportion_ci(0.90, method=method)
        ref = stats.binomtest(x, n).proportion_ci(0.90, method=method)
        r = row(res, pid)
        assert r["ci_low"] == pytest.approx(ref.low, rel=1e-9)
        assert r["ci_high"] == pytest.approx(ref.high, rel=1e-9)


def test_intervals_at_the_edges():
    lo, hi = lcd.binomial_ci([0, 7, 3], [7, 7, 0])
    # x = 0: [0, 1 - 0.025**(1/7)]; x = n: [0.025**(1/7), 1]; n = 0: undefined.
    assert lo[0] == 0 and hi[0] == pytest.approx(1 - 0.025 ** (1 / 7))
    assert lo[1] == pytest.approx(0.025 ** (1 / 7)) and hi[1] == 1
    assert np.isnan(lo[2]) and np.isnan(hi[2])


def test_bh_hand_case_and_scipy():
    # Sorted p: .01 .03 .04 .5 (m = 4); m p / rank: .04 .06 .0533 .5; running min from
    # the top: .04 .0533 .0533 .5.
    q = lcd.bh_qvalues([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    p = np.random.default_rng(7).uniform(size=50) ** 3
    # scipy.stats.false_discovery_control(p, method="bh")
    np.testing.assert_allclose(lcd.bh_qvalues(p), stats.false_discovery_control(p, method="bh"))
    # NaN (unscreened) entries are skipped, not counted in m.
    q = lcd.bh_qvalues([0.01, np.nan, 0.04])
    np.testing.assert_allclose(q, [0.02, np.nan, 0.04])


def test_q_values_and_flags_in_screen(small):
    t = small.table.set_index("practice_id")
    ps = t.loc[["A", "B", "C"], "p_value"].to_numpy()
    # scipy.stats.false_discovery_control(ps, method="bh") over the 3 screened practices
    np.testing.assert_allclose(
        t.loc[["A", "B", "C"], "q_value"], stats.false_discovery_control(ps, method="bh")
    )
    # B: p = 0.000336, q = 3 x 0.000336 = 0.00101 < 0.05 -> beyond chance; A: q = 0.131.
    assert t["beyond_chance"].to_dict() == {"A": False, "B": True, "C": False, "D": False}
    assert (t["beyond_chance"] == (t["q_value"] < 0.05)).all()
    assert (t["flag_exact"] == t["beyond_chance"]).all()
    assert lcd.screen(SMALL, alpha=0.2).table.set_index("practice_id").loc["A", "beyond_chance"]
    # the rates vary beyond chance (phi = 3.6, chi-square test rejects): the leading
    # flag is the tier beyond the usual variation, which B (35 %) does not reach
    assert small.overdispersion.rejects(0.05)
    assert (t["flag"] == t["beyond_variation"]).all() and not t["flag"].any()
    assert t["status"].to_dict() == {
        "A": "above the benchmark within chance", "B": "beyond chance only",
        "C": "at or below the benchmark", "D": "not screened"}


def test_multiplicity_can_remove_a_nominally_significant_flag():
    # P: 13 of 40, binomtest(13, 40, 0.2, alternative="greater").pvalue = 0.04324 < 0.05,
    # but with two unremarkable peers (p = 1) BH gives q = 3 x 0.04324 = 0.1297.
    s = make_summary(
        [
            {"practice_id": "P", "nononc": (40, 13)},
            {"practice_id": "Q", "nononc": (40, 0)},
            {"practice_id": "R", "nononc": (40, 1)},
        ]
    )
    p = lcd.screen(s).table.set_index("practice_id").loc["P"]
    assert p["p_value"] == pytest.approx(0.0432416224, rel=1e-8)
    assert p["q_value"] == pytest.approx(3 * 0.0432416224, rel=1e-8)
    assert not p["flag"]
    # Alone, the same practice is flagged (q = p).
    assert lcd.screen(s.iloc[:1]).table["flag"].item()


def test_unscreened_practice_is_reported_not_screened(small):
    d = row(small, "D")
    assert not d["screened"] and not d["flag"] and not d["flag_shrinkage"]
    assert not d["flag_percentile"]
    for col in (
        "rate",
        "p_value",
        "q_value",
        "ci_low",
        "shrunken_rate",
        "prob_above",
        "percentile",
        "funnel_hi95",
    ):
        assert math.isnan(d[col]), col
    assert small.n_screened == 3 and len(small.table) == 4


# ----------------------------------------------------------------- funnel limits


def test_funnel_limits_hand_case():
    # Binomial(40, 0.2). Upper 95 %: F(12) = 0.956758 < 0.975 <= F(13) = 0.980593, so
    # r = 13, a = (0.980593 - 0.975) / (0.980593 - 0.956758) = 0.234657,
    # limit = (13 - 0.234657) / 40 = 0.319134.
    # Lower 95 %: F(2) = 0.007942 < 0.025 <= F(3) = 0.028462, a = 0.003462 / 0.020520
    # = 0.168718, limit = (3 - 0.168718) / 40 = 0.070782.
    # Upper 99.8 %: F(15) = 0.997064 < 0.999 <= F(16) = 0.999009, a = 0.004608,
    # limit = (16 - 0.004608) / 40 = 0.399885.
    lo95, hi95 = lcd.funnel_limits(40, 0.2, 0.95)
    assert float(hi95) == pytest.approx(0.319134, abs=2e-6)
    assert float(lo95) == pytest.approx(0.070782, abs=2e-6)
    _, hi998 = lcd.funnel_limits(40, 0.2, 0.998)
    assert float(hi998) == pytest.approx(0.399885, abs=2e-6)
    # n = 1: r = 1 at p = 0.975, a = (1 - 0.975) / 0.2 = 0.125 -> 0.875.
    assert float(lcd.funnel_limits(1, 0.2, 0.95)[1]) == pytest.approx(0.875)


def test_funnel_limits_approach_normal_limits_at_large_n():
    n = 20_000
    lo, hi = lcd.funnel_limits(n, 0.2, 0.998)
    half = stats.norm.isf(0.001) * math.sqrt(0.2 * 0.8 / n)
    assert float(hi) == pytest.approx(0.2 + half, abs=3e-4)
    assert float(lo) == pytest.approx(0.2 - half, abs=3e-4)


def test_funnel_columns_in_table(small):
    a = row(small, "A")
    assert a["funnel_hi95"] == pytest.approx(0.319134, abs=2e-6)
    # funnel_z = (0.3 - 0.2) / sqrt(0.16 / 40) = 0.1 / 0.063246 = 1.581139
    assert a["funnel_z"] == pytest.approx(1.581139, abs=1e-6)
    assert not a["above_exact_95"]  # 0.30 < 0.319
    b = row(small, "B")  # 0.35 at n = 100 is above both exact limits
    assert b["above_exact_95"] and b["above_exact_998"]


# ---------------------------------------------------------------- overdispersion


def test_overdispersion_hand_case():
    # Three practices, n = 100 each, x = 10, 20, 30: p0 = 0.2, s = sqrt(0.16/100) = 0.04,
    # z = -2.5, 0, 2.5 (I = 3: floor(0.3) = 0 values Winsorised), phi = 12.5/3 = 4.1667.
    # w = 625 each: sum w - sum w^2 / sum w = 1875 - 625 = 1250;
    # tau2 = (3 x 4.1667 - 2) / 1250 = 10.5 / 1250 = 0.0084.
    od = lcd.overdispersion([10, 20, 30], [100, 100, 100])
    assert od.pooled_rate == pytest.approx(0.2)
    assert od.phi == pytest.approx(12.5 / 3)
    assert od.tau2 == pytest.approx(0.0084)
    # chi-square test of no overdispersion: scipy.stats.chi2.sf(12.5, 2)
    assert od.chi2_p == pytest.approx(stats.chi2.sf(12.5, 2))


def test_winsorising_sets_ten_percent_each_end_to_the_nearest_value():
    z = np.array([-9.0, -1, -0.5, 0, 0.1, 0.2, 0.3, 0.4, 1, 7])  # I = 10: one each end
    w = winsorise(z)
    assert w[0] == -1 and w[-1] == 1 and (w[1:-1] == z[1:-1]).all()


def test_adjusted_limits_beside_exact(small):
    t = small.table.set_index("practice_id")
    od = small.overdispersion
    # phi_hi = t + z * sqrt(max(phi, 1) t(1-t)/n); tau_hi = t + z sqrt(t(1-t)/n + tau2)
    z95 = stats.norm.isf(0.025)
    n = 40
    assert t.loc["A", "phi_hi95"] == pytest.approx(0.2 + z95 * math.sqrt(od.phi_used * 0.16 / n))
    assert t.loc["A", "tau_hi95"] == pytest.approx(0.2 + z95 * math.sqrt(0.16 / n + od.tau2))
    # the exact limits are still there and unchanged
    assert t.loc["A", "funnel_hi95"] == pytest.approx(0.319134, abs=2e-6)
    for col in ("above_phi_95", "above_phi_998", "above_tau_95", "above_tau_998"):
        assert t[col].dtype == bool


def test_no_overdispersion_leaves_limits_binomial():
    # Identical rates: z = 0 everywhere, phi = 0 -> applied factor max(phi, 1) = 1, tau2 = 0.
    od = lcd.overdispersion([20, 40, 60], [100, 200, 300])
    assert od.phi == 0 and od.phi_used == 1 and od.tau2 == 0


# --------------------------------------------------------------------- shrinkage


def test_shrinkage_is_the_beta_posterior(small):
    a, b = small.prior.a, small.prior.b
    for pid, x, n in [("A", 12, 40), ("B", 35, 100), ("C", 5, 50)]:
        post = stats.beta(a + x, b + n - x)  # scipy.stats.beta posterior
        r = row(small, pid)
        assert r["shrunken_rate"] == pytest.approx(post.mean())
        assert r["prob_above"] == pytest.approx(post.sf(0.2))
        assert r["flag_shrinkage"] == (post.sf(0.2) > 0.95)


def test_mle_prior_maximises_the_betabinomial_likelihood():
    rng = np.random.default_rng(11)
    n = rng.integers(50, 400, size=150)
    x = rng.binomial(n, rng.beta(4.0, 36.0, size=n.size))
    prior = lcd.fit_beta_prior(x, n)
    assert prior.method == "mle"

    def loglik(a, b):  # scipy.stats.betabinom marginal
        return stats.betabinom.logpmf(x, n, a, b).sum()

    assert prior.loglik == pytest.approx(loglik(prior.a, prior.b))
    for fa, fb in [(1.1, 1), (0.9, 1), (1, 1.1), (1, 0.9), (1.1, 1.1), (0.9, 0.9)]:
        assert loglik(prior.a, prior.b) >= loglik(prior.a * fa, prior.b * fb)
    mom = lcd.fit_beta_prior(x, n, method="moments")
    assert mom.method == "moments" and loglik(prior.a, prior.b) >= mom.loglik
    # Both recover the simulated prior's mean (0.10) and roughly its strength (40).
    assert prior.mean == pytest.approx(0.10, abs=0.01)
    assert 20 < prior.a + prior.b < 80 and 15 < mom.a + mom.b < 120


def test_shrinkage_from_two_practices_is_not_estimable_not_certain():
    # Hostile input: two practices, 5/20 and 4/20. The moments prior fitted to them had
    # kappa = 1e7, all its mass on the pooled rate 0.225, and gave prob_above = 1.0 and a
    # shrinkage flag for both at exact p = 0.37 and 0.59. A flat prior alone gives
    # P(rate > 0.2 | 5 of 20) = scipy.stats.beta(6, 16).sf(0.2) = 0.77: far from certain.
    two = lcd.screen(make_summary([{"practice_id": "P1", "nononc": (20, 5)},
                                   {"practice_id": "P2", "nononc": (20, 4)}]))
    t = two.table
    assert t["prob_above"].isna().all() and t["shrunken_rate"].isna().all()
    assert not t["flag_shrinkage"].any()
    assert not two.prior.estimable
    assert two.not_estimable == [
        "Shrinkage not estimable: fewer than 3 practices screened (2); no shrunken rate, "
        "probability above the benchmark or shrinkage flag is reported."]
    assert "Shrinkage (empirical-Bayes beta-binomial): not estimable: fewer than 3" in (
        two.definitions)
    # the flags that can be compared still are: the exact test and the percentile
    # 20 encounters each: too few to judge (min_volume 30), so no tier flags them
    assert two.table["too_few"].all() and not two.table["flag_percentile"].any()
    assert two.disagreements.empty
    assert _strict_json(two.to_dict())["prior"]["a"] is None


@pytest.mark.parametrize(("x", "n", "reason"), [
    ([3, 9], [20, 30], "fewer than 3 practices screened (2)"),
    ([], [], "fewer than 3 practices screened (0)"),
    ([0, 0, 0], [20, 30, 40], "pooled rate 0"),
    ([20, 30, 40], [20, 30, 40], "pooled rate 1"),
    # 6/24 each: S = 0 <= (I - 1) mu (1 - mu), the between-practice variance is <= 0
    ([6, 6, 6], [24, 24, 24], "estimated at zero"),
    ([10, 11, 9, 10], [50, 50, 50, 50], "estimated at zero"),
])
def test_prior_is_not_estimable_without_between_practice_variation(x, n, reason):
    prior = lcd.fit_beta_prior(x, n)
    assert not prior.estimable and reason in prior.not_estimable
    assert np.isnan(prior.a) and np.isnan(prior.b) and np.isnan(prior.mean)


def test_prior_is_estimable_with_variation_between_practices():
    # 10, 20, 30 of 100: S = 100 (0.01 + 0 + 0.01) = 2 > (I - 1) p0 (1 - p0) = 0.32
    prior = lcd.fit_beta_prior([10, 20, 30], [100, 100, 100])
    assert prior.estimable and prior.method == "mle" and prior.not_estimable == ""
    assert prior.mean == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize(("rows", "reason"), [
    ([{"practice_id": "A", "nononc": (40, 12)}], "fewer than 2 practices screened (1)"),
    ([{"practice_id": "A", "nononc": (40, 0)}, {"practice_id": "B", "nononc": (30, 0)}],
     "no practice screened has any 3D rendering (pooled rate 0)"),
])
def test_overdispersion_not_estimable_is_said_in_words_not_nan(rows, reason):
    result = lcd.screen(make_summary(rows))
    od = result.overdispersion
    assert np.isnan(od.phi) and not od.estimable and od.not_estimable == reason
    assert f"Overdispersion not estimable: {reason}" in result.not_estimable[0]
    assert "nan" not in result.definitions.lower()
    # the text, not the funnel plot's PNG data (whose base64 may spell "nan")
    assert "nan" not in re.sub(r'src="data:[^"]*"', "", result._repr_html_()).lower()
    data = _strict_json(result.to_dict())
    assert data["overdispersion"]["phi"] is None
    assert data["overdispersion"]["not_estimable"] == reason


def test_practices_not_screened_are_said():
    # D has only oncology encounters (SMALL above): reported, not screened.
    small_text = lcd.screen(SMALL).not_estimable
    assert small_text == [
        "1 of 4 practices not screened: no non-oncology CT/MR encounter in the claims "
        "(only oncology encounters, or 3D lines without a CT/MR study); their rate is not "
        "estimable."]


def _strict_json(obj):
    """The object through the project's JSON writer, read back refusing NaN."""
    def refuse(constant):
        raise ValueError(f"not standard JSON: {constant}")
    return json.loads(dumps_json(obj), parse_constant=refuse)


# ------------------------------------------------------- percentile and excess


def test_percentile_and_pepper_style_flag():
    s = make_summary(
        [
            {"practice_id": p, "nononc": (100, x)}
            for p, x in zip("WXYZ", [10, 20, 30, 40], strict=True)
        ]
    )
    t = lcd.screen(s).table.set_index("practice_id")
    # Empirical CDF of rates .1 .2 .3 .4: .25 .5 .75 1; the 90 % quantile (linear) is
    # .3 + .7 x .1 = .37, so only Z (0.40) is above it.
    assert t["percentile"].tolist() == [0.25, 0.5, 0.75, 1.0]
    assert t["flag_percentile"].tolist() == [False, False, False, True]


def test_excess_and_dollars(small):
    a = row(small, "A")
    # excess = 12 - 0.2 x 40 = 4 encounters; $600 / 15 encounters with 3D = $40 each.
    assert a["excess_n_3d"] == pytest.approx(4.0)
    assert a["usd_per_3d"] == pytest.approx(40.0)
    assert a["excess_usd"] == pytest.approx(160.0)
    c = row(small, "C")
    assert c["excess_n_3d"] == 0 and c["excess_usd"] == 0


def test_excess_dollars_are_priced_like_the_revenue_model_never_zero_for_unknown():
    # Three practices, each 50 encounters with 20 with 3D (excess 20 - 0.2 x 50 = 10),
    # 20 3D lines, on BCBSNC (commercial; multiplier from the bundled assumptions):
    #   OBS: all 20 lines have allowed amounts, $800: $40 per encounter with 3D;
    #   FEE: no allowed amount, fee schedule $500 over the compliant lines: $500 x m / 20;
    #   MIX: 10 lines observed ($400), 10 priced by the fee schedule ($250): ($400 + $250 m)/20;
    #   NONE: no allowed amount and no fee-schedule price: unknown, not $0.
    from analysis.impact import ImpactAssumptions
    m = ImpactAssumptions().commercial_multiplier
    base = {"nononc": (50, 20)}
    rows = [
        base | {"practice_id": "OBS", "allowed_3d_76376_usd": 800.0},
        base | {"practice_id": "FEE"},
        base | {"practice_id": "MIX", "allowed_3d_76376_usd": 400.0},
        base | {"practice_id": "NONE"},
    ]
    s = make_summary(rows).assign(
        n_3d_lines=20, n_unpriced_3d_lines=[0, 20, 10, 20], n_no_price_3d_lines=[0, 0, 0, 20],
        rev_medicare_usd_onc=0.0, rev_medicare_usd_ind=0.0,
        rev_medicare_usd_oth=[0.0, 500.0, 250.0, 0.0])
    t = lcd.screen(s).table.set_index("practice_id")
    assert (t["excess_n_3d"] == 10).all()
    assert t.loc["OBS", "excess_usd"] == pytest.approx(10 * 800 / 20)
    assert t.loc["FEE", "excess_usd"] == pytest.approx(10 * 500 * m / 20)
    assert t.loc["MIX", "excess_usd"] == pytest.approx(10 * (400 + 250 * m) / 20)
    assert np.isnan(t.loc["NONE", "excess_usd"]) and np.isnan(t.loc["NONE", "usd_per_3d"])
    assert t["excess_usd_priced_by"].to_dict() == {
        "OBS": "observed allowed amounts",
        "FEE": "fee schedule x payer multiplier (no allowed amounts)",
        "MIX": "observed, and fee schedule x payer multiplier where missing",
        "NONE": "unknown: no allowed amount and no fee-schedule price"}
    # a payer's multiplier counts: the same fee-schedule dollars on MEDICARE at 1.0
    medicare = lcd.screen(s.assign(payer="MEDICARE")).table.set_index("practice_id")
    assert medicare.loc["FEE", "excess_usd"] == pytest.approx(
        10 * 500 * ImpactAssumptions().medicare_multiplier / 20)


# --------------------------------------------------------- agreement and trend


def test_agreement_table_counts_every_screened_practice(small):
    ag = small.agreement
    assert len(ag) == 8 and ag["n_practices"].sum() == small.n_screened
    dis = set(small.disagreements["practice_id"])
    assert dis == set(
        ag.loc[~ag["agree"] & (ag["n_practices"] > 0), "practice_ids"].str.split(", ").explode()
    )
    t = small.table.loc[small.table["screened"]]
    same = (t["flag_exact"] == t["flag_percentile"]) & (t["flag_exact"] == t["flag_shrinkage"])
    assert dis == set(t.loc[~same, "practice_id"])


def test_trend_per_period_adds_up(small):
    tr = small.trend
    b = tr.loc[tr["practice_id"] == "B"].set_index("period")
    # B: Q1 30/10; Q2 20/8 + 50/17 (two payers) = 70/25
    assert b[["n_ct_mr", "n_3d"]].to_dict("index") == {
        "2024Q1": {"n_ct_mr": 30, "n_3d": 10},
        "2024Q2": {"n_ct_mr": 70, "n_3d": 25},
    }
    assert b.loc["2024Q2", "p_value"] == pytest.approx(
        stats.binomtest(25, 70, 0.2, alternative="greater").pvalue
    )
    totals = tr.groupby("practice_id")[["n_ct_mr", "n_3d"]].sum()
    assert totals.to_dict() == small.table.set_index("practice_id")[["n_ct_mr", "n_3d"]].to_dict()


def test_trend_from_a_quarterly_summary_and_filters():
    yearly = SMALL.loc[SMALL["practice_id"] == "B"].assign(period="2024")
    res = lcd.screen(yearly, quarterly=SMALL.loc[SMALL["practice_id"] == "B"])
    assert res.trend["period"].tolist() == ["2024Q1", "2024Q2"]
    only = lcd.screen(SMALL, payers=["MEDICARE"])
    assert only.table["practice_id"].tolist() == ["B"] and only.table["n_ct_mr"].tolist() == [50]
    # A year selects its quarters; a quarter selects itself.
    assert lcd.screen(SMALL, periods="2024").n_screened == 3
    assert lcd.screen(SMALL, periods=["2024Q2"]).table["n_ct_mr"].tolist() == [70]


# ---------------------------------------------------------------- calibration


def test_calibration_with_known_truth():
    rng = np.random.default_rng(20240928)
    m0, m1 = 400, 15
    n0 = rng.integers(30, 2000, size=m0)
    x0 = rng.binomial(n0, 0.20)  # true rate exactly at the threshold
    n1 = rng.integers(1000, 3000, size=m1)
    x1 = rng.binomial(n1, 0.32)  # far above, large volume
    ids = [f"N{i:03d}" for i in range(m0)] + [f"H{i:02d}" for i in range(m1)]
    frame = make_summary(
        [
            {"practice_id": p, "nononc": (int(n), int(x))}
            for p, n, x in zip(ids, np.r_[n0, n1], np.r_[x0, x1], strict=True)
        ]
    )
    res = lcd.screen(frame).table.set_index("practice_id")
    null = res.loc[res.index.str.startswith("N")]
    # Raw exact tests at the boundary: P(p < alpha) <= alpha (discreteness makes it
    # conservative); allow 3 binomial standard errors of sampling error.
    se = math.sqrt(0.05 * 0.95 / m0)
    assert (null["p_value"] < 0.05).mean() <= 0.05 + 3 * se
    # BH-flagged share among true nulls <= alpha (up to the same sampling error).
    assert null["flag"].mean() <= 0.05 + 3 * se
    # Every large practice far above the threshold is flagged, by both model-based rules.
    high = res.loc[res.index.str.startswith("H")]
    assert high["flag"].all() and high["flag_shrinkage"].all()

    # Under the global null only (no true signals), BH controls the family-wise rate:
    only_null = lcd.screen(frame.loc[frame["practice_id"].str.startswith("N")])
    assert only_null.table["flag"].mean() <= 0.05 + 3 * se


def test_practices_below_threshold_are_not_flagged():
    rng = np.random.default_rng(3)
    n = rng.integers(100, 3000, size=200)
    frame = make_summary(
        [
            {"practice_id": f"P{i:03d}", "nononc": (int(k), int(x))}
            for i, (k, x) in enumerate(zip(n, rng.binomial(n, 0.08), strict=True))
        ]
    )
    assert lcd.screen(frame).n_flagged == 0


# ------------------------------------------------------------------ properties

practice = st.integers(0, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n)))


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(practice, min_size=1, max_size=12),
    t1=st.floats(0.02, 0.9),
    dt=st.floats(0.001, 0.5),
)
def test_flags_are_monotone_in_the_threshold(data, t1, dt):
    t2 = min(t1 + dt, 0.98)
    frame = make_summary([{"practice_id": f"P{i:02d}", "nononc": nx} for i, nx in enumerate(data)])
    low = lcd.screen(frame, threshold=t1).table
    high = lcd.screen(frame, threshold=t2).table
    # A higher threshold never adds a flag (exact test + BH, and shrinkage).
    assert not (high["flag"] & ~low["flag"]).any()
    assert not (high["flag_shrinkage"] & ~low["flag_shrinkage"]).any()
    assert (high["p_value"].fillna(0) >= low["p_value"].fillna(0) - 1e-12).all()


# --------------------------------------------------------- result and errors


def test_result_renders_with_lcd_status_and_definitions(small):
    html = small._repr_html_()
    for text in (
        "L35408",
        "2015-10-01",
        "2023-09-28",
        "RETIRED",
        "of 3 practices screened",
        "1 of 3 beyond chance alone",
        "Benjamini",
        "Spiegelhalter",
        "Definitions",
    ):
        assert text in html, text
    # practice D (not screened) shows dashes (the funnel plot's PNG data left aside)
    assert "nan" not in re.sub(r'src="data:[^"]*"', "", html)
    assert html.count('<img src="data:image/png;base64,') == 1  # the funnel plot
    for word in (
        "Clopper",
        "one-sided",
        "Winsorised",
        "DerSimonian",
        "Beta(",
        "percentile",
        "Excess",
        "n_ct_mr = 0",
    ):
        assert word in small.definitions, word
    json.dumps(small.to_dict())  # serialisable for the manifest
    assert small.settings.to_dict()["threshold"] == 0.2
    assert small.summary["practice_id"].iloc[0] == "B"  # most significant first
    with pytest.raises(AttributeError):
        small.table = None  # frozen


def test_screen_does_not_mutate_its_input():
    before = SMALL.copy()
    lcd.screen(SMALL, basis="services")
    pd.testing.assert_frame_equal(SMALL, before)


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [({"threshold": 1.2}, "threshold"), ({"alpha": 0}, "alpha"),
     ({"basis": "claims"}, "basis"), ({"ci": "wald"}, "ci"),
     ({"payers": ["AETNA"]}, "payer"), ({"periods": ["2023"]}, "period")],
)  # fmt: skip
def test_bad_options_raise_input_error(kwargs, column):
    with pytest.raises(InputError) as err:
        lcd.screen(SMALL, **kwargs)
    assert err.value.column == column


def test_settings_object_and_keywords_build_the_same_screen(small):
    settings = lcd.ScreenSettings(alpha=0.2, ci="wilson")
    by_object = lcd.screen(SMALL, settings)
    by_keywords = lcd.screen(SMALL, alpha=0.2, ci="wilson")
    pd.testing.assert_frame_equal(by_object.table, by_keywords.table)
    assert by_object.settings == by_keywords.settings == settings
    # Keywords replace fields of the settings given, and are validated as they are.
    assert lcd.screen(SMALL, settings, alpha=0.05).settings == lcd.ScreenSettings(ci="wilson")
    with pytest.raises(InputError) as err:
        lcd.screen(SMALL, settings, alpha=2.0)
    assert err.value.column == "alpha"
    assert lcd.screen(SMALL).settings == lcd.ScreenSettings() == small.settings


def test_default_settings_come_from_the_shared_defaults():
    assert lcd.ScreenSettings().threshold == LCD_BENCHMARK
    assert lcd.ScreenSettings().alpha == ALPHA


def test_unknown_keyword_names_itself():
    with pytest.raises(TypeError, match="'treshold'.*threshold, basis"):
        lcd.screen(SMALL, treshold=0.25)


def test_bad_summaries_raise_input_error():
    with pytest.raises(InputError, match="n_nononc_encounters"):
        lcd.screen(SMALL.drop(columns="n_nononc_encounters"))
    bad = SMALL.assign(n_nononc_encounters_3d=SMALL["n_nononc_encounters_3d"] + 100)
    with pytest.raises(InputError) as err:
        lcd.screen(bad)
    assert err.value.row == 1 and err.value.column == "n_nononc_encounters_3d"
    with pytest.raises(InputError, match="non-negative"):
        lcd.screen(SMALL.assign(n_nononc_encounters=-1))


# ------------------------------------------------------------------------- CLI


def _claims_fixture(path) -> None:
    """Hand-made claims: practice HI bills 3D on 12 of 20 non-oncology CT encounters
    (60 %), LO on 2 of 20 (10 %); each also has 5 oncology encounters, all with 3D.

    Each encounter: one CT abdomen/pelvis line (74177); a 3D encounter adds a 76376
    line on the same claim and date ($25 allowed). Encounters are spread over the four
    quarters of 2024 (patient i on day 1 of month 1 + 3 (i mod 4)).
    """
    rows = []
    for pid, n3d in (("HI", 12), ("LO", 2)):
        for i in range(25):
            onc = i >= 20
            claim = f"{pid}-{i:03d}"
            date = f"2024-{1 + 3 * (i % 4):02d}-01"
            dx = "C34.90" if onc else "R10.9"
            base = {
                "claim_id": claim,
                "practice_id": pid,
                "patient_id": f"{pid}P{i:03d}",
                "service_date": date,
                "modifiers": "26",
                "units": 1,
                "place_of_service": "22",
                "payer": "BCBSNC" if i % 2 else "MEDICARE",
                "diagnosis_codes": dx,
                "state": "NC",
            }
            rows.append(base | {"line_number": 1, "cpt_code": "74177", "allowed_usd": 90.0})
            if onc or i < n3d:
                rows.append(base | {"line_number": 2, "cpt_code": "76376", "allowed_usd": 25.0})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_cli_lcd_on_a_small_fixture(tmp_path, capsys):
    claims_csv = tmp_path / "claims.csv"
    _claims_fixture(claims_csv)
    out = tmp_path / "out"
    assert main(["lcd", str(claims_csv), "--out", str(out), "--min-volume", "20"]) == 0
    printed = capsys.readouterr().out
    # HI: 12/20, binomtest(12, 20, 0.2, alternative="greater").pvalue = 1.0e-4 -> beyond
    # chance; LO: 2/20 -> p = 0.93. Oncology encounters (5 each, all with 3D) are exempt.
    assert "1 of 2 beyond chance alone" in printed
    assert "Beyond chance only: HI (60.0% of 20" in printed
    assert "L35408" in printed and "2023-09-28" in printed
    assert "Definitions:" in printed and "Benjamini" in printed
    table = pd.read_csv(out / "lcd_screen.csv").set_index("practice_id")
    assert table.loc["HI", ["n_ct_mr", "n_3d"]].tolist() == [20, 12]
    assert table.loc["HI", "p_value"] == pytest.approx(
        stats.binomtest(12, 20, 0.2, alternative="greater").pvalue
    )
    # excess = 12 - 4 = 8 encounters x ($25 x 17 lines / 17 encounters with 3D) = $200
    assert table.loc["HI", "excess_usd"] == pytest.approx(200.0)
    assert table["beyond_chance"].to_dict() == {"HI": True, "LO": False}
    # with the default minimum volume of 30 encounters neither is judged
    assert main(["lcd", str(claims_csv), "--out", str(tmp_path / "o2")]) == 0
    assert "2 with fewer than 30 encounters are too few to judge" in capsys.readouterr().out
    book = pd.read_excel(out / "lcd_screen.xlsx", sheet_name=None)
    assert list(book) == ["Cover", "screen", "agreement", "trend", "settings", "Definitions"]
    assert sorted(book["trend"]["Period"].unique()) == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert "Benjamini" in book["Definitions"].to_string()
    assert (out / "funnel.png").read_bytes()[:4] == b"\x89PNG"

    # Options: no exemption counts the 5 oncology encounters (17 of 25); one payer.
    assert (
        main(
            [
                "lcd",
                str(claims_csv),
                "--no-oncology-exemption",
                "--payer",
                "MEDICARE",
                "--period",
                "year",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "lcd_screen.csv").set_index("practice_id")
    # MEDICARE = even i: HI i in 0,2,...,24 -> 13 encounters, 3D for i < 12 (6) and
    # i >= 20 (20, 22, 24: 3) = 9.
    assert table.loc["HI", ["n_ct_mr", "n_3d"]].tolist() == [13, 9]


def test_cli_lcd_user_errors_exit_2(tmp_path, capsys):
    assert main(["lcd", str(tmp_path / "missing.csv"), "--out", str(tmp_path)]) == 2
    assert "missing.csv" in capsys.readouterr().err
    claims_csv = tmp_path / "claims.csv"
    _claims_fixture(claims_csv)
    assert main(["lcd", str(claims_csv), "--threshold", "1.5", "--out", str(tmp_path)]) == 2
    assert "threshold" in capsys.readouterr().err
    assert main(["lcd", str(claims_csv), "--payer", "AETNA", "--out", str(tmp_path)]) == 2
    assert "AETNA" in capsys.readouterr().err


def test_cli_lcd_on_the_bundled_sample(tmp_path, capsys):
    assert main(["lcd", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "practices screened" in printed and "flagged" in printed
    assert "Definitions:" in printed
    for name in ("lcd_screen.csv", "lcd_screen.xlsx", "funnel.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_fractional_services_are_rounded_for_the_exact_test():
    # Medicare PUF services can be fractional: 40.4 CT/MR and 12.6 + 0.2 3D services
    # round (half to even, column by column) to n = 40, x = 13 + 0 = 13.
    frac = make_summary([{"practice_id": "A", "nononc": (40, 12), "ct_mr_units": 40.4,
                          "units_3d_76376": 12.6, "units_3d_76377": 0.2}])  # fmt: skip
    r = lcd.screen(frac, basis="services").table.iloc[0]
    assert (r["n_ct_mr"], r["n_3d"]) == (40, 13)
    # scipy.stats.binomtest(13, 40, 0.2, alternative="greater").pvalue
    assert r["p_value"] == pytest.approx(stats.binomtest(13, 40, 0.2, alternative="greater").pvalue)
    assert not math.isnan(r["p_value"])


def test_fractional_encounter_counts_are_an_input_error():
    bad = make_summary([{"practice_id": "A", "nononc": (40, 12)}]).assign(
        n_nononc_encounters=40.5
    )
    with pytest.raises(InputError, match="whole numbers") as err:
        lcd.screen(bad)
    assert err.value.column == "n_nononc_encounters" and err.value.row == 1


def test_funnelplotr_arcsine_method_on_a_fixed_data_set():
    # FunnelPlotR's proportion ("PR") method, computed here by its formulas: y =
    # asin(sqrt(x/n)), target asin(sqrt(sum x / sum n)), s = 1/(2 sqrt(n)), z-scores
    # Winsorised at R's type-7 10 %/90 % quantiles, phi = mean(z^2), tau2 = DerSimonian-
    # Laird (0 when n phi < n - 1); limits sin(asin(sqrt(t)) + z sqrt(s^2 + tau2))^2
    x = np.array([2.0, 8, 15, 40, 12])
    n = np.array([50.0, 60, 70, 80, 90])
    y, target = np.arcsin(np.sqrt(x / n)), np.arcsin(np.sqrt(x.sum() / n.sum()))
    s = 1 / (2 * np.sqrt(n))
    z = (y - target) / s
    lo, hi = np.percentile(z, [10, 90])  # numpy's default = R's quantile type 7
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    w = 1 / s**2
    tau2 = max(0.0, (5 * phi - 4) / (w.sum() - (w**2).sum() / w.sum()))
    od = lcd.overdispersion(x, n, method="arcsine")
    assert od.phi == pytest.approx(phi, rel=1e-12) and od.tau2 == pytest.approx(tau2, rel=1e-12)
    upper = np.sin(np.arcsin(np.sqrt(0.2)) + stats.norm.isf(0.001) * np.sqrt(s**2 + tau2)) ** 2
    np.testing.assert_allclose(od.upper(n, 0.2, 0.998), upper, rtol=1e-12)
    # the screen uses it on request; the default stays the rate scale
    summary = make_summary([{"practice_id": f"P{i}", "nononc": (int(n[i]), int(x[i]))}
                            for i in range(5)])
    arc = lcd.screen(summary, funnel_method="arcsine")
    np.testing.assert_allclose(arc.table["tau_hi998"], upper, rtol=1e-12)
    assert arc.overdispersion.scale == "arcsine"
    assert lcd.screen(summary).overdispersion.scale == "rate"
    with pytest.raises(InputError):
        lcd.screen(summary, funnel_method="logit")


def test_shmi_truncation_leaves_the_extreme_tenths_out_of_phi():
    # NHS Digital's SHMI truncation as FunnelPlotR's truncation() codes it, on the
    # arcsine scale of its proportion method, worked out here with numpy alone:
    # 12 practices, p0 = 312 / 1304 = 0.239264; z = (asin(sqrt(x/n)) - asin(sqrt(p0)))
    # x 2 sqrt(n), ranked 1..12 (no ties); group = floor(rank x 10 / 13) keeps groups
    # 1..8, so rank 1 (z = -3.7285, group 0) and rank 12 (z = 4.9066, group 9) are left
    # out, and rank 11 (z = 3.8020, group floor(110 / 13) = 8) stays: m = 10.
    # phi = mean(z_kept^2) = 3.777681; tau2 = (10 phi - 9) / (sum w - sum w^2 / sum w)
    # over the kept w = 4 n = 0.011764 (Winsorised at the type-7 10/90 % quantiles
    # instead: phi 4.753375, tau2 0.015505).
    x = np.array([3.0, 9, 14, 40, 12, 6, 22, 18, 30, 5, 11, 25])
    n = np.array([50.0, 60, 70, 80, 90, 40, 100, 75, 65, 55, 45, 85])
    s = 1 / (2 * np.sqrt(n))
    z = (np.arcsin(np.sqrt(x / n)) - np.arcsin(np.sqrt(x.sum() / n.sum()))) / s
    rank = np.empty(12)
    rank[np.argsort(z)] = np.arange(1, 13)
    group = np.floor(rank * 10 / 13)
    kept = (group >= 1) & (group <= 8)
    assert np.flatnonzero(~kept).tolist() == [0, 3]
    phi = np.sum(z[kept] ** 2) / 10
    w = 1 / s[kept] ** 2
    tau2 = (10 * phi - 9) / (w.sum() - (w**2).sum() / w.sum())
    assert (phi, tau2) == pytest.approx((3.777681, 0.011764), abs=1e-6)
    od = lcd.overdispersion(x, n, method="arcsine", trim="truncate")
    assert od.phi == pytest.approx(phi, rel=1e-12) and od.tau2 == pytest.approx(tau2, rel=1e-12)
    assert (od.n_practices, od.n_practices_used, od.trim) == (12, 10, "truncate")
    # the chi-square test counts the kept practices: scipy.stats.chi2.sf(10 phi, 9)
    assert od.chi2_p == pytest.approx(stats.chi2.sf(10 * phi, 9))
    winsorised = lcd.overdispersion(x, n, method="arcsine")
    assert (winsorised.phi, winsorised.tau2) == pytest.approx((4.753375, 0.015505), abs=1e-6)
    assert winsorised.n_practices_used == 12
    # On the rate scale the same ranks decide: z = (x/n - p0) / sqrt(p0 (1 - p0) / n).
    zr = (x / n - x.sum() / n.sum()) / np.sqrt(x.sum() / n.sum() * (1 - x.sum() / n.sum()) / n)
    rank[np.argsort(zr)] = np.arange(1, 13)
    kept_r = (np.floor(rank * 10 / 13) >= 1) & (np.floor(rank * 10 / 13) <= 8)
    rate = lcd.overdispersion(x, n, trim="truncate")
    assert rate.phi == pytest.approx(np.mean(zr[kept_r] ** 2), rel=1e-12)
    # The screen takes it as an option; Winsorising stays the default and the
    # definitions say which was used.
    summary = make_summary([{"practice_id": f"P{i:02d}", "nononc": (int(n[i]), int(x[i]))}
                            for i in range(12)])
    cut = lcd.screen(summary, funnel_method="arcsine", overdispersion_trim="truncate")
    upper = np.sin(np.arcsin(np.sqrt(0.2)) + stats.norm.isf(0.001) * np.sqrt(s**2 + tau2)) ** 2
    np.testing.assert_allclose(cut.table["tau_hi998"], upper, rtol=1e-12)
    assert "truncated (10 % each end left out, SHMI; 10 of 12 practices)" in cut.definitions
    assert lcd.screen(summary).overdispersion.trim == "winsorise"
    with pytest.raises(InputError, match="overdispersion_trim"):
        lcd.screen(summary, overdispersion_trim="cap")
