"""Records the fast path's kernels leave to the checked path, decoded one at a time.

A record whose text the kernels do not reproduce exactly (ploidy above 2, odd numbers, a
FORMAT without the field) or where they see an error is read again from its blocks and
decoded by :func:`prs.genotypes.vcf_record.decode_record_line` with its location (file,
line, chrom:pos), so its dosages and its error message are the checked path's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from prs.genotypes import bgzf
from prs.genotypes.fastvcf.scan import Listed
from prs.genotypes.vcf_header import VcfHeader
from prs.genotypes.vcf_record import DecodeOptions, SampleColumns, decode_record_line


@dataclass(frozen=True)
class CheckedPath:
    """What decoding a listed record by the checked path needs from the source."""

    paths: tuple[str, ...]
    headers: tuple[VcfHeader, ...]
    options: DecodeOptions
    samples: SampleColumns

    def record_line(self, listed: Listed, table: bgzf.BlockTable, row: int) -> bytes:
        """The text of listed record ``row`` (its file's block table: ``table``)."""
        path = self.paths[int(listed.file[row])]
        t0, t1 = listed.text_start[row : row + 1], listed.text_end[row : row + 1]
        with ThreadPoolExecutor(1) as pool:
            buf, starts = bgzf.start_reading_lines(path, table, t0, t1, pool).result()
        return buf[int(starts[0]) : int(starts[0]) + int(t1[0] - t0[0])].tobytes()

    def decode(
        self, listed: Listed, table: bgzf.BlockTable, row: int, wants: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Dosages and ploidies (``[len(wants), n_samples]``) of listed record ``row`` by
        the checked path, and whether a DS/GP/HDS dosage was read from GT; raises the checked
        path's error for the record."""
        file_index = int(listed.file[row])
        return decode_record_line(
            self.record_line(listed, table, row),
            self.paths[file_index],
            int(listed.lineno[row]),
            self.headers[file_index],
            wants,
            self.options,
            self.samples,
        )
