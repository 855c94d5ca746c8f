# %% [markdown]
# # 3D rendering against the LCD benchmark: the full screen

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

threshold: float = 0.20  # LCD benchmark share of CT/MR encounters with 3D (retired Novitas L35408)
basis: str = "encounters"  # screen basis: encounters (binomial) or services (3D units per CT/MR unit, as in the PUF)
exempt_oncology: bool = True  # leave out oncology encounters (the LCD cancer-evaluation exception)
alpha: float = 0.05  # false discovery rate of the Benjamini-Hochberg flags
ci: str = "clopper-pearson"  # interval method: clopper-pearson or wilson
periods: list[str] = []  # periods screened, e.g. ["2024"]; empty means all
effective_date: str = "2025-01-01"  # first day the policy is in force [A: not published]

# %%
from analysis import lcd, plots, report, trends

rpt = report.ReportWriter(output_dir, notebook="lcd_screen", scenario=scenario_name,
                          scenario_title=scenario_title, min_cell_count=min_cell_count,
                          internal=internal, labels=report.column_labels(basis=basis))
inputs = report.open_inputs(rpt, inputs_dir, claims=claims, link_window_days=link_window_days)
summary, quarterly = inputs.summary("year"), inputs.summary("quarter")
screen_options = report.screen_options(globals())
result = rpt.plan.screen_view(lcd.screen(summary, quarterly=quarterly, **screen_options))
variants = report.screen_variants(summary, quarterly=quarterly, **screen_options)
trend = trends.quarterly_trends(quarterly, effective_date=effective_date, **screen_options)
shown_trends = [p for p in report.flagged_practices(result) if not rpt.plan.hides(p)][:6]
changed = trend.changes.loc[~trend.changes["practice_id"].map(rpt.plan.hides)]

# %%
rpt.answer(report.screen_answer(result, variants, plan=rpt.plan, trend=trend))

# %% [markdown]
# **Question.** Which practices bill 3D rendering (CPT 76376/76377) on more than the
# benchmark share of their CT and MR imaging, once chance, volume and the
# cancer-evaluation exception are taken into account?
#
# **The benchmark and its status.** Novitas LCD L35408 "3D Interpretation and Reporting
# of Imaging Studies" (effective 2015-10-01, **retired 2023-09-28**) said that Medicare
# expected no more than 20 percent of a practice's CT and MR imaging to be submitted
# with 3D rendering, with cancer evaluation allowed to exceed it. The LCD is retired:
# the test below is a *benchmark drawn from a retired LCD*, not an active rule. The
# sections below give the method and the tables; the glossary at the end explains the
# statistical terms.
#
# ## Key numbers

# %%
rpt.headline("n_practices_screened", result.n_screened, label="Practices screened")
rpt.headline("n_practices_above_threshold", int(variants.loc[0, "n_practices_above_threshold"]),
             label=f"Practices with a rate above {threshold:.0%}")
rpt.headline("n_practices_flagged", result.n_flagged,
             label=f"Practices flagged: {result.flag_label}")
rpt.headline("n_practices_beyond_chance", result.tiers["beyond_chance"],
             label=f"Practices beyond chance alone (exact test, BH q < {alpha:g})")
rpt.headline("n_practices_flagged_without_exemption", int(variants.loc[1, "n_practices_flagged"]),
             label="Flagged without the oncology exemption")
rpt.headline("n_practices_flagged_services_basis", int(variants.loc[2, "n_practices_flagged"]),
             label="Flagged on the services basis")
rpt.headline("overdispersion_phi", result.overdispersion.phi, label="Overdispersion φ")
rpt.show_headlines()

# %% [markdown]
# ## Scenario and data
# The scenario's key assumptions and what it changes from the defaults; the screen's
# settings; the claims read, validated, linked into CT/MR encounters and summarized per
# practice once for the whole report run.

# %%
report.show_scenario_section(rpt, globals(), inputs=inputs,
                             key=("threshold", "basis", "exempt_oncology", "alpha"))
rpt.table("settings", report.settings_frame(lcd.ScreenSettings(**screen_options).to_dict()),
          caption="Screen settings")

# %% [markdown]
# ## The screen
# One row per practice: its CT/MR encounters (services on the services basis), those
# with 3D rendering, the rate with its exact interval, the Benjamini–Hochberg q-value of
# the one-sided exact binomial test against the benchmark, the flag, and the
# empirical-Bayes shrunken rate. p-values, the probability of exceeding the benchmark,
# peer percentiles (among the practices shown) and the excess over the benchmark are in
# the full table (CSV and Excel).

# %%
rpt.note(result.headline)
for line in result.not_estimable:
    rpt.note(line)
rpt.table("screen", result.summary, caption="LCD-benchmark screen, one row per practice",
          columns=["practice_id", "n_ct_mr", "n_3d", "rate", "ci_low", "ci_high", "q_value",
                   "flag", "shrunken_rate"])

# %% [markdown]
# ## Funnel plot and distribution of rates
# Each practice's rate against its volume. The exact binomial 95 % and 99.8 % limits
# around the benchmark (Spiegelhalter's interpolation) are solid; limits allowing for
# overdispersion between practices are dashed beside them, never replacing them.

# %%
rpt.funnel("funnel", result, caption="Funnel plot of 3D rates against the LCD benchmark.")
rpt.figure("rates", plots.rate_distribution(rpt.plan.shown_screen(result)),
           caption="Distribution of practice rates; flagged practices highlighted")

# %% [markdown]
# ## Does the picture survive chance and the cancer exception?
# Practices above the benchmark by their raw rate, those beyond chance (exact test with
# false-discovery-rate control) and those flagged (beyond the usual variation between
# practices when they vary beyond chance), with and without the oncology exemption, and
# on the services basis (3D units per CT/MR unit, the only basis the Medicare public
# file allows).

# %%
rpt.table("variants", variants, caption="The screen under its variants",
          columns=["variant", "n_practices_screened", "n_practices_above_threshold",
                   "n_practices_beyond_chance", "n_practices_flagged", "flagged"])

# %% [markdown]
# ## Agreement of the flags
# The exact test, the peer-percentile screen (as in CMS PEPPER reports) and the
# shrinkage screen answer different questions; where they disagree is shown here.

# %%
rpt.table("agreement", result.agreement, caption="Combinations of flags among practices screened")
rpt.table("disagreements", result.disagreements, caption="Practices whose flags disagree",
          columns=["practice_id", "rate", "q_value", "percentile", "prob_above", "flag_exact",
                   "flag_percentile", "flag_shrinkage"],
          empty="The exact, percentile and shrinkage screens agree on every practice.")

# %% [markdown]
# ## Trends
# In the manner of CMS's PEPPER reports: the last twelve quarters, each screened on its
# own claims with the same tests and tiers as the whole period (among the practices with
# claims in that quarter, with at least the minimum volume to be judged), against the
# benchmark, with the payer's policy date marked. Quarterly counts are small: a quarter
# with a count from 1 to 10, or one that would reveal such a count through a practice's
# total or the statewide total of the quarter, is suppressed.

# %%
rpt.note(trend.headline)
rpt.trends("statewide_trend", trend,
           caption=f"3D rate of all practices per quarter over {trend.span}, the "
                   "benchmark and the policy date; bars: CT/MR imaging of the quarter.")
rpt.table("statewide_trend", trend.statewide, of_practice=False,
          caption="All practices, per quarter: imaging, 3D rate and practices in each tier",
          columns=["period", "n_ct_mr", "n_3d", "rate", "ci_low", "ci_high",
                   "n_practices_screened", "n_practices_flagged",
                   "n_practices_beyond_chance", "n_practices_too_few"])
rpt.table("status_changes", changed,
          caption="Practices whose flag status changed over the quarters judged",
          columns=["practice_id", "change", "first_status", "last_status",
                   "flagged_quarters", "first_period", "last_period"],
          empty=f"No practice shown changed its flag status over {trend.span}: each was "
                "flagged in every quarter judged or in none.")

# %%
rpt.note(("Quarters of the practices flagged over the whole period, most significant first"
          + ("" if len(shown_trends) == result.n_flagged else
             f" ({len(shown_trends)} of the {result.n_flagged} shown)")
          + ". Every practice and quarter is in tables/trend.csv.") if shown_trends else
         "No flagged practice to show; every practice and quarter is in tables/trend.csv.")
rpt.table("trend", trend.table, caption="Rate and status per flagged practice and quarter",
          where={"practice_id": shown_trends},
          columns=["practice_id", "period", "n_ct_mr", "n_3d", "rate", "ci_low", "ci_high",
                   "status"], show=bool(shown_trends))
for practice in shown_trends:
    rpt.trends(f"trend_{practice}", trend, practice,
               caption=f"Quarterly 3D rate of practice {practice}, its status per quarter.")

# %% [markdown]
# ## Definitions

# %%
rpt.definitions(report.screen_definitions(result))

# %% [markdown]
# ## Glossary

# %%
rpt.glossary()
rpt.finish()
