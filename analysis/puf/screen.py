"""The services-basis LCD screen of provider-file practices, with suppression bounds.

:func:`summarize_puf` turns provider-file rows into the additive practice summary the
screen of :mod:`analysis.lcd` runs on (services basis: the file has no patients or
encounters), with the hidden-cell maxima of :mod:`analysis.puf.suppression`;
:func:`screen_puf` runs that screen at the visible counts and at both bounds and says
which flags are robust to the suppression.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from analysis import lcd, plots
from analysis.defaults import LCD_BENCHMARK
from analysis.errors import InputError
from analysis.puf.jurisdictions import state_jurisdictions
from analysis.puf.read import code_classes
from analysis.puf.suppression import (
    SuppressionBounds,
    hidden_cells,
    rate_bounds,
)

__all__ = ["PufScreen", "screen_puf", "summarize_puf"]

_SUMMARY_SUMS = [
    "ct_mr_units", "ct_units", "mr_units", "units_3d_76376", "units_3d_76377",
    "allowed_3d_76376_usd", "allowed_3d_76377_usd", "paid_3d_usd", "ct_mr_allowed_usd",
]  # fmt: skip


def summarize_puf(
    lines: pd.DataFrame,
    *,
    period: str | int,
    bounds: SuppressionBounds | None = None,
    codes: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The services-basis summary per practice from provider-file rows.

    Parameters
    ----------
    lines : DataFrame
        :attr:`PufRead.lines` or :attr:`PracticeRollup.lines` (without a
        ``practice_id`` column each rendering NPI is its own practice).
    period : str or int
        The data year of the file (the file does not say), e.g. ``"2023"``.
    bounds : SuppressionBounds, optional
        How hidden cells are bounded (default :class:`SuppressionBounds()`).
    codes : iterable of str, optional
        The code set the rows were read with (default CT/MR + 3D), to count the
        CT/MR cells that could be hidden.

    Returns
    -------
    DataFrame
        One row per ``practice_id, period, payer`` (``payer = "MEDICARE"``), the
        column names of :mod:`analysis.summary` where they mean the same thing and
        every other column a count or a sum, so summaries of disjoint practice
        partitions add up: ``n_rendering_npis, n_rows, ct_mr_units, ct_units, mr_units,
        units_3d_76376, units_3d_76377`` (services, may be fractional),
        ``allowed_3d_76376_usd, allowed_3d_76377_usd, paid_3d_usd,
        ct_mr_allowed_usd``, ``hidden_cells_3d, hidden_cells_ct_mr`` (code x place
        cells without a visible row, see :mod:`analysis.puf`) and
        ``hidden_3d_units_max, hidden_ct_mr_units_max`` (cells x
        :attr:`SuppressionBounds.services_per_hidden_cell`).

    Examples
    --------
    One NPI, facility only: 3 visible CT/MR codes (1,000 services) and 76376 (150).
    The CT/MR set has K codes, so K - 3 CT/MR cells and one 3D cell (76377) are hidden;
    hidden_3d_units_max = 1 x 20 = 20.
    """
    bounds = bounds or SuppressionBounds()
    period = str(period)
    keep_codes, classes = code_classes(codes)
    n_ct_mr_codes = sum(1 for c in keep_codes if classes[c] in ("CT", "MR"))
    frame = lines if "practice_id" in lines.columns else lines.assign(
        practice_id=lines["rendering_npi"])
    frame = frame.assign(
        code_class=frame["cpt_code"].map(classes).fillna("other"),
    )
    services = frame["services"]
    allowed = frame["allowed_usd"]
    is_ctmr = frame["code_class"].isin(["CT", "MR"])
    contrib = frame.assign(
        ct_mr_units=services.where(is_ctmr, 0.0),
        ct_units=services.where(frame["code_class"].eq("CT"), 0.0),
        mr_units=services.where(frame["code_class"].eq("MR"), 0.0),
        units_3d_76376=services.where(frame["cpt_code"].eq("76376"), 0.0),
        units_3d_76377=services.where(frame["cpt_code"].eq("76377"), 0.0),
        allowed_3d_76376_usd=allowed.where(frame["cpt_code"].eq("76376"), 0.0),
        allowed_3d_76377_usd=allowed.where(frame["cpt_code"].eq("76377"), 0.0),
        paid_3d_usd=frame["paid_usd"].where(frame["code_class"].eq("3D"), 0.0),
        ct_mr_allowed_usd=allowed.where(is_ctmr, 0.0),
    )
    sums = (
        contrib.groupby("practice_id", observed=True)[_SUMMARY_SUMS]
        .sum()
        .join(contrib.groupby("practice_id", observed=True).agg(
            n_rendering_npis=("rendering_npi", "nunique"), n_rows=("rendering_npi", "size")))
    )
    hidden = hidden_cells(frame, bounds=bounds, n_ct_mr_codes=n_ct_mr_codes)
    per_practice = (
        hidden.groupby("practice_id", observed=True)[["hidden_cells_3d", "hidden_cells_ct_mr"]]
        .sum()
    )
    out = (
        sums.join(per_practice)
        .fillna({"hidden_cells_3d": 0, "hidden_cells_ct_mr": 0})
        .reset_index()
    )
    cell = bounds.services_per_hidden_cell
    out = out.assign(
        period=period,
        payer="MEDICARE",
        n_rendering_npis=out["n_rendering_npis"].astype("int64"),
        n_rows=out["n_rows"].astype("int64"),
        hidden_cells_3d=out["hidden_cells_3d"].astype("int64"),
        hidden_cells_ct_mr=out["hidden_cells_ct_mr"].astype("int64"),
        hidden_3d_units_max=out["hidden_cells_3d"] * cell,
        hidden_ct_mr_units_max=out["hidden_cells_ct_mr"] * cell,
    )
    first = ["practice_id", "period", "payer", "n_rendering_npis", "n_rows"]
    rest = [c for c in out.columns if c not in first]
    return (
        out.loc[:, first + rest]
        .astype({"practice_id": "string", "period": "string", "payer": "string"})
        .sort_values("practice_id")
        .reset_index(drop=True)
    )


def _practice_attributes(lines: pd.DataFrame) -> pd.DataFrame:
    """Per practice: name, main state (most services), its MAC and jurisdiction."""
    frame = lines if "practice_id" in lines.columns else lines.assign(
        practice_id=lines["rendering_npi"], practice_name=lines["provider_name"]
    )
    if "practice_name" not in frame.columns:
        frame = frame.assign(practice_name=frame["provider_name"])
    by_state = (
        frame.groupby(["practice_id", "state"], observed=True)["services"].sum().reset_index()
        .sort_values(["practice_id", "services", "state"], ascending=[True, False, True])
        .drop_duplicates("practice_id")
        .loc[:, ["practice_id", "state"]]
    )
    names = frame.drop_duplicates("practice_id").loc[:, ["practice_id", "practice_name"]]
    out = names.merge(by_state, on="practice_id", how="left")
    return out.merge(state_jurisdictions(), on="state", how="left")


@dataclass(frozen=True)
class PufScreen:
    """The services-basis LCD screen of provider-file practices, with suppression bounds.

    Attributes
    ----------
    table : DataFrame
        One row per practice: ``practice_id, practice_name, state, mac, jurisdiction``
        (when rows were given), ``n_rendering_npis``, ``n_ct_mr`` (CT/MR services),
        ``n_3d`` (3D services), ``unit`` (``"services"``), ``rate, rate_lower,
        rate_upper`` (see :mod:`analysis.puf`), ``ci_low, ci_high,
        p_value, q_value, flag`` (the screen on visible rows), ``flag_at_lower,
        flag_at_upper`` (the same screen with every practice at its lower / upper
        bound), ``robust`` (the flag is the same at both bounds) and ``flag_status``,
        plus the hidden-cell columns of the summary, ``shrunken_rate, prob_above,
        percentile, excess_n_3d, excess_usd``.
    observed, at_lower, at_upper : analysis.lcd.ScreenResult
        The three screens.
    bounds : SuppressionBounds
    """

    table: pd.DataFrame
    observed: object
    at_lower: object
    at_upper: object
    bounds: SuppressionBounds

    @property
    def summary(self) -> pd.DataFrame:
        """Practices per flag status."""
        return (
            self.table["flag_status"].value_counts().rename_axis("flag_status")
            .reset_index(name="n_practices")
        )

    @property
    def headline(self) -> str:
        """One sentence: practices screened, flagged, and flagged robustly."""
        t = self.table
        return (
            f"{int(t['screened'].sum())} providers screened on the services basis, "
            f"{int(t['flag'].sum())} flagged, {int((t['flag'] & t['robust']).sum())} of them "
            f"robust to the file's suppression of rows from <= "
            f"{self.bounds.max_hidden_beneficiaries} beneficiaries."
        )

    def to_dict(self) -> dict:
        """The counts, the bounds and the observed screen, for manifests."""
        t = self.table
        return {
            "headline": self.headline,
            "n_screened": int(t["screened"].sum()),
            "n_flagged": int(t["flag"].sum()),
            "n_flagged_robust": int((t["flag"] & t["robust"]).sum()),
            "n_not_flagged_not_robust": int((~t["flag"] & ~t["robust"] & t["screened"]).sum()),
            "flag_status": dict(zip(self.summary["flag_status"], self.summary["n_practices"],
                                    strict=True)),
            "bounds": self.bounds.to_dict(),
            "screen": self.observed.to_dict(),
        }

    def _repr_html_(self) -> str:
        cols = ["practice_id", "practice_name", "state", "n_ct_mr", "n_3d", "rate",
                "rate_lower", "rate_upper", "q_value", "flag", "flag_status"]
        cols = [c for c in cols if c in self.table.columns]
        shown = self.table.loc[:, cols].sort_values(["q_value", "practice_id"], na_position="last")
        fmt = {c: "{:.1%}".format for c in ("rate", "rate_lower", "rate_upper")}
        fmt["q_value"] = "{:.3g}".format
        funnel = (plots.figure_html(plots.funnel_plot(self.observed))
                  if self.observed.n_screened else "")
        return (
            f"<p><b>{html.escape(self.headline)}</b></p>" + funnel
            + self.summary.to_html(index=False)
            + shown.head(50).to_html(index=False, formatters=fmt, na_rep="–")
        )


_STATUS = {
    (True, True): "flag robust to suppression",
    (True, False): "flag not robust: hidden CT/MR rows could explain it",
    (False, True): "not flagged, robust",
    (False, False): "not flagged, not robust: hidden 3D rows could flag it",
}


def _beyond_chance(result: lcd.ScreenResult) -> lcd.ScreenResult:
    """The screen with ``flag`` = beyond chance (the exact test with BH control). The
    suppression bounds rest on BH q-values being monotone in each practice's counts; the
    tier beyond the usual variation is not (raising one practice's counts changes the
    overdispersion every practice is judged against), so the PUF screen flags by the
    exact test and shows the tiers beside it."""
    table = result.table.assign(flag=result.table["beyond_chance"])
    return dataclasses.replace(result, table=table)


def screen_puf(
    summary: pd.DataFrame,
    *,
    lines: pd.DataFrame | None = None,
    threshold: float = LCD_BENCHMARK,
    bounds: SuppressionBounds | None = None,
    **screen_options,
) -> PufScreen:
    """Run the services-basis LCD screen at the visible counts and at both bounds.

    Calls :func:`analysis.lcd.screen` (``basis="services"``) three times: on the
    visible counts, with every practice's CT/MR services raised by its hidden maximum
    (the lower bound of its rate) and with its 3D services raised by its hidden
    maximum (the upper bound; the hidden 3D services are added to the 76376 column
    because only the sum enters the services basis). Fractional services (the file's
    ``Tot_Srvcs`` can be fractional) are rounded to whole services by
    :func:`analysis.lcd.screen`. Benjamini-Hochberg q-values
    are monotone in every p-value, so ``flag_at_lower <= flag <= flag_at_upper``;
    a flag (or a non-flag) is *robust* when both bounds agree.

    Parameters
    ----------
    summary : DataFrame
        :func:`summarize_puf` output.
    lines : DataFrame, optional
        The rows the summary came from, to add practice name, state, MAC and
        jurisdiction.
    threshold : float
        The benchmark share (0.20, retired LCD L35408).
    bounds : SuppressionBounds, optional
        Only recorded (the summary's hidden-maximum columns already carry them).
    **screen_options
        Passed to :func:`analysis.lcd.screen` (``alpha``, ``ci``, ...).
    """
    bounds = bounds or SuppressionBounds()
    needed = ["hidden_3d_units_max", "hidden_ct_mr_units_max"]
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise InputError("the summary has no hidden-cell columns: use summarize_puf",
                         column=missing[0])
    options = {"threshold": threshold, "basis": "services", **screen_options}
    # lcd.screen rounds the (possibly fractional) service counts to whole services;
    # the hidden maxima are rounded here so that adding them keeps counts whole.
    summary = summary.assign(**{c: summary[c].astype(float).round() for c in needed})
    observed = _beyond_chance(lcd.screen(summary, **options))
    at_lower = _beyond_chance(lcd.screen(
        summary.assign(ct_mr_units=summary["ct_mr_units"] + summary["hidden_ct_mr_units_max"]),
        **options,
    ))
    at_upper = _beyond_chance(lcd.screen(
        summary.assign(
            units_3d_76376=summary["units_3d_76376"] + summary["hidden_3d_units_max"]
        ),
        **options,
    ))
    keys = ["practice_id"]
    lower = at_lower.table.loc[:, keys + ["flag"]].rename(columns={"flag": "flag_at_lower"})
    upper = at_upper.table.loc[:, keys + ["flag"]].rename(columns={"flag": "flag_at_upper"})
    hidden = (
        summary.astype({"practice_id": str})
        .groupby("practice_id")[["hidden_cells_3d", "hidden_cells_ct_mr", "hidden_3d_units_max",
                                 "hidden_ct_mr_units_max", "n_rendering_npis"]]
        .sum()
        .reset_index()
    )
    t = observed.table.merge(lower, on=keys).merge(upper, on=keys).merge(hidden, on=keys)
    rate_lower, rate_upper = rate_bounds(t["n_3d"], t["n_ct_mr"], t["hidden_3d_units_max"],
                                         t["hidden_ct_mr_units_max"])
    robust = t["flag_at_lower"] == t["flag_at_upper"]
    status = [
        "not screened: no CT/MR services" if not s else _STATUS[(bool(f), bool(r))]
        for s, f, r in zip(t["screened"], t["flag"], robust, strict=True)
    ]
    t = t.assign(rate_lower=rate_lower, rate_upper=rate_upper, robust=robust.to_numpy(),
                 flag_status=pd.Series(status, index=t.index, dtype="string"))
    if lines is not None:
        t = _practice_attributes(lines).astype({"practice_id": str}).merge(
            t, on="practice_id", how="right"
        )
    front = [c for c in ["practice_id", "practice_name", "state", "mac", "jurisdiction",
                         "n_rendering_npis", "screened", "n_ct_mr", "n_3d", "unit", "rate",
                         "rate_lower", "rate_upper", "ci_low", "ci_high", "p_value",
                         "q_value", "flag", "flag_at_lower", "flag_at_upper", "robust",
                         "flag_status"]
             if c in t.columns]
    t = t.loc[:, front + [c for c in t.columns if c not in front]]
    return PufScreen(table=t.reset_index(drop=True), observed=observed, at_lower=at_lower,
                     at_upper=at_upper, bounds=bounds)

