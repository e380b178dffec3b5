"""Shared helpers of the prs.calibrate tests: scores tables like `prs score` writes, shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def scores_table(values: dict[str, np.ndarray], *, prefix: str = "S") -> pd.DataFrame:
    """A long-format table with the exact columns of `prs score`'s scores.tsv."""
    rows = []
    for score_id, vals in values.items():
        n = len(vals)
        rows.append(
            pd.DataFrame(
                {
                    "sample_id": [f"{prefix}{i:05d}" for i in range(n)],
                    "score": score_id,
                    "SUM": np.asarray(vals, dtype=float),
                    "AVG": np.asarray(vals, dtype=float) / 626.0,
                    "ALLELE_CT": 626,
                    "NAMED_ALLELE_DOSAGE_SUM": 300.0,
                    "VARIANTS_USED": 313,
                    "MISSING_CT": 0,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def write_scores(path: Path, values: dict[str, np.ndarray], **kwargs) -> Path:
    scores_table(values, **kwargs).to_csv(path, sep="\t", index=False)
    return path


def traited_scores(
    values, trait_efo: str | None, score: str = "PGS000004", trait: str | None = None
) -> pd.DataFrame:
    """A long ``scores.tsv`` as ``prs score`` writes it, with or without trait metadata."""
    frame = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(len(values))],
            "score": score,
            "SUM": np.asarray(values, dtype=float),
        }
    )
    if trait_efo is not None:
        frame["trait_efo"] = trait_efo
        frame["trait_reported"] = trait
    return frame


def quiet_categorise(**kwargs):
    """``prs.calibrate.categorise`` with its CalibrationWarnings silenced."""
    import warnings

    from prs.calibrate import categorise
    from prs.errors import CalibrationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        return categorise(**kwargs)
