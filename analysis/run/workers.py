"""The lifetime of a run's processes: workers that end with their parent, and signals.

``rad3d report`` runs notebooks in worker processes, each of which starts a Jupyter
kernel. Nothing of a run may outlive it:

- in the main process, SIGTERM and SIGHUP raise :class:`Stopped` (SIGINT raises
  ``KeyboardInterrupt`` as always), so that the run's ``finally`` clauses stop the
  workers (:func:`stop_workers`), remove the partial build folder and release the
  folder's lock;
- each worker ignores SIGINT (the main process decides), ends its kernels and itself on
  SIGTERM, and watches its parent: when the parent is gone (even by ``kill -9``, which
  runs no clause of its own) the worker ends its kernels and exits within
  :data:`PARENT_POLL_S` seconds (:func:`worker_init`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PARENT_POLL_S", "Stopped", "descendants", "stop_on_signals", "stop_workers",
           "worker_init"]

PARENT_POLL_S = 0.5
"""How often a worker checks that the process that started it is still alive."""

_GRACE_S = 3.0
"""How long a process is given to end after SIGTERM before it is killed."""


class Stopped(SystemExit):
    """The main process of a run received SIGTERM or SIGHUP.

    A ``SystemExit`` with code ``128 + signal number`` (143 for SIGTERM), so that an
    uncaught one ends the program as the signal would have, after the clean-up.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum
        self.signal_name = signal.Signals(signum).name


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Stopped` in the main thread.

    A signal that is ignored (SIGHUP under ``nohup``) stays ignored. Outside the main
    thread (where handlers cannot be set) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Stopped(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)
                if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def descendants(pid: int) -> list[int]:
    """Process ids of every descendant of ``pid``, read from ``/proc`` (Linux; elsewhere
    an empty list)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers signal 0; it has ended
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rfind(")") + 2:][:1] != "Z"
    return True


def _end(pids: list[int]) -> None:
    """SIGTERM to ``pids``, then SIGKILL to those still alive after :data:`_GRACE_S`."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _GRACE_S
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _end_self(code: int) -> None:
    """End this worker's kernels (and what they started), then the worker itself."""
    _end(descendants(os.getpid()))
    os._exit(code)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    _end_self(1)


def worker_init(log_dir: str) -> None:
    """Set up a worker process: signals, the parent watch, stderr to a log file.

    The worker's (and its kernels') stderr goes to ``<log_dir>/worker-<pid>.log`` when
    ``log_dir`` is given, so that kernel chatter does not cross the progress bar.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: _end_self(128 + signum))
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True,
                     name="rad3d-parent-watch").start()
    if not log_dir:
        return
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(log_dir) / f"worker-{os.getpid()}.log",
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def stop_workers() -> None:
    """End every worker process this process started, and their kernels; used when a
    run stops early."""
    workers = multiprocessing.active_children()
    pids = [p.pid for p in workers if p.pid is not None]
    # the kernels too, not only through the workers' handlers: a worker killed after
    # the grace period would leave its kernel behind
    _end(pids + [d for pid in pids for d in descendants(pid)])
    for p in workers:
        p.join(timeout=_GRACE_S)
