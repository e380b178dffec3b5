"""Category schemes, pathways and the whole per-person path (prs.calibrate.categorisation)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.calibrate import (
    CalibrationWarning,
    PercentileBands,
    RateTable,
    available_pathways,
    available_schemes,
    build_reference,
    build_references,
    categorise,
    fit_absolute_risk_model,
    load_pathway,
    load_scheme,
    reference_from_parameters,
    run_demo_path,
)
from prs.errors import CalibrationError
from tests.builders import scores_table

SCHEMES = sorted(available_schemes())


def test_shipped_schemes_and_pathways_cite_sources_and_match():
    assert {
        "nice-cg164-lifetime",
        "nice-cg164-10year-age40-49",
        "procas-10year",
        "top-5-percent",
        "barcode1-prostate",
        "crc-relative-risk-2",
    } <= set(SCHEMES)
    for name in SCHEMES:
        scheme = load_scheme(name)
        assert len(scheme.source) > 20, name
        if scheme.default_pathway:
            pathway = load_pathway(scheme.default_pathway)
            assert set(scheme.labels) <= set(pathway.actions), name
    for name in available_pathways():
        assert len(load_pathway(name).source) > 20


def test_nice_boundaries_are_inclusive_as_published():
    lifetime = load_scheme("nice-cg164-lifetime")
    got = lifetime.assign(np.array([0.0, 16.999, 17.0, 29.999, 30.0, 95.0]))
    assert got.tolist() == [
        "near-population",
        "near-population",
        "moderate",
        "moderate",
        "high",
        "high",
    ]
    ten_year = load_scheme("nice-cg164-10year-age40-49")
    got = ten_year.assign(np.array([2.999, 3.0, 8.0, 8.0001]))
    assert got.tolist() == ["near-population", "moderate", "moderate", "high"]
    assert load_scheme("top-5-percent").assign(np.array([94.99, 95.0])).tolist() == [
        "not-top-5-percent",
        "top-5-percent",
    ]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SCHEMES), st.floats(0, 1000, allow_nan=False))
def test_every_value_falls_in_exactly_one_category(name, value):
    scheme = load_scheme(name)
    hits = [band.label for band in scheme.bands if band.contains(np.array([value]))[0]]
    assert len(hits) == 1


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ('[[category]]\nlabel="a"\nupper=10\n[[category]]\nlabel="b"\nlower=12\n', "gap"),
        (
            '[[category]]\nlabel="a"\nupper=10\nupper_inclusive=true\n'
            '[[category]]\nlabel="b"\nlower=10\n',
            "both include",
        ),
        (
            '[[category]]\nlabel="a"\nupper=10\n[[category]]\nlabel="b"\nlower=10\n'
            "lower_inclusive=false\n",
            "neither includes",
        ),
    ],
)
def test_user_scheme_files_are_validated(tmp_path, bands, message):
    path = tmp_path / "mine.toml"
    path.write_text(f'source = "me"\n[measure]\nkind = "relative_risk"\n{bands}')
    with pytest.raises(CalibrationError, match=message):
        load_scheme(path)


def test_user_scheme_file_is_used(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nsource = "local policy"\n[measure]\nkind = "percentile"\n'
        '[[category]]\nlabel = "low"\nupper = 50\n'
        '[[category]]\nlabel = "high"\nlower = 50\n'
    )
    out = categorise(
        [1.0, 2.0, 3.0, 4.0], reference=build_reference([1, 2, 3, 4], check=False), scheme=path
    )
    assert out.category.tolist() == ["low", "low", "high", "high"]
    assert out.inputs["scheme"] == "mine"


def _cohort(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    ref_values = rng.normal(10.0, 2.0, size=5000)
    person = rng.normal(10.0, 2.0, size=n)
    return build_reference(ref_values, score_id="PGS000004", check=False), person


def test_categorise_nice_lifetime_matches_independent_recomputation():
    ref, values = _cohort()
    table = scores_table({"PGS000004": values})
    ages = pd.Series(np.linspace(30, 70, values.size), index=table["sample_id"])
    out = categorise(table, reference=ref, or_per_sd=1.61, age=ages)
    frame = out.to_frame()
    assert len(frame) == values.size
    z = (values - ref.mean) / ref.sd
    b = math.log(1.61)
    np.testing.assert_allclose(frame["z"], z)
    np.testing.assert_allclose(frame["relative_risk"], np.exp(b * z - b * b / 2))
    model = fit_absolute_risk_model(or_per_sd=1.61)
    lifetime_20_80 = model.risk(b * z - b * b / 2, age_start=20, years=60)
    np.testing.assert_allclose(frame["scheme_measure"], 100 * lifetime_20_80)
    expected = np.where(
        lifetime_20_80 < 0.17,
        "near-population",
        np.where(lifetime_20_80 < 0.30, "moderate", "high"),
    )
    assert frame["category"].tolist() == expected.tolist()
    ten = model.risk(b * z - b * b / 2, age_start=np.floor(ages.to_numpy()), years=10)
    np.testing.assert_allclose(frame["risk_10y"], ten)
    # pathway actions follow the category
    high = frame["category"] == "high"
    assert high.any() and (frame.loc[high, "pathway_referral"] == "specialist genetic clinic").all()
    near = frame["category"] == "near-population"
    assert (frame.loc[near, "pathway_screening_start_age"] == 50).all()
    assert (frame["input_or_per_sd"] == 1.61).all()
    assert (frame["input_incidence"] == "us-seer-female-breast-incidence").all()


def test_ten_year_scheme_applies_to_ages_40_to_49_only():
    ref, values = _cohort(n=6)
    out = categorise(
        values,
        reference=ref,
        or_per_sd=1.61,
        scheme="nice-cg164-10year-age40-49",
        age=[39.5, 40, 45, 49.9, 50, 60],
    )
    frame = out.to_frame()
    assert frame["category"].isna().tolist() == [True, False, False, False, True, True]
    assert frame["category_note"].iloc[0].startswith("age outside 40-49")
    with pytest.raises(CalibrationError, match="current age"):
        categorise(values, reference=ref, or_per_sd=1.61, scheme="nice-cg164-10year-age40-49")


def test_percentile_schemes_need_no_risk_model_and_flag_the_top():
    ref = reference_from_parameters(0.0, 1.0, score_id="PGS000662")
    scores = np.array([-1.0, 1.2816, 1.29, 2.5])  # 1.28155 is the 90th percentile
    out = categorise(scores, reference=ref, scheme="barcode1-prostate", age=[60, 60, 70, 56])
    frame = out.to_frame()
    assert frame["category"].tolist()[:2] == [
        "below-90th-percentile",
        "at-or-above-90th-percentile",
    ]
    assert frame["category"].isna().tolist() == [False, False, True, False]  # 70 is outside 55-69
    assert frame.loc[3, "pathway_modality"] == "MRI + prostate biopsy"
    assert np.isnan(frame["relative_risk"]).all()


def test_self_reference_warns_and_top_five_percent_is_five_percent():
    rng = np.random.default_rng(8)
    values = rng.normal(size=4000)
    with pytest.warns(CalibrationWarning, match="self-referential"):
        out = categorise(values, scheme="top-5-percent")
    share = np.mean(out.category == "top-5-percent")
    assert share == pytest.approx(0.05, abs=1 / 4000)


def test_percentile_bands_give_relative_risks_and_absolute_risks():
    ref = reference_from_parameters(0.0, 1.0)
    bands = PercentileBands(
        np.array([0.0, 50.0, 90.0]), np.array([50.0, 90.0, 100.0]), np.array([0.7, 1.2, 2.5])
    )
    out = categorise([-1.0, 0.5, 2.0], reference=ref, percentile_bands=bands, age=50)
    average = 0.5 * 0.7 + 0.4 * 1.2 + 0.1 * 2.5
    np.testing.assert_allclose(out.relative_risk, np.array([0.7, 1.2, 2.5]) / average)
    assert np.all(np.diff(out.risks["risk_10y"]) > 0)


def test_colorectal_pathway_starts_at_the_risk_equivalent_age():
    # a made-up colorectal incidence rising with age (user-supplied table)
    ages = np.arange(0, 90)
    incidence = RateTable(ages, 1e-5 * np.exp(0.08 * ages), "toy-crc", "test")
    mortality = RateTable(ages, 5e-4 * np.exp(0.07 * ages), "toy-mort", "test")
    ref = reference_from_parameters(0.0, 1.0)
    out = categorise(
        [0.0, 2.0, 3.0],
        reference=ref,
        scheme="crc-relative-risk-2",
        or_per_sd=1.8,
        incidence=incidence,
        mortality=mortality,
    )
    frame = out.to_frame()
    assert frame["category"].tolist() == ["average", "elevated", "elevated"]
    assert frame.loc[0, "pathway_screening_start_age"] == 45
    model = fit_absolute_risk_model(incidence, mortality, or_per_sd=1.8)
    benchmark = model.population_risk(age_start=45, years=10)
    for i in (1, 2):
        start = frame.loc[i, "pathway_screening_start_age"]
        lrr = math.log(frame.loc[i, "relative_risk"])
        assert start < 45
        assert model.risk(lrr, age_start=start, years=10) >= benchmark
        assert model.risk(lrr, age_start=start - 1, years=10) < benchmark
    assert (
        frame.loc[2, "pathway_screening_start_age"] <= frame.loc[1, "pathway_screening_start_age"]
    )


def test_group_references_are_used_per_sample():
    rng = np.random.default_rng(9)
    table = scores_table({"PGS1": np.r_[rng.normal(0, 1, 1000), rng.normal(5, 1, 1000)]})
    groups = pd.Series(np.repeat(["A", "B"], 1000), index=table["sample_id"])
    refs = build_references(table, groups)
    people = pd.DataFrame({"sample_id": ["p1", "p2"], "score": "PGS1", "SUM": [0.0, 5.0]})
    out = categorise(
        people,
        reference=refs,
        groups={"p1": "A", "p2": "B"},
        scheme="top-5-percent",
    )
    np.testing.assert_allclose(out.percentile, [50, 50], atol=4)
    with pytest.raises(CalibrationError, match="2 groups"):
        categorise(people, reference=refs, scheme="top-5-percent")
    with pytest.raises(CalibrationError, match=r"no reference for group\(s\) \['C'\]"):
        categorise(people, reference=refs, groups={"p1": "A", "p2": "C"}, scheme="top-5-percent")


def test_errors_name_what_is_missing():
    ref = reference_from_parameters(0.0, 1.0, score_id="PGS000004")
    with pytest.raises(CalibrationError, match="or_per_sd"):
        categorise([0.0], reference=ref)
    other = pd.DataFrame({"sample_id": ["a"], "score": "PGS000001", "SUM": [0.0]})
    with pytest.raises(CalibrationError, match="is for score PGS000004"):
        categorise(other, reference=ref, or_per_sd=1.5)
    with pytest.raises(CalibrationError, match="no shipped scheme 'nope'"):
        categorise([0.0], reference=ref, scheme="nope")


def test_risks_outside_the_tables_are_nan_with_a_warning():
    ref = reference_from_parameters(0.0, 1.0)
    with pytest.warns(CalibrationWarning, match="1 of 2 risks not computed"):
        out = categorise([0.0, 0.0], reference=ref, or_per_sd=1.5, age=[50, 80], horizons=[10])
    assert np.isfinite(out.risks["risk_10y"][0]) and np.isnan(out.risks["risk_10y"][1])


def test_demo_path_runs_on_a_prs_score_table():
    rng = np.random.default_rng(10)
    table = scores_table({"PGS000004": rng.normal(size=300)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = run_demo_path(table)
    messages = [str(w.message) for w in caught if issubclass(w.category, CalibrationWarning)]
    assert any("self-referential" in m for m in messages)
    assert any("fewer than 500" in m for m in messages)  # 300 scores: a small reference
    for column in ("percentile", "z", "relative_risk", "risk_10y", "category", "pathway_action"):
        assert frame[column].notna().all(), column
    assert set(frame["category"]) <= {"near-population", "moderate", "high"}


def test_breast_risk_equivalent_age_against_the_screening_start_benchmark():
    ref = reference_from_parameters(0.0, 1.0)
    z = np.array([-1.0, 0.0, 1.0, 2.0, 3.0])
    out = categorise(z, reference=ref, or_per_sd=1.61, benchmark_age=50, benchmark_years=10)
    model = fit_absolute_risk_model(or_per_sd=1.61)
    benchmark = model.population_risk(age_start=50, years=10)
    assert out.inputs["benchmark_risk"] == pytest.approx(benchmark)
    ages = out.risk_equivalent_age
    # z = -1 never reaches the benchmark within the tables (10-year risk from 0 to 75)
    assert np.isnan(ages[0])
    never = model.risk(np.log(out.relative_risk[0]), age_start=np.arange(0, 76), years=10)
    assert np.all(never < benchmark)
    assert np.all(np.diff(ages[1:]) <= 0)
    assert ages[-1] < 50 < ages[1]
    for lrr, age in zip(np.log(out.relative_risk[1:]), ages[1:], strict=True):
        assert model.risk(lrr, age_start=age, years=10) >= benchmark
        assert model.risk(lrr, age_start=age - 1, years=10) < benchmark


@pytest.mark.filterwarnings("ignore::prs.calibrate.reference.CalibrationWarning")
def test_risk_population_reference_averages_over_the_reference_scores():
    rng = np.random.default_rng(14)
    normal_ref = build_reference(rng.normal(size=20000), check=False)
    people = np.array([-1.0, 0.0, 1.5])
    a = categorise(people, reference=normal_ref, or_per_sd=1.61, age=50)
    b = categorise(
        people, reference=normal_ref, or_per_sd=1.61, age=50, risk_population="reference"
    )
    np.testing.assert_allclose(b.risks["risk_10y"], a.risks["risk_10y"], rtol=0.02)
    skewed_values = rng.gamma(2.0, size=5000)
    skewed = build_reference(skewed_values, check=False)
    out = categorise(
        skewed_values, reference=skewed, or_per_sd=1.61, age=50, risk_population="reference"
    )
    assert out.relative_risk.mean() == pytest.approx(1.0, rel=1e-10)
    # the baseline reproduces the incidence: average 1-year risk at 20
    twenty = categorise(
        skewed_values,
        reference=skewed,
        or_per_sd=1.61,
        age=20,
        horizons=[1],
        risk_population="reference",
        scheme="top-5-percent",
        # a scheme of no particular cancer has no default rates: the breast model's are given
        incidence="us-seer-female-breast-incidence",
    )
    model = fit_absolute_risk_model(or_per_sd=1.61)
    assert twenty.risks["risk_1y"].mean() == pytest.approx(model.marginal_incidence[20], rel=0.01)
    with pytest.raises(CalibrationError, match="one empirical reference"):
        categorise(
            people,
            reference=reference_from_parameters(0, 1),
            or_per_sd=1.5,
            risk_population="reference",
        )
