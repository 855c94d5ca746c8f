"""The layouts of the two CMS files, identified by their header names.

The provider file ("by Provider and Service") has 28 columns for data year 2023 and
later and 29 (with ``Rndrng_Prvdr_Gndr``) for older years; the geography file ("by
Geography and Service") has 15. A file's layout is read from its header line, never
guessed from its position or size, and the reader keeps only the provider columns of
:data:`PROVIDER_KEEP`, under their tidy names. The files' place of service
(``Place_Of_Srvc``: ``F`` facility, ``O`` office) is read as the PFS ``setting`` of
:data:`SETTING_OF_PLACE`.
"""

from __future__ import annotations

import csv
from os import PathLike
from pathlib import Path

import pyarrow as pa

from analysis.errors import InputError

__all__ = [
    "GEOGRAPHY_KEEP",
    "GEOGRAPHY_SERVICE_COLUMNS",
    "LAYOUTS",
    "PROVIDER_KEEP",
    "PROVIDER_NUMERIC",
    "PROVIDER_SERVICE_COLUMNS",
    "PROVIDER_SERVICE_COLUMNS_WITH_GENDER",
    "SETTING_OF_PLACE",
    "check_geography_layout",
    "provider_service_layout",
]

PROVIDER_SERVICE_COLUMNS: tuple[str, ...] = (
    "Rndrng_NPI", "Rndrng_Prvdr_Last_Org_Name", "Rndrng_Prvdr_First_Name",
    "Rndrng_Prvdr_MI", "Rndrng_Prvdr_Crdntls", "Rndrng_Prvdr_Ent_Cd",
    "Rndrng_Prvdr_St1", "Rndrng_Prvdr_St2", "Rndrng_Prvdr_City",
    "Rndrng_Prvdr_State_Abrvtn", "Rndrng_Prvdr_State_FIPS", "Rndrng_Prvdr_Zip5",
    "Rndrng_Prvdr_RUCA", "Rndrng_Prvdr_RUCA_Desc", "Rndrng_Prvdr_Cntry",
    "Rndrng_Prvdr_Type", "Rndrng_Prvdr_Mdcr_Prtcptg_Ind", "HCPCS_Cd", "HCPCS_Desc",
    "HCPCS_Drug_Ind", "Place_Of_Srvc", "Tot_Benes", "Tot_Srvcs", "Tot_Bene_Day_Srvcs",
    "Avg_Sbmtd_Chrg", "Avg_Mdcr_Alowd_Amt", "Avg_Mdcr_Pymt_Amt", "Avg_Mdcr_Stdzd_Amt",
)  # fmt: skip
"""The 28 columns of the provider file, data year 2023 and later."""

PROVIDER_SERVICE_COLUMNS_WITH_GENDER: tuple[str, ...] = (
    *PROVIDER_SERVICE_COLUMNS[:5], "Rndrng_Prvdr_Gndr", *PROVIDER_SERVICE_COLUMNS[5:],
)
"""The 29 columns of the provider file for older data years (with provider gender)."""

GEOGRAPHY_SERVICE_COLUMNS: tuple[str, ...] = (
    "Rndrng_Prvdr_Geo_Lvl", "Rndrng_Prvdr_Geo_Cd", "Rndrng_Prvdr_Geo_Desc", "HCPCS_Cd",
    "HCPCS_Desc", "HCPCS_Drug_Ind", "Place_Of_Srvc", "Tot_Rndrng_Prvdrs", "Tot_Benes",
    "Tot_Srvcs", "Tot_Bene_Day_Srvcs", "Avg_Sbmtd_Chrg", "Avg_Mdcr_Alowd_Amt",
    "Avg_Mdcr_Pymt_Amt", "Avg_Mdcr_Stdzd_Amt",
)  # fmt: skip
"""The 15 columns of the geography file."""

LAYOUTS: dict[str, tuple[str, ...]] = {
    "2023+": PROVIDER_SERVICE_COLUMNS,
    "with_gender": PROVIDER_SERVICE_COLUMNS_WITH_GENDER,
}
"""The provider-file layouts by name (the names :func:`provider_service_layout` returns)."""

PROVIDER_KEEP: dict[str, str] = {
    "Rndrng_NPI": "rendering_npi",
    "Rndrng_Prvdr_Last_Org_Name": "provider_name",
    "Rndrng_Prvdr_Ent_Cd": "entity_code",
    "Rndrng_Prvdr_State_Abrvtn": "state",
    "Rndrng_Prvdr_State_FIPS": "state_fips",
    "Rndrng_Prvdr_Zip5": "zip5",
    "Rndrng_Prvdr_Type": "provider_type",
    "HCPCS_Cd": "cpt_code",
    "Place_Of_Srvc": "setting",
    "Tot_Benes": "n_beneficiaries",
    "Tot_Srvcs": "services",
    "Tot_Bene_Day_Srvcs": "bene_day_services",
    "Avg_Sbmtd_Chrg": "avg_submitted_usd",
    "Avg_Mdcr_Alowd_Amt": "avg_allowed_usd",
    "Avg_Mdcr_Pymt_Amt": "avg_paid_usd",
    "Avg_Mdcr_Stdzd_Amt": "avg_standardized_usd",
}
"""The provider-file columns the reader keeps, and their tidy names."""

PROVIDER_NUMERIC: tuple[str, ...] = (
    "n_beneficiaries", "services", "bene_day_services", "avg_submitted_usd",
    "avg_allowed_usd", "avg_paid_usd", "avg_standardized_usd",
)  # fmt: skip
"""The tidy names of the kept columns that hold counts and amounts."""

SETTING_OF_PLACE: dict[str, str] = {"F": "facility", "O": "non_facility"}
"""``Place_Of_Srvc`` of both files and the PFS setting it means: ``F`` facility, ``O``
office (non-facility) in the CMS data dictionaries; the settings are those of
:data:`analysis.pricing.SETTINGS`. Any other value is an error."""

GEOGRAPHY_KEEP: dict[str, str] = {
    "Rndrng_Prvdr_Geo_Lvl": "geo_level", "Rndrng_Prvdr_Geo_Cd": "state_fips",
    "Rndrng_Prvdr_Geo_Desc": "state_name", "HCPCS_Cd": "cpt_code",
    "Place_Of_Srvc": "setting", "Tot_Rndrng_Prvdrs": "n_providers",
    "Tot_Benes": "n_beneficiaries", "Tot_Srvcs": "services",
    "Tot_Bene_Day_Srvcs": "bene_day_services", "Avg_Sbmtd_Chrg": "avg_submitted_usd",
    "Avg_Mdcr_Alowd_Amt": "avg_allowed_usd", "Avg_Mdcr_Pymt_Amt": "avg_paid_usd",
    "Avg_Mdcr_Stdzd_Amt": "avg_standardized_usd",
}  # fmt: skip
"""The geography-file columns the reader keeps, and their tidy names; the counts and
amounts are the names from ``n_providers`` on."""


def _read_header(path: Path) -> list[str]:
    """The field names of a CSV's first line (a UTF-8 BOM and compression accepted)."""
    if not path.exists():
        raise InputError("file not found", file=path)
    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(1 << 16)
    text = head.decode("utf-8-sig", errors="replace")
    first = text.splitlines()[0] if text else ""
    return next(csv.reader([first])) if first else []


def provider_service_layout(path: str | PathLike[str]) -> str:
    """Identify the layout of a provider file from its header line.

    Returns
    -------
    str
        ``"2023+"`` (28 columns) or ``"with_gender"`` (29 columns, older data years).

    Raises
    ------
    InputError
        If the header is neither layout; the message lists the missing and unexpected
        column names.
    """
    path = Path(path)
    header = [h.strip() for h in _read_header(path)]
    for name, columns in LAYOUTS.items():
        if tuple(header) == columns:
            return name
    missing = [c for c in PROVIDER_SERVICE_COLUMNS if c not in header]
    unexpected = [c for c in header if c not in PROVIDER_SERVICE_COLUMNS_WITH_GENDER]
    if "Rndrng_Prvdr_Geo_Lvl" in header:
        hint = "this is the 'by Geography and Service' file: use read_geography_service"
    else:
        hint = (
            "expected the 28-column (2023+) or 29-column (with Rndrng_Prvdr_Gndr) header "
            "of 'Medicare Physician & Other Practitioners - by Provider and Service'"
        )
    raise InputError(
        f"not a provider-and-service file header ({len(header)} columns; missing "
        f"{missing[:6]}{'...' if len(missing) > 6 else ''}; unexpected {unexpected[:6]}): "
        f"{hint}",
        file=path,
        row=1,
    )



def check_geography_layout(path: str | PathLike[str]) -> None:
    """Check that a file has the 15-column header of the geography file.

    Raises
    ------
    InputError
        If it has not; the message lists the missing column names.
    """
    path = Path(path)
    header = [h.strip() for h in _read_header(path)]
    if tuple(header) != GEOGRAPHY_SERVICE_COLUMNS:
        missing = [c for c in GEOGRAPHY_SERVICE_COLUMNS if c not in header]
        raise InputError(
            f"not a 'by Geography and Service' header ({len(header)} columns; missing "
            f"{missing[:6]})",
            file=path,
            row=1,
        )
