"""The console script's exit (:func:`prs.cli.console`): the interpreter's teardown is
skipped, nothing else is.

After :func:`prs.cli.main` the non-daemon threads are waited for, the ``atexit`` handlers
run and the standard streams are flushed, then the process ends with main's exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys

from prs.example import example_paths


def _console(code: str, *args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd
    )


def test_a_run_writes_its_files_and_exits_0(tmp_path):
    p = example_paths()
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "prs",
            "score",
            "--genotypes",
            str(p.vcf),
            "--scorefile",
            str(p.scorefile),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "wrote" in run.stdout + run.stderr  # (the last line, flushed before the exit)
    for name in ("scores.tsv", "match_report.tsv", "match_summary.tsv", "provenance.json"):
        assert (out / name).stat().st_size > 0


def test_errors_keep_their_exit_code_and_message(tmp_path):
    """A missing scoring file: main's exit code and its whole one-line message."""
    code = (
        "import sys\n"
        "from prs.cli import console, main\n"
        "argv = sys.argv[1:]\n"
        "print('expected', main(list(argv)), file=sys.stderr)\n"
        "sys.argv = ['prs', *argv]\n"
        "console()\n"
    )
    p = example_paths()
    missing = tmp_path / "nope.txt"
    run = _console(
        code,
        "score",
        "--genotypes",
        str(p.vcf),
        "--scorefile",
        str(missing),
        "--out",
        str(tmp_path / "o"),
    )
    lines = run.stderr.splitlines()
    expected = int(next(line for line in lines if line.startswith("expected")).split()[1])
    assert expected != 0
    assert run.returncode == expected
    assert sum(str(missing) in line for line in lines) == 2  # main's, then console's


def _unbuffered_off() -> dict[str, str]:
    """The environment without PYTHONUNBUFFERED: stdout into a pipe is then block-buffered
    (what a flush at exit must write out)."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    return env


def test_threads_and_atexit_handlers_finish_and_stdout_is_flushed(tmp_path):
    """After a run main() returns from: a non-daemon thread still working and an atexit
    handler both finish before the process ends (as at a normal exit), and stdout,
    block-buffered into a pipe, is written whole (as main writes it in a plain exit)."""
    done = tmp_path / "thread"
    handler = tmp_path / "atexit"
    p = example_paths()
    argv = ["score", "--genotypes", str(p.vcf), "--scorefile", str(p.scorefile), "--out"]
    code = (
        "import atexit, pathlib, sys, threading, time\n"
        "from prs.cli import console\n"
        f"def late():\n    time.sleep(0.3); pathlib.Path({str(done)!r}).write_text('x')\n"
        "threading.Thread(target=late).start()\n"
        f"atexit.register(lambda: pathlib.Path({str(handler)!r}).write_text('y'))\n"
        "print('x' * 5000)\n"  # (more than a line, still in the buffer at the end)
        f"sys.argv = ['prs', *{argv!r}, {str(tmp_path / 'a')!r}]\n"
        "console()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_unbuffered_off()
    )
    assert run.returncode == 0, run.stderr
    assert done.read_text() == "x" and handler.read_text() == "y"
    plain = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from prs.cli import main; print('x' * 5000); sys.exit(main())",
            *argv,
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        env=_unbuffered_off(),
    )
    assert plain.returncode == 0
    assert run.stdout.startswith("x" * 5000)
    assert run.stdout.replace("/a", "/b") == plain.stdout


def test_a_closed_stdout_or_stderr_is_no_error(tmp_path):
    """Started with stdout or stderr closed (``prs ... >&-``), the run exits 0 and writes
    its files, as the plain interpreter exit does."""
    p = example_paths()
    for k, closing in enumerate((">&-", "2>&-")):
        out = tmp_path / str(k)
        command = (
            f"exec {sys.executable} -m prs score --genotypes {p.vcf} --scorefile {p.scorefile}"
            f" --out {out} {closing}"
        )
        run = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
        assert run.returncode == 0, (closing, run.stderr)
        assert (out / "scores.tsv").stat().st_size > 0
