"""The embedded example: a small synthetic cohort VCF and a scoring file, made by this module.

Both files ship with the package (``prs/data/example/``) so the demo runs offline; they were
written by :func:`generate_example` (``python -m prs.example``) from a fixed seed, and say so
in their headers. Nothing in them is real data: genotypes are drawn under Hardy-Weinberg
from random allele frequencies, weights from a normal distribution.

The example exercises what real data brings: REF and ALT effect alleles, strand-flipped
rows, strand-ambiguous A/T and C/G SNPs, a multi-allelic site, indels, missing calls,
haploid chrX calls for males, rows absent from the genotypes, and DS dosages beside GT.
"""

from __future__ import annotations

import argparse
import gzip
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

EXAMPLE_SCORE_ID = "EXAMPLE_BC01"
SEED = 20261123
N_SAMPLES = 200

#: GRCh38 chromosome lengths (the ##contig lines let prs detect the build).
GRCH38_LENGTHS = {
    "1": 248956422,
    "2": 242193529,
    "3": 198295559,
    "4": 190214555,
    "5": 181538259,
    "6": 170805979,
    "7": 159345973,
    "8": 145138636,
    "9": 138394717,
    "10": 133797422,
    "11": 135086622,
    "12": 133275309,
    "13": 114364328,
    "14": 107043718,
    "15": 101991189,
    "16": 90338345,
    "17": 83257441,
    "18": 80373285,
    "19": 58617616,
    "20": 64444167,
    "21": 46709983,
    "22": 50818468,
    "X": 156040895,
}
_BASES = np.array(list("ACGT"))
_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


@dataclass(frozen=True)
class ExamplePaths:
    """Paths of the embedded example files."""

    vcf: Path
    scorefile: Path
    sexes: Path


def example_dir() -> Path:
    """Folder of the embedded example inside the installed package."""
    return Path(str(resources.files("prs") / "data" / "example"))


def example_paths() -> ExamplePaths:
    """Paths of the embedded cohort VCF, scoring file and sample sexes.

    Examples
    --------
    >>> example_paths().vcf.name
    'example_cohort.vcf.gz'
    """
    d = example_dir()
    return ExamplePaths(
        vcf=d / "example_cohort.vcf.gz",
        scorefile=d / f"{EXAMPLE_SCORE_ID}_GRCh38.txt.gz",
        sexes=d / "example_cohort_sexes.tsv",
    )


def _gt_text(alleles: np.ndarray, haploid: bool) -> str:
    if haploid:
        return "." if alleles[0] < 0 else str(alleles[0])
    if alleles[0] < 0:
        return "./."
    return f"{alleles[0]}|{alleles[1]}"


def generate_example(out_dir: str | os.PathLike[str], *, seed: int = SEED) -> ExamplePaths:
    """Write the example cohort VCF (bgzipped + tabix index) and scoring file to ``out_dir``.

    Parameters
    ----------
    out_dir
        Destination folder (created).
    seed
        Random seed; the default reproduces the shipped files.

    Returns
    -------
    ExamplePaths
    """
    # One generator through every step, in this order: the shipped files depend on it.
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples = [f"EX{i:04d}" for i in range(1, N_SAMPLES + 1)]
    male = np.arange(N_SAMPLES) >= N_SAMPLES // 2
    records = _example_sites(rng)
    vcf = _write_example_vcf(out, records, samples, male, rng, seed)
    scorefile = _write_example_scorefile(out, _example_weights(records, rng), seed)
    sexes = out / "example_cohort_sexes.tsv"
    sexes.write_text(
        "sample_id\tsex\n"
        + "".join(f"{s}\t{'male' if m else 'female'}\n" for s, m in zip(samples, male, strict=True))
    )
    return ExamplePaths(vcf=vcf, scorefile=scorefile, sexes=sexes)


#: A site of the example: (chrom, pos, id, ref, alts, ALT frequencies).
_Site = tuple[str, int, str, str, list[str], np.ndarray]


def _example_sites(rng: np.random.Generator) -> list[_Site]:
    """Random sites on every chromosome: SNPs, some indels, a few multi-allelic."""
    records: list[_Site] = []
    for chrom, length in GRCH38_LENGTHS.items():
        n_sites = 100 if chrom == "X" else 120
        positions = np.sort(
            rng.choice(np.arange(3_000_000, length - 3_000_000), n_sites, replace=False)
        )
        for pos in positions:
            ref = str(rng.choice(_BASES))
            alt = str(rng.choice([b for b in "ACGT" if b != ref]))
            kind = rng.random()
            if kind < 0.04:
                alt = ref + str(rng.choice(_BASES))  # insertion
            elif kind < 0.07:
                ref, alt = ref + str(rng.choice(_BASES)), ref  # deletion
            alts = [alt]
            if kind > 0.995 or (chrom == "7" and len(records) % 120 == 10):
                alts.append(str(rng.choice([b for b in "ACGT" if b not in (ref, alt)])))
            freqs = np.clip(rng.beta(0.6, 0.6, size=len(alts)), 0.03, 0.97)
            if len(alts) > 1:
                freqs = freqs / freqs.sum() * min(0.9, freqs.sum())
            records.append((chrom, int(pos), f"rs{rng.integers(10**6, 10**9)}", ref, alts, freqs))
    return records


def _write_example_vcf(
    out: Path,
    records: list[_Site],
    samples: list[str],
    male: np.ndarray,
    rng: np.random.Generator,
    seed: int,
) -> Path:
    """The cohort as a bgzipped, indexed VCF with GT and noisy DS (1 % missing calls)."""
    import pysam

    vcf_plain = out / "example_cohort.vcf"
    with open(vcf_plain, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        fh.write(
            "##source=prs.example (synthetic; generated by `python -m prs.example`, "
            f"seed {seed}; not real data)\n"
        )
        fh.write("##reference=GRCh38\n")
        for chrom, length in GRCH38_LENGTHS.items():
            fh.write(f"##contig=<ID={chrom},length={length}>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write('##FORMAT=<ID=DS,Number=A,Type=Float,Description="Estimated ALT dose">\n')
        fh.write(
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
        )
        for chrom, pos, rsid, ref, alts, freqs in records:
            cells = _example_cells(chrom, alts, freqs, male, rng)
            fh.write(
                f"{chrom}\t{pos}\t{rsid}\t{ref}\t{','.join(alts)}\t.\tPASS\t.\tGT:DS\t"
                + "\t".join(cells)
                + "\n"
            )
    vcf = out / "example_cohort.vcf.gz"
    pysam.tabix_compress(str(vcf_plain), str(vcf), force=True)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    vcf_plain.unlink()
    return vcf


def _example_cells(
    chrom: str, alts: list[str], freqs: np.ndarray, male: np.ndarray, rng: np.random.Generator
) -> list[str]:
    """Every sample's ``GT:DS`` at one site (males haploid on chrX)."""
    probs = np.concatenate([[1 - freqs.sum()], freqs])
    haps = rng.choice(len(probs), size=(N_SAMPLES, 2), p=probs)
    haploid = male & (chrom == "X")
    missing = rng.random(N_SAMPLES) < 0.01
    cells = []
    for i in range(N_SAMPLES):
        alleles = haps[i].copy()
        if missing[i]:
            alleles[:] = -1
        gt = _gt_text(alleles, bool(haploid[i]))
        if missing[i]:
            ds = "."
        else:
            used = alleles[:1] if haploid[i] else alleles
            dose = [(used == a).sum() for a in range(1, len(alts) + 1)]
            noisy = [
                min(max(d + rng.normal(0, 0.04), 0.0), 1.0 if haploid[i] else 2.0) for d in dose
            ]
            total = sum(noisy)
            cap = 1.0 if haploid[i] else 2.0
            if total > cap:
                noisy = [v * cap / total for v in noisy]
            ds = ",".join(f"{np.floor(v * 1000) / 1000:.3f}" for v in noisy)
        cells.append(f"{gt}:{ds}")
    return cells


#: A scoring row of the example: (rsID, chrom, pos, effect, other, weight, effect frequency).
_Row = tuple[str, str, int, str, str, float, float]


def _example_weights(records: list[_Site], rng: np.random.Generator) -> list[_Row]:
    """300 scoring rows, mostly biallelic SNPs, with every case the matcher handles:
    strand-ambiguous SNPs, indels, multi-allelic sites, the other strand, absent variants."""
    snps = [
        i for i, r in enumerate(records) if len(r[4]) == 1 and len(r[3]) == 1 and len(r[4][0]) == 1
    ]
    ambiguous = [i for i in snps if _COMPLEMENT[records[i][3]] == records[i][4][0]]
    clear = [i for i in snps if i not in set(ambiguous)]
    indels = [
        i for i, r in enumerate(records) if len(r[4]) == 1 and (len(r[3]) > 1 or len(r[4][0]) > 1)
    ]
    multi = [i for i, r in enumerate(records) if len(r[4]) > 1]
    chosen = (
        list(rng.choice(clear, 262, replace=False))
        + list(rng.choice(ambiguous, 8, replace=False))
        + list(rng.choice(indels, 8, replace=False))
        + multi[:2]
    )
    rows: list[_Row] = []
    for i in sorted(chosen):
        chrom, pos, rsid, ref, alts, freqs = records[i]
        alt_index = 1 if i not in multi or i != multi[1] else 2
        alt = alts[alt_index - 1]
        weight = float(rng.normal(0, 0.08))
        freq = float(freqs[alt_index - 1])
        effect, other, freq_effect = (
            (alt, ref, freq) if rng.random() < 0.6 else (ref, alt, 1 - freq)
        )
        if i in clear and rng.random() < 0.1:  # written on the other strand
            effect, other = _COMPLEMENT[effect], _COMPLEMENT[other]
        rows.append((rsid, chrom, pos, effect, other, weight, freq_effect))
    for _ in range(20):  # variants the cohort does not carry (absent from the VCF)
        chrom = str(rng.integers(1, 23))
        rows.append(
            (
                f"rs{rng.integers(10**6, 10**9)}",
                chrom,
                int(rng.integers(1_000_000, 2_000_000)),
                "G",
                "A",
                float(rng.normal(0, 0.08)),
                0.3,
            )
        )
    return rows


def _write_example_scorefile(out: Path, rows: list[_Row], seed: int) -> Path:
    """The rows as a PGS Catalog format 2.0 scoring file (gzip, reproducible: mtime 0)."""
    scorefile = out / f"{EXAMPLE_SCORE_ID}_GRCh38.txt.gz"
    header = [
        "###PGS CATALOG SCORING FILE - synthetic example written by prs.example "
        f"(`python -m prs.example`, seed {seed}); not a PGS Catalog score, not real weights",
        "#format_version=2.0",
        "##POLYGENIC SCORE (PGS) INFORMATION",
        f"#pgs_id={EXAMPLE_SCORE_ID}",
        "#pgs_name=EXAMPLE_BC_SYNTHETIC",
        "#trait_reported=Breast cancer (synthetic example)",
        "#trait_mapped=breast carcinoma",
        "#trait_efo=EFO_0000305",
        "#genome_build=GRCh38",
        f"#variants_number={len(rows)}",
        "#weight_type=log(OR)",
    ]
    columns = (
        "rsID",
        "chr_name",
        "chr_position",
        "effect_allele",
        "other_allele",
        "effect_weight",
        "allelefrequency_effect",
    )
    lines = ["\t".join(columns)]
    for rsid, chrom, pos, effect, other, weight, freq in rows:
        lines.append(f"{rsid}\t{chrom}\t{pos}\t{effect}\t{other}\t{weight:.6f}\t{freq:.4f}")
    with gzip.GzipFile(scorefile, "wb", mtime=0) as gz:
        gz.write(("\n".join(header + lines) + "\n").encode())
    return scorefile


def run_demo(out: str | os.PathLike[str]) -> dict[str, Path]:
    """The whole path on the embedded example, every output written into ``out``.

    Scores the cohort, then calibrates the women's scores as a breast cancer score would be
    (:func:`prs.calibrate.run_demo_path`: reference percentiles and z-scores, relative risk
    at OR 1.61 per SD, 5-year, 10-year and lifetime absolute risks at age 45 from the
    shipped US SEER rates, the NICE CG164 category and its pathway action). The example is
    synthetic, so the categories illustrate the mechanics, not anyone's risk.
    """
    import warnings

    import pandas as pd

    from prs.calibrate import run_demo_path
    from prs.output import write_table
    from prs.report import write_score_outputs
    from prs.scoring import score

    paths = example_paths()
    result = score(paths.vcf, paths.scorefile)
    written = write_score_outputs(result, Path(out))
    row = result.match_report.counts.iloc[0]
    print(
        f"{result.score_ids[0]}: {int(row['matched'])}/{int(row['n_rows'])} variants matched; "
        f"{len(result.samples)} samples scored"
    )
    sexes = pd.read_csv(paths.sexes, sep="\t")
    women = set(sexes.loc[sexes["sex"] == "female", "sample_id"])
    scores = result.to_frame()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        categories = run_demo_path(
            scores[scores["sample_id"].isin(women)],
            sex="female",
            scorefile=paths.scorefile,
            match_report=result.match_report.to_frame(),
        )
    for w in caught:
        print(f"note: {w.message}")
    written["categories"] = write_table(categories, Path(out) / "categories.tsv")
    counts = categories["category"].value_counts()
    print(
        "categories (women, age 45, NICE CG164 lifetime risk): "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    _print_probabilities(categories)
    print("statements (every row of categories.tsv):")
    for key in [c for c in categories.columns if c.startswith("statement_")]:
        print(f"  {key}: {categories[key].iloc[0]}")
    print(f"wrote {', '.join(str(p) for p in written.values())}")
    return written


def _print_probabilities(categories: Any) -> None:
    """The category probabilities of the people nearest a threshold, and how many are."""
    prob_cols = [c for c in categories.columns if c.startswith("p_")]
    if not prob_cols:
        return
    flagged = int((categories["near_threshold"] == True).sum())  # noqa: E712
    print(
        f"category probabilities (95 % intervals from the OR's CI 1.57-1.65, the reference's "
        f"n, coverage and missing calls): {flagged} of {len(categories)} near a threshold "
        "(most likely category below 0.8); the five least certain:"
    )
    top = categories[prob_cols].max(axis=1)
    shown = categories.loc[top.sort_values().index[:5]]
    columns = ["sample_id", "scheme_measure", "scheme_measure_lo", "scheme_measure_hi"]
    columns += ["category", *prob_cols, "near_threshold"]
    print(shown[columns].round(3).to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    """``python -m prs.example [--out DIR]``: regenerate the example files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=example_dir())
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    paths = generate_example(args.out, seed=args.seed)
    print(f"wrote {paths.vcf}, {paths.scorefile}, {paths.sexes}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
