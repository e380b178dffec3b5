"""Kernels of the fast VCF path against plain-Python references (property-based)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.kernels import vcf_text as kt


def _buffer(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    buf = np.zeros(((len(data) + 7) & ~7) + 8, dtype=np.uint8)
    buf[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    return buf, buf.view(np.uint64)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200).map(lambda b: b.replace(b"\x00", b"")), st.integers(0, 40))
def test_find_line_end(data, start):
    buf, words = _buffer(data)
    start = min(start, len(data))
    q, tabs = kt.find_line_end(buf, words, start, len(data))
    newline = data.find(b"\n", start)
    expected_end = len(data) if newline < 0 else newline
    assert q == expected_end
    assert tabs == data[start:expected_end].count(b"\t")


def _decimal(whole: int, frac: int, digits: int) -> str:
    return f"{whole}.{str(frac).zfill(digits)[:digits]}" if digits else str(whole)


decimals = st.builds(_decimal, st.integers(0, 2), st.integers(0, 10**7), st.integers(0, 7))
scientific = st.floats(1e-9, 1e3).map(lambda x: f"{x:.6e}")


@settings(max_examples=500, deadline=None)
@given(st.one_of(decimals, st.floats(0, 2).map(repr), scientific))
def test_parse_number_rounds_like_strtod_then_float32(text):
    buf, _ = _buffer(text.encode() + b"\t")
    value, end, exact = kt._parse_number(buf, 0, len(text) + 1)
    if exact:
        assert end == len(text)
        assert value == float(text)
        assert float(np.float32(value)) == float(np.float32(float(text)))


def _reference_alleles(call: str) -> tuple[int, int] | None:
    parts = call.replace("|", "/").split("/")
    if len(parts) > 2 or any(p != "." and not p.isdigit() for p in parts):
        return None
    values = [-1 if p == "." else int(p) for p in parts]
    if any(v > 127 for v in values):
        return None
    return (values[0], values[1] if len(values) == 2 else -2)


calls = st.one_of(
    st.tuples(st.integers(0, 12), st.sampled_from("|/"), st.integers(0, 12)).map(
        lambda t: f"{t[0]}{t[1]}{t[2]}"
    ),
    st.sampled_from([".", "./.", ".|.", "0/.", ".|1", "0", "1", "3", "0/1/1", "200|0"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(calls, min_size=1, max_size=12), st.booleans())
def test_parse_gt_alleles(sample_calls, extra_field):
    fmt = "GT:XX" if extra_field else "GT"
    cols = [c + (":7" if extra_field else "") for c in sample_calls]
    prefix = "22\t5\t.\tA\tG\t.\t.\t.\t"
    line = prefix + fmt + "\t" + "\t".join(cols)
    buf, _ = _buffer(line.encode())
    lines = np.array([[0, len(line)]], dtype=np.int64)
    fmt_start = len(prefix)
    fields = np.array([[0, fmt_start, fmt_start + len(fmt) + 1]], dtype=np.int64)
    alleles = np.zeros((1, len(cols), 2), dtype=np.int8)
    flags = np.zeros(1, dtype=np.int8)
    kt.parse_gt_alleles(
        buf,
        lines,
        fields,
        np.zeros(1, np.int64),
        np.arange(len(cols), dtype=np.int64),
        alleles,
        flags,
    )
    expected = [_reference_alleles(c) for c in sample_calls]
    if any(e is None for e in expected):
        assert flags[0] == kt.REC_FALLBACK
    else:
        assert flags[0] == kt.REC_OK
        assert [tuple(a) for a in alleles[0].tolist()] == expected


def test_scan_reports_structural_errors_in_order():
    from prs.genotypes.fastvcf import _ScanState

    state = _ScanState({"22": 0}, [np.array([5], dtype=np.int64)], want_all=False)
    state.add_name(b"22")
    cases = {
        "22\t5\t.\tA\tG\t.\t.\t.\tGT\t0|1\n": kt.SCAN_DONE,
        " \n": kt.ERR_BLANK,
        "22\t5\t.\tA\tG\n": kt.ERR_FEW_COLUMNS,
        "\t5\t.\tA\tG\t.\t.\t.\tGT\t0|1\n": kt.ERR_EMPTY_CHROM,
        "22\t-5\t.\tA\tG\t.\t.\t.\tGT\t0|1\n": kt.ERR_BAD_POS,
        "22\t5\t.\tA\tG\t.\t.\t.\tGT\t0|1\t1|1\n": kt.ERR_COLUMN_COUNT,
        "22\t5\t.\t.\tG\t.\t.\t.\tGT\t0|1\n": kt.ERR_EMPTY_REF,
        "chr9\t5\t.\tA\tG\t.\t.\t.\tGT\t0|1\n": kt.SCAN_NEW_CHROM,
    }
    for text, status in cases.items():
        buf, words = _buffer(text.encode())
        views = [
            np.frombuffer(buf, np.uint32, count=(len(buf) - k) // 4, offset=k) for k in range(4)
        ]
        out = [np.zeros((4, 2), np.int64), np.zeros((4, 5), np.int64)] + [
            np.zeros(4, np.int64) for _ in range(4)
        ]
        counters = np.zeros(8, dtype=np.int64)
        kt.scan_records(
            buf,
            words,
            *views,
            0,
            len(text),
            True,
            state.names,
            state.name_offsets,
            state.name_chrom,
            state.wanted_offsets,
            state.wanted_positions,
            False,
            10,
            1,
            -1,
            0,
            *out,
            np.zeros((4, 1), np.uint8),
            np.zeros(4, np.bool_),
            counters,
        )
        assert counters[3] == status, text
        if status == kt.SCAN_DONE:
            assert counters[2] == 1 and out[1][0, 4] == 2
