"""Scoring: one pass over the genotypes for every score (:func:`score`), its result and totals.

``prs.scoring`` (not ``prs.score``, which is only the function) holds the pipeline
(:mod:`~prs.scoring.pipeline`), the result type (:mod:`~prs.scoring.result`), the running totals
(:mod:`~prs.scoring.totals`: threads and BLAS over the kernels), the work cut into tasks
(:mod:`~prs.scoring.tasks`: regions of rows x sample blocks, one pure function run here or on
a cluster), the Dask runner (:mod:`~prs.scoring.distributed`, imported only with a client)
and the warning bookkeeping (:mod:`~prs.scoring.recorded_warnings`).
"""

from prs.scoring.pipeline import MISSING_POLICIES, ScoreOptions, score
from prs.scoring.result import SCORE_COLUMNS, TRAIT_COLUMNS, ScoreResult
from prs.scoring.totals import ScoreTotals

__all__ = [
    "MISSING_POLICIES",
    "SCORE_COLUMNS",
    "TRAIT_COLUMNS",
    "ScoreOptions",
    "ScoreResult",
    "ScoreTotals",
    "score",
]
