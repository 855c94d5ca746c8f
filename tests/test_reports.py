"""Tests for analysis.report and analysis.run: parameters, scenarios, the writer, the batch.

The runner is exercised on tiny throwaway notebooks written into tmp folders, with the
shared-input preparation replaced by a fixed, hand-made summary, so these tests check
the machinery (validation, parallel papermill runs, failure handling, resume, export,
atomic publication, privacy gate) independently of the domain modules.
``tests/test_notebooks.py`` runs the real notebooks on real (small) claims.
"""

from __future__ import annotations

import ast
import dataclasses
import json

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from tiny_reports import RUNNER_PARAMS, make_suite

from analysis import cli, lcd, paths, plots, report, reports, synth
from analysis._io import sha256_file
from analysis.errors import InputError
from analysis.privacy import MARKER, PrivacySettings
from analysis.run import batch, export, publish, scenarios, validation
from analysis.run.identifiers import find_substrings, scan_for_identifiers
from analysis.run.names import practice_folder

PATIENTS = ["PATX00001", "PATX00002", "PATX00003"]
CLAIMS = ["CLMX00001", "CLMX00002", "CLMX00003"]

PARAMS = RUNNER_PARAMS + """\
threshold: float = 0.20  # LCD benchmark share (retired Novitas L35408)
fail_practice: str = ""  # fail on purpose for this practice
leak: bool = False  # print a patient id on purpose
min_cell_count: int = 11  # smallest count shown
internal: bool = False  # internal run
seed: int = 7  # seed"""

BODY = """\
from analysis import report
rpt = report.ReportWriter(output_dir, notebook=NAME, scenario=scenario_name,
                          practice_id=practice_id, min_cell_count=min_cell_count,
                          internal=internal)
inputs = report.load_inputs(inputs_dir)
summary = inputs.summary("year")"""

WORK = """\
import matplotlib.pyplot as plt
assert practice_id != fail_practice or not practice_id, f"practice {practice_id} failed on purpose"
print(inputs.table("lines")["patient_id"].iloc[0] if leak else "no leak")
rpt.table("summary", summary, caption="Summary")
fig, ax = plt.subplots()
ax.bar(summary["practice_id"], summary["n_encounters"])
rpt.figure("bars", fig, caption="Encounters")
rpt.headline("total_encounters", int(summary["n_encounters"].sum()), label="Encounters")
rpt.headline("threshold", threshold, label="Threshold", unit="share")
rpt.finish()"""


def _fake_inputs(paths, link_window_days, progress=None):
    # Practice A: 120 encounters, B: 4 (a small cell), C: 300.
    summary = pd.DataFrame({
        "practice_id": ["A", "B", "C"], "period": "2024", "payer": "BCBSNC",
        "n_encounters": [120, 4, 300], "n_encounters_3d": [30, 2, 45],
    })
    lines = pd.DataFrame({"patient_id": PATIENTS, "claim_id": CLAIMS,
                          "practice_id": ["A", "B", "C"]})
    return {
        "frames": {
            "lines": lines, "quarantine": pd.DataFrame({"patient_id": pd.Series([], dtype="str")}),
            "encounters": lines, "lines_3d": lines,
            "summary_year": summary, "summary_quarter": summary.assign(period="2024Q1"),
        },
        "report": {"rows_read": 3, "rows_accepted": 3, "rows_quarantined": 0},
    }


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A folder of two tiny notebooks, a claims file and a scenario file."""
    return make_suite(tmp_path, monkeypatch, params=PARAMS, code=(BODY, WORK),
                      claims_text="claim_id\nCLMX00001\n",
                      scenario_text="name: base\ntitle: Base\nparameters:\n  threshold: 0.2\n",
                      compute_inputs=_fake_inputs)


def _run(tiny, **options):
    kwargs = dict(scenarios=[tiny["scenario"]], claims=[tiny["claims"]],
                  out=tiny["tmp"] / "reports" / "latest", workers=2,
                  notebook_dir=tiny["nbdir"], progress=False)
    kwargs.update(options)
    return batch.run_report(**kwargs)


# ------------------------------------------------------------------ parameters


def test_notebook_parameters_reads_types_defaults_and_help(tiny):
    params = report.notebook_parameters(tiny["nbdir"] / "summary_page.ipynb")
    p = params["threshold"]
    assert (p.type_name, p.default, p.help) == ("float", 0.2,
                                                "LCD benchmark share (retired Novitas L35408)")
    assert params["claims"].type_name == "list[str]" and params["claims"].default == []
    assert params["leak"].default is False


def test_parameter_papermill_cannot_read_is_an_error(tmp_path):
    nb = new_notebook(cells=[new_code_cell("a: int = 1  # a = b is bad",
                                           metadata={"tags": ["parameters"]})])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(InputError, match="papermill cannot read"):
        report.notebook_parameters(tmp_path / "bad.ipynb")
    nb.cells[0].metadata = {}
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(InputError, match="no cell tagged 'parameters'"):
        report.notebook_parameters(tmp_path / "bad.ipynb")


def test_parameters_read_without_papermill_equal_papermills_reading():
    # The kernel-side reading (ast alone, no papermill import) against papermill's own
    # inspection (papermill.inspection, as `papermill --help-notebook` shows it), on
    # every notebook of the repository.
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    for path in sorted(paths.NOTEBOOK_DIR.glob("*.ipynb")):
        mine = report.notebook_parameters(path, check_papermill=False)
        theirs = {p.name: (p.inferred_type_name, p.default, p.help)
                  for p in _infer_parameters(load_notebook_node(str(path)))}
        assert list(mine) == list(theirs), path.name
        for name, p in mine.items():
            type_name, default, help_text = theirs[name]
            assert (p.type_name or "None", p.default, p.help) == (
                type_name, ast.literal_eval(default), help_text), (path.name, name)


def test_parameter_papermill_reads_differently_is_an_error(tmp_path):
    # papermill's pattern takes only the last line of a continued assignment's help,
    # and a type comment as the type: Python and papermill disagree, so it is an error.
    nb = new_notebook(cells=[new_code_cell("a = 1  # type: float",
                                           metadata={"tags": ["parameters"]})])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    nbformat.write(nb, tmp_path / "typed.ipynb")
    assert report.notebook_parameters(tmp_path / "typed.ipynb", check_papermill=False)[
        "a"].help == "type: float"
    with pytest.raises(InputError, match="papermill reads this parameter differently"):
        report.notebook_parameters(tmp_path / "typed.ipynb")
    nb.cells[0].source = "a: int = len('x')  # not a literal"
    nbformat.write(nb, tmp_path / "call.ipynb")
    with pytest.raises(InputError, match="must be a literal"):
        report.notebook_parameters(tmp_path / "call.ipynb", check_papermill=False)
    nb.cells[0].source = "a: int = (1"
    nbformat.write(nb, tmp_path / "broken.ipynb")
    with pytest.raises(InputError, match="not valid Python"):
        report.notebook_parameters(tmp_path / "broken.ipynb", check_papermill=False)


@pytest.mark.parametrize(
    ("type_name", "value", "ok"),
    [
        ("float", 0.2, True), ("float", 1, True), ("float", "0.2", False),
        ("float", True, False), ("int", 3, True), ("int", 3.0, False),
        ("bool", False, True), ("bool", 0, False), ("str", "x", True),
        ("list[str]", ["a", "b"], True), ("list[str]", "a", False),
        ("list[str]", ["a", 1], False), ("str | None", None, True),
        ("Optional[int]", None, True), ("dict[str, float]", {"a": 1.5}, True),
        ("dict[str, float]", {"a": "x"}, False), ("", object(), True),
    ],
)
def test_type_matching(type_name, value, ok):
    assert validation._matches(type_name, value) is ok


def test_validate_parameters_unknown_wrong_type_missing_file_reserved(tiny):
    declared = {"summary_page": report.notebook_parameters(
        tiny["nbdir"] / "summary_page.ipynb")}
    validation.validate_parameters({"threshold": 0.25}, declared)
    with pytest.raises(InputError, match="unknown parameter") as err:
        validation.validate_parameters({"treshold": 0.25}, declared, source="s.yaml")
    assert "s.yaml" in str(err.value) and "treshold" in str(err.value)
    with pytest.raises(InputError, match="wrong type"):
        validation.validate_parameters({"threshold": "high"}, declared)
    with pytest.raises(InputError, match="file not found"):
        validation.validate_parameters({"claims": ["no/such/claims.csv"]}, declared)
    with pytest.raises(InputError, match="set by rad3d report"):
        validation.validate_parameters({"output_dir": "/tmp"}, declared)


def test_load_scenario(tmp_path):
    good = tmp_path / "s.yaml"
    good.write_text("title: T\nparameters:\n  threshold: 0.25\n"
                    "notebooks:\n  summary_page:\n    seed: 3\n")
    s = scenarios.load_scenario(good)
    assert s.name == "s" and s.parameters_for("summary_page") == {"threshold": 0.25, "seed": 3}
    assert s.to_dict()["parameters"] == {"threshold": 0.25}
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameter:\n  threshold: 0.25\n")
    with pytest.raises(InputError, match="unknown key"):
        scenarios.load_scenario(bad)
    bad.write_text("parameters: [unclosed\n")
    with pytest.raises(InputError, match="YAML"):
        scenarios.load_scenario(bad)
    with pytest.raises(InputError, match="not found"):
        scenarios.load_scenario(tmp_path / "none.yaml")


# ------------------------------------------------------------------- the writer


def test_report_writer_suppresses_saves_and_records(tmp_path):
    w = report.ReportWriter(tmp_path, notebook="nb", scenario="base")
    w.table("t", pd.DataFrame({"practice_id": ["A", "B", "C"], "n_lines": [120, 4, 300],
                               "rate": [0.1, 0.2, 0.3]}))
    w.headline("n_lines_total", 7, label="small")  # a count of 1-10: not recorded
    w.headline("loss_usd", 1234.5, unit="usd")
    w.finish()
    shown = pd.read_csv(tmp_path / "tables" / "t.csv")
    # 4 is primary, 120 its complement; their rates go with them
    assert shown["n_lines"].astype(str).tolist() == [MARKER, MARKER, "300"]
    assert shown["rate"].astype(str).tolist() == [MARKER, MARKER, "0.3"]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["headline"]["n_lines_total"] == {
        "value": None, "label": "small", "unit": "", "note": "", "suppressed": True}
    assert results["headline"]["loss_usd"]["value"] == 1234.5
    assert results["privacy"]["suppressed_cells"] == 4
    assert pd.read_excel(tmp_path / "tables" / "nb.xlsx", sheet_name="t").shape == (3, 3)
    with pytest.raises(ValueError, match="identifier"):
        w.table("ids", pd.DataFrame({"patient_id": ["P1"]}))
    with pytest.raises(InputError, match="internal"):
        report.ReportWriter(tmp_path, min_cell_count=3)


# --------------------------------------------------------------------- batches


def test_missing_claims_file_fails_before_anything_runs(tiny, capsys):
    out = tiny["tmp"] / "reports" / "latest"
    with pytest.raises(InputError, match="claims file not found"):
        _run(tiny, claims=[tiny["tmp"] / "missing.csv"])
    assert not (tiny["tmp"] / "reports").exists()
    # the CLI prints one line and exits 2
    code = cli.main(["report", "--claims", str(tiny["tmp"] / "missing.csv"),
                     "--params", str(tiny["scenario"]), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "missing.csv" in err and "Traceback" not in err


def test_bad_scenario_fails_before_anything_runs(tiny):
    tiny["scenario"].write_text("parameters:\n  threshold: high\n")
    with pytest.raises(InputError, match="wrong type"):
        _run(tiny)
    tiny["scenario"].write_text("parameters:\n  min_cell_count: 5\n")
    with pytest.raises(InputError, match="internal"):
        _run(tiny)
    tiny["scenario"].write_text("parameters:\n  threshold: 0.2\n")
    with pytest.raises(InputError, match="--practices"):
        _run(tiny, practices="A,Z")
    # the practices are known only once the claims are prepared (cached beside the
    # report), but no notebook ran and no report folder was written
    assert not (tiny["tmp"] / "reports" / "latest").exists()
    assert [p.name for p in (tiny["tmp"] / "reports").iterdir()] == [".rad3d-cache"]


@pytest.mark.slow
def test_batch_continues_past_a_failed_practice_and_resumes(tiny, capsys):
    tiny["scenario"].write_text("name: base\nparameters:\n  fail_practice: B\n")
    card_a, card_b, card_c = (f"base/practice_scorecard/{practice_folder(p)}" for p in "ABC")
    out = tiny["tmp"] / "reports" / "latest"
    code = cli.main(["report", "--params", str(tiny["scenario"]), "--claims",
                     str(tiny["claims"]), "--out", str(out), "--workers", "2",
                     "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert card_b in err and "failed on purpose" in err
    manifest = json.loads((out / "manifest.json").read_text())
    status = {j["rel_dir"]: j["status"] for j in manifest["jobs"]}
    assert status == {"base/summary_page": "ok", card_a: "ok", card_b: "failed",
                      card_c: "ok"}
    assert manifest["failures"] == [card_b]
    index = (out / "index.html").read_text()
    assert "1 run failed" in index and "failed on purpose" in index
    # the failed notebook is kept, with its error, for reading
    assert (out / card_b / "practice_scorecard.html").is_file()
    # outputs of the good runs
    a = out / card_a
    assert (a / "figures/bars.png").stat().st_size > 0
    assert json.loads((a / "results.json").read_text())["headline"]["total_encounters"][
        "value"] == 424
    html = (a / "practice_scorecard.html").read_text()
    assert "rpt.table" not in html and "data:image/png;base64" in html
    assert "cdnjs" not in html
    # --resume: the runs that succeeded with the same key are reused, B runs again
    result = _run(tiny, resume=True)
    by = {r["rel_dir"]: r["status"] for r in result.records}
    assert by[card_a] == "reused"
    assert by["base/summary_page"] == "reused"
    assert by[card_b] == "failed"
    assert not result.ok and result.published
    # the index says what was carried over in words, not as a status
    index = (out / "index.html").read_text()
    assert ">reused<" not in index and "carried over unchanged" in index
    # nothing half-built is left beside the report
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".latest")]
    assert leftovers == []


@pytest.mark.slow
def test_privacy_gate_refuses_to_publish_a_leak(tiny, capsys):
    tiny["scenario"].write_text("name: base\nparameters:\n  leak: true\n")
    result = _run(tiny, practices="none", workers=1)
    assert not result.published
    assert set(result.privacy_hits["identifier"]) == {PATIENTS[0]}
    assert not (tiny["tmp"] / "reports" / "latest").exists()
    # without the leak: published, manifest complete, no identifier anywhere
    tiny["scenario"].write_text("name: base\nparameters:\n  leak: false\n")
    result = _run(tiny, practices="none", workers=1)
    assert result.ok
    out = tiny["tmp"] / "reports" / "latest"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["privacy"]["base"]["min_cell_count"] == 11
    assert manifest["inputs"][0]["claims"][0]["sha256"] == sha256_file(tiny["claims"])
    assert {"python", "pandas", "papermill"} <= set(manifest["versions"])
    assert "commit" in manifest["git"] and "dirty" in manifest["git"]
    job = json.loads((out / "base/summary_page/manifest.json").read_text())
    assert job["seed"] == 7 and job["parameters"]["threshold"] == 0.2
    assert scan_for_identifiers(out, PATIENTS + CLAIMS).empty
    # no absolute local path (cache, claims, notebooks, the project) in any file
    needles = [str(tiny["tmp"]), str(tiny["tmp"].resolve()), str(paths.PROJECT_DIR)]
    assert find_substrings(out, needles).empty, find_substrings(out, needles)
    job = json.loads((out / "base/summary_page/job.json").read_text())
    assert job["parameters"]["inputs_dir"].startswith("rad3d-cache/")
    assert job["parameters"]["claims"] == ["claims.csv"]



# ------------------------------------------------- provenance, scenario, display


def test_data_statement_says_synthetic_for_the_sample_by_content(tmp_path):
    # a copy of the bundled sample under another name is still the sample
    copy = tmp_path / "my_claims.parquet"
    copy.write_bytes(paths.SAMPLE_CLAIMS.read_bytes())
    info = {"claims": [{"path": str(copy), "sha256": sha256_file(copy)}],
            "claims_report": {"rows_read": 100, "rows_accepted": 100, "rows_quarantined": 0}}
    text = report.data_statement(info)
    assert "SYNTHETIC" in text and "claims generator" in text and "North Carolina" in text
    assert synth.SAMPLE_SCALE == 1 / 40 and "1/40" in text
    assert "not an estimate of North Carolina's actual exposure" in text
    assert str(tmp_path) not in text
    # another file (one byte changed) is named with its rows; never called synthetic
    other = tmp_path / "real.csv"
    other.write_bytes(copy.read_bytes()[:-1] + b"x")
    info = {"claims": [{"path": str(other), "sha256": sha256_file(other)}],
            "claims_report": {"rows_read": 1200, "rows_accepted": 1197,
                              "rows_quarantined": 3}}
    text = report.data_statement(info)
    assert "SYNTHETIC" not in text and "real.csv" in text and str(tmp_path) not in text
    assert "Rows read 1,200; accepted 1,197; quarantined fewer than 11" in text
    info["claims_report"]["rows_quarantined"] = 0
    assert "quarantined 0 " in report.data_statement(info)


def test_the_three_year_sample_is_synthetic_at_its_own_scale():
    # data/sample/README.md: rad3d synth ... --volume-scale 0.0125 (1/80)
    f = paths.REPORT_CLAIMS
    assert f == paths.SAMPLE_CLAIMS_2023_2025 and synth.SAMPLE_SCALE_2023_2025 == 0.0125
    info = {"claims": [{"path": str(f), "sha256": sha256_file(f)}]}
    text = report.data_statement(info)
    assert text.startswith("SYNTHETIC DATA") and "1/80" in text and "1/40" not in text
    assert report.data_label(info).startswith("SYNTHETIC DATA")


def test_scenario_overview_shows_key_assumptions_and_changes(tiny):
    defaults = report.notebook_parameters(tiny["nbdir"] / "summary_page.ipynb")
    values = {"scenario_name": "high", "threshold": 0.25, "seed": 7, "leak": False,
              "fail_practice": "B", "output_dir": "/x", "other": 1}
    o = report.scenario_overview(values, defaults=defaults, title="High", description="D",
                                 key=("threshold", "seed"))
    t = o.table
    # key rows first (threshold changed, seed not), then the other change; runner-set
    # parameters (output_dir) and undeclared names (other) are left out
    assert t["setting"].tolist() == ["LCD benchmark (share of CT/MR encounters with 3D)",
                                     "Random seed", "Fail practice"]
    assert t["this_scenario"].tolist() == ["25%", "7", "B"]
    assert t["default"].tolist() == ["20%", "7", ""]
    assert t["changed"].tolist() == [True, False, True] and o.n_changed == 2
    assert (o.name, o.title) == ("high", "High")
    assert "High" in o._repr_html_() and "25%" in o._repr_html_()


def _shown(monkeypatch):
    shown = []
    monkeypatch.setattr(report.ReportWriter, "_display_html", staticmethod(shown.append))
    return shown


def test_table_shows_chosen_columns_with_labels_and_saves_all(tmp_path, monkeypatch):
    shown = _shown(monkeypatch)
    w = report.ReportWriter(tmp_path, notebook="nb",
                            labels=report.column_labels(horizon_years=3))
    t = pd.DataFrame({"policy": ["a", "b"], "loss_horizon_usd": [3000.0, 10.0],
                      "loss_year1_usd": [1000.0, 5.0], "extra_usd": [1.0, 2.0]})
    w.table("policies", t, columns=["policy", "loss_year1_usd", "loss_horizon_usd"])
    html = shown[-1]
    assert "Loss over 3 years ($)" in html and "Loss, year 1 ($)" in html
    assert "extra" not in html.lower().split("columns shown")[0]
    assert "3 of 4 columns shown" in html and "tables/policies.csv" in html
    assert "tables/nb.xlsx" in html
    assert pd.read_csv(tmp_path / "tables" / "policies.csv").shape == (2, 4)
    with pytest.raises(ValueError, match="no column"):
        w.table("bad", t, columns=["nope"])
    # rows of one policy shown; the CSV keeps both
    w.table("one", t, where={"policy": "b"}, columns=["policy", "loss_year1_usd"])
    assert "Rows with policy = b: 1 of 2 rows shown" in shown[-1]
    assert "$5.00" in shown[-1] and "$1,000" not in shown[-1]
    assert pd.read_csv(tmp_path / "tables" / "one.csv").shape == (2, 4)


@pytest.mark.parametrize("basis", ["encounters", "services"])
def test_screen_counts_are_shown_as_words_and_saved_by_name(tmp_path, monkeypatch, basis):
    shown = _shown(monkeypatch)
    w = report.ReportWriter(tmp_path, notebook="nb", labels=report.column_labels(basis=basis))
    summary = pd.DataFrame({"practice_id": ["A", "B"], "period": "2024", "payer": "X",
                            "n_nononc_encounters": [100, 120],
                            "n_nononc_encounters_3d": [35, 12],
                            "ct_mr_units": [150.0, 160.0], "units_3d_76376": [40.0, 20.0],
                            "units_3d_76377": [0.0, 0.0]})
    result = lcd.screen(summary, basis=basis)
    w.table("screen", result.summary,
            columns=["practice_id", "n_ct_mr", "n_3d", "unit", "rate"])
    header = shown[-1].split("<tbody")[0]
    assert f"CT/MR {basis}" in header and f"3D {basis}" in header and "Unit" in header
    assert ">n_ct_mr<" not in header and ">n_3d<" not in header  # names only in data-column
    saved = pd.read_csv(tmp_path / "tables" / "screen.csv")
    assert saved["unit"].tolist() == [basis, basis]
    assert {"n_ct_mr", "n_3d"} <= set(saved.columns)


def test_callout_and_scenario_are_shown(tmp_path, monkeypatch):
    shown = _shown(monkeypatch)
    w = report.ReportWriter(tmp_path, notebook="nb")
    w.callout("SYNTHETIC DATA. <b>x</b>", title="Data.")
    assert "rad3d-callout" in shown[-1] and "&lt;b&gt;" in shown[-1]
    table = pd.DataFrame({"setting": ["Horizon (years)"], "this_scenario": ["5"],
                          "default": ["3"], "changed": [True], "note": ["n"]})
    w.show_scenario(report.ScenarioOverview("long", "Long horizon", "Five years.", table))
    text = " ".join(shown[-2:])
    assert "Scenario: Long horizon" in text and "Five years." in text
    assert "Horizon (years)" in text and "1 differ" in text
    assert (tmp_path / "tables" / "scenario.csv").is_file()


class _Screen:  # the two tables the figure-privacy helpers read
    def __init__(self, table, trend):
        self.table, self.trend = table, trend


def test_hidden_practices_and_periods_follow_the_table_rules():
    # n_3d: B = 5 is a small cell; its complement is the smallest other non-zero n_3d,
    # A = 30. D has n_3d = 0 (zero is never suppressed).
    table = pd.DataFrame({"practice_id": ["A", "B", "C", "D"], "screened": True,
                          "n_ct_mr": [120, 300, 500, 50], "n_3d": [30, 5, 100, 0]})
    # one practice's quarters: Q2 has n_ct_mr = 8 and n_3d = 2 (both small); the
    # complement in each column is Q1 (n_ct_mr 40 < 50, n_3d 12 < 15); Q4 (n_ct_mr = 0)
    # is never plotted anyway.
    trend = pd.DataFrame({"practice_id": "A", "period": ["Q1", "Q2", "Q3", "Q4"],
                          "n_ct_mr": [40, 8, 50, 0], "n_3d": [12, 2, 15, 0]})
    screen = _Screen(table, trend)
    assert report.hidden_practices(screen) == ["A", "B"]
    assert report.hidden_periods(screen, "A") == ["Q1", "Q2"]
    # an internal run that shows counts from 2 up hides only what is 1 (nothing here)
    internal = PrivacySettings(min_cell_count=2, internal=True)
    assert report.hidden_practices(screen, settings=internal) == []
    assert report.hidden_periods(screen, "A", settings=internal) == []


def test_trend_figure_does_not_plot_suppressed_quarters(tmp_path, monkeypatch):
    _shown(monkeypatch)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    rows = []
    # practice S: quarters with 200, 9, 180, 220 encounters (Q2 small: hidden with its
    # complement Q3); practice T: large everywhere (all four plotted)
    for q, ns, nt in (("2024Q1", 200, 300), ("2024Q2", 9, 310), ("2024Q3", 180, 320),
                      ("2024Q4", 220, 330)):
        for pid, n in (("S", ns), ("T", nt)):
            x = max(round(0.3 * n), 0)
            rows.append({"practice_id": pid, "period": q, "payer": "BCBSNC",
                         "n_encounters": n, "n_encounters_3d": x, "n_onc_encounters": 0,
                         "n_onc_encounters_3d": 0, "n_nononc_encounters": n,
                         "n_nononc_encounters_3d": x})
    screen = lcd.screen(pd.DataFrame(rows))
    captured = []
    original = plots.trend_plot
    monkeypatch.setattr(plots, "trend_plot", lambda r, p: captured.append(
        [t.get_text() for t in original(r, p).axes[0].get_xticklabels()]) or original(r, p))
    w = report.ReportWriter(tmp_path, notebook="nb")
    w.trend("trend_S", screen, "S", caption="S.")
    w.trend("trend_T", screen, "T", caption="T.")
    # x of Q2 is 3 (small) and n 9: hidden, with the complement (the smallest other
    # quarter: Q3, n = 180, x = 54)
    assert captured[0] == ["2024Q1", "2024Q4"]
    assert captured[1] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert (tmp_path / "figures" / "trend_S.png").stat().st_size > 0


def test_quarterly_trends_show_only_what_the_plan_shows(tmp_path, monkeypatch):
    from analysis.disclosure import disclosure_plan
    from analysis.trends import quarterly_trends

    _shown(monkeypatch)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    rows = []
    # S: 2024Q2 has 9 encounters (small), hidden with S's smallest other quarter, 2024Q3
    # (S's total is published); the statewide 2024Q2 and 2024Q3 are published too, so
    # T's (smaller than U's) go with them, and by T's total no further quarter of T.
    for q, ns, nt, nu in (("2024Q1", 200, 300, 400), ("2024Q2", 9, 310, 410),
                          ("2024Q3", 180, 320, 420), ("2024Q4", 220, 330, 430)):
        for pid, n in (("S", ns), ("T", nt), ("U", nu)):
            x = round(0.3 * n)
            rows.append({"practice_id": pid, "period": q, "payer": "BCBSNC",
                         "n_encounters": n, "n_encounters_3d": x, "n_onc_encounters": 0,
                         "n_onc_encounters_3d": 0, "n_nononc_encounters": n,
                         "n_nononc_encounters_3d": x})
    quarters = pd.DataFrame(rows)
    trend = quarterly_trends(quarters)
    plan = disclosure_plan(quarters.assign(period="2024"), quarters)
    assert plan.periods_of("S") == ["2024Q2", "2024Q3"]
    assert plan.periods_of("T") == ["2024Q2", "2024Q3"] and plan.periods_of("U") == []
    plotted = {}
    original = plots.quarterly_trend_plot
    monkeypatch.setattr(plots, "quarterly_trend_plot", lambda r, p=None: plotted.update(
        {p: sorted(r.practice(p)["period"])}) or original(r, p))
    w = report.ReportWriter(tmp_path, notebook="practice_scorecard", practice_id="S")
    w.disclose(plan)
    w.trends("trend_S", trend, "S")
    w.trends("trend_U", trend, "U")
    assert plotted == {"S": ["2024Q1", "2024Q4"], "U": [
        "2024Q1", "2024Q2", "2024Q3", "2024Q4"]}
    w.table("trend", trend.practice("S"), columns=["period", "n_ct_mr", "n_3d", "rate"])
    shown = pd.read_csv(tmp_path / "tables" / "trend.csv", dtype=str).set_index("period")
    assert (shown.loc[["2024Q2", "2024Q3"], ["n_ct_mr", "n_3d", "rate"]] == MARKER).all().all()
    assert shown.loc["2024Q1", "n_ct_mr"] == "200"
    # a hidden practice: no figure, a sentence
    hidden = report.ReportWriter(tmp_path / "h", notebook="practice_scorecard",
                                 practice_id="S")
    hidden.disclose(dataclasses.replace(plan, hidden=frozenset({"S"})))
    hidden.trends("trend_S", trend, "S")
    assert not (tmp_path / "h" / "figures" / "trend_S.png").exists()


def test_the_lcd_answer_says_what_the_quarters_show():
    from analysis.report.answer import trend_row
    from analysis.trends import quarterly_trends

    rows = []
    # UP at 10 % then 40 % (newly flagged), twelve practices at 10 % throughout
    for i, q in enumerate(("2024Q1", "2024Q2")):
        for pid in ["UP", *(f"F{j:02d}" for j in range(12))]:
            x = 80 if pid == "UP" and i == 1 else 20
            rows.append({"practice_id": pid, "period": q, "payer": "BCBSNC",
                         "n_nononc_encounters": 200, "n_nononc_encounters_3d": x})
    trend = quarterly_trends(pd.DataFrame(rows))
    text = trend_row(trend).text
    # 2024Q1: 13 x 20 / 2600 = 10.0 %; 2024Q2: (12 x 20 + 80) / 2600 = 12.3 %
    assert text.startswith("Over 2024Q1 to 2024Q2 (2 quarters), the rate of all practices "
                           "went from 10.0% (2024Q1) to 12.3% (2024Q2); 0 to 1 practice")
    assert "Flag status changed: UP (newly flagged: 2024Q2)." in text
    assert "UP" not in trend_row(trend, hidden={"UP"}).text


def test_export_html_has_print_css_and_no_code():
    nb = new_notebook(cells=[new_markdown_cell("# T\n\n## Section"),
                             new_code_cell("x = 1", outputs=[])])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    html = export.export_html(nb, title="t")
    assert "@media print" in html and "overflow:visible!important" in html
    assert "max-width:100%!important" in html and "counter(pages)" in html
    # no section is forced onto a new page of its own
    assert "page-break-before:always" not in html and "break-before:page" not in html
    assert "x = 1" not in html


def test_scrub_paths_replaces_local_paths(tmp_path):
    out = tmp_path / "reports" / "latest"
    (out / "base").mkdir(parents=True)
    cache = tmp_path / "reports" / ".rad3d-cache"
    claims = tmp_path / "data" / "claims.csv"
    shared = report.SharedInputs(cache / "abc", {"claims": [{"path": str(claims),
                                                              "sha256": "0" * 64}]})
    (out / "base" / "job.json").write_text(json.dumps({
        "inputs_dir": str(cache / "abc"), "claims": [str(claims)],
        "nb": str(paths.PROJECT_DIR / "notebooks" / "x.ipynb"),
        "out": str(out / "base" / "x.html")}))
    pairs = publish.path_replacements(stage=out, out=out, cache_dir=cache,
                                      prepared=[shared], scenarios=[])
    assert publish.scrub_paths(out, pairs) == 1
    data = json.loads((out / "base" / "job.json").read_text())
    assert data == {"inputs_dir": "rad3d-cache/abc", "claims": ["claims.csv"],
                    "nb": "notebooks/x.ipynb", "out": "base/x.html"}


def test_figure_dollar_signs_are_text_not_math(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    _shown(monkeypatch)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    fig = Figure()
    ax = fig.subplots()
    ax.set_title("95% of draws between $303k and $386k")
    report.ReportWriter(tmp_path, notebook="nb").figure("f", fig)
    assert ax.title.get_parse_math() is False
    assert (tmp_path / "figures" / "f.png").stat().st_size > 0


def test_scorecard_of_a_suppressed_practice_withholds_its_rate():
    position = pd.DataFrame({"measure": ["3D rate (screen basis)", "peer percentile"],
                             "practice": [0.032, 0.225], "peer_median": [0.063, 0.5],
                             "benchmark": [0.2, 0.9]})
    flags = pd.DataFrame({"screen": ["exact"], "flagged": [False], "rule": ["q < 0.05"]})
    empty = pd.DataFrame()
    shown = report.Scorecard("P1", position, empty, flags, empty, empty)
    assert shown.position_display["practice"].tolist() == ["3.2%", "22.5%"]
    assert "Its 3D rate is 3.2% against a peer median of 6.3%" in shown.headline
    hidden = report.Scorecard("P1", position, empty, flags, empty, empty, suppressed=True)
    assert hidden.position_display["practice"].tolist() == [MARKER, MARKER]
    assert hidden.position_display["peer_median"].tolist() == ["6.3%", "50.0%"]
    assert "3.2%" not in hidden.headline and "suppressed" in hidden.headline


# ------------------------------------------------------------ the old module path


def test_reports_module_still_offers_every_name_from_its_new_home():
    for name in reports.__all__:
        assert getattr(reports, name) is not None, name
    assert reports.run_report is batch.run_report
    assert reports.ReportWriter is report.ReportWriter
    assert reports.sha256_file is sha256_file


# ------------------------------------------------------ streamed shared inputs


def test_shared_inputs_are_streamed_summaries_with_identifiers_on_disk(tmp_path):
    """The prepared folder of the real preparation (the report's default, the bundled
    three-year sample, streamed) holds
    the two summaries and the practices' price baskets, equal to the in-memory link of
    the loaded lines, no patient key in any table a notebook reads, and the identifiers
    for the privacy gate."""
    from analysis.claims import load_claims
    from analysis.encounters import link
    from analysis.impact import impact_base
    from analysis.paths import REPORT_CLAIMS
    from analysis.revenue_base import attached_baskets
    from analysis.revenue_engine import price_baskets
    from analysis.run.inputs import prepare_inputs
    from analysis.summary import summarize_linked

    inputs = prepare_inputs(None, cache_dir=tmp_path)
    assert sorted(p.name for p in inputs.folder.glob("*.parquet")) == [
        "baskets.parquet", "identifiers.parquet", "summary_quarter.parquet",
        "summary_year.parquet"]
    loaded = load_claims(REPORT_CLAIMS)
    linked = link(loaded.lines)
    for period in ("year", "quarter"):
        pd.testing.assert_frame_equal(inputs.summary(period),
                                      summarize_linked(linked, period=period))
    # The practices' price baskets round-trip through baskets.parquet, and the
    # summaries a notebook gets carry them to the impact model.
    baskets = price_baskets(linked.lines_3d)
    pd.testing.assert_frame_equal(inputs.baskets, baskets)
    pd.testing.assert_frame_equal(attached_baskets(inputs.summary("quarter")), baskets)
    assert impact_base(inputs.summary("quarter")).baskets["practice_id"].nunique() == 40
    pd.testing.assert_frame_equal(prepare_inputs(None, cache_dir=tmp_path).baskets, baskets)
    for name, frame in inputs.tables().items():
        assert not {"patient_id", "claim_id"} & set(frame.columns), name
    # Inputs prepared without baskets (an older folder) price by the summary alone.
    (inputs.folder / "baskets.parquet").unlink()
    older = report.SharedInputs.read(inputs.folder)
    assert older.baskets is None and attached_baskets(older.summary("quarter")) is None
    assert inputs.info["rows"]["encounters"] == int(
        summarize_linked(linked)["n_encounters"].sum())
    assert inputs.info["claims_report"]["rows_accepted"] == loaded.report.rows_accepted
    patient = str(loaded.lines["patient_id"].iloc[0])
    claim = str(loaded.lines["claim_id"].iloc[-1])
    assert inputs.identifiers_among({patient, claim, "NC001", "2024"}) == {patient, claim}


def test_privacy_gate_streams_identifiers_through_a_lookup(tmp_path):
    (tmp_path / "page.html").write_text("<p>practice NC001 saw PAT000123 on 2024-03-01</p>")
    asked = []

    def lookup(tokens):
        asked.append(set(tokens))
        return {t for t in tokens if t.startswith("PAT")}

    hits = scan_for_identifiers(tmp_path, lookup)
    assert hits["identifier"].tolist() == ["PAT000123"]
    assert "NC001" in asked[0] and "2024-03-01" in asked[0]


def test_off_a_terminal_each_finished_notebook_gets_one_line(tiny, capsys):
    # piped (as in CI or `make report | tee`), the bar is off: one line per notebook
    result = _run(tiny, progress=None)
    assert result.ok
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("rad3d report: ")]
    assert len(lines) == 4  # the summary page and three scorecards
    assert all(" ok in " in x and x.endswith(" s") for x in lines)
    assert lines[-1].startswith("rad3d report: 4/4 ")
    # --no-progress: silent
    _run(tiny, progress=False, out=tiny["tmp"] / "reports" / "quiet")
    assert "rad3d report: " not in capsys.readouterr().err
