"""The genotypes package's seams (issue 12): files looked at once, the fallback decoded in
place, the source protocol, one vocabulary for the options."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from prs import vocab as options
from prs.errors import GenotypeFileError, GenotypeWarning
from prs.genotypes import open_genotypes
from prs.genotypes import options as read_options
from prs.genotypes.base import (
    DescribedSource,
    GenotypeSource,
    records_read_from_gt,
    source_build,
    source_haploid,
    source_notes,
)
from prs.genotypes.fastvcf import FastVcfSource
from prs.genotypes.fastvcf.decode import HALF_CALL_CODES, HAPLOID_CODES
from prs.genotypes.sniff import sniff
from prs.genotypes.vcf import VcfSource
from prs.kernels import dosage as kd
from tests.builders import vcf_header, write_vcf_text

_SAMPLES = ["a", "b", "c"]


def _vcf(tmp_path: Path, rows: list[str], *, formats: str = "GT") -> Path:
    text = vcf_header(_SAMPLES, formats=formats) + "".join(row + "\n" for row in rows)
    return write_vcf_text(tmp_path / "x.vcf", text)


class _Opens:
    """Counts Python-level opens of one path (``open``, ``os.open``, gzip and igzip)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.count = 0
        self.active = False

    def __call__(self, event: str, args: tuple) -> None:
        if self.active and event == "open" and args and str(args[0]) == self.path:
            self.count += 1


@pytest.fixture(scope="module")
def open_counter():
    counters: list[_Opens] = []

    def hook(event: str, args: tuple) -> None:
        for counter in counters:
            counter(event, args)

    sys.addaudithook(hook)  # (audit hooks cannot be removed: this one idles after the tests)
    yield counters
    counters.clear()


@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_open_genotypes_opens_each_file_twice_before_a_record(tmp_path, open_counter, engine):
    """Sniffing (magic, BGZF EOF block, BCF?) and the header's text: one open each (htslib
    parses the header once more, outside Python). Before issue 12 it was 12 opens."""
    vcf = _vcf(tmp_path, ["22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0"])
    counter = _Opens(vcf)
    open_counter.append(counter)
    counter.active = True
    source = open_genotypes(vcf, engine=engine)
    counter.active = False
    assert counter.count == 2
    assert len(source.sites()) == 1


def test_sniff_records_problems_and_raises_them_in_order(tmp_path):
    assert sniff(tmp_path).kind == "directory"
    missing = sniff(tmp_path / "none.vcf.gz")
    with pytest.raises(GenotypeFileError, match="genotype file not found"):
        missing.check_present()
    vcf = _vcf(tmp_path, ["22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0"])
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(vcf.read_bytes()[:-28])
    found = sniff(cut)
    assert found.kind == "bgzf" and found.is_bcf() is False
    found.check_present()
    with pytest.raises(GenotypeFileError, match="end-of-file block is missing"):
        found.check_complete()
    with pytest.raises(GenotypeFileError, match="end-of-file block is missing"):
        open_genotypes(cut)


def test_fast_fallback_decodes_in_place_and_names_the_file(tmp_path, monkeypatch):
    """A record the kernels leave to the checked path (a half-call under
    half_call='error') is decoded from its text with its location: no temporary VCF."""
    rows = [
        "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0",
        "22\t200\trs2\tC\tT\t.\tPASS\t.\tGT\t0/1\t1/.\t0/0",
    ]
    vcf = _vcf(tmp_path, rows)

    def refused(*args, **kwargs):
        raise AssertionError("the fallback wrote a temporary file")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refused)
    monkeypatch.setattr(tempfile, "mkdtemp", refused)
    source = FastVcfSource(vcf, cache_bytes=0)
    sites = source.sites()
    records = sites["record"].to_numpy()
    with pytest.raises(GenotypeFileError) as fast:
        list(source.read(records, np.ones(len(records), dtype=np.int64)))
    assert str(fast.value).startswith(f"{vcf} line 6 (22:200): sample b has a half-missing")
    checked = VcfSource(vcf)
    checked.sites()
    with pytest.raises(GenotypeFileError) as slow:
        list(checked.read(records, np.ones(len(records), dtype=np.int64)))
    assert str(fast.value) == str(slow.value)


def test_fast_fallback_gives_the_checked_dosages(tmp_path):
    """A triploid call (the kernels leave the record to the checked path) is missing and
    diploid, as PLINK 2 reads it; a sample subset comes back in the requested order."""
    rows = ["22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1/1\t1|1\t0"]
    vcf = _vcf(tmp_path, rows)
    results = []
    for source_type in (FastVcfSource, VcfSource):
        source = source_type(vcf, samples=["c", "a", "b"])
        source.sites()
        (chunk,) = source.read(np.array([0, 0]), np.array([0, 1]))
        results.append((chunk.dosage, chunk.ploidy))
    fast, checked = results
    np.testing.assert_array_equal(fast[0], checked[0])
    np.testing.assert_array_equal(fast[1], checked[1])
    assert np.isnan(fast[0][:, 1]).all()  # "a" (0/1/1) is missing
    np.testing.assert_array_equal(fast[0][:, 2], [0.0, 2.0])  # "b" is 1|1


def test_both_engines_describe_themselves(tmp_path):
    vcf = _vcf(tmp_path, ["22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0"])
    for engine in ("fast", "checked"):
        source = open_genotypes(vcf, engine=engine, haploid="haploid")
        assert isinstance(source, DescribedSource)
        assert source_build(source) == "GRCh37"  # (the factory's chr22 length)
        assert source_notes(source) == [] and records_read_from_gt(source) == 0
        assert source_haploid(source) == "haploid"


def test_a_minimal_source_gets_the_defaults():
    class Minimal:
        samples = ("a",)
        paths = ("x",)

        def sites(self, wanted=None):
            raise NotImplementedError

        def read(self, records, alleles, *, chunk_size=1024):
            raise NotImplementedError

    minimal = Minimal()
    assert isinstance(minimal, GenotypeSource) and not isinstance(minimal, DescribedSource)
    assert source_build(minimal) is None and source_notes(minimal) == []
    assert records_read_from_gt(minimal) == 0 and source_haploid(minimal) == "as-diploid"


def test_one_vocabulary_for_the_options():
    """The kernels' codes follow the words' order in prs.vocab."""
    assert [HALF_CALL_CODES[w] for w in options.HALF_CALL_POLICIES] == [
        kd.HALF_ERROR,
        kd.HALF_MISSING,
        kd.HALF_HAPLOID,
        kd.HALF_REFERENCE,
    ]
    assert [HAPLOID_CODES[w] for w in options.HAPLOID_POLICIES] == [
        kd.HAPLOID_AS_DIPLOID,
        kd.HAPLOID_HAPLOID,
    ]
    assert [kd.FIELD_GT, kd.FIELD_DS, kd.FIELD_GP, kd.FIELD_HDS] == [0, 1, 2, 3]
    assert options.DOSAGE_FIELDS == ("GT", "DS", "GP", "HDS")
    for bad in ({"dosage": "XX"}, {"half_call": "maybe"}, {"haploid": "triploid"}):
        words = {"dosage": "GT", "half_call": "error", "haploid": "as-diploid", **bad}
        with pytest.raises(GenotypeFileError):
            read_options.check_read_options(**words)


@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_a_path_spelled_with_dot_segments_reads_a_joined_vcf(tmp_path, engine):
    """Regression: the checked engine keyed the header lines it found among the records by
    the normalised path and looked them up by the path as given, so ``dir/./x.vcf.gz``
    (joined with cat) failed with "the file changed while it was read"."""
    part = vcf_header(_SAMPLES)
    text = (
        part
        + "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0\n"
        + part
        + "22\t200\trs2\tC\tT\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0\n"
    )
    vcf = write_vcf_text(tmp_path / "j.vcf", text, index=False)
    spelled = f"{tmp_path}/./{vcf.name}"
    with pytest.warns(GenotypeWarning, match="header line"):
        source = open_genotypes(spelled, engine=engine)
        sites = source.sites()
    records = sites["record"].to_numpy()
    (chunk,) = source.read(records, np.ones(len(records), dtype=np.int64))
    np.testing.assert_array_equal(chunk.dosage, [[1.0, 2.0, 0.0], [1.0, 2.0, 0.0]])


def test_fast_fallback_without_memfd_uses_a_temporary_file(tmp_path, monkeypatch):
    """Where the system has no anonymous in-memory files (macOS), the record goes through
    a temporary file: same dosages."""
    import os

    monkeypatch.delattr(os, "memfd_create", raising=False)
    vcf = _vcf(tmp_path, ["22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1/1\t1|1\t0"])
    source = FastVcfSource(vcf)
    source.sites()
    (chunk,) = source.read(np.array([0]), np.array([1]))
    np.testing.assert_array_equal(chunk.dosage, [[np.nan, 2.0, 0.0]])
    np.testing.assert_array_equal(chunk.ploidy, [[2, 2, 2]])
