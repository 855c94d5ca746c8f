"""What the engines return: :class:`ScaleResult` with its :class:`ScaleReport`
(rows and dollars reconciled), and the quarantine totals both engines add up.
"""


from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.claims import (
    QUARANTINE_REASONS,
    AmountTotals,
)
from analysis.claims.rules import AMOUNT_COLUMNS
from analysis.revenue_base import baskets_frame


@dataclass(frozen=True)
class ScaleReport:
    """Rows and dollars of a :func:`summarize_files` run, reconciled.

    Attributes
    ----------
    engine : str
    rows_read, rows_accepted, rows_quarantined : int
        ``rows_read == rows_accepted + rows_quarantined``.
    rows_filtered_out : int
        Rows not read because their code is not relevant (0 for ``"memory"`` and with
        ``pushdown=False``).
    blank_rows : int
    quarantined_by_reason : dict
        Reason (:data:`analysis.claims.QUARANTINE_REASONS`) -> rows.
    amounts : dict
        ``allowed_usd`` / ``paid_usd`` -> :class:`analysis.claims.AmountTotals`.
    n_pieces, n_buckets, largest_bucket_rows : int
        Spill tasks, summary units (buckets), and the most candidate lines in one unit.
    seconds : float
        Wall time of the run.
    settings : dict
        :meth:`StreamSettings.to_dict`.
    n_shards : int
        Spill shards (by practice hash) packed into the units.
    """

    engine: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_filtered_out: int
    blank_rows: int
    quarantined_by_reason: dict[str, int]
    amounts: dict[str, AmountTotals]
    n_pieces: int = 0
    n_buckets: int = 0
    largest_bucket_rows: int = 0
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)
    n_shards: int = 0
    study_window: str | None = None

    @property
    def reconciles(self) -> bool:
        """Rows read = accepted + quarantined, and every amount's dollars likewise."""
        return (self.rows_read == self.rows_accepted + self.rows_quarantined
                and all(a.reconciles for a in self.amounts.values()))

    @property
    def summary(self) -> pd.DataFrame:
        """Counts as a two-column table (``measure``, ``value``)."""
        rows = [
            ("engine", self.engine),
            ("rows read (validated)", self.rows_read),
            ("rows accepted", self.rows_accepted),
            ("rows quarantined", self.rows_quarantined),
            ("rows filtered out (codes not relevant)", self.rows_filtered_out),
            ("blank rows", self.blank_rows),
            ("service dates accepted", self.study_window or "any (no study window)"),
        ] + [(f"quarantined: {r}", n) for r, n in self.quarantined_by_reason.items() if n] + [
            (f"{c} read / accepted / quarantined (cents)",
             f"{a.read_cents} / {a.accepted_cents} / {a.quarantined_cents}")
            for c, a in self.amounts.items()
        ] + [
            ("reconciles", self.reconciles),
            ("pieces / shards / buckets",
             f"{self.n_pieces} / {self.n_shards} / {self.n_buckets}"),
            ("largest bucket (lines)", self.largest_bucket_rows),
            ("wall time (s)", round(self.seconds, 2)),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).astype({"value": str})

    def _repr_html_(self) -> str:
        return "<p><b>Claims read for the practice summary</b></p>" + self.summary.to_html(
            index=False)

    def to_dict(self) -> dict:
        return dict(engine=self.engine, rows_read=self.rows_read,
                    rows_accepted=self.rows_accepted, rows_quarantined=self.rows_quarantined,
                    rows_filtered_out=self.rows_filtered_out, blank_rows=self.blank_rows,
                    quarantined_by_reason=dict(self.quarantined_by_reason),
                    amounts={c: a.to_dict() for c, a in self.amounts.items()},
                    n_pieces=self.n_pieces, n_buckets=self.n_buckets,
                    largest_bucket_rows=self.largest_bucket_rows, seconds=self.seconds,
                    settings=dict(self.settings), n_shards=self.n_shards,
                    study_window=self.study_window)


@dataclass(frozen=True, eq=False)
class ScaleResult:
    """The practice summary and how it was read.

    Attributes
    ----------
    summary : DataFrame
        As :func:`analysis.summary.summarize` (one row per practice x period x payer),
        for the first period asked for.
    report : ScaleReport
    summaries : dict
        ``{period: summary}`` for every period asked for (the lines are linked once).
    baskets : DataFrame
        Each practice's price basket (:func:`analysis.revenue_engine.price_baskets`:
        its fee-schedule-priced 3D units by code, component, setting and state;
        :data:`analysis.revenue_base.BASKET_COLUMNS`), for
        :func:`analysis.impact.impact_base`'s ``baskets``. The same table from every
        engine; no patient or claim identifier.
    """

    summary: pd.DataFrame
    report: ScaleReport
    summaries: dict[str, pd.DataFrame] = field(default_factory=dict)
    baskets: pd.DataFrame = field(default_factory=baskets_frame)

    def _repr_html_(self) -> str:
        return self.report._repr_html_() + self.summary.head(20).to_html(index=False)


# ----------------------------------------------------------------- tasks


def quarantine_totals(parts, duplicates) -> tuple[dict, dict]:
    """Rows and cents quarantined, by reason: the row checks of every piece plus the
    duplicate checks, given as ``(rows by reason, cents by reason)`` pairs."""
    quarantined = dict.fromkeys(QUARANTINE_REASONS, 0)
    q_cents = {r: dict.fromkeys(AMOUNT_COLUMNS, 0) for r in QUARANTINE_REASONS}
    counts = [(p["quarantined"], p["q_cents"]) for p in parts] + list(duplicates)
    for rows, cents in counts:
        for r, n in rows.items():
            quarantined[r] += n
            for c in AMOUNT_COLUMNS:
                q_cents[r][c] += cents[r][c]
    return quarantined, q_cents
