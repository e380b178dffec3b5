"""Fixes of the review of 13108f8..HEAD (notes/review.md), each checked against an
independent answer: the same rows written in the target build, PLINK-free hand sums, or
the in-memory report of the same run.

Chains are generated here (block arithmetic, as tests/test_liftover.py), never fetched."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest

from prs.scoring.reference_freq import score_with_reference_frequencies
from tests.builders import write_scorefile
from tests.test_reference_freq import cohort  # noqa: F401  (fixture)


def _shift_chain(path, shift: int, size: int = 10_000_000):
    """One block on chr1: source position p -> p - ``shift`` (a chain of no real build)."""
    path.write_text(
        f"chain 1000 chr1 {size} + {shift} {size - 1000} chr1 {size} + 0 {size - 1000 - shift} 1\n"
        f"{size - 1000 - shift}\n\n"
    )
    return path, hashlib.md5(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------
# Finding 1: --missing reference-freq looks frequencies up at the lifted positions


def test_reference_frequencies_of_a_lifted_file_equal_those_of_the_target_build_file(
    cohort,  # noqa: F811
    tmp_path,
):
    """GRCh38 rows (positions + 1000) lifted by a chain to the GRCh37 panel and genotypes
    give the sums, and the rows without a frequency, of the same rows written in GRCh37."""
    chain, md5 = _shift_chain(tmp_path / "c.chain", 1000)
    pairs, pos = cohort["pairs"], cohort["pos"]
    rows37, rows38 = [], []
    for j in range(10):
        ref, alt = pairs[j]
        rows37.append(("1", int(pos[j]), alt, ref, 0.1 * (j + 1)))
        rows38.append(("1", int(pos[j]) + 1000, alt, ref, 0.1 * (j + 1)))
    sf37 = write_scorefile(
        tmp_path / "s37.txt", rows37, header={"pgs_id": "P", "genome_build": "GRCh37"}
    )
    sf38 = write_scorefile(
        tmp_path / "s38.txt", rows38, header={"pgs_id": "P", "genome_build": "GRCh38"}
    )
    panel = cohort["tmp"] / "panel"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = score_with_reference_frequencies(
            cohort["target_vcf"], sf37, panel, genome_build="GRCh37"
        )
        lifted = score_with_reference_frequencies(
            cohort["target_vcf"],
            sf38,
            panel,
            genome_build="GRCh37",
            liftover=str(chain),
            liftover_md5=md5,
            catalog_options={"cache_dir": str(tmp_path / "cache")},
        )
    assert lifted.match_report.counts["matched"].tolist() == [10]
    assert set(lifted.match_report.variants["liftover"]) == {"lifted"}
    absent = lifted.provenance["reference_frequencies"]["rows_without_reference_frequency"]
    expected = good.provenance["reference_frequencies"]["rows_without_reference_frequency"]
    assert {k: len(v) for k, v in absent.items()} == {k: len(v) for k, v in expected.items()}
    np.testing.assert_allclose(lifted.sums, good.sums, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Finding 2: a piece whose columns differ is a ReportError naming the table and columns


@pytest.mark.parametrize("name", ["t.tsv", "t.parquet", "t.tsv.gz"])
def test_pieces_with_other_columns_are_a_report_error(tmp_path, name):
    from prs.errors import ReportError
    from prs.output.tables import output_set

    first = pd.DataFrame({"a": [1], "b": ["x"]})
    second = pd.DataFrame({"a": [2], "c": ["y"]})
    with pytest.raises(ReportError, match=r"t\.tsv|t\.parquet") as info:
        with output_set(tmp_path / "out") as outs:
            outs.write_table_pieces(iter([first, second]), name)
    assert "missing ['b']" in str(info.value) and "extra ['c']" in str(info.value)
    assert not (tmp_path / "out" / name).exists()
