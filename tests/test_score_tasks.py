"""The fixed decomposition of scoring into tasks (prs.scoring.tasks), run in one process.

Several tasks (regions of rows) and several sample blocks give the one-task scores; several
blocks impute missing calls at the frequency over *all* samples (PLINK 2's), checked against
PLINK 2 itself; memory per chunk is bounded by the block.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import prs
from prs.errors import ScoreError
from prs.genotypes import open_genotypes
from prs.scoring import tasks as tasks_module
from tests.builders import write_scorefile, write_vcf

TOTALS = ("sums", "allele_ct", "denom", "named_dosage", "missing_ct")


def make_cohort(tmp_path, *, n_samples=40, n_variants=120, seed=3, all_missing_row=True):
    """Hard calls with ~8% missing on chr1, chr2 and chrX (non-PAR), a sex per sample, and
    a scoring file of two scores (weights over REF and ALT effect alleles)."""
    rng = np.random.default_rng(seed)
    samples = [f"s{i}" for i in range(n_samples)]
    sex = {s: int(rng.integers(1, 3)) for s in samples}
    records, rows = [], []
    for v in range(n_variants):
        chrom = ("1", "2", "X")[v * 3 // n_variants]
        pos = 3_000_000 + 100 * v  # chrX: outside the PARs of GRCh37/38
        male = [sex[s] == 1 for s in samples]
        cells = []
        for i in range(n_samples):
            if rng.random() < 0.08 or (all_missing_row and v == 5):
                cells.append("." if chrom == "X" and male[i] else "./.")
            elif chrom == "X" and male[i]:
                cells.append(str(int(rng.integers(0, 2))))
            else:
                cells.append(f"{rng.integers(0, 2)}/{rng.integers(0, 2)}")
        records.append((chrom, pos, f"rs{v}", "A", "G", cells))
        effect, other = ("G", "A") if rng.random() < 0.6 else ("A", "G")
        rows.append((chrom, pos, effect, other, round(float(rng.normal(0, 0.3)), 6)))
    vcf = write_vcf(tmp_path / "cohort.vcf.gz", samples, records)
    sf = write_scorefile(tmp_path / "score.txt", rows)
    rows2 = [(c, p, e, o, round(w * 1.7 - 0.1, 6)) for c, p, e, o, w in rows]
    sf2 = write_scorefile(tmp_path / "score2.txt", rows2)
    return {"vcf": vcf, "scorefiles": [sf, sf2], "sex": sex, "samples": samples}


def score(cohort, **kwargs):
    kwargs.setdefault("sex", cohort["sex"])
    return prs.score(cohort["vcf"], cohort["scorefiles"], genome_build="GRCh38", **kwargs)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp("tasks"))


def assert_same_totals(a, b, *, exact: bool) -> None:
    assert a.samples == b.samples
    for name in TOTALS:
        x, y = getattr(a, name), getattr(b, name)
        if exact or name == "missing_ct":
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("missing", ["mean-impute", "none", "scorefile-freq"])
def test_many_tasks_and_blocks_equal_one_task(cohort, missing):
    """Regions of 7 rows x blocks of 6 samples give the one-task scores. The totals of a
    region are added to the run's after it, a different order of additions than one running
    sum, so sums agree to rounding (1e-12 relative), counts exactly."""
    one = score(cohort, missing=missing, chunk_size=3, task_variants=1000)
    assert one.provenance["execution"]["tasks"] == 1
    many = score(cohort, missing=missing, chunk_size=3, task_variants=7, sample_block=6)
    execution = many.provenance["execution"]
    assert execution["regions"] > 10 and execution["sample_blocks"] == 7
    assert execution["frequency_pass"] is (missing != "none")
    passes = 2 if missing != "none" else 1
    assert execution["tasks"] == passes * execution["regions"] * execution["sample_blocks"]
    assert_same_totals(many, one, exact=False)
    assert (
        many.provenance["counts"]["variants_missing_in_every_sample"]
        == one.provenance["counts"]["variants_missing_in_every_sample"]
        == 2  # the one all-missing variant, a plan row of each scoring file
    )


def test_blocks_alone_are_exact_for_hard_calls(cohort):
    """Sample blocks alone keep each sample's additions in one order, and the frequency over
    all blocks of hard calls is a sum of half-integers (exact): identical bit for bit here
    (chunks below ScoreTotals' thread split, so its split does not depend on the block)."""
    one = score(cohort, chunk_size=16)
    blocks = score(cohort, chunk_size=16, sample_block=5)
    assert_same_totals(blocks, one, exact=True)


def test_blocks_impute_at_the_frequency_of_all_samples(tmp_path):
    """A variant whose calls are missing in one block and observed in another: the missing
    calls are imputed at the frequency over all samples (hand-computed), not the block's."""
    samples = [f"s{i}" for i in range(4)]
    records = [("1", 1000, "rs1", "A", "G", ["1/1", "1/1", "0/1", "./."])]
    vcf = write_vcf(tmp_path / "one.vcf.gz", samples, records)
    sf = write_scorefile(tmp_path / "w.txt", [("1", 1000, "G", "A", 1.0)])
    result = prs.score(vcf, sf, sample_block=2)
    # frequency of G among observed calls: (2 + 2 + 1) / 6; block 2 alone would say 1/2
    np.testing.assert_allclose(result.sums[:, 0], [2, 2, 1, 2 * 5 / 6], rtol=1e-15)


def test_chunks_are_bounded_by_the_block(cohort, monkeypatch):
    """Every chunk a task adds (and counts) holds at most sample_block samples."""
    widths: list[int] = []
    real_add = tasks_module.ScoreTotals.add

    def spy(self, dosage, *args, **kwargs):
        widths.append(dosage.shape[1])
        return real_add(self, dosage, *args, **kwargs)

    monkeypatch.setattr(tasks_module.ScoreTotals, "add", spy)
    counted: list[int] = []
    real_count = tasks_module.RowCounts.add

    def count_spy(self, idx, dosage, *args):
        counted.append(dosage.shape[1])
        return real_count(self, idx, dosage, *args)

    monkeypatch.setattr(tasks_module.RowCounts, "add", count_spy)
    score(cohort, sample_block=8)
    assert widths and max(widths) == 8 and counted and max(counted) == 8


def test_progress_counts_every_task(cohort):
    seen: list[tuple[int, int]] = []
    result = score(
        cohort, task_variants=50, progress=lambda done, total: seen.append((done, total))
    )
    tasks = result.provenance["execution"]["tasks"]
    assert tasks > 1 and seen == [(i, tasks) for i in range(1, tasks + 1)]


def test_blocks_need_paths(cohort):
    source = open_genotypes(cohort["vcf"])
    with pytest.raises(ScoreError, match="needs genotype paths"):
        prs.score(source, cohort["scorefiles"], sample_block=5)


def test_bad_sizes_are_refused(cohort):
    with pytest.raises(ScoreError, match="sample_block must be >= 1"):
        score(cohort, sample_block=0)
    with pytest.raises(ScoreError, match="task_variants must be >= 1"):
        score(cohort, task_variants=-3)


@pytest.mark.plink2
def test_blocks_agree_with_plink2_on_a_pgen(tmp_path):
    """PLINK 2 (one process, all samples) scoring the same pgen: sample blocks and many tasks,
    chrX males and missing calls mean-imputed, agree to its printed digits (60 samples:
    PLINK 2 refuses to mean-impute below 50)."""
    plink2 = shutil.which("plink2")
    if plink2 is None:
        pytest.skip("plink2 not on PATH")
    cohort = make_cohort(tmp_path, n_samples=60, seed=11)
    prefix = tmp_path / "cohort"
    psam = tmp_path / "sex.psam"
    psam.write_text(
        "#IID\tSEX\n" + "".join(f"{s}\t{cohort['sex'][s]}\n" for s in cohort["samples"])
    )
    subprocess.run(
        [plink2, "--vcf", str(cohort["vcf"]), "--update-sex", str(psam), "--split-par", "hg38",
         "--make-pgen", "--out", str(prefix)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    result = prs.score(f"{prefix}.pgen", cohort["scorefiles"][0], sample_block=7, task_variants=9)
    assert result.provenance["execution"]["sample_blocks"] == 9
    weights = tmp_path / "w.tsv"
    rows = np.loadtxt(cohort["scorefiles"][0], dtype=str, skiprows=1)
    weights.write_text("".join(f"{c}:{p}\t{e}\t{w}\n" for c, p, e, _o, w in rows))
    subprocess.run(
        [plink2, "--pfile", str(prefix), "--set-all-var-ids", "@:#",
         "--score", str(weights), "1", "2", "3", "cols=+scoresums", "--out",
         str(tmp_path / "p")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    table = np.genfromtxt(tmp_path / "p.sscore", dtype=None, names=True, encoding=None)
    by_id = dict(zip(table["IID"], table["SCORE1_SUM"], strict=True))
    expected = np.array([by_id[s] for s in result.samples])
    np.testing.assert_allclose(result.sums[:, 0], expected, rtol=1e-5, atol=1e-5)


@given(n=st.integers(0, 500), step=st.one_of(st.none(), st.integers(1, 80)))
def test_regions_and_blocks_cover_everything_once_in_order(n, step):
    for spans in (tasks_module.regions(n, step), tasks_module.sample_blocks(n, step)):
        starts = [a for a, _ in spans]
        assert all(a < b for a, b in spans) or n == 0
        assert [b for _, b in spans[:-1]] == starts[1:]  # contiguous, in order
        assert (spans[0][0], spans[-1][1]) == (0, n) if spans else n == 0
        assert step is None or all(b - a <= step for a, b in spans)


def test_tasks_reopen_the_genotypes_with_the_engine_the_run_chose(tmp_path):
    """Tasks that open the files themselves (sample blocks, a cluster) use the engine the
    run's own source is, not ``auto`` anew (a worker whose Numba state differs would pick
    the other one: the same numbers, but not the engine the provenance names)."""
    from prs.example import example_paths
    from prs.genotypes import VcfSource, open_genotypes
    from prs.genotypes.fastvcf import FastVcfSource
    from prs.scoring.pipeline import _engine_of

    vcf = example_paths().vcf
    assert _engine_of(open_genotypes(vcf, engine="checked"), "auto") == "checked"
    assert _engine_of(open_genotypes(vcf, engine="fast"), "auto") == "fast"
    assert isinstance(open_genotypes(vcf, engine="checked"), VcfSource)
    assert isinstance(open_genotypes(vcf, engine="fast"), FastVcfSource)
    assert _engine_of(open_genotypes(vcf, engine="fast"), "checked") == "checked"  # as asked
    result = prs.score(vcf, example_paths().scorefile, sample_block=50)
    assert result.provenance["execution"]["sample_blocks"] == 4
    alone = prs.score(vcf, example_paths().scorefile)
    np.testing.assert_array_equal(result.sums, alone.sums)
