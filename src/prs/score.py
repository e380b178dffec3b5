"""Scoring: match every scoring file to the genotypes, then stream dosage chunks through the
accumulate kernel for all scores in one pass.

Memory grows with samples x scores (the running totals) plus one chunk of
``chunk_size`` x samples dosages, never with the number of variants.
"""

from __future__ import annotations

import os
import platform
import re
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
from prs.errors import MatchError, ScoreError
from prs.genotypes import GenotypeSource, open_genotypes
from prs.genotypes.base import sorted_unique
from prs.kernels.accumulate import (
    IMPUTE_COHORT_MEAN,
    IMPUTE_GIVEN_FREQUENCY,
    IMPUTE_NONE,
    ScoreTotals,
)
from prs.match import DEFAULT_MIN_OVERLAP, MatchPlan, MatchReport, match_variants
from prs.memory import release_memory
from prs.report import file_checksum
from prs.weights.scorefile import ScoringFile, read_scorefile

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
)

_PGS_ID = re.compile(r"^PGS\d{6}$")


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
        ALLELE_CT: alleles observed (non-missing calls x ploidy).
    denom
        DENOM: alleles counted, imputed calls included when imputing (AVG = SUM / DENOM).
    named_dosage
        NAMED_ALLELE_DOSAGE_SUM: effect-allele dosage summed over observed calls.
    missing_ct
        ``int64[n, s]`` missing calls (imputed, or skipped with ``missing="none"``).
    variants_used
        ``int64[s]`` matched variants per score.
    match_report
        Every scoring row's fate (:class:`prs.match.MatchReport`), all files together.
    provenance
        Library version, options, inputs and their checksums, counts.
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

    @property
    def avg(self) -> np.ndarray:
        """AVG = SUM / DENOM (NaN where DENOM is 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.denom > 0, self.sums / self.denom, np.nan)

    def to_frame(self) -> pd.DataFrame:
        """Long table, one row per sample x score (columns :data:`SCORE_COLUMNS`)."""
        n, s = self.sums.shape
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


def load_scorefiles(
    scorefiles: str
    | os.PathLike[str]
    | ScoringFile
    | Sequence[str | os.PathLike[str] | ScoringFile],
    *,
    drop_unscorable: bool = False,
    use_harmonized: bool | None = None,
    build: str | None = None,
    catalog_options: dict[str, Any] | None = None,
) -> list[ScoringFile]:
    """Read scoring files given as paths, PGS IDs (fetched from the PGS Catalog) or objects.

    Raises
    ------
    ScoringFileError, CatalogError
        As :func:`prs.weights.read_scorefile` and :func:`prs.catalog.resolve`.
    ScoreError
        Two scores with the same name.
    """
    if isinstance(scorefiles, (str, os.PathLike, ScoringFile)):
        scorefiles = [scorefiles]
    loaded: list[ScoringFile] = []
    for spec in scorefiles:
        if isinstance(spec, ScoringFile):
            loaded.append(spec)
            continue
        path = Path(spec)
        if not path.exists() and _PGS_ID.match(str(spec)):
            from prs.weights.catalog import resolve

            path = resolve(str(spec), build=build, **(catalog_options or {}))
        loaded.append(
            read_scorefile(path, drop_unscorable=drop_unscorable, use_harmonized=use_harmonized)
        )
    seen: dict[str, str] = {}
    for sf in loaded:
        for sid in sf.score_ids:
            if sid in seen:
                raise ScoreError(
                    f"score name {sid!r} appears in {seen[sid]} and {sf.path}; "
                    "score names must be unique in one run"
                )
            seen[sid] = sf.path
    return loaded


def _combine_plans(plans: list[MatchPlan]) -> MatchPlan:
    total = sum(p.weights.shape[1] for p in plans)
    blocks = []
    offset = 0
    for p in plans:
        w = np.full((len(p), total), np.nan)
        w[:, offset : offset + p.weights.shape[1]] = p.weights
        blocks.append(w)
        offset += p.weights.shape[1]
    record = np.concatenate([p.record for p in plans])
    allele = np.concatenate([p.allele for p in plans])
    order = np.lexsort((allele, record))
    return MatchPlan(
        record=record[order],
        allele=allele[order],
        effect_type=np.concatenate([p.effect_type for p in plans])[order],
        weights=np.vstack(blocks)[order] if blocks else np.empty((0, total)),
        allele_frequency=np.concatenate([p.allele_frequency for p in plans])[order],
        line=np.concatenate([p.line for p in plans])[order],
        score_ids=tuple(s for p in plans for s in p.score_ids),
    )


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
        is an error.
    half_call, haploid
        Policies for ``0/.`` calls and haploid calls (see :class:`prs.genotypes.VcfSource`);
        defaults follow PLINK 2.
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

    Raises
    ------
    ScoringFileError, GenotypeFileError, MatchError, CatalogError, ScoreError
        Each names the file and the line or variant at fault.

    Examples
    --------
    >>> import prs
    >>> from prs.example import example_paths
    >>> paths = example_paths()
    >>> result = prs.score(paths.vcf, paths.scorefile)
    >>> result.sums.shape
    (200, 1)
    """
    started = time.time()
    if missing not in MISSING_POLICIES:
        raise ScoreError(f"missing must be one of {sorted(MISSING_POLICIES)}, not {missing!r}")
    if not 0.0 <= min_overlap <= 1.0:
        raise ScoreError(f"min_overlap must be within [0, 1], not {min_overlap}")
    if chunk_size < 1:
        raise ScoreError(f"chunk_size must be >= 1, not {chunk_size}")
    if isinstance(genotypes, (str, os.PathLike)) or (
        isinstance(genotypes, Sequence) and not isinstance(genotypes, str)
    ):
        source = open_genotypes(
            genotypes,
            samples=samples,
            dosage=dosage,
            half_call=half_call,
            haploid=haploid,
            engine=engine,
        )
    else:
        source = genotypes
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
    for sf in scoring:
        if sf.genome_build and target_build and sf.genome_build != target_build:
            stated = "stated" if genome_build else "detected from the VCF header"
            raise MatchError(
                f"{sf.path}: scoring file positions are {sf.genome_build} but the genotypes are "
                f"{target_build} ({stated}); use a scoring file harmonized to {target_build} "
                f"(e.g. the PGS Catalog's hmPOS_{target_build} file), or state the genotypes' "
                "build with genome_build= (--build) if the header is wrong"
            )
        if sf.genome_build is None:
            warnings.warn(
                f"{sf.path}: scoring file does not state its genome build; positions are "
                f"assumed to be {target_build or 'the genotypes build'}",
                stacklevel=2,
            )

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
        plans.append(plan)
        reports.append(report)
    plan = _combine_plans(plans)
    n_sites = len(sites)
    del sites  # the site table is not needed past matching
    match_report = (
        reports[0]
        if len(reports) == 1
        else MatchReport(
            variants=pd.concat([r.variants for r in reports], ignore_index=True),
            counts=pd.concat([r.counts for r in reports]),
            notes=tuple(n for r in reports for n in r.notes),
        )
    )
    release_memory()

    n, s = len(source.samples), len(plan.score_ids)
    # A record scored on two alleles (REF and ALT rows) counts its alleles once per score.
    used = ~np.isnan(plan.weights)
    counts_alleles = used.copy()
    for j in range(s):
        rows = np.flatnonzero(used[:, j])
        repeat = np.zeros(len(rows), dtype=bool)
        repeat[1:] = plan.record[rows][1:] == plan.record[rows][:-1]
        counts_alleles[rows[repeat], j] = False
    impute = MISSING_POLICIES[missing]
    accumulator = ScoreTotals(s, n, impute)
    try:
        for chunk in source.read(plan.record, plan.allele, chunk_size=chunk_size):
            idx = chunk.request
            accumulator.add(
                chunk.dosage,
                chunk.ploidy,
                plan.weights[idx],
                counts_alleles[idx],
                plan.effect_type[idx],
                plan.allele_frequency[idx],
            )
    finally:
        accumulator.close()
    totals = accumulator.totals()
    missing_ct = totals["missing_ct"]
    all_missing = accumulator.all_missing

    variants_used = used.sum(axis=0).astype(np.int64)
    if all_missing:
        warnings.warn(
            f"{all_missing} matched variant(s) are missing in every sample; "
            + (
                "they were imputed at frequency 0.5, as PLINK 2 does"
                if missing != "none"
                else "they add nothing to any score"
            ),
            stacklevel=2,
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
            "chunk_size": chunk_size,
            "engine": type(source).__name__,
        },
        "genome_build": {"stated": genome_build, "detected": detected_build, "used": target_build},
        "genotypes": [
            {"path": str(Path(p).resolve()), "sha256": digest}
            for p, digest in zip(source.paths, genotype_sums.result(), strict=True)
        ],
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
            "match": match_report.counts.reset_index().to_dict(orient="records"),
        },
        "seconds": round(time.time() - started, 3),
    }
    return ScoreResult(
        samples=tuple(source.samples),
        score_ids=plan.score_ids,
        sums=np.ascontiguousarray(totals["sums"].T),
        allele_ct=np.ascontiguousarray(totals["allele_ct"].T),
        denom=np.ascontiguousarray(totals["denom"].T),
        named_dosage=np.ascontiguousarray(totals["named"].T),
        missing_ct=np.ascontiguousarray(missing_ct.T),
        variants_used=variants_used,
        match_report=match_report,
        provenance=provenance,
    )
