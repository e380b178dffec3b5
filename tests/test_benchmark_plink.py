"""The benchmark driver's PLINK cases (``pgen``, ``bed``) on a tiny ``plink2 --dummy`` fileset.

Checks the harness, not timings: the generated fileset and score line up (every variant
scored, both spellings of the score), ``prs score`` on the ``.pgen`` and the ``.bed`` agrees
with ``plink2 --pfile``/``--bfile --score`` through the driver's own comparison, and the
driver's commands name the right reader.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.plink2


@pytest.fixture(scope="module")
def tiny_plink(tmp_path_factory) -> Path:
    if shutil.which("plink2") is None:
        pytest.skip("plink2 not on PATH (make tools)")
    from benchmarks.generate import PlinkSpec, generate_plink

    out = tmp_path_factory.mktemp("plink-bench")
    generate_plink(out, PlinkSpec(samples=150, variants=400, seed=11))
    return out


def test_generated_fileset_and_score_line_up(tiny_plink):
    pvar = pd.read_csv(tiny_plink / "dummy.pvar", sep="\t")
    bim = pd.read_csv(tiny_plink / "dummy.bim", sep="\t", header=None)
    prs_w = pd.read_csv(tiny_plink / "plink.prs.txt", sep="\t", comment="#")
    plink_w = pd.read_csv(tiny_plink / "plink.plink.tsv", sep="\t")
    assert len(pvar) == len(bim) == len(prs_w) == len(plink_w) == 400
    assert list(prs_w["rsID"]) == list(pvar["ID"]) == list(bim[1]) == list(plink_w["ID"])
    assert list(prs_w["effect_allele"]) == list(plink_w["A1"])
    # no strand-ambiguous pair (prs drops those by default, PLINK 2 scores them)
    pairs = {frozenset(p) for p in zip(pvar["REF"], pvar["ALT"], strict=True)}
    assert not pairs & {frozenset("AT"), frozenset("CG")}
    # the .bim is the same fileset (A2 = REF, A1 = ALT)
    assert list(bim[5]) == list(pvar["REF"]) and list(bim[4]) == list(pvar["ALT"])


def test_generation_is_seeded(tiny_plink, tmp_path):
    from benchmarks.generate import PlinkSpec, generate_plink

    generate_plink(tmp_path, PlinkSpec(samples=150, variants=400, seed=11))
    for name in ("dummy.pgen", "dummy.bed", "dummy.pvar", "plink.prs.txt"):
        assert (tmp_path / name).read_bytes() == (tiny_plink / name).read_bytes(), name


@pytest.mark.parametrize("kind", ["pgen", "bed"])
def test_plink_case_agrees_with_plink2(tiny_plink, tmp_path, kind):
    from benchmarks.generate import SMALL
    from benchmarks.run import cases, plink_command, run_case

    case = next(c for c in cases(SMALL) if c.kind == kind)
    assert case.name.startswith(kind)  # what `--only pgen bed` selects
    command = plink_command(tiny_plink / case.vcf, tiny_plink / "x", tmp_path / "o", "GT", 1)
    assert command[1:3] == [
        "--pfile" if kind == "pgen" else "--bfile",
        str(tiny_plink / "dummy"),
    ]
    row = run_case(case, tiny_plink, tmp_path, repeats=1)
    assert (row["records"], row["samples"]) == (400, 150)
    assert row["agree"], row
    assert row["max_rel_diff"] < 1e-5
