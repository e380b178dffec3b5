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
