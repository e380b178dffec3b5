"""DS kept from the sites pass (issue 15): the short-decimal fast path and the DS store.

The kernel's codes (DS of at most three decimals) are held to ``np.float32(float(text))``
— strtod's correctly rounded double cast to float32, what htslib stores — over random
decimals (short and long, with exponents, ``.``, signs, out of range), and whole files are
held bit for bit to the checked engine (cyvcf2) for DS and GP."""

from __future__ import annotations

import re

import numpy as np
import pytest
from benchmarks.imputed_case import write_minimac_vcf
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.errors import GenotypeFileError
from prs.genotypes.fastvcf import FastVcfSource
from prs.genotypes.vcf import VcfSource
from prs.kernels import fields as kf
from tests.builders import tmp_path_settings, write_vcf_text

_SHORT = re.compile(r"(\d+\.?\d*|\.\d+)")


def _ds_texts() -> st.SearchStrategy[str]:
    digits = st.integers(0, 10**20).map(str)
    return st.one_of(
        st.builds(lambda a, b, n: f"{a}.{b[:n]}", st.integers(0, 2), digits, st.integers(0, 9)),
        st.floats(0, 2.002, allow_nan=False).map(repr),
        st.floats(0, 2).map(lambda x: f"{x:.4e}"),
        st.builds(lambda b: f".{b[:5]}", digits.filter(bool)),
        st.sampled_from([".", "2", "2.000", "2.001", "2.0009", "2.0011", "1.", "00.5", "-0.1"]),
        st.sampled_from(["+1", "1e0", "3", "0.5.1", "1,0", ""]),
    )


def _line(ds: list[str]) -> bytes:
    columns = [f"0|1:{text}:0.5,0.5:0.25,0.5,0.25" for text in ds]
    return ("22\t10\t.\tA\tG\t.\tPASS\t.\tGT:DS:HDS:GP\t" + "\t".join(columns)).encode()


def _reference(text: str) -> tuple[bool, np.float32]:
    """Whether the fast path must take the value, and the float32 htslib stores."""
    if text == ".":
        return True, np.float32(np.nan)
    if not _SHORT.fullmatch(text) or sum(c.isdigit() for c in text) > 15:
        return False, np.float32(0)
    value = np.float32(float(text))
    decimals = len(text.partition(".")[2].rstrip("0"))
    return decimals <= 3 and float(text) <= 2.0, value


@settings(max_examples=300, deadline=None)
@given(st.lists(_ds_texts(), min_size=1, max_size=12))
def test_simple_ds_values_are_htslibs_float32(texts):
    data = _line(texts)
    buf = np.zeros(len(data) + 16, dtype=np.uint8)
    buf[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    fmt = data.index(b"GT:DS")
    lines = np.array([[0, len(data)]], dtype=np.int64)
    fields = np.array([[0, fmt, fmt + len("GT:DS:HDS:GP") + 1]], dtype=np.int64)
    codes = np.zeros((1, len(texts)), dtype=np.uint16)
    simple = np.zeros(1, dtype=np.bool_)
    sample_out = np.arange(len(texts), dtype=np.int64)
    rows = np.zeros(1, dtype=np.int64)
    kf.parse_simple_ds(buf, lines, fields, rows, sample_out, codes, simple)
    expected = [_reference(t) for t in texts]
    # Never a value other than htslib's; the short decimals are all taken.
    if simple[0]:
        assert all(take for take, _ in expected)
        want = np.array([v for _, v in expected], dtype=np.float32)
        missing = codes[0] == kf.DS_CODE_MISSING
        values = np.where(missing, np.float32(np.nan), kf.DS_MILLI[np.minimum(codes[0], 2000)])
        assert values.view(np.uint32).tolist() == want.view(np.uint32).tolist()
    else:
        assert not all(take for take, _ in expected)


def test_ds_milli_table_is_strtod_then_float32():
    for m in range(2001):
        text = f"{m // 1000}.{m % 1000:03d}"
        assert kf.DS_MILLI[m].view(np.uint32) == np.float32(float(text)).view(np.uint32)


_HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=22,length=51304566>\n##contig=<ID=X,length=1000000>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">\n'
    '##FORMAT=<ID=HDS,Number=2,Type=Float,Description="Haplotype dosages">\n'
    '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Probabilities">\n'
)
_CALLS = ["0|0", "0|1", "1|0", "1|1", "0/1", "0", "1", "./.", "."]
_VALID_DS = st.one_of(
    st.builds(lambda m, d: f"{m / 1000:.{d}f}", st.integers(0, 2000), st.integers(0, 3)),
    st.floats(0, 2, allow_nan=False).map(repr),
    st.floats(1e-6, 2).map(lambda x: f"{x:.3e}"),
    st.just("."),
)


@st.composite
def _records(draw):
    n = draw(st.integers(1, 6))
    records = []
    for i in range(draw(st.integers(1, 8))):
        chrom = draw(st.sampled_from(["22", "X"]))
        cells = []
        for _ in range(n):
            call = draw(st.sampled_from(_CALLS))
            ds = draw(_VALID_DS)
            cells.append(f"{call}:{ds}:0.1,0.2:0.7,0.2,0.1")
        records.append(
            f"{chrom}\t{100 + i}\t.\tA\tG\t.\tPASS\t.\tGT:DS:HDS:GP\t" + "\t".join(cells)
        )
    return vcf_text(records, n)


def vcf_text(records: list[str], n: int) -> str:
    """A VCF of ``records`` (tab-joined lines) and samples S0..S{n-1}, with the DS/HDS/GP
    header lines."""
    samples = "\t".join(f"S{k}" for k in range(n))
    header = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + samples + "\n"
    return _HEADER + header + "\n".join(records) + "\n"


def _dosages(source) -> tuple[np.ndarray, np.ndarray]:
    sites = source.sites()
    records = np.repeat(sites["record"].to_numpy(), 2)
    alleles = np.tile([0, 1], len(sites)).astype(np.int64)
    chunks = list(source.read(records, alleles, chunk_size=3))
    return np.concatenate([c.dosage for c in chunks]), np.concatenate([c.ploidy for c in chunks])


def _assert_bit_equal(path, dosage: str, cache_bytes: int = 1 << 28, **options) -> FastVcfSource:
    """Both engines' dosages bit for bit, or the same error (a DS above a haploid call's
    ploidy is one)."""
    fast_source = FastVcfSource(path, dosage=dosage, cache_bytes=cache_bytes, **options)
    try:
        checked = _dosages(VcfSource(path, dosage=dosage, **options))
    except GenotypeFileError as error:
        with pytest.raises(GenotypeFileError) as fast_error:
            _dosages(fast_source)
        assert str(fast_error.value) == str(error)
        return fast_source
    fast = _dosages(fast_source)
    assert fast[0].view(np.uint64).tolist() == checked[0].view(np.uint64).tolist()
    assert np.array_equal(fast[1], checked[1])
    return fast_source


@tmp_path_settings(30)
@given(_records(), st.sampled_from(["as-diploid", "haploid"]))
def test_random_ds_files_bit_equal_to_the_checked_engine(tmp_path, text, haploid):
    path = write_vcf_text(tmp_path / "ds.vcf", text, index=False)
    _assert_bit_equal(path, "DS", haploid=haploid)


@pytest.mark.parametrize("dosage", ["DS", "GP"])
def test_minimac4_file_bit_equal_to_the_checked_engine(tmp_path, dosage):
    path = tmp_path / "minimac.vcf.gz"
    write_minimac_vcf(path, 30, 120, seed=7)
    source = _assert_bit_equal(path, dosage)
    if dosage == "DS":  # every record taken in the sites pass
        assert (source._listed.ds_row >= 0).all()


def test_ds_store_bounded_by_cache_bytes(tmp_path):
    """Records beyond the budget are read again from the text: same dosages."""
    path = tmp_path / "minimac.vcf.gz"
    write_minimac_vcf(path, 30, 120, seed=8)
    source = _assert_bit_equal(path, "DS", cache_bytes=2 * 30 * 50)
    kept = source._listed.ds_row >= 0
    assert kept.sum() == 50 and not kept[50:].any()


def test_results_do_not_depend_on_threads(tmp_path):
    path = tmp_path / "minimac.vcf.gz"
    write_minimac_vcf(path, 40, 150, seed=9)
    one, two = (_dosages(FastVcfSource(path, dosage="DS", threads=t)) for t in (1, 2))
    assert one[0].view(np.uint64).tolist() == two[0].view(np.uint64).tolist()
    assert np.array_equal(one[1], two[1])
