"""``prs score --sample-sheet`` with ``--layout``/``--compress``/``--id-delim``: every
sampleset's directory in each layout, and the combined pgsc_calc table over samplesets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from prs.cli import main
from prs.samplesheet import score_samplesheet
from tests.test_samplesheet import _three, cohorts  # noqa: F401  (the fixture)


def test_sample_sheet_layouts(cohorts, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    sheet, sf = _three(cohorts), cohorts["scorefile"]
    args = ["score", "--sample-sheet", str(sheet), "--scorefile", str(sf), "--out", str(out)]
    assert main([*args, "--layout", "long", "pgsc", "plink", "--compress", "gzip", "-q"]) == 0
    api = score_samplesheet(sheet, sf)
    combined = pd.read_csv(out / "aggregated_scores.txt.gz", sep="\t", float_precision="round_trip")
    assert list(combined.columns) == ["sampleset", "FID", "IID", "PGS", "SUM", "DENOM", "AVG"]
    long = api.to_frame()
    assert combined["sampleset"].tolist() == long["sampleset"].tolist()
    np.testing.assert_array_equal(combined["SUM"], long["SUM"])
    for name, result in api.results.items():
        own = pd.read_csv(out / name / "aggregated_scores.txt.gz", sep="\t")
        assert set(own["sampleset"]) == {name}
        sscore = pd.read_csv(
            out / name / "scores.sscore.gz", sep="\t", float_precision="round_trip"
        )
        np.testing.assert_array_equal(sscore[f"{result.score_ids[0]}_SUM"], result.sums[:, 0])
    assert (out / "scores.tsv.gz").is_file()
