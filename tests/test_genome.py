"""prs.genome: one table of build names shared by scoring files, the catalog and VCF headers."""

from __future__ import annotations

import doctest

import pytest

import prs.genome
from prs.errors import CatalogError
from prs.genome import (
    BUILD_ALIASES,
    build_from_contig_lengths,
    build_from_reference_name,
    build_not_reported,
    canonical_build,
    detect_build,
)
from prs.weights import read_scorefile
from prs.weights.catalog import accessions as catalog


def test_doctests():
    failures, tried = doctest.testmod(prs.genome)
    assert tried > 0 and failures == 0


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("GRCh37", "GRCh37"), ("hg19", "GRCh37"), ("b37", "GRCh37"), ("37", "GRCh37"),
     ("GRCh38", "GRCh38"), ("HG38", "GRCh38"), ("b38", "GRCh38"), (" 38 ", "GRCh38"),
     ("NCBI36", "NCBI36"), ("hg18", "NCBI36"), ("GRCh36", "NCBI36"), ("b36", "NCBI36"),
     ("NCBI35", "NCBI35"), ("hg17", "NCBI35"),
     ("NR", None), ("", None), (None, None), ("T2T-CHM13", None), ("hg37", None)],
)  # fmt: skip
def test_canonical_build(given, canonical):
    assert canonical_build(given) == canonical


def test_alias_table_is_lower_case_and_maps_to_four_builds():
    assert all(key == key.lower().strip() for key in BUILD_ALIASES)
    assert set(BUILD_ALIASES.values()) == {"GRCh38", "GRCh37", "NCBI36", "NCBI35"}
    # every canonical name reads as itself
    assert all(canonical_build(value) == value for value in BUILD_ALIASES.values())


def test_not_reported_is_not_an_unknown_build():
    assert build_not_reported("NR") and build_not_reported(" n/a ") and build_not_reported("")
    assert not build_not_reported("T2T") and not build_not_reported("GRCh37")


@pytest.mark.parametrize(
    ("reference", "build"),
    [("file:///ref/human_g1k_v37.fasta", "GRCh37"), ("hs37d5.fa.gz", "GRCh37"),
     ("/data/assembly19_b37.fasta", "GRCh37"), ("GRCh38_analysis_set.fa", "GRCh38"),
     ("hs38DH.fa", "GRCh38"), ("UCSC hg19", "GRCh37"), ("ftp://x/hg38.fa", "GRCh38"),
     ("chm13v2.0.fa", None), ("", None), (None, None)],
)  # fmt: skip
def test_build_from_reference_name(reference, build):
    assert build_from_reference_name(reference) == build


def test_build_from_contig_lengths_needs_one_build():
    assert build_from_contig_lengths({"chr1": 248956422, "chrX": 156040895}) == "GRCh38"
    assert build_from_contig_lengths({"1": 249250621}) == "GRCh37"
    assert build_from_contig_lengths({"1": 249250621, "2": 242193529}) is None
    assert build_from_contig_lengths({"1": None, "7": 159345973}) is None
    # lengths win over the reference name; the name decides when lengths do not
    assert detect_build({"1": 248956422}, "hg19.fa") == "GRCh38"
    assert detect_build({"1": None}, "hg19.fa") == "GRCh37"


def test_scoring_file_and_catalog_read_the_same_aliases(tmp_path):
    """Before prs.genome, a scoring file refused genome_build=37 (the catalog took it) and
    the catalog refused b37 (scoring files took it)."""
    for name in ("37", "b37", "hg19"):
        path = tmp_path / f"{name}.txt"
        path.write_text(
            f"#pgs_id=X\n#genome_build={name}\n"
            "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
            "1\t5\tA\tG\t0.1\n"
        )
        assert read_scorefile(path).genome_build == "GRCh37"
        assert catalog._normalise_build(name) == "GRCh37"
    with pytest.raises(CatalogError, match="genome build 'hg18' is not one the PGS Catalog"):
        catalog._normalise_build("hg18")
