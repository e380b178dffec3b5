"""PLINK genotypes through pgenlib: PLINK 2 ``.pgen/.pvar/.psam`` and PLINK 1 ``.bed/.bim/.fam``.

pgenlib (PLINK 2's own reader, manylinux wheels) decodes both binary formats; this module
reads the text companions (variants, samples), checks the files against each other before
pgenlib sees them, and turns what pgenlib returns into :class:`~prs.genotypes.base.DosageChunk`
rows.

Rules:

* **Sample IDs**: PLINK 2's ``--export vcf`` default (``id-paste=maybefid,iid``): ``FID_IID``
  when the sample file has a FID column in which some FID is not ``0``, else ``IID``. So the
  CINECA cohort's pgen/bed give ``HG00096_HG00096``, as its VCF (written that way) does.
* **Dosages**: copies of the requested allele on PLINK 2's 0..2 scale (haploid calls are
  stored diploid, as PLINK 2 stores them); ploidy 2. Hard calls (``dosage="GT"``, and
  every ``.bed``) come as ``int8`` chunks, -9 missing, as pgenlib reads them (8x smaller
  than float64; the scorer reads them directly, :class:`~prs.genotypes.base.DosageChunk`).
  ``dosage="DS"`` reads a pgen's dosages (hard calls where a variant has none) as float64,
  NaN missing. ``GP`` is refused (neither format stores it).
* **Chunks** hold at most ``chunk_size`` variants and about :data:`CHUNK_GENOTYPES`
  genotypes, so memory per chunk does not grow with the number of samples. ``read``
  decodes each chunk in a thread of its own, one chunk ahead of the caller;
  ``read_lazily`` (the scoring loop's, for biallelic hard calls) hands out chunks still
  encoded, each scoring thread decoding the rows it adds
  (:class:`~prs.genotypes.base.CallRows`): two threads on two cores instead of three, each
  part added while it is in the core's cache.
* **Alleles**: a ``.bim``'s A2 is REF and A1 ALT (PLINK 2's reading); A1 ``0`` or ``.``
  means no ALT. A ``.pvar`` record with several ALTs is read exactly: pgenlib is given the
  allele offsets and counts the requested allele itself.
* **Errors** (:class:`~prs.errors.GenotypeFileError`, naming the file): a missing
  companion, wrong magic bytes, a ``.bed`` whose size is not what its ``.bim``/``.fam`` row
  counts imply (truncated or mismatched), a ``.pgen`` whose variant or sample count differs
  from its ``.pvar``/``.psam``, a malformed ``.pvar``/``.bim`` line.
* **Sex**: read from the ``.psam``/``.fam`` into ``sex_by_sample``; :func:`prs.score` uses it
  when no ``sex=`` is given, as PLINK 2 does with ``--pfile``/``--bfile`` (a VCF carries no
  sex: there ``sex=`` is needed).
* ``.pvar.zst`` is read when the ``zstandard`` package is installed (refused, saying so,
  otherwise).
"""

from __future__ import annotations

import functools
import io
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs.errors import GenotypeFileError, GenotypeWarning, warn
from prs.genome import MAX_POSITION, detect_build, normalize_chrom
from prs.genotypes.base import SITE_COLUMNS, CallRows, DosageChunk, file_requests, site_table
from prs.genotypes.options import check_read_options
from prs.genotypes.vcf_header import _sample_subset, duplicate_records_message
from prs.kernels.calls import other_allele_calls

__all__ = [
    "CHUNK_GENOTYPES",
    "PLINK_SUFFIXES",
    "PlinkFileset",
    "PlinkSource",
    "missing_files",
    "plink_fileset",
]

#: Names that mean a PLINK fileset (the binary file or, for the prefix, a companion).
PLINK_SUFFIXES = (".pgen", ".bed", ".pvar", ".pvar.zst", ".psam", ".bim", ".fam")

_BED_MAGIC = b"\x6c\x1b\x01"
_PGEN_MAGIC = b"\x6c\x1b"
#: pgenlib's missing code for hard calls and dosages.
_MISSING = -9
#: Genotypes per chunk at most (rows = this / samples, at least 1, at most ``chunk_size``):
#: 32 MiB of int8 calls, so 200,000 samples read 167 variants at a time, not 1,024 (and up
#: to 32,768 samples, chunks of 1,024 variants are read whole, as before).
CHUNK_GENOTYPES = 1 << 25


@dataclass(frozen=True)
class PlinkFileset:
    """The three files of one PLINK fileset (``kind`` is ``"pgen"`` or ``"bed"``)."""

    kind: str
    genotypes: str
    variants: str
    samples: str


def plink_fileset(path: str | os.PathLike[str]) -> PlinkFileset | None:
    """The fileset ``path`` names (a ``.pgen``/``.bed``, a companion, or the prefix), or None.

    A prefix names a pgen fileset when ``prefix.pgen`` exists, else a bed one when
    ``prefix.bed`` exists. Companions are not checked here (the source names a missing one).
    """
    text = os.fspath(path)
    lower = text.lower()
    prefix = None
    for suffix in PLINK_SUFFIXES:
        if lower.endswith(suffix):
            prefix = text[: -len(suffix)]
            kind = "pgen" if suffix in (".pgen", ".pvar", ".pvar.zst", ".psam") else "bed"
            break
    else:
        if Path(text + ".pgen").exists():
            prefix, kind = text, "pgen"
        elif Path(text + ".bed").exists():
            prefix, kind = text, "bed"
        else:
            return None
    if kind == "pgen":
        pvar = prefix + ".pvar"
        if not Path(pvar).exists() and Path(pvar + ".zst").exists():
            pvar += ".zst"
        return PlinkFileset("pgen", prefix + ".pgen", pvar, prefix + ".psam")
    return PlinkFileset("bed", prefix + ".bed", prefix + ".bim", prefix + ".fam")


_PathLike = str | os.PathLike[str] | PlinkFileset
#: PLINK 2's SEX words (.psam; .fam uses 1/2): anything else (0, -9, NA) is unknown (0).
_SEX_CODES = {"1": 1, "M": 1, "2": 2, "F": 2}


def missing_files(fileset: PlinkFileset) -> list[str]:
    """The files of ``fileset`` that do not exist (in .pgen/.pvar/.psam or .bed/.bim/.fam
    order)."""
    return [
        path
        for path in (fileset.genotypes, fileset.variants, fileset.samples)
        if not Path(path).is_file()
    ]


@dataclass
class _Variants:
    """One fileset's variant table, in file order (arrays: no Python object per record
    beyond its strings)."""

    chrom: np.ndarray  # object: canonical names
    pos: np.ndarray  # int64
    vid: np.ndarray  # object
    ref: np.ndarray  # object, upper-case
    alt: np.ndarray  # object, upper-case, comma-separated ALTs; "" when none ("." or "0")
    n_alts: np.ndarray  # int64: ALT alleles of each record (0 when none)
    contigs: dict[str, int | None]


class PlinkSource:
    """Genotypes from one PLINK fileset or several (e.g. one per chromosome).

    Parameters
    ----------
    paths
        ``.pgen``/``.bed`` paths (or fileset prefixes, or :class:`PlinkFileset`); every
        fileset must list the same samples in the same order.
    samples
        Keep only these sample IDs (output in this order). Default: all.
    dosage
        ``"GT"`` hard calls (default) or ``"DS"`` (a pgen's dosages; hard calls where a
        variant stores none, and always for a ``.bed``).
    half_call, haploid
        Accepted for the common interface: PLINK files hold no half calls, and store
        haploid calls diploid (``haploid`` is always ``"as-diploid"``).

    Raises
    ------
    GenotypeFileError
        See the module's rules.
    """

    def __init__(
        self,
        paths: _PathLike | Sequence[_PathLike],
        *,
        samples: Sequence[str] | None = None,
        dosage: str = "GT",
        half_call: str = "error",
        haploid: str = "as-diploid",
    ) -> None:
        # PLINK files store hard calls and dosages: no genotype probabilities, no haplotypes.
        check_read_options(
            dosage=dosage, half_call=half_call, haploid=haploid, fields=("GT", "DS"), kind="PLINK"
        )
        if isinstance(paths, (str, os.PathLike, PlinkFileset)):
            paths = [paths]
        filesets = []
        for p in paths:
            fs = p if isinstance(p, PlinkFileset) else plink_fileset(p)
            if fs is None:
                raise GenotypeFileError(f"{p}: not a PLINK fileset (no .pgen or .bed)")
            filesets.append(fs)
        self._filesets = filesets
        self.paths: tuple[str, ...] = tuple(fs.genotypes for fs in filesets)
        self.dosage_field = dosage
        self.haploid = "as-diploid"
        self.fallback_to_gt = 0
        self.notes: list[str] = []
        file_ids: tuple[str, ...] | None = None
        file_sex: tuple[int, ...] = ()
        self._variants: list[_Variants] = []
        self._ploidy: np.ndarray | None = None  # one row of 2s (see _diploid)
        for fs in filesets:
            for companion in missing_files(fs):
                raise GenotypeFileError(
                    f"{companion}: missing (a {fs.kind} fileset needs its "
                    f"{'.pgen/.pvar/.psam' if fs.kind == 'pgen' else '.bed/.bim/.fam'})"
                )
            ids, sex_codes = _read_samples(fs)
            if file_ids is None:
                file_ids, file_sex = ids, sex_codes
            elif ids != file_ids:
                raise GenotypeFileError(
                    f"{fs.samples}: samples differ from {filesets[0].samples}'s"
                )
            variants = _read_variants(fs)
            _check_binary(fs, len(ids), len(variants.pos))
            self._variants.append(variants)
        assert file_ids is not None
        self._n_raw = len(file_ids)
        #: Each sample's sex as its .psam/.fam says (1 male, 2 female, 0 unknown): the
        #: scorer's default sex (:func:`prs.genotypes.base.source_sexes`).
        self.sex_by_sample: dict[str, int] = dict(zip(file_ids, file_sex, strict=True))
        #: The file the sexes come from (for the provenance).
        self.sex_file = str(filesets[0].samples)
        if samples is None:
            self.samples: tuple[str, ...] = file_ids
            self._columns: np.ndarray | None = None
        else:
            self.samples, self._columns = _sample_subset(
                str(filesets[0].samples), file_ids, samples
            )
        counts = [len(v.pos) for v in self._variants]
        self._first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def build(self) -> str | None:
        """The build the ``.pvar`` ``##contig`` lengths imply (all filesets agreeing), or None."""
        builds = {detect_build(v.contigs, None) for v in self._variants}
        return builds.pop() if len(builds) == 1 else None

    def sites(self, wanted: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
        """The site table (see :meth:`prs.genotypes.base.GenotypeSource.sites`)."""
        frames = []
        for file_index, v in enumerate(self._variants):
            n = len(v.pos)
            chrom = v.chrom
            keep = np.ones(n, dtype=bool)
            if wanted is not None:
                keep[:] = False
                # Only the wanted chromosomes are looked at (a run in pieces asks for a few
                # at a time: no pass over every record's chromosome name per piece).
                for c, positions in wanted.items():
                    on = chrom == c
                    if on.any():
                        keep[on] = np.isin(v.pos[on], np.asarray(positions, dtype=np.int64))
            idx = np.flatnonzero(keep)
            n_alt = np.maximum(v.n_alts[idx], 1)
            rows = np.repeat(idx, n_alt)
            # Row j of a record's group is its ALT j + 1 (allele_index 0: a record without ALT).
            starts = np.repeat(np.cumsum(n_alt) - n_alt, n_alt)
            allele_index = np.arange(len(rows)) - starts + 1
            allele_index[v.n_alts[rows] == 0] = 0
            alt = v.alt[rows]
            multi = np.flatnonzero(v.n_alts[idx] > 1)
            if len(multi):  # split the comma-separated ALTs of multi-allelic records
                first = (np.cumsum(n_alt) - n_alt)[multi]
                for record, at in zip(idx[multi], first, strict=True):
                    pieces = v.alt[record].split(",")
                    alt[at : at + len(pieces)] = pieces
            frames.append(
                pd.DataFrame(
                    {
                        "chrom": chrom[rows],
                        "pos": v.pos[rows],
                        "ref": v.ref[rows],
                        "alt": alt,
                        "allele_index": allele_index.astype(np.int16),
                        "n_alleles": (v.n_alts[rows] + 1).astype(np.int16),
                        "record": rows + self._first[file_index],
                        "file": np.full(len(rows), file_index, dtype=np.int32),
                        "id": v.vid[rows],
                    },
                    columns=list(SITE_COLUMNS),
                )
            )
        table = site_table(frames)
        duplicates = duplicate_records_message(self.paths, table)
        if duplicates:  # as the VCF engines warn (the matcher uses the first)
            self.notes.append(duplicates)
            warn(duplicates, GenotypeWarning)
        return table

    def read(
        self, records: np.ndarray, alleles: np.ndarray, *, chunk_size: int = 1024
    ) -> Iterator[DosageChunk]:
        """Stream dosages of ``alleles[i]`` at ``records[i]`` (see the protocol)."""
        records, alleles, file_of = file_requests(records, alleles, self._first, self.paths[0])
        rows = self._chunk_rows(chunk_size)
        for file_index in range(len(self._filesets)):
            in_file = np.flatnonzero(file_of == file_index)
            if not len(in_file):
                continue
            reader = self._reader(file_index)
            first = self._first[file_index]

            def block(req: np.ndarray, reader=reader, file_index=file_index, first=first):
                local = (records[req] - first).astype(np.uint32)
                dosage = self._read_block(reader, file_index, local, alleles[req])
                return dosage if self._columns is None else dosage[:, self._columns]

            starts = range(0, len(in_file), rows)
            # The next chunk is read (pgenlib releases the GIL) while the caller scores this
            # one; one read at a time, so the reader is never used by two threads at once.
            prefetch = ThreadPoolExecutor(1, thread_name_prefix="prs-plink-read")
            pending = None
            try:
                pending = prefetch.submit(block, in_file[:rows])
                for start in starts:
                    req = in_file[start : start + rows]
                    dosage = pending.result()
                    pending = None
                    if start + rows < len(in_file):
                        pending = prefetch.submit(block, in_file[start + rows : start + 2 * rows])
                    yield DosageChunk(
                        req.astype(np.int64), dosage, self._diploid(dosage.shape), diploid=True
                    )
            finally:
                if pending is not None:
                    pending.cancel()
                prefetch.shutdown(wait=True)
                reader.close()

    def read_lazily(
        self, records: np.ndarray, alleles: np.ndarray, *, chunk_size: int = 1024
    ) -> Iterator[DosageChunk] | None:
        """:meth:`read`'s chunks with their hard calls not yet decoded: each chunk's
        ``dosage`` a :class:`~prs.genotypes.base.CallRows`, decoded by whichever thread
        asks for rows (one pgenlib reader and one buffer per thread, closed when the
        iteration ends); the same calls, the same chunks. None when these requests are not
        biallelic hard calls of every sample (dosages of a ``.pgen`` read with DS, an allele
        of a multi-allelic record, a sample subset): :meth:`read` reads those."""
        records, alleles, file_of = file_requests(records, alleles, self._first, self.paths[0])
        if self._columns is not None or (len(alleles) and int(alleles.max()) > 1):
            return None
        for file_index, fs in enumerate(self._filesets):
            local = records[file_of == file_index] - self._first[file_index]
            if self.dosage_field == "DS" and fs.kind == "pgen":
                return None
            if len(local) and not self._biallelic(file_index, local):
                return None
        return self._lazy_chunks(records, alleles, file_of, chunk_size)

    def _lazy_chunks(
        self, records: np.ndarray, alleles: np.ndarray, file_of: np.ndarray, chunk_size: int
    ) -> Iterator[DosageChunk]:
        rows = self._chunk_rows(chunk_size)
        for file_index in range(len(self._filesets)):
            in_file = np.flatnonzero(file_of == file_index)
            if not len(in_file):
                continue
            decoders = _ThreadDecoders(self, file_index)
            try:
                for start in range(0, len(in_file), rows):
                    req = in_file[start : start + rows]
                    local = (records[req] - self._first[file_index]).astype(np.uint32)
                    shape = (len(req), self._n_raw)
                    decode = functools.partial(decoders.rows, local, alleles[req])
                    yield DosageChunk(
                        req.astype(np.int64),
                        CallRows(shape, decode),  # type: ignore[arg-type]  # (see DosageChunk)
                        self._diploid(shape),
                        diploid=True,
                    )
            finally:
                decoders.close()

    def _chunk_rows(self, chunk_size: int) -> int:
        """Rows a chunk holds: ``chunk_size``, fewer when that many would pass
        :data:`CHUNK_GENOTYPES` genotypes (one at least)."""
        return max(1, min(chunk_size, CHUNK_GENOTYPES // max(self._n_raw, 1)))

    def _diploid(self, shape: tuple[int, int]) -> np.ndarray:
        """Ploidy 2 everywhere: one read-only row of 2s seen as ``shape`` (every row the
        same memory: no chunk-sized array to allocate and fill, which cost ~60 ms for 20 MB;
        the scorer reads none of it for a chunk said ``diploid``, and whoever needs it
        contiguous copies the rows it needs)."""
        k, n = shape
        if self._ploidy is None or len(self._ploidy) != n:
            self._ploidy = np.full(n, 2, dtype=np.int8)
            self._ploidy.setflags(write=False)
        return np.broadcast_to(self._ploidy, (k, n))

    def _reader(self, file_index: int):  # -> pgenlib.PgenReader (no type stubs)
        import pgenlib

        fs = self._filesets[file_index]
        v = self._variants[file_index]
        offsets = None
        if (v.n_alts > 1).any():
            # multi-allelic records: pgenlib needs each record's first allele index
            offsets = np.concatenate([[0], np.cumsum(np.maximum(v.n_alts, 1) + 1)]).astype(np.uintp)
        try:
            return pgenlib.PgenReader(
                fs.genotypes.encode(),
                raw_sample_ct=self._n_raw,
                variant_ct=len(v.pos) if fs.kind == "bed" else None,
                allele_idx_offsets=offsets,
            )
        except RuntimeError as exc:
            raise GenotypeFileError(f"{fs.genotypes}: pgenlib cannot open it ({exc})") from exc

    def files_without_field(self, field: str) -> list[int]:
        """The filesets that store no ``field``: ``.bed`` files hold hard calls only (see
        :func:`prs.genotypes.base.files_without_field`)."""
        if field != "DS":
            return []
        return [k for k, fs in enumerate(self._filesets) if fs.kind == "bed"]

    def _read_block(
        self, reader: object, file_index: int, local: np.ndarray, alleles: np.ndarray
    ) -> np.ndarray:
        """Copies of ``alleles`` at ``local`` ([k, raw samples]): int8 hard calls (-9
        missing), or float64 dosages (NaN missing) for a pgen read with DS."""
        fs = self._filesets[file_index]
        ds = self.dosage_field == "DS" and fs.kind == "pgen"
        if not ds and self._biallelic(file_index, local) and np.all(alleles <= 1):
            return self._read_biallelic_calls(reader, fs, local, alleles)
        distinct = np.unique(alleles)
        out = (
            None
            if len(distinct) == 1
            else np.empty((len(local), self._n_raw), dtype=np.float64 if ds else np.int8)
        )
        # pgenlib reads a list for one allele index at a time: group the requests by allele
        for allele in distinct:
            rows = np.flatnonzero(alleles == allele)
            try:
                if ds:
                    values = np.empty((len(rows), self._n_raw), dtype=np.float64)
                    reader.read_dosages_list(local[rows], values, allele_idx=int(allele))  # type: ignore[attr-defined]
                    values[values == _MISSING] = np.nan
                else:
                    values = np.empty((len(rows), self._n_raw), dtype=np.int8)
                    reader.read_list(local[rows], values, allele_idx=int(allele))  # type: ignore[attr-defined]
            except RuntimeError as exc:
                raise GenotypeFileError(
                    f"{fs.genotypes}: cannot read variant(s) at record "
                    f"{int(local[rows][0])} ({exc}); the file is truncated or corrupt"
                ) from exc
            if out is None:
                return values
            out[rows] = values
        assert out is not None
        return out

    def _biallelic(self, file_index: int, local: np.ndarray) -> bool:
        """Whether every record at ``local`` has at most one ALT allele."""
        return bool(np.all(self._variants[file_index].n_alts[local] <= 1))

    def _read_biallelic_calls(
        self,
        reader: object,
        fs: PlinkFileset,
        local: np.ndarray,
        alleles: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Hard calls (int8, -9 missing) at biallelic records in one read: ALT copies as
        read, REF copies as 2 - ALT (a call is two alleles, as PLINK stores it; missing stays
        missing), turned in place by a kernel. Into ``out`` when given (``int8[len(local),
        raw samples]``, C-contiguous)."""
        calls = np.empty((len(local), self._n_raw), dtype=np.int8) if out is None else out
        try:
            if _consecutive(local):  # (a dense score: ~5% less decoding than read_list)
                reader.read_range(int(local[0]), int(local[-1]) + 1, calls, allele_idx=1)  # type: ignore[attr-defined]
            else:
                reader.read_list(local, calls, allele_idx=1)  # type: ignore[attr-defined]
        except RuntimeError as exc:
            raise GenotypeFileError(
                f"{fs.genotypes}: cannot read variant(s) at record {int(local[0])} ({exc}); "
                "the file is truncated or corrupt"
            ) from exc
        ref = np.flatnonzero(alleles == 0)
        if len(ref):
            other_allele_calls(calls, ref)
        return calls


class _ThreadDecoders:
    """The decoders of :meth:`PlinkSource.read_lazily`'s chunks from one fileset: one
    pgenlib reader (which is not to be used by two threads at once) and one reused ``int8``
    buffer per thread that decodes, every reader closed by :meth:`close`.

    Each reader has a lock, held while it decodes: :meth:`close` takes it before closing
    the reader, so a reader is never closed under a thread still decoding with it (pgenlib
    reads the freed state then: a segfault), e.g. when Ctrl-C or SIGTERM ends the loop
    while another thread is decoding its part of a chunk.
    """

    _CLOSED = "the chunks' decoders are closed: rows asked for after them"

    def __init__(self, source: PlinkSource, file_index: int) -> None:
        self._source = source
        self._file_index = file_index
        self._mine = threading.local()
        self._readers: list[tuple[Any, threading.Lock]] = []
        self._lock = threading.Lock()
        self._closed = False

    def rows(self, local: np.ndarray, alleles: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Calls of requests ``start:stop`` (of the chunk whose requests are ``local``,
        ``alleles``), in this thread's buffer."""
        mine = self._mine
        if getattr(mine, "reader", None) is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError(self._CLOSED)
                reader = self._source._reader(self._file_index)
                self._readers.append((reader, threading.Lock()))
                mine.reader, mine.lock = self._readers[-1]
            mine.buffer = np.empty(0, dtype=np.int8)
        k, n = stop - start, self._source._n_raw
        if len(mine.buffer) < k * n:
            mine.buffer = np.empty(k * n, dtype=np.int8)
        out = mine.buffer[: k * n].reshape(k, n)
        fs = self._source._filesets[self._file_index]
        with mine.lock:
            if self._closed:  # (checked under the reader's lock: close() takes it first)
                raise RuntimeError(self._CLOSED)
            return self._source._read_biallelic_calls(
                mine.reader, fs, local[start:stop], alleles[start:stop], out
            )

    def close(self) -> None:
        """Close every reader, each once no thread is decoding with it (every one is
        closed even if closing one fails: the first error is raised after)."""
        with self._lock:
            self._closed = True
            readers, self._readers = self._readers, []
        failed: BaseException | None = None
        for reader, lock in readers:
            with lock:
                try:
                    reader.close()
                except Exception as exc:  # (the rest are closed too)
                    failed = failed or exc
        if failed is not None:
            raise failed


def _consecutive(local: np.ndarray) -> bool:
    """Whether ``local`` is a run of consecutive record numbers (at least two)."""
    return (
        len(local) > 1
        and int(local[-1]) - int(local[0]) == len(local) - 1
        and bool(np.all(np.diff(local.astype(np.int64)) == 1))
    )


def _read_samples(fs: PlinkFileset) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Sample IDs (see the module's ID rule) and sex codes from a ``.psam`` or ``.fam``."""
    path = fs.samples
    lines = [
        line
        for line in Path(path).read_text(errors="replace").splitlines()
        if line.strip() and not line.startswith("##")
    ]
    fids: list[str] | None
    if fs.kind == "bed" or not lines or not lines[0].startswith("#"):
        # .fam (or a header-less .psam, which PLINK 2 reads as .fam): FID IID ...
        rows = [line.split() for line in lines]
        bad = next((k for k, r in enumerate(rows) if len(r) < 2), None)
        if bad is not None:
            raise GenotypeFileError(f"{path} line {bad + 1}: expected FID and IID columns")
        fids, iids = [r[0] for r in rows], [r[1] for r in rows]
        sexes = [r[4] if len(r) > 4 else "0" for r in rows]
    else:
        header = lines[0][1:].split()
        rows = [line.split() for line in lines[1:]]
        if "IID" not in header:
            raise GenotypeFileError(f"{path}: header has no IID column: {lines[0]!r}")
        bad = next((k for k, r in enumerate(rows) if len(r) != len(header)), None)
        if bad is not None:
            raise GenotypeFileError(
                f"{path} line {bad + 2}: {len(rows[bad])} columns, the header has {len(header)}"
            )
        iids = [r[header.index("IID")] for r in rows]
        fids = [r[header.index("FID")] for r in rows] if "FID" in header else None
        sexes = [r[header.index("SEX")] for r in rows] if "SEX" in header else ["0"] * len(rows)
    if not iids:
        raise GenotypeFileError(f"{path}: no samples")
    codes = tuple(_SEX_CODES.get(value.upper(), 0) for value in sexes)
    if fids is not None and any(f != "0" for f in fids):
        return tuple(f"{f}_{i}" for f, i in zip(fids, iids, strict=True)), codes
    return tuple(iids), codes


def _variant_lines(path: str) -> Iterator[str]:
    if path.lower().endswith(".zst"):
        try:
            import zstandard
        except ImportError:
            raise GenotypeFileError(
                f"{path}: a zstd-compressed .pvar needs the 'zstandard' package "
                "(pip install zstandard), or decompress it (plink2 --pfile ... --make-just-pvar)"
            ) from None
        with open(path, "rb") as raw:
            reader = zstandard.ZstdDecompressor().stream_reader(raw)
            yield from io.TextIOWrapper(reader, errors="replace")
        return
    with open(path, errors="replace") as handle:
        yield from handle


#: The columns of a ``.bim`` (and of a header-less ``.pvar``, read as one), as PLINK 2 names
#: them (A1 is ALT, A2 REF).
_BIM_COLUMNS = ["CHROM", "ID", "CM", "POS", "ALT", "REF"]
_NEEDED = ("CHROM", "POS", "ID", "REF", "ALT")


def _header_line(text: str, contigs: dict[str, int | None]) -> list[str] | None:
    """A ``.pvar`` header line: a ``##contig`` length is noted in ``contigs``; the
    ``#CHROM`` line's columns are returned (None for any other line)."""
    if text.startswith("##contig=<"):
        fields = dict(kv.split("=", 1) for kv in text[10:].rstrip(">").split(",") if "=" in kv)
        if "ID" in fields:
            length = fields.get("length")
            contigs[fields["ID"]] = int(length) if length and length.isdigit() else None
    elif text.startswith("#CHROM"):
        return text[1:].split("\t")
    return None


def _read_variants(fs: PlinkFileset) -> _Variants:
    """The ``.pvar``/``.bim`` variant table: parsed by pyarrow's CSV reader and checked
    column by column; anything doubtful (a line with more or fewer fields, a bad POS, a
    ``#`` line amid the records, an empty field, bytes that are not UTF-8, space-separated
    columns, a ``.zst``) is read again line by line, which names the line at fault."""
    table = None if fs.variants.lower().endswith(".zst") else _variant_table_fast(fs)
    if table is None:
        table = _variant_table_by_line(fs)
    chrom, pos, vid, ref, alt, contigs = table
    if not len(pos):
        raise GenotypeFileError(f"{fs.variants}: no variants")
    import pyarrow as pa
    import pyarrow.compute as pc

    distinct = pc.unique(chrom)
    names = np.array([normalize_chrom(raw) for raw in distinct.to_pylist()], dtype=object)
    alt = pc.utf8_upper(alt)
    no_alt = pc.is_in(alt, value_set=pa.array([".", "0", ""]))
    n_alts = pc.if_else(no_alt, 0, pc.add(pc.count_substring(alt, ","), 1))
    return _Variants(
        names[pc.index_in(chrom, value_set=distinct).to_numpy()],
        pos,
        vid.to_numpy(zero_copy_only=False).astype(object),
        pc.utf8_upper(ref).to_numpy(zero_copy_only=False).astype(object),
        pc.if_else(no_alt, "", alt).to_numpy(zero_copy_only=False).astype(object),
        n_alts.to_numpy(zero_copy_only=False).astype(np.int64),
        contigs,
    )


#: (CHROM, POS, ID, REF, ALT as pyarrow string arrays, POS as int64, the ``##contig``s).
_Table = tuple[Any, np.ndarray, Any, Any, Any, dict[str, int | None]]


def _variant_table_fast(fs: PlinkFileset) -> _Table | None:
    """(CHROM, POS, ID, REF, ALT, contigs) by pyarrow's CSV reader (tab-separated), or
    None when the file needs the line-by-line reader (which then names what is wrong)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    contigs: dict[str, int | None] = {}
    columns: list[str] | None = None
    header_lines = 0
    if fs.kind == "pgen":
        with open(fs.variants, errors="replace") as handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                header_lines += 1
                columns = _header_line(line.rstrip("\r\n"), contigs) or columns
    columns = columns or _BIM_COLUMNS
    if any(c not in columns for c in _NEEDED) or len(set(columns)) != len(columns):
        return None
    try:
        frame = pv.read_csv(
            fs.variants,
            read_options=pv.ReadOptions(skip_rows=header_lines, column_names=columns),
            parse_options=pv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                include_columns=list(_NEEDED),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError):
        return None
    chrom, pos_text, vid, ref, alt = (frame.column(c) for c in _NEEDED)
    if len(pos_text) == 0:
        return None
    empty = any(pc.any(pc.equal(pc.utf8_length(col), 0)).as_py() for col in frame.columns)
    if (
        empty
        or pc.any(pc.starts_with(chrom, "#")).as_py()
        or not pc.all(pc.match_substring_regex(pos_text, r"^[0-9]{1,10}$")).as_py()
    ):
        return None
    pos = pc.cast(pos_text, pa.int64()).to_numpy()
    if pos.max() > MAX_POSITION:
        return None
    return chrom, pos, vid, ref, alt, contigs


def _variant_table_by_line(fs: PlinkFileset) -> _Table:
    """(CHROM, POS, ID, REF, ALT, contigs), checked line by line."""
    path = fs.variants
    chrom: list[str] = []
    pos: list[int] = []
    vid: list[str] = []
    ref: list[str] = []
    alt: list[str] = []
    contigs: dict[str, int | None] = {}
    columns: list[str] | None = _BIM_COLUMNS if fs.kind == "bed" else None
    for line_no, line in enumerate(_variant_lines(path), start=1):
        text = line.rstrip("\r\n")
        if fs.kind == "pgen" and text.startswith("#"):
            columns = _header_line(text, contigs) or columns
            continue
        if not text.strip():
            continue
        if columns is None:  # a header-less .pvar is read as a .bim (PLINK 2's rule)
            columns = _BIM_COLUMNS
        fields = text.split() if fs.kind == "bed" else text.split("\t")
        if len(fields) < len(columns):
            raise GenotypeFileError(
                f"{path} line {line_no}: {len(fields)} columns, expected {len(columns)} "
                f"({' '.join(columns)})"
            )
        row = dict(zip(columns, fields, strict=False))
        raw_pos = row["POS"]
        if not raw_pos.isdigit() or int(raw_pos) > MAX_POSITION:
            raise GenotypeFileError(
                f"{path} line {line_no}: POS {raw_pos!r} is not a position "
                f"(an integer 0..{MAX_POSITION})"
            )
        chrom.append(row["CHROM"])
        pos.append(int(raw_pos))
        vid.append(row["ID"])
        ref.append(row["REF"])
        alt.append(row["ALT"])
    import pyarrow as pa

    return (
        pa.array(chrom, pa.string()),
        np.array(pos, dtype=np.int64),
        pa.array(vid, pa.string()),
        pa.array(ref, pa.string()),
        pa.array(alt, pa.string()),
        contigs,
    )


def _check_binary(fs: PlinkFileset, n_samples: int, n_variants: int) -> None:
    """Magic bytes and size (``.bed``), or the header's counts (``.pgen``), against the text
    files' row counts."""
    path = fs.genotypes
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(3)
    if fs.kind == "bed":
        if head != _BED_MAGIC:
            raise GenotypeFileError(
                f"{path}: not a PLINK 1 .bed in variant-major mode (first bytes {head.hex()}, "
                f"expected {_BED_MAGIC.hex()})"
            )
        expected = 3 + (n_samples + 3) // 4 * n_variants
        if size != expected:
            raise GenotypeFileError(
                f"{path}: {size} bytes, but {n_variants} variants ({fs.variants}) x "
                f"{n_samples} samples ({fs.samples}) need {expected}; the .bed is "
                f"{'truncated' if size < expected else 'longer than its .bim/.fam say'}, or "
                "the files do not belong together"
            )
        return
    if head[:2] != _PGEN_MAGIC:
        raise GenotypeFileError(
            f"{path}: not a PLINK 2 .pgen (first bytes {head.hex()}, expected 6c1b..)"
        )
    import pgenlib

    try:
        reader = pgenlib.PgenReader(path.encode(), raw_sample_ct=n_samples)
    except RuntimeError as exc:
        raise GenotypeFileError(
            f"{path}: pgenlib cannot open it ({exc}); truncated, corrupt, or its "
            f"{fs.samples} does not belong to it"
        ) from exc
    try:
        found = reader.get_variant_ct()
        if found != n_variants:
            raise GenotypeFileError(
                f"{path}: holds {found} variants but {fs.variants} lists {n_variants}; the "
                "files do not belong together"
            )
        # A cut-short file usually loses its last records: read the last one now, so a
        # truncated .pgen is named when opened rather than part-way through scoring.
        try:
            reader.read(np.uint32(found - 1), np.empty(n_samples, dtype=np.int8))
        except RuntimeError as exc:
            raise GenotypeFileError(
                f"{path}: cannot read its last variant ({exc}); the file is truncated or corrupt"
            ) from exc
    finally:
        reader.close()
