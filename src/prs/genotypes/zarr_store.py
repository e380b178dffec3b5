"""Zarr stores read without zarr-python, for the layout VCF Zarr stores have in common.

bio2zarr writes every array of a VCF Zarr store the same way: zarr format 3 (or 2), a
regular chunk grid, C order, numbers through the ``bytes`` codec (little-endian) then
``blosc``, strings through ``vlen-utf8`` then ``blosc``. Such an array is read here from
its JSON metadata (``zarr.json``; ``.zarray``/``.zattrs`` in format 2) and its chunk bytes,
straight from the directory or the zip (:mod:`zipfile`); chunks are decoded by the codecs
zarr-python itself uses (numcodecs' ``Blosc`` and ``VLenUTF8``; importing numcodecs costs a
fraction of zarr-python's import, which is the difference a fresh ``prs score`` feels). A
chunk never written holds the array's fill value; edge chunks are stored whole and cut.

Any other array (other codecs or filters, sharding, a non-regular grid, F order, a
big-endian or object type it cannot decode) is read by zarr-python, opened only then; its
:attr:`StoreArray.unsupported` says why, for the reader to record.

Chunk keys (zarr 3's ``default`` encoding ``c/0/1`` or ``c.0.1``, its ``v2`` encoding
``0.1``; format 2's ``dimension_separator``), the vlen-utf8 encoding (a u32le item count,
then per item a u32le byte length and the UTF-8 bytes: zarr-extensions' ``vlen-utf8``,
numcodecs' ``VLenUTF8``) and the fill values (numbers, ``"NaN"``, ``"Infinity"``, hex bit
patterns; format 2's ``null`` read as zero or ``""``, as zarr-python reads it) follow the
zarr specifications.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import weakref
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from prs.errors import GenotypeFileError

__all__ = ["StoreArray", "ZarrStore"]

#: zarr 3 data types read here (as stored by the ``bytes`` codec, before its endian).
_V3_TYPES = {
    "bool": "b1",
    "int8": "i1",
    "int16": "i2",
    "int32": "i4",
    "int64": "i8",
    "uint8": "u1",
    "uint16": "u2",
    "uint32": "u4",
    "uint64": "u8",
    "float16": "f2",
    "float32": "f4",
    "float64": "f8",
}
_STRING = np.dtype(object)
_SPECIAL_FLOATS = {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}


@dataclass(frozen=True)
class _Layout:
    """How one array's chunks are stored, as far as this module needs to know."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype  # object: UTF-8 strings
    fill_value: Any
    attrs: dict[str, Any]
    key: Callable[[tuple[int, ...]], str]  # chunk index -> key inside the array
    blosc: bool  # chunks compressed by blosc (else stored raw)
    unsupported: str | None  # why zarr-python reads it (None: read here)


class ZarrStore:
    """A zarr group (format 3 or 2) in a directory or a zip, its arrays read as numpy.

    Parameters
    ----------
    path
        The store: a directory holding ``zarr.json`` (``.zgroup``), or a ``.zip`` of one.

    Raises
    ------
    GenotypeFileError
        The path is not a zarr group, or its metadata cannot be read.

    Examples
    --------
    >>> ZarrStore("absent.vcz")
    Traceback (most recent call last):
    ...
    prs.errors.GenotypeFileError: absent.vcz: not a Zarr store (no such directory or zip); ...
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        path = self.path
        self._zip: zipfile.ZipFile | None = None
        self._zarr_group: Any = None
        self._arrays: dict[str, StoreArray] = {}
        self._read: dict[str, dict[str, Any] | None] = {}
        if os.path.isdir(path):
            names = None
        elif os.path.isfile(path):
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise self._not_a_store(f"{type(exc).__name__}: {exc}") from exc
            weakref.finalize(self, self._zip.close)
            names = self._zip.namelist()
        else:
            raise self._not_a_store("no such directory or zip")
        root = self._json("zarr.json")
        if root is not None:
            if root.get("zarr_format") != 3 or root.get("node_type") != "group":
                raise self._not_a_store("zarr.json does not describe a zarr 3 group")
            self.zarr_format = 3
            self.attrs: dict[str, Any] = dict(root.get("attributes") or {})
            marker = "zarr.json"
        elif (group := self._json(".zgroup")) is not None:
            if group.get("zarr_format") != 2:
                raise self._not_a_store(".zgroup does not describe a zarr 2 group")
            self.zarr_format = 2
            self.attrs = dict(self._json(".zattrs") or {})
            marker = ".zarray"
        else:
            raise self._not_a_store("no zarr.json or .zgroup")
        self._names = sorted(self._array_names(names, marker))

    def _not_a_store(self, why: str) -> GenotypeFileError:
        return GenotypeFileError(
            f"{self.path}: not a Zarr store ({why}); a VCF Zarr store is a directory (or "
            ".zip) written by e.g. bio2zarr's vcf2zarr"
        )

    # -- the store's files ------------------------------------------------------------------
    def raw(self, key: str) -> bytes | None:
        """The bytes stored at ``key`` (``/``-separated), or None when there are none."""
        try:
            if self._zip is not None:
                return self._zip.read(key)
            with open(os.path.join(self.path, *key.split("/")), "rb") as handle:
                return handle.read()
        except (KeyError, FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, zipfile.BadZipFile, zlib.error) as exc:  # (a damaged zip member)
            raise GenotypeFileError(f"{self.path}: cannot read {key} ({exc})") from exc

    def _json(self, key: str) -> dict[str, Any] | None:
        raw = self.raw(key)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise GenotypeFileError(f"{self.path}: {key} is not JSON ({exc})") from exc
        if not isinstance(value, dict):
            raise GenotypeFileError(f"{self.path}: {key} is not a JSON object")
        return value

    def _array_names(self, names: list[str] | None, marker: str) -> list[str]:
        """Arrays directly under the root (bio2zarr keeps them all there)."""
        if names is None:
            with os.scandir(self.path) as entries:
                found = [
                    e.name
                    for e in entries
                    if e.is_dir() and os.path.isfile(os.path.join(e.path, marker))
                ]
        else:
            found = [n[: -len(marker) - 1] for n in names if n.endswith("/" + marker)]
            found = [n for n in found if n and "/" not in n]
        if marker == "zarr.json":  # (a zarr 3 node may be a group)
            found = [n for n in found if self._node_type(n) == "array"]
        return found

    def _node_type(self, name: str) -> str | None:
        meta = self._metadata(f"{name}/zarr.json")
        return None if meta is None else meta.get("node_type")

    def _metadata(self, key: str) -> dict[str, Any] | None:
        """The JSON at ``key``, read once."""
        if key not in self._read:
            self._read[key] = self._json(key)
        return self._read[key]

    # -- arrays -----------------------------------------------------------------------------
    def array_names(self) -> list[str]:
        """The names of the arrays at the store's root, sorted."""
        return list(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def array(self, name: str) -> StoreArray:
        """Array ``name`` (its metadata read once).

        Raises
        ------
        GenotypeFileError
            No such array, or metadata that does not describe one.
        """
        if name not in self._arrays:
            if name not in self._names:
                raise GenotypeFileError(f"{self.path}: no array {name}")
            try:
                layout = (
                    _v3_layout(self._metadata(f"{name}/zarr.json") or {})
                    if self.zarr_format == 3
                    else _v2_layout(
                        self._json(f"{name}/.zarray") or {}, self._json(f"{name}/.zattrs") or {}
                    )
                )
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
                # (a field of the wrong JSON type; a fill value outside the data type's range)
                raise GenotypeFileError(
                    f"{self.path}: array {name}'s metadata is not zarr's "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            self._arrays[name] = StoreArray(self, name, layout)
        return self._arrays[name]

    def __getitem__(self, name: str) -> StoreArray:
        return self.array(name)

    def _zarr_array(self, name: str) -> Any:
        """Array ``name`` opened by zarr-python (the group opened once)."""
        if self._zarr_group is None:
            try:
                import zarr
            except ImportError as exc:  # (should zarr become an optional dependency)
                raise GenotypeFileError(
                    f"{self.path}: array {name} is stored in a layout prs does not read itself "
                    f"({self.array(name).unsupported}); zarr-python reads it: pip install zarr"
                ) from exc

            if self._zip is not None:
                zip_store = zarr.storage.ZipStore(self.path, mode="r")
                weakref.finalize(self, zip_store.close)
                self._zarr_group = zarr.open_group(zip_store, mode="r")
            else:
                self._zarr_group = zarr.open_group(self.path, mode="r")
        return self._zarr_group[name]


class StoreArray:
    """One array of a :class:`ZarrStore`: its metadata, and regions read as numpy arrays
    (strings as Python ``str`` objects) by basic slicing (``array[lo:hi, c0:c1]``)."""

    def __init__(self, store: ZarrStore, name: str, layout: _Layout) -> None:
        self.store = store
        self.name = name
        self._layout = layout
        self._zarr: Any = None
        self._blosc: Any = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape."""
        return self._layout.shape

    @property
    def chunks(self) -> tuple[int, ...]:
        """The chunk grid's chunk shape."""
        return self._layout.chunks

    @property
    def dtype(self) -> np.dtype:
        """The values' type (``object`` for strings)."""
        return self._layout.dtype

    @property
    def fill_value(self) -> Any:
        """The value of every element of a chunk never written."""
        return self._layout.fill_value

    @property
    def attrs(self) -> dict[str, Any]:
        """The array's attributes (zarr 3 ``attributes``; format 2's ``.zattrs``)."""
        return self._layout.attrs

    @property
    def unsupported(self) -> str | None:
        """Why zarr-python reads this array (None: read here)."""
        return self._layout.unsupported

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.read(_region(key, self.shape, self.name))

    def read(self, region: tuple[slice, ...]) -> np.ndarray:
        """The values in ``region`` (one ``start:stop`` slice per dimension, within the
        shape), a new array.

        Raises
        ------
        GenotypeFileError
            A chunk that cannot be decoded (named with its key).
        """
        if self._layout.unsupported is not None:
            return self._read_by_zarr(region)
        starts = [s.start for s in region]
        stops = [s.stop for s in region]
        shape = tuple(b - a for a, b in zip(starts, stops, strict=True))
        if 0 in shape:
            return np.empty(shape, dtype=self.dtype)
        chunks = self.chunks
        spans = [
            range(a // c, (b - 1) // c + 1) for a, b, c in zip(starts, stops, chunks, strict=True)
        ]
        if all(len(span) == 1 for span in spans):  # one chunk: a view, no assembling copy
            index = tuple(span[0] for span in spans)
            chunk = self._chunk(index)
            return chunk[
                tuple(
                    slice(a - i * c, b - i * c)
                    for a, b, i, c in zip(starts, stops, index, chunks, strict=True)
                )
            ]
        out = np.empty(shape, dtype=self.dtype)
        for index in itertools.product(*spans):
            lo = [max(a, i * c) for a, i, c in zip(starts, index, chunks, strict=True)]
            hi = [min(b, (i + 1) * c) for b, i, c in zip(stops, index, chunks, strict=True)]
            chunk = self._chunk(index)
            out[tuple(slice(x - a, y - a) for x, y, a in zip(lo, hi, starts, strict=True))] = chunk[
                tuple(
                    slice(x - i * c, y - i * c)
                    for x, y, i, c in zip(lo, hi, index, chunks, strict=True)
                )
            ]
        return out

    def _read_by_zarr(self, region: tuple[slice, ...]) -> np.ndarray:
        try:
            if self._zarr is None:
                self._zarr = self.store._zarr_array(self.name)
            values = np.asarray(self._zarr[region])
        except GenotypeFileError:
            raise
        except Exception as exc:  # zarr and its codecs raise their own kinds
            raise GenotypeFileError(
                f"{self.store.path}: cannot read array {self.name} "
                f"({type(exc).__name__}: {exc}); the store is damaged or incomplete"
            ) from exc
        return values.astype(object) if self.dtype == _STRING else values

    def _chunk(self, index: tuple[int, ...]) -> np.ndarray:
        """Chunk ``index`` decoded, whole (a chunk never written: the fill value)."""
        layout = self._layout
        key = f"{self.name}/{layout.key(index)}"
        raw = self.store.raw(key)
        if raw is None:
            return np.full(layout.chunks, layout.fill_value, dtype=layout.dtype)
        try:
            return self._decode(raw)
        except (ValueError, RuntimeError) as exc:  # (numcodecs' words for a damaged chunk)
            raise GenotypeFileError(
                f"{self.store.path}: cannot decode chunk {key} of {self.name} ({exc}); the "
                "store is damaged or incomplete"
            ) from exc

    def _decode(self, raw: bytes) -> np.ndarray:
        layout = self._layout
        size = math.prod(layout.chunks)
        if layout.blosc and self._blosc is None:
            from numcodecs.blosc import Blosc

            self._blosc = Blosc()
        if layout.dtype == _STRING:
            from numcodecs.vlen import VLenUTF8

            data = self._blosc.decode(raw) if layout.blosc else raw
            if len(data) < 4 or int.from_bytes(bytes(data[:4]), "little") != size:
                raise ValueError(f"the chunk does not hold {size} strings")
            values = VLenUTF8().decode(data)
            return values.reshape(layout.chunks)
        expected = size * layout.dtype.itemsize
        if not layout.blosc:
            if len(raw) != expected:
                raise ValueError(f"{len(raw)} bytes, expected {expected}")
            return np.frombuffer(raw, dtype=layout.dtype).reshape(layout.chunks).copy()
        # blosc's 16-byte header: the decoded size at 4..8, the encoded size at 12..16
        if (
            len(raw) < 16
            or int.from_bytes(raw[4:8], "little") != expected
            or int.from_bytes(raw[12:16], "little") != len(raw)
        ):
            raise ValueError(f"not a blosc buffer of {expected} bytes")
        out = np.empty(layout.chunks, dtype=layout.dtype)
        self._blosc.decode(raw, out=out)
        return out


def _region(key: Any, shape: tuple[int, ...], name: str) -> tuple[slice, ...]:
    """``key`` (slices, or ``...``) as one bounded ``start:stop`` slice per dimension."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:at] + (slice(None),) * (len(shape) - len(key) + 1) + key[at + 1 :]
    key = key + (slice(None),) * (len(shape) - len(key))
    if len(key) != len(shape) or not all(isinstance(k, slice) for k in key):
        raise TypeError(f"{name}: only slices select a region ({key!r})")
    region = []
    for k, n in zip(key, shape, strict=True):
        start, stop, step = k.indices(n)
        if step != 1:
            raise TypeError(f"{name}: only slices of step 1 select a region ({key!r})")
        region.append(slice(start, max(start, stop)))
    return tuple(region)


# -- metadata ---------------------------------------------------------------------------------
def _v3_layout(meta: dict[str, Any]) -> _Layout:
    """A zarr 3 array's layout from its ``zarr.json``."""
    if meta.get("zarr_format") != 3 or meta.get("node_type") != "array":
        raise ValueError("not a zarr 3 array")
    shape = tuple(int(x) for x in meta["shape"])
    grid = meta["chunk_grid"]
    attrs = dict(meta.get("attributes") or {})
    unsupported = None
    chunks = shape
    if grid.get("name") != "regular":
        unsupported = f"chunk grid {grid.get('name')!r}"
    else:
        chunks = tuple(int(x) for x in grid["configuration"]["chunk_shape"])
    data_type = meta["data_type"]
    dtype = _STRING if data_type == "string" else None
    if dtype is None and isinstance(data_type, str) and data_type in _V3_TYPES:
        dtype = np.dtype("<" + _V3_TYPES[data_type])
    codecs = [c if isinstance(c, dict) else {"name": c} for c in meta.get("codecs", [])]
    names = [c.get("name") for c in codecs]
    blosc = names[1:] == ["blosc"]
    if dtype is None:
        unsupported = unsupported or f"data type {data_type!r}"
        dtype = _STRING
    elif names[1:] not in ([], ["blosc"]) or not names:
        unsupported = unsupported or f"codecs {names}"
    elif dtype == _STRING and names[0] != "vlen-utf8":
        unsupported = unsupported or f"codecs {names}"
    elif dtype != _STRING:
        endian = (codecs[0].get("configuration") or {}).get("endian", "little")
        if names[0] != "bytes" or (dtype.itemsize > 1 and endian != "little"):
            unsupported = unsupported or f"codecs {names} ({endian} endian)"
    if meta.get("storage_transformers"):
        unsupported = unsupported or "storage transformers"
    if not shape or len(chunks) != len(shape) or min(chunks, default=0) < 1:
        unsupported = unsupported or f"shape {shape} in chunks {chunks}"
    encoding = meta.get("chunk_key_encoding") or {"name": "default"}
    config = encoding.get("configuration") or {}
    if encoding.get("name") == "default":
        separator = config.get("separator", "/")

        def key(index: tuple[int, ...]) -> str:
            return separator.join(["c", *map(str, index)])

    elif encoding.get("name") == "v2":
        key = _v2_key(config.get("separator", "."))
    else:
        unsupported = unsupported or f"chunk key encoding {encoding.get('name')!r}"
        key = _v2_key(".")
    return _Layout(
        shape, chunks, dtype, _fill(meta.get("fill_value"), dtype), attrs, key, blosc, unsupported
    )


def _v2_layout(meta: dict[str, Any], attrs: dict[str, Any]) -> _Layout:
    """A zarr 2 array's layout from its ``.zarray`` and ``.zattrs``."""
    if meta.get("zarr_format") != 2:
        raise ValueError("not a zarr 2 array")
    shape = tuple(int(x) for x in meta["shape"])
    chunks = tuple(int(x) for x in meta["chunks"])
    filters = [f.get("id") for f in meta.get("filters") or []]
    compressor = (meta.get("compressor") or {}).get("id")
    unsupported = None
    stored = np.dtype(meta["dtype"]) if isinstance(meta["dtype"], str) else None
    if stored is None:
        unsupported, dtype = f"structured data type {meta['dtype']!r}", _STRING
    elif stored.kind == "O":
        dtype = _STRING
        if filters != ["vlen-utf8"]:
            unsupported = f"object data type with filters {filters}"
    else:
        dtype = stored.newbyteorder("<") if stored.itemsize > 1 else stored
        if stored.kind not in "biuf" or stored.byteorder == ">" or filters:
            unsupported = f"data type {meta['dtype']!r} with filters {filters}"
    if compressor not in (None, "blosc"):
        unsupported = unsupported or f"compressor {compressor!r}"
    if meta.get("order", "C") != "C":
        unsupported = unsupported or f"order {meta.get('order')!r}"
    if not shape or len(chunks) != len(shape) or min(chunks, default=0) < 1:
        unsupported = unsupported or f"shape {shape} in chunks {chunks}"
    return _Layout(
        shape,
        chunks,
        dtype,
        _fill(meta.get("fill_value"), dtype),
        dict(attrs),
        _v2_key(meta.get("dimension_separator") or "."),
        compressor == "blosc",
        unsupported,
    )


def _v2_key(separator: str) -> Callable[[tuple[int, ...]], str]:
    def key(index: tuple[int, ...]) -> str:
        return separator.join(map(str, index))

    return key


def _fill(value: Any, dtype: np.dtype) -> Any:
    """The fill value as a numpy scalar of ``dtype`` (format 2's ``null``: zero, or ``""``)."""
    if dtype == _STRING:
        return "" if value is None else str(value)
    if value is None:
        return dtype.type(0)
    if dtype.kind == "f" and isinstance(value, str):
        if value in _SPECIAL_FLOATS:
            return dtype.type(_SPECIAL_FLOATS[value])
        if value.startswith("0x"):  # the value's bits, as an unsigned integer
            bits = np.array(int(value, 16), dtype=f"<u{dtype.itemsize}")
            return bits.view(dtype)[()]
        raise ValueError(f"fill value {value!r}")
    if dtype.kind == "b":
        return np.bool_(bool(value))
    return dtype.type(value)
