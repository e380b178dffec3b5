"""The BGZF header walk as Python (before Numba has started) against the compiled walk:
the same blocks, offsets and status on valid, corrupted and cut-short data."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.kernels.bgzf_headers import (
    HEADERS_NO_BSIZE,
    HEADERS_NOT_GZIP,
    HEADERS_OK,
    scan_block_headers,
    walk_block_headers,
)


def bgzf_block(text: bytes, extra_before: bytes = b"") -> bytes:
    """One BGZF block written by hand (RFC 1952 member, SAMv1 section 4.1's BC subfield),
    optionally with another extra subfield before BC."""
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflater.compress(text) + deflater.flush()
    xlen = len(extra_before) + 6
    size = 12 + xlen + len(body) + 8
    header = b"\x1f\x8b\x08\x04" + bytes(4) + b"\x00\xff" + struct.pack("<H", xlen)
    extra = extra_before + b"BC" + struct.pack("<HH", 2, size - 1)
    trailer = struct.pack("<II", zlib.crc32(text), len(text))
    return header + extra + body + trailer


def _walks(data: bytes):
    view = np.frombuffer(data, dtype=np.uint8)
    capacity = len(view) // 28 + 1
    out = []
    for walk in ("python", "compiled"):
        starts, sizes, usizes = (np.full(capacity, -1, dtype=np.int64) for _ in range(3))
        if walk == "python":
            found = walk_block_headers.py_func(memoryview(view), starts, sizes, usizes)
        else:
            found = walk_block_headers(view, starts, sizes, usizes)
        out.append((tuple(int(v) for v in found), starts, sizes, usizes))
    return out


@st.composite
def bgzf_data(draw):
    texts = draw(st.lists(st.binary(max_size=300), min_size=0, max_size=6))
    extras = [draw(st.sampled_from([b"", b"AB\x02\x00xy", b"ZZ\x00\x00"])) for _ in texts]
    data = bytearray(b"".join(bgzf_block(t, e) for t, e in zip(texts, extras, strict=True)))
    for _ in range(draw(st.integers(0, 2))):  # corrupt a byte
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[: cut if draw(st.booleans()) else len(data)])


@given(bgzf_data())
@settings(max_examples=300, deadline=None)
def test_python_walk_equals_compiled_walk(data):
    (found_py, *arrays_py), (found_nb, *arrays_nb) = _walks(data)
    assert found_py == found_nb
    for a, b in zip(arrays_py, arrays_nb, strict=True):
        np.testing.assert_array_equal(a, b)
    # whichever runs, scan_block_headers returns the same (plain ints)
    view = np.frombuffer(data, dtype=np.uint8)
    capacity = len(view) // 28 + 1
    arrays = [np.full(capacity, -1, dtype=np.int64) for _ in range(3)]
    assert scan_block_headers(view, *arrays) == found_nb


def test_hand_written_blocks_are_listed():
    """Independent of both walks: the sizes are those the blocks were written with."""
    blocks = [bgzf_block(b"a\tb\n" * 50), bgzf_block(b"", b"AB\x02\x00xy")]
    found, starts, sizes, usizes = _walks(b"".join(blocks))[0]
    assert found == (2, sum(map(len, blocks)), HEADERS_OK)
    assert starts[:2].tolist() == [0, len(blocks[0])]
    assert sizes[:2].tolist() == [len(b) for b in blocks]
    assert usizes[:2].tolist() == [200, 0]


def test_plain_gzip_and_not_gzip_are_told_apart():
    import gzip

    no_bc = gzip.compress(b"x" * 40)
    assert _walks(no_bc)[0][0][2] == HEADERS_NOT_GZIP  # gzip without FEXTRA
    with_other_extra = bytearray(bgzf_block(b"x"))
    with_other_extra[12:14] = b"ZZ"  # the BC subfield renamed: no BGZF size
    assert _walks(bytes(with_other_extra))[0][0][2] == HEADERS_NO_BSIZE
    assert _walks(b"plain text, not gzip at all")[0][0][2] == HEADERS_NOT_GZIP
