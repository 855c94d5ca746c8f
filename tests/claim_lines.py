"""Hand-written canonical claim lines for the tests (one helper, shared)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.schema import CANONICAL_DTYPES, STRING_COLUMNS

DEFAULTS = {
    "practice_id": "P1",
    "patient_id": "X",
    "service_date": "2024-03-01",
    "cpt_code": "74177",
    "modifiers": "26",
    "units": 1,
    "place_of_service": "22",
    "payer": "BCBSNC",
    "diagnosis_codes": "R10.9",
    "allowed_usd": np.nan,
    "paid_usd": np.nan,
    "rendering_npi": pd.NA,
    "state": "NC",
}


def make_lines(rows: list[dict]) -> pd.DataFrame:
    """Canonical claim lines: :data:`DEFAULTS` overridden by each row; each row is a
    claim of its own (``c0000``, ``c0001`` ...) unless it names ``claim_id``."""
    full = [
        {"claim_id": f"c{i:04d}", "line_number": 1} | DEFAULTS | row for i, row in enumerate(rows)
    ]
    frame = pd.DataFrame(full)
    numbers = [c for c, dtype in CANONICAL_DTYPES.items() if dtype in ("int64", "float64")]
    return frame.assign(
        service_date=pd.to_datetime(frame["service_date"]),
        **{c: frame[c].astype(CANONICAL_DTYPES[c]) for c in numbers},
        **{c: frame[c].astype("string") for c in STRING_COLUMNS},
    )
