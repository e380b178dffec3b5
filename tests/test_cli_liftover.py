"""``prs score --liftover/--chain``: a GRCh37 author-reported scoring file scored on GRCh38
genotypes through the command line equals the same rows written at their GRCh38 positions.

The chain file is generated (tests/test_liftover.py's ``chain`` fixture: random blocks,
chr2 on the reverse strand); the GRCh38 positions come from its block arithmetic
(``expected_lift``), not from the liftover code; the checksums from hashlib."""

from __future__ import annotations

import hashlib
import json

import liftover  # noqa: F401  (a core dependency: a broken install fails, not skips)
import numpy as np
import pandas as pd
import pytest

from prs.cli import main
from tests.builders import random_genotype_cells, write_scorefile, write_vcf
from tests.test_liftover import (  # noqa: F401  (fixtures)
    _lifted_row,
    _own_cache,
    chain,
    expected_lift,
)

COMPLEMENT = str.maketrans("ACGT", "TGCA")


@pytest.fixture
def builds(chain, tmp_path):  # noqa: F811
    """A GRCh38 VCF; the same scoring rows as a GRCh37 file (alleles on the GRCh37 strand)
    and as a GRCh38 file."""
    _, layout = chain
    rng = np.random.default_rng(17)
    samples = [f"S{i}" for i in range(15)]
    rows37, rows38, records = [], [], {}
    for i in range(30):
        chrom = "chr2" if i % 3 == 0 else "chr1"
        p37 = _lifted_row(layout, chrom, rng)
        p38, strand = expected_lift(layout, chrom, p37)
        if (chrom[3:], p38) in records:
            continue
        ref, alt = [("A", "G"), ("C", "T"), ("G", "T")][i % 3]
        weight = round(float(rng.normal()), 4)
        on37 = (
            (alt, ref) if strand == "+" else (alt.translate(COMPLEMENT), ref.translate(COMPLEMENT))
        )
        rows37.append((chrom[3:], p37, *on37, weight))
        rows38.append((chrom[3:], p38, alt, ref, weight))
        records[chrom[3:], p38] = (ref, alt, random_genotype_cells(rng, len(samples)))
    order = sorted(records, key=lambda key: (int(key[0]), key[1]))
    vcf = write_vcf(
        tmp_path / "g38.vcf.gz",
        samples,
        [(c, p, f"v{k}", *records[c, p]) for k, (c, p) in enumerate(order)],
        contigs={"1": 400_000, "2": 400_000},
    )
    (tmp_path / "37").mkdir()
    (tmp_path / "38").mkdir()
    sf37 = write_scorefile(
        tmp_path / "37" / "w.txt", rows37, header={"pgs_id": "PGS1", "genome_build": "GRCh37"}
    )
    sf38 = write_scorefile(
        tmp_path / "38" / "w.txt", rows38, header={"pgs_id": "PGS1", "genome_build": "GRCh38"}
    )
    return vcf, sf37, sf38, rows37


def _args(vcf, scorefile, out, tmp_path) -> list[str]:
    return [
        *("score", "--vcf", str(vcf), "--scorefile", str(scorefile), "--out", str(out)),
        *("--build", "GRCh38", "--cache-dir", str(tmp_path / "cache"), "-q"),
    ]


def _sums(out) -> np.ndarray:
    return pd.read_csv(out / "scores.tsv", sep="\t", float_precision="round_trip")["SUM"].to_numpy()


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
def test_chain_file_given_by_path(chain, builds, tmp_path, capsys):  # noqa: F811
    path, _ = chain
    vcf, sf37, sf38, rows37 = builds
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    assert main(_args(vcf, sf37, tmp_path / "refused", tmp_path)) != 0
    assert "GRCh37 but the genotypes are GRCh38" in capsys.readouterr().err
    out, direct = tmp_path / "lifted", tmp_path / "direct"
    lifted = [*_args(vcf, sf37, out, tmp_path), "--chain", str(path)]
    assert main([*lifted, "--chain-sha256", "0" * 64]) != 0
    assert "SHA-256 mismatch" in capsys.readouterr().err
    assert main([*lifted, "--chain-sha256", sha256]) == 0
    assert main(_args(vcf, sf38, direct, tmp_path)) == 0
    np.testing.assert_array_equal(_sums(out), _sums(direct))
    assert np.abs(_sums(direct)).sum() > 0
    report = pd.read_csv(out / "match_report.tsv", sep="\t", keep_default_na=False)
    assert set(report["liftover"]) == {"lifted", "lifted_reverse"}
    assert report["source_pos"].tolist() == [r[1] for r in rows37]
    assert set(report["outcome"]) == {"matched"}
    options = json.loads((out / "provenance.json").read_text())["options"]
    assert options["liftover"] == str(path) and options["liftover_sha256"] == sha256


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
def test_liftover_fetches_ucsc_chain_from_prs_chain_base(
    chain,  # noqa: F811
    builds,
    tmp_path,
    monkeypatch,
):
    """--liftover alone: the chain is UCSC's hg19ToHg38, found under $PRS_CHAIN_BASE (here
    a directory laid out as goldenPath, its md5sum.txt verified), cached."""
    path, _ = chain
    vcf, sf37, sf38, _ = builds
    where = tmp_path / "goldenPath" / "hg19" / "liftOver"
    where.mkdir(parents=True)
    data = path.read_bytes()
    (where / "hg19ToHg38.over.chain.gz").write_bytes(data)
    md5 = hashlib.md5(data).hexdigest()
    (where / "md5sum.txt").write_text(f"{md5}  hg19ToHg38.over.chain.gz\n")
    monkeypatch.setenv("PRS_CHAIN_BASE", str(tmp_path / "goldenPath"))
    out, direct = tmp_path / "lifted", tmp_path / "direct"
    assert main([*_args(vcf, sf37, out, tmp_path), "--liftover"]) == 0
    assert main(_args(vcf, sf38, direct, tmp_path)) == 0
    np.testing.assert_array_equal(_sums(out), _sums(direct))
    assert (tmp_path / "cache" / "chains" / "hg19ToHg38.over.chain.gz" / md5).is_dir()


def test_checksum_without_liftover_is_an_error(builds, tmp_path, capsys):
    vcf, _, sf38, _ = builds
    assert main([*_args(vcf, sf38, tmp_path / "o", tmp_path), "--chain-md5", "0" * 32]) != 0
    assert "give --liftover or --chain" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
def test_no_rsid_match(tmp_path, capsys):
    """A scoring file of rsIDs only: matched through the VCF's IDs by default (its sum is
    the hand-computed dosage x weight); --no-rsid-match leaves it unmatched_no_position."""
    vcf = write_vcf(
        tmp_path / "g.vcf.gz",
        ["a", "b"],
        [("1", 100, "rs1", "A", "G", ["0/1", "1/1"]), ("1", 200, "rs2", "C", "T", ["0/0", "0/1"])],
    )
    sf = tmp_path / "rs.txt"
    sf.write_text(
        "rsID\teffect_allele\tother_allele\teffect_weight\nrs1\tG\tA\t0.5\nrs2\tT\tC\t2\n"
    )
    base = ["score", "--vcf", str(vcf), "--scorefile", str(sf), "-q"]
    assert main([*base, "--out", str(tmp_path / "by_id")]) == 0
    np.testing.assert_array_equal(_sums(tmp_path / "by_id"), [0.5, 1.0 + 2.0])
    assert main([*base, "--out", str(tmp_path / "no"), "--no-rsid-match"]) != 0
    err = capsys.readouterr().err
    assert "matched 0 of 2 rows" in err and "unmatched_no_position=2" in err


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
@pytest.mark.parametrize("lifted_first", [True, False])
@pytest.mark.parametrize("fmt", ["tsv", "parquet"])
def test_one_file_lifted_one_not(chain, builds, tmp_path, lifted_first, fmt):  # noqa: F811
    """A GRCh37 file (lifted) next to the same rows in GRCh38 (not lifted), in either
    order: both sums equal, and the streamed report equals the API's in-memory report
    (the unlifted file's rows: an empty liftover fate, source position = position)."""
    import prs

    path, _ = chain
    vcf, sf37, sf38, rows37 = builds
    other = tmp_path / "other.txt"
    other.write_text(sf38.read_text().replace("PGS1", "PGS2"))
    files = [str(sf37), str(other)] if lifted_first else [str(other), str(sf37)]
    out = tmp_path / "out"
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    args = [*_args(vcf, files[0], out, tmp_path), "--chain", str(path), "--chain-md5", md5]
    args[args.index("--scorefile") + 1 : args.index("--scorefile") + 2] = files
    assert main([*args, "--format", fmt]) == 0
    scores = (
        pd.read_parquet(out / "scores.parquet")
        if fmt == "parquet"
        else pd.read_csv(out / "scores.tsv", sep="\t", float_precision="round_trip")
    )
    sums = scores.pivot(index="sample_id", columns="score", values="SUM")
    np.testing.assert_array_equal(sums["PGS1"], sums["PGS2"])
    name = f"match_report.{fmt}"
    written = (
        pd.read_parquet(out / name)
        if fmt == "parquet"
        else pd.read_csv(out / name, sep="\t", keep_default_na=False, dtype=str)
    )
    kept = prs.score(
        vcf,
        files,
        genome_build="GRCh38",
        liftover=str(path),
        liftover_md5=md5,
        catalog_options={"cache_dir": str(tmp_path / "cache")},
    ).match_report.variants
    from prs.output.tables import write_table

    expected_path = write_table(kept, tmp_path / f"kept.{fmt}")
    expected = (
        pd.read_parquet(expected_path)
        if fmt == "parquet"
        else pd.read_csv(expected_path, sep="\t", keep_default_na=False, dtype=str)
    )
    pd.testing.assert_frame_equal(written, expected)
    by_score = written.set_index("score")
    assert set(by_score.loc["PGS1", "liftover"]) == {"lifted", "lifted_reverse"}
    assert set(by_score.loc["PGS2", "liftover"]) == {""}  # not lifted: its own positions
    assert (by_score.loc["PGS2", "source_pos"] == by_score.loc["PGS2", "pos"]).all()
    assert [int(p) for p in by_score.loc["PGS1", "source_pos"]] == [r[1] for r in rows37]
