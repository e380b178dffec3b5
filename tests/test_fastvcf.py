"""The fast VCF path agrees with the checked path and with cyvcf2's allele indexes."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.errors import GenotypeFileError
from prs.genotypes.fastvcf import FastVcfSource, qualifies
from prs.genotypes.fastvcf.sitetable import site_strings as _site_strings
from prs.genotypes.fastvcf.sitetable import site_strings_python as _site_strings_python
from prs.genotypes.vcf import VcfSource
from tests.builders import random_vcf_text, vcf_header, write_vcf_text


def _all_requests(sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every allele (REF and each ALT) of every listed record, sorted by record."""
    per_record = sites.groupby("record", sort=True)["n_alleles"].first()
    records = np.repeat(per_record.index.to_numpy(), per_record.to_numpy())
    alleles = np.concatenate([np.arange(n) for n in per_record.to_numpy()])
    return records.astype(np.int64), alleles.astype(np.int64)


def _read_all(source, records, alleles, chunk_size=5):
    chunks = list(source.read(records, alleles, chunk_size=chunk_size))
    request = np.concatenate([c.request for c in chunks])
    assert np.array_equal(request, np.arange(len(records)))
    return np.vstack([c.dosage for c in chunks]), np.vstack([c.ploidy for c in chunks])


def assert_same_as_checked(path: Path, wanted=None, **options) -> FastVcfSource:
    fast = FastVcfSource(path, **options)
    checked = VcfSource(path, **options)
    fast_sites = fast.sites(wanted)
    checked_sites = checked.sites(wanted)
    pd.testing.assert_frame_equal(fast_sites, checked_sites)
    if len(fast_sites):
        records, alleles = _all_requests(fast_sites)
        d1, p1 = _read_all(fast, records, alleles)
        d2, p2 = _read_all(checked, records, alleles)
        np.testing.assert_array_equal(d1, d2)
        np.testing.assert_array_equal(p1, p2)
    assert fast.fallback_to_gt == checked.fallback_to_gt
    return fast


@pytest.mark.parametrize("seed", range(12))
def test_gt_matches_checked_path(tmp_path, seed):
    path = write_vcf_text(tmp_path / "x.vcf", random_vcf_text(seed, n_records=60))
    assert_same_as_checked(path)
    assert_same_as_checked(path, haploid="haploid")


@pytest.mark.parametrize("policy", ["missing", "haploid", "reference"])
@pytest.mark.parametrize("seed", range(4))
def test_half_call_policies_match(tmp_path, seed, policy):
    path = write_vcf_text(tmp_path / "x.vcf", random_vcf_text(seed, half_calls=True))
    assert_same_as_checked(path, half_call=policy)


def test_half_call_error_is_the_checked_error(tmp_path):
    path = write_vcf_text(tmp_path / "x.vcf", random_vcf_text(3, half_calls=True, n_records=80))
    fast, checked = FastVcfSource(path), VcfSource(path)
    records, alleles = _all_requests(fast.sites())
    checked.sites()
    with pytest.raises(GenotypeFileError) as fast_error:
        _read_all(fast, records, alleles)
    with pytest.raises(GenotypeFileError) as checked_error:
        _read_all(checked, records, alleles)
    assert str(fast_error.value) == str(checked_error.value)
    assert str(path) in str(fast_error.value)


@pytest.mark.parametrize("field", ["DS", "GP"])
@pytest.mark.parametrize("seed", range(6))
def test_dosage_fields_match(tmp_path, seed, field):
    path = write_vcf_text(tmp_path / "x.vcf", random_vcf_text(seed, dosage=True, haploid=False))
    assert_same_as_checked(path, dosage=field)


def test_wanted_positions_and_sample_subset(tmp_path):
    path = write_vcf_text(tmp_path / "x.vcf", random_vcf_text(5, n_records=80))
    text = gzip.open(path, "rt").read()
    positions = [int(line.split("\t")[1]) for line in text.splitlines() if line[0] != "#"]
    wanted = {"22": np.array([*sorted(set(positions[::3])), 10**9])}
    assert_same_as_checked(path, wanted=wanted)
    assert_same_as_checked(path, wanted={"7": np.array([1])})
    assert_same_as_checked(path, samples=["S4", "S0", "S2"])


def test_small_buffers_and_cache_limits(tmp_path):
    """Lines split across chunks, records beyond the cache read again from their blocks."""
    path = write_vcf_text(tmp_path / "x.vcf", random_vcf_text(9, n_samples=300, n_records=300))
    checked = VcfSource(path)
    sites = checked.sites()
    records, alleles = _all_requests(sites)
    expected = _read_all(checked, records, alleles, chunk_size=64)
    for cache_bytes in (0, 5000, 1 << 30):
        fast = FastVcfSource(path, cache_bytes=cache_bytes)
        pd.testing.assert_frame_equal(fast.sites(), sites)
        got = _read_all(fast, records, alleles, chunk_size=64)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def test_against_cyvcf2_allele_indexes(tmp_path):
    """Dosages equal the count of each allele index in cyvcf2's genotype array."""
    from cyvcf2 import VCF

    for seed in range(5):
        path = write_vcf_text(tmp_path / f"c{seed}.vcf", random_vcf_text(seed, haploid=False))
        fast = FastVcfSource(path)
        records, alleles = _all_requests(fast.sites())
        dosage, _ = _read_all(fast, records, alleles)
        rows = []
        for variant in VCF(str(path)):
            gt = variant.genotype.array()[:, :-1]
            missing = (gt < 0).all(axis=1)
            for a in range(len(variant.ALT) + 1):
                row = (gt == a).sum(axis=1).astype(float)
                row[missing] = np.nan
                rows.append(row)
        np.testing.assert_array_equal(dosage, np.vstack(rows))


def _bad_file(tmp_path: Path, record_line: str) -> Path:
    good = "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n"
    text = vcf_header(["S0", "S1"]) + good + record_line + good.replace("100", "300")
    return write_vcf_text(tmp_path / "bad.vcf", text, index=False)


@pytest.mark.parametrize(
    "line",
    [
        "\n",
        "   \n",
        "22\t200\trs2\tA\tG\t.\tPASS\n",
        "\t200\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
        "22\t2x0\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
        "22\t2147483648\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
        "22\t99999999999999999999\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
        "<22>\t200\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
        ",1\t200\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
        "*1\t200\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
        "22 x\t200\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
        "22\t200\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\n",
        "22\t200\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\n",
        "22\t200\trs2\t.\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
    ],
)
def test_structural_errors_are_the_checked_errors(tmp_path, line):
    path = _bad_file(tmp_path, line)
    with pytest.raises(GenotypeFileError) as fast_error:
        FastVcfSource(path).sites()
    with pytest.raises(GenotypeFileError) as checked_error:
        VcfSource(path).sites()
    assert str(fast_error.value) == str(checked_error.value)


@pytest.mark.parametrize(
    "call",
    ["0|5", "0/1/1", "a|1", "0|1:", "1", "."],
)
def test_odd_calls_match_checked_path(tmp_path, call):
    path = _bad_file(tmp_path, f"22\t200\trs2\tA\tG\t.\tPASS\t.\tGT\t{call}\t1|1\n")
    fast, checked = FastVcfSource(path), VcfSource(path)
    records, alleles = _all_requests(fast.sites())
    checked.sites()
    try:
        expected = _read_all(checked, records, alleles)
    except GenotypeFileError as exc:
        with pytest.raises(GenotypeFileError) as fast_error:
            _read_all(fast, records, alleles)
        assert str(fast_error.value) == str(exc)
        return
    got = _read_all(fast, records, alleles)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_truncated_and_plain_files(tmp_path):
    path = write_vcf_text(tmp_path / "x.vcf", random_vcf_text(1, n_records=200), index=False)
    data = path.read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[:-28])  # without the EOF block: a valid-looking shorter file
    with pytest.raises(GenotypeFileError, match="truncated"):
        FastVcfSource(cut)
    plain = write_vcf_text(tmp_path / "p.vcf", random_vcf_text(1), container="plain")
    assert not qualifies(plain)
    with pytest.raises(GenotypeFileError, match="bgzipped"):
        FastVcfSource(plain)


def test_multiple_files_number_records_globally(tmp_path):
    a = write_vcf_text(tmp_path / "a.vcf", random_vcf_text(1, contig="21"))
    b = write_vcf_text(tmp_path / "b.vcf", random_vcf_text(2, contig="chr22"))
    fast = FastVcfSource([a, b])
    checked = VcfSource([a, b])
    pd.testing.assert_frame_equal(fast.sites(), checked.sites())


SHARED_FILES = [
    "imputationserver/chr20-phased/chr20.R50.merged.1.330k.recode.small.vcf.gz",
    "imputationserver/chrX-phased/small.chrX.vcf.gz",
    "imputationserver/chr22.hg19/chr22.hg19.vcf.gz",
]


@pytest.mark.shared
@pytest.mark.parametrize("name", SHARED_FILES)
def test_shared_real_files(name, shared_data):
    path = shared_data / "genotypes" / name
    if not path.exists():
        pytest.skip(f"{path} not available (../shared/data)")
    fast = FastVcfSource(path)
    checked = VcfSource(path)
    sites = fast.sites()
    pd.testing.assert_frame_equal(sites, checked.sites())
    records, alleles = _all_requests(sites.iloc[:: max(1, len(sites) // 3000)])
    np.testing.assert_array_equal(
        _read_all(fast, records, alleles, 512)[0], _read_all(checked, records, alleles, 512)[0]
    )


@pytest.mark.parametrize("seed", range(4))
def test_indexed_reads_find_the_same_sites_and_dosages(tmp_path, seed):
    """Reading only the tabix windows of wanted positions gives the same table and dosages,
    record numbers included (issue 10, F17: they numbered records by text offset)."""
    text = random_vcf_text(seed, n_samples=120, n_records=3000)
    path = write_vcf_text(tmp_path / "x.vcf", text)
    positions = [int(line.split("\t")[1]) for line in text.splitlines() if line[0] != "#"]
    rng = np.random.default_rng(seed)
    wanted = {"22": np.unique(rng.choice(positions, 25)), "9": np.array([5])}
    full = FastVcfSource(path, index="never")
    indexed = FastVcfSource(path, index="always")
    a, b = full.sites(wanted), indexed.sites(wanted)
    assert indexed._blocks and full._blocks  # (each read its own way)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(b, VcfSource(path).sites(wanted))
    ra, aa = _all_requests(a)
    rb, ab = _all_requests(b)
    np.testing.assert_array_equal(_read_all(full, ra, aa)[0], _read_all(indexed, rb, ab)[0])


def test_gp_all_dots_is_missing_in_both_engines(tmp_path):
    """A GP record with "." for every sample (htslib then keeps one value per sample) is a
    missing call for everyone; the checked path used to fail with an IndexError."""
    text = vcf_header(["S0", "S1"], formats="GT:GP") + (
        "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT:GP\t0|1:.\t0|0:.\n"
        "22\t200\trs2\tC\tT\t.\tPASS\t.\tGT:GP\t0|1:0,1,0\t1|1:0,0,1\n"
    )
    path = write_vcf_text(tmp_path / "gp.vcf", text)
    fast = assert_same_as_checked(path, dosage="GP")
    dosage, _ = _read_all(fast, np.array([0, 1]), np.array([1, 1]))
    assert np.isnan(dosage[0]).all()
    np.testing.assert_array_equal(dosage[1], [1.0, 2.0])


_ALLELE = st.text(alphabet="ACGTNacgt*", min_size=1, max_size=4)


@given(
    st.lists(
        st.tuples(
            st.text(alphabet="rs0123456789;._", min_size=1, max_size=8),
            _ALLELE,
            st.one_of(st.just("."), st.lists(_ALLELE, min_size=1, max_size=3).map(",".join)),
        ),
        min_size=1,
        max_size=30,
    )
)
@settings(max_examples=200, deadline=None)
def test_site_strings_from_bytes_equal_python_split(records):
    """ID, REF and one row per ALT allele built from the bytes as Arrow strings equal the
    same split done with Python strings."""
    data = np.frombuffer("".join(f"{i}\t{r}\t{a}\n" for i, r, a in records).encode(), np.uint8)
    n_alt = np.array([0 if a == "." else a.count(",") + 1 for _, _, a in records])
    fast = _site_strings(data, n_alt, np.maximum(n_alt, 1))
    slow = _site_strings_python(data, n_alt)
    assert fast is not None
    for got, expected in zip(fast, slow, strict=True):
        assert got.to_pylist() == expected.to_pylist()
    assert fast[2].to_pylist().count("") == int((n_alt == 0).sum())


def test_site_strings_not_utf8_decoded_with_replacement():
    data = np.frombuffer(b"rs\xff1\tA\tC\nrs2\tg\tT,A\n", np.uint8)
    n_alt = np.array([1, 2])
    assert _site_strings(data, n_alt, n_alt) is None
    ids, refs, alts = _site_strings_python(data, n_alt)
    assert ids.to_pylist() == ["rs\ufffd1", "rs2"]
    assert refs.to_pylist() == ["A", "G"]
    assert alts.to_pylist() == ["C", "T", "A"]


def test_site_strings_non_ascii_upper_cased_as_python_does():
    """Non-ASCII alleles (malformed, but they reach the report) go through Python's
    str.upper, as on the checked path: 'ß' becomes 'SS', not Arrow's 'ẞ'."""
    data = np.frombuffer("rs1\tß\tc\n".encode(), np.uint8)
    n_alt = np.array([1])
    assert _site_strings(data, n_alt, n_alt) is None
    _ids, refs, alts = _site_strings_python(data, n_alt)
    assert (refs.to_pylist(), alts.to_pylist()) == (["SS"], ["C"])
