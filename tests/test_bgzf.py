"""BGZF reading: EOF check, threaded inflate, block tables, tabix linear index."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from prs.errors import GenotypeFileError
from prs.genotypes import bgzf, tabix
from tests.builders import random_vcf_text, write_vcf_text


@pytest.fixture
def vcf(tmp_path):
    return write_vcf_text(tmp_path / "x.vcf", random_vcf_text(4, n_samples=200, n_records=400))


def test_eof_block(vcf, tmp_path):
    bgzf.check_eof(vcf)
    assert bgzf.is_bgzf(vcf)
    table = bgzf.read_block_table(vcf)
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(vcf.read_bytes()[: int(table.coffset[-1])])  # cut at a block boundary
    with pytest.raises(GenotypeFileError, match="truncated"):
        bgzf.check_eof(cut)
    tiny = tmp_path / "tiny.gz"
    tiny.write_bytes(b"\x1f\x8b")
    with pytest.raises(GenotypeFileError):
        bgzf.check_eof(tiny)


def test_plain_gzip_is_not_bgzf(tmp_path):
    path = tmp_path / "x.vcf.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(random_vcf_text(1))
    assert not bgzf.is_bgzf(path)
    with pytest.raises(GenotypeFileError, match="not bgzipped"):
        bgzf.read_block_table(path)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("chunk_size", [1, 70_000, 1 << 22])
def test_reader_yields_the_whole_text(vcf, threads, chunk_size):
    expected = gzip.decompress(vcf.read_bytes())
    parts = []
    offset = 0
    for chunk in bgzf.BgzfReader(vcf, threads=threads, chunk_size=chunk_size):
        assert chunk.text_offset == offset
        text = chunk.buffer[bgzf.CARRY_ROOM : bgzf.CARRY_ROOM + chunk.size].tobytes()
        assert len(text) == int(chunk.blocks.usize.sum())
        parts.append(text)
        offset += chunk.size
    assert b"".join(parts) == expected


def test_block_table_matches_reader(vcf):
    table = bgzf.read_block_table(vcf)
    seen = np.concatenate([c.blocks.coffset for c in bgzf.BgzfReader(vcf, chunk_size=1)])
    np.testing.assert_array_equal(seen, table.coffset)
    assert int(table.coffset[-1] + table.csize[-1]) == vcf.stat().st_size


def test_corrupt_block_is_an_error(vcf, tmp_path):
    data = bytearray(vcf.read_bytes())
    data[200] ^= 0xFF  # inside the first block's deflate data
    bad = tmp_path / "bad.vcf.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(GenotypeFileError, match="corrupt"):
        for _ in bgzf.BgzfReader(bad):
            pass


def test_tabix_linear_index_reaches_every_record(vcf):
    index = tabix.read_index(tabix.index_path(vcf))
    assert index.names == ("22",)
    positions = np.array(
        [int(line.split("\t")[1]) for line in gzip.open(vcf, "rt") if line[0] != "#"]
    )
    starts = index.window_offsets("22", positions)
    assert index.window_offsets("7", positions) is None
    # Each record must start at or after its window's virtual offset.
    text = gzip.decompress(vcf.read_bytes())
    table = bgzf.read_block_table(vcf)
    ustart = np.concatenate([[0], np.cumsum(table.usize)])
    block = np.searchsorted(table.coffset, starts >> 16)
    text_start = ustart[block] + (starts & 0xFFFF)
    line_starts = [i + 1 for i in range(len(text)) if text[i] == 10]
    record_starts = [s for s in line_starts if s < len(text) and text[s] != ord("#")]
    assert np.all(text_start <= np.array(record_starts))


@pytest.fixture(params=["libdeflate", "isal"])
def backend(request, monkeypatch):
    """Each inflate backend in turn (libdeflate where the machine has it)."""
    if request.param == "isal":
        monkeypatch.setattr(bgzf, "LIBDEFLATE", None)
    elif bgzf.LIBDEFLATE is None:
        pytest.skip("no libdeflate on this machine (ISA-L is used; covered by the isal case)")
    return request.param


def test_backends_inflate_the_same_text(vcf, backend):
    expected = gzip.decompress(vcf.read_bytes())
    got = b"".join(
        c.buffer[bgzf.CARRY_ROOM : bgzf.CARRY_ROOM + c.size].tobytes()
        for c in bgzf.BgzfReader(vcf, threads=2, chunk_size=70_000)
    )
    assert got == expected


@pytest.mark.parametrize("where", ["deflate", "crc", "isize"])
def test_backends_refuse_a_damaged_block(vcf, tmp_path, backend, where):
    """A flipped bit in the deflate data, the CRC-32 or the length trailer is an error."""
    table = bgzf.read_block_table(vcf)
    end = int(table.coffset[0] + table.csize[0])  # first block: ... CRC32 (4) ISIZE (4)
    offset = {"deflate": 200, "crc": end - 8, "isize": end - 4}[where]
    data = bytearray(vcf.read_bytes())
    data[offset] ^= 0x01
    bad = tmp_path / "bad.vcf.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(GenotypeFileError, match=r"compressed offset 0 .*corrupt"):
        for _ in bgzf.BgzfReader(bad, threads=2):
            pass


def test_block_table_tiles_the_file_and_each_block_is_one_gzip_member(vcf):
    """Independent check of the header walk: zlib inflates each listed block alone, using
    exactly its bytes and giving exactly its text size, and the blocks tile the file."""
    import zlib

    raw = vcf.read_bytes()
    table = bgzf.read_block_table(vcf)
    assert table.coffset[0] == 0
    np.testing.assert_array_equal(table.coffset[1:], table.coffset[:-1] + table.csize[:-1])
    assert int(table.coffset[-1] + table.csize[-1]) == len(raw)
    for start, size, usize in zip(table.coffset, table.csize, table.usize, strict=True):
        member = zlib.decompressobj(31)
        text = member.decompress(raw[start : start + size])
        assert member.eof and member.unused_data == b"" and len(text) == usize


def test_header_walk_stops_at_an_incomplete_block(vcf):
    raw = vcf.read_bytes()
    table = bgzf.read_block_table(vcf)
    cut = int(table.coffset[2]) + 10  # inside the third block's header
    starts, sizes, _, used = bgzf._scan_blocks("x", raw[:cut], 0, final=False)
    assert starts == table.coffset[:2].tolist() and used == int(table.coffset[2])
    assert sizes == table.csize[:2].tolist()
    with pytest.raises(GenotypeFileError, match="truncated"):
        bgzf._scan_blocks("x", raw[:cut], 0, final=True)


def _every_libdeflate() -> list[tuple[str, bgzf._Libdeflate]]:
    """Each distinct libdeflate this machine has (system, deflate package, wheels)."""
    found: dict[str, tuple[str, bgzf._Libdeflate]] = {}
    for where, path in bgzf.libdeflate_candidates():
        try:
            lib = bgzf._Libdeflate(path)
        except (OSError, AttributeError):
            continue
        found.setdefault(f"{where}: {bgzf._loaded_path(path)}", (where, lib))
    return list(found.values())


def test_every_libdeflate_found_inflates_as_gzip_does(vcf, monkeypatch):
    """Issue 16: the system library, the deflate package's and the one cyvcf2's wheel bundles
    each inflate the file to gzip's (Python's zlib) text, bit for bit."""
    libs = _every_libdeflate()
    wheres = {where for where, _ in libs}
    assert "cyvcf2 package" in wheres or "deflate package" in wheres, wheres
    expected = gzip.decompress(vcf.read_bytes())
    for where, lib in libs:
        monkeypatch.setattr(bgzf, "LIBDEFLATE", lib)
        got = b"".join(
            c.buffer[bgzf.CARRY_ROOM : bgzf.CARRY_ROOM + c.size].tobytes()
            for c in bgzf.BgzfReader(vcf, threads=2, chunk_size=70_000)
        )
        assert got == expected, where


def test_without_a_system_libdeflate_a_bundled_one_is_found(monkeypatch):
    """The issue's case: no Debian libdeflate. The deflate package's (a dependency) or a
    wheel's copy is used, not ISA-L, and provenance's inflater() says which."""
    monkeypatch.setattr(bgzf, "LIBDEFLATE_SYSTEM_NAMES", ())
    monkeypatch.setattr(bgzf.ctypes.util, "find_library", lambda name: None)
    found = bgzf._find_libdeflate()
    assert found is not None and found.where in ("deflate package", "cyvcf2 package")
    monkeypatch.setattr(bgzf, "LIBDEFLATE", found)
    said = bgzf.inflater()
    assert said["inflater"] == "libdeflate" and said["found"] == found.where
    assert said["path"].startswith("/") and "deflate" in said["path"]


def test_inflater_says_isal_when_forced(monkeypatch):
    monkeypatch.setenv("PRS_INFLATE", "isal")
    assert bgzf._find_libdeflate() is None
    monkeypatch.setattr(bgzf, "LIBDEFLATE", None)
    import isal

    assert bgzf.inflater() == {"inflater": "isal", "version": isal.__version__}
