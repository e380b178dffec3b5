"""prs.catalog takes one CatalogConfig (config=) or its options as keywords (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

import prs.catalog
import prs.weights.catalog
from prs.catalog import CatalogConfig
from prs.errors import CatalogError
from tests.catalog_server import CatalogServer, CatalogTree, clear_catalog_env, scoring_file_text


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_catalog_env(monkeypatch)


@pytest.fixture
def server(tmp_path: Path):
    with CatalogServer(CatalogTree(tmp_path / "ftp-tree")) as srv:
        srv.tree.add("PGS000888", "GRCh38", scoring_file_text("PGS000888", build="GRCh38").encode())
        srv.add_score("PGS000888", builds=("GRCh38",))
        yield srv


def test_one_config_serves_every_public_function(server, tmp_path):
    config = CatalogConfig.from_options(
        cache_dir=tmp_path / "cache", api_url=server.api_url, retries=0, progress=False
    )
    path = prs.catalog.fetch("PGS000888", build="GRCh38", config=config)
    assert path.name == "PGS000888_hmPOS_GRCh38.txt.gz"
    assert prs.catalog.cached("PGS000888", build="GRCh38", config=config) == path
    assert prs.catalog.resolve("pgs000888", build="b38", config=config) == path
    assert prs.catalog.expand("PGS000888", config=config) == ["PGS000888"]
    assert prs.catalog.score_info("PGS000888", config=config).pgs_id == "PGS000888"
    [result] = prs.catalog.fetch_all(["PGS000888"], build="GRCh38", config=config)
    assert result.path == path and result.from_cache
    # the same with keywords
    assert prs.catalog.fetch("PGS000888", build="GRCh38", **{"cache_dir": tmp_path / "cache",
        "api_url": server.api_url, "progress": False}) == path  # fmt: skip


def test_config_and_keywords_together_are_refused(tmp_path):
    config = CatalogConfig.from_options(cache_dir=tmp_path)
    with pytest.raises(CatalogError, match=r"either config= or catalog options \(offline\)"):
        prs.catalog.fetch("PGS000888", config=config, offline=True)
    with pytest.raises(TypeError):
        prs.catalog.fetch("PGS000888", cache_dirr=tmp_path)


def test_prs_catalog_is_the_weights_package():
    assert prs.catalog.__all__ == prs.weights.catalog.__all__
    assert all(
        getattr(prs.catalog, n) is getattr(prs.weights.catalog, n) for n in prs.catalog.__all__
    )
