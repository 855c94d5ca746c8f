"""Hostile inputs and faults: odd practice ids, formula injection, two runs into one
folder, signals and a killed parent, NaN in JSON, unbounded parameters, bad files.

Each test builds its input by hand here. The report runs use tiny throwaway notebooks
and a hand-made summary in place of the claims preparation (as ``test_reports.py``
does), so that they check the runner, not the domain modules.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import html
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import psutil
import pytest
from tiny_reports import RUNNER_PARAMS, make_suite

from analysis import cli
from analysis._io import (
    dumps_json,
    inert_text,
    spreadsheet_safe,
    write_csv,
    write_json,
)
from analysis.cli import _common
from analysis.errors import InputError
from analysis.ranges import RANGES, check_range
from analysis.report import inputs as report_inputs
from analysis.report.excel import Cover, workbook_bytes, write_workbook
from analysis.report.parameters import notebook_parameters
from analysis.report.writer import ReportWriter
from analysis.run import batch
from analysis.run.lock import leftovers, lock_path, report_lock
from analysis.run.names import inside, practice_folder
from analysis.run.scenarios import load_scenario
from analysis.run.validation import validate_parameters
from analysis.run.workers import descendants

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

#: Practice ids an adversary puts in a claims file: a path out of the report folder,
#: one longer than any file name may be, a control character, and the four formula
#: openings of OWASP's CSV-injection page.
HOSTILE_IDS = [
    "../../../../escape/X",
    "P" * 300,
    "NC\x0b001",
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
]
FORMULA_IDS = HOSTILE_IDS[3:]

PATIENTS = ["PATH00001", "PATH00002"]


# ------------------------------------------------------------- tiny report suite

PARAMS = RUNNER_PARAMS + """\
sleep_s: float = 0.0  # seconds each notebook waits before its work
marker: str = ""  # a file each notebook writes when it has started"""

BODY = """\
import pathlib, time
from analysis import report
if marker:
    pathlib.Path(marker).write_text("started")
time.sleep(sleep_s)
rpt = report.ReportWriter(output_dir, notebook=NAME, scenario=scenario_name,
                          practice_id=practice_id)
summary = report.load_inputs(inputs_dir).summary("year")
if practice_id:
    summary = summary.loc[summary["practice_id"] == practice_id]
rpt.table("summary", summary.assign(change_usd=-2.5), caption="Summary")
rpt.headline("n_encounters", int(summary["n_encounters"].sum()), label="Encounters")
rpt.finish()"""


def fake_inputs(practice_ids):
    """A stand-in for the claims preparation: 120 encounters (30 with 3D) a practice."""
    def compute(paths, link_window_days, progress=None):
        summary = pd.DataFrame({"practice_id": list(practice_ids), "period": "2024",
                                "payer": "BCBSNC", "n_encounters": 120,
                                "n_encounters_3d": 30})
        lines = pd.DataFrame({"patient_id": PATIENTS, "claim_id": ["CLMH00001", "CLMH00002"],
                              "practice_id": list(practice_ids)[:1] * 2})
        return {"frames": {"lines": lines, "quarantine": lines.iloc[:0], "encounters": lines,
                           "lines_3d": lines, "summary_year": summary,
                           "summary_quarter": summary.assign(period="2024Q1")},
                "report": {"rows_read": 2, "rows_accepted": 2, "rows_quarantined": 0}}
    return compute


@pytest.fixture
def suite(tmp_path, monkeypatch):
    """Two tiny notebooks (a summary page and the scorecard), a claims file, a scenario;
    the practices are ``A`` and ``B`` unless a test replaces ``compute_inputs``."""
    return make_suite(tmp_path, monkeypatch, params=PARAMS, code=(BODY,),
                      claims_text="claim_id\nCLMH00001\n",
                      scenario_text="name: base\nparameters:\n  sleep_s: 0.0\n",
                      compute_inputs=fake_inputs(["A", "B"]))


def _report_args(suite, *extra: str) -> list[str]:
    return ["report", "--params", str(suite["scenario"]), "--claims", str(suite["claims"]),
            "--out", str(suite["out"]), "--no-progress", *extra]


# ------------------------------------------------------------------ safe names


def test_practice_folder_is_a_slug_and_the_ids_hash():
    # hashlib.sha256(b"NC001").hexdigest()[:8]
    assert practice_folder("NC001") == "nc001-" + hashlib.sha256(b"NC001").hexdigest()[:8]
    for pid in HOSTILE_IDS + ["..", ".", "", "Ärzte Zentrum"]:
        name = practice_folder(pid)
        slug, digest = name.rsplit("-", 1)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) and len(slug) <= 40, name
        assert digest == hashlib.sha256(pid.encode()).hexdigest()[:8]
    # ids with the same slug get different folders
    assert practice_folder("NC-001") != practice_folder("nc001")
    assert practice_folder("Ärzte Zentrum").startswith("arzte-zentrum-")


def test_inside_refuses_every_way_out(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    assert inside(root, "base/card") == (root / "base/card").resolve()
    (root / "link").symlink_to(tmp_path)
    for way_out in ["../x", "base/../../x", "/etc/passwd", "link/x"]:
        with pytest.raises(InputError, match="outside the report folder"):
            inside(root, way_out)


@pytest.mark.slow
def test_hostile_practice_ids_stay_inside_the_folder_and_arrive_as_text(suite, monkeypatch):
    monkeypatch.setattr(report_inputs, "compute_inputs", fake_inputs(HOSTILE_IDS))
    code = cli.main(_report_args(suite, "--workers", "2"))
    out = suite["out"]
    assert code == 0
    # nothing was written outside the report folder (and the cache and lock beside it)
    written = {p for p in suite["tmp"].rglob("*") if p.is_file()}
    outside = {p for p in written if out not in p.parents
               and ".rad3d-cache" not in p.parts and p.parent != suite["nbdir"]
               and p not in (suite["claims"], suite["scenario"])}
    assert outside == set()
    assert not (suite["tmp"] / "escape").exists()
    # one scorecard per practice, in the folder of its derived name
    cards = out / "base" / "practice_scorecard"
    assert sorted(p.name for p in cards.iterdir()) == sorted(map(practice_folder, HOSTILE_IDS))
    for pid in HOSTILE_IDS:
        folder = cards / practice_folder(pid)
        assert (folder / "practice_scorecard.html").is_file()
        assert json.loads((folder / "results.json").read_text())["practice_id"] == pid
    # every link of the index page is relative, stays inside and exists
    index = (out / "index.html").read_text()
    links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', index)]
    assert len(links) > 3 * len(HOSTILE_IDS)
    for href in links:
        assert not href.startswith("/") and ".." not in href.split("/"), href
        assert inside(out, href).is_file(), href
    # CSV: the formula ids begin with a quote; the others and the numbers are unchanged
    with open(out / "base/summary_page/tables/summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    shown = [r["practice_id"] for r in rows]
    assert sorted(shown) == sorted(["'" + p for p in FORMULA_IDS] + HOSTILE_IDS[:3])
    assert {r["change_usd"] for r in rows} == {"-2.5"}
    # Excel: no formula anywhere, the control character replaced, numbers numeric
    books = sorted(out.rglob("*.xlsx"))
    assert len(books) == 1 + len(HOSTILE_IDS)
    for book in books:
        assert _formulas(book) == []
    sheet = openpyxl.load_workbook(out / "base/summary_page/tables/summary_page.xlsx")["summary"]
    ids = [c.value for c in sheet["A"][1:]]
    assert "NC\ufffd001" in ids and "'@SUM(A1)" in ids
    change = [c for c in sheet[1] if c.value == "Change ($)"][0].column
    cells = [sheet.cell(row=r, column=change) for r in range(2, sheet.max_row + 1)]
    assert {(c.data_type, c.value) for c in cells} == {("n", -2.5)}


# ------------------------------------------------------------ formula injection


def _formulas(book: Path | bytes) -> list[str]:
    """Every cell of a workbook that Excel would compute."""
    wb = openpyxl.load_workbook(io.BytesIO(book) if isinstance(book, bytes) else book)
    return [f"{ws.title}!{c.coordinate}" for ws in wb for row in ws.iter_rows()
            for c in row if c.data_type == "f"]


def _hostile_frame() -> pd.DataFrame:
    return pd.DataFrame({"practice_id": FORMULA_IDS + ["NC001"],
                         "change_usd": [-2.0, -0.5, 3.0, 4.0, -1e6],
                         "note": pd.array(["=1+1", "-", "ok", None, "@x"], dtype="string")})


def test_inert_text_follows_owasp():
    # OWASP CSV injection: =, +, -, @, tab and carriage return begin a formula
    for text in ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"]:
        assert inert_text(text) == "'" + text
    # plain numbers written as text cannot run; words and non-text pass unchanged
    for value in ["-2", "+1.5e3", "-.5", "NC001", "", -2, -2.5, None, True]:
        assert inert_text(value) == value
    assert inert_text("NC\x0b001", excel=True) == "NC\ufffd001"
    assert inert_text("NC\x0b001") == "NC\x0b001"


def _csv_cells(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _assert_inert_csv(rows: list[dict[str, str]]) -> None:
    ids = [r["practice_id"] for r in rows]
    assert ids == ["'" + p for p in FORMULA_IDS] + ["NC001"]
    assert [float(r["change_usd"]) for r in rows] == [-2.0, -0.5, 3.0, 4.0, -1e6]
    assert rows[0]["note"] == "'=1+1" and rows[1]["note"] == "'-"


def _assert_inert_xlsx(book: Path | bytes, sheet: str = "t") -> None:
    assert _formulas(book) == []
    wb = openpyxl.load_workbook(io.BytesIO(book) if isinstance(book, bytes) else book)
    ws = wb[sheet]
    assert [c.value for c in ws["A"][1:]] == ["'" + p for p in FORMULA_IDS] + ["NC001"]
    assert [(c.data_type, c.value) for c in ws["B"][1:]] == [
        ("n", -2), ("n", -0.5), ("n", 3), ("n", 4), ("n", -1e6)]


def test_every_csv_writer_writes_formulas_as_text(tmp_path):
    frame = _hostile_frame()
    write_csv(tmp_path / "io.csv", frame)
    _assert_inert_csv(_csv_cells(tmp_path / "io.csv"))
    # the command line's writer (rad3d lcd, impact, puf, validate --quarantine)
    _common.write_files(tmp_path, {"cli.csv": _common.csv_writer(frame)})
    _assert_inert_csv(_csv_cells(tmp_path / "cli.csv"))
    # the notebooks' writer
    rpt = ReportWriter(tmp_path / "nb", notebook="nb")
    rpt.table("hostile", frame, count_columns=[], show=False)
    _assert_inert_csv(_csv_cells(tmp_path / "nb/tables/hostile.csv"))
    # the input frame is not changed
    assert frame["practice_id"].iloc[0] == FORMULA_IDS[0]


def test_every_excel_writer_writes_formulas_as_text(tmp_path):
    frame = _hostile_frame()
    # a header that looks like a formula is text too
    cover = Cover("=HYPERLINK(\"http://x\")", scenario="@SUM(A1)", data="+1+1")
    _assert_inert_xlsx(workbook_bytes({"t": frame}, cover=cover))
    write_workbook(tmp_path / "io.xlsx", {"t": frame}, cover=cover)
    _assert_inert_xlsx(tmp_path / "io.xlsx")
    _common.write_files(tmp_path, {"cli.xlsx": _common.excel_writer({"t": frame},
                                                                    cover=cover)})
    _assert_inert_xlsx(tmp_path / "cli.xlsx")
    rpt = ReportWriter(tmp_path / "nb", notebook="nb")
    rpt.table("hostile", frame, count_columns=[], show=False)
    rpt.finish()
    _assert_inert_xlsx(tmp_path / "nb/tables/nb.xlsx", "hostile")
    headed = spreadsheet_safe(pd.DataFrame({"=cmd": [1]}))
    assert list(headed.columns) == ["'=cmd"]
    # a column name, a sheet name and a caption that look like formulas are text too
    book = workbook_bytes({"=t": pd.DataFrame({"=cmd": ["=1"]})}, cover=cover,
                          captions={"=t": "=2"}, labels={})
    assert _formulas(book) == []


def test_rad3d_validate_quarantine_file_is_inert(tmp_path):
    # a claim line whose CPT code is a formula is quarantined with its original text
    header = ("claim_id,line_number,practice_id,patient_id,service_date,cpt_code,units,"
              "payer\n")
    claims = tmp_path / "claims.csv"
    claims.write_text(header
                      + "C1,1,P1,X1,2024-03-01,74177,1,BCBSNC\n"
                      + 'C2,1,P1,X2,2024-03-01,"=HYPERLINK(""http://x"",""y"")",1,BCBSNC\n')
    quarantine = tmp_path / "q.csv"
    code = cli.main(["validate", str(claims), "--quarantine", str(quarantine)])
    assert code == 0
    text = quarantine.read_text()
    assert "=HYPERLINK" in text
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or re.match(r"-\D", c)]


# ------------------------------------------------------------------ no NaN JSON


def _strict(text: str):
    """json.loads that refuses NaN and Infinity (RFC 8259 has neither)."""
    def refuse(constant):
        raise ValueError(f"not standard JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_json_of_a_frame_with_nan_is_standard(tmp_path):
    frame = pd.DataFrame({"rate": [0.25, np.nan, np.inf, -np.inf],
                          "when": pd.to_datetime(["2024-01-01", None, None, None]),
                          "n": pd.array([1, None, 3, 4], dtype="Int64")})
    obj = {"table": frame, "phi": float("nan"), "x": np.float32("nan"), "na": pd.NA,
           "nat": pd.NaT, "series": pd.Series([np.nan])}
    data = _strict(dumps_json(obj))
    assert data["table"]["rate"] == {"0": 0.25, "1": None, "2": None, "3": None}
    assert data["table"]["when"]["1"] is None and data["nat"] is None
    assert data["phi"] is None and data["x"] is None and data["na"] is None
    assert data["table"]["n"]["1"] is None
    write_json(tmp_path / "r.json", obj)
    assert _strict((tmp_path / "r.json").read_text()) == data
    # the notebooks' results.json
    rpt = ReportWriter(tmp_path / "nb", notebook="nb")
    rpt.headline("overdispersion_phi", float("nan"), label="phi")
    rpt.finish()
    assert _strict((tmp_path / "nb/results.json").read_text())["headline"][
        "overdispersion_phi"]["value"] is None


def test_no_json_is_written_but_through_the_shared_writer():
    # json.dump (to a file) and print(json.dumps(...)) bypass dumps_json's guard
    offenders = []
    for path in (ROOT / "analysis").rglob("*.py"):
        if path.name == "_io.py":
            continue
        text = path.read_text()
        if re.search(r"\bjson\.dump\(|print\(json\.dumps", text):
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


def test_validate_json_with_quarantine_prints_only_json(tmp_path, capsys):
    claims = tmp_path / "claims.csv"
    claims.write_text("claim_id,line_number,practice_id,patient_id,service_date,cpt_code,"
                      "units,payer\nC1,1,P1,X1,2024-03-01,74177,1,BCBSNC\n"
                      "C2,1,P1,X2,2024-03-01,BAD,1,BCBSNC\n")
    code = cli.main(["validate", str(claims), "--json", "--quarantine",
                     str(tmp_path / "q.csv")])
    captured = capsys.readouterr()
    assert code == 0
    report = _strict(captured.out)
    assert report["rows_read"] == 2 and report["rows_quarantined"] == 1
    assert "quarantine: 1 row(s) written" in captured.err


# ------------------------------------------------------- parameters and YAML

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _declared():
    return {p.stem: notebook_parameters(p) for p in NOTEBOOKS}


def test_every_numeric_notebook_parameter_has_a_range_holding_its_default():
    numeric = {(nb, name): p.default for nb, params in _declared().items()
               for name, p in params.items()
               if p.type_name in ("int", "float")}
    assert len(numeric) > 20
    missing = sorted({name for _, name in numeric if name not in RANGES})
    assert missing == []
    outside = [(nb, name, v) for (nb, name), v in numeric.items()
               if not RANGES[name].contains(v)]
    assert outside == []


@pytest.mark.parametrize(("line", "parameter", "value"), [
    ("n_draws: 1000000000", "n_draws", "1000000000"),
    ("n_draws: 0", "n_draws", "0"),
    ("horizon_years: 6", "horizon_years", "6"),
    ("horizon_years: 0", "horizon_years", "0"),
    ("scope_share: 1.5", "scope_share", "1.5"),
    ("stop_share: -0.1", "stop_share", "-0.1"),
    ("commercial_multiplier: 0", "commercial_multiplier", "0"),
    ("commercial_multiplier: 10.5", "commercial_multiplier", "10.5"),
    ("commercial_multiplier: .nan", "commercial_multiplier", "nan"),
    ("medicaid_multiplier: .inf", "medicaid_multiplier", "inf"),
    ("threshold: 1.0", "threshold", "1.0"),
    ("alpha: 0", "alpha", "0"),
    ("link_window_days: 100000", "link_window_days", "100000"),
    ("volume_growth: 3", "volume_growth", "3"),
])
def test_scenario_parameter_out_of_range_is_one_line_naming_it(tmp_path, line, parameter,
                                                               value):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nparameters:\n  {line}\n")
    scenario = load_scenario(path)
    with pytest.raises(InputError) as caught:
        validate_parameters(scenario.parameters, _declared(), source=path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert f"'{parameter}'" in message and f"value '{value}'" in message
    assert "must be" in message


def test_scenario_values_at_the_ends_of_their_ranges_are_accepted(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("parameters:\n  n_draws: 200000\n  horizon_years: 5\n  scope_share: 0\n"
                    "  commercial_multiplier: 10\n  volume_growth: -1\n")
    validate_parameters(load_scenario(path).parameters, _declared(), source=path)


def test_a_per_notebook_override_is_bounded_too(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("notebooks:\n  revenue_impact:\n    n_draws: 1000000000\n")
    scenario = load_scenario(path)
    with pytest.raises(InputError, match="n_draws"):
        validate_parameters(scenario.notebooks["revenue_impact"], _declared(), source=path)


def test_billion_laughs_is_refused_at_once(tmp_path):
    # the classic: nine levels of nine aliases expand to 10^9 strings
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("parameters:\n" + "".join(f"  {line}\n" for line in lines))
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "alias" in message and "row 3" in message and len(message) < 300


@pytest.mark.parametrize(("text", "expected"), [
    ("", "empty"),
    ("# only a comment\n", "empty"),
    ("parameters:\n  n_draws: " + "9" * 500_000 + "\n", "500,000 characters"),
    ("parameters:\n  commercial_multiplier: 1." + "5" * 200 + "\n", "characters"),
    ("parameters:\n  x: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
    ("parameters:\n  " + "x" * 1_100_000 + ": 1\n", "larger than 1,000,000 bytes"),
    ("parameters:\n  n_draws: [\n", "not valid YAML"),
])
def test_bad_scenario_files_are_one_line_errors(tmp_path, text, expected):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert expected in message and "\n" not in message and len(message) < 400


def test_a_scenario_file_in_latin1_is_a_one_line_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes("title: Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InputError, match="row 1: is not UTF-8"):
        load_scenario(path)


@pytest.mark.parametrize(("args", "option"), [
    (["impact", "--draws", "1000000000"], "--draws"),
    (["impact", "--draws", "-5"], "--draws"),
    (["impact", "--horizon", "9"], "--horizon"),
    (["impact", "--multiplier", "0"], "--multiplier"),
    (["impact", "--scope-share", "2"], "--scope-share"),
    (["impact", "--stop-share", "nan"], "--stop-share"),
    (["impact", "--workers", "0", "--engine", "stream"], "--workers"),
    (["lcd", "--alpha", "1.5"], "--alpha"),
    (["lcd", "--threshold", "0"], "--threshold"),
    (["puf", "--draws", "0"], "--draws"),
    (["report", "--workers", "0"], "--workers"),
])
def test_cli_numbers_out_of_range_fail_before_anything_runs(tmp_path, capsys, args, option):
    out = tmp_path / "out"
    code = cli.main([*args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and option in err and "must be" in err
    assert not out.exists()


def test_check_range_ignores_parameters_without_a_range():
    check_range("no_such_parameter", 1e308)
    with pytest.raises(InputError, match="whole number"):
        check_range("n_draws", 2.5)


# ------------------------------------------------------------- one run a folder


_HOLD = """\
import sys, time
from analysis.run.lock import report_lock
with report_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_run_into_the_same_folder_fails_at_once(suite, monkeypatch, capsys):
    monkeypatch.setattr(report_inputs, "compute_inputs", fake_inputs(["A"]))
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(suite["out"])], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        code = cli.main(_report_args(suite))
        err = capsys.readouterr().err
        assert time.monotonic() - started < 20
        assert code == 2 and err.count("\n") == 1
        assert "another rad3d report" in err and f"process {holder.pid}" in err
        assert not suite["out"].exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing anything: the kernel released its lock
    with report_lock(suite["out"]) as path:
        assert path == lock_path(suite["out"])


def test_the_lock_is_released_and_leftovers_are_removed(tmp_path):
    out = tmp_path / "reports" / "latest"
    out.parent.mkdir(parents=True)
    stale = [out.parent / ".latest.building-abc", out.parent / ".latest.old-def"]
    for folder in stale:
        (folder / "base").mkdir(parents=True)
    other = out.parent / ".other.building-xyz"
    other.mkdir()
    assert leftovers(out) == sorted(stale)
    with report_lock(out):
        assert not any(p.exists() for p in stale) and other.exists()
        with pytest.raises(InputError, match="another rad3d report"):
            with report_lock(out):
                pass
    assert not lock_path(out).exists()
    with report_lock(out):  # free again
        pass


# --------------------------------------------------- signals and a killed parent

_RUN = """\
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import test_hostile
from analysis import cli
from analysis.report import inputs as report_inputs
from analysis.run import batch, provenance
report_inputs.compute_inputs = test_hostile.fake_inputs(["A", "B"])
provenance.source_hash = lambda: "0" * 64
batch.NOTEBOOK_DIR = Path({nbdir!r})
sys.exit(cli.main(sys.argv[1:]))
"""


def _start_sleeping_run(suite) -> tuple[subprocess.Popen, list[int]]:
    """``rad3d report`` in a process of its own, its notebooks asleep; returns it and
    the pids of its workers and their kernels."""
    marker = suite["tmp"] / "started"
    suite["scenario"].write_text(f"name: base\nparameters:\n  sleep_s: 600\n"
                                 f"  marker: {json.dumps(str(marker))}\n")
    code = _RUN.format(tests=str(TESTS), nbdir=str(suite["nbdir"]))
    proc = subprocess.Popen([sys.executable, "-c", code, *_report_args(suite, "--workers",
                                                                      "2")],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the notebooks did not start"
        time.sleep(0.2)
    time.sleep(1.0)  # let the second worker's kernel start too
    tree = descendants(proc.pid)
    assert len(tree) >= 3, tree  # two workers and at least one kernel
    return proc, tree


def _gone(pids: list[int], *, within: float) -> list[int]:
    """The pids still running (not zombies) after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _building(suite) -> list[str]:
    return sorted(p.name for p in suite["out"].parent.iterdir() if ".building-" in p.name)


@pytest.mark.slow
def test_sigterm_stops_the_workers_and_removes_the_build_folder(suite):
    proc, tree = _start_sleeping_run(suite)
    assert _building(suite)
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert code == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    assert _gone(tree, within=10) == []
    assert _building(suite) == [] and not suite["out"].exists()
    assert not lock_path(suite["out"]).exists()


@pytest.mark.slow
def test_workers_end_when_the_parent_is_killed(suite):
    proc, tree = _start_sleeping_run(suite)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    # each worker sees its parent gone within half a second, ends its kernel (3 s
    # grace) and exits
    assert _gone(tree, within=20) == []
    # the killed run's build folder is left; the next run into the folder removes it
    assert _building(suite)
    with report_lock(suite["out"]):
        assert _building(suite) == []


# -------------------------------------------------------------------- messages


def test_report_claims_in_latin1_gives_advice_that_exists(tmp_path, capsys):
    claims = tmp_path / "latin1.csv"
    claims.write_bytes("claim_id,practice_id\nC1,Caf\u00e9\n".encode("latin-1"))
    code = cli.main(["report", "--claims", str(claims), "--out", str(tmp_path / "out"),
                     "--cache", str(tmp_path / "cache"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "latin1.csv" in err and "UTF-8" in err
    assert "--encoding" not in err


def test_report_claims_directory_says_it_is_a_directory(tmp_path, capsys):
    folder = tmp_path / "claims"
    folder.mkdir()
    code = cli.main(["report", "--claims", str(folder), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "is a directory" in err and "not found" not in err


def test_report_out_name_too_long_is_one_line(suite, monkeypatch, capsys):
    monkeypatch.setattr(report_inputs, "compute_inputs", fake_inputs(["A"]))
    long_out = suite["tmp"] / ("r" * 300)
    code = cli.main(["report", "--params", str(suite["scenario"]), "--claims",
                     str(suite["claims"]), "--out", str(long_out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "File name too long" in err and "shorter" in err and "Traceback" not in err


@pytest.mark.parametrize(("number", "text", "advice"), [
    (errno.EACCES, "Permission denied", "may write to"),
    (errno.ENOSPC, "No space left on device", "free some space"),
    (errno.ENAMETOOLONG, "File name too long", "shorter"),
    (errno.EROFS, "Read-only file system", "writable"),
])
def test_machine_errors_writing_outputs_are_one_line(tmp_path, monkeypatch, capsys, number,
                                                      text, advice):
    # a full or read-only disk cannot be made in a test without privileges: the writer
    # every command uses fails as the system would
    def fail(path, write):
        raise OSError(number, text, str(path))

    monkeypatch.setattr(_common, "write_atomic", fail)
    code = cli.main(["lcd", "--out", str(tmp_path / "out")])
    # the claims reader's one summary line (stderr is not a terminal), then the error
    err = [line for line in capsys.readouterr().err.splitlines()
           if not line.startswith("claims: ")]
    assert code == 2 and len(err) == 1
    assert text in err[0] and advice in err[0] and "lcd_screen" in err[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_report_into_a_read_only_parent_is_one_line(suite, monkeypatch, capsys):
    monkeypatch.setattr(report_inputs, "compute_inputs", fake_inputs(["A"]))
    parent = suite["tmp"] / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code = cli.main(["report", "--params", str(suite["scenario"]), "--claims",
                         str(suite["claims"]), "--out", str(parent / "out")])
    finally:
        parent.chmod(0o755)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Permission denied" in err


def test_report_permission_denied_is_one_line(tmp_path, monkeypatch, capsys):
    # as the test above, for a run as root (which no permission stops)
    def denied(**kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "out"))

    monkeypatch.setattr(batch, "run_report", denied)
    code = cli.main(["report", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "Permission denied" in err and "Traceback" not in err


def test_signals_raise_stopped_only_inside_the_run_and_nohup_is_kept():
    from analysis.run.workers import Stopped, stop_on_signals

    before = signal.getsignal(signal.SIGTERM)
    hangup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with pytest.raises(Stopped) as caught, stop_on_signals():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # nohup kept
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        assert caught.value.code == 143 and caught.value.signal_name == "SIGTERM"
        assert signal.getsignal(signal.SIGTERM) is before
    finally:
        signal.signal(signal.SIGHUP, hangup)
