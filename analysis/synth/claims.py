"""Generating the claim lines: practice by practice, month by month, then priced.

Each practice's lines are drawn month by month (one practice-month as integer-coded
arrays), from a child generator per practice and a grandchild per month, so the
lines of a practice-month depend on nothing else: :func:`generate` holds them all in
memory, :func:`generate_batches` hands them out in batches (for
:func:`analysis.synth.write_synthetic`), and both give identical lines for the same
seed. Lines are priced with the Medicare fee schedule (:func:`analysis.pricing.price`)
times the payer's multiplier.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date

import numpy as np
import pandas as pd

from analysis import pricing
from analysis.errors import InputError
from analysis.npi import with_check_digit
from analysis.schema import CANONICAL_COLUMNS, STRING_COLUMNS
from analysis.synth.model import PAYERS, SAMPLE_SCALE, SynthSettings, codebook
from analysis.synth.practices import draw_practices, with_volume
from analysis.synth.years import (
    FIRST_YEAR,
    LAST_YEAR,
    MonthStop,
    PolicyResponse,
    SpanSettings,
    check_years,
    draw_span,
    span_months,
)

__all__ = [
    "Synthetic",
    "check_args",
    "check_span_args",
    "generate",
    "generate_batches",
    "generate_years",
    "generate_years_batches",
]

_FACILITY_POS = (("22", 0.45), ("23", 0.25), ("21", 0.20), ("19", 0.10))

_P_INDICATED = 0.06  # non-oncology encounters without 3D carrying an indication code
_P_SECOND_DX = 0.30
_COMMERCIAL_SHARE = ((0.0, 0.15), (0.2, 0.60), (1.0, 0.25))  # (patient share, prob.)
_MEDICARE_COINSURANCE = 0.20
_WEEKEND_WEIGHT = 0.35
_MAX_LAG_DAYS = 5

# The canonical dtypes of analysis.schema: pandas "string" (missing = pd.NA) for codes
# and identifiers, int64 counts, datetime64[us] dates, float64 dollars.
_STRING_DTYPES = dict.fromkeys(STRING_COLUMNS, "string")


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
    book = codebook()
    mix = np.array([row[f"share_{p.lower()}"] for p in PAYERS])
    expected = float(row["expected_encounters"])
    n_pool = max(1, math.ceil(expected / settings.visits_per_patient))
    patient_payer = rng.choice(len(PAYERS), size=n_pool, p=mix / mix.sum())
    base_w = rng.dirichlet(book.base_weight * 200 + 1e-3)
    w3 = book.weight_3d * rng.uniform(0.5, 1.5, len(book.weight_3d))
    w3 = w3 / w3.sum()
    npis = with_check_digit(np.asarray(row["npi_stems"]))
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


def _practice_span_chunks(
    row: Mapping,
    *,
    years: tuple[int, int],
    rng: np.random.Generator,
    settings: SynthSettings,
    span: SpanSettings,
    response: PolicyResponse | None,
) -> Iterator[_Chunk]:
    """The lines of one practice over a span of years, month by month.

    As :func:`_practice_chunks`, with each month's volume moved by the practice's
    growth and the quarter's seasonality, its 3D propensities by the common trend, a
    pool of patients per year, and the policy response (:mod:`analysis.synth.years`).
    Months outside the practice's active months have no lines. A chunk's ``month`` is
    its 1-based month of the span and its days count from January 1 of the first year.
    """
    book = codebook()
    first_year = years[0]
    mix = np.array([row[f"share_{p.lower()}"] for p in PAYERS])
    expected = float(row["expected_encounters"])
    growth = 1.0 + float(row["growth_per_year"])
    pools = [
        rng.choice(len(PAYERS), p=mix / mix.sum(), size=max(1, math.ceil(
            expected * growth ** (k + 0.5) / settings.visits_per_patient)))
        for k in range(years[1] - first_year + 1)
    ]
    base_w = rng.dirichlet(book.base_weight * 200 + 1e-3)
    w3 = book.weight_3d * rng.uniform(0.5, 1.5, len(book.weight_3d))
    w3 = w3 / w3.sum()
    npis = with_check_digit(np.asarray(row["npi_stems"]))
    facility_pos = np.array([int(p) for p, _ in _FACILITY_POS])
    facility_p = np.array([w for _, w in _FACILITY_POS])
    months = span_months(years)
    month_rngs, stop_rngs = rng.spawn(len(months)), rng.spawn(len(months))
    if response is not None:
        stop_payer = PAYERS.index(response.payer)
        stop_day = (response.effective_date - date(first_year, 1, 1)).days
    # Patients are numbered across the span: each year's pool, then its orphans.
    pool_start = n_orphans = 0
    for k, ((year, month, offset), month_rng, stop_rng) in enumerate(
        zip(months, month_rngs, stop_rngs, strict=True)
    ):
        pool = pools[year - first_year]
        if month == 1 and k:
            pool_start += len(pools[year - first_year - 1]) + n_orphans
            n_orphans = 0
        if not row["first_month"] <= k <= row["last_month"]:
            continue
        days, day_w = _month_days(year, month)
        trend = (1.0 + span.trend_3d) ** (k / 12)
        chunk = _month_chunk(
            {**row, "p_3d_onc": min(row["p_3d_onc"] * trend, 0.95),
             "p_3d_nononc": min(row["p_3d_nononc"] * trend, 0.95)},
            rng=month_rng,
            month=k + 1,
            days=days + offset,
            day_p=day_w / day_w.sum(),
            n_expected=expected * growth ** (k / 12) * span.seasonality[(month - 1) // 3]
            * day_w.sum() / _year_weight(year),
            patient_payer=pool,
            base_w=base_w,
            w3=w3,
            npis=npis,
            facility_pos=facility_pos,
            facility_p=facility_p,
            first_orphan=len(pool) + n_orphans,
            p_orphan=settings.p_orphan,
            stop=None if response is None else MonthStop(
                share=float(row["stop_share"]), payer=stop_payer, first_day=stop_day,
                rng=stop_rng),
        )  # fmt: skip
        n_orphans += chunk.counts["n_orphan_3d_lines"] + chunk.counts.get(
            "n_response_orphan_3d_lines_stopped", 0)
        yield replace(chunk, patient=chunk.patient + pool_start)


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
    stop: MonthStop | None = None,
) -> _Chunk:
    """One practice-month: its encounters, studies, 3D lines and orphans, drawn from ``rng``.

    With a ``stop`` (a policy response, :mod:`analysis.synth.years`) the month is drawn
    exactly as without it, then the 3D lines of the renderings stopped are removed:
    the stopped encounters keep their studies and diagnoses, and ``counts`` count the
    lines that remain, plus the response's own counts.
    """
    book = codebook()
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
    later = has3d & ~noncompliant & (u[:, 6] < row["p_separate_date"])
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

    # A policy response: renderings (dated by the 3D line) stopped, from draws of its own.
    stopped, o_stopped = np.zeros(n, dtype=bool), np.zeros(n_orphan, dtype=bool)
    if stop is not None:
        at_risk = (patient_payer[enc_patient] == stop.payer) & (enc_day + lag >= stop.first_day)
        stopped = has3d & at_risk & (stop.rng.random(n) < stop.share)
        o_stopped = ((o_payer == stop.payer) & (o_day >= stop.first_day)
                     & (stop.rng.random(n_orphan) < stop.share))  # fmt: skip
    kept = ~stopped
    kept_3d = has3d & kept
    n_kept_orphan = n_orphan - int(o_stopped.sum())
    n_kept_main = n_main - int((stopped * n3d).sum())
    counts = {
        "n_encounters": n,
        "n_encounters_3d": int(kept_3d.sum()),
        "n_onc_encounters": int(onc.sum()),
        "n_onc_encounters_3d": int((onc & kept_3d).sum()),
        "n_nononc_indicated_encounters": int(indicated.sum()),
        "n_lines": n_kept_main + n_kept_orphan,
        "n_ct_mr_lines": int(n_studies.sum()),
        "n_angiography_encounters_3d": int((nc_angio & kept).sum()),
        "n_3d_lines": int((n3d * kept).sum()) + n_kept_orphan,
        "units_3d_76376": int((kept_3d & (code_a == book.code_76376)).sum())
        + int((~o_stopped & ~o_77).sum()),
        "units_3d_76377": int((kept_3d & (code_a == book.code_76377)).sum())
        + int((nc_both & kept).sum())
        + int((~o_stopped & o_77).sum()),
        # Of a 76376 + 76377 pair only the 76376 line is non-compliant (the claim is
        # corrected by dropping the lesser service; see analysis.encounters).
        "n_noncompliant_3d_lines": int(((nc_angio | nc_both) & kept).sum()),
        "n_separate_date_3d_lines": int((later & kept).sum()),
        "n_orphan_3d_lines": n_kept_orphan,
    }
    if stop is not None:
        would = has3d & at_risk
        counts |= {
            "n_response_encounters": int(at_risk.sum()),
            "n_response_encounters_3d_would": int(would.sum()),
            "n_response_encounters_3d_stopped": int(stopped.sum()),
            "n_response_nononc_encounters_3d_would": int((would & ~onc).sum()),
            "n_response_nononc_encounters_3d_stopped": int((stopped & ~onc).sum()),
            "n_response_3d_lines_stopped": int((stopped * n3d).sum() + o_stopped.sum()),
            "n_response_orphan_3d_lines_stopped": int(o_stopped.sum()),
        }
    chunk = _Chunk(
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
    if stop is None:
        return chunk
    # Drop the 3D lines of stopped renderings: same-day ones sit after their encounter's
    # studies, later-date ones on claims of their own, orphans last.
    is_3d = np.concatenate([~is_study, np.ones(len(later_enc), dtype=bool)])
    keep = np.concatenate([~(is_3d & stopped[line_enc]), ~o_stopped])
    return _take(chunk, keep)


def _take(chunk: _Chunk, keep: np.ndarray) -> _Chunk:
    """``chunk`` with only the lines where ``keep`` is true."""
    arrays = {f.name: getattr(chunk, f.name)[keep] for f in fields(chunk)
              if isinstance(getattr(chunk, f.name), np.ndarray)}  # fmt: skip
    return replace(chunk, **arrays)


# ------------------------------------------------------------------ frames


def _iter_chunks(
    practices: pd.DataFrame, *, year: int, rng: np.random.Generator, settings: SynthSettings
) -> Iterator[_Chunk]:
    """Every practice-month, practice by practice, each practice on its own child generator."""
    for (_, row), practice_rng in zip(
        practices.iterrows(), rng.spawn(len(practices)), strict=True
    ):
        yield from _practice_chunks(row, year=year, rng=practice_rng, settings=settings)


def _price_medicare(frame: pd.DataFrame) -> np.ndarray:
    """Medicare PFS price per unit of each line (NaN where not payable)."""
    keys = ["cpt_code", "component", "setting", "state", "service_date"]
    lines = frame.assign(
        component=np.where(frame["modifiers"].eq("26").fillna(False), "26", "global"),
        setting=np.where(frame["place_of_service"].eq("11"), "non_facility", "facility"),
    )
    combos = lines[keys].drop_duplicates().reset_index(drop=True)
    medicare = pricing.price(combos, *pricing.bundled_schedule())["medicare_usd"]
    priced = combos.assign(medicare_usd=medicare.to_numpy())
    return lines[keys].merge(priced, on=keys, how="left")["medicare_usd"].to_numpy(float)


def _frame(
    chunks: Sequence[_Chunk],
    practices: pd.DataFrame,
    *,
    year: int,
    settings: SynthSettings,
) -> pd.DataFrame:
    """Canonical claim lines of ``chunks`` (priced), in chunk order."""
    book = codebook()

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
    multipliers = practices[[f"multiplier_{p.lower()}" for p in PAYERS]].to_numpy(float)
    noisy = np.isin(payer, [PAYERS.index(p) for p in ("BCBSNC", "OTHER_COMMERCIAL", "SELF_PAY")])
    noise = np.exp(np.where(noisy, cat("noise") * settings.line_noise_log_sd, 0.0))
    medicare = _price_medicare(frame)
    allowed = pricing.round_cents(
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
    paid = pricing.round_cents(allowed * (1.0 - patient_share))
    # Practices whose extract carries no allowed or paid amounts (SynthSettings).
    no_amounts = ~practices["extract_has_allowed"].to_numpy(bool)[practice]
    return frame.assign(
        allowed_usd=np.where(no_amounts, np.nan, allowed),
        paid_usd=np.where(no_amounts, np.nan, paid),
    )


def _truth(practices: pd.DataFrame, chunks_counts: Sequence[tuple[int, dict]]) -> pd.DataFrame:
    """The practices' true parameters with the counts realized in their chunks."""
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
        / out["n_3d_lines"].where(out["n_3d_lines"] > 0),
        share_separate_date_3d_lines=out["n_separate_date_3d_lines"]
        / out["n_3d_lines"].where(out["n_3d_lines"] > 0),
    ).drop(columns=["practice_number", "npi_stems"])


def _span_truth(practices: pd.DataFrame, chunks_counts: Sequence[tuple[int, dict]]) -> pd.DataFrame:
    """:func:`_truth` of a multi-year run, with the response realized where there is one.

    ``realized_stop_share`` is the share of the policy payer's renderings on or after
    the effective date that were stopped; ``realized_stop_share_nononc`` the same among
    non-oncology encounters (the basis ``analysis.response`` measures).
    """
    out = _truth(practices, chunks_counts).drop(columns=["first_month", "last_month"])
    if "n_response_encounters_3d_would" not in out.columns:
        return out
    would, would_nononc = (out[f"n_response{b}_encounters_3d_would"] for b in ("", "_nononc"))
    return out.assign(
        realized_stop_share=out["n_response_encounters_3d_stopped"] / would.where(would > 0),
        realized_stop_share_nononc=out["n_response_nononc_encounters_3d_stopped"]
        / would_nononc.where(would_nononc > 0),
    )


_SUMMARY_COLUMNS = [
    "practice_id", "practice_type", "profile", "fte_radiologists", "n_encounters",
    "n_encounters_3d", "rate_3d", "true_rate_3d", "rate_3d_nononc", "p_3d_nononc",
    "oncology_share", "n_3d_lines", "share_noncompliant_3d_lines",
    "share_separate_date_3d_lines",
]  # fmt: skip


@dataclass(frozen=True)
class Synthetic:
    """Synthetic claim lines and the true parameters of the practices behind them.

    Attributes
    ----------
    lines : DataFrame
        Canonical claim lines (:data:`analysis.schema.CANONICAL_COLUMNS`), ordered by
        practice, month and claim. Empty when the lines were streamed to a file
        (:func:`analysis.synth.write_synthetic`).
    practices : DataFrame
        One row per practice: its drawn parameters (``practice_type``, ``profile``,
        ``fte_radiologists``, ``share_<payer>``, ``multiplier_<payer>``,
        ``oncology_share``, ``p_3d_nononc``, ``p_3d_onc``, ``true_rate_3d`` =
        ``oncology_share * p_3d_onc + (1 - oncology_share) * p_3d_nononc``,
        ``share_76377``, ``p_noncompliant``, ``p_separate_date``, ...) and the realized
        counts of the generated lines (``n_encounters``, ``n_encounters_3d``,
        ``n_onc_encounters``, ``n_3d_lines``, ``n_noncompliant_3d_lines``,
        ``n_separate_date_3d_lines``, ``n_orphan_3d_lines``, ...) with the rates
        ``rate_3d`` and ``rate_3d_nononc`` (encounter basis).
        A multi-year run adds each practice's ``growth_per_year``, ``active_from``
        and ``active_to`` (first and last day of the months it bills), ``stop_share``
        (its true response, 0 without one) and, with a response, its realized counts
        (``n_response_encounters``: the policy payer's encounters on or after the
        effective date; ``n_response_encounters_3d_would``: of them, with a rendering
        before the response; ``n_response_encounters_3d_stopped``; the same for
        non-oncology encounters; ``n_response_3d_lines_stopped``, of which
        ``n_response_orphan_3d_lines_stopped`` orphan lines) and shares
        (``realized_stop_share``, ``realized_stop_share_nononc``).
    year, scale : int, float
        Service year (the first of a multi-year run) and volume factor (1 = full-size
        practices).
    settings : SynthSettings
    years : (int, int) or None
        First and last service year of a multi-year run (:func:`generate_years`).
    span : SpanSettings or None
        Its seasonality, growth, trend, entry and exit.
    response : PolicyResponse or None
        Its policy response.
    """

    lines: pd.DataFrame
    practices: pd.DataFrame
    year: int
    scale: float
    settings: SynthSettings
    years: tuple[int, int] | None = None
    span: SpanSettings | None = None
    response: PolicyResponse | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """Per-practice volumes, realized and true 3D rates, non-compliant and later shares."""
        return self.practices[_SUMMARY_COLUMNS]

    def _repr_html_(self) -> str:
        when = self.year if self.years is None else f"{self.years[0]}-{self.years[1]}"
        if self.response is not None:
            r = self.response
            when += (f", {r.payer} renderings cut by {r.share:.0%} on average from "
                     f"{r.effective_date:%Y-%m-%d}")
        head = (
            f"<p>Synthetic NC claims, {when}: {len(self.practices)} practices, "
            f"{int(self.practices['n_lines'].sum()):,} lines, scale {self.scale:.4g}</p>"
        )
        return head + self.summary.to_html(index=False, float_format=lambda x: f"{x:.3f}")


def check_args(n_practices: int, year: int, scale: float) -> None:
    """Refuse a number of practices, service year or scale the generator cannot use."""
    if not isinstance(n_practices, (int, np.integer)) or n_practices < 1:
        raise InputError("must be a positive integer", column="n_practices", value=n_practices)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InputError(
            f"the fee schedule covers service years {FIRST_YEAR}-{LAST_YEAR}", column="year",
            value=year,
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
    practices, settings = _draw(n_practices, year=year, rng=rng, scale=scale, settings=settings)
    chunks = list(_iter_chunks(practices, year=year, rng=rng, settings=settings))
    lines = _frame(chunks, practices, year=year, settings=settings)
    truth = _truth(practices, [(c.practice, c.counts) for c in chunks])
    return Synthetic(lines=lines, practices=truth, year=year, scale=scale, settings=settings)



def generate_batches(
    n_practices: int = 40,
    *,
    year: int = 2024,
    rng: np.random.Generator,
    scale: float = SAMPLE_SCALE,
    settings: SynthSettings | None = None,
    batch_lines: int = 250_000,
    write: Callable[[pd.DataFrame], object],
) -> Synthetic:
    """Generate exactly the lines of :func:`generate`, handing them to ``write`` in batches.

    Practice-months are collected until they hold at least ``batch_lines`` lines and
    then priced and passed to ``write`` as one frame, so memory stays bounded however
    large ``scale`` is; at least one frame (possibly empty) is passed.

    Returns
    -------
    Synthetic
        With empty ``lines`` and the full ``practices`` table.
    """
    practices, settings = _draw(n_practices, year=year, rng=rng, scale=scale, settings=settings)
    chunks = _iter_chunks(practices, year=year, rng=rng, settings=settings)
    counts = _write_batches(chunks, practices, year=year, settings=settings,
                            batch_lines=batch_lines, write=write)  # fmt: skip
    return Synthetic(lines=_EMPTY, practices=_truth(practices, counts), year=year, scale=scale,
                     settings=settings)  # fmt: skip


_EMPTY = pd.DataFrame({c: pd.Series(dtype=object) for c in CANONICAL_COLUMNS})


def _write_batches(
    chunks: Iterator[_Chunk],
    practices: pd.DataFrame,
    *,
    year: int,
    settings: SynthSettings,
    batch_lines: int,
    write: Callable[[pd.DataFrame], object],
) -> list[tuple[int, dict]]:
    """Price ``chunks`` and pass them to ``write`` in batches; the chunks' counts."""
    counts: list[tuple[int, dict]] = []
    pending: list[_Chunk] = []
    n_pending = n_written = 0
    for chunk in chunks:
        counts.append((chunk.practice, chunk.counts))
        pending.append(chunk)
        n_pending += len(chunk.cpt)
        if n_pending >= batch_lines:
            lines = _frame(pending, practices, year=year, settings=settings)
            write(lines)
            n_written += len(lines)
            pending, n_pending = [], 0
    if pending or n_written == 0:
        write(_frame(pending, practices, year=year, settings=settings))
    return counts


def generate_years(
    n_practices: int = 40,
    *,
    years: tuple[int, int] = (2023, 2025),
    rng: np.random.Generator,
    scale: float = SAMPLE_SCALE,
    settings: SynthSettings | None = None,
    span: SpanSettings | None = None,
    response: PolicyResponse | None = None,
) -> Synthetic:
    """Generate several years of synthetic claims, optionally with a policy response.

    The practices are drawn as in :func:`generate` (the same seed gives the same
    practices); over the span their volumes follow the quarters' seasonality and each
    practice's growth, 3D propensities a common trend, and a few practices enter or
    exit (:mod:`analysis.synth.years`).

    Parameters
    ----------
    n_practices, rng, scale, settings
        As in :func:`generate`.
    years : (int, int)
        First and last service year, within the fee schedules' 2022-2026.
    span : SpanSettings, optional
        Seasonality, growth, 3D trend, entry and exit.
    response : PolicyResponse, optional
        From its effective date, each practice stops its ``stop_share`` (mean
        ``response.share``) of the renderings it would have billed to
        ``response.payer``; the practices table records both the drawn and the realized
        response. The same seed without a response gives the same lines but the stopped
        3D lines.

    Returns
    -------
    Synthetic
        ``lines`` dated over the span (claim identifiers number the span's months) and
        ``practices`` with the span's columns (see :class:`Synthetic`).

    Examples
    --------
    >>> syn = generate_years(2, years=(2024, 2025), rng=np.random.default_rng(1), scale=0.005)
    >>> sorted(syn.lines["service_date"].dt.year.unique().tolist())
    [2024, 2025]
    """
    practices, settings, span = _draw_span(n_practices, years=years, rng=rng, scale=scale,
                                           settings=settings, span=span, response=response)
    chunks = list(_iter_span_chunks(practices, years=years, rng=rng, settings=settings,
                                    span=span, response=response))  # fmt: skip
    return Synthetic(
        lines=_frame(chunks, practices, year=years[0], settings=settings),
        practices=_span_truth(practices, [(c.practice, c.counts) for c in chunks]),
        year=years[0], scale=scale, settings=settings, years=tuple(years), span=span,
        response=response)  # fmt: skip


def generate_years_batches(
    n_practices: int = 40,
    *,
    years: tuple[int, int] = (2023, 2025),
    rng: np.random.Generator,
    scale: float = SAMPLE_SCALE,
    settings: SynthSettings | None = None,
    span: SpanSettings | None = None,
    response: PolicyResponse | None = None,
    batch_lines: int = 250_000,
    write: Callable[[pd.DataFrame], object],
) -> Synthetic:
    """The lines of :func:`generate_years`, handed to ``write`` in batches
    (as :func:`generate_batches`); returns empty ``lines`` and the full ``practices``."""
    practices, settings, span = _draw_span(n_practices, years=years, rng=rng, scale=scale,
                                           settings=settings, span=span, response=response)
    chunks = _iter_span_chunks(practices, years=years, rng=rng, settings=settings, span=span,
                               response=response)  # fmt: skip
    counts = _write_batches(chunks, practices, year=years[0], settings=settings,
                            batch_lines=batch_lines, write=write)  # fmt: skip
    return Synthetic(lines=_EMPTY, practices=_span_truth(practices, counts), year=years[0],
                     scale=scale, settings=settings, years=tuple(years), span=span,
                     response=response)  # fmt: skip


def _iter_span_chunks(
    practices: pd.DataFrame,
    *,
    years: tuple[int, int],
    rng: np.random.Generator,
    settings: SynthSettings,
    span: SpanSettings,
    response: PolicyResponse | None,
) -> Iterator[_Chunk]:
    """Every practice-month of a span, practice by practice, each on its own generator."""
    for (_, row), practice_rng in zip(
        practices.iterrows(), rng.spawn(len(practices)), strict=True
    ):
        yield from _practice_span_chunks(row, years=years, rng=practice_rng, settings=settings,
                                         span=span, response=response)  # fmt: skip


def _draw(
    n_practices: int,
    *,
    year: int,
    rng: np.random.Generator,
    scale: float,
    settings: SynthSettings | None,
) -> tuple[pd.DataFrame, SynthSettings]:
    """Check a run's arguments and draw its practices (the run's first draws)."""
    check_args(n_practices, year, scale)
    settings = settings or SynthSettings()
    return with_volume(draw_practices(n_practices, rng, settings), scale), settings


def check_span_args(
    n_practices: int, years: tuple[int, int], scale: float, response: PolicyResponse | None
) -> tuple[int, int]:
    """Refuse a span, or a response dated outside it; the checked ``(first, last)``."""
    years = check_years(years)
    check_args(n_practices, years[0], scale)
    if response is not None and not (
        date(years[0], 1, 1) < response.effective_date <= date(years[1], 12, 31)
    ):
        raise InputError(
            f"must fall after the first day of the span {years[0]}-{years[1]} and within it, "
            "so that there are claims before and after it",
            column="effective_date", value=response.effective_date.isoformat())
    return years


def _draw_span(
    n_practices: int,
    *,
    years: tuple[int, int],
    rng: np.random.Generator,
    scale: float,
    settings: SynthSettings | None,
    span: SpanSettings | None,
    response: PolicyResponse | None,
) -> tuple[pd.DataFrame, SynthSettings, SpanSettings]:
    """Check a multi-year run's arguments; draw its practices, then their course."""
    years = check_span_args(n_practices, years, scale, response)
    settings, span = settings or SynthSettings(), span or SpanSettings()
    practices = with_volume(draw_practices(n_practices, rng, settings), scale)
    return (draw_span(practices, years=years, rng=rng, span=span, response=response),
            settings, span)  # fmt: skip
