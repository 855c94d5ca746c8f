"""States, their FIPS codes and the Medicare contractor (MAC) jurisdiction of each.

The provider file names a provider's state by USPS code, the geography file by FIPS
code; a MAC jurisdiction (``JH``, ``JL``, ``JM`` ...) is a group of states, read from
the MAC numbers of the CMS GPCI file (:func:`analysis.pricing.load_gpci`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from analysis import pricing
from analysis.errors import InputError

__all__ = [
    "NOVITAS_JURISDICTIONS",
    "STATES",
    "jurisdiction_states",
    "state_fips",
    "state_jurisdictions",
]

NOVITAS_JURISDICTIONS: tuple[str, str] = ("JH", "JL")
"""The two Novitas Solutions A/B MAC jurisdictions (the LCD L35408 contractor)."""

STATES: tuple[tuple[str, str, str], ...] = (
    ("AL", "01", "Alabama"), ("AK", "02", "Alaska"), ("AZ", "04", "Arizona"),
    ("AR", "05", "Arkansas"), ("CA", "06", "California"), ("CO", "08", "Colorado"),
    ("CT", "09", "Connecticut"), ("DE", "10", "Delaware"),
    ("DC", "11", "District of Columbia"), ("FL", "12", "Florida"), ("GA", "13", "Georgia"),
    ("HI", "15", "Hawaii"), ("ID", "16", "Idaho"), ("IL", "17", "Illinois"),
    ("IN", "18", "Indiana"), ("IA", "19", "Iowa"), ("KS", "20", "Kansas"),
    ("KY", "21", "Kentucky"), ("LA", "22", "Louisiana"), ("ME", "23", "Maine"),
    ("MD", "24", "Maryland"), ("MA", "25", "Massachusetts"), ("MI", "26", "Michigan"),
    ("MN", "27", "Minnesota"), ("MS", "28", "Mississippi"), ("MO", "29", "Missouri"),
    ("MT", "30", "Montana"), ("NE", "31", "Nebraska"), ("NV", "32", "Nevada"),
    ("NH", "33", "New Hampshire"), ("NJ", "34", "New Jersey"), ("NM", "35", "New Mexico"),
    ("NY", "36", "New York"), ("NC", "37", "North Carolina"), ("ND", "38", "North Dakota"),
    ("OH", "39", "Ohio"), ("OK", "40", "Oklahoma"), ("OR", "41", "Oregon"),
    ("PA", "42", "Pennsylvania"), ("RI", "44", "Rhode Island"),
    ("SC", "45", "South Carolina"), ("SD", "46", "South Dakota"), ("TN", "47", "Tennessee"),
    ("TX", "48", "Texas"), ("UT", "49", "Utah"), ("VT", "50", "Vermont"),
    ("VA", "51", "Virginia"), ("WA", "53", "Washington"), ("WV", "54", "West Virginia"),
    ("WI", "55", "Wisconsin"), ("WY", "56", "Wyoming"), ("PR", "72", "Puerto Rico"),)  # fmt: skip
"""US states, DC and Puerto Rico: USPS code, FIPS code and name (ANSI/FIPS PUB 5-2, as
used in the geography file's ``Rndrng_Prvdr_Geo_Cd`` and ``Rndrng_Prvdr_Geo_Desc``)."""


def state_fips(state: str) -> str:
    """The two-digit FIPS code of a USPS state abbreviation.

    >>> state_fips("NC")
    '37'
    """
    table = {s: f for s, f, _ in STATES}
    if state not in table:
        raise InputError("unknown state abbreviation", column="state", value=state)
    return table[state]


def jurisdiction_states(jurisdictions: Iterable[str] | str) -> list[str]:
    """The states whose Part B claims a MAC jurisdiction processes.

    Parameters
    ----------
    jurisdictions : str or iterable of str
        e.g. ``"JH,JL"`` (Novitas) or ``["JM"]`` (Palmetto: NC, SC, VA, WV).

    Examples
    --------
    >>> jurisdiction_states("JM")  # doctest: +SKIP
    ['NC', 'SC', 'VA', 'WV']
    """
    if isinstance(jurisdictions, str):
        jurisdictions = jurisdictions.split(",")
    wanted = {j.strip().upper() for j in jurisdictions if j.strip()}
    table = state_jurisdictions()
    known = set(table["jurisdiction"])
    unknown = wanted - known
    if unknown:
        raise InputError(
            f"unknown MAC jurisdiction; known: {', '.join(sorted(known))}",
            column="jurisdiction",
            value=", ".join(sorted(unknown)),
        )
    return sorted(table.loc[table["jurisdiction"].isin(wanted), "state"].unique())


def state_jurisdictions(*, gpci: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per state: ``state, mac, jurisdiction`` from the CMS GPCI file.

    The GPCI file names the MAC of every state's localities; the MAC number's first
    two digits give the jurisdiction (:func:`analysis.pricing.mac_jurisdiction`). A
    state whose localities name more than one MAC keeps the most frequent.
    """
    table = pricing.load_gpci() if gpci is None else gpci
    out = (
        table.loc[:, ["state", "mac"]]
        .astype({"state": "string", "mac": "string"})
        .value_counts()
        .reset_index(name="n_localities")
        .sort_values(["state", "n_localities", "mac"], ascending=[True, False, True])
        .drop_duplicates("state")
        .loc[:, ["state", "mac"]]
        .reset_index(drop=True)
    )
    return out.assign(
        jurisdiction=pd.Series(
            [pricing.mac_jurisdiction(m) for m in out["mac"]], index=out.index, dtype="string"
        )
    )
