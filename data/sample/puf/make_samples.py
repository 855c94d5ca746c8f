"""Regenerate the bundled synthetic Medicare PUF samples in this folder.

    .venv/bin/python data/sample/puf/make_samples.py           # rewrite the samples
    .venv/bin/python data/sample/puf/make_samples.py --check   # compare, write nothing

Everything is synthetic (analysis.synth.puf.write_synthetic_puf with a fixed seed): no
row describes a real provider, and the NPIs, although check-digit valid, are drawn at
random. ``--check`` regenerates the files in a temporary folder and exits 1 unless
every one equals the bundled file byte for byte.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analysis._io import write_atomic
from analysis.paths import PUF_SAMPLE_DIR
from analysis.puf.jurisdictions import STATES
from analysis.puf.read import read_provider_service, sample_paths
from analysis.synth.puf import write_synthetic_puf

SEED = 20240601
# Oversample North Carolina and the Novitas (JH, JL) states so that a small file
# still has enough radiologists to screen; everything else at a low weight.
STATE_WEIGHTS = {s: 0.15 for s, *_ in STATES} | {
    "NC": 8.0, "SC": 1.0, "VA": 1.5, "WV": 0.5,  # Palmetto JM
    "TX": 3.0, "OK": 0.8, "CO": 0.8, "NM": 0.5, "LA": 0.8, "AR": 0.6, "MS": 0.5,  # JH
    "PA": 2.0, "NJ": 1.2, "MD": 1.0, "DE": 0.3, "DC": 0.3,  # JL
}


def write_samples(folder: Path) -> dict[str, Path]:
    """Write the four sample files into ``folder`` under their bundled names."""
    paths = {key: folder / path.name for key, path in sample_paths().items()}
    rng = np.random.default_rng(SEED)
    main_file = write_synthetic_puf(
        paths["provider"], n_rows=8000, rng=rng, layout="2023+",
        geography_path=paths["geography"], radiologist_share=0.35,
        state_weights=STATE_WEIGHTS, chunk_rows=2000,
    )
    older = write_synthetic_puf(
        paths["provider_with_gender"], n_rows=1500, rng=rng, layout="with_gender",
        radiologist_share=0.35, state_weights=STATE_WEIGHTS, bom=True, crlf=True,
        chunk_rows=1500,
    )
    # An illustrative crosswalk: NC radiologist NPIs grouped into six practices in
    # file order; every seventh NPI is left out so that the unmatched report has rows.
    lines = read_provider_service(paths["provider"], states="NC").lines
    npis = lines.loc[lines["code_class"].ne("other"), "rendering_npi"].drop_duplicates().tolist()
    rows = [
        (npi, f"NC-PRACTICE-{i % 6 + 1:02d}", f"Synthetic Radiology Group {i % 6 + 1}")
        for i, npi in enumerate(npis)
        if i % 7 != 6
    ]
    crosswalk = pd.DataFrame(rows, columns=["rendering_npi", "practice_id", "practice_name"])
    write_atomic(paths["crosswalk"], lambda tmp: crosswalk.to_csv(tmp, index=False))
    print(main_file, older, f"crosswalk: {len(rows)} NPIs", sep="\n")
    return paths


def check() -> int:
    """0 when freshly generated samples equal the bundled ones byte for byte, else 1."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_samples(Path(tmp))
        differ = [key for key, path in sample_paths().items()
                  if not filecmp.cmp(path, fresh[key], shallow=False)]
    for key in differ:
        print(f"differs from a fresh run: {sample_paths()[key]}", file=sys.stderr)
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="regenerate in a temporary folder and compare; write nothing here")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    write_samples(PUF_SAMPLE_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
