"""Walking BGZF block headers (offsets, sizes, text sizes) without inflating anything."""

from __future__ import annotations

import numpy as np

from prs.kernels.jit import kernel, numba_started

#: Status codes of :func:`scan_block_headers`.
HEADERS_OK, HEADERS_NOT_GZIP, HEADERS_NO_BSIZE = 0, 1, 2


def scan_block_headers(
    data: np.ndarray, starts: np.ndarray, sizes: np.ndarray, usizes: np.ndarray
) -> tuple[int, int, int]:
    """List the complete BGZF blocks at the start of ``data`` (``uint8``): see
    :func:`walk_block_headers`, which this runs compiled once Numba has started and as
    Python before (over a ``memoryview``, a few microseconds a block: a small file read
    by the checked engine then needs no Numba at all).

    Examples
    --------
    >>> eof = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    >>> data = np.frombuffer(eof * 2, dtype=np.uint8)  # two empty blocks (BGZF's EOF)
    >>> starts, sizes, usizes = (np.zeros(2, dtype=np.int64) for _ in range(3))
    >>> scan_block_headers(data, starts, sizes, usizes)
    (2, 56, 0)
    """
    if numba_started():
        found = walk_block_headers(data, starts, sizes, usizes)
    else:
        found = walk_block_headers.py_func(memoryview(data), starts, sizes, usizes)
    return int(found[0]), int(found[1]), int(found[2])


@kernel
def walk_block_headers(
    data: np.ndarray, starts: np.ndarray, sizes: np.ndarray, usizes: np.ndarray
) -> tuple[int, int, int]:
    """List the complete BGZF blocks at the start of ``data`` (``uint8``).

    Each block is a gzip member with the ``BC`` extra subfield giving its size minus one;
    its last four bytes are the text size (ISIZE). Writes ``starts``/``sizes``/``usizes``
    (offsets in ``data``; capacity at least ``len(data) // 28 + 1``, the smallest block
    being 28 bytes) and returns ``(count, offset after the last complete block, status)``;
    on a bad header the status is :data:`HEADERS_NOT_GZIP` or :data:`HEADERS_NO_BSIZE` and
    the offset is that header's.
    """
    n = len(data)
    offset = 0
    k = 0
    while offset + 18 <= n:
        if (
            data[offset] != 0x1F
            or data[offset + 1] != 0x8B
            or data[offset + 2] != 8
            or (data[offset + 3] & 4) == 0
        ):
            return k, offset, HEADERS_NOT_GZIP
        xlen = np.int64(data[offset + 10]) | (np.int64(data[offset + 11]) << 8)
        extra = offset + 12
        end_extra = extra + xlen
        if end_extra > n:
            break  # header continues past the data: an incomplete block
        bsize = -1
        while extra + 4 <= end_extra:
            if data[extra] == 66 and data[extra + 1] == 67 and extra + 6 <= end_extra:
                bsize = np.int64(data[extra + 4]) | (np.int64(data[extra + 5]) << 8)
                break
            extra += 4 + (np.int64(data[extra + 2]) | (np.int64(data[extra + 3]) << 8))
        if bsize < 0:
            return k, offset, HEADERS_NO_BSIZE
        size = bsize + 1
        if size < 22 + xlen:  # header (12) + extra + empty deflate data (2) + trailer (8)
            return k, offset, HEADERS_NOT_GZIP
        if offset + size > n or k >= len(starts):
            break
        t = offset + size - 4
        starts[k] = offset
        sizes[k] = size
        usizes[k] = (
            np.int64(data[t])
            | (np.int64(data[t + 1]) << 8)
            | (np.int64(data[t + 2]) << 16)
            | (np.int64(data[t + 3]) << 24)
        )
        k += 1
        offset += size
    return k, offset, HEADERS_OK
