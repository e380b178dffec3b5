"""Projection onto a reference PCA (issue 14 item 2): FRAPOSA as the oracle, held-out
reference samples, one person = a batch row, flips and missing variants, streaming."""

from __future__ import annotations

import gzip
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prs.ancestry import PcaOptions, build_reference, project, read_population_labels
from prs.ancestry.project import oadp, project_calls
from prs.genotypes import DosageChunk, open_genotypes
from tests.conftest import SHARED_DATA

KG = SHARED_DATA / "genotypes" / "uwgac-1kg-phase3-subset"
ANCESTRY = SHARED_DATA / "pygscatalog" / "ancestry"
#: Six chromosomes of the 1000 Genomes subset: ~490 PCA variants, 1,126 samples (a few s).
CHROMOSOMES = [1, 2, 3, 4, 5, 6]
#: FRAPOSA writes PCs with 4 decimals ('%.4f'): agreement is to that rounding.
FRAPOSA_DECIMALS_TOLERANCE = 1e-4

pytestmark = pytest.mark.shared


def _paths() -> list[Path]:
    return [KG / f"1KG_phase3_subset_chr{c}.vcf.gz" for c in CHROMOSOMES]


@pytest.fixture(scope="module")
def held_out(shared_data):
    """A reference built without every 10th sample, and those samples' IDs."""
    source = open_genotypes(_paths())
    held = list(source.samples[::10])
    labels = read_population_labels(ANCESTRY / "ref.psam")
    reference = build_reference(source, labels, related=held, build="GRCh37")
    return reference, held


def _one_vcf(path: Path) -> Path:
    """The chromosomes' VCFs as one plain VCF (same samples; PLINK 2 reads one file)."""
    with open(path, "w") as out:
        for i, vcf in enumerate(_paths()):
            with gzip.open(vcf, "rt") as fh:
                for line in fh:
                    if i == 0 or not line.startswith("#"):
                        out.write(line)
    return path


def _plink_pgen(plink2: str, vcf: Path, variants: pd.DataFrame, out: Path) -> str:
    """The PCA variants of ``vcf`` as a PLINK 2 fileset (read once, then subset)."""
    ranges = out.with_suffix(".ranges")
    ranges.write_text(
        "".join(f"{c}\t{p}\t{p}\n" for c, p in zip(variants.chrom, variants.pos, strict=True))
    )
    subprocess.run(
        [plink2, "--vcf", str(vcf), "--extract", "bed1", str(ranges),
         "--snps-only", "just-acgt", "--max-alleles", "2", "--new-id-max-allele-len", "100",
         "--set-all-var-ids", "@:#:$r:$a", "--make-pgen", "--out", str(out), "--silent"],
        check=True,
    )  # fmt: skip
    return str(out)


def _plink_bed(plink2: str, pfile: str, samples, out: Path) -> str:
    """A PLINK 1 fileset of ``samples`` written by PLINK 2."""
    keep = out.with_suffix(".keep")
    keep.write_text("#IID\n" + "\n".join(samples) + "\n")
    subprocess.run(
        [plink2, "--pfile", pfile, "--keep", str(keep), "--make-bed", "--out", str(out),
         "--silent"],
        check=True,
    )  # fmt: skip
    return str(out)


def test_oadp_and_simple_agree_with_fraposa(held_out, plink2, tmp_path):
    """FRAPOSA (fraposa-pgsc, the PGS Catalog Calculator's projection) on PLINK 2 filesets of
    the same samples and variants: reference PCs and the held-out samples' OADP and simple
    projections agree to FRAPOSA's 4 printed decimals (PC signs aligned on the reference)."""
    fraposa = pytest.importorskip("fraposa_pgsc.fraposa", reason="pip install fraposa-pgsc")
    reference, held = held_out
    held = held[:40]  # FRAPOSA's per-sample Procrustes over the reference samples is slow
    vcf = _one_vcf(tmp_path / "all.vcf")
    pfile = _plink_pgen(plink2, vcf, reference.variants, tmp_path / "all")
    stu_prefix = _plink_bed(plink2, pfile, held, tmp_path / "stu")
    pcs = [f"PC{i + 1}" for i in range(reference.n_pcs)]
    found = {}
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    for method, prs_method in (("oadp", "oadp"), ("sp", "simple")):
        # a fresh reference fileset per method: FRAPOSA reuses the loadings it saved with 4
        # decimals, which would round the second method's projection
        ref_prefix = _plink_bed(plink2, pfile, reference.samples, tmp_path / f"ref_{method}")
        out = str(tmp_path / f"stu_{method}")
        try:
            fraposa.pca(
                ref_prefix, stu_filepref=stu_prefix, out_filepref=out, method=method,
                dim_ref=reference.n_pcs,
            )  # fmt: skip
        finally:  # FRAPOSA replaces the root logger's handlers (a file and stdout)
            for handler in root.handlers:
                handler.close()
            root.handlers = saved[0]
            root.setLevel(saved[1])
        found[prs_method] = pd.read_csv(out + ".pcs", sep="\t")
    their_ref = pd.read_csv(ref_prefix + ".pcs", sep="\t")
    assert list(their_ref["IID"]) == list(reference.samples)
    signs = np.sign((their_ref[pcs].to_numpy() * reference.pcs).sum(axis=0))
    np.testing.assert_allclose(
        their_ref[pcs].to_numpy() * signs, reference.pcs, atol=FRAPOSA_DECIMALS_TOLERANCE
    )
    targets = open_genotypes(_paths(), samples=held)
    for method, theirs in found.items():
        assert list(theirs["IID"]) == held
        ours = project(reference, targets, method=method)
        assert ours.n_matched == reference.n_variants and ours.missing.sum() == 0
        np.testing.assert_allclose(
            theirs[pcs].to_numpy() * signs, ours.pcs, atol=FRAPOSA_DECIMALS_TOLERANCE
        )
    # the two methods differ by far more than the tolerance (the check can tell them apart)
    assert np.abs(found["oadp"][pcs].to_numpy() - found["simple"][pcs].to_numpy()).max() > 0.1


def test_held_out_reference_samples_land_where_the_full_pca_puts_them(held_out):
    """Samples left out of the PCA and projected (OADP) land where the PCA of all samples
    puts them: after a Procrustes map of the reduced PCA's axes onto the full one's (fitted
    on the shared samples only), the mean error on PC1-PC4 is below 0.15 of each PC's SD,
    and OADP is closer than simple projection (which shrinks towards the centre)."""
    reduced, held = held_out
    full = build_reference(
        open_genotypes(_paths()), read_population_labels(ANCESTRY / "ref.psam"), build="GRCh37"
    )
    row = {s: i for i, s in enumerate(full.samples)}
    truth = full.pcs[[row[s] for s in held]]
    x, y = reduced.pcs, full.pcs[[row[s] for s in reduced.samples]]
    u, s, vt = np.linalg.svd((y - y.mean(0)).T @ (x - x.mean(0)))
    rotation, rho = vt.T @ u.T, s.sum() / ((x - x.mean(0)) ** 2).sum()
    shift = y.mean(0) - rho * x.mean(0) @ rotation
    targets = open_genotypes(_paths(), samples=held)
    error = {}
    for method in ("oadp", "simple"):
        placed = project(reduced, targets, method=method).pcs @ rotation * rho + shift
        error[method] = (np.abs(placed - truth) / full.pcs.std(axis=0)).mean(axis=0)[:4]
    assert np.all(error["oadp"] < 0.15), error
    assert error["oadp"].mean() < error["simple"].mean(), error


def test_one_person_equals_their_row_of_a_batch(held_out):
    """A one-sample VCF read (the clinic's case) gives that person's row of the batch."""
    reference, held = held_out
    batch = project(reference, open_genotypes(_paths(), samples=held))
    for person in (held[0], held[-1]):
        alone = project(reference, open_genotypes(_paths(), samples=[person]))
        assert alone.samples == (person,)
        np.testing.assert_allclose(alone.pcs[0], batch.pcs[held.index(person)], atol=1e-10)


# --------------------------------------------------------------------------------------------
# Flips, missing variants and streaming over a small in-memory source


@dataclass
class ArraySource:
    """A GenotypeSource over an in-memory dosage matrix (variants x samples)."""

    samples: tuple[str, ...]
    table: pd.DataFrame
    dosage: np.ndarray
    paths: tuple[str, ...] = ("<memory>",)

    def sites(self, wanted=None):
        return self.table

    def read(self, records, alleles, *, chunk_size=1024):
        for start in range(0, len(records), chunk_size):
            rows = records[start : start + chunk_size]
            d = self.dosage[rows]
            yield DosageChunk(
                request=np.arange(start, start + len(rows)),
                dosage=d,
                ploidy=np.full(d.shape, 2, dtype=np.int8),
            )


@pytest.fixture(scope="module")
def synthetic():
    """A reference from a random two-population cohort, and a target cohort's dosages."""
    rng = np.random.default_rng(7)
    n_ref, n_target, p = 240, 30, 600
    freq = np.clip(rng.uniform(0.1, 0.9, p)[:, None] + rng.normal(0, 0.15, (p, 2)), 0.05, 0.95)
    group = np.repeat([0, 1], (n_ref + n_target) // 2)
    dosage = rng.binomial(2, freq[:, group]).astype(np.float64)
    bases = rng.choice([("A", "C"), ("A", "G"), ("C", "T"), ("G", "T")], p)
    table = pd.DataFrame(
        {
            "chrom": "1", "pos": np.arange(1, p + 1) * 1000, "ref": bases[:, 0],
            "alt": bases[:, 1], "allele_index": 1, "n_alleles": 2,
            "record": np.arange(p), "file": 0, "id": ".",
        }
    )  # fmt: skip
    ids = [f"S{i}" for i in range(n_ref + n_target)]
    labels = pd.DataFrame(
        {"IID": ids, "SuperPop": np.where(group == 0, "AAA", "BBB"), "Population": "X"}
    )
    source = ArraySource(tuple(ids), table, dosage)
    options = PcaOptions(n_pcs=4, exclude_high_ld=False, ld_r2=0.9)
    reference = build_reference(
        source, labels, related=ids[n_ref:], options=options, build="GRCh37"
    )
    target = ArraySource(tuple(ids[n_ref:]), table, dosage[:, n_ref:])
    return reference, target


def test_flipped_alleles_give_the_same_pcs(synthetic):
    reference, target = synthetic
    flipped_table = target.table.rename(columns={"ref": "alt", "alt": "ref"})
    flipped = ArraySource(target.samples, flipped_table, 2.0 - target.dosage)
    straight, swapped = project(reference, target), project(reference, flipped)
    assert swapped.n_flipped == reference.n_variants and straight.n_flipped == 0
    np.testing.assert_allclose(swapped.pcs, straight.pcs, atol=1e-9)


def test_missing_variants_are_mean_imputed_and_counted(synthetic):
    """Variants absent from the target and missing calls count as the reference mean
    (standardised 0), as FRAPOSA: the same PCs as the standardised matrix with zeros there."""
    reference, target = synthetic
    keep = reference.variants.index % 5 != 0  # every 5th PCA variant absent from the target
    by_pos = target.table.set_index("pos")
    present = reference.variants["pos"][keep]
    dosage = target.dosage.copy()
    dosage[by_pos.loc[present.iloc[0], "record"], 0] = np.nan  # one missing call
    smaller = ArraySource(target.samples, target.table[target.table.pos.isin(present)], dosage)
    got = project(reference, smaller)
    assert got.n_matched == keep.sum()
    expected_missing = np.full(len(target.samples), (~keep).sum())
    expected_missing[0] += 1
    np.testing.assert_array_equal(got.missing, expected_missing)
    rows = by_pos.loc[reference.variants["pos"], "record"].to_numpy()
    z = (dosage[rows] - reference.mean[:, None]) / reference.scale[:, None]
    z[~keep] = 0.0
    z[np.isnan(z)] = 0.0
    np.testing.assert_allclose(got.pcs, project_calls(reference, z), atol=1e-9)


@pytest.mark.parametrize("chunk_size", [1, 7, 10_000])
def test_chunk_size_does_not_change_the_result(synthetic, chunk_size):
    reference, target = synthetic
    np.testing.assert_allclose(
        project(reference, target, chunk_size=chunk_size, sample_block=4).pcs,
        project(reference, target).pcs,
        atol=1e-9,
    )


def _fraposa_oadp_direct(v, s, u, b, n_pcs, dim_stu):
    """FRAPOSA's OADP written out in the reference-sample space (Zhang, Dey & Lee 2020,
    Algorithm 1): online SVD update of the augmented matrix, Procrustes of the augmented
    reference rows onto the reference PCs (iterated for the extra dimensions), the target row
    transformed. Independent of prs's reduced-coordinate computation."""
    k = len(s)
    n = v.shape[0]
    ub = u.T @ b
    r = b - u @ ub
    middle = np.zeros((k + 1, k + 1))
    middle[:k, :k] = np.diag(s)
    middle[:k, k] = ub
    middle[k, k] = np.linalg.norm(r)
    _, d, vt = np.linalg.svd(middle)
    big_v = np.zeros((n + 1, k + 1))
    big_v[:n, :k] = v
    big_v[n, k] = 1.0
    aug = (big_v @ vt.T)[:, :dim_stu] * d[:dim_stu]
    ref_pcs = v[:, :n_pcs] * s[:n_pcs]
    x = aug[:-1]
    z = np.zeros((n, dim_stu - n_pcs))
    for _ in range(10_000):
        w = np.hstack([ref_pcs, z])
        xc, wc = x - x.mean(0), w - w.mean(0)
        uu, ss, vv = np.linalg.svd(wc.T @ xc)
        rot = vv.T @ uu.T
        rho = ss.sum() / (xc**2).sum()
        c = w.mean(0) - rho * x.mean(0) @ rot
        z_new = (x @ rot * rho + c)[:, n_pcs:]
        if (
            dim_stu == n_pcs
            or ((z_new - z) ** 2).sum() / ((z_new - z_new.mean(0)) ** 2).sum() < 1e-6
        ):
            break
        z = z_new
    return (aug[-1] @ rot * rho + c)[:n_pcs]


@pytest.mark.parametrize("dims", [(2, 2, 4), (3, 6, 12)])
def test_oadp_equals_the_algorithm_in_sample_space(dims):
    """prs's OADP in dim_online coordinates equals the algorithm written out over the
    reference samples, on a random centred matrix (without needing FRAPOSA installed)."""
    n_pcs, dim_stu, k = dims
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 80)) + np.outer(rng.normal(size=300), rng.normal(size=80)) * 2
    x -= x.mean(axis=1, keepdims=True)  # variants centred over reference samples
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    u, s, v = u[:, :k], s[:k], vt[:k].T
    targets = rng.normal(size=(300, 5))
    ours = oadp(targets.T @ u, (targets**2).sum(0), s, n_pcs=n_pcs, dim_stu=dim_stu)
    for j in range(5):
        expected = _fraposa_oadp_direct(v, s, u, targets[:, j], n_pcs, dim_stu)
        np.testing.assert_allclose(ours[j], expected, atol=1e-8)


@pytest.mark.parametrize(("workers", "sample_block"), [(1, 7), (3, 7), (2, 2048), (4, 1)])
def test_oadp_blocks_on_threads_equal_one_batch(synthetic, workers, sample_block):
    """Targets are independent: any blocks on any number of threads give the one-batch PCs,
    bit for bit."""
    from prs.ancestry.project import oadp, oadp_blocks

    reference, _ = synthetic
    rng = np.random.default_rng(2)
    k = reference.loadings.shape[1]
    ub = rng.normal(size=(29, k)) * 3
    bb = np.einsum("ij,ij->i", ub, ub) + rng.uniform(1, 50, 29)
    dims = {"n_pcs": reference.n_pcs, "dim_stu": reference.dim_stu}
    whole = oadp(ub, bb, reference.singular_values, **dims)
    got = oadp_blocks(
        ub, bb, reference.singular_values, sample_block=sample_block, workers=workers, **dims
    )
    np.testing.assert_array_equal(got, whole)
