"""Hard calls added several rows per pass (:func:`prs.kernels.calls.add_complete_calls`).

:class:`~prs.scoring.totals.ScoreTotals` adds runs of complete additive diploid rows of
``int8`` calls four rows at a time and the rows between them by the per-row kernel. The
totals must be the float64 dosages' (:func:`~prs.kernels.accumulate.accumulate_scores`)
bit for bit, whatever the mix of complete and incomplete rows, NaN weights and chunk
pieces; the sums also against plain numpy (an independent sum in the same row order).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from prs.kernels.accumulate import (
    ADDITIVE,
    IMPUTE_COHORT_MEAN,
    IMPUTE_GIVEN_FREQUENCY,
    IMPUTE_NONE,
    RECESSIVE,
)
from prs.kernels.calls import add_complete_calls, diploid_allele_sums
from tests.test_kernels import reference_dosages
from tests.test_plink_speed_paths import totals_in_pieces


@st.composite
def mostly_complete_chunks(draw):
    """Long runs of complete rows (0..2 everywhere) with a few rows that are not (a missing
    call, a haploid call, a non-additive effect), weights with some NaN cells."""
    k = draw(st.integers(1, 40))
    n = draw(st.integers(1, 30))
    s = draw(st.integers(1, 3))
    calls = draw(arrays(np.int8, (k, n), elements=st.integers(0, 2)))
    ploidy = np.full((k, n), 2, dtype=np.int8)
    effect_type = np.full(k, ADDITIVE, dtype=np.int8)
    for row in draw(st.sets(st.integers(0, k - 1), max_size=max(1, k // 5))):
        kind = draw(st.sampled_from(["missing", "haploid", "recessive"]))
        col = draw(st.integers(0, n - 1))
        if kind == "missing":
            calls[row, col] = -9
        elif kind == "haploid":
            ploidy[row, col] = 1
            calls[row, col] = min(int(calls[row, col]), 1)
        else:
            effect_type[row] = RECESSIVE
    weights = draw(arrays(np.float64, (k, s), elements=st.floats(-3, 3, allow_nan=False)))
    nan_cells = draw(arrays(np.bool_, (k, s), elements=st.sampled_from([False] * 5 + [True])))
    weights[nan_cells] = np.nan
    counts = ~np.isnan(weights) & draw(arrays(np.bool_, (k, s)))
    freq = draw(arrays(np.float64, k, elements=st.floats(0, 1) | st.just(np.nan)))
    impute = draw(st.sampled_from([IMPUTE_NONE, IMPUTE_COHORT_MEAN, IMPUTE_GIVEN_FREQUENCY]))
    return calls, ploidy, weights, counts, effect_type, impute, freq


def _totals(chunk, case, threads, pieces):
    _calls, ploidy, weights, counts, effect_type, impute, freq = case
    rows_of = (ploidy, weights, counts, effect_type, freq, np.empty(0))
    return totals_in_pieces(
        chunk, rows_of, impute=impute, threads=threads, matmul=False, pieces=pieces
    )


@given(mostly_complete_chunks(), st.integers(1, 2), st.integers(1, 3))
@settings(max_examples=200, deadline=None)
def test_grouped_calls_equal_float_dosages_bit_for_bit(case, threads, pieces):
    calls = case[0]
    a, a_missing, a_freq = _totals(reference_dosages(calls), case, threads, pieces)
    b, b_missing, b_freq = _totals(calls, case, threads, pieces)
    for name in a:
        np.testing.assert_array_equal(b[name], a[name], err_msg=name)
    assert a_missing == b_missing
    np.testing.assert_array_equal(a_freq, b_freq)


@given(st.integers(1, 13), st.integers(1, 50), st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_complete_rows_are_added_in_row_order(k, n, seed):
    """All rows complete: one call adds them all; sums are numpy's row-by-row float sums
    (the same order), named dosages and allele counts exact."""
    rng = np.random.default_rng(seed)
    calls = rng.integers(0, 3, (k, n)).astype(np.int8)
    weights = rng.normal(size=(k, 2))
    weights[rng.random((k, 2)) < 0.2] = np.nan
    counts = ~np.isnan(weights)
    sums, named = np.zeros((2, n)), np.zeros((2, n))
    uniform, copies = np.zeros(2), np.empty(k, dtype=np.int64)
    stop = add_complete_calls(
        calls,
        np.full((k, n), 2, dtype=np.int8),
        np.ones(k, dtype=np.bool_),
        weights,
        counts,
        sums,
        named,
        uniform,
        copies,
        0,
    )
    assert stop == k
    np.testing.assert_array_equal(copies, calls.sum(axis=1))
    expected = np.zeros((2, n))
    for r in range(k):
        for s in range(2):
            if not np.isnan(weights[r, s]):
                expected[s] = expected[s] + weights[r, s] * calls[r].astype(np.float64)
    np.testing.assert_array_equal(sums, expected)
    used = ~np.isnan(weights)
    np.testing.assert_array_equal(named, used.T.astype(np.float64) @ calls.astype(np.float64))
    np.testing.assert_array_equal(uniform, 2.0 * counts.sum(axis=0))


def test_stops_at_the_first_row_not_complete():
    calls = np.array([[0, 1], [2, 2], [1, -9], [1, 1]], dtype=np.int8)
    sums, named = np.zeros((1, 2)), np.zeros((1, 2))
    args = (
        np.full((4, 2), 2, dtype=np.int8),
        np.ones(4, dtype=np.bool_),
        np.ones((4, 1)),
        np.ones((4, 1), dtype=np.bool_),
        sums,
        named,
        np.zeros(1),
        np.empty(4, dtype=np.int64),
    )
    assert add_complete_calls(calls, *args, 0) == 2
    np.testing.assert_array_equal(sums, [[2.0, 3.0]])
    assert add_complete_calls(calls, *args, 2) == 2  # row 2 has a missing call
    assert add_complete_calls(calls, *args, 3) == 4
    np.testing.assert_array_equal(sums, [[3.0, 4.0]])


@given(st.integers(0, 6), st.integers(0, 20), st.data())
@settings(max_examples=50, deadline=None)
def test_diploid_allele_sums_are_numpys(k, n, data):
    """A VCF Zarr block's complete biallelic calls: ALT copies of the rows asked for, in
    the order asked (repeats allowed), equal to numpy's sum over the ploidy axis."""
    gt = data.draw(arrays(np.int8, (k, n, 2), elements=st.integers(0, 1)))
    rows = np.array(
        data.draw(st.lists(st.integers(0, max(k - 1, 0)), max_size=8)) if k else [],
        dtype=np.int64,
    )
    out = np.empty((len(rows), n), dtype=np.int8)
    diploid_allele_sums(gt, rows, out)
    np.testing.assert_array_equal(out, gt[rows].sum(axis=2))


@given(mostly_complete_chunks(), st.integers(1, 2), st.integers(1, 3), st.booleans())
@settings(max_examples=150, deadline=None)
def test_known_diploid_chunks_give_the_checked_totals(case, threads, pieces, matmul):
    """A chunk said to be diploid (``diploid=True``, as PLINK chunks are; its ploidy rows
    then not read, and may be one row of 2s seen as every row, as PLINK chunks give it)
    gives the totals of the same chunk checked against its all-2 ploidy, and those of its
    float64 dosages, bit for bit; on the matrix-product path (many scores) too."""
    calls, _ploidy, weights, counts, effect_type, impute, freq = case
    full = np.full(calls.shape, 2, dtype=np.int8)
    row = np.full(calls.shape[1], 2, dtype=np.int8)
    row.setflags(write=False)
    one_row = np.broadcast_to(row, calls.shape)  # (a PLINK chunk's ploidy: one row, seen k times)
    cases = (
        (reference_dosages(calls), False, full),
        (calls, False, full),
        (calls, True, full),
        (calls, True, one_row),
    )
    results = [
        totals_in_pieces(
            chunk,
            (ploidy, weights, counts, effect_type, freq, np.empty(0)),
            impute=impute,
            threads=threads,
            matmul=matmul,
            pieces=pieces,
            diploid=diploid,
        )
        for chunk, diploid, ploidy in cases
    ]
    (a, a_missing, a_freq), *others = results
    for b, b_missing, b_freq in others:
        for name in a:
            np.testing.assert_array_equal(b[name], a[name], err_msg=name)
        assert a_missing == b_missing
        np.testing.assert_array_equal(a_freq, b_freq)


@settings(max_examples=200, deadline=None)
@given(arrays(np.int8, st.integers(0, 300), elements=st.sampled_from([-9, -1, 0, 1, 2])))
def test_the_diploid_check_is_the_sum_or_minus_one(row):
    """observed_call_total: the row's copies when no call is missing (negative), else -1;
    complete_call_total with every ploidy 2 agrees."""
    from prs.kernels.calls import complete_call_total, observed_call_total

    expected = -1 if (row < 0).any() else int(row.astype(np.int64).sum())
    assert observed_call_total(row) == expected
    assert complete_call_total(row, np.full(len(row), 2, dtype=np.int8)) == expected


def test_the_diploid_check_of_a_long_row_sums_in_int64(monkeypatch):
    """A row of INT32_CALLS calls or more is summed in int64: INT32_CALLS made 4 for the
    plain-Python kernel (a row long enough for the real limit would be 2**30 calls)."""
    import prs.kernels.calls as calls_module

    monkeypatch.setattr(calls_module, "INT32_CALLS", 4)
    check = getattr(calls_module.observed_call_total, "py_func", calls_module.observed_call_total)
    row = np.full(10, 2, dtype=np.int8)
    assert check(row) == 20
    row[9] = -9
    assert check(row) == -1
    assert check(row[:3]) == 6  # (the int32 path)
