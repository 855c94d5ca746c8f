"""Regenerate the bundled synthetic Medicare PUF samples in this folder.

    .venv/bin/python data/sample/puf/make_samples.py

Everything is synthetic (analysis.puf.write_synthetic_puf with a fixed seed): no row
describes a real provider, and the NPIs, although check-digit valid, are drawn at
random.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import puf

HERE = Path(__file__).resolve().parent
SEED = 20240601
# Oversample North Carolina and the Novitas (JH, JL) states so that a small file
# still has enough radiologists to screen; everything else at a low weight.
STATE_WEIGHTS = {s: 0.15 for s, *_ in puf._STATES} | {
    "NC": 8.0, "SC": 1.0, "VA": 1.5, "WV": 0.5,  # Palmetto JM
    "TX": 3.0, "OK": 0.8, "CO": 0.8, "NM": 0.5, "LA": 0.8, "AR": 0.6, "MS": 0.5,  # JH
    "PA": 2.0, "NJ": 1.2, "MD": 1.0, "DE": 0.3, "DC": 0.3,  # JL
}


def main() -> None:
    paths = puf.sample_paths()
    rng = np.random.default_rng(SEED)
    main_file = puf.write_synthetic_puf(
        paths["provider"], n_rows=8000, rng=rng, layout="2023+",
        geography_path=paths["geography"], radiologist_share=0.35,
        state_weights=STATE_WEIGHTS, chunk_rows=2000,
    )
    older = puf.write_synthetic_puf(
        paths["provider_with_gender"], n_rows=1500, rng=rng, layout="with_gender",
        radiologist_share=0.35, state_weights=STATE_WEIGHTS, bom=True, crlf=True,
        chunk_rows=1500,
    )
    # An illustrative crosswalk: NC radiologist NPIs grouped into six practices in
    # file order; every seventh NPI is left out so that the unmatched report has rows.
    lines = puf.read_provider_service(paths["provider"], states="NC").lines
    npis = lines.loc[lines["code_class"].ne("other"), "npi"].drop_duplicates().tolist()
    rows = [
        (npi, f"NC-PRACTICE-{i % 6 + 1:02d}", f"Synthetic Radiology Group {i % 6 + 1}")
        for i, npi in enumerate(npis)
        if i % 7 != 6
    ]
    pd.DataFrame(rows, columns=["npi", "practice_id", "practice_name"]).to_csv(
        paths["crosswalk"], index=False
    )
    print(main_file, older, f"crosswalk: {len(rows)} NPIs", sep="\n")


if __name__ == "__main__":
    main()
