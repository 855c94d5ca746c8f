"""The patient and claim identifiers of claims files, streamed to a Parquet file.

The privacy gate of a report run searches the published folder for every identifier of
its input (:func:`analysis.run.identifiers.scan_for_identifiers`). Held as a Python set,
the identifiers of a statewide file would not fit in memory; :func:`write_identifiers`
writes them batch by batch to one Parquet column, which the gate reads back batch by
batch against the folder's (few) tokens. Every row of every file counts -- accepted,
quarantined and rows whose codes no analysis reads -- because the gate must not depend
on what validation decided.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from analysis.claims.headers import read_column_map
from analysis.claims.sources import FileState, expand_paths, raw_batches

__all__ = ["IDENTIFIER_COLUMNS", "write_identifiers"]

IDENTIFIER_COLUMNS: tuple[str, ...] = ("patient_id", "claim_id")
"""The canonical columns that identify a patient or a claim."""

_SCHEMA = pa.schema([("identifier", pa.string())])


def write_identifiers(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    dest: str | os.PathLike,
    *,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> int:
    """Write every distinct-per-batch ``patient_id`` and ``claim_id`` of ``paths`` to
    ``dest`` (Parquet, one column ``identifier``); return the number of values written.

    Memory is one batch of the input. Values are stripped of surrounding whitespace;
    empty values are left out.
    """
    mapping = read_column_map(column_map)
    written = 0
    with pq.ParquetWriter(Path(dest), _SCHEMA) as writer:
        for src in expand_paths(paths):
            state = FileState()
            for raw in raw_batches(src, state, mapping, encoding, delimiter):
                values = set()
                for column in IDENTIFIER_COLUMNS:
                    if column in raw.frame:
                        col = raw.frame[column].dropna().astype(str).str.strip()
                        values.update(col[col.ne("")].unique().tolist())
                if values:
                    writer.write_table(pa.table({"identifier": sorted(values)},
                                                schema=_SCHEMA))
                    written += len(values)
    return written
