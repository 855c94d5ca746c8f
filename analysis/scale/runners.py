"""Where the tasks of an engine run: in this process, in worker processes, or on Dask.
"""


from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from analysis.errors import InputError


def pack(sizes: np.ndarray, n_units: int) -> list[list[int]]:
    """Shards (by size) into at most ``n_units`` units of similar size: largest shard
    first, each to the unit with the fewest lines so far (LPT scheduling)."""
    busy = [int(i) for i in np.argsort(-sizes, kind="stable") if sizes[i] > 0]
    n_units = max(1, min(n_units, len(busy)))
    units: list[list[int]] = [[] for _ in range(n_units)]
    load = np.zeros(n_units, dtype=np.int64)
    for shard in busy:
        u = int(np.argmin(load))
        units[u].append(shard)
        load[u] += sizes[shard]
    return [sorted(u) for u in units if u]


# ----------------------------------------------------------------- drivers


class Serial:
    """Runs tasks one after another in this process (``stream`` with one worker)."""

    n_workers = 1

    def map(self, fn, items, done=None):
        out = []
        for x in items:
            out.append(fn(x))
            if done is not None:
                done(out[-1])
        return out

    def close(self) -> None:
        pass


class Processes:
    """Runs tasks in a pool of worker processes (``stream`` with ``workers > 1``)."""

    def __init__(self, n_workers: int) -> None:
        self.n_workers = n_workers
        self.pool = ProcessPoolExecutor(max_workers=n_workers,
                                        mp_context=mp.get_context("spawn"))

    def map(self, fn, items, done=None):
        out = []
        for result in self.pool.map(fn, items):  # in order, as they finish
            out.append(result)
            if done is not None:
                done(result)
        return out

    def close(self) -> None:
        self.pool.shutdown()  # idempotent


class DaskRunner:
    """Runs tasks on a dask.distributed cluster (the ``dask`` engine)."""

    def __init__(self, scheduler) -> None:
        try:  # an optional extra, so imported only when the dask engine runs
            import distributed
        except ImportError:  # pragma: no cover - depends on the install
            raise InputError("the dask engine needs the distributed extra: "
                             "pip install 'rad3d[distributed]'", column="engine",
                             value="dask") from None
        self._own: list = []
        if scheduler is None:
            cluster = distributed.LocalCluster(n_workers=min(os.cpu_count() or 1, 4),
                                               threads_per_worker=1, processes=True,
                                               dashboard_address=None)
            self.client = distributed.Client(cluster)
            self._own = [self.client, cluster]
        elif isinstance(scheduler, distributed.Client):
            self.client = scheduler
        else:
            try:
                self.client = distributed.Client(str(scheduler), timeout="30s")
            except (OSError, TimeoutError) as err:
                raise InputError(f"cannot connect to the Dask scheduler ({err})",
                                 column="scheduler", value=str(scheduler)) from None
            self._own = [self.client]

    @property
    def n_workers(self) -> int:
        return max(len(self.client.scheduler_info().get("workers", {})), 1)

    def map(self, fn, items, done=None):
        items = list(items)
        if not items:
            return []
        futures = self.client.map(fn, items, pure=False)
        if done is not None:
            import distributed
            for future in distributed.as_completed(futures):
                done(future.result())
        return self.client.gather(futures)

    def close(self) -> None:
        for obj in self._own:
            obj.close()
