"""prs: polygenic risk scores from VCF genotypes and PGS Catalog weights.

The public API: ``prs.score(genotypes, scorefiles, **options) -> ScoreResult`` and the stage
functions it is built from (``open_genotypes``, ``read_scorefile``, ``match_variants``).
"""

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
from prs.genotypes import open_genotypes
from prs.match import MatchPlan, MatchReport, match_variants
from prs.samplesheet import (
    SampleSheetResult,
    read_samplesheet,
    score_samplesheet,
    write_samplesheet_outputs,
)
from prs.scoring import ScoreResult, score
from prs.weights import ScoringFile, read_scorefile

__all__ = [
    "CalibrationError",
    "CatalogError",
    "GenotypeFileError",
    "MatchError",
    "MatchPlan",
    "MatchReport",
    "PRSError",
    "ReportError",
    "SampleSheetResult",
    "ScoreError",
    "ScoreResult",
    "ScoringFile",
    "ScoringFileError",
    "__version__",
    "match_variants",
    "open_genotypes",
    "read_samplesheet",
    "read_scorefile",
    "score",
    "score_samplesheet",
    "write_samplesheet_outputs",
]
