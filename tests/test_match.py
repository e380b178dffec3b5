"""Matching scoring rows to target sites (prs.match)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from prs.errors import MatchError, ScoreWarning
from prs.match import complement, is_ambiguous, match_variants
from prs.weights import read_scorefile
from tests.builders import MATCH_TARGET, site_table, write_scorefile


def match(tmp_path, rows, **kw):
    sf = read_scorefile(write_scorefile(tmp_path / "w.txt", rows))
    kw.setdefault("min_overlap", 0.0)
    return match_variants(sf, MATCH_TARGET, **kw)


def outcome(report):
    v = report.variants
    return dict(zip(v["pos"], zip(v["outcome"], v["match_type"], strict=True), strict=True))


def test_alt_ref_and_flips(tmp_path):
    plan, report = match(
        tmp_path,
        [
            ("1", 100, "G", "A", 1.0),  # ALT
            ("1", 200, "C", "T", 2.0),  # REF
            ("chr1", 500, "G", "A", 3.0),  # flipped ALT (C/T on the other strand), chr prefix
        ],
    )
    got = outcome(report)
    assert got[100] == ("matched", "alt") and got[200] == ("matched", "ref")
    assert got[500] == ("matched", "alt_flip")
    assert plan.record.tolist() == [0, 1, 4] and plan.allele.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(plan.weights[:, 0], [1.0, 2.0, 3.0])
    assert report.variants.loc[report.variants.pos == 500, "reason"].iloc[0].startswith("2 target")


def test_ambiguous_excluded_or_kept(tmp_path):
    _, report = match(tmp_path, [("1", 300, "T", "A", 1.0), ("1", 100, "G", "A", 1.0)])
    assert outcome(report)[300][0] == "excluded_ambiguous"
    plan, report = match(
        tmp_path, [("1", 300, "T", "A", 1.0), ("1", 100, "G", "A", 1.0)], keep_ambiguous=True
    )
    assert outcome(report)[300] == ("matched", "alt")
    assert plan.allele.tolist() == [1, 1]


def test_multiallelic_right_alt(tmp_path):
    plan, report = match(tmp_path, [("1", 400, "T", "G", 1.0), ("1", 100, "G", "A", 1.0)])
    row = report.variants.set_index("pos").loc[400]
    assert row["outcome"] == "matched" and row["multiallelic"] and row["target_alt"] == "T"
    assert plan.allele.tolist() == [1, 2]


def test_mismatch_and_missing_sites(tmp_path):
    _, report = match(
        tmp_path, [("1", 100, "C", "A", 1.0), ("1", 999, "C", "T", 1.0), ("1", 200, "C", "T", 1.0)]
    )
    got = outcome(report)
    assert got[100][0] == "unmatched_allele_mismatch" and got[999][0] == "unmatched_no_site"


def test_duplicated_scoring_rows_count_once(tmp_path):
    plan, report = match(
        tmp_path,
        [
            ("1", 100, "G", "A", 1.0),
            ("1", 100, "G", "A", 5.0),
            ("1", 200, "T", "C", 1.0),
            ("chr1", 100, "C", "T", 2.0),
        ],  # the same allele again, written on the other strand
    )
    v = report.variants
    assert v["outcome"].tolist() == [
        "matched",
        "excluded_duplicate_row",
        "matched",
        "excluded_duplicate_row",
    ]
    assert "same target variant as line 2" in v["reason"].iloc[1]
    assert len(plan) == 2


def test_min_overlap_and_causes(tmp_path):
    rows = [("1", 100, "G", "A", 1.0)] + [("1", 10_000 + k, "G", "A", 1.0) for k in range(9)]
    with pytest.raises(MatchError, match=r"matched 1 of 10 rows \(10.0%\), below the minimum 75%"):
        match(tmp_path, rows, min_overlap=0.75)
    with pytest.raises(MatchError, match="genome build mismatch"):
        match(tmp_path, rows, min_overlap=0.75, scoring_build="GRCh37", target_build="GRCh38")
    with pytest.raises(MatchError, match="zero matches never score"):
        match(tmp_path, [("2", 5, "G", "A", 1.0)], min_overlap=0.0)
    with pytest.raises(MatchError, match="no chromosome in common"):
        match(tmp_path, [("2", 5, "G", "A", 1.0)], min_overlap=0.5)
    with pytest.raises(MatchError, match="strand-ambiguous"):
        match(tmp_path, [("1", 300, "T", "A", 1.0)] * 1, min_overlap=0.5)


def test_no_other_allele(tmp_path):
    path = write_scorefile(
        tmp_path / "w.txt",
        [("1", 100, "A", 1.0), ("1", 400, "G", 2.0)],
        columns=("chr_name", "chr_position", "effect_allele", "effect_weight"),
    )
    plan, report = match_variants(read_scorefile(path), MATCH_TARGET, min_overlap=0)
    assert report.variants["match_type"].tolist() == ["ref", "ref"]
    assert plan.allele.tolist() == [0, 0]
    assert len(plan) == 2  # the REF of a multi-allelic site is used once


def test_complement_helpers():
    assert complement("ACGT") == "TGCA"
    assert is_ambiguous("A", "T") and is_ambiguous("C", "G") and not is_ambiguous("A", "G")
    assert not is_ambiguous("AT", "TA")


def test_good_match_pgsc_fixture(shared_data):
    """The PGS Catalog matcher's good_match fixture matches well here too."""
    pvar = pd.read_csv(shared_data / "pygscatalog/match/good_match.pvar", sep="\t", comment=None)
    pvar = pvar.rename(columns={"#CHROM": "CHROM"})
    rows = []
    for record, r in enumerate(pvar.itertuples()):
        for k, alt in enumerate(str(r.ALT).split(","), start=1):
            rows.append(
                (
                    str(r.CHROM),
                    int(r.POS),
                    r.REF,
                    alt,
                    k,
                    len(str(r.ALT).split(",")) + 1,
                    record,
                    0,
                    r.ID,
                )
            )
    table = pd.DataFrame(
        rows,
        columns=["chrom", "pos", "ref", "alt", "allele_index", "n_alleles", "record", "file", "id"],
    )
    sf = read_scorefile(shared_data / "pygscatalog/match/good_match_scorefile.txt")
    plan, report = match_variants(sf, table, min_overlap=0.0)
    assert report.counts["match_rate"].iloc[0] > 0.75
    assert (report.counts["match_rate"] > 0.75).all()
    assert len(plan) == report.counts["matched"].sum()  # long format: one score per row


def test_star_allele_is_never_an_effect_allele(tmp_path):
    from prs.errors import ScoringFileError

    target = site_table([("1", 100, "A", "G,*", "r0")])
    path = write_scorefile(tmp_path / "w.txt", [("1", 100, "*", "A", 1.0)])
    with pytest.raises(ScoringFileError, match="non-nucleotide effect allele"):
        read_scorefile(path)
    sf = read_scorefile(path, drop_unscorable=True)
    assert sf.dropped == {"non-nucleotide effect allele": 1}
    # the real ALT of a record that also carries * still matches, at its own index
    ok = read_scorefile(write_scorefile(tmp_path / "g.txt", [("1", 100, "G", "A", 1.0)]))
    plan, report = match_variants(ok, target, min_overlap=0)
    assert plan.allele.tolist() == [1] and bool(report.variants["multiallelic"].iloc[0])


def test_ref_of_a_multiallelic_site_counts_once_per_score(tmp_path):
    """A->C and A->G rows both name REF A as effect allele: REF is counted once (PLINK 2
    refuses such a file); the second row is a duplicate."""
    plan, report = match(tmp_path, [("1", 400, "G", "A", 1.0), ("1", 400, "G", "T", 10.0)])
    assert report.variants["outcome"].tolist() == ["matched", "excluded_duplicate_row"]
    assert len(plan) == 1 and plan.allele.tolist() == [0]


def test_both_alleles_of_one_site_are_different_targets(tmp_path):
    """One row counts ALT, another REF of the same record: both count (as PLINK 2)."""
    plan, report = match(tmp_path, [("1", 200, "T", "C", 100.0), ("1", 200, "C", "T", 1.0)])
    assert report.variants["outcome"].tolist() == ["matched", "matched"]
    assert sorted(plan.allele.tolist()) == [0, 1]


def test_monomorphic_record_matches_its_ref(tmp_path):
    target = site_table([("1", 100, "A", "G", "r0")])
    mono = pd.DataFrame([("1", 200, "C", "", 0, 1, 1, 0, "r1")], columns=target.columns)
    table = pd.concat([target, mono], ignore_index=True)
    sf = read_scorefile(
        write_scorefile(tmp_path / "w.txt", [("1", 200, "C", "T", 1.0), ("1", 100, "G", "A", 1.0)])
    )
    plan, report = match_variants(sf, table, min_overlap=0)
    assert report.variants["match_type"].tolist() == ["ref", "alt"]
    assert plan.record.tolist() == [0, 1] and plan.allele.tolist() == [1, 0]


def test_multi_score_report_is_one_row_per_variant_unless_fates_differ(tmp_path):
    """A table of three weight columns: rows whose fate is the same in every score are one
    report row (score "*", n_scores); a row that is a duplicate in one score only is split
    into one row per score. Counts per score are exact either way."""
    path = tmp_path / "multi.txt"
    path.write_text(
        "chr_name\tchr_position\teffect_allele\tother_allele\ts1\ts2\ts3\n"
        "1\t100\tG\tA\t1\t2\t3\n"  # matched in all three
        "1\t400\tG\tA\t1\t\t\n"  # REF of the multi-allelic site, score s1 only
        "1\t400\tG\tT\t5\t6\t\n"  # same target allele: duplicate in s1, matched in s2
        "1\t999\tA\tG\t1\t1\t1\n"  # no site
    )
    sf = read_scorefile(path)
    plan, report = match_variants(sf, MATCH_TARGET, min_overlap=0.0)
    v = report.variants
    first = v[v["pos"] == 100]
    assert first["score"].tolist() == ["*"] and first["n_scores"].tolist() == [3]
    assert np.isnan(first["effect_weight"].iloc[0])
    only_s1 = v[(v["pos"] == 400) & (v["other_allele"] == "A")]
    assert only_s1["score"].tolist() == ["s1"] and only_s1["effect_weight"].tolist() == [1.0]
    split = v[(v["pos"] == 400) & (v["other_allele"] == "T")].set_index("score")
    assert split.loc["s1", "outcome"] == "excluded_duplicate_row"
    assert "same target variant as line 3" in split.loc["s1", "reason"]
    assert split.loc["s2", "outcome"] == "matched" and split.loc["s2", "effect_weight"] == 6.0
    counts = report.counts
    assert counts.loc[
        "s1", ["matched", "excluded_duplicate_row", "unmatched_no_site"]
    ].tolist() == [
        2,
        1,
        1,
    ]
    assert counts.loc["s2", ["matched", "excluded_duplicate_row"]].tolist() == [2, 0]
    assert counts.loc["s3", ["matched", "n_rows"]].tolist() == [1, 2]
    # The plan: s1 uses REF of the site once (weight 1), s2 uses it once (weight 6).
    at_400 = plan.record == 3
    assert np.nansum(plan.weights[at_400, 0]) == 1.0
    assert np.nansum(plan.weights[at_400, 1]) == 6.0


def test_split_rows_as_many_as_rows_keep_their_own_lines(tmp_path):
    """A duplicate in one score only, in a file of two rows: the split report rows (one
    per score) are as many as the scoring rows, and each still carries its own line,
    weight and outcome (found by review: the report once reused the first rows)."""
    path = tmp_path / "dup.txt"
    path.write_text(
        "chr_name\tchr_position\teffect_allele\tother_allele\tS0\tS1\n"
        "1\t100\tG\tA\t0.5\t\n"
        "1\t100\tG\tA\t0.7\t0.9\n"
    )
    plan, report = match_variants(read_scorefile(path), MATCH_TARGET, min_overlap=0.0)
    got = report.variants[["line", "score", "effect_weight", "outcome"]]
    assert got.values.tolist() == [
        [2, "S0", 0.5, "matched"],
        [3, "S0", 0.7, "excluded_duplicate_row"],
        [3, "S1", 0.9, "matched"],
    ]
    np.testing.assert_array_equal(plan.weights, [[0.5, np.nan], [np.nan, 0.9]])


def with_positions(sf, positions):
    """``sf`` with its positions replaced (scoring files refuse positions above 2**31 - 1
    since prs.genome.MAX_POSITION; a ScoringFile built in code or a custom source may not)."""
    return dataclasses.replace(sf, variants=sf.variants.assign(pos=np.array(positions)))


def test_position_beyond_40_bits_does_not_match_another_chromosome(tmp_path):
    """Positions are joined with their chromosome exactly, whatever their size (a typo of
    2**40 + 100 on chromosome 2 once matched chromosome 1's position 100)."""
    sf = read_scorefile(
        write_scorefile(tmp_path / "w.txt", [("2", 1, "G", "A", 1.0), ("1", 100, "G", "A", 2.0)])
    )
    plan, report = match_variants(
        with_positions(sf, [2**40 + 100, 100]), MATCH_TARGET, min_overlap=0
    )
    v = report.variants
    assert v["outcome"].tolist() == ["unmatched_no_site", "matched"]
    assert plan.weights.tolist() == [[2.0]]
    huge = MATCH_TARGET.copy()
    huge.loc[0, "pos"] = 2**41 + 7
    sf = read_scorefile(write_scorefile(tmp_path / "h.txt", [("1", 7, "G", "A", 1.0)]))
    plan, report = match_variants(with_positions(sf, [2**41 + 7]), huge, min_overlap=0.0)
    assert report.variants["outcome"].tolist() == ["matched"] and plan.record.tolist() == [0]


def test_site_ids_need_not_be_strings(tmp_path):
    """A custom genotype source may give integer IDs: they are reported as text."""
    target = MATCH_TARGET.assign(id=np.arange(len(MATCH_TARGET)) + 10)
    sf = read_scorefile(write_scorefile(tmp_path / "w.txt", [("1", 200, "C", "T", 1.0)]))
    _plan, report = match_variants(sf, target, min_overlap=0.0)
    assert report.variants["target_id"].tolist() == ["11"]


def test_unknown_effect_type_in_a_built_scoring_file_is_named(tmp_path):
    import dataclasses

    from prs.errors import ScoringFileError

    sf = read_scorefile(write_scorefile(tmp_path / "w.txt", [("1", 200, "C", "T", 1.0)]))
    with pytest.raises(ScoringFileError, match="effect_type 'codominant' is not one of"):
        odd = dataclasses.replace(sf, variants=sf.variants.assign(effect_type="codominant"))
        match_variants(odd, MATCH_TARGET, min_overlap=0.0)


def test_only_dosage_weight_columns_leave_nothing_to_score(tmp_path):
    """A file of dosage weights only, read with drop_unscorable: readable (its dropped
    rows are counted), but matching it names the file instead of failing inside numpy."""
    from prs.errors import ScoringFileError

    path = tmp_path / "dosage_only.txt"
    path.write_text(
        "chr_name\tchr_position\teffect_allele\tother_allele\tdosage_0_weight\t"
        "dosage_1_weight\tdosage_2_weight\n"
        "1\t100\tA\tG\t0\t0.1\t0.3\n"
    )
    sf = read_scorefile(path, drop_unscorable=True)
    assert sf.dropped == {"non-additive dosage weights": 1}
    with pytest.raises(ScoringFileError, match=r"dosage_only.txt: nothing to score"):
        match_variants(sf, MATCH_TARGET, min_overlap=0.0)


def test_duplicate_target_records_warn_with_count_and_example(tmp_path):
    """F20: rows that fit two identical VCF records (1:500 T>C twice) are scored on the
    first; a ScoreWarning gives the count and one chrom:pos, the report keeps the detail."""
    rows = [("1", 500, "C", "T", 1.0), ("1", 100, "G", "A", 2.0)]
    with pytest.warns(ScoreWarning, match=r"1 matched row\(s\) fit more than one target") as rec:
        plan, report = match(tmp_path, rows)
    message = str(next(w.message for w in rec if "fit more than one" in str(w.message)))
    assert "1:500" in message and "line 2" in message and "2 records" in message
    v = report.variants.set_index("pos")
    assert v.loc[500, "outcome"] == "matched" and v.loc[500, "target_record"] == 4
    assert "2 target records fit; the first is used" in v.loc[500, "reason"]
    assert plan.record.tolist() == [0, 4]


def test_no_duplicate_warning_without_duplicates(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        match(tmp_path, [("1", 100, "G", "A", 1.0), ("1", 200, "T", "C", 1.0)])


def test_match_notes_are_score_warnings(tmp_path):
    """The partial-match note is a PRSWarning (recorded in provenance, --strict)."""
    with pytest.warns(ScoreWarning, match="1/2 rows matched"):
        match(tmp_path, [("1", 100, "G", "A", 1.0), ("1", 999, "G", "A", 1.0)])
