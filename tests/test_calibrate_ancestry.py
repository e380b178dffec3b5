"""PC-adjusted (ancestry-aware) z-scores (prs.calibrate.ancestry) on the pgsc_calc test data."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import prs.cli
from prs.ancestry.similarity import fit_population_model
from prs.calibrate import (
    build_references,
    categorise,
    fit_ancestry_adjustment,
    load_ancestry_adjustment,
    read_pcs,
    reference_from_parameters,
    save_reference,
)
from prs.calibrate._inputs import read_id_list
from prs.calibrate.ancestry import population_z_percentile
from prs.errors import CalibrationError, CalibrationWarning
from tests.builders import shared_file
from tests.conftest import SHARED_DATA


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


def test_mean_model_is_least_squares_and_two_step_variance_model_is_the_gamma_mle(panel):
    adj = fit_ancestry_adjustment(
        panel["reference"], panel["ref_pcs"], n_pcs=4, variance_fit="two-step"
    )
    assert adj.variance_mean_coefficients is None
    pcs = panel["ref_pcs"].set_index("IID").loc[panel["reference"]["sample_id"], adj.pcs]
    design = np.column_stack([np.ones(len(pcs)), pcs.to_numpy()])
    y = panel["reference"]["SUM"].to_numpy()
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(adj.mean_coefficients, coef, rtol=1e-8, atol=1e-10)
    squared = (y - design @ coef) ** 2
    assert adj.residual_sd == pytest.approx(np.sqrt(squared.mean()), rel=1e-12)  # ddof=0

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


def test_joint_fit_is_a_maximum_of_the_normal_likelihood(panel):
    """The joint mean/variance fit (Z_norm2) maximises sum log N(y; a + bX, exp(c + dX)),
    written here with scipy.stats.norm: every coordinate step of 1e-4 SD lowers it."""
    adj = fit_ancestry_adjustment(panel["reference"], panel["ref_pcs"], n_pcs=4)
    pcs = panel["ref_pcs"].set_index("IID").loc[panel["reference"]["sample_id"], adj.pcs]
    design = np.column_stack([np.ones(len(pcs)), pcs.to_numpy()])
    y = panel["reference"]["SUM"].to_numpy()

    def loglik(theta):
        mean, log_var = design @ theta[:5], design @ theta[5:]
        return stats.norm.logpdf(y, mean, np.sqrt(np.exp(log_var))).sum()

    theta = np.r_[adj.variance_mean_coefficients, adj.variance_coefficients]
    best = loglik(theta)
    step = 1e-4 / np.r_[1.0, design[:, 1:].std(axis=0), 1.0, design[:, 1:].std(axis=0)]
    for i in range(theta.size):
        for sign in (-1, 1):
            moved = theta.copy()
            moved[i] += sign * step[i]
            assert loglik(moved) < best
    # and it differs from the two-step fit (else the test above would not tell them apart)
    assert not np.allclose(adj.variance_mean_coefficients, adj.mean_coefficients, rtol=1e-4)


@pytest.fixture(scope="module")
def calc():
    """pgscatalog-calc 0.3.1's inputs and its stored outputs (SOURCES.md)."""
    inputs = SHARED_DATA / "pygscatalog" / "ancestry"
    expected = SHARED_DATA / "expected" / "pgscatalog-calc-ancestry"
    if not (inputs / "ref.pcs").is_file() or not (expected / "hgdp_pgs.txt.gz").is_file():
        pytest.skip(f"pgsc_calc ancestry data absent ({inputs}, {expected})")
    agg = pd.read_csv(inputs / "aggregated_scores.txt", sep="\t", dtype={"IID": str})
    psam = pd.read_csv(inputs / "ref.psam", sep="\t").rename(columns={"#IID": "IID"})
    return {
        "inputs": inputs,
        "expected": expected,
        "ref_pcs": read_pcs(inputs / "ref.pcs"),
        "target_pcs": read_pcs(inputs / "target.pcs"),
        "labels": psam.set_index("IID")["SuperPop"],
        "related": read_id_list(inputs / "ref.king.cutoff.id"),
        "reference": _long(agg[agg["sampleset"] == "reference"]),
        "target": _long(agg[agg["sampleset"] == "hgdp"]),
    }


def _long(frame):
    return pd.DataFrame({"sample_id": frame["IID"], "score": "PGS001229", "SUM": frame["SUM"]})


def _prs_outputs(calc, *, n_popcomp, n_norm):
    """prs's Z_norm1, Z_norm2, MostSimilarPop, percentile and Z for targets and reference."""
    reference = calc["reference"][calc["reference"]["sample_id"].isin(calc["ref_pcs"]["IID"])]
    adj = fit_ancestry_adjustment(reference, calc["ref_pcs"], n_pcs=n_norm, exclude=calc["related"])
    model = fit_population_model(
        calc["ref_pcs"], calc["labels"], n_pcs=n_popcomp, related=calc["related"]
    )
    out = {}
    for name, scores, pcs in (
        ("hgdp", calc["target"], calc["target_pcs"]),
        ("reference", reference, calc["ref_pcs"]),
    ):
        similarity = model.assign(pcs)
        # pgsc_calc places reference samples in their own population, targets in the assigned
        populations = similarity if name == "hgdp" else calc["labels"].reindex(scores["sample_id"])
        placed = population_z_percentile(
            scores, populations, reference, calc["labels"], exclude=calc["related"]
        ).to_frame()
        placed["Z_norm1"] = adj.z(scores, pcs, method="mean")
        placed["Z_norm2"] = adj.z(scores, pcs, method="mean+variance")
        assigned = similarity.to_frame().set_index("sample_id")["MostSimilarPop"]
        placed["assigned"] = assigned.reindex(placed["sample_id"]).to_numpy()
        out[name] = placed.set_index("sample_id")
    return out


def _compare(ours, pgs, popsim):
    for sampleset, frame in ours.items():
        theirs = pgs[pgs["sampleset"] == sampleset].set_index("IID").loc[frame.index]
        for column in ("Z_norm1", "Z_norm2"):
            np.testing.assert_allclose(frame[column], theirs[column], rtol=0, atol=1e-6)
        assigned = popsim[popsim["sampleset"] == sampleset].set_index("IID").loc[frame.index]
        same = frame["assigned"].to_numpy() == assigned["MostSimilarPop"].to_numpy()
        assert same.mean() >= 0.99, f"{sampleset}: {same.mean():.4f} agree"
        # percentile and Z in the population: wherever the population agrees
        for column in ("percentile_MostSimilarPop", "Z_MostSimilarPop"):
            np.testing.assert_allclose(
                frame[column][same], theirs[column][same], rtol=1e-9, atol=1e-9
            )


def test_z_norm_and_most_similar_population_agree_with_pgscatalog_calc(calc):
    """The stored outputs of pgscatalog-calc 0.3.1 (--n_popcomp 5 --n_normalization 4):
    Z_norm1 and Z_norm2 within 1e-6, MostSimilarPop for >= 99 % (all 929 + 2,575 here),
    percentile_MostSimilarPop and Z_MostSimilarPop within 1e-9."""
    pgs = pd.read_csv(calc["expected"] / "hgdp_pgs.txt.gz", sep="\t", dtype={"IID": str})
    popsim = pd.read_csv(
        calc["expected"] / "hgdp_popsimilarity.txt.gz", sep="\t", dtype={"IID": str}
    )
    ours = _prs_outputs(calc, n_popcomp=5, n_norm=4)
    assert len(ours["hgdp"]) == 929 and len(ours["reference"]) == 2575
    _compare(ours, pgs, popsim)


def test_other_settings_agree_with_pgscatalog_calc_run_here(calc, tmp_path):
    """pgscatalog-calc itself, run on the same inputs with --n_popcomp 3 --n_normalization 6
    (a test-only tool: the executable on PATH or $PGSCATALOG_ANCESTRY_ADJUST; its numpy<2 pin
    keeps it out of prs's environment)."""
    exe = os.environ.get("PGSCATALOG_ANCESTRY_ADJUST") or shutil.which("pgscatalog-ancestry-adjust")
    if not exe:
        pytest.skip("pgscatalog-ancestry-adjust (pip install pgscatalog-calc) not found")
    inputs = calc["inputs"]
    command = [
        exe, "-d", "hgdp", "-r", "reference", "--psam", str(inputs / "ref.psam"),
        "-s", str(inputs / "aggregated_scores.txt"), "--ref_pcs", str(inputs / "ref.pcs"),
        "--target_pcs", str(inputs / "target.pcs"), "-x", str(inputs / "ref.king.cutoff.id"),
        "-p", "SuperPop", "--n_popcomp", "3", "-n", "empirical", "mean", "mean+var",
        "--n_normalization", "6", "--outdir", str(tmp_path),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    pgs = pd.read_csv(tmp_path / "hgdp_pgs.txt.gz", sep="\t", dtype={"IID": str})
    popsim = pd.read_csv(tmp_path / "hgdp_popsimilarity.txt.gz", sep="\t", dtype={"IID": str})
    ours = _prs_outputs(calc, n_popcomp=3, n_norm=6)
    _compare(ours, pgs, popsim)


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


def test_categorise_places_each_person_in_their_most_similar_population(calc):
    """Each row names the population, the reference used, the RF probability and the
    distances; the percentile is the empirical one in that population's reference scores
    (counted here with numpy); people outside the support get none, with the reason."""
    reference = calc["reference"][calc["reference"]["sample_id"].isin(calc["ref_pcs"]["IID"])]
    refs = build_references(reference, calc["labels"])
    similarity = fit_population_model(calc["ref_pcs"], calc["labels"]).assign(calc["target_pcs"])
    with pytest.warns(
        CalibrationWarning, match=r"estimated in European; .* AFR, AMR, EAS, SAS:"
    ) as caught:
        out = categorise(
            calc["target"],
            reference=refs,
            population=similarity,
            scheme="top-5-percent",
            or_per_sd=1.5,
            development_ancestry="European",
        )
    # the warning points at the line that called categorise
    ours = [w for w in caught if "was estimated in European" in str(w.message)]
    assert [w.filename for w in ours] == [__file__]
    frame = out.to_frame().set_index("sample_id")
    sim = similarity.to_frame().set_index("sample_id").loc[frame.index]
    np.testing.assert_array_equal(frame["population"], sim["MostSimilarPop"])
    np.testing.assert_array_equal(frame["group"], sim["MostSimilarPop"])
    np.testing.assert_allclose(frame["projection_distance"], sim["Mahalanobis_dist"])
    pairs = zip(sim.index, sim["MostSimilarPop"], strict=True)
    probability = [sim.loc[i, f"RF_P_{p}"] for i, p in pairs]
    np.testing.assert_allclose(frame["population_probability"], probability)
    assert frame["population_reference"].str.startswith("PGS001229:SUM [").all()
    declined = ~sim["supported"].to_numpy()
    assert 0 < declined.sum() < len(frame)
    assert frame["percentile"][declined].isna().all() and frame["z"][declined].isna().all()
    assert frame["category"][declined].isna().all()
    assert (frame["category_note"][declined] == sim["support_reason"][declined]).all()
    placed = frame[~declined]
    values = reference.set_index("sample_id")["SUM"]
    for pop, rows in placed.groupby("population"):
        ref_values = np.sort(values[calc["labels"].reindex(values.index) == pop].to_numpy())
        below = np.array([(ref_values < v).sum() for v in rows["score"]])
        ties = np.array([(ref_values == v).sum() for v in rows["score"]])
        n = ref_values.size
        expected = np.clip(100.0 * (below + 0.5 * ties) / n, 50.0 / n, 100.0 - 50.0 / n)
        np.testing.assert_allclose(rows["percentile"], expected, rtol=1e-12)
        assert (rows["population_reference"] == f"PGS001229:SUM [{pop}] (n={n})").all()
    assert out.inputs["population_similarity"]["declined"] == int(declined.sum())
    assert out.inputs["population_similarity"]["seed"] == 32
    # without the population nothing changes: no population columns
    plain = categorise(calc["target"], reference=refs["EUR"], scheme="top-5-percent")
    assert "population" not in plain.to_frame().columns
    with pytest.raises(CalibrationError, match="without groups"):
        categorise(
            calc["target"],
            reference=refs,
            population=similarity,
            groups=dict.fromkeys(calc["target"]["sample_id"], "EUR"),
            scheme="top-5-percent",
        )
