"""The ``rad3d`` command line.

Each subcommand has an ``_add_<name>(subparsers)`` that declares its arguments and a
``_run_<name>(args) -> int`` that does the work and returns the exit code. User-caused
errors (:class:`analysis.errors.InputError`) print one line on stderr and exit 2;
bugs raise normally.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from analysis import __version__
from analysis._io import write_atomic
from analysis.errors import InputError

__all__ = ["main"]

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _command(name: str):
    def register(run: Callable[[argparse.Namespace], int]):
        _COMMANDS[name] = run
        return run

    return register


# ----------------------------------------------------------------------- fees
# (section: fees)


def _add_fees(sub) -> None:
    p = sub.add_parser(
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


@_command("fees")
def _run_fees(args: argparse.Namespace) -> int:
    from analysis import fees

    table = fees.fee_table(
        args.code,
        state=args.state,
        locality=args.locality,
        year=args.year,
        date=args.date,
        rvu=fees.load_rvu(args.rvu),
        gpci=fees.load_gpci(args.gpci),
        qualifying_apm=args.qualifying_apm,
    )
    print(table.to_text())
    return 0


# ------------------------------------------------------------------- validate
# (section: validate)
def _add_validate(sub):
    p = sub.add_parser(
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
    p.add_argument("--json", action="store_true",
                   help="print the report as JSON (dollars as integer cents) instead of a table")


@_command("validate")
def _run_validate(args) -> int:
    import json
    from pathlib import Path

    from analysis.claims import DEFAULT_SAMPLE, load_claims

    files = args.files
    if not files:
        if not DEFAULT_SAMPLE.exists():
            raise InputError("no FILE given and the bundled sample is missing; run "
                             "`rad3d synth` or name a claims file", file=DEFAULT_SAMPLE)
        files = [str(DEFAULT_SAMPLE)]
    result = load_claims(files, column_map=args.column_map, encoding=args.encoding)
    if args.json:
        print(json.dumps(result.report.to_dict(), indent=2))
    else:
        print(result.report)
    if args.quarantine:
        out = Path(args.quarantine)
        if out.parent and not out.parent.exists():
            raise InputError("the folder for the quarantine file does not exist", file=out)
        write_atomic(out, lambda tmp: result.quarantine.to_csv(tmp, index=False))
        print(f"\nquarantine: {len(result.quarantine):,} row(s) written to {out}")
    if args.strict and len(result.quarantine):
        print(f"rad3d validate: {len(result.quarantine):,} row(s) quarantined (--strict)",
              file=sys.stderr)
        return 1
    return 0



# ---------------------------------------------------------------------- synth
# (section: synth)
def _add_synth(sub) -> None:
    p = sub.add_parser(
        "synth",
        help="generate synthetic North Carolina claims (deterministic for a seed)",
        description=(
            "Generate a year of synthetic claims for North Carolina radiology practices "
            "(sizes, practice types, payer mix, oncology share and 3D rendering propensity "
            "calibrated to published facts; see analysis.synth). The same arguments and "
            "seed give identical files. Volumes default to 1/40 of full size, as in the "
            "bundled sample data/sample/claims_2024.parquet."
        ),
    )
    p.add_argument("--practices", type=int, default=40, help="number of practices (default 40)")
    p.add_argument("--year", type=int, default=2024, help="service year (default 2024)")
    p.add_argument("--seed", type=int, default=2024, help="random seed (default 2024)")
    p.add_argument(
        "--out", required=True,
        help=(
            "claims file to write: .parquet, .csv or .csv.gz (the bundled sample is "
            "data/sample/claims_2024.parquet; see data/sample/README.md)"
        ),
    )  # fmt: skip
    p.add_argument(
        "--format", choices=("parquet", "csv"), default=None,
        help="output format (default: from the --out suffix)",
    )  # fmt: skip
    p.add_argument(
        "--truth", metavar="FILE.csv", default=None,
        help="also write each practice's true parameters and realized counts (CSV)",
    )  # fmt: skip
    volume = p.add_mutually_exclusive_group()
    volume.add_argument(
        "--scale", metavar="N_LINES", type=int, default=None,
        help=(
            "produce about N_LINES lines by scaling practice volumes, streaming to disk "
            "in bounded memory (benchmarks; ~150 practices at full size make ~25M lines)"
        ),
    )  # fmt: skip
    volume.add_argument(
        "--volume-scale", type=float, default=None,
        help="volume factor, 1 = full-size practices (default 1/40, the bundled sample)",
    )  # fmt: skip
    p.add_argument(
        "--damage", metavar="OUT.csv[.gz]", default=None,
        help=(
            "also write a realistically damaged CSV copy of the lines (repairable damage "
            "and quarantine-worthy rows at known rates) and print the expected counts; "
            "reads the written lines into memory, so meant for sample sizes"
        ),
    )  # fmt: skip
    p.add_argument(
        "--damage-seed", type=int, default=None, help="seed of the damage (default: --seed)"
    )
    p.add_argument(
        "--batch-lines", type=int, default=250_000,
        help="lines per written batch / Parquet row group (default 250000)",
    )  # fmt: skip


@_command("synth")
def _run_synth(args) -> int:
    import json
    import time
    from pathlib import Path

    import numpy as np

    from analysis import synth

    out = Path(args.out)
    if args.damage and not Path(args.damage).parent.is_dir():
        raise InputError("the output folder does not exist; create it first", file=args.damage)
    if args.scale is not None:
        scale = synth.scale_for_lines(
            args.scale, args.practices, rng=np.random.default_rng(args.seed)
        )
    else:
        scale = synth.SAMPLE_SCALE if args.volume_scale is None else args.volume_scale
    started = time.perf_counter()
    result = synth.write_synthetic(
        out,
        args.practices,
        year=args.year,
        rng=np.random.default_rng(args.seed),
        scale=scale,
        format=args.format,
        truth=args.truth,
        batch_lines=args.batch_lines,
    )
    seconds = time.perf_counter() - started
    n_lines = int(result.practices["n_lines"].sum())
    print(
        f"wrote {out}: {n_lines:,} lines, {args.practices} practices, year {args.year}, "
        f"seed {args.seed}, volume scale {scale:.6g}, "
        f"{out.stat().st_size / 1e6:.1f} MB in {seconds:.1f} s"
    )
    if args.truth:
        print(f"wrote {args.truth}: true parameters of {args.practices} practices")
    if args.damage:
        lines = synth.read_lines(out)
        seed = args.seed if args.damage_seed is None else args.damage_seed
        damaged = synth.damage(lines, rng=np.random.default_rng(seed))
        synth.write_damaged(damaged, args.damage)
        print(f"wrote {args.damage}: expected validation report")
        print(json.dumps(damaged.expected, indent=2))
    return 0


# ------------------------------------------------------------------------ lcd
# (section: lcd)


def _add_lcd(sub) -> None:
    p = sub.add_parser(
        "lcd",
        help="screen practices' 3D rendering rates against the retired LCD L35408 20% "
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
    p.add_argument("--period", choices=("year", "quarter"), default="quarter",
                   help="periods of the trend table (the screen sums all periods); "
                   "default quarter")
    _engine_options(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")


def _engine_options(p: argparse.ArgumentParser) -> None:
    """``--engine/--scheduler/--workers`` of the commands that summarize claims."""
    p.add_argument("--engine", choices=("memory", "stream", "dask"), default="memory",
                   help="how claims are read: memory (load everything, default), stream "
                   "(batches spilled by practice to temporary files; bounded memory, any "
                   "file size), dask (the same work on a Dask cluster; needs "
                   "pip install 'rad3d[distributed]'). All give the same numbers.")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --engine dask: scheduler of an existing cluster, e.g. "
                   "tcp://10.0.0.5:8786 (default: start a local cluster)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="with --engine stream: worker processes (default 1; each holds "
                   "one unit of practices in memory)")


def _summary_from_args(args: argparse.Namespace, paths: list[str], *, period: str):
    """Summarize the claims of ``paths`` with the engine flags of ``args``."""
    from analysis import scale

    options = {"workers": args.workers} if args.engine == "stream" else {}
    return scale.summary_for_cli(paths, engine=args.engine, scheduler=args.scheduler,
                                 period=period, **options)


def _output_dir(path: str):
    """Create the output directory ``path`` (with parents); InputError if it cannot be."""
    from pathlib import Path

    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output directory ({err.strerror})",
                         file=out) from None
    return out


def _claim_lines_text(rep, *, skipped: bool) -> str:
    """One line counting the claim lines read, accepted, quarantined (and ``skipped``)."""
    return (f"Claim lines: {rep.rows_read:,} read, {rep.rows_accepted:,} accepted, "
            f"{rep.rows_quarantined:,} quarantined"
            + (f", {rep.rows_filtered_out:,} skipped (codes not relevant)"
               if skipped and rep.rows_filtered_out else "")
            + (" (rad3d validate lists them)." if rep.rows_quarantined else "."))


@_command("lcd")
def _run_lcd(args: argparse.Namespace) -> int:
    import pandas as pd

    from analysis import lcd, plots, synth

    paths = list(args.claims) or [str(synth.SAMPLE_CLAIMS)]
    read = _summary_from_args(args, paths, period=args.period)
    rep, summ = read.report, read.summary
    result = lcd.screen(
        summ, threshold=args.threshold, basis=args.basis,
        exempt_oncology=args.exempt_oncology, alpha=args.alpha, ci=args.ci,
        payers=args.payers,
    )
    out = _output_dir(args.out)
    settings = pd.DataFrame(
        [(k, str(v)) for k, v in result.to_dict()["settings"].items()]
        + [(f"overdispersion_{k}", str(v)) for k, v in result.overdispersion.to_dict().items()]
        + [(f"prior_{k}", str(v)) for k, v in result.prior.to_dict().items()]
        + [("inputs", "; ".join(str(p) for p in paths))],
        columns=["setting", "value"])
    definitions = pd.DataFrame({"definition": [result.lcd_status]
                                + result.definitions.splitlines()})

    def write_xlsx(tmp: str) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            result.table.to_excel(xl, sheet_name="screen", index=False)
            result.agreement.to_excel(xl, sheet_name="agreement", index=False)
            result.trend.to_excel(xl, sheet_name="trend", index=False)
            definitions.to_excel(xl, sheet_name="definitions", index=False)
            settings.to_excel(xl, sheet_name="settings", index=False)

    written = {
        "lcd_screen.csv": lambda tmp: result.table.to_csv(tmp, index=False),
        "lcd_screen.xlsx": write_xlsx,
        "funnel.png": lambda tmp: plots.funnel_plot(result).savefig(tmp, format="png",
                                                                    dpi=150),
    }
    for name, write in written.items():
        write_atomic(out / name, write)

    flagged = result.table.loc[result.table["flag"]].sort_values("q_value")
    print(_claim_lines_text(rep, skipped=True))
    print(result.headline)
    if len(flagged):
        print("Flagged: " + ", ".join(
            f"{r.practice_id} ({r.rate:.1%} of {r.n:,}, q = {r.q_value:.2g})"
            for r in flagged.itertuples()))
    n_unscreened = int((~result.table["screened"]).sum())
    if n_unscreened:
        print(f"Not screened (n = 0): {n_unscreened} practice(s).")
    print(f"LCD status: {result.lcd_status}")
    print("Definitions:")
    for line in result.definitions.splitlines():
        print(f"  - {line}")
    print("Wrote: " + ", ".join(str(out / name) for name in written))
    return 0


# --------------------------------------------------------------------- impact
# (section: impact)

_IMPACT_POLICIES = ("full_bundling", "lcd_cap", "medical_necessity")


def _add_impact(sub) -> None:
    p = sub.add_parser(
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
            "baseline claims annualized (quarters covered, averaged); then volume growth "
            "and fee updates apply. Lines without an observed allowed amount are priced "
            "at the Medicare fee schedule times a payer multiplier. Non-compliant 3D lines "
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
    p.add_argument("claims", nargs="*", metavar="CLAIMS",
                   help="claims files (CSV, CSV.gz or Parquet, canonical schema); "
                   "default: the bundled sample")
    p.add_argument("--policy", choices=(*_IMPACT_POLICIES, "all"), default="all",
                   help="policy to model (default all three, against the status quo)")
    p.add_argument("--payer", dest="payers", action="extend", nargs="+", metavar="NAME",
                   help="payer labels the policy applies to (default BCBSNC)")
    p.add_argument("--horizon", type=int, default=3,
                   help="years, 1-5 (default 3)")
    p.add_argument("--growth", type=float, default=None,
                   help="annual volume growth after year 1, e.g. 0.03 (default 0.0 [A])")
    p.add_argument("--fee-update", type=float, default=None,
                   help="annual price change after year 1 (default 0.0 [A])")
    p.add_argument("--multiplier", type=float, default=None,
                   help="commercial price as a multiple of Medicare for lines without an "
                   "observed allowed amount (default 1.8 [A], sensitivity 1.2-2.5)")
    p.add_argument("--effective-date", default=None, metavar="YYYY-MM-DD",
                   help="first day the policy is in force (default 2025-01-01 [A])")
    p.add_argument("--start-date", default=None, metavar="YYYY-MM-DD",
                   help="first day of horizon year 1 (default 2025-01-01)")
    p.add_argument("--scope-share", type=float, default=None,
                   help="share of the payer's business the policy applies to (default 1.0 [A])")
    p.add_argument("--threshold", type=float, default=None,
                   help="LCD-cap share of non-oncology CT/MR encounters (default 0.20, "
                   "retired LCD L35408)")
    p.add_argument("--stop-share", type=float, default=None,
                   help="share of unpaid renderings practices stop (default 0.25 [A])")
    p.add_argument("--discount-rate", type=float, default=None,
                   help="for present values (default 0: undiscounted)")
    p.add_argument("--baseline-days", type=float, default=None,
                   help="annualize by 365/DAYS instead of by the quarters covered")
    p.add_argument("--draws", type=int, default=10_000,
                   help="PSA draws (default 10000; 0 skips the PSA)")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the PSA random number generator (default 1)")
    _engine_options(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")


@_command("impact")
def _run_impact(args: argparse.Namespace) -> int:
    import json

    import numpy as np
    import pandas as pd

    from analysis import claims, impact, plots, policy, uncertainty

    if args.draws < 0:
        raise InputError("must be >= 0", column="--draws", value=args.draws)
    changes = {
        "horizon_years": args.horizon,
        "volume_growth": args.growth,
        "fee_update": args.fee_update,
        "commercial_multiplier": args.multiplier,
        "stop_share": args.stop_share,
        "discount_rate": args.discount_rate,
        "baseline_days": args.baseline_days,
        "start_date": args.start_date,
    }
    assumptions = impact.ImpactAssumptions(**{k: v for k, v in changes.items() if v is not None})
    options = {"payers": tuple(args.payers) if args.payers else None,
               "effective_date": args.effective_date, "scope_share": args.scope_share}
    options = {k: v for k, v in options.items() if v is not None}
    names = _IMPACT_POLICIES if args.policy == "all" else (args.policy,)
    policies = []
    for name in names:
        extra = {"threshold": args.threshold} if name == "lcd_cap" and args.threshold else {}
        policies.append(policy.get_policy(name, **options, **extra))

    paths = list(args.claims) or [str(claims.DEFAULT_SAMPLE)]
    read = _summary_from_args(args, paths, period="quarter")
    rep, summ = read.report, read.summary
    base = impact.impact_base(summ, baseline_days=assumptions.baseline_days)
    result = impact.impact(base, [policy.status_quo(), *policies], assumptions=assumptions)
    tornados = {p.name: uncertainty.one_way(base, p, assumptions=assumptions) for p in policies}
    psas = []
    if args.draws:
        psas = [uncertainty.psa(base, p, rng=np.random.default_rng(args.seed),
                                n_draws=args.draws, assumptions=assumptions)
                for p in policies]

    out = _output_dir(args.out)
    psa_by_name = {r.policy.name: r for r in psas}
    summary_json = {
        "headline": result.headline().splitlines(),
        "inputs": {"claims": paths, "rows_read": rep.rows_read,
                   "rows_accepted": rep.rows_accepted,
                   "rows_quarantined": rep.rows_quarantined},
        "baseline": result.base,
        "psa": {"draws": args.draws, "seed": args.seed,
                "rng": "numpy.random.default_rng(seed), the same stream for every policy"},
        "policies": {},
        "assumptions": result.assumptions.to_dict(),
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

    def write_json(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(summary_json, fh, indent=2, default=impact._json_default)
            fh.write("\n")

    def write_xlsx(tmp: str) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            result.summary.to_excel(xl, sheet_name="summary", index=False)
            result.totals.to_excel(xl, sheet_name="totals", index=False)
            result.practices.to_excel(xl, sheet_name="practices", index=False)
            result.payers.to_excel(xl, sheet_name="payers", index=False)
            pd.concat(tornados.values()).to_excel(xl, sheet_name="tornado", index=False)
            if psas:
                pd.concat([r.summary for r in psas]).to_excel(xl, sheet_name="psa", index=False)
                pd.concat([r.practice_summary for r in psas]).to_excel(
                    xl, sheet_name="psa_practices", index=False)
            result.assumption_table().to_excel(xl, sheet_name="assumptions", index=False)
            pd.DataFrame([p.to_dict() for p in result.policies]).astype(str).to_excel(
                xl, sheet_name="policies", index=False)

    def png(fig):
        return lambda tmp: fig.savefig(tmp, format="png", dpi=150)

    written = {
        "impact_practices.csv": lambda tmp: result.practices.to_csv(tmp, index=False),
        "impact_summary.json": write_json,
        "impact.xlsx": write_xlsx,
        "impact_policy_comparison.png": png(plots.policy_comparison(result, psas)),
    }
    for p in policies:
        written[f"impact_by_year_{p.name}.png"] = png(plots.impact_by_year(result, p.name))
        written[f"impact_loss_distribution_{p.name}.png"] = png(
            plots.loss_distribution(result, p.name))
        written[f"impact_tornado_{p.name}.png"] = png(plots.tornado_plot(tornados[p.name]))
        if p.name in psa_by_name:
            r = psa_by_name[p.name]
            written[f"impact_psa_{p.name}.png"] = png(plots.psa_histogram(r))
            written[f"impact_convergence_{p.name}.png"] = png(
                plots.convergence_plot(r.convergence()))
    for name, write in written.items():
        write_atomic(out / name, write)

    print(_claim_lines_text(rep, skipped=False))
    b = result.base
    print(f"Baseline {b['periods'][0]}..{b['periods'][-1]} ({b['baseline_days']:g} days), "
          f"annualized x{b['annualization_factor']:.4g}; {b['n_practices']} practices.")
    print(result.headline())
    for r in psas:
        lo, hi = r.interval("loss_usd")
        conv = r.convergence()
        state = (f"stable within 1% from {conv.n_stable:,} draws" if conv.n_stable
                 else "not stable within 1%: use more draws")
        print(f"  PSA {r.policy.name}: {r.level:.0%} interval of the horizon loss "
              f"${lo:,.0f} to ${hi:,.0f} (mean ${r.totals['loss_usd'].mean():,.0f}; {state}).")
    print("Assumptions and sources: DIR/impact_summary.json (assumption_sources).")
    print("Wrote: " + ", ".join(str(out / name) for name in written))
    return 0



# --------------------------------------------------------------------- report
# (section: report)
def _add_report(sub) -> None:
    p = sub.add_parser(
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
    p.add_argument("--params", nargs="+", action="extend", metavar="FILE.yaml", default=None,
                   help="scenario files; may be repeated (default: notebooks/params/base.yaml)")
    p.add_argument("--practices", default="all", metavar="all|none|ID,...",
                   help="practices that get a scorecard (default: all)")
    p.add_argument("--notebooks", default=None, metavar="NAME,...",
                   help="run only these notebooks (default: all in notebooks/)")
    p.add_argument("--claims", nargs="+", metavar="FILE", default=None,
                   help="claims files for every scenario (default: the scenario's "
                        "'claims' parameter, else the bundled synthetic sample)")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="notebooks run in parallel, one process each (default: 2)")
    p.add_argument("--out", default="reports/latest", metavar="DIR",
                   help="report folder, replaced atomically (default: reports/latest)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the notebooks of --out that succeeded with the same "
                        "notebook, parameters and inputs")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="where prepared inputs (linked claims) are cached; they hold "
                        "patient keys (default: .rad3d-cache beside --out)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@_command("report")
def _run_report(args) -> int:
    from analysis import reports

    result = reports.run_report(
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
    n = len(result.records)
    reused = sum(r["status"] == "reused" for r in result.records)
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


# ------------------------------------------------------------------------ puf
# (section: puf)
def _add_puf(sub) -> None:
    p = sub.add_parser(
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
                   help="NPI -> practice crosswalk (columns npi, practice_id[, "
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
    p.add_argument("--draws", type=int, default=10_000,
                   help="Monte Carlo draws for the exposure interval (default 10000)")
    p.add_argument("--seed", type=int, default=20240601, help="random seed (default 20240601)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")


@_command("puf")
def _run_puf(args) -> int:
    import json
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from analysis import puf

    run = puf.medicare_benchmark(
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
    read, rolled, result, exposure = run.read, run.rollup, run.screen, run.exposure
    path = Path(read.path)
    exposure_state = exposure.state

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = result.table
    write_atomic(out / "puf_screen.csv", lambda p: table.to_csv(p, index=False))
    sheets = {
        "screen": table,
        "flag_status": result.summary,
        "read_reconciliation": read.summary,
        "rollup": rolled.summary,
        "unmatched_npis": rolled.unmatched,
        "quarantine": read.quarantine,
        "exposure": exposure.table,
    }
    consistency = run.consistency
    if consistency is not None:
        sheets["consistency"] = consistency
        write_atomic(out / "consistency.csv", lambda p: consistency.to_csv(p, index=False))

    def write_xlsx(p: str) -> None:
        with pd.ExcelWriter(p, engine="openpyxl") as xl:
            for name, frame in sheets.items():
                frame.to_excel(xl, sheet_name=name[:31], index=False)

    write_atomic(out / "puf_screen.xlsx", write_xlsx)
    if len(read.quarantine):
        write_atomic(out / "quarantine.csv", lambda p: read.quarantine.to_csv(p, index=False))
    record = {**run.to_dict(), "seed": args.seed}
    write_atomic(out / "exposure.json",
           lambda p: Path(p).write_text(json.dumps(record, indent=2, default=str)))

    dollars = exposure.table.set_index("quantity").loc["payer_3d_allowed_usd"]
    print(f"{path.name} ({read.layout}): {read.counts['rows_read']:,} rows read, "
          f"{read.counts['rows_kept']:,} CT/MR/3D rows kept, "
          f"{read.counts['rows_quarantined']:,} quarantined")
    print(result.headline)
    if rolled.counts["npis_unmatched"]:
        print(f"{rolled.counts['npis_unmatched']} NPIs not in the crosswalk (own practices; "
              "listed in puf_screen.xlsx, sheet unmatched_npis)")
    if consistency is not None:
        gap = consistency["gap_services"].sum()
        print(f"geography file minus provider file (suppressed services): {gap:,.0f}")
    print(f"{exposure.assumptions.payer} 3D allowed dollars in {exposure_state} (estimate from "
          f"public data): ${dollars['point']:,.0f} "
          f"(95% interval ${dollars['low']:,.0f}-${dollars['high']:,.0f})")
    print(f"wrote {out}/puf_screen.csv, puf_screen.xlsx, exposure.json")
    return 0



# ----------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rad3d",
        description=(
            "Revenue impact of not paying 3D rendering (CPT 76376/76377) separately, "
            "and a screen of 3D billing against the retired Novitas LCD L35408 20% "
            "benchmark. Every command reads the bundled synthetic sample when no input "
            "is given."
        ),
    )
    parser.add_argument("--version", action="version", version=f"rad3d {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, obj in list(globals().items()):
        if name.startswith("_add_") and callable(obj):
            obj(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        return _COMMANDS[args.command](args)
    except InputError as err:
        print(f"rad3d {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rad3d {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into a reader that stopped early (`rad3d lcd ... | head`).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
