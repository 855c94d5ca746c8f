"""What a notebook declares in its ``parameters`` cell, and the names the runner sets.

A report notebook's first code cell, tagged ``parameters``, holds one typed, commented
literal per line (papermill's convention)::

    threshold: float = 0.20  # LCD benchmark share of CT/MR encounters with 3D

:func:`notebook_parameters` reads that cell as papermill's ``--help-notebook`` does. The
runner checks scenario files against it; a notebook shows its own defaults beside the
scenario's values (:func:`analysis.report.scenario_overview`), so the reader lives here,
on the notebook side.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.errors import InputError
from analysis.paths import NOTEBOOK_DIR

__all__ = [
    "KERNEL_NAME",
    "RESERVED",
    "NotebookParameter",
    "notebook_defaults",
    "notebook_parameters",
]

KERNEL_NAME = "python3"
"""The Jupyter kernel every report notebook runs in."""

RESERVED = ("inputs_dir", "output_dir", "scenario_name", "scenario_title",
            "scenario_description", "practice_id")
"""Parameters set by ``rad3d report`` itself, never by a scenario file."""


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


def _parameters_cell(path: Path) -> str:
    """The source of the first cell tagged ``parameters`` (the notebook read as JSON)."""
    if not path.is_file():
        raise InputError("notebook not found", file=path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise InputError(f"not a notebook (invalid JSON: {err})", file=path) from err
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        if "parameters" in (cell.get("metadata") or {}).get("tags", []):
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else str(source)
    raise InputError("the notebook has no cell tagged 'parameters'", file=path)


def _read_parameters(path: Path, source: str) -> dict[str, NotebookParameter]:
    """Each ``name: type = literal  # help`` of the cell, as Python parses it."""
    try:
        body = ast.parse(source).body
        comments = {tok.start[0]: tok.string.lstrip("#").strip() for tok in
                    tokenize.generate_tokens(io.StringIO(source).readline)
                    if tok.type == tokenize.COMMENT}
    except (SyntaxError, tokenize.TokenError) as err:
        raise InputError(f"the parameters cell is not valid Python ({err})", file=path,
                         row=getattr(err, "lineno", None)) from err
    found = {}
    for node in body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
            type_name = ast.get_source_segment(source, node.annotation) or ""
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            type_name = ""
        else:
            continue
        try:
            default = ast.literal_eval(node.value)
        except (ValueError, SyntaxError, TypeError) as err:
            raise InputError(
                "a parameter's default must be a literal", file=path, column=names[0],
                value=ast.get_source_segment(source, node.value),
            ) from err
        help_text = comments.get(node.end_lineno, "")
        for name in names:
            found[name] = NotebookParameter(name, type_name, default, help_text)
    return found


def _check_papermill_reads(path: Path, found: dict[str, NotebookParameter]) -> None:
    """Raise unless papermill reads the parameters cell as Python does: papermill is
    what injects the scenario's values into the notebook."""
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    read = {p.name: p for p in _infer_parameters(load_notebook_node(str(path)),
                                                 name=KERNEL_NAME, language="python")}
    missing = [n for n in found if n not in read]
    if missing:
        raise InputError(
            "papermill cannot read these parameters (one assignment per line, no '=' "
            "in the comment)",
            file=path,
            column=", ".join(missing),
        )
    for name, mine in found.items():
        theirs = read[name]
        type_name = "" if theirs.inferred_type_name in ("None", None) else theirs.inferred_type_name
        try:
            default = ast.literal_eval(theirs.default)
        except (ValueError, SyntaxError):
            default = theirs.default
        if (type_name, default, theirs.help or "") != (mine.type_name, mine.default, mine.help):
            raise InputError(
                "papermill reads this parameter differently from Python (write it as "
                "'name: type = literal  # help' on one line)",
                file=path, column=name,
                value=f"{theirs.inferred_type_name} = {theirs.default}  # {theirs.help}",
            )


def notebook_parameters(path: str | Path, *, check_papermill: bool = True
                        ) -> dict[str, NotebookParameter]:
    """The parameters a notebook declares, as papermill's ``--help-notebook`` shows them.

    Reads the cell tagged ``parameters`` with :mod:`ast` (each top-level assignment;
    its annotation, literal default and trailing comment). With ``check_papermill``
    (the default, and what the report runner does before anything runs) papermill's own
    inspection must read the same names, types, defaults and help, so that a parameter
    papermill could not set (e.g. a help comment containing ``=``) is an error, not a
    silent omission.

    Parameters
    ----------
    path : path
        The ``.ipynb`` file.
    check_papermill : bool
        ``False`` skips papermill (seconds to import, through nbformat): for a notebook
        reading its own defaults in a run the runner has already checked.

    Raises
    ------
    InputError
        No such notebook, no ``parameters`` cell, a default that is not a literal, or a
        parameter papermill cannot read (as Python does).
    """
    path = Path(path)
    found = _read_parameters(path, _parameters_cell(path))
    if check_papermill:
        _check_papermill_reads(path, found)
    return found


def notebook_defaults(notebook: str, *, notebook_dir: str | Path | None = None
                      ) -> dict[str, NotebookParameter]:
    """The parameters ``notebooks/<notebook>.ipynb`` declares (defaults and help)."""
    folder = Path(notebook_dir) if notebook_dir else NOTEBOOK_DIR
    # Called in the notebook's own kernel, in a run whose parameters the runner has
    # checked with papermill (rad3d report) or that papermill itself parameterized.
    return notebook_parameters(folder / f"{notebook}.ipynb", check_papermill=False)
