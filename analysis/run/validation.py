"""Check a scenario's parameters against what the notebooks declare, before anything runs.

Every parameter of a scenario file must be declared by at least one notebook (in its
``parameters`` cell: :func:`analysis.report.notebook_parameters`), have the declared
type, lie in its range (:data:`analysis.ranges.RANGES`), and, when it names files, name
files that exist. A numeric parameter also accepts the words listed for it in
:data:`analysis.ranges.WORDS` (``stop_share: measured``). A problem is one
:class:`~analysis.errors.InputError` naming the scenario file, the parameter and the
value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.errors import InputError
from analysis.ranges import WORDS, check_range
from analysis.report.parameters import RESERVED, NotebookParameter

__all__ = ["validate_parameters"]

_FILE_PARAM = re.compile(r"(^claims$|_(file|path|dir|files|paths)$)")


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
        A reserved name, a name no notebook declares, a value of the wrong type or
        outside its range, or a file that does not exist.
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
            # a word a numeric parameter accepts (stop_share: measured) fits its type
            if not _matches(p.type_name, value) and value not in WORDS.get(name, ()):
                raise InputError(
                    f"wrong type: {nb} declares {name}: {p.type_name} ({p.help})",
                    file=source, column=name, value=value,
                )
        check_range(name, value, file=source)
        _check_files(name, value, source=source)

