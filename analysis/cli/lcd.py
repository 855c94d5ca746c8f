"""``rad3d lcd``: screen practices' 3D rendering rates against the LCD L35408 benchmark."""

from __future__ import annotations

import argparse

from analysis.cli._common import (
    UNSUPPRESSED,
    bounded,
    claim_lines_text,
    claims_data_statement,
    csv_writer,
    engine_options,
    engine_settings,
    excel_writer,
    output_dir,
    png_writer,
    write_files,
)
from analysis.paths import SAMPLE_CLAIMS


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "lcd",
        help="screen practices' 3D rendering rates against the retired LCD L35408 20%% "
        "benchmark",
        description=(
            "Screen each practice's share of CT/MR imaging billed with 3D rendering (CPT "
            "76376/76377) against the 20% benchmark of Novitas LCD L35408 (effective "
            "2015-10-01, retired 2023-09-28: a benchmark, not an active rule). Per "
            "practice: one-sided exact binomial test of H0 rate <= threshold, "
            "Benjamini-Hochberg q-values (flag when q < alpha), exact funnel limits with "
            "overdispersion-adjusted limits beside them, empirical-Bayes shrinkage, "
            "peer percentile. Encounter basis: encounters (practice, patient, date) with "
            ">= 1 linked 3D line / CT/MR encounters, oncology encounters exempt by "
            "default. All payers by default (the LCD speaks of a practice's total CT and "
            "MR imaging). Reads the bundled synthetic sample when no CLAIMS are given. "
            "Writes DIR/lcd_screen.csv, DIR/lcd_screen.xlsx and DIR/funnel.png. The "
            "files hold practice-level counts, unsuppressed: check them before sharing."
        ),
        epilog="Example: rad3d lcd --threshold 0.2 --payer BCBSNC --out reports/lcd",
    )
    p.set_defaults(run=run)
    p.add_argument("claims", nargs="*", metavar="CLAIMS",
                   help="claims files (CSV, CSV.gz or Parquet, canonical schema); "
                   "default: the bundled sample")
    p.add_argument("--threshold", type=float, default=0.20,
                   help="benchmark share, strictly between 0 and 1 (default 0.2)")
    p.add_argument("--basis", choices=("encounters", "services"), default="encounters",
                   help="encounters: encounters with 3D / CT-MR encounters (default); "
                   "services: 3D units / CT-MR units (no oncology exemption possible)")
    p.add_argument("--no-oncology-exemption", dest="exempt_oncology",
                   action="store_false",
                   help="count oncology encounters too (default: exempt, as the LCD "
                   "allowed cancer evaluation to exceed the benchmark)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="false discovery rate: flag when the BH q-value < alpha (default 0.05)")
    p.add_argument("--ci", choices=("clopper-pearson", "wilson"), default="clopper-pearson",
                   help="95%% interval of each rate (default clopper-pearson, exact)")
    p.add_argument("--payer", dest="payers", action="extend", nargs="+", metavar="NAME",
                   help="only these payers (e.g. --payer BCBSNC MEDICARE); default all")
    p.add_argument("--min-volume", type=int, default=30, metavar="N",
                   help="fewest CT/MR encounters (services on the services basis) a practice "
                   "needs to be judged; below it: too few to judge (default 30)")
    p.add_argument("--period", choices=("year", "quarter"), default="quarter",
                   help="periods of the trend table (the screen sums all periods); "
                   "default quarter")
    engine_options(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    bounded(p, threshold="threshold", alpha="alpha", min_volume="min_volume")


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that building the parser stays cheap.
    import pandas as pd

    from analysis import lcd, plots, scale
    from analysis.report.excel import Cover
    from analysis.report.labels import column_labels

    paths = list(args.claims) or [str(SAMPLE_CLAIMS)]
    read = scale.summary_for_cli(paths, period=args.period, **engine_settings(args))
    rep, summ = read.report, read.summary
    result = lcd.screen(
        summ, threshold=args.threshold, basis=args.basis,
        exempt_oncology=args.exempt_oncology, alpha=args.alpha, ci=args.ci,
        payers=args.payers, min_volume=args.min_volume,
    )
    out = output_dir(args.out)
    settings = pd.DataFrame(
        [(k, str(v)) for k, v in result.to_dict()["settings"].items()]
        + [(f"overdispersion_{k}", str(v)) for k, v in result.overdispersion.to_dict().items()]
        + [(f"prior_{k}", str(v)) for k, v in result.prior.to_dict().items()]
        + [("inputs", "; ".join(str(p) for p in paths))],
        columns=["setting", "value"])
    oncology = "exempt" if args.exempt_oncology else "counted"
    cover = Cover(
        title="3D rendering against the LCD L35408 benchmark: the screen (rad3d lcd)",
        scenario=(f"Command-line run: benchmark {args.threshold:.0%}, {args.basis} basis, "
                  f"oncology {oncology}, false discovery rate {args.alpha:g}, at least "
                  f"{args.min_volume} to judge; every setting is in the sheet settings."),
        data=claims_data_statement(paths, rep), suppression=UNSUPPRESSED,
        lines=(("Finding", result.headline), ("LCD status", result.lcd_status)))
    written = write_files(out, {
        "lcd_screen.csv": csv_writer(result.table),
        "lcd_screen.xlsx": excel_writer(
            {"screen": result.table, "agreement": result.agreement, "trend": result.trend,
             "settings": settings},
            cover=cover, labels=column_labels(basis=args.basis),
            captions={"screen": "The screen, one row per practice",
                      "agreement": "How far the exact, percentile and shrinkage screens agree",
                      "trend": f"Each practice per {args.period}",
                      "settings": "Settings of the screen, the overdispersion and the prior"},
            definitions=[result.lcd_status, result.definitions]),
        "funnel.png": png_writer(plots.funnel_plot(result)),
    })

    print(claim_lines_text(rep, skipped=True))
    print(result.headline)
    t = result.table
    for status in ("beyond the usual variation", "beyond chance only", "too few to judge"):
        shown = t.loc[t["status"] == status].sort_values(["q_value", "practice_id"])
        if len(shown):
            print(f"{status[0].upper()}{status[1:]}: " + ", ".join(
                f"{r.practice_id} ({r.rate:.1%} of {r.n_ct_mr:,}, q = {r.q_value:.2g})"
                for r in shown.itertuples()))
    n_unscreened = int((~result.table["screened"]).sum())
    if n_unscreened:
        print(f"Not screened (no CT/MR encounters on the basis): {n_unscreened} "
              f"practice{'' if n_unscreened == 1 else 's'}.")
    print(f"LCD status: {result.lcd_status}")
    print("Definitions:")
    for line in result.definitions.splitlines():
        print(f"  - {line}")
    print("Wrote: " + ", ".join(map(str, written)))
    return 0
