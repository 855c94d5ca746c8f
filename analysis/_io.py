"""File output shared by every writer: atomic writes, standard JSON, SHA-256, CSV.

Every file rad3d writes goes through :func:`write_atomic`, so no reader ever sees a
half-written file under its final name; every JSON file through :func:`dumps_json`,
so NaN and infinity become ``null`` and the file is standard JSON; and every table
written as CSV through :func:`spreadsheet_safe` (as Excel, :mod:`analysis.report.excel`,
through :func:`inert_text`), so that no text cell (a practice id from a claims file, a
quarantined row) is run as a spreadsheet formula.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

__all__ = [
    "dumps_json",
    "frame_to_csv",
    "inert_text",
    "json_default",
    "sha256_file",
    "sha256_text",
    "spreadsheet_safe",
    "write_atomic",
    "write_bytes",
    "write_csv",
    "write_json",
    "write_text",
]

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_atomic(path: str | PathLike[str], write: Callable[[str], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    The rename is atomic on one file system, so no reader ever sees a half-written
    file under the final name; on any error the temporary file is removed. The file
    gets the permissions of the umask (``mkstemp`` alone would make it 0600, and a
    shared report must be readable). Missing parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_bytes(path: str | PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def write_text(path: str | PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically, as UTF-8."""
    return write_bytes(path, text.encode("utf-8"))


def json_default(obj: Any) -> Any:
    """JSON form of the numpy, pandas and standard-library values rad3d results hold."""
    # numpy and pandas are imported here, not at the top, so that the CLI's fast
    # paths (``rad3d --help``) can import this module without them.
    import numpy as np
    import pandas as pd

    if obj is pd.NaT:  # before the datetime test: NaT is a datetime whose isoformat is "NaT"
        return None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
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


def _finite(obj: Any) -> Any:
    """NaN/inf -> None, recursively, so the JSON is standard."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def dumps_json(obj: Any, *, indent: int | None = 2) -> str:
    """Standard JSON text of ``obj`` (NaN and infinity as ``null``), ending in a newline.

    >>> dumps_json({"a": float("nan"), "b": (1, 2)}, indent=None)
    '{"a": null, "b": [1, 2]}\\n'
    """
    plain = json.loads(json.dumps(obj, default=json_default))
    return json.dumps(_finite(plain), indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: str | PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as standard JSON to ``path`` atomically."""
    return write_text(path, dumps_json(obj))


def sha256_file(path: str | PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    """SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# The characters an .xlsx cell cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE: the C0
# controls other than tab, line feed and carriage return).
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def inert_text(value: Any, *, excel: bool = False) -> Any:
    """``value`` as a spreadsheet shows it and never runs it: text beginning with ``=``,
    ``+``, ``-``, ``@``, tab or carriage return gets a leading single quote.

    Text that is a plain number (``-2``, ``+1.5e3``) cannot be a formula and is kept;
    anything that is not text is returned as it is, so numbers stay numbers. With
    ``excel=True`` the control characters an ``.xlsx`` cell cannot hold are replaced by
    U+FFFD.

    References
    ----------
    OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection).

    >>> [inert_text(v) for v in ["=SUM(A1)", "-2+3", "-2", "NC001", -2]]
    ["'=SUM(A1)", "'-2+3", '-2', 'NC001', -2]
    """
    if not isinstance(value, str):
        return value
    if excel:
        value = _NOT_IN_XLSX.sub("\ufffd", value)
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_safe(frame, *, excel: bool = False):
    """A copy of a DataFrame whose text cells and column names are :func:`inert_text`.

    Numeric, boolean and date columns are left alone; every CSV writer of rad3d writes
    through this function.
    """
    import pandas as pd

    out = frame.rename(columns=lambda c: inert_text(c, excel=excel))
    for i, dtype in enumerate(out.dtypes):
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype) \
                or isinstance(dtype, pd.CategoricalDtype):
            column = out.iloc[:, i].astype(object)
            out.isetitem(i, column.map(lambda v: inert_text(v, excel=excel)))
    return out


def frame_to_csv(frame, target) -> None:
    """Write a DataFrame as CSV without its index to a path or text buffer
    (:func:`spreadsheet_safe` first)."""
    spreadsheet_safe(frame).to_csv(target, index=False)


def write_csv(path: str | PathLike[str], frame) -> Path:
    """Write a DataFrame as CSV without its index to ``path`` atomically."""
    return write_atomic(path, lambda tmp: frame_to_csv(frame, tmp))
