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
    # papermill (through nbformat) takes seconds to import; `rad3d lcd` and `rad3d
    # impact` import this package for its label table and workbooks, never for this.
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


def notebook_defaults(notebook: str, *, notebook_dir: str | Path | None = None
                      ) -> dict[str, NotebookParameter]:
    """The parameters ``notebooks/<notebook>.ipynb`` declares (defaults and help)."""
    folder = Path(notebook_dir) if notebook_dir else NOTEBOOK_DIR
    return notebook_parameters(folder / f"{notebook}.ipynb")
