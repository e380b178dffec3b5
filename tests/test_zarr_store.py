"""Zarr stores read without zarr-python (:mod:`prs.genotypes.zarr_store`), against zarr-python.

Every array of stores bio2zarr writes (zarr 3 and 2, directory and zip, any chunking) and of
arrays zarr-python writes in the same layout (shapes, chunks, types, fill values, chunks
never written, edge chunks, key separators) reads here as zarr-python reads it; the
vlen-utf8 chunks decode as the codec's specification says (a decoder written from it);
stores outside the layout are read by zarr-python with the fallback recorded; damaged
stores give a :class:`GenotypeFileError` naming the store and the array.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prs.errors import GenotypeFileError, GenotypeWarning
from prs.genotypes.zarr import VcfZarrSource
from prs.genotypes.zarr_store import ZarrStore
from tests.builders import random_vcf_text, write_scorefile, write_vcf_text

bio2zarr_vcf = pytest.importorskip("bio2zarr.vcf", reason="bio2zarr writes the test stores")
zarr = pytest.importorskip("zarr")
numcodecs = pytest.importorskip("numcodecs")

STRINGS = np.dtypes.StringDType()
FUNCTION_SCOPED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def _zarr_group(path: Path):
    """``path`` opened by zarr-python (a zip through its ZipStore)."""
    if path.suffix == ".zip":
        return zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")
    return zarr.open_group(path, mode="r")


def assert_reads_as_zarr(path: Path) -> ZarrStore:
    """Every array of the store at ``path``: names, shapes, chunks, attributes and values
    (bit for bit; strings as str) as zarr-python reads them, all read here."""
    ours = ZarrStore(str(path))
    theirs = _zarr_group(path)
    assert ours.array_names() == sorted(theirs.array_keys())
    assert ours.attrs == dict(theirs.attrs)
    for name in ours.array_names():
        mine, expected = ours[name], theirs[name]
        assert mine.unsupported is None, (name, mine.unsupported)
        assert (mine.shape, mine.chunks) == (expected.shape, expected.chunks), name
        assert mine.attrs == dict(expected.attrs), name
        _assert_same_values(mine[...], np.asarray(expected[...]), name)
    return ours


def _assert_same_values(got: np.ndarray, expected: np.ndarray, name: str) -> None:
    assert got.shape == expected.shape, name
    if expected.dtype.kind in "OTU":
        assert got.dtype == object, name
        assert got.tolist() == expected.astype(object).tolist(), name
    else:
        assert got.dtype == expected.dtype, name
        np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8), err_msg=name)


def to_zarr(vcf: Path, store: Path, **options) -> Path:
    bio2zarr_vcf.convert([str(vcf)], str(store), worker_processes=0, **options)
    return store


# -- stores bio2zarr writes -------------------------------------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=FUNCTION_SCOPED)
@given(
    seed=st.integers(0, 10_000),
    n_samples=st.integers(1, 12),
    n_records=st.integers(1, 40),
    variants_chunk=st.integers(1, 15),
    samples_chunk=st.integers(1, 6),
    zarr_format=st.sampled_from([2, 3]),
    zipped=st.booleans(),
)
def test_bio2zarr_stores_read_as_zarr_reads_them(
    tmp_path_factory, seed, n_samples, n_records, variants_chunk, samples_chunk, zarr_format, zipped
):
    root = tmp_path_factory.mktemp("b2z")
    dosage = seed % 2 == 0  # (GT:DS:GP; bio2zarr refuses GP of haploid-only records)
    text = random_vcf_text(
        seed, n_samples=n_samples, n_records=n_records, dosage=dosage, haploid=not dosage
    )
    vcf = write_vcf_text(root / "x.vcf.gz", text)
    store = to_zarr(
        vcf,
        root / ("x.vcz.zip" if zipped else "x.vcz"),
        zarr_format=zarr_format,
        variants_chunk_size=variants_chunk,
        samples_chunk_size=samples_chunk,
    )
    ours = assert_reads_as_zarr(store)
    assert ours.zarr_format == zarr_format


# -- arrays zarr-python writes in the same layout ----------------------------------------------

TYPES = ["int8", "int16", "int32", "int64", "uint8", "float32", "float64", "bool", "string"]


@st.composite
def arrays(draw):
    """A shape, chunks, a type, a fill value and values in which some chunks hold only the
    fill value (zarr never writes those)."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    chunks = tuple(draw(st.integers(1, n + 2)) for n in shape)
    dtype = draw(st.sampled_from(TYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == "string":
        words = draw(st.lists(st.text(max_size=6), min_size=1, max_size=8))
        values = np.array(rng.choice(np.array(words, dtype=object), shape), dtype=STRINGS)
        fill = draw(st.sampled_from(["", words[0]]))
    elif dtype == "bool":
        values, fill = rng.random(shape) < 0.5, draw(st.booleans())
    elif dtype.startswith("float"):
        values = rng.normal(size=shape).astype(dtype)
        values[rng.random(shape) < 0.2] = np.nan
        fill = draw(st.sampled_from([0.0, np.nan, -1.5]))
    else:
        info = np.iinfo(dtype)
        values = rng.integers(max(info.min, -100), min(info.max, 100), shape).astype(dtype)
        fill = draw(st.sampled_from([0, 1, -1] if info.min < 0 else [0, 1]))
    blank = rng.random(shape[0]) < 0.4  # rows holding only the fill value
    values[blank] = fill
    return shape, chunks, dtype, fill, values


def _write(group, name: str, shape, chunks, dtype, fill, values, zarr_format: int) -> None:
    from zarr.codecs import BloscCodec, BytesCodec, VLenUTF8Codec

    string = dtype == "string"
    if zarr_format == 2:
        codecs = {"compressors": numcodecs.Blosc(cname="zstd", shuffle=numcodecs.Blosc.SHUFFLE)}
    else:
        codecs = {
            "serializer": VLenUTF8Codec() if string else BytesCodec(),
            "compressors": BloscCodec(cname="lz4", shuffle="bitshuffle"),
        }
    array = group.create_array(
        name,
        shape=shape,
        chunks=chunks,
        dtype=STRINGS if string else dtype,
        fill_value=fill,
        **codecs,
    )
    array[...] = values


@settings(max_examples=60, deadline=None, suppress_health_check=FUNCTION_SCOPED)
@given(
    case=arrays(),
    zarr_format=st.sampled_from([2, 3]),
    zipped=st.booleans(),
    keys=st.sampled_from(["default", "other separator", "v2 encoding"]),
    data=st.data(),
)
def test_arrays_and_regions_read_as_zarr_reads_them(
    tmp_path_factory, case, zarr_format, zipped, keys, data
):
    shape, chunks, dtype, fill, values = case
    path = tmp_path_factory.mktemp("arrays") / ("a.zarr.zip" if zipped else "a.zarr")
    store = zarr.storage.ZipStore(path, mode="w") if zipped else str(path)
    group = zarr.open_group(store, mode="w", zarr_format=zarr_format)
    if keys != "default":  # the format's other separator; zarr 3's "v2" key encoding
        if zarr_format == 2:
            key = {"name": "v2", "separator": "/"}
        elif keys == "other separator":
            key = {"name": "default", "separator": "."}
        else:
            key = {"name": "v2", "separator": "."}
        _write_with_keys(group, shape, chunks, dtype, fill, values, zarr_format, key)
    else:
        _write(group, "a", shape, chunks, dtype, fill, values, zarr_format)
    if zipped:
        store.close()
    ours = ZarrStore(str(path))["a"]
    theirs = _zarr_group(path)["a"]
    assert ours.unsupported is None
    _assert_same_values(ours[...], np.asarray(theirs[...]), "a")
    region = []
    for n in shape:
        lo = data.draw(st.integers(0, n))
        region.append(slice(lo, data.draw(st.integers(lo, n))))
    _assert_same_values(ours[tuple(region)], np.asarray(theirs[tuple(region)]), "a region")


def _write_with_keys(group, shape, chunks, dtype, fill, values, zarr_format, key) -> None:
    """As :func:`_write`, the chunk keys encoded by ``key``."""
    from zarr.codecs import BloscCodec, BytesCodec, VLenUTF8Codec

    string = dtype == "string"
    options = {}
    if zarr_format == 2:
        options["compressors"] = numcodecs.Blosc(cname="zstd")
        options["chunk_key_encoding"] = key
    else:
        options["serializer"] = VLenUTF8Codec() if string else BytesCodec()
        options["compressors"] = BloscCodec(cname="zstd")
        options["chunk_key_encoding"] = key
    array = group.create_array(
        "a",
        shape=shape,
        chunks=chunks,
        dtype=STRINGS if string else dtype,
        fill_value=fill,
        **options,
    )
    array[...] = values


def _spec_vlen_utf8(data: bytes) -> list[str]:
    """vlen-utf8 as zarr-extensions' codec page and numcodecs' VLenUTF8 describe it: a u32le
    item count, then per item a u32le byte length and that many UTF-8 bytes."""
    (count,) = struct.unpack_from("<I", data, 0)
    at, items = 4, []
    for _ in range(count):
        (length,) = struct.unpack_from("<I", data, at)
        items.append(data[at + 4 : at + 4 + length].decode("utf-8"))
        at += 4 + length
    assert at == len(data)
    return items


@settings(max_examples=30, deadline=None, suppress_health_check=FUNCTION_SCOPED)
@given(words=st.lists(st.text(max_size=8), min_size=1, max_size=30), chunk=st.integers(1, 7))
def test_string_chunks_decode_as_the_vlen_utf8_specification_says(tmp_path_factory, words, chunk):
    from zarr.codecs import BloscCodec, VLenUTF8Codec

    path = tmp_path_factory.mktemp("vlen") / "s.zarr"
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    array = group.create_array(
        "s",
        shape=(len(words),),
        chunks=(chunk,),
        dtype=STRINGS,
        fill_value="\x00never",  # (no chunk is all fill: every one is written)
        serializer=VLenUTF8Codec(),
        compressors=BloscCodec(cname="zstd"),
    )
    array[:] = np.array(words, dtype=STRINGS)
    blosc = numcodecs.Blosc()
    expected = []
    for k in range((len(words) + chunk - 1) // chunk):
        items = _spec_vlen_utf8(bytes(blosc.decode((path / "s" / "c" / str(k)).read_bytes())))
        assert len(items) == chunk  # edge chunks are stored whole
        expected += items
    assert ZarrStore(str(path))["s"][:].tolist() == expected[: len(words)] == words


# -- outside the layout: zarr-python, recorded --------------------------------------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, Path]:
    """A VCF (multi-allelic, missing, half and haploid calls) and its zarr 3 store."""
    root = tmp_path_factory.mktemp("store")
    vcf = write_vcf_text(
        root / "calls.vcf.gz", random_vcf_text(11, n_samples=9, n_records=60, half_calls=True)
    )
    store = root / "calls.vcz"
    return vcf, to_zarr(vcf, store, zarr_format=3, variants_chunk_size=7, samples_chunk_size=4)


def _rewrite(store: Path, name: str, **codecs) -> None:
    """Array ``name`` written again with the same values and other codecs."""
    group = zarr.open_group(store, mode="r+")
    old = group[name]
    values, attrs, fill = old[...], dict(old.attrs), old.fill_value
    del group[name]
    new = group.create_array(name, data=values, chunks=old.chunks, fill_value=fill, **codecs)
    new.attrs.update(attrs)


def _reading(source: VcfZarrSource) -> tuple:
    sites = source.sites()
    records = np.repeat(sites["record"].to_numpy(), 2)
    alleles = np.column_stack([np.zeros(len(sites), int), sites["allele_index"]]).ravel()
    dosages = [chunk.dosage.copy() for chunk in source.read(records, alleles, chunk_size=9)]
    return sites, np.concatenate(dosages)


def test_arrays_outside_the_layout_are_read_by_zarr_and_the_fallback_recorded(made, tmp_path):
    from zarr.codecs import BytesCodec, GzipCodec, ZstdCodec

    _, original = made
    store = tmp_path / "other.vcz"
    shutil.copytree(original, store)
    _rewrite(store, "call_genotype", serializer=BytesCodec(), compressors=ZstdCodec())
    _rewrite(store, "variant_allele", compressors=GzipCodec())
    with pytest.warns(GenotypeWarning, match=r"array call_genotype read by zarr-python \(codecs"):
        source = VcfZarrSource(store, half_call="missing")
    noted = [n for n in source.notes if "read by zarr-python" in n]
    # (variant_allele: vlen-utf8 then gzip, a codec pair outside the layout, noted too)
    assert {n.split(": array ")[1].split()[0] for n in noted} == {"call_genotype", "variant_allele"}
    assert all(n.startswith(f"{store}: ") for n in noted)
    expected_sites, expected = _reading(VcfZarrSource(original, half_call="missing"))
    sites, dosages = _reading(source)
    assert sites.equals(expected_sites)
    np.testing.assert_array_equal(dosages, expected)


def test_a_store_in_the_layout_records_no_fallback(made):
    source = VcfZarrSource(made[1], half_call="missing")
    _reading(source)
    assert not [n for n in source.notes if "zarr-python" in n]


# -- damaged stores ---------------------------------------------------------------------------


def _copy(made, tmp_path: Path, name: str) -> Path:
    store = tmp_path / name
    shutil.copytree(made[1], store)
    return store


def test_damaged_chunks_name_the_store_the_array_and_the_variants(made, tmp_path):
    cases = {
        "garbage": b"not a blosc chunk at all",
        "truncated": None,  # the chunk cut in half
        "other": "variant_position/c/0",  # a valid blosc chunk of another size
    }
    chunk = Path("call_genotype/c/1/0/0")
    for case, content in cases.items():
        store = _copy(made, tmp_path, f"{case}.vcz")
        if content is None:
            raw = (store / chunk).read_bytes()
            (store / chunk).write_bytes(raw[: len(raw) // 2])
        elif isinstance(content, str):
            shutil.copy(store / content, store / chunk)
        else:
            (store / chunk).write_bytes(content)
        source = VcfZarrSource(store, half_call="missing")
        sites = source.sites()
        records = sites["record"].to_numpy()
        with pytest.raises(GenotypeFileError) as caught:
            list(source.read(records, np.ones(len(records), dtype=int)))
        message = str(caught.value)
        assert message.startswith(f"{store}: cannot read call_genotype at variants 7..13"), case
        assert "call_genotype/c/1/0/0" in message and "damaged" in message, case


def test_damaged_string_chunks_are_named(made, tmp_path):
    store = _copy(made, tmp_path, "strings.vcz")
    (store / "variant_allele" / "c" / "2" / "0").write_bytes(b"\x00" * 40)
    with pytest.raises(GenotypeFileError, match=r"cannot decode chunk variant_allele/c/2/0"):
        VcfZarrSource(store).sites()


def test_missing_or_bad_metadata_is_named(made, tmp_path):
    store = _copy(made, tmp_path, "no_meta.vcz")
    (store / "variant_allele" / "zarr.json").unlink()
    with pytest.raises(GenotypeFileError, match=r"no_meta\.vcz: not a VCF Zarr store: no array"):
        VcfZarrSource(store)
    store = _copy(made, tmp_path, "bad_json.vcz")
    (store / "variant_position" / "zarr.json").write_text("{not json")
    with pytest.raises(GenotypeFileError, match=r"bad_json\.vcz: variant_position/zarr\.json is"):
        VcfZarrSource(store)
    store = _copy(made, tmp_path, "bad_meta.vcz")
    meta = json.loads((store / "variant_position" / "zarr.json").read_text())
    del meta["chunk_grid"]
    (store / "variant_position" / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(GenotypeFileError, match=r"array variant_position's metadata is not"):
        VcfZarrSource(store)
    store = _copy(made, tmp_path, "no_root.vcz")
    (store / "zarr.json").unlink()
    with pytest.raises(GenotypeFileError, match=r"no_root\.vcz: not a Zarr store \(no zarr"):
        VcfZarrSource(store)


@pytest.mark.parametrize(
    "edit",
    [
        {"chunk_grid": "regular"},  # a string where an object belongs
        {"chunk_key_encoding": "default"},
        {"fill_value": 300},  # outside int8 (call_genotype's type)
        {"fill_value": -1, "data_type": "uint8"},
    ],
)
def test_metadata_fields_of_the_wrong_kind_are_named(made, tmp_path, edit):
    """Metadata whose fields have the wrong JSON type, or a fill value outside the data
    type's range: the named GenotypeFileError (were AttributeError / OverflowError)."""
    store = _copy(made, tmp_path, "kind.vcz")
    meta_path = store / "call_genotype" / "zarr.json"
    meta = json.loads(meta_path.read_text())
    meta.update(edit)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(GenotypeFileError, match=r"array call_genotype's metadata is not"):
        source = VcfZarrSource(store)
        source.sites()
        for _ in source.read(np.arange(3), np.ones(3, dtype=np.int64)):
            pass


def test_a_wrong_shape_in_the_metadata_is_named(made, tmp_path):
    store = _copy(made, tmp_path, "shape.vcz")
    meta_path = store / "call_genotype" / "zarr.json"
    meta = json.loads(meta_path.read_text())
    meta["shape"][1] += 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(GenotypeFileError, match=r"shape\.vcz: call_genotype has shape \(60, 10, 2"):
        VcfZarrSource(store)


def test_a_zip_store_reads_as_its_directory(made, tmp_path):
    _, directory = made
    zipped = tmp_path / "calls.vcz.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    assert_reads_as_zarr(zipped)
    expected_sites, expected = _reading(VcfZarrSource(directory, half_call="missing"))
    sites, dosages = _reading(VcfZarrSource(zipped, half_call="missing"))
    assert sites.equals(expected_sites)
    np.testing.assert_array_equal(dosages, expected)


# -- start-up: scoring a store imports no zarr-python ------------------------------------------


def test_scoring_a_store_in_a_fresh_process_imports_no_zarr(made, tmp_path):
    store = made[1]
    sites = VcfZarrSource(store, half_call="missing").sites().drop_duplicates("pos").head(8)
    rows = [
        ("22", int(s.pos), s.alt, s.ref, 0.1 * (k + 1)) for k, s in enumerate(sites.itertuples())
    ]
    scorefile = write_scorefile(tmp_path / "s.txt", rows)
    probe = (
        "import json, sys\n"
        "from prs.cli import main\n"
        f"code = main(['score', '--genotypes', {str(store)!r}, '--scorefile', "
        f"{str(scorefile)!r}, '--out', {str(tmp_path / 'out')!r}, '--half-call', 'missing', "
        "'--keep-ambiguous'])\n"
        "print(json.dumps([code, sorted(m for m in sys.modules if m.split('.')[0] == 'zarr')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    code, loaded = json.loads(out.splitlines()[-1])
    assert code == 0 and (tmp_path / "out" / "scores.tsv").is_file()
    assert loaded == []
    # the probe can see zarr: the same run on a store outside the layout imports it
    other = tmp_path / "other.vcz"
    shutil.copytree(store, other)
    from zarr.codecs import BytesCodec, ZstdCodec

    _rewrite(other, "call_genotype", serializer=BytesCodec(), compressors=ZstdCodec())
    out = subprocess.run(
        [sys.executable, "-c", probe.replace(str(store), str(other))],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    code, loaded = json.loads(out.splitlines()[-1])
    assert code == 0 and "zarr" in loaded


def test_without_zarr_python_a_store_outside_the_layout_is_named(made, tmp_path, monkeypatch):
    """Should zarr-python be absent (were it an optional dependency), the fallback says
    which array needs it and why, and a store in the layout still reads."""
    from zarr.codecs import BytesCodec, ZstdCodec

    store = _copy(made, tmp_path, "zstd.vcz")
    _rewrite(store, "call_genotype", serializer=BytesCodec(), compressors=ZstdCodec())
    monkeypatch.setitem(sys.modules, "zarr", None)  # (import zarr raises ImportError)
    _reading(VcfZarrSource(made[1], half_call="missing"))
    with pytest.warns(GenotypeWarning, match="read by zarr-python"):
        source = VcfZarrSource(store, half_call="missing")
    with pytest.raises(GenotypeFileError, match=r"array call_genotype is stored in a layout"):
        _reading(source)


def test_a_damaged_zip_member_is_named(made, tmp_path):
    """A chunk whose bytes fail the zip's CRC is named (the store, the chunk's key)."""
    _, directory = made
    zipped = tmp_path / "crc.vcz.zip"
    with zipfile.ZipFile(zipped, "w") as archive:  # (stored: the bytes as they are)
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    key = "call_genotype/c/0/0/0"
    with zipfile.ZipFile(zipped) as archive:
        info = archive.getinfo(key)
    data = bytearray(zipped.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    zipped.write_bytes(bytes(data))
    source = VcfZarrSource(zipped, half_call="missing")
    records = source.sites()["record"].to_numpy()[:3]
    with pytest.raises(GenotypeFileError, match=rf"crc\.vcz\.zip: cannot read {key} \(Bad CRC"):
        list(source.read(records, np.ones(len(records), dtype=int)))
