"""The shipped rate tables wired into categorise (issue 11, item 3).

Mortality follows a named shipped incidence table (same population), ``rates_population`` /
``--rates-population`` picks both tables, and a both-sexes scheme (colorectal) gives each
person their own sex's risks.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import (
    categorise,
    companion_mortality_table,
    load_rate_table,
    population_matches,
    reference_from_parameters,
)
from prs.errors import CalibrationError, CalibrationWarning

REFERENCE = reference_from_parameters(0.0, 1.0, source="test N(0, 1)")
ENGLAND_INC = "england-gbd2019-female-breast-incidence"
ENGLAND_MORT = "england-gbd2019-female-breast-competing-mortality"


def _quiet(scores, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        return categorise(scores, **kwargs)


def test_named_england_incidence_gets_england_mortality():
    """Before: naming the England breast incidence took the US mortality (the default)."""
    out = _quiet([0.0, 1.0], reference=REFERENCE, or_per_sd=1.61, age=45, incidence=ENGLAND_INC)
    assert out.inputs["incidence"] == ENGLAND_INC
    assert out.inputs["mortality"] == ENGLAND_MORT
    assert companion_mortality_table(load_rate_table(ENGLAND_INC)) == ENGLAND_MORT
    assert "England" in out.inputs["statements"]["statement_rates_population"]
    # the default stays the US SEER tables
    us = _quiet([0.0, 1.0], reference=REFERENCE, or_per_sd=1.61, age=45)
    assert us.inputs["mortality"] == "us-female-competing-mortality"
    assert us.inputs["rates_population"] is None


def test_rates_population_picks_both_tables(tmp_path):
    out = _quiet(
        [0.0, 1.0], reference=REFERENCE, or_per_sd=1.61, age=45, rates_population="England"
    )
    assert (out.inputs["incidence"], out.inputs["mortality"]) == (ENGLAND_INC, ENGLAND_MORT)
    assert out.inputs["rates_population"] == "England"
    assert population_matches(load_rate_table(ENGLAND_INC), "england")
    same = _quiet(
        [0.0, 1.0], reference=REFERENCE, or_per_sd=1.61, age=45, incidence=ENGLAND_INC
    ).to_frame()
    np.testing.assert_allclose(out.to_frame()["risk_10y"], same["risk_10y"], rtol=1e-12)
    with pytest.raises(CalibrationError, match="declares population 'Atlantis'"):
        _quiet([0.0], reference=REFERENCE, or_per_sd=1.61, age=45, rates_population="Atlantis")
    # the CLI flag, recorded in inputs.json
    scores = tmp_path / "scores.tsv"
    pd.DataFrame({"sample_id": ["a", "b"], "SUM": [0.0, 1.0]}).to_csv(scores, sep="\t", index=False)
    out_path = tmp_path / "c.tsv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        code = prs.cli.main(
            ["categorise", "--scores", str(scores), "--or-per-sd", "1.61", "--age", "45",
             "--rates-population", "England", "--out", str(out_path)]
        )  # fmt: skip
    assert code == 0
    inputs = json.loads((tmp_path / "c.inputs.json").read_text())
    assert inputs["rates_population"] == "England"
    assert (inputs["incidence"], inputs["mortality"]) == (ENGLAND_INC, ENGLAND_MORT)
    assert (pd.read_csv(out_path, sep="\t")["input_mortality"] == ENGLAND_MORT).all()


CRC = dict(reference=REFERENCE, or_per_sd=1.3, age=40, scheme="crc-relative-risk-2")


def test_colorectal_both_sexes_each_person_gets_their_own_sex_risks():
    """Women and men in one run: each row equals a single-sex run on that sex's tables; the
    risk-equivalent start age and the action follow."""
    scores = pd.Series({"f1": 0.5, "m1": 0.5, "f2": 2.0, "m2": 2.0})
    sex = {"f1": "female", "m1": "male", "f2": "F", "m2": "M"}
    both = _quiet(scores, sex=sex, **CRC)
    frame = both.to_frame().set_index("sample_id")
    for key, ids in (("female", ["f1", "f2"]), ("male", ["m1", "m2"])):
        single = _quiet(
            scores[ids], incidence=f"england-gbd2019-{key}-colorectal-incidence", **CRC
        ).to_frame().set_index("sample_id")  # fmt: skip
        mortality = f"england-gbd2019-{key}-colorectal-competing-mortality"
        assert (single["input_mortality"] == mortality).all()
        for column in ("risk_5y", "risk_10y", "risk_to_80", "risk_equivalent_age"):
            np.testing.assert_allclose(
                frame.loc[ids, column], single[column], rtol=1e-12, err_msg=f"{key} {column}"
            )
        assert (
            frame.loc[ids, "pathway_screening_start_age"].tolist()
            == single["pathway_screening_start_age"].tolist()
        )
        assert frame.loc[ids, "category"].tolist() == single["category"].tolist()
    # the same PRS, different sexes: different risks
    assert frame.loc["f1", "risk_10y"] != frame.loc["m1", "risk_10y"]
    assert both.inputs["incidence"] == {
        "female": "england-gbd2019-female-colorectal-incidence",
        "male": "england-gbd2019-male-colorectal-incidence",
    }
    assert both.inputs["mortality"]["male"] == "england-gbd2019-male-colorectal-competing-mortality"
    statement = both.inputs["statements"]["statement_rates_population"]
    assert statement.startswith("women: ") and "; men: " in statement


def test_colorectal_unknown_sex_gets_no_absolute_risk_with_a_note():
    scores = pd.Series({"f": 1.0, "u": 1.0})
    with pytest.warns(CalibrationWarning, match="1 of 2 people have no known sex"):
        out = categorise(scores, sex={"f": "female", "u": "0"}, **CRC)
    frame = out.to_frame().set_index("sample_id")
    assert np.isnan(frame.loc["u", "risk_10y"]) and np.isnan(frame.loc["u", "risk_to_80"])
    assert np.isnan(frame.loc["u", "risk_equivalent_age"])
    assert frame.loc["u", "category"] is None or pd.isna(frame.loc["u", "category"])
    assert frame.loc["u", "category_note"].startswith("sex unknown")
    assert frame.loc["f", "risk_10y"] > 0 and frame.loc["f", "category_note"] is None


def test_colorectal_without_any_sex_is_refused_naming_what_to_give():
    with pytest.raises(CalibrationError) as info:
        _quiet(pd.Series({"a": 1.0}), **CRC)
    text = str(info.value)
    assert "--sex" in text and "--sex-file" in text
    assert "--incidence FILE" in text and "--mortality FILE" in text


def test_colorectal_with_named_tables_runs_as_named():
    """A table named by the user is used for everybody (no per-sex split)."""
    out = _quiet(
        pd.Series({"a": 1.0, "b": 0.0}),
        incidence="england-gbd2019-male-colorectal-incidence",
        **CRC,
    )
    assert out.inputs["incidence"] == "england-gbd2019-male-colorectal-incidence"
