"""Find patient and claim identifiers, or any text, in the files of a folder.

The privacy gate of a report run: before a report folder is published, every file in it
(and every member of a zip container such as ``.xlsx``) is searched for every patient and
claim identifier of the input; a folder with any hit is not published.
"""

from __future__ import annotations

import string
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

__all__ = ["find_substrings", "scan_for_identifiers"]


_ALNUM = (string.ascii_letters + string.digits).encode()
# bytes.translate maps every byte outside a token to a space, so that bytes.split()
# cuts the tokens in C: three times faster than a regular expression on a report folder.
_TOKENS = bytes(c if c in _ALNUM + b"_.-" else 32 for c in range(256))
_PIECES = bytes(c if c in _ALNUM else 32 for c in range(256))


def _tokens(data: bytes) -> set[bytes]:
    """The words of letters, digits and ``_.-`` in ``data``, and their ``._-``-separated
    pieces: an identifier may sit inside a longer word joined by '.', '-' or '_' (file
    names, keys such as "P0001-2024-03-01")."""
    # shown tables let long words break after "_" with <wbr>: read the word whole
    data = data.replace(b"<wbr>", b"")
    return set(data.translate(_TOKENS).split()) | set(data.translate(_PIECES).split())


def _contents(folder: str | Path) -> Iterator[tuple[str, bytes]]:
    """``(where, bytes)`` of every file under ``folder`` and of every member of a zip
    container among them (``<file>!<member>``)."""
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        data = path.read_bytes()
        yield str(path), data
        if data[:4] == b"PK\x03\x04":
            try:
                with zipfile.ZipFile(path) as z:
                    for member in z.namelist():
                        yield f"{path}!{member}", z.read(member)
            except zipfile.BadZipFile:
                pass


def scan_for_identifiers(
    folder: str | Path,
    identifiers: Iterable[str] | Callable[[set[str]], Iterable[str]],
    *,
    min_length: int = 4,
) -> pd.DataFrame:
    """Find any of ``identifiers`` in any file under ``folder``.

    Every file is read as bytes (zip containers such as ``.xlsx`` are opened and
    their members read too) and split into tokens of letters, digits and ``_.-``;
    an identifier is found when it equals a token or a ``._-``-separated piece of
    one. Whole-token matching keeps base64-embedded images from matching by chance.

    Parameters
    ----------
    folder : path
    identifiers : iterable of str, or a function of the folder's tokens
        E.g. every ``patient_id`` and ``claim_id`` of the input claims; or, when
        those are too many to hold in memory, ``lookup(tokens)`` returning the
        tokens that are identifiers (e.g.
        :meth:`analysis.report.SharedInputs.identifiers_among`, which streams the
        identifiers from disk): the folder's tokens are few, the input's ids many.
    min_length : int
        Identifiers shorter than this are ignored (they would match ordinary
        numbers in text); the default 4.

    Returns
    -------
    DataFrame
        ``file, identifier`` for every hit; empty when the folder is clean.
    """
    found = [(where, _tokens(data)) for where, data in _contents(folder)]
    if callable(identifiers):
        candidates = {t.decode("utf-8", "replace")
                      for t in set().union(*(tokens for _, tokens in found))
                      if len(t) >= min_length}
        identifiers = identifiers(candidates)
    wanted = {str(i).encode() for i in identifiers if i is not None and len(str(i)) >= min_length}
    hits = [{"file": where, "identifier": token.decode()}
            for where, tokens in found for token in sorted(tokens & wanted)]
    return pd.DataFrame(hits, columns=["file", "identifier"]).drop_duplicates(ignore_index=True)


def find_substrings(folder: str | Path, needles: Iterable[str]) -> pd.DataFrame:
    """Where any of ``needles`` occurs, as plain bytes, in a file under ``folder``.

    Unlike :func:`scan_for_identifiers` (whole tokens), this finds substrings, e.g.
    an absolute local path such as ``/home/me/claims`` that a shared report must
    not carry. Zip containers (``.xlsx``) are searched member by member.

    Returns
    -------
    DataFrame
        ``file, needle`` for every hit; empty when none.
    """
    wanted = sorted({str(n) for n in needles if n})
    hits = [{"file": where, "needle": n}
            for where, data in _contents(folder) for n in wanted if n.encode() in data]
    return pd.DataFrame(hits, columns=["file", "needle"]).drop_duplicates(ignore_index=True)
