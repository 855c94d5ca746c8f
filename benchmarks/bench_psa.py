"""Benchmark: probabilistic sensitivity analysis, draws x practices.

Times :func:`analysis.uncertainty.psa` (10,000 draws over 500 practices by default)
for each policy, with and without Dirichlet payer-mix draws, on a synthetic practice
summary with four payers per practice (2,000 practice x payer rows). The summary is
generated here with a fixed seed so the run is reproducible without claims files.

Usage::

    .venv/bin/python benchmarks/bench_psa.py                 # print the table
    .venv/bin/python benchmarks/bench_psa.py --record        # and update RESULTS.md

``--record`` rewrites only the ``bench_psa`` section of ``benchmarks/RESULTS.md``
(``_scale_common.write_section``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time

import numpy as np
import pandas as pd
from _scale_common import peak_rss_mb, write_section

from analysis.policy import full_bundling, lcd_cap, medical_necessity
from analysis.revenue_base import REQUIRED_COLUMNS, impact_base
from analysis.uncertainty import fit_table, parameter_table, psa

PAYERS = ("BCBSNC", "MEDICARE", "MEDICAID", "OTHER_COMMERCIAL")


def synthetic_summary(n_practices: int, *, rng: np.random.Generator) -> pd.DataFrame:
    """A one-year practice x payer summary with plausible magnitudes.

    Non-oncology CT/MR encounters log-normal around 6,000 a year per practice; 3D on
    2-30 % of them; about a fifth of 3D lines without an observed allowed amount
    (priced at Medicare about $25 per line, the 2025 national 76376 fee).
    """
    n = n_practices * len(PAYERS)
    mix = rng.dirichlet([4, 3, 1, 2], n_practices).ravel()
    nononc = np.round(rng.lognormal(np.log(6000), 0.6, n_practices).repeat(4) * mix)
    rate = rng.beta(2, 14, n_practices).repeat(4)
    frame = {c: np.zeros(n) for c in REQUIRED_COLUMNS[3:]}
    frame["n_nononc_encounters"] = nononc
    for g, share in (("onc", 0.25), ("ind", 0.15), ("oth", 0.6)):
        enc = rng.binomial(nononc.astype(np.int64), np.minimum(rate * share * 1.2, 1.0))
        observed = rng.binomial(enc, 0.8)
        frame[f"rev_units_{g}"] = enc
        frame[f"rev_encounters_{g}"] = enc
        frame[f"rev_observed_usd_{g}"] = observed * rng.lognormal(np.log(45), 0.3, n)
        frame[f"rev_medicare_usd_{g}"] = (enc - observed) * 25.0
        frame[f"rev_paid_usd_{g}"] = frame[f"rev_observed_usd_{g}"] * 0.8
        frame[f"rev_unpaid_lines_{g}"] = enc - observed
    frame["noncompliant_allowed_usd"] = rng.poisson(2, n) * 45.0
    keys = {
        "practice_id": np.repeat([f"P{i:04d}" for i in range(n_practices)], len(PAYERS)),
        "period": "2024",
        "payer": np.tile(PAYERS, n_practices),
    }
    return pd.DataFrame(keys | frame)


def run(n_draws: int, n_practices: int, *, seed: int = 1, repeats: int = 2) -> pd.DataFrame:
    summary = synthetic_summary(n_practices, rng=np.random.default_rng(seed))
    base = impact_base(summary)
    psa(base, full_bundling(), rng=np.random.default_rng(seed), n_draws=100)  # warm-up
    rows = []
    for policy in (full_bundling(), lcd_cap(), medical_necessity()):
        for mix in (None, 50.0):
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                res = psa(
                    base,
                    policy,
                    rng=np.random.default_rng(seed),
                    n_draws=n_draws,
                    payer_mix_concentration=mix,
                )
                times.append(time.perf_counter() - t0)
            s = res.summary.set_index("metric").loc["loss_usd"]
            conv = res.convergence(tolerance=0.01)
            rows.append(
                {
                    "policy": policy.name,
                    "payer_mix": "Dirichlet(50)" if mix else "observed",
                    "draws": n_draws,
                    "practices": n_practices,
                    "rows": len(base.rows),
                    "best_s": min(times),
                    "deterministic_loss_musd": s["deterministic"] / 1e6,
                    "mean_loss_musd": s["mean"] / 1e6,
                    "interval_musd": f"{s['lower'] / 1e6:.2f}-{s['upper'] / 1e6:.2f}",
                    "stable_from": conv.n_stable,
                }
            )
    return pd.DataFrame(rows)


def record(table: pd.DataFrame, peak: float) -> None:
    versions = (
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, scipy {__import__('scipy').__version__}"
    )
    scope_mean = fit_table(parameter_table()).set_index("parameter").at["scope_share", "psa_mean"]
    lines = [
        "## Probabilistic sensitivity analysis (`bench_psa.py`)",
        "",
        f"- Date: {dt.date.today().isoformat()}; machine: {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} cores (shared with other work while it "
        "ran, so times are indicative).",
        f"- Versions: {versions}.",
        "- Input: synthetic one-year summary, 4 payers per practice (seed 1); horizon 3 "
        "years; all 12 parameters of `impact_assumptions.csv` drawn (9 vary); best of 2 "
        "runs, parameter sampling included; policy payer BCBSNC.",
        f"- Peak resident memory of the whole run: {peak:,.0f} MB.",
        "",
        "| policy | payer mix | draws | practices | time (s) | deterministic loss ($M) "
        "| PSA mean ($M) | 95 % interval ($M) | stable (1 %) from draw |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.policy} | {r.payer_mix} | {r.draws:,} | {r.practices:,} | {r.best_s:.2f} "
            f"| {r.deterministic_loss_musd:.2f} | {r.mean_loss_musd:.2f} | {r.interval_musd} "
            f"| {r.stable_from if r.stable_from else 'not stable'} |"
        )
    lines += [
        "",
        "The PSA mean lies below the deterministic loss because the product-scope "
        "share is drawn from a PERT distribution with its mode at the base case 1.0 "
        f"(mean {scope_mean:.3f}, 2.5 % quantile 0.7); see `analysis.distributions`.",
    ]
    write_section("bench_psa", lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--practices", type=int, default=500)
    parser.add_argument(
        "--scale", action="store_true", help="also run 2,000 practices (8,000 rows)"
    )
    parser.add_argument("--record", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    tables = [run(args.draws, args.practices)]
    if args.scale:
        tables.append(run(args.draws, 2000))
    table = pd.concat(tables, ignore_index=True)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    peak = peak_rss_mb()
    print(f"peak RSS {peak:,.0f} MB")
    if args.record:
        record(table, peak)
    return 0


if __name__ == "__main__":
    sys.exit(main())
