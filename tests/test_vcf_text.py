"""Kernels of the fast VCF path against plain-Python references (property-based)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prs.kernels import fields as kf
from prs.kernels import scan as ks


def _buffer(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    buf = np.zeros(((len(data) + 7) & ~7) + 8, dtype=np.uint8)
    buf[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    return buf, buf.view(np.uint64)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200).map(lambda b: b.replace(b"\x00", b"")), st.integers(0, 40))
def test_find_line_end(data, start):
    buf, words = _buffer(data)
    start = min(start, len(data))
    q, tabs = ks.find_line_end(buf, words, start, len(data))
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
    value, end, exact = kf._parse_number(buf, 0, len(text) + 1)
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
    kf.parse_gt_alleles(
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
        assert flags[0] == kf.REC_FALLBACK
    else:
        assert flags[0] == kf.REC_OK
        assert [tuple(a) for a in alleles[0].tolist()] == expected


def test_scan_reports_structural_errors_in_order():
    from prs.genotypes.fastvcf.scan import ScanState as _ScanState

    state = _ScanState({"22": 0}, [np.array([5], dtype=np.int64)], want_all=False)
    state.add_name(b"22")
    cases = {
        "22\t5\t.\tA\tG\t.\t.\t.\tGT\t0|1\n": ks.SCAN_DONE,
        " \n": ks.ERR_BLANK,
        "22\t5\t.\tA\tG\n": ks.ERR_FEW_COLUMNS,
        "\t5\t.\tA\tG\t.\t.\t.\tGT\t0|1\n": ks.ERR_EMPTY_CHROM,
        "22\t-5\t.\tA\tG\t.\t.\t.\tGT\t0|1\n": ks.ERR_BAD_POS,
        "22\t5\t.\tA\tG\t.\t.\t.\tGT\t0|1\t1|1\n": ks.ERR_COLUMN_COUNT,
        "22\t5\t.\t.\tG\t.\t.\t.\tGT\t0|1\n": ks.ERR_EMPTY_REF,
        "chr9\t5\t.\tA\tG\t.\t.\t.\tGT\t0|1\n": ks.SCAN_NEW_CHROM,
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
        ks.scan_records(
            buf,
            words,
            *views,
            0,
            len(text),
            True,
            state.names,
            state.name_offsets,
            state.name_chrom,
            state.name_valid,
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
        if status == ks.SCAN_DONE:
            assert counters[2] == 1 and out[1][0, 4] == 2


ds_values = st.one_of(
    decimals, st.sampled_from([".", "0", "2", "1.5", "0.1234567890123", "1e-3", "x", "", "1,1"])
)
gp_values = st.tuples(decimals, decimals, decimals).map(",".join) | st.sampled_from([".", ""])


@st.composite
def sample_columns(draw, formats):
    """One sample column for FORMAT ``formats``, sometimes with trailing fields dropped or
    an extra field (htslib's business: the kernels must flag it)."""
    parts = []
    for key in formats:
        parts.append(
            {
                "GT": draw(calls),
                "DS": draw(ds_values),
                "GP": draw(gp_values),
                "XX": draw(st.sampled_from(["7", ".", "a:b"])),
            }[key]
        )
    keep = draw(st.integers(1, len(parts) + 1))
    column = ":".join(parts[:keep])
    if keep > len(parts):
        column = ":".join(parts) + ":9"
    return column


@st.composite
def records(draw):
    formats = draw(
        st.sampled_from(
            [["GT", "DS"], ["GT", "DS", "GP"], ["GT", "XX", "DS"], ["DS", "GT"], ["GT"]]
        )
    )
    columns = draw(st.lists(sample_columns(formats), min_size=1, max_size=8))
    return ":".join(formats), columns


@settings(max_examples=400, deadline=None)
@given(st.lists(records(), min_size=1, max_size=4), st.sampled_from(["DS", "GP"]))
def test_fused_gt_and_float_field_equals_the_two_kernels(recs, key):
    """Where the fused walk takes a record, its outputs equal parse_gt_alleles +
    parse_float_field (a record either flags is flagged by both); elsewhere it leaves it."""
    text = b""
    line_bounds, field_rows = [], []
    width = 3
    n = max(len(cols) for _, cols in recs)
    for fmt, cols in recs:
        cols = cols + [cols[-1]] * (n - len(cols))
        prefix = "22\t5\t.\tA\tG,T\t.\t.\t.\t"
        line = (prefix + fmt + "\t" + "\t".join(cols)).encode()
        start = len(text)
        fmt_start = start + len(prefix)
        line_bounds.append([start, start + len(line)])
        field_rows.append([0, fmt_start, fmt_start + len(fmt) + 1])
        text += line + b"\n"
    buf, _ = _buffer(text)
    lines = np.array(line_bounds, dtype=np.int64)
    fields = np.array(field_rows, dtype=np.int64)
    k = len(recs)
    rows = np.arange(k, dtype=np.int64)
    samples = np.arange(n, dtype=np.int64)
    k0, k1 = ord(key[0]), ord(key[1])

    def outputs():
        return (
            np.full((k, n, 2), 99, dtype=np.int8),
            np.zeros(k, dtype=np.int8),
            np.full((k, n, width), -7.0),
            np.zeros((k, n), dtype=np.int8),
            np.zeros(k, dtype=np.int8),
        )

    a1, f1, v1, c1, vf1 = outputs()
    kf.parse_gt_alleles(buf, lines, fields, rows, samples, a1, f1)
    kf.parse_float_field(buf, lines, fields, rows, samples, k0, k1, v1, c1, vf1)
    a2, f2, v2, c2, vf2 = outputs()
    fused = np.zeros(k, dtype=np.bool_)
    kf.parse_gt_and_float_field(
        buf, lines, fields, rows, samples, k0, k1, a2, f2, v2, c2, vf2, fused
    )
    for j, (fmt, _) in enumerate(recs):
        keys = fmt.split(":")
        takes = "GT" in keys and key in keys and keys.index("GT") < keys.index(key)
        assert bool(fused[j]) == takes
        if not takes:
            continue
        either = f1[j] == kf.REC_FALLBACK or vf1[j] == kf.REC_FALLBACK
        if either:
            assert f2[j] == kf.REC_FALLBACK and vf2[j] == kf.REC_FALLBACK
            continue
        assert f2[j] == f1[j] == kf.REC_OK and vf2[j] == vf1[j] == kf.REC_OK
        np.testing.assert_array_equal(a2[j], a1[j])
        np.testing.assert_array_equal(c2[j], c1[j])
        np.testing.assert_array_equal(v2[j], v1[j])


@pytest.mark.parametrize("chunk", [7, 64, 1000])
def test_number_lines_counts_as_python_does(chunk):
    """Record and line numbers of line starts, over a text cut into chunks anywhere (also
    inside lines), equal a plain Python count."""
    rng = np.random.default_rng(chunk)
    lines = []
    for k in range(300):
        head = "#" if (k < 5 or rng.random() < 0.05) else "2"
        lines.append(head + "x" * int(rng.integers(0, 40)) + "\n")
    text = "".join(lines).encode()
    starts = np.cumsum([0] + [len(x) for x in lines[:-1]])
    expected_record = np.cumsum([0] + [x[0] != "#" for x in lines[:-1]])
    queries = np.sort(rng.choice(starts, 40, replace=False)).astype(np.int64)
    out_record = np.full(len(queries), -9, dtype=np.int64)
    out_line = np.full(len(queries), -9, dtype=np.int64)
    state = np.array([0, 0, 0, 1], dtype=np.int64)
    for begin in range(0, len(text), chunk):
        piece = text[begin : begin + chunk]
        buf, words = _buffer(piece)
        ks.number_lines(buf, words, 0, len(piece), begin, queries, out_record, out_line, state)
    index = np.searchsorted(starts, queries)
    np.testing.assert_array_equal(out_record, expected_record[index])
    np.testing.assert_array_equal(out_line, index + 1)
    assert state[0] == sum(x[0] != "#" for x in lines)
