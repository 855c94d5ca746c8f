"""Tests for analysis.pricing: the CMS file readers, lookups and PFS pricing.

Expected amounts are worked out by hand in comments from the rows of the bundled real
files (PPRRVU2025_Oct.csv RVU25D; PPRRVU2026_Jul_nonQPP.csv RVU26C; GPCI2025.csv; CF 2025
= 32.3465, 2026 = 33.4009 or 33.5675 for qualifying APM participants) and match the
amounts CMS publishes. Damaged copies of the real files are built in ``tmp_path``.
"""

from __future__ import annotations

import csv
import io
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import fees, pricing
from analysis.cli import main
from analysis.errors import InputError

RVU_PATH = pricing.DEFAULT_RVU_PATH
RVU_2026_PATH = pricing.BUNDLED_RVU_FILES[2026]
GPCI_PATH = pricing.DEFAULT_GPCI_PATH
BUNDLED = pricing.bundled_schedule()
HEADER_LINES = 10  # title/label lines of the real PPRRVU file; line 10 is "HCPCS,MOD,..."


def rvu_lines(path=RVU_PATH) -> list[str]:
    """A bundled extract as lines without line ends (the real 2025 file has CRLF)."""
    return path.read_bytes().decode("utf-8").splitlines()


def gpci_lines() -> list[str]:
    return GPCI_PATH.read_bytes().decode("utf-8").splitlines()


def write(tmp_path, lines, *, name="copy.csv", eol="\r\n", bom=False):
    path = tmp_path / name
    text = eol.join(lines) + eol
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def edit_cells(line: str, fn) -> str:
    """Apply ``fn`` to the parsed cells of one CSV line and write it back."""
    cells = next(csv.reader([line]))
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fn(cells))
    return out.getvalue()


def usd(lines: pd.DataFrame, *, rvu: pd.DataFrame | None = None) -> list[float]:
    """``medicare_usd`` of ``lines`` with the bundled GPCIs and ``rvu`` (default: bundled)."""
    return pricing.price(lines, BUNDLED.rvu if rvu is None else rvu, BUNDLED.gpci)[
        "medicare_usd"
    ].tolist()


def nc_lines(code: str, setting: str = "non_facility", **extra) -> pd.DataFrame:
    return pd.DataFrame({
        "cpt_code": code, "component": ["global", "26", "TC"], "setting": setting,
        "state": "NC", "service_date": pd.Timestamp("2025-06-15"), **extra,
    })  # fmt: skip


# ----------------------------------------------------------------- must show


def test_north_carolina_2025_amounts_from_the_real_files():
    # NC GPCIs (GPCI2025.csv, MAC 11502 locality 00): work 1.000, PE 0.926, MP 0.665.
    # 76376 global: (0.20*1 + 0.55*0.926 + 0.02*0.665) * 32.3465 = 0.7226  * 32.3465 = 23.3736
    #       -26:    (0.20   + 0.07*0.926 + 0.01*0.665) * 32.3465 = 0.27147 * 32.3465 =  8.7810
    #       -TC:    (0.00   + 0.48*0.926 + 0.01*0.665) * 32.3465 = 0.45113 * 32.3465 = 14.5925
    assert usd(nc_lines("76376")) == [23.37, 8.78, 14.59]
    # 76377 global: (0.79 + 1.53*0.926 + 0.06*0.665) * 32.3465 = 2.24668 * 32.3465 = 72.672
    #       -26:    (0.79 + 0.29*0.926 + 0.04*0.665) * 32.3465 = 1.08514 * 32.3465 = 35.100
    #       -TC:    (0.00 + 1.24*0.926 + 0.02*0.665) * 32.3465 = 1.16154 * 32.3465 = 37.572
    assert usd(nc_lines("76377")) == [72.67, 35.10, 37.57]


def test_national_non_facility_amounts():
    # All GPCIs 1.0: 76376 0.77 RVU * 32.3465 = 24.9068; 76377 2.38 * 32.3465 = 76.9847.
    lines = pd.DataFrame({"cpt_code": ["76376", "76377"], "state": "US", "year": 2025})
    priced = pricing.price(lines, *BUNDLED)
    assert priced["medicare_usd"].tolist() == [24.91, 76.98]
    assert priced["component"].tolist() == ["global", "global"]  # no component: global
    assert priced["setting"].tolist() == ["non_facility"] * 2  # no setting: non-facility
    assert (priced[["gpci_work", "gpci_pe", "gpci_mp"]] == 1.0).all().all()


def test_fee_table_matches_the_checks():
    nc = pricing.fee_table("76377", state="NC", year=2025)
    assert nc.summary["non_facility_usd"].tolist() == [72.67, 35.10, 37.57]
    # In a facility only -26 is paid under the PFS (global and TC facility PE are "NA").
    assert nc.summary["facility_usd"].isna().tolist() == [True, False, True]
    assert nc.summary.loc["26", "facility_usd"] == 35.10
    assert nc.conversion_factor == 32.3465
    assert (
        pricing.fee_table("76376", state="US", year=2025).summary.loc["global", "non_facility_usd"]
        == 24.91
    )
    assert "<table" in nc._repr_html_()


def test_every_payable_row_matches_the_files_own_total_rvus():
    # Reference: the RVU file's own NON-FACILITY TOTAL / FACILITY TOTAL columns times the
    # conversion factor in its CONV FACTOR column, rounded to the cent (national GPCIs).
    rvu = pricing.load_rvu()
    rows = rvu.loc[rvu["modifier"].isin(["", "26", "TC"])]
    component = rows["modifier"].replace({"": "global"})
    for setting, total, na in (
        ("non_facility", "total_rvu_non_facility", "non_facility_na"),
        ("facility", "total_rvu_facility", "facility_na"),
    ):
        lines = pd.DataFrame({
            "cpt_code": rows["cpt_code"], "component": component, "setting": setting,
            "state": "US", "year": 2025,
        })  # fmt: skip
        priced = pricing.price(lines, rvu, BUNDLED.gpci)
        payable = rows["status_code"].isin(["A", "R", "T"]) & ~rows[na]
        assert priced["payable"].equals(payable)
        expected = pricing.round_cents(rows[total][payable] * rows["conversion_factor"][payable])
        assert np.array_equal(priced.loc[payable, "medicare_usd"].to_numpy(), expected)
        assert priced.loc[~payable, "medicare_usd"].isna().all()
        assert payable.sum() > 100


# ------------------------------------------------------------------ RVU file


def test_bundled_extract_is_read_with_explicit_names():
    rvu = pricing.load_rvu()
    assert rvu.attrs["year"] == 2025 and rvu.attrs["released"] == "09/11/2025"
    assert len(rvu.columns) == 32  # 31 file columns + source_row
    r = rvu.loc[rvu["cpt_code"].eq("76377")].set_index("modifier")
    assert r.loc["", ["work_rvu", "pe_rvu_non_facility", "mp_rvu"]].tolist() == [0.79, 1.53, 0.06]
    assert r.loc["TC", ["work_rvu", "pe_rvu_non_facility", "mp_rvu"]].tolist() == [0.0, 1.24, 0.02]
    assert r["facility_na"].tolist() == [True, False, True]
    assert not r["non_facility_na"].any()
    assert r["supervision"].tolist() == ["09", "09", "03"]  # leading zeros kept
    assert r["imaging_family"].eq("99").all() and r["mult_proc"].eq("0").all()
    assert r["conversion_factor"].eq(32.3465).all()
    assert r["source_row"].tolist() == [362, 363, 364]  # lines in the file
    t = rvu.loc[rvu["cpt_code"].eq("76376")].set_index("modifier")
    assert t.loc["TC", "supervision"] == "01" and t.loc["", "total_rvu_non_facility"] == 0.77


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"])
@pytest.mark.parametrize("bom", [False, True])
def test_rvu_bom_and_line_ends(tmp_path, eol, bom):
    base = pricing.load_rvu()
    copy = pricing.load_rvu(write(tmp_path, rvu_lines(), eol=eol, bom=bom))
    pd.testing.assert_frame_equal(copy, base)


def test_rvu_header_found_wherever_it_is(tmp_path):
    # The five label rows (lines 6-10) name the columns; the title lines may go.
    lines = rvu_lines()
    no_title = pricing.load_rvu(write(tmp_path, lines[HEADER_LINES - 5 :], name="a.csv"))
    more_title = pricing.load_rvu(write(tmp_path, ["Extra banner,,,", *lines], name="b.csv"))
    for copy in (no_title, more_title):
        pd.testing.assert_frame_equal(
            copy.drop(columns="source_row"), pricing.load_rvu().drop(columns="source_row")
        )
    assert no_title["source_row"].iloc[0] == 6 and more_title["source_row"].iloc[0] == 12
    assert no_title.attrs["year"] is None  # no title line to read the year from
    # The header row alone repeats RVU and PE RVU: it cannot name the columns.
    with pytest.raises(InputError, match="same heading as column 7") as err:
        pricing.load_rvu(write(tmp_path, lines[HEADER_LINES - 1 :], name="c.csv"))
    assert (err.value.row, err.value.column, err.value.value) == (1, "9", "PE RVU")


def test_rvu_32nd_column_appended(tmp_path):
    lines = rvu_lines()
    labels = {HEADER_LINES - 2: "NEW", HEADER_LINES - 1: "FLAG"}
    out = [
        edit_cells(line, lambda c, i=i: [*c, labels.get(i, "") if i < HEADER_LINES else "7"])
        for i, line in enumerate(lines)
    ]
    copy = pricing.load_rvu(write(tmp_path, out))
    assert "new_flag" in copy.columns and copy["new_flag"].eq("7").all()
    pd.testing.assert_frame_equal(copy.drop(columns="new_flag"), pricing.load_rvu())


def test_rvu_32nd_column_inserted_in_the_middle(tmp_path):
    # A column inserted after TEAM SURG (index 22) shifts ENDO BASE, CONV FACTOR, ...
    lines = rvu_lines()
    labels = {HEADER_LINES - 2: "PRIC", HEADER_LINES - 1: "IND"}

    def insert(cells, i):
        value = labels.get(i, "") if i < HEADER_LINES else "9"
        return [*cells[:23], value, *cells[23:]]

    out = [edit_cells(line, lambda c, i=i: insert(c, i)) for i, line in enumerate(lines)]
    copy = pricing.load_rvu(write(tmp_path, out))
    assert list(copy.columns).index("pric_ind") == 23
    pd.testing.assert_frame_equal(copy.drop(columns="pric_ind"), pricing.load_rvu())
    assert usd(nc_lines("76377"), rvu=copy) == [72.67, 35.10, 37.57]


def test_rvu_missing_required_column(tmp_path):
    out = [edit_cells(line, lambda c: c[:-1]) for line in rvu_lines()]  # no MP USED FOR OPPS
    with pytest.raises(
        InputError, match="required column 'MP USED FOR OPPS PAYMENT AMOUNT' not found"
    ) as err:
        pricing.load_rvu(write(tmp_path, out))
    assert err.value.row == HEADER_LINES and err.value.file.endswith("copy.csv")
    assert err.value.column == "MP USED FOR OPPS PAYMENT AMOUNT"


def test_rvu_unknown_extra_columns_are_kept_last(tmp_path):
    # 33 columns: two headed columns rad3d does not know (every label row says X / Y).
    out = [edit_cells(line, lambda c: [*c, "x", "y"]) for line in rvu_lines()]
    copy = pricing.load_rvu(write(tmp_path, out))
    assert list(copy.columns[-3:]) == ["x_x_x_x_x", "y_y_y_y_y", "source_row"]
    pd.testing.assert_frame_equal(
        copy.drop(columns=["x_x_x_x_x", "y_y_y_y_y"]), pricing.load_rvu()
    )


def test_rvu_missing_header(tmp_path):
    lines = rvu_lines()
    del lines[HEADER_LINES - 1]
    with pytest.raises(InputError, match="no header row with the column labels HCPCS and MOD"):
        pricing.load_rvu(write(tmp_path, lines))


def test_rvu_unexpected_labels(tmp_path):
    # Two header-row labels swapped (columns 6 and 7 only on line 10): the headings read
    # down the label rows become "WORK PE RVU" and "NON-FAC RVU", which name no column.
    lines = rvu_lines()
    lines[HEADER_LINES - 1] = edit_cells(
        lines[HEADER_LINES - 1], lambda c: [*c[:5], c[6], c[5], *c[7:]]
    )
    with pytest.raises(InputError, match="required column 'WORK RVU' not found") as err:
        pricing.load_rvu(write(tmp_path, lines))
    assert err.value.row == HEADER_LINES and err.value.column == "WORK RVU"
    assert err.value.value == "WORK PE RVU, NON-FAC RVU"


def test_rvu_malformed_data_rows(tmp_path):
    lines = rvu_lines()
    short = lines.copy()
    short[HEADER_LINES + 4] = edit_cells(short[HEADER_LINES + 4], lambda c: c[:-1])
    with pytest.raises(InputError, match="30 fields") as err:
        pricing.load_rvu(write(tmp_path, short, name="short.csv"))
    assert err.value.row == HEADER_LINES + 5  # 1-based line in the file

    text = lines.copy()
    text[HEADER_LINES + 2] = edit_cells(text[HEADER_LINES + 2], lambda c: [*c[:5], "1,48", *c[6:]])
    with pytest.raises(InputError, match="not a number") as err:
        pricing.load_rvu(write(tmp_path, text, name="text.csv"))
    assert (err.value.row, err.value.column, err.value.value) == (
        HEADER_LINES + 3,
        "work_rvu",
        "1,48",
    )

    dup = [*lines, lines[HEADER_LINES]]
    with pytest.raises(InputError, match="appear twice") as err:
        pricing.load_rvu(write(tmp_path, dup, name="dup.csv"))
    assert err.value.row == len(dup) and err.value.value == "70336"

    bad_code = lines.copy()
    bad_code[HEADER_LINES] = edit_cells(bad_code[HEADER_LINES], lambda c: ["7033", *c[1:]])
    with pytest.raises(InputError, match="5-character"):
        pricing.load_rvu(write(tmp_path, bad_code, name="code.csv"))

    na = lines.copy()
    na[HEADER_LINES] = edit_cells(na[HEADER_LINES], lambda c: [*c[:9], "N/A", *c[10:]])
    with pytest.raises(InputError, match="NA indicator") as err:
        pricing.load_rvu(write(tmp_path, na, name="na.csv"))
    assert err.value.column == "facility_na"


def test_rvu_trailing_empty_cells_and_blank_lines_are_tolerated(tmp_path):
    lines = rvu_lines()
    out = [*lines[:HEADER_LINES], *(line + ",," for line in lines[HEADER_LINES:]), ",,,", ""]
    pd.testing.assert_frame_equal(
        pricing.load_rvu(write(tmp_path, out)), pricing.load_rvu(), check_exact=True
    )


def test_rvu_missing_file_and_empty_file(tmp_path):
    with pytest.raises(InputError, match="file not found") as err:
        pricing.load_rvu(tmp_path / "nope.csv")
    assert err.value.file.endswith("nope.csv")
    with pytest.raises(InputError, match="no data rows"):
        pricing.load_rvu(write(tmp_path, rvu_lines()[:HEADER_LINES]))


def test_rvu_reads_a_full_size_file(tmp_path):
    # The real file has ~19,100 rows; mimic it with the extract's rows repeated under
    # 49 renamed code sets (e.g. "A1" + last three digits of the row's code index).
    lines = rvu_lines()
    data = lines[HEADER_LINES:]
    codes = sorted({line.split(",", 1)[0] for line in data})
    number = {c: i for i, c in enumerate(codes)}
    out = [*lines]
    for k in range(1, 50):
        prefix = f"{chr(65 + k % 26)}{k // 26}"
        out += [
            edit_cells(line, lambda c, p=prefix: [f"{p}{number[c[0]]:03d}", *c[1:]])
            for line in data
        ]
    start = time.perf_counter()
    rvu = pricing.load_rvu(write(tmp_path, out))
    seconds = time.perf_counter() - start
    assert len(rvu) == 50 * len(data) > 18_000
    assert seconds < 10
    real = rvu.loc[rvu["cpt_code"].eq("76377"), "work_rvu"].tolist()
    assert real == [0.79, 0.79, 0.0]
    assert usd(nc_lines("76377"), rvu=rvu) == [72.67, 35.10, 37.57]


# ------------------------------------------------ 2026 file and prices by year


def test_2026_national_amounts_are_the_published_ones():
    # CMS, CY 2026 PFS (RVU26C), national amounts = (work + PE + MP RVU) x CF, GPCIs 1.0:
    # 76376: 0.76 x 33.4009 = 25.3847 -> $25.38; 76377: 2.36 x 33.4009 = 78.8261 -> $78.83.
    # Qualifying APM participants: 0.76 x 33.5675 = 25.5113 -> $25.51; 2.36 x 33.5675 =
    # 79.2193 -> $79.22.
    lines = pd.DataFrame({"cpt_code": ["76376", "76377"], "state": "US", "year": 2026})
    assert pricing.price(lines, *BUNDLED)["medicare_usd"].tolist() == [25.38, 78.83]
    qp = pricing.price(lines, *BUNDLED, qualifying_apm=True)
    assert qp["medicare_usd"].tolist() == [25.51, 79.22]
    assert qp["conversion_factor"].eq(33.5675).all() and qp["rvu_vintage"].eq(2026).all()


def test_2026_file_is_read_with_its_32_columns():
    rvu = pricing.load_rvu(year=2026)
    assert rvu.attrs["year"] == 2026 and rvu.attrs["released"] == "06/30/2026"
    assert len(rvu.columns) == 33  # 32 file columns + source_row
    assert list(rvu.columns).index("pric_ind") == list(rvu.columns).index("team_surgery") + 1
    # The rows of FACTS.md / the file's README [V]:
    r = rvu.loc[rvu["cpt_code"].eq("76377")].set_index("modifier")
    assert r.loc["", ["work_rvu", "pe_rvu_non_facility", "mp_rvu"]].tolist() == [0.77, 1.52, 0.07]
    assert r.loc["26", ["work_rvu", "pe_rvu_facility", "mp_rvu"]].tolist() == [0.77, 0.29, 0.05]
    assert r.loc["TC", "total_rvu_non_facility"] == 1.25 and r.loc["TC", "supervision"] == "03"
    t = rvu.loc[rvu["cpt_code"].eq("76376")].set_index("modifier")
    assert t["total_rvu_non_facility"].tolist() == [0.76, 0.28, 0.48]
    assert rvu["conversion_factor"].eq(33.4009).all()  # CONV FACTOR, one column further right
    assert rvu["imaging_family"].isin(["88", "99"]).all() and rvu["pric_ind"].eq("9").all()


def test_every_payable_2026_row_matches_the_files_own_total_rvus():
    # Reference: the 2026 file's own TOTAL columns x its CONV FACTOR (33.4009), nationally.
    rvu = pricing.load_rvu(year=2026)
    rows = rvu.loc[rvu["modifier"].isin(["", "26", "TC"])]
    lines = pd.DataFrame({
        "cpt_code": rows["cpt_code"], "component": rows["modifier"].replace({"": "global"}),
        "setting": "non_facility", "state": "US", "year": 2026,
    })  # fmt: skip
    priced = pricing.price(lines, *BUNDLED)
    payable = rows["status_code"].isin(["A", "R", "T"]) & ~rows["non_facility_na"]
    expected = pricing.round_cents(rows["total_rvu_non_facility"][payable] * 33.4009)
    assert np.array_equal(priced.loc[payable, "medicare_usd"].to_numpy(), expected)
    assert payable.sum() > 250


def test_2026_file_is_read_by_heading_not_position(tmp_path):
    # The same file with its 32 columns in reverse order (label rows and data alike)
    # reads to the same table and the same prices.
    lines = rvu_lines(RVU_2026_PATH)
    out = [*lines[: HEADER_LINES - 5], *(edit_cells(x, lambda c: c[::-1]) for x in lines[5:])]
    copy = pricing.load_rvu(write(tmp_path, out, name="reversed.csv"))
    original = pricing.load_rvu(year=2026)
    pd.testing.assert_frame_equal(copy, original, check_exact=True)
    one = pd.DataFrame({"cpt_code": ["76376", "76377"], "state": "US", "year": 2026})
    assert usd(one, rvu=copy) == usd(one, rvu=original) == [25.38, 78.83]
    # ... and a file whose work RVU heading is missing fails naming file, row and column.
    broken = [*out]
    broken[HEADER_LINES - 1] = edit_cells(
        broken[HEADER_LINES - 1], lambda c: [("WRVU" if x == "RVU" and i == 26 else x)
                                             for i, x in enumerate(c)]
    )  # fmt: skip
    with pytest.raises(InputError, match="required column 'WORK RVU' not found") as err:
        pricing.load_rvu(write(tmp_path, broken, name="broken.csv"))
    assert err.value.file.endswith("broken.csv") and err.value.row == HEADER_LINES
    assert err.value.column == "WORK RVU" and err.value.value == "WORK WRVU"


def test_lines_are_priced_with_the_files_of_their_year():
    # NC 76376 global non-facility (GPCIs 1.0 / 0.926 / 0.665):
    # 2024-06-01: 2025 RVUs (no earlier file) x 2024 CF:
    #   (0.20 + 0.55*0.926 + 0.02*0.665) * 33.2875 = 0.72260 * 33.2875 = 24.0535 -> 24.05
    # 2025-06-01: (0.72260) * 32.3465 = 23.3734 -> 23.37 (published)
    # 2026-06-01: 2026 RVUs, 2025 GPCIs: (0.20 + 0.54*0.926 + 0.02*0.665) * 33.4009
    #   = 0.71334 * 33.4009 = 23.8262 -> 23.83
    lines = pd.DataFrame({
        "cpt_code": "76376", "component": "global", "setting": "non_facility", "state": "NC",
        "service_date": pd.to_datetime(["2026-06-01", "2024-06-01", "2025-06-01"]),
    }, index=[10, 5, 7])  # fmt: skip
    priced = pricing.price(lines, *BUNDLED)
    assert list(priced.index) == [10, 5, 7]
    assert priced["medicare_usd"].tolist() == [23.83, 24.05, 23.37]
    assert priced["rvu_vintage"].tolist() == [2026, 2025, 2025]
    assert priced["gpci_vintage"].tolist() == [2025, 2025, 2025]
    assert priced["note"].tolist() == [
        "GPCIs of the 2025 file (no 2026 GPCI file given)",
        "RVUs of the 2025 file priced with the 2024 conversion factor; "
        "GPCIs of the 2025 file (no 2024 GPCI file given)",
        "",
    ]
    # The example: 76376-26, facility, 2024-06-01:
    # (0.20 + 0.07*0.926 + 0.01*0.665) * 33.2875 = 0.27147 * 33.2875 = 9.0365 -> $9.04.
    one = pd.DataFrame({"cpt_code": ["76376"], "component": "26", "setting": "facility",
                        "state": "NC", "service_date": pd.Timestamp("2024-06-01")})  # fmt: skip
    assert usd(one) == [9.04]


def test_a_users_gpci_file_of_another_year_joins_the_schedule(tmp_path):
    # A "2026" GPCI table: the 2025 copy relabelled, North Carolina's PE GPCI set to 1.000.
    lines = gpci_lines()
    lines[2] = lines[2].replace("2025", "2026")
    lines = [x.replace("NORTH CAROLINA,1,0.926", "NORTH CAROLINA,1,1.000") for x in lines]
    gpci_2026 = pricing.load_gpci(write(tmp_path, lines, name="GPCI2026.csv"))
    schedule = pricing.fee_schedule(gpci=[gpci_2026])
    assert pricing.vintages(schedule.gpci) == (2025, 2026)
    # 2026 NC 76376 global: (0.20 + 0.54*1.000 + 0.02*0.665) * 33.4009 = 0.7533 * 33.4009
    # = 25.1609 -> 25.16; the 2025 line keeps the 2025 GPCIs ($23.37).
    both = pd.DataFrame({"cpt_code": "76376", "state": "NC", "year": [2026, 2025]})
    priced = pricing.price(both, *schedule)
    assert priced["medicare_usd"].tolist() == [25.16, 23.37]
    assert priced["gpci_vintage"].tolist() == [2026, 2025] and priced["note"].eq("").all()
    nameless = gpci_2026.copy()
    nameless.attrs = {"source": "x.csv", "year": None}
    with pytest.raises(InputError, match="names no year"):
        pricing.fee_schedule(gpci=[nameless])
    with pytest.raises(InputError, match="no bundled GPCI file for this year"):
        pricing.load_gpci(year=2026)


def test_a_single_file_prices_every_year_and_says_so():
    # A table from load_rvu (one file) is used whatever the year, as before 2026 was shipped.
    lines = pd.DataFrame({"cpt_code": ["76377"], "state": "US", "year": 2026})
    priced = pricing.price(lines, pricing.load_rvu(), pricing.load_gpci())
    # 2.38 (2025 RVUs) x 33.4009 = 79.4941 -> 79.49
    assert priced["medicare_usd"].tolist() == [79.49]
    assert priced["note"].tolist() == [
        "RVUs of the 2025 file priced with the 2026 conversion factor"
    ]


def test_cli_fees_2026_national_and_qp(capsys):
    def global_row(argv):
        assert main(argv) == 0
        out = capsys.readouterr().out
        return next(x.split() for x in out.splitlines() if x.startswith("global")), out

    for code, amount, qp_amount in (("76376", "$25.38", "$25.51"), ("76377", "$78.83", "$79.22")):
        row, out = global_row(["fees", "--code", code, "--year", "2026", "--national"])
        assert row[-2:] == [amount, "NA"] and "$33.4009" in out and "(2026 file)" in out
        row, out = global_row(["fees", "--code", code, "--year", "2026", "--national", "--qp"])
        assert row[-2:] == [qp_amount, "NA"] and "$33.5675" in out and "qualifying APM" in out
    _, out = global_row(["fees", "--code", "76376", "--year", "2026", "--state", "NC"])
    assert "$23.83" in out and "Note: GPCIs of the 2025 file (no 2026 GPCI file given)" in out


# ------------------------------------------------------------------ GPCI file


def _independent_zero_losses() -> int:
    """Count MAC numbers shorter than 5 and locality numbers shorter than 2 digits."""
    rows = list(csv.reader(gpci_lines()[3:]))
    return sum(len(r[0]) < 5 for r in rows if r[1]) + sum(len(r[2]) < 2 for r in rows if r[1])


def test_gpci_bundled_real_copy_is_repaired():
    gpci = pricing.load_gpci()
    assert len(gpci) == 109 and gpci.attrs["year"] == 2025
    nc = gpci.loc[gpci["state"].eq("NC")].iloc[0]
    assert (nc["mac"], nc["locality"], nc["gpci_work"], nc["gpci_pe"], nc["gpci_mp"]) == (
        "11502", "00", 1.0, 0.926, 0.665,
    )  # fmt: skip
    bakersfield = gpci.loc[gpci["locality_name"].eq("BAKERSFIELD")].iloc[0]
    assert (bakersfield["mac"], bakersfield["locality"]) == ("01112", "54")  # from 1112, 54
    assert gpci["mac"].str.fullmatch(r"\d{5}").all()
    assert gpci["locality"].str.fullmatch(r"\d{2}").all()
    repairs = pricing.gpci_repairs(gpci)
    assert len(repairs) == gpci.attrs["n_repairs"] == _independent_zero_losses() > 100
    as_rows = repairs.values.tolist()
    assert [7, "mac", "7102", "07102"] in as_rows  # Arkansas
    assert [4, "locality", "0", "00"] in as_rows  # Alabama
    assert [4, "mac", "10112", "10112"] not in as_rows  # five digits: nothing to repair
    assert len(gpci.attrs["notes"]) == 3 and gpci.attrs["notes"][0].startswith("MAC Assignments")


def test_gpci_clean_copy_reads_the_same_without_repairs(tmp_path):
    lines = gpci_lines()
    clean = [
        *lines[:3],
        *(
            edit_cells(line, lambda c: [c[0].zfill(5), c[1], c[2].zfill(2), *c[3:]])
            if next(csv.reader([line]))[1] else line
            for line in lines[3:]
        ),
    ]  # fmt: skip
    copy = pricing.load_gpci(write(tmp_path, clean))
    assert copy.attrs["n_repairs"] == 0 and pricing.gpci_repairs(copy).empty
    as_read = ["mac_as_read", "locality_as_read"]
    pd.testing.assert_frame_equal(
        copy.drop(columns=as_read), pricing.load_gpci().drop(columns=as_read)
    )


@pytest.mark.parametrize("eol", ["\r\n", "\n"])
@pytest.mark.parametrize("bom", [False, True])
def test_gpci_bom_line_ends(tmp_path, eol, bom):
    pd.testing.assert_frame_equal(
        pricing.load_gpci(write(tmp_path, gpci_lines(), eol=eol, bom=bom)), pricing.load_gpci()
    )


def test_gpci_without_title_blank_line_or_footer(tmp_path):
    lines = gpci_lines()
    bare = lines[2:-4]  # header first, no footer notes
    copy = pricing.load_gpci(write(tmp_path, bare))
    assert copy.attrs["notes"] == ()
    pd.testing.assert_frame_equal(
        copy.drop(columns="source_row"), pricing.load_gpci().drop(columns="source_row")
    )


def test_gpci_spreadsheet_float_numbers(tmp_path):
    lines = gpci_lines()
    lines[3] = "10112.0,AL,0.0,ALABAMA,1,0.869,0.575"
    gpci = pricing.load_gpci(write(tmp_path, lines))
    assert gpci.iloc[0][["mac", "locality"]].tolist() == ["10112", "00"]
    assert pricing.gpci_repairs(gpci).head(2).values.tolist() == [
        [4, "locality", "0.0", "00"],
        [4, "mac", "10112.0", "10112"],
    ]


@pytest.mark.parametrize(
    ("row", "replacement", "column", "message"),
    [
        (4, "10112,AL,0,ALABAMA,1,n/a,0.575", "2025 PE GPCI", "positive number"),
        (4, "10112,AL,0,ALABAMA,1,0,0.575", "2025 PE GPCI", "positive number"),
        (
            4,
            "101120,AL,0,ALABAMA,1,0.869,0.575",
            "Medicare Administrative Contractor (MAC)",
            "5-digit",
        ),
        (4, "10112,AL,100,ALABAMA,1,0.869,0.575", "Locality Number", "2-digit"),
        (4, "10112,Alabama,0,ALABAMA,1,0.869,0.575", "State", "2-letter state"),
        (5, "10112,AL,0,ALABAMA AGAIN,1,0.869,0.575", "Locality Number", "appear twice"),
    ],
)
def test_gpci_malformed_rows(tmp_path, row, replacement, column, message):
    lines = gpci_lines()
    lines[row - 1] = replacement
    with pytest.raises(InputError, match=message) as err:
        pricing.load_gpci(write(tmp_path, lines))
    assert err.value.row == row and err.value.column == column


def test_gpci_missing_header_or_file(tmp_path):
    lines = gpci_lines()
    del lines[2]
    with pytest.raises(InputError, match="no header row"):
        pricing.load_gpci(write(tmp_path, lines))
    with pytest.raises(InputError, match="file not found"):
        pricing.load_gpci(tmp_path / "missing.csv")


# -------------------------------------------------------- conversion factors


def test_conversion_factor_2024_change_on_march_9():
    assert pricing.conversion_factor("2024-03-08") == 32.7442
    assert pricing.conversion_factor("2024-03-09") == 33.2875
    days = ["2022-05-01", "2023-12-31", "2024-03-08", "2024-03-09", "2025-01-01", "2026-12-31"]
    dates = pd.Series(pd.to_datetime(days), index=list("abcdef"))
    cf = pricing.conversion_factor(dates)
    assert cf.tolist() == [34.6062, 33.8872, 32.7442, 33.2875, 32.3465, 33.4009]
    assert list(cf.index) == list("abcdef")


def test_conversion_factor_2026_apm_and_years():
    assert pricing.conversion_factor(2026) == 33.4009
    assert pricing.conversion_factor(2026, qualifying_apm=True) == 33.5675
    assert pricing.conversion_factor(2025, qualifying_apm=True) == 32.3465  # one CF before 2026
    assert pricing.conversion_factor("2024") == 33.2875  # a year stands for 1 July
    assert pricing.conversion_factors()["source"].str.len().gt(10).all()


@pytest.mark.parametrize("bad", ["2021-12-31", "2027-01-01", 2021, "not a date", None])
def test_conversion_factor_outside_known_years(bad):
    with pytest.raises(InputError):
        pricing.conversion_factor(bad)


def test_price_uses_the_cf_of_the_service_date():
    # NC 76377 global: 2.24668 GPCI-adjusted RVUs (see above)
    # x 32.7442 = 73.5657 -> 73.57 on 2024-03-08; x 33.2875 = 74.7864 -> 74.79 on 2024-03-09.
    lines = pd.DataFrame({
        "cpt_code": "76377", "component": "global", "setting": "non_facility", "state": "NC",
        "service_date": pd.to_datetime(["2024-03-08", "2024-03-09"]),
    })  # fmt: skip
    priced = pricing.price(lines, *BUNDLED)
    assert priced["medicare_usd"].tolist() == [73.57, 74.79]
    assert priced["note"].str.contains("RVUs of the 2025 file").all()


# ------------------------------------------------------ MACs and localities


def test_mac_jurisdictions():
    assert pricing.mac_jurisdiction("11502") == "JM"  # North Carolina, Palmetto
    assert pricing.mac_jurisdiction(4412) == "JH"  # Texas, Novitas, lost its leading zero
    assert pricing.mac_jurisdiction("07102") == "JH"  # Arkansas, Novitas
    assert pricing.mac_jurisdiction("12502") == "JL"  # Pennsylvania, Novitas
    assert pricing.mac_jurisdiction("9102.0") == "JN"  # Florida, First Coast
    s = pd.Series(["1112", None, "13202"], index=[5, 6, 7])
    assert pricing.mac_jurisdiction(s).tolist() == ["JE", pd.NA, "JK"]
    for bad in ("99999", "abc", "123456"):
        with pytest.raises(InputError):
            pricing.mac_jurisdiction(bad)


def test_every_gpci_mac_has_a_jurisdiction_and_the_states_agree():
    gpci = pricing.load_gpci()
    table = pricing.mac_jurisdictions().set_index("mac_prefix")
    assert pricing.mac_jurisdiction(gpci["mac"]).notna().all()
    for prefix, states in gpci.groupby(gpci["mac"].str[:2])["state"]:
        listed = {s.strip() for s in table.loc[prefix, "states"].split("(")[0].split(",")}
        assert set(states) - {"GU", "AS", "MP"} == listed - {""}, prefix


def test_state_locality():
    nc = pricing.state_locality("nc")
    assert nc[["mac", "locality", "jurisdiction", "gpci_pe"]].tolist() == [
        "11502",
        "00",
        "JM",
        0.926,
    ]
    la = pricing.state_locality("CA", locality=18)
    assert (la["mac"], la["locality_name"]) == (
        "01182",
        "LOS ANGELES-LONG BEACH-ANAHEIM (LOS ANGELES/ORANGE CNTY)",
    )
    assert pricing.state_locality("FL", locality="4")["gpci_mp"] == 2.5  # Miami
    us = pricing.state_locality("US")
    assert us[["gpci_work", "gpci_pe", "gpci_mp"]].tolist() == [1.0, 1.0, 1.0] and pd.isna(
        us["mac"]
    )
    with pytest.raises(InputError, match="CA has 29 payment localities"):
        pricing.state_locality("CA")
    with pytest.raises(InputError, match="no such locality"):
        pricing.state_locality("NC", locality="05")
    with pytest.raises(InputError, match="no payment locality"):
        pricing.state_locality("ZZ")


# ------------------------------------------------- components and settings


def test_component_from_modifiers():
    mods = pd.Series(["26", "TC", "26 59", "59,TC", None, "", "59", "tc", "26.0", "2659",
                      "59;26", " TC ", "XU|TC", "QW"], index=range(10, 24))  # fmt: skip
    got = pricing.component_from_modifiers(mods)
    assert got.tolist() == ["26", "TC", "26", "TC", "global", "global", "global", "TC", "26",
                            "26", "26", "TC", "TC", "global"]  # fmt: skip
    assert list(got.index) == list(range(10, 24))
    odd = pd.Series(["526", "1TC"])
    assert pricing.component_from_modifiers(odd).tolist() == ["global", "global"]


def test_component_26_and_tc_together():
    mods = pd.Series(["26", "26 TC"])
    with pytest.raises(InputError, match="26 and TC together") as err:
        pricing.component_from_modifiers(mods)
    assert err.value.value == "26 TC"
    assert pricing.component_from_modifiers(mods, errors="coerce").isna().tolist() == [False, True]


MODIFIERS = st.sampled_from(["59", "XU", "76", "77", "GA", "LT", "RT", "91", "QW"])
SEPARATORS = st.sampled_from([" ", ",", ", ", ";", "|", "/", "+"])


@given(st.lists(MODIFIERS, max_size=3), st.sampled_from(["26", "TC", None]), SEPARATORS,
       st.integers(0, 3), st.booleans())  # fmt: skip
def test_component_ignores_other_modifiers_order_and_case(others, component, sep, at, lower):
    tokens = list(others)
    if component:
        tokens.insert(min(at, len(tokens)), component)
    text = sep.join(tokens)
    text = text.lower() if lower else text
    got = pricing.component_from_modifiers(pd.Series([text])).iloc[0]
    assert got == (component or "global")


def test_setting_from_pos():
    pos = pd.Series(["11", "22", "19", "21", "23", "24", "2", "02", "10", "81", None, "",
                     "22.0", " 23 "])  # fmt: skip
    assert pricing.setting_from_pos(pos).tolist() == [
        "non_facility", "facility", "facility", "facility", "facility", "facility", "facility",
        "facility", "non_facility", "non_facility", "non_facility", "non_facility", "facility",
        "facility",
    ]  # fmt: skip
    with pytest.raises(InputError, match="place of service") as err:
        pricing.setting_from_pos(pd.Series(["11", "OFFICE"]))
    assert err.value.value == "OFFICE"
    assert pricing.setting_from_pos(pd.Series(["X1"]), errors="coerce").isna().all()
    listed = pricing.facility_places_of_service()
    assert {"19", "21", "22", "23"} <= set(listed["pos"]) and listed["source"].notna().all()


# -------------------------------------------------------------------- price


def test_facility_global_and_tc_are_not_payable():
    priced = pricing.price(nc_lines("76376", setting="facility"), *BUNDLED)
    assert priced["payable"].tolist() == [False, True, False]
    assert priced["medicare_usd"].isna().tolist() == [True, False, True]
    # -26 in a facility: facility PE RVU 0.07 = non-facility, so the same $8.78.
    assert priced.loc[1, "medicare_usd"] == 8.78
    assert priced.loc[0, "note"].startswith("not payable under the PFS in a facility")
    assert priced.loc[1, "note"] == ""


def test_price_keeps_the_index_and_reads_modifiers_and_pos():
    lines = pd.DataFrame(
        {"cpt_code": ["76377.0", " 76376", "76377"], "modifiers": ["26 59", None, "TC"],
         "place_of_service": ["22", "11", "2"], "state": ["NC", "us", "NC"],
         "service_date": ["2025-02-01", "2025-02-01", "2025-02-01"]},
        index=pd.Index(["x", "y", "z"], name="line"),
    )  # fmt: skip
    priced = pricing.price(lines, *BUNDLED)
    assert list(priced.index) == ["x", "y", "z"] and priced.index.name == "line"
    assert priced["component"].tolist() == ["26", "global", "TC"]
    assert priced["setting"].tolist() == ["facility", "non_facility", "facility"]
    # -26 in a hospital: $35.10; national global office: $24.91; TC at POS 02: not payable.
    assert priced["medicare_usd"].tolist()[:2] == [35.10, 24.91]
    assert not priced.loc["z", "payable"]


def test_price_by_mac_and_locality_or_state_and_locality():
    # Los Angeles (MAC 01182, locality 18): GPCI 1.042 / 1.194 / 0.690.
    # 76377 -26: (0.79*1.042 + 0.29*1.194 + 0.04*0.690) * 32.3465
    #          = (0.82318 + 0.34626 + 0.0276) * 32.3465 = 1.19704 * 32.3465 = 38.7201 -> 38.72
    by_mac = pd.DataFrame({"cpt_code": ["76377"], "component": ["26"], "mac": ["1182"],
                           "locality": [18], "year": [2025]})  # fmt: skip
    by_state = pd.DataFrame({"cpt_code": ["76377"], "component": ["26"], "state": ["CA"],
                             "locality": ["18"], "year": [2025]})  # fmt: skip
    for lines in (by_mac, by_state):
        priced = pricing.price(lines, *BUNDLED)
        assert priced["medicare_usd"].tolist() == [38.72]
        assert priced[["mac", "locality"]].iloc[0].tolist() == ["01182", "18"]


def test_price_user_errors():
    base = {"cpt_code": ["76377"], "component": ["26"], "year": [2025]}
    with pytest.raises(InputError, match="several payment localities"):
        pricing.price(pd.DataFrame({**base, "state": ["CA"]}), *BUNDLED)
    with pytest.raises(InputError, match="no payment locality") as err:
        pricing.price(pd.DataFrame({**base, "state": ["XX"]}), *BUNDLED)
    assert err.value.value == "XX"
    with pytest.raises(InputError, match="missing state"):
        pricing.price(pd.DataFrame({**base, "state": [None]}), *BUNDLED)
    with pytest.raises(InputError, match="component must be"):
        pricing.price(pd.DataFrame({**base, "state": ["NC"], "component": ["PC"]}), *BUNDLED)
    with pytest.raises(InputError, match="setting must be"):
        pricing.price(pd.DataFrame({**base, "state": ["NC"], "setting": ["home"]}), *BUNDLED)
    with pytest.raises(InputError, match="service_date or year"):
        pricing.price(pd.DataFrame({"cpt_code": ["76377"], "state": ["NC"]}), *BUNDLED)
    with pytest.raises(InputError, match="no Medicare PFS conversion factor"):
        pricing.price(pd.DataFrame({**base, "state": ["NC"], "year": [2019]}), *BUNDLED)
    with pytest.raises(InputError, match="no such MAC and locality"):
        pricing.price(pd.DataFrame({**base, "mac": ["11502"], "locality": ["07"]}), *BUNDLED)


def test_price_codes_not_payable_or_not_in_the_file():
    lines = pd.DataFrame({"cpt_code": ["99999", "70557", "71555", None], "state": "US",
                          "year": 2025})  # fmt: skip
    priced = pricing.price(lines, *BUNDLED)
    assert priced["payable"].tolist() == [False, False, True, False]
    assert priced["note"].tolist()[0] == pricing.NOTE_NOT_IN_FILE
    assert priced["note"].tolist()[1].startswith("status code C")  # carrier-priced
    # 71555 has status R (restricted coverage), which is paid under the PFS.
    assert priced["note"].tolist()[3] == "missing CPT code"


def test_round_cents_half_up():
    # 2.675 is 2.67499999999999982236431605997495353221893310546875 in binary;
    # CMS-style half-up rounding gives 2.68 (Python's round() gives 2.67).
    assert pricing.round_cents([2.675, 0.125, 23.37358, 8.78095, 0.0]).tolist() == [
        2.68, 0.13, 23.37, 8.78, 0.0,
    ]  # fmt: skip


# ---------------------------------------------------------------------- CLI


def test_cli_fees_north_carolina(capsys):
    assert main(["fees", "--code", "76377", "--state", "NC", "--year", "2025"]) == 0
    out = capsys.readouterr().out
    rows = {
        cells[0]: cells
        for cells in map(str.split, out.splitlines())
        if cells and cells[0] in ("global", "-26", "-TC")
    }
    assert rows["global"][-2:] == ["$72.67", "NA"]
    assert rows["-26"][-2:] == ["$35.10", "$35.10"]
    assert rows["-TC"][-2:] == ["$37.57", "NA"]
    assert "$32.3465" in out and "PE 0.926" in out and "MAC 11502" in out and "JM" in out
    assert "NA: not payable under the PFS in a facility" in out


def test_cli_fees_national_and_2024_date(capsys):
    assert main(["fees", "--code", "76376", "--year", "2025"]) == 0
    out = capsys.readouterr().out
    assert "$24.91" in out and "national" in out
    assert main(["fees", "--code", "76376"]) == 0  # default: the latest RVU file, 2026
    out = capsys.readouterr().out
    assert "$25.38" in out and "(2026 file)" in out
    assert main(["fees", "--code", "76377", "--state", "NC", "--date", "2024-03-08"]) == 0
    assert "$73.57" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["fees", "--code", "99999", "--state", "NC"], "value '99999'"),
        (["fees", "--code", "76377", "--state", "CA"], "CA has 29 payment localities; give one"),
        (["fees", "--code", "76377", "--year", "2019"], "no Medicare PFS conversion factor"),
        (["fees", "--code", "76377", "--rvu", "missing.csv"], "missing.csv: file not found"),
    ],
)
def test_cli_fees_errors_are_one_line_exit_2(capsys, argv, expected):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and expected in err
    assert err.startswith("rad3d fees: error:") and "Traceback" not in err


def test_cli_fees_malformed_file(tmp_path, capsys):
    lines = rvu_lines()
    del lines[HEADER_LINES - 1]
    path = write(tmp_path, lines, name="broken.csv")
    assert main(["fees", "--code", "76377", "--rvu", str(path)]) == 2
    err = capsys.readouterr().err
    assert "broken.csv" in err and "no header row" in err and len(err.strip().splitlines()) == 1


def test_facility_setting_uses_the_facility_pe_rvu():
    # 76377-26 has equal facility and non-facility PE RVUs (0.29) in 2025; give it a
    # facility PE RVU of 0.10 to see which one is used. NC:
    # facility:     (0.79 + 0.10*0.926 + 0.04*0.665) * 32.3465 = 0.9092  * 32.3465 = 29.4094
    # non-facility: (0.79 + 0.29*0.926 + 0.04*0.665) * 32.3465 = 1.08514 * 32.3465 = 35.1003
    rvu = pricing.load_rvu()
    is_26 = rvu["cpt_code"].eq("76377") & rvu["modifier"].eq("26")
    rvu = rvu.assign(pe_rvu_facility=rvu["pe_rvu_facility"].mask(is_26, 0.10))
    lines = pd.DataFrame({"cpt_code": "76377", "component": "26", "state": "NC", "year": 2025,
                          "setting": ["facility", "non_facility"]})  # fmt: skip
    assert usd(lines, rvu=rvu) == [29.41, 35.10]


def test_large_inputs_are_priced_once_per_distinct_line():
    # > 1000 lines are priced once per distinct input; the result must equal pricing
    # each line on its own (here: the 12 distinct lines, repeated and shuffled).
    rng = np.random.default_rng(7)
    small = pd.DataFrame({
        "cpt_code": ["76376", "76377", "74177", "99999"] * 3,
        "modifiers": ["26", "TC", None, "26 59"] * 3,
        "place_of_service": ["11", "22", None] * 4,
        "state": ["NC", "US", "SC", "NC"] * 3,
        "service_date": pd.to_datetime(["2024-03-08", "2024-03-09", "2025-06-01"] * 4),
    })  # fmt: skip
    big = small.iloc[rng.integers(0, len(small), 3000)].set_axis(np.arange(3000) * 2)
    priced = pricing.price(big, *BUNDLED)
    assert list(priced.index) == list(big.index)
    one_by_one = pd.concat([pricing.price(big.iloc[[i]], *BUNDLED) for i in range(0, 3000, 97)])
    pd.testing.assert_frame_equal(priced.iloc[::97], one_by_one)
    bad = big.assign(state=big["state"].mask(big["cpt_code"].eq("76377"), "ZZ"))
    with pytest.raises(InputError, match=f"{int(big['cpt_code'].eq('76377').sum())} such lines"):
        pricing.price(bad, *BUNDLED)


# ----------------------------------------------------------- bundled and former names


def test_bundled_tables_are_read_once_and_handed_out_as_copies():
    first = pricing.bundled_schedule()
    first.rvu["scratch"] = 1.0
    second = pricing.bundled_schedule()
    assert "scratch" not in second.rvu.columns
    assert second.rvu.attrs["source"] == f"{pricing.DEFAULT_RVU_PATH}; {RVU_2026_PATH}"
    assert second.gpci.attrs["source"] == str(pricing.DEFAULT_GPCI_PATH)
    assert pricing.vintages(second.rvu) == (2025, 2026) and pricing.vintages(second.gpci) == (2025,)
    pd.testing.assert_frame_equal(pricing.read_rvu(RVU_PATH), pricing.load_rvu())
    pd.testing.assert_frame_equal(pricing.read_gpci(GPCI_PATH), pricing.load_gpci())


def test_price_needs_its_tables():
    with pytest.raises(TypeError):
        pricing.price(nc_lines("76377"))  # type: ignore[call-arg]


def test_former_module_name_keeps_every_name_and_the_default_tables():
    for name in fees.__all__:
        assert hasattr(fees, name), name
    assert fees.price(nc_lines("76377"))["medicare_usd"].tolist() == [72.67, 35.10, 37.57]
    rvu = pricing.load_rvu()
    pd.testing.assert_frame_equal(
        fees.price(nc_lines("76376"), rvu=rvu), pricing.price(nc_lines("76376"), *BUNDLED)
    )
    assert fees.fee_table is pricing.fee_table and fees.NOTE_NOT_IN_FILE == pricing.NOTE_NOT_IN_FILE
