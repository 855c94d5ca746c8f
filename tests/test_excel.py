"""Tests for analysis.report.excel: the one writer of every rad3d workbook.

Each workbook is opened with openpyxl, as Excel would read it: sheets, headings, number
formats, the frozen bold header row and its autofilter, the cover and Definitions
sheets, and that a column of numbers holds numbers or empty cells only.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from disclosure_attack import attack

from analysis import cli
from analysis.privacy import MARKER
from analysis.report.excel import Cover, column_unit, heading_unit, workbook_bytes
from analysis.report.writer import ReportWriter


def _book(data: bytes | Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data)


def _column(ws, heading: str) -> list:
    """The cells under ``heading`` (row 1)."""
    j = [c.value for c in ws[1]].index(heading) + 1
    return [ws.cell(row=i, column=j) for i in range(2, ws.max_row + 1)]


def _assert_numbers_stay_numbers(book: openpyxl.Workbook) -> int:
    """Every column of a table sheet that holds a number holds only numbers and empty
    cells (never ``*`` or other text); returns how many such columns were checked."""
    checked = 0
    for ws in book.worksheets:
        if ws.title in ("Cover", "Definitions"):
            continue
        for j in range(1, ws.max_column + 1):
            cells = [ws.cell(row=i, column=j) for i in range(2, ws.max_row + 1)]
            if any(c.data_type == "n" and c.value is not None for c in cells):
                bad = [(c.coordinate, c.value) for c in cells
                       if c.value is not None and c.data_type != "n"]
                assert bad == [], f"{ws.title}: text in a numeric column: {bad[:3]}"
                checked += 1
            assert all(c.value != MARKER for c in cells), ws.title
    return checked


TABLE = pd.DataFrame({
    "practice_id": ["A", "B", "C"],
    "n_ct_mr": [120, MARKER, 300],
    "rate": [0.125, MARKER, 0.3],
    "q_value": [0.01, 0.5, 0.00002],
    "loss_usd": [1234.56, -50.0, None],
    "usd_per_3d": [50.25, 40.0, 1.0],
    "fit_error_low_pct": [1.5, 0.0, 2.25],
    "expected_n_3d": [24.0, 0.8, 60.0],
    "year": [2024, 2025, 2026],
    "year_start": ["2025-01-01", "2026-01-01", "2027-01-01"],
    "flag": [True, False, True],
    "status": ["beyond chance only", "too few to judge", "not above the benchmark"],
})


@pytest.mark.parametrize(("name", "unit"), [
    ("loss_horizon_usd", "usd"), ("usd_per_3d", "usd_each"),
    ("cost_per_rendering_usd", "usd_each"), ("p_value", "probability"),
    ("q_value", "probability"), ("fit_error_high_pct", "percent"), ("rate", "share"),
    ("loss_share_year1", "share"), ("ci_high", "share"), ("funnel_hi998", "share"),
    ("prob_above", "share"), ("n_ct_mr", "count"), ("excess_n_3d", "count"),
    ("units_3d_76376", "count"), ("effective_date", "date"),
    # a ratio of counts is not a count; a z-score and a year carry no unit; the token
    # "rate" is not inside "separate"
    ("services_per_beneficiary", ""), ("funnel_z", ""), ("year", ""),
    ("n_separate_date_3d_lines", "count"),
])
def test_column_unit_reads_the_unit_in_the_name(name, unit):
    assert column_unit(name) == unit


def test_a_column_named_without_its_unit_takes_the_unit_its_heading_states():
    # a tornado's columns carry no unit in their names; the label table's headings do
    tornado = pd.DataFrame({"label": ["Commercial multiplier"], "swing": [120345.5],
                            "outcome_low": [99000.25], "base": [0.5], "share_of": [0.25]})
    ws = _book(workbook_bytes({"tornado": tornado}, cover=Cover("t"), labels={
        "label": "Parameter", "swing": "Swing ($)", "outcome_low": "Result at low ($)",
        "base": "Base case", "share_of": "Share (count)"}))["tornado"]
    formats = {c.value: _column(ws, c.value)[0].number_format for c in ws[1]}
    # the name's unit wins over the heading's ("share" in share_of)
    assert formats == {"Parameter": "General", "Swing ($)": '"$"#,##0',
                       "Result at low ($)": '"$"#,##0', "Base case": "#,##0.00",
                       "Share (count)": "0.0%"}
    assert [heading_unit(h) for h in ("Mean ($)", "Rate (%)", "Draws")] == ["usd", "share", ""]


def test_workbook_sheets_headings_formats_and_suppressed_cells():
    data = workbook_bytes(
        {"screen": TABLE}, labels={"practice_id": "Practice", "n_ct_mr": "CT/MR encounters",
                                   "rate": "Rate (%)", "loss_usd": "Loss ($)"},
        cover=Cover("LCD screen", scenario="Base case", data="SYNTHETIC DATA.",
                    suppression="Counts from 1 to 10 are suppressed.",
                    date=dt.date(2025, 3, 1), lines=(("Practice", "NC007"),)),
        captions={"screen": "The screen"}, definitions=["Rate: n_3d / n_ct_mr."],
        suppressed={"screen": TABLE.eq(MARKER)}, suppressed_note="Suppressed: small count.")
    book = _book(data)
    assert book.sheetnames == ["Cover", "screen", "Definitions"]
    ws = book["screen"]
    # human headings from the labels, else the name made readable; bold, frozen, filtered
    heads = [c.value for c in ws[1]]
    assert heads[:5] == ["Practice", "CT/MR encounters", "Rate (%)", "Q value", "Loss ($)"]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "B2"  # header row and the practice column (a wide table)
    assert ws.auto_filter.ref == "A1:L4"
    assert ws.column_dimensions["L"].width > ws.column_dimensions["C"].width
    # number formats from the unit in the column's name
    formats = {h: _column(ws, h)[0].number_format for h in heads}
    assert formats == {
        "Practice": "General", "CT/MR encounters": "#,##0", "Rate (%)": "0.0%",
        "Q value": "0.0000", "Loss ($)": '"$"#,##0', "Usd per 3d": '"$"#,##0.00',
        "Fit error low pct": '0.0"%"', "Expected n 3d": "#,##0.0", "Year": "0",
        "Year start": "yyyy-mm-dd", "Flag": "General", "Status": "General"}
    assert [c.value for c in _column(ws, "Rate (%)")] == [0.125, None, 0.3]
    assert [c.value for c in _column(ws, "Year start")][0] == dt.datetime(2025, 1, 1)
    assert [c.value for c in _column(ws, "Flag")] == [True, False, True]
    # the suppressed cells: empty, grey, with a comment; the missing dollar cell: empty
    hidden = _column(ws, "CT/MR encounters")[1]
    assert hidden.value is None and hidden.comment.text == "Suppressed: small count."
    assert hidden.fill.fgColor.rgb.endswith("D9D9D9")
    missing = _column(ws, "Loss ($)")[2]
    assert missing.value is None and missing.comment is None
    assert _assert_numbers_stay_numbers(book) == 8
    # the cover: title, scenario, data statement, a real date, the rule, the contents
    cover = {r[0]: r[1] for r in book["Cover"].iter_rows(values_only=True) if r[0]}
    assert book["Cover"]["A1"].value == "LCD screen" and book["Cover"]["A1"].font.b
    assert cover["Scenario"] == "Base case" and cover["Data"] == "SYNTHETIC DATA."
    assert cover["Date"] == dt.datetime(2025, 3, 1)
    assert cover["Suppression"] == "Counts from 1 to 10 are suppressed."
    assert "grey" in cover["Empty cells"] and cover["Practice"] == "NC007"
    assert cover["screen"] == "The screen"
    assert book["Cover"]["A11"].hyperlink.location == "'screen'!A1"
    # Definitions: heading, CSV name, unit, sheets; then the definitions in words
    rows = list(book["Definitions"].iter_rows(values_only=True))
    assert rows[0] == ("Heading", "Column in the CSV files", "Unit", "Sheets")
    assert ("Rate (%)", "rate", "share, shown as a percentage", "screen") in rows
    assert ("Loss ($)", "loss_usd", "US dollars", "screen") in rows
    assert ("Rate: n_3d / n_ct_mr.", None, None, None) in rows
    assert book["Definitions"].freeze_panes == "A2"


def test_sheet_names_are_valid_unique_and_leave_the_cover_and_definitions_alone():
    tables = {"definitions": TABLE, "Cover": TABLE, "a" * 40: TABLE, "a" * 41: TABLE,
              "x/y": TABLE}
    book = _book(workbook_bytes(tables, cover=Cover("t")))
    assert book.sheetnames == ["Cover", "definitions_2", "Cover_2", "a" * 31,
                               "a" * 28 + "_2", "x_y", "Definitions"]


def test_report_writer_workbook_repeats_the_page_and_keeps_numbers_numbers(tmp_path):
    # BIG has 200 encounters; SMALL has 4 (suppressed) and so its complement MID too
    summary = pd.DataFrame({"practice_id": ["BIG", "MID", "SMALL"], "n_ct_mr": [200, 40, 4],
                            "n_3d": [30, 12, 2], "rate": [0.15, 0.3, 0.5],
                            "excess_usd": [0.0, 280.0, 70.0]})
    rpt = ReportWriter(tmp_path, notebook="lcd_screen", scenario="base")
    rpt.callout("SYNTHETIC DATA. The claims are synthetic.", title="Data.")
    rpt.preformatted("Rate = n_3d / n_ct_mr.")
    rpt.table("screen", summary, caption="The screen", show=False)
    rpt.finish()
    shown = pd.read_csv(tmp_path / "tables/screen.csv", dtype=str)
    assert (shown["n_ct_mr"] == MARKER).sum() == 2
    book = _book(tmp_path / "tables/lcd_screen.xlsx")
    assert book.sheetnames == ["Cover", "screen", "Definitions"]
    ws = book["screen"]
    assert [c.value for c in ws[1]][:2] == ["Practice", "CT/MR imaging (count)"]
    assert [c.value for c in _column(ws, "CT/MR imaging (count)")] == [200, None, None]
    assert _column(ws, "Excess 3D ($)")[0].number_format == '"$"#,##0'
    assert _assert_numbers_stay_numbers(book) == 4
    cover = {r[0]: r[1] for r in book["Cover"].iter_rows(values_only=True) if r[0]}
    # the title is the notebook's first heading
    assert book["Cover"]["A1"].value.startswith("3D rendering against the LCD benchmark")
    assert cover["Data"] == "SYNTHETIC DATA. The claims are synthetic."
    assert "1 to 10" in cover["Suppression"]
    assert isinstance(cover["Date"], dt.datetime)
    assert ("Rate = n_3d / n_ct_mr.", None, None, None) in list(
        book["Definitions"].iter_rows(values_only=True))


def test_the_attacker_reads_workbook_headings_back_to_columns(tmp_path):
    # A count hidden in the CSV but shown in the workbook is found: the privacy suite
    # reads the workbooks' human headings through their Definitions sheet.
    tables = tmp_path / "base/lcd_screen/tables"
    tables.mkdir(parents=True)
    pd.DataFrame({"practice_id": ["A", "B"], "n_ct_mr": [MARKER, MARKER]}).to_csv(
        tables / "screen.csv", index=False)
    leaky = pd.DataFrame({"practice_id": ["A", "B"], "n_ct_mr": [4, 12]})
    (tables / "lcd_screen.xlsx").write_bytes(workbook_bytes({"screen": leaky},
                                                            cover=Cover("t")))
    assert {(f.practice, f.column) for f in attack(tmp_path)} == {("A", "n_ct_mr"),
                                                                  ("B", "n_ct_mr")}
    # and nothing when the workbook leaves them empty
    (tables / "lcd_screen.xlsx").write_bytes(workbook_bytes(
        {"screen": leaky}, cover=Cover("t"),
        suppressed={"screen": leaky.assign(practice_id=False, n_ct_mr=True)}))
    assert attack(tmp_path) == []


@pytest.mark.parametrize("command", [
    ["lcd"], ["impact", "--draws", "200", "--horizon", "2"], ["puf", "--draws", "200"]])
def test_command_workbooks_are_formatted_alike(tmp_path, command, capsys):
    out = tmp_path / "out"
    assert cli.main([*command, "--out", str(out)]) == 0
    capsys.readouterr()
    book = _book(next(out.glob("*.xlsx")))
    assert book.sheetnames[0] == "Cover" and book.sheetnames[-1] == "Definitions"
    assert _assert_numbers_stay_numbers(book) > 10
    for ws in book.worksheets[1:-1]:
        assert ws.freeze_panes in ("A2", "B2") and ws.auto_filter.ref.startswith("A1:")
        assert all(c.font.b for c in ws[1])
        assert not any("_" in str(c.value) for c in ws[1]), ws.title  # words, not names
    cover = {r[0]: r[1] for r in book["Cover"].iter_rows(values_only=True) if r[0]}
    assert cover["Data"].startswith("SYNTHETIC DATA")
    assert cover["Suppression"].startswith("None")
    assert isinstance(cover["Date"], dt.datetime)
    if command[0] == "lcd":
        screen = book["screen"]
        assert _column(screen, "Rate (%)")[0].number_format == "0.0%"
        assert _column(screen, "q (BH)")[0].number_format == "0.0000"
        assert _column(screen, "Excess 3D ($)")[0].number_format == '"$"#,##0'
        assert _column(screen, "CT/MR encounters")[0].number_format == "#,##0"
    if command[0] == "impact":
        totals = book["totals"]
        assert _column(totals, "Year starts")[0].number_format == "yyyy-mm-dd"
        assert isinstance(_column(totals, "Year starts")[0].value, dt.datetime)
        assert _column(totals, "Loss ($)")[0].number_format == '"$"#,##0'
        for sheet in ("tornado", "psa"):
            dollars = [c.value for c in book[sheet][1] if str(c.value).endswith("($)")]
            assert dollars, sheet
            for head in dollars:  # columns named without "_usd" ("swing", "mean") too
                assert {c.number_format for c in _column(book[sheet], head)
                        if c.value is not None} == {'"$"#,##0'}, (sheet, head)
    if command[0] == "puf":
        exposure = book["exposure"]  # one column per quantity: one unit per column
        assert _column(exposure, "Payer 3D services")[0].number_format.startswith("#,##0")
        assert _column(exposure, "Payer 3D allowed ($)")[0].number_format == '"$"#,##0'
