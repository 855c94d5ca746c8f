"""What the subcommands share: option groups, output folders and writers, the exit codes.

Nothing here imports pandas, scipy or matplotlib: the subcommand modules use these
helpers while the parser is built, and ``rad3d --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from analysis._io import dumps_json, frame_to_csv, sha256_file, write_atomic
from analysis.errors import InputError
from analysis.ranges import check_range

__all__ = [
    "bounded",
    "claim_lines_text",
    "claims_data_statement",
    "csv_writer",
    "engine_options",
    "engine_settings",
    "check_options",
    "study_window_option",
    "excel_writer",
    "json_writer",
    "output_dir",
    "png_writer",
    "run_command",
    "UNSUPPRESSED",
    "write_files",
]

Writer = Callable[[str], object]
"""Writes one output file to the temporary path it is given (see ``write_atomic``)."""


# ------------------------------------------------------------------ options


def bounded(p: argparse.ArgumentParser, **parameters: str) -> None:
    """Check options of ``p`` against :data:`analysis.ranges.RANGES` before the command
    runs: ``bounded(p, alpha="alpha", draws="n_draws")`` maps an option's dest to the
    parameter whose range it has; the message names the option (``--draws``)."""
    p.set_defaults(bounded={**(p.get_default("bounded") or {}), **parameters})


def _check_bounded(args: argparse.Namespace) -> None:
    for dest, name in (getattr(args, "bounded", None) or {}).items():
        value = getattr(args, dest, None)
        if value is not None:
            check_range(name, value, column="--" + dest.replace("_", "-"))


_ENGINES = ("stream", "dask")


def _engine(value: str) -> str:
    if value == "memory":  # the former default, removed: it held the whole file
        raise argparse.ArgumentTypeError(
            "--engine memory was removed: the default (stream) gives the same numbers "
            "in bounded memory")
    if value not in _ENGINES:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {value!r} (choose from {', '.join(_ENGINES)})")
    return value


def study_window(value: str):
    """``--study-window``: ``auto``, ``none`` or ``FIRST:LAST`` dates."""
    if value in ("auto", "none"):
        return None if value == "none" else "auto"
    first, sep, last = value.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(
            f"expected auto, none or FIRST:LAST dates (e.g. 2024-01-01:2024-12-31), got {value!r}")
    return (first, last)


def study_window_option(p: argparse.ArgumentParser) -> None:
    """``--study-window`` and ``--max-line-usd`` of the commands that read claims."""
    p.add_argument("--study-window", type=study_window, default="auto",
                   metavar="auto|none|FIRST:LAST",
                   help="service dates accepted; others are quarantined as "
                   "outside_study_window (default auto: the claims' years +/- 1, e.g. "
                   "2023-01-01..2025-12-31 for a 2024 extract; none: any plausible date)")
    p.add_argument("--max-line-usd", type=float, default=None, metavar="USD",
                   help="largest allowed or paid amount one line may carry; lines above it "
                   "are quarantined as amount_above_cap (default 100000)")
    bounded(p, max_line_usd="max_line_usd")


def engine_options(p: argparse.ArgumentParser) -> None:
    """``--engine/--scheduler/--workers`` of the commands that summarize claims, and
    ``--study-window``."""
    study_window_option(p)
    p.add_argument("--engine", type=_engine, default="stream", metavar="{stream,dask}",
                   help="how claims are read: stream (default: rows checked in batches, "
                   "then duplicates, links and summary on the embedded DuckDB engine "
                   "within a memory limit; any file size), dask (the same checks and "
                   "link on a Dask cluster; needs pip install 'rad3d[distributed]'). "
                   "Both give the same numbers.")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --engine dask: scheduler of an existing cluster, e.g. "
                   "tcp://10.0.0.5:8786 (default: start a local cluster)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="with --engine stream: worker processes for the row checks "
                   "(default: one per core, at most one per 1,000,000-line piece of the "
                   "input and at most 4; each holds one batch of lines)")
    p.add_argument("--memory-limit", default="1GB", metavar="SIZE",
                   help="with --engine stream: memory the embedded DuckDB engine may use "
                   "to link and summarize before it spills to disk (default 1GB; e.g. "
                   "512MB, 4GB)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress on stderr (by default a status line on a terminal, "
                   "and one summary line when stderr is not a terminal)")
    bounded(p, workers="workers")


def engine_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``scale.summary_for_cli`` that the engine options give."""
    # --workers means worker processes of the stream engine only; the other engines
    # must not receive it.
    from analysis.scale import Progress  # heavy: only when a command runs

    workers = ({"workers": args.workers, "memory_limit": args.memory_limit}
               if args.engine == "stream" else {})
    progress = Progress.quiet() if getattr(args, "quiet", False) else Progress()
    return {"engine": args.engine, "scheduler": args.scheduler, "progress": progress,
            **check_options(args), **workers}


def check_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the claims readers that ``--study-window`` and
    ``--max-line-usd`` give."""
    cap = {} if args.max_line_usd is None else {"max_line_usd": args.max_line_usd}
    return {"study_window": args.study_window, **cap}


# ------------------------------------------------------------------ outputs


def output_dir(path: str) -> Path:
    """Create the output directory ``path`` (with parents); InputError if it cannot be."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output directory ({err.strerror})",
                         file=out) from None
    return out


def csv_writer(frame) -> Writer:
    """Writes a DataFrame as CSV without its index, no text cell a formula."""
    return lambda tmp: frame_to_csv(frame, tmp)


UNSUPPRESSED = ("None: the tables hold practice-level counts and dollars as computed, "
                "unsuppressed. Check them before sharing; rad3d report suppresses counts "
                "from 1 to 10.")
"""The suppression line of a command's workbook cover."""


def excel_writer(tables: Mapping[str, Any], **options: Any) -> Writer:
    """Writes the formatted workbook of ``{sheet name: DataFrame}`` that every rad3d
    workbook is (:func:`analysis.report.excel.workbook_bytes`; ``options``: its
    ``cover``, ``labels``, ``captions``, ``definitions``)."""
    def write(tmp: str) -> None:
        # pandas and openpyxl: imported when a command writes, not when the parser is built
        from analysis.report.excel import workbook_bytes

        Path(tmp).write_bytes(workbook_bytes(tables, **options))

    return write


def claims_data_statement(paths: list[str], rep) -> str:
    """The data statement of a command's workbook cover: the claims files (name and
    SHA-256; the bundled sample called synthetic) and the rows read, accepted and
    quarantined (:func:`analysis.report.data_statement`)."""
    from analysis.report.provenance import data_statement

    files = [{"path": str(p), "sha256": sha256_file(p)} for p in paths]
    return data_statement({"claims": files, "claims_report": rep.to_dict()}, min_cell_count=1)


def json_writer(obj: Any) -> Writer:
    """Writes ``obj`` as standard JSON (NaN as null)."""
    return lambda tmp: Path(tmp).write_text(dumps_json(obj), encoding="utf-8")


def png_writer(fig) -> Writer:
    """Writes a figure of :mod:`analysis.plots` as a 150 dpi PNG
    (:func:`analysis.plots.png_bytes`: dollar signs as text). The figures are built
    without pyplot, so the command chooses no backend and has none to close."""
    def write(tmp: str) -> None:
        from analysis.plots import png_bytes  # matplotlib: only when a command writes

        Path(tmp).write_bytes(png_bytes(fig, dpi=150))

    return write


def write_files(out: Path, writers: Mapping[str, Writer]) -> list[Path]:
    """Write ``{file name: writer}`` into ``out``, each atomically, in that order."""
    return [write_atomic(out / name, write) for name, write in writers.items()]


def claim_lines_text(rep, *, skipped: bool) -> str:
    """One line counting the claim lines read, accepted, quarantined (and ``skipped``)."""
    return (f"Claim lines: {rep.rows_read:,} read, {rep.rows_accepted:,} accepted, "
            f"{rep.rows_quarantined:,} quarantined"
            + (f", {rep.rows_filtered_out:,} skipped (codes not relevant)"
               if skipped and rep.rows_filtered_out else "")
            + (" (rad3d validate lists them)." if rep.rows_quarantined else "."))


# ----------------------------------------------------------------- exit codes

_SYSTEM_ADVICE = {
    errno.EACCES: "choose a folder you may write to, or ask for access",
    errno.EPERM: "choose a folder you may write to, or ask for access",
    errno.EROFS: "choose a folder on a writable disk",
    errno.ENOSPC: "free some space on that disk or write elsewhere",
    errno.EDQUOT: "free some space within your quota or write elsewhere",
    errno.ENAMETOOLONG: "choose a shorter folder or file name",
}
"""Errors of the machine, not of rad3d, that a user fixes: errno -> what to do."""


def system_error_text(err: OSError) -> str | None:
    """One line for an :data:`_SYSTEM_ADVICE` error (``None`` for any other OSError).

    >>> system_error_text(OSError(errno.ENOSPC, "No space left on device", "/r/x.csv"))
    '/r/x.csv: No space left on device; free some space on that disk or write elsewhere'
    """
    advice = _SYSTEM_ADVICE.get(err.errno)
    if advice is None:
        return None
    name = "" if err.filename is None else str(err.filename)
    where = "" if not name else f"{name[:200]}{'...' if len(name) > 200 else ''}: "
    return f"{where}{err.strerror or os.strerror(err.errno)}; {advice}"


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen subcommand and return its exit code.

    A user's mistake (:class:`InputError`) prints one line and exits 2, without a
    traceback, and so do the machine's errors a user fixes (permission denied, disk
    full, name too long: :func:`system_error_text`); bugs raise normally.
    """
    try:
        _check_bounded(args)
        return args.run(args)
    except InputError as err:
        print(f"rad3d {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rad3d {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of a pipe stopped early (`rad3d lcd ... | head`): point stdout at
        # /dev/null so that flushing it at exit does not raise a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as err:
        text = system_error_text(err)
        if text is None:
            raise
        print(f"rad3d {args.command}: error: {text}", file=sys.stderr)
        return 2
