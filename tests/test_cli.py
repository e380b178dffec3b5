"""The ``prs`` command line: outputs, exit codes, no partial files, PGS IDs over HTTP."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prs.cli
import prs.cli.score
import prs.output.tables
from prs.cli import build_parser, main
from prs.errors import (
    EXIT_CODES,
    GenotypeFileError,
    MatchError,
    ReportError,
    ScoreWarning,
    ScoringFileError,
)
from prs.example import example_paths
from prs.weights import read_scorefile
from tests.builders import write_scorefile, write_vcf
from tests.catalog_server import CatalogServer, CatalogTree


def test_score_writes_every_output(tmp_path, capsys):
    out = tmp_path / "out"
    saved = os.umask(0o022)
    try:
        code = main(example_score_args(out))
    finally:
        os.umask(saved)
    assert code == 0
    # (no temporary, staging directory or lock file is left; modes follow the umask)
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o644}
    assert sorted(p.name for p in out.iterdir()) == [
        "match_report.tsv",
        "match_summary.tsv",
        "provenance.json",
        "scores.tsv",
    ]
    scores = pd.read_csv(out / "scores.tsv", sep="\t")
    assert len(scores) == 200 and scores["VARIANTS_USED"].eq(272).all()
    report = pd.read_csv(out / "match_report.tsv", sep="\t", keep_default_na=False)
    assert len(report) == 300 and set(report["outcome"]) == {
        "matched",
        "excluded_ambiguous",
        "unmatched_no_site",
    }
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["outputs"]["scores"] == str(out / "scores.tsv")  # where it is, not staged
    assert prov["options"]["missing"] == "mean-impute"
    assert prov["genotypes"][0]["sha256"] and prov["scorefiles"][0]["rows"] == 300
    assert "272/300 variants matched" in capsys.readouterr().err


def test_samples_option_and_parquet(tmp_path):
    paths = example_paths()
    ids = tmp_path / "ids.txt"
    ids.write_text("EX0005\nEX0002\n")
    out = tmp_path / "out"
    assert (
        main(
            [
                "score",
                "--vcf",
                str(paths.vcf),
                "--scorefile",
                str(paths.scorefile),
                "--out",
                str(out),
                "--samples",
                str(ids),
                "--format",
                "parquet",
            ]
        )
        == 0
    )
    scores = pd.read_parquet(out / "scores.parquet")
    assert scores["sample_id"].tolist() == ["EX0005", "EX0002"]


@pytest.mark.parametrize(
    ("make_bad", "error"),
    [
        ("weights", ScoringFileError),
        ("vcf", GenotypeFileError),
        ("overlap", MatchError),
    ],
)
def test_errors_exit_codes_and_no_partial_output(tmp_path, capsys, make_bad, error):
    samples = ["a", "b"]
    good_vcf_lines = [
        ("1", 10, "x", "A", "G", ["0/1", "1/1"]),
        ("1", 20, "y", "C", "T", ["0/0", "0/1"]),
    ]
    weights = [("1", 10, "G", "A", 0.5), ("1", 20, "T", "C", 1.0)]
    if make_bad == "weights":
        weights[1] = ("1", 20, "T", "C", "1_000")
    if make_bad == "overlap":
        weights = weights + [("1", 1000 + k, "T", "C", 1.0) for k in range(8)]
    lines = list(good_vcf_lines)
    if make_bad == "vcf":
        lines.append("1\t30\tz\tA\tG\t.\t.\t.\tGT\t0/1")  # a sample column missing
    vcf = write_vcf(tmp_path / "v.vcf.gz", samples, lines, index=False)
    sf = write_scorefile(tmp_path / "w.txt", weights, header={"pgs_id": "E"})
    out = tmp_path / "out"
    code = main(["score", "--vcf", str(vcf), "--scorefile", str(sf), "--out", str(out)])
    assert code == EXIT_CODES[error]
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("prs: error: ")
    assert sum(line.startswith("prs: error") for line in lines) == 1
    assert not out.exists() or not any(out.iterdir())


def half_matched_args(tmp_path: Path) -> list[str]:
    """``prs score`` arguments (no --out) of a run that warns: 1 of 2 rows matched."""
    vcf = write_vcf(tmp_path / "v.vcf.gz", ["a"], [("1", 10, "x", "A", "G", ["0/1"])])
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("1", 10, "G", "A", 0.5), ("1", 99, "G", "A", 0.5)],
        header={"pgs_id": "W", "genome_build": "GRCh37"},
    )
    return ["score", "--vcf", str(vcf), "--scorefile", str(sf), "--min-overlap", "0.5"]


def test_strict_turns_warnings_into_errors(tmp_path, capsys):
    args = [*half_matched_args(tmp_path), "--out", str(tmp_path / "o")]
    assert main(args) == 0
    assert main(["--strict", *args]) == 2
    assert "1/2 rows matched" in capsys.readouterr().err


def test_console_script_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "prs.cli", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("prs ")


def test_demo_command(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    assert (out / "scores.tsv").exists() and (out / "provenance.json").exists()


def test_score_by_pgs_id_over_loopback_http(tmp_path, shared_data, monkeypatch):
    """prs score --scorefile PGS000004 fetches the harmonized GRCh38 file from a real HTTP
    server laid out like the Catalog, verifies it, caches it, and scores with it."""
    source = shared_data / "scorefiles/megsap/PGS000004_hm.txt"
    sf = read_scorefile(source)
    rng = np.random.default_rng(2)
    samples = [f"p{i}" for i in range(60)]
    rows = sf.variants.sort_values(
        ["chrom", "pos"],
        key=lambda c: (
            c.map(lambda x: int(x) if str(x).isdigit() else 99) if c.name == "chrom" else c
        ),
    )
    records = []
    for r in rows.itertuples():
        if r.pos < 0 or (r.chrom, r.pos) in {(x[0], x[1]) for x in records[-3:]}:
            continue
        cells = [f"{a}/{b}" for a, b in rng.integers(0, 2, (60, 2))]
        records.append((r.chrom, r.pos, ".", r.other_allele, r.effect_allele, cells))
    from prs.example import GRCH38_LENGTHS

    vcf = write_vcf(tmp_path / "c.vcf.gz", samples, records, contigs=GRCH38_LENGTHS)
    tree = CatalogTree(tmp_path / "tree")
    tree.add_file("PGS000004", "GRCh38", source)
    with CatalogServer(tree) as server:
        server.add_score("PGS000004", builds=("GRCh38",))
        monkeypatch.setenv("PRS_PGS_API_URL", server.api_url)
        monkeypatch.setenv("PRS_PGS_FTP_URL", server.ftp_url)
        out = tmp_path / "out"
        code = main(
            [
                "score",
                "--vcf",
                str(vcf),
                "--scorefile",
                "PGS000004",
                "--out",
                str(out),
                "--cache-dir",
                str(tmp_path / "cache"),
            ]
        )
    assert code == 0
    scores = pd.read_csv(out / "scores.tsv", sep="\t")
    assert set(scores["score"]) == {"PGS000004"} and len(scores) == 60
    cached = list((tmp_path / "cache").rglob("PGS000004_hmPOS_GRCh38.txt.gz"))
    assert len(cached) == 1
    # second run: offline, served from the cache
    out2 = tmp_path / "out2"
    assert (
        main(
            [
                "score",
                "--vcf",
                str(vcf),
                "--scorefile",
                "PGS000004",
                "--out",
                str(out2),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--offline",
            ]
        )
        == 0
    )
    assert pd.read_csv(out2 / "scores.tsv", sep="\t")["SUM"].equals(scores["SUM"])


def example_score_args(out: Path) -> list[str]:
    paths = example_paths()
    return [
        *("score", "--vcf", str(paths.vcf), "--scorefile", str(paths.scorefile)),
        *("--out", str(out)),
    ]


# What a user's command line shows: Python's default warning filters, not the suite's "error"
# (pyproject.toml), under which numpy's overflow would raise inside the handler.
@pytest.mark.filterwarnings("default")
def test_library_warnings_reach_only_the_debug_log(tmp_path, monkeypatch, capsys, caplog):
    """F19: numpy's RuntimeWarnings leaked as `prs: warning: overflow encountered in exp`
    (and --strict made them exit 2). prs's own warnings are still shown."""

    def handler(args):
        np.exp(np.array([1000.0]))  # overflow: numpy warns
        warnings.warn("a doubtful input, handled", ScoreWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(prs.cli.score, "run_score", handler)
    with caplog.at_level(logging.DEBUG, logger="prs.cli"):
        assert main(example_score_args(tmp_path / "o")) == 0
    err = capsys.readouterr().err
    assert "overflow" not in err
    assert err.strip().splitlines() == ["prs: warning: a doubtful input, handled"]
    assert "prs score: RuntimeWarning" in caplog.text and "overflow" in caplog.text
    # --strict turns prs's warnings into errors, never numpy's
    monkeypatch.setattr(
        prs.cli.score, "run_score", lambda args: int(np.exp(np.array([1000.0]))[0] > 0) - 1
    )
    assert main(["--strict", *example_score_args(tmp_path / "o")]) == 0
    assert "overflow" not in capsys.readouterr().err


# What a user's command line shows: Python's default warning filters, not the suite's "error"
# (pyproject.toml), under which numpy's overflow would raise inside the handler.
@pytest.mark.filterwarnings("default")
def test_strict_errors_on_prs_warnings_only(tmp_path, monkeypatch, capsys, caplog):
    """Issue 12: --strict filtered every UserWarning, so a library's UserWarning (or a
    deprecation a dependency raises as one) failed a --strict run. Only PRSWarning counts."""

    def library_warning(args):
        warnings.warn("a library's own remark", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(prs.cli.score, "run_score", library_warning)
    with caplog.at_level(logging.DEBUG, logger="prs.cli"):
        assert main(["--strict", *example_score_args(tmp_path / "o")]) == 0
    assert "a library's own remark" not in capsys.readouterr().err
    assert "UserWarning" in caplog.text and "a library's own remark" in caplog.text

    def prs_warning(args):
        warnings.warn("a doubtful input", ScoreWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(prs.cli.score, "run_score", prs_warning)
    assert main(["--strict", *example_score_args(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == "prs: error (--strict): a doubtful input"


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, monkeypatch, capsys):
    """F19: Ctrl-C printed a KeyboardInterrupt traceback."""

    def handler(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(prs.cli.score, "run_score", handler)
    assert main(example_score_args(tmp_path / "o")) == 130
    assert capsys.readouterr().err == "prs: interrupted\n"


def test_ctrl_c_while_writing_leaves_nothing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert main(example_score_args(out)) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = prs.output.tables._write_table_to
    calls = []

    def interrupted_on_the_second_table(frame, fh, name):
        calls.append(name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(frame, fh, name)

    monkeypatch.setattr(prs.output.tables, "_write_table_to", interrupted_on_the_second_table)
    assert main([*example_score_args(out), "--keep-ambiguous"]) == 130
    assert capsys.readouterr().err.endswith("prs: interrupted\n")
    # (the match report was staged while scoring, by write_table_pieces)
    assert calls == ["scores.tsv", "match_summary.tsv"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing else either


def test_unwritable_out_is_exit_9(tmp_path, capsys):
    (tmp_path / "file").write_text("not a directory")
    assert main(example_score_args(tmp_path / "file")) == EXIT_CODES[ReportError]
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"prs: error: {tmp_path / 'file'}: cannot write output")


def test_sex_option_is_passed_to_score(tmp_path, monkeypatch):
    """--sex PATH reaches prs.score as sex=Path (absent: no sex given)."""
    seen = []
    monkeypatch.setattr(prs.cli.score, "score", lambda *a, **kw: seen.append(kw))
    parser = build_parser(["prs.cli.score"])
    args = parser.parse_args([*example_score_args(tmp_path), "--sex", str(tmp_path / "s.psam")])
    prs.cli.score.score_from_args(args, args.vcf, args.scorefile)
    args = parser.parse_args(example_score_args(tmp_path))
    prs.cli.score.score_from_args(args, args.vcf, args.scorefile)
    assert seen[0]["sex"] == tmp_path / "s.psam"
    assert "sex" in seen[1] and seen[1]["sex"] is None
    help_text = parser._subparsers._group_actions[0].choices["score"].format_help()
    assert "--sex PATH" in help_text and ".psam" in help_text


def test_sex_option_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*example_score_args(out), "--sex", str(example_paths().sexes)]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["options"]["sex"] == str(example_paths().sexes)
    assert main([*example_score_args(tmp_path / "o2"), "--sex", str(tmp_path / "none")]) == 6
    assert "cannot read the sex file" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()


def test_ctrl_c_while_loading_the_command(monkeypatch, capsys):
    """An interrupt during the imports of a command (a second or more) is one line too."""

    def slow_import(modules=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(prs.cli, "build_parser", slow_import)
    assert main(["score", "--help"]) == 130
    assert capsys.readouterr().err == "prs: interrupted\n"


def test_python_dash_m_prs_runs_the_cli(tmp_path):
    """Issue 12: there was no ``python -m prs``; it is the console script's entry point."""
    done = subprocess.run(
        [sys.executable, "-m", "prs", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"prs {prs.__version__}"


def test_the_package_declares_its_type_hints():
    """PEP 561: ``py.typed`` ships beside the modules so type checkers use the annotations."""
    assert (Path(prs.__file__).parent / "py.typed").is_file()
