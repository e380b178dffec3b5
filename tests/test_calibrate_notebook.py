"""Execute notebooks/calibration_walkthrough.ipynb and check what it reports."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from prs.calibrate import fit_absolute_risk_model, load_scheme

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "calibration_walkthrough.ipynb"


@pytest.fixture(scope="module")
def reported():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no python3 Jupyter kernel installed")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": NOTEBOOK.parent}}
    ).execute()
    lines = {}
    section_4 = False
    for cell in nb.cells:
        section_4 |= cell["source"].startswith("## 4.")
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                key, _, payload = line.partition(" ")
                if key in ("PERSON", "COHORT", "ANCESTRY"):
                    lines[key] = json.loads(payload)
            # section 4 shows its warnings as notes, with what they mean; none on stderr
            assert not (section_4 and output.get("name") == "stderr"), output.get("text")
            if section_4 and "image/png" in output.get("data", {}):
                lines["FIGURES"] = lines.get("FIGURES", 0) + 1
    assert set(lines) == {"PERSON", "COHORT", "ANCESTRY", "FIGURES"}
    return lines


def test_person_walk_is_consistent(reported):
    person = reported["PERSON"]
    b = math.log(1.61)
    # reference: 5000 draws of N(-0.35, 0.63); score 0.9
    assert person["z"] == pytest.approx((0.9 + 0.35) / 0.63, abs=0.1)
    assert person["percentile"] == pytest.approx(100 * stats.norm.cdf(person["z"]), abs=1.5)
    assert person["relative_risk"] == pytest.approx(math.exp(b * person["z"] - b * b / 2))
    model = fit_absolute_risk_model(or_per_sd=1.61)
    log_rr = math.log(person["relative_risk"])
    lifetime = 100 * model.risk(log_rr, age_start=20, years=60)
    assert person["lifetime_percent"] == pytest.approx(float(lifetime))
    scheme = load_scheme("nice-cg164-lifetime")
    assert person["category"] == scheme.assign(np.array([lifetime]))[0]
    assert person["pathway_start"] == (50 if person["category"] == "near-population" else 40)
    # NICE's 10-year column is the risk between 40 and 50, whatever her age (45 here)
    ten = 100 * model.risk(log_rr, age_start=40, years=10)
    assert person["ten_year_percent"] == pytest.approx(float(ten))
    benchmark = model.population_risk(age_start=50, years=10)
    age = person["equivalent_age"]
    assert model.risk(log_rr, age_start=age, years=10) >= benchmark
    assert model.risk(log_rr, age_start=age - 1, years=10) < benchmark


def test_cohort_evaluation_finds_the_planted_miscalibration(reported):
    cohort = reported["COHORT"]
    assert abs(math.log(cohort["or_per_sd"]) - math.log(1.45)) < 3 * cohort["or_se"] + 0.02
    assert (
        abs(cohort["auc"] - stats.norm.cdf(math.log(1.45) / math.sqrt(2)))
        < 3 * cohort["auc_se"] + 0.01
    )
    # outcomes came from 20% higher incidence: the model under-predicts
    assert cohort["eo_ci"][1] < 1
    assert cohort["eo"] == pytest.approx(cohort["expected"] / cohort["observed"])
    assert cohort["eo_after"] == pytest.approx(1.0, abs=1e-6)
    assert cohort["slope"] < 1.0


def test_each_woman_is_placed_in_her_most_similar_population(reported):
    """Section 4: the population found is the one the example simulated, and each woman's
    percentile is her score's mid-rank among that population's reference women (scipy, on
    the panel scored here and its label file)."""
    import warnings

    import pandas as pd

    import prs
    from prs.errors import ScoreWarning
    from prs.example import example_paths

    ancestry = reported["ANCESTRY"]
    assert ancestry["as_simulated"] >= 0.95
    assert reported["FIGURES"] == 1  # the prs.plot distribution, drawn inline
    paths = example_paths()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoreWarning)  # the example's 28 unmatched rows
        panel = prs.score(paths.reference_vcf, paths.scorefile).to_frame()
    labels = pd.read_csv(paths.reference_labels, sep="\t").set_index("IID")["SuperPop"]
    panel["population"] = labels.reindex(panel["sample_id"]).to_numpy()
    simulated = pd.read_csv(paths.populations, sep="\t").set_index("sample_id")["population"]
    assert len(ancestry["women"]) == 5
    for sample_id, population, score, percentile in ancestry["women"]:
        assert population == simulated[sample_id]
        values = panel.loc[panel["population"] == population, "SUM"].to_numpy()
        expected = stats.percentileofscore(values, score, kind="mean")
        assert percentile == pytest.approx(expected, abs=50 / len(values) + 1e-9)
