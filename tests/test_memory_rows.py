"""Memory per scoring row (issue 13, item 3): what a scoring file, its match report and the
positions parser keep per row, checked against values written here and a plain-Python
reading of the same text."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.errors import MatchError, ScoreWarning, ScoringFileError
from prs.genome import MAX_POSITION
from prs.match import match_variants
from prs.weights import read_scorefile
from prs.weights.scorefile import _positions

_PAIRS = [("A", "C"), ("A", "G"), ("C", "T"), ("G", "T"), ("T", "C"), ("G", "A")]


def _write_scorefile(path, n_rows: int, seed: int = 7) -> dict[str, list]:
    """A PGS Catalog style file of ``n_rows`` rows on chromosomes 1-22; its columns as
    written."""
    rng = np.random.default_rng(seed)
    chrom = np.sort(rng.integers(1, 23, n_rows))
    pos = rng.integers(1, 10**8, n_rows)
    pair = rng.integers(0, len(_PAIRS), n_rows)
    weight = np.round(rng.normal(0, 0.05, n_rows), 6)
    rows = {
        "rsid": [f"rs{100_000 + i}" for i in range(n_rows)],
        "chrom": [str(c) for c in chrom],
        "pos": pos.tolist(),
        "effect_allele": [_PAIRS[p][1] for p in pair],
        "other_allele": [_PAIRS[p][0] for p in pair],
        "weight": weight.tolist(),
    }
    lines = ["#pgs_id=PGS_MEM\n#genome_build=GRCh37\n"]
    lines.append("rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n")
    for i in range(n_rows):
        lines.append(
            f"{rows['rsid'][i]}\t{rows['chrom'][i]}\t{rows['pos'][i]}\t"
            f"{rows['effect_allele'][i]}\t{rows['other_allele'][i]}\t{rows['weight'][i]!r}\n"
        )
    path.write_text("".join(lines))
    return rows


def _sites_of(rows: dict[str, list], every: int = 2) -> pd.DataFrame:
    """A site table (the columns :meth:`GenotypeSource.sites` gives) holding every
    ``every``-th scoring row's variant, REF = other allele."""
    take = np.arange(0, len(rows["pos"]), every)
    n = len(take)
    return pd.DataFrame(
        {
            "chrom": np.array(rows["chrom"], dtype=object)[take],
            "pos": np.array(rows["pos"], dtype=np.int64)[take],
            "ref": np.array(rows["other_allele"], dtype=object)[take],
            "alt": np.array(rows["effect_allele"], dtype=object)[take],
            "allele_index": np.ones(n, dtype=np.int16),
            "n_alleles": np.full(n, 2, dtype=np.int16),
            "record": np.arange(n, dtype=np.int64),
            "file": np.zeros(n, dtype=np.int32),
            "id": np.array([f"v{i}" for i in range(n)], dtype=object),
        }
    )


def test_scoring_file_keeps_no_python_string_per_row(tmp_path):
    """The variants table of 50,000 rows holds the values written, in under 120 bytes a
    row (Python strings per text field, as pandas 2 made them, cost ~300)."""
    n = 50_000
    rows = _write_scorefile(tmp_path / "big.txt", n)
    sf = read_scorefile(tmp_path / "big.txt")
    variants = sf.variants
    for column in ("rsid", "chrom", "effect_allele", "other_allele", "effect_type"):
        assert variants[column].dtype != object, column
    assert variants["rsid"].tolist() == rows["rsid"]
    assert variants["chrom"].tolist() == rows["chrom"]
    assert variants["pos"].tolist() == rows["pos"]
    assert variants["effect_allele"].tolist() == rows["effect_allele"]
    assert variants["other_allele"].tolist() == rows["other_allele"]
    assert sf.weights[:, 0].tolist() == rows["weight"]
    # String comparisons still give numpy booleans, as the matcher and reader rely on.
    assert (variants["effect_allele"] == "A").to_numpy().dtype == np.bool_
    per_row = variants.memory_usage(deep=True).sum() / n
    assert per_row < 120, f"{per_row:.0f} bytes per scoring row"


def test_match_report_keeps_no_python_string_per_row(tmp_path):
    """The match report of 50,000 rows (half matched) names each row's fate as written,
    in under 250 bytes a row (with a Python string per text field: ~600)."""
    n = 50_000
    rows = _write_scorefile(tmp_path / "big.txt", n)
    sf = read_scorefile(tmp_path / "big.txt")
    _, report = match_variants(sf, _sites_of(rows), min_overlap=0.4)
    table = report.variants
    assert len(table) == n
    outcome = table["outcome"].to_numpy(dtype=object)
    assert (outcome[0::2] == "matched").all()
    assert (outcome[1::2] == "unmatched_no_site").all()
    assert table["target_id"].iloc[0::2].tolist() == [f"v{i}" for i in range(len(outcome[0::2]))]
    assert set(table["target_id"].iloc[1::2]) == {""}
    for column in ("chrom", "effect_allele", "target_id", "target_ref", "outcome", "reason"):
        assert table[column].dtype != object, column
    per_row = table.memory_usage(deep=True).sum() / n
    assert per_row < 250, f"{per_row:.0f} bytes per report row"


def _reference_position(text: str) -> int | None:
    """A position as the format defines it, in plain Python: a whole number of ASCII
    digits within [0, MAX_POSITION] after stripping whitespace, -1 when empty; None when
    invalid."""
    stripped = text.strip()
    if stripped == "":
        return -1
    if not _is_digits(stripped):
        return None
    value = int(stripped)
    return value if value <= MAX_POSITION else None


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


_POSITION_TEXT = st.one_of(
    st.integers(0, 2**33).map(str),
    st.integers(0, 2**31).map(lambda v: f"  {v}\t"),
    st.integers(0, 999).map(lambda v: f"000000000{v}"),
    st.sampled_from(["", " ", "-5", "1e5", "12.0", "١٢", "0x1F", "+3", "2147483647", "2147483648"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_POSITION_TEXT, min_size=1, max_size=30), st.booleans())
def test_positions_equal_a_plain_python_reading(values, arrow_backed):
    """Arrow's fast position parse or the checked one: the positions a plain-Python reading
    gives, or an error naming the line of the first bad value."""
    expected = [_reference_position(v) for v in values]
    series = pd.Series(values, dtype="string[pyarrow]" if arrow_backed else object)
    lines = np.arange(10, 10 + len(values))
    if any(e is None for e in expected):
        # A value that is no whole number is named before one above the limit.
        not_numbers = [i for i, v in enumerate(values) if not _is_digits(v.strip() or "0")]
        first = not_numbers[0] if not_numbers else expected.index(None)
        with pytest.raises(ScoringFileError, match=f"line {lines[first]}:"):
            _positions(series, "chr_position", "f.txt", lines)
    else:
        got = _positions(series, "chr_position", "f.txt", lines)
        assert got.dtype == np.int64
        assert got.tolist() == expected


def _messy_scorefile(path, seed: int) -> dict[str, list]:
    """A two-score table over chromosomes 1-3 and a row without a position, rows out of
    chromosome order, repeated rows (duplicates within a score) and flipped alleles."""
    rng = np.random.default_rng(seed)
    n = 300
    chrom = rng.choice(["1", "2", "3"], n)
    pos = rng.integers(1, 60, n)  # few positions: many repeats
    pair = rng.integers(0, len(_PAIRS), n)
    flip = rng.random(n) < 0.3
    comp = str.maketrans("ACGT", "TGCA")
    ea = [
        _PAIRS[p][1].translate(comp) if f else _PAIRS[p][1] for p, f in zip(pair, flip, strict=True)
    ]
    oa = [
        _PAIRS[p][0].translate(comp) if f else _PAIRS[p][0] for p, f in zip(pair, flip, strict=True)
    ]
    w1 = np.round(rng.normal(0, 1, n), 4).tolist()
    w2 = np.where(rng.random(n) < 0.5, np.round(rng.normal(0, 1, n), 4), np.nan).tolist()
    lines = ["chr_name\tchr_position\teffect_allele\tother_allele\ts1\ts2\n"]
    for i in range(n):
        position = "" if i == 7 else str(pos[i])
        second = "" if math.isnan(w2[i]) else repr(w2[i])
        lines.append(f"{chrom[i]}\t{position}\t{ea[i]}\t{oa[i]}\t{w1[i]!r}\t{second}\n")
    path.write_text("".join(lines))
    return {"chrom": list(chrom), "pos": pos.tolist(), "pair": pair.tolist()}


@pytest.mark.parametrize("seed", range(4))
def test_matching_chromosome_by_chromosome_equals_matching_whole(tmp_path, seed):
    """Pieces per chromosome, matched and joined (scoring_by_chromosome, concat_pieces): the
    plan, report and counts of matching the whole file at once."""
    from prs.match import concat_pieces, scoring_by_chromosome

    rows = _messy_scorefile(tmp_path / "s.txt", seed)
    sf = read_scorefile(tmp_path / "s.txt")
    # Target: every third position of each chromosome, REF/ALT of the row's pair.
    keys = sorted(
        {(c, p, q) for c, p, q in zip(rows["chrom"], rows["pos"], rows["pair"], strict=True)}
    )
    keys = keys[::3]
    sites = pd.DataFrame(
        {
            "chrom": [k[0] for k in keys],
            "pos": np.array([k[1] for k in keys], dtype=np.int64),
            "ref": [_PAIRS[k[2]][0] for k in keys],
            "alt": [_PAIRS[k[2]][1] for k in keys],
            "allele_index": np.ones(len(keys), dtype=np.int16),
            "n_alleles": np.full(len(keys), 2, dtype=np.int16),
            "record": np.arange(len(keys), dtype=np.int64),
            "file": np.zeros(len(keys), dtype=np.int32),
            "id": [f"v{i}" for i in range(len(keys))],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoreWarning)
        plan, report = match_variants(sf, sites, min_overlap=0.0)
        pieces = []
        chroms = []
        for chrom, piece in scoring_by_chromosome(sf):
            chroms.append(chrom)
            piece_sites = sites[sites["chrom"] == chrom].reset_index(drop=True)
            pieces.append(match_variants(piece, piece_sites, check_overlap=False))
        joined_plan, joined_report = concat_pieces(sf, pieces[::-1], min_overlap=0.0)
    assert sorted(chroms) == ["", "1", "2", "3"] or sorted(chroms) == ["1", "2", "3"]
    for name in ("record", "allele", "effect_type", "allele_frequency", "line"):
        np.testing.assert_array_equal(getattr(joined_plan, name), getattr(plan, name))
    np.testing.assert_array_equal(joined_plan.weights, plan.weights)
    pd.testing.assert_frame_equal(joined_report.counts, report.counts)
    pd.testing.assert_frame_equal(
        joined_report.variants.astype(object), report.variants.astype(object)
    )
    assert (report.counts["excluded_duplicate_row"] > 0).any()  # the case is exercised
    # The whole file's rate is checked once, over every piece.
    with pytest.raises(MatchError, match="below the minimum"):
        concat_pieces(sf, pieces, min_overlap=0.99)


@pytest.mark.parametrize("name", ["report.tsv", "report.parquet"])
def test_report_written_piece_by_piece_equals_written_whole(tmp_path, name):
    """A match report written chromosome by chromosome (write_table_pieces) is the file
    written whole (write_table of the concatenation): the same bytes as TSV, the same
    table as Parquet; a piece that pandas must write (a value to quote) included."""
    from prs.match import scoring_by_chromosome
    from prs.output import output_set

    rows = _write_scorefile(tmp_path / "big.txt", 3_000)
    sf = read_scorefile(tmp_path / "big.txt")
    sites = _sites_of(rows)
    sites.loc[5, "id"] = 'odd"id'  # pandas quotes it: that piece is written by pandas
    reports = []
    for chrom, piece in scoring_by_chromosome(sf):
        piece_sites = sites[sites["chrom"] == chrom].reset_index(drop=True)
        reports.append(match_variants(piece, piece_sites, check_overlap=False)[1].variants)
    with output_set(tmp_path / "pieces") as outs:
        outs.write_table_pieces(iter(reports), name)
    with output_set(tmp_path / "whole") as outs:
        outs.write_table(pd.concat(reports, ignore_index=True), name)
    pieces_file, whole_file = tmp_path / "pieces" / name, tmp_path / "whole" / name
    if name.endswith(".tsv"):
        assert pieces_file.read_bytes() == whole_file.read_bytes()
        assert 'odd"id' in pd.read_csv(pieces_file, sep="\t")["target_id"].tolist()
    else:
        pd.testing.assert_frame_equal(pd.read_parquet(pieces_file), pd.read_parquet(whole_file))
    assert len(
        pd.read_csv(pieces_file, sep="\t")
        if name.endswith(".tsv")
        else pd.read_parquet(pieces_file)
    ) == len(rows["pos"])


def test_benchmark_run_in_pieces_writes_what_prs_score_computes(tmp_path):
    """benchmarks.memory_rows --stream-rows: the run in pieces (report written as it goes)
    writes one report row per scoring row, and the scores of prs.score in one piece."""
    from benchmarks import memory_rows

    vcf = tmp_path / "v.vcf.gz"
    memory_rows.write_vcf(vcf, 3_000, 5)
    prs_path, plink_path = tmp_path / "s.prs.txt", tmp_path / "s.plink.tsv"
    memory_rows.write_scores(prs_path, plink_path, 3_000, 1_200)
    memory_rows.run_streamed(str(vcf), str(prs_path), str(tmp_path / "out"), 100)
    provenance = pd.read_json(tmp_path / "out" / "provenance.json", typ="series")
    assert provenance["execution"]["pieces"] > 5
    report = pd.read_csv(tmp_path / "out" / "match_report.tsv", sep="\t")
    assert len(report) == 1_200 and (report["outcome"] == "matched").all()
    written = pd.read_csv(tmp_path / "out" / "scores.tsv", sep="\t")
    import prs

    whole = prs.score(vcf, prs_path, stream_rows=None).to_frame()
    np.testing.assert_allclose(
        written.sort_values(["sample_id", "score"])["SUM"].to_numpy(),
        whole.sort_values(["sample_id", "score"])["SUM"].to_numpy(),
        rtol=1e-9,
    )
