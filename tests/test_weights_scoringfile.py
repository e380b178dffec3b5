"""ScoringFile is valid by construction (issue 12), and the header parser is public."""

from __future__ import annotations

import dataclasses
import gzip

import numpy as np
import pytest

from prs.errors import ScoringFileError
from prs.weights import ScoringFile, parse_header, read_header, read_scorefile

TEXT = (
    "###PGS CATALOG SCORING FILE\n#pgs_id=PGS000123\n#genome_build=hg19\n#HmPOS_build=GRCh38\n"
    "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\thm_chr\thm_pos\n"
    "1\t5\tA\tG\t0.1\t1\t7\n1\t9\tC\tT\t0.2\t1\t11\n"
)


@pytest.fixture
def scoring(tmp_path) -> ScoringFile:
    path = tmp_path / "w.txt"
    path.write_text(TEXT)
    return read_scorefile(path)


def test_a_scoring_file_read_is_valid_and_a_copy_of_it_is_checked_again(scoring):
    assert scoring.genome_build == "GRCh38" and scoring.weights.shape == (2, 1)
    with pytest.raises(ScoringFileError, match=r"w.txt: weights are 1 x 1 but there are 2 variant"):
        dataclasses.replace(scoring, weights=scoring.weights[:1])
    with pytest.raises(ScoringFileError, match="weights must be a 2-D array"):
        dataclasses.replace(scoring, weights=scoring.weights[:, 0])
    with pytest.raises(ScoringFileError, match=r"variants table lacks column\(s\) effect_allele"):
        dataclasses.replace(scoring, variants=scoring.variants.drop(columns="effect_allele"))
    with pytest.raises(ScoringFileError, match="score name 'S' appears twice"):
        dataclasses.replace(scoring, score_ids=("S", "S"), weights=np.ones((2, 2)))
    with pytest.raises(ScoringFileError, match="genome_build 'hg38' is not a canonical"):
        dataclasses.replace(scoring, genome_build="hg38")
    # positions are not bounded here (matching is exact whatever their size)
    big = dataclasses.replace(scoring, variants=scoring.variants.assign(pos=[2**40, 3]))
    assert big.variants["pos"].tolist() == [2**40, 3]


def test_effect_type_codes_follow_the_vocabulary(scoring):
    odd = scoring.variants.assign(effect_type=["recessive", "additive"])
    assert dataclasses.replace(scoring, variants=odd).effect_type_codes().tolist() == [2, 0]


def test_header_is_read_without_the_table(tmp_path):
    plain = tmp_path / "h.txt"
    plain.write_text(TEXT)
    packed = tmp_path / "h.txt.gz"
    packed.write_bytes(gzip.compress(TEXT.encode()))
    expected = {"pgs_id": "PGS000123", "genome_build": "hg19", "HmPOS_build": "GRCh38"}
    assert read_header(plain) == expected == read_header(packed)
    v1 = ["# PGS ID = PGS000001", "# Original Genome Build = NR", "#weight_type=OR"]
    assert parse_header(v1) == {"pgs_id": "PGS000001", "genome_build": "NR", "weight_type": "OR"}
    with pytest.raises(ScoringFileError, match="scoring file not found"):
        read_header(tmp_path / "missing.txt")
