"""Write the report notebooks (``notebooks/*.ipynb``) from the sources below.

The notebooks are generated so that they stay diff-friendly: no outputs, no
execution counts, stable cell ids, one source of truth here. Edit a notebook's
source below, then run::

    .venv/bin/python notebooks/build_notebooks.py

Cells are separated by ``# %%`` lines (``# %% [markdown]`` for narrative,
``# %% parameters`` for the papermill parameters cell). Notebooks hold no ``def`` or
``class``: they call :mod:`analysis`. ``tests/test_notebooks.py`` checks the
committed notebooks match these sources.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

# Parameters every report notebook declares (set by ``rad3d report``; a scenario file
# may set the claims, the link window, the seed and the privacy threshold).
COMMON = '''\
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
'''

SCREEN = '''\
threshold: float = 0.20  # LCD benchmark share of CT/MR encounters with 3D (retired Novitas L35408)
basis: str = "encounters"  # screen basis: encounters (binomial) or services (3D units per CT/MR unit, as in the PUF)
exempt_oncology: bool = True  # leave out oncology encounters (the LCD cancer-evaluation exception)
alpha: float = 0.05  # false discovery rate of the Benjamini-Hochberg flags
ci: str = "clopper-pearson"  # interval method: clopper-pearson or wilson
periods: list[str] = []  # periods screened, e.g. ["2024"]; empty means all
'''

IMPACT = '''\
policies: list[str] = ["status_quo", "full_bundling", "lcd_cap", "medical_necessity"]  # policies compared (analysis.policy kinds)
headline_policy: str = "full_bundling"  # policy of the headline numbers: BCBS NC bundling (2024)
policy_payers: list[str] = ["BCBSNC"]  # payers applying the policy [V for BCBS NC; A for the alternatives]
effective_date: str = "2025-01-01"  # first day the policy is in force [A: not published]
scope_share: float = 1.0  # share of the payer business in scope [A: product scope not published]
cap_threshold: float = 0.20  # lcd_cap policy: paid share of non-oncology CT/MR encounters (retired LCD L35408)
commercial_multiplier: float = 1.8  # commercial price per Medicare PFS price [S: 1.2 to 2.5, Urban Institute, FAIR Health]
medicaid_multiplier: float = 0.75  # Medicaid price per Medicare PFS price [A: 0.6 to 0.9]
self_pay_multiplier: float = 1.0  # self-pay collections per Medicare PFS price [A: 0.5 to 1.8]
payer_cost_share: float = 0.8  # payer share of the allowed amount where paid_usd is missing [A: 0.6 to 0.95]
volume_growth: float = 0.0  # annual growth of 3D and CT/MR volume after year 1 [A: -5% to +5%]
fee_update: float = 0.0  # annual change of 3D prices after year 1 [S: -3% to +3.3%]
stop_share: float = 0.25  # share of newly unpaid renderings the practice stops [A: 0 to 0.5]
cost_per_rendering_usd: float = 15.0  # practice cost avoided per rendering stopped, USD [A: 5 to 40]
discount_rate: float = 0.0  # annual discount rate of the present value (budget impact: undiscounted)
horizon_years: int = 3  # years of the budget-impact horizon, 1 to 5 (ISPOR BIA)
start_date: str = "2025-01-01"  # first day of horizon year 1 [A]
n_draws: int = 10000  # draws of the probabilistic sensitivity analysis
'''

SETUP_IMPACT = '''\
assumptions = impact.ImpactAssumptions(
    commercial_multiplier=commercial_multiplier,
    medicaid_multiplier=medicaid_multiplier,
    self_pay_multiplier=self_pay_multiplier,
    payer_cost_share=payer_cost_share,
    volume_growth=volume_growth,
    fee_update=fee_update,
    stop_share=stop_share,
    cost_per_rendering_usd=cost_per_rendering_usd,
    discount_rate=discount_rate,
    horizon_years=horizon_years,
    start_date=start_date,
)
compared = reports.scenario_policies(
    policies, payers=policy_payers, effective_date=effective_date,
    scope_share=scope_share, cap_threshold=cap_threshold,
)
headline = reports.pick_policy(compared, headline_policy)
screen_options = dict(threshold=threshold, basis=basis, exempt_oncology=exempt_oncology,
                      alpha=alpha, ci=ci, periods=periods or None)
rng = np.random.default_rng(seed)
'''

LOAD = '''\
inputs = reports.load_inputs(inputs_dir, claims=claims, link_window_days=link_window_days)
summary = inputs.summary("year")
quarterly = inputs.summary("quarter")
rpt.callout(reports.data_statement(inputs, min_cell_count=min_cell_count), title="Data.")
'''


# Headline losses of ``headline_policy`` with the PSA interval (needs ``result``, ``sim``).
LOSS_HEADLINES = '''\
row = reports.policy_row(result, headline_policy)
lower, upper = sim.interval()
rpt.headline("loss_year1_usd", row["loss_year1_usd"], label="Loss in year 1", unit="usd")
rpt.headline("loss_horizon_usd", row["loss_horizon_usd"],
             label=f"Loss over {horizon_years} year(s)", unit="usd")
rpt.headline("loss_horizon_lower_usd", lower, label="PSA 95% interval, lower", unit="usd")
rpt.headline("loss_horizon_upper_usd", upper, label="PSA 95% interval, upper", unit="usd")
rpt.headline("loss_share_year1", row["loss_share_year1"], label="Share of 3D revenue lost, year 1",
             unit="share")
'''


def scenario_cell(name: str, key: str = "") -> str:
    """The scenario section's code: the scenario table, then what was read."""
    extra = f", key={key}" if key else ""
    return (
        "rpt.show_scenario(reports.scenario_overview(\n"
        f"    globals(), defaults=reports.notebook_defaults({name!r}), title=scenario_title,\n"
        f"    description=scenario_description{extra}))\n"
        "rpt.table(\"claims_load\", reports.inputs_overview(inputs), "
        "caption=\"Claims read and linked\")\n"
    )


NOTEBOOKS: dict[str, str] = {}
SCREEN_KEYS = '("threshold", "basis", "exempt_oncology", "alpha")'

NOTEBOOKS["lcd_screen"] = f'''\
# %% [markdown]
# # 3D rendering against the LCD benchmark: the full screen
#
# **Question.** Which practices bill 3D rendering (CPT 76376/76377) on more than the
# benchmark share of their CT and MR imaging, once chance, volume and the
# cancer-evaluation exception are taken into account?
#
# **The benchmark and its status.** Novitas LCD L35408 "3D Interpretation and Reporting
# of Imaging Studies" (effective 2015-10-01, **retired 2023-09-28**) said that Medicare
# expected no more than 20 percent of a practice's CT and MR imaging to be submitted
# with 3D rendering, with cancer evaluation allowed to exceed it. The LCD is retired:
# the benchmark test below is a *benchmark drawn from a retired LCD*, not an active rule.

# %% parameters
{COMMON}
{SCREEN}
# %%
from analysis import lcd, plots, reports

rpt = reports.ReportWriter(output_dir, notebook="lcd_screen", scenario=scenario_name,
                           min_cell_count=min_cell_count, internal=internal,
                           labels=reports.column_labels(basis=basis))
{LOAD}
# %% [markdown]
# ## Scenario and data
# The scenario's key assumptions and what it changes from the defaults; the screen's
# settings; the claims read, validated, linked into CT/MR encounters and summarized per
# practice once for the whole report run (`rad3d report`).

# %%
{scenario_cell("lcd_screen", key=SCREEN_KEYS)}screen_options = dict(
    threshold=threshold, basis=basis, exempt_oncology=exempt_oncology, alpha=alpha, ci=ci,
    periods=periods or None)
settings = lcd.ScreenSettings(**screen_options)
rpt.table("settings", reports.settings_frame(settings.to_dict()), caption="Screen settings")

# %% [markdown]
# ## The screen
# One row per practice: the base count (`n`), those with 3D (`x`), the rate with its
# exact interval, the Benjamini–Hochberg q-value of the one-sided exact binomial test
# against the benchmark and the flag, and the empirical-Bayes shrunken rate. p-values,
# the probability of exceeding the benchmark, peer percentiles and the excess over the
# benchmark are in the full table (CSV and Excel).

# %%
result = lcd.screen(summary, quarterly=quarterly, **screen_options)
rpt.note(result.headline)
rpt.table("screen", result.summary, caption="LCD-benchmark screen, one row per practice",
          columns=["practice_id", "n", "x", "rate", "ci_low", "ci_high", "q_value", "flag",
                   "shrunken_rate"])

# %% [markdown]
# ## Funnel plot and distribution of rates
# Each practice's rate against its volume. The exact binomial 95 % and 99.8 % limits
# around the benchmark (Spiegelhalter's interpolation) are solid; limits allowing for
# overdispersion between practices are dashed beside them, never replacing them.

# %%
rpt.funnel("funnel", result, caption="Funnel plot of 3D rates against the LCD benchmark.")
rpt.figure("rates", plots.rate_distribution(result),
           caption="Distribution of practice rates; flagged practices highlighted")

# %% [markdown]
# ## Does the picture survive chance and the cancer exception?
# Practices above the benchmark by their raw rate, and those flagged by the exact test
# with false-discovery-rate control, with and without the oncology exemption, and on
# the services basis (3D units per CT/MR unit, the only basis the Medicare PUF allows).

# %%
variants = reports.screen_variants(summary, quarterly=quarterly, threshold=threshold,
                                   alpha=alpha, ci=ci, periods=periods or None)
rpt.table("variants", variants, caption="The screen under its variants",
          columns=["variant", "n_practices_screened", "n_practices_above_threshold",
                   "n_practices_flagged", "flagged"])

# %% [markdown]
# ## Agreement of the flags
# The exact test, the peer-percentile screen (as in CMS PEPPER reports) and the
# shrinkage screen answer different questions; where they disagree is shown here.

# %%
rpt.table("agreement", result.agreement, caption="Combinations of flags among practices screened")
rpt.table("disagreements", result.disagreements, caption="Practices whose flags disagree",
          columns=["practice_id", "rate", "q_value", "percentile", "prob_above", "flag_exact",
                   "flag_percentile", "flag_shrinkage"])

# %% [markdown]
# ## Trends

# %%
shown_trends = reports.flagged_practices(result, limit=6)
all_shown = len(shown_trends) == result.n_flagged
rpt.note(f"Quarterly rates of {{'the' if all_shown else len(shown_trends)}}"
         f"{{'' if all_shown else ' of the'}} {{result.n_flagged}} flagged practices (most "
         "significant first); every practice and quarter is in `tables/trend.csv`.")
rpt.table("trend", result.trend, caption="Rate per practice and quarter", max_rows=24,
          columns=["practice_id", "period", "n", "x", "rate", "ci_low", "ci_high",
                   "above_exact_998"])
for practice in shown_trends:
    rpt.trend(f"trend_{{practice}}", result, practice,
              caption=f"Quarterly 3D rate of practice {{practice}}.")

# %% [markdown]
# ## Definitions

# %%
rpt.preformatted(result.lcd_status)
rpt.preformatted(result.definitions)

# %% [markdown]
# ## Headline numbers

# %%
rpt.headline("n_practices_screened", result.n_screened, label="Practices screened")
rpt.headline("n_practices_above_threshold", int(variants.loc[0, "n_practices_above_threshold"]),
             label=f"Practices with a rate above {{threshold:.0%}}")
rpt.headline("n_practices_flagged", result.n_flagged,
             label="Practices flagged (exact test, BH q < alpha)")
rpt.headline("n_practices_flagged_without_exemption", int(variants.loc[1, "n_practices_flagged"]),
             label="Flagged without the oncology exemption")
rpt.headline("n_practices_flagged_services_basis", int(variants.loc[2, "n_practices_flagged"]),
             label="Flagged on the services basis")
rpt.headline("overdispersion_phi", result.overdispersion.phi, label="Overdispersion phi")
rpt.show_headlines()
rpt.finish()
'''

NOTEBOOKS["revenue_impact"] = f'''\
# %% [markdown]
# # Revenue impact of not paying 3D rendering separately: budget-impact analysis
#
# **Question.** What does a commercial payer's policy of no longer paying 3D rendering
# (CPT 76376/76377) separately — "integral to the primary service", as BCBS NC announced
# in 2024 — cost each radiology practice and all of them together, per year, under
# which assumptions and with what uncertainty? What would the alternatives cost?
#
# The model is a budget-impact calculator in the ISPOR style (Sullivan et al., 2014): a
# world without the policy (status quo) and a world with it, per practice and in total,
# per year over the horizon, undiscounted.

# %% parameters
{COMMON}
{IMPACT}
{SCREEN}
# %%
import numpy as np

from analysis import impact, plots, reports, uncertainty

rpt = reports.ReportWriter(output_dir, notebook="revenue_impact", scenario=scenario_name,
                           min_cell_count=min_cell_count, internal=internal,
                           labels=reports.column_labels(horizon_years=horizon_years,
                                                        basis=basis))
{SETUP_IMPACT}{LOAD}
# %% [markdown]
# ## Scenario and data

# %%
{scenario_cell("revenue_impact")}
# %% [markdown]
# ## Results per policy
# Revenue loss of the practices in year 1 and over the horizon, the payer's savings,
# the patients' savings (cost sharing no longer charged), and how many practices lose.

# %%
result = impact.impact(summary, compared, assumptions=assumptions)
rpt.note(result.headline().replace("\\n", "  \\n"))
rpt.table("policies", result.summary, caption="Headline numbers per policy",
          columns=["policy", "loss_year1_usd", "loss_share_year1", "loss_horizon_usd",
                   "payer_savings_horizon_usd", "patient_savings_horizon_usd",
                   "n_practices_losing"])

# %% [markdown]
# ## Per year

# %%
rpt.table("totals_by_year", reports.impact_years(result), caption="Totals per policy and year",
          columns=["policy", "year", "revenue_without_usd", "revenue_with_usd", "loss_usd",
                   "loss_share", "payer_savings_usd", "n_practices_losing"])
rpt.figure("impact_by_year", plots.impact_by_year(result, headline_policy),
           caption="3D revenue per year without and with the headline policy")

# %% [markdown]
# ## Per practice
# Under the headline policy, largest loss over the horizon first; the year-1 columns
# are the first horizon year only.

# %%
practices = reports.top_losers(result, headline_policy, n=10_000).rename(columns={{
    "loss_usd": "loss_horizon_usd", "revenue_without_usd": "revenue_without_horizon_usd",
    "loss_share": "loss_horizon_share", "net_margin_loss_usd": "net_margin_loss_horizon_usd"}})
rpt.table("practices", practices.drop(columns=["renderings_unpaid"]),
          caption=f"Loss per practice: {{headline.name}}", max_rows=15,
          columns=["practice_id", "loss_year1_usd", "loss_share_year1", "loss_horizon_usd",
                   "loss_horizon_share"])
rpt.figure("loss_distribution", plots.loss_distribution(result, headline_policy),
           caption="Loss per practice as a share of its 3D revenue, year 1")

# %% [markdown]
# ## Per payer

# %%
rpt.table("payers", reports.impact_payers(result),
          caption=f"Per year and payer: {{headline.name}}", where={{"policy": headline.name}},
          columns=["year", "payer", "revenue_without_usd", "loss_usd", "loss_share",
                   "payer_savings_usd"])

# %% [markdown]
# ## Named scenarios
# Plausible alternatives to the assumptions of this run, each applied to every policy.

# %%
scenarios = uncertainty.run_scenarios(summary, compared, assumptions=assumptions)
rpt.note("Scenarios: " + "; ".join(
    f"**{{n}}** — {{d}}" for n, d in scenarios.summary[["scenario", "description"]]
    .drop_duplicates().itertuples(index=False)) + ".")
rpt.table("scenarios", scenarios.summary, caption=f"Named scenarios: {{headline.name}}",
          where={{"policy": headline.name}},
          columns=["scenario", "loss_year1_usd", "loss_horizon_usd", "loss_share_year1",
                   "n_practices_losing"])

# %% [markdown]
# ## One-way sensitivity (tornado)
# Each parameter alone at its low and high value, horizon loss under the headline policy.

# %%
tornado = uncertainty.one_way(summary, headline, assumptions=assumptions)
rpt.table("tornado", tornado, caption="One-way sensitivity of the horizon loss",
          columns=["label", "base", "low", "high", "outcome_low", "outcome_high", "swing"])
rpt.figure("tornado", plots.tornado_plot(tornado), caption="Tornado diagram")

# %% [markdown]
# ## Probabilistic sensitivity analysis
# All uncertain parameters drawn together from the distributions in the assumption
# table, with an explicit random generator (seed in the manifest); the running mean and
# interval against the number of draws show whether the draws suffice.

# %%
sim = uncertainty.psa(summary, headline, rng=rng, n_draws=n_draws, assumptions=assumptions)
conv = sim.convergence()
rpt.table("psa", sim.summary, caption=f"PSA of {{headline.name}}: horizon totals "
          f"({{sim.n_draws:,}} draws)",
          columns=["metric", "deterministic", "mean", "median", "lower", "upper", "mcse"])
rpt.table("psa_convergence", conv.table, caption=repr(conv), max_rows=12)
rpt.table("psa_practices", sim.practice_summary, caption="PSA per practice, horizon loss",
          max_rows=15, columns=["practice_id", "deterministic", "mean", "lower", "upper",
                                "loss_share"])
rpt.figure("psa_histogram", plots.psa_histogram(sim), caption="Distribution of the horizon loss")
convergence_figure = plots.convergence_plot(conv)
convergence_figure.axes[0].set_ylabel(f"Loss over {{horizon_years}} year(s), running mean (USD)")
rpt.figure("psa_convergence", convergence_figure,
           caption="Convergence of the PSA: running mean and 95% interval of the horizon loss")
rpt.figure("policies", plots.policy_comparison(result, [sim]),
           caption="Horizon loss of every policy")

# %% [markdown]
# ## Assumptions and sources
# Every input with its value, range, distribution and source; [V] verbatim from a
# primary source, [S] several secondary sources agree, [A] an assumption.

# %%
rpt.table("assumptions", result.assumption_table(), caption="Assumptions and sources",
          columns=["label", "value", "low", "high", "distribution", "source"])

# %% [markdown]
# ## Headline numbers

# %%
{LOSS_HEADLINES}rpt.headline("n_practices_losing", int(row["n_practices_losing"]), label="Practices losing revenue")
rpt.headline("psa_converged", bool(conv.converged), label="PSA converged")
rpt.show_headlines()
rpt.finish()
'''

NOTEBOOKS["practice_scorecard"] = f'''\
# %% [markdown]
# # Practice scorecard: 3D rendering (CPT 76376/76377)
#
# In the spirit of CMS comparative billing reports: one practice's 3D rendering rate
# against the benchmark and its peers, its trend, the screens that flag it, compliance
# findings on its 3D lines, and the dollars at stake under each payment policy. Peers
# are shown without their identities.
#
# The 20 % benchmark is drawn from Novitas LCD L35408, **retired** on 2023-09-28
# (effective 2015-10-01): a reference point, not an active rule.

# %% parameters
practice_id: str = ""  # the practice (billing group) of this scorecard; rad3d report sets it
{COMMON}
{IMPACT}
{SCREEN}
# %%
import numpy as np

from analysis import impact, lcd, reports

rpt = reports.ReportWriter(output_dir, notebook="practice_scorecard", scenario=scenario_name,
                           practice_id=practice_id, min_cell_count=min_cell_count,
                           internal=internal,
                           labels=reports.column_labels(horizon_years=horizon_years,
                                                        basis=basis))
{SETUP_IMPACT}{LOAD}
# %% [markdown]
# ## Scenario

# %%
rpt.show_scenario(reports.scenario_overview(
    globals(), defaults=reports.notebook_defaults("practice_scorecard"), title=scenario_title,
    description=scenario_description))

# %% [markdown]
# ## Where the practice stands

# %%
screen = lcd.screen(summary, quarterly=quarterly, **screen_options)
result = impact.impact(summary, compared, assumptions=assumptions)
card = reports.scorecard(summary, practice_id, screen=screen, impact=result,
                        privacy=rpt.privacy)
rpt.note(f"{{card.headline}} Among all practices: {{screen.headline}}")
rpt.table("position", card.position_display,
          caption="The practice against its peers and the benchmark")
rpt.table("screen_row", card.screen_row, caption="The practice in the LCD-benchmark screen",
          columns=["n", "x", "rate", "ci_low", "ci_high", "q_value", "shrunken_rate",
                   "percentile"])
rpt.table("flags", card.flags, caption="Screens that flag the practice")

# %% [markdown]
# ## Trend and peers

# %%
rpt.trend("trend", screen, practice_id,
          caption="Quarterly 3D rate with its interval and the funnel limits.")
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
rpt.table("dollars", card.dollars.rename(columns={{"loss_share": "loss_horizon_share"}}),
          caption="3D revenue and loss per policy",
          columns=["policy", "loss_year1_usd", "loss_horizon_usd", "revenue_without_horizon_usd",
                   "loss_horizon_share"])

# %% [markdown]
# ## Headline numbers

# %%
rpt.headline("rate", float(card.screen_row.loc[0, "rate"]), label="3D rate", unit="share",
             suppressed=card.suppressed)
rpt.headline("flagged", bool(card.flags.loc[0, "flagged"]), label="Flagged by the exact test")
rpt.headline("percentile", float(card.screen_row.loc[0, "percentile"]),
             label="Peer percentile", unit="share", suppressed=card.suppressed)
rpt.headline("loss_horizon_usd", reports.policy_value(card.dollars, headline_policy,
                                                      "loss_horizon_usd"),
             label=f"Loss over {{horizon_years}} year(s): {{headline.name}}", unit="usd")
rpt.show_headlines()
rpt.finish()
'''

NOTEBOOKS["policy_brief"] = f'''\
# %% [markdown]
# # 3D rendering (CPT 76376/76377): policy brief for the committee
#
# **What is decided.** Blue Cross Blue Shield of North Carolina announced in 2024 that
# 3D rendering (CPT 76376 and 76377) is "integral to the primary service" and no longer
# paid separately. This brief estimates what that costs radiology practices, per year
# and in total, with its uncertainty; who loses most; how practices' 3D billing compares
# with the 20 % benchmark of the retired Medicare LCD; and what the alternatives would
# cost.
#
# **About the 20 % benchmark.** It comes from Novitas LCD L35408, effective 2015-10-01
# and **retired 2023-09-28**. It is used here as a benchmark drawn from a retired LCD,
# not as an active coverage rule.

# %% parameters
{COMMON}
{IMPACT}
{SCREEN}
# %%
import numpy as np

from analysis import impact, lcd, plots, reports, uncertainty

rpt = reports.ReportWriter(output_dir, notebook="policy_brief", scenario=scenario_name,
                           min_cell_count=min_cell_count, internal=internal,
                           labels=reports.column_labels(horizon_years=horizon_years,
                                                        basis=basis))
{SETUP_IMPACT}{LOAD}
# %% [markdown]
# ## Scenario and data

# %%
{scenario_cell("policy_brief")}
# %% [markdown]
# ## Headline: the revenue impact of the policy

# %%
result = impact.impact(summary, compared, assumptions=assumptions)
sim = uncertainty.psa(summary, headline, rng=rng, n_draws=n_draws, assumptions=assumptions)
{LOSS_HEADLINES}rpt.headline("loss_per_practice_year1_usd", row["loss_year1_usd"] / row["n_practices"],
             label="Average loss per practice, year 1", unit="usd")
rpt.headline("n_practices_losing", int(row["n_practices_losing"]), label="Practices losing revenue")
rpt.show_headlines(caption=f"Headline: {{headline.description}}")
rpt.table("totals_by_year", reports.impact_years(result, policy=headline_policy),
          caption="Per year, all practices",
          columns=["year", "year_start", "revenue_without_usd", "revenue_with_usd", "loss_usd",
                   "loss_share", "n_practices_losing"])
rpt.figure("impact_by_year", plots.impact_by_year(result, headline_policy),
           caption="3D revenue per year without and with the policy")

# %% [markdown]
# ## Who loses most

# %%
losers = reports.top_losers(result, headline_policy, n=10).rename(columns={{
    "loss_usd": "loss_horizon_usd", "revenue_without_usd": "revenue_without_horizon_usd",
    "loss_share": "loss_horizon_share", "net_margin_loss_usd": "net_margin_loss_horizon_usd"}})
rpt.table("top_losers", losers.drop(columns=["renderings_unpaid"]),
          caption=f"The {{len(losers)}} practices losing most, ranked by loss over the "
                  f"{{horizon_years}}-year horizon (year-1 columns: the first year only)",
          columns=["practice_id", "loss_year1_usd", "loss_share_year1", "loss_horizon_usd",
                   "revenue_without_horizon_usd"])
rpt.figure("loss_distribution", plots.loss_distribution(result, headline_policy),
           caption="Loss per practice as a share of its 3D revenue, year 1")

# %% [markdown]
# ## The LCD picture
# How many practices bill 3D on more than the benchmark share of their CT/MR encounters,
# and whether that survives chance (exact test with false-discovery-rate control) and
# the cancer-evaluation exception.

# %%
screen = lcd.screen(summary, quarterly=quarterly, **screen_options)
variants = reports.screen_variants(summary, quarterly=quarterly, threshold=threshold, alpha=alpha,
                                   ci=ci, periods=periods or None)
rpt.note(f"{{int(variants.loc[0, 'n_practices_above_threshold'])}} of {{screen.n_screened}} "
         f"practices have a raw rate above {{threshold:.0%}}; {{screen.headline}}")
rpt.table("lcd_variants", variants, caption="Practices above the benchmark, and flagged",
          columns=["variant", "n_practices_above_threshold", "n_practices_flagged", "flagged"])
rpt.funnel("funnel", screen, caption="Funnel plot against the benchmark.")
rpt.headline("n_practices_above_threshold", int(variants.loc[0, "n_practices_above_threshold"]),
             label=f"Practices with a rate above {{threshold:.0%}}")
rpt.headline("n_practices_flagged", screen.n_flagged, label="Flagged beyond chance")
rpt.headline("n_practices_flagged_without_exemption", int(variants.loc[1, "n_practices_flagged"]),
             label="Flagged without the oncology exemption")

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
# The PSA interval above; the parameters that move the result most (one-way):

# %%
tornado = uncertainty.one_way(summary, headline, assumptions=assumptions)
rpt.table("tornado", tornado.head(6), caption="Largest one-way swings of the horizon loss",
          columns=["label", "low", "high", "outcome_low", "outcome_high", "swing"])
rpt.figure("tornado", plots.tornado_plot(tornado), caption="Tornado diagram")

# %% [markdown]
# ## Key assumptions and their sources
# [V] verbatim from a primary source; [S] several secondary sources agree; [A] an
# assumption exposed as a parameter (change it in a scenario file).

# %%
assumption_table = result.assumption_table()
rpt.table("assumptions", assumption_table, caption="Assumptions and sources",
          columns=["label", "value", "low", "high", "source"])

# %% [markdown]
# ## Limitations

# %%
ranges = assumption_table.set_index("parameter")
rpt.note(
    f"- **Data.** {{reports.data_statement(inputs, min_cell_count=min_cell_count)}}\\n"
    f"- **Policy facts not published.** BCBS NC's effective date and product scope were "
    f"not found; both are parameters (here {{effective_date}} and "
    f"{{scope_share:.0%}} of its business).\\n"
    f"- **Prices.** Lines without an observed allowed amount are priced from the Medicare "
    f"fee schedule times a commercial multiplier ({{commercial_multiplier:g}} here; range "
    f"{{ranges.loc['commercial_multiplier', 'low']:g}}–"
    f"{{ranges.loc['commercial_multiplier', 'high']:g}}) that rests on market-wide studies, "
    f"not on BCBS NC contracts.\\n"
    f"- **Behaviour.** Practices may stop producing some renderings once unpaid (here "
    f"{{stop_share:.0%}} of them), or shift coding; only the former is modelled.\\n"
    "- **The LCD benchmark is retired** and was a Medicare rule for one contractor; it is "
    "a reference point for commercial claims, not a standard they were bound by.\\n"
    "- **Services basis.** The Medicare PUF counts services, not encounters, and cannot "
    "apply the cancer exception; its screen is an approximation.\\n"
    f"- **Privacy.** Counts of 1 to {{min_cell_count - 1}}, and table cells and figure "
    "points that would reveal them, are suppressed."
)

# %% [markdown]
# ## Appendix: CHEERS 2022
# Where this report answers the CHEERS 2022 items (Husereau et al., Value Health
# 2022;25:3-9) that apply to a budget-impact analysis.

# %%
rpt.table("cheers_2022", reports.cheers_appendix(result, screen=screen, psa=sim,
                                                 n_practices=len(inputs.practices),
                                                 periods=sorted(summary["period"].unique())),
          caption="CHEERS 2022 items and where they are addressed")
rpt.finish()
'''


def _cells(source: str) -> list:
    cells = []
    for i, chunk in enumerate(source.split("# %%")[1:]):
        head, _, body = chunk.partition("\n")
        head = head.strip()
        body = body.strip("\n")
        if head == "[markdown]":
            text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                             for line in body.splitlines())
            cell = new_markdown_cell(text)
        elif head == "parameters":
            cell = new_code_cell(body.strip(), metadata={"tags": ["parameters"]})
        else:
            cell = new_code_cell(body.strip())
        cell["id"] = f"cell-{i:02d}"
        cells.append(cell)
    return cells


def build(name: str) -> str:
    """The notebook ``name`` as nbformat JSON text."""
    nb = new_notebook(cells=_cells(NOTEBOOKS[name]))
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nbformat.writes(nb) + "\n"


def main(argv: list[str]) -> int:
    names = argv or sorted(NOTEBOOKS)
    for name in names:
        path = HERE / f"{name}.ipynb"
        path.write_text(build(name), encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
