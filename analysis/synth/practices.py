"""Drawing the synthetic practices: their sizes, types, payer mixes, 3D rates, volumes.

:func:`draw_practices` draws every practice's true parameters (one row each) from the
run's generator, before any claim line; :func:`with_volume` adds the expected yearly
volumes at a ``scale``; :func:`scale_for_lines` finds the scale that gives a wanted
number of lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.synth.model import PAYERS, PRACTICE_TYPES, PROFILES, SynthSettings, codebook

__all__ = ["draw_practices", "scale_for_lines", "with_volume"]


def _apportion(n: int, shares: Sequence[float]) -> np.ndarray:
    """Largest-remainder counts of ``n`` items in ``shares``."""
    raw = np.asarray(shares) * n
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def draw_practices(
    n: int, rng: np.random.Generator, settings: SynthSettings
) -> pd.DataFrame:
    """True parameters of ``n`` practices (one row each).

    Columns: ``practice_id`` (``NC001`` ...), ``practice_number``, ``state``,
    ``practice_type``, ``profile``, ``fte_radiologists``, ``n_radiologists``,
    ``studies_per_fte``, ``share_office``, ``share_<payer>``, ``multiplier_<payer>``,
    ``oncology_share``, ``p_3d_nononc``, ``p_3d_onc``, ``share_76377``,
    ``p_noncompliant``, ``p_separate_date``, ``p_indicated_3d``, ``extract_has_allowed``,
    ``true_rate_3d`` and ``npi_stems`` (the nine-digit stems of its radiologists' NPIs).
    """
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
            "p_separate_date": p_later,
            "p_indicated_3d": p_indicated_3d,
            "extract_has_allowed": has_allowed,
        }
    )
    frame["true_rate_3d"] = onc_share * p_onc + (1 - onc_share) * p_nononc
    frame["npi_stems"] = list(np.split(stems, np.cumsum(n_rad)[:-1]))
    return frame


def with_volume(practices: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Add the expected yearly CT/MR studies and encounters at ``scale``."""
    book = codebook()
    studies = practices["fte_radiologists"] * practices["studies_per_fte"] * scale
    return practices.assign(
        volume_scale=scale,
        expected_studies=studies.round(1),
        expected_encounters=(studies / book.mean_studies).round(1),
    )


def _expected_lines_per_scale(practices: pd.DataFrame) -> float:
    """Expected claim lines at ``scale = 1`` (studies plus 3D lines)."""
    book = codebook()
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

    Draws the practices exactly as :func:`analysis.synth.generate` does from a copy of ``rng``'s
    state, so ``generate(..., rng=same_seed, scale=scale_for_lines(...))`` gives
    ``n_lines`` within a fraction of a percent. For realism keep the result near 1
    (full-size volumes) by choosing ``n_practices``: about 150 practices make 25
    million lines a year.
    """
    if n_lines < 1:
        raise InputError("must be >= 1", column="n_lines", value=n_lines)
    probe = np.random.Generator(type(rng.bit_generator)())
    probe.bit_generator.state = rng.bit_generator.state
    practices = draw_practices(n_practices, probe, settings or SynthSettings())
    return n_lines / _expected_lines_per_scale(practices)

