"""Reading the CMS CSV files as CMS publishes them: decoded text and numbered records.

The relative value file (:mod:`analysis.pricing.rvu`) and the GPCI table
(:mod:`analysis.pricing.gpci`) both come with title lines before the header, may carry
a byte-order mark, Windows or Unix line ends, or have been re-saved from a spreadsheet
in Windows-1252. Both readers report problems by the line a text editor shows, so the
records keep their 1-based line numbers.
"""

from __future__ import annotations

import csv
import io
from os import PathLike
from pathlib import Path

from analysis.errors import InputError

__all__ = ["HEADER_SEARCH_LINES", "csv_records", "read_text"]

HEADER_SEARCH_LINES = 60
"""How many lines a reader searches for the header row before giving up."""


def read_text(path: str | PathLike[str], what: str) -> str:
    """The decoded text of ``path`` (UTF-8 with or without BOM, else Windows-1252).

    ``what`` names the kind of file in the :class:`~analysis.errors.InputError` raised
    when the file is missing or unreadable.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"file not found; give the path of a {what}", file=p) from None
    except OSError as err:
        raise InputError(f"cannot read the {what} ({err.strerror})", file=p) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace").lstrip("\ufeff")


def csv_records(text: str) -> list[tuple[int, list[str]]]:
    """``(1-based line number, cells)`` of every CSV record; any line-end style."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    start = 1
    for cells in reader:
        rows.append((start, cells))
        start = reader.line_num + 1
    return rows
