"""The steps the report notebooks share, written once.

Every report reads its inputs and says what data it rests on (:func:`open_inputs`) and
shows its scenario (:func:`show_scenario_section`); the impact reports build the model's
assumptions and policies from their parameters (:func:`impact_setup`,
:func:`screen_options`) and record the losses of the headline policy
(:func:`record_loss_headlines`). A function that takes ``values`` reads the notebook's
parameters from it by name: a notebook passes ``globals()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pandas as pd

from analysis.disclosure import disclosure_plan
from analysis.errors import InputError
from analysis.impact import ImpactAssumptions, resolve_stop_share
from analysis.measured import response_for_policies
from analysis.policy import Policy
from analysis.report.formatting import plural
from analysis.report.impact_tables import policy_row
from analysis.report.inputs import SharedInputs, load_inputs
from analysis.report.memo import once
from analysis.report.parameters import notebook_defaults
from analysis.report.policies import pick_policy, scenario_policies
from analysis.report.provenance import data_label, data_statement, inputs_overview
from analysis.report.scenario_section import KEY_ASSUMPTIONS, scenario_overview
from analysis.report.writer import ReportWriter
from analysis.response import ResponseResult

__all__ = [
    "ImpactSetup",
    "impact_setup",
    "open_inputs",
    "record_loss_headlines",
    "StopShareSetup",
    "screen_options",
    "show_scenario_section",
    "measured_aside",
    "stop_share_setup",
]

#: The notebook parameters that are :class:`analysis.impact.ImpactAssumptions` fields.
ASSUMPTION_PARAMETERS = (
    "commercial_multiplier", "medicaid_multiplier", "self_pay_multiplier", "payer_cost_share",
    "volume_growth", "fee_update", "stop_share", "cost_per_rendering_usd", "discount_rate",
    "horizon_years", "start_date", "prices",
)


def open_inputs(rpt: ReportWriter, inputs_dir: str, *, claims: Sequence[str],
                link_window_days: int, policy_payers: Sequence[str] = ()) -> SharedInputs:
    """The shared inputs (:func:`load_inputs`), with their data statement given to
    ``rpt`` (shown in the page's answer and the footer of its printed pages), and the
    report's disclosure plan decided from them and given to ``rpt``
    (:func:`analysis.disclosure.disclosure_plan`; ``policy_payers``: the payers whose
    losses the page shows per practice), its rule stated with the scenario
    (:func:`show_scenario_section`)."""
    inputs = load_inputs(inputs_dir, claims=claims, link_window_days=link_window_days)
    rpt.state_data(data_statement(inputs, min_cell_count=rpt.privacy.min_cell_count),
                   short=data_label(inputs))
    rpt.disclose(once(disclosure_plan, inputs.summary("year"), inputs.summary("quarter"),
                      settings=rpt.privacy, payers=tuple(policy_payers)))
    return inputs


def show_scenario_section(rpt: ReportWriter, values: Mapping[str, Any], *,
                          inputs: SharedInputs | None = None,
                          key: Sequence[str] = KEY_ASSUMPTIONS) -> None:
    """Show the scenario of this run against the notebook's defaults, the privacy rule
    of the page, then (given the ``inputs``) the table of the claims read and linked."""
    rpt.show_scenario(scenario_overview(
        values, defaults=notebook_defaults(rpt.notebook),
        title=values.get("scenario_title", ""),
        description=values.get("scenario_description", ""), key=key))
    rpt.show_privacy()
    if inputs is not None:
        rpt.table("claims_load", inputs_overview(inputs, getattr(rpt, "plan", None)),
                  caption="Claims read and linked", of_practice=False)


class ImpactSetup(NamedTuple):
    """The budget-impact model of a scenario: assumptions, policies compared, headline."""

    assumptions: ImpactAssumptions
    policies: tuple[Policy, ...]
    headline: Policy


def impact_setup(values: Mapping[str, Any]) -> ImpactSetup:
    """The impact model's assumptions and the policies compared, from the parameters.

    Raises
    ------
    InputError
        An invalid assumption, an unknown policy, or a headline policy that is not
        among those compared.
    """
    assumptions = ImpactAssumptions(**{n: values[n] for n in ASSUMPTION_PARAMETERS})
    policies = scenario_policies(
        values["policies"], payers=values["policy_payers"],
        effective_date=values["effective_date"], scope_share=values["scope_share"],
        cap_threshold=values["cap_threshold"],
    )
    return ImpactSetup(assumptions, policies, pick_policy(policies, values["headline_policy"]))


class StopShareSetup(NamedTuple):
    """The model's assumptions with the stop share measured where the scenario asks,
    and the response measured from the claims: the model's input with ``stop_share:
    measured``; beside an assumed stop share, shown for comparison where the claims
    span the effective date (None where they do not)."""

    assumptions: ImpactAssumptions
    response: ResponseResult | None


def stop_share_setup(assumptions: ImpactAssumptions, quarterly: pd.DataFrame,
                     policies: Sequence[Policy]) -> StopShareSetup:
    """With ``stop_share: measured``, measure the response once from the quarterly
    summary (:func:`analysis.measured.response_for_policies`) and take its estimate
    and interval into the assumptions (:func:`analysis.impact.resolve_stop_share`),
    so that the result, the tornado, the PSA and the scenarios share one measurement;
    otherwise the assumptions as they are, with the response measured for comparison
    where the claims allow (no estimate at all: None).

    Raises
    ------
    InputError
        The response cannot be measured from these claims (the message says why).
    """
    if not assumptions.stop_share_pending:
        try:  # shown beside the assumption; the model keeps the assumed value
            shown = response_for_policies(quarterly, policies)
        except InputError:  # not a quarterly summary, or several payers or dates
            shown = None
        if shown is not None and not shown.estimates["status"].eq("withheld").all():
            return StopShareSetup(assumptions, shown)
        return StopShareSetup(assumptions, None)
    response = response_for_policies(quarterly, policies)
    return StopShareSetup(resolve_stop_share(assumptions, policies=policies, response=response),
                          response)


def measured_aside(response: ResponseResult, *, short: bool = False) -> str:
    """What the claims measure, said beside an assumed stop share: the response's
    headline (or, ``short``, its stop share and interval alone) and that the
    measured-response scenario uses it."""
    lo, hi = response.stop_share_ci
    if short:
        return (f"The claims measure {response.stop_share:.0%} (95% interval {lo:.0%} to "
                f"{hi:.0%}); the measured-response scenario uses that.")
    return (f"For comparison, measured from these claims: {response.headline} This run "
            f"keeps the assumed share; the measured-response scenario takes the estimate "
            f"and its interval into the model.")


def screen_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """The options of :func:`analysis.lcd.screen` from the parameters (no periods: all)."""
    return {"threshold": values["threshold"], "basis": values["basis"],
            "exempt_oncology": values["exempt_oncology"], "alpha": values["alpha"],
            "ci": values["ci"], "periods": values["periods"] or None}


def record_loss_headlines(rpt: ReportWriter, result, sim, *, policy: str,
                          horizon_years: int) -> pd.Series:
    """Record the losses of ``policy`` with the PSA interval; return its summary row.

    ``result`` is the :class:`analysis.impact.ImpactResult` of every policy compared,
    ``sim`` the probabilistic sensitivity analysis of ``policy``.
    """
    row = policy_row(result, policy)
    lower, upper = sim.interval()
    rpt.headline("loss_year1_usd", row["loss_year1_usd"], label="Loss in year 1", unit="usd")
    rpt.headline("loss_horizon_usd", row["loss_horizon_usd"],
                 label=f"Loss over {plural(horizon_years, 'year')}", unit="usd")
    span = plural(horizon_years, "year")
    rpt.headline("loss_horizon_lower_usd", lower, unit="usd",
                 label=f"Loss over {span}: PSA 95% interval, lower end")
    rpt.headline("loss_horizon_upper_usd", upper, unit="usd",
                 label=f"Loss over {span}: PSA 95% interval, upper end")
    rpt.headline("loss_share_year1", row["loss_share_year1"],
                 label="Share of 3D revenue lost, year 1", unit="share")
    return row
