"""Issue 11 item 2, scheme semantics: each scheme's risk window (NICE's risk between 40 and 50,
lifetime from 20 or remaining lifetime), pathway actions relative to the current age, NICE
CG164 chemoprevention, and the kind of every scheme and pathway."""

from __future__ import annotations

import math
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import (
    RateTable,
    available_pathways,
    available_schemes,
    categorise,
    fit_absolute_risk_model,
    load_pathway,
    load_scheme,
    reference_from_parameters,
)
from prs.calibrate.schemes import SCHEME_KINDS
from prs.errors import CalibrationError, CalibrationWarning

B = math.log(1.61)  # OR per SD of PGS000004 (Mavaddat et al. 2019)
REFERENCE = reference_from_parameters(0.0, 1.0, score_id="PGS000004")
RATES = Path(str(resources.files("prs") / "data" / "incidence"))


def _rates(name: str) -> pd.Series:
    """A shipped rate table read as plain CSV (not through the library)."""
    frame = pd.read_csv(RATES / f"{name}.csv", comment="#")
    return pd.Series(frame["rate"].to_numpy(float), index=frame["age"].to_numpy(int)).dropna()


def _hand_risk(z: float, start: int, end: int) -> float:
    """iCARE's absolute risk from ``start`` to ``end`` for a woman of score ``z``, written out
    independently of prs: the baseline hazard makes a N(0, 1) score population reproduce SEER
    incidence among the disease-free (lambda0(t) = incidence(t) / E[rr | disease-free at t]),
    then risk = sum_t lambda0(t) rr exp(-sum_{u<t} (lambda0(u) rr + m(u))) from ``start``."""
    incidence = _rates("us-seer-female-breast-incidence")
    mortality = _rates("us-female-competing-mortality")
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    weights = weights / weights.sum()
    population_rr = np.exp(B * nodes - B * B / 2)
    lam0 = {}
    cumulative = 0.0
    for age in range(int(incidence.index.min()), end):
        disease_free = weights * np.exp(-population_rr * cumulative)
        lam0[age] = incidence[age] * disease_free.sum() / (disease_free * population_rr).sum()
        cumulative += lam0[age]
    rr = math.exp(B * z - B * B / 2)
    risk, before = 0.0, 0.0
    for age in range(start, end):
        risk += lam0[age] * rr * math.exp(-before)
        before += lam0[age] * rr + mortality[age]
    return risk


def _frame(scores, ages, scheme, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        return categorise(
            np.asarray(scores, dtype=float),
            reference=REFERENCE,
            or_per_sd=1.61,
            age=ages,
            scheme=scheme,
            **kwargs,
        ).to_frame()


def _scheme_file(tmp_path: Path, measure: str, kind: str = "") -> Path:
    path = tmp_path / "scheme.toml"
    path.write_text(
        # a scheme for women's breast cancer: its default rates are the shipped female breast ones
        'name = "mine"\ncancer = "breast"\nsex = "female"\n'
        f'source = "a local policy"\n{kind}\n[measure]\nkind = "absolute_risk"\n'
        f'{measure}\n[[category]]\nlabel = "low"\nupper = 3\n'
        '[[category]]\nlabel = "raised"\nlower = 3\n'
    )
    return path


# -- NICE's risk between 40 and 50 -------------------------------------------------------------
def test_nice_ten_year_is_the_risk_from_40_to_50_hand_computed():
    """The issue's case, z = 0.8: the measure was the 10 years from the current age (2.11 % at
    40, 3.28 % at 49: near-population vs moderate); it is now NICE's risk between 40 and 50,
    one value for both (2.11 %), equal to the hand-computed iCARE value."""
    hand = 100 * _hand_risk(0.8, 40, 50)
    assert hand == pytest.approx(2.1111, abs=5e-4)
    frame = _frame([0.8, 0.8, 0.8], [40, 45, 49.9], "nice-cg164-10year-age40-49", pathway=None)
    np.testing.assert_allclose(frame["scheme_measure"], hand, rtol=1e-9)
    assert frame["category"].tolist() == ["near-population"] * 3
    # the old window, for the record: the 10 years from 49 would have been moderate
    model = fit_absolute_risk_model(or_per_sd=1.61)
    from_49 = 100 * float(model.risk(B * 0.8 - B * B / 2, age_start=49, years=10))
    assert from_49 == pytest.approx(3.2762, abs=5e-4)
    scheme = load_scheme("nice-cg164-10year-age40-49")
    assert scheme.measure.window == "fixed"
    assert (scheme.measure.from_age, scheme.measure.to_age) == (40, 50)
    assert scheme.measure.describe() == "absolute risk (%) between ages 40 and 50 (fixed window)"


def test_nice_ten_year_refers_as_many_women_in_their_forties_as_nices_definition(tmp_path):
    """Simulated women aged 40-49 (z ~ N(0, 1)): moderate-or-higher was 16.3 % with the 10
    years from the current age, 2.7x the 6.1 % of NICE's 40-50 definition; now 6.1 %, the
    share whose 40-50 risk is at least 3 % whatever their age."""
    rng = np.random.default_rng(11)
    n = 20000
    z = rng.normal(size=n)
    ages = rng.integers(40, 50, size=n).astype(float)
    frame = _frame(z, ages, "nice-cg164-10year-age40-49", pathway=None)
    now = float(np.mean(frame["category"] != "near-population"))
    old_window = _scheme_file(
        tmp_path,
        'window = "from-current-age"\nyears = 10\napplies_from_age = 40\napplies_to_age = 49',
    )
    before = float(np.mean(_frame(z, ages, str(old_window))["category"] == "raised"))
    assert before == pytest.approx(0.163, abs=0.01)
    assert now == pytest.approx(0.061, abs=0.006)
    # the same as the share of N(0, 1) above the z whose hand-computed 40-50 risk is 3 %
    lo, hi = 0.0, 3.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _hand_risk(mid, 40, 50) < 0.03 else (lo, mid)
    assert now == pytest.approx(float(np.mean(z >= hi)), abs=2 / n)


# -- lifetime from 20 and remaining lifetime --------------------------------------------------
def test_lifetime_from_20_and_remaining_lifetime_are_both_available():
    """nice-cg164-lifetime: NICE's risk from 20 to 80, the same at every age; the derived
    nice-cg164-remaining-lifetime: from the current age to 80, falling with age."""
    lifetime = load_scheme("nice-cg164-lifetime")
    assert lifetime.measure.window == "fixed"
    assert (lifetime.measure.from_age, lifetime.measure.to_age) == (20, 80)
    remaining = load_scheme("nice-cg164-remaining-lifetime")
    assert remaining.measure.window == "from-current-age"
    assert (remaining.measure.from_age, remaining.measure.to_age) == (None, 80)
    assert remaining.kind == "derived" and lifetime.kind == "guideline"
    assert lifetime.measure.describe() == "absolute risk (%) between ages 20 and 80 (fixed window)"
    assert remaining.measure.describe() == (
        "absolute risk (%) from current age to age 80 (remaining lifetime)"
    )
    ages = [20, 30, 50, 70]
    fixed = _frame([1.0] * 4, ages, "nice-cg164-lifetime", pathway=None)["scheme_measure"]
    np.testing.assert_allclose(fixed, 100 * _hand_risk(1.0, 20, 80), rtol=1e-9)
    rest = _frame([1.0] * 4, ages, "nice-cg164-remaining-lifetime", pathway=None)
    expected = [100 * _hand_risk(1.0, a, 80) for a in ages]
    np.testing.assert_allclose(rest["scheme_measure"], expected, rtol=1e-9)
    assert rest["scheme_measure"].iloc[0] == pytest.approx(fixed.iloc[0])
    # (from 30 it is slightly above from 20: conditional on being alive at 30)
    assert np.all(np.diff(rest["scheme_measure"].iloc[1:]) < 0)


@pytest.mark.parametrize(
    ("measure", "message"),
    [
        ('window = "fixed"\nyears = 10', "needs from_age"),
        ('window = "fixed"\nfrom_age = "current"\nyears = 10', "needs from_age"),
        ('window = "from-current-age"\nfrom_age = 40\nyears = 10', "remove from_age"),
        ('window = "sliding"\nyears = 10', "not one of 'fixed', 'from-current-age'"),
        ('window = "fixed"\nfrom_age = "forty"\nyears = 10', "needs from_age|not an age"),
    ],
)
def test_a_malformed_window_is_refused(tmp_path, measure, message):
    with pytest.raises(CalibrationError, match=message):
        load_scheme(_scheme_file(tmp_path, measure))


def test_a_window_on_a_percentile_scheme_is_refused(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        'source = "x"\n[measure]\nkind = "percentile"\nwindow = "fixed"\n'
        '[[category]]\nlabel = "a"\nupper = 50\n[[category]]\nlabel = "b"\nlower = 50\n'
    )
    with pytest.raises(CalibrationError, match="window is for absolute_risk"):
        load_scheme(path)


def test_files_without_window_keep_their_meaning(tmp_path):
    """A user file from before ``window``: from_age = "current" (or none) is the current age,
    a number a fixed start."""
    current = load_scheme(_scheme_file(tmp_path, 'from_age = "current"\nyears = 10'))
    assert current.measure.window == "from-current-age"
    fixed = load_scheme(_scheme_file(tmp_path, "from_age = 40\nyears = 10"))
    assert fixed.measure.window == "fixed" and fixed.measure.from_age == 40
    frame = _frame([0.8, 0.8], [41, 47], str(tmp_path / "scheme.toml"), pathway=None)
    np.testing.assert_allclose(frame["scheme_measure"], 100 * _hand_risk(0.8, 40, 50), rtol=1e-9)


# -- kinds ---------------------------------------------------------------------------------------
SCHEME_KIND = {
    "nice-cg164-lifetime": "guideline",
    "nice-cg164-10year-age40-49": "guideline",
    "nice-cg164-remaining-lifetime": "derived",
    "procas-10year": "trial protocol",
    "barcode1-prostate": "trial protocol",
    "crc-relative-risk-2": "derived",
    "top-5-percent": "illustrative",
}
PATHWAY_KIND = {
    "breast-nice-cg164": "guideline",
    "breast-procas": "trial protocol",
    "prostate-barcode1": "trial protocol",
    "colorectal-risk-equivalent": "derived",
}


def test_every_shipped_scheme_and_pathway_states_its_kind():
    assert {name: load_scheme(name).kind for name in available_schemes()} == SCHEME_KIND
    assert {name: load_pathway(name).kind for name in available_pathways()} == PATHWAY_KIND
    for name in available_schemes():
        text = (Path(str(resources.files("prs") / "data" / "schemes")) / f"{name}.toml").read_text()
        assert "\nkind = " in text  # stated in the file, not defaulted
    assert set(SCHEME_KIND.values()) <= set(SCHEME_KINDS)


def test_kind_is_listed_and_written_to_every_row(tmp_path, monkeypatch, capsys):
    assert prs.cli.main(["categorise", "--list"]) == 0
    listed = capsys.readouterr().out
    for name, kind in {**SCHEME_KIND, **PATHWAY_KIND}.items():
        assert f"  {name}: [{kind}] " in listed
    assert "between ages 40 and 50 (fixed window)" in listed
    # no colorectal rates are shipped: the pathway's risk-equivalent age runs on the breast
    # table only by the research override (which every row then names)
    frame = _frame(
        [0.0, 2.0],
        [45, 45],
        "crc-relative-risk-2",
        incidence="us-seer-female-breast-incidence",
        allow_mismatch=True,
    )
    assert frame["binding_override"].str.contains("is for breast cancer").all()
    assert frame["scheme_kind"].tolist() == ["derived", "derived"]
    assert frame["pathway_kind"].tolist() == ["derived", "derived"]
    frame = _frame([0.0], [60], "barcode1-prostate")
    assert frame["scheme_kind"].tolist() == ["trial protocol"]


def test_kind_is_checked_and_unstated_when_absent(tmp_path):
    assert load_scheme(_scheme_file(tmp_path, "years = 10")).kind == "unstated"
    with pytest.raises(CalibrationError, match="kind 'law' is not one of 'guideline'"):
        load_scheme(_scheme_file(tmp_path, "years = 10", kind='kind = "law"'))
    assert load_scheme(_scheme_file(tmp_path, "years = 10", kind='kind = "derived"')).kind == (
        "derived"
    )


# -- pathway actions relative to the current age -----------------------------------------------
def _z_for(category: str) -> float:
    """A score in the given NICE lifetime category (lifetime 20-80, OR 1.61 per SD)."""
    return {"near-population": 0.0, "moderate": 2.0, "high": 3.2}[category]


@pytest.mark.parametrize(
    ("category", "age", "status", "start", "interval"),
    [
        ("near-population", 35, "starts at age 50 (now 35)", 50, 3),
        ("near-population", 50, "in progress (now 50, until age 71)", 50, 3),
        ("near-population", 71, "in progress (now 71, until age 71)", 50, 3),
        ("near-population", 72, "ended at age 71 (now 72)", None, None),
        ("moderate", 30, "starts at age 40 (now 30)", 40, 1),
        ("moderate", 40, "in progress (now 40, until age 49)", 40, 1),
        ("moderate", 49.9, "in progress (now 49, until age 49)", 40, 1),
        ("moderate", 50, "in progress (now 50, until age 71)", 50, 3),
        ("moderate", 75, "ended at age 71 (now 75)", None, None),
        ("high", 39, "starts at age 40 (now 39)", 40, 1),
        ("high", 55, "in progress (now 55, until age 59)", 40, 1),
        ("high", 60, "in progress (now 60, until age 71)", 60, 3),
        ("high", 80, "ended at age 71 (now 80)", None, None),
    ],
)
def test_nice_pathway_before_inside_and_after_each_interval(category, age, status, start, interval):
    frame = _frame([_z_for(category)], [age], "nice-cg164-lifetime")
    row = frame.iloc[0]
    assert row["category"] == category
    assert row["pathway_status"] == status
    assert row["pathway_kind"] == "guideline"
    if start is None:
        # nothing past is prescribed: the action says "ended", no screening fields
        assert row["pathway_action"].startswith("Ended: ")
        assert (
            "40 to 49" not in row["pathway_action"] and "mammography" not in (row["pathway_action"])
        )
        assert row["pathway_screening_start_age"] is None
        assert row["pathway_interval_years"] is None and row["pathway_modality"] is None
    else:
        assert row["pathway_screening_start_age"] == start
        assert row["pathway_interval_years"] == interval
        assert row["pathway_modality"] == "mammography"
        assert "Ended" not in row["pathway_action"]
    # category-level parts hold at every age
    referral = {
        "near-population": "none (primary care)",
        "moderate": "secondary care",
        "high": "specialist genetic clinic",
    }
    assert row["pathway_referral"] == referral[category]


def test_a_moderate_risk_75_year_old_is_not_told_annual_mammography_40_to_49():
    """The issue's case, with the old action text for the record."""
    row = _frame([_z_for("moderate")], [75], "nice-cg164-lifetime").iloc[0]
    assert row["category"] == "moderate"
    assert "Annual mammography from 40 to 49" not in row["pathway_action"]
    assert row["pathway_status"] == "ended at age 71 (now 75)"
    assert row["pathway_screening_end_age"] is None


def test_unknown_age_gives_the_first_stage_and_says_so():
    frame = _frame([_z_for("moderate")], [math.nan], "nice-cg164-lifetime")
    row = frame.iloc[0]
    assert row["category"] == "moderate"  # lifetime from 20 needs no age
    assert row["pathway_status"] == "age unknown: actions as from their start ages"
    assert row["pathway_screening_start_age"] == 40 and row["pathway_screening_end_age"] == 49


def test_colorectal_risk_equivalent_start_is_relative_to_the_current_age():
    ages = np.arange(0, 90)
    incidence = RateTable(ages, 1e-5 * np.exp(0.08 * ages), "toy-crc", "test")
    mortality = RateTable(ages, 5e-4 * np.exp(0.07 * ages), "toy-mort", "test")
    frame = _frame(
        [3.0, 3.0, 3.0, 0.0],
        [20, 60, 80, 80],
        "crc-relative-risk-2",
        incidence=incidence,
        mortality=mortality,
    )
    equivalent = frame.loc[0, "risk_equivalent_age"]
    assert 20 < equivalent < 45
    assert frame.loc[0, "pathway_status"] == f"starts at age {equivalent:g} (now 20)"
    assert frame.loc[0, "pathway_screening_start_age"] == equivalent
    assert frame.loc[1, "pathway_status"] == "in progress (now 60, until age 75)"
    assert frame["pathway_status"].tolist()[2:] == ["ended at age 75 (now 80)"] * 2


def test_an_action_without_ages_has_no_age_limits():
    frame = _frame([3.0], [60], "procas-10year")
    assert frame.loc[0, "category"] == "high"
    assert frame.loc[0, "pathway_status"] == "no age limits"
    assert frame.loc[0, "pathway_interval_years"] == 1


def test_stages_out_of_age_order_are_refused(tmp_path):
    path = tmp_path / "pathway.toml"
    path.write_text(
        'source = "x"\n[actions.a]\naction = "both"\n'
        '[[actions.a.stage]]\naction = "late"\nscreening_start_age = 50\nscreening_end_age = 59\n'
        '[[actions.a.stage]]\naction = "early"\nscreening_start_age = 40\nscreening_end_age = 49\n'
    )
    with pytest.raises(CalibrationError, match="out of age order at 'early'"):
        load_pathway(path)


# -- NICE chemoprevention ------------------------------------------------------------------------
def test_nice_chemoprevention_offer_for_high_consider_for_moderate_with_conditions():
    pathway = load_pathway("breast-nice-cg164")
    assert pathway.actions["near-population"].chemoprevention is None
    high = pathway.actions["high"].chemoprevention
    moderate = pathway.actions["moderate"].chemoprevention
    assert high.startswith("Offer") and moderate.startswith("Consider")
    for text in (high, moderate):
        for needed in (
            "premenopausal - tamoxifen for 5 years",
            "postmenopausal - anastrozole for 5 years, unless severe osteoporosis",
            "raloxifene",
            "thromboembolic disease or endometrial cancer",
            "women with a uterus",
        ):
            assert needed in text
    assert "bilateral risk-reducing mastectomy" in high
    assert "1.7" in pathway.source and "chemoprevention" in pathway.source
    # in the output at every age of the category (also after the screening ages)
    frame = _frame([_z_for("high"), _z_for("moderate"), 0.0], [75, 45, 45], "nice-cg164-lifetime")
    assert frame["pathway_chemoprevention"].tolist() == [high, moderate, None]
