"""The numpy form of the accumulate kernels (small jobs, no Numba) against the kernels,
bit for bit: every total, the frequencies and the counts of variants missing everywhere.

Both sides are run on the same inputs (float64 dosages with missing calls, int8 hard calls,
haploid and not-counted calls, a frequency ploidy, every effect type and missing policy,
several scores with unused cells, chunks fed in pieces, threads splitting them, the
matrix-product path); ``np.array_equal`` on float64 means the same bits up to the sign of
zero, so the sums are also compared as bytes.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import prs.kernels.accumulate as accumulate_module
import prs.scoring.totals as totals_module
import tests.test_plink_speed_paths as speed_paths
from prs.kernels.accumulate import (
    accumulate_calls,
    accumulate_numpy,
    accumulate_scores,
    dosage_matrix,
    dosage_matrix_numpy,
    mirrors_kernels,
)
from prs.scoring.totals import ScoreTotals
from tests.test_kernels import (
    _kernel_totals,
    call_chunks,
    reference_dosages,
    sex_chromosome_chunks,
)


def assert_same_bits(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        x, y = np.asarray(a[name]), np.asarray(b[name])
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), f"{name}: {x!r} != {y!r}"


@st.composite
def dosage_chunks(draw):
    """Float64 dosages (fractional too, as DS), haploid and not-counted calls, an optional
    frequency ploidy; weights over a wide range of magnitudes."""
    k = draw(st.integers(1, 12))
    n = draw(st.integers(0, 20))
    s = draw(st.integers(1, 5))
    ploidy = draw(arrays(np.int8, (k, n), elements=st.sampled_from([2, 2, 2, 1, -1])))
    values = draw(
        arrays(
            np.float64, (k, n), elements=st.sampled_from([0.0, -0.0, 1.0, 2.0]) | st.floats(0, 2)
        )
    )
    dosage = np.where(ploidy == 1, np.minimum(values, 1.0), values)
    missing = draw(arrays(np.bool_, (k, n)))
    dosage[missing | (ploidy < 0)] = np.nan
    freq_ploidy = (
        np.where(draw(arrays(np.bool_, (k, n))) & (ploidy == 2), 1, ploidy).astype(np.int8)
        if draw(st.booleans())
        else np.empty((k, 0), dtype=np.int8)
    )
    weights = draw(
        arrays(
            np.float64,
            (k, s),
            elements=st.floats(-1e3, 1e3, allow_nan=False) | st.sampled_from([1e-300, -7e250]),
        )
    )
    weights[draw(arrays(np.bool_, (k, s)))] = np.nan
    counts = ~np.isnan(weights) & draw(arrays(np.bool_, (k, s)))
    effect_type = draw(arrays(np.int8, k, elements=st.integers(0, 2)))
    freq = draw(arrays(np.float64, k, elements=st.floats(0, 1) | st.just(np.nan)))
    impute = draw(st.integers(0, 2))
    return dosage, ploidy, weights, counts, effect_type, impute, freq, freq_ploidy


def _both(dosage, ploidy, weights, counts, effect_type, impute, freq, fp):
    kernel = accumulate_calls if dosage.dtype == np.int8 else accumulate_scores
    args = (dosage, ploidy, weights, counts, effect_type, impute, freq, fp)
    return _kernel_totals(kernel, *args), _kernel_totals(accumulate_numpy, *args)


@given(dosage_chunks())
@settings(max_examples=400, deadline=None)
def test_numpy_equals_dosage_kernel_bit_for_bit(case):
    with np.errstate(all="ignore"):
        numba, numpy = _both(*case)
    assert_same_bits(numba, numpy)


@given(call_chunks())
@settings(max_examples=300, deadline=None)
def test_numpy_equals_calls_kernel_bit_for_bit(case):
    """int8 hard calls (the fast path for complete diploid additive rows included)."""
    numba, numpy = _both(*case)
    assert_same_bits(numba, numpy)


@given(sex_chromosome_chunks())
@settings(max_examples=200, deadline=None)
def test_numpy_equals_kernel_on_sex_chromosome_chunks(case):
    dosage, ploidy, weights, effect_type, impute, freq, freq_ploidy = case
    counts = ~np.isnan(weights)
    numba, numpy = _both(dosage, ploidy, weights, counts, effect_type, impute, freq, freq_ploidy)
    assert_same_bits(numba, numpy)


@given(dosage_chunks())
@settings(max_examples=200, deadline=None)
def test_numpy_dosage_matrix_equals_kernel(case):
    dosage, ploidy, _w, _c, effect_type, impute, freq, fp = case
    out = []
    for build in (dosage_matrix, dosage_matrix_numpy):
        x = np.full(dosage.shape, -1.0)
        frequency = np.full(len(dosage), -1.0)
        counts = build(dosage, ploidy, effect_type, impute, freq, x, frequency, fp)
        out.append({"x": x, "frequency": frequency, "counts": np.array(counts)})
    assert_same_bits(*out)


def test_running_totals_carry_over_and_hand_computed():
    """Two chunks into the same totals: the second adds onto the first's sums in order
    (0.1 + 0.2 + 0.3 is not 0.1 + (0.2 + 0.3) in float64), as a loop adding the weights
    one by one computes it by hand."""
    weights = np.array([[0.1], [0.2], [0.3]])
    dosage = np.ones((3, 2))
    ploidy = np.full((3, 2), 2, dtype=np.int8)
    fp = np.empty((1, 0), dtype=np.int8)
    common = (np.ones((1, 1), bool), np.zeros(1, np.int8), 1, np.full(1, np.nan))
    out = []
    for add in (accumulate_scores, accumulate_numpy):
        sums, act, den, named = (np.zeros((1, 2)) for _ in range(4))
        missing, uniform = np.zeros((1, 2), dtype=np.int64), np.zeros(1)
        for k in range(3):
            add(
                dosage[k : k + 1],
                ploidy[k : k + 1],
                weights[k : k + 1],
                *common[:2],
                common[2],
                common[3],
                sums,
                act,
                den,
                named,
                missing,
                np.empty(1),
                uniform,
                fp,
            )
        out.append(sums)
    expected = 0.0
    for w in (0.1, 0.2, 0.3):
        expected += w * 1.0
    assert expected != 0.1 + (0.2 + 0.3)  # the order matters in this example
    assert out[0].tobytes() == out[1].tobytes() == np.full((1, 2), expected).tobytes()


def test_a_chunk_the_numpy_form_cannot_mirror_goes_to_the_kernels():
    """A counted call of ploidy 0 with a frequency ploidy: the kernel divides by it."""
    ploidy = np.array([[0, 2]], dtype=np.int8)
    assert not mirrors_kernels(ploidy, np.array([[1, 2]], dtype=np.int8))
    assert mirrors_kernels(ploidy, np.empty((1, 0), dtype=np.int8))
    assert mirrors_kernels(np.array([[1, 2]], dtype=np.int8), np.array([[1, 1]], dtype=np.int8))


def _fed(case, *, kernels, matmul, threads, pieces, calls):
    """ScoreTotals fed ``case`` in pieces (tests/test_plink_speed_paths.totals_in_pieces),
    made with ``kernels=``; returns its totals, frequencies, all-missing count and the
    chunks it added by each path."""
    dosage, ploidy, weights, counts, effect_type, impute, freq, fp = case
    if calls:
        dosage = np.where(np.isnan(dosage), -9, np.rint(dosage)).astype(np.int8)
    made: list[ScoreTotals] = []

    def make(*args, **options):
        made.append(ScoreTotals(*args, **{**options, "kernels": kernels}))
        return made[-1]

    with mock.patch.object(speed_paths, "ScoreTotals", make):
        out, all_missing, frequency = speed_paths.totals_in_pieces(
            dosage,
            (ploidy, weights, counts, effect_type, freq, fp),
            impute=impute,
            threads=threads,
            matmul=matmul,
            pieces=pieces,
        )
    out["frequency"] = frequency
    out["all_missing"] = np.array(all_missing)
    return out, made[0].chunks_by_path


@given(
    dosage_chunks(),
    st.booleans(),
    st.integers(1, 3),
    st.integers(1, 4),
    st.booleans(),
    st.sampled_from([1, 7, 1 << 16]),
)
@settings(max_examples=200, deadline=None)
def test_score_totals_numpy_path_equals_kernel_path(case, matmul, threads, pieces, calls, block):
    """ScoreTotals forced onto numpy and onto the kernels: the same totals bit for bit,
    fed in pieces (chunk boundaries), split between threads, loop and matrix paths, float64
    dosages and int8 hard calls, the numpy form's runs of rows one row, a few or all."""
    old = totals_module._SPLIT_MIN_GENOTYPES, accumulate_module.NUMPY_BLOCK_GENOTYPES
    totals_module._SPLIT_MIN_GENOTYPES = 1  # split even these tiny chunks between threads
    accumulate_module.NUMPY_BLOCK_GENOTYPES = block
    try:
        with np.errstate(all="ignore"):
            a, a_paths = _fed(
                case, kernels=True, matmul=matmul, threads=threads, pieces=pieces, calls=calls
            )
            b, b_paths = _fed(
                case, kernels=False, matmul=matmul, threads=threads, pieces=pieces, calls=calls
            )
    finally:
        totals_module._SPLIT_MIN_GENOTYPES, accumulate_module.NUMPY_BLOCK_GENOTYPES = old
    assert a_paths["numpy"] == 0 and a_paths["numba"] >= 1
    assert b_paths["numba"] == 0 and b_paths["numpy"] == a_paths["numba"]
    assert_same_bits(a, b)


@pytest.mark.parametrize("calls", [False, True])
def test_hard_calls_numpy_equals_plain_numpy_dosages(calls):
    """The calls' dosages the numpy path builds are those of tests' plain-numpy reference."""
    rng = np.random.default_rng(3)
    c = rng.choice(np.array([-9, 0, 1, 2], dtype=np.int8), size=(5, 7))
    d = reference_dosages(c)
    ploidy = np.full(c.shape, 2, dtype=np.int8)
    fp = np.empty((5, 0), dtype=np.int8)
    x1, x2 = np.empty(c.shape), np.empty(c.shape)
    f1, f2 = np.empty(5), np.empty(5)
    et = np.zeros(5, np.int8)
    dosage_matrix_numpy(c if calls else d, ploidy, et, 1, np.full(5, np.nan), x1, f1, fp)
    dosage_matrix(d, ploidy, et, 1, np.full(5, np.nan), x2, f2, fp)
    assert x1.tobytes() == x2.tobytes() and f1.tobytes() == f2.tobytes()


def test_a_large_job_takes_the_kernels_from_its_first_chunk(monkeypatch):
    """A job announced over the numpy budget (the pipeline announces each piece) closes it:
    its first chunks no longer go to numpy before Numba starts anyway (a 20,000 x 20,000
    BGEN job added 2.08M genotypes in numpy first, ~0.1 s); a small one leaves it open."""
    from prs.scoring import totals

    monkeypatch.setattr(totals, "_numpy_budget", totals._NumpyBudget())
    monkeypatch.setattr(totals, "numba_started", lambda: False)
    totals.expect_genotypes(1_000)
    assert totals._numpy_budget.take(10)
    totals.expect_genotypes(totals.NUMPY_GENOTYPES + 1)
    assert not totals._numpy_budget.take(10)
    assert totals.arithmetic_record()["numpy_genotypes"] == 10  # what numpy really added
