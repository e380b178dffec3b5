"""BGZF (blocked gzip) reading for the fast VCF path: block tables, threaded inflate, tabix.

A bgzipped VCF is a series of gzip members ("blocks") of at most 64 KiB of text each, every
one carrying its compressed size in a header field (``BC``) and its text size in its
trailer. That makes three things cheap:

* checking the file is complete: it must end with the 28-byte empty EOF block (htslib reads
  a file cut at a block boundary as a valid shorter file);
* inflating many blocks at once in threads: libdeflate (the library bgzip and htslib use,
  called through ctypes straight into the text buffer) or else ``isal`` (ISA-L) release the
  GIL while they inflate, so two cores inflate two runs of blocks at the same time;
* reading only part of a file: a tabix or CSI index (:mod:`prs.genotypes.tabix`, checked
  before use) maps genome windows to *virtual offsets* (``compressed block offset << 16 |
  offset in the block's text``).

Everything here speaks in *text offsets* (the byte offset in the whole decompressed file),
which is what the VCF kernels see; :class:`BlockTable` converts between the two, and
:func:`start_reading_lines` re-reads lines by inflating only the blocks holding them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import glob
import importlib.util
import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from isal import isal_zlib

from prs.errors import GenotypeFileError
from prs.kernels.bgzf_headers import HEADERS_NO_BSIZE, HEADERS_NOT_GZIP, scan_block_headers

#: The 28-byte empty block that ends every complete BGZF file (SAM/BAM spec, section 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

#: Bytes reserved in front of every decompressed chunk, so the reader can put the unfinished
#: last line of the previous chunk there without copying the new chunk.
CARRY_ROOM = 1 << 20


def is_bgzf(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` starts with a BGZF block header (gzip member with a ``BC`` field)."""
    with open(path, "rb") as fh:
        return is_bgzf_header(fh.read(18))


def check_eof(path: str | os.PathLike[str]) -> None:
    """Raise :class:`GenotypeFileError` unless ``path`` ends with the BGZF EOF block.

    htslib only warns about a missing EOF block and returns the records it could read, so a
    file cut short at a block boundary would silently score fewer variants.

    Parameters
    ----------
    path
        A bgzipped file.

    Raises
    ------
    GenotypeFileError
        The file is shorter than an EOF block or does not end with one (truncated).
    """
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        tail = b""
        if size >= len(BGZF_EOF):
            fh.seek(-len(BGZF_EOF), os.SEEK_END)
            tail = fh.read(len(BGZF_EOF))
    problem = eof_problem(path, size, tail)
    if problem is not None:
        raise GenotypeFileError(problem)


def eof_problem(path: str | os.PathLike[str], size: int, tail: bytes) -> str | None:
    """Why a BGZF file of ``size`` bytes ending in ``tail`` is incomplete, or None.

    Examples
    --------
    >>> eof_problem("a.vcf.gz", 1000, BGZF_EOF) is None
    True
    >>> eof_problem("a.vcf.gz", 20, b"")
    'a.vcf.gz: truncated bgzip file (shorter than one block)'
    """
    if size < len(BGZF_EOF):
        return f"{path}: truncated bgzip file (shorter than one block)"
    if tail != BGZF_EOF:
        return (
            f"{path}: truncated bgzip file: the BGZF end-of-file block is missing "
            "(the file was cut short, e.g. an interrupted copy); re-create or re-copy it"
        )
    return None


def is_bgzf_header(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) starts with a BGZF block header."""
    return (
        len(head) >= 18
        and head[:4] == b"\x1f\x8b\x08\x04"
        and head[12:14] == b"BC"
        and head[14:16] == b"\x02\x00"
    )


@dataclass(frozen=True)
class BlockRun:
    """A run of consecutive BGZF blocks: where they are and how much text they hold."""

    coffset: np.ndarray  # int64[k], compressed offset of each block
    csize: np.ndarray  # int64[k], compressed size of each block (header and trailer included)
    usize: np.ndarray  # int64[k], text bytes of each block


def _scan_blocks(
    path: str, data: bytes | memoryview, base: int, final: bool
) -> tuple[list[int], list[int], list[int], int]:
    """Block starts, sizes and text sizes of the complete blocks in ``data`` (at ``base``)."""
    view = np.frombuffer(data, dtype=np.uint8)
    capacity = len(view) // 28 + 1
    starts = np.empty(capacity, dtype=np.int64)
    sizes = np.empty(capacity, dtype=np.int64)
    usizes = np.empty(capacity, dtype=np.int64)
    count, offset, status = scan_block_headers(view, starts, sizes, usizes)
    if status == HEADERS_NOT_GZIP:
        raise GenotypeFileError(
            f"{path}: no BGZF block header at compressed offset {base + offset}; the file "
            "is not bgzipped (use bgzip, not gzip) or is corrupt"
        )
    if status == HEADERS_NO_BSIZE:
        raise GenotypeFileError(
            f"{path}: gzip member at compressed offset {base + offset} has no BGZF size "
            "field; the file is gzip, not bgzip (re-compress it with bgzip)"
        )
    n = len(view)
    if final and offset != n:
        raise GenotypeFileError(
            f"{path}: {n - offset} trailing bytes after the last complete BGZF block at "
            f"compressed offset {base + offset}; the file is truncated"
        )
    return (starts[:count] + base).tolist(), sizes[:count].tolist(), usizes[:count].tolist(), offset


class _Libdeflate:
    """libdeflate's gzip decompressor through ctypes (one decompressor per thread).

    ``libdeflate_gzip_decompress`` checks each member's CRC-32 and length and writes the
    text straight into the caller's buffer: about a third faster here than ISA-L plus the
    copy its ``bytes`` result needs. Found as the system library (Debian ``libdeflate0``,
    installed with htslib/tabix) or a copy a wheel bundles (:func:`libdeflate_candidates`:
    cyvcf2's, a dependency, has one); absent, ISA-L is used (:func:`inflater` says which).
    """

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
        lib.libdeflate_alloc_decompressor.argtypes = []
        lib.libdeflate_gzip_decompress.restype = ctypes.c_int
        lib.libdeflate_gzip_decompress.argtypes = [
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_void_p,
        ]
        self.path = path
        #: Where it was found ("system", "cyvcf2 package", ...).
        self.where = "given"
        self._lib = lib
        self._lock = threading.Lock()
        self._free: list[int] = []

    def acquire(self) -> int:
        """A decompressor for the calling thread's run of blocks; give it back with
        :meth:`release`. Handles are pooled (a few KiB each), not tied to threads, which
        come and go (one pool per read)."""
        with self._lock:
            if self._free:
                return self._free.pop()
        handle = self._lib.libdeflate_alloc_decompressor()
        if not handle:
            raise MemoryError("libdeflate_alloc_decompressor failed")
        return handle

    def release(self, handle: int) -> None:
        with self._lock:
            self._free.append(handle)

    def gzip_decompress(self, handle: int, src: int, size: int, dst: int, usize: int) -> int:
        """0 on success; 1 bad data (CRC, length), 2 short output, 3 no room."""
        return self._lib.libdeflate_gzip_decompress(handle, src, size, dst, usize, None)


#: Where a libdeflate may be, in the order tried, after the system's: the ``deflate`` package
#: (a dependency; its extension module exports libdeflate's own functions), then wheels that
#: bundle one (auditwheel puts it in ``<package>.libs/``, delocate in ``<package>/.dylibs/``;
#: cyvcf2's does). Inflate speeds measured: docs/performance.md, "Inflaters".
LIBDEFLATE_PACKAGES = ("deflate", "cyvcf2", "pysam")
LIBDEFLATE_SYSTEM_NAMES = ("libdeflate.so.0", "libdeflate.0.dylib", "libdeflate.so")


def libdeflate_candidates() -> Iterator[tuple[str, str]]:
    """``(where, path)`` of each libdeflate to try, in order; nothing is imported (wheels are
    found by their install location)."""
    for name in LIBDEFLATE_SYSTEM_NAMES:  # dlopen's own search: no ldconfig run
        yield "system", name
    found = ctypes.util.find_library("deflate")
    if found:
        yield "system", found
    for package in LIBDEFLATE_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(next(iter(spec.submodule_search_locations)))
        if package == "deflate":
            patterns = [folder / "_deflate*.so", folder / "_deflate*.pyd"]
        else:
            patterns = [
                folder.parent / f"{package}.libs" / "libdeflate*.so*",
                folder / ".dylibs" / "libdeflate*.dylib",
            ]
        for pattern in patterns:
            for path in sorted(glob.glob(str(pattern))):
                yield f"{package} package", path


def _find_libdeflate() -> _Libdeflate | None:
    if os.environ.get("PRS_INFLATE") == "isal":
        return None
    for where, path in libdeflate_candidates():
        with contextlib.suppress(OSError, AttributeError):
            found = _Libdeflate(path)
            found.where = where
            return found
    return None


#: The libdeflate binding, or None (ISA-L inflates). ``PRS_INFLATE=isal`` forces ISA-L.
LIBDEFLATE = _find_libdeflate()


def _loaded_path(name: str) -> str:
    """The file a library loaded by soname came from (Linux: /proc/self/maps), else ``name``."""
    if os.path.isabs(name):
        return name
    stem = name.split(".so")[0].split(".dylib")[0].split(".0")[0]
    with contextlib.suppress(OSError):
        with open("/proc/self/maps") as maps:
            for line in maps:
                mapped = line.rsplit(maxsplit=1)[-1]
                if os.path.basename(mapped).startswith(f"{stem}.so"):
                    return mapped
    return name


def inflater() -> dict[str, str]:
    """Which inflater the fast VCF path uses, for provenance: ``{"inflater": "libdeflate",
    "found": "system" | "<package> package", "path": ...}`` or ``{"inflater": "isal",
    "version": ...}`` (ISA-L: no libdeflate found, or ``PRS_INFLATE=isal``).

    Examples
    --------
    >>> inflater()["inflater"] in ("libdeflate", "isal")
    True
    """
    if LIBDEFLATE is not None:
        path = _loaded_path(LIBDEFLATE.path)
        return {"inflater": "libdeflate", "found": LIBDEFLATE.where, "path": path}
    import isal

    return {"inflater": "isal", "version": str(isal.__version__)}


def inflate_blocks(
    path: str,
    data: bytes | memoryview,
    starts: Sequence[int],
    sizes: Sequence[int],
    usizes: Sequence[int],
    base: int,
    out: np.ndarray,
    out_offset: int,
) -> None:
    """Inflate blocks (``data`` holds them, ``base`` its file offset) into ``out``.

    Each block is checked as a whole gzip member (CRC-32 and length); ISA-L releases the GIL
    while it works, so several threads can call this at once.
    """
    if LIBDEFLATE is not None and usizes:
        _inflate_libdeflate(path, data, starts, sizes, usizes, base, out, out_offset)
        return
    position = out_offset
    for start, size, usize in zip(starts, sizes, usizes, strict=True):
        local = start - base
        try:
            text = isal_zlib.decompress(data[local : local + size], 31, max(usize, 1))
        except isal_zlib.error as exc:
            raise GenotypeFileError(
                f"{path}: BGZF block at compressed offset {start} does not inflate ({exc}); "
                "the file is corrupt"
            ) from exc
        if len(text) != usize:
            raise GenotypeFileError(
                f"{path}: BGZF block at compressed offset {start} holds {len(text)} bytes, its "
                f"trailer says {usize}; the file is corrupt"
            )
        out[position : position + usize] = np.frombuffer(text, dtype=np.uint8)
        position += usize


def _inflate_libdeflate(
    path: str,
    data: bytes | memoryview,
    starts: Sequence[int],
    sizes: Sequence[int],
    usizes: Sequence[int],
    base: int,
    out: np.ndarray,
    out_offset: int,
) -> None:
    assert LIBDEFLATE is not None
    source = np.frombuffer(data, dtype=np.uint8)
    if out_offset + sum(usizes) > len(out) or not out.flags.c_contiguous:
        raise ValueError("inflate_blocks: output buffer too small or not contiguous")
    src = source.ctypes.data - base
    dst = out.ctypes.data + out_offset
    decompress = LIBDEFLATE.gzip_decompress
    handle = LIBDEFLATE.acquire()
    try:
        for start, size, usize in zip(starts, sizes, usizes, strict=True):
            if start - base < 0 or start - base + size > len(source):
                raise GenotypeFileError(
                    f"{path}: BGZF block at compressed offset {start} lies beyond the bytes "
                    "read; the file changed while it was read, or is corrupt"
                )
            status = decompress(handle, src + start, size, dst, usize)
            if status != 0:
                what = {
                    1: "does not inflate (bad deflate data, CRC-32 or length)",
                    2: "holds fewer bytes than its trailer says",
                    3: "holds more bytes than its trailer says",
                }.get(status, f"does not inflate (libdeflate status {status})")
                raise GenotypeFileError(
                    f"{path}: BGZF block at compressed offset {start} {what}; the file is corrupt"
                )
            dst += usize
    finally:
        LIBDEFLATE.release(handle)


@dataclass
class TextChunk:
    """Decompressed text of a run of blocks, with room in front for a carried line.

    ``buffer[CARRY_ROOM:]`` holds the text; ``text_offset`` is the offset of its first byte
    in the whole decompressed file, and ``blocks`` says which blocks it came from.
    """

    buffer: np.ndarray
    text_offset: int
    blocks: BlockRun
    size: int


class BgzfReader:
    """Stream the text of a BGZF file (or of a compressed byte range) in chunks.

    Compressed data is read in pieces, split at block boundaries into runs of about
    ``chunk_size`` text bytes, and each run is inflated by a pool of ``threads`` threads,
    at most ``threads + 1`` runs ahead of the consumer, so memory stays bounded.

    Parameters
    ----------
    path
        A bgzipped file.
    threads
        Inflating threads (default: 2, or 1 on a single-CPU machine); 0 inflates in the
        calling thread.
    chunk_size
        Target text bytes per chunk.
    start, stop
        Compressed byte range to read (block-aligned); default the whole file.
    text_offset
        Text offset of the block at ``start`` (for numbering only).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        chunk_size: int = 8 << 20,
        start: int = 0,
        stop: int | None = None,
        text_offset: int = 0,
    ) -> None:
        self.path = str(path)
        self.threads = max(1, threads if threads is not None else min(2, os.cpu_count() or 1))
        self.chunk_size = chunk_size
        self.start = start
        self.stop = os.path.getsize(self.path) if stop is None else stop
        self.text_offset = text_offset
        #: Inflate in the calling thread (short region reads: no pool to start).
        self.inline = threads == 0

    def _iter_inline(self) -> Iterator[TextChunk]:
        fd = os.open(self.path, os.O_RDONLY)
        text_offset = self.text_offset
        try:
            for data, base, starts, sizes, usizes in self._runs(fd):
                total = sum(usizes)
                out = np.empty(CARRY_ROOM + ((total + 7) & ~7), dtype=np.uint8)
                inflate_blocks(self.path, data, starts, sizes, usizes, base, out, CARRY_ROOM)
                run = BlockRun(
                    np.asarray(starts, np.int64),
                    np.asarray(sizes, np.int64),
                    np.asarray(usizes, np.int64),
                )
                yield TextChunk(out, text_offset, run, total)
                text_offset += total
        finally:
            os.close(fd)

    def _runs(self, fd: int) -> Iterator[tuple[bytes, int, list[int], list[int], list[int]]]:
        """Compressed pieces cut into block runs: (data, base, starts, sizes, usizes)."""
        position = self.start
        piece = max(1 << 16, self.chunk_size // 8)
        pending = b""
        pending_base = position
        while position < self.stop or pending:
            want = min(piece, self.stop - position)
            fresh = os.pread(fd, want, position) if want > 0 else b""
            position += len(fresh)
            data = pending + fresh if pending else fresh
            final = position >= self.stop
            starts, sizes, usizes, used = _scan_blocks(self.path, data, pending_base, final)
            if not starts and not final:
                pending = data
                piece *= 2
                continue
            begin = 0
            total = 0
            for k, usize in enumerate(usizes):
                total += usize
                if total >= self.chunk_size:
                    yield (
                        data,
                        pending_base,
                        starts[begin : k + 1],
                        sizes[begin : k + 1],
                        usizes[begin : k + 1],
                    )
                    begin = k + 1
                    total = 0
            if begin < len(starts):
                yield data, pending_base, starts[begin:], sizes[begin:], usizes[begin:]
            pending = data[used:] if used < len(data) else b""
            pending_base += used
            if final:
                break

    def __iter__(self) -> Iterator[TextChunk]:
        """Chunks in file order; a chunk's buffer is reused once the next one is asked for."""
        if self.inline:
            yield from self._iter_inline()
            return
        fd = os.open(self.path, os.O_RDONLY)
        pool = ThreadPoolExecutor(self.threads, thread_name_prefix="prs-inflate")
        queue: deque[Future[TextChunk]] = deque()
        stop_event = threading.Event()
        text_offset = self.text_offset
        # Recycled buffers: fresh pages cost a page fault (and zeroing) per 4 KiB.
        free: list[np.ndarray] = []
        free_lock = threading.Lock()

        def take(size: int) -> np.ndarray:
            with free_lock:
                for k, candidate in enumerate(free):
                    if len(candidate) >= size:
                        return free.pop(k)[:size]
            return np.empty(max(size, CARRY_ROOM + self.chunk_size + (1 << 17)), np.uint8)[:size]

        def work(
            data: bytes,
            base: int,
            starts: list[int],
            sizes: list[int],
            usizes: list[int],
            offset: int,
        ) -> TextChunk:
            total = sum(usizes)
            # Whole uint64 words, so kernels can view the buffer 8 bytes at a time.
            out = take(CARRY_ROOM + ((total + 7) & ~7))
            if not stop_event.is_set():
                inflate_blocks(self.path, data, starts, sizes, usizes, base, out, CARRY_ROOM)
            run = BlockRun(
                np.asarray(starts, dtype=np.int64),
                np.asarray(sizes, dtype=np.int64),
                np.asarray(usizes, dtype=np.int64),
            )
            return TextChunk(out, offset, run, total)

        def give_back(chunk: TextChunk) -> None:
            base_array = chunk.buffer.base if chunk.buffer.base is not None else chunk.buffer
            with free_lock:
                free.append(base_array)

        previous: TextChunk | None = None
        try:
            for data, base, starts, sizes, usizes in self._runs(fd):
                queue.append(pool.submit(work, data, base, starts, sizes, usizes, text_offset))
                text_offset += sum(usizes)
                while len(queue) > self.threads:
                    chunk = queue.popleft().result()
                    if previous is not None:
                        give_back(previous)
                    previous = chunk
                    yield chunk
            while queue:
                chunk = queue.popleft().result()
                if previous is not None:
                    give_back(previous)
                previous = chunk
                yield chunk
        finally:
            stop_event.set()
            for future in queue:
                future.cancel()
            pool.shutdown(wait=True)
            os.close(fd)


def read_block_table(path: str | os.PathLike[str]) -> BlockRun:
    """Every block of a BGZF file (offsets and sizes), from headers and trailers only."""
    path = str(path)
    starts: list[int] = []
    sizes: list[int] = []
    usizes: list[int] = []
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        base = 0
        pending = b""
        while True:
            fresh = fh.read(1 << 22)
            data = pending + fresh
            final = not fresh
            s, z, u, used = _scan_blocks(path, data, base, final)
            starts += s
            sizes += z
            usizes += u
            pending = data[used:]
            base += used
            if final or base >= size:
                break
    return BlockRun(
        np.asarray(starts, np.int64), np.asarray(sizes, np.int64), np.asarray(usizes, np.int64)
    )


# -- re-reading blocks ---------------------------------------------------------------------
# Once a file has been read through, its block table says where any text offset lives, so
# a record's line is read again by inflating only the blocks that hold it (``os.pread``:
# threads share one file descriptor without a shared position).


@dataclass(frozen=True)
class BlockTable:
    """Every block of a file: :class:`BlockRun`'s arrays and the text offset of each block.

    ``ustart`` has one entry more than the blocks: ``ustart[-1]`` is the file's text size.
    """

    coffset: np.ndarray  # int64[k]
    csize: np.ndarray  # int64[k]
    usize: np.ndarray  # int64[k]
    ustart: np.ndarray  # int64[k + 1]

    @classmethod
    def of(cls, runs: Sequence[BlockRun]) -> BlockTable:
        """The table of consecutive runs (one file's, in order)."""

        def cat(name: str) -> np.ndarray:
            arrays = [getattr(run, name) for run in runs]
            return np.concatenate(arrays) if arrays else np.empty(0, np.int64)

        usize = cat("usize")
        ustart = np.zeros(len(usize) + 1, dtype=np.int64)
        np.cumsum(usize, out=ustart[1:])
        return cls(cat("coffset"), cat("csize"), usize, ustart)

    @property
    def text_size(self) -> int:
        return int(self.ustart[-1])

    def locate(self, voffset: int) -> tuple[int, int]:
        """The block a virtual offset points into, and the text offset it names."""
        block = int(np.searchsorted(self.coffset, voffset >> 16))
        return block, int(self.ustart[block]) + (voffset & 0xFFFF)

    def block_at(self, text: int) -> int:
        """The block holding text offset ``text``."""
        return int(np.searchsorted(self.ustart, text, side="right")) - 1


def inflate_range(
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
    """Read compressed bytes ``[lo, hi)`` of ``fd`` and inflate the blocks in them into
    ``out`` at ``out_offset`` (thread-safe: ``os.pread``)."""
    data = os.pread(fd, hi - lo, lo)
    inflate_blocks(
        path, data, coffset.tolist(), csize.tolist(), usize.tolist(), lo, out, out_offset
    )


def text_range(path: str, fd: int, table: BlockTable, lo: int, hi: int) -> bytes:
    """The file's text bytes ``[lo, hi)``, inflated from the blocks that hold them."""
    if hi <= lo:
        return b""
    b0 = table.block_at(lo)
    b1 = table.block_at(hi - 1)
    sizes = table.usize[b0 : b1 + 1]
    out = np.empty(((int(sizes.sum()) + 7) & ~7) + 8, dtype=np.uint8)
    c0 = int(table.coffset[b0])
    c1 = int(table.coffset[b1] + table.csize[b1])
    inflate_range(
        path, fd, c0, c1, table.coffset[b0 : b1 + 1], table.csize[b0 : b1 + 1], sizes, out, 0
    )
    skip = lo - int(table.ustart[b0])
    return out[skip : skip + hi - lo].tobytes()


class StartedInflate:
    """Inflate jobs of one file's blocks in flight; the file descriptor closes when done."""

    def __init__(self, jobs: list[Future[None]], fd: int, buf: np.ndarray, starts: np.ndarray):
        self.jobs, self.fd, self.buf, self.starts = jobs, fd, buf, starts

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Wait; the text buffer and each line's start in it."""
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


def start_reading_lines(
    path: str, table: BlockTable, t0: np.ndarray, t1: np.ndarray, pool: ThreadPoolExecutor
) -> StartedInflate:
    """Start inflating, in ``pool``, the blocks holding the lines at text offsets
    ``[t0[i], t1[i])`` (sorted by ``t0``).

    ``.result()`` of the returned job waits, then gives the text buffer and each line's
    start in it.
    """
    coffset, csize, usize, ustart = table.coffset, table.csize, table.usize, table.ustart
    b0 = np.searchsorted(ustart, t0, side="right") - 1
    b1 = np.searchsorted(ustart, np.maximum(t1 - 1, t0), side="right") - 1
    need = np.zeros(len(coffset), dtype=bool)
    for a, b in zip(b0.tolist(), b1.tolist(), strict=True):
        need[a : b + 1] = True
    blocks = np.flatnonzero(need)
    out_start = np.zeros(len(blocks) + 1, dtype=np.int64)
    np.cumsum(usize[blocks], out=out_start[1:])
    buf = np.empty(((int(out_start[-1]) + 7) & ~7) + 8, dtype=np.uint8)
    fd = os.open(path, os.O_RDONLY)
    jobs: list[Future[None]] = []
    try:
        step = 32
        for g in range(0, len(blocks), step):
            group = blocks[g : g + step]
            lo = int(coffset[group[0]])
            hi = int(coffset[group[-1]] + csize[group[-1]])
            jobs.append(
                pool.submit(
                    inflate_range,
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
    return StartedInflate(jobs, fd, buf, starts)
