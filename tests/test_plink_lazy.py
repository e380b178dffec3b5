"""PLINK hard calls decoded where they are added (``PlinkSource.read_lazily``, ``CallRows``).

Each scoring thread decodes the rows of a chunk it adds (one pgenlib reader and buffer per
thread) instead of one reader thread decoding whole chunks ahead. It must change nothing
but the speed: the same calls as :meth:`PlinkSource.read` (against PLINK 2's own export),
the same totals bit for bit, the same errors; it is declined where ``read`` alone knows
how; no part of a chunk outlives ``ScoreTotals.add``; every reader it opened is closed.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prs
import prs.genotypes.plink as plink_module
import prs.scoring.totals as totals_module
from prs.errors import GenotypeFileError
from prs.genotypes import PlinkSource
from prs.genotypes.base import CallRows
from prs.scoring.totals import ScoreTotals
from tests.builders import write_scorefile
from tests.test_kernels import call_chunks
from tests.test_plink_speed_paths import (  # noqa: F401  (dummy: the fixture)
    assert_same_totals,
    draw_requests,
    dummy,
)


def _decode_into(out: list[np.ndarray], rows: CallRows, start: int, stop: int) -> None:
    out.append(rows.rows(start, stop).copy())


@pytest.mark.parametrize("suffix", [".pgen", ".bed"])
@given(st.data())
@settings(max_examples=40, deadline=None)
def test_lazy_chunks_are_the_read_chunks(dummy, suffix, data):  # noqa: F811
    """Chunk by chunk: the same requests, and any rows a:b decoded (in this thread or two
    at once) equal to ``read``'s calls there (PLINK 2's --export A copies, REF and ALT,
    missing kept); REF rows turned in the decoding thread's own buffer."""
    alt = dummy["alt"]
    k, n = alt.shape
    records, alleles = draw_requests(data, k)
    chunk_size = data.draw(st.integers(1, 40))
    source = PlinkSource(f"{dummy['prefix']}{suffix}")
    read = list(source.read(records, alleles, chunk_size=chunk_size))
    lazy = source.read_lazily(records, alleles, chunk_size=chunk_size)
    assert lazy is not None
    expected = np.where(alleles[:, None] == 1, alt[records], 2 - alt[records])
    expected = np.where(np.isnan(expected), -9, expected)
    for whole, chunk in zip(read, lazy, strict=True):
        assert isinstance(chunk.dosage, CallRows) and chunk.diploid
        np.testing.assert_array_equal(chunk.request, whole.request)
        rows = len(chunk.request)
        assert chunk.dosage.shape == (rows, n) and len(chunk.dosage) == rows
        np.testing.assert_array_equal(chunk.dosage.rows(0, rows), whole.dosage)
        np.testing.assert_array_equal(whole.dosage, expected[chunk.request])
        a = data.draw(st.integers(0, rows - 1))
        b = data.draw(st.integers(a + 1, rows))
        with_thread: list[np.ndarray] = []
        other = threading.Thread(target=_decode_into, args=(with_thread, chunk.dosage, 0, a + 1))
        other.start()
        here = chunk.dosage.rows(a, b).copy()
        other.join()
        np.testing.assert_array_equal(here, whole.dosage[a:b])
        np.testing.assert_array_equal(with_thread[0], whole.dosage[: a + 1])


def test_lazy_reading_is_declined_where_read_alone_knows_how(dummy):  # noqa: F811
    """None (read them with ``read``): a sample subset, a .pgen read for DS dosages."""
    k = dummy["alt"].shape[0]
    records, alleles = np.arange(k), np.ones(k, dtype=np.int64)
    prefix = dummy["prefix"]
    ids = PlinkSource(f"{prefix}.pgen").samples
    assert PlinkSource(f"{prefix}.pgen").read_lazily(records, alleles) is not None
    assert PlinkSource(f"{prefix}.pgen", samples=ids[:5]).read_lazily(records, alleles) is None
    assert PlinkSource(f"{prefix}.pgen", dosage="DS").read_lazily(records, alleles) is None
    # A .bed holds calls only: read for DS it gives its calls, lazily too.
    assert PlinkSource(f"{prefix}.bed", dosage="DS").read_lazily(records, alleles) is not None


def test_every_reader_opened_is_closed(dummy, monkeypatch):  # noqa: F811
    """The readers the decoding threads opened are closed when the chunks end, read to the
    end or left early; a thread asking for rows after that gets an error, not a closed
    reader."""
    opened, closed = [], []
    real = PlinkSource._reader

    class Spy:
        def __init__(self, reader):
            self.reader = reader
            opened.append(self)

        def __getattr__(self, name):
            return getattr(self.reader, name)

        def close(self):
            closed.append(self)
            self.reader.close()

    monkeypatch.setattr(PlinkSource, "_reader", lambda self, i: Spy(real(self, i)))
    k = dummy["alt"].shape[0]
    source = PlinkSource(f"{dummy['prefix']}.pgen")
    records, alleles = np.arange(k), np.ones(k, dtype=np.int64)
    for chunk in source.read_lazily(records, alleles, chunk_size=8):
        other = threading.Thread(target=chunk.dosage.rows, args=(0, 2))
        other.start()
        chunk.dosage.rows(0, len(chunk.request))
        other.join()
    assert len(opened) >= 2 and sorted(map(id, closed)) == sorted(map(id, opened))
    chunks = source.read_lazily(records, alleles, chunk_size=8)
    first = next(chunks)
    first.dosage.rows(0, 1)
    chunks.close()
    with pytest.raises(RuntimeError, match="closed"):  # this thread's reader, closed
        first.dosage.rows(0, 1)
    with pytest.raises(RuntimeError, match="closed"):  # a thread without one yet
        errors = []
        thread = threading.Thread(
            target=lambda: errors.append(_raised(lambda: first.dosage.rows(0, 1)))
        )
        thread.start()
        thread.join()
        raise errors[0]


def _raised(call):
    try:
        call()
    except Exception as exc:  # handed to the test's thread
        return exc
    return AssertionError("no error")


def test_a_pgen_cut_short_is_named_by_the_decoding_thread(dummy, tmp_path):  # noqa: F811
    """A .pgen cut short after opening: the thread that decodes the rows raises
    GenotypeFileError naming the file."""
    import shutil

    prefix = tmp_path / "cut"
    for ext in (".pgen", ".pvar", ".psam"):
        shutil.copy(f"{dummy['prefix']}{ext}", f"{prefix}{ext}")
    source = PlinkSource(f"{prefix}.pgen")
    with open(f"{prefix}.pgen", "r+b") as fh:
        fh.truncate(fh.seek(0, 2) // 2)
    k = dummy["alt"].shape[0]
    chunks = source.read_lazily(np.arange(k), np.ones(k, dtype=np.int64), chunk_size=k)
    chunk = next(chunks)
    with pytest.raises(GenotypeFileError, match=r"cut\.pgen"):
        chunk.dosage.rows(0, k)
    chunks.close()


@given(call_chunks(), st.integers(1, 3), st.booleans(), st.booleans())
@settings(max_examples=150, deadline=None)
def test_score_totals_of_call_rows_are_those_of_the_calls(case, threads, matmul, kernels):
    """ScoreTotals.add given CallRows (each thread decoding its part; one part, or the
    matrix product, decoded whole; kernels or numpy) adds what it adds given the calls, bit
    for bit. Each thread decodes into one buffer of its own, filled with junk first and
    reused for its next part, as the PLINK decoders do: a part read after it is reused
    would show."""
    calls, ploidy, weights, counts, effect_type, impute, freq, fp = case
    k, n = calls.shape
    results, decoders = [], set()
    buffers = threading.local()

    def decode(a: int, b: int) -> np.ndarray:
        decoders.add(threading.current_thread().name)
        if getattr(buffers, "rows", None) is None:
            buffers.rows = np.full((k, n), 77, dtype=np.int8)
        out = buffers.rows[: b - a]
        out[:] = calls[a:b]
        return out

    old = totals_module._SPLIT_MIN_GENOTYPES
    totals_module._SPLIT_MIN_GENOTYPES = 1  # split even tiny chunks between threads
    try:
        for chunk in (calls, CallRows((k, n), decode)):
            totals = ScoreTotals(
                weights.shape[1], n, impute, threads=threads, matmul=matmul, kernels=kernels
            )
            frequency = totals.add(
                chunk, ploidy, weights, counts, effect_type, freq, fp if fp.size else None
            )
            totals.close()
            results.append((totals.totals(), totals.all_missing, frequency))
    finally:
        totals_module._SPLIT_MIN_GENOTYPES = old
    assert_same_totals(*results)
    split = threads >= 2 and k >= 2 and not matmul
    # (split: this thread and the pool's, which may take more than one part each)
    assert (len(decoders) >= 2) if split else (decoders == {threading.current_thread().name})


def test_a_part_that_fails_waits_for_the_others():
    """One thread's part raising: add() returns (raises) only after every other part has
    finished, so a lazy chunk's readers are never closed under a decoding thread."""
    n = 300
    finished = []

    def decode(a: int, b: int) -> np.ndarray:
        if threading.current_thread() is threading.main_thread():
            raise GenotypeFileError("x.pgen: broken")
        time.sleep(0.3)
        finished.append(b)
        return np.ones((b - a, n), dtype=np.int8)

    totals = ScoreTotals(1, n, 0, threads=2, matmul=False, kernels=True)
    k = 400
    with pytest.raises(GenotypeFileError):
        totals.add(
            CallRows((k, n), decode),
            np.full((k, n), 2, dtype=np.int8),
            np.ones((k, 1)),
            np.ones((k, 1), dtype=bool),
            np.zeros(k, dtype=np.int8),
            np.full(k, np.nan),
            diploid=True,
        )
    assert finished == [k]
    totals.close()


@pytest.mark.parametrize("suffix", [".pgen", ".bed"])
def test_a_run_reads_lazily_and_gives_the_read_paths_result(dummy, suffix, monkeypatch):  # noqa: F811
    """prs.score on a .pgen/.bed takes the lazy path (chunks split between two threads:
    the split threshold lowered for 37 samples) and gives every total the read path gives
    (lazy reading turned off), bit for bit, over missing calls and REF/ALT effect alleles."""
    pvar = dummy["pvar"]
    rows = [
        (1, pos, ref if i % 3 == 0 else alt, alt if i % 3 == 0 else ref, 0.1 + 0.01 * i)
        for i, (pos, ref, alt) in enumerate(zip(pvar["POS"], pvar["REF"], pvar["ALT"], strict=True))
    ]
    sf = write_scorefile(
        dummy["dir"] / f"lazy{suffix}.txt",
        rows,
        header={"pgs_id": "L"},
        columns=("chr_name", "chr_position", "effect_allele", "other_allele", "effect_weight"),
    )
    monkeypatch.setattr(totals_module, "_SPLIT_MIN_GENOTYPES", 1)
    monkeypatch.setattr(plink_module, "CHUNK_GENOTYPES", 37 * 8)
    calls = []
    real = PlinkSource.read_lazily

    def spy(self, *args, **kwargs):
        chunks = real(self, *args, **kwargs)
        calls.append(chunks is not None)
        return chunks

    monkeypatch.setattr(PlinkSource, "read_lazily", spy)
    lazy = prs.score(f"{dummy['prefix']}{suffix}", sf, threads=2, keep_ambiguous=True)
    assert calls and all(calls)
    monkeypatch.setattr(PlinkSource, "read_lazily", lambda self, *a, **k: None)
    read = prs.score(f"{dummy['prefix']}{suffix}", sf, threads=2, keep_ambiguous=True)
    assert lazy.missing_ct.sum() > 0
    for field in ("sums", "allele_ct", "denom", "named_dosage", "missing_ct", "variants_used"):
        assert np.array_equal(getattr(lazy, field), getattr(read, field)), field


def test_lazy_chunks_over_two_filesets_and_declined_alleles(dummy, plink2, tmp_path):  # noqa: F811
    """Two filesets of the same samples and other genotypes (one per chromosome, say):
    lazily read chunks stay within a file and hold what ``read`` gives, each file's calls
    (PLINK 2's export of each); an allele index above 1 is declined (``read`` knows it)."""
    import subprocess

    import pandas as pd

    other = tmp_path / "other"
    dummy_args = ["--dummy", "37", "61", "0.1", "0", "acgt", "--seed", "8", "--threads", "1"]
    subprocess.run([plink2, *dummy_args, "--silent", "--out", str(other)], check=True)
    subprocess.run(
        [plink2, "--pfile", str(other), "--export", "A", "--out", str(other), "--silent"],
        check=True,
    )
    raw = pd.read_csv(f"{other}.raw", sep="\t")
    pvar = pd.read_csv(f"{other}.pvar", sep="\t")
    counted = raw.iloc[:, 6:].to_numpy(dtype=np.float64).T
    counts_alt = np.array([c.rsplit("_", 1)[1] for c in raw.columns[6:]]) == pvar["ALT"].to_numpy()
    other_alt = np.where(counts_alt[:, None], counted, 2 - counted)
    source = PlinkSource([f"{dummy['prefix']}.pgen", f"{other}.pgen"])
    k = dummy["alt"].shape[0]
    assert not np.array_equal(np.nan_to_num(other_alt, nan=-9), np.nan_to_num(dummy["alt"], nan=-9))
    records = np.concatenate([np.arange(3, k, 2), k + np.arange(0, k, 3)])
    alleles = (records % 2).astype(np.int64)
    both = np.concatenate([dummy["alt"], other_alt])[records]
    expected = np.where(alleles[:, None] == 1, both, 2 - both)
    expected = np.where(np.isnan(expected), -9, expected)
    read = list(source.read(records, alleles, chunk_size=7))
    chunks = 0
    for whole, chunk in zip(read, source.read_lazily(records, alleles, chunk_size=7), strict=True):
        np.testing.assert_array_equal(chunk.request, whole.request)
        calls = chunk.dosage.rows(0, len(chunk.request))
        np.testing.assert_array_equal(calls, whole.dosage)
        np.testing.assert_array_equal(calls, expected[chunk.request])
        assert len(np.unique(records[chunk.request] >= k)) == 1  # (one file a chunk)
        chunks += 1
    assert chunks > 2
    assert source.read_lazily(records, np.full(len(records), 2)) is None


def test_close_waits_for_a_decode_in_flight(dummy, monkeypatch):  # noqa: F811
    """Closing the decoders while another thread decodes waits for that decode (its calls
    come out whole) before closing its reader; asked again, that thread gets an error."""
    real = PlinkSource._reader
    events = []

    class Slow:
        def __init__(self, reader):
            self.reader = reader

        def read_range(self, *args, **kwargs):
            events.append("decode starts")
            time.sleep(0.3)
            self.reader.read_range(*args, **kwargs)
            events.append("decode ends")

        def read_list(self, *args, **kwargs):
            events.append("decode starts")
            time.sleep(0.3)
            self.reader.read_list(*args, **kwargs)
            events.append("decode ends")

        def close(self):  # (recorded only: the real reader is closed once all is done,
            events.append("closed")  # so a regression fails here instead of segfaulting)
            made.append(self.reader)

    made: list[object] = []
    k = dummy["alt"].shape[0]
    source = PlinkSource(f"{dummy['prefix']}.pgen")
    expected = next(iter(source.read(np.arange(k), np.ones(k, dtype=np.int64), chunk_size=k)))
    monkeypatch.setattr(PlinkSource, "_reader", lambda self, i: Slow(real(self, i)))
    chunks = source.read_lazily(np.arange(k), np.ones(k, dtype=np.int64), chunk_size=k)
    chunk = next(chunks)
    got, errors = [], []

    def decode() -> None:
        got.append(chunk.dosage.rows(0, k).copy())
        errors.append(_raised(lambda: chunk.dosage.rows(0, 1)))

    other = threading.Thread(target=decode)
    other.start()
    deadline = time.monotonic() + 30
    while "decode starts" not in events and other.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    chunks.close()  # (its decoders close: they wait for the decode in flight)
    other.join()
    for reader in made:
        reader.close()
    assert events == ["decode starts", "decode ends", "closed"]
    np.testing.assert_array_equal(got[0], expected.dosage)
    assert isinstance(errors[0], RuntimeError) and "closed" in str(errors[0])


def test_the_loop_reads_lazily_only_where_nothing_else_reads_the_chunks(dummy):  # noqa: F811
    """tasks._chunks takes the lazy path for a plain task whose chunks are split between
    threads, and ``read`` when rows are counted, a row needs the ploidy model, the calls are
    raw haploid, the chunks are added by one thread or by the many-score matrix product."""
    from types import SimpleNamespace

    from prs.scoring.tasks import RowCounts, _chunks

    k = dummy["alt"].shape[0]
    source = PlinkSource(f"{dummy['prefix']}.pgen")
    n = len(source.samples)

    def task(special=False, raw_haploid=False):
        rows = SimpleNamespace(
            record=np.arange(k),
            allele=np.ones(k, dtype=np.int64),
            special=np.array([special] + [False] * (k - 1)),
        )
        return SimpleNamespace(
            rows=rows, arithmetic=SimpleNamespace(chunk_size=1024, raw_haploid=raw_haploid)
        )

    def lazily(t, threads=2, matmul=False, counts=None) -> bool:
        totals = ScoreTotals(1, n, 0, threads=threads, matmul=matmul)
        chunks = _chunks(t, source, totals, counts)
        first = next(iter(chunks))
        totals.close()
        return isinstance(first.dosage, CallRows)

    old = totals_module._SPLIT_MIN_GENOTYPES
    totals_module._SPLIT_MIN_GENOTYPES = 1
    try:
        assert lazily(task())
        assert not lazily(task(special=True))
        assert not lazily(task(raw_haploid=True))
        assert not lazily(task(), threads=1)
        assert not lazily(task(), matmul=True)
        assert not lazily(task(), counts=RowCounts.zeros(k))
    finally:
        totals_module._SPLIT_MIN_GENOTYPES = old
    assert not lazily(task())  # (37 samples: chunks too small to split, read ahead instead)
