"""Tests for analysis.encounters: hand-worked linking, flags and non-compliance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from claim_lines import make_lines

from analysis import pricing
from analysis.defaults import LINK_WINDOW_DAYS
from analysis.encounters import LinkSettings, link
from analysis.errors import InputError

CT = "74177"  # CT abdomen and pelvis with contrast: a CT/MR base study
CT_HEAD = "70450"  # CT head without contrast
CTA = "71275"  # CT angiography chest: base study AND on both "do not report with" lists
BONE_SCAN = "78300"  # nuclear medicine, in the 78012-78999 range of both lists
BRONCHOSCOPY = "31627"  # on 76376's list only
OFFICE_VISIT = "99213"  # irrelevant here



def one(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for col, value in where.items():
        mask &= (frame[col] == value).to_numpy()
    assert mask.sum() == 1, f"expected one row where {where}, found {mask.sum()}"
    return frame.loc[mask].iloc[0]


# ------------------------------------------------------------------ linking


def test_same_day_3d_links_to_that_days_encounter():
    linked = link(make_lines([
        {"service_date": "2024-03-01", "cpt_code": CT},
        {"service_date": "2024-03-01", "cpt_code": "76376"},
    ]))  # fmt: skip
    assert len(linked.encounters) == 1
    row = linked.lines_3d.iloc[0]
    assert row["encounter_id"] == 0 and row["days_after_base"] == 0
    assert not row["is_orphan"] and not row["is_separate_date"] and not row["is_noncompliant"]
    assert row["encounter_date"] == pd.Timestamp("2024-03-01")
    enc = linked.encounters.iloc[0]
    assert enc["has_3d"] and enc["has_3d_76376"] and not enc["has_3d_76377"]
    assert enc["units_3d_76376"] == 1 and enc["n_3d_lines"] == 1


def test_later_date_inside_the_window_links_outside_is_orphan():
    # Base study on Mar 1. Mar 8 is 7 days later (= the default window): linked, a
    # separate-date render. Mar 9 is 8 days later: orphan, unless the window is 8.
    lines = make_lines([
        {"service_date": "2024-03-01", "cpt_code": CT},
        {"service_date": "2024-03-08", "cpt_code": "76377"},
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": CT},
        {"patient_id": "Y", "service_date": "2024-03-09", "cpt_code": "76377"},
    ])  # fmt: skip
    l3 = link(lines).lines_3d
    x, y = one(l3, patient_id="X"), one(l3, patient_id="Y")
    assert x["days_after_base"] == 7 and x["is_separate_date"] and not x["is_orphan"]
    assert y["is_orphan"] and pd.isna(y["encounter_id"]) and pd.isna(y["days_after_base"])
    assert pd.isna(y["encounter_date"]) and not y["is_separate_date"]
    y8 = one(link(lines, link_window_days=8).lines_3d, patient_id="Y")
    assert not y8["is_orphan"] and y8["days_after_base"] == 8
    # Window 0: only same-day renders link.
    assert link(lines, link_window_days=0).lines_3d["is_orphan"].tolist() == [True, True]


def test_two_encounters_link_to_the_latest_on_or_before():
    # Encounters on Mar 1 and Mar 5. A 3D line on Mar 4 links to Mar 1 (3 days after);
    # one on Mar 6 links to Mar 5 (1 day), not Mar 1 (5 days), although both are
    # within the window; one on Mar 5 links to Mar 5 (same day).
    linked = link(make_lines([
        {"service_date": "2024-03-05", "cpt_code": CT_HEAD},
        {"service_date": "2024-03-01", "cpt_code": CT},
        {"service_date": "2024-03-04", "cpt_code": "76376"},
        {"service_date": "2024-03-06", "cpt_code": "76376"},
        {"service_date": "2024-03-05", "cpt_code": "76377"},
    ]))  # fmt: skip
    enc = linked.encounters.set_index("service_date")["encounter_id"]
    l3 = linked.lines_3d.set_index("service_date")
    assert l3.loc["2024-03-04", "encounter_id"] == enc["2024-03-01"]
    assert l3.loc["2024-03-04", "days_after_base"] == 3
    assert l3.loc["2024-03-06", "encounter_id"] == enc["2024-03-05"]
    assert l3.loc["2024-03-06", "days_after_base"] == 1
    assert l3.loc["2024-03-05", "encounter_id"] == enc["2024-03-05"]
    counts = linked.encounters.set_index("service_date")["n_3d_lines"]
    assert counts["2024-03-01"] == 1 and counts["2024-03-05"] == 2


def test_3d_before_any_study_is_an_orphan():
    # Linking looks backwards only: a render dated the day before the CT is an orphan.
    linked = link(make_lines([
        {"service_date": "2024-02-29", "cpt_code": "76376"},
        {"service_date": "2024-03-01", "cpt_code": CT},
    ]))  # fmt: skip
    assert linked.lines_3d["is_orphan"].tolist() == [True]
    assert linked.encounters["has_3d"].tolist() == [False]


def test_same_patient_at_another_practice_is_not_linked():
    linked = link(make_lines([
        {"practice_id": "P1", "service_date": "2024-03-01", "cpt_code": CT},
        {"practice_id": "P2", "service_date": "2024-03-01", "cpt_code": "76376"},
        # Another patient at the same practice and date does not link either.
        {"practice_id": "P1", "patient_id": "Z", "service_date": "2024-03-01",
         "cpt_code": "76377"},
    ]))  # fmt: skip
    assert linked.lines_3d["is_orphan"].tolist() == [True, True]
    assert linked.encounters["has_3d"].tolist() == [False]


def test_encounter_is_one_per_practice_patient_date_with_units():
    # Two CT lines on one date (2 + 1 units, one of them a CTA) are one encounter;
    # a CT the next day is another.
    linked = link(make_lines([
        {"service_date": "2024-03-01", "cpt_code": CT, "units": 2},
        {"service_date": "2024-03-01", "cpt_code": CTA},
        {"service_date": "2024-03-02", "cpt_code": CT_HEAD},
        {"service_date": "2024-03-01", "cpt_code": OFFICE_VISIT},
    ]))  # fmt: skip
    enc = linked.encounters.set_index("service_date")
    assert enc.loc["2024-03-01", ["ct_mr_lines", "ct_mr_units", "angiography_lines"]].tolist() == [
        2, 3, 1,
    ]  # fmt: skip
    assert enc.loc["2024-03-02", "ct_mr_units"] == 1
    assert linked.encounters["encounter_id"].tolist() == [0, 1]
    assert (linked.n_lines, linked.n_ct_mr_lines, linked.n_3d_lines) == (4, 3, 0)
    assert (linked.n_do_not_report_lines, linked.n_other_lines) == (0, 1)


# ----------------------------------------------------------------- non-compliance


def test_non_compliant_with_cta_on_the_same_date_but_not_days_later():
    linked = link(make_lines([
        # Patient X: CTA chest and 76376 the same day -> non-compliant (CTA on the list).
        {"service_date": "2024-03-01", "cpt_code": CTA},
        {"service_date": "2024-03-01", "cpt_code": "76376"},
        # Patient Y: CTA on Mar 1, 76377 on Mar 3 -> linked, compliant: the rule is
        # "same patient and date".
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": CTA},
        {"patient_id": "Y", "service_date": "2024-03-03", "cpt_code": "76377"},
    ]))  # fmt: skip
    x = one(linked.lines_3d, patient_id="X")
    assert x["is_noncompliant"] and x["noncompliant_reason"] == f"do_not_report_with:{CTA}"
    assert not x["is_orphan"]  # still linked: a CTA is a CT/MR base study
    y = one(linked.lines_3d, patient_id="Y")
    assert not y["is_noncompliant"] and y["noncompliant_reason"] == "" and y["days_after_base"] == 2
    enc = one(linked.encounters, patient_id="X")
    assert enc["has_3d"] and enc["noncompliant_3d_lines"] == 1


def test_non_compliant_with_a_listed_non_imaging_code_and_list_specific_codes():
    linked = link(make_lines([
        # X: CT + bone scan (78300, in the 78012-78999 range) + 76377 on one day.
        {"service_date": "2024-03-01", "cpt_code": CT},
        {"service_date": "2024-03-01", "cpt_code": BONE_SCAN},
        {"service_date": "2024-03-01", "cpt_code": "76377"},
        # Y: 31627 is on 76376's list only: 76376 non-compliant, 76377 not.
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": CT},
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": BRONCHOSCOPY},
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": "76377"},
        {"patient_id": "Z", "service_date": "2024-03-01", "cpt_code": CT},
        {"patient_id": "Z", "service_date": "2024-03-01", "cpt_code": BRONCHOSCOPY},
        {"patient_id": "Z", "service_date": "2024-03-01", "cpt_code": "76376"},
        # W: the listed code was billed by another practice -> compliant.
        {"patient_id": "W", "service_date": "2024-03-01", "cpt_code": CT},
        {"patient_id": "W", "practice_id": "P2", "service_date": "2024-03-01",
         "cpt_code": BONE_SCAN},
        {"patient_id": "W", "service_date": "2024-03-01", "cpt_code": "76376"},
    ]))  # fmt: skip
    reasons = linked.lines_3d.set_index("patient_id")["noncompliant_reason"]
    assert reasons["X"] == f"do_not_report_with:{BONE_SCAN}"
    assert reasons["Y"] == ""
    assert reasons["Z"] == f"do_not_report_with:{BRONCHOSCOPY}"
    assert reasons["W"] == ""
    # Lines by role: 4 CT, 4 3D, 4 listed non-imaging (2 bone scans, 2 bronchoscopies).
    assert (linked.n_ct_mr_lines, linked.n_3d_lines, linked.n_do_not_report_lines) == (4, 4, 4)
    assert linked.n_other_lines == 0


def test_both_3d_codes_mark_the_76376_lines_only():
    linked = link(make_lines([
        # X: CT, 76376 and 76377 the same day: the 76376 line is "both_3d_codes", the
        # 76377 line stays compliant (rule 1 ignores the 3D codes on each other's lists).
        {"service_date": "2024-03-01", "cpt_code": CT},
        {"service_date": "2024-03-01", "cpt_code": "76376"},
        {"service_date": "2024-03-01", "cpt_code": "76377"},
        # Y: 76377 on the CT day, 76376 two days later: same encounter -> 76376 marked.
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": CT},
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": "76377"},
        {"patient_id": "Y", "service_date": "2024-03-03", "cpt_code": "76376"},
        # Z: two orphans (no CT) on one day -> the 76376 is marked too.
        {"patient_id": "Z", "service_date": "2024-03-01", "cpt_code": "76376"},
        {"patient_id": "Z", "service_date": "2024-03-01", "cpt_code": "76377"},
        # V: two orphans on different days: no encounter, no shared date -> compliant.
        {"patient_id": "V", "service_date": "2024-03-01", "cpt_code": "76376"},
        {"patient_id": "V", "service_date": "2024-03-02", "cpt_code": "76377"},
    ]))  # fmt: skip
    l3 = linked.lines_3d
    marked = l3.loc[l3["is_noncompliant"], ["patient_id", "cpt_code", "noncompliant_reason"]]
    assert sorted(map(tuple, marked.to_numpy().tolist())) == [
        ("X", "76376", "both_3d_codes"),
        ("Y", "76376", "both_3d_codes"),
        ("Z", "76376", "both_3d_codes"),
    ]
    enc = linked.encounters.set_index("patient_id")
    assert enc.loc["X", "noncompliant_3d_lines"] == 1
    assert enc.loc["X", "has_3d_76376"] and enc.loc["X", "has_3d_76377"]


def test_listed_code_reason_wins_over_both_3d_codes():
    # CTA + 76376 + 76377 on one day: both 3D lines break rule 1 (CTA); the reason
    # recorded is rule 1 for both.
    l3 = link(make_lines([
        {"service_date": "2024-03-01", "cpt_code": CTA},
        {"service_date": "2024-03-01", "cpt_code": "76376"},
        {"service_date": "2024-03-01", "cpt_code": "76377"},
    ])).lines_3d  # fmt: skip
    assert l3["noncompliant_reason"].tolist() == [f"do_not_report_with:{CTA}"] * 2


# --------------------------------------------------------------- oncology, payer


def test_oncology_from_a_3d_lines_diagnosis():
    linked = link(make_lines([
        # X: the CT says R91.8 (lung nodule), the linked 3D line says C78.01 (lung
        # metastasis): the encounter is oncology, and so is the line.
        {"service_date": "2024-03-01", "cpt_code": CT, "diagnosis_codes": "R91.8"},
        {"service_date": "2024-03-02", "cpt_code": "76376", "diagnosis_codes": "C78.01"},
        # Y: an orphan uses its own diagnoses (C34.90).
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": "76376",
         "diagnosis_codes": "Z00.00;C34.90"},
        # Z: nothing oncologic; I71.2 (thoracic aortic aneurysm) is an indication.
        {"patient_id": "Z", "service_date": "2024-03-01", "cpt_code": CTA,
         "diagnosis_codes": "I71.2"},
        {"patient_id": "Z", "service_date": "2024-03-05", "cpt_code": "76377",
         "diagnosis_codes": "R10.9"},
    ]))  # fmt: skip
    enc = linked.encounters.set_index("patient_id")
    assert enc.loc["X", "is_oncology"] and enc.loc["X", "is_indicated"]
    assert not enc.loc["Z", "is_oncology"] and enc.loc["Z", "is_indicated"]
    l3 = linked.lines_3d.set_index("patient_id")
    assert l3.loc["X", "is_oncology"] and l3.loc["X", "rev_group"] == "onc"
    assert l3.loc["Y", "is_orphan"] and l3.loc["Y", "is_oncology"]
    # The Z line's own R10.9 is not an indication, its encounter's I71.2 is.
    assert not l3.loc["Z", "is_oncology"] and l3.loc["Z", "is_indicated"]
    assert l3.loc["Z", "rev_group"] == "ind"
    # A custom cancer set without C78 drops X but not Y.
    narrow = link(linked_input := make_lines([
        {"service_date": "2024-03-01", "cpt_code": CT, "diagnosis_codes": "R91.8"},
        {"service_date": "2024-03-02", "cpt_code": "76376", "diagnosis_codes": "C78.01"},
    ]), oncology=[("C34", "C34")])  # fmt: skip
    assert not narrow.encounters["is_oncology"].any()
    assert len(linked_input) == 2


def test_encounter_payer_is_the_most_frequent_ties_to_the_first_line():
    lines = make_lines([
        # X: MEDICARE, BCBSNC, BCBSNC -> BCBSNC (2 of 3).
        {"claim_id": "a1", "service_date": "2024-03-01", "cpt_code": CT, "payer": "MEDICARE"},
        {"claim_id": "a2", "service_date": "2024-03-01", "cpt_code": CT, "payer": "BCBSNC"},
        {"claim_id": "a3", "service_date": "2024-03-01", "cpt_code": CT_HEAD, "payer": "BCBSNC"},
        # Y: one line each; the first by (claim_id, line_number) is claim "b1" (MEDICAID),
        # although it comes last in the file.
        {"patient_id": "Y", "claim_id": "b2", "service_date": "2024-03-01", "cpt_code": CT,
         "payer": "OTHER_COMMERCIAL"},
        {"patient_id": "Y", "claim_id": "b1", "service_date": "2024-03-01", "cpt_code": CT,
         "payer": "MEDICAID"},
    ])  # fmt: skip
    payers = link(lines).encounters.set_index("patient_id")["payer"]
    assert payers["X"] == "BCBSNC" and payers["Y"] == "MEDICAID"


# ----------------------------------------------------------------- pricing, misc


def test_medicare_price_of_3d_lines_north_carolina_2025():
    # CMS PFS 2025 (CF 32.3465, NC GPCI 1.000/0.926/0.665):
    # 76376-26 = $8.78; 76377 global non-facility = $72.67, x 2 units = $145.34.
    # A missing state is priced as NC (the default_state).
    l3 = link(make_lines([
        {"service_date": "2025-06-02", "cpt_code": CT},
        {"service_date": "2025-06-02", "cpt_code": "76376", "modifiers": "26",
         "place_of_service": "22"},
        {"patient_id": "Y", "service_date": "2025-06-02", "cpt_code": "76377",
         "modifiers": pd.NA, "place_of_service": "11", "units": 2, "state": pd.NA},
    ])).lines_3d  # fmt: skip
    x, y = one(l3, patient_id="X"), one(l3, patient_id="Y")
    assert (x["component"], x["setting"]) == ("26", "facility")
    assert (y["component"], y["setting"], y["state"]) == ("global", "non_facility", "NC")
    assert x["medicare_usd"] == pytest.approx(8.78, abs=0.006)
    assert y["medicare_usd"] == pytest.approx(2 * 72.67, abs=0.012)


def test_pricing_can_be_switched_off_for_years_the_fee_schedule_does_not_know():
    lines = make_lines([
        {"service_date": "2019-06-03", "cpt_code": CT},
        {"service_date": "2019-06-03", "cpt_code": "76376"},
    ])  # fmt: skip
    with pytest.raises(InputError):  # no 2019 conversion factor
        link(lines)
    l3 = link(lines, medicare_prices=False).lines_3d
    assert l3["medicare_usd"].isna().all() and not l3["is_orphan"].any()


def test_lines_are_priced_with_the_fee_schedule_given():
    # 76377 global non-facility in NC, 2025: $72.67 with the bundled RVUs (2.38 total);
    # doubling every RVU doubles the unrounded amount: 2 x 72.672 = 145.344 -> 145.34.
    lines = make_lines([
        {"service_date": "2025-06-02", "cpt_code": CT},
        {"service_date": "2025-06-02", "cpt_code": "76377", "modifiers": pd.NA,
         "place_of_service": "11"},
    ])  # fmt: skip
    bundled = pricing.bundled_schedule()
    rvus = ["work_rvu", "pe_rvu_non_facility", "pe_rvu_facility", "mp_rvu"]
    doubled = bundled.rvu.assign(**{c: bundled.rvu[c] * 2 for c in rvus})
    schedule = pricing.FeeSchedule(rvu=doubled, gpci=bundled.gpci)
    assert link(lines).lines_3d["medicare_usd"].tolist() == [72.67]
    assert link(lines, fee_schedule=bundled).lines_3d["medicare_usd"].tolist() == [72.67]
    assert link(lines, fee_schedule=schedule).lines_3d["medicare_usd"].tolist() == [145.34]


def test_input_is_not_modified_and_row_order_does_not_matter():
    lines = make_lines([
        {"service_date": "2024-03-01", "cpt_code": CT},
        {"service_date": "2024-03-02", "cpt_code": "76376"},
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": CTA},
        {"patient_id": "Y", "service_date": "2024-03-01", "cpt_code": "76377"},
    ])  # fmt: skip
    before = lines.copy()
    a = link(lines)
    pd.testing.assert_frame_equal(lines, before)
    b = link(lines.iloc[::-1])
    key = ["practice_id", "patient_id", "service_date"]
    cols = ["is_orphan", "days_after_base", "noncompliant_reason", "is_oncology"]
    pd.testing.assert_frame_equal(
        a.lines_3d.sort_values(key)[key + cols].reset_index(drop=True),
        b.lines_3d.sort_values(key)[key + cols].reset_index(drop=True),
    )


def test_empty_and_irrelevant_input():
    linked = link(make_lines([{"service_date": "2024-03-01", "cpt_code": OFFICE_VISIT}]))
    assert linked.encounters.empty and linked.lines_3d.empty
    assert (linked.n_lines, linked.n_other_lines) == (1, 1)
    assert "encounter_id" in linked.encounters.columns
    assert "medicare_usd" in linked.lines_3d.columns
    assert "lines not relevant" in linked._repr_html_()


def test_bad_inputs_raise_input_error():
    lines = make_lines([{"service_date": "2024-03-01", "cpt_code": CT}])
    with pytest.raises(InputError, match="patient_id"):
        link(lines.drop(columns="patient_id"))
    with pytest.raises(InputError, match="service_date"):
        link(lines.assign(service_date=lines["service_date"].dt.strftime("%Y-%m-%d")))
    with pytest.raises(InputError, match="position 0"):
        link(lines.assign(payer=pd.Series([pd.NA], dtype="string")))
    with pytest.raises(InputError, match="link_window_days"):
        link(lines, link_window_days=-1)
    with pytest.raises(InputError):
        link(lines, oncology="no-such-set")
    with pytest.raises(InputError):
        LinkSettings(default_state="North Carolina")


def test_settings_serialize():
    s = LinkSettings(link_window_days=3, oncology=[("C34", "C34")], ct_mr_include=["75565"])
    assert LinkSettings().link_window_days == LINK_WINDOW_DAYS
    assert s.to_dict() == {
        "link_window_days": 3,
        "oncology": [["C34", "C34"]],
        "indications": "indications",
        "ct_mr_include": ["75565"],
        "ct_mr_exclude": [],
        "default_state": "NC",
        "medicare_prices": True,
    }
