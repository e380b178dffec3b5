"""The accumulate kernel against a plain-numpy reference (property-based)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from prs.genotypes.base import chunk_dosages
from prs.kernels.accumulate import accumulate_calls, accumulate_scores
from prs.kernels.calls import call_dosages, other_allele_calls
from prs.scoring.totals import ScoreTotals
from tests.reference import accumulate_reference, all_missing_reference


@st.composite
def chunks(draw):
    k = draw(st.integers(1, 12))
    n = draw(st.integers(1, 15))
    s = draw(st.integers(1, 4))
    calls = draw(arrays(np.int8, (k, n), elements=st.integers(-1, 2)))
    ploidy = np.where(draw(arrays(np.bool_, (k, n))), 1, 2).astype(np.int8)
    dosage = np.where(calls < 0, np.nan, np.minimum(calls, ploidy)).astype(np.float64)
    weights = draw(arrays(np.float64, (k, s), elements=st.floats(-3, 3, allow_nan=False)))
    weights[draw(arrays(np.bool_, (k, s)))] = np.nan
    effect_type = draw(arrays(np.int8, k, elements=st.integers(0, 2)))
    freq = draw(arrays(np.float64, k, elements=st.floats(0, 1) | st.just(np.nan)))
    impute = draw(st.integers(0, 2))
    return dosage, ploidy, weights, effect_type, impute, freq


@st.composite
def sex_chromosome_chunks(draw):
    """Chunks as :func:`chunks`, some calls not counted (ploidy -1: chrY in non-males) and
    some counted on one allele for the frequency (a male's chrX call)."""
    dosage, ploidy, weights, effect_type, impute, freq = draw(chunks())
    skip = draw(arrays(np.bool_, dosage.shape))
    ploidy = np.where(skip, -1, ploidy).astype(np.int8)
    dosage = np.where(skip, np.nan, dosage)
    halve = draw(arrays(np.bool_, dosage.shape)) & (ploidy == 2)
    freq_ploidy = np.where(halve, 1, ploidy).astype(np.int8)
    return dosage, ploidy, weights, effect_type, impute, freq, freq_ploidy


@given(chunks())
@settings(max_examples=200, deadline=None)
def test_kernel_matches_numpy_reference(case):
    dosage, ploidy, weights, effect_type, impute, freq = case
    k, n = dosage.shape
    s = weights.shape[1]
    out = {name: np.zeros((s, n)) for name in ("sums", "allele_ct", "denom", "named")}
    missing = np.zeros((s, n), dtype=np.int64)
    uniform = np.zeros(s)
    all_missing = accumulate_scores(
        dosage,
        ploidy,
        weights,
        ~np.isnan(weights),
        effect_type,
        impute,
        freq,
        out["sums"],
        out["allele_ct"],
        out["denom"],
        out["named"],
        missing,
        np.empty(k),
        uniform,
        np.empty((k, 0), dtype=np.int8),
    )
    assert all_missing == int(np.isnan(dosage).all(axis=1).sum())
    out["allele_ct"] += uniform[:, None]
    out["denom"] += uniform[:, None]
    ref = {
        k: v.T
        for k, v in accumulate_reference(dosage, ploidy, weights, effect_type, impute, freq).items()
    }
    np.testing.assert_allclose(out["sums"], ref["sums"], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(out["allele_ct"], ref["allele_ct"])
    np.testing.assert_array_equal(out["denom"], ref["denom"])
    np.testing.assert_allclose(out["named"], ref["named"], atol=1e-12)
    np.testing.assert_array_equal(missing, ref["missing"])


def test_hand_computed_chunk():
    # two variants, three samples, one score; sample 2 missing at variant 0
    dosage = np.array([[0.0, 1.0, np.nan], [2.0, 1.0, 0.0]])
    ploidy = np.full((2, 3), 2, dtype=np.int8)
    weights = np.array([[0.5], [-1.0]])
    sums, act, den, named = (np.zeros((1, 3)) for _ in range(4))
    missing = np.zeros((1, 3), dtype=np.int64)
    freq = np.empty(2)
    uniform = np.zeros(1)
    accumulate_scores(
        dosage,
        ploidy,
        weights,
        np.ones((2, 1), dtype=bool),
        np.zeros(2, np.int8),
        1,
        np.full(2, np.nan),
        sums,
        act,
        den,
        named,
        missing,
        freq,
        uniform,
        np.empty((2, 0), dtype=np.int8),
    )
    # variant 1 is called in all three diploid samples: its 2 alleles each are kept as a
    # constant rather than added sample by sample
    np.testing.assert_array_equal(uniform, [2.0])
    act += uniform[:, None]
    den += uniform[:, None]
    # variant 0 frequency = 1/4; sample 2 imputed 2 * 1/4 = 0.5 copies
    np.testing.assert_allclose(freq, [0.25, 0.5])
    np.testing.assert_allclose(sums[0], [0 * 0.5 + 2 * -1, 0.5 - 1, 0.5 * 0.5 + 0])
    np.testing.assert_array_equal(act[0], [4, 4, 2])
    np.testing.assert_array_equal(den[0], [4, 4, 4])
    np.testing.assert_array_equal(missing[0], [0, 0, 1])


@given(chunks(), st.booleans(), st.integers(1, 3), st.integers(1, 4))
@settings(max_examples=200, deadline=None)
def test_score_totals_paths_match_reference(case, matmul, threads, pieces):
    """Loop path (threaded or not) and matrix-product path, fed in pieces, equal the reference."""
    dosage, ploidy, weights, effect_type, impute, freq = case
    k, n = dosage.shape
    s = weights.shape[1]
    totals = ScoreTotals(s, n, impute, threads=threads, matmul=matmul, kernels=True)
    import prs.scoring.totals as acc

    old = acc._SPLIT_MIN_GENOTYPES
    acc._SPLIT_MIN_GENOTYPES = 1  # split even these tiny chunks between threads
    try:
        frequencies = []
        for rows in np.array_split(np.arange(k), pieces):
            if len(rows):
                frequencies.append(
                    totals.add(
                        dosage[rows],
                        ploidy[rows],
                        weights[rows],
                        ~np.isnan(weights[rows]),
                        effect_type[rows],
                        freq[rows],
                    )
                )
    finally:
        acc._SPLIT_MIN_GENOTYPES = old
        totals.close()
    out = totals.totals()
    ref = {
        k: v.T
        for k, v in accumulate_reference(dosage, ploidy, weights, effect_type, impute, freq).items()
    }
    np.testing.assert_allclose(out["sums"], ref["sums"], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(out["allele_ct"], ref["allele_ct"])
    np.testing.assert_array_equal(out["denom"], ref["denom"])
    np.testing.assert_allclose(out["named"], ref["named"], atol=1e-12)
    np.testing.assert_array_equal(out["missing_ct"], ref["missing"])
    assert totals.all_missing == int(np.isnan(dosage).all(axis=1).sum())
    assert len(np.concatenate(frequencies)) == k


@given(st.booleans(), st.integers(1, 4))
@settings(max_examples=10, deadline=None)
def test_no_samples_gives_empty_totals(matmul, s):
    """A sites-only VCF (no sample columns): empty totals, no division by zero."""
    k = 3
    totals = ScoreTotals(s, 0, 1, matmul=matmul, kernels=True)
    totals.add(
        np.empty((k, 0)),
        np.empty((k, 0), dtype=np.int8),
        np.ones((k, s)),
        np.ones((k, s), dtype=bool),
        np.zeros(k, np.int8),
        np.full(k, np.nan),
    )
    totals.close()
    out = totals.totals()
    assert out["sums"].shape == (s, 0) and out["missing_ct"].shape == (s, 0)


@given(sex_chromosome_chunks(), st.booleans(), st.integers(1, 3), st.integers(1, 3))
@settings(max_examples=200, deadline=None)
def test_calls_not_counted_and_frequency_ploidy_match_reference(case, matmul, threads, pieces):
    """Calls of ploidy -1 add to nothing (not even MISSING_CT or DENOM), and the frequency
    ploidy changes only the imputation frequency; both paths equal the reference."""
    dosage, ploidy, weights, effect_type, impute, freq, freq_ploidy = case
    k, n = dosage.shape
    totals = ScoreTotals(weights.shape[1], n, impute, threads=threads, matmul=matmul, kernels=True)
    import prs.scoring.totals as acc

    old = acc._SPLIT_MIN_GENOTYPES
    acc._SPLIT_MIN_GENOTYPES = 1
    try:
        for rows in np.array_split(np.arange(k), pieces):
            if len(rows):
                totals.add(
                    dosage[rows],
                    ploidy[rows],
                    weights[rows],
                    ~np.isnan(weights[rows]),
                    effect_type[rows],
                    freq[rows],
                    freq_ploidy[rows],
                )
    finally:
        acc._SPLIT_MIN_GENOTYPES = old
        totals.close()
    out = totals.totals()
    ref = accumulate_reference(dosage, ploidy, weights, effect_type, impute, freq, freq_ploidy)
    ref = {name: value.T for name, value in ref.items()}
    np.testing.assert_allclose(out["sums"], ref["sums"], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(out["allele_ct"], ref["allele_ct"])
    np.testing.assert_array_equal(out["denom"], ref["denom"])
    np.testing.assert_allclose(out["named"], ref["named"], atol=1e-12)
    np.testing.assert_array_equal(out["missing_ct"], ref["missing"])
    assert totals.all_missing == all_missing_reference(dosage, ploidy)


def test_not_counted_call_hand_computed():
    """chrY: a male haploid 1, a male missing, a female (not counted): the male's missing
    call is imputed at the males' frequency (1/1) and the female adds nothing at all."""
    dosage = np.array([[1.0, np.nan, np.nan]])
    ploidy = np.array([[1, 1, -1]], dtype=np.int8)
    totals = ScoreTotals(1, 3, 1, matmul=False, kernels=True)
    frequency = totals.add(
        dosage, ploidy, np.ones((1, 1)), np.ones((1, 1), bool), np.zeros(1, np.int8), [np.nan]
    )
    out = totals.totals()
    np.testing.assert_allclose(frequency, [1.0])
    np.testing.assert_allclose(out["sums"][0], [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(out["denom"][0], [1, 1, 0])
    np.testing.assert_array_equal(out["allele_ct"][0], [1, 0, 0])
    np.testing.assert_array_equal(out["missing_ct"][0], [0, 1, 0])
    assert totals.all_missing == 0


# ---------------------------------------------------------------------------------------------
# int8 hard calls (PLINK): the calls kernels against the float64 kernel and plain numpy


def reference_dosages(calls: np.ndarray) -> np.ndarray:
    """Hard calls as float64 dosages, NaN missing, by plain numpy."""
    return np.where(calls < 0, np.nan, calls.astype(np.float64))


@st.composite
def call_chunks(draw):
    """Hard calls (0..2, missing as -9 or another negative value), ploidy 2 mostly, some
    1 and some not counted (-1), an optional frequency ploidy, weights with unused cells,
    every effect type and missing policy."""
    k = draw(st.integers(1, 10))
    n = draw(st.integers(1, 40))
    s = draw(st.integers(1, 5))
    calls = draw(arrays(np.int8, (k, n), elements=st.sampled_from([-9, -1, 0, 1, 2, 2, 0])))
    complete_rows = draw(arrays(np.bool_, k))  # rows without missing calls (the fast path)
    calls[complete_rows] = np.abs(calls[complete_rows]) % 3
    special = draw(st.integers(0, 2))  # 0: all diploid; 1: some haploid; 2: some not counted
    ploidy = np.full((k, n), 2, dtype=np.int8)
    if special:
        odd = draw(arrays(np.bool_, (k, n)))
        ploidy[odd] = 1 if special == 1 else -1
        calls = np.where(ploidy == 1, np.minimum(calls, 1), calls).astype(np.int8)
    freq_ploidy = (
        np.where(draw(arrays(np.bool_, (k, n))) & (ploidy == 2), 1, ploidy).astype(np.int8)
        if draw(st.booleans())
        else np.empty((k, 0), dtype=np.int8)
    )
    weights = draw(arrays(np.float64, (k, s), elements=st.floats(-3, 3, allow_nan=False)))
    weights[draw(arrays(np.bool_, (k, s)))] = np.nan
    counts = ~np.isnan(weights) & draw(arrays(np.bool_, (k, s)))
    effect_type = draw(arrays(np.int8, k, elements=st.integers(0, 2)))
    freq = draw(arrays(np.float64, k, elements=st.floats(0, 1) | st.just(np.nan)))
    impute = draw(st.integers(0, 2))
    return calls, ploidy, weights, counts, effect_type, impute, freq, freq_ploidy


def _kernel_totals(kernel, dosage, ploidy, weights, counts, effect_type, impute, freq, fp):
    k, n = dosage.shape
    s = weights.shape[1]
    out = {name: np.zeros((s, n)) for name in ("sums", "allele_ct", "denom", "named")}
    out["missing_ct"] = np.zeros((s, n), dtype=np.int64)
    out["uniform"] = np.zeros(s)
    out["frequency"] = np.empty(k)
    out["all_missing"] = kernel(
        dosage,
        ploidy,
        weights,
        counts,
        effect_type,
        impute,
        freq,
        out["sums"],
        out["allele_ct"],
        out["denom"],
        out["named"],
        out["missing_ct"],
        out["frequency"],
        out["uniform"],
        fp,
    )
    return out


@given(call_chunks())
@settings(max_examples=300, deadline=None)
def test_calls_kernel_equals_float_kernel_bit_for_bit(case):
    calls, ploidy, weights, counts, effect_type, impute, freq, fp = case
    dosage = reference_dosages(calls)
    a = _kernel_totals(
        accumulate_scores, dosage, ploidy, weights, counts, effect_type, impute, freq, fp
    )
    b = _kernel_totals(
        accumulate_calls, calls, ploidy, weights, counts, effect_type, impute, freq, fp
    )
    for name in a:
        np.testing.assert_array_equal(b[name], a[name], err_msg=name)


@given(arrays(np.int8, st.tuples(st.integers(0, 6), st.integers(0, 9))), st.data())
@settings(max_examples=100, deadline=None)
def test_call_kernels_match_numpy(calls, data):
    out = np.empty(calls.shape)
    call_dosages(calls, out)
    np.testing.assert_array_equal(out, reference_dosages(calls))
    np.testing.assert_array_equal(chunk_dosages(calls), reference_dosages(calls))
    valid = np.where(calls < 0, -9, np.abs(calls) % 3).astype(np.int8)
    rows = np.array(
        sorted(data.draw(st.sets(st.integers(0, max(len(calls) - 1, 0)))) if len(calls) else []),
        dtype=np.int64,
    )
    expected = valid.copy()
    expected[rows] = np.where(valid[rows] < 0, valid[rows], 2 - valid[rows])
    other_allele_calls(valid, rows)
    np.testing.assert_array_equal(valid, expected)
