"""Provenance of a report: the run's manifest, each job's manifest, the headline numbers.

A manifest records what a report was made from and with: parameters, SHA-256 of every
input (claims, reference files, prepared tables, notebooks, scenario files), seeds,
privacy settings, versions, the git commit and the times.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis._io import sha256_file
from analysis.report.inputs import INFO_FILE
from analysis.run import provenance
from analysis.run.jobs import Job

__all__ = ["collect_results", "job_manifest", "run_manifest"]


def job_manifest(job: Job, record: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest of one job (``<job folder>/manifest.json``)."""
    params = {**dict(job.effective_parameters), **dict(job.parameters)}
    params.pop("output_dir", None)
    inputs_hashes = {}
    if params.get("inputs_dir"):
        info_path = Path(params["inputs_dir"]) / INFO_FILE
        if info_path.is_file():
            info = json.loads(info_path.read_text())
            inputs_hashes = {
                **{c["path"]: c["sha256"] for c in info.get("claims", [])},
                **info.get("reference", {}),
                **{f"prepared/{k}": v for k, v in info.get("files", {}).items()},
            }
        params["inputs_dir"] = "(prepared shared inputs; see inputs in manifest)"
    return {
        "notebook": job.notebook, "scenario": job.scenario,
        "practice_id": job.practice_id or None,
        "notebook_sha256": sha256_file(job.notebook_path),
        "parameters": params, "seed": params.get("seed"),
        "inputs_sha256": inputs_hashes, "resume_key": job.key,
        "status": record["status"], "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"), "seconds": record.get("seconds"),
        "git": provenance.git_info(), "versions": provenance.versions(),
    }


def run_manifest(scenarios, nb_paths, declared, prepared, records, privacy, *, started_at,
                 finished_at, workers, practices) -> dict[str, Any]:
    """The manifest of the whole run (``<out>/manifest.json``)."""
    inputs = []
    for shared in prepared.values():
        info = dict(shared.info)
        inputs.append({
            "key": info.get("key"), "claims": info.get("claims"),
            "link_window_days": info.get("link_window_days"),
            "reference_sha256": info.get("reference"),
            "prepared_sha256": info.get("files"), "rows": info.get("rows"),
            "claims_report": info.get("claims_report"),
        })
    seeds = sorted({r["effective_parameters"].get("seed") for r in records
                    if (r.get("effective_parameters") or {}).get("seed") is not None}, key=str)
    return {
        "tool": "rad3d report",
        "started_at": started_at,
        "finished_at": finished_at,
        "git": provenance.git_info(),
        "versions": provenance.versions(),
        "source_sha256": provenance.source_hash(),
        "workers": workers,
        "practices": practices,
        "seed": seeds[0] if len(seeds) == 1 else seeds,
        "privacy": privacy,
        "scenarios": [
            {**s.to_dict(), "sha256": sha256_file(s.source) if s.source else None}
            for s in scenarios
        ],
        "notebooks": {
            n: {"path": f"notebooks/{p.name}", "sha256": sha256_file(p),
                "parameters": {k: v.to_dict() for k, v in declared[n].items()}}
            for n, p in nb_paths.items()
        },
        "inputs": inputs,
        "jobs": [
            {k: r.get(k) for k in ("scenario", "notebook", "practice_id", "rel_dir", "status",
                                   "error", "seconds", "started_at", "finished_at", "key")}
            for r in records
        ],
        "failures": [r["rel_dir"] for r in records if r["status"] == "failed"],
    }


def collect_results(stage: Path, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The headline numbers of every job (``<out>/results.json``)."""
    runs = []
    for r in records:
        path = stage / r["rel_dir"] / "results.json"
        entry = {k: r.get(k) for k in ("scenario", "notebook", "practice_id", "status",
                                       "rel_dir")}
        if path.is_file():
            entry["headline"] = json.loads(path.read_text()).get("headline", {})
        runs.append(entry)
    return {"runs": runs}

