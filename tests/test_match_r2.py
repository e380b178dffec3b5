"""Imputation quality in matching (issue 15 item 2): ``min_r2`` excludes matches at poorly
imputed target variants, each with its R2 and its own fate in the match report."""

from __future__ import annotations

import cyvcf2
import numpy as np
import pandas as pd
import pytest

from prs.errors import ScoreError, ScoreWarning
from prs.genotypes.fastvcf import FastVcfSource
from prs.genotypes.vcf import VcfSource
from prs.match import match_variants
from prs.weights import read_scorefile
from tests.builders import site_table, write_scorefile, write_vcf

#: Five records, their R2 (NaN: none given) and whether imputed (record 3 is typed).
R2 = [0.95, 0.29, 0.3, np.nan, np.nan]
IMPUTED = [True, True, True, False, True]


def _sites(with_imputed=True):
    sites = site_table(
        [
            ("1", 100, "A", "G", "r0"),
            ("1", 200, "C", "T", "r1"),
            ("1", 300, "A", "C", "r2"),
            ("1", 400, "G", "A", "r3"),
            ("1", 500, "T", "C", "r4"),
        ]
    )
    sites["r2"] = np.asarray(R2, dtype=np.float32)[sites["record"]]
    if with_imputed:
        sites["imputed"] = np.asarray(IMPUTED)[sites["record"]]
    return sites


ROWS = [
    ("1", 100, "G", "A", 1.0),
    ("1", 200, "T", "C", 2.0),
    ("1", 300, "C", "A", 3.0),
    ("1", 400, "A", "G", 4.0),
    ("1", 500, "C", "T", 5.0),
    ("1", 600, "C", "T", 6.0),  # no target site
]


def _scoring(tmp_path):
    return read_scorefile(write_scorefile(tmp_path / "w.txt", ROWS))


def test_low_r2_rows_excluded_with_their_r2(tmp_path):
    # records 3 (typed) and 4 (imputed) have no R2: kept, counted, warned
    with pytest.warns(ScoreWarning, match=r"2 matched row.*1 of them flagged imputed"):
        plan, report = match_variants(_scoring(tmp_path), _sites(), min_r2=0.3, min_overlap=0)
    v = report.variants
    assert v["outcome"].tolist() == [
        "matched",
        "excluded_low_r2",  # 0.29 < 0.3
        "matched",  # 0.3 is kept (below, not at, the threshold)
        "matched",  # typed, no R2: kept, counted, warned
        "matched",  # imputed, no R2: kept, counted, warned
        "unmatched_no_site",
    ]
    # R2 as the sites give it (float32), NaN where none or no match
    np.testing.assert_array_equal(
        v["target_r2"].to_numpy(), np.float32([0.95, 0.29, 0.3, np.nan, np.nan, np.nan])
    )
    assert v["target_imputed"].tolist()[:5] == IMPUTED and v["target_imputed"].isna().iloc[5]
    assert "below min_r2" in v.loc[1, "reason"]
    assert plan.record.tolist() == [0, 2, 3, 4]
    assert report.counts["excluded_low_r2"].iloc[0] == 1
    # the kept matches of unknown R2, counted by hand from R2 above (records 3 and 4)
    assert report.counts["matched_r2_unknown"].tolist() == [2]
    assert report.counts["n_rows"].tolist() == [len(ROWS)]  # not an outcome: not in n_rows


def test_unflagged_records_without_r2_are_counted_and_warned(tmp_path):
    """A VCF declaring IMPUTED/TYPED whose record has neither flag nor R2 (a pipeline that
    writes no flag): the match is kept, warned and counted (it was kept silently)."""
    sites = _sites()
    sites["imputed"] = False  # no record flagged
    with pytest.warns(ScoreWarning, match=r"2 matched row.*0 of them flagged imputed"):
        _, report = match_variants(_scoring(tmp_path), sites, min_r2=0.3, min_overlap=0)
    assert report.counts["matched_r2_unknown"].tolist() == [2]
    _, report = match_variants(_scoring(tmp_path), sites, min_overlap=0)
    assert "matched_r2_unknown" not in report.counts  # no min_r2: nothing checked


def test_r2_required_only_where_asked(tmp_path):
    """require_r2=False (a piece of a run: the run decides): sites without any R2 are
    matched, every match kept and counted as of unknown R2; the range is still checked."""
    sites = _sites().drop(columns=["r2", "imputed"])
    with pytest.warns(ScoreWarning, match="5 matched row"):
        _, report = match_variants(
            _scoring(tmp_path), sites, min_r2=0.3, min_overlap=0, require_r2=False
        )
    assert report.counts["matched"].tolist() == [5]
    assert report.counts["matched_r2_unknown"].tolist() == [5]
    with pytest.raises(ScoreError, match="between 0 and 1"):
        match_variants(_scoring(tmp_path), sites, min_r2=2, min_overlap=0, require_r2=False)


def test_pieces_add_the_unknown_r2_counts(tmp_path):
    """concat_pieces adds each piece's matched_r2_unknown (rows 1-3 and 4-6 apart)."""
    from dataclasses import replace

    from prs.match import concat_pieces

    sf = _scoring(tmp_path)
    parts = []
    for rows in (slice(0, 3), slice(3, 6)):
        part = replace(
            sf, variants=sf.variants.iloc[rows].reset_index(drop=True), weights=sf.weights[rows]
        )
        with pytest.warns(ScoreWarning) if rows.start else _no_warning():
            parts.append(
                match_variants(part, _sites(), min_r2=0.3, check_overlap=False, require_r2=False)
            )
    with pytest.warns(ScoreWarning, match="4/6 rows matched"):
        _, joined = concat_pieces(sf, parts, target_chroms=["1"], min_overlap=0)
    assert joined.counts["matched_r2_unknown"].tolist() == [2]
    assert joined.counts["n_rows"].tolist() == [len(ROWS)]


def _no_warning():
    import contextlib
    import warnings

    @contextlib.contextmanager
    def strict():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield

    return strict()


def test_without_min_r2_nothing_is_dropped_but_r2_is_reported(tmp_path):
    plan, report = match_variants(_scoring(tmp_path), _sites(), min_overlap=0)
    assert plan.record.tolist() == [0, 1, 2, 3, 4]
    assert report.variants["target_r2"].notna().sum() == 3


def test_unknown_r2_without_imputed_column_warns(tmp_path):
    with pytest.warns(ScoreWarning, match="2 matched row"):
        match_variants(_scoring(tmp_path), _sites(with_imputed=False), min_r2=0.5, min_overlap=0)


def test_min_r2_without_r2_column_is_an_error(tmp_path):
    sites = _sites().drop(columns=["r2", "imputed"])
    with pytest.raises(ScoreError, match="give no imputation quality"):
        match_variants(_scoring(tmp_path), sites, min_r2=0.3, min_overlap=0)
    # a VCF reader gives the column, NaN everywhere when no record states an R2
    sites = _sites().assign(r2=np.float32(np.nan))
    with pytest.raises(ScoreError, match="give no imputation quality"):
        match_variants(_scoring(tmp_path), sites, min_r2=0.3, min_overlap=0)
    with pytest.raises(ScoreError, match="between 0 and 1"):
        match_variants(_scoring(tmp_path), _sites(), min_r2=1.5, min_overlap=0)


def test_low_r2_counts_against_the_overlap(tmp_path):
    """An excluded row is not matched: min_overlap sees it."""
    from prs.errors import MatchError

    with pytest.raises(MatchError, match="excluded_low_r2=3"):
        match_variants(_scoring(tmp_path), _sites(), min_r2=0.99, min_overlap=0.75)


@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_min_r2_end_to_end_equals_scoring_without_the_poor_rows(tmp_path, engine):
    """A Minimac-style VCF (R2 and IMPUTED/TYPED in INFO): prs.score(min_r2=0.5) equals
    scoring a file without the rows whose R2 (as written in the VCF) is below 0.5, and
    the report names each excluded row with its R2."""
    from prs.scoring import score
    from tests.builders import random_genotype_cells

    rng = np.random.default_rng(4)
    samples = [f"S{i}" for i in range(30)]
    header = (
        '##INFO=<ID=R2,Number=1,Type=Float,Description="Estimated imputation accuracy">\n'
        '##INFO=<ID=IMPUTED,Number=0,Type=Flag,Description="Imputed">\n'
        '##INFO=<ID=TYPED,Number=0,Type=Flag,Description="Typed">\n'
    )
    records, rows, r2s = [], [], []
    for i in range(24):
        pos, r2 = 1000 + 10 * i, round(float(rng.uniform(0.1, 1.0)), 3)
        info = f"R2={r2};IMPUTED" if i % 4 else f"R2={r2};TYPED"
        cells = "\t".join(random_genotype_cells(rng, len(samples)))
        records.append(f"22\t{pos}\tv{i}\tA\tG\t.\tPASS\t{info}\tGT\t{cells}")
        rows.append(("22", pos, "G", "A", round(float(rng.normal()), 3)))
        r2s.append(r2)
    vcf = write_vcf(
        tmp_path / "imp.vcf.gz", samples, records, contigs={"22": 10_000}, extra_header=header
    )
    poor = [r < 0.5 for r in r2s]
    assert 0 < sum(poor) < len(poor)
    all_rows = write_scorefile(tmp_path / "all.txt", rows)
    result = score(vcf, all_rows, min_r2=0.5, min_overlap=0, engine=engine)
    kept = [r for r, p in zip(rows, poor, strict=True) if not p]
    expected = score(vcf, write_scorefile(tmp_path / "kept.txt", kept), min_overlap=0)
    np.testing.assert_array_equal(result.sums, expected.sums)
    v = result.match_report.variants
    assert (v["outcome"] == "excluded_low_r2").tolist() == poor
    np.testing.assert_allclose(v["target_r2"], r2s, rtol=1e-6)
    assert v["target_imputed"].tolist() == [bool(i % 4) for i in range(24)]


#: A Beagle 5 header's INFO lines, as Beagle writes them (DR2 and AF per ALT, IMP a flag on
#: imputed markers; genotyped markers carry DR2 and AF, no IMP).
BEAGLE_INFO = (
    '##INFO=<ID=AF,Number=A,Type=Float,Description="Estimated ALT Allele Frequencies">\n'
    '##INFO=<ID=DR2,Number=A,Type=Float,Description="Dosage R-Squared: estimated squared '
    'correlation between estimated REF dose [P(RA) + 2*P(RR)] and true REF dose">\n'
    '##INFO=<ID=IMP,Number=0,Type=Flag,Description="Imputed marker">\n'
)


def _beagle_vcf(tmp_path):
    """A Beagle-style VCF (GT:DS, markers at 22:1000-1050): imputed markers (IMP) and
    genotyped ones, one imputed marker whose DR2 is ``.``, one multi-allelic marker (DR2
    per ALT)."""
    rng = np.random.default_rng(11)
    samples = [f"S{i}" for i in range(6)]
    infos = [
        "AF=0.2;DR2=0.91;IMP",
        "AF=0.4;DR2=0.12;IMP",
        "AF=0.3;DR2=1",  # genotyped: no IMP
        "AF=0.1;DR2=.;IMP",  # imputed, R2 unknown
        "AF=0.1,0.2;DR2=0.8,0.25;IMP",  # multi-allelic: one DR2 per ALT
        "AF=0.5;DR2=0.4",
    ]
    records = []
    for i, info in enumerate(infos):
        alt = "G,T" if "," in info else "G"
        n_alt = alt.count(",") + 1
        cells = []
        for _ in samples:
            a, b = rng.integers(0, n_alt + 1, size=2)
            ds = ",".join(str(int(a == k) + int(b == k)) for k in range(1, n_alt + 1))
            cells.append(f"{a}|{b}:{ds}")
        records.append(
            f"22\t{1000 + 10 * i}\tm{i}\tA\t{alt}\t.\tPASS\t{info}\tGT:DS\t" + "\t".join(cells)
        )
    vcf = write_vcf(
        tmp_path / "beagle.vcf.gz",
        samples,
        records,
        contigs={"22": 10_000},
        extra_header=BEAGLE_INFO,
    )
    return vcf


def test_beagle_imp_and_dr2_read_alike_by_both_engines(tmp_path):
    """Beagle's IMP marks a record imputed as Minimac's IMPUTED does, in both engines, as
    htslib (cyvcf2) reads the flag; r2 is DR2 (per ALT), float32 as htslib stores it."""
    vcf = _beagle_vcf(tmp_path)
    fast = FastVcfSource(vcf, dosage="DS").sites()
    checked = VcfSource(vcf, dosage="DS").sites()
    pd.testing.assert_frame_equal(fast, checked)
    imp, dr2 = [], []
    for variant in cyvcf2.VCF(str(vcf)):
        values = np.atleast_1d(np.asarray(variant.INFO.get("DR2"), dtype=np.float32))
        for k in range(len(variant.ALT)):  # one site-table row per ALT
            imp.append("IMP" in dict(variant.INFO))
            dr2.append(values[k] if len(values) > 1 else values[0])
    assert imp == [True, True, False, True, True, True, False]  # as written above
    assert fast["imputed"].tolist() == imp
    np.testing.assert_array_equal(fast["r2"].to_numpy(), np.asarray(dr2, dtype=np.float32))
    np.testing.assert_array_equal(
        fast["r2"].to_numpy(), np.float32([0.91, 0.12, 1, np.nan, 0.8, 0.25, 0.4])
    )


@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_beagle_min_r2_counts_imp_markers_as_imputed(tmp_path, engine):
    """min_r2 on a Beagle VCF: DR2 below it excluded, the IMP marker without a DR2 kept,
    warned and counted as flagged imputed; target_imputed is the IMP flag."""
    from prs.scoring import score

    vcf = _beagle_vcf(tmp_path)
    rows = [("22", 1000 + 10 * i, "G", "A", float(i + 1)) for i in range(6)]
    sf = write_scorefile(tmp_path / "b.txt", rows)
    with pytest.warns(ScoreWarning, match=r"1 matched row.*1 of them flagged imputed"):
        result = score(vcf, sf, min_r2=0.3, min_overlap=0, engine=engine)
    v = result.match_report.variants
    # DR2 0.12 < 0.3 excluded; '.' kept; the multi-allelic G row's DR2 is 0.8
    assert v["outcome"].tolist() == [
        "matched",
        "excluded_low_r2",
        "matched",
        "matched",
        "matched",
        "matched",
    ]
    assert v["target_imputed"].tolist() == [True, True, False, True, True, False]
    assert result.match_report.counts["matched_r2_unknown"].tolist() == [1]
