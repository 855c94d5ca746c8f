"""Tests for analysis.claims: loading, repairs, quarantine reasons, reconciliation."""

from __future__ import annotations

import csv
import gzip
import json
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.claims import (
    CANONICAL_COLUMNS,
    CANONICAL_DTYPES,
    QUARANTINE_REASONS,
    REPAIRS,
    REQUIRED_COLUMNS,
    canonical_schema,
    empty_lines,
    header_aliases,
    load_claims,
    npi_check_digit_ok,
    validate_files,
    validate_lines,
)
from analysis.claims.rules import QUARANTINE_RULES, REPAIR_RULES, RULES
from analysis.cli import main
from analysis.errors import InputError
from analysis.paths import SAMPLE_DAMAGED

# A clean line: NC 76376-26, priced at the 2025 NC Medicare fee ($8.78).
# 1234567893 is the example NPI in CMS's check-digit specification.
BASE = dict(
    claim_id="C1", line_number="1", practice_id="P1", patient_id="X1",
    service_date="2024-03-01", cpt_code="76376", modifiers="26", units="1",
    place_of_service="22", payer="BCBSNC", diagnosis_codes="C78.01;R91.8",
    allowed_usd="8.78", paid_usd="7.00", rendering_npi="1234567893", state="NC",
)


def write_csv(path: Path, rows: list[dict], *, header=CANONICAL_COLUMNS, newline="\n",
              bom=False, encoding="utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        if bom:
            f.write("\ufeff")
        w = csv.writer(f, lineterminator=newline)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(c, "") for c in header])
    return path


def row(**changes) -> dict:
    return {**BASE, **changes}


def load_one(tmp_path: Path, **changes):
    return load_claims(write_csv(tmp_path / "one.csv", [row(**changes)]))


# ----------------------------------------------------------------------- schema


def test_schema_and_empty_lines():
    schema = canonical_schema()
    assert tuple(schema["column"]) == CANONICAL_COLUMNS
    assert set(schema.loc[schema["required"], "column"]) == set(REQUIRED_COLUMNS)
    empty = empty_lines()
    assert list(empty.columns) == list(CANONICAL_COLUMNS) and len(empty) == 0
    assert str(empty["service_date"].dtype) == CANONICAL_DTYPES["service_date"]


def test_rule_table_defines_every_reason_and_repair_once():
    assert list(QUARANTINE_REASONS) == [r.name for r in QUARANTINE_RULES]
    assert list(REPAIRS) == [r.name for r in REPAIR_RULES]
    assert len(RULES) == len(QUARANTINE_RULES) + len(REPAIR_RULES)  # names unique
    for rule in RULES.values():
        assert set(rule.columns) <= set(CANONICAL_COLUMNS), rule.name
    suffix = RULES["numeric_suffix_dropped"]  # one pattern for each column it repairs
    assert set(suffix.pattern) == set(suffix.columns)


def test_clean_line_dtypes_and_values(tmp_path):
    result = load_one(tmp_path)
    lines = result.lines
    assert len(lines) == 1 and len(result.quarantine) == 0
    assert list(lines.columns) == list(CANONICAL_COLUMNS)
    for c in CANONICAL_COLUMNS:
        expected = "string" if CANONICAL_DTYPES[c] == "string" else CANONICAL_DTYPES[c]
        assert str(lines[c].dtype) == expected, c
    r = lines.iloc[0]
    assert (r["cpt_code"], r["line_number"], r["units"]) == ("76376", 1, 1)
    assert r["service_date"] == pd.Timestamp("2024-03-01")
    assert (r["allowed_usd"], r["paid_usd"]) == (8.78, 7.0)
    assert sum(result.report.repairs.values()) == 0


def test_npi_check_digit_reference():
    # CMS example: 80840 + 123456789 -> Luhn sum 24 + 43 = 67 -> check digit 3.
    got = npi_check_digit_ok(pd.Series(["1234567893", "1234567894", "123456789", None]))
    assert got.tolist() == [True, False, False, False]


# ---------------------------------------------------------------------- repairs

# (repair kind, column, raw text, canonical value expected)
REPAIR_CASES = [
    ("whitespace_stripped", "claim_id", "  C1 ", "C1"),
    ("null_token", "modifiers", "NULL", pd.NA),
    ("null_token", "place_of_service", "#N/A", pd.NA),
    ("upper_cased", "cpt_code", "0523t", "0523T"),
    ("upper_cased", "state", "nc", "NC"),
    ("upper_cased", "payer", "bcbsnc", "BCBSNC"),
    ("numeric_suffix_dropped", "cpt_code", "76376.0", "76376"),
    ("numeric_suffix_dropped", "units", "2.0", 2),
    ("numeric_suffix_dropped", "line_number", "3.00", 3),
    ("numeric_suffix_dropped", "place_of_service", "22.0", "22"),
    ("numeric_suffix_dropped", "rendering_npi", "1234567893.0", "1234567893"),
    ("numeric_suffix_dropped", "modifiers", "26.0", "26"),
    ("cpt_zero_padded", "cpt_code", "100", "00100"),  # anesthesia code that lost its zeros
    ("pos_zero_padded", "place_of_service", "2", "02"),
    ("npi_scientific", "rendering_npi", "1.234567893E9", "1234567893"),
    ("npi_scientific", "rendering_npi", "1.234567893e+09", "1234567893"),
    ("amount_currency_format", "allowed_usd", "$1,234.50", 1234.5),
    ("amount_currency_format", "paid_usd", " $ 7.00", 7.0),
    ("amount_rounded_to_cents", "allowed_usd", "23.375", 23.38),  # half up
    ("amount_rounded_to_cents", "allowed_usd", "23.3749", 23.37),
    ("date_us_format", "service_date", "03/04/2024", pd.Timestamp("2024-03-04")),
    ("date_us_format", "service_date", "3/4/2024", pd.Timestamp("2024-03-04")),
    ("date_compact", "service_date", "20240304", pd.Timestamp("2024-03-04")),
    ("date_zero_padded", "service_date", "2024-3-4", pd.Timestamp("2024-03-04")),
    ("date_time_dropped", "service_date", "2024-03-04 00:00:00", pd.Timestamp("2024-03-04")),
    ("date_time_dropped", "service_date", "2024-03-04T13:45", pd.Timestamp("2024-03-04")),
    ("modifiers_reformatted", "modifiers", "26,59", "26 59"),
    ("modifiers_reformatted", "modifiers", "26 ;  59", "26 59"),
    ("diagnosis_reformatted", "diagnosis_codes", "C78.01, R91.8", "C78.01;R91.8"),
    ("diagnosis_reformatted", "diagnosis_codes", "C78.01|R91.8", "C78.01;R91.8"),
]


@pytest.mark.parametrize(("kind", "column", "raw", "expected"), REPAIR_CASES)
def test_each_repair(tmp_path, kind, column, raw, expected):
    result = load_one(tmp_path, **{column: raw})
    assert len(result.quarantine) == 0, result.quarantine["detail"].tolist()
    assert result.report.repairs[kind] == 1
    value = result.lines.iloc[0][column]
    if expected is pd.NA:
        assert pd.isna(value)
    else:
        assert value == expected


def test_repairs_are_counted_once_per_row_and_only_for_accepted_rows(tmp_path):
    rows = [
        row(claim_id="A", cpt_code=" 76376.0 ", state=" nc "),  # 1 whitespace row, 1 upper
        row(claim_id="B", cpt_code=" 7637X9"),  # whitespace, but quarantined: not counted
    ]
    result = load_claims(write_csv(tmp_path / "r.csv", rows))
    assert result.report.repairs["whitespace_stripped"] == 1
    assert result.report.repairs["upper_cased"] == 1
    assert result.report.repairs["numeric_suffix_dropped"] == 1


def test_bom_and_crlf_are_file_repairs(tmp_path):
    path = write_csv(tmp_path / "w.csv", [row(), row(claim_id="C2")], newline="\r\n", bom=True)
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    result = load_claims(path)
    assert result.report.repairs["bom"] == 1 and result.report.repairs["crlf"] == 1
    assert result.lines["claim_id"].tolist() == ["C1", "C2"]
    assert REPAIRS["bom"][0] == "files"


def test_utf16_with_bom_is_read(tmp_path):
    path = tmp_path / "u16.csv"
    text = ",".join(CANONICAL_COLUMNS) + "\r\n" + ",".join(BASE[c] for c in CANONICAL_COLUMNS)
    path.write_bytes(text.encode("utf-16"))  # Python writes the BOM
    result = load_claims(path)
    assert len(result.lines) == 1 and result.report.repairs["bom"] == 1


@pytest.mark.parametrize("order", ["be", "le"])
def test_utf16_without_bom_is_read_with_its_encoding_and_named_without(tmp_path, order):
    path = tmp_path / f"u16{order}.csv"
    text = ",".join(CANONICAL_COLUMNS) + "\n" + ",".join(BASE[c] for c in CANONICAL_COLUMNS)
    path.write_bytes((text + "\n").encode(f"utf-16-{order}"))  # no byte-order mark
    assert len(load_claims(path, encoding=f"utf-16-{order}").lines) == 1
    with pytest.raises(InputError, match=f"UTF-16 text without a byte-order mark.*utf-16-{order}"):
        load_claims(path)


def test_a_named_pipe_is_refused_at_once(tmp_path):
    import os
    fifo = tmp_path / "claims.csv"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    with pytest.raises(InputError, match="not a regular file"):
        load_claims(fifo)


def test_explicit_encoding_reads_latin1(tmp_path):
    path = write_csv(tmp_path / "l1.csv", [row(payer="Café Plan")], encoding="latin-1")
    result = load_claims(path, encoding="cp1252")
    assert result.lines["payer"].tolist() == ["CAFÉ PLAN"]


# ------------------------------------------------------------ quarantine reasons

# (reason, changes, failing column)
REASON_CASES = [
    ("missing_required", dict(patient_id=""), "patient_id"),
    ("missing_required", dict(units="NULL"), "units"),
    ("invalid_cpt", dict(cpt_code="763766"), "cpt_code"),
    ("invalid_cpt", dict(cpt_code="7637"), "cpt_code"),  # pads to 07637: a lost digit
    ("invalid_cpt", dict(cpt_code="76-37"), "cpt_code"),
    ("bad_date", dict(service_date="2024-02-30"), "service_date"),
    ("bad_date", dict(service_date="03/04/24"), "service_date"),  # two-digit year
    ("bad_date", dict(service_date="25/03/2024"), "service_date"),  # day-first
    ("bad_date", dict(service_date="1999-12-31"), "service_date"),  # before 2000
    ("bad_date", dict(service_date="45352"), "service_date"),  # spreadsheet serial
    ("bad_line_number", dict(line_number="0"), "line_number"),
    ("bad_line_number", dict(line_number="1a"), "line_number"),
    ("bad_units", dict(units="1.5"), "units"),
    ("bad_units", dict(units="one"), "units"),
    ("units_not_positive", dict(units="0"), "units"),
    ("units_not_positive", dict(units="-2"), "units"),
    ("negative_amount", dict(allowed_usd="-5.00"), "allowed_usd"),
    ("negative_amount", dict(paid_usd="(12.00)"), "paid_usd"),
    ("bad_amount", dict(allowed_usd="12,50"), "allowed_usd"),  # decimal comma: ambiguous
    ("bad_amount", dict(paid_usd="1.2.3"), "paid_usd"),
    ("bad_amount", dict(allowed_usd="USD"), "allowed_usd"),
    ("invalid_modifier", dict(modifiers="2"), "modifiers"),
    ("invalid_modifier", dict(modifiers="26 LTX"), "modifiers"),
    ("invalid_pos", dict(place_of_service="00"), "place_of_service"),
    ("invalid_pos", dict(place_of_service="123"), "place_of_service"),
    ("invalid_npi", dict(rendering_npi="12345"), "rendering_npi"),
    ("invalid_npi", dict(rendering_npi="1.23457E+09"), "rendering_npi"),  # lost digits
    ("invalid_npi_check_digit", dict(rendering_npi="1234567890"), "rendering_npi"),
    ("invalid_state", dict(state="XX"), "state"),
    ("invalid_diagnosis", dict(diagnosis_codes="786.50"), "diagnosis_codes"),  # ICD-9
    ("amount_above_cap", dict(allowed_usd="100000.01"), "allowed_usd"),  # a cent above
    ("amount_above_cap", dict(paid_usd="$999,999,999,999.99"), "paid_usd"),
    ("bad_date", dict(service_date="2024-03-01 25:00:00"), "service_date"),  # no such hour
    ("bad_date", dict(service_date="03/01/2024 12:61"), "service_date"),  # no such minute
]


@pytest.mark.parametrize(("reason", "changes", "column"), REASON_CASES)
def test_each_quarantine_reason(tmp_path, reason, changes, column):
    rows = [row(claim_id="OK"), row(claim_id="BAD", **changes)]
    result = load_claims(write_csv(tmp_path / "q.csv", rows))
    assert result.lines["claim_id"].tolist() == ["OK"]
    q = result.quarantine
    assert len(q) == 1
    assert (q.at[0, "reason"], q.at[0, "column"], q.at[0, "source_row"]) == (reason, column, 3)
    assert q.at[0, "claim_id"] == "BAD"  # original text kept
    raw = list(changes.values())[0]
    assert q.at[0, column] == raw and (raw == "" or raw in q.at[0, "detail"]
                                       or column in q.at[0, "detail"])
    assert result.report.quarantined_by_reason[reason] == 1


@pytest.mark.parametrize("text", ["P\x0b2", "P\x1b[31m3", "CLM\x7f"])
def test_a_control_character_anywhere_quarantines_the_row(tmp_path, text):
    # (a NUL in the first 64 KB makes the whole file binary: a file-level error)
    rows = [row(claim_id="OK"), row(claim_id="BAD", practice_id=text)]
    result = load_claims(write_csv(tmp_path / "c.csv", rows))
    assert result.lines["claim_id"].tolist() == ["OK"]
    q = result.quarantine
    assert (q.at[0, "reason"], q.at[0, "column"], q.at[0, "source_row"]) == (
        "control_character", "practice_id", 3)
    escaped = text.encode("unicode_escape").decode("ascii")
    assert f"'{escaped}'" in q.at[0, "detail"]  # the message shows the character escaped
    assert result.report.reconciles


def test_a_nul_byte_after_the_first_64_kb_is_quarantined_in_csv_and_in_typed_parquet(
        tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.scale import summarize_files
    rows = [row(claim_id=f"C{i:06d}") for i in range(1500)]  # > 64 KB of text first
    rows.append(row(claim_id="NUL", practice_id="NC\x00001"))
    path = write_csv(tmp_path / "nul.csv", rows)
    assert path.stat().st_size > 65536
    loaded = load_claims(path)
    assert loaded.quarantine["reason"].tolist() == ["control_character"]
    assert loaded.quarantine.at[0, "source_row"] == 1502
    assert "\x00" not in "".join(loaded.lines["practice_id"].astype(str))
    # the same lines as a typed Parquet file: the typed check must not accept it either
    typed = tmp_path / "nul.parquet"
    pq.write_table(pa.Table.from_pandas(loaded.lines.assign(
        practice_id=loaded.lines["practice_id"].astype(object).where(
            loaded.lines["claim_id"] != "C000000", "NC\x00001")), preserve_index=False),
        typed)
    streamed = summarize_files(typed, pushdown=False)
    assert streamed.report.quarantined_by_reason["control_character"] == 1
    assert streamed.report.rows_accepted == len(loaded.lines) - 1


def test_an_amount_at_the_cap_is_accepted_and_above_it_reconciles_as_quarantined(tmp_path):
    rows = [row(claim_id="AT", allowed_usd="100000.00"),
            row(claim_id="HUGE", allowed_usd="999999999999.99")]
    result = load_claims(write_csv(tmp_path / "cap.csv", rows))
    assert result.lines["claim_id"].tolist() == ["AT"]
    allowed = result.report.amounts["allowed_usd"]
    # hand calculation: read = 100,000.00 + 999,999,999,999.99; the huge one quarantined
    assert allowed.read_cents == 10_000_000 + 99_999_999_999_999
    assert allowed.quarantined_cents == 99_999_999_999_999
    assert result.report.reconciles


def test_reason_messages_name_the_problem(tmp_path):
    rows = [row(claim_id="A", service_date="03/04/24"),
            row(claim_id="B", rendering_npi="1.23457E+09")]
    q = load_claims(write_csv(tmp_path / "m.csv", rows)).quarantine
    assert "two-digit year" in q.at[0, "detail"]
    assert "lost digits" in q.at[1, "detail"]


def test_first_failing_check_wins(tmp_path):
    # invalid CPT comes before bad date, negative amount before bad amount
    rows = [row(cpt_code="XX", service_date="nope"),
            row(claim_id="C2", allowed_usd="-1", paid_usd="abc")]
    q = load_claims(write_csv(tmp_path / "o.csv", rows)).quarantine
    assert q["reason"].tolist() == ["invalid_cpt", "negative_amount"]
    assert list(QUARANTINE_REASONS).index("invalid_cpt") < list(QUARANTINE_REASONS).index(
        "bad_date")


def test_malformed_row(tmp_path):
    path = write_csv(tmp_path / "mal.csv", [row()])
    with open(path, "a") as f:
        f.write("C2,1,P1,X1,2024-03-01,76376,26,1,22,BCBSNC,,8.78,7.00,1234567893,NC,EXTRA\n")
    result = load_claims(path)
    q = result.quarantine
    assert q["reason"].tolist() == ["malformed_row"] and q.at[0, "source_row"] == 3
    assert "EXTRA" in q.at[0, "detail"]
    # no amount can be attributed: counted as unparsed, not as dollars
    assert result.report.amounts["allowed_usd"].unparsed_rows == 1
    assert result.report.reconciles


def test_exact_duplicate_repeat_is_quarantined(tmp_path):
    # the repeat differs only in repairable formatting: same line after repair
    rows = [row(), row(claim_id="C2"), row(cpt_code="76376.0", allowed_usd="$8.78")]
    result = load_claims(write_csv(tmp_path / "d.csv", rows))
    assert result.lines["claim_id"].tolist() == ["C1", "C2"]
    q = result.quarantine
    assert q["reason"].tolist() == ["duplicate_line"] and q.at[0, "source_row"] == 4
    assert q.at[0, "cpt_code"] == "76376.0"  # the original text, re-read from the file
    assert "row 2" in q.at[0, "detail"]
    # the accepted first copy carries 8.78, the repeat's 8.78 is in the quarantine
    a = result.report.amounts["allowed_usd"]
    assert (a.read_cents, a.accepted_cents, a.quarantined_cents) == (2634, 1756, 878)


def test_conflicting_duplicates_are_all_quarantined(tmp_path):
    rows = [row(), row(claim_id="C2"), row(allowed_usd="9.99")]
    result = load_claims(write_csv(tmp_path / "c.csv", rows))
    assert result.lines["claim_id"].tolist() == ["C2"]
    q = result.quarantine
    assert q["reason"].tolist() == ["conflicting_duplicate"] * 2
    assert q["source_row"].tolist() == [2, 4]


def test_duplicates_across_files(tmp_path):
    a = write_csv(tmp_path / "a.csv", [row()])
    b = write_csv(tmp_path / "b.csv", [row(), row(claim_id="C9")])
    result = load_claims([a, b])
    assert result.lines["claim_id"].tolist() == ["C1", "C9"]
    q = result.quarantine
    assert q["reason"].tolist() == ["duplicate_line"]
    assert q.at[0, "source_file"] == str(b) and str(a) in q.at[0, "detail"]


def _same_as_load_claims(paths) -> None:
    full, lean = load_claims(paths), validate_files(paths)
    assert lean.lines.empty
    pd.testing.assert_frame_equal(lean.quarantine, full.quarantine, check_exact=True)
    assert lean.report.to_dict() == full.report.to_dict()
    assert str(lean.report) == str(full.report)


def test_validate_files_keeps_no_line_and_reports_as_load_claims(tmp_path):
    # repeats within and across files, a conflict, repairs on a repeat, a bad row, and
    # the bundled damaged sample: the same quarantine and report as loading the lines
    a = write_csv(tmp_path / "a.csv", [
        row(), row(claim_id="C2"), row(allowed_usd="9.99"), row(claim_id="C3"),
        row(claim_id="C3"), row(claim_id="C4", units="0"),
        row(claim_id="C5", cpt_code="76376.0", allowed_usd="$8.78"), row(claim_id="C5")])
    b = write_csv(tmp_path / "b.csv", [row(claim_id="C2"), row(claim_id="C6"),
                                       row(claim_id="C3", payer="AETNA")])
    _same_as_load_claims([a, b])
    result = validate_files([a, b])
    assert result.report.quarantined_by_reason["conflicting_duplicate"] == 5  # C1 x2, C3 x3
    assert result.report.quarantined_by_reason["duplicate_line"] == 2  # C2 in b, C5's repeat
    assert result.report.rows_accepted == 3  # C2, C4 quarantined, C5, C6
    _same_as_load_claims(str(SAMPLE_DAMAGED))


def test_a_date_outside_the_study_window_is_quarantined_with_its_dollars(tmp_path):
    # 40 lines of 2024 and one typo's 2099-12-31 (a valid date): the window is the
    # claims' year 2024 +/- 1; given windows and none are honoured
    rows = [row(claim_id=f"C{i}") for i in range(40)]
    rows.append(row(claim_id="Z", service_date="2099-12-31", allowed_usd="77.01"))
    path = write_csv(tmp_path / "w.csv", rows)
    for result in (load_claims(path), validate_files(path)):
        q = result.quarantine
        assert q["reason"].tolist() == ["outside_study_window"]
        assert q.at[0, "source_row"] == 42 and q.at[0, "column"] == "service_date"
        assert "2023-01-01..2025-12-31 (the claims year 2024 +/- 1)" in q.at[0, "detail"]
        assert result.report.study_window.startswith("2023-01-01..2025-12-31")
        assert result.report.quarantined_cents_by_reason["outside_study_window"][
            "allowed_usd"] == 7701 and result.report.reconciles
    assert len(load_claims(path, study_window=None).quarantine) == 0
    given = load_claims(path, study_window=("2024-01-01", "2024-02-29"))
    assert given.report.quarantined_by_reason["outside_study_window"] == 41  # all March
    with pytest.raises(InputError, match="study window"):
        load_claims(path, study_window=("2024-12-31", "2024-01-01"))


def test_the_per_line_cap_is_a_parameter(tmp_path):
    rows = [row(claim_id="A", allowed_usd="250.00"), row(claim_id="B", allowed_usd="250.01")]
    path = write_csv(tmp_path / "cap.csv", rows)
    for result in (load_claims(path, max_line_usd=250), validate_files(path, max_line_usd=250)):
        q = result.quarantine
        assert q["claim_id"].tolist() == ["B"] and q.at[0, "reason"] == "amount_above_cap"
        assert q.at[0, "detail"] == "'250.01' is above $250 for one line"
    assert len(load_claims(path).quarantine) == 0  # the default cap is $100,000
    for bad in (0, -1, float("nan"), "many", True):
        with pytest.raises(InputError, match="cap"):
            load_claims(path, max_line_usd=bad)


def test_a_three_year_extract_keeps_its_years():
    from collections import Counter

    from analysis.claims.window import window_of_years
    w = window_of_years(Counter({2023: 40, 2024: 50, 2025: 45, 2031: 1}))
    assert (w.start, w.end) == (pd.Timestamp("2022-01-01"), pd.Timestamp("2026-12-31"))
    # a year with under 5 % of the lines next to the claims' years is not one of them
    w = window_of_years(Counter({2024: 96, 2025: 4}))
    assert (w.start, w.end) == (pd.Timestamp("2023-01-01"), pd.Timestamp("2025-12-31"))


def test_strict_raises_on_first_quarantined_row(tmp_path):
    path = write_csv(tmp_path / "s.csv", [row(), row(claim_id="C2", units="0")])
    with pytest.raises(InputError, match=r"row 3.*units.*units_not_positive"):
        load_claims(path, strict=True)


# ------------------------------------------------------------ rows and lines


def test_blank_lines_and_multiline_values_keep_file_line_numbers(tmp_path):
    path = tmp_path / "b.csv"
    header = ",".join(CANONICAL_COLUMNS)
    good = ",".join(BASE[c] for c in CANONICAL_COLUMNS)
    bad = good.replace("76376", "XXXXXX", 1)
    multi = good.replace("C1", '"C\n2"', 1)
    empty = "," * (len(CANONICAL_COLUMNS) - 1)
    # lines: 1 header, 2 good, 3 blank, 4-5 multi-line value, 6 spreadsheet filler, 7 bad
    path.write_text("\n".join([header, good, "", multi, empty, bad]) + "\n")
    result = load_claims(path)
    assert result.report.blank_rows == 2
    assert result.report.rows_read == 3
    assert result.quarantine["source_row"].tolist() == [7]
    assert result.lines["claim_id"].tolist() == ["C1", "C\n2"]


# ------------------------------------------------------------ formats agree


def _mixed_rows() -> list[dict]:
    rows = []
    for i in range(30):
        r = row(claim_id=f"C{i // 3}", line_number=str(i % 3 + 1), patient_id=f"X{i % 7}",
                allowed_usd=f"{10 + i}.{i:02d}")
        if i % 5 == 0:
            r["cpt_code"] = "74177.0"
        if i % 7 == 0:
            r["service_date"] = f"03/{i % 28 + 1:02d}/2024"
        if i % 11 == 0:
            r["units"] = "0"
        rows.append(r)
    rows.append(dict(rows[4]))  # an exact duplicate
    return rows


@pytest.fixture
def mixed(tmp_path):
    rows = _mixed_rows()
    frame = pd.DataFrame(rows)[list(CANONICAL_COLUMNS)]
    return tmp_path, rows, frame


def test_csv_gzip_parquet_split_and_directory_agree(mixed):
    tmp_path, rows, frame = mixed
    whole = load_claims(write_csv(tmp_path / "all.csv", rows))
    # 31 rows: units 0 on rows 0, 11, 22; row 30 repeats row 4
    assert len(whole.lines) == 31 - 3 - 1 and whole.report.quarantined_by_reason == {
        **{r: 0 for r in QUARANTINE_REASONS}, "units_not_positive": 3, "duplicate_line": 1}
    gz = tmp_path / "all.csv.gz"
    gz.write_bytes(gzip.compress((tmp_path / "all.csv").read_bytes()))
    frame.to_parquet(tmp_path / "all.parquet")
    parts = [write_csv(tmp_path / f"part{k}.csv", rows[k * 11:(k + 1) * 11]) for k in range(3)]
    (tmp_path / "ds").mkdir()
    for k in range(3):
        frame.iloc[k * 11:(k + 1) * 11].to_parquet(tmp_path / "ds" / f"part-{k}.parquet")
    for other in (
        load_claims(gz),
        load_claims(tmp_path / "all.parquet"),
        load_claims(parts),
        load_claims(str(tmp_path / "part*.csv")),
        load_claims(tmp_path / "ds"),
        validate_lines(frame),
    ):
        pd.testing.assert_frame_equal(other.lines, whole.lines)
        assert other.report.quarantined_by_reason == whole.report.quarantined_by_reason
        # 74177.0 on rows 0, 5, 10, 15, 20, 25; row 0 is quarantined (units 0)
        assert other.report.repairs["numeric_suffix_dropped"] == 5
        assert other.report.amounts["allowed_usd"] == whole.report.amounts["allowed_usd"]


def test_typed_lines_round_trip_through_parquet_and_memory(mixed, tmp_path):
    _, rows, _ = mixed
    lines = load_claims(write_csv(tmp_path / "all.csv", rows)).lines
    lines.to_parquet(tmp_path / "typed.parquet")  # int, float, timestamp columns
    again = load_claims(tmp_path / "typed.parquet")
    pd.testing.assert_frame_equal(again.lines, lines)
    assert sum(again.report.repairs.values()) == 0
    pd.testing.assert_frame_equal(validate_lines(lines).lines, lines)


def test_parquet_with_numeric_codes_and_float_npi(tmp_path):
    # a warehouse that typed codes as numbers: 76376 int, NPI float, POS int 2
    frame = pd.DataFrame(dict(
        claim_id=["A"], line_number=[1], practice_id=["P"], patient_id=["X"],
        service_date=pd.to_datetime(["2024-03-01"]), cpt_code=[76376], units=[1.0],
        place_of_service=[2], payer=["MEDICARE"], allowed_usd=[8.78],
        rendering_npi=[1234567893.0]))
    frame.to_parquet(tmp_path / "n.parquet")
    r = load_claims(tmp_path / "n.parquet").lines.iloc[0]
    assert (r["cpt_code"], r["place_of_service"], r["rendering_npi"], r["units"]) == (
        "76376", "02", "1234567893", 1)


def test_hive_partition_columns(tmp_path):
    frame = pd.DataFrame([row()]).drop(columns=["practice_id"])
    (tmp_path / "ds" / "practice_id=P7").mkdir(parents=True)
    frame.to_parquet(tmp_path / "ds" / "practice_id=P7" / "part-0.parquet")
    assert load_claims(tmp_path / "ds").lines["practice_id"].tolist() == ["P7"]


# ---------------------------------------------------------------------- headers


def test_header_aliases_and_numbered_columns(tmp_path):
    header = ["Claim Number", "Line", "TIN", "Member ID", "Date of Service", "CPT", "Mod 1",
              "Mod 2", "Qty", "POS", "Payor", "Dx 1", "Dx 2", "Allowed Amount", "Paid Amt",
              "Rendering NPI", "STATE", "Notes"]
    values = ["A", "1", "P", "X", "2024-03-01", "76376", "26", "59", "1", "22", "BCBSNC",
              "C34.1", "R91.8", "8.78", "7.00", "1234567893", "NC", "free text"]
    path = tmp_path / "alias.csv"
    path.write_text(",".join(header) + "\n" + ",".join(values) + "\n")
    result = load_claims(path)
    r = result.lines.iloc[0]
    assert (r["modifiers"], r["diagnosis_codes"], r["practice_id"]) == (
        "26 59", "C34.1;R91.8", "P")
    assert "'Notes'" in result.report.files.at[0, "ignored_columns"]
    assert {"cpt_code", "service_date"} <= set(header_aliases()["column"])


def test_header_matching_ignores_case_spaces_and_punctuation(tmp_path):
    header = [c.upper().replace("_", " ") for c in CANONICAL_COLUMNS]
    path = write_csv(tmp_path / "h.csv", [], header=header)
    with open(path, "a") as f:
        f.write(",".join(BASE[c] for c in CANONICAL_COLUMNS) + "\n")
    assert len(load_claims(path).lines) == 1


def test_column_map_dict_and_yaml(tmp_path):
    header = [("Proc" if c == "cpt_code" else c) for c in CANONICAL_COLUMNS] + ["CPT"]
    path = tmp_path / "cm.csv"
    path.write_text(",".join(header) + "\n"
                    + ",".join(BASE[c] for c in CANONICAL_COLUMNS) + ",99999\n")
    mapping = {"Proc": "cpt_code", "CPT": None}  # "Proc" is not an alias; ignore "CPT"
    assert load_claims(path, column_map=mapping).lines.at[0, "cpt_code"] == "76376"
    yaml_file = tmp_path / "map.yaml"
    yaml_file.write_text("Proc: cpt_code\nCPT: null\n")
    assert load_claims(path, column_map=yaml_file).lines.at[0, "cpt_code"] == "76376"
    with pytest.raises(InputError, match="not a canonical column"):
        load_claims(path, column_map={"Proc": "procedure"})


def test_two_headers_for_one_column_is_a_file_error(tmp_path):
    header = list(CANONICAL_COLUMNS) + ["HCPCS"]
    path = write_csv(tmp_path / "two.csv", [], header=header)
    with pytest.raises(InputError, match=r"two.csv.*'cpt_code'.*'HCPCS'.*ignore"):
        load_claims(path)


# ------------------------------------------------------------ file-level errors


def test_missing_required_column_names_file_and_column(tmp_path):
    path = write_csv(tmp_path / "nocpt.csv", [row()],
                     header=[c for c in CANONICAL_COLUMNS if c != "cpt_code"])
    with pytest.raises(InputError) as err:
        load_claims(path)
    assert err.value.file == str(path) and err.value.column == "cpt_code"
    assert "CPT" in str(err.value)  # lists recognised names


@pytest.mark.parametrize(("name", "content", "pattern"), [
    ("empty.csv", b"", "empty"),
    ("blank.csv", b"\n\n  \n", "empty"),
    ("bin.csv", b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)), "binary"),
    ("book.csv", b"PK\x03\x04" + b"\x14\x00" * 50, "ZIP"),
    ("latin.csv", ",".join(CANONICAL_COLUMNS).encode() + b"\nC1,caf\xe9\n", "cp1252"),
    ("fake.parquet", b"claim_id\nC1\n", "not a Parquet file"),
])
def test_file_level_errors(tmp_path, name, content, pattern):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=pattern) as err:
        load_claims(path)
    assert err.value.file == str(path)


def test_undecodable_bytes_late_in_a_large_file(tmp_path):
    good = ",".join(BASE[c] for c in CANONICAL_COLUMNS)
    body = "\n".join(good.replace("C1", f"C{i}") for i in range(3000))
    path = tmp_path / "late.csv"
    path.write_bytes((",".join(CANONICAL_COLUMNS) + "\n" + body + "\n").encode()
                     + good.replace("BCBSNC", "CAF\xc9").encode("latin-1") + b"\n")
    with pytest.raises(InputError, match=r"line 3002.*cp1252"):
        load_claims(path)


def test_missing_paths(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_claims(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="no file matches"):
        load_claims(str(tmp_path / "*.csv"))


# ---------------------------------------------------------------------- report


def test_report_renders_and_serialises(tmp_path):
    rows = [row(), row(claim_id="C2", allowed_usd="$1,000.00"),
            row(claim_id="C3", cpt_code="bad"), row(claim_id="C4", paid_usd="??")]
    report = load_claims(write_csv(tmp_path / "rep.csv", rows)).report
    # read 8.78 + 1000.00 + 8.78 + 8.78 = 1026.34; quarantined C3 8.78 + C4 8.78
    assert report.summary.set_index("measure").loc["read", "allowed_usd"] == 1026.34
    assert report.summary.set_index("measure").loc["quarantined", "allowed_usd"] == 17.56
    # paid: C4's '??' is unparsed, so read is 7.00 * 3 = 21.00
    assert report.amounts["paid_usd"].read_cents == 2100
    assert report.amounts["paid_usd"].unparsed_rows == 1
    text = str(report)
    assert "invalid_cpt" in text and "$1,026.34" in text and "reconciles: yes" in text
    assert "<table" in report._repr_html_()
    data = json.loads(json.dumps(report.to_dict()))
    assert data["rows_read"] == 4 and data["amounts"]["allowed_usd"]["read_cents"] == 102634
    assert report.repairs_table["repair"].tolist() == ["amount_currency_format"]


# ------------------------------------------------------------------------- CLI


def test_cli_missing_column_exits_2_with_one_line(tmp_path, capsys):
    path = write_csv(tmp_path / "nocpt.csv", [row()],
                     header=[c for c in CANONICAL_COLUMNS if c != "cpt_code"])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "'cpt_code'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("content", "word"), [
    (b"", "empty"), (b"\x00\x01\x02binary", "binary"),
    ("claim_id,x\nA,caf\xe9\n".encode("latin-1"), "cp1252")])
def test_cli_bad_files_exit_2(tmp_path, capsys, content, word):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and word in err and str(path) in err


def test_cli_strict_and_quarantine_file(tmp_path, capsys):
    path = write_csv(tmp_path / "v.csv", [row(), row(claim_id="C2", units="0")])
    out = tmp_path / "q.csv"
    assert main(["validate", str(path), "--quarantine", str(out)]) == 0
    assert "units_not_positive" in capsys.readouterr().out
    q = pd.read_csv(out, dtype=str)
    assert q["reason"].tolist() == ["units_not_positive"] and q["source_row"].tolist() == ["3"]
    assert main(["validate", str(path), "--strict"]) == 1
    clean = write_csv(tmp_path / "clean.csv", [row()])
    assert main(["validate", str(clean), "--strict"]) == 0


def test_cli_column_map_and_json(tmp_path, capsys):
    header = [("Proc" if c == "cpt_code" else c) for c in CANONICAL_COLUMNS]
    path = write_csv(tmp_path / "p.csv", [{("Proc" if k == "cpt_code" else k): v
                                           for k, v in BASE.items()}], header=header)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("Proc: cpt_code\n")
    assert main(["validate", str(path), "--column-map", str(mapping), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_accepted"] == 1


# ----------------------------------------------------------- property: reconcile


def _cents_text(cents: int, style: int) -> str:
    d, c = divmod(cents, 100)
    return [f"{d}.{c:02d}", f"${d:,}.{c:02d}", f"{d}.{c:02d}0", f" {d}.{c:02d} "][style]


# damage -> (column, text or function of the row number, expected reason or None)
DAMAGES = {
    "none": (None, None, None),
    "cpt_float": ("cpt_code", "76376.0", None),
    "pos_short": ("place_of_service", "2", None),
    "npi_sci": ("rendering_npi", "1.234567893E9", None),
    "us_date": ("service_date", "12/31/2024", None),
    "bad_cpt": ("cpt_code", "7637", "invalid_cpt"),
    "bad_date": ("service_date", "2024-13-01", "bad_date"),
    "two_digit_year": ("service_date", "3/4/24", "bad_date"),
    "zero_units": ("units", "0", "units_not_positive"),
    "frac_units": ("units", "2.5", "bad_units"),
    "no_patient": ("patient_id", " ", "missing_required"),
    "neg_paid": ("paid_usd", "(3.00)", "negative_amount"),
    "garbled_allowed": ("allowed_usd", "12,5O", "bad_amount"),
    "npi_digit": ("rendering_npi", "1234567890", "invalid_npi_check_digit"),
    "npi_lost": ("rendering_npi", "1.23457E+09", "invalid_npi"),
    "state": ("state", "ZZ", "invalid_state"),
}


@st.composite
def damaged_frames(draw):
    n = draw(st.integers(1, 25))
    rows, truth_allowed, truth_paid, expected = [], [], [], []
    for i in range(n):
        damage = draw(st.sampled_from(sorted(DAMAGES)))
        # up to the per-line cap of $100,000 (above it: amount_above_cap, tested apart)
        allowed = draw(st.one_of(st.none(), st.integers(0, 10**7)))
        paid = draw(st.integers(0, 10**6))
        r = row(claim_id=f"C{i}",
                allowed_usd="" if allowed is None else _cents_text(allowed, draw(
                    st.integers(0, 3))),
                paid_usd=_cents_text(paid, draw(st.integers(0, 3))))
        column, text, reason = DAMAGES[damage]
        if column:
            r[column] = text
        rows.append(r)
        truth_allowed.append(None if column == "allowed_usd" or allowed is None else allowed)
        truth_paid.append(-300 if column == "paid_usd" else paid)
        expected.append(reason)
    # repeats: exact copies (duplicate_line) and altered copies (conflicting_duplicate)
    used: set[int] = set()
    for kind in draw(st.lists(st.sampled_from(["exact", "conflict"]), max_size=3)):
        sources = [i for i in range(n) if expected[i] is None and i not in used]
        if not sources:
            break
        i = draw(st.sampled_from(sources))
        used.add(i)
        copy = dict(rows[i])
        if kind == "conflict":
            copy["units"] = "7"
            expected[i] = "conflicting_duplicate"
        rows.append(copy)
        truth_allowed.append(truth_allowed[i])
        truth_paid.append(truth_paid[i])
        expected.append("duplicate_line" if kind == "exact" else "conflicting_duplicate")
    return pd.DataFrame(rows), truth_allowed, truth_paid, expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_frames())
def test_property_rows_and_dollars_reconcile_exactly(case):
    frame, truth_allowed, truth_paid, expected = case
    result = validate_lines(frame)
    with tempfile.TemporaryDirectory() as tmp:  # the lean reader agrees on every case
        path = Path(tmp) / "case.csv"
        frame.to_csv(path, index=False)
        _same_as_load_claims(path)
    report = result.report
    n = len(frame)
    assert report.rows_read == n == len(result.lines) + len(result.quarantine)
    assert report.reconciles
    # every row is where the damage says it must be, with the reason it must have
    q = result.quarantine
    got = dict.fromkeys(range(n))
    for r, reason in zip(q["source_row"], q["reason"], strict=True):
        assert got[r - 1] is None  # quarantined at most once
        got[r - 1] = reason
    assert [got[i] for i in range(n)] == expected
    # dollars against the generator's own cents, not the loader's arithmetic
    for col, truth in (("allowed_usd", truth_allowed), ("paid_usd", truth_paid)):
        totals = report.amounts[col]
        read = sum(t for t in truth if t is not None)
        quarantined = sum(truth[r - 1] for r in q["source_row"] if truth[r - 1] is not None)
        accepted = int(np.rint(result.lines[col].dropna().to_numpy() * 100).sum())
        assert (totals.read_cents, totals.quarantined_cents) == (read, quarantined)
        assert totals.accepted_cents == accepted == read - quarantined
        assert totals.unparsed_rows == sum(
            1 for i in range(n) if expected[i] == "bad_amount" and col == "allowed_usd")


def test_amount_grammar_reference_values():
    # cents worked out by hand; rounding half up at the third decimal
    texts = ["0", "0.5", ".5", "12.345", "12.344", "$1,234,567.89", "-$3", "$-3", "(4.50)",
             "+2", "1e3", "1,2345", "--1", "", "(-1)"]
    frame = pd.DataFrame([row(claim_id=f"C{i}", allowed_usd=t) for i, t in enumerate(texts)])
    result = validate_lines(frame)
    lines = result.lines.set_index("claim_id")["allowed_usd"]
    assert lines.dropna().to_dict() == {"C0": 0.0, "C1": 0.5, "C2": 0.5, "C3": 12.35,
                                        "C4": 12.34, "C9": 2.0, "C10": 1000.0}
    assert np.isnan(lines["C13"])  # empty: missing, priced downstream
    q = result.quarantine.set_index("claim_id")["reason"].to_dict()
    # $1,234,567.89 parses (its cents are read) but is above the $100,000 cap of a line
    assert q == {"C5": "amount_above_cap", "C6": "negative_amount", "C7": "negative_amount",
                 "C8": "negative_amount", "C11": "bad_amount", "C12": "bad_amount",
                 "C14": "bad_amount"}
    expected_read = sum(int(Decimal(x).quantize(Decimal("0.01"), ROUND_HALF_UP) * 100) for x in
                        ["0", "0.5", "0.5", "12.345", "12.344", "1234567.89", "-3", "-3",
                         "-4.50", "2", "1000"])
    assert result.report.amounts["allowed_usd"].read_cents == expected_read
