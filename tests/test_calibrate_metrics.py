"""Metric fixes of issue 11 item 6, each against an independent computation.

Hosmer-Lemeshow grouped as R ResourceSelection's ``hoslem.test`` (ties kept together), the
C-index against lifelines, the bottom band of a quantile-table reference, finite rank
z-scores, no warnings from integration nodes, and the two population-average risks (iCARE's
plain mean against its vignette).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines.utils import concordance_index
from scipy import special, stats

from prs.calibrate import (
    PercentileBands,
    RateTable,
    c_index,
    calibration,
    calibration_table,
    evaluate_cohort,
    fit_absolute_risk_model,
    reference_from_parameters,
    reference_from_quantiles,
    relative_risk_from_bands,
)
from prs.calibrate.reference import RANK_Z_LIMIT
from prs.errors import CalibrationError, CalibrationWarning
from tests.builders import shared_file

# -- Hosmer-Lemeshow -------------------------------------------------------------------------


def _r_quantile_type7(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R's quantile(x, probs) with the default type 7, written out from its definition."""
    xs = np.sort(x)
    out = []
    for p in probs:
        h = (xs.size - 1) * p
        lo = math.floor(h)
        hi = min(lo + 1, xs.size - 1)
        out.append(xs[lo] + (h - lo) * (xs[hi] - xs[lo]))
    return np.array(out)


def _hoslem_test(y: np.ndarray, yhat: np.ndarray, g: int = 10) -> tuple[float, int]:
    """ResourceSelection::hoslem.test(y, yhat, g), step by step:

    qq <- unique(quantile(yhat, probs = seq(0, 1, 1/g)))
    cutyhat <- cut(yhat, breaks = qq, include.lowest = TRUE)      # (a, b], first [a, b]
    observed <- xtabs(cbind(y0 = 1 - y, y1 = y) ~ cutyhat)
    expected <- xtabs(cbind(yhat0 = 1 - yhat, yhat1 = yhat) ~ cutyhat)
    chisq <- sum((observed - expected)^2 / expected)

    Returns the statistic and the number of intervals of ``cut``.
    """
    qq = []
    for q in _r_quantile_type7(yhat, np.arange(g + 1) / g):
        if q not in qq:
            qq.append(q)
    chisq = 0.0
    for k in range(1, len(qq)):
        lower, upper = qq[k - 1], qq[k]
        inside = [
            i
            for i in range(yhat.size)
            if (lower < yhat[i] <= upper) or (k == 1 and yhat[i] == lower)
        ]
        assert inside, "an empty interval: R gives NaN; choose another test cohort"
        o1 = sum(y[i] for i in inside)
        e1 = sum(yhat[i] for i in inside)
        o0, e0 = len(inside) - o1, len(inside) - e1
        chisq += (o0 - e0) ** 2 / e0 + (o1 - e1) ** 2 / e1
    return chisq, len(qq) - 1


def _tied_cohort(seed: int = 11, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """Predicted risks with heavy ties (a few risk categories), outcomes drawn from them."""
    rng = np.random.default_rng(seed)
    levels = np.array([0.02, 0.05, 0.08, 0.12, 0.2, 0.35])
    p = rng.choice(levels, size=n, p=[0.35, 0.25, 0.15, 0.12, 0.08, 0.05])
    y = (rng.random(n) < p * 1.15).astype(float)
    return p, y


def test_hosmer_lemeshow_does_not_depend_on_row_order_with_tied_risks():
    """Before the fix, ties were split by row order: over 200 permutations of such a cohort
    p ranged 0.006-0.894. Now the statistic, groups and p are the same for every order."""
    p, y = _tied_cohort()
    first = calibration(p, y)
    rng = np.random.default_rng(0)
    for _ in range(50):
        order = rng.permutation(p.size)
        again = calibration(p[order], y[order])
        assert again.hosmer_lemeshow == pytest.approx(first.hosmer_lemeshow, rel=1e-12)
        assert again.hl_p_value == pytest.approx(first.hl_p_value, rel=1e-9)
        assert again.hl_groups == first.hl_groups
        pd.testing.assert_frame_equal(again.groups, first.groups, rtol=1e-12)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_hosmer_lemeshow_equals_the_hoslem_test_definition_with_ties(seed):
    p, y = _tied_cohort(seed)
    chisq, used = _hoslem_test(y, p, g=10)
    result = calibration(p, y, groups=10)
    assert used < 10  # the ties merged cut points: fewer groups than asked
    assert result.hl_groups == used == len(result.groups)
    assert result.hosmer_lemeshow == pytest.approx(chisq, rel=1e-10)
    # external predictions: df = groups used; fitted on the cohort: groups used - 2
    assert result.hl_predictions == "external" and result.hl_df == used
    assert result.hl_p_value == pytest.approx(stats.chi2.sf(chisq, used), rel=1e-9)
    fitted = calibration(p, y, groups=10, predictions="fitted")
    assert fitted.hl_df == used - 2
    assert fitted.hl_p_value == pytest.approx(stats.chi2.sf(chisq, used - 2), rel=1e-9)
    # every tied risk sits in exactly one group
    table = calibration_table(p, y, groups=10)
    assert table["n"].sum() == p.size
    bounds = pd.DataFrame({"p": p}).assign(
        group=np.searchsorted(np.unique(_r_quantile_type7(p, np.arange(11) / 10)), p).clip(1)
    )
    assert (bounds.groupby("p")["group"].nunique() == 1).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 12))
def test_hosmer_lemeshow_equals_hoslem_test_without_ties(seed, groups):
    rng = np.random.default_rng(seed)
    p = special.expit(rng.normal(-2.0, 0.7, size=400))
    y = (rng.random(p.size) < p).astype(float)
    y[:2] = [0.0, 1.0]
    chisq, used = _hoslem_test(y, p, g=groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)  # a few draws have few events
        result = calibration(p, y, groups=groups, predictions="fitted")
    assert used == groups == result.hl_groups
    assert result.hosmer_lemeshow == pytest.approx(chisq, rel=1e-10)
    # as hoslem.test itself when no groups merge: df = g - 2
    assert result.hl_df == groups - 2
    assert result.hl_p_value == pytest.approx(stats.chi2.sf(chisq, groups - 2), rel=1e-9)


def test_hosmer_lemeshow_groups_and_predictions_are_reported():
    p, y = _tied_cohort()
    score = special.logit(p) + np.random.default_rng(1).normal(0.0, 0.5, p.size)
    result = evaluate_cohort(score, y, predicted_risk=p, predictions="fitted")
    assert result.calibration is not None
    out = result.to_dict()["calibration"]
    assert out["hl_groups"] == result.calibration.hl_groups < 10
    assert out["hl_predictions"] == "fitted" and out["hl_df"] == out["hl_groups"] - 2
    label = result.summary()["metric"].str.startswith("Hosmer-Lemeshow")
    assert f"{out['hl_groups']} groups" in result.summary().loc[label, "metric"].item()
    with pytest.raises(CalibrationError, match="'external' or 'fitted'"):
        calibration(p, y, predictions="internal")  # type: ignore[arg-type]


# -- C-index ---------------------------------------------------------------------------------


def test_c_index_counts_an_event_against_a_censoring_at_the_same_time():
    # person 0: event at 2; person 1: censored at 2 -> comparable (Harrell), person 0 first
    time = [2.0, 2.0, 5.0]
    event = [1, 0, 1]
    score = [1.0, 3.0, 0.0]
    # pairs: (0 vs 1) discordant, (0 vs 2) concordant; before the fix only (0 vs 2): 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        value = c_index(time, event, score)
    assert value == pytest.approx(0.5)
    assert value == pytest.approx(concordance_index(time, -np.asarray(score), event))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_c_index_equals_lifelines_on_tied_times_and_scores(data):
    n = data.draw(st.integers(4, 40))
    time = data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    score = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    event = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    if len(set(event)) < 2:
        event[0], event[1] = 0, 1
    try:
        expected = concordance_index(time, -np.asarray(score, dtype=float), event)
    except ZeroDivisionError:
        expected = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)  # tiny cohorts: few events
        if expected is None:
            with pytest.raises(CalibrationError, match="no comparable pairs"):
                c_index(time, event, score)
        else:
            assert c_index(time, event, score) == pytest.approx(expected, abs=1e-12)


def test_c_index_equals_lifelines_on_a_large_cohort_with_ties():
    rng = np.random.default_rng(3)
    n = 5000
    score = np.round(rng.normal(size=n), 1)  # tied scores
    time = np.ceil(rng.exponential(10 * np.exp(-0.5 * score)))  # whole years: tied times
    event = (rng.random(n) < 0.6).astype(int)
    expected = concordance_index(time, -score, event)
    assert c_index(time, event, score) == pytest.approx(expected, abs=1e-12)


# -- quantile-table references -----------------------------------------------------------------


def test_quantile_table_bottom_one_percent_band_is_reachable():
    """A megSAP-style table (levels 1..100): a score below the 1st percentile's value is in
    the bottom 1 %. Before the fix it was clipped to percentile 1, outside the band [0, 1)."""
    values = stats.norm.ppf(np.arange(1, 101) / 100.0, loc=10.0, scale=2.0)
    values[-1] = 20.0  # level 100 is the maximum
    ref = reference_from_quantiles(np.arange(1, 101), values, n=100000)
    below = values[0] - 0.5
    pct = ref.percentile([below, values[0], values[49], values[-1] + 1.0])
    assert pct[0] == pytest.approx(0.5)  # the middle of the bottom band [0, 1)
    assert pct[0] < 1.0 <= pct[1]
    assert pct[2] == pytest.approx(50.0)
    assert ref.out_of_range([below]).tolist() == [-1]
    bands = PercentileBands(
        np.array([0.0, 1.0, 99.0]), np.array([1.0, 99.0, 100.0]), np.array([0.3, 1.0, 2.5])
    )
    rr = relative_risk_from_bands(pct, bands, rescale=False)
    assert rr.tolist() == [0.3, 1.0, 1.0, 2.5]


def test_quantile_table_top_band_below_100_is_reachable():
    ref = reference_from_quantiles([5.0, 50.0, 95.0], [1.0, 2.0, 3.0])
    assert ref.percentile([0.0, 4.0]).tolist() == [2.5, 97.5]


# -- rank z ------------------------------------------------------------------------------------


def test_rank_z_with_a_parametric_reference_is_finite_and_the_moments_z():
    ref = reference_from_parameters(10.0, 2.0)
    x = np.array([10.0 - 2 * 50, 10.0 - 2 * 20, 10.0 + 2 * 9, 10.0 + 2 * 50, 1e300, -1e300])
    z = ref.z(x, method="rank")
    assert np.all(np.isfinite(z))  # before the fix: -inf from -38.5 SDs down
    # Phi^-1(Phi(z)) = z: the moments z within the bound (before: 8.21 for z = 9)
    assert z[1:3].tolist() == pytest.approx([-20.0, 9.0])
    limits = [-RANK_Z_LIMIT, RANK_Z_LIMIT, RANK_Z_LIMIT, -RANK_Z_LIMIT]
    assert z[[0, 3, 4, 5]].tolist() == pytest.approx(limits)
    moderate = np.linspace(0.0, 20.0, 9)
    assert ref.z(moderate, method="rank") == pytest.approx(ref.z(moderate), abs=1e-12)


def test_rank_z_with_a_quantile_table_without_n_is_finite():
    ref = reference_from_quantiles(np.arange(0, 101), np.linspace(-3.0, 3.0, 101))
    z = ref.z([-10.0, 0.0, 10.0], method="rank")
    assert np.all(np.isfinite(z))
    assert z[0] == -RANK_Z_LIMIT and z[1] == pytest.approx(0.0) and z[2] > 8


# -- population averages -----------------------------------------------------------------------


def test_population_averages_do_not_warn_about_quadrature_nodes():
    """Before the fix: 'relative risk 73.6 (log 4.3) at ages 50-60 gives a yearly hazard of
    0.244' from a Gauss-Hermite node of weight ~1e-46, failing --strict runs."""
    model = fit_absolute_risk_model(or_per_sd=1.61)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        disease_free = model.population_risk(age_start=50, years=10)
        plain = model.population_mean_risk(age_start=50, years=10)
        lifetime = model.population_risk(age_start=20, years=60)
    assert 0 < disease_free < plain < 0.05 and 0 < lifetime < 0.2
    # a real person with that relative risk is still warned about
    with pytest.warns(CalibrationWarning, match="yearly hazard"):
        model.risk(4.3, age_start=50, years=10)


def test_benchmark_age_categorisation_passes_with_warnings_as_errors():
    from prs.calibrate import categorise

    ref = reference_from_parameters(0.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # a breast score (trait metadata) for women: nothing left unchecked to warn about
        out = categorise(
            pd.DataFrame(
                {
                    "sample_id": ["a", "b", "c"],
                    "score": "PGS000004",
                    "SUM": [-1.0, 0.0, 1.5],
                    "trait_efo": "EFO_0000305",
                }
            ),
            reference=ref,
            or_per_sd=1.61,
            benchmark_age=50,
            benchmark_years=10,
            sex="female",
        )
    assert out.inputs["benchmark_risk"] > 0


def test_population_mean_risk_matches_the_icare_vignette():
    """iCARE's vignette (SNP-only breast cancer model, SEER incidence and competing
    mortality, ages 50 to 80) reports a mean risk of 0.09601; its 72-SNP log relative risk
    has SD 0.3197 (normal here)."""
    model = fit_absolute_risk_model(or_per_sd=math.exp(0.3197))
    plain = model.population_mean_risk(age_start=50, years=30)
    assert plain == pytest.approx(0.0960, abs=1e-4)
    # the other estimand: weighted by being disease-free at 50, slightly lower
    disease_free = model.population_risk(age_start=50, years=30)
    assert disease_free < plain
    assert plain - disease_free == pytest.approx(2.07e-4, abs=2e-5)
    # the plain mean is the quadrature-weighted mean of every member's risk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)  # the outermost nodes' hazards
        each = model.risk(model.population_log_rr, age_start=50, years=30)
    assert plain == pytest.approx(float(np.sum(model.population_weights * each)), rel=1e-12)


def test_population_mean_risk_with_the_shared_icare_tables():
    def table(name: str) -> RateTable:
        frame = pd.read_csv(shared_file("incidence", name)).dropna()
        return RateTable(
            frame["age"].to_numpy(int), frame["rate"].to_numpy(float), name.removesuffix(".csv")
        )

    model = fit_absolute_risk_model(
        table("us_seer_female_breast_cancer_incidence.csv"),
        table("us_female_competing_mortality.csv"),
        or_per_sd=math.exp(0.3197),
    )
    assert model.population_mean_risk(age_start=50, years=30) == pytest.approx(0.0960, abs=1e-4)
