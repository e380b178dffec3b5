"""Projection of target samples onto a reference PCA: OADP (as FRAPOSA) and simple projection.

Simple projection (``"simple"``) places a standardised target genotype vector ``b`` at
``U_k^T b``, the reference loadings' coordinates. With many more variants than reference
samples those coordinates shrink towards zero (Lee, Zou & Wright 2010), which is why the PGS
Catalog Calculator uses FRAPOSA's *online augmentation, decomposition and Procrustes*
(``"oadp"``, Zhang, Dey & Lee 2020 Bioinformatics 36:3396): the target is added to the
reference as one more sample by an online SVD update of the reference's top ``dim_online``
components, the augmented sample coordinates (``dim_stu`` of them) are matched to the
reference PCs by a Procrustes transformation fitted on the reference samples (iterated
when ``dim_stu`` > ``n_pcs``, as FRAPOSA's ``procrustes_diffdim``), and the transformed
target row is its PCs.

How prs computes it (same result, different cost): the reference sample coordinates ``V`` of
the SVD have orthonormal columns orthogonal to the all-ones vector (each variant is centred
over the reference samples), so every n_ref-length quantity of FRAPOSA's update and
Procrustes fit -- ``V M``, its Gram matrices, its column means -- reduces to ``dim_online``
coordinates. A target then needs only ``U^T b`` and ``b^T b``, which accumulate over variant
chunks; OADP costs O(dim_online³) per target instead of O(n_ref dim_online²), and memory is
samples x dim_online whatever the number of variants. Targets are projected independently, so
one person's PCs equal that person's row of a batch projection.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from prs.errors import GenotypeFileError
from prs.genotypes.base import GenotypeSource

if TYPE_CHECKING:
    from prs.ancestry.reference import ReferencePanel

#: Projection methods: FRAPOSA's OADP (default, as pgsc_calc) and simple projection.
METHODS = ("oadp", "simple")
#: Dosages per variant chunk at most (float64: 32 MB), so memory is flat in the targets.
_CHUNK_VALUES = 4_000_000
#: FRAPOSA's Procrustes iteration: stop when the relative change is below this ...
PROCRUSTES_TOLERANCE = 1e-6
#: ... or after this many iterations.
PROCRUSTES_MAX_ITER = 10_000


@dataclass(frozen=True)
class Projection:
    """PCs of target samples on a reference.

    Attributes
    ----------
    samples
        Target sample IDs, in the genotype files' order.
    pcs
        ``float64[n_samples, n_pcs]``.
    method
        ``"oadp"`` or ``"simple"``.
    n_variants
        PCA variants in the reference.
    n_matched
        Of them, found in the target (same chrom, pos and alleles).
    n_flipped
        Matched with REF and ALT swapped (the dosage is 2 minus the target's).
    missing
        ``int64[n_samples]``: reference variants mean-imputed for each sample (absent from
        the target, or a missing call), i.e. standardised to 0 as FRAPOSA does.
    reference
        Name and checksum of the reference (provenance).
    """

    samples: tuple[str, ...]
    pcs: np.ndarray
    method: str
    n_variants: int
    n_matched: int
    n_flipped: int
    missing: np.ndarray
    reference: dict[str, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per sample: ``IID``, ``PC1``..``PCk``, ``missing_variants``."""
        frame = pd.DataFrame(self.pcs, columns=[f"PC{i + 1}" for i in range(self.pcs.shape[1])])
        frame.insert(0, "IID", list(self.samples))
        frame["missing_variants"] = self.missing
        return frame


@dataclass(frozen=True)
class TargetMatch:
    """Where each reference PCA variant is in a target's site table."""

    #: Indexes into the reference variant list of the matched variants, sorted by ``records``.
    reference_index: np.ndarray
    #: The target's record and allele index to read for each.
    records: np.ndarray
    alleles: np.ndarray
    #: True where the target's REF is the reference's ALT.
    flipped: np.ndarray


def match_target(reference_variants: pd.DataFrame, sites: pd.DataFrame) -> TargetMatch:
    """Match reference variants (chrom, pos, ref, alt) to a target's site table.

    Same chrom, pos and alleles; REF/ALT swapped is a flip (only for a biallelic target
    record, where the reference ALT's count is 2 minus the target ALT's). Positions the target
    has twice with the same alleles are ambiguous and refused.
    """
    ref = reference_variants.reset_index(drop=True).assign(reference_index=lambda t: t.index)
    target = sites[["chrom", "pos", "ref", "alt", "record", "allele_index", "n_alleles"]]
    same = ref.merge(target, on=["chrom", "pos", "ref", "alt"], how="inner")
    swapped = ref.merge(
        target[target["n_alleles"] == 2].rename(columns={"ref": "alt", "alt": "ref"}),
        on=["chrom", "pos", "ref", "alt"],
        how="inner",
    )
    both = pd.concat([same.assign(flipped=False), swapped.assign(flipped=True)])
    twice = both["reference_index"].duplicated(keep=False)
    if twice.any():
        row = both[twice].iloc[0]
        raise GenotypeFileError(
            f"target variant {row['chrom']}:{row['pos']} {row['ref']}/{row['alt']} appears in "
            "more than one record of the target files; remove the duplicate records"
        )
    both = both.sort_values(["record", "allele_index"], kind="stable")
    return TargetMatch(
        reference_index=both["reference_index"].to_numpy(np.int64),
        records=both["record"].to_numpy(np.int64),
        alleles=both["allele_index"].to_numpy(np.int64),
        flipped=both["flipped"].to_numpy(bool),
    )


def project(
    reference: ReferencePanel,
    genotypes: GenotypeSource,
    *,
    method: str = "oadp",
    chunk_size: int = 1024,
    sample_block: int = 2048,
) -> Projection:
    """Project every sample of ``genotypes`` onto ``reference``'s PCs.

    Parameters
    ----------
    reference
        A :class:`~prs.ancestry.reference.ReferencePanel` (:func:`build_reference` or
        :func:`load_reference`).
    genotypes
        A :class:`~prs.genotypes.GenotypeSource` (``prs.open_genotypes``), any number of
        samples, one included.
    method
        ``"oadp"`` (default, FRAPOSA's online augmentation, decomposition and Procrustes, as
        the PGS Catalog Calculator) or ``"simple"`` (``U^T b``; shrinks towards the centre).
    chunk_size
        Variants read at a time at most (fewer for many samples: a chunk holds at most 4
        million dosages); memory is that chunk plus samples x dim_online sums.
    sample_block
        Targets whose OADP update is computed together (memory, not results).

    Returns
    -------
    Projection

    Raises
    ------
    GenotypeFileError
        No reference variant is in the target, or a variant appears twice.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    # only the reference's positions are asked for (a source may then skip the rest, e.g.
    # an indexed whole-genome VCF of one person)
    wanted = {
        str(chrom): np.unique(group.to_numpy(np.int64))
        for chrom, group in reference.variants.groupby("chrom")["pos"]
    }
    match = match_target(reference.variants, genotypes.sites(wanted))
    if len(match.records) == 0:
        raise GenotypeFileError(
            f"{', '.join(genotypes.paths)}: none of the reference's {reference.n_variants} "
            "PCA variants is in the target (same chromosome, position and alleles); is the "
            f"target on the reference's build ({reference.build})?"
        )
    # variants per chunk so that a chunk's dosages stay near 32 MB however many targets
    rows = max(16, _CHUNK_VALUES // max(len(genotypes.samples), 1))
    ub, bb, missing = accumulate_projection(
        reference, genotypes, match, chunk_size=min(chunk_size, rows)
    )
    missing += reference.n_variants - len(match.records)
    n_pcs = reference.n_pcs
    if method == "simple":
        pcs = ub[:, :n_pcs].copy()
    else:
        pcs = oadp_blocks(
            ub, bb, reference.singular_values, n_pcs=n_pcs, dim_stu=reference.dim_stu,
            sample_block=sample_block,
        )  # fmt: skip
    return Projection(
        samples=tuple(genotypes.samples),
        pcs=pcs,
        method=method,
        n_variants=reference.n_variants,
        n_matched=len(match.records),
        n_flipped=int(match.flipped.sum()),
        missing=missing,
        reference=reference.identity(),
    )


def accumulate_projection(
    reference: ReferencePanel,
    genotypes: GenotypeSource,
    match: TargetMatch,
    *,
    chunk_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``U^T b``, ``b^T b`` and the count of missing calls of every target sample's
    standardised genotype vector ``b`` (absent variants 0), summed over variant chunks."""
    n = len(genotypes.samples)
    loadings = reference.loadings
    ub = np.zeros((n, loadings.shape[1]))
    bb = np.zeros(n)
    missing = np.zeros(n, dtype=np.int64)
    for chunk in genotypes.read(match.records, match.alleles, chunk_size=chunk_size):
        rows = match.reference_index[chunk.request]
        b, absent = _dosages(chunk.dosage)  # b: this chunk's own float64 copy
        missing += absent.sum(axis=0)
        flipped = match.flipped[chunk.request]
        if flipped.any():
            b[flipped] = 2.0 - b[flipped]
        b -= reference.mean[rows, None]
        b /= reference.scale[rows, None]
        b[absent] = 0.0
        ub += b.T @ loadings[rows]
        bb += np.einsum("ij,ij->j", b, b)
    return ub, bb, missing


def _dosages(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's dosages as a new float64 array (changed in place by the caller) and where
    they are missing. PLINK chunks carry int8 hard calls (negative: missing), converted here
    in numpy: the JIT kernel of :func:`prs.genotypes.base.chunk_dosages` costs ~1 s of Numba
    start-up, which would be most of one person's projection."""
    if values.dtype == np.int8:
        return values.astype(np.float64), values < 0
    return values.astype(np.float64, copy=True), np.isnan(values)


def oadp_blocks(
    ub: np.ndarray,
    bb: np.ndarray,
    singular_values: np.ndarray,
    *,
    n_pcs: int,
    dim_stu: int,
    sample_block: int = 2048,
    workers: int | None = None,
) -> np.ndarray:
    """:func:`oadp` of every target, in blocks of at most ``sample_block`` targets run on
    ``workers`` threads (default: one per CPU this process may use). Targets are independent
    and LAPACK's batched SVDs release the GIL, so the threads share the work without changing
    any result; the blocks are made even so that each thread gets as many."""
    n = len(ub)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    n_blocks = max(1, -(-n // sample_block))
    n_blocks = min(n, -(-n_blocks // workers) * workers) if n else 1
    size = max(1, -(-n // n_blocks))
    starts = range(0, n, size)
    pcs = np.empty((n, n_pcs))

    def one(start: int) -> None:
        stop = start + size
        pcs[start:stop] = _oadp(
            ub[start:stop], bb[start:stop], singular_values, n_pcs=n_pcs, dim_stu=dim_stu
        )

    from threadpoolctl import threadpool_limits

    # Thousands of tiny (dim_online-sized) SVDs: OpenBLAS's threads only contend on them
    # (20x slower on a busy 2-core machine), so BLAS runs single-threaded in each worker.
    with threadpool_limits(limits=1, user_api="blas"):
        if workers <= 1 or len(starts) <= 1:
            for start in starts:
                one(start)
        else:
            with ThreadPoolExecutor(max_workers=min(workers, len(starts))) as pool:
                list(pool.map(one, starts))
    return pcs


def oadp(
    ub: np.ndarray,
    bb: np.ndarray,
    singular_values: np.ndarray,
    *,
    n_pcs: int,
    dim_stu: int,
) -> np.ndarray:
    """FRAPOSA's OADP for a block of targets from their sufficient statistics.

    Parameters
    ----------
    ub
        ``[B, k]``: ``U^T b`` of each target on the reference's ``k`` = dim_online loadings.
    bb
        ``[B]``: ``b^T b``.
    singular_values
        The reference's top ``k`` singular values.
    n_pcs, dim_stu
        PCs returned; PCs of the augmented decomposition matched by Procrustes.

    Returns
    -------
    numpy.ndarray
        ``[B, n_pcs]``.
    """
    # Thousands of tiny (dim_online-sized) SVDs: OpenBLAS's threads only contend on them
    # (20x slower on a busy 2-core machine), so they run single-threaded.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _oadp(ub, bb, singular_values, n_pcs=n_pcs, dim_stu=dim_stu)


def _oadp(
    ub: np.ndarray, bb: np.ndarray, singular_values: np.ndarray, *, n_pcs: int, dim_stu: int
) -> np.ndarray:
    n_targets, k = ub.shape
    s = singular_values[:k]
    # The online SVD update (FRAPOSA's svd_online): the (k+1) x (k+1) middle matrix
    # [[diag(s), U^T b], [0, |b - U U^T b|]] of each target.
    residual = np.sqrt(np.maximum(bb - np.einsum("ij,ij->i", ub, ub), 0.0))
    middle = np.zeros((n_targets, k + 1, k + 1))
    middle[:, np.arange(k), np.arange(k)] = s
    middle[:, :k, k] = ub
    middle[:, k, k] = residual
    _, d_aug, vt_aug = np.linalg.svd(middle)
    # Augmented coordinates: the reference rows are V @ head, the target row is tail.
    rotation = np.swapaxes(vt_aug, 1, 2)[:, :, :dim_stu] * d_aug[:, None, :dim_stu]
    head, tail = rotation[:, :k, :], rotation[:, k, :]
    # The reference PCs V[:, :n_pcs] * s are V @ ref_coef.
    ref_coef = np.zeros((k, n_pcs))
    ref_coef[np.arange(n_pcs), np.arange(n_pcs)] = s[:n_pcs]
    rot, rho = _procrustes_to_reference(head, ref_coef, n_pcs)
    out = np.einsum("bi,bij->bj", tail, rot) * rho[:, None]
    return out[:, :n_pcs]


def _procrustes_to_reference(
    head: np.ndarray, ref_coef: np.ndarray, n_pcs: int
) -> tuple[np.ndarray, np.ndarray]:
    """FRAPOSA's ``procrustes_diffdim`` of ``V @ head[b]`` onto ``V @ ref_coef`` (padded with
    free columns ``V @ extra`` fitted iteratively), in V's coordinates: rotations and scales."""
    n_targets, k, dim_stu = head.shape
    extra = np.zeros((n_targets, k, dim_stu - n_pcs))
    target = np.concatenate([np.broadcast_to(ref_coef, (n_targets, k, n_pcs)), extra], axis=2)
    tr_xx = np.einsum("bij,bij->b", head, head)
    rot = np.empty((n_targets, dim_stu, dim_stu))
    rho = np.empty(n_targets)
    active = np.arange(n_targets)
    for _ in range(PROCRUSTES_MAX_ITER):
        cross = np.swapaxes(target[active], 1, 2) @ head[active]
        u, sv, vt = np.linalg.svd(cross)
        rot_a = np.swapaxes(vt, 1, 2) @ np.swapaxes(u, 1, 2)
        rho_a = sv.sum(axis=1) / tr_xx[active]
        rot[active], rho[active] = rot_a, rho_a
        if dim_stu == n_pcs:
            break
        moved = (head[active] @ rot_a)[:, :, n_pcs:] * rho_a[:, None, None]
        change = np.einsum("bij,bij->b", moved - extra[active], moved - extra[active])
        size = np.einsum("bij,bij->b", moved, moved)
        with np.errstate(invalid="ignore", divide="ignore"):
            done = change / size < PROCRUSTES_TOLERANCE
        extra[active[~done]] = moved[~done]
        target[active[~done], :, n_pcs:] = moved[~done]
        active = active[~done]
        if len(active) == 0:
            break
    return rot, rho


def project_calls(
    reference: ReferencePanel,
    standardized: np.ndarray,
    *,
    method: str = "oadp",
    variants: Sequence[int] | None = None,
) -> np.ndarray:
    """Project standardised genotype columns (reference variants x samples, 0 = missing)
    already in the reference's variant order (or at rows ``variants`` of it): the in-memory
    path the leave-out check and the tests use."""
    loadings = reference.loadings if variants is None else reference.loadings[list(variants)]
    ub = standardized.T.astype(np.float64) @ loadings
    if method == "simple":
        return ub[:, : reference.n_pcs]
    bb = np.einsum("ij,ij->j", standardized, standardized, dtype=np.float64)
    return oadp(ub, bb, reference.singular_values, n_pcs=reference.n_pcs, dim_stu=reference.dim_stu)
