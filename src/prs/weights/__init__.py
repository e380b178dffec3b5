"""Scoring files: PGS Catalog files and custom weight tables (see :mod:`.scorefile`)."""

from prs.genome import canonical_build
from prs.weights.scorefile import ScoringFile, TraitInfo, read_scorefile

__all__ = ["ScoringFile", "TraitInfo", "canonical_build", "read_scorefile"]
