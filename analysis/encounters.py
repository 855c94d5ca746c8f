"""CT/MR encounters and the linking of 3D rendering lines to them.

CONTRACT (implementation pending; other modules rely on these names and columns):

``link(lines, *, link_window_days=7, oncology="oncology", indications="indications",
ct_mr_include=(), ct_mr_exclude=()) -> Linked`` where ``lines`` is the validated
canonical claims frame (see ``analysis.claims``) and ``Linked`` is a frozen
dataclass with two DataFrames:

``encounters`` — one row per (practice_id, patient_id, service_date) with >= 1 CT/MR
base line: ``encounter_id`` (int64, unique), ``practice_id, patient_id,
service_date, payer`` (the most frequent payer of its CT/MR lines, ties to the first
line), ``ct_mr_lines, ct_mr_units, angiography_lines, is_oncology`` (any diagnosis on
its CT/MR lines or linked 3D lines in the oncology set), ``is_indicated`` (same, the
indications set), ``has_3d, has_3d_76376, has_3d_76377`` (>= 1 linked 3D line,
compliant or not), ``units_3d_76376, units_3d_76377, noncompliant_3d_lines``.

``lines_3d`` — one row per 3D line (76376/76377): ``claim_id, line_number,
practice_id, patient_id, service_date, cpt_code, component ("global"|"26"|"TC"),
setting ("facility"|"non_facility"), units, payer, state, allowed_usd, paid_usd,
diagnosis_codes, encounter_id`` (<NA> for orphans), ``encounter_date,
days_after_base, is_orphan, is_separate_date, is_noncompliant, noncompliant_reason``
("" | "do_not_report_with:<code>" | "both_3d_codes"), ``is_oncology, is_indicated``
(the encounter's flags; an orphan uses its own diagnoses), ``medicare_usd`` (Medicare
fee-schedule price of the line at its component, setting, state and date, times units).

Linking: a 3D line belongs to the latest encounter of the same practice and patient
on or before its date, within ``link_window_days`` (CPT Assistant, Oct 2019). A 3D
line with no such encounter is an orphan.
"""
