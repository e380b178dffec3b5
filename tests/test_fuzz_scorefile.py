"""Fuzzing the scoring-file reader: mutated valid files either read or fail as a ScoringFileError.

Small valid files are built here (PGS Catalog format 2.0 and 1.0 headers, a harmonized file,
custom tables; plain and gzipped), then mutated: truncated, bytes flipped, lines dropped,
duplicated or reordered, columns edited, huge numbers, odd bytes, a BOM, CRLF, spaces for
tabs, a damaged gzip stream. For every example :func:`prs.weights.read_scorefile` must
either return a ScoringFile that holds what it promises, or raise a ScoringFileError naming
the file: never another exception, never a numpy or pandas warning.

Bounded for CI: the number of examples comes from ``PRS_FUZZ_EXAMPLES`` (default 150, the
same examples each run; ``make fuzz`` sets thousands, new ones each run). Failing examples
found so far are kept as explicit regressions built by code (``REGRESSIONS`` and the
``@example`` lines). What the fuzzer found, each fixed in ``prs/weights/scorefile.py``:

- ``zlib.error`` tracebacks from damaged deflate data (about 3% of gzipped examples);
- ``OverflowError`` from a position of 2^63 or more (issue 10, F8);
- a NUL byte put raw into an error message;
- weights in Arabic-Indic digits read as numbers (``"١٢"`` as 12);
- CR line ends, a blank line before the header and a short row: pandas counted the header
  lines differently and took the first row for the column names;
- a damaged gzip stream reported as a malformed row (the text it decompressed to);
- misleading messages: a missing column header line, a value under no column name, a
  ``#`` line among the rows, a VCF or BCF given as the scoring file.
"""

from __future__ import annotations

import gzip
import math
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from prs.errors import ScoringFileError, ScoringFileWarning
from prs.genome import MAX_POSITION
from prs.weights import ScoringFile, read_scorefile

_EXAMPLES = int(os.environ.get("PRS_FUZZ_EXAMPLES", "150"))
settings.register_profile(
    "prs-fuzz",
    max_examples=_EXAMPLES,
    deadline=None,
    # CI (no env var): the same examples every run; `make fuzz`: new ones each run.
    derandomize="PRS_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
FUZZ = settings.get_profile("prs-fuzz")

# --------------------------------------------------------------------------------------
# Valid seeds
# --------------------------------------------------------------------------------------

_ROWS = [
    ("rs1", "1", "1000", "A", "G", "0.5", "0.25"),
    ("rs2", "1", "2000", "C", "T", "-0.25", "0.5"),
    ("rs3", "2", "300", "G", "A", "1e-3", "0.75"),
    ("rs4", "X", "4000", "T", "C", "0.125", "0.1"),
    ("rs5", "22", "50000", "AT", "A", "2", ""),
]


def _pgs_v2() -> str:
    head = (
        "###PGS CATALOG SCORING FILE - see https://www.pgscatalog.org/downloads/\n"
        "#format_version=2.0\n##POLYGENIC SCORE (PGS) INFORMATION\n#pgs_id=PGS999999\n"
        "#pgs_name=FUZZ\n#trait_reported=Fuzz\n#weight_type=beta\n#genome_build=GRCh38\n"
        "#variants_number=5\n##SOURCE INFORMATION\n#pgp_id=PGP999999\n"
    )
    cols = "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\t"
    cols += "allelefrequency_effect\n"
    return head + cols + "".join("\t".join(r) + "\n" for r in _ROWS)


def _pgs_v1() -> str:
    head = "### PGS CATALOG SCORING FILE\n# PGS ID = PGS000009\n# Original Genome Build = GRCh37\n"
    cols = "rsID\tchr_name\tchr_position\teffect_allele\treference_allele\teffect_weight\n"
    return head + cols + "".join("\t".join(r[:6]) + "\n" for r in _ROWS)


def _harmonized() -> str:
    head = "#pgs_id=PGS999998\n#genome_build=NR\n#HmPOS_build=GRCh37\n#weight_type=NR\n"
    cols = "rsID\tchr_name\teffect_allele\tother_allele\teffect_weight\tlocus_name\tOR\t"
    cols += "hm_source\thm_rsID\thm_chr\thm_pos\thm_inferOtherAllele\n"
    lines = []
    for rsid, chrom, pos, ea, oa, _, freq in _ROWS:
        ratio = 1.0 + float(freq or 0.3)
        lines.append(
            f"{rsid}\t{chrom}\t{ea}\t{oa}\t{math.log(ratio)!r}\tGENE\t{ratio}\t"
            f"ENSEMBL\t{rsid}\t{chrom}\t{int(pos) + 7}\n"  # trailing fields left out
        )
    return head + cols + "".join(lines)


def _custom() -> str:
    cols = "chrom\tpos\tea\toa\tscore_a\tscore_b\n"
    return cols + "".join(f"{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[6]}\n" for r in _ROWS)


def _plink_ids() -> str:
    cols = "ID\teffect_allele\tweight\n"
    return cols + "".join(f"{r[1]}:{r[2]}:{r[4]}:{r[3]}\t{r[3]}\t{r[5]}\n" for r in _ROWS)


def _flags() -> str:
    head = "#pgs_id=PGS999997\n#genome_build=hg19\n#weight_type=OR\n"
    cols = "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\t"
    cols += "is_dominant\tis_recessive\tis_haplotype\tweight_type\n"
    flags = [("TRUE", "FALSE"), ("FALSE", "TRUE"), ("FALSE", "FALSE"), ("", ""), ("F", "F")]
    lines = [
        f"{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{1.5 + k}\t{dom}\t{rec}\tFALSE\t{kind}\n"
        for k, (r, (dom, rec), kind) in enumerate(
            zip(_ROWS, flags, ["OR", "OR", "", "odds ratio", "OR"], strict=True)
        )
    ]
    return head + cols + "".join(lines)


def _long_format() -> str:
    cols = "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\teffect_type\t"
    cols += "is_duplicated\taccession\trow_nr\n"
    lines = [
        f"{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\tadditive\tFALSE\tPGS00000{k % 2}\t{k}\n"
        for k, r in enumerate(_ROWS)
    ]
    return "".join([cols, *lines])


def _or_only() -> str:
    cols = "chr\tbp\ta1\ta2\tOR\tp\n"
    return cols + "".join(
        f"{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t1.{k}5\t1e-8\n" for k, r in enumerate(_ROWS)
    )


SEEDS = {
    "flags": _flags,
    "long_format": _long_format,
    "or_only": _or_only,
    "pgs_v2": _pgs_v2,
    "pgs_v1": _pgs_v1,
    "harmonized": _harmonized,
    "custom": _custom,
    "plink_ids": _plink_ids,
}

# --------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------

ODD_VALUES = [
    "",
    " ",
    "9" * 30,
    "9223372036854775808",  # 2^63
    "18446744073709551616",  # 2^64
    str(MAX_POSITION),
    str(MAX_POSITION + 1),
    "-1",
    "0",
    "-0",
    "+5",
    "1e999",
    "-1e999",
    "1e-400",
    "1.7976931348623157e308",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "0x10",
    "1_000",
    "1,5",
    "\u0661\u0662",  # Arabic-Indic digits
    "\uff15",  # a full-width 5
    "NR",
    "TRUE",
    "maybe",
    "chr1",
    "chrUn_gl000220",
    "MT",
    "A",
    "N",
    "ACGTN" * 20,
    "<DEL>",
    "HLA-DRB1*0401",
    "A/G",
    "é",
    "\x00",
    "\u2028",
    "\x85",
    "\ufeff",
]
HEADER_LINES = [
    "#genome_build=T2T-CHM13",
    "#genome_build=NCBI36",
    "#genome_build=",
    "#HmPOS_build=GRCh39",
    "#weight_type=OR",
    "#weight_type=HR",
    "#weight_type=log(OR)",
    "#weight_type=whatever",
    "#variants_number=99999999999999999999",
    "#variants_number=-3",
    "#pgs_id=",
    "# Original Genome Build = hg20",
    "#",
    "##",
    "#=",
]
ODD_BYTES = [
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\r",
    b"\n",
    b"\t",
    b" ",
    b"#",
    b"\xc3",
    "é".encode(),
    b"\x1f\x8b",
    "\u2028".encode(),
    b"\x0b",
    b"\x1a",
]


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


@st.composite
def _mutation(draw, data: bytes) -> bytes:
    kind = draw(
        st.sampled_from(
            [
                "truncate",
                "flip",
                "insert",
                "drop_line",
                "dup_line",
                "swap_lines",
                "shuffle",
                "edit_field",
                "add_field",
                "remove_field",
                "spaces",
                "crlf",
                "cr",
                "bom",
                "header_line",
                "blank_line",
            ]
        )
    )
    lines = _lines(data)
    if kind == "truncate":
        return data[: draw(st.integers(0, max(len(data), 0)))]
    if kind == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
    if kind == "insert":
        i = draw(st.integers(0, len(data)))
        return data[:i] + draw(st.sampled_from(ODD_BYTES)) + data[i:]
    if not lines:
        return data
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "drop_line":
        del lines[i]
    elif kind == "dup_line":
        lines.insert(draw(st.integers(0, len(lines))), lines[i])
    elif kind == "swap_lines":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "shuffle":
        lines = draw(st.permutations(lines))
    elif kind in ("edit_field", "add_field", "remove_field"):
        text = lines[i].decode("utf-8", "surrogateescape")
        end = text[len(text.rstrip("\r\n")) :]
        fields = text.rstrip("\r\n").split("\t")
        k = draw(st.integers(0, len(fields)))
        value = draw(st.sampled_from(ODD_VALUES) | st.text(max_size=12))
        if kind == "edit_field" and k < len(fields):
            fields[k] = value
        elif kind == "add_field":
            fields.insert(k, value)
        elif kind == "remove_field" and k < len(fields):
            del fields[k]
        lines[i] = ("\t".join(fields) + end).encode("utf-8", "surrogateescape")
    elif kind == "spaces":
        if draw(st.booleans()):
            return data.replace(b"\t", b" ")
        lines[i] = lines[i].replace(b"\t", b" ")
    elif kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    elif kind == "cr":
        return data.replace(b"\n", b"\r")
    elif kind == "bom":
        return b"\xef\xbb\xbf" + data
    elif kind == "header_line":
        lines.insert(draw(st.integers(0, 3)), draw(st.sampled_from(HEADER_LINES)).encode() + b"\n")
    elif kind == "blank_line":
        lines.insert(i, draw(st.sampled_from([b"\n", b"\t\t\n", b"  \n", b"\r\n"])))
    return b"".join(lines)


@st.composite
def scoring_files(draw) -> tuple[str, bytes]:
    """(file name, bytes): a valid seed, mutated 0-4 times, maybe gzipped (and damaged)."""
    seed = draw(st.sampled_from(sorted(SEEDS)))
    data = SEEDS[seed]().encode()
    for _ in range(draw(st.integers(0, 4))):
        data = draw(_mutation(data))
    name = f"{seed}.txt"
    if draw(st.booleans()):
        data = gzip.compress(data, mtime=0)
        name += ".gz"
        damage = draw(st.sampled_from(["none", "none", "truncate", "flip", "append"]))
        if damage == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif damage == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
        elif damage == "append":
            data += draw(st.sampled_from([b"\x00" * 8, b"junk", gzip.compress(b"1\t2\n")]))
    return name, data


# --------------------------------------------------------------------------------------
# The property
# --------------------------------------------------------------------------------------


def check_valid(sf: ScoringFile) -> None:
    """A ScoringFile holds what its docstring promises."""
    n = sf.n_variants
    assert n > 0
    assert sf.weights.shape == (n, len(sf.score_ids)) and sf.weights.dtype == np.float64
    assert not np.isinf(sf.weights).any()
    if len(sf.score_ids) == 1:
        assert not np.isnan(sf.weights).any()
    pos = sf.variants["pos"].to_numpy()
    assert pos.dtype == np.int64 and ((pos == -1) | ((pos >= 0) & (pos <= MAX_POSITION))).all()
    lines = sf.variants["line"].to_numpy()
    assert (np.diff(lines) > 0).all() and (lines >= 1).all()
    alleles = sf.variants["effect_allele"].astype(str)
    assert alleles.str.fullmatch(r"[ACGTN]+").all()
    freq = sf.variants["allele_frequency"].to_numpy()
    assert (np.isnan(freq) | ((freq >= 0) & (freq <= 1))).all()
    assert sf.genome_build in (None, "GRCh37", "GRCh38", "NCBI36", "NCBI35")
    assert all(isinstance(note, str) and note for note in sf.warnings)


def read_or_named_error(path: Path) -> ScoringFile | None:
    """Read; a ScoringFileError must name the file; any other exception or warning fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy/pandas warnings are failures
        warnings.simplefilter("ignore", ScoringFileWarning)
        try:
            sf = read_scorefile(path)
        except ScoringFileError as exc:
            assert str(path) in str(exc), str(exc)
            assert "\x00" not in str(exc)
            return None
    check_valid(sf)
    return sf


@FUZZ
@given(scoring_files())
def test_mutated_files_read_or_fail_with_a_named_error(case):
    name, data = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        read_or_named_error(path)


@st.composite
def mutated_text(draw) -> bytes:
    """A seed mutated 0-4 times, without carriage returns (the copies add them)."""
    data = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]().encode()
    for _ in range(draw(st.integers(0, 4))):
        data = draw(_mutation(data))
    assume(b"\r" not in data)
    return data


def _outcome(path: Path) -> tuple | None:
    sf = read_or_named_error(path)
    if sf is None:
        return None
    notes = tuple(note.replace(str(path), "<file>") for note in sf.warnings)
    return sf.score_ids, sf.genome_build, sf.variants, sf.weights, sf.dropped, notes


@FUZZ
@given(mutated_text())
# Found by the fuzzer: a blank line before the header, with CR line ends, was read with one
# header line too many by pandas (the column header line taken from the first row).
@example(b"\n" + _harmonized().split("\n", 1)[1].encode())
def test_gzip_crlf_and_bom_copies_read_the_same(data):
    """The same text, gzipped, with CRLF or CR line ends or a byte order mark, reads the same or
    fails the same: the container never changes the numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        copies = {
            "plain": data,
            "gzip": gzip.compress(data, mtime=0),
            "crlf": data.replace(b"\n", b"\r\n"),
            "cr": data.replace(b"\n", b"\r"),
            "bom": b"\xef\xbb\xbf" + data,
        }
        outcomes = {}
        for kind, content in copies.items():
            path = Path(tmp) / kind / ("w.txt.gz" if kind == "gzip" else "w.txt")
            path.parent.mkdir()
            path.write_bytes(content)
            outcomes[kind] = _outcome(path)
    if data.startswith(b"\xef\xbb\xbf"):
        del outcomes["bom"]  # (two marks: the second is text)
    plain = outcomes.pop("plain")
    for kind, other in outcomes.items():
        assert (plain is None) == (other is None), kind
        if plain is None:
            continue
        assert plain[0] == other[0] and plain[1] == other[1] and plain[4] == other[4], kind
        assert plain[2].equals(other[2]), kind
        np.testing.assert_array_equal(plain[3], other[3])
        assert plain[5] == other[5], kind


@st.composite
def edited_values(draw) -> tuple[list[str], list[str]]:
    """Position and weight texts for a structurally valid file."""
    n = draw(st.integers(1, 4))
    values = st.sampled_from(ODD_VALUES) | st.from_regex(
        r"\A[+-]?[0-9]{0,25}(\.[0-9]{0,5})?([eE][+-]?[0-9]{1,4})?\Z"
    )
    positions = draw(st.lists(values | st.integers(0, 2**70).map(str), min_size=n, max_size=n))
    weights = draw(st.lists(values, min_size=n, max_size=n))
    return positions, weights


def _reference_position(text: str) -> int | None:
    text = text.strip()
    if text == "":
        return -1
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_POSITION else None


def _reference_weight(text: str) -> float | None:
    text = text.strip()
    if not text.isascii():
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if "_" in text or not math.isfinite(value) or text.lower().lstrip("+-") in ("nan", "inf"):
        return None
    return value


@FUZZ
@given(edited_values())
@example(([""], ["\u0661\u0662"]))  # found by the fuzzer: Arabic-Indic digits were read as 12
def test_accepted_values_are_exactly_what_the_file_says(case):
    """An oracle: a file is accepted exactly when every position and weight is valid by a
    plain reference rule, and then the values read are the values written."""
    positions, weights = case
    text = "chr_name\tchr_position\teffect_allele\teffect_weight\n" + "".join(
        f"1\t{p}\tA\t{w}\n" for p, w in zip(positions, weights, strict=True)
    )
    assume(all("\n" not in v and "\r" not in v and "\t" not in v for v in positions + weights))
    assume(all(v.strip() == v.strip(" ") for v in positions + weights))  # (no odd whitespace)
    assume(all("\x00" not in v and "\u2028" not in v and "\x85" not in v for v in weights))
    assume(all("\x00" not in v and "\u2028" not in v and "\x85" not in v for v in positions))
    assume(all(v.strip() for v in weights))  # an empty weight is a separate rule (tested)
    expected_pos = [_reference_position(p) for p in positions]
    expected_w = [_reference_weight(w) for w in weights]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.txt"
        path.write_text(text, encoding="utf-8")
        sf = read_or_named_error(path)
    if None in expected_pos or None in expected_w:
        assert sf is None, (positions, weights)
        return
    assert sf is not None, (positions, weights)
    assert sf.variants["pos"].tolist() == expected_pos
    assert sf.weights[:, 0].tolist() == expected_w


# --------------------------------------------------------------------------------------
# Regression examples found by the fuzzer (each failed before its fix)
# --------------------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("seed", sorted(SEEDS))
@pytest.mark.parametrize("gzipped", [False, True])
def test_seeds_are_valid(tmp_path, seed, gzipped):
    data = SEEDS[seed]().encode()
    if gzipped:
        data = gzip.compress(data)
    sf = read_or_named_error(_write(tmp_path, f"{seed}.txt" + (".gz" if gzipped else ""), data))
    assert sf is not None and sf.n_variants == len(_ROWS)
    ratios = {"flags": [1.5, 2.5, 3.5, 4.5, 5.5], "or_only": [1.05, 1.15, 1.25, 1.35, 1.45]}
    if seed in ratios:  # ratio weights, scored as their log
        np.testing.assert_allclose(sf.weights[:, 0], np.log(ratios[seed]), rtol=1e-15)


def _custom_with(row: int, field: int, value: str) -> bytes:
    lines = _custom().splitlines(keepends=True)
    fields = lines[row].rstrip("\n").split("\t")
    fields[field] = value
    lines[row] = "\t".join(fields) + "\n"
    return "".join(lines).encode()


# name -> (file name, bytes, expected: a regex the ScoringFileError matches, or None to read)
def _damaged_gzip() -> bytes:
    data = bytearray(gzip.compress((_custom() * 20).encode(), mtime=0))
    data[len(data) // 2] ^= 0x5A
    return bytes(data)


REGRESSIONS = {
    # zlib's own error (a flipped byte in the deflate data) escaped as a traceback.
    "gzip_flipped_byte": ("custom.txt.gz", _damaged_gzip(), r"cannot read this gzip file"),
    # A position of 2^63 raised OverflowError (F8).
    "position_2_63": (
        "custom.txt",
        _custom_with(1, 1, "9223372036854775808"),
        r"line 2: chr_position '9223372036854775808' is above 2147483647",
    ),
    # The column header line deleted: the first row was listed as the column names.
    "no_column_header_line": (
        "custom.txt",
        "".join(_custom().splitlines(keepends=True)[1:]).encode(),
        r"looks like a variant row, not column names",
    ),
    # A header line moved among the rows: read as a row with an empty effect allele.
    "metadata_among_rows": (
        "pgs_v2.txt",
        _pgs_v2()
        .replace("#genome_build=GRCh38\n", "")
        .replace("rs2\t", "#genome_build=GRCh38\nrs2\t")
        .encode(),
        r"a '#' metadata line after the column header line",
    ),
    # A NUL byte inside a weight was put raw into the message.
    "nul_in_weight": (
        "custom.txt",
        _custom_with(1, 4, "\x000.5"),
        r"line 2: score_a '\\x000\.5' is not a finite decimal number",
    ),
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_regression_examples(tmp_path, case):
    name, data, expected = REGRESSIONS[case]
    path = _write(tmp_path, name, data)
    if expected is None:
        assert read_or_named_error(path) is not None
        return
    with pytest.raises(ScoringFileError, match=expected):
        read_scorefile(path)
    assert read_or_named_error(path) is None
