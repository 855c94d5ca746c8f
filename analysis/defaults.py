"""The defaults every layer shares, defined once, each with its source.

Domain settings (:class:`analysis.lcd.ScreenSettings`, :class:`analysis.encounters.
LinkSettings`, :class:`analysis.policy.Policy`, :class:`analysis.privacy.PrivacySettings`),
the readers, the CLI and the report runner read these names; no other module writes the
numbers. The notebooks' ``parameters`` cells must hold literals (papermill reads them as
text), so a test checks that their defaults equal these.

Revenue-model assumptions with ranges and sources (payer multipliers, volume growth,
stop share ...) are a table, not constants: ``data/reference/impact_assumptions.csv``.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "ALPHA",
    "DEFAULT_STATE",
    "EFFECTIVE_DATE",
    "LCD_BENCHMARK",
    "LINK_WINDOW_DAYS",
    "MAX_LINE_USD",
    "MIN_CELL_COUNT",
    "POLICY_PAYERS",
]

LCD_BENCHMARK: float = 0.20
"""Share of CT/MR imaging expected to carry 3D rendering: Novitas LCD L35408
(effective 2015-10-01, retired 2023-09-28), the screen's benchmark and the cap policy's
paid share."""

ALPHA: float = 0.05
"""False discovery rate of the Benjamini–Hochberg flags of the screen."""

LINK_WINDOW_DAYS: int = 7
"""Days a 3D line may follow its CT/MR study and still belong to it (CPT Assistant,
October 2019, allows 3D rendering on a later date than the base study)."""

MAX_LINE_USD: int = 100_000
"""The largest allowed or paid amount one claim line may carry; above it the line is
quarantined (``amount_above_cap``). A CT/MR or 3D rendering line is paid in the tens to
hundreds of dollars (see ``rad3d fees``), so $100,000 on one line is a typo or a test
value, and one such line would swamp a practice's revenue [assumption: plausibility
bound]."""

MIN_CELL_COUNT: int = 11
"""Smallest count shown in shared output; 1 to 10 are suppressed (CMS cell-size
suppression policy)."""

POLICY_PAYERS: tuple[str, ...] = ("BCBSNC",)
"""Payers applying the bundling policy: Blue Cross Blue Shield of North Carolina."""

DEFAULT_STATE: str = "NC"
"""State that prices 3D lines without one, and the revenue model's fee-schedule price
index [assumption: the bundled analysis is of North Carolina practices]."""

EFFECTIVE_DATE: dt.date = dt.date(2025, 1, 1)
"""First day the policy is in force [assumed: BCBS NC published no date]."""
