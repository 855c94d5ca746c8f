"""``rad3d report``: run the parameterized notebooks and write the committee report folder."""

from __future__ import annotations

import argparse
import sys

from analysis.cli._common import bounded


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="run the parameterized notebooks and write the committee report folder",
        description=(
            "Execute the notebooks in notebooks/ with papermill: the policy brief, the "
            "LCD screen and the revenue impact once per scenario file, the practice "
            "scorecard once per practice. Writes code-free HTML, figures (PNG), tables "
            "(CSV, Excel), results.json and manifest.json, and an index.html, atomically "
            "into --out. Parameters are checked before anything runs. Small counts "
            "(1-10) are suppressed and no patient identifier is written."
        ),
        epilog=(
            "examples:\n"
            "  rad3d report --out reports/latest\n"
            "  rad3d report --params notebooks/params/base.yaml "
            "notebooks/params/lcd_cap.yaml\n"
            "  rad3d report --practices P007 --notebooks practice_scorecard --out /tmp/p7\n"
            "  rad3d report --claims data/raw/claims_2024.csv --workers 2 --resume"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=run)
    p.add_argument("--params", nargs="+", action="extend", metavar="FILE.yaml", default=None,
                   help="scenario files; may be repeated (default: notebooks/params/base.yaml)")
    p.add_argument("--practices", default="all", metavar="all|none|ID,...",
                   help="practices that get a scorecard (default: all)")
    p.add_argument("--notebooks", default=None, metavar="NAME,...",
                   help="run only these notebooks (default: all in notebooks/)")
    p.add_argument("--claims", nargs="+", metavar="FILE", default=None,
                   help="claims files for every scenario (default: the scenario's "
                        "'claims' parameter, else the bundled synthetic three-year "
                        "sample, data/sample/claims_2023_2025.parquet)")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="notebooks run in parallel, one process each (default: 2)")
    bounded(p, workers="workers")
    p.add_argument("--out", default="reports/latest", metavar="DIR",
                   help="report folder, replaced atomically (default: reports/latest)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the notebooks of --out that succeeded with the same "
                        "notebook, parameters and inputs")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="where prepared inputs (linked claims) are cached; they hold "
                        "patient keys (default: .rad3d-cache beside --out)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


_UTF8_ONLY = ("rad3d report reads UTF-8 claims files: save the file as UTF-8 (e.g. "
              "iconv -f cp1252 -t utf-8 IN.csv > OUT.csv) and name that one")


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that building the parser stays cheap.
    from analysis.errors import InputError
    from analysis.run.batch import run_report
    from analysis.run.workers import Stopped

    try:
        result = run_report(
            scenarios=args.params,
            practices=args.practices,
            notebooks=args.notebooks.split(",") if args.notebooks else None,
            claims=args.claims,
            out=args.out,
            workers=args.workers,
            resume=args.resume,
            cache_dir=args.cache,
            progress=False if args.no_progress else None,
        )
    except InputError as err:
        # The claims reader's advice names an --encoding option, which report does not
        # have: keep what it found, give advice that works here.
        if "--encoding" not in err.message:
            raise
        found = err.message.split(";")[0]
        raise InputError(f"{found}; {_UTF8_ONLY}", file=err.file, row=err.row,
                         column=err.column) from None
    except Stopped as stop:
        print(f"rad3d report: stopped by {stop.signal_name}; the workers were ended and "
              "nothing was published", file=sys.stderr)
        return stop.code
    n = len(result.records)
    reused = sum(r["status"] == "reused" for r in result.records)
    for warning in result.warnings:
        print(f"rad3d report: warning: {warning}", file=sys.stderr)
    if not result.published:
        print(f"rad3d report: NOT PUBLISHED: {len(result.privacy_hits)} patient or claim "
              "identifier(s) found in the output:", file=sys.stderr)
        for row in result.privacy_hits.head(10).itertuples():
            print(f"  {row.file}", file=sys.stderr)
        return 3
    print(f"{n} notebook run(s) in {result.seconds:.0f} s"
          + (f" ({reused} reused)" if reused else "") + f"; report: {result.index}")
    if result.failures:
        print(f"rad3d report: {len(result.failures)} run(s) failed:", file=sys.stderr)
        for r in result.failures:
            print(f"  {r['rel_dir']}: {r['error']}", file=sys.stderr)
        return 1
    return 0

