"""`prs.calibrate.evaluate.evaluate_tables`: `prs evaluate`'s table joins in the library.

The library result must be what the CLI writes and prints on the same files (the CLI's
handler joins the same tables), and the joins must keep exactly the samples in every table,
in the score table's order.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import special

import prs.cli
from prs.calibrate.evaluate import (
    EvaluationTables,
    TableEvaluation,
    evaluate_cohort,
    evaluate_tables,
    join_evaluation_tables,
)
from prs.errors import EXIT_CODES, CalibrationError
from prs.output import write_json, write_table
from tests.builders import write_scores

pytestmark = pytest.mark.filterwarnings("ignore::prs.errors.CalibrationWarning")


@pytest.fixture
def cohort(tmp_path):
    """Scores of 800 people; outcomes for a shuffled subset plus strangers; predicted risks
    for a further subset."""
    rng = np.random.default_rng(7)
    n = 800
    z = rng.normal(size=n)
    age = rng.uniform(40, 70, n)
    risk = special.expit(-2.5 + 0.03 * (age - 55) + np.log(1.6) * z)
    y = (rng.random(n) < risk).astype(int)
    ids = np.array([f"C{i:05d}" for i in range(n)])
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000004": z}, prefix="C")
    keep = rng.permutation(n)[:700]  # 100 scored people have no outcome
    outcomes = pd.DataFrame(
        {
            "sample_id": np.concatenate([ids[keep], ["X1", "X2"]]),  # 2 not scored
            "outcome": np.concatenate([y[keep], [1, 0]]),
            "age": np.concatenate([age[keep], [50.0, 60.0]]),
            "time": np.concatenate([rng.uniform(1, 10, keep.size), [3.0, 4.0]]),
        }
    )
    outcomes.to_csv(tmp_path / "outcomes.tsv", sep="\t", index=False)
    pred_rows = rng.permutation(n)[:650]
    pd.DataFrame({"sample_id": ids[pred_rows], "risk_10y": risk[pred_rows]}).to_csv(
        tmp_path / "pred.tsv", sep="\t", index=False
    )
    return {
        "dir": tmp_path,
        "scores": scores,
        "outcomes": tmp_path / "outcomes.tsv",
        "predicted": tmp_path / "pred.tsv",
        "ids": ids,
        "z": z,
        "y": y,
        "age": age,
        "risk": risk,
        "keep": keep,
        "pred_rows": pred_rows,
        "outcome_table": outcomes,
    }


def _cli(cohort, *extra: str) -> tuple[int, dict, str]:
    out = cohort["dir"] / "cli_metrics.json"
    code = prs.cli.main(
        [
            "evaluate",
            "--scores",
            str(cohort["scores"]),
            "--outcomes",
            str(cohort["outcomes"]),
            "--out",
            str(out),
            *extra,
        ]
    )
    return code, json.loads(out.read_text()) if out.exists() else {}, str(out)


def _as_written(doc: dict, path) -> dict:
    """``doc`` as the JSON writer writes it (numpy scalars, NaN), read back."""
    write_json(doc, path)
    return json.loads(path.read_text())


def test_evaluate_tables_is_what_the_cli_writes_and_prints(cohort, capsys):
    tmp = cohort["dir"]
    code, cli_doc, _ = _cli(
        cohort,
        "--covariates",
        "age",
        "--time-column",
        "time",
        "--predicted",
        str(cohort["predicted"]),
        "--predictions",
        "fitted",
        "--groups",
        "8",
        "--table",
        str(tmp / "cli_table.tsv"),
    )
    assert code == 0
    printed = capsys.readouterr().out
    result = evaluate_tables(
        cohort["scores"],
        cohort["outcomes"],
        covariates=["age"],
        time_column="time",
        predicted=cohort["predicted"],
        predictions="fitted",
        groups=8,
    )
    assert isinstance(result, TableEvaluation)
    assert _as_written(result.to_dict(), tmp / "lib.json") == cli_doc
    assert cli_doc["inputs"]["covariates"] == ["age"]
    assert cli_doc["inputs"]["predicted"] == str(cohort["predicted"])
    assert result.calibration_table is not None
    write_table(result.calibration_table, tmp / "lib_table.tsv")
    assert (tmp / "lib_table.tsv").read_bytes() == (tmp / "cli_table.tsv").read_bytes()
    assert result.describe() in printed
    assert result.summary().to_string(index=False) in printed


def test_evaluate_tables_without_predicted_risks_matches_the_cli(cohort, capsys):
    code, cli_doc, _ = _cli(cohort)
    assert code == 0
    result = evaluate_tables(cohort["scores"], cohort["outcomes"])
    assert _as_written(result.to_dict(), cohort["dir"] / "lib.json") == cli_doc
    assert result.calibration_table is None
    assert cli_doc["inputs"]["predicted"] is None and cli_doc["inputs"]["risk_column"] is None
    assert result.describe() in capsys.readouterr().out


def test_the_join_keeps_samples_in_every_table_in_score_order(cohort):
    joined = join_evaluation_tables(
        cohort["scores"],
        cohort["outcomes"],
        covariates=["age"],
        predicted=cohort["predicted"],
    )
    assert isinstance(joined, EvaluationTables)
    both = np.intersect1d(cohort["keep"], cohort["pred_rows"])  # sorted = score order
    assert joined.cohort["sample_id"].tolist() == cohort["ids"][both].tolist()
    np.testing.assert_array_equal(joined.cohort["score_value"], cohort["z"][both])
    np.testing.assert_array_equal(joined.cohort["outcome"], cohort["y"][both])
    np.testing.assert_array_equal(joined.cohort["age"], cohort["age"][both])
    np.testing.assert_allclose(joined.cohort["predicted_risk"], cohort["risk"][both], rtol=1e-15)
    assert joined.describe().startswith(f"{both.size} samples in scores and outcomes; read ")
    # the metrics are evaluate_cohort's on the joined arrays, built here independently
    direct = evaluate_cohort(
        cohort["z"][both],
        cohort["y"][both],
        covariates=cohort["age"][both][:, None],
        predicted_risk=cohort["risk"][both],
    )
    assert joined.evaluate().to_dict() | {"inputs": None} == direct.to_dict() | {"inputs": None}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.assign(outcome=t["outcome"] + 1), "coded 1/2"),
        (lambda t: t.assign(outcome=t["outcome"] * 3), "recode as 0 (no event) / 1 (event)"),
        (lambda t: t.assign(age="old"), "age"),
        (lambda t: t.drop(columns="time"), "time"),
        (lambda t: t.assign(sample_id="Z" + t["sample_id"]), "no sample is in both"),
    ],
)
def test_bad_outcome_tables_fail_as_in_the_cli(cohort, capsys, change, message):
    change(cohort["outcome_table"]).to_csv(cohort["outcomes"], sep="\t", index=False)
    with pytest.raises(CalibrationError) as caught:
        evaluate_tables(
            cohort["scores"], cohort["outcomes"], covariates=["age"], time_column="time"
        )
    assert message in str(caught.value)
    code, _, _ = _cli(cohort, "--covariates", "age", "--time-column", "time")
    assert code == EXIT_CODES[CalibrationError]
    assert str(caught.value) in capsys.readouterr().err


@pytest.mark.parametrize(
    ("risks", "message"),
    [
        (lambda r: r * 100, "not a probability strictly between 0 and 1"),
        (lambda r: np.where(np.arange(r.size) == 3, np.nan, r), "samples have no risk_10y"),
    ],
)
def test_bad_predicted_risks_fail_as_in_the_cli(cohort, capsys, risks, message):
    ids = cohort["ids"][cohort["pred_rows"]]
    pd.DataFrame({"sample_id": ids, "risk_10y": risks(cohort["risk"][cohort["pred_rows"]])}).to_csv(
        cohort["predicted"], sep="\t", index=False, na_rep="NA"
    )
    with pytest.raises(CalibrationError) as caught:
        evaluate_tables(cohort["scores"], cohort["outcomes"], predicted=cohort["predicted"])
    assert message in str(caught.value)
    code, _, _ = _cli(cohort, "--predicted", str(cohort["predicted"]))
    assert code == EXIT_CODES[CalibrationError]
    assert str(caught.value) in capsys.readouterr().err
