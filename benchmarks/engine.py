"""In-process time of the genotype engine alone: ``sites()`` + ``read()``.

``python -m benchmarks.engine VCF SCOREFILE [--dosage DS] [--repeats 3]`` prints the best
wall time (seconds) of listing the scoring file's positions and reading every allele's
dosage there, in a warm process (imports done, Numba cache loaded). This is the part of
``prs score`` the fast path owns; the rest (scoring-file parsing, matching, accumulation,
output) is the same for every engine. A ``.pgen``/``.bed`` in place of the VCF times the
PLINK reader (:class:`prs.genotypes.plink.PlinkSource`) the same way.

``--phases`` prints, after the time, where the engine's CPU goes: the process CPU of the
timed call and each kernel's CPU per thread (``time.thread_time`` around every call of
the scan, DS parse, inflate and store-to-dosage kernels), the rest of the main thread
("glue") last; docs/performance.md's imputed-DS profile comes from it.

``--scoring`` times the scoring loop instead: reading every chunk *and* adding it to the
totals (:class:`prs.scoring.totals.ScoreTotals`, threads as ``prs score`` uses them), as
``prs score`` streams them after matching; no start-up, parsing or matching. Its
genotypes / second is the issue's "engine" figure.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd


def engine_seconds(vcf: str, scorefile: str, dosage: str = "GT", repeats: int = 3) -> float:
    return _best_of(_engine_call(vcf, scorefile, dosage), repeats)


def _engine_call(vcf: str, scorefile: str, dosage: str) -> Callable[[], None]:
    """One engine call (sites + dosages of every listed site), ready to be timed."""
    from prs.genotypes.fastvcf import FastVcfSource
    from prs.genotypes.plink import PlinkSource

    source_class = PlinkSource if vcf.endswith((".pgen", ".bed")) else FastVcfSource
    weights = pd.read_csv(scorefile, sep="\t", comment="#")
    from prs.genotypes.base import sorted_unique as _sorted_unique

    wanted = {"22": _sorted_unique(weights["chr_position"].to_numpy())}

    def once() -> None:
        source = source_class(vcf, dosage=dosage)
        sites = source.sites(wanted)
        # One allele per listed site, as a score with one row per site asks.
        records = sites["record"].to_numpy()
        alleles = sites["allele_index"].to_numpy().astype(np.int64)
        for _ in source.read(records, alleles, chunk_size=4096):
            pass

    return once


#: The kernels ``--phases`` times: (module, function).
PHASES = (
    ("prs.genotypes.bgzf", "inflate_blocks"),
    ("prs.kernels.scan", "scan_records"),
    ("prs.kernels.fields", "parse_short_values"),
    ("prs.kernels.fields", "parse_gt_and_float_field"),
    ("prs.kernels.fields", "parse_gt_alleles"),
    ("prs.kernels.dosage", "simple_ds_dosages"),
    ("prs.kernels.dosage", "packed_dosages"),
)


def phase_seconds(vcf: str, scorefile: str, dosage: str = "GT") -> dict[str, float]:
    """CPU seconds of one warm engine call (:func:`engine_seconds`' work): ``wall``,
    ``process`` CPU, ``kernel@thread`` for each kernel of :data:`PHASES` per thread, and
    ``glue@MainThread`` (the main thread's CPU outside them)."""
    import importlib
    import threading
    from collections import defaultdict

    spent: defaultdict[str, float] = defaultdict(float)
    lock = threading.Lock()
    patched = []

    def timed(name: str, function: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object) -> object:
            started = time.thread_time()
            try:
                return function(*args)
            finally:
                thread = threading.current_thread().name.split("_")[0]
                with lock:
                    spent[f"{name}@{thread}"] += time.thread_time() - started

        return call

    for module_name, name in PHASES:
        module = importlib.import_module(module_name)
        original = getattr(module, name)
        patched.append((module, name, original))
        setattr(module, name, timed(name, original))
    try:
        once = _engine_call(vcf, scorefile, dosage)
        once()  # warm-up (imports, Numba)
        spent.clear()
        wall, process, main = time.perf_counter(), time.process_time(), time.thread_time()
        once()
        wall, process = time.perf_counter() - wall, time.process_time() - process
        main = time.thread_time() - main
    finally:
        for module, name, original in patched:
            setattr(module, name, original)
    kernels_main = sum(v for k, v in spent.items() if k.endswith("@MainThread"))
    return {
        "wall": wall,
        "process": process,
        **dict(sorted(spent.items(), key=lambda kv: -kv[1])),
        "glue@MainThread": main - kernels_main,
    }


def _best_of(once: Callable[[], None], repeats: int) -> float:
    """Best wall time of ``repeats`` calls of ``once``, after one warm-up call."""
    once()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        once()
        best = min(best, time.perf_counter() - started)
    return best


def scoring_seconds(
    genotypes: str, scorefile: str, dosage: str = "GT", repeats: int = 3
) -> tuple[float, int]:
    """Best wall time of the scoring loop (read + accumulate every chunk) over the sites the
    scoring file names (effect allele REF or ALT, its weight), and the genotypes it scores."""
    from prs.genotypes import open_genotypes
    from prs.kernels.accumulate import IMPUTE_COHORT_MEAN
    from prs.scoring.totals import ScoreTotals

    weights = pd.read_csv(scorefile, sep="\t", comment="#")
    source = open_genotypes(genotypes, dosage=dosage)
    sites = source.sites()
    merged = sites.merge(
        weights, left_on=["pos"], right_on=["chr_position"], how="inner", sort=False
    ).sort_values("record", kind="stable")
    merged = merged[
        (merged["effect_allele"] == merged["ref"]) | (merged["effect_allele"] == merged["alt"])
    ]
    records = merged["record"].to_numpy(np.int64)
    alleles = np.where(merged["effect_allele"] == merged["ref"], 0, merged["allele_index"]).astype(
        np.int64
    )
    w = merged["effect_weight"].to_numpy(np.float64)[:, None]
    k, n = len(records), len(source.samples)
    counts = np.ones((k, 1), dtype=bool)
    effect_type = np.zeros(k, dtype=np.int8)
    frequency = np.full(k, np.nan)

    def once() -> None:
        totals = ScoreTotals(1, n, IMPUTE_COHORT_MEAN)
        try:
            for chunk in source.read(records, alleles):
                i = chunk.request
                totals.add(
                    chunk.dosage, chunk.ploidy, w[i], counts[i], effect_type[i], frequency[i]
                )
        finally:
            totals.close()

    return _best_of(once, repeats), k * n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vcf")
    parser.add_argument("scorefile")
    parser.add_argument("--dosage", default="GT")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scoring", action="store_true", help="time read + accumulate")
    parser.add_argument("--phases", action="store_true", help="CPU per kernel and thread")
    args = parser.parse_args()
    if args.phases:
        for key, seconds in phase_seconds(args.vcf, args.scorefile, args.dosage).items():
            print(f"{key:<40} {seconds:8.3f}")
        return
    if args.scoring:
        seconds, genotypes = scoring_seconds(args.vcf, args.scorefile, args.dosage, args.repeats)
        print(f"{genotypes} {seconds:.4f}")
        return
    print(f"{engine_seconds(args.vcf, args.scorefile, args.dosage, args.repeats):.4f}")


if __name__ == "__main__":
    main()
