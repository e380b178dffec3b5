"""The reference PCA: which variants, how they are standardised, how they are pruned, the SVD.

The steps follow the PGS Catalog Calculator's ancestry workflow (pgsc_calc, which runs PLINK 2
then FRAPOSA, Zhang, Dey & Lee 2020 Bioinformatics 36:3396): biallelic autosomal SNPs,
strand-ambiguous pairs (A/T, C/G) and long-range high-LD regions excluded, minor-allele
frequency >= 0.05 in the reference, LD-pruned, each variant standardised over the reference
samples, then a truncated SVD of the standardised variants x samples matrix.

Genotypes are held as int8 hard calls (0, 1, 2 copies of ALT; -1 missing): a quarter of float32,
the size that lets 3,000 samples x 100,000 variants fit in 300 MB. Fractional dosages (DS/GP) are
rounded to the nearest hard call, as PLINK does when it writes a ``.bed``; the number of rounded
calls is returned so the caller can record it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from prs.errors import GenotypeFileError
from prs.genotypes.base import GenotypeSource

#: Complementary base of each SNP allele (a pair of complements is strand-ambiguous).
_COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
#: The standardisations: ``"empirical"`` divides by the variant's standard deviation over the
#: reference samples (FRAPOSA's ``standardize``), ``"binomial"`` by sqrt(2p(1-p)) (EIGENSOFT's
#: smartpca, Patterson, Price & Reich 2006).
SCALES = ("empirical", "binomial")
#: Int8 code of a missing hard call.
MISSING_CALL = -1


@dataclass(frozen=True)
class PcaOptions:
    """How the reference PCA is computed (defaults as the PGS Catalog Calculator's).

    Attributes
    ----------
    n_pcs
        PCs kept for the reference and projected for targets (pgsc_calc: 10).
    dim_stu
        PCs of the augmented decomposition before the Procrustes step (FRAPOSA's ``dim_stu``,
        default 2 x ``n_pcs``).
    dim_online
        Components of the reference SVD kept for the online update (FRAPOSA's
        ``dim_online``, default 2 x ``dim_stu``); the artefact stores this many loadings.
    maf
        Minimum minor-allele frequency in the reference (pgsc_calc: 0.05).
    ld_window, ld_step, ld_r2
        LD pruning: window and step in variants, r² threshold (pgsc_calc runs PLINK 2
        ``--indep-pairwise 1000 50 0.05``).
    exclude_high_ld
        Drop variants in long-range high-LD regions (:func:`high_ld_regions`).
    scale
        ``"empirical"`` (FRAPOSA) or ``"binomial"`` (smartpca), see :data:`SCALES`.
    n_iter, n_oversamples, seed
        Randomized SVD (Halko, Martinsson & Tropp 2011, :func:`reference_svd`): power
        iterations, extra random directions, random seed (fixed: a build is reproducible).
    """

    n_pcs: int = 10
    dim_stu: int | None = None
    dim_online: int | None = None
    maf: float = 0.05
    ld_window: int = 1000
    ld_step: int = 50
    ld_r2: float = 0.05
    exclude_high_ld: bool = True
    scale: str = "empirical"
    n_iter: int = 6
    n_oversamples: int = 40
    seed: int = 20260427

    def dims(self) -> tuple[int, int, int]:
        """``(n_pcs, dim_stu, dim_online)`` with FRAPOSA's defaults filled in."""
        dim_stu = self.dim_stu or 2 * self.n_pcs
        dim_online = self.dim_online or 2 * dim_stu
        if not 1 <= self.n_pcs <= dim_stu <= dim_online:
            raise ValueError(
                f"need 1 <= n_pcs <= dim_stu <= dim_online, got {self.n_pcs}, {dim_stu}, "
                f"{dim_online}"
            )
        return self.n_pcs, dim_stu, dim_online

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, not {self.scale!r}")
        if not 0 <= self.maf < 0.5:
            raise ValueError(f"maf must be in [0, 0.5), not {self.maf}")
        if not 0 < self.ld_r2 <= 1 or self.ld_window < 2 or self.ld_step < 1:
            raise ValueError("LD pruning needs 0 < ld_r2 <= 1, ld_window >= 2, ld_step >= 1")
        self.dims()


def high_ld_regions(build: str) -> pd.DataFrame:
    """Long-range high-LD regions of ``build`` (``"GRCh37"`` or ``"GRCh38"``): chrom, start, end.

    The lists pgsc_calc uses (from plinkQC and the University of Michigan's list after
    Anderson et al. 2010 and Price et al. 2008); the data files cite their source.

    Examples
    --------
    >>> regions = high_ld_regions("GRCh37")
    >>> len(regions), list(regions.columns), int(regions["end"].iloc[0])
    (20, ['chrom', 'start', 'end'], 52227412)
    """
    if build not in ("GRCh37", "GRCh38"):
        raise ValueError(f"no high-LD region list for build {build!r} (GRCh37 or GRCh38)")
    ref = resources.files("prs.ancestry") / "data" / f"high_ld_regions_{build}.tsv"
    with resources.as_file(ref) as path:
        table = pd.read_csv(path, sep="\t", comment="#", dtype={"chrom": str})
    return table[["chrom", "start", "end"]]


def candidate_sites(
    sites: pd.DataFrame,
    *,
    build: str | None,
    exclude_high_ld: bool = True,
    target_sites: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The reference sites a PCA may use, and how many each rule removed.

    Rules, in order: autosomal (1-22); biallelic SNP with A/C/G/T alleles; not
    strand-ambiguous (A/T, C/G); one record per position; outside the long-range high-LD
    regions of ``build`` (when ``exclude_high_ld``; a build must then be known); and, when
    ``target_sites`` are given, present in the target with the same two alleles (either
    order).

    Parameters
    ----------
    sites
        A source's site table (:data:`prs.genotypes.SITE_COLUMNS`).
    build
        Genome build of the reference (for the region list).
    exclude_high_ld
        Apply the high-LD region list.
    target_sites
        A target's site table, or None.

    Returns
    -------
    (DataFrame, dict)
        The kept rows (in record order) and ``{rule: variants removed}``.
    """
    counts: dict[str, int] = {"sites": int(sites["record"].nunique())}
    keep = sites[sites["chrom"].isin([str(c) for c in range(1, 23)])]
    counts["not_autosomal"] = counts["sites"] - int(keep["record"].nunique())
    snp = (
        (keep["n_alleles"] == 2)
        & keep["ref"].isin(list(_COMPLEMENT))
        & keep["alt"].isin(list(_COMPLEMENT))
    )
    counts["not_biallelic_snp"] = int(keep["record"].nunique()) - int(snp.sum())
    keep = keep[snp]
    ambiguous = keep["ref"].map(_COMPLEMENT) == keep["alt"]
    counts["strand_ambiguous"] = int(ambiguous.sum())
    keep = keep[~ambiguous]
    duplicated = keep.duplicated(["chrom", "pos"], keep=False)
    counts["duplicate_position"] = int(duplicated.sum())
    keep = keep[~duplicated]
    if exclude_high_ld:
        if build is None:
            raise GenotypeFileError(
                "the reference genotypes do not say their genome build, which the high-LD "
                "region list needs: give build= (--build GRCh37/GRCh38) or turn the region "
                "exclusion off"
            )
        inside = np.zeros(len(keep), dtype=bool)
        pos = keep["pos"].to_numpy()
        chrom = keep["chrom"].to_numpy()
        for region in high_ld_regions(build).itertuples(index=False):
            inside |= (chrom == region.chrom) & (pos >= region.start) & (pos <= region.end)
        counts["high_ld_region"] = int(inside.sum())
        keep = keep[~inside]
    if target_sites is not None:
        shared = _shared_with(keep, target_sites)
        counts["not_in_target"] = int((~shared).sum())
        keep = keep[shared]
    counts["candidates"] = len(keep)
    return keep.reset_index(drop=True), counts


def _shared_with(sites: pd.DataFrame, target: pd.DataFrame) -> np.ndarray:
    """Rows of ``sites`` whose chrom, pos and allele pair (either order) the target has."""
    pairs = target.assign(
        a=np.minimum(target["ref"], target["alt"]), b=np.maximum(target["ref"], target["alt"])
    )
    key = set(zip(pairs["chrom"], pairs["pos"], pairs["a"], pairs["b"], strict=True))
    lo = np.minimum(sites["ref"], sites["alt"])
    hi = np.maximum(sites["ref"], sites["alt"])
    return np.array(
        [k in key for k in zip(sites["chrom"], sites["pos"], lo, hi, strict=True)], dtype=bool
    )


def read_hard_calls(
    source: GenotypeSource,
    sites: pd.DataFrame,
    *,
    sample_index: np.ndarray | None = None,
    chunk_size: int = 2048,
) -> tuple[np.ndarray, int]:
    """ALT hard calls of ``sites`` (rows) for the chosen samples (columns), int8, -1 missing.

    Returns the calls and how many fractional dosages were rounded to a hard call.
    """
    columns = np.arange(len(source.samples)) if sample_index is None else sample_index
    calls = np.empty((len(sites), len(columns)), dtype=np.int8)
    rounded = 0
    records = sites["record"].to_numpy(np.int64)
    alleles = sites["allele_index"].to_numpy(np.int64)
    every_sample = np.array_equal(columns, np.arange(len(source.samples)))
    for chunk in source.read(records, alleles, chunk_size=chunk_size):
        if chunk.dosage.dtype == np.int8:  # PLINK hard calls (negative: missing), as they are
            part = chunk.dosage if every_sample else chunk.dosage[:, columns]
            calls[chunk.request] = np.maximum(part, MISSING_CALL)  # any negative -> -1
            continue
        dosage = chunk.dosage[:, columns]
        missing = np.isnan(dosage)
        hard = np.rint(np.where(missing, 0.0, dosage))
        rounded += int(np.count_nonzero(hard != np.where(missing, 0.0, dosage)))
        hard = np.clip(hard, 0, 2).astype(np.int8)
        hard[missing] = MISSING_CALL
        calls[chunk.request] = hard
    return calls, rounded


#: Rows of calls converted to float64 at a time (memory: this x samples x 8 bytes x 2).
_MOMENT_ROWS = 2048


def call_moments(calls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per variant: ALT frequency, mean and (population) standard deviation of the
    non-missing calls; NaN where a variant has no call. Computed a block of rows at a time."""
    mean = np.empty(len(calls))
    var = np.empty(len(calls))
    for start in range(0, len(calls), _MOMENT_ROWS):
        block = calls[start : start + _MOMENT_ROWS]
        observed = block != MISSING_CALL
        n = observed.sum(axis=1)
        values = np.where(observed, block, 0).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = values.sum(axis=1) / n
            var[start : start + len(block)] = np.einsum("ij,ij->i", values, values) / n - m**2
        mean[start : start + len(block)] = m
    return mean / 2, mean, np.sqrt(np.maximum(var, 0.0))


def scale_of(mean: np.ndarray, sd: np.ndarray, scale: str) -> np.ndarray:
    """The divisor of each variant under ``scale`` (:data:`SCALES`); 1 where it is 0."""
    if scale == "binomial":
        p = mean / 2
        sd = np.sqrt(2 * p * (1 - p))
    return np.where(sd > 0, sd, 1.0)


def standardize(calls: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(calls - mean) / scale`` as float32, missing calls 0 (mean-imputed), as FRAPOSA."""
    out = calls.astype(np.float32)
    out -= mean[:, None].astype(np.float32)
    out /= scale[:, None].astype(np.float32)
    out[calls == MISSING_CALL] = 0.0
    return out


def ld_prune(
    calls: np.ndarray,
    chrom: np.ndarray,
    *,
    window: int = 1000,
    step: int = 50,
    r2: float = 0.05,
    moments: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Variants kept by greedy r² pruning within windows of ``window`` variants.

    Each chromosome's variants are visited in order; a variant is kept when its r² with every
    variant already kept among the ``window - 1`` variants before it is at most ``r2``
    (correlations of the calls, missing calls mean-imputed). The result has the defining
    property of PLINK's ``--indep-pairwise window step r2``: no two kept variants within a
    window exceed the threshold; PLINK visits windows ``step`` variants at a time and drops
    the lower-MAF variant of a pair, so its set differs somewhat (the tests compare the two).
    ``step`` sets how many variants are compared in one matrix product.

    Each variant is standardised once; the kept variants of the current window are held
    standardised (in a buffer of 4 x ``window`` x samples float32) for the products with later
    blocks.

    Parameters
    ----------
    moments
        ``(mean, sd)`` of each row of ``calls`` (:func:`call_moments`), when already known.

    Returns
    -------
    numpy.ndarray
        bool, one per row of ``calls``.
    """
    mean, sd = call_moments(calls)[1:] if moments is None else moments
    scale = scale_of(mean, sd, "empirical")
    usable = (sd > 0) & np.isfinite(sd)
    n_samples = calls.shape[1]
    keep = np.zeros(len(calls), dtype=bool)
    boundaries = np.flatnonzero(np.r_[True, chrom[1:] != chrom[:-1], True])
    for start, stop in itertools.pairwise(boundaries):
        # room for 4 windows: the live rows are moved to the front once every ~3 windows
        held = _KeptWindow(4 * window + step, n_samples)
        for block in range(start, stop, step):
            rows = np.arange(block, min(block + step, stop))
            z = standardize(calls[rows], mean[rows], scale[rows])
            held.drop_until(block - window)  # kept rows more than window - 1 before the block
            blocked = ~usable[rows]
            if held.size:
                r_earlier = (held.z @ z.T).astype(np.float64) / n_samples
                near = held.rows[:, None] > rows[None, :] - window
                blocked |= ((r_earlier**2 > r2) & near).any(axis=0)
            conflict = (((z @ z.T).astype(np.float64) / n_samples) ** 2 > r2).tolist()
            kept_in_block: list[int] = []
            for j in np.flatnonzero(~blocked).tolist():
                if any(conflict[k][j] for k in kept_in_block):
                    continue
                kept_in_block.append(j)
            keep[rows[kept_in_block]] = True
            held.add(rows[kept_in_block], z[kept_in_block])
    return keep


class _KeptWindow:
    """The kept variants of the current window, standardised: row numbers and ``z`` rows in
    one preallocated buffer (older rows dropped from the front, compacted when full)."""

    def __init__(self, capacity: int, n_samples: int) -> None:
        self._z = np.empty((capacity, n_samples), dtype=np.float32)
        self._rows = np.empty(capacity, dtype=np.int64)
        self._first = 0
        self._end = 0

    @property
    def size(self) -> int:
        return self._end - self._first

    @property
    def z(self) -> np.ndarray:
        return self._z[self._first : self._end]

    @property
    def rows(self) -> np.ndarray:
        return self._rows[self._first : self._end]

    def drop_until(self, row: int) -> None:
        """Forget rows at or before ``row``."""
        self._first += int(np.searchsorted(self.rows, row, side="right"))

    def add(self, rows: np.ndarray, z: np.ndarray) -> None:
        if self._end + len(rows) > len(self._rows):
            live = self.size
            self._z[:live] = self._z[self._first : self._end]
            self._rows[:live] = self._rows[self._first : self._end]
            self._first, self._end = 0, live
        self._z[self._end : self._end + len(rows)] = z
        self._rows[self._end : self._end + len(rows)] = rows
        self._end += len(rows)


#: Below this many multiply-adds (variants x samples x min of the two) the exact SVD is cheap
#: and is used; above it the randomized one.
EXACT_SVD_BUDGET = 1e10


def reference_svd(
    standardized: np.ndarray,
    n_components: int,
    *,
    n_oversamples: int,
    n_iter: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Truncated SVD ``standardized ~= U diag(s) V^T`` of a variants x samples matrix.

    Large matrices: scikit-learn's ``randomized_svd`` (Halko, Martinsson & Tropp 2011, with
    ``n_iter`` power iterations and ``n_oversamples`` extra directions), which costs
    O(variants x samples x components) against the O(variants x samples x min(variants,
    samples)) of an exact decomposition (FRAPOSA's is an eigendecomposition of X^T X), and is
    the maintained, tested implementation of that algorithm in the scientific-Python stack.
    Small matrices (under :data:`EXACT_SVD_BUDGET` multiply-adds): LAPACK's exact SVD, whose
    trailing components (needed by OADP's online update) the randomized one approximates
    less well when the spectrum is flat.

    Signs are fixed so the largest-magnitude loading of each component is positive, whichever
    method ran.

    Returns
    -------
    (U, s, V, method)
        Loadings (variants x k, orthonormal columns), singular values (k), sample
        coordinates (samples x k, orthonormal columns), ``"exact"`` or ``"randomized"``.
    """
    p, n = standardized.shape
    k = min(n_components, p, n)
    if p * n * min(p, n) <= EXACT_SVD_BUDGET:
        u, s, vt = np.linalg.svd(standardized.astype(np.float64), full_matrices=False)
        u, s, vt, method = u[:, :k], s[:k], vt[:k], "exact"
    else:
        from sklearn.utils.extmath import randomized_svd

        u, s, vt = randomized_svd(
            standardized, k, n_oversamples=n_oversamples, n_iter=n_iter, random_state=seed
        )
        method = "randomized"
    u, s, v = u.astype(np.float64), s.astype(np.float64), vt.T.astype(np.float64)
    signs = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(k)])
    signs[signs == 0] = 1.0
    return u * signs, s, v * signs, method


def per_population_frequencies(
    calls: np.ndarray, labels: np.ndarray, populations: Mapping[str, None] | list[str]
) -> np.ndarray:
    """ALT frequency of each variant (rows) in each population (columns, in ``populations``
    order), over non-missing calls; NaN where a population has no call.

    Counted a block of rows at a time as products with the samples' population indicators
    (float32: the counts are integers far below 2^24, so exact)."""
    names = list(populations)
    labels = np.asarray(labels)
    member = np.zeros((calls.shape[1], len(names)), dtype=np.float32)
    for j, pop in enumerate(names):
        member[labels == pop, j] = 1.0
    out = np.full((len(calls), len(names)), np.nan)
    for start in range(0, len(calls), _MOMENT_ROWS):
        block = calls[start : start + _MOMENT_ROWS]
        observed = block != MISSING_CALL
        alt = np.where(observed, block, 0).astype(np.float32) @ member
        n = observed.astype(np.float32) @ member
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + len(block)] = np.where(
                n > 0, alt.astype(np.float64) / (2.0 * n), np.nan
            )
    return out
