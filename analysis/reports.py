"""Parameterized report runs: scenarios, shared inputs, papermill, HTML, provenance.

A **scenario** is a YAML file of notebook parameters (``notebooks/params/*.yaml``).
:func:`run_report` executes the notebooks in ``notebooks/`` once per scenario, and the
practice scorecard once per practice, and writes a folder a committee can open::

    <out>/index.html                 links to everything, with the run's key numbers
    <out>/manifest.json              parameters, SHA-256 of every input, versions, git, times
    <out>/results.json               headline numbers of every notebook run
    <out>/<scenario>/<notebook>/     <notebook>.html (code-free, self-contained),
                                     <notebook>.ipynb (executed), figures/*.png,
                                     tables/*.csv + tables/<notebook>.xlsx,
                                     results.json, manifest.json
    <out>/<scenario>/practice_scorecard/<practice_id>/   the same, per practice

How a run goes:

1. **Validation before anything runs.** Each notebook's ``parameters`` cell is read
   (papermill's inspection: names, annotated types, defaults, comments); every scenario
   parameter must be declared by at least one notebook, have the declared type, and
   name existing files; the practices asked for must exist in the claims. Any problem
   raises one :class:`~analysis.errors.InputError`.
2. **Shared inputs, once.** The claims are loaded and validated, linked into encounters
   and summarized (per year and per quarter) once per distinct set of claims files and
   linking options, and cached as Parquet under a folder named by the SHA-256 of those
   inputs (outside the report folder, because the linked tables hold patient keys).
   Notebooks get the folder as the ``inputs_dir`` parameter and read it with
   :func:`load_inputs` instead of re-linking the claims.
3. **Execution** with papermill in parallel worker processes, with a progress bar. A
   failed cell fails that notebook (its error is recorded and shown); the batch goes
   on, lists the failures at the end and reports failure. ``resume=True`` reuses the
   outputs of notebooks that already succeeded with the same resume key (SHA-256 of
   the notebook, its parameters, the input hashes and the package source).
4. **Export** of each executed notebook to self-contained HTML without code
   (nbconvert, ``exclude_input``, images embedded).
5. **Privacy gate.** Every file of the finished folder is scanned for every patient and
   claim identifier of the input (:func:`analysis.privacy.scan_for_identifiers`); a
   folder with any hit is not published.
6. **Portable paths.** No absolute local path is left in the folder: claims files are
   named by file name and SHA-256, the input cache as ``rad3d-cache/<key>``, the
   notebooks as ``notebooks/<name>.ipynb``, and the run's own files relative to the
   report folder (:func:`scrub_paths`).
7. **Atomic publication.** The whole folder is built in a temporary sibling folder and
   renamed into place; single files are written to a temporary name and
   ``os.replace``-d. No half-written report ever carries its final name.

Inside a notebook, :class:`ReportWriter` shows tables with small counts suppressed
(:func:`analysis.privacy.suppress_counts`) — compact, with human headers and units,
while the CSV and Excel keep every column — saves figures as PNG (funnel and trend
figures without the points a table would suppress: :func:`hidden_practices`,
:func:`hidden_periods`), and records headline numbers in ``results.json``. Every report
opens with :func:`data_statement` (synthetic sample or the files read) and a scenario
section (:func:`scenario_overview`); the exported HTML carries print rules
(:data:`REPORT_CSS`).

References
----------
papermill documentation, "Parameterize" and "Inspect" (parameters cell with typed,
commented literals); nbconvert ``HTMLExporter`` (``exclude_input``, ``embed_images``).
"""

from __future__ import annotations

import ast
import concurrent.futures as cf
import contextlib
import datetime as dt
import hashlib
import html
import io
import json
import math
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.privacy import (
    DEFAULT_MIN_CELL_COUNT,
    MARKER,
    PrivacySettings,
    Suppressed,
    check_no_identifier_columns,
    scan_for_identifiers,
    suppress_counts,
    suppress_value,
)

__all__ = [
    "COLUMN_LABELS",
    "KEY_ASSUMPTIONS",
    "REPORT_CSS",
    "ScenarioOverview",
    "column_labels",
    "data_statement",
    "hidden_periods",
    "hidden_practices",
    "notebook_defaults",
    "puf_data_statement",
    "scenario_overview",
    "scrub_paths",
    "shareable_trend",
    "BatchResult",
    "Scorecard",
    "cheers_appendix",
    "flagged_practices",
    "impact_payers",
    "impact_years",
    "inputs_overview",
    "pick_policy",
    "policy_row",
    "policy_value",
    "settings_frame",
    "scenario_policies",
    "scorecard",
    "screen_variants",
    "top_losers",
    "Job",
    "NotebookParameter",
    "ReportWriter",
    "Scenario",
    "SharedInputs",
    "load_inputs",
    "load_scenario",
    "notebook_parameters",
    "plan_jobs",
    "prepare_inputs",
    "run_report",
    "validate_parameters",
]

PROJECT_DIR = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
PARAMS_DIR = NOTEBOOK_DIR / "params"
REFERENCE_DIR = PROJECT_DIR / "data" / "reference"
SAMPLE_CLAIMS = PROJECT_DIR / "data" / "sample" / "claims_2024.parquet"

#: The notebooks of a report run, in the order of the index page. The practice
#: scorecard runs once per practice; ``medicare_benchmark`` runs when present.
SUITE = ("policy_brief", "lcd_screen", "revenue_impact", "practice_scorecard",
         "medicare_benchmark")
SCORECARD = "practice_scorecard"
#: Parameters set by the runner, never by a scenario file.
RESERVED = ("inputs_dir", "output_dir", "scenario_name", "scenario_title",
            "scenario_description", "practice_id")
#: Parameters that change the shared inputs (a distinct set is prepared per value).
INPUT_PARAMETERS = ("claims", "link_window_days")
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 1800
_FILE_PARAM = re.compile(r"(^claims$|_(file|path|dir|files|paths)$)")
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


# ----------------------------------------------------------------- atomic writes

_UMASK = os.umask(0o022)
os.umask(_UMASK)

def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a shared report is readable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _atomic_write_text(path: Path, text: str) -> None:
    _atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (pd.Timestamp, dt.date, dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if obj is pd.NA:
        return None
    return str(obj)


def _clean_json(obj: Any) -> Any:
    """NaN/inf -> None, recursively, so the JSON is standard."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean_json(v) for v in obj]
    return obj


def _dump_json(obj: Any) -> str:
    return json.dumps(
        _clean_json(json.loads(json.dumps(obj, default=_json_default))),
        indent=2,
        sort_keys=False,
        ensure_ascii=False,
    ) + "\n"


def _write_json(path: Path, obj: Any) -> None:
    _atomic_write_text(path, _dump_json(obj))


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _source_hash() -> str:
    """SHA-256 over the package's source files: a code change invalidates caches."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _reference_hashes() -> dict[str, str]:
    if not REFERENCE_DIR.is_dir():
        return {}
    return {
        f"data/reference/{p.name}": sha256_file(p)
        for p in sorted(REFERENCE_DIR.iterdir())
        if p.is_file() and p.suffix in {".csv", ".md", ".txt", ".json", ".parquet"}
    }


# -------------------------------------------------------------- notebook params


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter declared in a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : str
    type_name : str
        The annotation as written (``"float"``, ``"list[str]"``, ``"str | None"``);
        ``""`` when the parameter is not annotated (then any literal is accepted).
    default : object
        The literal's value.
    help : str
        The comment after the literal.
    """

    name: str
    type_name: str
    default: Any
    help: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type_name, "default": self.default,
                "help": self.help}


def notebook_parameters(path: str | Path) -> dict[str, NotebookParameter]:
    """The parameters a notebook declares, as papermill's ``--help-notebook`` shows them.

    Reads the cell tagged ``parameters`` with papermill's inspection and checks it
    against a parse of the same cell with :mod:`ast`, so that a parameter papermill
    could not read (e.g. a help comment containing ``=``) is an error, not a silent
    omission.

    Raises
    ------
    InputError
        No such notebook, no ``parameters`` cell, or a parameter papermill cannot read.
    """
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    path = Path(path)
    if not path.is_file():
        raise InputError("notebook not found", file=path)
    nb = load_notebook_node(str(path))
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise InputError("the notebook has no cell tagged 'parameters'", file=path)
    declared = []
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.append(node.target.id)
        elif isinstance(node, ast.Assign):
            declared.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    found = {}
    for p in _infer_parameters(nb, name=KERNEL_NAME, language="python"):
        type_name = "" if p.inferred_type_name in ("None", None) else p.inferred_type_name
        try:
            default = ast.literal_eval(p.default)
        except (ValueError, SyntaxError) as err:
            raise InputError(
                "a parameter's default must be a literal", file=path, column=p.name,
                value=p.default,
            ) from err
        found[p.name] = NotebookParameter(p.name, type_name, default, p.help or "")
    missing = [n for n in declared if n not in found]
    if missing:
        raise InputError(
            "papermill cannot read these parameters (one assignment per line, no '=' "
            "in the comment)",
            file=path,
            column=", ".join(missing),
        )
    return found


def _split_union(type_name: str) -> list[str]:
    t = type_name.strip()
    m = re.fullmatch(r"(?:typing\.)?Optional\[(.*)\]", t)
    if m:
        return [*_split_union(m.group(1)), "None"]
    parts, depth, cur = [], 0, ""
    for ch in t:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "|" and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


def _matches(type_name: str, value: Any) -> bool:
    """Whether a YAML value fits a parameter annotation (the subset notebooks use)."""
    if not type_name:
        return True
    alternatives = _split_union(type_name)
    if len(alternatives) > 1:
        return any(_matches(a, value) for a in alternatives)
    t = alternatives[0]
    base, _, inner = t.partition("[")
    inner = inner[:-1] if inner.endswith("]") else inner
    base = base.strip().lower().removeprefix("typing.")
    if base in ("none", "nonetype"):
        return value is None
    if base == "bool":
        return isinstance(value, bool)
    if base == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base == "str":
        return isinstance(value, str)
    if base in ("list", "tuple", "sequence"):
        if not isinstance(value, list | tuple):
            return False
        return not inner or all(_matches(inner, v) for v in value)
    if base in ("dict", "mapping"):
        if not isinstance(value, dict):
            return False
        if not inner:
            return True
        key_t, _, val_t = inner.partition(",")
        return all(_matches(key_t, k) and _matches(val_t, v) for k, v in value.items())
    if base == "any":
        return True
    return True  # an annotation this checker does not know is not enforced


def _check_files(name: str, value: Any, *, source: str | Path | None) -> None:
    if not _FILE_PARAM.search(name) or name in RESERVED:
        return
    values = value if isinstance(value, list | tuple) else [value]
    for v in values:
        if isinstance(v, str) and v and not Path(v).exists():
            raise InputError(
                "file not found (paths are relative to the folder rad3d runs in)",
                file=source,
                column=name,
                value=v,
            )


def validate_parameters(
    parameters: Mapping[str, Any],
    declared: Mapping[str, Mapping[str, NotebookParameter]],
    *,
    source: str | Path | None = None,
) -> None:
    """Check scenario parameters against the notebooks' declarations.

    Parameters
    ----------
    parameters : mapping
        Name -> value, as read from a scenario file.
    declared : mapping
        Notebook name -> its :func:`notebook_parameters`.
    source : path, optional
        The scenario file, named in errors.

    Raises
    ------
    InputError
        A reserved name, a name no notebook declares, a value of the wrong type, or a
        file that does not exist.
    """
    for name, value in parameters.items():
        if name in RESERVED:
            raise InputError(
                "is set by rad3d report itself; remove it from the scenario file",
                file=source, column=name, value=value,
            )
        owners = {nb: params[name] for nb, params in declared.items() if name in params}
        if not owners:
            known = sorted({p for params in declared.values() for p in params} - set(RESERVED))
            raise InputError(
                f"unknown parameter; the notebooks declare: {', '.join(known)}",
                file=source, column=name, value=value,
            )
        for nb, p in owners.items():
            if not _matches(p.type_name, value):
                raise InputError(
                    f"wrong type: {nb} declares {name}: {p.type_name} ({p.help})",
                    file=source, column=name, value=value,
                )
        _check_files(name, value, source=source)


# ------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    """A named set of notebook parameters, read from ``notebooks/params/<name>.yaml``.

    File format::

        name: base                      # folder name in the report (default: file stem)
        title: Base case                # shown on the index page
        description: >                  # one paragraph shown on the index page
          BCBS NC bundles 76376/76377 from ...
        parameters:                     # applied to every notebook that declares them
          commercial_multiplier: 1.8
        notebooks:                      # optional per-notebook overrides
          revenue_impact:
            n_draws: 2000

    Attributes
    ----------
    name, title, description : str
    parameters : dict
    notebooks : dict of dict
    source : str
        The file it was read from ("" if built in code).
    """

    name: str
    title: str = ""
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    notebooks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_OK.match(self.name):
            raise InputError(
                "a scenario name must be letters, digits, '_', '-' or '.'",
                file=self.source or None, column="name", value=self.name,
            )
        if not isinstance(self.parameters, Mapping):
            raise InputError("'parameters' must be a mapping", file=self.source or None,
                             column="parameters", value=type(self.parameters).__name__)
        if not isinstance(self.notebooks, Mapping) or not all(
            isinstance(v, Mapping) for v in self.notebooks.values()
        ):
            raise InputError("'notebooks' must map notebook names to parameter mappings",
                             file=self.source or None, column="notebooks")

    def parameters_for(self, notebook: str) -> dict[str, Any]:
        return {**self.parameters, **self.notebooks.get(notebook, {})}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "parameters": dict(self.parameters),
            "notebooks": {k: dict(v) for k, v in self.notebooks.items()},
            "source": self.source,
        }


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario YAML file (see :class:`Scenario` for the format).

    Raises
    ------
    InputError
        Missing file, invalid YAML, or unknown top-level keys.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputError("scenario file not found", file=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(
            f"not valid YAML: {getattr(err, 'problem', err)}",
            file=path, row=None if mark is None else mark.line + 1,
        ) from err
    if not isinstance(data, dict):
        raise InputError("a scenario file must be a mapping (name, parameters, ...)",
                         file=path)
    unknown = set(data) - {"name", "title", "description", "parameters", "notebooks"}
    if unknown:
        raise InputError(
            "unknown key; use name, title, description, parameters, notebooks",
            file=path, column=sorted(unknown)[0],
        )
    return Scenario(
        name=str(data.get("name") or path.stem),
        title=str(data.get("title") or ""),
        description=" ".join(str(data.get("description") or "").split()),
        parameters=dict(data.get("parameters") or {}),
        notebooks={k: dict(v or {}) for k, v in (data.get("notebooks") or {}).items()},
        source=str(path),
    )


# --------------------------------------------------------------- shared inputs


def _claims_list(claims: str | Sequence[str] | None) -> list[Path]:
    if claims is None or claims == "" or (isinstance(claims, list | tuple) and not claims):
        return [SAMPLE_CLAIMS]
    items = [claims] if isinstance(claims, str | os.PathLike) else list(claims)
    return [Path(c) for c in items]


def _load_claims(paths: Sequence[Path]):
    """Validated claims via :mod:`analysis.claims` (the file readers live there)."""
    from analysis import claims as claims_mod

    for p in paths:
        if not p.exists():
            raise InputError("claims file not found", file=p)
    try:
        return claims_mod.load_claims([str(p) for p in paths])
    except TypeError:
        if len(paths) != 1:
            raise
        return claims_mod.load_claims(str(paths[0]))


@dataclass(frozen=True)
class SharedInputs:
    """The inputs every notebook of a run shares, prepared once.

    Tables are read lazily from the cache folder (Parquet), so a notebook that needs
    only the practice summary never loads the claim lines.

    Attributes
    ----------
    folder : Path or None
        The cache folder (None when prepared in memory).
    info : dict
        ``key`` (SHA-256 of the inputs), ``claims`` (paths and SHA-256), linking
        options, row counts and the claims loader's reconciliation report.
    """

    folder: Path | None
    info: Mapping[str, Any]
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            if self.folder is None:
                raise KeyError(name)
            self._frames[name] = pd.read_parquet(self.folder / f"{name}.parquet")
        return self._frames[name]

    @property
    def key(self) -> str:
        return str(self.info["key"])

    @property
    def lines(self) -> pd.DataFrame:
        """Validated claim lines (holds patient keys: never show)."""
        return self._table("lines")

    @property
    def quarantine(self) -> pd.DataFrame:
        return self._table("quarantine")

    @property
    def encounters(self) -> pd.DataFrame:
        return self._table("encounters")

    @property
    def lines_3d(self) -> pd.DataFrame:
        return self._table("lines_3d")

    @cached_property
    def linked(self):
        """:class:`analysis.encounters.Linked` rebuilt from the cached tables."""
        from analysis import encounters

        settings = encounters.LinkSettings(
            link_window_days=int(self.info.get("link_window_days", 7))
        )
        return encounters.Linked(encounters=self.encounters, lines_3d=self.lines_3d,
                                 settings=settings)

    def summary(self, period: str = "year") -> pd.DataFrame:
        """The additive practice summary (``analysis.summary``) per year or quarter."""
        if period not in ("year", "quarter"):
            raise InputError("period must be 'year' or 'quarter'", column="period",
                             value=period)
        return self._table(f"summary_{period}")

    @property
    def practices(self) -> list[str]:
        return sorted(self.summary("year")["practice_id"].astype(str).unique().tolist())

    def identifiers(self) -> set[str]:
        """Every patient and claim identifier of the input (for the privacy scan)."""
        lines = self.lines
        ids = set(lines["patient_id"].astype(str))
        if "claim_id" in lines:
            ids |= set(lines["claim_id"].astype(str))
        quarantine = self.quarantine
        for column in ("patient_id", "claim_id"):
            if column in quarantine:
                ids |= set(quarantine[column].dropna().astype(str))
        return ids


def _inputs_key(claims: Sequence[Path], link_window_days: int) -> tuple[str, dict]:
    claims_info = [{"path": str(p), "sha256": sha256_file(p)} for p in claims]
    ingredients = {
        "claims": [c["sha256"] for c in claims_info],
        "link_window_days": link_window_days,
        "reference": _reference_hashes(),
        "source": _source_hash(),
    }
    return _sha256_text(json.dumps(ingredients, sort_keys=True)), {
        "claims": claims_info, "link_window_days": link_window_days,
        "reference": ingredients["reference"], "source_sha256": ingredients["source"],
    }


def _compute_inputs(claims: Sequence[Path], link_window_days: int) -> dict[str, Any]:
    from analysis import encounters, summary

    loaded = _load_claims(claims)
    lines = loaded.lines
    quarantine = getattr(loaded, "quarantine", pd.DataFrame())
    report = getattr(loaded, "report", {})
    if hasattr(report, "to_dict"):
        report = report.to_dict()
    linked = encounters.link(lines, link_window_days=link_window_days)
    frames = {
        "lines": lines,
        "quarantine": quarantine if isinstance(quarantine, pd.DataFrame) else pd.DataFrame(),
        "encounters": linked.encounters,
        "lines_3d": linked.lines_3d,
        "summary_year": summary.summarize_linked(linked, period="year"),
        "summary_quarter": summary.summarize_linked(linked, period="quarter"),
    }
    return {"frames": frames, "report": report}


def prepare_inputs(
    claims: str | Sequence[str] | None = None,
    *,
    link_window_days: int = 7,
    cache_dir: str | Path | None = None,
) -> SharedInputs:
    """Load, validate, link and summarize the claims once; cache as Parquet.

    Parameters
    ----------
    claims : path or list of paths, optional
        Claims files in the canonical schema; default the bundled sample.
    link_window_days : int
        Passed to :func:`analysis.encounters.link`.
    cache_dir : path, optional
        Where to keep the prepared inputs, in a subfolder named by the SHA-256 of the
        claims files, the linking options, the reference files and the package source
        (so an unchanged input is never prepared twice). ``None``: in memory only.

    Returns
    -------
    SharedInputs

    Raises
    ------
    InputError
        A missing or invalid claims file (from :mod:`analysis.claims`).
    """
    paths = _claims_list(claims)
    for p in paths:
        if not p.is_file():
            raise InputError("claims file not found", file=p)
    key, info = _inputs_key(paths, link_window_days)
    if cache_dir is not None:
        folder = Path(cache_dir) / key[:20]
        if (folder / "inputs.json").is_file():
            return SharedInputs(folder, json.loads((folder / "inputs.json").read_text()))
    computed = _compute_inputs(paths, link_window_days)
    frames = computed["frames"]
    info = {
        "key": key,
        **info,
        "rows": {name: len(frame) for name, frame in frames.items()},
        "claims_report": computed["report"],
        "prepared_at": _now(),
    }
    if cache_dir is None:
        return SharedInputs(None, info, dict(frames))
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        for name, frame in frames.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        info["files"] = {f"{n}.parquet": sha256_file(tmp / f"{n}.parquet") for n in frames}
        _write_json(tmp / "inputs.json", info)
        try:
            os.replace(tmp, folder)
        except OSError:  # prepared concurrently by another run: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SharedInputs(folder, json.loads((folder / "inputs.json").read_text()))


def load_inputs(
    inputs_dir: str | Path | None = "",
    *,
    claims: str | Sequence[str] | None = "",
    link_window_days: int = 7,
) -> SharedInputs:
    """The shared inputs inside a notebook.

    With ``inputs_dir`` (set by ``rad3d report``) the prepared Parquet tables are read;
    without it (a notebook opened by hand) the claims are loaded and linked here.

    Raises
    ------
    InputError
        The folder is not a prepared inputs folder, or was prepared with other
        linking options than the notebook's.
    """
    if not inputs_dir:
        return prepare_inputs(claims or None, link_window_days=link_window_days)
    folder = Path(inputs_dir)
    if not (folder / "inputs.json").is_file():
        raise InputError("not a prepared inputs folder (no inputs.json)", file=folder)
    info = json.loads((folder / "inputs.json").read_text())
    if int(info.get("link_window_days", link_window_days)) != int(link_window_days):
        raise InputError(
            "prepared with another link window than the notebook's parameter",
            file=folder, column="link_window_days", value=link_window_days,
        )
    return SharedInputs(folder, info)


# ---------------------------------------------------------------- notebook side


def _fmt_value(column: str, value: Any) -> str:
    if isinstance(value, str):
        # a line may break after "_" (policy names such as full_bundling), not inside
        return html.escape(value).replace("_", "_<wbr>")
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or (
        value is pd.NA
    ):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    name = column.lower()
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if name.endswith("_usd"):
            return f"${v:,.0f}" if abs(v) >= 100 else f"${v:,.2f}"
        if "p_value" in name or "q_value" in name or name in ("p", "q"):
            return f"{v:.2g}" if v < 0.001 else f"{v:.3f}"
        if any(t in name for t in ("rate", "share", "prob", "ci_", "limit", "pct",
                                   "percentile", "funnel_hi", "rel_change")):
            return f"{100 * v:.1f}%" if "pct" not in name else f"{v:.1f}%"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(value, pd.Timestamp | dt.date):
        return value.strftime("%Y-%m-%d")
    return html.escape(str(value))


def table_html(table: pd.DataFrame, *, caption: str = "", footnote: str = "",
               labels: Mapping[str, str] | None = None) -> str:
    """A display-formatted HTML table (rates as %, dollars with $, suppressed as *).

    Values are formatted by their column name (``*_usd`` as dollars, rates and
    shares as percentages); ``labels`` maps column names to the headers shown
    (default: the names as they are).
    """
    head = "".join(
        f'<th data-column="{html.escape(str(c))}">'
        f"{html.escape(_label(str(c), labels) if labels is not None else str(c))}</th>"
        for c in table.columns)
    body = []
    for row in table.itertuples(index=False, name=None):
        cells = "".join(
            (f'<td style="text-align:left">{_fmt_value(str(c), v)}</td>'
             if isinstance(v, str) and v != MARKER else f"<td>{_fmt_value(str(c), v)}</td>")
            for c, v in zip(table.columns, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    foot = f'<p class="rad3d-note"><small>{html.escape(footnote)}</small></p>' if footnote else ""
    return (
        f'<table class="rad3d-table">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{foot}"
    )


class ReportWriter:
    """What a notebook shows and saves: suppressed tables, figures, headline numbers.

    Parameters
    ----------
    output_dir : path or ""
        The run folder of this notebook (set by ``rad3d report``); empty: show only.
    notebook, scenario, practice_id : str
        Recorded in ``results.json``.
    min_cell_count : int
        Counts from 1 to ``min_cell_count - 1`` are suppressed in shown tables.
    internal : bool
        Required to lower ``min_cell_count`` below 11.
    parameters : dict, optional
        The notebook's parameters, recorded in ``results.json``.
    labels : mapping, optional
        Column name -> header shown (default :data:`COLUMN_LABELS`; see
        :func:`column_labels`). Saved tables keep the column names.

    Notes
    -----
    Every method displays its output and returns ``None``, so a notebook cell never
    ends with an unsuppressed object by accident.
    """

    def __init__(
        self,
        output_dir: str | Path | None = "",
        *,
        notebook: str = "",
        scenario: str = "",
        practice_id: str = "",
        min_cell_count: int = DEFAULT_MIN_CELL_COUNT,
        internal: bool = False,
        parameters: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.output_dir = Path(output_dir) if output_dir else None
        self.labels = dict(COLUMN_LABELS if labels is None else labels)
        self.privacy = PrivacySettings(min_cell_count=min_cell_count, internal=internal)
        self.notebook = notebook
        self.scenario = scenario
        self.practice_id = practice_id
        self.parameters = dict(parameters or {})
        self.headlines: dict[str, dict[str, Any]] = {}
        self.tables: dict[str, pd.DataFrame] = {}
        self.figures: list[str] = []
        self._suppressed_cells = 0
        if internal:
            self._display_html(
                '<p style="border:2px solid #b35806;padding:6px"><b>INTERNAL RUN</b> — '
                f"counts from {min_cell_count} up are shown; not for sharing.</p>"
            )

    @staticmethod
    def _display_html(text: str) -> None:
        from IPython.display import HTML, display

        display(HTML(text))

    def note(self, markdown: str) -> None:
        """Show a paragraph of narrative computed in the notebook (Markdown)."""
        from IPython.display import Markdown, display

        display(Markdown(markdown))

    def preformatted(self, text: str) -> None:
        """Show text as it is (definitions, rules), in a fixed-width block."""
        self._display_html(f'<pre style="white-space:pre-wrap">{html.escape(text)}</pre>')

    def table(
        self,
        name: str,
        table: pd.DataFrame,
        *,
        caption: str = "",
        count_columns: Iterable[str] | None = None,
        dependents: Mapping[str, Sequence[str]] | None = None,
        total_rows: Iterable[object] = (),
        row_groups: Mapping[str, Sequence[str]] | None = None,
        column_totals: bool = True,
        show: bool = True,
        max_rows: int | None = None,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> None:
        """Suppress small counts, show the table, save it as CSV (and in the workbook).

        See :func:`analysis.privacy.suppress_counts` for the options (suppression is
        decided on the whole table). ``max_rows`` limits the rows shown and
        ``columns`` the columns shown, with human headers (:attr:`labels`), so that a
        printed page holds the table; ``where`` (``{column: value}``) shows only the
        rows with those values. The saved CSV and Excel sheet are complete, and the
        note under the table says so.
        """
        if not _NAME_OK.match(name):
            raise ValueError(f"table name {name!r}: letters, digits, '_', '-' only")
        check_no_identifier_columns(table, name=name)
        flat = table.reset_index() if _has_named_index(table) else table.reset_index(drop=True)
        total_labels = set(total_rows)
        positions = [i for i, label in enumerate(table.index) if label in total_labels]
        flat_totals = [flat.index[i] for i in positions]
        result: Suppressed = suppress_counts(
            flat, settings=self.privacy, count_columns=count_columns, dependents=dependents,
            total_rows=flat_totals, row_groups=row_groups, column_totals=column_totals,
        )
        self._suppressed_cells += result.n_suppressed
        self.tables[name] = result.table
        if self.output_dir is not None:
            buf = io.StringIO()
            result.table.to_csv(buf, index=False)
            _atomic_write_text(self.output_dir / "tables" / f"{name}.csv", buf.getvalue())
        if show:
            full = result.table
            shown = full
            for column, value in (where or {}).items():
                shown = shown.loc[shown[column] == value]
            if where:
                shown_where = ", ".join(f"{_label(str(k), self.labels).lower()} = {v}"
                                        for k, v in where.items())
            shown = shown if max_rows is None else shown.head(max_rows)
            if columns is not None:
                missing = [c for c in columns if c not in shown.columns]
                if missing:
                    raise ValueError(f"table {name!r}: no column(s) {missing}")
                shown = shown[list(columns)]
            parts = []
            if where:
                parts.append(f"Rows with {shown_where}: {len(shown)} of {len(full)} rows shown.")
            elif len(shown) < len(full):
                parts.append(f"First {len(shown)} of {len(full)} rows shown.")
            if shown.shape[1] < full.shape[1]:
                parts.append(f"{shown.shape[1]} of {full.shape[1]} columns shown.")
            if parts:
                book = f"tables/{self.notebook or 'tables'}.xlsx"
                parts.append(f"The full table is in tables/{name}.csv and in the Excel "
                             f"workbook {book} (sheet {name[:31]}).")
            note = " ".join([*parts, result.footnote]).strip()
            self._display_html(table_html(shown, caption=caption, footnote=note,
                                          labels=self.labels))

    def callout(self, text: str, *, title: str = "") -> None:
        """Show a boxed statement (e.g. :func:`data_statement`) that no reader misses."""
        head = f"<b>{html.escape(title)}</b> " if title else ""
        self._display_html(
            '<div class="rad3d-callout" style="border:2px solid #E69F00;'
            'background:#FFF6E0;padding:8px 12px;margin:6px 0;font-size:1.05em">'
            f"{head}{html.escape(text)}</div>")

    def show_scenario(self, overview: ScenarioOverview) -> None:
        """Show the scenario (name, description, key assumptions, what it changes)
        and save its table as ``tables/scenario.csv``."""
        title = overview.title or overview.name
        desc = f" {html.escape(overview.description)}" if overview.description else ""
        changed = overview.n_changed
        self._display_html(
            f"<p><b>Scenario: {html.escape(title)}</b> "
            f"(<code>{html.escape(overview.name)}</code>).{desc}</p>")
        self.table(
            "scenario", overview.table.drop(columns=["changed"]), count_columns=[],
            caption=("Key assumptions, and every parameter this scenario changes "
                     f"({changed} differ from the notebook defaults)"),
        )

    def funnel(self, name: str, screen, *, highlight: str | None = None,
               label_flagged: bool = True, caption: str = "") -> None:
        """The funnel plot (:func:`analysis.plots.funnel_plot`) safe to share.

        Practices whose counts the screen table suppresses (:func:`hidden_practices`)
        are not plotted; the caption says how many.
        """
        from analysis import plots

        hidden = [] if self.privacy.min_cell_count <= 1 else hidden_practices(
            screen, settings=self.privacy)
        fig = plots.funnel_plot(screen, highlight=highlight, label_flagged=label_flagged,
                                hide=hidden)
        if hidden:
            caption = (f"{caption} {len(hidden)} practice(s) with a count from 1 to "
                       f"{self.privacy.min_cell_count - 1} (or the cell that would reveal "
                       "one) are not plotted.").strip()
        if highlight is not None and str(highlight) in set(hidden):
            caption += " This practice is among them: its own point is not shown."
        self.figure(name, fig, caption=caption)

    def trend(self, name: str, screen, practice_id: str, *, caption: str = "") -> None:
        """One practice's quarterly trend (:func:`analysis.plots.trend_plot`) safe to
        share: periods with suppressed counts (:func:`hidden_periods`) are not
        plotted and the caption names them."""
        from analysis import plots

        safe, hidden = (screen, []) if self.privacy.min_cell_count <= 1 else \
            shareable_trend(screen, practice_id, settings=self.privacy)
        tr = screen.trend
        periods = tr.loc[(tr["practice_id"].astype(str) == str(practice_id)) & (tr["n"] > 0)]
        if hidden and len(hidden) == len(periods):
            self._display_html(
                f"<p><i>No quarter of practice {html.escape(str(practice_id))} can be shown: "
                f"each has a count from 1 to {self.privacy.min_cell_count - 1} or would "
                "reveal one (CMS cell-size suppression policy).</i></p>")
            return
        if hidden:
            caption = (f"{caption} Not plotted (a count from 1 to "
                       f"{self.privacy.min_cell_count - 1}, or the period that would "
                       f"reveal one): {', '.join(hidden)}.").strip()
        self.figure(name, plots.trend_plot(safe, practice_id), caption=caption)

    def figure(self, name: str, fig, *, caption: str = "", dpi: int = 144) -> None:
        """Save a matplotlib figure as ``figures/<name>.png``, show it, close it."""
        import matplotlib.pyplot as plt
        from IPython.display import Image, display

        if not _NAME_OK.match(name):
            raise ValueError(f"figure name {name!r}: letters, digits, '_', '-' only")
        # Dollar amounts in titles and legends ("between $303k and $386k") are text,
        # not mathtext: a pair of "$" must not typeset what lies between them.
        from matplotlib.text import Text

        for text in fig.findobj(Text):
            text.set_parse_math(False)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight",
                    metadata={"Software": None})
        plt.close(fig)
        data = buf.getvalue()
        if self.output_dir is not None:
            _atomic_write_bytes(self.output_dir / "figures" / f"{name}.png", data)
        self.figures.append(name)
        display(Image(data=data, format="png"))
        if caption:
            self._display_html(f'<p class="rad3d-caption"><i>{html.escape(caption)}</i></p>')

    def headline(self, name: str, value: Any, *, label: str = "", unit: str = "",
                 note: str = "", suppressed: bool = False) -> None:
        """Record a headline number for ``results.json`` and the index page.

        Counts (by name, :func:`analysis.privacy.is_count_column`) from 1 to the
        threshold are recorded as ``None`` with ``suppressed: true``; so is any value
        with ``suppressed=True`` (a figure derived from a suppressed count).
        """
        if isinstance(value, np.generic):
            value = value.item()
        shown = None if suppressed else suppress_value(name, value, settings=self.privacy)
        self.headlines[name] = {
            "value": shown, "label": label or name, "unit": unit, "note": note,
            "suppressed": shown is None and value is not None,
        }

    def show_headlines(self, *, caption: str = "Key numbers") -> None:
        """Show the headline numbers recorded so far as a table."""
        rows = [
            {"measure": h["label"],
             "value": MARKER if h["suppressed"] else _fmt_headline(h["value"], h["unit"]),
             "note": h["note"]}
            for h in self.headlines.values()
        ]
        self._display_html(table_html(pd.DataFrame(rows, columns=["measure", "value", "note"]),
                                      caption=caption))

    def finish(self) -> None:
        """Write ``results.json`` and the Excel workbook of all tables."""
        results = {
            "notebook": self.notebook,
            "scenario": self.scenario,
            "practice_id": self.practice_id or None,
            "headline": self.headlines,
            "tables": sorted(self.tables),
            "figures": self.figures,
            "privacy": {**self.privacy.to_dict(), "suppressed_cells": self._suppressed_cells},
            "parameters": self.parameters,
            "finished_at": _now(),
        }
        if self.output_dir is None:
            return
        if self.tables:
            buf = io.BytesIO()
            with pd.ExcelWriter(buf, engine="openpyxl") as xl:
                used: set[str] = set()
                for name, frame in self.tables.items():
                    sheet = name[:31]
                    i = 1
                    while sheet in used:
                        i += 1
                        sheet = f"{name[:28]}_{i}"
                    used.add(sheet)
                    frame.to_excel(xl, sheet_name=sheet, index=False)
            _atomic_write_bytes(
                self.output_dir / "tables" / f"{self.notebook or 'tables'}.xlsx", buf.getvalue()
            )
        _write_json(self.output_dir / "results.json", results)


def _has_named_index(table: pd.DataFrame) -> bool:
    return any(n is not None for n in table.index.names)


def _fmt_headline(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | int):
        if unit == "usd":
            return f"${value:,.0f}"
        if unit in ("share", "rate", "%"):
            return f"{100 * value:.1f}%"
        if isinstance(value, int) or float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.3g}"
    return html.escape(str(value))


# ------------------------------------------------------- notebook building blocks
#
# Small assembly steps the notebooks share, kept here so that notebooks hold no
# logic of their own (they call these and the domain modules).


def scenario_policies(
    names: Sequence[str],
    *,
    payers: Sequence[str] = ("BCBSNC",),
    effective_date: str = "2025-01-01",
    scope_share: float = 1.0,
    cap_threshold: float = 0.20,
):
    """The policies of a scenario, by kind name (:mod:`analysis.policy`).

    ``status_quo`` takes no options; ``lcd_cap`` gets ``cap_threshold``; every other
    policy gets ``payers``, ``effective_date`` and ``scope_share``.

    Raises
    ------
    InputError
        An unknown policy name or an invalid option.
    """
    from analysis import policy

    common = {"payers": tuple(payers), "effective_date": effective_date,
              "scope_share": scope_share}
    out = []
    for name in names:
        if name == "status_quo":
            out.append(policy.status_quo())
        elif name == "lcd_cap":
            out.append(policy.get_policy(name, threshold=cap_threshold, **common))
        else:
            out.append(policy.get_policy(name, **common))
    return tuple(out)


def settings_frame(settings: Mapping[str, Any]) -> pd.DataFrame:
    """A settings mapping (``to_dict()`` of a settings object) as a two-column table."""
    return pd.DataFrame(
        [{"setting": k, "value": ", ".join(map(str, v)) if isinstance(v, list | tuple)
          else "all" if v is None else ("yes" if v else "no") if isinstance(v, bool)
          else str(v)} for k, v in settings.items()]
    )


def inputs_overview(inputs: SharedInputs) -> pd.DataFrame:
    """What the run read: claims files (name and SHA-256) and row counts.

    Row counts of whole files are far above any small-cell threshold; they are
    shown as they are (the file's own size, not a patient count of a cell).
    """
    info = inputs.info
    report = info.get("claims_report") or {}
    rows = [{"item": f"claims file {Path(c['path']).name}", "value": c["sha256"][:16]}
            for c in info.get("claims", [])]
    for key in ("rows_read", "rows_accepted", "rows_quarantined"):
        if key in report:
            rows.append({"item": key.replace("_", " "), "value": f"{int(report[key]):,}"})
    counts = info.get("rows", {})
    for key, label in (("encounters", "CT/MR encounters"), ("lines_3d", "3D lines")):
        if key in counts:
            rows.append({"item": label, "value": f"{int(counts[key]):,}"})
    rows.append({"item": "practices", "value": str(len(inputs.practices))})
    rows.append({"item": "link window (days)", "value": str(info.get("link_window_days"))})
    return pd.DataFrame(rows)


# ------------------------------------------------------ provenance and scenario


def _is_sample(sha256: str) -> bool:
    """Whether a file's SHA-256 equals the bundled synthetic sample's (by content,
    not by name: a copy of the sample under another name is still synthetic)."""
    return SAMPLE_CLAIMS.is_file() and sha256 == _sample_sha256()


_SAMPLE_SHA: dict[str, str] = {}


def _sample_sha256() -> str:
    key = str(SAMPLE_CLAIMS)
    if key not in _SAMPLE_SHA:
        _SAMPLE_SHA[key] = sha256_file(SAMPLE_CLAIMS)
    return _SAMPLE_SHA[key]


def _count_text(value: Any, *, min_cell_count: int = DEFAULT_MIN_CELL_COUNT) -> str:
    v = int(value)
    if 0 < v < min_cell_count:
        return f"fewer than {min_cell_count}"
    return f"{v:,}"


def data_statement(
    inputs: SharedInputs | Mapping[str, Any],
    *,
    min_cell_count: int = DEFAULT_MIN_CELL_COUNT,
) -> str:
    """One paragraph saying what data a report rests on (shown near its top).

    When every claims file is the bundled synthetic sample (detected by SHA-256
    equality with :data:`SAMPLE_CLAIMS`, not by name), the statement says plainly
    that the claims are synthetic, generated by :mod:`analysis.synth` for North
    Carolina at :data:`analysis.synth.SAMPLE_SCALE` of full practice volumes, so the
    dollar figures illustrate the method and do not estimate North Carolina's actual
    exposure. Otherwise it names the claims file(s) (file name and the first 12
    hex digits of the SHA-256; never a local path) and the rows read, accepted and
    quarantined (a quarantine count from 1 to ``min_cell_count - 1`` is given as
    "fewer than ``min_cell_count``").

    Parameters
    ----------
    inputs : SharedInputs or mapping
        The shared inputs, or their ``info`` mapping (``claims``: list of ``path,
        sha256``; ``claims_report``: the loader's reconciliation).

    Returns
    -------
    str
        Plain text (no Markdown).

    Examples
    --------
    >>> info = {"claims": [{"path": "/x/c.csv", "sha256": "ab" * 32}],
    ...         "claims_report": {"rows_read": 120, "rows_accepted": 117,
    ...                           "rows_quarantined": 3}}
    >>> print(data_statement(info))  # doctest: +NORMALIZE_WHITESPACE
    Data: claims file c.csv (SHA-256 abababababab...). Rows read 120; accepted 117;
    quarantined fewer than 11 (rows that failed validation, with reasons, are kept
    out of every figure).
    """
    from analysis import synth

    info = inputs.info if isinstance(inputs, SharedInputs) else inputs
    files = list(info.get("claims") or [])
    report = info.get("claims_report") or {}
    sample = [bool(f.get("sha256")) and _is_sample(str(f["sha256"])) for f in files]
    scale = synth.SAMPLE_SCALE
    scale_text = f"1/{round(1 / scale):d}" if scale and float(1 / scale).is_integer() \
        else f"{scale:g}"
    if files and all(sample):
        return (
            "SYNTHETIC DATA. The claims in this report are synthetic: generated by "
            "analysis.synth for North Carolina practices at "
            f"{scale_text} of full practice volumes (analysis.synth.SAMPLE_SCALE; file "
            f"{Path(files[0]['path']).name}, SHA-256 {str(files[0]['sha256'])[:12]}...). "
            "The dollar figures illustrate the method; they are not an estimate of "
            "North Carolina's actual exposure."
        )
    names = [
        f"{Path(f['path']).name} (SHA-256 {str(f.get('sha256', ''))[:12]}...)"
        + (" [the bundled synthetic sample]" if s else "")
        for f, s in zip(files, sample, strict=True)
    ]
    text = (f"Data: claims file{'s' if len(names) > 1 else ''} "
            f"{', '.join(names) or '(none)'}.")
    if {"rows_read", "rows_accepted", "rows_quarantined"} <= set(report):
        text += (
            f" Rows read {_count_text(report['rows_read'], min_cell_count=1)}; "
            f"accepted {_count_text(report['rows_accepted'], min_cell_count=1)}; "
            f"quarantined {_count_text(report['rows_quarantined'], min_cell_count=min_cell_count)}"
            " (rows that failed validation, with reasons, are kept out of every figure)."
        )
    if any(sample):
        text += (" Part of the input is the synthetic sample: the dollar figures are "
                 "not an estimate of any real market.")
    return text


def puf_data_statement(path: str | Path, *, counts: Mapping[str, Any] | None = None) -> str:
    """:func:`data_statement` for a Medicare provider file (``medicare_benchmark``).

    The bundled synthetic sample in the CMS layout (:func:`analysis.puf.sample_paths`,
    detected by SHA-256) is called synthetic; another file is named (file name and
    SHA-256, never its local path) with the rows read, kept and quarantined.
    """
    from analysis import puf

    path = Path(path)
    digest = sha256_file(path) if path.is_file() else ""
    samples = {sha256_file(p) for p in puf.sample_paths().values() if p.is_file()}
    if digest and digest in samples:
        return (
            "SYNTHETIC DATA. The Medicare provider file is the bundled synthetic sample "
            f"in the CMS layout ({path.name}, SHA-256 {digest[:12]}...): its providers, "
            "counts and dollars describe no real provider, and the exposure estimate "
            "illustrates the method; it is not an estimate of North Carolina's actual "
            "exposure."
        )
    text = f"Data: CMS provider file {path.name} (SHA-256 {digest[:12] or 'n/a'}...)."
    if counts:
        parts = [f"{k.replace('_', ' ')} {int(v):,}" for k, v in counts.items()
                 if k in ("rows_read", "rows_kept", "rows_quarantined")]
        text += " " + "; ".join(parts) + "."
    return text


#: Parameters shown in every scenario table, whether or not the scenario changes them.
KEY_ASSUMPTIONS = ("headline_policy", "commercial_multiplier", "horizon_years",
                   "effective_date", "scope_share", "threshold")

#: Human labels of the notebook parameters (scenario tables).
PARAMETER_LABELS = {
    "headline_policy": "Policy of the headline numbers",
    "policies": "Policies compared",
    "policy_payers": "Payers applying the policy",
    "commercial_multiplier": "Commercial price ÷ Medicare fee schedule price",
    "medicaid_multiplier": "Medicaid price ÷ Medicare fee schedule price",
    "self_pay_multiplier": "Self-pay collections ÷ Medicare fee schedule price",
    "horizon_years": "Horizon (years)",
    "effective_date": "Policy effective date",
    "start_date": "First day of horizon year 1",
    "scope_share": "Share of the payer's business in scope",
    "threshold": "LCD benchmark (share of CT/MR encounters with 3D)",
    "cap_threshold": "LCD-style cap (paid share of non-oncology encounters)",
    "basis": "Screen basis",
    "exempt_oncology": "Oncology encounters exempt",
    "alpha": "False discovery rate (BH)",
    "ci": "Interval method",
    "periods": "Periods screened",
    "volume_growth": "Annual volume growth after year 1",
    "fee_update": "Annual price change after year 1",
    "stop_share": "Share of unpaid renderings stopped",
    "cost_per_rendering_usd": "Practice cost avoided per rendering stopped ($)",
    "payer_cost_share": "Payer share of the allowed amount",
    "discount_rate": "Discount rate (present value)",
    "n_draws": "PSA draws",
    "seed": "Random seed",
    "claims": "Claims files",
    "link_window_days": "Link window (days)",
    "min_cell_count": "Smallest count shown",
    "internal": "Internal run",
    "commercial_to_medicare_volume": "Commercial ÷ Medicare FFS 3D services",
    "bcbs_share_of_commercial": "BCBS NC share of commercial 3D services",
    "states": "Provider states screened",
    "jurisdictions": "MAC jurisdictions screened",
    "data_year": "Data year of the CMS files",
    "services_per_beneficiary": "Services per beneficiary in a hidden row",
    "puf_file": "CMS provider file",
    "geography_file": "CMS geography file",
}
_NOT_SCENARIO = frozenset(RESERVED) | {"scenario_title", "scenario_description"}


def notebook_defaults(notebook: str, *, notebook_dir: str | Path | None = None
                      ) -> dict[str, NotebookParameter]:
    """The parameters ``notebooks/<notebook>.ipynb`` declares (defaults and help)."""
    folder = Path(notebook_dir) if notebook_dir else NOTEBOOK_DIR
    return notebook_parameters(folder / f"{notebook}.ipynb")


def _param_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "claims":
        files = value if isinstance(value, list | tuple) else [value]
        return ", ".join(Path(str(v)).name for v in files) or "bundled synthetic sample"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "all"
    if isinstance(value, float) and name.endswith(("_share", "_rate", "threshold",
                                                     "growth", "update", "alpha")):
        return f"{value:.0%}" if abs(100 * value - round(100 * value)) < 1e-9 \
            else f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value) if name == "seed" or "year" in name else f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class ScenarioOverview:
    """What a report's scenario section shows (see :func:`scenario_overview`).

    Attributes
    ----------
    name, title, description : str
    table : DataFrame
        ``setting, this_scenario, default, changed, note``: the key assumptions
        (:data:`KEY_ASSUMPTIONS` the notebook declares), then every other parameter
        whose value differs from the notebook's default.
    """

    name: str
    title: str
    description: str
    table: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        return self.table

    @property
    def n_changed(self) -> int:
        return int(self.table["changed"].sum())

    def _repr_html_(self) -> str:
        head = f"<p><b>{html.escape(self.title or self.name)}</b> ({html.escape(self.name)})"
        if self.description:
            head += f" — {html.escape(self.description)}"
        return head + "</p>" + table_html(self.table.drop(columns=["changed"]))


def scenario_overview(
    values: Mapping[str, Any],
    *,
    defaults: Mapping[str, NotebookParameter],
    title: str = "",
    description: str = "",
    key: Sequence[str] = KEY_ASSUMPTIONS,
) -> ScenarioOverview:
    """The scenario of a notebook run: name, description, key assumptions, changes.

    Parameters
    ----------
    values : mapping
        Holds (at least) the notebook's parameters by name, e.g. ``globals()`` of
        the notebook; other names are ignored.
    defaults : mapping
        The notebook's declared parameters (:func:`notebook_defaults`).
    title, description : str
        From the scenario file (``rad3d report`` passes them as ``scenario_title``
        and ``scenario_description``).
    key : sequence of str
        Parameters always shown (those the notebook declares).

    Returns
    -------
    ScenarioOverview
        The table's ``changed`` column is True where the value differs from the
        default. Runner-set parameters (folders, practice, labels) are left out.
    """
    rows = []
    declared = [n for n in defaults if n not in _NOT_SCENARIO and n in values]
    shown = [n for n in key if n in declared]
    shown += [n for n in declared if n not in shown and values[n] != defaults[n].default]
    for n in shown:
        p = defaults[n]
        rows.append({
            "setting": PARAMETER_LABELS.get(n, n.replace("_", " ")),
            "this_scenario": _param_text(n, values[n]),
            "default": _param_text(n, p.default),
            "changed": values[n] != p.default,
            "note": p.help,
        })
    table = pd.DataFrame(rows, columns=["setting", "this_scenario", "default", "changed",
                                        "note"])
    return ScenarioOverview(str(values.get("scenario_name", "adhoc")), title, description,
                            table)


# ------------------------------------------------------------ labels and units

#: Column headers of shown tables (units in brackets); the CSV/Excel keep the names.
COLUMN_LABELS = {
    "practice_id": "Practice", "policy": "Policy", "payer": "Payer", "year": "Year",
    "year_start": "Year starts", "period": "Period", "scenario": "Scenario",
    "n": "n (base)", "x": "x (with 3D)", "rate": "Rate (%)",
    "ci_low": "CI low (%)", "ci_high": "CI high (%)", "p_value": "p (exact)",
    "q_value": "q (BH)", "flag": "Flagged", "shrunken_rate": "Shrunken rate (%)",
    "prob_above": "P(rate > benchmark) (%)", "percentile": "Peer percentile (%)",
    "excess_x": "Excess 3D (count)", "excess_usd": "Excess 3D ($)",
    "flag_exact": "Exact test", "flag_percentile": "Percentile", "flag_shrinkage":
    "Shrinkage", "above_exact_998": "Above 99.8% limit",
    "in_force_share": "Year in force (%)",
    "revenue_without_usd": "3D revenue without policy ($)",
    "revenue_with_usd": "3D revenue with policy ($)",
    "loss_usd": "Loss ($)", "loss_share": "Share of 3D revenue lost (%)",
    "loss_pv_usd": "Loss, present value ($)", "net_margin_loss_usd": "Net margin loss ($)",
    "payer_savings_usd": "Payer savings ($)", "patient_savings_usd": "Patient savings ($)",
    "n_practices_losing": "Practices losing", "n_practices": "Practices",
    "loss_year1_usd": "Loss, year 1 ($)", "loss_share_year1": "Share lost, year 1 (%)",
    "variant": "Screen variant", "n_practices_screened": "Practices screened",
    "n_practices_above_threshold": "Above benchmark (raw rate)",
    "n_practices_flagged": "Flagged beyond chance", "flagged": "Flagged",
    "label": "Parameter", "value": "Value", "low": "Low", "high": "High",
    "outcome_low": "Result at low ($)", "outcome_high": "Result at high ($)",
    "swing": "Swing ($)", "distribution": "Distribution", "unit": "Unit",
    "source": "Source", "metric": "Measure", "deterministic": "Deterministic ($)",
    "mean": "Mean ($)", "median": "Median ($)", "lower": "95% lower ($)",
    "upper": "95% upper ($)", "mcse": "MC std. error ($)", "n_draws": "Draws",
    "rel_change": "Relative change (%)", "stable": "Stable",
    "n_lines_3d": "3D lines", "n_noncompliant_3d_lines": "Non-compliant 3D lines",
    "n_orphan_3d_lines": "Orphan 3D lines", "n_separate_date_3d_lines":
    "3D lines on a later date", "n_unpriced_3d_lines": "3D lines without allowed $",
    "noncompliant_allowed_usd": "Non-compliant allowed ($)",
    "setting": "Setting", "this_scenario": "This scenario", "default": "Default",
    "note": "Note / source", "measure": "Measure", "practice": "This practice",
    "peer_median": "Peer median", "benchmark": "Benchmark", "screen": "Screen",
    "rule": "Rule", "item": "Item", "topic": "Topic",
}


def column_labels(*, horizon_years: int | None = None, basis: str = "encounters"
                  ) -> dict[str, str]:
    """:data:`COLUMN_LABELS` with the horizon and the screen basis spelled out.

    Horizon sums say over how many years (``Loss over 3 years ($)``) so that no
    reader takes them for annual figures; ``n``/``x`` name what is counted.
    """
    labels = dict(COLUMN_LABELS)
    if basis == "services":
        labels.update({"n": "CT/MR services (n)", "x": "3D services (x)"})
    else:
        labels.update({"n": "CT/MR encounters (n)", "x": "Encounters with 3D (x)"})
    if horizon_years is not None:
        span = f"{horizon_years} year{'s' if horizon_years != 1 else ''}"
        labels.update({
            "loss_horizon_usd": f"Loss over {span} ($)",
            "loss_horizon_share": f"Share lost over {span} (%)",
            "revenue_without_horizon_usd": f"3D revenue without policy, {span} ($)",
            "net_margin_loss_horizon_usd": f"Net margin loss over {span} ($)",
            "payer_savings_horizon_usd": f"Payer savings over {span} ($)",
            "patient_savings_horizon_usd": f"Patient savings over {span} ($)",
            "loss_pv_usd": f"Loss over {span}, present value ($)",
        })
    return labels


def _label(column: str, labels: Mapping[str, str]) -> str:
    if column in labels:
        return labels[column]
    text = column.replace("_usd", " ($)").replace("_", " ")
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------- privacy in figures


def _hidden_rows(table: pd.DataFrame, settings: PrivacySettings, *,
                 count_columns: Sequence[str] = ("n", "x")) -> np.ndarray:
    """Rows a shown table would suppress (primary or complementary) in its counts."""
    cols = [c for c in count_columns if c in table.columns]
    if table.empty or not cols:
        return np.zeros(len(table), dtype=bool)
    frame = table[cols].reset_index(drop=True).apply(pd.to_numeric, errors="coerce")
    s = suppress_counts(frame, settings=settings, count_columns=cols, column_totals=True)
    return s.mask.to_numpy().any(axis=1)


def hidden_practices(screen, *, settings: PrivacySettings | None = None) -> list[str]:
    """Practices a shared figure must not plot: their screen counts are suppressed.

    A practice is hidden when its ``n`` or ``x`` (encounters, or 3D encounters)
    is from 1 to ``min_cell_count - 1``, or is the complementary cell that keeps
    it from being recovered from the published total — exactly the rows
    :func:`analysis.privacy.suppress_counts` suppresses in the screen table, so a
    figure never shows what the table hides (a point at volume ``n`` and rate
    ``x/n`` reveals both counts).
    """
    settings = settings or PrivacySettings()
    t = screen.table.loc[screen.table["screened"]].reset_index(drop=True)
    return sorted(t.loc[_hidden_rows(t, settings), "practice_id"].astype(str))


def hidden_periods(screen, practice_id: str, *, settings: PrivacySettings | None = None
                   ) -> list[str]:
    """Periods of one practice's trend a shared figure must not plot.

    The rows whose ``n`` or ``x`` the trend table would suppress, with
    complementary suppression within the practice (its periods add up to its
    published total).
    """
    settings = settings or PrivacySettings()
    tr = screen.trend.loc[screen.trend["practice_id"].astype(str) == str(practice_id)]
    tr = tr.loc[tr["n"] > 0].reset_index(drop=True)
    return sorted(tr.loc[_hidden_rows(tr, settings), "period"].astype(str))


def shareable_trend(screen, practice_id: str, *, settings: PrivacySettings | None = None):
    """A copy of ``screen`` whose trend omits the practice's suppressed periods.

    Returns
    -------
    (ScreenResult, list of str)
        The copy (hidden periods get ``n = 0``, which
        :func:`analysis.plots.trend_plot` does not plot) and the hidden periods.
    """
    import dataclasses

    hidden = hidden_periods(screen, practice_id, settings=settings)
    if not hidden:
        return screen, []
    tr = screen.trend
    drop = (tr["practice_id"].astype(str) == str(practice_id)) & tr["period"].astype(
        str).isin(hidden)
    masked = tr.assign(n=tr["n"].where(~drop, 0))
    return dataclasses.replace(screen, trend=masked), hidden


def flagged_practices(result, *, limit: int | None = None) -> list[str]:
    """Practices flagged by a screen, most significant first."""
    t = result.table.loc[result.table["flag"]].sort_values(["q_value", "practice_id"])
    ids = t["practice_id"].astype(str).tolist()
    return ids if limit is None else ids[:limit]


def impact_years(result, *, policy: str | None = None) -> pd.DataFrame:
    """Totals per policy and year of an :class:`analysis.impact.ImpactResult`."""
    cols = ["policy", "year", "year_start", "in_force_share", "revenue_without_usd",
            "revenue_with_usd", "loss_usd", "loss_share", "loss_pv_usd",
            "net_margin_loss_usd", "payer_savings_usd", "patient_savings_usd",
            "renderings_unpaid", "n_practices_losing"]
    t = result.totals
    if policy is not None:
        t = t.loc[t["policy"] == policy]
    t = t[[c for c in cols if c in t.columns]]
    if "year_start" in t:
        t = t.assign(year_start=pd.to_datetime(t["year_start"]).dt.strftime("%Y-%m-%d"))
    return t.reset_index(drop=True)


def impact_payers(result) -> pd.DataFrame:
    """Per policy, year and payer (the payer perspective)."""
    t = result.payers
    if "year_start" in t:
        t = t.assign(year_start=pd.to_datetime(t["year_start"]).dt.strftime("%Y-%m-%d"))
    return t.reset_index(drop=True)


def policy_row(result, policy: str) -> pd.Series:
    """The headline row of ``policy`` in ``result.summary``."""
    table = result.summary
    hit = table.loc[table["policy"] == policy]
    if hit.empty:
        raise InputError("not among the policies compared", column="headline_policy",
                         value=policy)
    return hit.iloc[0]


def policy_value(table: pd.DataFrame, policy: str, column: str) -> float | None:
    """One value of a per-policy table (``None`` when the policy is absent)."""
    hit = table.loc[table["policy"] == policy, column]
    return None if hit.empty else float(hit.iloc[0])


def pick_policy(policies, name: str):
    """The policy named ``name`` among ``policies``.

    Raises
    ------
    InputError
        No policy of that name (the headline policy must be one of those compared).
    """
    for p in policies:
        if p.name == name:
            return p
    raise InputError(
        f"not among the policies compared ({', '.join(p.name for p in policies)})",
        column="headline_policy", value=name,
    )


def screen_variants(
    summary: pd.DataFrame, *, quarterly: pd.DataFrame | None = None, **options: Any
) -> pd.DataFrame:
    """How the LCD-benchmark picture changes with chance, the cancer exception and basis.

    Rows: practices whose raw rate is above the threshold (no test), then flagged by
    the exact test with BH control (a) with oncology encounters exempt (the default
    screen), (b) without the exemption, (c) on the services basis (what the Medicare
    PUF allows). ``options`` go to :func:`analysis.lcd.screen` (threshold, alpha, ...).

    Returns
    -------
    DataFrame
        ``variant, basis, oncology_exempt, n_practices_screened,
        n_practices_above_threshold, n_practices_flagged, flagged`` (practice ids, comma
        separated).
    """
    from analysis import lcd

    options = {k: v for k, v in options.items() if k not in ("basis", "exempt_oncology")}
    variants = [
        ("exact test + FDR, oncology exempt (default)", "encounters", True),
        ("exact test + FDR, oncology not exempt", "encounters", False),
        ("exact test + FDR, services basis", "services", False),
    ]
    rows = []
    for label, basis, exempt in variants:
        r = lcd.screen(summary, basis=basis, exempt_oncology=exempt, quarterly=quarterly,
                       **options)
        t = r.table.loc[r.table["screened"]]
        rows.append({
            "variant": label, "basis": basis, "oncology_exempt": exempt,
            "n_practices_screened": int(len(t)),
            "n_practices_above_threshold": int((t["rate"] > r.settings.threshold).sum()),
            "n_practices_flagged": int(t["flag"].sum()),
            "flagged": ", ".join(sorted(t.loc[t["flag"], "practice_id"].astype(str))),
        })
    return pd.DataFrame(rows)


def top_losers(result, policy: str, *, n: int = 10) -> pd.DataFrame:
    """The practices that lose most under ``policy`` over the horizon.

    From an :class:`analysis.impact.ImpactResult`: per practice, **horizon sums** of
    ``revenue_without_usd, loss_usd, net_margin_loss_usd, renderings_unpaid`` and
    ``loss_share`` = loss / revenue without the policy over the horizon; beside them
    the **year-1** figures ``loss_year1_usd`` and ``loss_share_year1`` (year 1 =
    the first horizon year). Sorted by horizon loss, largest first.
    """
    p = result.practices.loc[result.practices["policy"] == policy]
    cols = [c for c in ("revenue_without_usd", "loss_usd", "net_margin_loss_usd",
                        "renderings_unpaid") if c in p.columns]
    first = p.loc[p["year"] == p["year"].min()] if "year" in p.columns else p.iloc[:0]
    year1 = (
        first.groupby("practice_id", as_index=False)[["revenue_without_usd", "loss_usd"]]
        .sum()
        .rename(columns={"revenue_without_usd": "_rev1", "loss_usd": "loss_year1_usd"})
    )
    return (
        p.groupby("practice_id", as_index=False)[cols].sum()
        .assign(loss_share=lambda d: d["loss_usd"] / d["revenue_without_usd"].where(
            d["revenue_without_usd"] > 0))
        .merge(year1, on="practice_id", how="left")
        .assign(loss_share_year1=lambda d: d["loss_year1_usd"] / d["_rev1"].where(
            d["_rev1"] > 0))
        .drop(columns=["_rev1"])
        .sort_values(["loss_usd", "practice_id"], ascending=[False, True])
        .head(n)
        .reset_index(drop=True)
    )


@dataclass(frozen=True)
class Scorecard:
    """One practice's comparative billing report (see :func:`scorecard`).

    Attributes
    ----------
    practice_id : str
    position : DataFrame
        One row per measure: the practice's value, the peer median and the
        benchmark (``measure, practice, peer_median, benchmark``).
    screen_row : DataFrame
        The practice's row of the LCD screen (``n, x, rate, ci_low, ci_high, p_value,
        q_value, flag, shrunken_rate, prob_above, percentile, flags``).
    flags : DataFrame
        ``screen, flagged, rule`` for the exact, percentile and shrinkage screens.
    compliance : DataFrame
        Per period: 3D lines, non-compliant 3D lines (with a "do not report with"
        code or both 3D codes), orphan 3D lines, 3D lines on a later date than the
        study, 3D lines without an allowed amount, and non-compliant allowed dollars.
    dollars : DataFrame
        Per policy: 3D revenue without the policy, loss in year 1 and over the
        horizon, net margin loss, loss share.
    suppressed : bool
        The practice's screen counts are suppressed in a shared report
        (:func:`hidden_practices`): its rate and every figure derived from it are
        not shown (:attr:`position_display`, :attr:`headline`).
    """

    practice_id: str
    position: pd.DataFrame
    screen_row: pd.DataFrame
    flags: pd.DataFrame
    compliance: pd.DataFrame
    dollars: pd.DataFrame
    suppressed: bool = False

    @property
    def summary(self) -> pd.DataFrame:
        return self.position

    @property
    def position_display(self) -> pd.DataFrame:
        """:attr:`position` with every value written as a percentage (all four
        measures are shares: rates, a percentile, a probability)."""
        def pct(v: Any) -> str:
            if v is None or not np.isfinite(float(v)):
                return "–"
            v = 100 * float(v)
            return "< 0.1%" if 0 < v < 0.05 else "> 99.9%" if 99.95 < v < 100 else f"{v:.1f}%"

        shown = self.position.assign(
            **{c: self.position[c].map(pct) for c in ("practice", "peer_median", "benchmark")}
        )
        return shown.assign(practice=MARKER) if self.suppressed else shown

    @property
    def headline(self) -> str:
        """One sentence: the practice's rate against its peers and whether it is
        flagged (its rate withheld when its counts are suppressed)."""
        d = self.position_display
        flagged = "flags" if bool(self.flags.loc[0, "flagged"]) else "does not flag"
        if self.suppressed:
            return (f"**Practice {self.practice_id}.** Its CT/MR or 3D counts are below the "
                    "reporting threshold, so its rate is not shown (suppressed); the peer "
                    f"median is {d.loc[0, 'peer_median']} against the "
                    f"{d.loc[0, 'benchmark']} benchmark. The exact test {flagged} it.")
        return (f"**Practice {self.practice_id}.** Its 3D rate is {d.loc[0, 'practice']} "
                f"against a peer median of {d.loc[0, 'peer_median']} and the "
                f"{d.loc[0, 'benchmark']} benchmark; the exact test {flagged} it.")


def scorecard(summary: pd.DataFrame, practice_id: str, *, screen, impact,
              privacy: PrivacySettings | None = None) -> Scorecard:
    """Assemble one practice's scorecard from the screen and the impact of all policies.

    Parameters
    ----------
    summary : DataFrame
        The practice summary (:mod:`analysis.summary`), any period.
    practice_id : str
    screen : analysis.lcd.ScreenResult
        The screen of all practices (the practice's peers).
    impact : analysis.impact.ImpactResult
        Impact of every policy to compare.
    privacy : PrivacySettings, optional
        For a shared report: mark the scorecard ``suppressed`` when the practice's
        screen counts are (:func:`hidden_practices`).

    Raises
    ------
    InputError
        ``practice_id`` is not in the summary.
    """
    pid = str(practice_id)
    known = summary["practice_id"].astype(str)
    if pid not in set(known):
        raise InputError(
            f"no such practice in the claims (e.g. {', '.join(sorted(set(known))[:5])})",
            column="practice_id", value=practice_id,
        )
    t = screen.table
    row = t.loc[t["practice_id"].astype(str) == pid]
    peers = t.loc[t["screened"]]
    s = screen.settings
    rec = row.iloc[0]
    position = pd.DataFrame([
        {"measure": "3D rate (screen basis)", "practice": rec["rate"],
         "peer_median": peers["rate"].median(), "benchmark": s.threshold},
        {"measure": "shrunken 3D rate (empirical Bayes)", "practice": rec["shrunken_rate"],
         "peer_median": peers["shrunken_rate"].median(), "benchmark": s.threshold},
        {"measure": "peer percentile of the rate", "practice": rec["percentile"],
         "peer_median": 0.5, "benchmark": s.percentile_flag},
        {"measure": "probability the true rate exceeds the benchmark",
         "practice": rec["prob_above"], "peer_median": peers["prob_above"].median(),
         "benchmark": 0.95},
    ])
    screen_cols = [c for c in ("n", "x", "rate", "ci_low", "ci_high", "p_value", "q_value",
                               "shrunken_rate", "prob_above", "percentile", "excess_x",
                               "excess_usd") if c in row.columns]
    flags = pd.DataFrame([
        {"screen": "exact binomial test, Benjamini-Hochberg", "flagged": bool(rec["flag_exact"]),
         "rule": f"q < {s.alpha:g} for H0: rate <= {s.threshold:g}"},
        {"screen": "peer percentile (PEPPER-style)", "flagged": bool(rec["flag_percentile"]),
         "rule": f"rate above the {s.percentile_flag:.0%} quantile of peers"},
        {"screen": "empirical-Bayes shrinkage", "flagged": bool(rec["flag_shrinkage"]),
         "rule": "P(true rate > benchmark) > 0.95"},
        {"screen": "funnel plot, exact 99.8% limit", "flagged": bool(rec["above_exact_998"]),
         "rule": "rate above the upper 99.8% limit at its volume"},
    ])
    counts = [c for c in ("n_lines_3d", "n_noncompliant_3d_lines", "n_orphan_3d_lines",
                          "n_separate_date_3d_lines", "n_unpriced_3d_lines",
                          "noncompliant_allowed_usd") if c in summary.columns]
    compliance = (
        summary.loc[known == pid]
        .groupby("period", as_index=False)[counts].sum()
        .sort_values("period")
        .reset_index(drop=True)
    )
    p = impact.practices.loc[impact.practices["practice_id"].astype(str) == pid]
    dollars = (
        p.groupby("policy", sort=False)
        .agg(revenue_without_usd=("revenue_without_usd", "sum"),
             loss_usd=("loss_usd", "sum"),
             loss_year1_usd=("loss_usd", lambda v: float(v.iloc[0])),
             net_margin_loss_usd=("net_margin_loss_usd", "sum"))
        .reset_index()
        .assign(loss_share=lambda d: d["loss_usd"] / d["revenue_without_usd"].where(
            d["revenue_without_usd"] > 0))
        .rename(columns={"revenue_without_usd": "revenue_without_horizon_usd",
                         "loss_usd": "loss_horizon_usd",
                         "net_margin_loss_usd": "net_margin_loss_horizon_usd"})
    )
    suppressed = privacy is not None and privacy.min_cell_count > 1 and pid in set(
        hidden_practices(screen, settings=privacy))
    return Scorecard(pid, position, row[screen_cols].reset_index(drop=True), flags,
                     compliance, dollars, suppressed)


#: CHEERS 2022 items (Husereau et al. 2022) that apply to a budget-impact report.
_CHEERS = (
    (5, "Study population", "population"),
    (6, "Setting and location", "setting"),
    (7, "Comparators", "comparators"),
    (8, "Perspective", "perspective"),
    (9, "Time horizon", "horizon"),
    (10, "Discount rate", "discount"),
    (14, "Measurement and valuation of resources and costs", "costs"),
    (15, "Currency, price date, and conversion", "currency"),
    (16, "Rationale and description of model", "model"),
    (17, "Analytics and assumptions", "assumptions"),
    (18, "Characterizing heterogeneity", "heterogeneity"),
    (19, "Characterizing distributional effects", "distribution"),
    (20, "Characterizing uncertainty", "uncertainty"),
    (22, "Study parameters", "parameters"),
    (23, "Summary of main results", "results"),
    (24, "Effect of uncertainty", "uncertainty_effect"),
    (26, "Study findings, limitations, generalizability, and current knowledge",
     "limitations"),
)


def cheers_appendix(impact, *, screen=None, psa=None, n_practices: int | None = None,
                    periods: Sequence[str] = ()) -> pd.DataFrame:
    """The CHEERS 2022 items that apply to this report, and where each is answered.

    Parameters
    ----------
    impact : analysis.impact.ImpactResult
    screen : analysis.lcd.ScreenResult, optional
    psa : analysis.uncertainty.PSAResult, optional
    n_practices : int, optional
    periods : sequence of str
        Baseline periods of the claims.

    Returns
    -------
    DataFrame
        ``item, topic, how this report addresses it`` (CHEERS item numbers of the
        28-item 2022 checklist; items for health outcomes, engagement, funding and
        conflicts are outside a budget-impact calculator and are left to the
        committee's cover note).

    References
    ----------
    Husereau D, Drummond M, Augustovski F, et al. Consolidated Health Economic
    Evaluation Reporting Standards 2022 (CHEERS 2022) statement. Value Health
    2022;25(1):3-9.
    """
    a = impact.assumptions
    pols = ", ".join(p.name for p in impact.policies)
    payers = ", ".join(sorted({x for p in impact.policies for x in p.payers})) or "-"
    base = impact.base
    baseline = ", ".join(periods) or "-".join(map(str, base.get("periods", [])[:1]))
    text = {
        "population": f"{n_practices if n_practices is not None else base.get('n_practices')} "
                      "radiology practices (billing groups) and their CT/MR encounters with "
                      f"3D rendering (CPT 76376/76377) in the claims, baseline {baseline}.",
        "setting": "North Carolina commercial market (BCBS NC 3D bundling policy, 2024); "
                   "prices from the Medicare PFS with the NC locality GPCIs.",
        "comparators": f"Status quo (separate payment) versus: {pols}.",
        "perspective": "Practice revenue (primary); payer and patient perspectives "
                       "reported beside it.",
        "horizon": f"{a.horizon_years} year(s) from {a.start_date.isoformat()}, per year "
                   "(ISPOR budget-impact convention).",
        "discount": f"Undiscounted totals; present value at {a.discount_rate:.1%} shown "
                    "separately." if a.discount_rate else
                    "Undiscounted (budget-impact convention).",
        "costs": "Observed allowed amounts; missing ones priced from the Medicare PFS "
                 "(RVU x GPCI x conversion factor) times a payer multiplier; practice cost "
                 "avoided per rendering stopped.",
        "currency": "US dollars, nominal; fee schedule of the service year (2025 RVU file, "
                    f"conversion factor by date), fee update {a.fee_update:+.1%} per year after "
                    "year 1; no currency conversion.",
        "model": "Budget-impact calculator: world without vs. world with each policy, "
                 "per practice x payer from the additive claims summary.",
        "assumptions": "Assumption table with values, ranges, distributions and sources "
                       "(section 'Assumptions and sources').",
        "heterogeneity": "Results per practice (loss and loss share), per payer; LCD screen "
                         "per practice with volume-aware statistics.",
        "distribution": "Who loses most: practices ranked by loss and share of 3D revenue; "
                        f"payers affected: {payers}; patient cost sharing.",
        "uncertainty": "Named scenarios, one-way sensitivity (tornado) and probabilistic "
                       "sensitivity analysis with a convergence check"
                       + (f" ({psa.n_draws:,} draws)." if psa is not None else "."),
        "parameters": "Every parameter with base, low, high, distribution and source "
                      "(data/reference/impact_assumptions.csv).",
        "results": "Headline table: loss per year and over the horizon, per policy.",
        "uncertainty_effect": (
            f"{psa.level:.0%} interval of the horizon loss from the PSA; tornado of the "
            "parameters that move it most." if psa is not None else
            "Tornado of the parameters that move the loss most."),
        "limitations": "Section 'Limitations'; the LCD 20% test is a benchmark from a "
                       "retired LCD (L35408, 2015-10-01 to 2023-09-28).",
    }
    if screen is not None:
        text["heterogeneity"] += f" {screen.n_flagged} of {screen.n_screened} practices flagged."
    return pd.DataFrame(
        [{"item": n, "topic": topic, "how this report addresses it": text[key]}
         for n, topic, key in _CHEERS]
    )


# ------------------------------------------------------------------------- jobs


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
        Folder of its outputs inside the report folder.
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


def _notebooks(notebook_dir: Path, names: Sequence[str] | None) -> dict[str, Path]:
    available = {p.stem: p for p in sorted(notebook_dir.glob("*.ipynb"))}
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
    source = _source_hash()
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
                rel = f"{scenario.name}/{nb}" + (f"/{practice}" if practice else "")
                key = _sha256_text(json.dumps(
                    {"notebook": nb_hash[nb], "parameters": params, "inputs": inputs.key,
                     "source": source},
                    sort_keys=True, default=_json_default,
                ))
                effective = {k: p.default for k, p in params_decl.items()} | params
                if "inputs_dir" in params_decl and inputs.folder is not None:
                    params["inputs_dir"] = str(inputs.folder)
                jobs.append(Job(nb, scenario.name, practice, rel, params, key, str(path),
                                effective))
    return jobs


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _strip_for_html(nb):
    """A copy for the committee: no stderr streams, no code, no injected parameters."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [
            o for o in cell.get("outputs", [])
            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
        ]
    nb.cells = [c for c in nb.cells
                if "injected-parameters" not in c.get("metadata", {}).get("tags", [])
                and "parameters" not in c.get("metadata", {}).get("tags", [])]
    return nb


_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)
_EXTERNAL_LINK = re.compile(r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*/?>", re.I)
_MERMAID = re.compile(
    r"<script type=\"module\">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>", re.S
)


#: Added to every exported report: compact tables on screen, and a print layout
#: in which nothing is cut (no scroll containers; tables and figures fit the page;
#: each main section starts a new page).
REPORT_CSS = """
.rad3d-table{font-size:.86em;border-collapse:collapse;max-width:100%}
.rad3d-table th{white-space:normal;vertical-align:bottom;text-align:right}
.rad3d-table th:first-child,.rad3d-table td:first-child{text-align:left}
.rad3d-table caption{font-weight:600;text-align:left;caption-side:top;padding:2px 0}
.rad3d-note{color:#444;max-width:60em}
.jp-OutputArea-output img{max-width:100%;height:auto}
@media print{
  @page{size:A4;margin:14mm 12mm}
  body{font-size:10pt}
  .jp-OutputArea-output,.jp-RenderedHTMLCommon,.jp-Cell,.jp-OutputArea,
  .jp-Cell-outputWrapper,div{overflow:visible!important;max-height:none!important}
  table,.rad3d-table{width:100%!important;max-width:100%!important;table-layout:auto;
    font-size:8pt;page-break-inside:auto}
  th,td{white-space:normal!important;word-break:break-word;padding:2px 4px!important}
  tr,img,.rad3d-callout{page-break-inside:avoid;break-inside:avoid}
  img{max-width:100%!important;height:auto!important}
  h1,h2,h3{page-break-after:avoid;break-after:avoid}
  .jp-MarkdownCell h2{page-break-before:always;break-before:page}
  .jp-MarkdownCell:first-of-type h2{page-break-before:auto;break-before:auto}
  .rad3d-first h2{page-break-before:auto}
  ::-webkit-scrollbar{display:none}
}
"""


def export_html(nb, *, title: str) -> str:
    """Self-contained, code-free HTML of an executed notebook.

    nbconvert's lab template with ``exclude_input`` and embedded images; references to
    scripts and style sheets on the internet (require.js, MathJax) are removed so the
    page renders offline and fetches nothing. :data:`REPORT_CSS` is added (compact
    tables; ``@media print`` rules so that a printed PDF cuts nothing).
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    nb = _strip_for_html(nb)
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = _EXTERNAL_SCRIPT.sub("", body)
    body = _EXTERNAL_LINK.sub("", body)
    body = _MERMAID.sub("", body)
    style = f'<style type="text/css">{REPORT_CSS}</style>'
    body = body.replace("</head>", style + "\n</head>", 1) if "</head>" in body \
        else style + body
    return body


def _execute_job(job: dict[str, Any], stage: str) -> dict[str, Any]:
    """Run one notebook into ``stage/<rel_dir>`` (in a worker process)."""
    import nbformat
    import papermill as pm

    started = time.time()
    final = Path(stage) / job["rel_dir"]
    work = final.with_name(f".{final.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    params = dict(job["parameters"])
    params["output_dir"] = str(work)
    nb_name = job["notebook"]
    out_ipynb = work / f"{nb_name}.ipynb"
    status, error = "ok", None
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        pm.execute_notebook(
            job["notebook_path"], str(out_ipynb), parameters=params,
            kernel_name=KERNEL_NAME, progress_bar=False, log_output=False,
            cwd=str(work), execution_timeout=CELL_TIMEOUT_S,
        )
        if not (work / "results.json").is_file():
            status, error = "failed", "the notebook did not write results.json (no finish())"
    except pm.PapermillExecutionError as err:
        status = "failed"
        error = f"cell {err.exec_count}: {err.ename}: {err.evalue}"
    except Exception as err:  # kernel died, timeout, bad notebook: fail this job only
        status = "failed"
        error = f"{type(err).__name__}: {err}"
    html_name = f"{nb_name}.html"
    if out_ipynb.is_file():
        nb = nbformat.read(out_ipynb, as_version=4)
        # The output folder is a temporary path: record the final relative one.
        for cell in nb.cells:
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell.source = cell.source.replace(str(work), ".")
        nb.metadata.get("papermill", {}).get("parameters", {})["output_dir"] = "."
        if "papermill" in nb.metadata:
            nb.metadata["papermill"]["output_path"] = f"{nb_name}.ipynb"
        _atomic_write_text(out_ipynb, nbformat.writes(nb))
        title = job["label"]
        try:
            _atomic_write_text(work / html_name, export_html(nb, title=title))
        except Exception as err:  # an export failure fails the job, not the batch
            status = "failed"
            error = error or f"HTML export: {type(err).__name__}: {err}"
    finished = time.time()
    record = {
        **{k: job[k] for k in ("notebook", "scenario", "practice_id", "rel_dir", "key")},
        "status": status,
        "error": error,
        "html": html_name if (work / html_name).is_file() else None,
        "started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "finished_at": dt.datetime.fromtimestamp(finished, dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(finished - started, 2),
        "parameters": {k: v for k, v in job["parameters"].items()},
        "effective_parameters": job.get("effective_parameters", {}),
    }
    _write_json(work / "job.json", record)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)
    return record


def _job_files(folder: Path) -> dict[str, list[str]]:
    def rel(paths):
        return [p.relative_to(folder).as_posix() for p in sorted(paths)]

    return {
        "figures": rel((folder / "figures").glob("*.png")),
        "tables": rel((folder / "tables").glob("*.csv")),
        "workbooks": rel((folder / "tables").glob("*.xlsx")),
    }


# ---------------------------------------------------------------------- batches


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
    """

    out: Path
    index: Path
    records: list[dict[str, Any]]
    privacy_hits: pd.DataFrame
    published: bool
    seconds: float

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


def _git_info() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(PROJECT_DIR), *args], capture_output=True,
                                 text=True, timeout=20, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "note": "not a git checkout"}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status), "branch": git("rev-parse",
                                                                  "--abbrev-ref", "HEAD")}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("rad3d", "pandas", "numpy", "scipy", "matplotlib", "pyarrow", "papermill",
                 "nbconvert", "nbformat", "ipykernel", "jupyter_client", "openpyxl", "pyyaml",
                 "tqdm"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _check_kernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

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
        default the scenarios' or the bundled sample.
    out : path
        The report folder, replaced atomically.
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
        before any notebook runs.
    """
    t0 = time.time()
    started_at = _now()
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
    nb_paths = _notebooks(notebook_dir, notebooks)
    if not nb_paths:
        raise InputError("no notebooks found", file=notebook_dir)
    # A scenario is checked against every notebook of the folder, so that running a
    # subset (--notebooks) accepts the same scenario files.
    all_paths = _notebooks(notebook_dir, None)
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
        if not Path(c).is_file():
            raise InputError("claims file not found", file=c, column="--claims")
    privacy = {}
    for scenario in loaded:
        for nb in nb_paths:
            p = scenario.parameters_for(nb)
            settings = PrivacySettings(
                min_cell_count=p.get("min_cell_count", DEFAULT_MIN_CELL_COUNT),
                internal=bool(p.get("internal", False)),
            )
            privacy.setdefault(scenario.name, settings.to_dict())
    practice_arg = _parse_practices(practices)
    _check_kernel()

    # 2. shared inputs, once per distinct (claims, link window)
    prepared: dict[tuple, SharedInputs] = {}

    def inputs_for(scenario: Scenario) -> SharedInputs:
        p = scenario.parameters
        claim_files = claims_override or p.get("claims") or None
        window = int(p.get("link_window_days", 7))
        k = (json.dumps(claim_files), window)
        if k not in prepared:
            prepared[k] = prepare_inputs(claim_files, link_window_days=window,
                                         cache_dir=cache_dir)
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

    # 3. execute into a staging folder next to the final one
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    os.chmod(stage, 0o777 & ~_UMASK)
    try:
        records = _run_jobs(jobs, stage, out if resume else None, workers=workers,
                            progress=progress, log_dir=cache_dir / "logs")
        identifiers: set[str] = set()
        for inputs in prepared.values():
            identifiers |= inputs.identifiers()
        finished_at = _now()
        manifest = _manifest(
            loaded, nb_paths, declared, prepared, records, privacy,
            started_at=started_at, finished_at=finished_at, workers=workers,
            practices=practice_arg,
        )
        _write_json(stage / "manifest.json", manifest)
        _write_json(stage / "results.json", _collect_results(stage, records))
        _atomic_write_text(stage / "index.html",
                           _index_html(stage, loaded, records, manifest))
        scrub_paths(stage, _path_replacements(
            stage=stage, out=out, cache_dir=cache_dir.resolve(), prepared=prepared.values(),
            scenarios=loaded, notebooks=nb_paths.values()))
        hits = scan_for_identifiers(stage, identifiers)
        if len(hits):
            shutil.rmtree(stage, ignore_errors=True)
            return BatchResult(out, out / "index.html", records, hits, False,
                               time.time() - t0)
        _publish(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return BatchResult(out, out / "index.html", records, pd.DataFrame(columns=["file",
                       "identifier"]), True, time.time() - t0)


_TEXT_SUFFIXES = frozenset({".json", ".ipynb", ".html", ".csv", ".md", ".txt", ".log"})


def _path_replacements(*, stage: Path, out: Path, cache_dir: Path,
                       prepared: Iterable[SharedInputs],
                       scenarios: Iterable[Scenario],
                       notebooks: Iterable[Path] = ()) -> list[tuple[str, str]]:
    """Absolute local paths and what a shared report says instead.

    A report folder travels (a zip to a committee): it names files by their name
    and SHA-256, folders relative to itself or to the project, never by where they
    sat on the machine that ran it.
    """
    pairs: dict[str, str] = {}

    def add(path: Any, text: str) -> None:
        if not path:
            return
        for variant in {str(path), str(Path(path).resolve())}:
            if os.path.isabs(variant) and len(variant) > 1:
                pairs.setdefault(variant, text)

    for shared in prepared:
        if shared.folder is not None:
            add(shared.folder, f"rad3d-cache/{Path(shared.folder).name}")
        for c in shared.info.get("claims", []):
            p = Path(c["path"])
            rel = _project_relative(p)
            add(p, rel if rel else p.name)
    add(cache_dir, "rad3d-cache")
    for scenario in scenarios:
        if scenario.source:
            rel = _project_relative(Path(scenario.source))
            add(scenario.source, rel if rel else Path(scenario.source).name)
    for nb in notebooks:
        add(nb, f"notebooks/{Path(nb).name}")
        add(Path(nb).parent, "notebooks")
    add(stage, ".")
    add(out, ".")
    add(PROJECT_DIR, ".")
    out_pairs = []
    for k, v in pairs.items():
        # "<project>/notebooks/x.ipynb" -> "notebooks/x.ipynb"; "<cache>/k" -> "rad3d-cache/k"
        out_pairs.append((k + "/", "" if v == "." else v + "/"))
        out_pairs.append((k, v))
    return sorted(out_pairs, key=lambda kv: -len(kv[0]))


def _project_relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_DIR.resolve()).as_posix()
    except ValueError:
        return ""


def scrub_paths(folder: str | Path, replacements: Sequence[tuple[str, str]]) -> int:
    """Replace absolute local paths in every text file under ``folder``.

    Returns
    -------
    int
        The number of files changed.
    """
    changed = 0
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.suffix.lower() not in _TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = text
        for old, repl in replacements:
            if old in new:
                new = new.replace(old, repl)
        if new != text:
            _atomic_write_bytes(path, new.encode("utf-8", errors="surrogateescape"))
            changed += 1
    return changed


def _publish(stage: Path, out: Path) -> None:
    """Swap the finished folder in: the old one is moved aside, then removed."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        os.replace(out, old / "report")
    os.replace(stage, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _reusable(job: Job, previous: Path | None) -> bool:
    if previous is None:
        return False
    record = previous / job.rel_dir / "job.json"
    if not record.is_file():
        return False
    try:
        data = json.loads(record.read_text())
    except ValueError:
        return False
    return data.get("status") == "ok" and data.get("key") == job.key


def _worker_init(log_dir: str) -> None:
    """Send this worker's (and its kernels') stderr to a log file."""
    if not log_dir:
        return
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(log_dir) / f"worker-{os.getpid()}.log",
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def _run_jobs(
    jobs: Sequence[Job], stage: Path, previous: Path | None, *, workers: int,
    progress: bool | None, log_dir: Path | None = None,
) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm

    records: dict[int, dict[str, Any]] = {}
    todo = []
    for i, job in enumerate(jobs):
        if _reusable(job, previous):
            shutil.copytree(previous / job.rel_dir, stage / job.rel_dir)
            record = json.loads((stage / job.rel_dir / "job.json").read_text())
            records[i] = {**record, "status": "reused"}
        else:
            todo.append(i)
    payload = {i: {**jobs[i].to_dict(), "label": jobs[i].label} for i in todo}
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="rad3d report",
               unit="notebook", disable=None if progress is None else not progress,
               file=sys.stderr)

    def done(i: int, record: dict[str, Any]) -> None:
        records[i] = record
        bar.update(1)
        if record["status"] == "failed":
            bar.write(f"FAILED {jobs[i].label}: {record['error']}", file=sys.stderr)

    try:
        if todo:
            # Worker processes even for one worker: the kernels' own stderr chatter
            # goes to a log file, not over the progress bar.
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(
                max_workers=min(workers, len(todo)), mp_context=ctx,
                initializer=_worker_init, initargs=(str(log_dir) if log_dir else "",),
            ) as pool:
                futures = {pool.submit(_execute_job, payload[i], str(stage)): i for i in todo}
                for fut in cf.as_completed(futures):
                    i = futures[fut]
                    try:
                        record = fut.result()
                    except Exception as err:  # a worker crashed: fail this job only
                        record = {**{k: payload[i][k] for k in ("notebook", "scenario",
                                     "practice_id", "rel_dir", "key")},
                                  "status": "failed", "html": None,
                                  "error": f"{type(err).__name__}: {err}",
                                  "traceback": traceback.format_exc(limit=3)}
                    done(i, record)
    finally:
        bar.close()
    out = []
    for i in range(len(jobs)):
        record = dict(records[i])
        folder = stage / jobs[i].rel_dir
        record.update(_job_files(folder) if folder.is_dir() else {})
        results = folder / "results.json"
        record["results"] = "results.json" if results.is_file() else None
        if folder.is_dir() and record["status"] in ("ok", "reused"):
            _write_json(folder / "manifest.json", _job_manifest(jobs[i], record))
            record["manifest"] = "manifest.json"
        out.append(record)
    return out


def _job_manifest(job: Job, record: Mapping[str, Any]) -> dict[str, Any]:
    params = {**dict(job.effective_parameters), **dict(job.parameters)}
    params.pop("output_dir", None)
    inputs_hashes = {}
    if params.get("inputs_dir"):
        info_path = Path(params["inputs_dir"]) / "inputs.json"
        if info_path.is_file():
            info = json.loads(info_path.read_text())
            inputs_hashes = {
                **{c["path"]: c["sha256"] for c in info.get("claims", [])},
                **info.get("reference", {}),
                **{f"prepared/{k}": v for k, v in info.get("files", {}).items()},
            }
        params["inputs_dir"] = "(prepared shared inputs; see inputs in manifest)"
    return {
        "notebook": job.notebook, "scenario": job.scenario,
        "practice_id": job.practice_id or None,
        "notebook_sha256": sha256_file(job.notebook_path),
        "parameters": params, "seed": params.get("seed"),
        "inputs_sha256": inputs_hashes, "resume_key": job.key,
        "status": record["status"], "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"), "seconds": record.get("seconds"),
        "git": _git_info(), "versions": _versions(),
    }


def _manifest(scenarios, nb_paths, declared, prepared, records, privacy, *, started_at,
              finished_at, workers, practices) -> dict[str, Any]:
    inputs = []
    for shared in prepared.values():
        info = dict(shared.info)
        inputs.append({
            "key": info.get("key"), "claims": info.get("claims"),
            "link_window_days": info.get("link_window_days"),
            "reference_sha256": info.get("reference"),
            "prepared_sha256": info.get("files"), "rows": info.get("rows"),
            "claims_report": info.get("claims_report"),
        })
    seeds = sorted({r["effective_parameters"].get("seed") for r in records
                    if (r.get("effective_parameters") or {}).get("seed") is not None}, key=str)
    return {
        "tool": "rad3d report",
        "started_at": started_at,
        "finished_at": finished_at,
        "git": _git_info(),
        "versions": _versions(),
        "source_sha256": _source_hash(),
        "workers": workers,
        "practices": practices,
        "seed": seeds[0] if len(seeds) == 1 else seeds,
        "privacy": privacy,
        "scenarios": [
            {**s.to_dict(), "sha256": sha256_file(s.source) if s.source else None}
            for s in scenarios
        ],
        "notebooks": {
            n: {"path": f"notebooks/{p.name}", "sha256": sha256_file(p),
                "parameters": {k: v.to_dict() for k, v in declared[n].items()}}
            for n, p in nb_paths.items()
        },
        "inputs": inputs,
        "jobs": [
            {k: r.get(k) for k in ("scenario", "notebook", "practice_id", "rel_dir", "status",
                                   "error", "seconds", "started_at", "finished_at", "key")}
            for r in records
        ],
        "failures": [r["rel_dir"] for r in records if r["status"] == "failed"],
    }


def _collect_results(stage: Path, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    runs = []
    for r in records:
        path = stage / r["rel_dir"] / "results.json"
        entry = {k: r.get(k) for k in ("scenario", "notebook", "practice_id", "status",
                                       "rel_dir")}
        if path.is_file():
            entry["headline"] = json.loads(path.read_text()).get("headline", {})
        runs.append(entry)
    return {"runs": runs}


# ------------------------------------------------------------------- index.html


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.8em;
border-bottom:1px solid #ccc} table{border-collapse:collapse;margin:.6em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2} .num{text-align:right} .failed{color:#b35806;font-weight:bold}
.internal{border:2px solid #b35806;padding:6px;margin:1em 0} .muted{color:#666}
.data{border:2px solid #E69F00;background:#FFF6E0;padding:8px 12px;margin:1em 0}
.kpi{display:inline-block;border:1px solid #ccc;border-radius:4px;padding:6px 12px;
margin:4px;min-width:14em} .kpi b{display:block;font-size:1.3em}
"""


def _a(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def _index_html(stage: Path, scenarios: Sequence[Scenario],
                records: Sequence[Mapping[str, Any]], manifest: Mapping[str, Any]) -> str:
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>rad3d report — 3D rendering (CPT 76376/76377)</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>3D rendering (CPT 76376/76377): revenue impact and LCD-benchmark screen</h1>",
        f'<p class="muted">Run {html.escape(manifest["started_at"])} – '
        f'{html.escape(manifest["finished_at"])}; '
        f'rad3d {html.escape(str(manifest["versions"]["rad3d"]))}'
        f'; commit {html.escape(str(manifest["git"].get("commit") or "n/a")[:12])}'
        f'{" (uncommitted changes)" if manifest["git"].get("dirty") else ""}. '
        f'{_a("manifest.json", "Provenance (manifest.json)")} · '
        f'{_a("results.json", "All headline numbers (results.json)")}</p>',
    ]
    for entry in manifest.get("inputs", []):
        parts.append('<p class="data"><b>Data.</b> '
                     f"{html.escape(data_statement(entry))}</p>")
    if any(p.get("internal") for p in manifest["privacy"].values()):
        parts.append('<p class="internal"><b>INTERNAL RUN — not for sharing.</b> The '
                     "small-cell threshold was lowered; see manifest.json.</p>")
    failures = [r for r in records if r["status"] == "failed"]
    if failures:
        items = "".join(
            f"<li>{html.escape(r['rel_dir'])}: {html.escape(str(r.get('error')))}"
            + (f" ({_a(r['rel_dir'] + '/' + r['html'], 'notebook with the error')})"
               if r.get("html") else "") + "</li>"
            for r in failures
        )
        parts.append(f'<h2 class="failed">{len(failures)} run(s) failed</h2><ul>{items}</ul>')
    by_scenario: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        by_scenario.setdefault(r["scenario"], []).append(r)
    for scenario in scenarios:
        recs = by_scenario.get(scenario.name, [])
        parts.append(f"<h2>Scenario: {html.escape(scenario.title or scenario.name)} "
                     f'<span class="muted">({html.escape(scenario.name)})</span></h2>')
        if scenario.description:
            parts.append(f"<p>{html.escape(scenario.description)}</p>")
        kpis = _key_numbers(stage, recs)
        if kpis:
            parts.append("<div>" + "".join(
                f'<div class="kpi">{html.escape(label)}<b>{html.escape(value)}</b></div>'
                for label, value in kpis) + "</div>")
        parts.append("<table><thead><tr><th>report</th><th>practice</th><th>status</th>"
                     "<th>figures</th><th>tables</th><th>data</th></tr></thead><tbody>")
        for r in recs:
            base = r["rel_dir"] + "/"
            name = r["notebook"].replace("_", " ")
            link = _a(base + r["html"], name) if r.get("html") else html.escape(name)
            figs = " ".join(_a(base + f, Path(f).stem) for f in r.get("figures", []))
            tabs = " ".join(_a(base + f, Path(f).stem) for f in r.get("tables", []))
            data = " ".join(
                [_a(base + f, "Excel") for f in r.get("workbooks", [])]
                + ([_a(base + "results.json", "results")] if r.get("results") else [])
                + ([_a(base + "manifest.json", "manifest")] if r.get("manifest") else [])
                + ([_a(base + r["notebook"] + ".ipynb", "notebook")]
                   if (stage / base / f"{r['notebook']}.ipynb").is_file() else [])
            )
            status = ('<span class="failed">failed</span>' if r["status"] == "failed"
                      else html.escape(r["status"]))
            parts.append(
                f"<tr><td>{link}</td><td>{html.escape(r.get('practice_id') or '')}</td>"
                f"<td>{status}</td><td>{figs}</td><td>{tabs}</td><td>{data}</td></tr>"
            )
        parts.append("</tbody></table>")
    privacy = next(iter(manifest["privacy"].values()), {})
    parts.append(
        '<p class="muted">Counts from 1 to '
        f"{int(privacy.get('min_cell_count', DEFAULT_MIN_CELL_COUNT)) - 1} and figures that "
        "would reveal them are suppressed (shown as *). No patient identifiers appear in "
        "this folder. The 20% test is a benchmark drawn from the retired Novitas LCD "
        "L35408 (effective 2015-10-01, retired 2023-09-28), not an active Medicare rule.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _key_numbers(stage: Path, recs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The headline numbers of the scenario's policy brief (else of its first report)."""
    order = sorted(recs, key=lambda r: (r["notebook"] != "policy_brief", r["rel_dir"]))
    for r in order:
        path = stage / r["rel_dir"] / "results.json"
        if r["status"] == "failed" or not path.is_file() or r.get("practice_id"):
            continue
        heads = json.loads(path.read_text()).get("headline", {})
        return [
            (h.get("label") or k,
             MARKER if h.get("suppressed") else _fmt_headline(h.get("value"), h.get("unit", "")))
            for k, h in list(heads.items())[:8]
        ]
    return []
