"""``rad3d report``: the notebooks run per scenario and practice, and the folder published.

A **scenario** is a YAML file of notebook parameters (``notebooks/params/*.yaml``).
:func:`analysis.run.batch.run_report` executes the notebooks in ``notebooks/`` once per
scenario, and the practice scorecard once per practice, and writes a folder a committee
can open::

    <out>/index.html                 links to everything, with each scenario's answer
    <out>/policy_brief.pdf           the first scenario's brief, printed (and each
                                     scenario's beside its brief's page)
    <out>/manifest.json              parameters, SHA-256 of every input, versions, git, times
    <out>/results.json               headline numbers of every notebook run
    <out>/<scenario>/<notebook>/     <notebook>.html (code-free, self-contained),
                                     <notebook>.ipynb (executed), figures/*.png,
                                     tables/*.csv + tables/<notebook>.xlsx,
                                     results.json, manifest.json
    <out>/<scenario>/practice_scorecard/<practice>/      the same, per practice, in a
                                     folder named by a slug and a short hash of the
                                     practice id (``names.practice_folder``)

How a run goes, and the file that does each step:

1. ``validation``, ``scenarios`` — **validation before anything runs.** Each notebook's
   ``parameters`` cell is read (:func:`analysis.report.notebook_parameters`); every
   scenario parameter must be declared by at least one notebook, have the declared
   type, and name existing files; the practices asked for must exist in the claims.
   Any problem raises one :class:`~analysis.errors.InputError`.
2. ``inputs`` — **shared inputs, once.** The claims are loaded, validated, linked into
   encounters and summarized once per distinct set of claims files and link window, and
   cached as Parquet under a folder named by the SHA-256 of those inputs (outside the
   report folder: the linked tables hold patient keys). Notebooks get the folder as
   ``inputs_dir`` and read it with :func:`analysis.report.load_inputs`.
3. ``jobs``, ``execute`` — **execution** with papermill in parallel worker processes,
   with a progress bar. A failed cell fails that notebook (its error is recorded and
   shown); the batch goes on, lists the failures and reports failure. ``resume=True``
   reuses notebooks that already succeeded with the same resume key (SHA-256 of the
   notebook, its parameters, the input hashes and the package source: ``provenance``).
4. ``export``, ``pdf`` — each executed notebook to self-contained HTML without code,
   with print rules; each scenario's policy brief printed to PDF by headless Chromium
   (skipped, with one warning, where no browser is installed).
5. ``identifiers`` — **privacy gate.** Every file of the finished folder is scanned for
   every patient and claim identifier of the input; a folder with any hit is not
   published.
6. ``publish`` — **portable paths and atomic publication.** Every path written is
   checked to lie inside the report folder (``names``), and one run at a time writes
   a folder (``lock``); SIGTERM or Ctrl-C stops the workers and their kernels, and a
   worker whose parent died ends itself (``workers``). No absolute local path is
   left in the folder; the folder is built beside its final place and renamed into it,
   so no half-written report ever carries its final name.
7. ``manifest``, ``index_page`` — provenance of the run and the page that links it all;
   ``batch`` ties the steps together.

This package is never imported by a notebook; it imports :mod:`analysis.report` for
what both sides share (the inputs folder, the parameters cell, headline formatting).

References
----------
papermill documentation, "Parameterize" and "Inspect" (parameters cell with typed,
commented literals); nbconvert ``HTMLExporter`` (``exclude_input``, ``embed_images``).
"""

import sys

# nbformat imports jsonschema, which imports rfc3987_syntax where it is installed (as
# Jupyter's dependencies install it) to check the "iri" string formats, and builds its
# ~38 parsers at import: about 2 s in the main process and in every worker of a run
# (python-jsonschema/jsonschema#1428). No notebook schema has those formats, and this
# package is never imported by a notebook or a Jupyter server: its processes go without.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
