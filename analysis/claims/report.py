"""What a load did, reconciled: rows and dollars read, accepted and quarantined.

:class:`ValidationReport` counts rows by outcome and by quarantine reason, repairs by
kind, and dollars in whole cents (:class:`AmountTotals`), so that exactly::

    rows read = rows accepted + rows quarantined
    dollars read = dollars accepted + dollars quarantined   (allowed_usd and paid_usd)

It prints as a text table, shows as HTML in a notebook, and serialises to JSON
(:meth:`ValidationReport.to_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.claims.rules import REPAIRS

__all__ = ["AmountTotals", "ValidationReport"]


@dataclass(frozen=True)
class AmountTotals:
    """Whole-cent totals of one amount column; ``read == accepted + quarantined``.

    Attributes
    ----------
    read_cents, accepted_cents, quarantined_cents : int
        Sums of the parsed amounts of all rows read, of the accepted rows and of the
        quarantined rows (signed: negative amounts count with their sign).
    unparsed_rows : int
        Rows read whose amount was present but could not be parsed (all of them are
        quarantined; their text is in the quarantine table).
    missing_accepted_rows : int
        Accepted rows without this amount (priced from the fee schedule downstream).
    """

    read_cents: int
    accepted_cents: int
    quarantined_cents: int
    unparsed_rows: int
    missing_accepted_rows: int

    @property
    def reconciles(self) -> bool:
        return self.read_cents == self.accepted_cents + self.quarantined_cents

    def to_dict(self) -> dict[str, int]:
        return dict(read_cents=self.read_cents, accepted_cents=self.accepted_cents,
                    quarantined_cents=self.quarantined_cents, unparsed_rows=self.unparsed_rows,
                    missing_accepted_rows=self.missing_accepted_rows)


def _usd(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


@dataclass(frozen=True)
class ValidationReport:
    """What loading did: rows and dollars read, accepted and quarantined, and repairs.

    Attributes
    ----------
    rows_read, rows_accepted, rows_quarantined : int
        ``rows_read == rows_accepted + rows_quarantined`` (see :attr:`reconciles`).
    blank_rows : int
        Records with every mapped field empty, skipped (not rows read).
    quarantined_by_reason : dict
        Every reason of :data:`~analysis.claims.rules.QUARANTINE_REASONS`, in check
        order, with its row count.
    quarantined_cents_by_reason : dict
        ``{reason: {"allowed_usd": cents, "paid_usd": cents}}``.
    repairs : dict
        Every kind of :data:`~analysis.claims.rules.REPAIRS` with its count (accepted
        rows, or files).
    amounts : dict
        ``{"allowed_usd": AmountTotals, "paid_usd": AmountTotals}``.
    files : DataFrame
        One row per file: ``source_file, format, rows_read, rows_accepted,
        rows_quarantined, blank_rows, columns`` (``canonical <- header`` pairs) and
        ``ignored_columns``.
    study_window : str or None
        The service dates accepted (:mod:`analysis.claims.window`), e.g.
        ``"2023-01-01..2025-12-31 (the claims year 2024 +/- 1)"``; None when no window
        was checked.
    """

    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    blank_rows: int
    quarantined_by_reason: dict[str, int]
    quarantined_cents_by_reason: dict[str, dict[str, int]]
    repairs: dict[str, int]
    amounts: dict[str, AmountTotals]
    files: pd.DataFrame
    study_window: str | None = None

    @property
    def reconciles(self) -> bool:
        """Rows and dollars (``allowed_usd``, ``paid_usd``) reconcile exactly."""
        return self.rows_read == self.rows_accepted + self.rows_quarantined and all(
            a.reconciles for a in self.amounts.values())

    @property
    def summary(self) -> pd.DataFrame:
        """Rows and dollars read / accepted / quarantined (and by reason).

        Columns ``measure, rows, allowed_usd, paid_usd``; the dollars are exact
        (sums of whole cents) and the quarantine rows add up to ``quarantined``.
        """
        a, p = self.amounts["allowed_usd"], self.amounts["paid_usd"]
        rows = [
            ("read", self.rows_read, a.read_cents, p.read_cents),
            ("accepted", self.rows_accepted, a.accepted_cents, p.accepted_cents),
            ("quarantined", self.rows_quarantined, a.quarantined_cents, p.quarantined_cents),
        ]
        for reason, count in self.quarantined_by_reason.items():
            if count:
                c = self.quarantined_cents_by_reason[reason]
                rows.append((f"quarantined: {reason}", count, c["allowed_usd"], c["paid_usd"]))
        return pd.DataFrame(
            [dict(measure=m, rows=r, allowed_usd=ac / 100, paid_usd=pc_ / 100)
             for m, r, ac, pc_ in rows]
        )

    @property
    def repairs_table(self) -> pd.DataFrame:
        """Repairs with a non-zero count: ``repair, count, unit, description``."""
        return pd.DataFrame(
            [dict(repair=k, count=v, unit=REPAIRS[k][0], description=REPAIRS[k][1])
             for k, v in self.repairs.items() if v],
            columns=["repair", "count", "unit", "description"],
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record (dollars as integer cents)."""
        return dict(
            rows_read=self.rows_read, rows_accepted=self.rows_accepted,
            rows_quarantined=self.rows_quarantined, blank_rows=self.blank_rows,
            quarantined_by_reason=dict(self.quarantined_by_reason),
            quarantined_cents_by_reason={k: dict(v) for k, v in
                                         self.quarantined_cents_by_reason.items()},
            repairs=dict(self.repairs),
            amounts={k: v.to_dict() for k, v in self.amounts.items()},
            reconciles=self.reconciles,
            files=[{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                   for r in self.files.to_dict("records")],
            study_window=self.study_window,
        )

    def __str__(self) -> str:
        a, p = self.amounts["allowed_usd"], self.amounts["paid_usd"]
        w = 28
        lines = [f"{len(self.files)} file(s): " + ", ".join(self.files["source_file"].tolist()),
                 "",
                 f"{'':<{w}} {'rows':>12} {'allowed_usd':>18} {'paid_usd':>18}"]
        for m, r, ac, pc_ in (
            ("read", self.rows_read, a.read_cents, p.read_cents),
            ("accepted", self.rows_accepted, a.accepted_cents, p.accepted_cents),
            ("quarantined", self.rows_quarantined, a.quarantined_cents, p.quarantined_cents),
        ):
            lines.append(f"{m:<{w}} {r:>12,} {_usd(ac):>18} {_usd(pc_):>18}")
        for reason, count in self.quarantined_by_reason.items():
            if count:
                c = self.quarantined_cents_by_reason[reason]
                lines.append(f"  {reason:<{w - 2}} {count:>12,} {_usd(c['allowed_usd']):>18} "
                             f"{_usd(c['paid_usd']):>18}")
        lines.append(f"reconciles: {'yes' if self.reconciles else 'NO'}"
                     + (f"; blank rows skipped: {self.blank_rows:,}" if self.blank_rows else ""))
        if self.study_window:
            lines.append(f"service dates accepted: {self.study_window}")
        unparsed = {k: v.unparsed_rows for k, v in self.amounts.items() if v.unparsed_rows}
        if unparsed:
            lines.append("rows with unreadable amounts (no dollar value, kept in quarantine): "
                         + ", ".join(f"{k} {v:,}" for k, v in unparsed.items()))
        table = self.repairs_table
        if len(table):
            lines += ["", "repairs"]
            lines += [f"  {r.repair:<26} {r.count:>12,} {r.unit:<6} {r.description}"
                      for r in table.itertuples()]
        ignored = [f"{r.source_file}: {r.ignored_columns}" for r in self.files.itertuples()
                   if r.ignored_columns]
        if ignored:
            lines += ["", "columns ignored"] + [f"  {x}" for x in ignored]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        fmt = {"allowed_usd": "${:,.2f}".format, "paid_usd": "${:,.2f}".format,
               "rows": "{:,}".format}
        parts = [
            "<h4>Claims validation</h4>",
            f"<p>Rows and dollars reconcile: <b>{'yes' if self.reconciles else 'NO'}</b>"
            + (f"; blank rows skipped: {self.blank_rows:,}" if self.blank_rows else "") + "</p>",
            self.summary.to_html(index=False, formatters=fmt),
        ]
        if len(self.repairs_table):
            parts += ["<h5>Repairs</h5>", self.repairs_table.to_html(index=False)]
        parts += ["<h5>Files</h5>",
                  self.files.drop(columns=["columns"]).to_html(index=False)]
        return "\n".join(parts)
