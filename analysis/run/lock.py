"""One run per report folder: an exclusive lock on ``--out``, and what a dead run left.

Two runs into the same folder would each publish and the second would silently replace
the first. :func:`report_lock` takes an exclusive ``flock`` on ``.<name>.lock`` beside
the folder; a second run fails at once with an :class:`~analysis.errors.InputError`.
The kernel releases the lock when its holder dies, however it dies, so a stale lock
file never blocks a later run. Holding the lock, a run removes the build folders that a
killed run left beside the report (``.<name>.building-*``, ``.<name>.old-*``): no other
run can be writing them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from analysis.errors import InputError

__all__ = ["leftovers", "lock_path", "report_lock"]


def lock_path(out: Path) -> Path:
    """The lock file of report folder ``out``: ``.<name>.lock`` beside it."""
    return out.parent / f".{out.name}.lock"


def leftovers(out: Path) -> list[Path]:
    """Build and swap folders of ``out`` left beside it by runs that did not finish."""
    prefixes = (f".{out.name}.building-", f".{out.name}.old-")
    if not out.parent.is_dir():
        return []
    return sorted(p for p in out.parent.iterdir()
                  if p.is_dir() and p.name.startswith(prefixes))


def _acquire(path: Path, out: Path) -> int:
    # A run that finishes removes the lock file. Between our open and our flock it may
    # have done so, and we would hold a lock on a file no one else opens: retry until
    # the locked file is the one at ``path``.
    for _ in range(20):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise InputError(
                f"another rad3d report{f' (process {holder})' if holder else ''} is "
                "writing this report folder; wait for it to finish or choose another --out",
                file=out,
            ) from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
    raise RuntimeError(f"could not lock {path}: it keeps being replaced")


@contextlib.contextmanager
def report_lock(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the exclusive lock of report folder ``out`` for the ``with`` block.

    The folder's parent is created if missing; on entry, :func:`leftovers` of earlier
    runs are removed.

    Raises
    ------
    InputError
        Another process holds the lock (another ``rad3d report`` into ``out``).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(out)
    fd = _acquire(path, out)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        for folder in leftovers(out):
            shutil.rmtree(folder, ignore_errors=True)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)
