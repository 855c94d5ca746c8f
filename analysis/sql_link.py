"""The claims link and the practice summary on DuckDB: the default engine's second pass.

:func:`analysis.scale.summarize_files` checks every row in Arrow batches (the one rule
table of :mod:`analysis.claims`) and spills the accepted candidate lines to Parquet;
this module then does the rest in DuckDB, out of core within a memory limit
(:data:`DEFAULT_MEMORY_LIMIT`; above it joins, sorts and group-bys spill to disk):

1. :func:`resolve_duplicates` -- rows sharing ``(claim_id, line_number)``: exact
   repeats keep one row (``duplicate_line``), keys with two or more contents lose every
   row (``conflicting_duplicate``), as :func:`analysis.claims.resolve_duplicates`;
2. :func:`build_linked` -- :func:`analysis.encounters.link` in SQL: encounters by
   group-by, the modal payer, the link to the latest encounter within the window, the
   two compliance rules, oncology and indication marks, Medicare prices joined from
   distinct keys;
3. :func:`summary_from_linked` -- :func:`analysis.summary.summarize_linked`, dollars
   summed as whole cents, for each calendar period from one link;
4. :func:`price_baskets` -- :func:`analysis.revenue_engine.price_baskets`: each
   practice's fee-schedule-priced 3D units by code, component, setting and state.

Code roles, diagnosis sets, components, settings and prices are decided in Python, once
per *distinct* value (the same functions the in-memory path uses), and joined in as
small tables, so no rule is written twice. The summary equals the in-memory engine's
exactly on the bundled sample, the damaged sample and the benchmark files
(``tests/test_scale.py``, ``benchmarks/bench_summarize.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from analysis import codes
from analysis.pricing import (
    FeeSchedule,
    bundled_schedule,
    component_from_modifiers,
    price,
    setting_from_pos,
)
from analysis.revenue_base import baskets_frame
from analysis.summary import (
    ENCOUNTER_COUNT_COLUMNS,
    KEY_COLUMNS,
    LINE_COUNT_COLUMNS,
    LINE_USD_COLUMNS,
    PERIODS,
    REV_COUNT_COLUMNS,
    REV_GROUPS,
    REV_USD_COLUMNS,
    empty_summary,
    finish_summary,
)

DEFAULT_MEMORY_LIMIT = "1GB"
"""DuckDB's memory limit for one run: above it, joins, sorts and group-bys spill to the
temporary directory instead of failing."""


def connect(*, memory_limit: str | None = None, threads: int | None = None,
            temp_directory: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A private in-process DuckDB connection set up for one run.

    Parameters
    ----------
    memory_limit : str, default :data:`DEFAULT_MEMORY_LIMIT`
        E.g. ``"1GB"``.
    threads : int, optional
        Default: the machine's cores.
    temp_directory : path, optional
        Where DuckDB spills (default: DuckDB's own, beside the database).
    """
    config = {"memory_limit": memory_limit or DEFAULT_MEMORY_LIMIT,
              "preserve_insertion_order": "false"}
    if threads:
        config["threads"] = str(int(threads))
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")  # its bar would share stdout
    return con


def register_lines(con: duckdb.DuckDBPyConnection, lines: pd.DataFrame,
                   name: str = "lines") -> tuple[str, ...]:
    """Make the claim lines of a frame the view ``name`` with ``_rid`` (their position)
    and missing amounts as SQL NULL; returns the optional pricing keys present."""
    frame = lines.assign(_rid=np.arange(len(lines), dtype=np.int64))
    con.register(f"{name}_df", frame)
    amounts = ", ".join(f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END AS {c}"
                        for c in ("allowed_usd", "paid_usd"))
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS "
                f"SELECT * REPLACE ({amounts}) FROM {name}_df")
    return tuple(c for c in ("mac", "locality") if c in lines.columns)




def relevant_code_set(*, ct_mr_include=(), ct_mr_exclude=()) -> frozenset[str]:
    """Codes whose lines linking reads: CT/MR base studies, 3D codes and the codes on
    either 3D code's "do not report with" list; every other line is ignored."""
    ct = set(codes.ct_mr_codes(include=tuple(ct_mr_include), exclude=tuple(ct_mr_exclude))[
        "cpt_code"])
    return frozenset(ct | set(codes.CODES_3D) | codes.do_not_report_with("76376")
                     | codes.do_not_report_with("76377"))


def code_roles(distinct: pd.Series, *, ct_mr_include=(), ct_mr_exclude=()) -> pd.DataFrame:
    """The role flags of each distinct code that matters (the others are left out).

    Columns: ``cpt_code``, ``is_3d``, ``is_76376``, ``is_ct_mr`` (a CT/MR base study,
    never a 3D code), ``is_angio``, ``dnr_76376``, ``dnr_76377`` (on that 3D code's
    list; the 3D codes on each other's lists are judged by the "both_3d_codes" rule,
    so they are left off here).
    """
    uniq = pd.Series(pd.unique(distinct.dropna()), dtype="string")
    ct_set = set(codes.ct_mr_codes(include=tuple(ct_mr_include),
                                   exclude=tuple(ct_mr_exclude))["cpt_code"])
    is3d = uniq.isin(codes.CODES_3D).to_numpy(dtype=bool)
    table = pd.DataFrame({
        "cpt_code": uniq,
        "is_3d": is3d,
        "is_76376": uniq.eq("76376").to_numpy(dtype=bool),
        "is_ct_mr": uniq.isin(ct_set).to_numpy(dtype=bool) & ~is3d,
        "is_angio": codes.is_angiography(uniq).to_numpy(dtype=bool),
        "dnr_76376": uniq.isin(codes.do_not_report_with("76376")).to_numpy(dtype=bool) & ~is3d,
        "dnr_76377": uniq.isin(codes.do_not_report_with("76377")).to_numpy(dtype=bool) & ~is3d,
    })
    keep = table[["is_3d", "is_ct_mr", "dnr_76376", "dnr_76377"]].any(axis=1)
    return table.loc[keep].reset_index(drop=True)


def diagnosis_flags(distinct: pd.Series, oncology, indications) -> pd.DataFrame:
    """``diagnosis_codes`` -> ``onc``, ``ind`` (:func:`analysis.codes.in_icd10_set`)."""
    uniq = pd.Series(pd.unique(distinct.dropna()), dtype="string")
    return pd.DataFrame({
        "diagnosis_codes": uniq,
        "onc": codes.in_icd10_set(uniq, oncology).to_numpy(dtype=bool),
        "ind": codes.in_icd10_set(uniq, indications).to_numpy(dtype=bool),
    })


def component_table(distinct: pd.Series) -> pd.DataFrame:
    """``modifiers`` -> ``component`` (:func:`analysis.pricing.component_from_modifiers`);
    a missing modifier is the global component."""
    uniq = pd.Series(pd.unique(distinct.dropna()), dtype="string")
    return pd.DataFrame({"modifiers": uniq,
                         "component": component_from_modifiers(uniq).astype("string")})


def setting_table(distinct: pd.Series) -> pd.DataFrame:
    """``place_of_service`` -> ``setting`` (:func:`analysis.pricing.setting_from_pos`);
    a missing place of service is non-facility."""
    uniq = pd.Series(pd.unique(distinct.dropna()), dtype="string")
    return pd.DataFrame({"place_of_service": uniq,
                         "setting": setting_from_pos(uniq).astype("string")})


def price_table(keys: pd.DataFrame, fee_schedule: FeeSchedule | None) -> pd.DataFrame:
    """Distinct price keys (``cpt_code, component, setting, state, service_date`` and,
    when present, ``mac``/``locality``) with ``unit_usd``, the Medicare price of one
    unit (:func:`analysis.pricing.price`, rounded to the cent), and ``unit_cents``, the
    same in whole cents; both missing where not payable or when ``fee_schedule`` is
    None."""
    keys = keys.reset_index(drop=True)
    if fee_schedule is None or keys.empty:
        usd = np.full(len(keys), np.nan)
    else:
        usd = price(keys, fee_schedule.rvu, fee_schedule.gpci)["medicare_usd"].to_numpy(float)
    missing = np.isnan(usd)
    cents = np.where(missing, 0, np.rint(np.where(missing, 0, usd) * 100)).astype(np.int64)
    return keys.assign(unit_usd=usd,
                       unit_cents=pd.arrays.IntegerArray(cents, missing))



@dataclass(frozen=True)
class DuplicateCounts:
    """Rows removed by :func:`resolve_duplicates`, by reason, with their dollars.

    ``rows``: reason -> rows; ``cents``: reason -> ``{"allowed_usd": cents,
    "paid_usd": cents}``; ``missing``: reason -> ``{amount: rows without it}``.
    """

    rows: dict
    cents: dict
    missing: dict


_DUP_REASONS = ("conflicting_duplicate", "duplicate_line")
_AMOUNTS = ("allowed_usd", "paid_usd")


def resolve_duplicates(con: duckdb.DuckDBPyConnection, source: str, *,
                       name: str = "lines", content: tuple[str, ...]) -> DuplicateCounts:
    """Make ``name`` the rows of ``source`` that survive the duplicate checks.

    Rows sharing ``(claim_id, line_number)`` with identical ``content`` (the canonical
    columns) are exact repeats: one is kept, each other is ``duplicate_line``. A key
    with two or more distinct contents loses every row (``conflicting_duplicate``).
    Missing values compare equal, as in :func:`analysis.claims.resolve_duplicates`.
    Keys are first grouped by a 64-bit hash (one pass, 8 bytes a key); only rows whose
    hash repeats are compared on the keys and contents themselves.

    Parameters
    ----------
    con : DuckDB connection
    source : str
        A table or view of row-checked claim lines (``content`` columns and ``_rid``).
    name : str
        The view to create.
    content : tuple of str
        The columns whose equality makes two rows the same line.
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _dup_h AS
        SELECT hash(claim_id, line_number) AS h FROM {source}
        GROUP BY h HAVING count(*) > 1""")
    zero = DuplicateCounts(rows=dict.fromkeys(_DUP_REASONS, 0),
                           cents={r: dict.fromkeys(_AMOUNTS, 0) for r in _DUP_REASONS},
                           missing={r: dict.fromkeys(_AMOUNTS, 0) for r in _DUP_REASONS})
    if not con.execute("SELECT count(*) FROM _dup_h").fetchone()[0]:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {source}")
        return zero
    cols = ", ".join(content)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _dup_rows AS
        SELECT * FROM {source} WHERE hash(claim_id, line_number) IN (SELECT h FROM _dup_h);
        CREATE OR REPLACE TEMP TABLE _dup_keys AS
        WITH c AS (SELECT {cols}, count(*) AS n FROM _dup_rows GROUP BY ALL)
        SELECT claim_id, line_number, count(*) AS n_distinct, sum(n) AS n_rows
        FROM c GROUP BY claim_id, line_number HAVING sum(n) > 1;
        CREATE OR REPLACE TEMP TABLE _dup_out AS
        SELECT d.*, k.n_distinct,
               row_number() OVER (PARTITION BY d.claim_id, d.line_number
                                  ORDER BY d._rid) AS _pos
        FROM _dup_rows d JOIN _dup_keys k
          ON d.claim_id = k.claim_id AND d.line_number = k.line_number;
        CREATE OR REPLACE TEMP VIEW {name} AS
        SELECT s.* FROM {source} s ANTI JOIN _dup_keys k
          ON s.claim_id = k.claim_id AND s.line_number = k.line_number
        UNION ALL
        SELECT * EXCLUDE (n_distinct, _pos) FROM _dup_out WHERE n_distinct = 1 AND _pos = 1;
    """)
    amounts = ", ".join(
        f"coalesce(sum(CAST(round_even({c} * 100, 0) AS BIGINT)), 0), count(*) FILTER ({c} IS NULL)"
        for c in _AMOUNTS)
    rows = con.execute(f"""
        SELECT CASE WHEN n_distinct > 1 THEN '{_DUP_REASONS[0]}' ELSE '{_DUP_REASONS[1]}'
               END AS reason, count(*), {amounts}
        FROM _dup_out WHERE n_distinct > 1 OR _pos > 1 GROUP BY reason""").fetchall()
    for reason, n, a_cents, a_missing, p_cents, p_missing in rows:
        zero.rows[reason] = int(n)
        zero.cents[reason] = {"allowed_usd": int(a_cents), "paid_usd": int(p_cents)}
        zero.missing[reason] = {"allowed_usd": int(a_missing), "paid_usd": int(p_missing)}
    return zero


_REASON_BOTH = "both_3d_codes"
_REASON_DNR = "do_not_report_with:"


@dataclass(frozen=True)
class LinkCounts:
    """Input lines by role (they add up to ``n_lines``)."""

    n_lines: int
    n_ct_mr_lines: int
    n_3d_lines: int
    n_do_not_report_lines: int

    @property
    def n_other_lines(self) -> int:
        return self.n_lines - self.n_ct_mr_lines - self.n_3d_lines - self.n_do_not_report_lines


def _register(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    con.register(f"{name}_df", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_df")
    con.unregister(f"{name}_df")


def _distinct(con: duckdb.DuckDBPyConnection, sql: str) -> pd.Series:
    return con.execute(sql).df().iloc[:, 0].astype("string")


def price_keys(optional: tuple[str, ...]) -> list[str]:
    """The columns a 3D line's Medicare price depends on."""
    return ["cpt_code", "component", "setting", "state", "service_date", *optional]


def build_linked(con: duckdb.DuckDBPyConnection, relation: str, settings, *,
                 fee_schedule: FeeSchedule | None = None,
                 optional: tuple[str, ...] = ()) -> LinkCounts:
    """Create ``_enc`` and ``_l3`` in ``con`` from the claim lines of ``relation``.

    Parameters
    ----------
    con : DuckDB connection
    relation : str
        A table or view of validated claim lines with ``_rid``; it must hold all lines
        of each practice it contains.
    settings : analysis.encounters.LinkSettings
    fee_schedule : FeeSchedule, optional
        Prices the 3D lines; default the bundled one (not read when
        ``settings.medicare_prices`` is false).
    optional : tuple of str
        Extra pricing keys present in ``relation`` (``mac``, ``locality``).

    Returns
    -------
    LinkCounts
    """
    roles = code_roles(
        pd.Series(sorted(relevant_code_set(
            ct_mr_include=settings.ct_mr_include, ct_mr_exclude=settings.ct_mr_exclude))),
        ct_mr_include=settings.ct_mr_include, ct_mr_exclude=settings.ct_mr_exclude)
    _register(con, "_codes", roles)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _rel AS
        SELECT l.*, CAST(l.service_date AS DATE) AS day,
               c.is_3d, c.is_76376, c.is_ct_mr, c.is_angio, c.dnr_76376, c.dnr_76377
        FROM {relation} l JOIN _codes c ON l.cpt_code = c.cpt_code
    """)
    _register(con, "_dx", diagnosis_flags(
        _distinct(con, "SELECT DISTINCT diagnosis_codes FROM _rel"),
        settings.oncology, settings.indications))
    n_lines = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]

    # Encounters: one per practice, patient and day with a CT/MR base line, aggregated
    # as the lines stream by; the 3D lines and the lines on a "do not report with"
    # list (a small share) are kept whole. The payers are few: an encounter keeps the
    # least and greatest of their ranks in text order (integers: the text minimum and
    # maximum took half the encounter pass on 10 M lines).
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _payers AS
        SELECT payer, (row_number() OVER (ORDER BY payer))::INTEGER AS rank
        FROM (SELECT DISTINCT payer FROM _rel WHERE payer IS NOT NULL);
        CREATE OR REPLACE TEMP TABLE _enc0 AS
        SELECT r.practice_id, r.patient_id, r.day,
               count(*) AS ct_mr_lines, sum(r.units)::BIGINT AS ct_mr_units,
               count(*) FILTER (r.is_angio) AS angiography_lines,
               coalesce(bool_or(d.onc), false) AS ct_onc,
               coalesce(bool_or(d.ind), false) AS ct_ind,
               min(p.rank) AS pmin, max(p.rank) AS pmax
        FROM _rel r LEFT JOIN _dx d ON r.diagnosis_codes = d.diagnosis_codes
        LEFT JOIN _payers p ON r.payer = p.payer
        WHERE r.is_ct_mr
        GROUP BY r.practice_id, r.patient_id, r.day;
        CREATE OR REPLACE TEMP TABLE _side AS
        SELECT * FROM _rel WHERE is_3d OR dnr_76376 OR dnr_76377;
    """)
    n_ct, = con.execute("SELECT coalesce(sum(ct_mr_lines), 0) FROM _enc0").fetchone()
    n_3d, n_dnr = con.execute("""
        SELECT count(*) FILTER (is_3d),
               count(*) FILTER ((dnr_76376 OR dnr_76377) AND NOT is_ct_mr)
        FROM _side""").fetchone()
    # The most frequent payer of an encounter's CT/MR lines; a tie goes to the payer
    # of the first tied line in (claim_id, line_number) order. Only encounters with
    # several payers need the count.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _modal AS
        WITH mixed AS (SELECT practice_id, patient_id, day FROM _enc0 WHERE pmin <> pmax),
        -- a 64-bit hash of the key first: an integer probe of every CT/MR line is
        -- cheaper than one on three text columns, and few lines pass it
        hashed AS (SELECT DISTINCT hash(practice_id, patient_id, day) AS h FROM mixed),
        m AS (
            SELECT c.practice_id, c.patient_id, c.day, c.payer,
                   row_number() OVER (PARTITION BY c.practice_id, c.patient_id, c.day
                                      ORDER BY c.claim_id, c.line_number, c._rid) AS pos
            FROM (SELECT * FROM _rel
                  WHERE is_ct_mr AND hash(practice_id, patient_id, day) IN
                        (SELECT h FROM hashed)) c
            SEMI JOIN mixed e
              ON c.practice_id = e.practice_id AND c.patient_id = e.patient_id
             AND c.day = e.day),
        g AS (SELECT practice_id, patient_id, day, payer, count(*) AS n, min(pos) AS f
              FROM m GROUP BY ALL)
        SELECT practice_id, patient_id, day,
               first(payer ORDER BY n DESC, f) AS payer
        FROM g GROUP BY practice_id, patient_id, day;
    """)

    # 3D lines: the latest encounter of the practice and patient within the window
    # on or before the line's date, found once per practice, patient and day by an
    # equi-join with the days as a range (patients have few encounters: on 10 M lines
    # it and the rule-2 join below took 3 s where an as-of join and a window took 4-5);
    # rule 1 (a listed code on the same day) and rule 2 (76376 and 76377 on one
    # encounter, or orphans on one day).
    window = int(settings.link_window_days)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _l3a AS
        WITH t AS (SELECT * FROM _side WHERE is_3d),
        -- per practice, patient and day of a 3D line: the encounter it links to
        near AS (
            SELECT s.practice_id, s.patient_id, s.day, max(e.day) AS enc_day
            FROM (SELECT DISTINCT practice_id, patient_id, day FROM t) s JOIN _enc0 e
              ON s.practice_id = e.practice_id AND s.patient_id = e.patient_id
             AND e.day BETWEEN s.day - {window} AND s.day
            GROUP BY ALL),
        dnr AS (
            SELECT practice_id, patient_id, day,
                   min(cpt_code) FILTER (dnr_76376) AS m76,
                   min(cpt_code) FILTER (dnr_76377) AS m77
            FROM _side WHERE dnr_76376 OR dnr_76377 GROUP BY ALL),
        k AS MATERIALIZED (
            SELECT t.*, near.enc_day,
                   CASE WHEN t.is_76376 THEN dnr.m76 ELSE dnr.m77 END AS dnr_code
            FROM t LEFT JOIN near
              ON t.practice_id = near.practice_id AND t.patient_id = near.patient_id
             AND t.day = near.day
            LEFT JOIN dnr
              ON t.practice_id = dnr.practice_id AND t.patient_id = dnr.patient_id
             AND t.day = dnr.day),
        -- where a 76377 line is: its encounter, or the day of an orphan
        with77 AS (
            SELECT DISTINCT practice_id, patient_id, coalesce(enc_day, day) AS at,
                   enc_day IS NULL AS orphan
            FROM k WHERE NOT is_76376)
        SELECT k.* EXCLUDE (dnr_code),
               coalesce(d.onc, false) AS own_onc, coalesce(d.ind, false) AS own_ind,
               CASE WHEN dnr_code IS NOT NULL THEN '{_REASON_DNR}' || dnr_code
                    WHEN k.is_76376 AND w.at IS NOT NULL THEN '{_REASON_BOTH}'
                    ELSE '' END AS noncompliant_reason
        FROM k LEFT JOIN _dx d ON k.diagnosis_codes = d.diagnosis_codes
        LEFT JOIN with77 w
          ON k.practice_id = w.practice_id AND k.patient_id = w.patient_id
         AND coalesce(k.enc_day, k.day) = w.at AND (k.enc_day IS NULL) = w.orphan;
        DROP TABLE _side;
    """)
    # Per encounter, what its linked 3D lines add (a small table), and the encounters
    # as a view: the summary aggregates it without writing it out.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _enc3 AS
        SELECT practice_id, patient_id, enc_day AS day,
               count(*) AS n_3d_lines,
               bool_or(is_76376) AS has_3d_76376, bool_or(NOT is_76376) AS has_3d_76377,
               sum(CASE WHEN is_76376 THEN units ELSE 0 END)::BIGINT AS units_3d_76376,
               sum(CASE WHEN is_76376 THEN 0 ELSE units END)::BIGINT AS units_3d_76377,
               count(*) FILTER (noncompliant_reason <> '') AS noncompliant_3d_lines,
               bool_or(own_onc) AS l3_onc, bool_or(own_ind) AS l3_ind
        FROM _l3a WHERE enc_day IS NOT NULL GROUP BY ALL;
        CREATE OR REPLACE TEMP VIEW _enc AS
        SELECT e.practice_id, e.patient_id, e.day,
               CASE WHEN e.pmin = e.pmax THEN p.payer ELSE m.payer END AS payer,
               e.ct_mr_lines, e.ct_mr_units, e.angiography_lines,
               e.ct_onc OR coalesce(a.l3_onc, false) AS is_oncology,
               e.ct_ind OR coalesce(a.l3_ind, false) AS is_indicated,
               a.n_3d_lines IS NOT NULL AS has_3d,
               coalesce(a.has_3d_76376, false) AS has_3d_76376,
               coalesce(a.has_3d_76377, false) AS has_3d_76377,
               coalesce(a.n_3d_lines, 0) AS n_3d_lines,
               coalesce(a.units_3d_76376, 0) AS units_3d_76376,
               coalesce(a.units_3d_76377, 0) AS units_3d_76377,
               coalesce(a.noncompliant_3d_lines, 0) AS noncompliant_3d_lines
        FROM _enc0 e
        LEFT JOIN _payers p ON e.pmin = p.rank
        LEFT JOIN _modal m
          ON e.practice_id = m.practice_id AND e.patient_id = m.patient_id AND e.day = m.day
        LEFT JOIN _enc3 a
          ON e.practice_id = a.practice_id AND e.patient_id = a.patient_id AND e.day = a.day;
    """)

    # Components, settings, states and prices of the 3D lines.
    _register(con, "_comp", component_table(
        _distinct(con, "SELECT DISTINCT modifiers FROM _l3a")))
    _register(con, "_pos", setting_table(
        _distinct(con, "SELECT DISTINCT place_of_service FROM _l3a")))
    state = settings.default_state.replace("'", "")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _l3b AS
        SELECT l.*, coalesce(c.component, 'global') AS component,
               coalesce(p.setting, 'non_facility') AS setting,
               coalesce(nullif(upper(trim(l.state)), ''), '{state}') AS price_state
        FROM _l3a l
        LEFT JOIN _comp c ON l.modifiers = c.modifiers
        LEFT JOIN _pos p ON l.place_of_service = p.place_of_service;
        DROP TABLE _l3a;
    """)
    keys = price_keys(optional)
    select = ", ".join("price_state AS state" if k == "state" else k for k in keys)
    key_frame = con.execute(f"SELECT DISTINCT {select} FROM _l3b").df()
    for c in keys:
        if c != "service_date":
            key_frame[c] = key_frame[c].astype("string")
    schedule = None
    if settings.medicare_prices:
        schedule = bundled_schedule() if fee_schedule is None else fee_schedule
    _register(con, "_price", price_table(key_frame, schedule))
    on = " AND ".join(
        f"l.{'price_state' if k == 'state' else k} IS NOT DISTINCT FROM p.{k}" for k in keys)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _l3 AS
        SELECT l.* EXCLUDE (own_onc, own_ind, price_state, state),
               l.price_state AS state,
               l.enc_day IS NULL AS is_orphan,
               l.enc_day IS NOT NULL AND l.day > l.enc_day AS is_separate_date,
               l.noncompliant_reason <> '' AS is_noncompliant,
               CASE WHEN l.enc_day IS NULL THEN l.own_onc ELSE e.is_oncology END
                   AS is_oncology,
               CASE WHEN l.enc_day IS NULL THEN l.own_ind ELSE e.is_indicated END
                   AS is_indicated,
               p.unit_usd, p.unit_cents * l.units AS medicare_cents
        FROM _l3b l
        LEFT JOIN (SELECT e.practice_id, e.patient_id, e.day,
                          e.ct_onc OR coalesce(a.l3_onc, false) AS is_oncology,
                          e.ct_ind OR coalesce(a.l3_ind, false) AS is_indicated
                   FROM _enc3 a JOIN _enc0 e
                     ON e.practice_id = a.practice_id AND e.patient_id = a.patient_id
                    AND e.day = a.day) e
          ON l.enc_day = e.day AND l.practice_id = e.practice_id
         AND l.patient_id = e.patient_id
        LEFT JOIN _price p ON {on};
        DROP TABLE _l3b;
    """)
    return LinkCounts(n_lines=int(n_lines), n_ct_mr_lines=int(n_ct), n_3d_lines=int(n_3d),
                      n_do_not_report_lines=int(n_dnr))




def period_sql(day: str, kind: str) -> str:
    """SQL for the period label of a DATE expression: ``2024`` or ``2024Q1``."""
    year = f"CAST(year({day}) AS VARCHAR)"
    return year if kind == "year" else f"{year} || 'Q' || CAST(quarter({day}) AS VARCHAR)"


def _cents(expr: str) -> str:
    return f"CAST(round_even({expr} * 100, 0) AS BIGINT)"


def _usd(total: str) -> str:
    return f"CAST(coalesce({total}, 0) AS DOUBLE) / 100.0"


_ENCOUNTER_SQL = {
    "n_encounters": "count(*)",
    "n_encounters_3d": "count(*) FILTER (has_3d)",
    "n_encounters_3d_76376": "count(*) FILTER (has_3d_76376)",
    "n_encounters_3d_76377": "count(*) FILTER (has_3d_76377)",
    "n_onc_encounters": "count(*) FILTER (is_oncology)",
    "n_onc_encounters_3d": "count(*) FILTER (is_oncology AND has_3d)",
    "n_nononc_encounters": "count(*) FILTER (NOT is_oncology)",
    "n_nononc_encounters_3d": "count(*) FILTER (NOT is_oncology AND has_3d)",
    "n_ind_encounters": "count(*) FILTER (is_indicated)",
    "n_ind_encounters_3d": "count(*) FILTER (is_indicated AND has_3d)",
    "ct_mr_lines": "sum(ct_mr_lines)",
    "ct_mr_units": "sum(ct_mr_units)",
}


def _line_sql() -> dict[str, str]:
    observed, medicare = "allowed_usd IS NOT NULL", "medicare_cents"
    cols = {
        "n_3d_lines": "count(*)",
        "units_3d_76376": "sum(CASE WHEN is_76376 THEN units ELSE 0 END)",
        "units_3d_76377": "sum(CASE WHEN is_76376 THEN 0 ELSE units END)",
        "n_noncompliant_3d_lines": "count(*) FILTER (is_noncompliant)",
        "n_orphan_3d_lines": "count(*) FILTER (is_orphan)",
        "n_separate_date_3d_lines": "count(*) FILTER (is_separate_date)",
        "n_unpriced_3d_lines": f"count(*) FILTER (NOT ({observed}))",
        "n_no_price_3d_lines": f"count(*) FILTER (NOT ({observed}) AND medicare_cents IS NULL)",
        "allowed_3d_76376_usd": _usd(f"sum(cents) FILTER (is_76376 AND {observed})"),
        "allowed_3d_76377_usd": _usd(f"sum(cents) FILTER (NOT is_76376 AND {observed})"),
        "noncompliant_allowed_usd": _usd(f"sum(cents) FILTER (is_noncompliant AND {observed})"),
        "medicare_3d_usd": _usd(f"sum({medicare})"),
    }
    for g in REV_GROUPS:
        in_g = f"NOT is_noncompliant AND rev_group = '{g}'"
        cols |= {
            f"rev_units_{g}": f"coalesce(sum(units) FILTER ({in_g}), 0)",
            f"rev_lines_{g}": f"count(*) FILTER ({in_g})",
            f"rev_encounters_{g}": f"count(*) FILTER ({in_g} AND carries_encounter)",
            f"rev_observed_usd_{g}": _usd(f"sum(cents) FILTER ({in_g} AND {observed})"),
            f"rev_medicare_usd_{g}": _usd(f"sum({medicare}) FILTER ({in_g} AND NOT ({observed}))"),
            f"rev_paid_usd_{g}": _usd(f"sum(paid_cents) FILTER ({in_g})"),
            f"rev_unpaid_lines_{g}": f"count(*) FILTER ({in_g} AND paid_usd IS NULL)",
        }
    return cols


_LINE_SQL = _line_sql()


def _frame(con: duckdb.DuckDBPyConnection, sql: str, columns) -> pd.DataFrame:
    frame = con.execute(sql).df()
    ints = [c for c in columns if c not in LINE_USD_COLUMNS and c not in REV_USD_COLUMNS]
    return frame.astype({c: "int64" for c in ints} | {k: "string" for k in KEY_COLUMNS})


def register_linked(con: duckdb.DuckDBPyConnection, linked) -> None:
    """Make a :class:`~analysis.encounters.Linked` result the ``_enc`` and ``_l3``
    views :func:`summary_from_linked` reads."""
    con.register("_enc_df", linked.encounters)
    con.register("_l3_df", linked.lines_3d.assign(
        _rid=np.arange(len(linked.lines_3d), dtype=np.int64)))
    con.execute("""
        CREATE OR REPLACE TEMP VIEW _enc AS
        SELECT *, CAST(service_date AS DATE) AS day FROM _enc_df;
        CREATE OR REPLACE TEMP VIEW _l3 AS
        SELECT * REPLACE (
                   CASE WHEN isnan(allowed_usd) THEN NULL ELSE allowed_usd END AS allowed_usd,
                   CASE WHEN isnan(paid_usd) THEN NULL ELSE paid_usd END AS paid_usd),
               CAST(service_date AS DATE) AS day, CAST(encounter_date AS DATE) AS enc_day,
               cpt_code = '76376' AS is_76376,
               CASE WHEN isnan(medicare_usd) THEN NULL
                    ELSE CAST(round(medicare_usd * 100) AS BIGINT) END AS medicare_cents
        FROM _l3_df;
    """)


def summary_from_linked(con: duckdb.DuckDBPyConnection, kind: str) -> pd.DataFrame:
    """The summary (:func:`analysis.summary.summarize_linked`'s frame) of the ``_enc``
    and ``_l3`` tables or views in ``con``, by calendar ``kind`` ("year" or "quarter")."""
    if kind not in PERIODS:
        raise ValueError(f"period must be one of {list(PERIODS)}")
    enc_cols = ", ".join(f"{sql} AS {c}" for c, sql in _ENCOUNTER_SQL.items())
    enc = _frame(con, f"""
        SELECT practice_id, {period_sql('day', kind)} AS period, payer, {enc_cols}
        FROM _enc GROUP BY ALL""", ENCOUNTER_COUNT_COLUMNS)
    line_cols = ", ".join(f"{sql} AS {c}" for c, sql in _LINE_SQL.items())
    lines = _frame(con, f"""
        WITH r AS (
            SELECT *,
                   {_cents('allowed_usd')} AS cents, {_cents('paid_usd')} AS paid_cents,
                   CASE WHEN is_oncology THEN 'onc' WHEN is_indicated THEN 'ind'
                        ELSE 'oth' END AS rev_group,
                   (is_orphan AND NOT is_noncompliant)
                   OR (NOT is_orphan AND NOT is_noncompliant AND row_number() OVER (
                         PARTITION BY practice_id, patient_id, enc_day, is_noncompliant
                         ORDER BY service_date, claim_id, line_number, _rid) = 1)
                       AS carries_encounter
            FROM _l3)
        SELECT practice_id, {period_sql('day', kind)} AS period, payer, {line_cols}
        FROM r GROUP BY ALL""", LINE_COUNT_COLUMNS + LINE_USD_COLUMNS + REV_COUNT_COLUMNS
                   + REV_USD_COLUMNS)
    if enc.empty and lines.empty:
        return empty_summary()
    return finish_summary(enc.merge(lines, on=list(KEY_COLUMNS), how="outer"))


def price_baskets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each practice's price basket of the ``_l3`` table or view in ``con``
    (:func:`build_linked`, :func:`register_linked`).

    :func:`analysis.revenue_engine.price_baskets`'s rule: the practice's compliant 3D
    lines without an observed ``allowed_usd``, or all its compliant lines when each has
    one, their units summed by code, component, setting and state.

    Returns
    -------
    DataFrame
        :data:`analysis.revenue_base.BASKET_COLUMNS`, sorted by practice and item.
    """
    frame = con.execute("""
        WITH c AS (
            SELECT practice_id, cpt_code, component, setting, state, units,
                   allowed_usd IS NULL AS unpriced
            FROM _l3 WHERE NOT is_noncompliant),
        p AS (SELECT practice_id, bool_or(unpriced) AS some_unpriced
              FROM c GROUP BY practice_id)
        SELECT c.practice_id, c.cpt_code, c.component, c.setting, c.state,
               CAST(sum(c.units) AS DOUBLE) AS units
        FROM c JOIN p ON c.practice_id = p.practice_id
        WHERE c.unpriced OR NOT p.some_unpriced
        GROUP BY ALL""").df()
    return baskets_frame(frame)
