"""Tests for analysis.scale: streaming and Dask summaries equal the in-memory one.

The hand-made fixture spreads practice P1 over a Parquet file and a CSV file, links a
3D line in the CSV to an encounter in the Parquet file, and plants every kind of
duplicate (an exact repeat across files, a conflict within a practice, a conflict
across practices, which lands in two buckets), damaged codes the filter must not drop
(``" 74177"``, ``76376.0``, codes stored as integers), an irrelevant line and a bad row.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import claims, synth
from analysis.claims.pieces import keep_mask, lines_to_arrow
from analysis.claims.rules import AMOUNT_COLUMNS
from analysis.cli import main
from analysis.codes import normalize_cpt
from analysis.encounters import link
from analysis.errors import InputError
from analysis.revenue_engine import price_baskets
from analysis.scale import (
    StreamSettings,
    key_hash,
    relevant_codes,
    summarize_files,
    summary_for_cli,
)
from analysis.scale.runners import pack
from analysis.scale.spill import bucket_of
from analysis.summary import practice_totals, summarize

COLS = ["claim_id", "line_number", "practice_id", "patient_id", "service_date", "cpt_code",
        "units", "payer", "diagnosis_codes", "allowed_usd"]


def _rows(*rows):
    return pd.DataFrame([dict(zip(COLS, r, strict=True)) for r in rows])


# file a (Parquet, 2-row row groups)
FILE_A = _rows(
    ("A1", 1, "P1", "X", "2024-03-01", "74177", 1, "BCBSNC", "R10.9", 100.00),   # enc X 03-01
    ("A2", 1, "P1", "Y", "2024-03-02", "70450", 1, "BCBSNC", "C71.9", 50.00),    # enc Y (onc)
    ("A2", 2, "P1", "Y", "2024-03-02", "76377", 1, "BCBSNC", "C71.9", 30.00),    # 3D on Y
    ("D1", 1, "P1", "Y", "2024-03-02", "70450", 1, "BCBSNC", "C71.9", 50.00),    # repeated in b
    ("D2", 1, "P1", "Z", "2024-04-01", "74177", 1, "BCBSNC", "R10.9", 80.00),    # conflict in b
    ("K1", 1, "P1", "Z", "2024-04-01", "74177", 1, "BCBSNC", "R10.9", 70.00),    # also P2 in b
    ("O1", 1, "P1", "X", "2024-03-01", "99213", 1, "BCBSNC", "R10.9", 40.00),    # irrelevant
)
# file b (CSV): damaged codes, the linked 3D line, the other half of the duplicates
FILE_B = _rows(
    ("B1", 1, "P1", "X", "2024-03-03", "76376.0", 1, "BCBSNC", "R10.9", 25.00),  # -> enc X
    ("B2", 1, "P2", "W", "2024-05-05", " 74177", 2, "MEDICARE", "R10.9", 90.00),  # enc W
    ("D1", 1, "P1", "Y", "2024-03-02", "70450", 1, "BCBSNC", "C71.9", 50.00),    # exact repeat
    ("D2", 1, "P1", "Z", "2024-04-01", "74177", 1, "BCBSNC", "R10.9", 81.00),    # conflict
    ("K1", 1, "P2", "Z", "2024-04-01", "74177", 1, "BCBSNC", "R10.9", 70.00),    # other practice
    ("E1", 1, "P2", "W", "2024-13-01", "74177", 1, "MEDICARE", "R10.9", 5.00),   # bad_date
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("scale")
    a, b = d / "a.parquet", d / "b.csv"
    pq.write_table(pa.Table.from_pandas(FILE_A, preserve_index=False), a, row_group_size=2)
    FILE_B.to_csv(b, index=False)
    # codes stored as integers in a third file (a spreadsheet export): P3
    c = d / "c.parquet"
    pq.write_table(pa.table({
        "claim_id": ["C1", "C1"], "line_number": [1, 2], "practice_id": ["P3", "P3"],
        "patient_id": ["V", "V"], "service_date": ["2024-06-01", "2024-06-01"],
        "cpt_code": pa.array([74177, 76376], pa.int64()), "units": [1, 1],
        "payer": ["BCBSNC", "BCBSNC"]}), c)
    return [str(a), str(b), str(c)]


@pytest.fixture(scope="module")
def memory(files):
    return summarize(claims.load_claims(files).lines)


@pytest.fixture(scope="module")
def memory_baskets(files):
    return price_baskets(link(claims.load_claims(files).lines).lines_3d)


# Practices whose price baskets follow each branch of the rule (price_baskets): Q1 has
# a 3D line with an observed amount and one without (only the unpriced one counts); Q2,
# in South Carolina, has every amount observed (all its compliant lines count, not the
# 76376 beside a CTA, which is non-compliant); Q3 has no state (North Carolina's).
BASKET_LINES = pd.DataFrame([
    dict(claim_id=c, line_number=n, practice_id=pr, patient_id=pa, service_date=d,
         cpt_code=code, modifiers=mod, units=u, place_of_service=pos, payer="BCBSNC",
         diagnosis_codes="R10.9", allowed_usd=usd, state=st)
    for c, n, pr, pa, d, code, mod, u, pos, usd, st in [
        ("G1", 1, "Q1", "M1", "2024-02-01", "74177", "26", 1, "22", 100.0, "NC"),
        ("G1", 2, "Q1", "M1", "2024-02-01", "76376", "26", 1, "22", 30.0, "NC"),
        ("G2", 1, "Q1", "M2", "2024-02-02", "71250", None, 1, "11", 70.0, "NC"),
        ("G2", 2, "Q1", "M2", "2024-02-02", "76377", None, 1, "11", None, "NC"),
        ("G3", 1, "Q2", "M3", "2024-05-01", "74177", "26", 1, "22", 90.0, "SC"),
        ("G3", 2, "Q2", "M3", "2024-05-01", "76376", "26", 1, "22", 25.0, "SC"),
        ("G4", 1, "Q2", "M4", "2024-05-02", "71275", "26", 1, "22", 120.0, "SC"),
        ("G4", 2, "Q2", "M4", "2024-05-02", "76376", "26", 1, "22", 20.0, "SC"),
        ("G5", 1, "Q3", "M5", "2024-08-01", "70450", None, 1, None, None, None),
        ("G5", 2, "Q3", "M5", "2024-08-01", "76376", None, 2, None, None, None),
    ]])
BASKETS_BY_HAND = {
    "practice_id": ["Q1", "Q2", "Q3"], "cpt_code": ["76377", "76376", "76376"],
    "component": ["global", "26", "global"],
    "setting": ["non_facility", "facility", "non_facility"], "state": ["NC", "SC", "NC"],
    "units": [1.0, 1.0, 2.0]}


@pytest.fixture(scope="module")
def basket_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("baskets")
    a, b = d / "a.parquet", d / "b.csv"
    pq.write_table(pa.Table.from_pandas(BASKET_LINES.iloc[:5], preserve_index=False), a)
    BASKET_LINES.iloc[5:].to_csv(b, index=False)
    return [str(a), str(b)]


def test_every_engine_gives_each_practices_price_basket(files, memory_baskets,
                                                         basket_files):
    # The hand-made files: P1's two compliant 3D lines have amounts (76376 B1 and
    # 76377 A2, global, non-facility, NC: no modifier, place of service or state); P3's
    # 76376 has none; P2 has no 3D line and no basket.
    assert memory_baskets.to_dict("list") == {
        "practice_id": ["P1", "P1", "P3"], "cpt_code": ["76376", "76377", "76376"],
        "component": ["global"] * 3, "setting": ["non_facility"] * 3, "state": ["NC"] * 3,
        "units": [1.0, 1.0, 1.0]}
    for kw in (dict(), dict(n_buckets=8, batch_rows=2, rows_per_piece=2)):
        for engine in ("memory", "stream"):
            got = summarize_files(files, engine=engine, **kw).baskets
            pd.testing.assert_frame_equal(got, memory_baskets, check_exact=True)
    for engine in ("memory", "stream"):
        got = summarize_files(basket_files, engine=engine).baskets
        assert got.to_dict("list") == BASKETS_BY_HAND, engine


def test_relevant_codes_cover_link_roles():
    keep = relevant_codes()
    assert {"74177", "70450", "76376", "76377"} <= keep
    assert "99213" not in keep
    assert "70450" in keep and len(keep) > len(relevant_codes(ct_mr_exclude=["70450"])) - 1


def test_fixture_buckets_split_the_cross_practice_key():
    # the two practices of key K1 must land in different buckets for the test to bite
    b = bucket_of(pd.Series(["P1", "P2"], dtype="string"), 8)
    assert b[0] != b[1]


@pytest.mark.parametrize("kw", [dict(), dict(n_buckets=8, batch_rows=2, rows_per_piece=2),
                                dict(n_buckets=1, pushdown=False)])
def test_stream_equals_memory_on_the_hand_made_files(files, memory, kw):
    r = summarize_files(files, engine="stream", **kw)
    pd.testing.assert_frame_equal(r.summary, memory, check_exact=True)
    rep = r.report
    # a: 7 rows, 1 irrelevant; b: 6 rows; c: 2 rows. Read (relevant) = 6 + 6 + 2 = 14
    # (15 without the filter). Quarantined: bad_date E1; duplicate_line D1 (one copy);
    # conflicting_duplicate D2 x2 and K1 x2 -> 6. Accepted 14 - 6 = 8.
    filtered = 0 if kw.get("pushdown") is False else 1
    assert rep.rows_filtered_out == filtered
    assert rep.rows_read == 14 + (1 - filtered)
    assert rep.quarantined_by_reason["bad_date"] == 1
    assert rep.quarantined_by_reason["duplicate_line"] == 1
    assert rep.quarantined_by_reason["conflicting_duplicate"] == 4
    assert rep.rows_accepted == 8 + (1 - filtered)
    assert rep.reconciles
    # dollars read over relevant rows: a 100+50+30+50+80+70 = 380; b 25+90+50+81+70+5
    # = 321 -> 701.00; quarantined 5 + 50 + 80 + 81 + 70 + 70 = 356.00
    allowed = rep.amounts["allowed_usd"]
    assert allowed.read_cents == 70100 + (4000 if filtered == 0 else 0)
    assert allowed.quarantined_cents == 35600


def test_several_periods_link_once_and_equal_one_period_runs(files):
    both = summarize_files(files, period=("year", "quarter"))
    assert list(both.summaries) == ["year", "quarter"]
    pd.testing.assert_frame_equal(both.summary, both.summaries["year"])
    for period in ("year", "quarter"):
        alone = summarize_files(files, engine="memory", period=period).summary
        pd.testing.assert_frame_equal(both.summaries[period], alone, check_exact=True)
    assert set(both.summaries["quarter"]["period"]) <= {"2024Q1", "2024Q2", "2024Q3",
                                                        "2024Q4"}
    with pytest.raises(InputError, match="period"):
        summarize_files(files, period=("year", "month"))


def test_cli_engine_default_is_stream_and_memory_is_gone(tmp_path, capsys):
    import argparse

    from analysis.cli._common import engine_options, engine_settings
    p = argparse.ArgumentParser()
    engine_options(p)
    assert p.parse_args([]).engine == "stream"
    assert engine_settings(p.parse_args(["--memory-limit", "512MB"]))["memory_limit"] == "512MB"
    with pytest.raises(SystemExit):
        p.parse_args(["--engine", "memory"])
    assert "was removed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        p.parse_args(["--engine", "polars"])
    assert "invalid choice: 'polars'" in capsys.readouterr().err


def test_hand_worked_summary_of_practice_p1(files):
    t = practice_totals(summarize_files(files, engine="stream", n_buckets=8).summary)
    p1 = t.set_index("practice_id").loc["P1"]
    # encounters X (03-01) and Y (03-02, oncology); D1 kept once is on Y's encounter;
    # D2/K1 quarantined, so no encounter Z
    assert p1["n_encounters"] == 2
    assert p1["ct_mr_lines"] == 3  # A1, A2-1, D1
    # B1 (in the CSV, 76376.0 repaired) links to X two days later; A2-2 links to Y
    assert p1["n_encounters_3d"] == 2
    assert p1["n_separate_date_3d_lines"] == 1
    assert p1["n_orphan_3d_lines"] == 0
    assert p1["allowed_3d_76376_usd"] == 25.0
    p3 = t.set_index("practice_id").loc["P3"]  # integer codes read through the pushdown
    assert (p3["n_encounters"], p3["n_3d_lines"]) == (1, 1)


def test_hive_partitioned_directory(tmp_path):
    lines = synth.generate(3, rng=np.random.default_rng(3), scale=0.02).lines
    frame = claims.validate_lines(lines).lines
    root = tmp_path / "ds"
    for pid, part in frame.groupby("practice_id"):
        folder = root / f"practice_id={pid}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(part.drop(columns="practice_id"),
                                            preserve_index=False), folder / "part.parquet",
                       row_group_size=500)
    mem = summarize_files(root, engine="memory").summary
    got = summarize_files(root, engine="stream", n_buckets=3, rows_per_piece=1000)
    pd.testing.assert_frame_equal(got.summary, mem, check_exact=True)
    assert got.report.n_pieces > 3


def test_settings_are_validated_and_serializable():
    assert StreamSettings().to_dict()["engine"] == "stream"
    with pytest.raises(InputError, match="engine"):
        StreamSettings(engine="spark")
    with pytest.raises(InputError, match="batch_rows"):
        StreamSettings(batch_rows=0)
    assert StreamSettings(memory_limit="512MB").to_dict()["memory_limit"] == "512MB"
    with pytest.raises(InputError, match="memory_limit"):
        StreamSettings(memory_limit="lots")


def test_a_small_memory_limit_and_one_thread_give_the_same_summary(files, memory):
    got = summarize_files(files, memory_limit="16MB", threads=1)
    pd.testing.assert_frame_equal(got.summary, memory, check_exact=True)


def test_scheduler_without_dask_is_a_user_error(files):
    with pytest.raises(InputError, match="dask"):
        summarize_files(files, engine="stream", scheduler="tcp://127.0.0.1:1")


def test_missing_file_names_it(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        summarize_files(tmp_path / "nope.parquet", engine="stream")


def test_summary_for_cli_reads_the_sample_by_default():
    r = summary_for_cli([], engine="stream", period="quarter")
    assert r.report.reconciles and r.report.rows_accepted > 100_000
    assert set(r.summary["period"].str[-2:]) <= {"Q1", "Q2", "Q3", "Q4"}


# ------------------------------------------------------------------------ Dask


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def split_synthetic(tmp_path_factory):
    """Six synthetic practices cut into three files at arbitrary rows, so practices
    (and patients' encounters and their 3D lines) straddle files, pieces and buckets."""
    lines = synth.generate(6, rng=np.random.default_rng(11), scale=0.05).lines
    d = tmp_path_factory.mktemp("split")
    cuts = [0, len(lines) // 3 + 17, 2 * len(lines) // 3 + 5, len(lines)]
    # shuffle a little so 3D lines often sit in a later file than their encounter
    order = np.random.default_rng(0).permutation(len(lines))
    shuffled = lines.iloc[order].reset_index(drop=True)
    paths = []
    for i in range(3):
        part = shuffled.iloc[cuts[i]:cuts[i + 1]]
        p = d / f"part{i}.parquet"
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), p,
                       row_group_size=3000)
        paths.append(str(p))
    return paths


def test_the_default_checks_a_many_piece_input_in_one_process_per_core(split_synthetic,
                                                                      monkeypatch):
    # the machine's cores, at most one per piece and at most four; one piece: no pool
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    many = summarize_files(split_synthetic, engine="stream", rows_per_piece=5000)
    assert many.report.n_pieces >= 6 and many.report.settings["workers"] == 2
    one = summarize_files(split_synthetic[0], engine="stream")
    assert one.report.n_pieces == 1 and one.report.settings["workers"] == 1
    pd.testing.assert_frame_equal(
        many.summary, summarize_files(split_synthetic, engine="stream", workers=1,
                                      rows_per_piece=5000).summary, check_exact=True)


def test_stream_in_two_processes_equals_memory(split_synthetic):
    mem = summarize_files(split_synthetic, engine="memory")
    # pieces of 5,000 rows are checked in two worker processes; DuckDB then resolves
    # duplicates, links and summarizes what they spilled, in this process
    got = summarize_files(split_synthetic, engine="stream", workers=2, rows_per_piece=5000)
    assert got.report.settings["workers"] == 2 and got.report.n_pieces >= 6
    pd.testing.assert_frame_equal(got.summary, mem.summary, check_exact=True)
    # the synthetic practices bill -26 in hospitals and global in offices
    assert set(mem.baskets["component"]) == {"26", "global"}
    pd.testing.assert_frame_equal(got.baskets, mem.baskets, check_exact=True)


def test_dask_equals_memory_and_stream(cluster, files, memory, memory_baskets,
                                      basket_files, split_synthetic):
    dask_small = summarize_files(files, engine="dask", scheduler=cluster.scheduler_address,
                                 n_buckets=8, batch_rows=2, rows_per_piece=2)
    pd.testing.assert_frame_equal(dask_small.summary, memory, check_exact=True)
    assert dask_small.report.quarantined_by_reason["conflicting_duplicate"] == 4
    # each unit's baskets, concatenated: the practices' own (units hold whole practices)
    pd.testing.assert_frame_equal(dask_small.baskets, memory_baskets, check_exact=True)
    by_hand = summarize_files(basket_files, engine="dask", n_buckets=3,
                              scheduler=cluster.scheduler_address).baskets
    assert by_hand.to_dict("list") == BASKETS_BY_HAND

    mem = summarize_files(split_synthetic, engine="memory")
    stream = summarize_files(split_synthetic, engine="stream", n_buckets=4,
                             rows_per_piece=5000)
    on_dask = summarize_files(split_synthetic, engine="dask",
                              scheduler=cluster.scheduler_address, n_buckets=4,
                              rows_per_piece=5000)
    assert on_dask.report.n_pieces >= 6 and on_dask.report.n_buckets == 4
    assert practice_totals(mem.summary)["n_separate_date_3d_lines"].sum() > 0
    pd.testing.assert_frame_equal(stream.summary, mem.summary, check_exact=True)
    pd.testing.assert_frame_equal(on_dask.summary, mem.summary, check_exact=True)
    assert on_dask.report.rows_accepted == stream.report.rows_accepted
    pd.testing.assert_frame_equal(stream.baskets, mem.baskets, check_exact=True)
    pd.testing.assert_frame_equal(on_dask.baskets, mem.baskets, check_exact=True)


# ------------------------------------------------- typed fast path (Parquet)

# One clean row, then rows each damaged in one way. Columns are stored with their
# canonical Arrow types (text, int64, date32, float64), so check_piece takes the
# typed fast path; every damaged row must fall back to the text checks and end as
# load_claims ends it (repaired, or quarantined with the same reason).
_CLEAN = dict(claim_id="T0", line_number=1, practice_id="P9", patient_id="Q",
              service_date="2024-03-01", cpt_code="74177", modifiers="26",
              units=1, place_of_service="22", payer="BCBSNC", diagnosis_codes="R10.9",
              allowed_usd=100.0, paid_usd=80.0, rendering_npi="1234567893", state="NC")
_DAMAGED = [  # (change, what the text checks do with it)
    (dict(), "clean"),
    (dict(practice_id=" P9"), "repaired: whitespace"),
    (dict(modifiers="NA"), "repaired: null token -> missing"),
    (dict(payer="bcbsnc"), "repaired: upper-cased"),
    (dict(cpt_code="76376.0"), "repaired: suffix dropped"),
    (dict(state="nc"), "repaired: upper-cased"),
    (dict(diagnosis_codes="r10.9, C71.9"), "repaired: upper-cased, separators"),
    (dict(allowed_usd=10.005), "repaired: rounded to the cent"),
    (dict(allowed_usd=float("nan")), "repaired: NaN read as missing"),
    (dict(allowed_usd=None), "clean: missing optional amount"),
    (dict(rendering_npi=None, modifiers=None, state=None), "clean: missing optionals"),
    (dict(place_of_service="2"), "repaired: zero-padded"),
    (dict(service_date="1999-12-31"), "bad_date"),
    (dict(service_date="2099-12-31"), "outside_study_window"),
    (dict(units=0), "units_not_positive"),
    (dict(units=-2), "units_not_positive"),
    (dict(line_number=0), "bad_line_number"),
    (dict(allowed_usd=-5.0), "negative_amount"),
    (dict(paid_usd=1e12), "bad_amount"),
    (dict(allowed_usd=float("inf")), "bad_amount"),
    (dict(allowed_usd=-0.0), "clean: negative zero is zero"),
    (dict(units=10**10), "bad_units"),
    (dict(line_number=-3), "bad_line_number"),
    (dict(allowed_usd=100_000.01), "amount_above_cap"),
    (dict(rendering_npi="1234567890"), "invalid_npi_check_digit"),
    (dict(rendering_npi="123456789"), "invalid_npi"),
    (dict(place_of_service="00"), "invalid_pos"),
    (dict(state="XX"), "invalid_state"),
    (dict(claim_id=""), "missing_required"),
    (dict(patient_id="NULL"), "missing_required"),
    (dict(payer=None), "missing_required"),
    (dict(cpt_code="7637"), "filtered out"),  # not a code that matters, even padded
    (dict(modifiers="2"), "invalid_modifier"),
    (dict(diagnosis_codes="10.9"), "invalid_diagnosis"),
    (dict(cpt_code="99213"), "filtered out"),
]


@pytest.fixture(scope="module")
def typed_dirty(tmp_path_factory):
    rows = [_CLEAN | change | dict(claim_id=change.get("claim_id", f"T{i}"))
            for i, (change, _) in enumerate(_DAMAGED)]
    schema = claims.CANONICAL_ARROW_SCHEMA
    table = pa.table({
        c: (pa.array([pd.Timestamp(r[c]).date() for r in rows], pa.date32())
            if c == "service_date" else pa.array([r[c] for r in rows], t))  # NaN stays NaN
        for c, t in zip(schema.names, schema.types, strict=True)})
    path = tmp_path_factory.mktemp("typed") / "typed.parquet"
    pq.write_table(table, path)
    assert pq.read_schema(path).field("units").type == pa.int64()
    return str(path)


def _checked(path, **kw):
    from analysis.claims.sources import expand_paths
    from analysis.claims.window import check_settings

    piece = claims.plan_pieces(path)[0]
    checks = check_settings(expand_paths(path))  # as summarize_files does
    out = list(claims.check_piece(piece, keep_codes=relevant_codes(), as_arrow=True,
                                  checks=checks, **kw))
    counts = {k: sum(getattr(b, k) for b in out)
              for k in ("rows_read", "rows_filtered_out", "blank_rows")}
    counts["quarantined"] = {r: sum(b.quarantined_by_reason.get(r, 0) for b in out)
                             for r in claims.QUARANTINE_REASONS}
    counts["cents"] = {c: sum(b.read_cents.get(c, 0) for b in out) for c in AMOUNT_COLUMNS}
    counts["unparsed"] = {c: sum(b.unparsed_rows.get(c, 0) for b in out)
                          for c in AMOUNT_COLUMNS}
    return pa.concat_tables([b.candidates for b in out]), counts


@pytest.fixture(scope="module")
def text_dirty(typed_dirty, tmp_path_factory):
    """The same rows as ``typed_dirty`` with every column stored as text."""
    from analysis.claims.sources import arrow_to_string

    table = pq.read_table(typed_dirty)
    text = pa.table({c: arrow_to_string(table.column(c), "typed.parquet", c)
                     for c in table.column_names})
    path = tmp_path_factory.mktemp("text") / "text.parquet"
    pq.write_table(text, path)
    return str(path)


def test_typed_and_text_columns_get_the_same_checks_row_for_row(typed_dirty, text_dirty):
    # one implementation of the row checks: typed values and their text give the same
    # accepted rows, values, order, quarantine reasons, cents and unparsed counts
    typed, typed_counts = _checked(typed_dirty)
    text, text_counts = _checked(text_dirty)
    assert pq.read_schema(typed_dirty).field("allowed_usd").type == pa.float64()
    assert pq.read_schema(text_dirty).field("allowed_usd").type == pa.string()
    assert typed.equals(text)
    assert typed_counts == text_counts
    expected = {r: sum(w == r for _, w in _DAMAGED) for r in claims.QUARANTINE_REASONS}
    assert typed_counts["quarantined"] == expected
    assert typed_counts["rows_filtered_out"] == 2
    # 35 rows: 2 filtered out, 20 quarantined (3 missing_required, 2 units), 13 accepted
    assert sum(expected.values()) == 20
    assert typed.num_rows == 13


def test_dictionary_and_plain_parquet_columns_get_the_same_checks(typed_dirty, tmp_path):
    # text columns whose values repeat are read as dictionaries and judged once per
    # distinct value: the same verdicts as a file stored without dictionaries, in a
    # batch large enough for the distinct-value path (> 4,096 rows)
    table = pq.read_table(typed_dirty)
    big = pa.concat_tables([table] * 200)
    big = big.set_column(0, "claim_id",
                         pa.array([f"C{i}" for i in range(big.num_rows)], pa.string()))
    plain, stored = tmp_path / "plain.parquet", tmp_path / "dict.parquet"
    pq.write_table(big, plain, use_dictionary=False)
    pq.write_table(big, stored, use_dictionary=True)
    a, a_counts = _checked(str(plain))
    b, b_counts = _checked(str(stored))
    assert a.equals(b) and a_counts == b_counts
    assert a_counts["quarantined"]["invalid_state"] == 200
    mem_a, mem_b = claims.load_claims(str(plain)), claims.load_claims(str(stored))
    pd.testing.assert_frame_equal(mem_a.quarantine.drop(columns="source_file"),
                                  mem_b.quarantine.drop(columns="source_file"))
    assert mem_a.report.repairs == mem_b.report.repairs


def test_typed_columns_load_like_text_in_memory(typed_dirty, text_dirty):
    typed, text = claims.load_claims(typed_dirty), claims.load_claims(text_dirty)
    pd.testing.assert_frame_equal(typed.lines, text.lines, check_exact=True)
    pd.testing.assert_frame_equal(
        typed.quarantine.drop(columns="source_file"),
        text.quarantine.drop(columns="source_file"), check_exact=True)
    assert typed.report.repairs == text.report.repairs
    assert typed.report.quarantined_by_reason == text.report.quarantined_by_reason


def test_typed_stream_equals_memory(typed_dirty):
    mem = summarize_files(typed_dirty, engine="memory")
    got = summarize_files(typed_dirty, engine="stream")
    pd.testing.assert_frame_equal(got.summary, mem.summary, check_exact=True)
    assert got.report.reconciles
    # the memory engine also validates the two rows whose codes do not matter
    # ("7637" is invalid_cpt there; "99213" is accepted)
    assert got.report.quarantined_by_reason == (mem.report.quarantined_by_reason
                                                | {"invalid_cpt": 0})
    assert got.report.rows_read == mem.report.rows_read - 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**10 - 1), min_size=1, max_size=50))
def test_integer_npi_check_equals_the_text_check(npis):
    text = pd.Series([f"{x:010d}" for x in npis], dtype="string")
    assert claims.npi_check_digits_ok_int(np.array(npis)).tolist() == (
        claims.npi_check_digit_ok(text).tolist())


def test_keep_mask_equals_normalize_cpt():
    keep = relevant_codes()
    values = ["74177", " 74177", "76376.0", "7637", "100", "99213", "0523t", None, "",
              "76377 ", "ABCDE"]
    arr = pa.array(values, pa.string())
    want = normalize_cpt(pd.Series(values, dtype="string")).isin(keep).fillna(False)
    got = keep_mask(arr, pa.array(sorted(keep)))
    assert got.tolist() == want.tolist()
    ints = pa.array([74177, 76376, 99213, None], pa.int64())  # codes stored as numbers
    assert keep_mask(ints, pa.array(sorted(keep))).tolist() == [True, True, False, False]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=70), st.integers(1, 99)),
                min_size=1, max_size=30))
def test_key_hash_is_equal_for_equal_keys(keys):
    ids, lines = [k for k, _ in keys], [n for _, n in keys]
    h = key_hash(pa.array(ids + ids), lines + lines)
    assert (h[: len(ids)] == h[len(ids):]).all()
    # distinct keys almost never collide; for these few, never
    assert len(set(h.tolist())) == len(set(keys))


def test_pack_balances_shards_into_units():
    sizes = np.array([5, 0, 3, 3, 2, 2, 1])
    units = pack(sizes, 2)
    # LPT: 5 -> u0; 3 -> u1; 3 -> u1 (3 < 5); 2 -> u0 (5 < 6); 2 -> u1? no: u0 = 7,
    # u1 = 6 -> u1 = 8; 1 -> u0 = 8. Empty shard 1 is left out.
    assert sorted(units) == [[0, 4, 6], [2, 3, 5]]
    assert sorted(int(sizes[u].sum()) for u in units) == [8, 8]


# -------------------------------------------------------------------- CLI


def _lcd_csv(tmp_path, name, *extra):
    out = tmp_path / name
    assert main(["lcd", *extra, "--out", str(out)]) == 0
    return pd.read_csv(out / "lcd_screen.csv")


def test_cli_lcd_engines_agree(tmp_path, split_synthetic, cluster):
    # the default (stream, DuckDB) against Dask; both equal the in-memory reference
    # summary (test_dask_equals_memory_and_stream)
    default = _lcd_csv(tmp_path, "default", *split_synthetic)
    on_dask = _lcd_csv(tmp_path, "dask", *split_synthetic, "--engine", "dask",
                       "--scheduler", cluster.scheduler_address)
    assert len(default) == 6
    pd.testing.assert_frame_equal(on_dask, default, check_exact=True)


# -------------------------------------------------------------- bounded memory

_CHILD = textwrap.dedent("""
    import json, resource, sys
    from analysis.scale import summarize_files
    engine, path = sys.argv[1], sys.argv[2]
    r = summarize_files(path, engine=engine, batch_rows=50_000, rows_per_piece=100_000,
                        bucket_rows=100_000)
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "accepted": r.report.rows_accepted,
                      "largest": r.report.largest_bucket_rows}))
""")


@pytest.mark.slow
def test_stream_peak_memory_stays_under_a_cap_the_memory_engine_exceeds(tmp_path):
    # 51 copies of 4 small synthetic practices (~32k lines), each copy with its own
    # practice and claim ids: ~1.6 M lines in 204 practices of ~8k lines. Loading them
    # all takes ~1.5 GB; streaming ~0.4 GB (up to ~0.6 GB seen on a busy machine), so
    # the cap sits well clear of both.
    cap_mb = 1000
    lines = claims.validate_lines(
        synth.generate(4, rng=np.random.default_rng(5), scale=0.2).lines).lines
    base = lines_to_arrow(lines)
    path = tmp_path / "big.parquet"
    with pq.ParquetWriter(path, base.schema) as writer:
        for i in range(1_600_000 // len(lines) + 1):
            copy = base
            for col in ("practice_id", "claim_id"):
                suffixed = pc.binary_join_element_wise(copy.column(col), f"-{i}", "")
                copy = copy.set_column(copy.schema.get_field_index(col), col, suffixed)
            writer.write_table(copy, row_group_size=50_000)

    def peak(engine):
        out = subprocess.run([sys.executable, "-c", _CHILD, engine, str(path)], check=True,
                             capture_output=True, text=True, timeout=300)
        return json.loads(out.stdout.strip().splitlines()[-1])

    streamed, loaded = peak("stream"), peak("memory")
    assert streamed["accepted"] == loaded["accepted"] > 1_600_000
    assert loaded["peak_mb"] > cap_mb, loaded  # loading it all would break the cap
    assert streamed["peak_mb"] < cap_mb, streamed


def test_progress_counts_lines_quarantine_and_practices_of_a_run(files):
    import io

    from analysis.scale import Progress
    out = io.StringIO()
    r = summarize_files(files, n_buckets=8, progress=Progress(out, live=True))
    text = out.getvalue()
    assert "\r" in text and text.endswith("\n")
    assert text.count("\n") == 1  # the status line is rewritten, then one summary line
    last = text.rsplit("\r", 1)[-1]
    rep = r.report
    assert (f"{rep.rows_read:,} lines read, {rep.rows_quarantined:,} quarantined, "
            f"{rep.rows_accepted:,} accepted") in last
    assert f"{r.summary['practice_id'].nunique()} practices" in last
    quiet = io.StringIO()
    summarize_files(files, progress=Progress(quiet, enabled=False))
    assert quiet.getvalue() == ""


def test_report_inputs_say_what_the_claims_reader_did(files):
    # rad3d report's preparation reports its reading too: off a terminal, one line
    import io

    from analysis.run.inputs import prepare_inputs
    from analysis.scale import Progress
    out = io.StringIO()
    inputs = prepare_inputs(files, progress=Progress(out, live=False))
    rep = inputs.info["claims_report"]
    assert out.getvalue() == (
        f"claims: {rep['rows_read']:,} lines read, {rep['rows_quarantined']:,} quarantined, "
        f"{rep['rows_accepted']:,} accepted, {len(inputs.practices)} practices in "
        + out.getvalue().rsplit(" in ", 1)[1])
    assert out.getvalue().endswith(" s\n") and out.getvalue().count("\n") == 1
