"""The words a committee reads instead of identifiers: one label table.

Columns get headers with their unit (:data:`COLUMN_LABELS`, :func:`column_labels`),
policy kinds and payers their names (:data:`POLICY_LABELS`, :data:`PAYER_LABELS`),
parameters and settings their names (:data:`PARAMETER_LABELS`), and the coded values
of a few columns their words (:data:`VALUE_LABELS`, :func:`value_label`). Pages,
figures, the Excel workbooks and the command line take them from here; the saved CSV
keep the column names and codes (the workbooks' Definitions sheet pairs the two), so
that a reader of the data and a reader of the page each get what they need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analysis.policy import POLICY_NAMES

__all__ = [
    "COLUMN_LABELS",
    "NOTEBOOK_LABELS",
    "PARAMETER_LABELS",
    "PAYER_LABELS",
    "POLICY_LABELS",
    "VALUE_LABELS",
    "column_labels",
    "header",
    "parameter_label",
    "payer_label",
    "policy_label",
    "value_label",
]

#: Column headers of shown tables and workbooks (units in brackets); the CSV keep the names.
COLUMN_LABELS = {
    "practice_id": "Practice", "policy": "Policy", "payer": "Payer", "year": "Year",
    "year_start": "Year starts", "period": "Period", "scenario": "Scenario",
    "n_ct_mr": "CT/MR imaging (count)", "n_3d": "With 3D rendering (count)",
    "rate": "Rate (%)",
    "ci_low": "CI low (%)", "ci_high": "CI high (%)", "p_value": "p (exact)",
    "q_value": "q (BH)", "flag": "Flagged", "shrunken_rate": "Shrunken rate (%)",
    "prob_above": "P(rate > benchmark) (%)", "percentile": "Peer percentile (%)",
    "expected_n_3d": "3D expected at the benchmark (count)",
    "excess_n_3d": "Excess 3D (count)", "usd_per_3d": "Allowed per 3D ($)",
    "excess_usd": "Excess 3D ($)",
    "flag_exact": "Exact test", "flag_percentile": "Percentile", "flag_shrinkage":
    "Shrinkage", "above_exact_998": "Above 99.8% limit",
    "in_force_share": "Year in force (%)",
    "revenue_without_usd": "3D revenue without policy ($)",
    "revenue_with_usd": "3D revenue with policy ($)",
    "loss_usd": "Loss ($)", "loss_share": "Share of 3D revenue lost (%)",
    "loss_pv_usd": "Loss, present value ($)", "net_margin_loss_usd": "Net margin loss ($)",
    "payer_savings_usd": "Payer savings ($)", "patient_savings_usd": "Patient savings ($)",
    "n_practices_losing": "Practices losing", "n_practices": "Practices",
    "loss_year1_usd": "Loss, year 1 ($)", "loss_share_year1": "Share lost, year 1 (%)",
    "periods_observed": "Periods with claim lines", "annualization_factor": "Annualized (x)",
    "variant": "Screen variant", "n_practices_screened": "Practices screened",
    "n_practices_above_threshold": "Above benchmark (raw rate)",
    "n_practices_flagged": "Flagged (leading tier)", "flagged": "Flagged",
    "n_practices_beyond_chance": "Beyond chance (exact test, BH)",
    "label": "Parameter", "value": "Value", "low": "Low", "high": "High",
    "outcome_low": "Result at low ($)", "outcome_high": "Result at high ($)",
    "swing": "Swing ($)", "distribution": "Distribution", "unit": "Unit",
    "source": "Source", "metric": "Measure", "deterministic": "Deterministic ($)",
    "mean": "Mean ($)", "median": "Median ($)", "lower": "95% lower ($)",
    "upper": "95% upper ($)", "mcse": "MC std. error ($)", "n_draws": "Draws",
    "rel_change": "Relative change (%)", "stable": "Stable",
    "n_3d_lines": "3D lines", "n_noncompliant_3d_lines": "Non-compliant 3D lines",
    "n_orphan_3d_lines": "Orphan 3D lines", "n_separate_date_3d_lines":
    "3D lines on a later date", "n_unpriced_3d_lines": "3D lines without allowed $",
    "noncompliant_allowed_usd": "Non-compliant allowed ($)",
    "setting": "Setting", "this_scenario": "This scenario", "default": "Default",
    "note": "Note / source", "measure": "Measure", "practice": "This practice",
    "peer_median": "Peer median", "benchmark": "Benchmark", "screen": "Screen",
    "rule": "Rule", "item": "Item", "topic": "Topic",
    "rendering_npi": "Rendering NPI", "n_rendering_npis": "Rendering NPIs",
    "base": "Base case", "fitted": "Fitted distribution", "fit_low": "Fitted 2.5% quantile",
    "fit_high": "Fitted 97.5% quantile", "fit_error_low_pct": "Error at low (%)",
    "fit_error_high_pct": "Error at high (%)", "psa_mean": "Mean of the draws",
    "psa_median": "Median of the draws", "base_is": "Base case is the",
    # The other columns of the saved tables and of the workbooks of rad3d lcd, impact, puf.
    "above_benchmark": "Above the benchmark", "above_exact_95": "Above 95% limit",
    "above_phi_95": "Above 95% limit, widened by phi",
    "above_phi_998": "Above 99.8% limit, widened by phi",
    "above_tau_95": "Above 95% limit, widened by tau",
    "above_tau_998": "Above 99.8% limit, widened by tau", "agree": "Screens agree",
    "allowed_geography_usd": "Allowed, geography file ($)",
    "allowed_provider_usd": "Allowed, provider file ($)", "basis": "Screen basis",
    "beyond_chance": "Beyond chance", "beyond_variation": "Beyond the usual variation",
    "codes": "Codes", "column": "Column", "cost_avoided_usd": "Practice cost avoided ($)",
    "cpt_code": "CPT code", "description": "Description", "discount_factor": "Discount factor",
    "effective_date": "Effective date", "excess_usd_priced_by": "Excess ($) priced by",
    "flag_at_lower": "Flagged at the lower bound", "flag_at_upper": "Flagged at the upper bound",
    "flag_status": "Flag status", "funnel_z": "Funnel z-score",
    "funnel_lo95": "Funnel 95% lower limit (%)", "funnel_hi95": "Funnel 95% upper limit (%)",
    "funnel_lo998": "Funnel 99.8% lower limit (%)",
    "funnel_hi998": "Funnel 99.8% upper limit (%)",
    "phi_hi95": "95% upper limit, widened by phi (%)",
    "phi_hi998": "99.8% upper limit, widened by phi (%)",
    "tau_hi95": "95% upper limit, widened by tau (%)",
    "tau_hi998": "99.8% upper limit, widened by tau (%)",
    "gap_allowed_usd": "Allowed missing from the provider file ($)",
    "gap_services": "Services missing from the provider file",
    "gap_share": "Share missing from the provider file (%)",
    "hidden_3d_units_max": "Hidden 3D services, at most", "hidden_cells_3d": "Hidden 3D cells",
    "hidden_cells_ct_mr": "Hidden CT/MR cells",
    "hidden_ct_mr_units_max": "Hidden CT/MR services, at most",
    "indications": "Qualifying indications", "jurisdiction": "MAC jurisdiction",
    "kind": "Kind of policy", "level": "Interval level", "mac": "MAC",
    "max_practice_loss_share": "Largest practice share lost (%)",
    "n_encounters": "CT/MR encounters, all", "n_encounters_3d": "CT/MR encounters with 3D, all",
    "n_onc_encounters": "Oncology CT/MR encounters",
    "n_onc_encounters_3d": "Oncology CT/MR encounters with 3D",
    "n_providers_geography": "Providers, geography file",
    "n_rendering_npis_provider": "Rendering NPIs, provider file", "n_rows": "Rows",
    "estimate": "Estimate", "medicare_3d_services": "Medicare 3D services",
    "medicare_3d_allowed_usd": "Medicare 3D allowed ($)",
    "payer_3d_services": "Payer 3D services", "payer_3d_allowed_usd": "Payer 3D allowed ($)",
    "name": "Name", "noncompliant_allowed_year1_usd": "Non-compliant allowed, year 1 ($)",
    "oncology_exempt": "Oncology exempt", "outcome_base": "Result at base ($)",
    "parameter": "Parameter (name)", "payers": "Payers", "point": "Point estimate",
    "practice_ids": "Which practices", "practice_name": "Practice name",
    "provider_name": "Provider name", "quantity": "Quantity",
    "rate_lower": "Rate, lower bound (%)", "rate_upper": "Rate, upper bound (%)",
    "reason": "Reason", "renderings_unpaid": "Renderings unpaid",
    "robust": "Robust to suppression", "row": "Row",
    "scope_share": "Share of business in scope (%)", "screened": "Screened",
    "sd": "Std. deviation ($)", "services": "Services",
    "services_geography": "Services, geography file",
    "services_provider": "Services, provider file", "state": "State",
    "state_fips": "State FIPS code", "status": "Status", "text": "Text",
    "threshold": "Threshold", "too_few": "Too few to judge", "std": "Std. deviation",
    "min": "Minimum", "max": "Maximum", "50%": "50th percentile", "90%": "90th percentile",
    "99%": "99th percentile",
    "fee_year": "Fee schedule of", "rvu_vintage": "RVU file", "gpci_vintage": "GPCI file",
    "conversion_factor": "Conversion factor ($)", "price_index": "Price index (baseline = 1)",
    "years_after_schedule": "Years of fee update", "fee_schedule": "Priced by",
    "price_factor": "Prices ÷ baseline prices",
    # The measured response (analysis.response) as the revenue model takes it.
    "control": "Control payer", "stop_share": "Stop share (%)",
    "stop_share_ci_low": "Stop share, 95% low (%)",
    "stop_share_ci_high": "Stop share, 95% high (%)",
    "pretrend_p_value": "Pre-trend test (p)", "n_pre_quarters": "Quarters before",
    "n_post_quarters": "Quarters after", "stop_share_source": "Stop share",
    # the quarterly trends (analysis.trends)
    "quarter_start": "Quarter starts", "after_effective_date": "From the policy date",
    "judged": "Judged", "change": "Change of flag status",
    "first_status": "Status in the first quarter judged",
    "last_status": "Status in the last quarter judged", "flagged_quarters": "Quarters flagged",
    "periods_flagged": "Quarters flagged (number)", "periods_judged": "Quarters judged",
    "first_period": "First quarter with claims", "last_period": "Last quarter with claims",
    "n_practices_above_benchmark": "Above benchmark (practices)",
    "n_practices_too_few": "Too few to judge (practices)",
}

#: Human labels of the notebook parameters (scenario tables).
PARAMETER_LABELS = {
    "headline_policy": "Policy of the headline numbers",
    "policies": "Policies compared",
    "policy_payers": "Payers applying the policy",
    "commercial_multiplier": "Commercial price ÷ Medicare fee schedule price",
    "medicaid_multiplier": "Medicaid price ÷ Medicare fee schedule price",
    "self_pay_multiplier": "Self-pay collections ÷ Medicare fee schedule price",
    "horizon_years": "Horizon (years)",
    "effective_date": "Policy effective date",
    "start_date": "First day of horizon year 1",
    "medicare_multiplier": "Medicare price ÷ Medicare fee schedule price",
    "annualization_factor": "Year 1 scaled from the baseline claims (x)",
    "fee_schedule_baseline": "Fee schedule of the baseline claims (price index)",
    "ci_level": "Interval level",
    "percentile_flag": "Peer percentile that flags",
    "shrinkage": "Shrinkage prior fitted by",
    "min_volume": "Fewest CT/MR encounters judged",
    "funnel_method": "Scale of the overdispersion",
    "oncology_exemption_applied": "Oncology exemption applied",
    "payers": "Payers screened",
    "payer": "Payer",
    "max_hidden_beneficiaries": "Most beneficiaries in a hidden row",
    "places": "Places of service where hidden rows are counted",
    "commercial_to_medicare_volume_low": "Commercial ÷ Medicare FFS 3D services, low",
    "commercial_to_medicare_volume_high": "Commercial ÷ Medicare FFS 3D services, high",
    "bcbs_share_of_commercial_low": "BCBS NC share of commercial 3D services, low",
    "bcbs_share_of_commercial_high": "BCBS NC share of commercial 3D services, high",
    "commercial_multiplier_low": "Commercial price ÷ Medicare fee schedule price, low",
    "commercial_multiplier_high": "Commercial price ÷ Medicare fee schedule price, high",
    "crosswalk_file": "NPI-to-practice crosswalk file",
    "rollup": "Providers rolled up to",
    "exposure_state": "State of the payer exposure estimate",
    "bound_places": "Places of service where hidden rows are counted",
    "scope_share": "Share of the payer's business in scope",
    "threshold": "LCD benchmark (share of CT/MR encounters with 3D)",
    "cap_threshold": "LCD-style cap (paid share of non-oncology encounters)",
    "basis": "Screen basis",
    "exempt_oncology": "Oncology encounters exempt",
    "alpha": "False discovery rate (BH)",
    "ci": "Interval method",
    "periods": "Periods screened",
    "volume_growth": "Annual volume growth after year 1",
    "fee_update": "Annual price change after the last known fee schedule (2026)",
    "prices": "Prices of the horizon years",
    "stop_share": "Share of unpaid renderings stopped",
    "cost_per_rendering_usd": "Practice cost avoided per rendering stopped ($)",
    "payer_cost_share": "Payer share of the allowed amount",
    "discount_rate": "Discount rate (present value)",
    "n_draws": "PSA draws",
    "exposure_draws": "Draws of the exposure estimate",
    "seed": "Random seed",
    "claims": "Claims files",
    "link_window_days": "Link window (days)",
    "min_cell_count": "Smallest count shown",
    "internal": "Internal run",
    "commercial_to_medicare_volume": "Commercial ÷ Medicare FFS 3D services",
    "bcbs_share_of_commercial": "BCBS NC share of commercial 3D services",
    "states": "Provider states screened",
    "jurisdictions": "MAC jurisdictions screened",
    "data_year": "Data year of the CMS files",
    "services_per_beneficiary": "Services per beneficiary in a hidden row",
    "puf_file": "CMS provider file",
    "geography_file": "CMS geography file",
    "scenario_dir": "Folder of saved scenario files",
}


#: Names of the policy kinds in tables, figures and text (defined beside the kinds,
#: :data:`analysis.policy.POLICY_NAMES`, where the figures take them too).
POLICY_LABELS = POLICY_NAMES

#: Names of the payer labels of the claims.
PAYER_LABELS = {
    "BCBSNC": "BCBS NC", "MEDICARE": "Medicare", "MEDICAID": "Medicaid",
    "OTHER_COMMERCIAL": "Other commercial", "SELF_PAY": "Self-pay",
}

#: Names of the report pages (one per notebook).
NOTEBOOK_LABELS = {
    "policy_brief": "Policy brief", "lcd_screen": "LCD-benchmark screen",
    "revenue_impact": "Revenue impact", "practice_scorecard": "Practice scorecard",
    "medicare_benchmark": "Medicare public data", "what_if": "What-if",
}

#: Words for the coded values of a column (or a setting) where a page shows them.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "policy": POLICY_LABELS,
    "headline_policy": POLICY_LABELS,
    "policies": POLICY_LABELS,
    "payer": PAYER_LABELS,
    "policy_payers": PAYER_LABELS,
    "metric": {
        "loss_usd": "Loss to practices", "net_margin_loss_usd": "Net margin loss to practices",
        "payer_savings_usd": "Payer savings", "patient_savings_usd": "Patient savings",
        "revenue_without_usd": "3D revenue without the policy",
    },
    "distribution": {
        "lognormal": "lognormal", "gamma": "gamma", "beta": "beta", "normal": "normal",
        "censored_normal": "normal, censored at 0",
        "log_complement": "1 − lognormal (a ratio), censored at 0", "pert": "PERT",
        "uniform": "uniform",
        "fixed": "fixed (not drawn)",
    },
    "quantity": {
        "medicare_3d_services": "Medicare 3D services",
        "medicare_3d_allowed_usd": "Medicare 3D allowed dollars",
        "payer_3d_services": "Payer 3D services (estimate)",
        "payer_3d_allowed_usd": "Payer 3D allowed dollars (estimate)",
    },
    "estimate": {
        "point": "Central assumptions", "mean": "Mean of the draws",
        "low": "Low end (2.5% quantile)", "high": "High end (97.5% quantile)",
    },
    "item": {
        "rows_read": "Rows read", "rows_kept": "Rows kept (3D and CT/MR codes, states screened)",
        "rows_out_of_scope_code": "Rows with other codes",
        "rows_out_of_scope_geography": "Rows of other states",
        "rows_quarantined": "Rows quarantined", "rows_malformed": "Rows malformed",
        "rows_invalid_value": "Rows with an invalid value", "services_kept": "Services kept",
        "allowed_kept_usd": "Allowed dollars kept ($)", "rows_in": "Rows rolled up",
        "rows_dropped": "Rows dropped", "npis_unmatched": "NPIs not in the crosswalk",
        "practices": "Practices",
    },
    "basis": {"encounters": "encounters", "services": "services"},
    "unit": {"encounters": "encounters", "services": "services"},
    "ci": {"clopper-pearson": "Clopper–Pearson (exact)", "wilson": "Wilson score"},
    "shrinkage": {"mle": "maximum likelihood", "moments": "method of moments"},
    "funnel_method": {"rate": "rate scale", "arcsine": "arcsine scale (FunnelPlotR)"},
    "stop_share": {"measured": "measured from the claims (difference in differences)"},
    "stop_share_source": {"assumed": "assumed", "measured": "measured from the claims"},
    "prices": {"fee_schedule": "each year at its own Medicare fee schedule",
               "baseline": "the baseline's prices, moved by the fee update"},
    "places": {"observed": "where the provider has rows", "all": "every place of service"},
    "bound_places": {"observed": "where the provider has rows", "all": "every place of service"},
    "rollup": {"npi": "each rendering NPI", "organization": "organizations"},
}


def policy_label(kind: str) -> str:
    """The name of a policy kind (or a policy's name) as a committee reads it.

    >>> policy_label("full_bundling"), policy_label("my policy")
    ('Full bundling (BCBS NC, 2024)', 'my policy')
    """
    return POLICY_LABELS.get(str(kind), str(kind))


def payer_label(payer: str) -> str:
    """The name of a payer label of the claims.

    >>> payer_label("SELF_PAY")
    'Self-pay'
    """
    return PAYER_LABELS.get(str(payer), str(payer))


def parameter_label(name: str) -> str:
    """The name of a parameter or setting: its label, else the name made readable
    (``fee_schedule_year_2`` reads "Fee schedule of horizon year 2 (price index)").

    >>> parameter_label("horizon_years"), parameter_label("fee_schedule_year_2")
    ('Horizon (years)', 'Fee schedule of horizon year 2 (price index)')
    """
    if name in PARAMETER_LABELS:
        return PARAMETER_LABELS[name]
    if name.startswith("fee_schedule_year_"):
        return f"Fee schedule of horizon year {name.rsplit('_', 1)[1]} (price index)"
    return header(name, {})


def value_label(column: str, value: object) -> object:
    """A coded value in words (:data:`VALUE_LABELS` of its column); a list of codes is
    joined; anything else is returned as it is.

    >>> value_label("policy", "lcd_cap"), value_label("policies", ["status_quo", "lcd_cap"])
    ('Cap at the LCD benchmark', 'No change (status quo), Cap at the LCD benchmark')
    """
    words = VALUE_LABELS.get(str(column))
    if words is None:
        return value
    if isinstance(value, str):
        return words.get(value, value)
    if isinstance(value, Sequence):
        return ", ".join(str(words.get(str(v), v)) for v in value)
    return value


def column_labels(*, horizon_years: int | None = None, basis: str = "encounters"
                  ) -> dict[str, str]:
    """:data:`COLUMN_LABELS` with the horizon and the screen basis spelled out.

    Horizon sums say over how many years (``Loss over 3 years ($)``) so that no
    reader takes them for annual figures; the LCD screen's counts say what they count
    (``CT/MR encounters``, ``3D encounters``, or services on the services basis).

    >>> column_labels(basis="services")["n_3d"], column_labels()["n_ct_mr"]
    ('3D services', 'CT/MR encounters')
    """
    labels = dict(COLUMN_LABELS)
    unit = "services" if basis == "services" else "encounters"
    labels.update({
        "n_ct_mr": f"CT/MR {unit}", "n_3d": f"3D {unit}",
        "expected_n_3d": f"3D {unit} expected at the benchmark",
        "excess_n_3d": f"Excess 3D {unit}", "usd_per_3d": f"Allowed per 3D {unit[:-1]} ($)",
    })
    if horizon_years is not None:
        span = f"{horizon_years} year{'s' if horizon_years != 1 else ''}"
        labels.update({
            "loss_horizon_usd": f"Loss over {span} ($)",
            "loss_horizon_share": f"Share lost over {span} (%)",
            "revenue_without_horizon_usd": f"3D revenue without policy, {span} ($)",
            "net_margin_loss_horizon_usd": f"Net margin loss over {span} ($)",
            "payer_savings_horizon_usd": f"Payer savings over {span} ($)",
            "patient_savings_horizon_usd": f"Patient savings over {span} ($)",
            "loss_pv_usd": f"Loss over {span}, present value ($)",
        })
    return labels


def header(column: str, labels: Mapping[str, str]) -> str:
    """The header shown for ``column``: its label, else its name made readable.

    >>> header("extra_cost_usd", {})
    'Extra cost ($)'
    """
    if column in labels:
        return labels[column]
    text = column.replace("_usd", " ($)").replace("_", " ")
    return text[:1].upper() + text[1:]
