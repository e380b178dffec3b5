"""``--report [FILE]`` on ``prs score`` and ``prs categorise``: the run's HTML report written
after it, holding the run's own numbers (read back from the page's tables with
tests/test_html_report.py's parser and compared with the run's files, read with csv)."""

from __future__ import annotations

from collections import Counter

import pytest

from prs.cli import main
from tests.test_cli import example_score_args
from tests.test_html_report import parse, read_tsv
from tests.test_samplesheet import _three, cohorts  # noqa: F401  (the fixture)

pytest.importorskip("matplotlib", reason="the report's figures need matplotlib (the plot extra)")

pytestmark = pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")


def _check_score_page(page, out) -> None:
    (summary,) = read_tsv(out / "match_summary.tsv")
    rows = {r["outcome"][0]: int(r["rows"][1]) for r in page.tables["match-EXAMPLE_BC01"]}
    assert rows == {k: int(summary[k]) for k in rows} and rows["matched"] == 272
    (dist,) = page.tables["dist-EXAMPLE_BC01"]
    assert int(dist["n"][1]) == len(read_tsv(out / "scores.tsv")) == 200


def test_score_report(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*example_score_args(out), "--report"]) == 0
    assert f"wrote {out / 'report.html'}" in capsys.readouterr().err
    text = (out / "report.html").read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html")
    _check_score_page(parse(text), out)
    # elsewhere, named; -q prints nothing
    elsewhere = tmp_path / "pages" / "run.html"
    elsewhere.parent.mkdir()
    assert main([*example_score_args(tmp_path / "o2"), "--report", str(elsewhere), "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert not (tmp_path / "o2" / "report.html").exists()
    _check_score_page(parse(elsewhere.read_text(encoding="utf-8")), tmp_path / "o2")


def test_no_report_unless_asked(tmp_path):
    assert main([*example_score_args(tmp_path / "out"), "-q"]) == 0
    assert not (tmp_path / "out" / "report.html").exists()


def test_categorise_report(tmp_path, capsys):
    """prs categorise --report: the page beside --out shows the categories counted from
    the table it wrote, and the scoring run's match table from --scores' directory."""
    out = tmp_path / "out"
    assert main([*example_score_args(out), "-q"]) == 0
    categories = out / "categories.tsv"
    args = ["categorise", "--scores", str(out / "scores.tsv"), "--scheme", "top-5-percent"]
    assert main([*args, "--out", str(categories), "--report"]) == 0
    assert f"wrote {out / 'report.html'}" in capsys.readouterr().err
    page = parse((out / "report.html").read_text(encoding="utf-8"))
    counts = {r["category"][0]: int(r["people"][1]) for r in page.tables["category-counts"]}
    want = Counter(r["category"] or "no category" for r in read_tsv(categories))
    assert counts == dict(want) and sum(counts.values()) == 200
    _check_score_page(page, out)


def test_sample_sheet_report(cohorts, tmp_path):  # noqa: F811
    """prs score --sample-sheet --report: one page over the samplesets, a distribution
    table per sampleset counting that sampleset's rows of the combined scores table."""
    out = tmp_path / "out"
    sheet, sf = _three(cohorts), cohorts["scorefile"]
    args = ["score", "--sample-sheet", str(sheet), "--scorefile", str(sf), "--out", str(out)]
    assert main([*args, "--report", "-q"]) == 0
    page = parse((out / "report.html").read_text(encoding="utf-8"))
    scores = read_tsv(out / "scores.tsv")
    names = Counter((r["sampleset"], r["score"]) for r in scores)
    assert len(names) > 1
    for (sampleset, score), n in names.items():
        (dist,) = page.tables[f"dist-{score}-{sampleset}"]
        assert int(dist["n"][1]) == n
