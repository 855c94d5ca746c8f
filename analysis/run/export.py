"""An executed notebook as self-contained HTML without code, for a committee to read.

nbconvert's lab template with the inputs left out and images embedded; nothing is
fetched from the internet when the page opens, and print rules make a printed PDF cut
nothing (:data:`REPORT_CSS`).
"""

from __future__ import annotations

import copy
import re

from nbconvert import HTMLExporter

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
    return nb


_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)


_EXTERNAL_LINK = re.compile(r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*/?>", re.I)


_MERMAID = re.compile(
    r"<script type=\"module\">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>", re.S
)


#: Added to every exported report: compact tables on screen, and a print layout
#: in which nothing is cut (no scroll containers; tables and figures fit the page;
#: each main section starts a new page).
REPORT_CSS = """
.rad3d-table{font-size:.86em;border-collapse:collapse;max-width:100%}
.rad3d-table th{white-space:normal;vertical-align:bottom;text-align:right}
.rad3d-table th:first-child,.rad3d-table td:first-child{text-align:left}
.rad3d-table caption{font-weight:600;text-align:left;caption-side:top;padding:2px 0}
.rad3d-note{color:#444;max-width:60em}
.jp-OutputArea-output img{max-width:100%;height:auto}
@media print{
  @page{size:A4;margin:14mm 12mm}
  body{font-size:10pt}
  .jp-OutputArea-output,.jp-RenderedHTMLCommon,.jp-Cell,.jp-OutputArea,
  .jp-Cell-outputWrapper,div{overflow:visible!important;max-height:none!important}
  table,.rad3d-table{width:100%!important;max-width:100%!important;table-layout:auto;
    font-size:8pt;page-break-inside:auto}
  th,td{white-space:normal!important;word-break:break-word;padding:2px 4px!important}
  tr,img,.rad3d-callout{page-break-inside:avoid;break-inside:avoid}
  img{max-width:100%!important;height:auto!important}
  h1,h2,h3{page-break-after:avoid;break-after:avoid}
  .jp-MarkdownCell h2{page-break-before:always;break-before:page}
  .jp-MarkdownCell:first-of-type h2{page-break-before:auto;break-before:auto}
  .rad3d-first h2{page-break-before:auto}
  ::-webkit-scrollbar{display:none}
}
"""


def export_html(nb, *, title: str) -> str:
    """Self-contained, code-free HTML of an executed notebook.

    nbconvert's lab template with ``exclude_input`` and embedded images; references to
    scripts and style sheets on the internet (require.js, MathJax) are removed so the
    page renders offline and fetches nothing. :data:`REPORT_CSS` is added (compact
    tables; ``@media print`` rules so that a printed PDF cuts nothing).
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
    style = f'<style type="text/css">{REPORT_CSS}</style>'
    body = body.replace("</head>", style + "\n</head>", 1) if "</head>" in body \
        else style + body
    return body

