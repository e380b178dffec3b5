"""``prs report``: the HTML report of a run's output directory (:mod:`prs.htmlreport`).

Examples::

    prs report demo-output                       # writes demo-output/report.html
    prs report results/ --out results.html --evaluation eval/metrics.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``report`` command to the ``prs`` command line."""
    parser = subparsers.add_parser(
        "report",
        help="one self-contained HTML report of a run (match summary, distributions, "
        "ancestry, categories, calibration)",
        description=(
            "Write one self-contained HTML file (figures embedded, nothing fetched when it is "
            "viewed) from what prs score, categorise and evaluate wrote into RUN_DIR. Tables "
            "are found by name or by their header; files elsewhere can be named."
        ),
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run's output directory")
    parser.add_argument("--out", type=Path, help="HTML file to write (default RUN_DIR/report.html)")
    parser.add_argument("--categories", type=Path, help="prs categorise's table (--out)")
    parser.add_argument("--evaluation", type=Path, help="prs evaluate's metrics JSON (--out)")
    parser.add_argument(
        "--calibration-table", type=Path, help="prs evaluate's calibration table (--table)"
    )
    parser.add_argument("--pcs", type=Path, help="the samples' PCs (prs reference project)")
    parser.add_argument(
        "--reference-pcs", type=Path, help="the reference panel's PCs with a population column"
    )
    parser.add_argument("--reference", type=Path, help="prs calibrate's reference JSON")
    parser.set_defaults(handler=run_report)
    return parser


def run_report(args: argparse.Namespace) -> int:
    """Handler of ``prs report``: writes the page, prints its path."""
    from prs.htmlreport import write_report

    path = write_report(
        args.run_dir,
        args.out,
        categories=args.categories,
        evaluation=args.evaluation,
        calibration_table=args.calibration_table,
        pcs=args.pcs,
        reference_pcs=args.reference_pcs,
        reference=args.reference,
    )
    if not getattr(args, "quiet", False):  # -q: errors only
        print(f"wrote {path}", file=sys.stdout)
    return 0
