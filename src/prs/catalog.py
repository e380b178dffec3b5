"""PGS Catalog scores by ID: ``prs.catalog.fetch("PGS000004", build="GRCh38")``.

A thin re-export of :mod:`prs.weights.catalog` (where the code and its documentation
live), so the names users expect from the issue work: ``prs.catalog.fetch``,
``prs.catalog.curated``, ``prs.catalog.resolve``.
"""

from __future__ import annotations

from prs.weights import catalog as _catalog
from prs.weights.catalog import *  # noqa: F403  (the public names, listed in its __all__)

__all__ = list(_catalog.__all__)
