"""Seeded benchmark datasets: msprime genotypes written as bgzipped, tabix-indexed VCF.

Two genotype layouts are written from one simulation:

* ``gt.vcf.gz``: phased ``GT`` only, every record of the simulation (multi-allelic sites kept),
  REF/ALT bases from msprime's nucleotide model, rsIDs in the ID column;
* ``imputed.vcf.gz``: an imputation-server style ``GT:DS:GP`` file (biallelic records, every
  ``imputed_stride``-th one), most calls confident (``0|0:0:1,0,0``), the rest with
  three-decimal probabilities around the true genotype.

and scoring files, each in two spellings (the same rows): a PGS Catalog style file for
``prs score`` and a PLINK 2 ``--score`` table keyed by the VCF's rsIDs.

A third layout, independent of the simulation, is made by ``plink2 --dummy`` (random hard
calls, seeded): ``dummy.pgen/.pvar/.psam`` and the same calls as ``dummy.bed/.bim/.fam``,
with a dense scoring file over every variant (``plink.prs.txt`` / ``plink.plink.tsv``); see
:func:`generate_plink`.

Usage: ``python -m benchmarks.generate OUT_DIR [--small]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHROM = "22"


@dataclass(frozen=True)
class Simulation:
    """Haplotypes of a simulation: positions, alleles and the allele-index matrix."""

    positions: np.ndarray  # int64[m], 1-based
    alleles: list[tuple[str, ...]]  # REF first
    haplotypes: np.ndarray  # int8[m, 2n]

    @property
    def n_samples(self) -> int:
        return self.haplotypes.shape[1] // 2


def simulate(n_samples: int, sequence_length: float, seed: int) -> Simulation:
    """Simulate ``n_samples`` diploid genomes (human-like Ne, mutation and recombination)."""
    import msprime

    ts = msprime.sim_ancestry(
        samples=n_samples,
        ploidy=2,
        population_size=10_000,
        sequence_length=sequence_length,
        recombination_rate=1e-8,
        random_seed=seed,
    )
    mts = msprime.sim_mutations(ts, rate=1.25e-8, random_seed=seed + 1)
    positions = mts.tables.sites.position.astype(np.int64) + 1
    alleles = []
    for variant in mts.variants(copy=False):
        alleles.append(tuple(a for a in variant.alleles if a is not None))
    haplotypes = mts.genotype_matrix().astype(np.int8)
    return Simulation(positions, alleles, haplotypes)


def _header(samples: list[str], formats: str) -> bytes:
    lines = [
        "##fileformat=VCFv4.2",
        "##source=prs-benchmarks (msprime)",
        f"##contig=<ID={CHROM},length=51304566>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    ]
    if "DS" in formats:
        lines.append(
            '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Estimated Alternate Allele Dosage">'
        )
        lines.append(
            '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Estimated Posterior Probabilities">'
        )
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
    lines.append("\t".join(columns + samples))
    return ("\n".join(lines) + "\n").encode()


def _bgzip_writer(path: Path) -> tuple[subprocess.Popen, object]:
    out = open(path, "wb")
    proc = subprocess.Popen(["bgzip", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out)
    return proc, out


def _finish(proc: subprocess.Popen, out, path: Path) -> None:
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"bgzip failed writing {path}")
    out.close()
    subprocess.run(["tabix", "-f", "-p", "vcf", str(path)], check=True)


def sample_names(n: int) -> list[str]:
    return [f"S{i:06d}" for i in range(n)]


def write_gt_vcf(
    sim: Simulation, path: Path, *, copies: int = 1, n_samples: int | None = None
) -> int:
    """Write the phased GT VCF; ``copies`` tiles the genome end to end (scale series).

    Returns the number of records written.
    """
    n = sim.n_samples if n_samples is None else n_samples
    haps = sim.haplotypes[:, : 2 * n]
    span = int(sim.positions[-1]) + 1000
    proc, out = _bgzip_writer(path)
    proc.stdin.write(_header(sample_names(n), "GT"))
    m = len(sim.positions)
    batch = 2000
    written = 0
    for copy in range(copies):
        for start in range(0, m, batch):
            stop = min(m, start + batch)
            block = haps[start:stop]
            text = np.empty((stop - start, n, 4), dtype=np.uint8)
            text[:, :, 0] = block[:, 0::2] + 48
            text[:, :, 1] = ord("|")
            text[:, :, 2] = block[:, 1::2] + 48
            text[:, :, 3] = 9
            text[:, -1, 3] = 10
            parts = []
            for k in range(stop - start):
                i = start + k
                alleles = sim.alleles[i]
                pos = int(sim.positions[i]) + copy * span
                rsid = f"rs{1_000_000 + copy * m + i}"
                parts.append(
                    f"{CHROM}\t{pos}\t{rsid}\t{alleles[0]}\t{','.join(alleles[1:])}"
                    "\t.\tPASS\t.\tGT\t".encode()
                )
                parts.append(text[k].tobytes())
            proc.stdin.write(b"".join(parts))
            written += stop - start
    _finish(proc, out, path)
    return written


def _imputed_table() -> tuple[list[bytes], int]:
    """Sample-field strings: for each true genotype (0|0, 0|1, 1|0, 1|1), 32 noise levels."""
    levels = 32

    def fmt(x: float) -> str:
        text = f"{x:.3f}".rstrip("0").rstrip(".")
        return text or "0"

    table = []
    for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)):
        g = a + b
        for level in range(levels):
            error = 0.0 if level == 0 else level / 80.0
            gp = np.full(3, error / 2.0)
            gp[g] = 1.0 - error
            gp = np.round(gp, 3)
            gp[g] = round(1.0 - (gp.sum() - gp[g]), 3)
            ds = round(gp[1] + 2 * gp[2], 3)
            table.append(f"{a}|{b}:{fmt(ds)}:{fmt(gp[0])},{fmt(gp[1])},{fmt(gp[2])}".encode())
    return table, levels


def write_imputed_vcf(sim: Simulation, path: Path, *, stride: int, seed: int) -> int:
    """Write the GT:DS:GP VCF from every ``stride``-th biallelic record."""
    rng = np.random.default_rng(seed)
    table, levels = _imputed_table()
    table_array = np.array(table, dtype=object)
    n = sim.n_samples
    proc, out = _bgzip_writer(path)
    proc.stdin.write(_header(sample_names(n), "GT:DS:GP"))
    biallelic = [i for i, a in enumerate(sim.alleles) if len(a) == 2]
    chosen = biallelic[::stride]
    written = 0
    for i in chosen:
        haps = sim.haplotypes[i]
        true = haps[0::2] * 2 + haps[1::2]
        confident = rng.random(n) < 0.7
        level = np.where(confident, 0, rng.integers(1, levels, n))
        fields = table_array[true * levels + level]
        alleles = sim.alleles[i]
        line = (
            f"{CHROM}\t{int(sim.positions[i])}\trs{1_000_000 + i}\t{alleles[0]}\t{alleles[1]}"
            "\t.\tPASS\t.\tGT:DS:GP\t".encode()
            + b"\t".join(fields)
            + b"\n"
        )
        proc.stdin.write(line)
        written += 1
    _finish(proc, out, path)
    return written


@dataclass(frozen=True)
class ScoreRows:
    """Rows of a generated scoring file."""

    rsid: list[str]
    pos: np.ndarray
    effect: list[str]
    other: list[str]
    weights: np.ndarray  # float64[k, n_scores]


def choose_score(
    sim: Simulation,
    *,
    records: np.ndarray,
    n_variants: int,
    n_scores: int,
    seed: int,
) -> ScoreRows:
    """Pick ``n_variants`` biallelic records among ``records`` with random effect alleles.

    Strand-ambiguous pairs (A/T, C/G) are left out: prs drops them by default (as the PGS
    Catalog Calculator) while PLINK 2 scores them, and the benchmark compares the two.
    """
    rng = np.random.default_rng(seed)
    ambiguous = ({"A", "T"}, {"C", "G"})
    biallelic = np.array(
        [i for i in records if len(sim.alleles[i]) == 2 and set(sim.alleles[i]) not in ambiguous],
        dtype=np.int64,
    )
    chosen = np.sort(rng.choice(biallelic, size=min(n_variants, len(biallelic)), replace=False))
    flip = rng.random(len(chosen)) < 0.5
    effect, other = [], []
    for i, f in zip(chosen, flip, strict=True):
        ref, alt = sim.alleles[i]
        effect.append(ref if f else alt)
        other.append(alt if f else ref)
    weights = np.round(rng.normal(0.0, 0.05, size=(len(chosen), n_scores)), 6)
    return ScoreRows(
        [f"rs{1_000_000 + int(i)}" for i in chosen], sim.positions[chosen], effect, other, weights
    )


def write_score_files(rows: ScoreRows, prs_path: Path, plink_path: Path) -> None:
    """The same rows as a PGS Catalog style file (prs) and a PLINK 2 --score table."""
    n_scores = rows.weights.shape[1]
    names = [f"score{j + 1}" for j in range(n_scores)]
    with open(prs_path, "w") as fh:
        fh.write("#pgs_name=benchmark\n#genome_build=GRCh37\n")
        if n_scores == 1:
            fh.write("rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n")
        else:
            fh.write(
                "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\t"
                + "\t".join(names)
                + "\n"
            )
        for k in range(len(rows.rsid)):
            w = "\t".join(f"{x:.6g}" for x in rows.weights[k])
            fh.write(
                f"{rows.rsid[k]}\t{CHROM}\t{rows.pos[k]}\t{rows.effect[k]}\t{rows.other[k]}\t{w}\n"
            )
    with open(plink_path, "w") as fh:
        fh.write("ID\tA1\t" + "\t".join(names) + "\n")
        for k in range(len(rows.rsid)):
            w = "\t".join(f"{x:.6g}" for x in rows.weights[k])
            fh.write(f"{rows.rsid[k]}\t{rows.effect[k]}\t{w}\n")


@dataclass(frozen=True)
class DatasetSpec:
    """What to generate."""

    samples: int = 2000
    length: float = 32e6
    seed: int = 20240604
    imputed_stride: int = 4
    dense_fraction: float = 0.5
    sparse_variants: int = 300
    many_scores: int = 100
    scale_copies: tuple[int, ...] = ()
    scale_samples: int = 500


SMALL = DatasetSpec(samples=1000, length=8e6, many_scores=20, imputed_stride=2)
FULL = DatasetSpec(scale_copies=(1, 4, 16))

#: Bump when the generated files change, so cached datasets are rebuilt.
VERSION = 2


def default_data_dir(label: str) -> Path:
    """Where a dataset is cached: ``$PRS_BENCH_DATA/<label>`` or the temp dir's
    ``prs-benchmarks/<label>`` (``label``: ``full`` or ``small``)."""
    root = os.environ.get("PRS_BENCH_DATA", str(Path(tempfile.gettempdir()) / "prs-benchmarks"))
    return Path(root) / label


def generate(out: Path, spec: DatasetSpec) -> dict[str, Path]:
    """Write every dataset of ``spec`` into ``out`` (skipping files already there)."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "spec.txt"
    if stamp.exists() and stamp.read_text() == f"{VERSION} {spec!r}":
        return _paths(out, spec)
    if shutil.which("bgzip") is None or shutil.which("tabix") is None:
        raise RuntimeError("bgzip and tabix are needed to generate the benchmark data")
    sim = simulate(spec.samples, spec.length, spec.seed)
    m = len(sim.positions)
    write_gt_vcf(sim, out / "gt.vcf.gz")
    imputed_records = np.array(
        [i for i, a in enumerate(sim.alleles) if len(a) == 2][:: spec.imputed_stride]
    )
    write_imputed_vcf(sim, out / "imputed.vcf.gz", stride=spec.imputed_stride, seed=spec.seed)
    every = np.arange(m)
    dense = choose_score(
        sim, records=every, n_variants=int(m * spec.dense_fraction), n_scores=1, seed=spec.seed
    )
    write_score_files(dense, out / "dense.prs.txt", out / "dense.plink.tsv")
    many = ScoreRows(
        dense.rsid,
        dense.pos,
        dense.effect,
        dense.other,
        np.round(
            np.random.default_rng(spec.seed + 7).normal(
                0.0, 0.05, size=(len(dense.rsid), spec.many_scores)
            ),
            6,
        ),
    )
    write_score_files(many, out / "many.prs.txt", out / "many.plink.tsv")
    sparse = choose_score(
        sim, records=every, n_variants=spec.sparse_variants, n_scores=1, seed=spec.seed + 1
    )
    write_score_files(sparse, out / "sparse.prs.txt", out / "sparse.plink.tsv")
    imputed_score = choose_score(
        sim,
        records=imputed_records,
        n_variants=int(len(imputed_records) * spec.dense_fraction),
        n_scores=1,
        seed=spec.seed + 2,
    )
    write_score_files(imputed_score, out / "imputed.prs.txt", out / "imputed.plink.tsv")
    for copies in spec.scale_copies:
        write_gt_vcf(
            sim, out / f"scale{copies}.vcf.gz", copies=copies, n_samples=spec.scale_samples
        )
        span = int(sim.positions[-1]) + 1000
        rows = dense  # the dense score, tiled over the copies
        tiled = ScoreRows(
            [
                f"rs{1_000_000 + c * m + int(r[2:]) - 1_000_000}"
                for c in range(copies)
                for r in rows.rsid
            ],
            np.concatenate([rows.pos + c * span for c in range(copies)]),
            rows.effect * copies,
            rows.other * copies,
            np.tile(rows.weights, (copies, 1)),
        )
        write_score_files(tiled, out / f"scale{copies}.prs.txt", out / f"scale{copies}.plink.tsv")
    stamp.write_text(f"{VERSION} {spec!r}")
    return _paths(out, spec)


@dataclass(frozen=True)
class PlinkSpec:
    """A ``plink2 --dummy`` fileset (hard calls, no missing calls) and its dense score.

    Files: ``<name>.pgen/.pvar/.psam`` (and ``.bed/.bim/.fam`` when ``bed``), the score
    ``<score>.prs.txt``/``<score>.plink.tsv``; several specs share one directory.
    """

    samples: int = 20_000
    variants: int = 20_000
    seed: int = 20261130
    name: str = "dummy"
    bed: bool = True

    @property
    def score(self) -> str:
        """Stem of the score files (``plink`` for the default fileset, as before)."""
        return "plink" if self.name == "dummy" else f"plink-{self.name}"


#: The 20,000 x 20,000 fileset (also the BGEN benchmark's source).
PLINK_SMALL = PlinkSpec(samples=2_000, variants=5_000)
PLINK_FULL = PlinkSpec()

#: The issue's PLINK targets (issue 13): pgen and bed, 20,000 samples x 100,000 variants;
#: 200,000 samples x 20,000 variants (memory), and 50,000 x 20,000 beside it (time linear
#: in samples: 4x the samples should take 4x the time). ``--small``: the same shapes, smaller.
PLINK_TARGETS = (
    PlinkSpec(samples=20_000, variants=100_000, name="target"),
    PlinkSpec(samples=200_000, variants=20_000, name="wide", bed=False),
    PlinkSpec(samples=50_000, variants=20_000, name="narrow", bed=False),
)
PLINK_TARGETS_SMALL = (
    PlinkSpec(samples=2_000, variants=5_000, name="target"),
    PlinkSpec(samples=8_000, variants=2_000, name="wide", bed=False),
    PlinkSpec(samples=2_000, variants=2_000, name="narrow", bed=False),
)

#: Bump when the generated PLINK files change.
PLINK_VERSION = 1
#: Unambiguous REF/ALT pairs (prs drops A/T and C/G by default; PLINK 2 scores them).
_PAIRS = [
    ("A", "C"),
    ("A", "G"),
    ("C", "A"),
    ("C", "T"),
    ("G", "A"),
    ("G", "T"),
    ("T", "C"),
    ("T", "G"),
]


def generate_plink(out: Path, spec: PlinkSpec) -> None:
    """Write ``<name>.pgen/.pvar/.psam``, ``<name>.bed/.bim/.fam`` (when ``spec.bed``) and the
    dense score into ``out`` (``dummy`` and ``plink.*`` for the default spec).

    ``plink2 --dummy`` draws the calls (seeded; no missing calls); its ``.pvar`` is then
    rewritten so the variants look like the VCF datasets': chromosome 22, positions 100 bp
    apart, rsIDs, and seeded unambiguous REF/ALT pairs (a ``.pgen`` stores no alleles, so
    the calls are unchanged). The ``.bed`` is PLINK 2's ``--make-bed`` of that fileset. The
    score has one row per variant, effect allele REF or ALT at random, seeded weights.
    A stamp (``plink-spec.txt``, ``plink-spec-<name>.txt``) skips all of it when the files
    are already there.
    """
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / ("plink-spec.txt" if spec.name == "dummy" else f"plink-spec-{spec.name}.txt")
    if stamp.exists() and stamp.read_text() == f"{PLINK_VERSION} {spec!r}":
        return
    if shutil.which("plink2") is None:
        raise RuntimeError("plink2 is needed to generate the PLINK benchmark data")
    prefix = out / spec.name
    common = ["--threads", "2", "--silent", "--seed", str(spec.seed)]
    # <samples> <variants> <missing call freq> <missing phenotype freq>
    dummy = ["--dummy", str(spec.samples), str(spec.variants), "0", "0", "acgt"]
    subprocess.run(
        ["plink2", *dummy, "--out", str(prefix), *common],
        check=True,
        capture_output=True,
    )
    rng = np.random.default_rng(spec.seed)
    m = spec.variants
    pairs = [_PAIRS[k] for k in rng.integers(0, len(_PAIRS), m)]
    pos = 1000 + 100 * np.arange(m, dtype=np.int64)
    rsid = [f"rs{5_000_000 + i}" for i in range(m)]
    with open(f"{prefix}.pvar", "w") as fh:
        fh.write("#CHROM\tPOS\tID\tREF\tALT\n")
        fh.writelines(
            f"{CHROM}\t{pos[i]}\t{rsid[i]}\t{pairs[i][0]}\t{pairs[i][1]}\n" for i in range(m)
        )
    if spec.bed:
        subprocess.run(
            ["plink2", "--pfile", str(prefix), "--make-bed", "--out", str(prefix), *common],
            check=True,
            capture_output=True,
        )
    flip = rng.random(m) < 0.5
    rows = ScoreRows(
        rsid,
        pos,
        [ref if f else alt for (ref, alt), f in zip(pairs, flip, strict=True)],
        [alt if f else ref for (ref, alt), f in zip(pairs, flip, strict=True)],
        np.round(rng.normal(0.0, 0.05, size=(m, 1)), 6),
    )
    write_score_files(rows, out / f"{spec.score}.prs.txt", out / f"{spec.score}.plink.tsv")
    stamp.write_text(f"{PLINK_VERSION} {spec!r}")


def _paths(out: Path, spec: DatasetSpec) -> dict[str, Path]:
    return {p.name: p for p in sorted(out.iterdir())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--small", action="store_true", help="the CI-sized dataset")
    args = parser.parse_args(argv)
    generate(args.out, SMALL if args.small else FULL)
    generate_plink(args.out, PLINK_SMALL if args.small else PLINK_FULL)
    for spec in PLINK_TARGETS_SMALL if args.small else PLINK_TARGETS:
        generate_plink(args.out, spec)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
