"""Loading claim lines: :func:`load_claims` for files, :func:`validate_lines` for a frame.

Both read their input batch by batch (:mod:`analysis.claims.sources`), run the row
checks on each batch (:mod:`analysis.claims.checks`), then the duplicate checks across
all files (:mod:`analysis.claims.duplicates`), and return a :class:`LoadResult`: the
accepted lines, the quarantine (one reason a row, with its source file and line and
its original text) and the :class:`~analysis.claims.report.ValidationReport`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.claims.checks import check_rows, is_blank
from analysis.claims.duplicates import key_hash, mark_duplicates
from analysis.claims.fields import LINE_DTYPES, as_mask
from analysis.claims.headers import read_column_map
from analysis.claims.report import AmountTotals, ValidationReport
from analysis.claims.rules import (
    AMOUNT_COLUMNS,
    DUPLICATE_KEY,
    QUARANTINE_REASONS,
    REPAIR_BIT,
    REPAIRS,
)
from analysis.claims.sources import FileState, Source, expand_paths, raw_batches, text_frame
from analysis.claims.window import check_settings
from analysis.defaults import MAX_LINE_USD
from analysis.errors import InputError
from analysis.schema import CANONICAL_COLUMNS, empty_lines

__all__ = ["LoadResult", "load_claims", "validate_files", "validate_lines"]


@dataclass(frozen=True)
class LoadResult:
    """Accepted lines, the quarantine, and the report of one load.

    Attributes
    ----------
    lines : DataFrame
        Accepted rows in the canonical schema (:data:`~analysis.schema.CANONICAL_COLUMNS`,
        :data:`~analysis.schema.CANONICAL_DTYPES`), in file order, with a RangeIndex.
    quarantine : DataFrame
        Rejected rows: ``source_file, source_row, reason, column, detail`` then the
        original text of every canonical column (``string``; NA where the file has no
        such column). ``detail`` of a ``malformed_row`` holds the line's text.
    report : ValidationReport
    """

    lines: pd.DataFrame
    quarantine: pd.DataFrame
    report: ValidationReport

    @property
    def summary(self) -> pd.DataFrame:
        return self.report.summary

    def _repr_html_(self) -> str:
        return self.report._repr_html_()

    def __str__(self) -> str:
        return str(self.report)


_QUARANTINE_HEAD = ("source_file", "source_row", "reason", "column", "detail")


def load_claims(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    strict: bool = False,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    study_window="auto",
    max_line_usd: float = MAX_LINE_USD,
) -> LoadResult:
    """Load claim lines from CSV (plain or gzip) and Parquet files into the canonical schema.

    Parameters
    ----------
    paths : path, glob pattern, directory, or a list of them
        Files are read in the order given (a glob's matches and a directory's files
        sorted by name). A directory is read file by file (Parquet datasets); ``key=value``
        folder names (hive partitions) supply columns the files lack.
    column_map : dict or path to a YAML file, optional
        ``{header in file: canonical column}``; ``None`` as target ignores a header. Takes
        precedence over the built-in aliases (:func:`~analysis.claims.headers.header_aliases`).
    strict : bool, default False
        Raise :class:`~analysis.errors.InputError` naming the first quarantined row
        instead of returning a result with a quarantine.
    encoding : str, default "utf-8"
        Text encoding of CSV files (e.g. ``"cp1252"`` for files saved by Excel on Windows).
        A UTF-8 or UTF-16 byte-order mark is honoured.
    delimiter : str, optional
        Field separator; by default the most frequent of ``, \\t | ;`` in the header line.
    study_window : "auto", None or (first, last) dates, default "auto"
        Service dates outside it are quarantined (``outside_study_window``): by default
        the claims' years +/- 1, found from the files before the checks
        (:mod:`analysis.claims.window`); None checks no window.
    max_line_usd : float, default :data:`analysis.defaults.MAX_LINE_USD` ($100,000)
        An allowed or paid amount above it on one line is quarantined
        (``amount_above_cap``).

    Returns
    -------
    LoadResult
        ``lines``, ``quarantine`` and ``report`` (see :mod:`analysis.claims.rules` for the
        repairs, the quarantine reasons and their order, and :mod:`analysis.claims` for
        the dollar reconciliation).

    Raises
    ------
    InputError
        For file-level problems (missing required column, empty, binary, undecodable or
        unreadable file, no such file), naming the file.

    Notes
    -----
    CSV files are parsed by pyarrow in blocks of 16 MB and Parquet files in row groups
    of at most 200,000 rows, so peak memory is the accepted lines plus one block. If
    some accepted rows turn out to repeat a ``(claim_id, line_number)``, the files
    holding them are read a second time to fetch those rows' original text.

    Examples
    --------
    >>> result = load_claims("data/sample/claims_2024.parquet")  # doctest: +SKIP
    >>> result.report.reconciles  # doctest: +SKIP
    True
    """
    return _load(paths, keep_lines=True, column_map=column_map, strict=strict,
                 encoding=encoding, delimiter=delimiter, study_window=study_window,
                 max_line_usd=max_line_usd)


def validate_files(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    strict: bool = False,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    study_window="auto",
    max_line_usd: float = MAX_LINE_USD,
) -> LoadResult:
    """Validate claims files exactly as :func:`load_claims` does, without keeping the lines.

    The same report and quarantine, row for row, for files of any size: each accepted
    row is counted into running totals (repairs, cents, rows by file) and kept only as
    the hash of its key and its position (20 bytes), and the few rows whose key hash
    repeats are read again to decide the duplicate checks on their real keys and
    content. Memory is one batch, those 20 bytes an accepted row, and the quarantine.
    The result's ``lines`` is empty: use
    :func:`load_claims` for the lines, :func:`analysis.scale.summarize_files` for a
    summary of a file of any size. ``rad3d validate`` uses this function.

    Parameters are those of :func:`load_claims`.
    """
    return _load(paths, keep_lines=False, column_map=column_map, strict=strict,
                 encoding=encoding, delimiter=delimiter, study_window=study_window,
                 max_line_usd=max_line_usd)


def _load(paths, *, keep_lines: bool, column_map, strict, encoding, delimiter, study_window,
          max_line_usd) -> LoadResult:
    """The files' sources, column map and check settings, decided once, then :func:`_run`."""
    sources = expand_paths(paths)
    cmap = read_column_map(column_map)
    checks = check_settings(sources, study_window=study_window, max_line_usd=max_line_usd,
                            column_map=cmap, encoding=encoding, delimiter=delimiter)
    return _run(sources, column_map=cmap, strict=strict, encoding=encoding,
                delimiter=delimiter, keep_lines=keep_lines, checks=checks)


def validate_lines(
    frame: pd.DataFrame,
    *,
    column_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    strict: bool = False,
    source: str = "<DataFrame>",
    study_window="auto",
    max_line_usd: float = MAX_LINE_USD,
) -> LoadResult:
    """Validate claim lines already in memory, exactly as :func:`load_claims` would.

    ``frame`` may hold the canonical columns with any dtypes (strings, numbers, dates)
    or aliased headers; every value is turned into text and goes through the same
    repairs and checks as a file. ``source`` names the frame in the quarantine and in
    error messages.

    Examples
    --------
    >>> frame = pd.DataFrame(dict(claim_id=["A"], line_number=[1], practice_id=["P1"],
    ...     patient_id=["X"], service_date=["2024-03-01"], cpt_code=["74177"], units=[1],
    ...     payer=["BCBSNC"], allowed_usd=["$1,234.50"]))
    >>> validate_lines(frame).lines["allowed_usd"].tolist()
    [1234.5]
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError("expected a pandas DataFrame of claim lines", file=source)
    src = Source(label=source, kind="frame", frame=frame)
    cmap = read_column_map(column_map)
    return _run([src], column_map=cmap, strict=strict, encoding="utf-8", delimiter=None,
                checks=check_settings([src], study_window=study_window,
                                      max_line_usd=max_line_usd, column_map=cmap))


def _line_numbers(state: FileState) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``f(ordinals, records)``: 1-based file lines of parsed records (by ordinal) and of
    malformed records (by pyarrow's record number; -1 marks a parsed record).

    A record's line is its record number (the header is record 1) plus the line breaks
    inside quoted values of the records before it.
    """
    if state.fmt != "csv":
        return lambda ordinals, records: ordinals + 1
    if not state.malformed and not state.newline_counts:
        return lambda ordinals, records: ordinals + 2
    total = state.n_records + len(state.malformed)
    bad = np.array(sorted(r for r, _ in state.malformed), dtype=np.int64)
    good = np.setdiff1d(np.arange(2, total + 2, dtype=np.int64), bad, assume_unique=True)
    newlines = np.zeros(total, dtype=np.int64)
    if state.newline_counts:
        o = np.fromiter(state.newline_counts.keys(), dtype=np.int64)
        newlines[good[o] - 2] = np.fromiter(state.newline_counts.values(), dtype=np.int64)
    for r, text in state.malformed:
        newlines[r - 2] += text.count("\n")
    before = np.concatenate([[0], np.cumsum(newlines)[:-1]])
    if not len(good):  # every record malformed
        good = np.full(1, 2, dtype=np.int64)

    def lines(ordinals: np.ndarray, records: np.ndarray) -> np.ndarray:
        numbers = np.where(records > 0, records, good[np.where(records > 0, 0, ordinals)])
        return numbers + before[numbers - 2]

    return lines


def _run(sources: list[Source], *, column_map, strict, encoding, delimiter,
         keep_lines: bool = True, checks=None) -> LoadResult:
    """Read, check and reconcile ``sources``. With ``keep_lines`` false, the accepted rows
    are only counted (:class:`_Tally`); rows whose key hash repeats are read again to
    decide the duplicates exactly."""
    tally = _Tally(len(sources))
    states: list[FileState] = []
    candidates: list[pd.DataFrame] = []
    quarantined: list[pd.DataFrame] = []
    read_cents = {c: 0 for c in AMOUNT_COLUMNS}
    unparsed_rows = {c: 0 for c in AMOUNT_COLUMNS}
    blank = []

    for file_no, src in enumerate(sources):
        state = FileState()
        states.append(state)
        n_blank = 0
        file_candidates, file_quarantined = [], []
        for raw in raw_batches(src, state, column_map, encoding, delimiter):
            frame = raw.frame
            blank_rows = is_blank(frame, state.present)
            if raw.newlines is not None:
                for o, k in zip(raw.ordinal[raw.newlines > 0], raw.newlines[raw.newlines > 0],
                                strict=True):
                    state.newline_counts[int(o)] = int(k)
            n_blank += int(blank_rows.sum())
            keep = ~blank_rows
            frame = frame.loc[keep].reset_index(drop=True)
            ordinal = raw.ordinal[keep]
            checked = check_rows(frame, state.present, checks)
            for c in AMOUNT_COLUMNS:
                read_cents[c] += int(checked.cents[c][checked.parsed[c]].sum())
                unparsed_rows[c] += int(checked.unparsed[c].sum())
            bad = checked.reason != None  # noqa: E711
            if bad.any():
                file_quarantined.append(
                    text_frame(frame.loc[bad]).assign(
                        _file=file_no, _ordinal=ordinal[bad], _record=-1,
                        reason=checked.reason[bad], column=checked.column[bad],
                        detail=checked.detail[bad],
                        **{f"_{c}_cents": np.where(checked.parsed[c], checked.cents[c], 0)[bad]
                           for c in AMOUNT_COLUMNS})
                )
            good = ~bad
            if keep_lines:
                file_candidates.append(
                    checked.typed.loc[good].assign(_file=file_no, _ordinal=ordinal[good],
                                                   _repairs=checked.repairs[good]))
            else:
                tally.add(checked, good, file_no, ordinal)
        blank.append(n_blank)
        if state.malformed:
            records = np.array([r for r, _ in state.malformed], dtype=np.int64)
            texts = [t for _, t in state.malformed]
            mal = pd.DataFrame({c: pd.Series(pd.NA, index=range(len(texts)),
                                             dtype=pd.StringDtype()) for c in CANONICAL_COLUMNS})
            file_quarantined.append(mal.assign(
                _file=file_no, _ordinal=-1, _record=records, reason="malformed_row",
                column=None, detail=[f"wrong number of fields: {t[:300]!r}" for t in texts],
                **{f"_{c}_cents": 0 for c in AMOUNT_COLUMNS}))
            for c in AMOUNT_COLUMNS:
                if c in state.present:
                    unparsed_rows[c] += len(texts)
        # file lines can only be computed once the whole file has been parsed
        to_line = _line_numbers(state)
        for fr in file_candidates:
            fr["_row"] = to_line(fr["_ordinal"].to_numpy(), np.full(len(fr), -1))
        for fr in file_quarantined:
            fr["_row"] = to_line(fr["_ordinal"].to_numpy(), fr["_record"].to_numpy())
        candidates += file_candidates
        quarantined += file_quarantined

    key = list(DUPLICATE_KEY)
    if keep_lines:
        cand = (pd.concat(candidates, ignore_index=True) if candidates else
                empty_lines().assign(_file=0, _ordinal=0, _repairs=0, _row=0))
        cand = cand.astype(LINE_DTYPES)
        # duplicates: exact repeats (keep the first) and conflicting keys (reject all)
        shared_key = as_mask(cand.duplicated(subset=key, keep=False))
        conflict = np.zeros(len(cand), dtype=bool)
        repeat = np.zeros(len(cand), dtype=bool)
        mark_duplicates(cand, shared_key, key, conflict, repeat)
        dup = conflict | repeat
        if dup.any():
            quarantined.append(_duplicate_rows(cand, conflict, repeat, sources, states,
                                               column_map, encoding, delimiter))
    else:
        cand = tally.repeated_keys()
        rows = np.zeros(len(cand), dtype=np.int64)
        for file_no, state in enumerate(states):
            at = cand["_file"].to_numpy() == file_no
            rows[at] = _line_numbers(state)(cand["_ordinal"].to_numpy()[at],
                                            np.full(int(at.sum()), -1))
        cand = cand.assign(_row=rows)
        if len(cand):  # read those rows again, decide on their keys and content
            sub = _read_again(cand, sources, column_map, encoding, delimiter)
            conflict = np.zeros(len(sub), dtype=bool)
            repeat = np.zeros(len(sub), dtype=bool)
            mark_duplicates(sub, as_mask(sub.duplicated(subset=key, keep=False)), key,
                            conflict, repeat)
            dup = conflict | repeat
            if dup.any():
                quarantined.append(_duplicate_rows(sub, conflict, repeat, sources, states,
                                                   column_map, encoding, delimiter))
                tally.remove(sub.loc[dup])
    if keep_lines:
        lines_full = cand.loc[~dup].reset_index(drop=True)
        lines = lines_full[list(CANONICAL_COLUMNS)]
    else:
        lines = empty_lines()

    q_cols = list(_QUARANTINE_HEAD) + list(CANONICAL_COLUMNS)
    if quarantined:
        q = (pd.concat(quarantined, ignore_index=True)
             .sort_values(["_file", "_row"], kind="stable")
             .reset_index(drop=True))
    else:
        q = pd.DataFrame({c: pd.Series(dtype=pd.StringDtype()) for c in CANONICAL_COLUMNS}
                         ).assign(_file=0, _row=0, reason="", column="", detail="",
                                  **{f"_{c}_cents": 0 for c in AMOUNT_COLUMNS})
    labels = np.array([s.label for s in sources], dtype=object)
    quarantine = q.assign(
        source_file=pd.array(labels[q["_file"].to_numpy(dtype=np.int64)], dtype=pd.StringDtype()),
        source_row=q["_row"].astype(np.int64),
        reason=q["reason"].astype(pd.StringDtype()),
        column=q["column"].astype(pd.StringDtype()),
        detail=q["detail"].astype(pd.StringDtype()),
    )[q_cols]
    quarantine = quarantine.astype({c: pd.StringDtype() for c in CANONICAL_COLUMNS})

    # report
    reasons = q["reason"].to_numpy(dtype=object)
    by_reason = {r: int((reasons == r).sum()) for r in QUARANTINE_REASONS}
    cents_by_reason = {
        r: {c: int(q[f"_{c}_cents"].to_numpy(dtype=np.int64)[reasons == r].sum())
            for c in AMOUNT_COLUMNS} for r in QUARANTINE_REASONS}
    amounts = {}
    for c in AMOUNT_COLUMNS:
        if keep_lines:
            acc = lines[c].to_numpy()
            acc_cents = int(np.rint(acc[~np.isnan(acc)] * 100).astype(np.int64).sum())
            acc_missing = int(np.isnan(acc).sum())
        else:
            acc_cents, acc_missing = tally.cents[c], tally.missing[c]
        amounts[c] = AmountTotals(
            read_cents=read_cents[c],
            accepted_cents=acc_cents,
            quarantined_cents=int(q[f"_{c}_cents"].to_numpy(dtype=np.int64).sum()),
            unparsed_rows=unparsed_rows[c],
            missing_accepted_rows=acc_missing,
        )
    repairs = {k: 0 for k in REPAIRS}
    for st in states:
        for k, v in st.file_repairs.items():
            repairs[k] += v
    if keep_lines:
        bits = lines_full["_repairs"].to_numpy(dtype=np.int64)
        for k, bit in REPAIR_BIT.items():
            repairs[k] = int(((bits & bit) != 0).sum())
        acc_by_file = np.bincount(lines_full["_file"].to_numpy(dtype=np.int64),
                                  minlength=len(sources))
    else:
        repairs |= tally.repairs
        acc_by_file = tally.by_file
    q_by_file = np.bincount(q["_file"].to_numpy(dtype=np.int64), minlength=len(sources))
    files = pd.DataFrame({
        "source_file": [s.label for s in sources],
        "format": [st.fmt for st in states],
        "rows_read": acc_by_file + q_by_file,
        "rows_accepted": acc_by_file,
        "rows_quarantined": q_by_file,
        "blank_rows": blank,
        "columns": ["; ".join(f"{c} <- {', '.join(map(repr, h))}"
                              for c, h in st.mapping.items()) for st in states],
        "ignored_columns": [", ".join(map(repr, st.ignored)) for st in states],
    })
    report = ValidationReport(
        rows_read=int(acc_by_file.sum() + q_by_file.sum()),
        rows_accepted=int(acc_by_file.sum()),
        rows_quarantined=len(quarantine),
        blank_rows=int(sum(blank)),
        quarantined_by_reason=by_reason,
        quarantined_cents_by_reason=cents_by_reason,
        repairs=repairs,
        amounts=amounts,
        files=files,
        study_window=(None if checks is None or checks.study_window is None
                      else str(checks.study_window)),
    )
    if strict and len(quarantine):
        first = quarantine.iloc[0]
        col = None if pd.isna(first["column"]) else str(first["column"])
        raise InputError(
            f"{first['reason']}: {first['detail']} ({len(quarantine):,} row(s) quarantined "
            "in all; strict mode)", file=first["source_file"], row=int(first["source_row"]),
            column=col)
    return LoadResult(lines=lines, quarantine=quarantine, report=report)


class _Tally:
    """What :func:`validate_files` keeps of the accepted rows: running totals (cents,
    missing amounts, repairs, rows by file) and, to find duplicates, each row's key hash
    (:func:`~analysis.claims.duplicates.key_hash`) and position: 20 bytes a row."""

    def __init__(self, n_files: int) -> None:
        self.cents = dict.fromkeys(AMOUNT_COLUMNS, 0)
        self.missing = dict.fromkeys(AMOUNT_COLUMNS, 0)
        self.repairs = dict.fromkeys(REPAIR_BIT, 0)
        self.by_file = np.zeros(n_files, dtype=np.int64)
        self._hash: list[np.ndarray] = []
        self._where: list[np.ndarray] = []

    def add(self, checked, good: np.ndarray, file_no: int, ordinal: np.ndarray) -> None:
        """Count the rows ``good`` of a checked batch."""
        typed = checked.typed.loc[good]
        self._count(checked.repairs[good],
                    {c: np.where(checked.parsed[c], checked.cents[c], 0)[good]
                     for c in AMOUNT_COLUMNS},
                    {c: ~checked.parsed[c][good] for c in AMOUNT_COLUMNS},
                    np.full(len(typed), file_no), +1)
        self._hash.append(key_hash(pa.array(typed["claim_id"].array),
                                   typed["line_number"].to_numpy()))
        self._where.append(np.stack([np.full(len(typed), file_no, dtype=np.int64),
                                     ordinal[good].astype(np.int64)], axis=1))

    def remove(self, rows: pd.DataFrame) -> None:
        """Take out rows read again (:func:`_read_again`) that turned out duplicates."""
        self._count(rows["_repairs"].to_numpy(dtype=np.int64),
                    {c: rows[f"_{c}_cents"].to_numpy(dtype=np.int64) for c in AMOUNT_COLUMNS},
                    {c: rows[c].isna().to_numpy() for c in AMOUNT_COLUMNS},
                    rows["_file"].to_numpy(dtype=np.int64), -1)

    def _count(self, bits, cents, missing, files, sign: int) -> None:
        for c in AMOUNT_COLUMNS:
            self.cents[c] += sign * int(cents[c].sum())
            self.missing[c] += sign * int(missing[c].sum())
        for k, bit in REPAIR_BIT.items():
            self.repairs[k] += sign * int(((bits & bit) != 0).sum())
        np.add.at(self.by_file, files.astype(np.int64), sign)

    def repeated_keys(self) -> pd.DataFrame:
        """``_file`` and ``_ordinal`` of the rows whose key hash occurs more than once, in
        file order."""
        h = np.concatenate(self._hash) if self._hash else np.zeros(0, np.uint64)
        where = np.concatenate(self._where) if self._where else np.zeros((0, 2), np.int64)
        self._hash = self._where = []
        maybe = pd.Series(h).duplicated(keep=False).to_numpy()
        return pd.DataFrame({"_file": where[maybe, 0], "_ordinal": where[maybe, 1]})


def _read_again(rows: pd.DataFrame, sources: list[Source], column_map, encoding, delimiter
                ) -> pd.DataFrame:
    """The accepted lines at ``rows``' positions (``_file``, ``_ordinal``), read and checked
    again, in the order of ``rows``, with ``_file``, ``_ordinal``, ``_row``, their repair
    bits and cents."""
    parts = []
    for file_no in sorted(rows["_file"].unique()):
        want = np.sort(rows.loc[rows["_file"] == file_no, "_ordinal"].to_numpy())
        state = FileState()
        for raw in raw_batches(sources[file_no], state, column_map, encoding, delimiter):
            hit = np.isin(raw.ordinal, want)
            if hit.any():
                frame = raw.frame.loc[hit].reset_index(drop=True)
                checked = check_rows(frame, state.present)
                parts.append(checked.typed.assign(
                    _file=file_no, _ordinal=raw.ordinal[hit], _repairs=checked.repairs,
                    **{f"_{c}_cents": np.where(checked.parsed[c], checked.cents[c], 0)
                       for c in AMOUNT_COLUMNS}))
    again = pd.concat(parts, ignore_index=True).astype(LINE_DTYPES)
    return rows[["_file", "_ordinal", "_row"]].merge(
        again, on=["_file", "_ordinal"], how="left", validate="one_to_one")


def _duplicate_rows(cand: pd.DataFrame, conflict: np.ndarray, repeat: np.ndarray,
                    sources: list[Source], states: list[FileState], column_map,
                    encoding, delimiter) -> pd.DataFrame:
    """Quarantine rows for duplicates, with their original text re-read from the source."""
    dup = cand.loc[conflict | repeat].copy()
    key = list(DUPLICATE_KEY)
    firsts = cand.loc[~conflict].groupby(key, sort=False)[["_file", "_row"]].first()
    first = dup.join(firsts.rename(columns={"_file": "_ff", "_row": "_fr"}), on=key)
    labels = [s.label for s in sources]
    detail = [
        f"claim_id {cid!r} line {ln} appears with different content; every version is "
        "quarantined" if is_conflict else f"repeats {labels[int(ff)]}, row {int(fr)}"
        for cid, ln, is_conflict, ff, fr in zip(
            dup["claim_id"], dup["line_number"], conflict[conflict | repeat],
            first["_ff"], first["_fr"], strict=True)
    ]
    raw_parts = []
    for file_no in sorted(dup["_file"].unique()):
        want = np.sort(dup.loc[dup["_file"] == file_no, "_ordinal"].to_numpy())
        state = FileState()
        for raw in raw_batches(sources[file_no], state, column_map, encoding, delimiter):
            hit = np.isin(raw.ordinal, want)
            if hit.any():
                raw_parts.append(text_frame(raw.frame.loc[hit]).assign(_file=file_no,
                                                           _ordinal=raw.ordinal[hit]))
    raw = pd.concat(raw_parts, ignore_index=True)
    out = dup[["_file", "_ordinal", "_row", "allowed_usd", "paid_usd"]].assign(
        reason=np.where(conflict[conflict | repeat], "conflicting_duplicate", "duplicate_line"),
        column="claim_id", detail=detail, _record=-1,
        **{f"_{c}_cents": np.rint(dup[c].fillna(0).to_numpy() * 100).astype(np.int64)
           for c in AMOUNT_COLUMNS},
    ).drop(columns=list(AMOUNT_COLUMNS))
    return out.merge(raw, on=["_file", "_ordinal"], how="left", validate="one_to_one")
