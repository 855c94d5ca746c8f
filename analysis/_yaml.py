"""Reading a small YAML file a person wrote (scenario files), with limits.

``yaml.safe_load`` builds no objects, but it expands aliases (a "billion laughs" file
of a few hundred bytes becomes gigabytes), reads a file of any size and hands a
million-digit integer to ``int``. :func:`load_yaml_file` reads at most
:data:`MAX_YAML_BYTES`, refuses aliases and numbers longer than
:data:`MAX_NUMBER_CHARS` characters, and turns every problem into one
:class:`~analysis.errors.InputError` naming the file and line.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from analysis.errors import InputError

__all__ = ["MAX_NUMBER_CHARS", "MAX_YAML_BYTES", "load_yaml_file"]

MAX_YAML_BYTES = 1_000_000
"""Largest YAML file read (a scenario file is a few hundred bytes)."""

MAX_NUMBER_CHARS = 100
"""Longest number literal accepted (a float64 has 17 significant digits)."""


class _Refused(Exception):
    def __init__(self, message: str, mark) -> None:
        super().__init__(message)
        self.line = None if mark is None else mark.line + 1


class _LimitedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses aliases and overlong number literals."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(f"YAML aliases (*{event.anchor}) are not accepted; write the "
                           "value out", event.start_mark)
        return super().compose_node(parent, index)


def _number(construct):
    def checked(loader, node):
        if len(node.value) > MAX_NUMBER_CHARS:
            raise _Refused(f"a number of {len(node.value):,} characters; at most "
                           f"{MAX_NUMBER_CHARS} are accepted", node.start_mark)
        return construct(loader, node)
    return checked


_LimitedLoader.add_constructor("tag:yaml.org,2002:int",
                               _number(yaml.SafeLoader.construct_yaml_int))
_LimitedLoader.add_constructor("tag:yaml.org,2002:float",
                               _number(yaml.SafeLoader.construct_yaml_float))


def load_yaml_file(path: str | PathLike[str]) -> Any:
    """The content of a YAML file (``None`` when it holds no document).

    Raises
    ------
    InputError
        The file is larger than :data:`MAX_YAML_BYTES`, not UTF-8, not valid YAML,
        nested too deeply, or uses an alias or an overlong number.
    """
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise InputError(f"larger than {MAX_YAML_BYTES:,} bytes; a YAML file of "
                         "parameters is a few hundred", file=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise InputError(f"is not UTF-8 text (byte 0x{data[err.start]:02X}); save it as "
                         "UTF-8", file=path, row=line) from None
    try:
        return yaml.load(text, Loader=_LimitedLoader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as err:
        raise InputError(str(err), file=path, row=err.line) from None
    except RecursionError:
        raise InputError("nested too deeply to be a file of parameters", file=path) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = " ".join(str(getattr(err, "problem", None) or err).split())[:200]
        raise InputError(f"not valid YAML: {problem}", file=path,
                         row=None if mark is None else mark.line + 1) from None
