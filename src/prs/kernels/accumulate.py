"""Accumulating dosage x weight for many scores in one pass (PLINK 2 ``--score`` semantics)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

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
    s_count = weights.shape[1]
    x = np.empty(n)  # transformed (or imputed) dosage of this variant, per sample
    observed = np.empty(n, dtype=np.bool_)
    all_missing = 0
    for k in range(k_count):
        row = dosage[k]
        prow = ploidy[k]
        _, alleles, squares, n_missing, n_skipped, freq_total, freq_alleles = _variant_counts(
            row, prow, freq_ploidy[k]
        )
        if n_missing > 0 and n_missing == n - n_skipped:
            all_missing += 1
        frequency = _imputation_frequency(freq_total, freq_alleles, impute, given_frequency[k])
        frequency_out[k] = frequency
        et = effect_type[k]
        fill_missing = impute != IMPUTE_NONE and frequency == frequency
        complete = n_missing == 0 and n_skipped == 0
        # Called everywhere with one ploidy (sum p^2 * n == (sum p)^2): a constant count.
        uniform = complete and n > 0 and squares * n == alleles * alleles
        if complete and et == ADDITIVE:
            src = row
        else:
            _transformed_row(row, prow, et, frequency, fill_missing, x, observed)
            src = x
        for s in range(s_count):
            w = weights[k, s]
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
            if not counts_alleles[k, s]:
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


#: From this many scores on, a chunk is added by matrix products (BLAS) instead of loops.
MATMUL_MIN_SCORES = 4
#: Chunks with fewer genotypes than this are not split between threads.
_SPLIT_MIN_GENOTYPES = 1 << 16


class ScoreTotals:
    """Running per-score x per-sample totals (PLINK 2 ``--score`` columns), fed chunkwise.

    A few scores go through :func:`accumulate_scores`, each chunk's variants split between
    ``threads`` threads (the kernel releases the GIL; each thread owns its totals, summed at
    the end). Many scores (:data:`MATMUL_MIN_SCORES` or more) go through
    :func:`dosage_matrix` and BLAS matrix products: one pass builds the chunk's dosage
    matrix, then every total is a ``(scores x variants) @ (variants x samples)`` product.
    Both paths give the same totals (counts exactly; sums to rounding).

    Parameters
    ----------
    n_scores, n_samples
        Shape of the totals.
    impute
        :data:`IMPUTE_NONE`, :data:`IMPUTE_COHORT_MEAN` or :data:`IMPUTE_GIVEN_FREQUENCY`.
    threads
        Threads for the loop path (default: up to 2, one per CPU).
    matmul
        Force (True) or forbid (False) the matrix-product path; default by score count.
    """

    def __init__(
        self,
        n_scores: int,
        n_samples: int,
        impute: int,
        *,
        threads: int | None = None,
        matmul: bool | None = None,
    ) -> None:
        self.impute = impute
        self.matmul = n_scores >= MATMUL_MIN_SCORES if matmul is None else matmul
        self.threads = max(1, threads if threads is not None else min(2, os.cpu_count() or 1))
        self.all_missing = 0
        self._shape = (n_scores, n_samples)
        self._parts = [self._zeros()]
        self._pool: ThreadPoolExecutor | None = None
        self._x: np.ndarray | None = None

    def _zeros(self) -> dict[str, np.ndarray]:
        s, n = self._shape
        part = {name: np.zeros((s, n)) for name in ("sums", "allele_ct", "denom", "named")}
        part["missing_ct"] = np.zeros((s, n), dtype=np.int64)
        part["uniform_ct"] = np.zeros(s)
        return part

    def add(
        self,
        dosage: np.ndarray,
        ploidy: np.ndarray,
        weights: np.ndarray,
        counts_alleles: np.ndarray,
        effect_type: np.ndarray,
        given_frequency: np.ndarray,
        freq_ploidy: np.ndarray | None = None,
    ) -> np.ndarray:
        """Add a chunk (arguments as :func:`accumulate_scores`; ``freq_ploidy`` None: the
        frequency is taken on ``ploidy``); returns the frequencies used."""
        k = len(dosage)
        freq_ploidy = (
            np.empty((k, 0), dtype=np.int8)
            if freq_ploidy is None
            else np.ascontiguousarray(freq_ploidy, dtype=np.int8)
        )
        dosage = np.ascontiguousarray(dosage, dtype=np.float64)
        ploidy = np.ascontiguousarray(ploidy, dtype=np.int8)
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        counts_alleles = np.ascontiguousarray(counts_alleles, dtype=np.bool_)
        effect_type = np.ascontiguousarray(effect_type, dtype=np.int8)
        given_frequency = np.ascontiguousarray(given_frequency, dtype=np.float64)
        frequency = np.empty(len(dosage))
        # The kernel's arguments, in its order (the loop and BLAS paths take the same).
        arrays = (
            dosage,
            ploidy,
            weights,
            counts_alleles,
            effect_type,
            given_frequency,
            frequency,
            freq_ploidy,
        )
        if self.matmul:
            self._add_matmul(*arrays)
            return frequency
        if self.threads < 2 or dosage.size < _SPLIT_MIN_GENOTYPES or k < 2:
            self.all_missing += self._run(0, *arrays)
            return frequency
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="prs-score")
            self._parts += [self._zeros() for _ in range(self.threads - 1)]
        bounds = np.linspace(0, k, self.threads + 1).astype(np.int64)

        def piece(t: int) -> int:
            a, b = bounds[t], bounds[t + 1]
            return self._run(t, *(array[a:b] for array in arrays))

        futures = [self._pool.submit(piece, t) for t in range(1, self.threads)]
        self.all_missing += piece(0) + sum(f.result() for f in futures)
        return frequency

    def _run(
        self,
        t: int,
        dosage,
        ploidy,
        weights,
        counts_alleles,
        effect_type,
        given,
        frequency,
        freq_ploidy,
    ) -> int:
        part = self._parts[t]
        return int(
            accumulate_scores(
                dosage,
                ploidy,
                weights,
                counts_alleles,
                effect_type,
                self.impute,
                given,
                part["sums"],
                part["allele_ct"],
                part["denom"],
                part["named"],
                part["missing_ct"],
                frequency,
                part["uniform_ct"],
                freq_ploidy,
            )
        )

    def _add_matmul(
        self,
        dosage: np.ndarray,
        ploidy: np.ndarray,
        weights: np.ndarray,
        counts_alleles: np.ndarray,
        effect_type: np.ndarray,
        given: np.ndarray,
        frequency: np.ndarray,
        freq_ploidy: np.ndarray,
    ) -> None:
        part = self._parts[0]
        if self._x is None or self._x.size < dosage.size:
            self._x = np.empty(dosage.size)  # reused: fresh pages cost a fault each
        x = self._x[: dosage.size].reshape(dosage.shape)
        all_missing, missing_calls, skipped_calls = dosage_matrix(
            dosage, ploidy, effect_type, self.impute, given, x, frequency, freq_ploidy
        )
        self.all_missing += int(all_missing)
        used = ~np.isnan(weights)
        # A product beyond float64's range becomes inf, which score() reports as an error
        # naming the score; numpy's own overflow warning would only add noise.
        with np.errstate(over="ignore", invalid="ignore"):
            part["sums"] += np.where(used, weights, 0.0).T @ x
        # Calls not counted (NOT_COUNTED ploidy) are NaN but neither observed nor missing.
        observed = None if missing_calls == 0 and skipped_calls == 0 else ~np.isnan(dosage)
        x_observed = x if observed is None else np.where(observed, x, 0.0)
        # Scores that use the same variants share NAMED_ALLELE_DOSAGE_SUM and the allele
        # counts: one product per distinct pattern of use, not per score.
        _add_by_pattern(part["named"], used, x_observed)
        counts = counts_alleles
        if observed is None and ploidy.size and ploidy.min() == ploidy.max():
            part["uniform_ct"] += float(ploidy.flat[0]) * counts.sum(axis=0)
            return
        p_all = ploidy.astype(np.float64)
        counted = None
        if skipped_calls:
            counted = ploidy >= 0
            p_all = np.where(counted, p_all, 0.0)
        p_observed = p_all if observed is None else np.where(observed, p_all, 0.0)
        _add_by_pattern(part["allele_ct"], counts, p_observed)
        if observed is None:
            _add_by_pattern(part["denom"], counts, p_all)
            return
        _add_by_pattern(part["denom"], counts, p_all if self.impute != IMPUTE_NONE else p_observed)
        missing = np.zeros((len(self._parts[0]["missing_ct"]), dosage.shape[1]))
        is_missing = ~observed if counted is None else ~observed & counted
        _add_by_pattern(missing, counts, is_missing.astype(np.float64))
        part["missing_ct"] += np.rint(missing).astype(np.int64)

    def totals(self) -> dict[str, np.ndarray]:
        """The totals so far: ``sums``, ``allele_ct``, ``denom``, ``named``, ``missing_ct``."""
        out = {
            name: self._parts[0][name].copy()
            for name in ("sums", "allele_ct", "denom", "named", "missing_ct")
        }
        uniform = self._parts[0]["uniform_ct"].copy()
        for part in self._parts[1:]:
            for name in out:
                out[name] += part[name]
            uniform += part["uniform_ct"]
        out["allele_ct"] += uniform[:, None]
        out["denom"] += uniform[:, None]
        return out

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _add_by_pattern(total: np.ndarray, use: np.ndarray, values: np.ndarray) -> None:
    """``total += use.T @ values`` for a 0/1 ``use`` (variants x scores), computed once per
    distinct column of ``use`` (scores that use the same variants get the same row)."""
    if use.shape[1] == 1:
        total += use.T.astype(np.float64) @ values
        return
    packed = np.packbits(use, axis=0).T  # one row of bytes per score
    first: dict[bytes, int] = {}
    owner = np.array([first.setdefault(row.tobytes(), len(first)) for row in packed])
    patterns = np.zeros((len(first), use.shape[0]))
    for column, pattern in enumerate(owner):
        patterns[pattern] = use[:, column]
    total += (patterns @ values)[owner]
