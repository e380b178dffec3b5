"""prs.weights.load: one PGS-ID rule for prs.score and prs fetch (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prs.errors import ScoreError, ScoringFileError
from prs.weights import read_scorefile
from prs.weights.catalog import is_accession
from prs.weights.load import load_scorefile, load_scorefiles
from tests.catalog_server import CatalogServer, CatalogTree, clear_catalog_env, scoring_file_text


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_catalog_env(monkeypatch)


@pytest.fixture
def server(tmp_path: Path):
    with CatalogServer(CatalogTree(tmp_path / "ftp-tree")) as srv:
        yield srv


def _options(server: CatalogServer, tmp_path: Path) -> dict:
    return {
        "cache_dir": tmp_path / "cache",
        "api_url": server.api_url,
        "timeout": 2.0,
        "retries": 0,
        "progress": False,
    }


@pytest.mark.parametrize("spec", ["PGS000777", "pgs000777", " Pgs000777 "])
def test_a_pgs_id_in_any_case_is_fetched(server, tmp_path, monkeypatch, spec):
    """Before weights/load.py, score() matched IDs case-sensitively: "pgs000777" was read
    as a (missing) file while `prs fetch pgs000777` fetched it."""
    monkeypatch.chdir(tmp_path)
    server.tree.add("PGS000777", "GRCh38", scoring_file_text("PGS000777", build="GRCh38").encode())
    server.add_score("PGS000777", builds=("GRCh38",))
    assert is_accession(spec)
    sf = load_scorefile(spec, build="GRCh38", catalog_options=_options(server, tmp_path))
    assert sf.score_ids == ("PGS000777",) and sf.genome_build == "GRCh38"
    assert "PGS000777_hmPOS_GRCh38" in sf.path


def test_an_existing_file_wins_over_an_id_of_the_same_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("pgs000001").write_text(
        "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n1\t5\tA\tG\t0.1\n"
    )
    sf = load_scorefile("pgs000001")  # no catalog options: a fetch would fail
    assert sf.path == "pgs000001" and sf.score_ids == ("pgs000001",)


def test_a_missing_path_is_the_readers_error(tmp_path):
    with pytest.raises(ScoringFileError, match="scoring file not found"):
        load_scorefile(tmp_path / "weights.txt")


def test_scoring_files_pass_through_and_names_must_be_unique(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text(
        "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n1\t5\tA\tG\t0.1\n"
    )
    sf = read_scorefile(path)
    assert load_scorefiles(sf) == [sf]
    with pytest.raises(ScoreError, match="score name 'w' appears in"):
        load_scorefiles([sf, path])
