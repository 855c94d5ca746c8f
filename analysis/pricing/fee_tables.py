"""One code's Medicare PFS amounts by component and setting: :class:`FeeTable`, as
``rad3d fees`` prints it, and :func:`fee_table`, which builds it.

The table holds global / -26 / -TC x non-facility / facility for one locality and
one date (a year alone stands for 1 July), priced with :func:`analysis.pricing.price`
from the fee schedule files of that year: the bundled ones
(:func:`analysis.pricing.bundled_schedule`: RVUs 2025 and 2026, GPCIs 2025, the latest
file up to the year) unless other tables are given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from analysis.codes import normalize_cpt
from analysis.errors import InputError
from analysis.pricing.bundled import bundled_schedule, select_vintage, vintage_for, vintages
from analysis.pricing.components import COMPONENTS, MODIFIER_OF_COMPONENT, SETTINGS
from analysis.pricing.prices import NOTE_FACILITY_NA, NOTE_NON_FACILITY_NA, price
from analysis.pricing.tables import (
    as_dates,
    conversion_factor,
    conversion_factors,
    state_locality,
)

__all__ = ["FeeTable", "fee_table"]


@dataclass(frozen=True, eq=False)
class FeeTable:
    """Medicare PFS amounts of one code: component (global / -26 / -TC) x setting.

    Attributes
    ----------
    code, description : str
    locality : pandas Series
        From :func:`~analysis.pricing.tables.state_locality` (MAC, state, locality,
        name, GPCIs, jurisdiction).
    service_date : datetime.date
        The date whose conversion factor is used (1 July for a year alone).
    conversion_factor : float
    detail : DataFrame
        :func:`~analysis.pricing.price` output for every component x setting, plus
        ``pe_rvu_non_facility``, ``pe_rvu_facility``, ``non_facility_na`` and
        ``facility_na``.
    rvu_source, gpci_source : str
    rvu_year, gpci_year : int or None
        The years of the relative value and GPCI files used (the latest up to the
        service year).
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
    gpci_year: int | None = None
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
        table = conversion_factors()
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
            "GPCIs: national, all 1.0"
            if pd.isna(self.locality["mac"])
            else f"GPCIs: {self.gpci_source}"
            + (f" ({self.gpci_year} file)" if self.gpci_year else ""),
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
        The service year (1 July) or exact date, which chooses the conversion factor
        and the RVU and GPCI files (the latest up to that year); default the year of
        the latest RVU file. Give at most one.
    rvu, gpci : DataFrame, optional
        From :func:`~analysis.pricing.load_rvu` / :func:`~analysis.pricing.load_gpci`
        (one file, used whatever the year) or the fields of a
        :class:`~analysis.pricing.FeeSchedule`; default: the bundled files of every
        year.
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
    >>> fee_table("76377", year=2026).summary["non_facility_usd"].tolist()
    [78.83, 37.07, 41.75]
    """
    schedule = bundled_schedule()
    rvu = schedule.rvu if rvu is None else rvu
    gpci = schedule.gpci if gpci is None else gpci
    if year is not None and date is not None:
        raise InputError("give a year or a date, not both", column="date", value=date)
    if date is None and year is None:
        if not vintages(rvu):
            raise InputError("the RVU file's title names no year; give the year", column="year")
        year = vintages(rvu)[-1]
    if date is None:
        when = as_dates(pd.Series([int(year)]), column="year").iloc[0]
    else:
        when = as_dates(pd.Series([str(date)]), column="date").iloc[0]
    if pd.isna(when):
        raise InputError("missing date", column="date", value=date)
    rvu = select_vintage(rvu, int(vintage_for([when.year], rvu)[0]))
    gpci = select_vintage(gpci, int(vintage_for([when.year], gpci)[0]))
    norm = normalize_cpt(pd.Series([str(code)])).iloc[0]
    component_rows = rvu["modifier"].isin(list(MODIFIER_OF_COMPONENT.values()))
    rows = rvu.loc[rvu["cpt_code"].eq(norm) & component_rows]
    if rows.empty:
        raise InputError(
            "CPT/HCPCS code not in the PFS relative value file (check the code, or give "
            "the full CMS file with --rvu)",
            file=rvu.attrs.get("source"),
            column="HCPCS",
            value=code,
        )
    conversion_factor(date if date is not None else int(year), qualifying_apm=qualifying_apm)
    where = state_locality(state, locality=locality, gpci=gpci)
    components = [c for c in COMPONENTS if MODIFIER_OF_COMPONENT[c] in set(rows["modifier"])]
    grid = pd.DataFrame(
        [(c, s) for c in components for s in SETTINGS], columns=["component", "setting"]
    )
    lines = grid.assign(cpt_code=norm, state=where["state"], service_date=when)
    if not pd.isna(where["mac"]):
        lines = lines.drop(columns="state").assign(mac=where["mac"], locality=where["locality"])
    priced = price(lines, rvu=rvu, gpci=gpci, qualifying_apm=qualifying_apm)
    extra = rows.assign(
        component=rows["modifier"].map({v: k for k, v in MODIFIER_OF_COMPONENT.items()})
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
        gpci_year=gpci.attrs.get("year"),
        year_only=date is None,
        qualifying_apm=qualifying_apm,
    )
