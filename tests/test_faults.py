"""Fault injection on ``prs score``'s outputs: a full disk, kill -9 / SIGTERM / Ctrl-C at
each write step, two runs into one ``--out``, an unwritable and a read-only ``--out``.

After each fault ``--out`` holds the complete previous set or the complete new one (or,
after a kill -9 in the milliseconds of the renames, no provenance.json: visibly incomplete,
completed by the next run), and after a later run no temporary file is left.

Runs are paused at an exact step with the test hook of :mod:`prs.output`: with
``PRS_TEST_STOP_AT=<step>`` the process stops itself (SIGSTOP) there; the test then kills
or resumes it. A fresh ``python -m prs.cli`` costs ~1.5 s before it writes, so most runs
are ``prs.cli.main`` in processes forked from a warm server (tests/fault_runner.py), all
started at once; two are fresh interpreters.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from prs.cli import main
from prs.example import example_paths
from prs.output import TEST_HOOK_ENV, output_set

OUTPUTS = ["match_report.tsv", "match_summary.tsv", "provenance.json", "scores.tsv"]
#: The write steps of ``prs score``, in order (see prs.output).
STEPS = [
    "locked",
    "staged:scores.tsv",
    "staged:match_report.tsv",
    "staged:match_summary.tsv",
    "staged:provenance.json",
    "committed",
    "withdrawn:provenance.json",
    "published:match_report.tsv",
    "published:match_summary.tsv",
    "published:scores.tsv",
    "published:provenance.json",
]
#: A kill -9 after this step: the run had committed (its set is completed by the next run).
COMMITTED = STEPS.index("committed")
#: Between these steps there is no provenance.json (the set is visibly incomplete).
NO_MARKER = range(STEPS.index("withdrawn:provenance.json"), STEPS.index("published:scores.tsv") + 1)


def score_args(out: Path, new: bool, samples_file: Path) -> list[str]:
    """``prs score`` arguments: the previous run (all samples) or the new run (three
    samples, ambiguous SNPs kept: every one of its files differs from the previous)."""
    paths = example_paths()
    args = ["score", "--vcf", str(paths.vcf), "--scorefile", str(paths.scorefile)]
    args += ["--out", str(out)]
    if new:
        args += ["--samples", str(samples_file), "--keep-ambiguous"]
    return args


def state_of(out: Path, leftovers: bool = False) -> str:
    """ "previous" or "new" when ``out`` holds one complete, consistent set and no temporary
    or lock file (``leftovers``: hidden entries of a killed run allowed); "incomplete" when
    provenance.json is missing; fails on anything else (a mix)."""
    names = sorted(os.listdir(out))
    if leftovers:
        names = [n for n in names if not n.startswith(".")]
    if "provenance.json" not in names:
        return "incomplete"
    assert names == OUTPUTS, names
    prov = json.loads((out / "provenance.json").read_text())
    scores = pd.read_csv(out / "scores.tsv", sep="\t")
    report = pd.read_csv(out / "match_report.tsv", sep="\t", keep_default_na=False)
    summary = pd.read_csv(out / "match_summary.tsv", sep="\t")
    kept = prov["options"]["keep_ambiguous"]
    assert len(scores) == prov["counts"]["samples"], "scores of another run"
    assert ("excluded_ambiguous" in set(report["outcome"])) != kept, "report of another run"
    assert summary["matched"].tolist() == list(prov["counts"]["variants_used"].values()), (
        "summary of another run"
    )
    return "new" if kept else "previous"


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    """A complete set written by a previous run (the state every fault starts from)."""
    base = tmp_path_factory.mktemp("previous")
    assert main(score_args(base / "out", False, base)) == 0
    assert state_of(base / "out") == "previous"
    return base / "out"


@pytest.fixture
def samples_file(tmp_path) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("EX0005\nEX0002\nEX0010\n")
    return path


class Run:
    """A ``prs`` run in another process: ``python -m prs.cli`` (``fresh``), or
    ``prs.cli.main`` in a process forked from a warm server (tests/fault_runner.py)."""

    def __init__(self, args: list[str], tmp: Path, name: str, fresh: bool = False, **env: str):
        self.stderr = tmp / f"{name}.stderr"
        self.stderr.write_bytes(b"")
        if fresh:
            with open(self.stderr, "wb") as fh:
                self._popen = subprocess.Popen(
                    [sys.executable, "-m", "prs.cli", *args],
                    stdout=subprocess.DEVNULL,
                    stderr=fh,
                    env={**os.environ, **env},
                )
            self.pid = self._popen.pid
        else:
            from tests import fault_runner

            self._process = fault_runner.context().Process(
                target=fault_runner.run_prs, args=(args, env, str(self.stderr))
            )
            self._process.start()
            self.pid = self._process.pid
        self.fresh = fresh

    def poll(self) -> int | None:
        return self._popen.poll() if self.fresh else self._process.exitcode

    def wait(self, timeout: float) -> int | None:
        if self.fresh:
            return self._popen.wait(timeout)
        self._process.join(timeout)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def err(self) -> str:
        return self.stderr.read_text()


def wait_stopped(run: Run, timeout: float = 90.0) -> None:
    """Wait until ``run`` has stopped itself at its test-hook step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            state = Path(f"/proc/{run.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state in ("T", "t"):
                return
        if run.poll() is not None:
            pytest.fail(f"exited {run.poll()} without stopping: {run.err()}")
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    pytest.fail(f"did not stop at the hook in {timeout} s: {run.err()}")


def wait_for_text(run: Run, text: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in run.err():
            return
        if run.poll() is not None:
            pytest.fail(f"exited {run.poll()} before saying {text!r}: {run.err()}")
        time.sleep(0.05)
    pytest.fail(f"no {text!r} in {timeout} s: {run.err()}")


def copy_previous(previous: Path, out: Path) -> Path:
    shutil.copytree(previous, out)
    return out


def test_kill_9_at_each_write_step(tmp_path, previous, samples_file):
    """F5: a kill -9 left hidden .part files forever and scores.tsv without provenance."""
    runs = {}
    for k, step in enumerate(STEPS):
        out = copy_previous(previous, tmp_path / f"out{k}")
        args = score_args(out, True, samples_file)
        runs[step] = out, Run(args, tmp_path, f"run{k}", **{TEST_HOOK_ENV: step})
    for step, (out, run) in runs.items():
        wait_stopped(run)
        run.send_signal(signal.SIGKILL)
        assert run.wait(30) == -signal.SIGKILL
        k = STEPS.index(step)
        if k <= COMMITTED:  # (committed: the set waits, whole, in its hidden directory)
            assert state_of(out, leftovers=True) == "previous", step
        elif k in NO_MARKER:  # the renames themselves: visibly incomplete
            assert state_of(out, leftovers=True) == "incomplete", step
        else:
            assert state_of(out, leftovers=True) == "new", step
        # The next writer into out discards the staging or completes the committed set.
        with output_set(out):
            pass
        assert state_of(out) == ("previous" if k < COMMITTED else "new"), step
    # A later run leaves no temporary and no lock behind.
    for step, (out, _run) in list(runs.items())[:: len(STEPS) // 3]:
        assert main(score_args(out, False, samples_file)) == 0
        assert state_of(out) == "previous", step


#: (signal, step, exit code, state after, run as a fresh `python -m prs.cli`)
SIGNAL_CASES = [
    (signal.SIGTERM, "locked", 143, "previous", False),
    (signal.SIGTERM, "staged:match_report.tsv", 143, "previous", True),
    (signal.SIGINT, "staged:provenance.json", 130, "previous", False),
    # during the publish (milliseconds) signals wait for the set to be whole
    (signal.SIGTERM, "published:match_summary.tsv", 143, "new", False),
    (signal.SIGINT, "withdrawn:provenance.json", 130, "new", False),
]


def test_sigterm_and_ctrl_c_at_write_steps(tmp_path, previous, samples_file):
    """F19/F5: SIGTERM killed the run mid-write (leaving .part files); Ctrl-C printed a
    traceback. Now one line, exit 143 / 130, and the previous set or the whole new one."""
    runs = []
    for k, (sig, step, code, expected, fresh) in enumerate(SIGNAL_CASES):
        out = copy_previous(previous, tmp_path / f"out{k}")
        args = score_args(out, True, samples_file)
        run = Run(args, tmp_path, f"run{k}", fresh=fresh, **{TEST_HOOK_ENV: step})
        runs.append((sig, step, code, expected, out, run))
    for sig, step, code, expected, out, run in runs:
        wait_stopped(run)
        run.send_signal(sig)
        run.send_signal(signal.SIGCONT)
        assert run.wait(60) == code, (step, run.err())
        lines = run.err().splitlines()
        assert lines[-1] == "prs: interrupted", (step, lines)
        assert not any("Traceback" in line for line in lines), step
        assert state_of(out) == expected, step  # (and no temporary, no lock file)


def test_two_runs_into_one_out_do_not_interleave(tmp_path, previous, samples_file):
    """F5: B's scores ended up with A's report and provenance when A paused after its first
    rename. Now B waits for A's lock (saying so), then publishes its whole set."""
    out = copy_previous(previous, tmp_path / "out")
    hook = {TEST_HOOK_ENV: "published:match_report.tsv"}
    run_a = Run(score_args(out, False, samples_file), tmp_path, "a", fresh=True, **hook)
    wait_stopped(run_a)
    run_b = Run(score_args(out, True, samples_file), tmp_path, "b")
    wait_for_text(run_b, "waiting for it to finish")
    assert f"pid {run_a.pid}" in run_b.err()
    assert run_b.poll() is None  # B waits while A holds the lock
    run_a.send_signal(signal.SIGCONT)
    assert run_a.wait(60) == 0, run_a.err()
    assert run_b.wait(60) == 0, run_b.err()
    assert state_of(out) == "new"


# --- full disk, unwritable and read-only --out -------------------------------------------


@contextlib.contextmanager
def tmpfs(where: Path, size: str):
    """A small tmpfs mounted at ``where`` (root only), unmounted afterwards."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root (a full or read-only filesystem)")
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` then free ``leave`` bytes (rounded to pages by the filesystem)."""
    filler = disk / "filler"
    block = b"\0" * 4096
    with open(filler, "wb", buffering=0) as fh:
        with contextlib.suppress(OSError):
            while True:
                fh.write(block)
    os.truncate(filler, max(filler.stat().st_size - leave, 0))
    return filler


def test_full_disk(tmp_path, previous, samples_file, capsys):
    """F4: a full disk gave an OSError traceback (exit 1) and left scores.tsv without its
    report and provenance. Now ReportError (exit 9) naming the file; nothing partial."""
    with tmpfs(tmp_path / "disk", "256k") as disk:
        out = copy_previous(previous, disk / "out")
        filler = fill(disk, 8 << 10)  # room for the new scores, not its match report
        for fmt in ("tsv", "parquet"):
            code = main([*score_args(out, True, samples_file), "--format", fmt])
            assert code == 9
            err = capsys.readouterr().err.strip().splitlines()
            assert err[-1].startswith("prs: error: ") and "Traceback" not in "\n".join(err)
            assert re.search(rf"{out}/[a-z_]+\.{fmt}: cannot write output", err[-1]), err
            assert "No space left on device (ENOSPC)" in err[-1]
            assert state_of(out) == "previous"  # (no temporary, no lock file either)
        # calibrate and categorise write through the same writers
        filler_full = fill(disk, 0)
        reference = tmp_path / "reference.json"
        calibrate = ["calibrate", "--scores", str(previous / "scores.tsv"), "--out"]
        assert main([*calibrate, str(disk / "reference.json")]) == 9
        assert "reference.json: cannot write output" in capsys.readouterr().err
        assert main([*calibrate, str(reference)]) == 0
        categorise = ["categorise", "--scores", str(previous / "scores.tsv")]
        categorise += ["--reference", str(reference), "--scheme", "top-5-percent"]
        categorise += ["--out", str(disk / "categories.tsv")]
        assert main(categorise) == 9
        assert "categories.tsv: cannot write output" in capsys.readouterr().err
        assert sorted(os.listdir(disk)) == ["filler", "out"]
        filler_full.unlink()
        assert filler == filler_full
        assert main(score_args(out, True, samples_file)) == 0
        assert state_of(out) == "new"


def test_read_only_out(tmp_path, previous, samples_file, capsys):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        out = copy_previous(previous, disk / "out")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        assert main(score_args(out, True, samples_file)) == 9
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1] == f"prs: error: {out}: cannot write output: Read-only file system (EROFS)"
        assert state_of(out) == "previous"


def test_unwritable_out(tmp_path, previous, samples_file, capsys):
    """--out without write permission: exit 9 naming it (root ignores permissions, so as
    root the run drops CAP_DAC_OVERRIDE with setpriv)."""
    out = copy_previous(previous, tmp_path / "out")
    out.chmod(0o555)
    try:
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("as root, needs setpriv to give up CAP_DAC_OVERRIDE")
            caps = "-dac_override,-dac_read_search"
            done = subprocess.run(
                [
                    *("setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"),
                    *(sys.executable, "-m", "prs.cli", *score_args(out, True, samples_file)),
                ],
                capture_output=True,
                text=True,
            )
            code, err = done.returncode, done.stderr
        else:
            code, err = main(score_args(out, True, samples_file)), capsys.readouterr().err
        assert code == 9, err
        last = err.strip().splitlines()[-1]
        assert last == f"prs: error: {out}: cannot write output: Permission denied (EACCES)"
        assert state_of(out) == "previous"
    finally:
        out.chmod(0o755)
