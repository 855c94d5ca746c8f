"""Damaging claim lines the way billing exports do, at exactly known rates.

:func:`damage` gives chosen lines one kind of damage each: damage that loading must
repair (:data:`REPAIR_KINDS`) or must quarantine (:data:`QUARANTINE_REASONS`); the
:class:`Damage` it returns says exactly what :func:`analysis.claims.load_claims` must
report for the damaged file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.errors import InputError, first_bad_row
from analysis.schema import CANONICAL_COLUMNS

__all__ = ["QUARANTINE_REASONS", "REPAIR_KINDS", "Damage", "DamageRates", "damage"]

REPAIR_KINDS: tuple[str, ...] = (
    "numeric_suffix_dropped",  # 74177 saved as a number: "74177.0"
    "whitespace_stripped",  # " 74177 " (padding around the code)
    "upper_cased",  # payer "bcbsnc"
    "pos_zero_padded",  # POS "2" for "02"
    "npi_scientific",  # NPI "1.234567893E+09" (all ten digits kept: exact)
    "amount_currency_format",  # allowed "$1,234.50"
    "date_us_format",  # service date "01/31/2024"
)
"""The damage :func:`damage` makes that loading must repair (names of
:data:`analysis.claims.REPAIRS`)."""
QUARANTINE_REASONS: tuple[str, ...] = (
    "missing_required",
    "invalid_cpt",
    "bad_date",
    "units_not_positive",
    "negative_amount",
    "invalid_npi_check_digit",
    "duplicate_line",
)
"""The damage :func:`damage` makes that loading must quarantine (names of
:data:`analysis.claims.QUARANTINE_REASONS`)."""


@dataclass(frozen=True)
class DamageRates:
    """Shares of lines given each kind of damage (each damaged line gets one kind).

    Repairs (``numeric_suffix_dropped`` ... ``date_us_format``, see :data:`REPAIR_KINDS`) are damage
    that loading must undo; quarantine reasons (:data:`QUARANTINE_REASONS`) are
    damage that loading must reject. ``duplicate_line`` adds exact copies of that
    share of lines. ``bom`` and ``crlf`` damage the whole file (a UTF-8 byte-order
    mark; Windows line ends). Counts are ``round(rate * n_lines)``, exactly.
    """

    numeric_suffix_dropped: float = 0.02
    whitespace_stripped: float = 0.02
    upper_cased: float = 0.02
    pos_zero_padded: float = 0.005
    npi_scientific: float = 0.02
    amount_currency_format: float = 0.03
    date_us_format: float = 0.10
    missing_required: float = 0.002
    invalid_cpt: float = 0.002
    bad_date: float = 0.002
    units_not_positive: float = 0.002
    negative_amount: float = 0.002
    invalid_npi_check_digit: float = 0.002
    duplicate_line: float = 0.003
    bom: bool = True
    crlf: bool = True

    def __post_init__(self) -> None:
        total = 0.0
        for name in REPAIR_KINDS + QUARANTINE_REASONS:
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InputError("damage rate must be in [0, 1]", column=name, value=value)
            total += value
        if total > 1:
            raise InputError("damage rates must sum to at most 1", value=round(total, 6))

    def to_dict(self) -> dict:
        """Plain-Python form for manifests."""
        return asdict(self)


@dataclass(frozen=True)
class Damage:
    """A damaged copy of claim lines and what loading it must report.

    Attributes
    ----------
    frame : DataFrame
        The damaged file's content, every column text, in file order (duplicates
        follow their original).
    clean : DataFrame
        The lines loading must accept, repaired (canonical schema, file order).
    expected : dict
        ``rows_read``, ``rows_accepted``, ``rows_quarantined``; ``quarantined``
        {reason: rows}; ``repairs`` {kind: rows, or files for ``bom`` and ``crlf``};
        ``allowed_usd`` and ``paid_usd``, each {``read_cents``, ``accepted_cents``,
        ``quarantined_cents``} (read = accepted + quarantined; a negative amount counts
        with its sign). Names as in ``analysis.claims`` (``REPAIRS``,
        ``QUARANTINE_REASONS``, ``AmountTotals``).
    rows : DataFrame
        One row per file row: ``row`` (1-based data row), ``source_index`` (row of
        the input lines), ``damage`` (kind or reason, "" when undamaged),
        ``quarantined`` (bool).
    """

    frame: pd.DataFrame
    clean: pd.DataFrame
    expected: dict
    rows: pd.DataFrame
    rates: DamageRates

    @property
    def summary(self) -> pd.DataFrame:
        """Expected counts: one row per repair kind and quarantine reason."""
        e = self.expected
        return pd.DataFrame(
            [("repair", k, v) for k, v in e["repairs"].items()]
            + [("quarantine", k, v) for k, v in e["quarantined"].items()],
            columns=["outcome", "kind", "rows"],
        )

    def _repr_html_(self) -> str:
        e = self.expected
        head = (
            f"<p>Damaged claims: {e['rows_read']:,} rows read, {e['rows_accepted']:,} "
            f"accepted, {e['rows_quarantined']:,} quarantined</p>"
        )
        return head + self.summary.to_html(index=False)


def _text(lines: pd.DataFrame) -> pd.DataFrame:
    """Every column as the text a clean CSV export would hold."""
    out = {}
    for c in CANONICAL_COLUMNS:
        col = lines[c]
        if c == "service_date":
            text = pd.to_datetime(col).dt.strftime("%Y-%m-%d")
        elif c in ("allowed_usd", "paid_usd"):
            text = col.map(lambda x: "" if pd.isna(x) else f"{x:.2f}")
        else:
            text = col.astype("str")
        out[c] = text.astype(object).where(col.notna(), "").to_numpy()
    return pd.DataFrame(out)


def damage(
    lines: pd.DataFrame, *, rng: np.random.Generator, rates: DamageRates | None = None
) -> Damage:
    """Damage claim lines the way billing exports do, at exactly known rates.

    Each chosen line receives one kind of damage; no line receives two, so the
    expected counts are unambiguous. Repairs: codes saved as numbers (``74177.0``),
    padding spaces, a lower-case payer, POS ``2`` for ``02`` (such lines are first
    set to POS 02, telehealth, a facility setting like their original POS, since the
    generator bills no POS with a leading zero), NPIs in exact scientific notation,
    ``$1,234.50`` amounts, ``MM/DD/YYYY`` dates. Quarantine: a blank patient_id,
    payer or practice_id (``missing_required``), malformed CPT codes (``741770``,
    ``74 177``), impossible dates (``2024-02-30``, ``13/45/2024``), zero units, a
    negated allowed amount, an NPI with a wrong check digit, exact duplicate lines.

    Parameters
    ----------
    lines : DataFrame
        Canonical claim lines with unique (claim_id, line_number), e.g.
        ``generate(...).lines``.
    rng : numpy.random.Generator
    rates : DamageRates, optional

    Returns
    -------
    Damage
        The damaged frame, the lines loading must accept, and the expected report.
    """
    rates = rates or DamageRates()
    missing = [c for c in CANONICAL_COLUMNS if c not in lines.columns]
    if missing:
        raise InputError("claim lines lack columns", column=", ".join(missing))
    repeated = lines.duplicated(["claim_id", "line_number"])
    if repeated.any():
        row = first_bad_row(repeated)
        raise InputError(
            "lines to damage must have unique (claim_id, line_number); expected counts "
            "would be ambiguous",
            row=row + 1,
            column="claim_id, line_number",
            value=f"{lines['claim_id'].iloc[row]}, {lines['line_number'].iloc[row]}",
        )
    n = len(lines)
    base = lines.loc[:, list(CANONICAL_COLUMNS)].reset_index(drop=True)
    facility = ~base["place_of_service"].eq("11").fillna(False).to_numpy()
    kinds = [k for k in REPAIR_KINDS + QUARANTINE_REASONS if k != "duplicate_line"]
    n_dup = int(round(rates.duplicate_line * n))
    # Assign disjoint rows: POS damage needs facility lines, NPI damage needs an NPI,
    # amount damage needs an amount; then the rest; duplicates copy undamaged lines.
    # The rate of a kind that needs a field applies to the lines that have it.
    order = rng.permutation(n)
    assigned = np.full(n, "", dtype=object)
    needs = {
        "pos_zero_padded": facility,
        "npi_scientific": base["rendering_npi"].notna().to_numpy(),
        "invalid_npi_check_digit": base["rendering_npi"].notna().to_numpy(),
        "negative_amount": (base["allowed_usd"].fillna(0) > 0).to_numpy(),
        "amount_currency_format": base["allowed_usd"].notna().to_numpy(),
    }
    n_kind = {
        k: int(round(getattr(rates, k) * (int(needs[k].sum()) if k in needs else n)))
        for k in kinds
    }
    for kind in sorted(kinds, key=lambda k: k not in needs):
        # A fresh order per kind: with one shared order, the rows an earlier kind
        # skipped for lacking a field would be the first a later kind takes.
        order_k = rng.permutation(n)
        ok = needs.get(kind, np.ones(n, dtype=bool))[order_k] & (assigned[order_k] == "")
        chosen = order_k[ok][: n_kind[kind]]
        if len(chosen) < n_kind[kind]:
            raise InputError(f"too few eligible lines for {n_kind[kind]} '{kind}'", value=n)
        assigned[chosen] = kind
    free = order[assigned[order] == ""]
    dup_source = np.sort(free[:n_dup])

    text = _text(base)
    clean = base.copy()
    pick = {k: np.flatnonzero(assigned == k) for k in kinds}

    def rewrite(kind: str, column: str, *forms: Callable[[str], str]) -> None:
        """Replace the text ``v`` of ``kind``'s rows by one of ``forms(v)``, at random."""
        rows = pick[kind]
        choice = rng.integers(0, len(forms), len(rows))
        text.loc[rows, column] = [
            forms[c](v) for c, v in zip(choice, text.loc[rows, column], strict=True)
        ]

    # Repairable damage.
    rewrite("numeric_suffix_dropped", "cpt_code", lambda v: f"{v}.0")
    rewrite("whitespace_stripped", "cpt_code",
            lambda v: f" {v}", lambda v: f"{v} ", lambda v: f"  {v}  ")  # fmt: skip
    text.loc[pick["upper_cased"], "payer"] = text.loc[pick["upper_cased"], "payer"].str.lower()
    clean.loc[pick["pos_zero_padded"], "place_of_service"] = "02"
    text.loc[pick["pos_zero_padded"], "place_of_service"] = "2"
    rewrite("npi_scientific", "rendering_npi", lambda v: f"{v[0]}.{v[1:]}E+09")
    rows = pick["amount_currency_format"]
    text.loc[rows, "allowed_usd"] = [f"${x:,.2f}" for x in base.loc[rows, "allowed_usd"]]
    rows = pick["date_us_format"]
    text.loc[rows, "service_date"] = base.loc[rows, "service_date"].dt.strftime("%m/%d/%Y")
    # Damage to quarantine.
    for row, col in zip(
        pick["missing_required"],
        rng.choice(["patient_id", "payer", "practice_id"], len(pick["missing_required"])),
        strict=True,
    ):
        text.loc[row, col] = ""
    rewrite("invalid_cpt", "cpt_code",
            lambda v: f"{v}0", lambda v: f"{v[:2]} {v[2:]}", lambda v: f"{v[0]}-{v[1:]}")
    bad_dates = ("2024-02-30", "13/45/2024", "2024-00-10", "not recorded")
    rewrite("bad_date", "service_date", *(lambda v, d=d: d for d in bad_dates))
    text.loc[pick["units_not_positive"], "units"] = "0"
    rewrite("negative_amount", "allowed_usd", lambda v: f"-{v}")  # fmt: skip
    rows = pick["invalid_npi_check_digit"]
    shift = rng.integers(1, 10, len(rows))  # any other last digit fails the check
    text.loc[rows, "rendering_npi"] = [
        v[:9] + str((int(v[9]) + k) % 10)
        for v, k in zip(text.loc[rows, "rendering_npi"], shift, strict=True)
    ]

    # File order: each duplicate right after its original.
    repeat = np.ones(n, dtype=int)
    repeat[dup_source] = 2
    file_index = np.repeat(np.arange(n), repeat)
    is_dup = np.zeros(len(file_index), dtype=bool)
    is_dup[np.flatnonzero(np.diff(file_index) == 0) + 1] = True
    frame = text.iloc[file_index].reset_index(drop=True)
    damage_of_row = np.where(is_dup, "duplicate_line", assigned[file_index])
    quarantined = np.isin(damage_of_row, QUARANTINE_REASONS)
    rows = pd.DataFrame({
        "row": np.arange(1, len(file_index) + 1),
        "source_index": file_index,
        "damage": damage_of_row.astype(str),
        "quarantined": quarantined,
    })  # fmt: skip

    # Dollars in whole cents, as read from the file (a negated amount with its sign).
    def cents(column: str) -> np.ndarray:
        values = np.nan_to_num(base[column].to_numpy(float))[file_index]
        if column == "allowed_usd":
            values = np.where(damage_of_row == "negative_amount", -values, values)
        return np.rint(values * 100).astype(np.int64)

    keep = ~np.isin(assigned, QUARANTINE_REASONS)
    expected = {
        "rows_read": len(file_index),
        "rows_accepted": int((~quarantined).sum()),
        "rows_quarantined": int(quarantined.sum()),
        "quarantined": {r: int((damage_of_row == r).sum()) for r in QUARANTINE_REASONS},
        "repairs": {
            **({"bom": 1} if rates.bom else {}),
            **({"crlf": 1} if rates.crlf else {}),
            **{k: len(pick[k]) for k in REPAIR_KINDS},
        },
    }
    for column in ("allowed_usd", "paid_usd"):
        c = cents(column)
        expected[column] = {
            "read_cents": int(c.sum()),
            "accepted_cents": int(c[~quarantined].sum()),
            "quarantined_cents": int(c[quarantined].sum()),
        }
    return Damage(
        frame=frame,
        clean=clean.loc[keep].reset_index(drop=True),
        expected=expected,
        rows=rows,
        rates=rates,
    )

