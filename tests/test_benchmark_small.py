"""CI guard: prs must not score slower than PLINK 2 on the small benchmark dataset.

Runs on the CI-sized dataset of ``benchmarks.generate`` (1,000 samples, seeded msprime,
cached in the temporary directory), each side best of 3 on this machine, so the check is a
ratio and machine load cancels out:

* the fast genotype engine (sites pass + dosage read, warm process) must beat PLINK 2's
  whole ``--vcf ... --score`` run, and its scores must agree with PLINK 2's;
* ``prs.score`` as a whole (warm process: reading the scoring file, matching, reading the
  genotypes, scoring) must beat it too. Interpreter start and imports (about 1 s here) are
  a fixed cost the full benchmark table reports separately (``python -m benchmarks.run``).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.plink2

TOOLS = ("plink2", "bgzip", "tabix")


@pytest.fixture(scope="module")
def small_data() -> Path:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not on PATH (make tools)")
    from benchmarks.generate import SMALL, default_data_dir, generate

    data = default_data_dir("small")  # the dataset `python -m benchmarks.run --small` uses
    generate(data, SMALL)
    return data


def _best(fn, repeats: int = 3) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - started)
    return best, value


def _plink(data: Path, out: Path) -> float:
    from benchmarks.run import plink_command

    cmd = plink_command(data / "gt.vcf.gz", data / "dense.plink.tsv", out, "GT", 1)
    seconds, _ = _best(lambda: subprocess.run(cmd, check=True, capture_output=True))
    return seconds


def _score(data: Path):
    from prs.genotypes.fastvcf import FastVcfSource
    from prs.scoring import score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score(FastVcfSource(data / "gt.vcf.gz"), data / "dense.prs.txt")


def test_fast_engine_beats_plink2_and_agrees(small_data, tmp_path):
    from prs.genotypes.fastvcf import FastVcfSource

    weights = pd.read_csv(small_data / "dense.prs.txt", sep="\t", comment="#")
    wanted = {"22": np.unique(weights["chr_position"].to_numpy())}

    def engine() -> int:
        source = FastVcfSource(small_data / "gt.vcf.gz")
        sites = source.sites(wanted)
        n = 0
        for chunk in source.read(
            sites["record"].to_numpy(),
            sites["allele_index"].to_numpy().astype(np.int64),
            chunk_size=4096,
        ):
            n += chunk.dosage.size
        return n

    engine()  # warm the Numba cache
    engine_s, genotypes = _best(engine)
    plink_s = _plink(small_data, tmp_path / "plink")
    assert genotypes > 0
    assert engine_s < plink_s, (
        f"fast engine {engine_s:.3f} s vs PLINK 2 {plink_s:.3f} s on the small dataset"
    )

    result = _score(small_data)
    plink = pd.read_csv(tmp_path / "plink.sscore", sep="\t")
    column = next(c for c in plink.columns if c.endswith("_SUM") and "DOSAGE" not in c)
    expected = plink.set_index("#IID")[column].loc[list(result.samples)].to_numpy()
    # PLINK 2 prints six significant digits.
    np.testing.assert_allclose(result.sums[:, 0], expected, rtol=1e-5, atol=1e-9)


def test_whole_scoring_not_slower_than_plink2(small_data, tmp_path):
    _score(small_data)  # warm
    prs_s, result = _best(lambda: _score(small_data), repeats=5)
    plink_s = _plink(small_data, tmp_path / "plink")
    genotypes = len(result.samples) * int(result.variants_used.max())
    assert prs_s < plink_s, (
        f"prs.score {prs_s:.3f} s vs PLINK 2 {plink_s:.3f} s (ratio {prs_s / plink_s:.2f}, "
        f"{genotypes / prs_s / 1e6:.0f} vs {genotypes / plink_s / 1e6:.0f} M genotypes/s) "
        "on the small dataset"
    )
