"""Genotypes kept from the sites pass, so ``read()`` need not inflate the text again.

Two stores, both within one memory budget (``cache_bytes``): *packed* rows, 2 bits per call
as the scan kernel packs the common all-diploid ``0/1`` record, and *allele* rows
(``int8[n_samples, 2]`` per record) for the other listed records whose calls
:func:`prs.kernels.fields.parse_gt_alleles` reads cleanly. Records in neither are read again
from their blocks.
"""

from __future__ import annotations

import numpy as np

from prs.kernels import fields as kf


class GenotypeCache:
    """The packed and allele stores of one source.

    Parameters
    ----------
    n_samples
        Output samples.
    cache_bytes
        The budget of each store; 0 keeps nothing. The arrays are allocated with
        ``np.empty``: pages are only touched (made resident) as rows are written.
    """

    def __init__(self, n_samples: int, cache_bytes: int) -> None:
        row_bytes = (n_samples + 3) // 4
        self.n_samples = n_samples
        self.packed = np.empty((cache_bytes // max(row_bytes, 1), row_bytes), dtype=np.uint8)
        self.alleles = np.empty(
            (cache_bytes // 8 // max(2 * n_samples, 1), n_samples, 2), dtype=np.int8
        )
        self.n_packed = 0
        self.n_alleles = 0

    @classmethod
    def empty(cls, n_samples: int) -> GenotypeCache:
        """A cache that keeps nothing."""
        return cls(n_samples, 0)

    def add(self, buf: np.ndarray, listed: dict[str, np.ndarray], sample_out: np.ndarray) -> None:
        """Keep the listed records' calls: packed rows from the scan, the rest parsed here
        (``listed["packed_row"]``/``["allele_row"]`` get each record's row, or stay -1)."""
        simple = listed["simple"]
        take = np.flatnonzero(simple)[: len(self.packed) - self.n_packed]
        if len(take):
            start = self.n_packed
            self.packed[start : start + len(take)] = listed["packed"][take]
            listed["packed_row"][take] = start + np.arange(len(take))
            self.n_packed += len(take)
        rest = np.flatnonzero(~simple)
        free = len(self.alleles) - self.n_alleles
        if not len(rest) or free <= 0:
            return
        rows = rest.astype(np.int64)
        alleles = np.empty((len(rows), self.n_samples, 2), dtype=np.int8)
        flags = np.zeros(len(rows), dtype=np.int8)
        kf.parse_gt_alleles(buf, listed["line"], listed["fields"], rows, sample_out, alleles, flags)
        keep = np.flatnonzero(flags == kf.REC_OK)[:free]
        if len(keep):
            start = self.n_alleles
            self.alleles[start : start + len(keep)] = alleles[keep]
            listed["allele_row"][rows[keep]] = start + np.arange(len(keep))
            self.n_alleles += len(keep)

    def trim(self) -> None:
        """Drop the unused tails. Views, not copies: the tail was never touched, so it holds
        no memory, and a copy would briefly double the cache."""
        self.packed = self.packed[: self.n_packed]
        self.alleles = self.alleles[: self.n_alleles]
