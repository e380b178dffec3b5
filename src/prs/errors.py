"""The error hierarchy: every failure the library reports is a :class:`PRSError`.

Each subclass belongs to one stage of the data flow. Messages say where (file, line or
chrom:pos), what was expected, what was found and, where it helps, how to fix it. The CLI
maps each class to a stable exit code (:data:`EXIT_CODES`).

Warnings are :class:`PRSWarning` subclasses, issued with :func:`warn`, which points them at
the caller's line (a notebook cell, a script), not at the library line that noticed.
"""

from __future__ import annotations

import sys
import warnings


class PRSError(Exception):
    """Root of every error raised by prs."""


class ScoringFileError(PRSError):
    """A scoring (weights) file is malformed or holds rows prs cannot score."""


class CatalogError(PRSError):
    """Fetching, verifying or caching a PGS Catalog file failed."""


class GenotypeFileError(PRSError):
    """A genotype file is malformed, truncated or inconsistent."""


class MatchError(PRSError):
    """Variants could not be matched well enough to score (low match rate, build mismatch)."""


class ScoreError(PRSError):
    """Scoring could not proceed (bad options, inconsistent inputs)."""


class CalibrationError(PRSError):
    """A reference, rate table, category scheme or cohort cannot be used as asked."""


class ReportError(PRSError):
    """An output could not be written."""


class PRSWarning(UserWarning):
    """Root of every warning prs issues: something doubtful that was handled and recorded
    (a fallback taken, rows excluded, an input read another way). ``--strict`` turns these
    into errors (exit code 2)."""


class GenotypeWarning(PRSWarning):
    """A genotype file or its index is doubtful but could still be read exactly."""


class ScoringFileWarning(PRSWarning):
    """A scoring file holds something doubtful that was handled (and counted)."""


class ScoreWarning(PRSWarning):
    """Scoring went ahead with a fallback or exclusion worth knowing about."""


class CalibrationWarning(PRSWarning):
    """A calibration input or result is doubtful (e.g. a small or self-referential reference)."""


#: Stable exit codes of the ``prs`` command line, one per error class (documented in README).
EXIT_CODES: dict[type[PRSError], int] = {
    ScoringFileError: 3,
    GenotypeFileError: 4,
    MatchError: 5,
    ScoreError: 6,
    CatalogError: 7,
    CalibrationError: 8,
    ReportError: 9,
    PRSError: 2,
}


def _in_prs(frame: object) -> bool:
    name = getattr(frame, "f_globals", {}).get("__name__", "")
    return name == "prs" or name.startswith("prs.")


def warn(message: str, category: type[Warning] = PRSWarning) -> None:
    """Issue ``message`` as a ``category`` warning attributed to the user's frame: the one
    that called into prs (the first frame past the outermost prs frame on the stack).

    ``warnings.warn(..., stacklevel=N)`` needs each call site to know how deep it is, which
    changes as code moves, and Python 3.11 has no ``skip_file_prefixes``. Frames of other
    libraries between prs frames (a pandas ``apply`` calling back into prs) are walked
    through; with no frame outside prs (prs's own command line), the outermost prs frame
    is named.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("12 rows skipped", ScoreWarning)
    >>> caught[0].category.__name__, str(caught[0].message)
    ('ScoreWarning', '12 rows skipped')
    """
    frame = sys._getframe(1)
    depth, outermost = 1, 1  # depth 1: warn's caller (stacklevel 2)
    while frame is not None:
        if _in_prs(frame):
            outermost = depth
        frame = frame.f_back  # type: ignore[assignment]
        depth += 1
    # stacklevel 1 is this function; the frame past the outermost prs frame is depth + 1.
    level = outermost + 2 if outermost + 1 < depth else outermost + 1
    warnings.warn(message, category, stacklevel=level)


def exit_code_for(error: PRSError) -> int:
    """Return the CLI exit code for ``error`` (the most specific class wins)."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 2


class RsidMatchWarning(ScoreWarning):
    """Scoring rows without positions were matched to target variants by rsID (the
    target's variant IDs): an rsID carries no genome build, so nothing checks that the
    scoring file and the genotypes agree on the build; alleles are still checked."""


class LiftoverWarning(ScoreWarning):
    """Scoring-file positions were lifted to another genome build (some rows may not lift)."""


class ReferencePanelError(CalibrationError):
    """An ancestry reference panel or pack cannot be built, read or used (the message names
    the file); raised by :mod:`prs.ancestry` and :mod:`prs.scoring.reference_freq`."""
