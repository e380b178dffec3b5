"""Sample sheets (``prs.samplesheet``, ``prs score --sample-sheet``): many samplesets in one run.

pgsc_calc's layout and prs's are read; each sampleset scores as :func:`prs.score` on its files
alone (and as a hand computation with its own cohort's imputation); a sample ID in two
samplesets stays two people; relative paths are the sheet's; every refusal names the sheet,
the line and the column; a failure anywhere leaves no partial outputs; the CINECA cohort as
VCF, bed and pgen samplesets gives three identical score columns.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prs
from prs.cli import build_parser, main
from prs.cli.samplesheet import run_sample_sheet
from prs.errors import GenotypeFileError, ReportError, ScoreError
from prs.report import write_score_outputs
from prs.samplesheet import (
    read_samplesheet,
    score_samplesheet,
    write_samplesheet_outputs,
)
from tests.builders import write_scorefile, write_vcf

pytestmark = pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")

#: Scoring rows (chrom, pos, effect = ALT G, other = REF A, weight): 3 on chr21, 3 on chr22.
ROWS = [(c, 1000 + 10 * k, "G", "A", round(0.1 * (k + 1) * (1 if c == "21" else -1.5), 3))
        for c in ("21", "22") for k in range(3)]  # fmt: skip


def _genotypes(rng: np.random.Generator, n: int, missing: float = 0.15) -> np.ndarray:
    """ALT-allele counts (0, 1, 2; -1 missing), samples x variants, at random frequencies."""
    freq = rng.uniform(0.1, 0.9, size=len(ROWS))
    calls = rng.binomial(2, freq, size=(n, len(ROWS)))
    calls[rng.random(calls.shape) < missing] = -1
    calls[0, :] = np.maximum(calls[0, :], 0)  # every variant with an observed call
    calls[1, :] = np.maximum(calls[1, :], 0)
    return calls


def _cells(counts: np.ndarray) -> list[str]:
    return ["./." if c < 0 else ("0/0", "0/1", "1/1")[c] for c in counts]


def _write_cohort(
    directory: Path, stem: str, samples: list[str], calls: np.ndarray, *, per_chrom: bool
) -> list[Path]:
    """The cohort's VCF(s): one per chromosome (``<stem>_chr21.vcf.gz``...) or one."""
    directory.mkdir(parents=True, exist_ok=True)
    records = [
        (c, p, f"v{k}", "A", "G", _cells(calls[:, k])) for k, (c, p, *_rest) in enumerate(ROWS)
    ]
    if not per_chrom:
        return [write_vcf(directory / f"{stem}.vcf.gz", samples, records)]
    return [
        write_vcf(
            directory / f"{stem}{chrom}.vcf.gz", samples, [r for r in records if r[0] == chrom]
        )
        for chrom in ("21", "22")
    ]


def _hand_sums(calls: np.ndarray) -> np.ndarray:
    """SUM of each sample, by hand: weight x ALT count, a missing call at twice the ALT
    frequency among this cohort's observed calls (PLINK 2's mean imputation)."""
    weights = np.array([r[4] for r in ROWS])
    observed = calls >= 0
    freq = np.where(observed, calls, 0).sum(axis=0) / (2 * observed.sum(axis=0))
    dosage = np.where(observed, calls, 2 * freq)
    return dosage @ weights


@pytest.fixture
def cohorts(tmp_path) -> dict:
    """Two cohorts sharing sample IDs S0..S5 (different people, different calls); the first
    split by chromosome, the second in one VCF; and the scoring file."""
    rng = np.random.default_rng(13)
    data = tmp_path / "data"
    first_samples = [f"S{i}" for i in range(8)]
    second_samples = [f"S{i}" for i in range(6)] + ["T0", "T1", "T2"]
    first = _genotypes(rng, len(first_samples))
    second = _genotypes(rng, len(second_samples))
    return {
        "dir": tmp_path,
        "scorefile": write_scorefile(tmp_path / "score.txt", ROWS, header={"pgs_id": "T1"}),
        "first": (first_samples, first, _write_cohort(data, "first", first_samples, first,
                                                      per_chrom=True)),
        "second": (second_samples, second, _write_cohort(data, "second", second_samples,
                                                         second, per_chrom=False)),
    }  # fmt: skip


def _sheet(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _prefix(vcf: Path) -> str:
    """pgsc_calc's path prefix of a VCF: the path without ``.vcf.gz``."""
    return str(vcf)[: -len(".vcf.gz")]


def _same(a: prs.ScoreResult, b: prs.ScoreResult) -> None:
    assert a.samples == b.samples
    assert a.score_ids == b.score_ids
    for name in ("sums", "allele_ct", "denom", "named_dosage", "missing_ct", "variants_used"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    pd.testing.assert_frame_equal(a.match_report.counts, b.match_report.counts)


# --------------------------------------------------------------------------------------------
# Scores


def test_pgsc_calc_sheet_scores_each_sampleset_as_alone(cohorts):
    first_vcfs, second_vcfs = cohorts["first"][2], cohorts["second"][2]
    sheet = _sheet(
        cohorts["dir"] / "sheet.csv",
        "sampleset,path_prefix,chrom,format\n"
        f"first,{_prefix(first_vcfs[0])},21,vcf\n"
        f"first,{_prefix(first_vcfs[1])},chr22,vcf\n"
        f"second,{_prefix(second_vcfs[0])},,vcf\n",
    )
    result = score_samplesheet(sheet, cohorts["scorefile"])
    assert list(result.results) == ["first", "second"]
    _same(result["first"], prs.score(first_vcfs, cohorts["scorefile"]))
    _same(result["second"], prs.score(second_vcfs, cohorts["scorefile"]))
    # and by hand, each cohort imputing from its own calls
    for name in ("first", "second"):
        samples, calls, _ = cohorts[name]
        assert result[name].samples == tuple(samples)
        np.testing.assert_allclose(result[name].sums[:, 0], _hand_sums(calls), atol=1e-12)
    assert result["first"].match_report.counts.loc["T1", "matched"] == len(ROWS)


def test_a_sample_in_two_samplesets_is_two_people(cohorts):
    (s1, c1, v1), (s2, c2, v2) = cohorts["first"], cohorts["second"]
    sheet = _sheet(
        cohorts["dir"] / "sheet.csv",
        f"sampleset,path,format\nfirst,{v1[0]};{v1[1]},vcf\nsecond,{v2[0]},vcf\n",
    )
    result = score_samplesheet(sheet, cohorts["scorefile"])
    table = result.to_frame()
    assert list(table.columns[:3]) == ["sampleset", "sample_id", "score"]
    assert len(table) == len(s1) + len(s2)
    shared = table[table["sample_id"] == "S0"]
    assert list(shared["sampleset"]) == ["first", "second"]
    by_hand = {"first": _hand_sums(c1), "second": _hand_sums(c2)}
    for sampleset, samples in (("first", s1), ("second", s2)):
        rows = table[table["sampleset"] == sampleset]
        assert list(rows["sample_id"]) == samples
        np.testing.assert_allclose(rows["SUM"], by_hand[sampleset], rtol=1e-12, atol=1e-12)
    # Pooling the cohorts would impute otherwise: the shared IDs' sums would change.
    pooled = np.vstack([c1, c2])
    assert not np.allclose(_hand_sums(pooled)[: len(s1)], by_hand["first"])


def test_relative_paths_are_the_sheets(cohorts, monkeypatch, tmp_path):
    v1, v2 = cohorts["first"][2], cohorts["second"][2]
    # The sheet in its own folder, the data beside it: ../data/...
    sheet = _sheet(
        cohorts["dir"] / "sheets" / "sheet.tsv",
        "sampleset\tpath\tformat\n"
        f"first\t../data/{v1[0].name}; ../data/{v1[1].name}\tvcf\n"
        f"second\t../data/{v2[0].name}\tauto\n",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    parsed = read_samplesheet(Path("..") / "sheets" / "sheet.tsv")
    assert parsed.samplesets[0].paths == tuple(p.resolve() for p in v1)
    assert [p.resolve() for p in parsed.samplesets[1].paths] == [v2[0].resolve()]
    result = score_samplesheet(sheet, cohorts["scorefile"])
    _same(result["first"], prs.score(v1, cohorts["scorefile"]))


def test_pgsc_calc_bcf_row_with_a_relative_prefix(cohorts):
    """As pgsc_calc's own example sheet: ``cineca,target_genomes/cineca,22,bcf``."""
    vcf = cohorts["second"][2][0]
    bcf = cohorts["dir"] / "data" / "second.bcf"
    with pysam.VariantFile(str(vcf)) as src:
        with pysam.VariantFile(str(bcf), "wb", header=src.header) as dst:
            for rec in src:
                dst.write(rec)
    sheet = _sheet(
        cohorts["dir"] / "sheet.csv", "sampleset,path_prefix,chrom,format\nb,data/second,,bcf\n"
    )
    assert read_samplesheet(sheet).samplesets[0].paths == (bcf,)
    result = score_samplesheet(sheet, cohorts["scorefile"])
    _same(result["b"], prs.score(vcf, cohorts["scorefile"]))


def test_the_sheet_sets_a_samplesets_genotype_field(tmp_path):
    rng = np.random.default_rng(3)
    samples = ["A", "B", "C", "D"]
    records = []
    for k, (chrom, pos, *_rest) in enumerate(ROWS):
        ds = rng.integers(0, 17, size=4) / 8
        records.append((chrom, pos, f"v{k}", "A", "G", [f"0/1:{d}" for d in ds]))
    vcf = write_vcf(tmp_path / "ds.vcf.gz", samples, records, fmt="GT:DS")
    sf = write_scorefile(tmp_path / "s.txt", ROWS, header={"pgs_id": "T1"})
    sheet = _sheet(
        tmp_path / "sheet.csv",
        "sampleset,path_prefix,chrom,format,vcf_genotype_field\n"
        f"imputed,{_prefix(vcf)},,vcf,DS\nhard,{_prefix(vcf)},,vcf,\n",
    )
    result = score_samplesheet(sheet, sf)
    _same(result["imputed"], prs.score(vcf, sf, dosage="DS"))
    _same(result["hard"], prs.score(vcf, sf))
    assert not np.array_equal(result["imputed"].sums, result["hard"].sums)
    assert result["imputed"].provenance["options"]["dosage"] == "DS"


def test_the_sheets_sex_file_reaches_its_sampleset(tmp_path):
    samples = ["M1", "F1", "M2", "F2"]
    records = [
        ("X", 5_000_000 + 10 * k, f"x{k}", "A", "G", ["1", "0/1", "0", "1/1"]) for k in range(4)
    ]
    vcf = write_vcf(tmp_path / "x.vcf.gz", samples, records)
    rows = [("X", 5_000_000 + 10 * k, "G", "A", 0.5) for k in range(4)]
    sf = write_scorefile(tmp_path / "x.txt", rows, header={"pgs_id": "X1"})
    sex = tmp_path / "sex.tsv"
    sex.write_text("sample\tsex\nM1\t1\nF1\t2\nM2\t1\nF2\t2\n")
    sheet = _sheet(
        tmp_path / "sheet.csv",
        f"sampleset,path,format,sex\nsexed,{vcf},vcf,sex.tsv\nunsexed,{vcf},vcf,\n",
    )
    options = {"haploid": "haploid", "genome_build": "GRCh37"}
    result = score_samplesheet(sheet, sf, **options)
    _same(result["sexed"], prs.score(vcf, sf, sex=sex, **options))
    _same(result["unsexed"], prs.score(vcf, sf, **options))
    # males' calls count one allele only with their sex known (PLINK 2 --xchr-model 1)
    np.testing.assert_array_equal(result["sexed"].sums[:, 0], [2.0, 2.0, 0.0, 4.0])
    np.testing.assert_array_equal(result["unsexed"].sums[:, 0], [4.0, 2.0, 0.0, 4.0])
    assert result["sexed"].provenance["options"]["sex"] == str(sex)


def test_provenance_records_the_sheet(cohorts):
    v1 = cohorts["first"][2]
    both = f"{v1[0]};{v1[1]}"
    sheet = _sheet(cohorts["dir"] / "sheet.csv", f"sampleset,path,format\nfirst,{both},vcf\n")
    result = score_samplesheet(sheet, cohorts["scorefile"])
    recorded = result["first"].provenance["samplesheet"]
    assert recorded["path"] == str(sheet.absolute())
    assert recorded["sha256"] == hashlib.sha256(sheet.read_bytes()).hexdigest()
    assert recorded["layout"] == "prs"
    assert recorded["sampleset"] == "first"
    assert recorded["rows"] == [{"line": "2", "sampleset": "first", "path": both, "format": "vcf"}]
    assert result.provenance["samplesheet"]["sha256"] == recorded["sha256"]


# --------------------------------------------------------------------------------------------
# PLINK samplesets (pgsc_calc's pfile and bfile rows)


def _make(plink2: str, vcf: Path, out: Path, *args: str) -> Path:
    subprocess.run(
        [plink2, "--vcf", str(vcf), *args, "--out", str(out)], check=True, capture_output=True
    )
    return out


@pytest.mark.plink2
def test_pgsc_calc_sheet_with_vcf_pfile_and_bfile_rows(cohorts, plink2):
    d = cohorts["dir"]
    first, second = cohorts["first"][2], cohorts["second"][2]
    pfile = _make(plink2, second[0], d / "data" / "second", "--make-pgen")
    bfile = _make(plink2, second[0], d / "data" / "secondbed", "--make-bed")
    sheet = _sheet(
        d / "sheet.csv",
        "sampleset,path_prefix,chrom,format\n"
        f"first,data/{first[0].name[: -len('.vcf.gz')]},21,vcf\n"
        f"first,data/{first[1].name[: -len('.vcf.gz')]},22,vcf\n"
        f"pgen,{pfile.relative_to(d)},,pfile\n"
        f"bed,{bfile},,bfile\n",
    )
    result = score_samplesheet(sheet, cohorts["scorefile"])
    assert list(result.results) == ["first", "pgen", "bed"]
    _same(result["first"], prs.score(first, cohorts["scorefile"]))
    vcf_alone = prs.score(second, cohorts["scorefile"])
    for name in ("pgen", "bed"):
        # PLINK 2's conversion of the VCF, read by the PLINK reader, scores as the VCF
        _same(result[name], vcf_alone)
        assert result[name].provenance["options"]["engine"] == "PlinkSource"
    assert result["pgen"].provenance["options"]["genotype_format"] == "plink"


@pytest.mark.plink2
def test_prs_sheet_with_pgen_and_bed_prefixes(cohorts, plink2):
    d = cohorts["dir"]
    second = cohorts["second"][2]
    # one prefix holding both a pgen and a bed fileset: the format word picks one
    _make(plink2, second[0], d / "data" / "both", "--make-pgen")
    _make(plink2, second[0], d / "data" / "both", "--make-bed")
    sheet = _sheet(
        d / "sheet.csv",
        "sampleset,path,format\np,data/both,pfile\nb,data/both,bed\n",
    )
    parsed = read_samplesheet(sheet)
    assert [s.paths[0].name for s in parsed.samplesets] == ["both.pgen", "both.bed"]
    result = score_samplesheet(parsed, cohorts["scorefile"])
    _same(result["p"], result["b"])
    _same(result["p"], prs.score(second, cohorts["scorefile"]))


# --------------------------------------------------------------------------------------------
# Refusals: each names the sheet, the line and the column


@pytest.fixture
def files(cohorts) -> dict[str, str]:
    v1, v2 = cohorts["first"][2], cohorts["second"][2]
    return {"a21": _prefix(v1[0]), "a22": _prefix(v1[1]), "b": _prefix(v2[0]), "vcf": str(v2[0])}


PGSC = "sampleset,path_prefix,chrom,format\n"
PRS = "sampleset,path,format\n"

REFUSALS = {
    "unknown pgsc_calc format": (
        PGSC + "a,{a21},21,bgen\n",
        r"line 2, column format: unknown format 'bgen'",
    ),
    "unknown prs format": (PRS + "a,{vcf},vcf.gz\n", r"line 2, column format: unknown format"),
    "missing file": (
        PGSC + "a,{a21},21,vcf\na,{a21}x,22,vcf\n",
        r"line 3, column path_prefix: no vcf file for path prefix",
    ),
    "missing prs file": (PRS + "a,{vcf}.nope,vcf\n", r"line 2, column path: .*no such file"),
    "missing plink fileset": (
        PGSC + "a,{b},,pfile\n",
        r"line 2, column path_prefix: no pfile file for path prefix",
    ),
    "one sampleset, two formats": (
        "sampleset,path,format,chrom\na,{a21}.vcf.gz,vcf,21\na,{a22}.vcf.gz,auto,22\n",
        r"line 3, column format: sampleset 'a' is vcf on line 2 but auto here",
    ),
    "underscore in name": (PRS + "my_cohort,{vcf},vcf\n", r"line 2, column sampleset:.*'_'"),
    "dot in name": (PRS + "cohort.1,{vcf},vcf\n", r"line 2, column sampleset:.*'\.'"),
    "space in name": (PRS + '"my cohort",{vcf},vcf\n', r"line 2, column sampleset:"),
    "reserved name": (PRS + "reference,{vcf},vcf\n", r"line 2, column sampleset:.*reserved"),
    "empty name": (PRS + ",{vcf},vcf\n", r"line 2, column sampleset: the sampleset name is"),
    "names differing in case": (
        PRS + "abc,{vcf},vcf\nABC,{vcf},vcf\n",
        r"line 3, column sampleset: sampleset names 'abc' and 'ABC' differ only in case",
    ),
    "empty chrom beside chrom rows": (
        PGSC + "a,{a21},21,vcf\na,{a22},,vcf\n",
        r"line 3, column chrom: sampleset 'a' has 2 rows",
    ),
    "two rows without chrom (prs)": (
        PRS + "a,{vcf},vcf\na,{a21}.vcf.gz,vcf\n",
        r"line 2, column chrom: .*separated by ';'",
    ),
    "chromosome twice": (
        PGSC + "a,{a21},21,vcf\na,{a22},chr21,vcf\n",
        r"line 3, column chrom: chromosome 21 of sampleset 'a' is also on line 2",
    ),
    "bad chromosome": (PGSC + "a,{a21},chr99,vcf\n", r"line 2, column chrom: chromosome 'chr99'"),
    "same file twice": (
        PRS + "a,{vcf};{vcf},vcf\n",
        r"line 2, column path: .* is listed twice for sampleset 'a'",
    ),
    "unknown column": (
        "sampleset,path,format,sexfile\na,{vcf},vcf,x\n",
        r"line 1: unknown column 'sexfile'",
    ),
    "path and path_prefix": (
        "sampleset,path,path_prefix,chrom,format\n",
        r"line 1: give either path_prefix",
    ),
    "pgsc_calc before v2": (
        "sample,vcf_path,bfile_path,pfile_path,chrom\na,{vcf},,,22\n",
        r"line 1: pgsc_calc's layout before v2 .* is not read",
    ),
    "pgsc_calc v3": (
        "sampleset,path,chrom,file_format,genotyping_method\na,{vcf},,vcf,array\n",
        r"line 1: pgsc_calc v3's layout .* is not read yet",
    ),
    "missing column": ("sampleset,path_prefix,format\n", r"line 1: the header lacks chrom"),
    "repeated column": ("sampleset,path,path,format\n", r"line 1: column 'path' appears twice"),
    "cell count": (PRS + "a,{vcf}\n", r"line 2: 2 cells where the header has 3 columns"),
    "header only": (PRS, r"sheet.csv: the sample sheet has a header but no rows"),
    "empty sheet": ("\n", r"sheet.csv: the sample sheet is empty"),
    "missing sex file": (
        "sampleset,path,format,sex\na,{vcf},vcf,nosuch.psam\n",
        r"line 2, column sex: .*nosuch.psam: no such sex file",
    ),
    "two sex files": (
        "sampleset,path_prefix,chrom,format,sex\na,{a21},21,vcf,{vcf}\na,{a22},22,vcf,{a21}.vcf.gz\n",
        r"line 3, column sex: sampleset 'a' has .* on line 2 but",
    ),
    "bad genotype field": (
        PGSC.strip() + ",vcf_genotype_field\na,{a21},21,vcf,GP\n",
        r"line 2, column vcf_genotype_field: 'GP' is not one of GT, DS",
    ),
    "empty path": (PRS + "a,,vcf\n", r"line 2, column path: no genotype file given"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_name_sheet_line_and_column(case, files, tmp_path):
    text, message = REFUSALS[case]
    sheet = _sheet(tmp_path / "sheets" / "sheet.csv", text.format(**files))
    with pytest.raises(ScoreError, match=r"sheet\.csv" + (".*" if "line" in message else "")):
        read_samplesheet(sheet)
    with pytest.raises(ScoreError, match=message):
        read_samplesheet(sheet)


@pytest.fixture(scope="module")
def one_vcf(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("names")
    return write_vcf(directory / "c.vcf.gz", ["A"], [("22", 1, "v", "A", "G", ["0/1"])])


@settings(max_examples=60, deadline=None)
@given(
    name=st.from_regex(r"[A-Za-z0-9]{1,24}", fullmatch=True).filter(
        lambda n: n.lower() != "reference"
    )
)
def test_every_name_pgsc_calc_accepts_is_read(one_vcf, name):
    """Names of pgsc_calc's JSON schema (^[a-zA-Z0-9]*$, not 'reference') are read unchanged."""
    sheet = one_vcf.parent / f"sheet-{name}.csv"
    sheet.write_text(f"sampleset,path_prefix,chrom,format\n{name},c,,vcf\n")
    assert read_samplesheet(sheet).names == (name,)


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=12).filter(lambda n: n.strip() == n and n.strip()))
def test_names_outside_the_rule_are_refused(one_vcf, name):
    sheet = one_vcf.parent / "sheet-any.csv"
    with sheet.open("w", newline="") as fh:
        csv.writer(fh).writerows([["sampleset", "path", "format"], [name, "c.vcf.gz", "vcf"]])
    allowed = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", name) and name.lower() != "reference"
    if allowed:
        assert read_samplesheet(sheet).names == (name,)
    else:
        with pytest.raises(ScoreError, match=r"line 2, column sampleset|line \d+"):
            read_samplesheet(sheet)


def test_missing_sheet_is_named(tmp_path):
    with pytest.raises(ScoreError, match=r"nosuch\.csv: no such sample sheet"):
        read_samplesheet(tmp_path / "nosuch.csv")


def test_options_the_sheet_owns_are_refused(cohorts):
    v1 = cohorts["first"][2]
    sheet = _sheet(
        cohorts["dir"] / "sheet.csv",
        f"sampleset,path,format,sex\nfirst,{v1[0]},vcf,{v1[0]}\n",
    )
    with pytest.raises(ScoreError, match="genotype_format is given by the sample sheet"):
        score_samplesheet(sheet, cohorts["scorefile"], genotype_format="vcf")
    with pytest.raises(ScoreError, match=r"line 2, column sex: .*give it in one place"):
        score_samplesheet(sheet, cohorts["scorefile"], sex={"S0": 1})


def test_a_samplesets_error_names_it(cohorts):
    v1 = cohorts["first"][2]
    broken = cohorts["dir"] / "broken.vcf.gz"
    broken.write_bytes(v1[0].read_bytes()[:-40])  # cut short
    sheet = _sheet(
        cohorts["dir"] / "sheet.csv",
        f"sampleset,path,format\nfirst,{v1[0]};{v1[1]},vcf\nbroken,{broken},vcf\n",
    )
    with pytest.raises(GenotypeFileError, match=r"sampleset 'broken' \(.*sheet\.csv line 3\)"):
        score_samplesheet(sheet, cohorts["scorefile"])


# --------------------------------------------------------------------------------------------
# Outputs


def _three(cohorts, broken: Path | None = None) -> Path:
    v1, v2 = cohorts["first"][2], cohorts["second"][2]
    third = broken or v2[0]
    return _sheet(
        cohorts["dir"] / "sheet.csv",
        "sampleset,path,format\n"
        f"first,{v1[0]};{v1[1]},vcf\nsecond,{v2[0]},vcf\nthird,{third},vcf\n",
    )


def test_outputs_per_sampleset_and_combined(cohorts, tmp_path):
    result = score_samplesheet(_three(cohorts), cohorts["scorefile"])
    out = tmp_path / "out"
    paths = write_samplesheet_outputs(result, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "first", "match_summary.tsv", "provenance.json", "scores.tsv", "second", "third",
    ]  # fmt: skip
    assert paths["scores"] == out / "scores.tsv"
    # Each sampleset's directory holds what `prs score` writes for its files alone.
    alone = tmp_path / "alone"
    write_score_outputs(prs.score(cohorts["first"][2], cohorts["scorefile"]), alone)
    for name in ("scores.tsv", "match_report.tsv", "match_summary.tsv"):
        assert (out / "first" / name).read_bytes() == (alone / name).read_bytes(), name
    assert paths["first/scores"] == out / "first" / "scores.tsv"
    # The combined scores: a leading sampleset column over each sampleset's table.
    combined = _read(out / "scores.tsv")
    assert list(combined.columns) == ["sampleset", *_read(alone / "scores.tsv").columns]
    for name in ("first", "second", "third"):
        own = _read(out / name / "scores.tsv")
        part = combined[combined["sampleset"] == name].drop(columns="sampleset")
        pd.testing.assert_frame_equal(part.reset_index(drop=True), own)
    summary = pd.read_csv(out / "match_summary.tsv", sep="\t")
    assert list(summary["sampleset"]) == ["first", "second", "third"]
    assert list(summary["matched"]) == [len(ROWS)] * 3
    run = (out / "provenance.json").read_text()
    assert '"samplesets"' in run and str(cohorts["dir"] / "sheet.csv") in run


def _read(path: Path) -> pd.DataFrame:
    """A TSV as written (empty cells kept, floats to the last bit)."""
    return pd.read_csv(path, sep="\t", keep_default_na=False, float_precision="round_trip")


def _listing(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(directory.rglob("*"))
    }


def test_a_scoring_failure_in_the_third_sampleset_writes_nothing(cohorts, tmp_path, capsys):
    broken = cohorts["dir"] / "broken.vcf.gz"
    broken.write_bytes(cohorts["second"][2][0].read_bytes()[:-40])
    args = _cli_args(_three(cohorts, broken), cohorts["scorefile"], tmp_path / "out")
    with pytest.raises(GenotypeFileError, match="sampleset 'third'"):
        run_sample_sheet(args)
    assert not (tmp_path / "out").exists()
    assert "first: T1" not in capsys.readouterr().err  # no summary: nothing was written


def test_a_write_failure_in_the_third_sampleset_publishes_nothing(cohorts, tmp_path):
    result = score_samplesheet(_three(cohorts), cohorts["scorefile"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "third").write_text("in the way\n")  # the third sampleset's directory cannot be
    with pytest.raises(ReportError, match=r"out/third: cannot write output"):
        write_samplesheet_outputs(result, out)
    assert _listing(out) == {"third": b"in the way\n"}  # nothing else, no staging left


def test_a_failed_run_leaves_the_previous_outputs(cohorts, tmp_path, monkeypatch):
    result = score_samplesheet(_three(cohorts), cohorts["scorefile"])
    out = tmp_path / "out"
    write_samplesheet_outputs(result, out)
    before = _listing(out)
    calls = {"n": 0}
    real = prs.scoring.ScoreResult.to_frame

    def fail_third(self):
        calls["n"] += 1
        if calls["n"] == 3:  # the third sampleset's scores table
            raise ReportError("disk full (simulated)")
        return real(self)

    monkeypatch.setattr(prs.scoring.ScoreResult, "to_frame", fail_third)
    with pytest.raises(ReportError, match="simulated"):
        write_samplesheet_outputs(result, out)
    assert calls["n"] == 3
    assert _listing(out) == before


def test_a_write_failure_removes_the_directories_it_made(cohorts, tmp_path, monkeypatch):
    result = score_samplesheet(_three(cohorts), cohorts["scorefile"])
    real = prs.scoring.ScoreResult.to_frame
    calls = {"n": 0}

    def fail_third(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ReportError("disk full (simulated)")
        return real(self)

    monkeypatch.setattr(prs.scoring.ScoreResult, "to_frame", fail_third)
    with pytest.raises(ReportError, match="simulated"):
        write_samplesheet_outputs(result, tmp_path / "new" / "out")
    assert not (tmp_path / "new").exists()  # new/, new/out/, new/out/first/ ... all gone


def test_parquet_outputs(cohorts, tmp_path):
    pytest.importorskip("pyarrow")
    result = score_samplesheet(_three(cohorts), cohorts["scorefile"])
    write_samplesheet_outputs(result, tmp_path / "out", "parquet")
    combined = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    pd.testing.assert_frame_equal(combined, result.to_frame())
    assert (tmp_path / "out" / "second" / "match_report.parquet").is_file()


# --------------------------------------------------------------------------------------------
# The command line's handler


def _cli_args(sheet: Path, scorefile: Path, out: Path, *extra: str) -> argparse.Namespace:
    """``prs score --sample-sheet`` arguments as parsed."""
    return build_parser(["prs.cli.score"]).parse_args(
        ["score", "--sample-sheet", str(sheet), "--scorefile", str(scorefile), "--out",
         str(out), *extra]
    )  # fmt: skip


def test_cli_handler_scores_and_prints_each_sampleset(cohorts, tmp_path, capsys):
    out = tmp_path / "out"
    args = _cli_args(_three(cohorts), cohorts["scorefile"], out, "--missing", "none")
    assert run_sample_sheet(args) == 0
    err = capsys.readouterr().err
    for name, n in (("first", 8), ("second", 9), ("third", 9)):
        assert f"{name}: T1: 6/6 variants matched (100.0%), {n} samples scored" in err
        assert f"{name}: scoring {2 if name == 'first' else 1} file(s)" in err
    api = score_samplesheet(_three(cohorts), cohorts["scorefile"], missing="none")
    combined = _read(out / "scores.tsv")
    np.testing.assert_array_equal(combined["SUM"], api.to_frame()["SUM"])
    # missing calls added nothing (--missing none reached every sampleset)
    with_imputation = score_samplesheet(_three(cohorts), cohorts["scorefile"])
    assert not np.array_equal(combined["SUM"], with_imputation.to_frame()["SUM"])


def test_prs_score_sample_sheet(cohorts, tmp_path, capsys):
    out = tmp_path / "out"
    sheet, sf = _three(cohorts), cohorts["scorefile"]
    assert (
        main(["score", "--sample-sheet", str(sheet), "--scorefile", str(sf), "--out", str(out)])
        == 0
    )
    assert "third: T1: 6/6 variants matched" in capsys.readouterr().err
    api = score_samplesheet(sheet, sf)
    np.testing.assert_array_equal(_read(out / "scores.tsv")["SUM"], api.to_frame()["SUM"])
    # a `--strict` run whose sheet is refused exits with ScoreError's code and writes nothing
    bad = _sheet(tmp_path / "bad.csv", "sampleset,path,format\nmy_set,x.vcf.gz,vcf\n")
    args = [
        "score",
        "--sample-sheet",
        str(bad),
        "--scorefile",
        str(sf),
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(args) == 6
    assert "bad.csv line 2, column sampleset" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):  # one of --genotypes and --sample-sheet
        main([*args, "--genotypes", str(cohorts["second"][2][0])])


def test_cli_genotype_format_is_the_sheets(cohorts, tmp_path):
    args = _cli_args(
        _three(cohorts), cohorts["scorefile"], tmp_path / "out", "--genotype-format", "vcf"
    )
    with pytest.raises(ScoreError, match="--genotype-format is given by the sample sheet"):
        run_sample_sheet(args)
    assert not (tmp_path / "out").exists()


def test_cli_sex_given_twice_is_refused(cohorts, tmp_path):
    v1 = cohorts["first"][2]
    sex = tmp_path / "sex.tsv"
    sex.write_text("sample\tsex\nS0\t1\n")
    sheet = _sheet(tmp_path / "sheet.csv", f"sampleset,path,format,sex\na,{v1[0]},vcf,{sex}\n")
    args = _cli_args(sheet, cohorts["scorefile"], tmp_path / "out", "--sex", str(sex))
    with pytest.raises(ScoreError, match="give it in one place"):
        run_sample_sheet(args)


# --------------------------------------------------------------------------------------------
# The CINECA cohort as VCF, bed and pgen: three samplesets, three identical columns


def test_cineca_three_formats_three_identical_columns(shared_data, tmp_path):
    prefix = shared_data / "pgsc_calc" / "target_genomes" / "cineca_synthetic_subset"
    scorefile = shared_data / "pgsc_calc" / "scorefiles" / "PGS001229_22.txt"
    sheet = _sheet(
        tmp_path / "sheet.csv",
        "sampleset,path_prefix,chrom,format\n"
        f"vcf,{prefix},22,vcf\nbed,{prefix},22,bfile\npgen,{prefix},22,pfile\n",
    )
    result = score_samplesheet(sheet, scorefile)
    write_samplesheet_outputs(result, tmp_path / "out")
    table = _read(tmp_path / "out" / "scores.tsv")
    wide = table.pivot(index="sample_id", columns="sampleset", values="SUM")
    assert len(wide) == len(result["vcf"].samples) > 100
    np.testing.assert_array_equal(wide["vcf"], wide["bed"])
    np.testing.assert_array_equal(wide["vcf"], wide["pgen"])
    _same(result["vcf"], prs.score(f"{prefix}.vcf.gz", scorefile))
    summary = pd.read_csv(tmp_path / "out" / "match_summary.tsv", sep="\t")
    assert summary["matched"].nunique() == 1 and summary["matched"].iloc[0] > 700


@pytest.mark.plink2
def test_cineca_in_prs_layout_with_a_bgen_sampleset(shared_data, plink2, tmp_path):
    """prs's layout, four formats of one cohort (the BGEN 1.2 exported by PLINK 2, REF
    first): four identical columns, each as prs.score on that file alone."""
    prefix = shared_data / "pgsc_calc" / "target_genomes" / "cineca_synthetic_subset"
    scorefile = shared_data / "pgsc_calc" / "scorefiles" / "PGS001229_22.txt"
    vcf = Path(f"{prefix}.vcf.gz")
    subprocess.run(
        [plink2, "--vcf", str(vcf), "--export", "bgen-1.2", "ref-first", "--out",
         str(tmp_path / "cineca")],
        check=True, capture_output=True,
    )  # fmt: skip
    sheet = _sheet(
        tmp_path / "sheet.tsv",
        "sampleset\tpath\tformat\n"
        f"v\t{vcf}\tvcf\nb\t{prefix}\tbed\np\t{prefix}\tpgen\ng\tcineca.bgen\tbgen\n",
    )
    result = score_samplesheet(sheet, scorefile)
    alone = prs.score(vcf, scorefile)
    for name in ("v", "b", "p", "g"):
        _same(result[name], alone)
    assert result["g"].provenance["options"]["genotype_format"] == "bgen"


def test_cli_writes_each_samplesets_report_as_it_goes(cohorts, tmp_path, monkeypatch):
    """``prs score --sample-sheet`` hands each sampleset's match report to a writer while
    that sampleset is scored (its result then holds no report rows) and writes the files
    the API's held reports give, byte for byte, in pieces too (``--stream-rows``)."""
    from prs.cli import samplesheet as cli_sheet

    held: dict[str, int] = {}
    real = cli_sheet.score_from_args

    def spy(args, vcf, scorefiles, match_report_rows=None):
        assert match_report_rows is not None  # every sampleset's report is streamed
        result = real(args, vcf, scorefiles, match_report_rows=match_report_rows)
        held[str(args.out)] = held.get(str(args.out), 0) + len(result.match_report.variants)
        return result

    monkeypatch.setattr(cli_sheet, "score_from_args", spy)
    sheet, sf = _three(cohorts), cohorts["scorefile"]
    api = tmp_path / "api"
    write_samplesheet_outputs(score_samplesheet(sheet, sf), api)
    for extra in ([], ["--stream-rows", "2"]):
        out = tmp_path / f"out{len(extra)}"
        assert run_sample_sheet(_cli_args(sheet, sf, out, *extra)) == 0
        assert held.pop(str(out)) == 0  # no sampleset's result held its report rows
        for name in ("first", "second", "third"):
            for table in ("match_report.tsv", "match_summary.tsv"):
                assert (out / name / table).read_bytes() == (api / name / table).read_bytes()
            mine, theirs = _read(out / name / "scores.tsv"), _read(api / name / "scores.tsv")
            if extra:  # pieces cut the sums elsewhere: equal to rounding (docs/scale.md)
                np.testing.assert_allclose(mine["SUM"], theirs["SUM"], rtol=1e-12, atol=1e-12)
            else:
                pd.testing.assert_frame_equal(mine, theirs)
        pieces = json.loads((out / "first" / "provenance.json").read_text())["execution"]
        assert (pieces["pieces"] > 1) == bool(extra)  # (the case is exercised)
        provenance = json.loads((out / "provenance.json").read_text())
        assert provenance["outputs"]["first/match_report"] == str(out / "first/match_report.tsv")


def test_samplesheet_outputs_publish_all_or_none(tmp_path):
    """The sets open for a sheet's run are published together when the block ends, and
    none (no directory left) when it raises."""
    from prs.samplesheet import samplesheet_outputs

    with pytest.raises(RuntimeError, match="stop"):
        with samplesheet_outputs(tmp_path / "out", ["a", "b"]) as outputs:
            outputs.sets["a"].write_table(pd.DataFrame({"x": [1]}), "t.tsv")
            raise RuntimeError("stop")
    assert not (tmp_path / "out").exists()
    with samplesheet_outputs(tmp_path / "out", ["a", "b"]) as outputs:
        outputs.sets["a"].write_table(pd.DataFrame({"x": [1]}), "t.tsv")
        outputs.combined.write_json({"done": True}, "provenance.json")
    assert (tmp_path / "out" / "a" / "t.tsv").read_text() == "x\n1\n"
    assert (tmp_path / "out" / "b").is_dir()
    assert json.loads((tmp_path / "out" / "provenance.json").read_text()) == {"done": True}
