"""BGEN genotypes (``prs.genotypes.bgen``): BGEN 1.1-1.3 files read as expected dosages.

The CINECA cohort exported to BGEN by PLINK 2 scores as its VCF does (match report too);
dosage BGENs agree with VCF DS within BGEN's quantisation; PLINK 2 reading the BGEN itself
agrees (dosages, and hard calls via its import); probabilities -> dosages equal an
independent computation (the spec's genotype order written out by hand); phased, missing,
haploid, multi-allelic, several files, sample subsets, indexes and bad files.

Fixtures are written by PLINK 2 (``--export bgen-1.x``) or by the ``bgen`` package's writer.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prs
from prs.cli import main
from prs.errors import GenotypeFileError, GenotypeWarning
from prs.genotypes import open_genotypes
from prs.genotypes.bgen import BgenSource, _RecordReader, expected_dosages
from tests.builders import write_scorefile, write_vcf
from tests.test_plink_genotypes import _score_plink2

bgen = pytest.importorskip("bgen")

pytestmark = pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")

CINECA = "pgsc_calc/target_genomes/cineca_synthetic_subset"
SCOREFILES = ("PGS001229_22.txt", "scorefile_dominant_and_recessive.txt")
REPORT_COLUMNS = ["line", "score", "outcome", "match_type", "target_record", "target_ref"]


@pytest.fixture(params=["kernel", "python"])
def decoder(request, monkeypatch) -> str:
    """Every read in the test by one decoding path of the common record: runs of records by
    the compiled kernel, or record by record in Python (the same dosages bit for bit:
    tests/test_bgen_kernel.py), so the agreement below holds for both."""
    import prs.genotypes.bgen as module

    if request.param == "kernel":
        if module.kernel_inflater() is None:
            pytest.skip("no libdeflate: no kernel path")
        monkeypatch.setattr(module, "KERNEL_MIN_RECORDS", 0)
    else:
        monkeypatch.setattr(module, "numba_started", lambda: False)
        monkeypatch.setattr(module, "KERNEL_MIN_RECORDS", 1 << 62)
        monkeypatch.setattr(module, "KERNEL_MIN_GENOTYPES", 1 << 62)
    return request.param


def _quantum(bits: int) -> float:
    """BGEN's step between stored probabilities: 1 / (2**bits - 1); each stored value is
    within one step of the probability written (the spec's rounding keeps sums at 1)."""
    return 1.0 / (2**bits - 1)


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"


def _write_bgen(
    path: Path, samples, variants, *, bits: int = 16, embed_ids: bool = True, compression="zlib"
) -> Path:
    """A BGEN by the ``bgen`` package's writer (it also writes ``path.bgi``). ``variants``:
    (chrom, pos, alleles, probabilities, ploidy, phased)."""
    with bgen.BgenWriter(
        str(path),
        len(samples),
        samples=list(samples) if embed_ids else None,
        compression=compression,
    ) as writer:
        for k, (chrom, pos, alleles, probs, ploidy, phased) in enumerate(variants):
            writer.add_variant(
                f"v{k}", f"rs{k}", chrom, pos, alleles, probs, ploidy=ploidy, phased=phased,
                bit_depth=bits,
            )  # fmt: skip
    return path


def _write_sample(path: Path, ids, sexes=None, fids=None) -> Path:
    lines = ["ID_1 ID_2 missing sex", "0 0 0 D"]
    for k, iid in enumerate(ids):
        sex = "NA" if sexes is None else str(sexes[k])
        lines.append(f"{'0' if fids is None else fids[k]} {iid} 0 {sex}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _diploid(rng, n: int, missing=()) -> np.ndarray:
    probs = rng.dirichlet([0.6, 0.6, 0.6], size=n)
    probs[list(missing)] = np.nan
    return probs


def _read_all(source, alleles: int = 1) -> np.ndarray:
    n = len(source.sites().drop_duplicates("record"))
    chunks = list(source.read(np.arange(n), np.full(n, alleles), chunk_size=3))
    return np.concatenate([c.dosage for c in chunks])


# -- the CINECA cohort, exported by PLINK 2 ---------------------------------------------


@pytest.fixture(scope="module")
def cineca_bgen(shared_data, plink2, tmp_path_factory) -> dict[str, Path]:
    """The CINECA VCF as BGEN 1.1 / 1.2 (ref-first) and 1.3 (PLINK 2's default ref-last)."""
    out = tmp_path_factory.mktemp("cineca_bgen")
    vcf = f"{shared_data / CINECA}.vcf.gz"
    made = {}
    for name, mode in (("1.1", "ref-first"), ("1.2", "ref-first"), ("1.3", None)):
        prefix = out / f"c{name.replace('.', '')}"
        _run(
            [
                *(plink2, "--vcf", vcf, "--export", f"bgen-{name}"),
                *([mode] if mode else []),
                *("--out", str(prefix)),
            ]
        )
        made[name] = prefix
    return made


@pytest.fixture(scope="module")
def cineca_vcf_results(shared_data) -> dict[str, prs.ScoreResult]:
    return {
        name: prs.score(
            f"{shared_data / CINECA}.vcf.gz", shared_data / "pgsc_calc" / "scorefiles" / name
        )
        for name in SCOREFILES
    }


def _assert_same_scores(other: prs.ScoreResult, vcf: prs.ScoreResult) -> None:
    assert other.samples == vcf.samples
    for field in ("sums", "allele_ct", "denom", "named_dosage", "missing_ct", "variants_used"):
        assert np.array_equal(getattr(other, field), getattr(vcf, field)), field
    pd.testing.assert_frame_equal(other.match_report.counts, vcf.match_report.counts)


@pytest.mark.plink2
@pytest.mark.parametrize("name", SCOREFILES)
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_cineca_bgen_scores_as_the_vcf(
    shared_data, cineca_bgen, cineca_vcf_results, name, version, decoder
):
    vcf = cineca_vcf_results[name]
    sf = shared_data / "pgsc_calc" / "scorefiles" / name
    result = prs.score(f"{cineca_bgen[version]}.bgen", sf)
    _assert_same_scores(result, vcf)
    assert result.samples[0] == "HG00096_HG00096"
    assert result.match_report.counts["matched"].sum() > 700
    pd.testing.assert_frame_equal(
        result.match_report.variants[[*REPORT_COLUMNS, "target_alt"]],
        vcf.match_report.variants[[*REPORT_COLUMNS, "target_alt"]],
    )
    assert result.provenance["options"]["engine"] == "BgenSource"
    # hard calls: the expected dosages are whole numbers, so GT and DS read the same
    ds = prs.score(f"{cineca_bgen[version]}.bgen", sf, dosage="DS")
    assert np.array_equal(ds.sums, result.sums)


@pytest.mark.plink2
def test_cineca_ref_last_bgen(shared_data, cineca_bgen, cineca_vcf_results):
    """PLINK 2 writes ref-last by default: read so (ref_allele="last"), the match report is the
    VCF's; read as ref-first, the scores are the same (the matcher tries both alleles) but
    REF and ALT trade places in the report."""
    name = SCOREFILES[0]
    vcf = cineca_vcf_results[name]
    sf = shared_data / "pgsc_calc" / "scorefiles" / name
    path = f"{cineca_bgen['1.3']}.bgen"
    last = prs.score(open_genotypes(path, ref_allele="last", dosage="GT"), sf)
    _assert_same_scores(last, vcf)
    pd.testing.assert_frame_equal(
        last.match_report.variants[REPORT_COLUMNS], vcf.match_report.variants[REPORT_COLUMNS]
    )
    first = prs.score(path, sf)
    assert np.array_equal(first.sums, vcf.sums)
    matched = first.match_report.variants["outcome"] == "matched"
    assert np.array_equal(
        first.match_report.variants.loc[matched, "target_ref"],
        vcf.match_report.variants.loc[matched, "target_alt"],
    )


# -- dosages against VCF DS and PLINK 2 ---------------------------------------------------


@pytest.fixture(scope="module")
def ds_vcf(tmp_path_factory) -> tuple[Path, list[str]]:
    """A VCF with fractional DS (two chromosomes, missing calls)."""
    out = tmp_path_factory.mktemp("ds")
    rng = np.random.default_rng(3)
    samples = [f"S{i}" for i in range(12)]
    records = []
    for k in range(10):
        ds = [f"{v:.4f}" for v in rng.uniform(0, 2, size=len(samples))]
        ds[k] = "."
        chrom = "21" if k < 5 else "22"
        records.append((chrom, 1000 + 10 * k, f"d{k}", "A", "G", ds))
    return write_vcf(out / "ds.vcf.gz", samples, records, fmt="DS"), samples


@pytest.mark.plink2
@pytest.mark.parametrize("bits", [8, 16])
def test_dosage_bgen_agrees_with_vcf_ds_within_quantisation(
    plink2, ds_vcf, bits, tmp_path, decoder
):
    """Tolerance: diploid ALT dosage = p(het) + 2 p(hom ALT), each stored probability within
    one step 1/(2**bits - 1) of PLINK 2's (from DS, on its 1/16384 grid) -> 3 steps + half a
    PLINK 2 dosage unit."""
    vcf, _ = ds_vcf
    prefix = tmp_path / "d"
    _run(
        [
            *(plink2, "--vcf", str(vcf), "dosage=DS", "--export", "bgen-1.2", "ref-first"),
            *(f"bits={bits}", "--out", str(prefix)),
        ]
    )
    want = _read_all(open_genotypes(vcf, dosage="DS"))
    got = _read_all(open_genotypes(f"{prefix}.bgen", dosage="DS"))
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(want).sum() == 10
    tolerance = 3 * _quantum(bits) + 2.0**-15 + 1e-6
    error = np.nanmax(np.abs(got - want))
    assert error <= tolerance
    ref = _read_all(open_genotypes(f"{prefix}.bgen", dosage="DS"), alleles=0)
    called = ~np.isnan(got)
    assert np.allclose(ref[called] + got[called], 2.0, atol=1e-5)


@pytest.fixture(scope="module")
def random_bgen(tmp_path_factory) -> dict:
    """Random 16-bit probabilities (missing samples, one haploid record) + a .sample with
    ID_1 = ID_2 and sexes."""
    out = tmp_path_factory.mktemp("random")
    rng = np.random.default_rng(5)
    n = 60
    ids = [f"S{i}" for i in range(n)]
    variants = []
    for k in range(8):
        variants.append(("1", 500 + 7 * k, ["C", "T"], _diploid(rng, n, (k, k + 9)), 2, False))
    path = _write_bgen(out / "r.bgen", ids, variants)
    sample = _write_sample(out / "r.sample", ids, sexes=[1, 2] * (n // 2), fids=ids)
    rows = [("1", 500 + 7 * k, "T" if k % 2 else "C", "", 0.3 * (k + 1) - 1) for k in range(8)]
    sf = write_scorefile(out / "r.txt", rows, header={"pgs_id": "R"})
    return {"bgen": path, "sample": sample, "rows": rows, "sf": sf, "ids": ids, "dir": out}


@pytest.mark.plink2
def test_dosages_agree_with_plink2_reading_the_bgen(plink2, random_bgen, tmp_path, decoder):
    """PLINK 2 --bgen ref-first --score (dosages, missing mean-imputed) against prs on the same
    BGEN: equal within PLINK 2's 1/16384 dosage grid (half a unit per dosage) and its 6
    printed digits."""
    result = prs.score(random_bgen["bgen"], random_bgen["sf"], dosage="DS", keep_ambiguous=True)
    assert result.samples[:2] == ("S0_S0", "S1_S1")  # ID_1_ID_2: PLINK's maybefid rule
    assert result.provenance["sex"]["male"] == 30  # from the .sample, as PLINK 2
    fileset = ["--bgen", str(random_bgen["bgen"]), "ref-first", "--sample"]
    rows = random_bgen["rows"]
    expected = _score_plink2(plink2, [*fileset, str(random_bgen["sample"])], rows, tmp_path)
    want = expected.loc[[s.split("_")[1] for s in result.samples], "SCORE1_SUM"].to_numpy()
    weights = sum(abs(r[4]) for r in rows)
    tolerance = weights * 2.0**-15 + 5e-6 * np.abs(want) + 1e-9
    assert np.all(np.abs(result.sums[:, 0] - want) <= tolerance)
    assert result.missing_ct.sum() == 16


@pytest.mark.plink2
def test_hard_calls_are_plink2s_import(plink2, random_bgen, tmp_path, decoder):
    """dosage="GT": the calls PLINK 2 keeps importing the BGEN (--hard-call-threshold 0.1),
    read back from the .bed it writes; with a warning that the dosages were fractional."""
    prefix = tmp_path / "hard"
    _run(
        [
            *(plink2, "--bgen", str(random_bgen["bgen"]), "ref-first", "--sample"),
            *(str(random_bgen["sample"]), "--make-bed", "--out", str(prefix)),
        ]
    )
    with pytest.warns(GenotypeWarning, match="fractional dosages"):
        bgen_calls = _read_all(BgenSource(random_bgen["bgen"], dosage="GT"))
    bed_calls = _read_all(open_genotypes(f"{prefix}.bed")).astype(np.float64)
    bed_calls[bed_calls < 0] = np.nan  # (a PLINK source may give int8 calls, -9 missing)
    assert np.array_equal(bgen_calls, bed_calls, equal_nan=True)
    assert np.isnan(bed_calls).sum() > 16  # uncertain calls are missing too
    sf = random_bgen["sf"]
    gt = prs.score(random_bgen["bgen"], sf, keep_ambiguous=True)
    bed = prs.score(f"{prefix}.bed", sf, keep_ambiguous=True)
    assert np.array_equal(gt.sums, bed.sums)


@pytest.mark.plink2
def test_chrx_haploid_males_agree_with_plink2(plink2, tmp_path):
    """chrX with males stored haploid (ploidy 1) and sexes in the .sample: prs (sex from the
    .sample, a male's dosage doubled) and PLINK 2 --bgen --score (mean-imputing missing
    calls) agree within PLINK 2's dosage grid."""
    rng = np.random.default_rng(12)
    n = 60
    ids = [f"S{i}" for i in range(n)]
    sexes = [1 if i % 2 == 0 else 2 for i in range(n)]
    ploidy = np.array([1 if s == 1 else 2 for s in sexes])
    variants = []
    for k in range(5):
        probs = np.full((n, 3), np.nan)
        for i in range(n):
            width = 2 if ploidy[i] == 1 else 3
            probs[i, :width] = rng.dirichlet([1] * width)
        probs[k] = np.nan
        variants.append(("X", 3_000_000 + 10 * k, ["A", "G"], probs, ploidy, False))
    path = _write_bgen(tmp_path / "x.bgen", ids, variants)
    sample = _write_sample(tmp_path / "x.sample", ids, sexes=sexes, fids=ids)
    rows = [("X", 3_000_000 + 10 * k, "G", "A", 0.25 * (k + 1)) for k in range(5)]
    sf = write_scorefile(tmp_path / "x.txt", rows, header={"pgs_id": "X"})
    result = prs.score(path, sf, dosage="DS", keep_ambiguous=True)
    assert result.provenance["sex"]["male"] == 30
    fileset = ["--bgen", str(path), "ref-first", "--sample", str(sample)]
    expected = _score_plink2(plink2, fileset, rows, tmp_path)
    want = expected.loc[[s.split("_")[1] for s in result.samples], "SCORE1_SUM"].to_numpy()
    tolerance = sum(r[4] for r in rows) * 2.0**-15 + 5e-6 * np.abs(want)
    assert np.all(np.abs(result.sums[:, 0] - want) <= tolerance)
    # a source reading males' calls once (ploidy 1): the scorer's chrX model gives the same
    haploid = prs.score(BgenSource(path, haploid="haploid"), sf, keep_ambiguous=True)
    assert np.allclose(haploid.sums, result.sums, rtol=0, atol=1e-12)


# -- probabilities -> dosages ------------------------------------------------------------

#: The BGEN spec's unphased diploid order for 3 alleles (genotypes 11, 12, 22, 13, 23, 33),
#: written out by hand as allele pairs (0-based).
_DIPLOID_ORDER = {2: [(0, 0), (0, 1), (1, 1)], 3: [(0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2)]}


def _reference_dosages(probs, ploidy, phased, n_alleles) -> np.ndarray:
    """Expected allele copies sample by sample, from the spec's layout (independent of the
    module's vectorised sums)."""
    out = np.full((n_alleles, len(ploidy)), np.nan)
    for s, p in enumerate(ploidy):
        row = probs[s]
        if p == 0 or np.isnan(row[0]):
            continue
        for a in range(n_alleles):
            if phased:
                out[a, s] = sum(row[h * n_alleles + a] for h in range(p))
            elif p == 1:
                out[a, s] = row[a]
            else:
                out[a, s] = sum(
                    row[g] * ((i == a) + (j == a))
                    for g, (i, j) in enumerate(_DIPLOID_ORDER[n_alleles])
                )
    return out


@st.composite
def _records(draw):
    n_alleles = draw(st.sampled_from([2, 3]))
    phased = draw(st.booleans())
    n = draw(st.integers(1, 12))
    ploidy = np.array(draw(st.lists(st.sampled_from([1, 2]), min_size=n, max_size=n)))
    missing = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    seed = draw(st.integers(0, 2**32 - 1))
    return n_alleles, phased, ploidy, missing, seed


def _probabilities(n_alleles, phased, ploidy, missing, seed) -> np.ndarray:
    """Random probabilities laid out as the writer takes them (NaN past a sample's own)."""
    rng = np.random.default_rng(seed)
    widest = int(ploidy.max())  # the writer takes as many columns as the widest needs
    if phased:
        width = widest * n_alleles
    else:
        width = n_alleles if widest == 1 else len(_DIPLOID_ORDER[n_alleles])
    probs = np.full((len(ploidy), width), np.nan)
    for s, p in enumerate(ploidy):
        if phased:
            for h in range(p):
                probs[s, h * n_alleles : (h + 1) * n_alleles] = rng.dirichlet([1] * n_alleles)
        else:
            k = n_alleles if p == 1 else width
            probs[s, :k] = rng.dirichlet([1] * k)
    probs[missing] = np.nan
    return probs


@settings(max_examples=40, deadline=None)
@given(_records())
def test_expected_dosages_equal_the_spec_layout(record):
    n_alleles, phased, ploidy, missing, seed = record
    probs = _probabilities(n_alleles, phased, ploidy, missing, seed)
    got = expected_dosages(probs, ploidy, phased=phased, n_alleles=n_alleles)
    want = _reference_dosages(probs, ploidy, phased, n_alleles)
    assert np.allclose(got, want, equal_nan=True, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(_records())
def test_written_records_read_back_within_quantisation(tmp_path_factory, record):
    """Through the writer and the reader (16 bits): within copies x one step per genotype."""
    n_alleles, phased, ploidy, missing, seed = record
    probs = _probabilities(n_alleles, phased, ploidy, missing, seed)
    path = tmp_path_factory.mktemp("rt") / "x.bgen"
    alleles = ["A", "C", "G"][:n_alleles]
    ids = [f"s{k}" for k in range(len(ploidy))]
    _write_bgen(path, ids, [("2", 10, alleles, probs, ploidy, phased)])
    source = BgenSource(path, haploid="haploid")
    chunk = next(source.read(np.zeros(n_alleles, dtype=np.int64), np.arange(n_alleles)))
    want = _reference_dosages(probs, ploidy, phased, n_alleles)
    steps = 2 * (2 * n_alleles if phased else len(_DIPLOID_ORDER[n_alleles]))
    assert np.allclose(chunk.dosage, want, equal_nan=True, atol=steps * _quantum(16) + 1e-6)
    assert np.array_equal(chunk.ploidy[0], ploidy)


def test_phased_and_unphased_hard_genotypes_read_the_same(tmp_path):
    rng = np.random.default_rng(9)
    n = 20
    haplotypes = rng.integers(0, 2, size=(6, n, 2))
    haplotypes[0, 3] = -1  # a missing sample
    phased, unphased = [], []
    for k, h in enumerate(haplotypes):
        hap = np.zeros((n, 4))
        gen = np.zeros((n, 3))
        for s in range(n):
            if h[s, 0] < 0:
                hap[s] = gen[s] = np.nan
                continue
            hap[s, h[s, 0]] = hap[s, 2 + h[s, 1]] = 1
            gen[s, h[s].sum()] = 1
        phased.append(("3", 100 + k, ["A", "G"], hap, 2, True))
        unphased.append(("3", 100 + k, ["A", "G"], gen, 2, False))
    ids = [f"s{i}" for i in range(n)]
    a = _read_all(BgenSource(_write_bgen(tmp_path / "p.bgen", ids, phased, bits=8)))
    b = _read_all(BgenSource(_write_bgen(tmp_path / "u.bgen", ids, unphased, bits=8)))
    want = haplotypes.sum(axis=2).astype(float)
    want[0, 3] = np.nan
    assert np.array_equal(a, want, equal_nan=True) and np.array_equal(b, want, equal_nan=True)


def test_multiallelic_records_give_each_alleles_dosage(tmp_path):
    """Three alleles, diploid unphased: allele k's copies from the spec's order by hand; the
    site table names both ALTs; ref_allele="last" makes the last stored allele REF."""
    probs = np.array([[0.1, 0.2, 0.0, 0.3, 0.4, 0.0], [0, 0, 0, 0, 0, 1.0]])
    path = _write_bgen(tmp_path / "m.bgen", ["a", "b"], [("5", 7, ["C", "T", "G"], probs, 2, 0)])
    source = BgenSource(path)
    sites = source.sites()
    assert sites[["ref", "alt", "allele_index", "n_alleles"]].values.tolist() == [
        ["C", "T", 1, 3],
        ["C", "G", 2, 3],
    ]
    chunk = next(source.read(np.zeros(3, dtype=np.int64), np.array([0, 1, 2])))
    # C: 2*p11 + p12 + p13; T: p12 + 2*p22 + p23; G: p13 + p23 + 2*p33
    want = [[2 * 0.1 + 0.2 + 0.3, 0.0], [0.2 + 0.4, 0.0], [0.3 + 0.4, 2.0]]
    assert np.allclose(chunk.dosage, want, atol=3 * _quantum(16))
    last = BgenSource(path, ref_allele="last")
    assert last.sites()[["ref", "alt"]].values.tolist() == [["G", "C"], ["G", "T"]]
    chunk = next(last.read(np.zeros(3, dtype=np.int64), np.array([0, 1, 2])))
    assert np.allclose(chunk.dosage, [want[2], want[0], want[1]], atol=3 * _quantum(16))


def test_haploid_samples_as_diploid_or_haploid(tmp_path):
    probs = np.array([[0.0, 0.25, 0.75], [0.2, 0.8, np.nan], [np.nan] * 3])
    ploidy = np.array([2, 1, 1])
    path = _write_bgen(
        tmp_path / "x.bgen", ["f", "m1", "m2"], [("X", 5, ["A", "G"], probs, ploidy, 0)]
    )
    chunk = next(BgenSource(path).read(np.array([0]), np.array([1])))
    assert np.allclose(chunk.dosage[0], [1.75, 1.6, np.nan], equal_nan=True, atol=1e-4)
    assert chunk.ploidy[0].tolist() == [2, 2, 2]
    chunk = next(BgenSource(path, haploid="haploid").read(np.array([0]), np.array([1])))
    assert np.allclose(chunk.dosage[0], [1.75, 0.8, np.nan], equal_nan=True, atol=1e-4)
    assert chunk.ploidy[0].tolist() == [2, 1, 1]


@pytest.mark.parametrize("chrom", ["1", "X"])
def test_haploid_hard_calls_are_plink2s(plink2, tmp_path, chrom):
    """dosage="GT" on haploid samples: PLINK 2 rounds the dosage doubled to 0..2 (p =
    0.076/0.924 is 1.848: missing, not 2; 0.5/0.5 is 1: a het call), so prs does; the calls
    equal PLINK 2's export of the same BGEN, diploid samples too."""
    probs = np.array(
        [
            [0.076, 0.924, np.nan],
            [0.5, 0.5, np.nan],
            [0.97, 0.03, np.nan],
            [0.04, 0.0, 0.96],
            [0.0, 0.07, 0.93],
            [0.3, 0.4, 0.3],
        ]
    )
    ploidy = np.array([1, 1, 1, 2, 2, 2])
    ids = ["a", "b", "c", "d", "e", "f"]
    path = _write_bgen(tmp_path / "h.bgen", ids, [(chrom, 5_000_000, ["A", "G"], probs, ploidy, 0)])
    _write_sample(tmp_path / "h.sample", ids, sexes=[1, 1, 1, 2, 2, 2])
    _run(
        [plink2, "--bgen", str(path), "ref-first", "--sample", str(tmp_path / "h.sample"),
         "--make-bed", "--out", str(tmp_path / "h"), "--silent"]
    )  # fmt: skip
    # (a .bed holds PLINK 2's hard calls only; read by the PLINK reader, tested on its own)
    bed = next(open_genotypes(tmp_path / "h.bed").read(np.array([0]), np.array([1])))
    alt = np.where(bed.dosage[0] < 0, np.nan, bed.dosage[0]).astype(np.float64)
    got = next(BgenSource(path, dosage="GT").read(np.array([0]), np.array([1]))).dosage[0]
    np.testing.assert_array_equal(got, alt)
    assert np.isnan(got[0]) and got[1] == 1  # (the two the haploid scale got wrong)


# -- files, samples, indexes ---------------------------------------------------------------


@pytest.mark.plink2
def test_one_bgen_per_chromosome_equals_the_vcf(plink2, ds_vcf, tmp_path):
    vcf, _ = ds_vcf
    paths = []
    for chrom in ("21", "22"):
        prefix = tmp_path / f"chr{chrom}"
        _run(
            [
                *(plink2, "--vcf", str(vcf), "dosage=DS", "--chr", chrom, "--export"),
                *("bgen-1.3", "ref-first", "bits=16", "--out", str(prefix)),
            ]
        )
        paths.append(f"{prefix}.bgen")
    source = open_genotypes(paths, dosage="DS")
    sites = source.sites()
    assert sites["record"].tolist() == list(range(10))
    assert sites["file"].tolist() == [0] * 5 + [1] * 5
    rows = [("21" if k < 5 else "22", 1000 + 10 * k, "G", "A", 0.1 * (k + 1)) for k in range(10)]
    sf = write_scorefile(tmp_path / "s.txt", rows, header={"pgs_id": "T"})
    split = prs.score(paths, sf, dosage="DS")
    want = prs.score(vcf, sf, dosage="DS")
    assert split.samples == want.samples
    tolerance = sum(r[4] for r in rows) * (3 * _quantum(16) + 2.0**-15)
    assert np.allclose(split.sums, want.sums, atol=tolerance)
    assert np.array_equal(split.missing_ct, want.missing_ct)


def test_sample_subset_and_order(random_bgen):
    full = BgenSource(random_bgen["bgen"])
    subset = BgenSource(random_bgen["bgen"], samples=["S7_S7", "S2_S2", "S40_S40"])
    assert subset.samples == ("S7_S7", "S2_S2", "S40_S40")
    assert np.array_equal(_read_all(subset), _read_all(full)[:, [7, 2, 40]], equal_nan=True)
    assert subset.sex_by_sample["S7_S7"] == 2 and subset.sex_by_sample["S2_S2"] == 1
    with pytest.raises(
        GenotypeFileError, match=r"r\.bgen: 1 requested sample\(s\) not in the file"
    ):
        BgenSource(random_bgen["bgen"], samples=["nobody"])


def test_sample_ids_from_the_sample_file_or_the_bgen(tmp_path):
    rng = np.random.default_rng(1)
    variants = [("1", 10, ["A", "G"], _diploid(rng, 3), 2, False)]
    path = _write_bgen(tmp_path / "e.bgen", ["a", "b", "c"], variants)
    source = BgenSource(path)  # no .sample: the embedded IDs, no sexes
    assert source.samples == ("a", "b", "c") and source.sex_by_sample is None
    _write_sample(tmp_path / "e.sample", ["a", "b", "x"])
    with pytest.warns(
        GenotypeWarning, match=r"e\.sample: sample 3 is 'x', but .*e\.bgen names it 'c'"
    ):
        assert BgenSource(path).samples == ("a", "b", "x")
    bare = _write_bgen(tmp_path / "n.bgen", ["a", "b", "c"], variants, embed_ids=False)
    with pytest.raises(GenotypeFileError, match=r"n\.bgen: no sample IDs .*sample_file="):
        BgenSource(bare)
    other = _write_sample(tmp_path / "other.sample", ["p", "q", "r"], sexes=["M", "F", "NA"])
    source = BgenSource(bare, sample_file=other)
    assert source.samples == ("p", "q", "r") and source.sex_by_sample == {"p": 1, "q": 2, "r": 0}


def test_cli_scores_a_bgen(random_bgen, tmp_path):
    """``prs score --genotypes x.bgen`` (format from the name) and, for another name,
    ``--genotype-format bgen``: the sums prs.score gives."""
    want = prs.score(random_bgen["bgen"], random_bgen["sf"], dosage="DS", keep_ambiguous=True)
    renamed = tmp_path / "r.dat"
    shutil.copy(random_bgen["bgen"], renamed)
    shutil.copy(random_bgen["sample"], tmp_path / "r.sample")
    for genotypes, extra in ((random_bgen["bgen"], []), (renamed, ["--genotype-format", "bgen"])):
        out = tmp_path / f"out{len(extra)}"
        args = ["score", "--genotypes", str(genotypes), *extra, "--scorefile"]
        args += [str(random_bgen["sf"]), "--out", str(out), "--keep-ambiguous", "--dosage", "DS"]
        assert main(args) == 0
        table = pd.read_csv(out / "scores.tsv", sep="\t").set_index("sample_id")
        assert np.allclose(table.loc[list(want.samples), "SUM"], want.sums[:, 0], rtol=1e-9)


def test_a_valid_index_is_used_and_agrees_with_a_scan(random_bgen, tmp_path):
    indexed = BgenSource(random_bgen["bgen"])
    assert Path(f"{random_bgen['bgen']}.bgi").is_file() and indexed._indexed == [True]
    assert indexed.notes == []
    copy = tmp_path / "r.bgen"
    shutil.copy(random_bgen["bgen"], copy)
    shutil.copy(random_bgen["sample"], tmp_path / "r.sample")
    scanned = BgenSource(copy)
    assert scanned._indexed == [False]
    pd.testing.assert_frame_equal(indexed.sites(), scanned.sites())
    assert np.array_equal(_read_all(indexed), _read_all(scanned), equal_nan=True)


def _same_layout_pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two BGENs whose records have the same sizes but other positions and probabilities."""
    rng = np.random.default_rng(2)
    ids = [f"s{i}" for i in range(10)]
    paths = []
    for name, shift in (("a", 0), ("b", 5)):
        variants = [
            ("1", 100 + 10 * k + shift, ["A", "G"], _diploid(rng, 10), 2, False) for k in range(6)
        ]
        paths.append(_write_bgen(tmp_path / f"{name}.bgen", ids, variants, bits=8))
    return paths[0], paths[1]


def test_a_stale_index_is_detected_not_trusted(tmp_path):
    a, b = _same_layout_pair(tmp_path)
    scanned_sites = BgenSource(a).sites()
    want = _read_all(BgenSource(a))
    # another file's index, metadata and all
    shutil.copy(f"{b}.bgi", f"{a}.bgi")
    with pytest.warns(
        GenotypeWarning, match=r"a\.bgen: its index .*a\.bgen\.bgi is not used: its metadata"
    ):
        source = BgenSource(a)
    pd.testing.assert_frame_equal(source.sites(), scanned_sites)
    assert np.array_equal(_read_all(source), want, equal_nan=True)
    # without metadata (bgenix's Metadata table is optional): the records themselves differ
    with sqlite3.connect(f"{a}.bgi") as conn:
        conn.execute("DELETE FROM Metadata")
    with pytest.warns(
        GenotypeWarning, match=r"its record 0 \(1:105 rs0\) is not the file's \(1:100"
    ):
        source = BgenSource(a)
    pd.testing.assert_frame_equal(source.sites(), scanned_sites)
    # an index listing fewer records than the header
    with sqlite3.connect(f"{a}.bgi") as conn:
        conn.execute("DELETE FROM Variant WHERE position = 155")
    with pytest.warns(GenotypeWarning, match="it lists 5 variants, the file's header 6"):
        BgenSource(a)


def test_bad_files_are_named(tmp_path):
    a, _ = _same_layout_pair(tmp_path)
    data = a.read_bytes()
    bad = tmp_path / "magic.bgen"
    bad.write_bytes(data[:16] + b"bgem" + data[20:])
    with pytest.raises(GenotypeFileError, match=r"magic\.bgen: not a BGEN file .*b'bgem'"):
        BgenSource(bad)
    cut = tmp_path / "cut.bgen"
    cut.write_bytes(data[:-30])  # the last record's probabilities cut short
    with pytest.raises(GenotypeFileError, match=r"cut\.bgen: .*truncated"):
        BgenSource(cut)
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(GenotypeFileError, match=r"cut\.bgen: .*truncated"):
        BgenSource(cut)
    # truncated beside its (once valid) index: the index is not trusted, the cut is named
    shutil.copy(f"{a}.bgi", f"{cut}.bgi")
    with pytest.warns(GenotypeWarning, match="not used"):
        with pytest.raises(GenotypeFileError, match=r"cut\.bgen: .*truncated"):
            BgenSource(cut)
    # a record's compressed probabilities damaged: named when read, by record
    records = BgenSource(a)._records[0]
    start, end = int(records.start[3]), int(records.end[3])
    broken = tmp_path / "broken.bgen"
    broken.write_bytes(data[: end - 40] + bytes(40) + data[end:])
    source = BgenSource(broken)
    assert start < end - 40
    with pytest.raises(
        GenotypeFileError, match=r"broken\.bgen: cannot read record 3 \(1:130 rs3\)"
    ):
        list(source.read(np.arange(6), np.ones(6, dtype=np.int64)))
    (tmp_path / "short.bgen").write_bytes(data[:10])
    with pytest.raises(GenotypeFileError, match=r"short\.bgen: 10 bytes, too short"):
        BgenSource(tmp_path / "short.bgen")
    _write_sample(tmp_path / "a.sample", [f"s{i}" for i in range(9)])
    with pytest.raises(GenotypeFileError, match=r"a\.sample: 9 samples, but .*a\.bgen holds 10"):
        BgenSource(a)
    with pytest.raises(GenotypeFileError, match=r"nothing\.bgen: no such BGEN file"):
        open_genotypes(tmp_path / "nothing.bgen")


def test_files_with_other_samples_are_refused(tmp_path):
    rng = np.random.default_rng(4)
    variants = [("1", 10, ["A", "G"], _diploid(rng, 2), 2, False)]
    a = _write_bgen(tmp_path / "a.bgen", ["x", "y"], variants)
    b = _write_bgen(tmp_path / "b.bgen", ["y", "x"], variants)
    with pytest.raises(GenotypeFileError, match=r"b\.bgen: samples differ from .*a\.bgen"):
        BgenSource([a, b])


@pytest.mark.parametrize(("bits", "compression"), [(8, "zlib"), (16, "zstd"), (8, None)])
def test_direct_decoding_equals_the_bgen_packages_own_dosage(tmp_path, bits, compression):
    """The common record is decoded by prs from its bytes; the bgen package's ``alt_dosage``
    (its C++ decoder, second allele) of the same records agrees to float32 precision."""
    rng = np.random.default_rng(bits)
    n = 50
    ids = [f"s{i}" for i in range(n)]
    variants = [("4", 10 + k, ["A", "C"], _diploid(rng, n, (k, 30)), 2, False) for k in range(7)]
    path = _write_bgen(tmp_path / "d.bgen", ids, variants, bits=bits, compression=compression)
    assert BgenSource(path)._headers[0].compression == {"zlib": 1, "zstd": 2, None: 0}[compression]
    with _RecordReader(BgenSource(path), 0) as records:
        assert records.direct  # decoded by prs, not by the package
    alt = _read_all(BgenSource(path))
    ref = _read_all(BgenSource(path), alleles=0)
    subset = _read_all(BgenSource(path, samples=ids[::-3]))
    with bgen.BgenReader(str(path)) as reader:
        want = np.array([var.alt_dosage for var in reader], dtype=np.float64)
    assert np.isnan(alt).sum() == 14
    assert np.allclose(alt, want, atol=1e-6, equal_nan=True)
    assert np.allclose(ref, 2.0 - want, atol=1e-6, equal_nan=True)
    assert np.array_equal(subset, alt[:, ::-3], equal_nan=True)


def test_threads_do_not_change_the_dosages(random_bgen):
    for dosage in ("DS", "GT"):
        one = _read_all(BgenSource(random_bgen["bgen"], dosage=dosage, threads=1))
        three = _read_all(BgenSource(random_bgen["bgen"], dosage=dosage, threads=3))
        assert np.array_equal(one, three, equal_nan=True)


def test_a_file_mixing_record_kinds(tmp_path):
    """Common records (decoded by prs) between phased, haploid and multi-allelic ones (by
    the package), several per chunk: each row is its record's, in request order."""
    rng = np.random.default_rng(21)
    n = 8
    haploid = np.array([2, 1] * (n // 2))
    phased = np.column_stack([rng.dirichlet([1, 1], size=n), rng.dirichlet([1, 1], size=n)])
    variants = [
        ("6", 10, ["A", "G"], _diploid(rng, n, (1,)), 2, False),
        ("6", 20, ["A", "G"], phased, 2, True),
        ("6", 30, ["A", "G"], _diploid(rng, n), 2, False),
        ("6", 40, ["A", "C", "T"], rng.dirichlet([1] * 6, size=n), 2, False),
        ("6", 50, ["A", "G"], _probabilities(2, False, haploid, np.zeros(n, bool), 3), haploid, 0),
        ("6", 60, ["A", "G"], _diploid(rng, n), 2, False),
    ]
    path = _write_bgen(tmp_path / "mix.bgen", [f"s{i}" for i in range(n)], variants)
    records = np.array([0, 0, 1, 2, 3, 3, 3, 4, 5])
    alleles = np.array([0, 1, 1, 1, 0, 1, 2, 1, 0])
    got = np.concatenate(
        [c.dosage for c in BgenSource(path, haploid="haploid").read(records, alleles, chunk_size=4)]
    )
    for row, (record, allele) in enumerate(zip(records, alleles, strict=True)):
        _, _, names, probs, ploidy, is_phased = variants[record]
        ploidy = np.broadcast_to(ploidy, (n,))
        want = _reference_dosages(probs, ploidy, is_phased, len(names))[allele]
        assert np.allclose(got[row], want, atol=4 * _quantum(16), equal_nan=True), row


def test_the_run_records_which_path_decoded_the_records(tmp_path):
    """prs.score's provenance says how many records each BGEN decoding path took (the run's
    own source reading), as the reader counted them; a VCF run records none."""
    from prs.example import example_paths

    rng = np.random.default_rng(5)
    ids = [f"s{i}" for i in range(12)]
    variants = [("3", 100 + k, ["A", "G"], _diploid(rng, 12, (k,)), 2, False) for k in range(8)]
    path = _write_bgen(tmp_path / "p.bgen", ids, variants, bits=8)
    rows = [("3", 100 + k, "G", "A", 0.1 * (k + 1)) for k in range(8)]
    scorefile = write_scorefile(tmp_path / "s.txt", rows)
    decoding = prs.score(path, scorefile).provenance["genotype_decoding"]
    assert sum(decoding.values()) == 8 and set(decoding) == {"kernel", "python", "package"}
    p = example_paths()
    assert prs.score(p.vcf, p.scorefile).provenance["genotype_decoding"] is None


def _record_block_at(raw: bytes) -> tuple[int, int]:
    """(offset of the first record's allele-count field, of its probability block's length
    field) in a layout-2 BGEN's bytes."""
    at = struct.unpack_from("<I", raw, 0)[0] + 4
    for _ in range(3):  # variant ID, rsID, chromosome
        at += 2 + struct.unpack_from("<H", raw, at)[0]
    alleles_at = at + 4
    at += 6
    for _ in range(struct.unpack_from("<H", raw, alleles_at)[0]):
        at += 4 + struct.unpack_from("<I", raw, at)[0]
    return alleles_at, at


@pytest.mark.parametrize("kernel", [True, False])
@pytest.mark.parametrize("compression", [None, "zlib"])
def test_a_block_cut_after_its_ploidy_bytes_is_named(tmp_path, kernel, compression):
    """A probability block that ends after the samples' ploidy bytes (no phased flag, no
    bit depth): GenotypeFileError naming the record, on both decoding paths."""
    ns = 4
    probs = np.tile([0.2, 0.3, 0.5], (ns, 1))
    path = _write_bgen(tmp_path / "x.bgen", [f"s{i}" for i in range(ns)],
                       [("1", 10, ["A", "G"], probs, 2, False)], bits=8,
                       compression=compression)  # fmt: skip
    Path(f"{path}.bgi").unlink()
    raw = bytearray(path.read_bytes())
    _, at = _record_block_at(bytes(raw))
    size = struct.unpack_from("<I", raw, at)[0]
    if compression is None:
        struct.pack_into("<I", raw, at, 8 + ns)
    else:
        block = zlib.decompress(bytes(raw[at + 8 : at + 4 + size]))[: 8 + ns]
        packed = struct.pack("<I", len(block)) + zlib.compress(block)
        raw[at:] = struct.pack("<I", len(packed)) + packed
    path.write_bytes(bytes(raw))
    source = BgenSource(path)
    source._kernel = kernel
    with pytest.raises(GenotypeFileError, match=r"record 0 \(1:10 rs0\)"):
        next(source.read(np.array([0]), np.array([1])))


@pytest.mark.parametrize("kernel", [True, False])
@pytest.mark.parametrize("bits", [8, 16])
def test_a_header_of_three_alleles_over_a_block_of_two_is_named(tmp_path, kernel, bits):
    """A record whose header lists three alleles but whose probability block holds two: a
    GenotypeFileError on both paths (the record-by-record path read it as biallelic and gave
    allele 2 the dosage of allele 1 at 16 bits)."""
    probs = np.array([[0.2, 0.3, 0.5], [1, 0, 0], [0, 0, 1.0]])
    path = _write_bgen(tmp_path / "k3.bgen", ["s0", "s1", "s2"],
                       [("1", 10, ["A", "G"], probs, 2, False)], bits=bits,
                       compression=None)  # fmt: skip
    Path(f"{path}.bgi").unlink()
    raw = bytearray(path.read_bytes())
    alleles_at, at = _record_block_at(bytes(raw))
    struct.pack_into("<H", raw, alleles_at, 3)
    raw[at:at] = struct.pack("<I", 1) + b"T"  # the third allele's name
    path.write_bytes(bytes(raw))
    source = BgenSource(path)
    source._kernel = kernel
    with pytest.raises(GenotypeFileError, match=r"record 0 \(1:10 rs0\)"):
        next(source.read(np.array([0, 0, 0]), np.array([0, 1, 2])))
