"""Regions of zarr arrays read without zarr-python (:mod:`prs.genotypes.zarr_store`).

Arrays in the common layout (regular grid, ``bytes`` + ``blosc``) are read from the zip or
directory and decoded directly; every region must equal what zarr-python itself reads (the
format's own reader), bit for bit, with partial edge chunks, chunks split along every
dimension and chunks never written (zarr's fill value). Any other layout is left to
zarr-python, which then reads the same values.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

zarr = pytest.importorskip("zarr")

from prs.genotypes.zarr_store import ZarrStore  # noqa: E402


def _arrays(root: str, zip_store: bool):
    """An int8 (variants, samples, 2) array in 7 x 4 x 1 chunks with one chunk row never
    written, and a float32 (variants, samples) one, in one zarr 3 store."""
    from zarr.codecs import BloscCodec, BytesCodec

    store = zarr.storage.ZipStore(root, mode="w") if zip_store else root
    group = zarr.open_group(store, mode="w", zarr_format=3)
    rng = np.random.default_rng(5)
    gt = group.create_array(
        "call_genotype",
        shape=(30, 10, 2),
        chunks=(7, 4, 1),
        dtype="int8",
        fill_value=-1,
        serializer=BytesCodec(),
        compressors=BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle"),
    )
    values = rng.integers(-2, 3, (30, 10, 2)).astype(np.int8)
    gt[:14] = values[:14]
    gt[21:] = values[21:]  # variants 14..20 (one chunk row) never written
    ds = group.create_array(
        "call_DS",
        shape=(30, 10),
        chunks=(8, 10),
        dtype="float32",
        fill_value=np.nan,
        serializer=BytesCodec(endian="little"),
        compressors=BloscCodec(cname="lz4", clevel=3, shuffle="shuffle"),
    )
    ds_values = rng.random((30, 10)).astype(np.float32)
    ds[:8] = ds_values[:8]
    ds[16:] = ds_values[16:]  # variants 8..15 (one chunk) never written: NaN
    if zip_store:
        store.close()
        group = zarr.open_group(zarr.storage.ZipStore(root, mode="r"), mode="r")
    return group


@pytest.fixture(scope="module", params=[False, True], ids=["directory", "zip"])
def stored(request, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("direct") / ("s.vcz.zip" if request.param else "s.vcz"))
    return root, _arrays(root, request.param)


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_regions_equal_zarrs_reading(stored, data):
    root, group = stored
    store = ZarrStore(root)
    for name in ("call_genotype", "call_DS"):
        expected_array = group[name]
        array = store[name]
        assert array.unsupported is None, name
        assert array.shape == expected_array.shape and array.chunks == expected_array.chunks
        region = []
        for n in array.shape:
            lo = data.draw(st.integers(0, n - 1))
            region.append(slice(lo, data.draw(st.integers(lo + 1, n))))
        got = array[tuple(region)]
        expected = np.asarray(expected_array[tuple(region)])
        assert got.dtype == expected.dtype
        # bit for bit (NaN payloads included)
        np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))


def test_other_layouts_are_left_to_zarr(tmp_path):
    from zarr.codecs import BytesCodec, TransposeCodec, ZstdCodec

    group = zarr.open_group(str(tmp_path / "o.vcz"), mode="w", zarr_format=3)
    values = np.arange(24, dtype=np.int8).reshape(4, 3, 2)
    group.create_array(
        "zstd", data=values, chunks=(2, 3, 2), serializer=BytesCodec(), compressors=ZstdCodec()
    )
    group.create_array("sharded", data=values, chunks=(1, 3, 2), shards=(2, 3, 2), compressors=None)
    group.create_array(
        "transposed",
        data=values,
        chunks=(2, 3, 2),
        filters=TransposeCodec(order=(2, 1, 0)),
        compressors=None,
    )
    store = ZarrStore(str(tmp_path / "o.vcz"))
    for name, why in (("zstd", "codecs"), ("sharded", "codecs"), ("transposed", "codecs")):
        assert store[name].unsupported is not None and why in store[name].unsupported, name
        np.testing.assert_array_equal(store[name][1:4, :2], values[1:4, :2])
