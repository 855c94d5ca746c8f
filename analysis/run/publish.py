"""Making a finished report folder portable and publishing it atomically.

A report folder travels (a zip to a committee): it names files by their name and
SHA-256, folders relative to itself or to the project, never by where they sat on the
machine that ran it (:func:`scrub_paths`). It is built in a temporary sibling folder and
renamed into place (:func:`publish`), so no half-written report carries its final name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from analysis._io import write_bytes
from analysis.paths import PROJECT_DIR
from analysis.report.inputs import SharedInputs
from analysis.run.scenarios import Scenario

__all__ = ["path_replacements", "publish", "scrub_paths"]

_TEXT_SUFFIXES = frozenset({".json", ".ipynb", ".html", ".csv", ".md", ".txt", ".log"})


def path_replacements(*, stage: Path, out: Path, cache_dir: Path,
                      prepared: Iterable[SharedInputs],
                      scenarios: Iterable[Scenario],
                      notebooks: Iterable[Path] = ()) -> list[tuple[str, str]]:
    """Absolute local paths and what a shared report says instead.

    A report folder travels (a zip to a committee): it names files by their name
    and SHA-256, folders relative to itself or to the project, never by where they
    sat on the machine that ran it.
    """
    pairs: dict[str, str] = {}

    def add(path: Any, text: str) -> None:
        if not path:
            return
        for variant in {str(path), str(Path(path).resolve())}:
            if os.path.isabs(variant) and len(variant) > 1:
                pairs.setdefault(variant, text)

    for shared in prepared:
        if shared.folder is not None:
            add(shared.folder, f"rad3d-cache/{Path(shared.folder).name}")
        for c in shared.info.get("claims", []):
            p = Path(c["path"])
            rel = _project_relative(p)
            add(p, rel if rel else p.name)
    add(cache_dir, "rad3d-cache")
    for scenario in scenarios:
        if scenario.source:
            rel = _project_relative(Path(scenario.source))
            add(scenario.source, rel if rel else Path(scenario.source).name)
    for nb in notebooks:
        add(nb, f"notebooks/{Path(nb).name}")
        add(Path(nb).parent, "notebooks")
    add(stage, ".")
    add(out, ".")
    add(PROJECT_DIR, ".")
    out_pairs = []
    for k, v in pairs.items():
        # "<project>/notebooks/x.ipynb" -> "notebooks/x.ipynb"; "<cache>/k" -> "rad3d-cache/k"
        out_pairs.append((k + "/", "" if v == "." else v + "/"))
        out_pairs.append((k, v))
    return sorted(out_pairs, key=lambda kv: -len(kv[0]))


def _project_relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_DIR.resolve()).as_posix()
    except ValueError:
        return ""


def scrub_paths(folder: str | Path, replacements: Sequence[tuple[str, str]]) -> int:
    """Replace absolute local paths in every text file under ``folder``.

    Returns
    -------
    int
        The number of files changed.
    """
    changed = 0
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.suffix.lower() not in _TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = text
        for old, repl in replacements:
            if old in new:
                new = new.replace(old, repl)
        if new != text:
            write_bytes(path, new.encode("utf-8", errors="surrogateescape"))
            changed += 1
    return changed


def publish(stage: Path, out: Path) -> None:
    """Swap the finished folder in: the old one is moved aside, then removed."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        os.replace(out, old / "report")
    os.replace(stage, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

