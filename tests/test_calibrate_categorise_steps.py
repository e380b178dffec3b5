"""categorise as named steps (issue 12): every warning it raises still points at the line
that called categorise, whichever step raises it.

The steps sit one or two calls below categorise, so each warning's stacklevel counts that
depth; a step moved deeper without its stacklevel raised would point into categorisation.py
instead of here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from prs.calibrate.categorisation import categorise
from prs.calibrate.reference import build_reference
from prs.calibrate.risk_factors import RiskFactors
from tests.builders import traited_scores

REFERENCE = build_reference(np.random.default_rng(5).normal(size=2000), check=False)
BREAST = "EFO_0000305"
COLORECTAL = "EFO_0005842"
OTHER_FACTORS = RiskFactors(np.array(["s0", "s1"], dtype=object), other_log_rr=np.array([0.4, 0]))

# (the start of the warning's text, categorise's arguments)
CASES: list[tuple[str, dict[str, Any]]] = [
    (
        "mismatch overridden (allow_mismatch): score PGS001229 is for trait 'Height'",
        dict(
            scores=traited_scores(np.linspace(-2, 2, 10), "EFO_0004339", "PGS001229", "Height"),
            reference=REFERENCE, or_per_sd=1.61, age=45, sex="female", allow_mismatch=True,
        ),
    ),
    (
        "mismatch overridden (allow_mismatch): 1 of 2 people are not of sex female",
        dict(
            scores=traited_scores([0.0, 1.0], BREAST), reference=REFERENCE, or_per_sd=1.61,
            age=45, sex=["female", "male"], allow_mismatch=True,
        ),
    ),
    (
        "cannot check: no sex given",
        dict(scores=traited_scores([0.0], BREAST), reference=REFERENCE, or_per_sd=1.61, age=45),
    ),
    (
        "1 of 2 samples have no age",
        dict(
            scores=traited_scores([0.0, 1.0], BREAST), reference=REFERENCE, or_per_sd=1.61,
            age=[45, np.nan], sex="female",
        ),
    ),
    (
        "no reference given: percentiles and z-scores are relative to these 10 scores",
        dict(
            scores=traited_scores(np.linspace(-2, 2, 10), BREAST), reference=None,
            or_per_sd=1.61, age=45, sex="female",
        ),
    ),
    (
        "1 of 2 scores lie outside the reference range",
        dict(
            scores=traited_scores([0.0, 10.0], BREAST), reference=REFERENCE, or_per_sd=1.61,
            age=45, sex="female",
        ),
    ),
    (
        "risk factors given but scheme top-5-percent categorises the PRS percentile",
        dict(
            scores=traited_scores([0.0, 2.0], BREAST), reference=REFERENCE, or_per_sd=1.61,
            age=45, sex="female", scheme="top-5-percent", risk_factors=OTHER_FACTORS,
        ),
    ),
    (
        "no incidence table is shipped for colorectal cancer",
        dict(
            scores=traited_scores([0.0, 2.0], COLORECTAL), reference=REFERENCE, or_per_sd=1.5,
            age=60, scheme="crc-relative-risk-2", pathway=None,
        ),
    ),
    (
        "1 of 2 risks not computed: the interval lies outside the rate tables' ages",
        dict(
            scores=traited_scores([0.0, 2.0], BREAST), reference=REFERENCE, or_per_sd=1.61,
            age=[85, 45], sex="female",
        ),
    ),
    (
        "1 of 2 people have no known sex: no absolute risk",
        dict(
            scores=traited_scores([0.0, 2.0], COLORECTAL), reference=REFERENCE, or_per_sd=1.5,
            age=[60, 55], scheme="crc-relative-risk-2", sex=[None, "male"],
        ),
    ),
    (
        "1 of 2 people have no known sex: they get no category",
        dict(
            scores=traited_scores([0.0, 2.0], BREAST), reference=REFERENCE, or_per_sd=1.61,
            age=45, sex=[None, "female"],
        ),
    ),
]  # fmt: skip


@pytest.mark.parametrize("start, kwargs", CASES, ids=[case[0][:40] for case in CASES])
def test_each_categorise_warning_points_at_the_caller_of_categorise(start, kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        categorise(**kwargs)
    hits = [w for w in caught if str(w.message).startswith(start)]
    assert hits, f"no warning starting {start!r}: {[str(w.message) for w in caught]}"
    for hit in hits:
        assert hit.filename == __file__, f"{start!r} points at {hit.filename}:{hit.lineno}"
