"""The what-if as a web app in a real browser: ``rad3d whatif`` serves it with Voilà,
headless Chromium moves the commercial-multiplier slider, and the headline loss on the
page becomes what :func:`analysis.impact.impact` computes for the value the slider shows.

Uses Debian's ``chromium`` through playwright with ``executable_path`` (no browser is
downloaded), as ``tests/test_browser.py`` does. The server runs as a subprocess in a
session of its own and is stopped by its process group; no kernel may outlive it.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import psutil
import pytest

from analysis import paths, report, synth
from analysis.impact import ImpactAssumptions, impact
from analysis.policy import full_bundling
from analysis.report.labels import PARAMETER_LABELS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Seconds for the server to start, and for the page to run the notebook.
START_S, RENDER_S = 180, 240

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="chromium not installed (apt-get install chromium; .ci/run does)"),
    pytest.mark.skipif(importlib.util.find_spec("voila") is None,
                       reason="voila not installed (pip install -e . installs it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lines(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line)


@pytest.fixture
def server(tmp_path):
    """``rad3d whatif`` on small synthetic claims and a free local port."""
    claims = tmp_path / "claims.parquet"
    synth.write_lines(synth.generate(8, rng=np.random.default_rng(11), scale=1 / 100).lines,
                      claims)
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", "whatif", "--claims", str(claims),
         "--port", str(port), "--scenario-dir", str(tmp_path)],
        cwd=paths.PROJECT_DIR, stdout=subprocess.PIPE, stderr=log, text=True,
        start_new_session=True, env=os.environ.copy())
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    url = None
    try:
        while url is None:
            line = lines.get(timeout=START_S)
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = found.group(1) if found else None
        assert url == f"http://127.0.0.1:{port}/"
        yield {"url": url, "proc": proc, "claims": claims, "log": tmp_path / "server.log"}
    finally:
        tree = [proc, *psutil.Process(proc.pid).children(recursive=True)] \
            if psutil.pid_exists(proc.pid) else [proc]
        os.killpg(proc.pid, signal.SIGTERM)  # the server's process group
        proc.wait(timeout=60)
        log.close()
        gone, alive = psutil.wait_procs(
            [p for p in tree if isinstance(p, psutil.Process)], timeout=30)
        stray = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert stray == [], f"processes outlived the server: {stray}"


def _text(page, key: str) -> str:
    return page.locator(f'[data-measure="{key}"]').first.inner_text().strip()


def test_moving_the_multiplier_slider_updates_the_headline(server):
    from playwright.sync_api import sync_playwright

    summary = report.load_inputs("", claims=[str(server["claims"])],
                                 link_window_days=7).summary("quarter")

    def expected(multiplier: float) -> dict[str, str]:
        result = impact(summary, [full_bundling()],
                        assumptions=ImpactAssumptions(commercial_multiplier=multiplier))
        row = result.summary.iloc[0]
        return {k: f"${row[k]:,.0f}" for k in ("loss_year1_usd", "loss_horizon_usd")}

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server["url"], timeout=RENDER_S * 1000)
            page.wait_for_selector('[data-measure="loss_horizon_usd"]',
                                   timeout=RENDER_S * 1000)
            assert "from analysis" not in page.content()  # no code shown
            first = expected(1.8)
            assert _text(page, "loss_horizon_usd") == first["loss_horizon_usd"]
            assert _text(page, "loss_year1_usd") == first["loss_year1_usd"]

            label = PARAMETER_LABELS["commercial_multiplier"]
            slider = page.locator(".widget-slider", has_text=label).first
            handle = slider.locator(".noUi-handle").first
            box = handle.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + 120, y, steps=8)
            page.mouse.up()
            page.wait_for_function(
                """([old]) => {
                    const e = document.querySelector('[data-measure="loss_horizon_usd"]');
                    return e && e.textContent.trim() !== old;
                }""", arg=[first["loss_horizon_usd"]], timeout=60_000)
            shown = float(slider.locator(".widget-readout").first.inner_text())
            assert shown > 1.8
            now = expected(shown)
            page.wait_for_function(
                """([want]) => {
                    const e = document.querySelector('[data-measure="loss_horizon_usd"]');
                    return e && e.textContent.trim() === want;
                }""", arg=[now["loss_horizon_usd"]], timeout=60_000)
            assert _text(page, "loss_horizon_usd") == now["loss_horizon_usd"]
            assert _text(page, "loss_year1_usd") == now["loss_year1_usd"]
        finally:
            browser.close()
