"""The embedded example: a small synthetic cohort VCF, a scoring file and a reference panel,
made by this module.

The files ship with the package (``prs/data/example/``) so the demo runs offline; they were
written by :func:`generate_example` (``python -m prs.example``) from a fixed seed, and say so
in their headers. Nothing in them is real data: genotypes are drawn under Hardy-Weinberg
from random allele frequencies, weights from a normal distribution. Each person belongs to one
of three synthetic populations (:data:`POPULATIONS`) whose allele frequencies drift from the
ancestral ones (Balding-Nichols, :data:`FST`); the reference panel (60 women per population,
the cohort's sites, GT only) lets the demo place each person in their most similar
population, and ``example_cohort_populations.tsv`` records the population each person was
drawn from (``PopA/PopB`` for the four women of :data:`ADMIXED`, one haplotype from each), so
the assignment can be checked.

The example exercises what real data brings: REF and ALT effect alleles, strand-flipped
rows, strand-ambiguous A/T and C/G SNPs, a multi-allelic site, indels, missing calls,
haploid chrX calls for males, rows absent from the genotypes, and DS dosages beside GT.
"""

from __future__ import annotations

import argparse
import dataclasses
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
#: The example's synthetic populations (not real ones): every person of the cohort and of the
#: reference panel is drawn from the allele frequencies of one of them.
POPULATIONS = ("PopA", "PopB", "PopC")
#: Share of each population among the cohort's people.
COHORT_SHARES = (0.5, 0.3, 0.2)
#: Women of the cohort whose parents come from two populations (one haplotype from each):
#: between the reference's clouds, they show what a mixed ancestry does to the assignment.
ADMIXED = {
    "EX0097": ("PopA", "PopB"),
    "EX0098": ("PopA", "PopB"),
    "EX0099": ("PopB", "PopC"),
    "EX0100": ("PopA", "PopC"),
}
#: Reference panel people per population.
N_REFERENCE_PER_POPULATION = 60
#: Wright's F_ST of each population's allele frequencies from the ancestral ones
#: (Balding-Nichols model: ``Beta(p (1 - F) / F, (1 - p) (1 - F) / F)`` per population).
FST = 0.05

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
    """Paths of the embedded example files.

    Attributes
    ----------
    vcf, scorefile, sexes
        The cohort (200 people, GT and DS), the scoring file and each person's sex.
    populations
        The population each person of the cohort was simulated from (``sample_id``,
        ``population``): the truth an ancestry assignment can be checked against.
    reference_vcf, reference_labels
        The reference panel (women, GT only, the cohort's sites) and its population labels
        (``IID``, ``SuperPop``, ``Population``, as a pgsc_calc reference ``.psam``).
    """

    vcf: Path
    scorefile: Path
    sexes: Path
    populations: Path
    reference_vcf: Path
    reference_labels: Path


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
        populations=d / "example_cohort_populations.tsv",
        reference_vcf=d / "example_reference.vcf.gz",
        reference_labels=d / "example_reference_populations.tsv",
    )


def _gt_text(alleles: np.ndarray, haploid: bool) -> str:
    if haploid:
        return "." if alleles[0] < 0 else str(alleles[0])
    if alleles[0] < 0:
        return "./."
    return f"{alleles[0]}|{alleles[1]}"


def generate_example(out_dir: str | os.PathLike[str], *, seed: int = SEED) -> ExamplePaths:
    """Write the example files to ``out_dir``: the cohort VCF (bgzipped + tabix index), the
    scoring file, the sexes, the cohort's simulated populations and the reference panel.

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
    # One generator through the cohort and the scoring file, in this order (the shipped files
    # depend on it); the populations draw from a second one, so the scoring file's rows are
    # the same with or without population structure.
    rng = np.random.default_rng(seed)
    ancestry_rng = np.random.default_rng([seed, 1])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples = [f"EX{i:04d}" for i in range(1, N_SAMPLES + 1)]
    male = np.arange(N_SAMPLES) >= N_SAMPLES // 2
    records = _example_sites(rng)
    population = ancestry_rng.choice(len(POPULATIONS), size=N_SAMPLES, p=COHORT_SHARES)
    frequencies = [_population_frequencies(site[5], ancestry_rng) for site in records]
    # each haplotype's population: a few women have parents of two populations
    haplotypes = np.column_stack([population, population])
    for sample, parents in ADMIXED.items():
        haplotypes[samples.index(sample)] = [POPULATIONS.index(p) for p in parents]
    vcf = _write_example_vcf(
        out, records, frequencies, samples, haplotypes, male, rng, seed, reference=False
    )
    scorefile = _write_example_scorefile(out, _example_weights(records, rng), seed)
    sexes = _write_tsv(
        out / "example_cohort_sexes.tsv",
        ("sample_id", "sex"),
        ((s, "male" if m else "female") for s, m in zip(samples, male, strict=True)),
    )
    populations = _write_tsv(
        out / "example_cohort_populations.tsv",
        ("sample_id", "population"),
        (
            (s, "/".join(ADMIXED.get(s, (POPULATIONS[p],))))
            for s, p in zip(samples, population, strict=True)
        ),
    )
    ref_population = np.repeat(np.arange(len(POPULATIONS)), N_REFERENCE_PER_POPULATION)
    ref_samples = [f"REF{i:03d}" for i in range(1, ref_population.size + 1)]
    reference_vcf = _write_example_vcf(
        out,
        records,
        frequencies,
        ref_samples,
        ref_population,
        np.zeros(ref_population.size, dtype=bool),
        ancestry_rng,
        seed,
        reference=True,
    )
    labels = _write_tsv(
        out / "example_reference_populations.tsv",
        ("IID", "SuperPop", "Population"),
        (
            (s, POPULATIONS[p], POPULATIONS[p])
            for s, p in zip(ref_samples, ref_population, strict=True)
        ),
    )
    return ExamplePaths(
        vcf=vcf,
        scorefile=scorefile,
        sexes=sexes,
        populations=populations,
        reference_vcf=reference_vcf,
        reference_labels=labels,
    )


def _write_tsv(path: Path, header: tuple[str, ...], rows: Any) -> Path:
    """A small tab-separated table with a header line."""
    path.write_text("".join("\t".join(row) + "\n" for row in [header, *rows]))
    return path


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


def _population_frequencies(ancestral: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(populations, ALTs)`` ALT frequencies of one site: each population's drawn from the
    ancestral frequency under the Balding-Nichols model with :data:`FST` (a multi-allelic
    site keeps the ancestral frequencies in every population)."""
    if ancestral.size > 1:
        return np.tile(ancestral, (len(POPULATIONS), 1))
    p = float(ancestral[0])
    drawn = rng.beta(p * (1 - FST) / FST, (1 - p) * (1 - FST) / FST, size=len(POPULATIONS))
    return drawn.reshape(-1, 1)


def _write_example_vcf(
    out: Path,
    records: list[_Site],
    frequencies: list[np.ndarray],
    samples: list[str],
    population: np.ndarray,
    male: np.ndarray,
    rng: np.random.Generator,
    seed: int,
    *,
    reference: bool,
) -> Path:
    """The cohort as a bgzipped, indexed VCF with GT and noisy DS (1 % missing calls), or
    (``reference``) the reference panel with complete GT only."""
    import pysam

    name = "example_reference" if reference else "example_cohort"
    what = (
        "reference panel: women of the synthetic populations in example_reference_populations.tsv"
        if reference
        else "cohort"
    )
    vcf_plain = out / f"{name}.vcf"
    with open(vcf_plain, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        fh.write(
            f"##source=prs.example {what} (synthetic; generated by `python -m prs.example`, "
            f"seed {seed}; not real data)\n"
        )
        fh.write("##reference=GRCh38\n")
        for chrom, length in GRCH38_LENGTHS.items():
            fh.write(f"##contig=<ID={chrom},length={length}>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        if not reference:
            fh.write('##FORMAT=<ID=DS,Number=A,Type=Float,Description="Estimated ALT dose">\n')
        fh.write(
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
        )
        for (chrom, pos, rsid, ref, alts, _), freqs in zip(records, frequencies, strict=True):
            haps = _draw_alleles(freqs, population, rng)
            if reference:
                cells = [f"{a}|{b}" for a, b in haps]
            else:
                cells = _example_cells(chrom, alts, haps, male, rng)
            fh.write(
                f"{chrom}\t{pos}\t{rsid}\t{ref}\t{','.join(alts)}\t.\tPASS\t.\t"
                f"{'GT' if reference else 'GT:DS'}\t" + "\t".join(cells) + "\n"
            )
    vcf = out / f"{name}.vcf.gz"
    pysam.tabix_compress(str(vcf_plain), str(vcf), force=True)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    vcf_plain.unlink()
    return vcf


def _draw_alleles(
    freqs: np.ndarray, population: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``(samples, 2)`` alleles (0 REF, k the k-th ALT) drawn under Hardy-Weinberg from each
    sample's population frequencies (``freqs``: populations x ALTs)."""
    probs = np.column_stack([1 - freqs.sum(axis=1), freqs])
    cdf = probs.cumsum(axis=1)
    cdf /= cdf[:, -1:]
    haplotypes = population if population.ndim == 2 else np.column_stack([population] * 2)
    uniform = rng.random((len(haplotypes), 2))
    # the allele whose cumulative interval holds the draw (numpy's choice(p=...) per row)
    return (uniform[:, :, None] >= cdf[haplotypes]).sum(axis=2)


def _example_cells(
    chrom: str, alts: list[str], haps: np.ndarray, male: np.ndarray, rng: np.random.Generator
) -> list[str]:
    """Every sample's ``GT:DS`` at one site (males haploid on chrX)."""
    n_samples = len(haps)
    haploid = male & (chrom == "X")
    missing = rng.random(n_samples) < 0.01
    cells = []
    for i in range(n_samples):
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


#: What each match outcome means, for the demo's explanation of its unmatched rows.
_OUTCOME_WORDS = {
    "excluded_ambiguous": "strand-ambiguous A/T or C/G SNPs, left out as the PGS Catalog "
    "Calculator does (--keep-ambiguous keeps them)",
    "excluded_duplicate_row": "rows repeating another row of the scoring file",
    "excluded_duplicate_target": "rows fitting several records of the genotypes equally well",
    "unmatched_no_position": "rows without a chromosome position",
    "unmatched_no_site": "variants the cohort does not carry (no record at that position)",
    "unmatched_allele_mismatch": "positions the cohort has, but with other alleles",
}
#: The demo's pretence: the synthetic score (with PGS000004's OR per SD) was developed in
#: this population, so people most similar to the others are warned about.
DEMO_DEVELOPMENT_ANCESTRY = "PopA (synthetic example)"
#: Below this Mahalanobis tail probability the demo names the people far from their assigned
#: population's cloud (reported; the default support rule does not decline them).
FAR_FROM_POPULATION = 1e-3
#: Everybody's current age in the demo.
DEMO_AGE = 45.0


@dataclass(frozen=True)
class DemoAncestry:
    """The ancestry step of the demo: the reference panel built from the embedded one, the
    cohort's projection onto it and each person's most similar population."""

    panel: Any  # prs.ancestry.ReferencePanel
    projection: Any  # prs.ancestry.Projection
    similarity: Any  # prs.ancestry.PopulationSimilarity

    def to_frame(self) -> Any:
        """One row per person: PCs, ``MostSimilarPop``, ``RF_P_<pop>``, distances, support,
        and the reference used (pgsc_calc's column names where it has them)."""
        pcs = self.projection.to_frame().rename(columns={"IID": "sample_id"})
        frame = pcs.merge(self.similarity.to_frame(), on="sample_id", how="left", validate="1:1")
        frame["reference"] = self.panel.name
        frame["projection_method"] = self.projection.method
        return frame


def example_ancestry(paths: ExamplePaths | None = None) -> DemoAncestry:
    """Project the example cohort onto a reference panel built from the embedded one and
    name each person's most similar population (the demo's ancestry step).

    The panel is built as :func:`prs.ancestry.build_reference` builds any (variants shared
    with the cohort, pgsc_calc's defaults: 10 PCs), the cohort projected with OADP
    (:func:`prs.ancestry.project`) and compared with a random forest on 5 PCs
    (:func:`prs.ancestry.most_similar_population`, seeded as pgsc_calc).

    Examples
    --------
    >>> anc = example_ancestry()
    >>> anc.similarity.populations
    ('PopA', 'PopB', 'PopC')
    """
    from prs.ancestry import build_reference, most_similar_population, project
    from prs.genotypes import open_genotypes

    paths = paths or example_paths()
    cohort = open_genotypes(paths.vcf)
    panel = build_reference(
        paths.reference_vcf,
        paths.reference_labels,
        target=cohort,
        name="prs example reference panel (synthetic)",
    )
    projection = project(panel, cohort)
    reference_pcs = panel.pcs_frame()
    similarity = most_similar_population(reference_pcs, reference_pcs, projection.to_frame())
    return DemoAncestry(panel=panel, projection=projection, similarity=similarity)


def run_demo(out: str | os.PathLike[str]) -> dict[str, Path]:
    """The whole path on the embedded example, every output written into ``out``.

    Scores the cohort (200 people); projects them onto the embedded synthetic reference
    panel and names each one's most similar population (:func:`example_ancestry`); scores
    the reference panel's women and builds one reference distribution per population; then
    categorises the cohort's women as a breast cancer score would be
    (:func:`prs.calibrate.categorise` with ``population=``: percentile and z in the reference
    of her most similar population, relative risk at OR 1.61 per SD (PGS000004's, with its
    95 % interval), 5-year, 10-year and to-80 absolute risks at age 45 from the shipped US
    SEER rates, the NICE CG164 category and its pathway action). Prints what each step did
    and writes ``scores.tsv``, ``match_report.tsv``, ``match_summary.tsv``,
    ``provenance.json``, ``ancestry.tsv``, ``reference_pcs.tsv``, ``reference_scores.tsv``,
    ``categories.tsv`` and ``categories.inputs.json``. The example is synthetic,
    so the categories illustrate the mechanics, not anyone's risk.
    """
    import pandas as pd

    from prs.calibrate import build_references, categorise
    from prs.calibrate.categorisation import PGS000004_OR, PGS000004_OR_CI
    from prs.output import write_json, write_table
    from prs.report import write_score_outputs
    from prs.scoring import score

    out = Path(out)
    paths = example_paths()
    sexes = pd.read_csv(paths.sexes, sep="\t")
    women = sexes.loc[sexes["sex"] == "female", "sample_id"].tolist()
    print(
        f"prs demo: the embedded synthetic example (not real data): a cohort of "
        f"{len(sexes)} people ({len(women)} women, {len(sexes) - len(women)} men; a GRCh38 "
        f"VCF) scored with {EXAMPLE_SCORE_ID}, a 300-row breast-cancer-style scoring file.\n"
    )
    result, notes = _collect_warnings(score, paths.vcf, paths.scorefile)
    written = write_score_outputs(result, out)
    _print_match(result, notes, len(women))

    ancestry = example_ancestry(paths)
    written["ancestry"] = write_table(ancestry.to_frame(), out / "ancestry.tsv")
    written["reference_pcs"] = write_table(ancestry.panel.pcs_frame(), out / "reference_pcs.tsv")
    _print_ancestry(ancestry)

    reference_result, _ = _collect_warnings(score, paths.reference_vcf, paths.scorefile)
    written["reference_scores"] = write_table(
        reference_result.to_frame(), out / "reference_scores.tsv"
    )
    labels = ancestry.panel.pcs_frame().set_index("IID")["SuperPop"]
    scores = result.to_frame()

    def calibrate() -> Any:
        # (categorise checks each reference's size and shape itself, once)
        references = build_references(written["reference_scores"], labels, check=False)
        return categorise(
            scores[scores["sample_id"].isin(set(women))],
            reference=references,
            population=ancestry.similarity,
            or_per_sd=PGS000004_OR,
            or_per_sd_ci=PGS000004_OR_CI,
            age=DEMO_AGE,
            scheme="nice-cg164-lifetime",
            sex="female",
            scorefile=paths.scorefile,
            match_report=result.match_report.to_frame(),
            development_ancestry=DEMO_DEVELOPMENT_ANCESTRY,
        )

    result_categories, notes = _collect_warnings(calibrate)
    categories = result_categories.to_frame()
    written["categories"] = write_table(categories, out / "categories.tsv")
    # (named as prs categorise names it: <table>.inputs.json)
    written["categories_inputs"] = write_json(
        dict(result_categories.inputs), out / "categories.inputs.json"
    )
    _print_categories(categories, notes, len(sexes) - len(women), len(reference_result.samples))
    _print_outputs(written)
    return written


def _collect_warnings(call: Any, *args: Any) -> tuple[Any, list[str]]:
    """``call(*args)`` and the messages of the warnings it issued (printed by the demo with
    what they mean, instead of as bare warnings)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call(*args)
    return value, [str(w.message) for w in caught]


def _print_match(result: Any, notes: list[str], n_women: int) -> None:
    """How many rows matched, why the others did not, and that this is expected here."""
    from prs.match import DEFAULT_MIN_OVERLAP

    score_id = result.score_ids[0]
    row = result.match_report.counts.iloc[0]
    matched, n_rows = int(row["matched"]), int(row["n_rows"])
    print(
        f"1. score: {score_id}: {matched} of {n_rows} scoring rows matched "
        f"({row['match_rate']:.1%}); {len(result.samples)} people scored ({n_women} women, "
        f"{len(result.samples) - n_women} men) -> scores.tsv"
    )
    overlap = f"{score_id}: {matched}/{n_rows} rows matched"
    for note in notes:
        if note == overlap:
            print(
                f'   prs warned "{note}": it warns whenever rows go unmatched. Here this is '
                "expected: the example's scoring file holds such rows on purpose, to show the "
                "fates prs reports:"
            )
            for outcome, words in _OUTCOME_WORDS.items():
                if int(row[outcome]):
                    print(f"   {int(row[outcome]):>5} {outcome}: {words}")
            print(
                f"   A score is refused only when fewer than {DEFAULT_MIN_OVERLAP:.0%} of its "
                "rows match (--min-overlap, as the PGS Catalog Calculator); every row's fate "
                "is in match_report.tsv."
            )
        else:
            print(f"   note: {note}")


def _print_ancestry(ancestry: DemoAncestry) -> None:
    """The reference panel, the projection and the populations found."""
    panel, projection, similarity = ancestry.panel, ancestry.projection, ancestry.similarity
    sizes = _counts(panel.superpop)
    found = _counts(similarity.most_similar)
    declined = int((~similarity.supported).sum())
    print(
        f"\n2. ancestry: a reference panel built from the embedded one ({len(panel.samples)} "
        f"women: {sizes}): a PCA of {panel.n_variants:,} variants shared with the cohort "
        f"(biallelic SNPs, MAF >= 0.05, no strand-ambiguous or long-range high-LD ones, "
        f"LD-pruned; {panel.n_pcs} PCs). The {len(projection.samples)} people were projected onto "
        f"it ({projection.method.upper()}, as FRAPOSA in pgsc_calc; {projection.n_matched:,} of "
        f"{projection.n_variants:,} PCA variants found) and compared with its populations "
        f"(random forest on {len(similarity.info['pcs'])} PCs, seeded, as pgsc_calc):"
    )
    print(
        f"   most similar population: {found}; low confidence (RF probability < 0.5): "
        f"{int(similarity.low_confidence.sum())}; outside the reference's support "
        f"({similarity.info['support']}): {declined} (they would get no percentile)"
    )
    far = similarity.sample_ids[similarity.mahalanobis_p < FAR_FROM_POPULATION]
    if far.size:
        print(
            f"   far from the population they were given (Mahalanobis_P < "
            f"{FAR_FROM_POPULATION:g}): {far.size} ({', '.join(map(str, far))}). A forest always "
            "names a population; these people lie between clouds (the example made "
            f"{', '.join(ADMIXED)} with parents of two populations): read their RF_P_<population> "
            "and Mahalanobis_P before their percentile (SupportRule(min_mahalanobis_p="
            f"{FAR_FROM_POPULATION:g}) would decline them)"
        )
    print(
        "   -> ancestry.tsv (each person's PCs, MostSimilarPop, RF_P_<population>, "
        "Mahalanobis and nearest-neighbour distances, the reference used)"
    )


def _counts(values: Any) -> str:
    """``"A 3, B 2"``: each distinct value and how often, in sorted order."""
    names, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
    return ", ".join(f"{n} {c}" for n, c in zip(names, counts, strict=True))


def _print_categories(categories: Any, notes: list[str], n_men: int, n_reference: int) -> None:
    """The calibration: who, against what, the notes, the categories and the least certain."""
    print(
        f"\n3. calibrate and categorise: the {len(categories)} women only ({EXAMPLE_SCORE_ID} "
        f"is a breast cancer score and NICE CG164 a scheme for women; the {n_men} men are "
        f"scored but not categorised). The reference panel's {n_reference} women were scored "
        "too, one reference distribution per population; each woman's percentile and z are "
        "placed in the reference of her most similar population, then relative risk at OR "
        "1.61 per SD (PGS000004's; here pretended to come from PopA) and absolute risks from "
        f"age {DEMO_AGE:.0f} (US SEER incidence and competing mortality)."
    )
    for note in notes:
        print(f"   note: {note}")
    if any("fewer than" in note or "outside the reference range" in note for note in notes):
        print(
            "   (expected here: the embedded panel is kept small to ship with prs; a real "
            "reference has hundreds of people per population, e.g. 1000 Genomes or HGDP)"
        )
    print(
        "   categories (NICE CG164 by lifetime risk from age 20 to 80): "
        + ", ".join(f"{k} {v}" for k, v in categories["category"].value_counts().items())
        + " -> categories.tsv"
    )
    print(
        "   by population: "
        + "; ".join(
            f"{pop}: " + ", ".join(f"{k} {v}" for k, v in group.value_counts().items())
            for pop, group in categories.groupby("population")["category"]
        )
    )
    _print_probabilities(categories)
    print(
        "   units in categories.tsv: risk_5y, risk_10y and risk_to_80 are fractions (0-1) of "
        f"the risk from her current age ({DEMO_AGE:.0f}); scheme_measure is the scheme's own "
        "measure in percent (NICE CG164: lifetime risk from age 20 to 80), a different "
        "quantity, which is why it exceeds 100 x risk_to_80."
    )
    print("   statements (on every row of categories.tsv):")
    for key in [c for c in categories.columns if c.startswith("statement_")]:
        print(f"     {key}: {categories[key].iloc[0]}")


def _print_probabilities(categories: Any) -> None:
    """The category probabilities of the people nearest a threshold, and how many are."""
    prob_cols = [c for c in categories.columns if c.startswith("p_")]
    if not prob_cols:
        return
    flagged = int((categories["near_threshold"] == True).sum())  # noqa: E712
    print(
        f"   category probabilities (95 % intervals from the OR's CI 1.57-1.65, the "
        f"reference's n, coverage and missing calls): {flagged} of {len(categories)} near a "
        "threshold (most likely category below 0.8); the five least certain, risks in "
        "percent:"
    )
    top = categories[prob_cols].max(axis=1)
    shown = categories.loc[top.sort_values().index[:5]]
    table = shown[["sample_id", "population", "population_probability"]].rename(
        columns={"population": "MostSimilarPop", "population_probability": "RF_p"}
    )
    table[f"risk {DEMO_AGE:.0f}-80 %"] = [f"{100 * r:.1f}" for r in shown["risk_to_80"]]
    table["lifetime 20-80 % (95 % interval)"] = [
        f"{m:.1f} ({lo:.1f}-{hi:.1f})"
        for m, lo, hi in shown[["scheme_measure", "scheme_measure_lo", "scheme_measure_hi"]]
        .to_numpy()
        .tolist()
    ]
    for column in ["category", *prob_cols, "near_threshold"]:
        table[column] = shown[column]
    print("\n".join("   " + line for line in table.round(3).to_string(index=False).splitlines()))


#: What each file of the demo holds.
_OUTPUT_WORDS = {
    "scores": "each person's score (SUM, AVG, variants used, missing calls)",
    "match_report": "every scoring row's fate",
    "match_summary": "the fates counted per score",
    "provenance": "inputs with checksums, options, versions, warnings",
    "ancestry": "each person's PCs, most similar population and distances",
    "reference_pcs": "the reference panel's people: population labels and PCs",
    "reference_scores": "the reference panel's scores (its per-population distributions)",
    "categories": "the women's percentiles, risks, categories, pathway actions, population "
    "columns and statements",
    "categories_inputs": "every input the categorisation used (scheme, OR, rates, references)",
}


def _print_outputs(written: dict[str, Path]) -> None:
    """What the demo wrote, and what to run next."""
    folder = next(iter(written.values())).parent
    print(f"\nwrote {folder}/:")
    width = max(len(path.name) for path in written.values())
    for key, path in written.items():
        print(f"   {path.name:<{width}}  {_OUTPUT_WORDS.get(key, '')}")
    print("next:")
    for line in _next_steps(folder):
        print(f"   {line}")


def _next_steps(folder: Path) -> list[str]:
    """Commands a newcomer runs after the demo."""
    return [
        f"read it as one page: prs report {folder} (writes {folder / 'report.html'}: match "
        "summary, score distributions, ancestry PCA, categories; open it in a browser)",
        "your own data: prs score --vcf YOUR.vcf.gz --scorefile PGS000004 --out results "
        "(fetches the PGS Catalog's harmonized file; prs score --help)",
        "a reference panel of your own: prs reference build --help; then prs categorise "
        "--help (--target-pcs, --reference-pcs, --population-labels)",
        "in Python: notebooks/score_example.ipynb and notebooks/calibration_walkthrough.ipynb",
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m prs.example [--out DIR]``: regenerate the example files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=example_dir())
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    paths = generate_example(args.out, seed=args.seed)
    print("wrote " + ", ".join(str(p) for p in dataclasses.astuple(paths)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
