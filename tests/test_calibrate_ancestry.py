"""PC-adjusted (ancestry-aware) z-scores (prs.calibrate.ancestry) on the pgsc_calc test data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import prs.cli
from prs.calibrate import (
    categorise,
    fit_ancestry_adjustment,
    load_ancestry_adjustment,
    read_pcs,
    reference_from_parameters,
    save_reference,
)
from prs.errors import CalibrationError
from tests.builders import shared_file


@pytest.fixture(scope="module")
def panel():
    agg = pd.read_csv(
        shared_file("expected", "pygscatalog-ancestry", "aggregated_scores.txt"), sep="\t"
    )

    def table(frame):
        return pd.DataFrame(
            {"sample_id": frame["IID"].astype(str), "score": "PGS001229", "SUM": frame["SUM"]}
        )

    ref_pcs = read_pcs(shared_file("expected", "pygscatalog-ancestry", "ref.pcs"))
    reference = table(agg[agg["sampleset"] == "reference"])
    reference = reference[reference["sample_id"].isin(ref_pcs["IID"])]
    psam = pd.read_csv(shared_file("expected", "pygscatalog-ancestry", "ref.psam"), sep="\t")
    return {
        "reference": reference,
        "target": table(agg[agg["sampleset"] == "hgdp"]),
        "ref_pcs": ref_pcs,
        "target_pcs": read_pcs(shared_file("expected", "pygscatalog-ancestry", "target.pcs")),
        "superpop": psam.set_index("#IID")["SuperPop"].reindex(reference["sample_id"]).to_numpy(),
    }


def test_mean_model_is_least_squares_and_variance_model_is_the_gamma_mle(panel):
    adj = fit_ancestry_adjustment(panel["reference"], panel["ref_pcs"], n_pcs=4)
    pcs = panel["ref_pcs"].set_index("IID").loc[panel["reference"]["sample_id"], adj.pcs]
    design = np.column_stack([np.ones(len(pcs)), pcs.to_numpy()])
    y = panel["reference"]["SUM"].to_numpy()
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(adj.mean_coefficients, coef, rtol=1e-8, atol=1e-10)
    squared = (y - design @ coef) ** 2

    def gamma_deviance(gamma):  # Gamma log-likelihood in the mean, up to the shape
        eta = design @ gamma
        return np.sum(squared * np.exp(-eta) + eta)

    fit = optimize.minimize(
        gamma_deviance,
        np.r_[np.log(squared.mean()), np.zeros(4)],
        method="BFGS",
        options={"gtol": 1e-8},
    )
    np.testing.assert_allclose(adj.variance_coefficients, fit.x, rtol=1e-3, atol=1e-5)


def test_adjusted_z_is_centred_and_scaled_within_every_superpopulation(panel):
    adj = fit_ancestry_adjustment(panel["reference"], panel["ref_pcs"])
    raw = panel["reference"]["SUM"].to_numpy()
    raw_z = (raw - raw.mean()) / raw.std(ddof=1)
    z2 = adj.z(panel["reference"], panel["ref_pcs"])
    frame = pd.DataFrame({"pop": panel["superpop"], "raw": raw_z, "z2": z2})
    by_pop = frame.groupby("pop").agg(["mean", "std"])
    assert by_pop[("raw", "mean")].max() - by_pop[("raw", "mean")].min() > 1.0
    assert by_pop[("z2", "mean")].abs().max() < 0.25
    assert by_pop[("z2", "std")].between(0.9, 1.1).all()
    # HGDP targets (other populations, projected PCs) come out near standard normal too
    zt = adj.z(panel["target"], panel["target_pcs"])
    assert abs(zt.mean()) < 0.3 and 0.8 < zt.std() < 1.3


def test_categorise_and_cli_use_the_stored_adjustment(panel, tmp_path, monkeypatch):
    adj = fit_ancestry_adjustment(panel["reference"], panel["ref_pcs"])
    path = save_reference(
        reference_from_parameters(0.0, 1.0, score_id="PGS001229"), tmp_path / "r.json", ancestry=adj
    )
    back = load_ancestry_adjustment(path)
    np.testing.assert_array_equal(back.mean_coefficients, adj.mean_coefficients)
    out = categorise(
        panel["target"],
        reference=path,
        pcs=panel["target_pcs"],
        scheme="top-5-percent",
        ancestry_method="mean",
    )
    expected = adj.z(panel["target"], panel["target_pcs"], method="mean")
    np.testing.assert_allclose(out.z, expected)
    assert np.all(out.category[out.percentile >= 95] == "top-5-percent")
    with pytest.raises(CalibrationError, match="no ancestry adjustment"):
        categorise(
            panel["target"],
            reference=reference_from_parameters(0, 1),
            pcs=panel["target_pcs"],
            scheme="top-5-percent",
        )
    missing = panel["target_pcs"].iloc[5:]
    with pytest.raises(CalibrationError, match="5 samples have no"):
        adj.z(panel["target"], missing)
    # the same through the command line
    scores = tmp_path / "ref_scores.tsv"
    panel["reference"].to_csv(scores, sep="\t", index=False)
    target = tmp_path / "scores.tsv"
    panel["target"].to_csv(target, sep="\t", index=False)
    ref_pcs = shared_file("expected", "pygscatalog-ancestry", "ref.pcs")
    target_pcs = shared_file("expected", "pygscatalog-ancestry", "target.pcs")
    assert (
        prs.cli.main(
            [
                "calibrate",
                "--scores",
                str(scores),
                "--pcs",
                str(ref_pcs),
                "--out",
                str(tmp_path / "ref.json"),
            ]
        )
        == 0
    )
    assert (
        prs.cli.main(
            [
                "categorise",
                "--scores",
                str(target),
                "--reference",
                str(tmp_path / "ref.json"),
                "--pcs",
                str(target_pcs),
                "--scheme",
                "top-5-percent",
                "--out",
                str(tmp_path / "c.tsv"),
            ]
        )
        == 0
    )
    frame = pd.read_csv(tmp_path / "c.tsv", sep="\t")
    np.testing.assert_allclose(frame["z"], adj.z(panel["target"], panel["target_pcs"]), rtol=1e-9)
