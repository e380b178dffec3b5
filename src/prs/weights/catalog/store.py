"""The cache layout: ``<cache>/pgs/<PGS ID>/<build or "author">/<md5>/<file name>``, the
score metadata beside it, and lookups of verified files."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Unpack

from prs.weights.catalog.accessions import _normalise_build, _normalise_pgs, _relative_path
from prs.weights.catalog.config import CatalogConfig, CatalogOptions, config_from

logger = logging.getLogger(__name__)


_MD5 = re.compile(r"[0-9a-fA-F]{32}")


def _score_json_path(config: CatalogConfig, pgs_id: str) -> Path:
    return config.cache_dir / "pgs" / pgs_id / "score.json"


def _write_json_atomic(path: Path, data: Any) -> None:
    from prs.output import atomic_write

    try:
        with atomic_write(path) as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
    except Exception as exc:  # cache metadata is an optimisation: never fail a fetch on it
        logger.debug("could not cache %s: %s", path, exc)


def _entry_dir(config: CatalogConfig, pgs_id: str, build: str | None) -> Path:
    return config.cache_dir / "pgs" / pgs_id / (build or "author")


def _file_name(pgs_id: str, build: str | None) -> str:
    return Path(_relative_path(pgs_id, build)).name


def cached(
    pgs_id: str,
    *,
    build: str | None = None,
    config: CatalogConfig | None = None,
    **options: Unpack[CatalogOptions],
) -> Path | None:
    """Return the newest verified cached file for (score, build), or None.

    Parameters
    ----------
    pgs_id
        A PGS ID.
    build
        ``GRCh37``/``GRCh38`` for the harmonized file, None for the author-reported file.
    config, **options
        The cache root: ``cache_dir=`` (default ``$PRS_CACHE_DIR`` or the platform's
        user cache directory), or a :class:`CatalogConfig`.

    Examples
    --------
    >>> import tempfile
    >>> cached("PGS000004", build="GRCh38", cache_dir=tempfile.mkdtemp()) is None
    True
    """
    return _cached(
        config_from(config, options), _normalise_pgs(pgs_id), _normalise_build(build), md5=None
    )


def _cached(config: CatalogConfig, pgs_id: str, build: str | None, md5: str | None) -> Path | None:
    entry = _entry_dir(config, pgs_id, build)
    name = _file_name(pgs_id, build)
    if md5 is not None:
        candidate = entry / md5.lower() / name
        return candidate if candidate.is_file() else None
    candidates = [p for p in entry.glob(f"*/{name}") if _MD5.fullmatch(p.parent.name)]
    if not candidates:
        return None
    return max(candidates, key=lambda p: p.stat().st_mtime)
