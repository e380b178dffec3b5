"""Agreement with PLINK 2 ``--score`` (Debian's plink2): real data and generated cases.

Every comparison scores exactly the variants prs matched, through PLINK 2 on a copy of the
VCF whose IDs name records by number. PLINK 2 prints 6 significant digits, so SUM must equal
its printed value within half a unit of the 6th digit (the closest any comparison with its
output can be); integer-weight cases compare exactly. DS from imputation servers: PLINK 2
stores dosages in steps of 1/16384, allowed for there.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import prs
from prs.scoring import score
from tests.builders import EFFECT_TYPE_COLUMNS, random_genotype_cells, write_scorefile, write_vcf
from tests.reference import plink2_scores

pytestmark = pytest.mark.plink2


def printed_half_unit(values: np.ndarray) -> np.ndarray:
    """Half a unit in the 6th significant digit: PLINK 2 prints %g (6 significant digits)."""
    magnitude = np.floor(np.log10(np.maximum(np.abs(values), 1e-300)))
    return 0.5 * 10.0 ** (magnitude - 5)


def assert_agree(
    result, expected: pd.DataFrame, *, exact_counts: bool = True, dosage_steps: bool = False
) -> float:
    """SUM equal to PLINK 2's printed value (within its rounding); counts equal exactly.

    Returns the largest relative difference seen, for the record."""
    ours = result.to_wide("SUM").set_axis(list(result.samples))
    theirs = expected.loc[list(result.samples)]
    worst = 0.0
    for j, sid in enumerate(result.score_ids):
        a, b = ours[sid].to_numpy(), theirs[sid].to_numpy(dtype=float)
        tol = theirs[f"{sid}_TOL"].to_numpy() * (1 + 1e-9) + 1e-12
        if dosage_steps:  # PLINK 2 stores dosages in 1/16384 steps
            tol = tol + np.abs(result.named_dosage[:, j]).clip(1) * 2**-14
        bad = np.abs(a - b) > tol
        assert not bad.any(), f"SUM of {sid}: {a[bad][:5]} vs PLINK 2 {b[bad][:5]}"
        nonzero = b != 0
        worst = max(worst, float(np.max(np.abs(a - b)[nonzero] / np.abs(b[nonzero]), initial=0)))
        if exact_counts:
            np.testing.assert_array_equal(result.allele_ct[:, j], theirs[f"{sid}_ALLELE_CT"])
            np.testing.assert_array_equal(result.denom[:, j], theirs[f"{sid}_DENOM"])
            nb = theirs[f"{sid}_NAMED"].to_numpy(dtype=float)
            assert np.all(
                np.abs(result.named_dosage[:, j] - nb) <= 3 * printed_half_unit(nb) + 1e-9
            )
    return worst


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """80 samples: biallelic and multi-allelic sites, missing calls, chrX haploid males."""
    tmp = tmp_path_factory.mktemp("gen")
    rng = np.random.default_rng(7)
    n = 80
    samples = [f"S{i:03d}" for i in range(n)]
    male = np.arange(n) % 2 == 1
    records, score_rows = [], []
    pos = 1000
    for chrom in ("1", "2", "X"):
        for k in range(30):
            pos += int(rng.integers(50, 500))
            ref, alt = rng.choice(list("ACGT"), 2, replace=False)
            alts = [alt]
            if k % 10 == 3:  # multi-allelic
                alts.append(next(b for b in "ACGT" if b not in (ref, alt)))
            cells = random_genotype_cells(
                rng, n, len(alts), missing=0.05, haploid=male if chrom == "X" else None
            )
            records.append((chrom, pos, f"v{pos}", ref, ",".join(alts), cells))
            comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
            if comp[ref] == alt:  # ambiguous: excluded by default, not scored
                continue
            a_index = 2 if len(alts) > 1 and k % 20 == 3 else 1
            effect, other = (alts[a_index - 1], ref) if k % 3 else (ref, alts[a_index - 1])
            if k % 7 == 5:  # written on the other strand
                effect, other = comp[effect], comp[other]
            et = (
                ("additive", "additive", "dominant", "recessive")[k % 4]
                if chrom != "X"
                else "additive"
            )
            score_rows.append(
                (
                    chrom,
                    pos,
                    effect,
                    other,
                    round(float(rng.normal(0, 1)), 6),
                    str(et == "dominant").upper(),
                    str(et == "recessive").upper(),
                )
            )
    vcf = write_vcf(tmp / "gen.vcf.gz", samples, records)
    additive_only = [r[:5] for r in score_rows if r[5] == "FALSE" and r[6] == "FALSE"]
    sf_add = write_scorefile(tmp / "additive.txt", additive_only, header={"pgs_id": "ADD"})
    sf_mixed = write_scorefile(
        tmp / "mixed.txt",
        score_rows,
        header={"pgs_id": "MIXED"},
        columns=EFFECT_TYPE_COLUMNS,
    )
    return {"vcf": vcf, "additive": sf_add, "mixed": sf_mixed, "tmp": tmp}


@pytest.mark.parametrize("missing", ["mean-impute", "none"])
def test_generated_additive_agrees(plink2, generated, missing, tmp_path):
    result = score(generated["vcf"], generated["additive"], missing=missing)
    counts = result.match_report.counts.loc["ADD"]
    assert counts["matched"] >= 35
    flips = result.match_report.variants["flipped"].sum()
    multi = result.match_report.variants["multiallelic"].sum()
    refs = result.match_report.variants["match_type"].str.startswith("ref").sum()
    assert flips > 0 and multi > 0 and refs > 0, "fixture must exercise flips, multi-allelics, REF"
    assert result.missing_ct.sum() > 0
    expected = plink2_scores(plink2, result, [generated["vcf"]], tmp_path, missing=missing)
    assert_agree(result, expected)


def test_generated_dominant_recessive_agrees(plink2, generated, tmp_path):
    result = score(generated["vcf"], generated["mixed"])
    types = set(result.match_report.variants.loc[lambda d: d.outcome == "matched", "effect_type"])
    assert types == {"additive", "dominant", "recessive"}
    expected = plink2_scores(plink2, result, [generated["vcf"]], tmp_path)
    assert_agree(result, expected)


def test_generated_dosage_ds_agrees(plink2, tmp_path):
    """DS in steps of 1/8 (exact in PLINK 2's 1/16384 grid), with missing values."""
    rng = np.random.default_rng(3)
    n = 60
    samples = [f"D{i}" for i in range(n)]
    records, rows = [], []
    for k in range(25):
        ref, alt = rng.choice(list("ACG"), 2, replace=False)
        ds = rng.integers(0, 17, size=n) / 8
        cells = ["./.:." if rng.random() < 0.05 else f"0/1:{d:g}" for d in ds]
        records.append(("3", 5000 + 100 * k, f"d{k}", ref, alt, cells))
        rows.append(
            (
                "3",
                5000 + 100 * k,
                alt if k % 2 else ref,
                ref if k % 2 else alt,
                round(float(rng.normal()), 5),
            )
        )
    vcf = write_vcf(tmp_path / "ds.vcf.gz", samples, records, fmt="GT:DS")
    sf = write_scorefile(tmp_path / "ds.txt", rows, header={"pgs_id": "DS"})
    result = score(vcf, sf, dosage="DS", keep_ambiguous=True)
    expected = plink2_scores(plink2, result, [vcf], tmp_path, dosage="DS")
    assert_agree(result, expected)


@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_cineca_pgs001229_agrees(plink2, shared_data, tmp_path, engine):
    vcf = shared_data / "pgsc_calc/target_genomes/cineca_synthetic_subset.vcf.gz"
    result = score(vcf, shared_data / "pgsc_calc/scorefiles/PGS001229_22.txt", engine=engine)
    assert result.sums.shape == (2504, 1)
    expected = plink2_scores(plink2, result, [vcf], tmp_path)
    assert_agree(result, expected)


def test_real_multifile_hap550_agrees(plink2, shared_data, tmp_path):
    """1000 Genomes chr1 + chr3 (two files), PGS000957 (11,276 rows; HLA row dropped)."""
    folder = shared_data / "genotypes/imputationserver/simulated-chip-3chr-imputation"
    vcfs = sorted(folder.glob("*.vcf.gz"))
    assert len(vcfs) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = score(
            vcfs,
            shared_data / "scorefiles/pgs-calc/PGS000957.txt.gz",
            drop_unscorable=True,
            min_overlap=0.0,
        )
    assert result.variants_used[0] > 300
    expected = plink2_scores(plink2, result, vcfs, tmp_path)
    assert_agree(result, expected)


def test_real_imputed_ds_agrees(plink2, shared_data, tmp_path):
    """Michigan Imputation Server output (GT:DS:HDS:GP), dosage from DS."""
    vcf = shared_data / "genotypes/pgs-calc/small_imputed_chr20.vcf"
    sites = prs.genotypes.VcfSource(vcf).sites()
    rows = [
        (r.chrom, r.pos, r.alt if k % 2 else r.ref, r.ref if k % 2 else r.alt, 0.1 * (k + 1))
        for k, r in enumerate(sites.itertuples())
    ]
    sf = write_scorefile(tmp_path / "imp.txt", rows, header={"pgs_id": "IMP"})
    result = score(vcf, sf, dosage="DS")
    assert result.variants_used[0] == 4
    expected = plink2_scores(plink2, result, [vcf], tmp_path, dosage="DS")
    assert_agree(result, expected, exact_counts=False, dosage_steps=True)
    np.testing.assert_array_equal(result.denom[:, 0], expected["IMP_DENOM"])


def test_real_chrx_haploid_agrees(plink2, shared_data, tmp_path):
    """1000 Genomes chrX with haploid male calls, scored at 300 of its sites."""
    vcf = shared_data / "genotypes/imputationserver/chrX-phased/small.chrX.vcf.gz"
    sites = prs.genotypes.VcfSource(vcf).sites()
    rng = np.random.default_rng(11)
    pick = sites[(sites.n_alleles == 2)].sample(300, random_state=1)
    rows = [
        (r.chrom, r.pos, r.alt, r.ref, round(float(rng.normal()), 6)) for r in pick.itertuples()
    ]
    sf = write_scorefile(
        tmp_path / "x.txt", rows, header={"pgs_id": "XS", "genome_build": "GRCh37"}
    )
    result = score(vcf, sf, missing="none", keep_ambiguous=True)
    expected = plink2_scores(plink2, result, [vcf], tmp_path, missing="none")
    assert_agree(result, expected)


def test_real_half_calls_haploid_agree(plink2, shared_data, tmp_path):
    """uwgac 1000G chrX writes males as 0/.: an error by default (as PLINK 2), and equal to
    PLINK 2's --vcf-half-call haploid under half_call='haploid'."""
    vcf = shared_data / "genotypes/uwgac-1kg-phase3-subset/1KG_phase3_subset_chrX.vcf.gz"
    sites = prs.genotypes.VcfSource(vcf).sites()
    pick = sites[sites.n_alleles == 2].head(200)
    rows = [
        (r.chrom, r.pos, r.alt, r.ref, 0.01 * (k % 13 - 6)) for k, r in enumerate(pick.itertuples())
    ]
    sf = write_scorefile(tmp_path / "x.txt", rows, header={"pgs_id": "UX"})
    with pytest.raises(prs.GenotypeFileError, match="half-missing call"):
        score(vcf, sf, keep_ambiguous=True)
    result = score(vcf, sf, keep_ambiguous=True, half_call="haploid")
    expected = plink2_scores(plink2, result, [vcf], tmp_path, half_call="haploid")
    assert_agree(result, expected)


def test_integer_weights_exact(plink2, generated, tmp_path):
    """Integer weights, hard calls, no imputation: every SUM is an integer PLINK 2 prints
    in full, so the agreement is exact."""
    rows = [
        line.split("\t")
        for line in generated["additive"].read_text().splitlines()
        if not line.startswith("#")
    ][1:]
    int_rows = [(c, p, e, o, (k % 7) - 3) for k, (c, p, e, o, _w) in enumerate(rows)]
    sf = write_scorefile(tmp_path / "int.txt", int_rows, header={"pgs_id": "INT"})
    result = score(generated["vcf"], sf, missing="none")
    expected = plink2_scores(plink2, result, [generated["vcf"]], tmp_path, missing="none")
    assert np.all(result.sums == np.round(result.sums))
    np.testing.assert_array_equal(result.sums[:, 0], expected["INT"].to_numpy(dtype=float))


def test_variant_missing_in_every_sample_agrees(plink2, tmp_path):
    """PLINK 2 imputes a variant with no observed call at frequency 0.5; so does prs."""
    n = 60
    samples = [f"m{i}" for i in range(n)]
    vcf = write_vcf(
        tmp_path / "am.vcf.gz",
        samples,
        [
            ("1", 1000, "v1", "A", "G", ["0/1", "1/1", "0/0"] * 20),
            ("1", 2000, "v2", "C", "T", ["./."] * n),
        ],
    )
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("1", 1000, "G", "A", 1.0), ("1", 2000, "T", "C", 10.0)],
        header={"pgs_id": "AM"},
    )
    with pytest.warns(UserWarning, match="missing in every sample"):
        result = score(vcf, sf)
    assert result.provenance["counts"]["variants_missing_in_every_sample"] == 1
    expected = plink2_scores(plink2, result, [vcf], tmp_path)
    assert_agree(result, expected)


def test_monomorphic_and_two_allele_rows_agree(plink2, tmp_path):
    """A record without ALT scored on its REF, and one site scored on both alleles."""
    rng = np.random.default_rng(4)
    samples = [f"q{i}" for i in range(60)]
    vcf = write_vcf(
        tmp_path / "q.vcf.gz",
        samples,
        [
            ("1", 100, "a", "A", "C", random_genotype_cells(rng, 60)),
            ("1", 200, "b", "C", ".", ["0/0"] * 58 + ["./.", "0/0"]),
            ("1", 300, "c", "G", "T", random_genotype_cells(rng, 60, missing=0.05)),
        ],
    )
    sf = write_scorefile(
        tmp_path / "w.txt",
        [
            ("1", 100, "C", "A", 1.5),
            ("1", 200, "C", "T", 2.0),
            ("1", 300, "T", "G", 100.0),
            ("1", 300, "G", "T", 1.0),
        ],
        header={"pgs_id": "Q"},
    )
    result = score(vcf, sf)
    assert result.variants_used[0] == 4
    expected = plink2_scores(plink2, result, [vcf], tmp_path)
    assert_agree(result, expected)
