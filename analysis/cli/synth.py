"""``rad3d synth``: synthetic North Carolina claims, deterministic for a seed."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from analysis._io import dumps_json
from analysis.errors import InputError


def add(subparsers) -> None:
    p = subparsers.add_parser(
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
    p.set_defaults(run=run)
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


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that building the parser stays cheap.
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
        print(dumps_json(damaged.expected), end="")
    return 0
