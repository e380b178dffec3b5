"""``prs score --missing reference-freq --ancestry-reference DIR`` (issue 14 item 5): the
command line's sums equal the hand computation of tests/test_reference_freq.py (a missing
call counts 2 f, f the effect allele's frequency among the reference samples of the person's
population, counted from the generated genotypes); each option without the other is refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from prs.cli import main
from tests.test_reference_freq import _hand_sums, _scorefile, cohort  # noqa: F401 (fixture)


def _args(cohort, scorefile, out) -> list[str]:  # noqa: F811
    return [
        *("score", "--vcf", str(cohort["target_vcf"]), "--scorefile", str(scorefile)),
        *("--out", str(out), "-q"),
    ]


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
def test_reference_frequencies_through_the_cli(cohort, tmp_path):  # noqa: F811
    path, expected = _scorefile(cohort, tmp_path / "score.txt")
    out = tmp_path / "out"
    panel = cohort["tmp"] / "panel"
    args = [*_args(cohort, path, out), "--missing", "reference-freq"]
    assert main([*args, "--ancestry-reference", str(panel)]) == 0
    scores = pd.read_csv(out / "scores.tsv", sep="\t", float_precision="round_trip")
    assert scores["sample_id"].tolist() == cohort["target_ids"]
    np.testing.assert_allclose(scores["SUM"], _hand_sums(cohort, expected), rtol=1e-12)
    info = json.loads((out / "provenance.json").read_text())["reference_frequencies"]
    assert [s["population"] for s in info["samples"]] == [
        ["AAA", "BBB"][p] for p in cohort["target_pop"]
    ]
    report = pd.read_csv(out / "match_report.tsv", sep="\t", keep_default_na=False)
    assert len(report) == 12 and set(report["outcome"]) == {"matched"}


def test_each_option_needs_the_other(cohort, tmp_path, capsys):  # noqa: F811
    path, _ = _scorefile(cohort, tmp_path / "score.txt")
    out = tmp_path / "out"
    assert main([*_args(cohort, path, out), "--missing", "reference-freq"]) != 0
    assert "--missing reference-freq needs --ancestry-reference" in capsys.readouterr().err
    panel = str(cohort["tmp"] / "panel")
    assert main([*_args(cohort, path, out), "--ancestry-reference", panel]) != 0
    assert "--ancestry-reference is used only with --missing reference-freq" in (
        capsys.readouterr().err
    )
    assert not out.exists()
