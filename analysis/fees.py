"""Medicare Physician Fee Schedule (PFS) pricing from the real CMS files.

The Medicare allowed amount of a service line is

    ``[(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF``

for its CPT/HCPCS code and component (global, professional ``-26``, technical
``-TC``), its setting (the facility setting uses the facility PE RVU), its payment
locality (the GPCIs) and its date (the conversion factor, CF). The unrounded product
is rounded half up to the cent (:func:`round_cents`), which reproduces the published
2025 amounts (North Carolina 76377 global $72.67, -26 $35.10, -TC $37.57; national
76376 $24.91) and, for every payable row of the bundled file, the file's own total
RVUs times its conversion factor.

Definitions
-----------
- **Component**: ``"global"`` (no payment modifier), ``"26"`` (professional) or
  ``"TC"`` (technical), read from the line's modifiers
  (:func:`component_from_modifiers`).
- **Setting**: ``"facility"`` when the place of service is one of the CMS facility
  settings listed in ``data/reference/pos_facility.csv`` (hospital inpatient and
  outpatient, ED, ASC, SNF, ...), otherwise ``"non_facility"``
  (:func:`setting_from_pos`). A line without a place of service is priced
  non-facility [assumption]: the non-facility rate is the PFS amount for services
  not known to be furnished in a facility, and it is the only setting in which a
  global or -TC imaging service is paid under the PFS.
- **Not payable** (``payable`` false, ``medicare_usd`` NaN, reason in ``note``):
  the PE RVU of the setting is marked ``NA`` in the relative value file (e.g. the
  global and -TC rows of 76376/76377 in a facility, where the facility's own payment,
  e.g. OPPS, covers the technical work and only -26 is paid under the PFS); the PFS
  status code is not A, R or T (e.g. B bundled, C carrier-priced, I not valid for
  Medicare, N non-covered, X statutory exclusion); or the code/modifier is not in
  the file.
- **Conversion factor by date**: ``data/reference/conversion_factors.csv`` (2022-2026
  with the 2024 change on March 9; 2026 has one CF for qualifying APM participants and
  one for everyone else, the latter by default). A year alone stands for 1 July of
  that year (so 2024 means the CF from 2024-03-09, 33.2875).
- **Locality**: a state with one payment locality needs nothing else; a state with
  several (CA, TX, NY, ...) needs the locality number. ``state="US"`` prices
  nationally, all GPCIs 1.0.

Readers
-------
:func:`load_rvu` reads any year's PPRRVU CSV in its real layout (title lines, column
labels split over five rows with repeated labels such as ``RVU`` and ``PE RVU``,
optional byte-order mark, Windows or Unix line ends, 31 columns or 32 in some years):
it finds the header row (the line starting ``HCPCS,MOD,``), checks the column labels
and count, and gives every column an explicit name. :func:`load_gpci` reads the GPCI
table in its real layout (title, blank line, header, footer notes) and restores the
leading zeros that spreadsheets strip from MAC and locality numbers (``1112`` ->
``01112``, ``0`` -> ``00``), keeping the numbers as read beside them
(:func:`gpci_repairs` lists the repairs). Both raise
:class:`analysis.errors.InputError` naming the file, row, column and value of anything
they cannot read.

References
----------
CMS, PFS Relative Value Files, RVU25D (``PPRRVU2025_Oct.csv``, released 2025-09-11),
and its README (payment formula, status codes, PC/TC and NA indicators).
CMS, CY 2025 PFS final rule (CMS-1807-F), Addendum E: GPCIs by state and Medicare
locality (MAC assignments as of 2023-11-22).
CMS, Medicare Claims Processing Manual (Pub. 100-04), Chapter 12, section 20.4.2,
"Site of Service Payment Differential".
Sources of the conversion factors, MAC jurisdictions and facility places of service:
the ``source`` column of the files in ``data/reference/``.

Examples
--------
>>> lines = pd.DataFrame({"cpt_code": ["76377", "76377"], "component": ["global", "TC"],
...                       "setting": ["non_facility", "facility"], "state": "NC",
...                       "year": 2025})
>>> price(lines)[["medicare_usd", "payable"]].to_dict("list")
{'medicare_usd': [72.67, nan], 'payable': [True, False]}
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from functools import cache
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.codes import REFERENCE_DIR, normalize_cpt
from analysis.errors import InputError

__all__ = [
    "COMPONENTS",
    "DEFAULT_GPCI_PATH",
    "DEFAULT_RVU_PATH",
    "PAYABLE_STATUS_CODES",
    "SETTINGS",
    "FeeTable",
    "component_from_modifiers",
    "conversion_factor",
    "conversion_factors",
    "facility_places_of_service",
    "fee_table",
    "gpci_repairs",
    "load_gpci",
    "load_rvu",
    "mac_jurisdiction",
    "mac_jurisdictions",
    "price",
    "round_cents",
    "setting_from_pos",
    "state_locality",
]

DEFAULT_RVU_PATH = REFERENCE_DIR / "pprrvu2025_oct_imaging.csv"
DEFAULT_GPCI_PATH = REFERENCE_DIR / "GPCI2025.csv"
COMPONENTS: tuple[str, str, str] = ("global", "26", "TC")
SETTINGS: tuple[str, str] = ("non_facility", "facility")
#: PFS status codes paid under the fee schedule: A active, R restricted coverage,
#: T paid only when no other service is billed (RVU file README).
PAYABLE_STATUS_CODES = frozenset({"A", "R", "T"})
_NATIONAL = frozenset({"US", "USA", "NATIONAL"})
_MODIFIER_OF_COMPONENT = {"global": "", "26": "26", "TC": "TC"}
# Columns of ``lines`` that determine a price; lines equal on these are priced once.
_PRICE_INPUTS = (
    "cpt_code", "component", "modifiers", "setting", "place_of_service", "state", "mac",
    "locality", "service_date", "year",
)  # fmt: skip
_MULTIPLICITY = "__n_lines"

NOTE_FACILITY_NA = (
    "not payable under the PFS in a facility (facility PE RVU 'NA'): the facility's "
    "own payment (e.g. OPPS) covers the technical component, so only -26 is paid"
)
NOTE_NON_FACILITY_NA = (
    "not payable under the PFS in a non-facility setting (non-facility PE RVU 'NA')"
)
NOTE_NOT_IN_FILE = "code and modifier not in the PFS relative value file"


# ------------------------------------------------------------------ file helpers


def _read_text(path: str | PathLike[str], what: str) -> str:
    """The decoded text of ``path`` (UTF-8 with or without BOM, else Windows-1252)."""
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


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """``(1-based line number, cells)`` of every CSV record; any line-end style."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    start = 1
    for cells in reader:
        rows.append((start, cells))
        start = reader.line_num + 1
    return rows


def _norm_label(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().upper())


def _snake(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


# --------------------------------------------------------------------- RVU file

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
_HEADER_SEARCH_LINES = 60
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


def load_rvu(path: str | PathLike[str] | None = None) -> pd.DataFrame:
    """Read a CMS PFS relative value file (PPRRVU CSV) of any year.

    Parameters
    ----------
    path : path-like, optional
        The ``PPRRVU<year>_<release>.csv`` file from a CMS RVU zip. Default: the
        bundled extract ``data/reference/pprrvu2025_oct_imaging.csv`` (the real
        title and header lines of RVU25D and its CT/MR/3D rows).

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

    Examples
    --------
    >>> rvu = load_rvu()
    >>> rows = rvu.loc[rvu["cpt_code"].eq("76377"), ["modifier", "work_rvu", "facility_na"]]
    >>> rows.values.tolist()
    [['', 0.79, True], ['26', 0.79, False], ['TC', 0.0, True]]
    """
    if path is None:
        return _default_rvu().copy(deep=False)
    return _load_rvu(Path(path))


@cache
def _default_rvu() -> pd.DataFrame:
    return _load_rvu(DEFAULT_RVU_PATH)


def _load_rvu(path: Path) -> pd.DataFrame:
    what = "CMS PFS relative value file (PPRRVU CSV)"
    rows = _csv_rows(_read_text(path, what))
    header_at = next(
        (
            i
            for i, (_, cells) in enumerate(rows[:_HEADER_SEARCH_LINES])
            if len(cells) >= 2
            and _norm_label(cells[0]) == "HCPCS"
            and _norm_label(cells[1]) == "MOD"
        ),
        None,
    )
    if header_at is None:
        raise InputError(
            f"no header row starting 'HCPCS,MOD,' in the first {_HEADER_SEARCH_LINES} "
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
    bad = ~codes.str.fullmatch(r"[0-9A-Z]{5}").fillna(False).astype(bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
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
            i = int(np.flatnonzero(odd)[0])
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
        i = int(np.flatnonzero(dup)[0])
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
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            "not a number",
            file=path,
            row=int(rows_of[i]),
            column=column,
            value=values.iloc[i],
        )
    return number.to_numpy(dtype=float, na_value=np.nan)


# -------------------------------------------------------------------- GPCI file

_GPCI_COLUMNS = ("mac", "state", "locality", "locality_name", "gpci_work", "gpci_pe", "gpci_mp")


def _gpci_column(label: str) -> str | None:
    c = re.sub(r"\s+", " ", label.strip().lower())
    if "contractor" in c or re.fullmatch(r"mac( number| no\.?)?", c):
        return "mac"
    if c in ("state", "state abbreviation"):
        return "state"
    if "locality" in c:
        return "locality_name" if "name" in c else "locality"
    if "gpci" in c:
        if re.search(r"\bpw\b|work", c):
            return "gpci_work"
        if re.search(r"\bpe\b|practice expense", c):
            return "gpci_pe"
        if re.search(r"\bmp\b|malpractice|liability", c):
            return "gpci_mp"
    return None


def load_gpci(path: str | PathLike[str] | None = None) -> pd.DataFrame:
    """Read a CMS GPCI table (PFS final rule Addendum E) in its real layout.

    The header row is the first row labelling all of: MAC (``Medicare
    Administrative Contractor``), ``State``, ``Locality Number``, ``Locality Name``
    and the work (``PW``), PE and MP GPCIs; title lines before it and footer notes
    after the data (rows with text in the first cell only) are skipped. MAC numbers
    are five digits and locality numbers two: numbers that lost their leading zeros
    in a spreadsheet (``1112``, ``0``) or gained a ``.0`` are restored (``01112``,
    ``00``) and each repair is recorded.

    Parameters
    ----------
    path : path-like, optional
        Default: ``data/reference/GPCI2025.csv`` (a real copy of the 2025 table whose
        MAC and locality numbers lost their leading zeros).

    Returns
    -------
    DataFrame
        ``mac`` (5 chars), ``state``, ``locality`` (2 chars), ``locality_name``,
        ``gpci_work``, ``gpci_pe``, ``gpci_mp``, ``source_row`` (the line in the
        file) and ``mac_as_read`` / ``locality_as_read`` (the numbers as written in
        the file; see :func:`gpci_repairs`). ``attrs`` holds ``source``, ``year`` (from
        the column labels), ``notes`` (the footer lines) and ``n_repairs``.

    Raises
    ------
    InputError
        Missing file, no header row, a malformed MAC/locality/state, a non-numeric
        or non-positive GPCI, a duplicated MAC and locality.

    Examples
    --------
    >>> gpci = load_gpci()
    >>> gpci.loc[gpci["state"].eq("NC"), ["mac", "locality", "gpci_pe"]].values.tolist()
    [['11502', '00', 0.926]]
    """
    if path is None:
        return _default_gpci().copy(deep=False)
    return _load_gpci(Path(path))


@cache
def _default_gpci() -> pd.DataFrame:
    return _load_gpci(DEFAULT_GPCI_PATH)


def _load_gpci(path: Path) -> pd.DataFrame:
    what = "CMS GPCI file (PFS Addendum E CSV)"
    rows = _csv_rows(_read_text(path, what))
    header_at, positions = None, {}
    for i, (_, cells) in enumerate(rows[:_HEADER_SEARCH_LINES]):
        found = {}
        for j, cell in enumerate(cells):
            name = _gpci_column(cell)
            if name is not None and name not in found:
                found[name] = j
        if set(found) >= set(_GPCI_COLUMNS):
            header_at, positions = i, found
            break
    if header_at is None:
        raise InputError(
            "no header row labelling MAC, State, Locality Number, Locality Name and the "
            f"PW, PE and MP GPCIs in the first {_HEADER_SEARCH_LINES} lines: not a {what}",
            file=path,
        )
    header_row, labels = rows[header_at]
    label_of = {name: labels[j].strip() for name, j in positions.items()}

    records, notes = [], []
    for line, cells in rows[header_at + 1 :]:
        cell = {name: (cells[j].strip() if j < len(cells) else "") for name, j in positions.items()}
        others = [c for k, c in enumerate(cells) if k != 0 and c.strip()]
        if not any(c.strip() for c in cells):
            continue
        if not others:  # footer note: text in the first cell only
            notes.append(cells[0].strip())
            continue
        record = {"source_row": line}
        for name, width in (("mac", 5), ("locality", 2)):
            value = re.sub(r"\.0*$", "", cell[name])
            if not re.fullmatch(rf"\d{{1,{width}}}", value):
                raise InputError(
                    f"not a {width}-digit number",
                    file=path,
                    row=line,
                    column=label_of[name],
                    value=cell[name],
                )
            record[name] = value.zfill(width)
            record[f"{name}_as_read"] = cell[name]
        state = cell["state"].upper()
        if not re.fullmatch(r"[A-Z]{2}", state):
            raise InputError(
                "not a 2-letter state", file=path, row=line, column=label_of["state"],
                value=cell["state"],
            )  # fmt: skip
        record["state"] = state
        record["locality_name"] = cell["locality_name"]
        for name in ("gpci_work", "gpci_pe", "gpci_mp"):
            try:
                value = float(cell[name])
            except ValueError:
                value = float("nan")
            if not np.isfinite(value) or value <= 0:
                raise InputError(
                    "GPCI must be a positive number",
                    file=path,
                    row=line,
                    column=label_of[name],
                    value=cell[name],
                )
            record[name] = value
        records.append(record)
    if not records:
        raise InputError(f"no data rows after the header: not a complete {what}", file=path)
    columns = [*_GPCI_COLUMNS, "source_row", "mac_as_read", "locality_as_read"]
    table = pd.DataFrame.from_records(records, columns=columns)
    table = table.astype(
        {c: "string" for c in columns if c not in _GPCI_COLUMNS[4:] + ("source_row",)}
    )
    dup = table.duplicated(["mac", "locality"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            "MAC and locality appear twice in the GPCI file",
            file=path,
            row=int(table["source_row"].iloc[i]),
            column=label_of["locality"],
            value=f"{table['mac'].iloc[i]} {table['locality'].iloc[i]}",
        )
    year = re.search(r"\b(20\d\d)\b", " ".join(label_of.values()))
    table.attrs = {
        "source": str(path),
        "year": int(year.group(1)) if year else None,
        "notes": tuple(notes),
        "n_repairs": int(
            table["mac"].ne(table["mac_as_read"]).sum()
            + table["locality"].ne(table["locality_as_read"]).sum()
        ),
    }
    return table


def gpci_repairs(gpci: pd.DataFrame) -> pd.DataFrame:
    """The MAC and locality numbers :func:`load_gpci` repaired, one row per repair.

    Returns
    -------
    DataFrame
        ``row`` (line in the file), ``column`` (``mac`` or ``locality``), ``value``
        (as read) and ``repaired``.

    Examples
    --------
    >>> gpci_repairs(load_gpci()).head(2).values.tolist()
    [[4, 'locality', '0', '00'], [5, 'locality', '1', '01']]
    """
    parts = [
        gpci.loc[gpci[name].ne(gpci[f"{name}_as_read"])].pipe(
            lambda d, name=name: pd.DataFrame({
                "row": d["source_row"].to_numpy(),
                "column": name,
                "value": d[f"{name}_as_read"].to_numpy(),
                "repaired": d[name].to_numpy(),
            })
        )
        for name in ("mac", "locality")
    ]  # fmt: skip
    out = pd.concat(parts, ignore_index=True).astype(
        {"column": "string", "value": "string", "repaired": "string"}
    )
    return out.sort_values(["row", "column"], kind="stable", ignore_index=True)


# ----------------------------------------------------------- conversion factors


@cache
def _cf_table() -> pd.DataFrame:
    table = pd.read_csv(REFERENCE_DIR / "conversion_factors.csv", dtype=str)
    return table.assign(
        start_date=pd.to_datetime(table["start_date"]),
        end_date=pd.to_datetime(table["end_date"]),
        conversion_factor=table["conversion_factor"].astype(float),
    )


def conversion_factors() -> pd.DataFrame:
    """The conversion factor table: ``start_date, end_date, apm_status,
    conversion_factor, basis, source`` (``data/reference/conversion_factors.csv``).

    ``apm_status`` is ``all``, or for 2026 ``non_qualifying`` / ``qualifying``
    (qualifying APM participants); ``basis`` is V (read in a primary file) or S
    (several secondary sources agree).
    """
    return _cf_table().copy()


def _as_dates(values: pd.Series, *, column: str) -> pd.Series:
    """Dates from dates, ISO strings or years (a year stands for 1 July)."""
    s = pd.Series(values, copy=False)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.tz_localize(None) if s.dt.tz is not None else s
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        years = s.astype("Float64")
        ok = years.isna() | (years.mod(1).eq(0) & years.between(1900, 2999))
        if not ok.fillna(False).all():
            i = int(np.flatnonzero(~ok.fillna(False).to_numpy(dtype=bool))[0])
            raise InputError("not a year", column=column, value=s.iloc[i])
        text = years.astype("Int64").astype("string") + "-07-01"
        return pd.to_datetime(text, errors="coerce")
    text = s.astype("string").str.strip()
    text = text.mask(text.str.fullmatch(r"\d{4}").fillna(False).astype(bool), text + "-07-01")
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = text.notna() & text.ne("") & parsed.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy(dtype=bool))[0])
        raise InputError("not a date (YYYY-MM-DD) or year", column=column, value=s.iloc[i])
    return parsed


def _show_date(value: object) -> object:
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return f"{value:%Y-%m-%d}"
    return value


def conversion_factor(dates, *, qualifying_apm: bool = False) -> pd.Series | float:
    """The PFS conversion factor (USD per RVU) in effect on each date.

    Parameters
    ----------
    dates : date, str, int year, or Series of them
        Service dates; a year alone stands for 1 July of that year.
    qualifying_apm : bool, default False
        From 2026, use the CF for qualifying APM participants (33.5675) instead of
        the one for everyone else (33.4009).

    Returns
    -------
    float for one date, else a float Series with the input's index.

    Raises
    ------
    InputError
        A missing or unparseable date, or one outside the years in
        ``data/reference/conversion_factors.csv`` (2022-2026).

    Examples
    --------
    >>> conversion_factor("2024-03-08"), conversion_factor("2024-03-09")
    (32.7442, 33.2875)
    >>> conversion_factor(2026), conversion_factor(2026, qualifying_apm=True)
    (33.4009, 33.5675)
    """
    scalar = not isinstance(dates, (pd.Series, pd.Index, np.ndarray, list, tuple))
    series = pd.Series([dates] if scalar else dates)
    if isinstance(dates, pd.Series):
        series.index = dates.index
    when = _as_dates(series, column="service_date")
    status = "qualifying" if qualifying_apm else "non_qualifying"
    result = np.full(len(when), np.nan)
    values = when.dt.normalize().to_numpy(dtype="datetime64[ns]")  # a time of day is ignored
    for row in _cf_table().itertuples(index=False):
        if row.apm_status not in ("all", status):
            continue
        hit = (values >= np.datetime64(row.start_date)) & (values <= np.datetime64(row.end_date))
        result[hit] = row.conversion_factor
    missing = np.isnan(result)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        table = _cf_table()
        known = f"{table['start_date'].min():%Y-%m-%d} to {table['end_date'].max():%Y-%m-%d}"
        raise InputError(
            f"no Medicare PFS conversion factor for this date (known: {known}; add a "
            "row to data/reference/conversion_factors.csv for other years)",
            column="service_date",
            value="missing" if pd.isna(values[i]) else _show_date(series.iloc[i]),
        )
    if scalar:
        return float(result[0])
    return pd.Series(result, index=series.index, name="conversion_factor")


# ---------------------------------------------------------- MACs and localities


@cache
def _mac_table() -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / "mac_jurisdictions.csv", dtype=str)


def mac_jurisdictions() -> pd.DataFrame:
    """A/B MAC jurisdictions by the first two digits of the MAC number:
    ``mac_prefix, jurisdiction, contractor, states, source``
    (``data/reference/mac_jurisdictions.csv``)."""
    return _mac_table().copy()


def _normalize_mac(values: pd.Series) -> pd.Series:
    s = pd.Series(values, copy=False).astype("string").str.strip()
    s = s.str.replace(r"\.0*$", "", regex=True)
    short = s.str.fullmatch(r"\d{1,4}").fillna(False).astype(bool)
    return s.mask(short, s.str.zfill(5))


def mac_jurisdiction(mac):
    """The A/B MAC jurisdiction (``JH``, ``JL``, ``JN``, ``JM``, ...) of a MAC number.

    MAC numbers that lost their leading zero (``4412``) or gained ``.0`` are
    accepted. Works on one value (returns str) or a Series (returns a string
    Series; missing stays missing).

    Examples
    --------
    >>> mac_jurisdiction("11502"), mac_jurisdiction(4412), mac_jurisdiction("12502")
    ('JM', 'JH', 'JL')
    """
    scalar = not isinstance(mac, pd.Series)
    s = _normalize_mac(pd.Series([mac]) if scalar else mac)
    mapping = _mac_table().set_index("mac_prefix")["jurisdiction"]
    result = s.str[:2].map(mapping).astype("string")
    bad = s.notna() & (~s.str.fullmatch(r"\d{5}").fillna(False) | result.isna())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy(dtype=bool))[0])
        raise InputError(
            "not a known A/B MAC number (5 digits; see data/reference/mac_jurisdictions.csv)",
            column="mac",
            value=(mac if scalar else mac.iloc[i]),
        )
    if scalar:
        if result.isna().iloc[0]:
            raise InputError("missing MAC number", column="mac", value=mac)
        return str(result.iloc[0])
    return result


def _national_row() -> dict:
    return {
        "mac": pd.NA,
        "state": "US",
        "locality": pd.NA,
        "locality_name": "NATIONAL (all GPCIs 1.0)",
        "gpci_work": 1.0,
        "gpci_pe": 1.0,
        "gpci_mp": 1.0,
    }


def _normalize_locality(values: pd.Series) -> pd.Series:
    s = pd.Series(values, copy=False).astype("string").str.strip()
    s = s.str.replace(r"\.0*$", "", regex=True).mask(lambda x: x.eq(""))
    short = s.str.fullmatch(r"\d").fillna(False).astype(bool)
    return s.mask(short, s.str.zfill(2))


def state_locality(
    state: str, *, locality: str | int | None = None, gpci: pd.DataFrame | None = None
) -> pd.Series:
    """The payment locality (MAC, locality, GPCIs, jurisdiction) of a state.

    Parameters
    ----------
    state : str
        Two-letter state, or ``"US"`` for national (all GPCIs 1.0).
    locality : str or int, optional
        Locality number; required when the state has several localities
        (``"1"``, ``1`` and ``"01"`` are the same).
    gpci : DataFrame, optional
        From :func:`load_gpci` (default: the bundled 2025 table).

    Returns
    -------
    Series
        ``mac, state, locality, locality_name, gpci_work, gpci_pe, gpci_mp,
        jurisdiction`` (MAC and jurisdiction missing for national).

    Examples
    --------
    >>> state_locality("NC")[["mac", "locality", "jurisdiction"]].tolist()
    ['11502', '00', 'JM']
    """
    gpci = load_gpci() if gpci is None else gpci
    st = str(state).strip().upper()
    if st in _NATIONAL:
        row = pd.Series(_national_row())
        return pd.concat([row, pd.Series({"jurisdiction": pd.NA})])
    rows = gpci.loc[gpci["state"].eq(st)]
    if rows.empty:
        raise InputError(
            "no payment locality for this state in the GPCI file (use a 2-letter state, "
            "or US for national)",
            file=gpci.attrs.get("source"),
            column="state",
            value=state,
        )
    if locality is None or (isinstance(locality, str) and not locality.strip()):
        if len(rows) > 1:
            options = ", ".join(
                f"{a} {b}" for a, b in zip(rows["locality"], rows["locality_name"], strict=True)
            )
            raise InputError(
                f"{st} has {len(rows)} payment localities; give one ({options})",
                column="locality",
                value=state,
            )
        row = rows.iloc[0]
    else:
        loc = _normalize_locality(pd.Series([str(locality)])).iloc[0]
        match = rows.loc[rows["locality"].eq(loc)]
        if match.empty:
            options = ", ".join(rows["locality"])
            raise InputError(
                f"no such locality in {st} (localities: {options})",
                column="locality",
                value=locality,
            )
        row = match.iloc[0]
    row = row[list(_GPCI_COLUMNS)]
    return pd.concat([row, pd.Series({"jurisdiction": mac_jurisdiction(row["mac"])})])


# --------------------------------------------------- components and settings


def component_from_modifiers(modifiers: pd.Series, *, errors: str = "raise") -> pd.Series:
    """The PFS component of each line from its modifiers.

    ``"26"`` when modifier 26 is present, ``"TC"`` when TC is, otherwise (no
    modifier, missing, or only other modifiers such as 59) ``"global"``. Modifiers may
    be separated by spaces, commas, semicolons, ``|``, ``/`` or ``+``, be lower case,
    carry a ``.0`` from a spreadsheet (``26.0``), or be run together (``2659``:
    modifiers are always two characters).

    Parameters
    ----------
    modifiers : Series
    errors : {"raise", "coerce"}
        A line with both 26 and TC is contradictory: raise :class:`InputError`
        naming it, or (``"coerce"``) return missing for it.

    Returns
    -------
    Series of string dtype, same index.

    Examples
    --------
    >>> component_from_modifiers(pd.Series(["26", "TC", "26 59", "59,TC", None, "59"])).tolist()
    ['26', 'TC', '26', 'TC', 'global', 'global']
    """
    if errors not in ("raise", "coerce"):
        raise ValueError("errors must be 'raise' or 'coerce'")
    original = pd.Series(modifiers, copy=False)
    s = original.astype("string").str.upper()
    s = s.str.replace(r"(?<![0-9A-Z.])(\d+)\.0+(?![0-9A-Z])", r"\1", regex=True)
    tokens = " " + s.str.replace(r"[^0-9A-Z]+", " ", regex=True).str.strip() + " "

    def has(mod: str) -> pd.Series:
        pattern = rf" (?:[0-9A-Z]{{2}})*{mod}(?:[0-9A-Z]{{2}})* "
        return tokens.str.contains(pattern, regex=True).fillna(False).astype(bool)

    has26, has_tc = has("26"), has("TC")
    both = has26 & has_tc
    result = pd.Series(
        np.where(has26, "26", np.where(has_tc, "TC", "global")),
        index=original.index,
        dtype="string",
    )
    if both.any():
        if errors == "raise":
            i = int(np.flatnonzero(both.to_numpy())[0])
            raise InputError(
                f"modifiers 26 and TC together on one line (line index {original.index[i]!r}; "
                f"{int(both.sum())} such lines): bill the global service or one component",
                column="modifiers",
                value=original.iloc[i],
            )
        result = result.mask(both)
    return result


@cache
def _facility_pos() -> frozenset[str]:
    table = pd.read_csv(REFERENCE_DIR / "pos_facility.csv", dtype=str)
    return frozenset(table.loc[table["setting"].eq("facility"), "pos"])


def facility_places_of_service() -> pd.DataFrame:
    """The CMS place-of-service codes paid at the PFS facility rate:
    ``pos, name, setting, source`` (``data/reference/pos_facility.csv``)."""
    return pd.read_csv(REFERENCE_DIR / "pos_facility.csv", dtype=str)


def setting_from_pos(place_of_service: pd.Series, *, errors: str = "raise") -> pd.Series:
    """``"facility"`` or ``"non_facility"`` from the CMS 2-digit place of service.

    Facility: the places of service in ``data/reference/pos_facility.csv`` (hospital
    inpatient 21, outpatient 19/22, ED 23, ASC 24, SNF 31, ...; Medicare Claims
    Processing Manual, Ch. 12, section 20.4.2). Every other valid code (office 11,
    independent diagnostic testing facility 81, ...) is non-facility. A missing or
    blank place of service is non-facility [assumption; see the module docstring].
    ``2`` and ``22.0`` are read as ``02`` and ``22``.

    Parameters
    ----------
    place_of_service : Series
    errors : {"raise", "coerce"}
        A value that is not a 1-2 digit code: raise :class:`InputError`, or
        (``"coerce"``) return missing for it.

    Examples
    --------
    >>> setting_from_pos(pd.Series(["11", "22", "2", None, "81", "23.0"])).tolist()
    ['non_facility', 'facility', 'facility', 'non_facility', 'non_facility', 'facility']
    """
    if errors not in ("raise", "coerce"):
        raise ValueError("errors must be 'raise' or 'coerce'")
    original = pd.Series(place_of_service, copy=False)
    s = original.astype("string").str.strip().str.replace(r"\.0*$", "", regex=True)
    blank = s.isna() | s.eq("")
    s = s.mask(s.str.fullmatch(r"\d").fillna(False).astype(bool), s.str.zfill(2))
    valid = s.str.fullmatch(r"\d{2}").fillna(False).astype(bool)
    result = pd.Series(
        np.where(
            s.isin(_facility_pos()).fillna(False).to_numpy(dtype=bool), "facility", "non_facility"
        ),
        index=original.index,
        dtype="string",
    )
    bad = ~blank & ~valid
    if bad.any():
        if errors == "raise":
            i = int(np.flatnonzero(bad.to_numpy(dtype=bool))[0])
            raise InputError(
                f"not a CMS 2-digit place of service code (line index {original.index[i]!r})",
                column="place_of_service",
                value=original.iloc[i],
            )
        result = result.mask(bad)
    return result


# ------------------------------------------------------------------------ price


def round_cents(amounts) -> np.ndarray:
    """Round USD amounts half up to the cent, as published PFS amounts are.

    The product is first rounded to 1e-6 cent so that binary floating-point error
    (``x.xx4999999``) cannot move an exact half cent down.

    Examples
    --------
    >>> round_cents([23.37358, 0.125, 8.78095]).tolist()
    [23.37, 0.13, 8.78]
    """
    a = np.asarray(amounts, dtype=float)
    return np.floor(np.round(a * 100.0, 6) + 0.5) / 100.0


def _bad_row(mask: np.ndarray, lines: pd.DataFrame) -> tuple[int, object, int]:
    """Position, index label and number of lines (with multiplicity) where ``mask``."""
    i = int(np.flatnonzero(mask)[0])
    weight = lines[_MULTIPLICITY].to_numpy() if _MULTIPLICITY in lines else np.ones(len(lines))
    return i, lines.index[i], int(weight[mask].sum())


def _known_values(
    values: pd.Series,
    raw: pd.Series,
    lines: pd.DataFrame,
    *,
    column: str,
    allowed: tuple[str, ...],
    expected: str,
) -> pd.Series:
    """``values`` (normalized ``raw``) if all are in ``allowed``, else InputError."""
    bad = ~values.isin(allowed).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i, label, count = _bad_row(bad, lines)
        raise InputError(
            f"{column} must be {expected} (line index {label!r}; {count} such lines)",
            column=column,
            value=raw.iloc[i],
        )
    return values


def _line_components(lines: pd.DataFrame) -> pd.Series:
    if "component" in lines:
        raw = pd.Series(lines["component"], copy=False).astype("string").str.strip()
        comp = raw.str.upper().str.lstrip("-")
        comp = comp.mask(comp.isna() | comp.isin(["", "GLOBAL"]), "global")
        return _known_values(comp, raw, lines, column="component", allowed=COMPONENTS,
                             expected="'global', '26' or 'TC'")
    if "modifiers" in lines:
        return component_from_modifiers(lines["modifiers"])
    return pd.Series("global", index=lines.index, dtype="string")


def _line_settings(lines: pd.DataFrame) -> pd.Series:
    if "setting" in lines:
        raw = pd.Series(lines["setting"], copy=False).astype("string").str.strip()
        key = raw.str.lower().str.replace(r"[\s-]+", "_", regex=True)
        setting = key.replace({"f": "facility", "o": "non_facility", "nonfacility": "non_facility"})
        return _known_values(setting, raw, lines, column="setting", allowed=SETTINGS,
                             expected="'facility' or 'non_facility'")
    if "place_of_service" in lines:
        return setting_from_pos(lines["place_of_service"])
    return pd.Series("non_facility", index=lines.index, dtype="string")


def _line_dates(lines: pd.DataFrame) -> pd.Series:
    for column in ("service_date", "year"):
        if column in lines:
            when = _as_dates(lines[column], column=column)
            missing = when.isna().to_numpy(dtype=bool)
            if missing.any():
                i, label, count = _bad_row(missing, lines)
                raise InputError(
                    f"missing {column} (line index {label!r}; {count} such lines)",
                    column=column,
                )
            return when
    raise InputError(
        "lines need a service_date or year column to choose the conversion factor",
        column="service_date",
    )


def _line_gpcis(lines: pd.DataFrame, gpci: pd.DataFrame) -> pd.DataFrame:
    """GPCIs per line, from ``mac`` + ``locality`` or from ``state`` (+ ``locality``)."""
    keys = ["mac", "state", "locality", "locality_name", "gpci_work", "gpci_pe", "gpci_mp"]
    index = lines.index
    source = gpci.attrs.get("source")
    if "mac" in lines and "locality" in lines and "state" not in lines:
        left = pd.DataFrame({
            "mac": _normalize_mac(lines["mac"]).to_numpy(),
            "locality": _normalize_locality(lines["locality"]).to_numpy(),
        }).astype("string")  # fmt: skip
        merged = left.merge(gpci[keys], on=["mac", "locality"], how="left", validate="many_to_one")
        bad = merged["gpci_work"].isna().to_numpy(dtype=bool)
        if bad.any():
            i, label, count = _bad_row(bad, lines)
            raise InputError(
                f"no such MAC and locality in the GPCI file (line index {label!r}; "
                f"{count} such lines)",
                file=source,
                column="mac, locality",
                value=f"{lines['mac'].iloc[i]} {lines['locality'].iloc[i]}",
            )
        return merged[keys]
    if "state" not in lines:
        raise InputError(
            "lines need a state column (US for national) or mac and locality columns",
            column="state",
        )
    state = pd.Series(lines["state"], copy=False).astype("string").str.strip().str.upper()
    missing = (state.isna() | state.eq("")).to_numpy(dtype=bool)
    if missing.any():
        i, label, count = _bad_row(missing, lines)
        raise InputError(
            f"missing state (line index {label!r}; {count} such lines): give the practice "
            "state, or US to price nationally",
            column="state",
        )
    locality = (
        _normalize_locality(lines["locality"])
        if "locality" in lines
        else pd.Series(pd.NA, index=index, dtype="string")
    )
    national = state.isin(_NATIONAL).to_numpy(dtype=bool)
    counts = gpci["state"].value_counts()
    known = state.isin(counts.index).to_numpy(dtype=bool)
    bad = ~national & ~known
    if bad.any():
        i, label, count = _bad_row(bad, lines)
        raise InputError(
            f"no payment locality for this state in the GPCI file (line index {label!r}; "
            f"{count} such lines); use a 2-letter state, or US for national",
            file=source,
            column="state",
            value=lines["state"].iloc[i],
        )
    n_localities = state.map(counts).fillna(0).to_numpy(dtype=int)
    need = ~national & locality.isna().to_numpy(dtype=bool)
    ambiguous = need & (n_localities > 1)
    if ambiguous.any():
        i, label, count = _bad_row(ambiguous, lines)
        st = state.iloc[i]
        options = ", ".join(gpci.loc[gpci["state"].eq(st), "locality"])
        raise InputError(
            f"{st} has several payment localities ({options}); add a locality column "
            f"(line index {label!r}; {count} such lines)",
            column="locality",
            value=st,
        )
    single = gpci.loc[gpci["state"].map(counts).eq(1)].set_index("state")["locality"]
    locality = locality.mask(pd.Series(need, index=index), state.map(single))
    left = pd.DataFrame({
        "state": state.mask(pd.Series(national, index=index)).to_numpy(),
        "locality": locality.to_numpy(),
    }).astype("string")  # fmt: skip
    merged = left.merge(gpci[keys], on=["state", "locality"], how="left", validate="many_to_one")
    bad = ~national & merged["gpci_work"].isna().to_numpy(dtype=bool)
    if bad.any():
        i, label, count = _bad_row(bad, lines)
        raise InputError(
            f"no such locality in this state in the GPCI file (line index {label!r}; "
            f"{count} such lines)",
            file=source,
            column="locality",
            value=f"{state.iloc[i]} {locality.iloc[i]}",
        )
    nat = _national_row()
    national_s = pd.Series(national)
    for name, value in nat.items():
        if name in ("gpci_work", "gpci_pe", "gpci_mp"):
            merged[name] = merged[name].mask(national_s, value)
        else:
            merged[name] = merged[name].astype("string").mask(national_s, value)
    return merged[keys]


def price(
    lines: pd.DataFrame,
    *,
    rvu: pd.DataFrame | None = None,
    gpci: pd.DataFrame | None = None,
    qualifying_apm: bool = False,
) -> pd.DataFrame:
    """Medicare PFS allowed amount of each line, vectorized.

    ``medicare_usd = round_half_up([(work_rvu x gpci_work) + (pe_rvu x gpci_pe) +
    (mp_rvu x gpci_mp)] x conversion_factor, cents)``, where ``pe_rvu`` is the
    facility PE RVU in the facility setting and the non-facility PE RVU otherwise.

    Parameters
    ----------
    lines : DataFrame
        ``cpt_code``; ``component`` ("global" | "26" | "TC"; or ``modifiers``, read
        with :func:`component_from_modifiers`; neither: global); ``setting``
        ("facility" | "non_facility", also PUF-style "F"/"O"; or
        ``place_of_service``, read with :func:`setting_from_pos`; neither:
        non-facility); ``state`` (``"US"`` = national, all GPCIs 1.0) with
        ``locality`` where the state has several, or ``mac`` + ``locality``; and
        ``service_date`` or ``year`` (a year stands for 1 July).
    rvu, gpci : DataFrame, optional
        From :func:`load_rvu` / :func:`load_gpci` (default: the bundled 2025 files).
        The RVUs of the ``rvu`` table are used whatever the date; a line dated in
        another year than the RVU file says so in ``note``.
    qualifying_apm : bool, default False
        2026 on: price with the qualifying APM participant conversion factor.

    Returns
    -------
    DataFrame
        Same index as ``lines``: ``cpt_code, component, setting, mac, state,
        locality, locality_name, work_rvu, pe_rvu, mp_rvu, gpci_work, gpci_pe,
        gpci_mp, conversion_factor, medicare_usd`` (NaN where not payable),
        ``payable`` (bool) and ``note`` ("" when payable and nothing to say;
        otherwise why not, e.g. facility global/TC not paid under the PFS).

    Raises
    ------
    InputError
        Missing columns, an unknown state or locality, a state with several
        localities and no locality, an unknown component/setting, a date outside the
        known conversion factors.

    Examples
    --------
    >>> lines = pd.DataFrame({"cpt_code": ["76376"] * 3, "component": ["global", "26", "TC"],
    ...                       "setting": "non_facility", "state": "NC",
    ...                       "service_date": pd.Timestamp("2025-06-01")})
    >>> price(lines)["medicare_usd"].tolist()
    [23.37, 8.78, 14.59]
    """
    if "cpt_code" not in lines:
        raise InputError("lines need a cpt_code column", column="cpt_code")
    rvu = load_rvu() if rvu is None else rvu
    gpci = load_gpci() if gpci is None else gpci
    inputs = [c for c in _PRICE_INPUTS if c in lines.columns]
    if len(lines) <= 1000:
        return _price_distinct(lines[inputs], rvu, gpci, qualifying_apm)
    group = lines[inputs].groupby(inputs, dropna=False, sort=False).ngroup().to_numpy()
    _, first, inverse, counts = np.unique(
        group, return_index=True, return_inverse=True, return_counts=True
    )
    distinct = lines[inputs].iloc[first].assign(**{_MULTIPLICITY: counts})
    priced = _price_distinct(distinct, rvu, gpci, qualifying_apm)
    return priced.iloc[inverse].set_axis(lines.index)


def _price_distinct(
    lines: pd.DataFrame, rvu: pd.DataFrame, gpci: pd.DataFrame, qualifying_apm: bool
) -> pd.DataFrame:
    index = lines.index
    code = normalize_cpt(lines["cpt_code"])
    component = _line_components(lines)
    setting = _line_settings(lines)
    when = _line_dates(lines)
    cf = conversion_factor(when, qualifying_apm=qualifying_apm).to_numpy(dtype=float)
    geo = _line_gpcis(lines, gpci)

    rvu_cols = [
        "cpt_code", "modifier", "status_code", "not_used_for_medicare_payment", "work_rvu",
        "pe_rvu_non_facility", "pe_rvu_facility", "mp_rvu", "non_facility_na", "facility_na",
    ]  # fmt: skip
    keys = pd.DataFrame({
        "cpt_code": code.to_numpy(),
        "modifier": component.map(_MODIFIER_OF_COMPONENT).to_numpy(),
    }).astype("string")  # fmt: skip
    table = rvu[rvu_cols].astype({"cpt_code": "string", "modifier": "string"})
    merged = keys.merge(table, on=["cpt_code", "modifier"], how="left", validate="many_to_one")

    found = merged["status_code"].notna().to_numpy(dtype=bool)
    facility = setting.eq("facility").to_numpy(dtype=bool)
    status = merged["status_code"].astype("string").fillna("").to_numpy(dtype=object)
    status_ok = np.isin(status, list(PAYABLE_STATUS_CODES))
    not_used = merged["not_used_for_medicare_payment"].astype("string").fillna("").ne("")
    not_used = not_used.to_numpy(dtype=bool)
    fac_na = merged["facility_na"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    nonfac_na = merged["non_facility_na"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    setting_na = np.where(facility, fac_na, nonfac_na)

    work = merged["work_rvu"].to_numpy(dtype=float, na_value=np.nan)
    pe = np.where(
        facility,
        merged["pe_rvu_facility"].to_numpy(dtype=float, na_value=np.nan),
        merged["pe_rvu_non_facility"].to_numpy(dtype=float, na_value=np.nan),
    )
    mp = merged["mp_rvu"].to_numpy(dtype=float, na_value=np.nan)
    gw, gp, gm = (geo[c].to_numpy(dtype=float) for c in ("gpci_work", "gpci_pe", "gpci_mp"))
    amount = round_cents((work * gw + pe * gp + mp * gm) * cf)

    payable = found & status_ok & ~not_used & ~setting_na & np.isfinite(amount)
    note = np.full(len(lines), "", dtype=object)
    note[found & setting_na & facility] = NOTE_FACILITY_NA
    note[found & setting_na & ~facility] = NOTE_NON_FACILITY_NA
    note[found & status_ok & not_used] = "RVUs marked not used for Medicare payment"
    status_reason = found & ~status_ok
    for s in np.unique(status[status_reason]):
        label = {"C": "carrier-priced (no national RVUs)"}.get(s, "not paid under the PFS")
        note[status_reason & (status == s)] = f"status code {s}: {label}"
    note[~found] = np.where(code.isna().to_numpy(dtype=bool)[~found], "missing CPT code",
                            NOTE_NOT_IN_FILE)  # fmt: skip
    rvu_year = rvu.attrs.get("year")
    if rvu_year is not None:
        years = when.dt.year.to_numpy()
        for y in np.unique(years[found & (years != rvu_year)]):
            at = found & (years == y)
            suffix = f"RVUs of the {rvu_year} file priced with the {y} conversion factor"
            note[at] = np.where(note[at] == "", suffix, note[at] + "; " + suffix)

    return pd.DataFrame(
        {
            "cpt_code": code.to_numpy(),
            "component": component.to_numpy(),
            "setting": setting.to_numpy(),
            "mac": geo["mac"].to_numpy(),
            "state": geo["state"].to_numpy(),
            "locality": geo["locality"].to_numpy(),
            "locality_name": geo["locality_name"].to_numpy(),
            "work_rvu": work,
            "pe_rvu": pe,
            "mp_rvu": mp,
            "gpci_work": gw,
            "gpci_pe": gp,
            "gpci_mp": gm,
            "conversion_factor": cf,
            "medicare_usd": np.where(payable, amount, np.nan),
            "payable": payable,
            "note": note,
        },
        index=index,
    ).astype({c: "string" for c in (
        "cpt_code", "component", "setting", "mac", "state", "locality", "locality_name", "note",
    )})  # fmt: skip


# -------------------------------------------------------------------- fee table


@dataclass(frozen=True, eq=False)
class FeeTable:
    """Medicare PFS amounts of one code: component (global / -26 / -TC) x setting.

    Attributes
    ----------
    code, description : str
    locality : pandas Series
        From :func:`state_locality` (MAC, state, locality, name, GPCIs, jurisdiction).
    service_date : datetime.date
        The date whose conversion factor is used (1 July for a year alone).
    conversion_factor : float
    detail : DataFrame
        :func:`price` output for every component x setting, plus
        ``pe_rvu_non_facility``, ``pe_rvu_facility``, ``non_facility_na`` and
        ``facility_na``.
    rvu_source, gpci_source : str
    rvu_year : int or None
    """

    code: str
    description: str
    locality: pd.Series
    service_date: dt.date
    conversion_factor: float
    detail: pd.DataFrame
    rvu_source: str
    gpci_source: str
    rvu_year: int | None
    year_only: bool = False
    qualifying_apm: bool = False

    @property
    def summary(self) -> pd.DataFrame:
        """One row per component (``global``, ``26``, ``TC``): the RVUs and the
        ``non_facility_usd`` / ``facility_usd`` amounts (NaN where not payable)."""
        d = self.detail
        first = d.drop_duplicates("component").set_index("component")
        amounts = d.pivot(index="component", columns="setting", values="medicare_usd")
        out = pd.DataFrame(
            {
                "work_rvu": first["work_rvu"],
                "pe_rvu_non_facility": first["pe_rvu_non_facility"],
                "pe_rvu_facility": first["pe_rvu_facility"],
                "mp_rvu": first["mp_rvu"],
                "non_facility_usd": amounts["non_facility"],
                "facility_usd": amounts["facility"],
            }
        )
        order = [c for c in COMPONENTS if c in out.index]
        return out.loc[order].rename_axis("component")

    def _heading(self) -> list[str]:
        loc = self.locality
        if pd.isna(loc["mac"]):
            where = "national (all GPCIs 1.0)"
        else:
            where = (
                f"{loc['state']} locality {loc['locality']} {loc['locality_name']}, "
                f"MAC {loc['mac']} (jurisdiction {loc['jurisdiction']})"
            )
        year = self.service_date.year
        when = f"year {year}" if self.year_only else f"service date {self.service_date:%Y-%m-%d}"
        apm = ", qualifying APM participant" if self.qualifying_apm else ""
        heading = [
            f"CPT {self.code} {self.description}",
            f"Medicare PFS, {where}",
            f"Conversion factor ${self.conversion_factor:.4f} per RVU ({when}{apm}); "
            f"GPCI work {loc['gpci_work']:.3f}, PE {loc['gpci_pe']:.3f}, MP {loc['gpci_mp']:.3f}",
        ]
        table = _cf_table()
        status = "qualifying" if self.qualifying_apm else "non_qualifying"
        in_year = table.loc[
            table["start_date"].dt.year.eq(year) & table["apm_status"].isin(["all", status])
        ]
        if self.year_only and len(in_year) > 1:
            periods = "; ".join(
                f"{r.conversion_factor:.4f} from {r.start_date:%Y-%m-%d} to {r.end_date:%Y-%m-%d}"
                for r in in_year.itertuples()
            )
            heading.append(
                f"{year} has {len(in_year)} conversion factors ({periods}); shown: the one in "
                "effect on 1 July. Give a service date for the other."
            )
        return heading

    def to_text(self) -> str:
        """The table as fixed-width text (what ``rad3d fees`` prints)."""
        s = self.summary
        na_fac = self.detail.drop_duplicates("component").set_index("component")["facility_na"]
        na_non = self.detail.drop_duplicates("component").set_index("component")["non_facility_na"]

        def usd(x: float) -> str:
            return "NA" if pd.isna(x) else f"${x:,.2f}"

        header = ("component", "work RVU", "PE RVU non-fac", "PE RVU fac", "MP RVU",
                  "non-facility", "facility")  # fmt: skip
        body = [
            (
                "global" if comp == "global" else f"-{comp}",
                f"{row.work_rvu:.2f}",
                "NA" if na_non[comp] else f"{row.pe_rvu_non_facility:.2f}",
                "NA" if na_fac[comp] else f"{row.pe_rvu_facility:.2f}",
                f"{row.mp_rvu:.2f}",
                usd(row.non_facility_usd),
                usd(row.facility_usd),
            )
            for comp, row in s.iterrows()
        ]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        fmt = lambda r: "  ".join(  # noqa: E731
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        notes = sorted({part for n in self.detail["note"] if n for part in n.split("; ")})
        lines = [
            *self._heading(),
            "",
            fmt(header),
            *(fmt(r) for r in body),
            "",
            "Amount = [(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF, "
            "rounded half up to the cent.",
            *(f"NA: {n}" if _is_na_note(n) else f"Note: {n}" for n in notes),
            f"RVUs: {self.rvu_source}" + (f" ({self.rvu_year} file)" if self.rvu_year else ""),
            f"GPCIs: {self.gpci_source}",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        heading = "<br>".join(self._heading())
        table = self.summary.to_html(float_format=lambda x: f"{x:,.2f}", na_rep="NA")
        foot = "<p>NA: not payable under the PFS in that setting.</p>"
        return f"<div><p>{heading}</p>{table}{foot}</div>"


def _is_na_note(note: str) -> bool:
    return note in (NOTE_FACILITY_NA, NOTE_NON_FACILITY_NA) or note.startswith("status code")


def fee_table(
    code: str,
    *,
    state: str = "US",
    locality: str | int | None = None,
    year: int | None = None,
    date: str | dt.date | None = None,
    rvu: pd.DataFrame | None = None,
    gpci: pd.DataFrame | None = None,
    qualifying_apm: bool = False,
) -> FeeTable:
    """The global / -26 / -TC x non-facility / facility Medicare amounts of one code.

    Parameters
    ----------
    code : str
        CPT/HCPCS code (e.g. ``"76377"``).
    state : str, default "US"
        Two-letter state, or ``"US"`` for national (all GPCIs 1.0).
    locality : str or int, optional
        Required where the state has several payment localities.
    year, date : optional
        The conversion factor's year (1 July) or exact date; default the RVU file's
        year. Give at most one.
    rvu, gpci : DataFrame, optional
        From :func:`load_rvu` / :func:`load_gpci` (default: the bundled 2025 files).
    qualifying_apm : bool, default False
        2026 on: the qualifying APM participant conversion factor.

    Returns
    -------
    FeeTable
        ``.summary`` (components x amounts), ``.detail``, ``.to_text()``.

    Raises
    ------
    InputError
        Code not in the RVU file, unknown state/locality, date outside the known
        conversion factors.

    Examples
    --------
    >>> fee_table("76377", state="NC", year=2025).summary["non_facility_usd"].tolist()
    [72.67, 35.1, 37.57]
    """
    rvu = load_rvu() if rvu is None else rvu
    gpci = load_gpci() if gpci is None else gpci
    if year is not None and date is not None:
        raise InputError("give a year or a date, not both", column="date", value=date)
    norm = normalize_cpt(pd.Series([str(code)])).iloc[0]
    rows = rvu.loc[rvu["cpt_code"].eq(norm) & rvu["modifier"].isin(["", "26", "TC"])]
    if rows.empty:
        raise InputError(
            "CPT/HCPCS code not in the PFS relative value file (check the code, or give "
            "the full CMS file with --rvu)",
            file=rvu.attrs.get("source"),
            column="HCPCS",
            value=code,
        )
    if date is None:
        if year is None:
            year = rvu.attrs.get("year")
            if year is None:
                raise InputError("the RVU file's title names no year; give the year", column="year")
        when = _as_dates(pd.Series([int(year)]), column="year").iloc[0]
    else:
        when = _as_dates(pd.Series([str(date)]), column="date").iloc[0]
    conversion_factor(date if date is not None else int(year), qualifying_apm=qualifying_apm)
    where = state_locality(state, locality=locality, gpci=gpci)
    components = [c for c in COMPONENTS if _MODIFIER_OF_COMPONENT[c] in set(rows["modifier"])]
    grid = pd.DataFrame(
        [(c, s) for c in components for s in SETTINGS], columns=["component", "setting"]
    )
    lines = grid.assign(cpt_code=norm, state=where["state"], service_date=when)
    if not pd.isna(where["mac"]):
        lines = lines.drop(columns="state").assign(mac=where["mac"], locality=where["locality"])
    priced = price(lines, rvu=rvu, gpci=gpci, qualifying_apm=qualifying_apm)
    extra = rows.assign(
        component=rows["modifier"].map({v: k for k, v in _MODIFIER_OF_COMPONENT.items()})
    )[["component", "pe_rvu_non_facility", "pe_rvu_facility", "non_facility_na", "facility_na"]]
    detail = priced.merge(extra.astype({"component": "string"}), on="component", how="left")
    return FeeTable(
        code=norm,
        description=str(rows["description"].iloc[0]),
        locality=where,
        service_date=when.date(),
        conversion_factor=float(priced["conversion_factor"].iloc[0]),
        detail=detail,
        rvu_source=str(rvu.attrs.get("source", "")),
        gpci_source=str(gpci.attrs.get("source", "")),
        rvu_year=rvu.attrs.get("year"),
        year_only=date is None,
        qualifying_apm=qualifying_apm,
    )
