"""The additive practice summary: the spine of rad3d.

:func:`summarize` turns claim lines (via :func:`analysis.encounters.link`) into one
row per ``practice_id`` x ``period`` x ``payer`` whose every other column is a count
or a sum. Because linking never crosses practices, the summary of a union of
practice partitions equals the sum of the partitions' summaries
(:func:`add_summaries`), which is what lets the same numbers come from a 40-practice
sample in memory, a large file read in practice batches
(:func:`summarize_partitions`), or a cluster (map: summarize a partition of whole
practices; reduce: add). The LCD screen (``analysis.lcd``) and the revenue model
(``analysis.impact``) both start from this table, usually collapsed to one row per
practice with :func:`practice_totals`.

Attribution
-----------
*Encounter counts* go under the encounter's date and payer (its most frequent CT/MR
payer); *3D line counts, units and dollars* under the 3D line's own date and payer.
``rev_encounters_{g}`` counts each encounter once, under the date and payer of its
first compliant 3D line (by date, then ``claim_id``, ``line_number``), so that it
sits beside the units and dollars it describes; each compliant orphan line counts
as one. Periods are calendar years (``"2024"``) or quarters (``"2024Q1"``); see
:func:`period`.

Columns
-------
=============================  =======  ===========================================================
column                         dtype    definition
=============================  =======  ===========================================================
practice_id                    string   key
period                         string   key: "YYYY" or "YYYYQn" of the date attributed
payer                          string   key: the payer attributed (see above)
n_encounters                   int64    CT/MR encounters (practice, patient, date)
n_encounters_3d                int64    ... with >= 1 linked 3D line (compliant or not)
n_encounters_3d_76376          int64    ... with >= 1 linked 76376 line
n_encounters_3d_76377          int64    ... with >= 1 linked 76377 line
n_onc_encounters               int64    oncology encounters
n_onc_encounters_3d            int64    oncology encounters with 3D
n_nononc_encounters            int64    non-oncology encounters
n_nononc_encounters_3d         int64    non-oncology encounters with 3D
n_ind_encounters               int64    encounters with a qualifying indication (any, incl. onc.)
n_ind_encounters_3d            int64    ... with 3D
ct_mr_lines                    int64    CT/MR base lines of the encounters
ct_mr_units                    int64    their units (services-basis denominator)
n_3d_lines                     int64    3D lines (76376 + 76377, all)
units_3d_76376                 int64    units of 76376 lines (linked and orphan)
units_3d_76377                 int64    units of 76377 lines
n_noncompliant_3d_lines        int64    3D lines that are non-compliant
n_orphan_3d_lines              int64    3D lines linked to no encounter
n_separate_date_3d_lines       int64    linked 3D lines dated after their encounter
n_unpriced_3d_lines            int64    3D lines without an observed allowed_usd
n_no_price_3d_lines            int64    ... of which the fee schedule gives no price either
allowed_3d_76376_usd           float64  sum of observed allowed_usd, 76376 lines
allowed_3d_76377_usd           float64  sum of observed allowed_usd, 76377 lines
noncompliant_allowed_usd       float64  sum of observed allowed_usd, non-compliant 3D lines
medicare_3d_usd                float64  sum of the Medicare price of all 3D lines
rev_units_{g}                  int64    units of compliant 3D lines in group g
rev_lines_{g}                  int64    compliant 3D lines in group g
rev_encounters_{g}             int64    encounters with >= 1 compliant 3D line in g (+ orphans)
rev_observed_usd_{g}           float64  sum of allowed_usd where observed
rev_medicare_usd_{g}           float64  Medicare price of the lines whose allowed_usd is missing
rev_paid_usd_{g}               float64  sum of observed paid_usd
rev_unpaid_lines_{g}           int64    lines without paid_usd
=============================  =======  ===========================================================

Groups ``g``: ``onc`` (oncology), ``ind`` (non-oncology with a qualifying
indication), ``oth`` (other); a linked line takes its encounter's flags, an orphan
its own diagnoses. The revenue base holds compliant lines only: non-compliant lines
are denied in every world. Revenue of a group = ``rev_observed_usd_g`` + payer
multiplier x ``rev_medicare_usd_g``.

Rates the screen derives from this table: encounter basis ``n_encounters_3d /
n_encounters`` (or the non-oncology pair with the oncology exemption), services basis
``(units_3d_76376 + units_3d_76377) / ct_mr_units``.

Examples
--------
>>> s = pd.DataFrame({"practice_id": ["P1", "P1"], "period": ["2024", "2024"],
...                   "payer": ["A", "B"], "n_encounters": [3, 4]})
>>> practice_totals(s)["n_encounters"].tolist()
[7]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from analysis.encounters import Linked, link
from analysis.errors import InputError

__all__ = [
    "COUNT_COLUMNS",
    "ENCOUNTER_COUNT_COLUMNS",
    "KEY_COLUMNS",
    "LINE_COUNT_COLUMNS",
    "LINE_USD_COLUMNS",
    "PERIODS",
    "REV_COUNT_COLUMNS",
    "REV_GROUPS",
    "REV_MEASURES",
    "REV_USD_COLUMNS",
    "SUM_COLUMNS",
    "USD_COLUMNS",
    "add_summaries",
    "coarsen",
    "empty_summary",
    "finish_summary",
    "period",
    "practice_totals",
    "summarize",
    "summarize_linked",
    "summarize_partitions",
]

KEY_COLUMNS: tuple[str, ...] = ("practice_id", "period", "payer")
"""The keys of a summary row: practice, calendar period and payer."""
PERIODS: tuple[str, ...] = ("year", "quarter")
"""The kinds of period a summary is made by (:func:`period`)."""
REV_GROUPS: tuple[str, ...] = ("onc", "ind", "oth")
"""Revenue groups of 3D lines: oncology, non-oncology indicated, other."""

ENCOUNTER_COUNT_COLUMNS: tuple[str, ...] = (
    "n_encounters",
    "n_encounters_3d",
    "n_encounters_3d_76376",
    "n_encounters_3d_76377",
    "n_onc_encounters",
    "n_onc_encounters_3d",
    "n_nononc_encounters",
    "n_nononc_encounters_3d",
    "n_ind_encounters",
    "n_ind_encounters_3d",
    "ct_mr_lines",
    "ct_mr_units",
)
"""Counts attributed to the encounter's date and payer (the screen's denominators)."""
LINE_COUNT_COLUMNS: tuple[str, ...] = (
    "n_3d_lines",
    "units_3d_76376",
    "units_3d_76377",
    "n_noncompliant_3d_lines",
    "n_orphan_3d_lines",
    "n_separate_date_3d_lines",
    "n_unpriced_3d_lines",
    "n_no_price_3d_lines",
)
"""Counts of 3D lines and units, attributed to the 3D line's own date and payer."""
LINE_USD_COLUMNS: tuple[str, ...] = (
    "allowed_3d_76376_usd",
    "allowed_3d_76377_usd",
    "noncompliant_allowed_usd",
    "medicare_3d_usd",
)
"""Dollar sums of 3D lines, attributed like :data:`LINE_COUNT_COLUMNS`."""
REV_MEASURES: tuple[str, ...] = (
    "units", "lines", "encounters", "observed_usd", "medicare_usd", "paid_usd", "unpaid_lines",
)  # fmt: skip
"""The revenue-base measures, each a column ``rev_{measure}_{group}`` per group of
:data:`REV_GROUPS`, in output order."""
REV_COUNT_COLUMNS: tuple[str, ...] = tuple(
    f"rev_{m}_{g}" for g in REV_GROUPS for m in REV_MEASURES if not m.endswith("_usd")
)
"""The count columns of the revenue base (compliant 3D lines by group)."""
REV_USD_COLUMNS: tuple[str, ...] = tuple(
    f"rev_{m}_{g}" for g in REV_GROUPS for m in REV_MEASURES if m.endswith("_usd")
)
"""The dollar columns of the revenue base (compliant 3D lines by group)."""

COUNT_COLUMNS: tuple[str, ...] = ENCOUNTER_COUNT_COLUMNS + LINE_COUNT_COLUMNS + REV_COUNT_COLUMNS
"""Integer (count) columns of a summary."""
USD_COLUMNS: tuple[str, ...] = LINE_USD_COLUMNS + REV_USD_COLUMNS
"""Float dollar columns of a summary, rounded to the cent."""
SUM_COLUMNS: tuple[str, ...] = (
    ENCOUNTER_COUNT_COLUMNS + LINE_COUNT_COLUMNS + LINE_USD_COLUMNS
    + tuple(f"rev_{m}_{g}" for g in REV_GROUPS for m in REV_MEASURES)
)  # fmt: skip
"""Every additive column, in output order (after :data:`KEY_COLUMNS`)."""


def period(dates: pd.Series, *, kind: str = "year") -> pd.Series:
    """Calendar period labels of dates: ``"2024"`` (year) or ``"2024Q1"`` (quarter).

    Quarters are calendar quarters (Q1 = January-March). Labels are strings so that
    they sort correctly and group identically in every engine.

    Examples
    --------
    >>> period(pd.Series(pd.to_datetime(["2024-03-31", "2024-04-01"])), kind="quarter").tolist()
    ['2024Q1', '2024Q2']
    >>> period(pd.Series(pd.to_datetime(["2024-03-31"]))).tolist()
    ['2024']
    """
    if kind not in PERIODS:
        raise InputError(f"period must be one of {list(PERIODS)}", column="period", value=kind)
    dates = pd.Series(dates, copy=False)
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = pd.to_datetime(dates)
    year = dates.dt.year.to_numpy(dtype=np.int64, na_value=-1)
    code = year * 10 + (
        dates.dt.quarter.to_numpy(dtype=np.int64, na_value=0) if kind == "quarter" else 0
    )
    # Format the few distinct periods once, not every row.
    idx, uniques = pd.factorize(code)
    fmt = [
        pd.NA if u < 0 else (f"{u // 10}Q{u % 10}" if kind == "quarter" else f"{u // 10}")
        for u in uniques
    ]
    labels = pd.array(fmt, dtype="string")
    return pd.Series(labels.take(idx), index=dates.index, name="period", dtype="string")


_DTYPES: dict[str, str] = {k: "string" for k in KEY_COLUMNS} | {
    c: ("int64" if c in COUNT_COLUMNS else "float64") for c in SUM_COLUMNS
}


def empty_summary() -> pd.DataFrame:
    """A summary with no rows and the right columns and dtypes."""
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in _DTYPES.items()})


def _group_sum(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    if frame.empty:
        return frame.loc[:, list(KEY_COLUMNS) + list(columns)]
    return (
        frame.groupby(list(KEY_COLUMNS), sort=False, observed=True)[list(columns)]
        .sum()
        .reset_index()
    )


def _encounter_part(enc: pd.DataFrame, kind: str) -> pd.DataFrame:
    onc, has, ind = enc["is_oncology"], enc["has_3d"], enc["is_indicated"]
    rows = pd.DataFrame(
        {
            "practice_id": enc["practice_id"],
            "period": period(enc["service_date"], kind=kind),
            "payer": enc["payer"],
            "n_encounters": 1,
            "n_encounters_3d": has.astype(np.int64),
            "n_encounters_3d_76376": enc["has_3d_76376"].astype(np.int64),
            "n_encounters_3d_76377": enc["has_3d_76377"].astype(np.int64),
            "n_onc_encounters": onc.astype(np.int64),
            "n_onc_encounters_3d": (onc & has).astype(np.int64),
            "n_nononc_encounters": (~onc).astype(np.int64),
            "n_nononc_encounters_3d": (~onc & has).astype(np.int64),
            "n_ind_encounters": ind.astype(np.int64),
            "n_ind_encounters_3d": (ind & has).astype(np.int64),
            "ct_mr_lines": enc["ct_mr_lines"],
            "ct_mr_units": enc["ct_mr_units"],
        }
    )
    return _group_sum(rows, ENCOUNTER_COUNT_COLUMNS)


def _line_part(l3: pd.DataFrame, kind: str) -> pd.DataFrame:
    allowed, paid, medicare = l3["allowed_usd"], l3["paid_usd"], l3["medicare_usd"]
    is76, is77 = l3["cpt_code"].eq("76376"), l3["cpt_code"].eq("76377")
    units = l3["units"].astype(np.int64)
    observed = allowed.notna()
    compliant = ~l3["is_noncompliant"]
    cols: dict[str, pd.Series | int] = {
        "practice_id": l3["practice_id"],
        "period": period(l3["service_date"], kind=kind),
        "payer": l3["payer"],
        "n_3d_lines": 1,
        "units_3d_76376": units.where(is76, 0),
        "units_3d_76377": units.where(is77, 0),
        "n_noncompliant_3d_lines": l3["is_noncompliant"].astype(np.int64),
        "n_orphan_3d_lines": l3["is_orphan"].astype(np.int64),
        "n_separate_date_3d_lines": l3["is_separate_date"].astype(np.int64),
        "n_unpriced_3d_lines": (~observed).astype(np.int64),
        "n_no_price_3d_lines": (~observed & medicare.isna()).astype(np.int64),
        "allowed_3d_76376_usd": allowed.where(is76 & observed, 0.0),
        "allowed_3d_76377_usd": allowed.where(is77 & observed, 0.0),
        "noncompliant_allowed_usd": allowed.where(~compliant & observed, 0.0),
        "medicare_3d_usd": medicare.fillna(0.0),
    }
    # Each encounter's revenue-base count sits on its first compliant 3D line; an
    # orphan line is its own unit.
    order = l3.assign(_pos=np.arange(len(l3))).sort_values(
        ["service_date", "claim_id", "line_number"], kind="stable"
    )
    linked_c = order["encounter_id"].notna() & ~order["is_noncompliant"]
    first_of_enc = linked_c & ~order["encounter_id"].where(linked_c).duplicated()
    first = np.zeros(len(l3), dtype=bool)
    first[order["_pos"].to_numpy()[first_of_enc.to_numpy(dtype=bool)]] = True
    counts_as_encounter = pd.Series(first, index=l3.index) | (l3["is_orphan"] & compliant)
    for g in REV_GROUPS:
        in_g = compliant & l3["rev_group"].eq(g)
        cols |= {
            f"rev_units_{g}": units.where(in_g, 0),
            f"rev_lines_{g}": in_g.astype(np.int64),
            f"rev_encounters_{g}": (in_g & counts_as_encounter).astype(np.int64),
            f"rev_observed_usd_{g}": allowed.where(in_g & observed, 0.0),
            f"rev_medicare_usd_{g}": medicare.where(in_g & ~observed, 0.0).fillna(0.0),
            f"rev_paid_usd_{g}": paid.where(in_g & paid.notna(), 0.0),
            f"rev_unpaid_lines_{g}": (in_g & paid.isna()).astype(np.int64),
        }
    return _group_sum(
        pd.DataFrame(cols),
        LINE_COUNT_COLUMNS + LINE_USD_COLUMNS + REV_COUNT_COLUMNS + REV_USD_COLUMNS,
    )


def finish_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """A summary in its standard form: rows sorted by the keys, columns in
    :data:`SUM_COLUMNS` order (extra columns last), absent cells zero, dtypes fixed.

    Dollar sums are rounded to the cent. Every dollar amount entering a sum is a
    whole number of cents (claims amounts are parsed to cents, fee-schedule prices
    are rounded to cents), so the exact sum is a whole number of cents too; rounding
    removes the floating-point error whose last bits depend on the order of
    addition, and makes summaries identical whichever engine, batch or partition
    order produced them.
    """
    absent = {c: 0 for c in SUM_COLUMNS if c not in frame.columns}
    if absent:
        frame = frame.assign(**absent)
    extra = [c for c in frame.columns if c not in _DTYPES]
    frame = frame.loc[:, list(KEY_COLUMNS) + list(SUM_COLUMNS) + extra]
    frame = frame.fillna({c: 0 for c in SUM_COLUMNS})
    usd = [c for c in USD_COLUMNS if c in frame.columns]
    frame = frame.assign(**{c: frame[c].astype("float64").round(2) for c in usd})
    dtypes = {c: t for c, t in _DTYPES.items() if frame[c].dtype != t}
    if dtypes:
        frame = frame.astype(dtypes)
    return frame.sort_values(list(KEY_COLUMNS), kind="stable").reset_index(drop=True)


def summarize_linked(linked: Linked, *, period: str = "year") -> pd.DataFrame:
    """Summarize a :class:`~analysis.encounters.Linked` result.

    Parameters
    ----------
    linked : Linked
        From :func:`analysis.encounters.link`.
    period : {"year", "quarter"}
        Calendar period of the rows.

    Returns
    -------
    DataFrame
        One row per ``practice_id, period, payer`` with at least one encounter or
        3D line; columns in the module docstring. Sorted by the keys.
    """
    if period not in PERIODS:
        raise InputError(f"period must be one of {list(PERIODS)}", column="period", value=period)
    enc = _encounter_part(linked.encounters, period)
    lines = _line_part(linked.lines_3d, period)
    merged = enc.merge(lines, on=list(KEY_COLUMNS), how="outer")
    return finish_summary(merged)


def summarize(lines: pd.DataFrame, *, period: str = "year", **link_options) -> pd.DataFrame:
    """Summarize claim lines per practice x period x payer.

    ``summarize_linked(link(lines, **link_options), period=period)``. ``lines`` must
    hold every line of each practice it contains; a frame of whole practices is the
    unit of work that can be run partition by partition and added.

    Parameters
    ----------
    lines : DataFrame
        Validated canonical claim lines.
    period : {"year", "quarter"}
    **link_options
        Keywords of :func:`analysis.encounters.link` (``link_window_days``,
        ``oncology``, ``indications``, ``ct_mr_include``, ``ct_mr_exclude``,
        ``default_state``, ``medicare_prices``, ``fee_schedule``; default: the bundled
        2025 fee schedule).

    Examples
    --------
    >>> lines = pd.DataFrame({
    ...     "claim_id": ["a", "a", "b"], "line_number": [1, 2, 1], "practice_id": "P1",
    ...     "patient_id": ["X", "X", "Y"],
    ...     "service_date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-05-02"]),
    ...     "cpt_code": ["74177", "76376", "70450"], "units": 1, "payer": "BCBSNC",
    ...     "allowed_usd": [90.0, 20.0, 60.0],
    ... })
    >>> s = summarize(lines, period="quarter")
    >>> s[["period", "n_encounters", "n_encounters_3d"]].to_dict("list")
    {'period': ['2024Q1', '2024Q2'], 'n_encounters': [1, 1], 'n_encounters_3d': [1, 0]}
    >>> s["allowed_3d_76376_usd"].tolist()
    [20.0, 0.0]
    """
    return summarize_linked(link(lines, **link_options), period=period)


def add_summaries(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add summaries: group-by-sum over ``practice_id, period, payer``.

    The sum of the summaries of disjoint practice partitions equals the summary of
    their union. Counts stay int64.
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_summary()
    whole = pd.concat(frames, ignore_index=True)
    keys = list(KEY_COLUMNS)
    value_cols = [c for c in whole.columns if c not in keys]
    summed = whole.groupby(keys, sort=False)[value_cols].sum().reset_index()
    return finish_summary(summed)


def coarsen(summary: pd.DataFrame, *, period: str = "year") -> pd.DataFrame:
    """A quarterly summary added up to years (``period="year"``).

    Every count belongs to one quarter -- an encounter to the quarter of its day, a 3D
    line to the quarter of its own date -- so the year's summary is the sum of its
    quarters' (dollars in whole cents, as :func:`add_summaries`), without linking again.
    """
    if period == "quarter":
        return summary
    if period != "year":
        raise InputError(f"period must be one of {list(PERIODS)}", column="period",
                         value=period)
    return add_summaries([summary.assign(period=summary["period"].str.slice(0, 4))])


def summarize_partitions(
    partitions: Iterable[pd.DataFrame], *, period: str = "year", **link_options
) -> pd.DataFrame:
    """Summarize claim lines arriving as partitions of whole practices, and add.

    Only one partition is in memory at a time (plus the small summaries), so memory is
    bounded by the largest partition. A practice found in two partitions is an error,
    because linking must see all of a practice's lines.

    Raises
    ------
    InputError
        A practice appears in more than one partition.
    """
    seen: set[str] = set()
    parts = []
    for i, part in enumerate(partitions):
        practices = set(pd.unique(part["practice_id"].dropna()))
        again = practices & seen
        if again:
            raise InputError(
                f"practice found in partition {i + 1} and an earlier one; each practice's "
                "lines must be in a single partition (group the input by practice_id)",
                column="practice_id",
                value=sorted(again)[0],
            )
        seen |= practices
        parts.append(summarize(part, period=period, **link_options))
    return add_summaries(parts)


def practice_totals(
    summary: pd.DataFrame,
    *,
    periods: Iterable[str] | None = None,
    payers: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Collapse a summary to one row per practice, summing over periods and payers.

    Parameters
    ----------
    summary : DataFrame
        From :func:`summarize` or :func:`add_summaries`.
    periods, payers : iterable of str, optional
        Keep only these periods / payers before summing (default: all).

    Returns
    -------
    DataFrame
        ``practice_id`` and every numeric column of ``summary``, summed; sorted by
        ``practice_id``. A practice whose rows are all filtered out is absent.
    """
    if "practice_id" not in summary.columns:
        raise InputError("a summary needs a practice_id column", column="practice_id")
    keep = pd.Series(True, index=summary.index)
    if periods is not None:
        keep &= summary["period"].isin(list(periods))
    if payers is not None:
        keep &= summary["payer"].isin(list(payers))
    numeric = [c for c in summary.columns
               if c not in KEY_COLUMNS and pd.api.types.is_numeric_dtype(summary[c])]  # fmt: skip
    return (
        summary.loc[keep]
        .groupby("practice_id", sort=True)[numeric]
        .sum()
        .reset_index()
        .astype({"practice_id": "string"})
    )
