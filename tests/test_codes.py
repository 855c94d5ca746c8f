"""Tests for analysis.codes: code sets from the bundled reference files, classifiers."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import codes
from analysis.errors import InputError

# The CTA/MRA codes named in the reference facts (PFS family 88, CT/MR angiography).
CTA_MRA = {
    "70496", "70498", "70544", "70545", "70546", "70547", "70548", "70549", "71275",
    "71555", "72159", "72191", "72198", "73206", "73225", "73706", "73725", "74174",
    "74175", "74185", "75574", "75635",
}  # fmt: skip


def test_normalize_cpt_repairs_export_damage():
    raw = pd.Series([" 76376", "76377.0", "0523t", "100", "74177.00", None, "7637X"])
    assert codes.normalize_cpt(raw).tolist() == [
        "76376", "76377", "0523T", "00100", "74177", pd.NA, "7637X",
    ]  # fmt: skip


def test_is_valid_cpt():
    raw = pd.Series(["76376", "0523T", "7637", "763766", "76 37", None, "G0297"])
    # "7637" is padded to "07637" (five digits) and so is well formed.
    assert codes.is_valid_cpt(raw).tolist() == [True, True, True, False, False, False, True]


def test_range_expansion_78012_78999_is_988_codes_and_includes_78300():
    expanded = codes.expand_code_range("78012-78999")
    assert len(expanded) == 999 - 12 + 1 == 988
    assert "78300" in expanded and expanded[0] == "78012" and expanded[-1] == "78999"
    assert codes.expand_code_range("78012- 78999") == expanded  # as written in the letter


def test_category_iii_range_and_bad_ranges():
    assert codes.expand_code_range("0633T-0636T") == ["0633T", "0634T", "0635T", "0636T"]
    for bad in ("78999-78012", "0633T-0636U", "7801-78999", "abc"):
        with pytest.raises(InputError):
            codes.expand_code_range(bad)


def test_do_not_report_lists_match_the_letter():
    l76376, l76377 = codes.do_not_report_with("76376"), codes.do_not_report_with("76377")
    # Counted in the ACR letter: 76376's list has 65 single codes and one range of 988
    # (31627 first; 76377 and 0876T included); 76377's list is the same without 31627
    # and with 76376 instead of 76377.
    assert len(l76376) == 65 + 988
    assert len(l76377) == 64 + 988
    assert "76377" in l76376 and "76376" in l76377
    assert "31627" in l76376 and "31627" not in l76377
    assert {"0523T", "0876T", "93355", "78300"} <= l76376 & l76377
    assert CTA_MRA <= l76376 and CTA_MRA <= l76377
    with pytest.raises(InputError):
        codes.do_not_report_with("74177")


def test_ct_mr_set_from_family_88_with_angiography_marks():
    table = codes.ct_mr_codes()
    assert table["cpt_code"].is_unique
    assert set(table["modality"]) == {"CT", "MR"}
    assert set(table.loc[table["is_angiography"], "cpt_code"]) == CTA_MRA
    by_code = table.set_index("cpt_code")["modality"]
    assert by_code["74177"] == "CT" and by_code["70553"] == "MR" and by_code["71275"] == "CT"
    # Ultrasound, nuclear medicine and MR-safety codes of family 88 are not base studies.
    assert not {"76700", "78306", "76016", "76376", "76377"} & set(table["cpt_code"])
    # Borderline codes: standalone studies in, add-ons out by default, configurable.
    assert {"76380", "77084", "70557"} <= set(table["cpt_code"])
    assert "75565" not in set(table["cpt_code"])
    assert "75565" in set(codes.ct_mr_codes(include=["75565"])["cpt_code"])
    assert "76380" not in set(codes.ct_mr_codes(exclude=["76380"])["cpt_code"])
    with pytest.raises(InputError, match="76376"):
        codes.ct_mr_codes(include=["76376"])


def test_classifiers_are_vectorized_and_tolerant():
    s = pd.Series(["74177", " 70496", "76376.0", "76377", "0523t", None, "76700"])
    assert codes.is_ct_mr(s).tolist() == [True, True, False, False, False, False, False]
    assert codes.is_3d(s).tolist() == [False, False, True, True, False, False, False]
    assert codes.is_angiography(s).tolist() == [False, True, False, False, False, False, False]
    assert codes.modality(s).tolist()[:3] == ["CT", "CT", pd.NA]
    assert codes.excluded_with(s, "76376").tolist() == [
        False, True, False, True, True, False, False,
    ]  # fmt: skip
    index = pd.Index([10, 11, 12, 13, 14, 15, 16])
    assert codes.is_3d(s.set_axis(index)).index.equals(index)


def test_icd10_sets():
    dx = pd.Series(["R91.8;C78.01", "c34.90", "D49.1", None, "I10; Z85.3"], index=[3, 3, 4, 5, 6])
    assert codes.in_icd10_set(dx).tolist() == [True, True, False, False, False]
    assert codes.icd10_ranges("oncology") == (("C00", "C96"),)
    ind = pd.Series(["S42.201A", "S42.31XA", "I67.1", "I26.99", "Q21.0", "R10.9", "C50.911"])
    assert codes.in_icd10_set(ind, "indications").tolist() == [
        True, False, True, True, True, False, True,
    ]  # fmt: skip
    assert codes.in_icd10_set(pd.Series(["C97", "C96.A"]), [("C00", "C96")]).tolist() == [
        False, True,
    ]  # fmt: skip
    with pytest.raises(InputError):
        codes.icd10_ranges("nonsense")
