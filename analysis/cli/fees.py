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
            "Prices with the CMS files of the year: the bundled RVU files of 2025 and 2026 "
            "and the 2025 GPCIs (the latest file up to the year, said in the output), "
            "unless --rvu/--gpci are given."
        ),
        epilog="Examples: rad3d fees --code 76377 --state NC --year 2025; "
        "rad3d fees --code 76377 --year 2026 --national --qp",
    )
    p.set_defaults(run=run)
    p.add_argument("--code", required=True, help="CPT/HCPCS code, e.g. 76376 or 76377")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--state",
        default="US",
        help="2-letter practice state, or US for national (all GPCIs 1.0); default US",
    )
    where.add_argument(
        "--national",
        action="store_const",
        const="US",
        dest="state",
        help="national amounts (all GPCIs 1.0), the same as --state US",
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
        help="service year: its conversion factor (2022-2026; 1 July for 2024, which "
        "changed on March 9) and RVU/GPCI files; default the latest RVU file's year (2026)",
    )
    when.add_argument(
        "--date", help="service date YYYY-MM-DD, e.g. 2024-03-08 vs 2024-03-09"
    )
    p.add_argument(
        "--qualifying-apm",
        "--qp",
        action="store_true",
        dest="qualifying_apm",
        help="2026 on: the conversion factor of qualifying APM participants (QPs), "
        "$33.5675 instead of $33.4009",
    )
    p.add_argument(
        "--rvu",
        metavar="FILE",
        help="a CMS PFS relative value file (PPRRVU*.csv, any year, 31 or 32 columns) "
        "instead of the bundled CT/MR/3D extracts",
    )
    p.add_argument(
        "--gpci",
        metavar="FILE",
        help="a CMS GPCI file (Addendum E CSV), e.g. 2026's, instead of the bundled 2025 one",
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
        rvu=None if args.rvu is None else pricing.load_rvu(args.rvu),
        gpci=None if args.gpci is None else pricing.load_gpci(args.gpci),
        qualifying_apm=args.qualifying_apm,
    )
    print(table.to_text())
    return 0
