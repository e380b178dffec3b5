"""Issue 11 item 1, score side: a scoring file's trait metadata travels from its header into
``ScoringFile``, ``ScoreResult.score_info``, ``scores.tsv``, provenance, and back into the
calibrate stage's :class:`~prs.calibrate._inputs.ScoreColumn`."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

import prs
from prs.calibrate._inputs import read_scores
from prs.cli import main
from prs.errors import CalibrationError
from prs.example import example_paths
from prs.scoring import SCORE_COLUMNS, TRAIT_COLUMNS
from prs.weights.scorefile import TraitInfo, read_scorefile
from tests.builders import write_alt_effect_case, write_scorefile


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (weight_type notes, variants_number, ...)
        return read_scorefile(path, **kw)


# --- ScoringFile: real headers ------------------------------------------------------------


def test_format_2_harmonized_header(shared_data):
    sf = _read(shared_data / "pygscatalog/scorefiles/PGS000001_hmPOS_GRCh38.txt.gz")
    assert sf.harmonized
    assert sf.trait_reported == "Breast cancer"
    assert sf.trait_mapped == "breast carcinoma"
    assert sf.trait_efo == ("EFO_0000305",)
    assert sf.weight_type is None  # the header says NR: not reported
    assert sf.development_ancestry is None  # format 2.0 headers do not carry it
    assert sf.trait_info.pgp_id == "PGP000001" and sf.trait_info.pgs_name == "PRS77_BC"


def test_format_2_several_ontology_ids_and_a_weight_type(shared_data):
    # PGS000781's header lists two IDs with ",": #trait_efo=EFO_0005543,EFO_0003833
    sf = _read(shared_data / "scorefiles/pgs-calc/PGS000781.txt.gz")
    assert sf.trait_efo == ("EFO_0005543", "EFO_0003833")
    assert sf.trait_mapped == "glioma,brain neoplasm"
    assert sf.weight_type == "log(OR)"
    beta = _read(
        shared_data / "pygscatalog/scorefiles/PGS004255_hmPOS_GRCh38.txt.gz", drop_unscorable=True
    )
    assert beta.weight_type == "beta" and beta.trait_efo == ("EFO_0000685",)


def test_format_1_header(shared_data):
    # "# Reported Trait = Breast Cancer": no mapped trait or ontology ID in format 1.0
    sf = _read(shared_data / "scorefiles/pgs-calc/PGS000001.txt.gz")
    assert sf.header["trait_reported"] == "Breast Cancer"
    assert sf.trait_reported == "Breast Cancer"
    assert sf.trait_efo == () and sf.trait_mapped is None and sf.weight_type is None
    megsap = _read(shared_data / "scorefiles/megsap/PGS000004.txt")
    assert megsap.trait_reported == "Breast Cancer" and megsap.trait_info.pgp_id == "PGP000002"


def test_format_1_mapped_trait_keys(tmp_path):
    path = tmp_path / "v1.txt"
    path.write_text(
        "### PGS CATALOG SCORING FILE\n# PGS ID = PGS000099\n# Reported Trait = Prostate cancer\n"
        "# Mapped Trait(s) (EFO label) = prostate carcinoma\n"
        "# Mapped Trait(s) (Ontology ID) = EFO_0001663|MONDO_0008315\n"
        "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
        "1\t100\tA\tG\t0.1\n"
    )
    sf = _read(path)
    assert sf.trait_reported == "Prostate cancer" and sf.trait_mapped == "prostate carcinoma"
    assert sf.trait_efo == ("EFO_0001663", "MONDO_0008315")


def test_custom_tables_have_no_trait(shared_data, tmp_path):
    sf = _read(shared_data / "pgsc_calc/scorefiles/multiscore.txt")
    assert len(sf.score_ids) == 2
    assert sf.trait_info == TraitInfo()
    assert sf.trait_reported is None and sf.trait_efo == () and sf.weight_type is None
    plain = write_scorefile(tmp_path / "w.txt", [("1", 100, "A", "G", 0.1)])
    assert _read(plain).trait_info == TraitInfo()


def test_header_says_development_ancestry_when_given(tmp_path):
    path = write_scorefile(
        tmp_path / "w.txt",
        [("1", 100, "A", "G", 0.1)],
        header={"pgs_id": "X1", "trait_efo": " | EFO_1|EFO_1 ", "development_ancestry": "EUR"},
    )
    sf = _read(path)
    assert sf.development_ancestry == "EUR"
    assert sf.trait_efo == ("EFO_1",)  # blanks dropped, a repeat once


# --- ScoreResult, scores.tsv, provenance -----------------------------------------------------


def _two_files(tmp_path):
    """A catalog-style file with trait metadata and a custom table without, on one VCF."""
    vcf, catalog = write_alt_effect_case(
        tmp_path,
        ["s1", "s2"],
        [("1", 100, "rs1", "G", "A", ["0/1", "1/1"]), ("1", 200, "rs2", "C", "T", ["0/0", "0/1"])],
        [0.2, -0.1],
        scorefile_name="bc.txt",
        header={
            "pgs_id": "PGS999001",
            "trait_reported": "Breast cancer",
            "trait_mapped": "breast carcinoma",
            "trait_efo": "EFO_0000305,MONDO_0007254",
            "weight_type": "beta",
            "development_ancestry": "EUR",
            "genome_build": "GRCh37",
        },
    )
    custom = write_scorefile(
        tmp_path / "custom.txt", [("1", 100, "A", "G", 1.0), ("1", 200, "T", "C", 1.0)]
    )
    return vcf, catalog, custom


def test_score_result_carries_each_scores_trait(tmp_path):
    vcf, catalog, custom = _two_files(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = prs.score(vcf, [catalog, custom], genome_build="GRCh37")
    assert result.score_ids == ("PGS999001", "custom")
    info = result.score_info["PGS999001"]
    assert info.trait_efo == ("EFO_0000305", "MONDO_0007254")
    assert info.trait_reported == "Breast cancer" and info.weight_type == "beta"
    assert result.score_info["custom"] == TraitInfo()
    frame = result.to_frame()
    assert list(frame.columns) == list(SCORE_COLUMNS)
    assert set(TRAIT_COLUMNS) <= set(frame.columns)
    bc = frame[frame["score"] == "PGS999001"]
    assert bc["trait_efo"].eq("EFO_0000305|MONDO_0007254").all()
    assert bc["trait_reported"].eq("Breast cancer").all() and bc["weight_type"].eq("beta").all()
    assert frame.loc[frame["score"] == "custom", list(TRAIT_COLUMNS)].isna().all().all()
    # the development ancestry travels to scores.tsv, read_scores and categorise's statement
    assert bc["development_ancestry"].eq("EUR").all()
    col = read_scores(frame, score_id="PGS999001")
    assert col.development_ancestry == "EUR"
    assert col.table_info()["development_ancestry"] == "EUR"
    assert read_scores(frame, score_id="custom").development_ancestry is None
    files = {f["scores"][0]: f for f in result.provenance["scorefiles"]}
    assert files["PGS999001"]["trait_efo"] == ["EFO_0000305", "MONDO_0007254"]
    assert files["PGS999001"]["trait_mapped"] == "breast carcinoma"
    assert files["custom"]["trait_reported"] is None and files["custom"]["trait_efo"] == []


def test_prs_score_cli_writes_the_trait_and_read_scores_returns_it(tmp_path, capsys):
    paths = example_paths()
    out = tmp_path / "out"
    args = ["score", "--vcf", str(paths.vcf), "--scorefile", str(paths.scorefile)]
    assert main([*args, "--out", str(out)]) == 0
    assert "trait: Breast cancer (synthetic example) [EFO_0000305]" in capsys.readouterr().err
    table = pd.read_csv(out / "scores.tsv", sep="\t", dtype=str)
    assert list(table.columns) == list(SCORE_COLUMNS)
    assert table["trait_efo"].eq("EFO_0000305").all()
    assert table["trait_reported"].eq("Breast cancer (synthetic example)").all()
    assert table["weight_type"].eq("log(OR)").all()
    prov = json.loads((out / "provenance.json").read_text())
    entry = prov["scorefiles"][0]
    assert entry["trait_efo"] == ["EFO_0000305"] and entry["weight_type"] == "log(OR)"
    assert entry["trait_mapped"] == "breast carcinoma" and entry["development_ancestry"] is None

    col = read_scores(out / "scores.tsv")
    assert col.layout == "prs-long" and col.score_id == "EXAMPLE_BC01"
    assert col.trait_efo == ("EFO_0000305",)
    assert col.trait_reported == "Breast cancer (synthetic example)"
    assert col.weight_type == "log(OR)"
    assert col.table_info()["trait_efo"] == ["EFO_0000305"]
    assert len(col.values) == 200


def test_read_scores_picks_the_chosen_scores_trait(tmp_path):
    vcf, catalog, custom = _two_files(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = prs.score(vcf, [catalog, custom], genome_build="GRCh37")
    path = tmp_path / "scores.tsv"
    result.to_frame().to_csv(path, sep="\t", index=False)
    bc = read_scores(path, score_id="PGS999001")
    assert bc.trait_efo == ("EFO_0000305", "MONDO_0007254") and bc.weight_type == "beta"
    other = read_scores(path, score_id="custom")
    assert other.trait_efo == () and other.trait_reported is None and other.weight_type is None
    # the same from the DataFrame (the API route)
    assert read_scores(result.to_frame(), score_id="PGS999001").trait_reported == "Breast cancer"


def test_trait_columns_are_never_score_columns(tmp_path):
    # a wide table carrying one score's trait columns still has one score column
    wide = tmp_path / "wide.tsv"
    wide.write_text(
        "sample_id\tPGS1\ttrait_reported\ttrait_efo\tweight_type\n"
        "a\t0.5\tBreast cancer\tEFO_0000305\tbeta\nb\t0.7\tBreast cancer\tEFO_0000305\tbeta\n"
    )
    col = read_scores(wide)
    assert col.layout == "prs-wide" and col.score_id == "PGS1"
    assert col.values.tolist() == [0.5, 0.7] and col.trait_efo == ("EFO_0000305",)
    # tables without the columns (older scores.tsv, other tools) read as before
    old = tmp_path / "old.tsv"
    old.write_text("sample_id\tscore\tSUM\na\tS\t1.0\nb\tS\t2.0\n")
    col = read_scores(old)
    assert col.trait_reported is None and col.trait_efo == () and col.weight_type is None


def test_a_score_with_two_traits_is_refused(tmp_path):
    mixed = tmp_path / "mixed.tsv"
    mixed.write_text(
        "sample_id\tscore\tSUM\ttrait_reported\ttrait_efo\tweight_type\n"
        "a\tS\t1.0\tBreast cancer\tEFO_0000305\tbeta\n"
        "b\tS\t2.0\tStanding height\tEFO_0004339\tbeta\n"
    )
    with pytest.raises(CalibrationError, match="2 different trait_reported values"):
        read_scores(mixed)
