"""``rad3d synth``: synthetic North Carolina claims, deterministic for a seed."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from analysis._io import dumps_json
from analysis.defaults import EFFECTIVE_DATE, POLICY_PAYERS
from analysis.errors import InputError


def _years(text: str) -> tuple[int, int]:
    """``2023-2025`` (or one year, ``2024``) as ``(first, last)``."""
    first, _, last = text.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a span of years such as 2023-2025") from None


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "synth",
        help="generate synthetic North Carolina claims (deterministic for a seed)",
        description=(
            "Generate a year (or, with --years, several) of synthetic claims for North "
            "Carolina radiology practices "
            "(sizes, practice types, payer mix, oncology share and 3D rendering propensity "
            "calibrated to published facts; see analysis.synth). The same arguments and "
            "seed give identical files. Volumes default to 1/40 of full size, as in the "
            "bundled sample data/sample/claims_2024.parquet."
        ),
    )
    p.set_defaults(run=run)
    p.add_argument("--practices", type=int, default=40, help="number of practices (default 40)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--year", type=int, default=2024, help="service year (default 2024)")
    when.add_argument(
        "--years", metavar="FIRST-LAST", type=_years, default=None,
        help=(
            "several service years, e.g. 2023-2025: quarterly seasonality, practice growth, "
            "a few practices entering or leaving (data/sample/claims_2023_2025.parquet)"
        ),
    )  # fmt: skip
    response = p.add_argument_group(
        "policy response (with --years)",
        "From the effective date each practice stops a share of the 3D renderings it "
        "would have billed to the policy payer (its own share, drawn around SHARE); "
        "other payers are unchanged. --truth records every practice's true share.",
    )
    response.add_argument(
        "--policy-response", metavar="SHARE", type=float, default=None,
        help="mean share of renderings stopped, 0-1 (default: no response)",
    )  # fmt: skip
    response.add_argument(
        "--effective-date", metavar="YYYY-MM-DD", default=None,
        help=f"first service date of the response (default {EFFECTIVE_DATE:%Y-%m-%d})",
    )  # fmt: skip
    response.add_argument(
        "--policy-payer", default=None,
        help=f"the payer whose renderings are stopped (default {POLICY_PAYERS[0]})",
    )  # fmt: skip
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


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that building the parser stays cheap.
    import numpy as np

    from analysis import synth

    out = Path(args.out)
    if args.damage and not Path(args.damage).parent.is_dir():
        raise InputError("the output folder does not exist; create it first", file=args.damage)
    given = [f"--{k.replace('_', '-')}" for k in ("policy_response", "effective_date",
                                                   "policy_payer") if getattr(args, k) is not None]
    response = None
    if given and args.years is None:
        raise InputError(f"{given[0]} needs --years (a span with claims before and after "
                         "the effective date)", column="years")  # fmt: skip
    if given and args.policy_response is None:
        raise InputError(f"{given[0]} needs --policy-response SHARE", column="policy_response")
    if args.policy_response is not None:
        response = synth.PolicyResponse(
            args.policy_response,
            effective_date=args.effective_date or EFFECTIVE_DATE,
            payer=args.policy_payer or POLICY_PAYERS[0],
        )
    n_years = 1 if args.years is None else args.years[1] - args.years[0] + 1
    if args.scale is not None:
        scale = synth.scale_for_lines(
            max(1, round(args.scale / n_years)), args.practices,
            rng=np.random.default_rng(args.seed),
        )  # fmt: skip
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
        years=args.years,
        response=response,
    )
    seconds = time.perf_counter() - started
    n_lines = int(result.practices["n_lines"].sum())
    when = (f"year {args.year}" if args.years is None
            else f"years {args.years[0]}-{args.years[1]}")  # fmt: skip
    print(
        f"wrote {out}: {n_lines:,} lines, {args.practices} practices, {when}, "
        f"seed {args.seed}, volume scale {scale:.6g}, "
        f"{out.stat().st_size / 1e6:.1f} MB in {seconds:.1f} s"
    )
    if response is not None:
        p = result.practices
        realized = (p["n_response_encounters_3d_stopped"].sum()
                    / max(1, p["n_response_encounters_3d_would"].sum()))  # fmt: skip
        print(
            f"policy response: {response.payer} from {response.effective_date:%Y-%m-%d}, "
            f"practices' stop shares mean {p['stop_share'].mean():.3f} (drawn around "
            f"{response.share:g}); {int(p['n_response_encounters_3d_stopped'].sum()):,} of "
            f"{int(p['n_response_encounters_3d_would'].sum()):,} renderings stopped "
            f"({realized:.1%})"
        )
    if args.truth:
        print(f"wrote {args.truth}: true parameters of {args.practices} practices")
    if args.damage:
        lines = synth.read_lines(out)
        seed = args.seed if args.damage_seed is None else args.damage_seed
        damaged = synth.damage(lines, rng=np.random.default_rng(seed))
        synth.write_damaged(damaged, args.damage)
        print(f"wrote {args.damage}: expected validation report")
        print(dumps_json(damaged.expected), end="")
    return 0
