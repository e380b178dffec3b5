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
