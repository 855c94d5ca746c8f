"""Names of what a report run writes: derived from practice ids, and kept inside ``--out``.

A practice id comes from a claims file and may hold anything (``../../x``, 300
characters, control characters). The folder of a practice's scorecard is therefore
named by :func:`practice_folder` (a slug and a short hash of the id), never by the id
itself, and every path a run writes is checked by :func:`inside` to lie in the report
folder.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from os import PathLike
from pathlib import Path

from analysis.errors import InputError

__all__ = ["HASH_DIGITS", "SLUG_CHARS", "inside", "practice_folder"]

SLUG_CHARS = 40
"""Most characters of the readable part of a practice folder's name."""

HASH_DIGITS = 8
"""Hex digits of SHA-256 of the practice id in its folder's name."""


def practice_folder(practice_id: str) -> str:
    """The folder name of a practice: a slug of its id and a short hash of the id.

    The slug keeps lower-case ASCII letters and digits (accents dropped) and joins the
    runs between them with ``-``, at most :data:`SLUG_CHARS` characters; the hash is
    the first :data:`HASH_DIGITS` hex digits of SHA-256 of the id's UTF-8 bytes, so two
    ids with the same slug (``NC-001``, ``nc001``) get different folders. The name is
    safe on every file system and never ``.`` or ``..``.

    >>> practice_folder("NC001")
    'nc001-f27e6eab'
    >>> practice_folder("../../etc/X")
    'etc-x-0790d47d'
    """
    ascii_text = unicodedata.normalize("NFKD", str(practice_id)).encode("ascii", "ignore")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.decode("ascii").lower())
    slug = slug[:SLUG_CHARS].strip("-") or "practice"
    digest = hashlib.sha256(str(practice_id).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{slug}-{digest[:HASH_DIGITS]}"


def inside(root: str | PathLike[str], path: str | PathLike[str]) -> Path:
    """``root / path`` resolved, checked to lie inside ``root`` (also resolved).

    Raises
    ------
    InputError
        The path leaves ``root`` (``..``, an absolute path, a symbolic link out).
    """
    base = Path(root).resolve()
    target = (base / path).resolve()
    if target != base and base not in target.parents:
        raise InputError("refused: this output path would lie outside the report folder",
                         file=base, value=str(path))
    return target
