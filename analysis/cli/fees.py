"""``rad3d fees``: the Medicare PFS amounts of one code."""

from __future__ import annotations

import argparse


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "fees",
        help="Medicare PFS amounts of a code: global / -26 / -TC x non-facility / facility",
        description=(
            "Print the Medicare Physician Fee Schedule amounts of one CPT/HCPCS code for "
            "the global service, the professional (-26) and technical (-TC) components, "
            "in the non-facility and facility settings, with the RVUs, GPCIs and "
            "conversion factor used: [(work RVU x work GPCI) + (PE RVU x PE GPCI) + "
            "(MP RVU x MP GPCI)] x CF, rounded half up to the cent. 'NA' marks a component "
            "not payable under the PFS in that setting (e.g. global/-TC in a facility). "
            "Reads the bundled 2025 CMS files unless --rvu/--gpci are given."
        ),
        epilog="Example: rad3d fees --code 76377 --state NC --year 2025",
    )
    p.set_defaults(run=run)
    p.add_argument("--code", required=True, help="CPT/HCPCS code, e.g. 76376 or 76377")
    p.add_argument(
        "--state",
        default="US",
        help="2-letter practice state, or US for national (all GPCIs 1.0); default US",
    )
    p.add_argument(
        "--locality",
        help="payment locality number, required where the state has several "
        "(e.g. --state CA --locality 18 for Los Angeles)",
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--year",
        type=int,
        help="year of the conversion factor (2022-2026; 1 July for 2024, which changed on "
        "March 9); default the RVU file's year",
    )
    when.add_argument(
        "--date", help="service date YYYY-MM-DD, e.g. 2024-03-08 vs 2024-03-09"
    )
    p.add_argument(
        "--qualifying-apm",
        action="store_true",
        help="2026 on: the conversion factor of qualifying APM participants",
    )
    p.add_argument(
        "--rvu",
        metavar="FILE",
        help="a CMS PFS relative value file (PPRRVU*.csv, any year) instead of the "
        "bundled 2025 CT/MR/3D extract",
    )
    p.add_argument(
        "--gpci", metavar="FILE", help="a CMS GPCI file (Addendum E CSV) instead of 2025's"
    )


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that building the parser stays cheap.
    from analysis import pricing

    table = pricing.fee_table(
        args.code,
        state=args.state,
        locality=args.locality,
        year=args.year,
        date=args.date,
        rvu=pricing.load_rvu(args.rvu),
        gpci=pricing.load_gpci(args.gpci),
        qualifying_apm=args.qualifying_apm,
    )
    print(table.to_text())
    return 0
