"""``rad3d puf``: screen the providers of the CMS Medicare provider-and-service file."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.cli._common import (
    bounded,
    csv_writer,
    excel_writer,
    json_writer,
    output_dir,
    write_files,
)


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "puf",
        help="screen every provider in the CMS Medicare 'by Provider and Service' file "
        "and estimate a payer's 3D exposure from public data",
        description=(
            "Read the CMS 'Medicare Physician & Other Practitioners - by Provider and "
            "Service' CSV (28 columns for 2023+, 29 with provider gender for older years; "
            "streamed in bounded memory, CT/MR and 76376/76377 rows only), roll NPIs up to "
            "practices, and screen 3D services / CT/MR services against the 20% benchmark "
            "of the retired Novitas LCD L35408 (services basis). Rows from 10 or fewer "
            "beneficiaries are absent from the file: every rate gets a lower and an upper "
            "bound and every flag says whether it survives them. Also estimates the BCBS "
            "NC (or another payer's) annual 3D allowed dollars from the state's Medicare "
            "3D volume scaled by adjustable ratios: an estimate from public data, not "
            "claims. Writes DIR/puf_screen.csv, DIR/puf_screen.xlsx, DIR/exposure.json "
            "(and DIR/consistency.csv with --geography, DIR/quarantine.csv when rows "
            "were quarantined). Without FILE, reads the bundled synthetic sample."
        ),
        epilog="Examples: rad3d puf --state NC --out reports/puf_nc;  rad3d puf "
        "MUP_PHY_R25_P05_V20_D23_Prov_Svc.csv --jurisdiction JH,JL --out reports/novitas",
    )
    p.set_defaults(run=run)
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="provider-and-service CSV (.csv, .csv.gz); default: the bundled "
                   "synthetic sample")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--state", action="extend", nargs="+", metavar="ST",
                       help="screen providers of these states (e.g. --state NC)")
    where.add_argument("--jurisdiction", metavar="J[,J]",
                       help="screen providers of these MAC jurisdictions, e.g. JH,JL "
                       "(Novitas, 'as Novitas would have') or JM (Palmetto: NC SC VA WV)")
    p.add_argument("--rollup", choices=("npi", "organization"), default="npi",
                   help="npi: each rendering NPI is a practice (default); organization: "
                   "only organization rows (entity code O)")
    p.add_argument("--crosswalk", metavar="CSV",
                   help="NPI -> practice crosswalk (columns rendering_npi or npi, practice_id[, "
                   "practice_name]); unmatched NPIs stay their own practice and are listed")
    p.add_argument("--geography", metavar="CSV",
                   help="the matching 'by Geography and Service' file: consistency check "
                   "and complete state 3D totals for the exposure estimate (default with "
                   "the bundled sample: its geography file)")
    p.add_argument("--year", default="2023", help="data year of the file (label; default 2023)")
    p.add_argument("--threshold", type=float, default=0.20,
                   help="benchmark share (default 0.2, retired LCD L35408)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="false discovery rate for the flags (default 0.05)")
    p.add_argument("--services-per-beneficiary", type=float, default=2.0,
                   help="assumed maximum services per beneficiary in a suppressed row "
                   "(default 2: a hidden row holds at most 10 x 2 = 20 services)")
    p.add_argument("--exposure-state", default="NC",
                   help="state of the public-data payer exposure estimate (default NC)")
    p.add_argument("--draws", type=int, default=100_000,
                   help="Monte Carlo draws for the exposure interval (default 100000, "
                        "enough for its 95%% interval to hold within 1%% of the mean)")
    p.add_argument("--seed", type=int, default=20240601, help="random seed (default 20240601)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    bounded(p, threshold="threshold", alpha="alpha", draws="n_draws", seed="seed",
            services_per_beneficiary="services_per_beneficiary")


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that building the parser stays cheap.
    import numpy as np

    from analysis import puf
    from analysis.report.excel import Cover
    from analysis.report.labels import column_labels
    from analysis.report.provenance import puf_data_statement

    benchmark = puf.medicare_benchmark(
        args.file,
        states=args.state,
        jurisdictions=args.jurisdiction,
        rollup=args.rollup,
        crosswalk=args.crosswalk,
        geography=args.geography,
        period=args.year,
        threshold=args.threshold,
        alpha=args.alpha,
        bounds=puf.SuppressionBounds(services_per_beneficiary=args.services_per_beneficiary),
        exposure_state=args.exposure_state,
        n_draws=args.draws,
        rng=np.random.default_rng(args.seed),
    )
    read, rolled, result = benchmark.read, benchmark.rollup, benchmark.screen
    exposure, consistency = benchmark.exposure, benchmark.consistency

    out = output_dir(args.out)
    sheets = {
        "screen": result.table,
        "flag_status": result.summary,
        "read_reconciliation": read.summary,
        "rollup": rolled.summary,
        "unmatched_npis": rolled.unmatched,
        "quarantine": read.quarantine,
        # one column per quantity, so each column holds one unit (services or dollars)
        "exposure": exposure.table.set_index("quantity").T.rename_axis("estimate"),
    }
    writers = {"puf_screen.csv": csv_writer(result.table)}
    if consistency is not None:
        sheets["consistency"] = consistency
        writers["consistency.csv"] = csv_writer(consistency)
    where = (f"states {', '.join(args.state)}" if args.state
             else f"jurisdictions {args.jurisdiction}" if args.jurisdiction else "every state")
    cover = Cover(
        title="Medicare public data: 3D rendering against CT/MR volume, provider by "
              "provider (rad3d puf)",
        scenario=(f"Command-line run: {where}, data year {args.year}, benchmark "
                  f"{args.threshold:.0%}, false discovery rate {args.alpha:g}, at most "
                  f"{args.services_per_beneficiary:g} services per beneficiary in a row CMS "
                  f"withheld; exposure for {args.exposure_state} from {args.draws:,} draws "
                  f"(seed {args.seed})."),
        data=puf_data_statement(read.path, counts=read.counts),
        suppression=("None added: the CMS provider file is public and already omits every "
                     "row of 10 or fewer beneficiaries (the screen bounds what those rows "
                     "may hide)."),
        lines=(("Finding", result.headline),))
    captions = {
        "screen": "The screen, one row per provider (or organization), with bounds for "
                  "the rows CMS withheld",
        "flag_status": "Flags and their robustness to CMS's suppression",
        "read_reconciliation": "Rows read, kept and quarantined",
        "rollup": "Providers rolled up to practices",
        "unmatched_npis": "NPIs not in the crosswalk",
        "quarantine": "Rows quarantined, with reasons",
        "exposure": "Payer exposure estimated from public data",
        "consistency": "Geography file against provider file, per code",
    }
    writers["puf_screen.xlsx"] = excel_writer(
        sheets, cover=cover, captions=captions, labels=column_labels(basis="services"),
        definitions=[result.observed.lcd_status, result.observed.definitions,
                     puf.DEFINITIONS])
    if len(read.quarantine):
        writers["quarantine.csv"] = csv_writer(read.quarantine)
    writers["exposure.json"] = json_writer({**benchmark.to_dict(), "seed": args.seed})
    write_files(out, writers)

    dollars = exposure.table.set_index("quantity").loc["payer_3d_allowed_usd"]
    print(f"{Path(read.path).name} ({read.layout}): {read.counts['rows_read']:,} rows read, "
          f"{read.counts['rows_kept']:,} CT/MR/3D rows kept, "
          f"{read.counts['rows_quarantined']:,} quarantined")
    print(result.headline)
    if rolled.counts["npis_unmatched"]:
        print(f"{rolled.counts['npis_unmatched']} NPIs not in the crosswalk (own practices; "
              "listed in puf_screen.xlsx, sheet unmatched_npis)")
    if consistency is not None:
        gap = consistency["gap_services"].sum()
        print(f"geography file minus provider file (suppressed services): {gap:,.0f}")
    print(f"{exposure.assumptions.payer} 3D allowed dollars in {exposure.state} (estimate from "
          f"public data): ${dollars['point']:,.0f} "
          f"(95% interval ${dollars['low']:,.0f}-${dollars['high']:,.0f})")
    print(f"wrote {out}/puf_screen.csv, puf_screen.xlsx, exposure.json")
    return 0
