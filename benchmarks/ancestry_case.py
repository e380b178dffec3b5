"""Ancestry benchmark (issue 14's targets): build a reference from 3,000 samples x 100,000
variants, project 10,000 targets, project one person.

Data: a seeded ``plink2 --dummy`` fileset (independent random genotypes: no LD, so pruning keeps
almost every common variant -- the hardest case for the SVD and for memory), written once into
a work directory. The first ``--ref-samples`` samples are labelled (five pseudo-populations)
and make the reference; the rest are the targets. Each step runs in a fresh process so its
peak memory (``ru_maxrss``) is its own.

Usage::

    python benchmarks/ancestry_case.py [--ref-samples 3000] [--variants 100000]
        [--targets 10000] [--workdir /tmp/prs-ancestry-bench]

Prints one table row per step: seconds, peak RSS (MB), and what was done.

On a shared machine compare against a baseline in the same window of time: export the older
tree (``git archive <commit> src | tar -x -C /tmp/base``) and run the same command with
``PYTHONPATH=/tmp/base/src`` just before; ``--step build|project|one --prefix ...`` runs one
step alone (figures and method: docs/ancestry.md, section 5).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def make_data(workdir: Path, n_samples: int, n_variants: int, n_ref: int) -> Path:
    """The dummy fileset and a label file for its first ``n_ref`` samples."""
    prefix = workdir / f"dummy_{n_samples}_{n_variants}"
    if not Path(f"{prefix}.pgen").exists():
        workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["plink2", "--dummy", str(n_samples), str(n_variants), "0.02", "acgt",
             "--seed", "1", "--make-pgen", "--out", str(prefix), "--silent",
             "--threads", "2"],
            check=True,
        )  # fmt: skip
    samples = [line.split()[0] for line in Path(f"{prefix}.psam").read_text().splitlines()[1:]]
    pops = ["AFR", "AMR", "EAS", "EUR", "SAS"]
    with open(workdir / "labels.psam", "w") as fh:
        fh.write("#IID\tSuperPop\tPopulation\n")
        for i, s in enumerate(samples[:n_ref]):
            fh.write(f"{s}\t{pops[i % 5]}\t{pops[i % 5]}1\n")
    return prefix


def step(args: argparse.Namespace) -> dict:
    """One step, run in this process (the child)."""
    from prs.ancestry import PcaOptions, build_reference, load_reference, project, save_reference
    from prs.genotypes import open_genotypes

    prefix, workdir = Path(args.prefix), Path(args.workdir)
    samples = [line.split()[0] for line in Path(f"{prefix}.psam").read_text().splitlines()[1:]]
    start = time.perf_counter()
    if args.step == "build":
        source = open_genotypes(f"{prefix}.pgen", samples=samples[: args.ref_samples])
        panel = build_reference(
            source, workdir / "labels.psam", build="GRCh37", options=PcaOptions()
        )
        save_reference(panel, workdir / "reference")
        what = f"{panel.n_variants} PCA variants, svd {panel.counts['svd']}, {panel.counts}"
    else:
        reference = load_reference(workdir / "reference")
        targets = samples[args.ref_samples :][: args.targets]
        if args.step == "one":
            targets = targets[:1]
        # open (site table) + read + project; start-up (imports) excluded, as the target says
        result = project(reference, open_genotypes(f"{prefix}.pgen", samples=targets))
        what = f"{len(result.samples)} targets, {result.n_matched} variants"
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step": args.step, "seconds": round(seconds, 2), "peak_mb": round(peak), "what": what}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref-samples", type=int, default=3000)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/prs-ancestry-bench"))
    parser.add_argument("--step", choices=["build", "project", "one"], help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args)))
        return
    prefix = make_data(
        args.workdir, args.ref_samples + args.targets, args.variants, args.ref_samples
    )
    print("step\tseconds\tpeak_MB\twhat")
    for name in ("build", "project", "one"):
        out = subprocess.run(
            [sys.executable, __file__, "--step", name, "--prefix", str(prefix),
             "--workdir", str(args.workdir), "--ref-samples", str(args.ref_samples),
             "--targets", str(args.targets)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{row['step']}\t{row['seconds']}\t{row['peak_mb']}\t{row['what']}", flush=True)


if __name__ == "__main__":
    main()
