"""Tests for analysis.puf: the CMS provider/geography readers, roll-ups, the
services-basis summary with suppression bounds, the screen, the exposure estimate,
the consistency check, the synthetic PUF generator (analysis.synth.puf), the bundled
samples and the ``rad3d puf`` command."""

from __future__ import annotations

import filecmp
import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import puf
from analysis.cli import main as cli_main
from analysis.codes import ct_mr_codes
from analysis.errors import InputError
from analysis.npi import valid_npi
from analysis.paths import NOTEBOOK_DIR, PUF_SAMPLE_DIR
from analysis.pricing import SETTINGS
from analysis.synth.puf import write_synthetic_puf

K_CT_MR = len(ct_mr_codes())  # CT/MR codes in the default set (hidden-cell count)
HEADER = ",".join(puf.PROVIDER_SERVICE_COLUMNS)
HEADER_G = ",".join(puf.PROVIDER_SERVICE_COLUMNS_WITH_GENDER)
DESC_74177 = '"CT scan of abdomen and pelvis, with contrast"'


def row(npi="1234567893", *, code="74177", pos="F", benes="20", srvcs="25",
        allowed="100.5", state="NC", fips="37", zip5="02118", ent="I", gender=None,
        name="Smith") -> str:
    """One provider-file row in the 28-column layout (29 with ``gender``)."""
    head = [npi, name, "Ann", "", "M.D."]
    if gender is not None:
        head.append(gender)
    return ",".join(head + [
        ent, '"1 Main St, Suite 2"', "", "Raleigh", state, fips, zip5, "1",
        '"Metropolitan area core: primary flow within an urbanized area of 50,000 and '
        'greater"', "US", "Diagnostic Radiology", "Y", code, DESC_74177, "N", pos, benes,
        srvcs, benes, "300.25", allowed, "80.4", "95.1",
    ])


def write(path, lines, *, header=HEADER, bom=False, eol="\n"):
    text = eol.join([header, *lines]) + eol
    path.write_bytes((("\ufeff" if bom else "") + text).encode())
    return path


# Hand-checkable file: NPI 1234567893 (valid check digit; see analysis.npi) reads
# 3 CT/MR codes and bills 76376 in a facility; NPI 1245319599 is in Texas; one row is
# an office visit (out of scope).
HAND = [
    row(code="74177", srvcs="25", allowed="100.5"),       # 25 x 100.5  = 2512.5
    row(code="70450", srvcs="40.5", allowed="20"),        # 40.5 x 20   = 810
    row(code="71250", srvcs="35", allowed="30"),          # 35 x 30     = 1050
    row(code="76376", srvcs="12", benes="11", allowed="8.5"),  # 12 x 8.5 = 102
    row(code="99213", srvcs="90", allowed="70"),          # dropped: not CT/MR/3D
    row(npi="1245319599", code="74177", srvcs="60", state="TX", fips="48", zip5="75001"),
]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A 3,000-row synthetic provider file with its geography file."""
    d = tmp_path_factory.mktemp("puf")
    info = write_synthetic_puf(
        d / "prov.csv", n_rows=3000, rng=np.random.default_rng(11),
        geography_path=d / "geo.csv", radiologist_share=0.3,
    )
    return d / "prov.csv", d / "geo.csv", info


# ------------------------------------------------------------------------ reader


def test_hand_file_rows_numbers_and_strings(tmp_path):
    read = puf.read_provider_service(write(tmp_path / "p.csv", HAND))
    lines = read.lines
    assert read.layout == "2023+"
    assert read.counts["rows_read"] == 6
    assert read.counts["rows_kept"] == 5 and read.counts["rows_out_of_scope_code"] == 1
    nc = lines.loc[lines["rendering_npi"].eq("1234567893")].set_index("cpt_code")
    assert nc.loc["70450", "services"] == 40.5  # fractional Tot_Srvcs kept
    assert nc.loc["74177", "allowed_usd"] == pytest.approx(2512.5)
    assert nc["allowed_usd"].sum() == pytest.approx(2512.5 + 810 + 1050 + 102)
    assert nc.loc["76376", "code_class"] == "3D" and nc.loc["70450", "code_class"] == "CT"
    assert nc["zip5"].iloc[0] == "02118"  # ZIP stays a string with its leading zero
    assert lines["row"].tolist() == [2, 3, 4, 5, 7]  # physical rows (header = 1)


def test_both_header_variants_read_the_same(tmp_path):
    new = puf.read_provider_service(write(tmp_path / "new.csv", HAND))
    old_rows = [r.replace("M.D.,I,", "M.D.,F,I,") for r in HAND]  # gender after Crdntls
    old = puf.read_provider_service(write(tmp_path / "old.csv", old_rows, header=HEADER_G))
    assert old.layout == "with_gender" and new.layout == "2023+"
    pd.testing.assert_frame_equal(old.lines, new.lines)


def test_synthetic_layouts_with_same_seed_read_the_same(tmp_path):
    a = write_synthetic_puf(tmp_path / "a.csv", n_rows=800, rng=np.random.default_rng(3))
    b = write_synthetic_puf(tmp_path / "b.csv", n_rows=800, rng=np.random.default_rng(3),
                            layout="with_gender")
    assert (a["rows"], b["rows"]) == (800, 800)
    ra, rb = (puf.read_provider_service(p) for p in (tmp_path / "a.csv", tmp_path / "b.csv"))
    assert (ra.layout, rb.layout) == ("2023+", "with_gender")
    pd.testing.assert_frame_equal(ra.lines, rb.lines)


def test_bom_and_crlf(tmp_path):
    plain = puf.read_provider_service(write(tmp_path / "a.csv", HAND))
    windows = puf.read_provider_service(write(tmp_path / "b.csv", HAND, bom=True, eol="\r\n"))
    assert windows.layout == "2023+"
    pd.testing.assert_frame_equal(plain.lines, windows.lines)
    assert not windows.lines["setting"].str.contains("\r").any()


def test_malformed_rows_are_quarantined_and_counts_reconcile(tmp_path):
    bad = [
        HAND[0],
        HAND[1].rsplit(",", 1)[0],           # row 3: 27 fields
        HAND[2] + ",extra",                  # row 4: 29 fields
        row(code="76377", srvcs="abc"),      # row 5: Tot_Srvcs not a number (in scope)
        row(npi="1234567890", code="74178"),  # row 6: NPI check digit wrong (in scope)
        row(npi="1234567890", code="99213"),  # row 7: out of scope, not checked
        HAND[3],                             # row 8
    ]
    read = puf.read_provider_service(write(tmp_path / "m.csv", bad), batch_rows=1)
    c = read.counts
    assert c["rows_read"] == 7
    assert (c["rows_kept"], c["rows_out_of_scope_code"], c["rows_quarantined"]) == (2, 1, 4)
    assert c["rows_malformed"] == 2 and c["rows_invalid_value"] == 2
    q = read.quarantine.set_index("row")
    assert q.index.tolist() == [3, 4, 5, 6]
    assert q.loc[3, "reason"] == "expected 28 fields, found 27"
    assert q.loc[5, "column"] == "Tot_Srvcs" and q.loc[5, "value"] == "abc"
    assert q.loc[6, "column"] == "Rndrng_NPI"
    assert read.lines["row"].tolist() == [2, 8]  # physical rows survive the skipped ones


def test_place_of_service_is_read_as_the_pfs_setting(tmp_path):
    rows = [row(code="74177", pos="F"), row(code="70450", pos="O"), row(code="76376", pos=" o")]
    lines = puf.read_provider_service(write(tmp_path / "p.csv", rows)).lines
    assert lines["setting"].tolist() == ["facility", "non_facility", "non_facility"]
    assert set(puf.layouts.SETTING_OF_PLACE.values()) == set(SETTINGS)  # pricing's names


def test_place_of_service_other_than_f_or_o_is_refused(tmp_path):
    path = write(tmp_path / "p.csv", [HAND[0], row(code="76377", pos="H")])
    with pytest.raises(InputError, match=r"p\.csv, row 3, column 'Place_Of_Srvc', value 'H'"):
        puf.read_provider_service(path, on_error="raise")
    read = puf.read_provider_service(path)
    q = read.quarantine.set_index("row")
    assert q.index.tolist() == [3] and read.lines["row"].tolist() == [2]
    assert (q.loc[3, "column"], q.loc[3, "value"]) == ("Place_Of_Srvc", "H")
    assert q.loc[3, "reason"].startswith("place of service must be F")


def test_geography_place_of_service_is_read_as_the_setting(tmp_path):
    cells = ["State", "37", "North Carolina", "76376", '"3D rendering"', "N"]
    counts = ["12", "40", "55", "50", "300", "60.5", "48.1", "55.2"]
    path = tmp_path / "g.csv"
    path.write_text("\n".join([",".join(puf.GEOGRAPHY_SERVICE_COLUMNS),
                               ",".join([*cells, "F", *counts]),
                               ",".join([*cells, "O", *counts])]) + "\n")
    assert puf.read_geography_service(path)["setting"].tolist() == ["facility", "non_facility"]
    path.write_text(path.read_text().replace(",O,", ",X,"))
    with pytest.raises(InputError, match=r"g\.csv, row 3, column 'Place_Of_Srvc', value 'X'"):
        puf.read_geography_service(path)


def test_malformed_rows_raise_with_file_row_column(tmp_path):
    path = write(tmp_path / "m.csv", [HAND[0], row(code="76377", srvcs="abc")])
    with pytest.raises(InputError, match=r"m\.csv, row 3, column 'Tot_Srvcs', value 'abc'"):
        puf.read_provider_service(path, on_error="raise")
    short = write(tmp_path / "s.csv", [HAND[0], HAND[1].rsplit(",", 1)[0]])
    with pytest.raises(InputError, match=r"row 3.*expected 28 fields, found 27"):
        puf.read_provider_service(short, on_error="raise")


def test_unknown_headers_are_refused(tmp_path):
    geo = tmp_path / "g.csv"
    geo.write_text(",".join(puf.GEOGRAPHY_SERVICE_COLUMNS) + "\n")
    with pytest.raises(InputError, match="read_geography_service"):
        puf.read_provider_service(geo)
    odd = write(tmp_path / "o.csv", [], header=HEADER.replace("Tot_Srvcs", "Total"))
    with pytest.raises(InputError, match=r"o\.csv, row 1.*missing \['Tot_Srvcs'\]"):
        puf.provider_service_layout(odd)
    with pytest.raises(InputError, match="file not found"):
        puf.read_provider_service(tmp_path / "nope.csv")


@pytest.mark.parametrize("batch_rows", [1, 60, 1000])
def test_streamed_read_equals_whole_file_read(synthetic, batch_rows):
    path, _, _ = synthetic
    streamed = puf.read_provider_service(path, batch_rows=batch_rows).lines
    # the whole file at once, independently: pandas, every column as text
    whole = pd.read_csv(path, dtype=str, keep_default_na=False)
    codes = set(ct_mr_codes()["cpt_code"]) | {"76376", "76377"}
    whole = whole.loc[whole["HCPCS_Cd"].isin(codes)]
    assert len(streamed) == len(whole) > 100
    assert streamed["rendering_npi"].tolist() == whole["Rndrng_NPI"].tolist()
    assert streamed["cpt_code"].tolist() == whole["HCPCS_Cd"].tolist()
    np.testing.assert_allclose(streamed["services"], whole["Tot_Srvcs"].astype(float))
    np.testing.assert_allclose(
        streamed["allowed_usd"],
        whole["Tot_Srvcs"].astype(float) * whole["Avg_Mdcr_Alowd_Amt"].astype(float),
    )
    assert streamed["row"].tolist() == (whole.index + 2).tolist()
    batches = list(puf.iter_provider_service(path, batch_rows=batch_rows))
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), streamed)


def test_state_and_jurisdiction_filters(synthetic):
    path, _, _ = synthetic
    everything = puf.read_provider_service(path)
    jm = puf.read_provider_service(path, jurisdictions="JM")
    expected = everything.lines.loc[everything.lines["state"].isin(["NC", "SC", "VA", "WV"])]
    pd.testing.assert_frame_equal(jm.lines, expected.reset_index(drop=True))
    c = jm.counts
    assert c["rows_read"] == (c["rows_kept"] + c["rows_out_of_scope_code"]
                              + c["rows_out_of_scope_geography"] + c["rows_quarantined"])
    assert c["rows_out_of_scope_geography"] == everything.counts["rows_kept"] - c["rows_kept"]
    both = puf.read_provider_service(path, states=["NC", "TX"], jurisdictions="JM")
    assert set(both.lines["state"]) <= {"NC"}  # intersection


def test_jurisdiction_states_from_the_gpci_macs():
    # Novitas: JH = 04xxx (CO NM OK TX) + 07xxx (AR LA MS); JL = 12xxx (DC DE MD NJ PA)
    assert puf.jurisdiction_states("JH, JL") == [
        "AR", "CO", "DC", "DE", "LA", "MD", "MS", "NJ", "NM", "OK", "PA", "TX"]
    assert puf.jurisdiction_states(["JM"]) == ["NC", "SC", "VA", "WV"]
    with pytest.raises(InputError, match="unknown MAC jurisdiction"):
        puf.jurisdiction_states("JZ")


def test_geography_reader_national_equals_sum_of_states(synthetic):
    _, geo_path, _ = synthetic
    geo = puf.read_geography_service(geo_path)
    assert set(geo["geo_level"]) == {"National", "State"}
    nat = geo.loc[geo["geo_level"].eq("National")].set_index(["cpt_code", "setting"])
    states = geo.loc[geo["geo_level"].eq("State")].groupby(
        ["cpt_code", "setting"])["services"].sum()
    # a state row below 11 beneficiaries is suppressed, so states sum to <= national
    joined = nat["services"].to_frame("nat").join(states.rename("st"), how="left").fillna(0)
    assert (joined["st"] <= joined["nat"] + 1e-6).all()
    assert geo["state_fips"].loc[geo["geo_level"].eq("State")].str.len().eq(2).all()


# ----------------------------------------------------------------- consistency


def test_consistency_gap_is_the_suppressed_services(synthetic):
    path, geo_path, _ = synthetic
    lines = puf.read_provider_service(path).lines
    check = puf.check_consistency(lines, puf.read_geography_service(geo_path))
    assert (check["status"] == "ok").all()
    assert (check["gap_services"] >= -1e-6).all() and check["gap_services"].sum() > 0


def test_consistency_hand_example():
    lines = pd.DataFrame({"rendering_npi": ["1", "2"], "state": "NC", "state_fips": "37",
                          "cpt_code": "76376", "services": [30.0, 20.0],
                          "allowed_usd": [300.0, 200.0]})
    geo = pd.DataFrame({"geo_level": ["State", "State", "National"],
                        "state_fips": ["37", "37", ""], "cpt_code": "76376",
                        "setting": ["facility", "non_facility", "facility"],
                        "services": [56.0, 4.0, 999.0],
                        "allowed_usd": [590.0, 40.0, 0.0], "n_providers": [3.0, 1.0, 9.0]})
    out = puf.check_consistency(lines, geo).iloc[0]
    # geography 56 + 4 = 60 services vs 30 + 20 = 50 visible: 10 suppressed (1/6)
    assert out["gap_services"] == 10 and out["gap_share"] == pytest.approx(1 / 6)
    assert out["gap_allowed_usd"] == 130 and out["status"] == "ok"


# --------------------------------------------------------------------- roll-ups


def test_rollups_npi_organization_crosswalk(tmp_path):
    rows = HAND[:4] + [row(npi="1245319599", code="74177", ent="O", name='"Big Imaging, LLC"')]
    lines = puf.read_provider_service(write(tmp_path / "p.csv", rows)).lines
    by_npi = puf.assign_practices(lines)
    assert by_npi.counts["practices"] == 2
    org = puf.assign_practices(lines, rollup="organization")
    assert org.lines["practice_id"].unique().tolist() == ["1245319599"]
    assert org.counts["rows_dropped"] == 4
    cw_path = tmp_path / "cw.csv"
    cw_path.write_text("rendering_npi,practice_id,practice_name\n1.234567893E9,P1,Group One\n")
    cw = puf.read_crosswalk(cw_path)
    assert cw["rendering_npi"].tolist() == ["1234567893"]  # spreadsheet damage repaired
    rolled = puf.assign_practices(lines, crosswalk=cw)
    assert rolled.rollup == "crosswalk"
    assert rolled.unmatched["rendering_npi"].tolist() == ["1245319599"]
    assert set(rolled.lines["practice_id"]) == {"P1", "1245319599"}  # unmatched = own
    dropped = puf.assign_practices(lines, crosswalk=cw, unmatched="drop")
    assert set(dropped.lines["practice_id"]) == {"P1"} and dropped.counts["rows_dropped"] == 1


def test_crosswalk_header_npi_is_read_as_rendering_npi(tmp_path):
    new, old = tmp_path / "new.csv", tmp_path / "old.csv"
    new.write_text("rendering_npi,practice_id\n1234567893,P1\n1245319599,P2\n")
    old.write_text(" NPI ,practice_id\n1234567893,P1\n1245319599,P2\n")  # earlier name
    pd.testing.assert_frame_equal(puf.read_crosswalk(old), puf.read_crosswalk(new))
    assert puf.read_crosswalk(old).columns.tolist() == [
        "rendering_npi", "practice_id", "practice_name"]
    lines = pd.DataFrame({"rendering_npi": ["1234567893"], "provider_name": "Smith",
                          "state": "NC", "cpt_code": "74177", "services": 25.0})
    by_frame = puf.assign_practices(lines, crosswalk=pd.DataFrame(
        {"npi": ["1234567893"], "practice_id": ["P1"]}))
    assert by_frame.lines["practice_id"].tolist() == ["P1"]
    old.write_text("npi,rendering_npi,practice_id\n1234567893,1234567893,P1\n")
    with pytest.raises(InputError, match="both rendering_npi and npi"):
        puf.read_crosswalk(old)


def test_crosswalk_errors(tmp_path):
    p = tmp_path / "cw.csv"
    p.write_text("rendering_npi,practice_id\n1234567893,P1\n1234567893,P2\n")
    with pytest.raises(InputError, match="row 2.*more than one practice"):
        puf.read_crosswalk(p)
    p.write_text("rendering_npi,practice_id\n1234567890,P1\n")
    with pytest.raises(InputError, match="row 2, column 'rendering_npi'"):
        puf.read_crosswalk(p)
    p.write_text("npi,practice_id\n1234567890,P1\n")  # the file's own column name
    with pytest.raises(InputError, match="row 2, column 'npi', value '1234567890'"):
        puf.read_crosswalk(p)
    p.write_text("provider,practice_id\n1234567893,P1\n")
    with pytest.raises(InputError, match=r"rendering_npi \(or npi\) and practice_id"):
        puf.read_crosswalk(p)


# --------------------------------------------------------------------- summary


def test_summary_hand_example_and_hidden_cells(tmp_path):
    lines = puf.read_provider_service(write(tmp_path / "p.csv", HAND)).lines
    s = puf.summarize_puf(lines, period=2023).set_index("practice_id")
    nc = s.loc["1234567893"]
    # CT/MR: 25 + 40.5 + 35 = 100.5 services; 3D: 12 (76376), 0 (76377)
    assert nc["ct_mr_units"] == 100.5 and nc["units_3d_76376"] == 12
    assert nc["units_3d_76377"] == 0 and nc["allowed_3d_76376_usd"] == 102
    assert (nc["period"], nc["payer"]) == ("2023", "MEDICARE")
    # facility only: 76377 is the one hidden 3D cell; K - 3 CT/MR cells; 20 services each
    assert nc["hidden_cells_3d"] == 1 and nc["hidden_cells_ct_mr"] == K_CT_MR - 3
    assert nc["hidden_3d_units_max"] == 20 and nc["hidden_ct_mr_units_max"] == 20 * (K_CT_MR - 3)
    both = puf.summarize_puf(lines, period=2023, bounds=puf.SuppressionBounds(
        places="all", services_per_beneficiary=1)).set_index("practice_id").loc["1234567893"]
    # office cells count too: 1 + 2 hidden 3D cells, (K - 3) + K CT/MR cells, 10 each
    assert both["hidden_cells_3d"] == 3 and both["hidden_cells_ct_mr"] == 2 * K_CT_MR - 3
    assert both["hidden_3d_units_max"] == 30


def test_suppression_bounds_validation():
    with pytest.raises(InputError, match="services_per_beneficiary"):
        puf.SuppressionBounds(services_per_beneficiary=0.5)
    with pytest.raises(InputError, match="places"):
        puf.SuppressionBounds(places="some")
    assert puf.SuppressionBounds().to_dict()["max_hidden_beneficiaries"] == 10


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=1, max_value=30))
def test_summaries_of_practice_partitions_add_up(synthetic, cut):
    path, _, _ = synthetic
    lines = puf.read_provider_service(path).lines
    npis = sorted(lines["rendering_npi"].unique())
    part_a = lines.loc[lines["rendering_npi"].isin(npis[:cut])]
    part_b = lines.loc[~lines["rendering_npi"].isin(npis[:cut])]
    whole = puf.summarize_puf(lines, period="2023")
    parts = pd.concat([puf.summarize_puf(part_a, period="2023"),
                       puf.summarize_puf(part_b, period="2023")])
    pd.testing.assert_frame_equal(
        parts.sort_values("practice_id").reset_index(drop=True), whole)


# ---------------------------------------------------------------------- screen


def _summary(rows):
    """Practices (id, x 3D, n CT/MR, hidden 3D max, hidden CT/MR max)."""
    return pd.DataFrame({
        "practice_id": [r[0] for r in rows], "period": "2023", "payer": "MEDICARE",
        "n_rendering_npis": 1, "ct_mr_units": [float(r[2]) for r in rows],
        "units_3d_76376": [float(r[1]) for r in rows], "units_3d_76377": 0.0,
        "allowed_3d_76376_usd": 0.0, "allowed_3d_76377_usd": 0.0,
        "hidden_cells_3d": 0, "hidden_cells_ct_mr": 0,
        "hidden_3d_units_max": [float(r[3]) for r in rows],
        "hidden_ct_mr_units_max": [float(r[4]) for r in rows],
    })


def test_screen_bounds_and_robust_flags():
    s = _summary([
        ("A", 400, 1000, 0, 40),     # 40 %; lower 400/1040 = 38.5 %: robust flag
        ("B", 260, 1000, 0, 600),    # 26 %; lower 260/1600 = 16.3 %: flag not robust
        ("C", 150, 1000, 200, 0),    # 15 %; upper 350/1000 = 35 %: non-flag not robust
        ("D", 10, 1000, 20, 0),      # 1 %; upper 3 %: robust non-flag
        ("E", 5, 0, 0, 0),           # no CT/MR services: not screened
    ])
    r = puf.screen_puf(s).table.set_index("practice_id")
    assert r.loc["A", "rate_lower"] == pytest.approx(400 / 1040)
    assert r.loc["C", "rate_upper"] == pytest.approx(0.35)
    assert r["flag_status"].to_dict() == {
        "A": "flag robust to suppression",
        "B": "flag not robust: hidden CT/MR rows could explain it",
        "C": "not flagged, not robust: hidden 3D rows could flag it",
        "D": "not flagged, robust",
        "E": "not screened: no CT/MR services",
    }
    # monotone: flagged at the lower bound => flagged => flagged at the upper bound
    assert (r["flag_at_lower"] <= r["flag"]).all() and (r["flag"] <= r["flag_at_upper"]).all()


def test_screen_needs_the_hidden_columns():
    with pytest.raises(InputError, match="summarize_puf"):
        puf.screen_puf(_summary([("A", 1, 10, 0, 0)]).drop(columns="hidden_3d_units_max"))


def test_screen_on_sample_attaches_jurisdictions(synthetic):
    path, _, _ = synthetic
    lines = puf.read_provider_service(path, jurisdictions="JH,JL").lines
    s = puf.summarize_puf(lines, period="2023")
    r = puf.screen_puf(s, lines=lines)
    assert set(r.table["jurisdiction"].dropna()) <= {"JH", "JL"}
    assert (r.table["rate_lower"] <= r.table["rate"] + 1e-12).all()
    assert (r.table["rate"] <= r.table["rate_upper"] + 1e-12).all()
    assert "providers screened" in r._repr_html_()


# -------------------------------------------------------------------- exposure


MEDICARE = pd.DataFrame({"cpt_code": ["76376", "76377"], "services": [1000.0, 200.0],
                         "allowed_usd": [10_000.0, 8_000.0], "source": "test"})


def test_exposure_point_estimate_by_hand():
    e = puf.estimate_exposure(MEDICARE, rng=np.random.default_rng(1), n_draws=2000)
    t = e.table.set_index("quantity")
    # 1200 services x 1.5 x 0.45 = 810; $18,000 x 1.5 x 0.45 x 1.8 = $21,870
    assert t.loc["payer_3d_services", "point"] == pytest.approx(810)
    assert t.loc["payer_3d_allowed_usd", "point"] == pytest.approx(21_870)
    lo, hi = t.loc["payer_3d_allowed_usd", ["low", "high"]]
    assert lo < 21_870 < hi
    assert "ESTIMATE FROM PUBLIC DATA" in e.label and "Not the payer's claims" in e.label
    json.dumps(e.to_dict())


def test_exposure_same_seed_same_draws_and_linear_in_volume():
    a = puf.estimate_exposure(MEDICARE, rng=np.random.default_rng(9), n_draws=500)
    b = puf.estimate_exposure(MEDICARE, rng=np.random.default_rng(9), n_draws=500)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    doubled = MEDICARE.assign(services=MEDICARE["services"] * 2,
                              allowed_usd=MEDICARE["allowed_usd"] * 2)
    c = puf.estimate_exposure(doubled, rng=np.random.default_rng(9), n_draws=500)
    np.testing.assert_allclose(c.table["high"], 2 * a.table["high"])


def test_exposure_fixed_assumptions_collapse_the_interval():
    fixed = puf.ExposureAssumptions(
        commercial_to_medicare_volume_low=1.5, commercial_to_medicare_volume_high=1.5,
        bcbs_share_of_commercial_low=0.45, bcbs_share_of_commercial_high=0.45,
        commercial_multiplier_low=1.8, commercial_multiplier_high=1.8)
    t = puf.estimate_exposure(MEDICARE, assumptions=fixed, rng=np.random.default_rng(0),
                              n_draws=200).table.set_index("quantity")
    assert t.loc["payer_3d_allowed_usd", "low"] == pytest.approx(21_870)
    assert t.loc["payer_3d_allowed_usd", "high"] == pytest.approx(21_870)
    with pytest.raises(InputError, match="commercial_multiplier"):
        puf.ExposureAssumptions(commercial_multiplier=3.0)


def test_medicare_totals_geography_versus_provider_rows(synthetic):
    path, geo_path, _ = synthetic
    lines = puf.read_provider_service(path).lines
    from_lines = puf.medicare_3d_totals(state="NC", lines=lines)
    from_geo = puf.medicare_3d_totals(state="NC", geography=puf.read_geography_service(geo_path))
    assert from_lines["cpt_code"].tolist() == ["76376", "76377"]
    # visible provider rows can only fall short of the complete state totals
    assert (from_lines["services"] <= from_geo["services"] + 1e-6).all()


# ------------------------------------------------------------------- generator


def test_generator_exact_rows_valid_npis_unique_cells(tmp_path):
    info = write_synthetic_puf(tmp_path / "s.csv", n_rows=1234,
                               rng=np.random.default_rng(5), chunk_rows=300)
    frame = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False)
    assert info["rows"] == len(frame) == 1234
    assert tuple(frame.columns) == puf.PROVIDER_SERVICE_COLUMNS
    assert not frame.duplicated(["Rndrng_NPI", "HCPCS_Cd", "Place_Of_Srvc"]).any()
    assert valid_npi(frame["Rndrng_NPI"]).all()
    assert (frame["Tot_Benes"].astype(int) > 10).all()  # suppressed rows are absent
    assert frame["Tot_Srvcs"].str.contains(r"\.").any()  # some fractional services


def test_generator_is_still_importable_from_the_reader_package():
    assert puf.write_synthetic_puf is write_synthetic_puf


def test_bundled_samples_read():
    paths = puf.sample_paths()
    new = puf.read_provider_service(paths["provider"])
    old = puf.read_provider_service(paths["provider_with_gender"])
    assert (new.layout, old.layout) == ("2023+", "with_gender")
    assert new.counts["rows_quarantined"] == 0 and len(new.lines) > 1000
    assert len(puf.read_crosswalk(paths["crosswalk"])) > 10


def test_bundled_samples_are_what_make_samples_writes(tmp_path):
    # data/sample/puf/README.md: the samples come from make_samples.py; same bytes.
    spec = importlib.util.spec_from_file_location("make_samples",
                                                  PUF_SAMPLE_DIR / "make_samples.py")
    make_samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_samples)
    fresh = make_samples.write_samples(tmp_path)
    for key, bundled in puf.sample_paths().items():
        assert filecmp.cmp(bundled, fresh[key], shallow=False), key


# ------------------------------------------------------------------------- CLI


def test_cli_puf_writes_screen_and_exposure(tmp_path):
    out = tmp_path / "out"
    assert cli_main(["puf", "--jurisdiction", "JM", "--draws", "500", "--out", str(out)]) == 0
    table = pd.read_csv(out / "puf_screen.csv")
    assert set(table["jurisdiction"]) == {"JM"}
    record = json.loads((out / "exposure.json").read_text())
    assert record["exposure"]["state"] == "NC"
    assert record["exposure"]["medicare_source"].startswith("geography file")
    assert (out / "puf_screen.xlsx").exists() and (out / "consistency.csv").exists()


def test_cli_puf_user_error_exits_2(tmp_path, capsys):
    assert cli_main(["puf", str(tmp_path / "none.csv"), "--out", str(tmp_path)]) == 2
    assert "file not found" in capsys.readouterr().err


# -------------------------------------------------------------------- notebook


@pytest.mark.slow
def test_medicare_benchmark_notebook_runs_and_records_its_numbers(tmp_path):
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "run"
    papermill.execute_notebook(
        str(NOTEBOOK_DIR / "medicare_benchmark.ipynb"),
        str(tmp_path / "executed.ipynb"),
        parameters={"output_dir": str(out), "exposure_draws": 500, "states": [],
                    "jurisdictions": ["JH", "JL"]},
        progress_bar=False,
    )
    results = json.loads((out / "results.json").read_text())
    direct = puf.medicare_benchmark(jurisdictions=["JH", "JL"], n_draws=500,
                                    rng=np.random.default_rng(20240901))
    head = results["headline"]
    assert head["n_providers_screened"]["value"] == int(direct.screen.table["screened"].sum())
    point = direct.exposure.table.set_index("quantity").loc["payer_3d_allowed_usd", "point"]
    assert head["payer_3d_allowed_usd"]["value"] == round(point)
    screen = pd.read_csv(out / "tables" / "screen.csv")
    assert set(screen["jurisdiction"]) <= {"JH", "JL"}


@pytest.mark.slow
def test_medicare_benchmark_consistency_gaps_of_one_to_ten_are_suppressed(tmp_path):
    # The sample's NC file lacks 1 to 10 services of several codes (e.g. 73701: 401 in
    # the provider file, 402 in the geography file): such a gap is a small count, and
    # either file's total in its row would give it back.
    papermill = pytest.importorskip("papermill")
    direct = puf.medicare_benchmark(states=["NC"], n_draws=200,
                                    rng=np.random.default_rng(1)).consistency
    gaps = direct.groupby("cpt_code")["gap_services"].sum()
    small = set(gaps.index[(gaps > 0) & (gaps < 11)])
    assert len(small) >= 2
    out = tmp_path / "run"
    papermill.execute_notebook(
        str(NOTEBOOK_DIR / "medicare_benchmark.ipynb"), str(tmp_path / "executed.ipynb"),
        parameters={"output_dir": str(out), "exposure_draws": 200}, progress_bar=False)
    shown = pd.read_csv(out / "tables" / "consistency.csv", dtype={"cpt_code": str})
    shown = shown.set_index("cpt_code").astype(str)
    gap = pd.to_numeric(shown["gap_services"], errors="coerce")
    assert not ((gap > 0) & (gap < 11)).any()
    assert (shown.loc[sorted(small), "gap_services"] == "*").all()
    hidden = shown["gap_services"] == "*"
    pair = shown.loc[hidden, ["services_provider", "services_geography"]] == "*"
    assert pair.any(axis=1).all()  # the row's totals do not give the gap back


def test_medicare_page_default_draws_settle_the_interval_and_the_answer_says_when_not():
    # The page's default (100,000 draws, its seed): the stopping rule of
    # analysis.convergence finds the interval stable. With 500 draws it does not, and
    # the answer box says so beside the interval it quotes.
    from analysis.report.answer import medicare_answer
    from analysis.report.parameters import notebook_parameters

    defaults = notebook_parameters(NOTEBOOK_DIR / "medicare_benchmark.ipynb",
                                   check_papermill=False)
    n, seed = defaults["exposure_draws"].default, defaults["seed"].default
    settled = puf.medicare_benchmark(states=["NC"], n_draws=n, rng=np.random.default_rng(seed))
    assert n == 100_000 and settled.exposure.convergence.n_stable is not None
    short = puf.medicare_benchmark(states=["NC"], n_draws=500, rng=np.random.default_rng(seed))
    assert short.exposure.convergence.n_stable is None
    texts = [" ".join(r.text for r in medicare_answer(
        run, run.exposure.assumptions, threshold=0.2, alpha=0.05).rows)
        for run in (settled, short)]
    assert "more draws would settle" not in texts[0]
    assert "still move by more than 1% of the estimate at 500 draws" in texts[1]
