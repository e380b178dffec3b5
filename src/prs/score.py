"""Scoring: match every scoring file to the genotypes, then stream dosage chunks through the
accumulate kernel for all scores in one pass.

Memory grows with samples x scores (the running totals) plus one chunk of
``chunk_size`` x samples dosages, never with the number of variants.
"""

from __future__ import annotations

import os
import platform
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs._version import __version__
from prs.errors import PRSWarning, ScoreError, ScoreWarning
from prs.genome import MT, X_NONPAR, Y
from prs.genotypes import GenotypeSource, open_genotypes
from prs.genotypes.base import sorted_unique
from prs.kernels.accumulate import (
    ADDITIVE,
    IMPUTE_COHORT_MEAN,
    IMPUTE_GIVEN_FREQUENCY,
    IMPUTE_NONE,
    ScoreTotals,
)
from prs.match import (
    DEFAULT_MIN_OVERLAP,
    MatchPlan,
    MatchReport,
    allele_count_mask,
    check_builds,
    combine_plans,
    combine_reports,
    match_variants,
)
from prs.memory import release_memory
from prs.ploidy import (
    HAPLOID_POLICIES,
    SEX_MALE,
    SPECIAL_CLASSES,
    SexInput,
    apply_ploidy_model,
    record_classes,
    sex_codes,
)
from prs.report import file_checksum
from prs.weights.load import load_scorefiles
from prs.weights.scorefile import ScoringFile, TraitInfo

#: Missing-genotype policies (``missing=``) and the kernel codes behind them.
MISSING_POLICIES = {
    "mean-impute": IMPUTE_COHORT_MEAN,
    "scorefile-freq": IMPUTE_GIVEN_FREQUENCY,
    "none": IMPUTE_NONE,
}

#: Columns of :meth:`ScoreResult.to_frame` (and of ``scores.tsv``), in order.
SCORE_COLUMNS = (
    "sample_id",
    "score",
    "SUM",
    "AVG",
    "ALLELE_CT",
    "DENOM",
    "NAMED_ALLELE_DOSAGE_SUM",
    "VARIANTS_USED",
    "MISSING_CT",
    # What each score is of, from its scoring file's header (empty where not given), so a
    # later step (calibrate, categorise) can check a scheme against the score's trait.
    "trait_reported",
    "trait_efo",
    "weight_type",
    "development_ancestry",
)

#: The trait columns of ``scores.tsv`` (text; ``trait_efo`` holds IDs joined with ``|``).
TRAIT_COLUMNS = ("trait_reported", "trait_efo", "weight_type", "development_ancestry")


@dataclass(frozen=True)
class ScoreResult:
    """Per sample x score totals, with PLINK 2's meanings.

    Attributes
    ----------
    samples, score_ids
        Row and column labels.
    sums
        ``float64[n, s]`` SUM: sum of weight x effect-allele dosage (imputed where missing).
    allele_ct
        ALLELE_CT: alleles observed (non-missing calls x ploidy; the ploidy of a call by
        chromosome class and sex as PLINK 2 counts it, see :mod:`prs.ploidy`: 1 on MT and
        on a male's chrY, none on a female's chrY).
    denom
        DENOM: alleles counted, imputed calls included when imputing (AVG = SUM / DENOM).
    named_dosage
        NAMED_ALLELE_DOSAGE_SUM: effect-allele dosage summed over observed calls.
    missing_ct
        ``int64[n, s]`` missing calls (imputed, or skipped with ``missing="none"``); a chrY
        call of a non-male is not counted at all, so it is not missing either.
    variants_used
        ``int64[s]`` matched variants per score.
    match_report
        Every scoring row's fate (:class:`prs.match.MatchReport`), all files together.
    provenance
        Library version, options, inputs and their checksums, counts.
    score_info
        Per score ID, its scoring file's trait metadata (:class:`prs.weights.scorefile.
        TraitInfo`: ``trait_reported``, ``trait_mapped``, ``trait_efo``, ``weight_type``,
        ``development_ancestry``, ...); a score missing here has none.
    """

    samples: tuple[str, ...]
    score_ids: tuple[str, ...]
    sums: np.ndarray
    allele_ct: np.ndarray
    denom: np.ndarray
    named_dosage: np.ndarray
    missing_ct: np.ndarray
    variants_used: np.ndarray
    match_report: MatchReport
    provenance: dict[str, Any] = field(default_factory=dict)
    score_info: dict[str, TraitInfo] = field(default_factory=dict)

    @property
    def avg(self) -> np.ndarray:
        """AVG = SUM / DENOM (NaN where DENOM is 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.denom > 0, self.sums / self.denom, np.nan)

    def to_frame(self) -> pd.DataFrame:
        """Long table, one row per sample x score (columns :data:`SCORE_COLUMNS`)."""
        n, s = self.sums.shape
        infos = [self.score_info.get(sid, TraitInfo()) for sid in self.score_ids]
        # One value per score, repeated per sample (None: an empty cell).
        trait = {
            "trait_reported": [i.trait_reported for i in infos],
            "trait_efo": ["|".join(i.trait_efo) or None for i in infos],
            "weight_type": [i.weight_type for i in infos],
            "development_ancestry": [i.development_ancestry for i in infos],
        }
        return pd.DataFrame(
            {
                "sample_id": np.repeat(np.array(self.samples, dtype=object), s),
                "score": np.tile(np.array(self.score_ids, dtype=object), n),
                "SUM": self.sums.ravel(),
                "AVG": self.avg.ravel(),
                "ALLELE_CT": self.allele_ct.ravel().astype(np.int64),
                "DENOM": self.denom.ravel().astype(np.int64),
                "NAMED_ALLELE_DOSAGE_SUM": self.named_dosage.ravel(),
                "VARIANTS_USED": np.tile(self.variants_used, n),
                "MISSING_CT": self.missing_ct.ravel(),
                **{
                    name: np.tile(np.array(values, dtype=object), n)
                    for name, values in trait.items()
                },
            },
            columns=list(SCORE_COLUMNS),
        )

    def to_wide(self, column: str = "SUM") -> pd.DataFrame:
        """Samples x scores table of one quantity (``SUM``, ``AVG``, ...)."""
        values = {
            "SUM": self.sums,
            "AVG": self.avg,
            "ALLELE_CT": self.allele_ct,
            "DENOM": self.denom,
            "NAMED_ALLELE_DOSAGE_SUM": self.named_dosage,
            "MISSING_CT": self.missing_ct,
        }[column]
        return pd.DataFrame(
            values, index=pd.Index(self.samples, name="sample_id"), columns=list(self.score_ids)
        )


class _Checksums:
    """SHA-256 of files, hashed in a daemon thread while the caller works (hashlib releases
    the GIL on large blocks); a daemon, so a failed run does not wait for it at exit."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._paths = list(paths)
        self._digests: list[str] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="prs-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._digests = [file_checksum(p) for p in self._paths]
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> list[str]:
        """The digests, in path order (waits for the thread)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digests


def _wanted_positions(scoring: list[ScoringFile]) -> dict[str, np.ndarray]:
    frames = pd.concat([sf.variants[["chrom", "pos"]] for sf in scoring])
    frames = frames[frames["pos"] >= 0]
    wanted = {}
    for chrom, group in frames.groupby("chrom"):
        wanted[str(chrom)] = sorted_unique(group["pos"].to_numpy(dtype=np.int64))
    return wanted


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
    catalog_options: dict[str, Any] | None = None,
) -> ScoreResult:
    """Score genotypes with one or more scoring files, as PLINK 2 ``--score`` does.

    Parameters
    ----------
    genotypes
        A VCF/BCF path, several (one per chromosome), or an open
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
        None: everybody is of unknown sex, as PLINK 2 reading a VCF without ``--psam`` or
        ``--update-sex``: chrY variants then add nothing to any score (a warning says so).
    chunk_size
        Variants per dosage chunk (memory: chunk_size x samples x 9 bytes).
    engine
        VCF reader: ``"auto"`` (default: the fast Numba parser for bgzipped text VCFs, cyvcf2
        otherwise), ``"fast"`` or ``"checked"``; same scores and errors either way.
    catalog_options
        Options for fetching PGS IDs (``cache_dir``, ``offline``, ``mirror``).

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
    error: BaseException | None = None
    result: ScoreResult | None = None
    # Every warning is recorded (for the provenance) whatever the caller's filters say,
    # except one the caller turns into an error (--strict), which stops the run at once;
    # the recorded ones are then issued again under the caller's filters, where they were
    # first issued, so the caller sees them as it asked.
    caller_filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        _record_all_but_errors(caller_filters)
        try:
            result = _score(
                genotypes,
                scorefiles,
                dosage=dosage,
                samples=samples,
                missing=missing,
                keep_ambiguous=keep_ambiguous,
                min_overlap=min_overlap,
                drop_unscorable=drop_unscorable,
                use_harmonized=use_harmonized,
                genome_build=genome_build,
                half_call=half_call,
                haploid=haploid,
                sex=sex,
                chunk_size=chunk_size,
                engine=engine,
                catalog_options=catalog_options,
            )
        except BaseException as exc:  # re-raised below, after the warnings
            error = exc
    recorded = list(caught)
    if error is not None:
        _reissue(recorded, keep_error=error)
        raise error
    assert result is not None
    result.provenance["warnings"] = [
        {"category": w.category.__name__, "message": str(w.message)}
        for w in recorded
        if issubclass(w.category, PRSWarning)
    ]
    _reissue(recorded)
    return result


def _record_all_but_errors(caller_filters: list[tuple[Any, ...]]) -> None:
    """Filters that keep the caller's "error" entries (first match wins, as before) and turn
    every other action ("ignore", "default", "once", ...) into "always"."""
    warnings.simplefilter("always")
    for action, message, category, module, lineno in reversed(caller_filters):
        warnings.filterwarnings(
            "error" if action == "error" else "always",
            message=getattr(message, "pattern", message) or "",
            category=category,
            module=getattr(module, "pattern", module) or "",
            lineno=lineno,
        )


def _reissue(
    recorded: list[warnings.WarningMessage], keep_error: BaseException | None = None
) -> None:
    """Issue recorded warnings again, under the current filters. With ``keep_error`` (the
    run failed), a warning the filters turn into an error does not replace that error."""
    for w in recorded:
        try:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        except Exception:
            if keep_error is None:
                raise


def _score(
    genotypes: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | GenotypeSource,
    scorefiles: str
    | os.PathLike[str]
    | ScoringFile
    | Sequence[str | os.PathLike[str] | ScoringFile],
    *,
    dosage: str,
    samples: Sequence[str] | None,
    missing: str,
    keep_ambiguous: bool,
    min_overlap: float,
    drop_unscorable: bool,
    use_harmonized: bool | None,
    genome_build: str | None,
    half_call: str,
    haploid: str,
    sex: SexInput | None,
    chunk_size: int,
    engine: str,
    catalog_options: dict[str, Any] | None,
) -> ScoreResult:
    """:func:`score` without the warning bookkeeping."""
    started = time.time()
    if missing not in MISSING_POLICIES:
        raise ScoreError(f"missing must be one of {sorted(MISSING_POLICIES)}, not {missing!r}")
    if haploid not in HAPLOID_POLICIES:
        raise ScoreError(f"haploid must be one of {sorted(HAPLOID_POLICIES)}, not {haploid!r}")
    if not 0.0 <= min_overlap <= 1.0:
        raise ScoreError(f"min_overlap must be within [0, 1], not {min_overlap}")
    if chunk_size < 1:
        raise ScoreError(f"chunk_size must be >= 1, not {chunk_size}")
    if isinstance(genotypes, (str, os.PathLike)) or (
        isinstance(genotypes, Sequence) and not isinstance(genotypes, str)
    ):
        # The engines report haploid calls as PLINK 2 stores them (two copies, ploidy 2);
        # the chromosome-class model (prs.ploidy) takes it from there.
        source = open_genotypes(
            genotypes,
            samples=samples,
            dosage=dosage,
            half_call=half_call,
            haploid="as-diploid",
            engine=engine,
        )
    else:
        source = genotypes
    sample_sex, sex_summary = sex_codes(tuple(source.samples), sex)
    if sex_summary is not None and sex_summary["samples_not_in_sex_input"]:
        warnings.warn(
            f"{sex_summary['source']}: gives no sex for {sex_summary['samples_not_in_sex_input']}"
            f" of {len(source.samples)} samples; they are of unknown sex (chrY not counted, "
            "chrX diploid, as PLINK 2)",
            ScoreWarning,
            stacklevel=3,
        )
    # Checksums for the provenance, computed in a thread while the genotypes are read
    # (hashlib releases the GIL on large blocks).
    genotype_sums = _Checksums(source.paths)
    detected_build = getattr(source, "build", lambda: None)()
    target_build = genome_build or detected_build
    scoring = load_scorefiles(
        scorefiles,
        drop_unscorable=drop_unscorable,
        use_harmonized=use_harmonized,
        build=target_build,
        catalog_options=catalog_options,
    )
    check_builds(scoring, target_build, stated=bool(genome_build), stacklevel=3)

    release_memory()
    sites = source.sites(_wanted_positions(scoring))
    release_memory()
    plans: list[MatchPlan] = []
    reports: list[MatchReport] = []
    for sf in scoring:
        plan, report = match_variants(
            sf,
            sites,
            keep_ambiguous=keep_ambiguous,
            min_overlap=min_overlap,
            scoring_build=sf.genome_build,
            target_build=target_build,
        )
        _refuse_haploid_dominance(sf, plan, sites, target_build)
        plans.append(plan)
        reports.append(report)
    plan = combine_plans(plans)
    row_class = _plan_classes(plan, sites, target_build)
    n_sites = len(sites)
    del sites  # the site table is not needed past matching
    match_report = combine_reports(reports)
    release_memory()

    n, s = len(source.samples), len(plan.score_ids)
    used = ~np.isnan(plan.weights)
    counts_alleles = allele_count_mask(plan)
    n_males = int((sample_sex == SEX_MALE).sum())
    # Rows the ploidy model changes: chrY and MT always, chrX only when someone is male.
    special = np.isin(row_class, SPECIAL_CLASSES if n_males else (Y, MT))
    # A source opened by the caller may report haploid calls as read (ploidy 1).
    raw_haploid = getattr(source, "haploid", "as-diploid") != "as-diploid"
    xchr_model = HAPLOID_POLICIES[haploid]
    y_variants = int((row_class == Y).sum())
    if y_variants and n > 0 and n_males == 0:
        warnings.warn(
            f"{y_variants} matched chrY variant(s) add nothing to any score: no sample is "
            "known to be male (as PLINK 2, chrY counts only in males); give each sample's "
            "sex with sex= (--sex)",
            ScoreWarning,
            stacklevel=3,
        )
    if haploid != "as-diploid" and n > 0 and n_males == 0 and (row_class == X_NONPAR).any():
        warnings.warn(
            f"haploid={haploid!r} changes only males' chrX calls, and no sample is known to "
            "be male: give each sample's sex with sex= (--sex)",
            ScoreWarning,
            stacklevel=3,
        )
    impute = MISSING_POLICIES[missing]
    accumulator = ScoreTotals(s, n, impute)
    try:
        for chunk in source.read(plan.record, plan.allele, chunk_size=chunk_size):
            idx = chunk.request
            chunk_dosage, chunk_ploidy, freq_ploidy = chunk.dosage, chunk.ploidy, None
            if raw_haploid or special[idx].any():
                chunk_dosage, chunk_ploidy, freq_ploidy = apply_ploidy_model(
                    chunk_dosage, chunk_ploidy, row_class[idx], sample_sex, xchr_model=xchr_model
                )
            accumulator.add(
                chunk_dosage,
                chunk_ploidy,
                plan.weights[idx],
                counts_alleles[idx],
                plan.effect_type[idx],
                plan.allele_frequency[idx],
                freq_ploidy,
            )
    finally:
        accumulator.close()
    totals = accumulator.totals()
    missing_ct = totals["missing_ct"]
    all_missing = accumulator.all_missing
    sums = np.ascontiguousarray(totals["sums"].T)
    _check_finite(sums, tuple(source.samples), plan.score_ids)

    variants_used = used.sum(axis=0).astype(np.int64)
    if all_missing:
        warnings.warn(
            f"{all_missing} matched variant(s) are missing in every sample; "
            + (
                "they were imputed at frequency 0.5, as PLINK 2 does"
                if missing != "none"
                else "they add nothing to any score"
            ),
            ScoreWarning,
            stacklevel=3,
        )
    provenance = {
        "prs_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "options": {
            "dosage": dosage,
            "samples": None if samples is None else len(samples),
            "missing": missing,
            "keep_ambiguous": keep_ambiguous,
            "min_overlap": min_overlap,
            "drop_unscorable": drop_unscorable,
            "use_harmonized": use_harmonized,
            "genome_build": genome_build,
            "half_call": half_call,
            "haploid": haploid,
            "sex": None if sex is None else (sex_summary or {}).get("source"),
            "chunk_size": chunk_size,
            "engine": type(source).__name__,
        },
        "genome_build": {"stated": genome_build, "detected": detected_build, "used": target_build},
        "sex": sex_summary,
        "genotypes": [
            {"path": str(Path(p).resolve()), "sha256": digest}
            for p, digest in zip(source.paths, genotype_sums.result(), strict=True)
        ],
        # What the genotype source reported doing another way (e.g. an index not used).
        "genotype_notes": [str(note) for note in getattr(source, "notes", ())],
        "scorefiles": [
            {
                "path": str(Path(sf.path).resolve()),
                "sha256": file_checksum(sf.path),
                "scores": list(sf.score_ids),
                "genome_build": sf.genome_build,
                "harmonized": sf.harmonized,
                "rows": sf.n_variants,
                "dropped_unscorable": sf.dropped,
                "warnings": list(sf.warnings),
                **sf.trait_info.as_dict(),
            }
            for sf in scoring
        ],
        "counts": {
            "samples": n,
            "sites_at_scoring_positions": n_sites,
            "variants_used": dict(zip(plan.score_ids, variants_used.tolist(), strict=True)),
            "missing_calls": dict(
                zip(plan.score_ids, missing_ct.sum(axis=1).tolist(), strict=True)
            ),
            "records_without_dosage_field_read_from_GT": getattr(source, "fallback_to_gt", 0),
            "variants_missing_in_every_sample": all_missing,
            "variants_by_chromosome_class": {
                name: int((row_class == code).sum())
                for name, code in (("X_nonPAR", X_NONPAR), ("Y", Y), ("MT", MT))
            },
            "match": match_report.counts.reset_index().to_dict(orient="records"),
        },
        "seconds": round(time.time() - started, 3),
    }
    return ScoreResult(
        samples=tuple(source.samples),
        score_ids=plan.score_ids,
        sums=sums,
        allele_ct=np.ascontiguousarray(totals["allele_ct"].T),
        denom=np.ascontiguousarray(totals["denom"].T),
        named_dosage=np.ascontiguousarray(totals["named"].T),
        missing_ct=np.ascontiguousarray(missing_ct.T),
        variants_used=variants_used,
        match_report=match_report,
        provenance=provenance,
        score_info={sid: sf.trait_info for sf in scoring for sid in sf.score_ids},
    )


def _site_of_records(sites: pd.DataFrame, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chromosome, position) of each target record in ``records`` (only those rows of the
    site table are turned into Python strings: it may hold millions of rows)."""
    site_record = sites["record"].to_numpy(dtype=np.int64)
    order = None
    if len(site_record) > 1 and (np.diff(site_record) < 0).any():
        order = np.argsort(site_record, kind="stable")
        site_record = site_record[order]
    at = np.searchsorted(site_record, records)
    if order is not None:
        at = order[at]
    chrom = sites["chrom"].iloc[at].to_numpy(dtype=object)
    return chrom, sites["pos"].to_numpy(dtype=np.int64)[at]


def _plan_classes(plan: MatchPlan, sites: pd.DataFrame, build: str | None) -> np.ndarray:
    """Chromosome class (:mod:`prs.ploidy`) of each plan row."""
    if len(plan) == 0:
        return np.zeros(0, dtype=np.int8)
    chrom, pos = _site_of_records(sites, plan.record)
    return record_classes(chrom, pos, build)


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
        kind = "dominant" if plan.effect_type[rows[i]] == 1 else "recessive"
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
