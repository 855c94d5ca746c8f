"""rad3d: revenue impact and LCD-threshold screening of 3D rendering (CPT 76376/76377).

Import the package as ``analysis``. The functions an economist calls in a notebook are
re-exported here; every module is also importable on its own (``analysis.lcd``,
``analysis.impact`` ...), one module per concept:

========================  =============================================================
``codes``                 CT/MR, 3D and "do not report with" code sets; ICD-10 sets
``fees``                  Medicare PFS pricing from the real CMS RVU and GPCI files
``claims``                loading, repair, validation, quarantine and reconciliation
``synth``                 the synthetic North Carolina claims generator (the sample)
``encounters``            CT/MR encounters and the linking of 3D lines to them
``summary``               the additive practice x period x payer summary
``lcd``                   the screen against the retired Novitas LCD L35408 benchmark
``policy``                payment policies (status quo, bundling, LCD cap, necessity)
``impact``                the budget-impact model
``uncertainty``           scenarios, one-way sensitivity (tornado) and PSA
``plots``                 matplotlib figures (returned, never shown or saved)
``puf``                   the Medicare "by Provider and Service" public-data pathway
``privacy``               small-cell suppression and identifier scans for shared output
``reports``               papermill runs, HTML export, manifests (``rad3d report``)
``scale``                 streaming and Dask engines for claims of any size
========================  =============================================================
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from analysis.claims import LoadResult, ValidationReport, load_claims, validate_lines
from analysis.codes import (
    CODES_3D,
    ct_mr_codes,
    do_not_report_with,
    excluded_with,
    in_icd10_set,
    is_3d,
    is_angiography,
    is_ct_mr,
    modality,
    normalize_cpt,
)
from analysis.encounters import Linked, LinkSettings, link
from analysis.errors import InputError
from analysis.fees import (
    component_from_modifiers,
    conversion_factor,
    fee_table,
    load_gpci,
    load_rvu,
    mac_jurisdiction,
    price,
    setting_from_pos,
    state_locality,
)
from analysis.impact import ImpactAssumptions, ImpactResult, impact_base
from analysis.lcd import LCD_STATUS, ScreenResult, ScreenSettings, screen
from analysis.plots import (
    convergence_plot,
    funnel_plot,
    impact_by_year,
    loss_distribution,
    policy_comparison,
    psa_histogram,
    rate_distribution,
    tornado_plot,
    trend_plot,
)
from analysis.policy import (
    Policy,
    full_bundling,
    get_policy,
    lcd_cap,
    medical_necessity,
    status_quo,
)
from analysis.privacy import scan_for_identifiers, suppress_counts
from analysis.puf import (
    estimate_exposure,
    medicare_benchmark,
    read_geography_service,
    read_provider_service,
    screen_puf,
    summarize_puf,
)
from analysis.summary import (
    add_summaries,
    period,
    practice_totals,
    summarize,
    summarize_linked,
    summarize_partitions,
)
from analysis.synth import SAMPLE_CLAIMS, Synthetic, damage, generate, write_synthetic
from analysis.uncertainty import one_way, psa, run_scenarios

try:
    __version__ = version("rad3d")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "CODES_3D",
    "LCD_STATUS",
    "SAMPLE_CLAIMS",
    "ImpactAssumptions",
    "ImpactResult",
    "InputError",
    "LinkSettings",
    "Linked",
    "LoadResult",
    "Policy",
    "ScreenResult",
    "ScreenSettings",
    "Synthetic",
    "ValidationReport",
    "__version__",
    "add_summaries",
    "component_from_modifiers",
    "conversion_factor",
    "convergence_plot",
    "ct_mr_codes",
    "damage",
    "do_not_report_with",
    "estimate_exposure",
    "excluded_with",
    "fee_table",
    "full_bundling",
    "funnel_plot",
    "generate",
    "get_policy",
    "impact_base",
    "impact_by_year",
    "in_icd10_set",
    "is_3d",
    "is_angiography",
    "is_ct_mr",
    "lcd_cap",
    "link",
    "load_claims",
    "load_gpci",
    "load_rvu",
    "loss_distribution",
    "mac_jurisdiction",
    "medical_necessity",
    "medicare_benchmark",
    "modality",
    "normalize_cpt",
    "one_way",
    "period",
    "policy_comparison",
    "practice_totals",
    "price",
    "psa",
    "psa_histogram",
    "rate_distribution",
    "read_geography_service",
    "read_provider_service",
    "run_scenarios",
    "scan_for_identifiers",
    "screen",
    "screen_puf",
    "setting_from_pos",
    "state_locality",
    "status_quo",
    "summarize",
    "summarize_linked",
    "summarize_partitions",
    "summarize_puf",
    "suppress_counts",
    "tornado_plot",
    "trend_plot",
    "validate_lines",
    "write_synthetic",
]
