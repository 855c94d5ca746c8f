"""The Medicare public data pathway: CMS "Physician & Other Practitioners" files.

Not every analyst has a payer's claims. CMS publishes every year Medicare Part B
services by rendering provider and HCPCS code ("by Provider and Service", about
9.7 million rows and 3 GB) and the same services aggregated by state ("by Geography
and Service"). 76376/76377 and every CT/MR code appear in both. This package reads
them in bounded memory, rolls providers up to practices, builds the services-basis
summary the LCD screen runs on, makes the files' suppression explicit, and derives a
public-data estimate of what bundling 3D rendering moves for one commercial payer.

Files
-----
The reader, which knows the CMS files and nothing of the screen or the revenue model:

- ``layouts.py``: the column names of both files; a file's layout from its header.
- ``jurisdictions.py``: states, FIPS codes and MAC jurisdictions.
- ``read.py``: :func:`read_provider_service` (bounded memory, validation, quarantine,
  reconciled counts), :func:`iter_provider_service`, :func:`read_geography_service`.
- ``practices.py``: :func:`read_crosswalk` and :func:`assign_practices` (NPI ->
  practice).
- ``suppression.py``: :class:`SuppressionBounds`, the hidden cells and rate bounds,
  and :func:`check_consistency` (the services the provider file suppressed).

The analysis of the files, which uses :mod:`analysis.lcd` and :mod:`analysis.uncertainty`:

- ``screen.py``: :func:`summarize_puf` and :func:`screen_puf` (the LCD screen at the
  visible counts and at both bounds).
- ``exposure.py``: :func:`medicare_3d_totals` and :func:`estimate_exposure`.
- ``benchmark.py``: :func:`medicare_benchmark`, every step in one call.

Synthetic files in these layouts are written by :func:`analysis.synth.puf.
write_synthetic_puf` (also importable from here).

The definitions the reports quote (provider and geography files, suppression, the
services basis, the hidden-cell bounds) are :data:`DEFINITIONS`.
"""

from __future__ import annotations

from analysis.paths import PUF_SAMPLE_DIR
from analysis.puf.benchmark import PufBenchmark, medicare_benchmark
from analysis.puf.exposure import (
    ExposureAssumptions,
    ExposureEstimate,
    estimate_exposure,
    medicare_3d_totals,
)
from analysis.puf.jurisdictions import (
    NOVITAS_JURISDICTIONS,
    jurisdiction_states,
    state_jurisdictions,
)
from analysis.puf.layouts import (
    GEOGRAPHY_SERVICE_COLUMNS,
    PROVIDER_SERVICE_COLUMNS,
    PROVIDER_SERVICE_COLUMNS_WITH_GENDER,
    provider_service_layout,
)
from analysis.puf.practices import PracticeRollup, assign_practices, read_crosswalk
from analysis.puf.read import (
    PufRead,
    iter_provider_service,
    read_geography_service,
    read_provider_service,
    sample_paths,
)
from analysis.puf.screen import PufScreen, screen_puf, summarize_puf
from analysis.puf.suppression import SuppressionBounds, check_consistency

__all__ = [
    "DEFINITIONS",
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

SAMPLE_DIR = PUF_SAMPLE_DIR

DEFINITIONS = """\
Definitions
-----------
- **Provider file** ("Medicare Physician & Other Practitioners - by Provider and
  Service"): one row per rendering NPI x HCPCS code x place of service
  (``Place_Of_Srvc``: ``F`` facility, ``O`` office; read as the PFS ``setting``
  ``facility`` or ``non_facility``). 28 columns for data year 2023 and later
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
"""What the Medicare public-data pathway's numbers mean, as the reports state them."""


def __getattr__(name: str):
    # The generator of synthetic files in these layouts lives with the other generators
    # (analysis.synth.puf) and builds on the reader modules of this package, so it is
    # resolved on first use: importing it here would make each package need the other
    # half-built. It stays importable from here, as it always was.
    if name == "write_synthetic_puf":
        from analysis.synth.puf import write_synthetic_puf

        return write_synthetic_puf
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
"""The bundled synthetic samples (:data:`analysis.paths.PUF_SAMPLE_DIR`)."""
