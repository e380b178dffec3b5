"""Dask: 2 workers against 1 worker on a CPU-bound pgen job, and bit-identity with one process.

Usage::

    python -m benchmarks.dask_case            # 20,000 samples x 100,000 variants, dense score
    python -m benchmarks.dask_case --small    # 2,000 x 5,000 (a quick check)

The fileset and its dense score are :func:`benchmarks.generate.generate_plink`'s (``plink2
--dummy`` hard calls, cached): the issue's target fileset (``PLINK_TARGETS[0]``), 10 tasks.
``prs.score`` runs once in this process (the reference), then on a
:func:`prs.scoring.distributed.local_cluster` of 1 worker and of 2 workers (one thread
each; ``threads=1`` per task; worker k pinned to CPU k, so one worker is one core, its
PLINK read-ahead thread included — ``--no-pin`` leaves them free), best of ``--repeats`` each.
Printed: the wall time of each whole ``prs.score`` call and of its task phase (submit to
last result, :func:`prs.scoring.distributed.run_tasks`), the workers' CPU seconds in that
run and the cores they got (CPU / task phase: on a shared machine 2 workers may not get 2
cores), the ratios 1 worker / 2 workers,
and whether every total equals the single-process run's bit for bit. The issue's target:
2 workers on 2 cores >= 1.7x one worker. The machine may be shared: read the ratio,
measured in one run. Results go to ``benchmarks/results/dask[-small].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.generate import PLINK_TARGETS, PLINK_TARGETS_SMALL, default_data_dir, generate_plink
from benchmarks.run import RESULTS

TOTALS = ("sums", "allele_ct", "denom", "named_dosage", "missing_ct")


def _pin(cpu: int) -> None:
    """Pin every thread of this process (and so the threads it starts later) to ``cpu``."""
    for tid in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(tid), {cpu})


def pin_workers(client: object) -> None:
    """Worker k runs on CPU k only: one worker is one core, threads and all (the PLINK
    reader reads the next block in a thread of its own while a chunk is scored)."""
    workers = sorted(client.scheduler_info()["workers"])  # type: ignore[attr-defined]
    cpus = sorted(os.sched_getaffinity(0))
    for k, worker in enumerate(workers):
        client.run(_pin, cpus[k % len(cpus)], workers=[worker])  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    """Run the case; exit status 1 when a Dask run differs from the single-process one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="2,000 x 5,000 (quick)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin worker k to CPU k (unpinned, one worker's reader thread and scorer "
        "share both cores)",
    )
    parser.add_argument("--task-variants", type=int, help="rows per task (default: 10 tasks)")
    args = parser.parse_args(argv)

    import distributed

    import prs
    from prs.scoring import distributed as prs_distributed

    spec = (PLINK_TARGETS_SMALL if args.small else PLINK_TARGETS)[0]
    data = default_data_dir("small" if args.small else "full")
    generate_plink(data, spec)
    pgen = data / f"{spec.name}.pgen"
    scorefile = data / f"{spec.score}.prs.txt"
    options = dict(threads=1, task_variants=args.task_variants or -(-spec.variants // 10))

    phase: list[float] = []
    real_run_tasks = prs_distributed.run_tasks

    def timed_run_tasks(*a, **k):
        start = time.perf_counter()
        try:
            return real_run_tasks(*a, **k)
        finally:
            phase.append(time.perf_counter() - start)

    prs_distributed.run_tasks = timed_run_tasks

    start = time.perf_counter()
    reference = prs.score(pgen, scorefile, **options)
    here = time.perf_counter() - start
    tasks = reference.provenance["execution"]["tasks"]
    print(f"{pgen} ({spec.samples} x {spec.variants}), {tasks} tasks; one process {here:.2f} s")

    figures: dict[str, dict[str, float]] = {}
    identical = True
    for workers in (1, 2):
        with (
            prs_distributed.local_cluster(workers, dashboard_address=":0") as cluster,
            distributed.Client(cluster) as client,
        ):
            if args.pin:
                pin_workers(client)
            prs.score(pgen, scorefile, client=client, **options)  # workers warm (imports)
            walls, phases, cpus = [], [], []
            for _ in range(args.repeats):
                phase.clear()
                cpu = sum(client.run(time.process_time).values())
                start = time.perf_counter()
                result = prs.score(pgen, scorefile, client=client, **options)
                walls.append(time.perf_counter() - start)
                cpus.append(sum(client.run(time.process_time).values()) - cpu)
                phases.append(phase[-1])
                identical &= all(
                    np.array_equal(getattr(result, n), getattr(reference, n)) for n in TOTALS
                )
        best = int(np.argmin(phases))
        figures[f"{workers}_workers"] = {
            "wall_s": min(walls),
            "tasks_s": phases[best],
            # CPU seconds the workers spent in that run: over the task phase, the cores used
            "workers_cpu_s": cpus[best],
            "cores_used": cpus[best] / phases[best],
        }
        print(
            f"{workers} worker(s): score() {min(walls):.2f} s, task phase {phases[best]:.2f} s, "
            f"workers' CPU {cpus[best]:.2f} s ({cpus[best] / phases[best]:.2f} cores)"
        )
    one, two = figures["1_workers"], figures["2_workers"]
    ratio = {"wall": one["wall_s"] / two["wall_s"], "tasks": one["tasks_s"] / two["tasks_s"]}
    print(
        f"1 worker / 2 workers: score() {ratio['wall']:.2f}x, task phase {ratio['tasks']:.2f}x "
        f"(target >= 1.7x); bit-identical to one process: {identical}"
    )
    name = f"dask{'-small' if args.small else ''}{'' if args.pin else '-unpinned'}"
    out = Path(RESULTS) / f"{name}.json"
    out.write_text(
        json.dumps(
            {
                "fileset": f"{spec.samples} x {spec.variants}",
                "pinned": args.pin,
                "tasks": tasks,
                "one_process_s": here,
                **figures,
                "ratio": ratio,
                "bit_identical": identical,
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
