"""The weights stage: scoring files read and validated (:mod:`.scorefile`), loaded from a
path, a PGS ID or a :class:`ScoringFile` (:mod:`.load`), and fetched from the PGS Catalog
(:mod:`.catalog`, public as :mod:`prs.catalog`)."""

from prs.genome import canonical_build
from prs.weights.load import load_scorefile, load_scorefiles
from prs.weights.scorefile import (
    ScoringFile,
    TraitInfo,
    parse_header,
    read_header,
    read_scorefile,
)

__all__ = [
    "ScoringFile",
    "TraitInfo",
    "canonical_build",
    "load_scorefile",
    "load_scorefiles",
    "parse_header",
    "read_header",
    "read_scorefile",
]
