"""Issue 16 item 5 (notebooks): warnings point at the caller's line, with a PRSWarning
category; the categorisation result has a short repr and an HTML one."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd

from prs.calibrate import build_reference, categorise
from prs.errors import CalibrationWarning, PRSWarning, ScoreWarning, warn


def _next_line() -> int:
    """The number of the line after the caller's."""
    return inspect.currentframe().f_back.f_lineno + 1


def test_a_deep_categorisation_warning_points_at_this_line():
    """The self-referential warning is raised steps below categorise; it names this file
    and the line that called categorise."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        categorise([1.0, 2.0, 3.0, 4.0, 5.0], scheme="top-5-percent")
    ours = [w for w in caught if issubclass(w.category, CalibrationWarning)]
    assert ours, [str(w.message) for w in caught]
    for w in ours:
        assert issubclass(w.category, PRSWarning)
        assert (w.filename, w.lineno) == (__file__, line), str(w.message)


def test_warn_walks_out_of_prs_through_other_libraries():
    """prs -> another library -> prs -> warn: the frame named is the one that called the
    outer prs function (here: this test), not the library's or prs's."""
    inner = {"__name__": "prs.fake_inner", "warn": warn, "ScoreWarning": ScoreWarning}
    exec("def inner(_):\n    warn('deep', ScoreWarning)\n    return 0", inner)
    outer = {"__name__": "prs.fake_outer", "pd": pd, "inner": inner["inner"]}
    exec("def outer():\n    return pd.Series([1]).apply(inner)", outer)  # pandas between
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        outer["outer"]()
    assert [(str(w.message), w.category) for w in caught] == [("deep", ScoreWarning)]
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)


def test_warn_without_a_frame_outside_prs_names_the_outermost():
    namespace = {"__name__": "prs.fake", "warn": warn}
    exec("def f():\n    warn('x')", namespace)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace["f"]()
    # this test's frame is outside prs: it is named (the check above, from the other side)
    assert caught[0].filename == __file__ and caught[0].category is PRSWarning


def test_a_score_warning_points_at_this_line():
    """prs.score on the embedded example warns that 272/300 rows matched: at this line."""
    import prs
    from prs.example import example_paths

    paths = example_paths()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        prs.score(paths.vcf, paths.scorefile)
    ours = [w for w in caught if issubclass(w.category, ScoreWarning)]
    assert ours
    for w in ours:
        assert (w.filename, w.lineno) == (__file__, line), str(w.message)


def test_categorisation_repr_is_short_and_counts_each_category():
    rng = np.random.default_rng(3)
    reference = build_reference(rng.normal(size=4000), check=False)
    values = rng.normal(size=3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PRSWarning)
        result = categorise(values, reference=reference, scheme="top-5-percent")
    text = repr(result)
    # independent count of the categories, from the per-person array
    labels, counts = np.unique(result.category.astype(str), return_counts=True)
    assert len(labels) >= 2
    for label, count in zip(labels, counts, strict=True):
        assert f"  {label}: {count}" in text
    assert text.startswith("<Categorisation: 3000 people, ")
    assert "next: .to_frame()" in text and len(text) < 1000
    page = result._repr_html_()
    assert len(page) < 10_000
    assert f"<td>{counts[0]}</td>" in page and str(result.sample_id[0]) in page
    rows = page.split("First rows")[1].split("<tbody>")[1]
    assert rows.count("<tr") == 5  # a few rows, not 3,000
