"""The CMS PFS relative value file (PPRRVU CSV) reader, by header name.

:func:`read_rvu` reads any year's PPRRVU CSV in its real layout: title lines, column
headings split over five rows (the header row alone repeats ``RVU`` and ``PE RVU``), an
optional byte-order mark, Windows or Unix line ends; 31 columns in 2025, 32 from 2026
(a new ``PRIC IND`` column between ``TEAM SURG`` and ``ENDO BASE``). It finds the header
row (the row labelling ``HCPCS`` and ``MOD``), reads each column's heading down its five
label rows (``WORK RVU``, ``NON-FAC PE RVU``, ``CONV FACTOR``, ...) and names the column
by that heading, never by its position: the same file with its columns reordered reads
the same. A required column that is missing, or a heading given twice, raises
:class:`analysis.errors.InputError` naming the file, row, column and value, as does
anything else it cannot read.

References
----------
CMS, PFS Relative Value Files, RVU25D (``PPRRVU2025_Oct.csv``, released 2025-09-11),
and its README (column layout, status codes, PC/TC and NA indicators); RVU26C
(``PPRRVU2026_Jul_nonQPP.csv``, released 2026-06-30), 32 columns.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError, first_bad_row
from analysis.pricing.csv_files import HEADER_SEARCH_LINES, csv_records, read_text
from analysis.schema import FIELD_PATTERNS

__all__ = ["read_rvu"]

# (column name, label) of every column rad3d knows, in the order of the 2025 file; the
# label is the column's heading read down its five label rows (``WORK RVU``,
# ``NON-FAC PE RVU``, ...), which, unlike the header row alone (``RVU``, ``PE RVU`` twice),
# names each column once. ``required`` columns must be present in every year's file.
_RVU_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("cpt_code", "HCPCS", True),
    ("modifier", "MOD", True),
    ("description", "DESCRIPTION", True),
    ("status_code", "STATUS CODE", True),
    ("not_used_for_medicare_payment", "NOT USED FOR MEDICARE PAYMENT", True),
    ("work_rvu", "WORK RVU", True),
    ("pe_rvu_non_facility", "NON-FAC PE RVU", True),
    ("non_facility_na", "NON-FAC NA INDICATOR", True),
    ("pe_rvu_facility", "FACILITY PE RVU", True),
    ("facility_na", "FACILITY NA INDICATOR", True),
    ("mp_rvu", "MP RVU", True),
    ("total_rvu_non_facility", "NON-FACILITY TOTAL", True),
    ("total_rvu_facility", "FACILITY TOTAL", True),
    ("pctc_indicator", "PCTC IND", True),
    ("global_days", "GLOB DAYS", True),
    ("pre_op", "PRE OP", True),
    ("intra_op", "INTRA OP", True),
    ("post_op", "POST OP", True),
    ("mult_proc", "MULT PROC", True),
    ("bilateral_surgery", "BILAT SURG", True),
    ("assistant_surgery", "ASST SURG", True),
    ("co_surgery", "CO- SURG", True),
    ("team_surgery", "TEAM SURG", True),
    ("pric_ind", "PRIC IND", False),  # new in the 2026 files (RVU26A on)
    ("endo_base", "ENDO BASE", True),
    ("conversion_factor", "CONV FACTOR", True),
    ("supervision", "PHYSICIAN SUPERVISION OF DIAGNOSTIC PROCEDURES", True),
    ("calculation_flag", "CALCULATION FLAG", True),
    ("imaging_family", "DIAGNOSTIC IMAGING FAMILY INDICATOR", True),
    ("opps_pe_rvu_non_facility", "NON-FACILITY PE USED FOR OPPS PAYMENT AMOUNT", True),
    ("opps_pe_rvu_facility", "FACILITY PE USED FOR OPPS PAYMENT AMOUNT", True),
    ("opps_mp_rvu", "MP USED FOR OPPS PAYMENT AMOUNT", True),
)
_NAME_OF_LABEL = {label: name for name, label, _ in _RVU_COLUMNS}
_LABEL_ROWS = 5  # the column headings are split over the header row and the 4 rows above
_RVU_FLOAT_COLUMNS = (
    "work_rvu",
    "pe_rvu_non_facility",
    "pe_rvu_facility",
    "mp_rvu",
    "total_rvu_non_facility",
    "total_rvu_facility",
    "pre_op",
    "intra_op",
    "post_op",
    "conversion_factor",
    "opps_pe_rvu_non_facility",
    "opps_pe_rvu_facility",
    "opps_mp_rvu",
)
_TITLE_YEAR = re.compile(r"\b(20\d\d)\b.*PHYSICIAN FEE SCHEDULE", re.IGNORECASE)
_RELEASED = re.compile(r"RELEASED\s+(\d{1,2}/\d{1,2}/\d{4})", re.IGNORECASE)


def _column_labels(label_rows: list[list[str]], n: int) -> list[str]:
    """Each column's heading: its cells in the label rows, top to bottom, joined."""
    return [
        _norm_label(" ".join(r[j] for r in label_rows if j < len(r) and r[j].strip()))
        for j in range(n)
    ]


def _rvu_column_names(labels: list[str], path: Path, row: int) -> list[str | None]:
    """The column name of each position, found by its heading, never by its position.

    A known heading gets its name; an unknown one is kept under a name made from its
    heading (``NEW FLAG`` -> ``new_flag``); a column without a heading is dropped
    (``None``). A heading that appears twice, or a required column that is missing,
    raises :class:`InputError`.
    """
    names: list[str | None] = []
    for j, label in enumerate(labels):
        name = _NAME_OF_LABEL.get(label, _snake(label) or None)
        if name is not None and name in names:
            raise InputError(
                f"column {j + 1} has the same heading as column {names.index(name) + 1}: "
                "a PFS relative value file names each column once (over its five label "
                "rows: keep the four rows above the HCPCS,MOD row)",
                file=path,
                row=row,
                column=f"{j + 1}",
                value=label,
            )
        names.append(name)
    unknown = [label for label in labels if label and label not in _NAME_OF_LABEL]
    for name, label, required in _RVU_COLUMNS:
        if required and name not in names:
            found = f"; headings not recognised: {', '.join(unknown)}" if unknown else ""
            raise InputError(
                f"required column {label!r} not found in the header rows{found}. Give the "
                "CSV file exactly as CMS publishes it (any year, columns in any order)",
                file=path,
                row=row,
                column=label,
                value=", ".join(unknown) or None,
            )
    return names


def _norm_label(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().upper())


def _snake(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def read_rvu(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a CMS PFS relative value file (PPRRVU CSV) of any year.

    Parameters
    ----------
    path : path-like
        The ``PPRRVU<year>_<release>.csv`` file from a CMS RVU zip
        (:func:`analysis.pricing.load_rvu` reads the bundled extract, once).

    Returns
    -------
    DataFrame
        One row per code and modifier, every column named by its heading (the
        five label rows read down), in this order whatever the file's order:
        ``cpt_code, modifier ("" | "26" | "TC" | "53" ...), description,
        status_code, not_used_for_medicare_payment, work_rvu, pe_rvu_non_facility,
        non_facility_na (bool), pe_rvu_facility, facility_na (bool), mp_rvu,
        total_rvu_non_facility, total_rvu_facility, pctc_indicator, global_days,
        pre_op, intra_op, post_op, mult_proc, bilateral_surgery, assistant_surgery,
        co_surgery, team_surgery, endo_base, conversion_factor, supervision,
        calculation_flag, imaging_family, opps_pe_rvu_non_facility,
        opps_pe_rvu_facility, opps_mp_rvu`` (with ``pric_ind`` after
        ``team_surgery`` in the 2026 files; a column rad3d does not know is kept
        last, named from its heading) and ``source_row`` (the line in the file).
        Indicator columns keep their leading zeros (``supervision`` ``"09"``).
        ``attrs`` holds ``source``, ``year`` (from the title line) and ``released``.

    Raises
    ------
    InputError
        Missing file; no header row with ``HCPCS`` and ``MOD``; a required column
        missing (its heading not found) or a heading twice; a data row with the wrong
        number of fields; a non-numeric RVU; a malformed code; a duplicated code and
        modifier.
    """
    what = "CMS PFS relative value file (PPRRVU CSV)"
    path = Path(path)
    rows = csv_records(read_text(path, what))
    header_at = next(
        (
            i
            for i, (_, cells) in enumerate(rows[:HEADER_SEARCH_LINES])
            if {"HCPCS", "MOD"} <= {_norm_label(c) for c in cells}
        ),
        None,
    )
    if header_at is None:
        raise InputError(
            f"no header row with the column labels HCPCS and MOD in the first "
            f"{HEADER_SEARCH_LINES} lines: not a {what}",
            file=path,
        )
    header_row, header = rows[header_at]
    label_rows = [cells for _, cells in rows[max(0, header_at - _LABEL_ROWS + 1) : header_at + 1]]
    names = _rvu_column_names(_column_labels(label_rows, len(header)), path, header_row)
    n = len(names)

    records, line_numbers = [], []
    for line, cells in rows[header_at + 1 :]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > n and not any(c.strip() for c in cells[n:]):
            cells = cells[:n]  # trailing empty cells from a spreadsheet
        if len(cells) != n:
            raise InputError(
                f"data row has {len(cells)} fields, the header has {n}",
                file=path,
                row=line,
                value=",".join(cells)[:80],
            )
        unnamed = [j for j, name in enumerate(names) if name is None and cells[j].strip()]
        if unnamed:
            raise InputError(
                f"a value in column {unnamed[0] + 1}, which has no heading",
                file=path,
                row=line,
                column=f"{unnamed[0] + 1}",
                value=cells[unnamed[0]],
            )
        records.append([c for c, name in zip(cells, names, strict=True) if name is not None])
        line_numbers.append(line)
    if not records:
        raise InputError(f"no data rows after the header: not a complete {what}", file=path)

    read = [name for name in names if name is not None]
    order = [name for name, _, _ in _RVU_COLUMNS if name in read]
    order += [name for name in read if name not in order]  # unknown columns last
    raw = (
        pd.DataFrame(records, columns=read, dtype="string")
        .apply(lambda s: s.str.strip())[order]
    )
    rows_of = np.asarray(line_numbers)
    codes = raw["cpt_code"].str.upper()
    bad = ~codes.str.fullmatch(FIELD_PATTERNS["cpt_code"]).fillna(False).astype(bool)
    if bad.any():
        i = first_bad_row(bad)
        raise InputError(
            "not a 5-character CPT/HCPCS code",
            file=path,
            row=int(rows_of[i]),
            column="HCPCS",
            value=raw["cpt_code"].iloc[i],
        )
    table = raw.assign(cpt_code=codes, modifier=raw["modifier"].str.upper())
    for name in _RVU_FLOAT_COLUMNS:
        table[name] = _to_float(table[name], path, rows_of, column=name)
    for name in ("non_facility_na", "facility_na"):
        flag = table[name].str.upper()
        odd = ~flag.isin(["", "NA"])
        if odd.any():
            i = first_bad_row(odd)
            raise InputError(
                "NA indicator must be 'NA' or blank",
                file=path,
                row=int(rows_of[i]),
                column=name,
                value=table[name].iloc[i],
            )
        table[name] = flag.eq("NA").to_numpy(dtype=bool)
    table = table.assign(source_row=rows_of.astype(np.int64))
    dup = table.duplicated(["cpt_code", "modifier"])
    if dup.any():
        i = first_bad_row(dup)
        raise InputError(
            "code and modifier appear twice in the relative value file",
            file=path,
            row=int(rows_of[i]),
            column="HCPCS",
            value=f"{table['cpt_code'].iloc[i]} {table['modifier'].iloc[i]}".strip(),
        )
    title = " ".join(c for _, cells in rows[:header_at] for c in cells if c.strip())
    year = _TITLE_YEAR.search(title)
    released = _RELEASED.search(title)
    table.attrs = {
        "source": str(path),
        "year": int(year.group(1)) if year else None,
        "released": released.group(1) if released else None,
    }
    return table


def _to_float(values: pd.Series, path: Path, rows_of: np.ndarray, *, column: str) -> np.ndarray:
    text = values.fillna("")
    number = pd.to_numeric(text.mask(text.eq("")), errors="coerce")
    bad = text.ne("") & number.isna()
    if bad.any():
        i = first_bad_row(bad)
        raise InputError(
            "not a number",
            file=path,
            row=int(rows_of[i]),
            column=column,
            value=values.iloc[i],
        )
    return number.to_numpy(dtype=float, na_value=np.nan)

