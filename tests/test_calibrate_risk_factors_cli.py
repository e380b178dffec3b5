"""Risk factors beside the PRS wired into categorise and `prs categorise` (issue 11, item 5).

The module (prs.calibrate.risk_factors) is tested in test_calibrate_risk_factors.py; here the
end-to-end path: a family-history file changes the risks exactly as combine_risk_factors +
fit_absolute_risk_model computed independently say, PRS-only runs are unchanged, every row
says what its risk rests on, and the refusals.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import (
    FAMILY_HISTORY_MODELS,
    RiskFactors,
    categorise,
    combine_risk_factors,
    fit_absolute_risk_model,
    load_rate_table,
    normal_population,
    reference_from_parameters,
)
from prs.errors import EXIT_CODES, CalibrationError, CalibrationWarning

INC = "us-seer-female-breast-incidence"
MORT = "us-female-competing-mortality"
OR = 1.61
#: A normal reference with mean 0 and SD 1: each person's z is their score.
REFERENCE = reference_from_parameters(0.0, 1.0, n=None, source="test N(0, 1)")
RF_COLUMNS = ["relative_risk_prs", "log_rr_prs", "log_rr_family_history", "log_rr_other"]


def _quiet(scores, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        return categorise(scores, **kwargs)


def _scores(values: dict[str, float]) -> pd.Series:
    return pd.Series(values, dtype=float)


def _family_file(tmp_path, rows: dict[str, str], name: str = "family.tsv"):
    path = tmp_path / name
    path.write_text("sample_id\tfamily_history\n" + "".join(f"{k}\t{v}\n" for k, v in rows.items()))
    return path


def _breast(scores, **kwargs):
    base = dict(
        reference=REFERENCE, or_per_sd=OR, age=20, sex="female", incidence=INC, mortality=MORT
    )
    return _quiet(scores, **{**base, **kwargs})


# -- the risk, by hand ---------------------------------------------------------------------------
def test_family_history_risk_equals_the_independent_combination(tmp_path):
    """Two women aged 20, z = 2: no affected relative / one. Lifetime (20 -> 80) risk from
    combine_risk_factors and fit_absolute_risk_model called here, and the attenuated
    family-history log RR by hand: log 1.80 - ln(1.61)^2 / 2."""
    scores = _scores({"w0": 2.0, "w1": 2.0})
    path = _family_file(tmp_path, {"w0": "0", "w1": "1"})
    out = _breast(scores, risk_factors=path, family_history_model="breast-cghfbc-2001")
    frame = out.to_frame()

    b = math.log(OR)
    prs_lrr = np.array([2.0 * b - b * b / 2] * 2)
    nodes, weights = normal_population(OR)
    rf = RiskFactors(
        np.array(["w0", "w1"], dtype=object),
        family_history=np.array([0.0, 1.0]),
        family_history_model=FAMILY_HISTORY_MODELS["breast-cghfbc-2001"],
    )
    combined = combine_risk_factors(
        prs_lrr,
        sample_ids=["w0", "w1"],
        risk_factors=rf,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )
    model = fit_absolute_risk_model(
        load_rate_table(INC),
        load_rate_table(MORT),
        population_log_rr=combined.population_log_rr,
        population_weights=combined.population_weights,
    )
    expected = model.risk(combined.log_rr, age_start=np.full(2, 20.0), years=np.full(2, 60.0))
    np.testing.assert_allclose(frame["risk_to_80"], expected, rtol=1e-10)
    np.testing.assert_allclose(frame["scheme_measure"], 100 * expected, rtol=1e-10)
    # the figures of docs/risk-factors.md: 23.03 % and 34.23 %, moderate / high under NICE
    assert frame["scheme_measure"].round(2).tolist() == [23.03, 34.23]
    assert frame["category"].tolist() == ["moderate", "high"]
    # iCARE's attenuation, by hand
    assert frame["log_rr_family_history"].iloc[1] == pytest.approx(
        math.log(1.80) - b * b / 2, abs=1e-9
    )
    assert frame["log_rr_family_history"].iloc[0] == 0.0
    np.testing.assert_allclose(frame["log_rr_prs"], prs_lrr, rtol=1e-12)
    np.testing.assert_allclose(frame["relative_risk_prs"], np.exp(prs_lrr), rtol=1e-12)
    np.testing.assert_allclose(frame["relative_risk"], np.exp(combined.log_rr), rtol=1e-12)
    assert frame["family_history"].tolist() == [0.0, 1.0]
    assert frame["model"].str.startswith("PRS + family history").all()
    assert frame["statement_model"].str.startswith("PRS + family history").all()
    assert out.inputs["risk_factors"]["model"].startswith("PRS + family history")
    # the same z without a family history: the PRS-only lifetime risk differs
    alone = _breast(scores).to_frame()
    assert alone["scheme_measure"].iloc[1] < frame["scheme_measure"].iloc[1]


def test_prs_only_runs_unchanged_and_say_so(tmp_path):
    """Without risk factors: a model column "PRS only" and no risk-factor columns; with a
    file whose other factors are all RR 1 (nothing beside the PRS) every risk and category
    equals the run without the file."""
    scores = _scores({"a": -1.0, "b": 0.5, "c": 2.5})
    plain = _breast(scores, age=45).to_frame()
    assert (plain["model"] == "PRS only").all()
    assert (plain["statement_model"] == "PRS only").all()
    assert not [c for c in RF_COLUMNS if c in plain]
    path = tmp_path / "ones.tsv"
    path.write_text("sample_id\trr\na\t1\nb\t1\nc\t1\n")
    ones = _breast(scores, age=45, risk_factors=path, other_source="test: all RR 1")
    frame = ones.to_frame()
    for column in ("relative_risk", "risk_5y", "risk_10y", "risk_to_80", "scheme_measure"):
        np.testing.assert_allclose(frame[column], plain[column], rtol=1e-9, err_msg=column)
    assert frame["category"].tolist() == plain["category"].tolist()
    np.testing.assert_allclose(frame["relative_risk_prs"], plain["relative_risk"], rtol=1e-12)
    assert (frame["log_rr_other"] == 0).all()


def test_uncertainty_with_risk_factors_is_of_the_combined_risk(tmp_path):
    """Intervals beside a PRS + family-history risk contain that risk (not the PRS-only one),
    and the factors' own RRs are said to be taken as exact."""
    scores = _scores({"w0": 2.0, "w1": 2.0})
    path = _family_file(tmp_path, {"w0": "0", "w1": "1"})
    out = _breast(
        scores,
        risk_factors=path,
        family_history_model="breast-cghfbc-2001",
        or_per_sd_ci=(1.57, 1.65),
    )
    frame = out.to_frame()
    assert (frame["risk_to_80_lo"] < frame["risk_to_80"]).all()
    assert (frame["risk_to_80"] < frame["risk_to_80_hi"]).all()
    assert frame["scheme_measure_lo"].iloc[1] > 30.0  # the PRS-only point is 23.0 %
    p = frame[["p_near-population", "p_moderate", "p_high"]].sum(axis=1)
    np.testing.assert_allclose(p, 1.0, atol=1e-9)
    assert "risk_factors" in out.inputs["uncertainty"]["not_propagated"]
    # the interval at the OR's upper bound: risk re-derived with the combined model at 1.65
    hi_or = _breast(
        scores, or_per_sd=1.65, risk_factors=path, family_history_model="breast-cghfbc-2001"
    ).to_frame()
    lo_or = _breast(
        scores, or_per_sd=1.57, risk_factors=path, family_history_model="breast-cghfbc-2001"
    ).to_frame()
    # z known exactly (no n): the interval is the OR's alone, so it spans the two runs
    for i in range(2):
        ends = sorted([lo_or["risk_to_80"].iloc[i], hi_or["risk_to_80"].iloc[i]])
        assert frame["risk_to_80_lo"].iloc[i] == pytest.approx(ends[0], rel=0.02)
        assert frame["risk_to_80_hi"].iloc[i] == pytest.approx(ends[1], rel=0.02)


# -- refusals and warnings -----------------------------------------------------------------------
def test_a_sample_in_the_file_that_was_not_scored_is_refused(tmp_path):
    path = _family_file(tmp_path, {"w0": "0", "stranger": "1"})
    with pytest.raises(CalibrationError, match="stranger"):
        _breast(_scores({"w0": 0.0}), risk_factors=path, family_history_model="breast-cghfbc-2001")


def test_a_family_history_model_of_another_cancer_is_refused(tmp_path):
    """Breast family-history RRs under the prostate scheme: refused naming both; let through
    with allow_mismatch and written into every row."""
    scores = _scores({"m0": 0.0, "m1": 1.0})
    path = _family_file(tmp_path, {"m0": "0", "m1": "1"})
    kwargs = dict(
        reference=REFERENCE,
        or_per_sd=1.5,
        age=60,
        sex="male",
        scheme="barcode1-prostate",
        risk_factors=path,
        family_history_model="breast-cghfbc-2001",
    )
    with pytest.raises(CalibrationError, match="breast cancer, scheme barcode1-prostate"):
        _quiet(scores, **kwargs)
    out = _quiet(scores, allow_mismatch=True, **kwargs).to_frame()
    assert out["binding_override"].str.contains("family-history relative risks").all()


def test_a_percentile_scheme_with_risk_factors_warns_and_says_so(tmp_path):
    """The category of a percentile scheme rests on the PRS alone: a warning, and the
    statement says so."""
    scores = _scores({"m0": 0.0, "m1": 2.5})
    path = _family_file(tmp_path, {"m0": "0", "m1": "1"})
    with pytest.warns(CalibrationWarning, match="categorises the PRS percentile"):
        out = categorise(
            scores,
            reference=REFERENCE,
            or_per_sd=1.5,
            age=60,
            sex="male",
            scheme="barcode1-prostate",
            risk_factors=path,
            family_history_rr=2.5,
            family_history_prevalence=0.1,
            family_history_source="test figures",
        )
    frame = out.to_frame()
    assert (
        frame["statement_model"].str.endswith("the category rests on the PRS percentile only").all()
    )
    assert frame["model"].iloc[1].startswith("PRS + family history (1")


# -- the CLI -------------------------------------------------------------------------------------
def _write_inputs(tmp_path):
    scores = tmp_path / "scores.tsv"
    pd.DataFrame(
        {"sample_id": ["w0", "w1", "w2"], "score": "PGS000004", "SUM": [2.0, 2.0, 0.0]}
    ).to_csv(scores, sep="\t", index=False)
    ref = tmp_path / "reference.tsv"
    rng = np.random.default_rng(3)
    pd.DataFrame(
        {"sample_id": [f"R{i}" for i in range(3000)], "score": "PGS000004",
         "SUM": rng.normal(size=3000)}
    ).to_csv(ref, sep="\t", index=False)  # fmt: skip
    family = _family_file(tmp_path, {"w0": "0", "w1": "1", "w2": "NA"})
    return scores, ref, family


def test_cli_risk_factors_columns_inputs_and_summary(tmp_path, capsys):
    scores, ref, family = _write_inputs(tmp_path)
    reference = tmp_path / "reference.json"
    main = prs.cli.main
    assert main(["calibrate", "--scores", str(ref), "--out", str(reference)]) == 0
    out = tmp_path / "categories.tsv"
    argv = ["categorise", "--scores", str(scores), "--reference", str(reference),
            "--or-per-sd", "1.61", "--age", "20", "--sex", "female", "--out", str(out),
            "--incidence", INC, "--mortality", MORT]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        assert main([*argv, "--risk-factors", str(family),
                     "--family-history-model", "breast-cghfbc-2001"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "model: PRS + family history" in printed
    frame = pd.read_csv(out, sep="\t")
    for column in [*RF_COLUMNS, "model", "statement_model"]:
        assert column in frame, column
    assert frame["model"].iloc[2].startswith("PRS + family history (unknown")
    inputs = json.loads((tmp_path / "categories.inputs.json").read_text())
    assert inputs["risk_factors"]["family_history"]["model"]["cancer"] == "breast"
    # the same through the API
    api = _quiet(
        str(scores), reference=str(reference), or_per_sd=1.61, age=20, sex="female",
        incidence=INC, mortality=MORT, risk_factors=family,
        family_history_model="breast-cghfbc-2001",
    ).to_frame()  # fmt: skip
    np.testing.assert_allclose(frame["risk_to_80"], api["risk_to_80"], rtol=1e-9)
    # without the file: PRS only, said in the model column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        assert main(argv) == 0
    plain = pd.read_csv(out, sep="\t")
    assert (plain["model"] == "PRS only").all() and "log_rr_prs" not in plain
    assert json.loads((tmp_path / "categories.inputs.json").read_text())["risk_factors"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--family-history-model", "nope"], "breast-cghfbc-2001"),
        (["--family-history-rr", "1.8"], "--family-history-prevalence"),
        (["--family-history-rr", "x"], "--family-history-rr"),
    ],
)
def test_cli_refusals_exit_8(tmp_path, capsys, extra, message):
    scores, _ref, family = _write_inputs(tmp_path)
    argv = ["categorise", "--scores", str(scores), "--or-per-sd", "1.61", "--age", "40",
            "--sex", "female", "--out", str(tmp_path / "c.tsv"), "--risk-factors",
            str(family), *extra]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        code = prs.cli.main(argv)
    assert code == EXIT_CODES[CalibrationError] == 8
    assert message in capsys.readouterr().err


def test_cli_bad_risk_factor_line_names_file_and_line(tmp_path, capsys):
    scores, _ref, _family = _write_inputs(tmp_path)
    bad = tmp_path / "bad.tsv"
    bad.write_text("sample_id\tfamily_history\nw0\t0\nw1\tmany\n")
    argv = ["categorise", "--scores", str(scores), "--or-per-sd", "1.61", "--age", "40",
            "--sex", "female", "--out", str(tmp_path / "c.tsv"), "--risk-factors", str(bad),
            "--family-history-model", "breast-cghfbc-2001"]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        assert prs.cli.main(argv) == 8
    err = capsys.readouterr().err
    assert "bad.tsv" in err and "line 3" in err
    assert not (tmp_path / "c.tsv").exists()


def test_list_shows_the_family_history_models(capsys):
    assert prs.cli.main(["categorise", "--list"]) == 0
    printed = capsys.readouterr().out
    assert "family-history models:" in printed
    assert "breast-cghfbc-2001: RR by affected first-degree relatives 1: 1.8" in printed


def test_percentile_bands_with_risk_factors_give_no_prs_only_intervals(tmp_path):
    """With percentile bands the intervals would be the PRS's alone: none are shown beside a
    combined risk, and inputs.json says why; the risks are the combined ones."""
    bands = tmp_path / "bands.csv"
    bands.write_text(
        "# source: test bands\nlower_percentile,upper_percentile,relative_risk\n"
        "0,20,0.6\n20,80,1.0\n80,100,1.8\n"
    )
    scores = _scores({"w0": 1.5, "w1": 1.5})
    path = _family_file(tmp_path, {"w0": "0", "w1": "1"})
    # a reference with n: its sampling error is a source of uncertainty
    reference = reference_from_parameters(0.0, 1.0, n=2000, source="test N(0, 1), n=2000")
    kwargs = dict(reference=reference, age=40, sex="female", incidence=INC, mortality=MORT)
    out = _quiet(
        scores, percentile_bands=bands, risk_factors=path,
        family_history_model="breast-cghfbc-2001", **kwargs,
    )  # fmt: skip
    frame = out.to_frame()
    assert not [c for c in frame if c.endswith(("_lo", "_hi")) or c.startswith("p_")]
    assert "percentile bands" in out.inputs["uncertainty"]["not_propagated"]["risk_factors"]
    assert frame["risk_to_80"].iloc[1] > frame["risk_to_80"].iloc[0]
    plain = _quiet(scores, percentile_bands=bands, **kwargs).to_frame()
    assert "risk_to_80_lo" in plain  # PRS only: the bands' intervals are given
