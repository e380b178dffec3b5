"""A loopback PGS Catalog for tests: a real HTTP server on 127.0.0.1 in a thread.

It serves two things, shaped like the real services:

- an **FTP tree** (``/ftp/scores/PGS000004/ScoringFiles/PGS000004.txt.gz``,
  ``.../ScoringFiles/Harmonized/PGS000004_hmPOS_GRCh38.txt.gz``, each with a ``.md5`` beside
  it holding ``<md5>  <file name>``), from a directory built by :class:`CatalogTree`, with
  HTTP ``Range`` support (``206 Partial Content``) unless switched off;
- **REST API** answers (``/rest/score/PGS000004``, ``/rest/score/search?trait_id=...``)
  from JSON registered by the test, paginated with ``next`` links like the real API.

Faults are injected per path (:meth:`CatalogServer.fault`): a status code, a connection
dropped after N bytes, a delay before answering (a slow server), or ignoring ``Range``.
Every request is logged (:attr:`CatalogServer.requests`) so tests can assert, for example,
that offline mode made none or that a resumed download asked for a range.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

#: The environment variables that configure PGS Catalog access (prs.weights.catalog.config):
#: cleared around every catalog test, so a developer's own settings cannot leak in.
CATALOG_ENV_VARS = (
    "PRS_CACHE_DIR",
    "PRS_OFFLINE",
    "PRS_PGS_MIRROR",
    "PRS_PGS_API_URL",
    "PRS_PGS_FTP_URL",
)


def clear_catalog_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove :data:`CATALOG_ENV_VARS` for the test (restored afterwards by monkeypatch)."""
    for name in CATALOG_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def scoring_file_text(
    pgs_id: str, *, build: str | None = None, n_variants: int = 3, filler_bytes: int = 0
) -> str:
    """A small, valid format-2.0 scoring file (harmonized when ``build`` is given).

    ``filler_bytes`` adds that many bytes of extra variant rows (deterministic), to make
    files long enough to drop mid-way or to show a progress bar.
    """
    lines = [
        "###PGS CATALOG SCORING FILE - see https://www.pgscatalog.org/downloads/ for details",
        "#format_version=2.0",
        "##POLYGENIC SCORE (PGS) INFORMATION",
        f"#pgs_id={pgs_id}",
        "#pgs_name=TEST_SCORE",
        "#trait_reported=Test trait",
        "#genome_build=GRCh37",
        f"#variants_number={n_variants}",
    ]
    if build:
        lines += ["##HARMONIZATION DETAILS", f"#HmPOS_build={build}", "#HmPOS_date=2022-07-29"]
    columns = ["chr_name", "chr_position", "effect_allele", "other_allele", "effect_weight"]
    if build:
        columns += ["hm_source", "hm_chr", "hm_pos"]
    lines.append("\t".join(columns))
    row = 0
    size = sum(len(x) + 1 for x in lines)
    while row < n_variants or size < filler_bytes:
        weight = ((row * 7919) % 200 - 100) / 1000
        fields = ["1", str(1_000_000 + 97 * row), "A", "G", f"{weight:.3f}"]
        if build:
            fields += ["liftover", "1", str(2_000_000 + 97 * row)]
        line = "\t".join(fields)
        lines.append(line)
        size += len(line) + 1
        row += 1
    return "\n".join(lines) + "\n"


@dataclass
class CatalogTree:
    """A directory laid out like the PGS Catalog FTP tree (``<root>/scores/...``)."""

    root: Path

    def __post_init__(self) -> None:
        (self.root / "scores").mkdir(parents=True, exist_ok=True)

    @staticmethod
    def relative(pgs_id: str, build: str | None) -> str:
        if build is None:
            return f"scores/{pgs_id}/ScoringFiles/{pgs_id}.txt.gz"
        return f"scores/{pgs_id}/ScoringFiles/Harmonized/{pgs_id}_hmPOS_{build}.txt.gz"

    def add(
        self,
        pgs_id: str,
        build: str | None,
        content: bytes,
        *,
        gz: bool = True,
        md5: str | None = None,
        write_md5: bool = True,
    ) -> Path:
        """Add a scoring file (gzipped unless ``gz`` is False) and its ``.md5``.

        ``md5`` overrides the published checksum (to publish a wrong one).
        """
        data = gzip.compress(content, mtime=0) if gz else content
        path = self.root / self.relative(pgs_id, build)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if write_md5:
            Path(str(path) + ".md5").write_text(f"{md5 or md5_hex(data)}  {path.name}\n")
        return path

    def add_file(self, pgs_id: str, build: str | None, source: Path) -> Path:
        """Add a real scoring file (plain or gzipped) as the Catalog would publish it."""
        raw = source.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            path = self.root / self.relative(pgs_id, build)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
            Path(str(path) + ".md5").write_text(f"{md5_hex(raw)}  {path.name}\n")
            return path
        return self.add(pgs_id, build, raw)

    def path(self, pgs_id: str, build: str | None) -> Path:
        return self.root / self.relative(pgs_id, build)


@dataclass
class Fault:
    """What to do wrong for a path: applied to the first ``times`` requests (None: all).

    ``status``/``body``: answer with these instead; ``drop_after``: close the connection
    after that many body bytes; ``delay``: wait before answering; ``trickle``: wait this
    long between 4 KiB blocks of the body; ``ignore_range``: answer Range requests with 200.
    """

    status: int | None = None
    body: bytes | None = None
    drop_after: int | None = None
    delay: float = 0.0
    trickle: float = 0.0
    ignore_range: bool = False
    times: int | None = None


class CatalogServer:
    """Serve a :class:`CatalogTree` under ``/ftp`` and registered REST JSON under ``/rest``.

    Use as a context manager; :attr:`url` is ``http://127.0.0.1:<port>``.
    """

    def __init__(self, tree: CatalogTree) -> None:
        self.tree = tree
        self.rest: dict[str, Any] = {}
        self.faults: dict[str, Fault] = {}
        self.requests: list[tuple[str, str | None]] = []
        #: False: answer Range requests with the whole file (200), like some servers do.
        self.supports_range = True
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- configuration -------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/rest"

    @property
    def ftp_url(self) -> str:
        return f"{self.url}/ftp"

    def file_url(self, pgs_id: str, build: str | None) -> str:
        return f"{self.ftp_url}/{CatalogTree.relative(pgs_id, build)}"

    def score_json(
        self,
        pgs_id: str,
        *,
        builds: tuple[str, ...] = ("GRCh37", "GRCh38"),
        trait_efo: str = "EFO_0000305",
        pgp_id: str = "PGP000002",
        variants_number: int = 313,
    ) -> dict[str, Any]:
        """A score object shaped like ``/rest/score/{id}`` (the fields prs reads, and some)."""
        return {
            "id": pgs_id,
            "name": f"{pgs_id}_NAME",
            "ftp_scoring_file": self.file_url(pgs_id, None),
            "ftp_harmonized_scoring_files": {
                b: {"positions": self.file_url(pgs_id, b)} for b in builds
            },
            "publication": {
                "id": pgp_id,
                "firstauthor": "Mavaddat N",
                "journal": "Am J Hum Genet",
                "date_publication": "2018-12-13",
            },
            "trait_reported": "Breast cancer",
            "trait_efo": [{"id": trait_efo, "label": "breast carcinoma"}],
            "variants_number": variants_number,
            "variants_genomebuild": "GRCh37",
            "weight_type": "NR",
            "license": "PGS obtained from the Catalog should be cited appropriately",
        }

    def add_score(self, pgs_id: str, **kwargs: Any) -> dict[str, Any]:
        record = self.score_json(pgs_id, **kwargs)
        self.rest[f"/rest/score/{pgs_id}"] = record
        return record

    def add_search(
        self, key: str, value: str, records: list[dict[str, Any]], page_size: int = 2
    ) -> None:
        """Register ``/rest/score/search?{key}={value}`` with pages of ``page_size``."""
        for start in range(0, max(len(records), 1), page_size):
            query = (
                {key: value} if start == 0 else {key: value, "limit": page_size, "offset": start}
            )
            nxt = start + page_size
            self.rest["/rest/score/search?" + urllib.parse.urlencode(query)] = {
                "size": len(records[start:nxt]),
                "count": len(records),
                "next": (
                    f"{self.url}/rest/score/search?"
                    + urllib.parse.urlencode({key: value, "limit": page_size, "offset": nxt})
                )
                if nxt < len(records)
                else None,
                "previous": None,
                "results": records[start:nxt],
            }

    def fault(self, path: str, **kwargs: Any) -> None:
        """Inject a fault for requests whose path (without query) equals ``path``."""
        self.faults[path] = Fault(**kwargs)

    def count(self, path_prefix: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p.startswith(path_prefix))

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> CatalogServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- serving -------------------------------------------------------------------------
    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(path)
            if fault is None:
                return None
            if fault.times is not None:
                if fault.times <= 0:
                    return None
                fault.times -= 1
            return fault

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(handler.path)
        with self._lock:
            self.requests.append((handler.path, handler.headers.get("Range")))
        fault = self._take_fault(parts.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and (fault.status is not None or fault.body is not None):
            body = fault.body if fault.body is not None else b'{"detail": "injected"}'
            self._send(handler, fault.status or 200, body, "application/json")
            return
        if parts.path.startswith("/rest/"):
            key = parts.path + (f"?{parts.query}" if parts.query else "")
            if key not in self.rest:
                self._send(handler, 404, b'{"detail": "Not found."}', "application/json")
                return
            self._send(handler, 200, json.dumps(self.rest[key]).encode(), "application/json")
            return
        if parts.path.startswith("/ftp/"):
            file = self.tree.root / urllib.parse.unquote(parts.path[len("/ftp/") :])
            if not file.is_file():
                self._send(handler, 404, b"not found", "text/plain")
                return
            self._send_file(handler, file.read_bytes(), fault, self.supports_range)
            return
        self._send(handler, 404, b"not found", "text/plain")

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    @staticmethod
    def _send_file(
        handler: BaseHTTPRequestHandler, data: bytes, fault: Fault | None, supports_range: bool
    ) -> None:
        start = 0
        range_header = handler.headers.get("Range")
        use_range = (
            range_header is not None and supports_range and not (fault and fault.ignore_range)
        )
        if use_range:
            spec = range_header.removeprefix("bytes=").split("-")[0]
            start = int(spec)
            if start >= len(data):
                handler.send_response(416)
                handler.send_header("Content-Range", f"bytes */{len(data)}")
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            handler.send_response(200)
            if supports_range:
                handler.send_header("Accept-Ranges", "bytes")
        body = data[start:]
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if fault is not None and fault.drop_after is not None:
            handler.wfile.write(body[: fault.drop_after])
            handler.wfile.flush()
            # Close without sending the rest: the client sees a short body.
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.trickle:
            try:
                for start in range(0, len(body), 4096):
                    handler.wfile.write(body[start : start + 4096])
                    handler.wfile.flush()
                    time.sleep(fault.trickle)
            except OSError:  # the client went away (the test killed it)
                handler.close_connection = True
            return
        handler.wfile.write(body)
