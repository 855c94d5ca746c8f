"""The ``rad3d`` command line.

Each subcommand has an ``_add_<name>(subparsers)`` that declares its arguments and a
``_run_<name>(args) -> int`` that does the work and returns the exit code. User-caused
errors (:class:`analysis.errors.InputError`) print one line on stderr and exit 2;
bugs raise normally.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from analysis import __version__
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


# ------------------------------------------------------------------- validate
# (section: validate)


# ---------------------------------------------------------------------- synth
# (section: synth)


# ------------------------------------------------------------------------ lcd
# (section: lcd)


# --------------------------------------------------------------------- impact
# (section: impact)


# --------------------------------------------------------------------- report
# (section: report)


# ------------------------------------------------------------------------ puf
# (section: puf)


# ----------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rad3d",
        description=(
            "Revenue impact of not paying 3D rendering (CPT 76376/76377) separately, "
            "and a screen of 3D billing against the retired Novitas LCD L35408 20%% "
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
