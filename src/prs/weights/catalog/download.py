"""Downloading one file into the cache under a lock: stream (resuming) or copy, verify the
published MD5 and the header, then rename into place atomically."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from prs.errors import CatalogError
from prs.weights.catalog.config import ENV_CACHE_DIR, CatalogConfig
from prs.weights.catalog.store import _MD5, _entry_dir, _file_name
from prs.weights.catalog.transport import (
    _http_open,
    _is_remote,
    _local_path,
    _NotFound,
    _read_small,
    _Transient,
    _with_retries,
)
from prs.weights.scorefile import parse_header

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16
# Below this size a progress bar is noise.
_PROGRESS_MIN_BYTES = 1 << 20


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
        show = (
            sys.stderr is not None and sys.stderr.isatty() and (total or 0) >= _PROGRESS_MIN_BYTES
        )
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
    import http.client  # (here: a run on local files does not import it)

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
    return download_into_cache(
        location,
        entry=_entry_dir(config, pgs_id, build),
        name=_file_name(pgs_id, build),
        lock=config.cache_dir / "pgs" / ".locks" / f"{pgs_id}.{build or 'author'}.lock",
        label=f"{pgs_id} {build or 'author-reported'}",
        expected_md5=expected_md5,
        config=config,
        check=lambda part: _check_header(part, pgs_id, build, location),
        what="scoring file",
    )


def download_into_cache(
    location: str,
    *,
    entry: Path,
    name: str,
    lock: Path,
    label: str,
    expected_md5: str | None,
    config: CatalogConfig,
    check: Callable[[Path], None] | None = None,
    what: str = "file",
) -> Path:
    """Download (or copy) ``location`` to ``entry/<md5>/name`` under an exclusive lock:
    stream to a part file (resuming an interrupted download), check the MD5 against
    ``expected_md5`` and the content with ``check`` (which raises
    :class:`~prs.errors.CatalogError` to refuse it), then rename into place atomically.
    A mismatch deletes the part file: a bad download never lands in the cache. Used for
    PGS Catalog scoring files and liftover chain files alike.

    Parameters
    ----------
    location
        ``http(s)://`` URL, ``file://`` URL or local path.
    entry, name
        The cache entry directory and the file's name in it.
    lock
        Lock file serialising downloads of this entry across processes.
    label
        How messages and the progress bar name the file.
    expected_md5
        The published checksum, or None (the file is then kept under its own MD5).
    config
        Timeouts, retries and progress (:class:`~prs.weights.catalog.CatalogConfig`).
    check
        A further check of the downloaded part file.
    what
        What the file is, for the not-found message.

    Returns
    -------
    pathlib.Path
        ``entry / <md5> / name``.
    """
    try:
        entry.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(
            f"{entry}: cannot create the cache directory ({exc.strerror or exc}); set "
            f"--cache-dir or {ENV_CACHE_DIR} to a writable directory"
        ) from exc
    # A stable part name lets a later call resume an interrupted download of the same file.
    part = entry / f".{name}.{expected_md5 or 'unverified'}.part"
    # Locks live apart from the entries so that an entry holds only data and part files.
    with _locked(lock):
        # Another process may have finished this very file while we waited for the lock.
        if expected_md5 is not None:
            done = entry / expected_md5.lower() / name
            if done.is_file():
                return done
        # Part files of other versions of this file can never be resumed: drop them.
        for stale in entry.glob(f".{name}.*.part"):
            if stale != part:
                stale.unlink(missing_ok=True)
        return _download_locked(
            location, part, entry, name, label, expected_md5, config, check, what
        )


def _download_locked(
    location: str,
    part: Path,
    entry: Path,
    name: str,
    label: str,
    expected_md5: str | None,
    config: CatalogConfig,
    check: Callable[[Path], None] | None,
    what: str,
) -> Path:
    """Body of :func:`download_into_cache`, run while holding the entry's lock."""

    def attempt() -> Path:
        if _is_remote(location):
            _stream_http(location, part, config, label)
        else:
            _copy_local(_local_path(location), part, config, label)
        actual = _md5_of(part)
        if expected_md5 is not None and actual != expected_md5:
            part.unlink(missing_ok=True)
            raise _Transient(
                f"MD5 mismatch for {location}: expected {expected_md5} (published beside "
                f"it), got {actual}; the corrupt download was deleted",
                hint="The server's file does not match its published checksum: try again "
                "later, or another mirror; never use the file unverified",
            )
        if check is not None:
            try:
                check(part)
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
        raise CatalogError(f"{label}: no {what} at {location} ({exc})") from exc
