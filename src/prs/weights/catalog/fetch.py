"""Fetch orchestration: choose where each file comes from (mirror, API URL, FTP layout),
serve it from the cache or download it; :func:`fetch_all`, :func:`fetch`, :func:`resolve`."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import replace as _replace
from pathlib import Path
from typing import Unpack

from prs.errors import CatalogError
from prs.weights.catalog.accessions import (
    _normalise_build,
    _normalise_pgs,
    _relative_path,
    is_accession,
)
from prs.weights.catalog.api import _expand, _score_info
from prs.weights.catalog.config import DEFAULT_FTP_URL, CatalogConfig, CatalogOptions, config_from
from prs.weights.catalog.download import _download_verified, _published_md5
from prs.weights.catalog.store import _cached
from prs.weights.catalog.transport import (
    NotHarmonizedError,
    _is_remote,
    _join,
    _local_path,
    _UnknownScore,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchResult:
    """One fetched scoring file.

    Attributes
    ----------
    pgs_id
        The score.
    build
        ``GRCh37``/``GRCh38`` for a harmonized file, None for the author-reported file.
    path
        The verified file in the cache.
    md5
        Its MD5 (hex), as published by the Catalog (or computed, with ``verify=False``).
    source
        URL or path it came from; ``"cache"`` when served from the cache without a check.
    from_cache
        True when no download was needed.
    """

    pgs_id: str
    build: str | None
    path: Path
    md5: str
    source: str
    from_cache: bool


def _local_mirror(config: CatalogConfig) -> Path | None:
    """The mirror as a local directory, or None (no mirror, or a URL mirror)."""
    mirror = config.mirror
    if not mirror or _is_remote(mirror):
        return None
    return _local_path(mirror).expanduser()


def _locate(pgs_id: str, build: str | None, config: CatalogConfig) -> str:
    """Where to download the file from: the mirror, the API's URL, or the FTP layout."""
    relative = _relative_path(pgs_id, build)
    root = _local_mirror(config)
    if root is not None:
        if not (root / "scores").is_dir():
            raise CatalogError(
                f"mirror {root}: expected a directory laid out like the PGS Catalog FTP "
                f"tree (with scores/{pgs_id}/ScoringFiles/...), found no 'scores' folder"
            )
        return str(root / relative)
    if config.mirror:
        return _join(config.mirror, relative)
    if config.ftp_url != DEFAULT_FTP_URL:
        # An explicit FTP root (an internal copy, a test server) wins over the API's URLs.
        return _join(config.ftp_url, relative)
    try:
        info = _score_info(pgs_id, config)
    except _UnknownScore:
        raise
    except CatalogError as exc:
        # The API is down or rate-limiting: the FTP layout is fixed, so go there directly.
        logger.warning("%s; using the FTP layout directly", exc)
        return _join(config.ftp_url, relative)
    url = info.ftp_harmonized.get(build, "") if build else info.ftp_scoring_file
    if not url:
        if build:
            raise NotHarmonizedError(
                f"{pgs_id}: the PGS Catalog has no positions harmonized to {build} for this "
                f"score (builds available: {', '.join(sorted(info.ftp_harmonized)) or 'none'});"
                " use the author-reported file (author_reported=True / --author-reported), "
                "or let prs lift it to the genotypes' build (liftover=True / --liftover)"
            )
        return _join(config.ftp_url, relative)
    return url


def _fetch_one(pgs_id: str, build: str | None, config: CatalogConfig) -> FetchResult:
    label = f"{pgs_id} ({build + ' harmonized' if build else 'author-reported'})"
    # A mirror *directory* is not the network: offline mode still copies from it.
    if config.offline and _local_mirror(config) is None:
        hit = _cached(config, pgs_id, build, md5=None)
        if hit is None:
            raise CatalogError(
                f"{label}: offline and not in the cache {config.cache_dir}; run "
                f"`prs fetch {pgs_id}{' --build ' + build if build else ' --author-reported'}` "
                "on a machine with network access (same cache dir), or use --mirror"
            )
        return FetchResult(pgs_id, build, hit, hit.parent.name, "cache", True)

    location = _locate(pgs_id, build, config)
    hit = _cached(config, pgs_id, build, md5=None)
    # With a copy in the cache, checking for an update should not cost the full back-off.
    check_config = config if hit is None else _replace(config, retries=0)
    try:
        md5 = _published_md5(location, check_config)
    except CatalogError as exc:
        if hit is not None:
            logger.warning(
                "%s: cannot check for an update (%s); using the cached %s", label, exc, hit
            )
            return FetchResult(pgs_id, build, hit, hit.parent.name, "cache", True)
        raise
    if md5 is None and config.verify:
        raise CatalogError(
            f"{label}: nothing at {location}.md5 (the checksum the Catalog publishes beside "
            "each file). Either this score has no such file there — check the ID, and try "
            "the author-reported file (--author-reported) if it is not harmonized to that "
            "build — or the mirror lacks the .md5 files (copy them too, or pass "
            "verify=False / --no-verify to accept an unverified file)"
        )
    if md5 is not None:
        hit = _cached(config, pgs_id, build, md5=md5)
        if hit is not None:
            return FetchResult(pgs_id, build, hit, md5, location, True)
    path = _download_verified(location, pgs_id=pgs_id, build=build, expected_md5=md5, config=config)
    return FetchResult(pgs_id, build, path, path.parent.name, location, False)


def fetch_all(
    accessions: str | Iterable[str],
    *,
    build: str | None = None,
    author_reported: bool = False,
    config: CatalogConfig | None = None,
    **options: Unpack[CatalogOptions],
) -> list[FetchResult]:
    """Fetch every score named by ``accessions`` (PGS IDs, traits, publications).

    Parameters
    ----------
    accessions
        One accession or several: ``PGS000004``, a publication ``PGP000002`` or a trait
        ``EFO_0000305`` (all its scores, through the REST API). Duplicates are fetched once.
    build
        ``"GRCh37"`` or ``"GRCh38"`` (or an alias, :data:`prs.genome.BUILD_ALIASES`): fetch
        the Catalog's harmonized-positions file for that build (preferred, since its
        positions match the target genotypes). None (default): the author-reported file.
    author_reported
        Fetch the author-reported file even when ``build`` is given (default False).
    config, **options
        Where and how to reach the Catalog: a :class:`CatalogConfig`, or its options as
        keywords -- ``cache_dir``, ``offline``, ``mirror``, ``api_url``, ``ftp_url``,
        ``timeout``, ``retries``, ``backoff``, ``verify``, ``progress`` (defaults and
        environment variables: :meth:`CatalogConfig.from_options`).

    Returns
    -------
    list of FetchResult
        One per (score, build), in order of the accessions.

    Raises
    ------
    CatalogError
        Unknown accession, file missing for that build, checksum mismatch, network failure
        after the retries, or offline with files missing (all missing ones are named).

    Examples
    --------
    >>> results = fetch_all(["PGS000004", "PGS000662"], build="GRCh38")  # doctest: +SKIP
    >>> [r.path.name for r in results]  # doctest: +SKIP
    ['PGS000004_hmPOS_GRCh38.txt.gz', 'PGS000662_hmPOS_GRCh38.txt.gz']
    """
    config = config_from(config, options)
    wanted_build = None if author_reported else _normalise_build(build)
    names = [accessions] if isinstance(accessions, str) else list(accessions)
    if not names:
        raise CatalogError("no accession given: name a score (PGS000004), trait or publication")
    pgs_ids: list[str] = []
    for name in names:
        for pgs_id in _expand(str(name), config):
            if pgs_id not in pgs_ids:
                pgs_ids.append(pgs_id)
    results: list[FetchResult] = []
    missing: list[str] = []
    for pgs_id in pgs_ids:
        try:
            results.append(_fetch_one(pgs_id, wanted_build, config))
        except CatalogError as exc:
            if not config.offline:
                raise
            missing.append(str(exc))
    if missing:
        raise CatalogError(
            f"offline: {len(missing)} of {len(pgs_ids)} scoring file(s) not cached:\n  "
            + "\n  ".join(missing)
        )
    return results


def fetch(
    pgs_id: str,
    *,
    build: str | None = None,
    author_reported: bool = False,
    config: CatalogConfig | None = None,
    **options: Unpack[CatalogOptions],
) -> Path:
    """Fetch one PGS Catalog scoring file, verified and cached; return its path.

    Parameters
    ----------
    pgs_id
        A score ID such as ``"PGS000004"`` (any case). For traits, publications or several
        IDs use :func:`fetch_all`.
    build, author_reported, config, **options
        As for :func:`fetch_all`: with ``build`` the harmonized file for that build, without
        it (or with ``author_reported=True``) the author-reported file.

    Returns
    -------
    Path
        The gzipped scoring file in the cache
        (``<cache>/pgs/PGS000004/GRCh38/<md5>/PGS000004_hmPOS_GRCh38.txt.gz``).

    Raises
    ------
    CatalogError
        As :func:`fetch_all`.

    Examples
    --------
    >>> path = fetch("PGS000004", build="GRCh38")  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'PGS000004_hmPOS_GRCh38.txt.gz'
    """
    [result] = fetch_all(
        _normalise_pgs(pgs_id),
        build=build,
        author_reported=author_reported,
        config=config_from(config, options),
    )
    return result.path


def resolve(
    spec: str | os.PathLike[str],
    *,
    build: str | None = None,
    author_reported: bool = False,
    config: CatalogConfig | None = None,
    **options: Unpack[CatalogOptions],
) -> Path:
    """Turn a scoring-file spec — a path or a PGS ID — into a local path.

    :func:`prs.score` reads its ``scorefiles`` through :mod:`prs.weights.load`, which
    calls this for a PGS ID, so IDs work wherever paths do.

    Parameters
    ----------
    spec
        An existing file (returned as is), or a PGS ID (any case; fetched, see
        :func:`fetch`).
    build
        Genome build of the target genotypes: the harmonized file for it is fetched. None
        (default): the author-reported file.
    author_reported, config, **options
        As for :func:`fetch_all`.

    Returns
    -------
    Path

    Raises
    ------
    CatalogError
        ``spec`` is neither an existing path nor a PGS ID, or fetching failed. (An existing
        path is returned as is: a directory is named by the scoring-file reader.)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "my_weights.txt"
    >>> _ = f.write_text("rsID\\teffect_allele\\teffect_weight\\n")
    >>> resolve(f) == f
    True
    >>> resolve("PGS000004", build="GRCh38")  # doctest: +SKIP
    PosixPath('.../pgs/PGS000004/GRCh38/.../PGS000004_hmPOS_GRCh38.txt.gz')
    """
    path = Path(spec)
    if path.is_file() or (path.exists() and not is_accession(os.fspath(spec))):
        # A directory is the scoring-file reader's to name (ScoringFileError, exit 3).
        return path
    text = os.fspath(spec)
    if is_accession(text):
        return fetch(text, build=build, author_reported=author_reported, config=config, **options)
    raise CatalogError(
        f"{text!r}: no such scoring file, and not a PGS Catalog score ID (expected a path "
        "to an existing file, or 'PGS' and six digits such as PGS000004)"
    )
