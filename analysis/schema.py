"""The column vocabulary, defined once: the canonical claims schema, its dtypes and
the shapes its fields must have.

Readers (:mod:`analysis.claims`), the generator (:mod:`analysis.synth`) and the domain
modules (:mod:`analysis.encounters`) all read the claims columns from here; one concept
has one name across claims, summaries, the PUF, the screen, the impact model, reports,
the CLI and the docs (``n_3d_lines``, ``rendering_npi``, ``allowed_usd`` ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "CANONICAL_ARROW_SCHEMA",
    "CANONICAL_COLUMNS",
    "CANONICAL_DTYPES",
    "CLAIMS_SCHEMA",
    "EARLIEST_DATE",
    "FIELD_PATTERNS",
    "ICD10_PATTERN",
    "LATEST_DATE",
    "NULL_TOKENS",
    "REQUIRED_COLUMNS",
    "STRING_COLUMNS",
    "canonical_schema",
    "empty_lines",
]

# ----------------------------------------------------------------- claims lines

CLAIMS_SCHEMA: tuple[tuple[str, str, bool, str], ...] = (
    ("claim_id", "string", True, "claim identifier"),
    ("line_number", "int64", True, "line within the claim, >= 1; unique with claim_id"),
    ("practice_id", "string", True, "billing group / TIN the practice is screened as"),
    ("patient_id", "string", True, "pseudonymous patient key (never shown in reports)"),
    ("service_date", "datetime64[us]", True, "date of service"),
    ("cpt_code", "string", True, "CPT/HCPCS code, 5 characters [0-9A-Z]"),
    ("modifiers", "string", False, "modifiers separated by single spaces, e.g. '26 59'"),
    ("units", "int64", True, "service units, >= 1"),
    ("place_of_service", "string", False, "CMS 2-digit place of service code"),
    ("payer", "string", True, "payer, upper-cased (e.g. BCBSNC, MEDICARE)"),
    ("diagnosis_codes", "string", False, "ICD-10-CM codes separated by ';' (dots as given)"),
    ("allowed_usd", "float64", False, "allowed amount in US dollars (whole cents); NaN if missing"),
    ("paid_usd", "float64", False, "payer-paid amount in US dollars (whole cents); NaN if missing"),
    ("rendering_npi", "string", False, "rendering provider NPI, 10 digits, valid check digit"),
    ("state", "string", False, "2-letter USPS practice state"),
)
"""``(column, pandas dtype, required, meaning)`` of each canonical claims column."""

CANONICAL_COLUMNS: tuple[str, ...] = tuple(name for name, *_ in CLAIMS_SCHEMA)
"""The columns of loaded claim lines, in order."""

CANONICAL_DTYPES: dict[str, str] = {name: dtype for name, dtype, *_ in CLAIMS_SCHEMA}
"""pandas dtype of each canonical column (``string`` is ``pd.StringDtype()``)."""

REQUIRED_COLUMNS: tuple[str, ...] = tuple(name for name, _, req, _ in CLAIMS_SCHEMA if req)
"""Columns every file must have and every accepted row must fill."""

STRING_COLUMNS: tuple[str, ...] = tuple(
    c for c in CANONICAL_COLUMNS if CANONICAL_DTYPES[c] == "string")
"""Canonical columns of pandas ``string`` dtype (missing = ``pd.NA``)."""

_ARROW_TYPES = {"string": pa.string(), "int64": pa.int64(),
                "datetime64[us]": pa.timestamp("us"), "float64": pa.float64()}
CANONICAL_ARROW_SCHEMA: pa.Schema = pa.schema(
    [(c, _ARROW_TYPES[CANONICAL_DTYPES[c]]) for c in CANONICAL_COLUMNS])
"""Arrow types of the canonical columns (``string``, ``int64``, ``timestamp[us]``,
``float64``); missing values are nulls."""

EARLIEST_DATE = pd.Timestamp("2000-01-01")
"""Earliest plausible service date; earlier dates are ``bad_date`` (typos such as 1024)."""
LATEST_DATE = pd.Timestamp("2099-12-31")
"""Latest plausible service date; later dates are ``bad_date``."""

NULL_TOKENS: tuple[str, ...] = ("NULL", "null", "Null", "NA", "N/A", "n/a", "#N/A", "NaN",
                                "nan", "None", "none", "<NA>", "NaT")
"""Cell texts that mean "missing" in exports from billing systems and spreadsheets."""

ICD10_PATTERN = r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?"
"""Shape of one ICD-10-CM code (dot optional)."""

FIELD_PATTERNS: dict[str, str] = {
    "cpt_code": r"[0-9A-Z]{5}",
    "modifiers": r"[0-9A-Z]{2}(?: [0-9A-Z]{2})*",
    "place_of_service": r"[0-9]{2}",
    "rendering_npi": r"[0-9]{10}",
    "diagnosis_codes": rf"{ICD10_PATTERN}(?:;{ICD10_PATTERN})*",
}
"""Full-match shape of each coded canonical field after repair."""


def canonical_schema() -> pd.DataFrame:
    """The canonical claims schema as a table: column, dtype, required, meaning."""
    return pd.DataFrame(
        [dict(column=c, dtype=d, required=r, meaning=m) for c, d, r, m in CLAIMS_SCHEMA]
    )


def _dtype(column: str):
    dtype = CANONICAL_DTYPES[column]
    return pd.StringDtype() if dtype == "string" else np.dtype(dtype)


def empty_lines() -> pd.DataFrame:
    """Zero claim lines with the canonical columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in CANONICAL_COLUMNS})
