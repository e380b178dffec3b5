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
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                key, _, payload = line.partition(" ")
                if key in ("PERSON", "COHORT"):
                    lines[key] = json.loads(payload)
    assert set(lines) == {"PERSON", "COHORT"}
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
