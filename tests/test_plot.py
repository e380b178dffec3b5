"""prs.plot (issue 16): figures checked against the numbers they draw, computed independently
(numpy's histogram and percentiles, scikit-learn's ROC curve and AUC)."""

from __future__ import annotations

import base64
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score, roc_curve

from prs import plot
from prs.calibrate import build_reference
from prs.errors import ReportError

pytest.importorskip("matplotlib", reason="prs.plot needs matplotlib (the plot extra)")


def test_import_prs_does_not_import_matplotlib():
    """Start-up: neither ``import prs`` nor importing the plot and report modules loads
    matplotlib (only drawing does)."""
    code = (
        "import sys, prs, prs.plot, prs.htmlreport, prs.cli.report\n"
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_matplotlib_the_error_names_the_distributions_extra(monkeypatch):
    """The install hint names the distribution users can install (``prs`` on the registry
    is another project)."""
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ReportError, match=r"pip install 'prs-risk\[plot\]'"):
        plot.roc([0.1, 0.9, 0.4, 0.7], [0, 1, 0, 1])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=2, max_size=40),  # few distinct values: many ties
    st.data(),
)
def test_roc_points_equal_sklearn(scores, data):
    outcome = data.draw(st.lists(st.integers(0, 1), min_size=len(scores), max_size=len(scores)))
    if len(set(outcome)) < 2:
        with pytest.raises(ReportError, match="one class"):
            plot.roc_points(scores, outcome)
        return
    fpr, tpr = plot.roc_points(scores, outcome)
    want_fpr, want_tpr, _ = roc_curve(outcome, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, want_fpr)
    np.testing.assert_allclose(tpr, want_tpr)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(outcome, scores))


def test_roc_figure_draws_the_curve_and_states_the_auc():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    s = rng.normal(size=300) + y
    fig = plot.roc(s, y)
    line = fig.axes[0].lines[1]
    want_fpr, want_tpr, _ = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(line.get_xdata(), want_fpr)
    np.testing.assert_allclose(line.get_ydata(), want_tpr)
    assert line.get_label() == f"AUC {roc_auc_score(y, s):.3f}"
    assert plot.roc(s, y, auc=0.5).axes[0].lines[1].get_label() == "AUC 0.500"


@pytest.mark.parametrize(
    ("score", "outcome", "message"),
    [
        ([1, 2], [0, 1, 1], "2 scores but 3"),
        ([1, 2], [0, 2], "0 or 1"),
        ([1, np.nan], [0, 1], "finite"),
    ],
)
def test_roc_refuses_bad_input(score, outcome, message):
    with pytest.raises(ReportError, match=message):
        plot.roc_points(score, outcome)


def test_distribution_bars_are_numpys_histogram_and_lines_the_percentiles():
    rng = np.random.default_rng(2)
    cohort = rng.normal(1.0, 0.5, 150)
    fig = plot.distribution(cohort, highlight={"HG00096": 1.7}, percentiles=(5, 50, 95))
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    want, edges = np.histogram(cohort, bins="auto", density=True)
    np.testing.assert_allclose(heights, want)
    np.testing.assert_allclose([p.get_x() for p in ax.patches], edges[:-1])
    xs = [line.get_xdata()[0] for line in ax.lines]
    np.testing.assert_allclose(xs[:3], np.percentile(cohort, [5, 50, 95]))
    assert xs[3] == 1.7
    labels = ax.get_legend_handles_labels()[1]
    assert "scored samples (n=150)" in labels and "HG00096" in labels


def test_distribution_against_a_reference_marks_the_references_percentiles():
    rng = np.random.default_rng(3)
    ref_values = rng.normal(0, 1, 1000)
    ref = build_reference(ref_values)
    fig = plot.distribution([0.3], reference=ref, percentiles=(50,))
    ax = fig.axes[0]
    xs = [line.get_xdata()[0] for line in ax.lines]
    assert xs[0] == 0.3  # the person, a line
    assert xs[1] == pytest.approx(np.percentile(ref_values, 50))
    assert sum(p.get_height() for p in ax.patches) > 0  # the reference's histogram
    assert "reference (n=1000)" in ax.get_legend_handles_labels()[1]


def test_distribution_refuses_missing_values():
    with pytest.raises(ReportError, match="1 of 3 values"):
        plot.distribution([1.0, np.nan, 2.0])
    with pytest.raises(ReportError, match="no values"):
        plot.distribution([])


def test_match_summary_bars_are_the_counts():
    counts = pd.Series(
        {"score": "PGS1", "matched": 272, "excluded_ambiguous": 8, "unmatched_no_site": 20,
         "n_rows": 300, "match_rate": 0.9}
    )  # fmt: skip
    fig = plot.match_summary(counts, names={"matched": "matched", "unmatched_no_site": "unmatched"})
    ax = fig.axes[0]
    assert [p.get_width() for p in ax.patches] == [272, 8, 20]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "matched (matched)",
        "excluded_ambiguous",
        "unmatched_no_site (unmatched)",
    ]


def test_pca_draws_every_sample_coloured_by_population():
    rng = np.random.default_rng(4)
    ref = pd.DataFrame(rng.normal(size=(60, 2)), columns=["PC1", "PC2"])
    ref["SuperPop"] = ["AFR", "EUR", "EAS"] * 20
    target = pd.DataFrame(rng.normal(size=(7, 2)), columns=["PC1", "PC2"])
    target["MostSimilarPop"] = ["EUR"] * 5 + ["AFR"] * 2
    fig = plot.pca(
        target, population="MostSimilarPop", reference=ref, reference_population="SuperPop"
    )
    collections = fig.axes[0].collections
    sizes = {c.get_label(): len(c.get_offsets()) for c in collections}
    assert sizes == {
        "AFR (reference)": 20, "EAS (reference)": 20, "EUR (reference)": 20,
        "AFR (scored)": 2, "EUR (scored)": 5,
    }  # fmt: skip
    colour = {c.get_label(): tuple(c.get_facecolor()[0][:3]) for c in collections}
    assert colour["EUR (scored)"] == colour["EUR (reference)"]
    with pytest.raises(ReportError, match="no column PC3"):
        plot.pca(target, y="PC3")


def test_calibration_plots_the_table():
    table = pd.DataFrame(
        {"mean_predicted": [0.01, 0.02, 0.05], "observed_rate": [0.0, 0.03, 0.04],
         "ci_low": [0.0, 0.01, 0.02], "ci_high": [0.02, 0.06, 0.08]}
    )  # fmt: skip
    fig = plot.calibration(table)
    points = fig.axes[0].lines[1]
    np.testing.assert_allclose(points.get_xdata(), table["mean_predicted"])
    np.testing.assert_allclose(points.get_ydata(), table["observed_rate"])
    with pytest.raises(ReportError, match="ci_high"):
        plot.calibration(table.drop(columns="ci_high"))


def test_categories_bars():
    fig = plot.categories({"near-population": 87, "moderate": 13})
    assert [p.get_height() for p in fig.axes[0].patches] == [87, 13]


def test_data_uri_svg_is_valid_sized_and_reproducible():
    fig = plot.categories({"a": 1, "b": 2})
    uri = plot.to_data_uri(fig)
    assert uri == plot.to_data_uri(fig)  # no date: the same figure, the same bytes
    svg = base64.b64decode(uri.split(",", 1)[1])
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert float(root.get("width").removesuffix("pt")) == pytest.approx(plot.FIGSIZE[0] * 72)
    assert b"<text" not in svg  # text drawn as paths: no font needed to view it


def test_data_uri_png():
    uri = plot.to_data_uri(plot.categories({"a": 1}), image_format="png")
    png = base64.b64decode(uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (round(plot.FIGSIZE[0] * 100), round(plot.FIGSIZE[1] * 100))
    with pytest.raises(ReportError, match="svg"):
        plot.to_data_uri(plot.categories({"a": 1}), image_format="gif")
