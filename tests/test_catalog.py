"""prs.weights.catalog: fetch by accession, verify, cache, mirror, offline; curated table.

All HTTP goes to a real server on 127.0.0.1 (tests/catalog_server.py) serving a
Catalog-shaped tree; nothing in the HTTP layer is mocked. Tests that use real scoring files
read ``../shared/data`` (conftest's ``shared_data`` fixture) and skip with a reason when
it is absent; the rest generate their
files and run anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import prs.catalog
from prs.cli import fetch as catalog_cli
from prs.errors import CatalogError, ScoringFileError
from prs.weights import catalog
from prs.weights.scorefile import read_scorefile
from tests.catalog_server import (
    CatalogServer,
    CatalogTree,
    clear_catalog_env,
    md5_hex,
    scoring_file_text,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own PRS_* settings must not leak into these tests.
    clear_catalog_env(monkeypatch)


@pytest.fixture
def tree(tmp_path: Path) -> CatalogTree:
    return CatalogTree(tmp_path / "ftp-tree")


@pytest.fixture
def server(tree: CatalogTree):
    with CatalogServer(tree) as srv:
        yield srv


@pytest.fixture
def opts(server: CatalogServer, tmp_path: Path) -> dict:
    """Options pointing at the loopback server, with short timeouts and back-off."""
    return {
        "cache_dir": tmp_path / "cache",
        "api_url": server.api_url,
        "timeout": 2.0,
        "retries": 2,
        "backoff": 0.01,
        "progress": False,
    }


def publish(server: CatalogServer, pgs_id: str, builds=("GRCh37", "GRCh38"), **kw) -> dict:
    """Generated author-reported and harmonized files plus the REST record for ``pgs_id``."""
    server.tree.add(pgs_id, None, scoring_file_text(pgs_id, **kw).encode())
    for build in builds:
        server.tree.add(pgs_id, build, scoring_file_text(pgs_id, build=build, **kw).encode())
    return server.add_score(pgs_id, builds=builds)


def gunzip_text(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode()


def files_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


# --------------------------------------------------------------------------------------
# Fetch by ID (real Catalog files from ../shared/data)
# --------------------------------------------------------------------------------------


@pytest.mark.shared
def test_fetch_harmonized_pgs000004_grch38_then_cached(server, opts, shared_data):
    source = shared_data / "scorefiles" / "megsap" / "PGS000004_hm.txt"
    published = server.tree.add_file("PGS000004", "GRCh38", source)
    server.add_score("PGS000004")

    path = prs.catalog.fetch("PGS000004", build="GRCh38", **opts)

    assert path.name == "PGS000004_hmPOS_GRCh38.txt.gz"
    assert path.parent.name == md5_hex(published.read_bytes())  # keyed by checksum
    assert path.parent.parent.name == "GRCh38" and path.parents[2].name == "PGS000004"
    assert gunzip_text(path) == source.read_text()
    assert server.count("/rest/score/PGS000004") == 1

    # Second call: the metadata and file come from the cache; only the .md5 is checked.
    before = len(server.requests)
    again = catalog.fetch_all("PGS000004", build="GRCh38", **opts)
    assert again[0].path == path and again[0].from_cache
    new = [p for p, _ in server.requests[before:]]
    assert new == [server.file_url("PGS000004", "GRCh38").removeprefix(server.url) + ".md5"]


@pytest.mark.shared
def test_author_reported_without_build_and_on_request(server, opts, shared_data):
    scorefiles = shared_data / "pygscatalog" / "scorefiles"
    server.tree.add_file("PGS000001", None, scorefiles / "PGS000001.txt.gz")
    server.tree.add_file("PGS000001", "GRCh37", scorefiles / "PGS000001_hmPOS_GRCh37.txt.gz")
    server.add_score("PGS000001", variants_number=77)

    author = prs.catalog.fetch("PGS000001", **opts)
    assert author.name == "PGS000001.txt.gz" and author.parent.parent.name == "author"
    assert author.read_bytes() == (scorefiles / "PGS000001.txt.gz").read_bytes()

    hm37 = prs.catalog.fetch("PGS000001", build="hg19", **opts)  # alias of GRCh37
    assert hm37.name == "PGS000001_hmPOS_GRCh37.txt.gz"
    assert "#HmPOS_build=GRCh37" in gunzip_text(hm37)

    again = prs.catalog.fetch("PGS000001", build="GRCh37", author_reported=True, **opts)
    assert again == author


def real_tree(server: CatalogServer, shared_data: Path) -> None:
    """The real files of ../shared/data published as the Catalog lays them out."""
    scorefiles = shared_data / "pygscatalog" / "scorefiles"
    for pgs_id in ("PGS000001", "PGS000002"):
        server.tree.add_file(pgs_id, None, scorefiles / f"{pgs_id}.txt.gz")
        for build in ("GRCh37", "GRCh38"):
            server.tree.add_file(pgs_id, build, scorefiles / f"{pgs_id}_hmPOS_{build}.txt.gz")
    megsap = shared_data / "scorefiles" / "megsap"
    server.tree.add_file("PGS000004", None, megsap / "PGS000004.txt")  # format 1.0 header
    server.tree.add_file("PGS000004", "GRCh38", megsap / "PGS000004_hm.txt")


@pytest.mark.shared
def test_real_files_by_publication_and_both_header_formats(server, opts, shared_data):
    real_tree(server, shared_data)
    records = [
        server.score_json(p, pgp_id="PGP000001", variants_number=77)
        for p in ("PGS000001", "PGS000002")
    ]
    server.add_search("pgp_id", "PGP000001", records)
    server.add_score("PGS000004", builds=("GRCh38",))

    results = catalog.fetch_all(["PGP000001", "PGS000004"], build="GRCh38", **opts)
    assert [(r.pgs_id, r.path.name) for r in results] == [
        ("PGS000001", "PGS000001_hmPOS_GRCh38.txt.gz"),
        ("PGS000002", "PGS000002_hmPOS_GRCh38.txt.gz"),
        ("PGS000004", "PGS000004_hmPOS_GRCh38.txt.gz"),
    ]
    for result in results:
        assert result.path.read_bytes() == server.tree.path(result.pgs_id, "GRCh38").read_bytes()
    # The format-1.0 author file ("# PGS ID = PGS000004") passes the header check too.
    author = catalog.fetch("PGS000004", **opts)
    assert gunzip_text(author).startswith("### PGS CATALOG SCORING FILE")


@pytest.mark.shared
def test_fetched_file_reads_with_the_scorefile_reader(server, opts, shared_data):
    scorefile = pytest.importorskip("prs.weights.scorefile")
    real_tree(server, shared_data)
    server.add_score("PGS000004", builds=("GRCh38",))
    path = prs.catalog.resolve("PGS000004", build="GRCh38", **opts)
    scoring = scorefile.read_scorefile(path)
    assert tuple(scoring.score_ids) == ("PGS000004",)
    assert len(scoring.variants) == 313 and scoring.genome_build == "GRCh38"


@pytest.mark.shared
def test_real_file_for_the_wrong_build_is_rejected(server, opts, shared_data):
    scorefiles = shared_data / "pygscatalog" / "scorefiles"
    # A mirror that put the GRCh37 file where the GRCh38 one belongs (checksum matches).
    server.tree.add_file("PGS000001", "GRCh38", scorefiles / "PGS000001_hmPOS_GRCh37.txt.gz")
    server.add_score("PGS000001")
    with pytest.raises(
        CatalogError, match="harmonized to GRCh38, the header says HmPOS_build=GRCh37"
    ):
        catalog.fetch("PGS000001", build="GRCh38", **opts)
    assert catalog.cached("PGS000001", build="GRCh38", cache_dir=opts["cache_dir"]) is None


# --------------------------------------------------------------------------------------
# Several IDs, traits and publications through the REST API
# --------------------------------------------------------------------------------------


def test_fetch_several_ids_trait_and_publication_with_pagination(server, opts):
    records = [publish(server, pid) for pid in ("PGS000101", "PGS000102", "PGS000103")]
    server.add_search("trait_id", "EFO_0000305", records, page_size=2)  # two pages
    server.add_search("pgp_id", "PGP000002", records[1:], page_size=2)

    by_trait = catalog.fetch_all("EFO_0000305", build="GRCh38", **opts)
    assert [r.pgs_id for r in by_trait] == ["PGS000101", "PGS000102", "PGS000103"]
    assert all(r.path.name.endswith("_hmPOS_GRCh38.txt.gz") for r in by_trait)
    assert server.count("/rest/score/search?trait_id") == 2  # followed the `next` link
    # The search answered with whole score objects: no per-score metadata request.
    assert server.count("/rest/score/PGS0001") == 0

    mixed = catalog.fetch_all(["PGS000103", "PGP000002", "pgs000101"], **opts)
    assert [r.pgs_id for r in mixed] == ["PGS000103", "PGS000102", "PGS000101"]  # deduped
    assert all(r.build is None for r in mixed)

    assert catalog.expand("PGP000002", **{k: opts[k] for k in ("cache_dir", "api_url")}) == [
        "PGS000102",
        "PGS000103",
    ]


def test_trait_without_scores_and_bad_accession(server, opts):
    server.add_search("trait_id", "EFO_9999999", [])
    with pytest.raises(CatalogError, match="EFO_9999999: the PGS Catalog lists no scores"):
        catalog.fetch_all("EFO_9999999", **opts)
    with pytest.raises(CatalogError, match="'breast' is not a PGS Catalog accession"):
        catalog.fetch_all("breast", **opts)
    with pytest.raises(CatalogError, match="not a PGS Catalog score ID"):
        catalog.fetch("PGS12", **opts)
    with pytest.raises(CatalogError, match="genome build 'hg18'"):
        catalog.fetch("PGS000101", build="hg18", **opts)


# --------------------------------------------------------------------------------------
# Failure modes: 404, corrupted file, dropped connection, slow server, rate limit
# --------------------------------------------------------------------------------------


def test_unknown_score_404_and_empty_answer(server, opts):
    with pytest.raises(CatalogError, match=r"PGS999999: no such score .*404"):
        catalog.fetch("PGS999999", **opts)
    server.rest["/rest/score/PGS999998"] = {}  # how the real API answers an unknown ID
    with pytest.raises(CatalogError, match="PGS999998: no such score"):
        catalog.fetch("PGS999998", **opts)
    assert not files_in(opts["cache_dir"] / "pgs" / "PGS999999")


def test_build_not_harmonized_and_file_missing(server, opts):
    publish(server, "PGS000201", builds=("GRCh38",))
    with pytest.raises(CatalogError, match=r"no positions harmonized to GRCh37.*GRCh38"):
        catalog.fetch("PGS000201", build="GRCh37", **opts)
    # Listed by the API but absent from the FTP tree: a 404 on the checksum and the file.
    server.tree.path("PGS000201", "GRCh38").unlink()
    Path(str(server.tree.path("PGS000201", "GRCh38")) + ".md5").unlink()
    with pytest.raises(CatalogError, match=r"nothing at .*PGS000201_hmPOS_GRCh38.txt.gz.md5"):
        catalog.fetch("PGS000201", build="GRCh38", **opts)


def test_md5_mismatch_is_an_error_and_never_cached(server, opts):
    publish(server, "PGS000301", builds=())
    server.tree.add(
        "PGS000301", None, scoring_file_text("PGS000301").encode(), md5="0" * 32
    )  # the published checksum does not match the file
    with pytest.raises(CatalogError, match=r"MD5 mismatch .* expected 0{32}.*deleted"):
        catalog.fetch("PGS000301", **opts)
    path = server.file_url("PGS000301", None).removeprefix(server.url)
    assert server.count(path) - server.count(path + ".md5") == 1 + opts["retries"]
    assert files_in(opts["cache_dir"] / "pgs" / "PGS000301") == [
        opts["cache_dir"] / "pgs" / "PGS000301" / "score.json"
    ]  # no data, no part file
    assert catalog.cached("PGS000301", cache_dir=opts["cache_dir"]) is None


def test_wrong_file_at_the_path_is_rejected(server, opts):
    server.add_score("PGS000302", builds=())
    server.tree.add("PGS000302", None, scoring_file_text("PGS000303").encode())  # good MD5
    with pytest.raises(
        CatalogError, match="expected the scoring file of PGS000302, the header says PGS000303"
    ):
        catalog.fetch("PGS000302", **opts)
    assert catalog.cached("PGS000302", cache_dir=opts["cache_dir"]) is None


def _big(server: CatalogServer, pgs_id: str) -> bytes:
    server.add_score(pgs_id, builds=())
    content = scoring_file_text(pgs_id, filler_bytes=600_000).encode()
    path = server.tree.add(pgs_id, None, content)
    data = path.read_bytes()
    assert len(data) > 40_000
    return data


def test_dropped_connection_is_resumed_with_range(server, opts):
    data = _big(server, "PGS000401")
    url_path = server.file_url("PGS000401", None).removeprefix(server.url)
    server.fault(url_path, drop_after=20_000, times=1)

    result = catalog.fetch_all("PGS000401", **opts)[0]

    assert result.path.read_bytes() == data and not result.from_cache
    ranges = [r for p, r in server.requests if p == url_path]
    assert ranges == [None, "bytes=20000-"]  # second request resumed where the first broke


def test_dropped_connection_restarts_when_server_cannot_resume(server, opts):
    data = _big(server, "PGS000402")
    server.supports_range = False
    url_path = server.file_url("PGS000402", None).removeprefix(server.url)
    server.fault(url_path, drop_after=20_000, times=1)

    path = catalog.fetch("PGS000402", **opts)

    assert path.read_bytes() == data  # restarted cleanly, not appended to the broken part
    assert [r for p, r in server.requests if p == url_path] == [None, "bytes=20000-"]


def test_killed_download_leaves_nothing_complete_and_next_call_resumes(server, opts):
    data = _big(server, "PGS000403")
    url_path = server.file_url("PGS000403", None).removeprefix(server.url)
    server.fault(url_path, drop_after=15_000, times=1)

    with pytest.raises(CatalogError, match="connection dropped after 15000"):
        catalog.fetch("PGS000403", **{**opts, "retries": 0})
    entry = opts["cache_dir"] / "pgs" / "PGS000403" / "author"
    leftovers = files_in(entry)
    assert [p.name.endswith(".part") for p in leftovers] == [True]  # only a .part file
    assert catalog.cached("PGS000403", cache_dir=opts["cache_dir"]) is None

    path = catalog.fetch("PGS000403", **{**opts, "retries": 0})
    assert path.read_bytes() == data
    assert [r for p, r in server.requests if p == url_path][-1] == "bytes=15000-"
    assert not [p for p in files_in(entry) if p.name.endswith(".part")]


def test_process_killed_mid_download_leaves_only_a_part_file(server, opts):
    data = _big(server, "PGS000405")
    url_path = server.file_url("PGS000405", None).removeprefix(server.url)
    server.fault(url_path, trickle=0.1, times=1)  # ~3 s for the whole file
    entry = opts["cache_dir"] / "pgs" / "PGS000405" / "author"
    code = (
        "import sys; from prs.weights import catalog; "
        f"catalog.fetch('PGS000405', cache_dir={str(opts['cache_dir'])!r}, "
        f"api_url={server.api_url!r}, retries=0, progress=False)"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = list(entry.glob(".*.part")) if entry.exists() else []
            if parts and parts[0].stat().st_size > 8192:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the child never started writing its part file")
    finally:
        child.kill()  # SIGKILL: no cleanup handlers run
        child.wait()
    assert child.returncode != 0
    leftovers = files_in(entry)
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".part")
    assert 0 < leftovers[0].stat().st_size < len(data)
    assert catalog.cached("PGS000405", cache_dir=opts["cache_dir"]) is None

    path = catalog.fetch("PGS000405", **{**opts, "retries": 0})  # resumes the part file
    assert path.read_bytes() == data
    assert [r for p, r in server.requests if p == url_path][-1].startswith("bytes=")


def test_leftover_part_files_are_redone_or_dropped(server, opts):
    data = _big(server, "PGS000404")
    entry = opts["cache_dir"] / "pgs" / "PGS000404" / "author"
    entry.mkdir(parents=True)
    # Killed after the last byte but before the check: the server answers 416 to the range.
    (entry / f".PGS000404.txt.gz.{md5_hex(data)}.part").write_bytes(data)
    (entry / f".PGS000404.txt.gz.{'0' * 32}.part").write_bytes(b"an older version")

    path = catalog.fetch("PGS000404", **{**opts, "retries": 0})

    assert path.read_bytes() == data
    assert files_in(entry) == [path]
    url_path = server.file_url("PGS000404", None).removeprefix(server.url)
    assert [r for p, r in server.requests if p == url_path] == [f"bytes={len(data)}-", None]


def test_slow_server_times_out_then_retry_succeeds(server, opts):
    publish(server, "PGS000501", builds=())
    url_path = server.file_url("PGS000501", None).removeprefix(server.url)
    fast = {**opts, "timeout": 0.3, "retries": 1}

    server.fault(url_path, delay=1.0)  # every request: slower than the timeout
    started = time.monotonic()
    with pytest.raises(CatalogError, match=r"timeout|timed out|no data for"):
        catalog.fetch("PGS000501", **fast)
    assert time.monotonic() - started < 5.0  # 2 attempts x 0.3 s, not the 1 s delay each
    assert catalog.cached("PGS000501", cache_dir=opts["cache_dir"]) is None

    server.fault(url_path, delay=1.0, times=1)  # slow once, then fine: the retry wins
    assert catalog.fetch("PGS000501", **fast).is_file()


def test_server_errors_and_rate_limit_are_retried(server, opts):
    publish(server, "PGS000502", builds=())
    server.fault(
        "/rest/score/PGS000502",
        body=b'{"message": "request limit exceeded", "availableIn": "1 seconds"}',
        times=1,
    )
    url_path = server.file_url("PGS000502", None).removeprefix(server.url)
    server.fault(url_path, status=503, times=1)
    assert catalog.fetch("PGS000502", **opts).is_file()
    assert server.count("/rest/score/PGS000502") == 2
    server.fault("/rest/score/PGS000503", status=500)
    with pytest.raises(CatalogError, match=r"failed after 3 attempt\(s\).*HTTP 500"):
        catalog.score_info(
            "PGS000503", **{k: opts[k] for k in ("cache_dir", "api_url", "retries", "backoff")}
        )


# --------------------------------------------------------------------------------------
# Cache, offline mode, network off, mirrors, environment
# --------------------------------------------------------------------------------------


def test_offline_is_served_from_cache_without_any_request(server, opts):
    publish(server, "PGS000601")
    online = catalog.fetch("PGS000601", build="GRCh38", **opts)
    before = len(server.requests)

    offline = catalog.fetch("PGS000601", build="GRCh38", offline=True, **opts)

    assert offline == online
    assert len(server.requests) == before


def test_offline_names_every_missing_file_and_touches_nothing(server, opts, monkeypatch):
    publish(server, "PGS000602")
    catalog.fetch("PGS000602", build="GRCh38", **opts)
    monkeypatch.setenv("PRS_OFFLINE", "1")
    before = len(server.requests)
    with pytest.raises(CatalogError) as info:
        catalog.fetch_all(["PGS000602", "PGS000603", "PGS000604"], build="GRCh38", **opts)
    message = str(info.value)
    assert "2 of 3 scoring file(s) not cached" in message
    assert "PGS000603 (GRCh38 harmonized)" in message and "PGS000604" in message
    assert "PGS000602" not in message.split("not cached", 1)[1]
    assert "prs fetch PGS000603 --build GRCh38" in message
    assert len(server.requests) == before


def test_network_off_second_call_served_from_cache(tree, tmp_path):
    with CatalogServer(tree) as srv:
        publish(srv, "PGS000605")
        options = {
            "cache_dir": tmp_path / "cache",
            "api_url": srv.api_url,
            "timeout": 1.0,
            "retries": 3,
            "backoff": 2.0,
            "progress": False,
        }
        first = catalog.fetch("PGS000605", build="GRCh37", **options)
    # The server is gone (connection refused): no retries with back-off when a copy exists.
    started = time.monotonic()
    second = catalog.fetch_all("PGS000605", build="GRCh37", **options)[0]
    assert second.path == first and second.from_cache and second.source == "cache"
    assert time.monotonic() - started < 3.0  # retrying would take 2 + 4 + 8 s


def test_mirror_directory_needs_no_api(tree, tmp_path):
    tree.add("PGS000701", "GRCh38", scoring_file_text("PGS000701", build="GRCh38").encode())
    path = catalog.fetch(
        "PGS000701",
        build="GRCh38",
        mirror=tree.root,
        cache_dir=tmp_path / "cache",
        api_url="http://127.0.0.1:9/rest",
        retries=0,
    )
    assert path.name == "PGS000701_hmPOS_GRCh38.txt.gz"
    assert path.read_bytes() == tree.path("PGS000701", "GRCh38").read_bytes()

    with pytest.raises(CatalogError, match="laid out like the PGS Catalog FTP tree"):
        catalog.fetch("PGS000701", mirror=tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(CatalogError, match=r"nothing at .*PGS000702\.txt\.gz\.md5"):
        catalog.fetch("PGS000702", mirror=tree.root, cache_dir=tmp_path / "cache")


def test_mirror_without_checksums_needs_no_verify(tree, tmp_path):
    tree.add("PGS000703", None, scoring_file_text("PGS000703").encode(), write_md5=False)
    with pytest.raises(CatalogError, match=r"mirror lacks the \.md5 files"):
        catalog.fetch("PGS000703", mirror=tree.root, cache_dir=tmp_path / "c")
    path = catalog.fetch("PGS000703", mirror=tree.root, cache_dir=tmp_path / "c", verify=False)
    assert path.parent.name == md5_hex(path.read_bytes())


def test_mirror_url_and_environment_variables(server, tmp_path, monkeypatch):
    server.tree.add("PGS000704", None, scoring_file_text("PGS000704").encode())
    monkeypatch.setenv("PRS_PGS_MIRROR", server.ftp_url)
    monkeypatch.setenv("PRS_CACHE_DIR", str(tmp_path / "env-cache"))
    path = catalog.fetch("PGS000704", retries=0, progress=False)
    assert path.is_relative_to(tmp_path / "env-cache")
    assert server.count("/rest/") == 0  # a mirror needs no API for score IDs
    monkeypatch.delenv("PRS_PGS_MIRROR")

    # PRS_PGS_FTP_URL: files from that root (the layout is fixed), metadata not needed.
    server.tree.add("PGS000705", "GRCh37", scoring_file_text("PGS000705", build="GRCh37").encode())
    monkeypatch.setenv("PRS_PGS_FTP_URL", server.ftp_url)
    monkeypatch.setenv("PRS_PGS_API_URL", server.api_url)
    assert catalog.fetch("PGS000705", build="GRCh37", retries=0).is_file()
    assert server.count("/rest/") == 0


def test_offline_with_a_mirror_directory_copies_from_it(tree, tmp_path):
    tree.add("PGS000706", None, scoring_file_text("PGS000706").encode())
    path = catalog.fetch(
        "PGS000706", offline=True, mirror=f"file://{tree.root}", cache_dir=tmp_path / "cache"
    )
    assert path.read_bytes() == tree.path("PGS000706", None).read_bytes()
    with pytest.raises(CatalogError, match="PGS000707"):
        catalog.fetch("PGS000707", offline=True, mirror=tree.root, cache_dir=tmp_path / "cache")


def test_concurrent_fetches_of_one_file_take_turns(server, opts):
    data = _big(server, "PGS000707")
    url_path = server.file_url("PGS000707", None).removeprefix(server.url)
    server.fault(url_path, delay=0.2)
    with ThreadPoolExecutor(max_workers=3) as pool:
        paths = list(pool.map(lambda _: catalog.fetch("PGS000707", **opts), range(3)))
    assert len(set(paths)) == 1 and paths[0].read_bytes() == data
    assert server.count(url_path) - server.count(url_path + ".md5") == 1  # downloaded once


def test_progress_bar_on_long_files(server, opts, capsys):
    _big(server, "PGS000801")
    catalog.fetch("PGS000801", **{**opts, "progress": True})
    assert "PGS000801 author-reported" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# resolve: paths or IDs (what prs.score calls)
# --------------------------------------------------------------------------------------


def test_resolve_paths_ids_and_nonsense(server, opts, tmp_path):
    own = tmp_path / "my_weights.txt"
    own.write_text("rsID\teffect_allele\teffect_weight\n")
    assert prs.catalog.resolve(own) == own
    assert prs.catalog.resolve(str(own)) == own

    publish(server, "PGS000901")
    path = prs.catalog.resolve("PGS000901", build="GRCh38", **opts)
    assert path.name == "PGS000901_hmPOS_GRCh38.txt.gz"
    assert prs.catalog.resolve("PGS000901", **opts).name == "PGS000901.txt.gz"

    with pytest.raises(CatalogError, match=r"'no_such\.txt': no such scoring file, and not a PGS"):
        prs.catalog.resolve("no_such.txt", **opts)
    # A directory is passed on for the scoring-file reader to name (exit 3, not 7).
    assert prs.catalog.resolve(tmp_path, **opts) == tmp_path
    with pytest.raises(ScoringFileError, match="is a directory, not a scoring file"):
        read_scorefile(prs.catalog.resolve(tmp_path, **opts))


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def run_cli(argv: list[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="prs")
    catalog_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = args.handler(args)
    return code, out.getvalue()


def test_cli_fetch_curated_breast_and_out_dir(server, opts, tmp_path):
    for pid in catalog.curated_ids("breast"):
        publish(server, pid)
    base = [
        "--cache-dir",
        str(opts["cache_dir"]),
        "--api-url",
        server.api_url,
        "--backoff",
        "0.01",
        "--no-progress",
    ]

    code, out = run_cli(
        [
            "fetch",
            "--curated",
            "breast",
            "--build",
            "GRCh38",
            "--out",
            str(tmp_path / "weights"),
            *base,
        ]
    )

    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    assert [row[0] for row in lines] == ["PGS000004", "PGS000005", "PGS000007"]
    assert {row[1] for row in lines} == {"GRCh38"} and {row[3] for row in lines} == {"downloaded"}
    for row in lines:
        copied = Path(row[4])
        assert copied.parent == tmp_path / "weights"
        assert md5_hex(copied.read_bytes()) == row[2]

    code, out = run_cli(["fetch", "PGS000004", "--build", "GRCh38", "--offline", *base])
    assert code == 0 and out.split("\t")[3] == "cached"


def test_cli_list_curated_and_errors_exit_code(server, opts, monkeypatch, capsys):
    code, out = run_cli(["fetch", "--list-curated", "--curated", "lung"])
    assert code == 0
    table = [line.split("\t") for line in out.splitlines()]
    assert table[0][:2] == ["cancer", "pgs_id"] and {r[0] for r in table[1:]} == {"lung"}

    import prs.cli

    code = prs.cli.main(["fetch", "PGS000999", "--offline", "--cache-dir", str(opts["cache_dir"])])
    assert code == 7  # CatalogError's stable exit code
    assert "PGS000999 (author-reported): offline and not in the cache" in capsys.readouterr().err
    assert prs.cli.main(["fetch", "--cache-dir", str(opts["cache_dir"])]) == 7


# --------------------------------------------------------------------------------------
# The curated table
# --------------------------------------------------------------------------------------


def test_curated_table_contents_and_sources():
    table = prs.catalog.curated()
    assert tuple(table.columns) == catalog.CURATED_COLUMNS
    assert set(table["cancer"]) == {"breast", "prostate", "colorectal", "lung"}
    for required in ("PGS000004", "PGS000007", "PGS000662"):
        assert required in set(table["pgs_id"])
    assert not table[table["cancer"] == "colorectal"].empty

    row = table[
        (table["pgs_id"] == "PGS000004")
        & (table["evaluation_sample"].str.startswith("10 prospective"))
    ].iloc[0]
    assert (
        row.effect_measure,
        row.effect_per_sd,
        row.effect_per_sd_lower,
        row.effect_per_sd_upper,
    ) == ("OR", 1.61, 1.57, 1.65)
    assert (row.auc, row.auc_lower, row.auc_upper) == (0.630, 0.628, 0.651)
    assert int(table.loc[table["pgs_id"] == "PGS000662", "variants_number"].iloc[0]) == 269
    assert int(table.loc[table["pgs_id"] == "PGS000007", "variants_number"].iloc[0]) == 3820

    figures = ["effect_per_sd", "auc", "other_estimate"]
    with_figure = table[table[figures].notna().any(axis=1)]
    assert (with_figure["performance_source"].str.len() > 0).all()
    assert (table["variants_number_source"].str.len() > 0).all()
    # A figure without its interval, or an interval without a figure, would be a typo.
    for est, lo, hi in (
        ("effect_per_sd", "effect_per_sd_lower", "effect_per_sd_upper"),
        ("auc", "auc_lower", "auc_upper"),
        ("other_estimate", "other_lower", "other_upper"),
    ):
        bounded = table[table[lo].notna()]
        assert (bounded[lo] <= bounded[est]).all() and (bounded[est] <= bounded[hi]).all()
        assert table[table[hi].notna() != table[lo].notna()].empty
        assert table[table[lo].notna() & table[est].isna()].empty
    assert table["effect_measure"].isin(["OR", "HR", ""]).all()
    assert ((table["effect_measure"] != "") == table["effect_per_sd"].notna()).all()
    # Empty figures are explained.
    silent = table[
        table["effect_per_sd"].isna() & table["auc"].isna() & (table["notes"].str.len() == 0)
    ]
    assert silent.empty

    assert prs.catalog.curated_ids("prostate") == ["PGS000662"]
    assert list(prs.catalog.curated("BREAST")["cancer"].unique()) == ["breast"]
    with pytest.raises(CatalogError, match="no curated scores for cancer 'skin'"):
        prs.catalog.curated("skin")


@pytest.mark.shared
def test_curated_variant_count_matches_the_real_file(shared_data):
    rows = [
        line
        for line in (shared_data / "scorefiles" / "megsap" / "PGS000004.txt")
        .read_text()
        .splitlines()
        if line and not line.startswith("#")
    ]
    counted = len(rows) - 1  # minus the column header
    table = prs.catalog.curated("breast")
    assert set(table.loc[table["pgs_id"] == "PGS000004", "variants_number"]) == {counted}


def test_score_info_parses_rest_shape_and_caches(server, opts):
    server.add_score("PGS000004", builds=("GRCh37", "GRCh38"))
    options = {k: opts[k] for k in ("cache_dir", "api_url", "backoff")}
    info = prs.catalog.score_info("PGS000004", **options)
    assert info.variants_number == 313 and info.trait_efo == ("EFO_0000305",)
    assert info.pgp_id == "PGP000002" and set(info.ftp_harmonized) == {"GRCh37", "GRCh38"}
    assert info.citation == "Mavaddat N et al. Am J Hum Genet (2018)"
    cached_json = opts["cache_dir"] / "pgs" / "PGS000004" / "score.json"
    assert json.loads(cached_json.read_text())["id"] == "PGS000004"
    assert prs.catalog.score_info("PGS000004", offline=True, **options) == info
    assert server.count("/rest/score/PGS000004") == 1
