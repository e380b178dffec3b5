"""The small benchmark dataset scores as PLINK 2 scores it (agreement, not speed).

Runs on the CI-sized dataset of ``benchmarks.generate`` (1,000 samples, seeded msprime,
cached in the temporary directory) that ``python -m benchmarks.run --small`` times. Speed is
measured there, against PLINK 2 in the same run, and never asserted in a test (machine load
makes a timed test flaky); this file checks that the two paths the benchmark times — the fast
genotype engine alone and ``prs.score`` as a whole — read every genotype and give PLINK 2's
scores on that data.
"""

from __future__ import annotations

import shutil
import subprocess
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


@pytest.fixture(scope="module")
def plink_sums(small_data: Path, tmp_path_factory) -> pd.Series:
    from benchmarks.run import plink_command

    out = tmp_path_factory.mktemp("plink") / "plink"
    cmd = plink_command(small_data / "gt.vcf.gz", small_data / "dense.plink.tsv", out, "GT", 1)
    subprocess.run(cmd, check=True, capture_output=True)
    plink = pd.read_csv(out.with_suffix(".sscore"), sep="\t")
    column = next(c for c in plink.columns if c.endswith("_SUM") and "DOSAGE" not in c)
    return plink.set_index("#IID")[column]


def _score(data: Path):
    from prs.genotypes.fastvcf import FastVcfSource
    from prs.scoring import score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score(FastVcfSource(data / "gt.vcf.gz"), data / "dense.prs.txt")


def test_fast_engine_reads_every_listed_genotype(small_data):
    """The engine the benchmark times alone yields one dosage per sample and listed site."""
    from prs.genotypes.fastvcf import FastVcfSource

    weights = pd.read_csv(small_data / "dense.prs.txt", sep="\t", comment="#")
    wanted = {"22": np.unique(weights["chr_position"].to_numpy())}
    source = FastVcfSource(small_data / "gt.vcf.gz")
    sites = source.sites(wanted)
    n = 0
    for chunk in source.read(
        sites["record"].to_numpy(),
        sites["allele_index"].to_numpy().astype(np.int64),
        chunk_size=4096,
    ):
        called = chunk.dosage[~np.isnan(chunk.dosage)]
        assert ((called >= 0) & (called <= 2)).all()
        n += chunk.dosage.size
    assert len(sites) > 0
    assert n == len(sites) * len(source.samples)


def test_prs_score_equals_plink2_on_the_benchmark_data(small_data, plink_sums):
    result = _score(small_data)
    expected = plink_sums.loc[list(result.samples)].to_numpy()
    # PLINK 2 prints six significant digits.
    np.testing.assert_allclose(result.sums[:, 0], expected, rtol=1e-5, atol=1e-9)
    assert int(result.variants_used.max()) > 0
