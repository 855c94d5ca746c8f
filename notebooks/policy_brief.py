# %% [markdown]
# # 3D rendering (CPT 76376/76377): policy brief for the committee

# %% tags=["parameters"]
scenario_name: str = "adhoc"  # scenario label (rad3d report sets it from the scenario file)
scenario_title: str = ""  # scenario title (rad3d report sets it from the scenario file)
scenario_description: str = ""  # scenario description (rad3d report sets it from the scenario file)
claims: list[str] = []  # claims files in the canonical schema; empty means the bundled synthetic sample
inputs_dir: str = ""  # prepared shared inputs (set by rad3d report); empty means load the claims here
output_dir: str = ""  # folder for figures, tables and results.json (set by rad3d report)
link_window_days: int = 7  # days a 3D line may follow its CT/MR study (CPT Assistant, Oct 2019)
seed: int = 20240901  # seed of the random generator (probabilistic sensitivity analysis)
min_cell_count: int = 11  # smallest count shown; 1 to 10 are suppressed (CMS cell-size rule)
internal: bool = False  # internal run only: required to lower min_cell_count; marks the report

policies: list[str] = ["status_quo", "full_bundling", "lcd_cap", "medical_necessity"]  # policies compared (analysis.policy kinds)
headline_policy: str = "full_bundling"  # policy of the headline numbers: BCBS NC bundling (2024)
policy_payers: list[str] = ["BCBSNC"]  # payers applying the policy [V for BCBS NC; A for the alternatives]
effective_date: str = "2025-01-01"  # first day the policy is in force [A: not published]
scope_share: float = 1.0  # share of the payer business in scope [A: product scope not published]
cap_threshold: float = 0.20  # cap policy: paid share of non-oncology CT/MR encounters (retired LCD L35408)
commercial_multiplier: float = 1.8  # commercial price per Medicare PFS price [S: 1.2 to 2.5, Urban Institute, FAIR Health]
medicaid_multiplier: float = 0.75  # Medicaid price per Medicare PFS price [A: 0.6 to 0.9]
self_pay_multiplier: float = 1.0  # self-pay collections per Medicare PFS price [A: 0.5 to 1.8]
payer_cost_share: float = 0.8  # payer share of the allowed amount where the paid amount is missing [A: 0.6 to 0.95]
volume_growth: float = 0.0  # annual growth of 3D and CT/MR volume after year 1 [A: -5% to +5%]
fee_update: float = 0.0  # annual change of 3D prices after the last known fee schedule (2026), after year 1 with prices "baseline" [S: -3% to +3.3%]
prices: str = "fee_schedule"  # horizon prices: fee_schedule (each year at its own Medicare fee schedule) or baseline (the baseline's, moved by fee_update from year 2)
stop_share: float = 0.25  # share of newly unpaid renderings the practice stops [A: 0 to 0.5], or measured (estimated from claims spanning the effective date)
cost_per_rendering_usd: float = 15.0  # practice cost avoided per rendering stopped, USD [A: 5 to 40]
discount_rate: float = 0.0  # annual discount rate of the present value (budget impact: undiscounted)
horizon_years: int = 3  # years of the budget-impact horizon, 1 to 5 (ISPOR BIA)
start_date: str = "2025-01-01"  # first day of horizon year 1 [A]
n_draws: int = 10000  # draws of the probabilistic sensitivity analysis

threshold: float = 0.20  # LCD benchmark share of CT/MR encounters with 3D (retired Novitas L35408)
basis: str = "encounters"  # screen basis: encounters (binomial) or services (3D units per CT/MR unit, as in the PUF)
exempt_oncology: bool = True  # leave out oncology encounters (the LCD cancer-evaluation exception)
alpha: float = 0.05  # false discovery rate of the Benjamini-Hochberg flags
ci: str = "clopper-pearson"  # interval method: clopper-pearson or wilson
periods: list[str] = []  # periods screened, e.g. ["2024"]; empty means all

# %%
import numpy as np

from analysis import baseline, impact, lcd, plots, report, uncertainty

rpt = report.ReportWriter(output_dir, notebook="policy_brief", scenario=scenario_name,
                          scenario_title=scenario_title, min_cell_count=min_cell_count,
                          internal=internal,
                          labels=report.column_labels(horizon_years=horizon_years,
                                                      basis=basis))
assumptions, compared, headline = report.impact_setup(globals())
screen_options = report.screen_options(globals())
rng = np.random.default_rng(seed)
inputs = report.open_inputs(rpt, inputs_dir, claims=claims, link_window_days=link_window_days,
                            policy_payers=policy_payers)
summary, quarterly = inputs.summary("year"), inputs.summary("quarter")
assumptions, measured = report.stop_share_setup(assumptions, quarterly, compared)
base = baseline.baseline_year(quarterly, start_date=start_date)  # year 1: claims before it
result = impact.impact(base.summary, compared, assumptions=assumptions)
sim = uncertainty.psa(base.summary, headline, rng=rng, n_draws=n_draws, assumptions=assumptions)
conv = sim.convergence()
screen = lcd.screen(summary, quarterly=quarterly, **screen_options)
variants = report.screen_variants(summary, quarterly=quarterly, **screen_options)
tornado = uncertainty.one_way(base.summary, headline, assumptions=assumptions)

# %%
rpt.answer(report.brief_answer(result, sim, screen, tornado, policy=headline_policy,
                               plan=rpt.plan, converged=conv.converged))

# %% [markdown]
# **What is decided.** Blue Cross Blue Shield of North Carolina announced in 2024 that
# 3D rendering (CPT 76376 and 76377) is "integral to the primary service" and no longer
# paid separately. This brief estimates what that costs radiology practices, per year
# and in total, with its uncertainty; who loses most; how practices' 3D billing compares
# with the 20 % benchmark of the retired Medicare LCD (Novitas L35408, effective
# 2015-10-01, **retired 2023-09-28**: a benchmark, not an active coverage rule); and
# what the alternatives would cost. The sections below give the numbers behind the
# answer; the glossary at the end explains the statistical terms.
#
# ## Key numbers

# %%
row = report.record_loss_headlines(rpt, result, sim, policy=headline_policy,
                                   horizon_years=horizon_years)
rpt.headline("loss_per_practice_year1_usd", row["loss_year1_usd"] / row["n_practices"],
             label="Average loss per practice, year 1", unit="usd")
rpt.headline("n_practices_losing", int(row["n_practices_losing"]), label="Practices losing revenue")
rpt.headline("n_practices_above_threshold", int(variants.loc[0, "n_practices_above_threshold"]),
             label=f"Practices with a rate above {threshold:.0%}")
rpt.headline("n_practices_flagged", screen.n_flagged, label=f"Flagged: {screen.flag_label}")
rpt.headline("n_practices_flagged_without_exemption", int(variants.loc[1, "n_practices_flagged"]),
             label="Flagged without the oncology exemption")
rpt.show_headlines(caption=f"Key numbers: {report.policy_label(headline_policy)}")

# %% [markdown]
# ## Scenario and data
# The data statement is in the answer above; the claims read and linked are tabled in
# the LCD-screen and revenue-impact reports.

# %%
report.show_scenario_section(rpt, globals())

# %% [markdown]
# ## What the policy costs, year by year

# %%
rpt.note(f"{base.statement} {result.base['annualization']}")
rpt.table("totals_by_year", report.impact_years(result, policy=headline_policy),
          caption="Per year, all practices",
          columns=["year", "year_start", "revenue_without_usd", "revenue_with_usd", "loss_usd",
                   "loss_share", "n_practices_losing"])
rpt.note("Prices of each year: " + "; ".join(
    f"year {y.year}: {y.fee_schedule}" for y in result.prices.years.itertuples()) + ".")
rpt.figure("impact_by_year", plots.impact_by_year(result, headline_policy),
           caption="3D revenue per year without and with the policy")

# %% [markdown]
# ## Who loses most

# %%
losers = report.top_losers(result, headline_policy, n=10).rename(columns={
    "loss_usd": "loss_horizon_usd", "revenue_without_usd": "revenue_without_horizon_usd",
    "loss_share": "loss_horizon_share", "net_margin_loss_usd": "net_margin_loss_horizon_usd"})
rpt.table("top_losers", losers.drop(columns=["renderings_unpaid"]),
          caption=f"The {len(losers)} practices losing most, ranked by loss over the "
                  f"{horizon_years}-year horizon (year-1 columns: the first year only)",
          columns=["practice_id", "loss_year1_usd", "loss_share_year1", "loss_horizon_usd",
                   "revenue_without_horizon_usd"])

# %% [markdown]
# ## Who is flagged against the LCD benchmark
# How many practices bill 3D on more than the benchmark share of their CT/MR encounters,
# whether that survives chance (exact test with false-discovery-rate control) and the
# usual variation between practices, and the cancer-evaluation exception.

# %%
rpt.note(f"{int(variants.loc[0, 'n_practices_above_threshold'])} of {screen.n_screened} "
         f"practices have a raw rate above {threshold:.0%}; {screen.headline}")
for line in screen.not_estimable:
    rpt.note(line)
rpt.table("lcd_variants", variants, caption="Practices above the benchmark, and flagged",
          columns=["variant", "n_practices_above_threshold", "n_practices_beyond_chance",
                   "n_practices_flagged", "flagged"])
rpt.funnel("funnel", screen, caption="Funnel plot against the benchmark.")

# %% [markdown]
# ## The alternatives compared

# %%
rpt.table("policies", result.summary, caption="Every policy: loss, savings, practices affected",
          columns=["policy", "loss_year1_usd", "loss_horizon_usd", "loss_share_year1",
                   "payer_savings_horizon_usd", "n_practices_losing"])
rpt.figure("policies", plots.policy_comparison(result, [sim]),
           caption="Horizon loss of every policy (PSA interval for the headline policy)")

# %% [markdown]
# ## Uncertainty
# The PSA interval of the answer, and the assumptions that move the loss most, each
# alone between its low and high value (one-way sensitivity):

# %%
if not conv.converged:
    rpt.note(f"The PSA interval has not settled at {sim.n_draws:,} draws ({conv!r}); its "
             "ends are approximate.")
rpt.table("tornado", tornado.head(6), caption="Largest one-way swings of the horizon loss",
          columns=["label", "low", "high", "outcome_low", "outcome_high", "swing"])
rpt.figure("tornado", plots.tornado_plot(tornado), caption="Tornado diagram")

# %% [markdown]
# ## Key assumptions and their sources
# [V] verbatim from a primary source; [S] several secondary sources agree; [A] an
# assumption exposed as a parameter (change it in a scenario file); [M] measured from
# the claims.

# %%
# The assumptions the tornado and the PSA vary, sources cut short (the settings are in
# the scenario table at the top, every row and source on the revenue-impact page): this
# keeps the brief to six printed pages.
rpt.table("assumptions", report.varied_assumptions(result),
          caption="Assumptions and sources: those the tornado and the PSA vary (settings: "
          "the scenario table; every row in full: the revenue-impact page)",
          columns=["label", "value", "low", "high", "source"])

# %% [markdown]
# ## Limitations

# %%
ranges = result.assumption_table().set_index("parameter")
behaviour = result.stop_share_statement
if measured is not None and result.stop_share_source == "assumed":
    behaviour += " " + report.measured_aside(measured, short=True)
rpt.note(
    "- **Data.** See the answer at the top.\n"
    f"- **Policy facts not published.** BCBS NC's effective date and product scope were "
    f"not found; both are parameters (here {effective_date} and "
    f"{scope_share:.0%} of its business).\n"
    f"- **Prices.** Lines without an observed allowed amount are priced from the Medicare "
    f"fee schedule times a commercial multiplier ({commercial_multiplier:g} here; range "
    f"{ranges.loc['commercial_multiplier', 'low']:g}–"
    f"{ranges.loc['commercial_multiplier', 'high']:g}) that rests on market-wide studies, "
    f"not on BCBS NC contracts.\n"
    f"- **Behaviour.** {behaviour} Practices may also shift coding, "
    "which is not modelled.\n"
    "- **The LCD benchmark is retired** and was a Medicare rule for one contractor; it is "
    "a reference point for commercial claims, not a standard they were bound by.\n"
    "- **Services basis.** The Medicare public file counts services, not encounters, and "
    "cannot apply the cancer exception; its screen is an approximation.\n"
    f"- **Privacy.** Counts of 1 to {min_cell_count - 1}, and table cells and figure "
    "points that would reveal them, are suppressed."
)

# %% [markdown]
# ## Appendix: CHEERS 2022
# Where this report answers the CHEERS 2022 items (Husereau et al., Value Health
# 2022;25:3-9) that apply to a budget-impact analysis.

# %%
rpt.table("cheers_2022", report.cheers_appendix(result, screen=screen, psa=sim,
                                                n_practices=len(inputs.practices),
                                                periods=sorted(summary["period"].unique())),
          caption="CHEERS 2022 items and where they are addressed")

# %% [markdown]
# ## Glossary

# %%
rpt.glossary()
rpt.finish()
