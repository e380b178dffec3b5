"""Exports and statements (issue 11, item 8): the statement fields on every per-person row and
the CanRisk ``##PRS_BC=alpha=..., zscore=...`` line for breast scores."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import (
    PUBLISHED_ALPHAS,
    STATEMENT_CAVEATS,
    STATEMENT_FIELDS,
    canrisk_prs,
    canrisk_table,
    write_canrisk,
)
from prs.calibrate.reference import build_reference, reference_from_parameters, save_reference
from prs.errors import CalibrationError, CalibrationWarning
from tests.builders import quiet_categorise, traited_scores

REFERENCE = build_reference(np.random.default_rng(8).normal(size=500), check=False)


_scores = traited_scores
_quiet = quiet_categorise


# -- statements -----------------------------------------------------------------------------
def test_every_row_carries_the_statement_fields_with_their_values():
    ref = reference_from_parameters(
        mean=0.0, sd=1.0, n=1234, source="Mavaddat 2019 UK controls", score_id="PGS000004"
    )
    out = _quiet(
        scores=_scores([-1.0, 0.0, 2.5], "EFO_0000305", trait="breast carcinoma"),
        reference=ref,
        or_per_sd=1.61,
        age=45,
        sex="female",
    )
    frame = out.to_frame()
    assert all(key in frame.columns for key in STATEMENT_FIELDS)
    assert frame[list(STATEMENT_FIELDS)].notna().all().all()
    assert (frame["statement_score_id"] == "PGS000004").all()
    # the scores table carries no development ancestry today
    assert (frame["statement_development_ancestry"] == "not stated").all()
    ref_text = frame["statement_reference"].unique()
    assert ref_text.size == 1
    assert "n=1234" in ref_text[0] and "Mavaddat 2019 UK controls" in ref_text[0]
    rates = frame["statement_rates_population"].unique()
    assert rates.size == 1
    # the shipped tables' '# population:' lines
    assert "United States, women (all races)" in rates[0]
    assert "competing mortality us-female-competing-mortality: United States, women" in rates[0]
    assert (frame["statement_model"] == "PRS only").all()
    caveats = frame["statement_caveats"].unique()
    assert caveats.tolist() == [STATEMENT_CAVEATS]
    for words in ("Not a diagnosis", "low score does not rule out risk", "population only"):
        assert words in caveats[0]
    assert out.inputs["statements"]["statement_model"] == "PRS only"


def test_statements_self_reference_and_no_rates():
    # a percentile scheme needs no rates: the statement says none were used
    frame = _quiet(scores=np.array([0.0, 1.0, 2.0]), scheme="top-5-percent", pathway=None)
    frame = frame.to_frame()
    assert (frame["statement_score_id"] == "not stated").all()
    assert "self-referential" in frame["statement_reference"][0]
    assert "n=3" in frame["statement_reference"][0]
    assert frame["statement_rates_population"][0].startswith("no rate tables used")


def test_statement_development_ancestry_from_score_metadata():
    """When the scores table carries the development ancestry (``prs score`` writes it from
    the scoring file's header), the statement shows it rather than "not stated"."""
    with_ancestry = _scores([0.0, 1.0], "EFO_0000305").assign(development_ancestry="European")
    frame = _quiet(scores=with_ancestry, reference=REFERENCE, or_per_sd=1.61, age=45).to_frame()
    assert (frame["statement_development_ancestry"] == "European").all()
    without = _quiet(
        scores=_scores([0.0, 1.0], "EFO_0000305"), reference=REFERENCE, or_per_sd=1.61, age=45
    ).to_frame()
    assert (without["statement_development_ancestry"] == "not stated").all()
    # the user's statement wins
    frame = _quiet(
        scores=_scores([0.0, 1.0], "EFO_0000305"), reference=REFERENCE, or_per_sd=1.61, age=45,
        development_ancestry="European (BCAC)",
    ).to_frame()  # fmt: skip
    assert (frame["statement_development_ancestry"] == "European (BCAC)").all()


# -- CanRisk --------------------------------------------------------------------------------
def test_canrisk_line_form():
    # the example header of the CanRisk Pedigree Data v2/v3 specification
    assert canrisk_prs([1.8], 0.45) == ["##PRS_BC=alpha=0.45, zscore=1.8"]
    lines = canrisk_prs(np.array([-0.123456789, 2.0]), 0.501)
    assert lines == ["##PRS_BC=alpha=0.501, zscore=-0.123457", "##PRS_BC=alpha=0.501, zscore=2"]


@pytest.mark.parametrize("z", [np.nan, np.inf, -np.inf])
def test_canrisk_refuses_non_finite_z(z):
    with pytest.raises(CalibrationError, match=r"person 2 .*not finite"):
        canrisk_prs([0.5, z], 0.45)


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.2, np.nan, "x"])
def test_canrisk_refuses_alpha_outside_0_1(alpha):
    with pytest.raises(CalibrationError, match="alpha"):
        canrisk_prs([0.5], alpha)


def test_canrisk_table_breast_score_user_alpha():
    out = _quiet(
        scores=_scores([-1.0, 0.0, 2.5], "EFO_0000305"), reference=REFERENCE, or_per_sd=1.61,
        age=45, sex="female",
    )  # fmt: skip
    table = canrisk_table(out, alpha=0.45, version="my-lab-2026")
    assert table["sample_id"].tolist() == ["s0", "s1", "s2"]
    np.testing.assert_array_equal(table["zscore"].to_numpy(), out.z)
    assert (table["alpha_version"] == "my-lab-2026").all()
    assert (table["alpha_source"] == "user-supplied").all()
    assert table["canrisk_prs_bc"][1] == f"##PRS_BC=alpha=0.45, zscore={out.z[1]:.6g}"
    assert (table["score_id"] == "PGS000004").all()


def test_canrisk_published_alpha_needs_a_version():
    out = _quiet(
        scores=_scores([0.0, 1.0], "EFO_0000305"), reference=REFERENCE, or_per_sd=1.61, age=45
    )
    with pytest.raises(CalibrationError, match="name the parameter version"):
        canrisk_table(out)
    with pytest.raises(CalibrationError, match="'v9' is not one of them"):
        canrisk_table(out, version="v9")
    version = "canrisk-faq-bcac313-v0.501"
    table = canrisk_table(out, version=version)
    assert (table["alpha"] == PUBLISHED_ALPHAS["PGS000004"][version].alpha).all()
    assert (table["alpha"] == 0.501).all()
    assert (table["alpha_version"] == version).all()
    assert table["alpha_source"][0].startswith("CanRisk FAQ")


def test_canrisk_no_published_alpha_for_other_scores():
    out = _quiet(
        scores=_scores([0.0, 1.0], "EFO_0000305", score="PGS000335"), reference=REFERENCE,
        or_per_sd=1.61, age=45,
    )  # fmt: skip
    with pytest.raises(CalibrationError, match="no published CanRisk alpha for score PGS000335"):
        canrisk_table(out)


def test_canrisk_refuses_non_breast_score():
    # standing height, let through categorise by the research override: still no CanRisk line
    out = _quiet(
        scores=_scores([0.0, 1.0], "EFO_0004339", score="PGS001229", trait="Height"),
        reference=REFERENCE, or_per_sd=1.61, age=45, allow_mismatch=True,
    )  # fmt: skip
    with pytest.raises(CalibrationError, match="PGS001229 is for trait 'Height'"):
        canrisk_table(out, alpha=0.45)


def test_canrisk_untraited_score_needs_a_breast_scheme():
    out = _quiet(scores=np.array([0.0, 1.0, 2.0]), scheme="top-5-percent", pathway=None)
    with pytest.raises(CalibrationError, match="no trait metadata"):
        canrisk_table(out, alpha=0.45)
    # no trait metadata, but a breast scheme: accepted (the scheme binds the use)
    out = _quiet(scores=np.array([0.0, 1.0, 2.0]), reference=REFERENCE, or_per_sd=1.61, age=45)
    assert len(canrisk_table(out, alpha=0.45)) == 3


def test_write_canrisk_is_atomic_table(tmp_path):
    out = _quiet(
        scores=_scores([0.0, 1.0], "EFO_0000305"), reference=REFERENCE, or_per_sd=1.61, age=45
    )
    path = write_canrisk(out, tmp_path / "canrisk.tsv", alpha=0.45)
    back = pd.read_csv(path, sep="\t")
    assert back["canrisk_prs_bc"].str.startswith("##PRS_BC=alpha=0.45, zscore=").all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canrisk.tsv"]


def _cli_inputs(tmp_path, trait_efo, score="PGS000004"):
    scores = tmp_path / "scores.tsv"
    _scores([0.0, 1.0, 2.0], trait_efo, score=score).to_csv(scores, sep="\t", index=False)
    reference = tmp_path / "reference.json"
    save_reference(REFERENCE, reference)
    return ["categorise", "--scores", str(scores), "--reference", str(reference),
            "--or-per-sd", "1.61", "--age", "45", "--sex", "female"]  # fmt: skip


def test_cli_canrisk_published_alpha_recorded_in_inputs(tmp_path, monkeypatch):
    base = _cli_inputs(tmp_path, "EFO_0000305")
    out, canrisk = tmp_path / "cat.tsv", tmp_path / "canrisk.tsv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        code = prs.cli.main([*base, "--out", str(out), "--canrisk", str(canrisk),
                             "--canrisk-alpha-version", "canrisk-faq-bcac313-v0.444",
                             "--development-ancestry", "European"])  # fmt: skip
    assert code == 0
    frame = pd.read_csv(out, sep="\t")
    assert (frame["statement_development_ancestry"] == "European").all()
    assert (frame["statement_model"] == "PRS only").all()
    table = pd.read_csv(canrisk, sep="\t")
    assert table["sample_id"].tolist() == ["s0", "s1", "s2"]
    np.testing.assert_allclose(table["zscore"], frame["z"])
    assert table["canrisk_prs_bc"].str.startswith("##PRS_BC=alpha=0.444, zscore=").all()
    inputs = json.loads((tmp_path / "cat.inputs.json").read_text())
    assert inputs["canrisk"]["alpha"] == 0.444
    assert inputs["canrisk"]["alpha_version"] == "canrisk-faq-bcac313-v0.444"


def test_cli_canrisk_refusal_writes_nothing(tmp_path, monkeypatch):
    base = _cli_inputs(tmp_path, "EFO_0004339", score="PGS001229")
    out, canrisk = tmp_path / "cat.tsv", tmp_path / "canrisk.tsv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        code = prs.cli.main([*base, "--allow-mismatch", "--out", str(out),
                             "--canrisk", str(canrisk), "--canrisk-alpha", "0.45"])  # fmt: skip
        assert code == 8
        # an alpha without --canrisk is a mistake, not ignored
        assert prs.cli.main([*base, "--allow-mismatch", "--out", str(out),
                             "--canrisk-alpha", "0.45"]) == 8  # fmt: skip
    assert not out.exists() and not canrisk.exists()


def test_statement_reference_of_a_pc_adjustment_names_the_panel_size():
    from prs.calibrate import fit_ancestry_adjustment

    rng = np.random.default_rng(3)
    n = 300
    ids = [f"r{i}" for i in range(n)]
    pcs = pd.DataFrame({"IID": ids, **{f"PC{k}": rng.normal(size=n) for k in range(1, 5)}})
    panel = pd.DataFrame(
        {"sample_id": ids, "score": "PGS000004", "SUM": pcs["PC1"] + rng.normal(size=n)}
    )
    adj = fit_ancestry_adjustment(panel, pcs)
    frame = _quiet(
        scores=panel.iloc[:5], pcs=pcs.iloc[:5], ancestry=adj, scheme="top-5-percent",
        pathway=None,
    ).to_frame()  # fmt: skip
    text = frame["statement_reference"].unique()
    assert text.size == 1
    assert text[0].startswith("PC adjustment (mean+variance") and "n=300" in text[0]


def test_statement_reference_names_the_file_the_reference_was_built_from(tmp_path):
    """A reference built from a scores.tsv records the file (provenance ``source.path``);
    the statement names it, also after a save and load, instead of 'source not recorded'."""
    from prs.calibrate.reference import load_reference

    rng = np.random.default_rng(12)
    path = tmp_path / "reference-scores.tsv"
    traited_scores(rng.normal(size=800), None).to_csv(path, sep="\t", index=False)
    ref = build_reference(path, score_id="PGS000004", check=False)
    assert ref.provenance["source"]["path"] == str(path.resolve())
    saved = tmp_path / "ref.json"
    save_reference(ref, saved)
    for reference in (ref, load_reference(saved)):
        frame = _quiet(
            scores=_scores([0.0, 1.0], None), reference=reference, scheme="top-5-percent",
            pathway=None,
        ).to_frame()  # fmt: skip
        text = frame["statement_reference"].unique()
        assert text.size == 1
        assert str(path.resolve()) in text[0] and "n=800" in text[0], text[0]
        assert "source not recorded" not in text[0]


def test_statement_reference_of_a_table_names_its_citation_and_file(tmp_path):
    from prs.calibrate.reference import reference_from_quantiles

    table = tmp_path / "published.tsv"
    table.write_text("percentile\tSUM\n1\t-2.33\n50\t0\n99\t2.33\n")
    ref = reference_from_quantiles(
        [1, 50, 99], [-2.33, 0.0, 2.33], n=5000, source="Mavaddat 2019", source_file=table
    )
    frame = _quiet(
        scores=_scores([0.0], None), reference=ref, scheme="top-5-percent", pathway=None
    ).to_frame()
    text = frame["statement_reference"].unique()[0]
    assert f"Mavaddat 2019 ({table.resolve()})" in text and "n=5000" in text, text
