"""The scoring work as a fixed set of tasks, whatever runs them.

The plan's rows are cut into *regions* (every ``task_variants`` rows, across files) and the
samples into *blocks* of ``sample_block`` samples; a task is one region x one block.
:func:`run_task` is a pure function of picklable inputs (the task and the
:class:`SourceSpec` that says how to open the genotypes) returning the task's
:class:`Partial` totals; :class:`Combiner` adds the partials in task order. The
single-process loop (:func:`prs.score` without a client) and the Dask graph
(:mod:`prs.scoring.distributed`) call the same function and combine in the same order, so
their results are identical bit for bit: the arithmetic of a task depends only on its rows,
its samples, the chunk size and the fixed thread count of its :class:`ScoreTotals`.

Several sample blocks with imputation need the effect-allele frequency among *all* samples
(PLINK 2 imputes at the cohort's frequency): a first pass of ``"frequencies"`` tasks counts
each row's observed dosage and alleles per block; the counts are added in block order and
the ``"totals"`` tasks impute at the frequencies so found
(:data:`~prs.kernels.accumulate.IMPUTE_GIVEN_FREQUENCY`).
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from prs.errors import PRSWarning
from prs.genotypes import GenotypeSource, open_genotypes
from prs.genotypes.base import DosageChunk
from prs.kernels.accumulate import IMPUTE_GIVEN_FREQUENCY, IMPUTE_NONE
from prs.ploidy import apply_ploidy_model
from prs.scoring.totals import ScoreTotals

#: Default rows per task: this many chunks (``task_variants = TASK_CHUNKS * chunk_size``).
TASK_CHUNKS = 64
#: Genotype sources a process keeps open for its tasks (one per sample block and input).
SOURCE_CACHE_SIZE = 4
#: The kinds of task: the frequency pass and the totals pass.
TASK_KINDS = ("frequencies", "totals")


@dataclass(frozen=True, eq=False)
class SourceSpec:
    """How a task opens the genotypes (picklable): the paths, the reading options, the
    caller's sample subset and the positions whose sites are listed before reading (a VCF
    source reads only records its :meth:`~prs.genotypes.GenotypeSource.sites` listed).

    ``token`` names the spec in a worker's cache of open sources.
    """

    paths: tuple[str, ...]
    genotype_format: str | None
    dosage: str
    half_call: str
    engine: str
    samples: tuple[str, ...] | None
    wanted: Mapping[str, np.ndarray]
    token: str

    @classmethod
    def of(
        cls,
        paths: Sequence[str],
        *,
        genotype_format: str | None,
        dosage: str,
        half_call: str,
        engine: str,
        samples: tuple[str, ...] | None,
        wanted: Mapping[str, np.ndarray],
    ) -> SourceSpec:
        """A spec with its token (a digest of everything it holds)."""
        digest = hashlib.sha1(usedforsecurity=False)
        for part in (*paths, genotype_format, dosage, half_call, engine, samples):
            digest.update(repr(part).encode())
        for chrom in sorted(wanted):
            digest.update(chrom.encode())
            digest.update(np.ascontiguousarray(wanted[chrom], dtype=np.int64).tobytes())
        return cls(
            tuple(paths),
            genotype_format,
            dosage,
            half_call,
            engine,
            samples,
            dict(wanted),
            digest.hexdigest(),
        )


@dataclass(frozen=True, eq=False)
class TaskRows:
    """One region's plan rows (``start:stop`` of the plan) and what scoring needs of them."""

    start: int
    stop: int
    record: np.ndarray
    allele: np.ndarray
    weights: np.ndarray
    counts_alleles: np.ndarray
    effect_type: np.ndarray
    given_frequency: np.ndarray
    row_class: np.ndarray
    #: Rows the ploidy model changes (:mod:`prs.ploidy`), decided over all samples.
    special: np.ndarray


@dataclass(frozen=True, eq=False)
class Arithmetic:
    """What fixes a task's arithmetic besides its rows and samples (the same in every task
    of a run: ``threads`` is the :class:`ScoreTotals` thread split, part of the summation
    order, so it is fixed by the caller, never the worker's CPU count)."""

    impute: int
    threads: int
    chunk_size: int
    xchr_model: int
    #: The source reports haploid calls as read (ploidy 1): the ploidy model on every chunk.
    raw_haploid: bool


@dataclass(frozen=True, eq=False)
class ScoreTask:
    """Region ``rows`` x sample block ``block`` (``samples``; None: the source's samples as
    the run opened them, the one block), of ``kind`` :data:`TASK_KINDS`."""

    index: int
    kind: str
    rows: TaskRows
    block: int
    samples: tuple[str, ...] | None
    sex: np.ndarray
    arithmetic: Arithmetic
    #: Count each row's missing and counted calls (several blocks: "missing in every
    #: sample" is decided over all of them).
    count_rows: bool


@dataclass(frozen=True, eq=False)
class RowCounts:
    """Per plan row of one region and block: effect-allele dosage and alleles observed on
    the frequency's ploidy, missing calls and calls that count (as the kernels count
    them, :func:`prs.kernels.accumulate.accumulate_scores`)."""

    dosage: np.ndarray
    alleles: np.ndarray
    missing: np.ndarray
    counted: np.ndarray

    @classmethod
    def zeros(cls, k: int) -> RowCounts:
        z = np.zeros(k, dtype=np.int64)
        return cls(np.zeros(k), z, z.copy(), z.copy())

    def add(
        self, idx: np.ndarray, dosage: np.ndarray, ploidy: np.ndarray, freq: np.ndarray | None
    ) -> None:
        """Count one chunk's rows ``idx`` (``freq``: the frequency's ploidy, None: ploidy).
        ``dosage`` float64 (NaN missing) or ``int8`` hard calls (negative missing), as
        :class:`ScoreTotals` takes them."""
        counted = ploidy >= 0
        if dosage.dtype == np.int8:
            seen = counted & (dosage >= 0)
            dosage = dosage.astype(np.float64)
        else:
            seen = counted & ~np.isnan(dosage)
        if freq is None:
            on_freq, alleles = dosage, ploidy
        else:
            # a call adds dosage x freq / ploidy copies on freq alleles (as the kernel)
            with np.errstate(divide="ignore", invalid="ignore"):
                on_freq = np.where(freq == ploidy, dosage, dosage * freq / ploidy)
            alleles = freq
        self.dosage[idx] = np.where(seen, on_freq, 0.0).sum(axis=1)
        self.alleles[idx] = np.where(seen, alleles, 0).sum(axis=1, dtype=np.int64)
        self.missing[idx] = (counted & ~seen).sum(axis=1)
        self.counted[idx] = counted.sum(axis=1)


@dataclass(frozen=True, eq=False)
class Partial:
    """What a task returns: its totals (``frequencies`` tasks: none), the variants missing
    in all of its samples (as :class:`ScoreTotals` counts them), its row counts, and the
    prs warnings it caught (category, message) when it opened its own source."""

    index: int
    totals: dict[str, np.ndarray] | None
    all_missing: int
    row_counts: RowCounts | None
    warnings: tuple[tuple[type[Warning], str], ...] = ()


def regions(n_rows: int, task_variants: int | None) -> list[tuple[int, int]]:
    """Plan rows ``(start, stop)`` of each region: every ``task_variants`` rows (None: one
    region). Not cut at file boundaries: a task reads across files as one read does, so
    genotypes split into files (e.g. per chromosome) score exactly as one file.

    Examples
    --------
    >>> regions(7, 3), regions(3, None), regions(0, 2)
    ([(0, 3), (3, 6), (6, 7)], [(0, 3)], [])
    """
    step = max(n_rows, 1) if task_variants is None else task_variants
    return [(s, min(n_rows, s + step)) for s in range(0, n_rows, step)]


def sample_blocks(n_samples: int, sample_block: int | None) -> list[tuple[int, int]]:
    """Samples ``(start, stop)`` of each block (None: one block of all samples).

    Examples
    --------
    >>> sample_blocks(5, 2), sample_blocks(5, None), sample_blocks(0, 2)
    ([(0, 2), (2, 4), (4, 5)], [(0, 5)], [(0, 0)])
    """
    if sample_block is None or n_samples == 0:
        return [(0, n_samples)]
    return [(s, min(n_samples, s + sample_block)) for s in range(0, n_samples, sample_block)]


def make_tasks(
    kind: str,
    row_regions: list[tuple[int, int]],
    blocks: list[tuple[int, int]],
    rows: TaskRows,
    samples: tuple[str, ...],
    sex: np.ndarray,
    arithmetic: Arithmetic,
    *,
    count_rows: bool,
) -> list[ScoreTask]:
    """The tasks of one pass, in their fixed order: block by block, each block's regions
    in plan order (a process then keeps one block's source open at a time)."""
    one = len(blocks) == 1
    tasks: list[ScoreTask] = []
    for b, (s0, s1) in enumerate(blocks):
        for r0, r1 in row_regions:
            tasks.append(
                ScoreTask(
                    index=len(tasks),
                    kind=kind,
                    rows=_slice_rows(rows, r0, r1),
                    block=b,
                    samples=None if one else samples[s0:s1],
                    sex=sex[s0:s1],
                    arithmetic=arithmetic,
                    count_rows=count_rows,
                )
            )
    return tasks


def _slice_rows(rows: TaskRows, a: int, b: int) -> TaskRows:
    return TaskRows(
        a,
        b,
        *(
            np.ascontiguousarray(getattr(rows, name)[a:b])
            for name in (
                "record",
                "allele",
                "weights",
                "counts_alleles",
                "effect_type",
                "given_frequency",
                "row_class",
                "special",
            )
        ),
    )


def with_frequencies(tasks: list[ScoreTask], frequency: np.ndarray) -> list[ScoreTask]:
    """The ``totals`` tasks imputing at ``frequency`` (one per plan row, from the
    frequency pass) instead of each block's own."""
    out = []
    for task in tasks:
        rows = replace(task.rows, given_frequency=frequency[task.rows.start : task.rows.stop])
        arithmetic = replace(task.arithmetic, impute=IMPUTE_GIVEN_FREQUENCY)
        out.append(replace(task, kind="totals", rows=rows, arithmetic=arithmetic))
    return out


def run_task(
    task: ScoreTask, spec: SourceSpec | None, source: GenotypeSource | None = None
) -> Partial:
    """Run one task: read its rows for its samples, apply the ploidy model, and add them
    into a fresh :class:`ScoreTotals` (or only count them, for ``frequencies``).

    ``source``: an open source to read (the run's own, in the single-process loop with one
    block); None: opened from ``spec`` (cached per process, see :func:`open_source`), its
    prs warnings caught and returned (the run issued them once already when it opened the
    genotypes; those only a task meets are issued by the run when it combines).
    """
    if source is not None:
        return _run(task, source)
    assert spec is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        partial = _run(task, open_source(spec, task.samples))
    found = tuple(
        (w.category, str(w.message)) for w in caught if issubclass(w.category, PRSWarning)
    )
    return replace(partial, warnings=found)


def _run(task: ScoreTask, source: GenotypeSource) -> Partial:
    rows, a = task.rows, task.arithmetic
    n = len(source.samples)
    if n != len(task.sex):
        raise AssertionError(f"task {task.index}: {n} samples read, {len(task.sex)} expected")
    counts = (
        RowCounts.zeros(len(rows.record)) if task.count_rows or task.kind == "frequencies" else None
    )
    accumulator = (
        ScoreTotals(rows.weights.shape[1], n, a.impute, threads=a.threads)
        if task.kind == "totals"
        else None
    )
    try:
        for chunk in _chunks(task, source, accumulator, counts):
            idx = chunk.request
            dosage, ploidy, freq_ploidy = chunk.dosage, chunk.ploidy, None
            diploid = chunk.diploid
            if a.raw_haploid or rows.special[idx].any():
                dosage, ploidy, freq_ploidy = apply_ploidy_model(
                    dosage, ploidy, rows.row_class[idx], task.sex, xchr_model=a.xchr_model
                )
                diploid = False
            if counts is not None:
                counts.add(idx, dosage, ploidy, freq_ploidy)
            if accumulator is not None:
                accumulator.add(
                    dosage,
                    ploidy,
                    rows.weights[idx],
                    rows.counts_alleles[idx],
                    rows.effect_type[idx],
                    rows.given_frequency[idx],
                    freq_ploidy,
                    diploid=diploid,
                )
    finally:
        if accumulator is not None:
            accumulator.close()
    if accumulator is None:
        return Partial(task.index, None, 0, counts)
    return Partial(task.index, accumulator.totals(), accumulator.all_missing, counts)


def _chunks(
    task: ScoreTask,
    source: GenotypeSource,
    accumulator: ScoreTotals | None,
    counts: RowCounts | None,
) -> Iterator[DosageChunk]:
    """The task's chunks: read lazily (each scoring thread decoding the rows it adds, see
    :class:`~prs.genotypes.base.CallRows`) when the source can, nothing but the
    accumulator reads them (no counts, no ploidy model, one score or a few: the
    many-score matrix product takes whole chunks) and its chunks are split between
    threads; else as the source reads them (decoded one chunk ahead in a thread of the
    source's own, which a chunk added by one thread gains from)."""
    rows, a = task.rows, task.arithmetic
    read_lazily = getattr(source, "read_lazily", None)
    if (
        read_lazily is not None
        and accumulator is not None
        and accumulator.splits(a.chunk_size * len(source.samples), a.chunk_size)
        and not accumulator.matmul
        and counts is None
        and not a.raw_haploid
        and not rows.special.any()
    ):
        chunks = read_lazily(rows.record, rows.allele, chunk_size=a.chunk_size)
        if chunks is not None:
            return chunks
    return source.read(rows.record, rows.allele, chunk_size=a.chunk_size)


_SOURCES: OrderedDict[tuple[str, tuple[str, ...] | None], GenotypeSource] = OrderedDict()
_SOURCES_LOCK = threading.Lock()


def open_source(spec: SourceSpec, samples: tuple[str, ...] | None) -> GenotypeSource:
    """The genotypes of ``spec`` for ``samples`` (None: the spec's own), opened once per
    process and kept (the last :data:`SOURCE_CACHE_SIZE`), their sites listed at the
    spec's positions (a VCF source reads only records its ``sites()`` listed)."""
    key = (spec.token, samples)
    with _SOURCES_LOCK:
        if key in _SOURCES:
            _SOURCES.move_to_end(key)
            return _SOURCES[key]
        source = open_genotypes(
            list(spec.paths),
            format=spec.genotype_format,
            samples=spec.samples if samples is None else samples,
            dosage=spec.dosage,
            half_call=spec.half_call,
            haploid="as-diploid",
            engine=spec.engine,
        )
        source.sites(spec.wanted)
        _SOURCES[key] = source
        while len(_SOURCES) > SOURCE_CACHE_SIZE:
            _close(_SOURCES.popitem(last=False)[1])
        return source


def forget_sources(token: str) -> None:
    """Close and drop this process's sources of spec ``token`` (the end of a local run)."""
    with _SOURCES_LOCK:
        for key in [k for k in _SOURCES if k[0] == token]:
            _close(_SOURCES.pop(key))


def _close(source: GenotypeSource) -> None:
    close = getattr(source, "close", None)
    if callable(close):
        close()


class Combiner:
    """Partial totals added in task order into the run's totals (samples in blocks' columns).

    ``add`` takes partials in any order and adds each once all before it are in, so the sum
    is the same whatever order they arrive in.
    """

    def __init__(
        self,
        tasks: list[ScoreTask],
        blocks: list[tuple[int, int]],
        n_scores: int,
        n_rows: int,
        totals: dict[str, np.ndarray] | None = None,
    ) -> None:
        self._tasks = tasks
        self._blocks = blocks
        n = blocks[-1][1]
        if totals is None:
            totals = {
                name: np.zeros((n_scores, n)) for name in ("sums", "allele_ct", "denom", "named")
            }
            totals["missing_ct"] = np.zeros((n_scores, n), dtype=np.int64)
        #: The run's totals (``totals=``: those of the pieces before, added to in place, so
        #: a run in pieces adds every partial into one running sum, in the one-piece order).
        self.totals = totals
        self.all_missing = 0
        self.row_counts = RowCounts.zeros(n_rows)
        self.warnings: list[tuple[type[Warning], str]] = []
        self._waiting: dict[int, Partial] = {}
        self._next = 0

    @property
    def done(self) -> int:
        """Partials added so far."""
        return self._next

    def add(self, partial: Partial) -> None:
        """Take one partial; add it and every waiting one that is now next in order."""
        self._waiting[partial.index] = partial
        while self._next in self._waiting:
            self._add(self._waiting.pop(self._next))
            self._next += 1

    def _add(self, partial: Partial) -> None:
        task = self._tasks[partial.index]
        s0, s1 = self._blocks[task.block]
        if partial.totals is not None:
            for name, total in self.totals.items():
                total[:, s0:s1] += partial.totals[name]
        self.all_missing += partial.all_missing
        if partial.row_counts is not None:
            rows = slice(task.rows.start, task.rows.stop)
            for name in ("dosage", "alleles", "missing", "counted"):
                getattr(self.row_counts, name)[rows] += getattr(partial.row_counts, name)
        for w in partial.warnings:
            if w not in self.warnings:
                self.warnings.append(w)

    def frequencies(self, given: np.ndarray, impute: int) -> np.ndarray:
        """Each row's imputation frequency over all blocks, as the kernel takes it from one
        block: observed dosage / alleles (0.5 where no call is observed); with
        :data:`IMPUTE_GIVEN_FREQUENCY` the given frequency where there is one."""
        c = self.row_counts
        with np.errstate(divide="ignore", invalid="ignore"):
            cohort = np.where(c.alleles > 0, c.dosage / c.alleles, 0.5)
        if impute == IMPUTE_GIVEN_FREQUENCY:
            return np.where(np.isnan(given), cohort, given)
        assert impute != IMPUTE_NONE
        return cohort

    def rows_missing_everywhere(self) -> int:
        """Rows missing in every sample that counts, over all blocks (several blocks)."""
        c = self.row_counts
        return int(((c.missing > 0) & (c.missing == c.counted)).sum())
