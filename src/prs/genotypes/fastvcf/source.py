"""The fast VCF source: bgzipped VCF text read by Numba kernels, no htslib in the loop.

:class:`FastVcfSource` implements the :class:`~prs.genotypes.base.GenotypeSource` protocol
with the same site table, dosages and errors as the checked path
(:class:`~prs.genotypes.vcf.VcfSource`), and is several times faster. This module
orchestrates; each step is its own module:

1. ``sites()`` streams each file once (:mod:`~prs.genotypes.fastvcf.scan`): BGZF blocks are
   inflated in two threads while the scan kernel (it releases the GIL) checks every
   record's fixed columns as the checked path does and lists the records at wanted
   positions; with ``index="always"`` only the index windows holding them are read
   (:mod:`~prs.genotypes.fastvcf.regions`). Their GT calls are kept compactly
   (:mod:`~prs.genotypes.fastvcf.cache`, up to ``cache_bytes``), and the site table is
   built from their bytes (:mod:`~prs.genotypes.fastvcf.sitetable`).
2. ``read()`` answers from that cache; records beyond it (or in DS/GP mode) are read again
   by inflating only the blocks that hold them (:func:`prs.genotypes.bgzf.start_reading_lines`)
   and decoded by the kernels (:mod:`~prs.genotypes.fastvcf.decode`).

Records whose text the kernels do not reproduce exactly (ploidy above 2, odd numbers, a
FORMAT without the field) and records where the kernels see an error go through the checked
path one by one (:mod:`~prs.genotypes.fastvcf.fallback`), so results and error messages
are the checked path's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from prs.errors import GenotypeFileError, GenotypeWarning, warn
from prs.genotypes import bgzf
from prs.genotypes.base import DosageChunk, sorted_unique
from prs.genotypes.fastvcf.cache import DsCache, GenotypeCache
from prs.genotypes.fastvcf.decode import (
    HALF_CALL_CODES,
    HAPLOID_CODES,
    CheckedRequests,
    Decoder,
    RecordText,
)
from prs.genotypes.fastvcf.fallback import CheckedPath
from prs.genotypes.fastvcf.regions import ScanSettings, plan_region_read
from prs.genotypes.fastvcf.scan import (
    FileScan,
    Listed,
    RegionError,
    ScanState,
    concat_listed,
    number_lines,
)
from prs.genotypes.fastvcf.sitetable import site_table
from prs.genotypes.sniff import GenotypeFile, sniff
from prs.genotypes.vcf_header import (
    GenotypePaths,
    check_vcf_inputs,
    declares_quality,
    duplicate_records_message,
    headers_build,
    no_records_message,
    repeated_header_lines,
    repeated_header_message,
    zero_pos_message,
)
from prs.genotypes.vcf_record import (
    DecodeOptions,
    SampleColumns,
    info_quality,
    unreadable_quality_message,
)
from prs.kernels import dosage as kd
from prs.kernels import fields as kf
from prs.kernels import scan as ks
from prs.memory import release_memory
from prs.vocab import INDEX_MODES

#: Default memory for genotypes kept from the sites pass (avoids a second pass).
DEFAULT_CACHE_BYTES = 256 << 20


def qualifies(path: str | os.PathLike[str] | GenotypeFile) -> bool:
    """True when the fast path can read ``path``: a bgzipped text VCF.

    Plain-text VCF, gzip (not bgzip) and BCF go to the checked path. ``path`` may be what
    :func:`prs.genotypes.sniff.sniff` found (then the file is not looked at again).
    """
    file = sniff(path)
    try:
        return file.is_bgzf and not file.is_bcf()
    except Exception:  # unreadable (cut short, corrupt): the checked path names it
        return False


def _fast_readable(file: GenotypeFile) -> None:
    """Raise unless the fast path can read ``file`` (its EOF block: checked with the
    header)."""
    if not qualifies(file):
        raise GenotypeFileError(
            f"{file.name}: the fast VCF path reads bgzipped text VCF only; use the "
            "checked path (engine='checked') for plain, gzip or BCF files"
        )


class FastVcfSource:
    """Genotypes from bgzipped VCF files, parsed by Numba kernels (the fast path).

    Parameters
    ----------
    paths
        One bgzipped VCF or several (same samples, same order).
    samples, dosage, half_call, haploid
        As :class:`prs.genotypes.vcf.VcfSource` (same defaults, same meaning).
    threads
        Inflating threads (default 2, or 1 on a one-CPU machine).
    cache_bytes
        Memory for genotypes kept from the sites pass (default 256 MiB, taken only as
        used: 2 bits per call, so a million records of 1,000 samples); records beyond it are
        read again from only the blocks that hold them.
    index
        ``"auto"`` (default) and ``"never"``: read every file sequentially, checking every
        record. ``"always"``: read only the windows of a tabix (``.tbi``) or CSI (``.csi``)
        index that hold wanted positions. Records are numbered as a sequential read numbers
        them (the report's ``target_record`` means the same on both engines), which takes
        one pass over the inflated text counting lines, so an indexed read saves the
        parsing but not the inflating: on two cores it is no faster than a sequential read
        (measured), and ``"auto"`` no longer uses an index. An index is checked before it is
        used (:mod:`prs.genotypes.tabix`: not older than the file, complete, its offsets
        inside the file, its last record ending where the file's text ends, a record of
        the right sequence at each offset used); in any doubt the file is read
        sequentially, with a :class:`~prs.errors.GenotypeWarning` that is also kept in
        :attr:`notes`. An indexed read checks only the records it reads; when one of them
        is malformed the file is read sequentially, so the error is the checked path's
        (the file's first malformed line).

    Raises
    ------
    GenotypeFileError
        As the checked path: missing or truncated files, malformed records (file, line,
        chrom:pos and value), files whose samples differ.
    """

    def __init__(
        self,
        paths: GenotypePaths,
        *,
        samples: Sequence[str] | None = None,
        dosage: str = "GT",
        half_call: str = "error",
        haploid: str = "as-diploid",
        threads: int | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        index: str = "auto",
    ) -> None:
        if index not in INDEX_MODES:
            raise GenotypeFileError(f"index must be 'auto', 'always' or 'never', not {index!r}")
        self.index = index
        inputs = check_vcf_inputs(
            paths,
            samples=samples,
            dosage=dosage,
            half_call=half_call,
            haploid=haploid,
            check_file=_fast_readable,
        )
        self.paths = inputs.paths
        self.headers = inputs.headers
        self.samples: tuple[str, ...] = inputs.samples
        self.dosage_field = dosage
        self.half_call = half_call
        self.haploid = haploid
        self.threads = threads
        self.cache_bytes = cache_bytes
        self._file_samples = inputs.file_samples
        # Output column of each file sample, -1 to skip.
        self._sample_out = np.full(len(inputs.file_samples), -1, dtype=np.int64)
        self._sample_out[inputs.sample_index] = np.arange(len(inputs.samples))
        self._n = len(self.samples)
        self._decoder = Decoder(
            self._n,
            self._sample_out,
            dosage,
            HALF_CALL_CODES[half_call],
            HAPLOID_CODES[haploid],
            tuple(k for k, h in enumerate(self.headers) if dosage not in h.float_formats)
            if dosage != "GT"
            else (),
        )
        self._checked = CheckedPath(
            self.paths,
            self.headers,
            DecodeOptions(dosage, half_call, haploid),
            SampleColumns.of(inputs.file_samples, inputs.sample_index),
        )
        self._listed: Listed | None = None
        #: Told ``(compressed bytes read, compressed bytes of all files)`` as the sites pass
        #: goes (the whole pass for a sequential read); ``prs score``'s progress bar.
        self.on_bytes_read: Callable[[int, int], None] | None = None
        self._bytes_before = 0  # compressed bytes of the files already scanned
        self._blocks: list[bgzf.BlockTable] = []
        self._cache = GenotypeCache.empty(self._n)
        self._ds_cache = DsCache(self._n, 0)
        self._ds_pool: ThreadPoolExecutor | None = None
        self._quality = declares_quality(self.headers)
        # Per-ALT imputation quality of records stating one value per ALT, by (file, text
        # start); records of unreadable quality, per file (see vcf_record.info_quality).
        self._quality_rows: dict[tuple[int, int], list[float]] = {}
        self._unreadable_quality = [0] * len(self.paths)
        #: Records whose DS/GP dosage was read from GT (they lack the field).
        self.fallback_to_gt = 0
        #: Every :class:`~prs.errors.GenotypeWarning` this source issued (e.g. an index
        #: not used, and why), in order, for the run's provenance.
        self.notes: list[str] = []

    def build(self) -> str | None:
        """The genome build implied by the headers (as the checked path), or None."""
        return headers_build(self.headers)

    def _note(self, message: str) -> None:
        """Warn (:class:`~prs.errors.GenotypeWarning`, naming the user's frame) and keep the
        message in notes."""
        self.notes.append(message)
        warn(message, GenotypeWarning)

    # -- pass 1 -----------------------------------------------------------------------------
    def sites(self, wanted: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
        """Check every record and return the site table (see the protocol).

        All records are checked whatever ``wanted`` says; only those at wanted positions
        are tabulated (and their genotypes kept, within ``cache_bytes``).
        """
        chrom_ids: dict[str, int] = {}
        wanted_lists: list[np.ndarray] = []
        if wanted is not None:
            for chrom, positions in wanted.items():
                chrom_ids[str(chrom)] = len(wanted_lists)
                wanted_lists.append(sorted_unique(positions))
        state = ScanState(chrom_ids, wanted_lists, want_all=wanted is None)
        parse_gt = self.dosage_field == "GT" and self.cache_bytes > 0 and self._n > 0
        self._cache = GenotypeCache(self._n, self.cache_bytes if parse_gt else 0)
        parse_ds = self.dosage_field in ("DS", "HDS") and self.cache_bytes > 0 and self._n > 0
        self._ds_cache = DsCache(self._n, self.cache_bytes if parse_ds else 0, self.dosage_field)
        threads = max(1, self.threads or min(2, os.cpu_count() or 1))
        self._ds_pool = ThreadPoolExecutor(1, "prs-ds") if parse_ds and threads > 1 else None
        identity = np.array_equal(self._sample_out, np.arange(len(self._file_samples)))
        pieces: list[dict[str, np.ndarray]] = []
        blobs: list[np.ndarray] = []
        self._blocks = []
        self._quality_rows = {}
        self._unreadable_quality = [0] * len(self.paths)
        record = 0
        try:
            record = self._scan_files(state, wanted, pieces, blobs, parse_gt, identity)
        finally:
            if self._ds_pool is not None:
                self._ds_pool.shutdown()
                self._ds_pool = None
        self._n_records = record
        release_memory()  # the text buffers of the scan
        self._cache.trim()
        self._ds_cache.trim()
        self._listed = concat_listed(pieces)
        names = {i: c for c, i in state.chrom_ids.items()}
        chroms = np.concatenate([p["chrom"] for p in pieces]) if pieces else np.empty(0, int)
        pieces.clear()
        release_memory()
        quality = self._quality_rows if self._quality else None
        table = site_table(self._listed, blobs, chroms, names, quality)
        duplicates = duplicate_records_message(self.paths, table)
        if duplicates:
            self._note(duplicates)
        return table

    def _scan_files(
        self,
        state: ScanState,
        wanted: Mapping[str, np.ndarray] | None,
        pieces: list[dict[str, np.ndarray]],
        blobs: list[np.ndarray],
        parse_gt: bool,
        identity: bool,
    ) -> int:
        """Scan every file in turn; the number of records."""
        record = 0
        self._bytes_before = 0
        for file_index, path in enumerate(self.paths):
            header = self.headers[file_index]
            for name in header.contigs:
                state.add_name(name.encode())
            settings = ScanSettings(
                path,
                file_index,
                state,
                9 + len(header.samples) if header.samples else -1,
                self.threads,
                len(header.samples) if parse_gt and identity else 0,
            )
            record = self._scan_file(settings, wanted, record, pieces, blobs, parse_gt)
            self._bytes_before += os.path.getsize(path)
            self._tell_bytes(0)
        return record

    def _tell_bytes(self, in_file: int) -> None:
        """``on_bytes_read`` of the files scanned and ``in_file`` bytes of the current one."""
        if self.on_bytes_read is not None:
            total = sum(os.path.getsize(p) for p in self.paths)
            self.on_bytes_read(min(self._bytes_before + in_file, total), total)

    def _scan_file(
        self,
        settings: ScanSettings,
        wanted: Mapping[str, np.ndarray] | None,
        record: int,
        pieces: list[dict[str, np.ndarray]],
        blobs: list[np.ndarray],
        parse_gt: bool,
    ) -> int:
        """Scan one file (its windows when an index is used), appending its listed records
        to ``pieces`` and their site bytes to ``blobs``; the next file's first record."""
        path, file_index = settings.path, settings.file_index
        header = self.headers[file_index]
        region = None
        if wanted is not None and self.index == "always":
            region = plan_region_read(settings, wanted, self._note)
        full = FileScan(
            path,
            file_index,
            settings.state,
            settings.n_columns,
            record,
            settings.threads,
            settings.pack_samples,
            # (parts only when a second thread parses them: one thread gains no overlap)
            on_part=(
                self._ds_part if self._ds_pool is not None and self._keeps_ds(file_index) else None
            ),
        )
        done: list[FileScan] = []
        kept = len(pieces), len(blobs)
        try:
            scans = iter([full]) if region is None else region.scans
            for scan in scans:
                done.append(scan)
                for buf, listed in scan:
                    if listed is not None:
                        self._take(buf, listed, pieces, blobs, parse_gt)
                    self._tell_bytes(scan.compressed_end)
        except RegionError:
            # A malformed record in a window: read the file sequentially, which reports
            # the file's first error by line exactly as the checked path does. (Rows the
            # windows put in the genotype caches stay there unused.)
            del pieces[kept[0] :], blobs[kept[1] :]
            region, done = None, [full]
            for buf, listed in full:
                if listed is not None:
                    self._take(buf, listed, pieces, blobs, parse_gt)
        window_records = 0
        if region is not None:
            window_records = self._number_window_records(path, file_index, record, pieces)
        if self._unreadable_quality[file_index]:
            message = unreadable_quality_message(path, self._unreadable_quality[file_index])
            self._note(message)
        zero = sum(scan.zero_pos for scan in done)
        if zero:
            self._note(zero_pos_message(path, zero))
        # A region read starts at a record: any '#' line it meets is a repeated header.
        header_lines = 0 if region is not None else header.n_header_lines
        if sum(scan.hash_lines for scan in done) > header_lines:
            lines = repeated_header_lines(path, header.n_header_lines)
            self._note(repeated_header_message(path, lines))
        if region is not None:
            self._blocks.append(region.table)
            return record + window_records
        if full.record == record:
            raise GenotypeFileError(no_records_message(path))
        self._blocks.append(full.block_table())
        return full.record

    def _number_window_records(
        self, path: str, file_index: int, record: int, pieces: list[dict[str, np.ndarray]]
    ) -> int:
        """An indexed read parsed only some windows: number its records (and lines) by
        counting the file's lines, as a sequential read numbers them; the file's record
        count."""
        mine = [piece for piece in pieces if piece["file"][0] == file_index]
        starts = np.concatenate([p["text_start"] for p in mine]) if mine else None
        ordinal, line, n_records = number_lines(path, starts, self.threads)
        at = 0
        for piece in mine:
            k = len(piece["pos"])
            piece["record"] = record + ordinal[at : at + k]
            piece["lineno"] = line[at : at + k]
            at += k
        return n_records

    def _take(
        self,
        buf: np.ndarray,
        listed: dict[str, np.ndarray],
        pieces: list[dict[str, np.ndarray]],
        blobs: list[np.ndarray],
        parse_gt: bool,
    ) -> None:
        """Keep a scan chunk's listed records: their site bytes, their calls (cache)."""
        k = len(listed["pos"])
        blob = np.empty(
            int((listed["fields"][:, 0] - listed["fields"][:, 3]).sum()) + k, dtype=np.uint8
        )
        ks.gather_segments(buf, listed["fields"][:, 3], listed["fields"][:, 0], blob, 0)
        blobs.append(blob)
        listed["packed_row"] = np.full(k, -1, dtype=np.int64)
        listed["allele_row"] = np.full(k, -1, dtype=np.int64)
        listed["ds_row"] = np.full(k, -1, dtype=np.int64)
        if self._quality:
            self._take_quality(buf, listed)
        else:
            listed["r2"] = np.empty(k, dtype=np.float32)  # (not in the site table)
            listed["imputed"] = np.empty(k, dtype=np.bool_)
        if parse_gt:
            self._cache.add(buf, listed, self._sample_out)
        if self._ds_cache.streaming():
            self._ds_cache.finish(listed, self._sample_out)  # (parts queued by _ds_part)
        elif self._keeps_ds(int(listed["file"][0])):
            self._ds_cache.add(buf, listed, self._sample_out, self._ds_pool)
        listed.pop("packed", None)
        pieces.append(listed)

    def _keeps_ds(self, file_index: int) -> bool:
        """True when the sites pass keeps the DS/HDS of file ``file_index`` (rows free, the
        field declared ``Type=Float`` there)."""
        return self._ds_cache.has_room() and file_index not in self._decoder.undeclared_files

    def _ds_part(self, buf: np.ndarray, part: dict[str, np.ndarray]) -> None:
        """Start the DS/HDS parse of records the scan kernel has just listed (it goes on
        listing the chunk's later records meanwhile; :meth:`_take` ends the chunk)."""
        self._ds_cache.add_part(buf, part, self._sample_out, self._ds_pool)

    def _take_quality(self, buf: np.ndarray, listed: dict[str, np.ndarray]) -> None:
        """The listed records' imputation quality from INFO (the kernel; Python for the
        values it leaves, as the checked path reads them)."""
        k = len(listed["pos"])
        r2 = listed["r2"] = np.empty(k, dtype=np.float32)
        imputed = listed["imputed"] = np.empty(k, dtype=np.bool_)
        status = np.empty(k, dtype=np.int8)
        kf.parse_info_quality(buf, listed["line"], listed["fields"], r2, imputed, status)
        for j in np.flatnonzero(status != kf.INFO_OK).tolist():
            line = buf[int(listed["line"][j, 0]) : int(listed["line"][j, 1])].tobytes()
            quality = info_quality(line.split(b"\t", 8)[7])
            values, readable = quality.rows(int(listed["n_alleles"][j]) - 1)
            file_index = int(listed["file"][j])
            self._unreadable_quality[file_index] += not readable
            r2[j] = values[0]
            if len(values) > 1:  # one per ALT
                self._quality_rows[(file_index, int(listed["text_start"][j]))] = values

    # -- pass 2 -----------------------------------------------------------------------------
    def read(
        self, records: np.ndarray, alleles: np.ndarray, *, chunk_size: int = 1024
    ) -> Iterator[DosageChunk]:
        """Stream dosages of ``alleles[i]`` at ``records[i]`` (see the protocol)."""
        if self._listed is None:
            self.sites()
        listed = self._listed
        assert listed is not None
        records = np.asarray(records, dtype=np.int64)
        alleles = np.asarray(alleles, dtype=np.int64)
        if len(records) and np.any(np.diff(records) < 0):
            raise ValueError("records must be sorted ascending")
        where = np.searchsorted(listed.record, records)
        bad = (where >= len(listed.record)) | (
            listed.record[np.minimum(where, len(listed.record) - 1)] != records
            if len(listed.record)
            else np.ones(len(records), dtype=bool)
        )
        if bad.any():
            raise GenotypeFileError(
                f"{self.paths[0]}: {int(bad.sum())} requested records were not listed by "
                "sites() (request records at the wanted positions only)"
            )
        n_threads = max(1, self.threads or min(2, os.cpu_count() or 1))
        pool = ThreadPoolExecutor(n_threads)
        # A second thread for the DS store's dosages (not the pool: text reads queue there).
        helper = (
            ThreadPoolExecutor(1, "prs-ds-read")
            if n_threads > 1 and len(self._ds_cache.values)
            else None
        )
        current: _PendingText | None = None
        ahead: _PendingText | None = None
        try:
            # One chunk of look-ahead: the blocks of chunk i+1 inflate in the pool while
            # chunk i is decoded here and scored by the caller (two chunks' text at most).
            bounds = _record_chunks(records, chunk_size)
            for number, (begin, stop) in enumerate(bounds):
                rows, want = where[begin:stop], alleles[begin:stop]
                current = ahead if ahead is not None else self._start_text(rows, pool)
                ahead = None
                if number + 1 < len(bounds):
                    following, until = bounds[number + 1]
                    ahead = self._start_text(where[following:until], pool)
                chunk = self._read_chunk(rows, want, begin, current, helper)
                current.close()
                current = None  # its text buffer is freed before the next chunk is read
                yield chunk
        finally:
            for job in (current, ahead):
                if job is not None:
                    job.close()
            pool.shutdown(wait=True)
            if helper is not None:
                helper.shutdown(wait=True)

    def _start_text(self, rows: np.ndarray, pool: ThreadPoolExecutor) -> _PendingText:
        """Start inflating the blocks of the rows of a chunk that need the text again."""
        listed = self._listed
        assert listed is not None
        kept = (listed.packed_row[rows] >= 0) | (listed.allele_row[rows] >= 0)
        rest = rows[~kept & (listed.ds_row[rows] < 0)]
        pending = _PendingText()
        if not len(rest):
            return pending
        # Requests are sorted by record (np.unique's hash path is slow on these sizes).
        unique_rows = sorted_unique(rest)
        files = listed.file[unique_rows]
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(files)) + 1, [len(files)]])
        try:
            for begin, end in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
                file_index = int(files[begin])
                in_file = unique_rows[begin:end]
                started = bgzf.start_reading_lines(
                    self.paths[file_index],
                    self._blocks[file_index],
                    listed.text_start[in_file],
                    listed.text_end[in_file],
                    pool,
                )
                pending.files.append((file_index, in_file, started))
        except BaseException:
            pending.close()  # jobs already started for earlier files: wait, close their files
            raise
        return pending

    def _read_chunk(
        self,
        rows: np.ndarray,
        want: np.ndarray,
        begin: int,
        text: _PendingText,
        helper: ThreadPoolExecutor | None = None,
    ) -> DosageChunk:
        listed = self._listed
        assert listed is not None
        k = len(rows)
        # Every row is written below (packed, allele store or text).
        dosage = np.empty((k, self._n))
        ploidy = np.empty((k, self._n), dtype=np.int8)
        packed = listed.packed_row[rows]
        cached = listed.allele_row[rows]
        refused = self._decoder.cached(
            self._cache, packed, cached, want, listed.n_alleles[rows], dosage, ploidy
        )
        if refused >= 0:
            self._checked_record(int(rows[refused]), [0])  # raises the checked path's error
        ds_rows = listed.ds_row[rows]
        in_ds = np.flatnonzero(ds_rows >= 0)
        if len(in_ds):
            self._stored_ds(ds_rows[in_ds], want[in_ds], in_ds, dosage, ploidy, helper)
        rest = np.flatnonzero((packed < 0) & (cached < 0) & (ds_rows < 0))
        if len(rest):
            self._read_text(rows[rest], want[rest], rest, dosage, ploidy, text)
        return DosageChunk(np.arange(begin, begin + k, dtype=np.int64), dosage, ploidy)

    def _stored_ds(
        self,
        rows: np.ndarray,
        want: np.ndarray,
        out_rows: np.ndarray,
        dosage: np.ndarray,
        ploidy: np.ndarray,
        helper: ThreadPoolExecutor | None,
    ) -> None:
        """Dosages of requests whose record is in the DS store (its ``rows`` there) into
        ``out_rows``; with ``helper``, its thread writes the second half of the requests
        (the kernel releases the GIL; disjoint output rows)."""

        def part(a: int, b: int) -> None:
            kd.simple_ds_dosages(
                self._ds_cache.values,
                kf.DS_MILLI,
                rows[a:b],
                want[a:b],
                dosage,
                ploidy,
                out_rows[a:b],
            )

        half = len(rows) // 2
        if helper is None or half < 32:
            part(0, len(rows))
            return
        job = helper.submit(part, half, len(rows))
        try:
            part(0, half)
        finally:
            job.result()

    def _read_text(
        self,
        rows: np.ndarray,
        want: np.ndarray,
        out_rows: np.ndarray,
        dosage: np.ndarray,
        ploidy: np.ndarray,
        text: _PendingText,
    ) -> None:
        """Decode records read from the text again (their blocks, started by
        :meth:`_start_text`, are waited for here)."""
        listed = self._listed
        assert listed is not None
        for file_index, in_file, started in text.files:
            buf, starts = started.result()
            lines = np.stack(
                [starts, starts + (listed.text_end[in_file] - listed.text_start[in_file])], axis=1
            )
            fields = listed.fields[in_file] + starts[:, None]
            fields[listed.fields[in_file] < 0] = -1
            mine = np.flatnonzero(listed.file[rows] == file_index)
            left = self._decoder.decode_rows(
                RecordText(buf, lines, fields),
                listed,
                in_file,
                rows[mine],
                want[mine],
                out_rows[mine],
                dosage,
                ploidy,
            )
            self._checked_into(left, dosage, ploidy)

    # -- the checked path, one record at a time ---------------------------------------------
    def _checked_record(self, row: int, wants: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Decode one listed record with the checked path (its errors, its numbers)."""
        listed = self._listed
        assert listed is not None
        table = self._blocks[int(listed.file[row])]
        dosage, ploidy, from_gt = self._checked.decode(listed, table, row, wants)
        self.fallback_to_gt += from_gt
        return dosage, ploidy

    def _checked_into(self, left: CheckedRequests, dosage: np.ndarray, ploidy: np.ndarray) -> None:
        """Decode the requests the kernels left by the checked path, into the chunk."""
        self.fallback_to_gt += left.from_gt
        for row, wants, targets in zip(left.rows, left.wants, left.targets, strict=True):
            d, p = self._checked_record(row, wants.tolist())
            dosage[targets] = d
            ploidy[targets] = p


def _record_chunks(records: np.ndarray, chunk_size: int) -> list[tuple[int, int]]:
    """(begin, stop) request ranges of about ``chunk_size`` requests that never split a
    record's requests, as the checked path's chunks: a record read from GT is then counted
    once (``fallback_to_gt`` counts per chunk).

    Examples
    --------
    >>> _record_chunks(np.array([0, 1, 1, 1, 2, 3]), 2)
    [(0, 4), (4, 6)]
    """
    bounds: list[tuple[int, int]] = []
    begin, n = 0, len(records)
    while begin < n:
        stop = min(n, begin + max(1, chunk_size))
        if stop < n:  # the last record's other alleles join this chunk
            stop = int(np.searchsorted(records, records[stop - 1], side="right"))
        bounds.append((begin, stop))
        begin = stop
    return bounds


class _PendingText:
    """The text reads of one chunk: (file index, listed rows, started inflate) per file."""

    def __init__(self) -> None:
        self.files: list[tuple[int, np.ndarray, bgzf.StartedInflate]] = []

    def close(self) -> None:
        for _, _, started in self.files:
            started.close()
        self.files = []
