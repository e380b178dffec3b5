"""Scoring against an ancestry reference panel (issue 14 items 5 and 6).

* :func:`score_with_reference_frequencies`: missing genotypes imputed at the allele frequency
  of each person's **most similar reference population** (the clinical single-sample case,
  where a cohort mean is meaningless). Each target is projected onto the reference PCA and
  assigned a population (:func:`prs.ancestry.place`); the samples of each population are then
  scored with ``missing="scorefile-freq"`` through scoring files whose effect-allele
  frequency is that population's, so a missing call counts ``2 f`` (PLINK 2's mean
  imputation, at the reference's frequency instead of the cohort's). The groups are put back
  in the input order.
* :func:`reference_score_distribution`: the per-population distribution of a score over the
  reference samples of a reference pack (PLINK 2 fileset + labels + related list), computed
  once and cached under the reference's checksum, the score's ID, the build and the scoring
  file's checksum.

Frequencies are looked up by chromosome, position and alleles, on the panel's strand or the
other (complemented alleles); the panel holds only non-ambiguous biallelic SNPs. A scoring row
the panel has no frequency for keeps the scoring file's own ``allelefrequency_effect`` or,
without one, the cohort frequency among the group's observed calls (PLINK 2's mean
imputation); every such row is listed in the provenance and a :class:`ScoreWarning` counts
them.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs.ancestry import PopulationModel, ReferencePanel, SupportRule, load_reference, place
from prs.ancestry.reference import (
    LABEL_COLUMNS,
    ReferencePanelError,
    population_distribution,
    read_population_labels,
)
from prs.errors import ScoreError, ScoreWarning, warn
from prs.genome import canonical_build
from prs.genotypes import GenotypeSource, open_genotypes
from prs.genotypes.base import source_build
from prs.match import complement
from prs.output import atomic_write
from prs.provenance import file_checksum
from prs.scoring.pipeline import score
from prs.scoring.result import ScoreResult
from prs.weights.load import load_scorefiles
from prs.weights.scorefile import ScoringFile

#: What a scoring row without a reference frequency is imputed at, in the provenance.
FALLBACK_SCOREFILE = "the scoring file's allelefrequency_effect"
FALLBACK_COHORT = (
    "the effect-allele frequency among the population group's observed calls (PLINK 2 "
    "mean imputation; 0.5 when no call is observed)"
)
#: Options of :func:`prs.score` this module sets itself.
_OWN_OPTIONS = ("missing", "samples")


def effect_allele_frequencies(
    scorefile: ScoringFile, table: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Frequency of each scoring row's effect allele in ``table`` and whether it was found on
    the other strand.

    Parameters
    ----------
    scorefile
        A scoring file (its ``variants``: ``chrom``, ``pos``, ``effect_allele``,
        ``other_allele``).
    table
        ``chrom``, ``pos``, ``ref``, ``alt``, ``freq`` (ALT frequency), one row per position
        (:meth:`ReferencePanel.allele_frequencies`).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``float64[rows]``: ``freq`` where the effect allele is ALT, ``1 - freq`` where it is
        REF (same or complemented strand; the other allele, when given, must be the other
        one), NaN where the panel has no frequency; ``bool[rows]``: matched on the
        complemented strand.

    Examples
    --------
    >>> from prs.weights.scorefile import ScoringFile
    >>> rows = pd.DataFrame({"line": [1, 2, 3, 4], "rsid": "", "chrom": "1",
    ...     "pos": [10, 10, 20, 30], "effect_allele": ["G", "A", "T", "G"],
    ...     "other_allele": ["A", "", "C", "T"], "effect_type": "additive",
    ...     "allele_frequency": np.nan})
    >>> sf = ScoringFile("x", {}, ("s",), None, rows, np.ones((4, 1)))
    >>> table = pd.DataFrame({"chrom": "1", "pos": [10, 20], "ref": ["A", "A"],
    ...                       "alt": ["G", "G"], "freq": [0.25, 0.1]})
    >>> freq, flipped = effect_allele_frequencies(sf, table)
    >>> freq.tolist()[:3], bool(np.isnan(freq[3])), flipped.tolist()
    ([0.25, 0.75, 0.9], True, [False, False, True, False])
    """
    rows = scorefile.variants[["chrom", "pos", "effect_allele", "other_allele"]].reset_index(
        drop=True
    )
    rows = rows.assign(row=np.arange(len(rows)), chrom=rows["chrom"].astype(str))
    panel = table[["chrom", "pos", "ref", "alt", "freq"]].drop_duplicates(
        ["chrom", "pos"], keep=False
    )
    panel = panel.assign(chrom=panel["chrom"].astype(str), pos=panel["pos"].astype(np.int64))
    merged = rows.merge(panel, on=["chrom", "pos"], how="inner")
    e = merged["effect_allele"].to_numpy(str)
    o = merged["other_allele"].fillna("").to_numpy(str)
    r, a = merged["ref"].to_numpy(str), merged["alt"].to_numpy(str)
    f = merged["freq"].to_numpy(np.float64)
    ec = np.array([complement(x) for x in e], dtype=str)
    oc = np.array([complement(x) for x in o], dtype=str)
    no_other = o == ""
    direct_alt = (e == a) & ((o == r) | no_other)
    direct_ref = (e == r) & ((o == a) | no_other)
    flip_alt = ~direct_alt & ~direct_ref & (ec == a) & ((oc == r) | no_other)
    flip_ref = ~direct_alt & ~direct_ref & (ec == r) & ((oc == a) | no_other)
    value = np.select([direct_alt | flip_alt, direct_ref | flip_ref], [f, 1.0 - f], default=np.nan)
    freq = np.full(len(rows), np.nan)
    flipped = np.zeros(len(rows), dtype=bool)
    at = merged["row"].to_numpy(np.int64)
    freq[at] = value
    flipped[at] = (flip_alt | flip_ref) & np.isfinite(value)
    return freq, flipped


def score_with_reference_frequencies(
    genotypes: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    scorefiles: str
    | os.PathLike[str]
    | ScoringFile
    | Sequence[str | os.PathLike[str] | ScoringFile],
    reference: ReferencePanel | str | os.PathLike[str],
    *,
    samples: Sequence[str] | None = None,
    label: str = "SuperPop",
    method: str = "oadp",
    support: SupportRule | None = None,
    model: PopulationModel | None = None,
    **score_kwargs: Any,
) -> ScoreResult:
    """Score with missing genotypes imputed at each person's most similar reference
    population's allele frequencies.

    Parameters
    ----------
    genotypes
        Genotype paths (as :func:`prs.score`; each population group is scored from them).
    scorefiles
        Scoring files, PGS IDs or :class:`~prs.weights.ScoringFile` objects.
    reference
        A :class:`~prs.ancestry.ReferencePanel` or its directory. Built with
        ``frequencies="candidates"`` (``prs reference build --frequencies candidates``) it
        holds the frequencies of every candidate site; otherwise only of its PCA variants.
    samples
        Score only these samples, in this order (default: all, in the files' order).
    label
        Population level: ``"SuperPop"`` (default) or ``"Population"``.
    method
        Projection, ``"oadp"`` (default) or ``"simple"``.
    support
        The :class:`~prs.ancestry.SupportRule` recorded for each person (a person outside
        the reference's support is still imputed at their most similar population's
        frequencies; the provenance says so).
    model
        The population model, fitted once (``panel.population_model(label=...)``) for many
        calls (a clinic scoring one person at a time); default: fitted on the panel here.
    **score_kwargs
        Any other option of :func:`prs.score` (``dosage``, ``genome_build``, ``min_overlap``,
        ...), but not ``missing``, which is this function's own.

    Returns
    -------
    ScoreResult
        Rows in the input order. ``provenance["reference_frequencies"]`` holds the reference
        (name, SHA-256), the label level, each sample's population, probability and support,
        and per population the scoring rows the panel has no frequency for and what they
        were imputed at instead.

    Raises
    ------
    ScoreError
        ``missing`` given, or an open source instead of paths.
    ReferencePanelError
        The reference's build differs from the genotypes'.
    GenotypeFileError, ScoringFileError, MatchError
        As :func:`prs.score`.

    Warns
    -----
    ScoreWarning
        Scoring rows the reference has no frequency for (counted, with the fallback).
    """
    given = [k for k in _OWN_OPTIONS if k in score_kwargs]
    if given:
        raise ScoreError(
            f"score_with_reference_frequencies sets {given[0]}= itself (missing genotypes are "
            "imputed at the reference population's frequencies)"
        )
    if isinstance(genotypes, GenotypeSource):
        raise ScoreError(
            "score_with_reference_frequencies needs genotype paths (each population group is "
            "scored from them), not an open GenotypeSource"
        )
    panel = reference if isinstance(reference, ReferencePanel) else load_reference(reference)
    source = open_genotypes(
        genotypes,
        format=score_kwargs.get("genotype_format"),
        samples=samples,
        dosage=score_kwargs.get("dosage", "GT"),
        half_call=score_kwargs.get("half_call", "error"),
        engine=score_kwargs.get("engine", "auto"),
    )
    stated = score_kwargs.get("genome_build")
    target_build = canonical_build(stated) or stated or source_build(source)
    if panel.build and target_build and canonical_build(panel.build) != target_build:
        raise ReferencePanelError(
            f"reference {panel.name!r} is on {panel.build}, the genotypes "
            f"({', '.join(source.paths)}) on {target_build}: build or fetch a reference on "
            "the genotypes' build"
        )
    placement = place(panel, source, method=method, label=label, support=support, model=model)
    similarity = placement.similarity
    ids = [str(s) for s in source.samples]
    scoring = load_scorefiles(
        scorefiles,
        drop_unscorable=score_kwargs.get("drop_unscorable", False),
        use_harmonized=score_kwargs.get("use_harmonized"),
        build=target_build,
        catalog_options=score_kwargs.get("catalog_options"),
        # Lifted here, before the frequencies are looked up at the rows' positions (the
        # scoring below then finds the files in the target build: nothing lifts twice).
        liftover=score_kwargs.get("liftover", False),
        liftover_md5=score_kwargs.get("liftover_md5"),
        liftover_sha256=score_kwargs.get("liftover_sha256"),
    )
    groups: dict[str, list[int]] = {}
    for i, pop in enumerate(similarity.most_similar):
        groups.setdefault(str(pop), []).append(i)
    results: list[tuple[list[int], ScoreResult]] = []
    absent_by_pop: dict[str, list[dict[str, Any]]] = {}
    flips_by_pop: dict[str, dict[str, int]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for pop, rows in groups.items():
            table = panel.allele_frequencies(pop)
            replaced, absent, flips = _with_frequencies(scoring, table)
            absent_by_pop[pop], flips_by_pop[pop] = absent, flips
            group = score(
                genotypes,
                replaced,
                samples=[ids[i] for i in rows],
                missing="scorefile-freq",
                **score_kwargs,
            )
            results.append((rows, group))
    notes = _absent_warnings(absent_by_pop, pca_only=panel.frequency_table is None)
    reissued = _reissue_once(caught, notes)
    result = _combine(ids, results)
    result.provenance["warnings"] = reissued
    result.provenance["reference_frequencies"] = {
        "reference": panel.identity(),
        "label": label,
        "method": method,
        "frequencies_from": "candidate sites"
        if panel.frequency_table is not None
        else "PCA variants",
        "samples": [
            {
                "sample_id": ids[i],
                "population": str(similarity.most_similar[i]),
                "probability": float(similarity.probability[i]),
                "supported": bool(similarity.supported[i]),
                "support_reason": str(similarity.support_reason[i]),
            }
            for i in range(len(ids))
        ],
        "rows_without_reference_frequency": absent_by_pop,
        "rows_found_on_the_other_strand": flips_by_pop,
        "population_similarity": similarity.info,
    }
    return result


def _with_frequencies(
    scoring: list[ScoringFile], table: pd.DataFrame
) -> tuple[list[ScoringFile], list[dict[str, Any]], dict[str, int]]:
    """The scoring files with their effect-allele frequency column replaced by ``table``'s
    where it has one, the rows it has none for (with what they fall back to), and per file
    the rows found on the complemented strand."""
    replaced: list[ScoringFile] = []
    absent: list[dict[str, Any]] = []
    flips: dict[str, int] = {}
    for sf in scoring:
        freq, flipped = effect_allele_frequencies(sf, table)
        own = sf.variants["allele_frequency"].to_numpy(np.float64)
        found = np.isfinite(freq)
        variants = sf.variants.assign(allele_frequency=np.where(found, freq, own))
        replaced.append(replace(sf, variants=variants))
        for j in np.flatnonzero(~found):
            row = sf.variants.iloc[j]
            absent.append(
                {
                    "scorefile": sf.path,
                    "line": int(row["line"]),
                    "variant": f"{row['chrom']}:{row['pos']}:{row['other_allele']}:"
                    f"{row['effect_allele']}",
                    "imputed_at": FALLBACK_SCOREFILE if np.isfinite(own[j]) else FALLBACK_COHORT,
                }
            )
        flips[sf.path] = int(flipped.sum())
    return replaced, absent, flips


def _absent_warnings(
    absent_by_pop: dict[str, list[dict[str, Any]]], *, pca_only: bool
) -> list[str]:
    """One warning text per population with scoring rows the reference has no frequency for
    (with a hint when the panel keeps only its PCA variants' frequencies)."""
    hint = (
        "; the reference keeps frequencies of its PCA variants only: build it with "
        "`prs reference build --frequencies candidates` for every candidate site"
        if pca_only
        else ""
    )
    texts = []
    for pop, rows in absent_by_pop.items():
        if not rows:
            continue
        own = sum(r["imputed_at"] == FALLBACK_SCOREFILE for r in rows)
        texts.append(
            f"{len(rows)} scoring row(s) have no allele frequency in the reference for {pop} "
            f"(first {rows[0]['variant']}, {rows[0]['scorefile']} line {rows[0]['line']}): a "
            f"missing call there is imputed at the scoring file's frequency ({own} rows) or "
            f"the group's observed frequency ({len(rows) - own} rows); all are listed in "
            f"provenance['reference_frequencies']{hint}"
        )
    return texts


def _reissue_once(caught: list[warnings.WarningMessage], notes: list[str]) -> list[dict[str, str]]:
    """Issue each distinct warning of the groups' runs once (each group's run records the
    same matching warnings), then this module's; returns them for the provenance."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, str]] = []
    for w in caught:
        key = (w.category.__name__, str(w.message))
        if key in seen:
            continue
        seen.add(key)
        out.append({"category": key[0], "message": key[1]})
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    for text in notes:
        out.append({"category": ScoreWarning.__name__, "message": text})
        warn(text, ScoreWarning)
    return out


def _combine(ids: list[str], results: list[tuple[list[int], ScoreResult]]) -> ScoreResult:
    """The groups' results as one, rows in the input order (``ids``)."""
    first = results[0][1]
    order = np.concatenate([np.asarray(rows, dtype=np.int64) for rows, _ in results])
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))

    def stacked(name: str) -> np.ndarray:
        return np.ascontiguousarray(np.vstack([getattr(r, name) for _, r in results])[position])

    for _, group in results[1:]:
        if group.score_ids != first.score_ids or not np.array_equal(
            group.variants_used, first.variants_used
        ):
            raise ScoreError("population groups matched different variants (internal error)")
    # the first group's record (options, inputs, matching are the same for every group),
    # with the counts and times of the whole run
    provenance = dict(first.provenance)
    provenance["groups"] = [
        {"samples": len(rows), "seconds": r.provenance.get("seconds")} for rows, r in results
    ]
    provenance["seconds"] = round(sum(r.provenance.get("seconds") or 0 for _, r in results), 3)
    counts = dict(provenance.get("counts") or {})
    counts["samples"] = len(ids)
    counts["missing_calls"] = dict(
        zip(first.score_ids, stacked("missing_ct").sum(axis=0).tolist(), strict=True)
    )
    provenance["counts"] = counts
    return ScoreResult(
        samples=tuple(ids),
        score_ids=first.score_ids,
        sums=stacked("sums"),
        allele_ct=stacked("allele_ct"),
        denom=stacked("denom"),
        named_dosage=stacked("named_dosage"),
        missing_ct=stacked("missing_ct"),
        variants_used=first.variants_used,
        match_report=first.match_report,
        provenance=provenance,
        score_info=first.score_info,
    )


# --------------------------------------------------------------------------------------------
# Per-population score distributions from a reference pack (item 6)

#: Files of one cached distribution (under ``<cache>/reference/distributions/<key>/``).
DISTRIBUTION_SCORES = "scores.tsv"
DISTRIBUTION_META = "distribution.json"


@dataclass(frozen=True)
class ReferenceDistribution:
    """A score over a reference pack's unrelated, labelled samples.

    Attributes
    ----------
    scores
        One row per reference sample: ``IID``, ``SuperPop``, ``Population`` and one column
        per score (its SUM).
    key
        The cache key: SHA-256 of the reference's checksum, the score IDs, the build and the
        scoring file's SHA-256.
    cached
        True when read from the cache (nothing was scored).
    provenance
        The reference, build, scoring file (path, SHA-256), the key and the scoring run's
        counts.
    """

    scores: pd.DataFrame
    key: str
    cached: bool
    provenance: dict[str, Any]

    def distribution(self, score: str | None = None, *, by: str = "SuperPop") -> pd.DataFrame:
        """Per population (``by``): ``n``, ``mean``, ``sd`` and ``p1``..``p99`` of ``score``
        (default: the only score) (:func:`prs.ancestry.population_distribution`)."""
        names = [c for c in self.scores.columns if c not in ("IID", *LABEL_COLUMNS)]
        if score is None and len(names) == 1:
            score = names[0]
        if score not in names:
            raise ReferencePanelError(
                f"no score {score!r} in this distribution (it has: {', '.join(names)})"
            )
        if by not in LABEL_COLUMNS:
            raise ReferencePanelError(f"by must be one of {LABEL_COLUMNS}, not {by!r}")
        return population_distribution(
            self.scores[score].to_numpy(np.float64), self.scores[by].to_numpy(str), by=by
        )


def reference_score_distribution(
    reference: str | os.PathLike[str],
    scorefile: str | os.PathLike[str],
    *,
    build: str,
    cache_dir: str | os.PathLike[str],
    catalog_options: dict[str, Any] | None = None,
    **score_kwargs: Any,
) -> ReferenceDistribution:
    """Score a reference pack's unrelated, labelled samples with ``scorefile`` once, and keep
    the result in the cache for every later call.

    Parameters
    ----------
    reference
        A reference pack: its archive (``.tar.zst``, e.g. ``prs reference fetch``'s file,
        extracted beside itself once) or an extracted directory
        (:func:`prs.ancestry.fetch.pack_files`).
    scorefile
        A scoring file path or PGS ID (fetched for ``build``, as ``prs score``).
    build
        ``"GRCh37"`` or ``"GRCh38"``: the pack's fileset and the scoring file's positions.
    cache_dir
        The cache directory (distributions go to ``<cache>/reference/distributions/``).
    catalog_options
        Options for fetching a PGS ID (``offline``, ``mirror``, ...).
    **score_kwargs
        Other options of :func:`prs.score` (``min_overlap``, ``missing``, ...). They are
        part of the cache key.

    Returns
    -------
    ReferenceDistribution

    Raises
    ------
    ReferencePanelError
        No fileset for ``build`` in the pack, or no labelled unrelated sample.
    ScoringFileError, CatalogError, MatchError, GenotypeFileError
        As :func:`prs.score`.
    """
    from prs.ancestry.fetch import pack_files

    files = pack_files(reference, build)
    (sf,) = load_scorefiles(
        scorefile,
        build=build,
        catalog_options={**(catalog_options or {}), "cache_dir": cache_dir},
    )
    scorefile_sha = file_checksum(sf.path)
    identity = {
        "reference": files.checksum,
        "scores": list(sf.score_ids),
        "build": build,
        "scorefile_sha256": scorefile_sha,
        "options": {k: repr(v) for k, v in sorted(score_kwargs.items())},
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    entry = Path(cache_dir) / "reference" / "distributions" / key
    if (entry / DISTRIBUTION_META).is_file() and (entry / DISTRIBUTION_SCORES).is_file():
        meta = json.loads((entry / DISTRIBUTION_META).read_text(encoding="utf-8"))
        table = pd.read_csv(
            entry / DISTRIBUTION_SCORES, sep="\t", dtype={c: str for c in ("IID", *LABEL_COLUMNS)}
        )
        return ReferenceDistribution(table, key, True, meta)
    labels = read_population_labels(files.labels).set_index("IID")
    related = set() if files.related is None else _id_list(files.related)
    people = [s for s in labels.index if s not in related]
    if not people:
        raise ReferencePanelError(f"{files.labels}: no labelled sample outside the related list")
    result = score(files.genotypes, sf, samples=people, genome_build=build, **score_kwargs)
    table = labels.loc[list(result.samples)].reset_index()
    for j, sid in enumerate(result.score_ids):
        table[sid] = result.sums[:, j]
    provenance = {
        **identity,
        "key": key,
        "genotypes": str(files.genotypes),
        "labels": str(files.labels),
        "related": None if files.related is None else str(files.related),
        "samples": len(people),
        "samples_related_excluded": len(related & set(labels.index)),
        "scorefile": sf.path,
        "counts": result.provenance.get("counts", {}),
    }
    entry.mkdir(parents=True, exist_ok=True)
    with atomic_write(entry / DISTRIBUTION_SCORES) as fh:
        table.to_csv(fh, sep="\t", index=False)
    with atomic_write(entry / DISTRIBUTION_META) as fh:
        json.dump(provenance, fh, indent=1, default=str)
    return ReferenceDistribution(table, key, False, provenance)


def _id_list(path: Path) -> set[str]:
    """Sample IDs of a KING-cutoff list (one per line; a ``#`` header line skipped; with two
    columns FID IID, the IID)."""
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            ids.add(fields[-1])
    return ids
