"""The ``rad3d`` command line.

One module per subcommand, each with ``add(subparsers)``, which declares the options and
imports nothing heavy, and ``run(args) -> int``, which imports what the work needs and
returns the exit code; :data:`SUBCOMMANDS` lists them in the order ``rad3d --help``
shows them. User-caused errors (:class:`analysis.errors.InputError`) print one line on
stderr and exit 2; bugs raise normally (see :func:`analysis.cli._common.run_command`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from analysis import __version__
from analysis.cli import fees, impact, lcd, puf, report, synth, validate, whatif
from analysis.cli._common import run_command

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

SUBCOMMANDS = (fees, validate, synth, lcd, impact, report, whatif, puf)


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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in SUBCOMMANDS:
        command.add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    return run_command(args)
