"""Writing results: tables (TSV, Parquet) and JSON, always atomically.

Every output goes to a temporary file in the destination directory and is renamed into
place only once complete, so a failed or killed run never leaves a partial file that looks
finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
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
        with atomic_write(dest, "wb") as fh:
            frame.to_parquet(fh, index=False)
        return dest
    with atomic_write(dest, "wb") as fh:
        if dest.suffix == ".gz":
            frame.to_csv(fh, sep="\t", index=False, compression="gzip", lineterminator="\n")
        else:
            _write_tsv(frame, fh)
    return dest


#: Rows converted and written at a time: the text of a large table never sits in memory whole.
_SLICE_ROWS = 1 << 17


def _write_tsv(frame: pd.DataFrame, fh: Any) -> None:
    """Write ``frame`` as pandas' ``to_csv(sep="\\t", index=False)`` would, slice by slice
    (Arrow's writer where it gives the same bytes, else pandas for the whole table)."""
    for start in range(0, max(len(frame), 1), _SLICE_ROWS):
        text = _tsv_bytes(frame.iloc[start : start + _SLICE_ROWS], header=start == 0)
        if text is None:
            fh.seek(0)
            fh.truncate()
            frame.to_csv(fh, sep="\t", index=False, lineterminator="\n")
            return
        fh.write(text)


_NEEDS_QUOTING = re.compile(r'[\t\n\r"]')


def _any_quote_byte(strings: Any) -> bool:
    """Whether any string holds a tab, newline, carriage return or double quote (bytes
    pandas would quote), from the Arrow data buffers: no per-string work."""
    import pyarrow as pa

    chunks = strings.chunks if hasattr(strings, "chunks") else [strings]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is None or data.size == 0:
            continue
        # Only this chunk's bytes (a slice of a column shares the column's buffer).
        wide = chunk.type in (pa.large_string(), pa.large_binary())
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if wide else np.int32)
        lo, hi = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
        text = data.slice(lo, hi - lo).to_pybytes()  # (a copy, then memchr scans: ~GB/s)
        if b"\t" in text or b"\n" in text or b"\r" in text or b'"' in text:
            return True
    return False


def _float_text(values: np.ndarray) -> Any:
    """Floats as Python's ``repr`` writes them (what pandas writes), NaN as "".

    Arrow's cast gives the same shortest digits; it differs only in notation: no ``.0`` on
    whole numbers, and exponents at other magnitudes. So Arrow formats values in
    [1e-4, 1e10) and zeros (with ``.0`` added to whole numbers), Python the rest, and a
    sample of Arrow's strings is checked against ``repr`` (any difference: all by Python).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    size = np.abs(values)
    arrow_ok = ((size >= 1e-4) & (size < 1e10)) | (values == 0)
    text = pc.cast(pa.array(values), pa.string())
    whole = arrow_ok & (values == np.trunc(values))
    if whole.any():
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, ".0", ""), text)
    sample = np.flatnonzero(arrow_ok)
    sample = sample[:: max(len(sample) // 256, 1)]
    if text.take(sample).to_pylist() != [repr(v) for v in values[sample].tolist()]:
        arrow_ok[:] = False  # an Arrow that formats otherwise: Python writes every value
    other = np.flatnonzero(~arrow_ok)
    if len(other):
        python = pa.array([repr(v) for v in values[other].tolist()], type=pa.string())
        mask = np.zeros(len(values), dtype=bool)
        mask[other] = True
        text = pc.replace_with_mask(text, pa.array(mask), python)
    missing = np.isnan(values)
    if missing.any():
        text = pc.if_else(pa.array(missing), "", text)
    return text


def _tsv_bytes(frame: pd.DataFrame, header: bool = True) -> bytes | None:
    """``frame.to_csv(sep="\\t", index=False)`` byte for byte, about twice as fast (Arrow's
    writer; floats as Python's shortest repr, as pandas writes them). ``header=False``
    leaves out the column line (the rows of a later slice).

    None when the frame has anything whose text pandas would write differently (a value to
    quote, a dtype other than int, float64, bool and str): the caller then uses pandas.
    """
    import pyarrow as pa  # (imported here: the CLI's start-up does not need it)
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    if isinstance(frame.columns, pd.MultiIndex):
        return None  # pandas writes one header line per level
    names = [str(c) for c in frame.columns]
    # (One column: the csv module quotes a lone empty field; leave that to pandas.)
    if (
        len(names) < 2
        or len(set(names)) != len(names)
        or any(_NEEDS_QUOTING.search(n) for n in names)
    ):
        return None
    columns = []
    for name in frame.columns:
        series = frame[name]
        dtype = series.dtype
        if isinstance(dtype, np.dtype) and dtype == np.float64:
            columns.append(_float_text(series.to_numpy()))
            continue
        elif isinstance(dtype, np.dtype) and dtype == np.bool_:
            text = np.where(series.to_numpy(), "True", "False").astype(object)
        elif isinstance(dtype, np.dtype) and dtype.kind in "iu":
            columns.append(pa.array(series.to_numpy()).cast(pa.string()))
            continue
        elif pd.api.types.is_string_dtype(dtype):
            if dtype is np.dtype(object) and pd.api.types.infer_dtype(series, skipna=True) not in (
                "string",
                "empty",
            ):
                return None  # bytes or mixed objects: pandas writes their repr
            try:  # Arrow-backed columns convert without a copy; objects must all be str
                strings = pa.array(series, type=pa.string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return None
            strings = pc.fill_null(strings, "")
            if _any_quote_byte(strings):
                return None
            columns.append(strings)
            continue
        else:
            return None
        columns.append(pa.array(text, type=pa.string()))
    out = io.BytesIO()
    if header:
        out.write(("\t".join(names) + "\n").encode())
    if len(frame):
        table = pa.Table.from_arrays(columns, names=names)
        options = pcsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
        pcsv.write_csv(table, out, options)
    return out.getvalue()


def file_checksum(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, hex (the provenance of every input)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
