"""``rad3d validate``: load claims files and report what was accepted, repaired, quarantined."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis._io import dumps_json, write_atomic
from analysis.cli._common import check_options, csv_writer, study_window_option
from analysis.errors import InputError
from analysis.paths import SAMPLE_CLAIMS


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "validate",
        help="load claims files, repair what is unambiguous, report and quarantine the rest",
        description=(
            "Load claim lines from CSV (plain or .gz) and Parquet files into the canonical "
            "schema and print the validation report: rows and dollars read, accepted and "
            "quarantined (by reason), and the repairs made. Exit status: 0 when the files "
            "load (quarantined rows are reported), 1 with --strict if any row was "
            "quarantined, 2 on a file-level error (missing required column, empty, binary "
            "or undecodable file)."
        ),
    )
    p.set_defaults(run=run)
    p.add_argument(
        "files", nargs="*", metavar="FILE",
        help="CSV/Parquet files, directories or glob patterns (default: the bundled sample "
             "data/sample/claims_2024.parquet)",
    )
    p.add_argument("--quarantine", metavar="OUT.csv",
                   help="write the quarantined rows (original text, file, row, reason) to OUT.csv")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 if any row was quarantined")
    p.add_argument("--column-map", metavar="FILE",
                   help="YAML mapping {header in your file: canonical column, or null to ignore}")
    p.add_argument("--encoding", default="utf-8",
                   help="text encoding of CSV files (default utf-8; e.g. cp1252 for Excel on "
                        "Windows)")
    study_window_option(p)
    p.add_argument("--json", action="store_true",
                   help="print the report as JSON (dollars as integer cents) instead of a table")


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that building the parser stays cheap.
    from analysis.claims import validate_files

    files = args.files
    if not files:
        if not SAMPLE_CLAIMS.exists():
            raise InputError("no FILE given and the bundled sample is missing; run "
                             "`rad3d synth` or name a claims file", file=SAMPLE_CLAIMS)
        files = [str(SAMPLE_CLAIMS)]
    result = validate_files(files, column_map=args.column_map, encoding=args.encoding,
                            **check_options(args))
    if args.json:
        print(dumps_json(result.report.to_dict()), end="")
    else:
        print(result.report)
    if args.quarantine:
        out = Path(args.quarantine)
        if out.parent and not out.parent.exists():
            raise InputError("the folder for the quarantine file does not exist", file=out)
        write_atomic(out, csv_writer(result.quarantine))
        # with --json, stdout holds the JSON document and nothing else
        print(("" if args.json else "\n") + f"quarantine: {len(result.quarantine):,} "
              f"row(s) written to {out}", file=sys.stderr if args.json else sys.stdout)
    if args.strict and len(result.quarantine):
        print(f"rad3d validate: {len(result.quarantine):,} row(s) quarantined (--strict)",
              file=sys.stderr)
        return 1
    return 0
