"""Scoring: match every scoring file to the genotypes, then stream dosage chunks through the
accumulate kernels for all scores in one pass.

Memory grows with samples x scores (the running totals) plus one chunk of
``chunk_size`` x samples dosages, never with the number of variants; a scoring file of more
than ``stream_rows`` rows is listed, matched and scored in pieces of whole chromosomes, so
matching holds one piece's rows at a time (docs/scale.md).

:func:`score` reads as its steps: check the options, open the genotypes, load the scoring
files, match them (:mod:`prs.match`), accumulate the dosage chunks (the plan cut into
tasks, :mod:`prs.scoring.tasks`, run here or on a Dask cluster,
:mod:`prs.scoring.distributed`, and added in task order), then gather the result and its
provenance (:mod:`prs.provenance`).
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs.errors import GenotypeFileError, MatchError, ScoreError, ScoreWarning
from prs.genome import MT, X_NONPAR, Y, canonical_build
from prs.genotypes import GenotypeSource, VcfSource, open_genotypes
from prs.genotypes.base import (
    files_without_field,
    records_read_from_gt,
    source_build,
    source_haploid,
    source_notes,
    source_sexes,
)
from prs.genotypes.bgzf import inflater
from prs.kernels.accumulate import IMPUTE_COHORT_MEAN, IMPUTE_GIVEN_FREQUENCY, IMPUTE_NONE
from prs.match import (
    DEFAULT_MIN_OVERLAP,
    OUTCOMES,
    MatchPlan,
    MatchReport,
    allele_count_mask,
    check_builds,
    combine_plans,
    concat_pieces,
    empty_report,
    has_r2,
    match_variants,
    no_r2_error,
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
from prs.scoring.totals import arithmetic_record, expect_genotypes
from prs.vocab import ADDITIVE, DOMINANT, HAPLOID_POLICIES
from prs.weights.load import load_scorefiles, scorefile_specs
from prs.weights.scorefile import ScoringFile, arrow_strings

log = logging.getLogger(__name__)

#: The kernel code of each missing-genotype word (``missing=``, :data:`prs.vocab.MISSING_POLICIES`).
MISSING_POLICIES = {
    "mean-impute": IMPUTE_COHORT_MEAN,
    "scorefile-freq": IMPUTE_GIVEN_FREQUENCY,
    "none": IMPUTE_NONE,
}

#: What a score whose match rate is below ``min_overlap`` (or zero) does (``on_unmatched=``):
#: stop the run (``"error"``, the default) or be left out of the result (``"skip"``).
ON_UNMATCHED = ("error", "skip")

#: Scoring rows (over all scoring files) above which a run is cut into *pieces* of whole
#: chromosomes of about this many rows, each listed, matched and scored in turn
#: (``stream_rows=``, docs/scale.md): memory then follows a piece's rows, not the file's.
DEFAULT_STREAM_ROWS = 1_000_000

#: A writer of the match report's rows, handed them piece by piece (``match_report_rows=``).
ReportRowsWriter = Callable[[Iterator[pd.DataFrame]], Any]


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
    on_unmatched: str = "error"
    allow_gt_fallback: bool = False
    min_r2: float | None = None
    stream_rows: int | None = DEFAULT_STREAM_ROWS
    stream: bool | None = None
    #: False, True (UCSC's chain) or the chain file's path or URL (as text).
    liftover: bool | str = False
    liftover_md5: str | None = None
    liftover_sha256: str | None = None
    match_rsids: bool = True

    def __post_init__(self) -> None:
        if self.on_unmatched not in ON_UNMATCHED:
            raise ScoreError(
                f"on_unmatched must be one of {list(ON_UNMATCHED)}, not {self.on_unmatched!r}"
            )
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
        for name in ("task_variants", "sample_block", "threads", "stream_rows"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ScoreError(f"{name} must be >= 1 (or None), not {value}")


@dataclass(frozen=True)
class _Piece:
    """What matching one piece (some chromosomes, or all) hands to the accumulation: the
    combined plan and each scoring file's report of the piece, each plan row's chromosome,
    chromosome class and file, and how many target sites lay at scoring positions."""

    plan: MatchPlan
    #: One per scoring file (None: the file has no row on the piece's chromosomes).
    reports: list[MatchReport | None]
    row_chrom: np.ndarray
    row_class: np.ndarray
    row_file: np.ndarray
    n_sites: int
    row_pos: np.ndarray
    #: The target's chromosomes among the sites listed (to explain a low match rate).
    target_chroms: frozenset[str]
    #: Whether any site listed gives an imputation quality (min_r2 is decided per run).
    has_r2: bool = False

    @property
    def row_positions(self) -> dict[str, np.ndarray]:
        """Chromosome -> sorted positions of the plan rows (what a task's source lists)."""
        return {
            str(c): np.unique(self.row_pos[self.row_chrom == c]) for c in pd.unique(self.row_chrom)
        }


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
    read_progress: Callable[[int, int], None] | None = None,
    on_unmatched: str = "error",
    allow_gt_fallback: bool = False,
    min_r2: float | None = None,
    stream_rows: int | None = DEFAULT_STREAM_ROWS,
    stream: bool | None = None,
    match_report_rows: ReportRowsWriter | None = None,
    liftover: bool | str | os.PathLike[str] = False,
    liftover_md5: str | None = None,
    liftover_sha256: str | None = None,
    match_rsids: bool = True,
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
        'prs-risk[dask]'``); the result is identical bit for bit to the run without one.
        Needs genotype paths (workers open the files), not an open source.
    progress
        Called with (tasks done, tasks known so far) after every task (a run in pieces
        learns each piece's tasks when it reaches the piece).
    read_progress
        Called with (compressed bytes of genotype data read, of all the files) as the fast
        VCF engine's pass over bgzipped VCFs goes, which reads every record before any
        task runs (``prs score``'s first bar); other readers' work is all in the tasks.
    on_unmatched
        A score whose match rate is below ``min_overlap`` (or that matches nothing):
        ``"error"`` (default) stops the run with a :class:`~prs.errors.MatchError`;
        ``"skip"`` leaves it out of the result and goes on with the others: it is listed
        in ``provenance["skipped_scores"]`` (score, scoring file, reason) and its row of the
        match summary (``match_report.counts``, which then has the columns ``skipped`` and
        ``skip_reason``) says why. Every score skipped is an error.
    allow_gt_fallback
        With ``dosage="DS"``/``"GP"``/``"HDS"``, a VCF whose header declares no such FORMAT
        field is an error (default False), since its hard calls would be scored instead;
        True scores its hard calls (GT), recorded per score in
        ``provenance["dosage_fallback"]`` (plan rows of each score read from GT because
        their file lacks the field). Records
        of a file that declares the field but lack it themselves are read from GT as PLINK
        2 reads them, counted in ``provenance["counts"]``.
    min_r2
        Leave out scoring rows whose imputation r2 is below this (see
        :func:`prs.match.match_variants`); default None: no filter.
    stream_rows
        Scoring rows (over all scoring files) per *piece* (default
        :data:`DEFAULT_STREAM_ROWS`): a run with more rows is cut into pieces of whole
        chromosomes of about this many rows, and each piece's sites are listed, matched
        and scored in turn, so memory follows a piece's rows, not the scoring file's
        (docs/scale.md). Pieces, like ``task_variants``, fix where the sums are cut (a
        task never spans two pieces): a run with other pieces agrees to rounding; the
        match rates and ``min_r2``'s need of an imputation quality are decided over all
        pieces, as for one. None: one piece.
    stream
        True: list and match piece by piece (the default when there are several pieces;
        the rows of scoring files read here are then set aside in a temporary directory,
        ``TMPDIR``, about the files' size, each piece's read back in turn, so memory
        follows a piece, not the files);
        False: list every site and match every file at once, then score the same pieces
        (the same result bit for bit, more memory). Scoring files with rows known only by
        rsID (no position) are always matched in one piece (the target's IDs are needed
        everywhere).
    match_report_rows
        A writer of the match report's rows, called once with an iterator of its rows
        piece by piece (e.g. ``lambda rows: outputs.write_table_pieces(rows, name)`` of
        an open :class:`prs.output.ReportOutputs`), so the report is written as it goes
        and never held: the result's ``match_report.variants`` is then empty (its
        columns only). Rows come piece by piece, each piece's files in order, each
        file's rows in line order. Default None: the report is kept in the result, rows
        as one match of each whole file gives them.
    liftover
        A scoring file in another build than the genotypes' (author-reported positions,
        no harmonized file): False (default) refuses it
        (:func:`prs.match.check_builds`); True lifts it with UCSC's GRCh37<->GRCh38 chain,
        fetched, verified and cached as Catalog files are (``$PRS_CHAIN_BASE``: another
        root laid out as UCSC's ``goldenPath``); a path or URL: that chain file
        (:func:`prs.weights.load.load_scorefiles`). Every lifted or unliftable row is in
        the match report (``liftover``, ``source_chrom``, ``source_pos``; unliftable rows
        ``unmatched_unliftable``). Needs the genotypes' build (stated or detected).
    liftover_md5, liftover_sha256
        Expected checksums of the chain file (default: the MD5 published beside it).
    match_rsids
        Match the rows of a scoring file without positions by rsID through the target's
        variant IDs (default True; see :func:`prs.match.match_variants`). False leaves
        them ``unmatched_no_position`` (and lets such a run be cut into pieces).

    Returns
    -------
    ScoreResult
        Its ``provenance["warnings"]`` lists every prs warning issued on the way
        (``{"category", "message"}``, from every stage: scoring files, genotype engines,
        matching, scoring), recorded even where the caller's filters ignore them; and
        ``provenance["genotype_decoding"]`` the records each decoding path took where the
        reader has several (BGEN), ``provenance["genotype_notes"]`` what the genotype source
        did another way (e.g. an index not used). The warnings reach the caller once the
        run is done, at the caller's line; one the caller's filters make an error
        (``warnings.simplefilter("error")``, ``--strict``) stops the run at once.

    Raises
    ------
    ScoringFileError, GenotypeFileError, MatchError, CatalogError, ScoreError
        Each names the file and the line or variant at fault. :class:`ScoreError` also
        when a dosage field is requested from a VCF that declares none (unless
        ``allow_gt_fallback``), and when a SUM is not a finite number (weights x dosages
        beyond the float64 range),
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
        on_unmatched=on_unmatched,
        allow_gt_fallback=allow_gt_fallback,
        min_r2=min_r2,
        stream_rows=stream_rows,
        stream=stream,
        liftover=liftover if isinstance(liftover, bool) else os.fspath(liftover),
        liftover_md5=liftover_md5,
        liftover_sha256=liftover_sha256,
        match_rsids=match_rsids,
    )
    with recorded_warnings() as prs_warnings:
        started = time.time()
        with _stage("open genotypes") as notes:
            source = _open_source(genotypes, options)
            notes.append(f"{len(source.samples)} samples, {type(source).__name__}")
        if read_progress is not None and hasattr(source, "on_bytes_read"):
            source.on_bytes_read = read_progress
        sample_sex, sex_summary = _sexes(source, sex)
        # checksums for the provenance, computed in a thread while the genotypes are read
        genotype_sums = BackgroundChecksums(source.paths)
        detected_build = source_build(source)
        # an alias ("hg38", "37") is the build it names, for matching and for the PARs
        target_build = canonical_build(genome_build) or genome_build or detected_build
        with _stage("load scoring files") as notes:
            specs = scorefile_specs(scorefiles)  # (an iterator read once)
            scoring = load_scorefiles(
                specs,
                drop_unscorable=drop_unscorable,
                use_harmonized=use_harmonized,
                build=target_build,
                catalog_options=catalog_options,
                liftover=options.liftover,
                liftover_md5=liftover_md5,
                liftover_sha256=liftover_sha256,
            )
            notes.append(f"{len(scoring)} files, {sum(sf.n_variants for sf in scoring)} rows")
        # The reading's temporaries, some held by reference cycles (measured: a 3M-row
        # file's 926 MB resident fall to 462 MB), go before the sites are listed. A full
        # collection costs ~60 ms however small the files (more in a process holding many
        # objects), so it is made only when the rows are many enough to leave much behind.
        if sum(sf.n_variants for sf in scoring) >= _COLLECT_ROWS:
            gc.collect()
        release_memory()
        check_builds(scoring, target_build, stated=bool(genome_build), stacklevel=2)
        rows_read = [sf.n_variants for sf in scoring]
        by_rsid = options.match_rsids and any(sf.match_by_rsid for sf in scoring)
        pieces = None if by_rsid else _piece_chromosomes(scoring, options.stream_rows)
        without_field = _files_without_dosage_field(source, options)
        accumulator = _Accumulator(
            source,
            sample_sex,
            options,
            _Runner(client, progress, source is not genotypes),
            n_scores=sum(len(sf.score_ids) for sf in scoring),
            files_from_gt=without_field,
        )
        spilled = None
        try:
            if (
                pieces is not None
                and len(pieces) > 1
                and options.stream is not False
                and not all(isinstance(s, ScoringFile) for s in specs)
            ):
                # A run in pieces holds one piece's rows, not the files': each piece's rows
                # go to a temporary file, read back when the piece is matched.
                with _stage("set scoring rows aside") as notes:
                    spilled = _SpilledRows(scoring, pieces)
                    scoring = spilled.shells
                    gc.collect()
                    release_memory()
                    notes.append(f"{len(pieces)} pieces in {spilled.directory}")
            with _stage("match and accumulate") as notes:
                report, skipped = _match_and_accumulate(
                    source,
                    scoring,
                    options,
                    target_build,
                    accumulator,
                    match_report_rows,
                    pieces=pieces,
                    spilled=spilled,
                    rows_read=rows_read,
                )
                all_missing, execution = accumulator.finish()
                execution["scoring_rows_set_aside"] = spilled is not None
                # numpy or the Numba kernels (same totals): what this process has run so far
                execution["arithmetic_this_process"] = arithmetic_record()
                notes.append(
                    f"{accumulator.pieces} piece(s), {execution['tasks']} task(s), "
                    f"{int(accumulator.variants_used.sum())} (variant, score) pairs"
                )
        finally:
            if spilled is not None:
                spilled.close()
        result = _result(source, scoring, accumulator, report, skipped)
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
                # which BGZF inflater the fast VCF reader used (None: another reader)
                inflater=_inflater(source),
                # records each decoding path took, where the reader has several (BGEN:
                # "kernel" runs with libdeflate, "python" record by record, "package")
                genotype_decoding=_decoding(source),
                # what the genotype source reported doing another way (e.g. an index not used)
                genotype_notes=source_notes(source),
                scorefiles=[
                    _scorefile_record(sf, rows) for sf, rows in zip(scoring, rows_read, strict=True)
                ],
                counts=_counts(source, accumulator, result, all_missing),
                execution=execution,
                skipped_scores=skipped,
                dosage_fallback=_dosage_fallback(source, scoring, accumulator, without_field),
                seconds=round(time.time() - started, 3),
            )
        )
    result.provenance["warnings"] = prs_warnings
    return result


#: Scoring-file rows from which reading them leaves enough garbage to collect at once:
#: ~155 bytes a row held by cycles (464 MB at 3M rows), so ~75 MB here; below it the
#: collection (~20-60 ms) costs more than the memory it would free is worth.
_COLLECT_ROWS = 500_000


def _no_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s columns and dtypes with no rows, holding none of its data: a zero-row slice
    (``iloc[:0]``) of an Arrow-backed column keeps the whole column's buffers alive, ~140 MB
    per million-row piece kept for its counts (measured by benchmarks.memory_rows)."""
    empty = pd.DataFrame(
        {c: pd.Series([], dtype=d) for c, d in frame.dtypes.items()}, index=frame.index[:0]
    )
    empty.columns = frame.columns  # (the column Index's own dtype too)
    return empty


@contextmanager
def _stage(name: str) -> Iterator[list[str]]:
    """Log ``<name>: <seconds> s (<notes>)`` at INFO on this module's logger when the
    block ends (``prs score -v``); the block appends its notes to the list it is given."""
    notes: list[str] = []
    started = time.perf_counter()
    yield notes
    elapsed = time.perf_counter() - started
    log.info("%s: %.2f s%s", name, elapsed, f" ({'; '.join(notes)})" if notes else "")


def _inflater(source: GenotypeSource) -> dict[str, str] | None:
    """:func:`prs.genotypes.bgzf.inflater` when ``source`` is the fast VCF reader (the one
    that inflates BGZF itself), else None. (Its module is looked up, not imported: a run
    on another reader does not pay for importing it.)"""
    fast = sys.modules.get("prs.genotypes.fastvcf")
    if fast is None or not isinstance(source, fast.FastVcfSource):
        return None
    return inflater()


def _decoding(source: GenotypeSource) -> dict[str, int] | None:
    """Records each of ``source``'s decoding paths took (its ``decoded`` counts, e.g.
    :attr:`prs.genotypes.bgen.BgenSource.decoded`); None when the reader has one path, or
    when it decoded nothing itself (sample blocks and Dask tasks read with sources of their
    own, in other threads or on workers)."""
    decoded = getattr(source, "decoded", None)
    if not decoded or not any(decoded.values()):
        return None
    return {str(k): int(v) for k, v in decoded.items()}


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


def _files_without_dosage_field(source: GenotypeSource, options: ScoreOptions) -> list[int]:
    """The files (indexes) that store no ``options.dosage`` field (DS or GP) at all
    (:func:`~prs.genotypes.base.files_without_field`: a VCF header declaring none, a
    ``.bed``): an error naming the first unless ``allow_gt_fallback`` (then their hard
    calls are scored, and recorded)."""
    lacking = files_without_field(source, options.dosage)
    if lacking and not options.allow_gt_fallback:
        first = lacking[0]
        headers = getattr(source, "headers", None)
        what = (
            f"declares no FORMAT/{options.dosage} field (its FORMAT fields: "
            f"{', '.join(sorted(headers[first].formats)) or 'none'})"
            if headers
            else f"stores no {options.dosage} (hard calls only)"
        )
        n_files = len(source.paths)
        raise GenotypeFileError(
            f"{source.paths[first]}: dosage={options.dosage!r} was requested but the file "
            f"{what}"
            + (f"; {len(lacking)} of {n_files} files lack it" if n_files > 1 else "")
            + ": its hard calls (GT) would be scored instead. Score GT (dosage='GT', --dosage "
            "GT), or allow hard calls where the field is absent (allow_gt_fallback=True, "
            "--allow-gt-fallback; recorded per score in the provenance)"
        )
    return lacking


def _chromosome_order(name: str) -> tuple[int, int, str]:
    """The order pieces take chromosomes in: rows without one, 1..22, X, Y, XY, MT, then
    other contigs by name (any fixed order would do: it only has to be the same in every
    run, streamed or not)."""
    if name == "":
        return (0, 0, "")
    if name.isdigit():
        return (1, int(name), "")
    special = ("X", "Y", "XY", "MT")
    if name in special:
        return (2, special.index(name), "")
    return (3, 0, name)


def _piece_chromosomes(
    scoring: list[ScoringFile], stream_rows: int | None
) -> list[tuple[str, ...]] | None:
    """The chromosomes of each piece (consecutive in :func:`_chromosome_order`, about
    ``stream_rows`` scoring rows each, a chromosome never split), or None: one piece (at
    most ``stream_rows`` rows). (Rows matched by rsID need every site: the caller does not
    ask.)"""
    if stream_rows is None:
        return None
    rows: dict[str, int] = {}
    for sf in scoring:
        # (value_counts, not factorize: no per-row codes, ~0.1 GB at 6 million rows)
        for name, k in sf.variants["chrom"].value_counts(dropna=False).items():
            key = "" if pd.isna(name) else str(name)
            rows[key] = rows.get(key, 0) + int(k)
    if sum(rows.values()) <= stream_rows:
        return None
    pieces: list[tuple[str, ...]] = []
    current: list[str] = []
    held = 0
    for chrom in sorted(rows, key=_chromosome_order):
        if current and held + rows[chrom] > stream_rows:
            pieces.append(tuple(current))
            current, held = [], 0
        current.append(chrom)
        held += rows[chrom]
    pieces.append(tuple(current))
    return pieces


def _row_numbers_on(sf: ScoringFile, chroms: tuple[str, ...]) -> np.ndarray:
    """The numbers of ``sf``'s rows on ``chroms`` (``""``: rows without a chromosome)."""
    column = sf.variants["chrom"]
    on = column.isin([c for c in chroms if c]).to_numpy(dtype=bool)
    if "" in chroms:
        on |= (column.isna() | (column == "")).to_numpy(dtype=bool)
    return np.flatnonzero(on)


def _rows_on(sf: ScoringFile, chroms: tuple[str, ...]) -> ScoringFile:
    """``sf``'s rows on ``chroms`` (``""``: rows without a chromosome), file lines kept."""
    rows = _row_numbers_on(sf, chroms)
    if len(rows) == sf.n_variants:
        return sf
    return replace(
        sf, variants=sf.variants.iloc[rows].reset_index(drop=True), weights=sf.weights[rows]
    )


class _SpilledRows:
    """Each piece's rows of every scoring file (:func:`_rows_on`) in a private temporary
    directory (``tempfile``'s: ``TMPDIR``), read back one piece at a time; ``shells``: the
    files with no rows, for what needs only their names, scores and header.

    A run in pieces then holds one piece's rows at a time, not the files' (6 million rows:
    ~0.5 GB held for the whole run otherwise). Each piece is written column by column (one
    column's rows copied at a time, so setting rows aside adds little to the files' own
    memory) with :mod:`pickle`, which gives the exact values and dtypes back (the files are
    this process's own); removed by :meth:`close`, also when the run fails.
    """

    def __init__(self, scoring: list[ScoringFile], pieces: list[tuple[str, ...]]) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self.directory = tempfile.gettempdir()
        self.paths: list[Path] = []
        self.shells = [
            replace(sf, variants=_no_rows(sf.variants), weights=sf.weights[:0]) for sf in scoring
        ]
        try:
            self._dir = tempfile.TemporaryDirectory(prefix="prs-rows-")
            self.directory = self._dir.name
            for k, chroms in enumerate(pieces):
                path = Path(self.directory) / f"piece-{k}.pickle"
                with open(path, "wb") as fh:
                    for sf in scoring:
                        rows = _row_numbers_on(sf, chroms)
                        for name in sf.variants.columns:
                            column = sf.variants[name].iloc[rows].reset_index(drop=True)
                            pickle.dump(column, fh, protocol=5)
                            del column
                        pickle.dump(sf.weights[rows], fh, protocol=5)
                self.paths.append(path)
        except OSError as error:
            self.close()
            raise ScoreError(
                f"could not set the scoring rows aside in {self.directory} ({error}); "
                "point TMPDIR to a directory with room for them (about the scoring files' "
                "size), or hold them in memory: a --stream-rows above their count (stream=False "
                "in the API)"
            ) from error
        except BaseException:  # (an interrupt, MemoryError: nothing left behind either)
            self.close()
            raise

    def load(self, k: int) -> list[ScoringFile]:
        """Piece ``k``'s rows of every scoring file, in file order (what :func:`_rows_on`
        gives)."""
        files = []
        try:
            with open(self.paths[k], "rb") as fh:  # (written by this object)
                for shell in self.shells:
                    columns = {name: pickle.load(fh) for name in shell.variants.columns}
                    weights = pickle.load(fh)
                    variants = pd.DataFrame(columns)
                    variants.columns = shell.variants.columns  # (its Index's dtype too)
                    files.append(replace(shell, variants=variants, weights=weights))
        except (OSError, EOFError, pickle.UnpicklingError) as error:
            raise ScoreError(
                f"the scoring rows set aside in {self.paths[k]} cannot be read back ({error}); "
                "was the temporary directory cleaned while the run went? Run again with "
                "TMPDIR on a directory nothing cleans, or a --stream-rows above the rows"
            ) from error
        return files

    def close(self) -> None:
        """Remove the directory and its files."""
        if self._dir is not None:
            self._dir.cleanup()


def _match_piece(
    source: GenotypeSource,
    scoring: list[ScoringFile],
    wanted: dict[str, np.ndarray] | None,
    options: ScoreOptions,
    target_build: str | None,
    require_r2: bool = True,
) -> _Piece:
    """List the target's sites at ``wanted`` and match every scoring file (or piece of
    one) to them; the match rate is checked when the pieces are joined, and ``min_r2``'s
    need of an imputation quality here only when ``require_r2`` (a run in pieces decides
    it over all of them)."""
    release_memory()
    sites = source.sites(wanted)
    release_memory()
    plans: list[MatchPlan] = []
    reports: list[MatchReport | None] = []
    for sf in scoring:
        if sf.n_variants == 0:  # no row on this piece's chromosomes
            plans.append(_empty_plan(pd.Index(sf.score_ids)))
            reports.append(None)
            continue
        plan, report = match_variants(
            sf,
            sites,
            keep_ambiguous=options.keep_ambiguous,
            min_overlap=options.min_overlap,
            scoring_build=sf.genome_build,
            target_build=target_build,
            check_overlap=False,
            min_r2=options.min_r2,
            match_rsids=options.match_rsids,
            require_r2=require_r2,
        )
        _refuse_haploid_dominance(sf, plan, sites, target_build)
        plans.append(plan)
        reports.append(report)
    plan = combine_plans(plans)
    at = _site_rows(sites, plan.record)
    row_chrom = sites["chrom"].iloc[at].to_numpy(dtype=object)
    row_pos = sites["pos"].to_numpy(dtype=np.int64)[at]
    piece = _Piece(
        plan=plan,
        reports=reports,
        row_chrom=row_chrom,
        row_class=(
            record_classes(row_chrom, row_pos, target_build)
            if len(plan)
            else np.zeros(0, dtype=np.int8)
        ),
        row_file=sites["file"].to_numpy(dtype=np.int64)[at],
        n_sites=len(sites),
        row_pos=row_pos,
        target_chroms=frozenset(str(c) for c in pd.unique(sites["chrom"])),
        has_r2=has_r2(sites),
    )
    del sites  # the site table is not needed past matching
    release_memory()
    return piece


def _split(piece: _Piece, pieces: list[tuple[str, ...]]) -> Iterator[_Piece]:
    """A piece matched whole cut into ``pieces`` (its plan rows on each one's chromosomes,
    in plan order); the reports go with the first."""
    for k, chroms in enumerate(pieces):
        rows = np.flatnonzero(np.isin(piece.row_chrom, list(chroms)))
        plan = piece.plan
        yield replace(
            piece,
            plan=replace(
                plan,
                record=plan.record[rows],
                allele=plan.allele[rows],
                effect_type=plan.effect_type[rows],
                weights=plan.weights[rows],
                allele_frequency=plan.allele_frequency[rows],
                line=plan.line[rows],
            ),
            reports=piece.reports if k == 0 else [],
            row_chrom=piece.row_chrom[rows],
            row_class=piece.row_class[rows],
            row_file=piece.row_file[rows],
            row_pos=piece.row_pos[rows],
            n_sites=piece.n_sites if k == 0 else 0,
        )


def _match_and_accumulate(
    source: GenotypeSource,
    scoring: list[ScoringFile],
    options: ScoreOptions,
    target_build: str | None,
    accumulator: _Accumulator,
    report_rows: ReportRowsWriter | None,
    *,
    pieces: list[tuple[str, ...]] | None,
    spilled: _SpilledRows | None,
    rows_read: list[int],
) -> tuple[MatchReport, list[dict[str, str]]]:
    """Match and score piece by piece (``pieces``, from :func:`_piece_chromosomes`; None:
    one piece); the match report joined (rows handed to ``report_rows`` as they come, when
    given) and each score's rate checked over all pieces. A piece's rows come from
    ``spilled`` when the files' rows were set aside; together they must be ``rows_read``.
    Returns the report and the scores skipped (``on_unmatched="skip"``)."""
    streamed = pieces is not None and options.stream is not False
    accumulator.pieces, accumulator.streamed = len(pieces or [None]), streamed
    per_file: list[list[tuple[MatchPlan, MatchReport]]] = [[] for _ in scoring]
    chroms: set[str] = set()
    quality: list[bool] = []  # per piece: any site with an imputation quality
    joined: list[tuple[MatchReport, list[dict[str, str]]]] = []

    def matched() -> Iterator[_Piece]:
        if not streamed:
            wanted = wanted_positions(scoring, match_rsids=options.match_rsids)
            whole = _match_piece(source, scoring, wanted, options, target_build)
            del wanted
            yield from [whole] if pieces is None else _split(whole, pieces)
            return
        assert pieces is not None
        counted = [0] * len(scoring)
        for k, piece_chroms in enumerate(pieces):
            rows = (
                spilled.load(k)
                if spilled is not None
                else [_rows_on(sf, piece_chroms) for sf in scoring]
            )
            counted = [n + sf.n_variants for n, sf in zip(counted, rows, strict=True)]
            wanted = wanted_positions(rows, match_rsids=False)
            piece = _match_piece(
                source,
                rows,
                {c: wanted[c] for c in piece_chroms if c in wanted},
                options,
                target_build,
                require_r2=False,  # decided over every piece, as one piece would
            )
            del rows, wanted
            yield piece
            del piece
        # Every row in exactly one piece (never a row lost without being counted).
        lost = [
            (sf.path, n, total)
            for sf, n, total in zip(scoring, counted, rows_read, strict=True)
            if n != total
        ]
        if lost:
            path, n, total = lost[0]
            raise ScoreError(f"{path}: the pieces of the run held {n} of its {total} rows")

    def rows() -> Iterator[pd.DataFrame]:
        for piece in matched():
            chroms.update(piece.target_chroms)
            quality.append(piece.has_r2)
            for k, report in enumerate(piece.reports):
                if report is None:
                    continue
                kept = report
                if report_rows is not None:  # its rows go to the writer, not kept
                    kept = replace(report, variants=_no_rows(report.variants))
                per_file[k].append((_empty_plan(report.counts.index), kept))
                del report, kept
            if not streamed and not joined:
                # Matched at once: every rate is known before scoring; check it first.
                joined.append(_join(scoring, per_file, options, target_build, chroms))
            accumulator.add(piece)
            written = []
            if report_rows is not None:
                written = [r.variants for r in piece.reports if r is not None]
            # Nothing of a piece may outlive it (~0.1 GB a million rows): neither it nor a
            # loop variable holds it while the next piece is matched.
            del piece
            while written:
                yield written.pop(0)

    frames = rows()
    if report_rows is not None:
        report_rows(frames)
    for _ in frames:  # (no writer, or one that stopped early: the run goes to its end)
        pass
    if streamed and options.min_r2 is not None and not any(quality):
        # (no piece's sites had an R2; matched at once, match_variants refuses it)
        raise no_r2_error(options.min_r2, ", ".join(str(p) for p in source.paths))
    if not joined:
        joined.append(_join(scoring, per_file, options, target_build, chroms))
    return joined[0]


def _empty_plan(score_ids: pd.Index) -> MatchPlan:
    """A plan of no rows (a piece's plan is scored, not kept for the join)."""
    none = np.zeros(0, dtype=np.int64)
    return MatchPlan(
        record=none,
        allele=none,
        effect_type=np.zeros(0, dtype=np.int8),
        weights=np.zeros((0, len(score_ids))),
        allele_frequency=np.zeros(0),
        line=none,
        score_ids=tuple(str(s) for s in score_ids),
    )


def _join(
    scoring: list[ScoringFile],
    per_file: list[list[tuple[MatchPlan, MatchReport]]],
    options: ScoreOptions,
    target_build: str | None,
    target_chroms: set[str],
) -> tuple[MatchReport, list[dict[str, str]]]:
    """Each file's report from its pieces' (:func:`prs.match.concat_pieces`: rows, counts,
    the match rate checked over the whole file), in file order; with
    ``on_unmatched="skip"`` a score below the rate is not an error but listed, with the
    reason, in the returned skips and in the counts' ``skipped``/``skip_reason``."""
    reports: list[MatchReport] = []
    skipped: list[dict[str, str]] = []
    chroms = sorted(target_chroms)

    def join(
        sf: ScoringFile, scores: list[int], pieces: list[tuple[MatchPlan, MatchReport]]
    ) -> MatchReport:
        """concat_pieces for the score columns ``scores`` of ``sf`` (rate checked)."""
        if len(scores) < len(sf.score_ids):
            sf = replace(
                sf,
                score_ids=tuple(sf.score_ids[j] for j in scores),
                weights=sf.weights[:, scores],
            )
        return concat_pieces(
            sf,
            pieces,
            target_chroms=chroms,
            min_overlap=options.min_overlap,
            scoring_build=sf.genome_build,
            target_build=target_build,
        )[1]

    for sf, pieces in zip(scoring, per_file, strict=True):
        if not pieces:  # no row left in the file (drop_unscorable): its rate is zero
            pieces = [(_empty_plan(pd.Index(sf.score_ids)), empty_report(sf))]
        if options.on_unmatched == "error":
            reports.append(join(sf, list(range(len(sf.score_ids))), pieces))
            continue
        reasons: dict[str, str] = {}
        counts_only = [(plan, replace(r, variants=_no_rows(r.variants))) for plan, r in pieces]
        for j, score_id in enumerate(sf.score_ids):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    join(sf, [j], counts_only)
            except MatchError as error:
                reasons[score_id] = str(error)
        kept = [j for j, s in enumerate(sf.score_ids) if s not in reasons]
        report = _joined_rows(sf, pieces)
        if kept:  # the scores kept: their rates noted (warned) as a whole file's would be
            report = replace(report, notes=join(sf, kept, counts_only).notes)
        counts = report.counts.copy()
        counts["skipped"] = counts.index.isin(list(reasons))
        counts["skip_reason"] = [reasons.get(str(s), "") for s in counts.index]
        reports.append(replace(report, counts=counts))
        skipped += [{"score": s, "scorefile": sf.path, "reason": r} for s, r in reasons.items()]
    if skipped and all(len(r.counts) == r.counts["skipped"].sum() for r in reports):
        raise MatchError(
            "on_unmatched='skip' left no score to compute: "
            + "; ".join(entry["reason"] for entry in skipped)
        )
    for entry in skipped:
        warnings.warn(
            f"score {entry['score']} skipped (on_unmatched='skip'): {entry['reason']}",
            ScoreWarning,
            stacklevel=4,
        )
    if len(reports) == 1:
        return reports[0], skipped
    return (
        MatchReport(
            variants=pd.concat([r.variants for r in reports], ignore_index=True),
            counts=pd.concat([r.counts for r in reports]),
            notes=tuple(n for r in reports for n in r.notes),
        ),
        skipped,
    )


def _joined_rows(sf: ScoringFile, pieces: list[tuple[MatchPlan, MatchReport]]) -> MatchReport:
    """A file's report from its pieces without checking any rate: rows in (line, score)
    order (as :func:`prs.match.concat_pieces` joins them), counts added, match rates anew."""
    added = [c for c in pieces[0][1].counts.columns if c not in ("n_rows", "match_rate")]
    counts = pieces[0][1].counts.loc[list(sf.score_ids)].copy()
    for _, report in pieces[1:]:
        counts[added] += report.counts.loc[list(sf.score_ids), added].to_numpy()
    counts["n_rows"] = counts[list(OUTCOMES)].sum(axis=1)  # (not matched_r2_unknown)
    counts["match_rate"] = np.where(
        counts["n_rows"] > 0, counts["matched"] / counts["n_rows"].clip(lower=1), 0.0
    )
    with arrow_strings():
        variants = pd.concat([r.variants for _, r in pieces], ignore_index=True)
        if len(pieces) > 1:
            variants = variants.sort_values(["line", "score"], kind="stable", ignore_index=True)
    return MatchReport(variants=variants, counts=counts)


class _Runner:
    """Where tasks run: here, or on ``client``'s cluster; and who hears of progress."""

    def __init__(
        self, client: Any, progress: Callable[[int, int], None] | None, from_paths: bool
    ) -> None:
        self.client = client
        self.progress = progress
        self.from_paths = from_paths


class _Accumulator:
    """The run's totals, fed piece by piece: each piece's plan cut into tasks
    (:mod:`prs.scoring.tasks`), run here or on a cluster, and added in task order into one
    running sum (:class:`~prs.scoring.tasks.Combiner` ``totals=``), so a run in pieces adds
    exactly what one piece of the same plan rows would, in the same order."""

    def __init__(
        self,
        source: GenotypeSource,
        sample_sex: np.ndarray,
        options: ScoreOptions,
        runner: _Runner,
        *,
        n_scores: int,
        files_from_gt: list[int],
    ) -> None:
        self.source, self.sample_sex, self.options, self.runner = (
            source,
            sample_sex,
            options,
            runner,
        )
        n = len(source.samples)
        self.n_scores = n_scores
        self.n_males = int((sample_sex == SEX_MALE).sum())
        self.impute = MISSING_POLICIES[options.missing]
        self.task_variants = options.task_variants or _default_task_variants(source, options)
        self.blocks = sample_blocks(n, options.sample_block)
        self.arithmetic = Arithmetic(
            impute=self.impute,
            threads=options.threads or min(2, os.cpu_count() or 1),
            chunk_size=options.chunk_size,
            xchr_model=XCHR_MODELS[options.haploid],
            # A source opened by the caller may report haploid calls as read (ploidy 1).
            raw_haploid=source_haploid(source) != "as-diploid",
        )
        self.two_pass = len(self.blocks) > 1 and self.impute != IMPUTE_NONE
        self.totals: dict[str, np.ndarray] | None = None
        self.all_missing = 0
        self.warnings: list[tuple[type[Warning], str]] = []
        self.tasks = self.regions = self.done = 0
        self.pieces, self.streamed = 1, False
        self.n_sites = 0
        self.variants_used = np.zeros(n_scores, dtype=np.int64)
        self.class_rows = {X_NONPAR: 0, Y: 0, MT: 0}
        self.files_from_gt = np.asarray(files_from_gt, dtype=np.int64)
        self.rows_from_gt = np.zeros(n_scores, dtype=np.int64)

    def add(self, piece: _Piece) -> None:
        """Score one piece's plan rows (all samples, every block) into the totals."""
        plan, row_class = piece.plan, piece.row_class
        self.n_sites += piece.n_sites
        expect_genotypes(len(plan) * len(self.source.samples))  # (numpy or kernels)
        used = ~np.isnan(plan.weights)
        self.variants_used += used.sum(axis=0)
        self.rows_from_gt += (used & np.isin(piece.row_file, self.files_from_gt)[:, None]).sum(
            axis=0
        )
        for code in self.class_rows:
            self.class_rows[code] += int((row_class == code).sum())
        if self.totals is None:
            self.totals = Combiner([], self.blocks, self.n_scores, 0).totals
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
            np.isin(row_class, SPECIAL_CLASSES if self.n_males else (Y, MT)),
        )
        row_regions = regions(len(plan), self.task_variants)
        if not row_regions:
            return

        def tasks_of(kind: str) -> list[ScoreTask]:
            return make_tasks(
                kind,
                row_regions,
                self.blocks,
                rows,
                tuple(self.source.samples),
                self.sample_sex,
                self.arithmetic,
                count_rows=len(self.blocks) > 1 and not self.two_pass,
            )

        runner = self.runner
        spec = _source_spec(
            self.source, piece, self.options, runner.client, len(self.blocks), runner.from_paths
        )
        done = self.done

        def progress(finished: int, total: int) -> None:
            if runner.progress is not None:
                runner.progress(done + finished, done + total)

        run = _task_runner(self.source, spec, runner.client, progress)
        counted = None
        tasks = tasks_of("totals")
        s = self.n_scores
        if self.two_pass:
            # Each variant's imputation frequency over all blocks first (PLINK 2's cohort mean).
            first = tasks_of("frequencies")
            done += len(first)
            counted = run(first, Combiner(first, self.blocks, s, len(plan)))
            tasks = with_frequencies(tasks, counted.frequencies(plan.allele_frequency, self.impute))
        combined = run(tasks, Combiner(tasks, self.blocks, s, len(plan), totals=self.totals))
        self.done = done + len(tasks)
        if spec is not None and runner.client is None:
            forget_sources(spec.token)
        if len(self.blocks) == 1:
            self.all_missing += combined.all_missing
        else:
            self.all_missing += (counted or combined).rows_missing_everywhere()
        for found in [*(counted.warnings if counted else []), *combined.warnings]:
            if found not in self.warnings:
                self.warnings.append(found)
        self.tasks += len(tasks) * (2 if self.two_pass else 1)
        self.regions += len(row_regions)

    def finish(self) -> tuple[int, dict[str, Any]]:
        """Issue what the tasks met; the variants missing in every sample and how the run
        was executed (for the provenance)."""
        options, client = self.options, self.runner.client
        n = len(self.source.samples)
        if self.totals is None:
            self.totals = Combiner([], self.blocks, self.n_scores, 0).totals
        _warn_sex_dependent_rows(
            self.class_rows[Y], self.class_rows[X_NONPAR], n, self.n_males, options.haploid
        )
        # Warnings only a task met (those of opening the genotypes were issued already).
        noted = set(source_notes(self.source))
        for category, message in self.warnings:
            if message not in noted:
                noted.add(message)
                warnings.warn(message, category, stacklevel=3)
        if self.all_missing:
            warnings.warn(
                f"{self.all_missing} matched variant(s) are missing in every sample; "
                + (
                    "they add nothing to any score"
                    if options.missing == "none"
                    else "they were imputed at the scoring file's effect-allele frequency "
                    "(at 0.5, as PLINK 2 does, where the file gives none)"
                    if MISSING_POLICIES[options.missing] == IMPUTE_GIVEN_FREQUENCY
                    else "they were imputed at frequency 0.5, as PLINK 2 does"
                ),
                ScoreWarning,
                stacklevel=3,
            )
        execution = {
            "engine": "single-process" if client is None else "dask",
            "workers": None if client is None else _worker_count(client),
            "tasks": self.tasks,
            "regions": self.regions,
            "sample_blocks": len(self.blocks),
            "task_variants": self.task_variants,
            "sample_block": options.sample_block,
            "threads_per_task": self.arithmetic.threads,
            "frequency_pass": self.two_pass,
            "pieces": self.pieces,
            "streamed": self.streamed,
            "stream_rows": options.stream_rows,
        }
        return self.all_missing, execution


def _default_task_variants(source: GenotypeSource, options: ScoreOptions) -> int | None:
    """Rows per task: :data:`~prs.scoring.tasks.TASK_CHUNKS` chunks; the checked VCF engine
    reads a file from its start for every task, so there None: one region."""
    if isinstance(source, VcfSource):
        return None
    return TASK_CHUNKS * options.chunk_size


def _source_spec(
    source: GenotypeSource,
    piece: _Piece,
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
        # the engine the run's own source is (auto decides by the process's state: a
        # worker could pick the other one; same numbers, but the provenance names this one)
        engine=_engine_of(source, options.engine),
        samples=options.samples,
        wanted=piece.row_positions,
    )


def _engine_of(source: GenotypeSource, engine: str) -> str:
    """``engine`` as the VCF source ``source`` resolved it (``"auto"`` -> the one chosen)."""
    if engine != "auto":
        return engine
    if isinstance(source, VcfSource):
        return "checked"
    fast = sys.modules.get("prs.genotypes.fastvcf")
    if fast is not None and isinstance(source, fast.FastVcfSource):
        return "fast"
    return engine


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


def _warn_sex_dependent_rows(
    y_variants: int, x_variants: int, n: int, n_males: int, haploid: str
) -> None:
    """chrY rows with no male, or a haploid model with no male: they change nothing."""
    if y_variants and n > 0 and n_males == 0:
        warnings.warn(
            f"{y_variants} matched chrY variant(s) add nothing to any score: no sample is "
            "known to be male (as PLINK 2, chrY counts only in males); give each sample's "
            "sex with sex= (--sex)",
            ScoreWarning,
            stacklevel=4,
        )
    if haploid != "as-diploid" and n > 0 and n_males == 0 and x_variants:
        warnings.warn(
            f"haploid={haploid!r} changes only males' chrX calls, and no sample is known to "
            "be male: give each sample's sex with sex= (--sex)",
            ScoreWarning,
            stacklevel=4,
        )


def _result(
    source: GenotypeSource,
    scoring: list[ScoringFile],
    accumulator: _Accumulator,
    report: MatchReport,
    skipped: list[dict[str, str]],
) -> ScoreResult:
    """The totals as a :class:`ScoreResult` (samples x scores, skipped scores left out),
    sums checked finite."""
    score_ids = tuple(s for sf in scoring for s in sf.score_ids)
    gone = {entry["score"] for entry in skipped}
    keep = np.array([s not in gone for s in score_ids], dtype=bool)
    kept_ids = tuple(s for s in score_ids if s not in gone)
    totals = accumulator.totals
    assert totals is not None

    def samples_by_scores(name: str) -> np.ndarray:
        return np.ascontiguousarray(totals[name][keep].T)

    sums = samples_by_scores("sums")
    _check_finite(sums, tuple(source.samples), kept_ids)
    return ScoreResult(
        samples=tuple(source.samples),
        score_ids=kept_ids,
        sums=sums,
        allele_ct=samples_by_scores("allele_ct"),
        denom=samples_by_scores("denom"),
        named_dosage=samples_by_scores("named"),
        missing_ct=samples_by_scores("missing_ct"),
        variants_used=accumulator.variants_used[keep],
        match_report=report,
        provenance={},
        score_info={
            sid: sf.trait_info for sf in scoring for sid in sf.score_ids if sid not in gone
        },
    )


def _scorefile_record(sf: ScoringFile, rows: int) -> dict[str, Any]:
    """A scoring file in the provenance: its file record, scores, build and trait (``rows``:
    the rows read, which a file whose rows were set aside no longer holds)."""
    return {
        **file_record(sf.path),
        "scores": list(sf.score_ids),
        "genome_build": sf.genome_build,
        "harmonized": sf.harmonized,
        "rows": rows,
        "dropped_unscorable": sf.dropped,
        "warnings": list(sf.warnings),
        **sf.trait_info.as_dict(),
    }


def _counts(
    source: GenotypeSource, accumulator: _Accumulator, result: ScoreResult, all_missing: int
) -> dict[str, Any]:
    """The provenance's counts: samples, sites, variants and calls per score, match."""
    return {
        "samples": len(source.samples),
        "sites_at_scoring_positions": accumulator.n_sites,
        "variants_used": dict(zip(result.score_ids, result.variants_used.tolist(), strict=True)),
        "missing_calls": dict(
            zip(result.score_ids, result.missing_ct.sum(axis=0).tolist(), strict=True)
        ),
        "records_without_dosage_field_read_from_GT": records_read_from_gt(source),
        "variants_missing_in_every_sample": all_missing,
        "variants_by_chromosome_class": {
            name: accumulator.class_rows[code]
            for name, code in (("X_nonPAR", X_NONPAR), ("Y", Y), ("MT", MT))
        },
        "match": result.match_report.counts.reset_index().to_dict(orient="records"),
    }


def _dosage_fallback(
    source: GenotypeSource,
    scoring: list[ScoringFile],
    accumulator: _Accumulator,
    without_field: list[int],
) -> dict[str, Any] | None:
    """Per score, what was read from GT instead of the dosage field asked for: the plan
    rows on files that declare no such field (``allow_gt_fallback=True``); None when the
    field was GT or every file declares it."""
    if not without_field:
        return None
    score_ids = [s for sf in scoring for s in sf.score_ids]
    return {
        "field": accumulator.options.dosage,
        "files_without_field": [source.paths[k] for k in without_field],
        "rows_read_from_GT": dict(zip(score_ids, accumulator.rows_from_gt.tolist(), strict=True)),
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
