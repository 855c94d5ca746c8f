"""From rendering NPIs to practices: the user's crosswalk and the roll-up.

The provider file has no group identifier: a row belongs to one rendering NPI.
:func:`assign_practices` makes each NPI its own practice, keeps organization NPIs
only, or maps NPIs to practices with a crosswalk the user supplies
(:func:`read_crosswalk`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Literal

import pandas as pd

from analysis.errors import InputError, first_bad_row
from analysis.npi import valid_npi

__all__ = ["PracticeRollup", "assign_practices", "read_crosswalk"]


_NPI_ALIAS = "npi"
"""The crosswalk's former name of ``rendering_npi``, still accepted."""


def _npi_column(columns, *, file: Path | None = None) -> str:
    """The name of a crosswalk's rendering-NPI column: ``rendering_npi``, or ``npi``."""
    if "rendering_npi" in columns and _NPI_ALIAS in columns:
        raise InputError("the crosswalk has both rendering_npi and npi columns: keep one",
                         file=file, row=1, column=_NPI_ALIAS)
    return "rendering_npi" if "rendering_npi" in columns else _NPI_ALIAS


def read_crosswalk(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a user rendering NPI -> practice crosswalk CSV.

    The file needs columns ``rendering_npi`` (or ``npi``, its name in earlier
    releases) and ``practice_id`` (``practice_name`` optional); NPIs are read as text
    (a spreadsheet that saved ``1234567893.0`` or ``1.234567893E9`` is repaired when
    the value is unambiguous).

    Returns
    -------
    DataFrame
        ``rendering_npi, practice_id, practice_name``, one row per NPI.

    Raises
    ------
    InputError
        Missing columns, an NPI that is not 10 digits with a valid check digit, a blank
        practice, or one NPI mapped to two practices.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("crosswalk file not found", file=path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    table = table.rename(columns={c: c.strip().lower() for c in table.columns})
    npi_col = _npi_column(table.columns, file=path)
    for col in (npi_col, "practice_id"):
        if col not in table.columns:
            raise InputError(
                "the crosswalk needs columns rendering_npi (or npi) and practice_id "
                f"(found {list(table.columns)})",
                file=path,
                row=1,
                column="rendering_npi" if col == npi_col else col,
            )
    raw = table[npi_col].astype("string").str.strip()
    as_number = pd.to_numeric(raw, errors="coerce")
    repaired = raw.mask(
        ~raw.str.fullmatch(r"\d{10}").fillna(False) & as_number.notna()
        & (as_number == as_number.round()),
        as_number.round().astype("Int64").astype("string"),
    )
    out = pd.DataFrame(
        {
            "rendering_npi": repaired,
            "practice_id": table["practice_id"].astype("string").str.strip(),
            "practice_name": (
                table["practice_name"].astype("string").str.strip()
                if "practice_name" in table.columns
                else table["practice_id"].astype("string").str.strip()
            ),
        }
    )
    bad_npi = ~valid_npi(out["rendering_npi"])
    if bad_npi.any():
        i = first_bad_row(bad_npi)
        raise InputError(
            "not a 10-digit NPI with a valid check digit",
            file=path, row=i + 2, column=npi_col, value=raw.iloc[i],
        )
    blank = out["practice_id"].eq("")
    if blank.any():
        i = first_bad_row(blank)
        raise InputError("blank practice_id", file=path, row=i + 2, column="practice_id", value="")
    conflict = out.drop_duplicates(["rendering_npi", "practice_id"]).duplicated(
        "rendering_npi", keep=False)
    if conflict.any():
        i = first_bad_row(conflict)
        raise InputError(
            "this NPI is mapped to more than one practice; keep one row per NPI",
            file=path, row=i + 2, column=npi_col, value=out["rendering_npi"].iloc[i],
        )
    return out.drop_duplicates("rendering_npi").reset_index(drop=True)


@dataclass(frozen=True)
class PracticeRollup:
    """Provider-file rows assigned to practices.

    Attributes
    ----------
    lines : DataFrame
        The input rows kept, with ``practice_id`` and ``practice_name`` added.
    unmatched : DataFrame
        Rendering NPIs absent from the crosswalk (``crosswalk`` roll-up only):
        ``rendering_npi, provider_name, state, n_rows, services``; empty otherwise.
    rollup : str
        ``"npi"``, ``"organization"`` or ``"crosswalk"``.
    counts : dict
        ``rows_in, rows_kept, rows_dropped`` and ``npis_unmatched``.
    """

    lines: pd.DataFrame
    unmatched: pd.DataFrame
    rollup: str
    counts: Mapping[str, int]

    @property
    def summary(self) -> pd.DataFrame:
        """The counts as a two-column table (``item, value``)."""
        return pd.DataFrame({"item": list(self.counts), "value": list(self.counts.values())})

    def _repr_html_(self) -> str:
        return f"<p>Roll-up: <b>{self.rollup}</b></p>" + self.summary.to_html(index=False)


def assign_practices(
    lines: pd.DataFrame,
    *,
    rollup: Literal["npi", "organization", "crosswalk"] = "npi",
    crosswalk: pd.DataFrame | None = None,
    unmatched: Literal["own", "drop"] = "own",
) -> PracticeRollup:
    """Roll provider-file rows up from rendering NPI to practice.

    Parameters
    ----------
    lines : DataFrame
        :attr:`PufRead.lines`.
    rollup : {"npi", "organization", "crosswalk"}
        ``"npi"``: each rendering NPI is its own practice (the file has no group
        identifier). ``"organization"``: only organization rows
        (``Rndrng_Prvdr_Ent_Cd == "O"``: groups, IDTFs billing under an
        organizational NPI) are kept, each organization NPI a practice; individual
        rows are dropped and counted. ``"crosswalk"``: ``crosswalk`` maps NPIs to
        practices (implied when ``crosswalk`` is given).
    crosswalk : DataFrame, optional
        ``rendering_npi, practice_id[, practice_name]`` (see :func:`read_crosswalk`;
        a column ``npi`` is read as ``rendering_npi``).
    unmatched : {"own", "drop"}
        Crosswalk roll-up: an NPI not in the crosswalk stays its own practice
        (``"own"``, practice_id = the NPI) or is dropped; either way it is listed in
        :attr:`PracticeRollup.unmatched`.
    """
    if crosswalk is not None:
        rollup = "crosswalk"
    if rollup not in ("npi", "organization", "crosswalk"):
        raise InputError("rollup must be npi, organization or crosswalk", value=rollup)
    if unmatched not in ("own", "drop"):
        raise InputError("unmatched must be 'own' or 'drop'", value=unmatched)
    empty_unmatched = pd.DataFrame(
        {c: pd.Series(dtype=t) for c, t in [("rendering_npi", "string"),
                                            ("provider_name", "string"),
                                            ("state", "string"), ("n_rows", "int64"),
                                            ("services", "float64")]}
    )
    rows_in = len(lines)
    if rollup == "npi":
        out = lines.assign(practice_id=lines["rendering_npi"],
                           practice_name=lines["provider_name"])
        missing = empty_unmatched
    elif rollup == "organization":
        out = lines.loc[lines["entity_code"].eq("O")]
        out = out.assign(practice_id=out["rendering_npi"], practice_name=out["provider_name"])
        missing = empty_unmatched
    else:
        if crosswalk is None:
            raise InputError(
                "the crosswalk roll-up needs a crosswalk (rendering_npi, practice_id)")
        crosswalk = crosswalk.rename(
            columns={_npi_column(crosswalk.columns): "rendering_npi"})
        cw = crosswalk.loc[:, ["rendering_npi", "practice_id"]].assign(
            practice_name=crosswalk["practice_name"]
            if "practice_name" in crosswalk.columns
            else crosswalk["practice_id"]
        ).astype("string")
        merged = lines.merge(cw, on="rendering_npi", how="left", validate="many_to_one")
        no_match = merged["practice_id"].isna()
        missing = (
            merged.loc[no_match]
            .groupby(["rendering_npi", "provider_name", "state"], as_index=False,
                     observed=True)
            .agg(n_rows=("cpt_code", "size"), services=("services", "sum"))
            .astype({"n_rows": "int64"})
            .sort_values("services", ascending=False)
            .reset_index(drop=True)
        )
        if unmatched == "own":
            out = merged.assign(
                practice_id=merged["practice_id"].fillna(merged["rendering_npi"]),
                practice_name=merged["practice_name"].fillna(merged["provider_name"]),
            )
        else:
            out = merged.loc[~no_match]
    out = out.reset_index(drop=True)
    counts = {
        "rows_in": rows_in,
        "rows_kept": len(out),
        "rows_dropped": rows_in - len(out),
        "npis_unmatched": len(missing),
        "practices": int(out["practice_id"].nunique()),
    }
    return PracticeRollup(lines=out, unmatched=missing, rollup=rollup, counts=counts)

