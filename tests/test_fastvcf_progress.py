"""The fast VCF engine tells how many compressed bytes its sites pass has read (the
``prs score`` progress bar's measure: bytes of genotype data read)."""

from __future__ import annotations

import os

import numpy as np

from prs.genotypes.fastvcf import FastVcfSource
from tests.builders import random_vcf_text, write_vcf_text


def test_bytes_read_grow_to_the_files_sizes(tmp_path):
    # Two per-chromosome files, the first large enough to be read in several chunks.
    paths = [
        write_vcf_text(tmp_path / "a.vcf", random_vcf_text(1, n_samples=400, n_records=4000)),
        write_vcf_text(
            tmp_path / "b.vcf", random_vcf_text(2, n_samples=400, n_records=50, contig="21")
        ),
    ]
    sizes = [os.path.getsize(p) for p in paths]
    source = FastVcfSource(paths)
    seen: list[tuple[int, int]] = []
    source.on_bytes_read = lambda done, total: seen.append((done, total))
    source.sites()
    done = np.array([d for d, _ in seen])
    assert {t for _, t in seen} == {sum(sizes)}
    assert len(seen) > 3  # told as it goes, not only at the end
    assert (np.diff(done) >= 0).all()
    assert done[-1] == sum(sizes)
    assert sizes[0] in done  # the first file's end is told before the second is read
    assert done[0] < sizes[0]


def test_nothing_is_told_without_a_listener(tmp_path):
    path = write_vcf_text(tmp_path / "a.vcf", random_vcf_text(3))
    source = FastVcfSource(path)
    assert source.on_bytes_read is None
    assert len(source.sites()) > 0
