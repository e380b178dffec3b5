"""The fast VCF path: bgzipped VCF text read by Numba kernels, no htslib in the loop.

:class:`FastVcfSource` implements the :class:`~prs.genotypes.base.GenotypeSource` protocol
with the same site table, dosages and errors as the checked path
(:class:`~prs.genotypes.vcf.VcfSource`), and is several times faster:

1. ``sites()`` streams each file once: BGZF blocks are inflated by ISA-L in two threads
   (:class:`~prs.genotypes.bgzf.BgzfReader`) while the main thread runs
   :func:`~prs.kernels.vcf_text.scan_records` over the text (it releases the GIL): every
   record's fixed columns and column count are checked as the checked path checks them,
   and the records at wanted positions are listed. Their GT calls are parsed in the same
   pass and kept compactly (2 bits per call for the common all-diploid 0/1 record), up to
   ``cache_bytes``.
2. ``read()`` answers from that cache; records beyond it (or in DS/GP mode) are read again
   by inflating only the blocks that hold them.

Records whose text the kernels do not reproduce exactly (ploidy above 2, odd numbers, a
FORMAT without the field) and records where the kernels see an error go through the checked
path one by one, so results and error messages are the checked path's own.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from prs.chrom import normalize_chrom
from prs.errors import GenotypeFileError, GenotypeWarning
from prs.genotypes import bgzf, tabix
from prs.genotypes.base import SITE_COLUMNS, DosageChunk
from prs.genotypes.base import sorted_unique as _sorted_unique
from prs.genotypes.vcf import (
    DOSAGE_FIELDS,
    VcfSource,
    _is_bcf,
    bad_chrom_message,
    check_vcf_inputs,
    duplicate_records_message,
    headers_build,
    no_records_message,
    pos_message,
    repeated_header_lines,
    repeated_header_message,
    valid_contig_name,
    zero_pos_message,
)
from prs.kernels import vcf_text as kt
from prs.memory import release_memory

HALF_CALL_POLICIES = {
    "error": kt.HALF_ERROR,
    "missing": kt.HALF_MISSING,
    "haploid": kt.HALF_HAPLOID,
    "reference": kt.HALF_REFERENCE,
}
HAPLOID_POLICIES = {"as-diploid": kt.HAPLOID_AS_DIPLOID, "haploid": kt.HAPLOID_HAPLOID}

#: Default memory for genotypes kept from the sites pass (avoids a second pass).
DEFAULT_CACHE_BYTES = 256 << 20
_LISTED_CAPACITY = 1 << 14


def qualifies(path: str | os.PathLike[str]) -> bool:
    """True when the fast path can read ``path``: a complete bgzipped text VCF.

    Plain-text VCF, gzip (not bgzip) and BCF go to the checked path.
    """
    try:
        return bgzf.is_bgzf(path) and not _is_bcf(Path(path))
    except Exception:  # unreadable (cut short, corrupt): the checked path names it
        return False


@dataclass
class _Listed:
    """Records at wanted positions, as the sites pass found them (global arrays)."""

    record: np.ndarray  # int64: global record number
    file: np.ndarray  # int32
    pos: np.ndarray  # int64
    lineno: np.ndarray  # int64
    text_start: np.ndarray  # int64: line start, as an offset in the file's text
    text_end: np.ndarray  # int64: line end (without newline)
    fields: np.ndarray  # int64[k, 3]: ALT end, FORMAT start, samples start (from line start)
    n_alleles: np.ndarray  # int16
    packed_row: np.ndarray  # int64: row in the packed store, -1 if not there
    allele_row: np.ndarray  # int64: row in the allele store, -1 if not there


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
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        samples: Sequence[str] | None = None,
        dosage: str = "GT",
        half_call: str = "error",
        haploid: str = "as-diploid",
        threads: int | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        index: str = "auto",
    ) -> None:
        if index not in ("auto", "always", "never"):
            raise GenotypeFileError(f"index must be 'auto', 'always' or 'never', not {index!r}")
        self.index = index

        def fast_readable(path: str) -> None:  # (the EOF block is checked with the header)
            if not qualifies(path):
                raise GenotypeFileError(
                    f"{path}: the fast VCF path reads bgzipped text VCF only; use the checked "
                    "path (engine='checked') for plain, gzip or BCF files"
                )

        inputs = check_vcf_inputs(
            paths,
            samples=samples,
            dosage=dosage,
            half_call=half_call,
            haploid=haploid,
            check_path=fast_readable,
        )
        self.paths = inputs.paths
        self.headers = inputs.headers
        self.samples: tuple[str, ...] = inputs.samples
        self.dosage_field = dosage
        self.half_call = half_call
        self.haploid = haploid
        self.threads = threads
        self.cache_bytes = cache_bytes
        self._samples_arg = None if samples is None else list(samples)
        self._file_samples = inputs.file_samples
        # Output column of each file sample, -1 to skip.
        self._sample_out = np.full(len(inputs.file_samples), -1, dtype=np.int64)
        self._sample_out[inputs.sample_index] = np.arange(len(inputs.samples))
        self._n = len(self.samples)
        self._listed: _Listed | None = None
        self._blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._packed = np.empty((0, (self._n + 3) // 4), dtype=np.uint8)
        self._alleles = np.empty((0, self._n, 2), dtype=np.int8)
        self._header_text: dict[int, bytes] = {}
        self.fallback_to_gt = 0
        #: Every :class:`~prs.errors.GenotypeWarning` this source issued (e.g. an index
        #: not used, and why), in order, for the run's provenance.
        self.notes: list[str] = []

    def build(self) -> str | None:
        """The genome build implied by the headers (as the checked path), or None."""
        return headers_build(self.headers)

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
                wanted_lists.append(_sorted_unique(positions))
        state = _ScanState(chrom_ids, wanted_lists, want_all=wanted is None)
        parse_gt = self.dosage_field == "GT" and self.cache_bytes > 0 and self._n > 0
        identity = np.array_equal(self._sample_out, np.arange(len(self._file_samples)))
        row_bytes = (self._n + 3) // 4
        packed_capacity = self.cache_bytes // max(row_bytes, 1) if parse_gt else 0
        # np.empty: pages are only touched (resident) as rows are written.
        self._packed = np.empty((packed_capacity, row_bytes), dtype=np.uint8)
        allele_capacity = self.cache_bytes // 8 // max(2 * self._n, 1) if parse_gt else 0
        self._alleles = np.empty((allele_capacity, self._n, 2), dtype=np.int8)
        counters = {"packed": 0, "alleles": 0}
        pieces: list[dict[str, np.ndarray]] = []
        blobs: list[np.ndarray] = []
        self._blocks = []
        record = 0
        for file_index, path in enumerate(self.paths):
            header = self.headers[file_index]
            n_columns = 9 + len(header.samples) if header.samples else -1
            for name in header.contigs:
                state.add_name(name.encode())
            pack = len(header.samples) if parse_gt and identity else 0
            scans = self._region_scans(file_index, wanted, state, n_columns, pack)
            regional = scans is not None
            full = _FileScan(path, file_index, state, n_columns, record, self.threads, pack)
            if scans is None:
                scans = iter([full])
            done: list[_FileScan] = []

            def take(buf: np.ndarray, listed: dict[str, np.ndarray]) -> None:
                k = len(listed["pos"])
                blob = np.empty(
                    int((listed["fields"][:, 0] - listed["fields"][:, 3]).sum()) + k,
                    dtype=np.uint8,
                )
                kt.gather_segments(buf, listed["fields"][:, 3], listed["fields"][:, 0], blob, 0)
                blobs.append(blob)
                listed["packed_row"] = np.full(k, -1, dtype=np.int64)
                listed["allele_row"] = np.full(k, -1, dtype=np.int64)
                if parse_gt:
                    self._cache_gt(buf, listed, counters)
                listed.pop("packed", None)
                pieces.append(listed)

            kept = len(pieces), len(blobs)
            try:
                for buf, listed in (
                    item for scan in scans if not done.append(scan) for item in scan
                ):
                    if listed is not None:
                        take(buf, listed)
            except _RegionError:
                # A malformed record in a window: read the file sequentially, which reports
                # the file's first error by line exactly as the checked path does. (Rows the
                # windows put in the genotype caches stay there unused.)
                del pieces[kept[0] :], blobs[kept[1] :]
                self._blocks.pop()
                regional, done = False, [full]
                for buf, listed in full:
                    if listed is not None:
                        take(buf, listed)
            if regional:
                # An indexed read parsed only some windows: number its records (and lines)
                # by counting the file's lines, as a sequential read numbers them.
                mine = [piece for piece in pieces if piece["file"][0] == file_index]
                starts = np.concatenate([p["text_start"] for p in mine]) if mine else None
                ordinal, line, n_records = _number_lines(path, starts, self.threads)
                at = 0
                for piece in mine:
                    k = len(piece["pos"])
                    piece["record"] = record + ordinal[at : at + k]
                    piece["lineno"] = line[at : at + k]
                    at += k
                record += n_records
            zero = sum(scan.zero_pos for scan in done)
            if zero:
                self._note(zero_pos_message(path, zero))
            # A region read starts at a record: any '#' line it meets is a repeated header.
            header_lines = 0 if regional else header.n_header_lines
            if sum(scan.hash_lines for scan in done) > header_lines:
                lines = repeated_header_lines(path, header.n_header_lines)
                self._note(repeated_header_message(path, lines))
            if regional:
                continue  # block table set by _region_scans
            if full.record == record:
                raise GenotypeFileError(no_records_message(path))
            record = full.record
            self._blocks.append(full.block_table())
        self._n_records = record
        release_memory()  # the text buffers of the scan
        # Views, not copies: the unused tail was never touched, so it holds no memory, and a
        # copy would briefly double the cache.
        self._packed = self._packed[: counters["packed"]]
        self._alleles = self._alleles[: counters["alleles"]]
        self._listed = _concat_listed(pieces)
        names = {i: c for c, i in state.chrom_ids.items()}
        chroms = np.concatenate([p["chrom"] for p in pieces]) if pieces else np.empty(0, int)
        pieces.clear()
        release_memory()
        table = self._site_table(blobs, chroms, names)
        duplicates = duplicate_records_message(self.paths, table)
        if duplicates:
            self._note(duplicates)
        return table

    def _region_scans(
        self,
        file_index: int,
        wanted: Mapping[str, np.ndarray] | None,
        state: _ScanState,
        n_columns: int,
        pack: int,
    ) -> Iterator[_FileScan] | None:
        """Region scans over the index windows holding wanted positions, or None (read the
        file sequentially). An index in any doubt is not used (see :meth:`_index_doubt`)."""
        path = self.paths[file_index]
        if wanted is None or self.index != "always":
            return None
        found = tabix.index_path(path)
        if found is None:
            raise GenotypeFileError(
                f"{path}: no tabix index ({path}.tbi or .csi) for index='always'"
            )
        try:
            index = tabix.read_index(found)
        except tabix.IndexDoubt as exc:
            return self._index_doubt(path, found, str(exc))
        # As htslib: an index older than its data is stale (whole seconds: copies of a
        # pair keep the order only to the second).
        if int(os.stat(found).st_mtime) < int(os.stat(path).st_mtime):
            return self._index_doubt(path, found, "it is older than the file")
        table = bgzf.read_block_table(path)
        doubt = index.check(table.coffset, table.usize)
        if doubt is not None:
            return self._index_doubt(path, found, doubt)
        ustart = np.zeros(len(table.usize) + 1, dtype=np.int64)
        np.cumsum(table.usize, out=ustart[1:])
        groups: list[tuple[int, int, int]] = []
        first_wanted: list[int] = []
        ref_of_group: list[int] = []
        for ref, name in enumerate(index.names):
            chrom = normalize_chrom(name)
            if chrom not in wanted or chrom not in state.chrom_ids:
                continue
            positions = _sorted_unique(wanted[chrom])
            offsets = index.window_offsets(name, positions)
            assert offsets is not None
            starts, inverse = np.unique(offsets, return_inverse=True)
            last = np.zeros(len(starts), dtype=np.int64)
            np.maximum.at(last, inverse, positions)  # furthest wanted position per window
            least = np.full(len(starts), np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(least, inverse, positions)
            chrom_id = state.chrom_ids[chrom]
            groups.extend(
                zip(starts.tolist(), [chrom_id] * len(starts), last.tolist(), strict=True)
            )
            first_wanted.extend(least.tolist())
            ref_of_group.extend([ref] * len(starts))
        doubt = self._check_starts(
            file_index, index, table, ustart, groups, first_wanted, ref_of_group
        )
        if doubt is not None:
            return self._index_doubt(path, found, doubt)
        groups.sort()
        self._blocks.append((table.coffset, table.csize, table.usize, ustart))
        return self._iter_regions(file_index, groups, table, ustart, state, n_columns, pack)

    def _index_doubt(self, path: str, index_file: Path, reason: str) -> None:
        """Warn that ``index_file`` is not used and why, note it, and return None (the
        caller then reads ``path`` sequentially: exact, only slower)."""
        self._note(
            f"{path}: its index {index_file} is not used: {reason}; the file is read "
            f"sequentially instead (exact, slower). Re-index it (tabix -f -p vcf {path})"
        )
        return None

    def _note(self, message: str) -> None:
        """Warn (:class:`~prs.errors.GenotypeWarning`) and keep the message in notes."""
        self.notes.append(message)
        warnings.warn(message, GenotypeWarning, stacklevel=4)

    def _check_starts(
        self,
        file_index: int,
        index: tabix.Index,
        table: bgzf.BlockRun,
        ustart: np.ndarray,
        groups: list[tuple[int, int, int]],
        first_wanted: list[int],
        ref_of_group: list[int],
    ) -> str | None:
        """Why the records at the offsets a region read would start from do not fit the
        index, or None. Each start must be a line start holding a record (not a header
        line) of the sequence the index names; for a ``.tbi``, the line before it must be
        the header, another sequence or a record before the first wanted position (a
        stale index sends the reader into the middle of a line, or past wanted records)."""
        path = self.paths[file_index]
        total = int(ustart[-1])
        fd = os.open(path, os.O_RDONLY)
        try:
            for (voffset, _chrom, _stop), least, ref in zip(
                groups, first_wanted, ref_of_group, strict=True
            ):
                text = tabix.to_text_offsets(
                    np.array([voffset]), table.coffset, table.usize, ustart
                )
                assert text is not None  # (index.check tested every offset)
                at = int(text[0])
                if at >= total:
                    continue
                lo = at
                while True:  # back far enough to hold the previous line whole
                    lo = max(0, lo - (1 << 16))
                    before = _text_range(path, fd, table, ustart, lo, at)
                    if lo == 0 or before[:-1].count(b"\n") >= 1:
                        break
                line = _text_range(path, fd, table, ustart, at, min(total, at + 4096))
                where = f"virtual offset {voffset >> 16}:{voffset & 0xFFFF}"
                if before and not before.endswith(b"\n"):
                    return f"{where} is not at the start of a line"
                fields = line.split(b"\n", 1)[0].split(b"\t", 2)
                name = index.names[ref].encode()
                if line.startswith(b"#") or fields[0] != name:
                    shown = line[:40].decode(errors="replace")
                    return f"{where} holds {shown!r}, not a record of {index.names[ref]}"
                if index.kind != "tbi" or not before:
                    continue
                previous = before[:-1].rsplit(b"\n", 1)[-1].split(b"\t", 2)
                if previous[0].startswith(b"#") or previous[0] != name or len(previous) < 2:
                    continue
                if previous[1].isdigit() and int(previous[1]) >= least:
                    return (
                        f"the record before {where} ({index.names[ref]}:"
                        f"{int(previous[1])}) is at or past a wanted position ({least})"
                    )
        finally:
            os.close(fd)
        return None

    def _iter_regions(
        self,
        file_index: int,
        groups: list[tuple[int, int, int]],
        table: bgzf.BlockRun,
        ustart: np.ndarray,
        state: _ScanState,
        n_columns: int,
        pack: int,
    ) -> Iterator[_FileScan]:
        scanned_until = -1
        total = int(ustart[-1])
        for voffset, chrom_id, stop_pos in groups:
            block = int(np.searchsorted(table.coffset, voffset >> 16))
            text = int(ustart[block]) + (voffset & 0xFFFF)
            if text < scanned_until:  # overlaps the previous read: go on from its end
                text = scanned_until
                block = int(np.searchsorted(ustart, text, side="right")) - 1
            if text >= total:
                continue
            scan = _FileScan(
                self.paths[file_index],
                file_index,
                state,
                n_columns,
                0,
                self.threads,
                pack,
                region=(
                    int(table.coffset[block]),
                    text - int(ustart[block]),
                    int(ustart[block]),
                    chrom_id,
                    stop_pos,
                ),
            )
            yield scan
            scanned_until = scan.stopped_at if scan.stopped_at >= 0 else total

    def _cache_gt(self, buf: np.ndarray, listed: dict[str, np.ndarray], counters: dict) -> None:
        """Keep the listed records' calls: packed rows from the scan, the rest parsed here."""
        simple = listed["simple"]
        take = np.flatnonzero(simple)[: len(self._packed) - counters["packed"]]
        if len(take):
            start = counters["packed"]
            self._packed[start : start + len(take)] = listed["packed"][take]
            listed["packed_row"][take] = start + np.arange(len(take))
            counters["packed"] += len(take)
        rest = np.flatnonzero(~simple)
        free = len(self._alleles) - counters["alleles"]
        if not len(rest) or free <= 0:
            return
        rows = rest.astype(np.int64)
        alleles = np.empty((len(rows), self._n, 2), dtype=np.int8)
        flags = np.zeros(len(rows), dtype=np.int8)
        kt.parse_gt_alleles(
            buf, listed["line"], listed["fields"], rows, self._sample_out, alleles, flags
        )
        keep = np.flatnonzero(flags == kt.REC_OK)[:free]
        if len(keep):
            start = counters["alleles"]
            self._alleles[start : start + len(keep)] = alleles[keep]
            listed["allele_row"][rows[keep]] = start + np.arange(len(keep))
            counters["alleles"] += len(keep)

    def _site_table(
        self, blobs: list[np.ndarray], chrom_ids: np.ndarray, names: dict[int, str]
    ) -> pd.DataFrame:
        listed = self._listed
        assert listed is not None
        dtypes = {
            "pos": np.int64,
            "allele_index": np.int16,
            "n_alleles": np.int16,
            "record": np.int64,
            "file": np.int32,
        }
        if not len(listed.record):
            return pd.DataFrame({c: [] for c in SITE_COLUMNS}, columns=list(SITE_COLUMNS)).astype(
                dtypes
            )
        n_alleles = listed.n_alleles.astype(np.int64)
        n_alt = n_alleles - 1
        # A record without ALT still gets one row (alt "", allele_index 0): REF can match.
        rows_per = np.maximum(n_alt, 1)
        strings = _site_strings(np.concatenate(blobs), n_alt, rows_per)
        if strings is None:  # non-ASCII bytes: decoded and upper-cased by Python
            strings = _site_strings_python(np.concatenate(blobs), n_alt)
        ids, refs, alt_rows = strings
        repeat = np.repeat(np.arange(len(n_alt)), rows_per)
        if len(repeat) == len(n_alt):
            allele_index = np.ones(len(n_alt), dtype=np.int16)
        else:
            ids, refs = ids.take(repeat), refs.take(repeat)
            allele_index = (
                np.arange(len(repeat)) - np.repeat(np.cumsum(rows_per) - rows_per, rows_per) + 1
            ).astype(np.int16)
        allele_index[n_alt[repeat] == 0] = 0
        chrom_names = pa.array([names[i] for i in range(len(names))], type=pa.string())
        table = pd.DataFrame(
            {
                "chrom": chrom_names.take(chrom_ids[repeat]).to_pandas(),
                "pos": listed.pos[repeat],
                "ref": refs.to_pandas(),
                "alt": alt_rows.to_pandas(),
                "allele_index": allele_index,
                "n_alleles": n_alleles[repeat].astype(np.int16),
                "record": listed.record[repeat],
                "file": listed.file[repeat].astype(np.int32),
                "id": ids.to_pandas(),
            },
            columns=list(SITE_COLUMNS),
        )
        return table

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
        pool = ThreadPoolExecutor(max(1, self.threads or min(2, os.cpu_count() or 1)))
        current: _PendingText | None = None
        ahead: _PendingText | None = None
        try:
            # One chunk of look-ahead: the blocks of chunk i+1 inflate in the pool while
            # chunk i is decoded here and scored by the caller (two chunks' text at most).
            starts = list(range(0, len(records), chunk_size))
            for number, begin in enumerate(starts):
                stop = min(len(records), begin + chunk_size)
                rows, want = where[begin:stop], alleles[begin:stop]
                current = ahead if ahead is not None else self._start_text(rows, pool)
                ahead = None
                if number + 1 < len(starts):
                    following = starts[number + 1]
                    ahead = self._start_text(
                        where[following : min(len(records), following + chunk_size)], pool
                    )
                chunk = self._read_chunk(rows, want, begin, current)
                current.close()
                current = None  # its text buffer is freed before the next chunk is read
                yield chunk
        finally:
            for job in (current, ahead):
                if job is not None:
                    job.close()
            pool.shutdown(wait=True)

    def _start_text(self, rows: np.ndarray, pool: ThreadPoolExecutor) -> _PendingText:
        """Start inflating the blocks of the rows of a chunk that need the text again."""
        listed = self._listed
        assert listed is not None
        rest = rows[(listed.packed_row[rows] < 0) & (listed.allele_row[rows] < 0)]
        pending = _PendingText()
        if not len(rest):
            return pending
        # Requests are sorted by record (np.unique's hash path is slow on these sizes).
        unique_rows = _sorted_unique(rest)
        files = listed.file[unique_rows]
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(files)) + 1, [len(files)]])
        try:
            for begin, end in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
                file_index = int(files[begin])
                in_file = unique_rows[begin:end]
                pending.files.append(
                    (file_index, in_file, self._inflate_lines(file_index, in_file, pool))
                )
        except BaseException:
            pending.close()  # jobs already started for earlier files: wait, close their files
            raise
        return pending

    def _read_chunk(
        self, rows: np.ndarray, want: np.ndarray, begin: int, text: _PendingText
    ) -> DosageChunk:
        listed = self._listed
        assert listed is not None
        k = len(rows)
        # Every row is written below (packed, allele store or text).
        dosage = np.empty((k, self._n))
        ploidy = np.empty((k, self._n), dtype=np.int8)
        packed = listed.packed_row[rows]
        cached = listed.allele_row[rows]
        in_packed = np.flatnonzero(packed >= 0)
        if len(in_packed):
            kt.packed_dosages(
                self._packed,
                packed[in_packed],
                want[in_packed],
                self._n,
                dosage,
                ploidy,
                in_packed.astype(np.int64),
            )
        in_alleles = np.flatnonzero((packed < 0) & (cached >= 0))
        if len(in_alleles):
            sub_d = np.empty((len(in_alleles), self._n))
            sub_p = np.empty((len(in_alleles), self._n), dtype=np.int8)
            error = np.zeros(3, dtype=np.int64)
            kt.gt_dosages(
                self._alleles,
                cached[in_alleles],
                want[in_alleles],
                listed.n_alleles[rows[in_alleles]].astype(np.int64),
                HALF_CALL_POLICIES[self.half_call],
                HAPLOID_POLICIES[self.haploid],
                sub_d,
                sub_p,
                error,
            )
            if error[0] != kt.DOSAGE_OK:
                self._checked_record(int(rows[in_alleles[error[1]]]), [0])  # raises
            dosage[in_alleles] = sub_d
            ploidy[in_alleles] = sub_p
        rest = np.flatnonzero((packed < 0) & (cached < 0))
        if len(rest):
            self._read_text(rows[rest], want[rest], rest, dosage, ploidy, text)
        return DosageChunk(np.arange(begin, begin + k, dtype=np.int64), dosage, ploidy)

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
            self._decode_rows(
                buf, lines, fields, in_file, rows[mine], want[mine], out_rows[mine], dosage, ploidy
            )

    def _inflate_lines(
        self, file_index: int, rows: np.ndarray, pool: ThreadPoolExecutor
    ) -> _StartedInflate:
        """Start inflating the blocks holding listed records ``rows`` of one file.

        ``.result()`` of the returned job waits, then gives the text buffer and each
        record's line start in it.
        """
        listed = self._listed
        assert listed is not None
        coffset, csize, usize, ustart = self._blocks[file_index]
        t0 = listed.text_start[rows]
        t1 = listed.text_end[rows]
        b0 = np.searchsorted(ustart, t0, side="right") - 1
        b1 = np.searchsorted(ustart, np.maximum(t1 - 1, t0), side="right") - 1
        need = np.zeros(len(coffset), dtype=bool)
        for a, b in zip(b0.tolist(), b1.tolist(), strict=True):
            need[a : b + 1] = True
        blocks = np.flatnonzero(need)
        out_start = np.zeros(len(blocks) + 1, dtype=np.int64)
        np.cumsum(usize[blocks], out=out_start[1:])
        buf = np.empty(((int(out_start[-1]) + 7) & ~7) + 8, dtype=np.uint8)
        path = self.paths[file_index]
        fd = os.open(path, os.O_RDONLY)
        jobs = []
        try:
            step = 32
            for g in range(0, len(blocks), step):
                group = blocks[g : g + step]
                lo = int(coffset[group[0]])
                hi = int(coffset[group[-1]] + csize[group[-1]])
                jobs.append(
                    pool.submit(
                        _inflate_group,
                        path,
                        fd,
                        lo,
                        hi,
                        coffset[group],
                        csize[group],
                        usize[group],
                        buf,
                        int(out_start[g]),
                    )
                )
        except BaseException:
            for job in jobs:
                job.cancel()
            for job in jobs:
                if not job.cancelled():
                    job.exception()
            os.close(fd)
            raise
        # Text offset -> buffer offset through the block each line starts in.
        block_rank = np.searchsorted(blocks, b0)
        starts = out_start[block_rank] + (t0 - ustart[b0])
        return _StartedInflate(jobs, fd, buf, starts)

    def _parse_gt_and_field(
        self,
        buf: np.ndarray,
        lines: np.ndarray,
        fields: np.ndarray,
        local: np.ndarray,
        alleles: np.ndarray,
        flags: np.ndarray,
        values: np.ndarray,
        counts: np.ndarray,
        vflags: np.ndarray,
    ) -> None:
        """GT and the DS/GP field of records ``local``: one walk over each sample column
        (``GT`` first in FORMAT, the usual layout), the two kernels for any other layout."""
        key = (ord("D"), ord("S")) if self.dosage_field == "DS" else (ord("G"), ord("P"))
        fused = np.zeros(len(local), dtype=np.bool_)

        def part(a: int, b: int) -> None:
            kt.parse_gt_and_float_field(
                buf,
                lines,
                fields,
                local[a:b],
                self._sample_out,
                key[0],
                key[1],
                alleles[a:b],
                flags[a:b],
                values[a:b],
                counts[a:b],
                vflags[a:b],
                fused[a:b],
            )

        # Two threads, each on half of the records (the kernel releases the GIL; the
        # halves write disjoint rows of the outputs).
        half = len(local) // 2
        if half >= 16:
            with ThreadPoolExecutor(1, thread_name_prefix="prs-parse") as helper:
                job = helper.submit(part, half, len(local))
                part(0, half)
                job.result()
        else:
            part(0, len(local))
        rest = np.flatnonzero(~fused)
        if not len(rest):
            return
        sub_alleles = np.empty((len(rest), *alleles.shape[1:]), dtype=alleles.dtype)
        sub_flags = np.zeros(len(rest), dtype=np.int8)
        sub_values = np.full((len(rest), *values.shape[1:]), np.nan)
        sub_counts = np.zeros((len(rest), counts.shape[1]), dtype=counts.dtype)
        sub_vflags = np.zeros(len(rest), dtype=np.int8)
        rows = local[rest]
        kt.parse_gt_alleles(buf, lines, fields, rows, self._sample_out, sub_alleles, sub_flags)
        kt.parse_float_field(
            buf,
            lines,
            fields,
            rows,
            self._sample_out,
            key[0],
            key[1],
            sub_values,
            sub_counts,
            sub_vflags,
        )
        alleles[rest] = sub_alleles
        flags[rest] = sub_flags
        values[rest] = sub_values
        counts[rest] = sub_counts
        vflags[rest] = sub_vflags

    def _decode_rows(
        self,
        buf: np.ndarray,
        lines: np.ndarray,
        fields: np.ndarray,
        listed_rows: np.ndarray,
        rows: np.ndarray,
        want: np.ndarray,
        out_rows: np.ndarray,
        dosage: np.ndarray,
        ploidy: np.ndarray,
    ) -> None:
        """Decode records (their text at ``lines``) for the requests that name them."""
        listed = self._listed
        assert listed is not None
        local = np.arange(len(listed_rows), dtype=np.int64)
        alleles = np.empty((len(listed_rows), self._n, 2), dtype=np.int8)
        flags = np.zeros(len(listed_rows), dtype=np.int8)
        field = self.dosage_field
        if field == "GT":
            values = np.zeros((1, 1, 1))
            counts = np.zeros((1, 1), dtype=np.int8)
            vflags = np.zeros(1, dtype=np.int8)
            if self._n:
                kt.parse_gt_alleles(buf, lines, fields, local, self._sample_out, alleles, flags)
        else:
            width = 3 if field == "GP" else int(listed.n_alleles[listed_rows].max())
            values = np.full((len(listed_rows), self._n, width), np.nan)
            counts = np.zeros((len(listed_rows), self._n), dtype=np.int8)
            vflags = np.zeros(len(listed_rows), dtype=np.int8)
            if self._n:
                self._parse_gt_and_field(
                    buf, lines, fields, local, alleles, flags, values, counts, vflags
                )
            # A DS/GP field the header does not declare as Float: htslib reads it as text,
            # so the checked path names the error (records that have the field only).
            undeclared = [
                k for k, header in enumerate(self.headers) if field not in header.float_formats
            ]
            if undeclared:
                has_field = vflags != kt.REC_NO_FIELD
                vflags[np.isin(listed.file[listed_rows], undeclared) & has_field] = kt.REC_FALLBACK
        request_of = np.searchsorted(listed_rows, rows).astype(np.int64)
        if field == "GT" and bool((flags == kt.REC_OK).all()):
            # Common case: one kernel call for every request, scattered afterwards.
            sub_d = np.empty((len(rows), self._n))
            sub_p = np.empty((len(rows), self._n), dtype=np.int8)
            error = np.zeros(3, dtype=np.int64)
            kt.gt_dosages(
                alleles,
                request_of,
                want.astype(np.int64),
                listed.n_alleles[rows].astype(np.int64),
                HALF_CALL_POLICIES[self.half_call],
                HAPLOID_POLICIES[self.haploid],
                sub_d,
                sub_p,
                error,
            )
            if error[0] == kt.DOSAGE_OK:
                dosage[out_rows] = sub_d
                ploidy[out_rows] = sub_p
                return
        status = np.zeros(len(rows), dtype=np.int8)
        kt.decode_requests(
            alleles,
            flags,
            values,
            counts,
            vflags,
            DOSAGE_FIELDS.index(field),
            request_of,
            want.astype(np.int64),
            listed.n_alleles[rows].astype(np.int64),
            HALF_CALL_POLICIES[self.half_call],
            HAPLOID_POLICIES[self.haploid],
            dosage,
            ploidy,
            out_rows.astype(np.int64),
            status,
        )
        self.fallback_to_gt += len(np.unique(rows[status == 2]))
        checked = np.flatnonzero(status == 1)
        for row in np.unique(rows[checked]).tolist():
            mine = checked[rows[checked] == row]
            self._checked_into(row, want[mine], out_rows[mine], dosage, ploidy)

    # -- the checked path, one record at a time ---------------------------------------------
    def _record_line(self, row: int) -> bytes:
        listed = self._listed
        assert listed is not None
        file_index = int(listed.file[row])
        with ThreadPoolExecutor(1) as pool:
            buf, starts = self._inflate_lines(file_index, np.array([row]), pool).result()
        length = int(listed.text_end[row] - listed.text_start[row])
        return buf[int(starts[0]) : int(starts[0]) + length].tobytes()

    def _header_bytes(self, file_index: int) -> bytes:
        if file_index not in self._header_text:
            from isal import igzip

            lines = []
            with igzip.open(self.paths[file_index], "rb") as fh:
                for line in fh:
                    if not line.startswith(b"#"):
                        break
                    lines.append(line)
                    if line.startswith(b"#CHROM"):
                        break
            self._header_text[file_index] = b"".join(lines)
        return self._header_text[file_index]

    def _checked_record(self, row: int, wants: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Decode one listed record with the checked path (its errors, its numbers)."""
        listed = self._listed
        assert listed is not None
        file_index = int(listed.file[row])
        header = self._header_bytes(file_index)
        line = self._record_line(row)
        chrom = line.split(b"\t", 1)[0]
        if chrom.decode(errors="replace") not in self.headers[file_index].contigs:
            # htslib can crash on a bad record of an undeclared contig: declare it.
            at = header.rfind(b"#CHROM")
            header = header[:at] + b"##contig=<ID=" + chrom + b">\n" + header[at:]
        header_lines = header.count(b"\n")
        with tempfile.TemporaryDirectory(prefix="prs-fastvcf-") as tmp:
            mini = Path(tmp) / "record.vcf"
            mini.write_bytes(header + line + b"\n")
            source = VcfSource(
                mini,
                samples=self._samples_arg,
                dosage=self.dosage_field,
                half_call=self.half_call,
                haploid=self.haploid,
            )
            try:
                source.sites()
                chunks = list(
                    source.read(
                        np.zeros(len(wants), dtype=np.int64), np.asarray(wants, dtype=np.int64)
                    )
                )
            except GenotypeFileError as exc:
                message = (
                    str(exc)
                    .replace(
                        f"{mini} line {header_lines + 1}",
                        f"{self.paths[file_index]} line {int(listed.lineno[row])}",
                    )
                    .replace(str(mini), self.paths[file_index])
                )
                raise GenotypeFileError(message) from None
            self.fallback_to_gt += source.fallback_to_gt
        dosage = np.vstack([c.dosage for c in chunks])
        ploidy = np.vstack([c.ploidy for c in chunks])
        return dosage, ploidy

    def _checked_into(
        self,
        row: int,
        wants: np.ndarray,
        targets: np.ndarray,
        dosage: np.ndarray,
        ploidy: np.ndarray,
    ) -> None:
        d, p = self._checked_record(row, wants.tolist())
        dosage[targets] = d
        ploidy[targets] = p


class _StartedInflate:
    """Inflate jobs of one file's blocks in flight; the file descriptor closes when done."""

    def __init__(self, jobs: list, fd: int, buf: np.ndarray, starts: np.ndarray) -> None:
        self.jobs, self.fd, self.buf, self.starts = jobs, fd, buf, starts

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        buf, starts = self.buf, self.starts
        try:
            for job in self.jobs:
                job.result()
        finally:
            self.close()
        return buf, starts

    def close(self) -> None:
        """Wait for (or cancel) the jobs and close the file: safe to call twice."""
        if self.fd < 0:
            return
        for job in self.jobs:
            job.cancel()
        for job in self.jobs:
            if not job.cancelled():
                job.exception()  # waits; an error is raised by result() if anyone asks
        os.close(self.fd)
        self.fd = -1
        self.buf = np.empty(0, dtype=np.uint8)  # the text is not needed any more


class _PendingText:
    """The text reads of one chunk: (file index, listed rows, started inflate) per file."""

    def __init__(self) -> None:
        self.files: list[tuple[int, np.ndarray, _StartedInflate]] = []

    def close(self) -> None:
        for _, _, started in self.files:
            started.close()
        self.files = []


def _inflate_group(
    path: str,
    fd: int,
    lo: int,
    hi: int,
    coffset: np.ndarray,
    csize: np.ndarray,
    usize: np.ndarray,
    out: np.ndarray,
    out_offset: int,
) -> None:
    data = os.pread(fd, hi - lo, lo)
    bgzf.inflate_blocks(
        path, data, coffset.tolist(), csize.tolist(), usize.tolist(), lo, out, out_offset
    )


class _ScanState:
    """Chromosome spellings and the wanted-position table the scan kernel consults."""

    def __init__(self, chrom_ids: dict[str, int], wanted: list[np.ndarray], want_all: bool):
        self.chrom_ids = dict(chrom_ids)
        self.want_all = want_all
        self._wanted = list(wanted)
        self.raw: list[bytes] = []
        self.raw_chrom: list[int] = []
        self._rebuild()

    def _rebuild(self) -> None:
        n_ids = max(len(self.chrom_ids), 1)
        lists = self._wanted + [np.empty(0, dtype=np.int64)] * (n_ids - len(self._wanted))
        self.wanted_offsets = np.zeros(n_ids + 1, dtype=np.int64)
        np.cumsum([len(x) for x in lists], out=self.wanted_offsets[1:])
        self.wanted_positions = (
            np.concatenate(lists) if lists else np.empty(0, dtype=np.int64)
        ).astype(np.int64)
        joined = b"".join(self.raw)
        self.names = np.frombuffer(joined or b"\x00", dtype=np.uint8).copy()
        self.name_offsets = np.zeros(len(self.raw) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in self.raw], out=self.name_offsets[1:])
        self.name_chrom = np.asarray(self.raw_chrom or [0], dtype=np.int64)
        self.name_valid = np.asarray(
            [valid_contig_name(raw) for raw in self.raw] or [1], dtype=np.uint8
        )

    def add_name(self, raw: bytes) -> None:
        if raw in self.raw:
            return
        chrom = normalize_chrom(raw.decode(errors="replace"))
        if chrom not in self.chrom_ids:
            self.chrom_ids[chrom] = len(self.chrom_ids)
        self.raw.append(raw)
        self.raw_chrom.append(self.chrom_ids[chrom])
        self._rebuild()


class _RegionError(Exception):
    """A malformed record met by an indexed (region) read."""


class _FileScan:
    """One file's sites pass: yields (text buffer, listed records in it) per chunk."""

    def __init__(
        self,
        path: str,
        file_index: int,
        state: _ScanState,
        n_columns: int,
        record: int,
        threads: int | None,
        pack_samples: int = 0,
        region: tuple[int, ...] | None = None,
    ) -> None:
        # region: (compressed start, skip in the first block, text offset of that block,
        # stop chromosome id, stop position): read from a virtual offset until a record
        # lies beyond the stop position (tabix reads).
        self.region = region
        self.stopped_at = -1  # text offset of the record that ended a region read
        self.pack_samples = pack_samples
        self.path = path
        self.file_index = file_index
        self.state = state
        self.n_columns = n_columns
        self.record = record
        self.lineno = 0
        self.zero_pos = 0  # records at POS 0: checked, numbered, not listed
        self.hash_lines = 0  # lines starting with '#' (header lines, repeated or not)
        self.threads = threads
        self._coffset: list[np.ndarray] = []
        self._csize: list[np.ndarray] = []
        self._usize: list[np.ndarray] = []

    def block_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        coffset = np.concatenate(self._coffset) if self._coffset else np.empty(0, np.int64)
        csize = np.concatenate(self._csize) if self._csize else np.empty(0, np.int64)
        usize = np.concatenate(self._usize) if self._usize else np.empty(0, np.int64)
        ustart = np.zeros(len(usize) + 1, dtype=np.int64)
        np.cumsum(usize, out=ustart[1:])
        return coffset, csize, usize, ustart

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray] | None]]:
        carry = np.empty(0, dtype=np.uint8)
        carry_offset = 0  # text offset of carry[0]
        if self.region is None:
            reader = bgzf.BgzfReader(self.path, threads=self.threads)
            skip = 0
        else:
            start, skip, text_offset = self.region[:3]
            reader = bgzf.BgzfReader(
                self.path,
                threads=0,
                chunk_size=1 << 17,
                start=start,
                text_offset=text_offset,
            )
            carry_offset = text_offset + skip
        for chunk in reader:
            self._coffset.append(chunk.blocks.coffset)
            self._csize.append(chunk.blocks.csize)
            self._usize.append(chunk.blocks.usize)
            buf = chunk.buffer
            if skip:  # a region read starts inside its first block
                buf = buf[skip:]
                chunk = bgzf.TextChunk(
                    buf, chunk.text_offset + skip, chunk.blocks, chunk.size - skip
                )
                skip = 0
            begin = bgzf.CARRY_ROOM - len(carry)
            if begin < 0:  # a line longer than the room in front: join the slow way
                joined = np.empty(((len(carry) + chunk.size + 7) & ~7) + 8, dtype=np.uint8)
                joined[: len(carry)] = carry
                joined[len(carry) : len(carry) + chunk.size] = buf[bgzf.CARRY_ROOM :][: chunk.size]
                buf, begin, end = joined, 0, len(carry) + chunk.size
            else:
                buf[begin : bgzf.CARRY_ROOM] = carry
                end = bgzf.CARRY_ROOM + chunk.size
            base = carry_offset - begin  # text offset of buf[0]
            stop, listed = self._scan(buf, begin, end, base, final=False)
            carry = buf[stop:end].copy()
            carry_offset = base + stop
            yield buf, listed
            if self.stopped_at >= 0:
                return
        if len(carry):
            buf = np.zeros(((len(carry) + 7) & ~7) + 8, dtype=np.uint8)
            buf[: len(carry)] = carry
            stop, listed = self._scan(buf, 0, len(carry), carry_offset, final=True)
            yield buf, listed

    def _scan(
        self, buf: np.ndarray, begin: int, end: int, base: int, final: bool
    ) -> tuple[int, dict[str, np.ndarray] | None]:
        state = self.state
        if buf.ctypes.data % 8 or len(buf) % 8:
            aligned = np.zeros(((len(buf) + 7) & ~7) + 8, dtype=np.uint8)
            aligned[: len(buf)] = buf
            buf = aligned
        words = buf.view(np.uint64)
        w0, w1, w2, w3 = (
            np.frombuffer(buf, dtype=np.uint32, count=(len(buf) - k) // 4, offset=k)
            for k in range(4)
        )
        cap = _LISTED_CAPACITY if self.region is None else 256
        out_packed = np.empty(
            (cap if self.pack_samples else 1, (self.pack_samples + 3) // 4), dtype=np.uint8
        )
        out_simple = np.zeros(cap, dtype=np.bool_)
        out_line = np.empty((cap, 2), dtype=np.int64)
        out_fields = np.empty((cap, 5), dtype=np.int64)
        out_pos = np.empty(cap, dtype=np.int64)
        out_chrom = np.empty(cap, dtype=np.int64)
        out_record = np.empty(cap, dtype=np.int64)
        out_lineno = np.empty(cap, dtype=np.int64)
        counters = np.zeros(8, dtype=np.int64)
        counters[0] = self.record
        counters[1] = self.lineno
        counters[7] = self.hash_lines
        p = begin
        parts: list[dict[str, np.ndarray]] = []
        while True:
            p = kt.scan_records(
                buf,
                words,
                w0,
                w1,
                w2,
                w3,
                p,
                end,
                final,
                state.names,
                state.name_offsets,
                state.name_chrom,
                state.name_valid,
                state.wanted_offsets,
                state.wanted_positions,
                state.want_all,
                self.n_columns,
                self.pack_samples,
                -1 if self.region is None else self.region[3],
                0 if self.region is None else self.region[4],
                out_line,
                out_fields,
                out_pos,
                out_chrom,
                out_record,
                out_lineno,
                out_packed,
                out_simple,
                counters,
            )
            status = int(counters[3])
            if status == kt.SCAN_NEW_CHROM:
                at = int(counters[4])
                tab = at
                while buf[tab] != 9:
                    tab += 1
                state.add_name(buf[at:tab].tobytes())
                continue
            if status >= kt.ERR_BLANK:
                self._raise(buf, int(counters[4]), int(counters[1]) + 1, status, int(counters[5]))
            n = int(counters[2])
            if n:
                part = _listed_dict(
                    out_line[:n],
                    out_fields[:n],
                    out_pos[:n],
                    out_chrom[:n],
                    out_record[:n],
                    out_lineno[:n],
                    self.file_index,
                    base,
                )
                part["simple"] = out_simple[:n].copy()
                part["packed"] = (
                    out_packed[:n].copy() if self.pack_samples else np.empty((n, 0), dtype=np.uint8)
                )
                parts.append(part)
                counters[2] = 0
            if status == kt.SCAN_FULL:
                continue
            if status == kt.SCAN_STOP:
                self.stopped_at = base + int(counters[4])
            break
        self.record = int(counters[0])
        self.lineno = int(counters[1])
        self.zero_pos += int(counters[6])
        self.hash_lines = int(counters[7])
        if not parts:
            return p, None
        if len(parts) == 1:
            return p, parts[0]
        return p, {key: np.concatenate([x[key] for x in parts]) for key in parts[0]}

    def _raise(self, buf: np.ndarray, at: int, lineno: int, status: int, detail: int) -> None:
        if self.region is not None:
            raise _RegionError  # (line numbers unknown here: the caller reads sequentially)
        end = at
        while end < len(buf) and buf[end] != 10:
            end += 1
        text = buf[at:end].tobytes().rstrip(b"\r\n")
        where = f"{self.path} line {lineno}"
        fields = text.split(b"\t", 8)
        if status == kt.ERR_BLANK:
            raise GenotypeFileError(f"{where}: blank line inside the records")
        if status == kt.ERR_FEW_COLUMNS:
            raise GenotypeFileError(
                f"{where}: {len(fields)} tab-separated columns, a VCF record needs at least 8"
            )
        if status == kt.ERR_EMPTY_CHROM:
            raise GenotypeFileError(f"{where}: empty CHROM")
        if status == kt.ERR_BAD_POS:
            raise GenotypeFileError(pos_message(where, fields[1]))
        if status == kt.ERR_BAD_CHROM:
            raise GenotypeFileError(bad_chrom_message(where, fields[0]))
        chrom = normalize_chrom(fields[0].decode(errors="replace"))
        pos = int(fields[1])
        if status == kt.ERR_COLUMN_COUNT:
            n_samples = self.n_columns - 9
            found = text.count(b"\t") + 1
            raise GenotypeFileError(
                f"{where} ({chrom}:{pos}): {found} columns, expected "
                f"{self.n_columns} (9 fixed + {n_samples} samples)"
            )
        raise GenotypeFileError(f"{where} ({chrom}:{pos}): empty REF")


def _listed_dict(
    line: np.ndarray,
    fields: np.ndarray,
    pos: np.ndarray,
    chrom: np.ndarray,
    record: np.ndarray,
    lineno: np.ndarray,
    file_index: int,
    base: int,
) -> dict[str, np.ndarray]:
    rel = fields[:, :3] - line[:, :1]
    rel[fields[:, :3] < 0] = -1
    return {
        "line": line.copy(),
        "fields": fields.copy(),
        "rel_fields": rel,
        "pos": pos.copy(),
        "chrom": chrom.copy(),
        "record": record.copy(),
        "lineno": lineno.copy(),
        "file": np.full(len(pos), file_index, dtype=np.int32),
        "text_start": line[:, 0] + base,
        "text_end": line[:, 1] + base,
        "n_alleles": fields[:, 4].astype(np.int16),
    }


def _concat_listed(pieces: list[dict[str, np.ndarray]]) -> _Listed:
    def cat(key: str, dtype: type, shape: tuple[int, ...] = ()) -> np.ndarray:
        if not pieces:
            return np.empty((0, *shape), dtype=dtype)
        return np.concatenate([p[key] for p in pieces]).astype(dtype, copy=False)

    return _Listed(
        record=cat("record", np.int64),
        file=cat("file", np.int32),
        pos=cat("pos", np.int64),
        lineno=cat("lineno", np.int64),
        text_start=cat("text_start", np.int64),
        text_end=cat("text_end", np.int64),
        fields=cat("rel_fields", np.int64, (3,)),
        n_alleles=cat("n_alleles", np.int16),
        packed_row=cat("packed_row", np.int64),
        allele_row=cat("allele_row", np.int64),
    )


def _number_lines(
    path: str, starts: np.ndarray | None, threads: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """0-based record numbers and 1-based line numbers of the lines at text offsets
    ``starts`` (increasing), and the file's record count: one pass over the file's text
    (threaded inflate, newlines found eight bytes at a time; nothing is parsed)."""
    queries = np.empty(0, dtype=np.int64) if starts is None else starts.astype(np.int64)
    order = np.argsort(queries, kind="stable")
    sorted_queries = queries[order]
    out_record = np.full(len(queries), -1, dtype=np.int64)
    out_line = np.full(len(queries), -1, dtype=np.int64)
    state = np.array([0, 0, 0, 1], dtype=np.int64)
    for chunk in bgzf.BgzfReader(path, threads=threads):
        buf = chunk.buffer
        words = buf[: len(buf) & ~7].view(np.uint64)
        begin = bgzf.CARRY_ROOM
        kt.number_lines(
            buf,
            words,
            begin,
            begin + chunk.size,
            chunk.text_offset - begin,
            sorted_queries,
            out_record,
            out_line,
            state,
        )
    if (out_record < 0).any():
        raise AssertionError(f"{path}: an indexed read listed a record not at a line start")
    records = np.empty_like(out_record)
    lines = np.empty_like(out_line)
    records[order] = out_record
    lines[order] = out_line
    return records, lines, int(state[0])


def _text_range(
    path: str, fd: int, table: bgzf.BlockRun, ustart: np.ndarray, lo: int, hi: int
) -> bytes:
    """The file's text bytes ``[lo, hi)``, inflated from the blocks that hold them."""
    if hi <= lo:
        return b""
    b0 = int(np.searchsorted(ustart, lo, side="right")) - 1
    b1 = int(np.searchsorted(ustart, hi - 1, side="right")) - 1
    c0 = int(table.coffset[b0])
    c1 = int(table.coffset[b1] + table.csize[b1])
    data = os.pread(fd, c1 - c0, c0)
    sizes = table.usize[b0 : b1 + 1]
    out = np.empty(((int(sizes.sum()) + 7) & ~7) + 8, dtype=np.uint8)
    bgzf.inflate_blocks(
        path,
        data,
        table.coffset[b0 : b1 + 1].tolist(),
        table.csize[b0 : b1 + 1].tolist(),
        sizes.tolist(),
        c0,
        out,
        0,
    )
    skip = lo - int(ustart[b0])
    return out[skip : skip + hi - lo].tobytes()


def _site_strings(
    data: np.ndarray, n_alt: np.ndarray, rows_per: np.ndarray
) -> tuple[pa.Array, pa.Array, pa.Array] | None:
    """ID, REF (upper case) and one ALT per row (upper case) from ``ID\tREF\tALT\n`` per
    record, as Arrow strings built from the bytes: no Python object per record.

    ALT rows: the ALT field of a biallelic record, each allele of a multi-allelic one, ""
    for a record without ALT. None for bytes outside ASCII (Python decodes those).
    """
    k = len(n_alt)
    if (data >= 0x80).any():
        return None  # non-ASCII: Python's str.upper (the checked path's) differs from Arrow's
    sep = np.flatnonzero((data == 9) | (data == 10))
    if len(sep) != 3 * k:
        raise AssertionError(f"site fields: {len(sep)} separators for {k} records")
    starts = np.empty(3 * k, dtype=np.int64)
    starts[:1] = 0
    starts[1:] = sep[:-1] + 1
    keep = np.ones(len(data), dtype=bool)
    keep[sep] = False
    text = data[keep]
    offsets = np.zeros(3 * k + 1, dtype=np.int64)
    np.cumsum(sep - starts, out=offsets[1:])
    large = offsets[-1] >= 2**31 - 1
    kind = pa.large_string() if large else pa.string()
    offsets = offsets if large else offsets.astype(np.int32)
    fields = pa.Array.from_buffers(kind, 3 * k, [None, pa.py_buffer(offsets), pa.py_buffer(text)])
    try:
        fields.validate(full=True)
    except pa.ArrowInvalid:
        return None
    ids = fields.take(np.arange(0, 3 * k, 3))
    refs = pc.utf8_upper(fields.take(np.arange(1, 3 * k, 3)))
    alts = pc.utf8_upper(fields.take(np.arange(2, 3 * k, 3)))
    if np.all(n_alt == 1):
        return ids, refs, alts
    alt_rows = pc.list_flatten(pc.split_pattern(alts, ","))
    if len(alt_rows) != int(rows_per.sum()):
        raise AssertionError("ALT alleles disagree with the scanned allele counts")
    no_alt = np.repeat(n_alt == 0, rows_per)
    if no_alt.any():
        alt_rows = pc.if_else(pa.array(no_alt), pa.scalar("", alt_rows.type), alt_rows)
    return ids, refs, alt_rows


def _site_strings_python(data: np.ndarray, n_alt: np.ndarray) -> tuple[pa.Array, ...]:
    """:func:`_site_strings` for bytes that are not UTF-8 (replacement characters)."""
    text = data.tobytes()[:-1].decode(errors="replace")
    parts = text.replace("\n", "\t").split("\t")
    alt_rows: list[str] = []
    for m, alt in zip(n_alt.tolist(), parts[2::3], strict=True):
        alt_rows.extend(alt.upper().split(",") if m > 1 else [alt.upper() if m == 1 else ""])
    return (
        pa.array(parts[0::3], type=pa.string()),
        pa.array([r.upper() for r in parts[1::3]], type=pa.string()),
        pa.array(alt_rows, type=pa.string()),
    )
