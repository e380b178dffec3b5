"""VCF Zarr chunks read without zarr-python's event loop (``_DirectChunks``).

Arrays in the common layout (regular grid, ``bytes`` + ``blosc``) are read from the zip or
directory and decoded directly; every region must equal what zarr-python itself reads (the
format's own reader), with partial edge chunks, several sample chunks and chunks never
written (zarr's fill value). Any other layout is left to zarr-python.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

zarr = pytest.importorskip("zarr")

from prs.genotypes.zarr import _DirectChunks  # noqa: E402


def _arrays(root: str, zip_store: bool):
    """An int8 (variants, samples, 2) array in 7 x 4 chunks with one chunk row never
    written, and a float32 (variants, samples) one, in one zarr 3 store."""
    from zarr.codecs import BloscCodec, BytesCodec

    store = zarr.storage.ZipStore(root, mode="w") if zip_store else root
    group = zarr.open_group(store, mode="w", zarr_format=3)
    rng = np.random.default_rng(5)
    gt = group.create_array(
        "call_genotype",
        shape=(30, 10, 2),
        chunks=(7, 4, 2),
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
    ds[:] = rng.random((30, 10)).astype(np.float32)
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
    for name in ("call_genotype", "call_DS"):
        array = group[name]
        direct = _DirectChunks.of(root, array)
        assert direct is not None, name
        lo = data.draw(st.integers(0, 29))
        hi = data.draw(st.integers(lo + 1, 30))
        c0 = data.draw(st.integers(0, 9))
        c1 = data.draw(st.integers(c0 + 1, 10))
        got = direct.region(lo, hi, c0, c1)
        expected = np.asarray(array[lo:hi, c0:c1])
        assert got.dtype == expected.dtype
        # bit for bit (NaN payloads included)
        np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))


def test_other_layouts_are_left_to_zarr(tmp_path):
    from zarr.codecs import BytesCodec, ZstdCodec

    group = zarr.open_group(str(tmp_path / "o.vcz"), mode="w", zarr_format=3)
    zstd = group.create_array(
        "call_genotype",
        shape=(4, 3, 2),
        chunks=(2, 3, 2),
        dtype="int8",
        serializer=BytesCodec(),
        compressors=ZstdCodec(),
    )
    split_ploidy = group.create_array(
        "call_DS", shape=(4, 3, 2), chunks=(2, 3, 1), dtype="int8", serializer=BytesCodec()
    )
    v2 = zarr.open_group(str(tmp_path / "v2.vcz"), mode="w", zarr_format=2)
    old = v2.create_array("call_genotype", shape=(4, 3, 2), chunks=(2, 3, 2), dtype="int8")
    for array in (zstd, split_ploidy, old):
        assert _DirectChunks.of(str(tmp_path), array) is None
