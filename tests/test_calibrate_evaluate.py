"""Evaluation on cohorts with outcomes (prs.calibrate.evaluate)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special, stats

from prs.calibrate import (
    CalibrationWarning,
    auc,
    c_index,
    calibration,
    calibration_table,
    check_outcome,
    odds_ratio_per_sd,
    or_top_vs_middle_quintile,
    recalibrate,
    reference_from_parameters,
)
from prs.errors import CalibrationError


def _case_control(log_or: float, n: int, seed: int):
    """Controls N(0, 1), cases N(log_or, 1): logistic OR per SD is exp(log_or) exactly."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n), np.ones(n)]
    x = rng.normal(size=2 * n) + log_or * y
    return x, y


def test_auc_equals_phi_of_log_or_over_root_two_for_a_normal_score():
    log_or = math.log(1.8)
    x, y = _case_control(log_or, 20000, seed=1)
    result = auc(x, y)
    published = stats.norm.cdf(log_or / math.sqrt(2))
    assert abs(result.estimate - published) < 3 * result.se
    assert result.ci_low < published < result.ci_high
    odds = odds_ratio_per_sd(x, y)
    assert abs(math.log(odds.estimate) - log_or) < 3 * odds.se


def test_auc_matches_mann_whitney_and_delong_se_matches_simulation():
    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=300), 1)  # ties on purpose
    y = (rng.random(300) < special.expit(x - 0.5)).astype(float)
    u = stats.mannwhitneyu(x[y == 1], x[y == 0]).statistic
    assert auc(x, y).estimate == pytest.approx(u / (np.sum(y) * np.sum(1 - y)))
    # DeLong SE against the spread of AUCs over repeated cohorts
    estimates, ses = [], []
    for seed in range(200):
        xs, ys = _case_control(0.6, 150, seed=100 + seed)
        r = auc(xs, ys)
        estimates.append(r.estimate)
        ses.append(r.se)
    assert np.mean(ses) == pytest.approx(np.std(estimates, ddof=1), rel=0.15)


def test_odds_ratio_with_covariates_matches_direct_likelihood_maximisation():
    rng = np.random.default_rng(3)
    n = 3000
    age = rng.uniform(40, 70, n)
    score = rng.normal(size=n)
    y = (rng.random(n) < special.expit(-6 + 0.07 * age + 0.4 * score)).astype(float)
    result = odds_ratio_per_sd(score, y, covariates=age[:, None], standardise="none")
    design = np.column_stack([np.ones(n), score, age])

    def negative_log_likelihood(beta):
        eta = design @ beta
        return -np.sum(y * eta - np.logaddexp(0, eta))

    fit = optimize.minimize(negative_log_likelihood, np.zeros(3), method="BFGS")
    assert math.log(result.estimate) == pytest.approx(fit.x[1], abs=1e-4)
    assert abs(math.log(result.estimate) - 0.4) < 3 * result.se
    ref = reference_from_parameters(0.0, 2.0)
    halved = odds_ratio_per_sd(score, y, covariates=age[:, None], standardise=ref)
    assert math.log(halved.estimate) == pytest.approx(2 * math.log(result.estimate), rel=1e-6)


def _brute_force_c(time, event, score):
    # Harrell: i's event comes first when its time is shorter, or equal to a censoring time
    concordant = comparable = 0.0
    for i, j in itertools.permutations(range(len(time)), 2):
        if event[i] == 1 and (time[i] < time[j] or (time[i] == time[j] and event[j] == 0)):
            comparable += 1
            concordant += 1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0
    return concordant / comparable


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_c_index_matches_brute_force(data):
    n = data.draw(st.integers(4, 25))
    time = data.draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    score = data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    event = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    if len(set(event)) < 2:
        event[0], event[1] = 0, 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)  # tiny cohorts: few events
        try:
            expected = _brute_force_c(time, event, score)
        except ZeroDivisionError:
            with pytest.raises(CalibrationError, match="no comparable pairs"):
                c_index(time, event, score)
            return
        assert c_index(time, event, score) == pytest.approx(expected)


def test_top_vs_middle_quintile_by_hand():
    # controls 0..99 -> quintile cut points from controls; cases placed by hand
    controls = np.arange(100.0)
    q40, q60, q80 = np.quantile(controls, [0.4, 0.6, 0.8])
    cases = np.r_[np.full(30, q80 + 1), np.full(10, (q40 + q60) / 2)]
    x = np.r_[controls, cases]
    y = np.r_[np.zeros(100), np.ones(40)]
    top_controls = np.sum(controls >= q80)
    middle_controls = np.sum((controls >= q40) & (controls < q60))
    expected = (30 / top_controls) / (10 / middle_controls)
    result = or_top_vs_middle_quintile(x, y)
    assert result.estimate == pytest.approx(expected)
    se = math.sqrt(1 / 30 + 1 / top_controls + 1 / 10 + 1 / middle_controls)
    assert result.ci_high == pytest.approx(expected * math.exp(1.959963984540054 * se))


def test_calibrated_risks_pass_and_doubled_risks_fail():
    rng = np.random.default_rng(4)
    p = special.expit(rng.normal(-2.5, 0.8, size=40000))
    y = (rng.random(p.size) < p).astype(float)
    good = calibration(p, y)
    assert good.eo_ratio.ci_low < 1 < good.eo_ratio.ci_high
    assert abs(good.calibration_in_the_large.estimate) < 3 * good.calibration_in_the_large.se
    assert abs(good.calibration_slope.estimate - 1) < 3 * good.calibration_slope.se
    # external predictions (the default): df = the 10 groups used
    assert good.hl_p_value > 0.001 and good.hl_df == 10 and good.hl_groups == 10
    bad = calibration(np.minimum(2 * p, 0.99), y)
    assert bad.eo_ratio.estimate == pytest.approx(np.minimum(2 * p, 0.99).sum() / y.sum())
    assert bad.eo_ratio.ci_low > 1.8
    assert bad.hl_p_value < 1e-6
    table = good.groups
    assert table["n"].sum() == p.size and table["observed"].sum() == y.sum()
    assert table["expected"].sum() == pytest.approx(p.sum())
    assert np.all(np.diff(table["mean_predicted"]) > 0)


def test_hosmer_lemeshow_by_hand():
    p = np.array([0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5, 0.6, 0.6])
    y = np.array([0, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0], dtype=float)
    table = calibration_table(p, y, groups=3)
    assert table["n"].tolist() == [4, 4, 4]
    expected_counts = [0.6, 1.4, 2.2]
    observed_counts = [1, 2, 3]
    hl = sum(
        (o - e) ** 2 / (e * (1 - e / 4))
        for o, e in zip(observed_counts, expected_counts, strict=True)
    )
    with pytest.warns(CalibrationWarning, match="fewer than 10"):
        result = calibration(p, y, groups=3)
    assert result.hosmer_lemeshow == pytest.approx(hl)
    assert result.hl_groups == 3
    assert result.hl_p_value == pytest.approx(stats.chi2.sf(hl, 3))  # external: df = 3
    with pytest.warns(CalibrationWarning, match="fewer than 10"):
        fitted = calibration(p, y, groups=3, predictions="fitted")
    assert fitted.hl_p_value == pytest.approx(stats.chi2.sf(hl, 1))  # fitted: df = 3 - 2


def test_recalibration_recovers_the_distortion_and_is_exact_in_sample():
    rng = np.random.default_rng(5)
    p = special.expit(rng.normal(-2, 1, size=30000))
    truth = special.expit(-0.5 + 0.7 * special.logit(p))
    y = (rng.random(p.size) < truth).astype(float)
    fit = recalibrate(p, y)
    slope = calibration(p, y).calibration_slope
    assert abs(fit.slope - 0.7) < 3 * slope.se
    assert fit.slope == pytest.approx(slope.estimate)
    after = calibration(fit.apply(p), y)
    # the logistic score equations make in-sample recalibration exact
    assert after.calibration_slope.estimate == pytest.approx(1.0, abs=1e-6)
    assert after.calibration_in_the_large.estimate == pytest.approx(0.0, abs=1e-6)
    large = recalibrate(p, y, slope=False)
    assert large.slope == 1.0
    assert large.apply(p).sum() == pytest.approx(y.sum(), rel=1e-4)  # mean matched


def test_degenerate_cohorts_get_clear_errors_and_warnings():
    with pytest.raises(CalibrationError, match="coded 1/2"):
        check_outcome([1, 2, 2, 1])
    with pytest.raises(CalibrationError, match="all 3 people are non-events"):
        check_outcome([0, 0, 0])
    with pytest.raises(CalibrationError, match="1 of 3 outcomes are missing"):
        check_outcome([0, np.nan, 1])
    with pytest.raises(CalibrationError, match="found values"):
        check_outcome([0, 1, 3])
    with pytest.warns(CalibrationWarning, match="only 3 events"):
        check_outcome([1, 1, 1] + [0] * 50)
    with pytest.raises(CalibrationError, match="strictly between 0 and 1"):
        calibration([10.0, 20.0] * 10, [0, 1] * 10)
