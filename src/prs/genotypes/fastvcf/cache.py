"""Genotypes kept from the sites pass, so ``read()`` need not inflate the text again.

GT: two stores, both within one memory budget (``cache_bytes``): *packed* rows, 2 bits per call
as the scan kernel packs the common all-diploid ``0/1`` record, and *allele* rows
(``int8[n_samples, 2]`` per record) for the other listed records whose calls
:func:`prs.kernels.fields.parse_gt_alleles` reads cleanly. Records in neither are read again
from their blocks. DS/HDS: :class:`DsCache`, codes (2 bytes a
value) of the records :func:`prs.kernels.fields.parse_short_values` reads completely
(diploid 0/1 calls, one DS or two HDS values each).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

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


class DsCache:
    """DS (or HDS) kept from the sites pass, one row per record whose dosages need nothing
    else: ``uint16`` codes of :func:`prs.kernels.fields.parse_short_values` (value ``code /
    1000`` as htslib's float32, :data:`~prs.kernels.fields.DS_MILLI`), ``values[row,
    sample, k]`` (k < 1 for DS, 2 for HDS).

    Parameters
    ----------
    n_samples
        Output samples.
    cache_bytes
        The budget (rows of ``2 * n_samples`` bytes a value); 0 keeps nothing. Allocated
        with ``np.empty``: pages are only made resident as rows are written.
    field
        ``"DS"`` or ``"HDS"``.
    """

    #: Records per piece of a chunk's DS parse: the caller and the pool's worker take
    #: pieces in turn until none is left (balanced whatever each thread meets).
    PIECE = 8

    def __init__(self, n_samples: int, cache_bytes: int, field: str = "DS") -> None:
        width = 2 if field == "HDS" else 1
        self.key = kf.field_key(field)
        self.values = np.empty(
            (cache_bytes // max(2 * n_samples * width, 1) if n_samples else 0, n_samples, width),
            dtype=np.uint16,
        )
        self.n_rows = 0

    def add(
        self,
        buf: np.ndarray,
        listed: dict[str, np.ndarray],
        sample_out: np.ndarray,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        """Keep the DS/HDS of the listed biallelic records the kernel reads completely
        (``listed["ds_row"]`` gets each record's row, or stays -1).

        With ``pool`` (one worker) the records are parsed by the caller and the worker at
        once (the kernel releases the GIL), in pieces of :data:`PIECE` records taken in
        turn. The parse ends before this returns: the text buffer is the reader's to reuse
        once the next chunk is asked for."""
        free = len(self.values) - self.n_rows
        rows = np.flatnonzero(listed["n_alleles"] == 2)[:free].astype(np.int64)
        if not len(rows):
            return
        start = self.n_rows
        out = self.values[start : start + len(rows)]
        simple = np.zeros(len(rows), dtype=np.bool_)
        pieces = iter(range(0, len(rows), self.PIECE))
        lock = threading.Lock()

        def drain() -> None:
            while True:
                with lock:
                    a = next(pieces, None)
                if a is None:
                    return
                b = min(a + self.PIECE, len(rows))
                kf.parse_short_values(
                    buf,
                    listed["line"],
                    listed["fields"],
                    rows[a:b],
                    sample_out,
                    *self.key,
                    out[a:b],
                    simple[a:b],
                )

        job = pool.submit(drain) if pool is not None and len(rows) > self.PIECE else None
        drain()
        if job is not None:
            job.result()
        keep = np.flatnonzero(simple)
        if len(keep) < len(rows):  # close the gaps the others left
            out[: len(keep)] = out[keep]
        listed["ds_row"][rows[keep]] = start + np.arange(len(keep))
        self.n_rows += len(keep)

    def trim(self) -> None:
        """Drop the unused tail (a view: the tail was never touched)."""
        self.values = self.values[: self.n_rows]
