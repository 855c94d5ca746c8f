"""Views of the LCD-benchmark screen for shown tables: the flagged, and the variants.

How the picture changes with chance, the cancer-evaluation exception and the basis of
the rate is part of every report that shows the screen (:func:`screen_variants`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis import lcd

__all__ = ["flagged_practices", "screen_variants"]


def flagged_practices(result, *, limit: int | None = None) -> list[str]:
    """Practices flagged by a screen, most significant first."""
    t = result.table.loc[result.table["flag"]].sort_values(["q_value", "practice_id"])
    ids = t["practice_id"].astype(str).tolist()
    return ids if limit is None else ids[:limit]


def screen_variants(
    summary: pd.DataFrame, *, quarterly: pd.DataFrame | None = None, **options: Any
) -> pd.DataFrame:
    """How the LCD-benchmark picture changes with chance, the cancer exception and basis.

    Rows: practices whose raw rate is above the threshold (no test), beyond chance (the
    exact test with BH control) and flagged (the screen's leading tier: beyond the usual
    variation between practices when they vary beyond chance, else beyond chance) (a)
    with oncology encounters exempt (the default screen), (b) without the exemption, (c)
    on the services basis (what the Medicare PUF allows). ``options`` go to
    :func:`analysis.lcd.screen` (threshold, alpha, ...).

    Returns
    -------
    DataFrame
        ``variant, basis, oncology_exempt, n_practices_screened,
        n_practices_above_threshold, n_practices_beyond_chance, n_practices_flagged,
        flagged`` (practice ids, comma separated).
    """
    options = {k: v for k, v in options.items() if k not in ("basis", "exempt_oncology")}
    variants = [
        ("oncology exempt (default)", "encounters", True),
        ("oncology not exempt", "encounters", False),
        ("services basis", "services", False),
    ]
    rows = []
    for label, basis, exempt in variants:
        r = lcd.screen(summary, basis=basis, exempt_oncology=exempt, quarterly=quarterly,
                       **options)
        t = r.table.loc[r.table["screened"]]
        rows.append({
            "variant": label, "basis": basis, "oncology_exempt": exempt,
            "n_practices_screened": int(len(t)),
            "n_practices_above_threshold": int((t["rate"] > r.settings.threshold).sum()),
            "n_practices_beyond_chance": int(t["beyond_chance"].sum()),
            "n_practices_flagged": int(t["flag"].sum()),
            "flagged": ", ".join(sorted(t.loc[t["flag"], "practice_id"].astype(str))),
        })
    return pd.DataFrame(rows)

