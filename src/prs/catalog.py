"""PGS Catalog scores by ID: ``prs.catalog.fetch("PGS000004", build="GRCh38")``.

A thin re-export of :mod:`prs.weights.catalog` (where the code and its documentation
live), so the names users expect from the issue work: ``prs.catalog.fetch``,
``prs.catalog.curated``, ``prs.catalog.resolve``.
"""

from __future__ import annotations

from prs.weights.catalog import (
    BUILDS,
    CURATED_COLUMNS,
    DEFAULT_API_URL,
    DEFAULT_FTP_URL,
    CatalogConfig,
    FetchResult,
    ScoreInfo,
    cached,
    curated,
    curated_ids,
    default_cache_dir,
    expand,
    fetch,
    fetch_all,
    is_accession,
    resolve,
    score_info,
)

__all__ = [
    "BUILDS",
    "CURATED_COLUMNS",
    "DEFAULT_API_URL",
    "DEFAULT_FTP_URL",
    "CatalogConfig",
    "FetchResult",
    "ScoreInfo",
    "cached",
    "curated",
    "curated_ids",
    "default_cache_dir",
    "expand",
    "fetch",
    "fetch_all",
    "is_accession",
    "resolve",
    "score_info",
]
