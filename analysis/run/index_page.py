"""The index page of a report folder: the answer of each scenario, and links to it all.

Each scenario opens with its answer in tiles (what the policy costs, who is flagged and
how sure, the assumption that moves the answer most: the policy brief's answer, with
practice ids) and a link to the printable brief, then a row per notebook run linking
its page, figures, tables and records. The data statement comes first, failed runs are
listed before everything else, and an internal run says so.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.defaults import MIN_CELL_COUNT
from analysis.report.formatting import plural, text_html
from analysis.report.labels import NOTEBOOK_LABELS
from analysis.report.provenance import data_statement
from analysis.run.scenarios import Scenario

__all__ = ["index_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
margin:1.2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em;margin:0 0 .2em} h2{font-size:1.2em;margin-top:1.2em;
border-bottom:1px solid #ccc} table{border-collapse:collapse;margin:.6em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2} .num{text-align:right} .failed{color:#b35806;font-weight:bold}
.internal{border:2px solid #b35806;padding:6px;margin:1em 0} .muted{color:#666}
.data{border:2px solid #E69F00;background:#FFF6E0;padding:6px 12px;margin:.6em 0}
.rad3d-answer{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));
gap:8px;margin:.5em 0}
.tile{border:2px solid #0072B2;background:#F3F8FC;border-radius:4px;padding:6px 12px}
.tile b{display:block;margin-bottom:2px}
.brief{font-weight:600}
@media print{body{max-width:none;margin:0} a{color:inherit}}
"""

#: Rows of a brief's answer shown as tiles (the data statement is shown once, above).
_TILES = ("cost", "flagged", "moves")


def _a(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def _words(stem: str) -> str:
    """A figure's or table's file name as words (``impact_by_year`` -> impact by year)."""
    return stem.replace("_", " ")


def index_html(stage: Path, scenarios: Sequence[Scenario],
               records: Sequence[Mapping[str, Any]], manifest: Mapping[str, Any],
               *, pdfs: Sequence[str] = ()) -> str:
    """The ``index.html`` of the report folder being built in ``stage``; ``pdfs`` are
    the printed briefs (paths in the folder, :func:`analysis.run.pdf.write_briefs`)."""
    pdfs = set(pdfs)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>rad3d report — 3D rendering (CPT 76376/76377)</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>3D rendering (CPT 76376/76377): revenue impact and LCD-benchmark screen</h1>",
    ]
    for entry in manifest.get("inputs", []):
        parts.append('<p class="data"><b>Data.</b> '
                     f"{text_html(data_statement(entry))}</p>")
    if any(p.get("internal") for p in manifest["privacy"].values()):
        parts.append('<p class="internal"><b>INTERNAL RUN — not for sharing.</b> The '
                     "small-cell threshold was lowered; see the manifest.</p>")
    failures = [r for r in records if r["status"] == "failed"]
    if failures:
        items = "".join(
            f"<li><code>{html.escape(r['rel_dir'])}</code>: "
            f"{html.escape(str(r.get('error')))}"
            + (f" ({_a(r['rel_dir'] + '/' + r['html'], 'the page with the error')})"
               if r.get("html") else "") + "</li>"
            for r in failures
        )
        parts.append(f'<h2 class="failed">{plural(len(failures), "run")} failed</h2>'
                     f"<ul>{items}</ul>")
    by_scenario: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        by_scenario.setdefault(r["scenario"], []).append(r)
    first = True
    for scenario in scenarios:
        recs = by_scenario.get(scenario.name, [])
        parts.append(f"<h2>Scenario: {html.escape(scenario.title or scenario.name)}</h2>")
        if scenario.description:
            parts.append(f"<p>{html.escape(scenario.description)}</p>")
        tiles = _answer(stage, recs)
        if tiles:
            ident = ' id="answer"' if first else ""
            first = False
            parts.append(f'<div class="rad3d-answer"{ident} aria-label="Answer">' + "".join(
                f'<div class="tile"><b>{html.escape(title)}</b>{text_html(text)}</div>'
                for title, text in tiles) + "</div>")
        brief = next((r for r in recs if r["notebook"] == "policy_brief" and r.get("html")),
                     None)
        if brief is not None:
            pdf = f"{brief['rel_dir']}/policy_brief.pdf"
            parts.append('<p class="brief">' + _a(f"{brief['rel_dir']}/{brief['html']}",
                                                  "Read the policy brief")
                         + (" · " + _a(pdf, "Printable brief (PDF)") if pdf in pdfs else "")
                         + "</p>")
        parts.append("<table><thead><tr><th>report</th><th>practice</th><th>status</th>"
                     "<th>figures</th><th>tables</th><th>data</th></tr></thead><tbody>")
        for r in recs:
            base = r["rel_dir"] + "/"
            name = NOTEBOOK_LABELS.get(r["notebook"], _words(r["notebook"]))
            link = _a(base + r["html"], name) if r.get("html") else html.escape(name)
            figs = " ".join(_a(base + f, _words(Path(f).stem)) for f in r.get("figures", []))
            tabs = " ".join(_a(base + f, _words(Path(f).stem)) for f in r.get("tables", []))
            data = " ".join(
                [_a(base + f, "Excel") for f in r.get("workbooks", [])]
                + ([_a(base + "results.json", "results")] if r.get("results") else [])
                + ([_a(base + "manifest.json", "manifest")] if r.get("manifest") else [])
                + ([_a(base + r["notebook"] + ".ipynb", "notebook")]
                   if (stage / base / f"{r['notebook']}.ipynb").is_file() else [])
            )
            status = ('<span class="failed">failed</span>' if r["status"] == "failed"
                      else "done")
            parts.append(
                f"<tr><td>{link}</td><td>{html.escape(r.get('practice_id') or '')}</td>"
                f"<td>{status}</td><td>{figs}</td><td>{tabs}</td><td>{data}</td></tr>"
            )
        parts.append("</tbody></table>")
    reused = sum(r["status"] == "reused" for r in records)
    privacy = next(iter(manifest["privacy"].values()), {})
    parts.append(
        '<p class="muted">Counts from 1 to '
        f"{int(privacy.get('min_cell_count', MIN_CELL_COUNT)) - 1} and figures that "
        "would reveal them are suppressed (shown as *). No patient identifiers appear in "
        "this folder. The 20% test is a benchmark drawn from the retired Novitas LCD "
        "L35408 (effective 2015-10-01, retired 2023-09-28), not an active Medicare rule."
        + (f" {plural(reused, 'report')} {'was' if reused == 1 else 'were'} carried over "
           "unchanged from the previous run (same notebook, parameters and inputs)."
           if reused else "") + "</p>")
    parts.append(
        f'<p class="muted">Run {html.escape(manifest["started_at"])} – '
        f'{html.escape(manifest["finished_at"])}; '
        f'rad3d {html.escape(str(manifest["versions"]["rad3d"]))}'
        f'; commit {html.escape(str(manifest["git"].get("commit") or "n/a")[:12])}'
        f'{" (uncommitted changes)" if manifest["git"].get("dirty") else ""}. '
        f'{_a("manifest.json", "Provenance (manifest)")} · '
        f'{_a("results.json", "All headline numbers (results)")}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _answer(stage: Path, recs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The answer tiles of the scenario: its policy brief's answer (else the answer of
    its first report with one), without the data statement shown above."""
    order = sorted(recs, key=lambda r: (r["notebook"] != "policy_brief", r["rel_dir"]))
    for r in order:
        path = stage / r["rel_dir"] / "results.json"
        if r["status"] == "failed" or not path.is_file() or r.get("practice_id"):
            continue
        rows = json.loads(path.read_text()).get("answer") or []
        tiles = [(row["title"], row["text"]) for row in rows if row.get("key") in _TILES]
        if tiles:
            return tiles
    return []
