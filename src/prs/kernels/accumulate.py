"""Accumulating dosage x weight for many scores in one pass (PLINK 2 ``--score`` semantics)."""

from __future__ import annotations

import numpy as np

from prs.kernels.calls import call_row_dosage, complete_call_total
from prs.kernels.jit import kernel

#: Effect types (``MatchPlan.effect_type``).
ADDITIVE, DOMINANT, RECESSIVE = 0, 1, 2
#: Missing-genotype policies.
IMPUTE_NONE, IMPUTE_COHORT_MEAN, IMPUTE_GIVEN_FREQUENCY = 0, 1, 2


@kernel
def transform_dosage(dosage: float, ploidy: int, effect_type: int) -> float:
    """Dosage of the effect allele under an effect type (dominant caps at 1, recessive
    counts copies beyond the first; haploid calls count their one copy)."""
    if effect_type == DOMINANT:
        return dosage if dosage < 1.0 else 1.0
    if effect_type == RECESSIVE:
        if ploidy == 1:
            return dosage
        return dosage - 1.0 if dosage > 1.0 else 0.0
    return dosage


@kernel
def expected_dosage(frequency: float, ploidy: int, effect_type: int) -> float:
    """Value a missing call is imputed with, at effect-allele ``frequency``.

    Additive: ploidy x frequency. Dominant and recessive: the frequency itself, on their
    0..1 scale, which is what PLINK 2 does (not the Hardy-Weinberg expectations 2p - p^2
    and p^2), so that scores agree with PLINK 2.
    """
    if effect_type == DOMINANT or effect_type == RECESSIVE or ploidy == 1:
        return frequency
    return ploidy * frequency


#: Ploidy of a call that does not exist (chrY in a female or a person of unknown sex, as
#: PLINK 2): it adds nothing to any total, is not missing and is never imputed.
NOT_COUNTED = -1


@kernel
def _variant_counts(
    row: np.ndarray, prow: np.ndarray, fprow: np.ndarray
) -> tuple[float, int, int, int, int, float, int]:
    """(effect-allele dosage observed, alleles observed, sum of ploidy^2, missing calls,
    calls not counted, then the dosage and alleles the imputation frequency is taken from).

    ``fprow`` (empty: the same as ``prow``) is each call's ploidy for the frequency: an
    observed call adds ``dosage x fprow / prow`` copies on ``fprow`` alleles (PLINK 2 counts
    a male's chrX call on one allele there, though it scores it on two).
    """
    total = 0.0
    alleles = 0
    squares = 0
    n_missing = 0
    n_skipped = 0
    freq_total = 0.0
    freq_alleles = 0
    own = len(fprow) == 0
    for i in range(len(row)):
        d = row[i]
        p = np.int64(prow[i])
        if p < 0:
            n_skipped += 1
            continue
        seen = d == d  # not NaN
        total += d if seen else 0.0
        alleles += p if seen else 0
        squares += p * p
        n_missing += 0 if seen else 1
        if seen and not own:
            f = np.int64(fprow[i])
            freq_total += d if f == p else d * f / p
            freq_alleles += f
    if own:
        freq_total = total
        freq_alleles = alleles
    return total, alleles, squares, n_missing, n_skipped, freq_total, freq_alleles


@kernel
def _imputation_frequency(total: float, alleles: int, impute: int, given: float) -> float:
    """Frequency a missing call is imputed at (NaN: not imputed)."""
    # A variant missing in every sample: frequency 0.5, as PLINK 2 imputes it.
    cohort_frequency = total / alleles if alleles > 0 else 0.5
    if impute == IMPUTE_COHORT_MEAN:
        return cohort_frequency
    if impute == IMPUTE_GIVEN_FREQUENCY:
        # Rows without a published frequency fall back to the cohort's.
        return cohort_frequency if np.isnan(given) else given
    return np.nan


@kernel
def _transformed_row(
    row: np.ndarray,
    prow: np.ndarray,
    et: int,
    frequency: float,
    fill_missing: bool,
    x: np.ndarray,
    observed: np.ndarray,
) -> None:
    """Each call's contribution: transformed dosage if observed, else the imputed one (0
    without imputation); ``observed`` marks which."""
    for i in range(len(row)):
        d = row[i]
        if prow[i] < 0:  # not counted
            observed[i] = False
            x[i] = 0.0
        elif d == d:
            observed[i] = True
            x[i] = transform_dosage(d, prow[i], et)
        else:
            observed[i] = False
            x[i] = expected_dosage(frequency, prow[i], et) if fill_missing else 0.0


@kernel
def _add_variant(
    row: np.ndarray,
    prow: np.ndarray,
    weights_k: np.ndarray,
    counts_k: np.ndarray,
    et: int,
    impute: int,
    given: float,
    sums: np.ndarray,
    allele_ct: np.ndarray,
    denom: np.ndarray,
    named_dosage: np.ndarray,
    missing_ct: np.ndarray,
    frequency_out: np.ndarray,
    k: int,
    uniform_ct: np.ndarray,
    fprow: np.ndarray,
    x: np.ndarray,
    observed: np.ndarray,
) -> int:
    """Add variant ``k`` (its float64 dosage ``row``) to the totals (arguments as
    :func:`accumulate_scores`, one row of each); returns 1 when it is missing in every
    sample that counts, else 0. The one body both the float64 and the int8-calls kernels
    run, so the two give the same totals bit for bit."""
    n = len(row)
    _, alleles, squares, n_missing, n_skipped, freq_total, freq_alleles = _variant_counts(
        row, prow, fprow
    )
    frequency = _imputation_frequency(freq_total, freq_alleles, impute, given)
    frequency_out[k] = frequency
    fill_missing = impute != IMPUTE_NONE and frequency == frequency
    complete = n_missing == 0 and n_skipped == 0
    # Called everywhere with one ploidy (sum p^2 * n == (sum p)^2): a constant count.
    uniform = complete and n > 0 and squares * n == alleles * alleles
    if complete and et == ADDITIVE:
        src = row
    else:
        _transformed_row(row, prow, et, frequency, fill_missing, x, observed)
        src = x
    for s in range(len(weights_k)):
        w = weights_k[s]
        if np.isnan(w):
            continue
        sums_s = sums[s]
        named_s = named_dosage[s]
        if complete:
            for i in range(n):
                v = src[i]
                sums_s[i] += w * v
                named_s[i] += v
        else:
            for i in range(n):
                v = src[i]
                sums_s[i] += w * v
                named_s[i] += v if observed[i] else 0.0
        if not counts_k[s]:
            continue
        if uniform:
            uniform_ct[s] += alleles / n
        elif complete:
            for i in range(n):
                allele_ct[s, i] += prow[i]
                denom[s, i] += prow[i]
        else:
            for i in range(n):
                p = prow[i]
                if observed[i]:
                    allele_ct[s, i] += p
                    denom[s, i] += p
                elif p >= 0:
                    missing_ct[s, i] += 1
                    if fill_missing:
                        denom[s, i] += p
    return 1 if n_missing > 0 and n_missing == n - n_skipped else 0


@kernel
def accumulate_scores(
    dosage: np.ndarray,
    ploidy: np.ndarray,
    weights: np.ndarray,
    counts_alleles: np.ndarray,
    effect_type: np.ndarray,
    impute: int,
    given_frequency: np.ndarray,
    sums: np.ndarray,
    allele_ct: np.ndarray,
    denom: np.ndarray,
    named_dosage: np.ndarray,
    missing_ct: np.ndarray,
    frequency_out: np.ndarray,
    uniform_ct: np.ndarray,
    freq_ploidy: np.ndarray,
) -> int:
    """Add one chunk of variants to per-sample x per-score totals, in place.

    Parameters
    ----------
    dosage
        ``float64[k, n]`` copies of the effect allele; NaN = missing call.
    ploidy
        ``int8[k, n]`` ploidy of each call; :data:`NOT_COUNTED` (-1) for a call that does
        not exist (it adds nothing anywhere and is not missing).
    weights
        ``float64[k, s]``; NaN where score ``s`` does not use variant ``k``.
    counts_alleles
        ``bool[k, s]``: whether row ``k`` adds to score ``s``'s allele and missing counts.
        False for a second row of one target record (e.g. its REF and its ALT both scored):
        PLINK 2 counts a variant's alleles once.
    effect_type
        ``int8[k]``: :data:`ADDITIVE`, :data:`DOMINANT` or :data:`RECESSIVE`.
    impute
        :data:`IMPUTE_NONE` (a missing call adds nothing, PLINK 2 ``no-mean-imputation``),
        :data:`IMPUTE_COHORT_MEAN` (expected dosage at the effect-allele frequency among the
        non-missing calls of this variant, 0.5 when every call is missing: PLINK 2's
        default) or
        :data:`IMPUTE_GIVEN_FREQUENCY` (at ``given_frequency[k]``, or the cohort's where
        that is NaN).
    given_frequency
        ``float64[k]`` used with :data:`IMPUTE_GIVEN_FREQUENCY`.
    sums, allele_ct, denom, named_dosage
        ``float64[s, n]`` running totals (score-major, so each score's update is one
        contiguous pass over the samples): score sum; alleles observed; alleles counted in
        the denominator (observed, plus imputed calls when imputing); effect-allele dosage
        observed (after the dominant/recessive transform, as PLINK 2 reports it).
    missing_ct
        ``int64[s, n]`` missing calls (imputed or skipped).
    frequency_out
        ``float64[k]`` receives the frequency used for imputation (NaN when none).
    uniform_ct
        ``float64[s]``: alleles every sample adds to both ``allele_ct`` and ``denom`` (a
        variant called in every sample with one ploidy adds a constant, kept here instead
        of a pass over the samples). The caller adds it to both once at the end.
    freq_ploidy
        ``int8[k, n]`` ploidy of each call for the imputation frequency, or ``int8[k, 0]``
        when it is ``ploidy`` (see :func:`_variant_counts`).

    Returns
    -------
    int
        Variants in the chunk missing in every sample that counts (none counting: not
        missing).
    """
    k_count, n = dosage.shape
    x = np.empty(n)  # transformed (or imputed) dosage of this variant, per sample
    observed = np.empty(n, dtype=np.bool_)
    all_missing = 0
    for k in range(k_count):
        all_missing += _add_variant(
            dosage[k],
            ploidy[k],
            weights[k],
            counts_alleles[k],
            effect_type[k],
            impute,
            given_frequency[k],
            sums,
            allele_ct,
            denom,
            named_dosage,
            missing_ct,
            frequency_out,
            k,
            uniform_ct,
            freq_ploidy[k],
            x,
            observed,
        )
    return all_missing


@kernel
def dosage_matrix(
    dosage: np.ndarray,
    ploidy: np.ndarray,
    effect_type: np.ndarray,
    impute: int,
    given_frequency: np.ndarray,
    x: np.ndarray,
    frequency_out: np.ndarray,
    freq_ploidy: np.ndarray,
) -> tuple[int, int, int]:
    """The dosage each call contributes, for the matrix-product path (many scores).

    Writes ``x[k, i]``: the transformed dosage of an observed call, the imputed expected
    dosage of a missing one (0 without imputation, and for a call not counted);
    frequencies as :func:`accumulate_scores`. Returns (variants missing in every sample
    that counts, missing calls, calls not counted).
    """
    k_count, n = dosage.shape
    all_missing = 0
    missing_calls = 0
    skipped_calls = 0
    observed = np.empty(n, dtype=np.bool_)
    for k in range(k_count):
        row = dosage[k]
        prow = ploidy[k]
        _, _, _, n_missing, n_skipped, freq_total, freq_alleles = _variant_counts(
            row, prow, freq_ploidy[k]
        )
        if n_missing > 0 and n_missing == n - n_skipped:
            all_missing += 1
        missing_calls += n_missing
        skipped_calls += n_skipped
        frequency = _imputation_frequency(freq_total, freq_alleles, impute, given_frequency[k])
        frequency_out[k] = frequency
        fill_missing = impute != IMPUTE_NONE and frequency == frequency
        _transformed_row(row, prow, effect_type[k], frequency, fill_missing, x[k], observed)
    return all_missing, missing_calls, skipped_calls


@kernel
def accumulate_calls(
    calls: np.ndarray,
    ploidy: np.ndarray,
    weights: np.ndarray,
    counts_alleles: np.ndarray,
    effect_type: np.ndarray,
    impute: int,
    given_frequency: np.ndarray,
    sums: np.ndarray,
    allele_ct: np.ndarray,
    denom: np.ndarray,
    named_dosage: np.ndarray,
    missing_ct: np.ndarray,
    frequency_out: np.ndarray,
    uniform_ct: np.ndarray,
    freq_ploidy: np.ndarray,
) -> int:
    """:func:`accumulate_scores` over hard calls: ``calls`` is ``int8[k, n]`` copies of the
    effect allele, negative (PLINK's -9) where missing; everything else as there.

    Each row becomes float64 in a buffer of one row (in cache) and goes through the same
    per-variant body, so the totals equal :func:`accumulate_scores`' on the calls' float64
    dosages bit for bit, without a float64 copy of the chunk.
    """
    k_count, n = calls.shape
    row = np.empty(n)
    x = np.empty(n)
    observed = np.empty(n, dtype=np.bool_)
    all_missing = 0
    for k in range(k_count):
        if effect_type[k] == ADDITIVE and len(freq_ploidy[k]) == 0 and n > 0:
            copies = complete_call_total(calls[k], ploidy[k])
            if copies >= 0:
                _add_diploid_calls(
                    calls[k],
                    float(copies),
                    weights[k],
                    counts_alleles[k],
                    impute,
                    given_frequency[k],
                    sums,
                    named_dosage,
                    frequency_out,
                    k,
                    uniform_ct,
                )
                continue
        call_row_dosage(calls[k], row)
        all_missing += _add_variant(
            row,
            ploidy[k],
            weights[k],
            counts_alleles[k],
            effect_type[k],
            impute,
            given_frequency[k],
            sums,
            allele_ct,
            denom,
            named_dosage,
            missing_ct,
            frequency_out,
            k,
            uniform_ct,
            freq_ploidy[k],
            x,
            observed,
        )
    return all_missing


@kernel
def _add_diploid_calls(
    calls: np.ndarray,
    copies: float,
    weights_k: np.ndarray,
    counts_k: np.ndarray,
    impute: int,
    given: float,
    sums: np.ndarray,
    named_dosage: np.ndarray,
    frequency_out: np.ndarray,
    k: int,
    uniform_ct: np.ndarray,
) -> None:
    """:func:`_add_variant` for an additive row of calls all observed and diploid, read as
    int8: the same values (``w x float(call)``, integer counts, the frequency over 2n
    alleles), so the same totals, in one pass per score."""
    n = len(calls)
    alleles = 2 * n
    frequency_out[k] = _imputation_frequency(copies, alleles, impute, given)
    for s in range(len(weights_k)):
        w = weights_k[s]
        if np.isnan(w):
            continue
        sums_s = sums[s]
        named_s = named_dosage[s]
        for i in range(n):
            v = np.float64(calls[i])
            sums_s[i] += w * v
            named_s[i] += v
        if counts_k[s]:
            uniform_ct[s] += alleles / n


# --------------------------------------------------------------------------------------------
# The same arithmetic in numpy, for jobs too small to pay Numba's start (~0.3 s a process).
#
# Each total is added in the kernels' order: a sample's float sums run variant after variant
# (``np.cumsum`` along the variants, which adds strictly in sequence, from the running
# total), a variant's frequency sample after sample (``np.cumsum`` along the samples); the
# counts are sums of small integers in float64, exact in any order. So the totals are the
# kernels' bit for bit (tests/test_small_accumulate.py holds that as a property).


#: Genotypes the numpy form takes at once: a chunk is done in runs of rows this size (the
#: same order, so the same totals), its temporaries (~a dozen arrays of that many values)
#: kept to a few MB whatever the chunk.
NUMPY_BLOCK_GENOTYPES = 1 << 16


def _row_blocks(k: int, n: int) -> list[tuple[int, int]]:
    """Rows ``(start, stop)`` of a ``k x n`` chunk in runs of about
    :data:`NUMPY_BLOCK_GENOTYPES` genotypes (at least one row each)."""
    step = max(1, NUMPY_BLOCK_GENOTYPES // max(n, 1))
    return [(a, min(a + step, k)) for a in range(0, k, step)] or [(0, 0)]


def _sequential_sum(values: np.ndarray, axis: int) -> np.ndarray:
    """``0.0 + v[0] + v[1] + ...`` along ``axis``, added in that order (as a kernel's loop)."""
    if values.shape[axis] == 0:
        shape = list(values.shape)
        del shape[axis]
        return np.zeros(shape)
    last = np.cumsum(values, axis=axis).take(-1, axis=axis)
    # the loop starts from +0.0: a run of -0.0 alone sums to +0.0 there, not to -0.0
    return last + 0.0


class _Rows:
    """Per call and per variant, what the kernels' per-variant body computes first
    (:func:`_variant_counts`, :func:`_imputation_frequency`, :func:`_transformed_row`)."""

    def __init__(
        self,
        dosage: np.ndarray,
        ploidy: np.ndarray,
        effect_type: np.ndarray,
        impute: int,
        given_frequency: np.ndarray,
        freq_ploidy: np.ndarray,
    ) -> None:
        if dosage.dtype == np.int8:  # hard calls: as call_row_dosage makes them
            d = np.where(dosage >= 0, dosage.astype(np.float64), np.nan)
        else:
            d = np.asarray(dosage, dtype=np.float64)
        p = ploidy.astype(np.int64)
        k, n = d.shape
        counted = p >= 0
        seen = d == d  # not NaN
        self.observed = counted & seen
        self.n = n
        self.n_missing = (counted & ~seen).sum(axis=1)
        self.n_skipped = n - counted.sum(axis=1)
        self.alleles = np.where(self.observed, p, 0).sum(axis=1)
        squares = np.where(counted, p * p, 0).sum(axis=1)
        if freq_ploidy.shape[1] == 0:
            on_freq, freq_alleles = d, self.alleles
        else:
            f = freq_ploidy.astype(np.int64)
            on_freq = np.where(f == p, d, d * f / np.where(p == 0, 1, p))
            freq_alleles = np.where(self.observed, f, 0).sum(axis=1)
        freq_total = _sequential_sum(np.where(self.observed, on_freq, 0.0), axis=1)
        cohort = np.where(
            freq_alleles > 0, freq_total / np.where(freq_alleles > 0, freq_alleles, 1), 0.5
        )
        if impute == IMPUTE_COHORT_MEAN:
            frequency = cohort
        elif impute == IMPUTE_GIVEN_FREQUENCY:
            frequency = np.where(np.isnan(given_frequency), cohort, given_frequency)
        else:
            frequency = np.full(k, np.nan)
        self.frequency = frequency
        self.fill_missing = (impute != IMPUTE_NONE) & (frequency == frequency)
        self.complete = (self.n_missing == 0) & (self.n_skipped == 0)
        self.uniform = self.complete & (n > 0) & (squares * n == self.alleles * self.alleles)
        et = effect_type.astype(np.int64)[:, None]
        dominant = np.where(d < 1.0, d, 1.0)
        recessive = np.where(p == 1, d, np.where(d > 1.0, d - 1.0, 0.0))
        transformed = np.where(et == DOMINANT, dominant, np.where(et == RECESSIVE, recessive, d))
        on_scale = (et == DOMINANT) | (et == RECESSIVE) | (p == 1)
        expected = np.where(on_scale, frequency[:, None], p * frequency[:, None])
        imputed = np.where(self.fill_missing[:, None], expected, 0.0)
        #: Each call's contribution (the kernels' ``x``): 0 where not counted.
        self.x = np.where(counted, np.where(seen, transformed, imputed), 0.0)
        self.ploidy = p
        self.counted = counted

    def all_missing(self) -> int:
        """Variants missing in every sample that counts (none counting: not missing)."""
        return int(((self.n_missing > 0) & (self.n_missing == self.n - self.n_skipped)).sum())


def mirrors_kernels(ploidy: np.ndarray, freq_ploidy: np.ndarray) -> bool:
    """Whether :func:`accumulate_numpy` and :func:`dosage_matrix_numpy` give the kernels'
    values for these ploidies: not for a counted call of ploidy 0 with another ploidy for
    the frequency (the kernels divide by the ploidy there and stop on the division by
    zero); such a chunk goes to the kernels."""
    if freq_ploidy.shape[1] == 0 or not (ploidy == 0).any():
        return True
    return not ((ploidy == 0) & (freq_ploidy != 0)).any()


def accumulate_numpy(
    dosage: np.ndarray,
    ploidy: np.ndarray,
    weights: np.ndarray,
    counts_alleles: np.ndarray,
    effect_type: np.ndarray,
    impute: int,
    given_frequency: np.ndarray,
    sums: np.ndarray,
    allele_ct: np.ndarray,
    denom: np.ndarray,
    named_dosage: np.ndarray,
    missing_ct: np.ndarray,
    frequency_out: np.ndarray,
    uniform_ct: np.ndarray,
    freq_ploidy: np.ndarray,
) -> int:
    """:func:`accumulate_scores` (``dosage`` float64) or :func:`accumulate_calls`
    (``dosage`` int8 hard calls) in numpy, without Numba: the same arguments, the same
    totals bit for bit (check :func:`mirrors_kernels` first).

    One numpy pass per score over the chunk's variants: a numpy call costs microseconds
    where Numba's start costs ~0.3 s, so small jobs take this path
    (:class:`prs.scoring.totals.ScoreTotals` decides).

    Examples
    --------
    >>> dosage = np.array([[0.0, 1.0, np.nan], [2.0, 1.0, 0.0]])
    >>> sums, act, den, named = (np.zeros((1, 3)) for _ in range(4))
    >>> missing, uniform, freq = np.zeros((1, 3), dtype=np.int64), np.zeros(1), np.empty(2)
    >>> accumulate_numpy(dosage, np.full((2, 3), 2, np.int8), np.array([[0.5], [-1.0]]),
    ...     np.ones((2, 1), bool), np.zeros(2, np.int8), IMPUTE_COHORT_MEAN,
    ...     np.full(2, np.nan), sums, act, den, named, missing, freq, uniform,
    ...     np.empty((2, 0), np.int8))
    0
    >>> sums, freq
    (array([[-2.  , -0.5 ,  0.25]]), array([0.25, 0.5 ]))
    """
    k, n = dosage.shape
    if len(_row_blocks(k, n)) > 1:
        return sum(
            accumulate_numpy(
                dosage[a:b],
                ploidy[a:b],
                weights[a:b],
                counts_alleles[a:b],
                effect_type[a:b],
                impute,
                given_frequency[a:b],
                sums,
                allele_ct,
                denom,
                named_dosage,
                missing_ct,
                frequency_out[a:b],
                uniform_ct,
                freq_ploidy[a:b],
            )
            for a, b in _row_blocks(k, n)
        )
    with np.errstate(all="ignore"):  # overflow to inf, inf - inf: as the kernels, silently
        rows = _Rows(dosage, ploidy, effect_type, impute, given_frequency, freq_ploidy)
        frequency_out[:] = rows.frequency
        x_observed = np.where(rows.observed, rows.x, 0.0)
        used = ~np.isnan(weights)
        for s in range(weights.shape[1]):
            where = np.flatnonzero(used[:, s])
            if len(where) == 0:
                continue
            # row 0 the running total, then this chunk's terms: cumsum adds them in order
            terms = np.empty((len(where) + 1, rows.n))
            terms[0] = sums[s]
            np.multiply(weights[where, s][:, None], rows.x[where], out=terms[1:])
            sums[s] = np.cumsum(terms, axis=0)[-1]
            terms[0] = named_dosage[s]
            terms[1:] = x_observed[where]
            named_dosage[s] = np.cumsum(terms, axis=0)[-1]
            counted_rows = where[counts_alleles[where, s]]
            uniform_rows = counted_rows[rows.uniform[counted_rows]]
            if len(uniform_rows):
                steps = np.concatenate([[uniform_ct[s]], rows.alleles[uniform_rows] / rows.n])
                uniform_ct[s] = np.cumsum(steps)[-1]
            _add_counts(
                rows, counted_rows[~rows.uniform[counted_rows]], s, allele_ct, denom, missing_ct
            )
    return rows.all_missing()


def _add_counts(
    rows: _Rows,
    other: np.ndarray,
    s: int,
    allele_ct: np.ndarray,
    denom: np.ndarray,
    missing_ct: np.ndarray,
) -> None:
    """Score ``s``'s allele, denominator and missing counts of rows ``other`` (counted, not
    uniform: those go to ``uniform_ct``): small integers, exact in float64 in any order."""
    if len(other) == 0:
        return
    observed = rows.observed[other]
    p = rows.ploidy[other]
    seen_alleles = np.where(observed, p, 0)
    missing = rows.counted[other] & ~observed
    imputed = np.where(missing & rows.fill_missing[other][:, None], p, 0)
    allele_ct[s] += seen_alleles.sum(axis=0)
    denom[s] += (seen_alleles + imputed).sum(axis=0)
    missing_ct[s] += missing.sum(axis=0)


def dosage_matrix_numpy(
    dosage: np.ndarray,
    ploidy: np.ndarray,
    effect_type: np.ndarray,
    impute: int,
    given_frequency: np.ndarray,
    x: np.ndarray,
    frequency_out: np.ndarray,
    freq_ploidy: np.ndarray,
) -> tuple[int, int, int]:
    """:func:`dosage_matrix` in numpy (``dosage`` float64 or int8 hard calls): the same
    arguments, the same ``x``, frequencies and counts bit for bit (check
    :func:`mirrors_kernels` first)."""
    counts = np.zeros(3, dtype=np.int64)
    for a, b in _row_blocks(*dosage.shape):
        with np.errstate(all="ignore"):
            rows = _Rows(
                dosage[a:b],
                ploidy[a:b],
                effect_type[a:b],
                impute,
                given_frequency[a:b],
                freq_ploidy[a:b],
            )
        x[a:b] = rows.x
        frequency_out[a:b] = rows.frequency
        counts += (rows.all_missing(), rows.n_missing.sum(), rows.n_skipped.sum())
    return int(counts[0]), int(counts[1]), int(counts[2])
