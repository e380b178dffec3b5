"""Scoring files: PGS Catalog files and custom weight tables (see :mod:`.scorefile`)."""

from prs.weights.scorefile import ScoringFile, canonical_build, read_scorefile

__all__ = ["ScoringFile", "canonical_build", "read_scorefile"]
