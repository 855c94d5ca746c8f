"""Tests for analysis.policy: validation, serialization, and the paid shares."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.defaults import EFFECTIVE_DATE, LCD_BENCHMARK, POLICY_PAYERS
from analysis.errors import InputError
from analysis.policy import (
    ALTERNATIVES,
    POLICY_KINDS,
    Policy,
    as_date,
    full_bundling,
    get_policy,
    lcd_cap,
    medical_necessity,
    paid_shares,
    policies_from_names,
    status_quo,
)


def rows(**columns) -> pd.DataFrame:
    base = {
        "payer": ["BCBSNC"],
        "n_nononc_encounters": [100.0],
        "rev_encounters_ind": [10.0],
        "rev_encounters_oth": [20.0],
    }
    return pd.DataFrame(base | columns)


def test_defaults_state_the_assumptions():
    p = full_bundling()
    assert p.payers == ("BCBSNC",)
    assert p.codes == ("76376", "76377")
    assert p.effective_date == dt.date(2025, 1, 1)
    assert p.scope_share == 1.0
    assert "BCBSNC" in p.description and "2025-01-01" in p.description
    assert lcd_cap().threshold == 0.20


@pytest.mark.parametrize("kind", POLICY_KINDS)
def test_round_trip_through_dict(kind):
    p = get_policy(kind)
    assert Policy.from_dict(p.to_dict()) == p
    assert p.name == kind


def test_defaults_come_from_the_shared_defaults():
    for p in (full_bundling(), lcd_cap(), medical_necessity(), Policy("lcd_cap")):
        assert p.payers == POLICY_PAYERS and p.effective_date == EFFECTIVE_DATE
    assert lcd_cap().threshold == Policy("lcd_cap").threshold == LCD_BENCHMARK


def test_policies_from_names_with_the_defaults():
    assert policies_from_names(POLICY_KINDS) == tuple(get_policy(k) for k in POLICY_KINDS)
    assert [p.kind for p in policies_from_names(ALTERNATIVES)] == [
        "full_bundling",
        "lcd_cap",
        "medical_necessity",
    ]
    assert policies_from_names("lcd_cap") == (lcd_cap(),)
    assert policies_from_names([]) == ()


def test_policies_from_names_share_the_options():
    # status_quo takes none of them; lcd_cap alone takes the cap threshold.
    sq, fb, cap, mn = policies_from_names(
        POLICY_KINDS,
        payers=["aetna", "BCBSNC"],
        effective_date="2025-07-01",
        scope_share=0.7,
        cap_threshold=0.25,
    )
    assert sq == status_quo()
    for p in (fb, cap, mn):
        assert p.payers == ("AETNA", "BCBSNC")
        assert p.effective_date == dt.date(2025, 7, 1) and p.scope_share == 0.7
    assert cap.threshold == 0.25 and fb.threshold == mn.threshold == LCD_BENCHMARK
    assert cap == lcd_cap(
        threshold=0.25, payers=("AETNA", "BCBSNC"), effective_date="2025-07-01", scope_share=0.7
    )
    # None keeps each default.
    assert policies_from_names(["lcd_cap"], payers=None, cap_threshold=None) == (lcd_cap(),)


def test_policies_from_names_reject_bad_names_and_options():
    with pytest.raises(InputError, match="unknown policy") as err:
        policies_from_names(["full_bundling", "cap_everything"])
    assert err.value.column == "policy" and err.value.value == "cap_everything"
    with pytest.raises(InputError) as err:
        policies_from_names(["lcd_cap"], cap_threshold=1.5)
    assert err.value.column == "threshold"
    with pytest.raises(InputError) as err:
        policies_from_names(["full_bundling"], scope_share=-0.1)
    assert err.value.column == "scope_share"


def test_as_date_reads_dates_and_iso_text():
    assert as_date("2025-07-01", "d") == as_date(pd.Timestamp("2025-07-01"), "d")
    assert as_date(dt.datetime(2025, 7, 1, 9), "d") == dt.date(2025, 7, 1)
    with pytest.raises(InputError) as err:
        as_date("July", "effective_date")
    assert err.value.column == "effective_date"


def test_validation_names_the_field():
    with pytest.raises(InputError, match="scope_share"):
        full_bundling(scope_share=1.5)
    with pytest.raises(InputError, match="threshold"):
        lcd_cap(threshold=0.0)
    with pytest.raises(InputError, match="codes"):
        full_bundling(codes=("70450",))
    with pytest.raises(InputError, match="codes"):
        Policy("lcd_cap", codes=("76376",))
    with pytest.raises(InputError, match="unknown policy"):
        get_policy("cap_everything")
    with pytest.raises(InputError, match="effective_date"):
        full_bundling(effective_date="next spring")
    with pytest.raises(InputError, match="unknown policy fields"):
        Policy.from_dict({"kind": "lcd_cap", "colour": "blue"})


def test_payer_labels_are_normalized():
    p = full_bundling(payers=[" bcbsnc "])
    assert p.payers == ("BCBSNC",)
    assert p.applies_to(["BCBSNC", "MEDICARE", "bcbsnc"]).tolist() == [True, False, True]
    assert not status_quo().applies_to(["BCBSNC"]).any()


def test_replace_revalidates_and_rewrites_description():
    p = lcd_cap().replace(threshold=0.25)
    assert p.threshold == 0.25 and "25%" in p.description
    with pytest.raises(InputError):
        lcd_cap().replace(threshold=2.0)


def test_paid_shares_hand_worked():
    # 100 non-oncology CT/MR encounters, 10 + 20 = 30 with non-oncology 3D.
    # lcd_cap: pays 0.20 * 100 = 20 of 30 -> 2/3 of the ind and oth revenue.
    # medical_necessity: pays onc and ind, not oth. full bundling at 70 % scope: 0.3.
    # The MEDICARE row is untouched by a BCBSNC policy.
    r = pd.concat([rows(), rows(payer=["MEDICARE"])], ignore_index=True)
    cap = paid_shares(r, lcd_cap())
    assert cap.iloc[0].tolist() == pytest.approx([1.0, 2 / 3, 2 / 3])
    assert cap.iloc[1].tolist() == [1.0, 1.0, 1.0]
    assert paid_shares(r, medical_necessity()).iloc[0].tolist() == [1.0, 1.0, 0.0]
    assert paid_shares(r, full_bundling(scope_share=0.7)).iloc[0].tolist() == pytest.approx(
        [0.3, 0.3, 0.3]
    )
    assert paid_shares(r, status_quo()).to_numpy().tolist() == [[1.0] * 3] * 2


def test_single_code_bundling_uses_the_dollar_share():
    # 76376 had $30 and 76377 $90 of observed allowed: bundling 76376 only cuts 1/4.
    r = rows(
        allowed_3d_76376_usd=[30.0],
        allowed_3d_76377_usd=[90.0],
        units_3d_76376=[3.0],
        units_3d_76377=[1.0],
    )
    assert paid_shares(r, full_bundling(codes=("76376",))).iloc[0, 0] == pytest.approx(0.75)
    # No observed dollars: fall back to the unit share (3 of 4 units).
    r0 = r.assign(allowed_3d_76376_usd=0.0, allowed_3d_76377_usd=0.0)
    assert paid_shares(r0, full_bundling(codes=("76376",))).iloc[0, 0] == pytest.approx(0.25)


@given(
    nononc=st.integers(0, 500),
    ind=st.integers(0, 200),
    oth=st.integers(0, 200),
    threshold=st.floats(0.01, 1.0),
)
def test_cap_pays_everything_at_or_below_the_threshold(nononc, ind, oth, threshold):
    r = rows(
        n_nononc_encounters=[float(nononc)],
        rev_encounters_ind=[float(ind)],
        rev_encounters_oth=[float(oth)],
    )
    share = paid_shares(r, lcd_cap(threshold=threshold)).iloc[0]
    assert share["paid_share_onc"] == 1.0
    assert 0.0 <= share["paid_share_oth"] <= 1.0
    if ind + oth <= threshold * nononc:
        assert share["paid_share_ind"] == 1.0
    else:
        # Paid encounters equal the cap exactly.
        assert share["paid_share_ind"] * (ind + oth) == pytest.approx(threshold * nononc)


@given(k=st.floats(0.1, 50.0))
def test_cap_share_is_scale_free(k):
    # Annualizing or growing volume multiplies both counts: the paid share is unchanged.
    r = rows()
    scaled = r.assign(**{c: r[c] * k for c in r.columns if c != "payer"})
    np.testing.assert_allclose(paid_shares(scaled, lcd_cap()), paid_shares(r, lcd_cap()))
