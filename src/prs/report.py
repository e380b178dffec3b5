"""Writing results: tables (TSV, Parquet) and JSON, always atomically.

Every output goes to a temporary file in the destination directory and is renamed into
place only once complete, so a failed or killed run never leaves a partial file that looks
finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd

from prs.errors import ReportError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success.

    Parameters
    ----------
    path
        Destination. Its directory is created if missing.
    mode
        ``"w"`` (text, UTF-8) or ``"wb"``.

    Raises
    ------
    ReportError
        When the destination cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_write(d / "x.txt") as fh:
    ...     _ = fh.write("done")
    >>> (d / "x.txt").read_text()
    'done'
    """
    dest = Path(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise ReportError(f"{dest}: cannot write output ({exc.strerror or exc})") from exc
    tmp_path = Path(tmp)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding, newline=None if "b" in mode else "") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` atomically as TSV (``.tsv``, ``.txt``, ``.tsv.gz``) or Parquet.

    Parameters
    ----------
    frame
        The table; its index is not written.
    path
        Destination; ``.parquet`` selects Parquet (needs pyarrow, extra ``parquet``).

    Returns
    -------
    Path
        The written path.
    """
    dest = Path(path)
    if dest.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ReportError(
                f"{dest}: Parquet output needs pyarrow (pip install 'prs[parquet]')"
            ) from exc
        with atomic_write(dest, "wb") as fh:
            frame.to_parquet(fh, index=False)
        return dest
    compression = "gzip" if dest.suffix == ".gz" else None
    with atomic_write(dest, "wb") as fh:
        frame.to_csv(fh, sep="\t", index=False, compression=compression, lineterminator="\n")
    return dest


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` atomically as indented JSON (numpy scalars converted)."""
    dest = Path(path)

    def default(value: Any) -> Any:
        if hasattr(value, "item"):
            return value.item()
        if hasattr(value, "tolist"):
            return value.tolist()
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    with atomic_write(dest) as fh:
        json.dump(obj, fh, indent=2, sort_keys=False, default=default)
        fh.write("\n")
    return dest
