"""The int8 hard-call path (PLINK ``.pgen``/``.bed``) against the float64 dosage path.

PLINK chunks stay ``int8`` (-9 missing) from pgenlib to the accumulate kernel. Every path
that reads them (the loop kernel, threads, the BLAS product for many scores, the ploidy
model) must give the totals the float64 dosages of the same calls give, bit for bit; the
reader's chunks must hold what PLINK 2 itself exports, in chunks bounded in genotypes.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prs
import prs.genotypes.plink as plink_module
import prs.scoring.totals as totals_module
from prs.genotypes import PlinkSource
from prs.genotypes.base import chunk_dosages
from prs.ploidy import MT, X_NONPAR, Y, apply_ploidy_model
from prs.scoring.totals import ScoreTotals
from tests.builders import write_scorefile
from tests.test_kernels import call_chunks, reference_dosages


def totals_in_pieces(chunk, rows_of, *, impute, threads, matmul, pieces, diploid=False):
    """``ScoreTotals`` fed ``chunk`` (dosages or int8 calls) in ``pieces`` row pieces;
    ``rows_of`` = (ploidy, weights, counts, effect_type, freq, freq_ploidy or an empty
    array); ``diploid`` as ``ScoreTotals.add`` takes it. Returns (totals, all_missing, the
    frequencies of every row)."""
    ploidy, weights, counts, effect_type, freq, fp = rows_of
    totals = ScoreTotals(
        weights.shape[1], chunk.shape[1], impute, threads=threads, matmul=matmul, kernels=True
    )
    frequencies = []
    for rows in np.array_split(np.arange(len(chunk)), pieces):
        if len(rows):
            frequencies.append(
                totals.add(
                    chunk[rows],
                    ploidy[rows],
                    weights[rows],
                    counts[rows],
                    effect_type[rows],
                    freq[rows],
                    fp[rows] if fp.size else None,
                    diploid=diploid,
                )
            )
    totals.close()
    return totals.totals(), totals.all_missing, np.concatenate(frequencies)


@given(call_chunks(), st.booleans(), st.integers(1, 3), st.integers(1, 3))
@settings(max_examples=200, deadline=None)
def test_score_totals_take_calls_as_their_dosages(case, matmul, threads, pieces):
    """Loop (threaded) and BLAS paths, fed in pieces: int8 calls give the float64 totals."""
    calls, ploidy, weights, counts, effect_type, impute, freq, fp = case
    dosage = reference_dosages(calls)
    results = []
    old = totals_module._SPLIT_MIN_GENOTYPES
    totals_module._SPLIT_MIN_GENOTYPES = 1  # split even tiny chunks between threads
    try:
        for chunk in (dosage, calls):
            results.append(
                totals_in_pieces(
                    chunk,
                    (ploidy, weights, counts, effect_type, freq, fp),
                    impute=impute,
                    threads=threads,
                    matmul=matmul,
                    pieces=pieces,
                )
            )
    finally:
        totals_module._SPLIT_MIN_GENOTYPES = old
    assert_same_totals(*results)


def assert_same_totals(a_result, b_result) -> None:
    """Two (totals, all_missing, frequencies) equal bit for bit."""
    (a, a_missing, a_freq), (b, b_missing, b_freq) = a_result, b_result
    for name in a:
        np.testing.assert_array_equal(b[name], a[name], err_msg=name)
    assert a_missing == b_missing
    np.testing.assert_array_equal(a_freq, b_freq)


@given(call_chunks(), st.integers(1, 2), st.data())
@settings(max_examples=100, deadline=None)
def test_ploidy_model_takes_calls_as_their_dosages(case, xchr_model, data):
    calls, ploidy, *_ = case
    k, n = calls.shape
    ploidy = np.where(ploidy < 0, 2, ploidy).astype(np.int8)  # as a source reads them
    row_class = np.array(
        data.draw(st.lists(st.sampled_from([0, X_NONPAR, Y, MT]), min_size=k, max_size=k)),
        dtype=np.int8,
    )
    sex = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int8)
    a = apply_ploidy_model(reference_dosages(calls), ploidy, row_class, sex, xchr_model=xchr_model)
    b = apply_ploidy_model(calls, ploidy, row_class, sex, xchr_model=xchr_model)
    assert b[0].dtype == np.float64
    for x, y in zip(a, b, strict=True):
        if x is None:
            assert y is None
        else:
            np.testing.assert_array_equal(y, x)


# ---------------------------------------------------------------------------------------------
# The reader, against PLINK 2's own export of the same fileset


@pytest.fixture(scope="module")
def dummy(plink2, tmp_path_factory) -> dict[str, object]:
    """A ``plink2 --dummy`` fileset with 10% missing calls (pgen and bed), the ALT copies
    PLINK 2's ``--export A`` gives, and its VCF export."""
    tmp = tmp_path_factory.mktemp("dummy")
    prefix = tmp / "d"
    common = ["--seed", "7", "--threads", "1", "--silent"]
    subprocess.run(
        [plink2, "--dummy", "37", "61", "0.1", "0", "acgt", "--out", str(prefix), *common],
        check=True,
    )
    # Positions and IDs the scoring files can name (--dummy writes all on chromosome 1).
    pvar = pd.read_csv(f"{prefix}.pvar", sep="\t")
    pvar["POS"] = 1000 + 10 * np.arange(len(pvar))
    pvar["ID"] = [f"v{i}" for i in range(len(pvar))]
    pvar.to_csv(f"{prefix}.pvar", sep="\t", index=False)
    subprocess.run(
        [plink2, "--pfile", str(prefix), "--make-bed", "--out", str(prefix), *common], check=True
    )
    subprocess.run(
        [plink2, "--pfile", str(prefix), "--export", "A", "--out", str(prefix), *common], check=True
    )
    subprocess.run(
        [plink2, "--pfile", str(prefix), "--export", "vcf", "bgz", "--out", str(prefix), *common],
        check=True,
    )
    raw = pd.read_csv(f"{prefix}.raw", sep="\t")
    counted = raw.iloc[:, 6:].to_numpy(dtype=np.float64).T  # variants x samples, NaN missing
    # Each column is named ID_ALLELE after the allele it counts (PLINK 2 counts REF).
    counts_alt = np.array([c.rsplit("_", 1)[1] for c in raw.columns[6:]]) == pvar["ALT"].to_numpy()
    assert not counts_alt.all()
    alt_copies = np.where(counts_alt[:, None], counted, 2 - counted)
    return {"prefix": prefix, "pvar": pvar, "alt": alt_copies, "dir": tmp}


@pytest.mark.parametrize("suffix", [".pgen", ".bed"])
def test_chunks_are_plink2s_calls_in_bounded_chunks(dummy, suffix, monkeypatch):
    """Each chunk holds int8 copies of the requested allele equal to PLINK 2's --export A
    (REF and ALT, missing stays missing), and at most CHUNK_GENOTYPES genotypes."""
    alt = dummy["alt"]
    k, n = alt.shape
    assert np.isnan(alt).any()
    monkeypatch.setattr(plink_module, "CHUNK_GENOTYPES", 5 * n)
    source = PlinkSource(f"{dummy['prefix']}{suffix}")
    records = np.repeat(np.arange(k), 2)
    alleles = np.tile([0, 1], k)
    got = np.empty((2 * k, n))
    for chunk in source.read(records, alleles, chunk_size=1024):
        assert chunk.dosage.dtype == np.int8 and chunk.dosage.size <= 5 * n
        got[chunk.request] = chunk_dosages(chunk.dosage)
    np.testing.assert_array_equal(got[1::2], alt)
    np.testing.assert_array_equal(got[0::2], 2 - alt)


@pytest.mark.parametrize("missing", ["mean-impute", "scorefile-freq", "none"])
def test_missing_policies_and_effect_types_equal_the_vcf(dummy, missing, monkeypatch):
    """Over missing calls, with REF and ALT effect alleles, dominant and recessive rows and
    published frequencies: .pgen and .bed give the totals of PLINK 2's VCF export of the
    same fileset, in small chunks too."""
    pvar = dummy["pvar"]
    rng = np.random.default_rng(3)
    rows = []
    for i, (pos, ref, alt) in enumerate(zip(pvar["POS"], pvar["REF"], pvar["ALT"], strict=True)):
        effect, other = (ref, alt) if i % 3 == 0 else (alt, ref)
        kind = i % 4  # additive twice, dominant, recessive
        rows.append(
            (
                1,
                pos,
                effect,
                other,
                round(float(rng.normal()), 4),
                str(kind == 2).upper(),
                str(kind == 3).upper(),
                round(float(rng.random()), 3),
            )
        )
    sf = write_scorefile(
        dummy["dir"] / f"score-{missing}.txt",
        rows,
        header={"pgs_id": "T"},
        columns=(
            "chr_name",
            "chr_position",
            "effect_allele",
            "other_allele",
            "effect_weight",
            "is_dominant",
            "is_recessive",
            "allelefrequency_effect",
        ),
    )
    prefix = dummy["prefix"]
    vcf = prs.score(f"{prefix}.vcf.gz", sf, missing=missing, keep_ambiguous=True)
    assert vcf.missing_ct.sum() > 0
    for chunk_genotypes in (plink_module.CHUNK_GENOTYPES, 37 * 4):
        monkeypatch.setattr(plink_module, "CHUNK_GENOTYPES", chunk_genotypes)
        for suffix in (".pgen", ".bed"):
            other = prs.score(f"{prefix}{suffix}", sf, missing=missing, keep_ambiguous=True)
            for field in ("allele_ct", "denom", "named_dosage", "missing_ct", "variants_used"):
                assert np.array_equal(getattr(other, field), getattr(vcf, field)), field
            # Sums: equal to rounding (the VCF is read in chunks of its own length).
            np.testing.assert_allclose(other.sums, vcf.sums, rtol=1e-12, atol=1e-12)
            if chunk_genotypes == plink_module.CHUNK_GENOTYPES:
                assert np.array_equal(other.sums, vcf.sums), suffix


def test_plink_chunk_dosages_doc_example():
    """chunk_dosages leaves float64 chunks as they are (no copy)."""
    values = np.array([[0.5, np.nan]])
    assert chunk_dosages(values) is values


def draw_requests(data, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Requested records of ``k`` (a run of consecutive ones, read as a range, or any
    sorted ones, repeated) and alleles (REF 0 or ALT 1), drawn by hypothesis."""
    if data.draw(st.booleans()):
        first = data.draw(st.integers(0, k - 1))
        records = np.arange(first, data.draw(st.integers(first + 1, k)))
    else:
        records = np.sort(data.draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=3 * k)))
    alleles = np.array(
        data.draw(st.lists(st.integers(0, 1), min_size=len(records), max_size=len(records)))
    )
    return records, alleles


@pytest.mark.parametrize("suffix", [".pgen", ".bed"])
@given(st.data())
@settings(max_examples=40, deadline=None)
def test_chunks_read_ahead_equal_plink2s_calls(dummy, suffix, data):
    """Chunks read ahead in a thread hold PLINK 2's --export A copies, for any requested
    records (repeated, REF or ALT; runs of consecutive records, read as a range), sample
    subset and chunk size."""
    alt = dummy["alt"]
    k, n = alt.shape
    records, alleles = draw_requests(data, k)
    chunk_size = data.draw(st.integers(1, 40))
    ids = PlinkSource(f"{dummy['prefix']}{suffix}").samples
    columns = data.draw(st.none() | st.permutations(range(n)).map(lambda p: sorted(p[: n // 2])))
    samples = None if columns is None else [ids[c] for c in columns]
    source = PlinkSource(f"{dummy['prefix']}{suffix}", samples=samples)
    got = np.full((len(records), len(source.samples)), -1.0)
    for chunk in source.read(records, alleles, chunk_size=chunk_size):
        assert chunk.dosage.dtype == np.int8
        got[chunk.request] = chunk_dosages(chunk.dosage)
    expected = alt[records] if columns is None else alt[records][:, columns]
    expected = np.where(alleles[:, None] == 1, expected, 2 - expected)
    np.testing.assert_array_equal(got, expected)


def test_a_read_stopped_early_leaves_no_reader_thread(dummy):
    """Leaving the loop after the first chunk stops the reading thread (none is left
    running, nothing hangs); the next full read gives every chunk."""
    import threading

    k = dummy["alt"].shape[0]
    source = PlinkSource(f"{dummy['prefix']}.pgen")
    records, alleles = np.arange(k), np.ones(k, dtype=np.int64)
    before = {t.ident for t in threading.enumerate()}
    reading = source.read(records, alleles, chunk_size=4)
    next(reading)
    reading.close()
    left = [t for t in threading.enumerate() if t.ident not in before]
    assert not [t for t in left if t.name.startswith("prs-plink-read")]
    assert sum(len(c.request) for c in source.read(records, alleles, chunk_size=4)) == k


def test_a_pgen_cut_short_after_opening_is_named(dummy, tmp_path):
    """A .pgen cut short after the source checked it: the reading thread's error reaches
    the caller as GenotypeFileError naming the file (not a hang, not garbage)."""
    import shutil

    from prs.errors import GenotypeFileError

    prefix = tmp_path / "cut"
    for ext in (".pgen", ".pvar", ".psam"):
        shutil.copy(f"{dummy['prefix']}{ext}", f"{prefix}{ext}")
    source = PlinkSource(f"{prefix}.pgen")
    pgen = prefix.with_suffix(".pgen")
    size = pgen.stat().st_size
    with open(pgen, "r+b") as fh:
        fh.truncate(size // 2)
    k = dummy["alt"].shape[0]
    with pytest.raises(GenotypeFileError, match=r"cut\.pgen"):
        for _ in source.read(np.arange(k), np.ones(k, dtype=np.int64), chunk_size=k):
            pass


@pytest.mark.parametrize("suffix", [".pgen", ".bed"])
def test_plink_chunks_say_they_are_diploid_and_hold_ploidy_2(dummy, suffix):
    """A PLINK reader's chunks carry diploid=True and an all-2 ploidy (what the flag lets
    the scorer skip reading); the VCF readers' chunks promise nothing."""
    from prs.example import example_paths
    from prs.genotypes import open_genotypes

    k = dummy["alt"].shape[0]
    source = PlinkSource(f"{dummy['prefix']}{suffix}")
    chunks = list(source.read(np.arange(k), np.ones(k, dtype=np.int64), chunk_size=8))
    assert len(chunks) > 1 and all(c.diploid and (c.ploidy == 2).all() for c in chunks)
    for engine in ("checked", "fast"):
        vcf = open_genotypes(example_paths().vcf, engine=engine)
        records = vcf.sites()["record"].to_numpy()[:3]
        first = next(vcf.read(records, np.ones(3, dtype=np.int64)))
        assert not first.diploid
