"""Tabix (``.tbi``) and CSI (``.csi``) indexes of bgzipped VCFs, read and checked.

An index maps genome windows to *virtual offsets* (``compressed block offset << 16 |
offset in the block's text``) so a reader can inflate only the blocks holding wanted
positions. An index is a separate file: it can be stale (the VCF changed after indexing),
belong to another file, be cut short or be garbage, and htslib then reads a wrong region
as an empty one. So nothing here is trusted: :func:`read_index` refuses anything it cannot
parse completely (:class:`IndexDoubt`, never ``struct.error``), and :meth:`Index.check`
tests the index against the data file's blocks (every virtual offset lands inside the file;
the last record the index knows ends where the file's text ends). The reader
(:mod:`prs.genotypes.fastvcf`) then checks the records at the offsets it uses, and reads
the file sequentially (exact, with a warning) whenever any check fails.

For a ``.tbi`` the start offset of a position is the linear index's entry for its 16 kb
window; a ``.csi`` has no linear index, so it is the smallest chunk start among the bins
that contain the position (every record overlapping the position lies in one of them).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prs.genome import normalize_chrom
from prs.genotypes.base import sorted_unique

#: The linear index's window (tabix: 2^14 = 16 kb).
TBI_SHIFT = 14


class IndexDoubt(Exception):
    """An index that cannot be trusted; the message says why (not a :class:`PRSError`:
    the reader catches it and reads the file sequentially)."""


@dataclass(frozen=True)
class Index:
    """The parts of a tabix or CSI index prs uses.

    Attributes
    ----------
    path
        The index file.
    kind
        ``"tbi"`` or ``"csi"``.
    names
        Sequence names, in index order.
    linear
        ``.tbi``: per sequence, the virtual offset of the first record overlapping each
        16 kb window (empty windows filled from the next non-empty one).
    bins
        ``.csi``: per sequence, ``(bin numbers, smallest chunk start of each bin)``.
    min_shift, depth
        The binning scheme (``.tbi``: 14 and 5).
    max_end
        The largest chunk end (virtual offset just past the last indexed record), or -1
        when the index lists no chunk.
    offsets
        Every chunk start and end and every linear entry (checked to lie in the file).
    """

    path: str
    kind: str
    names: tuple[str, ...]
    linear: tuple[np.ndarray, ...]
    bins: tuple[tuple[np.ndarray, np.ndarray], ...]
    min_shift: int
    depth: int
    max_end: int
    offsets: np.ndarray

    def window_offsets(self, name: str, positions: np.ndarray) -> np.ndarray | None:
        """Virtual offsets to start reading from to meet records at ``positions`` (1-based).

        Returns None when the index does not know ``name``.
        """
        try:
            ref = self.names.index(name)
        except ValueError:
            return None
        positions = np.asarray(positions, dtype=np.int64)
        if self.kind == "tbi":
            linear = self.linear[ref]
            if len(linear) == 0:
                return np.zeros(len(positions), dtype=np.int64)
            return linear[self.windows(ref, positions)]
        bins, starts = self.bins[ref]
        out = np.zeros(len(positions), dtype=np.int64)
        if not len(bins):
            return out
        order = np.argsort(bins)
        bins, starts = bins[order], starts[order]
        for k, position in enumerate(positions.tolist()):
            path = _bins_containing(position - 1, self.min_shift, self.depth)
            at = np.searchsorted(bins, path)
            found = (at < len(bins)) & (bins[np.minimum(at, len(bins) - 1)] == path)
            # No bin on the path: no record overlaps the position; any offset of this
            # sequence will do (the reader stops at the first record past it).
            out[k] = starts[at[found]].min() if found.any() else starts.min()
        return out

    def windows(self, ref: int, positions: np.ndarray) -> np.ndarray:
        """The 16 kb window of each 1-based position, clipped to sequence ``ref``'s linear
        index (``.tbi``); for a ``.csi``, the bin-scheme's smallest windows."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.kind == "csi":
            return (positions - 1) >> self.min_shift
        last = max(len(self.linear[ref]) - 1, 0)
        return np.clip((positions - 1) >> TBI_SHIFT, 0, last)

    def check(self, coffset: np.ndarray, usize: np.ndarray) -> str | None:
        """Why this index does not fit a file with these blocks, or None when it may.

        ``coffset`` and ``usize`` are the file's blocks (offsets, text sizes; the EOF block
        last). Every virtual offset must name a block of the file and a byte inside (or
        just past) its text, and the largest chunk end must be the end of the file's text:
        an index of a file that since grew, shrank or gained header lines fails this.
        """
        ustart = np.zeros(len(usize) + 1, dtype=np.int64)
        np.cumsum(usize, out=ustart[1:])
        total = int(ustart[-1])
        offsets = self.offsets
        if len(offsets):
            text = to_text_offsets(offsets, coffset, usize, ustart)
            if text is None:
                bad = offsets[~_lands(offsets, coffset, usize)][0]
                return (
                    f"virtual offset {bad >> 16}:{bad & 0xFFFF} is not inside the file's "
                    "blocks (stale, or the index of another file)"
                )
        if self.max_end < 0:
            return "the index lists no records" if total else None
        end = to_text_offsets(np.array([self.max_end]), coffset, usize, ustart)
        assert end is not None
        if int(end[0]) != total:
            return (
                f"the last record it knows ends at text byte {int(end[0])} but the file's "
                f"text ends at byte {total} (the file changed after it was indexed, or the "
                "index belongs to another file)"
            )
        return None


def _lands(offsets: np.ndarray, coffset: np.ndarray, usize: np.ndarray) -> np.ndarray:
    block = np.searchsorted(coffset, offsets >> 16)
    inside = block < len(coffset)
    clipped = np.minimum(block, len(coffset) - 1)
    return inside & (coffset[clipped] == (offsets >> 16)) & ((offsets & 0xFFFF) <= usize[clipped])


def to_text_offsets(
    offsets: np.ndarray, coffset: np.ndarray, usize: np.ndarray, ustart: np.ndarray
) -> np.ndarray | None:
    """Text offsets (in the whole decompressed file) of virtual offsets, or None when one
    does not name a block start of the file and a byte within its text."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if not len(coffset) or not _lands(offsets, coffset, usize).all():
        return None
    block = np.searchsorted(coffset, offsets >> 16)
    return ustart[block] + (offsets & 0xFFFF)


def _bins_containing(zero_based: int, min_shift: int, depth: int) -> np.ndarray:
    """Bin numbers, leaf to root, of the bins holding one 0-based position."""
    out = []
    for level in range(depth, -1, -1):
        first = ((1 << (3 * level)) - 1) // 7
        out.append(first + (zero_based >> (min_shift + 3 * (depth - level))))
    return np.array(out, dtype=np.int64)


class _Reader:
    """Bounds-checked little-endian reads over the index bytes (a short or garbage index
    is an :class:`IndexDoubt`, never ``struct.error``)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.at = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.raw):
            raise IndexDoubt(f"cut short at byte {self.at} of {len(self.raw)}")
        values = struct.unpack_from(fmt, self.raw, self.at)
        self.at += size
        return values

    def count(self, what: str, limit: int) -> int:
        (n,) = self.take("<i")
        if n < 0 or n > limit:
            raise IndexDoubt(f"{what} count {n} is impossible")
        return n

    def array(self, n: int) -> np.ndarray:
        size = 8 * n
        if self.at + size > len(self.raw):
            raise IndexDoubt(f"cut short at byte {self.at} of {len(self.raw)}")
        values = np.frombuffer(self.raw, dtype="<u8", count=n, offset=self.at)
        self.at += size
        if n and int(values.max()) >= 1 << 63:
            raise IndexDoubt("a virtual offset is out of range")
        return values.astype(np.int64)


def index_path(path: str | os.PathLike[str]) -> Path | None:
    """The index next to ``path`` (``.tbi`` first, then ``.csi``) when there is one."""
    for suffix in (".tbi", ".csi"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            return candidate
    return None


def read_index(path: str | os.PathLike[str]) -> Index:
    """Read a ``.tbi`` or ``.csi`` index completely.

    Raises
    ------
    IndexDoubt
        The file is not a complete, well-formed tabix or CSI index (not gzip, cut short,
        wrong magic, impossible counts, trailing bytes).
    """
    from isal import igzip

    path = str(path)
    try:
        with igzip.open(path, "rb") as fh:
            raw = fh.read()
    except Exception as exc:  # OSError, EOFError, isal errors: all mean "unreadable"
        raise IndexDoubt(f"cannot be decompressed ({type(exc).__name__}: {exc})") from None
    reader = _Reader(raw)
    kind, min_shift, depth, names = _read_header(reader)
    pseudo = ((1 << (3 * (depth + 1))) - 1) // 7 + 1
    linear: list[np.ndarray] = []
    bins: list[tuple[np.ndarray, np.ndarray]] = []
    offsets: list[np.ndarray] = []
    max_end = -1
    for _ in names:
        bin_ids, bin_starts, max_end = _read_bins(reader, kind, pseudo, offsets, max_end)
        bins.append((np.array(bin_ids, dtype=np.int64), np.array(bin_starts, dtype=np.int64)))
        linear.append(_read_linear(reader, offsets) if kind == "tbi" else np.empty(0, np.int64))
    rest = len(raw) - reader.at
    if rest not in (0, 8):  # optionally n_no_coor (uint64)
        raise IndexDoubt(f"{rest} bytes after the last sequence")
    return Index(
        path,
        kind,
        names,
        tuple(linear),
        tuple(bins),
        min_shift,
        depth,
        max_end,
        np.concatenate(offsets) if offsets else np.empty(0, dtype=np.int64),
    )


def _read_header(reader: _Reader) -> tuple[str, int, int, tuple[str, ...]]:
    """Kind, binning scheme and sequence names, from the magic to the first sequence."""
    raw = reader.raw
    (magic,) = reader.take("4s")
    if magic == b"TBI\x01":
        kind, min_shift, depth = "tbi", TBI_SHIFT, 5
        n_ref = reader.count("sequence", 1 << 24)
        reader.take("<6i")  # format, col_seq, col_beg, col_end, meta, skip
        l_nm = reader.count("name bytes", len(raw))
        (names_raw,) = reader.take(f"{l_nm}s")
    elif magic == b"CSI\x01":
        kind = "csi"
        min_shift, depth = reader.take("<2i")
        if not (0 < min_shift < 32 and 0 < depth < 16):
            raise IndexDoubt(f"impossible CSI scheme (min_shift {min_shift}, depth {depth})")
        l_aux = reader.count("aux bytes", len(raw))
        (aux,) = reader.take(f"{l_aux}s")
        names_raw = b""
        if l_aux >= 28:  # tabix's header inside the aux data: 7 ints, then the names
            l_nm = struct.unpack_from("<i", aux, 24)[0]
            if l_nm < 0 or 28 + l_nm > l_aux:
                raise IndexDoubt("its sequence names are cut short")
            names_raw = aux[28 : 28 + l_nm]
        n_ref = reader.count("sequence", 1 << 24)
    else:
        raise IndexDoubt(f"not a tabix or CSI index (magic {magic!r})")
    names = tuple(x.decode(errors="replace") for x in names_raw.split(b"\x00")[:n_ref])
    if len(names) != n_ref:
        raise IndexDoubt(f"{len(names)} sequence names for {n_ref} sequences")
    return kind, min_shift, depth, names


def _read_bins(
    reader: _Reader, kind: str, pseudo: int, offsets: list[np.ndarray], max_end: int
) -> tuple[list[int], list[int], int]:
    """One sequence's bins: their numbers and smallest chunk starts (every chunk offset
    appended to ``offsets``), and the largest chunk end so far."""
    n_bin = reader.count("bin", 1 << 26)
    bin_ids: list[int] = []
    bin_starts: list[int] = []
    for _ in range(n_bin):
        if kind == "tbi":
            (bin_id,) = reader.take("<I")
        else:
            bin_id, _loffset = reader.take("<IQ")
        n_chunk = reader.count("chunk", 1 << 26)
        chunks = reader.array(2 * n_chunk).reshape(-1, 2)
        if bin_id == pseudo:  # counts (mapped/unmapped), not offsets
            continue
        if bin_id > pseudo:
            raise IndexDoubt(f"bin number {bin_id} is impossible")
        if n_chunk:
            if (chunks[:, 1] < chunks[:, 0]).any():
                raise IndexDoubt("a chunk ends before it starts")
            offsets.append(chunks.ravel())
            max_end = max(max_end, int(chunks[:, 1].max()))
            bin_ids.append(bin_id)
            bin_starts.append(int(chunks[:, 0].min()))
    return bin_ids, bin_starts, max_end


def _read_linear(reader: _Reader, offsets: list[np.ndarray]) -> np.ndarray:
    """One sequence's ``.tbi`` linear index (its offsets appended to ``offsets``)."""
    n_intv = reader.count("window", 1 << 26)
    ioff = reader.array(n_intv)
    # Empty windows hold 0; they may start reading where the next non-empty one does.
    if n_intv:
        filled = ioff.copy()
        for k in range(n_intv - 2, -1, -1):
            if filled[k] == 0:
                filled[k] = filled[k + 1]
        ioff = filled
        offsets.append(ioff[ioff > 0])
    return ioff


@dataclass(frozen=True)
class Window:
    """Where an indexed read starts, and what it reads for.

    Attributes
    ----------
    voffset
        The virtual offset to start reading from.
    chrom_id
        The reader's id of the window's (canonical) chromosome.
    last
        The furthest wanted position it holds: the read stops at the first record past it.
    first
        The nearest wanted position it holds.
    ref
        The sequence's number in the index.
    """

    voffset: int
    chrom_id: int
    last: int
    first: int
    ref: int


def windows_to_read(
    index: Index, wanted: Mapping[str, np.ndarray], chrom_ids: Mapping[str, int]
) -> list[Window]:
    """The windows holding ``wanted`` positions (canonical chromosome -> positions) of the
    chromosomes the reader knows (``chrom_ids``), one per distinct start offset, in index
    order."""
    windows: list[Window] = []
    for ref, name in enumerate(index.names):
        chrom = normalize_chrom(name)
        if chrom not in wanted or chrom not in chrom_ids:
            continue
        positions = sorted_unique(wanted[chrom])
        offsets = index.window_offsets(name, positions)
        assert offsets is not None
        starts, inverse = np.unique(offsets, return_inverse=True)
        last = np.zeros(len(starts), dtype=np.int64)
        np.maximum.at(last, inverse, positions)  # furthest wanted position per window
        least = np.full(len(starts), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(least, inverse, positions)
        chrom_id = chrom_ids[chrom]
        windows.extend(
            Window(start, chrom_id, stop, first, ref)
            for start, stop, first in zip(
                starts.tolist(), last.tolist(), least.tolist(), strict=True
            )
        )
    return windows
