"""How values are written in a report: shown tables, headline numbers, timestamps.

A shown table formats each value by its column name (``*_usd`` as dollars; rates and
shares as percentages; p- and q-values to two significant digits), so a notebook
never formats numbers itself and every report writes them alike.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.privacy import MARKER
from analysis.report.labels import header

__all__ = ["format_headline", "format_value", "table_html", "utc_timestamp"]

_SHARE_TOKENS = ("rate", "share", "prob", "ci_", "limit", "pct", "percentile", "funnel_hi",
                 "rel_change")


def format_value(column: str, value: Any) -> str:
    """One table cell as HTML, formatted by its column name.

    >>> format_value("loss_usd", 1234.5), format_value("rate", 0.2), format_value("q_value", 0.0004)
    ('$1,234', '20.0%', '0.0004')
    """
    if isinstance(value, str):
        # a line may break after "_" (policy names such as full_bundling), not inside
        return html.escape(value).replace("_", "_<wbr>")
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or (
        value is pd.NA
    ):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    name = column.lower()
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if name.endswith("_usd"):
            return f"${v:,.0f}" if abs(v) >= 100 else f"${v:,.2f}"
        if "p_value" in name or "q_value" in name or name in ("p", "q"):
            return f"{v:.2g}" if v < 0.001 else f"{v:.3f}"
        if any(t in name for t in _SHARE_TOKENS):
            return f"{100 * v:.1f}%" if "pct" not in name else f"{v:.1f}%"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(value, pd.Timestamp | dt.date):
        return value.strftime("%Y-%m-%d")
    return html.escape(str(value))


def table_html(table: pd.DataFrame, *, caption: str = "", footnote: str = "",
               labels: Mapping[str, str] | None = None) -> str:
    """A display-formatted HTML table (rates as %, dollars with $, suppressed as *).

    Values are formatted by their column name (``*_usd`` as dollars, rates and
    shares as percentages); ``labels`` maps column names to the headers shown
    (default: the names as they are).
    """
    head = "".join(
        f'<th data-column="{html.escape(str(c))}">'
        f"{html.escape(header(str(c), labels) if labels is not None else str(c))}</th>"
        for c in table.columns)
    body = []
    for row in table.itertuples(index=False, name=None):
        cells = "".join(
            (f'<td style="text-align:left">{format_value(str(c), v)}</td>'
             if isinstance(v, str) and v != MARKER else f"<td>{format_value(str(c), v)}</td>")
            for c, v in zip(table.columns, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    foot = f'<p class="rad3d-note"><small>{html.escape(footnote)}</small></p>' if footnote else ""
    return (
        f'<table class="rad3d-table">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{foot}"
    )


def format_headline(value: Any, unit: str) -> str:
    """A headline number as shown in a report and on the index page; a missing number
    (NaN, e.g. the overdispersion of a single practice) is "not estimable".

    >>> format_headline(0.125, "share"), format_headline(12345.6, "usd")
    ('12.5%', '$12,346')
    >>> format_headline(float("nan"), "")
    'not estimable'

    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return "not estimable"
    if isinstance(value, float | int):
        if unit == "usd":
            return f"${value:,.0f}"
        if unit in ("share", "rate", "%"):
            return f"{100 * value:.1f}%"
        if isinstance(value, int) or float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.3g}"
    return html.escape(str(value))


# TODO(shared): a timestamp for written records belongs beside the JSON writer in
# analysis._io, where every results and manifest file would take it from.
def utc_timestamp() -> str:
    """Now, in UTC, to the second, as ISO 8601 (the times in results and manifests)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
