"""Issue 11 item 3: sourced rate tables for the cancers the schemes name.

Every shipped table declares what it is and where it comes from; the England tables are
rebuilt byte for byte from the verbatim source rows by ``scripts/build_rate_tables.py``;
``shipped_rate_table`` picks each cancer and sex's table (one default where several fit);
``prs categorise`` uses them with no ``--incidence``; and one 10-year prostate risk is
recomputed by hand from the shipped CSV with iCARE's formula written out independently."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import sys
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import absolute as absolute_module
from prs.calibrate import categorise, reference_from_parameters
from prs.calibrate.absolute import (
    available_rate_tables,
    companion_mortality_table,
    load_rate_table,
    population_matches,
    shipped_rate_table,
)
from prs.calibrate.reference import save_reference
from prs.errors import CalibrationError, CalibrationWarning
from tests.builders import traited_scores

ROOT = Path(__file__).resolve().parent.parent
RATES = Path(str(resources.files("prs") / "data" / "incidence"))
SOURCES = ROOT / "scripts" / "rate_sources"
HEADER_FIELDS = (
    "name", "description", "source", "kind", "cancer", "cancer_efo", "sex", "population",
    "registry", "years", "units", "derivation", "licence",
)  # fmt: skip
ENGLAND = [name for name in available_rate_tables() if name.startswith("england-gbd2019-")]


def _build_module():
    """scripts/build_rate_tables.py imported from its path (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "build_rate_tables", ROOT / "scripts" / "build_rate_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _source_val(file: str, measure: str, sex: str, age: str, cause: str) -> float:
    """One source value (per 100,000) read from the verbatim source rows with csv only."""
    with open(SOURCES / file, newline="", encoding="utf-8") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if (r["measure"], r["sex"], r["age"], r["cause"]) == (measure, sex, age, cause)
        ]
    assert len(rows) == 1, (file, measure, sex, age, cause)
    assert (rows[0]["location"], rows[0]["metric"], rows[0]["year"]) == ("England", "Rate", "2019")
    return float(rows[0]["val"])


def _plain_rates(name: str) -> dict[int, float]:
    """A shipped band table read as plain CSV (not through the library), per person-year by
    single year of age."""
    frame = pd.read_csv(RATES / f"{name}.csv", comment="#")
    out = {}
    for start, end, rate in frame[["age_start", "age_end", "rate_per_100000"]].itertuples(
        index=False
    ):
        for age in range(int(start), int(end)):
            out[age] = float(rate) / 1e5
    return out


# -- declarations and plausibility ------------------------------------------------------------
def test_every_shipped_table_loads_and_declares_every_header_field():
    names = available_rate_tables()
    assert len(ENGLAND) == 12 and len(names) == 14
    for name in names:
        table = load_rate_table(name)
        assert table.name == name
        for key in HEADER_FIELDS:
            assert table.meta.get(key), (name, key)
        assert table.kind in ("incidence", "competing mortality")
        assert table.sex in ("female", "male")
    for name in ENGLAND:
        meta = load_rate_table(name).meta
        assert meta["years"] == "2019"
        assert meta["population"] in ("England, women", "England, men")
        assert "intervene-EU-H2020/flagship" in meta["source"] and "commit" in meta["source"]
        assert "IHME" in meta["licence"]


def test_rates_are_non_negative_plausible_and_mortality_rises_with_adult_age():
    for name in available_rate_tables():
        table = load_rate_table(name)
        assert (table.rates >= 0).all(), name
        if table.kind == "incidence":
            # cancer incidence stays far below 5 % a year at every age
            assert table.rates.max() < 0.05, name
            assert table.rates[table.ages == 70][0] > table.rates[table.ages == 30][0], name
        else:
            # rising with adult age, decade by decade (single US years have small dips)
            decades = [a for a in range(30, 100, 10) if table.first_age <= a <= table.last_age]
            rates = [table.rates[table.ages == a][0] for a in decades]
            assert len(decades) >= 6 and (np.diff(rates) > 0).all(), name
            assert 0.005 < table.rates[table.ages == 70][0] < 0.05, name


def test_england_tables_cover_ages_1_to_94_in_five_year_steps():
    for name in ENGLAND:
        table = load_rate_table(name)
        assert (table.first_age, table.last_age) == (1, 94), name
        # a step function: constant within each GBD age group
        assert table.rates[table.ages == 60][0] == table.rates[table.ages == 64][0], name


# -- reproducibility and values against the source --------------------------------------------
def test_build_script_reproduces_every_shipped_england_csv_byte_for_byte():
    built = _build_module().build_all()
    assert sorted(built) == sorted(f"{name}.csv" for name in ENGLAND)
    for file, text in built.items():
        assert (RATES / file).read_text(encoding="utf-8") == text, file


def test_build_script_check_mode_reports_a_changed_table(tmp_path, monkeypatch):
    module = _build_module()
    for file in module.build_all():
        (tmp_path / file).write_text((RATES / file).read_text(encoding="utf-8"))
    monkeypatch.setattr(module, "OUT_DIR", tmp_path)
    assert module.main(["--check"]) == 0
    edited = tmp_path / "england-gbd2019-male-prostate-incidence.csv"
    edited.write_text(edited.read_text().replace("293.145343523078", "293.1"))
    assert module.main(["--check"]) == 1


# (table, age, file, measure, sex, GBD age group, cause): the table's rate at that age is the
# source row's val / 100,000 — the values themselves also written here as read in the source.
SPOT_INCIDENCE = [
    ("england-gbd2019-male-prostate-incidence", 62, "gbd2019_england_breast_prostate_incidence.csv",
     "Male", "60-64 years", "Prostate cancer", 293.145343523078),
    ("england-gbd2019-female-breast-incidence", 45, "gbd2019_england_breast_prostate_incidence.csv",
     "Female", "45-49 years", "Breast cancer", 174.625915355732),
    ("england-gbd2019-female-colorectal-incidence", 47, "gbd2019_england_incidence.csv",
     "Female", "45-49 years", "Colon and rectum cancer", 23.8614815555922),
    ("england-gbd2019-male-colorectal-incidence", 55, "gbd2019_england_incidence.csv",
     "Male", "55-59 years", "Colon and rectum cancer", 88.8273301894696),
    ("england-gbd2019-male-lung-incidence", 72, "gbd2019_england_incidence.csv",
     "Male", "70-74 years", "Tracheal, bronchus, and lung cancer", 337.447882676259),
    ("england-gbd2019-female-lung-incidence", 90, "gbd2019_england_incidence.csv",
     "Female", "90-94 years", "Tracheal, bronchus, and lung cancer", 329.862714742262),
]  # fmt: skip


@pytest.mark.parametrize("name,age,file,sex,group,cause,written", SPOT_INCIDENCE)
def test_incidence_equals_the_source_row(name, age, file, sex, group, cause, written):
    source = _source_val(file, "Incidence", sex, group, cause)
    assert source == written
    table = load_rate_table(name)
    assert table.rates[table.ages == age][0] == pytest.approx(source / 1e5, rel=1e-15)


# (table, age, sex, GBD age group, cause, cause's file, all-cause val, cause val)
SPOT_MORTALITY = [
    ("england-gbd2019-male-prostate-competing-mortality", 67, "Male", "65-69 years",
     "Prostate cancer", "gbd2019_england_breast_prostate_deaths.csv",
     1444.22396203031, 62.0754000157513),
    ("england-gbd2019-female-breast-competing-mortality", 52, "Female", "50-54 years",
     "Breast cancer", "gbd2019_england_breast_prostate_deaths.csv",
     243.906731300363, 35.9158666789686),
    ("england-gbd2019-female-lung-competing-mortality", 80, "Female", "80-84 years",
     "Tracheal, bronchus, and lung cancer", "gbd2019_england_deaths.csv",
     5229.59083739236, 311.135932827374),
    ("england-gbd2019-male-colorectal-competing-mortality", 45, "Male", "45-49 years",
     "Colon and rectum cancer", "gbd2019_england_deaths.csv",
     234.23255841528, 7.83650090858294),
]  # fmt: skip


@pytest.mark.parametrize("name,age,sex,group,cause,file,all_cause,own", SPOT_MORTALITY)
def test_competing_mortality_is_all_cause_minus_the_cancers_own(
    name, age, sex, group, cause, file, all_cause, own
):
    deaths = "gbd2019_england_deaths.csv"
    assert _source_val(deaths, "Deaths", sex, group, "All causes") == all_cause
    assert _source_val(file, "Deaths", sex, group, cause) == own
    table = load_rate_table(name)
    assert table.rates[table.ages == age][0] == pytest.approx((all_cause - own) / 1e5, rel=1e-12)
    assert "minus" in table.meta["derivation"] and cause in table.meta["derivation"]


# -- which table is picked --------------------------------------------------------------------
@pytest.mark.parametrize(
    "cancer,sex,incidence,mortality",
    [
        ("prostate", "male", "england-gbd2019-male-prostate-incidence",
         "england-gbd2019-male-prostate-competing-mortality"),
        ("colorectal", "male", "england-gbd2019-male-colorectal-incidence",
         "england-gbd2019-male-colorectal-competing-mortality"),
        ("colorectal", "female", "england-gbd2019-female-colorectal-incidence",
         "england-gbd2019-female-colorectal-competing-mortality"),
        ("lung", "male", "england-gbd2019-male-lung-incidence",
         "england-gbd2019-male-lung-competing-mortality"),
        ("lung", "female", "england-gbd2019-female-lung-incidence",
         "england-gbd2019-female-lung-competing-mortality"),
        # two female breast populations ship: the US SEER tables stay the default
        ("breast", "female", "us-seer-female-breast-incidence", "us-female-competing-mortality"),
    ],
)  # fmt: skip
def test_shipped_rate_table_picks_the_cancer_and_sex(cancer, sex, incidence, mortality):
    assert shipped_rate_table(cancer, sex, "incidence") == incidence
    assert shipped_rate_table(cancer, sex, "competing mortality") == mortality
    assert shipped_rate_table(cancer.upper(), sex.capitalize(), "Incidence") == incidence


def test_no_table_of_another_cancer_or_sex_is_ever_picked():
    assert shipped_rate_table("prostate", "female", "incidence") is None
    assert shipped_rate_table("breast", "male", "incidence") is None
    assert shipped_rate_table("ovary", "female", "incidence") is None
    # a both-sexes scheme needs a table declared for any sex: none is shipped
    assert shipped_rate_table("colorectal", "any", "incidence") is None


def test_population_chooses_among_several_tables_and_mortality_follows_incidence():
    assert shipped_rate_table("breast", "female", "incidence", population="England") == (
        "england-gbd2019-female-breast-incidence"
    )
    assert shipped_rate_table("breast", "female", "incidence", population="england, women") == (
        "england-gbd2019-female-breast-incidence"
    )
    assert shipped_rate_table("breast", "female", "incidence", population="United States") == (
        "us-seer-female-breast-incidence"
    )
    assert shipped_rate_table("breast", "female", "incidence", population="Sweden") is None
    assert shipped_rate_table("prostate", "male", "incidence", population="England") is not None
    england = load_rate_table("england-gbd2019-female-breast-incidence")
    assert companion_mortality_table(england) == "england-gbd2019-female-breast-competing-mortality"
    us = load_rate_table("us-seer-female-breast-incidence")
    assert companion_mortality_table(us) == "us-female-competing-mortality"
    assert population_matches(england, "ENGLAND") and not population_matches(england, "Eng")


def _table_file(folder: Path, name: str, sex: str, default: bool = False) -> None:
    (folder / f"{name}.csv").write_text(
        f"# name: {name}\n# kind: incidence\n# cancer: colorectal\n# sex: {sex}\n"
        f"# population: Testland, {sex}\n"
        + ("# default: true\n" if default else "")
        + "age,rate\n50,0.001\n51,0.001\n"
    )


def test_exact_sex_beats_any_and_ambiguity_without_a_default_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(absolute_module, "_data_dir", lambda: tmp_path)
    _table_file(tmp_path, "a-any", "any")
    _table_file(tmp_path, "b-male", "male")
    assert shipped_rate_table("colorectal", "male", "incidence") == "b-male"
    assert shipped_rate_table("colorectal", "female", "incidence") == "a-any"
    _table_file(tmp_path, "c-male", "male")
    with pytest.raises(CalibrationError, match=r"several shipped incidence tables.*b-male, c-male"):
        shipped_rate_table("colorectal", "male", "incidence")
    _table_file(tmp_path, "c-male", "male", default=True)
    assert shipped_rate_table("colorectal", "male", "incidence") == "c-male"


# -- categorise picks them --------------------------------------------------------------------
B = math.log(1.5)
REFERENCE = reference_from_parameters(0.0, 1.0, score_id="PGS000662")
CRC_REFERENCE = reference_from_parameters(0.0, 1.0, score_id="PGS000765")


def _prostate_scheme(tmp_path: Path, cancer: str = "prostate") -> Path:
    path = tmp_path / f"{cancer}-10y.toml"
    path.write_text(
        f'name = "{cancer}-10y"\ncancer = "{cancer}"\nsex = "male"\nkind = "illustrative"\n'
        'source = "test"\n'
        '[measure]\nkind = "absolute_risk"\nwindow = "from-current-age"\nyears = 10\n'
        '[[category]]\nlabel = "low"\nupper = 5\n[[category]]\nlabel = "high"\nlower = 5\n'
    )
    return path


def _hand_risk(z: float, start: int, years: int) -> float:
    """iCARE's risk over ``[start, start + years)`` for a man of score ``z`` written out
    independently of prs, from the shipped CSVs read as plain text: the baseline hazard makes
    a N(0, 1) score population reproduce the incidence among the disease-free, then risk =
    sum_t lambda0(t) rr exp(-sum_{u<t} (lambda0(u) rr + m(u)))."""
    incidence = _plain_rates("england-gbd2019-male-prostate-incidence")
    mortality = _plain_rates("england-gbd2019-male-prostate-competing-mortality")
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    weights = weights / weights.sum()
    population_rr = np.exp(B * nodes - B * B / 2)
    lam0, cumulative = {}, 0.0
    for age in range(min(incidence), start + years):
        disease_free = weights * np.exp(-population_rr * cumulative)
        lam0[age] = incidence[age] * disease_free.sum() / (disease_free * population_rr).sum()
        cumulative += lam0[age]
    rr = math.exp(B * z - B * B / 2)
    risk, before = 0.0, 0.0
    for age in range(start, start + years):
        risk += lam0[age] * rr * math.exp(-before)
        before += lam0[age] * rr + mortality[age]
    return risk


def test_prostate_absolute_risk_scheme_runs_on_the_england_tables_with_a_hand_checked_risk(
    tmp_path,
):
    """Before: refused ("no incidence table is shipped for prostate"). Now the England GBD
    2019 prostate tables are picked, and a 60-year-old man at z = 1 (OR 1.5 per SD) has the
    10-year risk computed by hand from the CSVs: 5.1364 %."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        out = categorise(
            traited_scores([0.0, 1.0], "EFO_0001663", "PGS000662"), reference=REFERENCE,
            or_per_sd=1.5, age=60, scheme=str(_prostate_scheme(tmp_path)), sex="male",
        )  # fmt: skip
    assert out.inputs["incidence"] == "england-gbd2019-male-prostate-incidence"
    assert out.inputs["mortality"] == "england-gbd2019-male-prostate-competing-mortality"
    assert out.inputs["incidence_declared"]["population"] == "England, men"
    frame = out.to_frame()
    expected = _hand_risk(1.0, 60, 10)
    assert frame["risk_10y"][1] == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.051364, abs=5e-7)
    assert frame["risk_10y"][0] < frame["risk_10y"][1]


def test_male_colorectal_absolute_risk_scheme_picks_the_mens_tables(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        out = categorise(
            traited_scores([0.0], "EFO_0005842", "PGS000765"), reference=CRC_REFERENCE,
            or_per_sd=1.3, age=55, scheme=str(_prostate_scheme(tmp_path, "colorectal")),
            sex="male",
        )  # fmt: skip
    assert out.inputs["incidence"] == "england-gbd2019-male-colorectal-incidence"
    assert out.inputs["mortality"] == "england-gbd2019-male-colorectal-competing-mortality"
    assert 0 < out.to_frame()["risk_10y"][0] < 0.05


def test_cli_barcode1_prostate_gets_absolute_risks_from_the_picked_tables(tmp_path):
    """barcode1-prostate (a percentile scheme) before: 'absolute risks not computed'; now its
    rows carry 10-year risks from the England prostate tables, named in inputs.json."""
    scores = tmp_path / "scores.tsv"
    traited_scores([0.0, 2.0], "EFO_0001663", "PGS000662").to_csv(scores, sep="\t", index=False)
    reference = tmp_path / "reference.json"
    save_reference(REFERENCE, reference)
    out = tmp_path / "categories.tsv"
    argv = ["categorise", "--scores", str(scores), "--reference", str(reference),
            "--or-per-sd", "1.5", "--age", "60", "--sex", "male",
            "--scheme", "barcode1-prostate", "--out", str(out)]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        assert prs.cli.main(argv) == 0
    inputs = json.loads((tmp_path / "categories.inputs.json").read_text())
    assert inputs["incidence"] == "england-gbd2019-male-prostate-incidence"
    assert inputs["mortality"] == "england-gbd2019-male-prostate-competing-mortality"
    assert inputs["incidence_declared"]["years"] == "2019"
    frame = pd.read_csv(out, sep="\t")
    assert frame["risk_10y"].between(0, 1).all()
    assert frame["risk_10y"][1] > frame["risk_10y"][0]


def test_nice_lifetime_scheme_runs_on_the_england_breast_pair_and_keeps_the_us_default():
    """The European breast tables work under a NICE scheme when named; without names the US
    SEER default is used, as before."""
    scores = traited_scores([0.0, 1.0], "EFO_0000305")
    reference = reference_from_parameters(0.0, 1.0, score_id="PGS000004")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        england = categorise(
            scores, reference=reference, or_per_sd=1.61, age=45,
            incidence="england-gbd2019-female-breast-incidence",
            mortality="england-gbd2019-female-breast-competing-mortality",
        )  # fmt: skip
        default = categorise(scores, reference=reference, or_per_sd=1.61, age=45)
    assert england.inputs["incidence_declared"]["population"] == "England, women"
    assert default.inputs["incidence"] == "us-seer-female-breast-incidence"
    lifetime = england.to_frame()["risk_to_80"]
    assert 0 < lifetime[0] < lifetime[1] < 0.3
    assert lifetime[0] != default.to_frame()["risk_to_80"][0]
