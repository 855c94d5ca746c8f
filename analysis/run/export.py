"""An executed notebook as self-contained HTML without code, for a committee to read.

nbconvert's lab template with the inputs left out and images embedded; nothing is
fetched from the internet when the page opens, print rules make a printed PDF cut
nothing (:data:`REPORT_CSS`), and the first use of each glossary term links to the
page's glossary (:func:`analysis.report.glossary.link_first_uses`).
"""

from __future__ import annotations

import copy
import re

import nbformat
from nbconvert import HTMLExporter

from analysis.plots import png_html
from analysis.report.glossary import link_first_uses

__all__ = ["REPORT_CSS", "export_html"]


def _strip_for_html(nb):
    """A copy for the committee: no stderr streams, no code, no injected parameters."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [
            o for o in cell.get("outputs", [])
            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
        ]
    nb.cells = [c for c in nb.cells
                if "injected-parameters" not in c.get("metadata", {}).get("tags", [])
                and "parameters" not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        cell["outputs"] = [_with_alt(o) for o in cell.get("outputs", [])]
    return nb


def _with_alt(output):
    """An image output with ``alt`` metadata (:meth:`analysis.report.ReportWriter.figure`)
    as the HTML image it shows, with that alternative text: nbconvert's template writes
    none, and would add a placeholder."""
    alt = output.get("metadata", {}).get("image/png", {}).get("alt")
    if output.get("output_type") != "display_data" or not alt \
            or "image/png" not in output.get("data", {}):
        return output
    data = "".join(output["data"]["image/png"].split())
    return nbformat.from_dict({"output_type": "display_data", "metadata": {},
                               "data": {"text/html": png_html(data, alt)}})


_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)


_EXTERNAL_LINK = re.compile(r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*/?>", re.I)


_MERMAID = re.compile(
    r"<script type=\"module\">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>", re.S
)


#: Added to every exported report. On screen: the answer box, compact tables,
#: definition lists. In print (A4 or Letter, whichever the printer has): no section is
#: forced onto a new page; tables fit the page width and wrap between words; figures
#: are sized for paper; every page carries its number and, in a running footer, the
#: data statement and scenario (set by the page itself,
#: :meth:`analysis.report.ReportWriter.answer`).
REPORT_CSS = """
.rad3d-answer{border:2px solid #0072B2;background:#F3F8FC;border-radius:4px;
  padding:6px 14px 8px;margin:4px 0 12px;max-width:76em;line-height:1.4}
.rad3d-answer-title{font-weight:700;font-size:1.1em;margin-bottom:2px;color:#0072B2}
.rad3d-answer-row{display:flex;gap:14px;margin:3px 0}
.rad3d-answer-head{flex:0 0 11.5em;font-weight:600}
.rad3d-answer-text{flex:1 1 auto}
.rad3d-answer-data .rad3d-answer-text{color:#333;font-size:.95em}
.rad3d-definitions p,.rad3d-glossary p{margin:0 0 .45em;max-width:60em}
a.rad3d-term{color:inherit;text-decoration:underline dotted}
.rad3d-empty{font-style:italic;color:#444}
.rad3d-table{font-size:.86em;border-collapse:collapse;max-width:100%}
.rad3d-table th{white-space:normal;vertical-align:bottom;text-align:right}
.rad3d-table th:first-child,.rad3d-table td:first-child{text-align:left}
.rad3d-table caption{font-weight:600;text-align:left;caption-side:top;padding:2px 0}
.rad3d-note{color:#444;max-width:60em}
.jp-OutputArea-output pre,.rad3d-callout{word-break:normal;overflow-wrap:break-word}
.jp-OutputArea-output img{max-width:100%;height:auto}
@media print{
  @page{margin:12mm 12mm 14mm 12mm;
    @bottom-left{font-family:sans-serif;font-size:7pt;color:#444}
    @bottom-right{content:"Page " counter(page) " of " counter(pages);
      font-family:sans-serif;font-size:7pt;color:#444}}
  body{font-size:8.5pt;line-height:1.3;padding:0!important;margin:0!important}
  .jp-OutputArea-output,.jp-RenderedHTMLCommon,.jp-Cell,.jp-OutputArea,
  .jp-Cell-outputWrapper,div{overflow:visible!important;max-height:none!important}
  .jp-Cell{margin:0!important;padding:0!important}
  .jp-OutputArea-output,.jp-RenderedHTMLCommon p,.jp-RenderedHTMLCommon ul{
    margin-top:0!important;margin-bottom:2pt!important;padding-top:0!important;
    padding-bottom:0!important}
  .jp-RenderedHTMLCommon{font-size:8.5pt!important;padding-right:0!important}
  .jp-RenderedHTMLCommon h1{font-size:14pt;margin:0 0 3pt}
  .jp-RenderedHTMLCommon h2{font-size:11pt;margin:6pt 0 2pt}
  table,.rad3d-table{width:auto!important;max-width:100%!important;table-layout:auto;
    font-size:7pt!important;page-break-inside:auto;margin:0!important}
  th,td{white-space:normal!important;word-break:normal!important;
    overflow-wrap:break-word;padding:0 4px!important;line-height:1.25}
  .rad3d-note{margin:1pt 0 3pt!important;font-size:7pt}
  pre{white-space:pre-wrap!important;word-break:normal!important}
  tr,img,.rad3d-callout,.rad3d-answer,.rad3d-glossary p,.rad3d-definitions p{
    page-break-inside:avoid;break-inside:avoid}
  .rad3d-callout{padding:3pt 6pt!important;margin:2pt 0!important;font-size:8pt!important}
  img{max-width:100%!important;max-height:58mm!important;width:auto!important;
    height:auto!important}
  .rad3d-caption{margin:0 0 3pt!important;font-size:7.5pt}
  h1,h2,h3,caption{page-break-after:avoid;break-after:avoid}
  .rad3d-answer{padding:3pt 8pt 4pt!important}
  .rad3d-answer-head{flex-basis:9.5em}
  .rad3d-glossary,.rad3d-definitions{column-count:2;column-gap:6mm}
  a.anchor-link{display:none}
  a{color:inherit}
  ::-webkit-scrollbar{display:none}
}"""


def export_html(nb, *, title: str) -> str:
    """Self-contained, code-free HTML of an executed notebook.

    nbconvert's lab template with ``exclude_input`` and embedded images; references to
    scripts and style sheets on the internet (require.js, MathJax) are removed so the
    page renders offline and fetches nothing. :data:`REPORT_CSS` is added (compact
    tables; ``@media print`` rules so that a printed PDF cuts nothing, with page
    numbers), and the first use of each glossary term is linked to its entry.
    """
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    nb = _strip_for_html(nb)
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = _EXTERNAL_SCRIPT.sub("", body)
    body = _EXTERNAL_LINK.sub("", body)
    body = _MERMAID.sub("", body)
    body = link_first_uses(body)
    style = f'<style type="text/css">{REPORT_CSS}</style>'
    body = body.replace("</head>", style + "\n</head>", 1) if "</head>" in body \
        else style + body
    return body

