"""Synthetic North Carolina radiology claims, calibrated to published practice facts.

The generator produces claim lines in the canonical claims schema (see
``analysis.schema``) together with each practice's *true* parameters, so that the
statistics computed downstream (encounter linking, the LCD screen, the revenue model)
can be checked against the values that generated the data.

Model
-----
Sizes, volumes, payer mix, prices and the shares of practice types and profiles are
fields of :class:`SynthSettings`; the rest are constants of the files below. [A]
marks an assumption rather than a published figure.

Practices
    ``n_practices`` North Carolina practices (``state = "NC"``, one statewide Medicare
    locality). Size in FTE radiologists is log-normal, ``ln FTE ~ N(2.385, 1.14)``,
    fitted to the published size distribution 1-4 FTE 22 %, 5-14 38 %, 15-29 21 %,
    30+ 19 % (median about 11 FTE). CT/MR studies per FTE per year are log-normal
    with median 5,200 and log-sd 0.35 (4,500-6,000 per FTE [A], 75th percentile
    about 1.6 x the 25th). ``scale`` multiplies every volume: ``scale=1`` is full
    size; the bundled sample uses :data:`SAMPLE_SCALE` (1/40), so a 1-FTE practice
    has about 100 encounters a year and an 11-FTE practice about 1,150.
Practice type [A]
    ``hospital`` (half of the practices): reads for hospitals, bills -26 at POS 19,
    21, 22 or 23; ``imaging_center`` (a fifth): bills global at POS 11; ``mixed``:
    a practice-specific share (30-70 %) of its encounters global at POS 11, the rest
    -26 at a facility.
Payers [A]
    MEDICARE, BCBSNC, MEDICAID, OTHER_COMMERCIAL, SELF_PAY; each practice's mix is
    Dirichlet around (0.40, 0.22, 0.15, 0.18, 0.05) with concentration 30. A patient
    keeps one payer all year.
Studies
    Encounters (one patient, one date, >= 1 CT/MR base study) use templates of one to
    three studies drawn from :func:`analysis.codes.ct_mr_codes` -- single studies,
    CT chest + CT abdomen/pelvis, CT head + CT cervical spine, MR brain + MRA head,
    CTA chest + CT abdomen/pelvis -- with practice-specific Dirichlet weights; every
    other code of the set has a small weight (except intraoperative brain MR,
    70557-70559, which has no office price). CTA/MRA studies are among them.
Diagnoses [A]
    ICD-10-CM, ``;``-separated. Oncology encounters carry a C code (lung, metastases,
    colon, breast, ...); other encounters carry an indication code from the default
    medical-necessity set (PE I26.99, aneurysm I71.4, fractures S32.401A, ...) with
    probability 6 % (30 % on average for encounters with 3D rendering), else a common
    non-indicated code (R10.9, R91.8, M54.50, ...); a second code follows 30 % of the
    time. The oncology share of encounters is Beta(6, 44) (mean 12 %) except in the
    oncology-heavy practices (10 % of practices), where it is 35-60 %.
3D rendering [A]
    Each encounter gets 3D rendering with probability ``p_3d_onc`` (oncology) or
    ``p_3d_nononc`` (other). Typical practices (75 %): ``p_3d_nononc`` log-uniform
    on 2-12 %, ``p_3d_onc`` 2-3 x that, so the overall rate is 2-15 %;
    high-rendering practices (15 %): ``p_3d_nononc`` 20-40 %; oncology-heavy
    practices (10 %): ``p_3d_nononc`` 3-12 %, ``p_3d_onc`` 25-50 %, so several exceed
    20 % overall legitimately. The code is 76377 with a practice-specific probability
    Beta(3, 9) (mean 25 %), else 76376; units 1. Compliant renderings accompany
    studies that are on neither 3D code's "do not report with" list.
Non-compliance, later dates, orphans [A]
    A practice-specific share Beta(2, 48) (mean 4 %) of 3D encounters is
    non-compliant: 70 % of them render with a CTA/MRA study on the same date, 30 %
    bill 76376 and 76377 together. Of compliant 3D encounters a share Beta(2, 48)
    renders 1-5 days after the base study, on a separate claim, when no other
    encounter of the patient falls in between and the date stays in the month.
    Of a 76376 + 76377 pair only the 76376 line counts as non-compliant (the rule of
    ``analysis.encounters``), so the truth counts match what linking finds.
    Orphans (a 3D line with no CT/MR study of the patient) occur at 0.5 % of 3D
    encounters, with a fresh patient.
Prices
    ``allowed_usd = medicare_usd x multiplier x noise`` where ``medicare_usd`` is
    :func:`analysis.pricing.price` of the line (its code, -26 or global, facility or
    office, North Carolina, service date) and the multiplier is 1.0 for Medicare,
    0.75 for Medicaid [A], a practice-specific contract factor 1.8 x exp(N(0, 0.12))
    for BCBSNC and for other commercial payers (Urban Institute / FAIR Health:
    commercial radiology about 180 % of Medicare), and 1.0 for self-pay [A].
    ``noise`` is exp(N(0, 0.05)) for commercial and self-pay lines, 1 for Medicare
    and Medicaid (fee schedules).
    A share of practices (25 % [A], ``missing_allowed_share``) has an extract with
    no allowed or paid amounts at all: their lines carry missing ``allowed_usd`` and
    ``paid_usd`` and are priced by rad3d from the fee schedule.
    ``paid_usd`` is allowed minus the patient's share: 20 % Medicare coinsurance;
    none for Medicaid; for commercial claims 0 (15 %), 20 % (60 %) or everything
    (deductible, 25 %), one draw per claim; everything for self-pay.
Identifiers
    ``practice_id`` ``NC001``...; ``patient_id`` ``P`` + practice number + patient
    number (never shared between practices); ``claim_id`` ``C`` + practice, month and
    sequence numbers; ``rendering_npi`` a valid NPI (Luhn check digit over the
    ``80840`` prefix) per radiologist, unique across practices.

Determinism and streaming
-------------------------
Practice parameters are drawn from ``rng``; each practice then gets a child
generator (``rng.spawn``), and each practice-month a grandchild. The lines of one
practice-month depend only on that grandchild, so :func:`generate` (in memory) and
:func:`write_synthetic` (streaming to Parquet or CSV in batches, bounded memory) give
identical lines for the same arguments and seed.

Files
-----
- ``model.py``: :class:`SynthSettings`, the payers, study templates and code tables.
- ``practices.py``: drawing the practices and their volumes; :func:`scale_for_lines`.
- ``claims.py``: the lines, month by month, priced: :func:`generate`, :class:`Synthetic`;
  several years with :func:`generate_years`.
- ``years.py``: a multi-year span: seasonality, growth, entry and exit, and a known
  policy response (:class:`SpanSettings`, :class:`PolicyResponse`).
- ``damage.py``: :func:`damage`, billing-export damage at exactly known rates.
- ``write.py``: Parquet and CSV files: :func:`write_synthetic`, :func:`read_lines` ...
- ``puf.py``: synthetic CMS Medicare provider and geography files
  (:func:`analysis.synth.puf.write_synthetic_puf`, built on the layouts of
  :mod:`analysis.puf`; import it from there or from ``analysis.synth.puf``).

References
----------
Bhargavan M, Kaye AH, Forman HP, Sunshine JH. Workload of radiologists in United
States in 2006-2007 and trends since 1991-1992. Radiology 2009;252(2):458-67.
Urban Institute / FAIR Health (2019-20): commercial prices for radiology about
180 % of Medicare.
"""

from __future__ import annotations

from analysis.npi import check_digit as npi_check_digit
from analysis.paths import (
    SAMPLE_CLAIMS,
    SAMPLE_CLAIMS_2023_2025,
    SAMPLE_DAMAGED,
    SAMPLE_DIR,
    SAMPLE_PRACTICES,
    SAMPLE_PRACTICES_2023_2025,
)
from analysis.schema import CANONICAL_COLUMNS as CLAIM_COLUMNS
from analysis.synth.claims import Synthetic, generate, generate_years
from analysis.synth.damage import QUARANTINE_REASONS, REPAIR_KINDS, Damage, DamageRates, damage
from analysis.synth.model import PAYERS, SAMPLE_SCALE, SAMPLE_SCALE_2023_2025, SynthSettings
from analysis.synth.practices import scale_for_lines
from analysis.synth.write import (
    read_lines,
    to_arrow,
    write_damaged,
    write_lines,
    write_synthetic,
    write_truth,
)
from analysis.synth.years import PolicyResponse, SpanSettings

__all__ = [
    "CLAIM_COLUMNS",
    "PAYERS",
    "QUARANTINE_REASONS",
    "REPAIR_KINDS",
    "SAMPLE_CLAIMS",
    "SAMPLE_CLAIMS_2023_2025",
    "SAMPLE_DAMAGED",
    "SAMPLE_DIR",
    "SAMPLE_PRACTICES",
    "SAMPLE_PRACTICES_2023_2025",
    "SAMPLE_SCALE",
    "SAMPLE_SCALE_2023_2025",
    "Damage",
    "DamageRates",
    "PolicyResponse",
    "SpanSettings",
    "SynthSettings",
    "Synthetic",
    "damage",
    "generate",
    "generate_years",
    "npi_check_digit",
    "read_lines",
    "scale_for_lines",
    "to_arrow",
    "write_damaged",
    "write_lines",
    "write_synthetic",
    "write_truth",
]
