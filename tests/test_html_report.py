"""prs report (issue 16): the HTML page of a run holds the run's numbers, read back from the
page's tables and compared with the run's own files (read with the csv and json modules)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from prs.cli import build_parser
from prs.cli import main as prs_main
from prs.errors import ReportError
from prs.example import run_demo
from prs.htmlreport import read_run, write_report
from prs.match import PGSC_CALC_MATCH_STATUS

pytest.importorskip("matplotlib", reason="the report's figures need matplotlib (the plot extra)")


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def build_run(out: Path) -> Path:
    """A run directory as a user makes one: ``prs demo`` (scores, match report and summary,
    provenance, the reference panel's scores, PCs and populations, categories), then ``prs
    evaluate`` on made-up outcomes."""
    with contextlib.redirect_stdout(io.StringIO()):
        run_demo(out)
    categories = read_tsv(out / "categories.tsv")
    rng = np.random.default_rng(11)
    risk = np.array([float(r["risk_10y"]) for r in categories])
    outcome = (rng.random(risk.size) < np.clip(risk * 8, 0, 1)).astype(int)
    outcome[:2] = [1, 0]  # both classes whatever the draw
    with (out / "outcomes.tsv").open("w") as fh:
        fh.write("sample_id\toutcome\n")
        fh.writelines(f"{r['sample_id']}\t{y}\n" for r, y in zip(categories, outcome, strict=True))
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = prs_main(
            ["evaluate", "--scores", str(out / "scores.tsv"),
             "--outcomes", str(out / "outcomes.tsv"), "--predicted", str(out / "categories.tsv"),
             "--out", str(out / "evaluation.json"), "--table", str(out / "calibration.tsv")]
        )  # fmt: skip
    assert code == 0
    return out


class Tables(HTMLParser):
    """Every table of the page by id: rows of (data-col, text, data-value) cells; the ids
    of figures and the attributes of every element that loads something."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, tuple[str, str | None]]]] = {}
        self.pairs: dict[str, dict[str, tuple[str, str | None]]] = {}
        self.figures: list[str] = []
        self.loads: list[tuple[str, str]] = []
        self.tags: Counter[str] = Counter()
        self._table: str | None = None
        self._row: dict[str, tuple[str, str | None]] | None = None
        self._key: str | None = None
        self._cell: tuple[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] += 1
        for attr in ("src", "href"):
            if attr in a and not a[attr].startswith("#"):
                self.loads.append((tag, a[attr]))
        if tag == "table":
            self._table = a["id"]
            self.tables[self._table] = []
            self.pairs[self._table] = {}
        elif tag == "tr" and self._table:
            self._row, self._key = {}, a.get("data-key")
        elif tag == "td" and self._row is not None:
            self._cell = (a.get("data-col") or "value", a.get("data-value"))
            self._text = []
        elif tag == "figure":
            self.figures.append(a["id"])

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            col, value = self._cell
            self._row[col] = ("".join(self._text), value)
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            if self._key is not None:
                self.pairs[self._table][self._key] = self._row["value"]
            elif self._row:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


def parse(page: str) -> Tables:
    parser = Tables()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return build_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def page(run_dir) -> Tables:
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    return parse(path.read_text(encoding="utf-8"))


def shown(cell: tuple[str, str | None]) -> float:
    """The number a reader sees (thousands separators removed)."""
    return float(cell[0].replace(",", ""))


def test_match_table_holds_every_fate_with_pgsc_calc_names(run_dir, page):
    (summary,) = read_tsv(run_dir / "match_summary.tsv")
    rows = page.tables["match-EXAMPLE_BC01"]
    assert [r["outcome"][0] for r in rows] == [
        k for k in summary if k not in ("score", "n_rows", "match_rate")
    ]
    for r in rows:
        outcome = r["outcome"][0]
        assert int(r["rows"][1]) == int(summary[outcome])
        assert shown(r["rows"]) == int(summary[outcome])
        assert float(r["percent_of_rows"][1]) == pytest.approx(
            100 * int(summary[outcome]) / int(summary["n_rows"])
        )
        assert r["pgsc_calc_match_status"][0] == PGSC_CALC_MATCH_STATUS[outcome]
    coverage = page.pairs["coverage-EXAMPLE_BC01"]
    assert float(coverage["match rate (coverage of rows)"][1]) == float(summary["match_rate"])
    assert int(coverage["rows in the scoring file"][1]) == int(summary["n_rows"])
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert int(coverage["variants used"][1]) == prov["counts"]["variants_used"]["EXAMPLE_BC01"]
    rho2_row = "share of the score's variance matched (rho², prs categorise)"
    inputs_path = run_dir / "categories.inputs.json"
    if inputs_path.is_file():  # the demo's categorisation measured the coverage
        rho2 = json.loads(inputs_path.read_text())["uncertainty"]["propagated"]["coverage"]["rho2"]
        assert float(coverage[rho2_row][1]) == rho2
    else:
        assert rho2_row not in coverage


def test_match_types_counted_from_the_match_report(run_dir, page):
    report = read_tsv(run_dir / "match_report.tsv")
    want = Counter(r["match_type"] for r in report if r["outcome"] == "matched")
    got = {r["match_type"][0]: int(r["rows"][1]) for r in page.tables["match-types-EXAMPLE_BC01"]}
    assert got == dict(want)
    pgsc = {
        r["match_type"][0]: r["pgsc_calc_match_type"][0]
        for r in page.tables["match-types-EXAMPLE_BC01"]
    }
    # pgsc_calc's refalt: effect allele = REF (prs "ref"); altref: effect allele = ALT
    assert pgsc.get("ref") in (None, "refalt") and pgsc.get("alt") in (None, "altref")


def test_distribution_table_is_numpys_percentiles_of_the_scores(run_dir, page):
    values = np.array([float(r["SUM"]) for r in read_tsv(run_dir / "scores.tsv")])
    (row,) = page.tables["dist-EXAMPLE_BC01"]
    assert int(row["n"][1]) == values.size
    assert float(row["mean"][1]) == pytest.approx(values.mean(), rel=1e-12)
    assert float(row["sd"][1]) == pytest.approx(values.std(ddof=1), rel=1e-12)
    for p in (1, 5, 10, 25, 50, 75, 90, 95, 99):
        assert float(row[f"p{p}"][1]) == pytest.approx(np.percentile(values, p), rel=1e-12)
        assert shown(row[f"p{p}"]) == pytest.approx(np.percentile(values, p), rel=1e-3, abs=1e-3)
    assert float(row["max"][1]) == values.max()


def test_categories_and_pathway_actions_are_counted(run_dir, page):
    cats = read_tsv(run_dir / "categories.tsv")
    counts = {r["category"][0]: int(r["people"][1]) for r in page.tables["category-counts"]}
    assert counts == dict(Counter(r["category"] or "no category" for r in cats))
    actions = {
        (r["category"][0], r["pathway_action"][0]): int(r["people"][1])
        for r in page.tables["pathway-actions"]
    }
    assert actions == dict(Counter((r["category"], r["pathway_action"]) for r in cats))
    near = page.pairs["near-threshold"]
    assert int(near["near a category threshold"][1]) == sum(
        r["near_threshold"] == "True" for r in cats
    )


def test_statement_fields_come_from_the_categorisation(run_dir, page):
    first = read_tsv(run_dir / "categories.tsv")[0]
    statement = {k: v[0] for k, v in page.pairs["statement-EXAMPLE_BC01"].items()}
    for key, value in first.items():
        if key.startswith("statement_"):
            assert statement[key.removeprefix("statement_").replace("_", " ")] == value


def test_evaluation_metrics_and_calibration_table(run_dir, page):
    doc = json.loads((run_dir / "evaluation.json").read_text())
    metrics = {r["metric"][0]: r for r in page.tables["metrics"]}
    assert float(metrics["AUC"]["estimate"][1]) == doc["auc"]["estimate"]
    assert float(metrics["AUC"]["ci_low"][1]) == doc["auc"]["ci_low"]
    assert float(metrics["OR per SD"]["p_value"][1]) == doc["or_per_sd"]["p_value"]
    assert float(metrics["E/O ratio"]["estimate"][1]) == doc["calibration"]["eo_ratio"]["estimate"]
    table = read_tsv(run_dir / "calibration.tsv")
    rows = page.tables["calibration-table"]
    assert len(rows) == len(table)
    for got, want in zip(rows, table, strict=True):
        for col in ("n", "mean_predicted", "observed_rate", "ci_low", "ci_high", "observed"):
            assert float(got[col][1]) == pytest.approx(float(want[col]), rel=1e-15)


def test_every_part_has_its_figure_and_the_page_is_self_contained(page):
    assert set(page.figures) == {
        "fig-match-EXAMPLE_BC01", "fig-dist-EXAMPLE_BC01", "fig-pca", "fig-categories",
        "fig-roc", "fig-calibration",
    }  # fmt: skip
    assert page.loads and all(
        tag == "img" and src.startswith("data:image/svg+xml;base64,") for tag, src in page.loads
    )
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["iframe"] == 0


def test_population_counts_from_the_pc_table(run_dir, page):
    pcs = read_tsv(run_dir / "ancestry.tsv")
    got = {r["MostSimilarPop"][0]: int(r["samples"][1]) for r in page.tables["population-counts"]}
    assert got == dict(Counter(r["MostSimilarPop"] for r in pcs))


def test_a_score_only_run_says_what_is_missing(run_dir, tmp_path):
    run = run_dir
    only = tmp_path / "only"
    only.mkdir()
    for name in ("scores.tsv", "match_summary.tsv", "match_report.tsv", "provenance.json"):
        (only / name).write_bytes((run / name).read_bytes())
    outputs = read_run(only)
    assert outputs.categories is None and outputs.evaluation is None and outputs.pcs is None
    text = " ".join(outputs.notes)
    for missing in ("categorisation", "evaluation", "principal components"):
        assert missing in text
    page = parse(write_report(only, tmp_path / "r.html").read_text())
    assert set(page.figures) == {"fig-match-EXAMPLE_BC01", "fig-dist-EXAMPLE_BC01"}
    statement = page.pairs["statement-EXAMPLE_BC01"]
    assert "raw scores only" in statement["calibration"][0]


def test_one_person_against_a_reference(run_dir, tmp_path):
    """A run of one person placed in a reference: the page gives their score and percentile
    (the mid-rank percentile, as scipy's percentileofscore kind='mean')."""
    run = run_dir
    rows = read_tsv(run / "scores.tsv")
    values = np.array([float(r["SUM"]) for r in rows])
    with contextlib.redirect_stdout(io.StringIO()):
        assert (
            prs_main(
                [
                    "calibrate",
                    "--scores",
                    str(run / "scores.tsv"),
                    "--out",
                    str(tmp_path / "ref.json"),
                ]
            )
            == 0
        )
    person = tmp_path / "person"
    person.mkdir()
    header = list(rows[0])
    with (person / "scores.tsv").open("w") as fh:
        fh.write("\t".join(header) + "\n" + "\t".join(rows[7][k] for k in header) + "\n")
    page = parse(write_report(person, reference=tmp_path / "ref.json").read_text())
    facts = page.pairs["person-EXAMPLE_BC01"]
    assert facts["sample"][0] == rows[7]["sample_id"]
    assert float(facts["score (SUM)"][1]) == values[7]
    assert float(facts["percentile"][1]) == pytest.approx(
        stats.percentileofscore(values, values[7], kind="mean")
    )
    assert set(page.figures) == {"fig-dist-EXAMPLE_BC01"}
    # categorised against that reference: their category and action beside the percentile
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = prs_main(
            ["categorise", "--scores", str(person / "scores.tsv"), "--reference",
             str(tmp_path / "ref.json"), "--sex", "female", "--age", "45", "--or-per-sd", "1.61",
             "--out", str(person / "categories.tsv")]
        )  # fmt: skip
    assert code == 0
    (categorised,) = read_tsv(person / "categories.tsv")
    page = parse(write_report(person).read_text())  # the reference found through inputs.json
    facts = page.pairs["person-EXAMPLE_BC01"]
    assert float(facts["percentile"][1]) == float(categorised["percentile"])
    assert facts["category"][0] == categorised["category"]
    assert facts["pathway_action"][0] == categorised["pathway_action"]
    assert float(facts["risk_to_80"][1]) == float(categorised["risk_to_80"])
    assert page.pairs["reference-EXAMPLE_BC01"]["n"][1] == str(values.size)


def test_refusals(tmp_path):
    with pytest.raises(ReportError, match="not a directory"):
        write_report(tmp_path / "absent")
    with pytest.raises(ReportError, match="none of a run's files"):
        write_report(tmp_path)
    (tmp_path / "provenance.json").write_text("[1, 2]")
    with pytest.raises(ReportError, match="expected a JSON object"):
        write_report(tmp_path)


def test_command_line(run_dir, tmp_path, capsys):
    parser = build_parser(["prs.cli.report"])
    out = tmp_path / "page.html"
    args = parser.parse_args(["report", str(run_dir), "--out", str(out)])
    assert args.handler(args) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    assert re.search(r"<title>prs report: [^<]+</title>", out.read_text())


def test_percentile_bands_count_the_people(run_dir, page):
    pct = [float(r["percentile"]) for r in read_tsv(run_dir / "categories.tsv") if r["percentile"]]
    got = {r["percentile"][0]: int(r["people"][1]) for r in page.tables["percentile-bands"]}
    bands = {
        "0-5": (0, 5),
        "5-20": (5, 20),
        "20-80": (20, 80),
        "80-95": (80, 95),
        "95-100": (95, 100),
    }
    assert got == {k: sum(lo < p <= hi for p in pct) for k, (lo, hi) in bands.items()}
    assert sum(got.values()) == len(pct)


def test_a_sample_sheet_run_is_shown_per_sampleset(tmp_path):
    """A sample-sheet run's directory (samplesets side by side in one table): one match table
    and one distribution per sampleset, from the rows of that sampleset."""
    import shutil
    import warnings

    import prs
    from prs.example import example_paths

    paths = example_paths()
    for name in ("A", "B"):
        shutil.copy(paths.vcf, tmp_path / f"{name}.vcf.gz")
        shutil.copy(f"{paths.vcf}.tbi", tmp_path / f"{name}.vcf.gz.tbi")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "sampleset,path_prefix,chrom,format\n"
        + "".join(f"{n},{tmp_path / n},,vcf\n" for n in ("A", "B"))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", prs.errors.PRSWarning)
        result = prs.score_samplesheet(sheet, paths.scorefile)
    out = tmp_path / "out"
    prs.write_samplesheet_outputs(result, out)
    page = parse(write_report(out).read_text())
    summary = {r["sampleset"]: r for r in read_tsv(out / "match_summary.tsv")}
    scores = read_tsv(out / "scores.tsv")
    for name in ("A", "B"):
        rows = {
            r["outcome"][0]: int(r["rows"][1]) for r in page.tables[f"match-EXAMPLE_BC01-{name}"]
        }
        assert rows == {k: int(summary[name][k]) for k in rows}
        (dist,) = page.tables[f"dist-EXAMPLE_BC01-{name}"]
        mine = np.array([float(r["SUM"]) for r in scores if r["sampleset"] == name])
        assert int(dist["n"][1]) == mine.size
        assert float(dist["p50"][1]) == pytest.approx(np.median(mine), rel=1e-12)


def test_reference_panel_pcs_named_on_the_side(run_dir, tmp_path):
    rng = np.random.default_rng(8)
    ref = tmp_path / "ref_pcs.tsv"
    with ref.open("w") as fh:
        fh.write("IID\tPC1\tPC2\tSuperPop\n")
        fh.writelines(
            f"R{i}\t{rng.normal()}\t{rng.normal()}\t{'AFR EUR'.split()[i % 2]}\n" for i in range(40)
        )
    outputs = read_run(run_dir, reference_pcs=ref)
    assert len(outputs.reference_pcs) == 40 and outputs.files["reference_pcs"] == ref
    text = write_report(run_dir, tmp_path / "r.html", reference_pcs=ref).read_text()
    assert "principal components over the reference panel" in text


@pytest.mark.parametrize("layout", ["plink", "pgsc"])
def test_other_score_layouts_compressed(tmp_path, layout):
    """A run that wrote only PLINK 2's .sscore or pgsc_calc's aggregated_scores, gzipped (and
    its match tables gzipped too): the page's tables are those of the files (read by gzip
    and csv)."""
    import gzip

    from prs.example import example_paths

    paths = example_paths()
    out = tmp_path / "run"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = prs_main(
            ["score", "--vcf", str(paths.vcf), "--scorefile", str(paths.scorefile),
             "--out", str(out), "--layout", layout, "--compress", "gzip", "-q"]
        )  # fmt: skip
    assert code == 0
    name = {"plink": "scores.sscore.gz", "pgsc": "aggregated_scores.txt.gz"}[layout]
    with gzip.open(out / name, "rt", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    column = {"plink": "EXAMPLE_BC01_SUM", "pgsc": "SUM"}[layout]
    values = np.array([float(r[column]) for r in rows])
    page = parse(write_report(out).read_text())
    (dist,) = page.tables["dist-EXAMPLE_BC01"]
    assert int(dist["n"][1]) == values.size
    assert float(dist["p50"][1]) == pytest.approx(np.median(values), rel=1e-9)
    with gzip.open(out / "match_summary.tsv.gz", "rt", newline="") as fh:
        (summary,) = list(csv.DictReader(fh, delimiter="\t"))
    shown = {r["outcome"][0]: int(r["rows"][1]) for r in page.tables["match-EXAMPLE_BC01"]}
    assert shown == {k: int(summary[k]) for k in shown}
