"""What a report notebook imports: its inputs, its writer, and the report's building blocks.

A notebook does ``from analysis import report`` and calls these; it defines no function
of its own. Nothing here runs notebooks: that is :mod:`analysis.run`, which may use this
package, never the other way round.

=======================  ==============================================================
``inputs``               the shared inputs of a run (:func:`load_inputs`, the folder)
``parameters``           what a notebook's ``parameters`` cell declares
``writer``               :class:`ReportWriter`: suppressed tables, figures, headlines
``formatting``           how values are written (:func:`table_html`, headline numbers)
``excel``                the Excel workbook of every report and command (cover, tables,
                         definitions)
``labels``               human headers of columns and parameters
``provenance``           what data a report rests on (:func:`data_statement`)
``scenario_section``     the scenario table (:func:`scenario_overview`), settings
``steps``                the steps every notebook shares (read inputs, impact setup ...)
``policies``             the policies a scenario compares, the headline one
``impact_tables``        per-year, per-payer and per-practice views of an impact result
``screen_tables``        the flagged practices and the screen's variants
``figure_privacy``       the points a shared figure must not plot
``scorecard``            one practice's comparative billing report
``cheers``               the CHEERS 2022 appendix
=======================  ==============================================================
"""

from __future__ import annotations

from analysis.report.cheers import cheers_appendix
from analysis.report.figure_privacy import hidden_periods, hidden_practices, shareable_trend
from analysis.report.formatting import format_headline, table_html
from analysis.report.impact_tables import (
    impact_payers,
    impact_prices,
    impact_years,
    policy_row,
    policy_value,
    top_losers,
)
from analysis.report.inputs import SharedInputs, load_inputs
from analysis.report.labels import COLUMN_LABELS, PARAMETER_LABELS, column_labels
from analysis.report.parameters import NotebookParameter, notebook_defaults, notebook_parameters
from analysis.report.policies import pick_policy, scenario_policies
from analysis.report.provenance import data_statement, inputs_overview, puf_data_statement
from analysis.report.scenario_section import (
    KEY_ASSUMPTIONS,
    ScenarioOverview,
    scenario_overview,
    settings_frame,
)
from analysis.report.scorecard import Scorecard, scorecard
from analysis.report.screen_tables import flagged_practices, screen_variants
from analysis.report.steps import (
    ImpactSetup,
    impact_setup,
    open_inputs,
    record_loss_headlines,
    screen_options,
    show_scenario_section,
)
from analysis.report.writer import ReportWriter

__all__ = [
    "COLUMN_LABELS",
    "KEY_ASSUMPTIONS",
    "PARAMETER_LABELS",
    "ImpactSetup",
    "NotebookParameter",
    "ReportWriter",
    "ScenarioOverview",
    "Scorecard",
    "SharedInputs",
    "cheers_appendix",
    "column_labels",
    "data_statement",
    "flagged_practices",
    "format_headline",
    "hidden_periods",
    "hidden_practices",
    "impact_payers",
    "impact_prices",
    "impact_setup",
    "impact_years",
    "inputs_overview",
    "load_inputs",
    "notebook_defaults",
    "notebook_parameters",
    "open_inputs",
    "pick_policy",
    "policy_row",
    "policy_value",
    "puf_data_statement",
    "record_loss_headlines",
    "scenario_overview",
    "scenario_policies",
    "scorecard",
    "screen_options",
    "screen_variants",
    "settings_frame",
    "shareable_trend",
    "show_scenario_section",
    "table_html",
    "top_losers",
]
