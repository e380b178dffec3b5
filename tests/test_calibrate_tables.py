"""Other tools' score tables read by prs.calibrate (issue 11, item 7): PLINK 2 .sscore(.zst),
pgsc_calc aggregated_scores.txt(.gz), prs long and wide; IDs are IIDs, never row numbers; an
unknown layout, a missing score, sampleset or column is an error listing what is there."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

import prs.cli
from prs.calibrate import load_reference
from prs.calibrate._inputs import read_scores
from prs.errors import EXIT_CODES, CalibrationError
from tests.builders import shared_file

pytestmark = pytest.mark.filterwarnings("ignore::prs.calibrate.reference.CalibrationWarning")

PGSC_1000G = ("expected", "pgsc_calc-correlation-1000G", "PGS_SUM_alpha5.txt.gz")
PGSC_SCORES = [f"PGS000{n}_hmPOS_GRCh37" for n in ("018", "027", "039", "137", "727", "728", "729")]

# PLINK 2 --score with cols=+scoresums, FID present and differing from IID on one row; IIDs
# that are numbers with leading zeros must stay text.
SSCORE = (
    "#FID\tIID\tALLELE_CT\tDENOM\tNAMED_ALLELE_DOSAGE_SUM\tPGS1_AVG\tPGS2_AVG\tPGS1_SUM\tPGS2_SUM\n"
    "F1\t007\t10\t10\t4\t0.1\t0.01\t1.0\t0.1\n"
    "F2\tS2\t10\t10\t5\t0.25\t0.02\t2.5\t0.2\n"
    "S3\tS3\t10\t10\t6\t-0.05\t0.03\t-0.5\t0.3\n"
)


def _write(path, text: str):
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    elif path.suffix == ".zst":
        zstandard = pytest.importorskip("zstandard", reason="zstandard not installed")
        path.write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def run(monkeypatch):
    return prs.cli.main


# -- PLINK 2 .sscore -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["plink.sscore", "plink.sscore.zst"])
def test_sscore_reads_iid_and_the_named_score_column(tmp_path, name):
    path = _write(tmp_path / name, SSCORE)
    col = read_scores(path, score_id="PGS2")
    assert col.sample_ids.tolist() == ["007", "S2", "S3"]  # IID, not FID, not row numbers
    assert col.values.tolist() == [0.1, 0.2, 0.3]
    assert (col.layout, col.score_id, col.value_column) == ("plink2-sscore", "PGS2", "PGS2_SUM")
    avg = read_scores(path, score_id="PGS1", column="AVG")
    assert avg.values.tolist() == [0.1, 0.25, -0.05] and avg.value_column == "PGS1_AVG"
    # the exact header is accepted as the column, and names the score
    exact = read_scores(path, column="PGS1_SUM")
    assert exact.score_id == "PGS1" and exact.values.tolist() == [1.0, 2.5, -0.5]
    assert "PLINK 2 .sscore" in exact.describe() and "PGS1_SUM" in exact.describe()


def test_sscore_with_several_scores_needs_one_and_lists_them(tmp_path):
    path = _write(tmp_path / "plink.sscore", SSCORE)
    with pytest.raises(CalibrationError, match=r"holds 2 scores \(PGS1, PGS2\)"):
        read_scores(path)  # NAMED_ALLELE_DOSAGE_SUM is not a score
    with pytest.raises(CalibrationError, match=r"score 'NO_SUCH' not found.*PGS1, PGS2"):
        read_scores(path, score_id="NO_SUCH")
    with pytest.raises(CalibrationError, match="belongs to score 'PGS1', not 'PGS2'"):
        read_scores(path, score_id="PGS2", column="PGS1_SUM")


def test_sscore_default_columns_iid_only_avg_only(tmp_path):
    """PLINK 2's default cols: #IID (no FID), PHENO1, averages only."""
    text = (
        "#IID\tPHENO1\tALLELE_CT\tDENOM\tNAMED_ALLELE_DOSAGE_SUM\tSCORE1_AVG\n"
        "A\t1\t4\t4\t1\t0.5\nB\t2\t4\t4\t2\t0.75\n"
    )
    path = _write(tmp_path / "plink.sscore", text)
    with pytest.raises(CalibrationError, match=r"no column SCORE1_SUM.*found SCORE1_AVG.*AVG"):
        read_scores(path)
    col = read_scores(path, column="AVG")
    assert col.score_id == "SCORE1" and col.sample_ids.tolist() == ["A", "B"]
    assert col.values.tolist() == [0.5, 0.75]


def test_sscore_repeated_iid_under_two_fids_is_refused(tmp_path):
    text = "#FID\tIID\tS_SUM\nF1\tX\t1\nF2\tX\t2\n"
    path = _write(tmp_path / "plink.sscore", text)
    with pytest.raises(CalibrationError, match=r"line 3: sample_id X appears more than once.*#FID"):
        read_scores(path)


def test_real_pgsc_calc_sscore_zst_matches_its_text():
    zstandard = pytest.importorskip("zstandard", reason="zstandard not installed")
    path = shared_file("pygscatalog", "expected", "cineca_22_additive_0.sscore.zst")
    text = zstandard.ZstdDecompressor().stream_reader(path.read_bytes()).read().decode()
    header, *rows = [line.split("\t") for line in text.splitlines() if line]
    assert header[:2] == ["#FID", "IID"]
    for score in ("PGS001229", "duplicatetest"):
        col = read_scores(path, score_id=score)
        i = header.index(f"{score}_SUM")
        assert col.sample_ids.tolist() == [r[1] for r in rows]
        assert col.values.tolist() == [float(r[i]) for r in rows]
        assert len(set(col.sample_ids)) == len(rows) == 2504
    with pytest.raises(CalibrationError, match=r"holds 2 scores \(PGS001229, duplicatetest\)"):
        read_scores(path)


# -- pgsc_calc aggregated_scores -----------------------------------------------------------
AGGREGATED = (
    "sampleset\tFID\tIID\tPGS\tSUM\tDENOM\tAVG\n"
    "ref\tR1\tR1\tPGS_A\t1.5\t10\t0.15\n"
    "ref\tR2\tR2\tPGS_A\t2.5\t10\t0.25\n"
    "ref\tR1\tR1\tPGS_B\t-1\t10\t-0.1\n"
    "ref\tR2\tR2\tPGS_B\t-2\t10\t-0.2\n"
    "cohort\tT1\tT1\tPGS_A\t3.5\t10\t0.35\n"
    "cohort\tT2\tR1\tPGS_A\t4.5\t10\t0.45\n"
)


@pytest.mark.parametrize("name", ["aggregated_scores.txt", "aggregated_scores.txt.gz"])
def test_pgsc_calc_table_one_score_one_sampleset(tmp_path, name):
    path = _write(tmp_path / name, AGGREGATED)
    col = read_scores(path, score_id="PGS_B")  # only in sampleset ref
    assert col.sample_ids.tolist() == ["R1", "R2"] and col.values.tolist() == [-1.0, -2.0]
    assert (col.layout, col.sampleset, col.value_column) == ("pgsc_calc", "ref", "SUM")
    # the same IID in two samplesets is two people: chosen by sampleset, never pooled
    cohort = read_scores(path, score_id="cohort:PGS_A", column="AVG")
    assert cohort.score_id == "PGS_A" and cohort.sampleset == "cohort"
    assert cohort.sample_ids.tolist() == ["T1", "R1"] and cohort.values.tolist() == [0.35, 0.45]
    info = cohort.table_info()
    assert info["layout"] == "pgsc_calc" and info["column"] == "AVG" and info["n"] == 2


def test_pgsc_calc_table_errors_list_what_is_there(tmp_path):
    path = _write(tmp_path / "aggregated_scores.txt", AGGREGATED)
    with pytest.raises(CalibrationError, match=r"holds 2 scores \(PGS_A, PGS_B\)"):
        read_scores(path)
    with pytest.raises(
        CalibrationError, match=r"'PGS_A' has samples in 2 samplesets \(ref \(n=2\), cohort"
    ):
        read_scores(path, score_id="PGS_A")
    with pytest.raises(CalibrationError, match=r"'PGS_C' not found.*PGS_A, PGS_B.*ref, cohort"):
        read_scores(path, score_id="PGS_C")
    with pytest.raises(CalibrationError, match=r"no column 'MEAN'.*sampleset, FID, IID, PGS"):
        read_scores(path, score_id="PGS_B", column="MEAN")


def test_pgsc_calc_repeated_iid_in_one_sampleset_is_refused(tmp_path):
    text = "sampleset\tFID\tIID\tPGS\tSUM\nx\tF1\tA\tP\t1\nx\tF2\tA\tP\t2\n"
    path = _write(tmp_path / "aggregated_scores.txt", text)
    with pytest.raises(CalibrationError, match=r"sample_id A appears more than once.*'P'.*FID"):
        read_scores(path)


def test_real_pgsc_calc_table_each_score_is_read_with_iids():
    path = shared_file(*PGSC_1000G)
    with gzip.open(path, "rt") as handle:
        header, *rows = [line.split("\t") for line in handle.read().splitlines() if line]
    assert header[:4] == ["sampleset", "IID", "PGS", "SUM"]
    with pytest.raises(CalibrationError, match="holds 7 scores") as info:
        read_scores(path)
    assert all(score in str(info.value) for score in PGSC_SCORES)
    with pytest.raises(CalibrationError, match=r"did you mean PGS000018_hmPOS_GRCh37\?"):
        read_scores(path, score_id="PGS000018")
    for score in PGSC_SCORES[:2]:
        col = read_scores(path, score_id=score)
        mine = [r for r in rows if r[2] == score]
        assert col.sample_ids.tolist() == [r[1] for r in mine]
        assert col.values.tolist() == [float(r[3]) for r in mine]  # exactly the text's numbers
        assert col.values.size == 2504 and col.sampleset == "1kg"


# -- prs long and wide ---------------------------------------------------------------------
def test_prs_long_and_wide_tables(tmp_path):
    long = tmp_path / "scores.tsv"
    long.write_text("sample_id\tscore\tSUM\tAVG\n01\tP1\t1\t0.1\n02\tP1\t2\t0.2\n01\tP2\t3\t0.3\n")
    col = read_scores(long, score_id="P2", column="AVG")
    assert col.layout == "prs-long" and col.sample_ids.tolist() == ["01"]
    assert col.values.tolist() == [0.3]
    with pytest.raises(CalibrationError, match=r"score 'P3' not found \(found P1, P2\)"):
        read_scores(long, score_id="P3")

    wide = tmp_path / "wide.tsv"  # ScoreResult.to_wide() written as TSV
    wide.write_text("sample_id\tP1\tP2\n01\t1\t3\n02\t2\t4\n")
    col = read_scores(wide, score_id="P2")
    assert (col.layout, col.value_column) == ("prs-wide", "P2")
    assert col.sample_ids.tolist() == ["01", "02"] and col.values.tolist() == [3.0, 4.0]
    with pytest.raises(CalibrationError, match=r"2 columns \(P1, P2\).*--score"):
        read_scores(wide)
    with pytest.raises(CalibrationError, match=r"score 'P9' not found \(columns: P1, P2\)"):
        read_scores(wide, score_id="P9")
    frame = pd.DataFrame({"P1": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="sample_id"))
    assert read_scores(frame).sample_ids.tolist() == ["a", "b"]

    one = tmp_path / "one.tsv"
    one.write_text("sample_id\tSUM\nA\t1\nB\t2\n")
    assert read_scores(one).values.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "text",
    [
        "id\tvalue\nA\t1\nB\t2\n",  # no ID column this reader knows
        "FID IID PHENO CNT CNT2 SCORE\nA A -9 10 4 0.1\n",  # PLINK 1.9 .profile (spaces)
    ],
)
def test_unknown_layout_lists_the_columns(tmp_path, text):
    path = _write(tmp_path / "table.tsv", text)
    with pytest.raises(CalibrationError, match="unknown score table layout") as info:
        read_scores(path)
    first = text.splitlines()[0].split("\t")[0]
    assert f"columns: {first}" in str(info.value)


# -- the commands --------------------------------------------------------------------------
def test_calibrate_on_pgsc_calc_table_needs_score_and_says_what_it_read(run, capsys, tmp_path):
    path = shared_file(*PGSC_1000G)
    out = tmp_path / "reference.json"
    code = run(["calibrate", "--scores", str(path), "--out", str(out)])
    assert code == EXIT_CODES[CalibrationError]
    err = capsys.readouterr().err
    assert "holds 7 scores" in err and all(score in err for score in PGSC_SCORES)
    assert not out.exists()

    assert (
        run(["calibrate", "--scores", str(path), "--score", PGSC_SCORES[3], "--out", str(out)]) == 0
    )
    text = capsys.readouterr().out
    assert "n=2504" in text and "pgsc_calc aggregated_scores" in text and "column SUM" in text
    ref = load_reference(out)
    assert ref.n == 2504 and ref.score_id == PGSC_SCORES[3]
    table = ref.provenance["scores_table"]
    assert table["layout"] == "pgsc_calc" and table["sampleset"] == "1kg"
    assert table["column"] == "SUM" and table["n"] == 2504


def test_calibrate_and_categorise_on_sscore_record_the_column(run, capsys, tmp_path):
    rng = np.random.default_rng(3)
    n = 200
    ids = [f"{i:04d}" for i in range(n)]
    sums = rng.normal(size=n)
    lines = ["#IID\tALLELE_CT\tDENOM\tNAMED_ALLELE_DOSAGE_SUM\tPGS9_AVG\tPGS9_SUM"]
    lines += [
        f"{i}\t10\t10\t3\t{float(s) / 10!r}\t{float(s)!r}" for i, s in zip(ids, sums, strict=True)
    ]
    path = _write(tmp_path / "target.sscore", "\n".join(lines) + "\n")
    ref_path = tmp_path / "reference.json"
    assert run(["calibrate", "--scores", str(path), "--out", str(ref_path)]) == 0
    assert "PLINK 2 .sscore" in capsys.readouterr().out
    ref = load_reference(ref_path)
    assert ref.n == n and ref.score_id == "PGS9"
    assert ref.provenance["scores_table"]["column"] == "PGS9_SUM"

    out = tmp_path / "categories.tsv"
    code = run(
        ["categorise", "--scores", str(path), "--reference", str(ref_path), "--or-per-sd",
         "1.6", "--age", "45", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    assert "column PGS9_SUM" in capsys.readouterr().out
    frame = pd.read_csv(out, sep="\t", dtype={"sample_id": str})
    assert frame["sample_id"].tolist() == ids  # IIDs with leading zeros, not row numbers
    inputs = json.loads((tmp_path / "categories.inputs.json").read_text())
    assert inputs["scores_table"]["layout"] == "plink2-sscore"
    assert inputs["scores_table"]["column"] == "PGS9_SUM"

    code = run(["calibrate", "--scores", str(path), "--score", "NO_SUCH", "--out", str(ref_path)])
    assert code == EXIT_CODES[CalibrationError]
    assert "score 'NO_SUCH' not found; the PLINK 2 .sscore holds PGS9" in capsys.readouterr().err


def test_pgsc_calc_samplesets_feed_the_ancestry_adjustment_as_pgsc_calc_keys_them():
    """The reference sampleset of pgsc_calc's ancestry test data, chosen by 'sampleset:PGS',
    gives the same PC adjustment as that sampleset's rows handed over as a DataFrame."""
    from prs.calibrate import fit_ancestry_adjustment, read_pcs

    path = shared_file("pygscatalog", "ancestry", "aggregated_scores.txt")
    pcs = read_pcs(shared_file("pygscatalog", "ancestry", "ref.pcs"))
    agg = pd.read_csv(path, sep="\t", dtype={"IID": str})
    ref = agg[agg["sampleset"] == "reference"]
    frame = pd.DataFrame({"sample_id": ref["IID"], "SUM": ref["SUM"]})
    score = "PGS001229_hmPOS_GRCh38"
    from_table = fit_ancestry_adjustment(path, pcs, score_id=f"reference:{score}")
    from_frame = fit_ancestry_adjustment(frame, pcs, score_id=score)
    assert from_table.n == from_frame.n > 0
    assert json.dumps(from_table.to_dict(), sort_keys=True) == json.dumps(
        from_frame.to_dict(), sort_keys=True
    )


def test_evaluate_records_the_table_it_read(run, capsys, tmp_path):
    rng = np.random.default_rng(5)
    n = 300
    ids = [f"I{i}" for i in range(n)]
    sums = rng.normal(size=n)
    lines = ["#FID\tIID\tP_SUM"] + [
        f"F{i}\t{i}\t{float(s)!r}" for i, s in zip(ids, sums, strict=True)
    ]
    path = _write(tmp_path / "cohort.sscore", "\n".join(lines) + "\n")
    outcomes = tmp_path / "outcomes.tsv"
    pd.DataFrame({"sample_id": ids, "outcome": (sums + rng.normal(size=n) > 1).astype(int)}).to_csv(
        outcomes, sep="\t", index=False
    )
    out = tmp_path / "metrics.json"
    code = run(["evaluate", "--scores", str(path), "--outcomes", str(outcomes), "--out", str(out)])
    assert code == 0
    assert f"{n} samples in scores and outcomes; read" in capsys.readouterr().out
    table = json.loads(out.read_text())["inputs"]["scores_table"]
    assert table == {
        "layout": "plink2-sscore",
        "layout_description": "PLINK 2 .sscore (IID, <score>_AVG/_SUM)",
        "score_id": "P",
        "sampleset": None,
        "column": "P_SUM",
        "n": n,
        # (a .sscore says nothing of the score's trait)
        "trait_reported": None,
        "trait_efo": [],
        "weight_type": None,
        "development_ancestry": None,
    }
