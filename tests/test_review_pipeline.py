"""Review fixes that need src/prs/scoring/pipeline.py (notes/pipeline-fixes.patch): the
warning of variants missing everywhere under missing="scorefile-freq", min_r2 decided over
the whole run when it is scored in pieces, and a scoring file that --drop-unscorable
emptied. Expected values are computed here from the generated calls."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import prs
from prs.errors import MatchError, ScoreError, ScoreWarning
from tests.builders import write_alt_effect_case, write_scorefile, write_vcf, write_vcf_text

# --------------------------------------------------------------------------------------
# Finding 4: "missing in every sample" says what was imputed


def test_all_missing_under_scorefile_freq_names_the_files_frequency(tmp_path):
    vcf, sf = write_alt_effect_case(
        tmp_path,
        ["A", "B"],
        [("1", 100, "v1", "A", "G", ["./.", "./."]), ("1", 200, "v2", "C", "T", ["0/1", "1/1"])],
        [1.0, 1.0],
        frequencies=[0.3, 0.3],
        header={"pgs_id": "X", "genome_build": "GRCh37"},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = prs.score(vcf, sf, genome_build="GRCh37", missing="scorefile-freq")
    np.testing.assert_allclose(result.sums[:, 0], [1 + 2 * 0.3, 2 + 2 * 0.3])
    (text,) = [str(w.message) for w in caught if "missing in every sample" in str(w.message)]
    assert "scoring file's effect-allele frequency" in text
    assert "at frequency 0.5, as PLINK 2 does" not in text


# --------------------------------------------------------------------------------------
# Finding 5: min_r2 in pieces decides as one piece


def _r2_cohort(tmp_path, *, r2_on=("1",)):
    """chr1 and chr2, 10 records each; R2 (IMPUTED) on the chromosomes ``r2_on`` only:
    0.2 on their first 3 records, 0.9 on the others. Returns the VCF, the scoring file,
    the ALT counts (records x samples) and the weights."""
    rng = np.random.default_rng(1)
    samples = [f"S{i}" for i in range(8)]
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1>",
        "##contig=<ID=2>",
        '##INFO=<ID=R2,Number=1,Type=Float,Description="r2">',
        '##INFO=<ID=IMPUTED,Number=0,Type=Flag,Description="imp">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(samples),
    ]
    lines, rows, alt, low = [], [], [], []
    for chrom in ("1", "2"):
        for k in range(10):
            pos = 1000 + 100 * k
            info = f"R2={0.2 if k < 3 else 0.9};IMPUTED" if chrom in r2_on else "."
            alleles = rng.integers(0, 2, (len(samples), 2))
            cells = [f"{a}/{b}" for a, b in alleles]
            lines.append("\t".join([chrom, str(pos), f"rs{chrom}{k}", "A", "G", ".", "."]))
            lines[-1] += "\t" + "\t".join([info, "GT", *cells])
            rows.append((chrom, pos, "G", "A", round(float(rng.normal()), 4)))
            alt.append(alleles.sum(axis=1))
            low.append(chrom in r2_on and k < 3)
    vcf = write_vcf_text(tmp_path / "c.vcf.gz", "\n".join(header + lines) + "\n")
    sf = write_scorefile(tmp_path / "s.txt", rows, header={"pgs_id": "X", "genome_build": "GRCh38"})
    return vcf, sf, np.array(alt, dtype=float), np.array([r[4] for r in rows]), np.array(low)


def _quiet_score(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prs.score(*args, **kwargs)


def test_min_r2_in_pieces_equals_one_piece(tmp_path):
    """chr2 without any R2: one piece scores 17/20 (3 low-R2 rows out); in pieces of one
    chromosome it was refused. Both now score the hand sum of the kept rows."""
    vcf, sf, alt, weights, low = _r2_cohort(tmp_path)
    kwargs = {"genome_build": "GRCh38", "min_overlap": 0.5, "min_r2": 0.5}
    whole = _quiet_score(vcf, sf, stream_rows=None, **kwargs)
    pieces = _quiet_score(vcf, sf, stream_rows=10, **kwargs)
    assert pieces.provenance["execution"]["pieces"] == 2
    expected = weights[~low] @ alt[~low]
    for result in (whole, pieces):
        np.testing.assert_allclose(result.sums[:, 0], expected, rtol=1e-12)
        counts = result.match_report.counts
        assert counts.loc["X", ["matched", "excluded_low_r2", "n_rows"]].tolist() == [17, 3, 20]
        assert counts.loc["X", "matched_r2_unknown"] == 10  # chr2's rows


def test_min_r2_without_any_r2_is_refused_in_pieces_too(tmp_path):
    vcf, sf, *_ = _r2_cohort(tmp_path, r2_on=())
    for stream_rows in (None, 10):
        with pytest.raises(ScoreError, match="give no imputation quality"):
            _quiet_score(vcf, sf, genome_build="GRCh38", min_r2=0.5, stream_rows=stream_rows)


def test_min_r2_with_skip_counts_rows_once(tmp_path):
    """on_unmatched="skip" joins the counts itself: matched_r2_unknown is not a row."""
    vcf, sf, *_ = _r2_cohort(tmp_path)
    result = _quiet_score(
        vcf, sf, genome_build="GRCh38", min_r2=0.5, min_overlap=0.5, on_unmatched="skip"
    )
    counts = result.match_report.counts
    assert counts.loc["X", ["n_rows", "matched_r2_unknown"]].tolist() == [20, 10]


# --------------------------------------------------------------------------------------
# Finding 6: a scoring file emptied by drop_unscorable


@pytest.fixture
def emptied(tmp_path):
    vcf = write_vcf(tmp_path / "c.vcf.gz", ["A", "B"], [("1", 100, "v1", "A", "G", ["0/1", "1/1"])])
    good = write_scorefile(tmp_path / "g.txt", [("1", 100, "G", "A", 1.0)], header={"pgs_id": "G"})
    hla = tmp_path / "hla.txt"
    hla.write_text(
        "#pgs_id=H\nrsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight"
        "\tis_haplotype\nHLA-A*01\t6\t100\tP\tA\t1.0\tTrue\n"
    )
    return vcf, good, hla


@pytest.mark.parametrize("stream_rows", [None, 1])
def test_a_file_emptied_by_drop_unscorable_is_named(emptied, stream_rows):
    vcf, good, hla = emptied
    with pytest.raises(MatchError, match=r"hla\.txt: score H matched 0 of 0 rows"):
        _quiet_score(vcf, [good, hla], drop_unscorable=True, stream_rows=stream_rows)


@pytest.mark.parametrize("stream_rows", [None, 1])
def test_a_file_emptied_by_drop_unscorable_is_skipped(emptied, stream_rows):
    vcf, good, hla = emptied
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = prs.score(
            vcf, [good, hla], drop_unscorable=True, on_unmatched="skip", stream_rows=stream_rows
        )
    assert result.score_ids == ("G",)
    np.testing.assert_array_equal(result.sums[:, 0], [1.0, 2.0])  # G = ALT count x 1.0
    (entry,) = result.provenance["skipped_scores"]
    assert entry["score"] == "H" and entry["scorefile"].endswith("hla.txt")
    assert any(
        issubclass(w.category, ScoreWarning) and "score H skipped" in str(w.message) for w in caught
    )
