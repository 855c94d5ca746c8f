"""Browser check of a generated report: headless Chromium opens the index, follows every
link, and finds no broken link, no console error, every figure rendered, and on every
page the answer box within the first screen (1280 x 800).

Uses Debian's ``chromium`` (``/usr/bin/chromium``; ``.ci/run`` installs it) through
playwright's Python API with ``executable_path``; no browser is downloaded. Skipped,
with the reason, only when that executable is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from analysis import synth
from analysis.run.batch import run_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="chromium not installed (apt-get install chromium; .ci/run does)"),
]


def _local(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file", f"link leaves the report folder: {url}"
    return Path(unquote(parsed.path))


#: The first screen a reader sees; the answer box must end within it.
VIEWPORT = {"width": 1280, "height": 800}
_PAGE_FILES = {".csv", ".xlsx", ".json", ".ipynb", ".png", ".pdf", ".html"}


def _answer_box(page) -> dict | None:
    return page.evaluate("""() => {
        const e = document.querySelector('#answer.rad3d-answer, #answer');
        if (!e) return null;
        const r = e.getBoundingClientRect();
        return {top: r.top + window.scrollY, bottom: r.bottom + window.scrollY};
    }""")


def test_every_page_opens_with_its_answer_and_every_link_works(tmp_path):
    from playwright.sync_api import sync_playwright

    claims_file = tmp_path / "claims.parquet"
    generated = synth.generate(5, rng=np.random.default_rng(5), scale=1 / 150)
    synth.write_lines(generated.lines, claims_file)
    practice = sorted(generated.lines["practice_id"].unique())[0]
    out = tmp_path / "reports" / "latest"
    result = run_report(claims=[claims_file], practices=practice, out=out, workers=2,
                        progress=False)
    assert result.ok, result.summary.to_string()

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        queue, seen, checked = [(out / "index.html").as_uri()], set(), 0
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            page.goto(url)
            page.wait_for_load_state("load")
            name = str(_local(url).relative_to(out)).replace("/", "_")
            page.screenshot(path=str(shots / f"{name}.png"))
            box = _answer_box(page)
            assert box is not None, f"{name}: no answer box"
            assert box["bottom"] <= VIEWPORT["height"], f"{name}: answer box ends at {box}"
            widths = page.eval_on_selector_all(
                "img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
            assert all(w > 0 for w in widths), f"{name}: images {widths}"
            ids = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                target, _, fragment = href.partition("#")
                if target == url.partition("#")[0]:  # a link within the page
                    assert fragment in ids, f"{name}: no anchor #{fragment}"
                    continue
                path = _local(target)
                assert path.is_file(), f"broken link on {name}: {href}"
                assert path.suffix in _PAGE_FILES, f"{name}: unexpected link {href}"
                checked += 1
                if path.suffix == ".html":
                    queue.append(target)
        browser.close()
    assert errors == []
    pages = {u.rsplit("/", 1)[-1] for u in seen}
    assert {"index.html", "policy_brief.html", "lcd_screen.html", "revenue_impact.html",
            "medicare_benchmark.html", "practice_scorecard.html"} <= pages
    assert checked > 40
    assert all(p.stat().st_size > 10_000 for p in shots.glob("*.png"))


def test_a_printed_page_cuts_nothing(tmp_path):
    from playwright.sync_api import sync_playwright

    claims_file = tmp_path / "claims.parquet"
    generated = synth.generate(5, rng=np.random.default_rng(5), scale=1 / 150)
    synth.write_lines(generated.lines, claims_file)
    out = tmp_path / "reports" / "latest"
    result = run_report(claims=[claims_file], practices="none", notebooks=["lcd_screen"],
                        out=out, workers=1, progress=False)
    assert result.ok, result.summary.to_string()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS,
                                    headless=True)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto((out / "base" / "lcd_screen" / "lcd_screen.html").as_uri())
        page.wait_for_load_state("load")
        # printed on A4 or Letter (12 mm margins: about 700 CSS px wide), nothing is
        # cut: no table or figure is wider than the page and nothing scrolls
        for width in (700, 725):
            page.set_viewport_size({"width": width, "height": 1000})
            page.emulate_media(media="print")
            overflow = page.evaluate("""() => {
                const width = document.documentElement.clientWidth;
                const wide = [...document.querySelectorAll('table, img')]
                    .filter(e => e.getBoundingClientRect().right > width + 1)
                    .map(e => e.tagName + ':' + Math.round(e.getBoundingClientRect().right));
                const scrolling = [...document.querySelectorAll('div')]
                    .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                                 && e.scrollWidth > e.clientWidth + 1).length;
                return {width, wide, scrolling};
            }""")
            assert overflow["wide"] == [] and overflow["scrolling"] == 0, overflow
        for paper in ("A4", "Letter"):
            page.pdf(path=str(tmp_path / f"lcd_screen_{paper}.pdf"), format=paper,
                     prefer_css_page_size=False)
            assert (tmp_path / f"lcd_screen_{paper}.pdf").stat().st_size > 50_000
        browser.close()
