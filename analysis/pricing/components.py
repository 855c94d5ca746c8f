"""The PFS component of a line from its modifiers, and its setting from its place of
service.

- **Component**: ``"global"`` (no payment modifier), ``"26"`` (professional) or
  ``"TC"`` (technical), read from the line's modifiers
  (:func:`component_from_modifiers`).
- **Setting**: ``"facility"`` when the place of service is one of the CMS facility
  settings listed in ``data/reference/pos_facility.csv`` (hospital inpatient and
  outpatient, ED, ASC, SNF, ...), otherwise ``"non_facility"``
  (:func:`setting_from_pos`). A line without a place of service is priced
  non-facility [assumption]: the non-facility rate is the PFS amount for services
  not known to be furnished in a facility, and it is the only setting in which a
  global or -TC imaging service is paid under the PFS.

References
----------
CMS, Medicare Claims Processing Manual (Pub. 100-04), Chapter 12, section 20.4.2,
"Site of Service Payment Differential".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import InputError, first_bad_row
from analysis.pricing.tables import facility_pos_codes

__all__ = [
    "COMPONENTS",
    "MODIFIER_OF_COMPONENT",
    "SETTINGS",
    "component_from_modifiers",
    "setting_from_pos",
]

COMPONENTS: tuple[str, str, str] = ("global", "26", "TC")
"""The PFS components: global, professional (-26) and technical (-TC)."""
SETTINGS: tuple[str, str] = ("non_facility", "facility")
"""The PFS settings, each with its own practice expense RVU."""
MODIFIER_OF_COMPONENT: dict[str, str] = {"global": "", "26": "26", "TC": "TC"}
"""The RVU file's ``modifier`` of each component."""



def component_from_modifiers(modifiers: pd.Series, *, errors: str = "raise") -> pd.Series:
    """The PFS component of each line from its modifiers.

    ``"26"`` when modifier 26 is present, ``"TC"`` when TC is, otherwise (no
    modifier, missing, or only other modifiers such as 59) ``"global"``. Modifiers may
    be separated by spaces, commas, semicolons, ``|``, ``/`` or ``+``, be lower case,
    carry a ``.0`` from a spreadsheet (``26.0``), or be run together (``2659``:
    modifiers are always two characters).

    Parameters
    ----------
    modifiers : Series
    errors : {"raise", "coerce"}
        A line with both 26 and TC is contradictory: raise :class:`InputError`
        naming it, or (``"coerce"``) return missing for it.

    Returns
    -------
    Series of string dtype, same index.

    Examples
    --------
    >>> component_from_modifiers(pd.Series(["26", "TC", "26 59", "59,TC", None, "59"])).tolist()
    ['26', 'TC', '26', 'TC', 'global', 'global']
    """
    if errors not in ("raise", "coerce"):
        raise ValueError("errors must be 'raise' or 'coerce'")
    original = pd.Series(modifiers, copy=False)
    s = original.astype("string").str.upper()
    s = s.str.replace(r"(?<![0-9A-Z.])(\d+)\.0+(?![0-9A-Z])", r"\1", regex=True)
    tokens = " " + s.str.replace(r"[^0-9A-Z]+", " ", regex=True).str.strip() + " "

    def has(mod: str) -> pd.Series:
        pattern = rf" (?:[0-9A-Z]{{2}})*{mod}(?:[0-9A-Z]{{2}})* "
        return tokens.str.contains(pattern, regex=True).fillna(False).astype(bool)

    has26, has_tc = has("26"), has("TC")
    both = has26 & has_tc
    result = pd.Series(
        np.where(has26, "26", np.where(has_tc, "TC", "global")),
        index=original.index,
        dtype="string",
    )
    if both.any():
        if errors == "raise":
            i = first_bad_row(both)
            raise InputError(
                f"modifiers 26 and TC together on one line (line index {original.index[i]!r}; "
                f"{int(both.sum())} such lines): bill the global service or one component",
                column="modifiers",
                value=original.iloc[i],
            )
        result = result.mask(both)
    return result



def setting_from_pos(place_of_service: pd.Series, *, errors: str = "raise") -> pd.Series:
    """``"facility"`` or ``"non_facility"`` from the CMS 2-digit place of service.

    Facility: the places of service in ``data/reference/pos_facility.csv`` (hospital
    inpatient 21, outpatient 19/22, ED 23, ASC 24, SNF 31, ...; Medicare Claims
    Processing Manual, Ch. 12, section 20.4.2). Every other valid code (office 11,
    independent diagnostic testing facility 81, ...) is non-facility. A missing or
    blank place of service is non-facility [assumption; see the module docstring].
    ``2`` and ``22.0`` are read as ``02`` and ``22``.

    Parameters
    ----------
    place_of_service : Series
    errors : {"raise", "coerce"}
        A value that is not a 1-2 digit code: raise :class:`InputError`, or
        (``"coerce"``) return missing for it.

    Examples
    --------
    >>> setting_from_pos(pd.Series(["11", "22", "2", None, "81", "23.0"])).tolist()
    ['non_facility', 'facility', 'facility', 'non_facility', 'non_facility', 'facility']
    """
    if errors not in ("raise", "coerce"):
        raise ValueError("errors must be 'raise' or 'coerce'")
    original = pd.Series(place_of_service, copy=False)
    s = original.astype("string").str.strip().str.replace(r"\.0*$", "", regex=True)
    blank = s.isna() | s.eq("")
    s = s.mask(s.str.fullmatch(r"\d").fillna(False).astype(bool), s.str.zfill(2))
    valid = s.str.fullmatch(r"\d{2}").fillna(False).astype(bool)
    facility = s.isin(facility_pos_codes()).fillna(False).to_numpy(dtype=bool)
    result = pd.Series(
        np.where(facility, "facility", "non_facility"), index=original.index, dtype="string"
    )
    bad = ~blank & ~valid
    if bad.any():
        if errors == "raise":
            i = first_bad_row(bad)
            raise InputError(
                f"not a CMS 2-digit place of service code (line index {original.index[i]!r})",
                column="place_of_service",
                value=original.iloc[i],
            )
        result = result.mask(bad)
    return result

