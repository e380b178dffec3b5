"""``prs report``: one self-contained HTML page per run.

The page (inline CSS, figures embedded as SVG data URIs, no script, nothing fetched when it
is viewed) shows what a run's directory holds: the inputs and provenance; per score the
statement (what it is, for whom it is calibrated, its limits), every match outcome with
pgsc_calc's name beside prs's, the coverage, the distribution with the cohort's or the
person's position and its percentiles; the ancestry PCs when present; the categories and
pathway actions of ``prs categorise``; the metrics, ROC curve and calibration of ``prs
evaluate``. What was not found is listed at the end, never left out silently.

Examples
--------
>>> import contextlib, io, tempfile
>>> from prs.example import run_demo
>>> out = tempfile.mkdtemp()
>>> with contextlib.redirect_stdout(io.StringIO()):
...     _ = run_demo(out)
>>> write_report(out).name
'report.html'
"""

from __future__ import annotations

import os
from pathlib import Path

from prs.htmlreport.page import render
from prs.htmlreport.run import RunOutputs, read_run
from prs.output import atomic_write

__all__ = ["RunOutputs", "read_run", "render", "write_report"]

#: The report's file name in the run's directory when no ``out`` is given.
DEFAULT_NAME = "report.html"


def write_report(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    **files: str | os.PathLike[str] | None,
) -> Path:
    """Write the HTML report of the run in ``run_dir``.

    Parameters
    ----------
    run_dir
        The run's output directory (``prs score --out``, ``prs demo --out``).
    out
        The HTML file to write (default ``<run_dir>/report.html``); written atomically.
    **files
        Files outside ``run_dir`` (:func:`read_run`'s ``categories``, ``evaluation``,
        ``calibration_table``, ``pcs``, ``reference_pcs``, ``reference``).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ReportError
        ``run_dir`` holds none of a run's files, a file is unreadable, matplotlib is not
        installed, or ``out`` cannot be written.
    """
    run = read_run(run_dir, **files)
    page = render(run)
    path = Path(out) if out is not None else Path(run_dir) / DEFAULT_NAME
    with atomic_write(path, "w") as fh:
        fh.write(page)
    return path
