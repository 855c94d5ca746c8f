"""The additive practice summary: the spine of rad3d.

CONTRACT (implementation pending; other modules rely on these names and columns):

``summarize(lines, *, period="year"|"quarter", link_window_days=7, ...) -> DataFrame``
(from claim lines, via ``analysis.encounters.link``) and
``summarize_linked(linked, *, period=...)`` (from a ``Linked``), one row per
``practice_id, period, payer`` (``period`` a string, "2024" or "2024Q1"), every
other column a count or a sum so that the summary of a union of practice partitions
equals the sum of the partitions' summaries (``add_summaries(frames)``).

Encounter counts go under the encounter's date and payer; 3D line units and dollars
under the 3D line's own date and payer.

Counts: ``n_encounters, n_encounters_3d, n_encounters_3d_76376,
n_encounters_3d_76377, n_onc_encounters, n_onc_encounters_3d, n_nononc_encounters,
n_nononc_encounters_3d, ct_mr_lines, ct_mr_units, n_lines_3d, units_3d_76376,
units_3d_76377, n_noncompliant_3d_lines, n_orphan_3d_lines,
n_separate_date_3d_lines, n_unpriced_3d_lines`` (3D lines without allowed_usd).

Dollars of all 3D lines (observed): ``allowed_3d_76376_usd, allowed_3d_76377_usd,
noncompliant_allowed_usd``.

Revenue base (compliant 3D lines only; non-compliant lines are denied in every world)
split by group ``g`` in ``onc`` (oncology), ``ind`` (non-oncology with a qualifying
indication), ``oth`` (other); orphans use their own diagnoses:
``rev_units_{g}``, ``rev_encounters_{g}`` (encounters with >= 1 compliant 3D line in
the group; each orphan line counts as one), ``rev_observed_usd_{g}`` (sum of
allowed_usd where observed), ``rev_medicare_usd_{g}`` (fee-schedule Medicare price of
lines whose allowed_usd is missing; revenue = observed + payer multiplier x
medicare), ``rev_paid_usd_{g}`` (sum of observed paid_usd), ``rev_unpaid_lines_{g}``
(lines without paid_usd).
"""
