"""Ploidy by chromosome class and sex (prs.ploidy), against PLINK 2 ``--score``.

PLINK 2 runs as a careful user would run it on a VCF: ``--vcf --update-sex --split-par b38
--make-pgen``, then ``--pfile --score`` (``--xchr-model 1`` for ``haploid="haploid"``). The
generated cohort has males, females and people of unknown sex, with haploid and diploid
calls (heterozygous ones on chrY and MT too) and missing calls, at autosomal, chrX PAR1,
chrX non-PAR, PAR2, chrY and MT sites.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prs
from prs.errors import ScoreError, ScoreWarning
from prs.genome import AUTOSOME, MT, PAR, X_NONPAR, Y, chromosome_class
from prs.ploidy import (
    SEX_FEMALE,
    SEX_MALE,
    SEX_UNKNOWN,
    apply_ploidy_model,
    parse_sex,
    read_sex,
    record_classes,
)
from prs.scoring import score
from tests.builders import relabel_vcf, write_scorefile, write_vcf
from tests.conftest import SHARED_DATA

GRCH38_LENGTHS = {"1": 248956422, "X": 156040895, "Y": 57227415, "MT": 16569}
#: (chromosome, first position, step): autosome, PAR1, X non-PAR, PAR2, Y, MT.
REGIONS = (
    ("1", 1_000_000, 1000),
    ("X", 100_000, 1000),
    ("X", 5_000_000, 1000),
    ("X", 155_800_000, 1000),
    ("Y", 3_000_000, 1000),
    ("MT", 100, 50),
)


def haploid_chromosome(chrom: str, pos: int) -> bool:
    """Where VCFs write males (or everybody, MT) haploid: X outside the PARs, Y, MT."""
    return chromosome_class(chrom, pos, "GRCh38") in (X_NONPAR, Y, MT)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """66 people (30 male, 30 female, 6 unknown), 8 sites per region, weights on both
    alleles' sides, calls as real VCFs write them plus the odd ones PLINK 2 must handle."""
    tmp = tmp_path_factory.mktemp("ploidy")
    rng = np.random.default_rng(20)
    sexes = [SEX_MALE] * 30 + [SEX_FEMALE] * 30 + [SEX_UNKNOWN] * 6
    samples = [f"P{i:02d}" for i in range(len(sexes))]
    records, rows = [], []
    for chrom, start, step in REGIONS:
        for k in range(8):
            pos = start + step * k
            ref, alt = rng.choice(list("ACGT"), 2, replace=False)
            p_alt = rng.uniform(0.1, 0.9)
            cells = []
            for sex in sexes:
                a, b = (rng.random(2) < p_alt).astype(int)
                roll = rng.random()
                haploid = haploid_chromosome(chrom, pos) and (sex == SEX_MALE or chrom == "MT")
                if roll < 0.08:
                    cells.append("." if haploid else "./.")
                elif haploid and roll < 0.85:
                    cells.append(str(a))
                elif roll < 0.93:
                    cells.append(f"{a}/{b}")
                else:  # the odd ones: haploid calls of females, hets of males on Y
                    cells.append(str(a) if roll < 0.97 else "0/1")
            records.append((chrom, pos, f"{chrom}_{pos}", ref, alt, cells))
            effect, other = (alt, ref) if k % 3 else (ref, alt)
            rows.append((chrom, pos, effect, other, round(float(rng.normal()), 4)))
    vcf = write_vcf(tmp / "sex.vcf.gz", samples, records, contigs=GRCH38_LENGTHS)
    sf = write_scorefile(tmp / "w.txt", rows, header={"pgs_id": "SEXCHR", "genome_build": "GRCh38"})
    psam = tmp / "sex.psam"
    words = {SEX_MALE: "1", SEX_FEMALE: "2", SEX_UNKNOWN: "NA"}
    psam.write_text(
        "#IID\tSEX\n" + "".join(f"{s}\t{words[x]}\n" for s, x in zip(samples, sexes, strict=True))
    )
    return {"vcf": vcf, "sf": sf, "psam": psam, "samples": samples, "sexes": sexes, "tmp": tmp}


def plink2_score(
    plink2: str,
    result,
    vcf: Path,
    workdir: Path,
    *,
    psam: Path | None,
    xchr_model: int = 2,
    missing: str = "mean-impute",
    dosage: str = "GT",
    split_par: str = "b38",
) -> pd.DataFrame:
    """PLINK 2's .sscore for exactly the variants prs matched (on a copy of the VCF whose
    IDs name records by number, as prs does)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (relabelled,) = relabel_vcf([vcf], workdir / "relabel")
    matched = result.match_report.variants.query("outcome == 'matched'")
    allele = np.where(
        matched["match_type"].str.startswith("ref"), matched["target_ref"], matched["target_alt"]
    )
    weights = workdir / "w.tsv"
    pd.DataFrame(
        {
            "ID": [f"r{r}" for r in matched["target_record"]],
            "A1": allele,
            "W": matched["effect_weight"],
        }
    ).to_csv(weights, sep="\t", index=False)
    pfile = workdir / "data"
    make = [plink2, "--vcf", str(relabelled)] + (["dosage=DS"] if dosage == "DS" else [])
    make += ["--split-par", split_par, "--make-pgen"]
    make += ["--out", str(pfile), "--threads", "1"]
    if psam is not None:
        make += ["--update-sex", str(psam)]
    run = [plink2, "--pfile", str(pfile), "--score", str(weights), "1", "2", "3", "header"]
    run += ["cols=+scoresums,+denom,+dosagesum"]
    run += ["no-mean-imputation"] if missing == "none" else []
    run += ["--xchr-model", str(xchr_model), "--out", str(workdir / "out"), "--threads", "1"]
    for cmd in (make, run):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"plink2 failed: {' '.join(cmd)}\n{proc.stdout}")
    return pd.read_csv(workdir / "out.sscore", sep="\t").set_index("#IID")


def assert_equal_to_plink2(result, expected: pd.DataFrame) -> None:
    theirs = expected.loc[list(result.samples)]
    sums = theirs["SCORE1_SUM"].to_numpy(dtype=float)
    # PLINK 2 prints 6 significant digits.
    tol = 0.5 * 10.0 ** (np.floor(np.log10(np.maximum(np.abs(sums), 1e-300))) - 5) + 1e-12
    bad = np.abs(result.sums[:, 0] - sums) > tol * (1 + 1e-9)
    assert not bad.any(), (
        f"SUM differs for {np.array(result.samples)[bad][:5]}: "
        f"{result.sums[bad, 0][:5]} vs PLINK 2 {sums[bad][:5]}"
    )
    np.testing.assert_array_equal(result.allele_ct[:, 0], theirs["ALLELE_CT"])
    np.testing.assert_array_equal(result.denom[:, 0], theirs["DENOM"])
    named = theirs["NAMED_ALLELE_DOSAGE_SUM"].to_numpy(dtype=float)
    # NAMED_ALLELE_DOSAGE_SUM is printed with 5 significant digits.
    half_unit = 0.5 * 10.0 ** (np.floor(np.log10(np.maximum(np.abs(named), 1e-300))) - 4)
    assert np.all(np.abs(result.named_dosage[:, 0] - named) <= half_unit * (1 + 1e-9) + 1e-9)


def run_prs(cohort, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score(cohort["vcf"], cohort["sf"], keep_ambiguous=True, **kw)


@pytest.mark.plink2
@pytest.mark.parametrize("haploid", ["as-diploid", "haploid"])
@pytest.mark.parametrize("missing", ["mean-impute", "none"])
@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_sex_chromosomes_equal_plink2_with_sex(plink2, cohort, tmp_path, haploid, missing, engine):
    result = run_prs(cohort, sex=cohort["psam"], haploid=haploid, missing=missing, engine=engine)
    classes = result.provenance["counts"]["variants_by_chromosome_class"]
    assert classes == {"X_nonPAR": 8, "Y": 8, "MT": 8}
    assert result.variants_used[0] == 48
    expected = plink2_score(
        plink2,
        result,
        cohort["vcf"],
        tmp_path,
        psam=cohort["psam"],
        xchr_model={"as-diploid": 2, "haploid": 1}[haploid],
        missing=missing,
    )
    assert_equal_to_plink2(result, expected)


@pytest.mark.plink2
@pytest.mark.parametrize("missing", ["mean-impute", "none"])
def test_sex_chromosomes_equal_plink2_without_sex(plink2, cohort, tmp_path, missing):
    """No sex: everyone of unknown sex, chrY adds nothing (with a warning), as PLINK 2."""
    with pytest.warns(ScoreWarning, match="chrY variant"):
        result = score(cohort["vcf"], cohort["sf"], keep_ambiguous=True, missing=missing)
    expected = plink2_score(plink2, result, cohort["vcf"], tmp_path, psam=None, missing=missing)
    assert_equal_to_plink2(result, expected)


@pytest.mark.plink2
def test_each_class_alone_equals_plink2(plink2, cohort, tmp_path):
    """One chromosome class at a time (a compensating error between classes cannot hide)."""
    for k, (chrom, start, _step) in enumerate(REGIONS):
        rows = [
            line.split("\t")
            for line in cohort["sf"].read_text().splitlines()
            if line[:1] not in ("#", "c") and line.split("\t")[0] == chrom
        ]
        rows = [r for r in rows if abs(int(r[1]) - start) < 100_000]
        sf = write_scorefile(
            tmp_path / f"w{k}.txt", rows, header={"pgs_id": "ONE", "genome_build": "GRCh38"}
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = score(cohort["vcf"], sf, keep_ambiguous=True, sex=cohort["psam"])
        expected = plink2_score(
            plink2, result, cohort["vcf"], tmp_path / f"c{k}", psam=cohort["psam"]
        )
        assert_equal_to_plink2(result, expected)


def test_mt_and_y_haploid_calls_count_one_copy(tmp_path):
    """F7's example: MT and chrY haploid '1' count one copy on one allele (PLINK 2), not two;
    a heterozygous call on them counts half; chrY adds nothing to a female."""
    samples = ["m", "f"]
    vcf = write_vcf(
        tmp_path / "h.vcf.gz",
        samples,
        [
            ("MT", 100, "a", "A", "G", ["1", "0/1"]),
            ("Y", 3_000_000, "b", "C", "T", ["1", "1"]),
        ],
        contigs=GRCH38_LENGTHS,
    )
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("MT", 100, "G", "A", 11.0), ("Y", 3_000_000, "T", "C", 0.1)],
        header={"pgs_id": "MTY", "genome_build": "GRCh38"},
    )
    result = score(vcf, sf, sex={"m": "male", "f": "female"})
    np.testing.assert_allclose(result.sums[:, 0], [11.0 + 0.1, 5.5])
    np.testing.assert_array_equal(result.allele_ct[:, 0], [2, 1])
    np.testing.assert_array_equal(result.denom[:, 0], [2, 1])
    np.testing.assert_array_equal(result.missing_ct[:, 0], [0, 0])


def test_haploid_autosome_and_x_calls_count_two_copies(tmp_path):
    """PLINK 2 stores a haploid call as homozygous diploid: two copies on an autosome and on
    chrX for any sex under the default model, one for a male under haploid='haploid'."""
    vcf = write_vcf(
        tmp_path / "a.vcf.gz",
        ["m", "f"],
        [("1", 100, "a", "A", "G", ["1", "1"]), ("X", 5_000_000, "b", "C", "T", ["1", "1/1"])],
        contigs=GRCH38_LENGTHS,
    )
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("1", 100, "G", "A", 1.0), ("X", 5_000_000, "T", "C", 10.0)],
        header={"pgs_id": "AX", "genome_build": "GRCh38"},
    )
    sex = {"m": 1, "f": 2}
    np.testing.assert_allclose(score(vcf, sf, sex=sex).sums[:, 0], [22.0, 22.0])
    one = score(vcf, sf, sex=sex, haploid="haploid")
    np.testing.assert_allclose(one.sums[:, 0], [12.0, 22.0])
    np.testing.assert_array_equal(one.allele_ct[:, 0], [3, 4])


def test_sex_file_layouts_agree(cohort, tmp_path):
    """.psam, .fam (FID_IID names too), a TSV with sample/sex columns and a mapping give the
    same scores."""
    words = {SEX_MALE: "M", SEX_FEMALE: "female", SEX_UNKNOWN: "0"}
    fam = tmp_path / "s.fam"
    fam.write_text(
        "".join(
            f"FAM{i} {s} 0 0 {x} -9\n"
            for i, (s, x) in enumerate(zip(cohort["samples"], cohort["sexes"], strict=True))
        )
    )
    tsv = tmp_path / "s.tsv"
    tsv.write_text(
        "sample_id\tage\tsex\n"
        + "".join(
            f"{s}\t50\t{words[x]}\n"
            for s, x in zip(cohort["samples"], cohort["sexes"], strict=True)
        )
    )
    mapping = dict(zip(cohort["samples"], cohort["sexes"], strict=True))
    base = run_prs(cohort, sex=cohort["psam"])
    for sex in (fam, tsv, mapping):
        np.testing.assert_array_equal(run_prs(cohort, sex=sex).sums, base.sums)
    assert read_sex(fam)["FAM0_P00"] == SEX_MALE
    assert base.provenance["sex"]["male"] == 30 and base.provenance["sex"]["unknown"] == 6


def test_sex_file_naming_no_sample_is_an_error(cohort, tmp_path):
    other = tmp_path / "other.psam"
    other.write_text("#IID\tSEX\nsomeone\t1\n")
    with pytest.raises(ScoreError, match=r"names none of the genotypes' 66 samples"):
        score(cohort["vcf"], cohort["sf"], sex=other)
    with pytest.raises(ScoreError, match="names none"):
        score(cohort["vcf"], cohort["sf"], sex={"nobody": "M"})


def test_bad_sex_inputs_are_named(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("IID\tSEX\na\t1\nb\tyes\n")
    with pytest.raises(ScoreError, match=r"bad.tsv line 3: sex 'yes' is not one of"):
        read_sex(bad)
    nosex = tmp_path / "nosex.psam"
    nosex.write_text("#IID\tPHENO\na\t1\n")
    with pytest.raises(ScoreError, match="line 1: no SEX column"):
        read_sex(nosex)
    short = tmp_path / "short.psam"
    short.write_text("#IID\tSEX\na\n")
    with pytest.raises(ScoreError, match="line 2: 1 fields, expected 2"):
        read_sex(short)
    twice = tmp_path / "twice.psam"
    twice.write_text("#IID\tSEX\na\t1\na\t2\n")
    with pytest.raises(ScoreError, match="given two sexes"):
        read_sex(twice)
    with pytest.raises(ScoreError, match="not a sex file"):
        (tmp_path / "x.txt").write_text("a b c\n")
        read_sex(tmp_path / "x.txt")
    assert [parse_sex(v, "t") for v in (1, 2, 0, "m", "F", "NA", -9, 1.0, None)] == [
        1,
        2,
        0,
        1,
        2,
        0,
        0,
        1,
        0,
    ]


def test_sex_input_missing_some_samples_warns(cohort, tmp_path):
    part = tmp_path / "part.psam"
    part.write_text("#IID\tSEX\nP00\t1\n")
    with pytest.warns(ScoreWarning, match="gives no sex for 65 of 66 samples"):
        score(cohort["vcf"], cohort["sf"], keep_ambiguous=True, sex=part)


def test_dominant_on_haploid_chromosomes_is_refused(tmp_path):
    """PLINK 2: "'dominant' and 'recessive' modifiers cannot be used with haploid
    chromosomes" (chrX, chrY, MT); the PARs are diploid and allowed."""
    vcf = write_vcf(
        tmp_path / "d.vcf.gz",
        ["a", "b"],
        [
            ("X", 100_000, "p", "A", "G", ["0/1", "1/1"]),
            ("X", 5_000_000, "x", "C", "T", ["0/1", "1"]),
        ],
        contigs=GRCH38_LENGTHS,
    )
    columns = ("chr_name", "chr_position", "effect_allele", "other_allele", "effect_weight")
    columns += ("is_dominant", "is_recessive")
    sf = write_scorefile(
        tmp_path / "w.txt",
        [
            ("X", 100_000, "G", "A", 1.0, "TRUE", "FALSE"),
            ("X", 5_000_000, "T", "C", 1.0, "FALSE", "TRUE"),
        ],
        header={"pgs_id": "DOM", "genome_build": "GRCh38"},
        columns=columns,
    )
    with pytest.raises(ScoreError, match=r"w.txt line \d+: a recessive row on X:5000000"):
        score(vcf, sf)
    par_only = write_scorefile(
        tmp_path / "p.txt",
        [("X", 100_000, "G", "A", 1.0, "TRUE", "FALSE")],
        header={"pgs_id": "DOM", "genome_build": "GRCh38"},
        columns=columns,
    )
    np.testing.assert_allclose(score(vcf, par_only).sums[:, 0], [1.0, 1.0])


def test_haploid_policy_without_males_warns(cohort):
    """haploid='haploid' once counted every haploid call once; it now follows PLINK 2's
    --xchr-model 1 (males' chrX only), so without any male it says it changes nothing."""
    with pytest.warns(ScoreWarning, match="changes only males' chrX calls"):
        score(cohort["vcf"], cohort["sf"], keep_ambiguous=True, haploid="haploid")


def test_unknown_haploid_policy_is_an_error(cohort):
    with pytest.raises(ScoreError, match="haploid must be one of"):
        score(cohort["vcf"], cohort["sf"], haploid="male")


def test_chromosome_classes():
    assert chromosome_class("X", 2_781_479, "GRCh38") == PAR
    assert chromosome_class("X", 2_781_480, "GRCh38") == X_NONPAR
    assert chromosome_class("X", 155_701_383, "GRCh38") == PAR
    assert chromosome_class("X", 2_699_520, "GRCh37") == PAR
    assert chromosome_class("X", 2_699_521, "GRCh37") == X_NONPAR
    assert chromosome_class("X", 154_931_044, "GRCh37") == PAR
    assert chromosome_class("X", 100_000, None) == X_NONPAR
    assert chromosome_class("XY", 5, None) == PAR
    assert chromosome_class("22", 5, None) == AUTOSOME
    chroms = ["X", "X", "X", "X", "Y", "MT", "XY", "1", "GL000192.1"]
    positions = [1, 2_781_479, 2_781_480, 155_701_383, 5, 5, 5, 5, 5]
    for build in ("GRCh37", "GRCh38", None):
        np.testing.assert_array_equal(
            record_classes(chroms, positions, build),
            [chromosome_class(c, p, build) for c, p in zip(chroms, positions, strict=True)],
        )


def test_model_on_a_source_reporting_raw_haploid_calls():
    """A source opened with haploid='haploid' (ploidy 1, one copy) is brought to PLINK 2's
    coding first: the same result as from the default engines."""
    dosage = np.array([[1.0, 2.0, 1.0], [1.0, 0.0, np.nan]])
    ploidy = np.array([[1, 2, 2], [1, 2, 1]], dtype=np.int8)
    sex = np.array([SEX_MALE, SEX_FEMALE, SEX_UNKNOWN], dtype=np.int8)
    classes = np.array([Y, MT], dtype=np.int8)
    d, p, fp = apply_ploidy_model(dosage, ploidy, classes, sex)
    np.testing.assert_array_equal(p, [[1, -1, -1], [1, 1, 1]])
    np.testing.assert_allclose(d, [[1.0, np.nan, np.nan], [1.0, 0.0, np.nan]])
    assert fp is None
    d, p, fp = apply_ploidy_model(dosage, ploidy, np.array([X_NONPAR, AUTOSOME]), sex)
    np.testing.assert_allclose(d, [[2.0, 2.0, 1.0], [2.0, 0.0, np.nan]])
    np.testing.assert_array_equal(fp, [[1, 2, 2], [2, 2, 2]])


def _find_cyvcf2_gt_bases() -> Path | None:
    """cyvcf2's tests/test_gt_bases.vcf.gz, wherever a copy is on this machine."""
    roots = [SHARED_DATA]
    roots += [Path(p) for p in sys.path if p.endswith("site-packages")]
    for root in roots:
        for candidate in (root / "cyvcf2" / "tests" / "test_gt_bases.vcf.gz",):
            if candidate.exists():
                return candidate
        if root.is_dir() and "shared" in root.parts:
            found = next(root.rglob("test_gt_bases.vcf.gz"), None)
            if found is not None:
                return found
    return None


@pytest.mark.plink2
def test_cyvcf2_gt_bases_equals_plink2(plink2, tmp_path):
    """cyvcf2's test_gt_bases.vcf.gz (mixed ploidy), scored at every biallelic site."""
    vcf = _find_cyvcf2_gt_bases()
    if vcf is None:
        pytest.skip(
            "cyvcf2's tests/test_gt_bases.vcf.gz is not on this machine (not in "
            "../shared/data, and the installed cyvcf2 ships no tests)"
        )
    sites = prs.genotypes.VcfSource(vcf).sites()
    pick = sites[sites.n_alleles == 2]
    rows = [(r.chrom, r.pos, r.alt, r.ref, 0.5 + k % 3) for k, r in enumerate(pick.itertuples())]
    sf = write_scorefile(tmp_path / "g.txt", rows, header={"pgs_id": "GTB"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = score(vcf, sf, keep_ambiguous=True, min_overlap=0.0, half_call="missing")
    expected = plink2_score(plink2, result, vcf, tmp_path / "p", psam=None)
    assert_equal_to_plink2(result, expected)


def test_plink2_is_the_reference_binary():
    """The cross-checks above need plink2; say clearly when it is absent (CI installs it)."""
    if shutil.which("plink2") is None:
        pytest.skip("plink2 is not on PATH")
    out = subprocess.run(["plink2", "--version"], capture_output=True, text=True).stdout
    assert out.startswith("PLINK v2")


@pytest.fixture(scope="module")
def cohort_ds(tmp_path_factory, cohort):
    """The cohort's calls with a DS value each (steps of 1/8, exact in PLINK 2's 1/16384
    grid): 0..1 for haploid calls, 0..2 for diploid ones, '.' for missing calls."""
    tmp = tmp_path_factory.mktemp("ploidy_ds")
    rng = np.random.default_rng(21)
    records = []
    with gzip.open(cohort["vcf"], "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            cells = []
            for gt in fields[9:]:
                if "." in gt:
                    cells.append(f"{gt}:.")
                else:
                    top = 8 * (1 if len(gt) == 1 else 2)
                    cells.append(f"{gt}:{rng.integers(0, top + 1) / 8:g}")
            records.append((fields[0], int(fields[1]), fields[2], fields[3], fields[4], cells))
    vcf = write_vcf(
        tmp / "ds.vcf.gz", cohort["samples"], records, fmt="GT:DS", contigs=GRCH38_LENGTHS
    )
    return {**cohort, "vcf": vcf}


@pytest.mark.plink2
@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_sex_chromosome_ds_dosages_equal_plink2(plink2, cohort_ds, tmp_path, engine):
    """DS: a haploid call's DS is doubled as PLINK 2 stores it, then counted per class."""
    result = run_prs(cohort_ds, sex=cohort_ds["psam"], dosage="DS", engine=engine)
    expected = plink2_score(
        plink2, result, cohort_ds["vcf"], tmp_path, psam=cohort_ds["psam"], dosage="DS"
    )
    assert_equal_to_plink2(result, expected)


@pytest.mark.plink2
@pytest.mark.parametrize("haploid", ["as-diploid", "haploid"])
def test_real_chrx_with_sex_equals_plink2(plink2, shared_data, tmp_path, haploid):
    """1000 Genomes chrX (GRCh37: PAR1, non-PAR, PAR2 sites), sex taken from the calls
    (haploid outside the PARs: male), four people left of unknown sex."""
    vcf = shared_data / "genotypes/imputationserver/chrX-phased/small.chrX.vcf.gz"
    samples, male = None, None
    with gzip.open(vcf, "rt") as fh:
        for line in fh:
            if line.startswith("#CHROM"):
                samples = line.rstrip("\n").split("\t")[9:]
                male = np.zeros(len(samples), dtype=bool)
            elif not line.startswith("#"):
                fields = line.rstrip("\n").split("\t")
                if chromosome_class("X", int(fields[1]), "GRCh37") == X_NONPAR:
                    male |= np.array(["|" not in c and "/" not in c for c in fields[9:]])
    assert samples is not None and 0 < male.sum() < len(male)
    psam = tmp_path / "x.psam"
    words = ["NA" if i < 4 else ("1" if m else "2") for i, m in enumerate(male)]
    psam.write_text(
        "#IID\tSEX\n" + "".join(f"{s}\t{w}\n" for s, w in zip(samples, words, strict=True))
    )
    sites = prs.genotypes.VcfSource(vcf).sites()
    sites = sites[sites.n_alleles == 2]
    classes = record_classes(sites["chrom"], sites["pos"], "GRCh37")
    pick = pd.concat(
        [
            sites[classes == PAR].sample(60, random_state=2),
            sites[classes == X_NONPAR].sample(240, random_state=3),
        ]
    )
    rng = np.random.default_rng(12)
    rows = [
        (r.chrom, r.pos, r.alt, r.ref, round(float(rng.normal()), 6)) for r in pick.itertuples()
    ]
    sf = write_scorefile(
        tmp_path / "x.txt", rows, header={"pgs_id": "XSEX", "genome_build": "GRCh37"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # 26 people: too few for PLINK 2 to impute from, so no imputation (as test_plink2)
        result = score(vcf, sf, keep_ambiguous=True, sex=psam, haploid=haploid, missing="none")
    assert result.provenance["counts"]["variants_by_chromosome_class"]["X_nonPAR"] == 240
    expected = plink2_score(
        plink2,
        result,
        vcf,
        tmp_path / "p",
        psam=psam,
        xchr_model={"as-diploid": 2, "haploid": 1}[haploid],
        split_par="b37",
        missing="none",
    )
    assert_equal_to_plink2(result, expected)
