"""PLINK hard calls (``int8`` allele copies 0/1/2, ``-9`` missing, as pgenlib reads them).

A chunk of hard calls stays ``int8`` from the reader to the scorer (8x smaller than float64
dosages); these kernels turn calls of one allele into the other's and into float64 dosages
where a float64 row is needed (the accumulate kernel's per-variant body, the matrix-product
path, the ploidy model).
"""

from __future__ import annotations

import numpy as np

from prs.kernels.jit import kernel

#: A missing hard call, as pgenlib and PLINK 2 write it (any negative value is missing).
MISSING_CALL = -9


@kernel
def call_row_dosage(calls: np.ndarray, out: np.ndarray) -> None:
    """``out[i]`` = ``calls[i]`` as float64, NaN where the call is missing (negative)."""
    for i in range(len(calls)):
        c = calls[i]
        out[i] = np.float64(c) if c >= 0 else np.nan


@kernel
def call_dosages(calls: np.ndarray, out: np.ndarray) -> None:
    """:func:`call_row_dosage` over every row of ``int8[k, n]`` ``calls`` into
    ``float64[k, n]`` ``out``."""
    for k in range(calls.shape[0]):
        call_row_dosage(calls[k], out[k])


@kernel
def other_allele_calls(calls: np.ndarray, rows: np.ndarray) -> None:
    """In place, rows ``rows`` of ``int8[k, n]`` biallelic ``calls`` become copies of the
    other allele: ``2 - c``; missing calls stay missing."""
    for r in range(len(rows)):
        row = calls[rows[r]]
        for i in range(len(row)):
            c = row[i]
            if c >= 0:
                row[i] = 2 - c


@kernel
def complete_call_total(calls: np.ndarray, prow: np.ndarray) -> int:
    """Copies in a row of calls when every call is observed and diploid, else -1 (one pass
    over int8 that the compiler vectorises)."""
    total = 0
    bad = 0
    for i in range(len(calls)):
        c = calls[i]
        total += np.int64(c)
        bad |= (c < 0) | (prow[i] != 2)
    return -1 if bad else total


#: Rows shorter than this are summed in int32 by :func:`observed_call_total` (their copies,
#: at most 2 x 2**30 - 2, fit it); longer ones in int64.
INT32_CALLS = 1 << 30


@kernel
def observed_call_total(calls: np.ndarray) -> int:
    """:func:`complete_call_total` of a row whose calls are all diploid (known beforehand):
    the ploidy row is not read (half the memory traffic of the check).

    Summed in int32, a missing call seen by the OR of the calls' sign bits (int32 and int8
    lanes in a vector, four and eight times int64's: the grouped hard-call pass, this check
    included, 3.2 against 4.4 ms per 20 million calls); a row of :data:`INT32_CALLS` calls or
    more in int64. (With missing calls an int32 sum may wrap past 2.4e8 calls: it is not
    returned then.)
    """
    n = len(calls)
    if n >= INT32_CALLS:
        total = 0
        bad = 0
        for i in range(n):
            c = calls[i]
            total += np.int64(c)
            bad |= c < 0
        return -1 if bad else total
    part = np.int32(0)
    signs = np.int8(0)
    for i in range(n):
        c = calls[i]
        # (cast back each time: Numba would widen ``part += c`` and ``signs |= c`` to int64)
        part = np.int32(part + c)
        signs = np.int8(signs | c)
    return -1 if signs < 0 else np.int64(part)


#: Rows of complete calls added in one pass over a score's totals: the totals of a sample
#: stay in a register across the rows instead of a read and a write per row (the pass was
#: bound by those, not by the calls).
CALL_ROW_GROUP = 4


@kernel
def add_complete_calls(
    calls: np.ndarray,
    ploidy: np.ndarray,
    additive: np.ndarray,
    weights: np.ndarray,
    counts_alleles: np.ndarray,
    sums: np.ndarray,
    named_dosage: np.ndarray,
    uniform_ct: np.ndarray,
    copies: np.ndarray,
    start: int,
    diploid: bool = False,
) -> int:
    """Add rows of ``int8[k, n]`` ``calls`` from row ``start`` on while they are
    ``additive``, diploid and observed in every sample; return the first row not added
    (``k`` when all were). ``diploid``: every ``ploidy`` is 2, known beforehand (the
    ploidy rows are then not read).

    The totals are those :func:`prs.kernels.accumulate.accumulate_calls` adds for such a
    row, bit for bit: ``sums[s] += w x float(call)`` and ``named_dosage[s] += float(call)``
    row after row in each sample (rows whose weight is NaN skipped), ``uniform_ct[s] += 2``
    where the row counts alleles; :data:`CALL_ROW_GROUP` rows at a time.
    ``copies[r]``: the effect-allele copies of each added row ``r`` (its frequency).
    """
    k_count, n = calls.shape
    k = start
    if n == 0:
        return k
    while k < k_count:
        m = 0
        while m < CALL_ROW_GROUP and k + m < k_count and additive[k + m]:
            if diploid:
                total = observed_call_total(calls[k + m])
            else:
                total = complete_call_total(calls[k + m], ploidy[k + m])
            if total < 0:
                break
            copies[k + m] = total
            m += 1
        if m == 0:
            return k
        _add_call_rows(calls, k, k + m, weights, counts_alleles, sums, named_dosage, uniform_ct)
        k += m
    return k


@kernel
def _add_call_rows(
    calls: np.ndarray,
    first: int,
    stop: int,
    weights: np.ndarray,
    counts_alleles: np.ndarray,
    sums: np.ndarray,
    named_dosage: np.ndarray,
    uniform_ct: np.ndarray,
) -> None:
    """Rows ``first:stop`` (at most :data:`CALL_ROW_GROUP`) into each score's totals, in
    row order per sample: four rows in one pass when none has a NaN weight."""
    n = calls.shape[1]
    for s in range(weights.shape[1]):
        sums_s = sums[s]
        named_s = named_dosage[s]
        used = 0
        for r in range(first, stop):
            if not np.isnan(weights[r, s]):
                used += 1
                if counts_alleles[r, s]:
                    uniform_ct[s] += 2.0
        if used == 4:
            c0, c1, c2, c3 = calls[first], calls[first + 1], calls[first + 2], calls[first + 3]
            w0, w1 = weights[first, s], weights[first + 1, s]
            w2, w3 = weights[first + 2, s], weights[first + 3, s]
            for i in range(n):
                v0, v1 = np.float64(c0[i]), np.float64(c1[i])
                v2, v3 = np.float64(c2[i]), np.float64(c3[i])
                sums_s[i] = (((sums_s[i] + w0 * v0) + w1 * v1) + w2 * v2) + w3 * v3
                named_s[i] = (((named_s[i] + v0) + v1) + v2) + v3
            continue
        for r in range(first, stop):
            w = weights[r, s]
            if np.isnan(w):
                continue
            row = calls[r]
            for i in range(n):
                v = np.float64(row[i])
                sums_s[i] += w * v
                named_s[i] += v


@kernel
def diploid_allele_sums(gt: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """``out[r, i] = gt[rows[r], i, 0] + gt[rows[r], i, 1]``: ALT copies of complete
    diploid biallelic calls (``int8[k, n, 2]`` allele indexes 0/1, as a VCF Zarr store holds
    them) into ``int8[len(rows), n]``."""
    for r in range(len(rows)):
        calls = gt[rows[r]]
        row = out[r]
        for i in range(calls.shape[0]):
            row[i] = calls[i, 0] + calls[i, 1]
