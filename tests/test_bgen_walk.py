"""The record table of a BGEN without an index, walked by prs (``_walk``, layout 2) against
the ``bgen`` package's own walk (``_scan``): the same IDs, positions, alleles and offsets;
a file cut anywhere is named as truncated, never read past its end. The site table's rows
against the package's reading of each record."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prs.errors import GenotypeFileError
from prs.genotypes.bgen import BgenSource, _read_header, _reader, _scan, _walk
from tests.test_bgen_genotypes import _diploid

bgen = pytest.importorskip("bgen")

_NAMES = st.text(alphabet="ACGTN", min_size=1, max_size=12)


@st.composite
def _variants(draw):
    n = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    variants = []
    for k in range(draw(st.integers(1, 8))):
        n_alleles = draw(st.integers(2, 4))
        alleles = draw(st.lists(_NAMES, min_size=n_alleles, max_size=n_alleles, unique=True))
        width = n_alleles * (n_alleles + 1) // 2
        probs = rng.dirichlet([1] * width, size=n) if width > 3 else _diploid(rng, n)
        varid = draw(st.text(alphabet="abc_:0123456789", max_size=20))
        rsid = draw(st.sampled_from(["", f"rs{k}", "x" * 300]))
        chrom = draw(st.sampled_from(["1", "22", "X", "chrUn_gl000220"]))
        variants.append((varid, rsid, chrom, 10 + 100 * k, alleles, probs))
    return n, variants, draw(st.sampled_from(["zlib", None])), draw(st.sampled_from([8, 16]))


def _write(path, n, variants, compression, bits, samples=None):
    with bgen.BgenWriter(str(path), n, samples=samples, compression=compression) as writer:
        for varid, rsid, chrom, pos, alleles, probs in variants:
            writer.add_variant(varid, rsid, chrom, pos, alleles, probs, bit_depth=bits)
    return path


def _table(records) -> tuple:
    return (
        records.chrom.tolist(),
        records.pos.tolist(),
        records.rsid.tolist(),
        records.alleles,
        records.start.tolist(),
        records.end.tolist(),
        records.n_alleles.tolist(),
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_variants())
def test_the_walk_equals_the_packages(tmp_path_factory, case):
    path = _write(tmp_path_factory.mktemp("walk") / "w.bgen", *case)
    header = _read_header(str(path))
    reader = _reader(str(path), use_index=False)
    try:
        want = _scan(str(path), header, reader)
    finally:
        reader.close()
    assert _table(_walk(str(path), header)) == _table(want)


def test_a_cut_anywhere_is_named(tmp_path):
    rng = np.random.default_rng(2)
    variants = [("v", f"rs{k}", "3", 100 + k, ["A", "G"], _diploid(rng, 4)) for k in range(3)]
    full = _write(tmp_path / "full.bgen", 4, variants, "zlib", 8)
    data = full.read_bytes()
    header = _read_header(str(full))
    records = _walk(str(full), header)
    assert records.end[-1] == len(data)
    cut = tmp_path / "cut.bgen"
    for size in range(int(records.start[1]), len(data)):  # records 1-2 cut short
        cut.write_bytes(data[:size])
        with pytest.raises(GenotypeFileError, match=r"cut\.bgen: .*truncated"):
            _walk(str(cut), header)


@pytest.mark.parametrize("ref_allele", ["first", "last"])
@pytest.mark.parametrize("mixed", [False, True])
def test_site_rows_from_the_packages_variants(tmp_path, ref_allele, mixed):
    """One row per ALT, built here from the package's own reading of each record."""
    rng = np.random.default_rng(7)
    variants = [
        ("v", f"rs{k}", "5", 10 + k, ["a", "Gt"] if k % 2 else ["C", "T"], _diploid(rng, 3))
        for k in range(5)
    ]
    if mixed:
        variants.insert(2, ("m", "rsm", "5", 12, ["A", "C", "G"], rng.dirichlet([1] * 6, 3)))
    path = _write(tmp_path / "s.bgen", 3, variants, "zlib", 8, samples=["x", "y", "z"])
    got = BgenSource(path, ref_allele=ref_allele).sites()
    want = []
    with bgen.BgenReader(str(path)) as reader:
        for record, var in enumerate(reader):
            stored = [a.upper() for a in var.alleles]
            ref, alts = (
                (stored[0], stored[1:]) if ref_allele == "first" else (stored[-1], stored[:-1])
            )
            for k, alt in enumerate(alts):
                want.append((var.chrom, var.pos, ref, alt, k + 1, len(stored), record, var.rsid))
    columns = ["chrom", "pos", "ref", "alt", "allele_index", "n_alleles", "record", "id"]
    assert [tuple(row) for row in got[columns].itertuples(index=False)] == want
