"""prs: polygenic risk scores from VCF genotypes and PGS Catalog weights."""

from prs._version import __version__
from prs.errors import (
    CalibrationError,
    CatalogError,
    GenotypeFileError,
    MatchError,
    PRSError,
    ReportError,
    ScoreError,
    ScoringFileError,
)

__all__ = [
    "CalibrationError",
    "CatalogError",
    "GenotypeFileError",
    "MatchError",
    "PRSError",
    "ReportError",
    "ScoreError",
    "ScoringFileError",
    "__version__",
]
