"""The whole Medicare public-data pathway in one call: read, roll up, screen, estimate.

:func:`medicare_benchmark` chains the reader (:mod:`analysis.puf.read`), the roll-up
(:mod:`analysis.puf.practices`), the screen with its suppression bounds
(:mod:`analysis.puf.screen`), the consistency check against the geography file
(:mod:`analysis.puf.suppression`) and the exposure estimate
(:mod:`analysis.puf.exposure`); :class:`PufBenchmark` keeps every step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Literal

import numpy as np
import pandas as pd

from analysis.defaults import ALPHA, LCD_BENCHMARK
from analysis.errors import InputError
from analysis.puf.exposure import (
    ExposureAssumptions,
    ExposureEstimate,
    estimate_exposure,
    medicare_3d_totals,
)
from analysis.puf.jurisdictions import jurisdiction_states
from analysis.puf.practices import PracticeRollup, assign_practices, read_crosswalk
from analysis.puf.read import PufRead, read_geography_service, read_provider_service, sample_paths
from analysis.puf.screen import PufScreen, screen_puf, summarize_puf
from analysis.puf.suppression import SuppressionBounds, check_consistency

__all__ = ["PufBenchmark", "medicare_benchmark"]


@dataclass(frozen=True)
class PufBenchmark:
    """Every step of the Medicare public-data pathway, from :func:`medicare_benchmark`.

    Attributes
    ----------
    read : PufRead
    rollup : PracticeRollup
    summary : DataFrame
        :func:`summarize_puf` of the practices screened.
    screen : PufScreen
    geography : DataFrame or None
    consistency : DataFrame or None
        :func:`check_consistency` of the providers screened.
    exposure : ExposureEstimate
    screen_states : list of str or None
        The states screened (None: all).
    settings : dict
        The options, for the manifest.
    """

    read: PufRead
    rollup: PracticeRollup
    summary: pd.DataFrame
    screen: PufScreen
    geography: pd.DataFrame | None
    consistency: pd.DataFrame | None
    exposure: ExposureEstimate
    screen_states: list[str] | None
    settings: Mapping[str, object]

    def to_dict(self) -> dict:
        """Every step's counts and results, for the run's manifest."""
        return {
            "input": self.read.path,
            "layout": self.read.layout,
            "read": dict(self.read.counts),
            "screen_states": self.screen_states,
            "rollup": {"kind": self.rollup.rollup, **self.rollup.counts},
            "screen": self.screen.to_dict(),
            "consistency_gap_services": None if self.consistency is None
            else float(self.consistency["gap_services"].sum()),
            "exposure": self.exposure.to_dict(),
            "settings": dict(self.settings),
        }

    def _repr_html_(self) -> str:
        return self.read._repr_html_() + self.screen._repr_html_() + self.exposure._repr_html_()


def medicare_benchmark(
    path: str | PathLike[str] | None = None,
    *,
    states: Iterable[str] | str | None = None,
    jurisdictions: Iterable[str] | str | None = None,
    rollup: Literal["npi", "organization"] = "npi",
    crosswalk: str | PathLike[str] | None = None,
    geography: str | PathLike[str] | None = None,
    period: str | int = "2023",
    threshold: float = LCD_BENCHMARK,
    alpha: float = ALPHA,
    bounds: SuppressionBounds | None = None,
    exposure_state: str = "NC",
    assumptions: ExposureAssumptions | None = None,
    n_draws: int = 100_000,
    rng: np.random.Generator,
    batch_rows: int = 200_000,
) -> PufBenchmark:
    """Read, roll up, screen and estimate exposure from the CMS public files in one call.

    The provider file is read once, for the states screened plus ``exposure_state``.
    Without ``path`` the bundled synthetic sample is used, and then also its
    geography file unless ``geography`` is given.

    Parameters
    ----------
    path : path-like, optional
        The "by Provider and Service" CSV.
    states, jurisdictions : optional
        Providers screened: states (e.g. ``"NC"``) or MAC jurisdictions (e.g.
        ``"JH,JL"``, as Novitas would have); not both. None: every state.
    rollup, crosswalk : optional
        See :func:`assign_practices` (a crosswalk path implies the crosswalk roll-up).
    geography : path-like, optional
        The "by Geography and Service" CSV: consistency check and complete state 3D
        totals for the exposure estimate.
    period : str or int
        The data year (label).
    threshold, alpha : float
        The screen's benchmark share and false discovery rate.
    bounds : SuppressionBounds, optional
    exposure_state : str
        State of the public-data exposure estimate.
    assumptions : ExposureAssumptions, optional
    n_draws : int
    rng : numpy.random.Generator
    batch_rows : int
    """
    if states is not None and jurisdictions is not None:
        raise InputError("give states or jurisdictions, not both")
    bounds = bounds or SuppressionBounds()
    samples = sample_paths()
    if path is None:
        path = samples["provider"]
        if geography is None:
            geography = samples["geography"]
    exposure_state = exposure_state.strip().upper()
    if states is not None:
        screen_states = sorted({s.strip().upper() for s in
                                ([states] if isinstance(states, str) else states)})
    elif jurisdictions is not None:
        screen_states = jurisdiction_states(jurisdictions)
    else:
        screen_states = None
    read_states = None if screen_states is None else sorted({*screen_states, exposure_state})
    read = read_provider_service(path, states=read_states, batch_rows=batch_rows)
    lines = read.lines
    screen_lines = lines if screen_states is None else lines.loc[
        lines["state"].isin(screen_states)].reset_index(drop=True)
    rolled = assign_practices(
        screen_lines, rollup=rollup,
        crosswalk=None if crosswalk is None else read_crosswalk(crosswalk),
    )
    summary = summarize_puf(rolled.lines, period=period, bounds=bounds)
    screened = screen_puf(summary, lines=rolled.lines, threshold=threshold, alpha=alpha,
                          bounds=bounds)
    geo = None if geography is None else read_geography_service(geography)
    consistency = None if geo is None else check_consistency(screen_lines, geo)
    medicare = medicare_3d_totals(state=exposure_state, lines=None if geo is not None else lines,
                                  geography=geo)
    exposure = estimate_exposure(medicare, state=exposure_state, period=period,
                                 assumptions=assumptions, n_draws=n_draws, rng=rng)
    settings_used = {
        "path": str(path), "geography": None if geography is None else str(geography),
        "states": screen_states, "rollup": rolled.rollup,
        "crosswalk": None if crosswalk is None else str(crosswalk), "period": str(period),
        "threshold": threshold, "alpha": alpha, "bounds": bounds.to_dict(),
        "exposure_state": exposure_state, "n_draws": n_draws,
        "assumptions": (assumptions or ExposureAssumptions()).to_dict(),
    }
    return PufBenchmark(read=read, rollup=rolled, summary=summary, screen=screened,
                        geography=geo, consistency=consistency, exposure=exposure,
                        screen_states=screen_states, settings=settings_used)
