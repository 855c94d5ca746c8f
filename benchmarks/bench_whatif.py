"""Benchmark: time per update of the live what-if on the bundled sample.

Builds :class:`analysis.whatif.WhatIf` on the bundled sample's quarterly summary (as the
what-if notebook does: ``analysis.report.load_inputs``), opens its controls, then makes
many updates in a fixed cycle of settings -- the commercial multiplier, the scope share,
the stop share, the policy (full bundling, LCD-style cap, medical necessity), the cap,
the horizon, the fee update and volume growth -- and times each one: the model, the
tornado, the suppressed practice table and the HTML the page shows (the browser's
drawing is not included). Prints the median, the 90th percentile and the maximum, and
the time to open the what-if, with the machine, date and load.

Usage::

    .venv/bin/python benchmarks/bench_whatif.py                  # 200 updates, 3-year sample
    .venv/bin/python benchmarks/bench_whatif.py --updates 500 \
        --claims data/sample/claims_2024.parquet           # the one-year sample

Run it on a quiet machine (the load average is printed so that a reader can tell); it
writes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import statistics
import sys
import time

from analysis import paths, report
from analysis.whatif import WhatIf

#: The cycle of changes: one setting at a time, as a committee moves the controls.
CHANGES = (
    {"commercial_multiplier": 2.2},
    {"scope_share": 0.8},
    {"stop_share": 0.4},
    {"policy": "lcd_cap"},
    {"cap_threshold": 0.3},
    {"horizon_years": 5},
    {"policy": "medical_necessity"},
    {"fee_update": 0.02},
    {"volume_growth": -0.03},
    {"policy": "full_bundling", "commercial_multiplier": 1.6, "scope_share": 1.0},
    {"horizon_years": 3, "fee_update": 0.0, "volume_growth": 0.0, "stop_share": 0.25},
    {"commercial_multiplier": 1.8, "cap_threshold": 0.2},
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", nargs="+", default=[str(paths.REPORT_CLAIMS)],
                        help="claims files (default: the bundled three-year sample, as "
                        "rad3d whatif)")
    parser.add_argument("--updates", type=int, default=200, help="updates timed (default 200)")
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"bench_whatif  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  "
          f"{platform.node()}  {platform.processor() or platform.machine()}  "
          f"{os.cpu_count()} CPUs  Python {sys.version.split()[0]}  "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"claims: {', '.join(args.claims)}")

    t0 = time.perf_counter()
    inputs = report.load_inputs("", claims=args.claims, link_window_days=7)
    summary = inputs.summary("quarter")
    t1 = time.perf_counter()
    app = WhatIf(summary)
    app.widget  # noqa: B018 - the controls and panes, as the page has them
    t2 = time.perf_counter()
    print(f"summary: {t1 - t0:.2f} s ({len(summary):,} practice x quarter x payer rows, "
          f"{summary['practice_id'].nunique()} practices); opening the what-if "
          f"(prices of 5 horizons, measured response, first update): {t2 - t1:.2f} s")
    print(f"measured stop share: {app.measured_text()}")

    for changes in CHANGES:  # warm-up: every setting once (disclosure plans, caches)
        app.update(**changes)
    times = []
    for changes in itertools.islice(itertools.cycle(CHANGES), args.updates):
        start = time.perf_counter()
        app.update(**changes)
        times.append(time.perf_counter() - start)
    times.sort()
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"{len(times)} updates: median {statistics.median(times) * 1000:.0f} ms, "
          f"90th percentile {p90 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms "
          f"(model {app.result.seconds * 1000:.0f} ms of the last)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
