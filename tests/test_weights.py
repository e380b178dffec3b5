"""Scoring-file reading and validation (prs.weights.scorefile)."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

from prs.errors import ScoringFileError, ScoringFileWarning
from prs.weights import read_scorefile
from tests.builders import write_scorefile

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


# --- issue 10: F13 (genome build, weight_type), F8 (positions), F18 (messages) -------------

COLUMNS = "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"


def _v2(tmp_path, header: dict[str, str], rows: str, name: str = "s.txt"):
    lines = ["###PGS CATALOG SCORING FILE - test\n", "#format_version=2.0\n"]
    lines += [f"#{k}={v}\n" for k, v in header.items()]
    path = tmp_path / name
    path.write_text("".join(lines) + COLUMNS + rows)
    return path


@pytest.mark.parametrize("build", ["T2T-CHM13", "GRCh39", "hg20", "CHM13v2.0"])
def test_f13_unknown_genome_build_is_refused(tmp_path, build):
    path = _v2(tmp_path, {"pgs_id": "X", "genome_build": build}, "1\t5\tA\tG\t0.1\n")
    with pytest.raises(ScoringFileError) as err:
        read_scorefile(path)
    message = str(err.value)
    # file, header line (the 4th: two lines of preamble, pgs_id, then genome_build), value
    assert f"{path} line 4" in message and f"genome_build={build}" in message
    for known in ("GRCh37", "hg19", "GRCh38", "hg38", "NCBI36", "hg18", "NR"):
        assert known in message


def test_f13_unknown_harmonized_build_is_refused(tmp_path):
    path = tmp_path / "h.txt"
    path.write_text(
        "#pgs_id=X\n#genome_build=GRCh37\n#HmPOS_build=T2T\n"
        "chr_name\tchr_position\teffect_allele\teffect_weight\thm_chr\thm_pos\n"
        "1\t5\tA\t0.1\t1\t7\n"
    )
    with pytest.raises(ScoringFileError, match=r"line 3: HmPOS_build=T2T is not a genome build"):
        read_scorefile(path)
    # the author positions are GRCh37: readable when asked for
    assert read_scorefile(path, use_harmonized=False).genome_build == "GRCh37"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("GRCh37", "GRCh37"), ("hg19", "GRCh37"), ("GRCh38", "GRCh38"), ("hg38", "GRCh38"),
     ("NCBI36", "NCBI36"), ("hg18", "NCBI36"), ("NR", None), ("", None)],
)  # fmt: skip
def test_f13_known_builds_and_not_reported(tmp_path, given, canonical):
    path = _v2(tmp_path, {"pgs_id": "X", "genome_build": given}, "1\t5\tA\tG\t0.1\n")
    assert read_scorefile(path).genome_build == canonical


def test_f13_v1_header_unknown_build(tmp_path):
    path = tmp_path / "v1.txt"
    path.write_text(
        "# PGS ID = PGS000001\n# Original Genome Build = T2T\n" + COLUMNS + "1\t5\tA\tG\t0.1\n"
    )
    with pytest.raises(ScoringFileError, match=r"line 2: genome_build=T2T"):
        read_scorefile(path)


@pytest.mark.parametrize("stated", ["OR", "HR", "odds ratio", "or"])
def test_f13_ratio_weights_are_converted_to_log_with_a_warning(tmp_path, stated):
    path = _v2(
        tmp_path,
        {"pgs_id": "X", "weight_type": stated, "genome_build": "GRCh37"},
        "1\t5\tA\tG\t1.5\n1\t6\tC\tT\t0.8\n",
    )
    with pytest.warns(ScoringFileWarning, match=rf"weight_type={stated}"):
        sf = read_scorefile(path)
    np.testing.assert_allclose(sf.weights[:, 0], np.log([1.5, 0.8]))
    assert any("natural log" in note and f"weight_type={stated}" in note for note in sf.warnings)


def test_f13_ratio_weights_that_cannot_be_ratios_are_refused(tmp_path):
    path = _v2(
        tmp_path, {"pgs_id": "X", "weight_type": "OR"}, "1\t5\tA\tG\t1.5\n1\t6\tC\tT\t-0.2\n"
    )
    with pytest.raises(ScoringFileError) as err:
        read_scorefile(path)
    message = str(err.value)
    assert f"{path} line 7" in message and "'-0.2'" in message and "weight_type=OR" in message
    assert "log(OR)" in message  # how to fix a mislabelled header


@pytest.mark.parametrize("stated", ["beta", "log(OR)", "log(HR)", "NR", "Beta", "logOR"])
def test_f13_log_scale_weight_types_are_used_as_given(tmp_path, stated):
    path = _v2(tmp_path, {"pgs_id": "X", "weight_type": stated}, "1\t5\tA\tG\t-0.5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sf = read_scorefile(path)
    assert sf.weights[0, 0] == -0.5 and sf.warnings == ()


def test_f13_unrecognised_weight_type_is_reported(tmp_path):
    path = _v2(tmp_path, {"pgs_id": "X", "weight_type": "Z-ish"}, "1\t5\tA\tG\t0.5\n")
    with pytest.warns(ScoringFileWarning, match="weight_type=Z-ish is not one prs recognises"):
        sf = read_scorefile(path)
    assert sf.weights[0, 0] == 0.5 and len(sf.warnings) == 1


def test_f13_or_column_is_not_a_weight(shared_data):
    """PGS000001's author file has an OR column beside effect_weight = ln(OR): the weights
    are effect_weight, never the OR column, and nothing is converted."""
    sf = read_scorefile(shared_data / "pygscatalog/scorefiles/PGS000001.txt.gz")
    assert sf.score_ids == ("PGS000001",)
    assert sf.weights[0, 0] == pytest.approx(0.16220387987485377) and sf.warnings == ()


def test_f13_or_column_cross_checks_the_stated_weight_type(tmp_path):
    cols = "chr_name\tchr_position\teffect_allele\teffect_weight\tOR\n"
    # header says OR but effect_weight is ln(OR): already log, used as given (and said so)
    path = tmp_path / "a.txt"
    path.write_text(f"#weight_type=OR\n{cols}1\t5\tA\t0.16220387987485377\t1.1761\n")
    with pytest.warns(ScoringFileWarning, match="already"):
        sf = read_scorefile(path)
    assert sf.weights[0, 0] == pytest.approx(0.16220387987485377)
    # header says beta but effect_weight repeats the OR column: a contradiction, refused
    path.write_text(f"#weight_type=beta\n{cols}1\t5\tA\t1.1761\t1.1761\n1\t6\tA\t0.9\t0.9\n")
    with pytest.raises(ScoringFileError, match="equal to the OR column"):
        read_scorefile(path)
    # no weight type stated and effect_weight repeats the OR column: ratios, converted
    path.write_text(f"{cols}1\t5\tA\t1.1761\t1.1761\n1\t6\tA\t0.9\t0.9\n")
    with pytest.warns(ScoringFileWarning, match="equal to the OR column"):
        sf = read_scorefile(path)
    np.testing.assert_allclose(sf.weights[:, 0], np.log([1.1761, 0.9]))


def test_f13_only_an_or_column_gives_log_or_weights(tmp_path):
    """As the PGS Catalog: with no effect_weight the weight is log(OR) (or log(HR))."""
    path = tmp_path / "or.txt"
    path.write_text("chr_name\tchr_position\teffect_allele\tOR\n1\t5\tA\t2.0\n")
    with pytest.warns(ScoringFileWarning, match=r"ln\(OR\)"):
        sf = read_scorefile(path)
    assert sf.weights[0, 0] == pytest.approx(np.log(2.0)) and sf.score_ids == ("or",)


def test_f13_per_row_weight_type_column(tmp_path):
    """Format 1.0 files may carry weight_type per row (PGS000899 has one, all 'beta')."""
    path = tmp_path / "rows.txt"
    path.write_text(
        "chr_name\tchr_position\teffect_allele\teffect_weight\tweight_type\n"
        "1\t5\tA\t0.1\tbeta\n1\t6\tA\t2.0\tOR\n"
    )
    with pytest.warns(ScoringFileWarning, match="1 row"):
        sf = read_scorefile(path)
    np.testing.assert_allclose(sf.weights[:, 0], [0.1, np.log(2.0)])


@pytest.mark.parametrize(
    ("pos", "what"),
    [
        ("9223372036854775808", "above"),  # 2^63: an OverflowError traceback before
        ("99999999999999999999999", "above"),
        ("2147483648", "above"),  # 2^31: the VCF limit + 1
        ("-5", "negative"),
        ("12.5", "not a whole number"),
        ("1e6", "not a whole number"),
        ("\u0665", "not a whole number"),  # an Arabic-Indic digit: \d matches it
    ],
)
def test_f8_positions_beyond_the_limit_are_named(tmp_path, pos, what):
    path = tmp_path / "p.txt"
    path.write_text(COLUMNS + f"1\t5\tA\tG\t0.1\n1\t{pos}\tA\tG\t0.1\n", encoding="utf-8")
    with pytest.raises(ScoringFileError) as err:
        read_scorefile(path)
    message = str(err.value)
    assert f"{path} line 3: chr_position" in message and what in message
    assert pos in message or ascii(pos)[1:-1] in message


def test_f8_the_largest_position_is_accepted(tmp_path):
    from prs.genome import MAX_POSITION

    path = tmp_path / "p.txt"
    path.write_text(COLUMNS + f"1\t{MAX_POSITION}\tA\tG\t0.1\n")
    assert read_scorefile(path).variants["pos"].tolist() == [MAX_POSITION]


def test_f18_space_delimited_file(tmp_path):
    path = tmp_path / "sp.txt"
    path.write_text("#pgs_id=X\nchr_name chr_position effect_allele effect_weight\n1 5 A 0.1\n")
    with pytest.raises(ScoringFileError) as err:
        read_scorefile(path)
    message = str(err.value)
    assert f"{path} line 2" in message and "space-delimited" in message
    assert "tab-separated" in message
    # a tab-separated column line over space-delimited rows
    path.write_text("chr_name\tchr_position\teffect_allele\teffect_weight\n1 5 A 0.1\n")
    with pytest.raises(ScoringFileError, match=r"line 2 .*space-delimited"):
        read_scorefile(path)


def test_f18_extra_or_missing_field_on_a_row(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text(
        "#pgs_id=X\nchr_name\tchr_position\teffect_allele\teffect_weight\n"
        "1\t5\tA\t0.1\n1\t6\tA\t0.1\t9\n"
    )
    with pytest.raises(ScoringFileError) as err:
        read_scorefile(path)
    message = str(err.value)
    assert f"{path} line 4" in message and "5 tab-separated fields" in message
    assert "line 2" in message and "4" in message
    # A short row reads its missing trailing fields as empty (the PGS Catalog's harmonized
    # files leave out an empty hm_inferOtherAllele): here the effect allele, named as such.
    path.write_text("chr_name\tchr_position\teffect_allele\teffect_weight\n1\t5\n")
    with pytest.raises(ScoringFileError, match=r"line 2: row cannot be scored \(empty effect"):
        read_scorefile(path)


def test_short_rows_of_harmonized_files_are_read(shared_data):
    """Real harmonized files end rows early when hm_inferOtherAllele is empty."""
    path = shared_data / "scorefiles/pgscatalog_utils/test_scoring_file_hmpos_38_2.txt.gz"
    sf = read_scorefile(path)
    assert sf.harmonized and sf.n_variants > 0 and sf.genome_build == "GRCh38"


def test_f18_directory_empty_and_not_text(tmp_path):
    with pytest.raises(ScoringFileError, match="is a directory, not a scoring file"):
        read_scorefile(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ScoringFileError, match=r"is empty \(0 bytes\)"):
        read_scorefile(empty)
    empty_gz = tmp_path / "empty.txt.gz"
    empty_gz.write_bytes(gzip.compress(b""))
    with pytest.raises(ScoringFileError, match="is empty"):
        read_scorefile(empty_gz)
    only_meta = tmp_path / "meta.txt"
    only_meta.write_text("#pgs_id=X\n#genome_build=GRCh38\n")
    with pytest.raises(ScoringFileError, match="no column header line"):
        read_scorefile(only_meta)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ScoringFileError, match="not a text file"):
        read_scorefile(binary)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(COLUMNS.encode() + b"1\t5\tA\tG\t0.1\n1\t6\tA\tG\t0.1 \xe9\n")
    with pytest.raises(ScoringFileError, match=r"line 3 .*not UTF-8"):
        read_scorefile(latin1)
    zipped = tmp_path / "w.zip"
    zipped.write_bytes(b"PK\x03\x04" + bytes(40))
    with pytest.raises(ScoringFileError, match="zip"):
        read_scorefile(zipped)


def test_f18_corrupt_gzip_is_named(tmp_path):
    """zlib's own error escaped as a traceback before."""
    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 20)
    with pytest.raises(ScoringFileError, match="gzip"):
        read_scorefile(bad)
    data = bytearray(gzip.compress((COLUMNS + "1\t5\tA\tG\t0.1\n" * 500).encode()))
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ScoringFileError, match="gzip"):
        read_scorefile(bad)


def test_bom_and_crlf_are_read(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(
        b"\xef\xbb\xbf#pgs_id=X\r\n#genome_build=GRCh38\r\n"
        + COLUMNS.replace("\n", "\r\n").encode()
        + b"1\t5\tA\tG\t0.1\r\n"
    )
    sf = read_scorefile(path)
    assert sf.score_ids == ("X",) and sf.genome_build == "GRCh38"
    assert sf.variants["other_allele"].tolist() == ["G"] and sf.weights[0, 0] == 0.1
    path.write_bytes(b"\xef\xbb\xbf" + COLUMNS.encode() + b"1\t5\tA\tG\t0.1\n")
    assert read_scorefile(path).variants["line"].tolist() == [2]


def test_f18_metadata_line_among_the_rows(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text(COLUMNS + "1\t5\tA\tG\t0.1\n#genome_build=GRCh38\n1\t6\tA\tG\t0.1\n")
    with pytest.raises(ScoringFileError, match=r"line 3: a '#' metadata line after the column"):
        read_scorefile(path)


def test_cr_line_ends_with_blank_lines_before_the_header(tmp_path):
    """Old-Mac line ends (CR alone): the table starts at the line Python's reader found
    (pandas counted one header line more when a blank line came first, and took the
    first row for the column header line). Found by tests/test_fuzz_scorefile.py."""
    path = tmp_path / "cr.txt"
    # (the short row, its other_allele left out, takes the table to the pandas reader)
    columns = "chr_name\tchr_position\teffect_allele\teffect_weight\tother_allele\n"
    text = "\n#genome_build=GRCh37\n" + columns + "1\t5\tA\t0.1\tG\n1\t6\tC\t0.2\n"
    path.write_bytes(text.replace("\n", "\r").encode())
    sf = read_scorefile(path)
    assert sf.variants["line"].tolist() == [4, 5] and sf.genome_build == "GRCh37"
    assert sf.variants["other_allele"].tolist() == ["G", ""]
    assert sf.variants["pos"].tolist() == [5, 6]


def test_f18_missing_column_header_line_is_named(tmp_path):
    """A file whose column header line was deleted: the first row is not column names."""
    path = tmp_path / "h.txt"
    path.write_text("#pgs_id=X\n1\t5\tA\tG\t0.1\n1\t6\tC\tT\t0.2\n")
    with pytest.raises(ScoringFileError) as err:
        read_scorefile(path)
    message = str(err.value)
    assert "line 2, the column header line" in message and "looks like a variant row" in message


def test_f18_value_under_no_column_name_and_no_rows(tmp_path):
    path = tmp_path / "u.txt"
    path.write_text("chr_name\tchr_position\teffect_allele\teffect_weight\t\n1\t5\tA\t0.1\tx\n")
    with pytest.raises(ScoringFileError, match=r"line 2: field 5 holds 'x' but the column header"):
        read_scorefile(path)
    path.write_text("#pgs_id=X\n" + COLUMNS + "\n\n")
    with pytest.raises(
        ScoringFileError, match=r"no variant rows after the column header line \(line 2\)"
    ):
        read_scorefile(path)


def test_f18_a_vcf_given_as_the_scoring_file(tmp_path):
    path = tmp_path / "g.vcf"
    path.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    with pytest.raises(ScoringFileError, match=r"is a VCF \(genotypes\), not a scoring file"):
        read_scorefile(path)


def test_f18_a_bcf_given_as_the_scoring_file(tmp_path):
    import pysam

    vcf = tmp_path / "g.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\n1\t5\t.\tA\tG\t.\t.\t.\tGT\t0/1\n"
    )
    bcf = tmp_path / "g.bcf"
    with (
        pysam.VariantFile(str(vcf)) as src,
        pysam.VariantFile(str(bcf), "wb", header=src.header) as out,
    ):
        for record in src:
            out.write(record)
    with pytest.raises(ScoringFileError, match=r"is a BCF \(genotypes\), not a scoring file"):
        read_scorefile(bcf)


def test_f13_or_weights_scored_as_log_and_noted_in_provenance(tmp_path):
    """End to end: odds ratios give the scores of their logs, and the conversion is in the
    provenance (prs.score records every PRSWarning)."""
    import prs
    from prs.example import example_paths

    paths = example_paths()
    with gzip.open(paths.scorefile, "rt") as fh:
        lines = fh.read().splitlines()
    columns = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    col = lines[columns].split("\t").index("effect_weight")
    out = []
    for i, line in enumerate(lines):
        if line.startswith("#weight_type="):
            line = "#weight_type=OR"
        elif i > columns:
            fields = line.split("\t")
            fields[col] = repr(float(np.exp(float(fields[col]))))
            line = "\t".join(fields)
        out.append(line)
    or_file = tmp_path / "or.txt"
    or_file.write_text("\n".join(out) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logs = prs.score(paths.vcf, paths.scorefile)
        ratios = prs.score(paths.vcf, or_file)
    np.testing.assert_allclose(ratios.sums, logs.sums, rtol=1e-12, atol=1e-12)
    notes = [w for w in ratios.provenance["warnings"] if w["category"] == "ScoringFileWarning"]
    assert any("scored as their natural log" in w["message"] for w in notes)


def test_f13_log_weights_labelled_or_are_refused(tmp_path):
    """Small positive weights (log ratios of risk alleles) under weight_type=OR: their log
    would be far off (ln 0.05 = -3), so the file is refused, not converted."""
    rows = "".join(f"1\t{k}\tA\tG\t{w}\n" for k, w in enumerate([0.05, 0.12, 0.02, 0.3], 5))
    path = _v2(tmp_path, {"pgs_id": "X", "weight_type": "OR"}, rows)
    with pytest.raises(ScoringFileError, match=r"look like log ratios.*median is 0\.085"):
        read_scorefile(path)
