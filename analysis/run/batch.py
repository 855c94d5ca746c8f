"""A whole report run (``rad3d report``): validate, prepare, execute, check, publish.

:func:`run_report` ties together the steps described in :mod:`analysis.run` and returns
a :class:`BatchResult`; every problem a user can fix is raised as an
:class:`~analysis.errors.InputError` before any notebook runs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from analysis._io import write_json, write_text
from analysis.defaults import LINK_WINDOW_DAYS, MIN_CELL_COUNT
from analysis.errors import InputError
from analysis.paths import NOTEBOOK_DIR, PARAMS_DIR
from analysis.privacy import PrivacySettings
from analysis.report.formatting import utc_timestamp
from analysis.report.inputs import SharedInputs
from analysis.report.parameters import KERNEL_NAME, notebook_parameters
from analysis.run.execute import run_jobs
from analysis.run.identifiers import scan_for_identifiers
from analysis.run.index_page import index_html
from analysis.run.inputs import prepare_inputs
from analysis.run.jobs import find_notebooks, plan_jobs
from analysis.run.lock import report_lock
from analysis.run.manifest import collect_results, run_manifest
from analysis.run.names import inside
from analysis.run.pdf import write_briefs
from analysis.run.publish import path_replacements, publish, scrub_paths
from analysis.run.scenarios import Scenario, load_scenario
from analysis.run.validation import validate_parameters
from analysis.run.workers import stop_on_signals
from analysis.scale import Progress

__all__ = ["BatchResult", "run_report"]

# TODO(shared): analysis._io reads the umask for the files it writes; the report folder
# built here needs it too, and a public name there would serve both.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@dataclass(frozen=True)
class BatchResult:
    """What a report run did.

    Attributes
    ----------
    out : Path
        The published report folder (or where it would have been).
    index : Path
    records : list of dict
        One per job: status ``ok`` / ``failed`` / ``reused``, error, times, files.
    privacy_hits : DataFrame
        Identifier hits of the privacy scan (then nothing was published).
    published : bool
    warnings : tuple of str
        What the run could not do but did not fail for (no browser for the PDF).
    """

    out: Path
    index: Path
    records: list[dict[str, Any]]
    privacy_hits: pd.DataFrame
    published: bool
    seconds: float
    warnings: tuple[str, ...] = ()

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] == "failed"]

    @property
    def ok(self) -> bool:
        return self.published and not self.failures

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{k: r.get(k) for k in ("scenario", "notebook", "practice_id", "status",
                                    "seconds", "error")} for r in self.records]
        )


def _check_kernel() -> None:
    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel as err:
        raise InputError(
            f"no Jupyter kernel named {KERNEL_NAME!r} in this environment; run "
            f"'{sys.executable} -m ipykernel install --sys-prefix'",
        ) from err


def _parse_practices(practices: str | Sequence[str] | None) -> str | list[str]:
    if practices is None or practices == "all":
        return "all"
    if isinstance(practices, str):
        if practices == "none":
            return []
        return [p.strip() for p in practices.split(",") if p.strip()]
    return list(practices)


def run_report(
    *,
    scenarios: Sequence[str | Path] | None = None,
    practices: str | Sequence[str] | None = "all",
    notebooks: Sequence[str] | None = None,
    claims: Sequence[str | Path] | None = None,
    out: str | Path = "reports/latest",
    workers: int = 2,
    resume: bool = False,
    cache_dir: str | Path | None = None,
    notebook_dir: str | Path | None = None,
    progress: bool | None = None,
) -> BatchResult:
    """Run the report suite and publish the report folder.

    Parameters
    ----------
    scenarios : list of paths, optional
        Scenario YAML files; default ``notebooks/params/base.yaml``.
    practices : "all", "none", "ID,ID" or list
        Practices that get a scorecard.
    notebooks : list of str, optional
        Notebook names to run (default: every notebook in the folder).
    claims : list of paths, optional
        Claims files for every scenario (overrides the scenarios' ``claims``);
        default the scenarios' or the bundled three-year sample
        (:data:`analysis.paths.REPORT_CLAIMS`).
    out : path
        The report folder, replaced atomically. One run at a time may write it
        (:func:`~analysis.run.lock.report_lock`).
    workers : int
        Parallel notebook executions (processes).
    resume : bool
        Reuse jobs of the existing ``out`` that succeeded with the same resume key.
    cache_dir : path, optional
        Shared-input cache; default ``<out's parent>/.rad3d-cache``.
    notebook_dir : path, optional
        Default ``notebooks/`` of the project.
    progress : bool, optional
        Progress bar on stderr (default: when stderr is a terminal).

    Returns
    -------
    BatchResult

    Raises
    ------
    InputError
        Any invalid scenario, parameter, claims file, practice or notebook name: raised
        before any notebook runs; another run writing ``out``.
    Stopped
        SIGTERM or SIGHUP: the workers were stopped and nothing was published.
    """
    t0 = time.time()
    started_at = utc_timestamp()
    out = Path(out).resolve()
    notebook_dir = Path(notebook_dir) if notebook_dir else NOTEBOOK_DIR
    cache_dir = Path(cache_dir) if cache_dir else out.parent / ".rad3d-cache"
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError("must be a whole number >= 1", column="--workers", value=workers)

    # 1. validation, before anything runs
    scenario_files = [Path(s) for s in scenarios] if scenarios else [PARAMS_DIR / "base.yaml"]
    loaded = [load_scenario(p) for p in scenario_files]
    names = [s.name for s in loaded]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError("two scenario files have the same name", column="name",
                         value=dupes[0])
    nb_paths = find_notebooks(notebook_dir, notebooks)
    if not nb_paths:
        raise InputError("no notebooks found", file=notebook_dir)
    # A scenario is checked against every notebook of the folder, so that running a
    # subset (--notebooks) accepts the same scenario files.
    all_paths = find_notebooks(notebook_dir, None)
    declared = {n: notebook_parameters(p) for n, p in all_paths.items()}
    for scenario in loaded:
        validate_parameters(scenario.parameters, declared, source=scenario.source)
        for nb, extra in scenario.notebooks.items():
            if nb not in declared:
                raise InputError("no such notebook", file=scenario.source,
                                 column="notebooks", value=nb)
            validate_parameters(extra, {nb: declared[nb]}, source=scenario.source)
    claims_override = [str(Path(c)) for c in claims] if claims else None
    for c in claims_override or []:
        if Path(c).is_dir():
            raise InputError("is a directory; name the claims files in it (e.g. "
                             "DIR/*.csv)", file=c, column="--claims")
        if not Path(c).is_file():
            raise InputError("claims file not found", file=c, column="--claims")
    privacy = {}
    for scenario in loaded:
        for nb in nb_paths:
            p = scenario.parameters_for(nb)
            settings = PrivacySettings(
                min_cell_count=p.get("min_cell_count", MIN_CELL_COUNT),
                internal=bool(p.get("internal", False)),
            )
            privacy.setdefault(scenario.name, settings.to_dict())
    practice_arg = _parse_practices(practices)
    _check_kernel()

    # One run per report folder from here on; SIGTERM, like Ctrl-C, unwinds through
    # the clean-up below (workers and kernels stopped, build folder removed, lock freed).
    with stop_on_signals(), report_lock(out):
        # 2. shared inputs, once per distinct (claims, link window)
        prepared: dict[tuple, SharedInputs] = {}

        def inputs_for(scenario: Scenario) -> SharedInputs:
            p = scenario.parameters
            claim_files = claims_override or p.get("claims") or None
            window = int(p.get("link_window_days", LINK_WINDOW_DAYS))
            k = (json.dumps(claim_files), window)
            if k not in prepared:
                prepared[k] = prepare_inputs(
                    claim_files, link_window_days=window, cache_dir=cache_dir,
                    progress=Progress(enabled=progress is not False))
            return prepared[k]

        for scenario in loaded:
            inputs = inputs_for(scenario)
            if practice_arg != "all":
                unknown = [p for p in practice_arg if p not in set(inputs.practices)]
                if unknown:
                    raise InputError(
                        f"no claims for this practice (known: {', '.join(inputs.practices[:8])}"
                        f"{', ...' if len(inputs.practices) > 8 else ''})",
                        column="--practices", value=",".join(unknown),
                    )
        jobs = plan_jobs(loaded, nb_paths, declared, inputs_for=inputs_for,
                         practices=practice_arg, claims_override=claims_override)
        for job in jobs:
            inside(out, job.rel_dir)

        # 3. execute into a staging folder next to the final one
        stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
        os.chmod(stage, 0o777 & ~_UMASK)
        try:
            records = run_jobs(jobs, stage, out if resume else None, workers=workers,
                               progress=progress, log_dir=cache_dir / "logs")
            finished_at = utc_timestamp()
            manifest = run_manifest(
                loaded, nb_paths, declared, prepared, records, privacy,
                started_at=started_at, finished_at=finished_at, workers=workers,
                practices=practice_arg,
            )
            write_json(stage / "manifest.json", manifest)
            write_json(stage / "results.json", collect_results(stage, records))
            replacements = path_replacements(
                stage=stage, out=out, cache_dir=cache_dir.resolve(), prepared=prepared.values(),
                scenarios=loaded, notebooks=nb_paths.values())
            scrub_paths(stage, replacements)
            # printed from the pages as published (local paths already replaced)
            pdfs = write_briefs(stage, records, loaded)
            write_text(stage / "index.html",
                       index_html(stage, loaded, records, manifest, pdfs=pdfs.written))
            scrub_paths(stage, replacements)
            warnings = (pdfs.warning,) if pdfs.warning else ()
            for path in stage.rglob("*"):  # a symbolic link out of the folder, too
                inside(stage, path)
            hits = scan_for_identifiers(stage, lambda tokens: set().union(
                *(inputs.identifiers_among(tokens) for inputs in prepared.values())))
            if len(hits):
                shutil.rmtree(stage, ignore_errors=True)
                return BatchResult(out, out / "index.html", records, hits, False,
                                   time.time() - t0, warnings)
            publish(stage, out)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        return BatchResult(out, out / "index.html", records, pd.DataFrame(columns=["file",
                           "identifier"]), True, time.time() - t0, warnings)

