"""The committee pages: answer first, words not identifiers, a glossary, a printable brief.

A report of every notebook is run once on the bundled sample (the committee's default
run; one suppressed and one shown practice get scorecards). Every HTML page of it is
scanned for what must never reach a committee: identifiers (snake_case words outside
code), markup (backticks, reStructuredText roles, Markdown bold), missing values (nan,
NaN, None, NA) and "(s)" plurals. The policy brief's PDF is rendered to PNG pages with
poppler (``pdftoppm``) and read back (``pdftotext``): at most 6 pages, with its answer,
data statement, scenario and page numbers on them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from bs4 import BeautifulSoup

from analysis import report
from analysis.paths import NOTEBOOK_DIR
from analysis.policy import POLICY_KINDS
from analysis.report.parameters import RESERVED
from analysis.run import pdf as pdf_step
from analysis.run.batch import run_report
from analysis.run.scenarios import load_scenario

#: A shown practice and one whose counts the disclosure plan suppresses (bundled sample).
PRACTICES = ("NC001", "NC005")
MAX_BRIEF_PAGES = 6

#: What no committee page may show, outside code.
BANNED = {
    "backtick": re.compile(r"`"),
    "reStructuredText role": re.compile(r":[a-z]+:`|``"),
    "Markdown bold": re.compile(r"\*\*"),
    "missing value": re.compile(r"\b(?:nan|NaN|NaT|None|NA|N/A|<NA>)\b"),
    "(s) plural": re.compile(r"\w\(s\)"),
}
#: A snake_case identifier: words joined by "_" (not part of a file name or path).
SNAKE = re.compile(r"(?<![\w./-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w/-]|\.\w)")


def page_text(html: str) -> str:
    """The text a reader sees: no code, style or script; ``<wbr>`` joins its word."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["style", "script", "code", "title"]):
        tag.decompose()
    for tag in soup("wbr"):
        tag.unwrap()
    soup = BeautifulSoup(str(soup), "html.parser")
    return (soup.body or soup).get_text(" ")


def findings(html: str) -> dict[str, list[str]]:
    """Identifiers, markup, missing values and '(s)' on a page, by kind."""
    text = page_text(html)
    found = {kind: sorted({m.group(0) for m in pattern.finditer(text)})
             for kind, pattern in BANNED.items()}
    found["identifier"] = sorted({m.group(0) for m in SNAKE.finditer(text)})
    return {k: v for k, v in found.items() if v}


def test_the_scan_finds_each_kind_of_leak():
    page = ("<html><body><p>See ``F`` and :data:`COLUMNS`, **bold**; the loss_usd is "
            "nan; NA; 3 year(s).</p><code>fine_in_code</code><p>file "
            "<code>claims_2024.parquet</code>, tables/top_losers.csv</p></body></html>")
    found = findings(page)
    assert set(found) == {"backtick", "reStructuredText role", "Markdown bold",
                          "missing value", "(s) plural", "identifier"}
    assert found["identifier"] == ["loss_usd"]  # not the code, nor a file path
    assert findings("<p>Loss over 3 years ($): $1,234; 2 of 40 flagged.</p>") == {}


def test_first_uses_link_to_the_glossary_once():
    page = ("<h2>φ in a heading</h2><p>The screen: φ = 55.2 and a q-value; φ again.</p>"
            "<code>φ</code>" + report.glossary_html(["phi", "bh-q"]))
    linked = report.link_first_uses(page)
    body = linked.split('<div id="glossary"')[0]
    assert body.count('href="#g-phi"') == 1 and body.count('href="#g-bh-q"') == 1
    assert "<h2>φ in a heading</h2>" in body  # headings are left alone
    assert report.link_first_uses("<p>φ</p>") == "<p>φ</p>"  # no glossary, no links


def test_every_label_the_pages_need_is_in_the_label_table():
    assert set(POLICY_KINDS) <= set(report.POLICY_LABELS)
    declared = set()
    for nb in NOTEBOOK_DIR.glob("*.ipynb"):
        declared |= set(report.notebook_parameters(nb))
    unlabelled = sorted(n for n in declared - set(RESERVED)
                        if n not in report.PARAMETER_LABELS
                        and n not in ("scenario_title", "scenario_description"))
    assert unlabelled == []


def test_no_browser_skips_the_pdf_with_one_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf_step, "find_browser", lambda: None)
    records = [{"scenario": "base", "notebook": "policy_brief", "status": "ok",
                "rel_dir": "base/policy_brief", "html": "policy_brief.html"}]
    result = pdf_step.write_briefs(tmp_path, records, [load_scenario(
        NOTEBOOK_DIR / "params" / "base.yaml")])
    assert result.written == [] and "chromium" in result.warning
    assert not list(tmp_path.rglob("*.pdf"))


# ------------------------------------------------------------------ a real run


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("pages") / "reports" / "latest"
    result = run_report(practices=",".join(PRACTICES), out=out, workers=2, progress=False)
    assert result.ok, result.summary.to_string()
    return {"out": out, "result": result}


@pytest.mark.slow
def test_no_identifier_markup_or_missing_value_reaches_a_page(pages):
    htmls = sorted(pages["out"].rglob("*.html"))
    assert len(htmls) == 4 + len(PRACTICES) + 1  # four notebooks, the scorecards, index
    leaks = {str(p.relative_to(pages["out"])): f for p in htmls
             if (f := findings(p.read_text(encoding="utf-8")))}
    assert leaks == {}


@pytest.mark.slow
def test_every_page_opens_with_its_answer_and_ends_with_a_glossary(pages):
    for page in pages["out"].rglob("*.html"):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        answer = soup.find(id="answer")
        assert answer is not None and "rad3d-answer" in answer.get("class", []), page
        text = soup.get_text(" ")
        # the answer comes before any section a reader may skip (on the index, under its
        # scenario's heading and before the table of the scenario's reports)
        after = soup.find("table" if page.name == "index.html" else "h2")
        assert after is not None
        assert text.index(answer.get_text(" ")[:40]) < text.index(after.get_text(" ")[:40])
        if page.name == "index.html":
            continue
        assert "Data" in answer.get_text() and "Scenario:" in text
        glossary = soup.find(id="glossary")
        assert glossary is not None and soup.find("a", class_="rad3d-term"), page


@pytest.mark.slow
def test_every_figure_on_a_page_says_what_it_shows(pages):
    """Each figure a page records (results.json) is one image on it, whose alternative
    text is the figure's title (a screen reader reads the finding), never nbconvert's
    placeholder."""
    for result in sorted(pages["out"].rglob("*/results.json")):
        figures = json.loads(result.read_text())["figures"]
        page = next(result.parent.glob("*.html"))
        alts = [img.get("alt", "") for img in
                BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find_all("img")]
        assert len(alts) == len(figures), (page.name, figures)
        assert all(a.strip() and "No description" not in a for a in alts), (page.name, alts)
    # the LCD page's first figure is the funnel; its title states the screen's counts
    lcd = pages["out"] / "base/lcd_screen"
    head = {k: v["value"] for k, v in
            json.loads((lcd / "results.json").read_text())["headline"].items()}
    funnel = BeautifulSoup((lcd / "lcd_screen.html").read_text(encoding="utf-8"),
                           "html.parser").find("img")["alt"]
    assert funnel.startswith(f"{head['n_practices_flagged']} of "
                             f"{head['n_practices_screened']} practices bill 3D above")
    assert f"{head['n_practices_beyond_chance']} beyond chance alone" in funnel


@pytest.mark.slow
def test_brief_answer_states_cost_interval_flags_and_what_moves_it(pages):
    out = pages["out"]
    results = json.loads((out / "base/policy_brief/results.json").read_text())
    rows = {r["key"]: r["text"] for r in results["answer"]}
    assert set(rows) == {"cost", "flagged", "moves", "data"}
    head = {k: v["value"] for k, v in results["headline"].items()}
    assert f"${head['loss_year1_usd']:,.0f}" in rows["cost"]
    assert f"${head['loss_horizon_upper_usd']:,.0f}" in rows["cost"]
    assert "interval of the 3-year loss" in rows["cost"] and "covers" in rows["cost"]
    # the sample: NC002 and NC019 beyond the usual variation, 5 beyond chance alone
    assert "beyond the usual variation" in rows["flagged"] and "NC002" in rows["flagged"]
    assert "beyond chance alone" in rows["flagged"]
    assert "tornado" in rows["moves"] and "SYNTHETIC DATA" in rows["data"]
    index = BeautifulSoup((out / "index.html").read_text(), "html.parser")
    tiles = index.find(id="answer").get_text(" ")
    assert "NC002" in tiles and "3-year loss" in tiles
    assert "reused" not in index.get_text()
    assert index.find("a", href="base/policy_brief/policy_brief.pdf") is not None or \
        pdf_step.find_browser() is None


@pytest.mark.slow
def test_suppressed_practice_scorecard_withholds_its_rate_in_the_answer(pages):
    folder = next((pages["out"] / "base" / "practice_scorecard").glob("nc005*"))
    results = json.loads((folder / "results.json").read_text())
    rows = {r["key"]: r["text"] for r in results["answer"]}
    assert "withheld" in rows["practice"] and "%" not in rows["practice"].split("peer")[0]
    assert results["headline"]["rate"]["value"] is None


@pytest.mark.slow
def test_policy_brief_pdf_fits_six_pages_with_its_text(pages, tmp_path):
    if pdf_step.find_browser() is None:
        pytest.skip("no Chromium installed (apt-get install chromium): no PDF is printed")
    if not all(shutil.which(tool) for tool in ("pdftoppm", "pdftotext", "pdfinfo")):
        pytest.skip("poppler-utils not installed (apt-get install poppler-utils)")
    out = pages["out"]
    brief = out / "policy_brief.pdf"
    assert brief.is_file()
    assert (out / "base/policy_brief/policy_brief.pdf").read_bytes() == brief.read_bytes()
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(brief), str(tmp_path / "page")],
                   check=True)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert 1 <= len(pngs) <= MAX_BRIEF_PAGES, f"{len(pngs)} pages"
    assert all(p.stat().st_size > 2_000 for p in pngs)
    text = subprocess.run(["pdftotext", "-layout", str(brief), "-"], capture_output=True,
                          text=True, check=True).stdout
    first = text.split("\f")[0]
    assert "Answer" in first and "What it costs" in first and "SYNTHETIC DATA" in first
    assert f"Page 1 of {len(pngs)}" in first
    assert "Scenario: Base case" in text.split("\f")[-2]  # the running footer, last page
    assert "Glossary" in text and "CHEERS 2022" in text
    # the same page printed on A4 fits too
    a4 = tmp_path / "a4.pdf"
    pdf_step.print_pdf(out / "base/policy_brief/policy_brief.html", a4,
                       browser=pdf_step.find_browser(), paper="A4")
    info = subprocess.run(["pdfinfo", str(a4)], capture_output=True, text=True,
                          check=True).stdout
    assert "pts (A4)" in info
    pages = int(next(line.split()[-1] for line in info.splitlines()
                     if line.startswith("Pages:")))
    assert 1 <= pages <= MAX_BRIEF_PAGES
