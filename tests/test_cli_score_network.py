"""``prs score`` takes the network options its error hint names (issue 16: after a network
failure it suggested ``--retries/--timeout``, which only ``prs fetch`` accepted)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from prs.cli import main
from tests.builders import write_vcf
from tests.catalog_server import CatalogServer, CatalogTree, clear_catalog_env, scoring_file_text


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    clear_catalog_env(monkeypatch)
    with CatalogServer(CatalogTree(tmp_path / "ftp-tree")) as srv:
        monkeypatch.setenv("PRS_PGS_API_URL", srv.api_url)
        monkeypatch.setenv("PRS_PGS_FTP_URL", srv.ftp_url)
        yield srv


def _score(tmp_path: Path, *extra: str) -> int:
    # The three rows of scoring_file_text's author-reported file (chromosome 1, effect allele
    # A, other G); both people carry A as ALT: s1 once, s2 twice at every site.
    records = [("1", 1_000_000 + 97 * i, f"rs{i}", "G", "A", ["0/1", "1/1"]) for i in range(3)]
    vcf = write_vcf(tmp_path / "t.vcf.gz", ["s1", "s2"], records)
    return main(
        [
            "score",
            "--genotypes",
            str(vcf),
            "--scorefile",
            "PGS000777",
            "-q",
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
            *extra,
        ]
    )


def _publish(server: CatalogServer) -> str:
    """PGS000777's author-reported file on the server; returns its checksum's URL path (the
    first thing a fetch without a build asks for)."""
    server.tree.add("PGS000777", None, scoring_file_text("PGS000777").encode())
    server.add_score("PGS000777")
    return server.file_url("PGS000777", None).removeprefix(server.url) + ".md5"


@pytest.mark.parametrize("retries", [0, 2])
def test_retries_reach_the_catalog_client(server, tmp_path, capsys, retries):
    md5 = _publish(server)
    server.fault(md5, status=503)
    code = _score(tmp_path, "--retries", str(retries), "--backoff", "0.01", "--timeout", "2")
    assert code != 0
    assert server.count(md5) == retries + 1
    err = capsys.readouterr().err
    assert "--retries" in err and "--timeout" in err  # the hint names options prs score takes
    assert not (tmp_path / "out").exists()


def test_a_score_by_id_is_fetched_and_scored_with_the_options(server, tmp_path):
    md5 = _publish(server)
    server.fault(md5, status=503, times=1)  # one transient failure
    assert _score(tmp_path, "--retries", "1", "--backoff", "0.01") == 0
    assert server.count(md5) == 2
    scores = pd.read_csv(tmp_path / "out" / "scores.tsv", sep="\t").set_index("sample_id")
    # By hand: weights (row * 7919 % 200 - 100) / 1000 = -0.100, 0.019, -0.062.
    assert scores.loc["s1", "SUM"] == pytest.approx(-0.143, abs=1e-12)
    assert scores.loc["s2", "SUM"] == pytest.approx(-0.286, abs=1e-12)
