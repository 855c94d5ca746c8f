"""Tests for analysis.impact: hand-worked losses, annualization, years, properties."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import re

import numpy as np
import pandas as pd
import pytest
from claim_lines import make_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.assumptions import settings_table
from analysis.cli import main
from analysis.defaults import EFFECTIVE_DATE, LCD_BENCHMARK, POLICY_PAYERS
from analysis.encounters import link
from analysis.errors import InputError
from analysis.impact import (
    REQUIRED_COLUMNS,
    ImpactAssumptions,
    assumption_table,
    default_policies,
    impact,
    impact_base,
)
from analysis.policy import full_bundling, lcd_cap, status_quo
from analysis.pricing import BUNDLED_GPCI_FILES, fee_schedule, load_gpci
from analysis.revenue_base import attach_baskets, attached_baskets
from analysis.revenue_engine import horizon_prices, price_basket, price_baskets
from analysis.summary import summarize, summarize_linked

# ------------------------------------------------------------------ fixtures


def srow(practice: str, period: str, payer: str, **values) -> dict:
    """One summary row; every count and dollar not given is zero."""
    row = dict.fromkeys(REQUIRED_COLUMNS[3:], 0.0)
    unknown = set(values) - set(row)
    assert not unknown, unknown
    return row | values | {"practice_id": practice, "period": period, "payer": payer}


def hand_summary() -> pd.DataFrame:
    """Four summary rows, worked by hand below (each practice has claim lines in
    2024Q1 and Q2: half a year, factor 2).

    A / BCBSNC / Q1: onc  2 enc, $100 observed ($80 paid)
                     ind  4 enc, $200 observed ($160 paid)
                     oth 10 enc, $300 observed ($240 paid) + 2 lines without
                         allowed or paid priced at Medicare $50 -> 1.8 x 50 = $90
                     50 non-oncology CT/MR encounters; one non-compliant line ($70)
    A / MEDICARE / Q2: oth 5 enc, Medicare price $120, no paid -> $120
    B / BCBSNC / Q1:  50 non-oncology encounters, no 3D
    B / BCBSNC / Q2:  ind 5 enc $250 ($200 paid), oth 10 enc $400 ($320 paid);
                     50 non-oncology encounters
    Annual revenue without (x2): A = (100 + 200 + 390 + 120) x 2 = 1620;
    B = (250 + 400) x 2 = 1300.
    """
    return pd.DataFrame(
        [
            srow(
                "A",
                "2024Q1",
                "BCBSNC",
                n_nononc_encounters=50,
                rev_units_onc=2,
                rev_encounters_onc=2,
                rev_observed_usd_onc=100,
                rev_paid_usd_onc=80,
                rev_units_ind=4,
                rev_encounters_ind=4,
                rev_observed_usd_ind=200,
                rev_paid_usd_ind=160,
                rev_units_oth=10,
                rev_encounters_oth=10,
                rev_observed_usd_oth=300,
                rev_medicare_usd_oth=50,
                rev_paid_usd_oth=240,
                rev_unpaid_lines_oth=2,
                noncompliant_allowed_usd=70,
                n_noncompliant_3d_lines=1,
            ),
            srow(
                "A",
                "2024Q2",
                "MEDICARE",
                n_nononc_encounters=40,
                rev_units_oth=5,
                rev_encounters_oth=5,
                rev_medicare_usd_oth=120,
                rev_unpaid_lines_oth=5,
            ),
            srow("B", "2024Q1", "BCBSNC", n_nononc_encounters=50),
            srow(
                "B",
                "2024Q2",
                "BCBSNC",
                n_nononc_encounters=50,
                rev_units_ind=5,
                rev_encounters_ind=5,
                rev_observed_usd_ind=250,
                rev_paid_usd_ind=200,
                rev_units_oth=10,
                rev_encounters_oth=10,
                rev_observed_usd_oth=400,
                rev_paid_usd_oth=320,
            ),
        ]
    )


# Each horizon year is priced at its own Medicare fee schedule (the default), as a
# price index of each practice's basket on its baseline (revenue_engine.horizon_prices).
# The hand summary has no units by code, so a basket is one 76376 + one 76377, global,
# non-facility, North Carolina (GPCIs work 1.000, PE 0.926, MP 0.665): each amount is
# [(work RVU x 1.000) + (PE RVU x 0.926) + (MP RVU x 0.665)] x CF, rounded to the cent.
#   2025 RVU file (also for 2024, the earliest file):
#     76376 0.20 / 0.55 / 0.02 -> 0.2 + 0.5093 + 0.0133 = 0.7226
#     76377 0.79 / 1.53 / 0.06 -> 0.79 + 1.41678 + 0.0399 = 2.24668
#   2024Q1, middle 2024-02-15, CF 32.7442: 0.7226 x 32.7442 = 23.66; 2.24668 x 32.7442
#     = 73.57; basket 97.23
#   2024Q2, middle 2024-05-16, CF 33.2875: 24.05 + 74.79 = 98.84
#   2025, CF 32.3465: 23.37 + 72.67 = 96.04 (CMS's published NC amounts)
#   2026 RVU file: 76376 0.20 / 0.54 / 0.02 -> 0.71334; 76377 0.77 / 1.52 / 0.07 ->
#     0.77 + 1.40752 + 0.04655 = 2.22407; 2025 GPCIs (no 2026 file), CF 33.4009:
#     0.71334 x 33.4009 = 23.83; 2.22407 x 33.4009 = 74.29; basket 98.12
# A's baseline weights its quarters by its 3D units, 16 in Q1 and 5 in Q2:
# (16 x 97.23 + 5 x 98.84) / 21 = 2049.88 / 21 = 97.6133; B's 15 units are all in Q2.
A1, A2 = 96.04 / (2049.88 / 21), 98.12 / (2049.88 / 21)  # 0.983882, 1.005191
B1, B2 = 96.04 / 98.84, 98.12 / 98.84  # 0.971671, 0.992715


def year1(result, policy: str) -> pd.DataFrame:
    p = result.practices
    return p[(p["policy"] == policy) & (p["year"] == 1)].set_index("practice_id")


# ---------------------------------------------------------- hand-worked tests


def test_hand_worked_losses_per_practice_and_policy():
    result = impact(hand_summary(), default_policies())
    # Full bundling (BCBSNC): A loses its BCBSNC revenue (100+200+390) x 2 = 1380 at
    # baseline prices, i.e. 1380 / 1620 = 85.19 % of its 3D revenue; B loses all 1300.
    # Year 1 (2025) moves them by the practice's index (A1, B1 above).
    fb = year1(result, "full_bundling")
    assert fb.loc["A", "loss_usd"] == pytest.approx(1380.0 * A1)
    assert fb.loc["A", "loss_share"] == pytest.approx(1380 / 1620)
    assert fb.loc["B", "loss_usd"] == pytest.approx(1300.0 * B1)
    assert fb.loc["A", "revenue_with_usd"] == pytest.approx(240.0 * A1)  # Medicare 120 x 2
    # LCD cap: A has 4 + 10 = 14 non-oncology 3D encounters and may have
    # 0.2 x 50 = 10, so 4/14 of its ind + oth revenue is unpaid:
    # 4/14 x (200 + 390) x 2 = 337.142857. B: 15 <= 0.2 x 100 = 20, no loss.
    cap = year1(result, "lcd_cap")
    assert cap.loc["A", "loss_usd"] == pytest.approx(4 / 14 * 590 * 2 * A1)
    assert cap.loc["B", "loss_usd"] == 0.0
    # Medical necessity: only the oth groups of BCBSNC: A 390 x 2, B 400 x 2.
    mn = year1(result, "medical_necessity")
    assert mn.loc["A", "loss_usd"] == pytest.approx(780.0 * A1)
    assert mn.loc["B", "loss_usd"] == pytest.approx(800.0 * B1)
    # Status quo changes nothing.
    assert (year1(result, "status_quo")["loss_usd"] == 0).all()


def test_noncompliant_lines_are_never_revenue_and_reported_apart():
    result = impact(hand_summary(), default_policies())
    for policy in ("status_quo", "full_bundling", "lcd_cap", "medical_necessity"):
        y = year1(result, policy)
        # The $70 non-compliant line (x2 annualized, at 2025 prices) is reported ...
        assert y.loc["A", "noncompliant_allowed_usd"] == pytest.approx(140.0 * A1)
        # ... but not in the revenue of either world.
        assert y.loc["A", "revenue_without_usd"] == pytest.approx(1620.0 * A1)
    # Removing it changes no revenue or loss.
    clean = hand_summary().assign(noncompliant_allowed_usd=0.0, n_noncompliant_3d_lines=0.0)
    a = impact(hand_summary(), default_policies()).practices
    b = impact(clean, default_policies()).practices
    pd.testing.assert_series_equal(a["loss_usd"], b["loss_usd"])


def test_payer_patient_split_and_behavioural_response():
    y = year1(impact(hand_summary(), full_bundling()), "full_bundling")
    # Payer part of A's lost BCBSNC revenue: 80 + 160 + 240 observed paid, plus
    # 0.8 x (2 of 10 oth lines without paid) x 390 = 62.4 -> 542.4 x 2 = 1084.8 at
    # baseline prices; dollars move with A's 2025 index A1.
    assert y.loc["A", "payer_savings_usd"] == pytest.approx(1084.8 * A1)
    assert y.loc["A", "patient_savings_usd"] == pytest.approx((1380 - 1084.8) * A1)
    # 2 + 4 + 10 renderings x 2 = 32 unpaid; 25 % stop at $15 each: $120 avoided (a
    # cost, not a price of 3D rendering: no index).
    assert y.loc["A", "renderings_unpaid"] == pytest.approx(32.0)
    assert y.loc["A", "cost_avoided_usd"] == pytest.approx(120.0)
    assert y.loc["A", "net_margin_loss_usd"] == pytest.approx(1380 * A1 - 120)


def test_annualization_of_a_partial_year():
    base = impact_base(hand_summary())
    # Both practices have claim lines in Q1 and Q2 of 2024, half a year: doubled.
    assert base.annualization_factor == 2.0
    assert base.method == "practice_periods"
    assert base.annualization["periods_observed"].tolist() == [2, 2]
    assert base.periods == ("2024Q1", "2024Q2")
    assert base.baseline_days == 182.0  # 2024-01-01 .. 2024-07-01 (leap year)
    # Explicit days: 365 / 91 for one quarter of data, every practice alike.
    q1 = hand_summary().iloc[[0]]
    by_days = impact(q1, full_bundling(), assumptions=ImpactAssumptions(baseline_days=91))
    # A's BCBSNC loss in Q1 is 690; x 365/91 = 2767.582..., at 2025 prices: its 16
    # units are all in Q1, basket 97.23 (above), so x 96.04 / 97.23.
    assert year1(by_days, "full_bundling").loc["A", "loss_usd"] == pytest.approx(
        690 * 365 / 91 * 96.04 / 97.23)
    assert "365 / 91 days" in by_days.base["annualization"]
    # A full year is not rescaled; a gap is not observed: claim lines in 2024Q1 and
    # 2024Q4 only are two quarters, half a year.
    full = hand_summary().assign(period="2024")
    assert impact_base(full).annualization_factor == 1.0
    gap = hand_summary().assign(period=["2024Q1", "2024Q4", "2024Q1", "2024Q4"])
    assert impact_base(gap).annualization_factor == 2.0


def test_each_practice_is_annualized_by_its_own_quarters():
    # B without its Q1 row has claim lines in one quarter only: x4, while A keeps x2.
    # One factor for the file (two quarters) would have doubled B's quarter instead.
    summary = hand_summary().drop(index=2)
    res = impact(summary, full_bundling())
    assert res.annualization.set_index("practice_id")["annualization_factor"].to_dict() == {
        "A": 2.0, "B": 4.0}
    y = year1(res, "full_bundling")
    assert y.loc["A", "loss_usd"] == pytest.approx(1380.0 * A1)  # 690 x 2, as by hand above
    assert y.loc["B", "loss_usd"] == pytest.approx(650 * 4 * B1)  # (250 + 400) x 4
    assert y["periods_observed"].to_dict() == {"A": 2, "B": 1}
    assert res.base["annualization_factor"] is None
    assert (res.base["annualization_factor_min"], res.base["annualization_factor_max"]) == (
        2.0, 4.0)
    assert "1 practice with 2 quarters (x2), 1 practice with 1 quarter (x4)" in (
        res.base["annualization"])
    sources = res.assumption_table().set_index("parameter")
    assert sources.loc["annualization_factor", "value"] == "2 to 4 (per practice)"
    assert res.base["annualization"] in res._repr_html_()


def _quarterly_3d_lines(practice: str, years: tuple[int, ...]) -> list[dict]:
    """One CT encounter with one 76377 line ($70 allowed, BCBSNC) in each quarter."""
    return [
        {"practice_id": practice, "patient_id": f"{practice}-{y}-{q}", "claim_id":
         f"{practice}-{y}-{q}", "line_number": k + 1, "service_date": f"{y}-{3 * q - 1:02d}-15",
         "cpt_code": code, "allowed_usd": usd}
        for y in years for q in (1, 2, 3, 4)
        for k, (code, usd) in enumerate((("74177", 200.0), ("76377", 70.0)))
    ]


# 76377 global, non-facility, NC (work 0.79, PE 1.53, MP 0.06 -> 2.24668 with the NC
# GPCIs; see the prices above the hand summary): 2023 (CF 33.8872) 76.13, 2024Q1
# (32.7442) 73.57, 2024Q2-Q4 and the middle of 2024 (33.2875) 74.79, 2025 72.67.
Q2024 = 72.67 / ((73.57 + 3 * 74.79) / 4)  # quarters: baseline 74.485, index 0.975633
Y2024 = 72.67 / 74.79  # a yearly summary prices 2024 at its middle: 0.971654


@pytest.mark.parametrize("period", ["quarter", "year"])
def test_a_far_off_date_scales_only_its_own_practice(period):
    # Hostile input: one CT line of P1 dated 2099-12-31 among 2024's claims. Each
    # practice bills 4 x $70 = $280 of 3D a year, all lost under full bundling.
    # Before, the baseline 2024..2099 (76 years) scaled everyone by 1/76: year-1
    # loss $7.37 instead of $560. Now P2 is untouched and P1 gains one observed
    # period: by hand, quarters 280 x 4/5 = 224, years 280 x 1/2 = 140; each at 2025
    # prices by its 76377 index (the stray period has no 3D units, so it weighs
    # nothing in the baseline's prices).
    stray = {"practice_id": "P1", "patient_id": "far", "claim_id": "far",
             "service_date": "2099-12-31", "cpt_code": "74177", "allowed_usd": 200.0}
    lines = make_lines(_quarterly_3d_lines("P1", (2024,)) + _quarterly_3d_lines("P2", (2024,))
                       + [stray])
    res = impact(summarize(lines, period=period), full_bundling())
    loss = year1(res, "full_bundling")["loss_usd"]
    index = Q2024 if period == "quarter" else Y2024
    assert loss["P2"] == pytest.approx(280.0 * index)
    assert loss["P1"] == pytest.approx((224.0 if period == "quarter" else 140.0) * index)
    assert res.base["periods"][-1].startswith("2099")


def test_a_practice_without_the_first_year_is_not_halved():
    # A 2023-24 file: P1 bills both years, P2 only 2024; each $280 of 3D a year.
    # One factor for the file (two years, x1/2) gave P2 $140. At 2025 prices (76377
    # amounts above): P1's baseline is its 8 quarters, (4 x 76.13 + 73.57 + 3 x
    # 74.79) / 8 = 602.46 / 8, or its 2 years, (76.13 + 74.79) / 2 = 75.46.
    lines = make_lines(_quarterly_3d_lines("P1", (2023, 2024))
                       + _quarterly_3d_lines("P2", (2024,)))
    expected = {"quarter": {"P1": 280 * 72.67 / (602.46 / 8), "P2": 280 * Q2024},
                "year": {"P1": 280 * 72.67 / 75.46, "P2": 280 * Y2024}}
    for period in ("quarter", "year"):
        res = impact(summarize(lines, period=period), full_bundling())
        loss = year1(res, "full_bundling")["loss_usd"]
        assert loss.to_dict() == pytest.approx(expected[period])


def test_years_growth_fees_effective_date_and_discounting():
    a = ImpactAssumptions(volume_growth=0.10, fee_update=0.02, discount_rate=0.03, horizon_years=3)
    pol = full_bundling(effective_date="2025-07-01")
    res = impact(hand_summary(), pol, assumptions=a)
    p = res.practices.set_index(["practice_id", "year"])
    # Year 1 (2025): in force from 1 July = 184 of 365 days, 2025 prices.
    assert p.loc[("A", 1), "in_force_share"] == pytest.approx(184 / 365)
    assert p.loc[("A", 1), "loss_usd"] == pytest.approx(1380 * 184 / 365 * A1)
    # Year 2: full year, volume x 1.1, the 2026 fee schedule (no fee update).
    assert p.loc[("A", 2), "loss_usd"] == pytest.approx(1380 * 1.1 * A2)
    # Year 3 (2027): after the last known schedule, 2026's x 1.02.
    assert p.loc[("A", 3), "revenue_without_usd"] == pytest.approx(1620 * 1.1**2 * A2 * 1.02)
    assert p.loc[("A", 3), "price_factor"] == pytest.approx(A2 * 1.02)
    # Costs avoided grow with volume only.
    assert p.loc[("A", 2), "cost_avoided_usd"] == pytest.approx(120 * 1.1)
    t = res.totals.set_index("year")
    assert t.loc[2, "loss_pv_usd"] == pytest.approx(t.loc[2, "loss_usd"] / 1.03)
    s = res.summary.iloc[0]
    assert s["loss_horizon_usd"] == pytest.approx(t["loss_usd"].sum())
    assert s["loss_pv_usd"] == pytest.approx((t["loss_usd"] / 1.03 ** (t.index - 1)).sum())


def test_policy_before_the_horizon_is_fully_in_force_and_after_is_not():
    res = impact(
        hand_summary(),
        [
            full_bundling(name="early", effective_date="2020-03-01"),
            full_bundling(name="late", effective_date="2031-01-01"),
        ],
    )
    t = res.totals.set_index(["policy", "year"])
    assert t.loc[("early", 1), "in_force_share"] == 1.0
    assert t.loc[("late", 3), "loss_usd"] == 0.0


def test_multipliers_by_payer_class():
    # Only unpriced lines use the multiplier: A's oth Medicare part $50 at 2.5 instead
    # of 1.8 adds 0.7 x 50 x 2 = 70 to A's BCBSNC loss.
    hi = impact(
        hand_summary(), full_bundling(), assumptions=ImpactAssumptions(commercial_multiplier=2.5)
    )
    assert year1(hi, "full_bundling").loc["A", "loss_usd"] == pytest.approx(1450.0 * A1)
    # The Medicare row is priced at the medicare multiplier: 1.0 x 120 x 2.
    med = impact(hand_summary(), full_bundling(payers=("MEDICARE",)))
    assert year1(med, "full_bundling").loc["A", "loss_usd"] == pytest.approx(240.0 * A1)
    # Relabel MEDICARE as Medicaid: 0.75 x 240.
    mcd = impact(
        hand_summary(),
        full_bundling(payers=("MEDICARE",)),
        assumptions=ImpactAssumptions(payer_classes={"MEDICARE": "medicaid"}),
    )
    assert year1(mcd, "full_bundling").loc["A", "loss_usd"] == pytest.approx(180.0 * A1)


def hand_lines() -> pd.DataFrame:
    """Claim lines of one practice, 2024Q1-Q2 (x2), BCBSNC, paid = 80 % of allowed."""
    rows = [
        ("X", "2024-02-01", "74177", "C34.90", 100.0),
        ("X", "2024-02-01", "76376", "C34.90", 30.0),
        ("Y", "2024-03-01", "71250", "R91.8", 70.0),
        ("Y", "2024-03-01", "76377", "R91.8", 80.0),
        ("Z", "2024-04-10", "71275", "I26.99", 120.0),
        ("Z", "2024-04-10", "76376", "I26.99", 25.0),
        ("V", "2024-05-01", "70450", "R51.9", 60.0),
        ("V", "2024-05-01", "76376", "R51.9", 20.0),
        ("W1", "2024-01-15", "71250", "R05.9", 70.0),
        ("W2", "2024-04-15", "71250", "R05.9", 70.0),
        ("W3", "2024-06-15", "70450", "R51.9", 60.0),
    ]
    lines = pd.DataFrame(
        rows, columns=["patient_id", "service_date", "cpt_code", "diagnosis_codes", "allowed_usd"]
    )
    strings = [
        "claim_id",
        "practice_id",
        "patient_id",
        "cpt_code",
        "modifiers",
        "place_of_service",
        "payer",
        "diagnosis_codes",
        "state",
    ]
    return lines.assign(
        claim_id=[f"c{i}" for i in range(len(lines))],
        line_number=1,
        practice_id="P1",
        modifiers="26",
        units=1,
        place_of_service="22",
        payer="BCBSNC",
        state="NC",
        paid_usd=lines["allowed_usd"] * 0.8,
        service_date=pd.to_datetime(lines["service_date"]),
    ).astype(dict.fromkeys(strings, "string") | {"line_number": "int64", "units": "int64"})


# hand_lines' price index of 2025: P1 has 3 units of 76376 (X, Z, V) and 1 of 76377
# (Y), 2 units in 2024Q1 and 2 in Q2; global NC amounts as above the hand summary:
#   Q1 3 x 23.66 + 73.57 = 144.55; Q2 3 x 24.05 + 74.79 = 146.94;
#   baseline (2 x 144.55 + 2 x 146.94) / 4 = 145.745; 2025 3 x 23.37 + 72.67 = 142.78.
HAND_LINES_2025 = 142.78 / 145.745  # 0.979656
# rad3d impact prices P1 by its own lines instead (the engine's baskets): its compliant
# 3D lines, all with observed amounts, are 2 x 76376-26 (X, V) and 1 x 76377-26 (Y),
# facility (POS 22), NC; Z is non-compliant. RVU-GPCI units with NC's GPCIs (work
# 1.000, PE 0.926, MP 0.665) and the 2025 RVUs: 76376-26 0.20 + 0.07 x 0.926 + 0.01 x
# 0.665 = 0.27147; 76377-26 0.79 + 0.29 x 0.926 + 0.04 x 0.665 = 1.08514.
#   Q1 x 32.7442: 8.89 and 35.53 -> 2 x 8.89 + 35.53 = 53.31
#   Q2 x 33.2875: 9.04 and 36.12 -> 2 x 9.04 + 36.12 = 54.20
#   baseline, 2 3D units in Q1 and 2 in Q2: (2 x 53.31 + 2 x 54.20) / 4 = 53.755
#   2025 x 32.3465: 8.78 and 35.10 -> 2 x 8.78 + 35.10 = 52.66
HAND_LINES_OWN_2025 = 52.66 / 53.755  # 0.979630


def test_end_to_end_from_claim_lines():
    # One practice, 2024Q1-Q2 (x2), BCBSNC, all allowed amounts observed:
    #   X 02-01 CT 74177 + 76376 $30 (lung cancer C34.90: oncology)
    #   Y 03-01 CT 71250 + 76377 $80 (R91.8: other)
    #   Z 04-10 CTA 71275 + 76376 $25 (I26.99) -> non-compliant (CTA on 76376's list)
    #   V 05-01 CT 70450 + 76376 $20 (R51.9: other)
    #   W1, W2, W3: CT without 3D (non-oncology)
    # Non-oncology encounters: Y Z V W1 W2 W3 = 6; compliant non-oncology 3D: Y V = 2.
    # Revenue without: 30 + 80 + 20 = 130 per half year -> 260.
    # full bundling 260; cap pays 0.2 x 6 = 1.2 of 2 -> loses 0.4 x 100 x 2 = 80;
    # medical necessity loses oth = (80 + 20) x 2 = 200; non-compliant 25 x 2 = 50;
    # all at baseline prices, then x HAND_LINES_2025 in year 1.
    lines = hand_lines()
    result = impact(summarize(lines, period="quarter"), default_policies())
    loss = {
        pol: year1(result, pol).loc["P1", "loss_usd"]
        for pol in ("status_quo", "full_bundling", "lcd_cap", "medical_necessity")
    }
    assert loss == pytest.approx({"status_quo": 0.0, "full_bundling": 260.0 * HAND_LINES_2025,
                                  "lcd_cap": 80.0 * HAND_LINES_2025,
                                  "medical_necessity": 200.0 * HAND_LINES_2025})
    y = year1(result, "full_bundling")
    assert y.loc["P1", "noncompliant_allowed_usd"] == pytest.approx(50.0 * HAND_LINES_2025)
    assert y.loc["P1", "payer_savings_usd"] == pytest.approx(0.8 * 260 * HAND_LINES_2025)


# ----------------------------------------------------------------- the result


def test_result_renders_and_serializes():
    res = impact(hand_summary(), default_policies())
    assert list(res.summary["policy"]) == [
        "status_quo",
        "full_bundling",
        "lcd_cap",
        "medical_necessity",
    ]
    text = res.headline()
    # 1380 x A1 + 1300 x B1 = 1357.76 + 1263.17 = 2620.93
    assert "Full bundling (BCBS NC, 2024): practices lose $2,621" in text
    assert res.headline(policy="full_bundling") == text.splitlines()[1]
    with pytest.raises(InputError, match="not among the policies"):
        res.headline(policy="nope")
    html = res._repr_html_()
    assert "Assumptions and sources" in html and "Urban Institute" in html
    d = res.to_dict()
    assert d["baseline"]["annualization_factor"] == 2.0
    assert d["annualization"][0] | {"practice_id": "A"} == {
        "practice_id": "A", "first_period": "2024Q1", "last_period": "2024Q2",
        "periods_observed": 2, "years_observed": 0.5, "annualization_factor": 2.0}
    assert {r["parameter"] for r in d["assumption_sources"]} >= {
        "commercial_multiplier",
        "effective_date",
        "scope_share",
    }
    tidy = res.practices
    assert not tidy.duplicated(["practice_id", "policy", "year"]).any()
    assert {
        "practice_id",
        "policy",
        "year",
        "revenue_without_usd",
        "revenue_with_usd",
        "loss_usd",
        "loss_share",
        "net_margin_loss_usd",
        "payer_savings_usd",
        "patient_savings_usd",
    } <= set(tidy.columns)


def test_defaults_match_the_reference_table():
    table = assumption_table().set_index("parameter")
    a = ImpactAssumptions()
    for name in a.parameter_names():
        assert getattr(a, name) == table.at[name, "base"], name
    assert lcd_cap().threshold == table.at["threshold", "base"]
    assert full_bundling().scope_share == table.at["scope_share", "base"]
    assert table["source"].str.len().gt(20).all()
    assert ImpactAssumptions.from_dict(a.to_dict()) == a


def test_reference_settings_agree_with_the_shared_defaults():
    settings = settings_table().set_index("setting")["default"]
    assert dt.date.fromisoformat(settings["effective_date"]) == EFFECTIVE_DATE
    assert tuple(settings["policy_payers"].split(";")) == POLICY_PAYERS
    assert assumption_table().set_index("parameter").at["threshold", "base"] == LCD_BENCHMARK


def test_reference_tables_are_copies():
    table = assumption_table()
    table.loc[:, "base"] = -1.0
    assert (assumption_table()["base"] != -1.0).all()
    assert ImpactAssumptions().commercial_multiplier == 1.8


def test_the_model_reads_no_files():
    # Only analysis.assumptions reads the bundled tables; the model gets them from it.
    reading = re.compile(r"\bopen\(|read_csv|read_parquet|Path\(|\bpaths\.")
    for name in (
        "convergence",
        "distributions",
        "impact",
        "lcd",
        "policy",
        "rate_stats",
        "revenue_base",
        "revenue_engine",
        "uncertainty",
    ):
        source = inspect.getsource(importlib.import_module(f"analysis.{name}"))
        assert not reading.search(source), name


def test_json_is_standard_with_missing_numbers_as_null():
    d = impact(hand_summary(), default_policies()).to_dict()
    json.dumps(d, allow_nan=False)  # raises on NaN
    extra = {r["parameter"]: r for r in d["assumption_sources"]}["annualization_factor"]
    assert extra["value"] == "2" and extra["base"] is None


def test_no_3d_revenue_says_there_is_nothing_to_lose():
    # CT/MR encounters and no 3D line: every loss is $0 and every loss share is
    # undefined (0 / 0), stated in words and null in JSON, never NaN.
    empty = hand_summary().assign(**{c: 0.0 for c in REQUIRED_COLUMNS[4:]})
    res = impact(empty, default_policies())
    assert res.headline(policy="full_bundling") == (
        "Full bundling (BCBS NC, 2024): no practice has 3D rendering revenue in the claims, "
        "so there is nothing to lose ($0); the loss share is not estimable.")
    row = {r["policy"]: r for r in res.to_dict()["summary"]}["full_bundling"]
    assert row["loss_year1_usd"] == 0 and row["loss_share_year1"] is None
    json.dumps(res.to_dict(), allow_nan=False)


def test_input_errors_name_the_problem():
    with pytest.raises(InputError, match="rev_units_onc"):
        impact(hand_summary().drop(columns="rev_units_onc"))
    with pytest.raises(InputError, match="row 2.*rev_observed_usd_ind"):
        impact(hand_summary().assign(rev_observed_usd_ind=[1.0, -5.0, 1.0, 1.0]))
    with pytest.raises(InputError, match="period"):
        impact(hand_summary().assign(period="last spring"))
    with pytest.raises(InputError, match="horizon_years"):
        ImpactAssumptions(horizon_years=7)
    with pytest.raises(InputError, match="stop_share"):
        ImpactAssumptions(stop_share=1.2)
    with pytest.raises(InputError, match="unique"):
        impact(hand_summary(), [lcd_cap(), lcd_cap()])


# ------------------------------------------------------------------ properties

PAYERS = ["BCBSNC", "MEDICARE", "MEDICAID", "OTHER_COMMERCIAL"]


@st.composite
def summaries(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 6))
    money = st.floats(0, 5000, allow_nan=False).map(lambda x: round(x, 2))
    count = st.integers(0, 40)
    rows = []
    for i in range(n):
        values = {
            "n_nononc_encounters": draw(st.integers(0, 300)),
            "noncompliant_allowed_usd": draw(money),
        }
        for g in ("onc", "ind", "oth"):
            units = draw(count)
            values |= {
                f"rev_units_{g}": units,
                f"rev_encounters_{g}": units,
                f"rev_observed_usd_{g}": draw(money),
                f"rev_medicare_usd_{g}": draw(money),
                f"rev_paid_usd_{g}": draw(money) * 0.5,
                f"rev_unpaid_lines_{g}": draw(st.integers(0, units)),
            }
        rows.append(
            srow(f"P{i % 3}", draw(st.sampled_from(["2024Q1", "2024Q2"])), PAYERS[i % 4], **values)
        )
    return pd.DataFrame(rows)


FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COUNT_AND_USD = [c for c in REQUIRED_COLUMNS[3:]]
USD = [c for c in COUNT_AND_USD if "_usd" in c]


@FAST
@given(s=summaries())
def test_status_quo_loses_nothing(s):
    res = impact(s, status_quo())
    assert (res.practices["loss_usd"] == 0).all()
    assert (res.practices["revenue_with_usd"] == res.practices["revenue_without_usd"]).all()


ALTERNATIVES = default_policies()[1:]


@pytest.mark.parametrize("columns", [COUNT_AND_USD, USD], ids=["volume", "price"])
@FAST
@given(s=summaries(), k=st.floats(0.25, 8.0))
def test_loss_is_linear_in_volume_and_in_price(columns, s, k):
    scaled = s.assign(**{c: s[c] * k for c in columns})
    a = impact(s, ALTERNATIVES).practices["loss_usd"].to_numpy()
    b = impact(scaled, ALTERNATIVES).practices["loss_usd"].to_numpy()
    np.testing.assert_allclose(b, k * a, rtol=1e-9, atol=1e-6)


def test_loss_is_affine_in_the_multiplier():
    # Equal steps of the commercial multiplier give equal changes: only the $50 of
    # unpriced BCBSNC lines move, by 0.5 x 50 x 2 = 50 per step at baseline prices,
    # x A1 in 2025.
    m = [
        impact(
            hand_summary(), full_bundling(), assumptions=ImpactAssumptions(commercial_multiplier=x)
        )
        .totals["loss_usd"]
        .iloc[0]
        for x in (1.0, 1.5, 2.0)
    ]
    assert np.diff(m) == pytest.approx([50.0 * A1, 50.0 * A1])


@FAST
@given(s=summaries(), threshold=st.floats(0.05, 1.0))
def test_cap_loss_is_zero_at_or_below_the_threshold(s, threshold):
    res = impact(s, lcd_cap(threshold=threshold))
    bc = (
        s[s["payer"] == "BCBSNC"]
        .groupby("practice_id")[["rev_encounters_ind", "rev_encounters_oth", "n_nononc_encounters"]]
        .sum()
    )
    below = bc.index[
        bc["rev_encounters_ind"] + bc["rev_encounters_oth"] <= threshold * bc["n_nononc_encounters"]
    ]
    p = res.practices.set_index("practice_id")
    assert (p.loc[p.index.isin(below), "loss_usd"] == 0).all()
    assert (p["loss_usd"] >= 0).all()
    assert (p["loss_usd"] <= p["revenue_without_usd"] + 1e-9).all()


@FAST
@given(s=summaries())
def test_practices_add_up_to_the_whole(s):
    # The model is per practice: practices run separately add up to the statewide
    # totals (with the same baseline length, as the summary is additive).
    same = ImpactAssumptions(baseline_days=182)
    pols = ALTERNATIVES
    whole = impact(s, pols, assumptions=same).totals.set_index(["policy", "year"])
    parts = pd.concat(
        [impact(part, pols, assumptions=same).totals for _, part in s.groupby("practice_id")]
    )
    summed = parts.groupby(["policy", "year"])[["loss_usd", "revenue_without_usd"]].sum()
    pd.testing.assert_frame_equal(
        whole[["loss_usd", "revenue_without_usd"]].sort_index(),
        summed.sort_index(),
        check_exact=False,
        rtol=1e-9,
    )


def test_cli_writes_the_outputs(tmp_path):
    claims = tmp_path / "claims.csv"
    hand_lines().assign(service_date=lambda d: d["service_date"].dt.strftime("%Y-%m-%d")).to_csv(
        claims, index=False
    )
    out = tmp_path / "out"
    code = main(
        [
            "impact",
            str(claims),
            "--policy",
            "all",
            "--horizon",
            "2",
            "--draws",
            "300",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    practices = pd.read_csv(out / "impact_practices.csv")
    y1 = practices[practices["year"] == 1].set_index("policy")
    # The hand-worked losses of test_end_to_end_from_claim_lines, priced by P1's own
    # lines (HAND_LINES_OWN_2025).
    assert y1.loc["full_bundling", "loss_usd"] == pytest.approx(260.0 * HAND_LINES_OWN_2025)
    assert y1.loc["lcd_cap", "loss_usd"] == pytest.approx(80.0 * HAND_LINES_OWN_2025)
    assert y1.loc["medical_necessity", "loss_usd"] == pytest.approx(
        200.0 * HAND_LINES_OWN_2025)
    summary = json.loads((out / "impact_summary.json").read_text())
    assert summary["fee_schedules"]["basket"].startswith(
        "the mix of each practice's own 3D lines priced by the fee schedule")
    assert "%" not in summary["fee_schedules"]["basket"]  # no pooled shares stated
    years = summary["fee_schedules"]["years"]
    assert [y["fee_year"] for y in years] == [2025, 2026]
    assert years[1]["fee_schedule"].startswith(
        "2026 Medicare PFS: 2026 RVU file, 2025 GPCI file (no 2026 GPCI file given; the "
        "latest), conversion factor $33.4009")
    fb = summary["policies"]["full_bundling"]
    assert fb["psa"]["n_draws"] == 300
    assert fb["psa"]["totals"][0]["lower"] <= fb["psa"]["totals"][0]["upper"]
    assert any(r["parameter"] == "commercial_multiplier" for r in summary["assumption_sources"])
    assert (out / "impact.xlsx").stat().st_size > 0
    assert (out / "impact_tornado_lcd_cap.png").exists()
    # A user error is one line and exit code 2.
    assert main(["impact", str(claims), "--horizon", "9", "--out", str(out)]) == 2


def test_start_date_is_a_date():
    assert ImpactAssumptions(start_date="2026-01-01").start_date == dt.date(2026, 1, 1)


def test_cli_stream_engine_gives_the_same_tables(tmp_path):
    claims = tmp_path / "claims.csv"
    hand_lines().assign(service_date=lambda d: d["service_date"].dt.strftime("%Y-%m-%d")).to_csv(
        claims, index=False
    )
    out = tmp_path / "stream"
    assert main(["impact", str(claims), "--draws", "0", "--out", str(out)]) == 0
    # The hand-worked full-bundling loss of test_end_to_end_from_claim_lines, from the
    # default (streamed, DuckDB-linked) engine, priced by P1's own lines.
    practices = pd.read_csv(tmp_path / "stream" / "impact_practices.csv")
    y1 = practices[practices["year"].eq(1)].set_index("policy")
    assert y1.loc["full_bundling", "loss_usd"] == pytest.approx(260.0 * HAND_LINES_OWN_2025)
    # The baseline's prices on request: year 1 is the baseline itself.
    out = tmp_path / "baseline"
    assert main(["impact", str(claims), "--draws", "0", "--prices", "baseline", "--out",
                 str(out)]) == 0
    practices = pd.read_csv(out / "impact_practices.csv")
    y1 = practices[practices["year"].eq(1)].set_index("policy")
    assert y1.loc["full_bundling", "loss_usd"] == pytest.approx(260.0)
    assert json.loads((out / "impact_summary.json").read_text())["assumptions"]["prices"] == (
        "baseline")


def test_horizon_priced_at_each_years_fee_schedule():
    # The hand summary's prices, by hand above it: basket 1 x 76376 + 1 x 76377 global
    # NC, 96.04 in 2025 and 98.12 in 2026; each practice's own baseline (A 97.6133, B
    # 98.84); the whole baseline weighs the quarters by all 3D units, Q1 16 and Q2 20:
    # (16 x 97.23 + 20 x 98.84) / 36 = 3532.48 / 36 = 98.1244.
    a = ImpactAssumptions(fee_update=0.02, horizon_years=3)
    res = impact(hand_summary(), full_bundling(), assumptions=a)
    years = res.prices.years.set_index("year")
    assert years["fee_year"].tolist() == [2025, 2026, 2026]
    assert years["rvu_vintage"].tolist() == [2025, 2026, 2026]
    assert years["gpci_vintage"].tolist() == [2025, 2025, 2025]
    assert years["conversion_factor"].tolist() == [32.3465, 33.4009, 33.4009]
    assert years["basket_usd"].tolist() == pytest.approx([96.04, 98.12, 98.12])
    assert years["price_index"].tolist() == pytest.approx(
        [96.04 / (3532.48 / 36), 98.12 / (3532.48 / 36), 98.12 / (3532.48 / 36)])
    assert years["years_after_schedule"].tolist() == [0, 0, 1]
    index = res.prices.practices.set_index(["practice_id", "year"])["price_index"]
    assert index.to_dict() == pytest.approx({("A", 1): A1, ("A", 2): A2, ("A", 3): A2,
                                             ("B", 1): B1, ("B", 2): B2, ("B", 3): B2})
    p = res.practices.set_index(["practice_id", "year"])
    # A's full-bundling loss at baseline prices is 1380 a year (tests above); year 3
    # (2027) keeps the 2026 schedule and moves by fee_update once.
    assert p.loc[("A", 1), "loss_usd"] == pytest.approx(1380 * A1)
    assert p.loc[("A", 2), "loss_usd"] == pytest.approx(1380 * A2)
    assert p.loc[("A", 3), "loss_usd"] == pytest.approx(1380 * A2 * 1.02)
    # Each year states its schedule; 2026 says it used the 2025 GPCIs.
    table = res.assumption_table().set_index("parameter")
    assert table.at["prices", "value"] == "fee_schedule"
    assert table.at["fee_schedule_year_1", "source"].startswith(
        "2025 Medicare PFS: 2025 RVU file, 2025 GPCI file, conversion factor $32.3465")
    assert table.at["fee_schedule_year_2", "source"].startswith(
        "2026 Medicare PFS: 2026 RVU file, 2025 GPCI file (no 2026 GPCI file given; the "
        "latest), conversion factor $33.4009")
    assert table.at["fee_schedule_year_3", "source"].endswith("then x (1 + fee update)^1")
    baseline = table.at["fee_schedule_baseline", "source"]
    assert "conversion factor $32.7442 (44% of the 3D units), $33.2875 (56%)" in baseline
    assert "one unit each" in table.at["fee_schedule_basket", "source"]
    d = res.to_dict()
    assert d["fee_schedules"]["years"][1]["year_start"] == "2026-01-01"
    assert d["assumptions"]["prices"] == "fee_schedule"
    # The baseline's prices on request: year 1 unchanged, fee_update from year 2.
    flat = impact(hand_summary(), full_bundling(), assumptions=a, prices="baseline")
    f = flat.practices.set_index(["practice_id", "year"])
    assert f.loc[("A", 1), "loss_usd"] == pytest.approx(1380)
    assert f.loc[("A", 2), "loss_usd"] == pytest.approx(1380 * 1.02)
    assert f.loc[("A", 3), "loss_usd"] == pytest.approx(1380 * 1.02**2)
    assert flat.assumptions.prices == "baseline"
    assert flat.prices.years["fee_schedule"].iloc[1] == (
        "the baseline's prices (observed amounts, else the fee schedule of each line's "
        "date), then x (1 + fee update)^1")
    same = impact(hand_summary(), full_bundling(),
                  assumptions=a.replace(prices="baseline")).practices
    pd.testing.assert_frame_equal(same, flat.practices)
    with pytest.raises(InputError, match="prices"):
        impact(hand_summary(), full_bundling(), prices="2026")
    with pytest.raises(InputError, match="prices"):
        ImpactAssumptions(prices="vintage")


def test_result_shows_a_figure_where_one_belongs():
    # Several alternatives: their horizon losses compared; one: its revenue per year
    # with and without it; the status quo alone changes nothing and has no figure.
    several = impact(hand_summary(), [status_quo(), full_bundling(), lcd_cap()])._repr_html_()
    assert '<img src="data:image/png;base64,' in several
    assert "costs practices the most" in several
    one = impact(hand_summary(), [status_quo(), full_bundling()])._repr_html_()
    assert '<img src="data:image/png;base64,' in one and "practices lose" in one
    assert "<img" not in impact(hand_summary(), [status_quo()])._repr_html_()


def test_year_two_is_priced_at_the_2026_schedule():
    # One practice in 2024Q2 (x4), BCBSNC, professional components in a hospital
    # (-26, POS 22: facility), no allowed amounts: every line priced by the fee
    # schedule, BCBSNC at 1.8 x Medicare. 3 x 76376-26 + 1 x 76377-26, each with its
    # CT. Medicare amounts, [(work x 1.000) + (PE x 0.926) + (MP x 0.665)] x CF with
    # North Carolina's GPCIs:
    #   76376-26, 2025 and 2026 RVUs 0.20 / 0.07 / 0.01 -> 0.2 + 0.06482 + 0.00665
    #     = 0.27147: 2024Q2 x 33.2875 = 9.04; 2025 x 32.3465 = 8.78; 2026 x 33.4009
    #     = 9.07 (2026 RVUs x 2025 NC GPCIs x $33.4009)
    #   76377-26, 2025 RVUs 0.79 / 0.29 / 0.04 -> 0.79 + 0.26854 + 0.0266 = 1.08514:
    #     2024Q2 36.12, 2025 35.10; 2026 RVUs 0.77 / 0.29 / 0.05 -> 0.77 + 0.26854 +
    #     0.03325 = 1.07179, x 33.4009 = 35.80
    # Revenue without the policy, 4 x 1.8 x basket: baseline 3 x 9.04 + 36.12 = 63.24,
    # year 1 3 x 8.78 + 35.10 = 61.44 -> 442.368, year 2 3 x 9.07 + 35.80 = 63.01 ->
    # 453.672.
    rows = [(f"P{i}", code, ct) for i, (code, ct) in enumerate(
        [("76376", "74177"), ("76376", "74177"), ("76376", "74177"), ("76377", "71250")])]
    lines = make_lines([  # make_lines' defaults: -26, POS 22, NC, no allowed or paid
        {"patient_id": pid, "claim_id": pid, "line_number": k + 1,
         "service_date": "2024-05-15", "cpt_code": c, "diagnosis_codes": "R91.8"}
        for pid, code, ct in rows for k, c in enumerate((ct, code))
    ])
    linked = link(lines)
    basket = price_basket(linked.lines_3d)
    assert basket.to_dict("list") == {
        "cpt_code": ["76376", "76377"], "component": ["26", "26"],
        "setting": ["facility", "facility"], "state": ["NC", "NC"], "units": [3.0, 1.0]}
    summary = summarize_linked(linked, period="quarter")
    assert summary["rev_medicare_usd_oth"].sum() == pytest.approx(63.24)
    base = impact_base(summary)
    prices = horizon_prices(base, horizon=2, start_date=dt.date(2025, 1, 1), basket=basket)
    two = ImpactAssumptions(horizon_years=2)
    res = impact(base, full_bundling(), assumptions=two, prices=prices)
    per_year = res.totals.set_index("year")
    assert per_year["revenue_without_usd"].tolist() == pytest.approx([442.368, 453.672])
    years = prices.years.set_index("year")
    assert years["basket_usd"].tolist() == pytest.approx([61.44, 63.01])
    assert years.at[2, "fee_schedule"] == (
        "2026 Medicare PFS: 2026 RVU file, 2025 GPCI file (no 2026 GPCI file given; the "
        "latest), conversion factor $33.4009, price index 0.9964")  # 63.01 / 63.24
    assert prices.basket == ("the basket given, by units: 76376 26 facility NC 75%, "
                             "76377 26 facility NC 25%")
    assert "$33.2875" in prices.baseline
    # The default basket (global service) would not give 2026's -26 amounts.
    default = impact(base, full_bundling(), assumptions=two).totals["revenue_without_usd"]
    assert default.iloc[1] != pytest.approx(453.672, abs=0.5)
    # Prices for other years are refused, not misapplied.
    with pytest.raises(InputError, match="other years"):
        impact(base, full_bundling(), prices=prices)


def _own_lines() -> pd.DataFrame:
    """2024-05-15 (2024Q2) claims without allowed amounts: A two CTs, each with
    76376-26 in a hospital (POS 22: facility); B one CT with 76377 global in an office
    (POS 11: non-facility); C one CT with 76376-26, facility."""
    def encounter(practice, patient, ct, code, **extra):
        return [{"practice_id": practice, "patient_id": patient, "claim_id": patient,
                 "line_number": k + 1, "service_date": "2024-05-15", "cpt_code": c,
                 **extra} for k, c in enumerate((ct, code))]
    office = {"modifiers": pd.NA, "place_of_service": "11"}
    return make_lines([*encounter("A", "A1", "74177", "76376"),
                       *encounter("A", "A2", "74177", "76376"),
                       *encounter("B", "B1", "71250", "76377", **office),
                       *encounter("C", "C1", "74177", "76376")])


def test_each_practice_is_priced_by_the_mix_of_its_own_lines():
    # A's lines are all 76376-26 facility, B's all 76377 global non-facility; C is left
    # out of the baskets and keeps the summary's rule (its 76376 as the global service).
    # Amounts: RVU-GPCI units with NC's GPCIs (work 1.000, PE 0.926, MP 0.665) x CF, to
    # the cent; 2024Q2 (middle 2024-05-16) $33.2875, 2025 $32.3465, 2026 $33.4009:
    #   76376-26 facility, 2025 and 2026 RVUs 0.20 / 0.07 / 0.01 -> 0.2 + 0.06482 +
    #     0.00665 = 0.27147: 2024Q2 9.04, 2025 8.78, 2026 9.07
    #   76377 global non-facility, 2025 RVUs 0.79 / 1.53 / 0.06 -> 0.79 + 1.41678 +
    #     0.0399 = 2.24668: 2024Q2 74.79, 2025 72.67; 2026 RVUs 0.77 / 1.52 / 0.07 ->
    #     0.77 + 1.40752 + 0.04655 = 2.22407: 74.29
    #   76376 global non-facility, 2025 RVUs 0.20 / 0.55 / 0.02 -> 0.7226: 2024Q2
    #     24.05, 2025 23.37; 2026 RVUs 0.20 / 0.54 / 0.02 -> 0.71334: 23.83
    # Each index is the mix's amount in the year over its 2024Q2 amount (the units
    # cancel): A 8.78 / 9.04 and 9.07 / 9.04; B 72.67 / 74.79 and 74.29 / 74.79; C
    # 23.37 / 24.05 and 23.83 / 24.05.
    linked = link(_own_lines())
    baskets = price_baskets(linked.lines_3d)
    assert baskets.to_dict("list") == {
        "practice_id": ["A", "B", "C"], "cpt_code": ["76376", "76377", "76376"],
        "component": ["26", "global", "26"],
        "setting": ["facility", "non_facility", "facility"], "state": ["NC", "NC", "NC"],
        "units": [2.0, 1.0, 1.0]}
    summary = summarize_linked(linked, period="quarter")
    base = impact_base(summary, baskets=baskets.loc[baskets["practice_id"] != "C"])
    prices = horizon_prices(base, horizon=2, start_date=dt.date(2025, 1, 1))
    index = prices.practices.set_index(["practice_id", "year"])["price_index"]
    assert index.to_dict() == pytest.approx({
        ("A", 1): 8.78 / 9.04, ("A", 2): 9.07 / 9.04,        # 0.971239, 1.003319
        ("B", 1): 72.67 / 74.79, ("B", 2): 74.29 / 74.79,    # 0.971654, 0.993315
        ("C", 1): 23.37 / 24.05, ("C", 2): 23.83 / 24.05})   # 0.971726, 0.990852
    # The whole baseline adds up a year of each practice's basket (one quarter, x4):
    # 8 x 76376-26, 4 x 76377 and 4 x 76376 global. 2024Q2 8 x 9.04 + 4 x 74.79 +
    # 4 x 24.05 = 467.68; 2025 8 x 8.78 + 4 x 72.67 + 4 x 23.37 = 454.40; 2026
    # 8 x 9.07 + 4 x 74.29 + 4 x 23.83 = 465.04.
    years = prices.years.set_index("year")
    assert years["basket_usd"].tolist() == pytest.approx([454.40, 465.04])
    assert years["price_index"].tolist() == pytest.approx([454.40 / 467.68, 465.04 / 467.68])
    assert prices.basket == (
        "the mix of each practice's own 3D lines priced by the fee schedule (its compliant "
        "lines without an observed allowed amount; all its compliant lines when each has "
        "one), by code, component, setting and state; 1 "
        "practice without such lines: its units of 76376 and 76377, global service, "
        "non-facility, priced in NC")
    # The summary carries the baskets to every entry point (the report's inputs attach
    # them): BCBSNC pays 1.8 x Medicare, so year 2's revenue is 1.8 x 4 x the 2026 amount
    # of each practice's lines: A 1.8 x 4 x 2 x 9.07 = 130.608, B 1.8 x 4 x 74.29 =
    # 534.888; C (every practice now has its basket) 1.8 x 4 x 9.07 = 65.304.
    carried = attach_baskets(summary, baskets)
    assert attached_baskets(carried).equals(baskets) and not summary.attrs
    res = impact(carried, full_bundling(), assumptions=ImpactAssumptions(horizon_years=2))
    year2 = res.practices.query("year == 2").set_index("practice_id")["revenue_without_usd"]
    assert year2.to_dict() == pytest.approx({"A": 130.608, "B": 534.888, "C": 65.304})
    # no pooled shares: an item one practice alone bills would show its mix
    assert res.prices.basket.endswith("by code, component, setting and state")
    # A practice's index is its own: a summary of A alone (filtered, still carrying the
    # baskets) gives A the same index; a summary alone keeps the global-service rule.
    alone = impact_base(carried.loc[carried["practice_id"] == "A"])
    assert alone.baskets["practice_id"].tolist() == ["A"]
    alone_index = horizon_prices(alone, horizon=2, start_date=dt.date(2025, 1, 1)).practices
    assert alone_index["price_index"].tolist() == pytest.approx([8.78 / 9.04, 9.07 / 9.04])
    plain = horizon_prices(impact_base(summary), horizon=2, start_date=dt.date(2025, 1, 1))
    assert plain.practices["price_index"].iloc[1] == pytest.approx(23.83 / 24.05)
    # Concatenated pieces of the carrying summary keep the baskets (text compares).
    joined = pd.concat([carried.iloc[:1], carried.iloc[1:]])
    assert attached_baskets(joined).equals(baskets)


def test_practice_baskets_are_checked_and_unpriced_items_left_out():
    summary = summarize_linked(link(_own_lines()), period="quarter")
    base = impact_base(summary)
    start = dt.date(2025, 1, 1)
    # Practice baskets through impact_base need their practice_id.
    with pytest.raises(InputError, match="practice_id"):
        impact_base(summary, baskets=pd.DataFrame({"cpt_code": ["76376"], "units": [1.0]}))
    with pytest.raises(InputError, match="units"):
        horizon_prices(base, horizon=1, start_date=start, basket=pd.DataFrame(
            {"practice_id": ["A"], "cpt_code": ["76376"], "units": [-1.0]}))
    # An item without a fee-schedule price (a code the fee schedule does not list)
    # moves nothing: A keeps its priced item, B falls back to the summary's rule.
    given = pd.DataFrame({"practice_id": ["A", "A", "B"],
                          "cpt_code": ["76376", "99999", "99999"], "component": "26",
                          "setting": "facility", "state": "NC", "units": 1.0})
    prices = horizon_prices(base, horizon=2, start_date=start, basket=given)
    index = prices.practices.set_index(["practice_id", "year"])["price_index"]
    assert index[("A", 2)] == pytest.approx(9.07 / 9.04)
    assert index[("B", 2)] == pytest.approx(74.29 / 74.79)  # its 76377, global service
    assert prices.basket.startswith("each practice's own basket given")
    assert prices.basket.endswith("left out, without a fee-schedule price: 99999 26 facility NC")
    # No practice in the baskets: the summary's rule, said as before.
    none = horizon_prices(base, horizon=1, start_date=start, basket=given.iloc[:0])
    assert none.basket.startswith("each practice's own units of 76376 and 76377")


def test_a_users_2026_gpci_file_prices_year_two(tmp_path):
    # The bundled 2025 table relabelled 2026, with North Carolina's PE GPCI 0.950: 2026
    # is priced with it and says so; 2025 keeps the 2025 file. By hand (2026 RVUs,
    # CF 33.4009): 76376 0.20 + 0.54 x 0.95 + 0.02 x 0.665 = 0.7263 -> 24.26; 76377
    # 0.77 + 1.52 x 0.95 + 0.07 x 0.665 = 2.26055 -> 75.50; basket 99.76 (98.12 with
    # the 2025 GPCIs). B's baseline is 98.84 (prices above the hand summary).
    text = BUNDLED_GPCI_FILES[2025].read_text()
    head, body = text.split("\n", 3)[:3], text.split("\n", 3)[3]
    assert "11502,NC,0,NORTH CAROLINA,1,0.926,0.665" in body
    path = tmp_path / "GPCI2026.csv"
    path.write_text("\n".join(h.replace("2025", "2026") for h in head) + "\n" + body.replace(
        "11502,NC,0,NORTH CAROLINA,1,0.926,0.665", "11502,NC,0,NORTH CAROLINA,1,0.95,0.665"))
    schedule = fee_schedule(gpci=[load_gpci(path)])
    prices = horizon_prices(impact_base(hand_summary()), horizon=3,
                            start_date=dt.date(2025, 1, 1), schedule=schedule)
    years = prices.years.set_index("year")
    assert years["gpci_vintage"].tolist() == [2025, 2026, 2026]
    assert years["basket_usd"].tolist() == pytest.approx([96.04, 99.76, 99.76])
    assert years.at[2, "fee_schedule"].startswith(
        "2026 Medicare PFS: 2026 RVU file, 2026 GPCI file, conversion factor $33.4009")
    res = impact(hand_summary(), full_bundling(), prices=prices)
    p = res.practices.set_index(["practice_id", "year"])
    assert p.loc[("B", 1), "loss_usd"] == pytest.approx(1300 * B1)
    assert p.loc[("B", 2), "loss_usd"] == pytest.approx(1300 * 99.76 / 98.84)
    # The command line takes the file too (--gpci) and names it for 2026.
    claims = tmp_path / "claims.csv"
    hand_lines().assign(service_date=lambda d: d["service_date"].dt.strftime("%Y-%m-%d")).to_csv(
        claims, index=False)
    out = tmp_path / "out"
    assert main(["impact", str(claims), "--draws", "0", "--gpci", str(path), "--out",
                 str(out)]) == 0
    summary = json.loads((out / "impact_summary.json").read_text())
    assert [y["gpci_vintage"] for y in summary["fee_schedules"]["years"]] == [2025, 2026, 2026]
