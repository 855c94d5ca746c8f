"""Reading the CMS provider and geography files in bounded memory.

:func:`read_provider_service` parses a provider file of any size in pieces, keeps the
rows of the CT/MR and 3D codes (and, on request, of some states or MAC jurisdictions)
before converting anything, checks every kept value and quarantines or refuses the
rows it cannot use; every row read is accounted for in :attr:`PufRead.counts`.
:func:`read_geography_service` reads the (small) geography file whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analysis.codes import CODES_3D, ct_mr_codes
from analysis.errors import InputError, first_bad_row
from analysis.npi import valid_npi
from analysis.paths import PUF_SAMPLE_DIR
from analysis.puf.jurisdictions import jurisdiction_states
from analysis.puf.layouts import (
    GEOGRAPHY_KEEP,
    GEOGRAPHY_SERVICE_COLUMNS,
    LAYOUTS,
    PROVIDER_KEEP,
    PROVIDER_NUMERIC,
    SETTING_OF_PLACE,
    check_geography_layout,
    provider_service_layout,
)

__all__ = [
    "LINE_COLUMNS",
    "PufRead",
    "code_classes",
    "iter_provider_service",
    "read_geography_service",
    "read_provider_service",
    "sample_paths",
]

# Bytes per provider-file row, to turn ``batch_rows`` into a parser block size
# (a 3.0 GB file of 9.7 M rows averages ~ 320 bytes a row).
_BYTES_PER_ROW = 330
_MIN_BLOCK = 1 << 12

LINE_COLUMNS: tuple[str, ...] = (
    "rendering_npi", "entity_code", "provider_name", "provider_type", "state", "state_fips",
    "zip5", "cpt_code", "code_class", "setting", "n_beneficiaries", "services",
    "bene_day_services", "avg_submitted_usd", "avg_allowed_usd", "avg_paid_usd",
    "avg_standardized_usd", "allowed_usd", "paid_usd", "submitted_usd", "row",
)  # fmt: skip
"""The columns of :attr:`PufRead.lines`, in order."""


def sample_paths() -> dict[str, Path]:
    """The bundled synthetic samples (see ``data/sample/puf/README.md``).

    Keys: ``provider`` (2023+ layout), ``provider_with_gender`` (older 29-column
    layout), ``geography`` (the matching geography file), ``crosswalk`` (an
    illustrative NPI -> practice crosswalk).
    """
    return {
        "provider": PUF_SAMPLE_DIR / "provider_service_2023_sample.csv",
        "provider_with_gender": PUF_SAMPLE_DIR / "provider_service_2022_sample.csv",
        "geography": PUF_SAMPLE_DIR / "geography_service_2023_sample.csv",
        "crosswalk": PUF_SAMPLE_DIR / "npi_practice_crosswalk_sample.csv",
    }


def code_classes(codes: Iterable[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The codes to keep and the class of each (``"3D"``, ``"CT"``, ``"MR"`` or ``"other"``).

    ``codes=None`` means the CT/MR base-study set (:func:`analysis.codes.ct_mr_codes`)
    plus 76376 and 76377.

    >>> keep, classes = code_classes(["76376", "74177", "99213"])
    >>> keep, classes["74177"], classes["99213"]
    (['74177', '76376', '99213'], 'CT', 'other')
    """
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


@dataclass
class _ScanStats:
    """What a scan has read so far, for the reconciliation of :class:`PufRead`."""

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

def _validate_batch(
    frame: pd.DataFrame, *, path: Path, on_error: str, stats: _ScanStats
) -> pd.DataFrame:
    """Parse numbers and check keys of in-scope rows; quarantine or raise on failure."""
    parsed = {c: pd.to_numeric(frame[c].str.strip(), errors="coerce") for c in PROVIDER_NUMERIC}
    reason = pd.Series("", index=frame.index, dtype="string")
    column = pd.Series("", index=frame.index, dtype="string")
    checks: list[tuple[str, pd.Series, str]] = [
        (
            "rendering_npi",
            ~valid_npi(frame["rendering_npi"]),
            "NPI is not 10 digits with a valid check digit",
        ),
        (
            "setting",
            ~frame["setting"].isin(list(SETTING_OF_PLACE)),
            "place of service must be F (facility) or O (office)",
        ),
    ]
    for col in PROVIDER_NUMERIC:
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
        source = {v: k for k, v in PROVIDER_KEEP.items()}
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
                    "text": bad["rendering_npi"] + " " + bad["cpt_code"] + " "
                    + bad["setting"],
                }
            )
        )
    good = frame.loc[~bad_rows]
    out = good.assign(**{c: parsed[c][~bad_rows].astype("float64") for c in PROVIDER_NUMERIC})
    return out.assign(
        setting=out["setting"].map(SETTING_OF_PLACE).astype("string"),
        n_beneficiaries=out["n_beneficiaries"].round().astype("int64"),
        allowed_usd=out["services"] * out["avg_allowed_usd"],
        paid_usd=out["services"] * out["avg_paid_usd"],
        submitted_usd=out["services"] * out["avg_submitted_usd"],
    )


def _scan(
    path: Path,
    stats: _ScanStats,
    states: Iterable[str] | str | None,
    jurisdictions: Iterable[str] | str | None,
    codes: Iterable[str] | None,
    batch_rows: int,
    on_error: str,
) -> Iterator[pd.DataFrame]:
    """The kept rows of a provider file, piece by piece; what it skips goes to ``stats``."""
    if on_error not in ("raise", "quarantine"):
        raise InputError("on_error must be 'raise' or 'quarantine'", value=on_error)
    if batch_rows < 1:
        raise InputError("batch_rows must be >= 1", value=batch_rows)
    layout = provider_service_layout(path)
    keep_codes, classes = code_classes(codes)
    wanted_states: set[str] | None = None
    if states is not None:
        given = [states] if isinstance(states, str) else states
        wanted_states = {s.strip().upper() for s in given}
    if jurisdictions is not None:
        j_states = set(jurisdiction_states(jurisdictions))
        wanted_states = j_states if wanted_states is None else wanted_states & j_states
    expected = len(LAYOUTS[layout])

    header = list(LAYOUTS[layout])
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
        include_columns=list(PROVIDER_KEEP),
        column_types=dict.fromkeys(PROVIDER_KEEP, pa.string()),
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
            .rename(columns=PROVIDER_KEEP)
            .assign(row=_physical_rows(index[mask], malformed_rows))
        )
        frame = frame.assign(
            rendering_npi=frame["rendering_npi"].str.strip(),
            cpt_code=frame["cpt_code"].str.strip(),
            state=frame["state"].str.strip(),
            setting=frame["setting"].str.strip().str.upper(),
            entity_code=frame["entity_code"].str.strip().str.upper(),
        )
        frame = _validate_batch(frame, path=path, on_error=on_error, stats=stats)
        frame = frame.assign(
            code_class=frame["cpt_code"].map(classes).astype("string"),
        ).loc[:, list(LINE_COLUMNS)]
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


def _empty_lines() -> pd.DataFrame:
    """Zero kept rows, with the columns and dtypes of :attr:`PufRead.lines`."""
    strings = [
        "rendering_npi", "entity_code", "provider_name", "provider_type", "state",
        "state_fips", "zip5", "cpt_code", "code_class", "setting",
    ]  # fmt: skip
    dtypes = {c: "float64" for c in LINE_COLUMNS}
    dtypes |= {c: "string" for c in strings} | {"n_beneficiaries": "int64", "row": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in LINE_COLUMNS})


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
    yield from _scan(Path(path), _ScanStats(), states, jurisdictions, codes, batch_rows,
                     on_error)


@dataclass(frozen=True)
class PufRead:
    """The kept rows of a provider file with the reconciliation of every row read.

    Attributes
    ----------
    lines : DataFrame
        One row per kept file row: ``rendering_npi`` (the file's ``Rndrng_NPI``),
        ``entity_code, provider_name, provider_type, state, state_fips, zip5,
        cpt_code, code_class`` (``"3D" | "CT" | "MR" | "other"``), ``setting``
        (``"facility" | "non_facility"``, from the file's ``Place_Of_Srvc`` ``F`` |
        ``O``), ``n_beneficiaries, services`` (float; may be fractional),
        ``bene_day_services, avg_submitted_usd, avg_allowed_usd, avg_paid_usd,
        avg_standardized_usd, allowed_usd, paid_usd, submitted_usd`` (the totals are
        ``services x`` the file's averages) and ``row`` (physical row number in the
        file, header = 1).
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
    frames = list(_scan(path, stats, states, jurisdictions, codes, batch_rows, on_error))
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
        code_class, setting ("facility" | "non_facility", from ``Place_Of_Srvc``
        ``F`` | ``O``), n_providers, n_beneficiaries, services,
        bene_day_services, avg_submitted_usd, avg_allowed_usd, avg_paid_usd,
        avg_standardized_usd, allowed_usd, paid_usd``.
    """
    path = Path(path)
    check_geography_layout(path)
    keep_codes, classes = code_classes(codes)
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
    keep = pc.is_in(table.column("HCPCS_Cd"), value_set=pa.array(keep_codes))
    rows = np.flatnonzero(keep.to_numpy()) + 2  # physical row numbers, header = 1
    raw = table.filter(keep).to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    names = GEOGRAPHY_KEEP
    frame = raw.rename(columns=names).loc[:, list(names.values())]
    numeric = list(names.values())[5:]
    parsed = {c: pd.to_numeric(frame[c].str.strip(), errors="coerce") for c in numeric}
    place = frame["setting"].str.strip().str.upper()
    checks = [(c, parsed[c].isna() | (parsed[c] < 0), "not a number >= 0") for c in numeric]
    checks.append(("setting", ~place.isin(list(SETTING_OF_PLACE)),
                   "place of service must be F (facility) or O (office)"))
    source = {v: k for k, v in names.items()}
    for col, bad, message in checks:
        if bad.any():
            i = first_bad_row(bad)
            raise InputError(message, file=path, row=int(rows[i]), column=source[col],
                             value=frame[col].iloc[i])
    frame = frame.assign(**{c: parsed[c].astype("float64") for c in numeric})
    frame = frame.assign(
        setting=place.map(SETTING_OF_PLACE).astype("string"),
        geo_level=frame["geo_level"].str.strip(),
        state_fips=frame["state_fips"].str.strip().str.zfill(2).mask(
            frame["state_fips"].str.strip().eq(""), ""
        ),
        code_class=frame["cpt_code"].map(classes).astype("string"),
        allowed_usd=frame["services"] * frame["avg_allowed_usd"],
        paid_usd=frame["services"] * frame["avg_paid_usd"],
    )
    return frame.reset_index(drop=True)

