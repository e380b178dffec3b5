"""The ``prs`` console script's entry point: :func:`prs.cli.console`, imported with Python's
garbage collector paused.

A module of its own, outside the ``prs`` package, because importing anything in ``prs``
first runs ``prs/__init__.py``, which imports pandas, pyarrow and numpy: ~0.4 million
objects, over which the collector made ~280 passes (one a full pass) while they were
created, ~0.09 s of a 0.45 s start (docs/performance.md, "Start-up"). Here the collector
is off while they are imported, then everything imported is frozen (:func:`gc.freeze`:
moved out of the collector's generations, never traversed again, as long-lived as the
modules that hold it) and the collector turned back on for the run, which is collected as
usual. A program that imports ``prs`` as a library is not touched: only this process, which
is the ``prs`` command alone, freezes what it imported.
"""

from __future__ import annotations

import gc
from typing import NoReturn


def console() -> NoReturn:
    """Import :mod:`prs.cli` with the collector paused, freeze what was imported, then run
    :func:`prs.cli.console` (which never returns)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        from prs.cli import console as run
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
    run()
