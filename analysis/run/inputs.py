"""Preparing the shared inputs of a run once, cached under the SHA-256 of what they rest on.

The cache key covers the claims files (by content), the link window, the bundled
reference files and the package source, so that an unchanged input is never prepared
twice and a changed one never reused. The folder's layout is
:mod:`analysis.report.inputs`'s, whose :func:`~analysis.report.load_inputs` reads it in
each notebook.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis._io import sha256_file, sha256_text, write_json
from analysis.claims.identifiers import IDENTIFIER_COLUMNS, write_identifiers
from analysis.defaults import LINK_WINDOW_DAYS
from analysis.report.inputs import (
    IDENTIFIERS_FILE,
    INFO_FILE,
    SharedInputs,
    build_inputs,
    claims_files,
    claims_paths,
)
from analysis.run import provenance
from analysis.scale import Progress

__all__ = ["inputs_key", "prepare_inputs"]


def inputs_key(claims: Sequence[Path], link_window_days: int) -> tuple[str, dict[str, Any]]:
    """The cache key of the shared inputs, and what it was made from (for ``inputs.json``)."""
    files = claims_files(claims)
    ingredients = {
        "claims": [c["sha256"] for c in files],
        "link_window_days": link_window_days,
        "reference": provenance.reference_hashes(),
        "source": provenance.source_hash(),
    }
    return sha256_text(json.dumps(ingredients, sort_keys=True)), {
        "claims": files, "link_window_days": link_window_days,
        "reference": ingredients["reference"], "source_sha256": ingredients["source"],
    }


def prepare_inputs(
    claims: str | Sequence[str] | None = None,
    *,
    link_window_days: int = LINK_WINDOW_DAYS,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> SharedInputs:
    """Read, validate, link and summarize the claims once (streamed); cache as Parquet.

    The cache folder holds the summaries per year and quarter and the practices' price
    baskets (``baskets.parquet``, an input of the impact model, never published), and
    also receives the input's patient and claim identifiers
    (:func:`analysis.claims.identifiers.write_identifiers`) for the run's privacy gate.

    Parameters
    ----------
    claims : path or list of paths, optional
        Claims files in the canonical schema; default the bundled three-year sample
        (:data:`analysis.paths.REPORT_CLAIMS`).
    link_window_days : int
        Passed to :func:`analysis.encounters.link`.
    cache_dir : path, optional
        Where to keep the prepared inputs, in a subfolder named by the SHA-256 of the
        claims files, the linking options, the reference files and the package source
        (so an unchanged input is never prepared twice). ``None``: in memory only.
    progress : analysis.scale.Progress, optional
        Where to report lines read, rows quarantined and practices done while the
        claims are read (default: nothing).

    Returns
    -------
    SharedInputs

    Raises
    ------
    InputError
        A missing or invalid claims file (from :mod:`analysis.claims`).
    """
    paths = claims_paths(claims)
    key, made_from = inputs_key(paths, link_window_days)
    if cache_dir is not None:
        folder = Path(cache_dir) / key[:20]
        if (folder / INFO_FILE).is_file():
            return SharedInputs.read(folder)
    built = build_inputs(paths, link_window_days, identity={"key": key, **made_from},
                         progress=progress)
    if cache_dir is None:
        return built
    _write_folder(built, folder)
    return SharedInputs.read(folder)


def _write_folder(inputs: SharedInputs, folder: Path) -> None:
    """Write the tables and ``inputs.json`` beside ``folder``, then rename it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        tables = inputs.tables()
        for name, frame in tables.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        if not any(c in frame for frame in tables.values() for c in IDENTIFIER_COLUMNS):
            # the tables hold no identifier: the privacy gate reads them from this file
            write_identifiers([c["path"] for c in inputs.info["claims"]],
                              tmp / IDENTIFIERS_FILE)
            tables = {**tables, IDENTIFIERS_FILE.removesuffix(".parquet"): None}
        info = {**inputs.info,
                "files": {f"{n}.parquet": sha256_file(tmp / f"{n}.parquet") for n in tables}}
        write_json(tmp / INFO_FILE, info)
        try:
            os.replace(tmp, folder)
        except OSError:  # prepared concurrently by another run: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
