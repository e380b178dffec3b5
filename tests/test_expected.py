"""Agreement with a peer's expected output: the PGS Catalog Calculator (pgsc_calc), which ran
PLINK 2 on the CINECA cohort with PGS001229 (chr22) and a duplicate-test score."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from prs.scoring import score


def read_sscore(path) -> pd.DataFrame:
    zstandard = pytest.importorskip("zstandard")
    text = zstandard.ZstdDecompressor().decompress(path.read_bytes(), max_output_size=1 << 28)
    frame = pd.read_csv(io.BytesIO(text), sep="\t")
    frame["sample_id"] = frame["#FID"] + "_" + frame["IID"]  # the VCF's FID_IID
    return frame.set_index("sample_id")


def test_matches_pgsc_calc_plink2_output(shared_data):
    expected_dir = shared_data / "pygscatalog/expected"
    split0 = read_sscore(expected_dir / "cineca_22_additive_0.sscore.zst")
    split1 = read_sscore(expected_dir / "cineca_22_additive_1.sscore.zst")
    vcf = shared_data / "pgsc_calc/target_genomes/cineca_synthetic_subset.vcf.gz"
    result = score(
        vcf,
        [
            shared_data / "pgsc_calc/scorefiles/PGS001229_22.txt",
            shared_data / "pgsc_calc/scorefiles/PGS001229_22_duplicate.txt",
        ],
    )
    ours = result.to_wide("SUM")
    assert len(ours) == len(split0) == 2504
    # PGS001229: one PLINK 2 run, 782 variants (2 x 782 = 1,564 alleles per sample)
    pgs = split0.loc[ours.index, "PGS001229_SUM"].to_numpy()
    np.testing.assert_allclose(ours["PGS001229"], pgs, rtol=5e-6, atol=5e-7)
    assert result.variants_used[0] == 782
    np.testing.assert_array_equal(result.denom[:, 0], split0.loc[ours.index, "DENOM"])
    # duplicatetest: the peer had to split it over two PLINK 2 runs (a variant shared with
    # PGS001229 under the other effect allele); one pass here equals their sum.
    dup = split0.loc[ours.index, "duplicatetest_SUM"] + split1.loc[ours.index, "duplicatetest_SUM"]
    np.testing.assert_allclose(ours["duplicatetest"], dup, rtol=1e-5, atol=1e-6)
