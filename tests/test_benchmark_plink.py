"""The benchmark driver's PLINK cases (``pgen``, ``bed``) on tiny ``plink2 --dummy`` filesets.

Checks the harness, not timings: the generated fileset and score line up (every variant
scored, both spellings of the score), ``prs score`` on the ``.pgen`` and the ``.bed`` agrees
with ``plink2 --pfile``/``--bfile --score`` through the driver's own comparison, the
driver's commands name the right reader, the engine figure counts every genotype scored,
and the samples-scaling line is computed from the by-samples cases.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.plink2

#: The filesets of the small run, tiny (same names, so the driver's cases find them).
TINY = {"target": (150, 400), "wide": (240, 60), "narrow": (60, 60)}


@pytest.fixture(scope="module")
def tiny_plink(tmp_path_factory) -> Path:
    if shutil.which("plink2") is None:
        pytest.skip("plink2 not on PATH (make tools)")
    from benchmarks.generate import PLINK_TARGETS_SMALL, PlinkSpec, generate_plink

    out = tmp_path_factory.mktemp("plink-bench")
    generate_plink(out, PlinkSpec(samples=150, variants=400, seed=11))
    for spec in PLINK_TARGETS_SMALL:
        samples, variants = TINY[spec.name]
        generate_plink(out, PlinkSpec(samples, variants, seed=11, name=spec.name, bed=spec.bed))
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
    # named filesets: their own files and score, a .bed only where asked
    for name, (samples, variants) in TINY.items():
        assert len(pd.read_csv(tiny_plink / f"{name}.psam", sep="\t")) == samples
        assert len(pd.read_csv(tiny_plink / f"plink-{name}.plink.tsv", sep="\t")) == variants
    assert (tiny_plink / "target.bed").exists() and not (tiny_plink / "wide.bed").exists()


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
        str(tiny_plink / "target"),
    ]
    row = run_case(case, tiny_plink, tmp_path, repeats=1)
    assert (row["records"], row["samples"]) == (400, 150)
    assert row["agree"], row
    assert row["max_rel_diff"] < 1e-5
    # the engine figure is the scoring loop over every genotype of the dense score
    assert row["engine_genotypes"] == 400 * 150


def test_cases_by_samples_and_the_scaling_line(tiny_plink, tmp_path):
    from benchmarks.generate import SMALL
    from benchmarks.run import cases, markdown, run_case

    by_samples = [c for c in cases(SMALL) if c.name.endswith(" samples")]
    assert [c.vcf for c in by_samples] == ["wide.pgen", "narrow.pgen"]
    rows = [run_case(c, tiny_plink, tmp_path, repeats=1) for c in by_samples]
    assert [(r["records"], r["samples"]) for r in rows] == [(60, 240), (60, 60)]
    assert all(r["agree"] for r in rows), rows
    meta = {"command": "x", "machine": "m", "cpus": 2, "date": "d", "repeats": 1, "load": "0"}
    text = markdown(rows, meta)
    assert "Time against samples (60 -> 240 samples, 4x" in text
    expected = rows[0]["prs_s"] / rows[1]["prs_s"] / 4
    assert f"prs end to end {expected:.2f}" in text


def test_interleaved_rounds_alternate_their_order(tmp_path):
    """Each command runs as often right after the other as after itself (A B, B A, A B):
    real commands under /usr/bin/time, their order read back from the file they append to."""
    if not Path("/usr/bin/time").exists():
        pytest.skip("/usr/bin/time is absent (Debian's time package)")
    from benchmarks.run import best_interleaved

    log = tmp_path / "order"
    commands = {name: ["sh", "-c", f"echo {name} >> {log}"] for name in ("a", "b")}
    timings = best_interleaved(commands, repeats=4)
    assert log.read_text().split() == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert [len(timings[name].runs) for name in ("a", "b")] == [4, 4]
