"""Scoring-file reading and validation (prs.weights.scorefile)."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

from prs.errors import ScoringFileError
from prs.weights import read_scorefile
from tests.helpers import write_scorefile

BASIC = [("1", 100, "A", "G", 0.5), ("chr2", 200, "c", "t", -0.25)]


def test_basic_custom_file(tmp_path):
    sf = read_scorefile(write_scorefile(tmp_path / "w.txt", BASIC))
    assert sf.score_ids == ("w",)
    assert sf.variants["chrom"].tolist() == ["1", "2"]
    assert sf.variants["effect_allele"].tolist() == ["A", "C"]  # upper-cased
    assert sf.variants["line"].tolist() == [2, 3]
    np.testing.assert_array_equal(sf.weights[:, 0], [0.5, -0.25])
    assert sf.genome_build is None


def test_v2_header_and_gzip(tmp_path):
    path = write_scorefile(
        tmp_path / "w.txt.gz",
        BASIC,
        header={"pgs_id": "PGS000123", "genome_build": "hg19", "variants_number": "2"},
    )
    sf = read_scorefile(path)
    assert sf.score_ids == ("PGS000123",)
    assert sf.genome_build == "GRCh37"
    assert sf.header["variants_number"] == "2"
    assert sf.variants["line"].tolist() == [7, 8]  # 5 header lines, then the column line
    assert sf.warnings == ()


def test_v1_header(shared_data):
    sf = read_scorefile(shared_data / "scorefiles/megsap/PGS000004.txt")
    assert sf.score_ids == ("PGS000004",)
    assert sf.genome_build == "GRCh37"
    assert sf.n_variants == 313
    assert sf.header["pgp_id"] == "PGP000002"
    # format 1.0 calls the other allele reference_allele
    assert (sf.variants["other_allele"] != "").all()


def test_harmonized_positions(shared_data):
    hm = read_scorefile(shared_data / "scorefiles/megsap/PGS000004_hm.txt")
    author = read_scorefile(
        shared_data / "scorefiles/megsap/PGS000004_hm.txt", use_harmonized=False
    )
    assert hm.harmonized and hm.genome_build == "GRCh38"
    assert not author.harmonized and author.genome_build == "GRCh37"
    assert hm.variants["pos"].iloc[0] == 100414772 and author.variants["pos"].iloc[0] == 100880328


def test_multi_score_custom_and_long_format(shared_data):
    multi = read_scorefile(shared_data / "pgsc_calc/scorefiles/multiscore.txt")
    assert multi.score_ids == ("PGS001229_22", "second_score")
    assert multi.variants["pos"].iloc[0] == 17080378  # from ID chrom:pos:ref:alt
    combined = read_scorefile(shared_data / "scorefiles/pygscatalog-core/combined.txt.gz")
    assert combined.score_ids == ("PGS000002", "PGS000001")
    assert (~np.isnan(combined.weights)).sum(axis=0).tolist() == [77, 77]


def test_spreadsheet_trailing_tabs(shared_data):
    sf = read_scorefile(shared_data / "scorefiles/pygscatalog-core/PGS000001_hmPOS_GRCh38.txt")
    assert sf.n_variants == 77 and sf.harmonized


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Infinity", "1_000", "0.1a", "", "1e999"])
def test_bad_weights_name_line_and_value(tmp_path, bad):
    rows = [*BASIC, ("3", 300, "T", "C", bad)]
    path = write_scorefile(tmp_path / "w.txt", rows)
    with pytest.raises(ScoringFileError) as err:
        read_scorefile(path)
    message = str(err.value)
    assert f"{path} line 4" in message and "effect_weight" in message
    assert f"'{bad}'" in message


def test_missing_required_columns(tmp_path):
    path = write_scorefile(
        tmp_path / "w.txt", [("1", 100, 0.5)], columns=("chr_name", "chr_position", "effect_weight")
    )
    with pytest.raises(ScoringFileError, match="effect_allele is missing"):
        read_scorefile(path)
    path = write_scorefile(
        tmp_path / "v.txt", [("A", 0.5)], columns=("effect_allele", "effect_weight")
    )
    with pytest.raises(ScoringFileError, match="chr_name and chr_position"):
        read_scorefile(path)


def test_dominant_and_recessive_both_set(tmp_path):
    cols = (
        "chr_name",
        "chr_position",
        "effect_allele",
        "other_allele",
        "effect_weight",
        "is_dominant",
        "is_recessive",
    )
    path = write_scorefile(
        tmp_path / "w.txt",
        [("1", 1, "A", "G", 1, "TRUE", "FALSE"), ("1", 2, "A", "G", 1, "TRUE", "TRUE")],
        columns=cols,
    )
    with pytest.raises(
        ScoringFileError, match=r"line 3: is_dominant and is_recessive are both TRUE"
    ):
        read_scorefile(path)


def test_effect_types(shared_data):
    sf = read_scorefile(shared_data / "pgsc_calc/scorefiles/scorefile_dominant_and_recessive.txt")
    types = sf.variants["effect_type"].value_counts().to_dict()
    assert types["dominant"] >= 1 and types["recessive"] >= 1 and types["additive"] > 100


def test_unscorable_rows_refused_or_dropped(shared_data):
    path = shared_data / "scorefiles/pgs-calc/PGS000957.txt.gz"
    with pytest.raises(ScoringFileError, match=r"line 8516: row cannot be scored \(haplotype"):
        read_scorefile(path)
    sf = read_scorefile(path, drop_unscorable=True)
    assert sf.dropped == {"haplotype": 1}
    assert sf.n_variants == 11276 - 1


def test_complex_and_dosage_weight_rows(shared_data):
    with pytest.raises(ScoringFileError, match="diplotype"):
        read_scorefile(shared_data / "pygscatalog/scorefiles/complex_variants_PGS000021.txt")
    sf = read_scorefile(
        shared_data / "pygscatalog/scorefiles/PGS004255_hmPOS_GRCh38.txt.gz", drop_unscorable=True
    )
    assert sf.dropped == {"non-additive dosage weights": 30}


def test_variants_number_disagreement_is_reported(tmp_path):
    path = write_scorefile(
        tmp_path / "w.txt", BASIC, header={"pgs_id": "X", "variants_number": "5"}
    )
    with pytest.warns(UserWarning, match="variants_number=5 but 2 rows"):
        sf = read_scorefile(path)
    assert "possible truncation" in sf.warnings[0]


def test_bad_position_and_boolean(tmp_path):
    path = write_scorefile(tmp_path / "w.txt", [("1", "12x", "A", "G", 1)])
    with pytest.raises(ScoringFileError, match=r"line 2: chr_position '12x' is not a whole number"):
        read_scorefile(path)
    cols = ("chr_name", "chr_position", "effect_allele", "effect_weight", "is_haplotype")
    path = write_scorefile(tmp_path / "b.txt", [("1", 5, "A", 1, "maybe")], columns=cols)
    with pytest.raises(ScoringFileError, match="is_haplotype 'maybe' is not TRUE or FALSE"):
        read_scorefile(path)


def test_empty_and_missing_file(tmp_path):
    with pytest.raises(ScoringFileError, match="not found"):
        read_scorefile(tmp_path / "nope.txt")
    path = tmp_path / "empty.txt"
    path.write_text("#pgs_id=X\nchr_name\tchr_position\teffect_allele\teffect_weight\n")
    with pytest.raises(ScoringFileError, match="no variant rows"):
        read_scorefile(path)
    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(
        gzip.compress(b"chr_name\tchr_position\teffect_allele\teffect_weight\n1\t2\tA\t1\n")[:-12]
    )
    with pytest.raises(ScoringFileError, match="cannot read"):
        read_scorefile(bad)


def test_every_shared_scorefile_reads_or_fails_clearly(shared_data):
    """Every real scoring file either reads or raises a ScoringFileError (never a crash)."""
    files = [p for p in (shared_data / "scorefiles").rglob("*") if p.suffix in (".txt", ".gz")]
    files += list((shared_data / "pygscatalog/scorefiles").glob("*"))
    assert len(files) > 30
    read = 0
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                sf = read_scorefile(path)
            except ScoringFileError as exc:
                assert str(path) in str(exc)
                continue
        assert sf.n_variants > 0 and sf.weights.shape[0] == sf.n_variants
        read += 1
    assert read >= 30


def test_alias_collisions_and_duplicate_headers(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(
        "chr_name\tchr_position\tbeta\teffect_allele\teffect_weight\n1\t5\t0.1\tA\t0.2\n"
    )
    with pytest.raises(
        ScoringFileError, match="'effect_weight' and 'beta' both mean effect_weight"
    ):
        read_scorefile(path)
    path.write_text(
        "chr_name\tchr_position\teffect_allele\teffect_weight\teffect_weight\n1\t5\tA\t1\t2\n"
    )
    with pytest.raises(ScoringFileError, match="'effect_weight' appears more than once"):
        read_scorefile(path)
    # distinct columns that look like pandas' renaming of a repeat ("w", "w.1") are fine
    path.write_text("chr_name\tchr_position\teffect_allele\tw\tw.1\n1\t5\tA\t1\t2\n")
    sf = read_scorefile(path)
    assert sf.score_ids == ("w", "w.1") and sf.weights.tolist() == [[1.0, 2.0]]


def test_blank_line_before_the_column_header(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text(
        "#pgs_id=X\n\nchr_name\tchr_position\teffect_allele\teffect_weight\n"
        "1\t5\tA\t1\n1\t6\tG\tx\n"
    )
    with pytest.raises(ScoringFileError, match=r"line 5: effect_weight 'x'"):
        read_scorefile(path)
