"""A tiny report suite for the runner's tests (one helper, shared).

Two throwaway notebooks (``summary_page`` and ``practice_scorecard``) written from the
code a test gives, a claims file, a scenario file, and the claims preparation replaced
by a hand-made one, so that a test checks ``rad3d report``'s machinery independently of
the domain modules.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.report import inputs as report_inputs
from analysis.run import batch, provenance

NOTEBOOKS = ("summary_page", "practice_scorecard")

RUNNER_PARAMS = """\
scenario_name: str = "adhoc"  # scenario label
practice_id: str = ""  # practice of a scorecard
inputs_dir: str = ""  # prepared inputs
output_dir: str = ""  # outputs
claims: list[str] = []  # claims files
"""
"""The first lines of a tiny notebook's ``parameters`` cell: what ``rad3d report`` sets."""


def write_notebook(folder: Path, name: str, params: str, *code: str) -> Path:
    """``<folder>/<name>.ipynb``: a title, the ``parameters`` cell, then ``code`` cells,
    the first of which starts with ``NAME = <name>``."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    first, *rest = code
    nb.cells = [new_markdown_cell(f"# {name}"),
                new_code_cell(params, metadata={"tags": ["parameters"]}),
                new_code_cell(f"NAME = {name!r}\n{first}"),
                *(new_code_cell(c) for c in rest)]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def make_suite(tmp_path: Path, monkeypatch, *, params: str, code: tuple[str, ...],
               claims_text: str, scenario_text: str, compute_inputs) -> dict:
    """The notebooks of :data:`NOTEBOOKS`, ``claims.csv`` and ``base.yaml`` in
    ``tmp_path``; ``compute_inputs`` stands in for the claims preparation.

    Returns ``{"nbdir", "claims", "scenario", "tmp", "out"}`` (``out`` is
    ``reports/latest``).
    """
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    for name in NOTEBOOKS:
        write_notebook(nbdir, name, params, *code)
    claims = tmp_path / "claims.csv"
    claims.write_text(claims_text)
    scenario = tmp_path / "base.yaml"
    scenario.write_text(scenario_text)
    monkeypatch.setattr(report_inputs, "compute_inputs", compute_inputs)
    # the resume key covers the package source; pin it so the test does not depend on
    # the source tree staying untouched while it runs
    monkeypatch.setattr(provenance, "source_hash", lambda: "0" * 64)
    monkeypatch.setattr(batch, "NOTEBOOK_DIR", nbdir)
    return {"nbdir": nbdir, "claims": claims, "scenario": scenario, "tmp": tmp_path,
            "out": tmp_path / "reports" / "latest"}
