"""Indexed reads of the fast VCF path: only the tabix/CSI windows holding wanted positions.

With ``index="always"`` a file's sites pass reads only the windows an index names
(:func:`prs.genotypes.tabix.windows_to_read`), each through a :class:`FileScan` that starts
at the window's virtual offset and stops past its last wanted position. Nothing in an index
is trusted: :func:`plan_region_read` checks it against the file (not older, complete, its
offsets inside the file, a record of the right sequence at each offset used) and, in any
doubt, returns None after a warning, so the file is read sequentially (exact, slower).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prs.errors import GenotypeFileError
from prs.genotypes import bgzf, tabix
from prs.genotypes.fastvcf.scan import FileScan, Region, ScanState


@dataclass
class RegionRead:
    """An indexed read of one file: its block table, and the scans of its windows (run
    lazily, in file order)."""

    table: bgzf.BlockTable
    scans: Iterator[FileScan]


@dataclass(frozen=True)
class ScanSettings:
    """What every scan of one file shares (see :class:`FileScan`)."""

    path: str
    file_index: int
    state: ScanState
    n_columns: int
    threads: int | None
    pack_samples: int


def plan_region_read(
    settings: ScanSettings, wanted: Mapping[str, np.ndarray], note: Callable[[str], None]
) -> RegionRead | None:
    """The windows of ``settings.path`` holding ``wanted`` positions, or None (read the
    file sequentially) when its index is in any doubt (``note`` says why).

    Raises
    ------
    GenotypeFileError
        The file has no index.
    """
    path = settings.path
    found = tabix.index_path(path)
    if found is None:
        raise GenotypeFileError(f"{path}: no tabix index ({path}.tbi or .csi) for index='always'")
    try:
        index = tabix.read_index(found)
    except tabix.IndexDoubt as exc:
        return _index_doubt(note, path, found, str(exc))
    # As htslib: an index older than its data is stale (whole seconds: copies of a pair
    # keep the order only to the second).
    if int(os.stat(found).st_mtime) < int(os.stat(path).st_mtime):
        return _index_doubt(note, path, found, "it is older than the file")
    table = bgzf.BlockTable.of([bgzf.read_block_table(path)])
    doubt = index.check(table.coffset, table.usize)
    if doubt is not None:
        return _index_doubt(note, path, found, doubt)
    windows = tabix.windows_to_read(index, wanted, settings.state.chrom_ids)
    doubt = check_starts(path, index, table, windows)
    if doubt is not None:
        return _index_doubt(note, path, found, doubt)
    windows.sort(key=lambda w: (w.voffset, w.chrom_id, w.last))
    return RegionRead(table, _window_scans(settings, windows, table))


def _index_doubt(note: Callable[[str], None], path: str, index_file: Path, reason: str) -> None:
    """Say that ``index_file`` is not used and why; return None (the caller then reads
    ``path`` sequentially: exact, only slower)."""
    note(
        f"{path}: its index {index_file} is not used: {reason}; the file is read "
        f"sequentially instead (exact, slower). Re-index it (tabix -f -p vcf {path})"
    )
    return None


def check_starts(
    path: str, index: tabix.Index, table: bgzf.BlockTable, windows: list[tabix.Window]
) -> str | None:
    """Why the records at the offsets a region read would start from do not fit the
    index, or None. Each start must be a line start holding a record (not a header
    line) of the sequence the index names; for a ``.tbi``, the line before it must be
    the header, another sequence or a record before the first wanted position (a
    stale index sends the reader into the middle of a line, or past wanted records)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        for window in windows:
            doubt = _check_start(path, fd, index, table, window)
            if doubt is not None:
                return doubt
    finally:
        os.close(fd)
    return None


def _check_start(
    path: str, fd: int, index: tabix.Index, table: bgzf.BlockTable, window: tabix.Window
) -> str | None:
    voffset = window.voffset
    text = tabix.to_text_offsets(np.array([voffset]), table.coffset, table.usize, table.ustart)
    assert text is not None  # (index.check tested every offset)
    at = int(text[0])
    total = table.text_size
    if at >= total:
        return None
    lo = at
    while True:  # back far enough to hold the previous line whole
        lo = max(0, lo - (1 << 16))
        before = bgzf.text_range(path, fd, table, lo, at)
        if lo == 0 or before[:-1].count(b"\n") >= 1:
            break
    line = bgzf.text_range(path, fd, table, at, min(total, at + 4096))
    where = f"virtual offset {voffset >> 16}:{voffset & 0xFFFF}"
    if before and not before.endswith(b"\n"):
        return f"{where} is not at the start of a line"
    fields = line.split(b"\n", 1)[0].split(b"\t", 2)
    name = index.names[window.ref].encode()
    if line.startswith(b"#") or fields[0] != name:
        shown = line[:40].decode(errors="replace")
        return f"{where} holds {shown!r}, not a record of {index.names[window.ref]}"
    if index.kind != "tbi" or not before:
        return None
    previous = before[:-1].rsplit(b"\n", 1)[-1].split(b"\t", 2)
    if previous[0].startswith(b"#") or previous[0] != name or len(previous) < 2:
        return None
    if previous[1].isdigit() and int(previous[1]) >= window.first:
        return (
            f"the record before {where} ({index.names[window.ref]}:"
            f"{int(previous[1])}) is at or past a wanted position ({window.first})"
        )
    return None


def _window_scans(
    settings: ScanSettings, windows: list[tabix.Window], table: bgzf.BlockTable
) -> Iterator[FileScan]:
    """A scan per window, each starting where the window does or, when windows overlap,
    where the previous scan stopped."""
    scanned_until = -1
    total = table.text_size
    for window in windows:
        block, text = table.locate(window.voffset)
        if text < scanned_until:  # overlaps the previous read: go on from its end
            text = scanned_until
            block = table.block_at(text)
        if text >= total:
            continue
        start = int(table.ustart[block])
        scan = FileScan(
            settings.path,
            settings.file_index,
            settings.state,
            settings.n_columns,
            0,
            settings.threads,
            settings.pack_samples,
            region=Region(
                int(table.coffset[block]), text - start, start, window.chrom_id, window.last
            ),
        )
        yield scan
        scanned_until = scan.stopped_at if scan.stopped_at >= 0 else total
