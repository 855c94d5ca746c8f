"""rad3d: revenue impact and LCD-threshold screening of 3D rendering (CPT 76376/76377).

Import the package as ``analysis``. The functions an economist calls in a notebook are
re-exported here; every module is also importable on its own (``analysis.lcd``,
``analysis.impact`` ...), one module per concept:

========================  =============================================================
``paths``                 every path the package knows (reference data, samples)
``schema``                the canonical claims columns, dtypes and field shapes
``defaults``              shared defaults (LCD benchmark, alpha, link window, cell size)
``errors``                the one user-error type, InputError
``npi``                   the NPI check digit
``codes``                 CT/MR, 3D and "do not report with" code sets; ICD-10 sets
``claims``                loading, repair, validation, quarantine and reconciliation
``pricing``               Medicare PFS pricing from the real CMS RVU and GPCI files
``fees``                  the former name of ``pricing`` (kept for one release)
``puf``                   the Medicare "by Provider and Service" public-data pathway
``synth``                 the synthetic North Carolina claims and PUF generator
``scale``                 streaming and Dask engines for claims of any size
``encounters``            CT/MR encounters and the linking of 3D lines to them
``summary``               the additive practice x period x payer summary
``lcd``                   the screen against the retired Novitas LCD L35408 benchmark
``rate_stats``            the screen's statistics: intervals, q-values, funnel, shrinkage
``policy``                payment policies (status quo, bundling, LCD cap, necessity)
``assumptions``           the revenue model's assumption table with ranges and sources
``impact``                the budget-impact model (``revenue_base``, ``revenue_engine``)
``response``              the measured response: difference in differences, event study
``measured``              the measured response as the model's stop share ("measured")
``trends``                PEPPER-style quarterly trends of rate, volume and flag status
``baseline``              the claims year 1 of the impact model rests on
``uncertainty``           scenarios, tornado, PSA (``distributions``, ``convergence``)
``privacy``               small-cell and complementary suppression of shown tables
``disclosure``            the cells a report withholds, decided once over all its views
``plots``                 matplotlib figures (returned, never shown or saved)
``report``                what a report notebook imports: inputs, writer, narrative
``whatif``                the live what-if: the revenue model on controls (ipywidgets)
``run``                   ``rad3d report``: jobs, HTML export, identifier scan, manifest
``reports``               the former name of ``report`` and ``run`` (kept for one release)
``cli``                   the ``rad3d`` command, one module per subcommand
========================  =============================================================
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# The API is resolved on first use (PEP 562), not imported here: ``import analysis``
# runs whenever any submodule is imported, and the command line (``rad3d --help``,
# ``rad3d fees``) must not pay for pandas, scipy and matplotlib it does not use.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "claims": ("LoadResult", "ValidationReport", "load_claims", "validate_lines"),
    "codes": (
        "CODES_3D",
        "ct_mr_codes",
        "do_not_report_with",
        "excluded_with",
        "in_icd10_set",
        "is_3d",
        "is_angiography",
        "is_ct_mr",
        "modality",
        "normalize_cpt",
    ),
    "baseline": ("Baseline", "baseline_year"),
    "encounters": ("Linked", "LinkSettings", "link"),
    "errors": ("InputError",),
    "paths": ("sample_claims", "sample_practices"),
    "pricing": (
        "component_from_modifiers",
        "conversion_factor",
        "fee_table",
        "load_gpci",
        "load_rvu",
        "mac_jurisdiction",
        "price",
        "setting_from_pos",
        "state_locality",
    ),
    "impact": ("ImpactAssumptions", "ImpactResult", "impact_base"),
    "lcd": ("LCD_STATUS", "ScreenResult", "ScreenSettings", "screen"),
    "measured": ("MeasuredStopShare", "measure_stop_share"),
    "plots": (
        "convergence_plot",
        "event_study_plot",
        "funnel_plot",
        "impact_by_year",
        "loss_distribution",
        "policy_comparison",
        "psa_histogram",
        "quarterly_trend_plot",
        "rate_distribution",
        "tornado_plot",
        "trend_plot",
    ),
    "policy": (
        "Policy",
        "full_bundling",
        "get_policy",
        "lcd_cap",
        "medical_necessity",
        "status_quo",
    ),
    "privacy": ("suppress_counts",),
    "response": ("ResponseResult", "ResponseSettings", "estimate_response"),
    "run.identifiers": ("scan_for_identifiers",),
    "trends": ("TrendResult", "quarterly_trends"),
    "puf": (
        "estimate_exposure",
        "medicare_benchmark",
        "read_geography_service",
        "read_provider_service",
        "screen_puf",
        "summarize_puf",
    ),
    "summary": (
        "add_summaries",
        "period",
        "practice_totals",
        "summarize",
        "summarize_linked",
        "summarize_partitions",
    ),
    "synth": (
        "SAMPLE_CLAIMS",
        "Synthetic",
        "damage",
        "generate",
        "generate_years",
        "write_synthetic",
    ),
    "uncertainty": ("one_way", "psa", "run_scenarios"),
    "whatif": ("WhatIf", "WhatIfSettings"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

try:
    __version__ = version("rad3d")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = sorted([*_MODULE_OF, "__version__"])


def __getattr__(name: str) -> Any:
    """An exported name (``analysis.screen``) or a submodule (``analysis.lcd``)."""
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if not name.startswith("__"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise  # the submodule exists but something it imports does not
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    submodules = [m.name for m in pkgutil.iter_modules(__path__)]
    return sorted({*globals(), *__all__, *submodules})
