"""The ``rad3d`` command line as a user runs it: help, usage, the fast path, one command.

Each test starts ``python -m analysis.cli`` in a fresh process, as the console script
does, so that what it imports and how it exits are what a user gets.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import analysis
from analysis.cli import SUBCOMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]
NAMES = [command.__name__.rsplit(".", 1)[-1] for command in SUBCOMMANDS]


def rad3d(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def imported(code: str) -> list[str]:
    """The scipy and matplotlib modules a fresh interpreter has loaded after ``code``."""
    done = python(f"import sys\n{code}\nprint(sorted(m for m in sys.modules "
                  "if m.split('.')[0] in {'scipy', 'matplotlib'}))")
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["-h"], []], ids=["--help", "-h", "bare"])
def test_top_level_help_lists_every_subcommand(args):
    done = rad3d(*args)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: rad3d")
    assert "Traceback" not in done.stdout + done.stderr
    listed = [done.stdout.index(f"\n    {name} ") for name in NAMES]
    assert listed == sorted(listed)
    assert "L35408 20% benchmark" in done.stdout


@pytest.mark.parametrize("name", NAMES)
def test_every_subcommand_help(name):
    done = rad3d(name, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith(f"usage: rad3d {name}")
    assert "Traceback" not in done.stdout + done.stderr


def test_every_subcommand_is_registered():
    assert NAMES == ["fees", "validate", "synth", "lcd", "impact", "report", "whatif", "puf"]
    required = {"fees": ["--code", "76377"], "validate": [], "report": [], "whatif": []}
    for command, name in zip(SUBCOMMANDS, NAMES, strict=True):
        args = build_parser().parse_args([name, *required.get(name, ["--out", "x"])])
        assert args.command == name and args.run is command.run


def test_version():
    done = rad3d("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"rad3d {analysis.__version__}"


def test_unknown_subcommand_is_a_usage_error():
    done = rad3d("nonsense")
    assert done.returncode == 2
    assert "invalid choice: 'nonsense'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "code",
    [
        "import analysis.cli",
        "from analysis.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        "from analysis.cli import main\ntry:\n    main(['fees', '--help'])\n"
        "except SystemExit:\n    pass",
        "from analysis.cli import main\nmain(['fees', '--code', '76377', '--state', 'NC'])",
    ],
    ids=["import", "--help", "fees --help", "fees"],
)
def test_help_and_fees_import_neither_scipy_nor_matplotlib(code):
    assert imported(code) == []


def test_fees_prints_the_readme_amounts():
    done = rad3d("fees", "--code", "76377", "--state", "NC", "--year", "2025")
    assert done.returncode == 0, done.stderr
    rows = {cells[0]: cells for cells in map(str.split, done.stdout.splitlines())
            if cells and cells[0] in ("global", "-26", "-TC")}
    assert rows["global"][-2:] == ["$72.67", "NA"]
    assert rows["-26"][-2:] == ["$35.10", "$35.10"]
    assert rows["-TC"][-2:] == ["$37.57", "NA"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "NC 2025: $72.67 / $35.10 / $37.57" in readme


def test_user_error_is_one_line_and_exit_2():
    done = rad3d("fees", "--code", "76377", "--state", "CA")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("rad3d fees: error:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_closed_pipe_exits_quietly():
    done = python("import argparse, sys\n"
                  "from analysis.cli._common import run_command\n"
                  "def run(args):\n    raise BrokenPipeError\n"
                  "sys.exit(run_command(argparse.Namespace(command='lcd', run=run)))")
    assert (done.returncode, done.stderr) == (141, "")


# --------------------------------------------------------- the package's lazy API


def test_package_api_resolves_on_first_use():
    done = python("import sys\n"
                  "import analysis as rad3d\n"
                  "assert 'pandas' not in sys.modules\n"
                  "assert callable(rad3d.load_claims)\n"
                  "from analysis import screen\n"
                  "assert screen is rad3d.lcd.screen\n"
                  "assert rad3d.impact.__name__ == 'analysis.impact'\n"
                  "assert {'screen', 'load_claims', 'lcd', 'impact'} <= set(dir(rad3d))\n"
                  "assert not hasattr(rad3d, 'no_such_name')\n")
    assert done.returncode == 0, done.stderr


def test_every_exported_name_resolves():
    missing = [name for name in analysis.__all__ if not hasattr(analysis, name)]
    assert missing == []
    assert len(analysis.__all__) == len(set(analysis.__all__))


def test_star_import_gives_the_whole_api():
    namespace: dict = {}
    exec("from analysis import *", namespace)
    assert set(analysis.__all__) <= set(namespace)


def test_impact_policy_choices_are_the_policy_alternatives():
    # The parser restates the names so that `rad3d impact --help` needs no pandas.
    from analysis.cli import impact as impact_cli
    from analysis.policy import ALTERNATIVES

    assert impact_cli.POLICIES == tuple(ALTERNATIVES)


def test_impact_cap_threshold_and_deprecated_threshold(capsys):
    import argparse

    from analysis.cli.impact import _policies
    from analysis.policy import policies_from_names

    args = argparse.Namespace(policy="lcd_cap", payers=None, effective_date=None,
                              scope_share=None, cap_threshold=0.3, old_threshold=None)
    (cap,) = _policies(args, policies_from_names)
    assert cap.threshold == 0.3
    args.cap_threshold, args.old_threshold = None, 0.25
    (cap,) = _policies(args, policies_from_names)
    assert cap.threshold == 0.25
    assert "deprecated; use --cap-threshold" in capsys.readouterr().err
