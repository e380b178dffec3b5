"""How a ScoreResult shows itself in a notebook or a REPL (issue 16 item 5): a few lines,
not 51,032 characters."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from prs.example import example_paths
from prs.match import MatchReport
from prs.scoring import ScoreResult, score


@pytest.fixture(scope="module")
def example_result():
    paths = example_paths()
    return score(paths.vcf, [paths.scorefile])


class Cells(HTMLParser):
    """The text of every table cell and the tags seen (the page must be well formed)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.rows = 0
        self._open: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self._open.append(tag)
        self._in_cell = tag in ("td", "th")
        if tag == "tr":
            self.rows += 1

    def handle_endtag(self, tag):
        assert self._open and self._open[-1] == tag, (self._open, tag)
        self._open.pop()
        self._in_cell = False

    def handle_data(self, data):
        if self._in_cell and data.strip():
            self.cells.append(data.strip())


def test_repr_is_short_and_says_where_to_look(example_result):
    """The example's 200 samples: a few lines with the shape and each score's match rate
    (counted here from the per-variant report), and the attributes to look at next."""
    text = repr(example_result)
    assert len(text) < 600, len(text)
    variants = example_result.match_report.variants
    for sid in example_result.score_ids:
        rows = variants[variants["score"] == sid]
        matched = int((rows["outcome"] == "matched").sum())
        assert f"{sid}: {matched}/{len(rows)} variants matched ({matched / len(rows):.1%})" in text
    assert text.startswith(f"<ScoreResult: {len(example_result.samples)} samples x 1 scores>")
    assert ".match_report.counts" in text and ".to_wide()" in text
    assert example_result.samples[-1] not in text  # no sample list


def test_repr_html_shows_a_few_rows(example_result):
    """Notebook display: well-formed HTML, the first 5 samples' SUM exactly as to_wide
    holds them, the match rate, a note of how many samples are not shown."""
    page = example_result._repr_html_()
    assert len(page) < 4000, len(page)
    parser = Cells()
    parser.feed(page)
    assert not parser._open  # every tag closed
    wide = example_result.to_wide()
    for sample in wide.index[:5]:
        assert sample in parser.cells
    assert wide.index[5] not in parser.cells
    shown = [float(c) for c in parser.cells if _is_number(c)]
    for value in wide.iloc[:5, 0]:
        assert any(abs(value - v) <= 1e-6 * max(1, abs(value)) for v in shown), value
    assert f"{len(wide) - 5} more samples" in page
    rows = example_result.match_report.variants
    rate = (rows["outcome"] == "matched").mean()
    assert f"{rate:.1%}" in parser.cells


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_many_scores_are_cut():
    """Twelve scores: ten shown, the rest counted."""
    ids = tuple(f"S{i:02d}" for i in range(12))
    counts = pd.DataFrame(
        {"matched": [1] * 12, "n_rows": [2] * 12, "match_rate": [0.5] * 12},
        index=pd.Index(ids, name="score"),
    )
    result = ScoreResult(
        samples=("a", "b"),
        score_ids=ids,
        sums=np.zeros((2, 12)),
        allele_ct=np.ones((2, 12)),
        denom=np.ones((2, 12)),
        named_dosage=np.zeros((2, 12)),
        missing_ct=np.zeros((2, 12), dtype=np.int64),
        variants_used=np.ones(12, dtype=np.int64),
        match_report=MatchReport(variants=pd.DataFrame({"score": list(ids)}), counts=counts),
    )
    text = repr(result)
    assert "S09: 1/2 variants matched (50.0%)" in text and "S10:" not in text
    assert "... 2 more scores" in text
    assert "2 more scores" in result._repr_html_()
