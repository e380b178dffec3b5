"""``prs score``'s options for the library's no-silent-fallback and streaming features
(issue 16 item 3, issue 13 item 3): --on-unmatched, --allow-gt-fallback, --min-r2,
--stream-rows reach :func:`prs.score` and change what the run writes."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import prs
import prs.cli.score
from prs.cli import build_parser, main
from prs.scoring.pipeline import DEFAULT_STREAM_ROWS
from tests.test_on_unmatched import cohort  # noqa: F401  (the fixture)


def _score_args(vcf, scorefiles, out) -> list[str]:
    return ["score", "--vcf", str(vcf), "--scorefile", *map(str, scorefiles), "--out", str(out)]


def _api(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prs.score(*args, **kwargs)


def _sums(out) -> pd.DataFrame:
    return pd.read_csv(out / "scores.tsv", sep="\t", float_precision="round_trip")


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
def test_on_unmatched_skip_scores_the_others(cohort, tmp_path, capsys):  # noqa: F811
    """Default: the unmatched score stops the run, nothing written; --on-unmatched skip:
    the other score's sums equal the API's run without the unmatched file, the summary
    line and match_summary say why NONE was skipped."""
    files = [cohort["none"], cohort["good"]]
    out = tmp_path / "out"
    assert main(_score_args(cohort["vcf"], files, out)) != 0
    assert "score NONE matched 0 of 8 rows" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
    assert main([*_score_args(cohort["vcf"], files, out), "--on-unmatched", "skip"]) == 0
    err = capsys.readouterr().err
    assert "NONE: skipped (" in err and "matched 0 of 8 rows" in err
    assert "GOOD: 20/20 variants matched" in err
    scores = _sums(out)
    assert set(scores["score"]) == {"GOOD"}
    alone = _api(cohort["vcf"], cohort["good"])
    np.testing.assert_array_equal(scores["SUM"].to_numpy(), alone.sums[:, 0])
    summary = pd.read_csv(out / "match_summary.tsv", sep="\t", keep_default_na=False)
    assert summary.set_index("score")["skipped"].astype(str).to_dict() == {
        "NONE": "True",
        "GOOD": "False",
    }
    prov = json.loads((out / "provenance.json").read_text())
    assert [s["score"] for s in prov["skipped_scores"]] == ["NONE"]


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
def test_allow_gt_fallback(cohort, tmp_path, capsys):  # noqa: F811
    """--dosage DS on a VCF declaring no DS: an error naming the option to allow it; with
    --allow-gt-fallback the GT scores, recorded per score."""
    out = tmp_path / "out"
    args = [*_score_args(cohort["vcf"], [cohort["good"]], out), "--dosage", "DS"]
    assert main(args) != 0
    assert "--allow-gt-fallback" in capsys.readouterr().err
    assert main([*args, "--allow-gt-fallback"]) == 0
    gt = _api(cohort["vcf"], cohort["good"])
    np.testing.assert_array_equal(_sums(out)["SUM"].to_numpy(), gt.sums[:, 0])
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["dosage_fallback"]["rows_read_from_GT"] == {"GOOD": 20}
    assert prov["options"]["allow_gt_fallback"] is True


def test_min_r2_needs_imputation_quality(cohort, tmp_path, capsys):  # noqa: F811
    """--min-r2 reaches the matcher: on genotypes without any R2 it is refused, naming
    min_r2 (the library's error), and nothing is written."""
    out = tmp_path / "out"
    assert main([*_score_args(cohort["vcf"], [cohort["good"]], out), "--min-r2", "0.3"]) != 0
    assert "min_r2" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
def test_stream_rows_cuts_the_run_into_pieces(cohort, tmp_path):  # noqa: F811
    """--stream-rows 10 on 20 rows over chromosomes 1 and 2: two pieces (provenance), the
    same sums as the API's one-piece run to rounding, the same match report rows."""
    out = tmp_path / "out"
    assert main([*_score_args(cohort["vcf"], [cohort["good"]], out), "--stream-rows", "10"]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["execution"]["pieces"] == 2 and prov["execution"]["streamed"] is True
    whole = _api(cohort["vcf"], cohort["good"], stream_rows=None)
    np.testing.assert_allclose(_sums(out)["SUM"].to_numpy(), whole.sums[:, 0], rtol=1e-12)
    report = pd.read_csv(out / "match_report.tsv", sep="\t", keep_default_na=False)
    assert len(report) == 20 and set(report["outcome"]) == {"matched"}


def test_options_reach_prs_score(tmp_path, monkeypatch):
    """Each option's value reaches prs.score under its keyword; the defaults are the API's."""
    seen = []
    monkeypatch.setattr(prs.cli.score, "score", lambda *a, **kw: seen.append(kw))
    parser = build_parser(["prs.cli.score"])
    base = _score_args("g.vcf.gz", ["w.txt"], tmp_path)
    given = ["--on-unmatched", "skip", "--allow-gt-fallback", "--min-r2", "0.4"]
    for argv in (base, [*base, *given, "--stream-rows", "7"]):
        args = parser.parse_args(argv)
        prs.cli.score.score_from_args(args, args.vcf, args.scorefile)
    keys = ("on_unmatched", "allow_gt_fallback", "min_r2", "stream_rows")
    assert [seen[0][k] for k in keys] == ["error", False, None, DEFAULT_STREAM_ROWS]
    assert [seen[1][k] for k in keys] == ["skip", True, 0.4, 7]
    help_text = parser._subparsers._group_actions[0].choices["score"].format_help()
    for flag in ("--on-unmatched", "--allow-gt-fallback", "--min-r2 R2", "--stream-rows N"):
        assert flag in help_text


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
@pytest.mark.parametrize("stream_rows", ["10", str(DEFAULT_STREAM_ROWS)])
def test_match_report_written_as_it_goes(cohort, tmp_path, monkeypatch, stream_rows):  # noqa: F811
    """prs score hands prs.score a writer for the match report (issue 13 item 3): the
    result holds no report rows, and the file written piece by piece is byte for byte the
    one written from a run that kept its report (prs.report.write_score_outputs); in
    pieces, the same rows."""
    from prs.report import write_score_outputs

    seen = []
    real = prs.cli.score.score

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        seen.append((kwargs["match_report_rows"], result))
        return result

    monkeypatch.setattr(prs.cli.score, "score", spy)
    out, kept = tmp_path / "out", tmp_path / "kept"
    files = [cohort["good"], cohort["mixed"]]
    args = [*_score_args(cohort["vcf"], files, out), "--min-overlap", "0.2"]
    assert main([*args, "--stream-rows", stream_rows]) == 0
    ((writer, result),) = seen
    assert writer is not None and len(result.match_report.variants) == 0
    whole = _api(cohort["vcf"], files, min_overlap=0.2)
    assert {"GOOD", "HIGH", "LOW"} <= set(whole.match_report.variants["score"])
    write_score_outputs(whole, kept)
    if stream_rows != "10":
        assert (out / "match_report.tsv").read_bytes() == (kept / "match_report.tsv").read_bytes()
    else:  # in two pieces: rows piece by piece (each piece's files in order), the same rows
        rows = [
            pd.read_csv(d / "match_report.tsv", sep="\t", dtype=str, keep_default_na=False)
            for d in (out, kept)
        ]
        by = list(rows[1].columns)
        pd.testing.assert_frame_equal(
            rows[0].sort_values(by, ignore_index=True), rows[1].sort_values(by, ignore_index=True)
        )
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["outputs"]["match_report"] == str(out / "match_report.tsv")


def test_nothing_is_published_when_writing_fails_after_the_report(cohort, tmp_path, capsys):  # noqa: F811
    """The match report is staged while scoring; an error after it (an ID --id-delim
    cannot split) leaves --out without any file: all outputs together or none."""
    out = tmp_path / "out"
    args = [*_score_args(cohort["vcf"], [cohort["good"]], out), "--layout", "plink"]
    assert main([*args, "--id-delim"]) != 0
    assert "p0" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
