"""Scoring on a Dask cluster (prs.scoring.distributed): a LocalCluster of worker processes
gives the single-process scores bit for bit (VCF and pgen, several tasks and sample blocks),
also when a worker is killed mid-run; ``prs score --workers``; Dask stays optional."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import prs
from prs.errors import ScoreError
from tests.test_score_tasks import TOTALS, make_cohort

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    from prs.scoring.distributed import local_cluster

    with local_cluster(2, dashboard_address=":0") as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp("dask"), n_samples=50, n_variants=150, seed=7)


@pytest.fixture(scope="module")
def pgen(cohort, tmp_path_factory):
    plink2 = shutil.which("plink2")
    if plink2 is None:
        pytest.skip("plink2 not on PATH (makes the pgen)")
    prefix = tmp_path_factory.mktemp("dask_pgen") / "cohort"
    subprocess.run(
        [plink2, "--vcf", str(cohort["vcf"]), "--make-pgen", "--out", str(prefix)],
        check=True,
        capture_output=True,
    )
    return Path(f"{prefix}.pgen")


def many_scores(scorefiles: list[Path]) -> list[Path]:
    """Two more scoring files (copies under new names: score names must be unique)."""
    out = []
    for k, path in enumerate(scorefiles):
        copy = path.with_name(f"copy{k}.txt")
        copy.write_text(path.read_text())
        out.append(copy)
    return out


def assert_identical(a, b) -> None:
    assert a.samples == b.samples and a.score_ids == b.score_ids
    for name in TOTALS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.variants_used, b.variants_used)


@pytest.mark.parametrize("kind", ["vcf", "pgen", "pgen-many-scores"])
@pytest.mark.parametrize(
    "layout",
    [
        {"task_variants": 13},
        {"task_variants": 40, "sample_block": 9},
        # pieces of whole chromosomes (docs/scale.md), each listed and scored in turn
        {"task_variants": 40, "sample_block": 9, "stream_rows": 60},
    ],
)
def test_cluster_equals_one_process(client, cohort, request, kind, layout):
    genotypes = cohort["vcf"] if kind == "vcf" else request.getfixturevalue("pgen")
    scorefiles = cohort["scorefiles"]
    if kind == "pgen-many-scores":  # 4+ scores: ScoreTotals' matrix products (BLAS)
        scorefiles = [*scorefiles, *many_scores(scorefiles)]
    kwargs = dict(sex=cohort["sex"], genome_build="GRCh38", chunk_size=8, **layout)
    here = prs.score(genotypes, scorefiles, **kwargs)
    there = prs.score(genotypes, scorefiles, client=client, **kwargs)
    execution = there.provenance["execution"]
    assert execution["engine"] == "dask" and execution["workers"] == 2
    assert execution["tasks"] == here.provenance["execution"]["tasks"] > 2
    assert execution["pieces"] == (3 if "stream_rows" in layout else 1)
    assert_identical(there, here)
    assert (
        there.provenance["counts"]["variants_missing_in_every_sample"]
        == here.provenance["counts"]["variants_missing_in_every_sample"]
    )


def test_a_worker_killed_mid_run(client, cohort):
    """One worker process is killed (SIGKILL) while tasks remain: Dask runs its tasks again
    on the other (and the nanny's new worker); the scores are the single-process ones."""
    kwargs = dict(sex=cohort["sex"], genome_build="GRCh38", chunk_size=1, task_variants=1)
    here = prs.score(cohort["vcf"], cohort["scorefiles"], **kwargs)
    pids = client.run(os.getpid)
    victim = next(iter(pids.values()))
    killed_at: list[tuple[int, int]] = []

    def kill_once(done: int, total: int) -> None:
        if not killed_at and done >= 10:
            os.kill(victim, signal.SIGKILL)
            killed_at.append((done, total))

    there = prs.score(
        cohort["vcf"], cohort["scorefiles"], client=client, progress=kill_once, **kwargs
    )
    assert killed_at and killed_at[0][0] < killed_at[0][1] / 2  # killed with most to do
    assert victim not in client.run(os.getpid).values()
    assert_identical(there, here)


def test_open_source_refused_with_a_client(client, cohort):
    source = prs.genotypes.open_genotypes(cohort["vcf"])
    with pytest.raises(ScoreError, match="client= needs genotype paths"):
        prs.score(source, cohort["scorefiles"], client=client)


def test_cli_workers(cohort, cluster, tmp_path):
    """``prs score --workers 2`` starts and closes a local cluster, ``--scheduler`` uses a
    running one; same scores as without."""
    common = [
        sys.executable, "-m", "prs", "score", "--genotypes", str(cohort["vcf"]),
        "--scorefile", *map(str, cohort["scorefiles"]), "--build", "GRCh38",
        "--task-variants", "20", "--sample-block", "16",
    ]  # fmt: skip
    address = cluster.scheduler_address
    for name, extra, said in (
        ("here", [], None),
        ("dask", ["--workers", "2"], "dask: 2 local workers"),
        ("scheduler", ["--scheduler", address], f"dask: {address}"),
    ):
        run = subprocess.run(
            [*common, "--out", str(tmp_path / name), *extra], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        assert said is None or said in run.stderr
    import json

    provenance = json.loads((tmp_path / "dask" / "provenance.json").read_text())
    assert provenance["execution"]["engine"] == "dask"
    assert provenance["execution"]["workers"] == 2
    assert provenance["execution"]["sample_blocks"] == 4
    scores = {
        name: (tmp_path / name / "scores.tsv").read_text().splitlines()[1:]
        for name in ("here", "dask", "scheduler")
    }
    assert len(scores["here"]) == 50 * 2  # 2 scores
    assert scores["here"] == scores["dask"] == scores["scheduler"]


def test_local_cluster_leaves_malloc_trim_unset(monkeypatch):
    """Dask's nanny would set MALLOC_TRIM_THRESHOLD_=65536 (slow for cyvcf2), and leaves it
    in its own process's environment, which later workers inherit: prs's cluster's workers
    have it unset even then, and keep the BLAS thread settings."""
    from prs.scoring.distributed import local_cluster

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as an earlier nanny leaves it
    with (
        local_cluster(1, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        environments = client.run(lambda: dict(os.environ))
    for env in environments.values():
        assert "MALLOC_TRIM_THRESHOLD_" not in env
        assert env.get("OMP_NUM_THREADS") == "1"


def test_import_prs_does_not_import_dask():
    code = (
        "import sys, prs; from prs.example import example_paths; "
        "prs.score(example_paths().vcf, example_paths().scorefile); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_missing_dask_names_the_extra(monkeypatch):
    from prs.scoring.distributed import require_distributed

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ScoreError, match=r"pip install 'prs-risk\[dask\]'"):
        require_distributed()


EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


@pytest.mark.parametrize("kind", ["slurm", "pbs"])
def test_jobqueue_example_builds_its_cluster(kind, tmp_path, monkeypatch):
    """docs/examples/prs-dask.yaml, loaded as Dask loads a config directory, builds the
    SLURM/PBS cluster object (no job submitted): single-threaded workers, the prologue's
    NUMBA_CACHE_DIR, and a nanny that leaves MALLOC_TRIM_THRESHOLD_ unset."""
    dask = pytest.importorskip("dask")
    jobqueue = pytest.importorskip("dask_jobqueue")
    from distributed.nanny import _get_env_variables

    monkeypatch.chdir(tmp_path)  # the cluster makes its log directory here
    config = dask.config.merge(
        dask.config.config, dask.config.collect(paths=[str(EXAMPLES)], env={})
    )
    with dask.config.set(config):
        environ = _get_env_variables("distributed.nanny.pre-spawn-environ")
        assert "MALLOC_TRIM_THRESHOLD_" not in environ and environ["OMP_NUM_THREADS"] == "1"
        cls = jobqueue.SLURMCluster if kind == "slurm" else jobqueue.PBSCluster
        with cls(scheduler_options={"dashboard_address": ":0"}) as cluster:
            script = cluster.job_script()
    directive = "#SBATCH" if kind == "slurm" else "#PBS"
    assert f"{directive} -t 04:00:00" in script or f"{directive} -l walltime=04:00:00" in script
    assert "--nthreads 1" in script and "--nworkers 2" in script
    assert 'export NUMBA_CACHE_DIR="$HOME/.cache/prs-numba"' in script
    assert 'export DASK_CONFIG="$HOME/.config/dask"' in script
