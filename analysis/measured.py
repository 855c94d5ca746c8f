"""The stop share taken from the claims: the measured response as an input of the model.

The revenue model's behavioural response, ``stop_share`` (the share of the renderings
that become unpaid which practices stop producing), is an assumption by default (0.25,
range 0 to 0.5, [A] in ``data/reference/impact_assumptions.csv``). With
``stop_share="measured"`` it is instead the stop share that
:func:`analysis.response.estimate_response` implies from the claims (difference in
differences of the policy payer against a control payer, quarter by quarter), here
called the *measurement*:

- **Deterministic case**: the headline estimate (against the first control payer).
- **One-way sensitivity (tornado)**: its interval's two ends (95 % by default).
- **PSA**: a distribution fitted by :func:`analysis.distributions.fit_distribution` so
  that its 2.5 % and 97.5 % quantiles are the interval's ends. For the ratio model
  (the default) ``log_complement``: ``log(1 - stop_share)`` normal, since the stop
  share is ``1 - exp(b)`` and the interval of ``b`` is symmetric about its estimate;
  its median is then exactly the estimate (``fit_table`` says ``base_is`` median), which
  a beta or PERT fitted to the same asymmetric interval is not (on the bundled sample
  a beta's median is 0.21 against an estimate of 0.32; a PERT with its mode at 0.32
  cannot reach down to 0.04). For the linear model, whose interval is symmetric,
  ``censored_normal``. In both, draws below 0 are 0 (practices keep rendering).
- **Bounds**: the model's stop share lies in [0, 1]. An estimate or interval end
  below 0 (no fewer renderings than expected) is taken as 0, and said so.

When the estimate is withheld (no control payer, no quarter before or after the
effective date, fewer than two practices billing the policy payer on both sides of it,
or, when the model measures the response itself, pre-trends rejected), there is no
measurement and :func:`measure_stop_share` raises :class:`~analysis.errors.InputError`
naming why: there is no fallback to the assumed value, because a report that asked for
the measured response must not quietly show an assumption. Warnings of an estimate that
is shown (too few post quarters, too few practices) travel with the measurement into
every output (:attr:`MeasuredStopShare.warnings`).

References
----------
Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation.
Oxford University Press, 2006 (ch. 4: beta distributions for probabilities).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.policy import Policy, full_bundling
from analysis.response import ResponseResult, estimate_response

if TYPE_CHECKING:  # analysis.impact imports this module
    from analysis.impact import ImpactAssumptions
    from analysis.revenue_base import ImpactBase

__all__ = [
    "MEASURED",
    "MeasuredStopShare",
    "measure_stop_share",
    "resolve_stop_share",
    "response_for_policies",
]

#: The value of ``stop_share`` that asks for the measured response.
MEASURED = "measured"


@dataclass(frozen=True)
class MeasuredStopShare:
    """The stop share measured from the claims, as the revenue model uses it.

    Attributes
    ----------
    estimate, low, high : float
        The stop share and the ends of its interval as the model takes them: in
        [0, 1] (an estimate or end below 0 is 0).
    estimate_raw, low_raw, high_raw : float
        As estimated (may be below 0).
    level : float
        The interval's level (0.95).
    distribution : str
        The PSA family fitted to ``[low, high]``: ``"log_complement"`` (ratio model)
        or ``"censored_normal"`` (linear model).
    policy_payer, control : str
        The payer whose policy changed, and the control payer of the headline estimate.
    controls : tuple of str
        Every control payer estimated (the first is ``control``).
    effective_date : date
    pre_quarters, post_quarters : tuple of str
        The quarters before and after the effective date the estimate rests on.
    n_practices : int
        Practices in the estimate (the clusters of its standard errors).
    pretrend_p_value : float
        The pre-trend test's p-value (NaN where it could not be run).
    model : str
        ``"ratio"`` or ``"linear"`` (:class:`analysis.response.ResponseSettings`).
    status : str
        ``"estimated"`` or ``"estimated with warnings"``.
    warnings : tuple of str
        The estimate's warnings and what the bounds did, in words.
    other_controls : tuple of (control, status, estimate, low, high)
        The estimates against the other control payers, as estimated (NaN where
        withheld), stated beside the headline; the model uses the headline only.
    payer_words : tuple of (payer, words)
        The payers in words, as the response names them (``BCBS NC``, ``other
        commercial insurers``).
    """

    estimate: float
    low: float
    high: float
    estimate_raw: float
    low_raw: float
    high_raw: float
    level: float
    distribution: str
    policy_payer: str
    control: str
    controls: tuple[str, ...]
    effective_date: dt.date
    pre_quarters: tuple[str, ...]
    post_quarters: tuple[str, ...]
    n_practices: int
    pretrend_p_value: float
    model: str
    status: str
    warnings: tuple[str, ...] = ()
    other_controls: tuple[tuple[str, str, float, float, float], ...] = ()
    payer_words: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.estimate <= self.high <= 1:
            raise InputError("a measured stop share needs 0 <= low <= estimate <= high <= 1",
                             column="stop_share",
                             value=(self.low, self.estimate, self.high))
        set_ = object.__setattr__
        for name in ("controls", "pre_quarters", "post_quarters", "warnings"):
            set_(self, name, tuple(getattr(self, name)))
        set_(self, "payer_words", tuple((str(p), str(w)) for p, w in self.payer_words))
        set_(self, "other_controls", tuple(
            (str(c), str(st), *(float("nan") if v is None else float(v) for v in vals))
            for c, st, *vals in self.other_controls))
        if isinstance(self.effective_date, str):
            set_(self, "effective_date", dt.date.fromisoformat(self.effective_date))

    @property
    def quarters_text(self) -> str:
        """The quarters before and after the date, e.g. ``2023Q1-2024Q4 and 2025Q1-2025Q4``."""
        def span(q: tuple[str, ...]) -> str:
            return q[0] if len(q) == 1 else f"{q[0]}–{q[-1]}" if q else "none"
        return (f"{span(self.pre_quarters)} before and {span(self.post_quarters)} after "
                f"{self.effective_date:%Y-%m-%d}")

    def _words(self, payer: str) -> str:
        return dict(self.payer_words).get(payer, payer)

    def label(self, label: str) -> str:
        """A parameter's label marked as measured (tornado bars, assumption tables)."""
        return f"{label}, measured from the claims"

    @property
    def source(self) -> str:
        """Where the value comes from, in words (the assumption table's source)."""
        others = [c for c in self.controls if c != self.control]
        also = (f" ({', '.join(self._words(c) for c in others)} also estimated as control)"
                if others else "")
        text = (
            f"[M] measured from the claims: difference in differences of the 3D rate of "
            f"{self._words(self.policy_payer)} patients against {self._words(self.control)}{also}, "
            f"quarters {self.quarters_text}, {self.n_practices} practices; "
            f"{self.level:.0%} interval {self.low_raw:.0%} to {self.high_raw:.0%}"
        )
        if np.isfinite(self.pretrend_p_value):
            text += f"; pre-trend test p = {self.pretrend_p_value:.2f}"
        return text

    @property
    def sentence(self) -> str:
        """The measurement in one or two sentences, for a report."""
        text = (
            f"The stop share is measured from the claims, not assumed: practices stopped "
            f"an estimated {self.estimate_raw:.0%} ({self.level:.0%} interval "
            f"{self.low_raw:.0%} to {self.high_raw:.0%}) of the 3D renderings of "
            f"{self._words(self.policy_payer)} patients after {self.effective_date:%Y-%m-%d}, "
            f"compared with {self._words(self.control)} (quarters {self.quarters_text})."
        )
        others = [
            f"against {self._words(c)} {est:.0%} ({low:.0%} to {high:.0%})"
            if status != "withheld" and np.isfinite([est, low, high]).all()
            else f"against {self._words(c)} not measurable"
            for c, status, est, low, high in self.other_controls
        ]
        if others:
            text += f" As a check, {'; '.join(others)}."
        return " ".join([text, *self.warnings])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable fields (:meth:`from_dict` is the inverse)."""
        out = asdict(self)
        out["effective_date"] = self.effective_date.isoformat()
        for name in ("controls", "pre_quarters", "post_quarters", "warnings"):
            out[name] = list(out[name])
        out["payer_words"] = [list(pair) for pair in self.payer_words]
        out["other_controls"] = [
            [c, st, *(None if not np.isfinite(v) else v for v in vals)]
            for c, st, *vals in self.other_controls]
        out["pretrend_p_value"] = (None if not np.isfinite(self.pretrend_p_value)
                                   else self.pretrend_p_value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MeasuredStopShare:
        data = dict(data)
        if data.get("pretrend_p_value") is None:
            data["pretrend_p_value"] = float("nan")
        return cls(**data)


def measure_stop_share(response: ResponseResult) -> MeasuredStopShare:
    """The headline stop share of a measured response, as the revenue model takes it.

    Parameters
    ----------
    response : ResponseResult
        From :func:`analysis.response.estimate_response` (a quarterly summary that
        spans the policy's effective date).

    Returns
    -------
    MeasuredStopShare

    Raises
    ------
    InputError
        The headline estimate is withheld (the reason is in the message), or has no
        interval.

    Examples
    --------
    >>> m = measure_stop_share(result)  # doctest: +SKIP
    >>> m.estimate, (m.low, m.high)     # doctest: +SKIP
    (0.32, (0.04, 0.52))
    """
    if not isinstance(response, ResponseResult):
        raise TypeError("response must be an analysis.response.ResponseResult")
    row, s = response.headline_row, response.settings
    if row["status"] == "withheld" or not np.isfinite(
            [row["stop_share"], row["stop_share_ci_low"], row["stop_share_ci_high"]]).all():
        why = " ".join(str(row["warnings"]).split("\n")) if isinstance(row["warnings"], str) \
            else "no estimate"
        raise InputError(
            f"the stop share cannot be measured from these claims: {why} Give stop_share "
            "a number instead (the assumed default is 0.25, range 0 to 0.5).",
            column="stop_share", value=MEASURED)
    raw = (float(row["stop_share"]), float(row["stop_share_ci_low"]),
           float(row["stop_share_ci_high"]))
    estimate, low, high = (float(np.clip(v, 0.0, 1.0)) for v in raw)
    warnings = [w for w in str(row["warnings"] or "").split("\n") if w] \
        if isinstance(row["warnings"], str) else []
    if raw[0] < 0:
        warnings.append(f"The estimate ({raw[0]:.0%}) is below 0, no fewer renderings than "
                        "expected: the model takes a stop share of 0.")
    elif raw[1] < 0:
        warnings.append(f"The interval's lower end ({raw[1]:.0%}) is below 0: the model's "
                        "low value is 0 (practices keep rendering).")
    events = response.event_study
    mine = events.loc[events["control"] == row["control"]] if len(events) else events
    pre = tuple(sorted(mine.loc[~mine["post"].astype(bool), "period"])) if len(mine) else ()
    post = tuple(sorted(mine.loc[mine["post"].astype(bool), "period"])) if len(mine) else ()
    return MeasuredStopShare(
        estimate=estimate, low=low, high=high,
        estimate_raw=raw[0], low_raw=raw[1], high_raw=raw[2],
        level=float(s.ci_level),
        distribution="log_complement" if s.model == "ratio" else "censored_normal",
        policy_payer=s.policy_payer, control=str(row["control"]),
        controls=tuple(s.controls), effective_date=s.effective_date,
        pre_quarters=pre, post_quarters=post,
        n_practices=int(row["n_practices"]),
        pretrend_p_value=float(row["pretrend_p_value"]) if pd.notna(row["pretrend_p_value"])
        else float("nan"),
        model=s.model, status=str(row["status"]), warnings=tuple(warnings),
        payer_words=((s.policy_payer, response.policy_label),
                     *zip(response.estimates["control"].astype(str),
                          response.estimates["control_label"].astype(str), strict=True)),
        other_controls=tuple(
            (str(r.control), str(r.status), float(r.stop_share), float(r.stop_share_ci_low),
             float(r.stop_share_ci_high))
            for r in response.estimates.iloc[1:].itertuples()),
    )


def response_for_policies(summary: pd.DataFrame,
                          policies: Policy | Sequence[Policy] = ()) -> ResponseResult:
    """The response to the policies measured from a quarterly summary.

    :func:`analysis.response.estimate_response` for the policies' payer and effective
    date (those of BCBS NC's bundling when only the status quo is given), the other
    options at their defaults but one: rejected pre-trends withhold the estimate
    (``on_pretrend="withhold"``), since a model input must not rest on a comparison
    whose payers' trends already differed before the date.

    Raises
    ------
    InputError
        The policies name several payers or effective dates (measure the response
        with :func:`~analysis.response.estimate_response` and pass it), or the summary
        is not by quarter.
    """
    if not isinstance(summary, pd.DataFrame):
        raise InputError(
            "stop_share 'measured' needs the quarterly practice summary (or "
            "response=estimate_response(...)), not an annualized base",
            column="stop_share", value=MEASURED)
    policies = (policies,) if isinstance(policies, Policy) else tuple(policies)
    changed = [p for p in policies if p.kind != "status_quo"] or [full_bundling()]
    payers = sorted({x for p in changed for x in p.payers})
    dates = sorted({p.effective_date for p in changed})
    if len(payers) != 1 or len(dates) != 1:
        raise InputError(
            "stop_share 'measured' measures one payer's response from one effective date; "
            "these policies name several: pass response=estimate_response(...)",
            column="stop_share", value=f"payers {payers}, dates {[str(d) for d in dates]}")
    return estimate_response(summary, policy_payer=payers[0], effective_date=dates[0],
                             on_pretrend="withhold")


def resolve_stop_share(
    assumptions: ImpactAssumptions,
    summary: pd.DataFrame | ImpactBase | None = None,
    *,
    policies: Policy | Sequence[Policy] = (),
    response: ResponseResult | None = None,
) -> ImpactAssumptions:
    """The assumptions with ``stop_share="measured"`` replaced by the measurement.

    Assumptions whose stop share is a number, or already measured, are returned as
    they are. Otherwise the stop share is the headline estimate of ``response``
    (:func:`analysis.measured.measure_stop_share`) or, without one, of the response
    measured from ``summary`` for the policies' payer and effective date
    (:func:`analysis.measured.response_for_policies`, where rejected pre-trends
    withhold the estimate: a model input must not rest on a comparison whose trends
    already differed before the date).

    Parameters
    ----------
    assumptions : ImpactAssumptions
    summary : DataFrame, optional
        The quarterly practice x period x payer summary
        (``summarize(lines, period="quarter")``) spanning the effective date; needed
        only when the response is measured here.
    policies : Policy or sequence of Policy
        Their payer (one) and effective date (one) are those measured.
    response : ResponseResult, optional
        A response measured already (e.g. with other control payers).

    Raises
    ------
    InputError
        The response cannot be measured (one-year claims, no control payer, pre-trends
        rejected ...: the message says which), the summary is not by quarter, or the
        policies name more than one payer or date.

    Examples
    --------
    >>> a = resolve_stop_share(ImpactAssumptions(stop_share="measured"), quarterly,
    ...                        policies=full_bundling())      # doctest: +SKIP
    >>> a.stop_share, a.measured_response.low, a.measured_response.high  # doctest: +SKIP
    (0.32, 0.04, 0.52)
    """
    if not assumptions.stop_share_pending:
        return assumptions
    if response is None:
        response = response_for_policies(summary, policies)
    return assumptions.replace(stop_share=MEASURED,
                               measured_response=measure_stop_share(response))
