"""Scoring: match every scoring file to the genotypes, then stream dosage chunks through the
accumulate kernels for all scores in one pass.

Memory grows with samples x scores (the running totals) plus one chunk of
``chunk_size`` x samples dosages, never with the number of variants.

:func:`score` reads as its steps: check the options, open the genotypes, load the scoring
files, match them (:mod:`prs.match`), accumulate the dosage chunks (the plan cut into
tasks, :mod:`prs.scoring.tasks`, run here or on a Dask cluster,
:mod:`prs.scoring.distributed`, and added in task order), then gather the result and its
provenance (:mod:`prs.provenance`).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from prs.errors import ScoreError, ScoreWarning
from prs.genome import MT, X_NONPAR, Y, canonical_build
from prs.genotypes import GenotypeSource, VcfSource, open_genotypes
from prs.genotypes.base import (
    records_read_from_gt,
    source_build,
    source_haploid,
    source_notes,
    source_sexes,
)
from prs.kernels.accumulate import IMPUTE_COHORT_MEAN, IMPUTE_GIVEN_FREQUENCY, IMPUTE_NONE
from prs.match import (
    DEFAULT_MIN_OVERLAP,
    MatchPlan,
    MatchReport,
    allele_count_mask,
    check_builds,
    combine_plans,
    combine_reports,
    match_variants,
    wanted_positions,
)
from prs.memory import release_memory
from prs.ploidy import (
    SEX_MALE,
    SPECIAL_CLASSES,
    XCHR_MODELS,
    SexInput,
    record_classes,
    sex_codes,
)
from prs.provenance import BackgroundChecksums, file_record, record
from prs.scoring.recorded_warnings import recorded_warnings
from prs.scoring.result import ScoreResult
from prs.scoring.tasks import (
    TASK_CHUNKS,
    Arithmetic,
    Combiner,
    Partial,
    ScoreTask,
    SourceSpec,
    TaskRows,
    forget_sources,
    make_tasks,
    regions,
    run_task,
    sample_blocks,
    with_frequencies,
)
from prs.vocab import ADDITIVE, DOMINANT, HAPLOID_POLICIES
from prs.weights.load import load_scorefiles
from prs.weights.scorefile import ScoringFile

#: The kernel code of each missing-genotype word (``missing=``, :data:`prs.vocab.MISSING_POLICIES`).
MISSING_POLICIES = {
    "mean-impute": IMPUTE_COHORT_MEAN,
    "scorefile-freq": IMPUTE_GIVEN_FREQUENCY,
    "none": IMPUTE_NONE,
}


@dataclass(frozen=True)
class ScoreOptions:
    """The options of one :func:`score` run (see its parameters), checked when built."""

    dosage: str = "GT"
    samples: tuple[str, ...] | None = None
    missing: str = "mean-impute"
    keep_ambiguous: bool = False
    min_overlap: float = DEFAULT_MIN_OVERLAP
    drop_unscorable: bool = False
    use_harmonized: bool | None = None
    genome_build: str | None = None
    half_call: str = "error"
    haploid: str = "as-diploid"
    chunk_size: int = 1024
    engine: str = "auto"
    genotype_format: str | None = None
    task_variants: int | None = None
    sample_block: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.missing not in MISSING_POLICIES:
            raise ScoreError(
                f"missing must be one of {sorted(MISSING_POLICIES)}, not {self.missing!r}"
            )
        if self.haploid not in HAPLOID_POLICIES:
            raise ScoreError(
                f"haploid must be one of {sorted(HAPLOID_POLICIES)}, not {self.haploid!r}"
            )
        if not 0.0 <= self.min_overlap <= 1.0:
            raise ScoreError(f"min_overlap must be within [0, 1], not {self.min_overlap}")
        if self.chunk_size < 1:
            raise ScoreError(f"chunk_size must be >= 1, not {self.chunk_size}")
        for name in ("task_variants", "sample_block", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ScoreError(f"{name} must be >= 1 (or None), not {value}")


@dataclass(frozen=True)
class _Matched:
    """What matching hands to the accumulation: the combined plan and report, each plan row's
    chromosome class, and how many target sites lay at scoring positions."""

    plan: MatchPlan
    report: MatchReport
    row_class: np.ndarray
    n_sites: int
    #: Chromosome -> sorted positions of the plan rows (what a task's source lists).
    row_positions: dict[str, np.ndarray]


def score(
    genotypes: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | GenotypeSource,
    scorefiles: str
    | os.PathLike[str]
    | ScoringFile
    | Sequence[str | os.PathLike[str] | ScoringFile],
    *,
    dosage: str = "GT",
    samples: Sequence[str] | None = None,
    missing: str = "mean-impute",
    keep_ambiguous: bool = False,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    drop_unscorable: bool = False,
    use_harmonized: bool | None = None,
    genome_build: str | None = None,
    half_call: str = "error",
    haploid: str = "as-diploid",
    sex: SexInput | None = None,
    chunk_size: int = 1024,
    engine: str = "auto",
    genotype_format: str | None = None,
    catalog_options: dict[str, Any] | None = None,
    task_variants: int | None = None,
    sample_block: int | None = None,
    threads: int | None = None,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScoreResult:
    """Score genotypes with one or more scoring files, as PLINK 2 ``--score`` does.

    Parameters
    ----------
    genotypes
        A genotype file (VCF/BCF, PLINK ``.pgen``/``.bed`` or its prefix, BGEN, VCF Zarr),
        several of one format (e.g. one per chromosome), or an open
        :class:`~prs.genotypes.GenotypeSource`.
    scorefiles
        Scoring files: paths, PGS IDs (``"PGS000004"``, fetched and cached, see
        :mod:`prs.catalog`), or :class:`~prs.weights.ScoringFile` objects. All scores are
        computed in one pass over the genotypes.
    dosage
        ``"GT"`` (default), ``"DS"`` or ``"GP"`` (see :class:`prs.genotypes.VcfSource`).
    samples
        Score only these samples, in this order.
    missing
        ``"mean-impute"`` (default, PLINK 2's: a missing call counts the expected dosage at
        the effect-allele frequency among this cohort's observed calls),
        ``"scorefile-freq"`` (at the scoring file's ``allelefrequency_effect``; rows
        without one fall back to the cohort frequency) or ``"none"`` (adds nothing,
        PLINK 2's ``no-mean-imputation``).
    keep_ambiguous
        Keep strand-ambiguous A/T and C/G SNPs (default False, as the PGS Catalog
        Calculator).
    min_overlap
        Minimum match rate per score (default 0.75, as the PGS Catalog Calculator).
    drop_unscorable
        Drop and count rows prs cannot score instead of failing (see
        :func:`prs.weights.read_scorefile`).
    use_harmonized
        Read harmonized ``hm_chr``/``hm_pos`` positions (default: when present).
    genome_build
        The genotypes' build (``"GRCh37"``/``"GRCh38"``). Default: detected from the VCF
        header's ``##contig`` lengths or ``##reference``. A scoring file in another build
        is an error. A known build also places chrX's pseudo-autosomal regions (scored as
        autosomal, as PLINK 2 after ``--split-par``).
    half_call
        Policy for ``0/.`` calls (see :class:`prs.genotypes.VcfSource`); default
        ``"error"``, as PLINK 2.
    haploid
        How a male's call on chrX outside the PARs counts: ``"as-diploid"`` (default,
        PLINK 2's default ``--xchr-model 2``: 0..2 copies on two alleles, a haploid ``1``
        is two copies) or ``"haploid"`` (PLINK 2 ``--xchr-model 1``: 0..1 copies on one
        allele). It needs ``sex``: people of unknown sex are scored as PLINK 2 scores them,
        diploid on chrX. Every other chromosome follows PLINK 2 whatever this says: a
        haploid call counts two copies on autosomes and the PARs, chrY and MT count one
        allele per call (a heterozygous call 0.5), chrY only in males. The full table, as
        measured against plink2, is in :mod:`prs.ploidy`.
    sex
        Each sample's sex: a ``.psam``, a ``.fam``, or a table with a header naming sample
        and sex columns (``1``/``M``/``male``, ``2``/``F``/``female``, ``0``/``NA``:
        unknown), or a mapping sample -> sex. Samples not given are of unknown sex. Used on
        chrX (males' imputation frequency; ``haploid``) and chrY (only males count). Default
        None: the sexes the genotype files give (a PLINK fileset's ``.psam``/``.fam``, as
        PLINK 2 with ``--pfile``/``--bfile``); for a VCF, everybody is of unknown sex, as
        PLINK 2 reading a VCF without ``--psam`` or ``--update-sex``: chrY variants then add
        nothing to any score (a warning says so).
    chunk_size
        Variants per dosage chunk (memory: chunk_size x samples x 9 bytes).
    engine
        VCF reader: ``"auto"`` (default: the fast Numba parser for bgzipped text VCFs, cyvcf2
        otherwise), ``"fast"`` or ``"checked"``; same scores and errors either way.
    genotype_format
        The genotypes' format (:data:`prs.vocab.GENOTYPE_FORMATS`); default: told from the
        file names (:func:`prs.genotypes.open_genotypes`).
    catalog_options
        Options for fetching PGS IDs (``cache_dir``, ``offline``, ``mirror``).
    task_variants
        Plan rows per task (:mod:`prs.scoring.tasks`: the work is cut into regions of
        ``task_variants`` rows, times sample blocks). Default: ``64 x chunk_size``; for
        the checked VCF engine (cyvcf2, which reads a file from its start for every task)
        one region.
    sample_block
        Samples per block (default None: all in one). Memory per chunk is
        ``chunk_size x sample_block``. With several blocks and imputation, a first pass
        finds each variant's frequency over all samples (PLINK 2's); a VCF is read whole
        for every block.
    threads
        Threads of each task's totals (:class:`~prs.scoring.ScoreTotals`), part of the
        summation order, so the same on every worker. Default: up to 2, one per CPU of
        this process.
    client
        A ``distributed.Client``: run the tasks on its cluster (``pip install
        'prs[dask]'``); the result is identical bit for bit to the run without one.
        Needs genotype paths (workers open the files), not an open source.
    progress
        Called with (tasks done, tasks in all) after every task.

    Returns
    -------
    ScoreResult
        Its ``provenance["warnings"]`` lists every prs warning issued on the way
        (``{"category", "message"}``, from every stage: scoring files, genotype engines,
        matching, scoring), recorded even where the caller's filters ignore them; and
        ``provenance["genotype_notes"]`` what the genotype source did another way (e.g.
        an index not used). The warnings reach the caller once the run is done, at the
        caller's line; one the caller's filters make an error
        (``warnings.simplefilter("error")``, ``--strict``) stops the run at once.

    Raises
    ------
    ScoringFileError, GenotypeFileError, MatchError, CatalogError, ScoreError
        Each names the file and the line or variant at fault. :class:`ScoreError` also
        when a SUM is not a finite number (weights x dosages beyond the float64 range),
        naming the score and the first sample; when a dominant or recessive row lies on
        chrX, chrY or MT (PLINK 2 refuses these); and for a sex file that names none of the
        genotypes' samples.

    Warns
    -----
    ScoreWarning
        Scoring rows that fit several target records (duplicate VCF records: the first is
        used), variants missing in every sample, chrY variants scored without any male,
        a sex input missing some samples.

    Examples
    --------
    >>> import prs
    >>> from prs.example import example_paths
    >>> paths = example_paths()
    >>> result = prs.score(paths.vcf, paths.scorefile)
    >>> result.sums.shape
    (200, 1)
    """
    options = ScoreOptions(
        dosage=dosage,
        samples=None if samples is None else tuple(samples),
        missing=missing,
        keep_ambiguous=keep_ambiguous,
        min_overlap=min_overlap,
        drop_unscorable=drop_unscorable,
        use_harmonized=use_harmonized,
        genome_build=genome_build,
        half_call=half_call,
        haploid=haploid,
        chunk_size=chunk_size,
        engine=engine,
        genotype_format=genotype_format,
        task_variants=task_variants,
        sample_block=sample_block,
        threads=threads,
    )
    with recorded_warnings() as prs_warnings:
        started = time.time()
        source = _open_source(genotypes, options)
        sample_sex, sex_summary = _sexes(source, sex)
        # checksums for the provenance, computed in a thread while the genotypes are read
        genotype_sums = BackgroundChecksums(source.paths)
        detected_build = source_build(source)
        # an alias ("hg38", "37") is the build it names, for matching and for the PARs
        target_build = canonical_build(genome_build) or genome_build or detected_build
        scoring = load_scorefiles(
            scorefiles,
            drop_unscorable=drop_unscorable,
            use_harmonized=use_harmonized,
            build=target_build,
            catalog_options=catalog_options,
        )
        check_builds(scoring, target_build, stated=bool(genome_build), stacklevel=2)
        matched = _match(source, scoring, options, target_build)
        totals, all_missing, execution = _accumulate(
            source, matched, sample_sex, options, client, progress, source is not genotypes
        )
        result = _result(source, scoring, matched, totals)
        result.provenance.update(
            record(
                {
                    **asdict(options),
                    "samples": None if samples is None else len(samples),
                    "sex": (sex_summary or {}).get("source"),
                    "engine": type(source).__name__,
                },
                genome_build={
                    "stated": genome_build,
                    "detected": detected_build,
                    "used": target_build,
                },
                sex=sex_summary,
                genotypes=genotype_sums.records(),
                # what the genotype source reported doing another way (e.g. an index not used)
                genotype_notes=source_notes(source),
                scorefiles=[_scorefile_record(sf) for sf in scoring],
                counts=_counts(source, matched, result, all_missing),
                execution=execution,
                seconds=round(time.time() - started, 3),
            )
        )
    result.provenance["warnings"] = prs_warnings
    return result


def _open_source(
    genotypes: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | GenotypeSource,
    options: ScoreOptions,
) -> GenotypeSource:
    """The genotype source: opened here from paths, or the caller's own."""
    if isinstance(genotypes, (str, os.PathLike)) or (
        isinstance(genotypes, Sequence) and not isinstance(genotypes, str)
    ):
        # The engines report haploid calls as PLINK 2 stores them (two copies, ploidy 2);
        # the chromosome-class model (prs.ploidy) takes it from there.
        return open_genotypes(
            genotypes,
            format=options.genotype_format,
            samples=options.samples,
            dosage=options.dosage,
            half_call=options.half_call,
            haploid="as-diploid",
            engine=options.engine,
        )
    return genotypes


def _sexes(source: GenotypeSource, sex: SexInput | None) -> tuple[np.ndarray, dict | None]:
    """Each sample's sex code and the summary of the sex input (warns about samples it
    does not name). Without ``sex``, the sexes the genotype files give (a PLINK fileset's
    ``.psam``/``.fam``), as PLINK 2 reads them with ``--pfile``/``--bfile``."""
    own = source_sexes(source) if sex is None else None
    if own is not None:
        sample_sex, sex_summary = sex_codes(tuple(source.samples), own[0])
        assert sex_summary is not None
        sex_summary["source"] = own[1]
        return sample_sex, sex_summary
    sample_sex, sex_summary = sex_codes(tuple(source.samples), sex)
    if sex_summary is not None and sex_summary["samples_not_in_sex_input"]:
        warnings.warn(
            f"{sex_summary['source']}: gives no sex for {sex_summary['samples_not_in_sex_input']}"
            f" of {len(source.samples)} samples; they are of unknown sex (chrY not counted, "
            "chrX diploid, as PLINK 2)",
            ScoreWarning,
            stacklevel=3,
        )
    return sample_sex, sex_summary


def _match(
    source: GenotypeSource,
    scoring: list[ScoringFile],
    options: ScoreOptions,
    target_build: str | None,
) -> _Matched:
    """Read the target's sites at the scoring positions and match every scoring file."""
    release_memory()
    sites = source.sites(wanted_positions(scoring))
    release_memory()
    plans: list[MatchPlan] = []
    reports: list[MatchReport] = []
    for sf in scoring:
        plan, report = match_variants(
            sf,
            sites,
            keep_ambiguous=options.keep_ambiguous,
            min_overlap=options.min_overlap,
            scoring_build=sf.genome_build,
            target_build=target_build,
        )
        _refuse_haploid_dominance(sf, plan, sites, target_build)
        plans.append(plan)
        reports.append(report)
    plan = combine_plans(plans)
    at = _site_rows(sites, plan.record)
    row_chrom = sites["chrom"].iloc[at].to_numpy(dtype=object)
    row_pos = sites["pos"].to_numpy(dtype=np.int64)[at]
    matched = _Matched(
        plan=plan,
        report=combine_reports(reports),
        row_class=(
            record_classes(row_chrom, row_pos, target_build)
            if len(plan)
            else np.zeros(0, dtype=np.int8)
        ),
        n_sites=len(sites),
        row_positions={str(c): np.unique(row_pos[row_chrom == c]) for c in pd.unique(row_chrom)},
    )
    del sites  # the site table is not needed past matching
    release_memory()
    return matched


def _accumulate(
    source: GenotypeSource,
    matched: _Matched,
    sample_sex: np.ndarray,
    options: ScoreOptions,
    client: Any,
    progress: Callable[[int, int], None] | None,
    from_paths: bool,
) -> tuple[dict[str, np.ndarray], int, dict[str, Any]]:
    """Cut the plan into tasks (:mod:`prs.scoring.tasks`), run them here or on ``client``'s
    cluster, and add their totals in task order; returns the totals, the number of variants
    missing in every sample, and how the run was executed (for the provenance)."""
    plan, row_class = matched.plan, matched.row_class
    n, s = len(source.samples), len(plan.score_ids)
    n_males = int((sample_sex == SEX_MALE).sum())
    _warn_sex_dependent_rows(row_class, n, n_males, options.haploid)
    impute = MISSING_POLICIES[options.missing]
    task_variants = options.task_variants or _default_task_variants(source, options)
    blocks = sample_blocks(n, options.sample_block)
    arithmetic = Arithmetic(
        impute=impute,
        threads=options.threads or min(2, os.cpu_count() or 1),
        chunk_size=options.chunk_size,
        xchr_model=XCHR_MODELS[options.haploid],
        # A source opened by the caller may report haploid calls as read (ploidy 1).
        raw_haploid=source_haploid(source) != "as-diploid",
    )
    rows = TaskRows(
        0,
        len(plan),
        plan.record,
        plan.allele,
        plan.weights,
        allele_count_mask(plan),
        plan.effect_type,
        plan.allele_frequency,
        row_class,
        # Rows the ploidy model changes: chrY and MT always, chrX only when someone is male.
        np.isin(row_class, SPECIAL_CLASSES if n_males else (Y, MT)),
    )
    row_regions = regions(len(plan), task_variants)
    two_pass = len(blocks) > 1 and impute != IMPUTE_NONE

    def tasks_of(kind: str) -> list[ScoreTask]:
        return make_tasks(
            kind,
            row_regions,
            blocks,
            rows,
            tuple(source.samples),
            sample_sex,
            arithmetic,
            count_rows=len(blocks) > 1 and not two_pass,
        )

    spec = _source_spec(source, matched, options, client, len(blocks), from_paths)
    run = _task_runner(source, spec, client, progress)
    counted = None
    tasks = tasks_of("totals")
    if two_pass:
        # Each variant's imputation frequency over all blocks first (PLINK 2's cohort mean).
        first = tasks_of("frequencies")
        counted = run(first, Combiner(first, blocks, s, len(plan)))
        tasks = with_frequencies(tasks, counted.frequencies(plan.allele_frequency, impute))
    combined = run(tasks, Combiner(tasks, blocks, s, len(plan)))
    if spec is not None and client is None:
        forget_sources(spec.token)
    if len(blocks) == 1:
        all_missing = combined.all_missing
    else:
        all_missing = (counted or combined).rows_missing_everywhere()
    # Warnings only a task met (those of opening the genotypes were issued already).
    noted = set(source_notes(source))
    for category, message in [*(counted.warnings if counted else []), *combined.warnings]:
        if message not in noted:
            noted.add(message)
            warnings.warn(message, category, stacklevel=3)
    if all_missing:
        warnings.warn(
            f"{all_missing} matched variant(s) are missing in every sample; "
            + (
                "they were imputed at frequency 0.5, as PLINK 2 does"
                if options.missing != "none"
                else "they add nothing to any score"
            ),
            ScoreWarning,
            stacklevel=3,
        )
    execution = {
        "engine": "single-process" if client is None else "dask",
        "workers": None if client is None else _worker_count(client),
        "tasks": len(tasks) * (2 if two_pass else 1),
        "regions": len(row_regions),
        "sample_blocks": len(blocks),
        "task_variants": task_variants,
        "sample_block": options.sample_block,
        "threads_per_task": arithmetic.threads,
        "frequency_pass": two_pass,
    }
    return combined.totals, all_missing, execution


def _default_task_variants(source: GenotypeSource, options: ScoreOptions) -> int | None:
    """Rows per task: :data:`~prs.scoring.tasks.TASK_CHUNKS` chunks; the checked VCF engine
    reads a file from its start for every task, so there None: one region."""
    if isinstance(source, VcfSource):
        return None
    return TASK_CHUNKS * options.chunk_size


def _source_spec(
    source: GenotypeSource,
    matched: _Matched,
    options: ScoreOptions,
    client: Any,
    n_blocks: int,
    from_paths: bool,
) -> SourceSpec | None:
    """How tasks open the genotypes themselves (on workers, or per sample block); None when
    the run's own source serves (one block, no cluster)."""
    if client is None and n_blocks == 1:
        return None
    if not from_paths:
        raise ScoreError(
            f"{'client=' if client is not None else 'sample_block='} needs genotype paths "
            "(each task opens the files itself), not an open GenotypeSource"
        )
    return SourceSpec.of(
        source.paths,
        genotype_format=options.genotype_format,
        dosage=options.dosage,
        half_call=options.half_call,
        engine=options.engine,
        samples=options.samples,
        wanted=matched.row_positions,
    )


def _task_runner(
    source: GenotypeSource,
    spec: SourceSpec | None,
    client: Any,
    progress: Callable[[int, int], None] | None,
) -> Callable[[list[ScoreTask], Combiner], Combiner]:
    """A function running tasks into a combiner: here one after the other (the run's own
    source for the one block), or on ``client``'s cluster (:mod:`prs.scoring.distributed`)."""
    if client is not None:
        from prs.scoring.distributed import run_tasks

        def on_cluster(tasks: list[ScoreTask], combiner: Combiner) -> Combiner:
            assert spec is not None
            return run_tasks(client, tasks, spec, combiner, progress)

        return on_cluster

    def here(tasks: list[ScoreTask], combiner: Combiner) -> Combiner:
        for task in tasks:
            partial: Partial = run_task(task, spec, source if task.samples is None else None)
            combiner.add(partial)
            if progress is not None:
                progress(combiner.done, len(tasks))
        return combiner

    return here


def _worker_count(client: Any) -> int:
    """Workers of ``client``'s cluster when the run started."""
    return len(client.scheduler_info().get("workers", {}))


def _warn_sex_dependent_rows(row_class: np.ndarray, n: int, n_males: int, haploid: str) -> None:
    """chrY rows with no male, or a haploid model with no male: they change nothing."""
    y_variants = int((row_class == Y).sum())
    if y_variants and n > 0 and n_males == 0:
        warnings.warn(
            f"{y_variants} matched chrY variant(s) add nothing to any score: no sample is "
            "known to be male (as PLINK 2, chrY counts only in males); give each sample's "
            "sex with sex= (--sex)",
            ScoreWarning,
            stacklevel=4,
        )
    if haploid != "as-diploid" and n > 0 and n_males == 0 and (row_class == X_NONPAR).any():
        warnings.warn(
            f"haploid={haploid!r} changes only males' chrX calls, and no sample is known to "
            "be male: give each sample's sex with sex= (--sex)",
            ScoreWarning,
            stacklevel=4,
        )


def _result(
    source: GenotypeSource,
    scoring: list[ScoringFile],
    matched: _Matched,
    totals: dict[str, np.ndarray],
) -> ScoreResult:
    """The totals as a :class:`ScoreResult` (samples x scores), sums checked finite."""
    plan = matched.plan
    sums = np.ascontiguousarray(totals["sums"].T)
    _check_finite(sums, tuple(source.samples), plan.score_ids)
    return ScoreResult(
        samples=tuple(source.samples),
        score_ids=plan.score_ids,
        sums=sums,
        allele_ct=np.ascontiguousarray(totals["allele_ct"].T),
        denom=np.ascontiguousarray(totals["denom"].T),
        named_dosage=np.ascontiguousarray(totals["named"].T),
        missing_ct=np.ascontiguousarray(totals["missing_ct"].T),
        variants_used=(~np.isnan(plan.weights)).sum(axis=0).astype(np.int64),
        match_report=matched.report,
        provenance={},
        score_info={sid: sf.trait_info for sf in scoring for sid in sf.score_ids},
    )


def _scorefile_record(sf: ScoringFile) -> dict[str, Any]:
    """A scoring file in the provenance: its file record, scores, build and trait."""
    return {
        **file_record(sf.path),
        "scores": list(sf.score_ids),
        "genome_build": sf.genome_build,
        "harmonized": sf.harmonized,
        "rows": sf.n_variants,
        "dropped_unscorable": sf.dropped,
        "warnings": list(sf.warnings),
        **sf.trait_info.as_dict(),
    }


def _counts(
    source: GenotypeSource, matched: _Matched, result: ScoreResult, all_missing: int
) -> dict[str, Any]:
    """The provenance's counts: samples, sites, variants and calls per score, match."""
    plan, row_class = matched.plan, matched.row_class
    return {
        "samples": len(source.samples),
        "sites_at_scoring_positions": matched.n_sites,
        "variants_used": dict(zip(plan.score_ids, result.variants_used.tolist(), strict=True)),
        "missing_calls": dict(
            zip(plan.score_ids, result.missing_ct.sum(axis=0).tolist(), strict=True)
        ),
        "records_without_dosage_field_read_from_GT": records_read_from_gt(source),
        "variants_missing_in_every_sample": all_missing,
        "variants_by_chromosome_class": {
            name: int((row_class == code).sum())
            for name, code in (("X_nonPAR", X_NONPAR), ("Y", Y), ("MT", MT))
        },
        "match": matched.report.counts.reset_index().to_dict(orient="records"),
    }


def _site_rows(sites: pd.DataFrame, records: np.ndarray) -> np.ndarray:
    """The site-table row of each target record in ``records``."""
    site_record = sites["record"].to_numpy(dtype=np.int64)
    order = None
    if len(site_record) > 1 and (np.diff(site_record) < 0).any():
        order = np.argsort(site_record, kind="stable")
        site_record = site_record[order]
    at = np.searchsorted(site_record, records)
    return at if order is None else order[at]


def _site_of_records(sites: pd.DataFrame, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chromosome, position) of each target record in ``records`` (only those rows of the
    site table are turned into Python strings: it may hold millions of rows)."""
    at = _site_rows(sites, records)
    chrom = sites["chrom"].iloc[at].to_numpy(dtype=object)
    return chrom, sites["pos"].to_numpy(dtype=np.int64)[at]


def _refuse_haploid_dominance(
    sf: ScoringFile, plan: MatchPlan, sites: pd.DataFrame, build: str | None
) -> None:
    """Dominant and recessive rows on chrX, chrY or MT: PLINK 2 refuses them ("cannot be
    used with haploid chromosomes"), and so does prs, naming the first."""
    rows = np.flatnonzero(plan.effect_type != ADDITIVE)
    if not len(rows):
        return
    chrom, pos = _site_of_records(sites, plan.record[rows])
    bad = np.isin(record_classes(chrom, pos, build), SPECIAL_CLASSES)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "dominant" if plan.effect_type[rows[i]] == DOMINANT else "recessive"
        raise ScoreError(
            f"{sf.path} line {plan.line[rows[i]]}: a {kind} row on {chrom[i]}:{pos[i]} "
            f"({int(bad.sum())} such row(s)); dominant and recessive effects are defined "
            "on diploid chromosomes only (PLINK 2 refuses them on chrX, chrY and MT): "
            "score these rows as additive or drop them"
        )


def _check_finite(sums: np.ndarray, samples: tuple[str, ...], score_ids: tuple[str, ...]) -> None:
    """A SUM that is not a finite number (weights x dosages beyond float64's range) is an
    error naming the score and the first sample, never an ``inf`` in a results table."""
    bad = ~np.isfinite(sums)
    if not bad.any():
        return
    score_index = int(np.flatnonzero(bad.any(axis=0))[0])
    sample_index = int(np.flatnonzero(bad[:, score_index])[0])
    raise ScoreError(
        f"score {score_ids[score_index]}: SUM of sample {samples[sample_index]!r} is "
        f"{sums[sample_index, score_index]} ({int(bad[:, score_index].sum())} of "
        f"{len(samples)} samples): weights x dosages exceed the float64 range (about "
        "1.8e308); check the scoring file's effect weights"
    )
