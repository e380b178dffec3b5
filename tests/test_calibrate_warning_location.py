"""Issue 16 item 5: calibration warnings (reference, evaluate) name the caller's line and
are CalibrationWarnings, however deep in prs they are raised."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd

from prs.calibrate import build_reference, build_references, or_top_vs_middle_quintile
from prs.errors import CalibrationWarning


def _next_line() -> int:
    return inspect.currentframe().f_back.f_lineno + 1


def _ours(caught):
    ours = [w for w in caught if issubclass(w.category, CalibrationWarning)]
    assert ours, [str(w.message) for w in caught]
    return ours


def test_a_small_reference_warns_at_this_line():
    """Reference.check runs inside build_reference: 30 values is a small reference."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        build_reference(np.random.default_rng(1).normal(size=30))
    for w in _ours(caught):
        assert (w.filename, w.lineno) == (__file__, line), str(w.message)


def test_unlabelled_reference_samples_warn_at_this_line():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"sample_id": [f"p{i}" for i in range(400)], "score": "S0", "SUM": rng.normal(size=400)}
    )
    groups = {f"p{i}": "EUR" for i in range(390)}  # 10 have no label
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        build_references(frame, groups, check=False)
    ours = _ours(caught)
    assert any("10 of 400 reference samples have no group label" in str(w.message) for w in ours)
    for w in ours:
        assert (w.filename, w.lineno) == (__file__, line), str(w.message)


def test_an_empty_quintile_cell_warns_at_this_line():
    """Every top-quintile person is a case: a cell is empty, 0.5 is added (and said)."""
    score = np.arange(100, dtype=float)
    outcome = (score >= 80).astype(float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        or_top_vs_middle_quintile(score, outcome)
    ours = _ours(caught)
    assert any("0.5 added to every cell" in str(w.message) for w in ours)
    for w in ours:
        assert (w.filename, w.lineno) == (__file__, line), str(w.message)
