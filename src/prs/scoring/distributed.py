"""The scoring tasks on a Dask cluster (``pip install 'prs-risk[dask]'``).

:func:`run_tasks` submits the tasks of :mod:`prs.scoring.tasks` to a ``distributed.Client``
and adds their partial totals in task order as they finish (a task lost with a worker is
run again by Dask; its result is the same, being a pure function of its inputs), so the
result is identical bit for bit to the single-process run. :func:`local_cluster` starts the
:class:`~distributed.LocalCluster` of ``prs score --workers N``.

Workers: the kernels are compiled with ``cache=True`` (:mod:`prs.kernels.jit`), and
:func:`run_tasks` compiles them in the submitting process first, so workers sharing its
file system load the machine code instead of each compiling it. Dask's nanny sets
``MALLOC_TRIM_THRESHOLD_=65536`` in every worker (config
``distributed.nanny.pre-spawn-environ``), which makes glibc return memory to the system at
every free and slows cyvcf2's many small allocations (4x measured); the cluster
:func:`local_cluster` starts leaves it unset (docs/scale.md says what to set elsewhere).

Nothing here is imported by ``import prs``: Dask is imported when a client is given.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from prs.errors import ScoreError
from prs.kernels.accumulate import IMPUTE_COHORT_MEAN
from prs.scoring.tasks import Combiner, ScoreTask, SourceSpec, run_task
from prs.scoring.totals import ScoreTotals

#: The variable Dask's nanny sets in workers (see the module doc).
MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"
#: What to install for Dask.
INSTALL_HINT = "pip install 'prs-risk[dask]'"


def require_distributed() -> Any:
    """The ``distributed`` module, or a :class:`~prs.errors.ScoreError` saying what to
    install."""
    try:
        import distributed
    except ImportError as exc:
        raise ScoreError(
            f"running on a Dask cluster needs dask.distributed, which is not installed "
            f"({exc}); install it with: {INSTALL_HINT}"
        ) from exc
    return distributed


def warm_kernels() -> None:
    """Compile (or load from Numba's cache) the accumulate kernels in this process, so
    workers on this file system find them cached instead of each compiling them."""
    for matmul in (False, True):
        totals = ScoreTotals(
            1, 1, IMPUTE_COHORT_MEAN, threads=1, matmul=matmul, kernels=True
        )  # (the kernels themselves: a small job would otherwise take numpy)
        one = np.ones((1, 1))
        totals.add(
            one,
            np.full((1, 1), 2, dtype=np.int8),
            one,
            np.ones((1, 1), dtype=np.bool_),
            np.zeros(1, dtype=np.int8),
            np.full(1, np.nan),
        )
        totals.close()


def run_tasks(
    client: Any,
    tasks: list[ScoreTask],
    spec: SourceSpec,
    combiner: Combiner,
    progress: Callable[[int, int], None] | None = None,
) -> Combiner:
    """Run ``tasks`` on ``client``'s cluster and add each partial into ``combiner`` (in
    task order, whatever order they finish in); the first task error is raised as is."""
    distributed = require_distributed()
    warm_kernels()
    run = uuid.uuid4().hex[:12]
    spec_future = client.scatter(spec, broadcast=True, hash=False)
    futures = [
        client.submit(
            run_task, task, spec_future, key=f"prs-{task.kind}-{run}-{task.index}", pure=False
        )
        for task in tasks
    ]
    try:
        for future in distributed.as_completed(futures):
            combiner.add(future.result())
            future.release()
            if progress is not None:
                progress(combiner.done, len(tasks))
    finally:
        client.cancel(futures)
        client.cancel([spec_future])
    return combiner


def local_cluster(workers: int, **options: Any) -> Any:
    """A :class:`distributed.LocalCluster` of ``workers`` single-threaded worker processes,
    without Dask's ``MALLOC_TRIM_THRESHOLD_`` (see the module doc: it is also removed from
    this process's environment, where a nanny of an earlier cluster puts it); ``options``
    go to ``LocalCluster``. Close it when done (it is a context manager)."""
    if workers < 1:
        raise ScoreError(f"workers must be >= 1, not {workers}")
    distributed = require_distributed()
    import dask

    # A nanny sets its pre-spawn variables in its own process's environment too, which the
    # workers spawned from it inherit: an earlier Dask cluster of this process (or the
    # shell) may have left MALLOC_TRIM_THRESHOLD_ there.
    os.environ.pop(MALLOC_TRIM, None)

    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{MALLOC_TRIM}": None}):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            **options,
        )
