"""Small VCF files for the fast-path tests: write text, bgzip it (pysam) and index it.

``random_vcf`` draws records with every call shape the readers must agree on: phased and
unphased diploid calls, haploid calls, missing calls (``./.``, ``.``), multi-allelic sites
with multi-digit allele indexes, optional half-calls (``0/.``) and optional DS/GP fields.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam

BASES = "ACGT"


def header(samples: list[str], *, contig: str = "22", formats: str = "GT") -> str:
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={contig},length=51304566>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    ]
    if "DS" in formats:
        lines.append('##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">')
    if "GP" in formats:
        lines.append('##FORMAT=<ID=GP,Number=G,Type=Float,Description="Probabilities">')
    lines.append(
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(samples)
    )
    return "\n".join(lines) + "\n"


def write_vcf(path: Path, text: str, *, bgzip: bool = True, index: bool = True) -> Path:
    """Write ``text``; bgzip it (``path`` + ``.gz``) and tabix-index it when asked."""
    plain = Path(str(path).removesuffix(".gz"))
    plain.write_text(text)
    if not bgzip:
        return plain
    out = Path(str(plain) + ".gz")
    pysam.tabix_compress(str(plain), str(out), force=True)
    plain.unlink()
    if index:
        pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def _call(rng: np.random.Generator, n_alleles: int, haploid: bool, half: bool) -> str:
    roll = rng.random()
    if haploid:
        return "." if roll < 0.05 else str(int(rng.integers(n_alleles)))
    if roll < 0.05:
        return "./."
    if half and roll < 0.1:
        allele = int(rng.integers(n_alleles))
        return f"{allele}/." if roll < 0.075 else f".|{allele}"
    sep = "|" if rng.random() < 0.7 else "/"
    return f"{int(rng.integers(n_alleles))}{sep}{int(rng.integers(n_alleles))}"


def random_vcf_text(
    seed: int,
    *,
    n_samples: int = 7,
    n_records: int = 40,
    contig: str = "22",
    multiallelic: bool = True,
    haploid: bool = True,
    half_calls: bool = False,
    dosage: bool = False,
) -> str:
    """A random VCF as text (sorted positions, some repeated)."""
    rng = np.random.default_rng(seed)
    samples = [f"S{i}" for i in range(n_samples)]
    formats = "GT:DS:GP" if dosage else "GT"
    out = [header(samples, contig=contig, formats=formats)]
    pos = 100
    haploid_samples = rng.random(n_samples) < 0.3 if haploid else np.zeros(n_samples, bool)
    for r in range(n_records):
        if rng.random() > 0.15:
            pos += int(rng.integers(1, 50))
        ref = BASES[int(rng.integers(4))]
        if dosage or not multiallelic:
            n_alt = 1
        else:
            n_alt = int(rng.choice([1, 1, 1, 2, 3, 11]))
        alts = []
        for k in range(n_alt):
            alts.append("".join(rng.choice(list(BASES), size=1 + (k % 3))))
        calls = []
        for s in range(n_samples):
            gt = _call(rng, n_alt + 1, bool(haploid_samples[s]), half_calls)
            if dosage:
                if rng.random() < 0.05:
                    calls.append(f"{gt}:.:.")
                    continue
                p = rng.dirichlet([1, 1, 1])
                gp = np.round(p, 3)
                gp[0] = round(1 - gp[1] - gp[2], 3)
                ds = round(gp[1] + 2 * gp[2], 3)
                calls.append(f"{gt}:{ds:g}:{gp[0]:g},{gp[1]:g},{gp[2]:g}")
            else:
                calls.append(gt)
        out.append(
            "\t".join(
                [contig, str(pos), f"rs{r}", ref, ",".join(alts), ".", "PASS", ".", formats, *calls]
            )
            + "\n"
        )
    return "".join(out)
