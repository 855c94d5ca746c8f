# %% [markdown]
# # What if? The revenue impact of not paying 3D rendering separately, live
#
# Choose a policy and move the settings: the loss to practices in year 1 and over the
# horizon, the totals per year, the practices that lose most and the one-way sensitivity
# (tornado) are recomputed from the practice summary at once, with the same model as the
# revenue-impact report. "Save as scenario file" writes the settings shown as a scenario
# file, so that `rad3d report --params FILE` turns the question into a reproducible
# report with the same headline.
#
# The stop share can be taken as measured from the claims (a difference in differences of
# the policy payer's 3D rate against other payers) when they span the policy's effective
# date by quarter, as the bundled three-year sample the what-if opens by default does;
# otherwise that option says why it is not available. Practice dollars are shown as the reports show them:
# counts from 1 to 10 suppressed, with the dollars of the practices they would reveal.

# %% tags=["parameters"]
claims: list[str] = []  # claims files in the canonical schema; empty means the bundled three-year synthetic sample
link_window_days: int = 7  # days a 3D line may follow its CT/MR study (CPT Assistant, Oct 2019)
min_cell_count: int = 11  # smallest count shown; 1 to 10 are suppressed (CMS cell-size rule)
internal: bool = False  # internal run only: required to lower min_cell_count; marks the report
scenario_dir: str = ""  # folder the scenario files are saved to; empty means the working directory

# %%
from analysis import paths, report, whatif

files = claims or [str(paths.REPORT_CLAIMS)]
inputs = report.load_inputs("", claims=files, link_window_days=link_window_days)
app = whatif.WhatIf(inputs.summary("quarter"), claims=claims,
                    link_window_days=link_window_days, min_cell_count=min_cell_count,
                    internal=internal, export_dir=scenario_dir or None)

# %%
app
