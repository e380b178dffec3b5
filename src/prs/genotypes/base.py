"""The genotype-source protocol every format implements (one module per format).

A source exposes its samples, a site table (the variant index) and a reader that streams
*dosage chunks*: for requested (record, allele) pairs, the number of copies of that allele
each sample carries, with missing calls as NaN and the ploidy of each call.

Records are numbered globally across the source's files in reading order (file 0's records
first), which is how the matcher names a target variant and how the reader finds it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from prs.errors import GenotypeFileError
from prs.kernels.calls import call_dosages

#: Columns of the site table returned by :meth:`GenotypeSource.sites`, one row per
#: (record, ALT allele); a record without ALT (``.``) has one row with ``alt`` "" and
#: ``allele_index`` 0. ``allele_index`` is 1-based (1 = first ALT); ``n_alleles`` counts
#: REF plus ALTs; ``chrom`` is canonical (:func:`prs.genome.normalize_chrom`); ``ref`` and
#: ``alt`` are upper-case; ``record`` is the global record number; ``file`` the file index.
SITE_COLUMNS = ("chrom", "pos", "ref", "alt", "allele_index", "n_alleles", "record", "file", "id")


class CallRows:
    """A chunk's ``int8`` hard calls (copies 0..2, negative missing), decoded where they
    are added up: :meth:`rows` decodes rows ``start:stop`` in the calling thread.

    :meth:`prs.scoring.totals.ScoreTotals.add` gives each of its threads its share of a
    chunk's rows; with these, each thread decodes its share and adds it while it is in the
    core's cache, instead of one reader thread decoding the whole chunk for two threads to
    add (three threads on two cores, the whole chunk through memory twice). A chunk holds
    one as its ``dosage`` only from a source's ``read_lazily``
    (:meth:`prs.genotypes.plink.PlinkSource.read_lazily`), which only
    :func:`prs.scoring.tasks.run_task` asks for, for that one consumer.
    """

    dtype = np.dtype(np.int8)
    ndim = 2

    def __init__(self, shape: tuple[int, int], decode: Callable[[int, int], np.ndarray]) -> None:
        self.shape = shape
        self._decode = decode

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop``, ``int8[stop - start, n]``, decoded now into the calling
        thread's buffer: valid until the same thread decodes again."""
        return self._decode(start, stop)


@dataclass(frozen=True)
class DosageChunk:
    """Dosages of requested alleles for a run of requests.

    Attributes
    ----------
    request
        ``int64[k]``: positions of these rows in the request arrays given to ``read``.
    dosage
        ``float64[k, n_samples]``: copies of the requested allele (0..ploidy, fractional for
        DS/GP), NaN where the call is missing; or, from a source of hard calls (PLINK
        ``.pgen``/``.bed``), ``int8[k, n_samples]`` copies 0..2 with a negative value
        (PLINK's -9) where the call is missing. Consumers take either:
        :meth:`prs.scoring.totals.ScoreTotals.add` and :func:`prs.ploidy.apply_ploidy_model`
        read both (the same totals), :func:`chunk_dosages` gives float64 for anything else.
        From ``read_lazily`` (asked for by the scoring loop only): a :class:`CallRows`.
    ploidy
        ``int8[k, n_samples]``: ploidy of each call (2 diploid, 1 haploid, e.g. chrX in
        males); kept for missing calls too (the ploidy the call would have had).
    diploid
        True when the source knows every ``ploidy`` is 2 (a PLINK reader: calls are stored
        diploid), so a consumer may skip reading it; False: nothing is known.
    """

    request: np.ndarray
    dosage: np.ndarray
    ploidy: np.ndarray
    diploid: bool = False


@runtime_checkable
class GenotypeSource(Protocol):
    """What :func:`prs.score` needs from a genotype file (or a set of them).

    A source may say more (:class:`DescribedSource`: build, notes, records read from GT).
    """

    #: Sample IDs in output order (after any sample subset).
    samples: tuple[str, ...]
    #: Paths read, in record order.
    paths: tuple[str, ...]

    def sites(self, wanted: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
        """Return the site table (columns :data:`SITE_COLUMNS`).

        ``wanted`` maps canonical chromosome -> sorted int64 positions; a source may then
        return only sites at those positions (it must return *all* records at them).
        """
        ...

    def read(
        self, records: np.ndarray, alleles: np.ndarray, *, chunk_size: int = 1024
    ) -> Iterator[DosageChunk]:
        """Stream dosages for ``(records[i], alleles[i])`` pairs.

        ``records`` is sorted ascending (repeats allowed, one per requested allele);
        ``alleles`` are allele indexes (0 = REF). Chunks come in request order and together
        cover every request exactly once.
        """
        ...


@runtime_checkable
class DescribedSource(GenotypeSource, Protocol):
    """A :class:`GenotypeSource` that also says what the scorer records about it (both VCF
    engines are). The scorer reads these through :func:`source_build`,
    :func:`source_notes`, :func:`records_read_from_gt` and :func:`source_haploid`, which
    give a plain :class:`GenotypeSource` the defaults.
    """

    #: Every :class:`~prs.errors.GenotypeWarning` the source issued, in order (provenance).
    notes: list[str]
    #: Records whose DS/GP dosage was read from GT because they lack the field.
    fallback_to_gt: int
    #: How haploid calls are counted (:data:`prs.vocab.HAPLOID_POLICIES`):
    #: ``"as-diploid"`` dosages are already doubled.
    haploid: str

    def build(self) -> str | None:
        """The genome build the files imply (e.g. VCF ``##contig`` lengths), or None."""
        ...


def source_build(source: GenotypeSource) -> str | None:
    """The build ``source`` implies, or None when it does not say."""
    build = getattr(source, "build", None)
    return build() if callable(build) else None


def source_sexes(source: GenotypeSource) -> tuple[Mapping[str, int], str] | None:
    """Each sample's sex as the genotype files themselves give it (a PLINK ``.psam``/``.fam``:
    ``sex_by_sample``) and the file it comes from, or None (a VCF carries no sex)."""
    sexes = getattr(source, "sex_by_sample", None)
    if sexes is None:
        return None
    return sexes, str(getattr(source, "sex_file", "the genotype files"))


def source_notes(source: GenotypeSource) -> list[str]:
    """The warnings ``source`` noted (none when it does not keep them)."""
    return [str(note) for note in getattr(source, "notes", ())]


def records_read_from_gt(source: GenotypeSource) -> int:
    """Records whose DS/GP dosage ``source`` read from GT (0 when it does not count)."""
    return int(getattr(source, "fallback_to_gt", 0))


def files_without_field(source: GenotypeSource, field: str) -> list[int]:
    """Indexes of ``source``'s files that store no ``field`` (``"DS"``/``"GP"``) at all, so
    its hard calls would be read instead: a VCF whose header declares no such FORMAT field,
    a PLINK 1 ``.bed`` (hard calls only); a source's own ``files_without_field(field)``
    when it has one. Empty for ``"GT"`` and for sources that do not say."""
    if field == "GT":
        return []
    own = getattr(source, "files_without_field", None)
    if callable(own):
        return [int(k) for k in own(field)]
    headers = getattr(source, "headers", None)
    if not headers:
        return []
    return [k for k, header in enumerate(headers) if field not in header.formats]


def source_haploid(source: GenotypeSource) -> str:
    """How ``source`` counts haploid calls (``"as-diploid"`` when it does not say)."""
    return str(getattr(source, "haploid", "as-diploid"))


#: The site table's column dtypes (besides the text columns).
SITE_DTYPES = {
    "pos": np.int64,
    "allele_index": np.int16,
    "n_alleles": np.int16,
    "record": np.int64,
    "file": np.int32,
}


def site_table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One site table from per-file frames (columns :data:`SITE_COLUMNS`), in order, with
    the table's dtypes (:data:`SITE_DTYPES`)."""
    return pd.concat(frames, ignore_index=True).astype(SITE_DTYPES)


def chunk_dosages(dosage: np.ndarray) -> np.ndarray:
    """A chunk's ``dosage`` as float64, NaN missing (int8 hard calls converted; float64
    returned as it is).

    >>> chunk_dosages(np.array([[0, 2, -9]], dtype=np.int8))
    array([[ 0.,  2., nan]])
    """
    if dosage.dtype != np.int8:
        return dosage
    values = np.empty(dosage.shape)
    call_dosages(np.ascontiguousarray(dosage), values)
    return values


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct int64 values (numpy 2's hashing ``np.unique`` is ~10x slower here)."""
    ordered = np.sort(np.asarray(values, dtype=np.int64))
    if len(ordered) == 0:
        return ordered
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


def file_requests(
    records: np.ndarray, alleles: np.ndarray, first: np.ndarray, path: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``read`` request checked for a multi-file source: ``records`` and ``alleles`` as
    int64, and the file index of each request (``first``: each file's first global record,
    then the total). Unsorted records are a ``ValueError`` (a caller's bug); a record out of
    range is a :class:`~prs.errors.GenotypeFileError` naming ``path``.

    >>> file_requests(np.array([0, 2, 3]), np.array([1, 1, 1]), np.array([0, 2, 4]), "x")[2]
    array([0, 1, 1])
    """
    records = np.asarray(records, dtype=np.int64)
    alleles = np.asarray(alleles, dtype=np.int64)
    if len(records) and np.any(np.diff(records) < 0):
        raise ValueError("records must be sorted ascending")
    if len(records) and (records[0] < 0 or records[-1] >= first[-1]):
        raise GenotypeFileError(f"{path}: requested record out of range")
    return records, alleles, np.searchsorted(first, records, side="right") - 1
