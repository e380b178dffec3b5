"""Binding (issue 11, item 1, and the "never a breast fallback" rule of item 3): a category
rests on a scheme for one cancer and sex; the score, the rate tables and the people must be
what the scheme is for, or be let through only by an explicit, recorded research override."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import categorise
from prs.calibrate.absolute import available_rate_tables, load_rate_table
from prs.calibrate.reference import build_reference, save_reference
from prs.calibrate.schemes import (
    CANCER_TERMS,
    SEXES,
    available_pathways,
    available_schemes,
    load_pathway,
    load_scheme,
)
from prs.errors import CalibrationError, CalibrationWarning
from tests.builders import quiet_categorise, traited_scores

REFERENCE = build_reference(np.random.default_rng(5).normal(size=2000), check=False)
BREAST_TABLE = "us-seer-female-breast-incidence"


_scores = traited_scores
_quiet = quiet_categorise


def _rate_csv(path: Path, header: str) -> Path:
    """A copy of the shipped breast incidence with another comment header."""
    rows = load_rate_table(BREAST_TABLE).to_frame().to_csv(index=False)
    path.write_text(header + rows)
    return path


# -- declarations -----------------------------------------------------------------------------
def test_every_shipped_scheme_and_pathway_declares_its_cancer_terms_and_sex():
    for name in available_schemes():
        scheme = load_scheme(name)
        assert scheme.sex in SEXES
        if scheme.cancer == "any":
            assert scheme.cancer_efo == ()
        else:
            assert scheme.cancer_efo == CANCER_TERMS[scheme.cancer], name
    for name in available_pathways():
        pathway = load_pathway(name)
        assert pathway.cancer_efo == CANCER_TERMS[pathway.cancer], name
        assert pathway.sex in SEXES
    assert load_scheme("nice-cg164-lifetime").sex == "female"
    assert load_scheme("barcode1-prostate").sex == "male"
    assert load_scheme("crc-relative-risk-2").sex == "any"
    assert "EFO_0005842" in CANCER_TERMS["colorectal"]  # as the PGS Catalog maps CRC scores


def test_every_shipped_rate_table_declares_cancer_sex_population_registry_years_source():
    for name in available_rate_tables():
        table = load_rate_table(name)
        for key in ("kind", "cancer", "sex", "population", "registry", "years", "source"):
            assert table.meta.get(key), (name, key)
        assert table.kind in ("incidence", "competing mortality")
    assert load_rate_table(BREAST_TABLE).cancer == "breast"
    assert load_rate_table(BREAST_TABLE).sex == "female"


# -- rates picked from the scheme, never a breast fallback ------------------------------------
def test_breast_scheme_picks_the_declared_female_breast_tables():
    out = _quiet(scores=[0.0, 1.0], reference=REFERENCE, or_per_sd=1.61, age=45)
    assert out.inputs["incidence"] == BREAST_TABLE
    assert out.inputs["mortality"] == "us-female-competing-mortality"
    assert out.inputs["incidence_declared"]["cancer"] == "breast"
    assert out.inputs["mortality_declared"]["sex"] == "female"


def test_colorectal_pathway_is_refused_without_colorectal_rates_not_run_on_breast():
    """Before: 'colorectal-risk-equivalent' gave a screening start age of 36 from breast
    incidence. Now: with no sex given (the shipped colorectal tables are per sex), refused,
    naming the sex or the table to supply."""
    with pytest.raises(CalibrationError) as info:
        _quiet(scores=[0.0, 2.0], reference=REFERENCE, or_per_sd=1.3, age=45,
               scheme="crc-relative-risk-2")  # fmt: skip
    text = str(info.value)
    assert "the shipped colorectal tables are per sex" in text and "--sex-file" in text
    assert "--incidence FILE" in text and "--mortality FILE" in text
    assert "risk-equivalent age" in text


def test_an_absolute_risk_scheme_for_a_cancer_and_sex_without_tables_is_refused(tmp_path):
    """Prostate tables ship now (England, GBD 2019); a both-sexes colorectal absolute-risk
    scheme has no table declared for any sex and is refused, never run on other rates."""
    scheme = tmp_path / "crc-10y.toml"
    scheme.write_text(
        'name = "crc-10y"\ncancer = "colorectal"\nsex = "any"\nsource = "x"\n'
        '[measure]\nkind = "absolute_risk"\nwindow = "from-current-age"\nyears = 10\n'
        '[[category]]\nlabel = "low"\nupper = 5\n[[category]]\nlabel = "high"\nlower = 5\n'
    )
    with pytest.raises(CalibrationError, match="the shipped colorectal tables are per sex"):
        _quiet(scores=[0.0], reference=REFERENCE, or_per_sd=1.5, age=60, scheme=str(scheme))


def test_a_relative_risk_scheme_without_rates_stays_usable_without_absolute_risks():
    """crc-relative-risk-2 without its pathway needs no rates: categorised, with no risk
    columns from any other cancer's or sex's tables (before: breast rates). No sex given:
    the per-sex colorectal tables cannot be chosen."""
    with pytest.warns(CalibrationWarning, match="absolute risks not computed"):
        out = categorise(
            _scores([0.0, 2.0], "EFO_0005842"), reference=REFERENCE, or_per_sd=1.5,
            age=60, scheme="crc-relative-risk-2", pathway=None,
        )  # fmt: skip
    frame = out.to_frame()
    assert frame["category"].notna().all()
    assert not [c for c in frame.columns if c.startswith("risk_") and c[5].isdigit()]
    assert "risk_to_80" not in frame
    assert out.inputs["incidence"] is None
    assert "colorectal" in out.inputs["absolute_risks_not_computed"]


# -- refusals: rate table ---------------------------------------------------------------------
def test_a_rate_table_of_another_cancer_is_refused_naming_both(tmp_path):
    table = _rate_csv(tmp_path / "p.csv", "# kind: incidence\n# cancer: prostate\n# sex: male\n")
    with pytest.raises(CalibrationError) as info:
        _quiet(scores=[0.0], reference=REFERENCE, or_per_sd=1.61, age=45,
               incidence=str(table), mortality=None)  # fmt: skip
    text = str(info.value)
    assert "is for prostate cancer" in text and "nice-cg164-lifetime is for breast" in text


def test_a_rate_table_of_the_other_sex_is_refused(tmp_path):
    table = _rate_csv(tmp_path / "m.csv", "# kind: incidence\n# cancer: breast\n# sex: male\n")
    with pytest.raises(CalibrationError, match="is for sex male, scheme nice-cg164-lifetime"):
        _quiet(scores=[0.0], reference=REFERENCE, or_per_sd=1.61, age=45,
               incidence=str(table), mortality=None)  # fmt: skip


def test_an_undeclared_rate_table_cannot_be_checked_and_says_so(tmp_path):
    table = _rate_csv(tmp_path / "plain.csv", "")
    with pytest.warns(CalibrationWarning, match="declares no cancer"):
        out = categorise(
            _scores([0.0], "EFO_0000305"), reference=REFERENCE, or_per_sd=1.61, age=45,
            incidence=str(table), mortality=None, sex="female",
        )  # fmt: skip
    assert any("declares no cancer" in t for t in out.inputs["binding_unchecked"])


# -- refusals: the score's trait ---------------------------------------------------------------
def test_height_score_is_refused_for_the_nice_breast_scheme_issue_example():
    """The issue's case: PGS001229 (height, EFO_0004339) put all 1000 Genomes samples, men
    included, into the NICE breast pathway. Now refused, naming both sides."""
    height = _scores(np.linspace(-2, 2, 20), "EFO_0004339", "PGS001229", "Height")
    with pytest.raises(CalibrationError) as info:
        _quiet(scores=height, reference=None, or_per_sd=1.61, age=45)
    text = str(info.value)
    assert "PGS001229" in text and "'Height'" in text and "EFO_0004339" in text
    assert "nice-cg164-lifetime is for breast (EFO_0000305, MONDO_0007254)" in text
    # the trait is checked for schemes that need no rates as well
    with pytest.raises(CalibrationError, match="barcode1-prostate is for prostate"):
        _quiet(scores=height, reference=None, scheme="barcode1-prostate", age=60)


def test_a_breast_score_passes_by_efo_or_mondo_term():
    for term in ("EFO_0000305", "MONDO_0007254|EFO_0000305"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", CalibrationWarning)
            out = categorise(
                _scores([0.0, 1.0], term), reference=REFERENCE, or_per_sd=1.61, age=45,
                sex="female",
            )  # fmt: skip
        assert out.inputs["binding_unchecked"] == []
        assert out.to_frame()["binding_override"].isna().all()


def test_a_score_without_trait_metadata_is_a_recorded_cannot_check_warning():
    with pytest.warns(CalibrationWarning, match="cannot check: score PGS000004 carries no trait"):
        out = categorise(
            _scores([0.0], None), reference=REFERENCE, or_per_sd=1.61, age=45, sex="female"
        )
    assert len(out.inputs["binding_unchecked"]) == 1


def test_a_pathway_of_another_cancer_is_refused(tmp_path):
    pathway = tmp_path / "breast-for-crc.toml"
    pathway.write_text(
        'name = "breast-for-crc"\ncancer = "breast"\nsource = "x"\n'
        '[actions.average]\naction = "routine"\n[actions.elevated]\naction = "mammography"\n'
    )
    with pytest.raises(CalibrationError) as info:
        _quiet(scores=_scores([0.0], "EFO_0005842"), reference=REFERENCE, or_per_sd=1.3,
               scheme="crc-relative-risk-2", pathway=str(pathway))  # fmt: skip
    assert "pathway breast-for-crc is for breast cancer, scheme crc-relative-risk-2 is for " in (
        str(info.value)
    )


# -- refusals: the person's sex ------------------------------------------------------------------
def test_men_are_refused_by_a_breast_scheme_for_women():
    scores = _scores([0.0, 1.0, 2.0], "EFO_0000305")
    with pytest.raises(CalibrationError) as info:
        _quiet(scores=scores, reference=REFERENCE, or_per_sd=1.61, age=45,
               sex={"s0": "female", "s1": "male", "s2": "F"})  # fmt: skip
    text = str(info.value)
    assert "1 of 3 people are not of sex female (first: s1, sex male)" in text
    assert "nice-cg164-lifetime applies to sex female" in text


def test_unknown_sex_under_a_sex_specific_scheme_gets_no_category_with_the_reason():
    scores = _scores([0.0, 1.0, 2.0, 2.5], "EFO_0000305")
    with pytest.warns(CalibrationWarning, match="2 of 4 people have no known sex"):
        out = categorise(
            scores, reference=REFERENCE, or_per_sd=1.61, age=45,
            sex=pd.Series({"s0": 2, "s1": "0", "s2": "female"}),  # s3 absent; PLINK 2 = female
        )  # fmt: skip
    frame = out.to_frame()
    assert frame["sex"].tolist() == ["female", None, "female", None]
    assert frame["category"].isna().tolist() == [False, True, False, True]
    assert (
        frame["category_note"][1] == "sex unknown: nice-cg164-lifetime applies to sex female only"
    )
    # a scheme for both sexes needs no sex
    out = _quiet(scores=scores, reference=REFERENCE, scheme="top-5-percent", sex=[None] * 4)
    assert out.to_frame()["category"].notna().all()


def test_a_sex_that_is_not_a_sex_code_is_refused():
    with pytest.raises(CalibrationError, match="sex of sample s0: 'yes' is not female/male"):
        _quiet(scores=_scores([0.0], "EFO_0000305"), reference=REFERENCE, sex="yes")


def test_no_sex_at_all_is_a_recorded_cannot_check_warning():
    with pytest.warns(CalibrationWarning, match="cannot check: no sex given"):
        out = categorise(_scores([0.0], "EFO_0000305"), reference=REFERENCE, or_per_sd=1.61,
                         age=45)  # fmt: skip
    assert any("no sex given" in t for t in out.inputs["binding_unchecked"])


# -- the research override ------------------------------------------------------------------------
def test_allow_mismatch_lets_the_height_score_through_and_names_it_in_every_row():
    height = _scores(np.linspace(-2, 2, 10), "EFO_0004339", "PGS001229", "Height")
    with pytest.warns(CalibrationWarning, match="mismatch overridden"):
        out = categorise(height, reference=None, or_per_sd=1.61, age=45, sex="female",
                         allow_mismatch=True)  # fmt: skip
    frame = out.to_frame()
    assert frame["category"].notna().all()
    assert frame["binding_override"].str.contains("PGS001229 is for trait 'Height'").all()
    assert len(out.inputs["binding_overrides"]) == 1


def test_allow_mismatch_for_sex_marks_only_the_rows_it_affects():
    scores = _scores([0.0, 1.0, 2.0], "EFO_0000305")
    out = _quiet(scores=scores, reference=REFERENCE, or_per_sd=1.61, age=45,
                 sex=["female", "male", "female"], allow_mismatch=True)  # fmt: skip
    frame = out.to_frame()
    assert frame["binding_override"].notna().tolist() == [False, True, False]
    assert "not of sex female" in frame["binding_override"][1]
    assert frame["category"].notna().all()


def test_cli_sex_file_refusal_and_override_into_rows_and_inputs_json(tmp_path, monkeypatch):
    scores = tmp_path / "scores.tsv"
    _scores([0.0, 1.0, 2.0], "EFO_0000305").to_csv(scores, sep="\t", index=False)
    reference = tmp_path / "reference.json"
    save_reference(REFERENCE, reference)
    sexes = tmp_path / "sex.tsv"
    sexes.write_text("sample_id\tsex\ns0\tF\ns1\tM\ns2\t2\n")
    base = ["categorise", "--scores", str(scores), "--reference", str(reference),
            "--or-per-sd", "1.61", "--age", "45", "--sex-file", str(sexes)]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        assert prs.cli.main([*base, "--out", str(tmp_path / "a.tsv")]) == 8
        out = tmp_path / "b.tsv"
        assert prs.cli.main([*base, "--allow-mismatch", "--out", str(out)]) == 0
    frame = pd.read_csv(out, sep="\t")
    assert frame["binding_override"].notna().tolist() == [False, True, False]
    inputs = json.loads((tmp_path / "b.inputs.json").read_text())
    assert len(inputs["binding_overrides"]) == 1
    assert inputs["scheme_sex"] == "female" and inputs["sex_given"] is True


def test_issue_example_on_1000_genomes_height_score_and_men_under_nice():
    """PGS001229 (standing height) on the 1000 Genomes reference panel of pgsc_calc's ancestry
    test data, with each sample's sex from its .psam: refused; with the override every row
    names the trait mismatch and the men's rows the sex mismatch too."""
    from tests.builders import shared_file

    agg = pd.read_csv(
        shared_file("expected", "pygscatalog-ancestry", "aggregated_scores.txt"), sep="\t"
    )
    agg = agg[agg["sampleset"] == "reference"]
    header = {}
    with shared_file("pgsc_calc", "scorefiles", "PGS001229_22.txt").open() as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].strip().partition("=")
            header[key] = value
    assert header["trait_efo"] == "EFO_0004339"
    scores = pd.DataFrame(
        {
            "sample_id": agg["IID"].astype(str),
            "score": "PGS001229",
            "SUM": agg["SUM"],
            "trait_reported": header["trait_reported"],
            "trait_efo": header["trait_efo"],
        }
    )
    psam = pd.read_csv(shared_file("expected", "pygscatalog-ancestry", "ref.psam"), sep="\t")
    sex = psam.set_index("#IID")["SEX"]
    with pytest.raises(CalibrationError, match="trait 'Standing height' \\(EFO_0004339\\)"):
        _quiet(scores=scores, reference=None, or_per_sd=1.61, age=45, sex=sex)
    out = _quiet(scores=scores, reference=None, or_per_sd=1.61, age=45, sex=sex,
                 allow_mismatch=True)  # fmt: skip
    frame = out.to_frame()
    men = (sex.reindex(frame["sample_id"]) == 1).to_numpy()
    assert men.sum() > 1000  # about half of the panel
    assert frame["binding_override"].str.contains("Standing height").all()
    assert frame["binding_override"].str.contains("not of sex female").to_numpy().tolist() == (
        men.tolist()
    )
    assert len(out.inputs["binding_overrides"]) == 2


def test_supplied_colorectal_tables_are_used_and_a_missing_mortality_is_asked_for(tmp_path):
    """The refusal's remedy works: with the user's colorectal incidence and mortality (here
    breast numbers relabelled, only to exercise the path) the colorectal scheme runs; with
    incidence alone the message asks for the matching mortality table, not a breast one."""
    header = "# kind: {}\n# cancer: colorectal\n# sex: any\n# population: test\n"
    inc = _rate_csv(tmp_path / "pi.csv", header.format("incidence"))
    mort = _rate_csv(tmp_path / "pm.csv", header.format("competing mortality"))
    scheme = tmp_path / "crc-10y.toml"
    scheme.write_text(
        'name = "crc-10y"\ncancer = "colorectal"\nsex = "any"\nsource = "x"\n'
        '[measure]\nkind = "absolute_risk"\nwindow = "from-current-age"\nyears = 10\n'
        '[[category]]\nlabel = "low"\nupper = 5\n[[category]]\nlabel = "high"\nlower = 5\n'
    )
    scores = _scores([0.0, 1.0], "EFO_0005842")
    with pytest.raises(CalibrationError, match="no competing-mortality table is shipped for "
                       "colorectal cancer"):  # fmt: skip
        _quiet(scores=scores, reference=REFERENCE, or_per_sd=1.5, age=60, scheme=str(scheme),
               incidence=str(inc), sex="male")  # fmt: skip
    out = _quiet(scores=scores, reference=REFERENCE, or_per_sd=1.5, age=60, scheme=str(scheme),
                 incidence=str(inc), mortality=str(mort), sex="male")  # fmt: skip
    assert out.to_frame()["category"].notna().all()
    assert out.inputs["incidence_declared"]["cancer"] == "colorectal"
    assert out.inputs["binding_overrides"] == [] and out.inputs["binding_unchecked"] == []
