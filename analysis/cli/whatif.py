"""``rad3d whatif``: the live what-if as a local web app (Voilà, no code shown).

The what-if notebook (:data:`analysis.paths.WHATIF_NOTEBOOK`) is copied into a temporary
folder with its parameters set (papermill's parameter injection: the claims files and the
folder scenario files are saved to), and Voilà serves it from there, bound to 127.0.0.1 by
default. The command prints the address once the server answers and runs until Ctrl-C,
SIGTERM or SIGHUP; then it stops Voilà, which shuts its kernels down, and ends any kernel
still running (kernels run in sessions of their own, so they are tracked while the
server runs).
"""

from __future__ import annotations

import argparse

DEFAULT_PORT = 8866
DEFAULT_HOST = "127.0.0.1"
#: Seconds to wait for the server to answer, and for it and its kernels to end.
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "whatif",
        help="the live what-if as a local web app: move the settings, see the loss",
        description=(
            "Serve the what-if as a web page on this machine: choose the policy, the payers "
            "and share of their business in scope, the commercial price multiplier, the "
            "horizon, the fee update, volume growth, the share of unpaid renderings "
            "practices stop (assumed, or measured from the claims when they span the "
            "effective date by quarter), the cost avoided per rendering and the cap, and "
            "the loss to practices, the totals per year, the practices that lose most "
            "(small counts suppressed as in the reports) and the one-way sensitivity are "
            "recomputed at once from the practice summary. 'Save as scenario file' writes "
            "the settings as a scenario for rad3d report --params. The page shows no code. "
            "The server listens on 127.0.0.1 only unless --host says otherwise; stop it "
            "with Ctrl-C. Reads the bundled three-year synthetic sample (the reports' "
            "default) when no claims are given."
        ),
        epilog=("Example: rad3d whatif --claims data/sample/claims_2024.parquet "
                "--port 8866, then open http://127.0.0.1:8866/ in a browser"),
    )
    p.set_defaults(run=run)
    p.add_argument("--claims", nargs="+", action="extend", metavar="FILE", default=[],
                   help="claims files (CSV, CSV.gz or Parquet, canonical schema); default: "
                   "the bundled three-year sample, as rad3d report")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this machine only; "
                   "0.0.0.0 would show the claims' practice figures to the network)")
    p.add_argument("--scenario-dir", default=".", metavar="DIR",
                   help="folder where the page saves scenario files (default: the folder "
                   "rad3d runs in)")


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that building the parser stays cheap.
    import contextlib
    import importlib.util
    import signal
    import socket
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    from analysis.errors import InputError
    from analysis.paths import WHATIF_NOTEBOOK
    from analysis.run.workers import Stopped, descendants, stop_on_signals

    if not 1 <= args.port <= 65535:
        raise InputError("a port is a whole number from 1 to 65535", column="--port",
                         value=args.port)
    if importlib.util.find_spec("voila") is None:
        raise InputError("Voilà is not installed: pip install 'voila>=0.5,<0.6' (rad3d "
                         "declares it; reinstall with pip install -e .)", column="whatif")
    claims = []
    for c in args.claims:
        path = Path(c)
        if not path.is_file():
            raise InputError("claims file not found", file=c, column="--claims")
        claims.append(str(path.resolve()))
    scenario_dir = Path(args.scenario_dir).resolve()
    if not scenario_dir.is_dir():
        raise InputError("folder not found", file=args.scenario_dir, column="--scenario-dir")
    with socket.socket() as probe:
        try:
            probe.bind((args.host, args.port))
        except OSError as err:
            raise InputError(f"cannot listen there ({err.strerror}); choose another "
                             "--port or --host", column="--port",
                             value=f"{args.host}:{args.port}") from None

    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    with tempfile.TemporaryDirectory(prefix="rad3d-whatif-") as tmp:
        notebook = Path(tmp) / WHATIF_NOTEBOOK.name
        nb = parameterize_notebook(
            load_notebook_node(str(WHATIF_NOTEBOOK)),
            {"claims": claims, "scenario_dir": str(scenario_dir)})
        nbformat.write(nb, notebook)
        command = [sys.executable, "-m", "voila", str(notebook), "--no-browser",
                   f"--port={args.port}", f"--Voila.ip={args.host}",
                   "--Voila.port_retries=0", "--strip_sources=True",
                   "--show_tracebacks=False", "--Voila.log_level=WARN"]
        server = subprocess.Popen(command, cwd=tmp)
        kernels: dict[int, str] = {}  # pid -> start time: its kernels, found while it runs
        host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
        url = f"http://{host}:{args.port}/"
        try:
            with stop_on_signals():
                deadline = time.monotonic() + START_TIMEOUT_S
                while not _answers(host, args.port):
                    if server.poll() is not None:
                        raise InputError("the Voilà server ended before it answered; "
                                         "its messages are above", column="whatif")
                    if time.monotonic() > deadline:
                        raise InputError("the Voilà server did not answer within "
                                         f"{START_TIMEOUT_S:.0f} s", column="whatif")
                    time.sleep(0.2)
                print(f"The what-if is at {url}", flush=True)
                print("Press Ctrl-C to stop it.", flush=True)
                while server.poll() is None:
                    kernels |= _started(descendants(server.pid))
                    time.sleep(0.5)
        except (KeyboardInterrupt, Stopped):
            pass
        finally:
            # A second Ctrl-C or SIGTERM must not cut the clean-up short.
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(s, signal.SIG_IGN)
            if server.poll() is None:
                kernels |= _started(descendants(server.pid))
                with contextlib.suppress(OSError):
                    server.send_signal(signal.SIGTERM)  # Voilà shuts its kernels down
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=STOP_TIMEOUT_S)
            if server.poll() is None:
                server.kill()
                server.wait()
            kernels.pop(server.pid, None)
            _end(kernels)
            print("The what-if has stopped.", file=sys.stderr, flush=True)
    return 0


def _answers(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name, or None."""
    from pathlib import Path

    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()


def _started(pids) -> dict[int, str]:
    """Each process with its start time (so that a reused process id is never ended)."""
    out = {}
    for pid in pids:
        fields = _stat(pid)
        if fields and len(fields) > 19:
            out[pid] = fields[19]
    return out


def _running(pid: int, start: str) -> bool:
    fields = _stat(pid)
    return bool(fields) and len(fields) > 19 and fields[19] == start and fields[0] != "Z"


def _end(processes: dict[int, str]) -> None:
    """End the server's processes that outlived it (its kernels): SIGTERM, then SIGKILL
    after a grace; only a process that is still the one seen (same start time)."""
    import contextlib
    import os
    import signal
    import time

    alive = {p: s for p, s in processes.items() if _running(p, s)}
    for pid in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5.0
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = {p: s for p, s in alive.items() if _running(p, s)}
    for pid in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
