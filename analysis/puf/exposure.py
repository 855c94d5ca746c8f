"""A public-data estimate of what one commercial payer spends on 3D rendering.

A state's Medicare 3D services and allowed dollars (:func:`medicare_3d_totals`, from
the geography file or the visible provider rows) are scaled to one commercial payer
by three assumed ratios (:class:`ExposureAssumptions`), drawn with the PSA sampler of
:mod:`analysis.uncertainty` (:func:`estimate_exposure`).
"""

from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.codes import CODES_3D
from analysis.errors import InputError
from analysis.puf.jurisdictions import state_fips
from analysis.uncertainty import convergence, sample_parameters

__all__ = [
    "ExposureAssumptions",
    "ExposureEstimate",
    "estimate_exposure",
    "medicare_3d_totals",
]


@dataclass(frozen=True)
class ExposureAssumptions:
    """Adjustable ratios that scale Medicare 3D volume to one commercial payer [A].

    Every value is an assumption to be varied. Each ``(low, high)`` pair is read as a
    95 % range, the convention of :mod:`analysis.distributions`: the two ratios are
    lognormal and the share is beta, each fitted so that its 2.5 % and 97.5 %
    quantiles are ``low`` and ``high``; the central value is the point estimate.

    Parameters
    ----------
    commercial_to_medicare_volume : float
        Commercial 3D services per Medicare fee-for-service 3D service in the state.
        Default 1.5 (0.8-2.5): NC has about 1.0 M Medicare FFS beneficiaries against
        about 5 M commercially insured people, who use CT/MR at roughly a third of the
        65+ rate per person [A].
    bcbs_share_of_commercial : float
        The payer's share of commercial 3D services. Default 0.45 (0.35-0.55): BCBS NC
        had 3.86 M members in 2020, 1.17 M of them out-of-state BlueCard, and the
        State Health Plan (~0.58 M) left for Aetna in January 2025 [S/A].
    commercial_multiplier : float
        Commercial allowed amount as a multiple of Medicare's for radiology. Default
        1.8 (1.2-2.5): Urban Institute / FAIR Health 2019-20 put commercial radiology
        at about 180 % of Medicare [S/A].
    payer : str
        Label only.
    """

    commercial_to_medicare_volume: float = 1.5
    commercial_to_medicare_volume_low: float = 0.8
    commercial_to_medicare_volume_high: float = 2.5
    bcbs_share_of_commercial: float = 0.45
    bcbs_share_of_commercial_low: float = 0.35
    bcbs_share_of_commercial_high: float = 0.55
    commercial_multiplier: float = 1.8
    commercial_multiplier_low: float = 1.2
    commercial_multiplier_high: float = 2.5
    payer: str = "BCBS NC"

    _DISTRIBUTIONS = {
        "commercial_to_medicare_volume": "lognormal",
        "bcbs_share_of_commercial": "beta",
        "commercial_multiplier": "lognormal",
    }

    def __post_init__(self) -> None:
        for name in self._DISTRIBUTIONS:
            lo, mid, hi = (getattr(self, f"{name}_low"), getattr(self, name),
                           getattr(self, f"{name}_high"))
            if not all(isinstance(v, int | float) and math.isfinite(v) for v in (lo, mid, hi)):
                raise InputError(f"{name} and its low/high must be numbers", column=name,
                                 value=(lo, mid, hi))
            if not 0 < lo <= mid <= hi:
                raise InputError(f"need 0 < {name}_low <= {name} <= {name}_high",
                                 column=name, value=(lo, mid, hi))
        if not self.bcbs_share_of_commercial_high < 1:
            raise InputError("bcbs_share_of_commercial must be below 1",
                             column="bcbs_share_of_commercial_high",
                             value=self.bcbs_share_of_commercial_high)

    def to_dict(self) -> dict:
        """Plain-Python form for manifests."""
        return asdict(self)

    def parameter_table(self) -> pd.DataFrame:
        """``parameter, base, low, high, distribution`` as :mod:`analysis.uncertainty` reads it."""
        return pd.DataFrame(
            [(name, float(getattr(self, name)), float(getattr(self, f"{name}_low")),
              float(getattr(self, f"{name}_high")), dist)
             for name, dist in self._DISTRIBUTIONS.items()],
            columns=["parameter", "base", "low", "high", "distribution"],
        )

    def draw(self, n: int, *, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` independent draws of the three ratios
        (:func:`analysis.uncertainty.sample_parameters`)."""
        return sample_parameters(self.parameter_table(), n, rng=rng)


def medicare_3d_totals(
    *,
    state: str,
    lines: pd.DataFrame | None = None,
    geography: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Medicare 3D services and allowed dollars of one state, per code.

    From the geography file's state rows when given (complete: they include the
    providers' suppressed rows), else from the provider-file rows (visible rows
    only: a lower bound). Returns ``cpt_code, services, allowed_usd, source``.
    """
    state = state.strip().upper()
    if geography is not None:
        fips = state_fips(state)
        rows = geography.loc[
            geography["geo_level"].str.lower().eq("state")
            & geography["state_fips"].eq(fips)
            & geography["cpt_code"].isin(CODES_3D)
        ]
        source = "geography file (state rows, include suppressed provider rows)"
    elif lines is not None:
        rows = lines.loc[lines["state"].eq(state) & lines["cpt_code"].isin(CODES_3D)]
        source = "provider file (visible rows only: a lower bound)"
    else:
        raise InputError("pass provider-file lines or a geography file")
    out = (
        rows.groupby("cpt_code", observed=True)[["services", "allowed_usd"]].sum()
        .reindex(list(CODES_3D), fill_value=0.0)
        .rename_axis("cpt_code")
        .reset_index()
    )
    return out.assign(source=source)



@dataclass(frozen=True)
class ExposureEstimate:
    """A public-data estimate of one payer's annual 3D rendering allowed dollars.

    Attributes
    ----------
    table : DataFrame
        ``quantity, point, mean, low, high`` for Medicare 3D services and allowed
        dollars (data), the payer's 3D services and allowed dollars (estimates).
        ``point`` uses the central assumptions; ``low``/``high`` are the
        ``ci_level`` percentile interval of the draws.
    draws : DataFrame
        One row per draw: the three ratios and the two estimates.
    medicare : DataFrame
        :func:`medicare_3d_totals` output used.
    assumptions : ExposureAssumptions
    method : str
        The uncertainty machinery used.
    label : str
        What this is, in one sentence for reports.
    """

    table: pd.DataFrame
    draws: pd.DataFrame
    medicare: pd.DataFrame
    assumptions: ExposureAssumptions
    state: str
    period: str
    method: str
    ci_level: float
    seed_note: str
    convergence: object = None

    @property
    def label(self) -> str:
        """What this is, in one sentence for reports."""
        return (
            f"ESTIMATE FROM PUBLIC DATA: {self.assumptions.payer} annual 3D rendering "
            f"(76376/76377) services and allowed dollars in {self.state}, data year "
            f"{self.period}, derived from CMS Medicare Part B public files scaled by assumed "
            "ratios (commercial-to-Medicare volume, payer share, commercial price "
            "multiplier). Not the payer's claims."
        )

    @property
    def summary(self) -> pd.DataFrame:
        """:attr:`table`."""
        return self.table

    def to_dict(self) -> dict:
        """The estimates, their source and the assumptions, for manifests."""
        return {
            "label": self.label,
            "state": self.state,
            "period": self.period,
            "method": self.method,
            "ci_level": self.ci_level,
            "n_draws": len(self.draws),
            "seed": self.seed_note,
            "medicare_source": str(self.medicare["source"].iloc[0]),
            "assumptions": self.assumptions.to_dict(),
            "converged": None if self.convergence is None else bool(self.convergence.converged),
            "estimates": {
                r.quantity: {"point": r.point, "mean": r.mean, "low": r.low, "high": r.high}
                for r in self.table.itertuples()
            },
        }

    def _repr_html_(self) -> str:
        return (
            f"<p><b>{html.escape(self.label)}</b></p>"
            + self.table.to_html(index=False, float_format=lambda v: f"{v:,.1f}")
            + f"<p>Uncertainty: {html.escape(self.method)}; {len(self.draws):,} draws; "
            f"{self.ci_level:.0%} percentile intervals.</p>"
        )


def estimate_exposure(
    medicare: pd.DataFrame,
    *,
    state: str = "NC",
    period: str | int = "",
    assumptions: ExposureAssumptions | None = None,
    n_draws: int = 100_000,
    rng: np.random.Generator,
    ci_level: float = 0.95,
) -> ExposureEstimate:
    """Scale a state's Medicare 3D volume and dollars to one commercial payer.

    ``payer_services = medicare_services x volume_ratio x payer_share`` and
    ``payer_allowed_usd = medicare_allowed_usd x volume_ratio x payer_share x
    commercial_multiplier`` (the Medicare allowed amount per 3D service carries the
    state's global/-26/-TC mix and locality), with the three ratios drawn
    independently by :meth:`ExposureAssumptions.draw` (the PSA sampler of
    :mod:`analysis.uncertainty`, on the explicit ``rng``), vectorized over draws.
    :func:`analysis.uncertainty.convergence` checks the payer-dollar interval.

    Parameters
    ----------
    medicare : DataFrame
        :func:`medicare_3d_totals` output (``cpt_code, services, allowed_usd, source``).
    state, period : str
        Labels.
    assumptions : ExposureAssumptions, optional
    n_draws : int
    rng : numpy.random.Generator
    ci_level : float
        Level of the percentile intervals (default 0.95).
    """
    assumptions = assumptions or ExposureAssumptions()
    if not isinstance(n_draws, int) or n_draws < 100:
        raise InputError("n_draws must be an integer >= 100", column="n_draws", value=n_draws)
    if not 0 < ci_level < 1:
        raise InputError("ci_level must be in (0, 1)", column="ci_level", value=ci_level)
    services = float(medicare["services"].sum())
    allowed = float(medicare["allowed_usd"].sum())
    draws = assumptions.draw(n_draws, rng=rng)
    draws = draws.assign(
        payer_3d_services=services * draws["commercial_to_medicare_volume"]
        * draws["bcbs_share_of_commercial"],
    )
    draws = draws.assign(
        payer_3d_allowed_usd=allowed * draws["commercial_to_medicare_volume"]
        * draws["bcbs_share_of_commercial"] * draws["commercial_multiplier"],
    )
    a = assumptions
    point_scale = a.commercial_to_medicare_volume * a.bcbs_share_of_commercial
    tail = (1 - ci_level) / 2
    rows = [
        ("medicare_3d_services", services, services, services, services),
        ("medicare_3d_allowed_usd", allowed, allowed, allowed, allowed),
    ]
    for name, point in (
        ("payer_3d_services", services * point_scale),
        ("payer_3d_allowed_usd", allowed * point_scale * a.commercial_multiplier),
    ):
        values = draws[name].to_numpy()
        rows.append((name, point, float(values.mean()), float(np.quantile(values, tail)),
                     float(np.quantile(values, 1 - tail))))
    table = pd.DataFrame(rows, columns=["quantity", "point", "mean", "low", "high"])
    diag = (convergence(draws["payer_3d_allowed_usd"].to_numpy(), level=ci_level,
                        metric="payer_3d_allowed_usd") if allowed > 0 else None)
    return ExposureEstimate(
        table=table, draws=draws, medicare=medicare, assumptions=assumptions,
        state=state, period=str(period),
        method="analysis.uncertainty.sample_parameters (independent draws: lognormal "
        "ratios, beta share; ranges read as 95 % intervals around the mean), vectorized "
        "over draws on the caller's numpy Generator",
        ci_level=ci_level, seed_note="caller's rng", convergence=diag,
    )

