"""Tests for analysis.synth: the synthetic claims generator, streaming, and damage."""

from __future__ import annotations

import gzip
import hashlib
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import codes, synth
from analysis.cli import main
from analysis.errors import InputError
from analysis.synth.practices import draw_practices


def _hash(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy()).hexdigest()


def _luhn_ok(npi: str) -> bool:
    """Independent Luhn check over the full 15-digit '80840' + NPI string."""
    digits = [int(c) for c in "80840" + npi]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2
            d = d - 9 if d > 9 else d
        total += d
    return total % 10 == 0


@pytest.fixture(scope="module")
def small() -> synth.Synthetic:
    # 6 practices at 1/100 of full size: a few thousand lines, fast.
    return synth.generate(6, rng=np.random.default_rng(11), scale=0.01)


@pytest.fixture(scope="module")
def sample_lines() -> pd.DataFrame:
    return synth.read_lines(synth.SAMPLE_CLAIMS)


# ------------------------------------------------------------------ NPIs


def test_npi_check_digit_matches_the_cms_example():
    # CMS NPI check-digit example: 123456789 -> check digit 3 (NPI 1234567893).
    assert synth.npi_check_digit(np.array([123456789])).tolist() == [3]
    assert _luhn_ok("1234567893") and not _luhn_ok("1234567894")


def test_every_generated_npi_is_valid_and_belongs_to_one_practice(small):
    npis = small.lines["rendering_npi"]
    assert npis.str.fullmatch(r"\d{10}").all()
    assert all(_luhn_ok(n) for n in npis.unique())
    assert small.lines.groupby("rendering_npi")["practice_id"].nunique().max() == 1


# ------------------------------------------------------------ determinism


def test_same_seed_same_lines_different_seed_different_lines():
    a = synth.generate(3, rng=np.random.default_rng(5), scale=0.01)
    b = synth.generate(3, rng=np.random.default_rng(5), scale=0.01)
    c = synth.generate(3, rng=np.random.default_rng(6), scale=0.01)
    assert _hash(a.lines) == _hash(b.lines)
    pd.testing.assert_frame_equal(a.practices, b.practices)
    assert _hash(a.lines) != _hash(c.lines)


def test_streamed_parquet_and_csv_equal_in_memory_lines(tmp_path):
    mem = synth.generate(4, rng=np.random.default_rng(3), scale=0.01)
    # batch_lines=400 forces several batches (row groups) across practice boundaries.
    out = synth.write_synthetic(
        tmp_path / "s.parquet", 4, rng=np.random.default_rng(3), scale=0.01, batch_lines=400
    )
    table = pq.read_table(tmp_path / "s.parquet")
    assert pq.ParquetFile(tmp_path / "s.parquet").num_row_groups >= 4
    assert table.equals(synth.to_arrow(mem.lines))
    pd.testing.assert_frame_equal(out.practices, mem.practices)
    pd.testing.assert_frame_equal(synth.read_lines(tmp_path / "s.parquet"), mem.lines)

    synth.write_synthetic(
        tmp_path / "s.csv.gz", 4, rng=np.random.default_rng(3), scale=0.01, batch_lines=400
    )
    synth.write_lines(mem.lines, tmp_path / "m.csv.gz")
    assert (tmp_path / "s.csv.gz").read_bytes() == (tmp_path / "m.csv.gz").read_bytes()
    pd.testing.assert_frame_equal(synth.read_lines(tmp_path / "s.csv.gz"), mem.lines)


def test_file_bytes_are_reproducible(tmp_path):
    for name in ("a", "b"):
        synth.write_synthetic(tmp_path / f"{name}.parquet", 2, rng=np.random.default_rng(9),
                              scale=0.005, truth=tmp_path / f"{name}.csv")  # fmt: skip
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary file


# ------------------------------------------------------------------ schema


def test_lines_follow_the_canonical_schema(small):
    lines = small.lines
    assert tuple(lines.columns) == synth.CLAIM_COLUMNS
    assert not lines.duplicated(["claim_id", "line_number"]).any()
    assert lines["line_number"].min() == 1 and lines["units"].eq(1).all()
    assert lines["service_date"].dt.year.eq(2024).all()
    assert lines["state"].eq("NC").all() and lines["payer"].isin(synth.PAYERS).all()
    assert codes.is_valid_cpt(lines["cpt_code"]).all()
    assert (codes.is_ct_mr(lines["cpt_code"]) | codes.is_3d(lines["cpt_code"])).all()
    # Global at POS 11, professional component (-26) at a facility.
    office = lines["place_of_service"].eq("11")
    assert lines.loc[office, "modifiers"].isna().all()
    assert lines.loc[~office, "modifiers"].eq("26").all()
    assert lines.loc[~office, "place_of_service"].isin(["19", "21", "22", "23"]).all()
    assert lines["patient_id"].str.fullmatch(r"P\d+").all()
    assert lines.groupby("patient_id")["practice_id"].nunique().max() == 1
    assert codes.in_icd10_set(lines["diagnosis_codes"], [("A00", "Z99")]).all()


def test_amounts_are_priced_from_the_fee_schedule(small):
    lines = small.lines
    assert lines["allowed_usd"].notna().all()
    assert (lines["paid_usd"] <= lines["allowed_usd"]).all() and (lines["paid_usd"] >= 0).all()
    assert lines.loc[lines["payer"].eq("SELF_PAY"), "paid_usd"].eq(0).all()
    # NC 76376-26, facility: [(0.20 x 1.000) + (0.07 x 0.926) + (0.01 x 0.665)] = 0.27147 RVU
    # x CF 32.7442 (to 2024-03-08) = 8.889 -> $8.89; x CF 33.2875 (from 03-09) = 9.036 -> $9.04.
    # Medicare pays 80 %: $7.11 and $7.23. Medicaid: 0.75 x $9.04 = $6.78, paid in full.
    pro = lines[lines["cpt_code"].eq("76376") & lines["modifiers"].eq("26")]
    early = pro["service_date"] < "2024-03-09"
    medicare = pro["payer"].eq("MEDICARE")
    assert set(pro.loc[medicare & early, ["allowed_usd", "paid_usd"]].itertuples(
        index=False, name=None)) <= {(8.89, 7.11)}  # fmt: skip
    assert set(pro.loc[medicare & ~early, ["allowed_usd", "paid_usd"]].itertuples(
        index=False, name=None)) == {(9.04, 7.23)}  # fmt: skip
    medicaid_late = pro.loc[pro["payer"].eq("MEDICAID") & ~early, "allowed_usd"]
    assert set(medicaid_late) <= {6.78} and len(medicaid_late) > 0
    # Commercial: the practice's contract factor (about 1.8) times line noise.
    bcbs = pro.loc[pro["payer"].eq("BCBSNC") & ~early, "allowed_usd"] / 9.0365
    assert 1.3 < bcbs.median() < 2.4


# ------------------------------------------------------------ calibration


def test_practice_sizes_fit_the_published_bands():
    practices = draw_practices(20_000, np.random.default_rng(1), synth.SynthSettings())
    bands = pd.cut(practices["fte_radiologists"], [0, 4, 14, 29, np.inf]).value_counts(
        normalize=True, sort=False
    )
    # Published: 1-4 FTE 22 %, 5-14 38 %, 15-29 21 %, 30+ 19 %.
    # Lognormal(2.385, 1.14): scipy.stats.norm.cdf((log(4.5) - 2.385) / 1.14) = 0.2198 etc.
    cut = stats.norm.cdf((np.log([4.5, 14.5, 29.5]) - 2.385) / 1.14)
    assert np.allclose(np.diff(np.r_[0, cut, 1]), [0.22, 0.38, 0.21, 0.19], atol=0.005)
    assert np.allclose(bands.to_numpy(), [0.22, 0.38, 0.21, 0.19], atol=0.015)
    q1, q3 = practices["studies_per_fte"].quantile([0.25, 0.75])
    assert 1.5 <= q3 / q1 <= 1.7  # published practice volumes: 75th percentile ~1.5-1.65 x the 25th
    assert practices["npi_stems"].explode().is_unique


def test_sample_practices_are_calibrated():
    syn = synth.generate(40, rng=np.random.default_rng(2024))
    p = syn.practices
    rate = p["rate_3d"]
    assert ((rate >= 0.02) & (rate <= 0.15)).mean() >= 0.6  # most practices 2-15 %
    assert 2 <= (rate > 0.20).sum() <= 12  # a minority above 20 %
    heavy = p[p["profile"].eq("oncology_heavy")]
    assert len(heavy) == 4 and (heavy["rate_3d"] > heavy["rate_3d_nononc"] + 0.05).all()
    assert p["n_encounters"].min() >= 100 and p["n_encounters"].median() > 500
    totals = p[["units_3d_76376", "units_3d_76377", "n_3d_lines", "n_noncompliant_3d_lines",
                "n_separate_date_3d_lines", "n_orphan_3d_lines"]].sum()  # fmt: skip
    assert totals["units_3d_76376"] > 2 * totals["units_3d_76377"]
    assert 0.01 < totals["n_noncompliant_3d_lines"] / totals["n_3d_lines"] < 0.08
    assert 0.01 < totals["n_separate_date_3d_lines"] / totals["n_3d_lines"] < 0.08
    assert 0 < totals["n_orphan_3d_lines"] / totals["n_3d_lines"] < 0.02
    # Realized rates track the true ones: a binomial 99.9 % band for each practice.
    se = np.sqrt(p["true_rate_3d"] * (1 - p["true_rate_3d"]) / p["n_encounters"])
    assert ((rate - p["true_rate_3d"]).abs() < 3.3 * se + 0.01).all()
    lines = syn.lines
    assert 0.3 < lines["payer"].eq("MEDICARE").mean() < 0.5
    assert codes.is_angiography(lines["cpt_code"]).any()
    assert lines["claim_id"].duplicated().any()  # multi-study encounters share a claim


def test_true_counts_match_the_linking_of_the_lines(small):
    from analysis import encounters

    linked = encounters.link(small.lines)
    enc, l3 = linked.encounters, linked.lines_3d
    got = pd.DataFrame({
        "n_encounters": enc.groupby("practice_id").size(),
        "n_encounters_3d": enc.groupby("practice_id")["has_3d"].sum(),
        "n_onc_encounters": enc.groupby("practice_id")["is_oncology"].sum(),
        "n_3d_lines": l3.groupby("practice_id").size(),
        "n_noncompliant_3d_lines": l3.groupby("practice_id")["is_noncompliant"].sum(),
        "n_separate_date_3d_lines": l3.groupby("practice_id")["is_separate_date"].sum(),
        "n_orphan_3d_lines": l3.groupby("practice_id")["is_orphan"].sum(),
    }).fillna(0).astype(int)  # fmt: skip
    want = small.practices.set_index("practice_id")[got.columns]
    pd.testing.assert_frame_equal(
        got.sort_index(), want.sort_index(), check_names=False, check_index_type=False
    )
    assert got["n_separate_date_3d_lines"].sum() > 0 and got["n_noncompliant_3d_lines"].sum() > 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3), year=st.sampled_from([2024, 2025]))
def test_generator_invariants(seed, n, year):
    syn = synth.generate(n, year=year, rng=np.random.default_rng(seed), scale=0.004)
    lines = syn.lines
    assert not lines.duplicated(["claim_id", "line_number"]).any()
    assert lines["service_date"].dt.year.eq(year).all()
    assert int(syn.practices["n_lines"].sum()) == len(lines)
    # Paid never exceeds allowed; an extract without amounts has neither.
    assert (lines["paid_usd"] <= lines["allowed_usd"])[lines["allowed_usd"].notna()].all()
    assert lines["paid_usd"].isna().equals(lines["allowed_usd"].isna())
    assert lines.groupby("patient_id")["practice_id"].nunique().le(1).all()


def test_scale_for_lines_hits_the_target():
    rng = np.random.default_rng(4)
    scale = synth.scale_for_lines(20_000, 5, rng=rng)
    syn = synth.generate(5, rng=np.random.default_rng(4), scale=scale)
    assert abs(len(syn.lines) / 20_000 - 1) < 0.05


def test_bad_arguments_raise_input_error():
    with pytest.raises(InputError, match="n_practices"):
        synth.generate(0, rng=np.random.default_rng(1))
    with pytest.raises(InputError, match="2022-2026"):
        synth.generate(2, year=2019, rng=np.random.default_rng(1))
    with pytest.raises(InputError, match="payer_mix"):
        synth.SynthSettings(payer_mix=(0.5, 0.5, 0.1, 0.0, 0.0))
    with pytest.raises(InputError, match="at most 1"):
        synth.DamageRates(date_us_format=0.9, upper_cased=0.2)


# ------------------------------------------------------------------ damage


def test_damage_counts_are_exact_and_the_damage_is_as_described(small):
    # One practice's extract without amounts, as in the bundled sample.
    no_amounts = small.lines["practice_id"].eq("NC001")
    lines = small.lines.assign(
        allowed_usd=small.lines["allowed_usd"].mask(no_amounts),
        paid_usd=small.lines["paid_usd"].mask(no_amounts),
    )
    rates = synth.DamageRates()
    dmg = synth.damage(lines, rng=np.random.default_rng(1), rates=rates)
    n = len(lines)
    e = dmg.expected
    # A kind that needs a field applies its rate to the lines that have it.
    eligible = {
        "pos_zero_padded": int(lines["place_of_service"].ne("11").sum()),
        "npi_scientific": int(lines["rendering_npi"].notna().sum()),
        "invalid_npi_check_digit": int(lines["rendering_npi"].notna().sum()),
        "negative_amount": int((lines["allowed_usd"] > 0).sum()),
        "amount_currency_format": int(lines["allowed_usd"].notna().sum()),
    }
    assert eligible["negative_amount"] < n  # the fixture has a practice without amounts
    for kind in synth.REPAIR_KINDS:
        assert e["repairs"][kind] == round(getattr(rates, kind) * eligible.get(kind, n))
    for reason in synth.QUARANTINE_REASONS:
        assert e["quarantined"][reason] == round(getattr(rates, reason) * eligible.get(reason, n))
    assert e["rows_read"] == n + e["quarantined"]["duplicate_line"]
    assert e["rows_read"] == e["rows_accepted"] + e["rows_quarantined"]
    f, rows = dmg.frame, dmg.rows
    assert f["cpt_code"][rows["damage"].eq("numeric_suffix_dropped")].str.endswith(".0").all()
    assert f["place_of_service"][rows["damage"].eq("pos_zero_padded")].eq("2").all()
    assert f["rendering_npi"][rows["damage"].eq("npi_scientific")].str.fullmatch(
        r"\d\.\d{9}E\+09").all()  # fmt: skip
    assert f["units"][rows["damage"].eq("units_not_positive")].eq("0").all()
    assert f["allowed_usd"][rows["damage"].eq("amount_currency_format")].str.startswith("$").all()
    assert f["service_date"][rows["damage"].eq("date_us_format")].str.fullmatch(
        r"\d\d/\d\d/2024").all()  # fmt: skip
    dup = rows["damage"].eq("duplicate_line").to_numpy()
    assert f[dup].reset_index(drop=True).equals(f[np.r_[dup[1:], False]].reset_index(drop=True))
    assert len(dmg.clean) == e["rows_accepted"]


def test_damaged_file_loads_with_exactly_the_expected_report(small, tmp_path):
    from analysis.claims import load_claims

    dmg = synth.damage(small.lines, rng=np.random.default_rng(2))
    synth.write_damaged(dmg, tmp_path / "d.csv.gz")
    raw = gzip.decompress((tmp_path / "d.csv.gz").read_bytes())
    assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw
    result = load_claims(tmp_path / "d.csv.gz")
    _assert_report_matches(result, dmg)


def _assert_report_matches(result, dmg: synth.Damage) -> None:
    report, e = result.report, dmg.expected
    assert report.reconciles
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (
        e["rows_read"], e["rows_accepted"], e["rows_quarantined"])  # fmt: skip
    assert {k: v for k, v in report.quarantined_by_reason.items() if v} == {
        k: v for k, v in e["quarantined"].items() if v}  # fmt: skip
    assert {k: v for k, v in report.repairs.items() if v} == {
        k: v for k, v in e["repairs"].items() if v}  # fmt: skip
    for column in ("allowed_usd", "paid_usd"):
        got = report.amounts[column].to_dict()
        assert {k: got[k] for k in e[column]} == e[column]
    clean = dmg.clean.astype(result.lines.dtypes.to_dict())
    pd.testing.assert_frame_equal(result.lines, clean)


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    return synth.generate(2, rng=np.random.default_rng(21), scale=0.004).lines


_rate = st.floats(0, 0.06)


@settings(max_examples=12, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    seed=st.integers(0, 2**32 - 1),
    rates=st.builds(
        synth.DamageRates,
        **{k: _rate for k in synth.REPAIR_KINDS + synth.QUARANTINE_REASONS},
        bom=st.booleans(),
        crlf=st.booleans(),
    ),
)
def test_any_damaged_file_reconciles_rows_and_dollars(tiny, tmp_path_factory, seed, rates):
    from analysis.claims import load_claims

    dmg = synth.damage(tiny, rng=np.random.default_rng(seed), rates=rates)
    path = tmp_path_factory.mktemp("dmg") / "d.csv"
    synth.write_damaged(dmg, path)
    _assert_report_matches(load_claims(path), dmg)


def test_damage_rejects_lines_with_repeated_keys(small):
    twice = pd.concat([small.lines.head(3), small.lines.head(1)])
    with pytest.raises(InputError, match="claim_id, line_number"):
        synth.damage(twice, rng=np.random.default_rng(1))


# ---------------------------------------------------------- bundled sample


def test_bundled_sample_is_what_the_documented_command_produces(sample_lines):
    # data/sample/README.md: rad3d synth --practices 40 --year 2024 --seed 2024 ...
    syn = synth.generate(40, year=2024, rng=np.random.default_rng(2024))
    assert pq.read_table(synth.SAMPLE_CLAIMS).equals(synth.to_arrow(syn.lines))
    truth = pd.read_csv(synth.SAMPLE_PRACTICES)
    assert truth["practice_id"].tolist() == syn.practices["practice_id"].tolist()
    np.testing.assert_allclose(truth["true_rate_3d"], syn.practices["true_rate_3d"], rtol=1e-5)
    assert truth["n_encounters"].tolist() == syn.practices["n_encounters"].tolist()
    assert synth.SAMPLE_CLAIMS.stat().st_size + synth.SAMPLE_DAMAGED.stat().st_size < 10e6


def test_bundled_sample_loads_clean_and_identical(sample_lines):
    from analysis.claims import load_claims

    result = load_claims(synth.SAMPLE_CLAIMS)
    assert result.report.rows_quarantined == 0 and not any(result.report.repairs.values())
    pd.testing.assert_frame_equal(result.lines, sample_lines)


def test_bundled_damaged_sample_is_reproducible(sample_lines):
    dmg = synth.damage(sample_lines, rng=np.random.default_rng(2024))
    committed = gzip.decompress(synth.SAMPLE_DAMAGED.read_bytes())
    text = dmg.frame.to_csv(index=False, lineterminator="\r\n")
    assert committed == ("\ufeff" + text).encode("utf-8")


def test_loading_the_damaged_sample_reports_the_known_counts(sample_lines):
    from analysis.claims import load_claims

    result = load_claims(synth.SAMPLE_DAMAGED)
    n = len(sample_lines)  # 119,286 lines in the bundled sample
    n_amount = int((sample_lines["allowed_usd"] > 0).sum())  # 106,143 lines with an amount
    # Default rates: 0.2 % per quarantine reason -> round(0.002 * 119,286) = 239 rows each,
    # except negative_amount, 0.2 % of the lines with an amount: round(0.002 * 106,143) = 212;
    # 0.3 % duplicates -> 358; so 5 * 239 + 212 + 358 = 1,765 quarantined of 119,644 read.
    known = {r: round(0.002 * n) for r in synth.QUARANTINE_REASONS} | {
        "negative_amount": round(0.002 * n_amount),
        "duplicate_line": round(0.003 * n)}  # fmt: skip
    assert n_amount == 106_143 and sum(known.values()) == 1_765
    report = result.report
    assert {k: v for k, v in report.quarantined_by_reason.items() if v} == known
    assert report.rows_read == n + known["duplicate_line"] and report.reconciles
    assert report.repairs["date_us_format"] == round(0.10 * n)
    assert report.repairs["bom"] == 1 and report.repairs["crlf"] == 1
    dmg = synth.damage(sample_lines, rng=np.random.default_rng(2024))
    _assert_report_matches(result, dmg)


# --------------------------------------------------------------------- CLI


def test_cli_synth_is_deterministic(tmp_path, capsys):
    args = ["synth", "--practices", "2", "--year", "2024", "--seed", "7",
            "--volume-scale", "0.005"]  # fmt: skip
    for name in ("a", "b"):
        assert main(args + ["--out", str(tmp_path / f"{name}.parquet"),
                            "--truth", str(tmp_path / f"{name}.csv"),
                            "--damage", str(tmp_path / f"{name}.csv.gz")]) == 0  # fmt: skip
    for suffix in (".parquet", ".csv", ".csv.gz"):
        assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()
    out = capsys.readouterr().out
    assert "wrote" in out and '"duplicate_line"' in out


def test_cli_scale_streams_about_n_lines(tmp_path):
    path = tmp_path / "big.csv"
    assert main(["synth", "--practices", "3", "--seed", "1", "--scale", "8000",
                 "--batch-lines", "1000", "--out", str(path)]) == 0  # fmt: skip
    n = sum(1 for _ in path.open()) - 1
    assert abs(n / 8000 - 1) < 0.05


def test_cli_synth_bad_year_is_a_one_line_error(tmp_path, capsys):
    code = main(["synth", "--year", "1999", "--out", str(tmp_path / "x.parquet")])
    err = capsys.readouterr().err
    assert code == 2 and "year" in err and err.count("\n") == 1
    assert not (tmp_path / "x.parquet").exists()


def test_sample_paths_point_into_data_sample():
    assert synth.SAMPLE_CLAIMS.name == "claims_2024.parquet"
    assert synth.SAMPLE_CLAIMS.parent.parts[-2:] == ("data", "sample")
    assert math.isclose(synth.SAMPLE_SCALE, 1 / 40)


# ------------------------------------------------------------ several years


@pytest.fixture(scope="module")
def span_pair() -> tuple[synth.Synthetic, synth.Synthetic]:
    """The same seed over 2024-2025 with and without a response (8 practices, 1/100)."""
    args = {"years": (2024, 2025), "scale": 0.01}
    with_response = synth.generate_years(8, rng=np.random.default_rng(31), **args,
                                         response=synth.PolicyResponse(0.6))  # fmt: skip
    return with_response, synth.generate_years(8, rng=np.random.default_rng(31), **args)


def test_a_response_removes_only_the_policy_payers_renderings_after_the_date(span_pair):
    cut, full = span_pair
    key = ["claim_id", "line_number"]
    assert not cut.lines.duplicated(key).any()
    merged = full.lines.merge(cut.lines, on=key, how="left", suffixes=("", "_cut"),
                              indicator=True)  # fmt: skip
    gone = merged.loc[merged["_merge"].eq("left_only")]
    kept = merged.loc[merged["_merge"].eq("both")]
    assert len(gone) > 20 and len(kept) == len(cut.lines)  # nothing added
    assert codes.is_3d(gone["cpt_code"]).all() and gone["payer"].eq("BCBSNC").all()
    assert (gone["service_date"] >= "2025-01-01").all()
    for column in ("patient_id", "service_date", "cpt_code", "payer", "allowed_usd"):
        a, b = kept[column], kept[f"{column}_cut"]
        assert ((a == b) | (a.isna() & b.isna())).all(), column  # the rest is untouched
    truth = cut.practices
    assert int(truth["n_response_3d_lines_stopped"].sum()) == len(gone)
    assert truth["stop_share"].between(0, 1).all() and full.practices["stop_share"].eq(0).all()
    realized = truth["n_response_encounters_3d_stopped"] / truth["n_response_encounters_3d_would"]
    np.testing.assert_allclose(truth["realized_stop_share"], realized)


def test_span_truth_counts_match_the_linking_of_the_lines(span_pair):
    from analysis import encounters

    for syn in span_pair:
        linked = encounters.link(syn.lines)
        enc, l3 = linked.encounters, linked.lines_3d
        got = pd.DataFrame({
            "n_encounters": enc.groupby("practice_id").size(),
            "n_encounters_3d": enc.groupby("practice_id")["has_3d"].sum(),
            "n_3d_lines": l3.groupby("practice_id").size(),
            "n_orphan_3d_lines": l3.groupby("practice_id")["is_orphan"].sum(),
            "n_lines": syn.lines.groupby("practice_id").size(),
        }).fillna(0).astype(int)  # fmt: skip
        want = syn.practices.set_index("practice_id")[got.columns]
        pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_names=False,
                                      check_index_type=False)  # fmt: skip


def test_span_follows_seasonality_entry_and_exit():
    syn = synth.generate_years(20, years=(2023, 2025), rng=np.random.default_rng(2),
                               scale=0.01)  # fmt: skip
    lines, p = syn.lines, syn.practices
    assert lines["service_date"].dt.year.unique().tolist() == [2023, 2024, 2025]
    assert syn.years == (2023, 2025) and syn.year == 2023
    # One practice enters and one leaves (5 % of 20 each): no lines outside their months.
    assert (p["active_from"] > "2023-01-01").sum() == 1
    assert (p["active_to"] < "2025-12-31").sum() == 1
    span = lines.groupby("practice_id")["service_date"].agg(["min", "max"])
    span = span.join(p.set_index("practice_id")[["active_from", "active_to"]])
    assert (span["min"] >= pd.to_datetime(span["active_from"])).all()
    assert (span["max"] <= pd.to_datetime(span["active_to"])).all()
    # Seasonality 0.95 in the first quarter, 1.05 in the fourth: among the practices
    # billing all along, the fourth quarter's CT/MR studies exceed the first's every year
    # by about 1.05 / 0.95 = 1.105, times 92 / 90 days, times 9 months' growth at ~3 %
    # a year (1.02): about 1.15.
    whole = p.loc[p["active_from"].eq("2023-01-01") & p["active_to"].eq("2025-12-31"),
                  "practice_id"]  # fmt: skip
    studies = lines.loc[codes.is_ct_mr(lines["cpt_code"]) & lines["practice_id"].isin(whole)]
    q = studies.groupby(studies["service_date"].dt.to_period("Q")).size()
    for year in (2023, 2024, 2025):
        assert 1.08 < q[f"{year}Q4"] / q[f"{year}Q1"] < 1.25
    # Claim identifiers stay unique across years (the month counts over the span).
    assert not lines.duplicated(["claim_id", "line_number"]).any()
    assert lines.groupby("patient_id")["service_date"].agg(lambda d: d.dt.year.nunique()).eq(
        1).all()  # fmt: skip


def test_practices_stop_shares_have_the_stated_mean():
    from analysis.synth.years import draw_span

    practices = pd.DataFrame({"practice_id": np.arange(20_000)})
    low, high = (draw_span(practices, years=(2023, 2025), rng=np.random.default_rng(4),
                           span=synth.SpanSettings(), response=synth.PolicyResponse(share))
                 for share in (0.25, 0.4))  # fmt: skip
    assert abs(low["stop_share"].mean() - 0.25) < 0.003
    assert (low["stop_share"] <= high["stop_share"]).all()  # same draws, a larger share
    # Beta(0.25 x 20, 0.75 x 20): scipy.stats.beta.ppf([0.1, 0.9], 5, 15) = 0.134, 0.378.
    np.testing.assert_allclose(low["stop_share"].quantile([0.1, 0.9]), [0.134, 0.378],
                               atol=0.006)  # fmt: skip
    assert set(draw_span(practices.head(5), years=(2023, 2025), rng=np.random.default_rng(4),
                         span=synth.SpanSettings(), response=synth.PolicyResponse(1.0))
               ["stop_share"]) == {1.0}  # fmt: skip


def test_span_lines_stream_as_they_are_generated(tmp_path):
    args = {"years": (2024, 2025), "scale": 0.005, "response": synth.PolicyResponse(0.5)}
    mem = synth.generate_years(3, rng=np.random.default_rng(3), **args)
    out = synth.write_synthetic(tmp_path / "s.parquet", 3, rng=np.random.default_rng(3),
                                batch_lines=300, truth=tmp_path / "t.csv", **args)  # fmt: skip
    assert pq.read_table(tmp_path / "s.parquet").equals(synth.to_arrow(mem.lines))
    pd.testing.assert_frame_equal(out.practices, mem.practices)
    assert "stop_share" in pd.read_csv(tmp_path / "t.csv").columns


def test_bad_span_arguments_raise_input_error():
    rng = np.random.default_rng(1)
    with pytest.raises(InputError, match="2022-2026"):
        synth.generate_years(2, years=(2019, 2021), rng=rng)
    with pytest.raises(InputError, match="first before last"):
        synth.generate_years(2, years=(2025, 2023), rng=rng)
    with pytest.raises(InputError, match="effective_date"):
        synth.generate_years(2, years=(2023, 2024), rng=rng,
                             response=synth.PolicyResponse(0.2, effective_date="2025-01-01"))
    with pytest.raises(InputError, match="policy_response"):
        synth.PolicyResponse(1.5)
    with pytest.raises(InputError, match="policy_payer"):
        synth.PolicyResponse(0.2, payer="AETNA")
    with pytest.raises(InputError, match="seasonality"):
        synth.SpanSettings(seasonality=(1.0, 1.0, 1.0, 1.2))
    with pytest.raises(InputError, match="multi-year"):
        synth.write_synthetic("x.parquet", 2, rng=rng, response=synth.PolicyResponse(0.2))


def test_bundled_three_year_sample_is_what_the_documented_command_produces():
    # data/sample/README.md: rad3d synth --practices 40 --years 2023-2025 --seed 2024
    #   --volume-scale 0.0125 --policy-response 0.25 ...
    syn = synth.generate_years(40, years=(2023, 2025), rng=np.random.default_rng(2024),
                               scale=0.0125, response=synth.PolicyResponse(0.25))  # fmt: skip
    assert pq.read_table(synth.SAMPLE_CLAIMS_2023_2025).equals(synth.to_arrow(syn.lines))
    truth = pd.read_csv(synth.SAMPLE_PRACTICES_2023_2025)
    assert truth["practice_id"].tolist() == syn.practices["practice_id"].tolist()
    np.testing.assert_allclose(truth["stop_share"], syn.practices["stop_share"], rtol=1e-5)
    assert truth["n_response_encounters_3d_stopped"].sum() == 480
    assert len(syn.lines) == 167_879
    # The same seed draws the same practices as the 2024 sample.
    same = pd.read_csv(synth.SAMPLE_PRACTICES)
    assert truth["fte_radiologists"].tolist() == same["fte_radiologists"].tolist()
    assert synth.SAMPLE_CLAIMS_2023_2025.stat().st_size < 3e6


def test_cli_synth_years_with_a_response(tmp_path, capsys):
    args = ["synth", "--practices", "3", "--years", "2024-2025", "--seed", "7",
            "--volume-scale", "0.005", "--policy-response", "0.3"]  # fmt: skip
    for name in ("a", "b"):
        assert main(args + ["--out", str(tmp_path / f"{name}.parquet"),
                            "--truth", str(tmp_path / f"{name}.csv")]) == 0  # fmt: skip
    for suffix in (".parquet", ".csv"):
        assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()
    out = capsys.readouterr().out
    assert "years 2024-2025" in out and "policy response: BCBSNC from 2025-01-01" in out
    mem = synth.generate_years(3, years=(2024, 2025), rng=np.random.default_rng(7),
                               scale=0.005, response=synth.PolicyResponse(0.3))  # fmt: skip
    assert pq.read_table(tmp_path / "a.parquet").equals(synth.to_arrow(mem.lines))


@pytest.mark.parametrize(("args", "said"), [
    (["--policy-response", "0.3"], "--policy-response needs --years"),
    (["--years", "2024-2025", "--effective-date", "2025-04-01"],
     "--effective-date needs --policy-response"),
    (["--years", "2024-2025", "--policy-response", "2"], "share in [0, 1]"),
    (["--years", "2024-2025", "--policy-response", "0.2", "--effective-date", "2027-01-01"],
     "effective_date"),
])  # fmt: skip
def test_cli_synth_response_errors_are_one_line(tmp_path, capsys, args, said):
    code = main(["synth", *args, "--out", str(tmp_path / "x.parquet")])
    err = capsys.readouterr().err
    assert code == 2 and said in err and err.count("\n") == 1
    assert not (tmp_path / "x.parquet").exists()
