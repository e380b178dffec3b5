"""prs.score end to end: hand-computed cases and properties."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given

import prs
from prs.errors import (
    GenotypeWarning,
    MatchError,
    PRSWarning,
    ScoreError,
    ScoreWarning,
    ScoringFileWarning,
)
from prs.scoring import SCORE_COLUMNS, score
from tests.builders import (
    FREQ_COLUMNS,
    cohorts,
    tmp_path_settings,
    write_alt_effect_case,
    write_scorefile,
    write_vcf,
)

SETTINGS = tmp_path_settings(25)
_counter = itertools.count()


def scorefile_rows(cohort, column=0, swap=False, weights=None):
    rows = []
    w = cohort["weights"][:, column] if weights is None else weights
    for rec, alt_effect, weight in zip(cohort["records"], cohort["effect_is_alt"], w, strict=True):
        chrom, pos, _id, ref, alt, _cells = rec
        effect, other = (alt, ref) if alt_effect else (ref, alt)
        if swap:
            effect, other, weight = other, effect, -weight
        rows.append((chrom, pos, effect, other, weight))
    return rows


def build(tmp_path, cohort, rows, name="S"):
    k = next(_counter)
    vcf = write_vcf(tmp_path / f"c{k}.vcf.gz", cohort["samples"], cohort["records"])
    sf = write_scorefile(tmp_path / f"w{k}.txt", rows, header={"pgs_id": name})
    return vcf, sf


def run(vcf, sf, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score(vcf, sf, min_overlap=0.0, **kw)


def test_hand_computed(tmp_path):
    samples = ["p1", "p2", "p3"]
    vcf = write_vcf(
        tmp_path / "h.vcf.gz",
        samples,
        [
            ("1", 10, "a", "A", "G", ["0/0", "0/1", "1/1"]),
            ("1", 20, "b", "C", "T", ["0/1", "./.", "1/1"]),
        ],
    )
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("1", 10, "G", "A", 0.2), ("1", 20, "C", "T", -0.5)],
        header={"pgs_id": "H"},
    )
    r = run(vcf, sf)
    # variant a: G copies 0,1,2 x 0.2; variant b: C (REF) copies 1, missing, 0 x -0.5
    # missing p2 at b: C frequency among observed = (1 + 0) / 4 -> imputed 0.5 copies
    np.testing.assert_allclose(r.sums[:, 0], [0 - 0.5, 0.2 - 0.25, 0.4 + 0])
    np.testing.assert_array_equal(r.allele_ct[:, 0], [4, 2, 4])
    np.testing.assert_array_equal(r.denom[:, 0], [4, 4, 4])
    np.testing.assert_array_equal(r.missing_ct[:, 0], [0, 1, 0])
    np.testing.assert_allclose(r.avg[:, 0], r.sums[:, 0] / 4)
    none = run(vcf, sf, missing="none")
    np.testing.assert_allclose(none.sums[:, 0], [-0.5, 0.2, 0.4])
    np.testing.assert_array_equal(none.denom[:, 0], [4, 2, 4])
    frame = r.to_frame()
    assert list(frame.columns) == list(SCORE_COLUMNS)
    # PLINK 2's columns first (their places unchanged), then the score's trait (issue 11)
    assert list(SCORE_COLUMNS) == [
        *("sample_id", "score", "SUM", "AVG", "ALLELE_CT", "DENOM"),
        *("NAMED_ALLELE_DOSAGE_SUM", "VARIANTS_USED", "MISSING_CT"),
        *("trait_reported", "trait_efo", "weight_type", "development_ancestry"),
    ]
    assert frame.loc[1, "sample_id"] == "p2" and frame.loc[1, "MISSING_CT"] == 1


def test_scorefile_frequency_imputation(tmp_path):
    vcf = write_vcf(tmp_path / "h.vcf.gz", ["a", "b"], [("1", 10, "x", "A", "G", ["./.", "1/1"])])
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("1", 10, "G", "A", 1.0, 0.1)],
        header={"pgs_id": "F"},
        columns=FREQ_COLUMNS,
    )
    np.testing.assert_allclose(run(vcf, sf, missing="scorefile-freq").sums[:, 0], [0.2, 2.0])
    np.testing.assert_allclose(run(vcf, sf).sums[:, 0], [2.0, 2.0])  # cohort frequency 1


@given(cohort=cohorts())
@SETTINGS
def test_linear_in_weights(tmp_path, cohort):
    w1, w2 = cohort["weights"][:, 0], cohort["weights"][:, 1]
    vcf, sf1 = build(tmp_path, cohort, scorefile_rows(cohort, weights=w1))
    _, sf2 = build(tmp_path, cohort, scorefile_rows(cohort, weights=w2))
    _, sf3 = build(tmp_path, cohort, scorefile_rows(cohort, weights=w1 + 3 * w2))
    a, b, c = (run(vcf, sf).sums[:, 0] for sf in (sf1, sf2, sf3))
    np.testing.assert_allclose(c, a + 3 * b, rtol=1e-9, atol=1e-9)


@given(cohort=cohorts())
@SETTINGS
def test_swapping_alleles_and_weight_sign(tmp_path, cohort):
    vcf, sf = build(tmp_path, cohort, scorefile_rows(cohort))
    _, swapped = build(tmp_path, cohort, scorefile_rows(cohort, swap=True))
    a, b = run(vcf, sf), run(vcf, swapped)
    # effect B with -w: -w (2 - d_A) = w d_A - 2w, also for imputed calls (2p vs 2(1-p))
    offset = -2 * cohort["weights"][:, 0].sum()
    np.testing.assert_allclose(b.sums[:, 0], a.sums[:, 0] + offset, rtol=1e-9, atol=1e-9)


@given(cohort=cohorts())
@SETTINGS
def test_sample_order_invariance(tmp_path, cohort):
    vcf, sf = build(tmp_path, cohort, scorefile_rows(cohort))
    base = run(vcf, sf)
    order = list(reversed(cohort["samples"]))
    permuted = run(vcf, sf, samples=order)
    assert permuted.samples == tuple(order)
    np.testing.assert_allclose(
        permuted.to_wide().loc[list(base.samples)].to_numpy(),
        base.to_wide().to_numpy(),
        rtol=1e-12,
        atol=1e-12,
    )


@given(cohort=cohorts())
@SETTINGS
def test_chunk_size_invariance(tmp_path, cohort):
    vcf, sf = build(tmp_path, cohort, scorefile_rows(cohort))
    results = [run(vcf, sf, chunk_size=c) for c in (1, 3, 1000)]
    for other in results[1:]:
        np.testing.assert_array_equal(other.sums, results[0].sums)  # same order of additions
        np.testing.assert_array_equal(other.denom, results[0].denom)


@given(cohort=cohorts())
@SETTINGS
def test_split_by_chromosome_invariance(tmp_path, cohort):
    vcf, sf = build(tmp_path, cohort, scorefile_rows(cohort))
    k = next(_counter)
    parts = []
    for chrom in dict.fromkeys(r[0] for r in cohort["records"]):
        records = [r for r in cohort["records"] if r[0] == chrom]
        parts.append(write_vcf(tmp_path / f"split{k}_{chrom}.vcf.gz", cohort["samples"], records))
    whole, split = run(vcf, sf), run(parts, sf)
    np.testing.assert_array_equal(split.sums, whole.sums)
    np.testing.assert_array_equal(split.allele_ct, whole.allele_ct)


def test_many_scores_one_pass_equal_separate(tmp_path):
    rng = np.random.default_rng(5)
    samples = [f"s{i}" for i in range(20)]
    records = [
        ("1", 100 + k, f"v{k}", "A", "G", [f"{a}/{b}" for a, b in rng.integers(0, 2, (20, 2))])
        for k in range(30)
    ]
    vcf = write_vcf(tmp_path / "m.vcf.gz", samples, records)
    files = []
    for s in range(5):
        rows = [
            (
                "1",
                100 + k,
                "G" if (k + s) % 2 else "A",
                "A" if (k + s) % 2 else "G",
                float(rng.normal()),
            )
            for k in range(30)
            if (k * s) % 3 != 1
        ]
        files.append(write_scorefile(tmp_path / f"s{s}.txt", rows, header={"pgs_id": f"P{s}"}))
    together = run(vcf, files)
    assert together.score_ids == tuple(f"P{s}" for s in range(5))
    for s, f in enumerate(files):
        np.testing.assert_allclose(together.sums[:, s], run(vcf, f).sums[:, 0], rtol=1e-12)


def test_build_mismatch_is_an_error_unless_stated(tmp_path):
    vcf = write_vcf(
        tmp_path / "b.vcf.gz", ["a"], [("1", 10, "x", "A", "G", ["0/1"])], contigs={"1": 248956422}
    )
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("1", 10, "G", "A", 1.0)],
        header={"pgs_id": "B", "genome_build": "GRCh37"},
    )
    with pytest.raises(
        MatchError, match=r"positions are GRCh37 but the genotypes are GRCh38 \(detected"
    ):
        run(vcf, sf)
    assert run(vcf, sf, genome_build="GRCh37").sums[0, 0] == 1.0


def test_bad_options_and_duplicate_names(tmp_path):
    vcf = write_vcf(tmp_path / "b.vcf.gz", ["a"], [("1", 10, "x", "A", "G", ["0/1"])])
    sf = write_scorefile(tmp_path / "w.txt", [("1", 10, "G", "A", 1.0)], header={"pgs_id": "D"})
    with pytest.raises(ScoreError, match="missing must be one of"):
        score(vcf, sf, missing="zero")
    with pytest.raises(ScoreError, match="appears in"):
        score(vcf, [sf, sf])
    with pytest.raises(ScoreError, match="min_overlap"):
        score(vcf, sf, min_overlap=2)


def test_example_scores_and_provenance():
    from prs.example import example_paths

    paths = example_paths()
    r = prs.score(paths.vcf, paths.scorefile)
    assert r.sums.shape == (200, 1)
    counts = r.match_report.counts.iloc[0]
    assert counts["matched"] == 272 and counts["excluded_ambiguous"] == 8
    assert counts["unmatched_no_site"] == 20
    assert r.provenance["genome_build"]["detected"] == "GRCh38"
    assert len(r.provenance["genotypes"][0]["sha256"]) == 64
    ds = prs.score(paths.vcf, paths.scorefile, dosage="DS")
    assert np.corrcoef(ds.sums[:, 0], r.sums[:, 0])[0, 1] > 0.99


def test_a_build_alias_given_is_the_build_it_names():
    """Issue 12: genome_build="hg38" was compared as written, so a GRCh38 scoring file was
    refused as another build (and the PARs were not placed); an alias is its build."""
    from prs.example import example_paths

    paths = example_paths()
    base = prs.score(paths.vcf, paths.scorefile)
    for alias in ("hg38", "GRCh38", "38"):
        r = prs.score(paths.vcf, paths.scorefile, genome_build=alias)
        np.testing.assert_array_equal(r.sums, base.sums)
        assert r.provenance["genome_build"] == {
            "stated": alias,
            "detected": "GRCh38",
            "used": "GRCh38",
        }


class _WarningSource:
    """A genotype source that warns and notes a fallback, as an engine reading a VCF
    without its index does."""

    def __init__(self, path):
        self._inner = prs.genotypes.VcfSource(path)
        self.samples = self._inner.samples
        self.paths = self._inner.paths
        self.notes = ["index x.tbi not used: older than the data; read sequentially"]

    def sites(self, wanted=None):
        warnings.warn("index x.tbi not used", GenotypeWarning, stacklevel=2)
        return self._inner.sites(wanted)

    def read(self, records, alleles, *, chunk_size=1024):
        return self._inner.read(records, alleles, chunk_size=chunk_size)


def _all_missing_case(tmp_path):
    return write_alt_effect_case(  # no header: no genome build stated
        tmp_path,
        ["a", "b"],
        [("1", 10, "x", "A", "G", ["0/1", "1/1"]), ("1", 20, "y", "C", "T", ["./.", "./."])],
        [1.0, 1.0],
    )


def test_warnings_are_recorded_in_provenance_and_still_reach_the_caller(tmp_path):
    vcf, sf = _all_missing_case(tmp_path)
    with pytest.warns(PRSWarning) as caught:
        result = score(_WarningSource(vcf), sf)
    recorded = result.provenance["warnings"]
    categories = [w["category"] for w in recorded]
    assert categories.count("GenotypeWarning") == 1
    assert "ScoringFileWarning" in categories and "ScoreWarning" in categories
    assert any("missing in every sample" in w["message"] for w in recorded)
    assert any("does not state its genome build" in w["message"] for w in recorded)
    # every recorded warning was issued again to the caller, at the caller's line
    seen = [(type(w.message).__name__, str(w.message)) for w in caught]
    assert all((w["category"], w["message"]) in seen for w in recorded)
    assert all(w.filename == __file__ for w in caught if w.category is ScoringFileWarning)
    assert result.provenance["genotype_notes"] == [
        "index x.tbi not used: older than the data; read sequentially"
    ]


def test_warnings_are_recorded_even_when_the_caller_ignores_them(tmp_path):
    vcf, sf = _all_missing_case(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        result = score(vcf, sf)
    assert not caught
    assert {w["category"] for w in result.provenance["warnings"]} >= {
        "ScoreWarning",
        "ScoringFileWarning",
    }


def test_strict_turns_a_recorded_warning_into_an_error(tmp_path):
    """warnings as errors (--strict): the warning is raised as an exception."""
    vcf, sf = _all_missing_case(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PRSWarning)
        with pytest.raises(ScoringFileWarning, match="does not state its genome build"):
            score(vcf, sf)


def test_a_failed_run_keeps_its_error_and_still_shows_its_warnings(tmp_path):
    vcf, _ = _all_missing_case(tmp_path)
    nothing = write_scorefile(tmp_path / "z.txt", [("1", 99, "G", "A", 1.0)])  # no build
    with pytest.warns(ScoringFileWarning), pytest.raises(MatchError, match="matched 0 of 1"):
        score(vcf, nothing)
    # Warnings the caller turns into errors (--strict) stop the run at once.
    with warnings.catch_warnings():
        warnings.simplefilter("error", PRSWarning)
        with pytest.raises(ScoringFileWarning, match="does not state its genome build"):
            score(vcf, nothing)
    # An error filter for another category leaves the rest recorded and re-issued.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.filterwarnings("error", category=GenotypeWarning)
        with pytest.raises(MatchError, match="matched 0 of 1"):
            score(vcf, nothing)
    assert [w.category for w in caught] == [ScoringFileWarning]


def test_duplicate_vcf_records_warn_and_the_first_is_scored(tmp_path):
    """F20: two records 1:10 A>G with different genotypes: the first is used, a
    ScoreWarning gives the count and the position, and the provenance records it."""
    vcf = write_vcf(
        tmp_path / "d.vcf.gz",
        ["a", "b"],
        [
            ("1", 10, "x", "A", "G", ["0/0", "1/1"]),
            ("1", 10, "x2", "A", "G", ["1/1", "0/0"]),
            ("1", 20, "y", "C", "T", ["0/1", "0/1"]),
        ],
    )
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("1", 10, "G", "A", 1.0), ("1", 20, "T", "C", 0.5)],
        header={"pgs_id": "DUP", "genome_build": "GRCh38"},
    )
    with pytest.warns(ScoreWarning, match=r"1 matched row\(s\) fit more than one .* at 1:10"):
        result = score(vcf, sf)
    np.testing.assert_allclose(result.sums[:, 0], [0.5, 2.5])
    assert any(
        w["category"] == "ScoreWarning" and "1:10" in w["message"]
        for w in result.provenance["warnings"]
    )
