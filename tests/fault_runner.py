"""Run ``prs`` command lines in processes forked from a warm server (tests/test_faults.py).

A fresh ``python -m prs.cli`` costs ~1.5 s of imports and compiled-kernel loading before it
reaches its write phase; the fault tests kill a dozen runs. So they run ``prs.cli.main`` in
processes forked from a multiprocessing forkserver that imported this module once:
importing it loads prs and scores the embedded example (Numba kernels loaded from cache),
and the forkserver is single-threaded when it forks. Each child is a real process with
prs's own signal handling, killed by real signals.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import warnings

import prs.cli
import prs.cli.score  # (the command's module, loaded once)
from prs.example import example_paths
from prs.scoring import score


def run_prs(args: list[str], env: dict[str, str], stderr_path: str) -> None:
    """Child: ``prs <args>`` with ``env`` added and stderr into ``stderr_path``."""
    os.environ.update(env)
    fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a fresh interpreter
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    code = prs.cli.main(args)
    sys.stderr.flush()
    sys.exit(code)


def context() -> multiprocessing.context.BaseContext:
    """The forkserver context, preloading this module (when no server runs yet)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def _warm_up() -> None:
    paths = example_paths()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score(paths.vcf, paths.scorefile)


_warm_up()
