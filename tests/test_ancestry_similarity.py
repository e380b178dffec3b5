"""Most similar population (prs.ancestry.similarity): pgsc_calc's outputs on its own test data,
batch independence, the distances against plain-numpy/scipy computations, the support rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import distance as scipy_distance

from prs.ancestry.similarity import (
    SupportRule,
    fit_population_model,
    most_similar_population,
)
from prs.errors import CalibrationError
from tests.conftest import SHARED_DATA

INPUTS = SHARED_DATA / "pygscatalog" / "ancestry"
EXPECTED = SHARED_DATA / "expected" / "pgscatalog-calc-ancestry"


@pytest.fixture(scope="module")
def hgdp():
    if not (INPUTS / "ref.pcs").is_file() or not (EXPECTED / "hgdp_pgs.txt.gz").is_file():
        pytest.skip(f"pgsc_calc ancestry test data absent ({INPUTS}, {EXPECTED})")
    ref = pd.read_csv(INPUTS / "ref.pcs", sep="\t", dtype={"IID": str, "FID": str})
    target = pd.read_csv(INPUTS / "target.pcs", sep="\t", dtype={"IID": str, "FID": str})
    labels = pd.read_csv(INPUTS / "ref.psam", sep="\t").rename(columns={"#IID": "IID"})
    related = [
        line.strip()
        for line in (INPUTS / "ref.king.cutoff.id").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    model = fit_population_model(ref, labels, related=related)
    expected = pd.read_csv(EXPECTED / "hgdp_popsimilarity.txt.gz", sep="\t", dtype={"IID": str})
    return {
        "ref": ref,
        "target": target,
        "labels": labels,
        "related": related,
        "model": model,
        "expected": expected[expected["sampleset"] == "hgdp"].set_index("IID"),
    }


def test_most_similar_population_agrees_with_pgscatalog_calc(hgdp):
    """pgscatalog-calc 0.3.1 on its own test data (SOURCES.md): >= 99 % the same population,
    the same low-confidence flags where they agree, probabilities within 0.05 (they differ only
    if scikit-learn's forest changed between versions)."""
    out = hgdp["model"].assign(hgdp["target"]).to_frame().set_index("sample_id")
    expected = hgdp["expected"].loc[out.index]
    same = out["MostSimilarPop"].to_numpy() == expected["MostSimilarPop"].to_numpy()
    assert same.mean() >= 0.99, f"{same.mean():.4f} of {same.size} agree"
    assert len(out) == 929
    flags = expected["MostSimilarPop_LowConfidence"].astype(str) == "True"
    np.testing.assert_array_equal(out["MostSimilarPop_LowConfidence"][same], flags[same])
    for pop in hgdp["model"].populations:
        diff = np.abs(out[f"RF_P_{pop}"] - expected[f"RF_P_{pop}"])
        assert (diff <= 0.05).mean() >= 0.99, pop
    # none of ref.pcs's samples is in the related list: every one trains
    labels = hgdp["labels"].set_index("IID")["SuperPop"]
    counts = labels.reindex(hgdp["ref"]["IID"]).value_counts().to_dict()
    assert hgdp["model"].n_train == counts


def test_one_at_a_time_batches_and_refits_agree_with_the_joint_run(hgdp):
    """Every one of the 929 targets gets the same population, probabilities and distances
    alone, in batches of 100, and after a fresh fit (pgsc_calc #495)."""
    model, target = hgdp["model"], hgdp["target"]
    joint = model.assign(target).to_frame()
    alone = pd.concat(
        [model.assign(target.iloc[[i]]).to_frame() for i in range(len(target))],
        ignore_index=True,
    )
    batches = pd.concat(
        [model.assign(target.iloc[i : i + 100]).to_frame() for i in range(0, len(target), 100)],
        ignore_index=True,
    )
    shuffled = target.sample(frac=1.0, random_state=3)
    again = most_similar_population(
        hgdp["ref"], hgdp["labels"], shuffled, related=hgdp["related"]
    ).to_frame()
    again = again.set_index("sample_id").loc[joint["sample_id"]].reset_index()
    for other in (alone, batches, again):
        pd.testing.assert_frame_equal(other, joint)


def test_a_different_seed_can_change_probabilities_but_the_same_seed_cannot(hgdp):
    a = most_similar_population(hgdp["ref"], hgdp["labels"], hgdp["target"], seed=7)
    b = most_similar_population(hgdp["ref"], hgdp["labels"], hgdp["target"], seed=7)
    c = hgdp["model"].assign(hgdp["target"])
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    assert not np.array_equal(a.probabilities, c.probabilities)


def _two_clouds(rng, n=60, dims=3):
    rows = []
    for pop, centre in (("A", 0.0), ("B", 8.0)):
        x = rng.normal(size=(n, dims)) * np.linspace(1.0, 0.3, dims)
        x[:, 0] += centre
        rows += [(f"{pop}{i}", f"F{pop}{i}", pop, *row) for i, row in enumerate(x)]
    cols = ["IID", "FID", "pop"] + [f"PC{i + 1}" for i in range(dims)]
    return pd.DataFrame(rows, columns=cols)


def test_distances_equal_scipy_mahalanobis_and_a_brute_force_knn():
    rng = np.random.default_rng(11)
    ref = _two_clouds(rng)
    labels = ref.set_index("IID")["pop"]
    target = pd.DataFrame(
        {"IID": ["t1", "t2", "t3"], "PC1": [0.5, 7.0, 30.0], "PC2": [0.1, -1, 0], "PC3": 0.0}
    )
    out = fit_population_model(ref, labels, n_pcs=3, k=5).assign(target)
    pcs = ["PC1", "PC2", "PC3"]
    for i, pop in enumerate(out.most_similar):
        cloud = ref.loc[ref["pop"] == pop, pcs].to_numpy()
        inverse = np.linalg.inv(np.cov(cloud, rowvar=False, bias=True))
        x = target.loc[i, pcs].to_numpy(dtype=float)
        d = scipy_distance.mahalanobis(x, cloud.mean(axis=0), inverse)
        assert out.mahalanobis[i] == pytest.approx(d, rel=1e-10)
        everyone = ref[pcs].to_numpy()
        nearest = np.sort(np.sqrt(((everyone - x) ** 2).sum(axis=1)))[:5]
        assert out.knn_distance[i] == pytest.approx(nearest.mean(), rel=1e-10)
    assert out.most_similar.tolist() == ["A", "B", "B"]
    # the far one is declined with its reason; the others are placed
    assert out.supported.tolist() == [True, True, False]
    assert out.support_reason[2].startswith("outside the reference's support")
    assert "nearest reference samples" in out.support_reason[2]
    assert out.support_reason[0] == ""


def test_the_support_rule_is_configurable():
    rng = np.random.default_rng(5)
    ref = _two_clouds(rng)
    labels = ref.set_index("IID")["pop"]
    target = pd.DataFrame({"IID": ["mid", "far"], "PC1": [4.0, 40.0], "PC2": 0.0, "PC3": 0.0})
    model = fit_population_model(ref, labels, n_pcs=3)
    everyone = model.assign(target, support=SupportRule(max_knn_ratio=None))
    assert everyone.supported.all()
    strict = model.assign(target, support=SupportRule(min_mahalanobis_p=1e-3, min_probability=0.99))
    assert not strict.supported.any()
    assert "Mahalanobis distance" in strict.support_reason[0]
    with pytest.raises(CalibrationError, match="min_probability"):
        SupportRule(min_probability=1.5)
    with pytest.raises(CalibrationError, match="max_knn_ratio"):
        SupportRule(max_knn_ratio=float("nan"))


def test_related_samples_are_left_out_by_iid_or_fid():
    rng = np.random.default_rng(2)
    ref = _two_clouds(rng)
    labels = ref.set_index("IID")["pop"]
    model = fit_population_model(ref, labels, n_pcs=2, related=["A0", "A1", "FB3"])
    assert model.n_train == {"A": 58, "B": 59}
    assert model.n_related_dropped == 3
    assert model.train_pcs.shape == (117, 2)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 199), min_size=1, max_size=30, unique=True))
def test_any_subset_gets_the_rows_of_the_whole(rows):
    target = _TARGETS.iloc[rows]
    part = _MODEL.assign(target).to_frame().reset_index(drop=True)
    whole = _WHOLE.iloc[rows].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, whole)


_REF = _two_clouds(np.random.default_rng(9))
_MODEL = fit_population_model(_REF, _REF.set_index("IID")["pop"], n_pcs=3)
_TARGETS = pd.DataFrame(
    np.random.default_rng(10).normal(scale=6.0, size=(200, 3)) + np.array([4.0, 0, 0]),
    columns=["PC1", "PC2", "PC3"],
).assign(IID=[f"t{i}" for i in range(200)])
_WHOLE = _MODEL.assign(_TARGETS).to_frame()


def test_bad_inputs_are_refused_with_the_sample_named():
    rng = np.random.default_rng(4)
    ref = _two_clouds(rng)
    labels = ref.set_index("IID")["pop"]
    with pytest.raises(CalibrationError, match=r"no population label.*first A0"):
        fit_population_model(ref, labels.drop("A0"), n_pcs=2)
    with pytest.raises(CalibrationError, match="1 population"):
        fit_population_model(ref, labels.map(lambda _: "A"), n_pcs=2)
    with pytest.raises(CalibrationError, match=r"missing PC column\(s\) \['PC4'\]"):
        fit_population_model(ref, labels, n_pcs=4)
    bad = ref.astype({"PC2": object})
    bad.loc[3, "PC2"] = "x"
    with pytest.raises(CalibrationError, match="PC2 'x' of sample A3 is not a finite number"):
        fit_population_model(bad, labels, n_pcs=2)
    with pytest.raises(CalibrationError, match="population B has 3"):
        fit_population_model(ref.iloc[:63], labels, n_pcs=3)
    model = fit_population_model(ref, labels, n_pcs=2)
    with pytest.raises(CalibrationError, match="sample t appears more than once"):
        model.assign(pd.DataFrame({"IID": ["t", "t"], "PC1": [0.0, 1], "PC2": [0.0, 1]}))
    with pytest.raises(CalibrationError, match="sample A0 appears more than once"):
        fit_population_model(ref, pd.concat([labels, labels.iloc[:1]]), n_pcs=2)
    table = labels.rename("SuperPop").rename_axis("IID").reset_index()
    with pytest.raises(CalibrationError, match="no 'Population' column"):
        fit_population_model(ref, table, n_pcs=2, label="Population")
    assert fit_population_model(ref, table, n_pcs=2).n_train == {"A": 60, "B": 60}


@pytest.mark.shared
def test_held_out_1000_genomes_people_get_their_own_super_population(shared_data):
    """From genotypes to population: a reference panel built (prs.ancestry) from the 1000
    Genomes subset without 20 people (4 per super-population), those 20 projected from their
    VCF records (OADP) and assigned: at least 18 get the super-population 1000 Genomes labels
    them with (admixed AMR people may go to EUR), all inside the support."""
    from prs.ancestry import PcaOptions, build_reference, project
    from prs.genotypes import open_genotypes

    kg = shared_data / "genotypes" / "uwgac-1kg-phase3-subset"
    paths = [str(kg / f"1KG_phase3_subset_chr{c}.vcf.gz") for c in (1, 2, 3)]
    psam = pd.read_csv(INPUTS / "ref.psam", sep="\t").rename(columns={"#IID": "IID"})
    psam = psam.set_index("IID")
    source = open_genotypes(paths)
    present = psam.loc[[s for s in source.samples if s in psam.index]]
    rng = np.random.default_rng(0)
    held = [
        str(s)
        for _, group in present.groupby("SuperPop")
        for s in rng.choice(group.index.to_numpy(), 4, replace=False)
    ]
    related = [
        line.split()[0]
        for line in (INPUTS / "ref.king.cutoff.id").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    panel = build_reference(
        paths, INPUTS / "ref.psam", related=related + held, build="GRCh37",
        options=PcaOptions(n_pcs=5),
    )  # fmt: skip
    assert not set(held) & set(panel.samples)
    pcs = project(panel, source).to_frame().set_index("IID").loc[held].reset_index()
    model = fit_population_model(panel.pcs_frame(), panel.pcs_frame())
    out = model.assign(pcs)
    truth = psam.loc[held, "SuperPop"].to_numpy()
    assert (out.most_similar == truth).sum() >= 18, list(zip(out.most_similar, truth, strict=True))
    assert out.supported.all()
