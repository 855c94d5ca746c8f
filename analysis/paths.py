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
    "REPORT_CLAIMS",
    "SAMPLE_CLAIMS",
    "SAMPLE_CLAIMS_2023_2025",
    "SAMPLE_DAMAGED",
    "SAMPLE_DIR",
    "SAMPLE_PRACTICES",
    "SAMPLE_PRACTICES_2023_2025",
    "WHATIF_NOTEBOOK",
    "reference_file",
    "sample_claims",
    "sample_practices",
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
"""The bundled one-year synthetic sample that ``rad3d validate``, ``lcd``, ``impact`` and
:func:`sample_claims` read when no claims file is given."""
SAMPLE_PRACTICES = SAMPLE_DIR / "practices_2024.csv"
"""The sample's practice table with the true 3D rates (``rad3d synth --truth``)."""
SAMPLE_DAMAGED = SAMPLE_DIR / "claims_2024_damaged.csv.gz"
"""The sample with billing-system damage applied (``rad3d synth --damage``)."""
SAMPLE_CLAIMS_2023_2025 = SAMPLE_DIR / "claims_2023_2025.parquet"
"""Three years of synthetic claims in which practices stop a known share of their BCBS NC
3D renderings from 2025 (``rad3d synth --years 2023-2025 --policy-response 0.25``)."""
SAMPLE_PRACTICES_2023_2025 = SAMPLE_DIR / "practices_2023_2025.csv"
"""Its practice table with each practice's true response (``stop_share``)."""
REPORT_CLAIMS = SAMPLE_CLAIMS_2023_2025
"""What ``rad3d report`` (and ``make report``) read when no claims file is given: the
three-year sample, so that the 12-quarter trends and the measured response have
quarters before and after the policy's effective date to work on."""
PUF_SAMPLE_DIR = SAMPLE_DIR / "puf"
"""Synthetic extracts in the layouts of the CMS Medicare Physician & Other Practitioners files."""

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
"""The report notebooks (``.ipynb`` paired with jupytext ``.py`` sources)."""
PARAMS_DIR = NOTEBOOK_DIR / "params"
"""Scenario files for ``rad3d report --params``."""
WHATIF_NOTEBOOK = NOTEBOOK_DIR / "what_if.ipynb"
"""The live what-if (an app, not a report: ``rad3d whatif`` serves it, reports skip it)."""


def reference_file(name: str) -> Path:
    """Path of a bundled reference file, e.g. ``reference_file("GPCI2025.csv")``."""
    return REFERENCE_DIR / name


def _bundled(path: Path, what: str) -> Path:
    if not path.is_file():
        # imported here: this module imports nothing else of the package
        from analysis.errors import InputError

        raise InputError(f"the bundled {what} is missing: rad3d reads it from its source "
                         "tree (pip install -e .); data/sample/README.md gives the rad3d "
                         "synth command that writes it", file=path)
    return path


def sample_claims(years: str = "2024") -> Path:
    """The bundled synthetic claims, an absolute path, so that
    ``rad3d.load_claims(rad3d.sample_claims())`` works from any working directory.

    ``years="2024"``: one year, 40 practices (:data:`SAMPLE_CLAIMS`); ``"2023-2025"``:
    three years in which practices stop a known share of their BCBS NC 3D renderings
    from 2025 (:data:`SAMPLE_CLAIMS_2023_2025`).

    Raises
    ------
    InputError
        Another ``years``; the file is not there (rad3d installed without its source
        tree).

    >>> sample_claims().name, sample_claims("2023-2025").name
    ('claims_2024.parquet', 'claims_2023_2025.parquet')
    """
    files = {"2024": SAMPLE_CLAIMS, "2023-2025": SAMPLE_CLAIMS_2023_2025}
    if years not in files:
        from analysis.errors import InputError  # as in _bundled

        raise InputError(f"the bundled samples are of {' and '.join(files)}",
                         column="years", value=years)
    return _bundled(files[years], "synthetic claims sample")


def sample_practices() -> Path:
    """The sample's practice table with the true 3D rates (:data:`SAMPLE_PRACTICES`),
    an absolute path.

    >>> sample_practices().name
    'practices_2024.csv'
    """
    return _bundled(SAMPLE_PRACTICES, "sample practice table")
