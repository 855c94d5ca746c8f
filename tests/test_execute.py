"""Report runs reuse one kernel per worker: nothing but loaded modules carries over."""

from __future__ import annotations

import json

import nbformat
import papermill as pm

from analysis.report.parameters import KERNEL_NAME
from analysis.run import execute


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return str(path)


def _run(src, out, cwd):
    pm.execute_notebook(src, str(out), kernel_name=KERNEL_NAME, progress_bar=False,
                        cwd=str(cwd), engine_name=execute.WARM_ENGINE)
    nb = nbformat.read(out, as_version=4)
    return json.loads(nb.cells[-1].outputs[0]["text"])


def test_a_warm_kernel_is_reused_with_an_empty_namespace_and_the_job_folder(tmp_path):
    first = _notebook(tmp_path / "first.ipynb",
                      "import os, sys, json\nleft_behind = 42\nimport matplotlib.pyplot as plt\n"
                      "fig = plt.figure()",
                      "print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd()}))")
    second = _notebook(tmp_path / "second.ipynb",
                       "import os, json\nimport matplotlib.pyplot as plt",
                       "print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd(), "
                       "'left': 'left_behind' in globals(), "
                       "'figures': len(plt.get_fignums())}))")
    (a := tmp_path / "a").mkdir()
    (b := tmp_path / "b").mkdir()
    try:
        one = _run(first, tmp_path / "out1.ipynb", a)
        two = _run(second, tmp_path / "out2.ipynb", b)
    finally:
        execute._shutdown_warm()
    assert one["pid"] == two["pid"]  # the same kernel process
    assert (one["cwd"], two["cwd"]) == (str(a), str(b))  # each in its own folder
    assert two["left"] is False and two["figures"] == 0  # nothing left from the first
    assert "km" not in execute._warm


def test_the_claims_engine_runs_inside_a_notebook_kernel():
    # A notebook opened by hand reads the claims itself: DuckDB, inside a kernel, must
    # be able to switch its progress bar off (it needs ipywidgets for that).
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        out: list[dict] = []
        reply = kc.execute_interactive(
            "from analysis.scale import summarize_files\n"
            "from analysis.paths import SAMPLE_CLAIMS\n"
            "print(summarize_files(SAMPLE_CLAIMS).report.rows_accepted)",
            timeout=300, output_hook=out.append)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    errors = [m["content"] for m in out if m["msg_type"] == "error"]
    assert reply["content"]["status"] == "ok", errors
    text = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
    assert text.strip() == "119286"
