"""Every path the package knows, defined once.

rad3d is installed from its source tree (``pip install -e .``), so the bundled data
live beside the package: ``data/reference`` (small real public files and code sets,
each naming its source in ``data/reference/README.md``) and ``data/sample`` (the
synthetic claims and Medicare PUF samples the commands read when given no file).
No other module computes a path from ``__file__``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DATA_DIR",
    "NOTEBOOK_DIR",
    "PACKAGE_DIR",
    "PARAMS_DIR",
    "PROJECT_DIR",
    "PUF_SAMPLE_DIR",
    "REFERENCE_DIR",
    "SAMPLE_CLAIMS",
    "SAMPLE_CLAIMS_2023_2025",
    "SAMPLE_DAMAGED",
    "SAMPLE_DIR",
    "SAMPLE_PRACTICES",
    "SAMPLE_PRACTICES_2023_2025",
    "reference_file",
]

PACKAGE_DIR = Path(__file__).resolve().parent
"""The ``analysis`` package itself (its ``*.py`` files feed the report cache key)."""
PROJECT_DIR = PACKAGE_DIR.parent
"""The source tree: ``pyproject.toml``, ``data/``, ``notebooks/``."""

DATA_DIR = PROJECT_DIR / "data"
REFERENCE_DIR = DATA_DIR / "reference"
"""Small real public files (CMS PFS, GPCI, ...) and code sets; sources in its README."""

SAMPLE_DIR = DATA_DIR / "sample"
SAMPLE_CLAIMS = SAMPLE_DIR / "claims_2024.parquet"
"""The bundled synthetic sample that every command reads when no claims file is given."""
SAMPLE_PRACTICES = SAMPLE_DIR / "practices_2024.csv"
"""The sample's practice table with the true 3D rates (``rad3d synth --truth``)."""
SAMPLE_DAMAGED = SAMPLE_DIR / "claims_2024_damaged.csv.gz"
"""The sample with billing-system damage applied (``rad3d synth --damage``)."""
SAMPLE_CLAIMS_2023_2025 = SAMPLE_DIR / "claims_2023_2025.parquet"
"""Three years of synthetic claims in which practices stop a known share of their BCBS NC
3D renderings from 2025 (``rad3d synth --years 2023-2025 --policy-response 0.25``)."""
SAMPLE_PRACTICES_2023_2025 = SAMPLE_DIR / "practices_2023_2025.csv"
"""Its practice table with each practice's true response (``stop_share``)."""
PUF_SAMPLE_DIR = SAMPLE_DIR / "puf"
"""Synthetic extracts in the layouts of the CMS Medicare Physician & Other Practitioners files."""

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
"""The report notebooks (``.ipynb`` paired with jupytext ``.py`` sources)."""
PARAMS_DIR = NOTEBOOK_DIR / "params"
"""Scenario files for ``rad3d report --params``."""


def reference_file(name: str) -> Path:
    """Path of a bundled reference file, e.g. ``reference_file("GPCI2025.csv")``."""
    return REFERENCE_DIR / name
