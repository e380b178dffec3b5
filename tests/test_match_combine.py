"""prs.match owns its plan and report across scoring files: the build check, combining
plans and reports, and which plan rows count their alleles (issue 12: moved from score)."""

from __future__ import annotations

import numpy as np
import pytest

from prs.errors import MatchError, ScoringFileWarning
from prs.match import (
    allele_count_mask,
    check_builds,
    combine_plans,
    combine_reports,
    match_variants,
)
from prs.weights import read_scorefile
from tests.builders import MATCH_TARGET


def _scorefile(tmp_path, name, rows, build="GRCh38"):
    path = tmp_path / f"{name}.txt"
    header = f"#genome_build={build}\n" if build else ""
    path.write_text(
        header
        + "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
        + "".join(f"{c}\t{p}\t{ea}\t{oa}\t{w}\n" for c, p, ea, oa, w in rows)
    )
    return read_scorefile(path)


def test_check_builds_refuses_another_build_and_warns_without_one(tmp_path):
    hg38 = _scorefile(tmp_path, "a", [("1", 100, "G", "A", 0.5)])
    with pytest.raises(MatchError, match=r"a.txt: scoring file positions are GRCh38 but the "
                       r"genotypes are GRCh37 \(detected from the VCF header\)"):  # fmt: skip
        check_builds([hg38], "GRCh37", stated=False)
    with pytest.raises(MatchError, match=r"GRCh37 \(stated\)"):
        check_builds([hg38], "GRCh37", stated=True)
    check_builds([hg38], "GRCh38", stated=False)
    check_builds([hg38], None, stated=False)
    unknown = _scorefile(tmp_path, "nr", [("1", 100, "G", "A", 0.5)], build=None)
    with pytest.warns(ScoringFileWarning, match="assumed to be GRCh38") as record:
        check_builds([unknown], "GRCh38", stated=False)
    assert record[0].filename == __file__  # stacklevel: the caller's line


def test_combined_plan_puts_scores_side_by_side_sorted_by_record(tmp_path):
    a = _scorefile(tmp_path, "a", [("1", 200, "T", "C", 0.2), ("1", 100, "G", "A", 0.1)])
    b = _scorefile(tmp_path, "b", [("1", 100, "G", "A", 0.3)])
    (pa, ra), (pb, rb) = (match_variants(sf, MATCH_TARGET, min_overlap=0) for sf in (a, b))
    plan = combine_plans([pa, pb])
    assert plan.score_ids == ("a", "b")
    assert plan.record.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(plan.weights, [[0.1, np.nan], [np.nan, 0.3], [0.2, np.nan]])
    report = combine_reports([ra, rb])
    assert report.variants["score"].tolist() == ["a", "a", "b"]
    assert report.counts.index.tolist() == ["a", "b"]
    assert combine_reports([ra]) is ra


def test_a_record_scored_on_two_alleles_counts_its_alleles_once_per_score(tmp_path):
    """1:400 G>A,T scored on A and on T by one score: ALLELE_CT counts the record once."""
    sf = _scorefile(tmp_path, "m", [("1", 400, "A", "G", 0.1), ("1", 400, "T", "G", 0.2)])
    plan, _ = match_variants(sf, MATCH_TARGET, min_overlap=0)
    assert plan.record.tolist() == [3, 3]
    assert allele_count_mask(plan).tolist() == [[True], [False]]
