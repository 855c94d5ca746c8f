"""What a report notebook imports: its inputs, its writer, and the report's building blocks.

A notebook does ``from analysis import report`` and calls these; it defines no function
of its own. Nothing here runs notebooks: that is :mod:`analysis.run`, which may use this
package, never the other way round.

=======================  ==============================================================
``inputs``               the shared inputs of a run (:func:`load_inputs`, the folder)
``parameters``           what a notebook's ``parameters`` cell declares
``writer``               :class:`ReportWriter`: answer, suppressed tables, figures, headlines
``answer``               the answer a page opens with (:func:`brief_answer` ...)
``formatting``           how values are written (:func:`table_html`, headline numbers)
``excel``                the Excel workbook of every report and command (cover, tables,
                         definitions)
``labels``               the label table: columns, policies, payers, parameters, values
``glossary``             the glossary of a page and links to it from first uses
``definitions``          the screen's and the CMS files' definitions in words
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

from analysis.report.answer import (
    Answer,
    AnswerRow,
    brief_answer,
    impact_answer,
    medicare_answer,
    scorecard_answer,
    screen_answer,
)
from analysis.report.cheers import cheers_appendix
from analysis.report.definitions import puf_definitions, screen_definitions
from analysis.report.figure_privacy import hidden_periods, hidden_practices, shareable_trend
from analysis.report.formatting import format_headline, table_html
from analysis.report.glossary import GLOSSARY, glossary_html, link_first_uses
from analysis.report.impact_tables import (
    assumption_view,
    impact_payers,
    impact_prices,
    impact_years,
    policy_row,
    policy_value,
    top_losers,
    varied_assumptions,
)
from analysis.report.inputs import SharedInputs, load_inputs
from analysis.report.labels import (
    COLUMN_LABELS,
    PARAMETER_LABELS,
    POLICY_LABELS,
    column_labels,
    parameter_label,
    policy_label,
    value_label,
)
from analysis.report.memo import once
from analysis.report.parameters import NotebookParameter, notebook_defaults, notebook_parameters
from analysis.report.policies import pick_policy, scenario_policies
from analysis.report.provenance import (
    data_label,
    data_statement,
    inputs_overview,
    puf_data_label,
    puf_data_statement,
)
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
    StopShareSetup,
    impact_setup,
    measured_aside,
    open_inputs,
    record_loss_headlines,
    screen_options,
    show_scenario_section,
    stop_share_setup,
)
from analysis.report.writer import ReportWriter

__all__ = [
    "COLUMN_LABELS",
    "GLOSSARY",
    "KEY_ASSUMPTIONS",
    "PARAMETER_LABELS",
    "POLICY_LABELS",
    "Answer",
    "AnswerRow",
    "ImpactSetup",
    "StopShareSetup",
    "NotebookParameter",
    "ReportWriter",
    "ScenarioOverview",
    "Scorecard",
    "SharedInputs",
    "assumption_view",
    "brief_answer",
    "cheers_appendix",
    "column_labels",
    "data_label",
    "data_statement",
    "flagged_practices",
    "format_headline",
    "glossary_html",
    "hidden_periods",
    "hidden_practices",
    "impact_answer",
    "impact_payers",
    "impact_prices",
    "impact_setup",
    "impact_years",
    "inputs_overview",
    "link_first_uses",
    "load_inputs",
    "medicare_answer",
    "notebook_defaults",
    "notebook_parameters",
    "once",
    "open_inputs",
    "parameter_label",
    "pick_policy",
    "policy_label",
    "policy_row",
    "policy_value",
    "puf_data_label",
    "puf_data_statement",
    "puf_definitions",
    "record_loss_headlines",
    "scenario_overview",
    "scenario_policies",
    "scorecard",
    "scorecard_answer",
    "screen_answer",
    "screen_definitions",
    "screen_options",
    "screen_variants",
    "settings_frame",
    "shareable_trend",
    "show_scenario_section",
    "measured_aside",
    "stop_share_setup",
    "table_html",
    "top_losers",
    "value_label",
    "varied_assumptions",
]
