"""``dosage="HDS"`` on formats that store no haplotype dosages is refused, never read as
something else (before the refusal, a pgen read with HDS silently gave its hard calls)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import prs
from prs.errors import GenotypeFileError

CINECA = "pgsc_calc/target_genomes/cineca_synthetic_subset"
SCOREFILE = "pgsc_calc/scorefiles/PGS001229_22.txt"


@pytest.fixture(scope="module")
def cineca(shared_data) -> Path:
    return shared_data / CINECA


@pytest.mark.parametrize("suffix", [".pgen", ".bed"])
def test_plink_filesets_refuse_hds_and_gp(cineca, shared_data, suffix):
    for field in ("HDS", "GP"):
        with pytest.raises(GenotypeFileError, match=rf"dosage='{field}': PLINK files give only"):
            prs.score(f"{cineca}{suffix}", shared_data / SCOREFILE, dosage=field)
    # The fields PLINK files do give still score (and as the VCF's hard calls).
    ds = prs.score(f"{cineca}.pgen", shared_data / SCOREFILE, dosage="DS")
    gt = prs.score(f"{cineca}.vcf.gz", shared_data / SCOREFILE)
    np.testing.assert_array_equal(ds.sums, gt.sums)


def test_bgen_refuses_hds(cineca, shared_data, plink2, tmp_path):
    out = tmp_path / "cineca"
    subprocess.run(
        [
            plink2,
            "--pfile",
            str(cineca),
            "--export",
            "bgen-1.2",
            "ref-first",
            "--out",
            str(out),
            "--silent",
        ],
        check=True,
        capture_output=True,
    )
    with pytest.raises(GenotypeFileError, match=r"dosage='HDS': BGEN files give only GT, DS, GP"):
        prs.score(f"{out}.bgen", shared_data / SCOREFILE, dosage="HDS")


def test_vcf_zarr_refuses_hds(tmp_path):
    from prs.genotypes.zarr import VcfZarrSource

    store = tmp_path / "empty.vcz"
    store.mkdir()
    with pytest.raises(GenotypeFileError, match=r"dosage='HDS': VCF Zarr files give only"):
        VcfZarrSource(store, dosage="HDS")
