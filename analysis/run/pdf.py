"""The printable policy briefs of a report folder, printed to PDF by headless Chromium.

Each scenario's policy brief page is printed as it is (its print rules:
:data:`analysis.run.export.REPORT_CSS`; page numbers and the running footer with the
data statement and scenario) to ``<scenario>/policy_brief/policy_brief.pdf``, and the
first scenario's is copied to ``policy_brief.pdf`` at the top of the folder. The
browser is the system's Chromium (Debian's ``chromium``; no browser is downloaded):
without one the step is skipped, and the run says so once (:attr:`PdfResult.warning`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis._io import write_bytes
from analysis.errors import InputError
from analysis.run.scenarios import Scenario

__all__ = ["BRIEF", "PAPERS", "PdfResult", "find_browser", "print_pdf", "write_briefs"]

#: The notebook printed for each scenario.
BRIEF = "policy_brief"
#: Browser executables tried, in order (Debian's first).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Paper sizes, by the name CSS's ``@page size`` takes.
PAPERS = ("letter", "A4")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run",
          "--disable-extensions", "--no-pdf-header-footer", "--hide-scrollbars")


def find_browser() -> str | None:
    """The Chromium executable on the PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def print_pdf(page: Path, pdf: Path, *, browser: str, paper: str = "letter",
              timeout: float = 180.0) -> None:
    """Print the self-contained HTML ``page`` to ``pdf`` on ``paper``.

    A copy of the page with ``@page{size: <paper>}`` added is printed from a temporary
    folder with a throw-away browser profile, so nothing of this machine's paths or
    profile reaches the PDF.

    Raises
    ------
    RuntimeError
        The browser failed, timed out or wrote nothing.
    """
    if paper not in PAPERS:
        raise InputError(f"choose one of {list(PAPERS)}", column="paper", value=paper)
    with tempfile.TemporaryDirectory(prefix="rad3d-pdf-") as tmp:
        copy = Path(tmp) / page.name
        text = page.read_text(encoding="utf-8")
        size = f"<style>@page{{size:{paper}}}</style>"
        text = text.replace("</head>", size + "</head>", 1) if "</head>" in text \
            else size + text
        copy.write_text(text, encoding="utf-8")
        out = Path(tmp) / "out.pdf"
        command = [browser, *_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
                   f"--print-to-pdf={out}", copy.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "HOME": tmp}, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"the browser took longer than {timeout:g} s") from None
        if not out.is_file() or out.stat().st_size == 0:
            tail = " ".join(done.stderr.strip().splitlines()[-2:])
            raise RuntimeError(f"the browser wrote no PDF (exit {done.returncode}): {tail}")
        write_bytes(pdf, out.read_bytes())


@dataclass(frozen=True)
class PdfResult:
    """What the PDF step wrote (paths relative to the report folder) and, when it was
    skipped or failed, the one warning to show."""

    written: list[str] = field(default_factory=list)
    warning: str = ""


def write_briefs(stage: Path, records: Sequence[Mapping[str, Any]],
                 scenarios: Sequence[Scenario], *, browser: str | None = None,
                 paper: str = "letter") -> PdfResult:
    """Print each scenario's policy brief to PDF inside the report folder ``stage``.

    ``browser`` defaults to :func:`find_browser`; without one nothing is written and the
    warning says how to get one. A brief that fails to print is named in the warning;
    the others are still written.
    """
    briefs = {r["scenario"]: r for r in records
              if r["notebook"] == BRIEF and r["status"] != "failed" and r.get("html")}
    order = [s.name for s in scenarios if s.name in briefs]
    if not order:
        return PdfResult()
    browser = browser or find_browser()
    if browser is None:
        return PdfResult(warning=(
            "no Chromium browser found, so no PDF of the policy brief was written; "
            "install Debian's chromium (apt-get install chromium) and run again"))
    written, failed = [], []
    for name in order:
        r = briefs[name]
        page = stage / r["rel_dir"] / r["html"]
        rel = f"{r['rel_dir']}/{BRIEF}.pdf"
        try:
            print_pdf(page, stage / rel, browser=browser, paper=paper)
        except RuntimeError as err:
            failed.append(f"{name}: {err}")
            continue
        written.append(rel)
    if written:
        shutil.copyfile(stage / written[0], stage / f"{BRIEF}.pdf")
        written.insert(0, f"{BRIEF}.pdf")
    warning = ("the PDF of the policy brief could not be printed for "
               + "; ".join(failed)) if failed else ""
    return PdfResult(written, warning)
