"""Chromosome names: moved to :mod:`prs.genome` (this module re-exports them until every
importer has moved)."""

from __future__ import annotations

from prs.genome import (  # noqa: F401  (re-exported for the remaining importers)
    _CHROM_ALIASES as _ALIASES,
)
from prs.genome import (
    AUTOSOME,
    MAX_POSITION,
    MT,
    PAR,
    PAR_BOUNDS,
    X_NONPAR,
    Y,
    chromosome_class,
    is_sex_chrom_x,
    normalize_chrom,
)

__all__ = [
    "AUTOSOME",
    "MAX_POSITION",
    "MT",
    "PAR",
    "PAR_BOUNDS",
    "X_NONPAR",
    "Y",
    "chromosome_class",
    "is_sex_chrom_x",
    "normalize_chrom",
]
