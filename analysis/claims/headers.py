"""Which file header feeds which canonical column: aliases, column maps, header mapping.

Headers are matched case-, space- and punctuation-insensitively (``Date of Service``,
``date_of_service`` and ``DATEOFSERVICE`` are one header) against the canonical names
and the aliases in ``data/reference/claims_header_aliases.csv`` (:func:`header_aliases`).
Numbered columns (``Modifier 1``..``Modifier 4``, ``Dx 1``..``Dx 12``) are joined in
header order into ``modifiers`` and ``diagnosis_codes`` (:data:`MULTI_VALUED`). A
``column_map`` ``{header: canonical column or None}`` (a dict or a YAML file of that
mapping, :func:`read_column_map`) takes precedence; ``None`` ignores a column.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache

import pandas as pd
import yaml

from analysis.errors import InputError
from analysis.paths import reference_file
from analysis.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS

__all__ = ["MULTI_VALUED", "alias_table", "header_aliases", "map_headers",
           "read_column_map"]

MULTI_VALUED: dict[str, str] = {"modifiers": " ", "diagnosis_codes": ";"}
"""Columns that numbered headers feed, with the separator their values are joined by."""


def _header_key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(header).replace("\ufeff", "").lower())


def _numbered_base(key: str) -> str:
    return re.sub(r"\d+(?:st|nd|rd|th)?", "", key)


def header_aliases() -> pd.DataFrame:
    """Recognised headers: ``column, alias, source`` from
    ``data/reference/claims_header_aliases.csv``.

    Matching ignores case, spaces and punctuation. Numbered variants of the
    ``modifiers`` and ``diagnosis_codes`` aliases (``Modifier 2``, ``Dx 10``,
    ``ICD_DGNS_CD3``) are joined in header order.
    """
    return alias_table().copy()


@cache
def alias_table() -> pd.DataFrame:
    """The alias table as read (shared, cached: copy it before changing it)."""
    table = pd.read_csv(reference_file("claims_header_aliases.csv"), dtype=str,
                        keep_default_na=False)
    unknown = set(table["column"]) - set(CANONICAL_COLUMNS)
    if unknown:  # a broken reference file is a bug, not a user error
        raise ValueError(f"claims_header_aliases.csv names unknown columns {sorted(unknown)}")
    return table


@cache
def _alias_index() -> tuple[dict[str, str], dict[str, str]]:
    table = alias_table()
    exact = {_header_key(a): c for a, c in zip(table["alias"], table["column"], strict=True)}
    numbered = {
        _numbered_base(_header_key(a)): c
        for a, c in zip(table["alias"], table["column"], strict=True)
        if c in MULTI_VALUED
    }
    return exact, numbered


def read_column_map(column_map: Mapping[str, str | None] | str | os.PathLike | None
                    ) -> dict[str, str | None]:
    """A column map ``{header: canonical column or None}`` from a mapping or a YAML file,
    checked: every target must be a canonical column (or ``None``)."""
    if column_map is None:
        return {}
    source = None
    if isinstance(column_map, str | os.PathLike):
        source = str(column_map)
        try:
            with open(column_map, encoding="utf-8") as f:
                column_map = yaml.safe_load(f)
        except OSError as err:
            raise InputError(f"cannot read the column map: {err.strerror}", file=source) from None
        except yaml.YAMLError as err:
            raise InputError(f"not valid YAML: {err}".replace("\n", " "), file=source) from None
    if not isinstance(column_map, Mapping):
        raise InputError("the column map must be a mapping {header in file: canonical column}",
                         file=source)
    out: dict[str, str | None] = {}
    for header, target in column_map.items():
        if target is not None and target not in CANONICAL_COLUMNS:
            raise InputError(
                f"column map target is not a canonical column; use one of "
                f"{', '.join(CANONICAL_COLUMNS)} (or null to ignore the column)",
                file=source, column=str(header), value=target,
            )
        out[str(header)] = target
    return out


def map_headers(headers: list[str], column_map: dict[str, str | None], label: str
                ) -> tuple[dict[str, list[int]], list[str]]:
    """Canonical column -> indices of the source columns feeding it; ignored headers.

    Raises :class:`~analysis.errors.InputError` naming the file ``label`` when two
    headers feed one single-valued column or a required column has no header.
    """
    exact, numbered = _alias_index()
    user_exact = {h: t for h, t in column_map.items()}
    user_keyed = {_header_key(h): t for h, t in column_map.items()}
    sources: dict[str, list[int]] = {}
    ignored: list[str] = []
    for i, header in enumerate(headers):
        key = _header_key(header)
        if header in user_exact:
            target = user_exact[header]
        elif key in user_keyed:
            target = user_keyed[key]
        elif not key:
            target = None
        elif key in exact:
            target = exact[key]
        else:
            target = numbered.get(_numbered_base(key))
        if target is None:
            ignored.append(header)
            continue
        sources.setdefault(target, []).append(i)
    for target, idx in sources.items():
        if len(idx) > 1 and target not in MULTI_VALUED:
            names = " and ".join(repr(headers[i]) for i in idx)
            raise InputError(
                f"headers {names} both map to {target!r}; pass column_map="
                f"{{{headers[idx[1]]!r}: None}} (or a YAML file with --column-map) to say "
                "which one to ignore", file=label, column=target)
    missing = [c for c in REQUIRED_COLUMNS if c not in sources]
    if missing:
        col = missing[0]
        table = alias_table()
        looked = ", ".join(table.loc[table["column"].eq(col), "alias"].tolist()[:8])
        found = ", ".join(repr(h) for h in headers[:20]) + (" ..." if len(headers) > 20 else "")
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise InputError(
            f"required column {col!r} is missing{more}; headers found: {found}; "
            f"recognised names include {looked}; pass column_map={{'<your header>': {col!r}}} "
            "(rad3d validate --column-map map.yaml)",
            file=label, column=col)
    return sources, ignored
