"""The generator's model: its settings, payers, study templates and code tables.

:class:`SynthSettings` holds the assumptions a user may vary (sizes, volumes, payer
mix, prices, shares of practice types and profiles); the study templates and the
diagnosis tables below are fixed. :func:`codebook` turns them into the integer-coded
arrays the vectorised generator indexes into. The sources of every number are in the
:mod:`analysis.synth` docstring; [A] marks an assumption rather than a published figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache

import numpy as np

from analysis import codes
from analysis.errors import InputError

__all__ = [
    "PAYERS",
    "PRACTICE_TYPES",
    "PROFILES",
    "SAMPLE_SCALE",
    "SAMPLE_SCALE_2023_2025",
    "Codebook",
    "SynthSettings",
    "codebook",
]

SAMPLE_SCALE = 1 / 40
"""Volume factor of the bundled sample: 1/40 of full-size practice volumes."""
SAMPLE_SCALE_2023_2025 = 1 / 80
"""Volume factor of the bundled three-year sample (``--volume-scale 0.0125``): half the
one-year sample's, so that three years make a file of comparable size."""

PAYERS: tuple[str, ...] = ("MEDICARE", "BCBSNC", "MEDICAID", "OTHER_COMMERCIAL", "SELF_PAY")
"""The payers of the synthetic claims, in the order of the settings' payer tuples."""
PRACTICE_TYPES: tuple[str, ...] = ("hospital", "imaging_center", "mixed")
"""Practice types, in the order of :attr:`SynthSettings.type_shares`."""
PROFILES: tuple[str, ...] = ("typical", "high_3d", "oncology_heavy")
"""3D rendering profiles, in the order of :attr:`SynthSettings.profile_shares`."""



@dataclass(frozen=True)
class SynthSettings:
    """Assumptions of the generator (see the :mod:`analysis.synth` docstring for their sources).

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


@dataclass(frozen=True)
class Codebook:
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
def codebook() -> Codebook:
    """The templates and diagnosis tables as integer-coded arrays (computed once).

    Checks them against the reference code sets: every template code is in the CT/MR
    set, no 3D template holds a "do not report with" code, and every angiography
    template does.
    """
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
    return Codebook(
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

