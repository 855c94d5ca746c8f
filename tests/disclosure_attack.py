"""An attacker with a shared report folder: recover every suppressed cell it can.

Independent of :mod:`analysis.disclosure` (it imports nothing of the package): it reads
what a committee receives -- every CSV, Excel sheet, HTML table and ``results.json``
under the folder -- and tries what an adversarial reader would:

1. **Another view.** A practice's count hidden in one view (``*`` or an empty cell)
   and shown as a number in another (a scorecard, an Excel sheet, a page).
2. **Dollars.** A dollar figure shown for a practice whose counts (over the whole
   period) are hidden anywhere: dollars are counts times a published price.
3. **Subtraction.** Linear algebra over everything published: per count column, the
   total published (a headline, the claims read) equals the sum over practices; a
   quarter's total over all practices (a statewide trend: a table with periods and no
   practice) equals the sum of the practices' cells of that quarter; a practice's
   quarters add up to its total; a shown rate ties the 3D count to the CT/MR count. A
   hidden cell is recovered when its unit vector lies in the row space of those
   equations over the hidden cells.
4. **Peers.** A peer median printed on a scorecard must be the median of the rates
   the screen table shows; otherwise it rests on suppressed practices.

:func:`attack` returns every recovery; an empty list means the folder holds up.
``tests/conftest.py`` runs it on every report folder the test suite publishes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import numpy as np
from bs4 import BeautifulSoup

HIDDEN = {"*", ""}
#: Count columns an attacker reads (the screen's counts, the claims summary's counts).
COUNTS = re.compile(r"^(n_(?!practices)[a-z0-9_]+|[a-z0-9_]*units[a-z0-9_]*)$")
#: Items of the claims-read table and the count columns whose sum they are (taken
#: generously: an equation too many makes the attacker stronger, never weaker).
TOTAL_ITEMS = {"CT/MR encounters": ("n_ct_mr", "n_encounters", "n_nononc_encounters"),
               "3D lines": ("n_3d_lines", "n_3d", "n_encounters_3d",
                            "n_nononc_encounters_3d")}

#: The PSA's per-practice dollar columns (their names do not say USD).
PSA_DOLLARS = {"deterministic", "mean", "median", "lower", "upper"}


@dataclass(frozen=True)
class View:
    """One published table: where it is, the practice of its page, its cells as text."""

    where: str
    page_practice: str | None
    columns: list[str]
    rows: list[list[str]]


def _page_practice(path: Path, root: Path) -> str | None:
    for folder in [path.parent, *path.parents]:
        results = folder / "results.json"
        if results.is_file():
            return json.loads(results.read_text()).get("practice_id") or None
        if folder == root:
            return None
    return None


def _csv_views(path: Path, page: str | None) -> list[View]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return [View(str(path), page, rows[0], rows[1:])] if rows else []


def _xlsx_views(path: Path, page: str | None) -> list[View]:
    """Every table sheet, its human headings read back as column names through the
    workbook's Definitions sheet (heading, column, unit, sheets)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sheets = {sheet.title: [["" if v is None else str(v) for v in r]
                            for r in sheet.iter_rows(values_only=True)]
              for sheet in book.worksheets}
    names: dict[str, dict[str, str]] = defaultdict(dict)
    for row in sheets.get("Definitions", [])[1:]:
        if not any(row):
            break  # the definitions in words follow the column list
        heading, column, _unit, where = row[:4]
        for sheet in where.split(", "):
            names[sheet][heading] = column
    views = []
    for title, rows in sheets.items():
        if rows and title not in ("Cover", "Definitions", "notes"):
            columns = [names[title].get(h, h) for h in rows[0]]
            views.append(View(f"{path}!{title}", page, columns, rows[1:]))
    return views


def _html_views(path: Path, page: str | None) -> list[View]:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    views = []
    for table in soup.find_all("table"):
        head = [th.get("data-column") or th.get_text(strip=True) for th in table.find_all("th")]
        rows = [[td.get_text(strip=True) for td in tr.find_all("td")]
                for tr in table.find_all("tr")]
        rows = [r for r in rows if r and len(r) == len(head)]
        if head and rows:
            views.append(View(str(path), page, head, rows))
    return views


def read_views(folder: Path) -> list[View]:
    """Every table of the folder, with the practice of its page (a scorecard's)."""
    views = []
    for path in sorted(folder.rglob("*")):
        page = _page_practice(path, folder) if path.is_file() else None
        if path.suffix == ".csv":
            views += _csv_views(path, page)
        elif path.suffix == ".xlsx" and zipfile.is_zipfile(path):
            views += _xlsx_views(path, page)
        elif path.suffix == ".html":
            views += _html_views(path, page)
    return views


def number(text: str) -> float | None:
    """A published cell as a number (``1,234``, ``$1,234``, ``23.4%``), else None."""
    t = text.strip().replace(",", "").replace("$", "")
    scale = 0.01 if t.endswith("%") else 1.0
    try:
        return float(t.rstrip("%")) * scale
    except ValueError:
        return None


def _headline_totals(folder: Path) -> dict[str, list[float]]:
    """Totals over all practices: headline counts of pages that are no practice's,
    and the items of the claims-read tables."""
    totals: dict[str, list[float]] = defaultdict(list)
    for path in folder.rglob("results.json"):
        data = json.loads(path.read_text())
        if data.get("practice_id"):
            continue
        for name, h in (data.get("headline") or {}).items():
            value = h.get("value") if isinstance(h, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                bare = re.sub(r"^total_|_total$", "", name)
                totals[bare if COUNTS.match(bare) else f"n_{bare}"].append(float(value))
    return totals


@dataclass(frozen=True)
class Recovery:
    """A suppressed cell an attacker recovers, and how."""

    practice: str
    column: str
    period: str
    how: str


def attack(folder: str | Path) -> list[Recovery]:
    """Every suppressed cell of ``folder`` that its published files give away."""
    folder = Path(folder)
    views = read_views(folder)
    shown: dict[tuple[str, str, str], float] = {}
    hidden: dict[tuple[str, str, str], str] = {}
    dollars: dict[str, str] = {}
    rates: dict[tuple[str, str], float] = {}
    totals = _headline_totals(folder)
    period_totals: dict[tuple[str, str], float] = {}
    found: list[Recovery] = []
    for v in views:
        col = {c: i for i, c in enumerate(v.columns)}
        if "item" in col and "value" in col:  # the claims read: totals
            for r in v.rows:
                for column in TOTAL_ITEMS.get(r[col["item"]], ()):
                    if number(r[col["value"]]) is not None:
                        totals[column].append(number(r[col["value"]]))
            continue
        for r in v.rows:
            practice = (r[col["practice_id"]].lstrip("'") if "practice_id" in col
                        else v.page_practice)
            if not practice and "period" in col:  # a statewide trend: totals per period
                for c, i in col.items():
                    if COUNTS.match(c) and number(r[i]) is not None:
                        period_totals[(c, r[col["period"]])] = number(r[i])
                continue
            if not practice:
                continue
            if "/medicare_benchmark/" in v.where:  # public Medicare data: other cells
                practice = f"medicare:{practice}"
            period = r[col["period"]] if "period" in col else ""
            if "policy" in col or "payer" in col:
                period = f"{period}|{r[col.get('policy', col.get('payer'))]}"
            for c, i in col.items():
                value, text = number(r[i]), r[i].strip()
                if COUNTS.match(c):
                    key = (practice, c, period)
                    if text in HIDDEN:
                        hidden.setdefault(key, v.where)
                    elif value is not None:
                        shown.setdefault(key, value)
                elif (c.endswith("_usd") or c in PSA_DOLLARS) and value not in (None, 0.0):
                    dollars.setdefault(practice, f"{v.where}: {c}")
                elif c == "rate" and value is not None:
                    rates[(practice, period)] = value

    # 1. hidden in one view, shown in another
    for key, where in hidden.items():
        if key in shown:
            found.append(Recovery(*key, f"hidden in {where}, shown elsewhere as {shown[key]:g}"))
    # 2. dollars of a practice whose whole-period counts are hidden
    for practice in sorted({k[0] for k in hidden if not k[2]}):
        if practice in dollars:
            found.append(Recovery(practice, "dollars", "", f"shown in {dollars[practice]}"))
    # 3. subtraction over everything published
    equations: list[list[tuple[tuple[str, str, str], float]]] = []
    keys = {*shown, *hidden}
    practices = sorted({k[0] for k in keys})
    claims_practices = [p for p in practices if not p.startswith("medicare:")]
    for c in sorted({k[1] for k in keys}):
        if totals.get(c):  # the total over practices, whole period
            equations.append([((p, c, ""), 1.0) for p in claims_practices])
        for p in practices:  # a practice's periods (of one kind) add up to its total
            kinds = defaultdict(list)
            for q in {k[2] for k in keys if k[:2] == (p, c) and k[2]}:
                kinds[("Q" in q.split("|")[0], "|" in q)].append(q)
            for periods in kinds.values():
                equations.append([((p, c, ""), -1.0), *(((p, c, q), 1.0) for q in periods)])
    for (c, period), _total in period_totals.items():  # practices without the quarter: 0
        equations.append([((p, c, period), 1.0) for p in claims_practices
                          if (p, c, period) in keys])
    for (p, period), rate in rates.items():
        equations.append([((p, "n_3d", period), 1.0), ((p, "n_ct_mr", period), -rate)])
    # unknowns: the hidden cells, and cells no view publishes (a total never shown)
    unknown = sorted({k for eq in equations for k, _ in eq if k not in shown})
    index = {k: j for j, k in enumerate(unknown)}
    rows = []
    for eq in equations:
        row = np.zeros(len(unknown))
        for key, coef in eq:
            if key in index:
                row[index[key]] += coef
        if row.any():
            rows.append(row)
    if rows:
        a = np.vstack(rows)
        rank = np.linalg.matrix_rank(a)
        for key in sorted(k for k in hidden if k in index):
            unit = np.zeros(len(unknown))
            unit[index[key]] = 1.0
            if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
                found.append(Recovery(*key, "by subtraction from published totals"))
    # 4. peer medians from the rates the screen table shows
    found += _peer_medians(views)
    return found


def _peer_medians(views: list[View]) -> list[Recovery]:
    screens = {v.where.split("/lcd_screen/")[0]: v for v in views
               if v.where.endswith("/lcd_screen/tables/screen.csv")}
    found = []
    for card in (v for v in views if v.where.endswith("/tables/position.csv")):
        s = screens.get(card.where.split("/practice_scorecard/")[0])
        if s is None:
            continue
        col = {c: i for i, c in enumerate(s.columns)}
        shown_rates = [number(r[col["rate"]]) for r in s.rows
                       if number(r[col["rate"]]) is not None
                       and (number(r[col["n_ct_mr"]]) or 0) > 0]
        expected = f"{100 * median(shown_rates):.1f}%" if shown_rates else "–"
        c = {name: i for i, name in enumerate(card.columns)}
        for r in card.rows:
            if r[c["measure"]].startswith("3D rate") and r[c["peer_median"]] != expected:
                found.append(Recovery(card.page_practice or "", "peer_median", "",
                                      f"{r[c['peer_median']]} is not the median {expected} "
                                      "of the rates shown"))
    return found


def report(found: list[Recovery]) -> str:
    """The recoveries as lines of text (for an assertion message)."""
    out = io.StringIO()
    for f in found:
        out.write(f"{f.practice} {f.column} {f.period}: {f.how}\n")
    return out.getvalue()
