"""Degenerate data degrade, never crash: claims without any 3D line, practices with
only orphan 3D lines or only oncology encounters, too few practices for shrinkage.

Each case is built by hand here. The command-line and report runs use the real
notebooks on a claims file of a few hundred lines; what they must show is a statement
("not estimable: ..."), standard JSON (null, never NaN), a scorecard for every
practice whose dollars the impact counts, and no ``nan`` on any page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from claim_lines import make_lines

from analysis import cli, impact, lcd, plots, report
from analysis.run.batch import run_report
from analysis.run.names import practice_folder
from analysis.summary import summarize

HEADER = ("claim_id,line_number,practice_id,patient_id,service_date,cpt_code,units,payer,"
          "diagnosis_codes,allowed_usd\n")


def _strict(text: str):
    """json.loads that refuses NaN and Infinity (RFC 8259 has neither)."""
    def refuse(constant):
        raise ValueError(f"not standard JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def _practice(pid: str, n: int, with_3d: int, *, dx: str = "R10.9", ct: bool = True,
              three_d: bool = True) -> list[dict]:
    """``n`` CT encounters of practice ``pid`` spread over the four quarters of 2024,
    the first ``with_3d`` of them with a 76377 line ($70 allowed, BCBSNC). ``ct=False``
    leaves out the CT lines (orphan 3D lines only); ``three_d=False`` the 3D lines."""
    rows = []
    for k in range(n):
        date = f"2024-{1 + 3 * (k % 4):02d}-{1 + k // 4:02d}"
        common = {"practice_id": pid, "patient_id": f"{pid}x{k}", "claim_id": f"{pid}c{k}",
                  "service_date": date, "diagnosis_codes": dx}
        if ct:
            rows.append(common | {"line_number": 1, "cpt_code": "74177", "allowed_usd": 200.0})
        if three_d and k < with_3d:
            rows.append(common | {"line_number": 2, "cpt_code": "76377", "allowed_usd": 70.0})
    return rows


def _csv(path: Path, rows: list[dict]) -> Path:
    cols = HEADER.strip().split(",")
    lines = [",".join(str(r.get(c, 1 if c == "units" else "BCBSNC" if c == "payer" else ""))
                      for c in cols) for r in rows]
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return path


#: P1 12 of 40 and P2 4 of 40 encounters with 3D (the only two practices screened);
#: ORPH: 12 3D lines and no CT/MR study; ONCO: 12 oncology encounters, all with 3D.
DEGENERATE = (_practice("P1", 40, 12) + _practice("P2", 40, 4)
              + _practice("ORPH", 12, 12, ct=False) + _practice("ONCO", 12, 12, dx="C34.1"))
#: Each horizon year is priced at its fee schedule, as an index of the practice's 76377
#: units (global, non-facility, NC: 0.79 + 1.53 x 0.926 + 0.06 x 0.665 = 2.24668 RVUs
#: with the GPCIs) on its baseline, whose 3D lines fall evenly in the four quarters of
#: 2024: Q1 (middle 2024-02-15) x $32.7442 = 73.57, Q2-Q4 x $33.2875 = 74.79, baseline
#: (73.57 + 3 x 74.79) / 4 = 74.485. 2025: x $32.3465 = 72.67; 2026 (2026 RVUs 0.77 +
#: 1.52 x 0.926 + 0.07 x 0.665 = 2.22407, 2025 GPCIs) x $33.4009 = 74.29, also 2027's.
PRICES_2025 = 72.67 / 74.485
PRICES_3_YEARS = (72.67 + 74.29 + 74.29) / 74.485
#: Two practices without any 3D line.
NO_3D = _practice("P1", 40, 0, three_d=False) + _practice("P2", 40, 0, three_d=False)


# ------------------------------------------------------------ in the package


def test_orphan_only_and_all_oncology_practices_get_a_scorecard_with_their_dollars():
    # Before, their scorecards failed ("not a practice screened") while the impact
    # counted their dollars. By hand: each bills 12 x $70 = $840 of 3D in 2024, all
    # BCBSNC and lost under full bundling, $2,520 over the 3-year horizon at 2024's
    # prices, at each year's fee schedule x PRICES_3_YEARS.
    lines = make_lines(DEGENERATE)
    year, quarter = summarize(lines), summarize(lines, period="quarter")
    screen = lcd.screen(year, quarterly=quarter)
    result = impact.impact(quarter, report.scenario_policies(["status_quo", "full_bundling"]))
    assert not screen.table.set_index("practice_id").loc[["ORPH", "ONCO"], "screened"].any()
    why = {"ORPH": "no CT/MR encounter in the claims",
           "ONCO": "all its CT/MR encounters are oncology encounters"}
    for pid, reason in why.items():
        card = report.scorecard(year, pid, screen=screen, impact=result)
        assert reason in card.not_screened and "not screened" in card.headline
        loss = card.dollars.set_index("policy").loc["full_bundling", "loss_horizon_usd"]
        assert loss == pytest.approx(840.0 * PRICES_3_YEARS)
        assert card.flags["flagged"].isna().all()
        assert "4 quarters" in card.annualization and "(x1)" in card.annualization
        funnel = plots.funnel_plot(screen, highlight=pid, label_flagged=False)
        assert "is not screened" in " ".join(t.get_text() for t in funnel.axes[0].texts)
        trend = plots.trend_plot(screen, pid).axes[0].get_title("left")
        assert trend == f"Practice {pid}: no period can be screened"


@pytest.mark.parametrize(("rows", "said"), [
    # one practice: nothing to compare it with
    (_practice("P1", 40, 12), [
        "Overdispersion not estimable: fewer than 2 practices screened (1); only the exact "
        "funnel limits apply.",
        "Shrinkage not estimable: fewer than 3 practices screened (1); no shrunken rate, "
        "probability above the benchmark or shrinkage flag is reported."]),
    # only oncology encounters: every practice exempt, none screened
    (_practice("K1", 40, 12, dx="C34.1") + _practice("K2", 40, 4, dx="C50.9"), [
        "2 of 2 practices not screened: no non-oncology CT/MR encounter in the claims "
        "(only oncology encounters, or 3D lines without a CT/MR study); their rate is not "
        "estimable.",
        "Overdispersion not estimable: fewer than 2 practices screened (0); only the exact "
        "funnel limits apply.",
        "Shrinkage not estimable: fewer than 3 practices screened (0); no shrunken rate, "
        "probability above the benchmark or shrinkage flag is reported."]),
], ids=["one practice", "all oncology"])
def test_one_practice_or_only_oncology_is_said_and_every_practice_gets_a_scorecard(rows, said):
    lines = make_lines(rows)
    year, quarter = summarize(lines), summarize(lines, period="quarter")
    screen = lcd.screen(year, quarterly=quarter)
    assert screen.not_estimable == said
    assert "nan" not in screen.definitions.lower()
    result = impact.impact(quarter, report.scenario_policies(["status_quo", "full_bundling"]))
    # by hand: 12 or 4 lines x $70 a year, all lost under full bundling, at 2025 prices
    year1 = result.practices.query("policy == 'full_bundling' and year == 1")
    expected = {"P1": 840.0 * PRICES_2025, "K1": 840.0 * PRICES_2025, "K2": 280.0 * PRICES_2025}
    for pid, loss in zip(year1["practice_id"], year1["loss_usd"], strict=True):
        assert loss == pytest.approx(expected[pid])
        card = report.scorecard(year, pid, screen=screen, impact=result)
        assert card.dollars.set_index("policy").loc["full_bundling", "loss_year1_usd"] == (
            pytest.approx(expected[pid]))
        plots.funnel_plot(screen, highlight=pid, label_flagged=False)
        plots.trend_plot(screen, pid)


# ------------------------------------------------------------------ the CLI


def test_rad3d_impact_without_any_3d_line_says_so_in_standard_json(tmp_path, capsys):
    # Before: IndexError in the loss-distribution figure.
    claims = _csv(tmp_path / "claims.csv", NO_3D)
    code = cli.main(["impact", str(claims), "--draws", "50", "--out", str(tmp_path / "out"),
                     "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert ("Full bundling (BCBS NC, 2024): no practice has 3D rendering revenue in the "
            "claims") in out
    assert "2 practices with 4 quarters (x1)" in out
    summary = _strict((tmp_path / "out/impact_summary.json").read_text())
    det = summary["policies"]["full_bundling"]["deterministic"]
    assert det["loss_year1_usd"] == 0 and det["loss_share_year1"] is None
    assert [a["annualization_factor"] for a in summary["annualization"]] == [1.0, 1.0]
    assert (tmp_path / "out/impact_loss_distribution_full_bundling.png").stat().st_size > 0


def test_rad3d_lcd_of_two_practices_claims_no_certainty(tmp_path, capsys):
    # Before: prob_above 1.0 and a shrinkage flag for P1 (12/40) and P2 (4/40).
    claims = _csv(tmp_path / "claims.csv", _practice("P1", 40, 12) + _practice("P2", 40, 4))
    assert cli.main(["lcd", str(claims), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert "not estimable: fewer than 3 practices screened (2)" in capsys.readouterr().out
    table = (tmp_path / "out/lcd_screen.csv").read_text().splitlines()
    head = table[0].split(",")
    for line in table[1:]:
        row = dict(zip(head, line.split(","), strict=True))
        assert row["prob_above"] == "" and row["flag_shrinkage"] == "False"


# ------------------------------------------------------------------ reports

_NAN = re.compile(r"\bnan\b", re.IGNORECASE)


def _report(tmp_path: Path, rows: list[dict], *, notebooks: list[str], practices: str):
    """``rad3d report`` with the real notebooks on ``rows`` (200 PSA draws)."""
    scenario = tmp_path / "base.yaml"
    scenario.write_text("name: base\ntitle: Degenerate data\ndescription: hand-made claims\n"
                        "parameters:\n  n_draws: 200\n")
    out = tmp_path / "reports" / "latest"
    result = run_report(scenarios=[scenario], claims=[_csv(tmp_path / "claims.csv", rows)],
                        practices=practices, notebooks=notebooks, out=out, workers=2,
                        progress=False)
    assert result.ok, result.summary.to_string()
    pages = {p.relative_to(out).as_posix(): re.sub(r"\s+", " ", BeautifulSoup(
        p.read_text(), "html.parser").get_text(" ")) for p in out.rglob("*.html")}
    for name, text in pages.items():
        assert not _NAN.search(text), (name, _NAN.search(text))
    for path in out.rglob("*.json"):
        _strict(path.read_text())
    return out, pages


@pytest.mark.slow
def test_report_on_degenerate_practices_runs_every_notebook(tmp_path):
    out, pages = _report(tmp_path, DEGENERATE, practices="all",
                         notebooks=["policy_brief", "lcd_screen", "revenue_impact",
                                    "practice_scorecard"])
    # a scorecard for every practice whose dollars the impact counts
    impact_practices = (out / "base/revenue_impact/tables/practices.csv").read_text()
    for pid in ("P1", "P2", "ORPH", "ONCO"):
        assert f"\n{pid}," in impact_practices
        assert f"base/practice_scorecard/{practice_folder(pid)}/practice_scorecard.html" in pages
    orph = pages[f"base/practice_scorecard/{practice_folder('ORPH')}/practice_scorecard.html"]
    assert "It is not screened against the" in orph and "no CT/MR encounter" in orph
    screen_page = pages["base/lcd_screen/lcd_screen.html"]
    assert "Shrinkage not estimable: fewer than 3 practices screened (2)" in screen_page
    assert "2 of 4 practices not screened" in screen_page
    assert "4 practices with 4 quarters (x1)" in pages["base/revenue_impact/revenue_impact.html"]


@pytest.mark.slow
def test_report_without_any_3d_line_runs_the_brief_and_the_impact(tmp_path):
    # Before: the brief and the revenue-impact notebooks failed (IndexError).
    _, pages = _report(tmp_path, NO_3D, practices="none",
                       notebooks=["policy_brief", "lcd_screen", "revenue_impact"])
    brief = pages["base/policy_brief/policy_brief.html"]
    assert "No practice has 3D rendering revenue in the claims" in brief
    assert "Overdispersion not estimable: no practice screened has any 3D rendering" in brief
    lcd_page = pages["base/lcd_screen/lcd_screen.html"]
    assert "Overdispersion φ not estimable" in lcd_page
