"""PGS Catalog scores by accession: fetch, verify, cache, and a curated set of cancer scores.

Users name scores the way the field does — ``PGS000004``, a trait (``EFO_0000305``) or a
publication (``PGP000002``) — and this module turns the name into a verified local scoring
file:

1. **Resolve** the accession through the PGS Catalog REST API (``/rest/score/{id}``, or
   ``/rest/score/search?trait_id=`` / ``?pgp_id=`` for traits and publications, following
   the ``next`` links of paginated answers), or, with a *mirror*, straight from the FTP
   layout (``scores/{id}/ScoringFiles/[Harmonized/]...``) without any API call.
2. **Choose the file**: the harmonized file for the requested build
   (``{id}_hmPOS_GRCh37.txt.gz`` / ``_GRCh38``) by default when a build is given; the
   author-reported file (``{id}.txt.gz``) when no build is given or on request.
3. **Download** into the cache: stream to a ``.part`` file, resume with an HTTP ``Range``
   request where the server allows it (``206``) and restart otherwise, retry with
   exponential back-off, show a progress bar for long files.
4. **Verify** the MD5 the Catalog publishes beside every file (``<file>.md5``, text
   ``<md5>  <name>``) and check the header names the right PGS ID and build. A mismatch
   deletes the part file: a bad download never lands in the cache.
5. **Keep** it: the part file is renamed atomically to
   ``<cache>/pgs/<PGS ID>/<build or "author">/<md5>/<file name>``. Later calls find it
   there; with the network off, or in offline mode, the cache is all that is used.

Configuration (options win over environment variables, which win over defaults):

=====================  ==========================  =============================================
option                 environment variable        default
=====================  ==========================  =============================================
``cache_dir``          ``PRS_CACHE_DIR``           ``platformdirs.user_cache_dir("prs")``
``offline``            ``PRS_OFFLINE`` (``1``)     off
``mirror``             ``PRS_PGS_MIRROR``          none
``api_url``            ``PRS_PGS_API_URL``         ``https://www.pgscatalog.org/rest``
``ftp_url``            ``PRS_PGS_FTP_URL``         ``https://ftp.ebi.ac.uk/pub/databases/spot/pgs``
=====================  ==========================  =============================================
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.client
import importlib.resources
import io
import json
import logging
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from pathlib import Path
from typing import IO, Any

import pandas as pd

from prs._version import __version__
from prs.errors import CatalogError
from prs.genome import canonical_build
from prs.weights.scorefile import parse_header

logger = logging.getLogger(__name__)

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

#: Genome builds the Catalog harmonizes to.
BUILDS = ("GRCh37", "GRCh38")
#: The PGS Catalog REST API root.
DEFAULT_API_URL = "https://www.pgscatalog.org/rest"
#: Root of the PGS Catalog FTP tree (served over HTTPS as well).
DEFAULT_FTP_URL = "https://ftp.ebi.ac.uk/pub/databases/spot/pgs"

ENV_CACHE_DIR = "PRS_CACHE_DIR"
ENV_OFFLINE = "PRS_OFFLINE"
ENV_MIRROR = "PRS_PGS_MIRROR"
ENV_API_URL = "PRS_PGS_API_URL"
ENV_FTP_URL = "PRS_PGS_FTP_URL"

_PGS_ID = re.compile(r"PGS\d{6}")
_PGP_ID = re.compile(r"PGP\d{6}")
# Ontology terms as the Catalog maps traits: EFO_0000305, MONDO_0005575, HP_0000001, ...
_TRAIT_ID = re.compile(r"[A-Za-z]+_\d+")
_MD5 = re.compile(r"[0-9a-fA-F]{32}")
_CHUNK = 1 << 16
# Below this size a progress bar is noise.
_PROGRESS_MIN_BYTES = 1 << 20
_USER_AGENT = f"prs/{__version__} (+https://www.pgscatalog.org)"


# --------------------------------------------------------------------------------------
# Configuration and results
# --------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Return the cache directory: ``$PRS_CACHE_DIR`` or the platform's user cache dir.

    Examples
    --------
    >>> import os
    >>> os.environ["PRS_CACHE_DIR"] = "/scratch/prs-cache"
    >>> default_cache_dir()
    PosixPath('/scratch/prs-cache')
    >>> del os.environ["PRS_CACHE_DIR"]
    """
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("prs", appauthor=False))


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class CatalogConfig:
    """Where and how to reach the PGS Catalog; build one with :meth:`CatalogConfig.from_options`.

    Attributes
    ----------
    cache_dir
        Root of the cache (files live under ``cache_dir / "pgs"``).
    offline
        Never touch the network; serve from the cache (or a mirror *directory*) or fail
        naming what is missing.
    mirror
        Base URL (``http(s)://``, ``file://``) or local directory laid out like the Catalog's
        FTP tree (containing ``scores/``). When set, files come from it and the REST API is
        used only to expand traits and publications.
    api_url, ftp_url
        REST API root and FTP root (no trailing slash).
    timeout
        Seconds to wait for a connection or for the next block of data.
    retries
        Further attempts after the first for a failed request (network errors, timeouts,
        5xx, rate limiting, checksum mismatch).
    backoff
        Seconds before the first retry; doubles with each further retry.
    verify
        Check each file against the MD5 published beside it (required unless False).
    progress
        Show a progress bar: None (default) shows one on a terminal for files over 1 MiB.
    """

    cache_dir: Path
    offline: bool = False
    mirror: str | None = None
    api_url: str = DEFAULT_API_URL
    ftp_url: str = DEFAULT_FTP_URL
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    verify: bool = True
    progress: bool | None = None

    @classmethod
    def from_options(
        cls,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        offline: bool | None = None,
        mirror: str | os.PathLike[str] | None = None,
        api_url: str | None = None,
        ftp_url: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 1.0,
        verify: bool = True,
        progress: bool | None = None,
    ) -> CatalogConfig:
        """Combine explicit options with the environment (``PRS_*``) and the defaults."""
        if timeout <= 0:
            raise CatalogError(f"timeout must be positive seconds, got {timeout!r}")
        if retries < 0:
            raise CatalogError(f"retries must be 0 or more, got {retries!r}")
        if backoff < 0:
            raise CatalogError(f"backoff must be 0 or more seconds, got {backoff!r}")
        mirror_value = os.fspath(mirror) if mirror is not None else os.environ.get(ENV_MIRROR)
        return cls(
            cache_dir=Path(cache_dir).expanduser()
            if cache_dir is not None
            else default_cache_dir(),
            offline=_env_flag(ENV_OFFLINE) if offline is None else bool(offline),
            mirror=mirror_value or None,
            api_url=(api_url or os.environ.get(ENV_API_URL) or DEFAULT_API_URL).rstrip("/"),
            ftp_url=(ftp_url or os.environ.get(ENV_FTP_URL) or DEFAULT_FTP_URL).rstrip("/"),
            timeout=float(timeout),
            retries=int(retries),
            backoff=float(backoff),
            verify=verify,
            progress=progress,
        )


@dataclass(frozen=True)
class ScoreInfo:
    """What the REST API says about one score (the fields prs uses).

    Attributes
    ----------
    pgs_id, name
        Accession and short name (``PRS313_BC``).
    trait_reported
        Trait as the authors reported it.
    trait_efo
        Mapped ontology term IDs.
    variants_number
        Number of variants in the score.
    genome_build
        Build of the author-reported file (``variants_genomebuild``), e.g. ``GRCh37``/``NR``.
    pgp_id, citation
        Publication accession and a short citation.
    ftp_scoring_file
        URL of the author-reported file.
    ftp_harmonized
        Build → URL of the harmonized-positions file.
    license
        Terms the authors attached.
    """

    pgs_id: str
    name: str = ""
    trait_reported: str = ""
    trait_efo: tuple[str, ...] = ()
    variants_number: int | None = None
    genome_build: str = ""
    pgp_id: str = ""
    citation: str = ""
    ftp_scoring_file: str = ""
    ftp_harmonized: dict[str, str] = field(default_factory=dict)
    license: str = ""

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> ScoreInfo:
        """Build from one score object of the REST API (``/rest/score/{id}``)."""
        publication = record.get("publication") or {}
        harmonized: dict[str, str] = {}
        for build, entry in (record.get("ftp_harmonized_scoring_files") or {}).items():
            if isinstance(entry, dict) and entry.get("positions"):
                harmonized[str(build)] = str(entry["positions"])
        citation = ""
        if isinstance(publication, dict) and publication:
            citation = " ".join(
                str(part)
                for part in (
                    publication.get("firstauthor"),
                    "et al.",
                    publication.get("journal"),
                    f"({str(publication.get('date_publication') or '')[:4]})",
                )
                if part
            )
        number = record.get("variants_number")
        return cls(
            pgs_id=str(record.get("id", "")),
            name=str(record.get("name") or ""),
            trait_reported=str(record.get("trait_reported") or ""),
            trait_efo=tuple(
                str(t.get("id")) for t in record.get("trait_efo") or [] if isinstance(t, dict)
            ),
            variants_number=int(number)
            if isinstance(number, int | str) and str(number).isdigit()
            else None,
            genome_build=str(record.get("variants_genomebuild") or ""),
            pgp_id=str(publication.get("id") or "") if isinstance(publication, dict) else "",
            citation=citation,
            ftp_scoring_file=str(record.get("ftp_scoring_file") or ""),
            ftp_harmonized=harmonized,
            license=str(record.get("license") or ""),
        )


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


# --------------------------------------------------------------------------------------
# Accessions
# --------------------------------------------------------------------------------------


def is_accession(spec: object) -> bool:
    """True when ``spec`` is a PGS score ID (``PGS`` followed by six digits).

    Examples
    --------
    >>> is_accession("PGS000004"), is_accession("pgs000004"), is_accession("scores.txt")
    (True, True, False)
    """
    return isinstance(spec, str) and _PGS_ID.fullmatch(spec.strip().upper()) is not None


def _normalise_pgs(spec: str) -> str:
    value = spec.strip().upper()
    if not _PGS_ID.fullmatch(value):
        raise CatalogError(
            f"{spec!r} is not a PGS Catalog score ID: expected 'PGS' and six digits, e.g. PGS000004"
        )
    return value


def _normalise_build(build: str | None) -> str | None:
    """The canonical name of a build the Catalog harmonizes to (aliases: :mod:`prs.genome`)."""
    if build is None:
        return None
    value = canonical_build(str(build))
    if value not in BUILDS:
        raise CatalogError(
            f"genome build {build!r} is not one the PGS Catalog harmonizes to: "
            f"expected one of {', '.join(BUILDS)}"
        )
    return value


def _relative_path(pgs_id: str, build: str | None) -> str:
    """Path of a scoring file under the FTP root, as the Catalog lays it out."""
    if build is None:
        return f"scores/{pgs_id}/ScoringFiles/{pgs_id}.txt.gz"
    return f"scores/{pgs_id}/ScoringFiles/Harmonized/{pgs_id}_hmPOS_{build}.txt.gz"


# --------------------------------------------------------------------------------------
# Transport: HTTP(S), file:// and local paths, with retries
# --------------------------------------------------------------------------------------


class _NotFound(Exception):
    """The server answered 404/410: retrying will not help."""


class _Transient(Exception):
    """A failure worth retrying (network error, timeout, 5xx, 429, dropped connection)."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status behind it, if any
        self.hint = hint or (
            "Check the network (or use --mirror / --offline), or raise --retries / --timeout"
        )


class _UnknownScore(CatalogError):
    """The Catalog does not know this PGS ID (not worth a fallback to the FTP layout)."""


def _is_remote(location: str) -> bool:
    return urllib.parse.urlsplit(location).scheme in {"http", "https"}


def _local_path(location: str) -> Path:
    parts = urllib.parse.urlsplit(location)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path))
    return Path(location)


def _join(base: str, relative: str) -> str:
    if _is_remote(base) or base.startswith("file:"):
        return base.rstrip("/") + "/" + relative
    return str(Path(base) / relative)


def _with_retries(what: str, config: CatalogConfig, attempt_fn: Callable[[], Any]) -> Any:
    """Run ``attempt_fn()``; retry transient failures with exponential back-off."""
    last: Exception | None = None
    for attempt in range(config.retries + 1):
        if attempt:
            delay = config.backoff * 2 ** (attempt - 1)
            logger.info(
                "%s: retry %d of %d in %.2g s (%s)", what, attempt, config.retries, delay, last
            )
            time.sleep(delay)
        try:
            return attempt_fn()
        except _Transient as exc:
            last = exc
    hint = last.hint if isinstance(last, _Transient) else ""
    raise CatalogError(
        f"{what}: failed after {config.retries + 1} attempt(s): {last}. {hint}"
    ) from last


def _http_open(
    url: str, config: CatalogConfig, *, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """Open ``url``; map failures to _NotFound / _Transient / CatalogError."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, **(headers or {})})
    try:
        return urllib.request.urlopen(request, timeout=config.timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (404, 410):
            raise _NotFound(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        if exc.code == 416:
            raise _Transient(f"{url}: HTTP 416 (range not satisfiable)", status=416) from exc
        if exc.code == 429 or exc.code >= 500:
            raise _Transient(f"{url}: HTTP {exc.code} {exc.reason}", status=exc.code) from exc
        raise CatalogError(
            f"{url}: the server refused the request (HTTP {exc.code} {exc.reason})"
        ) from exc
    except TimeoutError as exc:
        raise _Transient(f"{url}: no answer within {config.timeout:g} s (timeout)") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise _Transient(f"{url}: no answer within {config.timeout:g} s (timeout)") from exc
        raise _Transient(f"{url}: cannot connect ({reason})") from exc
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        raise _Transient(f"{url}: connection failed ({exc})") from exc


def _read_small(location: str, config: CatalogConfig, what: str) -> bytes:
    """Read a small resource (JSON, .md5) from a URL or path, retrying transient failures."""
    if not _is_remote(location):
        path = _local_path(location)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise _NotFound(f"{path}: no such file") from exc
        except OSError as exc:
            raise CatalogError(f"{path}: cannot read {what} ({exc.strerror or exc})") from exc

    return _with_retries(f"{location} ({what})", config, lambda: _read_url(location, config))


def _read_url(url: str, config: CatalogConfig, headers: dict[str, str] | None = None) -> bytes:
    """The whole body at ``url``; a timeout or dropped connection is transient."""
    with _http_open(url, config, headers=headers) as response:
        try:
            return response.read()
        except TimeoutError as exc:
            raise _Transient(f"{url}: read timed out after {config.timeout:g} s") from exc
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise _Transient(f"{url}: connection dropped ({exc})") from exc


def _get_json(url: str, config: CatalogConfig, what: str) -> Any:
    def attempt() -> Any:
        body = _read_url(url, config, {"Accept": "application/json"})
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise CatalogError(
                f"{url}: expected JSON from the PGS Catalog REST API, found "
                f"{body[:60]!r}; is --api-url / {ENV_API_URL} right?"
            ) from exc
        # The Catalog answers rate limiting with a JSON message (100 requests a minute).
        if isinstance(data, dict) and "request limit exceeded" in str(data.get("message", "")):
            raise _Transient(f"{url}: request limit exceeded ({data.get('availableIn', '?')})")
        return data

    return _with_retries(f"{url} ({what})", config, attempt)


# --------------------------------------------------------------------------------------
# REST API
# --------------------------------------------------------------------------------------


def _score_json_path(config: CatalogConfig, pgs_id: str) -> Path:
    return config.cache_dir / "pgs" / pgs_id / "score.json"


def _write_json_atomic(path: Path, data: Any) -> None:
    from prs.report import atomic_write

    try:
        with atomic_write(path) as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
    except Exception as exc:  # cache metadata is an optimisation: never fail a fetch on it
        logger.debug("could not cache %s: %s", path, exc)


def _fetch_score_json(pgs_id: str, config: CatalogConfig) -> dict[str, Any]:
    url = f"{config.api_url}/score/{pgs_id}"
    try:
        data = _get_json(url, config, f"metadata of {pgs_id}")
    except _NotFound as exc:
        raise _UnknownScore(
            f"{pgs_id}: no such score in the PGS Catalog ({url} answered 404); "
            "check the ID at https://www.pgscatalog.org"
        ) from exc
    if not isinstance(data, dict) or not data.get("id"):
        # The Catalog answers an unknown ID with an empty object.
        raise _UnknownScore(
            f"{pgs_id}: no such score in the PGS Catalog ({url} returned no score); "
            "check the ID at https://www.pgscatalog.org"
        )
    if str(data["id"]).upper() != pgs_id:
        raise CatalogError(f"{url}: asked for {pgs_id}, the API answered {data['id']}")
    _write_json_atomic(_score_json_path(config, pgs_id), data)
    return data


def score_info(
    pgs_id: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    api_url: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    refresh: bool = False,
) -> ScoreInfo:
    """Return the REST API's metadata for one score (cached beside its files).

    Parameters
    ----------
    pgs_id
        A PGS ID, e.g. ``"PGS000004"``.
    cache_dir, offline, api_url, timeout, retries, backoff
        As for :func:`fetch`.
    refresh
        Ask the API even when the metadata is cached (default False).

    Returns
    -------
    ScoreInfo

    Raises
    ------
    CatalogError
        Unknown ID, API unreachable, or offline with nothing cached.

    Examples
    --------
    >>> score_info("PGS000004").variants_number  # doctest: +SKIP
    313
    """
    config = CatalogConfig.from_options(
        cache_dir=cache_dir,
        offline=offline,
        api_url=api_url,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
    )
    return _score_info(_normalise_pgs(pgs_id), config, refresh=refresh)


def _score_info(pgs_id: str, config: CatalogConfig, *, refresh: bool = False) -> ScoreInfo:
    cached_json = _score_json_path(config, pgs_id)
    if cached_json.is_file() and (config.offline or not refresh):
        try:
            return ScoreInfo.from_json(json.loads(cached_json.read_text(encoding="utf-8")))
        except ValueError:
            logger.warning("%s: unreadable cached metadata, asking the API again", cached_json)
    if config.offline:
        raise CatalogError(
            f"{pgs_id}: offline and no metadata cached in {cached_json.parent}; fetch it "
            "once with the network on"
        )
    return ScoreInfo.from_json(_fetch_score_json(pgs_id, config))


def _paginate(url: str, config: CatalogConfig, what: str) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    next_url: str | None = url
    while next_url:
        if next_url in seen:  # a server that loops would otherwise never end
            raise CatalogError(f"{next_url}: pagination loops back on itself")
        seen.add(next_url)
        try:
            page = _get_json(next_url, config, what)
        except _NotFound as exc:
            raise CatalogError(f"{what}: the REST API answered 404 for {next_url}") from exc
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise CatalogError(
                f"{next_url}: expected a paginated answer with 'results', found {str(page)[:80]!r}"
            )
        yield from (r for r in page["results"] if isinstance(r, dict))
        next_url = page.get("next") or None


def expand(
    accession: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    api_url: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
) -> list[str]:
    """Turn a score, trait or publication accession into the PGS IDs it names.

    Traits (``EFO_0000305``, ``MONDO_0005575``) are searched with
    ``/rest/score/search?trait_id=``, publications (``PGP000002``) with
    ``/rest/score/search?pgp_id=``; every page is read (the API pages 50 results at a time).
    The answer is cached, so the same expansion works offline afterwards.

    Parameters
    ----------
    accession
        ``PGS…``, ``PGP…`` or an ontology trait ID.
    cache_dir, offline, api_url, timeout, retries, backoff
        As for :func:`fetch`.

    Returns
    -------
    list of str
        PGS IDs, in the API's order, without duplicates.

    Raises
    ------
    CatalogError
        Unrecognised accession, nothing found, API unreachable, or offline with no cached
        answer.

    Examples
    --------
    >>> expand("PGS000004")
    ['PGS000004']
    >>> expand("PGP000002")  # doctest: +SKIP
    ['PGS000004', 'PGS000005', 'PGS000006', 'PGS000007', 'PGS000008', 'PGS000009']
    """
    config = CatalogConfig.from_options(
        cache_dir=cache_dir,
        offline=offline,
        api_url=api_url,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
    )
    return _expand(accession, config)


def _expand(accession: str, config: CatalogConfig) -> list[str]:
    value = accession.strip()
    if _PGS_ID.fullmatch(value.upper()):
        return [value.upper()]
    if _PGP_ID.fullmatch(value.upper()):
        kind, key, value = "publication", "pgp_id", value.upper()
    elif _TRAIT_ID.fullmatch(value):
        kind, key = "trait", "trait_id"
        prefix, _, number = value.partition("_")
        value = f"{prefix.upper()}_{number}"
    else:
        raise CatalogError(
            f"{accession!r} is not a PGS Catalog accession: expected a score (PGS000004), "
            "a publication (PGP000002) or a trait ontology ID (EFO_0000305)"
        )
    cached_answer = config.cache_dir / "pgs" / "queries" / f"{value}.json"
    if config.offline:
        if cached_answer.is_file():
            return list(json.loads(cached_answer.read_text(encoding="utf-8")))
        raise CatalogError(
            f"{value}: offline and the {kind}'s scores were never looked up "
            f"(no {cached_answer}); run `prs fetch {value}` once with the network on"
        )
    url = f"{config.api_url}/score/search?{urllib.parse.urlencode({key: value})}"
    ids: list[str] = []
    for record in _paginate(url, config, f"scores of {kind} {value}"):
        pgs_id = str(record.get("id", "")).upper()
        if not _PGS_ID.fullmatch(pgs_id) or pgs_id in ids:
            continue
        ids.append(pgs_id)
        # The search returns whole score objects: keep them, saving a request per score.
        _write_json_atomic(_score_json_path(config, pgs_id), record)
    if not ids:
        raise CatalogError(f"{value}: the PGS Catalog lists no scores for this {kind} ({url})")
    _write_json_atomic(cached_answer, ids)
    return ids


# --------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------


def _entry_dir(config: CatalogConfig, pgs_id: str, build: str | None) -> Path:
    return config.cache_dir / "pgs" / pgs_id / (build or "author")


def _file_name(pgs_id: str, build: str | None) -> str:
    return Path(_relative_path(pgs_id, build)).name


def cached(
    pgs_id: str,
    *,
    build: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path | None:
    """Return the newest verified cached file for (score, build), or None.

    Parameters
    ----------
    pgs_id
        A PGS ID.
    build
        ``GRCh37``/``GRCh38`` for the harmonized file, None for the author-reported file.
    cache_dir
        Cache root (default ``$PRS_CACHE_DIR`` or the platform's user cache directory).

    Examples
    --------
    >>> import tempfile
    >>> cached("PGS000004", build="GRCh38", cache_dir=tempfile.mkdtemp()) is None
    True
    """
    config = CatalogConfig.from_options(cache_dir=cache_dir)
    return _cached(config, _normalise_pgs(pgs_id), _normalise_build(build), md5=None)


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


# --------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------


def _parse_md5(text: bytes, where: str) -> str:
    token = text.decode("ascii", errors="replace").strip().split()
    if not token or not _MD5.fullmatch(token[0]):
        raise CatalogError(
            f"{where}: expected an MD5 checksum ('<32 hex digits>  <file name>'), found "
            f"{text[:60]!r}"
        )
    return token[0].lower()


def _published_md5(location: str, config: CatalogConfig) -> str | None:
    """The MD5 the Catalog publishes beside ``location`` (``<location>.md5``), or None."""
    md5_location = location + ".md5"
    try:
        return _parse_md5(_read_small(md5_location, config, "checksum"), md5_location)
    except _NotFound:
        return None


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(functools.partial(fh.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _progress_bar(total: int | None, initial: int, label: str, config: CatalogConfig) -> Any:
    show = config.progress
    if show is None:
        show = sys.stderr.isatty() and (total or 0) >= _PROGRESS_MIN_BYTES
    if not show:
        return contextlib.nullcontext(None)
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=label,
        leave=False,
    )


def _stream_http(url: str, part: Path, config: CatalogConfig, label: str) -> None:
    """Download ``url`` into ``part`` (appending when the server honours a Range request)."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = _http_open(url, config, headers=headers)
    except _Transient as exc:
        if not (offset and exc.status == 416):
            raise
        # Our part file is already as long as the file (or longer): start afresh.
        part.unlink(missing_ok=True)
        response = _http_open(url, config)
    with response:
        status = response.status
        if status == 206:
            content_range = response.headers.get("Content-Range", "")
            match = re.match(r"bytes (\d+)-", content_range)
            if not match or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)
                raise _Transient(f"{url}: server resumed at {content_range!r}, not {offset}")
            mode = "ab"
            logger.info("%s: resuming at byte %d", url, offset)
        else:
            if offset:
                logger.info("%s: server does not resume (HTTP %d); restarting", url, status)
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        written = offset
        with part.open(mode) as out, _progress_bar(total, offset, label, config) as bar:
            try:
                while True:
                    block = response.read(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    written += len(block)
                    if bar is not None:
                        bar.update(len(block))
            except TimeoutError as exc:
                raise _Transient(
                    f"{url}: stalled after {written} bytes (no data for {config.timeout:g} s)"
                ) from exc
            except (
                http.client.IncompleteRead,
                ConnectionError,
                OSError,
                http.client.HTTPException,
            ) as exc:
                raise _Transient(f"{url}: connection dropped after {written} bytes") from exc
            finally:
                out.flush()
                os.fsync(out.fileno())
        if total is not None and written != total:
            raise _Transient(f"{url}: connection dropped after {written} of {total} bytes")


def _copy_local(source: Path, part: Path, config: CatalogConfig, label: str) -> None:
    try:
        size = source.stat().st_size
        with (
            source.open("rb") as src,
            part.open("wb") as out,
            _progress_bar(size, 0, label, config) as bar,
        ):
            for block in iter(functools.partial(src.read, _CHUNK), b""):
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
    except FileNotFoundError as exc:
        raise _NotFound(f"{source}: no such file") from exc
    except OSError as exc:
        raise CatalogError(f"{source}: cannot copy into the cache ({exc.strerror or exc})") from exc


def _header_lines(path: Path, limit: int = 60) -> list[str]:
    opener: Callable[[Path], IO[bytes]]
    with path.open("rb") as probe:
        magic = probe.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open  # type: ignore[assignment]
    lines: list[str] = []
    try:
        with (
            opener(path, "rb") as raw,
            io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as fh,
        ):
            for line in fh:
                if not line.startswith("#"):
                    break
                lines.append(line.rstrip("\r\n"))
                if len(lines) >= limit:
                    break
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CatalogError(f"{path}: not a readable (gzipped) scoring file ({exc})") from exc
    return lines


def _check_header(path: Path, pgs_id: str, build: str | None, source: str) -> None:
    """Check the header names ``pgs_id`` (and ``build`` for harmonized files)."""
    header = {k.lower(): v for k, v in parse_header(_header_lines(path)).items()}
    found_id = header["pgs_id"].upper() if "pgs_id" in header else None
    found_build = header.get("hmpos_build")
    if found_id is not None and found_id != pgs_id:
        raise CatalogError(
            f"{source}: expected the scoring file of {pgs_id}, the header says {found_id}; "
            "the mirror or server holds the wrong file at this path"
        )
    if build is not None and found_build is not None and found_build != build:
        raise CatalogError(
            f"{source}: expected positions harmonized to {build}, the header says "
            f"HmPOS_build={found_build}"
        )


def _fsync_dir(directory: Path) -> None:
    """Make a rename into ``directory`` durable (POSIX; best effort elsewhere)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (POSIX; a no-op elsewhere).

    Two processes (or threads) fetching the same file into a shared cache take turns
    instead of writing one part file together; the lock dies with its process, so a killed
    download never leaves a stale lock behind.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _download_verified(
    location: str,
    *,
    pgs_id: str,
    build: str | None,
    expected_md5: str | None,
    config: CatalogConfig,
) -> Path:
    """Download ``location`` into the cache, verify it, move it into place; return its path."""
    entry = _entry_dir(config, pgs_id, build)
    name = _file_name(pgs_id, build)
    try:
        entry.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(
            f"{entry}: cannot create the cache directory ({exc.strerror or exc}); set "
            f"--cache-dir or {ENV_CACHE_DIR} to a writable directory"
        ) from exc
    # A stable part name lets a later call resume an interrupted download of the same file.
    part = entry / f".{name}.{expected_md5 or 'unverified'}.part"
    label = f"{pgs_id} {build or 'author-reported'}"
    # Locks live apart from the entries so that an entry holds only data and part files.
    with _locked(config.cache_dir / "pgs" / ".locks" / f"{pgs_id}.{build or 'author'}.lock"):
        # Another process may have finished this very file while we waited for the lock.
        if expected_md5 is not None:
            done = _cached(config, pgs_id, build, md5=expected_md5)
            if done is not None:
                return done
        # Part files of other versions of this file can never be resumed: drop them.
        for stale in entry.glob(f".{name}.*.part"):
            if stale != part:
                stale.unlink(missing_ok=True)
        return _download_locked(
            location, part, entry, name, label, pgs_id, build, expected_md5, config
        )


def _download_locked(
    location: str,
    part: Path,
    entry: Path,
    name: str,
    label: str,
    pgs_id: str,
    build: str | None,
    expected_md5: str | None,
    config: CatalogConfig,
) -> Path:
    """Body of :func:`_download_verified`, run while holding the entry's lock."""

    def attempt() -> Path:
        if _is_remote(location):
            _stream_http(location, part, config, label)
        else:
            _copy_local(_local_path(location), part, config, label)
        actual = _md5_of(part)
        if expected_md5 is not None and actual != expected_md5:
            part.unlink(missing_ok=True)
            raise _Transient(
                f"MD5 mismatch for {location}: expected {expected_md5} (published in "
                f"{location}.md5), got {actual}; the corrupt download was deleted",
                hint="The server's file does not match its published checksum: try again "
                "later, or another mirror; never use the file unverified",
            )
        try:
            _check_header(part, pgs_id, build, location)
        except CatalogError:
            part.unlink(missing_ok=True)
            raise
        final = entry / actual / name
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)
        _fsync_dir(final.parent)
        return final

    # A dropped connection keeps the part file (the next attempt or call resumes it); a
    # checksum or header mismatch has already deleted it.
    try:
        return _with_retries(f"download of {label} from {location}", config, attempt)
    except _NotFound as exc:
        part.unlink(missing_ok=True)
        raise CatalogError(f"{label}: no scoring file at {location} ({exc})") from exc


# --------------------------------------------------------------------------------------
# Public API: fetch, fetch_all, resolve
# --------------------------------------------------------------------------------------


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
            raise CatalogError(
                f"{pgs_id}: the PGS Catalog has no positions harmonized to {build} for this "
                f"score (builds available: {', '.join(sorted(info.ftp_harmonized)) or 'none'});"
                " use the author-reported file (author_reported=True / --author-reported)"
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
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    mirror: str | os.PathLike[str] | None = None,
    api_url: str | None = None,
    ftp_url: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    verify: bool = True,
    progress: bool | None = None,
) -> list[FetchResult]:
    """Fetch every score named by ``accessions`` (PGS IDs, traits, publications).

    Parameters
    ----------
    accessions
        One accession or several: ``PGS000004``, a publication ``PGP000002`` or a trait
        ``EFO_0000305`` (all its scores, through the REST API). Duplicates are fetched once.
    build
        ``"GRCh37"`` or ``"GRCh38"``: fetch the Catalog's harmonized-positions file for that
        build (preferred, since its positions match the target genotypes). None (default):
        the author-reported file.
    author_reported
        Fetch the author-reported file even when ``build`` is given (default False).
    cache_dir
        Cache root. Default ``$PRS_CACHE_DIR`` or the platform's user cache directory
        (``platformdirs.user_cache_dir("prs")``).
    offline
        Never touch the network; serve from the cache (or from ``mirror`` when it is a local
        directory) and name what is missing. Default ``$PRS_OFFLINE`` (``1`` = on), else off.
    mirror
        Base URL or local directory laid out like the Catalog FTP tree (a hospital or HPC
        copy). Default ``$PRS_PGS_MIRROR``, else none.
    api_url, ftp_url
        REST API and FTP roots. Defaults ``$PRS_PGS_API_URL`` / ``$PRS_PGS_FTP_URL``, else
        the EBI servers.
    timeout
        Seconds to wait for a connection or for more data (default 30).
    retries
        Further attempts after a transient failure (default 3, as pgscatalog-download).
    backoff
        Seconds before the first retry, doubling after each (default 1).
    verify
        Require and check the published MD5 (default True).
    progress
        Progress bar: None (default) on a terminal for files over 1 MiB; True/False force.

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
    config = CatalogConfig.from_options(
        cache_dir=cache_dir,
        offline=offline,
        mirror=mirror,
        api_url=api_url,
        ftp_url=ftp_url,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        verify=verify,
        progress=progress,
    )
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
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    mirror: str | os.PathLike[str] | None = None,
    api_url: str | None = None,
    ftp_url: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    verify: bool = True,
    progress: bool | None = None,
) -> Path:
    """Fetch one PGS Catalog scoring file, verified and cached; return its path.

    Parameters
    ----------
    pgs_id
        A score ID such as ``"PGS000004"``. For traits, publications or several IDs use
        :func:`fetch_all`.
    build, author_reported, cache_dir, offline, mirror, api_url, ftp_url, timeout, retries, \
backoff, verify, progress
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
        cache_dir=cache_dir,
        offline=offline,
        mirror=mirror,
        api_url=api_url,
        ftp_url=ftp_url,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        verify=verify,
        progress=progress,
    )
    return result.path


def resolve(
    spec: str | os.PathLike[str],
    *,
    build: str | None = None,
    author_reported: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    mirror: str | os.PathLike[str] | None = None,
    api_url: str | None = None,
    ftp_url: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    verify: bool = True,
    progress: bool | None = None,
) -> Path:
    """Turn a scoring-file spec — a path or a PGS ID — into a local path.

    This is what :func:`prs.score` calls for every entry of ``scorefiles``, so IDs work
    wherever paths do.

    Parameters
    ----------
    spec
        An existing file (returned as is), or a PGS ID (fetched; see :func:`fetch`).
    build
        Genome build of the target genotypes: the harmonized file for it is fetched. None
        (default): the author-reported file.
    author_reported, cache_dir, offline, mirror, api_url, ftp_url, timeout, retries, \
backoff, verify, progress
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
        return fetch(
            text,
            build=build,
            author_reported=author_reported,
            cache_dir=cache_dir,
            offline=offline,
            mirror=mirror,
            api_url=api_url,
            ftp_url=ftp_url,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            verify=verify,
            progress=progress,
        )
    raise CatalogError(
        f"{text!r}: no such scoring file, and not a PGS Catalog score ID (expected a path "
        "to an existing file, or 'PGS' and six digits such as PGS000004)"
    )


# --------------------------------------------------------------------------------------
# The curated cancer scores
# --------------------------------------------------------------------------------------

#: Columns of :func:`curated`, in order.
CURATED_COLUMNS = (
    "cancer",
    "pgs_id",
    "pgs_name",
    "trait",
    "trait_efo",
    "pgp_id",
    "publication",
    "doi",
    "variants_number",
    "variants_number_source",
    "original_build",
    "builds_available",
    "development_ancestry",
    "evaluation_ancestry",
    "evaluation_sample",
    "effect_measure",
    "effect_per_sd",
    "effect_per_sd_lower",
    "effect_per_sd_upper",
    "auc",
    "auc_lower",
    "auc_upper",
    "other_metric",
    "other_estimate",
    "other_lower",
    "other_upper",
    "performance_source",
    "metadata_source",
    "notes",
)
_NUMERIC = (
    "variants_number",
    "effect_per_sd",
    "effect_per_sd_lower",
    "effect_per_sd_upper",
    "auc",
    "auc_lower",
    "auc_upper",
    "other_estimate",
    "other_lower",
    "other_upper",
)
_CURATED_FILE = "cancer_scores.tsv"


def _read_curated() -> pd.DataFrame:
    resource = importlib.resources.files("prs") / "data" / "weights" / _CURATED_FILE
    with resource.open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, sep="\t", comment="#", dtype=str, keep_default_na=False)
    missing = [c for c in CURATED_COLUMNS if c not in frame.columns]
    if missing:
        raise CatalogError(f"package data {_CURATED_FILE}: missing column(s) {missing}")
    frame = frame.loc[:, list(CURATED_COLUMNS)]
    for column in _NUMERIC:
        frame[column] = pd.to_numeric(frame[column].replace("", None), errors="raise")
    frame["variants_number"] = frame["variants_number"].astype("Int64")
    return frame


def curated(cancer: str | None = None) -> pd.DataFrame:
    """The curated PGS Catalog scores for risk-informed cancer prevention, as a table.

    One row per (score, published evaluation): the score's trait, publication, variant
    count, builds the Catalog provides, the ancestry of its development (GWAS) sample, and
    the performance published for one evaluation sample — effect per SD
    (``effect_measure`` OR or HR, with 95% CI), AUC (with 95% CI) and, where that is what
    was published, another metric (``other_metric``, e.g. OR of the top decile) — with the
    source of every figure (``performance_source``, ``variants_number_source``,
    ``metadata_source``). Cells that could not be verified are empty and ``notes`` says
    why: figures are never estimated. These figures feed calibration. The file is
    ``prs/data/weights/cancer_scores.tsv``; its README cites the sources.

    Parameters
    ----------
    cancer
        Keep only one site: ``"breast"``, ``"prostate"``, ``"colorectal"`` or ``"lung"``
        (case-insensitive). None (default) or ``"all"``: every row.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CURATED_COLUMNS`; numeric columns are floats (NaN where not
        verified), ``variants_number`` is a nullable integer.

    Raises
    ------
    CatalogError
        Unknown cancer site.

    Examples
    --------
    >>> table = curated("breast")
    >>> "PGS000004" in set(table["pgs_id"])
    True
    >>> float(table.loc[table["pgs_id"] == "PGS000004", "effect_per_sd"].iloc[0])
    1.61
    """
    frame = _read_curated()
    if cancer is None or cancer.strip().lower() == "all":
        return frame.reset_index(drop=True)
    site = cancer.strip().lower()
    sites = sorted(set(frame["cancer"]))
    if site not in sites:
        raise CatalogError(
            f"no curated scores for cancer {cancer!r}: expected one of {', '.join(sites)} or 'all'"
        )
    return frame[frame["cancer"] == site].reset_index(drop=True)


def curated_ids(cancer: str | None = None) -> list[str]:
    """PGS IDs of the curated set (for one site, or all), without duplicates, in table order.

    Examples
    --------
    >>> curated_ids("prostate")
    ['PGS000662']
    """
    return list(dict.fromkeys(curated(cancer)["pgs_id"]))
