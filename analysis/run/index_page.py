"""The index page of a report folder: what was run, on what data, with its key numbers.

One section per scenario with the key numbers of its policy brief and a row per
notebook run linking its page, figures, tables and records; failed runs are listed
first, and an internal run says so.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.defaults import MIN_CELL_COUNT
from analysis.privacy import MARKER
from analysis.report.formatting import format_headline
from analysis.report.provenance import data_statement
from analysis.run.scenarios import Scenario

__all__ = ["index_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.8em;
border-bottom:1px solid #ccc} table{border-collapse:collapse;margin:.6em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2} .num{text-align:right} .failed{color:#b35806;font-weight:bold}
.internal{border:2px solid #b35806;padding:6px;margin:1em 0} .muted{color:#666}
.data{border:2px solid #E69F00;background:#FFF6E0;padding:8px 12px;margin:1em 0}
.kpi{display:inline-block;border:1px solid #ccc;border-radius:4px;padding:6px 12px;
margin:4px;min-width:14em} .kpi b{display:block;font-size:1.3em}
"""


def _a(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def index_html(stage: Path, scenarios: Sequence[Scenario],
               records: Sequence[Mapping[str, Any]], manifest: Mapping[str, Any]) -> str:
    """The ``index.html`` of the report folder being built in ``stage``."""
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>rad3d report — 3D rendering (CPT 76376/76377)</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>3D rendering (CPT 76376/76377): revenue impact and LCD-benchmark screen</h1>",
        f'<p class="muted">Run {html.escape(manifest["started_at"])} – '
        f'{html.escape(manifest["finished_at"])}; '
        f'rad3d {html.escape(str(manifest["versions"]["rad3d"]))}'
        f'; commit {html.escape(str(manifest["git"].get("commit") or "n/a")[:12])}'
        f'{" (uncommitted changes)" if manifest["git"].get("dirty") else ""}. '
        f'{_a("manifest.json", "Provenance (manifest.json)")} · '
        f'{_a("results.json", "All headline numbers (results.json)")}</p>',
    ]
    for entry in manifest.get("inputs", []):
        parts.append('<p class="data"><b>Data.</b> '
                     f"{html.escape(data_statement(entry))}</p>")
    if any(p.get("internal") for p in manifest["privacy"].values()):
        parts.append('<p class="internal"><b>INTERNAL RUN — not for sharing.</b> The '
                     "small-cell threshold was lowered; see manifest.json.</p>")
    failures = [r for r in records if r["status"] == "failed"]
    if failures:
        items = "".join(
            f"<li>{html.escape(r['rel_dir'])}: {html.escape(str(r.get('error')))}"
            + (f" ({_a(r['rel_dir'] + '/' + r['html'], 'notebook with the error')})"
               if r.get("html") else "") + "</li>"
            for r in failures
        )
        parts.append(f'<h2 class="failed">{len(failures)} run(s) failed</h2><ul>{items}</ul>')
    by_scenario: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        by_scenario.setdefault(r["scenario"], []).append(r)
    for scenario in scenarios:
        recs = by_scenario.get(scenario.name, [])
        parts.append(f"<h2>Scenario: {html.escape(scenario.title or scenario.name)} "
                     f'<span class="muted">({html.escape(scenario.name)})</span></h2>')
        if scenario.description:
            parts.append(f"<p>{html.escape(scenario.description)}</p>")
        kpis = _key_numbers(stage, recs)
        if kpis:
            parts.append("<div>" + "".join(
                f'<div class="kpi">{html.escape(label)}<b>{html.escape(value)}</b></div>'
                for label, value in kpis) + "</div>")
        parts.append("<table><thead><tr><th>report</th><th>practice</th><th>status</th>"
                     "<th>figures</th><th>tables</th><th>data</th></tr></thead><tbody>")
        for r in recs:
            base = r["rel_dir"] + "/"
            name = r["notebook"].replace("_", " ")
            link = _a(base + r["html"], name) if r.get("html") else html.escape(name)
            figs = " ".join(_a(base + f, Path(f).stem) for f in r.get("figures", []))
            tabs = " ".join(_a(base + f, Path(f).stem) for f in r.get("tables", []))
            data = " ".join(
                [_a(base + f, "Excel") for f in r.get("workbooks", [])]
                + ([_a(base + "results.json", "results")] if r.get("results") else [])
                + ([_a(base + "manifest.json", "manifest")] if r.get("manifest") else [])
                + ([_a(base + r["notebook"] + ".ipynb", "notebook")]
                   if (stage / base / f"{r['notebook']}.ipynb").is_file() else [])
            )
            status = ('<span class="failed">failed</span>' if r["status"] == "failed"
                      else html.escape(r["status"]))
            parts.append(
                f"<tr><td>{link}</td><td>{html.escape(r.get('practice_id') or '')}</td>"
                f"<td>{status}</td><td>{figs}</td><td>{tabs}</td><td>{data}</td></tr>"
            )
        parts.append("</tbody></table>")
    privacy = next(iter(manifest["privacy"].values()), {})
    parts.append(
        '<p class="muted">Counts from 1 to '
        f"{int(privacy.get('min_cell_count', MIN_CELL_COUNT)) - 1} and figures that "
        "would reveal them are suppressed (shown as *). No patient identifiers appear in "
        "this folder. The 20% test is a benchmark drawn from the retired Novitas LCD "
        "L35408 (effective 2015-10-01, retired 2023-09-28), not an active Medicare rule.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _key_numbers(stage: Path, recs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The headline numbers of the scenario's policy brief (else of its first report)."""
    order = sorted(recs, key=lambda r: (r["notebook"] != "policy_brief", r["rel_dir"]))
    for r in order:
        path = stage / r["rel_dir"] / "results.json"
        if r["status"] == "failed" or not path.is_file() or r.get("practice_id"):
            continue
        heads = json.loads(path.read_text()).get("headline", {})
        return [
            (h.get("label") or k,
             MARKER if h.get("suppressed") else format_headline(h.get("value"), h.get("unit", "")))
            for k, h in list(heads.items())[:8]
        ]
    return []

