"""Rebuild the reference extracts in this folder from the full CMS files.

Usage (maintainers only; the package never reads the full files)::

    python data/reference/make_extracts.py PPRRVU2025_Oct.csv --gpci GPCI2025.csv
    python data/reference/make_extracts.py PPRRVU2026_Jul_nonQPP.csv \
        --out pprrvu2026_jul_nonqpp_imaging.csv --also 70471 70473 76016 76017 76018 76019

Writes the PFS extract (default ``pprrvu2025_oct_imaging.csv``: the title and header
lines of the real file, then every row for the CT/MR base codes, the 3D codes and the
borderline codes listed in ``ct_mr_codes.csv``, plus the ``--also`` codes: for 2026
the six codes new that year in diagnostic imaging family 88) and copies the GPCI file
unchanged, so the extracts keep the real layouts (31 columns in 2025, 32 from 2026) and
are read by the same loaders as a user's full files.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from analysis._io import write_bytes, write_text
from analysis.paths import reference_file

HEADER_LINES = 10


def main(pprrvu: str, *, out: str, also: list[str] = (), gpci: str | None = None) -> None:
    with open(reference_file("ct_mr_codes.csv"), newline="", encoding="utf-8") as f:
        keep = {row["cpt_code"] for row in csv.DictReader(f)} | {"76376", "76377", *also}
    raw = Path(pprrvu).read_bytes().decode("utf-8-sig").splitlines(keepends=True)
    rows = raw[:HEADER_LINES] + [
        line for line in raw[HEADER_LINES:] if line.split(",", 1)[0] in keep
    ]
    write_text(reference_file(out), "".join(rows))
    if gpci is not None:
        write_bytes(reference_file(Path(gpci).name), Path(gpci).read_bytes())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pprrvu", help="the full CMS PPRRVU file (CSV)")
    parser.add_argument(
        "--out", default="pprrvu2025_oct_imaging.csv", help="extract name in this folder"
    )
    parser.add_argument("--also", nargs="*", default=[], help="further codes to keep")
    parser.add_argument("--gpci", help="the full CMS GPCI file (CSV), copied unchanged")
    args = parser.parse_args()
    main(args.pprrvu, out=args.out, also=args.also, gpci=args.gpci)
