"""`prs calibrate` and `prs categorise` (prs.cli.calibrate) through prs.cli.main."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import fit_absolute_risk_model, load_reference
from prs.errors import EXIT_CODES, CalibrationError
from tests.builders import shared_file, write_scores

pytestmark = pytest.mark.filterwarnings("ignore::prs.calibrate.reference.CalibrationWarning")


@pytest.fixture
def run(monkeypatch):
    return prs.cli.main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(12)
    reference = write_scores(
        tmp_path / "reference_scores.tsv",
        {"PGS000004": rng.normal(size=1500), "PGS000005": rng.normal(size=1500)},
        prefix="R",
    )
    target = write_scores(tmp_path / "scores.tsv", {"PGS000004": rng.normal(size=40)}, prefix="T")
    ages = tmp_path / "ages.tsv"
    pd.DataFrame(
        {"sample_id": [f"T{i:05d}" for i in range(40)], "age": np.linspace(40, 49, 40)}
    ).to_csv(ages, sep="\t", index=False)
    return tmp_path, reference, target, ages


def test_calibrate_then_categorise(run, files, capsys):
    tmp, reference, target, ages = files
    assert (
        run(
            [
                "calibrate",
                "--scores",
                str(reference),
                "--score",
                "PGS000004",
                "--out",
                str(tmp / "reference.json"),
            ]
        )
        == 0
    )
    ref = load_reference(tmp / "reference.json")
    assert ref.n == 1500 and ref.score_id == "PGS000004"
    out = tmp / "categories.tsv"
    code = run(
        [
            "categorise",
            "--scores",
            str(target),
            "--reference",
            str(tmp / "reference.json"),
            "--scheme",
            "nice-cg164-10year-age40-49",
            "--or-per-sd",
            "1.61",
            "--age-file",
            str(ages),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    frame = pd.read_csv(out, sep="\t")
    assert len(frame) == 40
    assert frame["category"].notna().all()
    # the scheme's measure is NICE's risk (percent) between ages 40 and 50, whatever the
    # current age (issue 11 item 2; it was the 10 years from each current age)
    model = fit_absolute_risk_model(or_per_sd=1.61)
    b = math.log(1.61)
    expected = 100 * model.risk(b * frame["z"] - b * b / 2, age_start=40, years=10)
    np.testing.assert_allclose(frame["scheme_measure"], expected, rtol=1e-12)
    inputs = json.loads((tmp / "categories.inputs.json").read_text())
    assert inputs["scheme"] == "nice-cg164-10year-age40-49"
    assert inputs["or_per_sd"] == 1.61
    assert "40 samples" in capsys.readouterr().out


def test_categorise_without_reference_warns_and_strict_fails(run, files, capsys):
    tmp, _, target, _ = files
    out = tmp / "c.tsv"
    assert (
        run(["categorise", "--scores", str(target), "--scheme", "top-5-percent", "--out", str(out)])
        == 0
    )
    assert out.exists()
    assert (
        run(
            [
                "--strict",
                "categorise",
                "--scores",
                str(target),
                "--scheme",
                "top-5-percent",
                "--out",
                str(tmp / "d.tsv"),
            ]
        )
        == 2
    )
    assert "self-referential" in capsys.readouterr().err


def test_errors_map_to_the_calibration_exit_code(run, files, capsys):
    tmp, reference, target, _ = files
    code = run(["calibrate", "--scores", str(reference), "--out", str(tmp / "r.json")])
    assert code == EXIT_CODES[CalibrationError]
    assert "holds 2 scores" in capsys.readouterr().err
    code = run(
        [
            "categorise",
            "--scores",
            str(target),
            "--or-per-sd",
            "1.6",
            "--scheme",
            "nice-cg164-10year-age40-49",
            "--out",
            str(tmp / "x.tsv"),
        ]
    )
    assert code == EXIT_CODES[CalibrationError]
    assert "current age" in capsys.readouterr().err
    assert not (tmp / "x.tsv").exists()


def test_calibrate_from_published_parameters_and_megsap(run, tmp_path):
    assert (
        run(
            [
                "calibrate",
                "--mean",
                "0.1",
                "--sd",
                "0.6",
                "--score",
                "PGS000004",
                "--out",
                str(tmp_path / "p.json"),
            ]
        )
        == 0
    )
    assert load_reference(tmp_path / "p.json").kind == "parametric"
    vcf = shared_file("scorefiles", "megsap", "PGS000004_GRCh38.vcf")
    assert run(["calibrate", "--from-megsap", str(vcf), "--out", str(tmp_path / "m.json")]) == 0
    assert load_reference(tmp_path / "m.json").n == 6930


def test_group_references_from_the_cli(run, files):
    tmp, reference, target, _ = files
    groups = tmp / "groups.tsv"
    pd.DataFrame(
        {"sample_id": [f"R{i:05d}" for i in range(1500)], "ancestry": ["EUR", "AFR"] * 750}
    ).to_csv(groups, sep="\t", index=False)
    assert (
        run(
            [
                "calibrate",
                "--scores",
                str(reference),
                "--score",
                "PGS000004",
                "--groups",
                str(groups),
                "--group-column",
                "ancestry",
                "--out",
                str(tmp / "g.json"),
            ]
        )
        == 0
    )
    target_groups = tmp / "target_groups.tsv"
    pd.DataFrame({"sample_id": [f"T{i:05d}" for i in range(40)], "group": ["AFR"] * 40}).to_csv(
        target_groups, sep="\t", index=False
    )
    assert (
        run(
            [
                "categorise",
                "--scores",
                str(target),
                "--reference",
                str(tmp / "g.json"),
                "--groups",
                str(target_groups),
                "--scheme",
                "top-5-percent",
                "--out",
                str(tmp / "g.tsv"),
            ]
        )
        == 0
    )
    assert (pd.read_csv(tmp / "g.tsv", sep="\t")["group"] == "AFR").all()


def test_list_shows_shipped_data(run, capsys):
    assert run(["categorise", "--list"]) == 0
    text = capsys.readouterr().out
    for name in ("nice-cg164-lifetime", "prostate-barcode1", "us-seer-female-breast-incidence"):
        assert name in text


def test_evaluate_on_a_cohort_with_outcomes(run, tmp_path, capsys):
    from scipy import special

    from prs.calibrate import calibration, odds_ratio_per_sd

    rng = np.random.default_rng(21)
    n = 6000
    z = rng.normal(size=n)
    age = rng.uniform(40, 70, n)
    risk = special.expit(-4 + 0.03 * (age - 55) + np.log(1.7) * z)
    y = (rng.random(n) < risk).astype(int)
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000004": z}, prefix="C")
    ids = [f"C{i:05d}" for i in range(n)]
    pd.DataFrame(
        {"sample_id": ids, "outcome": y, "age": age, "time": rng.uniform(1, 10, n)}
    ).to_csv(tmp_path / "outcomes.tsv", sep="\t", index=False)
    pd.DataFrame({"sample_id": ids, "risk_10y": risk}).to_csv(
        tmp_path / "pred.tsv", sep="\t", index=False
    )
    code = run(
        [
            "evaluate",
            "--scores",
            str(scores),
            "--outcomes",
            str(tmp_path / "outcomes.tsv"),
            "--covariates",
            "age",
            "--time-column",
            "time",
            "--predicted",
            str(tmp_path / "pred.tsv"),
            "--out",
            str(tmp_path / "metrics.json"),
            "--table",
            str(tmp_path / "deciles.tsv"),
        ]
    )
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    direct = odds_ratio_per_sd(z, y, covariates=age[:, None])
    assert metrics["or_per_sd"]["estimate"] == pytest.approx(direct.estimate)
    assert abs(math.log(direct.estimate) - math.log(1.7)) < 3 * direct.se
    calib = calibration(risk, y)
    assert metrics["calibration"]["eo_ratio"]["estimate"] == pytest.approx(risk.sum() / y.sum())
    assert metrics["calibration"]["calibration_slope"]["estimate"] == pytest.approx(
        calib.calibration_slope.estimate
    )
    assert 0.4 < metrics["c_index"] < 0.8
    deciles = pd.read_csv(tmp_path / "deciles.tsv", sep="\t")
    assert deciles["n"].sum() == n and deciles["observed"].sum() == y.sum()
    assert "E/O ratio" in capsys.readouterr().out
    external = metrics["calibration"]
    assert external["hl_predictions"] == "external"
    assert external["hl_df"] == external["hl_groups"]
    # --predictions fitted: risks fitted on this cohort take df = groups - 2
    code = run(
        [
            "evaluate",
            "--scores",
            str(scores),
            "--outcomes",
            str(tmp_path / "outcomes.tsv"),
            "--predicted",
            str(tmp_path / "pred.tsv"),
            "--predictions",
            "fitted",
            "--out",
            str(tmp_path / "fitted.json"),
        ]
    )
    assert code == 0
    fitted = json.loads((tmp_path / "fitted.json").read_text())["calibration"]
    assert fitted["hl_predictions"] == "fitted"
    assert fitted["hl_df"] == fitted["hl_groups"] - 2
    assert fitted["hosmer_lemeshow"] == pytest.approx(external["hosmer_lemeshow"])
    assert fitted["hl_p_value"] < external["hl_p_value"]
    pd.DataFrame({"sample_id": ids, "outcome": y + 1}).to_csv(
        tmp_path / "coded12.tsv", sep="\t", index=False
    )
    code = run(
        [
            "evaluate",
            "--scores",
            str(scores),
            "--outcomes",
            str(tmp_path / "coded12.tsv"),
            "--out",
            str(tmp_path / "m2.json"),
        ]
    )
    assert code == EXIT_CODES[CalibrationError]
    assert "coded 1/2" in capsys.readouterr().err


def test_evaluate_with_a_missing_predicted_file_is_a_named_error(run, tmp_path, capsys):
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000004": np.arange(10.0)}, prefix="C")
    pd.DataFrame({"sample_id": [f"C{i:05d}" for i in range(10)], "outcome": [0, 1] * 5}).to_csv(
        tmp_path / "outcomes.tsv", sep="\t", index=False
    )
    code = run(
        [
            "evaluate",
            "--scores",
            str(scores),
            "--outcomes",
            str(tmp_path / "outcomes.tsv"),
            "--predicted",
            str(tmp_path / "absent.tsv"),
            "--out",
            str(tmp_path / "metrics.json"),
        ]
    )
    assert code == 8  # CalibrationError, not a traceback
    assert "absent.tsv: predicted risks file not found" in capsys.readouterr().err
    assert not (tmp_path / "metrics.json").exists()


def test_categorise_with_pcs_uses_the_most_similar_populations_reference(run, tmp_path):
    """prs calibrate --population-labels builds one reference per population (related
    samples out); prs categorise --target-pcs places each person in their most similar
    population's reference and names it in every row; a person far from the panel is
    declined with the reason."""
    rng = np.random.default_rng(8)
    rows, scores = [], []
    for pop, centre, mean in (("AAA", 0.0, 0.0), ("BBB", 10.0, 3.0)):
        for i in range(300):
            sid = f"{pop}{i:03d}"
            rows.append((sid, pop, centre + rng.normal(), rng.normal(), rng.normal()))
            scores.append((sid, "PGS000004", mean + rng.normal()))
    pcs = pd.DataFrame(rows, columns=["IID", "SuperPop", "PC1", "PC2", "PC3"])
    pcs[["IID", "PC1", "PC2", "PC3"]].to_csv(tmp_path / "ref.pcs", sep="\t", index=False)
    pcs.assign(Population=pcs["SuperPop"])[["IID", "SuperPop", "Population"]].rename(
        columns={"IID": "#IID"}
    ).to_csv(tmp_path / "ref.psam", sep="\t", index=False)
    ref_scores = pd.DataFrame(scores, columns=["sample_id", "score", "SUM"])
    ref_scores.to_csv(tmp_path / "ref_scores.tsv", sep="\t", index=False)
    (tmp_path / "related.id").write_text("#IID\nBBB000\nBBB001\n")
    target_pcs = pd.DataFrame(
        {"IID": ["near_a", "near_b", "far"], "PC1": [0.2, 9.8, 80.0], "PC2": 0.0, "PC3": 0.0}
    )
    target_pcs.to_csv(tmp_path / "target.pcs", sep="\t", index=False)
    pd.DataFrame(
        {"sample_id": ["near_a", "near_b", "far"], "score": "PGS000004", "SUM": [0.5, 3.5, 1.0]}
    ).to_csv(tmp_path / "scores.tsv", sep="\t", index=False)
    common = ["--population-labels", str(tmp_path / "ref.psam")]
    calibrate = ["calibrate", "--scores", str(tmp_path / "ref_scores.tsv"), "--out"]
    calibrate += [str(tmp_path / "ref.json"), "--exclude", str(tmp_path / "related.id")]
    assert run([*calibrate, *common]) == 0
    assert load_reference(tmp_path / "ref.json", group="BBB").n == 298
    out = tmp_path / "c.tsv"
    args = ["categorise", "--scores", str(tmp_path / "scores.tsv"), "--reference"]
    args += [str(tmp_path / "ref.json"), "--scheme", "top-5-percent", "--out", str(out)]
    args += ["--target-pcs", str(tmp_path / "target.pcs"), "--reference-pcs"]
    args += [str(tmp_path / "ref.pcs"), "--related", str(tmp_path / "related.id")]
    args += ["--population-pcs", "3", *common]
    assert run(args) == 0
    frame = pd.read_csv(out, sep="\t").set_index("sample_id")
    assert frame["population"].tolist() == ["AAA", "BBB", "BBB"]
    assert frame.loc["near_b", "population_reference"] == "PGS000004:SUM [BBB] (n=298)"
    b = np.sort(ref_scores.loc[ref_scores["sample_id"].str.startswith("BBB"), "SUM"][2:])
    assert frame.loc["near_b", "percentile"] == pytest.approx(100 * (b < 3.5).mean())
    a = ref_scores.loc[ref_scores["sample_id"].str.startswith("AAA"), "SUM"].to_numpy()
    assert frame.loc["near_a", "percentile"] == pytest.approx(100 * (a < 0.5).mean())
    assert frame.loc[["near_a", "near_b"], "population_supported"].all()
    assert not frame.loc["far", "population_supported"]
    assert math.isnan(frame.loc["far", "percentile"])
    assert frame.loc["far", "category_note"].startswith("outside the reference's support")
    assert frame.loc["far", "population_support_reason"] == frame.loc["far", "category_note"]
    assert frame["population_probability"].between(0, 1).all()
    assert frame.loc["far", "projection_distance"] > frame.loc["near_b", "projection_distance"]
    inputs = json.loads((tmp_path / "c.inputs.json").read_text())
    assert inputs["population_similarity"]["n_related_dropped"] == 2
    # the support rule off: the far person is placed (in BBB's reference)
    assert run([*args, "--support-max-knn-ratio", "0"]) == 0
    assert pd.read_csv(out, sep="\t")["population_supported"].all()
    # PCs without the labels: refused
    code = run(args[:-2])
    assert code == EXIT_CODES[CalibrationError]
