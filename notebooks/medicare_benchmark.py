# %% [markdown]
# # Medicare public data: 3D rendering against CT/MR volume, provider by provider

# %% tags=["parameters"]
scenario_name: str = "adhoc"  # scenario label (rad3d report sets it from the scenario file)
scenario_title: str = ""  # scenario title (rad3d report sets it from the scenario file)
scenario_description: str = ""  # scenario description (rad3d report sets it from the scenario file)
output_dir: str = ""  # folder for figures, tables and results.json (set by rad3d report)
seed: int = 20240901  # seed of the random generator (exposure Monte Carlo)
min_cell_count: int = 11  # smallest count shown; 1 to 10 are suppressed (CMS cell-size rule)
internal: bool = False  # internal run only: required to lower min_cell_count; marks the report
puf_file: str = ""  # CMS by-Provider-and-Service CSV (28 or 29 columns); empty means the bundled synthetic sample
geography_file: str = ""  # CMS by-Geography-and-Service CSV; empty means the sample's own file when puf_file is empty, else none
data_year: int = 2023  # data year of the files (the files do not say)
states: list[str] = ["NC"]  # provider states screened, e.g. ["NC"]; empty means use jurisdictions
jurisdictions: list[str] = []  # MAC jurisdictions screened when states is empty, e.g. ["JH", "JL"] (Novitas); both empty means all states
rollup: str = "npi"  # npi (each rendering NPI a practice) or organization (entity code O rows only)
crosswalk_file: str = ""  # optional NPI -> practice CSV (rendering_npi, practice_id[, practice_name])
threshold: float = 0.20  # benchmark share of CT/MR services with 3D (retired Novitas L35408)
alpha: float = 0.05  # false discovery rate of the Benjamini-Hochberg flags
services_per_beneficiary: float = 2.0  # [A] most services per beneficiary in a suppressed row (a suppressed row has at most 10 beneficiaries)
bound_places: str = "observed"  # places of service where hidden rows are counted: observed (where the NPI has rows) or all
exposure_state: str = "NC"  # state of the public-data payer exposure estimate
commercial_to_medicare_volume: float = 1.5  # [A] commercial 3D services per Medicare FFS 3D service (range below)
commercial_to_medicare_volume_low: float = 0.8  # [A] low end of its 95 % range
commercial_to_medicare_volume_high: float = 2.5  # [A] high end of its 95 % range
bcbs_share_of_commercial: float = 0.45  # [S/A] BCBS NC share of commercial 3D services (3.86 M members 2020; SHP left 2025)
bcbs_share_of_commercial_low: float = 0.35  # [A] low end of its 95 % range
bcbs_share_of_commercial_high: float = 0.55  # [A] high end of its 95 % range
commercial_multiplier: float = 1.8  # [S/A] commercial price per Medicare price for radiology (Urban Institute, FAIR Health)
commercial_multiplier_low: float = 1.2  # [A] low end of its 95 % range
commercial_multiplier_high: float = 2.5  # [A] high end of its 95 % range
exposure_draws: int = 100000  # Monte Carlo draws of the exposure estimate (its interval stable within 1% of the mean)

# %%
import numpy as np

from analysis import plots, puf, report

rpt = report.ReportWriter(output_dir, notebook="medicare_benchmark", scenario=scenario_name,
                          scenario_title=scenario_title, min_cell_count=min_cell_count,
                          internal=internal, labels=report.column_labels(basis="services"))
provider_file = puf_file or puf.sample_paths()["provider"]
rpt.state_data(report.puf_data_statement(provider_file),
               short=report.puf_data_label(provider_file))
bounds = puf.SuppressionBounds(services_per_beneficiary=services_per_beneficiary,
                               places=bound_places)
assumptions = puf.ExposureAssumptions(
    commercial_to_medicare_volume=commercial_to_medicare_volume,
    commercial_to_medicare_volume_low=commercial_to_medicare_volume_low,
    commercial_to_medicare_volume_high=commercial_to_medicare_volume_high,
    bcbs_share_of_commercial=bcbs_share_of_commercial,
    bcbs_share_of_commercial_low=bcbs_share_of_commercial_low,
    bcbs_share_of_commercial_high=bcbs_share_of_commercial_high,
    commercial_multiplier=commercial_multiplier,
    commercial_multiplier_low=commercial_multiplier_low,
    commercial_multiplier_high=commercial_multiplier_high,
)
run = puf.medicare_benchmark(
    puf_file or None,
    states=states or None,
    jurisdictions=(jurisdictions or None) if not states else None,
    rollup=rollup,
    crosswalk=crosswalk_file or None,
    geography=geography_file or None,
    period=data_year,
    threshold=threshold,
    alpha=alpha,
    bounds=bounds,
    exposure_state=exposure_state,
    assumptions=assumptions,
    n_draws=exposure_draws,
    rng=np.random.default_rng(seed),
)

# %%
rpt.answer(report.medicare_answer(run, assumptions, threshold=threshold, alpha=alpha))

# %% [markdown]
# **Question.** Using only public CMS data, which rendering providers bill 3D rendering
# (CPT 76376/76377) on more than the benchmark share of their CT and MR services, and
# what does Medicare's 3D volume imply for a commercial payer's exposure to a bundling
# policy such as BCBS NC's (2024)?
#
# **Data.** CMS "Medicare Physician & Other Practitioners — by Provider and Service"
# (one row per rendering NPI × HCPCS code × place of service, ≈ 9.7 million rows a year)
# and "— by Geography and Service" (state and national totals). Without a file the
# bundled *synthetic* sample in the real layout is used — its numbers describe no real
# provider.
#
# **The benchmark and its status.** Novitas LCD L35408 (effective 2015-10-01,
# **retired 2023-09-28**) expected no more than 20 % of a practice's CT and MR imaging to
# be submitted with 3D rendering. The 20 % test here is a benchmark drawn from a retired
# LCD, not an active coverage rule. The public file has no patients or encounters, so the
# rate is on the **services basis**: 3D services ÷ CT/MR services, with no oncology
# exemption possible (units carry no diagnosis). The glossary at the end explains the
# statistical terms.
#
# ## Key numbers

# %%
dollars = run.exposure.table.set_index("quantity").loc["payer_3d_allowed_usd"]
rpt.headline("n_providers_screened", int(run.screen.table["screened"].sum()),
             label="Providers or practices screened")
rpt.headline("n_providers_flagged", int(run.screen.table["flag"].sum()),
             label=f"Flagged (exact test, BH q < {alpha:g}), visible rows")
rpt.headline("n_providers_flagged_robust",
             int((run.screen.table["flag"] & run.screen.table["robust"]).sum()),
             label="Flags robust to the rows CMS leaves out")
rpt.headline("payer_3d_allowed_usd", round(float(dollars["point"])), unit="usd",
             label=f"{assumptions.payer} 3D allowed dollars a year in {exposure_state} "
                   "(estimate)",
             note=f"95% interval ${dollars['low']:,.0f} to ${dollars['high']:,.0f}; "
                  "public data")
rpt.show_headlines()

# %% [markdown]
# ## Scenario
# The scenario's key assumptions and what it changes from the defaults; the settings
# built from the parameters: how much a suppressed row may hide, and the ratios that
# scale Medicare volume to the commercial payer.

# %%
report.show_scenario_section(
    rpt, globals(), key=("threshold", "commercial_multiplier", "commercial_to_medicare_volume",
                         "bcbs_share_of_commercial", "states", "data_year"))
rpt.table("settings", report.settings_frame({**bounds.to_dict(), **assumptions.to_dict(),
                                             "threshold": threshold, "alpha": alpha}),
          caption="Settings of this run")

# %% [markdown]
# ## Data
# The provider file is streamed in blocks; only CT/MR and 3D rows of the states needed
# are kept. Every row read is accounted for: kept, out of scope (another code or state),
# or quarantined with a reason.

# %%
rpt.note(f"Layout of the file: {run.read.layout}; providers "
         f"screened in: {', '.join(run.screen_states) if run.screen_states else 'all states'}.")
rpt.table("read_reconciliation", run.read.summary, caption="Rows read and where they went",
          count_columns=[])
rpt.table("rollup", run.rollup.summary,
          caption=f"Roll-up to practices ({report.value_label('rollup', run.rollup.rollup)})",
          count_columns=[])
rpt.table("unmatched_npis", run.rollup.unmatched,
          caption="NPIs without a practice in the crosswalk (kept as their own practice)",
          max_rows=20,
          empty="Every rendering NPI has its practice (each NPI is its own practice when no "
                "crosswalk is given).")

# %% [markdown]
# ## The screen, with the file's suppression made explicit
# CMS drops every provider row from 10 or fewer beneficiaries. For each provider, every
# 3D or CT/MR code without a visible row at a place of service where the provider has
# rows may hide up to 10 beneficiaries times the assumed services per beneficiary.
# Hidden 3D services can only raise the rate (upper bound); hidden CT/MR services can
# only lower it (lower bound). The screen (one-sided exact binomial test,
# Benjamini–Hochberg q-values) is run at the visible counts and at both bounds; a flag
# is **robust** when it holds at both.

# %%
rpt.note(run.screen.headline)
rpt.table("flag_status", run.screen.summary, caption="Providers by flag status")
rpt.table("screen", run.screen.table.loc[:, ["practice_id", "practice_name", "state", "jurisdiction",
                                             "n_ct_mr", "n_3d", "unit", "rate", "rate_lower",
                                             "rate_upper", "q_value", "flag", "flag_status"]]
          .sort_values(["q_value", "practice_id"], na_position="last"),
          caption="Services-basis screen: CT/MR services and 3D services per provider",
          max_rows=30,
          columns=["practice_id", "practice_name", "n_ct_mr", "n_3d", "rate", "rate_lower",
                   "rate_upper", "q_value", "flag_status"])
rpt.figure("funnel", plots.funnel_plot(run.screen.observed),
           caption="3D services per CT/MR service against volume, around the benchmark "
                   "(visible rows only)")

# %% [markdown]
# ## How much could one hidden row hold?
# The bound rests on an assumption about services per beneficiary in a suppressed row.
# The visible 3D rows show what small cells look like: their services per beneficiary
# are summarised here (the assumption should sit at or above their upper percentiles).

# %%
rpt.table("services_per_beneficiary_3d",
          run.read.lines.loc[run.read.lines["code_class"].eq("3D")]
          .assign(services_per_beneficiary=lambda d: d["services"] / d["n_beneficiaries"])
          .groupby("cpt_code")["services_per_beneficiary"]
          .describe(percentiles=[0.5, 0.9, 0.99]).reset_index()
          .rename(columns={"count": "n_rows"}),
          caption="Services per beneficiary in visible 3D rows", count_columns=[],
          labels={"n_rows": "Rows", "mean": "Mean", "std": "Standard deviation",
                  "min": "Smallest", "50%": "Median", "90%": "90th percentile",
                  "99%": "99th percentile", "max": "Largest"})

# %% [markdown]
# ## Consistency of the two files
# Per state and code, the geography file counts every service; the provider file lacks
# the suppressed rows. The gap is what suppression hides from the provider-level screen.

# %%
if run.consistency is not None:
    rpt.table("consistency", run.consistency.groupby("cpt_code", as_index=False)[
        ["services_provider", "services_geography", "gap_services"]].sum()
        .assign(gap_share=lambda d: d["gap_services"] / d["services_geography"])
        .sort_values("gap_services", ascending=False),
        caption="Provider file vs geography file, states screened (services)",
        row_groups={"services_geography": ["services_provider", "gap_services"]}, max_rows=25)
else:
    rpt.note("No geography file given: consistency check not run.")

# %% [markdown]
# ## A public-data estimate of the payer's exposure
# **This is an estimate from public data, not the payer's claims.** The state's Medicare
# 3D services and allowed dollars (from the geography file when given, which includes
# the suppressed rows; otherwise from the visible provider rows, a lower bound) are scaled
# by three adjustable ratios: commercial-to-Medicare 3D volume, the payer's share of
# commercial volume, and the commercial price multiplier. Uncertainty: the ratios are
# drawn together (lognormal ratios, beta share; ranges read as 95 % intervals) with the
# sampler of the probabilistic sensitivity analysis.

# %%
rpt.note(run.exposure.label)
rpt.table("exposure", run.exposure.table.set_index("quantity").T.rename_axis("estimate")
          .reset_index(), count_columns=[],
          caption="Medicare data and payer estimates, a year (central assumptions, mean of the "
                  "draws, and the ends of the 95% interval)")
if run.exposure.convergence is not None:
    rpt.figure("exposure_convergence", plots.convergence_plot(run.exposure.convergence),
               caption="Running mean and 95 % interval of the payer's 3D allowed dollars")

# %% [markdown]
# ## Definitions

# %%
rpt.definitions(report.screen_definitions(run.screen.observed)
                + report.puf_definitions(max_hidden_beneficiaries=bounds.max_hidden_beneficiaries,
                                         services_per_beneficiary=services_per_beneficiary))

# %% [markdown]
# ## Glossary

# %%
rpt.glossary(["tiers", "bh-q", "funnel", "phi", "tau2", "shrinkage", "psa"])
rpt.finish()
