"""Synthetic CMS "by Provider and Service" and "by Geography and Service" files.

:func:`write_synthetic_puf` writes files in the exact layouts that
:mod:`analysis.puf` reads (its column names and state table come from there), with
providers, codes, counts and amounts drawn at random: the bundled samples in
``data/sample/puf`` and the full-size benchmark file are made with it. No row
describes a real provider; the NPIs, although check-digit valid, are drawn at random.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis._io import write_atomic, write_bytes
from analysis.codes import CODES_3D, ct_mr_codes
from analysis.errors import InputError
from analysis.npi import with_check_digit
from analysis.puf.jurisdictions import STATES
from analysis.puf.layouts import GEOGRAPHY_SERVICE_COLUMNS, LAYOUTS
from analysis.puf.suppression import SUPPRESSED_MAX_BENEFICIARIES

__all__ = ["write_synthetic_puf"]

_DESC_3D = {
    "76376": "3D rendering with interpretation and reporting of computed tomography, "
    "magnetic resonance imaging, ultrasound, or other tomographic modality with image "
    "postprocessing under concurrent supervision; not requiring image postprocessing on "
    "an independent workstation",
    "76377": "3D rendering with interpretation and reporting of computed tomography, "
    "magnetic resonance imaging, ultrasound, or other tomographic modality with image "
    "postprocessing under concurrent supervision; requiring image postprocessing on an "
    "independent workstation",
}
# Other codes for the synthetic rows: (code, description, drug indicator, typical
# allowed USD). Illustrative only; the reader drops them.
_OTHER_CODES = (
    ("99213", "Established patient office or other outpatient visit, 20-29 minutes", "N", 90),
    ("99214", "Established patient office or other outpatient visit, 30-39 minutes", "N", 128),
    ("99215", "Established patient office or other outpatient visit, 40-54 minutes", "N", 180),
    ("99203", "New patient office or other outpatient visit, 30-44 minutes", "N", 110),
    ("99204", "New patient office or other outpatient visit, 45-59 minutes", "N", 165),
    ("99232", "Subsequent hospital inpatient or observation care, 35 minutes", "N", 82),
    ("99233", "Subsequent hospital inpatient or observation care, 50 minutes", "N", 118),
    ("99223", "Initial hospital inpatient or observation care, 75 minutes", "N", 200),
    ("99308", "Subsequent nursing facility care, 20 minutes", "N", 75),
    ("36415", "Insertion of needle into vein for collection of blood sample", "N", 3),
    ("80053", "Blood test, comprehensive group of blood chemicals", "N", 10),
    ("85025", "Complete blood cell count (red cells, white blood cell, platelets), "
              "automated test and automated differential white blood cell count", "N", 8),
    ("93000", "Routine electrocardiogram (ECG) using at least 12 leads including "
              "interpretation and report", "N", 16),
    ("G0439", "Annual wellness visit, includes a personalized prevention plan of service "
              "(pps), subsequent visit", "N", 130),
    ("20610", "Aspiration and/or injection of large joint or joint bursa", "N", 60),
    ("97110", "Therapeutic exercise to develop strength, endurance, range of motion, "
              "and flexibility, each 15 minutes", "N", 29),
    ("97140", "Manual (physical) therapy techniques to 1 or more regions, each 15 minutes",
     "N", 26),
    ("96372", "Injection beneath the skin or into muscle for therapy, diagnosis, or "
              "prevention", "N", 14),
    ("J1100", "Injection, dexamethasone sodium phosphate, 1 mg", "Y", 0.1),
    ("J3301", "Injection, triamcinolone acetonide, not otherwise specified, 10 mg", "Y", 1.5),
    ("J0897", "Injection, denosumab, 1 mg", "Y", 18),
    ("92014", "Eye and medical examination for diagnosis and treatment, established "
              "patient, 1 or more visits", "N", 120),
    ("66984", "Removal of cataract with insertion of lens", "N", 540),
    ("17000", "Destruction of skin growth, first lesion", "N", 60),
    ("11721", "Removal of tissue from 6 or more finger or toe nails", "N", 45),
    ("71046", "X-ray of chest, 2 views", "N", 30),
    ("71045", "X-ray of chest, 1 view", "N", 25),
    ("76700", "Ultrasound of abdomen", "N", 110),
    ("77067", "Screening mammography of both breasts (2-view study of each breast), "
              "including computer-aided detection (cad) when performed", "N", 125),
    ("73030", "X-ray of shoulder, minimum of 2 views", "N", 32),
)  # fmt: skip
_RADIOLOGY_OTHER = ("71046", "71045", "76700", "77067", "73030")
_COMMON_CT_MR = {
    "74177": 8, "70450": 8, "71250": 5, "71260": 4, "74176": 4, "74178": 3, "71275": 3,
    "70551": 3, "70553": 3, "72148": 3, "70486": 2, "72131": 2, "73721": 2, "70470": 2,
    "72125": 2, "70498": 1.5, "70496": 1.5, "74174": 1.5, "75574": 1, "72141": 1.5,
}
_SURNAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Patel Shah O'Brien D'Angelo Kim Chen Singh Cohen Murphy Cook Rogers Morgan"
).split()
_FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Susan "
    "Richard Jessica Joseph Sarah Thomas Karen Priya Wei Ana Omar Fatima Luis Grace Ahmed"
).split()
_CITIES = (
    "Charlotte Raleigh Greensboro Durham Winston-Salem Fayetteville Asheville Wilmington "
    "Houston Dallas Philadelphia Pittsburgh Baltimore Newark Denver Albuquerque Tulsa Jackson "
    "Columbus Springfield Franklin Greenville Madison Clinton Salem Fairview"
).split()
_STREETS = ("Main St", "Oak Ave", "Medical Center Dr", "Hospital Blvd", "Park Rd",
            "University Pkwy", "Church St", "Highland Ave")
_RUCA = (
    ("1", "Metropolitan area core: primary flow within an urbanized area of 50,000 and greater"),
    ("2", "Metropolitan area high commuting: primary flow 30% or more to a urbanized area"),
    ("4", "Micropolitan area core: primary flow within an urban cluster of 10,000 to 49,999"),
    ("7", "Small town core: primary flow within an urban cluster of 2,500 to 9,999"),
    ("10", "Rural areas: primary flow to a tract outside a urbanized area or urban cluster"),
    ("10.1", "Rural areas: secondary flow 30% to <50% to a urbanized area"),
)
_OTHER_TYPES = ("Internal Medicine", "Family Practice", "Nurse Practitioner", "Cardiology",
                "Physical Therapist in Private Practice", "Ophthalmology", "Orthopedic Surgery",
                "Physician Assistant", "Dermatology", "Clinical Laboratory")

# Relative weight of each state's providers (approximate share of Medicare
# enrollment, an illustration only).
_STATE_WEIGHTS: dict[str, float] = {
    "AL": 1.6, "AK": 0.2, "AZ": 2.2, "AR": 1.0, "CA": 10.0, "CO": 1.5, "CT": 1.1, "DE": 0.4,
    "DC": 0.2, "FL": 7.5, "GA": 2.8, "HI": 0.4, "ID": 0.6, "IL": 3.5, "IN": 2.0, "IA": 1.0,
    "KS": 0.9, "KY": 1.4, "LA": 1.4, "ME": 0.5, "MD": 1.7, "MA": 2.2, "MI": 3.2, "MN": 1.7,
    "MS": 1.0, "MO": 1.9, "MT": 0.4, "NE": 0.6, "NV": 0.9, "NH": 0.5, "NJ": 2.6, "NM": 0.7,
    "NY": 6.0, "NC": 3.3, "ND": 0.2, "OH": 3.8, "OK": 1.2, "OR": 1.3, "PA": 4.6, "RI": 0.4,
    "SC": 1.7, "SD": 0.3, "TN": 2.2, "TX": 7.0, "UT": 0.7, "VT": 0.2, "VA": 2.6, "WA": 2.3,
    "WV": 0.7, "WI": 1.9, "WY": 0.2, "PR": 0.6,}  # fmt: skip
_ACCUMULATED = ("providers", "benes", "services", "bene_days", "submitted", "allowed", "paid",
                "standardized")


def _csv_quote(values: Sequence[str]) -> list[str]:
    """Minimal CSV quoting (as the CMS files do): only fields with , " or line ends."""
    out = []
    for v in values:
        v = str(v)
        if any(ch in v for ch in ',"\r\n'):
            v = '"' + v.replace('"', '""') + '"'
        out.append(v)
    return out


def _code_table() -> pd.DataFrame:
    """Every code the writer draws: ``cpt_code, description, drug, code_class, price,
    weight`` (3D codes first, then the CT/MR set, then the other codes)."""
    ctmr = ct_mr_codes()
    rows = [(c, _DESC_3D[c], "N", "3D", 25.0 if c == "76376" else 75.0) for c in CODES_3D]
    rows += [
        (r.cpt_code, r.description, "N", r.modality, 60.0 if r.modality == "CT" else 95.0)
        for r in ctmr.itertuples()
    ]
    rows += [(c, d, i, "other", float(p)) for c, d, i, p in _OTHER_CODES]
    table = pd.DataFrame(rows, columns=["cpt_code", "description", "drug", "code_class", "price"])
    return table.assign(
        weight=table["cpt_code"].map(_COMMON_CT_MR).fillna(0.5).where(
            table["code_class"].isin(["CT", "MR"]), 1.0
        ),
    )


def _coprime_steps(m: int) -> np.ndarray:
    """The steps that visit every index of ``range(m)`` once (coprime to ``m``)."""
    return np.array([s for s in range(1, m) if math.gcd(s, m) == 1] or [1])


def _unique_picks(rng, n_per: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """For each owner i, ``n_per[i] <= m`` distinct indices in ``range(m)``."""
    n_per = np.minimum(n_per, m)
    owner = np.repeat(np.arange(n_per.size), n_per)
    j = np.arange(owner.size) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    steps = _coprime_steps(m)
    offset = rng.integers(0, m, size=n_per.size)
    step = steps[rng.integers(0, steps.size, size=n_per.size)]
    return owner, (offset[owner] + j * step[owner]) % m




def write_synthetic_puf(
    path: str | PathLike[str],
    *,
    n_rows: int,
    rng: np.random.Generator,
    layout: Literal["2023+", "with_gender"] = "2023+",
    geography_path: str | PathLike[str] | None = None,
    radiologist_share: float = 0.04,
    state_weights: Mapping[str, float] | None = None,
    bom: bool = False,
    crlf: bool = False,
    chunk_rows: int = 250_000,
) -> dict:
    """Write a synthetic "by Provider and Service" file in the exact real layout.

    Providers are drawn chunk by chunk and written as they are drawn, so any size fits
    in bounded memory (a full-size ~9.7 M-row file in about a minute per million rows
    on one core). Each provider has "true" cells (code x place of service) with
    beneficiary and service counts; cells with 10 or fewer beneficiaries are dropped
    from the provider file as CMS drops them, but kept in the geography totals, so the
    two files disagree exactly by the suppressed services.

    Radiologists (``radiologist_share`` of providers; 15 % of them organizations) read
    CT/MR studies (log-normal volume, popular codes weighted) and bill 3D rendering at
    a practice rate drawn log-normally around 6 % (a minority above 20 %), 76377 less
    often than 76376. Other providers bill office visits, labs, drugs (with fractional
    services) and plain radiography. Amounts are synthetic, not fee-schedule prices.

    Parameters
    ----------
    path : path-like
        Output CSV.
    n_rows : int
        Exact number of data rows to write.
    rng : numpy.random.Generator
    layout : {"2023+", "with_gender"}
        28 columns, or 29 with ``Rndrng_Prvdr_Gndr`` (older data years).
    geography_path : path-like, optional
        Also write the matching "by Geography and Service" file (state rows and
        national rows; rows from 10 or fewer beneficiaries dropped there too).
    radiologist_share : float
    state_weights : mapping, optional
        Relative weight per state abbreviation (default: roughly Medicare enrollment).
    bom, crlf : bool
        Write a UTF-8 BOM / Windows line ends.
    chunk_rows : int
        Rows generated per chunk.

    Returns
    -------
    dict
        ``rows, providers, radiologists, hidden_cells, hidden_services, path,
        geography_path, layout``.
    """
    if layout not in LAYOUTS:
        raise InputError(f"layout must be one of {list(LAYOUTS)}", value=layout)
    if not isinstance(n_rows, int) or n_rows < 0:
        raise InputError("n_rows must be an integer >= 0", value=n_rows)
    columns = LAYOUTS[layout]
    eol = "\r\n" if crlf else "\n"
    codes = _code_table()
    desc = pa.array(_csv_quote(codes["description"]))
    st = pd.DataFrame(STATES, columns=["state", "fips", "name"]).assign(
        weight=lambda t: t["state"].map(_STATE_WEIGHTS))
    if state_weights is not None:
        unknown = set(state_weights) - set(st["state"])
        if unknown:
            raise InputError("unknown state in state_weights", value=sorted(unknown)[0])
        st = st.assign(weight=st["state"].map(state_weights).fillna(0.0))
    # geography accumulators over true cells: [state, code, place]
    acc = {k: np.zeros((len(st), len(codes), 2)) for k in _ACCUMULATED}
    totals = {"rows": 0, "providers": 0, "radiologists": 0, "hidden_cells": 0,
              "hidden_services": 0.0}
    rows = _provider_rows(rng, n_rows=n_rows, chunk_rows=chunk_rows,
                          radiologist_share=radiologist_share, columns=columns, eol=eol,
                          codes=codes, desc=desc, st=st, acc=acc, totals=totals)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as out:
            out.write((("\ufeff" if bom else "") + ",".join(columns) + eol).encode("utf-8"))
            for line in rows:
                _write_string_array(out, line)

    path = Path(path)
    write_atomic(path, write)
    result = {"path": str(path), "layout": layout, **totals, "geography_path": None}
    if geography_path is not None:
        _write_geography(Path(geography_path), acc, st, codes, desc, eol=eol, bom=bom)
        result["geography_path"] = str(geography_path)
    return result


def _provider_rows(
    rng: np.random.Generator,
    *,
    n_rows: int,
    chunk_rows: int,
    radiologist_share: float,
    columns: Sequence[str],
    eol: str,
    codes: pd.DataFrame,
    desc: pa.Array,
    st: pd.DataFrame,
    acc: dict[str, np.ndarray],
    totals: dict[str, float],
) -> Iterator[pa.Array]:
    """The provider file's data lines, chunk by chunk, until there are ``n_rows``.

    Each chunk draws providers and their true cells; the cells with more than 10
    beneficiaries become lines, and every cell (suppressed or not) is added to the
    geography accumulators ``acc``; ``totals`` counts rows, providers and hidden cells.
    """
    n_codes = len(codes)
    shape = (len(st), n_codes, 2)
    cpt = pa.array(codes["cpt_code"].tolist())
    drug = pa.array(codes["drug"].tolist())
    price = codes["price"].to_numpy()
    p_state = (st["weight"] / st["weight"].sum()).to_numpy()
    state_factor = 0.85 + 0.3 * rng.random(len(st))
    npi_start = 100_000_000 + int(rng.integers(0, 10_000_000))
    while totals["rows"] < n_rows:
        # ~ 8.8 visible rows per provider on average across the file
        n_prov = max(50, int(chunk_rows / 8.0))
        is_rad = rng.random(n_prov) < radiologist_share
        is_org = rng.random(n_prov) < np.where(is_rad, 0.15, 0.04)
        s_idx = rng.choice(len(st), size=n_prov, p=p_state)
        owner, code, place, benes, services = _true_cells(rng, is_rad, codes)
        visible = benes > SUPPRESSED_MAX_BENEFICIARIES
        # truncate to exactly n_rows: drop the surplus visible rows' cells entirely
        room = n_rows - totals["rows"]
        if visible.sum() > room:
            cut = np.flatnonzero(visible)[room] if room > 0 else 0
            keep_cells = np.arange(owner.size) < cut
            owner, code, place, benes, services, visible = (
                a[keep_cells] for a in (owner, code, place, benes, services, visible))
            last_owner = owner.max() + 1 if owner.size else 0
        else:
            last_owner = n_prov
        bene_days = np.maximum(np.minimum(np.floor(services * rng.uniform(0.9, 1.0,
                                                                          services.size)),
                                          services), np.minimum(benes, services))
        pr_state = s_idx[owner]
        avg_allowed = np.round(price[code] * state_factor[pr_state]
                               * np.where(place == 0, 0.45, 1.0)
                               * rng.lognormal(0, 0.08, code.size), 8)
        avg_paid = np.round(avg_allowed * rng.uniform(0.77, 0.8, code.size), 8)
        avg_sub = np.round(avg_allowed * rng.uniform(1.5, 4.5, code.size), 8)
        avg_std = np.round(avg_allowed / state_factor[pr_state], 8)
        flat = (pr_state * n_codes + code) * 2 + place
        first_cell = np.r_[True, (flat[1:] != flat[:-1]) | (owner[1:] != owner[:-1])]
        for key, values in (("providers", first_cell.astype(float)), ("benes", benes),
                            ("services", services), ("bene_days", bene_days),
                            ("submitted", services * avg_sub),
                            ("allowed", services * avg_allowed),
                            ("paid", services * avg_paid),
                            ("standardized", services * avg_std)):
            acc[key] += np.bincount(flat, weights=values, minlength=acc[key].size).reshape(
                shape)
        totals["hidden_cells"] += int((~visible).sum())
        totals["hidden_services"] += float(services[~visible].sum())
        totals["providers"] += int(last_owner)
        totals["radiologists"] += int(is_rad[:last_owner].sum())
        prov_cols = _provider_fields(rng, is_rad, is_org, s_idx, st, npi_start=npi_start)
        npi_start += 7 * n_prov
        vis = np.flatnonzero(visible)
        o = pa.array(owner[vis])
        c = pa.array(code[vis])
        num = {
            "Tot_Benes": benes[vis].astype(np.int64), "Tot_Srvcs": services[vis],
            "Tot_Bene_Day_Srvcs": bene_days[vis].astype(np.int64),
            "Avg_Sbmtd_Chrg": avg_sub[vis], "Avg_Mdcr_Alowd_Amt": avg_allowed[vis],
            "Avg_Mdcr_Pymt_Amt": avg_paid[vis], "Avg_Mdcr_Stdzd_Amt": avg_std[vis],
        }
        cols = []
        for name in columns:
            if name in prov_cols:
                cols.append(prov_cols[name].take(o))
            elif name == "HCPCS_Cd":
                cols.append(cpt.take(c))
            elif name == "HCPCS_Desc":
                cols.append(desc.take(c))
            elif name == "HCPCS_Drug_Ind":
                cols.append(drug.take(c))
            elif name == "Place_Of_Srvc":
                cols.append(pa.array(np.where(place[vis] == 0, "F", "O")))
            else:
                cols.append(pa.array(num[name]).cast(pa.string()))
        if vis.size:
            line = pc.binary_join_element_wise(*cols, ",")
            yield pc.binary_join_element_wise(line, "", eol)
        totals["rows"] += int(vis.size)


def _true_cells(
    rng: np.random.Generator, is_rad: np.ndarray, codes: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every true cell (provider x code x place of service) of a chunk's providers.

    Returns ``owner, code, place, benes, services`` (``place`` 0 = facility, 1 =
    office), sorted by owner, code and place; suppression is applied by the caller.
    """
    n_prov = is_rad.size
    idx_ctmr = np.flatnonzero(codes["code_class"].isin(["CT", "MR"]).to_numpy())
    idx_other = np.flatnonzero(codes["code_class"].eq("other").to_numpy())
    idx_rad_other = np.flatnonzero(codes["cpt_code"].isin(_RADIOLOGY_OTHER).to_numpy())
    idx_3d = np.array([0, 1])
    ctmr_weight = codes["weight"].to_numpy()[idx_ctmr]
    # -- cells of other (non-CT/MR) codes
    n_other = np.where(is_rad, rng.poisson(2.0, n_prov), 1 + rng.poisson(18.0, n_prov))
    own_o, pick_o = _unique_picks(rng, n_other, 2 * len(idx_other))
    rad_o = is_rad[own_o]
    code_o = np.where(rad_o, idx_rad_other[pick_o // 2 % len(idx_rad_other)],
                      idx_other[pick_o // 2])
    place_o = pick_o % 2
    benes_o = np.floor(rng.lognormal(2.2, 1.1, own_o.size)) + 1
    spb_o = 1 + rng.gamma(0.6, 0.8, own_o.size)
    # -- radiologists' CT/MR cells, per place of service
    rad_ids = np.flatnonzero(is_rad)
    profile = rng.choice(3, size=rad_ids.size, p=[0.7, 0.1, 0.2])  # F, O, both
    places = [(rad_ids[profile != 1], 0), (rad_ids[profile != 0], 1)]
    own_c, code_c, place_c, svc_c = [], [], [], []
    rate_3d = np.minimum(rng.lognormal(np.log(0.06), 0.85, n_prov), 0.6)
    share_77 = rng.beta(2, 6, n_prov)
    for ids, pl in places:
        if ids.size == 0:
            continue
        volume = rng.lognormal(np.log(2500 if pl == 0 else 900), 0.7, ids.size)
        n_c = rng.integers(12, 70, ids.size)
        own, pick = _unique_picks(rng, n_c, len(idx_ctmr))
        w = ctmr_weight[pick] * rng.gamma(2.0, 0.5, pick.size)
        wsum = np.bincount(own, weights=w, minlength=ids.size)
        svc = np.round(volume[own] * w / wsum[own])
        prov = ids[own]
        own_c.append(prov)
        code_c.append(idx_ctmr[pick])
        place_c.append(np.full(prov.size, pl))
        svc_c.append(svc)
        tot = np.bincount(own, weights=svc, minlength=ids.size)
        svc3 = tot * rate_3d[ids]
        for k, share in ((0, 1 - share_77[ids]), (1, share_77[ids])):
            own_c.append(ids)
            code_c.append(np.full(ids.size, idx_3d[k]))
            place_c.append(np.full(ids.size, pl))
            svc_c.append(np.round(svc3 * share * rng.lognormal(0, 0.2, ids.size)))
    if own_c:
        own_c = np.concatenate(own_c)
        code_c, place_c = np.concatenate(code_c), np.concatenate(place_c)
        svc_c = np.concatenate(svc_c)
    else:
        own_c = code_c = place_c = np.zeros(0, np.int64)
        svc_c = np.zeros(0)
    benes_c = np.maximum(np.round(svc_c / rng.uniform(1.0, 1.25, svc_c.size)),
                         np.minimum(svc_c, 1))
    # -- all true cells
    owner = np.concatenate([own_o, own_c]).astype(np.int64)
    code = np.concatenate([code_o, code_c]).astype(np.int64)
    place = np.concatenate([place_o, place_c]).astype(np.int64)
    benes = np.concatenate([benes_o, benes_c])
    services = np.concatenate([np.round(benes_o * spb_o), svc_c])
    fractional = rng.random(services.size) < np.where(
        codes["drug"].to_numpy()[code] == "Y", 0.6, 0.01)
    services = services + np.where(fractional, rng.choice([0.25, 0.5, 0.75],
                                                          services.size), 0.0)
    live = services > 0
    owner, code, place, benes, services = (a[live] for a in
                                           (owner, code, place, benes, services))
    order = np.lexsort((place, code, owner))
    return tuple(a[order] for a in (owner, code, place, benes, services))


def _provider_fields(
    rng: np.random.Generator,
    is_rad: np.ndarray,
    is_org: np.ndarray,
    s_idx: np.ndarray,
    st: pd.DataFrame,
    *,
    npi_start: int,
) -> dict[str, pa.Array]:
    """Who each of a chunk's providers is: the provider columns, one value per provider.

    Strings are CSV-quoted where needed. NPIs are distinct and check-digit valid: the
    stems rise from ``npi_start`` in steps of 1 to 7.
    """
    n_prov = is_rad.size
    surnames, firsts = np.array(_csv_quote(_SURNAMES)), np.array(_FIRST)
    cities = np.array(_CITIES)
    other_types = pa.array(_csv_quote(_OTHER_TYPES))
    stems = npi_start + np.arange(n_prov, dtype=np.int64) * 7 + rng.integers(0, 7, size=n_prov)
    npis = pa.array(with_check_digit(stems).astype(str))
    sur = surnames[rng.integers(0, surnames.size, n_prov)]
    city = cities[rng.integers(0, cities.size, n_prov)]
    org_name = np.char.add(np.char.add(np.char.add('"', sur), np.where(
        is_rad, " Radiology Associates, PA\"", " Medical Group, LLC\"")), "")
    last = np.where(is_org, org_name, sur)
    first = np.where(is_org, "", firsts[rng.integers(0, firsts.size, n_prov)])
    mi = np.where(is_org | (rng.random(n_prov) < 0.3), "",
                  np.array(list("ABCDEFGHJKLMNPRSTW"))[rng.integers(0, 18, n_prov)])
    cred = np.where(is_org, "", np.where(is_rad, "M.D.", np.array(
        ["M.D.", "MD", "D.O.", "NP", "PA-C", ""])[rng.integers(0, 6, n_prov)]))
    gender = np.where(is_org, "", np.array(["M", "F"])[rng.integers(0, 2, n_prov)])
    st1 = np.char.add(np.char.add(rng.integers(1, 9999, n_prov).astype(str), " "),
                      np.array(_STREETS)[rng.integers(0, len(_STREETS), n_prov)])
    st2 = np.where(rng.random(n_prov) < 0.3, np.char.add(
        "Suite ", rng.integers(100, 999, n_prov).astype(str)), "")
    zip5 = np.char.zfill(rng.integers(0, 99999, n_prov).astype(str), 5)
    ruca_i = pa.array(rng.integers(0, len(_RUCA), n_prov))
    ptype = np.where(is_rad, np.where(is_org & (rng.random(n_prov) < 0.5),
                                      "Independent Diagnostic Testing Facility (IDTF)",
                                      "Diagnostic Radiology"), "")
    ptype_arr = pc.if_else(pa.array(is_rad), pa.array(ptype), other_types.take(
        pa.array(rng.integers(0, len(other_types), n_prov))))
    state = pa.array(s_idx)
    return {
        "Rndrng_NPI": npis, "Rndrng_Prvdr_Last_Org_Name": pa.array(last),
        "Rndrng_Prvdr_First_Name": pa.array(first), "Rndrng_Prvdr_MI": pa.array(mi),
        "Rndrng_Prvdr_Crdntls": pa.array(cred), "Rndrng_Prvdr_Gndr": pa.array(gender),
        "Rndrng_Prvdr_Ent_Cd": pa.array(np.where(is_org, "O", "I")),
        "Rndrng_Prvdr_St1": pa.array(st1), "Rndrng_Prvdr_St2": pa.array(st2),
        "Rndrng_Prvdr_City": pa.array(city),
        "Rndrng_Prvdr_State_Abrvtn": pa.array(st["state"].tolist()).take(state),
        "Rndrng_Prvdr_State_FIPS": pa.array(st["fips"].tolist()).take(state),
        "Rndrng_Prvdr_Zip5": pa.array(zip5),
        "Rndrng_Prvdr_RUCA": pa.array([r[0] for r in _RUCA]).take(ruca_i),
        "Rndrng_Prvdr_RUCA_Desc": pa.array(_csv_quote([r[1] for r in _RUCA])).take(ruca_i),
        "Rndrng_Prvdr_Cntry": pa.array(np.full(n_prov, "US")),
        "Rndrng_Prvdr_Type": ptype_arr,
        "Rndrng_Prvdr_Mdcr_Prtcptg_Ind": pa.array(np.full(n_prov, "Y")),
    }


def _write_string_array(out, array: pa.Array) -> None:
    """Write the concatenated values of a null-free string array."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset:
                                                               array.offset + len(array) + 1]
    data = array.buffers()[2]
    out.write(memoryview(data)[offsets[0]:offsets[-1]])


def _write_geography(path, acc, st, codes, desc_quoted, *, eol, bom) -> None:
    """The geography file: national and state rows of the accumulated true cells."""
    level_rows = []
    for level in ("National", "State"):
        if level == "National":
            agg = {k: v.sum(axis=0)[None] for k, v in acc.items()}
            geo = [("", "National")]
        else:
            agg = acc
            geo = list(zip(st["fips"], st["name"], strict=True))
        g, c, p = np.nonzero(agg["benes"] > SUPPRESSED_MAX_BENEFICIARIES)
        for gi, ci, pi in zip(g, c, p, strict=True):
            s = agg["services"][gi, ci, pi]
            level_rows.append([
                level, geo[gi][0], geo[gi][1], codes["cpt_code"].iat[ci],
                desc_quoted[ci].as_py(), codes["drug"].iat[ci], "FO"[pi],
                str(int(agg["providers"][gi, ci, pi])), str(int(agg["benes"][gi, ci, pi])),
                _num(s), str(int(agg["bene_days"][gi, ci, pi])),
                _num(agg["submitted"][gi, ci, pi] / s), _num(agg["allowed"][gi, ci, pi] / s),
                _num(agg["paid"][gi, ci, pi] / s), _num(agg["standardized"][gi, ci, pi] / s),
            ])
    text = ",".join(GEOGRAPHY_SERVICE_COLUMNS) + eol
    text += "".join(",".join(r) + eol for r in level_rows)
    write_bytes(path, (("\ufeff" if bom else "") + text).encode("utf-8"))


def _num(value: float) -> str:
    """A number as the CMS files print it: at most 8 decimals, no trailing ``.0``."""
    return repr(float(np.round(value, 8))).removesuffix(".0")
