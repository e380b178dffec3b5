"""Issue 10 F3: an age-bounded scheme never categorises a person of unknown age or outside its
ages, consistently across every shipped scheme (and the age bounds are explicit in the data)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import (
    available_schemes,
    categorise,
    load_scheme,
    reference_from_parameters,
)
from prs.errors import EXIT_CODES, CalibrationError, CalibrationWarning
from tests.builders import write_scores

#: The shipped schemes that apply to some ages only, with their ages (from the scheme files).
AGE_BOUNDED = {
    "barcode1-prostate": (55, 69),
    "nice-cg164-10year-age40-49": (40, 49),
    "nice-cg164-remaining-lifetime": (20, 79),
    "procas-10year": (47, 73),
}

REFERENCE = reference_from_parameters(0.0, 1.0, score_id="PGS000004")


def _categorise(scheme: str, ages, scores=None, **kwargs):
    scores = np.linspace(-1.0, 2.5, len(ages)) if scores is None else scores
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        return categorise(
            np.asarray(scores, dtype=float),
            reference=REFERENCE,
            scheme=scheme,
            or_per_sd=1.61,
            age=ages,
            **kwargs,
        ).to_frame()


def test_the_age_bounds_of_every_shipped_scheme_are_stated_in_its_file():
    bounded = {}
    for name in available_schemes():
        measure = load_scheme(name).measure
        if measure.age_bounded:
            bounded[name] = (measure.applies_from_age, measure.applies_to_age)
    assert bounded == AGE_BOUNDED


@pytest.mark.parametrize("name", sorted(available_schemes()))
def test_every_shipped_scheme_with_missing_and_out_of_range_ages(name):
    """Unknown age, just below, just above and inside the scheme's ages: an age-bounded
    scheme categorises only the person inside, with the reason for the others; a scheme
    that is not age-bounded categorises whoever its measure allows."""
    scheme = load_scheme(name)
    if name in AGE_BOUNDED:
        lo, hi = AGE_BOUNDED[name]
        ages = [math.nan, lo - 1, hi + 1, lo, hi + 0.9]
        frame = _categorise(name, ages, scores=[2.5, 2.5, 2.5, 2.5, 2.5])
        assert frame["category"].isna().tolist() == [True, True, True, False, False]
        assert frame["category_note"][0] == f"age unknown: {name} applies to ages {lo}-{hi}"
        assert frame["category_note"][1] == f"age outside {lo}-{hi} covered by {name}"
        assert frame["category_note"][2] == f"age outside {lo}-{hi} covered by {name}"
        assert frame["category_note"][3:].isna().all()
        assert frame["scheme_measure"][:3].isna().all()
        # no category, so no pathway action either
        if "pathway_action" in frame:
            assert frame["pathway_action"][:3].isna().all()
    else:
        ages = [math.nan, 0.0, 30.0, 120.0]
        # no colorectal rates are shipped, so the colorectal pathway's risk-equivalent age is
        # refused (tests/test_calibrate_binding.py); the categories need no rates
        extra = {"pathway": None} if load_scheme(name).cancer == "colorectal" else {}
        frame = _categorise(name, ages, scores=[-1.0, 0.0, 1.0, 2.5], **extra)
        needs_current_age = scheme.measure.kind == "absolute_risk" and (
            scheme.measure.from_age is None
        )
        assert not needs_current_age  # no shipped scheme without bounds needs the current age
        assert frame["category"].notna().all(), frame[["category", "category_note"]]
        assert frame["category_note"].isna().all()


def test_barcode1_does_not_invite_men_of_unknown_age_issue_example(tmp_path, monkeypatch):
    """The issue's case: 40 men, 22 without an age, barcode1-prostate. Before the fix the 22
    were categorised (some invited to MRI and biopsy); now none is, each with the reason,
    and a warning counts them."""
    rng = np.random.default_rng(3)
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000662": rng.normal(1.5, 1.0, 40)})
    ids = [f"S{i:05d}" for i in range(40)]
    ages = ["" if i % 20 < 11 else str(55 + i % 15) for i in range(40)]
    assert sum(a == "" for a in ages) == 22
    age_file = tmp_path / "ages.tsv"
    age_file.write_text(
        "sample_id\tage\n" + "".join(f"{s}\t{a}\n" for s, a in zip(ids, ages, strict=True))
    )
    reference = tmp_path / "reference.json"
    from prs.calibrate import save_reference

    save_reference(reference_from_parameters(0.0, 1.0, score_id="PGS000662"), reference)
    out = tmp_path / "categories.tsv"
    argv = ["categorise", "--scores", str(scores), "--reference", str(reference)]
    argv += ["--scheme", "barcode1-prostate", "--age-file", str(age_file), "--out", str(out)]
    assert prs.cli.main(argv) == 0
    frame = pd.read_csv(out, sep="\t", dtype={"sample_id": str})
    unknown = frame["age"].isna()
    assert unknown.sum() == 22
    assert frame.loc[unknown, "category"].isna().all()
    assert frame.loc[unknown, "pathway_action"].isna().all()
    assert (frame.loc[unknown, "category_note"].str.startswith("age unknown")).all()
    assert frame.loc[~unknown, "category"].notna().all()
    with pytest.warns(CalibrationWarning, match=r"22 of 40 samples have no age: they get no"):
        categorise(
            scores,
            reference=reference,
            scheme="barcode1-prostate",
            age=pd.Series([float(a) if a else math.nan for a in ages], index=ids),
        )
    # --strict turns that warning into an error (exit 2) and writes nothing
    assert prs.cli.main(["--strict", *argv[:-1], str(tmp_path / "strict.tsv")]) == 2
    assert not (tmp_path / "strict.tsv").exists()


@pytest.mark.parametrize("name", sorted(AGE_BOUNDED))
def test_an_age_bounded_scheme_with_no_age_at_all_is_an_error_for_every_scheme(name):
    """Consistent across schemes: no age given, or none known, is a CalibrationError for a
    percentile scheme (barcode1) as for an absolute-risk one (NICE 10-year)."""
    lo, hi = AGE_BOUNDED[name]
    with pytest.raises(CalibrationError, match=rf"applies to ages {lo}-{hi}.*no age was given"):
        _categorise(name, None, scores=[0.0, 1.0])
    with pytest.raises(CalibrationError, match="no sample has an age"):
        _categorise(name, {"0": math.nan, "1": math.nan}, scores=[0.0, 1.0])


def test_a_scheme_of_the_current_age_without_bounds_leaves_unknown_ages_uncategorised(tmp_path):
    """A user's scheme of 10-year risk from the current age but without age bounds: a person
    of unknown age gets no category, and the note says the age is what is missing (before,
    'measure not computable (age or rate tables)')."""
    scheme = tmp_path / "ten-year.toml"
    scheme.write_text(
        'name = "ten-year"\nsource = "a local policy"\n[measure]\nkind = "absolute_risk"\n'
        'from_age = "current"\nyears = 10\n[[category]]\nlabel = "low"\nupper = 5\n'
        '[[category]]\nlabel = "high"\nlower = 5\n'
    )
    # a scheme naming no cancer gets no default rate table: the rates are given
    frame = _categorise(
        str(scheme),
        [math.nan, 50.0],
        scores=[0.0, 0.0],
        pathway=None,
        incidence="us-seer-female-breast-incidence",
    )
    assert frame["category"].isna().tolist() == [True, False]
    assert frame["category_note"][0] == (
        "age unknown: ten-year categorises absolute risk (%) 10-year from current age"
    )


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ('applies_from_age = "55"', "not a number of years"),
        ("applies_from_age = -1", "not an age within 0-150"),
        ("applies_to_age = 1000", "not an age within 0-150"),
        ("applies_to_age = nan", "not an age within 0-150"),
        ("applies_from_age = 70\napplies_to_age = 55", "above applies_to_age"),
    ],
)
def test_scheme_age_bounds_are_checked_when_loaded(tmp_path, bounds, message):
    path = tmp_path / "s.toml"
    path.write_text(
        f'name = "s"\nsource = "x"\n[measure]\nkind = "percentile"\n{bounds}\n'
        '[[category]]\nlabel = "a"\nupper = 50\n[[category]]\nlabel = "b"\nlower = 50\n'
    )
    with pytest.raises(CalibrationError, match=message):
        load_scheme(path)


def test_the_cli_refuses_an_age_bounded_scheme_without_ages(tmp_path, monkeypatch, capsys):
    scores = write_scores(tmp_path / "scores.tsv", {"PGS000662": np.linspace(-2, 2, 30)})
    out = tmp_path / "c.tsv"
    argv = ["categorise", "--scores", str(scores), "--scheme", "barcode1-prostate"]
    assert prs.cli.main([*argv, "--out", str(out)]) == EXIT_CODES[CalibrationError]
    assert "applies to ages 55-69" in capsys.readouterr().err
    assert not out.exists()
