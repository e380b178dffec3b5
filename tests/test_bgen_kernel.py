"""BGEN records decoded in runs by the compiled kernel (``prs.kernels.bgen``).

The kernel path (a run of records read at once, parsed, inflated by libdeflate and written
as dosage rows in one call) is compared bit for bit with the record-by-record Python path
it replaces, on files the ``bgen`` package writes (8/16 bits, zlib/stored/zstd, missing
samples, sample subsets, phased/multi-allelic/haploid records falling back to the package,
chunk and thread splits), with the package's own probabilities, and with a plain-integer
reference on records built byte by byte from the spec. Truncated and corrupt records give
a status or the named :class:`~prs.errors.GenotypeFileError`, never a crash: the truncation
sweep also runs as plain Python (``NUMBA_DISABLE_JIT=1``), where every index is checked.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import prs.genotypes.bgen as bgen_module
from prs.errors import GenotypeFileError, GenotypeWarning
from prs.genotypes.bgen import BgenSource, kernel_inflater
from prs.genotypes.bgzf import LIBDEFLATE
from prs.kernels import bgen as kernels
from tests.test_bgen_genotypes import (
    _diploid,
    _probabilities,
    _quantum,
    _reference_dosages,
    _write_bgen,
)

bgen = pytest.importorskip("bgen")

pytestmark = [
    pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning"),
    pytest.mark.skipif(kernel_inflater() is None, reason="no libdeflate: no kernel path"),
]

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> object:
    """The JSON last printed by ``code`` run in a fresh interpreter (``env`` added)."""
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.splitlines()[-1])


def _read(path, *, kernel: bool, records=None, alleles=None, chunk_size=3, **options):
    """(dosage, ploidy, decoded counts, warnings) of a read by one path."""
    source = BgenSource(path, **options)
    source._kernel = kernel
    if records is None:
        n = len(source._records[0].pos)
        records, alleles = np.arange(n), np.ones(n, dtype=np.int64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chunks = list(source.read(records, alleles, chunk_size=chunk_size))
    dosage = np.concatenate([c.dosage for c in chunks])
    ploidy = np.concatenate([c.ploidy for c in chunks])
    messages = [str(w.message) for w in caught if issubclass(w.category, GenotypeWarning)]
    return dosage, ploidy, dict(source.decoded), messages


# -- files written by the bgen package -----------------------------------------------------


@st.composite
def _files(draw):
    """A file's records (common ones, with missing samples, between other kinds) and a read
    of it: bits, compression, samples subset, requested alleles, chunking, threads."""
    n = draw(st.integers(1, 24))
    kinds = draw(
        st.lists(
            st.sampled_from(["common", "common", "common", "phased", "three", "haploid"]),
            min_size=1,
            max_size=9,
        )
    )
    subset = draw(st.none() | st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    requested = draw(
        st.lists(st.tuples(st.integers(0, len(kinds) - 1), st.integers(0, 1)), min_size=1)
    )
    return {
        "n": n,
        "kinds": kinds,
        "bits": draw(st.sampled_from([8, 16])),
        "compression": draw(st.sampled_from(["zlib", None])),
        "subset": subset,
        "requested": sorted(set(requested)),
        "dosage": draw(st.sampled_from(["DS", "GT"])),
        "chunk_size": draw(st.integers(1, 6)),
        "threads": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def _variants(kinds: list[str], n: int, rng: np.random.Generator) -> list[tuple]:
    variants = []
    for k, kind in enumerate(kinds):
        pos = 100 + 10 * k
        if kind == "common":
            missing = rng.choice(n, size=rng.integers(0, n + 1), replace=False)
            probs = _diploid(rng, n, missing)
            if rng.random() < 0.3:  # hard genotypes too (dosages on integers)
                probs = np.eye(3)[rng.integers(0, 3, n)]
            variants.append(("3", pos, ["A", "G"], probs, 2, False))
        elif kind == "phased":
            probs = np.column_stack([rng.dirichlet([1, 1], size=n) for _ in range(2)])
            variants.append(("3", pos, ["A", "G"], probs, 2, True))
        elif kind == "three":
            variants.append(("3", pos, ["A", "C", "T"], rng.dirichlet([1] * 6, size=n), 2, False))
        else:
            ploidy = np.where(np.arange(n) % 2, 2, 1)  # sample 0 haploid: not common
            probs = _probabilities(2, False, ploidy, np.zeros(n, dtype=bool), int(rng.integers(9)))
            variants.append(("3", pos, ["A", "G"], probs, ploidy, False))
    return variants


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_files())
def test_kernel_equals_the_record_by_record_path(tmp_path_factory, case):
    """Bit for bit the same dosages, ploidies and warnings as the Python path (and the
    package's records through the package either way); the common records' dosages agree
    with the package's own probabilities within float32 and the stored quantum."""
    rng = np.random.default_rng(case["seed"])
    n = case["n"]
    ids = [f"s{i}" for i in range(n)]
    variants = _variants(case["kinds"], n, rng)
    path = tmp_path_factory.mktemp("kernel") / "k.bgen"
    _write_bgen(path, ids, variants, bits=case["bits"], compression=case["compression"])
    records = np.array([r for r, _ in case["requested"]])
    alleles = np.array([a for _, a in case["requested"]])
    options = {
        "dosage": case["dosage"],
        "samples": None if case["subset"] is None else [ids[i] for i in case["subset"]],
        "threads": case["threads"],
    }
    reads = {
        kernel: _read(
            path,
            kernel=kernel,
            records=records,
            alleles=alleles,
            chunk_size=case["chunk_size"],
            **options,
        )
        for kernel in (True, False)
    }
    fast, slow = reads[True], reads[False]
    assert np.array_equal(fast[0], slow[0], equal_nan=True)
    assert np.array_equal(fast[1], slow[1])
    assert fast[3] == slow[3]  # the same warnings (the fractional hard calls named alike)
    # each path decodes the common records (once per chunk they fall in), the package the rest
    common = {r for r in set(records.tolist()) if case["kinds"][r] == "common"}
    assert fast[2]["kernel"] >= len(common) and fast[2]["python"] == 0
    assert (fast[2]["package"] > 0) == (len(common) < len(set(records.tolist())))
    assert slow[2] == {"kernel": 0, "python": fast[2]["kernel"], "package": fast[2]["package"]}
    if case["dosage"] != "DS":
        return
    # the common records against the package's probabilities (its own decoder)
    columns = np.arange(n) if case["subset"] is None else np.array(case["subset"])
    with bgen.BgenReader(str(path), delay_parsing=True) as reader:
        for row, (record, allele) in enumerate(case["requested"]):
            if case["kinds"][record] != "common":
                continue
            var = reader[record]
            want = _reference_dosages(var.probabilities.astype(np.float64), var.ploidy, False, 2)
            got = fast[0][row]
            assert np.allclose(got, want[allele][columns], atol=1e-6, equal_nan=True)
            written = _reference_dosages(variants[record][3], np.full(n, 2), False, 2)
            assert np.allclose(
                got,
                written[allele][columns],
                atol=3 * _quantum(case["bits"]) + 1e-9,
                equal_nan=True,
            )


def test_zstd_files_and_no_libdeflate_keep_the_python_path(tmp_path, monkeypatch):
    """BGEN 1.3 zstd records are inflated in Python (zstandard) or by the package; without
    libdeflate (``PRS_INFLATE=isal``) zlib records are too: the same dosages."""
    rng = np.random.default_rng(3)
    ids = [f"s{i}" for i in range(30)]
    variants = [("5", 10 + k, ["A", "G"], _diploid(rng, 30, (k,)), 2, False) for k in range(6)]
    zstd = _write_bgen(tmp_path / "z.bgen", ids, variants, bits=8, compression="zstd")
    fast = _read(zstd, kernel=True)
    assert fast[2]["kernel"] == 0 and fast[2]["python"] + fast[2]["package"] == 6
    zlib_file = _write_bgen(tmp_path / "l.bgen", ids, variants, bits=8)
    want = _read(zlib_file, kernel=True)
    assert want[2]["kernel"] == 6
    assert np.array_equal(fast[0], want[0], equal_nan=True)
    monkeypatch.setattr(bgen_module, "LIBDEFLATE", None)
    bgen_module.kernel_inflater.cache_clear()
    try:
        assert bgen_module.kernel_inflater() is None
        without = _read(zlib_file, kernel=True)
    finally:
        monkeypatch.undo()
        bgen_module.kernel_inflater.cache_clear()
    assert without[2] == {"kernel": 0, "python": 6, "package": 0}
    assert np.array_equal(without[0], want[0], equal_nan=True)


@pytest.mark.parametrize("gap", [0, 1 << 20])
def test_runs_split_by_gaps_chunks_and_threads(tmp_path, monkeypatch, gap):
    """Sparse requests (gaps between records), one read per record (``RUN_GAP`` 0) or one
    per run, chunks cutting runs, 1-3 threads each taking part of a chunk: the same rows."""
    monkeypatch.setattr(bgen_module, "RUN_GAP", gap)
    rng = np.random.default_rng(8)
    n = 40
    ids = [f"s{i}" for i in range(n)]
    variants = [("7", 10 + k, ["A", "G"], _diploid(rng, n, (k % n,)), 2, False) for k in range(30)]
    path = _write_bgen(tmp_path / "runs.bgen", ids, variants, bits=16)
    records = np.repeat(np.arange(0, 30, 3), 2)
    alleles = np.tile([0, 1], 10)
    want = _read(path, kernel=False, records=records, alleles=alleles)
    for threads in (1, 2, 3):
        for chunk_size in (1, 4, 7, 100):
            got = _read(
                path,
                kernel=True,
                records=records,
                alleles=alleles,
                chunk_size=chunk_size,
                threads=threads,
            )
            assert np.array_equal(got[0], want[0], equal_nan=True), (threads, chunk_size)
            assert got[2]["kernel"] >= 10 and got[2]["python"] == 0  # (per chunk)


def test_the_auto_choice_starts_no_numba_for_a_small_read(tmp_path):
    """Before Numba has started, a small read is decoded in Python (no Numba start for a
    small job); once it has started, by the kernel."""
    rng = np.random.default_rng(1)
    variants = [("1", 10 + k, ["A", "G"], _diploid(rng, 5), 2, False) for k in range(4)]
    path = _write_bgen(tmp_path / "s.bgen", [f"s{i}" for i in range(5)], variants, bits=8)
    code = (
        "import sys, json, numpy as np\n"
        "from prs.genotypes.bgen import BgenSource\n"
        f"s = BgenSource({str(path)!r})\n"
        "list(s.read(np.arange(4), np.ones(4, dtype=np.int64)))\n"
        "first = dict(s.decoded)\n"
        "from prs.kernels.jit import compile_kernels\n"
        "compile_kernels()\n"
        "list(s.read(np.arange(4), np.ones(4, dtype=np.int64)))\n"
        "print(json.dumps([first, 'numba' in sys.modules, s.decoded]))\n"
    )
    first, _, after = _python(code)
    assert first == {"kernel": 0, "python": 4, "package": 0}
    assert after == {"kernel": 4, "python": 4, "package": 0}


# -- records built byte by byte (the spec's layout 2) --------------------------------------


def _record(stored: np.ndarray, flags: np.ndarray, bits: int, *, compressed: bool) -> bytes:
    """One layout-2 record: IDs, chrom, position, two alleles, then the probability block
    (n, 2 alleles, ploidy 2-2, a ploidy byte per sample, unphased, bits, the integers)."""
    n = len(flags)
    head = b"".join(struct.pack("<H", len(s)) + s for s in (b"v1", b"rs1", b"22"))
    head += struct.pack("<IH", 1234, 2)
    head += b"".join(struct.pack("<I", len(a)) + a for a in (b"A", b"GT"))
    values = stored.astype("<u1" if bits == 8 else "<u2").tobytes()
    block = struct.pack("<IHBB", n, 2, 2, 2) + flags.tobytes() + bytes([0, bits]) + values
    if compressed:
        packed = zlib.compress(block)
        return head + struct.pack("<II", len(packed) + 4, len(block)) + packed
    return head + struct.pack("<I", len(block)) + block


def _decode(data: bytes, n: int, compressed: bool, columns, alleles) -> tuple:
    """The kernel on ``data`` (one record, or a prefix of one) into fresh rows."""
    buffer = np.frombuffer(data, dtype=np.uint8).copy()  # (exactly its size: Python checks)
    dosage = np.zeros((len(alleles), len(columns)))
    ploidy = np.zeros((len(alleles), len(columns)), dtype=np.int8)
    status = np.full((1, 3), -9, dtype=np.int64)
    handle = LIBDEFLATE.acquire()
    try:
        done = kernels.decode_bgen_records(
            buffer,
            np.array([0]),
            np.array([len(buffer)]),
            n,
            compressed,
            kernel_inflater(),
            handle,
            np.empty(10 + 5 * n, dtype=np.uint8),
            np.array([0, len(alleles)]),
            np.asarray(alleles, dtype=np.int64),
            np.asarray(columns, dtype=np.int64),
            -1.0,
            dosage,
            ploidy,
            status,
        )
    finally:
        LIBDEFLATE.release(handle)
    return done, status[0].tolist(), dosage, ploidy


@settings(max_examples=60, deadline=None)
@given(
    bits=st.sampled_from([8, 16]),
    compressed=st.booleans(),
    data=st.data(),
)
def test_kernel_equals_integer_arithmetic_on_spec_records(bits, compressed, data):
    """Each allele's dosage is (copies-weighted stored integers) / (2**bits - 1): the
    numerators are exact integers, so one float division gives the one right double."""
    n = data.draw(st.integers(1, 30))
    top = 2**bits - 1
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    first = rng.integers(0, top + 1, n)
    second = (rng.random(n) * (top - first + 1)).astype(np.int64)  # p11 + p12 <= 1
    stored = np.column_stack([first, second]).reshape(-1)
    flags = np.where(rng.random(n) < 0.2, 0x82, 2).astype(np.uint8)
    columns = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n))
    alleles = data.draw(st.lists(st.integers(0, 1), min_size=1, max_size=3))
    record = _record(stored, flags, bits, compressed=compressed)
    done, status, dosage, ploidy = _decode(record, n, compressed, columns, alleles)
    assert (done, status) == (1, [kernels.RECORD_OK, 0, 0])
    third = top - first - second
    numerators = {0: 2 * first + second, 1: second + 2 * third}
    for row, allele in enumerate(alleles):
        want = numerators[allele].astype(np.float64) / top
        want[flags >= 128] = np.nan
        assert np.array_equal(dosage[row], want[columns], equal_nan=True)
    assert np.all(ploidy == 2)


def _truncation_sweep() -> list[list[int]]:
    """Status and result of the kernel on every prefix of an 8-bit and a 16-bit record,
    compressed and stored, and on records whose fields lie (sample count, ploidy, bits,
    block size): ``[prefix length, full length, done, code, ...]`` rows."""
    rng = np.random.default_rng(0)
    n = 7
    rows = []
    for bits in (8, 16):
        top = 2**bits - 1
        stored = np.column_stack([rng.integers(0, top // 2, n), rng.integers(0, top // 2, n)])
        flags = np.full(n, 2, dtype=np.uint8)
        for compressed in (False, True):
            record = _record(stored.reshape(-1), flags, bits, compressed=compressed)
            for cut in range(len(record) + 1):
                done, status, dosage, _ = _decode(record[:cut], n, compressed, range(n), [0, 1])
                undecided = bool(np.isnan(dosage).all())
                rows.append([cut, len(record), done, *status, int(undecided)])
    return rows


def test_truncated_records_give_a_status_never_a_read_outside():
    """Every prefix of a record: not decoded (a named status, rows NaN) until it is whole;
    the same sweep in plain Python (every index checked) raises nothing."""
    rows = _truncation_sweep()
    for cut, full, done, code, _first, _second, undecided in rows:
        if cut == full:
            assert (done, code, undecided) == (1, kernels.RECORD_OK, 0)
        else:
            assert done == 0 and undecided == 1, (cut, full)
            assert code in (
                kernels.RECORD_HEADER_SHORT,
                kernels.RECORD_BLOCK_SHORT,
                kernels.RECORD_NOT_INFLATING,
            ), (cut, full, code)
    code = (
        "import json\nfrom tests.test_bgen_kernel import _truncation_sweep as s\n"
        "print(json.dumps(s()))"
    )
    assert _python(code, NUMBA_DISABLE_JIT="1") == rows


def test_records_whose_fields_lie_are_named_or_left_to_the_package():
    """A block stating another sample count, or fewer bytes than its samples need: a named
    status; another ploidy, allele count or bit depth: left to the package (rows NaN)."""
    n = 5
    stored = np.arange(2 * n) % 100
    flags = np.full(n, 2, dtype=np.uint8)
    record = bytearray(_record(stored, flags, 8, compressed=False))
    block = len(record) - (10 + 3 * n)
    cases = {
        "samples": (block, struct.pack("<I", n + 1), kernels.RECORD_SAMPLES, [n + 1, n]),
        "alleles": (block + 4, struct.pack("<H", 3), kernels.RECORD_OTHER, [0, 0]),
        "ploidy": (block + 7, bytes([3]), kernels.RECORD_OTHER, [0, 0]),
        "phased": (block + 8 + n, bytes([1]), kernels.RECORD_OTHER, [0, 0]),
        "bits": (block + 9 + n, bytes([16]), kernels.RECORD_PROBABILITIES_SHORT,
                 [10 + 3 * n, 10 + 5 * n]),
        "bits32": (block + 9 + n, bytes([32]), kernels.RECORD_OTHER, [0, 0]),
    }  # fmt: skip
    for name, (at, value, code, numbers) in cases.items():
        bad = bytearray(record)
        bad[at : at + len(value)] = value
        done, status, dosage, _ = _decode(bytes(bad), n, False, range(n), [1])
        assert (done, status) == (0, [code, *numbers]), name
        assert np.isnan(dosage).all(), name
    done, status, _, _ = _decode(bytes(record), n, False, range(n), [2])  # no third allele
    assert (done, status[0]) == (0, kernels.RECORD_OTHER)


def test_corrupt_files_name_the_record(tmp_path):
    """Damaged compressed bytes, a stated inflated size that is wrong, a block with another
    sample count: the error names the file, the record, chrom:pos and rsID on both paths."""
    rng = np.random.default_rng(12)
    n = 30
    ids = [f"s{i}" for i in range(n)]
    variants = [("9", 100 + k, ["A", "G"], _diploid(rng, n), 2, False) for k in range(5)]
    good = _write_bgen(tmp_path / "good.bgen", ids, variants, bits=8)
    data = good.read_bytes()
    records = BgenSource(good)._records[0]
    start, end = int(records.start[2]), int(records.end[2])
    # the block: its size field is right after the allele "G"
    block = start + data[start:end].index(b"\x01\x00\x00\x00G") + 5
    (compressed_size,) = struct.unpack_from("<I", data, block)
    damaged = {
        "deflate": data[: block + 12] + bytes(8) + data[block + 20 :],
        "size": data[: block + 4] + struct.pack("<I", 10 + 3 * n + 1) + data[block + 8 :],
        # larger than any common block: left to the package, which names it too
        "large": data[: block + 4] + struct.pack("<I", 2**31) + data[block + 8 :],
    }
    for name, content in damaged.items():
        path = tmp_path / f"{name}.bgen"
        path.write_bytes(content)
        for kernel in (True, False):
            with pytest.raises(
                GenotypeFileError, match=rf"{name}\.bgen: cannot read record 2 \(9:102 rs2\)"
            ):
                _read(path, kernel=kernel)
    assert compressed_size < end - block


@settings(max_examples=80, deadline=None)
@given(
    rows=st.integers(1, 3),
    samples=st.integers(1, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_hard_calls_in_the_kernel_equal_numpys(rows, samples, seed):
    """The kernel's calls (its inlined rounding) are ``_hard_calls``' bit for bit (signed
    zeros, ties to even, NaN), and its "fractional" flag numpy's test, on a record's rows."""
    rng = np.random.default_rng(seed)
    pools = [
        rng.integers(-255, 766, 64) / 255,
        rng.integers(-65535, 196606, 64) / 65535,
        np.array([np.nan, 0.5, 1.5, 2.5, -0.5, -0.3, 0.0, -0.0, 1.0, 0.1, 0.9, 1.1 + 1e-7]),
    ]
    values = rng.choice(np.concatenate(pools), size=(rows, samples))
    if rng.random() < 0.3:
        values = np.rint(values)  # whole numbers: not fractional
    want = bgen_module._hard_calls(values.copy())
    want_fractional = int(np.any(np.abs(values - np.rint(values)) > 1e-6))
    got = np.vstack([np.zeros(samples), values, np.zeros(samples)])  # rows 1..rows
    fractional = kernels._call_rows(got, 1, rows + 1, bgen_module.HARD_CALL_THRESHOLD)
    assert np.array_equal(got[1:-1].view(np.int64), want.view(np.int64))
    assert int(fractional) == want_fractional
    assert not got[0].any() and not got[-1].any()  # other records' rows untouched


@pytest.mark.parametrize("kernel", [True, False])
def test_read_ahead_keeps_order_errors_and_early_stops(tmp_path, monkeypatch, kernel):
    """Chunks filled one ahead (``READ_AHEAD``) arrive in order and equal the unhurried
    read's; a corrupt record's error comes after every chunk before it; a read stopped
    early closes cleanly, the package's indexed reader (SQLite, bound to the thread that
    opened it) too."""
    rng = np.random.default_rng(30)
    n = 12
    ids = [f"s{i}" for i in range(n)]
    phased = np.column_stack([rng.dirichlet([1, 1], size=n) for _ in range(2)])
    variants = [("2", 10, ["A", "G"], phased, 2, True)]  # the package's, first
    variants += [("2", 20 + k, ["A", "G"], _diploid(rng, n, (k,)), 2, False) for k in range(11)]
    good = _write_bgen(tmp_path / "good.bgen", ids, variants, bits=8)
    assert Path(f"{good}.bgi").exists()
    want = {}
    for ahead in (0, 1):
        monkeypatch.setattr(bgen_module, "READ_AHEAD", ahead)
        want[ahead] = _read(good, kernel=kernel, chunk_size=2)[0]
    assert np.array_equal(want[0], want[1], equal_nan=True)
    source = BgenSource(good)
    source._kernel = kernel
    reading = source.read(np.arange(12), np.ones(12, dtype=np.int64), chunk_size=2)
    first = next(reading)
    assert np.array_equal(first.dosage, want[1][:2], equal_nan=True)
    reading.close()  # (no error: the pending chunk finished, the package reader closed)
    # record 7's compressed bytes damaged: records 0-5 (three chunks) arrive first
    records = source._records[0]
    start, end = int(records.start[7]), int(records.end[7])
    data = good.read_bytes()
    block = start + data[start:end].index(b"\x01\x00\x00\x00G") + 5
    broken = tmp_path / "broken.bgen"
    broken.write_bytes(data[: block + 12] + bytes(8) + data[block + 20 :])
    source = BgenSource(broken)
    source._kernel = kernel
    got = []
    with pytest.raises(GenotypeFileError, match=r"broken\.bgen: cannot read record 7 \(2:26 rs7\)"):
        for chunk in source.read(np.arange(12), np.ones(12, dtype=np.int64), chunk_size=2):
            got.append(chunk.dosage)
    assert len(got) == 3
    assert np.array_equal(np.concatenate(got), want[1][:6], equal_nan=True)
