"""The inputs every notebook of a run shares: the claims read, linked and summarized once.

``rad3d report`` prepares them once per distinct set of claims files and link window
(:func:`analysis.run.inputs.prepare_inputs`) into a folder that a notebook receives as
its ``inputs_dir`` parameter and reads with :func:`load_inputs`. A notebook opened by
hand, without that folder, reads and summarizes the claims itself.

The claims are read by the streaming engine (:func:`analysis.scale.summarize_files`):
in bounded memory, whatever the size of the file, and linked once for both periods.
No notebook needs a claim line -- every page and scorecard works from the additive
practice summary -- so the folder holds no claim lines, no encounters and no patient
keys, only::

    inputs.json            what the tables were made from (claims files and SHA-256,
                           link window, cache key, row counts, the reader's report)
    summary_year.parquet   the practice summary per year
    summary_quarter.parquet                    ... per quarter
    baskets.parquet        each practice's price basket: its fee-schedule-priced 3D
                           units by code, component, setting and state
                           (:func:`analysis.revenue_engine.price_baskets`), which
                           moves its prices from one horizon year to the next; an
                           input of the model, never shown on a page
    identifiers.parquet    the patient and claim identifiers of the input, for the
                           privacy gate of the run (:meth:`SharedInputs.identifiers_among`);
                           never read by a notebook

The summaries a notebook gets (:meth:`SharedInputs.summary`) carry the baskets
(:func:`analysis.revenue_base.attach_baskets`), so that the impact model given them
(``impact.impact(quarterly, ...)``, the uncertainty analyses) prices each practice by
its own lines without a notebook naming them.

The folder lives outside any report folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis._io import sha256_file
from analysis.claims.identifiers import IDENTIFIER_COLUMNS
from analysis.defaults import LINK_WINDOW_DAYS
from analysis.errors import InputError
from analysis.paths import REPORT_CLAIMS
from analysis.report.formatting import utc_timestamp
from analysis.revenue_base import attach_baskets
from analysis.scale import Progress, summarize_files

__all__ = [
    "BASKETS",
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
TABLES = ("summary_year", "summary_quarter")
"""The tables a notebook reads."""
BASKETS = "baskets"
"""The practices' price baskets (carried by the summaries, :meth:`SharedInputs.summary`)."""
IDENTIFIERS_FILE = "identifiers.parquet"
"""The input's patient and claim identifiers (for the run's privacy gate only)."""


def claims_paths(claims: str | Sequence[str] | None) -> list[Path]:
    """The claims files to read (default: :data:`analysis.paths.REPORT_CLAIMS`, the
    bundled three-year sample), each checked to exist.

    Raises
    ------
    InputError
        A claims file that does not exist.
    """
    if claims is None or claims == "" or (isinstance(claims, list | tuple) and not claims):
        paths = [REPORT_CLAIMS]
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


def compute_inputs(paths: Sequence[Path], link_window_days: int, *,
                   progress: Progress | None = None) -> dict[str, Any]:
    """The tables of the shared inputs and the claims reader's reconciliation report.

    The claims are streamed (:func:`analysis.scale.summarize_files`): memory is one
    batch while reading and one unit of whole practices while linking, not the file.
    ``progress`` reports lines read, rows quarantined and practices done
    (:class:`analysis.scale.Progress`; default: nothing).
    """
    result = summarize_files([str(p) for p in paths], period=("year", "quarter"),
                             link_window_days=link_window_days, progress=progress)
    frames = {f"summary_{p}": frame for p, frame in result.summaries.items()}
    return {"frames": {**frames, BASKETS: result.baskets}, "report": result.report.to_dict()}


@dataclass(frozen=True)
class SharedInputs:
    """The inputs every notebook of a run shares, prepared once.

    Tables are read lazily from the cache folder (Parquet).

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

    def table(self, name: str) -> pd.DataFrame:
        """One table of the inputs by name (:data:`TABLES`, or another the preparation
        wrote)."""
        return self._table(name)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table held in memory or written to the folder, by name."""
        names = list(self._frames)
        if self.folder is not None:
            names += [p.stem for p in sorted(self.folder.glob("*.parquet"))
                      if p.name != IDENTIFIERS_FILE and p.stem not in names]
        return {name: self._table(name) for name in names}

    @property
    def key(self) -> str:
        return str(self.info["key"])

    def summary(self, period: str = "year") -> pd.DataFrame:
        """The additive practice summary (``analysis.summary``) per year or quarter,
        carrying the practices' price baskets (:attr:`baskets`) for the impact model
        (:func:`analysis.revenue_base.attach_baskets`)."""
        if period not in ("year", "quarter"):
            raise InputError("period must be 'year' or 'quarter'", column="period",
                             value=period)
        return attach_baskets(self._table(f"summary_{period}"), self.baskets)

    @property
    def baskets(self) -> pd.DataFrame | None:
        """Each practice's price basket (``baskets.parquet``;
        :attr:`analysis.scale.ScaleResult.baskets`), or None for inputs prepared
        without one (the impact model then prices by the summary's units)."""
        if BASKETS in self._frames or (
                self.folder is not None and (self.folder / f"{BASKETS}.parquet").is_file()):
            return self._table(BASKETS)
        return None

    @property
    def practices(self) -> list[str]:
        return sorted(self.summary("year")["practice_id"].astype(str).unique().tolist())

    def identifiers_among(self, tokens: set[str]) -> set[str]:
        """Those of ``tokens`` that are a patient or claim identifier of the input.

        Reads the identifiers batch by batch (``identifiers.parquet`` and any table
        with a ``patient_id`` or ``claim_id`` column), so memory is the tokens plus
        one batch, however many identifiers the input has.
        """
        if not tokens:
            return set()
        wanted = pa.array(sorted(tokens), type=pa.string())
        found: set[str] = set()

        def check(values: pa.Array) -> None:
            values = pc.cast(values, pa.string())
            hit = pc.is_in(pc.utf8_trim_whitespace(values), value_set=wanted)
            found.update(str(v) for v in pc.filter(values, pc.fill_null(hit, False))
                         .to_pylist())

        for frame in self._frames.values():
            for column in IDENTIFIER_COLUMNS:
                if column in frame:
                    check(pa.array(frame[column].dropna().astype(str)))
        if self.folder is not None:
            for path in sorted(self.folder.glob("*.parquet")):
                file = pq.ParquetFile(path)
                columns = [c for c in ("identifier", *IDENTIFIER_COLUMNS)
                           if c in file.schema_arrow.names]
                if path.stem in self._frames or not columns:
                    continue
                for batch in file.iter_batches(columns=columns, batch_size=1_000_000):
                    for column in batch.columns:
                        check(column)
        return {t.strip() for t in found}


def build_inputs(paths: Sequence[Path], link_window_days: int, *,
                 identity: Mapping[str, Any] | None = None,
                 progress: Progress | None = None) -> SharedInputs:
    """Read, validate, link and summarize the claims (streamed); the tables in memory.

    ``identity`` says what the inputs were made from (a run passes its cache key and
    the hashes behind it); by default the claims files and the link window.
    """
    computed = compute_inputs(paths, link_window_days, progress=progress)
    frames = computed["frames"]
    made_from = dict(identity) if identity is not None else {
        "claims": claims_files(paths), "link_window_days": link_window_days}
    info = {
        **made_from,
        "rows": {**{name: len(frame) for name, frame in frames.items()},
                 **_counts(frames.get("summary_year"))},
        "claims_report": computed["report"],
        "prepared_at": utc_timestamp(),
    }
    return SharedInputs(None, info, dict(frames))


def _counts(summary: pd.DataFrame | None) -> dict[str, int]:
    """CT/MR encounters and 3D lines of the input, from its practice summary."""
    if summary is None:
        return {}
    return {name: int(summary[column].sum()) for name, column in
            (("encounters", "n_encounters"), ("lines_3d", "n_3d_lines")) if column in summary}


def load_inputs(
    inputs_dir: str | Path | None = "",
    *,
    claims: str | Sequence[str] | None = "",
    link_window_days: int = LINK_WINDOW_DAYS,
) -> SharedInputs:
    """The shared inputs inside a notebook.

    With ``inputs_dir`` (set by ``rad3d report``) the prepared Parquet tables are read;
    without it (a notebook opened by hand) the claims are read and summarized here.

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
