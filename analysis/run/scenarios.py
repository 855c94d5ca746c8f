"""Scenario files: a named set of notebook parameters (``notebooks/params/<name>.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis._yaml import load_yaml_file
from analysis.errors import InputError
from analysis.report.writer import SAFE_NAME

__all__ = ["Scenario", "load_scenario"]


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
        if not isinstance(self.name, str) or not SAFE_NAME.match(self.name):
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
        Missing or empty file, invalid YAML (or beyond the limits of
        :func:`analysis._yaml.load_yaml_file`: size, aliases, overlong numbers), or
        unknown top-level keys.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("is a directory; name the scenario files in it (e.g. DIR/*.yaml)",
                         file=path)
    if not path.is_file():
        raise InputError("scenario file not found", file=path)
    data = load_yaml_file(path)
    if data is None:
        raise InputError("the scenario file is empty; give at least its parameters (see "
                         "notebooks/params/base.yaml)", file=path)
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

