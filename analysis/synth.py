"""Synthetic North Carolina radiology claims, calibrated to published practice facts.

The generator produces claim lines in the canonical claims schema (see
``analysis.claims``) together with each practice's *true* parameters, so that the
statistics computed downstream (encounter linking, the LCD screen, the revenue model)
can be checked against the values that generated the data.

Model
-----
Sizes, volumes, payer mix, prices and the shares of practice types and profiles are
fields of :class:`SynthSettings`; the rest are module constants. [A] marks an
assumption rather than a published figure.

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
    :func:`analysis.fees.price` of the line (its code, -26 or global, facility or
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

References
----------
Bhargavan M, Kaye AH, Forman HP, Sunshine JH. Workload of radiologists in United
States in 2006-2007 and trends since 1991-1992. Radiology 2009;252(2):458-67.
Urban Institute / FAIR Health (2019-20): commercial prices for radiology about
180 % of Medicare.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cache
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import codes
from analysis.errors import InputError

__all__ = [
    "CLAIM_COLUMNS",
    "PAYERS",
    "QUARANTINE_REASONS",
    "REPAIR_KINDS",
    "SAMPLE_CLAIMS",
    "SAMPLE_DAMAGED",
    "SAMPLE_DIR",
    "SAMPLE_PRACTICES",
    "SAMPLE_SCALE",
    "Damage",
    "DamageRates",
    "SynthSettings",
    "Synthetic",
    "damage",
    "generate",
    "npi_check_digit",
    "read_lines",
    "scale_for_lines",
    "to_arrow",
    "write_damaged",
    "write_lines",
    "write_synthetic",
    "write_truth",
]

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"
SAMPLE_CLAIMS = SAMPLE_DIR / "claims_2024.parquet"
SAMPLE_PRACTICES = SAMPLE_DIR / "practices_2024.csv"
SAMPLE_DAMAGED = SAMPLE_DIR / "claims_2024_damaged.csv.gz"
SAMPLE_SCALE = 1 / 40
"""Volume factor of the bundled sample: 1/40 of full-size practice volumes."""

PAYERS: tuple[str, ...] = ("MEDICARE", "BCBSNC", "MEDICAID", "OTHER_COMMERCIAL", "SELF_PAY")
PRACTICE_TYPES: tuple[str, ...] = ("hospital", "imaging_center", "mixed")
PROFILES: tuple[str, ...] = ("typical", "high_3d", "oncology_heavy")

CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "line_number",
    "practice_id",
    "patient_id",
    "service_date",
    "cpt_code",
    "modifiers",
    "units",
    "place_of_service",
    "payer",
    "diagnosis_codes",
    "allowed_usd",
    "paid_usd",
    "rendering_npi",
    "state",
)

_NON_STRING = ("line_number", "units", "allowed_usd", "paid_usd", "service_date")
# The canonical dtypes of analysis.claims: pandas "string" (missing = pd.NA) for codes
# and identifiers, int64 counts, datetime64[us] dates, float64 dollars.
_STRING_DTYPES = {c: "string" for c in CLAIM_COLUMNS if c not in _NON_STRING}

# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class SynthSettings:
    """Assumptions of the generator (see the module docstring for their sources).

    Parameters
    ----------
    fte_log_mean, fte_log_sd : float
        Log-normal practice size in FTE radiologists (fit to 22/38/21/19 % in the
        size bands 1-4, 5-14, 15-29, 30+).
    studies_per_fte_median, studies_per_fte_log_sd : float
        CT/MR studies per FTE radiologist per year, log-normal across practices.
    type_shares : tuple of float
        Shares of hospital-based, imaging-centre and mixed practices.
    payer_mix : tuple of float
        Mean payer mix in the order of :data:`PAYERS`.
    payer_concentration : float
        Dirichlet concentration of each practice's payer mix around the mean.
    profile_shares : tuple of float
        Shares of typical, high-3D and oncology-heavy practices.
    payer_multipliers : tuple of float
        Allowed amount as a multiple of the Medicare price, in the order of
        :data:`PAYERS`; the commercial ones are the centre of a practice-specific
        log-normal contract factor.
    commercial_log_sd : float
        Log-sd of a practice's commercial contract factor.
    line_noise_log_sd : float
        Log-sd of the line-level price noise on commercial and self-pay lines.
    p_orphan : float
        Orphan 3D lines per 3D encounter.
    visits_per_patient : float
        Mean CT/MR encounters per patient per year (sets the patient pool size).
    missing_allowed_share : float
        Share of practices whose claims extract carries no allowed or paid amounts
        [A]: practice-side billing extracts often hold charges but not the payer's
        allowed amount. rad3d prices such lines from the fee schedule times a payer
        multiplier, so the sample exercises both price sources.
    """

    fte_log_mean: float = 2.385
    fte_log_sd: float = 1.14
    studies_per_fte_median: float = 5200.0
    studies_per_fte_log_sd: float = 0.35
    type_shares: tuple[float, float, float] = (0.5, 0.2, 0.3)
    payer_mix: tuple[float, ...] = (0.40, 0.22, 0.15, 0.18, 0.05)
    payer_concentration: float = 30.0
    profile_shares: tuple[float, float, float] = (0.75, 0.15, 0.10)
    payer_multipliers: tuple[float, ...] = (1.0, 1.8, 0.75, 1.8, 1.0)
    commercial_log_sd: float = 0.12
    line_noise_log_sd: float = 0.05
    p_orphan: float = 0.005
    visits_per_patient: float = 1.4
    missing_allowed_share: float = 0.25

    def __post_init__(self) -> None:
        for name, values, n in (
            ("type_shares", self.type_shares, 3),
            ("payer_mix", self.payer_mix, len(PAYERS)),
            ("profile_shares", self.profile_shares, 3),
        ):
            if len(values) != n or min(values) < 0 or not math.isclose(sum(values), 1.0):
                raise InputError(
                    f"must be {n} non-negative shares summing to 1", column=name, value=values
                )
        if len(self.payer_multipliers) != len(PAYERS) or min(self.payer_multipliers) <= 0:
            raise InputError(
                f"must be {len(PAYERS)} positive multipliers (order {', '.join(PAYERS)})",
                column="payer_multipliers",
                value=self.payer_multipliers,
            )
        for name in ("fte_log_sd", "studies_per_fte_log_sd", "commercial_log_sd",
                     "line_noise_log_sd"):  # fmt: skip
            if getattr(self, name) < 0:
                raise InputError("must be >= 0", column=name, value=getattr(self, name))
        for name in ("studies_per_fte_median", "payer_concentration", "visits_per_patient"):
            if not getattr(self, name) > 0:
                raise InputError("must be > 0", column=name, value=getattr(self, name))
        if not 0 <= self.missing_allowed_share <= 1:
            raise InputError("must be in [0, 1]", column="missing_allowed_share",
                             value=self.missing_allowed_share)  # fmt: skip
        if not 0 <= self.p_orphan < 1:
            raise InputError("must be in [0, 1)", column="p_orphan", value=self.p_orphan)
        if self.visits_per_patient < 1:
            raise InputError(">= 1 visit per patient", column="visits_per_patient",
                             value=self.visits_per_patient)  # fmt: skip

    def to_dict(self) -> dict:
        """Plain-Python form for manifests."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


# ------------------------------------------------------------ code tables

# (codes, weight for any encounter, weight when the encounter gets 3D rendering).
# The 3D weights favour the studies 3D is used with: surgical planning of the
# abdomen and pelvis, fractures of the face, spine, pelvis and extremities, brain MR.
_TEMPLATES: tuple[tuple[tuple[str, ...], float, float], ...] = (
    (("74177",), 14.0, 10.0),  # CT abdomen & pelvis with contrast
    (("74176",), 6.0, 3.0),
    (("74178",), 1.0, 1.5),
    (("70450",), 12.0, 1.0),  # CT head without contrast
    (("71250",), 5.0, 2.0),
    (("71260",), 5.0, 4.0),
    (("71270",), 0.5, 0.5),
    (("71271",), 2.0, 0.2),  # low-dose lung screening
    (("72125",), 3.0, 3.0),  # CT cervical spine
    (("72128",), 0.5, 1.0),
    (("72131",), 1.0, 2.5),
    (("70486",), 1.0, 4.0),  # CT maxillofacial
    (("70480",), 0.5, 1.0),
    (("70491",), 1.0, 1.0),
    (("73700",), 1.0, 4.0),  # CT lower extremity
    (("73200",), 0.5, 2.5),
    (("72192",), 0.5, 3.0),  # CT pelvis (acetabulum)
    (("72193",), 0.5, 1.0),
    (("74150",), 0.5, 0.5),
    (("74160",), 1.0, 1.0),
    (("71275",), 4.0, 0.0),  # CTA chest (pulmonary embolism)
    (("70496", "70498"), 2.0, 0.0),  # CTA head + neck
    (("74174",), 1.0, 0.0),
    (("75574",), 0.5, 0.0),
    (("75571",), 0.5, 0.0),
    (("70553",), 5.0, 2.0),  # MR brain without and with contrast
    (("70551",), 4.0, 0.5),
    (("72148",), 5.0, 0.5),  # MR lumbar spine
    (("72141",), 2.0, 0.3),
    (("72146",), 0.5, 0.2),
    (("73721",), 4.0, 0.3),  # MR knee
    (("73221",), 2.0, 0.5),
    (("73718",), 1.0, 0.3),
    (("73218",), 0.5, 0.2),
    (("74183",), 1.5, 1.5),  # MR abdomen (liver, pancreas)
    (("72197",), 1.0, 1.0),
    (("77049",), 1.0, 0.0),  # MR breast
    (("70543",), 0.5, 0.5),
    (("70544",), 0.5, 0.0),  # MRA head
    (("70547",), 0.3, 0.0),
    (("75561",), 0.3, 0.0),
    (("71260", "74177"), 6.0, 6.0),  # CT chest + CT abdomen/pelvis
    (("70450", "72125"), 3.0, 1.0),  # trauma: CT head + cervical spine
    (("70553", "70544"), 1.0, 0.0),  # MR brain + MRA head
    (("71275", "74177"), 1.0, 0.0),  # CTA chest + CT abdomen/pelvis
    (("71260", "74177", "70450"), 0.5, 0.5),
)
_OTHER_CODE_WEIGHT = 0.03  # every other code of the CT/MR set appears now and then
# Intraoperative brain MR (70557-70559) is billed only in a hospital and has no office
# price; it is left out rather than generated in the wrong setting.
_NOT_GENERATED = frozenset({"70557", "70558", "70559"})

# Templates for non-compliant renderings with an angiography study on the same date.
_ANGIO_TEMPLATES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("71275",), 4.0),
    (("70496", "70498"), 3.0),
    (("74174",), 2.0),
    (("74175",), 1.0),
    (("73706",), 1.0),
    (("70553", "70544"), 1.0),
    (("71275", "74177"), 1.0),
    (("75635",), 0.5),
)

# ICD-10-CM codes. Oncology: C00-C96 (the default cancer set).
_DX_ONCOLOGY: tuple[tuple[str, float], ...] = (
    ("C34.90", 8), ("C34.11", 3), ("C78.01", 4), ("C78.00", 2), ("C18.9", 4),
    ("C50.911", 5), ("C61", 4), ("C25.9", 2), ("C79.51", 2), ("C71.9", 1),
    ("C22.0", 1), ("C64.9", 2), ("C56.9", 1), ("C83.30", 1), ("C78.7", 2),
)  # fmt: skip
# In the default medical-necessity set (data/reference/icd10_indications.csv).
_DX_INDICATION: tuple[tuple[str, float], ...] = (
    ("I26.99", 6), ("I71.4", 3), ("I71.2", 1), ("I67.1", 1), ("Q25.1", 0.5),
    ("S32.401A", 2), ("S32.501A", 1), ("S42.201A", 1.5), ("S82.101A", 1.5),
    ("S92.001A", 1), ("S02.401A", 1.5), ("S12.100A", 1), ("S22.009A", 1),
    ("S32.009A", 1), ("Q75.0", 0.3),
)  # fmt: skip
# Common, not in either set.
_DX_COMMON: tuple[tuple[str, float], ...] = (
    ("R10.9", 8), ("R91.8", 5), ("M54.50", 6), ("R51.9", 5), ("R06.02", 3),
    ("K57.30", 2), ("N20.0", 3), ("R10.84", 2), ("G43.909", 2), ("M54.2", 3),
    ("R07.9", 3), ("J18.9", 2), ("K80.20", 2), ("R42", 2), ("R93.89", 2),
    ("M25.561", 3), ("M17.11", 2), ("I10", 2), ("E11.9", 1), ("R19.00", 1),
)  # fmt: skip

_FACILITY_POS = (("22", 0.45), ("23", 0.25), ("21", 0.20), ("19", 0.10))

_P_INDICATED = 0.06  # non-oncology encounters without 3D carrying an indication code
_P_SECOND_DX = 0.30
_COMMERCIAL_SHARE = ((0.0, 0.15), (0.2, 0.60), (1.0, 0.25))  # (patient share, prob.)
_MEDICARE_COINSURANCE = 0.20
_WEEKEND_WEIGHT = 0.35
_MAX_LAG_DAYS = 5


@dataclass(frozen=True)
class _Codebook:
    """Integer-coded tables the vectorised generator indexes into."""

    cpt: np.ndarray  # all CPT strings: base codes then 76376, 76377
    template_codes: np.ndarray  # (n_templates, 3) indices into cpt, -1 = none
    template_size: np.ndarray
    base_weight: np.ndarray
    weight_3d: np.ndarray
    angio_codes: np.ndarray
    angio_size: np.ndarray
    angio_weight: np.ndarray
    dx: np.ndarray  # all diagnosis strings; "" at index 0
    dx_onc: np.ndarray
    dx_onc_p: np.ndarray
    dx_ind: np.ndarray
    dx_ind_p: np.ndarray
    dx_com: np.ndarray
    dx_com_p: np.ndarray
    mean_studies: float  # studies per encounter under base weights
    code_76376: int
    code_76377: int


@cache
def _codebook() -> _Codebook:
    table = codes.ct_mr_codes()
    base_codes = list(table["cpt_code"])
    listed = codes.do_not_report_with("76376") | codes.do_not_report_with("76377")
    templates = list(_TEMPLATES)
    named = {c for t, _, _ in templates for c in t}
    templates += [
        ((c,), _OTHER_CODE_WEIGHT, 0.0)
        for c in base_codes
        if c not in named and c not in _NOT_GENERATED
    ]
    for t, _, w3 in templates:
        missing = set(t) - set(base_codes)
        if missing:  # the reference code set changed under the generator
            raise ValueError(f"template codes not in the CT/MR set: {sorted(missing)}")
        if w3 > 0 and set(t) & listed:
            raise ValueError(f"3D template {t} holds a 'do not report with' code")
    cpt = np.array(base_codes + list(codes.CODES_3D), dtype=object)
    index = {c: i for i, c in enumerate(cpt)}

    def encode(ts: Sequence[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
        out = np.full((len(ts), 3), -1, dtype=np.int32)
        for i, t in enumerate(ts):
            out[i, : len(t)] = [index[c] for c in t]
        return out, np.array([len(t) for t in ts], dtype=np.int32)

    tcodes, tsize = encode([t for t, _, _ in templates])
    base_w = np.array([w for _, w, _ in templates])
    acodes, asize = encode([t for t, _ in _ANGIO_TEMPLATES])
    for t, _ in _ANGIO_TEMPLATES:
        if not set(t) & listed:
            raise ValueError(f"angiography template {t} is not on the 'do not report' list")
    dx = [""] + [c for c, _ in _DX_ONCOLOGY + _DX_INDICATION + _DX_COMMON]
    dx_index = {c: i for i, c in enumerate(dx)}

    def probs(pairs: Sequence[tuple[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        w = np.array([w for _, w in pairs], dtype=float)
        return np.array([dx_index[c] for c, _ in pairs], dtype=np.int32), w / w.sum()

    onc, onc_p = probs(_DX_ONCOLOGY)
    ind, ind_p = probs(_DX_INDICATION)
    com, com_p = probs(_DX_COMMON)
    return _Codebook(
        cpt=cpt,
        template_codes=tcodes,
        template_size=tsize,
        base_weight=base_w / base_w.sum(),
        weight_3d=np.array([w for _, _, w in templates]),
        angio_codes=acodes,
        angio_size=asize,
        angio_weight=np.array([w for _, w in _ANGIO_TEMPLATES]) / sum(
            w for _, w in _ANGIO_TEMPLATES
        ),
        dx=np.array(dx, dtype=object),
        dx_onc=onc,
        dx_onc_p=onc_p,
        dx_ind=ind,
        dx_ind_p=ind_p,
        dx_com=com,
        dx_com_p=com_p,
        mean_studies=float((base_w / base_w.sum()) @ tsize),
        code_76376=index["76376"],
        code_76377=index["76377"],
    )


# ------------------------------------------------------------------- NPIs


def npi_check_digit(first_nine: np.ndarray) -> np.ndarray:
    """Luhn check digit of 9-digit NPI stems, computed over the ``80840`` prefix.

    Parameters
    ----------
    first_nine : array of int
        The first nine digits of each NPI as an integer (100000000-299999999).

    Returns
    -------
    array of int
        The tenth digit.

    References
    ----------
    CMS, "Requirements for NPI check digit" (NPPES): the Luhn formula applied to the
    number prefixed with 80840, which contributes a constant 24 to the sum.

    Examples
    --------
    >>> int(npi_check_digit(np.array([123456789]))[0])  # NPI 1234567893
    3
    """
    n = np.asarray(first_nine, dtype=np.int64)
    total = np.full(n.shape, 24, dtype=np.int64)
    for position in range(9):  # position 0 = rightmost digit of the stem, doubled
        digit = (n // 10**position) % 10
        if position % 2 == 0:
            digit = digit * 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10


def _npis(stems: np.ndarray) -> np.ndarray:
    return stems.astype(np.int64) * 10 + npi_check_digit(stems)


# --------------------------------------------------------------- practices


def _apportion(n: int, shares: Sequence[float]) -> np.ndarray:
    """Largest-remainder counts of ``n`` items in ``shares``."""
    raw = np.asarray(shares) * n
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def _draw_practices(
    n: int, rng: np.random.Generator, settings: SynthSettings
) -> pd.DataFrame:
    """True parameters of ``n`` practices (one row each)."""
    fte = np.clip(
        np.rint(np.exp(rng.normal(settings.fte_log_mean, settings.fte_log_sd, n))), 1, 250
    ).astype(int)
    per_fte = settings.studies_per_fte_median * np.exp(
        rng.normal(0.0, settings.studies_per_fte_log_sd, n)
    )
    n_rad = np.maximum(fte, np.rint(fte * rng.uniform(1.0, 1.25, n))).astype(int)
    ptype = rng.permutation(np.repeat(np.arange(3), _apportion(n, settings.type_shares)))
    share_office = np.select(
        [ptype == 0, ptype == 1], [0.0, 1.0], default=rng.uniform(0.3, 0.7, n)
    )
    mix = rng.dirichlet(np.asarray(settings.payer_mix) * settings.payer_concentration, n)
    profile = rng.permutation(np.repeat(np.arange(3), _apportion(n, settings.profile_shares)))
    onc_share = np.where(profile == 2, rng.uniform(0.35, 0.60, n), rng.beta(6, 44, n))
    typical_p = np.exp(rng.uniform(np.log(0.02), np.log(0.12), n))
    heavy_p = np.exp(rng.uniform(np.log(0.03), np.log(0.12), n))
    p_nononc = np.select(
        [profile == 0, profile == 1], [typical_p, rng.uniform(0.20, 0.40, n)], default=heavy_p
    )
    p_onc = np.select(
        [profile == 0, profile == 1],
        [p_nononc * rng.uniform(2.0, 3.0, n), p_nononc * 1.5],
        default=rng.uniform(0.25, 0.50, n),
    ).clip(max=0.9)
    share_76377 = rng.beta(3, 9, n)
    p_noncompliant = rng.beta(2, 48, n)
    p_later = rng.beta(2, 48, n)
    p_indicated_3d = rng.beta(6, 14, n)
    mult = np.tile(np.asarray(settings.payer_multipliers, dtype=float), (n, 1))
    for j, payer in enumerate(PAYERS):
        if payer in ("BCBSNC", "OTHER_COMMERCIAL"):
            mult[:, j] *= np.exp(rng.normal(0.0, settings.commercial_log_sd, n))
    # NPI stems unique across practices: 1xxxxxxxx, drawn without replacement.
    stems = 100_000_000 + rng.choice(100_000_000, size=int(n_rad.sum()), replace=False)
    # Drawn last, so that adding it changed none of the draws above.
    has_allowed = rng.random(n) >= settings.missing_allowed_share
    width = max(3, len(str(n)))
    frame = pd.DataFrame(
        {
            "practice_id": [f"NC{i + 1:0{width}d}" for i in range(n)],
            "practice_number": np.arange(n, dtype=np.int64),
            "state": "NC",
            "practice_type": np.asarray(PRACTICE_TYPES)[ptype],
            "profile": np.asarray(PROFILES)[profile],
            "fte_radiologists": fte,
            "n_radiologists": n_rad,
            "studies_per_fte": per_fte.round(1),
            "share_office": share_office.round(4),
            **{f"share_{p.lower()}": mix[:, j] for j, p in enumerate(PAYERS)},
            **{f"multiplier_{p.lower()}": mult[:, j].round(4) for j, p in enumerate(PAYERS)},
            "oncology_share": onc_share,
            "p_3d_nononc": p_nononc,
            "p_3d_onc": p_onc,
            "share_76377": share_76377,
            "p_noncompliant": p_noncompliant,
            "p_later_date": p_later,
            "p_indicated_3d": p_indicated_3d,
            "extract_has_allowed": has_allowed,
        }
    )
    frame["true_rate_3d"] = onc_share * p_onc + (1 - onc_share) * p_nononc
    frame["npi_stems"] = list(np.split(stems, np.cumsum(n_rad)[:-1]))
    return frame


def _with_volume(practices: pd.DataFrame, scale: float) -> pd.DataFrame:
    book = _codebook()
    studies = practices["fte_radiologists"] * practices["studies_per_fte"] * scale
    return practices.assign(
        volume_scale=scale,
        expected_studies=studies.round(1),
        expected_encounters=(studies / book.mean_studies).round(1),
    )


def _expected_lines_per_scale(practices: pd.DataFrame) -> float:
    """Expected claim lines at ``scale = 1`` (studies plus 3D lines)."""
    book = _codebook()
    encounters = practices["fte_radiologists"] * practices["studies_per_fte"] / book.mean_studies
    return float((encounters * (book.mean_studies + practices["true_rate_3d"] * 1.02)).sum())


def scale_for_lines(
    n_lines: int,
    n_practices: int = 40,
    *,
    rng: np.random.Generator,
    settings: SynthSettings | None = None,
) -> float:
    """The ``scale`` at which ``n_practices`` practices produce about ``n_lines`` lines.

    Draws the practices exactly as :func:`generate` does from a copy of ``rng``'s
    state, so ``generate(..., rng=same_seed, scale=scale_for_lines(...))`` gives
    ``n_lines`` within a fraction of a percent. For realism keep the result near 1
    (full-size volumes) by choosing ``n_practices``: about 150 practices make 25
    million lines a year.
    """
    if n_lines < 1:
        raise InputError("must be >= 1", column="n_lines", value=n_lines)
    probe = np.random.Generator(type(rng.bit_generator)())
    probe.bit_generator.state = rng.bit_generator.state
    practices = _draw_practices(n_practices, probe, settings or SynthSettings())
    return n_lines / _expected_lines_per_scale(practices)


# --------------------------------------------------------------- generation


@dataclass
class _Chunk:
    """One practice-month as integer-coded arrays (one entry per line)."""

    practice: int
    month: int
    claim_seq: np.ndarray
    line_number: np.ndarray
    patient: np.ndarray
    day: np.ndarray  # days since Jan 1 of the year
    cpt: np.ndarray
    office: np.ndarray  # bool: global at POS 11
    pos: np.ndarray  # int POS
    payer: np.ndarray
    dx1: np.ndarray
    dx2: np.ndarray
    npi: np.ndarray
    noise: np.ndarray
    patient_share: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)


def _month_days(year: int, month: int) -> tuple[np.ndarray, np.ndarray]:
    start = (date(year, month, 1) - date(year, 1, 1)).days
    n_days = calendar.monthrange(year, month)[1]
    days = np.arange(start, start + n_days)
    weekday = (np.arange(n_days) + date(year, month, 1).weekday()) % 7
    return days, np.where(weekday >= 5, _WEEKEND_WEIGHT, 1.0)


def _year_weight(year: int) -> float:
    return float(sum(_month_days(year, m)[1].sum() for m in range(1, 13)))


def _practice_chunks(
    row: Mapping, *, year: int, rng: np.random.Generator, settings: SynthSettings
) -> Iterator[_Chunk]:
    """The lines of one practice, month by month."""
    book = _codebook()
    mix = np.array([row[f"share_{p.lower()}"] for p in PAYERS])
    expected = float(row["expected_encounters"])
    n_pool = max(1, math.ceil(expected / settings.visits_per_patient))
    patient_payer = rng.choice(len(PAYERS), size=n_pool, p=mix / mix.sum())
    base_w = rng.dirichlet(book.base_weight * 200 + 1e-3)
    w3 = book.weight_3d * rng.uniform(0.5, 1.5, len(book.weight_3d))
    w3 = w3 / w3.sum()
    npis = _npis(np.asarray(row["npi_stems"]))
    facility_pos = np.array([int(p) for p, _ in _FACILITY_POS])
    facility_p = np.array([w for _, w in _FACILITY_POS])
    year_weight = _year_weight(year)
    orphan_patient = n_pool
    for month, month_rng in enumerate(rng.spawn(12), start=1):
        days, day_w = _month_days(year, month)
        chunk = _month_chunk(
            row,
            rng=month_rng,
            month=month,
            days=days,
            day_p=day_w / day_w.sum(),
            n_expected=expected * day_w.sum() / year_weight,
            patient_payer=patient_payer,
            base_w=base_w,
            w3=w3,
            npis=npis,
            facility_pos=facility_pos,
            facility_p=facility_p,
            first_orphan=orphan_patient,
            p_orphan=settings.p_orphan,
        )
        orphan_patient += chunk.counts["n_orphan_3d_lines"]
        yield chunk


def _month_chunk(
    row: Mapping,
    *,
    rng: np.random.Generator,
    month: int,
    days: np.ndarray,
    day_p: np.ndarray,
    n_expected: float,
    patient_payer: np.ndarray,
    base_w: np.ndarray,
    w3: np.ndarray,
    npis: np.ndarray,
    facility_pos: np.ndarray,
    facility_p: np.ndarray,
    first_orphan: int,
    p_orphan: float,
) -> _Chunk:
    book = _codebook()
    n_pool = len(patient_payer)
    # Encounters: unique (patient, day), ordered by day then patient.
    n = int(rng.poisson(n_expected))
    enc_day = rng.choice(days, size=n, p=day_p)
    enc_patient = rng.integers(0, n_pool, size=n)
    key = np.unique(enc_day.astype(np.int64) * n_pool + enc_patient)
    enc_day, enc_patient = key // n_pool, key % n_pool
    n = len(key)
    u = rng.random((n, 8))
    onc = u[:, 0] < row["oncology_share"]
    has3d = u[:, 1] < np.where(onc, row["p_3d_onc"], row["p_3d_nononc"])
    noncompliant = has3d & (u[:, 2] < row["p_noncompliant"])
    nc_angio = noncompliant & (u[:, 3] < 0.7)
    nc_both = noncompliant & ~nc_angio
    is_77 = u[:, 4] < row["share_76377"]
    office = u[:, 5] < row["share_office"]
    later = has3d & ~noncompliant & (u[:, 6] < row["p_later_date"])
    indicated = ~onc & (u[:, 7] < np.where(has3d, row["p_indicated_3d"], _P_INDICATED))

    template = np.where(
        has3d,
        rng.choice(len(w3), size=n, p=w3),
        rng.choice(len(base_w), size=n, p=base_w),
    )
    angio = rng.choice(len(book.angio_weight), size=n, p=book.angio_weight)
    study_codes = np.where(
        nc_angio[:, None], book.angio_codes[angio], book.template_codes[template]
    )
    pos = np.where(office, 11, rng.choice(facility_pos, size=n, p=facility_p))
    dx1 = np.where(
        onc,
        rng.choice(book.dx_onc, size=n, p=book.dx_onc_p),
        np.where(
            indicated,
            rng.choice(book.dx_ind, size=n, p=book.dx_ind_p),
            rng.choice(book.dx_com, size=n, p=book.dx_com_p),
        ),
    )
    dx2 = np.where(
        rng.random(n) < _P_SECOND_DX, rng.choice(book.dx_com, size=n, p=book.dx_com_p), 0
    )
    dx2 = np.where(dx2 == dx1, 0, dx2)
    npi = rng.choice(npis, size=n)
    lag = rng.integers(1, _MAX_LAG_DAYS + 1, size=n)

    # A later-date rendering stays in the month and must not have another encounter
    # of the patient on or before its date (it would link there instead).
    later_idx = np.flatnonzero(later)
    if len(later_idx):
        month_end = days[-1]
        taken = set(key.tolist())
        for i in later_idx:
            render = enc_day[i] + lag[i]
            p = enc_patient[i]
            if render > month_end or any(
                (d * n_pool + p) in taken for d in range(enc_day[i] + 1, render + 1)
            ):
                later[i] = False
    lag = np.where(later, lag, 0)

    # 3D lines per encounter: one, or two when both codes are billed.
    code_a = np.where(nc_both | ~is_77, book.code_76376, book.code_76377)
    n3d = has3d.astype(np.int32) + nc_both
    # Lines: studies, then same-day 3D lines (same claim), then later 3D (own claim).
    size = book.template_size
    n_studies = np.where(nc_angio, book.angio_size[angio], size[template])
    same_day_3d = np.where(later, 0, n3d)
    lines_per_enc = n_studies + same_day_3d
    enc_of_line = np.repeat(np.arange(n), lines_per_enc)
    pos_in_enc = np.arange(len(enc_of_line)) - np.repeat(
        np.cumsum(lines_per_enc) - lines_per_enc, lines_per_enc
    )
    is_study = pos_in_enc < n_studies[enc_of_line]
    second_3d = pos_in_enc == n_studies[enc_of_line] + 1
    cpt = np.where(
        is_study,
        study_codes[enc_of_line, np.minimum(pos_in_enc, 2)],
        np.where(second_3d, book.code_76377, code_a[enc_of_line]),
    )
    line_enc = enc_of_line
    line_number = pos_in_enc + 1
    claim_seq = enc_of_line
    day = enc_day[enc_of_line]
    # Later-date renderings: their own claim after the month's encounter claims.
    later_enc = np.flatnonzero(later)
    line_enc = np.concatenate([line_enc, later_enc])
    cpt = np.concatenate([cpt, code_a[later_enc]])
    line_number = np.concatenate([line_number, np.ones(len(later_enc), dtype=line_number.dtype)])
    claim_seq = np.concatenate([claim_seq, n + np.arange(len(later_enc))])
    day = np.concatenate([day, enc_day[later_enc] + lag[later_enc]])
    patient = enc_patient[line_enc]
    payer = patient_payer[patient]
    # Orphans: a 3D line of a patient without any CT/MR study, on its own claim.
    n_orphan = int(rng.poisson(has3d.sum() * p_orphan))
    o_day = rng.choice(days, size=n_orphan, p=day_p)
    o_office = rng.random(n_orphan) < row["share_office"]
    o_pos = np.where(o_office, 11, rng.choice(facility_pos, size=n_orphan, p=facility_p))
    o_77 = rng.random(n_orphan) < row["share_76377"]
    o_dx = rng.choice(book.dx_com, size=n_orphan, p=book.dx_com_p)
    o_npi = rng.choice(npis, size=n_orphan)
    mix = np.array([row[f"share_{p.lower()}"] for p in PAYERS])
    o_payer = rng.choice(len(PAYERS), size=n_orphan, p=mix / mix.sum())
    n_main = len(line_enc)
    n_lines = n_main + n_orphan
    noise = rng.normal(0.0, 1.0, n_lines)
    # The patient's cost share (deductible or coinsurance) is one draw per claim.
    share_u = rng.random(n + n_orphan)
    share_u = np.concatenate([share_u[line_enc], share_u[n:]])

    counts = {
        "n_encounters": n,
        "n_encounters_3d": int(has3d.sum()),
        "n_onc_encounters": int(onc.sum()),
        "n_onc_encounters_3d": int((onc & has3d).sum()),
        "n_nononc_indicated_encounters": int(indicated.sum()),
        "n_lines": n_lines,
        "n_ct_mr_lines": int(n_studies.sum()),
        "n_angiography_encounters_3d": int(nc_angio.sum()),
        "n_lines_3d": int(n3d.sum()) + n_orphan,
        "units_3d_76376": int((has3d & (code_a == book.code_76376)).sum())
        + int(n_orphan - o_77.sum()),
        "units_3d_76377": int((has3d & (code_a == book.code_76377)).sum())
        + int(nc_both.sum())
        + int(o_77.sum()),
        # Of a 76376 + 76377 pair only the 76376 line is non-compliant (the claim is
        # corrected by dropping the lesser service; see analysis.encounters).
        "n_noncompliant_3d_lines": int(nc_angio.sum() + nc_both.sum()),
        "n_later_date_3d_lines": int(later.sum()),
        "n_orphan_3d_lines": n_orphan,
    }
    return _Chunk(
        practice=int(row["practice_number"]),
        month=month,
        claim_seq=np.concatenate([claim_seq, n + len(later_enc) + np.arange(n_orphan)]),
        line_number=np.concatenate([line_number, np.ones(n_orphan, dtype=line_number.dtype)]),
        patient=np.concatenate([patient, first_orphan + np.arange(n_orphan)]),
        day=np.concatenate([day, o_day]),
        cpt=np.concatenate([cpt, np.where(o_77, book.code_76377, book.code_76376)]),
        office=np.concatenate([office[line_enc], o_office]),
        pos=np.concatenate([pos[line_enc], o_pos]),
        payer=np.concatenate([payer, o_payer]),
        dx1=np.concatenate([dx1[line_enc], o_dx]),
        dx2=np.concatenate([dx2[line_enc], np.zeros(n_orphan, dtype=dx2.dtype)]),
        npi=np.concatenate([npi[line_enc], o_npi]),
        noise=noise,
        patient_share=share_u,
        counts=counts,
    )


# ------------------------------------------------------------------ frames


def _iter_chunks(
    practices: pd.DataFrame, *, year: int, rng: np.random.Generator, settings: SynthSettings
) -> Iterator[_Chunk]:
    for (_, row), practice_rng in zip(
        practices.iterrows(), rng.spawn(len(practices)), strict=True
    ):
        yield from _practice_chunks(row, year=year, rng=practice_rng, settings=settings)


def _price_medicare(frame: pd.DataFrame) -> np.ndarray:
    """Medicare PFS price per unit of each line (NaN where not payable)."""
    from analysis import fees

    keys = ["cpt_code", "component", "setting", "state", "service_date"]
    lines = frame.assign(
        component=np.where(frame["modifiers"].eq("26").fillna(False), "26", "global"),
        setting=np.where(frame["place_of_service"].eq("11"), "non_facility", "facility"),
    )
    combos = lines[keys].drop_duplicates().reset_index(drop=True)
    priced = combos.assign(medicare_usd=fees.price(combos)["medicare_usd"].to_numpy())
    return lines[keys].merge(priced, on=keys, how="left")["medicare_usd"].to_numpy(float)


def _frame(
    chunks: Sequence[_Chunk],
    practices: pd.DataFrame,
    *,
    year: int,
    settings: SynthSettings,
) -> pd.DataFrame:
    """Canonical claim lines of ``chunks`` (priced), in chunk order."""
    book = _codebook()

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(c, name) for c in chunks]) if chunks else np.array([])

    sizes = np.array([len(c.cpt) for c in chunks], dtype=np.int64)
    practice = np.repeat(np.array([c.practice for c in chunks], dtype=np.int64), sizes)
    month = np.repeat(np.array([c.month for c in chunks], dtype=np.int64), sizes)
    claim_seq, patient = cat("claim_seq").astype(np.int64), cat("patient").astype(np.int64)
    payer = cat("payer").astype(np.int64)
    width = len(str(len(practices)))
    claim_num = ((practice + 1) * 100 + month) * 10_000_000 + claim_seq
    patient_num = (practice + 1) * 1_000_000_000 + patient
    pos = cat("pos").astype(np.int64)
    dx1, dx2 = cat("dx1").astype(np.int64), cat("dx2").astype(np.int64)
    dx = pd.Series(book.dx[dx1], dtype="str")
    dx = dx.where(dx2 == 0, dx + ";" + pd.Series(book.dx[dx2], dtype="str"))
    frame = pd.DataFrame(
        {
            "claim_id": "C" + pd.Series(claim_num, dtype="str").str.zfill(width + 9),
            "line_number": cat("line_number").astype(np.int64),
            "practice_id": pd.Series(
                practices["practice_id"].to_numpy()[practice], dtype="str"
            ),
            "patient_id": "P" + pd.Series(patient_num, dtype="str").str.zfill(width + 9),
            "service_date": (
                np.datetime64(f"{year}-01-01", "D") + cat("day").astype("timedelta64[D]")
            ).astype("datetime64[us]"),
            "cpt_code": pd.Series(book.cpt[cat("cpt").astype(np.int64)], dtype="str"),
            "modifiers": pd.Series(np.where(pos == 11, None, "26"), dtype="str"),
            "units": np.ones(len(practice), dtype=np.int64),
            "place_of_service": pd.Series(pos, dtype="str").str.zfill(2),
            "payer": pd.Series(np.asarray(PAYERS, dtype=object)[payer], dtype="str"),
            "diagnosis_codes": dx,
            "allowed_usd": np.zeros(len(practice)),
            "paid_usd": np.zeros(len(practice)),
            "rendering_npi": pd.Series(cat("npi").astype(np.int64), dtype="str"),
            "state": pd.Series(np.full(len(practice), "NC", dtype=object), dtype="str"),
        }
    )
    frame = frame.astype(_STRING_DTYPES)
    if not len(frame):
        return frame
    from analysis import fees

    multipliers = practices[[f"multiplier_{p.lower()}" for p in PAYERS]].to_numpy(float)
    noisy = np.isin(payer, [PAYERS.index(p) for p in ("BCBSNC", "OTHER_COMMERCIAL", "SELF_PAY")])
    noise = np.exp(np.where(noisy, cat("noise") * settings.line_noise_log_sd, 0.0))
    medicare = _price_medicare(frame)
    allowed = fees.round_cents(
        medicare * frame["units"].to_numpy() * multipliers[practice, payer] * noise
    )
    u = cat("patient_share")
    cumulative = np.cumsum([p for _, p in _COMMERCIAL_SHARE])
    commercial_share = np.asarray([s for s, _ in _COMMERCIAL_SHARE])[
        np.searchsorted(cumulative, u, side="right").clip(max=len(cumulative) - 1)
    ]
    patient_share = np.select(
        [payer == PAYERS.index("MEDICARE"), payer == PAYERS.index("MEDICAID"),
         payer == PAYERS.index("SELF_PAY")],
        [_MEDICARE_COINSURANCE, 0.0, 1.0],
        default=commercial_share,
    )  # fmt: skip
    paid = fees.round_cents(allowed * (1.0 - patient_share))
    # Practices whose extract carries no allowed or paid amounts (SynthSettings).
    no_amounts = ~practices["extract_has_allowed"].to_numpy(bool)[practice]
    return frame.assign(
        allowed_usd=np.where(no_amounts, np.nan, allowed),
        paid_usd=np.where(no_amounts, np.nan, paid),
    )


def _truth(practices: pd.DataFrame, chunks_counts: Sequence[tuple[int, dict]]) -> pd.DataFrame:
    counts = (
        pd.DataFrame([{"practice_number": p, **c} for p, c in chunks_counts])
        .groupby("practice_number")
        .sum()
        .reindex(practices["practice_number"], fill_value=0)
        .reset_index(drop=True)
    )
    out = pd.concat([practices.reset_index(drop=True), counts], axis=1)
    nononc = out["n_encounters"] - out["n_onc_encounters"]
    nononc_3d = out["n_encounters_3d"] - out["n_onc_encounters_3d"]
    return out.assign(
        rate_3d=out["n_encounters_3d"] / out["n_encounters"].where(out["n_encounters"] > 0),
        rate_3d_nononc=nononc_3d / nononc.where(nononc > 0),
        share_noncompliant_3d_lines=out["n_noncompliant_3d_lines"]
        / out["n_lines_3d"].where(out["n_lines_3d"] > 0),
        share_later_date_3d_lines=out["n_later_date_3d_lines"]
        / out["n_lines_3d"].where(out["n_lines_3d"] > 0),
    ).drop(columns=["practice_number", "npi_stems"])


_SUMMARY_COLUMNS = [
    "practice_id", "practice_type", "profile", "fte_radiologists", "n_encounters",
    "n_encounters_3d", "rate_3d", "true_rate_3d", "rate_3d_nononc", "p_3d_nononc",
    "oncology_share", "n_lines_3d", "share_noncompliant_3d_lines",
    "share_later_date_3d_lines",
]  # fmt: skip


@dataclass(frozen=True)
class Synthetic:
    """Synthetic claim lines and the true parameters of the practices behind them.

    Attributes
    ----------
    lines : DataFrame
        Canonical claim lines (:data:`CLAIM_COLUMNS`), ordered by practice, month and
        claim. Empty when the lines were streamed to a file (:func:`write_synthetic`).
    practices : DataFrame
        One row per practice: its drawn parameters (``practice_type``, ``profile``,
        ``fte_radiologists``, ``share_<payer>``, ``multiplier_<payer>``,
        ``oncology_share``, ``p_3d_nononc``, ``p_3d_onc``, ``true_rate_3d`` =
        ``oncology_share * p_3d_onc + (1 - oncology_share) * p_3d_nononc``,
        ``share_76377``, ``p_noncompliant``, ``p_later_date``, ...) and the realized
        counts of the generated lines (``n_encounters``, ``n_encounters_3d``,
        ``n_onc_encounters``, ``n_lines_3d``, ``n_noncompliant_3d_lines``,
        ``n_later_date_3d_lines``, ``n_orphan_3d_lines``, ...) with the rates
        ``rate_3d`` and ``rate_3d_nononc`` (encounter basis).
    year, scale : int, float
        Service year and volume factor (1 = full-size practices).
    settings : SynthSettings
    """

    lines: pd.DataFrame
    practices: pd.DataFrame
    year: int
    scale: float
    settings: SynthSettings

    @property
    def summary(self) -> pd.DataFrame:
        """Per-practice volumes, realized and true 3D rates, non-compliant and later shares."""
        return self.practices[_SUMMARY_COLUMNS]

    def _repr_html_(self) -> str:
        head = (
            f"<p>Synthetic NC claims, {self.year}: {len(self.practices)} practices, "
            f"{int(self.practices['n_lines'].sum()):,} lines, scale {self.scale:.4g}</p>"
        )
        return head + self.summary.to_html(index=False, float_format=lambda x: f"{x:.3f}")


def _check_args(n_practices: int, year: int, scale: float) -> None:
    if not isinstance(n_practices, (int, np.integer)) or n_practices < 1:
        raise InputError("must be a positive integer", column="n_practices", value=n_practices)
    if not 2022 <= year <= 2026:
        raise InputError(
            "the fee schedule covers service years 2022-2026", column="year", value=year
        )
    if not (np.isfinite(scale) and scale > 0):
        raise InputError("must be a positive number", column="scale", value=scale)


def generate(
    n_practices: int = 40,
    *,
    year: int = 2024,
    rng: np.random.Generator,
    scale: float = SAMPLE_SCALE,
    settings: SynthSettings | None = None,
) -> Synthetic:
    """Generate a year of synthetic claims for ``n_practices`` North Carolina practices.

    Parameters
    ----------
    n_practices : int
        Number of practices.
    year : int
        Service year (dates run from January 1 to December 31).
    rng : numpy.random.Generator
        The only source of randomness: the same seed gives identical lines.
    scale : float
        Volume factor, 1 = full-size practices (about 5,200 CT/MR studies per FTE
        radiologist a year); default :data:`SAMPLE_SCALE` (1/40), the bundled sample.
    settings : SynthSettings, optional
        The generator's assumptions.

    Returns
    -------
    Synthetic
        ``lines`` in the canonical claims schema and ``practices`` with the true
        parameters and realized counts.

    Examples
    --------
    >>> syn = generate(3, rng=np.random.default_rng(1), scale=0.01)
    >>> sorted(syn.lines["practice_id"].unique())
    ['NC001', 'NC002', 'NC003']
    """
    _check_args(n_practices, year, scale)
    settings = settings or SynthSettings()
    practices = _with_volume(_draw_practices(n_practices, rng, settings), scale)
    chunks = list(_iter_chunks(practices, year=year, rng=rng, settings=settings))
    lines = _frame(chunks, practices, year=year, settings=settings)
    truth = _truth(practices, [(c.practice, c.counts) for c in chunks])
    return Synthetic(lines=lines, practices=truth, year=year, scale=scale, settings=settings)


# ------------------------------------------------------------------ writing


def _arrow_schema():
    import pyarrow as pa

    types = {"line_number": pa.int64(), "units": pa.int64(), "service_date": pa.date32(),
             "allowed_usd": pa.float64(), "paid_usd": pa.float64()}  # fmt: skip
    return pa.schema([(c, types.get(c, pa.string())) for c in CLAIM_COLUMNS])


def to_arrow(lines: pd.DataFrame):
    """Claim lines as a ``pyarrow.Table`` with the canonical Parquet types.

    Codes and identifiers are strings, ``service_date`` a ``date32``, ``units`` and
    ``line_number`` ``int64``, amounts ``float64``.
    """
    import pyarrow as pa

    schema = _arrow_schema()
    arrays = []
    for f in schema:
        col = lines[f.name]
        if f.name == "service_date":
            values = pd.to_datetime(col).to_numpy().astype("datetime64[D]")
            arrays.append(pa.array(values, type=pa.date32()))
        elif pa.types.is_string(f.type):
            arrays.append(pa.array(col.astype(object).where(col.notna(), None), type=f.type))
        else:
            # from_pandas: a missing amount (NaN) is stored as a Parquet null.
            arrays.append(pa.array(col.to_numpy(), type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _csv_text(lines: pd.DataFrame, *, header: bool) -> str:
    out = lines.assign(service_date=pd.to_datetime(lines["service_date"]).dt.strftime("%Y-%m-%d"))
    return out.to_csv(index=False, header=header, float_format="%.2f", lineterminator="\n")


class _Sink:
    """Writes batches of claim lines to Parquet or (gzipped) CSV, atomically."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.writer = None
        self.handle = None
        self.n_lines = 0

    def __enter__(self) -> _Sink:
        import gzip

        _check_out(self.path)
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            self.writer = pq.ParquetWriter(self.tmp, _arrow_schema(), compression="zstd")
        else:
            raw = open(self.tmp, "wb")  # noqa: SIM115 - closed in __exit__
            self.raw = raw
            self.handle = (
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
                if self.path.name.endswith(".gz")
                else raw
            )
        return self

    def write(self, lines: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            self.writer.write_table(to_arrow(lines), row_group_size=max(1, len(lines)))
        else:
            text = _csv_text(lines, header=self.n_lines == 0)
            self.handle.write(text.encode("utf-8"))
        self.n_lines += len(lines)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.fmt == "parquet":
            self.writer.close()
        else:
            if self.handle is not self.raw:
                self.handle.close()
            self.raw.close()
        if exc_type is None:
            self.tmp.replace(self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def _check_out(path: Path) -> None:
    if not path.parent.is_dir():
        raise InputError("the output folder does not exist; create it first", file=path)


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is None:
        fmt = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
    if fmt not in ("parquet", "csv"):
        raise InputError("format must be 'parquet' or 'csv'", file=path, value=fmt)
    return fmt


def write_synthetic(
    path: str | PathLike[str],
    n_practices: int = 40,
    *,
    year: int = 2024,
    rng: np.random.Generator,
    scale: float = SAMPLE_SCALE,
    settings: SynthSettings | None = None,
    format: str | None = None,
    truth: str | PathLike[str] | None = None,
    batch_lines: int = 250_000,
) -> Synthetic:
    """Stream synthetic claims to a Parquet or CSV file in bounded memory.

    The lines are exactly those of :func:`generate` with the same arguments and
    seed; they are produced practice-month by practice-month and written in batches
    of about ``batch_lines`` lines (one Parquet row group each), so memory stays
    bounded however large ``scale`` is.

    Parameters
    ----------
    path : path
        Output file; ``.parquet`` gives Parquet (zstd), anything else CSV, gzipped
        when the name ends with ``.gz``. Written to a temporary file and renamed.
    n_practices, year, rng, scale, settings
        As in :func:`generate`.
    format : {"parquet", "csv"}, optional
        Overrides the format implied by the file name.
    truth : path, optional
        Where to write the practices' true parameters and realized counts (CSV).
    batch_lines : int
        Lines per written batch.

    Returns
    -------
    Synthetic
        With empty ``lines`` and the full ``practices`` table.
    """
    _check_args(n_practices, year, scale)
    if batch_lines < 1:
        raise InputError("must be >= 1", column="batch_lines", value=batch_lines)
    path = Path(path)
    fmt = _format_of(path, format)
    for out in (path, truth):
        if out is not None:
            _check_out(Path(out))
    settings = settings or SynthSettings()
    practices = _with_volume(_draw_practices(n_practices, rng, settings), scale)
    counts: list[tuple[int, dict]] = []
    pending: list[_Chunk] = []
    n_pending = 0
    with _Sink(path, fmt) as sink:
        for chunk in _iter_chunks(practices, year=year, rng=rng, settings=settings):
            counts.append((chunk.practice, chunk.counts))
            pending.append(chunk)
            n_pending += len(chunk.cpt)
            if n_pending >= batch_lines:
                sink.write(_frame(pending, practices, year=year, settings=settings))
                pending, n_pending = [], 0
        if pending or sink.n_lines == 0:
            sink.write(_frame(pending, practices, year=year, settings=settings))
    truth_frame = _truth(practices, counts)
    if truth is not None:
        write_truth(truth_frame, truth)
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in CLAIM_COLUMNS})
    return Synthetic(lines=empty, practices=truth_frame, year=year, scale=scale,
                     settings=settings)  # fmt: skip


def write_truth(practices: pd.DataFrame, path: str | PathLike[str]) -> None:
    """Write the practices' true parameters as CSV (atomically)."""
    path = Path(path)
    _check_out(path)
    tmp = path.with_name(f".{path.name}.tmp")
    practices.to_csv(tmp, index=False, float_format="%.6g", lineterminator="\n")
    tmp.replace(path)


def write_lines(
    lines: pd.DataFrame, path: str | PathLike[str], *, format: str | None = None
) -> None:
    """Write claim lines to Parquet or (gzipped) CSV exactly as :func:`write_synthetic` does."""
    path = Path(path)
    with _Sink(path, _format_of(path, format)) as sink:
        sink.write(lines)


# ------------------------------------------------------------------- damage

REPAIR_KINDS: tuple[str, ...] = (
    "numeric_suffix_dropped",  # 74177 saved as a number: "74177.0"
    "whitespace_stripped",  # " 74177 " (padding around the code)
    "upper_cased",  # payer "bcbsnc"
    "pos_zero_padded",  # POS "2" for "02"
    "npi_scientific",  # NPI "1.234567893E+09" (all ten digits kept: exact)
    "amount_currency_format",  # allowed "$1,234.50"
    "date_us_format",  # service date "01/31/2024"
)
QUARANTINE_REASONS: tuple[str, ...] = (
    "missing_required",
    "invalid_cpt",
    "bad_date",
    "units_not_positive",
    "negative_amount",
    "invalid_npi_check_digit",
    "duplicate_line",
)


@dataclass(frozen=True)
class DamageRates:
    """Shares of lines given each kind of damage (each damaged line gets one kind).

    Repairs (``numeric_suffix_dropped`` ... ``date_us_format``, see :data:`REPAIR_KINDS`) are damage
    that loading must undo; quarantine reasons (:data:`QUARANTINE_REASONS`) are
    damage that loading must reject. ``duplicate_line`` adds exact copies of that
    share of lines. ``bom`` and ``crlf`` damage the whole file (a UTF-8 byte-order
    mark; Windows line ends). Counts are ``round(rate * n_lines)``, exactly.
    """

    numeric_suffix_dropped: float = 0.02
    whitespace_stripped: float = 0.02
    upper_cased: float = 0.02
    pos_zero_padded: float = 0.005
    npi_scientific: float = 0.02
    amount_currency_format: float = 0.03
    date_us_format: float = 0.10
    missing_required: float = 0.002
    invalid_cpt: float = 0.002
    bad_date: float = 0.002
    units_not_positive: float = 0.002
    negative_amount: float = 0.002
    invalid_npi_check_digit: float = 0.002
    duplicate_line: float = 0.003
    bom: bool = True
    crlf: bool = True

    def __post_init__(self) -> None:
        total = 0.0
        for name in REPAIR_KINDS + QUARANTINE_REASONS:
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InputError("damage rate must be in [0, 1]", column=name, value=value)
            total += value
        if total > 1:
            raise InputError("damage rates must sum to at most 1", value=round(total, 6))

    def to_dict(self) -> dict:
        """Plain-Python form for manifests."""
        return asdict(self)


@dataclass(frozen=True)
class Damage:
    """A damaged copy of claim lines and what loading it must report.

    Attributes
    ----------
    frame : DataFrame
        The damaged file's content, every column text, in file order (duplicates
        follow their original).
    clean : DataFrame
        The lines loading must accept, repaired (canonical schema, file order).
    expected : dict
        ``rows_read``, ``rows_accepted``, ``rows_quarantined``; ``quarantined``
        {reason: rows}; ``repairs`` {kind: rows, or files for ``bom`` and ``crlf``};
        ``allowed_usd`` and ``paid_usd``, each {``read_cents``, ``accepted_cents``,
        ``quarantined_cents``} (read = accepted + quarantined; a negative amount counts
        with its sign). Names as in ``analysis.claims`` (``REPAIRS``,
        ``QUARANTINE_REASONS``, ``AmountTotals``).
    rows : DataFrame
        One row per file row: ``row`` (1-based data row), ``source_index`` (row of
        the input lines), ``damage`` (kind or reason, "" when undamaged),
        ``quarantined`` (bool).
    """

    frame: pd.DataFrame
    clean: pd.DataFrame
    expected: dict
    rows: pd.DataFrame
    rates: DamageRates

    @property
    def summary(self) -> pd.DataFrame:
        """Expected counts: one row per repair kind and quarantine reason."""
        e = self.expected
        return pd.DataFrame(
            [("repair", k, v) for k, v in e["repairs"].items()]
            + [("quarantine", k, v) for k, v in e["quarantined"].items()],
            columns=["outcome", "kind", "rows"],
        )

    def _repr_html_(self) -> str:
        e = self.expected
        head = (
            f"<p>Damaged claims: {e['rows_read']:,} rows read, {e['rows_accepted']:,} "
            f"accepted, {e['rows_quarantined']:,} quarantined</p>"
        )
        return head + self.summary.to_html(index=False)


def _text(lines: pd.DataFrame) -> pd.DataFrame:
    """Every column as the text a clean CSV export would hold."""
    out = {}
    for c in CLAIM_COLUMNS:
        col = lines[c]
        if c == "service_date":
            text = pd.to_datetime(col).dt.strftime("%Y-%m-%d")
        elif c in ("allowed_usd", "paid_usd"):
            text = col.map(lambda x: "" if pd.isna(x) else f"{x:.2f}")
        else:
            text = col.astype("str")
        out[c] = text.astype(object).where(col.notna(), "").to_numpy()
    return pd.DataFrame(out)


def damage(
    lines: pd.DataFrame, *, rng: np.random.Generator, rates: DamageRates | None = None
) -> Damage:
    """Damage claim lines the way billing exports do, at exactly known rates.

    Each chosen line receives one kind of damage; no line receives two, so the
    expected counts are unambiguous. Repairs: codes saved as numbers (``74177.0``),
    padding spaces, a lower-case payer, POS ``2`` for ``02`` (such lines are first
    set to POS 02, telehealth, a facility setting like their original POS, since the
    generator bills no POS with a leading zero), NPIs in exact scientific notation,
    ``$1,234.50`` amounts, ``MM/DD/YYYY`` dates. Quarantine: a blank patient_id,
    payer or practice_id (``missing_required``), malformed CPT codes (``741770``,
    ``74 177``), impossible dates (``2024-02-30``, ``13/45/2024``), zero units, a
    negated allowed amount, an NPI with a wrong check digit, exact duplicate lines.

    Parameters
    ----------
    lines : DataFrame
        Canonical claim lines with unique (claim_id, line_number), e.g.
        ``generate(...).lines``.
    rng : numpy.random.Generator
    rates : DamageRates, optional

    Returns
    -------
    Damage
        The damaged frame, the lines loading must accept, and the expected report.
    """
    rates = rates or DamageRates()
    missing = [c for c in CLAIM_COLUMNS if c not in lines.columns]
    if missing:
        raise InputError("claim lines lack columns", column=", ".join(missing))
    repeated = lines.duplicated(["claim_id", "line_number"])
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0])
        raise InputError(
            "lines to damage must have unique (claim_id, line_number); expected counts "
            "would be ambiguous",
            row=row + 1,
            column="claim_id, line_number",
            value=f"{lines['claim_id'].iloc[row]}, {lines['line_number'].iloc[row]}",
        )
    n = len(lines)
    base = lines.loc[:, list(CLAIM_COLUMNS)].reset_index(drop=True)
    facility = ~base["place_of_service"].eq("11").fillna(False).to_numpy()
    kinds = [k for k in REPAIR_KINDS + QUARANTINE_REASONS if k != "duplicate_line"]
    n_dup = int(round(rates.duplicate_line * n))
    # Assign disjoint rows: POS damage needs facility lines, NPI damage needs an NPI,
    # amount damage needs an amount; then the rest; duplicates copy undamaged lines.
    # The rate of a kind that needs a field applies to the lines that have it.
    order = rng.permutation(n)
    assigned = np.full(n, "", dtype=object)
    needs = {
        "pos_zero_padded": facility,
        "npi_scientific": base["rendering_npi"].notna().to_numpy(),
        "invalid_npi_check_digit": base["rendering_npi"].notna().to_numpy(),
        "negative_amount": (base["allowed_usd"].fillna(0) > 0).to_numpy(),
        "amount_currency_format": base["allowed_usd"].notna().to_numpy(),
    }
    n_kind = {
        k: int(round(getattr(rates, k) * (int(needs[k].sum()) if k in needs else n)))
        for k in kinds
    }
    for kind in sorted(kinds, key=lambda k: k not in needs):
        # A fresh order per kind: with one shared order, the rows an earlier kind
        # skipped for lacking a field would be the first a later kind takes.
        order_k = rng.permutation(n)
        ok = needs.get(kind, np.ones(n, dtype=bool))[order_k] & (assigned[order_k] == "")
        chosen = order_k[ok][: n_kind[kind]]
        if len(chosen) < n_kind[kind]:
            raise InputError(f"too few eligible lines for {n_kind[kind]} '{kind}'", value=n)
        assigned[chosen] = kind
    free = order[assigned[order] == ""]
    dup_source = np.sort(free[:n_dup])

    text = _text(base)
    clean = base.copy()
    pick = {k: np.flatnonzero(assigned == k) for k in kinds}

    def rewrite(kind: str, column: str, *forms: Callable[[str], str]) -> None:
        """Replace the text ``v`` of ``kind``'s rows by one of ``forms(v)``, at random."""
        rows = pick[kind]
        choice = rng.integers(0, len(forms), len(rows))
        text.loc[rows, column] = [
            forms[c](v) for c, v in zip(choice, text.loc[rows, column], strict=True)
        ]

    # Repairable damage.
    rewrite("numeric_suffix_dropped", "cpt_code", lambda v: f"{v}.0")
    rewrite("whitespace_stripped", "cpt_code",
            lambda v: f" {v}", lambda v: f"{v} ", lambda v: f"  {v}  ")  # fmt: skip
    text.loc[pick["upper_cased"], "payer"] = text.loc[pick["upper_cased"], "payer"].str.lower()
    clean.loc[pick["pos_zero_padded"], "place_of_service"] = "02"
    text.loc[pick["pos_zero_padded"], "place_of_service"] = "2"
    rewrite("npi_scientific", "rendering_npi", lambda v: f"{v[0]}.{v[1:]}E+09")
    rows = pick["amount_currency_format"]
    text.loc[rows, "allowed_usd"] = [f"${x:,.2f}" for x in base.loc[rows, "allowed_usd"]]
    rows = pick["date_us_format"]
    text.loc[rows, "service_date"] = base.loc[rows, "service_date"].dt.strftime("%m/%d/%Y")
    # Damage to quarantine.
    for row, col in zip(
        pick["missing_required"],
        rng.choice(["patient_id", "payer", "practice_id"], len(pick["missing_required"])),
        strict=True,
    ):
        text.loc[row, col] = ""
    rewrite("invalid_cpt", "cpt_code",
            lambda v: f"{v}0", lambda v: f"{v[:2]} {v[2:]}", lambda v: f"{v[0]}-{v[1:]}")
    bad_dates = ("2024-02-30", "13/45/2024", "2024-00-10", "not recorded")
    rewrite("bad_date", "service_date", *(lambda v, d=d: d for d in bad_dates))
    text.loc[pick["units_not_positive"], "units"] = "0"
    rewrite("negative_amount", "allowed_usd", lambda v: f"-{v}")  # fmt: skip
    rows = pick["invalid_npi_check_digit"]
    shift = rng.integers(1, 10, len(rows))  # any other last digit fails the check
    text.loc[rows, "rendering_npi"] = [
        v[:9] + str((int(v[9]) + k) % 10)
        for v, k in zip(text.loc[rows, "rendering_npi"], shift, strict=True)
    ]

    # File order: each duplicate right after its original.
    repeat = np.ones(n, dtype=int)
    repeat[dup_source] = 2
    file_index = np.repeat(np.arange(n), repeat)
    is_dup = np.zeros(len(file_index), dtype=bool)
    is_dup[np.flatnonzero(np.diff(file_index) == 0) + 1] = True
    frame = text.iloc[file_index].reset_index(drop=True)
    damage_of_row = np.where(is_dup, "duplicate_line", assigned[file_index])
    quarantined = np.isin(damage_of_row, QUARANTINE_REASONS)
    rows = pd.DataFrame({
        "row": np.arange(1, len(file_index) + 1),
        "source_index": file_index,
        "damage": damage_of_row.astype(str),
        "quarantined": quarantined,
    })  # fmt: skip

    # Dollars in whole cents, as read from the file (a negated amount with its sign).
    def cents(column: str) -> np.ndarray:
        values = np.nan_to_num(base[column].to_numpy(float))[file_index]
        if column == "allowed_usd":
            values = np.where(damage_of_row == "negative_amount", -values, values)
        return np.rint(values * 100).astype(np.int64)

    keep = ~np.isin(assigned, QUARANTINE_REASONS)
    expected = {
        "rows_read": len(file_index),
        "rows_accepted": int((~quarantined).sum()),
        "rows_quarantined": int(quarantined.sum()),
        "quarantined": {r: int((damage_of_row == r).sum()) for r in QUARANTINE_REASONS},
        "repairs": {
            **({"bom": 1} if rates.bom else {}),
            **({"crlf": 1} if rates.crlf else {}),
            **{k: len(pick[k]) for k in REPAIR_KINDS},
        },
    }
    for column in ("allowed_usd", "paid_usd"):
        c = cents(column)
        expected[column] = {
            "read_cents": int(c.sum()),
            "accepted_cents": int(c[~quarantined].sum()),
            "quarantined_cents": int(c[quarantined].sum()),
        }
    return Damage(
        frame=frame,
        clean=clean.loc[keep].reset_index(drop=True),
        expected=expected,
        rows=rows,
        rates=rates,
    )


def write_damaged(result: Damage, path: str | PathLike[str]) -> None:
    """Write a damaged frame as CSV (gzipped for ``.gz``), with its BOM and CRLF damage.

    Deterministic bytes: the gzip header carries no file name or time.
    """
    import gzip

    path = Path(path)
    _check_out(path)
    terminator = "\r\n" if result.rates.crlf else "\n"
    text = result.frame.to_csv(index=False, lineterminator=terminator)
    data = (("\ufeff" if result.rates.bom else "") + text).encode("utf-8")
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def read_lines(path: str | PathLike[str]) -> pd.DataFrame:
    """Read lines written by :func:`write_synthetic` back into the in-memory form.

    For the generator's own files only (no validation); user files go through
    ``analysis.claims.load_claims``.
    """
    path = Path(path)
    if _format_of(path, None) == "parquet":
        import pyarrow.parquet as pq

        frame = pq.read_table(path).to_pandas(date_as_object=False)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        frame = frame.astype({"line_number": "int64", "units": "int64",
                              "allowed_usd": "float64", "paid_usd": "float64"})  # fmt: skip
    dates = pd.to_datetime(frame["service_date"]).astype("datetime64[us]")
    return frame.assign(service_date=dates).astype(_STRING_DTYPES).loc[:, list(CLAIM_COLUMNS)]
