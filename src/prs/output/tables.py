"""Tables (TSV, Parquet) and JSON, written atomically, alone or as one set.

A single file (:func:`write_table`, :func:`write_json`) goes to a temporary file beside its
destination and is renamed into place only once complete. The files of one run
(:func:`output_set`) are staged together and published as one set under a lock on the output
directory, the marker file (``provenance.json``) last: see :mod:`prs.output.publish` for the
protocol. Files get mode ``0o666`` less the umask; every ``OSError`` while writing becomes a
:class:`~prs.errors.ReportError` naming the path.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from prs.errors import ReportError
from prs.output.publish import DEFAULT_LOCK_TIMEOUT, OutputSet, atomic_write


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` atomically as TSV (``.tsv``, ``.txt``; ``.gz`` gzip- or ``.zst``
    Zstandard-compressed) or Parquet.

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

    Raises
    ------
    ReportError
        When the file cannot be written (full disk, no permission, read-only, I/O error).
    """
    dest = Path(path)
    with atomic_write(dest, "wb") as fh:
        _write_table_to(frame, fh, dest.name)
    return dest


def _write_table_to(frame: pd.DataFrame, fh: IO[bytes], name: str) -> None:
    """The bytes of ``frame`` in the format its file ``name`` calls for (``.gz``/``.zst``:
    the TSV text compressed)."""
    if name.endswith(".parquet"):
        frame.to_parquet(fh, index=False)
    elif name.endswith(COMPRESSED_SUFFIXES):
        with compressed_stream(fh, name) as stream:
            _write_tsv_rows(frame, stream, header=True)
    else:
        _write_tsv(frame, fh)


#: Suffixes of compressed text tables and the compression each names.
COMPRESSED_SUFFIXES = (".gz", ".zst")

#: Level of the gzip stream, written by ISA-L's igzip (isal, a core dependency): its level 2
#: (its default) wrote a 47 MB score table 12x faster than zlib's level 6 (0.5 s vs 6.1 s) for
#: a file 6% larger (14.2 vs 13.4 MB); any gzip reader reads it.
GZIP_LEVEL = 2


@contextlib.contextmanager
def compressed_stream(fh: IO[bytes], name: str) -> Iterator[IO[bytes]]:
    """A binary stream compressing into ``fh`` as ``name``'s suffix says: ``.gz`` gzip
    (ISA-L's igzip; no file name and time 0 in its header, so the same table gives the same
    bytes), ``.zst`` Zstandard (needs the ``zstandard`` package)."""
    if name.endswith(".gz"):
        from isal import igzip

        with igzip.IGzipFile(
            filename="", mode="wb", fileobj=fh, compresslevel=GZIP_LEVEL, mtime=0
        ) as stream:
            yield stream  # type: ignore[misc]
    elif name.endswith(".zst"):
        zstandard = require_zstandard()
        with zstandard.ZstdCompressor().stream_writer(fh, closefd=False) as stream:
            yield stream
    else:
        raise ValueError(f"{name}: not a compressed table name ({', '.join(COMPRESSED_SUFFIXES)})")


def require_zstandard() -> Any:
    """The ``zstandard`` module, or a :class:`~prs.errors.ReportError` saying how to get it."""
    try:
        import zstandard
    except ImportError as exc:
        raise ReportError(
            "zstd compression needs the zstandard package (pip install zstandard); or use gzip"
        ) from exc
    return zstandard


def _write_tsv_rows(frame: pd.DataFrame, fh: IO[bytes], *, header: bool) -> None:
    """``frame`` as TSV into a stream that cannot seek (a compressor, a later piece), slice
    by slice: Arrow's writer where it gives pandas' bytes, else pandas for that slice
    (pandas writes a slice as it writes the whole)."""
    for start in range(0, max(len(frame), 1), _SLICE_ROWS):
        part = frame.iloc[start : start + _SLICE_ROWS]
        first = header and start == 0
        text = _tsv_bytes(part, header=first)
        if text is None:  # (as text, then UTF-8: a compressor is no file pandas knows)
            text = part.to_csv(sep="\t", index=False, header=first, lineterminator="\n").encode()
        fh.write(text)


def _write_pieces_to(frames: Iterable[pd.DataFrame], fh: IO[bytes], name: str) -> None:
    """The bytes of the concatenation of ``frames`` as :func:`_write_table_to` writes it,
    one piece at a time (TSV: header from the first piece; Parquet: one row group per
    piece)."""
    if name.endswith(COMPRESSED_SUFFIXES):
        with compressed_stream(fh, name) as stream:
            _write_pieces_to(frames, stream, name.rsplit(".", 1)[0])
        return
    writer = None
    # Only the first piece's column names are kept: holding a written piece (the loop
    # variable included, while the next one is made) would keep its rows in memory.
    columns: list[str] | None = None
    try:
        for frame in frames:
            first = columns is None
            if columns is None:
                columns = list(frame.columns)
            elif list(frame.columns) != columns:
                raise _columns_differ(name, columns, list(frame.columns))
            if name.endswith(".parquet"):
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(fh, table.schema)
                writer.write_table(table.cast(writer.schema))
                del table
            else:
                _write_tsv_rows(frame, fh, header=first)
            del frame
        if columns is None:
            raise ReportError(f"{name}: no pieces to write")
    finally:
        if writer is not None:
            writer.close()


#: Rows converted and written at a time: the text of a large table never sits in memory whole.
_SLICE_ROWS = 1 << 17


def _columns_differ(name: str, first: list[str], other: list[str]) -> ReportError:
    """The error of a piece whose columns are not the first piece's (a bug upstream: the
    table would be misaligned)."""
    missing = [c for c in first if c not in other]
    extra = [c for c in other if c not in first]
    what = f"missing {missing}, extra {extra}" if missing or extra else "in another order"
    return ReportError(
        f"{name}: a piece of the table has other columns than the first piece ({what}); "
        "nothing was written"
    )


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
            columns.append(pc.if_else(pa.array(series.to_numpy()), "True", "False"))
            continue
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
    out = io.BytesIO()
    if header:
        out.write(("\t".join(names) + "\n").encode())
    if len(frame):
        table = pa.Table.from_arrays(columns, names=names)
        options = pcsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
        pcsv.write_csv(table, out, options)
    return out.getvalue()


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` atomically as indented JSON (numpy scalars converted).

    Raises
    ------
    ReportError
        When the file cannot be written.
    """
    dest = Path(path)
    with atomic_write(dest) as fh:
        _write_json_to(obj, fh)
    return dest


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _write_json_to(obj: Any, fh: IO[str]) -> None:
    json.dump(obj, fh, indent=2, sort_keys=False, default=_json_default)
    fh.write("\n")


class ReportOutputs:
    """The files of one run, written into a staging area and published together.

    Made by :func:`output_set`; each writer returns the path the file will have once the
    set is published.
    """

    def __init__(self, outputs: OutputSet) -> None:
        self._outputs = outputs

    @property
    def out_dir(self) -> Path:
        """The directory the set is published into."""
        return self._outputs.out_dir

    def path(self, name: str) -> Path:
        """Where ``name`` will be once published."""
        return self._outputs.path(name)

    def open(self, name: str, mode: str = "w") -> contextlib.AbstractContextManager[IO[Any]]:
        """A new file ``name`` of the set (``"w"`` UTF-8 text or ``"wb"``)."""
        return self._outputs.open(name, mode)

    def write_table(self, frame: pd.DataFrame, name: str) -> Path:
        """Add ``frame`` as ``name`` (TSV, ``.tsv.gz``, ``.tsv.zst`` or ``.parquet``, as
        :func:`write_table`)."""
        with self._outputs.open(name, "wb") as fh:
            _write_table_to(frame, fh, name)
        return self.path(name)

    def write_table_pieces(self, frames: Iterable[pd.DataFrame], name: str) -> Path:
        """Add the rows of ``frames`` (same columns each) as one table ``name``, written
        piece by piece as they come: the same file as :meth:`write_table` of their
        concatenation, without holding it (a match report written chromosome by
        chromosome). TSV (``.gz``/``.zst`` compressed) or ``.parquet``."""
        with self._outputs.open(name, "wb") as fh:
            _write_pieces_to(frames, fh, name)
        return self.path(name)

    def write_json(self, obj: Any, name: str) -> Path:
        """Add ``obj`` as indented JSON file ``name`` (as :func:`write_json`)."""
        with self._outputs.open(name, "w") as fh:
            _write_json_to(obj, fh)
        return self.path(name)


@contextlib.contextmanager
def output_set(
    out_dir: str | os.PathLike[str],
    *,
    marker: str | None = "provenance.json",
    lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT,
) -> Iterator[ReportOutputs]:
    """Write several files into ``out_dir`` as one unit: all published, or none.

    The directory is locked for the block (a second run waits, then publishes after this
    one), files are written into a private staging directory inside ``out_dir`` and moved
    into place when the block ends without an exception — ``marker`` removed first and
    put back last, so a directory holding ``marker`` holds a complete set. On an exception
    (also KeyboardInterrupt) the staged files are discarded and ``out_dir`` keeps its
    previous files. What a killed run left is finished or removed by the next one.

    Parameters
    ----------
    out_dir
        The output directory (created, mode 0o777 less the umask).
    marker
        The file that marks a complete set (written last; default ``provenance.json``).
    lock_timeout
        Seconds to wait for another run's lock on ``out_dir`` (None: forever).

    Raises
    ------
    ReportError
        When a file cannot be written, or the lock not taken in ``lock_timeout`` s.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with output_set(d / "out") as outs:
    ...     _ = outs.write_table(pd.DataFrame({"a": [1], "b": [2]}), "t.tsv")
    ...     _ = outs.write_json({"n": 1}, "provenance.json")
    >>> sorted(p.name for p in (d / "out").iterdir())
    ['provenance.json', 't.tsv']
    """
    with OutputSet(out_dir, marker=marker, lock_timeout=lock_timeout) as outputs:
        yield ReportOutputs(outputs)
