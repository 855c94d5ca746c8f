"""The definitions a committee page states, in words: the LCD screen and the CMS files.

The screen and the file readers define their terms for analysts, in their column names
(:attr:`analysis.lcd.ScreenResult.definitions`, :data:`analysis.puf.DEFINITIONS`). A
committee page states the same definitions without identifiers or markup, each as a
``(term, definition)`` pair that the writer shows as a definition list
(:meth:`analysis.report.ReportWriter.definitions`).
"""

from __future__ import annotations

from analysis.report.formatting import plural

__all__ = ["puf_definitions", "screen_definitions"]


def _basis_words(s) -> tuple[str, str]:
    """What the screen counts: (denominator, numerator) in words."""
    if s.basis == "services":
        return ("CT/MR services (units)", "3D services (76376 plus 76377 units)")
    if s.oncology_exemption_applied:
        return ("non-oncology CT/MR encounters (one patient, practice and date)",
                "those with at least one linked 3D line")
    return ("CT/MR encounters (one patient, practice and date)",
            "those with at least one linked 3D line")


def screen_definitions(screen) -> list[tuple[str, str]]:
    """The definitions of an LCD-benchmark screen (:func:`analysis.lcd.screen`), in
    words, with this screen's settings and estimates (φ, τ², the prior)."""
    s, od, prior = screen.settings, screen.overdispersion, screen.prior
    denominator, numerator = _basis_words(s)
    ci = "Clopper–Pearson (exact)" if s.ci == "clopper-pearson" else "Wilson score"
    basis_note = (
        " Units carry no diagnosis, so the oncology exemption cannot apply, and units "
        "are not independent trials: the binomial statistics are an approximation."
        if s.basis == "services" else
        " Oncology encounters (a cancer diagnosis) are left out: the LCD allowed cancer "
        "evaluation to exceed the benchmark." if s.oncology_exemption_applied else "")
    pairs = [
        ("Benchmark",
         f"{s.threshold:.0%} of a practice's CT and MR imaging with 3D rendering, from "
         "Novitas LCD L35408 (effective 2015-10-01, retired 2023-09-28): a benchmark "
         "drawn from a retired LCD, not an active coverage rule."),
        ("What is counted",
         f"For each practice, its {denominator} and, of them, {numerator}.{basis_note}"),
        ("Rate and interval",
         f"The rate is the second count divided by the first, with its two-sided "
         f"{s.ci_level:.0%} {ci} interval."),
        ("Exact test",
         f"A one-sided binomial test of whether the practice's true rate exceeds "
         f"{s.threshold:.0%}: the p-value is the chance of at least the practice's 3D "
         f"count if its true rate were {s.threshold:.0%}."),
        ("Many practices at once",
         f"Benjamini–Hochberg q-values across the practices screened; a practice is "
         f"beyond chance when its q-value is below {s.alpha:g}."),
        ("Tiers and the flag",
         "Above the benchmark (raw rate above it); beyond chance (q-value below "
         f"{s.alpha:g}); beyond the usual variation (above the 99.8% funnel limit widened "
         "by τ²) when the test of φ shows that practices vary beyond chance, else the "
         "same as beyond chance. The flag is the last tier (Spiegelhalter, 2005). A "
         f"practice with fewer than {s.min_volume} CT/MR {s.basis} is too few to judge."),
        ("Funnel limits",
         "At each volume, the exact binomial 95% and 99.8% limits around the benchmark, "
         "smoothed by Spiegelhalter's interpolation; only the upper limit flags."),
        ("Overdispersion (φ and τ²)", _overdispersion_words(od, s.alpha)),
        ("Shrinkage", _shrinkage_words(prior, s)),
        ("Peer percentile",
         "The share of practices screened whose rate is at or below the practice's. The "
         f"percentile screen flags a rate at or above the {s.percentile_flag:.0%} point "
         "of the peers' rates, as CMS PEPPER reports do; ties at the cut are flagged."),
        ("Excess over the benchmark",
         f"The 3D count above {s.threshold:.0%} of the first count, priced at the "
         "practice's own 3D dollars per 3D "
         + ("unit" if s.basis == "services" else "encounter")
         + ": the observed allowed amount, else the fee schedule times the payer's "
         "price multiplier; unknown, not $0, where neither exists."),
        ("Not screened",
         "A practice with none of the first count is listed but not screened: no rate, "
         "no test, no flag."),
    ]
    return pairs


def _overdispersion_words(od, alpha: float) -> str:
    if not od.estimable:
        return (f"Not estimable here ({od.not_estimable}); only the exact funnel limits "
                "apply.")
    verdict = ("the practices vary beyond chance" if od.rejects(alpha)
               else "the practices vary no more than chance")
    return (f"Around the rate of all practices ({od.pooled_rate:.1%}), φ = {od.phi:.1f} "
            f"(Winsorised at 10%); τ² = {od.tau2:.3g} by the DerSimonian–Laird method. "
            f"The chi-square test of φ says {verdict}. The widened limits are drawn beside "
            "the exact ones, never replacing them.")


def _shrinkage_words(prior, s) -> str:
    if not prior.estimable:
        return (f"Not estimable here ({prior.not_estimable}): no shrunken rate, "
                "probability above the benchmark or shrinkage flag.")
    how = {"mle": "maximum likelihood", "moments": "the method of moments"}.get(
        prior.method, prior.method)
    return (f"Empirical Bayes: practices' true rates follow a beta distribution fitted "
            f"across practices by {how} (mean {prior.mean:.1%}); the shrunken rate is a "
            "practice's rate after combining its counts with that distribution, and the "
            "shrinkage screen flags a practice whose probability of a true rate above "
            f"{s.threshold:.0%} exceeds 95%.")


def puf_definitions(*, max_hidden_beneficiaries: int = 10,
                    services_per_beneficiary: float = 2.0) -> list[tuple[str, str]]:
    """The definitions of the Medicare public-data pathway (:mod:`analysis.puf`), in
    words: the two CMS files, their suppression, the services basis and the bounds."""
    hidden = max_hidden_beneficiaries * services_per_beneficiary
    return [
        ("Provider file",
         'CMS "Medicare Physician & Other Practitioners – by Provider and Service": one '
         "row per rendering provider (NPI), HCPCS code and place of service (facility or "
         "office). It has no modifier column, so the global, professional and technical "
         "services of a code share one row, and its service counts may be fractional."),
        ("Geography file",
         'CMS "– by Geography and Service": the same services summed per state and '
         "nationally, including the rows the provider file leaves out."),
        ("Suppression",
         "CMS leaves out every provider-file row that counts 10 or fewer beneficiaries. "
         "A provider's missing row for a code and place of service therefore hides the "
         "services of between 0 and "
         f"{plural(max_hidden_beneficiaries, 'beneficiary', 'beneficiaries')}."),
        ("Services basis",
         "The 3D rate is 76376 plus 76377 services divided by CT/MR services, the only "
         "rate the provider file allows: it has no patients or encounters."),
        ("Bounds for hidden rows",
         "For each provider and each place of service where it has visible rows, every "
         "3D or CT/MR code without a visible row may hide up to "
         f"{hidden:g} services ({max_hidden_beneficiaries} beneficiaries times "
         f"{services_per_beneficiary:g} services each). Hidden 3D services can only raise "
         "the rate (the upper bound adds them all) and hidden CT/MR services can only "
         "lower it (the lower bound adds those). A flag is robust when the screen flags "
         "the provider at both bounds; a non-flag is robust when it flags neither."),
        ("Sources",
         'CMS, "Medicare Physician & Other Practitioners", by Provider and Service and by '
         "Geography and Service, data dictionaries and methodology (2024); CMS cell-size "
         "suppression policy."),
    ]
