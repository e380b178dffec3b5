"""The DS/HDS store filled while the sites pass lists records (issue 15): bit for bit.

The scan kernel hands each part of a chunk's listed records (``PART_LISTED_CAPACITY``) to
the DS parse as it lists them, so a file's records are parsed in pieces by two threads and
kept (or left to the general path) part by part. Files of more records than a part, with
records the store cannot take scattered among those it can (haploid and missing calls,
long decimals, exponents, ``.``, multi-allelic records, FORMAT without the field or with
it elsewhere, HDS/GP present or absent, fewer subfields than FORMAT keys, and one more
than FORMAT keys, which htslib refuses), are read by the fast engine and by the checked
one (cyvcf2/htslib): the same dosages and ploidy bit for bit, or the same error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from prs.errors import GenotypeFileError
from prs.genotypes.fastvcf import FastVcfSource
from prs.genotypes.fastvcf.scan import PART_LISTED_CAPACITY
from prs.genotypes.vcf import VcfSource
from tests.builders import tmp_path_settings, write_vcf_text
from tests.test_imputed_dosage import _assert_bit_equal, vcf_text


@pytest.fixture(scope="module", autouse=True)
def parts_of_sixteen_records():
    """Parts of PART_LISTED_CAPACITY records whatever the width (a part of narrow lines is
    sized by columns: these few-sample files would otherwise be one part)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("prs.genotypes.fastvcf.scan.PART_COLUMNS", 0)
        yield


_SIMPLE_CALLS = ["0|0", "0|1", "1|0", "1|1", "0/1", "1/1"]
_OTHER_CALLS = ["0", "1", "./.", ".", "0|.", "2|0"]
_LAYOUTS = ["GT:DS:HDS:GP", "GT:DS", "GT:HDS:DS", "GT:DS:GP", "GT:HDS", "DS:GT", "GT:GP"]


def _short(draw) -> str:
    """A value as imputation servers write it: at most three decimals, trailing zeros cut."""
    m = draw(st.integers(0, 1000))
    return f"{m / 1000:.3f}".rstrip("0").rstrip(".") or "0"


def _odd(draw) -> str:
    """A value the store leaves to the general path (or that is missing)."""
    return draw(
        st.sampled_from([".", "0.1234", "1e-3", "0.50000", "1.", ".5", "2.0001", "00.5", "0"])
    )


@st.composite
def _cell(draw, layout: str, rare: bool) -> str:
    call = draw(st.sampled_from(_OTHER_CALLS if rare else _SIMPLE_CALLS))
    h1, h2 = _short(draw), _short(draw)
    ds = f"{float(h1) + float(h2):.3f}".rstrip("0").rstrip(".")
    if rare and draw(st.booleans()):
        ds = _odd(draw)
    values = {
        "GT": call,
        "DS": ds or "0",
        "HDS": "." if rare and draw(st.booleans()) else f"{h1},{h2}",
        "GP": "0.25,0.5,0.25",
    }
    fields = [values[key] for key in layout.split(":")]
    keep = len(fields)
    if rare and draw(st.integers(0, 3)) == 0:
        keep = draw(st.integers(1, len(fields)))  # trailing subfields dropped (allowed)
    return ":".join(fields[:keep])


@st.composite
def _files(draw) -> str:
    n = draw(st.integers(1, 4))
    n_records = draw(st.integers(PART_LISTED_CAPACITY + 1, 3 * PART_LISTED_CAPACITY + 5))
    rare_rate = draw(st.sampled_from([0, 5, 20]))
    lines = []
    for i in range(n_records):
        rare = draw(st.integers(0, 99)) < rare_rate
        layout = draw(st.sampled_from(_LAYOUTS)) if rare else "GT:DS:HDS:GP"
        alt = "G,T" if rare and draw(st.integers(0, 3)) == 0 else "G"
        cells = [draw(_cell(layout, rare and draw(st.booleans()))) for _ in range(n)]
        lines.append(f"22\t{100 + i}\t.\tA\t{alt}\t.\tPASS\t.\t{layout}\t" + "\t".join(cells))
    return vcf_text(lines, n)


@tmp_path_settings(40)
@given(_files(), st.sampled_from(["DS", "HDS"]), st.sampled_from([1 << 28, 0, 700]))
def test_streamed_store_bit_equal_to_the_checked_engine(tmp_path, text, dosage, cache_bytes):
    """``cache_bytes`` 700: the store fills part-way through the file (and a chunk)."""
    path = write_vcf_text(tmp_path / "parts.vcf", text, index=False)
    _assert_bit_equal(path, dosage, cache_bytes=cache_bytes)


@tmp_path_settings(15)
@given(_files())
def test_one_extra_subfield_goes_to_htslib(tmp_path, text):
    """A column with more subfields than FORMAT keys, anywhere in a file of many parts:
    the record is never taken from the store but read by the checked path (htslib
    complains on stderr and reads the keys it has), with the same dosages."""
    lines = text.splitlines()
    at = len(lines) - 1 - (len(lines) // 3)
    columns = lines[at].split("\t")
    columns[-1] += ":0.5"
    lines[at] = "\t".join(columns)
    path = write_vcf_text(tmp_path / "extra.vcf", "\n".join(lines) + "\n", index=False)
    source = _assert_bit_equal(path, "DS")
    record = at - sum(line.startswith("#") for line in lines)
    assert source._listed.ds_row[record] == -1


def test_parts_are_kept_across_chunks(tmp_path):
    """Every simple record of a many-part file is kept (rows in record order)."""
    n, n_records = 3, 5 * PART_LISTED_CAPACITY + 3
    rows = [
        f"22\t{100 + i}\t.\tA\tG\t.\tPASS\t.\tGT:DS:HDS:GP\t"
        + "\t".join(f"0|1:{(i % 7) / 4:g}:0.5,0.5:0.25,0.5,0.25" for _ in range(n))
        for i in range(n_records)
    ]
    rows[PART_LISTED_CAPACITY] = rows[PART_LISTED_CAPACITY].replace("0|1:", "0:", 1)
    path = write_vcf_text(tmp_path / "kept.vcf", vcf_text(rows, n))
    source = _assert_bit_equal(path, "DS")
    assert isinstance(source, FastVcfSource)
    kept = source._listed.ds_row
    assert kept[PART_LISTED_CAPACITY] == -1  # the haploid call: read from the text
    others = np.delete(kept, PART_LISTED_CAPACITY)
    assert others.tolist() == list(range(n_records - 1))


@tmp_path_settings(10)
@given(_files(), st.sampled_from(["DS", "HDS"]))
def test_store_dosages_in_one_chunk_on_two_threads(tmp_path, text, dosage):
    """A chunk of more than 64 requests answered from the store is written by two threads
    (halves of the requests): the checked engine's dosages bit for bit."""
    path = write_vcf_text(tmp_path / "chunk.vcf", text, index=False)
    dosages = []
    for source in (FastVcfSource(path, dosage=dosage), VcfSource(path, dosage=dosage)):
        sites = source.sites()
        records = np.repeat(sites["record"].to_numpy(), 2)
        alleles = np.tile([0, 1], len(sites)).astype(np.int64)
        try:
            chunks = list(source.read(records, alleles, chunk_size=len(records)))
        except GenotypeFileError as error:
            dosages.append(str(error))
            continue
        assert len(chunks) == 1
        dosages.append((chunks[0].dosage.view(np.uint64).tolist(), chunks[0].ploidy.tolist()))
    assert dosages[0] == dosages[1]


def test_parts_are_sized_by_columns():
    """A part holds about PART_COLUMNS sample columns, at least PART_LISTED_CAPACITY
    records and at most LISTED_CAPACITY (a part of 16 four-sample records cost more to hand
    over than to parse: 5x slower on such a file, review 2026-12-01)."""
    from prs.genotypes.fastvcf import scan

    assert scan.part_capacity(9 + 4_000) == PART_LISTED_CAPACITY
    assert scan.part_capacity(-1) == PART_LISTED_CAPACITY
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan, "PART_COLUMNS", 1 << 16)
        assert scan.part_capacity(9 + 50) == (1 << 16) // 59
        assert scan.part_capacity(3) == scan.LISTED_CAPACITY  # (more than 16,384 lines)


def test_a_source_that_kept_dosages_pickles(tmp_path):
    """A fast source whose sites pass kept DS values pickles and reads the same after."""
    import pickle

    rng = np.random.default_rng(5)
    records = [
        "\t".join(
            ["1", str(100 + k), f"v{k}", "A", "G", ".", "PASS", ".", "GT:DS"]
            + [f"0|1:{rng.integers(0, 2001) / 1000:.3f}" for _ in range(3)]
        )
        for k in range(40)
    ]
    text = vcf_text(records, 3)
    path = write_vcf_text(tmp_path / "p.vcf", text, index=False)
    source = FastVcfSource(str(path), dosage="DS")
    sites = source.sites()
    records = sites["record"].to_numpy(np.int64)
    alleles = sites["allele_index"].to_numpy(np.int64)
    again = pickle.loads(pickle.dumps(source))
    for a, b in zip(source.read(records, alleles), again.read(records, alleles), strict=True):
        np.testing.assert_array_equal(a.dosage, b.dosage)
