"""Hypothesis strategies: small cohorts (genotype matrices with missing calls) and weights."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

_NON_AMBIGUOUS = [("A", "G"), ("A", "C"), ("G", "T"), ("C", "T"), ("G", "A"), ("T", "C")]


@st.composite
def cohorts(draw, max_samples: int = 12, max_variants: int = 15):
    """A cohort dict: samples, records (chrom, pos, ref, alt, GT cells), weights (m, 2)."""
    n = draw(st.integers(2, max_samples))
    m = draw(st.integers(1, max_variants))
    chroms = sorted(
        draw(st.lists(st.sampled_from(["1", "2", "3"]), min_size=m, max_size=m)), key=int
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    records = []
    for k, chrom in enumerate(chroms):
        ref, alt = _NON_AMBIGUOUS[int(rng.integers(len(_NON_AMBIGUOUS)))]
        calls = rng.integers(0, 2, size=(n, 2))
        missing = rng.random(n) < 0.1
        cells = ["./." if miss else f"{a}/{b}" for (a, b), miss in zip(calls, missing, strict=True)]
        records.append((chrom, 1000 + 10 * k, f"v{k}", ref, alt, cells))
    weights = np.round(rng.normal(size=(m, 2)), 6)
    effect_is_alt = rng.random(m) < 0.5
    return {
        "samples": [f"s{i}" for i in range(n)],
        "records": records,
        "weights": weights,
        "effect_is_alt": effect_is_alt,
    }
