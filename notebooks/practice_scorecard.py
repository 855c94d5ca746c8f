# %% [markdown]
# # Practice scorecard: 3D rendering (CPT 76376/76377)

# %% tags=["parameters"]
practice_id: str = ""  # the practice (billing group) of this scorecard; rad3d report sets it
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
stop_share: float = 0.25  # share of newly unpaid renderings the practice stops [A: 0 to 0.5]
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
from analysis import baseline, impact, lcd, report, trends

rpt = report.ReportWriter(output_dir, notebook="practice_scorecard", scenario=scenario_name,
                          scenario_title=scenario_title, practice_id=practice_id,
                          min_cell_count=min_cell_count, internal=internal,
                          labels=report.column_labels(horizon_years=horizon_years,
                                                      basis=basis))
assumptions, compared, headline = report.impact_setup(globals())
screen_options = report.screen_options(globals())
inputs = report.open_inputs(rpt, inputs_dir, claims=claims, link_window_days=link_window_days,
                            policy_payers=policy_payers)
summary, quarterly = inputs.summary("year"), inputs.summary("quarter")
# the whole state's screen, trends and model: computed once per report kernel (report.once)
screen = report.once(lcd.screen, summary, quarterly=quarterly, **screen_options)
trend = report.once(trends.quarterly_trends, quarterly, effective_date=effective_date,
                    **screen_options)
base = report.once(baseline.baseline_year, quarterly, start_date=start_date)
result = report.once(impact.impact, base.summary, compared, assumptions=assumptions)
card = report.scorecard(summary, practice_id, screen=screen, impact=result, plan=rpt.plan)
dollars_withheld = min_cell_count > 1 and (
    rpt.plan.hides(practice_id) or practice_id in rpt.plan.hidden_dollars)

# %%
rpt.answer(report.scorecard_answer(card, screen, policy=headline_policy,
                                   horizon_years=horizon_years,
                                   dollars_withheld=dollars_withheld))

# %% [markdown]
# In the spirit of CMS comparative billing reports: one practice's 3D rendering rate
# against the benchmark and its peers, its trend, the screens that flag it, compliance
# findings on its 3D lines, and the dollars at stake under each payment policy. Peers
# are shown without their identities. The 20 % benchmark is drawn from Novitas LCD
# L35408, **retired** on 2023-09-28 (effective 2015-10-01): a reference point, not an
# active rule. The glossary at the end explains the statistical terms.
#
# ## Key numbers

# %%
rpt.headline("rate", float(card.screen_row.loc[0, "rate"]), label="3D rate", unit="share",
             suppressed=card.suppressed)
rpt.headline("flagged", bool(card.flags.loc[0, "flagged"]), label=f"Flagged: {screen.flag_label}")
rpt.headline("percentile", float(card.screen_row.loc[0, "percentile"]),
             label="Peer percentile", unit="share", suppressed=card.suppressed)
rpt.headline("loss_horizon_usd", report.policy_value(card.dollars, headline_policy,
                                                     "loss_horizon_usd"),
             label=f"Loss over the {horizon_years}-year horizon: "
                   f"{report.policy_label(headline.name)}", unit="usd")
rpt.show_headlines()

# %% [markdown]
# ## Scenario

# %%
report.show_scenario_section(rpt, globals())

# %% [markdown]
# ## Where the practice stands

# %%
rpt.note(f"{card.headline} Among all practices: {screen.headline}")
rpt.table("position", card.position_display,
          caption="The practice against its peers and the benchmark")
rpt.table("screen_row", card.screen_row, caption="The practice in the LCD-benchmark screen",
          columns=["n_ct_mr", "n_3d", "rate", "ci_low", "ci_high", "q_value", "shrunken_rate",
                   "percentile"])
rpt.table("flags", card.flags, caption="Screens that flag the practice")

# %% [markdown]
# ## Trend and peers
# The practice's last twelve quarters in the manner of CMS's PEPPER reports: each quarter
# screened on its own claims, with the same tests and tiers, among the practices with
# claims in it, against the benchmark, with the payer's policy date marked. A quarter
# with a count from 1 to 10, or one that would reveal such a count, is not shown.

# %%
rpt.trends("trend", trend, practice_id,
           caption=f"Quarterly 3D rate of the practice over {trend.span} with its "
                   "interval and status; bars: its CT/MR imaging.")
rpt.table("trend", trend.practice(practice_id), caption="The practice per quarter",
          columns=["period", "n_ct_mr", "n_3d", "rate", "ci_low", "ci_high", "status"],
          empty=f"The practice has no claims in {trend.span}.")
rpt.funnel("funnel", screen, highlight=practice_id, label_flagged=False,
           caption="The practice (star) among its peers (anonymous).")

# %% [markdown]
# ## Compliance findings
# 3D lines billed with a code on their "do not report with" list or 76376 and 76377
# together (denied in every world), 3D lines without a CT/MR study within the link
# window (orphans), and 3D lines on a later date than their study.

# %%
rpt.table("compliance", card.compliance, caption="Compliance findings per period")

# %% [markdown]
# ## Dollars at stake under each policy
# Year 1 is the first horizon year; the other columns sum the whole horizon.

# %%
rpt.note(base.statement_for(practice_id))
rpt.table("dollars", card.dollars.rename(columns={"loss_share": "loss_horizon_share"}),
          caption=f"3D revenue and loss per policy. {card.annualization}",
          columns=["policy", "loss_year1_usd", "loss_horizon_usd", "revenue_without_horizon_usd",
                   "loss_horizon_share"],
          empty=f"No dollars at stake in the model: {card.not_in_model}.")

# %% [markdown]
# ## Glossary

# %%
rpt.glossary(["tiers", "bh-q", "funnel", "phi", "tau2", "shrinkage"])
rpt.finish()
