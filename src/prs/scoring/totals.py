"""Score totals fed chunk by chunk: threads and BLAS over the accumulate kernels.

:class:`ScoreTotals` owns the strategy (a thread pool for a few scores, matrix products for
many); the arithmetic is in :mod:`prs.kernels.accumulate`, pure functions over arrays.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from prs.genotypes.base import CallRows
from prs.kernels.accumulate import (
    ADDITIVE,
    IMPUTE_COHORT_MEAN,
    IMPUTE_GIVEN_FREQUENCY,
    IMPUTE_NONE,
    accumulate_calls,
    accumulate_numpy,
    accumulate_scores,
    dosage_matrix,
    dosage_matrix_numpy,
    mirrors_kernels,
)
from prs.kernels.calls import add_complete_calls, call_dosages
from prs.kernels.jit import numba_started

#: From this many scores on, a chunk is added by matrix products (BLAS) instead of loops.
MATMUL_MIN_SCORES = 4
#: Chunks with fewer genotypes than this are not split between threads.
_SPLIT_MIN_GENOTYPES = 1 << 16
#: The ploidy :func:`add_complete_calls` is given for a diploid chunk whose ploidy is not
#: contiguous (it reads none: ``diploid=True``).
_NOT_READ = np.empty((0, 0), dtype=np.int8)
_NOT_READ.setflags(write=False)  # (read-only, as a PLINK chunk's ploidy: the same kernel type)
#: Genotypes (variants x samples) a process adds in numpy before it starts Numba: below
#: this, numpy's arithmetic costs less than Numba's start (~0.3 s: import, CPU target,
#: cached kernels; docs/performance.md, "Start-up"). Measured: numpy 35-65 ns a genotype
#: (one score), the kernels ~3 ns, so the two break even near 5M; at 2M a job just over the
#: budget pays ~0.1 s of numpy besides Numba's start. Both give the same totals bit for
#: bit, so where the switch falls changes no number.
NUMPY_GENOTYPES = 1 << 21


class _NumpyBudget:
    """This process's genotypes added in numpy so far (all threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.used = 0
        self.closed = False

    def take(self, genotypes: int) -> bool:
        """True (and counted) when ``genotypes`` more still go to numpy: Numba not started
        and the process's total within :data:`NUMPY_GENOTYPES`."""
        with self.lock:
            if self.closed or numba_started() or self.used + genotypes > NUMPY_GENOTYPES:
                return False
            self.used += genotypes
            return True

    def close(self) -> None:
        """No more numpy in this process (the kernels from the next chunk on)."""
        with self.lock:
            self.closed = True


_numpy_budget = _NumpyBudget()


def expect_genotypes(genotypes: int) -> None:
    """A job of ``genotypes`` is coming: past :data:`NUMPY_GENOTYPES`, it takes the kernels
    from its first chunk (numpy for its first genotypes would only add ~0.1 s to Numba's
    start, which it pays anyway: measured on a 20,000 x 20,000 BGEN job, 2.08M genotypes in
    numpy first). The totals are the same either way.

    Examples
    --------
    >>> expect_genotypes(10)  # a small job: numpy as before
    """
    if genotypes > NUMPY_GENOTYPES:
        _numpy_budget.close()


def arithmetic_record() -> dict[str, object]:
    """Which arithmetic this process's totals took so far, for a run's provenance:
    genotypes added in numpy (:data:`NUMPY_GENOTYPES` at most) and whether Numba has
    started (every chunk since went to its kernels). The totals are the same either way.

    Examples
    --------
    >>> sorted(arithmetic_record())
    ['numba', 'numpy_genotypes']
    """
    return {"numpy_genotypes": _numpy_budget.used, "numba": numba_started()}


class ScoreTotals:
    """Running per-score x per-sample totals (PLINK 2 ``--score`` columns), fed chunkwise.

    A few scores go through :func:`accumulate_scores`, each chunk's variants split between
    ``threads`` threads (the kernel releases the GIL; each thread owns its totals, summed at
    the end). Many scores (:data:`MATMUL_MIN_SCORES` or more) go through
    :func:`dosage_matrix` and BLAS matrix products: one pass builds the chunk's dosage
    matrix, then every total is a ``(scores x variants) @ (variants x samples)`` product.
    Both paths give the same totals (counts exactly; sums to rounding).

    A chunk may be ``int8`` hard calls instead of float64 dosages (PLINK's -9, any
    negative value, missing; see :class:`prs.genotypes.base.DosageChunk`): the loop path
    then runs :func:`~prs.kernels.accumulate.accumulate_calls` on the calls themselves and
    the matrix-product path turns them into dosages first; the totals are those of the
    float64 dosages, bit for bit.

    Parameters
    ----------
    n_scores, n_samples
        Shape of the totals.
    impute
        :data:`IMPUTE_NONE`, :data:`IMPUTE_COHORT_MEAN` or :data:`IMPUTE_GIVEN_FREQUENCY`.
    threads
        Threads for the loop path (default: up to 2, one per CPU).
    matmul
        Force (True) or forbid (False) the matrix-product path; default by score count.
    kernels
        True: always the Numba kernels; False: numpy where it gives the kernels' values
        (:func:`~prs.kernels.accumulate.mirrors_kernels`), the kernels elsewhere; None
        (default): numpy until Numba has started or the process has added
        :data:`NUMPY_GENOTYPES` genotypes in numpy, so a small job never starts Numba.
        The totals are the same bit for bit whichever runs.

    Attributes
    ----------
    chunks_by_path
        Chunks added so far by ``"numpy"`` and by the ``"numba"`` kernels (provenance).
    """

    def __init__(
        self,
        n_scores: int,
        n_samples: int,
        impute: int,
        *,
        threads: int | None = None,
        matmul: bool | None = None,
        kernels: bool | None = None,
    ) -> None:
        self.impute = impute
        self.kernels = kernels
        self.chunks_by_path = {"numpy": 0, "numba": 0}
        self.matmul = n_scores >= MATMUL_MIN_SCORES if matmul is None else matmul
        self.threads = max(1, threads if threads is not None else min(2, os.cpu_count() or 1))
        self.all_missing = 0
        self._shape = (n_scores, n_samples)
        self._parts = [self._zeros()]
        self._pool: ThreadPoolExecutor | None = None
        self._x: np.ndarray | None = None
        self._ploidy_rows: np.ndarray | None = None  # see _contiguous_ploidy
        self._calls_x: np.ndarray | None = None

    def _zeros(self) -> dict[str, np.ndarray]:
        s, n = self._shape
        part = {name: np.zeros((s, n)) for name in ("sums", "allele_ct", "denom", "named")}
        part["missing_ct"] = np.zeros((s, n), dtype=np.int64)
        part["uniform_ct"] = np.zeros(s)
        return part

    def add(
        self,
        dosage: np.ndarray,
        ploidy: np.ndarray,
        weights: np.ndarray,
        counts_alleles: np.ndarray,
        effect_type: np.ndarray,
        given_frequency: np.ndarray,
        freq_ploidy: np.ndarray | None = None,
        *,
        diploid: bool = False,
    ) -> np.ndarray:
        """Add a chunk (arguments as :func:`accumulate_scores`; ``dosage`` float64 dosages
        or ``int8`` hard calls, or a :class:`~prs.genotypes.base.CallRows` whose calls each
        thread decodes for the rows it adds; ``freq_ploidy`` None: the frequency is taken on
        ``ploidy``; ``diploid``: the caller knows every ``ploidy`` is 2, as a PLINK reader's
        chunk says, so hard calls are checked without reading it); returns the
        frequencies used."""
        k = len(dosage)
        freq_ploidy = (
            np.empty((k, 0), dtype=np.int8)
            if freq_ploidy is None
            else np.ascontiguousarray(freq_ploidy, dtype=np.int8)
        )
        is_calls = dosage.dtype == np.int8
        lazy = dosage if isinstance(dosage, CallRows) else None
        if lazy is None:
            dosage = np.ascontiguousarray(dosage, dtype=np.int8 if is_calls else np.float64)
        elif self.matmul or not self.splits(lazy.size, k):
            dosage, lazy = lazy.rows(0, k), None  # (one part: decoded whole, here)
        if not (diploid and is_calls and not self.matmul):
            ploidy = self._contiguous_ploidy(ploidy)
        # (else kept as given, e.g. a PLINK chunk's one row of 2s seen as every row: the
        # hard-call path reads none of it, and copies the rows it needs, see _run_calls)
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        counts_alleles = np.ascontiguousarray(counts_alleles, dtype=np.bool_)
        effect_type = np.ascontiguousarray(effect_type, dtype=np.int8)
        given_frequency = np.ascontiguousarray(given_frequency, dtype=np.float64)
        frequency = np.empty(len(dosage))
        numpy = self._numpy_for(dosage, ploidy, freq_ploidy)
        self.chunks_by_path["numpy" if numpy else "numba"] += 1
        # The kernel's arguments, in its order (the loop and BLAS paths take the same).
        arrays = (
            dosage,
            ploidy,
            weights,
            counts_alleles,
            effect_type,
            given_frequency,
            frequency,
            freq_ploidy,
        )
        if self.matmul:
            if is_calls:
                arrays = (self._call_dosages(dosage, numpy), *arrays[1:])
            self._add_matmul(*arrays, numpy=numpy)
            return frequency
        if not self.splits(dosage.size, k):
            self.all_missing += self._run(0, *arrays, numpy=numpy, diploid=diploid)
            return frequency
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="prs-score")
            self._parts += [self._zeros() for _ in range(self.threads - 1)]
        bounds = np.linspace(0, k, self.threads + 1).astype(np.int64)

        def piece(t: int) -> int:
            a, b = int(bounds[t]), int(bounds[t + 1])
            mine = [array[a:b] for array in arrays[1:]]
            rows = lazy.rows(a, b) if lazy is not None else arrays[0][a:b]
            return self._run(t, rows, *mine, numpy=numpy, diploid=diploid)

        futures = []
        try:
            futures += [self._pool.submit(piece, t) for t in range(1, self.threads)]
            first = piece(0)
        finally:
            wait(futures)  # (no part outlives the call: a lazy chunk's decoders close after it)
        self.all_missing += first + sum(f.result() for f in futures)
        return frequency

    def splits(self, size: int, k: int) -> bool:
        """Whether a chunk of ``k`` rows and ``size`` genotypes is split between threads."""
        return self.threads >= 2 and size >= _SPLIT_MIN_GENOTYPES and k >= 2

    def _contiguous_ploidy(self, ploidy: np.ndarray) -> np.ndarray:
        """``ploidy`` as a C-contiguous int8 array. One row seen as every row (a PLINK
        chunk's, ``strides[0] == 0``) is made contiguous once and kept (read-only, as the
        reader's row) for the chunks after it: a copy per chunk would cost ~5-10 ms and a
        chunk of memory each on the paths that read it (many scores, pgen dosages)."""
        if ploidy.flags.c_contiguous and ploidy.dtype == np.int8:
            return ploidy
        if ploidy.ndim == 2 and len(ploidy) and ploidy.strides[0] == 0:
            kept = self._ploidy_rows
            if (
                kept is None
                or kept.shape[1] != ploidy.shape[1]
                or len(kept) < len(ploidy)
                or not np.array_equal(kept[0], ploidy[0])
            ):
                kept = np.ascontiguousarray(ploidy, dtype=np.int8)
                kept.setflags(write=False)
                self._ploidy_rows = kept
            return kept[: len(ploidy)]
        return np.ascontiguousarray(ploidy, dtype=np.int8)

    def _numpy_for(self, dosage: np.ndarray, ploidy: np.ndarray, freq_ploidy: np.ndarray) -> bool:
        """Whether this chunk is added in numpy (see ``kernels``)."""
        if self.kernels or not mirrors_kernels(ploidy, freq_ploidy):
            return False
        return self.kernels is not None or _numpy_budget.take(dosage.size)

    def _run(
        self,
        t: int,
        dosage,
        ploidy,
        weights,
        counts_alleles,
        effect_type,
        given,
        frequency,
        freq_ploidy,
        *,
        numpy: bool = False,
        diploid: bool = False,
    ) -> int:
        if dosage.dtype == np.int8 and freq_ploidy.shape[1] == 0 and not numpy:
            return self._run_calls(
                t,
                dosage,
                ploidy,
                weights,
                counts_alleles,
                effect_type,
                given,
                frequency,
                diploid=diploid,
            )
        ploidy = np.ascontiguousarray(ploidy, dtype=np.int8)
        part = self._parts[t]
        if numpy:  # the calls too: _run_calls adds accumulate_calls' totals
            kernel = accumulate_numpy
        else:
            kernel = accumulate_calls if dosage.dtype == np.int8 else accumulate_scores
        return int(
            kernel(
                dosage,
                ploidy,
                weights,
                counts_alleles,
                effect_type,
                self.impute,
                given,
                part["sums"],
                part["allele_ct"],
                part["denom"],
                part["named"],
                part["missing_ct"],
                frequency,
                part["uniform_ct"],
                freq_ploidy,
            )
        )

    def _run_calls(
        self,
        t: int,
        calls: np.ndarray,
        ploidy: np.ndarray,
        weights: np.ndarray,
        counts_alleles: np.ndarray,
        effect_type: np.ndarray,
        given: np.ndarray,
        frequency: np.ndarray,
        *,
        diploid: bool = False,
    ) -> int:
        """Hard calls into part ``t``: runs of complete additive diploid rows by
        :func:`~prs.kernels.calls.add_complete_calls` (several rows per pass), the rows
        between them by :func:`accumulate_calls`, in row order (so the totals are
        :func:`accumulate_calls`' over the whole chunk, bit for bit). Each time no complete
        row follows, the next run given to :func:`accumulate_calls` doubles (from
        :data:`_OTHER_ROWS`), so a chunk of incomplete rows costs a few calls, not one a row.
        """
        part = self._parts[t]
        k, n = calls.shape
        additive = effect_type == ADDITIVE
        copies = np.empty(k, dtype=np.int64)
        all_missing = 0
        other = _OTHER_ROWS
        start = 0
        while start < k:
            stop = add_complete_calls(
                calls,
                ploidy if ploidy.flags.c_contiguous else _NOT_READ,
                additive,
                weights,
                counts_alleles,
                part["sums"],
                part["named"],
                part["uniform_ct"],
                copies,
                start,
                diploid,
            )
            if stop > start:  # every call observed: the frequency of the row's 2n alleles
                frequency[start:stop] = _frequency(
                    copies[start:stop] / (2 * n), given[start:stop], self.impute
                )
                other = _OTHER_ROWS
            elif stop < k:
                other *= 2
            start = min(k, stop + other)
            if stop < start:
                all_missing += int(
                    accumulate_calls(
                        calls[stop:start],
                        _rows_of(ploidy, stop, start),
                        weights[stop:start],
                        counts_alleles[stop:start],
                        effect_type[stop:start],
                        self.impute,
                        given[stop:start],
                        part["sums"],
                        part["allele_ct"],
                        part["denom"],
                        part["named"],
                        part["missing_ct"],
                        frequency[stop:start],
                        part["uniform_ct"],
                        np.empty((start - stop, 0), dtype=np.int8),
                    )
                )
        return all_missing

    def _call_dosages(self, calls: np.ndarray, numpy: bool) -> np.ndarray:
        """Hard calls as float64 dosages (NaN missing), in a buffer reused chunk to chunk."""
        if self._calls_x is None or self._calls_x.size < calls.size:
            self._calls_x = np.empty(calls.size)
        out = self._calls_x[: calls.size].reshape(calls.shape)
        if numpy:
            np.copyto(out, np.where(calls >= 0, calls.astype(np.float64), np.nan))
        else:
            call_dosages(calls, out)
        return out

    def _add_matmul(
        self,
        dosage: np.ndarray,
        ploidy: np.ndarray,
        weights: np.ndarray,
        counts_alleles: np.ndarray,
        effect_type: np.ndarray,
        given: np.ndarray,
        frequency: np.ndarray,
        freq_ploidy: np.ndarray,
        *,
        numpy: bool = False,
    ) -> None:
        part = self._parts[0]
        if self._x is None or self._x.size < dosage.size:
            self._x = np.empty(dosage.size)  # reused: fresh pages cost a fault each
        x = self._x[: dosage.size].reshape(dosage.shape)
        build = dosage_matrix_numpy if numpy else dosage_matrix
        all_missing, missing_calls, skipped_calls = build(
            dosage, ploidy, effect_type, self.impute, given, x, frequency, freq_ploidy
        )
        self.all_missing += int(all_missing)
        used = ~np.isnan(weights)
        # A product beyond float64's range becomes inf, which score() reports as an error
        # naming the score; numpy's own overflow warning would only add noise.
        with np.errstate(over="ignore", invalid="ignore"):
            part["sums"] += np.where(used, weights, 0.0).T @ x
        # Calls not counted (NOT_COUNTED ploidy) are NaN but neither observed nor missing.
        observed = None if missing_calls == 0 and skipped_calls == 0 else ~np.isnan(dosage)
        x_observed = x if observed is None else np.where(observed, x, 0.0)
        # Scores that use the same variants share NAMED_ALLELE_DOSAGE_SUM and the allele
        # counts: one product per distinct pattern of use, not per score.
        _add_by_pattern(part["named"], used, x_observed)
        counts = counts_alleles
        if observed is None and ploidy.size and ploidy.min() == ploidy.max():
            part["uniform_ct"] += float(ploidy.flat[0]) * counts.sum(axis=0)
            return
        p_all = ploidy.astype(np.float64)
        counted = None
        if skipped_calls:
            counted = ploidy >= 0
            p_all = np.where(counted, p_all, 0.0)
        p_observed = p_all if observed is None else np.where(observed, p_all, 0.0)
        _add_by_pattern(part["allele_ct"], counts, p_observed)
        if observed is None:
            _add_by_pattern(part["denom"], counts, p_all)
            return
        _add_by_pattern(part["denom"], counts, p_all if self.impute != IMPUTE_NONE else p_observed)
        missing = np.zeros((len(self._parts[0]["missing_ct"]), dosage.shape[1]))
        is_missing = ~observed if counted is None else ~observed & counted
        _add_by_pattern(missing, counts, is_missing.astype(np.float64))
        part["missing_ct"] += np.rint(missing).astype(np.int64)

    def totals(self) -> dict[str, np.ndarray]:
        """The totals so far: ``sums``, ``allele_ct``, ``denom``, ``named``, ``missing_ct``."""
        out = {
            name: self._parts[0][name].copy()
            for name in ("sums", "allele_ct", "denom", "named", "missing_ct")
        }
        uniform = self._parts[0]["uniform_ct"].copy()
        for part in self._parts[1:]:
            for name in out:
                out[name] += part[name]
            uniform += part["uniform_ct"]
        out["allele_ct"] += uniform[:, None]
        out["denom"] += uniform[:, None]
        return out

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


#: Rows after an incomplete one given to :func:`accumulate_calls` at first (doubling).
_OTHER_ROWS = 1


def _frequency(cohort: np.ndarray, given: np.ndarray, impute: int) -> np.ndarray:
    """The imputation frequency of rows whose every call is observed (as
    :func:`~prs.kernels.accumulate.accumulate_calls` reports it): the cohort's, the given
    one where there is one (:data:`IMPUTE_GIVEN_FREQUENCY`), NaN without imputation."""
    if impute == IMPUTE_COHORT_MEAN:
        return cohort
    if impute == IMPUTE_GIVEN_FREQUENCY:
        return np.where(np.isnan(given), cohort, given)
    return np.full(len(cohort), np.nan)


def _add_by_pattern(total: np.ndarray, use: np.ndarray, values: np.ndarray) -> None:
    """``total += use.T @ values`` for a 0/1 ``use`` (variants x scores), computed once per
    distinct column of ``use`` (scores that use the same variants get the same row)."""
    if use.shape[1] == 1:
        total += use.T.astype(np.float64) @ values
        return
    packed = np.packbits(use, axis=0).T  # one row of bytes per score
    first: dict[bytes, int] = {}
    owner = np.array([first.setdefault(row.tobytes(), len(first)) for row in packed])
    patterns = np.zeros((len(first), use.shape[0]))
    for column, pattern in enumerate(owner):
        patterns[pattern] = use[:, column]
    total += (patterns @ values)[owner]


def _rows_of(ploidy: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of ``ploidy`` C-contiguous; a copy (of a row seen as every row)
    made read-only, as the reader's arrays are, so the kernels see one array type."""
    rows = ploidy[start:stop]
    if rows.flags.c_contiguous:
        return rows
    rows = np.ascontiguousarray(rows, dtype=np.int8)
    rows.setflags(write=False)
    return rows
