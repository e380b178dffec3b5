"""Fixes of the review of 13108f8..HEAD (notes/review.md), each checked against an
independent answer: the same rows written in the target build, PLINK-free hand sums, or
the in-memory report of the same run.

Chains are generated here (block arithmetic, as tests/test_liftover.py), never fetched."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest

from prs.scoring.reference_freq import score_with_reference_frequencies
from tests.builders import write_scorefile
from tests.test_reference_freq import cohort  # noqa: F401  (fixture)


def _shift_chain(path, shift: int, size: int = 10_000_000):
    """One block on chr1: source position p -> p - ``shift`` (a chain of no real build)."""
    path.write_text(
        f"chain 1000 chr1 {size} + {shift} {size - 1000} chr1 {size} + 0 {size - 1000 - shift} 1\n"
        f"{size - 1000 - shift}\n\n"
    )
    return path, hashlib.md5(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------
# Finding 1: --missing reference-freq looks frequencies up at the lifted positions


def test_reference_frequencies_of_a_lifted_file_equal_those_of_the_target_build_file(
    cohort,  # noqa: F811
    tmp_path,
):
    """GRCh38 rows (positions + 1000) lifted by a chain to the GRCh37 panel and genotypes
    give the sums, and the rows without a frequency, of the same rows written in GRCh37."""
    chain, md5 = _shift_chain(tmp_path / "c.chain", 1000)
    pairs, pos = cohort["pairs"], cohort["pos"]
    rows37, rows38 = [], []
    for j in range(10):
        ref, alt = pairs[j]
        rows37.append(("1", int(pos[j]), alt, ref, 0.1 * (j + 1)))
        rows38.append(("1", int(pos[j]) + 1000, alt, ref, 0.1 * (j + 1)))
    sf37 = write_scorefile(
        tmp_path / "s37.txt", rows37, header={"pgs_id": "P", "genome_build": "GRCh37"}
    )
    sf38 = write_scorefile(
        tmp_path / "s38.txt", rows38, header={"pgs_id": "P", "genome_build": "GRCh38"}
    )
    panel = cohort["tmp"] / "panel"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = score_with_reference_frequencies(
            cohort["target_vcf"], sf37, panel, genome_build="GRCh37"
        )
        lifted = score_with_reference_frequencies(
            cohort["target_vcf"],
            sf38,
            panel,
            genome_build="GRCh37",
            liftover=str(chain),
            liftover_md5=md5,
            catalog_options={"cache_dir": str(tmp_path / "cache")},
        )
    assert lifted.match_report.counts["matched"].tolist() == [10]
    assert set(lifted.match_report.variants["liftover"]) == {"lifted"}
    absent = lifted.provenance["reference_frequencies"]["rows_without_reference_frequency"]
    expected = good.provenance["reference_frequencies"]["rows_without_reference_frequency"]
    assert {k: len(v) for k, v in absent.items()} == {k: len(v) for k, v in expected.items()}
    np.testing.assert_allclose(lifted.sums, good.sums, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Finding 2: a piece whose columns differ is a ReportError naming the table and columns


@pytest.mark.parametrize("name", ["t.tsv", "t.parquet", "t.tsv.gz"])
def test_pieces_with_other_columns_are_a_report_error(tmp_path, name):
    from prs.errors import ReportError
    from prs.output.tables import output_set

    first = pd.DataFrame({"a": [1], "b": ["x"]})
    second = pd.DataFrame({"a": [2], "c": ["y"]})
    with pytest.raises(ReportError, match=r"t\.tsv|t\.parquet") as info:
        with output_set(tmp_path / "out") as outs:
            outs.write_table_pieces(iter([first, second]), name)
    assert "missing ['b']" in str(info.value) and "extra ['c']" in str(info.value)
    assert not (tmp_path / "out" / name).exists()


# --------------------------------------------------------------------------------------
# Finding 7: the HTML page's match-type table counts only the score's own rows


@pytest.mark.parametrize("fmt", ["tsv", "parquet"])
def test_match_type_table_counts_only_the_scores_rows(tmp_path, fmt):
    """Two scoring files, one of three weight columns: each score's "matched rows by match
    type" holds the rows the score weights, counted from the scoring files' text; a row
    several (but not all) scores of the file weight cannot be told apart in the report
    ("*" with n_scores) and is left out, as the caption says."""
    pytest.importorskip("matplotlib", reason="the report's figures need matplotlib")
    from prs.cli import main
    from prs.htmlreport import write_report
    from prs.htmlreport.page import _slug
    from tests.builders import write_vcf
    from tests.test_html_report import parse

    rng = np.random.default_rng(5)
    samples = [f"S{i}" for i in range(6)]
    positions = [100, 200, 300, 400, 500, 600, 700]
    cells = [["0/0", "0/1", "1/1"][k] for k in rng.integers(0, 3, (7, 6)).ravel()]
    records = [
        ("1", p, f"v{i}", "A", "G", cells[6 * i : 6 * i + 6]) for i, p in enumerate(positions)
    ]
    vcf = write_vcf(tmp_path / "g.vcf.gz", samples, records)
    multi = tmp_path / "multi.txt"
    multi.write_text(
        "chr_name\tchr_position\teffect_allele\tother_allele\ts1\ts2\ts3\n"
        "1\t100\tG\tA\t1\t2\t3\n"  # every score of the file
        "1\t200\tG\tA\t\t1\t1\n"  # s2 and s3: not attributable in the report
        "1\t300\tG\tA\t1\t\t\n"
        "1\t400\tG\tA\t2\t\t\n"
    )
    single = write_scorefile(
        tmp_path / "b.txt",
        [("1", p, "G", "A", 0.5) for p in (500, 600, 700)],
        header={"pgs_id": "B"},
    )
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(
            ["score", "--vcf", str(vcf), "--scorefile", str(multi), str(single),
             "--out", str(out), "--format", fmt, "-q"]
        )  # fmt: skip
    assert code == 0
    expected = {}
    for path in (multi, single):
        lines = [line.split("\t") for line in path.read_text().splitlines()]
        body = [f for f in lines if f[0] and not f[0].startswith("#")]
        names, rows = body[0][4:], body[1:]
        if len(names) == 1:
            names = ["B"]
        for j, name in enumerate(names):
            weighted = [r for r in rows if r[4 + j].strip()]
            n_weights = [sum(1 for w in r[4:] if w.strip()) for r in weighted]
            expected[name] = sum(1 for k in n_weights if k in (1, len(names)))
    assert expected == {"s1": 3, "s2": 1, "s3": 1, "B": 3}
    page = parse(write_report(out).read_text(encoding="utf-8"))
    got = {
        name: sum(int(r["rows"][0]) for r in page.tables[f"match-types-{_slug(name)}"])
        for name in expected
    }
    assert got == expected
