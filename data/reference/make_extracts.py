"""Rebuild the reference extracts in this folder from the full CMS files.

Usage (maintainers only; the package never reads the full files)::

    python data/reference/make_extracts.py PPRRVU2025_Oct.csv GPCI2025.csv

Writes ``pprrvu2025_oct_imaging.csv`` (the title and header lines of the real file,
then every row for the CT/MR base codes, the 3D codes and the borderline codes
listed in ``ct_mr_codes.csv``) and copies the GPCI file unchanged, so the extracts
keep the real layouts and are read by the same loaders as a user's full files.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER_LINES = 10


def main(pprrvu: str, gpci: str) -> None:
    with open(HERE / "ct_mr_codes.csv", newline="", encoding="utf-8") as f:
        keep = {row["cpt_code"] for row in csv.DictReader(f)} | {"76376", "76377"}
    raw = Path(pprrvu).read_bytes().decode("utf-8-sig").splitlines(keepends=True)
    rows = raw[:HEADER_LINES] + [
        line for line in raw[HEADER_LINES:] if line.split(",", 1)[0] in keep
    ]
    (HERE / "pprrvu2025_oct_imaging.csv").write_text("".join(rows), encoding="utf-8")
    shutil.copyfile(gpci, HERE / "GPCI2025.csv")


if __name__ == "__main__":
    main(*sys.argv[1:3])
