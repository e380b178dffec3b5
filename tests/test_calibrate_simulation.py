"""Simulation: a cohort drawn from a known baseline hazard and a known HR per SD is recovered.

The simulation is independent of the model it checks: women are followed from birth in
continuous time with piecewise-constant yearly hazards (disease ``lambda0(t) * rr``, death
``m(t)``), the "registry" incidence is read off the simulated population (events / person-years
among the disease-free alive), and only that registry incidence, the mortality and the HR per
SD go into prs.calibrate. The derived baseline must match the true one, and predicted 10-year
risks at age 50 must be calibrated against the simulated outcomes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from prs.calibrate import (
    RateTable,
    auc,
    c_index,
    calibration,
    fit_absolute_risk_model,
    load_rate_table,
    log_relative_risk_per_sd,
    odds_ratio_per_sd,
)

HR_PER_SD = 1.6
N_WOMEN = 250_000
LAST_AGE = 70


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(20261123)
    true_baseline = load_rate_table("us-seer-female-breast-incidence").rates[:LAST_AGE]
    mortality = load_rate_table("us-female-competing-mortality").rates[:LAST_AGE]
    z = rng.normal(size=N_WOMEN)
    rr = np.exp(log_relative_risk_per_sd(z, or_per_sd=HR_PER_SD))
    event_age = np.full(N_WOMEN, np.inf)  # age at diagnosis
    exit_age = np.full(N_WOMEN, float(LAST_AGE))  # age at diagnosis, death or LAST_AGE
    at_risk = np.ones(N_WOMEN, dtype=bool)
    events = np.zeros(LAST_AGE)
    person_years = np.zeros(LAST_AGE)
    for age in range(LAST_AGE):
        idx = np.flatnonzero(at_risk)
        disease = true_baseline[age] * rr[idx]
        total = disease + mortality[age]
        wait = rng.exponential(1.0 / total)
        leaves = wait < 1.0
        person_years[age] = np.sum(np.minimum(wait, 1.0))
        is_disease = leaves & (rng.random(idx.size) < disease / total)
        events[age] = np.sum(is_disease)
        exit_age[idx[leaves]] = age + wait[leaves]
        event_age[idx[is_disease]] = age + wait[is_disease]
        at_risk[idx[leaves]] = False
    registry = RateTable(np.arange(LAST_AGE), events / person_years, "simulated-registry")
    deaths = RateTable(np.arange(LAST_AGE), mortality, "simulated-mortality")
    return {
        "z": z,
        "event_age": event_age,
        "exit_age": exit_age,
        "true_baseline": true_baseline,
        "registry": registry,
        "mortality": deaths,
    }


def test_derived_baseline_matches_the_true_baseline(cohort):
    model = fit_absolute_risk_model(cohort["registry"], cohort["mortality"], or_per_sd=HR_PER_SD)
    ages = np.arange(45, 70)  # ages with hundreds of events per year
    derived = model.baseline_hazard[ages]
    truth = cohort["true_baseline"][ages]
    # the registry incidence is attenuated by depletion of high-risk women; the derived
    # baseline must undo it: compare summed over 5-year bands against Poisson noise
    rel_error = derived.reshape(5, 5).sum(axis=1) / truth.reshape(5, 5).sum(axis=1) - 1
    assert np.all(np.abs(rel_error) < 0.05), rel_error
    attenuation = cohort["registry"].rates[ages].sum() / truth.sum()
    assert attenuation < 0.995  # the marginal incidence really is below the baseline


def test_ten_year_risk_at_50_is_calibrated_and_the_effect_recovered(cohort):
    z, event_age, exit_age = cohort["z"], cohort["event_age"], cohort["exit_age"]
    at_50 = exit_age >= 50  # alive and disease-free at 50
    outcome = ((event_age >= 50) & (event_age < 60)).astype(float)[at_50]
    model = fit_absolute_risk_model(cohort["registry"], cohort["mortality"], or_per_sd=HR_PER_SD)
    predicted = model.risk(
        log_relative_risk_per_sd(z[at_50], or_per_sd=HR_PER_SD), age_start=50, years=10
    )
    result = calibration(predicted, outcome)
    events = result.observed
    assert events > 3000
    eo = result.eo_ratio
    assert abs(math.log(eo.estimate)) < 3 * eo.se + 0.01, eo
    slope = result.calibration_slope
    assert abs(slope.estimate - 1) < 3 * slope.se + 0.02, slope
    # OR per SD of the 10-year outcome: close to the HR for a rare outcome (bias < 0.02 on the
    # log scale from the OR/HR difference at ~2.5% risk)
    odds = odds_ratio_per_sd(z[at_50], outcome, standardise="none")
    assert abs(math.log(odds.estimate) - math.log(HR_PER_SD)) < 3 * odds.se + 0.02, odds
    # AUC of a normal score with this effect: Phi(ln(OR)/sqrt(2)) for the rare-disease limit
    area = auc(z[at_50], outcome)
    expected_auc = 0.5 * math.erfc(-math.log(HR_PER_SD) / 2)
    assert abs(area.estimate - expected_auc) < 3 * area.se + 0.01, area
    # Harrell's C on the time-to-event version (censored at death or 60)
    sample = np.flatnonzero(at_50)[:20000]
    time = np.minimum(np.minimum(event_age[sample], exit_age[sample]), 60.0) - 50
    event = (event_age[sample] < 60).astype(float)
    concordance = c_index(time, event, z[sample])
    assert 0.5 < concordance < expected_auc + 0.05
