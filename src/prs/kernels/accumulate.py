"""Accumulating dosage x weight for many scores in one pass (PLINK 2 ``--score`` semantics)."""

from __future__ import annotations

import numba
import numpy as np

#: Effect types (``MatchPlan.effect_type``).
ADDITIVE, DOMINANT, RECESSIVE = 0, 1, 2
#: Missing-genotype policies.
IMPUTE_NONE, IMPUTE_COHORT_MEAN, IMPUTE_GIVEN_FREQUENCY = 0, 1, 2


@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
def expected_dosage(frequency: float, ploidy: int, effect_type: int) -> float:
    """Value a missing call is imputed with, at effect-allele ``frequency``.

    Additive: ploidy x frequency. Dominant and recessive: the frequency itself, on their
    0..1 scale, which is what PLINK 2 does (not the Hardy-Weinberg expectations 2p - p^2
    and p^2), so that scores agree with PLINK 2.
    """
    if effect_type == DOMINANT or effect_type == RECESSIVE or ploidy == 1:
        return frequency
    return ploidy * frequency


@numba.njit(cache=True, nogil=True)
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
) -> None:
    """Add one chunk of variants to per-sample x per-score totals, in place.

    Parameters
    ----------
    dosage
        ``float64[k, n]`` copies of the effect allele; NaN = missing call.
    ploidy
        ``int8[k, n]`` ploidy of each call.
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
    """
    k_count, n = dosage.shape
    s_count = weights.shape[1]
    x = np.empty(n)  # transformed (or imputed) dosage of this variant, per sample
    observed = np.empty(n, dtype=np.bool_)
    for k in range(k_count):
        total = 0.0
        alleles = 0.0
        for i in range(n):
            d = dosage[k, i]
            if d == d:  # not NaN
                total += d
                alleles += ploidy[k, i]
        # A variant missing in every sample: frequency 0.5, as PLINK 2 imputes it.
        cohort_frequency = total / alleles if alleles > 0 else 0.5
        if impute == IMPUTE_COHORT_MEAN:
            frequency = cohort_frequency
        elif impute == IMPUTE_GIVEN_FREQUENCY:
            # Rows without a published frequency fall back to the cohort's.
            given = given_frequency[k]
            frequency = cohort_frequency if np.isnan(given) else given
        else:
            frequency = np.nan
        frequency_out[k] = frequency
        et = effect_type[k]
        fill_missing = impute != IMPUTE_NONE and frequency == frequency
        any_missing = False
        for i in range(n):
            d = dosage[k, i]
            if d == d:
                observed[i] = True
                x[i] = transform_dosage(d, ploidy[k, i], et)
            else:
                observed[i] = False
                any_missing = True
                x[i] = expected_dosage(frequency, ploidy[k, i], et) if fill_missing else 0.0
        for s in range(s_count):
            w = weights[k, s]
            if np.isnan(w):
                continue
            sums_s = sums[s]
            for i in range(n):
                sums_s[i] += w * x[i]
            if not any_missing:
                named_s = named_dosage[s]
                for i in range(n):
                    named_s[i] += x[i]
            else:
                for i in range(n):
                    if observed[i]:
                        named_dosage[s, i] += x[i]
            if not counts_alleles[k, s]:
                continue
            for i in range(n):
                p = ploidy[k, i]
                if observed[i]:
                    allele_ct[s, i] += p
                    denom[s, i] += p
                else:
                    missing_ct[s, i] += 1
                    if fill_missing:
                        denom[s, i] += p
