"""``prs score -v``: one log line per stage of the scoring pipeline with its seconds (opening
the genotypes, loading the scoring files, matching and accumulating); the provenance names
the BGZF inflater the fast VCF reader used (issue 16: it was not said which one ran)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pytest

from prs.cli import main
from prs.genotypes.bgzf import inflater
from tests.test_cli import example_score_args

STAGES = ("open genotypes", "load scoring files", "match and accumulate")


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
def test_verbose_logs_each_stage_with_its_seconds(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "prs", *example_score_args(tmp_path / "out"), "-v"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    for stage in STAGES:
        assert re.search(rf"^prs: {stage}: \d+\.\d\d s", run.stderr, re.MULTILINE), stage
    assert re.search(r"^prs: open genotypes: .*\(200 samples, VcfSource\)", run.stderr, re.M)
    assert re.search(r"^prs: load scoring files: .*\(1 files, 300 rows\)", run.stderr, re.M)


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
def test_no_stage_lines_without_verbose(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # (the handler takes all; prs's logger level decides)
    assert main(example_score_args(tmp_path / "out")) == 0
    assert not [r for r in caplog.records if r.name == "prs.scoring.pipeline"]


@pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")
@pytest.mark.parametrize(
    ("engine", "reader"), [("fast", "FastVcfSource"), ("checked", "VcfSource")]
)
def test_provenance_names_the_inflater(tmp_path, engine, reader):
    out = tmp_path / "out"
    assert main([*example_score_args(out), "--engine", engine, "-q"]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["options"]["engine"] == reader
    if engine == "fast":
        assert prov["inflater"] == inflater()
        assert prov["inflater"]["inflater"] in ("libdeflate", "isal")
    else:  # cyvcf2 (htslib) inflates its own blocks
        assert prov["inflater"] is None
