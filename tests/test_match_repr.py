"""MatchReport display (short repr and HTML whatever the size) and the PGS Catalog
Calculator's names beside prs's."""

from __future__ import annotations

import numpy as np
import pytest

from prs.match import OUTCOMES, PGSC_CALC_MATCH_STATUS, match_variants, pgsc_calc_names
from prs.weights import read_scorefile
from tests.builders import MATCH_TARGET, site_table, write_scorefile


@pytest.fixture
def big_report(tmp_path):
    """20,000 scoring rows over 30 scores, half of them unmatched."""
    n = 20_000
    sites = site_table([("1", 10 * (i + 1), "A", "G", f"r{i}") for i in range(n // 2)])
    rng = np.random.default_rng(1)
    rows = [("1", 10 * (i + 1), "G", "A", *rng.normal(size=30).round(3)) for i in range(n)]
    columns = ("chr_name", "chr_position", "effect_allele", "other_allele")
    path = write_scorefile(
        tmp_path / "w.txt", rows, columns=(*columns, *(f"S{k}" for k in range(30)))
    )
    _, report = match_variants(read_scorefile(path), sites, min_overlap=0)
    return report


def test_repr_is_short_and_says_where_to_look(big_report):
    text = repr(big_report)
    assert len(text) < 2_000, len(text)
    assert text.startswith("MatchReport: 30 scores, 20000 scoring rows")
    assert "S0: 10000/20000 matched (50.0%); unmatched_no_site=10000" in text
    assert "22 more scores" in text and ".counts" in text


def test_html_repr_is_short_and_holds_the_counts(big_report):
    html = big_report._repr_html_()
    assert len(html) < 20_000, len(html)
    assert html.count("<tr>") < 40  # 20 score rows + 5 excluded rows + headers
    assert "10 more scores" in html and "First excluded rows (of 10000)" in html


def test_pgsc_calc_names_for_every_match_type(tmp_path):
    """pgsc_calc's refalt: effect allele = REF, other = ALT; altref the reverse; no_oa_*:
    no other allele; *_flip after complementing (its match.py joins on these keys)."""
    rows = [
        ("1", 100, "G", "A", 1.0),  # effect ALT, other REF -> altref
        ("1", 200, "C", "T", 1.0),  # effect REF, other ALT -> refalt
        ("1", 100, "C", "T", 1.0),  # complement of altref -> altref_flip
        ("1", 200, "G", "A", 1.0),  # complement of refalt -> refalt_flip
        ("1", 400, "T", "", 1.0),  # effect = 2nd ALT, no other -> no_oa_alt
        ("1", 200, "C", "", 1.0),  # no_oa_ref
        ("1", 100, "C", "", 1.0),  # complement of ALT G, no other -> no_oa_alt_flip
        ("1", 300, "T", "A", 1.0),  # ambiguous: excluded
        ("1", 999, "T", "A", 1.0),  # no site: unmatched
    ]
    path = write_scorefile(tmp_path / "w.txt", rows)
    _, report = match_variants(read_scorefile(path), MATCH_TARGET, min_overlap=0)
    named = report.pgsc_calc_names()
    assert named["pgsc_match_type"].tolist() == [
        "altref",
        "refalt",
        "altref_flip",
        "refalt_flip",
        "no_oa_alt",
        "no_oa_ref",
        "no_oa_alt_flip",
        "altref",
        "",
    ]
    statuses = named["pgsc_match_status"].tolist()
    assert statuses[-2:] == ["excluded", "unmatched"]
    # the later rows at one allele are duplicates within the score: excluded
    assert (
        named.loc[named["outcome"] == "excluded_duplicate_row", "pgsc_match_status"]
        .eq("excluded")
        .all()
    )
    cols = list(named.columns)
    assert cols[cols.index("match_type") + 1 : cols.index("match_type") + 3] == [
        "pgsc_match_status",
        "pgsc_match_type",
    ]


def test_every_outcome_has_a_pgsc_calc_status():
    assert set(PGSC_CALC_MATCH_STATUS) == set(OUTCOMES)
    assert set(PGSC_CALC_MATCH_STATUS.values()) <= {"matched", "excluded", "unmatched"}
    assert all(
        PGSC_CALC_MATCH_STATUS[o] == o.split("_")[0] for o in OUTCOMES
    )  # prs's words begin with pgsc_calc's


def test_pgsc_calc_names_leaves_the_report_alone(tmp_path):
    path = write_scorefile(tmp_path / "w.txt", [("1", 100, "G", "A", 1.0)])
    _, report = match_variants(read_scorefile(path), MATCH_TARGET, min_overlap=0)
    before = list(report.variants.columns)
    pgsc_calc_names(report.variants)
    assert list(report.variants.columns) == before
