"""How values are written in a report: shown tables, headline numbers, timestamps.

A shown table formats each value by its column name (``*_usd`` as dollars; rates and
shares as percentages; p- and q-values to two significant digits) and writes coded
values in words (:func:`analysis.report.labels.value_label`), so a notebook never
formats numbers itself and every report writes them alike. Text that names files
(:func:`text_html`) shows them as code, and counts agree with their nouns
(:func:`plural`), never "practice(s)".
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.privacy import MARKER
from analysis.report.labels import header, value_label

__all__ = ["format_headline", "format_value", "plural", "table_html", "text_html",
           "utc_timestamp"]

_SHARE_TOKENS = ("rate", "share", "prob", "ci_", "limit", "pct", "percentile", "funnel_hi",
                 "rel_change")


def format_value(column: str, value: Any) -> str:
    """One table cell as HTML, formatted by its column name.

    >>> format_value("loss_usd", 1234.5), format_value("rate", 0.2), format_value("q_value", 0.0004)
    ('$1,234', '20.0%', '0.0004')
    """
    if isinstance(value, str):
        return text_html(str(value_label(column, value)))
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
               labels: Mapping[str, str] | None = None, note_html: str = "") -> str:
    """A display-formatted HTML table (rates as %, dollars with $, suppressed as *).

    Values are formatted by their column name (``*_usd`` as dollars, rates and
    shares as percentages) and coded values written in words; ``labels`` maps column
    names to the headers shown (default: the names as they are). ``footnote`` is
    text, ``note_html`` markup added to it (a link).
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
    note = " ".join(x for x in (text_html(footnote), note_html) if x)
    foot = f'<p class="rad3d-note"><small>{note}</small></p>' if note else ""
    return (
        f'<table class="rad3d-table">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{foot}"
    )


_FILE = re.compile(
    r"(?<![\w/])(?:[\w.-]+/)*[\w.-]+\.(?:csv|xlsx|json|parquet|png|html|ipynb|yaml|yml|pdf"
    r"|gz|txt)\b")


def text_html(text: str) -> str:
    """Plain text as HTML, with file names and paths (``tables/trend.csv``) as code:
    they are names to type or open, not words.

    >>> text_html("See tables/top_losers.csv & more.")
    'See <code>tables/top_losers.csv</code> &amp; more.'
    """
    out, last = [], 0
    for m in _FILE.finditer(text):
        out.append(html.escape(text[last:m.start()]))
        out.append(f"<code>{html.escape(m.group(0))}</code>")
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def plural(n: int, word: str, words: str | None = None) -> str:
    """``n`` with its noun in the right number.

    >>> plural(1, "year"), plural(3, "year"), plural(2, "practice"), plural(0, "quarter")
    ('1 year', '3 years', '2 practices', '0 quarters')
    """
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


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
        if unit.lower() == "usd":
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
