"""Issue 10 F10 and F11: every bad calibration input is a CalibrationError (exit 8) naming the
file, field or line and the value — never a traceback, never a shifted percentile, never an
unusable reference written."""

from __future__ import annotations

import copy
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import (
    AncestryAdjustment,
    PercentileBands,
    RateTable,
    Reference,
    build_reference,
    categorise,
    fit_absolute_risk_model,
    load_rate_table,
    load_reference,
    read_pcs,
    read_percentile_bands,
    reference_from_parameters,
    reference_from_quantiles,
    relative_risk_per_sd,
    save_reference,
)
from prs.calibrate._inputs import read_scores
from prs.errors import EXIT_CODES, CalibrationError, CalibrationWarning
from tests.builders import scores_table, write_scores

CALIBRATION_EXIT = EXIT_CODES[CalibrationError]


@pytest.fixture
def run(monkeypatch, capsys):
    """Run `prs ...` and return (exit code, stderr)."""

    def call(*argv: str) -> tuple[int, str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalibrationWarning)
            code = prs.cli.main([str(a) for a in argv])
        return code, capsys.readouterr().err

    return call


@pytest.fixture
def ref_file(tmp_path):
    rng = np.random.default_rng(5)
    path = tmp_path / "reference.json"
    save_reference(build_reference(rng.normal(size=600), score_id="PGS000004"), path)
    return path


# -- F10: score tables ------------------------------------------------------------------------
def _scores_text(tmp_path, text: str):
    path = tmp_path / "scores.tsv"
    path.write_text(text)
    return path


HEADER = "sample_id\tscore\tSUM\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"scores file is empty"),
        ("\n\n", r"scores file is empty"),
        (HEADER, r"header line but no samples"),
        ("id\tscore\tSUM\nA\tP\t1.0\n", r"no column\(s\) 'sample_id'"),
        ("sample_id,score,SUM\nA,P,1.0\n", r"no column\(s\) 'sample_id'.*tab-separated"),
        (HEADER + "A\tP\t1.0\nB\tP\tabc\n", r"line 3 \(sample B\): SUM 'abc' is not a finite"),
        (HEADER + "A\tP\t1.0\nB\tP\t\n", r"line 3 \(sample B\): SUM is missing"),
        (HEADER + "A\tP\t1.0\nB\tP\tinf\n", r"line 3 \(sample B\): SUM 'inf'|line 3 .*SUM inf"),
        (HEADER + "A\tP\t1.0\n\nB\tP\tx\n", r"line 4 \(sample B\)"),  # blank lines counted
        (HEADER + "A\tP\t1.0\nA\tP\t2.0\n", r"line 3: sample_id A appears more than once"),
        (HEADER + "A\tP\t1.0\n\tP\t2.0\n", r"line 3: empty sample_id"),
        (HEADER + "A\tP\t1.0\n", r"no column 'AVG'"),
    ],
)
def test_bad_score_tables_are_named_errors(tmp_path, text, message):
    path = _scores_text(tmp_path, text)
    column = "AVG" if "AVG" in message else "SUM"
    with pytest.raises(CalibrationError, match=message) as info:
        read_scores(path, column=column)
    assert str(path) in str(info.value)


def test_a_directory_or_binary_file_as_scores(tmp_path):
    with pytest.raises(CalibrationError, match="is a directory"):
        read_scores(tmp_path)
    binary = tmp_path / "scores.tsv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage\x00")
    with pytest.raises(CalibrationError, match="scores"):
        read_scores(binary)


def test_a_long_table_holds_each_sample_once_per_score(tmp_path):
    """Duplicates are per score: the same sample under two scores is fine."""
    path = write_scores(tmp_path / "s.tsv", {"P1": np.arange(3.0), "P2": np.arange(3.0)})
    assert read_scores(path, score_id="P2").values.tolist() == [0.0, 1.0, 2.0]
    frame = scores_table({"P1": np.arange(3.0)})
    frame.loc[2, "sample_id"] = frame.loc[0, "sample_id"]
    with pytest.raises(CalibrationError, match="appears more than once"):
        read_scores(frame)
    frame = scores_table({"P1": np.arange(3.0)}).astype({"SUM": object})
    frame.loc[1, "SUM"] = "x"
    with pytest.raises(CalibrationError, match="'x' of sample S00001 is not a number"):
        read_scores(frame)


@pytest.mark.parametrize("command", ["calibrate", "categorise"])
def test_zero_byte_scores_file_exits_8_from_the_cli(tmp_path, run, command):
    empty = tmp_path / "scores.tsv"
    empty.write_bytes(b"")
    out = tmp_path / ("r.json" if command == "calibrate" else "c.tsv")
    code, err = run(command, "--scores", empty, "--out", out)
    assert code == CALIBRATION_EXIT
    assert err.startswith(f"prs: error: {empty}: scores file is empty")
    assert "Traceback" not in err
    assert not out.exists()


# -- F10: evaluate's outcomes and predicted risks ---------------------------------------------
@pytest.fixture
def cohort(tmp_path):
    rng = np.random.default_rng(9)
    n = 60
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000004": rng.normal(size=n)})
    ids = [f"S{i:05d}" for i in range(n)]
    outcome = (np.arange(n) % 3 == 0).astype(int)
    table = pd.DataFrame({"sample_id": ids, "outcome": outcome, "age": 50 + np.arange(n) % 9})
    return tmp_path, scores, table


def _evaluate(run, tmp, scores, outcomes, *extra):
    out = tmp / "metrics.json"
    code, err = run("evaluate", "--scores", scores, "--outcomes", outcomes, "--out", out, *extra)
    return code, err, out


def test_outcome_yes_names_the_file_line_and_value(cohort, run):
    tmp, scores, table = cohort
    table["outcome"] = table["outcome"].astype(object)
    table.loc[4, "outcome"] = "yes"
    path = tmp / "outcomes.tsv"
    table.to_csv(path, sep="\t", index=False)
    code, err, out = _evaluate(run, tmp, scores, path)
    assert code == CALIBRATION_EXIT
    assert f"{path} line 6 (sample S00004): outcome 'yes' is not a finite number" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("edit", "extra", "message"),
    [
        (lambda t: t.assign(outcome=t["outcome"] + 1), (), r"line 2 .*: outcome 2 is not 0 or 1"),
        (lambda t: t.assign(outcome=t["outcome"] + 1), (), r"coded 1/2"),
        (lambda t: t.assign(outcome=t["outcome"].where(t.index != 7)), (), r"line 9 .*missing"),
        (lambda t: pd.concat([t, t.iloc[[3]]]), (), r"line 62: sample_id S00003 appears more"),
        (lambda t: t.drop(columns="outcome"), (), r"no column\(s\) 'outcome'"),
        (
            lambda t: t.assign(age=t["age"].astype(object).where(t.index != 2, "fifty")),
            ("--covariates", "age"),
            r"line 4 \(sample S00002\): age 'fifty' is not a finite number",
        ),
        (
            lambda t: t.assign(time=["x"] + [1.0] * (len(t) - 1)),
            ("--time-column", "time"),
            r"line 2 \(sample S00000\): time 'x'",
        ),
    ],
)
def test_bad_outcome_tables(cohort, run, edit, extra, message):
    tmp, scores, table = cohort
    path = tmp / "outcomes.tsv"
    edit(table).to_csv(path, sep="\t", index=False)
    code, err, out = _evaluate(run, tmp, scores, path, *extra)
    assert code == CALIBRATION_EXIT, err
    assert str(path) in err
    assert pytest.importorskip("re").search(message, err), err
    assert not out.exists()


def test_empty_outcomes_and_bad_predicted_risks(cohort, run):
    tmp, scores, table = cohort
    empty = tmp / "empty.tsv"
    empty.write_text("")
    code, err, _ = _evaluate(run, tmp, scores, empty)
    assert code == CALIBRATION_EXIT and "outcomes file is empty" in err
    outcomes = tmp / "outcomes.tsv"
    table.to_csv(outcomes, sep="\t", index=False)
    predicted = tmp / "predicted.tsv"
    risks = np.full(len(table), 0.02)
    risks[5] = 2.0  # percent, not a probability
    pd.DataFrame({"sample_id": table["sample_id"], "risk_10y": risks}).to_csv(
        predicted, sep="\t", index=False
    )
    code, err, _ = _evaluate(run, tmp, scores, outcomes, "--predicted", predicted)
    assert code == CALIBRATION_EXIT
    assert f"{predicted} line 7 (sample S00005): risk_10y 2.0 is not a probability" in err


def test_age_group_pc_and_id_list_files(tmp_path, run, ref_file):
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000004": np.linspace(-2, 2, 20)})
    ages = tmp_path / "ages.tsv"
    ages.write_text("sample_id\tage\nS00000\t45\nS00001\tforty\n")
    base = ["categorise", "--scores", scores, "--reference", ref_file, "--out", tmp_path / "c.tsv"]
    code, err = run(*base, "--scheme", "top-5-percent", "--age-file", ages)
    assert code == CALIBRATION_EXIT
    assert f"{ages} line 3 (sample S00001): age 'forty' is not a finite number" in err
    ages.write_text("")
    code, err = run(*base, "--scheme", "top-5-percent", "--age-file", ages)
    assert code == CALIBRATION_EXIT and "ages file is empty" in err
    groups = tmp_path / "groups.tsv"
    groups.write_text("sample_id\tancestry\nS00000\tEUR\n")
    code, err = run(*base, "--groups", groups)
    assert code == CALIBRATION_EXIT and "no column(s) 'group'" in err
    code, err = run(
        "calibrate", "--scores", scores, "--pcs", tmp_path / "none.pcs", "--out", tmp_path / "r"
    )
    assert code == CALIBRATION_EXIT and "PC file not found" in err
    pcs = tmp_path / "ref.pcs"
    pcs.write_text("")
    with pytest.raises(CalibrationError, match="PC file is empty"):
        read_pcs(pcs)
    pcs.write_text("IID PC1\nS00000 0.1\n")
    code, err = run(
        "calibrate",
        *("--scores", scores, "--pcs", pcs, "--exclude", tmp_path / "absent.id"),
        *("--out", tmp_path / "r"),
    )
    assert code == CALIBRATION_EXIT and "sample ID list not found" in err
    # a PC value that is not a number: named with its sample (was a ValueError traceback)
    pcs.write_text(
        "IID PC1 PC2 PC3 PC4\n"
        + "".join(f"S{i:05d} 0.{i} 0.1 0.2 {'x' if i == 3 else 0.3}\n" for i in range(60))
    )
    big = write_scores(tmp_path / "big.tsv", {"P": np.linspace(-2, 2, 60)})
    code, err = run("calibrate", "--scores", big, "--pcs", pcs, "--out", tmp_path / "r")
    assert code == CALIBRATION_EXIT
    assert "PC4 'x' of sample S00003 is not a finite number" in err
    assert not (tmp_path / "r").exists()


def test_percentile_band_and_rate_table_files(tmp_path):
    bands = tmp_path / "bands.csv"
    bands.write_text("# source: nobody\n")
    with pytest.raises(CalibrationError, match="no percentile bands"):
        read_percentile_bands(bands)
    rates = tmp_path / "rates.csv"
    rates.write_text("# name: x\n# source: y\n")
    with pytest.raises(CalibrationError, match="no rate table after the comment lines"):
        load_rate_table(rates)


# -- F11: references --------------------------------------------------------------------------
def _mutated(path, tmp_path, mutate):
    doc = json.loads(path.read_text())
    mutate(doc["references"][0])
    out = tmp_path / "mutated.json"
    out.write_text(json.dumps(doc))  # json writes NaN/Infinity tokens, as the attack did
    return out


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["values"].__setitem__(17, math.nan), r"values\[\d+\]: nan is not a finite"),
        (lambda r: r["values"].__setitem__(3, math.inf), r"values\[\d+\]: inf is not a finite"),
        (lambda r: r["values"].__setitem__(3, "1.5"), r"values\[3\]: '1.5' is not a number"),
        (lambda r: r["values"].__setitem__(3, True), r"values\[3\]: True is not a number"),
        (lambda r: r.__setitem__("values", "oops"), r"values: must be a list of numbers"),
        (lambda r: r.__setitem__("sd", 0.0), r"sd 0.0 must be finite with sd > 0"),
        (lambda r: r.__setitem__("sd", -1.0), r"sd -1.0 must be finite with sd > 0"),
        (lambda r: r.__setitem__("sd", math.nan), r"sd nan is not a finite number"),
        (lambda r: r.__setitem__("mean", math.inf), r"mean inf is not a finite number"),
        (lambda r: r.__setitem__("mean", "0"), r"mean '0' is not a number"),
        (lambda r: r.__setitem__("n", 0), r"n 0 is not a whole number >= 1"),
        (lambda r: r.__setitem__("n", 2.5), r"n 2.5 is not a whole number >= 1"),
        (lambda r: r.__setitem__("n", 599), r"n is 599 but the reference holds 600 values"),
        (lambda r: r.__setitem__("mean", r["mean"] + 0.1), r"disagree with its values"),
        (lambda r: r.__setitem__("sd", r["sd"] * 1.01), r"disagree with its values"),
        (lambda r: r.pop("sd"), r"malformed reference entry \(no 'sd'\)"),
    ],
)
def test_an_unusable_empirical_reference_file_is_refused(ref_file, tmp_path, mutate, message):
    path = _mutated(ref_file, tmp_path, mutate)
    with pytest.raises(CalibrationError, match=message) as info:
        load_reference(path)
    assert f"{path} references[0]" in str(info.value)


def test_one_nan_no_longer_shifts_every_percentile(ref_file, tmp_path, run):
    """The issue's case: one NaN in 600 reference values moved the 99.9th percentile."""
    path = _mutated(ref_file, tmp_path, lambda r: r["values"].__setitem__(0, math.nan))
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000004": np.linspace(-3, 3, 20)})
    out = tmp_path / "c.tsv"
    code, err = run(
        "categorise", "--scores", scores, "--reference", path, "--scheme", "top-5-percent",
        "--out", out,
    )  # fmt: skip
    assert code == CALIBRATION_EXIT
    assert "values[0]: nan is not a finite number" in err
    assert not out.exists()


@pytest.fixture
def quantile_ref_file(tmp_path):
    rng = np.random.default_rng(6)
    path = tmp_path / "q.json"
    save_reference(build_reference(rng.normal(size=600), keep_values=False, check=False), path)
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda q: q["values"].__setitem__(50, math.nan), r"quantiles.values\[50\]: nan"),
        (lambda q: q["levels_percent"].__setitem__(5, math.inf), r"levels_percent\[5\]: inf"),
        (lambda q: q["values"].__setitem__(50, -9.0), r"values must not decrease \(value 51"),
        (lambda q: q["levels_percent"].__setitem__(5, 1.0), r"levels must increase strictly"),
        (lambda q: q["levels_percent"].__setitem__(-1, 101.0), r"within 0-100"),
        (lambda q: q["values"].pop(), r"differ in length"),
    ],
)
def test_an_unusable_quantile_reference_file_is_refused(
    quantile_ref_file, tmp_path, mutate, message
):
    path = _mutated(quantile_ref_file, tmp_path, lambda r: mutate(r["quantiles"]))
    with pytest.raises(CalibrationError, match=message):
        load_reference(path)


def test_an_unusable_ancestry_adjustment_is_refused(ref_file, tmp_path):
    doc = json.loads(ref_file.read_text())
    adjustment = AncestryAdjustment(
        pcs=("PC1",),
        mean_coefficients=np.array([0.0, 1.0]),
        residual_sd=1.0,
        variance_coefficients=np.array([0.0, 0.1]),
        n=100,
    )
    for key, value, message in [
        ("mean_coefficients", [0.0, math.nan], r"mean_coefficients\[1\] nan"),
        ("residual_sd", 0.0, "residual_sd 0.0 must be a finite number > 0"),
        ("variance_coefficients", [math.inf, 0.0], r"variance_coefficients\[0\] inf"),
    ]:
        entry = copy.deepcopy(adjustment.to_dict())
        entry[key] = value
        doc["ancestry_adjustment"] = entry
        path = tmp_path / "a.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(CalibrationError, match=message):
            categorise(np.zeros(3), reference=path, pcs=pd.DataFrame({"IID": ["0", "1", "2"],
                       "PC1": [0.0, 0.0, 0.0]}), scheme="top-5-percent")  # fmt: skip


def test_huge_scores_never_give_a_reference_with_infinite_sd(tmp_path, run):
    """calibrate on +-1e308 scores wrote sd=inf (exit 0); now refused, nothing written."""
    scores = write_scores(tmp_path / "ref.tsv", {"PGS000004": np.array([1e308, -1e308, 0.0])})
    out = tmp_path / "reference.json"
    code, err = run("calibrate", "--scores", scores, "--out", out)
    assert code == CALIBRATION_EXIT
    assert "mean or SD is not a finite number" in err
    assert not out.exists()
    with pytest.raises(CalibrationError, match="not a finite number"):
        build_reference([1e308, 1.7e308, 0.0], keep_values=False)
    with pytest.raises(CalibrationError, match="not a finite number"):
        reference_from_quantiles([1, 50, 100], [-1.7e308, 0.0, 1.7e308])


def test_save_reference_never_writes_an_unusable_reference(tmp_path):
    good = build_reference(np.linspace(-1, 1, 50), check=False)
    bad = Reference(
        score_id=None, column="SUM", kind="empirical", n=3, mean=0.0, sd=1.0,
        values=np.array([0.0, 1.0, math.nan]),
    )  # fmt: skip
    out = tmp_path / "r.json"
    with pytest.raises(CalibrationError, match=r"values\[2\]: nan"):
        save_reference({"A": good, "B": bad}, out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    infinite = Reference(score_id=None, column="SUM", kind="parametric", n=None, mean=0.0,
                         sd=math.inf)  # fmt: skip
    with pytest.raises(CalibrationError, match="sd inf must be finite"):
        save_reference(infinite, out)
    assert not out.exists()


@pytest.mark.parametrize(
    ("mean", "sd", "message"),
    [("nan", "1", "reference mean"), ("0", "inf", "reference sd"), ("0", "0", "must be > 0")],
)
def test_published_parameters_must_be_finite(tmp_path, run, mean, sd, message):
    out = tmp_path / "p.json"
    code, err = run("calibrate", "--mean", mean, "--sd", sd, "--out", out)
    assert code == CALIBRATION_EXIT and message in err and "--" in err
    assert not out.exists()
    with pytest.raises(CalibrationError, match="n 0 is not a whole number"):
        reference_from_parameters(0.0, 1.0, n=0)


# -- F11: OR per SD, ages, rate tables, bands --------------------------------------------------
@pytest.mark.parametrize("value", [1e308, 100.0, 0.01, 0.0, -1.0, math.nan, math.inf, "x"])
def test_implausible_or_per_sd_is_refused(value):
    with pytest.raises(CalibrationError, match=r"or_per_sd \(--or-per-sd\)"):
        relative_risk_per_sd(0.5, or_per_sd=value)
    with pytest.raises(CalibrationError, match="or_per_sd"):
        fit_absolute_risk_model(or_per_sd=value)


def test_or_per_sd_at_the_edges_of_the_range_is_accepted():
    for value in (0.011, 1.0, 1.61, 99.0):
        assert np.isfinite(relative_risk_per_sd(np.array([-3.0, 3.0]), or_per_sd=value)).all()


def test_or_per_sd_1e308_from_the_cli_is_an_error_not_empty_categories(tmp_path, run, ref_file):
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000004": np.linspace(-2, 2, 20)})
    out = tmp_path / "c.tsv"
    code, err = run(
        "categorise", "--scores", scores, "--reference", ref_file, "--or-per-sd", "1e308",
        "--age", "45", "--out", out,
    )  # fmt: skip
    assert code == CALIBRATION_EXIT
    assert "or_per_sd (--or-per-sd) 1e+308 is not a plausible OR" in err
    assert "age or rate tables" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("age", "message"),
    [
        (math.inf, r"inf is not an age in years within 0-150"),
        (-1.0, r"-1.0 is not an age"),
        (200.0, r"200.0 is not an age"),
        ({"0": "abc", "1": 40}, r"age of sample 0: 'abc' is not a number of years"),
        ({"0": -3, "1": 40}, r"age of sample 0: -3.0 is not an age"),
    ],
)
def test_absurd_ages_are_refused(age, message):
    with pytest.raises(CalibrationError, match=message):
        categorise([0.0, 1.0], reference=reference_from_parameters(0, 1), or_per_sd=1.61,
                   age=age)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age,rate\n40,0.001\n41,250\n", r"line 3: rate '250' .*rate_per_100000"),
        ("age,rate\n40,0.001\n41,nan\n", r"line 3: rate 'nan' is not a finite rate"),
        ("age,rate\n40,0.001\n41,-0.1\n", r"line 3: rate '-0.1'"),
        ("age,rate_per_100000\n40,1\n41,200000\n", r"line 3: rate_per_100000 '200000'"),
        ("age_start,age_end,rate\n0,1000000000,0.001\n", r"line 2: age_end '1000000000'"),
        ("age,rate\n40,0.001\n1e300,0.001\n", r"line 3: age '1e300'"),
    ],
)
def test_absurd_rate_tables_are_refused(tmp_path, text, message):
    path = tmp_path / "rates.csv"
    path.write_text(text)
    with pytest.raises(CalibrationError, match=message):
        load_rate_table(path)


def test_rate_table_objects_are_checked_too():
    with pytest.raises(CalibrationError, match="rate inf at age 41"):
        RateTable(np.array([40, 41]), np.array([0.001, math.inf]), "x")
    with pytest.raises(CalibrationError, match="not within 0-150"):
        RateTable(np.arange(149, 152), np.full(3, 0.001), "x")
    with pytest.raises(CalibrationError, match="relative risks must be finite numbers > 0"):
        PercentileBands(np.array([0.0, 50.0]), np.array([50.0, 100.0]), np.array([1.0, np.nan]))
