"""Privacy of shared output: small-cell suppression.

Committees receive reports that must not let anyone re-identify a patient. Two rules
apply to everything written under a report folder:

- **Cell-size rule.** A count of patients, encounters, claim lines, services or units
  from 1 to 10 is never shown (the CMS cell-size suppression policy: "no cell ... 10
  or less may be displayed", and no percentage or other figure from which such a
  cell can be computed). Zero is not suppressed. Suppressed cells are shown as
  :data:`MARKER`.
- **Complementary suppression.** Where a total is published (the table's total row,
  or a total of the column elsewhere in the report), a single suppressed cell could
  be recovered by subtraction. So every column of counts, and every declared group of
  columns that adds up to a total column, ends with either zero or at least two
  suppressed cells; the complement is the smallest remaining non-zero cell.
- **Derived figures.** Rates, intervals, p-values and dollars computed from a
  suppressed count would reveal it, so by default every non-count numeric cell in a
  row with a suppressed count is suppressed too (``dependents`` narrows this).
- **No identifiers.** No identifier column is ever shown
  (:func:`check_no_identifier_columns`), and no patient or claim identifier of the
  input appears anywhere in a report folder: ``rad3d report`` scans every file of it
  before publishing (:func:`analysis.run.identifiers.scan_for_identifiers`).

The threshold can be lowered only for internal runs (``internal=True``), and the
report manifest records both values.

References
----------
CMS, "CMS Cell Size Suppression Policy" (Research Data Assistance Center, 2017):
counts of 1 to 10, and values from which they can be derived, are not displayed.
Hundepool A. et al., *Statistical Disclosure Control*, Wiley 2012, ch. 4
(primary and secondary/complementary cell suppression).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.defaults import MIN_CELL_COUNT
from analysis.errors import InputError

# Kept for one release: the folder scans live in analysis.run.identifiers.
from analysis.run.identifiers import find_substrings, scan_for_identifiers

__all__ = [
    "DEFAULT_MIN_CELL_COUNT",
    "IDENTIFIER_COLUMNS",
    "MARKER",
    "PrivacySettings",
    "Suppressed",
    "check_no_identifier_columns",
    "find_substrings",
    "is_count_column",
    "scan_for_identifiers",
    "shown_small_counts",
    "suppress_counts",
    "suppress_value",
]

#: Smallest count that may be shown (CMS: cells of 1-10 are suppressed); the public
#: name of :data:`analysis.defaults.MIN_CELL_COUNT`.
DEFAULT_MIN_CELL_COUNT = MIN_CELL_COUNT
#: What a suppressed cell shows.
MARKER = "*"
#: Columns that carry patient-level identifiers and never belong in a shown table.
IDENTIFIER_COLUMNS = ("patient_id", "claim_id", "line_number", "encounter_id")

# A column is a patient-level count when its name says so (snake_case tokens) and it
# is neither a derived figure nor a count of practices, periods, codes or draws.
_COUNT_TOKENS = frozenset(
    {"units", "lines", "encounters", "services", "benes", "beneficiaries", "claims",
     "count", "srvcs", "patients", "renderings"}
)
_DERIVED_TOKENS = frozenset(
    {"usd", "rate", "rates", "share", "pct", "percent", "ratio", "per", "mean", "avg",
     "value", "ci", "low", "high", "limit", "lower", "upper", "expected", "z", "score",
     "percentile", "prob", "probability", "sd", "se"}
)
_NOT_PATIENT_TOKENS = frozenset(
    {"practice", "practices", "period", "periods", "year", "years", "quarter", "quarters",
     "code", "codes", "scenario", "scenarios", "draw", "draws", "sim", "simulations",
     "flagged", "policies"}
)


@dataclass(frozen=True)
class PrivacySettings:
    """How small cells are handled in one report run.

    Parameters
    ----------
    min_cell_count : int
        Smallest positive count shown; counts from 1 to ``min_cell_count - 1`` are
        suppressed. Default 11 (CMS rule: 1-10 suppressed).
    internal : bool
        A run for internal use only. Required to lower ``min_cell_count`` below the
        default; such a report says so on every page and in its manifest.
    """

    min_cell_count: int = DEFAULT_MIN_CELL_COUNT
    internal: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.min_cell_count, bool) or not isinstance(self.min_cell_count, int):
            raise InputError(
                "must be an integer", column="min_cell_count", value=self.min_cell_count
            )
        if self.min_cell_count < 1:
            raise InputError(
                "must be at least 1 (1 shows every count)",
                column="min_cell_count",
                value=self.min_cell_count,
            )
        if self.min_cell_count < DEFAULT_MIN_CELL_COUNT and not self.internal:
            raise InputError(
                f"a threshold below {DEFAULT_MIN_CELL_COUNT} is allowed only for internal "
                "runs: set internal: true (the report will be marked internal)",
                column="min_cell_count",
                value=self.min_cell_count,
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "min_cell_count": self.min_cell_count,
            "suppressed_range": (
                f"1-{self.min_cell_count - 1}" if self.min_cell_count > 1 else "none"
            ),
            "internal": self.internal,
            "lowered": self.min_cell_count < DEFAULT_MIN_CELL_COUNT,
        }


def is_count_column(name: object) -> bool:
    """Whether a column holds patient-level counts subject to the cell-size rule.

    By name (snake_case tokens): ``n_*``, or a token among ``units, lines, encounters,
    services, benes, claims, count, patients``; but not a derived figure (a token such
    as ``usd, rate, share, ci, p_value, expected``) nor a count of practices, periods,
    codes, scenarios or simulation draws.

    Examples
    --------
    >>> [is_count_column(c) for c in ["n_encounters_3d", "rate", "n_practices", "units_3d_76376"]]
    [True, False, False, True]
    >>> [is_count_column(c) for c in ["n_ct_mr", "n_3d", "expected_n_3d", "unit"]]
    [True, True, False, False]
    >>> is_count_column("rev_units_onc"), is_count_column("allowed_3d_76376_usd")
    (True, False)
    """
    tokens = str(name).lower().split("_")
    if _DERIVED_TOKENS.intersection(tokens) or _NOT_PATIENT_TOKENS.intersection(tokens):
        return False
    return tokens[0] == "n" or bool(_COUNT_TOKENS.intersection(tokens))


@dataclass(frozen=True)
class Suppressed:
    """A table made safe to show.

    Attributes
    ----------
    table : DataFrame
        The shown table: suppressed cells hold :data:`MARKER` (their columns become
        ``object``); everything else is unchanged.
    mask : DataFrame of bool
        True where a cell was suppressed (same shape, index and columns).
    primary : DataFrame of bool
        True where the cell itself was a count from 1 to ``min_cell_count - 1``.
    count_columns : tuple of str
        The columns treated as counts.
    """

    table: pd.DataFrame
    mask: pd.DataFrame
    primary: pd.DataFrame
    count_columns: tuple[str, ...]
    settings: PrivacySettings = field(default_factory=PrivacySettings)

    @property
    def n_suppressed(self) -> int:
        return int(self.mask.to_numpy().sum())

    @property
    def n_primary(self) -> int:
        return int(self.primary.to_numpy().sum())

    @property
    def footnote(self) -> str:
        if not self.n_suppressed:
            return ""
        return (
            f"{MARKER} suppressed: a count from 1 to {self.settings.min_cell_count - 1}, "
            "a figure derived from one, or a cell that would reveal one by subtraction "
            "(CMS cell-size suppression policy)."
        )


def _small(values: pd.Series, min_cell_count: int) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    return ((numeric > 0) & (numeric < min_cell_count)).fillna(False).astype(bool)


def _complement(
    mask: np.ndarray, values: np.ndarray, cells: Sequence[tuple[int, int]]
) -> tuple[int, int] | None:
    """The cell to suppress so that ``cells`` does not hold exactly one suppression."""
    hidden = [c for c in cells if mask[c]]
    if len(hidden) != 1:
        return None
    open_cells = [c for c in cells if not mask[c] and np.isfinite(values[c])]
    # The smallest non-zero cell hides the least; a zero only when nothing else is left
    # (two hidden cells still leave the split of their sum unknown).
    candidates = [c for c in open_cells if values[c] > 0] or open_cells
    if not candidates:
        return None
    return min(candidates, key=lambda c: (values[c], c))


def suppress_counts(
    table: pd.DataFrame,
    *,
    settings: PrivacySettings | None = None,
    count_columns: Iterable[str] | None = None,
    dependents: Mapping[str, Sequence[str]] | None = None,
    total_rows: Iterable[object] = (),
    column_totals: bool = True,
    row_groups: Mapping[str, Sequence[str]] | None = None,
    preset: pd.DataFrame | None = None,
) -> Suppressed:
    """Suppress counts 1 to ``min_cell_count - 1`` with complementary suppression.

    Parameters
    ----------
    table : DataFrame
        The table to be shown. Not modified.
    settings : PrivacySettings, optional
        Threshold and internal flag (default: suppress 1-10).
    count_columns : iterable of str, optional
        Columns holding patient-level counts; default: those for which
        :func:`is_count_column` is true.
    dependents : mapping, optional
        ``{count_column: [derived columns]}``: cells derived from a count, suppressed
        in the rows where that count is. Default: every numeric non-count column
        depends on every count column.
    total_rows : iterable
        Index labels of rows that are totals of the other rows.
    column_totals : bool
        Whether the total of each count column is (or may be) published elsewhere;
        then each count column gets complementary suppression even without a total
        row. Default True (conservative: headline totals are published).
    row_groups : mapping, optional
        ``{total_column: [part columns]}``: columns that add up to a shown total
        column within a row (e.g. oncology + non-oncology = all encounters).

    Returns
    -------
    Suppressed

    Examples
    --------
    >>> t = pd.DataFrame({"n_encounters": [120, 4, 300], "rate": [0.2, 0.25, 0.1]})
    >>> s = suppress_counts(t)
    >>> s.table["n_encounters"].tolist()   # 4 is primary, 120 the complement
    ['*', '*', 300]
    >>> s.table["rate"].tolist()
    ['*', '*', 0.1]
    """
    settings = settings or PrivacySettings()
    cols = [c for c in table.columns]
    counts = [c for c in (count_columns if count_columns is not None else cols) if c in cols]
    if count_columns is None:
        counts = [c for c in counts if is_count_column(c)]
    counts = [c for c in counts if pd.api.types.is_numeric_dtype(table[c])]
    total_labels = set(total_rows)
    is_total = np.array([label in total_labels for label in table.index], dtype=bool)

    values = np.full(table.shape, np.nan)
    for j, c in enumerate(cols):
        if pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c]):
            values[:, j] = pd.to_numeric(table[c], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
    col_pos = {c: j for j, c in enumerate(cols)}
    primary = np.zeros(table.shape, dtype=bool)
    for c in counts:
        primary[:, col_pos[c]] = _small(table[c], settings.min_cell_count).to_numpy()
    mask = primary.copy()
    if preset is not None:
        mask |= preset.reindex(index=table.index, columns=table.columns,
                               fill_value=False).to_numpy(dtype=bool)

    # Cells sets that each must not hold exactly one suppression.
    body = [i for i in range(len(table)) if not is_total[i]]
    sets: list[list[tuple[int, int]]] = []
    for c in counts:
        j = col_pos[c]
        if column_totals or is_total.any():
            sets.append([(i, j) for i in body])
    for total_col, parts in (row_groups or {}).items():
        members = [col_pos[p] for p in parts if p in col_pos]
        if total_col in col_pos:
            members.append(col_pos[total_col])
        for i in range(len(table)):
            sets.append([(i, j) for j in members])

    changed = True
    while changed:
        changed = False
        for cells in sets:
            pick = _complement(mask, values, cells)
            if pick is not None:
                mask[pick] = True
                changed = True
        # a suppressed body cell in a column with a total row hides nothing if the
        # total row shows every other cell: covered by the column sets above.

    count_pos = [col_pos[c] for c in counts]
    if dependents is None:
        derived = [
            j
            for j, c in enumerate(cols)
            if c not in counts
            and pd.api.types.is_numeric_dtype(table[c])
            and not pd.api.types.is_bool_dtype(table[c])
        ]
        rows_hit = mask[:, count_pos].any(axis=1) if count_pos else np.zeros(len(table), bool)
        for j in derived:
            mask[:, j] |= rows_hit
    else:
        for c, deps in dependents.items():
            if c not in col_pos:
                continue
            hit = mask[:, col_pos[c]]
            for d in deps:
                if d in col_pos:
                    mask[:, col_pos[d]] |= hit

    shown = table.copy()
    for j, c in enumerate(cols):
        if mask[:, j].any():
            column = shown[c].astype(object)
            column[mask[:, j]] = MARKER
            shown[c] = column
    frame = lambda a: pd.DataFrame(a, index=table.index, columns=table.columns)  # noqa: E731
    return Suppressed(
        table=shown,
        mask=frame(mask),
        primary=frame(primary),
        count_columns=tuple(counts),
        settings=settings,
    )


def suppress_value(name: str, value: object, *, settings: PrivacySettings | None = None):
    """A single headline number: ``None`` if it is a count from 1 to threshold - 1.

    Examples
    --------
    >>> suppress_value("n_noncompliant_3d_lines", 7), suppress_value("rate", 0.07)
    (None, 0.07)
    """
    settings = settings or PrivacySettings()
    if (
        is_count_column(name)
        and isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and 0 < float(value) < settings.min_cell_count
    ):
        return None
    return value


def check_no_identifier_columns(table: pd.DataFrame, *, name: str = "table") -> None:
    """Raise if a table about to be shown has an identifier column or index level.

    Raises
    ------
    ValueError
        A bug in the calling code: identifiers must be aggregated away first.
    """
    names = [*map(str, table.columns), *(str(n) for n in table.index.names if n is not None)]
    bad = [n for n in names if n.lower() in IDENTIFIER_COLUMNS]
    if bad:
        raise ValueError(f"{name}: identifier column(s) {bad} must not be shown in a report")


def shown_small_counts(
    table: pd.DataFrame, *, min_cell_count: int = DEFAULT_MIN_CELL_COUNT
) -> pd.DataFrame:
    """Cells of count columns (by name) that show a value from 1 to threshold - 1.

    For checking a finished table (a CSV read back, an HTML table parsed): returns
    ``column, row, value`` for every offending cell, empty if none.
    """
    rows = []
    for c in table.columns:
        if not is_count_column(c):
            continue
        numeric = pd.to_numeric(table[c], errors="coerce")
        bad = (numeric > 0) & (numeric < min_cell_count)
        for i in np.flatnonzero(bad.fillna(False).to_numpy()):
            rows.append({"column": str(c), "row": int(i), "value": numeric.iloc[i]})
    return pd.DataFrame(rows, columns=["column", "row", "value"])
