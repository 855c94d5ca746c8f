"""The jobs of a batch: scenarios x notebooks (x practices for the scorecard).

Each job is one notebook execution with everything papermill injects and a resume key:
the SHA-256 of the notebook file, its parameters, the shared-input key and the package
source, so that ``--resume`` reuses a job's outputs only when none of these changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis._io import json_default, sha256_file, sha256_text
from analysis.errors import InputError
from analysis.report.inputs import SharedInputs
from analysis.report.parameters import NotebookParameter
from analysis.run import provenance
from analysis.run.names import practice_folder
from analysis.run.scenarios import Scenario

__all__ = ["APPS", "SCORECARD", "SUITE", "Job", "find_notebooks", "plan_jobs"]

#: The notebooks of a report run, in the order of the index page. The practice
#: scorecard runs once per practice; ``medicare_benchmark`` runs when present.
SUITE = ("policy_brief", "lcd_screen", "revenue_impact", "practice_scorecard",
         "medicare_benchmark")
SCORECARD = "practice_scorecard"
#: Notebooks of the folder that are interactive apps, not reports: a report run never
#: runs them nor checks scenarios against their parameters (``what_if``: the live
#: what-if, served by ``rad3d whatif``).
APPS = ("what_if",)


@dataclass(frozen=True)
class Job:
    """One notebook execution of a batch.

    Attributes
    ----------
    notebook : str
        Notebook name (file stem in ``notebooks/``).
    scenario : str
    practice_id : str
        For the scorecard; "" otherwise.
    rel_dir : str
        Folder of its outputs inside the report folder: ``<scenario>/<notebook>``, and
        for the scorecard ``/<practice folder>`` (:func:`~analysis.run.names.practice_folder`,
        never the raw id).
    parameters : dict
        Everything papermill injects, runner-set ones included.
    key : str
        Resume key: SHA-256 of the notebook file, ``parameters`` (without the
        folders), the shared-input key and the package source.
    """

    notebook: str
    scenario: str
    practice_id: str
    rel_dir: str
    parameters: Mapping[str, Any]
    key: str
    notebook_path: str
    effective_parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        who = f" {self.practice_id}" if self.practice_id else ""
        return f"{self.scenario}/{self.notebook}{who}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook, "scenario": self.scenario,
            "practice_id": self.practice_id, "rel_dir": self.rel_dir,
            "parameters": dict(self.parameters), "key": self.key,
            "notebook_path": self.notebook_path,
            "effective_parameters": dict(self.effective_parameters),
        }


def find_notebooks(notebook_dir: Path, names: Sequence[str] | None) -> dict[str, Path]:
    """The notebooks to run, by name: ``names`` (checked to exist), else every notebook
    of the folder but the apps (:data:`APPS`), those of :data:`SUITE` first."""
    available = {p.stem: p for p in sorted(notebook_dir.glob("*.ipynb"))
                 if p.stem not in APPS}
    apps = [n for n in names or () if n in APPS]
    if apps:
        raise InputError("is an interactive app, not a report: open it with rad3d whatif",
                         column="notebooks", value=apps[0])
    if names:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise InputError(
                f"no such notebook in {notebook_dir}; available: {', '.join(available)}",
                column="notebooks", value=",".join(unknown),
            )
        return {n: available[n] for n in names}
    order = [n for n in SUITE if n in available]
    return {n: available[n] for n in order + [n for n in available if n not in order]}


def plan_jobs(
    scenarios: Sequence[Scenario],
    notebooks: Mapping[str, Path],
    declared: Mapping[str, Mapping[str, NotebookParameter]],
    *,
    inputs_for: Callable[[Scenario], SharedInputs],
    practices: Sequence[str] | str,
    claims_override: Sequence[str] | None = None,
) -> list[Job]:
    """Expand scenarios x notebooks (x practices for the scorecard) into jobs."""
    source = provenance.source_hash()
    nb_hash = {n: sha256_file(p) for n, p in notebooks.items()}
    jobs = []
    for scenario in scenarios:
        inputs = inputs_for(scenario)
        wanted = inputs.practices if practices == "all" else list(practices)
        for nb, path in notebooks.items():
            params_decl = declared[nb]
            given = {k: v for k, v in scenario.parameters_for(nb).items() if k in params_decl}
            if claims_override and "claims" in params_decl:
                given["claims"] = list(claims_override)
            base = dict(given)
            if "scenario_name" in params_decl:
                base["scenario_name"] = scenario.name
            if "scenario_title" in params_decl:
                base["scenario_title"] = scenario.title
            if "scenario_description" in params_decl:
                base["scenario_description"] = scenario.description
            runs = [""]
            if nb == SCORECARD:
                if "practice_id" not in params_decl:
                    raise InputError("the scorecard notebook declares no practice_id",
                                     file=path)
                runs = wanted
            for practice in runs:
                params = dict(base)
                if practice:
                    params["practice_id"] = practice
                rel = f"{scenario.name}/{nb}" + (
                    f"/{practice_folder(practice)}" if practice else "")
                key = sha256_text(json.dumps(
                    {"notebook": nb_hash[nb], "parameters": params, "inputs": inputs.key,
                     "source": source},
                    sort_keys=True, default=json_default,
                ))
                effective = {k: p.default for k, p in params_decl.items()} | params
                if "inputs_dir" in params_decl and inputs.folder is not None:
                    params["inputs_dir"] = str(inputs.folder)
                jobs.append(Job(nb, scenario.name, practice, rel, params, key, str(path),
                                effective))
    return jobs

