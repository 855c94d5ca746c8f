"""``rad3d impact``: the budget-impact model of not paying 3D rendering separately."""

from __future__ import annotations

import argparse
import sys

from analysis.cli._common import (
    UNSUPPRESSED,
    bounded,
    claim_lines_text,
    claims_data_statement,
    csv_writer,
    engine_options,
    engine_settings,
    excel_writer,
    json_writer,
    output_dir,
    png_writer,
    write_files,
)
from analysis.errors import InputError
from analysis.paths import SAMPLE_CLAIMS
from analysis.ranges import check_range

POLICIES = ("full_bundling", "lcd_cap", "medical_necessity")
"""The policies ``--policy all`` models, each against the status quo: the names of
:data:`analysis.policy.ALTERNATIVES`, restated so that building the parser imports no
pandas (a test keeps the two equal)."""


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "impact",
        help="revenue impact of not paying 3D rendering separately, and its alternatives",
        description=(
            "Budget-impact model (ISPOR BIA Good Practice II) of a payer no longer paying "
            "3D rendering (CPT 76376/76377) separately, as BCBS NC announced in 2024, and "
            "of two alternatives: an LCD-style cap (3D paid on at most THRESHOLD of each "
            "practice's non-oncology CT/MR encounters, oncology always paid) and payment "
            "only with a qualifying indication. Per practice and in total, per year: 3D "
            "revenue without and with the policy, the loss and its share, the net margin "
            "after a behavioural response, payer and patient savings. Year 1 is the "
            "baseline claims annualized, each practice by the quarters in which it has "
            "claim lines (stated per practice in the outputs), then volume growth applies. "
            "Each year is priced at its own Medicare fee schedule (2025: 2025 RVU file and "
            "conversion factor; 2026: 2026 RVU file and factor with the 2025 GPCIs, the "
            "latest shipped; later years: 2026's moved by the fee update), as a price "
            "index of each practice's own fee-schedule-priced 3D lines (by code, "
            "component, setting and state) on the schedule that priced the baseline; "
            "--prices baseline keeps the baseline's prices moved by the fee update from "
            "year 2. The output states "
            "which schedule priced each year. Lines without an observed allowed amount are "
            "priced at the Medicare fee schedule times a payer multiplier. Non-compliant 3D lines "
            "are never revenue. One-way sensitivity (tornado) and a probabilistic "
            "sensitivity analysis (--draws, --seed) give the uncertainty. Every default "
            "and its source is in data/reference/impact_assumptions.csv and "
            "impact_settings.csv; the assumptions used are written to "
            "DIR/impact_summary.json. Reads the bundled synthetic sample when no CLAIMS "
            "are given. Writes DIR/impact_practices.csv, DIR/impact_summary.json, "
            "DIR/impact.xlsx and PNG figures. The files hold practice-level dollars, "
            "unsuppressed: check them before sharing."
        ),
        epilog=("Example: rad3d impact --policy all --horizon 3 --multiplier 1.8 "
                "--draws 10000 --seed 1 --out reports/impact"),
    )
    p.set_defaults(run=run)
    p.add_argument("claims", nargs="*", metavar="CLAIMS",
                   help="claims files (CSV, CSV.gz or Parquet, canonical schema); "
                   "default: the bundled sample")
    p.add_argument("--policy", choices=(*POLICIES, "all"), default="all",
                   help="policy to model (default all three, against the status quo)")
    p.add_argument("--payer", dest="payers", action="extend", nargs="+", metavar="NAME",
                   help="payer labels the policy applies to (default BCBSNC)")
    p.add_argument("--horizon", type=int, default=3,
                   help="years, 1-5 (default 3)")
    p.add_argument("--growth", type=float, default=None,
                   help="annual volume growth after year 1, e.g. 0.03 (default 0.0 [A])")
    p.add_argument("--fee-update", type=float, default=None,
                   help="annual price change after the last known fee schedule (2026), or "
                   "after year 1 with --prices baseline (default 0.0 [A])")
    p.add_argument("--prices", choices=("fee_schedule", "baseline"), default=None,
                   help="fee_schedule (default): each year at its own Medicare fee schedule; "
                   "baseline: the baseline's prices, moved by --fee-update from year 2")
    p.add_argument("--rvu", metavar="FILE", action="append", default=[],
                   help="a CMS PFS relative value file (PPRRVU*.csv) of a year to price "
                   "the horizon years with, beside or instead of the bundled 2025 and 2026 "
                   "extracts (repeatable; the claims' own lines keep the bundled files)")
    p.add_argument("--gpci", metavar="FILE", action="append", default=[],
                   help="a CMS GPCI file (Addendum E CSV), e.g. 2026's, to price the horizon "
                   "years with, beside or instead of the bundled 2025 one (repeatable)")
    p.add_argument("--multiplier", type=float, default=None,
                   help="commercial price as a multiple of Medicare for lines without an "
                   "observed allowed amount (default 1.8 [A], sensitivity 1.2-2.5)")
    p.add_argument("--effective-date", default=None, metavar="YYYY-MM-DD",
                   help="first day the policy is in force (default 2025-01-01 [A])")
    p.add_argument("--start-date", default=None, metavar="YYYY-MM-DD",
                   help="first day of horizon year 1 (default 2025-01-01)")
    p.add_argument("--scope-share", type=float, default=None,
                   help="share of the payer's business the policy applies to (default 1.0 [A])")
    p.add_argument("--cap-threshold", type=float, default=None, dest="cap_threshold",
                   help="LCD-cap policy: paid share of non-oncology CT/MR encounters "
                   "(default 0.20, retired LCD L35408)")
    # The cap was once set with --threshold, which in `rad3d lcd` is the screen's
    # benchmark: kept for one release, hidden from the help, with a warning.
    p.add_argument("--threshold", type=float, default=None, dest="old_threshold",
                   help=argparse.SUPPRESS)
    p.add_argument("--stop-share", type=_stop_share, default=None, metavar="SHARE|measured",
                   help="share of unpaid renderings practices stop (default 0.25 [A]), or "
                   "'measured': the response measured from claims that span the effective "
                   "date (difference in differences against other commercial insurers; "
                   "its 95%% interval feeds the tornado and the PSA)")
    p.add_argument("--discount-rate", type=float, default=None,
                   help="for present values (default 0: undiscounted)")
    p.add_argument("--baseline-days", type=float, default=None,
                   help="annualize every practice by 365/DAYS instead of by the quarters in "
                   "which it has claim lines")
    p.add_argument("--draws", type=int, default=10_000,
                   help="PSA draws (default 10000; 0 skips the PSA)")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the PSA random number generator (default 1)")
    engine_options(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    bounded(p, horizon="horizon_years", growth="volume_growth", fee_update="fee_update",
            multiplier="commercial_multiplier", scope_share="scope_share",
            cap_threshold="cap_threshold", stop_share="stop_share",
            discount_rate="discount_rate", baseline_days="baseline_days", seed="seed")


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that building the parser stays cheap.
    import numpy as np
    import pandas as pd

    from analysis import (
        baseline,
        impact,
        plots,
        policy,
        pricing,
        revenue_engine,
        scale,
        uncertainty,
    )
    from analysis.report.excel import Cover
    from analysis.report.labels import column_labels

    if args.draws:  # 0 skips the PSA
        check_range("n_draws", args.draws, column="--draws")
    if (args.rvu or args.gpci) and args.prices == "baseline":
        raise InputError("--rvu and --gpci price the horizon years by their fee schedules: "
                         "not with --prices baseline", column="--prices", value="baseline")
    changes = {
        "horizon_years": args.horizon,
        "volume_growth": args.growth,
        "fee_update": args.fee_update,
        "commercial_multiplier": args.multiplier,
        "stop_share": args.stop_share,
        "discount_rate": args.discount_rate,
        "baseline_days": args.baseline_days,
        "start_date": args.start_date,
        "prices": args.prices,
    }
    assumptions = impact.ImpactAssumptions(**{k: v for k, v in changes.items() if v is not None})
    policies = _policies(args, policy.policies_from_names)

    schedule = None
    if args.rvu or args.gpci:
        schedule = pricing.fee_schedule(rvu=[pricing.load_rvu(f) for f in args.rvu],
                                        gpci=[pricing.load_gpci(f) for f in args.gpci])
    paths = list(args.claims) or [str(SAMPLE_CLAIMS)]
    read = scale.summary_for_cli(paths, period="quarter", **engine_settings(args))
    rep, summ = read.report, read.summary
    # measured once, from the quarterly summary, for the result, tornado and PSA alike
    assumptions = impact.resolve_stop_share(assumptions, summ, policies=policies)
    # each practice's prices move with the mix of its own fee-schedule-priced lines
    # year 1 rests on the last full year of claims before the horizon (the reports' rule)
    chosen = baseline.baseline_year(summ, start_date=assumptions.start_date)
    base = impact.impact_base(chosen.summary, baseline_days=assumptions.baseline_days,
                              baskets=read.baskets)
    prices = None if schedule is None else revenue_engine.horizon_prices(
        base, horizon=assumptions.horizon_years, start_date=assumptions.start_date,
        prices=assumptions.prices, schedule=schedule)
    result = impact.impact(base, [policy.status_quo(), *policies], assumptions=assumptions,
                           prices=prices)
    prices = result.prices
    tornados = {p.name: uncertainty.one_way(base, p, assumptions=assumptions, prices=prices)
                for p in policies}
    psas = []
    if args.draws:
        psas = [uncertainty.psa(base, p, rng=np.random.default_rng(args.seed),
                                n_draws=args.draws, assumptions=assumptions, prices=prices)
                for p in policies]

    out = output_dir(args.out)
    psa_by_name = {r.policy.name: r for r in psas}
    summary_json = {
        "headline": result.headline().splitlines(),
        "inputs": {"claims": paths, "rows_read": rep.rows_read,
                   "rows_accepted": rep.rows_accepted,
                   "rows_quarantined": rep.rows_quarantined},
        "baseline": result.base,
        "annualization": result.annualization.to_dict("records"),
        "fee_schedules": prices.to_dict(),
        "psa": {"draws": args.draws, "seed": args.seed,
                "rng": "numpy.random.default_rng(seed), the same stream for every policy"},
        "policies": {},
        "assumptions": result.assumptions.to_dict(),
        "stop_share_source": {"source": result.stop_share_source,
                              "statement": result.stop_share_statement},
        "assumption_sources": result.assumption_table().to_dict("records"),
    }
    det = result.summary.set_index("policy")
    for p in policies:
        entry = {"definition": p.to_dict(),
                 "deterministic": det.loc[p.name].to_dict(),
                 "tornado": tornados[p.name].head(5)[
                     ["parameter", "low", "high", "outcome_low", "outcome_high"]
                 ].to_dict("records")}
        if p.name in psa_by_name:
            entry["psa"] = psa_by_name[p.name].to_dict()
        summary_json["policies"][p.name] = entry

    sheets = {
        "summary": result.summary,
        "totals": result.totals,
        "practices": result.practices,
        "payers": result.payers,
        "tornado": pd.concat(tornados.values()),
    }
    if psas:
        sheets["psa"] = pd.concat([r.summary for r in psas])
        sheets["psa_practices"] = pd.concat([r.practice_summary for r in psas])
    sheets["fee_schedules"] = prices.years
    sheets["assumptions"] = result.assumption_table()
    sheets["policies"] = pd.DataFrame([p.to_dict() for p in result.policies]).astype(str)

    horizon = assumptions.horizon_years
    cover = Cover(
        title="Revenue impact of not paying 3D rendering separately: budget-impact "
              "analysis (rad3d impact)",
        scenario=(f"Command-line run: {', '.join(p.name for p in policies)} against the "
                  f"status quo over {horizon} year(s), commercial multiplier "
                  f"{assumptions.commercial_multiplier:g}, "
                  + (f"PSA {args.draws:,} draws (seed {args.seed})" if args.draws
                     else "no PSA")
                  + "; every assumption and its source is in the sheet assumptions."),
        data=claims_data_statement(paths, rep), suppression=UNSUPPRESSED,
        lines=(("Findings", " ".join(result.headline().splitlines())),
               ("Behavioural response", result.stop_share_statement)))
    captions = {
        "summary": f"Each policy over the {horizon}-year horizon, all practices",
        "totals": "Each policy per year, all practices",
        "practices": "Each practice per policy and year",
        "payers": "Each payer per policy and year",
        "tornado": "One-way sensitivity: the loss at each parameter's low and high value",
        "psa": "Probabilistic sensitivity analysis: horizon totals",
        "psa_practices": "Probabilistic sensitivity analysis: each practice's horizon loss",
        "assumptions": "Assumptions, their ranges and sources",
        "policies": "The policies compared",
    }
    definitions = [result.base["annualization"], result.stop_share_statement,
                   *(f"{p.name}: {p.description}" for p in result.policies)]
    writers = {
        "impact_practices.csv": csv_writer(result.practices),
        "impact_summary.json": json_writer(summary_json),
        "impact.xlsx": excel_writer(sheets, cover=cover, captions=captions,
                                    labels=column_labels(horizon_years=horizon),
                                    definitions=definitions),
        "impact_policy_comparison.png": png_writer(plots.policy_comparison(result, psas)),
    }
    for p in policies:
        writers[f"impact_by_year_{p.name}.png"] = png_writer(plots.impact_by_year(result, p.name))
        writers[f"impact_loss_distribution_{p.name}.png"] = png_writer(
            plots.loss_distribution(result, p.name))
        writers[f"impact_tornado_{p.name}.png"] = png_writer(plots.tornado_plot(tornados[p.name]))
        if p.name in psa_by_name:
            r = psa_by_name[p.name]
            writers[f"impact_psa_{p.name}.png"] = png_writer(plots.psa_histogram(r))
            writers[f"impact_convergence_{p.name}.png"] = png_writer(
                plots.convergence_plot(r.convergence()))
    written = write_files(out, writers)

    print(claim_lines_text(rep, skipped=False))
    b = result.base
    print(chosen.statement)
    print(f"Baseline {b['periods'][0]}..{b['periods'][-1]} ({b['baseline_days']:g} days), "
          f"{b['n_practices']} practices. {b['annualization']}")
    print(f"Prices: {prices.baseline}.")
    for r in prices.years.itertuples():
        print(f"  year {r.year} ({r.year_start:%Y}): {r.fee_schedule}.")
    if prices.basket:
        print(f"  Price index basket: {prices.basket}.")
    print(result.headline())
    print(result.stop_share_statement)
    for r in psas:
        lo, hi = r.interval("loss_usd")
        conv = r.convergence()
        state = (f"stable within 1% from {conv.n_stable:,} draws" if conv.n_stable
                 else "not stable within 1%: use more draws")
        print(f"  PSA {r.policy.name}: {r.level:.0%} interval of the horizon loss "
              f"${lo:,.0f} to ${hi:,.0f} (mean ${r.totals['loss_usd'].mean():,.0f}; {state}).")
    print("Assumptions and sources: DIR/impact_summary.json (assumption_sources).")
    print("Wrote: " + ", ".join(map(str, written)))
    return 0


def _stop_share(value: str) -> float | str:
    """``--stop-share``: a number, or ``measured``."""
    if value.strip().lower() == "measured":
        return "measured"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value: {value!r} (a share such as 0.25, or 'measured')") from None


def _policies(args: argparse.Namespace, policies_from_names) -> tuple:
    """The policies of ``--policy``, with the ``--payer``, ``--effective-date``,
    ``--scope-share`` and (for the LCD cap) ``--cap-threshold`` options given."""
    cap = args.cap_threshold
    if args.old_threshold is not None:
        print("warning: rad3d impact --threshold is deprecated; use --cap-threshold",
              file=sys.stderr)
        cap = args.old_threshold if cap is None else cap
    names = POLICIES if args.policy == "all" else (args.policy,)
    return policies_from_names(
        names, payers=tuple(args.payers) if args.payers else None,
        effective_date=args.effective_date, scope_share=args.scope_share,
        cap_threshold=cap)
