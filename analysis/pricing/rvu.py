"""The CMS PFS relative value file (PPRRVU CSV) reader, by header name.

:func:`read_rvu` reads any year's PPRRVU CSV in its real layout: title lines, column
labels split over five rows with repeated labels such as ``RVU`` and ``PE RVU``, an
optional byte-order mark, Windows or Unix line ends, 31 columns or 32 in some years.
It finds the header row (the line starting ``HCPCS,MOD,``), checks the column labels
and count against the known layout, and gives every column an explicit name, so no
column is ever found by its position alone. Anything it cannot read raises
:class:`analysis.errors.InputError` naming the file, row, column and value.

References
----------
CMS, PFS Relative Value Files, RVU25D (``PPRRVU2025_Oct.csv``, released 2025-09-11),
and its README (column layout, status codes, PC/TC and NA indicators).
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

# (column name, label on the header row) in the order of the 31-column RVU file.
_RVU_LAYOUT: tuple[tuple[str, str], ...] = (
    ("cpt_code", "HCPCS"),
    ("modifier", "MOD"),
    ("description", "DESCRIPTION"),
    ("status_code", "CODE"),
    ("not_used_for_medicare_payment", "PAYMENT"),
    ("work_rvu", "RVU"),
    ("pe_rvu_non_facility", "PE RVU"),
    ("non_facility_na", "INDICATOR"),
    ("pe_rvu_facility", "PE RVU"),
    ("facility_na", "INDICATOR"),
    ("mp_rvu", "RVU"),
    ("total_rvu_non_facility", "TOTAL"),
    ("total_rvu_facility", "TOTAL"),
    ("pctc_indicator", "IND"),
    ("global_days", "DAYS"),
    ("pre_op", "OP"),
    ("intra_op", "OP"),
    ("post_op", "OP"),
    ("mult_proc", "PROC"),
    ("bilateral_surgery", "SURG"),
    ("assistant_surgery", "SURG"),
    ("co_surgery", "SURG"),
    ("team_surgery", "SURG"),
    ("endo_base", "BASE"),
    ("conversion_factor", "FACTOR"),
    ("supervision", "PROCEDURES"),
    ("calculation_flag", "FLAG"),
    ("imaging_family", "INDICATOR"),
    ("opps_pe_rvu_non_facility", "AMOUNT"),
    ("opps_pe_rvu_facility", "AMOUNT"),
    ("opps_mp_rvu", "AMOUNT"),
)
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


def _rvu_column_names(
    labels: list[str], label_rows: list[list[str]], path: Path, row: int
) -> list[str]:
    """Explicit names for the header's columns, checked against the known layout.

    31 columns must carry the known labels in order. 32 columns must be the known
    layout with one column inserted somewhere; the new column is named from its
    (split) label.
    """
    expected = [label for _, label in _RVU_LAYOUT]
    names = [name for name, _ in _RVU_LAYOUT]
    got = [_norm_label(c) for c in labels]
    n = len(got)
    if n not in (len(expected), len(expected) + 1):
        raise InputError(
            f"the header row has {n} columns; a PFS relative value file (PPRRVU) has "
            f"{len(expected)} (or {len(expected) + 1} in some years). Give the CSV "
            "file exactly as CMS publishes it",
            file=path,
            row=row,
            value=n,
        )
    if n == len(expected):
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            if e != g:
                raise InputError(
                    f"header column {i + 1} is labelled {labels[i].strip()!r}, expected "
                    f"{e!r}: not the CMS PFS relative value file layout",
                    file=path,
                    row=row,
                    column=f"{i + 1}",
                    value=labels[i],
                )
        return names
    fits = [k for k in range(n) if got[:k] == expected[:k] and got[k + 1 :] == expected[k:]]
    if not fits:
        raise InputError(
            f"the header row has {n} columns but its labels are not the {len(expected)} "
            "known PFS relative value file labels plus one new column",
            file=path,
            row=row,
            value=",".join(c.strip() for c in labels),
        )
    k = fits[-1]  # where labels repeat, an appended column is the likely reading
    combined = " ".join(r[k].strip() for r in label_rows if k < len(r) and r[k].strip())
    extra = _snake(f"{combined} {labels[k]}") or "extra_column"
    if extra in names:
        extra = f"{extra}_extra"
    return [*names[:k], extra, *names[k:]]


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
        One row per code and modifier, columns in file order with explicit names:
        ``cpt_code, modifier ("" | "26" | "TC" | "53" ...), description,
        status_code, not_used_for_medicare_payment, work_rvu, pe_rvu_non_facility,
        non_facility_na (bool), pe_rvu_facility, facility_na (bool), mp_rvu,
        total_rvu_non_facility, total_rvu_facility, pctc_indicator, global_days,
        pre_op, intra_op, post_op, mult_proc, bilateral_surgery, assistant_surgery,
        co_surgery, team_surgery, endo_base, conversion_factor, supervision,
        calculation_flag, imaging_family, opps_pe_rvu_non_facility,
        opps_pe_rvu_facility, opps_mp_rvu`` (a 32nd column, if any, named from its
        label) and ``source_row`` (the line in the file). Indicator columns keep
        their leading zeros (``supervision`` ``"09"``). ``attrs`` holds ``source``,
        ``year`` (from the title line) and ``released``.

    Raises
    ------
    InputError
        Missing file; no header row starting ``HCPCS,MOD,``; a column count other than
        31/32 or unknown labels; a data row with the wrong number of fields; a
        non-numeric RVU; a malformed code; a duplicated code and modifier.
    """
    what = "CMS PFS relative value file (PPRRVU CSV)"
    path = Path(path)
    rows = csv_records(read_text(path, what))
    header_at = next(
        (
            i
            for i, (_, cells) in enumerate(rows[:HEADER_SEARCH_LINES])
            if len(cells) >= 2
            and _norm_label(cells[0]) == "HCPCS"
            and _norm_label(cells[1]) == "MOD"
        ),
        None,
    )
    if header_at is None:
        raise InputError(
            f"no header row starting 'HCPCS,MOD,' in the first {HEADER_SEARCH_LINES} "
            f"lines: not a {what}",
            file=path,
        )
    header_row, labels = rows[header_at]
    label_rows = [cells for _, cells in rows[max(0, header_at - 4) : header_at]]
    names = _rvu_column_names(labels, label_rows, path, header_row)
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
        records.append(cells)
        line_numbers.append(line)
    if not records:
        raise InputError(f"no data rows after the header: not a complete {what}", file=path)

    raw = pd.DataFrame(records, columns=names, dtype="string").apply(lambda s: s.str.strip())
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

