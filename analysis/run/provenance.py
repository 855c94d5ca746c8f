"""What a run rests on besides its inputs: the package source, reference files, versions.

The hash of the package source is part of every cache and resume key, so that a code
change invalidates what an earlier version prepared or ran; the rest is recorded in the
manifests so that a reader can tell what produced a report.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from analysis._io import sha256_file
from analysis.paths import PACKAGE_DIR, PROJECT_DIR, REFERENCE_DIR

__all__ = ["git_info", "reference_hashes", "source_hash", "versions"]


def source_hash() -> str:
    """SHA-256 over the package's source files: a code change invalidates caches.

    Every ``*.py`` file under the package, subpackages included, by its path inside the
    package.
    """
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def reference_hashes() -> dict[str, str]:
    """SHA-256 of each bundled reference file (``data/reference``)."""
    if not REFERENCE_DIR.is_dir():
        return {}
    return {
        f"data/reference/{p.name}": sha256_file(p)
        for p in sorted(REFERENCE_DIR.iterdir())
        if p.is_file() and p.suffix in {".csv", ".md", ".txt", ".json", ".parquet"}
    }


def git_info() -> dict[str, Any]:
    """The commit of the source tree, whether it has uncommitted changes, its branch."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(PROJECT_DIR), *args], capture_output=True,
                                 text=True, timeout=20, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "note": "not a git checkout"}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status), "branch": git("rev-parse",
                                                                  "--abbrev-ref", "HEAD")}


def versions() -> dict[str, str]:
    """Versions of Python, rad3d and the libraries a report depends on."""
    out = {"python": sys.version.split()[0]}
    for name in ("rad3d", "pandas", "numpy", "scipy", "matplotlib", "pyarrow", "papermill",
                 "nbconvert", "nbformat", "ipykernel", "jupyter_client", "openpyxl", "pyyaml",
                 "tqdm"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out

