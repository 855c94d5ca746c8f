"""The Excel workbooks of rad3d, laid out like CMS's PEPPER workbooks, by one function.

Every ``.xlsx`` rad3d writes -- a report notebook's (:meth:`ReportWriter.finish`, one per
report and one per practice scorecard) and those of ``rad3d lcd``, ``rad3d impact`` and
``rad3d puf`` -- is written by :func:`workbook_bytes` (:func:`write_workbook` writes it
to a file), so every workbook has the same sheets:

``Cover``
    The title, scenario, data statement, date and suppression rule, then the contents:
    each table's sheet, linked, with its caption.
one sheet per table
    A bold header row of human headings with units (:mod:`analysis.report.labels`),
    frozen, with an autofilter; widths that fit; and a number format chosen from the
    unit the column's name carries (:func:`column_unit`): dollars as ``$#,##0``
    (``$#,##0.00`` for a price per unit), rates and shares as ``0.0%``, p- and q-values
    as ``0.0000``, counts as ``#,##0``, dates as dates.
``Definitions``
    Every column: its heading, its name in the CSV files, its unit and the sheets it is
    in; then the definitions and rules of the report.

A column of numbers holds numbers and empty cells, nothing else. A suppressed cell
(``suppressed``) is left empty, shaded grey, with a comment saying why; the CSV tables
show it as ``*``. Text is written inert (:func:`analysis._io.inert_text`): no cell is
a formula.

References
----------
CMS, PEPPER (Program for Evaluating Payment Patterns Electronic Report) user's guides
and workbooks, https://pepper.cbrpepper.org/.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from analysis._io import inert_text, write_bytes
from analysis.report.labels import COLUMN_LABELS, header

__all__ = [
    "COVER_SHEET",
    "DEFINITIONS_SHEET",
    "UNITS",
    "Cover",
    "column_unit",
    "heading_unit",
    "workbook_bytes",
    "write_workbook",
]

COVER_SHEET = "Cover"
DEFINITIONS_SHEET = "Definitions"

#: Unit -> (Excel number format, the unit in words for the Definitions sheet).
UNITS: dict[str, tuple[str, str]] = {
    "usd": ('"$"#,##0', "US dollars"),
    "usd_each": ('"$"#,##0.00', "US dollars per unit"),
    "share": ("0.0%", "share, shown as a percentage"),
    "percent": ('0.0"%"', "percent"),
    "probability": ("0.0000", "probability (0 to 1)"),
    "count": ("#,##0", "count"),
    "count_fraction": ("#,##0.0", "count (fractional: expected, estimated or Medicare "
                                  "services)"),
    "date": ("yyyy-mm-dd", "date"),
    "number_id": ("0", "number (a year, code or identifier)"),
    "number": ("#,##0.00", "number"),
    "number_small": ("General", "number"),
    "integer": ("#,##0", "whole number"),
    "yes_no": ("General", "yes / no (TRUE or FALSE)"),
    "text": ("General", "text"),
    "mixed": ("General", "values of several kinds (see each row)"),
}

_SHARE_TOKENS = {"rate", "share", "prob", "ci", "limit", "percentile", "rel",
                 "hi95", "hi998", "lo95", "lo998"}
_COUNT_TOKENS = {"n", "units", "lines", "encounters", "services", "benes", "claims",
                 "count", "patients", "renderings", "rows", "cells", "draws", "practices",
                 "providers", "npis"}
_ID_TOKENS = {"year", "seed", "draw", "npi", "code", "id", "item", "row", "fips", "zip"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
_SUPPRESSED_FILL = PatternFill("solid", fgColor="D9D9D9")
_HEAD_BORDER = Border(bottom=Side(style="thin", color="808080"))
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_MAX_WIDTH = 60
_HEADING_WIDTH = 24  # headings longer than this wrap onto a second line


def column_unit(name: object) -> str:
    """The unit a column's name carries (the snake_case vocabulary), or ``""``.

    ``usd`` (a token ``usd``; ``usd_each`` with a token ``per``: a price per unit),
    ``probability`` (``p_value``, ``q_value``), ``percent`` (``*_pct``: already times
    100), ``share`` (rates, shares, probabilities, interval and funnel limits,
    percentiles: fractions of 1), ``count`` (``n_*``, units, lines, encounters,
    services ...; not a ratio ``per``), ``date`` (a token ``date``).

    >>> [column_unit(c) for c in ["loss_usd", "usd_per_3d", "q_value", "ci_low", "n_3d"]]
    ['usd', 'usd_each', 'probability', 'share', 'count']
    >>> [column_unit(c) for c in ["fit_error_low_pct", "funnel_z", "n_separate_date_3d_lines"]]
    ['percent', '', 'count']
    """
    text = str(name).lower()
    tokens = set(text.split("_"))
    if "usd" in tokens:
        return "usd_each" if "per" in tokens else "usd"
    if text in ("p", "q") or "p_value" in text or "q_value" in text:
        return "probability"
    if "pct" in tokens:
        return "percent"
    if tokens & _SHARE_TOKENS:
        return "share"
    if tokens & _COUNT_TOKENS and "per" not in tokens:
        return "count"
    if "date" in tokens:
        return "date"
    return ""


_HEADING_UNITS = {"($)": "usd", "(%)": "share", "(count)": "count"}


def heading_unit(heading: str) -> str:
    """The unit a shown heading states in its closing bracket (the label table's
    convention: ``($)`` dollars, ``(%)`` a share shown as a percentage, ``(count)``),
    or ``""``.

    >>> [heading_unit(h) for h in ["Swing ($)", "Rate (%)", "Excess 3D (count)", "Seed"]]
    ['usd', 'share', 'count', '']
    """
    text = str(heading).rstrip()
    return next((u for mark, u in _HEADING_UNITS.items() if text.endswith(mark)), "")


@dataclass(frozen=True)
class Cover:
    """What the cover sheet says.

    Attributes
    ----------
    title : str
    scenario : str
        The scenario (title and name), or the settings of a command.
    data : str
        The data statement (:func:`analysis.report.data_statement`).
    suppression : str
        The suppression rule, or that nothing is suppressed.
    date : datetime.date, optional
        The date the workbook was written (default: today, UTC).
    lines : tuple of (label, text)
        Further lines after the suppression rule (the practice, an internal run ...).
    """

    title: str
    scenario: str = ""
    data: str = ""
    suppression: str = ""
    date: dt.date | None = None
    lines: tuple[tuple[str, str], ...] = ()


# ----------------------------------------------------------------------- values


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float | np.floating) and not math.isfinite(float(v))


def _plain(v: Any) -> Any:
    """A cell value openpyxl writes natively (numpy and pandas scalars made Python)."""
    if _is_missing(v):
        return None
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(v)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return ts.date() if ts == ts.normalize() else ts.to_pydatetime()
    if isinstance(v, np.datetime64):
        return _plain(pd.Timestamp(v))
    return v


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _kind(name: str, values: list[Any], heading: str = "") -> str:
    """The unit of one column as written: for numbers from its name, else from the unit
    its heading states (a column named without its unit, such as a tornado's
    ``swing``, shown as "Swing ($)"); otherwise what its values are (:data:`UNITS`)."""
    present = [v for v in values if v is not None]
    named = column_unit(name) or heading_unit(heading)
    if not present:
        return "text" if named in ("", "date") else named
    if all(isinstance(v, bool) for v in present):
        return "yes_no"
    if all(isinstance(v, dt.date) for v in present):
        return "date"
    if all(isinstance(v, str) for v in present):
        return "date" if all(_ISO_DATE.match(v) for v in present) else "text"
    if not all(_is_number(v) for v in present):
        return "mixed"
    unit = named
    whole = all(float(v).is_integer() for v in present)
    if unit == "count":
        return "count" if whole else "count_fraction"
    if unit and unit != "date":
        return unit
    if whole:
        return "number_id" if set(name.lower().split("_")) & _ID_TOKENS else "integer"
    small = any(0 < abs(v) < 0.01 for v in present)
    return "number_small" if small else "number"


def _values(name: str, column: pd.Series, hidden: pd.Series | None, heading: str = ""
            ) -> tuple[list, str]:
    """The column's cells as written (suppressed cells empty) and its unit."""
    values = [_plain(v) for v in column.tolist()]
    if hidden is not None:
        values = [None if h else v for v, h in zip(values, hidden.tolist(), strict=True)]
    kind = _kind(name, values, heading)
    if kind == "date":
        values = [dt.date.fromisoformat(v) if isinstance(v, str) else v for v in values]
    elif kind in ("text", "mixed"):
        values = [inert_text(v, excel=True) if isinstance(v, str) else v for v in values]
    return values, kind


def _shown_length(v: Any, kind: str) -> int:
    """About how many characters a cell shows (for the column width)."""
    if v is None:
        return 0
    if isinstance(v, str):
        return max((len(line) for line in v.splitlines()), default=0)
    if kind == "date" or isinstance(v, dt.date):
        return 10
    if isinstance(v, bool):
        return 5
    x = float(v)
    if kind in ("share", "percent"):
        return len(f"{100 * x if kind == 'share' else x:.1f}%")
    if kind == "probability":
        return 6
    if kind in ("usd", "count", "integer"):
        return len(f"{x:,.0f}") + (1 if kind == "usd" else 0)
    if kind in ("usd_each", "number", "count_fraction"):
        return len(f"{x:,.2f}") + 1
    return min(len(repr(v)), 14)


def _width(heading: str, values: list[Any], kind: str) -> float:
    longest_word = max((len(w) for w in heading.split()), default=0)
    head = max(min(len(heading), _HEADING_WIDTH), longest_word)
    cells = max((_shown_length(v, kind) for v in values), default=0)
    return float(min(max(head, cells, 6) + 2, _MAX_WIDTH))


# ----------------------------------------------------------------------- sheets


def _sheet_names(names: Sequence[str]) -> list[str]:
    """Excel sheet names: at most 31 characters, none of ``[]:*?/\\``, unique without
    regard to case, and not the names of the cover or definitions sheets."""
    used = {COVER_SHEET.lower(), DEFINITIONS_SHEET.lower()}
    out = []
    for name in names:
        base = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'") or "table"
        sheet, i = base[:31], 1
        while sheet.lower() in used:
            i += 1
            sheet = f"{base[:28]}_{i}"
        used.add(sheet.lower())
        out.append(sheet)
    return out


def _headings(columns: Sequence[str], labels: Mapping[str, str]) -> list[str]:
    """Each column's heading; a heading two columns share names the column too."""
    heads = [header(c, labels) for c in columns]
    twice = {h for h in heads if heads.count(h) > 1}
    return [inert_text(f"{h} [{c}]" if h in twice else h, excel=True)
            for h, c in zip(heads, columns, strict=True)]


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with its rows numbered from 0; a named index becomes columns."""
    named = any(n is not None for n in frame.index.names)
    return frame.reset_index(drop=not named).rename(columns=str)


def _table_sheet(ws, frame: pd.DataFrame, hidden: pd.DataFrame | None,
                 labels: Mapping[str, str], suppressed_note: str) -> list[tuple[str, str, str]]:
    """Write one table; return its (heading, column, unit) triples."""
    columns = list(frame.columns)
    heads = _headings(columns, labels)
    described = []
    for j, (column, head) in enumerate(zip(columns, heads, strict=True), start=1):
        mask = None if hidden is None or column not in hidden else hidden[column]
        values, kind = _values(column, frame.iloc[:, j - 1], mask, header(column, labels))
        number_format = UNITS[kind][0]
        cell = ws.cell(row=1, column=j, value=head)
        cell.font, cell.fill, cell.border, cell.alignment = (
            _BOLD, _HEAD_FILL, _HEAD_BORDER, _WRAP_TOP)
        long_text = kind in ("text", "mixed") and any(
            isinstance(v, str) and len(v) > _MAX_WIDTH for v in values)
        for i, value in enumerate(values, start=2):
            cell = ws.cell(row=i, column=j, value=value)
            if value is not None and number_format != "General":
                cell.number_format = number_format
            if long_text:
                cell.alignment = _WRAP_TOP
            if mask is not None and bool(mask.iloc[i - 2]):
                cell.fill = _SUPPRESSED_FILL
                cell.comment = Comment(suppressed_note, "rad3d", width=240, height=90)
        ws.column_dimensions[get_column_letter(j)].width = _width(head, values, kind)
        described.append((head, column, kind))
    last = get_column_letter(max(len(columns), 1))
    first_is_key = len(columns) > 6 and described and described[0][2] == "text"
    ws.freeze_panes = "B2" if first_is_key else "A2"
    if columns:
        ws.auto_filter.ref = f"A1:{last}{len(frame) + 1}"
    _print_setup(ws)
    return described


def _print_setup(ws) -> None:
    """Landscape, one page wide, the header row on every printed page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def _cover_sheet(ws, cover: Cover, contents: Sequence[tuple[str, str]], empty: str
                 ) -> None:
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 100
    ws.cell(row=1, column=1, value=inert_text(cover.title, excel=True)).font = _TITLE
    rows: list[tuple[str, Any]] = [("Scenario", cover.scenario), ("Data", cover.data),
                                   ("Date", cover.date or dt.datetime.now(dt.UTC).date()),
                                   ("Suppression", cover.suppression),
                                   ("Empty cells", empty), *cover.lines]
    r = 3
    for label, text in rows:
        if text in ("", None):
            continue
        ws.cell(row=r, column=1, value=label).font = _BOLD
        cell = ws.cell(row=r, column=2,
                       value=inert_text(text, excel=True) if isinstance(text, str) else text)
        cell.alignment = _WRAP_TOP
        ws.cell(row=r, column=1).alignment = _WRAP_TOP
        if isinstance(text, dt.date):
            cell.number_format = UNITS["date"][0]
            cell.alignment = Alignment(horizontal="left", vertical="top")
        if isinstance(text, str) and len(text) > 100:
            ws.row_dimensions[r].height = 15 * math.ceil(len(text) / 95)
        r += 1
    r += 1
    ws.cell(row=r, column=1, value="Sheets").font = _BOLD
    for sheet, caption in contents:
        r += 1
        link = ws.cell(row=r, column=1, value=inert_text(sheet, excel=True))
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{sheet}'!A1")
        link.font = Font(color="0563C1", underline="single")
        ws.cell(row=r, column=2, value=inert_text(caption, excel=True)).alignment = _WRAP_TOP
    _print_setup(ws)
    ws.print_title_rows = None
    ws.page_setup.orientation = "portrait"


def _paragraphs(text: str) -> list[str]:
    """Definition text as paragraphs: each line is one, except an indented line, which
    continues the paragraph before it (a wrapped Markdown item); Markdown emphasis,
    bullets, reST roles and underlines are dropped.

    >>> _paragraphs("Rate: a / b.\\nq: BH.\\n- **Suppression**: rows of\\n  10 or fewer")
    ['Rate: a / b.', 'q: BH.', 'Suppression: rows of 10 or fewer']
    """
    out: list[str] = []
    fresh = True
    for raw in str(text).splitlines():
        line = raw.strip()
        if not line or re.fullmatch(r"[-=~]{3,}", line):
            fresh = True
            continue
        line = re.sub(r":[a-z]+:`~?([^`]*)`", r"\1", line)  # reST roles: :data:`X` -> X
        line = re.sub(r"::$", ":", line.replace("**", "").replace("``", ""))
        if raw[:1].isspace() and out and not fresh:
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line[2:] if line[:2] in ("- ", "* ") else line)
        fresh = False
    return out


def _definitions_sheet(ws, described: Mapping[tuple[str, str, str], list[str]],
                       definitions: Sequence[str]) -> None:
    heads = ["Heading", "Column in the CSV files", "Unit", "Sheets"]
    widths = [34, 28, 30, 40]
    for j, (head, width) in enumerate(zip(heads, widths, strict=True), start=1):
        cell = ws.cell(row=1, column=j, value=head)
        cell.font, cell.fill, cell.border, cell.alignment = (
            _BOLD, _HEAD_FILL, _HEAD_BORDER, _WRAP_TOP)
        ws.column_dimensions[get_column_letter(j)].width = width
    r = 1
    for (head, column, kind), sheets in described.items():
        r += 1
        for j, value in enumerate(
                (head, inert_text(column, excel=True), UNITS[kind][1],
                 inert_text(", ".join(sheets), excel=True)),
                start=1):
            ws.cell(row=r, column=j, value=value).alignment = _WRAP_TOP
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:D{r}"
    paragraphs = [p for text in definitions for p in _paragraphs(text)]
    if paragraphs:
        r += 2
        ws.cell(row=r, column=1, value="Definitions and rules").font = _BOLD
        chars = sum(widths)
        for text in paragraphs:
            r += 1
            cell = ws.cell(row=r, column=1, value=inert_text(text, excel=True))
            cell.alignment = _WRAP_TOP
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(heads))
            ws.row_dimensions[r].height = 15 * max(1, math.ceil(len(text) / (0.95 * chars)))
    _print_setup(ws)


# ----------------------------------------------------------------------- workbook


def workbook_bytes(
    tables: Mapping[str, pd.DataFrame],
    *,
    cover: Cover,
    labels: Mapping[str, str] | None = None,
    captions: Mapping[str, str] | None = None,
    definitions: Sequence[str] = (),
    suppressed: Mapping[str, pd.DataFrame] | None = None,
    suppressed_note: str = "",
) -> bytes:
    """An ``.xlsx`` workbook: the cover, one formatted sheet per table, the definitions.

    Parameters
    ----------
    tables : mapping of sheet name to DataFrame
        Written without the index (a named index becomes columns). Sheet names are made
        valid for Excel (31 characters, unique).
    cover : Cover
    labels : mapping, optional
        Column name -> heading (default :data:`~analysis.report.labels.COLUMN_LABELS`;
        a column without one gets its name made readable,
        :func:`~analysis.report.labels.header`).
    captions : mapping, optional
        Table name -> caption, listed on the cover.
    definitions : sequence of str
        Texts of definitions and rules, each split into paragraphs, after the column
        list of the Definitions sheet.
    suppressed : mapping of table name to a boolean DataFrame, optional
        The suppressed cells of each table (same columns and rows): written empty,
        grey, with a comment, whatever the table holds there.
    suppressed_note : str
        The comment of a suppressed cell (default: see the rule on the cover).

    Returns
    -------
    bytes
    """
    labels = COLUMN_LABELS if labels is None else labels
    captions = captions or {}
    # A missing comparison (a string column's NA compared with the marker) is not hidden.
    suppressed = {name: mask.reset_index(drop=True).rename(columns=str).astype(object)
                  .fillna(False).astype(bool) for name, mask in (suppressed or {}).items()}
    comment = suppressed_note or "Suppressed: see the suppression rule on the Cover sheet."
    empty = "An empty cell has no value (not applicable or not estimable)."
    if any(bool(m.to_numpy().any()) for m in suppressed.values()):
        empty = ("An empty grey cell is suppressed (its comment says why; the CSV tables "
                 "show it as *). An empty white cell has no value (not applicable or not "
                 "estimable).")
    wb = Workbook()
    cover_ws = wb.active
    cover_ws.title = COVER_SHEET
    names = list(tables)
    described: dict[tuple[str, str, str], list[str]] = {}
    for name, sheet in zip(names, _sheet_names(names), strict=True):
        frame = _flat(tables[name])
        hidden = suppressed.get(name)
        if hidden is not None:
            hidden = hidden.reindex(index=frame.index, columns=frame.columns,
                                    fill_value=False)
        ws = wb.create_sheet(sheet)
        for triple in _table_sheet(ws, frame, hidden, labels, comment):
            described.setdefault(triple, []).append(sheet)
    _definitions_sheet(wb.create_sheet(DEFINITIONS_SHEET), described, definitions)
    contents = [(s, captions.get(n, "")) for n, s in zip(names, _sheet_names(names),
                                                          strict=True)]
    contents.append((DEFINITIONS_SHEET, "Each column: heading, name in the CSV files, "
                                        "unit; definitions and rules"))
    _cover_sheet(cover_ws, cover, contents, empty)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_workbook(path: str | PathLike[str], tables: Mapping[str, pd.DataFrame], **options
                   ) -> Path:
    """Write :func:`workbook_bytes` of ``tables`` to ``path`` atomically."""
    return write_bytes(path, workbook_bytes(tables, **options))
