"""Relative and absolute risk (prs.calibrate.relative, prs.calibrate.absolute)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from prs.calibrate import (
    PercentileBands,
    RateTable,
    absolute_risk,
    available_rate_tables,
    baseline_hazard,
    fit_absolute_risk_model,
    load_rate_table,
    log_relative_risk_per_sd,
    normal_population,
    read_percentile_bands,
    relative_risk_from_bands,
    relative_risk_per_sd,
)
from prs.errors import CalibrationError
from tests.builders import shared_file

# -- relative risk ------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.floats(0.2, 5.0))
def test_population_mean_relative_risk_is_one_for_a_normal_score(or_per_sd):
    # closed form check by numerical integration of E[RR] over N(0, 1)
    mean_rr, _ = integrate.quad(
        lambda z: relative_risk_per_sd(z, or_per_sd=or_per_sd) * stats.norm.pdf(z), -12, 12
    )
    assert mean_rr == pytest.approx(1.0, rel=1e-8)
    b = math.log(or_per_sd)
    assert float(relative_risk_per_sd(1.0, or_per_sd=or_per_sd)) == pytest.approx(
        math.exp(b - b * b / 2)
    )
    log_rr, w = normal_population(or_per_sd)
    assert np.sum(w * np.exp(log_rr)) == pytest.approx(1.0, rel=1e-10)


def test_relative_risk_against_an_empirical_population_averages_one():
    rng = np.random.default_rng(4)
    population = rng.standard_t(5, size=3000)
    rr = relative_risk_per_sd(population, or_per_sd=1.7, population_z=population)
    assert rr.mean() == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(CalibrationError, match="plausible"):
        log_relative_risk_per_sd(0.0, or_per_sd=-1.0)


def test_percentile_bands_by_hand_and_rescaled(tmp_path):
    bands = PercentileBands(
        np.array([0.0, 20.0, 80.0, 99.0]),
        np.array([20.0, 80.0, 99.0, 100.0]),
        np.array([0.5, 1.0, 2.0, 3.0]),
    )
    average = 0.2 * 0.5 + 0.6 * 1.0 + 0.19 * 2.0 + 0.01 * 3.0  # by hand
    assert bands.population_average() == pytest.approx(average)
    rr = relative_risk_from_bands([0.0, 19.99, 20.0, 98.9, 99.0, 100.0], bands)
    np.testing.assert_allclose(rr * average, [0.5, 0.5, 1.0, 2.0, 3.0, 3.0])
    raw = relative_risk_from_bands([50.0], bands, rescale=False)
    assert raw.tolist() == [1.0]
    csv = tmp_path / "bands.csv"
    csv.write_text(
        "# source: test bands\nlower_percentile,upper_percentile,relative_risk\n"
        "0,20,0.5\n20,80,1\n80,99,2\n99,100,3\n"
    )
    loaded = read_percentile_bands(csv)
    assert loaded.source == "test bands"
    np.testing.assert_array_equal(loaded.relative_risk, bands.relative_risk)
    csv.write_text("lower_percentile,upper_percentile,relative_risk\n0,20,1\n30,100,2\n")
    with pytest.raises(CalibrationError, match="tile 0-100"):
        read_percentile_bands(csv)


# -- rate tables ----------------------------------------------------------------------------------


def test_shipped_tables_match_the_shared_icare_csvs():
    import pandas as pd

    assert {
        "us-seer-female-breast-incidence",
        "us-female-competing-mortality",
    } <= set(available_rate_tables())
    for name, shared in (
        ("us-seer-female-breast-incidence", "us_seer_female_breast_cancer_incidence.csv"),
        ("us-female-competing-mortality", "us_female_competing_mortality.csv"),
    ):
        table = load_rate_table(name)
        assert "iCARE" in table.source
        original = pd.read_csv(shared_file("incidence", shared)).dropna()
        np.testing.assert_array_equal(table.ages, original["age"].to_numpy())
        np.testing.assert_allclose(table.rates, original["rate"].to_numpy(), rtol=0, atol=0)


def test_rate_table_formats_and_errors(tmp_path):
    bands = tmp_path / "registry.csv"
    bands.write_text(
        "# name: test-registry\n# source: made up\nage_start,age_end,rate_per_100000\n"
        "0,40,10\n40,45,100\n45,50,200\n"
    )
    table = load_rate_table(bands)
    assert table.name == "test-registry" and table.source == "made up"
    assert table.first_age == 0 and table.last_age == 49
    assert table.rates[39] == pytest.approx(1e-4) and table.rates[44] == pytest.approx(1e-3)
    assert table.rates[45] == pytest.approx(2e-3)
    bad = tmp_path / "bad.csv"
    bad.write_text("# c\nage,rate\n0,0.1\n1,NA\n2,0.1\n")
    with pytest.raises(CalibrationError, match=r"bad.csv line 4: rate 'NA'"):
        load_rate_table(bad)
    bad.write_text("age,rate\n0,0.1\n2,0.1\n")
    with pytest.raises(CalibrationError, match="contiguous"):
        load_rate_table(bad)
    bad.write_text("age_start,age_end,rate\n0,10,0.1\n12,20,0.1\n")
    with pytest.raises(CalibrationError, match="start where the previous band ends"):
        load_rate_table(bad)
    with pytest.raises(CalibrationError, match=r"shipped: .*us-female-competing-mortality"):
        load_rate_table("no-such-table")


# -- absolute risk: hand computations -------------------------------------------------------------

TOY_INCIDENCE = RateTable(np.arange(4), np.array([0.01, 0.02, 0.03, 0.04]), "toy-incidence")
TOY_MORTALITY = RateTable(np.arange(4), np.array([0.001, 0.002, 0.003, 0.004]), "toy-mortality")


def test_baseline_hazard_by_hand_two_point_population():
    # population: half at RR 0.5, half at RR 1.5 (average 1)
    lam0 = baseline_hazard(
        TOY_INCIDENCE.rates,
        population_log_rr=np.log([0.5, 1.5]),
        population_weights=np.array([0.5, 0.5]),
    )
    expected = []
    cumulative = 0.0
    for rate in TOY_INCIDENCE.rates:
        s_low, s_high = math.exp(-0.5 * cumulative), math.exp(-1.5 * cumulative)
        mean_rr_disease_free = (0.5 * s_low + 1.5 * s_high) / (s_low + s_high)
        expected.append(rate / mean_rr_disease_free)
        cumulative += expected[-1]
    np.testing.assert_allclose(lam0, expected, rtol=1e-14)
    assert lam0[0] == pytest.approx(0.01)  # nobody is depleted at the first age
    assert np.all(lam0[1:] > TOY_INCIDENCE.rates[1:])  # high-risk depletion raises lambda0


def test_absolute_risk_matches_a_hand_computed_survival_sum():
    model = fit_absolute_risk_model(
        TOY_INCIDENCE,
        TOY_MORTALITY,
        population_log_rr=np.log([0.5, 1.5]),
        population_weights=np.array([0.5, 0.5]),
    )
    lam0, m = model.baseline_hazard, TOY_MORTALITY.rates
    rr = 2.0
    # risk over [1, 4): sum_t lam0(t) rr exp(-sum_{u=1}^{t-1} (lam0(u) rr + m(u)))
    hand = (
        lam0[1] * rr
        + lam0[2] * rr * math.exp(-(lam0[1] * rr + m[1]))
        + lam0[3] * rr * math.exp(-(lam0[1] * rr + m[1] + lam0[2] * rr + m[2]))
    )
    assert model.risk(math.log(rr), age_start=1, years=3) == pytest.approx(hand, rel=1e-14)
    assert model.risk(math.log(rr), age_start=1.9, years=1) == pytest.approx(lam0[1] * rr)
    with pytest.raises(CalibrationError, match="outside the rate tables' ages 0-3"):
        model.risk(0.0, age_start=2, years=3)


def test_constant_rates_give_the_geometric_closed_form():
    h, m, years = 0.004, 0.01, 25
    incidence = RateTable(np.arange(30, 60), np.full(30, h), "flat")
    mortality = RateTable(np.arange(30, 60), np.full(30, m), "flat-m")
    # OR per SD 1 = no heterogeneity: lambda0 = incidence
    model = fit_absolute_risk_model(incidence, mortality, or_per_sd=1.0)
    q = math.exp(-(h + m))
    closed = h * (1 - q**years) / (1 - q)
    assert model.risk(0.0, age_start=30, years=years) == pytest.approx(closed, rel=1e-12)


def test_population_average_one_year_risk_reproduces_incidence():
    model = fit_absolute_risk_model(or_per_sd=1.61)
    for age in (30, 45, 50, 62, 79):
        expected = load_rate_table("us-seer-female-breast-incidence").rates[age]
        assert model.population_risk(age_start=age, years=1) == pytest.approx(expected, rel=1e-9)


def test_seer_lifetime_risk_is_about_one_in_eight_to_nine():
    model = fit_absolute_risk_model(or_per_sd=1.61)
    lifetime = model.population_risk(age_start=20, years=60)
    # US lifetime risk of invasive breast cancer is ~12-13% from birth (SEER); 20-80 with
    # competing mortality must be a little lower.
    assert 0.08 < lifetime < 0.13


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-3, 2),
    st.floats(0.01, 1.5),
    st.integers(20, 70),
    st.integers(1, 10),
)
def test_risk_monotone_in_relative_risk_and_horizon(log_rr, delta, age, years):
    """Log relative risks up to 3.5 (RR 33: a polygenic score 6 SD out at OR/SD 1.8)."""
    model = fit_absolute_risk_model(or_per_sd=1.5)
    low = model.risk(log_rr, age_start=age, years=years)
    high = model.risk(log_rr + delta, age_start=age, years=years)
    longer = model.risk(log_rr, age_start=age, years=years + 1)
    assert 0 < low < high < 1
    assert longer > low


def test_relative_risk_beyond_the_yearly_model_warns():
    """At log RR 4.5 (RR 90) the yearly sum passes 1 at ages 50-60: a warning names it;
    realistic relative risks stay silent."""
    import warnings as w

    model = fit_absolute_risk_model(or_per_sd=1.5)
    with pytest.warns(UserWarning, match=r"relative risk 90 \(log 4\.5\) at ages 50-60"):
        extreme = model.risk(np.array([0.0, 4.5]), age_start=50, years=10)
    assert extreme[1] > 1  # why it warns: the iCARE yearly sum is no longer a probability
    with w.catch_warnings():
        w.simplefilter("error")
        assert model.risk(3.5, age_start=50, years=10) < 1


def test_risk_equivalent_age_is_the_first_age_reaching_the_benchmark():
    model = fit_absolute_risk_model(or_per_sd=1.61)
    benchmark = model.population_risk(age_start=50, years=10)
    log_rr = np.log([0.5, 1.0, 2.0, 4.0])
    ages = model.risk_equivalent_age(log_rr, years=10, benchmark_risk=benchmark)
    assert np.all(np.diff(ages[np.isfinite(ages)]) <= 0)  # higher risk, earlier or same age
    for lrr, age in zip(log_rr, ages, strict=True):
        if np.isnan(age):
            continue
        assert model.risk(lrr, age_start=age, years=10) >= benchmark
        assert model.risk(lrr, age_start=age - 1, years=10) < benchmark
    assert ages[-1] < 50 < ages[0] or np.isnan(ages[0])


def test_absolute_risk_one_call_lifetime_uses_completed_years():
    a = absolute_risk([1.0, 2.0], age=[40.7, 40.2], to_age=80, or_per_sd=1.61)
    model = fit_absolute_risk_model(or_per_sd=1.61)
    np.testing.assert_allclose(a, model.risk(np.log([1.0, 2.0]), age_start=40, years=40))
    with pytest.raises(CalibrationError, match="exactly one"):
        absolute_risk([1.0], age=40, years=5, to_age=80, or_per_sd=1.61)
