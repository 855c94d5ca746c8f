"""Code sets: CT/MR base studies, the 3D rendering codes, their "do not report with"
lists, and the ICD-10-CM oncology and medical-necessity sets.

Everything is read from ``data/reference/*.csv`` (each file names its public source),
once, on first use; nothing is a literal scattered in code except the two 3D codes
themselves. ``REFERENCE_DIR`` is :data:`analysis.paths.REFERENCE_DIR`, importable here
as before.

Definitions
-----------
- **CT/MR base study**: a CPT code in ``ct_mr_codes.csv`` whose ``in_default_set`` is
  true: the CT and MR codes of CMS diagnostic imaging family 88 in the 2025 PFS
  relative value file (CTA/MRA included and marked ``is_angiography``), plus the
  standalone borderline studies outside family 88 (76380, 77084, 70557-70559).
  The add-ons 75565 and 74713 and MR spectroscopy 76390 are listed but excluded by
  default; pass ``include=``/``exclude=`` to change the set.
- **3D line**: CPT 76376 or 76377 (global, -26 or -TC).
- **Do not report with**: the CPT parentheticals for 76376 and 76377 quoted in the
  ACR letter to BCBS NC, ranges such as ``78012-78999`` expanded.

References
----------
CMS, PFS Relative Value File RVU25D (PPRRVU2025_Oct.csv), released 2025-09-11.
American College of Radiology, letter to BCBS NC on "3D Radiology Services -
Bundling Guidelines" (2024).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.paths import REFERENCE_DIR, reference_file
from analysis.schema import FIELD_PATTERNS

__all__ = [
    "CODES_3D",
    "REFERENCE_DIR",
    "ct_mr_codes",
    "do_not_report_with",
    "excluded_with",
    "expand_code_range",
    "icd10_ranges",
    "in_icd10_set",
    "is_3d",
    "is_angiography",
    "is_ct_mr",
    "is_valid_cpt",
    "modality",
    "normalize_cpt",
    "normalize_icd10",
]

CODES_3D: tuple[str, str] = ("76376", "76377")
"""The 3D rendering codes: 76376 (not requiring) and 76377 (requiring an independent
workstation)."""

_CPT_RE = re.compile(rf"^{FIELD_PATTERNS['cpt_code']}$")
_NUMERIC_SUFFIX = re.compile(r"\.0+$")


# --------------------------------------------------------------------------- CPT


def normalize_cpt(codes: pd.Series) -> pd.Series:
    """Normalize CPT/HCPCS codes as billing exports damage them.

    Strips whitespace, upper-cases, drops a numeric ``.0`` suffix (``"76376.0"``),
    and left-pads all-digit codes shorter than five characters with zeros
    (``"100"`` -> ``"00100"``: CPT codes are always five characters, so a
    spreadsheet that stored one as a number lost only leading zeros). Missing
    values stay missing; nothing else is changed, so invalid codes remain
    detectable with :func:`is_valid_cpt`.

    Examples
    --------
    >>> normalize_cpt(pd.Series([" 76376", "76377.0", "0523t", "100"])).tolist()
    ['76376', '76377', '0523T', '00100']
    """
    s = pd.Series(codes, copy=False).astype("string").str.strip().str.upper()
    s = s.str.replace(_NUMERIC_SUFFIX, "", regex=True)
    short_digits = s.str.fullmatch(r"\d{1,4}").fillna(False).astype(bool)
    return s.mask(short_digits, s.str.zfill(5))


def is_valid_cpt(codes: pd.Series) -> pd.Series:
    """True where a (normalized) code is five characters of ``[0-9A-Z]``."""
    s = normalize_cpt(codes)
    return s.str.fullmatch(_CPT_RE.pattern).fillna(False).astype(bool)


def expand_code_range(text: str) -> list[str]:
    """Expand ``"78012-78999"`` to its 988 codes; a single code returns itself.

    Ranges are numeric on five-digit codes, or on the four-digit stem of Category III
    codes with the same letter (``"0559T-0562T"``).

    Examples
    --------
    >>> len(expand_code_range("78012-78999"))
    988
    >>> expand_code_range("0559T-0561T")
    ['0559T', '0560T', '0561T']
    """
    parts = [p.strip().upper() for p in re.split(r"\s*[-\u2013]\s*", text.strip())]
    if len(parts) == 1:
        if not _CPT_RE.match(parts[0]):
            raise InputError("not a CPT code or range", value=text)
        return parts
    lo, hi = parts
    if lo.isdigit() and hi.isdigit() and len(lo) == len(hi) == 5 and lo <= hi:
        return [f"{n:05d}" for n in range(int(lo), int(hi) + 1)]
    if (
        len(lo) == len(hi) == 5
        and lo[:4].isdigit()
        and hi[:4].isdigit()
        and lo[4] == hi[4]
        and lo[4].isalpha()
        and lo <= hi
    ):
        return [f"{n:04d}{lo[4]}" for n in range(int(lo[:4]), int(hi[:4]) + 1)]
    raise InputError("not a CPT code range", value=text)


@cache
def _ct_mr_table() -> pd.DataFrame:
    table = pd.read_csv(reference_file("ct_mr_codes.csv"), dtype=str, keep_default_na=False)
    return table.assign(
        is_angiography=table["is_angiography"].eq("true"),
        in_default_set=table["in_default_set"].eq("true"),
    )


def ct_mr_codes(
    *, include: Iterable[str] = (), exclude: Iterable[str] = ()
) -> pd.DataFrame:
    """The CT/MR base-study code set with ``modality`` and ``is_angiography``.

    Parameters
    ----------
    include : iterable of str, optional
        Codes listed in ``ct_mr_codes.csv`` but outside the default set to count as
        base studies (e.g. ``"75565"``).
    exclude : iterable of str, optional
        Codes to drop from the default set.

    Returns
    -------
    DataFrame
        Columns ``cpt_code, modality, is_angiography, description, imaging_family,
        in_default_set, basis, source``, one row per code in the set.
    """
    table = _ct_mr_table()
    include, exclude = set(include), set(exclude)
    unknown = include - set(table["cpt_code"])
    if unknown:
        raise InputError(
            "codes to include are not CT/MR codes in data/reference/ct_mr_codes.csv",
            value=", ".join(sorted(unknown)),
        )
    keep = (table["in_default_set"] | table["cpt_code"].isin(include)) & ~table[
        "cpt_code"
    ].isin(exclude)
    return table.loc[keep].reset_index(drop=True)


def _lookup(codes: pd.Series, table: pd.DataFrame, column: str) -> pd.Series:
    s = normalize_cpt(codes)
    mapping = table.set_index("cpt_code")[column]
    return s.map(mapping)


def modality(codes: pd.Series, **code_set: Iterable[str]) -> pd.Series:
    """``"CT"``, ``"MR"`` or missing for each code (keywords as in :func:`ct_mr_codes`)."""
    return _lookup(codes, ct_mr_codes(**code_set), "modality").astype("string")


def is_ct_mr(codes: pd.Series, **code_set: Iterable[str]) -> pd.Series:
    """True where a code is a CT/MR base study (keywords as in :func:`ct_mr_codes`)."""
    s = normalize_cpt(codes)
    return s.isin(set(ct_mr_codes(**code_set)["cpt_code"])).fillna(False).astype(bool)


def is_angiography(codes: pd.Series) -> pd.Series:
    """True where a code is a CTA or MRA study."""
    s = normalize_cpt(codes)
    table = _ct_mr_table()
    return s.isin(set(table.loc[table["is_angiography"], "cpt_code"])).fillna(False).astype(bool)


def is_3d(codes: pd.Series) -> pd.Series:
    """True where a code is 76376 or 76377."""
    return normalize_cpt(codes).isin(CODES_3D).fillna(False).astype(bool)


@cache
def _do_not_report_table() -> pd.DataFrame:
    return pd.read_csv(reference_file("do_not_report_with.csv"), dtype=str)


@cache
def do_not_report_with(code_3d: str) -> frozenset[str]:
    """The expanded "do not report in conjunction with" list of one 3D code.

    Examples
    --------
    >>> "78300" in do_not_report_with("76376")
    True
    >>> "31627" in do_not_report_with("76377")  # listed for 76376 only
    False
    """
    if code_3d not in CODES_3D:
        raise InputError("not a 3D rendering code (76376 or 76377)", value=code_3d)
    table = _do_not_report_table()
    items = table.loc[table["code_3d"].eq(code_3d), "code_or_range"]
    return frozenset(code for item in items for code in expand_code_range(item))


def excluded_with(codes: pd.Series, code_3d: str) -> pd.Series:
    """True where a code is on ``code_3d``'s "do not report with" list."""
    return normalize_cpt(codes).isin(do_not_report_with(code_3d)).fillna(False).astype(bool)


# ------------------------------------------------------------------------ ICD-10


def normalize_icd10(codes: pd.Series) -> pd.Series:
    """Upper-case, strip, and drop dots: ``" c78.01"`` -> ``"C7801"``."""
    return (
        pd.Series(codes, copy=False)
        .astype("string")
        .str.strip()
        .str.upper()
        .str.replace(".", "", regex=False)
    )


@cache
def _icd10_table(name: str) -> pd.DataFrame:
    files = {"oncology": "icd10_oncology.csv", "indications": "icd10_indications.csv"}
    if name not in files:
        raise InputError(f"unknown ICD-10 set; choose one of {sorted(files)}", value=name)
    return pd.read_csv(reference_file(files[name]), dtype=str)


def icd10_ranges(name: str = "oncology") -> tuple[tuple[str, str], ...]:
    """A named ICD-10-CM set as ``(first, last)`` prefix ranges, dots removed.

    ``"oncology"`` is the default cancer set (C00-C96, an assumption exposed as a
    parameter); ``"indications"`` is the default medical-necessity set (cancer,
    aneurysm and dissection, pulmonary embolism, congenital circulatory anomalies,
    complex fractures, craniofacial anomalies; sources in the CSV).
    """
    table = _icd10_table(name)
    return tuple(
        (a.replace(".", "").upper(), b.replace(".", "").upper())
        for a, b in zip(table["first"], table["last"], strict=True)
    )


def in_icd10_set(
    diagnosis_codes: pd.Series, ranges: Iterable[tuple[str, str]] | str = "oncology"
) -> pd.Series:
    """True where any code of a ``;``-separated diagnosis list falls in ``ranges``.

    A code is in the range ``(first, last)`` when its first ``len(first)``
    characters (dots removed) lie between ``first`` and ``last`` inclusive, so
    ``("C00", "C96")`` holds ``C78.01`` and ``("S42.2", "S42.2")`` holds
    ``S42.201A`` but not ``S42.31``.

    Examples
    --------
    >>> in_icd10_set(pd.Series(["R91.8;C78.01", "I10", None])).tolist()
    [True, False, False]
    """
    if isinstance(ranges, str):
        ranges = icd10_ranges(ranges)
    ranges = tuple(ranges)
    original = pd.Series(diagnosis_codes, copy=False)
    s = original.astype("string").reset_index(drop=True)
    exploded = normalize_icd10(s.str.split(r"[;,|]", regex=True).explode())
    hit = pd.Series(np.zeros(len(exploded), dtype=bool), index=exploded.index)
    for first, last in ranges:
        first, last = first.replace(".", "").upper(), last.replace(".", "").upper()
        prefix = exploded.str[: len(first)]
        hit |= ((prefix >= first) & (prefix <= last)).fillna(False).astype(bool)
    result = hit.groupby(level=0).any().reindex(s.index, fill_value=False)
    return pd.Series(result.to_numpy(dtype=bool), index=original.index)
