"""Benchmark: the LCD screen and the PSA on 5,000 practices.

The practice summary (4 payers x 5,000 practices, one year) is synthetic, drawn with a
fixed seed by ``bench_psa.synthetic_summary`` and completed with the encounter counts
the screen reads (non-oncology encounters with 3D ~ Binomial(n, rate); oncology
encounters a quarter of the non-oncology ones). Times :func:`analysis.lcd.screen` and
:func:`analysis.uncertainty.psa` (full bundling, 2,000 draws), each best of 2.

Usage::

    .venv/bin/python benchmarks/bench_screen_psa.py [--practices 5000] [--draws 2000] [--record]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from analysis.lcd import screen
from analysis.policy import full_bundling
from analysis.revenue_base import impact_base
from analysis.summary import SUM_COLUMNS, _finish
from analysis.uncertainty import psa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scale_common import machine, machine_lines, peak_rss_mb, write_section  # noqa: E402
from bench_psa import synthetic_summary  # noqa: E402


def summary_for(n_practices: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    s = synthetic_summary(n_practices, rng=rng)
    nononc = s["n_nononc_encounters"].to_numpy().astype(np.int64)
    rate = rng.beta(2, 14, n_practices).repeat(4)
    with3d = rng.binomial(nononc, rate)
    onc = nononc // 4
    onc3d = rng.binomial(onc, 0.35)
    s = s.assign(n_nononc_encounters=nononc, n_nononc_encounters_3d=with3d,
                 n_onc_encounters=onc, n_onc_encounters_3d=onc3d,
                 n_encounters=nononc + onc, n_encounters_3d=with3d + onc3d,
                 ct_mr_units=nononc + onc, ct_mr_lines=nononc + onc,
                 units_3d_76376=with3d + onc3d, n_3d_lines=with3d + onc3d)
    return _finish(s.assign(**{c: 0 for c in SUM_COLUMNS if c not in s.columns}))


def best_of(fn, repeats=2):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practices", type=int, default=5000)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    m = machine()
    summ = summary_for(args.practices)
    t_screen, res = best_of(lambda: screen(summ))
    base = impact_base(summ)
    t_psa, p = best_of(lambda: psa(base, full_bundling(), rng=np.random.default_rng(1),
                                   n_draws=args.draws))
    flagged = int(res.table["flag"].sum())
    loss = p.summary.set_index("metric").loc["loss_usd"]
    lines = [
        f"## LCD screen and PSA on {args.practices:,} practices (`bench_screen_psa.py`)",
        "",
        *machine_lines(m, " / ".join(f"{x:.2f}" for x in os.getloadavg())),
        f"- Input: synthetic one-year summary, {len(summ):,} practice x payer rows (seed 1).",
        "",
        "| step | time (s, best of 2) | result |",
        "|---|---:|---|",
        f"| `lcd.screen` (exact tests, BH, funnel, shrinkage) | {t_screen:.2f} | "
        f"{flagged:,} of {args.practices:,} practices flagged |",
        f"| `uncertainty.psa` full bundling, {args.draws:,} draws | {t_psa:.2f} | mean loss "
        f"${loss['mean'] / 1e6:,.1f}M |",
        "",
        f"- Peak resident memory of the run: {peak_rss_mb():,.0f} MB.",
    ]
    if args.record:
        write_section("bench_screen_psa", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
