"""rsID matching: scoring rows without positions matched through the target's variant IDs.

Cross-checks: the same rows with positions (the position matcher), and PLINK 2 ``--score``
by variant ID on a generated VCF whose ID column holds the rsIDs.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.errors import MatchError, RsidMatchWarning, ScoringFileWarning
from prs.match import match_variants, wanted_positions
from prs.scoring import score
from prs.weights import read_scorefile
from tests.builders import (
    MATCH_TARGET,
    POSITION_COLUMNS,
    random_genotype_cells,
    site_table,
    write_scorefile,
)

RSID_COLUMNS = ("rsID", "effect_allele", "other_allele", "effect_weight")

#: (rsID of MATCH_TARGET's record, chrom, pos, effect, other, weight): alt, ref, flipped
#: alt at a duplicated record, multi-allelic second ALT, ambiguous, allele mismatch.
ROWS = [
    ("r0", "1", 100, "G", "A", 1.0),
    ("r1", "1", 200, "C", "T", 2.0),
    ("r4", "1", 500, "G", "A", 3.0),
    ("r3", "1", 400, "T", "G", 4.0),
    ("r2", "1", 300, "T", "A", 5.0),
    ("r1", "1", 200, "A", "C", 6.0),
]


def _rsid_file(path, rows):
    return read_scorefile(
        write_scorefile(path, [(r[0], *r[3:]) for r in rows], columns=RSID_COLUMNS)
    )


def _pos_file(path, rows):
    return read_scorefile(write_scorefile(path, [r[1:] for r in rows], columns=POSITION_COLUMNS))


def _match(sf, sites, **kw):
    kw.setdefault("min_overlap", 0.0)
    with pytest.warns(RsidMatchWarning, match="rsID carries no genome build"):
        return match_variants(sf, sites, **kw)


def test_rsid_only_file_matches_as_the_file_with_positions(tmp_path):
    by_id_plan, by_id = _match(_rsid_file(tmp_path / "id.txt", ROWS), MATCH_TARGET)
    by_pos_plan, by_pos = match_variants(
        _pos_file(tmp_path / "pos.txt", ROWS), MATCH_TARGET, min_overlap=0.0
    )
    for name in ("record", "allele", "weights", "line"):
        np.testing.assert_array_equal(getattr(by_id_plan, name), getattr(by_pos_plan, name))
    same = ["outcome", "match_type", "target_record", "target_alt", "flipped", "ambiguous"]
    pd.testing.assert_frame_equal(by_id.variants[same], by_pos.variants[same])
    matched = by_id.variants["target_record"] >= 0
    assert (by_id.variants.loc[matched, "matched_by"] == "rsid").all()
    assert (by_pos.variants.loc[matched, "matched_by"] == "position").all()
    assert by_id.variants["outcome"].tolist() == [
        "matched",
        "matched",
        "matched",
        "matched",
        "excluded_ambiguous",
        "unmatched_allele_mismatch",
    ]
    np.testing.assert_array_equal(by_id.counts.to_numpy(), by_pos.counts.to_numpy())


def test_unknown_rsid_and_blank_rows_have_their_own_fates(tmp_path):
    rows = [("r0", "G", "A", 1.0), ("rs999", "G", "A", 1.0), (".", "G", "A", 1.0)]
    sf = read_scorefile(write_scorefile(tmp_path / "w.txt", rows, columns=RSID_COLUMNS))
    _, report = _match(sf, MATCH_TARGET)
    assert report.variants["outcome"].tolist() == [
        "matched",
        "unmatched_no_id",
        "unmatched_no_position",
    ]
    assert report.counts.loc[sf.score_ids[0], "unmatched_no_id"] == 1


def test_rsid_matching_can_be_turned_off(tmp_path):
    sf = _rsid_file(tmp_path / "id.txt", ROWS)
    _, report = match_variants(
        sf, MATCH_TARGET, min_overlap=0.0, match_rsids=False, check_overlap=False
    )
    assert set(report.variants["outcome"]) == {"unmatched_no_position"}
    assert wanted_positions([sf], match_rsids=False) == {}
    assert wanted_positions([sf]) is None  # the target's IDs are needed everywhere


def test_a_vcf_id_with_several_ids_matches_each(tmp_path):
    sites = site_table([("1", 100, "A", "G", "rs5;rs6"), ("1", 200, "C", "T", "rs7")])
    rows = [("rs6", "G", "A", 1.0), ("rs7", "T", "C", 2.0), ("rs5;rs6", "G", "A", 3.0)]
    sf = read_scorefile(write_scorefile(tmp_path / "w.txt", rows, columns=RSID_COLUMNS))
    plan, report = _match(sf, sites)
    assert report.variants["outcome"].tolist() == ["matched", "matched", "unmatched_no_id"]
    assert plan.record.tolist() == [0, 1]


def test_a_named_chromosome_must_agree(tmp_path):
    rows = [("r0", "1", "G", "A", 1.0), ("r1", "2", "C", "T", 1.0)]
    sf = read_scorefile(
        write_scorefile(tmp_path / "w.txt", rows, columns=("rsID", "chr_name", *RSID_COLUMNS[1:]))
    )
    _, report = _match(sf, MATCH_TARGET)
    assert report.variants["outcome"].tolist() == ["matched", "unmatched_no_id"]


def test_zero_rsid_matches_name_the_cause(tmp_path):
    sf = read_scorefile(
        write_scorefile(tmp_path / "w.txt", [("rs1", "G", "A", 1.0)], columns=RSID_COLUMNS)
    )
    with pytest.raises(MatchError, match="rsIDs are not the genotypes' variant IDs"):
        match_variants(sf, MATCH_TARGET)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),  # target record (rsID r<k>)
            st.sampled_from(["A", "C", "G", "T", "AC"]),
            st.sampled_from(["A", "C", "G", "T", ""]),
        ),
        min_size=1,
        max_size=12,
    ),
    st.booleans(),
)
def test_rsid_and_position_matching_agree(tmp_path_factory, draws, keep_ambiguous):
    """Property: for rows naming target records, matching by rsID and by position give
    the same plan and outcomes (MATCH_TARGET's positions and IDs are one to one except
    the duplicated record at 500, whose two IDs both fit)."""
    tmp = tmp_path_factory.mktemp("prop")
    where = {"r0": 100, "r1": 200, "r2": 300, "r3": 400, "r4": 500, "r5": 500}
    rows = [
        (f"r{k}", "1", where[f"r{k}"], ea, oa, float(i + 1))
        for i, (k, ea, oa) in enumerate(draws)
        if k != 5  # r5 shares r4's position: by ID it is another record
    ]
    if not rows:
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RsidMatchWarning)
        warnings.simplefilter("ignore", ScoringFileWarning)
        id_plan, id_rep = match_variants(
            _rsid_file(tmp / "id.txt", rows),
            MATCH_TARGET,
            check_overlap=False,
            keep_ambiguous=keep_ambiguous,
        )
        pos_plan, pos_rep = match_variants(
            _pos_file(tmp / "pos.txt", rows),
            MATCH_TARGET,
            check_overlap=False,
            keep_ambiguous=keep_ambiguous,
        )
    assert id_rep.variants["outcome"].tolist() == pos_rep.variants["outcome"].tolist()
    assert id_rep.variants["match_type"].tolist() == pos_rep.variants["match_type"].tolist()
    np.testing.assert_array_equal(id_plan.allele, pos_plan.allele)
    np.testing.assert_array_equal(id_plan.weights, pos_plan.weights)


# --------------------------------------------------------------------------------------
# End to end on a generated VCF, against the same file with positions and PLINK 2


@pytest.fixture
def rsid_cohort(tmp_path):
    """A VCF whose IDs are rsIDs, and its scoring rows (rsID, chrom, pos, effect, other,
    weight) with the effect allele REF or ALT as written (no flips: PLINK 2 never flips),
    plus two rsIDs the VCF lacks."""
    from tests.builders import write_vcf

    rng = np.random.default_rng(7)
    samples = [f"S{i}" for i in range(60)]
    pairs = [("A", "G"), ("C", "T"), ("G", "A"), ("T", "C"), ("A", "C"), ("G", "T")]
    records, rows = [], []
    for i in range(40):
        ref, alt = pairs[i % len(pairs)]
        pos = 1000 + 37 * i
        records.append(("22", pos, f"rs{5000 + i}", ref, alt, random_genotype_cells(rng, 60)))
        effect, other = (alt, ref) if rng.random() < 0.6 else (ref, alt)
        rows.append((f"rs{5000 + i}", "22", pos, effect, other, round(rng.normal(), 4)))
    rows.append(("rs1", "22", 99, "A", "G", 0.5))
    rows.append(("rs2", "22", 98, "C", "T", -0.5))
    vcf = write_vcf(tmp_path / "c.vcf.gz", samples, records, contigs={"22": 60_000})
    return vcf, rows


def _score_by_rsid(vcf, rows, tmp_path):
    """Score the cohort's rows written rsID-only (warns that rsIDs carry no build)."""
    path = write_scorefile(tmp_path / "i.txt", [(r[0], *r[3:]) for r in rows], columns=RSID_COLUMNS)
    with pytest.warns(RsidMatchWarning):
        return score(vcf, path, min_overlap=0)


def test_rsid_scores_equal_position_scores(rsid_cohort, tmp_path):
    vcf, rows = rsid_cohort
    by_pos = score(vcf, write_scorefile(tmp_path / "p.txt", [r[1:] for r in rows]), min_overlap=0)
    by_id = _score_by_rsid(vcf, rows, tmp_path)
    np.testing.assert_array_equal(by_id.sums, by_pos.sums)
    outcomes = by_id.match_report.variants["outcome"].value_counts().to_dict()
    assert outcomes == {"matched": 40, "unmatched_no_id": 2}


@pytest.mark.plink2
def test_rsid_scores_equal_plink2_score_by_id(plink2, rsid_cohort, tmp_path):
    vcf, rows = rsid_cohort
    table = tmp_path / "plink_w.tsv"
    pd.DataFrame(
        {"ID": [r[0] for r in rows], "A1": [r[3] for r in rows], "W": [r[5] for r in rows]}
    ).to_csv(table, sep="\t", index=False)
    out = tmp_path / "plink"
    subprocess.run(
        [
            plink2,
            "--vcf",
            str(vcf),
            "--score",
            str(table),
            "1",
            "2",
            "3",
            "header",
            "cols=+scoresums",
            "--threads",
            "1",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    expected = pd.read_csv(out.with_suffix(".sscore"), sep="\t").set_index("#IID")["SCORE1_SUM"]
    result = _score_by_rsid(vcf, rows, tmp_path)
    got = pd.Series(result.sums[:, 0], index=list(result.samples))
    # PLINK 2 prints 6 significant digits
    np.testing.assert_allclose(got.loc[expected.index], expected, rtol=1e-5, atol=1e-5)


def test_real_rsid_only_copy_scores_as_the_original(shared_data, tmp_path):
    """PGS001229 (chr22) on the CINECA synthetic VCF, whose ID column holds rsIDs: the file
    with its position columns dropped scores exactly as the original."""
    original = shared_data / "pgsc_calc/scorefiles/PGS001229_22.txt"
    vcf = shared_data / "pgsc_calc/target_genomes/cineca_synthetic_subset.vcf.gz"
    lines = original.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    table = pd.read_csv(original, sep="\t", skiprows=header, dtype=str, keep_default_na=False)
    rsid_only = tmp_path / "PGS001229_rsid.txt"
    rsid_only.write_text(
        "\n".join(lines[:header])
        + "\n"
        + table.drop(columns=["chr_name", "chr_position"]).to_csv(sep="\t", index=False)
    )
    by_pos = score(vcf, original)
    with pytest.warns(RsidMatchWarning):
        by_id = score(vcf, rsid_only)
    np.testing.assert_array_equal(by_id.sums, by_pos.sums)
    got = by_id.match_report.variants
    want = by_pos.match_report.variants
    # a row missing from the genotypes: no site at its position, no variant with its ID
    same = got["outcome"].replace("unmatched_no_id", "unmatched_no_site")
    assert same.tolist() == want["outcome"].tolist()
    assert (got["outcome"] == "unmatched_no_id").sum() > 0
    assert (got.loc[got["outcome"] == "matched", "matched_by"] == "rsid").all()


@pytest.mark.plink2
@pytest.mark.parametrize(
    ("make", "suffix"),
    [(["--make-pgen"], ".pgen"), (["--make-bed"], ".bed"), (["--export", "bgen-1.2"], ".bgen")],
)
def test_rsid_matching_through_plink_and_bgen_ids(plink2, rsid_cohort, tmp_path, make, suffix):
    """The same rsID-only file on the cohort converted by PLINK 2 to a PLINK fileset or a
    BGEN file (its .pvar/.bim IDs, BGEN rsids are the VCF's rsIDs) scores as on the VCF."""
    vcf, rows = rsid_cohort
    out = tmp_path / "fileset"
    subprocess.run(
        [plink2, "--vcf", str(vcf), *make, "--threads", "1", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    on_vcf = _score_by_rsid(vcf, rows, tmp_path)
    on_plink = _score_by_rsid(f"{out}{suffix}", rows, tmp_path)
    np.testing.assert_array_equal(on_plink.sums, on_vcf.sums)
    assert (on_plink.match_report.variants["matched_by"] == "rsid").sum() == 40


def test_rows_without_position_in_a_file_with_positions_are_not_matched_by_rsid(tmp_path):
    """Failed harmonization leaves a few rows of a positioned file without one: they stay
    unmatched_no_position (as in pgsc_calc), and the genotypes are read only at the
    file's positions (matching them by ID would need every site)."""
    columns = ("rsID", *POSITION_COLUMNS)
    rows = [("r0", "1", 100, "G", "A", 1.0), ("r1", "", "", "C", "T", 2.0)]
    sf = read_scorefile(write_scorefile(tmp_path / "w.txt", rows, columns=columns))
    assert sf.match_by_rsid is False
    assert {c: p.tolist() for c, p in wanted_positions([sf]).items()} == {"1": [100]}
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, report = match_variants(sf, MATCH_TARGET, min_overlap=0)
    assert not [w for w in caught if issubclass(w.category, RsidMatchWarning)]
    assert report.variants["outcome"].tolist() == ["matched", "unmatched_no_position"]
    # a piece of the file (all its rows without a position) keeps the whole file's answer
    from prs.match import scoring_by_chromosome

    pieces = dict(scoring_by_chromosome(sf))
    assert pieces[""].match_by_rsid is False
