"""What a notebook shows and saves: the answer, suppressed tables, figures, headlines.

A page opens with its answer (:meth:`ReportWriter.answer`: a few short rows and the data
statement, above the fold) and ends with a glossary (:meth:`ReportWriter.glossary`).
Every table a notebook shows goes through :class:`ReportWriter`, which withholds what the
report's disclosure plan decided over all its views (:meth:`ReportWriter.disclose`,
:mod:`analysis.disclosure`) and suppresses any other small count of the table
(:func:`analysis.privacy.suppress_counts`), shows it compact with human headers and
units, and saves it whole as CSV and in the notebook's Excel workbook. Figures are saved
as PNG (funnel and trend figures without the points the tables withhold), and headline
numbers and the answer go to ``results.json`` and the index page.
:meth:`ReportWriter.finish` writes the notebook's Excel workbook
(:mod:`analysis.report.excel`): a cover with the title, scenario, data statement and
privacy rule the page showed, a formatted sheet per table with its suppressed cells left
empty, and the definitions the page showed.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import IPython.display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis import plots
from analysis._io import write_bytes, write_csv, write_json
from analysis.defaults import MIN_CELL_COUNT
from analysis.disclosure import DisclosurePlan, is_dollar_column
from analysis.paths import NOTEBOOK_DIR
from analysis.privacy import (
    MARKER,
    PrivacySettings,
    Suppressed,
    check_no_identifier_columns,
    suppress_counts,
    suppress_value,
)
from analysis.report.answer import Answer, AnswerRow
from analysis.report.excel import Cover, write_workbook
from analysis.report.figure_privacy import (
    hidden_practices,
    hidden_quarters,
    shareable_trend,
    without_periods,
)
from analysis.report.formatting import (
    format_headline,
    plural,
    table_html,
    text_html,
    utc_timestamp,
)
from analysis.report.glossary import glossary_html
from analysis.report.labels import COLUMN_LABELS, header, value_label
from analysis.report.scenario_section import ScenarioOverview

__all__ = ["SAFE_NAME", "ReportWriter"]

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
"""Names that become file or folder names (tables, figures, scenarios)."""

PRIVACY_ID = "privacy"
"""The id of the privacy rule on a page (the notes under tables link to it)."""


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (the running footer of a printed page).

    >>> _css_string('A "b" <c>')
    '"A \\\\"b\\\\" \\\\3C c>"'
    """
    text = " ".join(str(text).split())
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C ") + '"'


def _check_name(kind: str, name: str) -> None:
    if not SAFE_NAME.match(name):
        raise ValueError(f"{kind} name {name!r}: letters, digits, '_', '-' only")


class ReportWriter:
    """What a notebook shows and saves: suppressed tables, figures, headline numbers.

    Parameters
    ----------
    output_dir : path or ""
        The run folder of this notebook (set by ``rad3d report``); empty: show only.
    notebook, scenario, practice_id : str
        Recorded in ``results.json``.
    scenario_title : str
        The scenario's title, in the running footer of the printed page.
    min_cell_count : int
        Counts from 1 to ``min_cell_count - 1`` are suppressed in shown tables.
    internal : bool
        Required to lower ``min_cell_count`` below 11.
    parameters : dict, optional
        The notebook's parameters, recorded in ``results.json``.
    labels : mapping, optional
        Column name -> header shown (default :data:`COLUMN_LABELS`; see
        :func:`column_labels`), in the page and the workbook; the CSV tables keep the
        column names.
    title : str, optional
        Title of the workbook's cover (default: the notebook's first heading).

    Notes
    -----
    Every method displays its output and returns ``None``, so a notebook cell never
    ends with an unsuppressed object by accident.
    """

    def __init__(
        self,
        output_dir: str | Path | None = "",
        *,
        notebook: str = "",
        scenario: str = "",
        practice_id: str = "",
        min_cell_count: int = MIN_CELL_COUNT,
        internal: bool = False,
        parameters: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        title: str = "",
        scenario_title: str = "",
    ) -> None:
        self.output_dir = Path(output_dir) if output_dir else None
        self.labels = dict(COLUMN_LABELS if labels is None else labels)
        self.privacy = PrivacySettings(min_cell_count=min_cell_count, internal=internal)
        self.notebook = notebook
        self.scenario = scenario
        self.scenario_title = scenario_title or scenario
        self.data_text = ""
        self.data_short = ""
        self.answered: list[dict[str, str]] = []
        self.practice_id = practice_id
        self.parameters = dict(parameters or {})
        self.headlines: dict[str, dict[str, Any]] = {}
        self.tables: dict[str, pd.DataFrame] = {}
        self.figures: list[str] = []
        self.plan: DisclosurePlan | None = None
        self.title = title or _notebook_title(notebook)
        self._suppressed_cells = 0
        # What the workbook's cover and Definitions sheet repeat from the page.
        self._captions: dict[str, str] = {}
        self._callouts: list[tuple[str, str]] = []
        self._definitions: list[str] = []
        self._scenario_title = ""
        if internal:
            self._display_html(
                '<p style="border:2px solid #b35806;padding:6px"><b>INTERNAL RUN</b> — '
                f"counts from {min_cell_count} up are shown; not for sharing.</p>"
            )

    @staticmethod
    def _display_html(text: str) -> None:
        IPython.display.display(IPython.display.HTML(text))

    def note(self, markdown: str) -> None:
        """Show a paragraph of narrative computed in the notebook (Markdown)."""
        IPython.display.display(IPython.display.Markdown(markdown))

    def preformatted(self, text: str) -> None:
        """Show text as it is (definitions, rules), in a fixed-width block; the
        workbook's Definitions sheet repeats it."""
        self._definitions.append(text)
        self._display_html(f'<pre style="white-space:pre-wrap">{html.escape(text)}</pre>')

    def disclose(self, plan: DisclosurePlan) -> None:
        """Apply ``plan`` -- the cells the report withholds, decided over all its views
        (:func:`analysis.disclosure.disclosure_plan`) -- to every table, figure and
        headline from here on; :meth:`show_privacy` states its rule on the page."""
        self.plan = plan

    def show_privacy(self) -> None:
        """State the privacy rule once on the page (the notes under tables link here)."""
        if self.privacy.min_cell_count <= 1:
            return
        rule = self.plan.rule if self.plan is not None else (
            f"Counts from 1 to {self.privacy.min_cell_count - 1}, and cells that would "
            "reveal one, are not shown (CMS cell-size suppression policy); a suppressed "
            f"cell reads {MARKER}.")
        self.callout(rule, title="Privacy.", id=PRIVACY_ID)

    def state_data(self, text: str, *, short: str = "") -> None:
        """Record the data statement of the page (:func:`analysis.report.data_statement`):
        :meth:`answer` shows it as its last row, and ``short`` (a few words) runs in the
        footer of every printed page beside the scenario."""
        self.data_text = text
        self.data_short = short or text

    def answer(self, answer: Answer) -> None:
        """Show the page's answer box (:mod:`analysis.report.answer`) with the data
        statement as its last row, set the running footer of the printed page, and
        record the answer for ``results.json`` and the index page."""
        if self.data_text:
            answer = answer.with_row(AnswerRow("data", "Data", self.data_text))
        self.answered = answer.to_dict()
        footer = " · ".join(x for x in (self.data_short, f"Scenario: {self.scenario_title}"
                                        if self.scenario_title else "") if x)
        style = (f"<style>@media print{{@page{{@bottom-left{{content:{_css_string(footer)}}}}}}}"
                 "</style>" if footer else "")
        self._display_html(style + answer.html())

    def definitions(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Show definitions, each a term and its meaning in words
        (:mod:`analysis.report.definitions`), as a definition list."""
        items = "".join(f"<p><b>{html.escape(term)}.</b> {text_html(text)}</p>"
                        for term, text in pairs)
        self._display_html(f'<div class="rad3d-definitions">{items}</div>')

    def glossary(self, terms: Iterable[str] | None = None) -> None:
        """Show the glossary (:mod:`analysis.report.glossary`; every term, or those
        keyed in ``terms``); the exported page links each term's first use to it."""
        self._display_html(glossary_html(terms))

    def _withheld(self, table: pd.DataFrame, of_practice: bool) -> pd.DataFrame | None:
        """The cells of ``table`` the plan withholds (rows of a practice: its
        ``practice_id`` column, else on a practice's page that practice)."""
        if self.plan is None or not of_practice or self.privacy.min_cell_count <= 1:
            return None
        return self.plan.mask(table, practice=self.practice_id or None)

    def table(
        self,
        name: str,
        table: pd.DataFrame,
        *,
        caption: str = "",
        count_columns: Iterable[str] | None = None,
        dependents: Mapping[str, Sequence[str]] | None = None,
        total_rows: Iterable[object] = (),
        row_groups: Mapping[str, Sequence[str]] | None = None,
        column_totals: bool = True,
        show: bool = True,
        max_rows: int | None = None,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        of_practice: bool = True,
        labels: Mapping[str, str] | None = None,
        empty: str = "",
    ) -> None:
        """Suppress small counts, show the table, save it as CSV (and in the workbook).

        The cells the disclosure plan withholds (:meth:`disclose`) are suppressed first:
        rows of a hidden practice or period, dollars of a practice whose dollars are
        hidden. A row is a practice's by its ``practice_id`` column or, on a
        practice's page, every row is that practice's unless ``of_practice=False``
        (the scenario, the claims read). See :func:`analysis.privacy.suppress_counts`
        for the other options (suppression is decided on the whole table).
        ``max_rows`` limits the rows shown and ``columns`` the columns shown, with
        human headers (:attr:`labels`), so that a printed page holds the table;
        ``where`` (``{column: value}``, or ``{column: [values]}``) shows only the rows
        with those values. The
        saved CSV and Excel sheet are complete, and the note under the table says so.
        ``labels`` overrides headers for this table only (a column whose unit differs
        here); a table with no row to show is replaced by ``empty`` (a sentence; by
        default, that there is none).
        """
        _check_name("table", name)
        check_no_identifier_columns(table, name=name)
        flat = table.reset_index() if _has_named_index(table) else table.reset_index(drop=True)
        total_labels = set(total_rows)
        positions = [i for i, row in enumerate(table.index) if row in total_labels]
        flat_totals = [flat.index[i] for i in positions]
        result: Suppressed = suppress_counts(
            flat, settings=self.privacy, count_columns=count_columns, dependents=dependents,
            total_rows=flat_totals, row_groups=row_groups, column_totals=column_totals,
            preset=self._withheld(flat, of_practice),
        )
        self._suppressed_cells += result.n_suppressed
        self.tables[name] = result.table
        self._captions[name] = caption
        if self.output_dir is not None:
            write_csv(self.output_dir / "tables" / f"{name}.csv", result.table)
        if show:
            self._show_table(name, result, caption=caption, max_rows=max_rows,
                             columns=columns, where=where,
                             labels={**self.labels, **(labels or {})}, empty=empty)

    def _show_table(self, name: str, result: Suppressed, *, caption: str,
                    max_rows: int | None, columns: Sequence[str] | None,
                    where: Mapping[str, Any] | None, labels: Mapping[str, str],
                    empty: str) -> None:
        """Show the part of a suppressed table asked for, saying what is left out."""
        full = result.table
        shown = full
        for column, value in (where or {}).items():
            if isinstance(value, list | tuple | set | frozenset):
                shown = shown.loc[shown[column].isin(list(value))]
            else:
                shown = shown.loc[shown[column] == value]
        if where:
            shown_where = ", ".join(
                f"{header(str(k), labels).lower()} = "
                + (" or ".join(str(value_label(k, x)) for x in v)
                   if isinstance(v, list | tuple | set | frozenset) else str(value_label(k, v)))
                for k, v in where.items())
        shown = shown if max_rows is None else shown.head(max_rows)
        if columns is not None:
            missing = [c for c in columns if c not in shown.columns]
            if missing:
                raise ValueError(f"table {name!r}: no column(s) {missing}")
            shown = shown[list(columns)]
        if shown.empty:
            text = empty or (f"{caption}: none." if caption else "Nothing to show.")
            self._display_html(f'<p class="rad3d-empty">{text_html(text)}</p>')
            return
        parts = []
        if where:
            parts.append(f"Rows with {shown_where}: {len(shown)} of {len(full)} rows shown.")
        elif len(shown) < len(full):
            parts.append(f"First {len(shown)} of {len(full)} rows shown.")
        if shown.shape[1] < full.shape[1]:
            parts.append(f"{shown.shape[1]} of {full.shape[1]} columns shown.")
        if parts:
            book = f"tables/{self._workbook_name}"
            parts.append(f"The full table is in tables/{name}.csv and in the Excel "
                         f"workbook {book}, on a sheet of the same name.")
        footnote = result.footnote
        link = ""
        if footnote and self.plan is not None:
            footnote = ""
            link = (f'{MARKER} suppressed (the <a href="#{PRIVACY_ID}">privacy rule</a> is '
                    "stated with the scenario and data).")
        note = " ".join([*parts, footnote]).strip()
        self._display_html(table_html(shown, caption=caption, footnote=note,
                                      labels=labels, note_html=link))

    @property
    def _workbook_name(self) -> str:
        return f"{self.notebook or 'tables'}.xlsx"

    def callout(self, text: str, *, title: str = "", id: str = "") -> None:
        """Show a boxed statement (e.g. the privacy rule) that no reader misses; the
        workbook's cover repeats it."""
        self._callouts.append((title, text))
        head = f"<b>{html.escape(title)}</b> " if title else ""
        ident = f' id="{html.escape(id)}"' if id else ""
        self._display_html(
            f'<div class="rad3d-callout"{ident} style="border:2px solid #E69F00;'
            'background:#FFF6E0;padding:8px 12px;margin:6px 0;font-size:1.05em">'
            f"{head}{text_html(text)}</div>")

    def show_scenario(self, overview: ScenarioOverview) -> None:
        """Show the scenario (name, description, key assumptions, what it changes)
        and save its table as ``tables/scenario.csv``."""
        title = overview.title or overview.name
        self._scenario_title = title
        desc = f" {html.escape(overview.description)}" if overview.description else ""
        changed = overview.n_changed
        self._display_html(
            f"<p><b>Scenario: {html.escape(title)}</b> "
            f"(<code>{html.escape(overview.name)}</code>).{desc}</p>")
        self.table(
            "scenario", overview.table.drop(columns=["changed"]), count_columns=[],
            of_practice=False,
            caption=("Key assumptions, and every parameter this scenario changes "
                     f"({changed} differ from the notebook defaults)"),
        )

    def funnel(self, name: str, screen, *, highlight: str | None = None,
               label_flagged: bool = True, caption: str = "") -> None:
        """The funnel plot (:func:`analysis.plots.funnel_plot`) safe to share.

        Practices whose counts the screen table suppresses (:func:`hidden_practices`)
        are not plotted; the caption says how many.
        """
        if self.privacy.min_cell_count <= 1:
            hidden = []
        elif self.plan is not None:
            hidden = sorted(set(screen.table["practice_id"].astype(str)) & self.plan.hidden)
        else:
            hidden = hidden_practices(screen, settings=self.privacy)
        fig = plots.funnel_plot(screen, highlight=highlight, label_flagged=label_flagged,
                                hide=hidden)
        if hidden:
            caption = (f"{caption} {plural(len(hidden), 'practice')} with a count from 1 to "
                       f"{self.privacy.min_cell_count - 1} (or the cell that would reveal "
                       f"one) {'is' if len(hidden) == 1 else 'are'} not plotted.").strip()
        if highlight is not None and str(highlight) in set(hidden):
            caption += " This practice is among them: its own point is not shown."
        self.figure(name, fig, caption=caption)

    def trend(self, name: str, screen, practice_id: str, *, caption: str = "") -> None:
        """One practice's quarterly trend (:func:`analysis.plots.trend_plot`) safe to
        share: periods with suppressed counts (:func:`hidden_periods`) are not
        plotted and the caption names them."""
        tr = screen.trend
        periods = tr.loc[(tr["practice_id"].astype(str) == str(practice_id)) & (tr["n_ct_mr"] > 0)]
        if self.privacy.min_cell_count <= 1:
            safe, hidden = screen, []
        elif self.plan is not None:
            hidden = sorted(periods["period"].astype(str)) if self.plan.hides(practice_id) \
                else self.plan.periods_of(practice_id)
            safe = without_periods(screen, practice_id, hidden)
        else:
            safe, hidden = shareable_trend(screen, practice_id, settings=self.privacy)
        if hidden and len(hidden) == len(periods):
            self._display_html(
                f"<p><i>No quarter of practice {html.escape(str(practice_id))} can be shown: "
                f"each has a count from 1 to {self.privacy.min_cell_count - 1} or would "
                "reveal one (CMS cell-size suppression policy).</i></p>")
            return
        if hidden:
            caption = (f"{caption} Not plotted (a count from 1 to "
                       f"{self.privacy.min_cell_count - 1}, or the period that would "
                       f"reveal one): {', '.join(hidden)}.").strip()
        self.figure(name, plots.trend_plot(safe, practice_id), caption=caption)

    def trends(self, name: str, trend, practice_id: str | None = None, *,
               caption: str = "") -> None:
        """The PEPPER-style quarterly trend (:func:`analysis.plots.quarterly_trend_plot`)
        safe to share.

        ``practice_id=None``: the statewide trend, whose quarterly totals the disclosure
        plan protects (:func:`analysis.disclosure.disclosure_plan`, rule 3). A practice:
        its quarters without those the plan withholds (all of them for a hidden
        practice), named in the caption; where none is left, a sentence says so.
        """
        if practice_id is None:
            self.figure(name, plots.quarterly_trend_plot(trend), caption=caption)
            return
        rows = trend.practice(practice_id)
        periods = sorted(rows.loc[rows["n_ct_mr"] > 0, "period"].astype(str))
        if self.privacy.min_cell_count <= 1:
            hidden = []
        elif self.plan is not None:
            hidden = periods if self.plan.hides(practice_id) else sorted(
                set(self.plan.periods_of(practice_id)) & set(periods))
        else:
            hidden = hidden_quarters(rows, settings=self.privacy)
        if not periods or len(hidden) == len(periods):
            why = (f"each has a count from 1 to {self.privacy.min_cell_count - 1} or would "
                   "reveal one (CMS cell-size suppression policy)") if periods else (
                   f"it has no CT/MR imaging in {trend.span}")
            self._display_html(
                f"<p><i>No quarter of practice {html.escape(str(practice_id))} can be "
                f"shown: {html.escape(why)}.</i></p>")
            return
        table = trend.table
        drop = (table["practice_id"] == str(practice_id)) & table["period"].isin(hidden)
        safe = dataclasses.replace(trend, table=table.loc[~drop])
        if hidden:
            caption = (f"{caption} Not plotted (a count from 1 to "
                       f"{self.privacy.min_cell_count - 1}, or the quarter that would "
                       f"reveal one): {', '.join(hidden)}.").strip()
        self.figure(name, plots.quarterly_trend_plot(safe, practice_id), caption=caption)

    def figure(self, name: str, fig, *, caption: str = "", dpi: int = 144) -> None:
        """Save a matplotlib figure as ``figures/<name>.png``, show it, close it.

        The PNG is :func:`analysis.plots.png_bytes` (dollar signs as text); a figure
        made with pyplot is closed, so that a run of many notebooks holds none. Its
        alternative text (the output's ``alt`` metadata, which the exported page
        uses) is the figure's title (:func:`analysis.plots.alt_text`), else the
        caption.
        """
        _check_name("figure", name)
        data = plots.png_bytes(fig, dpi=dpi)
        alt = plots.alt_text(fig) or caption or name.replace("_", " ")
        plt.close(fig)
        if self.output_dir is not None:
            write_bytes(self.output_dir / "figures" / f"{name}.png", data)
        self.figures.append(name)
        IPython.display.display(IPython.display.Image(data=data, format="png"),
                                metadata={"image/png": {"alt": alt}})
        if caption:
            self._display_html(f'<p class="rad3d-caption"><i>{html.escape(caption)}</i></p>')

    def headline(self, name: str, value: Any, *, label: str = "", unit: str = "",
                 note: str = "", suppressed: bool = False) -> None:
        """Record a headline number for ``results.json`` and the index page.

        Counts (by name, :func:`analysis.privacy.is_count_column`) from 1 to the
        threshold are recorded as ``None`` with ``suppressed: true``; so is any value
        with ``suppressed=True`` (a figure derived from a suppressed count).
        """
        if isinstance(value, np.generic):
            value = value.item()
        suppressed = suppressed or self._withholds_headline(name, value)
        shown = None if suppressed else suppress_value(name, value, settings=self.privacy)
        self.headlines[name] = {
            "value": shown, "label": label or name, "unit": unit, "note": note,
            "suppressed": shown is None and value is not None,
        }

    def _withholds_headline(self, name: str, value: Any) -> bool:
        """On a practice's page: a number of a hidden practice, or dollars of a practice
        whose dollars are hidden, is withheld."""
        plan, pid = self.plan, self.practice_id
        if plan is None or not pid or self.privacy.min_cell_count <= 1 \
                or isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return plan.hides(pid) or (is_dollar_column(name) and pid in plan.hidden_dollars)

    def show_headlines(self, *, caption: str = "Key numbers") -> None:
        """Show the headline numbers recorded so far as a table."""
        rows = [
            {"measure": h["label"],
             "value": MARKER if h["suppressed"] else format_headline(h["value"], h["unit"]),
             "note": h["note"]}
            for h in self.headlines.values()
        ]
        frame = pd.DataFrame(rows, columns=["measure", "value", "note"])
        if not frame["note"].astype(bool).any():
            frame = frame.drop(columns=["note"])
        self._display_html(table_html(frame, caption=caption, labels={
            "measure": "Measure", "value": "Value", "note": "Note"}))

    def finish(self) -> None:
        """Write ``results.json`` and the Excel workbook of all tables."""
        results = {
            "notebook": self.notebook,
            "scenario": self.scenario,
            "practice_id": self.practice_id or None,
            "headline": self.headlines,
            "answer": self.answered,
            "tables": sorted(self.tables),
            "figures": self.figures,
            "privacy": {**(self.plan.to_dict() if self.plan else self.privacy.to_dict()),
                        "suppressed_cells": self._suppressed_cells},
            "parameters": self.parameters,
            "finished_at": utc_timestamp(),
        }
        if self.output_dir is None:
            return
        if self.tables:
            write_workbook(
                self.output_dir / "tables" / self._workbook_name, self.tables,
                cover=self._cover(), labels=self.labels, captions=self._captions,
                definitions=self._definitions,
                suppressed={name: t.eq(MARKER) for name, t in self.tables.items()},
                suppressed_note=(f"Suppressed: a count from 1 to {self.privacy.min_cell_count - 1}"
                                 ", or a cell that would reveal one (rule on the Cover sheet)."),
            )
        write_json(self.output_dir / "results.json", results)

    def _cover(self) -> Cover:
        """The workbook's cover: what the top of the page says."""
        k = self.privacy.min_cell_count
        if k <= 1:
            rule = "None: every count is shown (internal run, not for sharing)."
        elif self.plan is not None:
            rule = self.plan.rule
        else:
            rule = (f"Counts from 1 to {k - 1} and cells that would reveal one are "
                    "suppressed (CMS cell-size suppression policy).")
        scenario = self.scenario
        if self._scenario_title and self._scenario_title != self.scenario:
            scenario = self._scenario_title + (f"; scenario name: {self.scenario}"
                                               if self.scenario else "")
        data = " ".join(text for title, text in self._callouts if title == "Data.")
        lines = [("Practice", self.practice_id)] if self.practice_id else []
        if self.privacy.internal:
            lines.append(("INTERNAL RUN", f"Counts from {k} up are shown; not for sharing."))
        lines += [(title.rstrip(".: ") or "Note", text) for title, text in self._callouts
                  if title not in ("Data.", "Privacy.")]
        return Cover(title=self.title, scenario=scenario, data=data, suppression=rule,
                     lines=tuple(lines))


def _notebook_title(notebook: str) -> str:
    """The first heading of ``notebooks/<notebook>.py``, else the notebook's name."""
    try:
        text = (NOTEBOOK_DIR / f"{notebook}.py").read_text(encoding="utf-8")
    except (OSError, ValueError):
        text = ""
    for line in text.splitlines()[:20]:
        if line.startswith("# # "):
            return line[4:].strip()
    return (notebook or "rad3d tables").replace("_", " ").capitalize()


def _has_named_index(table: pd.DataFrame) -> bool:
    return any(n is not None for n in table.index.names)
