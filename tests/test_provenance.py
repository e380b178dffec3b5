"""One provenance record shape (issue 12): score runs and references share the common keys."""

from __future__ import annotations

import hashlib

import numpy as np

from prs.calibrate import build_reference
from prs.provenance import BackgroundChecksums, file_checksum, file_record, record

COMMON = ["prs_version", "created", "python", "numpy", "options"]


def test_record_starts_with_the_common_keys_and_refuses_to_replace_them():
    r = record({"a": 1}, inputs=[], counts={"n": 2})
    assert list(r) == [*COMMON, "inputs", "counts"]
    try:
        record({}, created="yesterday")
    except ValueError as exc:
        assert "created" in str(exc)
    else:  # pragma: no cover - the assertion is the test
        raise AssertionError("a section replaced a common key")


def test_file_record_and_background_hasher_agree_with_hashlib(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(bytes(range(i + 1)) * 700_000)
        paths.append(p)
    expected = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert [file_checksum(p) for p in paths] == expected
    assert file_record(paths[0]) == {"path": str(paths[0].resolve()), "sha256": expected[0]}
    assert [r["sha256"] for r in BackgroundChecksums(paths).records()] == expected


def test_background_hasher_hands_its_error_to_the_caller(tmp_path):
    hasher = BackgroundChecksums([tmp_path / "absent"])
    try:
        hasher.result()
    except FileNotFoundError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a missing file was hashed")


def test_reference_provenance_has_the_common_shape(tmp_path):
    scores = tmp_path / "scores.tsv"
    rng = np.random.default_rng(0)
    scores.write_text(
        "sample_id\tSUM\n" + "".join(f"S{i}\t{v}\n" for i, v in enumerate(rng.normal(size=600)))
    )
    ref = build_reference(scores, check=False)
    assert list(ref.provenance)[: len(COMMON)] == COMMON
    assert ref.provenance["source"] == file_record(scores)


def test_a_directory_is_hashed_over_its_files_names_and_contents(tmp_path):
    """A VCF Zarr store is a directory: its checksum is SHA-256 over each file's relative path
    and SHA-256, in sorted order (written out here with hashlib), and changes when a chunk's
    bytes or a file's name change."""
    import hashlib

    from prs.provenance import file_checksum

    store = tmp_path / "x.vcz"
    (store / "call_genotype" / "c").mkdir(parents=True)
    (store / "zarr.json").write_bytes(b"{}")
    (store / "call_genotype" / "c" / "0").write_bytes(b"\x00\x01")
    expected = hashlib.sha256()
    for name, data in (("call_genotype/c/0", b"\x00\x01"), ("zarr.json", b"{}")):
        expected.update(f"{name}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    first = file_checksum(store)
    assert first == expected.hexdigest()
    (store / "call_genotype" / "c" / "0").write_bytes(b"\x00\x02")
    assert file_checksum(store) != first
    (store / "call_genotype" / "c" / "0").rename(store / "call_genotype" / "c" / "1")
    assert file_checksum(store) not in (first, expected.hexdigest())
