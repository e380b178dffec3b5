"""Scoring in pieces of whole chromosomes (issue 13 item 3: memory flat in the scoring
file's rows): each piece's sites listed, matched and scored in turn, its match report rows
written as they come.

A run in pieces equals the run that lists every site and matches every file at once (the
same pieces' plan rows, the same order of additions) bit for bit, agrees with one piece to
rounding, and with PLINK 2 to its printed digits.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import prs
from prs.genotypes import open_genotypes
from prs.output import output_set, write_table
from tests.builders import random_genotype_cells, write_scorefile, write_vcf
from tests.reference import plink2_scores
from tests.test_plink2 import assert_agree
from tests.test_score_tasks import assert_same_totals

CHROMS = ("1", "2", "3", "4", "5", "X")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """60 samples over chromosomes 1-5 and X (haploid males), multi-allelic sites, missing
    calls; two scoring files: one of two scores with rows repeated (duplicates within a
    score) and rows on a chromosome the VCF lacks, one of one score, rows out of order."""
    tmp = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(11)
    n = 60
    samples = [f"S{i:03d}" for i in range(n)]
    male = np.arange(n) % 2 == 1
    sex = {s: 1 if m else 2 for s, m in zip(samples, male, strict=True)}
    records, rows = [], []
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    for chrom in CHROMS:
        pos = 3_000_000
        for k in range(25):
            pos += int(rng.integers(50, 500))
            ref, alt = rng.choice(list("ACGT"), 2, replace=False)
            alts = [alt] if k % 9 != 4 else [alt, next(b for b in "ACGT" if b not in (ref, alt))]
            cells = random_genotype_cells(
                rng, n, len(alts), missing=0.06, haploid=male if chrom == "X" else None
            )
            records.append((chrom, pos, f"v{chrom}_{pos}", ref, ",".join(alts), cells))
            if comp[ref] == alts[0]:
                continue  # ambiguous
            effect, other = (alts[0], ref) if k % 3 else (ref, alts[0])
            rows.append((chrom, pos, effect, other, round(float(rng.normal(0, 1)), 6)))
    vcf = write_vcf(tmp / "cohort.vcf.gz", samples, records)
    two = [(*r, round(r[4] * 0.5 + 0.01, 6) if i % 4 else "") for i, r in enumerate(rows)]
    two += [two[3], two[40]]  # repeated rows: duplicates within a score
    two += [("7", 100 + i, "A", "G", 0.5, 0.25) for i in range(6)]  # no such chromosome
    sf_two = write_scorefile(
        tmp / "two.txt",
        two,
        columns=("chr_name", "chr_position", "effect_allele", "other_allele", "A", "B"),
    )
    one = [r for i, r in enumerate(rows) if i % 2 == 0][::-1]  # rows out of order
    sf_one = write_scorefile(tmp / "one.txt", one, header={"pgs_id": "ONE"})
    return {"vcf": vcf, "scorefiles": [sf_two, sf_one], "sex": sex, "tmp": tmp}


def run(cohort, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prs.score(
            cohort["vcf"],
            cohort["scorefiles"],
            sex=cohort["sex"],
            genome_build="GRCh38",
            min_overlap=0.5,
            **kwargs,
        )


def assert_same(a, b, *, exact: bool) -> None:
    assert a.score_ids == b.score_ids
    assert_same_totals(a, b, exact=exact)
    np.testing.assert_array_equal(a.variants_used, b.variants_used)
    pd.testing.assert_frame_equal(a.match_report.counts, b.match_report.counts)


def by_row(frame: pd.DataFrame) -> pd.DataFrame:
    """The report's rows in (score, line) order: one row each (checked), whatever order
    the pieces wrote them in."""
    assert not frame.duplicated(["score", "line"]).any()
    return frame.sort_values(["score", "line"]).reset_index(drop=True)


@pytest.mark.parametrize(
    "layout",
    [
        {},
        {"chunk_size": 3, "task_variants": 10},
        {"chunk_size": 4, "task_variants": 7, "sample_block": 13},
        {"chunk_size": 5, "sample_block": 25, "missing": "none"},
    ],
)
def test_pieces_equal_matching_at_once_bit_for_bit(cohort, layout):
    """Pieces of ~40 rows (several chromosomes each, chrX with males on its own terms):
    listing and matching piece by piece gives the run that matches every file at once,
    bit for bit, and the same match report (rows in the same order, same counts)."""
    streamed = run(cohort, stream_rows=40, **layout)
    at_once = run(cohort, stream_rows=40, stream=False, **layout)
    execution = streamed.provenance["execution"]
    assert execution["pieces"] >= 4 and execution["streamed"] is True
    assert at_once.provenance["execution"]["streamed"] is False
    assert execution["regions"] == at_once.provenance["execution"]["regions"]
    assert_same(streamed, at_once, exact=True)
    pd.testing.assert_frame_equal(
        streamed.match_report.variants.astype(object), at_once.match_report.variants.astype(object)
    )
    counts = streamed.match_report.counts
    assert (counts["excluded_duplicate_row"] > 0).any()  # the case is exercised
    assert (counts["unmatched_no_site"] > 0).any()


def test_pieces_agree_with_one_piece(cohort):
    """Pieces cut the sums where one piece does not: they agree to rounding, counts
    exactly; the whole-file report is the same table."""
    one = run(cohort, stream_rows=None)
    assert one.provenance["execution"]["pieces"] == 1
    pieces = run(cohort, stream_rows=25, chunk_size=7)
    assert pieces.provenance["execution"]["pieces"] > 4
    assert_same(pieces, one, exact=False)
    pd.testing.assert_frame_equal(
        pieces.match_report.variants.astype(object), one.match_report.variants.astype(object)
    )


@pytest.mark.plink2
def test_pieces_agree_with_plink2(plink2, cohort, tmp_path):
    """Scored in pieces, the one-score file equals PLINK 2's scores (the matched variants
    scored by it; chrX of unknown sex, as PLINK 2 reading a VCF)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = prs.score(cohort["vcf"], cohort["scorefiles"][1], min_overlap=0.5, stream_rows=15)
    assert result.provenance["execution"]["pieces"] > 2
    expected = plink2_scores(plink2, result, [cohort["vcf"]], tmp_path)
    assert_agree(result, expected)


def test_sites_listed_piece_by_piece(cohort):
    """Each piece lists only its own chromosomes' sites (what keeps memory to a piece);
    together they list every chromosome once."""
    source = open_genotypes(cohort["vcf"])
    asked: list[list[str]] = []
    real_sites = source.sites

    def sites(wanted=None):
        asked.append(sorted(wanted))
        return real_sites(wanted)

    source.sites = sites  # type: ignore[method-assign]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = prs.score(source, cohort["scorefiles"], min_overlap=0.5, stream_rows=40)
    assert len(asked) == result.provenance["execution"]["pieces"] > 2
    listed = [c for piece in asked for c in piece]
    assert sorted(listed) == sorted({*CHROMS, "7"}) and len(listed) == len(set(listed))


@pytest.mark.parametrize("name", ["match_report.tsv", "match_report.parquet"])
def test_report_rows_written_as_they_come(cohort, tmp_path, name):
    """match_report_rows: the rows go to the writer piece by piece (the result keeps none);
    the file holds the rows of the report kept in memory, and the scores are the same."""
    kept = run(cohort, stream_rows=40)
    calls = []

    with output_set(tmp_path / "out") as outs:

        def writer(rows):
            calls.append(1)
            return outs.write_table_pieces(rows, name)

        written = run(cohort, stream_rows=40, match_report_rows=writer)
    assert calls == [1]
    assert len(written.match_report.variants) == 0
    assert list(written.match_report.variants.columns) == list(kept.match_report.variants.columns)
    assert_same(written, kept, exact=True)
    in_memory = kept.match_report.variants
    path = tmp_path / "out" / name
    reference = write_table(in_memory, tmp_path / f"in_memory_{name}")

    def read(file):
        return pd.read_parquet(file) if name.endswith(".parquet") else pd.read_csv(file, sep="\t")

    # the whole table, every column, with the dtypes the format writes and reads back: the
    # file written piece by piece is the in-memory report's file, rows in piece order
    table = read(path)
    assert list(table.columns) == list(in_memory.columns)
    pd.testing.assert_frame_equal(by_row(table), by_row(read(reference)))
    if name.endswith(".parquet"):  # Parquet keeps the values as they are in memory
        pd.testing.assert_frame_equal(
            by_row(table), by_row(in_memory), check_dtype=False, check_column_type=False
        )
    else:  # TSV (an empty string reads back as NaN): the same lines, the header first
        lines, want = path.read_text().splitlines(), reference.read_text().splitlines()
        assert lines[0] == want[0] and sorted(lines[1:]) == sorted(want[1:])


def test_rows_without_position_and_small_files_are_one_piece(cohort, tmp_path):
    """At most stream_rows rows: one piece, as before pieces existed (provenance says so)."""
    result = run(cohort)
    execution = result.provenance["execution"]
    assert execution["pieces"] == 1 and execution["streamed"] is False
    assert execution["stream_rows"] == prs.scoring.pipeline.DEFAULT_STREAM_ROWS


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream_rows=st.integers(1, 120),
    chunk_size=st.integers(1, 9),
    task_variants=st.one_of(st.none(), st.integers(1, 30)),
)
def test_chunking_invariance_across_piece_boundaries(
    cohort, stream_rows, chunk_size, task_variants
):
    """Whatever the pieces, chunks and regions: pieces streamed = matched at once, bit for
    bit (a chunk or region never spans two pieces, in either run)."""
    kwargs = dict(stream_rows=stream_rows, chunk_size=chunk_size, task_variants=task_variants)
    assert_same(run(cohort, **kwargs), run(cohort, stream=False, **kwargs), exact=True)


def test_report_rows_arrive_before_the_next_piece_is_listed(cohort):
    """The writer gets each piece's rows before the next piece's sites are listed: the
    report is written as the run goes, never held whole."""
    source = open_genotypes(cohort["vcf"])
    listed = 0
    real_sites = source.sites

    def sites(wanted=None):
        nonlocal listed
        listed += 1
        return real_sites(wanted)

    source.sites = sites  # type: ignore[method-assign]
    seen: list[tuple[int, int]] = []

    def writer(rows):
        for frame in rows:
            seen.append((listed, len(frame)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = prs.score(
            source, cohort["scorefiles"], min_overlap=0.5, stream_rows=40, match_report_rows=writer
        )
    pieces = result.provenance["execution"]["pieces"]
    assert seen[0][0] == 1 and listed == pieces
    # every piece's rows handed on while it was the last one listed
    assert sorted({at for at, _ in seen}) == list(range(1, pieces + 1))
    assert sum(n for _, n in seen) == len(run(cohort, stream_rows=40).match_report.variants)


# --------------------------------------------------------------------------------------
# The scoring rows set aside on disk in a run in pieces (memory of a piece, not the files)
# --------------------------------------------------------------------------------------


def test_rows_set_aside_read_back_exactly_as_each_piece_takes_them(cohort):
    """Each piece read back from disk is the piece cut from the files in memory: the same
    columns, dtypes, values and weights (NaN where a row is not in a score), file by file;
    the directory is gone once closed."""
    from prs.scoring.pipeline import _piece_chromosomes, _rows_on, _SpilledRows
    from prs.weights import read_scorefile

    scoring = [read_scorefile(p) for p in cohort["scorefiles"]]
    pieces = _piece_chromosomes(scoring, 40)
    assert pieces is not None and len(pieces) >= 4
    spilled = _SpilledRows(scoring, pieces)
    directory = spilled.directory
    try:
        for shell, sf in zip(spilled.shells, scoring, strict=True):
            assert shell.n_variants == 0 and shell.score_ids == sf.score_ids
            assert shell.match_by_rsid == sf.match_by_rsid
        seen = [0] * len(scoring)
        for k, chroms in enumerate(pieces):
            back = spilled.load(k)
            for i, sf in enumerate(scoring):
                expected = _rows_on(sf, chroms)
                pd.testing.assert_frame_equal(back[i].variants, expected.variants)
                np.testing.assert_array_equal(back[i].weights, expected.weights)
                assert back[i].weights.dtype == expected.weights.dtype
                seen[i] += back[i].n_variants
        assert seen == [sf.n_variants for sf in scoring]  # every row in one piece
    finally:
        spilled.close()
    assert not os.path.exists(directory)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """``tempfile``'s directory for the test (what ``TMPDIR`` sets for a process)."""
    where = tmp_path / "tmpdir"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


def test_run_in_pieces_sets_rows_aside_and_removes_them(cohort, private_tmp):
    """A run in pieces of files read from paths sets their rows aside (recorded), gives the
    run that holds them bit for bit, records every file's rows, and leaves nothing behind;
    ScoringFile objects given by the caller are not set aside (the caller holds them)."""
    aside = run(cohort, stream_rows=40)
    held = run(cohort, stream_rows=40, stream=False)
    assert aside.provenance["execution"]["scoring_rows_set_aside"] is True
    assert held.provenance["execution"]["scoring_rows_set_aside"] is False
    arithmetic = aside.provenance["execution"]["arithmetic_this_process"]
    assert set(arithmetic) == {"numba", "numpy_genotypes"}
    assert_same(aside, held, exact=True)
    from prs.weights import read_scorefile

    rows = [read_scorefile(p).n_variants for p in cohort["scorefiles"]]
    assert [f["rows"] for f in aside.provenance["scorefiles"]] == rows
    assert [f["rows"] for f in held.provenance["scorefiles"]] == rows
    assert list(private_tmp.iterdir()) == []
    objects = [read_scorefile(p) for p in cohort["scorefiles"]]
    given = run({**cohort, "scorefiles": objects}, stream_rows=40)
    assert given.provenance["execution"]["scoring_rows_set_aside"] is False
    assert_same(given, aside, exact=True)


def test_rows_set_aside_are_removed_when_the_run_fails(cohort, private_tmp):
    """A run that fails after its pieces (a match rate below min_overlap, known only once
    every piece is matched) removes the rows it set aside."""
    with pytest.raises(prs.errors.MatchError):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prs.score(
                cohort["vcf"],
                cohort["scorefiles"],
                sex=cohort["sex"],
                genome_build="GRCh38",
                min_overlap=0.99,
                stream_rows=40,
            )
    assert list(private_tmp.iterdir()) == []


def test_nowhere_to_set_rows_aside_is_a_clear_error(cohort, tmp_path, monkeypatch):
    """A temporary directory that cannot be made is a ScoreError naming it and the ways
    out, not an OSError from deep inside."""
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where TMPDIR points\n")
    monkeypatch.setattr(tempfile, "tempdir", str(blocked))
    with pytest.raises(prs.errors.ScoreError, match=r"not-a-directory.*TMPDIR.*--stream-rows"):
        run(cohort, stream_rows=40)


def test_a_run_that_fails_before_its_pieces_sets_nothing_aside(cohort, private_tmp):
    """A dosage field the VCF lacks (HDS) is refused before any row is set aside (nothing
    written, nothing left behind)."""
    with pytest.raises(prs.errors.GenotypeFileError, match="HDS"):
        run(cohort, stream_rows=40, dosage="HDS")
    assert list(private_tmp.iterdir()) == []


def test_rows_set_aside_and_lost_meanwhile_are_a_clear_error(cohort, private_tmp):
    """A piece file removed while the run goes (a /tmp cleaner) is a ScoreError naming it
    and what to do, not a bare FileNotFoundError; the directory is removed still."""

    def writer(rows):
        for k, frame in enumerate(rows):
            assert len(frame)
            if k == 0:  # after the first piece: the others' files go
                for piece in private_tmp.glob("prs-rows-*/piece-*.pickle"):
                    if not piece.name.endswith("-0.pickle"):
                        piece.unlink()

    with pytest.raises(prs.errors.ScoreError, match=r"piece-\d+\.pickle cannot be read back"):
        run(cohort, stream_rows=40, match_report_rows=writer)
    assert list(private_tmp.iterdir()) == []


def test_one_piece_over_stream_rows_is_not_set_aside(cohort, tmp_path, private_tmp):
    """Rows over ``stream_rows`` all on one chromosome make one piece: nothing to gain by
    setting them aside, so they are not (and the run is the run held in memory)."""
    from prs.weights import read_scorefile

    text = Path(cohort["scorefiles"][1]).read_text().splitlines(keepends=True)
    head = [t for t in text if t.startswith("#")]
    body = [t for t in text if not t.startswith("#")]
    chrom = body[0].rstrip("\n").split("\t").index("chr_name")
    on_one = [t for t in body[1:] if t.split("\t")[chrom] == "1"]
    one = tmp_path / "one_chrom.txt"
    one.write_text("".join([*head, body[0], *on_one]))
    kept = read_scorefile(one)
    assert set(kept.variants["chrom"]) == {"1"} and kept.n_variants == len(on_one) > 5
    streamed = run({**cohort, "scorefiles": [one]}, stream_rows=5)
    execution = streamed.provenance["execution"]
    assert execution["pieces"] == 1 and execution["scoring_rows_set_aside"] is False
    assert list(private_tmp.iterdir()) == []


def test_chromosomes_that_are_not_text_are_refused(cohort):
    """A ScoringFile built by hand with numbers for chromosomes is refused, naming the
    file: counted as "1" but never selected as "1", its rows would leave a run in pieces
    silently (the match rate then looked better than it was)."""
    from dataclasses import replace

    from prs.weights import read_scorefile

    sf = read_scorefile(cohort["scorefiles"][1])
    variants = sf.variants.copy()
    variants["chrom"] = [int(c) if c.isdigit() else c for c in variants["chrom"]]
    with pytest.raises(prs.errors.ScoringFileError, match=r"one\.txt: chrom values must be text"):
        replace(sf, variants=variants)
    variants["chrom"] = [None if c == 1 else str(c) for c in variants["chrom"]]
    assert replace(sf, variants=variants).n_variants == sf.n_variants  # missing is allowed
