"""Browser check of a generated report: headless Chromium renders every figure and every
link on the index page resolves.

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


def test_index_and_a_report_render_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    claims_file = tmp_path / "claims.parquet"
    generated = synth.generate(5, rng=np.random.default_rng(5), scale=1 / 150)
    synth.write_lines(generated.lines, claims_file)
    practice = sorted(generated.lines["practice_id"].unique())[0]
    out = tmp_path / "reports" / "latest"
    result = run_report(claims=[claims_file], practices=practice,
                        notebooks=["lcd_screen", "practice_scorecard"], out=out,
                        workers=2, progress=False)
    assert result.ok, result.summary.to_string()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS,
                                    headless=True)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.goto((out / "index.html").as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert len(hrefs) > 10
        for href in hrefs:
            assert _local(href).is_file(), f"broken link on index.html: {href}"
        pages = [h for h in hrefs if h.endswith(".html")]
        assert any("lcd_screen.html" in h for h in pages)
        for href in pages:
            page.goto(href)
            page.wait_for_load_state("load")
            widths = page.eval_on_selector_all(
                "img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
            assert widths and all(w > 0 for w in widths), f"{href}: images {widths}"
        page.goto(next(h for h in pages if "lcd_screen.html" in h))
        page.wait_for_load_state("load")
        page.screenshot(path=str(tmp_path / "lcd_screen.png"), full_page=True)
        # printed (A4 portrait, 12 mm margins: about 700 CSS px wide), nothing is cut:
        # no table or figure is wider than the page and nothing scrolls
        page.set_viewport_size({"width": 700, "height": 1000})
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
        page.pdf(path=str(tmp_path / "lcd_screen.pdf"), format="A4",
                 margin={"top": "12mm", "bottom": "12mm", "left": "12mm", "right": "12mm"})
        browser.close()
    assert (tmp_path / "lcd_screen.pdf").stat().st_size > 50_000
    assert (tmp_path / "index.png").stat().st_size > 10_000
    assert (tmp_path / "lcd_screen.png").stat().st_size > 10_000
