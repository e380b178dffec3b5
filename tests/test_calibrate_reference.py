"""Reference distributions: percentiles, z-scores, checks, files (prs.calibrate.reference)."""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from prs.calibrate import (
    MIN_REFERENCE_SIZE,
    CalibrationWarning,
    build_reference,
    build_references,
    load_reference,
    load_references,
    read_megsap_percentiles,
    reference_from_parameters,
    reference_from_quantiles,
    save_reference,
)
from prs.errors import CalibrationError
from tests.builders import scores_table, shared_file, write_scores


def test_mid_rank_percentiles_by_hand():
    ref = build_reference([1.0, 2.0, 2.0, 3.0], check=False)
    # below + half of ties, over n = 4
    assert ref.percentile([2.0]).tolist() == [100 * (1 + 0.5 * 2) / 4]
    assert ref.percentile([1.0]).tolist() == [100 * 0.5 / 4]
    assert ref.percentile([2.5]).tolist() == [100 * 3 / 4]
    # out of range: clipped half a rank from either end and flagged
    assert ref.percentile([0.0, 9.0]).tolist() == [12.5, 87.5]
    assert ref.out_of_range([0.0, 1.0, 3.0, 9.0]).tolist() == [-1, 0, 0, 1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-20, 20), min_size=2, max_size=60),
    st.lists(st.floats(-30, 30, allow_nan=False), min_size=1, max_size=20),
)
def test_percentile_properties(reference_values, queries):
    values = np.array(reference_values, dtype=float)
    if np.all(values == values[0]):
        values[0] -= 1
    ref = build_reference(values, check=False)
    n = values.size
    x = np.sort(np.array(queries))
    pct = ref.percentile(x)
    assert np.all(np.diff(pct) >= -1e-12)  # monotone
    assert np.all((pct >= 50 / n - 1e-12) & (pct <= 100 - 50 / n + 1e-12))  # open interval
    # independent recomputation of the mid-rank definition for values inside the range
    for xi, pi in zip(x, pct, strict=True):
        if values.min() <= xi <= values.max():
            expected = 100 * (np.sum(values < xi) + 0.5 * np.sum(values == xi)) / n
            assert pi == pytest.approx(expected)


def test_parametric_percentile_and_z_are_closed_form():
    ref = reference_from_parameters(3.0, 2.0)
    x = np.array([-1.0, 3.0, 6.2898])
    np.testing.assert_allclose(ref.z(x), (x - 3.0) / 2.0)
    np.testing.assert_allclose(ref.percentile(x), 100 * stats.norm.cdf((x - 3) / 2))
    assert ref.percentile([3.0 + 2.0 * 1.6448536269514722])[0] == pytest.approx(95.0)


def test_empirical_percentile_tracks_normal_cdf_within_dkw_bound():
    rng = np.random.default_rng(11)
    ref = build_reference(rng.normal(5.0, 2.0, size=20000), check=False)
    x = np.linspace(-1, 11, 41)
    # Dvoretzky-Kiefer-Wolfowitz: sup|F_n - F| <= sqrt(ln(2/0.001)/(2n)) with prob 0.999
    bound = 100 * np.sqrt(np.log(2 / 0.001) / (2 * 20000))
    assert np.max(np.abs(ref.percentile(x) - 100 * stats.norm.cdf(x, 5.0, 2.0))) < bound
    z_rank = ref.z(x[10:30], method="rank")
    np.testing.assert_allclose(z_rank, (x[10:30] - 5.0) / 2.0, atol=0.05)


def test_quantile_table_interpolates_and_collapses_ties():
    levels = np.arange(1, 100)
    ref = reference_from_quantiles(levels, stats.norm.ppf(levels / 100))
    x = np.linspace(-2, 2, 17)
    np.testing.assert_allclose(ref.percentile(x), 100 * stats.norm.cdf(x), atol=0.1)
    assert ref.mean == pytest.approx(0.0, abs=0.01)
    tied = reference_from_quantiles([10, 20, 30, 40, 50], [0.0, 0.0, 0.0, 1.0, 2.0])
    assert tied.percentile([0.0, 0.5, 1.0]).tolist() == [20.0, 30.0, 40.0]
    assert tied.out_of_range([-1.0, 3.0]).tolist() == [-1, 1]
    with pytest.raises(CalibrationError, match="must not decrease"):
        reference_from_quantiles([10, 20, 30], [0.0, 2.0, 1.0])


def test_megsap_percentile_header_real_file():
    path = shared_file("scorefiles", "megsap", "PGS000004_GRCh38.vcf")
    ref = read_megsap_percentiles(path)
    assert ref.score_id == "PGS000004"
    assert ref.n == 6930
    table = next(
        line for line in path.read_text().splitlines() if line.startswith("##percentiles=")
    )
    values = np.array([float(v) for v in table.split("=", 1)[1].split(",")])
    assert values.size == 100
    # each tabulated k-th percentile value maps back to k (strictly increasing table)
    inner = np.arange(1, 100)
    np.testing.assert_allclose(ref.percentile(values[:99]), inner, atol=1e-9)
    # z-scores: mean and sd of the implied distribution agree with robust summaries
    assert ref.mean == pytest.approx(values[49], abs=0.05)
    assert ref.sd == pytest.approx((values[83] - values[15]) / 2, rel=0.1)
    assert ref.check(warn=False).ok
    assert ref.provenance["source"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_check_warns_on_small_skewed_and_bimodal_references():
    rng = np.random.default_rng(3)
    with pytest.warns(CalibrationWarning, match=str(MIN_REFERENCE_SIZE)):
        build_reference(rng.normal(size=100))
    with pytest.warns(CalibrationWarning, match="skewed"):
        build_reference(rng.lognormal(size=5000))
    mixture = np.concatenate([rng.normal(-3, 1, 2500), rng.normal(3, 1, 2500)])
    with pytest.warns(CalibrationWarning, match="bimodal"):
        build_reference(mixture)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert build_reference(rng.normal(size=5000)).check(warn=False).ok


def test_real_1000g_pooled_reference_is_flagged_and_per_ancestry_references_are_not():
    scores = pd.read_csv(
        shared_file("expected", "pgsc_calc-correlation-1000G", "PGS_SUM.txt.gz"), sep="\t"
    )
    psam = pd.read_csv(shared_file("expected", "pygscatalog-ancestry", "ref.psam"), sep="\t")
    sub = scores[scores["PGS"] == "PGS000728_hmPOS_GRCh37"]
    table = pd.DataFrame({"sample_id": sub["IID"], "score": "PGS000728", "SUM": sub["SUM"]})
    pooled = build_reference(table, check=False).check(warn=False)
    assert any("bimodal" in issue for issue in pooled.issues)
    groups = psam.set_index("#IID")["SuperPop"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)  # AMR has < 500 samples
        refs = build_references(table, groups)
    assert set(refs) == {"AFR", "AMR", "EAS", "EUR", "SAS"}
    assert sum(r.n for r in refs.values()) == len(table)
    for ref in refs.values():
        assert ref.check(warn=False).bimodality_coefficient < 5 / 9
    # the same score sits at very different percentiles depending on the ancestry reference
    eur_median = float(np.median(refs["EUR"].values))
    assert refs["EUR"].percentile([eur_median])[0] == pytest.approx(50, abs=0.2)
    assert refs["AFR"].percentile([eur_median])[0] < 5


def test_save_load_round_trip_and_provenance(tmp_path):
    rng = np.random.default_rng(5)
    src = write_scores(tmp_path / "scores.tsv", {"PGS000004": rng.normal(size=800)})
    ref = build_reference(src, score_id="PGS000004")
    out = save_reference(ref, tmp_path / "reference.json")
    doc = json.loads(out.read_text())
    assert doc["format_version"] == 1 and doc["kind"] == "prs-reference"
    back = load_reference(out)
    x = rng.normal(size=50)
    np.testing.assert_array_equal(back.percentile(x), ref.percentile(x))
    assert back.provenance["source"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert back.score_id == "PGS000004" and back.n == 800 and back.column == "SUM"
    summary = build_reference(src, keep_values=False)
    assert summary.kind == "quantiles"
    np.testing.assert_allclose(summary.percentile(x), ref.percentile(x), atol=0.6)
    round_trip = load_reference(save_reference(summary, tmp_path / "summary.json"))
    np.testing.assert_array_equal(round_trip.percentile(x), summary.percentile(x))


def test_loading_newer_or_foreign_files_fails_clearly(tmp_path):
    ref = reference_from_parameters(0.0, 1.0, score_id="PGS1")
    path = save_reference(ref, tmp_path / "ref.json")
    doc = json.loads(path.read_text())
    doc["format_version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(CalibrationError, match="format_version 99"):
        load_reference(path)
    (tmp_path / "other.json").write_text('{"kind": "something"}')
    with pytest.raises(CalibrationError, match="not a prs reference"):
        load_reference(tmp_path / "other.json")
    with pytest.raises(CalibrationError, match="not found"):
        load_reference(tmp_path / "missing.json")


def test_group_references_file(tmp_path):
    rng = np.random.default_rng(2)
    table = scores_table({"PGS1": rng.normal(size=1200)})
    groups = pd.Series(np.where(np.arange(1200) < 600, "A", "B"), index=table["sample_id"])
    refs = build_references(table, groups)
    path = save_reference(refs, tmp_path / "groups.json")
    loaded = load_references(path)
    assert set(loaded) == {"A", "B"}
    with pytest.raises(CalibrationError, match="2 group references"):
        load_reference(path)
    assert load_reference(path, group="B").n == 600


def test_scores_table_errors(tmp_path):
    table = scores_table({"PGS1": np.arange(5.0), "PGS2": np.arange(5.0)})
    with pytest.raises(CalibrationError, match="holds 2 scores"):
        build_reference(table, check=False)
    with pytest.raises(CalibrationError, match="no column 'SCORE_SUM'"):
        build_reference(table, score_id="PGS1", column="SCORE_SUM", check=False)
    table.loc[2, "SUM"] = np.nan
    with pytest.raises(CalibrationError, match="1 of 5 values"):
        build_reference(table, score_id="PGS1", check=False)
    assert build_reference(table, score_id="PGS2", column="AVG", check=False).n == 5
