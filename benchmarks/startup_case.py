"""The fixed cost of a ``prs`` process, against ``python -c "import numpy, pandas"``, in one run.

Usage::

    python -m benchmarks.startup_case              # 7 alternating rounds, medians
    python -m benchmarks.startup_case --rounds 15
    python -m benchmarks.startup_case --before /tmp/before/src   # and another tree's prs

Each round runs, in fresh processes and in turn: the reference (``python -c "import numpy,
pandas"``), ``prs --help``, ``python -c "import prs"``, ``prs score`` on the embedded
example (200 samples, 300-row scoring file: the checked engine and no Numba, as ``auto``
reads it) and the same on the fast engine (which starts Numba; its cache warm: one untimed
run first). ``--before SRC`` adds each prs command run with ``PYTHONPATH=SRC`` (e.g. a
``git worktree`` of an earlier commit), alternating with the others, for a before/after
table from one run. The medians and each one's ratio to the reference go to stdout and to
``benchmarks/results/startup.json``. The prs commands run as the console script runs them
(``_prs_console``, where the tree has it: imports with the collector paused), not as
``python -m prs`` (as before 2026-12-01): figures from earlier runs are not comparable.
Issue 15's target: the example end to end <= 2x the reference. The machine these figures
come from is shared (2 cores, up to 8 sessions at once): only the ratios, taken from
alternating runs in one invocation, mean anything.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.before_after import CLI  # each tree's prs, as its console script runs it

RESULTS = Path(__file__).resolve().parent / "results"


#: A command and the PYTHONPATH it runs with (None: the environment's).
_Command = tuple[list[str], str | None]


def _commands(out: Path, before: str | None) -> dict[str, _Command]:
    from prs.example import example_paths

    paths = example_paths()
    python = sys.executable
    prs = [python, "-c", CLI]  # (as the console script runs it, in either tree)
    score = [*prs, "score", "--genotypes", str(paths.vcf), "--scorefile", str(paths.scorefile)]
    ours: dict[str, list[str]] = {
        "import prs": [python, "-c", "import prs"],
        "prs --help": [*prs, "--help"],
        "prs score (embedded example)": [*score, "--out", str(out / "auto")],
        "prs score (example, --engine fast)": [
            *score,
            "--out",
            str(out / "fast"),
            "--engine",
            "fast",
        ],
    }
    commands: dict[str, _Command] = {
        "reference (import numpy, pandas)": ([python, "-c", "import numpy, pandas"], None)
    }
    # With --before, this tree's runs take a PYTHONPATH too (a path entry first in sys.path
    # is searched by every import: both sides pay it, or the comparison is off by ~0.1 s).
    here = None if before is None else str(Path(__file__).resolve().parents[1] / "src")
    for name, command in ours.items():
        commands[name] = (command, here)
        if before is not None:
            commands[f"{name} [before]"] = (
                [part.replace(str(out / "auto"), str(out / "before")) for part in command],
                before,
            )
    return commands


def _time(command: _Command) -> float:
    argv, pythonpath = command
    env = None if pythonpath is None else {**os.environ, "PYTHONPATH": pythonpath}
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--before", metavar="SRC", help="also run each prs command with PYTHONPATH=SRC"
    )
    args = parser.parse_args(argv)
    # Bytecode written for both trees first (PYTHONDONTWRITEBYTECODE would otherwise leave
    # one of them compiling its modules in every run).
    for tree in (Path(__file__).resolve().parents[1] / "src", args.before):
        if tree is not None:
            compileall.compile_dir(str(tree), quiet=1)
    with tempfile.TemporaryDirectory(prefix="prs-startup-") as tmp:
        commands = _commands(Path(tmp), args.before)
        for command in commands.values():  # warm: Numba's cache, the OS page cache
            _time(command)
        times: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for round_ in range(args.rounds):
            shift = round_ % len(names)  # (the order rotates: see benchmarks.before_after)
            for name in names[shift:] + names[:shift]:
                times[name].append(_time(commands[name]))
    reference = statistics.median(times["reference (import numpy, pandas)"])
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append({"case": name, "median_s": round(median, 3), "ratio": median / reference})
        print(f"{name:46s} {median:6.3f} s  {median / reference:5.2f}x reference")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(
        json.dumps(
            {
                "rounds": args.rounds,
                "before": args.before,
                "python": platform.python_version(),
                "machine": "shared, 2 cores: read the ratios",
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
