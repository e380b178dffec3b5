"""PLINK genotypes (``prs.genotypes.plink``): .pgen/.pvar/.psam and .bed/.bim/.fam.

The CINECA cohort exists as VCF, bed and pgen: all three score identically; PLINK 2 scoring
the pgen/bed itself agrees; multi-allelic pgen records and DS dosages equal the VCF path;
bad filesets are named.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prs
from prs.cli import main
from prs.errors import GenotypeFileError
from prs.genotypes import PlinkSource, open_genotypes
from tests.builders import write_scorefile, write_vcf

pytestmark = pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")

CINECA = "pgsc_calc/target_genomes/cineca_synthetic_subset"
SCOREFILES = ("PGS001229_22.txt", "scorefile_dominant_and_recessive.txt")


@pytest.fixture(scope="module")
def cineca(shared_data) -> Path:
    return shared_data / CINECA


@pytest.fixture(scope="module")
def cineca_results(cineca, shared_data) -> dict[tuple[str, str], prs.ScoreResult]:
    """Each scoring file scored on each format (computed once for the module)."""
    results = {}
    for name in SCOREFILES:
        sf = shared_data / "pgsc_calc" / "scorefiles" / name
        for suffix in (".vcf.gz", ".pgen", ".bed"):
            results[name, suffix] = prs.score(f"{cineca}{suffix}", sf)
    return results


@pytest.mark.parametrize("name", SCOREFILES)
@pytest.mark.parametrize("suffix", [".pgen", ".bed"])
def test_cineca_formats_score_identically(cineca_results, name, suffix):
    vcf, other = cineca_results[name, ".vcf.gz"], cineca_results[name, suffix]
    assert other.samples == vcf.samples
    assert other.samples[0] == "HG00096_HG00096"  # FID_IID, as PLINK 2 exported the VCF
    for field in ("sums", "allele_ct", "denom", "named_dosage", "missing_ct", "variants_used"):
        assert np.array_equal(getattr(other, field), getattr(vcf, field)), field
    pd.testing.assert_frame_equal(other.match_report.counts, vcf.match_report.counts)
    assert other.match_report.counts["matched"].sum() > 700
    columns = [
        "line",
        "score",
        "outcome",
        "match_type",
        "target_record",
        "target_ref",
        "target_alt",
    ]
    pd.testing.assert_frame_equal(
        other.match_report.variants[columns], vcf.match_report.variants[columns]
    )
    assert other.provenance["options"]["engine"] == "PlinkSource"


def _plink2_sums(plink2: str, result, fileset: list[str], workdir: Path) -> pd.DataFrame:
    """PLINK 2 ``--score`` on the binary fileset itself, of exactly the rows prs matched."""
    report = result.match_report.variants
    matched = report[report["outcome"] == "matched"]
    total = None
    for effect_type in sorted(set(matched["effect_type"])):
        rows = matched[matched["effect_type"] == effect_type]
        allele = np.where(
            rows["match_type"].str.startswith("ref"), rows["target_ref"], rows["target_alt"]
        )
        ids = [
            f"{c}:{p}:{r}:{a}"
            for c, p, r, a in zip(
                rows["chrom"], rows["pos"], rows["target_ref"], rows["target_alt"], strict=True
            )
        ]
        weights = workdir / f"w_{effect_type}.tsv"
        pd.DataFrame({"ID": ids, "A1": allele, "W": rows["effect_weight"]}).to_csv(
            weights, sep="\t", index=False
        )
        out = workdir / f"o_{effect_type}"
        mods = ["header", "cols=+scoresums"] + ([effect_type] if effect_type != "additive" else [])
        subprocess.run(
            [
                plink2,
                *fileset,
                "--set-all-var-ids",
                "@:#:$r:$a",
                "--score",
                str(weights),
                "1",
                "2",
                "3",
                *mods,
                "--threads",
                "1",
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
        part = pd.read_csv(out.with_suffix(".sscore"), sep="\t")
        part.index = part["#FID"].astype(str) + "_" + part["IID"].astype(str)
        part = part[["SCORE1_SUM", "ALLELE_CT"]].astype(float)
        # PLINK 2 prints 6 significant digits: half a unit of the last one, per run
        magnitude = np.floor(np.log10(np.maximum(part["SCORE1_SUM"].abs(), 1e-300)))
        part["TOL"] = 0.5 * 10.0 ** (magnitude - 5)
        total = part if total is None else total + part
    return total


@pytest.mark.plink2
@pytest.mark.parametrize("name", SCOREFILES)
@pytest.mark.parametrize("kind", ["pgen", "bed"])
def test_cineca_agrees_with_plink2_reading_the_fileset(
    plink2, cineca, cineca_results, name, kind, tmp_path
):
    result = cineca_results[name, f".{kind}"]
    fileset = ["--pfile", str(cineca)] if kind == "pgen" else ["--bfile", str(cineca)]
    expected = _plink2_sums(plink2, result, fileset, tmp_path).loc[list(result.samples)]
    sums = result.sums[:, 0]
    want = expected["SCORE1_SUM"].to_numpy()
    assert np.all(np.abs(sums - want) <= expected["TOL"].to_numpy() + 1e-12)
    assert np.array_equal(result.allele_ct[:, 0], expected["ALLELE_CT"].to_numpy())


# -- small filesets made by plink2 from a VCF --------------------------------------------


def _make(plink2: str, vcf: Path, out: Path, *args: str) -> Path:
    subprocess.run(
        [plink2, "--vcf", str(vcf), *args, "--out", str(out)], check=True, capture_output=True
    )
    return out


@pytest.fixture
def small(plink2, tmp_path) -> dict[str, Path]:
    """A VCF with a multi-allelic record, a missing call and DS, as pgen and bed."""
    rng = np.random.default_rng(7)
    samples = [f"S{i}" for i in range(9)]
    records = []
    for k in range(6):
        gts = [f"{a}/{b}" for a, b in rng.integers(0, 2, size=(9, 2))]
        gts[k] = "./."
        ds = [
            "." if g == "./." else str(rng.integers(0, 17) / 8) for g in gts
        ]  # steps of 1/8: exact in PLINK 2's 1/16384 grid
        cells = [f"{g}:{d}" for g, d in zip(gts, ds, strict=True)]
        records.append(("22", 100 + 10 * k, f"v{k}", "A", "G", cells))
    vcf = write_vcf(tmp_path / "small.vcf.gz", samples, records, fmt="GT:DS")
    multi_cells = [f"{a}/{b}" for a, b in rng.integers(0, 3, size=(9, 2))]
    multi = write_vcf(
        tmp_path / "multi.vcf.gz",
        samples,
        [
            *[
                (c, p, i, r, a, [x.split(":")[0] for x in cells])
                for c, p, i, r, a, cells in records
            ],
            ("22", 500, "m", "C", "T,G", multi_cells),
        ],
    )
    return {
        "vcf": vcf,
        "multi_vcf": multi,
        "pgen": _make(plink2, vcf, tmp_path / "hard_pgen", "--make-pgen"),
        # (with dosage=DS, PLINK 2 derives the hard calls from DS: only DS is compared)
        "ds": _make(plink2, vcf, tmp_path / "ds", "dosage=DS", "--make-pgen"),
        "bed": _make(plink2, vcf, tmp_path / "hard", "--make-bed"),
        "multi": _make(plink2, multi, tmp_path / "multi", "--make-pgen"),
        "zst": _make(plink2, vcf, tmp_path / "zst", "--make-pgen", "vzs"),
        "records": records,
        "dir": tmp_path,
    }


def _scorefile(path: Path, rows) -> Path:
    return write_scorefile(path, rows, header={"pgs_id": "T"})


def test_ds_and_multiallelic_equal_the_vcf(small):
    rows = [("22", 100 + 10 * k, "G", "A", 0.1 * (k + 1)) for k in range(6)]
    sf = _scorefile(small["dir"] / "s.txt", rows)
    for dosage, fileset in (("GT", "pgen"), ("DS", "ds")):
        vcf = prs.score(small["vcf"], sf, dosage=dosage, keep_ambiguous=True)
        pgen = prs.score(f"{small[fileset]}.pgen", sf, dosage=dosage, keep_ambiguous=True)
        assert np.array_equal(vcf.sums, pgen.sums), dosage
        assert vcf.missing_ct.sum() > 0
    ds = prs.score(f"{small['ds']}.pgen", sf, dosage="DS", keep_ambiguous=True)
    gt = prs.score(f"{small['ds']}.pgen", sf, keep_ambiguous=True)
    assert not np.array_equal(ds.sums, gt.sums)  # DS really read, not the hard calls
    # a multi-allelic record: each ALT and REF counted exactly
    multi_rows = [("22", 500, "G", "C", 1.0), ("22", 500, "T", "C", 0.5), *rows[:2]]
    sf = _scorefile(small["dir"] / "m.txt", multi_rows)
    vcf = prs.score(small["multi_vcf"], sf, keep_ambiguous=True)
    pgen = prs.score(f"{small['multi']}.pgen", sf, keep_ambiguous=True)
    assert vcf.match_report.variants["multiallelic"].sum() == 2
    assert np.array_equal(vcf.sums, pgen.sums)
    sites = open_genotypes(small["multi"]).sites()
    assert sites.loc[sites["pos"] == 500, ["alt", "allele_index", "n_alleles"]].values.tolist() == [
        ["T", 1, 3],
        ["G", 2, 3],
    ]


def test_bed_zst_prefix_and_sample_subset(small):
    rows = [("22", 100 + 10 * k, "G", "A", 0.1 * (k + 1)) for k in range(6)]
    sf = _scorefile(small["dir"] / "s.txt", rows)
    vcf = prs.score(small["vcf"], sf, keep_ambiguous=True)
    for genotypes in (f"{small['bed']}.bed", str(small["bed"]), f"{small['zst']}.pgen"):
        assert np.array_equal(prs.score(genotypes, sf, keep_ambiguous=True).sums, vcf.sums)
    source = open_genotypes(small["bed"], samples=["S3", "S0"])
    assert isinstance(source, PlinkSource) and source.samples == ("S3", "S0")
    subset = prs.score(f"{small['bed']}.bed", sf, samples=["S3", "S0"], keep_ambiguous=True)
    expected = prs.score(small["vcf"], sf, samples=["S3", "S0"], keep_ambiguous=True)
    assert np.array_equal(subset.sums, expected.sums)
    assert not np.array_equal(subset.sums, subset.sums[::-1])  # the order is visible
    # the VCF readers' subset rules (one check for every format): a repeat, an unknown
    # sample and an empty list are refused naming the sample file
    for bad, words in ((["S0", "S0"], "more than once"), (["S0", "Z"], "not in the file")):
        with pytest.raises(GenotypeFileError, match=rf"\.fam: .*{words}"):
            open_genotypes(small["bed"], samples=bad)
    with pytest.raises(GenotypeFileError, match="selects no sample"):
        open_genotypes(small["bed"], samples=[])


def test_sample_ids_follow_plink2_maybefid(small):
    bed = small["bed"]
    fam = Path(f"{bed}.fam")
    assert open_genotypes(bed).samples[0] == "S0"  # plink2 --vcf wrote FID 0
    fam.write_text(
        "".join(
            f"F{k} {line.split()[1]} 0 0 0 -9\n"
            for k, line in enumerate(fam.read_text().splitlines())
        )
    )
    assert open_genotypes(bed).samples[:2] == ("F0_S0", "F1_S1")


def test_cli_score_accepts_a_pgen(small, tmp_path):
    rows = [("22", 100 + 10 * k, "G", "A", 0.1 * (k + 1)) for k in range(6)]
    sf = _scorefile(tmp_path / "s.txt", rows)
    out = tmp_path / "out"
    code = main(
        [
            "score",
            "--vcf",
            f"{small['pgen']}.pgen",
            "--scorefile",
            str(sf),
            "--out",
            str(out),
            "--keep-ambiguous",
        ]
    )
    assert code == 0


# -- bad filesets --------------------------------------------------------------------------


def _copy(prefix: Path, dest: Path, suffixes) -> Path:
    for s in suffixes:
        shutil.copy(f"{prefix}{s}", f"{dest}{s}")
    return dest


def test_bad_bed_filesets_are_named(small, tmp_path):
    bed = _copy(small["bed"], tmp_path / "b", (".bed", ".bim", ".fam"))
    Path(f"{bed}.fam").unlink()
    with pytest.raises(
        GenotypeFileError, match=r"b\.bed: .*PLINK bed fileset, but .*b\.fam missing"
    ):
        open_genotypes(f"{bed}.bed")
    with pytest.raises(GenotypeFileError, match=r"b\.fam: missing"):
        open_genotypes(f"{bed}.bed", format="plink")

    bed = _copy(small["bed"], tmp_path / "t", (".bed", ".bim", ".fam"))
    data = Path(f"{bed}.bed").read_bytes()
    Path(f"{bed}.bed").write_bytes(data[:-2])
    with pytest.raises(GenotypeFileError, match=r"t\.bed: .*bytes.*truncated"):
        open_genotypes(f"{bed}.bed")

    Path(f"{bed}.bed").write_bytes(data)
    with open(f"{bed}.bim", "a") as handle:
        handle.write("22\textra\t0\t999\tG\tA\n")
    with pytest.raises(GenotypeFileError, match=r"t\.bed: .*7 variants .*t\.bim"):
        open_genotypes(f"{bed}.bed")

    Path(f"{bed}.bed").write_bytes(b"\x6c\x1b\x00" + data[3:])
    with pytest.raises(GenotypeFileError, match=r"t\.bed: not a PLINK 1 \.bed"):
        open_genotypes(f"{bed}.bed")


def test_bad_pgen_filesets_are_named(small, tmp_path):
    pgen = _copy(small["pgen"], tmp_path / "p", (".pgen", ".pvar", ".psam"))
    data = Path(f"{pgen}.pgen").read_bytes()
    Path(f"{pgen}.pgen").write_bytes(b"\x00\x00" + data[2:])
    with pytest.raises(GenotypeFileError, match=r"p\.pgen: not a PLINK 2 \.pgen"):
        open_genotypes(pgen)

    Path(f"{pgen}.pgen").write_bytes(data[: len(data) // 2])
    with pytest.raises(GenotypeFileError, match=r"p\.pgen: .*truncated"):
        open_genotypes(pgen)  # named when opened, not part-way through scoring

    Path(f"{pgen}.pgen").write_bytes(data)
    with open(f"{pgen}.pvar", "a") as handle:
        handle.write("22\t999\textra\tA\tG\n")
    with pytest.raises(GenotypeFileError, match=r"p\.pgen: holds 6 variants but .*p\.pvar lists 7"):
        open_genotypes(pgen)

    Path(f"{pgen}.pvar").unlink()
    with pytest.raises(GenotypeFileError, match=r"p\.pvar: missing"):
        PlinkSource(f"{pgen}.pgen")


def test_unknown_name_hint_mentions_plink(tmp_path):
    with pytest.raises(GenotypeFileError, match="pass format="):
        open_genotypes(tmp_path / "nothing.dat")


def _score_plink2(plink2: str, fileset: list[str], rows, workdir: Path) -> pd.DataFrame:
    """PLINK 2 ``--score`` (IDs chrom:pos) of ``rows`` (chrom, pos, effect, other, weight)."""
    weights = workdir / "w_plink2.tsv"
    pd.DataFrame(
        {
            "ID": [f"{c}:{p}" for c, p, *_ in rows],
            "A1": [r[2] for r in rows],
            "W": [r[4] for r in rows],
        }
    ).to_csv(weights, sep="\t", index=False)
    out = workdir / "o_plink2"
    subprocess.run(
        [
            plink2,
            *fileset,
            "--set-all-var-ids",
            "@:#",
            "--score",
            str(weights),
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
    return pd.read_csv(out.with_suffix(".sscore"), sep="\t").set_index("IID")


@pytest.mark.plink2
def test_chrx_with_the_fam_sexes_agrees_with_plink2(plink2, tmp_path):
    """The fileset's own sexes (its .fam) score chrX as PLINK 2 scores the fileset with
    --bfile (males' imputation frequency over one allele): by default, as PLINK 2 reads them,
    and the same when passed explicitly; the same genotypes as a VCF (no sex) differ."""
    rng = np.random.default_rng(11)
    samples = [f"S{i}" for i in range(60)]  # PLINK 2 imputes from >= 50 samples
    records = []
    for k in range(5):
        cells = []
        for i in range(60):
            a, b = rng.integers(0, 2, size=2)
            cells.append(f"{a}/{a}" if i % 2 == 0 else f"{a}/{b}")  # males homozygous
        cells[k] = "./."
        records.append(("X", 1000 + k, f"x{k}", "A", "G", cells))
    vcf = write_vcf(tmp_path / "x.vcf.gz", samples, records)
    prefix = _make(plink2, vcf, tmp_path / "x", "--make-bed")
    fam = Path(f"{prefix}.fam")
    fam.write_text(
        "".join(
            f"0 {line.split()[1]} 0 0 {1 if k % 2 == 0 else 2} -9\n"
            for k, line in enumerate(fam.read_text().splitlines())
        )
    )
    source = open_genotypes(prefix)
    assert list(source.sex_by_sample.values()) == [1, 2] * 30
    rows = [("X", 1000 + k, "G", "A", 0.25 * (k + 1)) for k in range(5)]
    sf = _scorefile(tmp_path / "x.txt", rows)
    result = prs.score(source, sf, keep_ambiguous=True)
    assert result.provenance["options"]["sex"] == str(fam)
    assert result.provenance["sex"]["male"] == 30 and result.provenance["sex"]["female"] == 30
    explicit = prs.score(source, sf, sex=source.sex_by_sample, keep_ambiguous=True)
    assert np.array_equal(result.sums, explicit.sums)
    unknown = prs.score(vcf, sf, keep_ambiguous=True)  # a VCF carries no sex
    assert not np.allclose(result.sums, unknown.sums)  # the sexes change the imputation
    expected = _score_plink2(plink2, ["--bfile", str(prefix)], rows, tmp_path)
    want = expected.loc[list(result.samples), "SCORE1_SUM"].to_numpy()
    assert np.allclose(result.sums[:, 0], want, rtol=5e-6, atol=1e-9)


def test_one_fileset_per_region_equals_one_fileset(plink2, small, tmp_path):
    rows = [("22", 100 + 10 * k, "G", "A", 0.1 * (k + 1)) for k in range(6)]
    sf = _scorefile(tmp_path / "s.txt", rows)
    whole = prs.score(f"{small['bed']}.bed", sf, keep_ambiguous=True)
    vcf = small["vcf"]
    first = _make(plink2, vcf, tmp_path / "a", "--chr", "22", "--to-bp", "125", "--make-bed")
    second = _make(plink2, vcf, tmp_path / "b", "--chr", "22", "--from-bp", "126", "--make-pgen")
    source = open_genotypes([f"{first}.bed", f"{second}.pgen"])
    assert source.sites()["record"].tolist() == list(range(6))
    assert source.sites()["file"].tolist() == [0, 0, 0, 1, 1, 1]
    split = prs.score(source, sf, keep_ambiguous=True)
    assert np.array_equal(split.sums, whole.sums)


def test_repeated_records_warn_as_for_vcf(plink2, small, tmp_path):
    """A .bim repeating a record: the same GenotypeWarning (and note) as the VCF engines."""
    bed = _copy(small["bed"], tmp_path / "d", (".bed", ".bim", ".fam"))
    bim = Path(f"{bed}.bim")
    lines = bim.read_text().splitlines()
    lines[1] = lines[0].replace("v0", "v0b")  # record 1 repeats record 0's chrom:pos:alleles
    bim.write_text("\n".join(lines) + "\n")
    source = open_genotypes(bed)
    with pytest.warns(prs.errors.GenotypeWarning, match="repeat an earlier record"):
        source.sites()
    assert len(source.notes) == 1


def test_ref_and_alt_effect_alleles_with_missing_calls_equal_the_vcf(small):
    """A biallelic chunk is read once (ALT copies) and REF rows are 2 - ALT: scoring rows
    whose effect allele is REF, ALT or both kinds mixed, over missing calls, give the VCF's
    sums from the .pgen and the .bed."""
    base = [("22", 100 + 10 * k, "G", "A", 0.1 * (k + 1)) for k in range(6)]
    mixed = [
        (c, p, o, e, w) if k % 2 else (c, p, e, o, w) for k, (c, p, e, o, w) in enumerate(base)
    ]
    swapped = [(c, p, o, e, w) for c, p, e, o, w in base]
    for name, rows in (("mixed", mixed), ("swapped", swapped)):
        sf = _scorefile(small["dir"] / f"{name}.txt", rows)
        vcf = prs.score(small["vcf"], sf, keep_ambiguous=True)
        assert vcf.missing_ct.sum() > 0
        for genotypes in (f"{small['pgen']}.pgen", f"{small['bed']}.bed"):
            other = prs.score(genotypes, sf, keep_ambiguous=True)
            assert np.array_equal(other.sums, vcf.sums), (name, genotypes)
            assert np.array_equal(other.missing_ct, vcf.missing_ct)


def _tables_equal(a, b) -> bool:
    return all(
        np.array_equal(x, y)
        if isinstance(x, np.ndarray)
        else x == y
        if isinstance(x, dict)
        else x.to_pylist() == y.to_pylist()
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("kind", ["pgen", "bed"])
def test_variant_table_fast_reader_equals_the_line_reader(tmp_path, kind):
    """The .pvar/.bim read by pyarrow equals the line-by-line reading (lower-case and
    multi-allelic alleles, no ALT as '.' or '0', ##contig lines, CRLF endings); a file the
    fast reader doubts (extra or missing fields, a bad POS, a '#' line amid records, space
    separators, non-UTF-8 bytes) is left to the line reader, which gives the same table or
    names the line."""
    from prs.genotypes import plink as plink_module

    rows = [
        ("22", "v1", "0", "100", "a", "g"),
        ("chr22", "v2", "0", "200", "T,G", "c"),
        ("X", "v3", "0", "300", ".", "A"),
        ("22", "v4", "0", "400", "0", "AC"),
    ]
    header = "##contig=<ID=22,length=51304566>\n#CHROM\tPOS\tID\tREF\tALT\n"

    def write(lines: list[str], end: str = "\n") -> plink_module.PlinkFileset:
        path = tmp_path / ("v.pvar" if kind == "pgen" else "v.bim")
        text = (header if kind == "pgen" else "") + end.join(lines) + end
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
        return plink_module.PlinkFileset(kind, "", str(path), "")

    def line(r, sep="\t"):
        c, i, cm, p, a1, a2 = r
        return sep.join([c, p, i, a2, a1] if kind == "pgen" else [c, i, cm, p, a1, a2])

    good = [line(r) for r in rows]
    for end in ("\n", "\r\n"):
        fs = write(good, end)
        fast = plink_module._variant_table_fast(fs)
        assert fast is not None
        assert _tables_equal(fast, plink_module._variant_table_by_line(fs))
    variants = plink_module._read_variants(fs)
    assert variants.n_alts.tolist() == [1, 2, 0, 0]
    assert variants.alt.tolist() == ["A", "T,G", "", ""]
    assert variants.ref.tolist() == ["G", "C", "A", "AC"]
    assert variants.chrom.tolist() == ["22", "22", "X", "22"]
    if kind == "pgen":
        assert variants.contigs == {"22": 51304566}
    spaced = [line(r, " ") for r in rows]  # a .bim may be; a .pvar is tab-separated
    doubtful = {
        "extra field": [*good[:2], good[2] + "\textra", good[3]],
        "non-UTF-8": [*good[:3], good[3].replace("v4", "v\udcff4")],
        **({"space separated": spaced} if kind == "bed" else {}),
    }
    for what, lines in doubtful.items():
        fs = write(lines)
        assert plink_module._variant_table_fast(fs) is None, what
        plink_module._read_variants(fs)  # the line reader reads these
    bad = {
        "POS 'x'": [*good[:3], line(("22", "v4", "0", "x", "A", "C"))],
        "columns": [*good[:3], "\t".join(good[3].split("\t")[:3])],
        **({"columns, expected": spaced} if kind == "pgen" else {}),
    }
    for what, lines in bad.items():
        fs = write(lines)
        assert plink_module._variant_table_fast(fs) is None, what
        with pytest.raises(GenotypeFileError, match=r"line \d+: "):
            plink_module._read_variants(fs)
