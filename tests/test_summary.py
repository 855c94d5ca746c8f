"""Tests for analysis.summary: hand-worked counts, periods, and additivity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from claim_lines import make_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import pricing
from analysis.claims import load_claims
from analysis.encounters import link
from analysis.errors import InputError
from analysis.paths import SAMPLE_CLAIMS, SAMPLE_PRACTICES
from analysis.summary import (
    COUNT_COLUMNS,
    ENCOUNTER_COUNT_COLUMNS,
    KEY_COLUMNS,
    LINE_COUNT_COLUMNS,
    LINE_USD_COLUMNS,
    REV_COUNT_COLUMNS,
    REV_USD_COLUMNS,
    SUM_COLUMNS,
    USD_COLUMNS,
    add_summaries,
    empty_summary,
    period,
    practice_totals,
    summarize,
    summarize_linked,
    summarize_partitions,
)

NAN = np.nan



# Practice P1 in 2024, five patients:
#   X  CT 03-30 (C78.01, lung metastasis); 76376 on 04-02 (3 days later: linked,
#      separate-date), allowed $20, paid $15                  -> oncology, compliant
#   Y  CT 05-01, no 3D
#   Z  CTA 06-03 (I71.2 aneurysm) + 76377 the same day, allowed $50
#                                        -> non-compliant (CTA is on 76377's list)
#   W  76376 on 07-01, no CT at all, nothing observed          -> orphan, priced by PFS
#   V  CT + 76377 ($70) + 76376 ($20) on 08-01, all MEDICARE  -> 76376 "both_3d_codes"
FIXTURE = [
    {"patient_id": "X", "service_date": "2024-03-30", "cpt_code": "74177",
     "diagnosis_codes": "C78.01"},
    {"patient_id": "X", "service_date": "2024-04-02", "cpt_code": "76376",
     "diagnosis_codes": "C78.01", "allowed_usd": 20.0, "paid_usd": 15.0},
    {"patient_id": "Y", "service_date": "2024-05-01", "cpt_code": "70450"},
    {"patient_id": "Z", "service_date": "2024-06-03", "cpt_code": "71275",
     "diagnosis_codes": "I71.2"},
    {"patient_id": "Z", "service_date": "2024-06-03", "cpt_code": "76377", "allowed_usd": 50.0},
    {"patient_id": "W", "service_date": "2024-07-01", "cpt_code": "76376"},
    {"patient_id": "V", "service_date": "2024-08-01", "cpt_code": "74177", "payer": "MEDICARE"},
    {"patient_id": "V", "service_date": "2024-08-01", "cpt_code": "76377", "payer": "MEDICARE",
     "allowed_usd": 70.0},
    {"patient_id": "V", "service_date": "2024-08-01", "cpt_code": "76376", "payer": "MEDICARE",
     "allowed_usd": 20.0},
]  # fmt: skip


@pytest.fixture(scope="module")
def fixture_lines() -> pd.DataFrame:
    return make_lines(FIXTURE)


def test_yearly_summary_of_the_hand_worked_fixture(fixture_lines):
    s = summarize(fixture_lines).set_index(["practice_id", "period", "payer"])
    assert s.index.tolist() == [("P1", "2024", "BCBSNC"), ("P1", "2024", "MEDICARE")]
    b = s.loc[("P1", "2024", "BCBSNC")]
    # Encounters X, Y, Z; with 3D X (76376) and Z (76377, non-compliant still counts).
    # Oncology: X. Indicated: X (cancer is an indication) and Z (aneurysm).
    expected_b = {
        "n_encounters": 3, "n_encounters_3d": 2,
        "n_encounters_3d_76376": 1, "n_encounters_3d_76377": 1,
        "n_onc_encounters": 1, "n_onc_encounters_3d": 1,
        "n_nononc_encounters": 2, "n_nononc_encounters_3d": 1,
        "n_ind_encounters": 2, "n_ind_encounters_3d": 2,
        "ct_mr_lines": 3, "ct_mr_units": 3,
        # 3D lines X, Z, W.
        "n_3d_lines": 3, "units_3d_76376": 2, "units_3d_76377": 1,
        "n_noncompliant_3d_lines": 1, "n_orphan_3d_lines": 1,
        "n_separate_date_3d_lines": 1, "n_unpriced_3d_lines": 1, "n_no_price_3d_lines": 0,
        "allowed_3d_76376_usd": 20.0, "allowed_3d_76377_usd": 50.0,
        "noncompliant_allowed_usd": 50.0,
        # Revenue base: X in onc; Z excluded (non-compliant); W (orphan, R10.9) in oth.
        "rev_units_onc": 1, "rev_lines_onc": 1, "rev_encounters_onc": 1,
        "rev_observed_usd_onc": 20.0, "rev_medicare_usd_onc": 0.0,
        "rev_paid_usd_onc": 15.0, "rev_unpaid_lines_onc": 0,
        "rev_units_ind": 0, "rev_lines_ind": 0, "rev_encounters_ind": 0,
        "rev_observed_usd_ind": 0.0,
        "rev_units_oth": 1, "rev_lines_oth": 1, "rev_encounters_oth": 1,
        "rev_observed_usd_oth": 0.0, "rev_paid_usd_oth": 0.0, "rev_unpaid_lines_oth": 1,
    }  # fmt: skip
    assert {k: b[k] for k in expected_b} == expected_b
    # W is the only line priced from the fee schedule.
    l3 = link(fixture_lines).lines_3d
    w_price = l3.loc[l3["patient_id"].eq("W"), "medicare_usd"].item()
    assert w_price > 0 and b["rev_medicare_usd_oth"] == pytest.approx(w_price)
    m = s.loc[("P1", "2024", "MEDICARE")]
    # V: one encounter with both codes; 76376 ($20) non-compliant; 76377 ($70) in oth.
    expected_m = {
        "n_encounters": 1, "n_encounters_3d": 1,
        "n_encounters_3d_76376": 1, "n_encounters_3d_76377": 1,
        "n_nononc_encounters_3d": 1, "n_3d_lines": 2, "n_noncompliant_3d_lines": 1,
        "allowed_3d_76376_usd": 20.0, "allowed_3d_76377_usd": 70.0,
        "noncompliant_allowed_usd": 20.0,
        "rev_units_oth": 1, "rev_encounters_oth": 1, "rev_observed_usd_oth": 70.0,
        "rev_unpaid_lines_oth": 1,
    }  # fmt: skip
    assert {k: m[k] for k in expected_m} == expected_m


def test_quarterly_attribution_encounters_by_their_date_lines_by_theirs(fixture_lines):
    s = summarize(fixture_lines, period="quarter").set_index(list(KEY_COLUMNS))
    # X's CT (03-30) is in Q1, its 3D line (04-02) in Q2 with the revenue-base count.
    q1 = s.loc[("P1", "2024Q1", "BCBSNC")]
    assert (q1["n_encounters"], q1["n_encounters_3d"], q1["n_3d_lines"]) == (1, 1, 0)
    q2 = s.loc[("P1", "2024Q2", "BCBSNC")]  # Y, Z encounters; X and Z lines
    assert (q2["n_encounters"], q2["n_encounters_3d"], q2["n_3d_lines"]) == (2, 1, 2)
    assert q2["rev_encounters_onc"] == 1 and q2["n_separate_date_3d_lines"] == 1
    q3 = s.loc[("P1", "2024Q3", "BCBSNC")]  # W's orphan line only
    assert (q3["n_encounters"], q3["n_3d_lines"], q3["n_orphan_3d_lines"]) == (0, 1, 1)
    # Quarters add up to the year.
    yearly = practice_totals(summarize(fixture_lines))
    pd.testing.assert_frame_equal(practice_totals(s.reset_index()), yearly)


def test_columns_dtypes_and_order(fixture_lines):
    s = summarize(fixture_lines)
    assert list(s.columns[: len(KEY_COLUMNS) + len(SUM_COLUMNS)]) == [*KEY_COLUMNS, *SUM_COLUMNS]
    assert all(s[c].dtype == "int64" for c in COUNT_COLUMNS)
    assert all(s[c].dtype == "float64" for c in USD_COLUMNS)
    assert all(s[c].dtype == "string" for c in KEY_COLUMNS)
    assert not s[list(SUM_COLUMNS)].isna().any().any()


def test_column_groups_make_up_the_summary_columns():
    groups = (ENCOUNTER_COUNT_COLUMNS, LINE_COUNT_COLUMNS, LINE_USD_COLUMNS,
              REV_COUNT_COLUMNS, REV_USD_COLUMNS)  # fmt: skip
    assert sorted(c for g in groups for c in g) == sorted(SUM_COLUMNS)
    assert sorted(COUNT_COLUMNS + USD_COLUMNS) == sorted(SUM_COLUMNS)


def test_the_fee_schedule_given_prices_the_summary(fixture_lines):
    bundled = pricing.bundled_schedule()
    rvus = ["work_rvu", "pe_rvu_non_facility", "pe_rvu_facility", "mp_rvu"]
    free = pricing.FeeSchedule(rvu=bundled.rvu.assign(**dict.fromkeys(rvus, 0.0)),
                               gpci=bundled.gpci)  # fmt: skip
    assert summarize(fixture_lines)["medicare_3d_usd"].sum() > 0
    assert summarize(fixture_lines, fee_schedule=free)["medicare_3d_usd"].sum() == 0


def test_period_labels():
    d = pd.Series(pd.to_datetime(["2023-12-31", "2024-01-01", "2024-06-30", "2024-07-01"]))
    assert period(d).tolist() == ["2023", "2024", "2024", "2024"]
    assert period(d, kind="quarter").tolist() == ["2023Q4", "2024Q1", "2024Q2", "2024Q3"]
    with pytest.raises(InputError):
        period(d, kind="month")
    with pytest.raises(InputError):
        summarize(make_lines(FIXTURE[:2]), period="week")


def test_practice_totals_filters_payers_and_periods(fixture_lines):
    s = summarize(fixture_lines, period="quarter")
    t = practice_totals(s)
    assert t["practice_id"].tolist() == ["P1"]
    assert (t["n_encounters"].item(), t["n_3d_lines"].item()) == (4, 5)
    bcbs = practice_totals(s, payers=["BCBSNC"])
    assert (bcbs["n_encounters"].item(), bcbs["n_3d_lines"].item()) == (3, 3)
    q2 = practice_totals(s, periods=["2024Q2"])
    assert q2["n_encounters"].item() == 2
    assert practice_totals(s, payers=["NOBODY"]).empty
    assert t["n_encounters"].dtype == "int64"


def test_summarize_partitions_rejects_a_practice_split_across_partitions(fixture_lines):
    two = fixture_lines.assign(practice_id=pd.Series(["P1", "P2"] * 4 + ["P1"], dtype="string"))
    ok = summarize_partitions([two[two["practice_id"] == "P1"], two[two["practice_id"] == "P2"]])
    pd.testing.assert_frame_equal(ok, summarize(two))
    with pytest.raises(InputError, match="P1"):
        summarize_partitions([fixture_lines.iloc[:4], fixture_lines.iloc[4:]])


def test_add_summaries_of_nothing_and_link_options_pass_through(fixture_lines):
    empty = add_summaries([])
    assert empty.empty and list(empty.columns) == [*KEY_COLUMNS, *SUM_COLUMNS]
    # With a 2-day window X's render (3 days after) becomes an orphan.
    narrow = summarize(fixture_lines, link_window_days=2)
    assert narrow["n_orphan_3d_lines"].sum() == 2
    assert narrow["n_encounters_3d"].sum() == 2  # Z and V
    via_linked = summarize_linked(link(fixture_lines, link_window_days=2))
    pd.testing.assert_frame_equal(narrow, via_linked)


# --------------------------------------------------------------------- additivity

CODES = ["74177", "70450", "71275", "76376", "76377", "78300", "99213"]
DIAGNOSES = ["R10.9", "C78.01", "I71.2", "R91.8;C34.90", None]
START = pd.Timestamp("2023-12-01")  # 0..150 days: crosses a year and two quarters

line_strategy = st.tuples(
    st.sampled_from(["P1", "P2", "P3", "P4", "P5"]),
    st.sampled_from(["X", "Y", "Z"]),
    st.integers(0, 150),
    st.sampled_from(CODES),
    st.sampled_from(["BCBSNC", "MEDICARE"]),
    st.sampled_from(DIAGNOSES),
    st.one_of(st.none(), st.floats(0, 500, allow_nan=False).map(lambda v: round(v, 2))),
    st.one_of(st.none(), st.floats(0, 500, allow_nan=False).map(lambda v: round(v, 2))),
    st.sampled_from(["26", "TC", None]),
    st.sampled_from(["11", "22"]),
    st.integers(1, 3),
)


def lines_from(draws) -> pd.DataFrame:
    return make_lines([
        {
            "practice_id": p, "patient_id": t,
            "service_date": START + pd.Timedelta(days=d), "cpt_code": c, "payer": payer,
            "diagnosis_codes": dx, "allowed_usd": NAN if a is None else a,
            "paid_usd": NAN if pd_ is None else pd_, "modifiers": mod,
            "place_of_service": pos, "units": u,
        }
        for p, t, d, c, payer, dx, a, pd_, mod, pos, u in draws
    ])  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    draws=st.lists(line_strategy, min_size=1, max_size=30),
    split=st.one_of(
        st.just(None),  # one partition per practice
        st.tuples(st.integers(2, 4), st.lists(st.integers(0, 3), min_size=5, max_size=5)),
    ),
    kind=st.sampled_from(["year", "quarter"]),
)
def test_summaries_of_practice_partitions_add_up_to_the_whole(draws, split, kind):
    lines = lines_from(draws)
    linked = link(lines)
    whole = summarize_linked(linked, period=kind)
    if split is None:
        parts = [g for _, g in lines.groupby("practice_id")]
    else:  # a random split of the practices into 2-4 partitions (some may be empty)
        n_parts, assignment = split
        labels = lines["practice_id"].map({f"P{i + 1}": assignment[i] % n_parts for i in range(5)})
        parts = [lines[labels == k] for k in range(n_parts)]
    summed = add_summaries(summarize(p, period=kind) for p in parts[::-1])
    pd.testing.assert_frame_equal(summed, whole, check_exact=True)
    # Nothing is lost: every encounter and every 3D line is counted once.
    assert whole["n_encounters"].sum() == len(linked.encounters)
    assert whole["n_3d_lines"].sum() == int(lines["cpt_code"].isin(["76376", "76377"]).sum())


@settings(max_examples=15, deadline=None)
@given(draws=st.lists(line_strategy, min_size=1, max_size=40), seed=st.integers(0, 2**32 - 1))
def test_summary_does_not_depend_on_row_order(draws, seed):
    lines = lines_from(draws)
    shuffled = lines.sample(frac=1.0, random_state=np.random.default_rng(seed))
    a, b = summarize(lines), summarize(shuffled)
    counts = [*KEY_COLUMNS, *COUNT_COLUMNS]
    pd.testing.assert_frame_equal(a[counts], b[counts])
    pd.testing.assert_frame_equal(a[list(USD_COLUMNS)], b[list(USD_COLUMNS)], rtol=1e-12)


def test_bundled_sample_matches_the_generators_realized_counts():
    # analysis.synth records, per practice, the counts it realized while drawing the
    # lines (practices_2024.csv); linking the lines must find exactly those.
    totals = practice_totals(summarize(load_claims(SAMPLE_CLAIMS).lines))
    truth = pd.read_csv(SAMPLE_PRACTICES, dtype={"practice_id": "string"})
    both = truth.merge(totals, on="practice_id", suffixes=("_truth", ""), validate="one_to_one")
    assert len(both) == len(truth) == 40
    # The generator's truth and the summary share one vocabulary: the same column names.
    for col in ("n_encounters", "n_encounters_3d", "n_onc_encounters", "n_3d_lines",
                "n_noncompliant_3d_lines", "n_separate_date_3d_lines", "n_orphan_3d_lines"):
        assert both[col].tolist() == both[col + "_truth"].tolist(), col


def test_dollar_sums_do_not_depend_on_the_order_of_addition():
    # In floating point (0.1 + 0.2) + 0.3 = 0.6000000000000001 but 0.1 + (0.2 + 0.3) = 0.6;
    # summaries round dollar sums to the cent, so partial summaries added in any order
    # (batches, buckets, Dask partitions) give bit-identical results.
    assert (0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)
    parts = [
        empty_summary()
        .reindex([0])
        .assign(practice_id="P1", period="2024", payer="BCBSNC", allowed_3d_76376_usd=v)
        for v in (0.1, 0.2, 0.3)
    ]
    forward = add_summaries(parts)
    backward = add_summaries([parts[2], add_summaries(parts[:2])[::-1]])
    assert forward["allowed_3d_76376_usd"].iloc[0] == 0.6
    pd.testing.assert_frame_equal(forward, backward, check_exact=True)
