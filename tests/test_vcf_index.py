"""Tabix and CSI indexes are checked before the fast engine trusts them (issue 10, F1).

A stale index (the VCF changed after indexing), the index of another file, a cut-short or
garbage index must never change a result: the fast engine reads the file sequentially
instead, warns (GenotypeWarning naming the file and the reason) and records it in
``source.notes``. A good index (.tbi or .csi) is used silently.
"""

from __future__ import annotations

import gzip
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from prs import score
from prs.errors import GenotypeFileError, GenotypeWarning
from prs.genotypes import tabix
from prs.genotypes.fastvcf import FastVcfSource
from prs.genotypes.vcf import VcfSource
from tests.builders import random_vcf_text, write_scorefile, write_vcf_text

N_RECORDS = 6000


def _parts(seed: int = 1, n_samples: int = 100) -> tuple[list[str], list[str]]:
    """Header lines and records spread over ~6 Mb (hundreds of 16 kb windows, ~40 blocks),
    so a sparse score reads a few windows through the index."""
    text = random_vcf_text(seed, n_samples=n_samples, n_records=N_RECORDS, multiallelic=False)
    lines = text.splitlines(keepends=True)
    records = []
    for line in lines:
        if line[0] != "#":
            chrom, pos, rest = line.split("\t", 2)
            records.append(f"{chrom}\t{int(pos) * 40}\t{rest}")
    return [x for x in lines if x[0] == "#"], records


def _positions(records: list[str]) -> np.ndarray:
    return np.array([int(x.split("\t")[1]) for x in records])


def _wanted(records: list[str]) -> dict[str, np.ndarray]:
    """A sparse score: three positions (few windows, so the index is used)."""
    return {"22": np.unique(_positions(records)[100::2000])}


def _with_old_index(tmp_path: Path, indexed: str, data: str, *, csi: bool = False) -> Path:
    """``data`` bgzipped as x.vcf.gz next to the index made for ``indexed`` (newer than the
    data: mtime alone would trust it)."""
    suffix = ".csi" if csi else ".tbi"
    (tmp_path / "old").mkdir()
    first = write_vcf_text(tmp_path / "old" / "x.vcf", indexed, index=False)
    pysam.tabix_index(str(first), preset="vcf", force=True, csi=csi)
    path = write_vcf_text(tmp_path / "x.vcf", data, index=False)
    target = Path(str(path) + suffix)
    shutil.copyfile(str(first) + suffix, target)
    later = os.stat(path).st_mtime + 5
    os.utime(target, (later, later))
    return path


def _fast_sites(path: Path, wanted, **options) -> tuple[pd.DataFrame, list[str], FastVcfSource]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source = FastVcfSource(path, **options)
        table = source.sites(wanted)
    messages = [str(w.message) for w in caught if issubclass(w.category, GenotypeWarning)]
    return table, messages, source


def _assert_fallback(path: Path, wanted, reason: str) -> None:
    checked = VcfSource(path).sites(wanted)
    table, messages, source = _fast_sites(path, wanted, index="always")
    # Sequential read: the same table as the checked engine, record numbers included.
    pd.testing.assert_frame_equal(table, checked)
    assert len(messages) == 1, messages
    assert str(path) in messages[0] and "not used" in messages[0]
    assert reason in messages[0], messages[0]
    assert source.notes == messages
    # The default reads sequentially without looking at the index (no warning).
    table, messages, source = _fast_sites(path, wanted)
    pd.testing.assert_frame_equal(table, checked)
    assert messages == source.notes == []


def test_records_appended_after_indexing(tmp_path):
    head, records = _parts()
    path = _with_old_index(tmp_path, "".join(head + records[:4000]), "".join(head + records))
    _assert_fallback(path, _wanted(records), "")


def test_records_inserted_after_indexing(tmp_path):
    head, records = _parts()
    kept = records[:1000] + records[1500:]
    path = _with_old_index(tmp_path, "".join(head + kept), "".join(head + records))
    _assert_fallback(path, _wanted(records), "")


def test_records_removed_after_indexing(tmp_path):
    head, records = _parts()
    path = _with_old_index(tmp_path, "".join(head + records), "".join(head + records[:3000]))
    _assert_fallback(path, _wanted(records[:3000]), "")


def test_header_lines_added_after_indexing(tmp_path):
    head, records = _parts()
    more = [head[0], "##source=edited\n", "##comment=after indexing\n", *head[1:]]
    path = _with_old_index(tmp_path, "".join(head + records), "".join(more + records))
    _assert_fallback(path, _wanted(records), "")


def test_index_of_another_file(tmp_path):
    head, records = _parts(1)
    _, others = _parts(7)
    path = _with_old_index(tmp_path, "".join(head + others), "".join(head + records))
    _assert_fallback(path, _wanted(records), "")


def test_stale_csi_index(tmp_path):
    head, records = _parts()
    path = _with_old_index(
        tmp_path, "".join(head + records[:4000]), "".join(head + records), csi=True
    )
    _assert_fallback(path, _wanted(records), "")


def _indexed(tmp_path: Path) -> tuple[Path, list[str]]:
    head, records = _parts()
    return write_vcf_text(tmp_path / "x.vcf", "".join(head + records)), records


def test_cut_short_index(tmp_path):
    path, records = _indexed(tmp_path)
    tbi = Path(str(path) + ".tbi")
    raw = gzip.decompress(tbi.read_bytes())
    tbi.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    _assert_fallback(path, _wanted(records), "cut short")


def test_cut_short_compressed_index(tmp_path):
    path, records = _indexed(tmp_path)
    tbi = Path(str(path) + ".tbi")
    tbi.write_bytes(tbi.read_bytes()[:-40])
    _assert_fallback(path, _wanted(records), "cannot be decompressed")


@pytest.mark.parametrize("seed", range(3))
def test_garbage_index(tmp_path, seed):
    path, records = _indexed(tmp_path)
    rng = np.random.default_rng(seed)
    tbi = Path(str(path) + ".tbi")
    raw = bytearray(gzip.decompress(tbi.read_bytes()))
    garbage = rng.integers(0, 256, len(raw) - 4, dtype=np.uint8).tobytes()
    tbi.write_bytes(gzip.compress(bytes(raw[:4]) + garbage))
    _assert_fallback(path, _wanted(records), "")


def test_not_an_index(tmp_path):
    path, records = _indexed(tmp_path)
    Path(str(path) + ".tbi").write_bytes(b"hello, not gzip at all\n")
    _assert_fallback(path, _wanted(records), "cannot be decompressed")


def test_index_older_than_data(tmp_path):
    path, records = _indexed(tmp_path)
    tbi = Path(str(path) + ".tbi")
    earlier = os.stat(path).st_mtime - 10
    os.utime(tbi, (earlier, earlier))
    _assert_fallback(path, _wanted(records), "older than the file")


@pytest.mark.parametrize("csi", [False, True])
def test_good_index_is_used_without_warning(tmp_path, csi):
    head, records = _parts()
    path = write_vcf_text(tmp_path / "x.vcf", "".join(head + records), index=False)
    pysam.tabix_index(str(path), preset="vcf", force=True, csi=csi)
    wanted = _wanted(records)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenotypeWarning)
        indexed = FastVcfSource(path, index="always")
        table = indexed.sites(wanted)
    assert indexed.notes == []
    assert len(indexed._blocks) == 1 and indexed._listed is not None
    full = VcfSource(path).sites(wanted)
    # Indexed reads number records as sequential ones (F17: they used text offsets).
    pd.testing.assert_frame_equal(table, full)


def test_read_index_parses_tbi_and_csi_alike(tmp_path):
    head, records = _parts()
    path = write_vcf_text(tmp_path / "x.vcf", "".join(head + records), index=False)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True, csi=True)
    tbi = tabix.read_index(str(path) + ".tbi")
    csi = tabix.read_index(str(path) + ".csi")
    assert tbi.kind == "tbi" and csi.kind == "csi"
    assert tbi.names == csi.names == ("22",)
    assert tbi.max_end == csi.max_end
    positions = _positions(records)
    # Both give start offsets at or before each record's own offset.
    for index in (tbi, csi):
        starts = index.window_offsets("22", positions)
        assert starts is not None and np.all(np.diff(positions) >= 0)
        assert index.window_offsets("7", positions) is None


def test_stale_index_gives_the_checked_sums(tmp_path):
    """The issue's reproducer: a VCF that gained records after it was indexed scored with
    the fast engine (its index asked for) equals --engine checked for every sample (it
    differed for 136 of 1,000), and so does the default (which reads sequentially)."""
    head, records = _parts(3, n_samples=60)
    path = _with_old_index(tmp_path, "".join(head + records[:3000]), "".join(head + records))
    chosen = [records[k] for k in range(50, N_RECORDS, 1900)]
    rows = []
    for k, line in enumerate(chosen):
        fields = line.split("\t")
        rows.append(("22", fields[1], fields[4], fields[3], round(0.01 * (k % 13 - 6), 3)))
    weights = write_scorefile(tmp_path / "w.tsv", rows)
    with pytest.warns(GenotypeWarning, match="not used"):
        fast = score(FastVcfSource(path, index="always"), weights)
    default = score(path, weights)
    checked = score(path, weights, engine="checked")
    assert fast.provenance["options"]["engine"] == "FastVcfSource"
    np.testing.assert_array_equal(default.sums, checked.sums)
    np.testing.assert_array_equal(fast.sums, checked.sums)
    assert (
        fast.match_report.variants["target_record"].tolist()
        == checked.match_report.variants["target_record"].tolist()
    )


def test_malformed_record_in_a_window_is_the_checked_error(tmp_path):
    """An indexed read that meets a malformed record reads the file sequentially, so the
    error names the file's line as the checked engine does (not a line count from the
    window's start)."""
    head, records = _parts()
    fields = records[4100].split("\t")
    fields[3] = "."
    records[4100] = "\t".join(fields)
    path = write_vcf_text(tmp_path / "x.vcf", "".join(head + records))
    wanted = {"22": np.array([int(fields[1])])}
    errors = []
    for source in (FastVcfSource(path, index="always"), VcfSource(path)):
        with pytest.raises(GenotypeFileError) as caught:
            source.sites(wanted)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert f"line {len(head) + 4101} (22:{fields[1]}): empty REF" in errors[0]
