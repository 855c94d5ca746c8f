"""Progress of a long run on stderr: a live line on a terminal, one summary line
otherwise.
"""


from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from analysis.claims import (
    ClaimsPiece,
)


class Progress:
    """Progress of a long :func:`summarize_files` run, on a text stream (stderr).

    On a terminal one status line is rewritten in place: lines read and quarantined
    while the pieces are read, then practices done while the units are summarized.
    Elsewhere (a pipe, a log file, CI) nothing is written until the end, then one
    summary line; :meth:`quiet` writes nothing at all.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(out, live=False)
    >>> p.read({"rows_read": 1200, "quarantined": {"bad_date": 3}})
    >>> p.finish(rows_accepted=1197, seconds=2.0)
    >>> out.getvalue()
    'claims: 1,200 lines read, 3 quarantined, 1,197 accepted, 0 practices in 2.0 s\\n'
    """

    def __init__(self, stream=None, *, live: bool | None = None, enabled: bool = True) -> None:
        import sys
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.live = (enabled and bool(getattr(self.stream, "isatty", lambda: False)())
                     if live is None else live and enabled)
        self.rows = self.quarantined = self.pieces = self.practices = 0
        self.n_pieces = self.n_units = self.units = 0

    @classmethod
    def quiet(cls) -> Progress:
        return cls(enabled=False)

    def _show(self, text: str) -> None:
        if self.live:
            self.stream.write("\r" + text.ljust(78)[:120])
            self.stream.flush()

    def read(self, part: Mapping[str, Any]) -> None:
        """One piece of the input read and checked."""
        self.pieces += 1
        self.rows += int(part.get("rows_read", 0))
        self.quarantined += sum(int(n) for n in part.get("quarantined", {}).values())
        self._show(f"claims: {self.rows:,} lines read, {self.quarantined:,} quarantined"
                   f" (piece {self.pieces:,}" + (f" of {self.n_pieces:,})" if self.n_pieces
                                                 else ")"))

    def summarized(self, unit: Mapping[str, Any]) -> None:
        """One unit of whole practices linked and summarized."""
        self.units += 1
        summaries = unit.get("summaries") or {}
        first = next(iter(summaries.values()), None)
        if first is not None and len(first):
            self.practices += int(first["practice_id"].nunique())
        self.quarantined += sum(int(n) for n in unit.get("dup", {}).values())
        self._show(f"practices: {self.practices:,} done (unit {self.units:,}"
                   + (f" of {self.n_units:,})" if self.n_units else ")"))

    def finish(self, *, rows_accepted: int, seconds: float) -> None:
        """The one summary line (also when not on a terminal)."""
        if not self.enabled:
            return
        end = "\r" if self.live else ""
        self.stream.write(f"{end}claims: {self.rows:,} lines read, {self.quarantined:,} "
                          f"quarantined, {rows_accepted:,} accepted, {self.practices:,} "
                          f"practices in {seconds:.1f} s".ljust(78 if self.live else 0) + "\n")
        self.stream.flush()


def estimate_rows(pieces: list[ClaimsPiece]) -> int:
    total = 0
    for p in pieces:
        if p.n_rows >= 0:
            total += p.n_rows
        else:  # CSV: about 120 bytes a line, 4x that gzipped
            size = os.path.getsize(p.path)
            total += size // (30 if p.gzip else 120)
    return total
