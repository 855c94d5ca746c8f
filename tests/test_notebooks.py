"""The report notebooks: structure, and a real run through papermill on small data.

Each notebook is a pair, ``notebooks/<name>.ipynb`` and its jupytext twin
``notebooks/<name>.py``; the pair must hold the same cells, the committed ``.ipynb``
no outputs, and no notebook a function or class of its own. The parameters cells are
literals (papermill reads them as text), so their defaults are checked against
:mod:`analysis.defaults` and the model's own defaults here.

The run uses small synthetic claims (6 practices) and the base-case scenario; the
headline numbers each notebook records in ``results.json`` are recomputed here with
the package's own functions and must agree. The whole report folder is then scanned
for every patient and claim identifier of the input, and every shown table for
counts from 1 to 10.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analysis import claims, defaults, impact, lcd, paths, report, synth, uncertainty
from analysis.disclosure import disclosure_plan
from analysis.privacy import shown_small_counts
from analysis.run.batch import run_report
from analysis.run.identifiers import find_substrings, scan_for_identifiers
from analysis.run.inputs import prepare_inputs
from analysis.run.jobs import APPS
from analysis.run.names import practice_folder
from analysis.run.scenarios import load_scenario
from analysis.run.validation import validate_parameters

ROOT = paths.PROJECT_DIR
NOTEBOOK_DIR = paths.NOTEBOOK_DIR
#: The notebooks of the claims pathway, run end to end below.
NOTEBOOKS = ("policy_brief", "lcd_screen", "revenue_impact", "practice_scorecard")
#: Every notebook of the folder (the Medicare notebook reads public CMS files).
ALL_NOTEBOOKS = tuple(sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")))
#: The report notebooks: all but the apps (the live what-if), which reports never run.
REPORT_NOTEBOOKS = tuple(n for n in ALL_NOTEBOOKS if n not in APPS)
BASE = paths.PARAMS_DIR / "base.yaml"


# ------------------------------------------------------------------- structure


def _cells(path: Path) -> list[tuple[str, str, dict]]:
    """The cells as jupytext reads them: type, source and metadata (tags)."""
    return [(c.cell_type, c.source, dict(c.metadata)) for c in jupytext.read(path).cells]


def _pair_differences(ipynb: Path) -> list[str]:
    """Where a notebook and its ``.py`` twin differ; empty when they are in sync."""
    twin = ipynb.with_suffix(".py")
    if not twin.is_file():
        return [f"{twin.name} is missing"]
    left, right = _cells(ipynb), _cells(twin)
    found = [f"cell {i}: {a[1][:60]!r} {a[2]} vs {b[1][:60]!r} {b[2]}"
             for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b]
    if len(left) != len(right):
        found.append(f"{len(left)} cells in {ipynb.name}, {len(right)} in {twin.name}")
    return found


def test_every_report_notebook_is_there():
    assert set(NOTEBOOKS) | {"medicare_benchmark"} <= set(REPORT_NOTEBOOKS)
    assert set(APPS) <= set(ALL_NOTEBOOKS)
    assert not list(NOTEBOOK_DIR.glob("build_*.py"))  # nothing writes the notebooks


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_notebook_and_its_py_twin_hold_the_same_cells(name):
    assert _pair_differences(NOTEBOOK_DIR / f"{name}.ipynb") == [], (
        "run `make notebooks` (jupytext --sync notebooks/*.ipynb)")


def test_the_pair_check_fails_when_the_twins_diverge(tmp_path):
    for suffix in (".ipynb", ".py"):
        shutil.copy(NOTEBOOK_DIR / f"lcd_screen{suffix}", tmp_path / f"lcd_screen{suffix}")
    copy = tmp_path / "lcd_screen.ipynb"
    assert _pair_differences(copy) == []
    twin = copy.with_suffix(".py")
    text = twin.read_text(encoding="utf-8")
    # an edit to the title in the .py alone
    twin.write_text(text.replace("# # ", "# # Edited: ", 1), encoding="utf-8")
    assert any("Edited" in d for d in _pair_differences(copy))
    # a parameters cell that loses its tag in one twin is a difference too
    twin.write_text(text.replace('# %% tags=["parameters"]', "# %%", 1), encoding="utf-8")
    assert _pair_differences(copy)
    twin.write_text(text + "\n# %%\nx = 1\n", encoding="utf-8")
    assert any("cells" in d for d in _pair_differences(copy))
    twin.unlink()
    assert _pair_differences(copy) == ["lcd_screen.py is missing"]


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_committed_notebook_has_no_outputs(name):
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_notebook_defines_no_function_or_class(name):
    banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    if name in NOTEBOOKS or name in APPS:  # these never needed a lambda either
        banned += (ast.Lambda,)
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            assert not [n for n in ast.walk(tree) if isinstance(n, banned)], cell.source


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_notebook_imports_the_report_side_only(name):
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    names = set().union(*(_imports(ast.parse(c.source)) for c in nb.cells
                          if c.cell_type == "code"))
    assert "analysis.report" in names
    assert not [n for n in names if n.startswith(("analysis.run", "analysis.reports"))]


def test_report_package_never_imports_the_runner():
    for path in sorted((paths.PACKAGE_DIR / "report").glob("*.py")):
        names = _imports(ast.parse(path.read_text(encoding="utf-8")))
        assert not [n for n in names if n.startswith("analysis.run")], path.name


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_every_parameter_is_typed_and_documented(name):
    params = report.notebook_parameters(NOTEBOOK_DIR / f"{name}.ipynb")
    for p in params.values():
        assert p.type_name, f"{name}: {p.name} has no type annotation"
        assert len(p.help) > 10, f"{name}: {p.name} has no help comment"


#: Parameter -> the package default it must equal.
PACKAGE_DEFAULTS = {
    "threshold": defaults.LCD_BENCHMARK,
    "cap_threshold": defaults.LCD_BENCHMARK,
    "alpha": defaults.ALPHA,
    "link_window_days": defaults.LINK_WINDOW_DAYS,
    "min_cell_count": defaults.MIN_CELL_COUNT,
    "policy_payers": list(defaults.POLICY_PAYERS),
    "effective_date": defaults.EFFECTIVE_DATE.isoformat(),
}


@pytest.mark.parametrize("name", REPORT_NOTEBOOKS)
def test_parameter_defaults_equal_the_package_defaults(name):
    params = report.notebook_parameters(NOTEBOOK_DIR / f"{name}.ipynb")
    assert {"threshold", "alpha", "min_cell_count"} <= set(params)
    for field, expected in PACKAGE_DEFAULTS.items():
        if field in params:
            assert params[field].default == expected, (name, field)
    assert params["threshold"].default == lcd.ScreenSettings().threshold
    assert params["alpha"].default == lcd.ScreenSettings().alpha
    if "headline_policy" in params:
        model = impact.ImpactAssumptions()
        for field in impact.ImpactAssumptions.parameter_names():
            if field in params:
                assert params[field].default == getattr(model, field), (name, field)
        assert params["horizon_years"].default == model.horizon_years
        assert params["start_date"].default == model.start_date.isoformat()
        assert params["prices"].default == model.prices


def test_a_parameter_shared_by_notebooks_has_one_type_and_default():
    seen: dict[str, tuple[str, str, object]] = {}
    for name in ALL_NOTEBOOKS:
        for p in report.notebook_parameters(NOTEBOOK_DIR / f"{name}.ipynb").values():
            first = seen.setdefault(p.name, (name, p.type_name, p.default))
            assert (p.type_name, p.default) == first[1:], (p.name, first[0], name)


def test_papermill_help_notebook_documents_parameters():
    out = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook",
         str(NOTEBOOK_DIR / "lcd_screen.ipynb")],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "threshold: float (default 0.20)" in out
    assert "retired Novitas L35408" in out


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks" / "params").glob("*.yaml")))
def test_scenario_files_validate(path):
    declared = {n: report.notebook_parameters(NOTEBOOK_DIR / f"{n}.ipynb")
                for n in REPORT_NOTEBOOKS}
    scenario = load_scenario(path)
    validate_parameters(scenario.parameters, declared, source=path)


def test_required_scenarios_exist():
    names = {load_scenario(p).name
             for p in (ROOT / "notebooks" / "params").glob("*.yaml")}
    assert {"base", "commercial_high", "commercial_low", "lcd_cap"} <= names


# ------------------------------------------------------------------ a real run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbrun")
    claims_file = tmp / "claims.parquet"
    generated = synth.generate(6, rng=np.random.default_rng(11), scale=1 / 120)
    synth.write_lines(generated.lines, claims_file)
    loaded = claims.load_claims([str(claims_file)])
    practices = sorted(loaded.lines["practice_id"].unique())[:2]
    result = run_report(
        scenarios=[BASE], claims=[claims_file], practices=",".join(practices),
        notebooks=list(NOTEBOOKS), out=tmp / "reports" / "latest", workers=2,
        progress=False,
    )
    inputs = prepare_inputs([claims_file], cache_dir=tmp / "reports" / ".rad3d-cache")
    return {"result": result, "out": tmp / "reports" / "latest", "loaded": loaded,
            "inputs": inputs, "practices": practices}


def _headline(run, rel):
    data = json.loads((run["out"] / rel / "results.json").read_text())
    return {k: v["value"] for k, v in data["headline"].items()}


def _base_parameters():
    return load_scenario(BASE).parameters


@pytest.mark.slow
def test_every_notebook_ran(run):
    result = run["result"]
    assert result.ok, result.summary.to_string()
    rels = {r["rel_dir"] for r in result.records}
    assert rels == {"base/policy_brief", "base/lcd_screen", "base/revenue_impact",
                    *(f"base/practice_scorecard/{practice_folder(p)}" for p in run["practices"])}
    for rel in rels:
        folder = run["out"] / rel
        name = rel.split("/")[1]
        assert (folder / f"{name}.html").is_file() and (folder / f"{name}.ipynb").is_file()
        assert (folder / "results.json").is_file() and (folder / "manifest.json").is_file()
        assert list((folder / "tables").glob("*.csv")) and list((folder / "tables").glob("*.xlsx"))
    index = (run["out"] / "index.html").read_text()
    for rel in rels:
        assert rel in index


@pytest.mark.slow
def test_lcd_headlines_match_the_package(run):
    summary = run["inputs"].summary("year")
    screen = lcd.screen(summary, quarterly=run["inputs"].summary("quarter"))
    got = _headline(run, "base/lcd_screen")
    assert got["n_practices_screened"] == screen.n_screened == 6
    assert got["n_practices_flagged"] == screen.n_flagged
    assert got["n_practices_beyond_chance"] == screen.tiers["beyond_chance"]
    t = screen.table.loc[screen.table["screened"]]
    assert got["n_practices_above_threshold"] == int((t["rate"] > 0.20).sum())
    no_exempt = lcd.screen(summary, exempt_oncology=False)
    assert got["n_practices_flagged_without_exemption"] == no_exempt.n_flagged
    assert got["overdispersion_phi"] == pytest.approx(screen.overdispersion.phi)


@pytest.mark.slow
def test_impact_headlines_match_the_package(run):
    # the impact annualizes each practice by the quarters in which it has claim lines
    summary = run["inputs"].summary("quarter")
    p = _base_parameters()
    assumptions = impact.ImpactAssumptions(commercial_multiplier=p["commercial_multiplier"],
                                           horizon_years=p["horizon_years"])
    policies = report.scenario_policies(
        ["status_quo", "full_bundling", "lcd_cap", "medical_necessity"],
        payers=p["policy_payers"], effective_date=p["effective_date"],
        scope_share=p["scope_share"])
    result = impact.impact(summary, policies, assumptions=assumptions)
    row = result.summary.set_index("policy").loc["full_bundling"]
    sim = uncertainty.psa(summary, policies[1], rng=np.random.default_rng(p["seed"]),
                          n_draws=10_000, assumptions=assumptions)
    lower, upper = sim.interval()
    for rel in ("base/revenue_impact", "base/policy_brief"):
        got = _headline(run, rel)
        assert got["loss_year1_usd"] == pytest.approx(row["loss_year1_usd"])
        assert got["loss_horizon_usd"] == pytest.approx(row["loss_horizon_usd"])
        assert got["loss_share_year1"] == pytest.approx(row["loss_share_year1"])
        assert got["n_practices_losing"] == row["n_practices_losing"]
        assert got["loss_horizon_lower_usd"] == pytest.approx(lower)
        assert got["loss_horizon_upper_usd"] == pytest.approx(upper)
    assert row["loss_year1_usd"] > 0


@pytest.mark.slow
def test_scorecard_headlines_match_the_package(run):
    summary = run["inputs"].summary("year")
    screen = lcd.screen(summary, quarterly=run["inputs"].summary("quarter"))
    result = impact.impact(run["inputs"].summary("quarter"), report.scenario_policies(
        ["status_quo", "full_bundling", "lcd_cap", "medical_necessity"]))
    plan = disclosure_plan(summary, run["inputs"].summary("quarter"),
                           payers=_base_parameters()["policy_payers"])
    hidden = plan.hidden
    for practice in run["practices"]:
        got = _headline(run, f"base/practice_scorecard/{practice_folder(practice)}")
        row = screen.table.set_index("practice_id").loc[practice]
        # a practice whose counts are suppressed has its rate withheld too
        assert got["rate"] == (None if practice in hidden else pytest.approx(row["rate"]))
        assert got["flagged"] == bool(row["flag"])
        loss = result.practices.query(
            "practice_id == @practice and policy == 'full_bundling'")["loss_usd"].sum()
        # dollars of a practice with few policy-payer 3D lines are withheld too
        assert got["loss_horizon_usd"] == (None if practice in plan.hidden_dollars
                                           else pytest.approx(loss))


@pytest.mark.slow
def test_brief_states_the_lcd_status_cheers_and_no_code(run):
    html = (run["out"] / "base/policy_brief/policy_brief.html").read_text()
    text = BeautifulSoup(html, "html.parser").get_text(" ")
    assert "CHEERS 2022" in text and "Perspective" in text and "Time horizon" in text
    assert "retired" in text and "2023-09-28" in text and "2015-10-01" in text
    assert "Limitations" in text and "Assumptions and sources" in text
    assert "rpt.table(" not in html and "import numpy" not in html
    assert "cdnjs" not in html  # self-contained: nothing fetched


@pytest.mark.slow
def test_no_patient_identifier_anywhere_in_the_report(run):
    lines = run["loaded"].lines
    identifiers = set(lines["patient_id"].astype(str)) | set(lines["claim_id"].astype(str))
    assert len(identifiers) > 100
    hits = scan_for_identifiers(run["out"], identifiers)
    assert hits.empty, hits.head().to_string()


def _html_tables(path: Path) -> list[pd.DataFrame]:
    soup = BeautifulSoup(path.read_text(), "html.parser")
    frames = []
    for table in soup.find_all("table"):
        # shown headers are labels; the column name is kept in data-column
        head = [th.get("data-column") or th.get_text(strip=True) for th in table.find_all("th")]
        rows = [[td.get_text(strip=True).replace(",", "").replace("$", "")
                 for td in tr.find_all("td")] for tr in table.find_all("tr")]
        rows = [r for r in rows if r and len(r) == len(head)]
        if head and rows:
            frames.append(pd.DataFrame(rows, columns=head))
    return frames


@pytest.mark.slow
def test_no_shown_count_between_1_and_10(run):
    checked = 0
    for csv in run["out"].rglob("*.csv"):
        bad = shown_small_counts(pd.read_csv(csv))
        assert bad.empty, f"{csv}: {bad.to_dict('records')}"
        checked += 1
    for page in run["out"].rglob("*.html"):
        for frame in _html_tables(page):
            bad = shown_small_counts(frame)
            assert bad.empty, f"{page}: {bad.to_dict('records')}"
            checked += 1
    assert checked > 20


@pytest.mark.slow
def test_scorecard_names_no_other_practice(run):
    every = set(run["loaded"].lines["practice_id"].astype(str))
    assert len(every) == 6
    screen = lcd.screen(run["inputs"].summary("year"), quarterly=run["inputs"].summary("quarter"))
    hidden = disclosure_plan(run["inputs"].summary("year"),
                             run["inputs"].summary("quarter")).hidden
    rates = screen.table.set_index("practice_id")["rate"]
    for practice in run["practices"]:
        folder = run["out"] / "base" / "practice_scorecard" / practice_folder(practice)
        others = every - {practice}
        html = (folder / "practice_scorecard.html").read_text()
        text = BeautifulSoup(html, "html.parser").get_text(" ")
        assert f"Practice {practice}" in text
        words = set(re.findall(r"[A-Za-z0-9_]+", text))
        assert not others & words, sorted(others & words)
        # a practice whose counts are suppressed: its rate is nowhere in the page
        if practice in hidden:
            assert f"{100 * rates[practice]:.1f}%" not in text
            assert "not shown (suppressed)" in text
        # nor in any table, results or record of the scorecard's folder
        for path in folder.rglob("*"):
            if path.suffix in (".csv", ".json"):
                found = others & set(re.findall(r"[A-Za-z0-9_]+", path.read_text()))
                assert not found, f"{path.name}: {sorted(found)}"


@pytest.mark.slow
def test_no_absolute_local_path_in_the_report(run):
    cache = run["out"].parent / ".rad3d-cache"
    assert cache.is_dir()
    needles = [str(ROOT), str(cache), str(cache.resolve()), str(run["out"].parent.parent)]
    hits = find_substrings(run["out"], needles)
    assert hits.empty, hits.head().to_string()
    nb = nbformat.read(run["out"] / "base/policy_brief/policy_brief.ipynb", as_version=4)
    assert nb.metadata["papermill"]["input_path"] == "notebooks/policy_brief.ipynb"
    assert nb.metadata["papermill"]["output_path"] == "policy_brief.ipynb"


@pytest.mark.slow
def test_every_report_states_its_data_and_scenario(run):
    scenario = load_scenario(BASE)
    for page in run["out"].rglob("*.html"):
        if page.name == "index.html":
            continue
        soup = BeautifulSoup(page.read_text(), "html.parser")
        text = soup.get_text(" ")
        data = soup.select_one("#answer .rad3d-answer-data")
        assert data is not None, page
        # small synthetic claims written by the test: not the bundled sample, so named
        assert "claims.parquet" in data.get_text() and "SYNTHETIC" not in data.get_text()
        # the data statement, in the answer, comes before the first section
        assert text.index("claims.parquet") < text.index("Scenario")
        assert f"Scenario: {scenario.title}" in text and scenario.description[:40] in text
        for key in ("Commercial price", "Horizon (years)", "Policy effective date",
                    "Share of the payer's business in scope", "LCD benchmark"):
            if "lcd_screen" in page.name and key != "LCD benchmark":
                continue
            assert key in text, (page, key)
    index = BeautifulSoup((run["out"] / "index.html").read_text(), "html.parser")
    assert "claims.parquet" in index.find(class_="data").get_text()
    brief = (run["out"] / "base/policy_brief/policy_brief.html").read_text()
    assert "Loss over 3 years ($)" in brief and "Loss, year 1 ($)" in brief
    assert "@media print" in brief
