"""The console script's exit (:func:`prs.cli.console`): the interpreter's teardown is
skipped, nothing else is.

After :func:`prs.cli.main` the non-daemon threads are waited for, the ``atexit`` handlers
run and the standard streams are flushed, then the process ends with main's exit code.
"""

from __future__ import annotations

import json
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


def _gc_probe(entry: str) -> dict[str, object]:
    """In a fresh process running ``entry`` (code that imports prs): the collector's passes
    while prs was imported (from its start to a freeze, if any), then whether it is on and
    how many objects are frozen (printed at exit: the console script does not return)."""
    code = (
        "import atexit, gc, json, sys\n"
        "passes = []\n"
        "gc.callbacks.append(lambda phase, info: passes.append("
        "'prs' in sys.modules and gc.get_freeze_count() == 0)"
        " if phase == 'start' else None)\n"
        "atexit.register(lambda: print(json.dumps({'passes': sum(passes),"
        " 'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count(),"
        " 'pandas': 'pandas' in sys.modules})))\n"
        f"{entry}\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def test_the_console_script_imports_prs_with_the_collector_paused_then_frozen():
    """``_prs_console`` (the ``prs`` script's entry): no collector pass while prs, pandas and
    numpy are imported, what they created frozen, the collector back on for the run
    (``prs --version``: parsed, printed, exit)."""
    probe = _gc_probe(
        "sys.argv = ['prs', '--version']\nimport _prs_console\n_prs_console.console()"
    )
    assert probe["pandas"] and probe["enabled"]
    assert probe["passes"] == 0
    assert probe["frozen"] > 50_000  # (~120,000: prs, pandas, numpy and pyarrow)


def test_a_library_import_of_prs_freezes_nothing():
    """``import prs`` in a program: the collector runs as usual (it made passes while pandas
    was imported: the probe sees them) and nothing of the program is frozen."""
    probe = _gc_probe("import prs")
    assert probe["pandas"] and probe["enabled"]
    assert probe["passes"] > 10
    assert probe["frozen"] == 0


def test_the_prs_script_is_the_paused_entry_and_runs(tmp_path):
    """The installed ``prs`` script enters by ``_prs_console:console``, and a run through it
    writes its files and exits 0."""
    from importlib.metadata import entry_points

    (prs,) = entry_points(group="console_scripts", name="prs")
    assert prs.value == "_prs_console:console"
    p = example_paths()
    code = (
        "import sys\n"
        "from _prs_console import console\n"
        "sys.argv = ['prs', *sys.argv[1:]]\n"
        "console()\n"
    )
    out = tmp_path / "out"
    run = _console(
        code, "score", "--genotypes", str(p.vcf), "--scorefile", str(p.scorefile), "--out", str(out)
    )
    assert run.returncode == 0, run.stderr
    assert (out / "scores.tsv").stat().st_size > 0


def test_the_collector_is_back_on_when_the_import_fails():
    """An import that fails under the paused collector (prs.cli made unimportable here)
    raises as it would, and leaves the collector as it found it: on."""
    code = (
        "import gc, sys\n"
        "sys.modules['prs.cli'] = None\n"
        "import _prs_console\n"
        "try:\n"
        "    _prs_console.console()\n"
        "except ImportError:\n"
        "    print('ImportError', gc.isenabled())\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["ImportError", "True"]
