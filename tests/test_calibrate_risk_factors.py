"""Risk factors beside the PRS (issue 11, item 5): family history attenuated for the PRS as
iCARE does, other factors, the joint population, the reader's refusals."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from prs.calibrate.absolute import fit_absolute_risk_model
from prs.calibrate.relative import log_relative_risk_per_sd, normal_population
from prs.calibrate.risk_factors import (
    FAMILY_HISTORY_MODELS,
    PRS_ONLY,
    FamilyHistoryModel,
    RiskFactors,
    combine_risk_factors,
    load_family_history_model,
    prs_log_rr_variance,
    read_risk_factors,
)
from prs.errors import CalibrationError, CalibrationWarning

B = math.log(1.61)


def fh_model(rr=1.8, prevalence=0.1) -> FamilyHistoryModel:
    return FamilyHistoryModel.from_rr(rr, prevalence, source="test", prevalence_source="test")


def write(tmp_path, text: str, name: str = "rf.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the reader's refusals -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("sample_id\tlog_rr\ns1\t0.1\ns2\tinf\n", r"rf\.tsv line 3: log_rr 'inf' is not a finite"),
        ("sample_id\tlog_rr\ns1\t1e999\n", r"line 2: log_rr '1e999' is not a finite"),
        ("sample_id\tlog_rr\ns1\tabc\n", r"line 2: log_rr 'abc' is not a finite"),
        ("sample_id\trr\ns1\t1.2\ns2\t-0.5\n", r"line 3: rr '-0.5' is not a relative risk > 0"),
        ("sample_id\trr\ns1\t0\n", r"line 2: rr '0' is not a relative risk > 0"),
        (
            "sample_id\trr\ns1\t1\ns2\t2\ns1\t3\n",
            r"line 4: sample_id s1 appears more than once \(also line 2\)",
        ),
        ("sample_id\trr\ns1\t1\n\t2\n", r"line 3: empty sample_id"),
        ("sample_id\tlog_rr\trr\ns1\t0\t1\n", r"line 1: both log_rr and rr"),
        ("sample_id\tage\ns1\t40\n", r"line 1: no risk-factor column"),
        ("id\trr\ns1\t1\n", r"line 1: no sample_id \(or IID\) column"),
        ("sample_id\trr\n", r"header only"),
        ("sample_id\tfamily_history\ns1\t2.5\n", r"line 2: family_history '2.5' is not a number"),
        ("sample_id\tfamily_history\ns1\t-1\n", r"line 2: family_history '-1'"),
        ("sample_id\tfamily_history\ns1\tmaybe\n", r"line 2: family_history 'maybe'"),
        ("sample_id\tfamily_history\ns1\t25\n", r"line 2: family_history '25'"),
        ("# source: x\n\nsample_id\trr\ns1\t1\ns2\tnope\n", r"line 5: rr 'nope'"),
    ],
)
def test_reader_refuses_with_file_line_and_value(tmp_path, body, message):
    path = write(tmp_path, body)
    with pytest.raises(CalibrationError, match=message):
        read_risk_factors(path, family_history_model=fh_model())


def test_reader_refuses_samples_not_scored(tmp_path):
    path = write(tmp_path, "sample_id\trr\ns1\t1.2\nzz\t0.9\nyy\t1\n")
    with pytest.raises(
        CalibrationError, match=r"line 3: sample_id zz is not among the scored samples \(2 such\)"
    ):
        read_risk_factors(path, sample_ids=["s1", "s2"])


def test_reader_refuses_family_history_without_its_relative_risk(tmp_path):
    path = write(tmp_path, "sample_id\tfamily_history\ns1\t1\n")
    with pytest.raises(CalibrationError, match="no family-history relative risk"):
        read_risk_factors(path)


def test_reader_reads_values_unknowns_and_source(tmp_path):
    path = write(
        tmp_path,
        "# source: clinical model X (without family history)\n"
        "IID\trr\tfamily_history\ns1\t2\tyes\ns2\tNA\t0\ns3\t0.5\t\ns4\t1\t3\n",
    )
    rf = read_risk_factors(path, family_history_model="breast-cghfbc-2001")
    assert rf.sample_ids.tolist() == ["s1", "s2", "s3", "s4"]
    np.testing.assert_allclose(rf.other_log_rr[[0, 2, 3]], np.log([2, 0.5, 1]))
    assert np.isnan(rf.other_log_rr[1])
    assert rf.family_history[[0, 1, 3]].tolist() == [1.0, 0.0, 3.0]
    assert np.isnan(rf.family_history[2])
    assert rf.other_source == "clinical model X (without family history)"
    assert rf.family_history_model is FAMILY_HISTORY_MODELS["breast-cghfbc-2001"]
    assert rf.describe().startswith(
        "PRS + family history (number of affected first-degree relatives, attenuated for the "
        "PRS as iCARE; "
    )
    assert rf.describe().endswith("+ other factors (clinical model X (without family history))")


@pytest.mark.parametrize(
    ("rr", "prevalence", "message"),
    [
        (-1.8, 0.1, "relative risk for 1 affected relative"),
        (1.8, 7.3, r"prevalence .* not a share within \[0, 1\)"),
        ((1.8, 2.9), 0.1, "one relative risk and one prevalence"),
        ((1.8, 2.9), (0.6, 0.5), "sum to 1.1"),
        (float("nan"), 0.1, "not a finite number > 0"),
    ],
)
def test_family_history_model_refusals(rr, prevalence, message):
    with pytest.raises(CalibrationError, match=message):
        fh_model(rr, prevalence)


def test_unknown_shipped_family_history_model():
    with pytest.raises(CalibrationError, match="no shipped family-history model 'nope'"):
        load_family_history_model("nope")


def test_shipped_breast_model_is_the_published_figures():
    model = load_family_history_model("breast-cghfbc-2001")
    assert model.rr == (1.80, 2.93)
    # 7.3 % of controls had one or more affected first-degree relatives
    assert sum(model.prevalence) == pytest.approx(0.073, abs=1e-12)
    # the split: cases' 12 % and 1 % divided by the relative risks
    share_one = (0.12 / 1.80) / (0.12 / 1.80 + 0.01 / 2.93)
    assert model.prevalence[0] == pytest.approx(0.073 * share_one, abs=5e-5)


# -- the attenuation: iCARE's rule ------------------------------------------------------------
def test_attenuation_is_icare_rule_for_a_binary_family_history():
    # iCARE computeAbsoluteRisk: beta_fh - var_prs / 2, var_prs = sum(beta^2 2 p (1 - p))
    betas = np.log(np.array([1.10, 1.25, 0.90, 1.07]))
    freqs = np.array([0.3, 0.12, 0.45, 0.6])
    var_prs = float(np.sum(betas**2 * 2 * freqs * (1 - freqs)))
    # the PRS population as all 3^4 genotype combinations with Hardy-Weinberg weights
    genotypes = np.array(list(itertools.product((0, 1, 2), repeat=betas.size)), dtype=float)
    hwe = np.stack([(1 - freqs) ** 2, 2 * freqs * (1 - freqs), freqs**2], axis=1)
    weights = np.prod(hwe[np.arange(betas.size), genotypes.astype(int)], axis=1)
    s = genotypes @ betas
    assert prs_log_rr_variance(s, weights) == pytest.approx(var_prs, rel=1e-12)
    adjusted = fh_model(1.8).attenuated_log_rr(prs_log_rr_variance(s, weights))
    assert adjusted[0] == 0.0
    assert adjusted[1] == pytest.approx(math.log(1.8) - var_prs / 2, rel=1e-12)
    # iCARE's sim_snps: a person with family history draws SNP j from P(g) exp(beta_j g / 2);
    # the joint population's family-history class has exactly those genotype frequencies
    rf = RiskFactors(
        np.array(["a"], dtype=object),
        family_history=np.array([1.0]),
        family_history_model=fh_model(1.8, 0.2),
    )
    out = combine_risk_factors(
        np.zeros(1),
        sample_ids=["a"],
        risk_factors=rf,
        prs_population_log_rr=s,
        prs_population_weights=weights,
    )
    fh_class = out.population_weights[s.size :] / 0.2
    for j in range(betas.size):
        top = np.exp(betas[j] * np.arange(3) / 2) * hwe[j]
        expected = top / top.sum()
        got = [fh_class[genotypes[:, j] == g].sum() for g in range(3)]
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_normal_score_variance_and_tilt():
    nodes, weights = normal_population(1.61)
    assert prs_log_rr_variance(nodes, weights) == pytest.approx(B**2, rel=1e-12)
    rf = RiskFactors(
        np.array(["a"], dtype=object),
        family_history=np.array([1.0]),
        family_history_model=fh_model(1.8, 0.1),
    )
    out = combine_risk_factors(
        np.zeros(1),
        sample_ids=["a"],
        risk_factors=rf,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )
    # E[z | family history] = b / 2 (iCARE's tilt, rare disease)
    z = (nodes + B**2 / 2) / B
    w1 = out.population_weights[nodes.size :]
    assert float(np.sum(w1 * z) / np.sum(w1)) == pytest.approx(B / 2, abs=1e-12)
    assert float(np.sum(w1)) == pytest.approx(0.1, abs=1e-15)


def test_counts_attenuate_by_k_halves():
    model = fh_model((1.8, 2.93), (0.07, 0.004))
    adjusted = model.attenuated_log_rr(0.25)
    np.testing.assert_allclose(adjusted, [0.0, math.log(1.8) - 0.125, math.log(2.93) - 0.25])


# -- hand-computed combination ----------------------------------------------------------------
def test_combination_by_hand():
    nodes, weights = normal_population(1.61)
    pi, rr_fh = 0.1, 1.8
    rf = RiskFactors(
        np.array(["p1", "p2", "p3", "p4"], dtype=object),
        other_log_rr=np.array([0.3, np.nan, -0.2, 0.0]),
        family_history=np.array([1.0, 0.0, np.nan, 2.0]),
        family_history_model=fh_model(rr_fh, pi),
        other_source="clinical",
    )
    z = np.array([1.0, -0.5, 0.4, 2.0])
    prs = log_relative_risk_per_sd(z, or_per_sd=1.61)
    out = combine_risk_factors(
        prs,
        sample_ids=rf.sample_ids,
        risk_factors=rf,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )
    fh_star = math.log(rr_fh) - B**2 / 2
    # E[RR] = (1 - pi) * 1 + pi * e^{b^2/2} * RR_fh e^{-b^2/2} = 1 - pi + pi RR_fh
    c = math.log(1 - pi + pi * rr_fh)
    assert out.centring == pytest.approx(c, abs=1e-12)
    # unknown family history: P(FH | s) = pi e^{s/2} / E[e^{s/2}] / (... + 1 - pi),
    # E[e^{s/2}] = exp(-b^2/4 + b^2/8) for s ~ N(-b^2/2, b^2)
    s3 = prs[2]
    tilt = pi * math.exp(s3 / 2 + B**2 / 8)
    q = tilt / (tilt + 1 - pi)
    fh_unknown = math.log(1 - q + q * math.exp(fh_star))
    expected_fh = [fh_star, 0.0, fh_unknown, fh_star]  # 2 relatives counted as "any" (binary)
    expected_other = [0.3, 0.0, -0.2, 0.0]
    np.testing.assert_allclose(out.log_rr_family_history, expected_fh, atol=1e-12)
    np.testing.assert_allclose(out.log_rr_other, expected_other, atol=1e-15)
    np.testing.assert_allclose(out.log_rr_prs, prs, atol=0)
    np.testing.assert_allclose(
        out.log_rr, prs + np.array(expected_fh) + np.array(expected_other) - c, atol=1e-12
    )
    assert out.model.tolist() == [
        "PRS + family history (1 affected) + other factors",
        "PRS + family history (0 affected) + other factors (unknown: population average)",
        "PRS + family history (unknown: averaged given the PRS) + other factors",
        "PRS + family history (2 affected) + other factors",
    ]
    assert not out.prs_only
    assert out.statement_model.startswith("PRS + family history (any affected first-degree")
    assert out.statement_model.endswith("+ other factors (clinical)")
    assert out.inputs["family_history"]["attenuated_rr"] == pytest.approx(
        [rr_fh * math.exp(-(B**2) / 2)]
    )


def test_other_factors_with_their_population_are_centred_there():
    nodes, weights = normal_population(1.61)
    population = np.array([-0.5, 0.0, 0.2, 0.9])
    rf = RiskFactors(
        np.array(["a", "b"], dtype=object),
        other_log_rr=np.array([0.9, -0.5]),
        other_population_log_rr=population,
    )
    out = combine_risk_factors(
        np.zeros(2),
        sample_ids=["a", "b"],
        risk_factors=rf,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )
    centre = math.log(np.mean(np.exp(population)))
    np.testing.assert_allclose(out.log_rr_other, [0.9 - centre, -0.5 - centre], atol=1e-12)
    assert out.centring == pytest.approx(0.0, abs=1e-12)
    assert out.population_log_rr.size == nodes.size * population.size


def test_scored_samples_missing_from_the_factors_are_unknown_with_a_warning():
    nodes, weights = normal_population(1.61)
    rf = RiskFactors(np.array(["a"], dtype=object), other_log_rr=np.array([0.4]))
    with pytest.warns(CalibrationWarning, match="1 of 2 scored samples are not in the risk"):
        out = combine_risk_factors(
            np.zeros(2),
            sample_ids=["a", "b"],
            risk_factors=rf,
            prs_population_log_rr=nodes,
            prs_population_weights=weights,
        )
    np.testing.assert_allclose(out.log_rr_other, [0.4, 0.0])
    assert out.inputs["n_not_in_risk_factors"] == 1


# -- the population averages RR 1; the baseline fit works on it --------------------------------
def test_joint_population_averages_relative_risk_one_and_fits():
    nodes, weights = normal_population(1.61)
    rng = np.random.default_rng(3)
    rf = RiskFactors(
        np.array(["a", "b"], dtype=object),
        other_log_rr=np.array([0.1, 0.2]),
        family_history=np.array([0.0, 1.0]),
        family_history_model=load_family_history_model("breast-cghfbc-2001"),
        other_population_log_rr=rng.normal(0.3, 0.4, size=5000),  # not centred: done here
    )
    out = combine_risk_factors(
        np.zeros(2),
        sample_ids=["a", "b"],
        risk_factors=rf,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )
    assert out.population_weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert float(np.sum(out.population_weights * np.exp(out.population_log_rr))) == pytest.approx(
        1.0, abs=1e-12
    )
    assert out.population_log_rr.size == nodes.size * 3 * 200  # 5000 compressed to 200 groups
    model = fit_absolute_risk_model(
        population_log_rr=out.population_log_rr, population_weights=out.population_weights
    )
    # the population still reproduces the registry incidence (one year, among the unaffected)
    assert model.population_risk(age_start=50, years=1) == pytest.approx(
        float(model.marginal_incidence[50]), rel=1e-12
    )
    risks = model.risk(out.log_rr, age_start=50, years=10)
    assert risks[1] > risks[0]


# -- no factors: the PRS-only path, exactly ------------------------------------------------------
def test_no_factors_is_the_prs_only_path():
    nodes, weights = normal_population(1.61)
    prs = log_relative_risk_per_sd(np.array([-1.0, 0.0, 2.5, np.nan]), or_per_sd=1.61)
    out = combine_risk_factors(
        prs,
        sample_ids=["a", "b", "c", "d"],
        risk_factors=None,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )
    assert out.prs_only and out.statement_model == PRS_ONLY == "PRS only"
    assert out.model.tolist() == ["PRS only"] * 4
    np.testing.assert_array_equal(out.log_rr, prs)
    np.testing.assert_array_equal(out.population_log_rr, nodes)
    np.testing.assert_array_equal(out.population_weights, weights)
    assert out.log_rr_family_history.tolist() == [0.0] * 4


def test_factors_that_change_nothing_give_the_prs_only_risks():
    # nobody has family history and its prevalence is 0; other factors all 0 with E[RR] = 1
    nodes, weights = normal_population(1.61)
    prs = log_relative_risk_per_sd(np.array([-1.0, 0.0, 2.5]), or_per_sd=1.61)
    rf = RiskFactors(
        np.array(["a", "b", "c"], dtype=object),
        other_log_rr=np.zeros(3),
        family_history=np.zeros(3),
        family_history_model=fh_model(1.8, 0.0),
    )
    out = combine_risk_factors(
        prs,
        sample_ids=["a", "b", "c"],
        risk_factors=rf,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )
    assert abs(out.centring) < 1e-14
    with_factors = fit_absolute_risk_model(
        population_log_rr=out.population_log_rr, population_weights=out.population_weights
    ).risk(out.log_rr, age_start=45, years=35)
    prs_only = fit_absolute_risk_model(or_per_sd=1.61).risk(prs, age_start=45, years=35)
    np.testing.assert_allclose(with_factors, prs_only, rtol=1e-12)


def test_family_history_raises_the_risk_by_less_than_its_published_rr():
    # with the PRS known, a family history adds RR_fh e^{-b^2/2} (relative to no family
    # history at the same PRS), less than the published 1.8
    nodes, weights = normal_population(1.61)
    rf = RiskFactors(
        np.array(["a", "b"], dtype=object),
        family_history=np.array([0.0, 1.0]),
        family_history_model=fh_model(1.8, 0.073),
    )
    out = combine_risk_factors(
        np.zeros(2),
        sample_ids=["a", "b"],
        risk_factors=rf,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )
    assert math.exp(out.log_rr[1] - out.log_rr[0]) == pytest.approx(1.8 * math.exp(-(B**2) / 2))


# -- simulation: relatives sharing half the polygenic component -------------------------------
def test_simulated_families_reproduce_the_attenuated_family_history_rr():
    """Log-linear risk exp(b z + c u): z the measured PRS, u an unmeasured familial component;
    one first-degree relative shares half of each (z_r = z/2 + sqrt(3/4) e). Family history =
    the relative is affected (drawn). The PRS-adjusted family-history RR from the simulated
    population matches iCARE's rule RR_fh e^{-b^2/2}, E[z | FH] = b/2, and the module's
    combined relative risks reproduce the groups' simulated risks."""
    rng = np.random.default_rng(20261130)
    n = 1_000_000
    b, c, alpha = math.log(2.0), 0.83, 0.02
    z, u = rng.standard_normal(n), rng.standard_normal(n)
    half = math.sqrt(0.75)
    z_rel = z / 2 + half * rng.standard_normal(n)
    u_rel = u / 2 + half * rng.standard_normal(n)
    fh = rng.random(n) < np.minimum(alpha * np.exp(b * z_rel + c * u_rel), 1.0)
    risk = alpha * np.exp(b * z + c * u)  # each person's own disease probability (expected)

    marginal = risk[fh].mean() / risk[~fh].mean()
    adjusted = (risk[fh] * np.exp(-b * z[fh])).mean() / (risk[~fh] * np.exp(-b * z[~fh])).mean()
    model = fh_model(float(marginal), float(fh.mean()))
    rule = math.exp(model.attenuated_log_rr(b * b)[1])
    assert rule == pytest.approx(adjusted, rel=0.03)
    assert abs(marginal - adjusted) > 0.2  # the attenuation is far from negligible here
    assert z[fh].mean() == pytest.approx(b / 2, abs=0.02)

    nodes, weights = normal_population(2.0)
    groups = [fh & (z > 1), fh & (z <= 1), ~fh & (z > 1), ~fh & (z <= 1)]
    sample = rng.choice(n, size=40_000, replace=False)
    rf = RiskFactors(
        np.arange(sample.size).astype(str).astype(object),
        family_history=fh[sample].astype(float),
        family_history_model=model,
    )
    out = combine_risk_factors(
        log_relative_risk_per_sd(z[sample], or_per_sd=2.0),
        sample_ids=rf.sample_ids,
        risk_factors=rf,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )
    predicted_rr = np.exp(out.log_rr)
    # the unattenuated combination (published RR_fh times the PRS's RR) overstates the risk
    # of people with both a family history and a high PRS
    naive = np.exp(out.log_rr_prs + fh[sample] * math.log(marginal))
    naive /= naive.mean()
    for group in groups:
        simulated = risk[group].mean() / risk.mean()
        in_sample = group[sample]
        assert predicted_rr[in_sample].mean() == pytest.approx(simulated, rel=0.03)
    simulated = risk[groups[0]].mean() / risk.mean()
    assert naive[groups[0][sample]].mean() > 1.2 * simulated


def test_other_population_reader(tmp_path):
    from prs.calibrate.risk_factors import read_other_population

    path = write(tmp_path, "# clinical model on a reference cohort\nrr\tweight\n1\t1\n2\t3\n")
    values, weights = read_other_population(path)
    np.testing.assert_allclose(values, np.log([1, 2]))
    np.testing.assert_allclose(weights, [0.25, 0.75])
    for body, message in [
        ("rr\n1\n-2\n", r"line 3: rr '-2' is not a relative risk > 0"),
        ("log_rr\tweight\n0.1\t-1\n", r"line 2: weight '-1' is not a finite number >= 0"),
        ("x\n1\n", r"line 1: expected a log_rr or rr column"),
        ("log_rr\n0.1\nNA\n", r"line 3: log_rr is empty"),
    ]:
        with pytest.raises(CalibrationError, match=message):
            read_other_population(write(tmp_path, body, "pop.tsv"))


# -- the arguments categorise will take (integration helpers) ------------------------------------
def test_resolve_risk_factors_refusals(tmp_path):
    from prs.calibrate.risk_factors import resolve_risk_factors

    ids = ["s1", "s2"]
    assert resolve_risk_factors(None, sample_ids=ids) is None
    with pytest.raises(CalibrationError, match="given without the people's risk factors"):
        resolve_risk_factors(None, sample_ids=ids, family_history_rr=1.8)
    path = write(tmp_path, "sample_id\tfamily_history\ns1\t1\ns2\t0\n")
    with pytest.raises(CalibrationError, match="needs --family-history-prevalence"):
        resolve_risk_factors(path, sample_ids=ids, family_history_rr=1.8)
    with pytest.raises(CalibrationError, match="not both"):
        resolve_risk_factors(
            path,
            sample_ids=ids,
            family_history_rr=1.8,
            family_history_prevalence=0.1,
            family_history_source="x",
            family_history_model="breast-cghfbc-2001",
        )
    rf = resolve_risk_factors(
        path,
        sample_ids=ids,
        family_history_rr=(1.8, 2.93),
        family_history_prevalence=(0.07, 0.004),
        family_history_source="my source",
    )
    assert rf.family_history_model.rr == (1.8, 2.93)
    assert rf.family_history_model.source == "my source"
    with pytest.raises(CalibrationError, match="sample_id s1 is not among the scored samples"):
        resolve_risk_factors(path, sample_ids=["s2"], family_history_model="breast-cghfbc-2001")


def test_prs_population_matches_the_prs_only_fits():
    from prs.calibrate.relative import PercentileBands
    from prs.calibrate.risk_factors import parse_numbers, prs_population

    nodes, weights = prs_population(or_per_sd=1.61)
    np.testing.assert_array_equal(nodes, normal_population(1.61)[0])
    bands = PercentileBands(np.array([0.0, 50.0]), np.array([50.0, 100.0]), np.array([1.0, 3.0]))
    nodes, weights = prs_population(bands=bands)
    np.testing.assert_allclose(np.exp(nodes), [0.5, 1.5])
    np.testing.assert_allclose(weights, [0.5, 0.5])
    with pytest.raises(CalibrationError, match="need the PRS's relative risk"):
        prs_population()
    assert parse_numbers("1.80, 2.93", "--family-history-rr") == (1.8, 2.93)
    with pytest.raises(CalibrationError, match="--family-history-rr 'x'"):
        parse_numbers("x", "--family-history-rr")


def test_the_integration_path_by_hand(tmp_path):
    """What categorise will do (the spec in docs/risk-factors.md): NICE CG164 lifetime risk
    (20 to 80, 'high' from 30 %) of a woman at z = 2 is moderate on the PRS alone and high
    with an affected first-degree relative (breast-cghfbc-2001)."""
    from prs.calibrate.risk_factors import prs_population, resolve_risk_factors

    path = write(tmp_path, "sample_id\tfamily_history\nw0\t0\nw1\t1\nw2\t\n")
    ids = np.array(["w0", "w1", "w2", "w3"], dtype=object)  # w3 not in the file
    rf = resolve_risk_factors(path, sample_ids=ids, family_history_model="breast-cghfbc-2001")
    prs = log_relative_risk_per_sd(np.full(4, 2.0), or_per_sd=1.61)
    nodes, weights = prs_population(or_per_sd=1.61)
    with pytest.warns(CalibrationWarning, match="1 of 4 scored samples"):
        out = combine_risk_factors(
            prs,
            sample_ids=ids,
            risk_factors=rf,
            prs_population_log_rr=nodes,
            prs_population_weights=weights,
        )
    model = fit_absolute_risk_model(
        population_log_rr=out.population_log_rr, population_weights=out.population_weights
    )
    lifetime = 100 * model.risk(out.log_rr, age_start=20, years=60)
    prs_only = 100 * fit_absolute_risk_model(or_per_sd=1.61).risk(prs, age_start=20, years=60)
    assert prs_only[0] == pytest.approx(24.20, abs=0.01)  # moderate (17-30 %)
    assert lifetime[0] == pytest.approx(23.03, abs=0.01)  # no family history: a little lower
    assert lifetime[1] == pytest.approx(34.23, abs=0.01)  # high (>= 30 %)
    unattenuated = fit_absolute_risk_model(or_per_sd=1.61).risk(
        prs[1] + math.log(1.80), age_start=20, years=60
    )
    assert 100 * unattenuated == pytest.approx(39.09, abs=0.01)
    assert lifetime[2] == pytest.approx(lifetime[3])  # unknown = not in the file
    assert out.model[1] == "PRS + family history (1 affected)"


@pytest.mark.parametrize("value", [-1.0, 1.5, 21.0, np.inf])
def test_risk_factors_object_refuses_a_family_history_that_is_not_a_count(value):
    with pytest.raises(CalibrationError, match="family history of sample b"):
        RiskFactors(
            np.array(["a", "b"], dtype=object),
            family_history=np.array([0.0, value]),
            family_history_model=fh_model(),
        )


def test_risk_factors_object_refusals():
    ids = np.array(["a", "a"], dtype=object)
    with pytest.raises(CalibrationError, match="sample_id a appears more than once"):
        RiskFactors(ids, other_log_rr=np.zeros(2))
    with pytest.raises(CalibrationError, match="neither other factors"):
        RiskFactors(np.array(["a"], dtype=object))
    with pytest.raises(CalibrationError, match="is not finite"):
        RiskFactors(np.array(["a"], dtype=object), other_log_rr=np.array([np.inf]))
