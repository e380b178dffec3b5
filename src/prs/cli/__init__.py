"""The ``prs`` command line: a thin shell over the public API.

One table (:data:`COMMANDS`) names the module of each command; the module registers it through
a ``register(subparsers)`` function; its handler takes the parsed arguments and returns an
exit code. Errors map to stable exit codes (:data:`prs.errors.EXIT_CODES`): the CLI prints
one line ``prs: error: <message>`` and exits with that code.

Logging and progress: every command takes ``-v``/``--verbose``, ``-q``/``--quiet`` and
``--strict`` before or after its name (``prs -v score ...`` = ``prs score -v ...``; counts
add up). ``-v`` logs one line per stage with its time (``prs: write: 0.04 s (4 files into
out)``), ``-vv`` debug lines too; ``-q`` prints errors only (no bars, summaries or warnings'
lines; warnings stay recorded in provenance.json, and ``--strict`` still fails on them).
Progress bars (tqdm, on stderr) are drawn only when stderr is a terminal and ``-q`` is not
given: output piped or redirected to a log file has none.

Interrupts: SIGINT (Ctrl-C) and SIGTERM end a run with one line ``prs: interrupted`` and
exit code 130 or 143 (128 + the signal's number, as a shell reports a killed command);
outputs being staged are discarded (:func:`prs.output.output_set`), so nothing partial is
left behind.

Warnings: prs's own (:class:`~prs.errors.PRSWarning` and its subclasses, the only category
prs raises) are shown as one line ``prs: warning: <message>`` and are errors under
``--strict``. Warnings of the libraries underneath (numpy's floating-point ``RuntimeWarning``,
a library's ``UserWarning``, Deprecation- and FutureWarnings) are not messages for users: prs
handles the values they flag (non-finite inputs and results are refused where they enter), so
they are logged at debug level (``-vv``) with the command's name, and ``--strict`` leaves them
alone.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from prs._version import __version__
from prs.errors import PRSError, PRSWarning, exit_code_for

#: Each command and the module that registers it, in the order shown by ``prs --help``. A run
#: imports only its command's module (calibration pulls in statsmodels and scipy.stats: seconds
#: a scoring run need not pay).
COMMANDS = {
    "score": "prs.cli.score",
    "demo": "prs.cli.score",
    "fetch": "prs.cli.fetch",
    "calibrate": "prs.cli.calibrate",
    "categorise": "prs.cli.calibrate",
    "categorize": "prs.cli.calibrate",
    "evaluate": "prs.cli.calibrate",
    "reference": "prs.cli.reference",
    "report": "prs.cli.report",
}


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Return the ``prs`` argument parser with the commands of ``modules`` (default: all)."""
    parser = argparse.ArgumentParser(
        prog="prs",
        description="Polygenic risk scores: score, calibrate, categorise.",
    )
    parser.add_argument("--version", action="version", version=f"prs {__version__}")
    _add_common_options(parser, "")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in modules or dict.fromkeys(COMMANDS.values()):
        importlib.import_module(name).register(subparsers)
    # Every command takes them too, before or after its name (`prs -v score ...` and
    # `prs score -v ...`); the counts add up (`prs -v score -v` is -vv).
    for command_parser in dict.fromkeys(subparsers.choices.values()):
        _add_common_options(command_parser, _SUB)
    return parser


#: The options every command takes (before or after its name).
_COMMON_OPTIONS = ("-v", "--verbose", "-q", "--quiet", "--strict")


#: Prefix of the destinations of the common options given after the command's name.
_SUB = "command_"


def _add_common_options(parser: argparse.ArgumentParser, prefix: str) -> None:
    """``-v``, ``-q`` and ``--strict`` (stored as ``<prefix>verbose`` etc.); a command that
    defines any of them itself keeps its own (none does: a guard, not a feature)."""
    if any(flag in parser._option_string_actions for flag in _COMMON_OPTIONS):
        return
    group = parser.add_argument_group("logging and warnings (before or after the command)")
    group.add_argument(
        "-v",
        "--verbose",
        dest=f"{prefix}verbose",
        action="count",
        default=0,
        help="more logging: -v one line per stage with its time, -vv debug",
    )
    group.add_argument(
        "-q",
        "--quiet",
        dest=f"{prefix}quiet",
        action="store_true",
        help="errors only: no progress bar, no summary lines, no warnings' lines (they are "
        "still recorded in provenance.json)",
    )
    group.add_argument(
        "--strict",
        dest=f"{prefix}strict",
        action="store_true",
        help="turn warnings into errors (exit code 2)",
    )


def _merge_common_options(args: argparse.Namespace) -> argparse.Namespace:
    """One ``verbose``/``quiet``/``strict`` from the options given before and after the
    command's name; ``-q`` wins over ``-v`` (as with PLINK 2's --silent)."""
    args.verbose = args.verbose + getattr(args, f"{_SUB}verbose", 0)
    args.quiet = args.quiet or getattr(args, f"{_SUB}quiet", False)
    args.strict = args.strict or getattr(args, f"{_SUB}strict", False)
    for name in ("verbose", "quiet", "strict"):
        if hasattr(args, _SUB + name):
            delattr(args, _SUB + name)
    if args.quiet:
        args.verbose = 0
    return args


def log_level(args: argparse.Namespace) -> int:
    """The logging level ``-v``/``-q`` ask for: ERROR (-q), WARNING, INFO (-v), DEBUG (-vv)."""
    if getattr(args, "quiet", False):
        return logging.ERROR
    verbose = getattr(args, "verbose", 0)
    return logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING


def show_progress(args: argparse.Namespace) -> bool:
    """Whether a run draws progress bars: stderr is a terminal and ``-q`` was not given
    (output piped or redirected to a file gets none)."""
    return not getattr(args, "quiet", False) and sys.stderr is not None and sys.stderr.isatty()


class Stages:
    """The named stages of a command: each logged as ``<stage>: <seconds> s`` at INFO (shown
    with ``-v``) when it ends, and on a terminal (not ``-q``) a bar of stages done.

    Examples
    --------
    >>> import argparse
    >>> with Stages(argparse.Namespace(quiet=True), ["read", "write"]) as stage:
    ...     with stage("read") as step:
    ...         step.detail = "3 rows"
    ...     with stage("write"):
    ...         pass
    """

    def __init__(self, args: argparse.Namespace, names: Sequence[str]) -> None:
        self._bar: Any = None
        if show_progress(args) and len(names) > 1:
            from tqdm import tqdm

            self._bar = tqdm(total=len(names), unit="stage", file=sys.stderr, leave=False)

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @contextmanager
    def __call__(self, name: str) -> Iterator[StageStep]:
        """Time the block as stage ``name`` (set ``.detail`` on what it yields to add a
        note to its log line)."""
        step = StageStep(name)
        if self._bar is not None:
            self._bar.set_description(name)
        started = time.perf_counter()
        yield step
        elapsed = time.perf_counter() - started
        log.info("%s: %.2f s%s", name, elapsed, f" ({step.detail})" if step.detail else "")
        if self._bar is not None:
            self._bar.update(1)


class StageStep:
    """One stage being timed by :class:`Stages`: its name and a note for its log line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.detail = ""


def add_transfer_limits(
    parser: argparse.ArgumentParser,
    *,
    defaults: bool = True,
    what: str = "PGS Catalog downloads",
) -> None:
    """``--timeout``, ``--retries``, ``--backoff`` of ``what`` (``prs fetch``, ``prs score``
    for scores given by ID, ``prs reference fetch``). Without ``defaults`` they are None when
    not given, so the catalog's own defaults and environment apply."""
    for flag, kind, value, text in (
        ("--timeout", float, 30.0, "seconds per connection/read"),
        ("--retries", int, 3, "retries after a transient network failure"),
        ("--backoff", float, 1.0, "seconds before the first retry"),
    ):
        parser.add_argument(
            flag,
            type=kind,
            default=value if defaults else None,
            help=f"{what}: {text} ({value:g})",
        )


def add_report_option(parser: argparse.ArgumentParser, default: str) -> None:
    """``--report [FILE]``: write the run's HTML report (:mod:`prs.htmlreport`) after it,
    to FILE or ``default`` (told in the help); see :func:`write_run_report`."""
    parser.add_argument(
        "--report",
        nargs="?",
        const="",
        metavar="FILE",
        help="also write the run's self-contained HTML report (as prs report) to FILE "
        f"(default {default}; needs matplotlib, the plot extra)",
    )


def write_run_report(
    args: argparse.Namespace,
    run_dir: str | os.PathLike[str],
    default: str | os.PathLike[str] | None = None,
    **files: str | os.PathLike[str] | None,
) -> None:
    """After a run given ``--report [FILE]`` (:func:`add_report_option`): its HTML report
    of ``run_dir`` (and ``files``, as :func:`prs.htmlreport.write_report` takes them) to
    FILE or ``default``; the path printed unless ``-q``. Nothing without ``--report``."""
    if getattr(args, "report", None) is None:
        return
    from prs.htmlreport import write_report

    path = write_report(run_dir, args.report or default, **files)
    if not getattr(args, "quiet", False):
        print(f"wrote {path}", file=sys.stderr)


#: Exit codes of a run ended by a signal: 128 + the signal's number, as shells report.
EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}

log = logging.getLogger("prs.cli")


class Interrupted(BaseException):
    """Raised in the main thread when the process receives SIGTERM (SIGINT raises
    KeyboardInterrupt): a BaseException, so only clean-up code sees it on its way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _is_users_warning(category: type[Warning]) -> bool:
    """Whether a warning is a message for users (prs's own) rather than a library's."""
    return issubclass(category, PRSWarning)


def _warning_printer(command: str | None, *, quiet: bool = False) -> Any:
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        """Warnings on the command line: one line each, no source location (none with
        ``-q``); a library's warnings only in the debug log."""
        if _is_users_warning(category):
            if not quiet:
                print(f"prs: warning: {message}", file=sys.stderr)
        else:
            log.debug(
                "prs %s: %s from %s:%s (a library's warning, not shown): %s",
                command,
                category.__name__,
                filename,
                lineno,
                message,
            )

    return show


@contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """SIGTERM raises :class:`Interrupted` while inside (main thread only), so outputs
    being staged are discarded on the way out as for Ctrl-C."""

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    try:
        saved = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals to the host
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if saved is None else saved)


def console() -> NoReturn:
    """The ``prs`` console script (and ``python -m prs``): :func:`main`, then an exit that
    skips the interpreter's teardown.

    Everything a run leaves is done by then: its files are written, closed and published
    by :func:`main`; here, as Python itself does at exit, the threads still running are
    waited for and the ``atexit`` handlers run (thread pools joined, temporary directories
    removed, logging flushed), then the standard streams are flushed. What is
    skipped is freeing every module and object one by one, which took 0.15-0.4 s after a
    ``prs score`` that had loaded Numba, pandas and pyarrow (more on a busy machine), ~10%
    of a 2-second run (docs/performance.md, "Start-up").
    """
    from prs.kernels.jit import lean_start

    lean_start()  # (this process is prs alone)
    code = main()
    # Python's own order at exit: wait for non-daemon threads (and the thread pools' exit
    # hooks), then the atexit handlers; each runs even if the one before is interrupted.
    try:
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
    except BaseException:  # (Ctrl-C while waiting: the handlers still run, as in Python)
        code = code or EXIT_INTERRUPTED[signal.SIGINT]
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            if stream is None:  # (closed when the process started: `prs ... >&-`)
                continue
            try:
                stream.flush()
            except Exception:  # a closed pipe (`prs ... | head`): as Python would
                code = code or 120
        os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``prs`` command line on ``argv`` (default ``sys.argv[1:]``); return the
    exit code (the console script is :func:`console`)."""
    with _terminate_as_exception():
        try:
            return _run(list(sys.argv[1:] if argv is None else argv))
        except KeyboardInterrupt:
            print("prs: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED[signal.SIGINT]
        except Interrupted as exc:
            print("prs: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED.get(exc.signum, 128 + exc.signum)


def _run(argv: list[str]) -> int:
    """Parse ``argv`` and run its command; errors become one line and an exit code."""
    command = next((a for a in argv if not a.startswith("-")), None)
    owner = COMMANDS.get(command or "")
    parser = build_parser([owner] if owner else None)
    args = _merge_common_options(parser.parse_args(argv))
    logging.basicConfig(format="prs: %(message)s")
    # (on prs's logger: a host that configured logging first, a test runner, keeps its own)
    logging.getLogger("prs").setLevel(log_level(args))
    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer(args.command, quiet=args.quiet)
        if args.strict:
            warnings.simplefilter("error", PRSWarning)
        try:
            return int(args.handler(args) or 0)
        except PRSError as exc:
            print(f"prs: error: {exc}", file=sys.stderr)
            return exit_code_for(exc)
        except PRSWarning as exc:  # raised only under --strict
            print(f"prs: error (--strict): {exc}", file=sys.stderr)
            return 2
