"""Another tree's prs against this one in one alternating run, PLINK 2 and the floors beside.

Usage::

    git worktree add /tmp/before <commit>
    python -m benchmarks.before_after --before /tmp/before/src            # every case
    python -m benchmarks.before_after --before /tmp/before/src --rounds 3 example

Cases: ``imputed DS`` (the issue-15 Minimac4 file of ``benchmarks.imputed_case``), ``dense GT``
and ``pgen hard calls`` (``benchmarks.run``'s full datasets) and ``example`` (the embedded
example against ``python -c "import numpy, pandas"``). The datasets must exist (run those
benchmarks once; they are cached under ``$PRS_BENCH_DATA``). Each round runs every command
once, in turn (the order rotating round by round), in a fresh process under
``/usr/bin/time`` (one warm-up round first: Numba's caches of both trees, the page cache);
both trees are run through ``PYTHONPATH`` and
byte-compiled first. The table gives medians of wall time and peak memory, and the ratios of
each tree to PLINK 2 (or to the import reference) from the same rounds; speed is never
asserted anywhere, it is measured here.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate import default_data_dir
from benchmarks.run import plink_command

#: Each tree's ``prs`` as its console script runs it, the tree being the first PYTHONPATH
#: entry (or, without one, the installed package): ``_prs_console.console`` where the tree
#: has it (imports with the garbage collector paused), else ``prs.cli.console`` (the exit
#: without the interpreter's teardown), else ``prs.cli.main``.
CLI = (
    "import os, sys\n"
    "src = os.environ.get('PYTHONPATH', '').split(os.pathsep)[0]\n"
    "try:\n"
    "    if src and not os.path.exists(os.path.join(src, '_prs_console.py')):\n"
    "        raise ImportError\n"
    "    import _prs_console as c\n"
    "except ImportError:\n"
    "    import prs.cli as c\n"
    "c.console() if hasattr(c, 'console') else sys.exit(c.main(sys.argv[1:]))\n"
)
CASES = ("imputed DS", "dense GT", "pgen hard calls", "example")


def commands(
    before: str, after: str, cases: list[str], work: Path
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Every command of the run, by label, with the environment it adds."""
    from prs.example import example_paths

    full = default_data_dir("full")
    imputed = default_data_dir("imputed") / "minimac-4000x12000-v1"
    example = example_paths()
    known = {
        "imputed DS": (
            [
                *("--genotypes", f"{imputed}.vcf.gz", "--scorefile", f"{imputed}.prs.txt"),
                *("--dosage", "DS"),
            ],
            plink_command(
                Path(f"{imputed}.vcf.gz"), Path(f"{imputed}.plink.tsv"), work / "p", "DS", 1
            ),
            f"{imputed}.vcf.gz",
        ),
        "dense GT": (
            ["--genotypes", f"{full}/gt.vcf.gz", "--scorefile", f"{full}/dense.prs.txt"],
            plink_command(full / "gt.vcf.gz", full / "dense.plink.tsv", work / "p", "GT", 1),
            f"{full}/gt.vcf.gz",
        ),
        "pgen hard calls": (
            ["--genotypes", f"{full}/target.pgen", "--scorefile", f"{full}/plink-target.prs.txt"],
            plink_command(
                full / "target.pgen", full / "plink-target.plink.tsv", work / "p", "GT", 1
            ),
            None,
        ),
        "example": (
            ["--genotypes", str(example.vcf), "--scorefile", str(example.scorefile)],
            None,
            None,
        ),
    }
    out: dict[str, tuple[list[str], dict[str, str]]] = {}
    for name in cases:
        args, plink, floor = known[name]
        for label, src in (("before", before), ("after", after)):
            cmd = [sys.executable, "-c", CLI, "score", *args, "--out", str(work / label), "-q"]
            out[f"{name}: prs {label}"] = (cmd, {"PYTHONPATH": src})
        if plink is not None:
            out[f"{name}: PLINK 2"] = ([str(x) for x in plink], {})
        if floor is not None:
            out[f"{name}: floor (bgzip -dc)"] = (
                ["bash", "-c", f"bgzip -dc {floor} > /dev/null"],
                {},
            )
    if "example" in cases:
        out["example: import numpy, pandas"] = ([sys.executable, "-c", "import numpy, pandas"], {})
    return out


def timed(cmd: list[str], env: dict[str, str], work: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    for name in ("before", "after", "p"):
        shutil.rmtree(work / name, ignore_errors=True)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", report.name, *cmd],
            check=True,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        return wall, float(report.read().split()[-1]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, metavar="SRC", help="the other tree's src")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("cases", nargs="*", help=f"any of {', '.join(CASES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r} (cases: {', '.join(CASES)})")
    after = str(Path(__file__).resolve().parent.parent / "src")
    for src in (args.before, after):
        compileall.compile_dir(src, quiet=1)
    with tempfile.TemporaryDirectory(prefix="prs-ab-") as tmp:
        work = Path(tmp)
        cmds = commands(args.before, after, args.cases or list(CASES), work)
        for cmd, env in cmds.values():
            timed(cmd, env, work)  # warm-up round
        load = os.getloadavg()
        wall: dict[str, list[float]] = {k: [] for k in cmds}
        peak: dict[str, list[float]] = {k: [] for k in cmds}
        labels = list(cmds)
        for round_ in range(args.rounds):
            # The order rotates each round: no command always runs right after the same one
            # (what the run before freed costs the next one to touch again on this VM:
            # benchmarks.run.best_interleaved)
            shift = round_ % len(labels)
            for label in labels[shift:] + labels[:shift]:
                cmd, env = cmds[label]
                seconds, megabytes = timed(cmd, env, work)
                wall[label].append(seconds)
                peak[label].append(megabytes)
    med = {k: statistics.median(v) for k, v in wall.items()}
    mem = {k: statistics.median(v) for k, v in peak.items()}
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.rounds} rounds, "
        f"alternating; load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
        f"before = {args.before}"
    )
    print("| command | wall s (median) | min-max | peak MB |\n|---|---|---|---|")
    for k in cmds:
        print(f"| {k} | {med[k]:.3f} | {min(wall[k]):.2f}-{max(wall[k]):.2f} | {mem[k]:.0f} |")
    for name in args.cases or CASES:
        if f"{name}: PLINK 2" in med:
            p, pm = med[f"{name}: PLINK 2"], mem[f"{name}: PLINK 2"]
            b, a = med[f"{name}: prs before"], med[f"{name}: prs after"]
            bm, am = mem[f"{name}: prs before"], mem[f"{name}: prs after"]
            print(
                f"{name}: before {b / p:.2f}x PLINK 2, after {a / p:.2f}x; memory before "
                f"{bm / pm:.2f}x, after {am / pm:.2f}x"
            )
    if "example: import numpy, pandas" in med:
        ref = med["example: import numpy, pandas"]
        print(
            f"example: before {med['example: prs before'] / ref:.2f}x `import numpy, pandas`, "
            f"after {med['example: prs after'] / ref:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
