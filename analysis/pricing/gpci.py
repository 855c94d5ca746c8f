"""The CMS GPCI table (PFS final rule Addendum E) reader and its repairs.

:func:`read_gpci` reads the table in its real layout (title, blank line, header,
footer notes) and restores the leading zeros that spreadsheets strip from MAC and
locality numbers (``1112`` -> ``01112``, ``0`` -> ``00``), keeping the numbers as read
beside them; :func:`gpci_repairs` lists the repairs. Anything it cannot read raises
:class:`analysis.errors.InputError` naming the file, row, column and value.

References
----------
CMS, CY 2025 PFS final rule (CMS-1807-F), Addendum E: GPCIs by state and Medicare
locality (MAC assignments as of 2023-11-22).
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError, first_bad_row
from analysis.pricing.csv_files import HEADER_SEARCH_LINES, csv_records, read_text

__all__ = ["GPCI_COLUMNS", "gpci_repairs", "read_gpci"]

GPCI_COLUMNS: tuple[str, ...] = (
    "mac", "state", "locality", "locality_name", "gpci_work", "gpci_pe", "gpci_mp",
)  # fmt: skip
"""The columns that locate and price a payment locality, in every GPCI table."""

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


def read_gpci(path: str | PathLike[str]) -> pd.DataFrame:
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
    path : path-like
        The Addendum E CSV (:func:`analysis.pricing.load_gpci` reads the bundled 2025
        table, once).

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
    """
    what = "CMS GPCI file (PFS Addendum E CSV)"
    path = Path(path)
    rows = csv_records(read_text(path, what))
    header_at, positions = None, {}
    for i, (_, cells) in enumerate(rows[:HEADER_SEARCH_LINES]):
        found = {}
        for j, cell in enumerate(cells):
            name = _gpci_column(cell)
            if name is not None and name not in found:
                found[name] = j
        if set(found) >= set(GPCI_COLUMNS):
            header_at, positions = i, found
            break
    if header_at is None:
        raise InputError(
            "no header row labelling MAC, State, Locality Number, Locality Name and the "
            f"PW, PE and MP GPCIs in the first {HEADER_SEARCH_LINES} lines: not a {what}",
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
    columns = [*GPCI_COLUMNS, "source_row", "mac_as_read", "locality_as_read"]
    table = pd.DataFrame.from_records(records, columns=columns)
    table = table.astype(
        {c: "string" for c in columns if c not in GPCI_COLUMNS[4:] + ("source_row",)}
    )
    dup = table.duplicated(["mac", "locality"])
    if dup.any():
        i = first_bad_row(dup)
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
    """The MAC and locality numbers :func:`read_gpci` repaired, one row per repair.

    Returns
    -------
    DataFrame
        ``row`` (line in the file), ``column`` (``mac`` or ``locality``), ``value``
        (as read) and ``repaired``.

    Examples
    --------
    >>> from analysis.pricing import load_gpci
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

