"""The sites pass of the fast VCF path: one file's text through the scan kernel.

:class:`FileScan` streams a file's text (a whole file, or one tabix window of it) through
:func:`prs.kernels.scan.scan_records`, which checks every record's fixed columns as the
checked path does and lists the records at wanted positions (:class:`ScanState` holds the
chromosome spellings and the wanted-position table the kernel consults). A malformed record
is raised with the checked path's message (:func:`scan_error`); in a window read it is a
:class:`RegionError` (line numbers unknown there: the caller reads the file sequentially).
:func:`number_lines` numbers the records of a window read as a sequential read does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from prs.errors import GenotypeFileError
from prs.genome import normalize_chrom
from prs.genotypes import bgzf
from prs.genotypes.vcf_header import bad_chrom_message, pos_message, valid_contig_name
from prs.kernels import scan as ks

#: Records listed per kernel call before it returns to have its output collected.
LISTED_CAPACITY = 1 << 14
#: The same for a window read (short: it stops after the window's wanted positions).
REGION_LISTED_CAPACITY = 256
#: The same when each part listed is handed on at once (``on_part``: the DS parse starts
#: on a chunk's first records while the kernel lists the rest): at least this many records,
PART_LISTED_CAPACITY = 16
#: and about this many sample columns a part (16 records of 4,000 samples): a part of a few
#: narrow records cost more in Python's hand-over than its parse (review: 4 samples x 300k
#: records 0.25 -> 1.4 s with 16 records a part).
PART_COLUMNS = 1 << 16


def part_capacity(n_columns: int) -> int:
    """Records a part holds for lines of ``n_columns`` columns (-1: not known)."""
    return min(LISTED_CAPACITY, max(PART_LISTED_CAPACITY, PART_COLUMNS // max(n_columns, 1)))


@dataclass
class Listed:
    """Records at wanted positions, as the sites pass found them (global arrays, one row
    per record, in record order)."""

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
    ds_row: np.ndarray  # int64: row in the DS store, -1 if not there
    r2: np.ndarray  # float32: INFO R2 / DR2 / INFO (NaN: none; see vcf_record.info_quality)
    imputed: np.ndarray  # bool: INFO IMPUTED or IMP flag (and not TYPED)


class ScanState:
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


class RegionError(Exception):
    """A malformed record met by an indexed (region) read."""


@dataclass(frozen=True)
class Region:
    """Where a window read starts and stops.

    ``start`` is the compressed offset of its first block, ``skip`` the text bytes of that
    block before the first record, ``text_offset`` the block's text offset; the read stops
    at the first record of chromosome ``stop_chrom`` beyond ``stop_pos`` (or of another
    chromosome).
    """

    start: int
    skip: int
    text_offset: int
    stop_chrom: int
    stop_pos: int


class _Outputs:
    """The scan kernel's output arrays for up to ``capacity`` listed records."""

    def __init__(self, capacity: int, pack_samples: int) -> None:
        self.packed = np.empty(
            (capacity if pack_samples else 1, (pack_samples + 3) // 4), dtype=np.uint8
        )
        self.simple = np.zeros(capacity, dtype=np.bool_)
        self.line = np.empty((capacity, 2), dtype=np.int64)
        self.fields = np.empty((capacity, 5), dtype=np.int64)
        self.pos = np.empty(capacity, dtype=np.int64)
        self.chrom = np.empty(capacity, dtype=np.int64)
        self.record = np.empty(capacity, dtype=np.int64)
        self.lineno = np.empty(capacity, dtype=np.int64)


class FileScan:
    """One file's sites pass: yields (text buffer, listed records in it) per chunk.

    Parameters
    ----------
    path, file_index
        The file and its number in the source.
    state
        Chromosome spellings and wanted positions (shared by the source's files).
    n_columns
        Columns every record must have (9 + samples), or -1.
    record
        Global number of the file's first record.
    threads
        Inflating threads.
    pack_samples
        Samples whose calls the kernel packs (2 bits each) for simple records; 0: none.
    region
        A window read (:class:`Region`), or None to read the whole file.
    on_part
        Called with ``(text buffer, part)`` for each part of a chunk's listed records as
        the kernel lists them (:func:`part_capacity` records a part, in
        order; the chunk's listed records are then these parts joined). The buffer is
        yielded with the chunk afterwards and stays valid until the next chunk is asked
        for.
    """

    def __init__(
        self,
        path: str,
        file_index: int,
        state: ScanState,
        n_columns: int,
        record: int,
        threads: int | None,
        pack_samples: int = 0,
        region: Region | None = None,
        on_part: Callable[[np.ndarray, dict[str, np.ndarray]], None] | None = None,
    ) -> None:
        self.region = region
        self.on_part = on_part
        self.stopped_at = -1  # text offset of the record that ended a region read
        self.compressed_end = 0  # compressed offset after the last block read so far
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
        self._runs: list[bgzf.BlockRun] = []

    def block_table(self) -> bgzf.BlockTable:
        """The blocks read so far (the whole file's after a whole-file read)."""
        return bgzf.BlockTable.of(self._runs)

    def _reader(self) -> tuple[bgzf.BgzfReader, int, int]:
        """The text reader, the bytes to skip in its first block, and the text offset of
        the first byte kept."""
        if self.region is None:
            return bgzf.BgzfReader(self.path, threads=self.threads), 0, 0
        region = self.region
        reader = bgzf.BgzfReader(
            self.path,
            threads=0,
            chunk_size=1 << 17,
            start=region.start,
            text_offset=region.text_offset,
        )
        return reader, region.skip, region.text_offset + region.skip

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray] | None]]:
        carry = np.empty(0, dtype=np.uint8)
        reader, skip, carry_offset = self._reader()  # carry_offset: text offset of carry[0]
        for chunk in reader:
            self._runs.append(chunk.blocks)
            if len(chunk.blocks.coffset):
                self.compressed_end = int(chunk.blocks.coffset[-1] + chunk.blocks.csize[-1])
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
        """Run the scan kernel over ``buf[begin:end]`` (text offset of ``buf[0]``: ``base``)
        until it needs more text: the offset it stopped at, and the records it listed."""
        if buf.ctypes.data % 8 or len(buf) % 8:
            aligned = np.zeros(((len(buf) + 7) & ~7) + 8, dtype=np.uint8)
            aligned[: len(buf)] = buf
            buf = aligned
        views = (
            buf.view(np.uint64),
            *(
                np.frombuffer(buf, dtype=np.uint32, count=(len(buf) - k) // 4, offset=k)
                for k in range(4)
            ),
        )
        if self.region is not None:
            capacity = REGION_LISTED_CAPACITY
        else:
            capacity = LISTED_CAPACITY if self.on_part is None else part_capacity(self.n_columns)
        out = _Outputs(capacity, self.pack_samples)
        state = np.zeros(ks.STATE_SIZE, dtype=np.int64)
        state[ks.STATE_RECORDS] = self.record
        state[ks.STATE_LINES] = self.lineno
        state[ks.STATE_HASH_LINES] = self.hash_lines
        p = begin
        parts: list[dict[str, np.ndarray]] = []
        while True:
            p = self._run_kernel(buf, views, p, end, final, out, state)
            status = int(state[ks.STATE_STATUS])
            if status == ks.SCAN_NEW_CHROM:
                at = int(state[ks.STATE_OFFSET])
                tab = at
                while buf[tab] != 9:
                    tab += 1
                self.state.add_name(buf[at:tab].tobytes())
                continue
            if status >= ks.ERR_BLANK:
                if self.region is not None:
                    raise RegionError  # (line numbers unknown here: read sequentially)
                line = int(state[ks.STATE_LINES]) + 1
                offset = int(state[ks.STATE_OFFSET])
                raise GenotypeFileError(
                    scan_error(self.path, buf, offset, line, status, self.n_columns)
                )
            n = int(state[ks.STATE_LISTED])
            if n:
                parts.append(self._collect(out, n, base))
                state[ks.STATE_LISTED] = 0
                if self.on_part is not None:
                    self.on_part(buf, parts[-1])
            if status == ks.SCAN_FULL:
                continue
            if status == ks.SCAN_STOP:
                self.stopped_at = base + int(state[ks.STATE_OFFSET])
            break
        self.record = int(state[ks.STATE_RECORDS])
        self.lineno = int(state[ks.STATE_LINES])
        self.zero_pos += int(state[ks.STATE_POS_ZERO])
        self.hash_lines = int(state[ks.STATE_HASH_LINES])
        if not parts:
            return p, None
        if len(parts) == 1:
            return p, parts[0]
        return p, {key: np.concatenate([x[key] for x in parts]) for key in parts[0]}

    def _run_kernel(
        self,
        buf: np.ndarray,
        views: tuple[np.ndarray, ...],
        p: int,
        end: int,
        final: bool,
        out: _Outputs,
        state: np.ndarray,
    ) -> int:
        scan_state = self.state
        return ks.scan_records(
            buf,
            *views,
            p,
            end,
            final,
            scan_state.names,
            scan_state.name_offsets,
            scan_state.name_chrom,
            scan_state.name_valid,
            scan_state.wanted_offsets,
            scan_state.wanted_positions,
            scan_state.want_all,
            self.n_columns,
            self.pack_samples,
            -1 if self.region is None else self.region.stop_chrom,
            0 if self.region is None else self.region.stop_pos,
            out.line,
            out.fields,
            out.pos,
            out.chrom,
            out.record,
            out.lineno,
            out.packed,
            out.simple,
            state,
        )

    def _collect(self, out: _Outputs, n: int, base: int) -> dict[str, np.ndarray]:
        """Copies of the first ``n`` listed records of ``out`` (text offsets from ``base``)."""
        part = listed_arrays(
            out.line[:n],
            out.fields[:n],
            out.pos[:n],
            out.chrom[:n],
            out.record[:n],
            out.lineno[:n],
            self.file_index,
            base,
        )
        part["simple"] = out.simple[:n].copy()
        part["packed"] = (
            out.packed[:n].copy() if self.pack_samples else np.empty((n, 0), dtype=np.uint8)
        )
        return part


def scan_error(
    path: str, buf: np.ndarray, at: int, lineno: int, status: int, n_columns: int
) -> str:
    """The checked path's message for the scan kernel's error ``status`` on the line at
    ``buf[at]`` (line ``lineno`` of ``path``)."""
    end = at
    while end < len(buf) and buf[end] != 10:
        end += 1
    text = buf[at:end].tobytes().rstrip(b"\r\n")
    where = f"{path} line {lineno}"
    fields = text.split(b"\t", 8)
    if status == ks.ERR_BLANK:
        return f"{where}: blank line inside the records"
    if status == ks.ERR_FEW_COLUMNS:
        return f"{where}: {len(fields)} tab-separated columns, a VCF record needs at least 8"
    if status == ks.ERR_EMPTY_CHROM:
        return f"{where}: empty CHROM"
    if status == ks.ERR_BAD_POS:
        return pos_message(where, fields[1])
    if status == ks.ERR_BAD_CHROM:
        return bad_chrom_message(where, fields[0])
    chrom = normalize_chrom(fields[0].decode(errors="replace"))
    pos = int(fields[1])
    if status == ks.ERR_COLUMN_COUNT:
        found = text.count(b"\t") + 1
        return (
            f"{where} ({chrom}:{pos}): {found} columns, expected "
            f"{n_columns} (9 fixed + {n_columns - 9} samples)"
        )
    return f"{where} ({chrom}:{pos}): empty REF"


def listed_arrays(
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


def concat_listed(pieces: list[dict[str, np.ndarray]]) -> Listed:
    def cat(key: str, dtype: type, shape: tuple[int, ...] = ()) -> np.ndarray:
        if not pieces:
            return np.empty((0, *shape), dtype=dtype)
        return np.concatenate([p[key] for p in pieces]).astype(dtype, copy=False)

    return Listed(
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
        ds_row=cat("ds_row", np.int64),
        r2=cat("r2", np.float32),
        imputed=cat("imputed", np.bool_),
    )


def number_lines(
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
    state = np.zeros(ks.NUMBER_STATE_SIZE, dtype=np.int64)
    state[ks.NUMBER_AT_LINE_START] = 1
    for chunk in bgzf.BgzfReader(path, threads=threads):
        buf = chunk.buffer
        words = buf[: len(buf) & ~7].view(np.uint64)
        begin = bgzf.CARRY_ROOM
        ks.number_lines(
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
    return records, lines, int(state[ks.NUMBER_RECORDS])
