"""Payment policies for 3D rendering (CPT 76376/76377): the world *with* the policy.

A policy says which share of the 3D revenue of each practice x payer a payer still
pays. It acts on the revenue base of the additive practice summary
(:mod:`analysis.summary`), whose compliant 3D lines are split into three groups of
encounters:

- ``onc``: oncology encounters (default ICD-10-CM C00-C96);
- ``ind``: non-oncology encounters with a qualifying indication (the
  medical-necessity set in ``data/reference/icd10_indications.csv``);
- ``oth``: every other encounter.

Non-compliant 3D lines (billed with a code on their "do not report with" list, or
76376 and 76377 on one encounter) are denied in every world, so they are never
revenue and no policy changes them; they are reported separately.

Policies
--------
``status_quo``
    Pays every compliant 3D line (the world without a policy).
``full_bundling``
    BCBS NC (provider news, 2024, "3D Radiology Services - Bundling Guidelines"):
    76376/76377 are "integral to the primary service" and not separately
    reimbursable. Nothing is paid for the bundled codes of the named payers.
``lcd_cap``
    After the retired Novitas LCD L35408 (2015-10-01 to 2023-09-28): per practice
    x payer, the payer pays 3D on at most ``threshold`` x the practice's
    non-oncology CT/MR encounters with that payer; non-oncology 3D encounters beyond
    the cap are unpaid pro rata (every non-oncology 3D encounter is paid the share
    ``min(1, threshold * n_nononc_encounters / (rev_encounters_ind +
    rev_encounters_oth))``); oncology encounters are always paid.
``medical_necessity``
    Pays only encounters with a qualifying indication (``onc`` and ``ind``), not
    ``oth``. The indication set is fixed when the summary is built
    (``analysis.encounters.link(indications=...)``); :attr:`Policy.indications`
    records which set the policy assumes.

Every policy applies to ``payers`` (default ``("BCBSNC",)``; the defaults named here are
those of :mod:`analysis.defaults`) and to the share
``scope_share`` of their business (product scope: BCBS NC's scope was not found, so
the default 1.0 is an assumption [A]); from ``effective_date`` (not found either;
default 2025-01-01 [A]).

References
----------
BCBS NC, provider news (2024), "3D Radiology Services - Bundling Guidelines".
Novitas Solutions, LCD L35408 "3D Interpretation and Reporting of Imaging Studies"
(retired 2023-09-28). Sullivan SD et al., "Budget impact analysis - principles of
good practice: report of the ISPOR 2012 Budget Impact Analysis Good Practice II Task
Force", Value Health 2014;17:5-14.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.codes import CODES_3D
from analysis.defaults import EFFECTIVE_DATE, LCD_BENCHMARK, POLICY_PAYERS
from analysis.errors import InputError

__all__ = [
    "ALTERNATIVES",
    "GROUPS",
    "PER_CODE_COLUMNS",
    "POLICY_KINDS",
    "POLICY_NAMES",
    "Policy",
    "as_date",
    "full_bundling",
    "get_policy",
    "lcd_cap",
    "medical_necessity",
    "paid_share_arrays",
    "paid_shares",
    "policies_from_names",
    "status_quo",
]

#: Revenue groups of the summary: oncology, indicated non-oncology, other.
GROUPS: tuple[str, str, str] = ("onc", "ind", "oth")
POLICY_KINDS: tuple[str, ...] = ("status_quo", "full_bundling", "lcd_cap", "medical_necessity")
#: The name of each kind as a committee reads it, in tables, figures and text (the
#: label table of the reports, :mod:`analysis.report.labels`, takes it from here).
POLICY_NAMES: dict[str, str] = {
    "status_quo": "No change (status quo)",
    "full_bundling": "Full bundling (BCBS NC, 2024)",
    "lcd_cap": "Cap at the LCD benchmark",
    "medical_necessity": "Medical necessity only",
}
#: The policies compared with the status quo.
ALTERNATIVES: tuple[str, ...] = POLICY_KINDS[1:]
#: The summary's per-code 3D dollars and units, which bundling a single code reads.
PER_CODE_COLUMNS: tuple[str, ...] = tuple(
    f"{k}_{c}{u}" for c in CODES_3D for k, u in (("allowed_3d", "_usd"), ("units_3d", ""))
)


def as_date(value: Any, name: str) -> dt.date:
    """A date from a date, datetime, Timestamp or ISO ``YYYY-MM-DD`` text.

    ``name`` is the field reported in the :class:`InputError` when ``value`` is none
    of these.

    >>> as_date("2025-07-01", "effective_date")
    datetime.date(2025, 7, 1)
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError("expected an ISO date YYYY-MM-DD", column=name, value=value) from None


@dataclass(frozen=True)
class Policy:
    """A named, validated, serializable payment policy for 3D rendering.

    Parameters
    ----------
    kind : {"status_quo", "full_bundling", "lcd_cap", "medical_necessity"}
        What the payer pays (see the module docstring).
    name : str, optional
        Label used in tables and plots; defaults to ``kind``.
    payers : tuple of str
        Payer labels (as in the claims' ``payer`` column) the policy applies to.
    codes : tuple of str
        3D codes the policy concerns. Only ``full_bundling`` accepts a single code;
        the summary does not split revenue by code, so the bundled code's share of a
        practice x payer's 3D revenue is taken as its share of the observed 3D
        allowed dollars (or units when no dollars are observed) - exact when both
        codes are bundled (the default).
    effective_date : date
        First day the policy is in force (default 2025-01-01, an assumption [A]).
    scope_share : float in [0, 1]
        Share of the payers' business the policy applies to (product scope; 1.0 is
        an assumption [A]).
    threshold : float in (0, 1]
        ``lcd_cap`` only: the share of non-oncology CT/MR encounters paid with 3D
        (0.20, the retired Novitas LCD L35408 benchmark [V]).
    indications : str
        ``medical_necessity`` only: the name of the ICD-10 indication set the summary
        was built with (``"indications"`` = ``data/reference/icd10_indications.csv``).
    description : str, optional
        One sentence for reports; a default is written from the parameters.
    """

    kind: str
    name: str = ""
    payers: tuple[str, ...] = POLICY_PAYERS
    codes: tuple[str, ...] = CODES_3D
    effective_date: dt.date = EFFECTIVE_DATE
    scope_share: float = 1.0
    threshold: float = LCD_BENCHMARK
    indications: str = "indications"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.kind not in POLICY_KINDS:
            raise InputError(f"unknown policy; choose one of {list(POLICY_KINDS)}", value=self.kind)
        set_ = object.__setattr__
        set_(self, "name", str(self.name or self.kind))
        payers = (self.payers,) if isinstance(self.payers, str) else tuple(self.payers)
        payers = tuple(str(p).strip().upper() for p in payers)
        if self.kind != "status_quo" and (not payers or any(not p for p in payers)):
            raise InputError(
                "a policy needs at least one payer label", column="payers", value=payers
            )
        set_(self, "payers", payers)
        codes = (self.codes,) if isinstance(self.codes, str | int) else tuple(self.codes)
        codes = tuple(sorted({str(c).strip() for c in codes}))
        if not codes or not set(codes) <= set(CODES_3D):
            raise InputError(f"policy codes must be among {CODES_3D}", column="codes", value=codes)
        if self.kind in ("lcd_cap", "medical_necessity") and codes != CODES_3D:
            raise InputError(
                f"{self.kind} applies to both 3D codes {CODES_3D}", column="codes", value=codes
            )
        set_(self, "codes", codes)
        set_(self, "effective_date", as_date(self.effective_date, "effective_date"))
        for name, lo_open in (("scope_share", False), ("threshold", True)):
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError("expected a number", column=name, value=value) from None
            if not (0.0 < value <= 1.0 if lo_open else 0.0 <= value <= 1.0):
                interval = "(0, 1]" if lo_open else "[0, 1]"
                raise InputError(f"must be a share in {interval}", column=name, value=value)
            set_(self, name, value)
        if not self.description:
            set_(self, "description", self._describe())

    def _describe(self) -> str:
        who = ", ".join(self.payers)
        scope = "" if self.scope_share == 1.0 else f" on {self.scope_share:.0%} of their business"
        since = f" from {self.effective_date.isoformat()}"
        if self.kind == "status_quo":
            return "Status quo: every compliant 3D line is paid separately."
        if self.kind == "full_bundling":
            codes = "/".join(self.codes)
            return f"Full bundling: {who} no longer pays {codes} separately{scope}{since}."
        if self.kind == "lcd_cap":
            return (
                f"LCD-style cap: {who} pays 3D on at most {self.threshold:.0%} of each "
                f"practice's non-oncology CT/MR encounters (oncology always paid){scope}{since}."
            )
        return (
            f"Medical necessity: {who} pays 3D only on encounters with a qualifying "
            f"indication (set '{self.indications}', oncology included){scope}{since}."
        )

    def applies_to(self, payers: Iterable[str]) -> np.ndarray:
        """Boolean array: does the policy apply to each payer label?"""
        labels = pd.Series(list(payers), dtype="string").str.strip().str.upper()
        if self.kind == "status_quo":
            return np.zeros(len(labels), dtype=bool)
        return labels.isin(self.payers).to_numpy(dtype=bool)

    def replace(self, **changes: Any) -> Policy:
        """A copy with some fields changed (validated again; description rewritten)."""
        if "description" not in changes:
            changes["description"] = ""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable parameters (dates as ISO strings, tuples as lists)."""
        return {
            "kind": self.kind,
            "name": self.name,
            "payers": list(self.payers),
            "codes": list(self.codes),
            "effective_date": self.effective_date.isoformat(),
            "scope_share": self.scope_share,
            "threshold": self.threshold,
            "indications": self.indications,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InputError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(
                f"unknown policy fields; known: {sorted(known)}", value=sorted(unknown)
            )
        if "kind" not in data:
            raise InputError("a policy needs a 'kind'", column="kind")
        return cls(**dict(data))


def status_quo() -> Policy:
    """Every compliant 3D line is paid (the world without a policy)."""
    return Policy("status_quo", payers=())


def full_bundling(
    *,
    payers: Iterable[str] = POLICY_PAYERS,
    codes: Iterable[str] = CODES_3D,
    effective_date: dt.date | str = EFFECTIVE_DATE,
    scope_share: float = 1.0,
    name: str = "full_bundling",
) -> Policy:
    """BCBS NC's policy: 76376/76377 not separately reimbursable (see :class:`Policy`)."""
    return Policy(
        "full_bundling",
        name=name,
        payers=tuple(payers),
        codes=tuple(codes),
        effective_date=effective_date,
        scope_share=scope_share,
    )


def lcd_cap(
    *,
    threshold: float = LCD_BENCHMARK,
    payers: Iterable[str] = POLICY_PAYERS,
    effective_date: dt.date | str = EFFECTIVE_DATE,
    scope_share: float = 1.0,
    name: str = "lcd_cap",
) -> Policy:
    """Pay 3D up to ``threshold`` x non-oncology CT/MR encounters; oncology always paid."""
    return Policy(
        "lcd_cap",
        name=name,
        payers=tuple(payers),
        effective_date=effective_date,
        scope_share=scope_share,
        threshold=threshold,
    )


def medical_necessity(
    *,
    payers: Iterable[str] = POLICY_PAYERS,
    indications: str = "indications",
    effective_date: dt.date | str = EFFECTIVE_DATE,
    scope_share: float = 1.0,
    name: str = "medical_necessity",
) -> Policy:
    """Pay 3D only on oncology and indicated encounters (groups ``onc`` and ``ind``)."""
    return Policy(
        "medical_necessity",
        name=name,
        payers=tuple(payers),
        indications=indications,
        effective_date=effective_date,
        scope_share=scope_share,
    )


_MAKERS = {
    "status_quo": status_quo,
    "full_bundling": full_bundling,
    "lcd_cap": lcd_cap,
    "medical_necessity": medical_necessity,
}


def get_policy(name: str, **options: Any) -> Policy:
    """A policy by kind name with default parameters (``options`` override them).

    Examples
    --------
    >>> get_policy("lcd_cap", threshold=0.25).threshold
    0.25
    """
    if name not in _MAKERS:
        raise InputError(
            f"unknown policy; choose one of {list(_MAKERS)}", column="policy", value=name
        )
    return _MAKERS[name](**options)


def policies_from_names(
    names: str | Iterable[str],
    *,
    payers: Iterable[str] | None = None,
    effective_date: dt.date | str | None = None,
    scope_share: float | None = None,
    cap_threshold: float | None = None,
) -> tuple[Policy, ...]:
    """The policies of a comparison, by kind name, in the order given.

    Every policy other than ``status_quo`` gets the same ``payers``,
    ``effective_date`` and ``scope_share``; ``lcd_cap`` also gets ``cap_threshold``
    as its ``threshold``. ``status_quo`` takes none of them (it applies to no payer).
    An option left at None keeps the policy's default (:mod:`analysis.defaults`).

    Parameters
    ----------
    names : str or iterable of str
        Kind names from :data:`POLICY_KINDS` (one name alone is one policy).
    payers, effective_date, scope_share, cap_threshold : optional
        See :class:`Policy`.

    Returns
    -------
    tuple of Policy

    Raises
    ------
    InputError
        An unknown policy name or an invalid option.

    Examples
    --------
    >>> [p.name for p in policies_from_names(["status_quo", "lcd_cap"], cap_threshold=0.25)]
    ['status_quo', 'lcd_cap']
    >>> policies_from_names("lcd_cap", payers=["aetna"], cap_threshold=0.25)[0].payers
    ('AETNA',)
    """
    names = (names,) if isinstance(names, str) else tuple(names)
    common = {
        k: v
        for k, v in (
            ("payers", None if payers is None else tuple(payers)),
            ("effective_date", effective_date),
            ("scope_share", scope_share),
        )
        if v is not None
    }
    out = []
    for name in names:
        if name == "status_quo":
            out.append(status_quo())
        elif name == "lcd_cap" and cap_threshold is not None:
            out.append(get_policy(name, threshold=cap_threshold, **common))
        else:
            out.append(get_policy(name, **common))
    return tuple(out)


# ----------------------------------------------------------------- paid shares


def _code_share(base: Mapping[str, np.ndarray], codes: tuple[str, ...]) -> np.ndarray:
    """Share of each row's 3D revenue in ``codes`` (1.0 when both codes)."""
    n = len(base["n_nononc_encounters"])
    if set(codes) == set(CODES_3D):
        return np.ones(n)
    (code,) = codes
    other = next(c for c in CODES_3D if c != code)
    try:
        dollars = base[f"allowed_3d_{code}_usd"], base[f"allowed_3d_{other}_usd"]
        units = base[f"units_3d_{code}"], base[f"units_3d_{other}"]
    except KeyError as err:
        raise InputError(
            "bundling a single 3D code needs the summary's per-code columns", column=str(err)
        ) from None
    total_usd = dollars[0] + dollars[1]
    total_units = units[0] + units[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        by_usd = np.where(total_usd > 0, dollars[0] / total_usd, np.nan)
        by_units = np.where(total_units > 0, units[0] / total_units, 0.0)
    return np.where(np.isnan(by_usd), by_units, by_usd)


def paid_share_arrays(
    policy: Policy,
    base: Mapping[str, np.ndarray],
    applies: np.ndarray,
    *,
    scope_share: np.ndarray | float,
    threshold: np.ndarray | float,
) -> dict[str, np.ndarray]:
    """Share of each group's world-without revenue still paid, broadcast over draws.

    The array form of :func:`paid_shares`, for the revenue engine
    (:mod:`analysis.revenue_engine`), which draws ``scope_share`` and ``threshold``.

    Parameters
    ----------
    policy : Policy
    base : mapping of column name to 1-d row array
        ``n_nononc_encounters``, ``rev_encounters_ind``, ``rev_encounters_oth`` (and
        the per-code columns when a single code is bundled).
    applies : bool array, shape (n_rows,)
        :meth:`Policy.applies_to` of the rows' payers.
    scope_share, threshold : float or array of shape (n_draws, 1)
        Used instead of the policy's own values.

    Returns
    -------
    dict of group to array
        Paid shares in [0, 1] that broadcast to ``(n_draws, n_rows)``.
    """
    ones = np.ones((1, len(applies)))
    if policy.kind == "status_quo":
        return {g: ones for g in GROUPS}
    scope = np.asarray(scope_share, dtype=float) * applies  # (d, rows) or (rows,)
    scope = np.atleast_2d(scope)
    if policy.kind == "full_bundling":
        cut = scope * _code_share(base, policy.codes)
        return {g: 1.0 - cut for g in GROUPS}
    if policy.kind == "medical_necessity":
        return {"onc": ones, "ind": ones, "oth": 1.0 - scope}
    # lcd_cap
    nononc_3d = base["rev_encounters_ind"] + base["rev_encounters_oth"]
    cap = np.atleast_2d(np.asarray(threshold, dtype=float)) * base["n_nononc_encounters"]
    with np.errstate(invalid="ignore", divide="ignore"):
        capped = np.where(nononc_3d > cap, cap / np.where(nononc_3d > 0, nononc_3d, 1.0), 1.0)
    cut = scope * (1.0 - capped)
    return {"onc": ones, "ind": 1.0 - cut, "oth": 1.0 - cut}


def paid_shares(base: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Share of each revenue group paid under ``policy``, per row of ``base``.

    Parameters
    ----------
    base : DataFrame
        Rows of the practice summary (or the annualized impact base), with ``payer``,
        ``n_nononc_encounters``, ``rev_encounters_ind``, ``rev_encounters_oth`` (and
        the per-code columns when a single code is bundled).
    policy : Policy

    Returns
    -------
    DataFrame
        ``paid_share_onc, paid_share_ind, paid_share_oth`` in [0, 1], same index as
        ``base``: the fraction of the group's revenue the payer still pays.

    Examples
    --------
    A practice with 100 non-oncology CT/MR encounters, 30 of them with non-oncology
    3D: the 20 % cap pays 20 of 30, i.e. 2/3 of their revenue.

    >>> row = pd.DataFrame({"payer": ["BCBSNC"], "n_nononc_encounters": [100],
    ...                     "rev_encounters_ind": [10], "rev_encounters_oth": [20]})
    >>> paid_shares(row, lcd_cap()).round(4).iloc[0].tolist()
    [1.0, 0.6667, 0.6667]
    """
    wanted = ("n_nononc_encounters", "rev_encounters_ind", "rev_encounters_oth")
    missing = [c for c in wanted if c not in base.columns and policy.kind == "lcd_cap"]
    if missing:
        raise InputError("the summary lacks a column the LCD cap needs", column=missing[0])
    arrays = {
        c: base[c].to_numpy(dtype=float) for c in wanted + PER_CODE_COLUMNS if c in base.columns
    }
    arrays.setdefault("n_nononc_encounters", np.zeros(len(base)))
    applies = policy.applies_to(base["payer"])
    shares = paid_share_arrays(
        policy, arrays, applies, scope_share=policy.scope_share, threshold=policy.threshold
    )
    return pd.DataFrame(
        {f"paid_share_{g}": np.broadcast_to(shares[g], (1, len(base)))[0] for g in GROUPS},
        index=base.index,
    )
