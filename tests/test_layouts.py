"""Score-table layouts (``prs score --layout long|plink|pgsc``), compression and digits.

The ``plink`` layout is compared with a real ``plink2 --score ... cols=+scoresums,+denom``
``.sscore`` on a generated cohort (column names byte for byte, IDs split by PLINK 2's own
``--id-delim``, counts exactly, floats within PLINK 2's 6 printed digits); the ``pgsc``
layout with the header of pgsc_calc's ``aggregated_scores.txt`` in ../shared/data.
"""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from prs.calibrate._inputs import read_scores
from prs.cli import main
from prs.errors import ReportError, ScoreError
from prs.report import ScoreFileOptions, write_score_outputs
from prs.scoring import score
from prs.scoring.result import AGGREGATED_COLUMNS, split_sample_ids
from tests.builders import write_scorefile, write_vcf

#: 60 samples (PLINK 2 imputes missing calls from frequencies only from 50 samples on),
#: IDs FID_IID as a VCF of a family study carries them.
SAMPLES = [f"FAM{i // 2:02d}_IND{i:02d}" for i in range(60)]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A VCF of 60 samples x 40 biallelic SNPs (some missing calls) and two scoring files
    over the same variants (weights differ; effect alleles ALT or REF)."""
    tmp = tmp_path_factory.mktemp("layouts")
    rng = np.random.default_rng(11)
    records, rows_a, rows_b = [], [], []
    for k in range(40):
        pos = 1000 + 100 * k
        ref, alt = ("A", "G") if k % 2 else ("C", "T")  # never strand-ambiguous
        calls = rng.choice(
            ["0/0", "0/1", "1/1", "./."], size=len(SAMPLES), p=[0.4, 0.35, 0.2, 0.05]
        )
        records.append(("1", pos, f"v{k}", ref, alt, list(calls)))
        effect, other = (alt, ref) if k % 3 else (ref, alt)
        rows_a.append(("1", pos, effect, other, round(float(rng.normal()), 5)))
        rows_b.append(("1", pos, effect, other, round(float(rng.normal()), 5)))
    vcf = write_vcf(tmp / "cohort.vcf.gz", SAMPLES, records)
    sf_a = write_scorefile(tmp / "a.txt", rows_a, header={"pgs_id": "PGS_A"})
    sf_b = write_scorefile(tmp / "b.txt", rows_b, header={"pgs_id": "PGS_B"})
    # One variant that some samples miss: their DENOM is 0 without imputation.
    missed = next(k for k, r in enumerate(records) if "./." in r[5])
    sf_c = write_scorefile(tmp / "c.txt", [rows_a[missed]], header={"pgs_id": "PGS_C"})
    pd.DataFrame(
        {"ID": [f"v{missed}"], "A1": [rows_a[missed][2]], "PGS_C": [rows_a[missed][4]]}
    ).to_csv(tmp / "weights_c.tsv", sep="\t", index=False)
    # The same weights as PLINK 2 takes them: variant ID, allele, one column per score.
    weights = pd.DataFrame(
        {
            "ID": [f"v{k}" for k in range(40)],
            "A1": [r[2] for r in rows_a],
            "PGS_A": [r[4] for r in rows_a],
            "PGS_B": [r[4] for r in rows_b],
        }
    )
    weights.to_csv(tmp / "weights.tsv", sep="\t", index=False)
    return {
        "vcf": vcf,
        "a": sf_a,
        "b": sf_b,
        "c": sf_c,
        "weights": tmp / "weights.tsv",
        "weights_c": tmp / "weights_c.tsv",
        "tmp": tmp,
    }


def run_plink2(
    plink2, cohort, out, *, columns="3", id_delim=False, weights="weights", modifiers=()
) -> pd.DataFrame:
    """``plink2 --score`` with PLINK 2's own column set for prs's counts
    (``cols=+scoresums,+denom``); returns the ``.sscore`` read as text."""
    cmd = [plink2, "--vcf", str(cohort["vcf"]), "--score", str(cohort[weights]), "1", "2"]
    cmd += ["header-read", "cols=+scoresums,+denom", *modifiers, "--score-col-nums", columns]
    cmd += ["--threads", "1", "--out", str(out)]
    if id_delim:
        cmd += ["--id-delim", "_"]
    subprocess.run(cmd, check=True, capture_output=True)
    return pd.read_csv(f"{out}.sscore", sep="\t", dtype=str, keep_default_na=False)


def assert_same_sscore(ours: pd.DataFrame, theirs: pd.DataFrame, renamed: dict) -> None:
    """IDs and counts equal as text, floats within half a unit of PLINK 2's 6th digit."""
    for column in theirs.columns:
        mine = ours[renamed.get(column, column)]
        if column in ("#FID", "#IID", "IID", "ALLELE_CT", "DENOM"):
            assert mine.astype(str).tolist() == theirs[column].tolist(), column
        else:
            expected = theirs[column].astype(float).to_numpy()
            half_unit = 0.5 * 10.0 ** (np.floor(np.log10(np.abs(expected).clip(1e-300))) - 5)
            np.testing.assert_array_less(
                np.abs(mine.astype(float).to_numpy() - expected), half_unit + 1e-12
            )


@pytest.mark.plink2
@pytest.mark.parametrize("id_delim", [False, True])
def test_plink_layout_is_plink2s_sscore(plink2, cohort, tmp_path, id_delim):
    """One score: prs's scores.sscore has the header line PLINK 2 writes (``#IID`` alone,
    or ``#FID IID`` split by PLINK 2's --id-delim) and its values."""
    theirs = run_plink2(plink2, cohort, tmp_path / "plink", id_delim=id_delim)
    out = tmp_path / "prs"
    args = ["score", "--vcf", str(cohort["vcf"]), "--scorefile", str(cohort["a"])]
    args += ["--out", str(out), "--layout", "plink", "-q"]
    assert main([*args, *(["--id-delim"] if id_delim else [])]) == 0
    header = (tmp_path / "plink.sscore").read_text().splitlines()[0]
    assert (out / "scores.sscore").read_text().splitlines()[0] == header
    ours = pd.read_csv(out / "scores.sscore", sep="\t", dtype=str)
    assert list(ours.columns) == list(theirs.columns)
    assert_same_sscore(ours, theirs, {})
    assert not (out / "scores.tsv").exists()  # --layout plink replaces the long table


@pytest.mark.plink2
def test_plink_layout_several_scores(plink2, cohort, tmp_path):
    """Two scores over the same variants: PLINK 2 shares ALLELE_CT/DENOM/NAMED between its
    score columns; prs names them per score, each equal to PLINK 2's, and orders the AVG
    and SUM columns as PLINK 2 does."""
    theirs = run_plink2(plink2, cohort, tmp_path / "plink", columns="3-4", id_delim=True)
    result = score(cohort["vcf"], [cohort["a"], cohort["b"]])
    ours = result.to_sscore(id_delim="_")
    scores = [c for c in theirs.columns if c.startswith("PGS_")]
    counts = ["ALLELE_CT", "DENOM", "NAMED_ALLELE_DOSAGE_SUM"]
    assert list(ours.columns) == [
        "#FID",
        "IID",
        *(f"{s}_{c}" for c in counts for s in ("PGS_A", "PGS_B")),
        *scores,
    ]
    for sid in ("PGS_A", "PGS_B"):
        assert_same_sscore(ours, theirs, {c: f"{sid}_{c}" for c in counts})


@pytest.mark.plink2
def test_plink_layout_writes_nan_as_plink2(plink2, cohort, tmp_path):
    """A sample with no observed allele and no imputation: DENOM 0, AVG written ``nan`` as
    PLINK 2 writes it (SUM 0)."""
    theirs = run_plink2(
        plink2, cohort, tmp_path / "plink", weights="weights_c", modifiers=["no-mean-imputation"]
    )
    assert "nan" in theirs["PGS_C_AVG"].tolist()
    out = tmp_path / "prs"
    args = ["score", "--vcf", str(cohort["vcf"]), "--scorefile", str(cohort["c"])]
    assert main([*args, "--out", str(out), "--layout", "plink", "--missing", "none", "-q"]) == 0
    ours = pd.read_csv(out / "scores.sscore", sep="\t", dtype=str, keep_default_na=False)
    assert list(ours.columns) == list(theirs.columns)
    nan_rows = (theirs["PGS_C_AVG"] == "nan").tolist()
    assert any(nan_rows) and (ours["PGS_C_AVG"] == "nan").tolist() == nan_rows
    assert ours["DENOM"].tolist() == theirs["DENOM"].tolist()


def test_id_delim_split_rule():
    """As PLINK 2's --id-delim: exactly one delimiter; none or two is an error naming the
    sample."""
    fid, iid = split_sample_ids(["HG00096_HG00096", "NA1_X"], "_")
    assert fid.tolist() == ["HG00096", "NA1"] and iid.tolist() == ["HG00096", "X"]
    with pytest.raises(ScoreError, match=r"sample 2 'NA12878'.*does not hold it"):
        split_sample_ids(["A_B", "NA12878"], "_")
    with pytest.raises(ScoreError, match=r"'F_I_S'.*holds it 2 times"):
        split_sample_ids(["F_I_S"], "_")
    with pytest.raises(ScoreError, match="two non-empty parts"):
        split_sample_ids(["_I"], "_")


@given(
    st.lists(
        st.tuples(st.text("abcXYZ09-.", min_size=1), st.text("abcXYZ09-.", min_size=1)),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(["_", "__", ":", " "]),
)
def test_id_delim_round_trip(pairs, delim):
    """FID<d>IID splits back into FID and IID (parts never holding the delimiter)."""
    fid, iid = split_sample_ids([f"{f}{delim}{i}" for f, i in pairs], delim)
    assert list(zip(fid.tolist(), iid.tolist(), strict=True)) == pairs


def test_pgsc_layout_has_pgsc_calcs_columns(shared_data, cohort, tmp_path):
    """aggregated_scores.txt.gz: pgsc_calc's header exactly (as in the PGS Catalog's own
    test data), FID = IID without --id-delim, one row per sample x score, gzip."""
    theirs = pd.read_csv(
        shared_data / "expected" / "pygscatalog-ancestry" / "aggregated_scores.txt", sep="\t"
    )
    assert tuple(theirs.columns) == AGGREGATED_COLUMNS
    out = tmp_path / "out"
    args = ["score", "--vcf", str(cohort["vcf"]), "--scorefile", str(cohort["a"]), str(cohort["b"])]
    args += ["--out", str(out), "--layout", "long", "pgsc", "--compress", "gzip"]
    assert main([*args, "--sampleset", "fam", "-q"]) == 0
    ours = pd.read_csv(out / "aggregated_scores.txt.gz", sep="\t", float_precision="round_trip")
    assert list(ours.columns) == list(theirs.columns)
    assert [str(ours[c].dtype) for c in ours.columns] == [
        str(theirs[c].dtype) for c in theirs.columns
    ]
    assert (ours["FID"] == ours["IID"]).all() and set(ours["sampleset"]) == {"fam"}
    long = pd.read_csv(out / "scores.tsv.gz", sep="\t", float_precision="round_trip")
    assert ours["IID"].tolist() == long["sample_id"].tolist()
    assert ours["PGS"].tolist() == long["score"].tolist()
    np.testing.assert_array_equal(ours["SUM"], long["SUM"])
    np.testing.assert_array_equal(ours["DENOM"], long["DENOM"])
    # What prs calibrate reads as pgsc_calc's layout, with the same values.
    table = read_scores(out / "aggregated_scores.txt.gz", score_id="fam:PGS_B")
    assert table.layout == "pgsc_calc"
    np.testing.assert_array_equal(table.values, long.loc[long["score"] == "PGS_B", "SUM"])


def test_compressed_tables_read_back_and_are_reproducible(cohort, tmp_path):
    """gzip: every text table compressed, the same bytes on a second run (no time in the
    header), contents equal to the plain tables; zstd likewise when available."""
    result = score(cohort["vcf"], [cohort["a"]])
    plain = write_score_outputs(result, tmp_path / "plain")
    gz1 = write_score_outputs(result, tmp_path / "gz1", options=ScoreFileOptions(compress="gzip"))
    gz2 = write_score_outputs(result, tmp_path / "gz2", options=ScoreFileOptions(compress="gzip"))
    for key in ("scores", "match_report", "match_summary"):
        assert gz1[key].name == plain[key].name + ".gz"
        assert gzip.decompress(gz1[key].read_bytes()) == plain[key].read_bytes()
        assert gz1[key].read_bytes() == gz2[key].read_bytes()
    assert gz1["provenance"].name == "provenance.json"
    mask = os.umask(0)
    os.umask(mask)
    assert {stat.S_IMODE(p.stat().st_mode) for p in gz1.values()} == {0o666 & ~mask}
    zstandard = pytest.importorskip("zstandard")
    zst = write_score_outputs(result, tmp_path / "zst", options=ScoreFileOptions(compress="zstd"))
    assert zst["scores"].name == "scores.tsv.zst"
    data = zstandard.ZstdDecompressor().stream_reader(zst["scores"].read_bytes()).read()
    assert data == plain["scores"].read_bytes()


def test_digits_and_full_precision(cohort, tmp_path):
    """Default: every float reads back as the exact float64; --digits 6: C's %.6g."""
    result = score(cohort["vcf"], [cohort["a"]])
    full = write_score_outputs(result, tmp_path / "full", options=ScoreFileOptions())
    back = pd.read_csv(full["scores"], sep="\t", float_precision="round_trip")
    np.testing.assert_array_equal(back["SUM"].to_numpy(), result.sums[:, 0])
    six = write_score_outputs(
        result, tmp_path / "six", options=ScoreFileOptions(digits=6, layouts=("long", "plink"))
    )
    text = pd.read_csv(six["scores"], sep="\t", dtype=str)
    assert text["SUM"].tolist() == [f"{v:.6g}" for v in result.sums[:, 0]]
    sscore = pd.read_csv(six["sscore"], sep="\t", dtype=str)
    assert sscore["PGS_A_AVG"].tolist() == [f"{v:.6g}" for v in result.avg[:, 0]]
    assert sscore["ALLELE_CT"].tolist() == [str(int(v)) for v in result.allele_ct[:, 0]]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"layouts": ("wide",)}, "score layout wide"),
        ({"layouts": ()}, "score layout"),
        ({"compress": "bz2"}, "compression 'bz2'"),
        ({"digits": 0}, "--digits 0"),
        ({"id_delim": ""}, "empty"),
    ],
)
def test_bad_output_options_are_refused(options, message):
    with pytest.raises(ReportError, match=message):
        ScoreFileOptions(**options)


def test_bad_id_delim_fails_before_writing(cohort, tmp_path, capsys):
    """A sample ID without the delimiter: one error line naming it, nothing written."""
    out = tmp_path / "out"
    args = ["score", "--vcf", str(cohort["vcf"]), "--scorefile", str(cohort["a"])]
    code = main([*args, "--out", str(out), "--layout", "pgsc", "--id-delim", ":"])
    assert code != 0
    assert "sample 1 'FAM00_IND00': --id-delim ':'" in capsys.readouterr().err
    assert not out.exists()


def test_layout_options_in_help():
    """--help documents the layouts, the FID/IID rule and the precision default."""
    result = subprocess.run(
        [sys.executable, "-m", "prs", "score", "--help"], capture_output=True, text=True, check=True
    )
    text = " ".join(result.stdout.split())
    for phrase in (
        "--layout",
        "cols=+scoresums,+denom",
        "--id-delim",
        "FID = IID",
        "--digits",
        "full precision",
        "--compress",
        "zstd",
    ):
        assert phrase in text, phrase


def test_every_layout_feeds_prs_calibrate(cohort, tmp_path):
    """prs calibrate's reader (which reads PLINK 2's and pgsc_calc's own files) takes each
    layout as that tool's, with the same samples and sums as the long table."""
    out = tmp_path / "out"
    args = ["score", "--vcf", str(cohort["vcf"]), "--scorefile", str(cohort["a"])]
    assert main([*args, "--out", str(out), "--layout", "long", "plink", "pgsc", "-q"]) == 0
    long = read_scores(out / "scores.tsv")
    for name, layout in (
        ("scores.sscore", "plink2-sscore"),
        ("aggregated_scores.txt", "pgsc_calc"),
    ):
        table = read_scores(out / name)
        assert table.layout == layout and table.score_id == "PGS_A"
        assert list(table.sample_ids) == list(long.sample_ids) == SAMPLES
        np.testing.assert_array_equal(table.values, long.values)
