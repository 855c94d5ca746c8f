"""Running the jobs of a batch: papermill in parallel worker processes, with a progress bar.

Each job runs into a folder of its own beside its final place and is renamed into it
when done; a failed cell, a dead kernel or a failed export fails that job only, and the
batch goes on. With a previous report folder, jobs that succeeded there with the same
resume key are copied instead of run.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import datetime as dt
import json
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
from jupyter_client.manager import KernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import remove_args
from tqdm.auto import tqdm

from analysis._io import write_json, write_text
from analysis.report.parameters import KERNEL_NAME
from analysis.run.export import export_html
from analysis.run.jobs import Job
from analysis.run.manifest import job_manifest
from analysis.run.names import inside
from analysis.run.workers import stop_workers, worker_init

__all__ = ["CELL_TIMEOUT_S", "run_jobs"]

CELL_TIMEOUT_S = 1800
"""Longest a notebook cell may run before its job fails."""

WARM_ENGINE = "rad3d-warm"
"""The papermill engine of report runs: papermill's own (nbclient), with one kernel per
worker process kept warm across that worker's notebooks. With the environment variable
``RAD3D_FRESH_KERNELS=1`` every notebook gets a kernel of its own, as plain papermill
does (for comparisons: ``benchmarks/bench_report.py``)."""

_RESET = """\
%reset -f
import os as _os, matplotlib.pyplot as _plt
_plt.close("all")
_os.chdir({cwd!r})
del _os, _plt
"""
_warm: dict[str, Any] = {}
"""This worker's warm kernel: its manager (``"km"``) and connected client (``"kc"``)."""


def _shutdown_warm() -> None:
    kc = _warm.pop("kc", None)
    if kc is not None:
        kc.stop_channels()
    km = _warm.pop("km", None)
    if km is not None:
        try:
            km.shutdown_kernel(now=True)
        except Exception:  # already gone
            pass


def _warm_kernel(kernel_name: str, cwd: str) -> tuple[KernelManager, Any]:
    """This worker's kernel and its client, started on first use (or again if the
    kernel died), with an empty namespace, no open figure and ``cwd`` as its working
    folder.

    A notebook's imports (pandas, scipy, matplotlib, the package) stay loaded for the
    next one; its variables do not (``%reset -f``). Every notebook is parameterized in
    full by papermill and reads its inputs itself, so nothing else carries over. The
    client stays connected too: a new connection waits 0.2 s for the kernel's output
    channel to fall quiet (``wait_for_ready``), twice per notebook otherwise.
    """
    km = _warm.get("km")
    if km is None or km.kernel_name != kernel_name or not km.is_alive():
        _shutdown_warm()
        km = KernelManager(kernel_name=kernel_name)
        km.start_kernel(cwd=cwd)
        if not _warm:
            atexit.register(_shutdown_warm)  # a worker's kernel ends with the worker
        _warm["km"] = km
        kc = km.client()
        kc.start_channels()
        _warm["kc"] = kc
        kc.wait_for_ready(timeout=60)
    kc = _warm["kc"]
    reply = kc.execute_interactive(_RESET.format(cwd=cwd), timeout=60, store_history=False,
                                   output_hook=lambda msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"could not reset the kernel: {reply['content'].get('evalue', '')}")
    return km, kc


class _WarmEngine(NBClientEngine):
    """papermill's nbclient engine on this worker's warm kernel (:func:`_warm_kernel`)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                 stdout_file=None, stderr_file=None, start_timeout=60,
                                 execution_timeout=None, **kwargs):
        km, kc = _warm_kernel(kernel_name, os.getcwd())
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        client = PapermillNotebookClient(
            nb_man, km=km, timeout=execution_timeout, startup_timeout=start_timeout,
            kernel_name=kernel_name, log=pm.log.logger, log_output=log_output,
            stdout_file=stdout_file, stderr_file=stderr_file, **kwargs)
        # nbclient connects a client of its own only when it is given none
        client.kc = kc
        kc.allow_stdin = False
        return client.execute()


papermill_engines.register(WARM_ENGINE, _WarmEngine)


def _execute_job(job: dict[str, Any], stage: str) -> dict[str, Any]:
    """Run one notebook into ``stage/<rel_dir>`` (in a worker process)."""
    started = time.time()
    final = inside(stage, job["rel_dir"])
    work = final.with_name(f".{final.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    params = dict(job["parameters"])
    params["output_dir"] = str(work)
    nb_name = job["notebook"]
    out_ipynb = work / f"{nb_name}.ipynb"
    status, error = "ok", None
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        pm.execute_notebook(
            job["notebook_path"], str(out_ipynb), parameters=params,
            kernel_name=KERNEL_NAME, progress_bar=False, log_output=False,
            cwd=str(work), execution_timeout=CELL_TIMEOUT_S,
            # written once at the end: papermill would write it at every cell's start
            # and end, images and all (~80 writes of a scorecard)
            request_save_on_cell_execute=False,
            engine_name=None if os.environ.get("RAD3D_FRESH_KERNELS") == "1" else WARM_ENGINE,
        )
        if not (work / "results.json").is_file():
            status, error = "failed", "the notebook did not write results.json (no finish())"
    except pm.PapermillExecutionError as err:
        status = "failed"
        error = f"cell {err.exec_count}: {err.ename}: {err.evalue}"
        _shutdown_warm()  # the next notebook gets a fresh kernel
    except Exception as err:  # kernel died, timeout, bad notebook: fail this job only
        status = "failed"
        error = f"{type(err).__name__}: {err}"
        _shutdown_warm()
    html_name = f"{nb_name}.html"
    if out_ipynb.is_file():
        nb = nbformat.read(out_ipynb, as_version=4)
        # The output folder is a temporary path: record the final relative one.
        for cell in nb.cells:
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell.source = cell.source.replace(str(work), ".")
        nb.metadata.get("papermill", {}).get("parameters", {})["output_dir"] = "."
        if "papermill" in nb.metadata:
            nb.metadata["papermill"]["output_path"] = f"{nb_name}.ipynb"
        write_text(out_ipynb, nbformat.writes(nb))
        title = job["label"]
        try:
            write_text(work / html_name, export_html(nb, title=title))
        except Exception as err:  # an export failure fails the job, not the batch
            status = "failed"
            error = error or f"HTML export: {type(err).__name__}: {err}"
    finished = time.time()
    record = {
        **{k: job[k] for k in ("notebook", "scenario", "practice_id", "rel_dir", "key")},
        "status": status,
        "error": error,
        "html": html_name if (work / html_name).is_file() else None,
        "started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "finished_at": dt.datetime.fromtimestamp(finished, dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(finished - started, 2),
        "parameters": {k: v for k, v in job["parameters"].items()},
        "effective_parameters": job.get("effective_parameters", {}),
    }
    write_json(work / "job.json", record)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)
    return record


def _job_files(folder: Path) -> dict[str, list[str]]:
    def rel(paths):
        return [p.relative_to(folder).as_posix() for p in sorted(paths)]

    return {
        "figures": rel((folder / "figures").glob("*.png")),
        "tables": rel((folder / "tables").glob("*.csv")),
        "workbooks": rel((folder / "tables").glob("*.xlsx")),
    }


def _reusable(job: Job, previous: Path | None) -> bool:
    if previous is None:
        return False
    record = previous / job.rel_dir / "job.json"
    if not record.is_file():
        return False
    try:
        data = json.loads(record.read_text())
    except ValueError:
        return False
    return data.get("status") == "ok" and data.get("key") == job.key


def run_jobs(
    jobs: Sequence[Job], stage: Path, previous: Path | None, *, workers: int,
    progress: bool | None, log_dir: Path | None = None,
) -> list[dict[str, Any]]:
    records: dict[int, dict[str, Any]] = {}
    todo = []
    for i, job in enumerate(jobs):
        if _reusable(job, previous):
            shutil.copytree(inside(previous, job.rel_dir), inside(stage, job.rel_dir))
            record = json.loads((stage / job.rel_dir / "job.json").read_text())
            records[i] = {**record, "status": "reused"}
        else:
            todo.append(i)
    payload = {i: {**jobs[i].to_dict(), "label": jobs[i].label} for i in todo}
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="rad3d report",
               unit="notebook", disable=None if progress is None else not progress,
               file=sys.stderr)

    # off a terminal (a pipe, CI, a log) the bar is off: one line per notebook instead
    lines = progress is None and bar.disable
    finished = [len(jobs) - len(todo)]

    def done(i: int, record: dict[str, Any]) -> None:
        records[i] = record
        bar.update(1)
        finished[0] += 1
        if record["status"] == "failed":
            bar.write(f"FAILED {jobs[i].label}: {record['error']}", file=sys.stderr)
        elif lines:
            print(f"rad3d report: {finished[0]}/{len(jobs)} {jobs[i].label}: ok in "
                  f"{float(record.get('seconds') or 0):.1f} s", file=sys.stderr, flush=True)

    try:
        if todo:
            # Worker processes even for one worker: the kernels' own stderr chatter
            # goes to a log file, not over the progress bar.
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(
                max_workers=min(workers, len(todo)), mp_context=ctx,
                initializer=worker_init, initargs=(str(log_dir) if log_dir else "",),
            ) as pool:
                try:
                    futures = {pool.submit(_execute_job, payload[i], str(stage)): i
                               for i in todo}
                    for fut in cf.as_completed(futures):
                        i = futures[fut]
                        try:
                            record = fut.result()
                        except Exception as err:  # a worker crashed: fail this job only
                            record = {**{k: payload[i][k] for k in ("notebook", "scenario",
                                         "practice_id", "rel_dir", "key")},
                                      "status": "failed", "html": None,
                                      "error": f"{type(err).__name__}: {err}",
                                      "traceback": traceback.format_exc(limit=3)}
                        done(i, record)
                except BaseException:
                    # Ctrl-C, SIGTERM (workers.Stopped): end the workers and their
                    # kernels now rather than wait for their notebooks to finish
                    pool.shutdown(wait=False, cancel_futures=True)
                    stop_workers()
                    raise
    finally:
        bar.close()
    out = []
    for i in range(len(jobs)):
        record = dict(records[i])
        folder = stage / jobs[i].rel_dir
        record.update(_job_files(folder) if folder.is_dir() else {})
        results = folder / "results.json"
        record["results"] = "results.json" if results.is_file() else None
        if folder.is_dir() and record["status"] in ("ok", "reused"):
            write_json(folder / "manifest.json", job_manifest(jobs[i], record))
            record["manifest"] = "manifest.json"
        out.append(record)
    return out

