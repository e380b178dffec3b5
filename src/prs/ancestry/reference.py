"""The ancestry reference panel: built from reference genotypes, saved, loaded and checked.

A reference is a directory of two files: ``arrays.npz`` (numbers and names: the PCA variants
with their alleles, the standardisation, the loadings and singular values, the reference
samples' labels and PCs, allele frequencies per population) and ``reference.json`` (format
version, options, counts, provenance and the SHA-256 of ``arrays.npz``). :func:`load_reference`
refuses a directory whose checksum or format version does not match.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from prs.ancestry.pca import (
    PcaOptions,
    call_moments,
    candidate_sites,
    ld_prune,
    per_population_frequencies,
    read_hard_calls,
    reference_svd,
    scale_of,
    standardize,
)
from prs.errors import ReferencePanelError
from prs.genotypes import open_genotypes
from prs.genotypes.base import GenotypeSource, source_build
from prs.output import atomic_write, write_table
from prs.provenance import file_checksum, file_record, record

if TYPE_CHECKING:
    from prs.ancestry.similarity import PopulationModel

#: Version of the reference directory's layout; a different major version is refused.
FORMAT_VERSION = "1.1"
ARRAYS_FILE = "arrays.npz"
METADATA_FILE = "reference.json"
#: The reference samples' PCs and labels as a table (``IID``, ``SuperPop``, ``Population``,
#: ``PC1``..): what ``prs categorise --reference-pcs`` and ``--population-labels`` read.
PCS_FILE = "pcs.tsv"
#: Label columns of the population file (pgsc_calc's reference ``.psam``).
LABEL_COLUMNS = ("SuperPop", "Population")
#: Which variants' per-population frequencies a panel keeps (``build_reference(frequencies=)``).
FREQUENCY_SETS = ("pca", "candidates")


@dataclass(frozen=True)
class ReferencePanel:
    """A reference PCA and what placing a person against it needs.

    Attributes
    ----------
    variants
        The PCA variants: ``chrom``, ``pos``, ``ref``, ``alt`` (ALT is the counted allele).
    mean, scale
        ``float64[p]``: mean ALT dosage over the reference samples and the divisor
        (:data:`prs.ancestry.pca.SCALES`).
    loadings
        ``float64[p, dim_online]``: left singular vectors (orthonormal columns).
    singular_values
        ``float64[dim_online]``.
    samples, superpop, population
        Reference sample IDs and their labels.
    pcs
        ``float64[n_ref, n_pcs]``: the reference samples' PCs (``V[:, :n_pcs] * s``, as
        FRAPOSA).
    populations
        Label -> ``float64[p]`` ALT frequencies of the PCA variants among that label's samples
        (super-populations and populations).
    build
        Genome build of the positions.
    options
        The :class:`~prs.ancestry.pca.PcaOptions` used, as a dict.
    counts
        Variants removed by each selection rule, samples excluded and why.
    provenance
        :func:`prs.provenance.record` of the build (inputs with checksums).
    scores
        Reference samples' scores by score name (optional).
    """

    variants: pd.DataFrame
    mean: np.ndarray
    scale: np.ndarray
    loadings: np.ndarray
    singular_values: np.ndarray
    samples: tuple[str, ...]
    superpop: tuple[str, ...]
    population: tuple[str, ...]
    pcs: np.ndarray
    populations: dict[str, np.ndarray]
    build: str | None
    options: dict[str, Any]
    counts: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    checksum: str | None = None
    name: str = "reference"
    #: Score name -> ``float64[n_ref]``: each reference sample's score (NaN where not given),
    #: for per-population distributions (:meth:`score_distribution`, :func:`with_scores`).
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    #: ALT frequencies per population of more variants than the PCA's (every candidate site,
    #: before the MAF filter and LD pruning; ``build_reference(frequencies="candidates")``):
    #: ``chrom``, ``pos``, ``ref``, ``alt`` and one float column per label; None when only
    #: the PCA variants' are kept (:attr:`populations`).
    frequency_table: pd.DataFrame | None = None

    @property
    def n_variants(self) -> int:
        """PCA variants."""
        return len(self.variants)

    @property
    def n_pcs(self) -> int:
        """PCs given to targets."""
        return int(self.options["n_pcs"])

    @property
    def dim_stu(self) -> int:
        """PCs of the augmented decomposition (FRAPOSA's ``dim_stu``)."""
        return PcaOptions(**self.options).dims()[1]

    def identity(self) -> dict[str, str]:
        """Name and checksum (of the saved arrays; empty before saving), for provenance."""
        return {"reference": self.name, "sha256": self.checksum or ""}

    def score_distribution(self, score: str, *, by: str = "SuperPop") -> pd.DataFrame:
        """Per population (``by``: ``"SuperPop"`` or ``"Population"``) of the reference
        samples: ``n``, ``mean``, ``sd`` (ddof 1) of ``score`` and its 1st-99th percentiles
        (``p1``..``p99``, numpy's linear interpolation); samples without a score are left out.

        Raises
        ------
        ReferencePanelError
            The reference holds no score of that name.
        """
        if score not in self.scores:
            raise ReferencePanelError(
                f"reference {self.name!r} holds no score {score!r} (it has: "
                f"{', '.join(self.scores) or 'none'}); add it with with_scores()"
            )
        labels = np.array(self.superpop if by == "SuperPop" else self.population)
        return population_distribution(self.scores[score], labels, by=by)

    def labels(self, level: str = "SuperPop") -> tuple[str, ...]:
        """The reference samples' labels at ``level`` (``"SuperPop"`` or ``"Population"``)."""
        if level not in LABEL_COLUMNS:
            raise ReferencePanelError(f"label level must be one of {LABEL_COLUMNS}, not {level!r}")
        return self.superpop if level == "SuperPop" else self.population

    def allele_frequencies(self, population: str) -> pd.DataFrame:
        """ALT frequency in ``population`` (a super-population or population label) of every
        variant the panel holds frequencies for: ``chrom``, ``pos``, ``ref``, ``alt``,
        ``freq`` (NaN where that population has no call). Those are the candidate sites when
        the panel was built with ``frequencies="candidates"`` (:attr:`frequency_table`), the
        PCA variants otherwise.

        Raises
        ------
        ReferencePanelError
            ``population`` is not one of the panel's labels.
        """
        if population not in self.populations:
            raise ReferencePanelError(
                f"reference {self.name!r} has no population {population!r} (it has: "
                f"{', '.join(sorted(self.populations))})"
            )
        if self.frequency_table is not None:
            table = self.frequency_table
            return table[["chrom", "pos", "ref", "alt"]].assign(
                freq=table[population].to_numpy(np.float64)
            )
        return self.variants[["chrom", "pos", "ref", "alt"]].assign(
            freq=self.populations[population]
        )

    def population_model(
        self, *, label: str = "SuperPop", n_pcs: int | None = None, seed: int | None = None
    ) -> PopulationModel:
        """The most-similar-population model (:func:`~prs.ancestry.similarity.
        fit_population_model`) fitted on this panel's reference PCs and ``label``s; ``n_pcs``
        defaults to 5 (pgsc_calc ``--n_popcomp``) or the panel's PCs if fewer, ``seed`` to
        pgsc_calc's 32. The panel's samples are unrelated already (related ones were left out
        when it was built)."""
        from prs.ancestry.similarity import DEFAULT_N_PCS, DEFAULT_SEED, fit_population_model

        labels = pd.Series(self.labels(label), index=list(self.samples))
        return fit_population_model(
            self.pcs_frame(),
            labels,
            n_pcs=min(DEFAULT_N_PCS, self.n_pcs) if n_pcs is None else n_pcs,
            seed=DEFAULT_SEED if seed is None else seed,
            label=label,
        )

    def pcs_frame(self) -> pd.DataFrame:
        """Reference samples: ``IID``, ``SuperPop``, ``Population``, ``PC1``..``PCk`` (saved
        as :data:`PCS_FILE`, read by :func:`prs.calibrate.ancestry.read_pcs` and
        :func:`read_population_labels`)."""
        frame = pd.DataFrame(self.pcs, columns=[f"PC{i + 1}" for i in range(self.n_pcs)])
        frame.insert(0, "Population", list(self.population))
        frame.insert(0, "SuperPop", list(self.superpop))
        frame.insert(0, "IID", list(self.samples))
        return frame


def population_distribution(
    values: np.ndarray, labels: np.ndarray, *, by: str = "SuperPop"
) -> pd.DataFrame:
    """Per label (column ``by``): ``n``, ``mean``, ``sd`` (ddof 1) of the finite ``values``
    and their 1st-99th percentiles (``p1``..``p99``, numpy's linear interpolation).

    Examples
    --------
    >>> table = population_distribution(np.array([1.0, 3.0, 10.0, np.nan]),
    ...                                 np.array(["A", "A", "B", "B"]))
    >>> table[["SuperPop", "n", "mean", "p50"]].values.tolist()
    [['A', 2, 2.0, 2.0], ['B', 1, 10.0, 10.0]]
    """
    labels = np.asarray(labels)
    rows = []
    for pop in sorted(set(labels.tolist())):
        v = values[(labels == pop) & np.isfinite(values)]
        row = {by: pop, "n": len(v), "mean": v.mean() if len(v) else np.nan}
        row["sd"] = v.std(ddof=1) if len(v) > 1 else np.nan
        quantiles = np.percentile(v, np.arange(1, 100)) if len(v) else np.full(99, np.nan)
        row.update({f"p{q}": x for q, x in zip(range(1, 100), quantiles, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows)


def read_population_labels(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A population-label file: tab-separated with a header naming ``IID`` (or ``#IID``),
    ``SuperPop`` and ``Population`` (pgsc_calc's reference ``.psam``; other columns ignored).

    Raises
    ------
    ReferencePanelError
        The file is missing, lacks a column, or names a sample twice.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise ReferencePanelError(f"{path}: population label file not found") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ReferencePanelError(f"{path}: cannot read the population labels ({exc})") from exc
    table = table.rename(columns={"#IID": "IID"})
    absent = [c for c in ("IID", *LABEL_COLUMNS) if c not in table.columns]
    if absent:
        raise ReferencePanelError(
            f"{path}: population label file lacks column(s) {', '.join(absent)} (header: "
            f"{', '.join(table.columns)}; expected IID, SuperPop, Population as a .psam)"
        )
    twice = table["IID"].duplicated()
    if twice.any():
        line = int(np.flatnonzero(twice)[0]) + 2
        raise ReferencePanelError(
            f"{path} line {line}: sample {table['IID'][twice].iloc[0]} is labelled twice"
        )
    return table[["IID", *LABEL_COLUMNS]]


def build_reference(
    genotypes: GenotypeSource | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    labels: pd.DataFrame | str | os.PathLike[str],
    *,
    related: Iterable[str] | None = None,
    target: GenotypeSource | pd.DataFrame | None = None,
    build: str | None = None,
    options: PcaOptions | None = None,
    name: str = "reference",
    frequencies: str = "pca",
) -> ReferencePanel:
    """Build a reference panel: select PCA variants, standardise, PCA, label.

    Parameters
    ----------
    genotypes
        Reference genotypes: a source or paths (:func:`prs.open_genotypes`: VCF, PLINK, ...).
    labels
        Population labels (:func:`read_population_labels` or its table): the samples used are
        those labelled, present in ``genotypes`` and not in ``related``.
    related
        Sample IDs left out (e.g. PLINK 2 ``--king-cutoff``'s ``.king.cutoff.out.id``).
    target
        A target source or site table: only variants it also has are used (pgsc_calc
        intersects reference and target first), so every PCA variant can be read in it.
    build
        Genome build, when the genotype files do not say it (for the high-LD region list).
    options
        :class:`~prs.ancestry.pca.PcaOptions` (default as pgsc_calc).
    name
        A name for the reference (recorded in each projection's provenance).
    frequencies
        Which variants' per-population ALT frequencies the panel keeps: ``"pca"`` (default,
        the PCA variants) or ``"candidates"`` (every candidate site, before the MAF filter
        and LD pruning: what :mod:`prs.scoring.reference_freq` imputes missing genotypes
        from; 8 bytes x labels per site).

    Returns
    -------
    ReferencePanel

    Raises
    ------
    ReferencePanelError
        Too few samples or variants left to compute the PCs.
    """
    options = options or PcaOptions()
    n_pcs, _, dim_online = options.dims()
    if frequencies not in FREQUENCY_SETS:
        raise ReferencePanelError(
            f"frequencies must be one of {FREQUENCY_SETS}, not {frequencies!r}"
        )
    paths: list[str] = []
    if not isinstance(genotypes, GenotypeSource):
        paths = [str(genotypes)] if isinstance(genotypes, str | os.PathLike) else list(genotypes)
        genotypes = open_genotypes(paths)
    label_path = None
    if not isinstance(labels, pd.DataFrame):
        label_path = str(labels)
        labels = read_population_labels(labels)
    build = build or source_build(genotypes)
    related_ids = set(related or ())
    by_id = labels.set_index("IID")
    in_files = {s: i for i, s in enumerate(genotypes.samples)}
    chosen = [s for s in genotypes.samples if s in by_id.index and s not in related_ids]
    counts: dict[str, Any] = {
        "samples_in_genotypes": len(in_files),
        "samples_unlabelled": sum(s not in by_id.index for s in genotypes.samples),
        "samples_related_excluded": sum(s in related_ids for s in genotypes.samples),
        "samples_used": len(chosen),
    }
    if len(chosen) <= dim_online:
        raise ReferencePanelError(
            f"{len(chosen)} labelled, unrelated reference samples: too few for a PCA of "
            f"{dim_online} components (dim_online); lower n_pcs or add samples"
        )
    target_sites = target if isinstance(target, pd.DataFrame) or target is None else target.sites()
    sites, site_counts = candidate_sites(
        genotypes.sites(),
        build=build,
        exclude_high_ld=options.exclude_high_ld,
        target_sites=target_sites,
    )
    counts.update(site_counts)
    calls, rounded = read_hard_calls(
        genotypes, sites, sample_index=np.array([in_files[s] for s in chosen], dtype=np.int64)
    )
    counts["dosages_rounded_to_hard_calls"] = rounded
    chosen_labels = by_id.loc[chosen]
    superpop = chosen_labels["SuperPop"].to_numpy(str)
    population = chosen_labels["Population"].to_numpy(str)
    frequency_table = (
        _frequency_table(sites, calls, (superpop, population))
        if frequencies == "candidates"
        else None
    )
    freq, mean, sd = call_moments(calls)
    common = np.isfinite(freq) & (np.minimum(freq, 1 - freq) >= options.maf) & (sd > 0)
    counts["below_maf"] = int((~common).sum())
    sites, calls, mean, sd = sites[common], calls[common], mean[common], sd[common]
    pruned = ld_prune(
        calls,
        sites["chrom"].to_numpy(),
        window=options.ld_window,
        step=options.ld_step,
        r2=options.ld_r2,
        moments=(mean, sd),
    )
    counts["ld_pruned"] = int((~pruned).sum())
    sites, calls, mean, sd = sites[pruned], calls[pruned], mean[pruned], sd[pruned]
    counts["pca_variants"] = len(sites)
    if len(sites) <= dim_online:
        raise ReferencePanelError(
            f"{len(sites)} PCA variants left after selection ({counts}): too few for "
            f"{dim_online} components"
        )
    scale = scale_of(mean, sd, options.scale)
    loadings, s, v, counts["svd"] = reference_svd(
        standardize(calls, mean, scale),
        dim_online,
        n_oversamples=options.n_oversamples,
        n_iter=options.n_iter,
        seed=options.seed,
    )
    populations: dict[str, np.ndarray] = {}
    for level in (superpop, population):
        names = sorted(set(level))
        freqs = per_population_frequencies(calls, level, names)
        populations.update({n: freqs[:, j] for j, n in enumerate(names)})
    inputs = [file_record(p) for p in [*paths, *([label_path] if label_path else [])]]
    return ReferencePanel(
        variants=sites[["chrom", "pos", "ref", "alt"]].reset_index(drop=True),
        mean=mean,
        scale=scale,
        loadings=loadings,
        singular_values=s,
        samples=tuple(chosen),
        superpop=tuple(superpop),
        population=tuple(population),
        pcs=v[:, :n_pcs] * s[:n_pcs],
        populations=populations,
        build=build,
        options=asdict(options),
        counts=counts,
        provenance=record(
            {**asdict(options), "frequencies": frequencies}, inputs=inputs, counts=counts
        ),
        name=name,
        frequency_table=frequency_table,
    )


def _frequency_table(
    sites: pd.DataFrame, calls: np.ndarray, levels: tuple[np.ndarray, ...]
) -> pd.DataFrame:
    """``chrom``, ``pos``, ``ref``, ``alt`` of ``sites`` and the ALT frequency of
    each under every label of ``levels`` (float64: the frequencies are exact ratios)."""
    table = sites[["chrom", "pos", "ref", "alt"]].reset_index(drop=True)
    columns: dict[str, np.ndarray] = {}
    for level in levels:
        names = sorted(set(level))
        freqs = per_population_frequencies(calls, level, names)
        columns.update({n: freqs[:, j] for j, n in enumerate(names)})
    return pd.concat([table, pd.DataFrame(columns)], axis=1)


def with_scores(panel: ReferencePanel, scores: pd.DataFrame) -> ReferencePanel:
    """``panel`` with the reference samples' scores added (a table with ``IID`` and one
    column per score, e.g. ``prs score``'s output on the reference genotypes); samples of the
    reference the table lacks get NaN, samples not in the reference are ignored.

    Raises
    ------
    ReferencePanelError
        No ``IID`` column, an IID twice, or no reference sample in the table.
    """
    if "IID" not in scores.columns:
        raise ReferencePanelError(f"score table has no IID column ({', '.join(scores.columns)})")
    if scores["IID"].duplicated().any():
        twice = scores["IID"][scores["IID"].duplicated()].iloc[0]
        raise ReferencePanelError(f"score table lists sample {twice} twice")
    table = scores.set_index(scores["IID"].astype(str))
    shared = table.index.intersection(list(panel.samples))
    if len(shared) == 0:
        raise ReferencePanelError("no reference sample is in the score table (IIDs differ?)")
    added = dict(panel.scores)
    for column in table.columns.drop("IID"):
        values = pd.to_numeric(table[column], errors="coerce")
        added[str(column)] = values.reindex(list(panel.samples)).to_numpy(np.float64)
    return replace(panel, scores=added)


def save_reference(panel: ReferencePanel, path: str | os.PathLike[str]) -> ReferencePanel:
    """Write ``panel`` to the directory ``path`` (created); returns it with its checksum.

    Each file is written atomically, the arrays first: a directory whose metadata does not
    match its arrays (an interrupted overwrite) is refused by :func:`load_reference`.
    """
    directory = Path(path)
    pops = sorted(panel.populations)
    arrays = {
        "chrom": panel.variants["chrom"].to_numpy(str),
        "pos": panel.variants["pos"].to_numpy(np.int64),
        "ref": panel.variants["ref"].to_numpy(str),
        "alt": panel.variants["alt"].to_numpy(str),
        "mean": panel.mean,
        "scale": panel.scale,
        "loadings": panel.loadings,
        "singular_values": panel.singular_values,
        "samples": np.array(panel.samples, dtype=str),
        "superpop": np.array(panel.superpop, dtype=str),
        "population": np.array(panel.population, dtype=str),
        "pcs": panel.pcs,
        "population_names": np.array(pops, dtype=str),
        "population_frequencies": np.column_stack([panel.populations[p] for p in pops])
        if pops
        else np.empty((panel.n_variants, 0)),
        "score_names": np.array(list(panel.scores), dtype=str),
        "score_values": np.column_stack(list(panel.scores.values()))
        if panel.scores
        else np.empty((len(panel.samples), 0)),
    }
    if panel.frequency_table is not None:
        table = panel.frequency_table
        arrays.update(
            {
                "ft_chrom": table["chrom"].to_numpy(str),
                "ft_pos": table["pos"].to_numpy(np.int64),
                "ft_ref": table["ref"].to_numpy(str),
                "ft_alt": table["alt"].to_numpy(str),
                "ft_values": table[pops].to_numpy(np.float64),
            }
        )
    with atomic_write(directory / ARRAYS_FILE, "wb") as fh:
        np.savez(fh, **arrays)
    checksum = file_checksum(directory / ARRAYS_FILE)
    write_table(panel.pcs_frame(), directory / PCS_FILE)
    meta = {
        "format": "prs ancestry reference",
        "format_version": FORMAT_VERSION,
        "name": panel.name,
        "build": panel.build,
        "n_variants": panel.n_variants,
        "n_samples": len(panel.samples),
        "options": panel.options,
        "counts": panel.counts,
        "files": {
            ARRAYS_FILE: {"sha256": checksum},
            PCS_FILE: {"sha256": file_checksum(directory / PCS_FILE)},
        },
        "provenance": panel.provenance,
    }
    with atomic_write(directory / METADATA_FILE) as fh:
        json.dump(meta, fh, indent=1, default=str)
        fh.write("\n")
    return replace(panel, checksum=checksum)


def load_reference(path: str | os.PathLike[str]) -> ReferencePanel:
    """Read a reference directory written by :func:`save_reference`, checking it.

    Raises
    ------
    ReferencePanelError
        A file is missing, the format version is not this library's, or the arrays' SHA-256
        differs from the one recorded (a damaged or partly overwritten reference).
    """
    directory = Path(path)
    meta_path = directory / METADATA_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReferencePanelError(
            f"{directory}: not a prs reference ({METADATA_FILE} missing; build one with "
            "`prs reference build` or fetch one with `prs reference fetch`)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ReferencePanelError(
            f"{meta_path}: cannot read the reference metadata ({exc})"
        ) from exc
    version = str(meta.get("format_version", ""))
    if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise ReferencePanelError(
            f"{meta_path}: reference format version {version or '(none)'}; this prs reads "
            f"version {FORMAT_VERSION.split('.')[0]}.x (rebuild the reference with this prs)"
        )
    expected = meta.get("files", {}).get(ARRAYS_FILE, {}).get("sha256")
    arrays_path = directory / ARRAYS_FILE
    if not arrays_path.is_file():
        raise ReferencePanelError(f"{arrays_path}: reference arrays missing")
    found = file_checksum(arrays_path)
    if found != expected:
        raise ReferencePanelError(
            f"{arrays_path}: SHA-256 {found} differs from the {expected} recorded in "
            f"{METADATA_FILE}: the reference is damaged or was partly overwritten; rebuild or "
            "fetch it again"
        )
    with np.load(arrays_path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    variants = pd.DataFrame(
        {
            "chrom": arrays["chrom"].astype(object),
            "pos": arrays["pos"],
            "ref": arrays["ref"].astype(object),
            "alt": arrays["alt"].astype(object),
        }
    )
    names = [str(n) for n in arrays["population_names"]]
    return ReferencePanel(
        variants=variants,
        mean=arrays["mean"],
        scale=arrays["scale"],
        loadings=arrays["loadings"],
        singular_values=arrays["singular_values"],
        samples=tuple(str(s) for s in arrays["samples"]),
        superpop=tuple(str(s) for s in arrays["superpop"]),
        population=tuple(str(s) for s in arrays["population"]),
        pcs=arrays["pcs"],
        populations={n: arrays["population_frequencies"][:, j] for j, n in enumerate(names)},
        build=meta.get("build"),
        options=meta["options"],
        counts=meta.get("counts", {}),
        provenance=meta.get("provenance", {}),
        checksum=found,
        name=str(meta.get("name", directory.name)),
        scores={
            str(n): arrays["score_values"][:, j]
            for j, n in enumerate(arrays.get("score_names", np.array([], dtype=str)))
        },
        frequency_table=_loaded_frequency_table(arrays, names),
    )


def _loaded_frequency_table(arrays: dict[str, np.ndarray], names: list[str]) -> pd.DataFrame | None:
    """The saved :attr:`ReferencePanel.frequency_table` (None when the panel has none; a
    version 1.0 reference never has one)."""
    if "ft_values" not in arrays:
        return None
    table = pd.DataFrame(
        {
            "chrom": arrays["ft_chrom"].astype(object),
            "pos": arrays["ft_pos"],
            "ref": arrays["ft_ref"].astype(object),
            "alt": arrays["ft_alt"].astype(object),
        }
    )
    values = pd.DataFrame(arrays["ft_values"], columns=names)
    return pd.concat([table, values], axis=1)


__all__ = [
    "FORMAT_VERSION",
    "FREQUENCY_SETS",
    "ReferencePanel",
    "ReferencePanelError",
    "build_reference",
    "load_reference",
    "population_distribution",
    "read_population_labels",
    "save_reference",
    "with_scores",
]
