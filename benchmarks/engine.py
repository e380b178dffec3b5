"""In-process time of the genotype engine alone: ``sites()`` + ``read()``.

``python -m benchmarks.engine VCF SCOREFILE [--dosage DS] [--repeats 3]`` prints the best
wall time (seconds) of listing the scoring file's positions and reading every allele's
dosage there, in a warm process (imports done, Numba cache loaded). This is the part of
``prs score`` the fast path owns; the rest (scoring-file parsing, matching, accumulation,
output) is the same for every engine. A ``.pgen``/``.bed`` in place of the VCF times the
PLINK reader (:class:`prs.genotypes.plink.PlinkSource`) the same way.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def engine_seconds(vcf: str, scorefile: str, dosage: str = "GT", repeats: int = 3) -> float:
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

    once()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        once()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vcf")
    parser.add_argument("scorefile")
    parser.add_argument("--dosage", default="GT")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{engine_seconds(args.vcf, args.scorefile, args.dosage, args.repeats):.4f}")


if __name__ == "__main__":
    main()
