"""Kept for one release: the names ``analysis.reports`` used to hold, from their new homes.

What a notebook imports is now :mod:`analysis.report`; what runs the notebooks and
publishes the folder (``rad3d report``) is :mod:`analysis.run`. Import from there; this
module will be removed in the next release.
"""

from __future__ import annotations

from analysis._io import sha256_file
from analysis.paths import NOTEBOOK_DIR, PARAMS_DIR, PROJECT_DIR, REFERENCE_DIR, SAMPLE_CLAIMS
from analysis.report import (
    COLUMN_LABELS,
    KEY_ASSUMPTIONS,
    PARAMETER_LABELS,
    NotebookParameter,
    ReportWriter,
    ScenarioOverview,
    Scorecard,
    SharedInputs,
    cheers_appendix,
    column_labels,
    data_statement,
    flagged_practices,
    hidden_periods,
    hidden_practices,
    impact_payers,
    impact_years,
    inputs_overview,
    load_inputs,
    notebook_defaults,
    notebook_parameters,
    pick_policy,
    policy_row,
    policy_value,
    puf_data_statement,
    scenario_overview,
    scenario_policies,
    scorecard,
    screen_variants,
    settings_frame,
    shareable_trend,
    table_html,
    top_losers,
)
from analysis.run.batch import BatchResult, run_report
from analysis.run.export import REPORT_CSS, export_html
from analysis.run.inputs import prepare_inputs
from analysis.run.jobs import Job, plan_jobs
from analysis.run.publish import scrub_paths
from analysis.run.scenarios import Scenario, load_scenario
from analysis.run.validation import validate_parameters

__all__ = [
    "COLUMN_LABELS",
    "KEY_ASSUMPTIONS",
    "NOTEBOOK_DIR",
    "PARAMETER_LABELS",
    "PARAMS_DIR",
    "PROJECT_DIR",
    "REFERENCE_DIR",
    "REPORT_CSS",
    "SAMPLE_CLAIMS",
    "BatchResult",
    "Job",
    "NotebookParameter",
    "ReportWriter",
    "Scenario",
    "ScenarioOverview",
    "Scorecard",
    "SharedInputs",
    "cheers_appendix",
    "column_labels",
    "data_statement",
    "export_html",
    "flagged_practices",
    "hidden_periods",
    "hidden_practices",
    "impact_payers",
    "impact_years",
    "inputs_overview",
    "load_inputs",
    "load_scenario",
    "notebook_defaults",
    "notebook_parameters",
    "pick_policy",
    "plan_jobs",
    "policy_row",
    "policy_value",
    "prepare_inputs",
    "puf_data_statement",
    "run_report",
    "scenario_overview",
    "scenario_policies",
    "scorecard",
    "screen_variants",
    "scrub_paths",
    "settings_frame",
    "sha256_file",
    "shareable_trend",
    "table_html",
    "top_losers",
    "validate_parameters",
]
