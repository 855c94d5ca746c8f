"""File output shared by every writer: atomic writes, standard JSON, SHA-256, Excel.

Every file rad3d writes goes through :func:`write_atomic`, so no reader ever sees a
half-written file under its final name, and every JSON file through :func:`dumps_json`,
so NaN and infinity become ``null`` and the file is standard JSON.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

__all__ = [
    "dumps_json",
    "excel_bytes",
    "json_default",
    "sha256_file",
    "sha256_text",
    "write_atomic",
    "write_bytes",
    "write_excel",
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


def _sheet_names(names) -> list[str]:
    """Excel sheet names: at most 31 characters and unique."""
    used: set[str] = set()
    out = []
    for name in names:
        sheet, i = str(name)[:31], 1
        while sheet in used:
            i += 1
            sheet = f"{str(name)[:28]}_{i}"
        used.add(sheet)
        out.append(sheet)
    return out


def excel_bytes(sheets: Mapping[str, Any]) -> bytes:
    """An ``.xlsx`` workbook with one sheet per ``{name: DataFrame}``, as bytes."""
    import pandas as pd

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for sheet, frame in zip(_sheet_names(sheets), sheets.values(), strict=True):
            frame.to_excel(xl, sheet_name=sheet, index=False)
    return buf.getvalue()


def write_excel(path: str | PathLike[str], sheets: Mapping[str, Any]) -> Path:
    """Write an ``.xlsx`` workbook of ``{sheet name: DataFrame}`` to ``path`` atomically."""
    return write_bytes(path, excel_bytes(sheets))
