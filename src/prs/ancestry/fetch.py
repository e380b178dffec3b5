"""Downloading a published ancestry reference pack into the cache, as ``prs fetch`` downloads
scoring files: the same transport (resume by HTTP Range, retries with back-off, a lock per
file, progress), the same MD5 verification against the checksum published beside the file
(``<url>.md5``) or given by the user, and an atomic move into ``<cache>/reference/<md5>/``.

The packs the PGS Catalog Calculator uses (its documentation, "ancestry" how-to) are
:data:`PACKS`. They hold PLINK 2 filesets of the reference samples (not a prs reference):
extract the archive and run ``prs reference build`` on its ``.pgen`` with its ``.psam`` labels
and KING-cutoff list to make one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from prs.errors import CatalogError
from prs.weights.catalog.config import CatalogConfig
from prs.weights.catalog.download import (
    _copy_local,
    _fsync_dir,
    _locked,
    _md5_of,
    _published_md5,
    _stream_http,
)
from prs.weights.catalog.store import _MD5
from prs.weights.catalog.transport import (
    _is_remote,
    _local_path,
    _NotFound,
    _Transient,
    _with_retries,
)

#: Published reference packs by name: pgsc_calc's (EMBL-EBI PGS Catalog FTP, "resources").
PACKS = {
    "HGDP+1kGP": "https://ftp.ebi.ac.uk/pub/databases/spot/pgs/resources/pgsc_HGDP+1kGP_v1.tar.zst",
    "1000G": "https://ftp.ebi.ac.uk/pub/databases/spot/pgs/resources/pgsc_1000G_v1.tar.zst",
}


@dataclass(frozen=True)
class FetchedPack:
    """A reference pack in the cache."""

    path: Path
    md5: str
    source: str
    downloaded: bool


def fetch_reference_pack(
    pack: str,
    *,
    md5: str | None = None,
    config: CatalogConfig | None = None,
) -> FetchedPack:
    """Download (or find in the cache) a reference pack and verify its MD5.

    Parameters
    ----------
    pack
        A name of :data:`PACKS`, a URL (``http(s)://``, ``file://``) or a local path.
    md5
        The expected MD5; default: the one published beside the file (``<url>.md5``). Without
        either the download is refused unless ``config.verify`` is False.
    config
        Cache, mirror-free transport settings (:class:`prs.catalog.CatalogConfig`;
        default from the environment, as ``prs fetch``).

    Returns
    -------
    FetchedPack

    Raises
    ------
    CatalogError
        Unknown pack, no checksum, a mismatch after every retry, or an unreachable server.
    """
    config = config or CatalogConfig.from_options()
    location = PACKS.get(pack, pack)
    name = location.rstrip("/").rsplit("/", 1)[-1]
    if md5 is not None and not _MD5.fullmatch(md5.lower()):
        raise CatalogError(f"--md5 {md5!r} is not an MD5 checksum (32 hex digits)")
    expected = md5.lower() if md5 else None
    entry = config.cache_dir / "reference"
    if expected is not None and (entry / expected / name).is_file():
        return FetchedPack(entry / expected / name, expected, location, False)
    if config.offline:
        raise CatalogError(
            f"{name}: not in the cache ({entry}) and offline; fetch it online or give --md5 "
            "of a cached copy"
        )
    if expected is None:
        expected = _published_md5(location, config)
        if expected is not None and (entry / expected / name).is_file():
            return FetchedPack(entry / expected / name, expected, location, False)
    if expected is None and config.verify:
        raise CatalogError(
            f"{location}: no MD5 published beside it ({location}.md5) and none given: give "
            "--md5, or --no-verify to accept it unverified (not recommended)"
        )
    entry.mkdir(parents=True, exist_ok=True)
    part = entry / f".{name}.{expected or 'unverified'}.part"

    def attempt() -> Path:
        if _is_remote(location):
            _stream_http(location, part, config, name)
        else:
            _copy_local(_local_path(location), part, config, name)
        actual = _md5_of(part)
        if expected is not None and actual != expected:
            part.unlink(missing_ok=True)
            raise _Transient(
                f"MD5 mismatch for {location}: expected {expected}, got {actual}; the corrupt "
                "download was deleted",
                hint="never use the file unverified; try again later or another copy",
            )
        final = entry / actual / name
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)
        _fsync_dir(final.parent)
        return final

    with _locked(entry / ".locks" / f"{name}.lock"):
        try:
            path = _with_retries(f"download of {name} from {location}", config, attempt)
        except _NotFound as exc:
            part.unlink(missing_ok=True)
            raise CatalogError(f"{name}: no reference pack at {location} ({exc})") from exc
    return FetchedPack(path, path.parent.name, location, True)
