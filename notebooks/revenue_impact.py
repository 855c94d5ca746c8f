# %% [markdown]
# # Revenue impact of not paying 3D rendering separately: budget-impact analysis

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

from analysis import baseline, impact, plots, report, uncertainty

rpt = report.ReportWriter(output_dir, notebook="revenue_impact", scenario=scenario_name,
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
tornado = uncertainty.one_way(base.summary, headline, assumptions=assumptions)
scenarios = uncertainty.run_scenarios(base.summary, compared, assumptions=assumptions)

# %%
rpt.answer(report.impact_answer(result, sim, tornado, policy=headline_policy, plan=rpt.plan,
                                converged=conv.converged))

# %% [markdown]
# **Question.** What does a commercial payer's policy of no longer paying 3D rendering
# (CPT 76376/76377) separately — "integral to the primary service", as BCBS NC announced
# in 2024 — cost each radiology practice and all of them together, per year, under
# which assumptions and with what uncertainty? What would the alternatives cost?
#
# The model is a budget-impact calculator in the ISPOR style (Sullivan et al., 2014): a
# world without the policy (status quo) and a world with it, per practice and in total,
# per year over the horizon, undiscounted. The sections below give the tables behind the
# answer; the glossary at the end explains the statistical terms.
#
# ## Key numbers

# %%
row = report.record_loss_headlines(rpt, result, sim, policy=headline_policy,
                                   horizon_years=horizon_years)
rpt.headline("n_practices_losing", int(row["n_practices_losing"]), label="Practices losing revenue")
rpt.headline("net_margin_loss_horizon_usd", row["net_margin_loss_horizon_usd"], unit="usd",
             label="Net margin loss over the horizon, after the cost practices avoid")
rpt.headline("stop_share", result.assumptions.stop_share, unit="share",
             label=f"Share of unpaid renderings stopped ({result.stop_share_source})",
             note=result.stop_share_statement)
rpt.headline("psa_converged", bool(conv.converged),
             label=f"PSA interval settled within {sim.n_draws:,} draws")
rpt.show_headlines(caption=f"Key numbers: {report.policy_label(headline_policy)}")

# %% [markdown]
# ## Scenario and data

# %%
report.show_scenario_section(rpt, globals(), inputs=inputs)

# %% [markdown]
# ## Results per policy
# Revenue loss of the practices in year 1 and over the horizon, the payer's savings,
# the patients' savings (cost sharing no longer charged), and how many practices lose.

# %%
rpt.note(f"{base.statement} {result.base['annualization']}")
rpt.table("policies", result.summary, caption="Headline numbers per policy",
          columns=["policy", "loss_year1_usd", "loss_share_year1", "loss_horizon_usd",
                   "payer_savings_horizon_usd", "patient_savings_horizon_usd",
                   "n_practices_losing"])

# %% [markdown]
# ## Per year
# Base-year volumes are priced at each horizon year's Medicare fee schedule (the RVU and
# GPCI files of its year, the latest shipped up to it, and its conversion factor), as a
# price index of each practice's 3D rendering on the schedules that priced its baseline;
# after the last known schedule (2026) prices move by the annual fee update. With
# `prices = "baseline"` every year keeps the baseline's prices, moved by the fee update
# from year 2.

# %%
rpt.table("fee_schedules", report.impact_prices(result), count_columns=[], of_practice=False,
          caption="Which Medicare fee schedule priced each year",
          columns=["year", "fee_year", "rvu_vintage", "gpci_vintage", "conversion_factor",
                   "price_index", "years_after_schedule"])
rpt.note("Prices of each year: " + "; ".join(
    f"year {y.year}: {y.fee_schedule}" for y in result.prices.years.itertuples())
    + f". The {result.prices.baseline}."
    + (f" Price index basket: {result.prices.basket}." if result.prices.basket else ""))
rpt.table("totals_by_year", report.impact_years(result), caption="Totals per policy and year",
          columns=["policy", "year", "revenue_without_usd", "revenue_with_usd", "loss_usd",
                   "loss_share", "payer_savings_usd", "n_practices_losing"])
rpt.figure("impact_by_year", plots.impact_by_year(result, headline_policy),
           caption="3D revenue per year without and with the headline policy")

# %% [markdown]
# ## Per practice
# Under the headline policy, largest loss over the horizon first; the year-1 columns
# are the first horizon year only.

# %%
practices = report.top_losers(result, headline_policy, n=10_000).rename(columns={
    "loss_usd": "loss_horizon_usd", "revenue_without_usd": "revenue_without_horizon_usd",
    "loss_share": "loss_horizon_share", "net_margin_loss_usd": "net_margin_loss_horizon_usd"})
rpt.table("practices", practices.drop(columns=["renderings_unpaid"]),
          caption=f"Loss per practice: {report.policy_label(headline.name)}", max_rows=15,
          columns=["practice_id", "loss_year1_usd", "loss_share_year1", "loss_horizon_usd",
                   "loss_horizon_share", "annualization_factor"])
rpt.figure("loss_distribution", plots.loss_distribution(result, headline_policy),
           caption="Loss per practice as a share of its 3D revenue, year 1")

# %% [markdown]
# ## Per payer

# %%
rpt.table("payers", report.impact_payers(result),
          caption=f"Per year and payer: {report.policy_label(headline.name)}",
          where={"policy": headline.name},
          columns=["year", "payer", "revenue_without_usd", "loss_usd", "loss_share",
                   "payer_savings_usd"])

# %% [markdown]
# ## Named scenarios
# Plausible alternatives to the assumptions of this run, each applied to every policy.

# %%
rpt.table("scenarios", scenarios.summary,
          caption=f"Named scenarios: {report.policy_label(headline.name)}",
          where={"policy": headline.name}, labels={"description": "Scenario"},
          columns=["description", "loss_year1_usd", "loss_horizon_usd", "loss_share_year1",
                   "n_practices_losing"])

# %% [markdown]
# ## Behavioural response: assumed or measured
# Practices may stop producing some of the renderings that are no longer paid (the
# stop share); the model counts the cost they avoid. The share is either assumed or,
# where the claims span the effective date, measured: a difference in differences of
# the policy payer's 3D rate against control payers, quarter by quarter, whose estimate
# is the base case, whose 95 % interval gives the tornado's low and high, and to which
# the PSA's distribution is fitted. Where the share is assumed and the claims allow it,
# the measurement is shown beside it.

# %%
rpt.note(result.stop_share_statement)
if measured is not None and result.stop_share_source == "assumed":
    rpt.note(report.measured_aside(measured))
if measured is not None:
    rpt.table("measured_response", measured.summary, count_columns=[], of_practice=False,
              caption="Measured response: stop share against each control payer",
              columns=["control", "status", "stop_share", "stop_share_ci_low",
                       "stop_share_ci_high", "pretrend_p_value", "n_practices",
                       "n_pre_quarters", "n_post_quarters"])
    rpt.figure("event_study", plots.event_study_plot(measured),
               caption="Event study: the policy payer's 3D rate against the control "
                       "payers' quarter by quarter, relative to the last quarter before "
                       "the effective date")

# %% [markdown]
# ## One-way sensitivity (tornado)
# Each parameter alone at its low and high value, horizon loss under the headline policy.

# %%
rpt.table("tornado", tornado, caption="One-way sensitivity of the horizon loss",
          columns=["label", "base", "low", "high", "outcome_low", "outcome_high", "swing"])
rpt.figure("tornado", plots.tornado_plot(tornado), caption="Tornado diagram")

# %% [markdown]
# ## Probabilistic sensitivity analysis
# All uncertain parameters drawn together from the distributions in the assumption
# table, with an explicit random generator (seed in the manifest); the running mean and
# interval against the number of draws show whether the draws suffice.

# %%
if not conv.converged:
    rpt.note(f"The interval has not settled at {sim.n_draws:,} draws: the running interval "
             f"still moves by more than {conv.tolerance:.0%}. Its ends, quoted in the "
             "answer, are approximate; more draws (the n_draws parameter) would settle them.")
rpt.table("psa", sim.summary, caption=f"PSA of {report.policy_label(headline.name)}: totals "
          f"over the {horizon_years}-year horizon ({sim.n_draws:,} draws)",
          columns=["metric", "deterministic", "mean", "median", "lower", "upper", "mcse"])
rpt.table("psa_convergence", conv.table, max_rows=12,
          caption=("Running mean and interval of the horizon loss by number of draws; "
                   + (f"stable from {conv.n_stable:,} draws" if conv.n_stable
                      else "not yet stable")))
rpt.table("psa_practices", sim.practice_summary, caption="PSA per practice, horizon loss",
          max_rows=15, columns=["practice_id", "deterministic", "mean", "lower", "upper",
                                "loss_share"])
rpt.figure("psa_histogram", plots.psa_histogram(sim), caption="Distribution of the horizon loss")
convergence_figure = plots.convergence_plot(conv)
convergence_figure.axes[0].set_ylabel(
    f"Loss over the {horizon_years}-year horizon, running mean (USD)")
rpt.figure("psa_convergence", convergence_figure,
           caption="Convergence of the PSA: running mean and 95% interval of the horizon loss")
rpt.figure("policies", plots.policy_comparison(result, [sim]),
           caption="Horizon loss of every policy")

# %% [markdown]
# ## Assumptions and sources
# Every input with its value, range, distribution and source; [V] verbatim from a
# primary source, [S] several secondary sources agree, [A] an assumption, [M] measured
# from the claims.

# %%
rpt.table("assumptions", report.assumption_view(result), caption="Assumptions and sources",
          columns=["label", "value", "low", "high", "distribution", "source"])

# %% [markdown]
# Each PSA distribution is fitted so that its 2.5 % and 97.5 % quantiles are the low and
# high above, the values the tornado uses; the table states how closely, the mean and
# median of the draws, and which of them the base case is (a PERT keeps the base as its
# most likely value; in the other families the two quantiles fix the distribution).

# %%
rpt.table("psa_distributions", sim.distributions, count_columns=[],
          caption="PSA distributions fitted to the low-high ranges",
          columns=["label", "distribution", "base", "low", "high", "fit_low", "fit_high",
                   "fit_error_low_pct", "fit_error_high_pct", "psa_mean", "psa_median",
                   "base_is"])

# %% [markdown]
# ## Glossary

# %%
rpt.glossary()
rpt.finish()
