"""No silent fallbacks (issue 16 item 3): a score that matches too little stops the run or,
with ``on_unmatched="skip"``, is left out with its reason while the others are scored; a
dosage field the VCF does not declare is an error unless hard calls are allowed, and then
recorded per score."""

from __future__ import annotations

import gzip
import subprocess
import warnings

import numpy as np
import pytest

import prs
from prs.errors import GenotypeFileError, MatchError, ScoreError, ScoreWarning
from tests.builders import write_scorefile, write_vcf, write_vcf_text

TOTALS = ("sums", "allele_ct", "denom", "named_dosage", "missing_ct")
NOT_GT = ("##FORMAT=<ID=DS", "##FORMAT=<ID=GP")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A GT-only VCF on chromosomes 1 and 2; a scoring file that matches all of it, one
    that matches nothing (chromosome 9), one of two scores where score LOW matches 1 row
    in 4."""
    tmp = tmp_path_factory.mktemp("unmatched")
    rng = np.random.default_rng(5)
    samples = [f"p{i}" for i in range(12)]
    records, rows, alt_counts = [], [], []
    for k in range(20):
        chrom = "1" if k < 10 else "2"
        pos = 10_000 + 100 * k
        alleles = rng.integers(0, 2, (len(samples), 2))
        cells = [f"{a}/{b}" for a, b in alleles]
        alt_counts.append(alleles.sum(axis=1))
        records.append((chrom, pos, f"v{k}", "A", "G", cells))
        rows.append((chrom, pos, "G", "A", round(float(rng.normal()), 6)))
    declared = write_vcf(tmp / "declared.vcf.gz", samples, records)
    # the same VCF, its header declaring GT only
    text = gzip.decompress(declared.read_bytes()).decode()
    gt_only = "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith(NOT_GT)
    )
    vcf = write_vcf_text(tmp / "gt.vcf.gz", gt_only)
    good = write_scorefile(tmp / "good.txt", rows, header={"pgs_id": "GOOD"})
    none = write_scorefile(
        tmp / "none.txt",
        [("9", 500 + k, "G", "A", 0.1) for k in range(8)],
        header={"pgs_id": "NONE"},
    )
    # HIGH weights every row; LOW weights 2 rows on the VCF and 6 rows it lacks.
    mixed_rows = [(*r, 0.5 if k < 2 else "") for k, r in enumerate(rows)]
    mixed_rows += [("9", 900 + k, "G", "A", "", 0.3) for k in range(6)]
    mixed = write_scorefile(
        tmp / "mixed.txt",
        mixed_rows,
        columns=("chr_name", "chr_position", "effect_allele", "other_allele", "HIGH", "LOW"),
    )
    return {
        "vcf": vcf,
        "declared": declared,
        "good": good,
        "none": none,
        "mixed": mixed,
        "samples": samples,
        "rows": rows,
        "alt_counts": np.array(alt_counts, dtype=float),  # variants x samples (G = ALT)
    }


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prs.score(*args, **kwargs)


def test_an_unmatched_score_is_an_error_by_default(cohort):
    """Default on_unmatched='error': the run stops, naming the file and the score."""
    with pytest.raises(MatchError, match=r"none\.txt: score NONE matched 0 of 8 rows"):
        quiet(cohort["vcf"], [cohort["good"], cohort["none"]], min_overlap=0.0)


def test_skip_leaves_the_score_out_and_keeps_the_others(cohort):
    """on_unmatched='skip': the other files' scores are those of a run without the
    unmatched file (bit for bit), the skip is in the provenance, the match summary (with
    its reason) and a warning."""
    alone = quiet(cohort["vcf"], cohort["good"])
    with pytest.warns(ScoreWarning, match="score NONE skipped"):
        both = prs.score(cohort["vcf"], [cohort["none"], cohort["good"]], on_unmatched="skip")
    assert both.score_ids == ("GOOD",)
    for name in TOTALS:
        np.testing.assert_array_equal(getattr(both, name), getattr(alone, name), err_msg=name)
    (entry,) = both.provenance["skipped_scores"]
    assert entry["score"] == "NONE" and entry["scorefile"].endswith("none.txt")
    assert "matched 0 of 8 rows" in entry["reason"]
    counts = both.match_report.counts
    assert list(counts.index) == ["NONE", "GOOD"]
    assert counts.loc["NONE", "skipped"] and not counts.loc["GOOD", "skipped"]
    assert "matched 0 of 8 rows" in counts.loc["NONE", "skip_reason"]
    assert counts.loc["GOOD", "skip_reason"] == ""
    assert both.provenance["options"]["on_unmatched"] == "skip"
    frame = both.to_frame()
    assert "score" in frame.columns and set(frame["score"]) == {"GOOD"}


def test_skip_one_score_of_a_file_below_the_rate(cohort):
    """A file of two scores, one below min_overlap: that one is skipped, the other scored;
    its sums are the weighted sums of its rows, computed here from the generated calls
    (ALT count x weight: G, the effect allele, is the ALT)."""
    result = quiet(cohort["vcf"], cohort["mixed"], on_unmatched="skip", min_overlap=0.5)
    assert result.score_ids == ("HIGH",)
    assert result.match_report.counts.loc["LOW", "matched"] == 2
    assert "below the minimum 50%" in result.provenance["skipped_scores"][0]["reason"]
    weights = np.array([r[4] for r in cohort["rows"]])
    expected = weights @ cohort["alt_counts"]
    np.testing.assert_allclose(result.sums[:, 0], expected, rtol=1e-12)
    assert np.abs(expected).sum() > 0
    # with a lower minimum both are scored
    both = quiet(cohort["vcf"], cohort["mixed"], on_unmatched="skip", min_overlap=0.2)
    assert both.score_ids == ("HIGH", "LOW") and both.provenance["skipped_scores"] == []


def test_every_score_skipped_is_an_error(cohort):
    with pytest.raises(MatchError, match="left no score"):
        quiet(cohort["vcf"], cohort["none"], on_unmatched="skip")


def test_skip_in_pieces(cohort):
    """Run in pieces (one chromosome each), the skip is decided on the whole score's rate."""
    one = quiet(cohort["vcf"], [cohort["good"], cohort["mixed"]], on_unmatched="skip")
    pieces = quiet(
        cohort["vcf"], [cohort["good"], cohort["mixed"]], on_unmatched="skip", stream_rows=12
    )
    assert pieces.provenance["execution"]["pieces"] > 1
    assert pieces.score_ids == one.score_ids == ("GOOD", "HIGH")
    assert pieces.provenance["skipped_scores"] == one.provenance["skipped_scores"]
    np.testing.assert_allclose(pieces.sums, one.sums, rtol=1e-12)


def test_bad_on_unmatched_value(cohort):
    with pytest.raises(ScoreError, match="on_unmatched must be one of"):
        prs.score(cohort["vcf"], cohort["good"], on_unmatched="ignore")


def test_a_dosage_field_the_vcf_lacks_is_an_error(cohort):
    """dosage='DS' on a VCF declaring no FORMAT/DS: an error naming the file and field."""
    with pytest.raises(GenotypeFileError, match=r"gt\.vcf\.gz: dosage='DS' .*no FORMAT/DS field"):
        quiet(cohort["vcf"], cohort["good"], dosage="DS")


@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_gt_fallback_when_allowed_is_recorded_per_score(cohort, engine):
    """allow_gt_fallback=True: the hard calls are scored (the GT run's scores) and the
    provenance says, per score, how many of its rows were read from GT."""
    gt = quiet(cohort["vcf"], [cohort["good"], cohort["mixed"]], engine=engine, min_overlap=0.2)
    ds = quiet(
        cohort["vcf"],
        [cohort["good"], cohort["mixed"]],
        dosage="DS",
        allow_gt_fallback=True,
        engine=engine,
        min_overlap=0.2,
    )
    np.testing.assert_array_equal(ds.sums, gt.sums)
    fallback = ds.provenance["dosage_fallback"]
    assert fallback["field"] == "DS"
    assert fallback["files_without_field"] == [str(cohort["vcf"])]
    assert fallback["rows_read_from_GT"] == {"GOOD": 20, "HIGH": 20, "LOW": 2}
    assert gt.provenance["dosage_fallback"] is None


@pytest.mark.parametrize("engine", ["fast", "checked"])
@pytest.mark.parametrize("chunk_size", [1, 7, 1024])
def test_records_lacking_a_declared_field_are_counted_as_plink2_reads_them(
    cohort, engine, chunk_size
):
    """A header that declares DS over records that lack it: each record's GT is read (as
    PLINK 2 does), counted once per record in the provenance (20 records), no error and
    no per-file fallback."""
    kwargs = dict(engine=engine, chunk_size=chunk_size)
    result = quiet(cohort["declared"], cohort["good"], dosage="DS", **kwargs)
    gt = quiet(cohort["declared"], cohort["good"], **kwargs)
    np.testing.assert_array_equal(result.sums, gt.sums)
    assert result.provenance["counts"]["records_without_dosage_field_read_from_GT"] == 20
    assert result.provenance["dosage_fallback"] is None


@pytest.mark.plink2
def test_ds_from_a_bed_is_an_error_unless_allowed(plink2, cohort, tmp_path):
    """A PLINK 1 .bed (made by PLINK 2 from the VCF) stores hard calls only: dosage='DS'
    is an error naming it; allowed, the scores are the GT scores, recorded per score."""
    prefix = tmp_path / "cohort"
    subprocess.run(
        [plink2, "--vcf", str(cohort["vcf"]), "--make-bed", "--out", str(prefix)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(GenotypeFileError, match=r"cohort\.bed: dosage='DS' .*hard calls only"):
        quiet(f"{prefix}.bed", cohort["good"], dosage="DS")
    allowed = quiet(f"{prefix}.bed", cohort["good"], dosage="DS", allow_gt_fallback=True)
    gt = quiet(f"{prefix}.bed", cohort["good"])
    np.testing.assert_array_equal(allowed.sums, gt.sums)
    assert allowed.provenance["dosage_fallback"]["rows_read_from_GT"] == {"GOOD": 20}
