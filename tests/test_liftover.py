"""Liftover GRCh37 <-> GRCh38 (prs.weights.liftover): positions, fates, the chain file's
fetch/verify/cache over the loopback server, and matching after a lift.

Chain files are generated here (no network): blocks of random sizes and gaps, one
chromosome on the reverse strand, a region mapped twice and one mapped to another
chromosome. Expected positions come from the block definitions themselves (arithmetic
independent of any liftover code) and from ``pyliftover`` (an independent
implementation) when installed.
"""

from __future__ import annotations

import gzip
import hashlib
import warnings
from pathlib import Path

import liftover  # noqa: F401  (a core dependency: a broken install fails, not skips)
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.errors import CatalogError, LiftoverWarning, MatchError
from prs.match import check_builds, match_variants
from prs.weights import read_scorefile
from prs.weights.liftover import (
    chain_location,
    fetch_chain,
    lift_scoring_file,
    lift_to_build,
    read_chain,
)
from tests.builders import site_table, write_scorefile, write_vcf
from tests.catalog_server import CatalogServer, CatalogTree, clear_catalog_env, md5_hex


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch, tmp_path):
    """No developer setting leaks in, and nothing lands in the user's cache."""
    clear_catalog_env(monkeypatch)
    monkeypatch.delenv("PRS_CHAIN_BASE", raising=False)
    monkeypatch.setenv("PRS_CACHE_DIR", str(tmp_path / "default-cache"))


# --------------------------------------------------------------------------------------
# A generated chain file and its exact mapping


def make_chain(rng, chroms, *, reverse=(), n_blocks=40):
    """Chain text and, per chromosome, its blocks ``(t0, q0, size)`` (0-based), the
    query chromosome's size and strand. ``chroms``: (name, size)."""
    lines, layout = [], {}
    for k, (name, size) in enumerate(chroms, start=1):
        t, q, blocks = 10_000, 4_000, []
        for _ in range(n_blocks):
            b, dt, dq = (int(x) for x in rng.integers([200, 0, 0], [3_000, 400, 400]))
            blocks.append((t, q, b))
            t, q = t + b + dt, q + b + dq
        assert t < size
        qsize = q + 10_000
        strand = "-" if name in reverse else "+"
        (t0, q0, _), (tl, ql, bl) = blocks[0], blocks[-1]
        lines.append(
            f"chain 1000 {name} {size} + {t0} {tl + bl} {name} {qsize} {strand} {q0} {ql + bl} {k}"
        )
        for i, (bt, bq, b) in enumerate(blocks):
            if i + 1 < len(blocks):
                nt, nq, _ = blocks[i + 1]
                lines.append(f"{b}\t{nt - bt - b}\t{nq - bq - b}")
            else:
                lines.append(str(b))
        lines.append("")
        layout[name] = (blocks, qsize, strand)
    return "\n".join(lines) + "\n", layout


def expected_lift(layout, chrom, pos1):
    """1-based position -> (1-based lifted position, strand) or None, from the blocks."""
    blocks, qsize, strand = layout[chrom]
    p = pos1 - 1
    for t0, q0, b in blocks:
        if t0 <= p < t0 + b:
            r = q0 + (p - t0)
            return (r if strand == "+" else qsize - 1 - r) + 1, strand
    return None


@pytest.fixture
def chain(tmp_path):
    rng = np.random.default_rng(11)
    text, layout = make_chain(rng, [("chr1", 400_000), ("chr2", 400_000)], reverse=("chr2",))
    # chr3: one region mapped to two places (two chains) and one to chr4
    extra = (
        "chain 900 chr3 300000 + 1000 2000 chr3 300000 + 5000 6000 90\n1000\n\n"
        "chain 800 chr3 300000 + 1000 2000 chr3 300000 + 9000 10000 91\n1000\n\n"
        "chain 700 chr3 300000 + 3000 4000 chr4 300000 + 100 1100 92\n1000\n\n"
    )
    path = tmp_path / "hg19ToHg38.over.chain.gz"
    path.write_bytes(gzip.compress((text + extra).encode(), mtime=0))
    return path, layout


def test_lifted_positions_equal_the_chain_arithmetic(chain):
    path, layout = chain
    handle = read_chain(path)
    rng = np.random.default_rng(3)
    checked = 0
    for chrom in ("chr1", "chr2"):
        for pos1 in rng.integers(9_000, 120_000, 3_000):
            want = expected_lift(layout, chrom, int(pos1))
            got = handle.convert_coordinate(chrom, int(pos1) - 1)
            if want is None:
                assert got == []
            else:
                assert [(g[1] + 1, g[2]) for g in got] == [want]
                checked += 1
    assert checked > 3_000  # most positions fall in blocks


def test_liftover_package_agrees_with_pyliftover(chain):
    pyliftover = pytest.importorskip("pyliftover")
    path, _ = chain
    ours, theirs = read_chain(path), pyliftover.LiftOver(str(path))
    rng = np.random.default_rng(5)
    for chrom in ("chr1", "chr2", "chr3"):
        for pos0 in rng.integers(0, 120_000, 2_000):
            a = ours.convert_coordinate(chrom, int(pos0))
            b = theirs.convert_coordinate(chrom, int(pos0)) or []
            assert sorted((c, int(p), s) for c, p, s in a) == sorted(
                (c, int(p), s) for c, p, s, *_ in b
            )


def _scoring(tmp_path, rows, build="GRCh37"):
    tmp_path.mkdir(parents=True, exist_ok=True)
    header = {"pgs_id": "PGS1", **({"genome_build": build} if build else {})}
    return read_scorefile(write_scorefile(tmp_path / "w.txt", rows, header=header))


def _lifted_row(layout, chrom, rng):
    blocks, _, _ = layout[chrom]
    t0, _, b = blocks[int(rng.integers(len(blocks)))]
    return t0 + int(rng.integers(b)) + 1


def test_every_row_gets_a_fate(chain, tmp_path):
    path, layout = chain
    rng = np.random.default_rng(9)
    p1, p2 = _lifted_row(layout, "chr1", rng), _lifted_row(layout, "chr2", rng)
    gap = layout["chr1"][0][0][0] - 5  # before the first block
    rows = [
        ("1", p1, "G", "A", 1.0),
        ("2", p2, "G", "T", 2.0),  # reverse strand: alleles reverse complemented
        ("1", gap, "C", "T", 3.0),
        ("3", 1500, "A", "G", 4.0),  # two chains: multiple
        ("3", 3500, "A", "G", 5.0),  # to chr4
        ("2", p2, "GA", "G", 6.0),  # an indel on the reverse strand
    ]
    sf = _scoring(tmp_path, rows)
    with pytest.warns(LiftoverWarning, match="4 row"):
        lifted = lift_scoring_file(sf, "GRCh38", path)
    v = lifted.variants
    assert lifted.genome_build == "GRCh38" and "liftover" in lifted.header
    assert v["liftover"].tolist() == [
        "lifted",
        "lifted_reverse",
        "unmapped",
        "multiple",
        "other_chrom",
        "reverse_indel",
    ]
    assert v["pos"].tolist()[:2] == [
        expected_lift(layout, "chr1", p1)[0],
        expected_lift(layout, "chr2", p2)[0],
    ]
    assert (v["pos"].iloc[2:] == -1).all()
    from prs.vocab import LIFTOVER_FATES

    assert set(v["liftover"]) | {"no_position"} == set(LIFTOVER_FATES)
    assert v["source_pos"].tolist() == [r[1] for r in rows]
    assert v[["effect_allele", "other_allele"]].iloc[1].tolist() == ["C", "A"]
    np.testing.assert_array_equal(lifted.weights, sf.weights)


def test_matching_after_a_lift_equals_matching_the_target_build_file(chain, tmp_path):
    """A GRCh37 file lifted to GRCh38 matches GRCh38 genotypes as the same rows written
    at their GRCh38 positions do; unliftable rows are reported as such."""
    path, layout = chain
    rng = np.random.default_rng(21)
    rows37, rows38, sites = [], [], []
    for i in range(30):
        chrom = "chr1" if i % 2 else "chr2"
        p37 = _lifted_row(layout, chrom, rng)
        p38, strand = expected_lift(layout, chrom, p37)
        ref, alt = [("A", "G"), ("C", "T"), ("A", "C")][i % 3]
        # the genotypes are on GRCh38's forward strand
        comp = str.maketrans("ACGT", "TGCA")
        ea, oa = (alt, ref) if strand == "+" else (alt.translate(comp), ref.translate(comp))
        rows37.append((chrom[3:], p37, ea, oa, float(i + 1)))
        rows38.append((chrom[3:], p38, alt, ref, float(i + 1)))
        sites.append((chrom[3:], p38, ref, alt, f"v{i}"))
    rows37.append(("3", 1500, "A", "G", 99.0))  # unliftable
    rows38.append(("3", 1, "A", "G", 99.0))  # no site
    target = site_table(sorted(sites, key=lambda s: (s[0], s[1])))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    sf37 = _scoring(tmp_path / "a", rows37)
    sf38 = _scoring(tmp_path / "b", rows38, build="GRCh38")
    with pytest.raises(MatchError, match="GRCh37 but the genotypes are GRCh38"):
        check_builds([sf37], "GRCh38", stated=True)  # no liftover allowed: an error
    with pytest.warns(LiftoverWarning):
        (lifted,) = lift_to_build([sf37], "GRCh38", path, verify=False, cache_dir=tmp_path / "c")
    check_builds([lifted], "GRCh38", stated=True)
    plan_l, rep_l = match_variants(lifted, target, min_overlap=0)
    plan_t, _ = match_variants(sf38, target, min_overlap=0)
    np.testing.assert_array_equal(plan_l.record, plan_t.record)
    np.testing.assert_array_equal(plan_l.allele, plan_t.allele)
    np.testing.assert_array_equal(plan_l.weights, plan_t.weights)
    assert rep_l.variants["outcome"].iloc[-1] == "unmatched_unliftable"
    assert rep_l.variants["liftover"].iloc[-1] == "multiple"
    assert rep_l.counts["unmatched_unliftable"].iloc[0] == 1
    assert {"source_chrom", "source_pos", "liftover"} <= set(rep_l.variants.columns)
    assert "30/31 rows lifted" in repr(rep_l)


def test_nothing_is_lifted_unless_allowed(tmp_path):
    sf = _scoring(tmp_path, [("1", 100, "A", "G", 1.0)])
    assert lift_to_build([sf], "GRCh38", False) == [sf]


def test_liftover_without_the_genotypes_build_is_refused(tmp_path):
    """liftover=True with the genotypes' build unknown: refused (it was silently ignored),
    through lift_to_build and prs.score (a VCF whose header states no build)."""
    import prs
    from prs.errors import ScoreError

    sf = _scoring(tmp_path, [("1", 100, "A", "G", 1.0)])
    with pytest.raises(ScoreError, match="--build"):
        lift_to_build([sf], None, True)
    unstated = _scoring(tmp_path / "x", [("1", 100, "A", "G", 1.0)], build=None)
    assert lift_to_build([unstated], None, True) == [unstated]  # nothing to lift from
    vcf = write_vcf(tmp_path / "g.vcf.gz", ["S1"], [("1", 100, "v1", "G", "A", ["0/1"])])
    with pytest.raises(ScoreError, match="genome_build="):
        prs.score(vcf, sf.path, liftover=True)
    assert prs.score(vcf, sf.path).sums[0, 0] == 1.0  # without liftover: scored as before


def _sized_chain(path, t_size, q_size):
    """A one-block chr1 chain (identity positions) whose header states these lengths."""
    path.write_text(f"chain 1000 chr1 {t_size} + 0 100000 chr1 {q_size} + 0 100000 1\n100000\n\n")
    return path


GRCH37_CHR1, GRCH38_CHR1 = 249250621, 248956422


def test_chain_in_the_wrong_direction_is_refused(tmp_path):
    """A user's chain whose header lengths say GRCh38 -> GRCh37 is refused for a GRCh37
    file on GRCh38 genotypes; the right direction is recorded in the file's lift note; a
    chain of unknown assemblies is used, noted as unchecked."""
    from prs.errors import ScoreError

    sf = _scoring(tmp_path, [("1", 100, "A", "G", 1.0)])
    backwards = _sized_chain(tmp_path / "b.chain", GRCH38_CHR1, GRCH37_CHR1)
    md5 = hashlib.md5(backwards.read_bytes()).hexdigest()
    with pytest.raises(ScoreError, match="GRCh38 -> GRCh37") as info:
        lift_to_build([sf], "GRCh38", str(backwards), md5=md5)
    assert str(sf.path) in str(info.value) and "b.chain" in str(info.value)
    forwards = _sized_chain(tmp_path / "f.chain", GRCH37_CHR1, GRCH38_CHR1)
    md5 = hashlib.md5(forwards.read_bytes()).hexdigest()
    with pytest.warns(LiftoverWarning):
        (lifted,) = lift_to_build([sf], "GRCh38", str(forwards), md5=md5)
    assert lifted.variants["pos"].tolist() == [100]
    assert "chain GRCh37 -> GRCh38" in lifted.header["liftover"]
    unknown = _sized_chain(tmp_path / "u.chain", 300_000, 300_000)
    md5 = hashlib.md5(unknown.read_bytes()).hexdigest()
    with pytest.warns(LiftoverWarning):
        (lifted,) = lift_to_build([sf], "GRCh38", str(unknown), md5=md5)
    assert "builds not known from its lengths" in lifted.header["liftover"]


def test_one_chain_for_files_in_two_other_builds_is_refused(tmp_path):
    from prs.errors import ScoreError

    a = _scoring(tmp_path / "a", [("1", 100, "A", "G", 1.0)], build="GRCh37")
    b = _scoring(tmp_path / "b", [("1", 100, "A", "G", 1.0)], build="NCBI36")
    chain = _sized_chain(tmp_path / "u.chain", 300_000, 300_000)
    md5 = hashlib.md5(chain.read_bytes()).hexdigest()
    with pytest.raises(ScoreError, match="one chain file"):
        lift_to_build([a, b], "GRCh38", str(chain), md5=md5)


# --------------------------------------------------------------------------------------
# The chain file: fetched, verified and cached as Catalog files are (loopback server)


@pytest.fixture
def served_chain(tmp_path, chain, monkeypatch):
    clear_catalog_env(monkeypatch)
    monkeypatch.delenv("PRS_CHAIN_BASE", raising=False)
    tree = CatalogTree(tmp_path / "tree")
    data = chain[0].read_bytes()
    where = tree.root / "hg19" / "liftOver"
    where.mkdir(parents=True)
    (where / "hg19ToHg38.over.chain.gz").write_bytes(data)
    (where / "md5sum.txt").write_text(
        f"{'0' * 32}  hg38ToHg19.over.chain.gz\n{md5_hex(data)}  hg19ToHg38.over.chain.gz\n"
    )
    with CatalogServer(tree) as server:
        monkeypatch.setenv("PRS_CHAIN_BASE", server.ftp_url)
        yield server, data, where


OPTS = {"timeout": 2.0, "retries": 1, "backoff": 0.01, "progress": False}


def test_chain_fetched_verified_and_cached(served_chain, tmp_path):
    server, data, _ = served_chain
    cache = tmp_path / "cache"
    path = fetch_chain("GRCh37", "GRCh38", cache_dir=cache, **OPTS)
    assert path.read_bytes() == data
    assert path == cache / "chains" / path.name / md5_hex(data) / path.name
    file_path = "/ftp/hg19/liftOver/hg19ToHg38.over.chain.gz"

    def downloads():
        return sum(1 for p, _ in server.requests if p == file_path)

    assert downloads() == 1
    again = fetch_chain("GRCh37", "GRCh38", cache_dir=cache, **OPTS)
    assert again == path and downloads() == 1  # from the cache (only the checksum asked)
    offline = fetch_chain("GRCh37", "GRCh38", cache_dir=cache, offline=True, **OPTS)
    assert offline == path


def test_chain_md5_mismatch_deletes_the_download(served_chain, tmp_path):
    _, _, where = served_chain
    (where / "md5sum.txt").write_text(f"{'0' * 32}  hg19ToHg38.over.chain.gz\n")
    cache = tmp_path / "cache"
    with pytest.raises(CatalogError, match="MD5 mismatch"):
        fetch_chain("GRCh37", "GRCh38", cache_dir=cache, **OPTS)
    assert not [p for p in cache.rglob("*") if p.is_file() and p.suffix == ".gz"]


def test_chain_sha256_checked(served_chain, tmp_path):
    _, data, _ = served_chain
    good = hashlib.sha256(data).hexdigest()
    path = fetch_chain("GRCh37", "GRCh38", cache_dir=tmp_path / "c1", sha256=good, **OPTS)
    assert path.is_file()
    with pytest.raises(CatalogError, match="SHA-256 mismatch"):
        fetch_chain("GRCh37", "GRCh38", cache_dir=tmp_path / "c2", sha256="1" * 64, **OPTS)


def test_chain_without_checksum_refused_unless_allowed(served_chain, tmp_path):
    _, _, where = served_chain
    (where / "md5sum.txt").unlink()
    with pytest.raises(CatalogError, match="no published checksum"):
        fetch_chain("GRCh37", "GRCh38", cache_dir=tmp_path / "c", **OPTS)
    assert fetch_chain("GRCh37", "GRCh38", cache_dir=tmp_path / "c", verify=False, **OPTS)


def test_not_a_chain_file_is_refused(served_chain, tmp_path):
    _, _, where = served_chain
    bad = gzip.compress(b"<html>not found</html>\n", mtime=0)
    (where / "hg19ToHg38.over.chain.gz").write_bytes(bad)
    (where / "md5sum.txt").write_text(f"{md5_hex(bad)}  hg19ToHg38.over.chain.gz\n")
    with pytest.raises(CatalogError, match="not a chain file"):
        fetch_chain("GRCh37", "GRCh38", cache_dir=tmp_path / "c", **OPTS)


def test_offline_without_cache_names_the_file(served_chain, tmp_path):
    with pytest.raises(CatalogError, match="offline and not in the cache"):
        fetch_chain("GRCh37", "GRCh38", cache_dir=tmp_path / "c", offline=True, **OPTS)


def test_lift_to_build_fetches_the_default_chain(served_chain, tmp_path):
    sf = _scoring(tmp_path, [("1", 100, "A", "G", 1.0)])
    with pytest.warns(LiftoverWarning, match="unmapped=1"):
        (lifted,) = lift_to_build([sf], "GRCh38", True, cache_dir=tmp_path / "c", **OPTS)
    assert lifted.genome_build == "GRCh38"
    assert "hg19ToHg38.over.chain.gz" in lifted.header["liftover"]


def test_chain_location_layout():
    assert chain_location("GRCh38", "GRCh37", base="/m").endswith(
        str(Path("hg38") / "liftOver" / "hg38ToHg19.over.chain.gz")
    )
    with pytest.raises(Exception, match="GRCh37 and GRCh38 only"):
        chain_location("NCBI36", "GRCh38")


def test_pgs_id_without_harmonized_file_is_fetched_author_reported_and_lifted(
    served_chain, tmp_path
):
    """A PGS ID the Catalog has not harmonized to the genotypes' build: an error unless a
    liftover is allowed; then its author-reported (GRCh37) file is fetched and lifted."""
    from prs.weights.catalog.transport import NotHarmonizedError
    from prs.weights.load import load_scorefiles
    from tests.catalog_server import scoring_file_text

    server, _, _ = served_chain
    server.tree.add("PGS000777", None, scoring_file_text("PGS000777").encode())
    server.add_score("PGS000777", builds=())
    catalog = {"cache_dir": tmp_path / "cache", "api_url": server.api_url, **OPTS}
    with pytest.raises(NotHarmonizedError, match="liftover=True"):
        load_scorefiles("PGS000777", build="GRCh38", catalog_options=catalog)
    with pytest.warns(LiftoverWarning, match="GRCh37 to GRCh38"):
        (sf,) = load_scorefiles("PGS000777", build="GRCh38", catalog_options=catalog, liftover=True)
    assert sf.genome_build == "GRCh38" and not sf.harmonized
    # the generated file's rows lie beyond the generated chain's blocks: none lifts
    assert sf.variants["liftover"].tolist() == ["unmapped"] * 3
    assert sf.variants["source_pos"].tolist() == [1_000_000, 1_000_097, 1_000_194]
    assert any(p.endswith("/PGS000777.txt.gz") for p, _ in server.requests)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(1, 40))
def test_lift_scoring_file_agrees_with_the_chain_arithmetic(tmp_path_factory, seed, n_rows):
    """Property: on a random chain (one strand of each kind), every row's fate, position
    and alleles are what the blocks say: lifted/lifted_reverse with the block's position
    (alleles reverse complemented on the reverse strand), unmapped in gaps and outside."""
    tmp = tmp_path_factory.mktemp("lift")
    rng = np.random.default_rng(seed)
    text, layout = make_chain(
        rng, [("chr1", 300_000), ("chr2", 300_000)], reverse=("chr2",), n_blocks=12
    )
    chain_path = tmp / "c.chain"
    chain_path.write_text(text)
    comp = str.maketrans("ACGT", "TGCA")
    rows = []
    for _ in range(n_rows):
        chrom = str(rng.integers(1, 3))
        pos = int(rng.integers(1, 50_000))
        ea, oa = rng.choice(["A", "C", "G", "T"], size=2, replace=False)
        rows.append((chrom, pos, str(ea), str(oa), 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LiftoverWarning)
        lifted = lift_scoring_file(_scoring(tmp, rows), "GRCh38", chain_path).variants
    for (chrom, pos, ea, oa, _), (_, got) in zip(rows, lifted.iterrows(), strict=True):
        want = expected_lift(layout, f"chr{chrom}", pos)
        if want is None:
            assert (got["liftover"], got["pos"]) == ("unmapped", -1)
            continue
        reverse = want[1] == "-"
        assert got["liftover"] == ("lifted_reverse" if reverse else "lifted")
        assert got["pos"] == want[0] and got["chrom"] == chrom
        expect = (ea.translate(comp), oa.translate(comp)) if reverse else (ea, oa)
        assert (got["effect_allele"], got["other_allele"]) == expect


def test_scores_of_a_lifted_file_equal_those_of_the_target_build_file(chain, tmp_path):
    """prs.score on GRCh38 genotypes: the GRCh37 file lifted (a ScoringFile passed as is)
    scores exactly as the same rows written at their GRCh38 positions."""
    from prs.scoring import score
    from tests.builders import random_genotype_cells, write_vcf

    path, layout = chain
    rng = np.random.default_rng(8)
    samples = [f"S{i}" for i in range(20)]
    rows37, rows38, records = [], [], {}
    for i in range(25):
        chrom = "chr1" if i % 3 else "chr2"  # chr2's chain is on the reverse strand
        p37 = _lifted_row(layout, chrom, rng)
        p38, strand = expected_lift(layout, chrom, p37)
        if (chrom[3:], p38) in records:
            continue
        ref, alt = [("A", "G"), ("C", "T"), ("A", "C"), ("G", "T")][i % 4]
        comp = str.maketrans("ACGT", "TGCA")
        ea, oa = (ref, alt) if i % 2 else (alt, ref)
        written = (ea, oa) if strand == "+" else (ea.translate(comp), oa.translate(comp))
        rows37.append((chrom[3:], p37, *written, round(float(rng.normal()), 3)))
        rows38.append((chrom[3:], p38, ea, oa, rows37[-1][-1]))
        records[chrom[3:], p38] = (ref, alt, random_genotype_cells(rng, len(samples)))
    vcf = write_vcf(
        tmp_path / "g38.vcf.gz",
        samples,
        [
            (c, p, f"v{k}", *records[c, p][:2], records[c, p][2])
            for k, (c, p) in enumerate(sorted(records, key=lambda key: (int(key[0]), key[1])))
        ],
        contigs={"1": 400_000, "2": 400_000},
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.warns(LiftoverWarning):
        (lifted,) = lift_to_build(
            [_scoring(tmp_path / "a", rows37)], "GRCh38", path, verify=False, cache_dir=tmp_path
        )
    by_lift = score(vcf, lifted, genome_build="GRCh38", keep_ambiguous=False, min_overlap=0)
    direct = score(
        vcf, _scoring(tmp_path / "b", rows38, "GRCh38"), genome_build="GRCh38", min_overlap=0
    )
    np.testing.assert_array_equal(by_lift.sums, direct.sums)
    assert np.abs(direct.sums).sum() > 0
    report = by_lift.match_report.variants
    assert set(report["liftover"]) == {"lifted", "lifted_reverse"}
    assert report["source_pos"].tolist() == [r[1] for r in rows37]
