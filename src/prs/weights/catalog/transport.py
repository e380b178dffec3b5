"""Transport: HTTP(S), ``file://`` and local paths, with retries and back-off."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prs._version import __version__
from prs.errors import CatalogError
from prs.weights.catalog.config import ENV_API_URL, CatalogConfig

if TYPE_CHECKING:
    import http.client

# (urllib.request, urllib.error and http.client, ~0.03 s with ssl and email, are imported
# when a URL is opened: a run on local files does not pay for them)

logger = logging.getLogger(__name__)


_USER_AGENT = f"prs/{__version__} (+https://www.pgscatalog.org)"


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


class NotHarmonizedError(CatalogError):
    """The Catalog has no positions harmonized to the requested build for this score (the
    author-reported file exists; a liftover, when allowed, can use it)."""


def _is_remote(location: str) -> bool:
    return urllib.parse.urlsplit(location).scheme in {"http", "https"}


def _local_path(location: str) -> Path:
    parts = urllib.parse.urlsplit(location)
    if parts.scheme == "file":
        from urllib.request import url2pathname

        return Path(url2pathname(parts.path))
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
    import http.client
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen

    request = Request(url, headers={"User-Agent": _USER_AGENT, **(headers or {})})
    try:
        return urlopen(request, timeout=config.timeout)
    except HTTPError as exc:
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
    except URLError as exc:
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
    import http.client

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
