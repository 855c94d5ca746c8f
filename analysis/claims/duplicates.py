"""The duplicate checks: rows that passed every row check but share a claim line's key.

Rows sharing ``(claim_id, line_number)`` (:data:`analysis.claims.rules.DUPLICATE_KEY`)
with identical content are exact repeats: the first is kept, each repeat is
``duplicate_line``. A key with two or more distinct contents cannot be resolved, so
every one of its rows is ``conflicting_duplicate``. :func:`mark_duplicates` finds both
among candidate lines; :func:`resolve_duplicates` applies them to the candidates of a
streamed read (:mod:`analysis.scale`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.claims.fields import as_mask
from analysis.claims.rules import AMOUNT_COLUMNS, DUPLICATE_KEY
from analysis.schema import CANONICAL_COLUMNS

__all__ = ["key_hash", "mark_duplicates", "resolve_duplicates"]

_HASH_P = np.uint64(0x100000001B3)


def _mix64(h: np.ndarray) -> np.ndarray:
    """The 64-bit finalizer of MurmurHash3 (fmix64), elementwise on uint64."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def key_hash(claim_id, line_number) -> np.ndarray:
    """A uint64 hash of each ``(claim_id, line_number)``, the same in every process.

    ``claim_id`` is an Arrow string array (or anything ``pyarrow.array`` takes) and
    ``line_number`` integers. The bytes of each id (at most 64) are folded as a
    polynomial modulo 2**64 with the FNV prime, with its length, and mixed with the
    line number by MurmurHash3's finalizer; longer ids are hashed by
    ``pandas.util.hash_array``. Equal keys have equal hashes; unequal keys rarely
    do, and every use here confirms a hash match on the keys themselves.

    Examples
    --------
    >>> h = key_hash(["C1", "C1", "C2"], [1, 1, 1])
    >>> bool(h[0] == h[1]), bool(h[0] == h[2])
    (True, False)
    """
    arr = claim_id if isinstance(claim_id, pa.Array | pa.ChunkedArray) else pa.array(claim_id)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.string())
    n = len(arr)
    ln = np.asarray(line_number, dtype=np.int64).view(np.uint64)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    off = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    off = off.astype(np.int64)
    lens = np.diff(off)
    width = int(lens.max())
    if width > 64 or arr.null_count:
        h = pd.util.hash_array(arr.to_numpy(zero_copy_only=False).astype(object))
    else:
        data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
        if lens.min() == width:
            mat = data[off[0]:off[0] + n * width].reshape(n, width)
        else:
            mat = np.zeros((n, width), dtype=np.uint8)
            owner = np.repeat(np.arange(n), lens)
            mat[owner, np.arange(off[-1] - off[0]) - (off[:-1] - off[0])[owner]] = (
                data[off[0]:off[-1]])
        h = lens.astype(np.uint64)
        for j in range(width):
            h = h * _HASH_P + mat[:, j]
    return _mix64(_mix64(h) ^ ln)


def mark_duplicates(frame: pd.DataFrame, shared_key: np.ndarray, key: list[str],
                    conflict: np.ndarray, repeat: np.ndarray) -> None:
    """Among the rows ``shared_key`` (whose ``key`` occurs more than once), set in place
    ``conflict`` where the key has two or more distinct contents and ``repeat`` on every
    exact copy after the first."""
    if shared_key.any():
        sub = frame.loc[shared_key, list(CANONICAL_COLUMNS)]
        distinct = sub.drop_duplicates().groupby(key, sort=False, dropna=False).size()
        n_distinct = sub.join(distinct.rename("_n"), on=key)["_n"].to_numpy()
        conflict[shared_key] = n_distinct > 1
        repeat[shared_key] = (n_distinct == 1) & as_mask(sub.duplicated(keep="first"))


def resolve_duplicates(
    lines: pd.DataFrame, *, conflicting_keys: pd.DataFrame | None = None,
    key_hash: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Apply the duplicate checks of :func:`~analysis.claims.load_claims` to rows that
    passed the row checks.

    ``lines`` must hold every candidate row of each ``(claim_id, line_number)`` it
    contains, except those listed in ``conflicting_keys`` (keys known from elsewhere
    to appear with different content: all their rows are ``conflicting_duplicate``).
    Exact repeats keep one row (``duplicate_line``); keys with two or more distinct
    contents lose every row (``conflicting_duplicate``). Which of several identical
    rows is kept does not change the accepted lines.

    ``key_hash`` (optional) is a hash of each row's ``(claim_id, line_number)``: only
    rows whose hash occurs twice are compared by key, which is exact (rows sharing a
    key share its hash) and saves hashing the text keys again.

    Returns
    -------
    (accepted, reason, cents) : DataFrame, Series, Series
        Accepted lines; the reason of each removed row (index = position in
        ``lines``); and ``{"allowed_usd": cents, "paid_usd": cents}`` removed, by reason
        (a Series of dicts indexed by reason).
    """
    key = list(DUPLICATE_KEY)
    n = len(lines)
    conflict = np.zeros(n, dtype=bool)
    repeat = np.zeros(n, dtype=bool)
    if conflicting_keys is not None and len(conflicting_keys):
        ck = conflicting_keys[key].astype({"claim_id": pd.StringDtype(), "line_number": "int64"})
        conflict |= as_mask(pd.MultiIndex.from_frame(lines[key]).isin(
            pd.MultiIndex.from_frame(ck)))
    if key_hash is None:
        shared_key = as_mask(lines.duplicated(subset=key, keep=False)) & ~conflict
    else:
        maybe = pd.Series(np.asarray(key_hash)).duplicated(keep=False).to_numpy()
        shared_key = np.zeros(n, dtype=bool)
        if maybe.any():
            shared_key[maybe] = as_mask(lines.loc[maybe, key].duplicated(keep=False))
        shared_key &= ~conflict
    mark_duplicates(lines, shared_key, key, conflict, repeat)
    dup = conflict | repeat
    reasons = pd.Series(np.where(conflict, "conflicting_duplicate", "duplicate_line")[dup],
                        index=np.flatnonzero(dup), dtype=object)
    cents = {}
    for r, m in (("conflicting_duplicate", conflict), ("duplicate_line", repeat)):
        cents[r] = {c: int(np.rint(np.nan_to_num(
            lines[c].to_numpy(dtype=float, na_value=np.nan)[m]) * 100).astype(np.int64).sum())
            for c in AMOUNT_COLUMNS}
    accepted = lines.loc[~dup].reset_index(drop=True) if dup.any() else lines
    return accepted, reasons, pd.Series(cents, dtype=object)
