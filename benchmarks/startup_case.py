"""The fixed cost of a ``prs`` process, against ``python -c "import numpy, pandas"``, in one run.

Usage::

    python -m benchmarks.startup_case              # 7 alternating rounds, medians
    python -m benchmarks.startup_case --rounds 15

Each round runs, in fresh processes and in turn: the reference (``python -c "import numpy,
pandas"``), ``prs --help``, ``python -c "import prs"`` and ``prs score`` on the embedded
example (200 samples, 300-row scoring file; Numba's cache warm: one untimed run first). The
medians and each one's ratio to the reference go to stdout and to
``benchmarks/results/startup.json``. Issue 15's target: the example end to end <= 2x the
reference. The machine these figures come from is shared (2 cores, up to 8 sessions at
once): only the ratios, taken from alternating runs in one invocation, mean anything.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _commands(out: Path) -> dict[str, list[str]]:
    from prs.example import example_paths

    paths = example_paths()
    python = sys.executable
    prs = [python, "-m", "prs"]
    return {
        "reference (import numpy, pandas)": [python, "-c", "import numpy, pandas"],
        "import prs": [python, "-c", "import prs"],
        "prs --help": [*prs, "--help"],
        "prs score (embedded example)": [
            *prs,
            "score",
            "--genotypes",
            str(paths.vcf),
            "--scorefile",
            str(paths.scorefile),
            "--out",
            str(out),
        ],
    }


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="prs-startup-") as tmp:
        commands = _commands(Path(tmp) / "out")
        for command in commands.values():  # warm: Numba's cache, the OS page cache
            _time(command)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                times[name].append(_time(command))
    reference = statistics.median(times["reference (import numpy, pandas)"])
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append({"case": name, "median_s": round(median, 3), "ratio": median / reference})
        print(f"{name:36s} {median:6.3f} s  {median / reference:5.2f}x reference")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(
        json.dumps(
            {
                "rounds": args.rounds,
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
