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
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

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

    A chunk's records are parsed while the scan kernel is still listing the chunk's later
    records: :meth:`add_part` (called with each part the kernel lists) reserves rows and
    queues the part's records for the pool's worker; :meth:`finish` (with the whole chunk's
    listed records, the parts in order) helps drain the queue, waits, and keeps the rows
    parsed completely. :meth:`add` is both at once (a chunk listed in one part).

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
        self._lock = threading.Lock()
        # Pieces to parse: ((text, its words, their offset), part, its rows, first row of
        # the store, completeness flags).
        self._queue: deque[
            tuple[
                tuple[np.ndarray, np.ndarray, int],
                dict[str, np.ndarray],
                np.ndarray,
                int,
                np.ndarray,
            ]
        ] = deque()
        self._jobs: list[Future[None]] = []
        # The chunk being listed: its parts (listed offset, rows, first reserved row,
        # completeness flags), the next free row and the records listed so far.
        self._parts: list[tuple[int, np.ndarray, int, np.ndarray]] = []
        self._reserved = 0
        self._listed = 0

    def __getstate__(self) -> dict[str, object]:
        """The store without its lock (a source stays picklable: multiprocessing, joblib)."""
        state = dict(self.__dict__)
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def has_room(self) -> bool:
        """True while rows are free."""
        return len(self.values) > self.n_rows

    def streaming(self) -> bool:
        """True when parts of a chunk were queued (:meth:`add_part`) and await
        :meth:`finish`."""
        return bool(self._parts) or self._listed > 0

    def add_part(
        self,
        buf: np.ndarray,
        part: dict[str, np.ndarray],
        sample_out: np.ndarray,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        """Queue the biallelic records of ``part`` (the next records the scan listed in
        ``buf``) for parsing into rows reserved now; with ``pool`` its worker starts on
        them at once (the kernel releases the GIL). ``buf`` must stay as it is until
        :meth:`finish`."""
        if not self._parts:
            self._reserved = self.n_rows
        offset = self._listed
        self._listed += len(part["n_alleles"])
        free = len(self.values) - self._reserved
        rows = np.flatnonzero(part["n_alleles"] == 2)[: max(free, 0)].astype(np.int64)
        if not len(rows):
            return
        first = self._reserved
        self._reserved += len(rows)
        simple = np.zeros(len(rows), dtype=np.bool_)
        self._parts.append((offset, rows, first, simple))
        words, align = kf.text_words(buf)
        with self._lock:
            for a in range(0, len(rows), self.PIECE):
                b = a + self.PIECE
                text = (buf, words, align)
                self._queue.append((text, part, rows[a:b], first + a, simple[a:b]))
        if pool is not None:
            self._jobs.append(pool.submit(self._drain, sample_out))

    def _drain(self, sample_out: np.ndarray) -> None:
        """Parse queued pieces until none is left."""
        while True:
            with self._lock:
                if not self._queue:
                    return
                (buf, words, align), part, rows, first, simple = self._queue.popleft()
            kf.parse_short_values(
                buf,
                words,
                align,
                part["line"],
                part["fields"],
                rows,
                sample_out,
                *self.key,
                self.values[first : first + len(rows)],
                simple,
            )

    def finish(self, listed: dict[str, np.ndarray], sample_out: np.ndarray) -> None:
        """End the chunk: parse what the worker has not taken, wait for it, and keep the
        rows parsed completely (``listed["ds_row"]`` gets each record's row, or stays -1;
        ``listed`` is the chunk's parts, in order). The parse ends before this returns:
        the text buffer is the reader's to reuse once the next chunk is asked for."""
        try:
            self._drain(sample_out)
        finally:
            jobs, self._jobs = self._jobs, []
            for job in jobs:
                job.result()
        parts, self._parts = self._parts, []
        self._listed = 0
        if not parts:
            return
        start = self.n_rows
        index = np.concatenate([offset + rows for offset, rows, _, _ in parts])
        keep = np.flatnonzero(np.concatenate([simple for _, _, _, simple in parts]))
        if len(keep) < len(index):  # close the gaps the others left
            self.values[start : start + len(keep)] = self.values[start + keep]
        listed["ds_row"][index[keep]] = start + np.arange(len(keep))
        self.n_rows += len(keep)

    def add(
        self,
        buf: np.ndarray,
        listed: dict[str, np.ndarray],
        sample_out: np.ndarray,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        """Keep the DS/HDS of the listed biallelic records the kernel reads completely
        (:meth:`add_part` of the whole chunk, then :meth:`finish`): the caller and the
        pool's worker parse at once."""
        self.add_part(buf, listed, sample_out, pool)
        self.finish(listed, sample_out)

    def trim(self) -> None:
        """Drop the unused tail (a view: the tail was never touched)."""
        self.values = self.values[: self.n_rows]
