"""Tests for analysis.disclosure: one decision over every view of a report, and the
attacker of ``tests/disclosure_attack.py`` that checks it.

The three failures of an adversarial run, each rebuilt by hand here:

1. Complementary suppression undone by a scorecard: TINYX (3 encounters, 2 with 3D)
   and its complement MIDX hidden in the screen, MIDX's own scorecard showing 200 / 60,
   and the published totals giving TINYX away by subtraction.
2. Dollars giving back counts: TINYX's 3D revenue ($210 over 3 years at $70 a line is
   one line) in the per-practice dollar tables.
3. Peer medians over all practices, suppressed ones included.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ATTACKED
from disclosure_attack import attack, report
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import cli, lcd
from analysis import report as rpt_module
from analysis.disclosure import disclosure_plan, is_dollar_column
from analysis.privacy import MARKER, PrivacySettings
from analysis.run.names import practice_folder

# TINYX: 3 encounters, 2 with 3D (a small cell); MIDX the smallest other practice, so
# its complement; BIG1 and BIG2 shown. Totals: 703 encounters, 152 encounters with 3D.
PRACTICES = {"TINYX": (3, 2), "MIDX": (200, 60), "BIG1": (250, 45), "BIG2": (250, 45)}


def _summary(practices=PRACTICES, *, period="2024") -> pd.DataFrame:
    """A year summary with the screen's columns: no oncology, one 3D line per 3D
    encounter, all BCBSNC."""
    n = [v[0] for v in practices.values()]
    x = [v[1] for v in practices.values()]
    return pd.DataFrame({
        "practice_id": list(practices), "period": period, "payer": "BCBSNC",
        "n_encounters": n, "n_encounters_3d": x, "n_nononc_encounters": n,
        "n_nononc_encounters_3d": x, "n_onc_encounters": 0, "n_onc_encounters_3d": 0,
        "ct_mr_units": n, "units_3d_76376": 0, "units_3d_76377": x, "n_3d_lines": x,
    })


# ------------------------------------------------------------------ the plan


def test_a_small_practice_and_its_complement_are_hidden_in_every_view():
    plan = disclosure_plan(_summary())
    # TINYX primary (3 and 2); MIDX (200) the smallest other: together 203 and 62
    assert plan.primary == {"TINYX"}
    assert plan.hidden == {"TINYX", "MIDX"}
    assert plan.hidden_dollars == {"TINYX", "MIDX"}
    assert "2 of 4 practices suppressed" in plan.rule
    # the same decision for any table of practices, and for a practice's own page
    screen = pd.DataFrame({"practice_id": list(PRACTICES), "n_ct_mr": [3, 200, 250, 250],
                           "rate": [0.67, 0.3, 0.18, 0.18], "flag": True, "unit": "x"})
    m = plan.mask(screen)
    assert m["n_ct_mr"].tolist() == [True, True, False, False]
    assert m["rate"].tolist() == [True, True, False, False]
    assert not m["flag"].any() and not m["unit"].any()
    card = pd.DataFrame({"n_ct_mr": [200], "n_3d": [60], "rate": [0.3]})
    assert plan.mask(card, practice="MIDX").all().all()
    assert not plan.mask(card, practice="BIG1").any().any()
    assert not plan.mask(card).any().any()  # a table of no practice


def test_the_hidden_part_of_every_total_is_two_practices_and_eleven_or_more():
    # A (5) primary; B (6) also primary: two hidden cells but only 11 - fine; with
    # B = 4 the hidden part 9 would be a small count of its own: C is added.
    assert disclosure_plan(_summary({"A": (5, 0), "B": (6, 0), "C": (40, 0),
                                     "D": (50, 0)})).hidden == {"A", "B"}
    assert disclosure_plan(_summary({"A": (5, 0), "B": (4, 0), "C": (40, 0),
                                     "D": (50, 0)})).hidden == {"A", "B", "C"}


def test_a_small_quarter_is_hidden_with_another_quarter_of_the_practice_and_the_quarter():
    year = _summary({"A": (100, 30), "B": (100, 30), "C": (120, 40)})
    quarters = pd.concat([
        _summary({"A": (40, 5), "B": (50, 15), "C": (60, 20)}, period="2024Q1"),
        _summary({"A": (60, 25), "B": (50, 15), "C": (60, 20)}, period="2024Q2")])
    plan = disclosure_plan(year, quarters)
    # A's Q1 has 5 with 3D: hidden, and its Q2 with it (A's total is published); the
    # statewide Q1 (A + B + C) is published too, so B's Q1 (15 < C's 20) goes with it,
    # and B's Q2 with that (B's total). Q2's hidden part: 25 + 15 with 3D.
    assert plan.hidden == set()
    assert plan.hidden_periods == {("A", "2024Q1"), ("A", "2024Q2"), ("B", "2024Q1"),
                                   ("B", "2024Q2")}
    assert plan.hides("B", "2024Q1") and not plan.hides("C", "2024Q1")


def test_dollars_of_a_practice_with_few_policy_payer_lines_are_hidden():
    # C has 40 3D lines, 3 of them BCBSNC: its loss under bundling is 3 lines' price.
    s = pd.concat([_summary({"A": (100, 30), "B": (100, 30), "C": (100, 37)})
                   .assign(payer="OTHER"),
                   _summary({"A": (50, 20), "B": (50, 25), "C": (10, 3)})])
    plan = disclosure_plan(s, payers=["BCBSNC"])
    assert plan.hidden == set()
    assert plan.hidden_dollars == {"C", "A"}  # A (20) the complement of C (3)
    losers = pd.DataFrame({"practice_id": ["A", "B", "C"], "loss_horizon_usd": [1.0, 2, 3],
                           "n_3d": [50, 55, 40], "mean": [1.0, 2, 3]})
    m = plan.mask(losers)
    assert m["loss_horizon_usd"].tolist() == [True, False, True]
    assert m["mean"].tolist() == [True, False, True]
    assert not m["n_3d"].any()  # its counts are shown
    assert disclosure_plan(s).hidden_dollars == set()  # no losses shown: no rule 4


def test_dollars_follow_the_policy_payer_lines_of_each_year():
    # C has 33 BCBSNC 3D lines over two years, 3 of them in 2024: a model that prices
    # 2024 alone (analysis.baseline) shows 3 lines' price, so C's dollars are hidden,
    # with A (20 in 2024, the smallest other) as its complement for that year.
    s = pd.concat([_summary({"A": (100, 25), "B": (100, 30), "C": (100, 30)}, period="2023"),
                   _summary({"A": (100, 20), "B": (100, 25), "C": (100, 3)}, period="2024")])
    plan = disclosure_plan(s, payers=["BCBSNC"])
    assert plan.hidden == set() and plan.hidden_dollars == {"A", "C"}
    one_year = disclosure_plan(s.loc[s["period"] == "2023"], payers=["BCBSNC"])
    assert one_year.hidden_dollars == set()


def test_nothing_is_hidden_with_threshold_one_and_dollar_columns_by_name():
    internal = PrivacySettings(min_cell_count=1, internal=True)
    assert disclosure_plan(_summary(), settings=internal).hidden == set()
    assert [is_dollar_column(c) for c in ("loss_usd", "deterministic", "rate", "n_3d")] == [
        True, True, False, False]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=2, max_size=7))
def test_property_no_total_gives_a_hidden_practice_away(rows):
    practices = {f"P{i}": (max(n, x), min(n, x)) for i, (n, x) in enumerate(rows)}
    s = _summary(practices)
    plan = disclosure_plan(s)
    per = s.set_index("practice_id")
    for column in ("n_encounters", "n_encounters_3d"):
        small = per.index[(per[column] > 0) & (per[column] < 11)]
        assert set(small) <= plan.hidden  # no small count is shown
        hidden = per.loc[sorted(plan.hidden), column]
        if column in plan.unprotected:
            continue
        # the total less the shown practices: nothing, or >= 11 over >= 2 practices
        assert len(hidden) != 1
        assert hidden.sum() == 0 or hidden.sum() >= 11


# -------------------------------------------------- the writer and the scorecard


def test_scorecard_of_a_complement_shows_none_of_its_counts(tmp_path):
    # failure 1: MIDX's scorecard printed 200 / 60
    plan = disclosure_plan(_summary())
    w = rpt_module.ReportWriter(tmp_path, notebook="practice_scorecard", practice_id="MIDX")
    w.disclose(plan)
    w.table("screen_row", pd.DataFrame({"n_ct_mr": [200], "n_3d": [60], "rate": [0.3],
                                        "excess_usd": [1200.0]}))
    w.table("scenario", pd.DataFrame({"parameter": ["threshold"], "value": [0.2]}),
            of_practice=False)
    w.headline("loss_horizon_usd", 12600.0, unit="usd")
    w.headline("flagged", True)
    w.finish()
    row = pd.read_csv(tmp_path / "tables/screen_row.csv", dtype=str)
    assert row.iloc[0].tolist() == [MARKER] * 4
    assert pd.read_csv(tmp_path / "tables/scenario.csv")["value"].tolist() == [0.2]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["headline"]["loss_horizon_usd"]["suppressed"] is True
    assert results["headline"]["flagged"]["value"] is True
    assert results["privacy"]["n_practices_suppressed"] == 2
    # the workbook leaves the cells empty (numbers stay numbers) and says why
    book = pd.read_excel(tmp_path / "tables/practice_scorecard.xlsx", sheet_name=None)
    assert list(book) == ["Cover", "screen_row", "scenario", "Definitions"]
    assert book["screen_row"].isna().all().all()
    assert "suppressed" in book["Cover"].to_string()


def test_dollar_tables_hide_the_dollars_of_a_hidden_practice(tmp_path):
    # failure 2: $210 over 3 years at $70 a line is TINYX's one line
    plan = disclosure_plan(_summary(), payers=["BCBSNC"])
    w = rpt_module.ReportWriter(tmp_path, notebook="revenue_impact")
    w.disclose(plan)
    losers = pd.DataFrame({"practice_id": ["BIG1", "BIG2", "MIDX", "TINYX"],
                           "loss_horizon_usd": [9450.0, 9450.0, 12600.0, 210.0],
                           "loss_horizon_share": [1.0, 1.0, 1.0, 1.0]})
    w.table("practices", losers)
    w.table("psa_practices", losers.rename(columns={"loss_horizon_usd": "deterministic"})
            .assign(mean=losers["loss_horizon_usd"]))
    for name in ("practices", "psa_practices"):
        shown = pd.read_csv(tmp_path / f"tables/{name}.csv", dtype=str).set_index("practice_id")
        assert (shown.loc[["MIDX", "TINYX"]] == MARKER).all().all(), name
        assert (shown.loc[["BIG1", "BIG2"]] != MARKER).all().all(), name


def test_peer_median_leaves_out_hidden_practices():
    # failure 3: five practices; the median of all five rates is TINYX's own (0.25)
    practices = {"TINYX": (4, 1), "MIDX": (100, 30), "A": (100, 10), "B": (100, 20),
                 "C": (100, 40)}
    summary = _summary(practices)
    screen = lcd.screen(summary)
    assert screen.table["rate"].median() == pytest.approx(0.25)  # TINYX's rate
    plan = disclosure_plan(summary)
    assert plan.hidden == {"TINYX", "A"}  # A (10 with 3D) the smallest complement
    impact = type("I", (), {"practices": pd.DataFrame(
        columns=["practice_id", "policy", "year", "revenue_without_usd", "loss_usd",
                 "net_margin_loss_usd"]),
        "annualization": pd.DataFrame(columns=["practice_id"])})()
    card = rpt_module.scorecard(summary, "B", screen=screen, impact=impact, plan=plan)
    rate = card.position.set_index("measure").loc["3D rate (screen basis)"]
    assert rate["peer_median"] == pytest.approx(0.30)  # median of MIDX, B, C
    # B's percentile among the three shown: 1 of 3 at or below 0.20
    assert card.screen_row.loc[0, "percentile"] == pytest.approx(1 / 3)
    hidden_card = rpt_module.scorecard(summary, "A", screen=screen, impact=impact, plan=plan)
    assert hidden_card.suppressed and MARKER in hidden_card.position_display["practice"].tolist()


# ---------------------------------------------------------------- the attacker


def _old_report(folder: Path) -> Path:
    """What a report published before the disclosure plan: the screen hides TINYX and
    MIDX, MIDX's scorecard shows its counts, the dollar tables show TINYX's revenue,
    and the scorecard's peer median is over all four practices."""
    def write(rel: str, frame: pd.DataFrame) -> None:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)

    write("base/lcd_screen/tables/screen.csv", pd.DataFrame({
        "practice_id": ["BIG1", "BIG2", "MIDX", "TINYX"],
        "n_ct_mr": ["250", "250", MARKER, MARKER], "n_3d": ["45", "45", MARKER, MARKER],
        "rate": ["0.18", "0.18", MARKER, MARKER]}))
    write("base/lcd_screen/tables/claims_load.csv", pd.DataFrame({
        "item": ["CT/MR encounters", "3D lines"], "value": ["703", "152"]}))
    (folder / "base/lcd_screen/results.json").write_text('{"practice_id": null}')
    card = folder / "base/practice_scorecard" / practice_folder("MIDX")
    write(str(card.relative_to(folder) / "tables/screen_row.csv"),
          pd.DataFrame({"n_ct_mr": [200], "n_3d": [60], "rate": [0.3]}))
    write(str(card.relative_to(folder) / "tables/position.csv"), pd.DataFrame({
        "measure": ["3D rate (screen basis)"], "practice": [MARKER],
        "peer_median": ["24.0%"], "benchmark": ["20.0%"]}))
    (card / "results.json").write_text('{"practice_id": "MIDX"}')
    write("base/revenue_impact/tables/practices.csv", pd.DataFrame({
        "practice_id": ["BIG1", "BIG2", "MIDX", "TINYX"],
        "loss_horizon_usd": [9450.0, 9450.0, MARKER, 210.0]}))
    return folder


def test_the_attacker_recovers_what_the_old_report_gave_away(tmp_path):
    found = attack(_old_report(tmp_path))
    got = {(f.practice, f.column) for f in found}
    # 1. MIDX from its scorecard; then TINYX = 703 - 250 - 250 - 200 by subtraction
    assert ("MIDX", "n_ct_mr") in got and ("MIDX", "n_3d") in got
    assert ("TINYX", "n_ct_mr") in got and ("TINYX", "n_3d") in got
    assert any("subtraction" in f.how for f in found if f.practice == "TINYX")
    # 2. TINYX's dollars
    assert ("TINYX", "dollars") in got
    # 3. the peer median is not the median (18.0%) of the rates shown
    assert ("MIDX", "peer_median") in got
    assert "TINYX" in report(found)


def test_the_attacker_finds_nothing_when_both_stay_hidden_everywhere(tmp_path):
    folder = _old_report(tmp_path)
    card = folder / "base/practice_scorecard" / practice_folder("MIDX") / "tables"
    pd.DataFrame({"n_ct_mr": [MARKER], "n_3d": [MARKER], "rate": [MARKER]}).to_csv(
        card / "screen_row.csv", index=False)
    pd.DataFrame({"measure": ["3D rate (screen basis)"], "practice": [MARKER],
                  "peer_median": ["18.0%"], "benchmark": ["20.0%"]}).to_csv(
        card / "position.csv", index=False)
    pd.DataFrame({"practice_id": ["BIG1", "BIG2", "MIDX", "TINYX"],
                  "loss_horizon_usd": [9450.0, 9450.0, MARKER, MARKER]}).to_csv(
        folder / "base/revenue_impact/tables/practices.csv", index=False)
    assert attack(folder) == []


def _trend_folder(tmp_path: Path, b_hidden: bool) -> Path:
    """A's first quarter is small (5 with 3D): hidden in the practices' trend with its
    second; B's quarters shown (``b_hidden=False``) or hidden; C's shown; a statewide
    trend publishes each quarter's total."""
    folder = tmp_path / "out"
    tables = folder / "base/lcd_screen/tables"
    tables.mkdir(parents=True)
    b = [MARKER, MARKER] if b_hidden else ["15", "15"]
    pd.DataFrame({"practice_id": ["A", "A", "B", "B", "C", "C"],
                  "period": ["2024Q1", "2024Q2"] * 3,
                  "n_3d": [MARKER, MARKER, *b, "20", "20"]}).to_csv(
        tables / "trend.csv", index=False)
    pd.DataFrame({"practice_id": ["A", "B", "C"], "n_3d": ["30", "30", "40"]}).to_csv(
        tables / "screen.csv", index=False)
    pd.DataFrame({"period": ["2024Q1", "2024Q2"], "n_3d": ["40", "60"]}).to_csv(
        tables / "statewide_trend.csv", index=False)
    return folder


def test_the_attacker_subtracts_shown_practices_from_a_statewide_quarter(tmp_path):
    # 40 in Q1 statewide, less B's 15 and C's 20: A's Q1 is 5
    found = attack(_trend_folder(tmp_path / "shown", b_hidden=False))
    assert {(f.practice, f.period) for f in found} >= {("A", "2024Q1"), ("A", "2024Q2")}
    assert attack(_trend_folder(tmp_path / "hidden", b_hidden=True)) == []


# ---------------------------------------------- the real notebooks, hand-made claims


def _claims_csv(path: Path) -> Path:
    """Claims for :data:`PRACTICES`: one CT line per encounter (months in turn), and one
    76377 line at $70 on the first ``x`` encounters; no oncology; all BCBSNC."""
    rows = []
    for practice, (n, x) in PRACTICES.items():
        for i in range(n):
            claim = f"{practice}-C{i:04d}"
            date = f"2024-{i % 12 + 1:02d}-{i % 27 + 1:02d}"
            common = dict(practice_id=practice, patient_id=f"{practice}-P{i:04d}",
                          service_date=date, units=1, payer="BCBSNC",
                          diagnosis_codes="R10.9", claim_id=claim)
            rows.append({**common, "line_number": 1, "cpt_code": "74177",
                         "allowed_usd": 300.0})
            if i < x:
                rows.append({**common, "line_number": 2, "cpt_code": "76377",
                             "allowed_usd": 70.0})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_a_report_on_tinyx_midx_and_big_practices_gives_nothing_away(tmp_path):
    claims = _claims_csv(tmp_path / "claims.csv")
    scenario = tmp_path / "small.yaml"
    scenario.write_text("name: base\nparameters:\n  n_draws: 200\n")
    out = tmp_path / "out"
    code = cli.main(["report", "--params", str(scenario), "--claims", str(claims),
                     "--out", str(out), "--notebooks",
                     "policy_brief,lcd_screen,revenue_impact,practice_scorecard",
                     "--workers", "2", "--no-progress"])
    assert code == 0
    assert attack(out) == []
    assert str(out.resolve()) in ATTACKED  # the session's hook attacked it before publishing
    base = out / "base"
    screen = pd.read_csv(base / "lcd_screen/tables/screen.csv", dtype=str).set_index(
        "practice_id")
    assert (screen.loc[["TINYX", "MIDX"], ["n_ct_mr", "n_3d", "rate"]] == MARKER).all().all()
    # 1. MIDX's scorecard: no count, rate or dollar
    midx = base / "practice_scorecard" / practice_folder("MIDX") / "tables"
    row = pd.read_csv(midx / "screen_row.csv", dtype=str)
    assert (row[["n_ct_mr", "n_3d", "rate"]] == MARKER).all().all()
    assert (pd.read_csv(midx / "dollars.csv", dtype=str).filter(like="usd") == MARKER).all().all()
    # 2. no dollar of TINYX or MIDX in any per-practice table
    for rel in ("policy_brief/tables/top_losers.csv", "revenue_impact/tables/practices.csv",
                "revenue_impact/tables/psa_practices.csv"):
        t = pd.read_csv(base / rel, dtype=str).set_index("practice_id")
        numeric = t.drop(columns=[c for c in ("policy",) if c in t.columns])
        assert (numeric.loc[["TINYX", "MIDX"]] == MARKER).all().all(), rel
        assert (numeric.loc[["BIG1", "BIG2"]] != MARKER).all().all(), rel
    # 3. the peer median is BIG1's and BIG2's (45 / 250 = 18.0%)
    big = base / "practice_scorecard" / practice_folder("BIG1") / "tables"
    position = pd.read_csv(big / "position.csv").set_index("measure")
    assert position.loc["3D rate (screen basis)", "peer_median"] == "18.0%"
    page = (base / "lcd_screen/lcd_screen.html").read_text()
    assert page.count("2 of 4 practices suppressed") == 1  # the rule, once
    assert np.isfinite(float(screen.loc["BIG1", "percentile"]))


def test_claims_read_totals_are_withheld_where_they_cannot_be_protected():
    from types import SimpleNamespace

    from analysis.privacy import PrivacySettings
    from analysis.report.provenance import inputs_overview

    inputs = SimpleNamespace(info={"rows": {"encounters": 603, "lines_3d": 7},
                                   "claims_report": {}, "link_window_days": 7},
                             practices=["TINYX"])
    settings = PrivacySettings()
    shown = dict(inputs_overview(inputs).values.tolist())
    assert shown["CT/MR encounters"] == "603" and shown["3D lines"] == "7"  # no plan
    safe = SimpleNamespace(unprotected=(), settings=settings)
    shown = dict(inputs_overview(inputs, safe).values.tolist())
    assert shown["CT/MR encounters"] == "603" and shown["3D lines"].startswith("withheld")
    one = SimpleNamespace(unprotected=("n_encounters",), settings=settings)
    shown = dict(inputs_overview(inputs, one).values.tolist())
    assert shown["CT/MR encounters"].startswith("withheld")
