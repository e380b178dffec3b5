"""PGS Catalog scores by ID: ``prs.catalog.fetch("PGS000004", build="GRCh38")``.

The public import path users have (README, ``docs/catalog.md``). The code lives in the
weights stage's package :mod:`prs.weights.catalog` (config, transport, REST api, store,
download, fetch, curated); this module re-exports exactly its public names (its
``__all__``), so ``prs.catalog.fetch is prs.weights.catalog.fetch``.
"""

from __future__ import annotations

from prs.weights import catalog as _catalog
from prs.weights.catalog import *  # noqa: F403  (the public names, listed in its __all__)

__all__ = list(_catalog.__all__)
