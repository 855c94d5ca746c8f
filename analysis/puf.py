"""The Medicare public data pathway: CMS "Physician & Other Practitioners" files.

Not every analyst has a payer's claims. CMS publishes every year Medicare Part B
services by rendering provider and HCPCS code ("by Provider and Service", about
9.7 million rows and 3 GB) and the same services aggregated by state ("by Geography
and Service"). 76376/76377 and every CT/MR code appear in both. This module reads
them in bounded memory, rolls providers up to practices, builds the services-basis
summary the LCD screen runs on, makes the files' suppression explicit, and derives a
public-data estimate of what bundling 3D rendering moves for one commercial payer.

Definitions
-----------
- **Provider file** ("Medicare Physician & Other Practitioners - by Provider and
  Service"): one row per rendering NPI x HCPCS code x place of service (``F``
  facility, ``O`` office/non-facility). 28 columns for data year 2023 and later
  (:data:`PROVIDER_SERVICE_COLUMNS`); older years carry ``Rndrng_Prvdr_Gndr`` after
  ``Rndrng_Prvdr_Crdntls`` (29, :data:`PROVIDER_SERVICE_COLUMNS_WITH_GENDER`). The
  layout is identified from the header line. NPI, ZIP, state FIPS and RUCA are
  strings; ``Tot_Srvcs`` may be fractional. No modifier column: global, -26 and -TC
  services of a code are mixed in one row.
- **Geography file** ("by Geography and Service"): 15 columns
  (:data:`GEOGRAPHY_SERVICE_COLUMNS`), one row per geography level (``National`` or
  ``State``) x state x HCPCS x place of service.
- **Suppression**: CMS drops (does not mask) every provider-file row that counts
  10 or fewer beneficiaries. A provider's missing row for a code and place of
  service therefore hides between 0 and 10 beneficiaries' services.
- **Services basis**: 3D rate = (76376 + 76377 services) / CT/MR services, the only
  rate the provider file allows (no patients or encounters in it).
- **Hidden-cell bounds** (:class:`SuppressionBounds`): for each NPI and each place of
  service in scope (by default the places where the NPI has any visible CT/MR or 3D
  row), every code of the 3D set and of the CT/MR set *without* a visible row is a
  hidden cell that may hold up to ``max_hidden_beneficiaries x
  services_per_beneficiary`` services. Hidden 3D services can only raise the rate
  and hidden CT/MR services can only lower it, so::

      rate_lower = S3 / (N + H_ctmr)        rate_upper = (S3 + H_3d) / N

  where S3 and N are the visible 3D and CT/MR services and H are the hidden maxima.
  A flag is *robust* when the screen flags the practice both at the lower and the
  upper bound; a non-flag is robust when neither bound is flagged.

References
----------
CMS, "Medicare Physician & Other Practitioners - by Provider and Service" and "- by
Geography and Service", data dictionaries and methodology (data.cms.gov, 2024).
CMS cell-size suppression policy: counts of 1-10 beneficiaries are not published.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analysis.codes import CODES_3D, ct_mr_codes
from analysis.errors import InputError

__all__ = [
    "GEOGRAPHY_SERVICE_COLUMNS",
    "NOVITAS_JURISDICTIONS",
    "PROVIDER_SERVICE_COLUMNS",
    "PROVIDER_SERVICE_COLUMNS_WITH_GENDER",
    "SAMPLE_DIR",
    "ExposureAssumptions",
    "ExposureEstimate",
    "PracticeRollup",
    "PufBenchmark",
    "PufRead",
    "PufScreen",
    "SuppressionBounds",
    "assign_practices",
    "check_consistency",
    "estimate_exposure",
    "iter_provider_service",
    "jurisdiction_states",
    "medicare_3d_totals",
    "medicare_benchmark",
    "provider_service_layout",
    "read_crosswalk",
    "read_geography_service",
    "read_provider_service",
    "sample_paths",
    "screen_puf",
    "state_jurisdictions",
    "summarize_puf",
    "write_synthetic_puf",
]

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample" / "puf"

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

NOVITAS_JURISDICTIONS: tuple[str, str] = ("JH", "JL")
"""The two Novitas Solutions A/B MAC jurisdictions (the LCD L35408 contractor)."""

_LAYOUTS = {
    "2023+": PROVIDER_SERVICE_COLUMNS,
    "with_gender": PROVIDER_SERVICE_COLUMNS_WITH_GENDER,
}

# The columns kept from the provider file and their tidy names.
_KEEP = {
    "Rndrng_NPI": "npi",
    "Rndrng_Prvdr_Last_Org_Name": "provider_name",
    "Rndrng_Prvdr_Ent_Cd": "entity_code",
    "Rndrng_Prvdr_State_Abrvtn": "state",
    "Rndrng_Prvdr_State_FIPS": "state_fips",
    "Rndrng_Prvdr_Zip5": "zip5",
    "Rndrng_Prvdr_Type": "provider_type",
    "HCPCS_Cd": "cpt_code",
    "Place_Of_Srvc": "place_of_service",
    "Tot_Benes": "n_beneficiaries",
    "Tot_Srvcs": "services",
    "Tot_Bene_Day_Srvcs": "bene_day_services",
    "Avg_Sbmtd_Chrg": "avg_submitted_usd",
    "Avg_Mdcr_Alowd_Amt": "avg_allowed_usd",
    "Avg_Mdcr_Pymt_Amt": "avg_paid_usd",
    "Avg_Mdcr_Stdzd_Amt": "avg_standardized_usd",
}
_NUMERIC = (
    "n_beneficiaries", "services", "bene_day_services", "avg_submitted_usd",
    "avg_allowed_usd", "avg_paid_usd", "avg_standardized_usd",
)  # fmt: skip

# Bytes per provider-file row, to turn ``batch_rows`` into a parser block size
# (a 3.0 GB file of 9.7 M rows averages ~ 320 bytes a row).
_BYTES_PER_ROW = 330
_MIN_BLOCK = 1 << 12

# US states, DC and territories: USPS code, FIPS code, name (ANSI/FIPS PUB 5-2,
# as used in the geography file's Rndrng_Prvdr_Geo_Cd / _Geo_Desc), and the
# relative weight the synthetic generator gives each (approximate share of
# Medicare enrollment, an illustration only).
_STATES = (
    ("AL", "01", "Alabama", 1.6), ("AK", "02", "Alaska", 0.2), ("AZ", "04", "Arizona", 2.2),
    ("AR", "05", "Arkansas", 1.0), ("CA", "06", "California", 10.0),
    ("CO", "08", "Colorado", 1.5), ("CT", "09", "Connecticut", 1.1),
    ("DE", "10", "Delaware", 0.4), ("DC", "11", "District of Columbia", 0.2),
    ("FL", "12", "Florida", 7.5), ("GA", "13", "Georgia", 2.8), ("HI", "15", "Hawaii", 0.4),
    ("ID", "16", "Idaho", 0.6), ("IL", "17", "Illinois", 3.5), ("IN", "18", "Indiana", 2.0),
    ("IA", "19", "Iowa", 1.0), ("KS", "20", "Kansas", 0.9), ("KY", "21", "Kentucky", 1.4),
    ("LA", "22", "Louisiana", 1.4), ("ME", "23", "Maine", 0.5), ("MD", "24", "Maryland", 1.7),
    ("MA", "25", "Massachusetts", 2.2), ("MI", "26", "Michigan", 3.2),
    ("MN", "27", "Minnesota", 1.7), ("MS", "28", "Mississippi", 1.0),
    ("MO", "29", "Missouri", 1.9), ("MT", "30", "Montana", 0.4), ("NE", "31", "Nebraska", 0.6),
    ("NV", "32", "Nevada", 0.9), ("NH", "33", "New Hampshire", 0.5),
    ("NJ", "34", "New Jersey", 2.6), ("NM", "35", "New Mexico", 0.7),
    ("NY", "36", "New York", 6.0), ("NC", "37", "North Carolina", 3.3),
    ("ND", "38", "North Dakota", 0.2), ("OH", "39", "Ohio", 3.8), ("OK", "40", "Oklahoma", 1.2),
    ("OR", "41", "Oregon", 1.3), ("PA", "42", "Pennsylvania", 4.6),
    ("RI", "44", "Rhode Island", 0.4), ("SC", "45", "South Carolina", 1.7),
    ("SD", "46", "South Dakota", 0.3), ("TN", "47", "Tennessee", 2.2),
    ("TX", "48", "Texas", 7.0), ("UT", "49", "Utah", 0.7), ("VT", "50", "Vermont", 0.2),
    ("VA", "51", "Virginia", 2.6), ("WA", "53", "Washington", 2.3),
    ("WV", "54", "West Virginia", 0.7), ("WI", "55", "Wisconsin", 1.9),
    ("WY", "56", "Wyoming", 0.2), ("PR", "72", "Puerto Rico", 0.6),
)  # fmt: skip


def sample_paths() -> dict[str, Path]:
    """The bundled synthetic samples (see ``data/sample/puf/README.md``).

    Keys: ``provider`` (2023+ layout), ``provider_with_gender`` (older 29-column
    layout), ``geography`` (the matching geography file), ``crosswalk`` (an
    illustrative NPI -> practice crosswalk).
    """
    return {
        "provider": SAMPLE_DIR / "provider_service_2023_sample.csv",
        "provider_with_gender": SAMPLE_DIR / "provider_service_2022_sample.csv",
        "geography": SAMPLE_DIR / "geography_service_2023_sample.csv",
        "crosswalk": SAMPLE_DIR / "npi_practice_crosswalk_sample.csv",
    }


# ======================================================================= reading


def _read_header(path: Path) -> list[str]:
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
    for name, columns in _LAYOUTS.items():
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


def _code_set(codes: Iterable[str] | None) -> tuple[list[str], dict[str, str]]:
    """Codes to keep and their class ("3D", "CT", "MR" or "other")."""
    table = ct_mr_codes()
    classes = dict(zip(table["cpt_code"], table["modality"], strict=True))
    classes.update(dict.fromkeys(CODES_3D, "3D"))
    if codes is None:
        keep = list(classes)
    else:
        keep = sorted({str(c).strip().upper() for c in codes})
        bad = [c for c in keep if len(c) != 5]
        if bad:
            raise InputError("codes must be five-character HCPCS codes", value=bad[0])
    return keep, {c: classes.get(c, "other") for c in keep}


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
    two digits give the jurisdiction (:func:`analysis.fees.mac_jurisdiction`). A
    state whose localities name more than one MAC keeps the most frequent.
    """
    from analysis import fees

    table = fees.load_gpci() if gpci is None else gpci
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
            [fees.mac_jurisdiction(m) for m in out["mac"]], index=out.index, dtype="string"
        )
    )


@dataclass
class _ScanStats:
    rows_read: int = 0
    rows_out_of_scope_code: int = 0
    rows_out_of_scope_geography: int = 0
    rows_kept: int = 0
    malformed: list[dict] = field(default_factory=list)
    invalid: list[pd.DataFrame] = field(default_factory=list)

    @property
    def rows_malformed(self) -> int:
        return len(self.malformed)

    @property
    def rows_invalid_value(self) -> int:
        return int(sum(len(f) for f in self.invalid))


def _physical_rows(valid_index: np.ndarray, malformed_rows: np.ndarray) -> np.ndarray:
    """Physical row numbers (header = 1) of valid rows, skipping malformed ones."""
    rows = valid_index + 2
    if malformed_rows.size == 0:
        return rows
    while True:
        shifted = valid_index + 2 + np.searchsorted(malformed_rows, rows, side="right")
        if np.array_equal(shifted, rows):
            return rows
        rows = shifted


def _npi_check_ok(npi: pd.Series) -> pd.Series:
    """True where a 10-digit NPI has a valid Luhn check digit (prefix 80840)."""
    s = npi.astype("string")
    shaped = s.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    ok = pd.Series(False, index=s.index)
    if shaped.any():
        digits = np.array([list(x) for x in s[shaped]], dtype=np.int64)
        ok.loc[shaped] = _luhn_check_digit(digits[:, :9]) == digits[:, 9]
    return ok


def _luhn_check_digit(payload: np.ndarray) -> np.ndarray:
    """NPI check digits of an (n, 9) digit array (Luhn over '80840' + payload)."""
    doubled = payload[:, 0::2] * 2
    total = (doubled // 10 + doubled % 10).sum(axis=1) + payload[:, 1::2].sum(axis=1) + 24
    return (10 - total % 10) % 10


def _validate_batch(
    frame: pd.DataFrame, *, path: Path, on_error: str, stats: _ScanStats
) -> pd.DataFrame:
    """Parse numbers and check keys of in-scope rows; quarantine or raise on failure."""
    parsed = {c: pd.to_numeric(frame[c].str.strip(), errors="coerce") for c in _NUMERIC}
    reason = pd.Series("", index=frame.index, dtype="string")
    column = pd.Series("", index=frame.index, dtype="string")
    checks: list[tuple[str, pd.Series, str]] = [
        ("npi", ~_npi_check_ok(frame["npi"]), "NPI is not 10 digits with a valid check digit"),
        (
            "place_of_service",
            ~frame["place_of_service"].isin(["F", "O"]),
            "place of service must be F or O",
        ),
    ]
    for col in _NUMERIC:
        values = parsed[col]
        blank = frame[col].str.strip().eq("")
        checks.append((col, (values.isna() & ~blank) | (values < 0), "not a number >= 0"))
        if col in ("n_beneficiaries", "services"):
            checks.append((col, blank, "missing"))
    for col, bad, message in checks:
        new = bad.fillna(True).astype(bool) & reason.eq("")
        reason = reason.mask(new, message)
        column = column.mask(new, col)
    bad_rows = reason.ne("")
    if bad_rows.any():
        source = {v: k for k, v in _KEEP.items()}
        first = frame.loc[bad_rows].iloc[0]
        first_col = column[bad_rows].iloc[0]
        if on_error == "raise":
            raise InputError(
                f"{reason[bad_rows].iloc[0]}; fix the row or pass on_error='quarantine'",
                file=path,
                row=int(first["row"]),
                column=source.get(first_col, first_col),
                value=first[first_col],
            )
        bad = frame.loc[bad_rows]
        stats.invalid.append(
            pd.DataFrame(
                {
                    "row": bad["row"].astype("int64"),
                    "reason": reason[bad_rows],
                    "column": column[bad_rows].map(lambda c: source.get(c, c)),
                    "value": [str(bad.at[i, column[i]]) for i in bad.index],
                    "text": bad["npi"] + " " + bad["cpt_code"] + " " + bad["place_of_service"],
                }
            )
        )
    good = frame.loc[~bad_rows]
    out = good.assign(**{c: parsed[c][~bad_rows].astype("float64") for c in _NUMERIC})
    return out.assign(
        n_beneficiaries=out["n_beneficiaries"].round().astype("int64"),
        allowed_usd=out["services"] * out["avg_allowed_usd"],
        paid_usd=out["services"] * out["avg_paid_usd"],
        submitted_usd=out["services"] * out["avg_submitted_usd"],
    )


def _scan(
    path: Path,
    *,
    states: Iterable[str] | None,
    jurisdictions: Iterable[str] | str | None,
    codes: Iterable[str] | None,
    batch_rows: int,
    on_error: str,
    stats: _ScanStats,
) -> Iterator[pd.DataFrame]:
    if on_error not in ("raise", "quarantine"):
        raise InputError("on_error must be 'raise' or 'quarantine'", value=on_error)
    if batch_rows < 1:
        raise InputError("batch_rows must be >= 1", value=batch_rows)
    layout = provider_service_layout(path)
    keep_codes, classes = _code_set(codes)
    wanted_states: set[str] | None = None
    if states is not None:
        given = [states] if isinstance(states, str) else states
        wanted_states = {s.strip().upper() for s in given}
    if jurisdictions is not None:
        j_states = set(jurisdiction_states(jurisdictions))
        wanted_states = j_states if wanted_states is None else wanted_states & j_states
    expected = len(_LAYOUTS[layout])

    header = list(_LAYOUTS[layout])
    rows_before = 1  # physical rows before the current piece (the header)

    def on_malformed(row: pacsv.InvalidRow) -> str:
        stats.malformed.append(
            {
                "row": None if row.number is None else rows_before + row.number,
                "reason": f"expected {expected} fields, found {row.actual_columns}",
                "column": "",
                "value": "",
                "text": row.text[:500],
            }
        )
        return "skip" if on_error == "quarantine" else "error"

    read_options = pacsv.ReadOptions(column_names=header, use_threads=False)
    parse_options = pacsv.ParseOptions(invalid_row_handler=on_malformed)
    convert_options = pacsv.ConvertOptions(
        include_columns=list(_KEEP),
        column_types=dict.fromkeys(_KEEP, pa.string()),
        strings_can_be_null=False,
    )
    code_set = pa.array(keep_codes, pa.string())
    state_set = None if wanted_states is None else pa.array(sorted(wanted_states), pa.string())
    n_valid = 0
    for piece, n_lines in _pieces(path, max(batch_rows * _BYTES_PER_ROW, _MIN_BLOCK)):
        try:
            batch = pacsv.read_csv(
                pa.py_buffer(piece), read_options=read_options, parse_options=parse_options,
                convert_options=convert_options,
            )
        except pa.ArrowInvalid as err:
            if stats.malformed and on_error == "raise":
                first = stats.malformed[0]
                raise InputError(
                    f"{first['reason']}; fix the row or pass on_error='quarantine'",
                    file=path,
                    row=first["row"],
                    value=first["text"][:80],
                ) from None
            raise InputError(f"cannot parse the CSV: {err}", file=path) from None
        rows_before += n_lines
        n = batch.num_rows
        if n == 0:
            continue
        stats.rows_read += n
        index = np.arange(n_valid, n_valid + n)
        n_valid += n
        code_ok = pc.is_in(pc.utf8_trim_whitespace(batch.column("HCPCS_Cd")), value_set=code_set)
        keep = code_ok
        n_code = pc.sum(code_ok).as_py() or 0
        stats.rows_out_of_scope_code += n - n_code
        if state_set is not None:
            state_ok = pc.is_in(
                pc.utf8_trim_whitespace(batch.column("Rndrng_Prvdr_State_Abrvtn")),
                value_set=state_set,
            )
            keep = pc.and_(code_ok, state_ok)
            stats.rows_out_of_scope_geography += n_code - (pc.sum(keep).as_py() or 0)
        mask = keep.to_numpy(zero_copy_only=False)
        if not mask.any():
            continue
        selected = batch.filter(keep)
        malformed_rows = np.array(
            sorted(m["row"] for m in stats.malformed if m["row"] is not None), dtype=np.int64
        )
        frame = (
            selected.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
            .rename(columns=_KEEP)
            .assign(row=_physical_rows(index[mask], malformed_rows))
        )
        frame = frame.assign(
            npi=frame["npi"].str.strip(),
            cpt_code=frame["cpt_code"].str.strip(),
            state=frame["state"].str.strip(),
            place_of_service=frame["place_of_service"].str.strip().str.upper(),
            entity_code=frame["entity_code"].str.strip().str.upper(),
        )
        frame = _validate_batch(frame, path=path, on_error=on_error, stats=stats)
        frame = frame.assign(
            code_class=frame["cpt_code"].map(classes).astype("string"),
        ).loc[:, _LINE_COLUMNS]
        stats.rows_kept += len(frame)
        if len(frame):
            yield frame.reset_index(drop=True)


def _pieces(path: Path, size: int) -> Iterator[tuple[bytes, int]]:
    """The data rows of a CSV in pieces of about ``size`` bytes, cut at line ends.

    Yields ``(piece, n_lines)``; the header line and a UTF-8 BOM are skipped. A cut
    never falls inside a quoted field (the piece up to a cut holds an even number of
    double quotes; escaped quotes come in pairs). Parsing each piece separately keeps
    memory to one piece, whatever the file size (pyarrow's own streaming reader reads
    ahead without bound on a fast disk).
    """
    with pa.input_stream(str(path), compression="detect") as stream:
        buffer = b""
        header_done = False
        while True:
            data = stream.read(size)
            buffer += data
            if not header_done:
                if buffer.startswith(b"\xef\xbb\xbf"):
                    buffer = buffer[3:]
                end = buffer.find(b"\n")
                if end < 0 and data:
                    continue
                buffer = b"" if end < 0 else buffer[end + 1:]
                header_done = True
            if not data:
                if buffer.strip():
                    yield buffer, buffer.count(b"\n") + (not buffer.endswith(b"\n"))
                return
            cut = buffer.rfind(b"\n") + 1
            while cut > 0 and buffer.count(b'"', 0, cut) % 2:
                cut = buffer.rfind(b"\n", 0, cut - 1) + 1
            if cut == 0:
                continue
            piece, buffer = buffer[:cut], buffer[cut:]
            yield piece, piece.count(b"\n")


_LINE_COLUMNS = [
    "npi", "entity_code", "provider_name", "provider_type", "state", "state_fips", "zip5",
    "cpt_code", "code_class", "place_of_service", "n_beneficiaries", "services",
    "bene_day_services", "avg_submitted_usd", "avg_allowed_usd", "avg_paid_usd",
    "avg_standardized_usd", "allowed_usd", "paid_usd", "submitted_usd", "row",
]  # fmt: skip


def _empty_lines() -> pd.DataFrame:
    strings = [
        "npi", "entity_code", "provider_name", "provider_type", "state", "state_fips",
        "zip5", "cpt_code", "code_class", "place_of_service",
    ]  # fmt: skip
    dtypes = {c: "float64" for c in _LINE_COLUMNS}
    dtypes |= {c: "string" for c in strings} | {"n_beneficiaries": "int64", "row": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in _LINE_COLUMNS})


def iter_provider_service(
    path: str | PathLike[str],
    *,
    states: Iterable[str] | str | None = None,
    jurisdictions: Iterable[str] | str | None = None,
    codes: Iterable[str] | None = None,
    batch_rows: int = 200_000,
    on_error: Literal["raise", "quarantine"] = "quarantine",
) -> Iterator[pd.DataFrame]:
    """Stream the kept rows of a provider file, one DataFrame per parsed block.

    Same arguments and columns as :func:`read_provider_service`; use it to aggregate
    a file too large to hold even after filtering. Quarantined rows are not
    reported here (use :func:`read_provider_service` for the reconciled counts).
    """
    stats = _ScanStats()
    yield from _scan(
        Path(path),
        states=states,
        jurisdictions=jurisdictions,
        codes=codes,
        batch_rows=batch_rows,
        on_error=on_error,
        stats=stats,
    )


@dataclass(frozen=True)
class PufRead:
    """The kept rows of a provider file with the reconciliation of every row read.

    Attributes
    ----------
    lines : DataFrame
        One row per kept file row: ``npi, entity_code, provider_name, provider_type,
        state, state_fips, zip5, cpt_code, code_class ("3D" | "CT" | "MR" | "other"),
        place_of_service ("F" | "O"), n_beneficiaries, services (float; may be
        fractional), bene_day_services, avg_submitted_usd, avg_allowed_usd,
        avg_paid_usd, avg_standardized_usd, allowed_usd, paid_usd, submitted_usd``
        (the totals are ``services x`` the file's averages) and ``row`` (physical
        row number in the file, header = 1).
    quarantine : DataFrame
        ``row, reason, column, value, text`` of every malformed row (wrong field
        count, any code) and every in-scope row with an unusable value.
    counts : dict
        ``rows_read = rows_kept + rows_out_of_scope_code +
        rows_out_of_scope_geography + rows_quarantined`` (checked on construction).
    layout : str
        ``"2023+"`` or ``"with_gender"``.
    path : str
    """

    lines: pd.DataFrame
    quarantine: pd.DataFrame
    counts: Mapping[str, float]
    layout: str
    path: str

    def __post_init__(self) -> None:
        c = self.counts
        accounted = (
            c["rows_kept"]
            + c["rows_out_of_scope_code"]
            + c["rows_out_of_scope_geography"]
            + c["rows_quarantined"]
        )
        if accounted != c["rows_read"]:  # a bug, not a user error
            raise AssertionError(f"rows do not reconcile: {dict(c)}")

    @property
    def summary(self) -> pd.DataFrame:
        """The reconciliation as a two-column table (``item, value``)."""
        return pd.DataFrame({"item": list(self.counts), "value": list(self.counts.values())})

    def _repr_html_(self) -> str:
        head = f"<p><b>{Path(self.path).name}</b> ({self.layout} layout)</p>"
        return head + self.summary.to_html(index=False)


def read_provider_service(
    path: str | PathLike[str],
    *,
    states: Iterable[str] | str | None = None,
    jurisdictions: Iterable[str] | str | None = None,
    codes: Iterable[str] | None = None,
    batch_rows: int = 200_000,
    on_error: Literal["raise", "quarantine"] = "quarantine",
) -> PufRead:
    """Read the CT/MR and 3D rows of a "by Provider and Service" file in bounded memory.

    The file is parsed in blocks of about ``batch_rows`` rows (pyarrow's streaming
    CSV reader, only the 16 needed columns, all as strings); each block is filtered
    on HCPCS code and state before anything is converted, so memory is bounded by
    one block plus the kept rows (a few percent of the file), whatever the file size.

    Parameters
    ----------
    path : path-like
        The CSV (optionally ``.gz``/``.bz2``), either layout; a UTF-8 BOM and CRLF
        line ends are accepted.
    states : str or iterable of str, optional
        Rendering-provider states to keep (``Rndrng_Prvdr_State_Abrvtn``).
    jurisdictions : str or iterable of str, optional
        MAC jurisdictions to keep, e.g. ``"JH,JL"`` (Novitas) or ``"JM"``; combined
        with ``states`` by intersection.
    codes : iterable of str, optional
        HCPCS codes to keep; default the CT/MR base-study set
        (:func:`analysis.codes.ct_mr_codes`) plus 76376 and 76377.
    batch_rows : int
        Approximate rows per parsed block (memory/speed trade-off).
    on_error : {"quarantine", "raise"}
        Malformed rows (wrong number of fields, any code) and in-scope rows with an
        unusable value (NPI, place of service, a count or amount that is not a number
        >= 0) go to :attr:`PufRead.quarantine`, or raise :class:`InputError` naming
        file, row, column and value.

    Returns
    -------
    PufRead

    Examples
    --------
    >>> read = read_provider_service(sample_paths()["provider"], states="NC")  # doctest: +SKIP
    >>> read.counts["rows_read"] == sum(v for k, v in read.counts.items()
    ...     if k in ("rows_kept", "rows_out_of_scope_code",
    ...              "rows_out_of_scope_geography", "rows_quarantined"))  # doctest: +SKIP
    True
    """
    path = Path(path)
    stats = _ScanStats()
    frames = list(
        _scan(
            path,
            states=states,
            jurisdictions=jurisdictions,
            codes=codes,
            batch_rows=batch_rows,
            on_error=on_error,
            stats=stats,
        )
    )
    lines = pd.concat(frames, ignore_index=True) if frames else _empty_lines()
    quarantine_parts = [pd.DataFrame(stats.malformed)] if stats.malformed else []
    quarantine_parts += stats.invalid
    quarantine = (
        pd.concat(quarantine_parts, ignore_index=True).sort_values("row", kind="stable")
        if quarantine_parts
        else pd.DataFrame(columns=["row", "reason", "column", "value", "text"])
    ).reset_index(drop=True)
    rows_read = stats.rows_read + stats.rows_malformed
    counts = {
        "rows_read": rows_read,
        "rows_kept": stats.rows_kept,
        "rows_out_of_scope_code": stats.rows_out_of_scope_code,
        "rows_out_of_scope_geography": stats.rows_out_of_scope_geography,
        "rows_quarantined": stats.rows_malformed + stats.rows_invalid_value,
        "rows_malformed": stats.rows_malformed,
        "rows_invalid_value": stats.rows_invalid_value,
        "services_kept": float(lines["services"].sum()),
        "allowed_kept_usd": float(lines["allowed_usd"].sum()),
    }
    return PufRead(
        lines=lines,
        quarantine=quarantine,
        counts=counts,
        layout=provider_service_layout(path),
        path=str(path),
    )


def read_geography_service(
    path: str | PathLike[str], *, codes: Iterable[str] | None = None
) -> pd.DataFrame:
    """Read a "by Geography and Service" file (national and state rows).

    Parameters
    ----------
    path : path-like
        The CSV with the 15 columns of :data:`GEOGRAPHY_SERVICE_COLUMNS` (BOM and CRLF
        accepted). Rows are few (about 270,000 nationally), so the file is read whole.
    codes : iterable of str, optional
        HCPCS codes to keep; default CT/MR plus 76376/76377.

    Returns
    -------
    DataFrame
        ``geo_level ("National" | "State"), state_fips, state_name, cpt_code,
        code_class, place_of_service, n_providers, n_beneficiaries, services,
        bene_day_services, avg_submitted_usd, avg_allowed_usd, avg_paid_usd,
        avg_standardized_usd, allowed_usd, paid_usd``.
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
    keep_codes, classes = _code_set(codes)
    try:
        table = pacsv.read_csv(
            str(path),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(GEOGRAPHY_SERVICE_COLUMNS, pa.string()),
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as err:
        raise InputError(f"cannot parse the CSV: {err}", file=path) from None
    table = table.filter(pc.is_in(table.column("HCPCS_Cd"), value_set=pa.array(keep_codes)))
    raw = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    names = {
        "Rndrng_Prvdr_Geo_Lvl": "geo_level", "Rndrng_Prvdr_Geo_Cd": "state_fips",
        "Rndrng_Prvdr_Geo_Desc": "state_name", "HCPCS_Cd": "cpt_code",
        "Place_Of_Srvc": "place_of_service", "Tot_Rndrng_Prvdrs": "n_providers",
        "Tot_Benes": "n_beneficiaries", "Tot_Srvcs": "services",
        "Tot_Bene_Day_Srvcs": "bene_day_services", "Avg_Sbmtd_Chrg": "avg_submitted_usd",
        "Avg_Mdcr_Alowd_Amt": "avg_allowed_usd", "Avg_Mdcr_Pymt_Amt": "avg_paid_usd",
        "Avg_Mdcr_Stdzd_Amt": "avg_standardized_usd",
    }  # fmt: skip
    frame = raw.rename(columns=names).loc[:, list(names.values())]
    numeric = list(names.values())[5:]
    for col in numeric:
        values = pd.to_numeric(frame[col].str.strip(), errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                "not a number >= 0",
                file=path,
                column=[k for k, v in names.items() if v == col][0],
                value=frame[col].iloc[i],
            )
        frame = frame.assign(**{col: values.astype("float64")})
    frame = frame.assign(
        geo_level=frame["geo_level"].str.strip(),
        state_fips=frame["state_fips"].str.strip().str.zfill(2).mask(
            frame["state_fips"].str.strip().eq(""), ""
        ),
        code_class=frame["cpt_code"].map(classes).astype("string"),
        allowed_usd=frame["services"] * frame["avg_allowed_usd"],
        paid_usd=frame["services"] * frame["avg_paid_usd"],
    )
    return frame.reset_index(drop=True)


# ====================================================================== roll-ups


def read_crosswalk(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a user NPI -> practice crosswalk CSV.

    The file needs columns ``npi`` and ``practice_id`` (``practice_name`` optional);
    NPIs are read as text (a spreadsheet that saved ``1234567893.0`` or
    ``1.234567893E9`` is repaired when the value is unambiguous).

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
    for col in ("npi", "practice_id"):
        if col not in table.columns:
            raise InputError(
                f"the crosswalk needs columns npi and practice_id (found {list(table.columns)})",
                file=path,
                row=1,
                column=col,
            )
    raw = table["npi"].astype("string").str.strip()
    as_number = pd.to_numeric(raw, errors="coerce")
    repaired = raw.mask(
        ~raw.str.fullmatch(r"\d{10}").fillna(False) & as_number.notna()
        & (as_number == as_number.round()),
        as_number.round().astype("Int64").astype("string"),
    )
    out = pd.DataFrame(
        {
            "npi": repaired,
            "practice_id": table["practice_id"].astype("string").str.strip(),
            "practice_name": (
                table["practice_name"].astype("string").str.strip()
                if "practice_name" in table.columns
                else table["practice_id"].astype("string").str.strip()
            ),
        }
    )
    bad_npi = ~_npi_check_ok(out["npi"])
    if bad_npi.any():
        i = int(np.flatnonzero(bad_npi.to_numpy())[0])
        raise InputError(
            "not a 10-digit NPI with a valid check digit",
            file=path, row=i + 2, column="npi", value=raw.iloc[i],
        )
    blank = out["practice_id"].eq("")
    if blank.any():
        i = int(np.flatnonzero(blank.to_numpy())[0])
        raise InputError("blank practice_id", file=path, row=i + 2, column="practice_id", value="")
    conflict = out.drop_duplicates(["npi", "practice_id"]).duplicated("npi", keep=False)
    if conflict.any():
        i = int(np.flatnonzero(conflict.to_numpy())[0])
        raise InputError(
            "this NPI is mapped to more than one practice; keep one row per NPI",
            file=path, row=i + 2, column="npi", value=out["npi"].iloc[i],
        )
    return out.drop_duplicates("npi").reset_index(drop=True)


@dataclass(frozen=True)
class PracticeRollup:
    """Provider-file rows assigned to practices.

    Attributes
    ----------
    lines : DataFrame
        The input rows kept, with ``practice_id`` and ``practice_name`` added.
    unmatched : DataFrame
        NPIs absent from the crosswalk (``crosswalk`` roll-up only): ``npi,
        provider_name, state, n_rows, services``; empty otherwise.
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
        ``npi, practice_id[, practice_name]`` (see :func:`read_crosswalk`).
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
        {c: pd.Series(dtype=t) for c, t in [("npi", "string"), ("provider_name", "string"),
                                            ("state", "string"), ("n_rows", "int64"),
                                            ("services", "float64")]}
    )
    rows_in = len(lines)
    if rollup == "npi":
        out = lines.assign(practice_id=lines["npi"], practice_name=lines["provider_name"])
        missing = empty_unmatched
    elif rollup == "organization":
        out = lines.loc[lines["entity_code"].eq("O")]
        out = out.assign(practice_id=out["npi"], practice_name=out["provider_name"])
        missing = empty_unmatched
    else:
        if crosswalk is None:
            raise InputError("the crosswalk roll-up needs a crosswalk (npi, practice_id)")
        cw = crosswalk.loc[:, ["npi", "practice_id"]].assign(
            practice_name=crosswalk["practice_name"]
            if "practice_name" in crosswalk.columns
            else crosswalk["practice_id"]
        ).astype("string")
        merged = lines.merge(cw, on="npi", how="left", validate="many_to_one")
        no_match = merged["practice_id"].isna()
        missing = (
            merged.loc[no_match]
            .groupby(["npi", "provider_name", "state"], as_index=False, observed=True)
            .agg(n_rows=("cpt_code", "size"), services=("services", "sum"))
            .astype({"n_rows": "int64"})
            .sort_values("services", ascending=False)
            .reset_index(drop=True)
        )
        if unmatched == "own":
            out = merged.assign(
                practice_id=merged["practice_id"].fillna(merged["npi"]),
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


# ==================================================================== summaries


@dataclass(frozen=True)
class SuppressionBounds:
    """How much a suppressed provider-file row can hide (see the module docstring).

    Parameters
    ----------
    max_hidden_beneficiaries : int
        Beneficiaries a dropped row may count: 10 (CMS publishes no row from 10 or
        fewer beneficiaries).
    services_per_beneficiary : float
        Assumed upper bound on services per beneficiary in a hidden cell [A]. 3D
        rendering is reported at most once per study, and a beneficiary rarely has
        more than two CT/MR studies of the same code read by one radiologist in a
        year; 2.0 gives 20 services per hidden cell. Raise it to widen the bounds.
    places : {"observed", "all"}
        Places of service at which an NPI can have hidden cells: those where it has
        any visible CT/MR or 3D row (default: a radiologist reading only hospital
        studies has no office cells), or both ``F`` and ``O``.
    """

    max_hidden_beneficiaries: int = 10
    services_per_beneficiary: float = 2.0
    places: Literal["observed", "all"] = "observed"

    def __post_init__(self) -> None:
        if not isinstance(self.max_hidden_beneficiaries, int) or self.max_hidden_beneficiaries < 0:
            raise InputError(
                "max_hidden_beneficiaries must be an integer >= 0",
                column="max_hidden_beneficiaries", value=self.max_hidden_beneficiaries,
            )
        spb = self.services_per_beneficiary
        if not isinstance(spb, int | float) or not math.isfinite(spb) or spb < 1:
            raise InputError(
                "services_per_beneficiary must be a number >= 1",
                column="services_per_beneficiary", value=spb,
            )
        if self.places not in ("observed", "all"):
            raise InputError("places must be 'observed' or 'all'", value=self.places)

    @property
    def services_per_hidden_cell(self) -> float:
        return self.max_hidden_beneficiaries * float(self.services_per_beneficiary)

    def to_dict(self) -> dict:
        return asdict(self)


_SUMMARY_SUMS = [
    "ct_mr_units", "ct_units", "mr_units", "units_3d_76376", "units_3d_76377",
    "allowed_3d_76376_usd", "allowed_3d_76377_usd", "paid_3d_usd", "ct_mr_allowed_usd",
]  # fmt: skip


def summarize_puf(
    lines: pd.DataFrame,
    *,
    period: str | int,
    bounds: SuppressionBounds | None = None,
    codes: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The services-basis summary per practice from provider-file rows.

    Parameters
    ----------
    lines : DataFrame
        :attr:`PufRead.lines` or :attr:`PracticeRollup.lines` (without a
        ``practice_id`` column each NPI is its own practice).
    period : str or int
        The data year of the file (the file does not say), e.g. ``"2023"``.
    bounds : SuppressionBounds, optional
        How hidden cells are bounded (default :class:`SuppressionBounds()`).
    codes : iterable of str, optional
        The code set the rows were read with (default CT/MR + 3D), to count the
        CT/MR cells that could be hidden.

    Returns
    -------
    DataFrame
        One row per ``practice_id, period, payer`` (``payer = "MEDICARE"``), the
        column names of :mod:`analysis.summary` where they mean the same thing and
        every other column a count or a sum, so summaries of disjoint practice
        partitions add up: ``n_npis, n_rows, ct_mr_units, ct_units, mr_units,
        units_3d_76376, units_3d_76377`` (services, may be fractional),
        ``allowed_3d_76376_usd, allowed_3d_76377_usd, paid_3d_usd,
        ct_mr_allowed_usd``, ``hidden_cells_3d, hidden_cells_ct_mr`` (code x place
        cells without a visible row, see the module docstring) and
        ``hidden_3d_units_max, hidden_ct_mr_units_max`` (cells x
        :attr:`SuppressionBounds.services_per_hidden_cell`).

    Examples
    --------
    One NPI, facility only: 3 visible CT/MR codes (1,000 services) and 76376 (150).
    The CT/MR set has K codes, so K - 3 CT/MR cells and one 3D cell (76377) are hidden;
    hidden_3d_units_max = 1 x 20 = 20.
    """
    bounds = bounds or SuppressionBounds()
    period = str(period)
    keep_codes, classes = _code_set(codes)
    n_ct_mr_codes = sum(1 for c in keep_codes if classes[c] in ("CT", "MR"))
    frame = lines if "practice_id" in lines.columns else lines.assign(practice_id=lines["npi"])
    frame = frame.assign(
        code_class=frame["cpt_code"].map(classes).fillna("other"),
    )
    services = frame["services"]
    allowed = frame["allowed_usd"]
    is_ctmr = frame["code_class"].isin(["CT", "MR"])
    contrib = frame.assign(
        ct_mr_units=services.where(is_ctmr, 0.0),
        ct_units=services.where(frame["code_class"].eq("CT"), 0.0),
        mr_units=services.where(frame["code_class"].eq("MR"), 0.0),
        units_3d_76376=services.where(frame["cpt_code"].eq("76376"), 0.0),
        units_3d_76377=services.where(frame["cpt_code"].eq("76377"), 0.0),
        allowed_3d_76376_usd=allowed.where(frame["cpt_code"].eq("76376"), 0.0),
        allowed_3d_76377_usd=allowed.where(frame["cpt_code"].eq("76377"), 0.0),
        paid_3d_usd=frame["paid_usd"].where(frame["code_class"].eq("3D"), 0.0),
        ct_mr_allowed_usd=allowed.where(is_ctmr, 0.0),
    )
    sums = (
        contrib.groupby("practice_id", observed=True)[_SUMMARY_SUMS]
        .sum()
        .join(contrib.groupby("practice_id", observed=True).agg(
            n_npis=("npi", "nunique"), n_rows=("npi", "size")))
    )
    hidden = _hidden_cells(frame, bounds=bounds, n_ct_mr_codes=n_ct_mr_codes)
    per_practice = (
        hidden.groupby("practice_id", observed=True)[["hidden_cells_3d", "hidden_cells_ct_mr"]]
        .sum()
    )
    out = (
        sums.join(per_practice)
        .fillna({"hidden_cells_3d": 0, "hidden_cells_ct_mr": 0})
        .reset_index()
    )
    cell = bounds.services_per_hidden_cell
    out = out.assign(
        period=period,
        payer="MEDICARE",
        n_npis=out["n_npis"].astype("int64"),
        n_rows=out["n_rows"].astype("int64"),
        hidden_cells_3d=out["hidden_cells_3d"].astype("int64"),
        hidden_cells_ct_mr=out["hidden_cells_ct_mr"].astype("int64"),
        hidden_3d_units_max=out["hidden_cells_3d"] * cell,
        hidden_ct_mr_units_max=out["hidden_cells_ct_mr"] * cell,
    )
    first = ["practice_id", "period", "payer", "n_npis", "n_rows"]
    rest = [c for c in out.columns if c not in first]
    return (
        out.loc[:, first + rest]
        .astype({"practice_id": "string", "period": "string", "payer": "string"})
        .sort_values("practice_id")
        .reset_index(drop=True)
    )


def _hidden_cells(
    frame: pd.DataFrame, *, bounds: SuppressionBounds, n_ct_mr_codes: int
) -> pd.DataFrame:
    """Hidden 3D and CT/MR code x place cells per NPI (and its practice)."""
    relevant = frame.loc[frame["code_class"].isin(["CT", "MR", "3D"])]
    cells = relevant.drop_duplicates(["practice_id", "npi", "place_of_service", "cpt_code"])
    per_place = (
        cells.assign(
            is_3d=cells["code_class"].eq("3D"), is_ctmr=cells["code_class"].isin(["CT", "MR"])
        )
        .groupby(["practice_id", "npi", "place_of_service"], observed=True)[["is_3d", "is_ctmr"]]
        .sum()
        .reset_index()
    )
    if bounds.places == "all":
        npis = per_place.loc[:, ["practice_id", "npi"]].drop_duplicates()
        grid = npis.merge(pd.DataFrame({"place_of_service": ["F", "O"]}), how="cross")
        per_place = grid.merge(
            per_place, on=["practice_id", "npi", "place_of_service"], how="left"
        ).fillna({"is_3d": 0, "is_ctmr": 0})
    return per_place.assign(
        hidden_cells_3d=(len(CODES_3D) - per_place["is_3d"]).clip(lower=0),
        hidden_cells_ct_mr=(n_ct_mr_codes - per_place["is_ctmr"]).clip(lower=0),
    )


# ======================================================================= screen


def _practice_attributes(lines: pd.DataFrame) -> pd.DataFrame:
    """Per practice: name, main state (most services), its MAC and jurisdiction."""
    frame = lines if "practice_id" in lines.columns else lines.assign(
        practice_id=lines["npi"], practice_name=lines["provider_name"]
    )
    if "practice_name" not in frame.columns:
        frame = frame.assign(practice_name=frame["provider_name"])
    by_state = (
        frame.groupby(["practice_id", "state"], observed=True)["services"].sum().reset_index()
        .sort_values(["practice_id", "services", "state"], ascending=[True, False, True])
        .drop_duplicates("practice_id")
        .loc[:, ["practice_id", "state"]]
    )
    names = frame.drop_duplicates("practice_id").loc[:, ["practice_id", "practice_name"]]
    out = names.merge(by_state, on="practice_id", how="left")
    return out.merge(state_jurisdictions(), on="state", how="left")


@dataclass(frozen=True)
class PufScreen:
    """The services-basis LCD screen of provider-file practices, with suppression bounds.

    Attributes
    ----------
    table : DataFrame
        One row per practice: ``practice_id, practice_name, state, mac, jurisdiction``
        (when rows were given), ``n`` (CT/MR services), ``x`` (3D services), ``rate,
        rate_lower, rate_upper`` (see the module docstring), ``ci_low, ci_high,
        p_value, q_value, flag`` (the screen on visible rows), ``flag_at_lower,
        flag_at_upper`` (the same screen with every practice at its lower / upper
        bound), ``robust`` (the flag is the same at both bounds) and ``flag_status``,
        plus the hidden-cell columns of the summary, ``shrunken_rate, prob_above,
        percentile, excess_x, excess_usd``.
    observed, at_lower, at_upper : analysis.lcd.ScreenResult
        The three screens.
    bounds : SuppressionBounds
    """

    table: pd.DataFrame
    observed: object
    at_lower: object
    at_upper: object
    bounds: SuppressionBounds

    @property
    def summary(self) -> pd.DataFrame:
        """Practices per flag status."""
        return (
            self.table["flag_status"].value_counts().rename_axis("flag_status")
            .reset_index(name="n_practices")
        )

    @property
    def headline(self) -> str:
        t = self.table
        return (
            f"{int(t['screened'].sum())} providers screened on the services basis, "
            f"{int(t['flag'].sum())} flagged, {int((t['flag'] & t['robust']).sum())} of them "
            f"robust to the file's suppression of rows from <= "
            f"{self.bounds.max_hidden_beneficiaries} beneficiaries."
        )

    def to_dict(self) -> dict:
        t = self.table
        return {
            "headline": self.headline,
            "n_screened": int(t["screened"].sum()),
            "n_flagged": int(t["flag"].sum()),
            "n_flagged_robust": int((t["flag"] & t["robust"]).sum()),
            "n_not_flagged_not_robust": int((~t["flag"] & ~t["robust"] & t["screened"]).sum()),
            "flag_status": dict(zip(self.summary["flag_status"], self.summary["n_practices"],
                                    strict=True)),
            "bounds": self.bounds.to_dict(),
            "screen": self.observed.to_dict(),
        }

    def _repr_html_(self) -> str:
        import html as _html

        cols = ["practice_id", "practice_name", "state", "n", "x", "rate", "rate_lower",
                "rate_upper", "q_value", "flag", "flag_status"]
        cols = [c for c in cols if c in self.table.columns]
        shown = self.table.loc[:, cols].sort_values(["q_value", "practice_id"], na_position="last")
        fmt = {c: "{:.1%}".format for c in ("rate", "rate_lower", "rate_upper")}
        fmt["q_value"] = "{:.3g}".format
        return (
            f"<p><b>{_html.escape(self.headline)}</b></p>"
            + self.summary.to_html(index=False)
            + shown.head(50).to_html(index=False, formatters=fmt, na_rep="–")
        )


_STATUS = {
    (True, True): "flag robust to suppression",
    (True, False): "flag not robust: hidden CT/MR rows could explain it",
    (False, True): "not flagged, robust",
    (False, False): "not flagged, not robust: hidden 3D rows could flag it",
}


def screen_puf(
    summary: pd.DataFrame,
    *,
    lines: pd.DataFrame | None = None,
    threshold: float = 0.20,
    bounds: SuppressionBounds | None = None,
    **screen_options,
) -> PufScreen:
    """Run the services-basis LCD screen at the visible counts and at both bounds.

    Calls :func:`analysis.lcd.screen` (``basis="services"``) three times: on the
    visible counts, with every practice's CT/MR services raised by its hidden maximum
    (the lower bound of its rate) and with its 3D services raised by its hidden
    maximum (the upper bound; the hidden 3D services are added to the 76376 column
    because only the sum enters the services basis). Fractional services (the file's
    ``Tot_Srvcs`` can be fractional) are rounded to whole services by
    :func:`analysis.lcd.screen`. Benjamini-Hochberg q-values
    are monotone in every p-value, so ``flag_at_lower <= flag <= flag_at_upper``;
    a flag (or a non-flag) is *robust* when both bounds agree.

    Parameters
    ----------
    summary : DataFrame
        :func:`summarize_puf` output.
    lines : DataFrame, optional
        The rows the summary came from, to add practice name, state, MAC and
        jurisdiction.
    threshold : float
        The benchmark share (0.20, retired LCD L35408).
    bounds : SuppressionBounds, optional
        Only recorded (the summary's hidden-maximum columns already carry them).
    **screen_options
        Passed to :func:`analysis.lcd.screen` (``alpha``, ``ci``, ...).
    """
    from analysis import lcd

    bounds = bounds or SuppressionBounds()
    needed = ["hidden_3d_units_max", "hidden_ct_mr_units_max"]
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise InputError("the summary has no hidden-cell columns: use summarize_puf",
                         column=missing[0])
    options = {"threshold": threshold, "basis": "services", **screen_options}
    # lcd.screen rounds the (possibly fractional) service counts to whole services;
    # the hidden maxima are rounded here so that adding them keeps counts whole.
    hidden = ["hidden_3d_units_max", "hidden_ct_mr_units_max"]
    summary = summary.assign(**{c: summary[c].astype(float).round() for c in hidden})
    observed = lcd.screen(summary, **options)
    at_lower = lcd.screen(
        summary.assign(ct_mr_units=summary["ct_mr_units"] + summary["hidden_ct_mr_units_max"]),
        **options,
    )
    at_upper = lcd.screen(
        summary.assign(
            units_3d_76376=summary["units_3d_76376"] + summary["hidden_3d_units_max"]
        ),
        **options,
    )
    keys = ["practice_id"]
    lower = at_lower.table.loc[:, keys + ["flag"]].rename(columns={"flag": "flag_at_lower"})
    upper = at_upper.table.loc[:, keys + ["flag"]].rename(columns={"flag": "flag_at_upper"})
    hidden = (
        summary.astype({"practice_id": str})
        .groupby("practice_id")[["hidden_cells_3d", "hidden_cells_ct_mr", "hidden_3d_units_max",
                                 "hidden_ct_mr_units_max", "n_npis"]]
        .sum()
        .reset_index()
    )
    t = observed.table.merge(lower, on=keys).merge(upper, on=keys).merge(hidden, on=keys)
    n, x = t["n"].astype(float), t["x"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_lower = np.where(n > 0, x / (n + t["hidden_ct_mr_units_max"]), np.nan)
        rate_upper = np.where(n > 0, (x + t["hidden_3d_units_max"]) / n, np.nan)
    robust = t["flag_at_lower"] == t["flag_at_upper"]
    status = [
        "not screened: no CT/MR services" if not s else _STATUS[(bool(f), bool(r))]
        for s, f, r in zip(t["screened"], t["flag"], robust, strict=True)
    ]
    t = t.assign(rate_lower=rate_lower, rate_upper=rate_upper, robust=robust.to_numpy(),
                 flag_status=pd.Series(status, index=t.index, dtype="string"))
    if lines is not None:
        t = _practice_attributes(lines).astype({"practice_id": str}).merge(
            t, on="practice_id", how="right"
        )
    front = [c for c in ["practice_id", "practice_name", "state", "mac", "jurisdiction",
                         "n_npis", "screened", "n", "x", "rate", "rate_lower", "rate_upper",
                         "ci_low", "ci_high", "p_value", "q_value", "flag", "flag_at_lower",
                         "flag_at_upper", "robust", "flag_status"] if c in t.columns]
    t = t.loc[:, front + [c for c in t.columns if c not in front]]
    return PufScreen(table=t.reset_index(drop=True), observed=observed, at_lower=at_lower,
                     at_upper=at_upper, bounds=bounds)


# ===================================================================== exposure


@dataclass(frozen=True)
class ExposureAssumptions:
    """Adjustable ratios that scale Medicare 3D volume to one commercial payer [A].

    Every value is an assumption to be varied. Each ``(low, high)`` pair is read as a
    95 % range and the central value as the mean, the convention of
    :mod:`analysis.uncertainty`: the two ratios are lognormal, the share is beta,
    with ``sd = (high - low) / 3.92``.

    Parameters
    ----------
    commercial_to_medicare_volume : float
        Commercial 3D services per Medicare fee-for-service 3D service in the state.
        Default 1.5 (0.8-2.5): NC has about 1.0 M Medicare FFS beneficiaries against
        about 5 M commercially insured people, who use CT/MR at roughly a third of the
        65+ rate per person [A].
    bcbs_share_of_commercial : float
        The payer's share of commercial 3D services. Default 0.45 (0.35-0.55): BCBS NC
        had 3.86 M members in 2020, 1.17 M of them out-of-state BlueCard, and the
        State Health Plan (~0.58 M) left for Aetna in January 2025 [S/A].
    commercial_multiplier : float
        Commercial allowed amount as a multiple of Medicare's for radiology. Default
        1.8 (1.2-2.5): Urban Institute / FAIR Health 2019-20 put commercial radiology
        at about 180 % of Medicare [S/A].
    payer : str
        Label only.
    """

    commercial_to_medicare_volume: float = 1.5
    commercial_to_medicare_volume_low: float = 0.8
    commercial_to_medicare_volume_high: float = 2.5
    bcbs_share_of_commercial: float = 0.45
    bcbs_share_of_commercial_low: float = 0.35
    bcbs_share_of_commercial_high: float = 0.55
    commercial_multiplier: float = 1.8
    commercial_multiplier_low: float = 1.2
    commercial_multiplier_high: float = 2.5
    payer: str = "BCBS NC"

    _DISTRIBUTIONS = {
        "commercial_to_medicare_volume": "lognormal",
        "bcbs_share_of_commercial": "beta",
        "commercial_multiplier": "lognormal",
    }

    def __post_init__(self) -> None:
        for name in self._DISTRIBUTIONS:
            lo, mid, hi = (getattr(self, f"{name}_low"), getattr(self, name),
                           getattr(self, f"{name}_high"))
            if not all(isinstance(v, int | float) and math.isfinite(v) for v in (lo, mid, hi)):
                raise InputError(f"{name} and its low/high must be numbers", column=name,
                                 value=(lo, mid, hi))
            if not 0 < lo <= mid <= hi:
                raise InputError(f"need 0 < {name}_low <= {name} <= {name}_high",
                                 column=name, value=(lo, mid, hi))
        if not self.bcbs_share_of_commercial_high < 1:
            raise InputError("bcbs_share_of_commercial must be below 1",
                             column="bcbs_share_of_commercial_high",
                             value=self.bcbs_share_of_commercial_high)

    def to_dict(self) -> dict:
        return asdict(self)

    def parameter_table(self) -> pd.DataFrame:
        """``parameter, base, low, high, distribution`` as :mod:`analysis.uncertainty` reads it."""
        return pd.DataFrame(
            [(name, float(getattr(self, name)), float(getattr(self, f"{name}_low")),
              float(getattr(self, f"{name}_high")), dist)
             for name, dist in self._DISTRIBUTIONS.items()],
            columns=["parameter", "base", "low", "high", "distribution"],
        )

    def draw(self, n: int, *, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` independent draws of the three ratios
        (:func:`analysis.uncertainty.sample_parameters`)."""
        from analysis.uncertainty import sample_parameters

        return sample_parameters(self.parameter_table(), n, rng=rng)


def medicare_3d_totals(
    *,
    state: str,
    lines: pd.DataFrame | None = None,
    geography: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Medicare 3D services and allowed dollars of one state, per code.

    From the geography file's state rows when given (complete: they include the
    providers' suppressed rows), else from the provider-file rows (visible rows
    only: a lower bound). Returns ``cpt_code, services, allowed_usd, source``.
    """
    state = state.strip().upper()
    if geography is not None:
        fips = _state_fips(state)
        rows = geography.loc[
            geography["geo_level"].str.lower().eq("state")
            & geography["state_fips"].eq(fips)
            & geography["cpt_code"].isin(CODES_3D)
        ]
        source = "geography file (state rows, include suppressed provider rows)"
    elif lines is not None:
        rows = lines.loc[lines["state"].eq(state) & lines["cpt_code"].isin(CODES_3D)]
        source = "provider file (visible rows only: a lower bound)"
    else:
        raise InputError("pass provider-file lines or a geography file")
    out = (
        rows.groupby("cpt_code", observed=True)[["services", "allowed_usd"]].sum()
        .reindex(list(CODES_3D), fill_value=0.0)
        .rename_axis("cpt_code")
        .reset_index()
    )
    return out.assign(source=source)


def _state_fips(state: str) -> str:
    table = {s: f for s, f, _, _ in _STATES}
    if state not in table:
        raise InputError("unknown state abbreviation", column="state", value=state)
    return table[state]


@dataclass(frozen=True)
class ExposureEstimate:
    """A public-data estimate of one payer's annual 3D rendering allowed dollars.

    Attributes
    ----------
    table : DataFrame
        ``quantity, point, mean, low, high`` for Medicare 3D services and allowed
        dollars (data), the payer's 3D services and allowed dollars (estimates).
        ``point`` uses the central assumptions; ``low``/``high`` are the
        ``ci_level`` percentile interval of the draws.
    draws : DataFrame
        One row per draw: the three ratios and the two estimates.
    medicare : DataFrame
        :func:`medicare_3d_totals` output used.
    assumptions : ExposureAssumptions
    method : str
        The uncertainty machinery used.
    label : str
        What this is, in one sentence for reports.
    """

    table: pd.DataFrame
    draws: pd.DataFrame
    medicare: pd.DataFrame
    assumptions: ExposureAssumptions
    state: str
    period: str
    method: str
    ci_level: float
    seed_note: str
    convergence: object = None

    @property
    def label(self) -> str:
        return (
            f"ESTIMATE FROM PUBLIC DATA: {self.assumptions.payer} annual 3D rendering "
            f"(76376/76377) services and allowed dollars in {self.state}, data year "
            f"{self.period}, derived from CMS Medicare Part B public files scaled by assumed "
            "ratios (commercial-to-Medicare volume, payer share, commercial price "
            "multiplier). Not the payer's claims."
        )

    @property
    def summary(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "state": self.state,
            "period": self.period,
            "method": self.method,
            "ci_level": self.ci_level,
            "n_draws": len(self.draws),
            "seed": self.seed_note,
            "medicare_source": str(self.medicare["source"].iloc[0]),
            "assumptions": self.assumptions.to_dict(),
            "converged": None if self.convergence is None else bool(self.convergence.converged),
            "estimates": {
                r.quantity: {"point": r.point, "mean": r.mean, "low": r.low, "high": r.high}
                for r in self.table.itertuples()
            },
        }

    def _repr_html_(self) -> str:
        import html as _html

        return (
            f"<p><b>{_html.escape(self.label)}</b></p>"
            + self.table.to_html(index=False, float_format=lambda v: f"{v:,.1f}")
            + f"<p>Uncertainty: {_html.escape(self.method)}; {len(self.draws):,} draws; "
            f"{self.ci_level:.0%} percentile intervals.</p>"
        )


def estimate_exposure(
    medicare: pd.DataFrame,
    *,
    state: str = "NC",
    period: str | int = "",
    assumptions: ExposureAssumptions | None = None,
    n_draws: int = 10_000,
    rng: np.random.Generator,
    ci_level: float = 0.95,
) -> ExposureEstimate:
    """Scale a state's Medicare 3D volume and dollars to one commercial payer.

    ``payer_services = medicare_services x volume_ratio x payer_share`` and
    ``payer_allowed_usd = medicare_allowed_usd x volume_ratio x payer_share x
    commercial_multiplier`` (the Medicare allowed amount per 3D service carries the
    state's global/-26/-TC mix and locality), with the three ratios drawn
    independently by :meth:`ExposureAssumptions.draw` (the PSA sampler of
    :mod:`analysis.uncertainty`, on the explicit ``rng``), vectorized over draws.
    :func:`analysis.uncertainty.convergence` checks the payer-dollar interval.

    Parameters
    ----------
    medicare : DataFrame
        :func:`medicare_3d_totals` output (``cpt_code, services, allowed_usd, source``).
    state, period : str
        Labels.
    assumptions : ExposureAssumptions, optional
    n_draws : int
    rng : numpy.random.Generator
    ci_level : float
        Level of the percentile intervals (default 0.95).
    """
    assumptions = assumptions or ExposureAssumptions()
    if not isinstance(n_draws, int) or n_draws < 100:
        raise InputError("n_draws must be an integer >= 100", column="n_draws", value=n_draws)
    if not 0 < ci_level < 1:
        raise InputError("ci_level must be in (0, 1)", column="ci_level", value=ci_level)
    services = float(medicare["services"].sum())
    allowed = float(medicare["allowed_usd"].sum())
    draws = assumptions.draw(n_draws, rng=rng)
    draws = draws.assign(
        payer_3d_services=services * draws["commercial_to_medicare_volume"]
        * draws["bcbs_share_of_commercial"],
    )
    draws = draws.assign(
        payer_3d_allowed_usd=allowed * draws["commercial_to_medicare_volume"]
        * draws["bcbs_share_of_commercial"] * draws["commercial_multiplier"],
    )
    a = assumptions
    point_scale = a.commercial_to_medicare_volume * a.bcbs_share_of_commercial
    tail = (1 - ci_level) / 2
    rows = [
        ("medicare_3d_services", services, services, services, services),
        ("medicare_3d_allowed_usd", allowed, allowed, allowed, allowed),
    ]
    for name, point in (
        ("payer_3d_services", services * point_scale),
        ("payer_3d_allowed_usd", allowed * point_scale * a.commercial_multiplier),
    ):
        values = draws[name].to_numpy()
        rows.append((name, point, float(values.mean()), float(np.quantile(values, tail)),
                     float(np.quantile(values, 1 - tail))))
    table = pd.DataFrame(rows, columns=["quantity", "point", "mean", "low", "high"])
    from analysis.uncertainty import convergence

    diag = (convergence(draws["payer_3d_allowed_usd"].to_numpy(), level=ci_level,
                        metric="payer_3d_allowed_usd") if allowed > 0 else None)
    return ExposureEstimate(
        table=table, draws=draws, medicare=medicare, assumptions=assumptions,
        state=state, period=str(period),
        method="analysis.uncertainty.sample_parameters (independent draws: lognormal "
        "ratios, beta share; ranges read as 95 % intervals around the mean), vectorized "
        "over draws on the caller's numpy Generator",
        ci_level=ci_level, seed_note="caller's rng", convergence=diag,
    )


# ================================================================== consistency


def check_consistency(lines: pd.DataFrame, geography: pd.DataFrame) -> pd.DataFrame:
    """Provider-file totals against the geography file, per state x code.

    Both files count the same Medicare services, but the provider file drops every
    NPI x code x place row from 10 or fewer beneficiaries, so its totals fall short
    of the geography file's state rows by the suppressed services. Beneficiary counts
    are not additive across providers and are not compared.

    Returns
    -------
    DataFrame
        One row per state (of the provider rows given) x code in either file:
        ``state, state_fips, cpt_code, services_provider, services_geography,
        gap_services`` (geography - provider, the suppressed services),
        ``gap_share`` (gap / geography), ``allowed_provider_usd,
        allowed_geography_usd, gap_allowed_usd, n_npis_provider,
        n_providers_geography`` and ``status`` (``"ok"``; ``"provider exceeds
        geography"`` is impossible for consistent files; ``"not in geography"``).
    """
    prov = (
        lines.assign(state_fips=lines["state_fips"].str.strip().str.zfill(2))
        .groupby(["state", "state_fips", "cpt_code"], observed=True)
        .agg(services_provider=("services", "sum"), allowed_provider_usd=("allowed_usd", "sum"),
             n_npis_provider=("npi", "nunique"))
        .reset_index()
    )
    states = prov.loc[:, ["state", "state_fips"]].drop_duplicates("state_fips")
    geo = (
        geography.loc[geography["geo_level"].str.lower().eq("state")
                      & geography["state_fips"].isin(states["state_fips"])]
        .groupby(["state_fips", "cpt_code"], observed=True)
        .agg(services_geography=("services", "sum"),
             allowed_geography_usd=("allowed_usd", "sum"),
             n_providers_geography=("n_providers", "sum"))
        .reset_index()
    )
    out = prov.merge(geo, on=["state_fips", "cpt_code"], how="outer")
    out = out.drop(columns="state").merge(states, on="state_fips", how="left")
    out = out.fillna({"services_provider": 0.0, "allowed_provider_usd": 0.0,
                      "n_npis_provider": 0})
    gap = out["services_geography"] - out["services_provider"]
    status = np.where(
        out["services_geography"].isna(), "not in geography",
        np.where(gap < -1e-6 * out["services_geography"].abs().clip(lower=1),
                 "provider exceeds geography", "ok"),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(out["services_geography"] > 0, gap / out["services_geography"], np.nan)
    out = out.assign(
        gap_services=gap, gap_share=share,
        gap_allowed_usd=out["allowed_geography_usd"] - out["allowed_provider_usd"],
        n_npis_provider=out["n_npis_provider"].astype("int64"),
        status=pd.Series(status, index=out.index, dtype="string"),
    )
    cols = ["state", "state_fips", "cpt_code", "services_provider", "services_geography",
            "gap_services", "gap_share", "allowed_provider_usd", "allowed_geography_usd",
            "gap_allowed_usd", "n_npis_provider", "n_providers_geography", "status"]
    return out.loc[:, cols].sort_values(["state", "cpt_code"]).reset_index(drop=True)


# ==================================================================== synthetic

_DESC_3D = {
    "76376": "3D rendering with interpretation and reporting of computed tomography, "
    "magnetic resonance imaging, ultrasound, or other tomographic modality with image "
    "postprocessing under concurrent supervision; not requiring image postprocessing on "
    "an independent workstation",
    "76377": "3D rendering with interpretation and reporting of computed tomography, "
    "magnetic resonance imaging, ultrasound, or other tomographic modality with image "
    "postprocessing under concurrent supervision; requiring image postprocessing on an "
    "independent workstation",
}
# Other codes for the synthetic rows: (code, description, drug indicator, typical
# allowed USD). Illustrative only; the reader drops them.
_OTHER_CODES = (
    ("99213", "Established patient office or other outpatient visit, 20-29 minutes", "N", 90),
    ("99214", "Established patient office or other outpatient visit, 30-39 minutes", "N", 128),
    ("99215", "Established patient office or other outpatient visit, 40-54 minutes", "N", 180),
    ("99203", "New patient office or other outpatient visit, 30-44 minutes", "N", 110),
    ("99204", "New patient office or other outpatient visit, 45-59 minutes", "N", 165),
    ("99232", "Subsequent hospital inpatient or observation care, 35 minutes", "N", 82),
    ("99233", "Subsequent hospital inpatient or observation care, 50 minutes", "N", 118),
    ("99223", "Initial hospital inpatient or observation care, 75 minutes", "N", 200),
    ("99308", "Subsequent nursing facility care, 20 minutes", "N", 75),
    ("36415", "Insertion of needle into vein for collection of blood sample", "N", 3),
    ("80053", "Blood test, comprehensive group of blood chemicals", "N", 10),
    ("85025", "Complete blood cell count (red cells, white blood cell, platelets), "
              "automated test and automated differential white blood cell count", "N", 8),
    ("93000", "Routine electrocardiogram (ECG) using at least 12 leads including "
              "interpretation and report", "N", 16),
    ("G0439", "Annual wellness visit, includes a personalized prevention plan of service "
              "(pps), subsequent visit", "N", 130),
    ("20610", "Aspiration and/or injection of large joint or joint bursa", "N", 60),
    ("97110", "Therapeutic exercise to develop strength, endurance, range of motion, "
              "and flexibility, each 15 minutes", "N", 29),
    ("97140", "Manual (physical) therapy techniques to 1 or more regions, each 15 minutes",
     "N", 26),
    ("96372", "Injection beneath the skin or into muscle for therapy, diagnosis, or "
              "prevention", "N", 14),
    ("J1100", "Injection, dexamethasone sodium phosphate, 1 mg", "Y", 0.1),
    ("J3301", "Injection, triamcinolone acetonide, not otherwise specified, 10 mg", "Y", 1.5),
    ("J0897", "Injection, denosumab, 1 mg", "Y", 18),
    ("92014", "Eye and medical examination for diagnosis and treatment, established "
              "patient, 1 or more visits", "N", 120),
    ("66984", "Removal of cataract with insertion of lens", "N", 540),
    ("17000", "Destruction of skin growth, first lesion", "N", 60),
    ("11721", "Removal of tissue from 6 or more finger or toe nails", "N", 45),
    ("71046", "X-ray of chest, 2 views", "N", 30),
    ("71045", "X-ray of chest, 1 view", "N", 25),
    ("76700", "Ultrasound of abdomen", "N", 110),
    ("77067", "Screening mammography of both breasts (2-view study of each breast), "
              "including computer-aided detection (cad) when performed", "N", 125),
    ("73030", "X-ray of shoulder, minimum of 2 views", "N", 32),
)  # fmt: skip
_RADIOLOGY_OTHER = ("71046", "71045", "76700", "77067", "73030")
_COMMON_CT_MR = {
    "74177": 8, "70450": 8, "71250": 5, "71260": 4, "74176": 4, "74178": 3, "71275": 3,
    "70551": 3, "70553": 3, "72148": 3, "70486": 2, "72131": 2, "73721": 2, "70470": 2,
    "72125": 2, "70498": 1.5, "70496": 1.5, "74174": 1.5, "75574": 1, "72141": 1.5,
}
_SURNAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Patel Shah O'Brien D'Angelo Kim Chen Singh Cohen Murphy Cook Rogers Morgan"
).split()
_FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Susan "
    "Richard Jessica Joseph Sarah Thomas Karen Priya Wei Ana Omar Fatima Luis Grace Ahmed"
).split()
_CITIES = (
    "Charlotte Raleigh Greensboro Durham Winston-Salem Fayetteville Asheville Wilmington "
    "Houston Dallas Philadelphia Pittsburgh Baltimore Newark Denver Albuquerque Tulsa Jackson "
    "Columbus Springfield Franklin Greenville Madison Clinton Salem Fairview"
).split()
_STREETS = ("Main St", "Oak Ave", "Medical Center Dr", "Hospital Blvd", "Park Rd",
            "University Pkwy", "Church St", "Highland Ave")
_RUCA = (
    ("1", "Metropolitan area core: primary flow within an urbanized area of 50,000 and greater"),
    ("2", "Metropolitan area high commuting: primary flow 30% or more to a urbanized area"),
    ("4", "Micropolitan area core: primary flow within an urban cluster of 10,000 to 49,999"),
    ("7", "Small town core: primary flow within an urban cluster of 2,500 to 9,999"),
    ("10", "Rural areas: primary flow to a tract outside a urbanized area or urban cluster"),
    ("10.1", "Rural areas: secondary flow 30% to <50% to a urbanized area"),
)
_OTHER_TYPES = ("Internal Medicine", "Family Practice", "Nurse Practitioner", "Cardiology",
                "Physical Therapist in Private Practice", "Ophthalmology", "Orthopedic Surgery",
                "Physician Assistant", "Dermatology", "Clinical Laboratory")


def _csv_quote(values: Sequence[str]) -> list[str]:
    """Minimal CSV quoting (as the CMS files do): only fields with , " or line ends."""
    out = []
    for v in values:
        v = str(v)
        if any(ch in v for ch in ',"\r\n'):
            v = '"' + v.replace('"', '""') + '"'
        out.append(v)
    return out


def _valid_npis(rng: np.random.Generator, n: int, *, start: int) -> np.ndarray:
    """``n`` distinct NPIs with valid check digits (payloads from ``start`` upward)."""
    payload = start + np.arange(n, dtype=np.int64) * 7 + rng.integers(0, 7, size=n)
    digits = (payload[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = _luhn_check_digit(digits)
    return (payload * 10 + check).astype(str)


def _code_table() -> pd.DataFrame:
    ctmr = ct_mr_codes()
    rows = [(c, _DESC_3D[c], "N", "3D", 25.0 if c == "76376" else 75.0) for c in CODES_3D]
    rows += [
        (r.cpt_code, r.description, "N", r.modality, 60.0 if r.modality == "CT" else 95.0)
        for r in ctmr.itertuples()
    ]
    rows += [(c, d, i, "other", float(p)) for c, d, i, p in _OTHER_CODES]
    table = pd.DataFrame(rows, columns=["cpt_code", "description", "drug", "code_class", "price"])
    return table.assign(
        weight=table["cpt_code"].map(_COMMON_CT_MR).fillna(0.5).where(
            table["code_class"].isin(["CT", "MR"]), 1.0
        ),
    )


def _coprime_steps(m: int) -> np.ndarray:
    return np.array([s for s in range(1, m) if math.gcd(s, m) == 1] or [1])


def _unique_picks(rng, n_per: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """For each owner i, ``n_per[i] <= m`` distinct indices in ``range(m)``."""
    n_per = np.minimum(n_per, m)
    owner = np.repeat(np.arange(n_per.size), n_per)
    j = np.arange(owner.size) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    steps = _coprime_steps(m)
    offset = rng.integers(0, m, size=n_per.size)
    step = steps[rng.integers(0, steps.size, size=n_per.size)]
    return owner, (offset[owner] + j * step[owner]) % m


def write_synthetic_puf(
    path: str | PathLike[str],
    *,
    n_rows: int,
    rng: np.random.Generator,
    layout: Literal["2023+", "with_gender"] = "2023+",
    geography_path: str | PathLike[str] | None = None,
    radiologist_share: float = 0.04,
    state_weights: Mapping[str, float] | None = None,
    bom: bool = False,
    crlf: bool = False,
    chunk_rows: int = 250_000,
) -> dict:
    """Write a synthetic "by Provider and Service" file in the exact real layout.

    Providers are drawn chunk by chunk and written as they are drawn, so any size fits
    in bounded memory (a full-size ~9.7 M-row file in about a minute per million rows
    on one core). Each provider has "true" cells (code x place of service) with
    beneficiary and service counts; cells with 10 or fewer beneficiaries are dropped
    from the provider file as CMS drops them, but kept in the geography totals, so the
    two files disagree exactly by the suppressed services.

    Radiologists (``radiologist_share`` of providers; 15 % of them organizations) read
    CT/MR studies (log-normal volume, popular codes weighted) and bill 3D rendering at
    a practice rate drawn log-normally around 6 % (a minority above 20 %), 76377 less
    often than 76376. Other providers bill office visits, labs, drugs (with fractional
    services) and plain radiography. Amounts are synthetic, not fee-schedule prices.

    Parameters
    ----------
    path : path-like
        Output CSV.
    n_rows : int
        Exact number of data rows to write.
    rng : numpy.random.Generator
    layout : {"2023+", "with_gender"}
        28 columns, or 29 with ``Rndrng_Prvdr_Gndr`` (older data years).
    geography_path : path-like, optional
        Also write the matching "by Geography and Service" file (state rows and
        national rows; rows from 10 or fewer beneficiaries dropped there too).
    radiologist_share : float
    state_weights : mapping, optional
        Relative weight per state abbreviation (default: roughly Medicare enrollment).
    bom, crlf : bool
        Write a UTF-8 BOM / Windows line ends.
    chunk_rows : int
        Rows generated per chunk.

    Returns
    -------
    dict
        ``rows, providers, radiologists, hidden_cells, hidden_services, path,
        geography_path, layout``.
    """
    if layout not in _LAYOUTS:
        raise InputError(f"layout must be one of {list(_LAYOUTS)}", value=layout)
    if not isinstance(n_rows, int) or n_rows < 0:
        raise InputError("n_rows must be an integer >= 0", value=n_rows)
    columns = _LAYOUTS[layout]
    eol = "\r\n" if crlf else "\n"
    codes = _code_table()
    n_codes = len(codes)
    idx_ctmr = np.flatnonzero(codes["code_class"].isin(["CT", "MR"]).to_numpy())
    idx_other = np.flatnonzero(codes["code_class"].eq("other").to_numpy())
    idx_rad_other = np.flatnonzero(codes["cpt_code"].isin(_RADIOLOGY_OTHER).to_numpy())
    idx_3d = np.array([0, 1])
    desc = pa.array(_csv_quote(codes["description"]))
    cpt = pa.array(codes["cpt_code"].tolist())
    drug = pa.array(codes["drug"].tolist())
    price = codes["price"].to_numpy()
    ctmr_weight = codes["weight"].to_numpy()[idx_ctmr]

    st = pd.DataFrame(_STATES, columns=["state", "fips", "name", "weight"])
    if state_weights is not None:
        unknown = set(state_weights) - set(st["state"])
        if unknown:
            raise InputError("unknown state in state_weights", value=sorted(unknown)[0])
        st = st.assign(weight=st["state"].map(state_weights).fillna(0.0))
    p_state = (st["weight"] / st["weight"].sum()).to_numpy()
    st_abbr, st_fips = pa.array(st["state"].tolist()), pa.array(st["fips"].tolist())
    state_factor = 0.85 + 0.3 * rng.random(len(st))

    # geography accumulators over true cells: [state, code, place]
    shape = (len(st), n_codes, 2)
    acc = {k: np.zeros(shape) for k in ("providers", "benes", "services", "bene_days",
                                        "submitted", "allowed", "paid", "standardized")}
    totals = {"rows": 0, "providers": 0, "radiologists": 0, "hidden_cells": 0,
              "hidden_services": 0.0}
    surnames, firsts = np.array(_csv_quote(_SURNAMES)), np.array(_FIRST)
    cities = np.array(_CITIES)
    ruca_codes = pa.array([r[0] for r in _RUCA])
    ruca_desc = pa.array(_csv_quote([r[1] for r in _RUCA]))
    other_types = pa.array(_csv_quote(_OTHER_TYPES))
    npi_start = 100_000_000 + int(rng.integers(0, 10_000_000))

    header = ",".join(columns) + eol
    path = Path(path)
    with open(path, "wb") as out:
        out.write((("\ufeff" if bom else "") + header).encode("utf-8"))
        while totals["rows"] < n_rows:
            # ~ 8.8 visible rows per provider on average across the file
            n_prov = max(50, int(chunk_rows / 8.0))
            is_rad = rng.random(n_prov) < radiologist_share
            is_org = rng.random(n_prov) < np.where(is_rad, 0.15, 0.04)
            s_idx = rng.choice(len(st), size=n_prov, p=p_state)
            # -- cells of other (non-CT/MR) codes
            n_other = np.where(is_rad, rng.poisson(2.0, n_prov), 1 + rng.poisson(18.0, n_prov))
            own_o, pick_o = _unique_picks(rng, n_other, 2 * len(idx_other))
            rad_o = is_rad[own_o]
            code_o = np.where(rad_o, idx_rad_other[pick_o // 2 % len(idx_rad_other)],
                              idx_other[pick_o // 2])
            place_o = pick_o % 2
            benes_o = np.floor(rng.lognormal(2.2, 1.1, own_o.size)) + 1
            spb_o = 1 + rng.gamma(0.6, 0.8, own_o.size)
            # -- radiologists' CT/MR cells, per place of service
            rad_ids = np.flatnonzero(is_rad)
            profile = rng.choice(3, size=rad_ids.size, p=[0.7, 0.1, 0.2])  # F, O, both
            places = [(rad_ids[profile != 1], 0), (rad_ids[profile != 0], 1)]
            own_c, code_c, place_c, svc_c = [], [], [], []
            rate_3d = np.minimum(rng.lognormal(np.log(0.06), 0.85, n_prov), 0.6)
            share_77 = rng.beta(2, 6, n_prov)
            for ids, pl in places:
                if ids.size == 0:
                    continue
                volume = rng.lognormal(np.log(2500 if pl == 0 else 900), 0.7, ids.size)
                n_c = rng.integers(12, 70, ids.size)
                own, pick = _unique_picks(rng, n_c, len(idx_ctmr))
                w = ctmr_weight[pick] * rng.gamma(2.0, 0.5, pick.size)
                wsum = np.bincount(own, weights=w, minlength=ids.size)
                svc = np.round(volume[own] * w / wsum[own])
                prov = ids[own]
                own_c.append(prov)
                code_c.append(idx_ctmr[pick])
                place_c.append(np.full(prov.size, pl))
                svc_c.append(svc)
                tot = np.bincount(own, weights=svc, minlength=ids.size)
                svc3 = tot * rate_3d[ids]
                for k, share in ((0, 1 - share_77[ids]), (1, share_77[ids])):
                    own_c.append(ids)
                    code_c.append(np.full(ids.size, idx_3d[k]))
                    place_c.append(np.full(ids.size, pl))
                    svc_c.append(np.round(svc3 * share * rng.lognormal(0, 0.2, ids.size)))
            if own_c:
                own_c = np.concatenate(own_c)
                code_c, place_c = np.concatenate(code_c), np.concatenate(place_c)
                svc_c = np.concatenate(svc_c)
            else:
                own_c = code_c = place_c = np.zeros(0, np.int64)
                svc_c = np.zeros(0)
            benes_c = np.maximum(np.round(svc_c / rng.uniform(1.0, 1.25, svc_c.size)),
                                 np.minimum(svc_c, 1))
            # -- all true cells
            owner = np.concatenate([own_o, own_c]).astype(np.int64)
            code = np.concatenate([code_o, code_c]).astype(np.int64)
            place = np.concatenate([place_o, place_c]).astype(np.int64)
            benes = np.concatenate([benes_o, benes_c])
            services = np.concatenate([np.round(benes_o * spb_o), svc_c])
            fractional = rng.random(services.size) < np.where(
                codes["drug"].to_numpy()[code] == "Y", 0.6, 0.01)
            services = services + np.where(fractional, rng.choice([0.25, 0.5, 0.75],
                                                                  services.size), 0.0)
            live = services > 0
            owner, code, place, benes, services = (a[live] for a in
                                                   (owner, code, place, benes, services))
            order = np.lexsort((place, code, owner))
            owner, code, place, benes, services = (a[order] for a in
                                                   (owner, code, place, benes, services))
            visible = benes > 10
            # truncate to exactly n_rows: drop the surplus visible rows' cells entirely
            room = n_rows - totals["rows"]
            if visible.sum() > room:
                cut = np.flatnonzero(visible)[room] if room > 0 else 0
                keep_cells = np.arange(owner.size) < cut
                owner, code, place, benes, services, visible = (
                    a[keep_cells] for a in (owner, code, place, benes, services, visible))
                last_owner = owner.max() + 1 if owner.size else 0
            else:
                last_owner = n_prov
            bene_days = np.maximum(np.minimum(np.floor(services * rng.uniform(0.9, 1.0,
                                                                              services.size)),
                                              services), np.minimum(benes, services))
            pr_state = s_idx[owner]
            avg_allowed = np.round(price[code] * state_factor[pr_state]
                                   * np.where(place == 0, 0.45, 1.0)
                                   * rng.lognormal(0, 0.08, code.size), 8)
            avg_paid = np.round(avg_allowed * rng.uniform(0.77, 0.8, code.size), 8)
            avg_sub = np.round(avg_allowed * rng.uniform(1.5, 4.5, code.size), 8)
            avg_std = np.round(avg_allowed / state_factor[pr_state], 8)
            flat = (pr_state * n_codes + code) * 2 + place
            first_cell = np.r_[True, (flat[1:] != flat[:-1]) | (owner[1:] != owner[:-1])]
            for key, values in (("providers", first_cell.astype(float)), ("benes", benes),
                                ("services", services), ("bene_days", bene_days),
                                ("submitted", services * avg_sub),
                                ("allowed", services * avg_allowed),
                                ("paid", services * avg_paid),
                                ("standardized", services * avg_std)):
                acc[key] += np.bincount(flat, weights=values, minlength=acc[key].size).reshape(
                    shape)
            totals["hidden_cells"] += int((~visible).sum())
            totals["hidden_services"] += float(services[~visible].sum())
            totals["providers"] += int(last_owner)
            totals["radiologists"] += int(is_rad[:last_owner].sum())
            # -- provider attributes (strings, already CSV-quoted where needed)
            npis = pa.array(_valid_npis(rng, n_prov, start=npi_start))
            npi_start += 7 * n_prov
            sur = surnames[rng.integers(0, surnames.size, n_prov)]
            city = cities[rng.integers(0, cities.size, n_prov)]
            org_name = np.char.add(np.char.add(np.char.add('"', sur), np.where(
                is_rad, " Radiology Associates, PA\"", " Medical Group, LLC\"")), "")
            last = np.where(is_org, org_name, sur)
            first = np.where(is_org, "", firsts[rng.integers(0, firsts.size, n_prov)])
            mi = np.where(is_org | (rng.random(n_prov) < 0.3), "",
                          np.array(list("ABCDEFGHJKLMNPRSTW"))[rng.integers(0, 18, n_prov)])
            cred = np.where(is_org, "", np.where(is_rad, "M.D.", np.array(
                ["M.D.", "MD", "D.O.", "NP", "PA-C", ""])[rng.integers(0, 6, n_prov)]))
            gender = np.where(is_org, "", np.array(["M", "F"])[rng.integers(0, 2, n_prov)])
            st1 = np.char.add(np.char.add(rng.integers(1, 9999, n_prov).astype(str), " "),
                              np.array(_STREETS)[rng.integers(0, len(_STREETS), n_prov)])
            st2 = np.where(rng.random(n_prov) < 0.3, np.char.add(
                "Suite ", rng.integers(100, 999, n_prov).astype(str)), "")
            zip5 = np.char.zfill(rng.integers(0, 99999, n_prov).astype(str), 5)
            ruca_i = rng.integers(0, len(_RUCA), n_prov)
            ptype = np.where(is_rad, np.where(is_org & (rng.random(n_prov) < 0.5),
                                              "Independent Diagnostic Testing Facility (IDTF)",
                                              "Diagnostic Radiology"), "")
            ptype_arr = pa.array(ptype)
            ptype_arr = pc.if_else(pa.array(is_rad), ptype_arr, other_types.take(
                pa.array(rng.integers(0, len(other_types), n_prov))))
            vis = np.flatnonzero(visible)
            o = pa.array(owner[vis])
            prov_cols = {
                "Rndrng_NPI": npis, "Rndrng_Prvdr_Last_Org_Name": pa.array(last),
                "Rndrng_Prvdr_First_Name": pa.array(first), "Rndrng_Prvdr_MI": pa.array(mi),
                "Rndrng_Prvdr_Crdntls": pa.array(cred), "Rndrng_Prvdr_Gndr": pa.array(gender),
                "Rndrng_Prvdr_Ent_Cd": pa.array(np.where(is_org, "O", "I")),
                "Rndrng_Prvdr_St1": pa.array(st1), "Rndrng_Prvdr_St2": pa.array(st2),
                "Rndrng_Prvdr_City": pa.array(city),
                "Rndrng_Prvdr_State_Abrvtn": st_abbr.take(pa.array(s_idx)),
                "Rndrng_Prvdr_State_FIPS": st_fips.take(pa.array(s_idx)),
                "Rndrng_Prvdr_Zip5": pa.array(zip5),
                "Rndrng_Prvdr_RUCA": ruca_codes.take(pa.array(ruca_i)),
                "Rndrng_Prvdr_RUCA_Desc": ruca_desc.take(pa.array(ruca_i)),
                "Rndrng_Prvdr_Cntry": pa.array(np.full(n_prov, "US")),
                "Rndrng_Prvdr_Type": ptype_arr,
                "Rndrng_Prvdr_Mdcr_Prtcptg_Ind": pa.array(np.full(n_prov, "Y")),
            }
            c = pa.array(code[vis])
            num = {
                "Tot_Benes": benes[vis].astype(np.int64), "Tot_Srvcs": services[vis],
                "Tot_Bene_Day_Srvcs": bene_days[vis].astype(np.int64),
                "Avg_Sbmtd_Chrg": avg_sub[vis], "Avg_Mdcr_Alowd_Amt": avg_allowed[vis],
                "Avg_Mdcr_Pymt_Amt": avg_paid[vis], "Avg_Mdcr_Stdzd_Amt": avg_std[vis],
            }
            cols = []
            for name in columns:
                if name in prov_cols:
                    cols.append(prov_cols[name].take(o))
                elif name == "HCPCS_Cd":
                    cols.append(cpt.take(c))
                elif name == "HCPCS_Desc":
                    cols.append(desc.take(c))
                elif name == "HCPCS_Drug_Ind":
                    cols.append(drug.take(c))
                elif name == "Place_Of_Srvc":
                    cols.append(pa.array(np.where(place[vis] == 0, "F", "O")))
                else:
                    cols.append(pa.array(num[name]).cast(pa.string()))
            if vis.size:
                line = pc.binary_join_element_wise(*cols, ",")
                line = pc.binary_join_element_wise(line, "", eol)
                _write_string_array(out, line)
            totals["rows"] += int(vis.size)
    result = {"path": str(path), "layout": layout, **totals, "geography_path": None}
    if geography_path is not None:
        _write_geography(Path(geography_path), acc, st, codes, desc, eol=eol, bom=bom)
        result["geography_path"] = str(geography_path)
    return result


def _write_string_array(out, array: pa.Array) -> None:
    """Write the concatenated values of a null-free string array."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset:
                                                               array.offset + len(array) + 1]
    data = array.buffers()[2]
    out.write(memoryview(data)[offsets[0]:offsets[-1]])


def _write_geography(path, acc, st, codes, desc_quoted, *, eol, bom) -> None:
    level_rows = []
    for level in ("National", "State"):
        if level == "National":
            agg = {k: v.sum(axis=0)[None] for k, v in acc.items()}
            geo = [("", "National")]
        else:
            agg = acc
            geo = list(zip(st["fips"], st["name"], strict=True))
        g, c, p = np.nonzero(agg["benes"] > 10)
        for gi, ci, pi in zip(g, c, p, strict=True):
            s = agg["services"][gi, ci, pi]
            level_rows.append([
                level, geo[gi][0], geo[gi][1], codes["cpt_code"].iat[ci],
                desc_quoted[ci].as_py(), codes["drug"].iat[ci], "FO"[pi],
                str(int(agg["providers"][gi, ci, pi])), str(int(agg["benes"][gi, ci, pi])),
                _num(s), str(int(agg["bene_days"][gi, ci, pi])),
                _num(agg["submitted"][gi, ci, pi] / s), _num(agg["allowed"][gi, ci, pi] / s),
                _num(agg["paid"][gi, ci, pi] / s), _num(agg["standardized"][gi, ci, pi] / s),
            ])
    text = ",".join(GEOGRAPHY_SERVICE_COLUMNS) + eol
    text += "".join(",".join(r) + eol for r in level_rows)
    with open(path, "wb") as out:
        out.write((("\ufeff" if bom else "") + text).encode("utf-8"))


def _num(value: float) -> str:
    return repr(float(np.round(value, 8))).removesuffix(".0")


# ================================================================== whole pathway


@dataclass(frozen=True)
class PufBenchmark:
    """Every step of the Medicare public-data pathway, from :func:`medicare_benchmark`.

    Attributes
    ----------
    read : PufRead
    rollup : PracticeRollup
    summary : DataFrame
        :func:`summarize_puf` of the practices screened.
    screen : PufScreen
    geography : DataFrame or None
    consistency : DataFrame or None
        :func:`check_consistency` of the providers screened.
    exposure : ExposureEstimate
    screen_states : list of str or None
        The states screened (None: all).
    settings : dict
        The options, for the manifest.
    """

    read: PufRead
    rollup: PracticeRollup
    summary: pd.DataFrame
    screen: PufScreen
    geography: pd.DataFrame | None
    consistency: pd.DataFrame | None
    exposure: ExposureEstimate
    screen_states: list[str] | None
    settings: Mapping[str, object]

    def to_dict(self) -> dict:
        return {
            "input": self.read.path,
            "layout": self.read.layout,
            "read": dict(self.read.counts),
            "screen_states": self.screen_states,
            "rollup": {"kind": self.rollup.rollup, **self.rollup.counts},
            "screen": self.screen.to_dict(),
            "consistency_gap_services": None if self.consistency is None
            else float(self.consistency["gap_services"].sum()),
            "exposure": self.exposure.to_dict(),
            "settings": dict(self.settings),
        }

    def _repr_html_(self) -> str:
        return self.read._repr_html_() + self.screen._repr_html_() + self.exposure._repr_html_()


def medicare_benchmark(
    path: str | PathLike[str] | None = None,
    *,
    states: Iterable[str] | str | None = None,
    jurisdictions: Iterable[str] | str | None = None,
    rollup: Literal["npi", "organization"] = "npi",
    crosswalk: str | PathLike[str] | None = None,
    geography: str | PathLike[str] | None = None,
    period: str | int = "2023",
    threshold: float = 0.20,
    alpha: float = 0.05,
    bounds: SuppressionBounds | None = None,
    exposure_state: str = "NC",
    assumptions: ExposureAssumptions | None = None,
    n_draws: int = 10_000,
    rng: np.random.Generator,
    batch_rows: int = 200_000,
) -> PufBenchmark:
    """Read, roll up, screen and estimate exposure from the CMS public files in one call.

    The provider file is read once, for the states screened plus ``exposure_state``.
    Without ``path`` the bundled synthetic sample is used, and then also its
    geography file unless ``geography`` is given.

    Parameters
    ----------
    path : path-like, optional
        The "by Provider and Service" CSV.
    states, jurisdictions : optional
        Providers screened: states (e.g. ``"NC"``) or MAC jurisdictions (e.g.
        ``"JH,JL"``, as Novitas would have); not both. None: every state.
    rollup, crosswalk : optional
        See :func:`assign_practices` (a crosswalk path implies the crosswalk roll-up).
    geography : path-like, optional
        The "by Geography and Service" CSV: consistency check and complete state 3D
        totals for the exposure estimate.
    period : str or int
        The data year (label).
    threshold, alpha : float
        The screen's benchmark share and false discovery rate.
    bounds : SuppressionBounds, optional
    exposure_state : str
        State of the public-data exposure estimate.
    assumptions : ExposureAssumptions, optional
    n_draws : int
    rng : numpy.random.Generator
    batch_rows : int
    """
    if states is not None and jurisdictions is not None:
        raise InputError("give states or jurisdictions, not both")
    bounds = bounds or SuppressionBounds()
    samples = sample_paths()
    if path is None:
        path = samples["provider"]
        if geography is None:
            geography = samples["geography"]
    exposure_state = exposure_state.strip().upper()
    if states is not None:
        screen_states = sorted({s.strip().upper() for s in
                                ([states] if isinstance(states, str) else states)})
    elif jurisdictions is not None:
        screen_states = jurisdiction_states(jurisdictions)
    else:
        screen_states = None
    read_states = None if screen_states is None else sorted({*screen_states, exposure_state})
    read = read_provider_service(path, states=read_states, batch_rows=batch_rows)
    lines = read.lines
    screen_lines = lines if screen_states is None else lines.loc[
        lines["state"].isin(screen_states)].reset_index(drop=True)
    rolled = assign_practices(
        screen_lines, rollup=rollup,
        crosswalk=None if crosswalk is None else read_crosswalk(crosswalk),
    )
    summary = summarize_puf(rolled.lines, period=period, bounds=bounds)
    screened = screen_puf(summary, lines=rolled.lines, threshold=threshold, alpha=alpha,
                          bounds=bounds)
    geo = None if geography is None else read_geography_service(geography)
    consistency = None if geo is None else check_consistency(screen_lines, geo)
    medicare = medicare_3d_totals(state=exposure_state, lines=None if geo is not None else lines,
                                  geography=geo)
    exposure = estimate_exposure(medicare, state=exposure_state, period=period,
                                 assumptions=assumptions, n_draws=n_draws, rng=rng)
    settings_used = {
        "path": str(path), "geography": None if geography is None else str(geography),
        "states": screen_states, "rollup": rolled.rollup,
        "crosswalk": None if crosswalk is None else str(crosswalk), "period": str(period),
        "threshold": threshold, "alpha": alpha, "bounds": bounds.to_dict(),
        "exposure_state": exposure_state, "n_draws": n_draws,
        "assumptions": (assumptions or ExposureAssumptions()).to_dict(),
    }
    return PufBenchmark(read=read, rollup=rolled, summary=summary, screen=screened,
                        geography=geo, consistency=consistency, exposure=exposure,
                        screen_states=screen_states, settings=settings_used)
