"""What CMS's suppression of small provider-file rows can hide, and what it did hide.

CMS drops (does not mask) every provider-file row that counts 10 or fewer
beneficiaries, so a provider's missing row for a code and place of service hides
between 0 and 10 beneficiaries' services. :class:`SuppressionBounds` says how much a
hidden cell may hold, :func:`hidden_cells` counts the cells of each NPI that could be
hidden, :func:`rate_bounds` turns their maxima into the lowest and highest 3D rate the
visible rows allow, and :func:`check_consistency` measures the services actually
suppressed, state by state, against the geography file (which keeps them).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analysis.codes import CODES_3D
from analysis.errors import InputError
from analysis.puf.layouts import SETTING_OF_PLACE

__all__ = [
    "SUPPRESSED_MAX_BENEFICIARIES",
    "SuppressionBounds",
    "check_consistency",
    "hidden_cells",
    "rate_bounds",
]

SUPPRESSED_MAX_BENEFICIARIES: int = 10
"""CMS publishes no provider-file row that counts this many beneficiaries or fewer
(CMS cell-size suppression policy: counts of 1-10 are not published)."""


@dataclass(frozen=True)
class SuppressionBounds:
    """How much a suppressed provider-file row can hide (see :mod:`analysis.puf`).

    Parameters
    ----------
    max_hidden_beneficiaries : int
        Beneficiaries a dropped row may count: 10 (CMS publishes no row from 10 or
        fewer beneficiaries, :data:`SUPPRESSED_MAX_BENEFICIARIES`).
    services_per_beneficiary : float
        Assumed upper bound on services per beneficiary in a hidden cell [A]. 3D
        rendering is reported at most once per study, and a beneficiary rarely has
        more than two CT/MR studies of the same code read by one radiologist in a
        year; 2.0 gives 20 services per hidden cell. Raise it to widen the bounds.
    places : {"observed", "all"}
        Settings (places of service) in which an NPI can have hidden cells: those
        where it has any visible CT/MR or 3D row (default: a radiologist reading only
        hospital studies has no office cells), or both ``facility`` and
        ``non_facility``.
    """

    max_hidden_beneficiaries: int = SUPPRESSED_MAX_BENEFICIARIES
    services_per_beneficiary: float = 2.0
    places: Literal["observed", "all"] = "observed"

    def __post_init__(self) -> None:
        if not isinstance(self.max_hidden_beneficiaries, int) or self.max_hidden_beneficiaries < 0:
            raise InputError(
                "max_hidden_beneficiaries must be an integer >= 0",
                column="max_hidden_beneficiaries", value=self.max_hidden_beneficiaries,
            )
        spb = self.services_per_beneficiary
        if not isinstance(spb, int | float) or not math.isfinite(spb) or spb < 1:
            raise InputError(
                "services_per_beneficiary must be a number >= 1",
                column="services_per_beneficiary", value=spb,
            )
        if self.places not in ("observed", "all"):
            raise InputError("places must be 'observed' or 'all'", value=self.places)

    @property
    def services_per_hidden_cell(self) -> float:
        """The most services one hidden cell may hold."""
        return self.max_hidden_beneficiaries * float(self.services_per_beneficiary)

    def to_dict(self) -> dict:
        """Plain-Python form for manifests."""
        return asdict(self)


def hidden_cells(
    frame: pd.DataFrame, *, bounds: SuppressionBounds, n_ct_mr_codes: int
) -> pd.DataFrame:
    """Hidden 3D and CT/MR code x setting cells per rendering NPI (and its practice).

    For each rendering NPI and each setting in scope (``bounds.places``), every code
    of the 3D set and of the ``n_ct_mr_codes`` CT/MR codes without a visible row is a
    cell that may be hidden.

    Parameters
    ----------
    frame : DataFrame
        Provider-file rows with ``practice_id, rendering_npi, setting, cpt_code,
        code_class``.

    Returns
    -------
    DataFrame
        One row per ``practice_id, rendering_npi, setting``: ``is_3d, is_ctmr`` (visible
        codes) and ``hidden_cells_3d, hidden_cells_ct_mr``.
    """
    relevant = frame.loc[frame["code_class"].isin(["CT", "MR", "3D"])]
    keys = ["practice_id", "rendering_npi", "setting"]
    cells = relevant.drop_duplicates([*keys, "cpt_code"])
    per_place = (
        cells.assign(
            is_3d=cells["code_class"].eq("3D"), is_ctmr=cells["code_class"].isin(["CT", "MR"])
        )
        .groupby(keys, observed=True)[["is_3d", "is_ctmr"]]
        .sum()
        .reset_index()
    )
    if bounds.places == "all":
        npis = per_place.loc[:, ["practice_id", "rendering_npi"]].drop_duplicates()
        settings = pd.DataFrame({"setting": pd.array(list(SETTING_OF_PLACE.values()),
                                                     dtype="string")})
        grid = npis.merge(settings, how="cross")
        per_place = grid.merge(per_place, on=keys, how="left").fillna({"is_3d": 0, "is_ctmr": 0})
    return per_place.assign(
        hidden_cells_3d=(len(CODES_3D) - per_place["is_3d"]).clip(lower=0),
        hidden_cells_ct_mr=(n_ct_mr_codes - per_place["is_ctmr"]).clip(lower=0),
    )


def rate_bounds(n_3d, n_ct_mr, hidden_3d_max, hidden_ct_mr_max
                ) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest services-basis 3D rate the hidden cells allow.

    Hidden 3D services can only raise the rate and hidden CT/MR services can only
    lower it: ``lower = n_3d / (n_ct_mr + hidden_ct_mr_max)``, ``upper = (n_3d +
    hidden_3d_max) / n_ct_mr`` (NaN where ``n_ct_mr`` is 0), with ``n_3d`` and
    ``n_ct_mr`` the visible 3D and CT/MR services.

    >>> lower, upper = rate_bounds([150.0], [1000.0], [200.0], [0.0])
    >>> float(lower[0]), float(upper[0])
    (0.15, 0.35)
    """
    n, x = np.asarray(n_ct_mr, dtype=float), np.asarray(n_3d, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(n > 0, x / (n + np.asarray(hidden_ct_mr_max)), np.nan)
        upper = np.where(n > 0, (x + np.asarray(hidden_3d_max)) / n, np.nan)
    return lower, upper


def check_consistency(lines: pd.DataFrame, geography: pd.DataFrame) -> pd.DataFrame:
    """Provider-file totals against the geography file, per state x code.

    Both files count the same Medicare services, but the provider file drops every
    NPI x code x setting row from 10 or fewer beneficiaries, so its totals fall short
    of the geography file's state rows by the suppressed services. Beneficiary counts
    are not additive across providers and are not compared.

    Returns
    -------
    DataFrame
        One row per state (of the provider rows given) x code in either file:
        ``state, state_fips, cpt_code, services_provider, services_geography,
        gap_services`` (geography - provider, the suppressed services),
        ``gap_share`` (gap / geography), ``allowed_provider_usd,
        allowed_geography_usd, gap_allowed_usd, n_rendering_npis_provider,
        n_providers_geography`` and ``status`` (``"ok"``; ``"provider exceeds
        geography"`` is impossible for consistent files; ``"not in geography"``).
    """
    prov = (
        lines.assign(state_fips=lines["state_fips"].str.strip().str.zfill(2))
        .groupby(["state", "state_fips", "cpt_code"], observed=True)
        .agg(services_provider=("services", "sum"), allowed_provider_usd=("allowed_usd", "sum"),
             n_rendering_npis_provider=("rendering_npi", "nunique"))
        .reset_index()
    )
    states = prov.loc[:, ["state", "state_fips"]].drop_duplicates("state_fips")
    geo = (
        geography.loc[geography["geo_level"].str.lower().eq("state")
                      & geography["state_fips"].isin(states["state_fips"])]
        .groupby(["state_fips", "cpt_code"], observed=True)
        .agg(services_geography=("services", "sum"),
             allowed_geography_usd=("allowed_usd", "sum"),
             n_providers_geography=("n_providers", "sum"))
        .reset_index()
    )
    out = prov.merge(geo, on=["state_fips", "cpt_code"], how="outer")
    out = out.drop(columns="state").merge(states, on="state_fips", how="left")
    out = out.fillna({"services_provider": 0.0, "allowed_provider_usd": 0.0,
                      "n_rendering_npis_provider": 0})
    gap = out["services_geography"] - out["services_provider"]
    status = np.where(
        out["services_geography"].isna(), "not in geography",
        np.where(gap < -1e-6 * out["services_geography"].abs().clip(lower=1),
                 "provider exceeds geography", "ok"),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(out["services_geography"] > 0, gap / out["services_geography"], np.nan)
    out = out.assign(
        gap_services=gap, gap_share=share,
        gap_allowed_usd=out["allowed_geography_usd"] - out["allowed_provider_usd"],
        n_rendering_npis_provider=out["n_rendering_npis_provider"].astype("int64"),
        status=pd.Series(status, index=out.index, dtype="string"),
    )
    cols = ["state", "state_fips", "cpt_code", "services_provider", "services_geography",
            "gap_services", "gap_share", "allowed_provider_usd", "allowed_geography_usd",
            "gap_allowed_usd", "n_rendering_npis_provider", "n_providers_geography", "status"]
    return out.loc[:, cols].sort_values(["state", "cpt_code"]).reset_index(drop=True)

