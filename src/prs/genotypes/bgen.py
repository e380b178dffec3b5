"""BGEN 1.2/1.3 genotypes (the ``bgen`` package): probabilities -> expected allele dosages.

The ``bgen`` package (jeremymcrae/bgen: C++ decoder, numpy its only dependency, a writer too)
decodes each record's probabilities; this module reads the header, the ``.sample`` file and
the ``.bgi`` index itself, checks them against each other, and turns probabilities into
:class:`~prs.genotypes.base.DosageChunk` rows. Measured on 5,000 samples x 2,000 8-bit
variants: 0.12 s with ``bgen`` against 0.85 s with cbgen (which also needs a metafile
written beside the data); bgen-reader pins pandas < 3. The common record (zlib or
uncompressed, or zstd when the ``zstandard`` package is installed; unphased, two alleles,
all diploid, 8 or 16 bits: what UK Biobank and ``plink2 --export bgen-1.x`` write) is
decoded here from its bytes, the dosage from the stored integers in float64, 8x faster
than the package's float32 probabilities per record; every other record goes through the
package. Zlib and stored records are decoded in runs (one ``pread`` per run of records,
one call of the compiled :func:`prs.kernels.bgen.decode_bgen_records` that parses, inflates
with libdeflate and writes the rows without the GIL, so the decoding threads run in
parallel; 44 us per 20,000-sample 8-bit record on one core against ~115 us record by
record in Python); without libdeflate, for zstd records, and for a small read before
Numba has started (:data:`KERNEL_MIN_GENOTYPES`), record by record in Python (ISA-L or
zstandard inflating). Both give the same dosages bit for bit; :attr:`BgenSource.decoded`
counts the records each path decoded.

Rules:

* **REF and ALT**: BGEN stores alleles without saying which is REF. ``ref_allele="first"``
  (default: UK Biobank's files, bgenix, qctool, and PLINK 2's ``--bgen ... ref-first``)
  takes the first allele as REF, the others as ALTs in order; ``"last"`` (PLINK 2's
  ``ref-last``: what ``plink2 --export bgen-1.x`` writes without ``ref-first``) the last.
  Scores do not depend on it (the matcher tries both alleles); the match report's REF/ALT
  do.
* **Dosages** (``dosage="DS"`` or ``"GP"``, the same for BGEN): the expected count of the
  requested allele from the record's probabilities: unphased, the sum over genotypes of
  probability x copies (genotypes in the BGEN order, colex over allele counts: 11, 12, 22,
  13, 23, 33, ...); phased, the sum over haplotypes of that allele's probability. Any
  ploidy and any number of alleles.
* **Hard calls** (``dosage="GT"``, :func:`prs.score`'s default): as PLINK 2 makes them when it
  imports a BGEN (``--hard-call-threshold`` 0.1): the expected dosage rounded to the nearest
  integer when within 0.1 of it, else missing (at a multi-allelic record a sample's call is
  missing unless every allele's dosage is that close). A source that meets fractional
  dosages under ``"GT"`` warns once (:class:`~prs.errors.GenotypeWarning`): PLINK 2's
  ``--score`` uses the dosages; pass ``dosage="DS"`` for the same.
* **Missing samples** (BGEN's missingness bit): NaN. Ploidy 0 is missing too.
* **Ploidy**: as the VCF engines: ``haploid="as-diploid"`` (default, PLINK 2's reading)
  doubles a haploid sample's dosage and reports ploidy 2; ``"haploid"`` keeps one copy and
  ploidy 1.
* **Sample IDs**: from the ``.sample`` file (``sample_file=``; by default ``x.sample``
  beside ``x.bgen``, else ``x.bgen.sample``) by PLINK's rule (``ID_1_ID_2`` when some ID_1
  is not ``0``, else ``ID_2``; :mod:`prs.genotypes.plink`); without one, the identifiers
  embedded in the BGEN; with neither, refused (positional names would join sexes or
  phenotypes to the wrong people without a word). A ``.sample`` whose IDs match neither
  form of the embedded ones is warned about. Sex from the ``.sample``'s ``sex`` column
  (1/M/male, 2/F/female) into ``sex_by_sample``, as PLINK 2 reads it.
* **Index** (``x.bgen.bgi``, bgenix's SQLite table): used for the site table when it fits the
  file: its metadata (size, first 1,000 bytes) when present, the variant count of the
  header, and its records' offsets and sizes tiling the file from the first record to the
  end; and the records it names at a spread of offsets must hold its chrom, pos, rsID and
  alleles. An index that fails any of these is not used (noted and warned, the file is
  scanned instead: exact, slower).
* **Files**: several (e.g. one per chromosome) with the same samples in the same order;
  records numbered globally in file order.
* **Errors** (:class:`~prs.errors.GenotypeFileError`, naming the file and, when reading, the
  record): wrong magic bytes, a header that does not fit, a truncated file, a ``.sample``
  whose row count differs from the BGEN's, samples differing between files, a record the
  decoder cannot read.
"""

from __future__ import annotations

import ctypes
import itertools
import mmap
import os
import sqlite3
import struct
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from isal import isal_zlib

from prs.errors import GenotypeFileError, GenotypeWarning, warn
from prs.genome import normalize_chrom
from prs.genotypes.base import SITE_COLUMNS, DosageChunk, file_requests
from prs.genotypes.bgzf import LIBDEFLATE
from prs.genotypes.options import check_read_options
from prs.genotypes.plink import _SEX_CODES
from prs.genotypes.vcf_header import _sample_subset, duplicate_records_message
from prs.kernels import bgen as bgen_kernel
from prs.kernels.jit import numba_started

__all__ = ["HARD_CALL_THRESHOLD", "REF_ALLELES", "BgenSource", "expected_dosages"]

#: Where BGEN's REF is: the first allele or the last (PLINK 2's ``ref-first``/``ref-last``).
REF_ALLELES = ("first", "last")
#: PLINK 2's ``--hard-call-threshold`` default: a dosage this close to an integer is a call.
HARD_CALL_THRESHOLD = 0.1
#: Largest dosage chunk :meth:`BgenSource.read` yields (bytes): below glibc's largest mmap
#: threshold (32 MiB), chunks are recycled from the heap instead of mapped afresh and
#: page-faulted in each time (read CPU per 20,000-sample record 130-200 -> ~95 us). 30 MiB
#: rather than 16: fewer, larger chunks cut the per-chunk work (the scoring loop of 20,000
#: x 20,000 0.94-0.96 -> 0.85-0.92 s, CPU 1.66-1.69 -> 1.54-1.55 s), and up to 3,932
#: samples a chunk is the 1,024 rows the VCF readers cut, so the sums add as theirs do.
CHUNK_BYTES = 30 * 2**20
#: Records read in one ``pread`` by the kernel path: a gap between two requested records
#: larger than this starts another read (bytes).
RUN_GAP = 1 << 20
#: Before Numba has started (:func:`prs.kernels.jit.numba_started`), a file read of fewer
#: requested genotypes (records x samples) and fewer records than these is decoded record
#: by record in Python, so a small job does not pay Numba's start (~0.4 s); larger ones
#: start it (the scorer's totals would start it too: ``prs.scoring.totals.NUMPY_GENOTYPES``).
KERNEL_MIN_GENOTYPES = 1 << 21
KERNEL_MIN_RECORDS = 5_000
#: Chunks :meth:`BgenSource.read` decodes ahead of the one its caller holds (0: none).
READ_AHEAD = 1
#: Tasks per decoding thread and chunk on the kernel path.
_TASKS_PER_THREAD = 4
#: Records whose index entry is compared with the file (spread evenly, ends included).
_INDEX_SPOT_CHECKS = 16
_MAGICS = (b"bgen", b"\0\0\0\0")
_SEX_WORDS = {**_SEX_CODES, "MALE": 1, "FEMALE": 2}
try:
    from zstandard import ZstdError as _ZstdError
except ImportError:  # pragma: no cover - zstandard is optional

    class _ZstdError(Exception):  # type: ignore[no-redef]
        """Never raised (no zstandard)."""


@dataclass(frozen=True)
class _Header:
    """What a BGEN header says (the spec's first block)."""

    first_record: int
    n_variants: int
    n_samples: int
    compression: int
    layout: int
    has_sample_ids: bool


@dataclass
class _Records:
    """One file's record table, in file order."""

    chrom: np.ndarray  # object, canonical names
    pos: np.ndarray  # int64
    rsid: np.ndarray  # object
    alleles: list[list[str]]  # as stored (not yet REF/ALT)
    start: np.ndarray  # int64 byte offset of each record
    end: np.ndarray  # int64 byte offset after it
    n_alleles: np.ndarray  # int64 alleles of each record


def _read_header(path: str) -> _Header:
    """The header of the BGEN at ``path`` (checked against the file's size)."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(24)
        if len(head) < 24:
            raise GenotypeFileError(
                f"{path}: {size} bytes, too short for a BGEN header (truncated, or not BGEN)"
            )
        offset, header_length, n_variants, n_samples, magic = struct.unpack("<IIII4s", head[:20])
        if magic not in _MAGICS:
            raise GenotypeFileError(
                f"{path}: not a BGEN file (bytes 16-19 are {magic!r}, expected b'bgen')"
            )
        if header_length < 20 or header_length > offset or offset + 4 > size:
            raise GenotypeFileError(
                f"{path}: header length {header_length} and first-record offset {offset + 4} "
                f"do not fit a {size}-byte file (truncated, or not BGEN)"
            )
        handle.seek(header_length)  # the flags: the header block's last 4 bytes
        (flags,) = struct.unpack("<I", handle.read(4))
    compression, layout = flags & 3, (flags >> 2) & 15
    if compression > 2 or layout not in (1, 2):
        raise GenotypeFileError(
            f"{path}: header flags {flags:#010x} name compression {compression} and layout "
            f"{layout}; BGEN 1.1-1.3 has compression 0-2 and layout 1 or 2"
        )
    return _Header(offset + 4, n_variants, n_samples, compression, layout, bool(flags >> 31))


@lru_cache(maxsize=2)
def _reader_class(use_index: bool) -> type:
    """``bgen.BgenReader``, or a subclass that does not look for a ``.bgi`` (the package
    would otherwise trust any index it finds beside the file)."""
    from bgen import BgenReader

    if use_index:
        return BgenReader

    class _UnindexedReader(BgenReader):  # type: ignore[misc,valid-type]
        def _check_for_index(self, bgen_path: str) -> bool:
            return False

    return _UnindexedReader


def _reader(path: str, *, use_index: bool):  # -> bgen.BgenReader
    """The ``bgen`` package's reader of ``path`` (``use_index``: through its ``.bgi``,
    which the caller has checked)."""
    cls = _reader_class(use_index)
    try:
        return cls(path, delay_parsing=True)
    except (RuntimeError, ValueError, OSError) as exc:
        raise GenotypeFileError(f"{path}: the bgen package cannot open it ({exc})") from exc


# -- probabilities -> dosages ------------------------------------------------------------


@lru_cache(maxsize=64)
def _genotype_copies(ploidy: int, n_alleles: int) -> np.ndarray:
    """``float64[n_genotypes, n_alleles]``: copies of each allele in each unphased genotype,
    genotypes in BGEN's order (colex over sorted allele tuples: 11, 12, 22, 13, 23, 33).

    >>> _genotype_copies(2, 3).astype(int).tolist()
    [[2, 0, 0], [1, 1, 0], [0, 2, 0], [1, 0, 1], [0, 1, 1], [0, 0, 2]]
    """
    genotypes = sorted(
        itertools.combinations_with_replacement(range(n_alleles), ploidy), key=lambda g: g[::-1]
    )
    copies = np.zeros((len(genotypes), n_alleles))
    for row, genotype in enumerate(genotypes):
        for allele in genotype:
            copies[row, allele] += 1
    return copies


def expected_dosages(
    probabilities: np.ndarray, ploidy: np.ndarray, *, phased: bool, n_alleles: int
) -> np.ndarray:
    """Expected copies of every allele for each sample of one BGEN record.

    Parameters
    ----------
    probabilities
        ``[n_samples, width]`` as the ``bgen`` package gives them: unphased, one column per
        genotype of the widest ploidy (NaN beyond a sample's own genotypes); phased,
        ``n_alleles`` columns per haplotype (NaN beyond a sample's ploidy). A missing sample
        is NaN throughout.
    ploidy
        ``[n_samples]`` each sample's ploidy.
    phased, n_alleles
        As the record says.

    Returns
    -------
    numpy.ndarray
        ``float64[n_alleles, n_samples]``: copies of each allele (0..ploidy), NaN where the
        sample is missing or of ploidy 0.

    Examples
    --------
    >>> p = np.array([[0.1, 0.2, 0.7], [np.nan] * 3])
    >>> expected_dosages(p, np.array([2, 2]), phased=False, n_alleles=2).round(6).tolist()
    [[0.4, nan], [1.6, nan]]
    """
    probabilities = np.asarray(probabilities)
    ploidy = np.asarray(ploidy)
    n = len(ploidy)
    if not phased and n_alleles == 2 and n and ploidy.min() == ploidy.max() == 2:
        return _biallelic_diploid(probabilities)
    out = np.full((n_alleles, n), np.nan)
    levels = np.unique(ploidy)
    for level in levels:
        level = int(level)
        if level == 0:
            continue  # no alleles: missing
        rows = slice(None) if len(levels) == 1 else np.flatnonzero(ploidy == level)
        if phased:
            width = level * n_alleles
            block = probabilities[rows, :width].astype(np.float64)
            # haplotype h's allele a is column h * n_alleles + a
            values = block.reshape(-1, level, n_alleles).sum(axis=1).T
        else:
            copies = _genotype_copies(level, n_alleles)
            block = probabilities[rows, : len(copies)].astype(np.float64)
            values = (block @ copies).T
        out[:, rows] = values
    return out


def _biallelic_diploid(probabilities: np.ndarray) -> np.ndarray:
    """The common record (unphased, two alleles, every sample diploid): REF copies
    ``2 p11 + p12``, ALT copies ``p12 + 2 p22``, summed in float64 in place (3x faster than
    the general matrix product)."""
    out = np.empty((2, len(probabilities)))
    hom_ref, het, hom_alt = probabilities[:, 0], probabilities[:, 1], probabilities[:, 2]
    out[0] = hom_ref
    out[0] += hom_ref
    out[0] += het
    out[1] = het
    out[1] += hom_alt
    out[1] += hom_alt
    return out


def _hard_calls(dosages: np.ndarray) -> np.ndarray:
    """PLINK 2's import of dosages as hard calls: the nearest integer when every allele of a
    sample is within :data:`HARD_CALL_THRESHOLD` of one, else NaN (missing). (The kernel
    path makes them in :func:`prs.kernels.bgen.decode_bgen_records`, the same way.)"""
    rounded = np.rint(dosages)
    far = np.abs(dosages - rounded) > HARD_CALL_THRESHOLD
    rounded[:, far.any(axis=0)] = np.nan
    return rounded


# -- sample files ------------------------------------------------------------------------


def _sample_file_for(bgen_path: str) -> str | None:
    """The ``.sample`` beside ``bgen_path`` (``x.sample``, else ``x.bgen.sample``), or None."""
    for candidate in (str(Path(bgen_path).with_suffix(".sample")), bgen_path + ".sample"):
        if Path(candidate).is_file():
            return candidate
    return None


def _read_sample_file(path: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...] | None]:
    """(IDs by PLINK's rule, IID column, sex codes or None) of an Oxford ``.sample`` file."""
    try:
        lines = [line.split() for line in Path(path).read_text(errors="replace").splitlines()]
    except OSError as exc:
        raise GenotypeFileError(f"{path}: cannot read the sample file ({exc})") from exc
    lines = [line for line in lines if line]
    if len(lines) < 2 or len(lines[0]) < 2:
        raise GenotypeFileError(
            f"{path}: not an Oxford .sample file (expected a header line 'ID_1 ID_2 missing "
            "...' and a line of column types)"
        )
    header, types = lines[0], lines[1]
    if len(types) != len(header) or types[0] != "0":
        raise GenotypeFileError(
            f"{path} line 2: expected the column types ('0 0 0 D ...', one per header "
            f"column), found {' '.join(types)!r}"
        )
    rows = lines[2:]
    bad = next((k for k, r in enumerate(rows) if len(r) != len(header)), None)
    if bad is not None:
        raise GenotypeFileError(
            f"{path} line {bad + 3}: {len(rows[bad])} columns, the header has {len(header)}"
        )
    fids, iids = [r[0] for r in rows], [r[1] for r in rows]
    lower = [h.lower() for h in header]
    sexes = None
    if "sex" in lower:
        column = lower.index("sex")
        sexes = tuple(_SEX_WORDS.get(r[column].upper(), 0) for r in rows)
    if any(f != "0" for f in fids):
        ids = tuple(f"{f}_{i}" for f, i in zip(fids, iids, strict=True))
    else:
        ids = tuple(iids)
    return ids, tuple(iids), sexes


# -- the index ---------------------------------------------------------------------------


def _index_doubt(path: str, index_path: str, header: _Header) -> tuple[_Records | None, str | None]:
    """(records, None) from the ``.bgi`` when it fits the file, else (None, the reason)."""
    size = os.path.getsize(path)
    try:
        with sqlite3.connect(f"file:{index_path}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT chromosome, position, rsid, number_of_alleles, allele1, allele2, "
                "file_start_position, size_in_bytes FROM Variant ORDER BY file_start_position"
            ).fetchall()
            tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master")}
            meta = (
                conn.execute("SELECT file_size, first_1000_bytes FROM Metadata").fetchone()
                if "Metadata" in tables
                else None
            )
    except sqlite3.Error as exc:
        return None, f"it is not a readable bgenix index ({exc})"
    if meta is not None:
        with open(path, "rb") as handle:
            first = handle.read(1000)
        if meta[0] != size or bytes(meta[1]) != first:
            return None, "its metadata (file size, first 1,000 bytes) are another file's"
    if len(rows) != header.n_variants:
        return None, f"it lists {len(rows)} variants, the file's header {header.n_variants}"
    if not rows:
        return None, "it lists no variants"
    starts = np.array([r[6] for r in rows], dtype=np.int64)
    sizes = np.array([r[7] for r in rows], dtype=np.int64)
    ends = starts + sizes
    if starts[0] != header.first_record or ends[-1] != size or np.any(starts[1:] != ends[:-1]):
        return None, "its records' offsets and sizes do not tile the file"
    # the records at the index's offsets, read as the scoring will read them
    reader = _reader(path, use_index=True)
    try:
        return _spot_check(rows, reader)
    finally:
        reader.close()


def _spot_check(rows: list[tuple], reader: object) -> tuple[_Records | None, str | None]:
    """The index's records when the file holds them at a spread of its offsets."""
    for k in np.unique(np.linspace(0, len(rows) - 1, _INDEX_SPOT_CHECKS).astype(np.int64)):
        chrom, pos, rsid, n_alleles, a1, a2 = rows[k][:6]
        try:
            var = reader[int(k)]  # type: ignore[index]
            found = (var.chrom, var.pos, var.rsid, len(var.alleles), var.alleles[:2])
        except (ValueError, IndexError, RuntimeError) as exc:
            return None, f"the file cannot be read at its record {k} ({exc})"
        if found != (chrom, pos, rsid, n_alleles, [a for a in (a1, a2) if a is not None]):
            return None, (
                f"its record {k} ({chrom}:{pos} {rsid}) is not the file's "
                f"({found[0]}:{found[1]} {found[2]})"
            )
    alleles = [[r[4]] + ([r[5]] if r[5] is not None else []) for r in rows]
    for k in np.flatnonzero(np.array([r[3] for r in rows]) > 2):
        alleles[k] = list(reader[int(k)].alleles)  # type: ignore[index]
    columns = list(zip(*rows, strict=True))
    start = np.array(columns[6], dtype=np.int64)
    end = start + np.array(columns[7], dtype=np.int64)
    return _records(list(columns[0]), list(columns[1]), list(columns[2]), alleles, start, end), None


def _records(
    chrom: list[str], pos: list[int], rsid: list[str], alleles: list, start: list, end: list
) -> _Records:
    cache: dict[str, str] = {}
    names = [cache[c] if c in cache else cache.setdefault(c, normalize_chrom(c)) for c in chrom]
    return _Records(
        np.array(names, dtype=object),
        np.array(pos, dtype=np.int64),
        np.array([r if r else "." for r in rsid], dtype=object),
        alleles,
        np.array(start, dtype=np.int64),
        np.array(end, dtype=np.int64),
        np.array([len(a) for a in alleles], dtype=np.int64),
    )


_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_POS_ALLELES = struct.Struct("<IH").unpack_from


@dataclass
class _RecordRows:
    """The record table of a file as its records' headers are walked (:func:`_walk`,
    :func:`_scan`), one list per column."""

    chrom: list[str] = field(default_factory=list)
    pos: list[int] = field(default_factory=list)
    rsid: list[str] = field(default_factory=list)
    alleles: list[list[str]] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    def table(self, path: str, header: _Header, end: int) -> _Records:
        """The table, once the walk reached byte ``end``: a file shorter than that, or
        with fewer records than its header lists, is truncated."""
        size = os.path.getsize(path)
        if end > size or len(self.ends) < header.n_variants:
            raise GenotypeFileError(
                f"{path}: its last record ends at byte {end}, the file has {size}: truncated"
            )
        return _records(self.chrom, self.pos, self.rsid, self.alleles, self.starts, self.ends)

    def cut_short(self, path: str, header: _Header, exc: Exception) -> GenotypeFileError:
        """The error of a walk that could not read its next record."""
        return GenotypeFileError(
            f"{path}: cannot read record {len(self.ends)} of the {header.n_variants} its "
            f"header lists ({exc}); the file is truncated or corrupt"
        )


def _walk(path: str, header: _Header) -> _Records:
    """The record table of a layout-2 ``path`` read from its records' headers (no index):
    the IDs, position and alleles of each, then its genotype block skipped by its stated
    size (about twice as fast as the ``bgen`` package's walk, :func:`_scan`, which makes a
    Python object of each record)."""
    rows = _RecordRows()
    at = header.first_record
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        try:
            for _ in range(header.n_variants):
                start = at
                (length,) = _U16(m, at)  # the variant ID, not kept
                at += 2 + length
                (length,) = _U16(m, at)
                rsid = m[at + 2 : at + 2 + length].decode(errors="replace")
                at += 2 + length
                (length,) = _U16(m, at)
                chrom = m[at + 2 : at + 2 + length].decode(errors="replace")
                at += 2 + length
                position, n_alleles = _POS_ALLELES(m, at)
                at += 6
                names = []
                for _ in range(n_alleles):
                    (length,) = _U32(m, at)
                    names.append(m[at + 4 : at + 4 + length].decode(errors="replace"))
                    at += 4 + length
                (length,) = _U32(m, at)  # the genotype block's size
                at += 4 + length
                rows.chrom.append(chrom)
                rows.pos.append(position)
                rows.rsid.append(rsid)
                rows.alleles.append(names)
                rows.starts.append(start)
                rows.ends.append(at)
        except struct.error as exc:
            raise rows.cut_short(path, header, exc) from exc
    return rows.table(path, header, at)


def _scan(path: str, header: _Header, reader: object) -> _Records:
    """The record table of ``path`` read from its records' headers (no index)."""
    rows = _RecordRows()
    end = header.first_record
    try:
        for var in reader:  # type: ignore[attr-defined]
            rows.chrom.append(var.chrom)
            rows.pos.append(var.pos)
            rows.rsid.append(var.rsid)
            rows.alleles.append(list(var.alleles))
            rows.starts.append(var.fileoffset)
            end = var.next_variant_offset
            rows.ends.append(end)
    except (ValueError, IndexError, RuntimeError) as exc:
        raise rows.cut_short(path, header, exc) from exc
    return rows.table(path, header, end)


class BgenSource:
    """Genotypes from one BGEN file or several (e.g. one per chromosome).

    Parameters
    ----------
    paths
        ``.bgen`` paths; every file must hold the same samples in the same order.
    samples
        Keep only these sample IDs (output in this order). Default: all.
    dosage
        ``"DS"`` (default) or ``"GP"``: expected dosages; ``"GT"``: hard calls as PLINK 2
        imports them (see the module's rules).
    half_call
        Accepted for the common interface (BGEN holds probabilities, not half calls).
    haploid
        ``"as-diploid"`` (default, PLINK 2) or ``"haploid"`` (see the module's rules).
    ref_allele
        ``"first"`` (default) or ``"last"``: which stored allele is REF.
    sample_file
        A ``.sample`` file for every BGEN (or one per BGEN). Default: beside each BGEN.
    threads
        Threads decoding records (default: 2, or 1 on one CPU); the results do not depend
        on it.

    Raises
    ------
    GenotypeFileError
        See the module's rules.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from bgen import BgenWriter
    >>> path = tempfile.mkdtemp() + "/x.bgen"
    >>> with BgenWriter(path, 2, samples=["a", "b"], compression="zlib") as writer:
    ...     writer.add_variant("v", "rs1", "1", 10, ["A", "G"],
    ...                        np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]), bit_depth=16)
    >>> source = BgenSource(path)
    >>> source.samples, list(source.sites()[["ref", "alt"]].iloc[0])
    (('a', 'b'), ['A', 'G'])
    >>> next(source.read(np.array([0]), np.array([1]))).dosage.round(4).tolist()
    [[1.5, 0.0]]
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        samples: Sequence[str] | None = None,
        dosage: str = "DS",
        half_call: str = "error",
        haploid: str = "as-diploid",
        ref_allele: str = "first",
        sample_file: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        threads: int | None = None,
    ) -> None:
        check_read_options(
            dosage=dosage,
            half_call=half_call,
            haploid=haploid,
            fields=("GT", "DS", "GP"),
            kind="BGEN",
        )
        if ref_allele not in REF_ALLELES:
            raise GenotypeFileError(f"ref_allele must be one of {REF_ALLELES}, not {ref_allele!r}")
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths: tuple[str, ...] = tuple(os.fspath(p) for p in paths)
        if not self.paths:
            raise GenotypeFileError("no BGEN files given")
        if sample_file is None or isinstance(sample_file, (str, os.PathLike)):
            sample_files = [None if sample_file is None else os.fspath(sample_file)] * len(
                self.paths
            )
        else:
            sample_files = [os.fspath(s) for s in sample_file]
            if len(sample_files) != len(self.paths):
                raise GenotypeFileError(
                    f"{len(sample_files)} sample files for {len(self.paths)} BGEN files"
                )
        self.dosage_field = dosage
        self.haploid = haploid
        self.ref_allele = ref_allele
        #: Threads decoding records (inflate and arithmetic release the GIL).
        self.threads = max(1, threads if threads is not None else min(2, os.cpu_count() or 1))
        self.fallback_to_gt = 0
        self.notes: list[str] = []
        #: Records decoded by each path so far (a record requested in two chunks counts
        #: twice): ``"kernel"`` (runs of records in one compiled call, libdeflate
        #: inflating), ``"python"`` (record by record, ISA-L or zstd), ``"package"`` (the
        #: ``bgen`` package: records other than the common one).
        self.decoded = {"kernel": 0, "python": 0, "package": 0}
        #: None: the kernel path when :func:`kernel_inflater` finds libdeflate and the read
        #: is large or Numba has started; True/False force it (tests).
        self._kernel: bool | None = None
        self._warned_fractional = False
        self._headers: list[_Header] = []
        self._records: list[_Records] = []
        self._indexed: list[bool] = []
        file_ids: tuple[str, ...] | None = None
        sexes: tuple[int, ...] | None = None
        sex_file: str | None = None
        for path, given in zip(self.paths, sample_files, strict=True):
            if not Path(path).is_file():
                raise GenotypeFileError(f"{path}: no such BGEN file")
            header = _read_header(path)
            ids, file_sexes, used = self._sample_ids(path, header, given)
            if file_ids is None:
                file_ids, sexes, sex_file = ids, file_sexes, used
            elif ids != file_ids:
                raise GenotypeFileError(
                    f"{path}: samples differ from {self.paths[0]}'s (the files of one run "
                    "hold the same samples in the same order)"
                )
            self._headers.append(header)
            records, indexed = self._record_table(path, header)
            self._records.append(records)
            self._indexed.append(indexed)
        assert file_ids is not None
        self._n_raw = len(file_ids)
        #: Each sample's sex as the ``.sample`` says (1 male, 2 female, 0 unknown), or None
        #: when it has no sex column (:func:`prs.genotypes.base.source_sexes`).
        self.sex_by_sample: dict[str, int] | None = (
            None if sexes is None else dict(zip(file_ids, sexes, strict=True))
        )
        #: The file the sexes come from (for the provenance).
        self.sex_file = sex_file
        if samples is None:
            self.samples: tuple[str, ...] = file_ids
            self._columns: np.ndarray | None = None
        else:  # (checked as the VCF readers check it: present, once each, not none)
            self.samples, self._columns = _sample_subset(self.paths[0], file_ids, samples)
        counts = [len(r.pos) for r in self._records]
        self._first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def build(self) -> str | None:
        """None: a BGEN names no contig lengths."""
        return None

    def _note(self, message: str) -> None:
        self.notes.append(message)
        warn(message, GenotypeWarning)

    def _sample_ids(
        self, path: str, header: _Header, given: str | None
    ) -> tuple[tuple[str, ...], tuple[int, ...] | None, str | None]:
        """(IDs, sex codes or None, the .sample path or None) for one BGEN."""
        sample_path = given if given is not None else _sample_file_for(path)
        embedded: tuple[str, ...] | None = None
        if header.has_sample_ids:
            reader = _reader(path, use_index=False)
            try:
                embedded = tuple(reader.samples)
            finally:
                reader.close()
            if len(embedded) != header.n_samples:
                raise GenotypeFileError(
                    f"{path}: {len(embedded)} embedded sample IDs, the header says "
                    f"{header.n_samples} samples"
                )
        if sample_path is None:
            if embedded is None:
                raise GenotypeFileError(
                    f"{path}: no sample IDs (none embedded in the BGEN and no .sample file "
                    f"beside it); pass sample_file= (an Oxford .sample file)"
                )
            return embedded, None, None
        if not Path(sample_path).is_file():
            raise GenotypeFileError(f"{sample_path}: no such sample file (for {path})")
        ids, iids, sexes = _read_sample_file(sample_path)
        if len(ids) != header.n_samples:
            raise GenotypeFileError(
                f"{sample_path}: {len(ids)} samples, but {path} holds {header.n_samples}; "
                "the files do not belong together"
            )
        if embedded is not None and embedded not in (ids, iids):
            first = next(k for k in range(len(ids)) if embedded[k] not in (ids[k], iids[k]))
            self._note(
                f"{sample_path}: sample {first + 1} is {ids[first]!r}, but {path} names it "
                f"{embedded[first]!r}; the .sample file's IDs are used"
            )
        return ids, sexes, sample_path

    def _record_table(self, path: str, header: _Header) -> tuple[_Records, bool]:
        """The record table from the ``.bgi`` when it fits the file, else from a scan."""
        index_path = path + ".bgi"
        if Path(index_path).is_file():
            records, doubt = _index_doubt(path, index_path, header)
            if records is not None:
                return records, True
            self._note(
                f"{path}: its index {index_path} is not used: {doubt}; the file is scanned "
                "instead (exact, slower). Re-index it (bgenix -g ... -index -clobber)"
            )
        if header.layout == 2:
            return _walk(path, header), False
        reader = _reader(path, use_index=False)
        try:
            return _scan(path, header, reader), False
        finally:
            reader.close()

    def _ref_alt(self, alleles: list[str]) -> tuple[str, list[str]]:
        if self.ref_allele == "first":
            return alleles[0].upper(), [a.upper() for a in alleles[1:]]
        return alleles[-1].upper(), [a.upper() for a in alleles[:-1]]

    def sites(self, wanted: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
        """The site table (see :meth:`prs.genotypes.base.GenotypeSource.sites`)."""
        frames = []
        for file_index, rec in enumerate(self._records):
            keep = np.ones(len(rec.pos), dtype=bool)
            if wanted is not None:
                keep[:] = False
                for c in set(rec.chrom.tolist()):
                    on = rec.chrom == c
                    keep[on] = np.isin(rec.pos[on], np.asarray(wanted.get(c, ()), dtype=np.int64))
            kept = np.flatnonzero(keep)
            if np.all(rec.n_alleles[kept] == 2):  # (the usual file: one row per record)
                first = 0 if self.ref_allele == "first" else 1
                ref = [rec.alleles[i][first].upper() for i in kept]
                alt = [rec.alleles[i][1 - first].upper() for i in kept]
                idx = kept.astype(np.int64)
                allele_index = np.ones(len(idx), dtype=np.int16)
                n_alleles = np.full(len(idx), 2, dtype=np.int16)
            else:
                rows, ref, alt, indexes, counts = [], [], [], [], []
                for i in kept:
                    r, alts = self._ref_alt(rec.alleles[i])
                    for k, a in enumerate(alts or [""]):
                        rows.append(i)
                        ref.append(r)
                        alt.append(a)
                        indexes.append(k + 1 if alts else 0)
                        counts.append(len(alts) + 1)
                idx = np.array(rows, dtype=np.int64)
                allele_index = np.array(indexes, dtype=np.int16)
                n_alleles = np.array(counts, dtype=np.int16)
            frames.append(
                pd.DataFrame(
                    {
                        "chrom": rec.chrom[idx],
                        "pos": rec.pos[idx],
                        "ref": np.array(ref, dtype=object),
                        "alt": np.array(alt, dtype=object),
                        "allele_index": allele_index,
                        "n_alleles": n_alleles,
                        "record": idx + self._first[file_index],
                        "file": np.full(len(idx), file_index, dtype=np.int32),
                        "id": rec.rsid[idx],
                    },
                    columns=list(SITE_COLUMNS),
                )
            )
        table = pd.concat(frames, ignore_index=True).astype(
            {
                "pos": np.int64,
                "allele_index": np.int16,
                "n_alleles": np.int16,
                "record": np.int64,
                "file": np.int32,
            }
        )
        duplicates = duplicate_records_message(self.paths, table)
        if duplicates:  # as the other sources warn (the matcher uses the first)
            self._note(duplicates)
        return table

    def read(
        self, records: np.ndarray, alleles: np.ndarray, *, chunk_size: int = 1024
    ) -> Iterator[DosageChunk]:
        """Stream dosages of ``alleles[i]`` at ``records[i]`` (see the protocol), in chunks
        of at most ``chunk_size`` rows and :data:`CHUNK_BYTES` of dosages.

        The common record (zlib or uncompressed, unphased, two alleles, every sample
        diploid, 8 or 16 bits) is decoded here from its bytes (in runs by a compiled
        kernel, or record by record: see the module): the requested allele's dosage
        straight from the stored integers (exact to float64 rounding); any other record by
        the ``bgen`` package (:func:`expected_dosages`).
        """
        records, alleles, file_of = file_requests(records, alleles, self._first, self.paths[0])
        n_out = len(self.samples)
        chunk_size = max(1, min(chunk_size, CHUNK_BYTES // (8 * max(n_out, 1))))
        for file_index in range(len(self.paths)):
            in_file = np.flatnonzero(file_of == file_index)
            if not len(in_file):
                continue
            kernel = self._kernel
            if kernel is None:  # (either way bit for bit the same dosages)
                kernel = numba_started() or (
                    len(in_file) >= KERNEL_MIN_RECORDS
                    or len(in_file) * self._n_raw >= KERNEL_MIN_GENOTYPES
                )
            with (
                _RecordReader(self, file_index, kernel=kernel) as source,
                ThreadPoolExecutor(self.threads) as pool,
            ):
                # chunks are filled in one thread of their own, the next one while the
                # caller uses this one (READ_AHEAD)
                ahead = ThreadPoolExecutor(1)
                pending: list[Future[tuple[DosageChunk, int | None]]] = []
                try:
                    for start in range(0, len(in_file), chunk_size):
                        req = in_file[start : start + chunk_size]
                        local = records[req] - self._first[file_index]
                        pending.append(
                            ahead.submit(self._fill, source, pool, req, local, alleles[req])
                        )
                        if len(pending) > READ_AHEAD:
                            yield self._delivered(file_index, pending.pop(0))
                    while pending:
                        yield self._delivered(file_index, pending.pop(0))
                finally:
                    # (the package's reader is closed in the thread that opened it: its
                    # index is an SQLite connection, bound to its thread)
                    try:
                        ahead.submit(source.close_package)
                    except RuntimeError:  # (interpreter shutting down: closed below)
                        pass
                    ahead.shutdown(wait=True)

    def _fill(
        self,
        source: _RecordReader,
        pool: Executor,
        req: np.ndarray,
        local: np.ndarray,
        alleles: np.ndarray,
    ) -> tuple[DosageChunk, int | None]:
        """The chunk of requests ``req`` (allele ``alleles[i]`` of record ``local[i]`` of
        ``source``'s file), and its first record with fractional hard calls (or None)."""
        stored = self._bgen_alleles(source.file_index, local, alleles)
        n_out = len(self.samples)
        dosage = np.empty((len(req), n_out))
        ploidy = np.empty((len(req), n_out), dtype=np.int8)
        fractional = source.fill_chunk(pool, local, stored, dosage, ploidy)
        return DosageChunk(req.astype(np.int64), dosage, ploidy), fractional

    def _delivered(
        self, file_index: int, filled: Future[tuple[DosageChunk, int | None]]
    ) -> DosageChunk:
        """A chunk once filled; its fractional hard calls warned about here, in the
        reader's caller's thread (where warnings are caught)."""
        chunk, fractional = filled.result()
        if fractional is not None:
            self._warn_fractional(file_index, fractional)
        return chunk

    def _bgen_alleles(self, file_index: int, local: np.ndarray, allele: np.ndarray) -> np.ndarray:
        """``int64``: the stored allele number of allele ``allele[i]`` (0 = REF) of record
        ``local[i]``."""
        counts = self._records[file_index].n_alleles[local]
        allele = np.asarray(allele, dtype=np.int64)
        bad = np.flatnonzero((allele < 0) | (allele >= counts))
        if len(bad):
            k = int(bad[0])
            raise GenotypeFileError(
                f"{self.paths[file_index]}: record {local[k]} has {counts[k]} alleles, allele "
                f"{allele[k]} was requested"
            )
        if self.ref_allele == "first":
            return allele
        return np.where(allele == 0, counts - 1, allele - 1)

    def _record_dosages(
        self, reader: object, file_index: int, local: int
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """(dosages ``float64[n_alleles, n_out]`` by stored allele, ploidy ``int8[n_out]``,
        whether hard calls were made of fractional dosages)."""
        path = self.paths[file_index]
        rec = self._records[file_index]
        try:
            var = reader[local]  # type: ignore[index]
            probabilities = var.probabilities
            call_ploidy = var.ploidy
            phased = var.is_phased
        except (ValueError, IndexError, RuntimeError) as exc:
            raise GenotypeFileError(
                f"{path}: cannot read record {local} ({rec.chrom[local]}:{rec.pos[local]} "
                f"{rec.rsid[local]}): {exc}; the file is truncated or corrupt"
            ) from exc
        if self._columns is not None:
            probabilities = probabilities[self._columns]
            call_ploidy = call_ploidy[self._columns]
        n_alleles = len(rec.alleles[local])
        dosages = expected_dosages(probabilities, call_ploidy, phased=phased, n_alleles=n_alleles)
        haploid = call_ploidy == 1
        if self.haploid == "as-diploid" and haploid.any():
            # doubled before any hard call: PLINK 2 rounds a haploid sample's dosage on the
            # 0..2 scale (p = 0.076/0.924 is 1.848: missing, not 2; 0.5/0.5 is 1: het)
            dosages[:, haploid] *= 2.0
        fractional = False
        if self.dosage_field == "GT":
            fractional = bool(
                np.any(np.isfinite(dosages) & (np.abs(dosages - np.rint(dosages)) > 1e-6))
            )
            dosages = _hard_calls(dosages)
        if self.haploid == "as-diploid":
            reported = np.where(haploid | (call_ploidy == 0), 2, call_ploidy)
        else:
            reported = np.where(call_ploidy == 0, 2, call_ploidy)
        return dosages, reported.astype(np.int8), fractional

    def _warn_fractional(self, file_index: int, local: int) -> None:
        """Warn (once per source) that hard calls were made of fractional dosages."""
        if not self._warned_fractional:
            self._warned_fractional = True
            rec = self._records[file_index]
            self._note(
                f"{self.paths[file_index]}: dosage='GT' reads hard calls from probabilities "
                f"(PLINK 2's --hard-call-threshold {HARD_CALL_THRESHOLD}), but record {local} "
                f"({rec.chrom[local]}:{rec.pos[local]}) holds fractional dosages; PLINK 2's "
                "--score uses the dosages: pass dosage='DS' for the same"
            )


class _RecordReader:
    """One file's records for :meth:`BgenSource.read`: the common record decoded from its
    bytes (in runs by the kernel, :meth:`_fill_kernel`, or one by one,
    :func:`_biallelic_values`), others by the ``bgen`` package (opened when first needed:
    without an index it walks the file's record headers once)."""

    def __init__(self, source: BgenSource, file_index: int, *, kernel: bool = False) -> None:
        self.source = source
        self.file_index = file_index
        self.path = source.paths[file_index]
        self.records = source._records[file_index]
        self.compression = source._headers[file_index].compression
        self.direct = source._headers[file_index].layout == 2 and (
            self.compression in (0, 1) or (self.compression == 2 and _zstd() is not None)
        )
        #: Runs of records decoded by :func:`prs.kernels.bgen.decode_bgen_records`.
        self.kernel = (
            kernel and self.direct and self.compression in (0, 1) and kernel_inflater() is not None
        )
        self.n_raw = source._n_raw
        self.columns = source._columns
        self.handle = open(self.path, "rb")  # (closed by __exit__)
        self.package_reader: object | None = None

    def __enter__(self) -> _RecordReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()
        self.close_package()

    def close_package(self) -> None:
        """Close the ``bgen`` package's reader, if one was opened."""
        if self.package_reader is not None:
            self.package_reader.close()  # type: ignore[attr-defined]
            self.package_reader = None

    def fill_chunk(
        self,
        pool: Executor,
        local: np.ndarray,
        alleles: np.ndarray,
        dosage: np.ndarray,
        ploidy: np.ndarray,
    ) -> int | None:
        """Fill ``dosage``/``ploidy`` rows: row i is stored allele ``alleles[i]`` of record
        ``local[i]`` (sorted). Common records are decoded in ``pool``'s threads (each writes
        its own rows); the others here. Returns the first record whose hard calls were made
        of fractional dosages (None: none), for the reader to warn about in its thread."""
        # record k of the chunk has rows first_row[k]:first_row[k + 1]
        first_row = np.append(np.flatnonzero(np.diff(local, prepend=-1)), len(local))
        chunk_records = local[first_row[:-1]]
        n_records = len(chunk_records)
        done: list[bool | str] = [False] * n_records
        if self.direct:
            # tasks of runs of records (a task per record costs ~20 us): one per thread on
            # the Python path; a few per thread on the kernel path, so that a thread slowed
            # by the machine's other work takes fewer
            n_tasks = min(
                self.source.threads * (_TASKS_PER_THREAD if self.kernel else 1), n_records
            )
            edges = np.linspace(0, n_records, n_tasks + 1).astype(int)

            def task(a: int, b: int) -> list[bool | str]:
                if self.kernel:
                    return self._fill_kernel(
                        chunk_records[a:b], first_row[a : b + 1], alleles, dosage, ploidy
                    )
                return [
                    self._fill_direct(
                        int(chunk_records[k]),
                        np.arange(first_row[k], first_row[k + 1]),
                        alleles,
                        dosage,
                        ploidy,
                    )
                    for k in range(a, b)
                ]

            if n_tasks == 1:
                done = task(0, n_records)
            else:
                done = [o for part in pool.map(task, edges[:-1], edges[1:]) for o in part]
        decoded = sum(o is not False for o in done)
        self.source.decoded["kernel" if self.kernel else "python"] += decoded
        self.source.decoded["package"] += n_records - decoded
        fractional = None
        for k, outcome in enumerate(done):
            record = int(chunk_records[k])
            if outcome is False:  # not a common record: the bgen package reads it
                values, calls_ploidy, made = self.source._record_dosages(
                    self._package(), self.file_index, record
                )
                for row in range(first_row[k], first_row[k + 1]):
                    dosage[row] = values[alleles[row]]
                    ploidy[row] = calls_ploidy
                outcome = "fractional" if made else True
            if outcome == "fractional" and fractional is None:
                fractional = record
        return fractional

    def _fill_kernel(
        self,
        records: np.ndarray,
        first_row: np.ndarray,
        alleles: np.ndarray,
        dosage: np.ndarray,
        ploidy: np.ndarray,
    ) -> list[bool | str]:
        """Fill rows ``first_row[0]:first_row[-1]`` (record ``records[k]``'s at
        ``first_row[k]:first_row[k + 1]``, records ascending) by runs of records read at once
        and decoded in one kernel call each (the GIL released): as :meth:`_fill_direct`
        per record."""
        inflate = kernel_inflater()
        assert inflate is not None and LIBDEFLATE is not None
        starts, ends = self.records.start[records], self.records.end[records]
        columns = _columns(self.columns, self.n_raw)
        status = np.empty((len(records), 3), dtype=np.int64)
        scratch = np.empty(10 + 5 * self.n_raw, dtype=np.uint8)  # a 16-bit common block
        cuts = np.flatnonzero(starts[1:] - ends[:-1] > RUN_GAP) + 1
        bounds = [0, *cuts.tolist(), len(records)]
        fd = self.handle.fileno()
        handle = LIBDEFLATE.acquire()
        outcomes: list[bool | str] = []
        try:
            for a, b in itertools.pairwise(bounds):
                base, size = int(starts[a]), int(ends[b - 1] - starts[a])
                data = np.empty(size, dtype=np.uint8)
                got = os.preadv(fd, [data], base)  # (threads: no shared seek)
                if got != size:
                    raise GenotypeFileError(
                        f"{self.path}: records {records[a]}-{records[b - 1]} end at byte "
                        f"{base + size}, the file has {base + got}: it was cut while read"
                    )
                r0, r1 = int(first_row[a]), int(first_row[b])
                found = bgen_kernel.decode_bgen_records(
                    data,
                    starts[a:b] - base,
                    ends[a:b] - base,
                    self.n_raw,
                    self.compression == 1,
                    inflate,
                    handle,
                    scratch,
                    first_row[a : b + 1] - r0,
                    alleles[r0:r1],
                    columns,
                    HARD_CALL_THRESHOLD if self.source.dosage_field == "GT" else -1.0,
                    dosage[r0:r1],
                    ploidy[r0:r1],
                    status[a:b],
                )
                assert found >= 0  # (-1: a column beyond the file's samples)
                outcomes += self._run_outcomes(records[a:b], status[a:b])
        finally:
            LIBDEFLATE.release(handle)
        return outcomes

    def _run_outcomes(self, records: np.ndarray, status: np.ndarray) -> list[bool | str]:
        """Per record of a decoded run: True, "fractional" (hard calls made of fractional
        dosages), or False (not a common record); a record that did not decode raises its
        :class:`GenotypeFileError`."""
        bad = np.flatnonzero(status[:, 0] > bgen_kernel.RECORD_OTHER)
        if len(bad):
            k = int(bad[0])
            raise self._error(int(records[k]), _kernel_problem(*status[k].tolist()))
        ok = status[:, 0] == bgen_kernel.RECORD_OK
        fractional = ok & (status[:, 1] == 1) & (self.source.dosage_field == "GT")
        return [
            "fractional" if f else bool(o)
            for o, f in zip(ok.tolist(), fractional.tolist(), strict=True)
        ]

    def _error(self, local: int, problem: str) -> GenotypeFileError:
        """The error naming record ``local`` (file, number, chrom:pos, rsID) and ``problem``."""
        rec = self.records
        return GenotypeFileError(
            f"{self.path}: cannot read record {local} ({rec.chrom[local]}:"
            f"{rec.pos[local]} {rec.rsid[local]}): {problem}; the file is truncated or corrupt"
        )

    def _fill_direct(
        self,
        local: int,
        rows: np.ndarray,
        alleles: np.ndarray,
        dosage: np.ndarray,
        ploidy: np.ndarray,
    ) -> bool | str:
        """Fill ``rows`` from a common record: True ("fractional" when hard calls were made
        of fractional dosages), or False when the record is not a common one."""
        decoded = self._direct(local)
        if decoded is None:
            return False
        values, missing, top = decoded
        first, second = values[0::2], values[1::2]
        for row in rows:
            out = dosage[row]
            if top == 255:  # 8 bits: each sample's (p11, p12) byte pair looked up at once
                np.take(_BYTE_PAIR_DOSAGES[alleles[row]], values.view("<u2"), out=out)
            elif alleles[row] == 0:  # 2 p11 + p12
                np.multiply(first, 2.0, out=out)
                out += second
            else:  # p12 + 2 p22, p22 = 1 - p11 - p12
                np.multiply(first, -2.0, out=out)
                out -= second
                out += 2.0 * top
            if top != 255:
                out /= top
            if missing is not None:
                out[missing] = np.nan
            ploidy[row] = 2
        if self.source.dosage_field != "GT":
            return True
        block = dosage[rows]
        dosage[rows] = _hard_calls(block)
        return "fractional" if np.any(np.abs(block - np.rint(block)) > 1e-6) else True

    def _package(self) -> object:
        if self.package_reader is None:
            self.package_reader = _reader(
                self.path, use_index=self.source._indexed[self.file_index]
            )
        return self.package_reader

    def _direct(self, local: int) -> tuple[np.ndarray, np.ndarray | None, int] | None:
        """(stored integers ``[2 x samples]`` interleaved, missing mask or None, their
        maximum) of a common record, or None for any other."""
        if len(self.records.alleles[local]) != 2:
            return None  # (a block of two alleles under such a header: the package names it)
        start, end = int(self.records.start[local]), int(self.records.end[local])
        raw = os.pread(self.handle.fileno(), end - start, start)  # (threads: no shared seek)
        try:
            data = _probability_data(raw, self.compression)
            values = _biallelic_values(data, self.n_raw)
        except (struct.error, ValueError, OSError, isal_zlib.error, _ZstdError) as exc:
            raise self._error(local, str(exc)) from exc
        if values is None or self.columns is None:
            return values
        stored, missing, top = values
        pairs = stored.reshape(-1, 2)[self.columns].reshape(-1)
        return pairs, None if missing is None else missing[self.columns], top


_THREAD = threading.local()

#: ``libdeflate_zlib_decompress(decompressor, in, in_size, out, out_size, actual_out)``
#: over integer addresses, as the kernel calls it.
_ZLIB_DECOMPRESS = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_uint64,
    ctypes.c_uint64,
    ctypes.c_size_t,
    ctypes.c_uint64,
    ctypes.c_size_t,
    ctypes.c_uint64,
)


@lru_cache(maxsize=1)
def kernel_inflater() -> object | None:
    """libdeflate's ``libdeflate_zlib_decompress`` as a ctypes function the kernel calls
    (:func:`prs.kernels.bgen.decode_bgen_records`; the library :data:`prs.genotypes.bgzf.
    LIBDEFLATE` found, its decompressors too), or None when there is no libdeflate (or
    ``PRS_INFLATE=isal``): records are then decoded one by one in Python (ISA-L).

    Examples
    --------
    >>> from prs.genotypes.bgzf import inflater
    >>> (kernel_inflater() is not None) == (inflater()["inflater"] == "libdeflate")
    True
    """
    if LIBDEFLATE is None:
        return None
    try:
        function = ctypes.CDLL(LIBDEFLATE.path).libdeflate_zlib_decompress
    except (OSError, AttributeError):  # pragma: no cover - every libdeflate has it
        return None
    return _ZLIB_DECOMPRESS(ctypes.cast(function, ctypes.c_void_p).value)


def _columns(columns: np.ndarray | None, n_samples: int) -> np.ndarray:
    """``int64``: the file's sample of each output column."""
    if columns is None:
        return np.arange(n_samples, dtype=np.int64)
    return np.ascontiguousarray(columns, dtype=np.int64)


def _kernel_problem(code: int, first: int, second: int) -> str:
    """What a record's status from :func:`prs.kernels.bgen.decode_bgen_records` means."""
    k = bgen_kernel
    if code == k.RECORD_HEADER_SHORT:
        return f"its header (IDs, alleles, block size) runs past its {first} bytes"
    if code == k.RECORD_BLOCK_SHORT:
        return f"its genotype block needs {first} bytes, the record has {second}"
    if code == k.RECORD_NOT_INFLATING:
        return "its genotype block does not inflate (bad zlib data)"
    if code == k.RECORD_INFLATED_SIZE:
        return f"its block does not inflate to the {first} bytes it states"
    if code == k.RECORD_SAMPLES:
        return f"its block holds {first} samples, the file's header {second}"
    if code == k.RECORD_PROBABILITIES_SHORT:
        return f"its probability block is {first} bytes, short of the samples' {second}"
    return f"status {code} ({first}, {second})"  # pragma: no cover - every code is named


def _zstd() -> object | None:
    """This thread's zstd decompressor (one is not safe to share between threads) when the
    ``zstandard`` package is installed, else None (a BGEN 1.3 zstd record then goes through
    the ``bgen`` package, which links zstd itself)."""
    decompressor = getattr(_THREAD, "zstd", None)
    if decompressor is None:
        try:
            import zstandard
        except ImportError:
            return None
        decompressor = _THREAD.zstd = zstandard.ZstdDecompressor()
    return decompressor


def _byte_pair_dosages() -> np.ndarray:
    """``float64[2, 65536]``: REF and ALT dosage of every 8-bit (p11, p12) pair read as a
    little-endian uint16 (``p11 + 256 p12``), computed as the 16-bit path computes them."""
    pair = np.arange(65536)
    hom_ref, het = pair & 255, pair >> 8
    return np.stack([(2.0 * hom_ref + het) / 255, (510.0 - 2.0 * hom_ref - het) / 255])


_BYTE_PAIR_DOSAGES = _byte_pair_dosages()


def _probability_data(raw: bytes, compression: int) -> bytes:
    """The (inflated) genotype probability block of one layout-2 record's bytes."""
    at = 0
    for _ in range(3):  # variant ID, rsID, chromosome
        (length,) = struct.unpack_from("<H", raw, at)
        at += 2 + length
    (n_alleles,) = struct.unpack_from("<H", raw, at + 4)  # after the position
    at += 6
    for _ in range(n_alleles):
        (length,) = struct.unpack_from("<I", raw, at)
        at += 4 + length
    (size,) = struct.unpack_from("<I", raw, at)
    at += 4
    if at + size > len(raw):
        raise ValueError(f"its genotype block needs {at + size} bytes, the record has {len(raw)}")
    if compression == 0:
        return raw[at : at + size]
    (inflated_size,) = struct.unpack_from("<I", raw, at)
    if compression == 2:
        zstd = _zstd()
        assert zstd is not None  # (only called so when it is installed)
        data = zstd.decompress(raw[at + 4 : at + size], max_output_size=inflated_size)
    else:
        data = isal_zlib.decompress(raw[at + 4 : at + size])
    if len(data) != inflated_size:
        raise ValueError(f"its block inflates to {len(data)} bytes, not {inflated_size}")
    return data


def _biallelic_values(
    data: bytes, n_samples: int
) -> tuple[np.ndarray, np.ndarray | None, int] | None:
    """The stored integers of a record unphased, biallelic, all diploid, 8 or 16 bits
    (``p11, p12`` per sample, interleaved; ``p22`` is the rest), the missing samples, and
    the integer meaning probability 1; None for any other record."""
    n, n_alleles, low, high = struct.unpack_from("<IHBB", data, 0)
    if n != n_samples:
        raise ValueError(f"its block holds {n} samples, the file's header {n_samples}")
    if n_alleles != 2 or low != 2 or high != 2:
        return None
    if len(data) < 10 + n:
        raise ValueError(f"its probability block is {len(data)} bytes, short of the samples'")
    phased, bits = data[8 + n], data[9 + n]
    if phased or bits not in (8, 16):
        return None
    width = bits // 8
    if len(data) < 10 + n + 2 * n * width:
        raise ValueError(f"its probability block is {len(data)} bytes, short of the samples'")
    flags = np.frombuffer(data, np.uint8, n, 8)
    stored = np.frombuffer(data, np.uint8 if bits == 8 else np.dtype("<u2"), 2 * n, 10 + n)
    missing = flags >= 128
    return stored, missing if missing.any() else None, 2**bits - 1
