"""The ``prs`` command line: a thin shell over the public API.

Each command lives in the module of its stage and registers itself through a
``register(subparsers)`` function; its handler takes the parsed arguments and returns an
exit code. Errors map to stable exit codes (:data:`prs.errors.EXIT_CODES`): the CLI prints
one line ``prs: error: <message>`` and exits with that code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Sequence

from prs._version import __version__
from prs.errors import PRSError, exit_code_for

#: Modules that contribute commands, in the order shown by ``prs --help``.
COMMAND_MODULES = (
    "prs.score_cli",
    "prs.weights.catalog_cli",
    "prs.calibrate.cli",
)


#: Which module registers each command, so a run imports only the module it needs
#: (calibration pulls in statsmodels and scipy.stats: seconds a scoring run need not pay).
COMMAND_OWNERS = {
    "score": "prs.score_cli",
    "demo": "prs.score_cli",
    "fetch": "prs.weights.catalog_cli",
    "calibrate": "prs.calibrate.cli",
    "categorise": "prs.calibrate.cli",
    "categorize": "prs.calibrate.cli",
    "evaluate": "prs.calibrate.cli",
}


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Return the ``prs`` argument parser with the commands of ``modules`` (default: all)."""
    parser = argparse.ArgumentParser(
        prog="prs",
        description="Polygenic risk scores: score, calibrate, categorise.",
    )
    parser.add_argument("--version", action="version", version=f"prs {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument(
        "--strict", action="store_true", help="turn warnings into errors (exit code 2)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in modules or COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings on the command line: one line each, no source location."""
    print(f"prs: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``prs`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    owner = COMMAND_OWNERS.get(command or "")
    parser = build_parser([owner] if owner in COMMAND_MODULES else None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose > 1
        else logging.INFO
        if args.verbose
        else logging.WARNING,
        format="prs: %(message)s",
    )
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        if args.strict:
            warnings.simplefilter("error")
        try:
            return int(args.handler(args) or 0)
        except PRSError as exc:
            print(f"prs: error: {exc}", file=sys.stderr)
            return exit_code_for(exc)
        except Warning as exc:  # raised only under --strict
            print(f"prs: error (--strict): {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
