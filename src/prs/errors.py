"""The error hierarchy: every failure the library reports is a :class:`PRSError`.

Each subclass belongs to one stage of the data flow. Messages say where (file, line or
chrom:pos), what was expected, what was found and, where it helps, how to fix it. The CLI
maps each class to a stable exit code (:data:`EXIT_CODES`).
"""

from __future__ import annotations


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
