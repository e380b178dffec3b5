"""Writing outputs (prs.output, prs.report): modes, errors, one set, lock, recovery."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import resource
import signal
import stat

import pandas as pd
import pytest

import prs.output.publish
from prs.errors import ReportError
from prs.output import (
    COMMIT_PREFIX,
    LOCK_NAME,
    STAGE_PREFIX,
    atomic_write,
    output_set,
    write_json,
    write_table,
)

FRAME = pd.DataFrame({"a": [1.5, 2.5], "b": ["x", "y"]})


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def entries(directory) -> list[str]:
    return sorted(os.listdir(directory))


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_modes_follow_the_umask(tmp_path, mask):
    """F5: every output was 0600 (mkstemp) whatever the umask."""
    with umask(mask):
        single = write_table(FRAME, tmp_path / "single" / "t.tsv")
        js = write_json({"a": 1}, tmp_path / "single" / "j.json")
        with atomic_write(tmp_path / "single" / "x.txt") as fh:
            fh.write("x")
        with output_set(tmp_path / "set") as outs:
            in_set = outs.write_table(FRAME, "t.parquet")
            outs.write_json({"a": 1}, "provenance.json")
    for path in (
        single,
        js,
        tmp_path / "single" / "x.txt",
        in_set,
        tmp_path / "set/provenance.json",
    ):
        assert mode(path) == 0o666 & ~mask, path
    assert mode(tmp_path / "set") == 0o777 & ~mask


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
@pytest.mark.parametrize("writer", ["tsv", "parquet", "json"])
def test_a_failed_sync_is_a_report_error(tmp_path, monkeypatch, code, writer):
    """F4: an OSError while writing was a traceback (exit 1); now a ReportError naming the
    path, and the temporary is gone."""
    (tmp_path / "t.out").write_text("previous")

    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(ReportError) as info:
        if writer == "json":
            write_json({"a": 1}, tmp_path / "t.out")
        else:
            write_table(FRAME, tmp_path / ("t.out" if writer == "tsv" else "t.out.parquet"))
    assert str(tmp_path / "t.out") in str(info.value)
    assert os.strerror(code) in str(info.value) and errno.errorcode[code] in str(info.value)
    assert entries(tmp_path) == ["t.out"] and (tmp_path / "t.out").read_text() == "previous"


@contextlib.contextmanager
def file_size_limit(size: int):
    """Writes past ``size`` bytes fail with EFBIG (a real kernel fault, no root needed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    saved = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # (else the signal kills us)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, saved)


@pytest.mark.parametrize("name", ["t.tsv", "t.tsv.gz", "t.parquet", "t.json"])
def test_a_failed_write_is_a_report_error_alone_and_in_a_set(tmp_path, name):
    big = pd.DataFrame({"a": range(300_000), "b": 0.5, "c": "text"})
    big["a"] = big["a"] * 7919 % 1_000_003  # (less compressible)

    def write_alone(path):
        if name.endswith(".json"):
            return write_json(big.to_dict(orient="list"), path)
        return write_table(big, path)

    def write_in(outs):
        if name.endswith(".json"):
            return outs.write_json(big.to_dict(orient="list"), name)
        return outs.write_table(big, name)

    (tmp_path / "set").mkdir()
    with file_size_limit(64 << 10):
        with pytest.raises(ReportError, match=rf"{name}: cannot write output: File too .*EFBIG"):
            write_alone(tmp_path / "single" / name)
        with pytest.raises(ReportError, match="EFBIG"), output_set(tmp_path / "set") as outs:
            write_in(outs)
    assert entries(tmp_path / "single") == []
    assert entries(tmp_path / "set") == []


def test_the_callers_own_os_error_passes_unchanged(tmp_path):
    """Only failed writes become ReportErrors: an input that cannot be read stays itself."""
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "x.txt") as fh:
        fh.write("partial")
        open(tmp_path / "missing-input")
    assert entries(tmp_path) == []


def test_unwritable_destination_names_the_path(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ReportError, match="file"):
        write_table(FRAME, tmp_path / "file" / "t.tsv")
    with pytest.raises(ReportError, match=r"not a directory|Not a directory|File exists"):
        with output_set(tmp_path / "file"):
            pass


def test_output_set_publishes_all_or_nothing(tmp_path):
    out = tmp_path / "out"
    with output_set(out) as outs:
        assert outs.write_table(FRAME, "scores.tsv") == out / "scores.tsv"
        assert not (out / "scores.tsv").exists()  # staged, not yet published
        outs.write_json({"run": 1}, "provenance.json")
    assert entries(out) == ["provenance.json", "scores.tsv"]
    before = {p: (out / p).read_bytes() for p in entries(out)}
    with pytest.raises(RuntimeError), output_set(out) as outs:
        outs.write_table(FRAME.head(1), "scores.tsv")
        raise RuntimeError("scoring failed half-way through the outputs")
    assert {p: (out / p).read_bytes() for p in entries(out)} == before
    with pytest.raises(KeyboardInterrupt), output_set(out) as outs:
        outs.write_table(FRAME.head(1), "scores.tsv")
        raise KeyboardInterrupt
    assert {p: (out / p).read_bytes() for p in entries(out)} == before


def test_names_are_plain_file_names(tmp_path):
    with output_set(tmp_path) as outs:
        for bad in ("../x", "a/b", ".hidden", LOCK_NAME, ""):
            with pytest.raises(ValueError):
                outs.write_json({}, bad)
        outs.write_json({}, "a.json")
        with pytest.raises(ValueError, match="twice"):
            outs.write_json({}, "a.json")


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    """F5: hidden .part files of killed runs stayed forever; now the next writer of the same
    name removes those whose writer is dead (no flock held) and keeps a live one's."""
    dead_old_style = tmp_path / ".scores.tsv.k2j4_9xa.part"  # as mkstemp named them
    dead = tmp_path / ".scores.tsv.prs-0123456789ab.part"
    live = tmp_path / ".scores.tsv.prs-ba9876543210.part"
    other = tmp_path / ".notes.txt.k2j4_9xa.part"  # another name: not ours to judge
    dead_of_other_name = tmp_path / ".categories.tsv.prs-00000000abcd.part"  # ours: dead
    for path in (dead_old_style, dead, live, other, dead_of_other_name):
        path.write_text("partial")
    with open(live, "rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with output_set(tmp_path) as outs:
            outs.write_table(FRAME, "scores.tsv")
        assert entries(tmp_path) == sorted([live.name, other.name, "scores.tsv"])
    write_table(FRAME, tmp_path / "scores.tsv")  # the live writer has gone
    assert entries(tmp_path) == sorted([other.name, "scores.tsv"])


def test_dead_staging_is_removed_and_a_committed_set_completed(tmp_path):
    """What a kill -9 leaves: a staging directory (discarded) and a committed set whose
    files were half moved (completed, its marker last)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "scores.tsv").write_text("old scores")
    (out / LOCK_NAME).write_text("999999\n")  # left by the kill; its lock died with it
    stage = out / f"{STAGE_PREFIX}1-aaaa~provenance.json"
    stage.mkdir()
    (stage / "scores.tsv").write_text("never committed")
    commit = out / f"{COMMIT_PREFIX}2-bbbb~provenance.json"
    commit.mkdir()
    (commit / "provenance.json").write_text("new provenance")
    (commit / "scores.tsv").write_text("new scores")
    (out / "match_report.tsv").write_text("new report")  # moved before the kill
    with output_set(out):
        pass
    assert entries(out) == ["match_report.tsv", "provenance.json", "scores.tsv"]
    assert (out / "scores.tsv").read_text() == "new scores"
    assert (out / "provenance.json").read_text() == "new provenance"


def test_a_second_writer_waits_for_the_lock_and_says_so(tmp_path, caplog):
    out = tmp_path / "out"
    with output_set(out) as first:
        first.write_json({"run": "first"}, "provenance.json")
        with caplog.at_level(logging.WARNING, logger="prs.output"):
            with pytest.raises(ReportError, match=r"locked for 0.3 s") as info:
                with output_set(out, lock_timeout=0.3):
                    pass
        assert f"pid {os.getpid()}" in str(info.value)
        assert "waiting for it to finish" in caplog.text and str(out) in caplog.text
    assert entries(out) == ["provenance.json"]  # the lock file is removed on release


def test_signals_during_publishing_are_deferred(tmp_path, monkeypatch):
    """A SIGINT between the renames is acted on once the set is whole."""
    out = tmp_path / "out"
    real_replace = os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(prs.output.publish.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt), output_set(out) as outs:
        outs.write_table(FRAME, "a.tsv")
        outs.write_table(FRAME, "b.tsv")
        outs.write_json({}, "provenance.json")
    assert entries(out) == ["a.tsv", "b.tsv", "provenance.json"]


def test_a_set_without_its_marker_withdraws_the_previous_one(tmp_path):
    """provenance.json describes the files it came with: replacing some of them without a
    new provenance.json removes the old one (the directory holds no complete set)."""
    with output_set(tmp_path) as outs:
        outs.write_table(FRAME, "scores.tsv")
        outs.write_json({"run": 1}, "provenance.json")
    with output_set(tmp_path) as outs:
        outs.write_table(FRAME.head(1), "scores.tsv")
    assert entries(tmp_path) == ["scores.tsv"]
    with output_set(tmp_path, marker=None) as outs:
        outs.write_json({"run": 3}, "provenance.json")
    with output_set(tmp_path, marker=None) as outs:
        outs.write_table(FRAME, "other.tsv")
    assert entries(tmp_path) == ["other.tsv", "provenance.json", "scores.tsv"]
