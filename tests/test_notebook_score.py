"""The scoring notebook runs top to bottom and shows what it claims."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "score_example.ipynb"


def test_score_notebook_executes():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    last = nb.cells[-1]["outputs"][-1]["data"]["text/plain"]
    summary = ast.literal_eval(last)
    assert summary["samples"] == 200 and summary["variants_used"] == 272
    assert summary["sd"] > 0 and summary["gt_ds_correlation"] > 0.99
    # the ancestry step: most similar population = the one the generator drew each person from
    assert summary["assigned_as_simulated"] >= 0.95
    # nothing on stderr but the overlap warning the notebook explains in the next cell
    errors = [
        out["text"]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("name") == "stderr"
    ]
    assert errors and all(
        "ScoreWarning: EXAMPLE_BC01: 272/300 rows matched" in text for text in errors
    )
    assert '272/300 rows matched") is expected here' in nb.cells[2]["source"]
    # the prs.plot figure is drawn inline, and the report page is written with the ancestry
    (pca,) = [cell for cell in nb.cells if "plot.pca(" in cell["source"]]
    assert any("image/png" in out.get("data", {}) for out in pca["outputs"])
    (report,) = [
        line.split(" ", 1)[1]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        for line in out.get("text", "").splitlines()
        if line.startswith("REPORT ")
    ]
    page = Path(report).read_text()
    assert "EXAMPLE_BC01" in page and "PopA" in page and 'id="ancestry"' in page
    counts_html = nb.cells[1]["outputs"][-1]["data"]["text/plain"]
    assert "EXAMPLE_BC01" in counts_html
