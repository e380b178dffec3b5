"""Progress bars, ``-v``/``-q`` on every command, one log line per stage (issue 16 item 4).

Bars are drawn only when stderr is a terminal: the runs here give the command a real
pseudo-terminal (:mod:`pty`) for stderr, or a pipe, and read what it drew.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest

import prs
from prs.cli import build_parser, main
from tests.test_cli import example_score_args, half_matched_args

#: A stage's log line at -v: ``prs: <stage>: 0.12 s (detail)``.
STAGE_LINE = r"^prs: {}: \d+\.\d\d s"


def run_prs(args: list[str], *, terminal: bool) -> tuple[int, str]:
    """Run ``python -m prs ARGS``; stderr a pseudo-terminal (``terminal``) or a pipe.
    Returns the exit code and everything written to stderr."""
    env = dict(os.environ)
    command = [sys.executable, "-m", "prs", *args]
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        return done.returncode, done.stderr
    controller, terminal_end = pty.openpty()
    # (a new pseudo-terminal is 0 columns wide, in which tqdm draws nothing: give it 100)
    fcntl.ioctl(terminal_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=terminal_end, env=env, close_fds=True
        )
    finally:
        os.close(terminal_end)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the command closed the terminal (it exited)
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_score_bar_on_a_terminal_only(tmp_path):
    """tqdm bars (genotype bytes read, then tasks) on a terminal; none through a pipe;
    none with -q on a terminal."""
    code, drawn = run_prs(example_score_args(tmp_path / "tty"), terminal=True)
    assert code == 0, drawn
    assert re.search(r"\d+/\d+ \[", drawn) and "task" in drawn, drawn
    # first a bar of the genotype bytes the VCF pass reads (in B/kB), then the tasks'
    assert re.search(r"genotypes read: +\d+%.*B/s", drawn), drawn
    assert drawn.index("genotypes read") < drawn.index("task")
    code, piped = run_prs(example_score_args(tmp_path / "pipe"), terminal=False)
    assert code == 0, piped
    assert "task" not in piped and "\r" not in piped and "genotypes read" not in piped
    assert "variants matched" in piped  # the summary is still there
    code, quiet = run_prs([*example_score_args(tmp_path / "quiet"), "-q"], terminal=True)
    assert code == 0, quiet
    assert quiet.strip() == ""  # -q: errors only, no bar, no summary


def test_verbose_before_or_after_the_command_logs_each_stage(tmp_path):
    """`prs -v score` and `prs score -v` both log one line per stage with its time."""
    for where, args in (
        ("before", ["-v", *example_score_args(tmp_path / "before")]),
        ("after", [*example_score_args(tmp_path / "after"), "-v"]),
    ):
        code, err = run_prs(args, terminal=False)
        assert code == 0, err
        lines = err.splitlines()
        score_line = STAGE_LINE.format(re.escape("score (open genotypes, match, read and sum)"))
        assert any(
            re.match(score_line + r" \(\d+ samples x 1 scores, \d+ tasks\)", x) for x in lines
        ), (where, err)
        assert any(re.match(STAGE_LINE.format("write") + r" \(4 files into ", x) for x in lines)
    # without -v: no stage lines
    code, err = run_prs(example_score_args(tmp_path / "plain"), terminal=False)
    assert code == 0 and not re.search(STAGE_LINE.format("write"), err, re.M)


def test_every_command_takes_v_q_and_strict_after_its_name():
    """Each subcommand's parser accepts -v, -q and --strict; counts add up across sides."""
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"score", "fetch", "calibrate", "categorise", "evaluate", "reference"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        for flag in ("-v, --verbose", "-q, --quiet", "--strict"):
            assert flag in text, (name, flag)
    from prs.cli import _merge_common_options

    args = _merge_common_options(
        parser.parse_args(["-v", "calibrate", "-v", "--mean", "0", "--sd", "1", "--out", "x"])
    )
    assert args.verbose == 2 and not args.quiet
    args = _merge_common_options(
        parser.parse_args(
            ["calibrate", "--strict", "-q", "-v", "--mean", "0", "--sd", "1", "--out", "x"]
        )
    )
    assert args.quiet and args.strict and args.verbose == 0


def test_calibrate_stages_bar_and_log(tmp_path):
    """prs calibrate: a bar of stages on a terminal, one line per stage at -v."""
    args = ["calibrate", "--mean", "0", "--sd", "1", "--out", str(tmp_path / "ref.json")]
    code, drawn = run_prs(args, terminal=True)
    assert code == 0, drawn
    assert "stage" in drawn and re.search(r"\d/2 \[", drawn), drawn
    code, err = run_prs([*args, "-v"], terminal=False)
    assert code == 0, err
    lines = err.splitlines()
    assert any(re.match(STAGE_LINE.format("build the reference"), x) for x in lines), err
    assert any(re.match(STAGE_LINE.format("write"), x) for x in lines), err
    assert "\r" not in err and not re.search(r"\d/2 \[", err)  # no bar through a pipe


# (prs's warnings as a user's command line shows them, not the suite's "ignore")
@pytest.mark.filterwarnings("default::prs.errors.PRSWarning")
def test_quiet_hides_warnings_lines_but_strict_still_fails(tmp_path, capsys):
    """-q drops the `prs: warning:` lines (the warnings stay in provenance.json)."""
    args = half_matched_args(tmp_path)
    assert main([*args, "--out", str(tmp_path / "loud")]) == 0
    assert "prs: warning:" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "quiet"), "-q"]) == 0
    assert capsys.readouterr().err == ""
    prov = (tmp_path / "quiet" / "provenance.json").read_text()
    assert "1/2 rows matched" in prov
    assert main([*args, "--out", str(tmp_path / "strict"), "-q", "--strict"]) == 2


def test_python_dash_m_prs_scores(tmp_path):
    """`python -m prs score ...` runs a whole scoring (src/prs/__main__.py)."""
    code, err = run_prs(example_score_args(tmp_path / "out"), terminal=False)
    assert code == 0, err
    assert (tmp_path / "out" / "scores.tsv").is_file()
    assert (tmp_path / "out" / "provenance.json").is_file()
    assert prs.__version__ in (tmp_path / "out" / "provenance.json").read_text()


@pytest.mark.parametrize("flag", ["-v", "-q"])
def test_fetch_takes_common_flags(flag):
    """fetch (another command's module) takes them too: --list-curated runs offline."""
    parser = build_parser()
    args = parser.parse_args(["fetch", "--list-curated", flag])
    assert args.command == "fetch"


def test_task_bar_grows_with_a_streamed_run(monkeypatch):
    """A streamed run reports more tasks as it goes (done + total per chromosome group):
    one bar, its total raised, never a second bar."""
    import io

    import tqdm

    from prs.cli.score import _TaskBar

    made = []
    real = tqdm.tqdm

    def counting(*args, **kwargs):
        made.append(kwargs.get("total"))
        return real(*args, **{**kwargs, "file": io.StringIO()})

    monkeypatch.setattr(tqdm, "tqdm", counting)
    bar = _TaskBar(enabled=True)
    for done, total in ((1, 2), (2, 2), (3, 5), (5, 5)):
        bar(done, total)
    assert made == [2] and bar._bar.total == 5 and bar._bar.n == 5 and bar.total == 5
    bar.close()
    quiet = _TaskBar(enabled=False)
    quiet(1, 3)
    assert made == [2] and quiet.total == 3


def test_q_prints_nothing_on_success_for_calibrate_evaluate_report(tmp_path, capsys):
    """-q is errors only for every command's summary lines, not only prs score's."""
    run_dir = tmp_path / "run"
    assert main([*example_score_args(run_dir), "-q"]) == 0
    scores = run_dir / "scores.tsv"
    commands = {
        "calibrate": ["calibrate", "--scores", str(scores), "--out", str(tmp_path / "ref.json")],
        "report": ["report", str(run_dir), "--out", str(tmp_path / "report.html")],
    }
    for name, argv in commands.items():
        assert main([*argv, "-q"]) == 0, name
        out, err = capsys.readouterr()
        assert (out, err) == ("", ""), name
        assert main(argv) == 0, name  # the same command without -q says what it did
        out, err = capsys.readouterr()
        assert out.strip() or err.strip(), name
    assert (tmp_path / "ref.json").exists() and (tmp_path / "report.html").exists()
