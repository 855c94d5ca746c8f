"""The inputs every notebook of a run shares: the claims loaded, linked and summarized once.

``rad3d report`` prepares them once per distinct set of claims files and link window
(:func:`analysis.run.inputs.prepare_inputs`) into a folder that a notebook receives as
its ``inputs_dir`` parameter and reads with :func:`load_inputs`. A notebook opened by
hand, without that folder, loads and links the claims itself.

The folder holds::

    inputs.json            what the tables were made from (claims files and SHA-256,
                           link window, cache key, row counts, the loader's report)
    <table>.parquet        one file per name in TABLES

The linked tables hold patient keys: the folder lives outside any report folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from analysis._io import sha256_file
from analysis.claims import load_claims
from analysis.defaults import LINK_WINDOW_DAYS
from analysis.encounters import Linked, LinkSettings, link
from analysis.errors import InputError
from analysis.paths import SAMPLE_CLAIMS
from analysis.report.formatting import utc_timestamp
from analysis.summary import summarize_linked

__all__ = [
    "INFO_FILE",
    "TABLES",
    "SharedInputs",
    "build_inputs",
    "claims_files",
    "claims_paths",
    "compute_inputs",
    "load_inputs",
]

INFO_FILE = "inputs.json"
TABLES = ("lines", "quarantine", "encounters", "lines_3d", "summary_year", "summary_quarter")


def claims_paths(claims: str | Sequence[str] | None) -> list[Path]:
    """The claims files to read (default: the bundled sample), each checked to exist.

    Raises
    ------
    InputError
        A claims file that does not exist.
    """
    if claims is None or claims == "" or (isinstance(claims, list | tuple) and not claims):
        paths = [SAMPLE_CLAIMS]
    else:
        items = [claims] if isinstance(claims, str | os.PathLike) else list(claims)
        paths = [Path(c) for c in items]
    for p in paths:
        if not p.is_file():
            raise InputError("claims file not found", file=p)
    return paths


def claims_files(paths: Sequence[Path]) -> list[dict[str, str]]:
    """``path`` and ``sha256`` of each claims file (a report names files by content)."""
    return [{"path": str(p), "sha256": sha256_file(p)} for p in paths]


def compute_inputs(paths: Sequence[Path], link_window_days: int) -> dict[str, Any]:
    """The tables of the shared inputs and the claims loader's reconciliation report."""
    loaded = load_claims([str(p) for p in paths])
    linked = link(loaded.lines, link_window_days=link_window_days)
    frames = {
        "lines": loaded.lines,
        "quarantine": loaded.quarantine,
        "encounters": linked.encounters,
        "lines_3d": linked.lines_3d,
        "summary_year": summarize_linked(linked, period="year"),
        "summary_quarter": summarize_linked(linked, period="quarter"),
    }
    return {"frames": frames, "report": loaded.report.to_dict()}


@dataclass(frozen=True)
class SharedInputs:
    """The inputs every notebook of a run shares, prepared once.

    Tables are read lazily from the cache folder (Parquet), so a notebook that needs
    only the practice summary never loads the claim lines.

    Attributes
    ----------
    folder : Path or None
        The cache folder (None when prepared in memory).
    info : dict
        ``key`` (SHA-256 of the inputs, for a run's cache), ``claims`` (paths and
        SHA-256), linking options, row counts and the claims loader's reconciliation
        report.
    """

    folder: Path | None
    info: Mapping[str, Any]
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, folder: str | Path) -> SharedInputs:
        """The prepared inputs in ``folder``.

        Raises
        ------
        InputError
            The folder is not a prepared inputs folder.
        """
        folder = Path(folder)
        if not (folder / INFO_FILE).is_file():
            raise InputError(f"not a prepared inputs folder (no {INFO_FILE})", file=folder)
        return cls(folder, json.loads((folder / INFO_FILE).read_text()))

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            if self.folder is None:
                raise KeyError(name)
            self._frames[name] = pd.read_parquet(self.folder / f"{name}.parquet")
        return self._frames[name]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table, by the names in :data:`TABLES`."""
        return {name: self._table(name) for name in TABLES}

    @property
    def key(self) -> str:
        return str(self.info["key"])

    @property
    def lines(self) -> pd.DataFrame:
        """Validated claim lines (holds patient keys: never show)."""
        return self._table("lines")

    @property
    def quarantine(self) -> pd.DataFrame:
        return self._table("quarantine")

    @property
    def encounters(self) -> pd.DataFrame:
        return self._table("encounters")

    @property
    def lines_3d(self) -> pd.DataFrame:
        return self._table("lines_3d")

    @cached_property
    def linked(self) -> Linked:
        """:class:`analysis.encounters.Linked` rebuilt from the cached tables."""
        settings = LinkSettings(
            link_window_days=int(self.info.get("link_window_days", LINK_WINDOW_DAYS))
        )
        return Linked(encounters=self.encounters, lines_3d=self.lines_3d, settings=settings)

    def summary(self, period: str = "year") -> pd.DataFrame:
        """The additive practice summary (``analysis.summary``) per year or quarter."""
        if period not in ("year", "quarter"):
            raise InputError("period must be 'year' or 'quarter'", column="period",
                             value=period)
        return self._table(f"summary_{period}")

    @property
    def practices(self) -> list[str]:
        return sorted(self.summary("year")["practice_id"].astype(str).unique().tolist())

    def identifiers(self) -> set[str]:
        """Every patient and claim identifier of the input (for the privacy scan)."""
        lines = self.lines
        ids = set(lines["patient_id"].astype(str))
        if "claim_id" in lines:
            ids |= set(lines["claim_id"].astype(str))
        quarantine = self.quarantine
        for column in ("patient_id", "claim_id"):
            if column in quarantine:
                ids |= set(quarantine[column].dropna().astype(str))
        return ids


def build_inputs(paths: Sequence[Path], link_window_days: int, *,
                 identity: Mapping[str, Any] | None = None) -> SharedInputs:
    """Load, validate, link and summarize the claims, in memory.

    ``identity`` says what the inputs were made from (a run passes its cache key and
    the hashes behind it); by default the claims files and the link window.
    """
    computed = compute_inputs(paths, link_window_days)
    frames = computed["frames"]
    made_from = dict(identity) if identity is not None else {
        "claims": claims_files(paths), "link_window_days": link_window_days}
    info = {
        **made_from,
        "rows": {name: len(frame) for name, frame in frames.items()},
        "claims_report": computed["report"],
        "prepared_at": utc_timestamp(),
    }
    return SharedInputs(None, info, dict(frames))


def load_inputs(
    inputs_dir: str | Path | None = "",
    *,
    claims: str | Sequence[str] | None = "",
    link_window_days: int = LINK_WINDOW_DAYS,
) -> SharedInputs:
    """The shared inputs inside a notebook.

    With ``inputs_dir`` (set by ``rad3d report``) the prepared Parquet tables are read;
    without it (a notebook opened by hand) the claims are loaded and linked here.

    Raises
    ------
    InputError
        The folder is not a prepared inputs folder, or was prepared with other
        linking options than the notebook's.
    """
    if not inputs_dir:
        return build_inputs(claims_paths(claims or None), link_window_days)
    inputs = SharedInputs.read(inputs_dir)
    if int(inputs.info.get("link_window_days", link_window_days)) != int(link_window_days):
        raise InputError(
            "prepared with another link window than the notebook's parameter",
            file=inputs_dir, column="link_window_days", value=link_window_days,
        )
    return inputs
