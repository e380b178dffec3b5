"""Provenance: one record shape for every output, file checksums, the background hasher.

Every provenance record prs writes (``provenance.json`` of a score run, a reference file's
``provenance``) starts with the same keys, made by :func:`record`:

``prs_version``
    The library version that wrote it.
``created``
    UTC time, ISO 8601 to the second.
``python``, ``numpy``
    The interpreter and numpy versions (numbers depend on both).
``options``
    The options the run was called with.

followed by the record's own sections (inputs, counts, ...). Every input file is described by
:func:`file_record` — ``{"path": <absolute path>, "sha256": <hex digest>}`` — plus whatever
the section adds about it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from prs._version import __version__

#: Bytes hashed per read: large enough that hashlib releases the GIL while it works.
_BLOCK = 1 << 20


def file_checksum(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, hex (the provenance of every input).

    A directory (a VCF Zarr store) is hashed as a whole: SHA-256 over its files in sorted
    relative-path order, each as ``<relative path>\0<the file's SHA-256>\n`` — so a store's
    checksum changes when any chunk, name or file set changes.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
    ...     _ = fh.write(b"abc")
    >>> file_checksum(fh.name)[:16]
    'ba7816bf8f01cfea'
    """
    if Path(path).is_dir():
        return _directory_checksum(Path(path))
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _directory_checksum(root: Path) -> str:
    """SHA-256 over a directory's files (see :func:`file_checksum`)."""
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for file in files:
        relative = file.relative_to(root).as_posix()
        digest.update(f"{relative}\0{file_checksum(file)}\n".encode())
    return digest.hexdigest()


def file_record(path: str | os.PathLike[str], sha256: str | None = None) -> dict[str, Any]:
    """``{"path": <absolute path>, "sha256": <digest>}`` of an input file.

    ``sha256`` when it is already known (e.g. from :class:`BackgroundChecksums`); otherwise the
    file is hashed now.
    """
    return {
        "path": str(Path(path).resolve()),
        "sha256": file_checksum(path) if sha256 is None else sha256,
    }


def record(options: Mapping[str, Any], **sections: Any) -> dict[str, Any]:
    """A provenance record: the common keys (module docstring), then ``sections`` in order.

    Examples
    --------
    >>> r = record({"dosage": "GT"}, counts={"samples": 3})
    >>> list(r)
    ['prs_version', 'created', 'python', 'numpy', 'options', 'counts']
    """
    out: dict[str, Any] = {
        "prs_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "options": dict(options),
    }
    for key, value in sections.items():
        if key in out:
            raise ValueError(f"provenance section {key!r} would replace a common key")
        out[key] = value
    return out


class BackgroundChecksums:
    """SHA-256 of files, hashed in a daemon thread while the caller works (hashlib releases
    the GIL on large blocks); a daemon, so a failed run does not wait for it at exit."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        self._paths = list(paths)
        self._digests: list[str] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="prs-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._digests = [file_checksum(p) for p in self._paths]
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> list[str]:
        """The digests, in path order (waits for the thread)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digests

    def records(self) -> list[dict[str, Any]]:
        """:func:`file_record` of every path, in order (waits for the thread)."""
        return [
            file_record(p, digest) for p, digest in zip(self._paths, self.result(), strict=True)
        ]
