"""CT/MR encounters and the linking of 3D rendering lines to them.

From validated claim lines (the canonical schema of ``analysis.claims``), :func:`link`
builds the CT/MR *encounters* of each practice and links every 3D rendering line
(CPT 76376/76377) to one of them, marking oncology and medically indicated
encounters, separate-date renders, orphan 3D lines and non-compliant 3D lines.

Definitions
-----------
- **CT/MR base line**: a line whose CPT is in the CT/MR base-study set of
  :func:`analysis.codes.ct_mr_codes` (CMS diagnostic imaging family 88, CT and MR,
  CTA/MRA included; ``ct_mr_include``/``ct_mr_exclude`` change the set).
- **3D line**: CPT 76376 or 76377, global, -26 or -TC.
- **Encounter**: one (``practice_id``, ``patient_id``, ``service_date``) with at least
  one CT/MR base line. Its ``payer`` is the most frequent payer of its CT/MR lines;
  a tie goes to the payer of the first of the tied lines in (``claim_id``,
  ``line_number``) order, so the choice never depends on the order of the input rows.
- **Linking**: a 3D line belongs to the latest encounter of the same practice and
  patient on or before its date, at most ``link_window_days`` days earlier (default
  :data:`analysis.defaults.LINK_WINDOW_DAYS`, 7; CPT Assistant, Oct 2019: 76376/76377
  may be reported on a date separate from the base study). A 3D line with no such
  encounter is an **orphan**; a linked 3D line dated after its encounter is a
  **separate-date render**.
- **Oncology encounter**: any diagnosis on its CT/MR lines or on its linked 3D lines
  in the oncology ICD-10-CM set (default ``"oncology"``: C00-C96, an assumption; see
  ``data/reference/icd10_oncology.csv``). **Indicated encounter**: the same with the
  medical-necessity set (default ``"indications"``). An orphan 3D line uses its own
  diagnoses.
- **Non-compliant 3D line**, two rules, the first that applies is the reason:

  1. ``"do_not_report_with:<code>"`` — a line of the same practice, patient and
     service date carries a code on that 3D code's "do not report in conjunction
     with" list (CPT parentheticals quoted in the ACR letter to BCBS NC, ranges
     expanded; :func:`analysis.codes.do_not_report_with`). ``<code>`` is the smallest
     such code. The rule compares dates, not encounters: a 3D line rendered days
     after a CTA is not caught by it.
  2. ``"both_3d_codes"`` — 76376 and 76377 both on one encounter (both linked to
     it; for orphans, both on the same practice, patient and date). The two codes
     are mutually exclusive and each is on the other's list; the claim is
     corrected by dropping the lesser service, so only the **76376** line(s) are
     marked, the 76377 line(s) stay compliant (unless rule 1 applies to them).
     Rule 1 therefore ignores the 3D codes on each other's lists: the pair is
     judged by rule 2 alone, which also covers a 76376 rendered on a later date
     than a 76377 of the same encounter.

  Non-compliant lines are still 3D lines: they count in ``has_3d`` and in the
  utilization rates (the LCD screen counts what is submitted).

Only CT/MR base lines, 3D lines and lines with a code on either "do not report with"
list matter here; the other lines are ignored and counted in
:attr:`Linked.n_other_lines`, so every input line is accounted for.

Pricing reads no file here: :func:`link` prices with the
:class:`~analysis.pricing.FeeSchedule` it is given, by default the bundled 2025 one
(:func:`analysis.pricing.bundled_schedule`).

Scale: everything is vectorized (sorting and binary search over an integer key of
practice, patient and day), and all of it happens within a practice, so a frame
holding *complete practices* can be linked partition by partition (see
:func:`analysis.summary.summarize_partitions`); memory is bounded by the largest
partition.

Columns
-------
``Linked.encounters`` — one row per encounter:

=======================  ==========  ===========================================================
column                   dtype       meaning
=======================  ==========  ===========================================================
encounter_id             int64       0..n-1, unique within one :class:`Linked`
practice_id              string      practice (billing group / TIN)
patient_id               string      pseudonymous patient key
service_date             datetime64  date of the CT/MR base lines
payer                    string      most frequent payer of its CT/MR lines (ties: first line)
ct_mr_lines              int64       number of CT/MR base lines
ct_mr_units              int64       sum of their units
angiography_lines        int64       how many of them are CTA/MRA
is_oncology              bool        any diagnosis (CT/MR or linked 3D lines) in the oncology set
is_indicated             bool        same, medical-necessity (indications) set
has_3d                   bool        >= 1 linked 3D line, compliant or not
has_3d_76376             bool        >= 1 linked 76376 line
has_3d_76377             bool        >= 1 linked 76377 line
n_3d_lines               int64       number of linked 3D lines
units_3d_76376           int64       units of linked 76376 lines
units_3d_76377           int64       units of linked 76377 lines
noncompliant_3d_lines    int64       linked 3D lines that are non-compliant
=======================  ==========  ===========================================================

``Linked.lines_3d`` — one row per 3D line, in input order:

=======================  ==========  ===========================================================
column                   dtype       meaning
=======================  ==========  ===========================================================
claim_id, line_number    string/int  the line's key
practice_id, patient_id  string
service_date             datetime64  the 3D line's own date
cpt_code                 string      "76376" or "76377"
component                string      "global" | "26" | "TC" (``pricing.component_from_modifiers``)
setting                  string      "facility" | "non_facility" (``pricing.setting_from_pos``)
units                    int64
payer                    string      the 3D line's own payer
state                    string      practice state; missing -> ``default_state`` ("NC")
allowed_usd, paid_usd    float64     observed, NaN where missing
diagnosis_codes          string
encounter_id             Int64       linked encounter, <NA> for orphans
encounter_date           datetime64  its date, NaT for orphans
days_after_base          Int64       service_date - encounter_date in days, <NA> for orphans
is_orphan                bool        no encounter within the window
is_separate_date         bool        linked and days_after_base > 0
is_noncompliant          bool        rule 1 or rule 2 above
noncompliant_reason      string      "" | "do_not_report_with:<code>" | "both_3d_codes"
is_oncology              bool        the encounter's flag; an orphan's own diagnoses
is_indicated             bool        same, indications set
rev_group                string      "onc" (oncology) | "ind" (non-oncology, indicated) | "oth"
medicare_usd             float64     Medicare PFS price at the line's component, setting, state
                                     and date times units (``pricing.price``; NaN if not payable)
=======================  ==========  ===========================================================

References
----------
AMA, CPT Assistant, October 2019 (3D rendering on a date separate from the base study).
American College of Radiology, letter to BCBS NC, "3D Radiology Services - Bundling
Guidelines" (2024): the "do not report in conjunction with" lists.
Novitas Solutions, LCD L35408 "3D Interpretation and Reporting of Imaging Studies"
(effective 2015-10-01, retired 2023-09-28): cancer-evaluation exception.

Examples
--------
>>> lines = pd.DataFrame({
...     "claim_id": ["a", "a", "b"], "line_number": [1, 2, 1],
...     "practice_id": "P1", "patient_id": "X",
...     "service_date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-04"]),
...     "cpt_code": ["74177", "76377", "76376"], "modifiers": "26", "units": 1,
...     "place_of_service": "22", "payer": "BCBSNC", "diagnosis_codes": "C78.01",
...     "allowed_usd": [90.0, 40.0, float("nan")], "paid_usd": float("nan"), "state": "NC",
... })
>>> linked = link(lines)
>>> l3 = linked.lines_3d
>>> l3["days_after_base"].tolist(), l3["noncompliant_reason"].tolist()
([0, 3], ['', 'both_3d_codes'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import codes, schema
from analysis.defaults import DEFAULT_STATE, LINK_WINDOW_DAYS
from analysis.errors import InputError, first_bad_row
from analysis.pricing import (
    FeeSchedule,
    bundled_schedule,
    component_from_modifiers,
    price,
    setting_from_pos,
)

__all__ = ["OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "LinkSettings", "Linked", "link"]

REQUIRED_COLUMNS: tuple[str, ...] = schema.REQUIRED_COLUMNS
"""Columns :func:`link` needs: the required columns of the canonical claims schema
(:data:`analysis.schema.REQUIRED_COLUMNS`), which every validated line fills."""

OPTIONAL_COLUMNS: dict[str, str] = {
    c: schema.CANONICAL_DTYPES[c]
    for c in ("modifiers", "place_of_service", "diagnosis_codes", "allowed_usd", "paid_usd",
              "state")
}  # fmt: skip
"""Optional canonical columns :func:`link` reads, with their schema dtypes; filled with
missing values when absent."""

_DEFAULT_STATE = DEFAULT_STATE
"""State that prices 3D lines without one (:data:`analysis.defaults.DEFAULT_STATE`)."""

_REASON_BOTH = "both_3d_codes"
_REASON_DNR = "do_not_report_with:"


def _as_ranges(value: str | Iterable[Iterable[str]], name: str):
    if isinstance(value, str):
        codes.icd10_ranges(value)  # raises InputError for an unknown set name
        return value
    try:
        ranges = tuple((str(a), str(b)) for a, b in value)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"{name} must be a named ICD-10 set or (first, last) pairs", value=value
        ) from err
    if not ranges:
        raise InputError(f"{name} must not be empty", value=value)
    return ranges


@dataclass(frozen=True)
class LinkSettings:
    """Settings of :func:`link`, validated and serializable to a run manifest.

    Parameters
    ----------
    link_window_days : int, default :data:`analysis.defaults.LINK_WINDOW_DAYS` (7)
        How many days a 3D line may follow its base study and still link to it
        [assumption; CPT Assistant Oct 2019 allows a later date without a limit].
    oncology, indications : str or sequence of (first, last)
        ICD-10-CM sets (names of :func:`analysis.codes.icd10_ranges` or prefix ranges).
    ct_mr_include, ct_mr_exclude : tuple of str
        Changes to the CT/MR base-study set (:func:`analysis.codes.ct_mr_codes`).
    default_state : str, default "NC"
        State used to price 3D lines whose ``state`` is missing [assumption: the
        bundled analysis is of North Carolina practices]; ``"US"`` prices nationally.
    medicare_prices : bool, default True
        Price 3D lines from the Medicare PFS (``medicare_usd``). False leaves
        ``medicare_usd`` missing, e.g. for a utilization screen of years outside the
        conversion factors the fee schedule knows.
    """

    link_window_days: int = LINK_WINDOW_DAYS
    oncology: str | tuple[tuple[str, str], ...] = "oncology"
    indications: str | tuple[tuple[str, str], ...] = "indications"
    ct_mr_include: tuple[str, ...] = ()
    ct_mr_exclude: tuple[str, ...] = ()
    default_state: str = _DEFAULT_STATE
    medicare_prices: bool = True

    def __post_init__(self) -> None:
        window = self.link_window_days
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 0:
            raise InputError(
                "link_window_days must be a whole number of days >= 0",
                column="link_window_days",
                value=window,
            )
        object.__setattr__(self, "link_window_days", int(window))
        object.__setattr__(self, "oncology", _as_ranges(self.oncology, "oncology"))
        object.__setattr__(self, "indications", _as_ranges(self.indications, "indications"))
        include = tuple(str(c) for c in self.ct_mr_include)
        exclude = tuple(str(c) for c in self.ct_mr_exclude)
        codes.ct_mr_codes(include=include, exclude=exclude)  # validates the codes
        object.__setattr__(self, "ct_mr_include", include)
        object.__setattr__(self, "ct_mr_exclude", exclude)
        state = str(self.default_state).strip().upper()
        if len(state) != 2 or not state.isalpha():
            raise InputError(
                "default_state must be a 2-letter state code (or 'US' for national)",
                column="default_state",
                value=self.default_state,
            )
        object.__setattr__(self, "default_state", state)

    def to_dict(self) -> dict:
        """Plain, JSON-serializable settings."""

        def plain(v):
            return v if isinstance(v, str) else [list(p) for p in v]

        return {
            "link_window_days": self.link_window_days,
            "oncology": plain(self.oncology),
            "indications": plain(self.indications),
            "ct_mr_include": list(self.ct_mr_include),
            "ct_mr_exclude": list(self.ct_mr_exclude),
            "default_state": self.default_state,
            "medicare_prices": self.medicare_prices,
        }


@dataclass(frozen=True, eq=False)
class Linked:
    """Encounters and linked 3D lines (columns documented in the module docstring).

    Attributes
    ----------
    encounters, lines_3d : DataFrame
    settings : LinkSettings
    n_lines : int
        Input lines.
    n_ct_mr_lines, n_3d_lines, n_do_not_report_lines, n_other_lines : int
        Input lines by role, which add up to ``n_lines``: CT/MR base lines, 3D lines,
        lines (not CT/MR, not 3D) with a code on a "do not report with" list, and the
        rest (ignored).
    """

    encounters: pd.DataFrame
    lines_3d: pd.DataFrame
    settings: LinkSettings = field(default_factory=LinkSettings)
    n_lines: int = 0
    n_ct_mr_lines: int = 0
    n_3d_lines: int = 0
    n_do_not_report_lines: int = 0
    n_other_lines: int = 0

    @property
    def summary(self) -> pd.DataFrame:
        """Key counts as a two-column table (``measure``, ``value``)."""
        enc, l3 = self.encounters, self.lines_3d
        rows = [
            ("input lines", self.n_lines),
            ("CT/MR base lines", self.n_ct_mr_lines),
            ("3D lines (76376/76377)", self.n_3d_lines),
            ("other lines on a 'do not report with' list", self.n_do_not_report_lines),
            ("lines not relevant (ignored)", self.n_other_lines),
            ("CT/MR encounters", len(enc)),
            ("encounters with 3D", int(enc["has_3d"].sum())),
            ("oncology encounters", int(enc["is_oncology"].sum())),
            ("orphan 3D lines", int(l3["is_orphan"].sum())),
            ("separate-date 3D lines", int(l3["is_separate_date"].sum())),
            ("non-compliant 3D lines", int(l3["is_noncompliant"].sum())),
            ("link window (days)", self.settings.link_window_days),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"])

    def _repr_html_(self) -> str:
        title = "<p><b>CT/MR encounters and linked 3D lines</b></p>"
        note = (
            "<p>A 3D line links to the latest CT/MR encounter of the same practice and "
            f"patient on or before its date, within {self.settings.link_window_days} days; "
            "otherwise it is an orphan.</p>"
        )
        return title + self.summary.to_html(index=False) + note


# ----------------------------------------------------------------------- helpers


def _check_columns(lines: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in lines.columns]
    if missing:
        raise InputError(
            "claim lines lack required columns; load them with analysis.claims",
            column=", ".join(missing),
        )
    if not pd.api.types.is_datetime64_any_dtype(lines["service_date"]):
        raise InputError(
            "service_date must be a datetime column (validated claim lines)",
            column="service_date",
            value=str(lines["service_date"].dtype),
        )
    for col in ("practice_id", "patient_id", "service_date", "cpt_code", "units", "payer"):
        bad = lines[col].isna().to_numpy()
        if bad.any():
            pos = first_bad_row(bad)
            raise InputError(
                f"required value is missing in the claim line at position {pos} of the "
                f"frame ({int(bad.sum())} such lines); validate the claims first",
                column=col,
                value="<missing>",
            )
    extra = {c: pd.Series(np.nan if t == "float64" else pd.NA, index=lines.index, dtype=t)
             for c, t in OPTIONAL_COLUMNS.items() if c not in lines.columns}  # fmt: skip
    return lines.assign(**extra) if extra else lines


def _map_unique(values: pd.Series, fn) -> np.ndarray:
    idx, uniques = pd.factorize(values, use_na_sentinel=False)
    mapped = np.asarray(fn(pd.Series(uniques, dtype="string")).to_numpy(dtype=object))
    return mapped[idx]


def _days(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy().astype("datetime64[D]").astype(np.int64)


def _smallest_listed_code(keys: np.ndarray, rank: np.ndarray, query: np.ndarray) -> np.ndarray:
    """For each query key, the smallest code rank among the lines with that key, or -1."""
    out = np.full(len(query), -1, dtype=np.int64)
    if len(keys) == 0 or len(query) == 0:
        return out
    order = np.lexsort((rank, keys))
    k_sorted, r_sorted = keys[order], rank[order]
    first = np.r_[True, k_sorted[1:] != k_sorted[:-1]]  # smallest rank first in each key
    uk, ur = k_sorted[first], r_sorted[first]
    pos = np.minimum(np.searchsorted(uk, query), len(uk) - 1)
    hit = uk[pos] == query
    out[hit] = ur[pos[hit]]
    return out


def _modal_payer(enc_idx: np.ndarray, payer_code: np.ndarray, claim_key, n_enc: int) -> np.ndarray:
    """Per encounter, the most frequent payer code; ties to the first line by claim key.

    ``claim_key(mask)`` returns the ``claim_id`` and ``line_number`` arrays of the
    selected CT/MR lines; it is only called for encounters with several payers.
    """
    lo = np.full(n_enc, np.iinfo(np.int64).max)
    hi = np.full(n_enc, -1)
    np.minimum.at(lo, enc_idx, payer_code)
    np.maximum.at(hi, enc_idx, payer_code)
    result = lo.copy()
    mixed = lo != hi
    if mixed.any():
        sel = mixed[enc_idx]
        claim_id, line_number = claim_key(sel)
        best = (
            pd.DataFrame(
                {
                    "enc": enc_idx[sel],
                    "payer": payer_code[sel],
                    "claim_id": claim_id,
                    "line_number": line_number,
                }
            )
            .sort_values(["enc", "claim_id", "line_number"], kind="stable")
            .assign(pos=lambda d: np.arange(len(d)))
            .groupby(["enc", "payer"], sort=False)
            .agg(n=("pos", "size"), first=("pos", "min"))
            .reset_index()
            .sort_values(["enc", "n", "first"], ascending=[True, False, True])
            .drop_duplicates("enc")
        )
        result[best["enc"].to_numpy()] = best["payer"].to_numpy()
    return result


def _price(lines_3d: pd.DataFrame, fee_schedule: FeeSchedule) -> np.ndarray:
    """Medicare price x units, priced once per distinct (code, component, setting, state, date)."""
    keys = ["cpt_code", "component", "setting", "state", "service_date"]
    keys += [c for c in ("mac", "locality") if c in lines_3d.columns]
    if len(lines_3d) == 0:
        return np.zeros(0)
    combos = lines_3d[keys].drop_duplicates().reset_index(drop=True)
    priced = price(combos, fee_schedule.rvu, fee_schedule.gpci)
    combos = combos.assign(unit_usd=priced["medicare_usd"].to_numpy(dtype=float))
    unit = lines_3d[keys].merge(combos, on=keys, how="left", validate="many_to_one")
    return unit["unit_usd"].to_numpy(dtype=float) * lines_3d["units"].to_numpy(dtype=float)


# -------------------------------------------------------------------------- link


def link(
    lines: pd.DataFrame,
    *,
    link_window_days: int = LINK_WINDOW_DAYS,
    oncology: str | Iterable[tuple[str, str]] = "oncology",
    indications: str | Iterable[tuple[str, str]] = "indications",
    ct_mr_include: Iterable[str] = (),
    ct_mr_exclude: Iterable[str] = (),
    default_state: str = _DEFAULT_STATE,
    medicare_prices: bool = True,
    fee_schedule: FeeSchedule | None = None,
) -> Linked:
    """Build CT/MR encounters and link 3D lines to them.

    Parameters
    ----------
    lines : DataFrame
        Validated canonical claim lines (``analysis.claims.load_claims(...).lines``):
        ``service_date`` datetime64, ``units`` int, ``allowed_usd``/``paid_usd``
        float with NaN for missing. The frame must hold all lines of each practice
        it contains (linking never crosses practices).
    link_window_days, oncology, indications, ct_mr_include, ct_mr_exclude, default_state,
    medicare_prices
        See :class:`LinkSettings`.
    fee_schedule : FeeSchedule, optional
        The relative values and GPCIs that price the 3D lines
        (:func:`analysis.pricing.price`); default: the bundled 2025 files,
        :func:`analysis.pricing.bundled_schedule`. Not read when ``medicare_prices`` is
        false.

    Returns
    -------
    Linked
        ``encounters`` and ``lines_3d`` (columns in the module docstring), the
        settings, and the count of input lines by role.

    Raises
    ------
    InputError
        A required column is missing or holds a missing value; a bad setting.
    """
    settings = LinkSettings(
        link_window_days=link_window_days,
        oncology=oncology if isinstance(oncology, str) else tuple(oncology),
        indications=indications if isinstance(indications, str) else tuple(indications),
        ct_mr_include=tuple(ct_mr_include),
        ct_mr_exclude=tuple(ct_mr_exclude),
        default_state=default_state,
        medicare_prices=bool(medicare_prices),
    )
    lines = _check_columns(lines)

    # --- roles of the lines, computed on the distinct codes
    code_idx, code_uniques = pd.factorize(lines["cpt_code"].astype("string"))
    uniq = pd.Series(code_uniques, dtype="string")
    ct_set = set(
        codes.ct_mr_codes(include=settings.ct_mr_include, exclude=settings.ct_mr_exclude)[
            "cpt_code"
        ]
    )
    u_is3d = uniq.isin(codes.CODES_3D).to_numpy(dtype=bool)
    u_ctmr = uniq.isin(ct_set).to_numpy(dtype=bool) & ~u_is3d
    u_angio = codes.is_angiography(uniq).to_numpy(dtype=bool)
    # The 3D codes on each other's lists are judged by the "both_3d_codes" rule.
    u_dnr76 = uniq.isin(codes.do_not_report_with("76376")).to_numpy(dtype=bool) & ~u_is3d
    u_dnr77 = uniq.isin(codes.do_not_report_with("76377")).to_numpy(dtype=bool) & ~u_is3d
    u_rank = np.argsort(np.argsort(uniq.to_numpy(dtype=object), kind="stable"), kind="stable")
    relevant = (u_is3d | u_ctmr | u_dnr76 | u_dnr77)[code_idx]
    rel = np.flatnonzero(relevant)  # positions in `lines` of the lines that matter
    cidx = code_idx[rel]
    s3d, sct, s76, s77 = u_is3d[cidx], u_ctmr[cidx], u_dnr76[cidx], u_dnr77[cidx]
    n_3d, n_ctmr = int(s3d.sum()), int(sct.sum())
    n_dnr_only = int(((s76 | s77) & ~sct).sum())

    def column(name: str, rows: np.ndarray) -> pd.Series:
        return lines[name].iloc[rows].reset_index(drop=True)

    # --- one integer key per (practice, patient, day): sort/search instead of joins
    pc_all, p_uniques = pd.factorize(lines["practice_id"])
    pt_all, t_uniques = pd.factorize(lines["patient_id"])
    pc, pt = pc_all[rel].astype(np.int64), pt_all[rel].astype(np.int64)
    del pc_all, pt_all
    g = pc * max(len(t_uniques), 1) + pt
    day = _days(lines["service_date"])[rel]
    d0 = int(day.min()) if len(day) else 0
    span = (int(day.max()) - d0 + 1) if len(day) else 1
    key = g * span + (day - d0)
    units = lines["units"].to_numpy(dtype=np.int64)[rel]
    payer_all, payer_uniques = pd.factorize(lines["payer"])
    payer_code = payer_all[rel]
    dx_all, dx_uniques = pd.factorize(lines["diagnosis_codes"], use_na_sentinel=True)
    dx_idx = dx_all[rel]
    del payer_all, dx_all
    dx_u = pd.Series(dx_uniques, dtype="string")
    dx_onc = np.append(codes.in_icd10_set(dx_u, settings.oncology).to_numpy(bool), False)[dx_idx]
    dx_ind = np.append(codes.in_icd10_set(dx_u, settings.indications).to_numpy(bool), False)[dx_idx]

    # --- encounters
    ct_rows = np.flatnonzero(sct)
    enc_keys, first_row, enc_idx = np.unique(key[ct_rows], return_index=True, return_inverse=True)
    enc_idx = enc_idx.reshape(-1)
    n_enc = len(enc_keys)

    def per_enc(values, index=None) -> np.ndarray:
        index = enc_idx if index is None else index
        return np.bincount(index, weights=np.asarray(values, dtype=float), minlength=n_enc)

    def claim_key(mask: np.ndarray):
        rows = rel[ct_rows[mask]]
        return (
            column("claim_id", rows).astype("string").to_numpy(dtype=object),
            lines["line_number"].to_numpy(dtype=np.int64)[rows],
        )

    enc_onc = per_enc(dx_onc[ct_rows]) > 0
    enc_ind = per_enc(dx_ind[ct_rows]) > 0

    # --- 3D lines: link by binary search on the sorted encounter keys
    rows3 = np.flatnonzero(s3d)
    key3, g3, day3 = key[rows3], g[rows3], day[rows3]
    is76 = np.asarray(uniq.to_numpy(dtype=object)[cidx[rows3]] == "76376", dtype=bool)
    is77 = ~is76
    pos = np.searchsorted(enc_keys, key3, side="right") - 1
    pos_c = np.maximum(pos, 0)
    if n_enc:
        enc_day, enc_g = enc_keys[pos_c] % span + d0, enc_keys[pos_c] // span
        linked = (pos >= 0) & (enc_g == g3) & (day3 - enc_day <= settings.link_window_days)
    else:
        enc_day, linked = np.zeros(len(rows3), np.int64), np.zeros(len(rows3), dtype=bool)
    link_idx = np.where(linked, pos_c, -1)
    days_after = np.where(linked, day3 - enc_day, 0)

    # --- rule 1: a listed code on the same practice, patient and day
    reason = np.full(len(rows3), "", dtype=object)
    by_rank = np.empty(len(u_rank), dtype=object)
    by_rank[u_rank] = uniq.to_numpy(dtype=object)
    for mine, on_list in ((is76, s76), (is77, s77)):
        smallest = _smallest_listed_code(key[on_list], u_rank[cidx[on_list]], key3[mine])
        hit = smallest >= 0
        reason[np.flatnonzero(mine)[hit]] = [_REASON_DNR + c for c in by_rank[smallest[hit]]]

    # --- rule 2: 76376 and 76377 on one encounter (orphans: on one practice/patient/day)
    orphan_group = np.unique(key3[~linked], return_inverse=True)[1].reshape(-1)
    group = link_idx.copy()
    group[~linked] = n_enc + orphan_group
    n_groups = n_enc + (int(orphan_group.max()) + 1 if len(orphan_group) else 0)
    g76 = np.bincount(group, weights=is76.astype(float), minlength=n_groups) > 0
    g77 = np.bincount(group, weights=is77.astype(float), minlength=n_groups) > 0
    both = is76 & (g76 & g77)[group] if len(group) else np.zeros(0, dtype=bool)
    reason[both & (reason == "")] = _REASON_BOTH
    noncompliant = reason != ""

    # --- flags of encounters from their linked 3D lines
    li = link_idx[linked]
    onc3, ind3 = dx_onc[rows3], dx_ind[rows3]
    enc_onc |= per_enc(onc3[linked], li) > 0
    enc_ind |= per_enc(ind3[linked], li) > 0
    units3 = units[rows3]
    safe = np.maximum(link_idx, 0)
    line_onc = np.where(linked, enc_onc[safe] if n_enc else False, onc3)
    line_ind = np.where(linked, enc_ind[safe] if n_enc else False, ind3)

    first_ct = ct_rows[first_row]
    ones = np.ones(len(li))
    encounters = pd.DataFrame(
        {
            "encounter_id": np.arange(n_enc, dtype=np.int64),
            "practice_id": pd.array(p_uniques.take(pc[first_ct]), dtype="string"),
            "patient_id": pd.array(t_uniques.take(pt[first_ct]), dtype="string"),
            "service_date": column("service_date", rel[first_ct]),
            "payer": pd.array(
                payer_uniques.take(_modal_payer(enc_idx, payer_code[ct_rows], claim_key, n_enc)),
                dtype="string",
            ),
            "ct_mr_lines": np.bincount(enc_idx, minlength=n_enc).astype(np.int64),
            "ct_mr_units": np.rint(per_enc(units[ct_rows])).astype(np.int64),
            "angiography_lines": np.rint(per_enc(u_angio[cidx[ct_rows]])).astype(np.int64),
            "is_oncology": enc_onc,
            "is_indicated": enc_ind,
            "has_3d": per_enc(ones, li) > 0,
            "has_3d_76376": per_enc(is76[linked], li) > 0,
            "has_3d_76377": per_enc(is77[linked], li) > 0,
            "n_3d_lines": np.rint(per_enc(ones, li)).astype(np.int64),
            "units_3d_76376": np.rint(per_enc(np.where(is76, units3, 0)[linked], li)).astype(
                np.int64
            ),
            "units_3d_76377": np.rint(per_enc(np.where(is77, units3, 0)[linked], li)).astype(
                np.int64
            ),
            "noncompliant_3d_lines": np.rint(per_enc(noncompliant[linked], li)).astype(np.int64),
        }
    )

    # --- the 3D line table
    l3 = lines.iloc[rel[rows3]].reset_index(drop=True)
    state = l3["state"].astype("string").str.strip().str.upper()
    state = state.mask(state.isna() | state.eq(""), settings.default_state)
    enc_dates = encounters["service_date"].to_numpy()
    nat = np.array("NaT", dtype=enc_dates.dtype)
    encounter_date = np.where(linked, enc_dates[pos_c] if n_enc else nat, nat)
    rev_group = np.where(line_onc, "onc", np.where(line_ind, "ind", "oth"))
    lines_3d = pd.DataFrame(
        {
            "claim_id": l3["claim_id"].astype("string"),
            "line_number": l3["line_number"].to_numpy(dtype=np.int64),
            "practice_id": l3["practice_id"].astype("string"),
            "patient_id": l3["patient_id"].astype("string"),
            "service_date": l3["service_date"],
            "cpt_code": pd.array(np.where(is76, "76376", "76377"), dtype="string"),
            "component": pd.array(
                _map_unique(l3["modifiers"], component_from_modifiers), dtype="string"
            ),
            "setting": pd.array(
                _map_unique(l3["place_of_service"], setting_from_pos), dtype="string"
            ),
            "units": units3,
            "payer": l3["payer"].astype("string"),
            "state": state,
            "allowed_usd": l3["allowed_usd"].to_numpy(dtype=float, na_value=np.nan),
            "paid_usd": l3["paid_usd"].to_numpy(dtype=float, na_value=np.nan),
            "diagnosis_codes": l3["diagnosis_codes"].astype("string"),
            "encounter_id": pd.array(np.where(linked, link_idx, 0), dtype="Int64"),
            "encounter_date": encounter_date,
            "days_after_base": pd.array(days_after, dtype="Int64"),
            "is_orphan": ~linked,
            "is_separate_date": linked & (days_after > 0),
            "is_noncompliant": noncompliant,
            "noncompliant_reason": pd.array(reason, dtype="string"),
            "is_oncology": line_onc.astype(bool),
            "is_indicated": line_ind.astype(bool),
            "rev_group": pd.array(rev_group, dtype="string"),
        }
    )
    lines_3d = lines_3d.assign(
        encounter_id=lines_3d["encounter_id"].mask(~linked),
        days_after_base=lines_3d["days_after_base"].mask(~linked),
    )
    # Optional pricing keys (not in the canonical schema) for multi-locality states.
    optional = {c: l3[c].astype("string") for c in ("mac", "locality") if c in l3}
    if settings.medicare_prices:
        schedule = bundled_schedule() if fee_schedule is None else fee_schedule
        medicare = _price(lines_3d.assign(**optional), schedule)
    else:
        medicare = np.full(len(lines_3d), np.nan)
    lines_3d = lines_3d.assign(medicare_usd=medicare)

    return Linked(
        encounters=encounters,
        lines_3d=lines_3d,
        settings=settings,
        n_lines=len(lines),
        n_ct_mr_lines=n_ctmr,
        n_3d_lines=n_3d,
        n_do_not_report_lines=n_dnr_only,
        n_other_lines=len(lines) - n_ctmr - n_3d - n_dnr_only,
    )
