"""Issue 10 F19 (calibrate part) and the calibration warnings and outputs: no numpy warning
reaches users on extreme but valid inputs; every warning is a prs.errors.CalibrationWarning;
every file the calibrate commands write goes through prs.output."""

from __future__ import annotations

import errno
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import prs.calibrate
import prs.cli
import prs.errors
import prs.output.publish
from prs.calibrate import (
    available_schemes,
    build_reference,
    categorise,
    evaluate_cohort,
    fit_absolute_risk_model,
    load_scheme,
    reference_from_parameters,
    relative_risk_per_sd,
    save_reference,
)
from prs.errors import EXIT_CODES, CalibrationError, CalibrationWarning, ReportError
from tests.builders import write_scores


@pytest.fixture
def numpy_warnings_are_errors():
    # numpy's defaults (whatever another test set): overflow, division by zero and invalid
    # operations warn; underflow to 0 is silent
    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):
        warnings.simplefilter("error", RuntimeWarning)
        yield


#: Scores far outside any reference, but finite: what a wrong column or reference gives.
EXTREME_SCORES = np.array([1e308, -1e308, 1e300, 700.0, -700.0, 40.0, 0.0, 1e-300])


@pytest.mark.usefixtures("numpy_warnings_are_errors")
@pytest.mark.parametrize("scheme", sorted(available_schemes()))
@pytest.mark.parametrize("risk_population", ["normal", "reference"])
def test_categorise_on_extreme_scores_raises_no_numpy_warning(scheme, risk_population):
    """Before the fix: 'overflow encountered in exp' (F19). Now every person gets a row;
    those whose relative risk cannot be computed get no category and a note."""
    rng = np.random.default_rng(2)
    reference = build_reference(rng.normal(size=1000), check=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CalibrationWarning)
        out = categorise(
            EXTREME_SCORES,
            reference=reference,
            scheme=scheme,
            or_per_sd=99.0,
            age=np.full(EXTREME_SCORES.size, 48.0),  # inside 40-49 and 47-73
            risk_population=risk_population,
            benchmark_age=50,
            # the benchmark age needs rates: only breast rates are shipped, so the prostate
            # and colorectal schemes run on them by the explicit research override
            incidence="us-seer-female-breast-incidence",
            allow_mismatch=True,
        ).to_frame()
    assert all(issubclass(w.category, CalibrationWarning) for w in caught)
    assert len(out) == EXTREME_SCORES.size
    # 1e300 SDs and more from the reference, either side: no relative risk, no category
    if scheme not in ("top-5-percent", "barcode1-prostate"):
        assert out["relative_risk"][:3].isna().all()
        assert out["category"][:3].isna().all()
        assert out["category_note"][:3].str.startswith("relative risk not computable").all()
    uncategorised = out["category"].isna()
    assert (out.loc[uncategorised, "category_note"].notna()).all()
    # an absolute risk above 100 % (the yearly model's sum beyond its range) is never
    # categorised
    if load_scheme(scheme).measure.kind == "absolute_risk":
        assert not (out["scheme_measure"] > 100).any()


@pytest.mark.usefixtures("numpy_warnings_are_errors")
def test_relative_and_absolute_risk_functions_on_extreme_values():
    rr = relative_risk_per_sd(np.array([1e308, -1e308, 0.0]), or_per_sd=99.0)
    assert rr[0] == np.inf and rr[1] == 0.0
    model = fit_absolute_risk_model(or_per_sd=1.61)
    risks = model.risk(np.array([-np.inf, -700.0, 0.0]), age_start=50, years=10)
    assert risks[0] == 0.0 and risks[1] < 1e-300 and 0 < risks[2] < 1
    with pytest.raises(CalibrationError, match="log relative risk"):
        model.risk(np.array([800.0]), age_start=50, years=10)
    parametric = reference_from_parameters(0.0, 1e-300)
    assert np.isfinite(parametric.percentile([1e308, -1e308])).all()
    assert np.isinf(parametric.z([1e308])).all()


@pytest.mark.usefixtures("numpy_warnings_are_errors")
def test_building_references_from_extreme_scores_raises_no_numpy_warning():
    with pytest.raises(CalibrationError, match="not a finite number"):
        build_reference([1e308, -1e308, 1.0, 2.0])
    # large but representable: accepted, finite moments
    ref = build_reference(np.linspace(-1e150, 1e150, 600), check=False, keep_values=False)
    assert np.isfinite(ref.sd) and ref.sd > 0


@pytest.mark.usefixtures("numpy_warnings_are_errors")
def test_evaluate_on_extreme_but_valid_cohorts_raises_no_numpy_warning():
    rng = np.random.default_rng(7)
    y = np.r_[np.zeros(60), np.ones(60)]
    x = rng.normal(size=120)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", RuntimeWarning)
        # perfectly separated scores and predictions, one huge covariate, tiny raw units
        separated = evaluate_cohort(
            y * 50 + x, y, predicted_risk=np.where(y == 1, 1 - 1e-12, 1e-12)
        )
        evaluate_cohort(x, y, covariates=np.r_[x[:118], 1e300, -1e300])
        evaluate_cohort(x * 1e-100, y)
        with pytest.raises(CalibrationError, match="overflow double precision"):
            evaluate_cohort(np.r_[x[:118], 1e308, -1e308], y)
        one_case = evaluate_cohort(x, np.r_[np.zeros(119), 1.0])  # DeLong SE undefined
    assert np.isnan(one_case.auc.se)
    categories = {w.category for w in caught}
    assert categories <= {CalibrationWarning}, categories
    messages = [str(w.message) for w in caught]
    assert any("OR per SD: the logistic regression reported" in m for m in messages)
    assert separated.n == 120


def test_calibration_warnings_are_the_prs_errors_class():
    """Before: prs.calibrate.reference defined its own CalibrationWarning(UserWarning), and
    the absolute-risk warning was a bare UserWarning; --strict and provenance key on
    prs.errors.PRSWarning."""
    assert prs.calibrate.CalibrationWarning is prs.errors.CalibrationWarning
    assert issubclass(prs.calibrate.CalibrationWarning, prs.errors.PRSWarning)
    model = fit_absolute_risk_model(or_per_sd=1.61)
    with pytest.warns(prs.errors.CalibrationWarning, match="yearly hazard"):
        model.risk(np.array([4.5]), age_start=50, years=10)
    with pytest.warns(prs.errors.CalibrationWarning, match="fewer than 500"):
        build_reference(np.random.default_rng(1).normal(size=100))
    with pytest.warns(prs.errors.CalibrationWarning, match="self-referential"):
        categorise(np.linspace(-2, 2, 50), scheme="top-5-percent")


# -- outputs -----------------------------------------------------------------------------------
@pytest.fixture
def run(monkeypatch, capsys):

    def call(*argv):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalibrationWarning)
            code = prs.cli.main([str(a) for a in argv])
        return code, capsys.readouterr()

    return call


def _commands(tmp_path):
    rng = np.random.default_rng(4)
    ref_scores = write_scores(tmp_path / "ref.tsv", {"PGS000004": rng.normal(size=600)})
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000004": rng.normal(size=60)})
    reference = tmp_path / "reference.json"
    save_reference(build_reference(ref_scores, check=False), reference)
    outcomes = tmp_path / "outcomes.tsv"
    pd.DataFrame(
        {"sample_id": [f"S{i:05d}" for i in range(60)], "outcome": np.arange(60) % 2}
    ).to_csv(outcomes, sep="\t", index=False)
    out = tmp_path / "out"
    return {
        "calibrate": (["calibrate", "--scores", ref_scores, "--out", out / "r.json"], ["r.json"]),
        "categorise": (
            ["categorise", "--scores", scores, "--reference", reference, "--scheme",
             "top-5-percent", "--out", out / "c.tsv"],
            ["c.inputs.json", "c.tsv"],
        ),
        "evaluate": (
            ["evaluate", "--scores", scores, "--outcomes", outcomes, "--out", out / "m.json"],
            ["m.json"],
        ),
    }  # fmt: skip


@pytest.mark.parametrize("command", ["calibrate", "categorise", "evaluate"])
def test_every_calibrate_output_goes_through_prs_report(tmp_path, run, monkeypatch, command):
    """A write that fails in prs.output (as a full disk does) is a ReportError (exit 9) and
    leaves nothing in --out's directory; a run that succeeds leaves exactly its files, with
    the modes the umask gives."""
    argv, names = _commands(tmp_path)[command]
    out_dir = tmp_path / "out"

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(prs.output.publish.os, "fsync", full_disk)
        code, captured = run(*argv)
    assert code == EXIT_CODES[ReportError], captured.err
    assert "Traceback" not in captured.err
    assert not out_dir.exists() or sorted(p.name for p in out_dir.iterdir()) == []
    code, captured = run(*argv)
    assert code == 0, captured.err
    assert sorted(p.name for p in out_dir.iterdir()) == names
    if command == "categorise":
        inputs = json.loads((out_dir / "c.inputs.json").read_text())
        assert inputs["scheme"] == "top-5-percent"


@pytest.mark.parametrize("command", ["categorise", "evaluate"])
def test_a_commands_files_appear_together_or_not_at_all(tmp_path, run, monkeypatch, command):
    """categorise writes its table and <name>.inputs.json, evaluate its metrics and table:
    a failure on the second file leaves neither (before: the first file stayed behind)."""
    argv, _ = _commands(tmp_path)[command]
    if command == "evaluate":
        argv = [*argv, "--predicted", tmp_path / "predicted.tsv", "--table", "out/t.tsv"]
        pd.DataFrame(
            {"sample_id": [f"S{i:05d}" for i in range(60)], "risk_10y": np.full(60, 0.3)}
        ).to_csv(tmp_path / "predicted.tsv", sep="\t", index=False)
        argv[argv.index("out/t.tsv")] = tmp_path / "out" / "t.tsv"
    real_fsync = prs.output.publish.os.fsync
    calls = []

    def fails_after_the_first(fd: int) -> None:
        calls.append(fd)
        if len(calls) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    with monkeypatch.context() as patch:
        patch.setattr(prs.output.publish.os, "fsync", fails_after_the_first)
        code, captured = run(*argv)
    assert code == EXIT_CODES[ReportError], captured.err
    out_dir = tmp_path / "out"
    assert not out_dir.exists() or sorted(p.name for p in out_dir.iterdir()) == []


# What `prs categorise` prints on stderr: Python's default filters, not the suite's "error"
# and "ignore::prs.errors.PRSWarning", which would hide the CalibrationWarning asserted shown.
@pytest.mark.filterwarnings("default")
def test_no_numpy_warning_line_on_the_command_line(tmp_path, monkeypatch, capsys):
    """The issue's symptom: 'prs: warning: overflow encountered in exp' on stderr."""
    rng = np.random.default_rng(11)
    reference = tmp_path / "reference.json"
    save_reference(build_reference(rng.normal(size=600), check=False), reference)
    scores = write_scores(tmp_path / "scores.tsv", {"P": EXTREME_SCORES})
    with warnings.catch_warnings(), np.errstate(over="warn", invalid="warn", divide="warn"):
        for scheme in sorted(available_schemes()):
            code = prs.cli.main(
                ["categorise", "--scores", str(scores), "--reference", str(reference),
                 "--scheme", scheme, "--or-per-sd", "5", "--age", "48",
                 # only breast rates are shipped: the colorectal pathway's risk-equivalent
                 # age runs on them by the explicit research override
                 "--incidence", "us-seer-female-breast-incidence", "--allow-mismatch",
                 "--out", str(tmp_path / f"{scheme}.tsv")]
            )  # fmt: skip
            assert code == 0
    err = capsys.readouterr().err
    assert "encountered" not in err and "RuntimeWarning" not in err
    assert "scores lie outside the reference range" in err  # what the user is told instead
