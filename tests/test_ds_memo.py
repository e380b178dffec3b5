"""Columns repeated verbatim, decoded once (issue 15): the DS store's memo, bit for bit.

:func:`prs.kernels.fields.parse_short_values` remembers a short column (at most
``MEMO_BYTES`` with its tab) per GT and gives a later column of the same bytes its codes
without parsing it. Records drawn from a small alphabet of short columns (so they repeat),
odd ones among them (``.``, a lone ``.`` for HDS, too many decimals, an exponent, a value
out of range, fewer subfields, one more subfield than FORMAT keys, haploid and missing
calls, ``/`` and ``|``), are held:

* to the same kernel with the memo off (no words to compare: every column parsed);
* value by value to ``np.float32(text)`` — strtod's double rounded to float32, what htslib
  stores — for the records it takes;
* as whole files, to the checked engine (cyvcf2/htslib) bit for bit.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.kernels import fields as kf
from tests.builders import tmp_path_settings, write_vcf_text
from tests.test_imputed_dosage import _assert_bit_equal, vcf_text

_GT = ["0|0", "0|1", "1|0", "1|1", "0/1"]
_DS = ["0", "1", "2", "0.5", "1.25", "0.001", "2.000", ".", "0.1234", "1e0", "2.001", "0.10"]
_HDS = ["0,0", "1,0", "0.5,0.5", "0.25,1", ".", ".,0", "0.0001,0", "1.001,0", "0"]


@st.composite
def _column(draw, layout: str) -> str:
    roll = draw(st.integers(0, 29))
    gt = draw(st.sampled_from(_GT))
    if roll == 0:
        gt = draw(st.sampled_from(["0", ".", "./.", "0|2"]))
    values = {"GT": gt, "DS": draw(st.sampled_from(_DS)), "HDS": draw(st.sampled_from(_HDS))}
    fields = [values[key] for key in layout.split(":")]
    if roll == 1:
        fields = fields[:1]  # fewer subfields than FORMAT keys
    if roll == 2:
        fields.append("0")  # one more than FORMAT keys: htslib's complaint, the checked path
    return ":".join(fields)


@st.composite
def _record(draw) -> tuple[str, str, list[str]]:
    layout = draw(st.sampled_from(["GT:DS", "GT:DS:HDS", "GT:HDS", "GT:HDS:DS"]))
    alphabet = draw(st.lists(_column(layout), min_size=1, max_size=4))
    n = draw(st.integers(1, 40))
    return (
        layout,
        draw(st.sampled_from(["DS", "HDS"])),
        [draw(st.sampled_from(alphabet)) for _ in range(n)],
    )


def _parse(line: bytes, n: int, key: str, memo: bool) -> tuple[np.ndarray, bool]:
    """The kernel on one record (``line`` placed at an odd offset, so words are unaligned)."""
    buf = np.zeros(len(line) + 64, dtype=np.uint8)
    buf[3 : 3 + len(line)] = np.frombuffer(line, dtype=np.uint8)
    fmt = line.index(b"GT")
    samples = line.index(b"\t", fmt) + 1
    lines = np.array([[3, 3 + len(line)]], dtype=np.int64)
    fields = np.array([[0, 3 + fmt, 3 + samples]], dtype=np.int64)
    width = 2 if key == "HDS" else 1
    codes = np.zeros((1, n, width), dtype=np.uint16)
    simple = np.zeros(1, dtype=np.bool_)
    words, align = kf.text_words(buf) if memo else (np.zeros(0, dtype=np.uint64), 0)
    sample_out = np.arange(n, dtype=np.int64)
    rows = np.zeros(1, dtype=np.int64)
    kf.parse_short_values(
        buf, words, align, lines, fields, rows, sample_out, *kf.field_key(key), codes, simple
    )
    return codes[0], bool(simple[0])


def _values(text: str, width: int) -> list[np.float32]:
    if text == ".":
        return [np.float32(np.nan)] * width
    return [np.float32(np.nan) if t == "." else np.float32(float(t)) for t in text.split(",")]


@settings(max_examples=400, deadline=None)
@given(_record())
def test_memo_equals_parsing_every_column(record):
    layout, key, columns = record
    line = ("22\t10\t.\tA\tG\t.\tPASS\t.\t" + layout + "\t" + "\t".join(columns)).encode()
    with_memo = _parse(line, len(columns), key, memo=True)
    without = _parse(line, len(columns), key, memo=False)
    assert with_memo[1] == without[1]
    if not with_memo[1]:
        return
    assert np.array_equal(with_memo[0], without[0])
    # The codes are htslib's float32 of each column's text.
    width = 2 if key == "HDS" else 1
    at = layout.split(":").index(key)
    codes = with_memo[0]
    got = np.where(
        codes == kf.DS_CODE_MISSING, np.float32(np.nan), kf.DS_MILLI[np.minimum(codes, 2000)]
    )
    want = np.array([_values(c.split(":")[at], width) for c in columns], dtype=np.float32)
    assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist()


@st.composite
def _files(draw) -> str:
    n = draw(st.integers(1, 12))
    lines = []
    for i in range(draw(st.integers(1, 40))):
        layout, _, columns = draw(_record())
        cells = [draw(st.sampled_from(columns)) for _ in range(n)]
        lines.append(f"22\t{100 + i}\t.\tA\tG\t.\tPASS\t.\t{layout}\t" + "\t".join(cells))
    return vcf_text(lines, n)


@tmp_path_settings(40)
@given(_files(), st.sampled_from(["DS", "HDS"]))
def test_repeated_columns_bit_equal_to_the_checked_engine(tmp_path, text, dosage):
    path = write_vcf_text(tmp_path / "memo.vcf", text, index=False)
    _assert_bit_equal(path, dosage)
