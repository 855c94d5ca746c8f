"""Tests for analysis.privacy (small-cell suppression) and analysis.run.identifiers (the
identifier scan of a report folder)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import defaults, privacy
from analysis.errors import InputError
from analysis.privacy import (
    MARKER,
    PrivacySettings,
    check_no_identifier_columns,
    is_count_column,
    shown_small_counts,
    suppress_counts,
    suppress_value,
)
from analysis.run.identifiers import find_substrings, scan_for_identifiers

# ------------------------------------------------------------------ count columns


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("n_encounters", True),
        ("n_nononc_encounters_3d", True),
        ("n", True),
        ("n_ct_mr", True),  # the screen table's denominator
        ("n_3d", True),  # and its numerator
        ("ct_mr_units", True),
        ("units_3d_76376", True),
        ("rev_units_onc", True),
        ("renderings_unpaid", True),
        ("Tot_Srvcs", True),
        ("rate", False),
        ("expected_n_3d", False),  # derived, handled as a dependent
        ("excess_n_3d", False),
        ("unit", False),  # what the screen's counts count: text
        ("allowed_3d_76376_usd", False),
        ("n_practices", False),  # practices are not patients
        ("n_practices_losing", False),
        ("p_value", False),
        ("practice_id", False),
    ],
)
def test_is_count_column(name, expected):
    assert is_count_column(name) is expected


# ---------------------------------------------------------------- suppression


def test_primary_and_complementary_suppression_by_hand():
    # Column n_encounters = [120, 4, 300, 0]: 4 is primary (1..10); with the column
    # total publishable, one hidden cell would be total - shown, so the smallest other
    # non-zero cell (120) is hidden too. 0 is never suppressed.
    t = pd.DataFrame({"practice_id": ["A", "B", "C", "D"],
                      "n_encounters": [120, 4, 300, 0],
                      "rate": [0.20, 0.25, 0.10, np.nan]})
    s = suppress_counts(t)
    assert s.table["n_encounters"].tolist() == [MARKER, MARKER, 300, 0]
    # rates are derived from the hidden counts: hidden in the same rows
    assert s.table["rate"].tolist()[:3] == [MARKER, MARKER, 0.10]
    assert s.primary["n_encounters"].tolist() == [False, True, False, False]
    assert s.n_primary == 1 and s.n_suppressed == 4
    assert "suppressed" in s.footnote
    # the input is not modified
    assert t["n_encounters"].tolist() == [120, 4, 300, 0]


def test_threshold_is_exclusive_at_eleven():
    t = pd.DataFrame({"n_lines": [10, 11, 12]})
    s = suppress_counts(t)
    # 10 primary; complement = smallest other non-zero = 11
    assert s.table["n_lines"].tolist() == [MARKER, MARKER, 12]


def test_only_zeros_left_complement_is_a_zero():
    # [0, 0, 4]: hiding 4 alone reveals it from the total; a zero is hidden with it.
    s = suppress_counts(pd.DataFrame({"n_lines": [0, 0, 4]}))
    assert s.mask["n_lines"].sum() == 2
    assert s.table["n_lines"].iloc[2] == MARKER


def test_total_row_and_row_groups():
    # Row group: onc + nononc = all. B's onc count 3 is primary; within row B the
    # group would then hold one hidden cell -> nononc (the smaller of 200 and 203)
    # is hidden. Columns: onc has only B hidden -> complement A's onc (50); nononc
    # has only B hidden -> complement A's nononc (400).
    t = pd.DataFrame(
        {"n_encounters": [450, 203, 653], "n_onc_encounters": [50, 3, 53],
         "n_nononc_encounters": [400, 200, 600]},
        index=["A", "B", "Total"],
    )
    s = suppress_counts(
        t, total_rows=["Total"], row_groups={"n_encounters": ["n_onc_encounters",
                                                              "n_nononc_encounters"]},
    )
    m = s.mask
    assert m.loc["B", "n_onc_encounters"] and m.loc["B", "n_nononc_encounters"]
    assert m.loc["A", "n_onc_encounters"]
    assert not m.loc["Total"].any()
    # every row group and every count column holds zero or >= 2 hidden cells
    for label in ["A", "B"]:
        assert m.loc[label].sum() in (0, 2, 3)
    for c in t.columns:
        assert m.loc[["A", "B"], c].sum() != 1


def test_explicit_dependents_only_mask_their_columns():
    t = pd.DataFrame({"n_3d": [5, 50, 60], "n_ct_mr": [100, 100, 100],
                      "rate": [0.05, 0.5, 0.6], "loss_usd": [10.0, 20.0, 30.0]})
    s = suppress_counts(t, dependents={"n_3d": ["rate"]})
    assert s.table["rate"].tolist() == [MARKER, MARKER, 0.6]
    assert s.table["loss_usd"].tolist() == [10.0, 20.0, 30.0]


def test_lowering_the_threshold_needs_an_internal_run():
    with pytest.raises(InputError, match="internal"):
        PrivacySettings(min_cell_count=5)
    internal = PrivacySettings(min_cell_count=5, internal=True)
    assert internal.to_dict() == {"min_cell_count": 5, "suppressed_range": "1-4",
                                  "internal": True, "lowered": True}
    s = suppress_counts(pd.DataFrame({"n_lines": [5, 4, 100]}), settings=internal)
    assert s.table["n_lines"].tolist() == [MARKER, MARKER, 100]  # 4 primary, 5 complement
    with pytest.raises(InputError):
        PrivacySettings(min_cell_count=0, internal=True)


def test_suppress_value_and_identifier_columns():
    assert suppress_value("n_noncompliant_3d_lines", 7) is None
    assert suppress_value("n_noncompliant_3d_lines", 0) == 0
    assert suppress_value("n_noncompliant_3d_lines", 11) == 11
    assert suppress_value("loss_usd", 7.0) == 7.0
    with pytest.raises(ValueError, match="patient_id"):
        check_no_identifier_columns(pd.DataFrame({"patient_id": ["P1"], "n": [1]}))
    check_no_identifier_columns(pd.DataFrame({"practice_id": ["A"]}))


def test_shown_small_counts_finds_offending_cells():
    t = pd.DataFrame({"n_lines": ["*", 12, 3], "rate": [0.01, 0.02, 0.03]})
    bad = shown_small_counts(t)
    assert bad.to_dict("records") == [{"column": "n_lines", "row": 2, "value": 3.0}]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), min_size=3, max_size=3), min_size=1, max_size=8))
def test_property_no_small_count_shown_and_no_lone_hidden_cell(rows):
    t = pd.DataFrame(rows, columns=["n_a", "n_b", "n_c"]).assign(rate=0.5)
    s = suppress_counts(t)
    assert shown_small_counts(s.table).empty
    for c in ["n_a", "n_b", "n_c"]:
        hidden = int(s.mask[c].sum())
        nonzero_open = int(((t[c] >= 0) & ~s.mask[c]).sum())
        # one hidden cell alone is revealed by the column total, unless nothing is left
        assert hidden != 1 or nonzero_open == 0
    # rates hidden wherever a count is
    assert (s.mask["rate"] == s.mask[["n_a", "n_b", "n_c"]].any(axis=1)).all()


# ------------------------------------------------------------------- scanning


def test_scan_finds_identifiers_in_text_and_inside_workbooks(tmp_path):
    (tmp_path / "a.csv").write_text("practice_id,n\nPR01,12\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.html").write_text("<td>PAT-000123</td>")
    pd.DataFrame({"who": ["PAT000999"]}).to_excel(tmp_path / "c.xlsx", index=False)
    # an id embedded in a longer run of base64-like text is not a hit
    (tmp_path / "d.txt").write_text("iVBORw0KGgoPAT000555xyz")
    hits = scan_for_identifiers(tmp_path, ["PAT-000123", "PAT000999", "PAT000555", "PR99"])
    found = set(hits["identifier"])
    assert found == {"PAT-000123", "PAT000999"}
    assert any("c.xlsx!" in f for f in hits["file"])  # found inside the zip member
    assert scan_for_identifiers(tmp_path, ["NOPE0001"]).empty


def test_scan_reads_zip_members(tmp_path):
    with zipfile.ZipFile(tmp_path / "r.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("inner.json", '{"patient": "PT77777"}')
    assert scan_for_identifiers(tmp_path, ["PT77777"])["identifier"].tolist() == ["PT77777"]


def test_find_substrings_finds_paths_in_files_and_zip_members(tmp_path):
    (tmp_path / "a.json").write_text('{"inputs_dir": "/home/me/cache/abc"}')
    with zipfile.ZipFile(tmp_path / "b.xlsx", "w") as z:
        z.writestr("sheet.xml", "<c>/home/me/claims.csv</c>")
    hits = find_substrings(tmp_path, ["/home/me", "/srv/none"])
    names = sorted(Path(f.split("!")[0]).name for f in hits["file"])
    assert names == ["a.json", "b.xlsx", "b.xlsx"]  # the zip itself and its member
    assert set(hits["needle"]) == {"/home/me"}
    assert find_substrings(tmp_path, ["/srv/none"]).empty


def test_scan_reads_words_broken_for_display(tmp_path):
    # shown tables write "_<wbr>" so long names can wrap; the scan sees the whole word
    (tmp_path / "t.html").write_text("<td>PT_<wbr>77777</td>")
    assert scan_for_identifiers(tmp_path, ["PT_77777"])["identifier"].tolist() == ["PT_77777"]


def test_privacy_still_offers_the_scans_and_the_default():
    assert privacy.scan_for_identifiers is scan_for_identifiers
    assert privacy.find_substrings is find_substrings
    assert privacy.DEFAULT_MIN_CELL_COUNT == defaults.MIN_CELL_COUNT == 11
