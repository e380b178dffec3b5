"""Malformed VCFs: both engines give the same result or the same named error (issue 10).

Each case is run through the checked engine (cyvcf2) and the fast engine (Numba over BGZF),
bgzipped and plain where it applies, and through ``engine="auto"``: the site table and the
dosages of every allele must be equal, or both engines must raise a GenotypeFileError with
the same message (the file name aside).
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from prs import score
from prs.errors import GenotypeFileError, GenotypeWarning
from prs.genotypes import open_genotypes
from prs.genotypes.fastvcf import FastVcfSource
from prs.genotypes.vcf import VcfSource
from tests.builders import write_scorefile, write_vcf_text
from tests.reference import plink2_scores

HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=22>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS0\tS1\n"
)
GOOD = (
    "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n22\t200\trs2\tC\tT\t.\tPASS\t.\tGT\t0|0\t0|1\n"
)


def _write(tmp_path: Path, text: str | bytes, *, bgzip: bool) -> Path:
    """``x.vcf`` or an unindexed ``x.vcf.gz`` (BGZF) in ``tmp_path``."""
    container = "bgzf" if bgzip else "plain"
    return write_vcf_text(tmp_path / "x.vcf", text, container=container, index=False)


def _outcome(path: Path, engine: str) -> tuple:
    """('ok', site table, dosages, ploidies, warnings) or ('error', class, message)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            source = open_genotypes(path, engine=engine)
            sites = source.sites()
            per_record = sites.groupby("record", sort=True)["n_alleles"].first()
            records = np.repeat(per_record.index.to_numpy(), per_record.to_numpy())
            alleles = np.concatenate([np.arange(n) for n in per_record.to_numpy()] or [[]])
            chunks = list(source.read(records.astype(np.int64), alleles.astype(np.int64)))
    except Exception as exc:  # any other exception fails the comparison
        return ("error", type(exc), str(exc).replace(str(path), "<vcf>"))
    dosage = np.vstack([c.dosage for c in chunks]) if chunks else np.empty((0, 2))
    ploidy = np.vstack([c.ploidy for c in chunks]) if chunks else np.empty((0, 2))
    messages = [
        str(w.message).replace(str(path), "<vcf>")
        for w in caught
        if issubclass(w.category, GenotypeWarning)
    ]
    assert [m.replace(str(path), "<vcf>") for m in source.notes] == messages
    return ("ok", sites, dosage, ploidy, messages)


def _same(a: tuple, b: tuple) -> None:
    assert a[0] == b[0], (a, b)
    if a[0] == "error":
        assert a[1] is b[1] is GenotypeFileError, (a, b)
        assert a[2] == b[2]
        return
    pd.testing.assert_frame_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])
    np.testing.assert_array_equal(a[3], b[3])
    assert a[4] == b[4]


def parity(tmp_path: Path, text: str | bytes, *, plain: bool = True) -> tuple:
    """Both engines (and auto) on the bgzipped file, checked (and auto) on the plain one:
    one outcome. Returns it."""
    bgz = _write(tmp_path, text, bgzip=True)
    fast = _outcome(bgz, "fast")
    for other in (_outcome(bgz, "checked"), _outcome(bgz, "auto")):
        _same(fast, other)
    if plain:
        txt = _write(tmp_path, text, bgzip=False)
        for engine in ("checked", "auto"):
            _same(fast, _outcome(txt, engine))
    return fast


def _error(outcome: tuple, text: str) -> None:
    assert outcome[0] == "error" and outcome[1] is GenotypeFileError, outcome
    assert text in outcome[2], outcome[2]


# -- F2: no samples -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "columns",
    ["\tFORMAT\tS0\tS1", "\tS0\tS1"],
    ids=["sites-only", "FORMAT-no-samples"],
)
def test_no_samples_is_named_on_both_engines(tmp_path, columns):
    header = HEADER.replace(columns, "")
    record = (
        "22\t100\trs1\tA\tG\t.\tPASS\t.\n"
        if columns.startswith("\tFORMAT")
        else ("22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\n")
    )
    _error(parity(tmp_path, header + record), "no samples in the #CHROM line")


def test_broken_chrom_line_is_named(tmp_path):
    header = HEADER.replace("\tFORMAT\tS0\tS1", "\tFORMAT S0 S1")
    _error(parity(tmp_path, header + GOOD), "9th column is 'FORMAT S0 S1', expected FORMAT")


# -- F6 / F18: the first line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ("", "expected the ##fileformat=VCFv4.x line (found '##contig=<ID=22>')"),
        ("##fileformat=\n", "expected the ##fileformat=VCFv4.x line (found '##fileformat=')"),
        ("\n", "expected the ##fileformat=VCFv4.x line (found an empty line)"),
    ],
    ids=["missing", "empty-value", "blank-line"],
)
def test_fileformat_line_one_rule(tmp_path, first, message):
    text = first + HEADER.split("\n", 1)[1] + GOOD
    _error(parity(tmp_path, text), message)


def test_utf8_bom_is_named(tmp_path):
    _error(parity(tmp_path, "\ufeff" + HEADER + GOOD), "UTF-8 byte-order mark")


def test_header_only_file_says_it_has_no_records(tmp_path):
    _error(parity(tmp_path, HEADER), "no variant records after the header")


def test_directory_is_named(tmp_path):
    folder = tmp_path / "calls.vcf.gz"
    folder.mkdir()
    for engine in ("auto", "fast", "checked"):
        with pytest.raises(GenotypeFileError, match="is a directory, not a VCF file"):
            open_genotypes(folder, engine=engine)


# -- F8: POS limit ---------------------------------------------------------------------------


@pytest.mark.parametrize("pos", [2**31, 2**32 + 100, 2**40 + 1000, 10**25])
def test_pos_beyond_the_limit_is_named(tmp_path, pos):
    line = f"22\t{pos}\trs3\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n"
    outcome = parity(tmp_path, HEADER + GOOD + line)
    _error(outcome, f"<vcf> line 7: POS {pos} is larger than 2147483647")


def test_pos_at_the_limit_is_read(tmp_path):
    line = f"22\t{2**31 - 1}\trs3\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n"
    outcome = parity(tmp_path, HEADER + GOOD + line)
    assert outcome[0] == "ok" and outcome[1]["pos"].max() == 2**31 - 1


# -- F9: corrupt deflate data ------------------------------------------------------------------


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_corrupt_deflate_data_is_a_genotype_error(tmp_path, where):
    rng = np.random.default_rng(0)
    rows = "".join(
        f"22\t{100 + k}\trs{k}\tA\tG\t.\tPASS\t.\tGT\t{rng.integers(2)}|1\t1|{rng.integers(2)}\n"
        for k in range(30000)
    )
    path = _write(tmp_path, HEADER + rows, bgzip=True)
    data = bytearray(path.read_bytes())
    at = int(len(data) * where)
    data[at : at + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    for engine in ("fast", "checked"):
        outcome = _outcome(path, engine)
        assert outcome[0] == "error" and outcome[1] is GenotypeFileError, (engine, outcome)
        assert "corrupt" in outcome[2]


def test_corrupt_plain_gzip_is_a_genotype_error(tmp_path):
    text = HEADER + "".join(
        f"22\t{100 + k}\trs{k}\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n" for k in range(20000)
    )
    data = bytearray(gzip.compress(text.encode()))
    data[len(data) // 2 : len(data) // 2 + 8] = b"\x00" * 8
    path = tmp_path / "x.vcf.gz"
    path.write_bytes(bytes(data))
    for engine in ("auto", "checked"):
        outcome = _outcome(path, engine)
        assert outcome[0] == "error" and outcome[1] is GenotypeFileError, (engine, outcome)


# -- F14: CHROM, joined files, repeats ----------------------------------------------------------


@pytest.mark.parametrize("chrom", ["<1", ",1", "*1", "=1", "1,2", "<22>", "chr 1", '"1"'])
def test_invalid_chrom_one_rule(tmp_path, chrom):
    line = f"{chrom}\t300\trs3\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n"
    _error(parity(tmp_path, HEADER + GOOD + line), "is not a valid contig name")


@pytest.mark.parametrize("chrom", ["HLA-A*01:01:01:01", "chrUn_KI270302v1", "GL000192.1"])
def test_valid_odd_chrom_names_are_read(tmp_path, chrom):
    line = f"{chrom}\t300\trs3\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n"
    assert parity(tmp_path, HEADER + GOOD + line)[0] == "ok"


def test_bgzipped_files_joined_with_cat_read_right(tmp_path):
    """Two bgzipped VCFs joined with cat (valid BGZF, several members): both engines read
    all records; the checked engine used to say "the file changed while it was read"."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _write(tmp_path / "a", HEADER + GOOD, bgzip=True)
    second_text = HEADER + GOOD.replace("100", "300").replace("200", "400")
    second = _write(tmp_path / "b", second_text, bgzip=True)
    joined = tmp_path / "joined.vcf.gz"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    outcomes = [_outcome(joined, engine) for engine in ("fast", "checked", "auto")]
    for other in outcomes[1:]:
        _same(outcomes[0], other)
    assert outcomes[0][0] == "ok"
    assert outcomes[0][1]["pos"].tolist() == [100, 200, 300, 400]
    assert outcomes[0][4] == [
        "<vcf>: 4 header line(s) among the records skipped, from line 7 (a repeated "
        "header: bgzipped VCFs joined with cat?)"
    ]


def test_every_record_twice_is_warned_with_the_count(tmp_path):
    outcome = parity(tmp_path, HEADER + GOOD + GOOD)
    assert outcome[0] == "ok"
    assert outcome[4] == [
        "<vcf>: 2 record(s) repeat an earlier record's chrom:pos:ref:alt (e.g. 22:100 A>G); "
        "the first is used, the report lists the others as duplicates"
    ]


def test_repeated_header_in_plain_text_is_warned(tmp_path):
    outcome = parity(tmp_path, HEADER + GOOD + HEADER + GOOD.replace("00\t", "50\t"))
    assert outcome[0] == "ok" and len(outcome[1]) == 4
    assert outcome[4][0].startswith("<vcf>: 4 header line(s) among the records skipped")


# -- F15: polyploid calls ------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["0|0|1", "1/1/1", "0/1/1/1", "0|.|1"])
def test_polyploid_call_is_missing(tmp_path, call):
    line = f"22\t300\trs3\tA\tG\t.\tPASS\t.\tGT\t{call}\t0|1\n"
    outcome = parity(tmp_path, HEADER + GOOD + line)
    assert outcome[0] == "ok"
    dosage, ploidy = outcome[2], outcome[3]
    assert np.isnan(dosage[-2:, 0]).all() and (dosage[-2:, 1] == [1, 1]).all()
    assert (ploidy[-2:, 0] == 2).all()


def test_polyploid_calls_score_as_plink2(tmp_path, plink2):
    rng = np.random.default_rng(5)
    samples = [f"S{k}" for k in range(12)]
    header = HEADER.replace("S0\tS1", "\t".join(samples))
    lines, rows = [], []
    for k in range(40):
        calls = []
        for _ in samples:
            alleles = rng.integers(0, 2, size=3 if rng.random() < 0.15 else 2)
            calls.append("|".join(str(a) for a in alleles))
        lines.append(f"22\t{1000 + 10 * k}\trs{k}\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(calls))
        rows.append(("22", 1000 + 10 * k, "G", "A", round(0.1 * (k % 7) - 0.3, 2)))
    vcf = _write(tmp_path, header + "\n".join(lines) + "\n", bgzip=True)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    weights = write_scorefile(tmp_path / "w.tsv", rows, header={"pgs_id": "TRI"})
    results = [score(vcf, weights, engine=e, missing="none") for e in ("fast", "checked")]
    np.testing.assert_array_equal(results[0].sums, results[1].sums)
    (tmp_path / "plink").mkdir()
    expected = plink2_scores(plink2, results[0], [vcf], tmp_path / "plink", missing="none")
    got = pd.Series(results[0].sums[:, 0], index=list(results[0].samples))
    np.testing.assert_allclose(
        got[expected.index].to_numpy(), expected["TRI"].to_numpy(), atol=1e-4
    )
    allele_ct = pd.Series(results[0].allele_ct[:, 0], index=list(results[0].samples))
    np.testing.assert_array_equal(
        allele_ct[expected.index].to_numpy(), expected["TRI_ALLELE_CT"].to_numpy()
    )


# -- F16: auto always picks an engine that reads the file ------------------------------------


def test_auto_reads_every_kind_of_file(tmp_path):
    text = HEADER + GOOD
    expected = _outcome(_write(tmp_path, text, bgzip=False), "checked")
    assert expected[0] == "ok"
    kinds: dict[str, Path] = {}
    kinds["plain"] = _write(tmp_path, text, bgzip=False)
    (tmp_path / "gz").mkdir()
    kinds["gzip"] = tmp_path / "gz" / "x.vcf.gz"
    kinds["gzip"].write_bytes(gzip.compress(text.encode()))
    (tmp_path / "noindex").mkdir()
    kinds["bgzip"] = _write(tmp_path / "noindex", text, bgzip=True)
    (tmp_path / "stale").mkdir()
    stale = _write(tmp_path / "stale", HEADER + GOOD.replace("200", "150"), bgzip=True)
    pysam.tabix_index(str(stale), preset="vcf", force=True)
    stale.write_bytes(kinds["bgzip"].read_bytes())  # data changed after indexing
    kinds["stale index"] = stale
    (tmp_path / "bcf").mkdir()
    kinds["bcf"] = tmp_path / "bcf" / "x.bcf"
    with (
        pysam.VariantFile(str(kinds["plain"])) as src,
        pysam.VariantFile(str(kinds["bcf"]), "wb", header=src.header) as out,
    ):
        for record in src:
            out.write(record)
    for kind, path in kinds.items():
        outcome = _outcome(path, "auto")
        assert outcome[0] == "ok", (kind, outcome)
        pd.testing.assert_frame_equal(outcome[1], expected[1])
        np.testing.assert_array_equal(outcome[2], expected[2])


# -- F21: POS 0 ----------------------------------------------------------------------------------


def test_pos_zero_records_are_skipped_and_counted(tmp_path):
    telomere = "22\t0\trs0\tN\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n"
    outcome = parity(tmp_path, HEADER + telomere + GOOD + telomere.replace("22", "X"))
    assert outcome[0] == "ok"
    assert outcome[1]["pos"].tolist() == [100, 200]
    assert outcome[1]["record"].tolist() == [1, 2]  # numbered, as htslib reads them
    assert outcome[4] == [
        "<vcf>: 2 record(s) at POS 0 (a telomere, VCF 4.3) skipped: no scoring position "
        "is 0, so they cannot match"
    ]


def test_notes_hold_the_warnings(tmp_path):
    path = _write(tmp_path, HEADER + GOOD + GOOD, bgzip=True)
    for cls in (FastVcfSource, VcfSource):
        with pytest.warns(GenotypeWarning):
            source = cls(path)
            source.sites()
        assert len(source.notes) == 1 and "repeat an earlier record" in source.notes[0]


# -- fuzz findings (tests/regressions, /work/notes/fuzz_findings.md) --------------------------

DS_HEADER = HEADER.replace(
    "#CHROM",
    '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">\n#CHROM',
)


@pytest.mark.parametrize("cell", ["0//1", "-1/0", "0|", "a/b", "1/0 ", "0\\1"])
def test_vf1_unrequested_record_htslib_cannot_parse(tmp_path, cell):
    """A record htslib cannot parse, not requested, between requested records: both engines
    read the requested ones (the checked engine used to refuse the file)."""
    bad = f"22\t150\trs9\tA\tG\t.\tPASS\t.\tGT\t{cell}\t0|1\n"
    text = HEADER + GOOD.replace("22\t200", bad + "22\t200")
    bgz = _write(tmp_path, text, bgzip=True)
    wanted = {"22": np.array([100, 200])}
    tables = []
    for cls in (FastVcfSource, VcfSource):
        source = cls(bgz)
        sites = source.sites(wanted)
        chunks = list(source.read(sites["record"].to_numpy(), np.ones(len(sites), np.int64)))
        tables.append((sites, np.vstack([c.dosage for c in chunks])))
    pd.testing.assert_frame_equal(tables[0][0], tables[1][0])
    np.testing.assert_array_equal(tables[0][1], tables[1][1])
    np.testing.assert_array_equal(tables[0][1], [[1, 2], [0, 1]])


def test_vf3_non_utf8_bytes_in_id(tmp_path):
    text = (HEADER + GOOD).encode().replace(b"\trs2\t", b"\trs\xff2\t")
    outcome = parity(tmp_path, text)
    assert outcome[0] == "ok" and outcome[1]["id"].tolist() == ["rs1", "rs\ufffd2"]


@pytest.mark.parametrize("field", ["DS", "GP"])
def test_vf4_dosage_field_not_declared_float(tmp_path, field):
    value = "0.5" if field == "DS" else "0.25,0.5,0.25"
    text = HEADER + GOOD.replace("\tGT\t0|1\t1|1", f"\tGT:{field}\t0|1:{value}\t1|1:{value}")
    for bgzip in (True, False):
        path = _write(tmp_path, text, bgzip=bgzip)
        engines = ("fast", "checked") if bgzip else ("checked",)
        errors = []
        for engine in engines:
            source = open_genotypes(path, engine=engine, dosage=field)
            sites = source.sites()
            with pytest.raises(GenotypeFileError) as caught:
                list(source.read(sites["record"].to_numpy(), np.ones(len(sites), np.int64)))
            errors.append(str(caught.value))
        assert len(set(errors)) == 1
        assert (
            f"line 5 (22:100): FORMAT field {field} is not declared with Type=Float" in (errors[0])
        )


@pytest.mark.parametrize(
    "change",
    [
        ("##contig=<ID=22>\n", "##contig=<ID=22>\n#comment\n"),
        ("##contig=<ID=22>", "##contig=<ID=2\x002>"),
    ],
    ids=["comment", "nul"],
)
def test_vf6_header_htslib_refuses_is_one_error(tmp_path, change):
    _error(parity(tmp_path, (HEADER + GOOD).replace(*change)), "htslib cannot parse the header")


@pytest.mark.parametrize("cut", [3, 10, 17, 30, 60])
def test_vf7_bgzip_file_cut_in_its_first_block(tmp_path, cut):
    path = _write(tmp_path, HEADER + GOOD, bgzip=True)
    path.write_bytes(path.read_bytes()[:cut])
    outcomes = [_outcome(path, engine) for engine in ("fast", "checked", "auto")]
    for outcome in outcomes:
        assert outcome[0] == "error" and outcome[1] is GenotypeFileError, outcome
    assert outcomes[0][2] == outcomes[1][2] == outcomes[2][2]


def test_vf8_corrupt_first_block(tmp_path):
    path = _write(tmp_path, HEADER + GOOD, bgzip=True)
    raw = bytearray(path.read_bytes())
    raw[40] ^= 0xFF
    path.write_bytes(bytes(raw))
    outcomes = [_outcome(path, engine) for engine in ("fast", "checked", "auto")]
    for outcome in outcomes:
        assert outcome[0] == "error" and outcome[1] is GenotypeFileError, outcome
    assert outcomes[0][2] == outcomes[1][2] == outcomes[2][2]


@pytest.mark.parametrize(
    ("fmt", "cells", "dosage", "key"),
    [
        ("XX:GT", "0/0\t1|0", "GT", "GT"),
        ("GP:XX:GT", "0/0\t1|0", "GT", "GT"),
        ("GT:DS", "0/0\t1|0", "DS", "DS"),
    ],
)
def test_vf9_format_key_without_data_is_an_error_not_exit(tmp_path, fmt, cells, dosage, key):
    """htslib exits the process (exit(1)) when asked for a FORMAT field no sample has; run
    in a child process so a regression fails this test instead of killing the run."""
    import subprocess
    import sys

    text = DS_HEADER + GOOD.replace("\tGT\t0|0\t0|1", f"\t{fmt}\t{cells}")
    path = _write(tmp_path, text, bgzip=True)
    code = (
        "import numpy as np, sys\n"
        "from prs.genotypes import open_genotypes\n"
        "from prs.errors import GenotypeFileError\n"
        "for engine in ('fast', 'checked'):\n"
        f"    s = open_genotypes({str(path)!r}, engine=engine, dosage={dosage!r})\n"
        "    t = s.sites()\n"
        "    try:\n"
        "        list(s.read(t['record'].to_numpy(), np.ones(len(t), np.int64)))\n"
        "    except GenotypeFileError as e:\n"
        "        print(engine, str(e))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2, done.stdout
    expected = f"line 7 (22:200): FORMAT lists {key} but no sample has a value for it"
    assert all(expected in line for line in lines), lines
    assert lines[0].split(" ", 1)[1] == lines[1].split(" ", 1)[1]


def test_fuzz_malformed_format_line_means_undeclared(tmp_path):
    """A tab inside the ##FORMAT line of DS: htslib drops the line and reads DS as text
    (the checked decoder used to fail with IndexError); both engines name it."""
    header = DS_HEADER.replace("ID=DS,Number=A", "ID=DS,\tumber=A")
    text = header + GOOD.replace("\tGT\t0|1\t1|1", "\tGT:DS\t0|1:1\t1|1:2")
    for bgzip in (True, False):
        path = _write(tmp_path, text, bgzip=bgzip)
        errors = set()
        for engine in ("fast", "checked") if bgzip else ("checked", "auto"):
            source = open_genotypes(path, engine=engine, dosage="DS")
            sites = source.sites()
            with pytest.raises(GenotypeFileError) as caught:
                list(source.read(sites["record"].to_numpy(), np.ones(len(sites), np.int64)))
            errors.add(str(caught.value))
        assert len(errors) == 1
        assert "FORMAT field DS is not declared with Type=Float" in errors.pop()


def test_fuzz_repeated_format_key_uses_the_first(tmp_path):
    """FORMAT GT:GT: htslib and the fast kernels read the first GT; the checked decoder's
    "no value" check took the second (found by the VCF fuzz suite)."""
    outcome = parity(tmp_path, HEADER + GOOD.replace("\tGT\t0|1\t1|1", "\tGT:GT\t0|1\t1|1"))
    assert outcome[0] == "ok"
    np.testing.assert_array_equal(outcome[2][:2], [[1, 0], [1, 2]])


def test_fuzz_non_utf8_alt_is_read_as_bytes(tmp_path):
    """A byte that is not UTF-8 in ALT: cyvcf2's ALT raised UnicodeDecodeError in the
    checked decoder; both engines count the alleles from the text (found by the fuzz
    suite)."""
    text = (HEADER + GOOD).encode().replace(b"\tA\tG\t", b"\tA\t\xc3\t")
    outcome = parity(tmp_path, text)
    assert outcome[0] == "ok" and outcome[1]["alt"].tolist()[0] == "\ufffd"


@pytest.mark.parametrize("alt", ["", "."])
def test_fuzz_allele_index_without_alt_is_one_error(tmp_path, alt):
    """GT 0|1 on a record without ALT: the fast engine's packed 0/1 store took it as
    biallelic and scored; the checked engine refuses it (found by the VCF fuzz suite)."""
    line = f"22\t300\trs3\tA\t{alt}\t.\tPASS\t.\tGT\t0|1\t1|1\n"
    _error(parity(tmp_path, HEADER + GOOD + line), "has allele index 1 but the record has 0")
    line = f"22\t300\trs3\tA\t{alt}\t.\tPASS\t.\tGT\t0|0\t0/0\n"
    assert parity(tmp_path, HEADER + GOOD + line)[0] == "ok"


def test_fuzz_sample_requested_twice_is_one_error(tmp_path):
    """samples=("S0", "S0"): the checked engine crashed with IndexError, the fast one scored
    the sample twice (found by the VCF fuzz suite); both refuse it now."""
    path = _write(tmp_path, HEADER + GOOD, bgzip=True)
    for engine in ("fast", "checked", "auto"):
        with pytest.raises(GenotypeFileError, match="sample 'S0' is requested more than once"):
            open_genotypes(path, engine=engine, samples=["S0", "S1", "S0"])


@pytest.mark.parametrize(
    ("info", "fmt", "cells", "dosage", "ok"),
    [
        (".", "GT", "0|1\t1|1", "GT", True),  # the control: nothing malformed
        (".", "GT:DS", "0|1:x\t1|1:2", "GT", True),  # a field prs does not read (PLINK 2 too)
        ("AF=x", "GT", "0|1\t1|1", "GT", True),  # malformed INFO
        (".", "GT:DS", "0|1:x\t1|1:2", "DS", False),  # the field read: an error
        (".", "GT:DS", "0//1:1\t1|1:2", "GT", False),  # GT itself: an error
    ],
)
def test_fuzz_malformed_field_prs_does_not_read(tmp_path, info, fmt, cells, dosage, ok):
    """A requested record htslib refuses for a field prs does not read: the checked engine
    refused it, the fast engine (and PLINK 2) read it (found by the VCF fuzz suite). The
    checked engine now parses such a record again with only the fields prs reads."""
    header = HEADER.replace(
        "#CHROM",
        '##FORMAT=<ID=DS,Number=A,Type=Float,Description="D">\n'
        '##INFO=<ID=AF,Number=A,Type=Float,Description="F">\n#CHROM',
    )
    first = f"22\t100\trs1\tA\tG\t.\tPASS\t{info}\t{fmt}\t{cells}\n"
    path = _write(tmp_path, header + first + GOOD.split("\n", 1)[1], bgzip=True)
    outcomes = []
    for engine in ("fast", "checked"):
        try:
            source = open_genotypes(path, engine=engine, dosage=dosage)
            sites = source.sites()
            chunks = list(source.read(sites["record"].to_numpy(), np.ones(len(sites), np.int64)))
            outcomes.append(np.vstack([c.dosage for c in chunks]).tolist())
        except GenotypeFileError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    assert isinstance(outcomes[0], list) == ok, outcomes


def test_fuzz_bad_gt_on_an_undeclared_contig_is_an_error_not_a_crash(tmp_path):
    """A GT htslib refuses on a contig the header does not declare: htslib crashed
    (SIGSEGV) when the record was parsed again alone (found by the VCF fuzz suite). Run in a
    child process so a regression fails this test instead of killing the run."""
    import subprocess
    import sys

    header = HEADER.replace("##contig=<ID=22>\n", "")
    path = _write(tmp_path, header + "1\t637\tv1\tG\tA\t.\tPASS\t.\tGT\t-1/0\t0|1\n", bgzip=True)
    code = (
        "import numpy as np\n"
        "from prs.genotypes import open_genotypes\n"
        "from prs.errors import GenotypeFileError\n"
        "for engine in ('fast', 'checked'):\n"
        f"    s = open_genotypes({str(path)!r}, engine=engine)\n"
        "    t = s.sites()\n"
        "    try:\n"
        "        list(s.read(t['record'].to_numpy(), np.ones(len(t), np.int64)))\n"
        "    except GenotypeFileError as e:\n"
        "        print(str(e))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0] == lines[1], lines
    assert "line 4 (1:637): htslib cannot parse the record" in lines[0]


def test_fuzz_empty_sample_subset_is_one_error(tmp_path):
    """samples=(): the fast engine scored nobody, the checked one failed reading GT (found
    by the VCF fuzz suite); both refuse it now."""
    path = _write(tmp_path, HEADER + GOOD, bgzip=True)
    for engine in ("fast", "checked", "auto"):
        with pytest.raises(GenotypeFileError, match="samples= selects no sample"):
            open_genotypes(path, engine=engine, samples=[])


@pytest.mark.parametrize("dosage", ["DS", "GP"])
def test_fuzz_gt_allele_out_of_range_under_dosage_fields(tmp_path, dosage):
    """DS/GP scoring reads GT for the ploidy only, yet GT 2/2 on a biallelic record is the
    checked engine's error; the fast engine scored it (found by the VCF fuzz suite)."""
    header = HEADER.replace(
        "#CHROM",
        '##FORMAT=<ID=DS,Number=A,Type=Float,Description="D">\n'
        '##FORMAT=<ID=GP,Number=G,Type=Float,Description="P">\n#CHROM',
    )
    line = "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT:DS:GP\t2/2:0.5:0.5,0.5,0\t0|1:1:0,1,0\n"
    path = _write(tmp_path, header + line, bgzip=True)
    errors = []
    for engine in ("fast", "checked"):
        source = open_genotypes(path, engine=engine, dosage=dosage)
        sites = source.sites()
        with pytest.raises(GenotypeFileError) as caught:
            list(source.read(sites["record"].to_numpy(), np.ones(len(sites), np.int64)))
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert "has allele index 2 but the record has 1 ALT allele(s)" in errors[0]


@pytest.mark.parametrize("where", ["info", "id", "filter"])
def test_fuzz_nul_byte_in_a_field_prs_does_not_read(tmp_path, where):
    """A NUL byte in INFO, ID or FILTER of a requested record: htslib reads the line only up
    to it (the checked engine said "no readable GT field"), the fast engine reads on (found
    by the VCF fuzz suite, VF10); both give the same numbers now."""
    line = "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n"
    line = {
        "info": line.replace("PASS\t.", "PASS\t\x00"),
        "id": line.replace("\trs1\t", "\trs\x001\t"),
        "filter": line.replace("PASS", "PA\x00SS"),
    }[where]
    outcome = parity(tmp_path, HEADER + line + GOOD.split("\n", 1)[1])
    assert outcome[0] == "ok"
    np.testing.assert_array_equal(outcome[2][:2], [[1, 0], [1, 2]])
