"""VCF/BCF reading through the checked path (prs.genotypes.vcf): dosages and bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from prs.errors import GenotypeFileError
from prs.genotypes import VcfSource, open_genotypes
from prs.genotypes.bgzf import BGZF_EOF
from tests.builders import write_vcf

SAMPLES = ["a", "b", "c", "d"]


def dosages(path, alleles_by_record, **options):
    src = VcfSource(path, **options)
    sites = src.sites()
    records = np.array([r for r, alleles in alleles_by_record for _ in alleles])
    alleles = np.array([a for _, al in alleles_by_record for a in al])
    chunks = list(src.read(records, alleles, chunk_size=2))
    out = np.full((len(records), len(src.samples)), -7.0)
    ploidy = np.zeros_like(out, dtype=np.int8)
    for c in chunks:
        out[c.request] = c.dosage
        ploidy[c.request] = c.ploidy
    assert (out != -7.0).all()
    return sites, out, ploidy


def test_gt_dosage_from_allele_indexes(tmp_path):
    vcf = write_vcf(
        tmp_path / "g.vcf.gz",
        SAMPLES,
        [
            ("1", 10, "x", "A", "G", ["0/0", "0|1", "1/1", "./."]),
            ("1", 20, "y", "A", "G,T", ["0/2", "1/2", "2/2", "0/0"]),
        ],
    )
    sites, d, p = dosages(vcf, [(0, [1, 0]), (1, [1, 2, 0])])
    assert sites[["pos", "alt", "allele_index", "n_alleles"]].values.tolist() == [
        [10, "G", 1, 2],
        [20, "G", 1, 3],
        [20, "T", 2, 3],
    ]
    np.testing.assert_array_equal(d[0], [0, 1, 2, np.nan])
    np.testing.assert_array_equal(d[1], [2, 1, 0, np.nan])  # REF copies
    np.testing.assert_array_equal(d[2], [0, 1, 0, 0])  # G at the multi-allelic site
    np.testing.assert_array_equal(d[3], [1, 1, 2, 0])  # T: 2/2 is two copies of T
    np.testing.assert_array_equal(d[4], [1, 0, 0, 2])
    assert (p == 2).all()


def test_haploid_calls_policies(tmp_path):
    vcf = write_vcf(
        tmp_path / "x.vcf.gz", SAMPLES, [("X", 5, "x", "C", "T", ["0/1", "1", "0", "."])]
    )
    _, d, p = dosages(vcf, [(0, [1])])
    np.testing.assert_array_equal(d[0], [1, 2, 0, np.nan])  # PLINK 2: haploid counts twice
    np.testing.assert_array_equal(p[0], [2, 2, 2, 2])
    _, d, p = dosages(vcf, [(0, [1])], haploid="haploid")
    np.testing.assert_array_equal(d[0], [1, 1, 0, np.nan])
    np.testing.assert_array_equal(p[0], [2, 1, 1, 1])


def test_half_call_policies(tmp_path):
    vcf = write_vcf(
        tmp_path / "h.vcf.gz", SAMPLES, [("1", 5, "x", "C", "T", ["0/.", "./1", "1/1", "0/0"])]
    )
    with pytest.raises(GenotypeFileError, match=r"1:5\).*sample a has a half-missing call '0/\.'"):
        dosages(vcf, [(0, [1])])
    _, d, _ = dosages(vcf, [(0, [1])], half_call="missing")
    np.testing.assert_array_equal(d[0], [np.nan, np.nan, 2, 0])
    _, d, _ = dosages(vcf, [(0, [1])], half_call="reference")
    np.testing.assert_array_equal(d[0], [0, 1, 2, 0])
    _, d, p = dosages(vcf, [(0, [1])], half_call="haploid", haploid="haploid")
    np.testing.assert_array_equal(d[0], [0, 1, 2, 0])
    np.testing.assert_array_equal(p[0], [1, 1, 2, 2])


def test_ds_and_gp_dosages(tmp_path):
    vcf = write_vcf(
        tmp_path / "d.vcf.gz",
        SAMPLES,
        [
            (
                "1",
                10,
                "x",
                "A",
                "G",
                ["0/1:0.9:0.1,0.9,0", "1/1:1.75:0,0.25,0.75", "./.:.:.", "0/0:0:1,0,0"],
            ),
        ],
        fmt="GT:DS:GP",
    )
    _, d, _ = dosages(vcf, [(0, [1, 0])], dosage="DS")
    np.testing.assert_allclose(d[0], [0.9, 1.75, np.nan, 0], rtol=1e-6)
    np.testing.assert_allclose(d[1], [1.1, 0.25, np.nan, 2], rtol=1e-6)
    _, d, _ = dosages(vcf, [(0, [1])], dosage="GP")
    np.testing.assert_allclose(d[0], [0.9, 1.75, np.nan, 0], rtol=1e-6)


def test_ds_multiallelic_and_fallback_to_gt(tmp_path):
    vcf = write_vcf(
        tmp_path / "m.vcf.gz",
        SAMPLES,
        [
            "1\t10\tx\tA\tG,T\t.\t.\t.\tGT:DS\t0/1:0.5,0.25\t1/2:1,1\t0/0:0,0\t0/2:0,1",
            "1\t20\ty\tA\tG\t.\t.\t.\tGT\t0/1\t1/1\t0/0\t./.",
        ],
        fmt="GT:DS",
    )
    src = VcfSource(vcf, dosage="DS")
    src.sites()
    chunk = next(src.read(np.array([0, 0, 0, 1]), np.array([0, 1, 2, 1])))
    np.testing.assert_allclose(chunk.dosage[0], [1.25, 0, 2, 1])
    np.testing.assert_allclose(chunk.dosage[1], [0.5, 1, 0, 0])
    np.testing.assert_allclose(chunk.dosage[2], [0.25, 1, 0, 1])
    np.testing.assert_array_equal(chunk.dosage[3], [1, 2, 0, np.nan])
    assert src.fallback_to_gt == 1


def test_sample_subset_and_order(tmp_path):
    vcf = write_vcf(
        tmp_path / "s.vcf.gz", SAMPLES, [("1", 10, "x", "A", "G", ["0/0", "0/1", "1/1", "1/1"])]
    )
    src = VcfSource(vcf, samples=["c", "a"])
    src.sites()
    chunk = next(src.read(np.array([0]), np.array([1])))
    assert src.samples == ("c", "a")
    np.testing.assert_array_equal(chunk.dosage[0], [2, 0])
    with pytest.raises(GenotypeFileError, match="requested sample"):
        VcfSource(vcf, samples=["zz"])


def test_bcf_reads_like_vcf(tmp_path):
    pysam = pytest.importorskip("pysam")
    vcf = write_vcf(
        tmp_path / "b.vcf.gz",
        SAMPLES,
        [
            ("1", 10, "x", "A", "G", ["0/0", "0|1", "1/1", "./."]),
            ("1", 20, "y", "C", "T,G", ["0/2", "1/2", "2/2", "0/0"]),
        ],
    )
    bcf = tmp_path / "b.bcf"
    with (
        pysam.VariantFile(str(vcf)) as src,
        pysam.VariantFile(str(bcf), "wb", header=src.header) as out,
    ):
        for rec in src:
            out.write(rec)
    src_v, src_b = VcfSource(vcf), VcfSource(bcf)
    assert src_v.sites().drop(columns="id").equals(src_b.sites().drop(columns="id"))
    a = next(src_v.read(np.array([0, 1]), np.array([1, 2]))).dosage
    b = next(src_b.read(np.array([0, 1]), np.array([1, 2]))).dosage
    np.testing.assert_array_equal(a, b)


def test_build_detection(tmp_path):
    rec = [("1", 10, "x", "A", "G", ["0/0"] * 4)]
    v37 = write_vcf(tmp_path / "a.vcf.gz", SAMPLES, rec, contigs={"1": 249250621})
    v38 = write_vcf(tmp_path / "b.vcf.gz", SAMPLES, rec, contigs={"chr1": 248956422})
    none = write_vcf(tmp_path / "c.vcf.gz", SAMPLES, rec)
    assert VcfSource(v37).build() == "GRCh37"
    assert VcfSource(v38).build() == "GRCh38"
    assert VcfSource(none).build() is None


# --- bad input: each a GenotypeFileError naming the file and where --------------------

BAD_LINES = {
    "blank line": ("", "blank line inside the records"),
    "empty chrom": ("\t10\tx\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0\t0/0", "empty CHROM"),
    "pos too large": (
        "1\t2147483648\tx\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0\t0/0",
        "POS 2147483648 is larger than 2147483647",
    ),
    "pos negative": ("1\t-5\tx\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0\t0/0", "POS '-5' is not a"),
    "bad chrom": ("<1>\t30\tx\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0\t0/0", "not a valid contig"),
    "pos text": ("7\tabc\tx\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0\t0/0", "POS 'abc'"),
    "columns": ("1\t30\tx\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0", "12 columns, expected 13"),
    "no ref": ("1\t30\tx\t.\tG\t.\t.\t.\tGT\t0/0\t0/0\t0/0\t0/0", "empty REF"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_malformed_records_are_named(tmp_path, case):
    line, message = BAD_LINES[case]
    good = "1\t10\tx\tA\tG\t.\t.\t.\tGT\t0/0\t0/1\t1/1\t0/0"
    vcf = write_vcf(tmp_path / "bad.vcf.gz", SAMPLES, [good, line], index=False)
    src = VcfSource(vcf)
    with pytest.raises(GenotypeFileError) as err:
        src.sites()
    assert str(vcf) in str(err.value) and "line 7" in str(err.value)  # 5 header lines + 1
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("cells", "fmt", "dosage", "message"),
    [
        (["0/3", "0/0", "0/0", "0/0"], "GT", "GT", "allele index 3 but the record has 1 ALT"),
        (["0/0:2.5", "0/0:0", "0/0:0", "0/0:0"], "GT:DS", "DS", "DS 2.5 outside"),
        (["0/0:-0.5", "0/0:0", "0/0:0", "0/0:0"], "GT:DS", "DS", "DS -0.5 outside"),
        (["0/0:nan", "0/0:0", "0/0:0", "0/0:0"], "GT:DS", "DS", "not a finite number"),
        (["0/0:inf", "0/0:0", "0/0:0", "0/0:0"], "GT:DS", "DS", "not a finite number"),
        (["0/0:0.5,0.6,0.1", "0/0:1,0,0", "0/0:1,0,0", "0/0:1,0,0"], "GT:GP", "GP", "sum to 1"),
        (["0/0:abc", "0/0:0", "0/0:0", "0/0:0"], "GT:DS", "DS", "htslib cannot parse"),
    ],
)
def test_bad_sample_fields_are_named(tmp_path, cells, fmt, dosage, message):
    vcf = write_vcf(tmp_path / "bad.vcf.gz", SAMPLES, [("1", 10, "x", "A", "G", cells)], fmt=fmt)
    src = VcfSource(vcf, dosage=dosage)
    src.sites()
    with pytest.raises(GenotypeFileError) as err:
        list(src.read(np.array([0]), np.array([1])))
    assert str(vcf) in str(err.value) and "1:10" in str(err.value)
    assert message in str(err.value)


def test_truncated_bgzip_at_block_boundary_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    samples = [f"s{i}" for i in range(30)]
    records = [
        ("1", 100 + k, f"v{k}", "A", "G", [rng.choice(["0/0", "0/1", "1/1"]) for _ in samples])
        for k in range(1000)
    ]
    vcf = write_vcf(tmp_path / "big.vcf.gz", samples, records, index=False)
    data = vcf.read_bytes()
    assert data.endswith(BGZF_EOF)
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[: -len(BGZF_EOF)])  # whole blocks, whole lines, no EOF block
    # htslib alone reads it as a valid file (it only warns):
    proc = subprocess.run(
        [sys.executable, "-c", f"import cyvcf2;print(sum(1 for _ in cyvcf2.VCF('{cut}')))"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and int(proc.stdout) == 1000
    with pytest.raises(GenotypeFileError, match="BGZF end-of-file block is missing"):
        VcfSource(cut)


def test_multifile_sources_must_share_samples(tmp_path):
    rec = [("1", 10, "x", "A", "G", ["0/0"] * 4)]
    a = write_vcf(tmp_path / "a.vcf.gz", SAMPLES, rec)
    b = write_vcf(
        tmp_path / "b.vcf.gz", ["a", "b", "d", "c"], [("2", 10, "y", "A", "G", ["0/0"] * 4)]
    )
    with pytest.raises(GenotypeFileError, match="samples differ"):
        VcfSource([a, b])


def test_open_genotypes_errors(tmp_path):
    with pytest.raises(GenotypeFileError, match="not found"):
        open_genotypes(tmp_path / "missing.vcf.gz")
    (tmp_path / "x.bed").write_bytes(b"")
    with pytest.raises(GenotypeFileError, match="cannot tell the genotype format"):
        open_genotypes(tmp_path / "x.bed")
    dup = write_vcf(tmp_path / "d.vcf.gz", ["a", "a"], [("1", 1, "x", "A", "G", ["0/0", "0/0"])])
    with pytest.raises(GenotypeFileError, match="duplicated sample ID 'a'"):
        open_genotypes(dup)


def test_record_without_gt_when_scoring_gt(tmp_path):
    vcf = write_vcf(
        tmp_path / "n.vcf.gz", SAMPLES, [("1", 10, "x", "A", "G", ["1", "0", "2", "0"])], fmt="DS"
    )
    src = VcfSource(vcf)
    src.sites()
    with pytest.raises(GenotypeFileError, match=r"1:10\): no GT in FORMAT \(DS\)"):
        list(src.read(np.array([0]), np.array([1])))


def test_record_without_alt_is_a_site(tmp_path):
    vcf = write_vcf(
        tmp_path / "m.vcf.gz", SAMPLES, [("1", 10, "x", "A", ".", ["0/0"] * 3 + ["./."])]
    )
    sites, d, _ = dosages(vcf, [(0, [0])])
    assert sites[["alt", "allele_index", "n_alleles"]].values.tolist() == [["", 0, 1]]
    np.testing.assert_array_equal(d[0], [2, 2, 2, np.nan])
