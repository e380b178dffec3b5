"""Downloading a published ancestry reference pack into the cache, as ``prs fetch`` downloads
scoring files: the same transport (resume by HTTP Range, retries with back-off, a lock per
file, progress), the same MD5 verification against the checksum published beside the file
(``<url>.md5``) or given by the user, and an atomic move into ``<cache>/reference/<md5>/``.

The packs the PGS Catalog Calculator uses (its documentation, "ancestry" how-to) are
:data:`PACKS`. They hold PLINK 2 filesets of the reference samples (not a prs reference), one
per build (``GRCh37_*.pgen``/``.pvar.zst``/``.psam``, ``GRCh38_*``) and KING-cutoff lists of
related samples. :func:`extract_pack` unpacks one (``.tar.zst``, ``.tar.gz`` or ``.tar``)
beside itself, once; :func:`pack_files` finds a build's fileset, labels and related list in
it, for ``prs reference build`` or a per-population score distribution
(:func:`prs.scoring.reference_freq.reference_score_distribution`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prs.ancestry.reference import ReferencePanelError
from prs.errors import CatalogError
from prs.provenance import file_checksum
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


#: Archive suffixes :func:`extract_pack` opens.
ARCHIVE_SUFFIXES = (".tar.zst", ".tar.gz", ".tgz", ".tar")
#: Suffix of the directory an archive is extracted into (beside it).
EXTRACTED_SUFFIX = ".extracted"


@dataclass(frozen=True)
class PackFiles:
    """One build's files in an extracted reference pack.

    Attributes
    ----------
    genotypes
        The PLINK 2 fileset's ``.pgen``.
    labels
        Its ``.psam`` (``#IID``, ``SuperPop``, ``Population``).
    related
        The KING-cutoff list of related samples, or None.
    build
        ``"GRCh37"`` or ``"GRCh38"``.
    checksum
        Identity of the pack: the archive's MD5 when extracted from a fetched archive (its
        cache directory's name), else the SHA-256 of the files above.
    """

    genotypes: Path
    labels: Path
    related: Path | None
    build: str
    checksum: str


def extract_pack(archive: str | os.PathLike[str]) -> Path:
    """Unpack a reference pack archive into ``<archive>.extracted/`` (once: an existing,
    complete extraction is reused) and return that directory.

    ``.tar.zst`` needs the ``zstandard`` package. Members with absolute paths, ``..``, links
    or devices are refused. The extraction goes to a temporary directory renamed into place,
    so an interrupted one is never taken for complete.

    Raises
    ------
    ReferencePanelError
        Not an archive, an unsafe member, or ``zstandard`` missing for a ``.tar.zst``.
    """
    archive = Path(archive)
    name = archive.name.lower()
    if not any(name.endswith(s) for s in ARCHIVE_SUFFIXES):
        raise ReferencePanelError(
            f"{archive}: not a reference pack archive ({', '.join(ARCHIVE_SUFFIXES)})"
        )
    target = archive.with_name(archive.name + EXTRACTED_SUFFIX)
    if target.is_dir():
        return target
    partial = archive.with_name(f".{archive.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        with _open_archive(archive) as tar:
            for member in tar:
                _check_member(archive, member)
                tar.extract(member, partial, filter="data")
        os.replace(partial, target)
    except tarfile.TarError as exc:
        raise ReferencePanelError(f"{archive}: cannot extract the pack ({exc})") from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


@contextlib.contextmanager
def _open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    """The archive as a stream of members (zstd through ``zstandard``)."""
    if not archive.name.lower().endswith(".zst"):
        with tarfile.open(archive, mode="r:*") as tar:
            yield tar
        return
    try:
        import zstandard
    except ImportError as exc:
        raise ReferencePanelError(
            f"{archive}: a .tar.zst pack needs the 'zstandard' package (pip install "
            "zstandard), or extract it with `tar --zstd -xf` and give the directory"
        ) from exc
    with (
        open(archive, "rb") as raw,
        zstandard.ZstdDecompressor().stream_reader(raw) as stream,
        tarfile.open(fileobj=stream, mode="r|") as tar,
    ):
        yield tar


def _check_member(archive: Path, member: tarfile.TarInfo) -> None:
    parts = Path(member.name).parts
    if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
        raise ReferencePanelError(
            f"{archive}: member {member.name!r} is not a plain file inside the pack; refused"
        )


def pack_files(path: str | os.PathLike[str], build: str) -> PackFiles:
    """Find ``build``'s PLINK 2 fileset, labels and related list in a pack: an archive
    (extracted by :func:`extract_pack`) or a directory.

    The fileset is the one ``.pgen`` whose name starts with the build (``GRCh38_...``), or
    the only ``.pgen``; the related list the one ``*king.cutoff.out.id`` (with several, the
    one naming the build: ``hg38`` for GRCh38, ``hg19``/``phase3`` for GRCh37).

    Raises
    ------
    ReferencePanelError
        No fileset for the build, several, or its ``.psam`` missing.
    """
    if build not in ("GRCh37", "GRCh38"):
        raise ReferencePanelError(f"build must be GRCh37 or GRCh38, not {build!r}")
    path = Path(path)
    checksum = None
    if path.is_file():
        directory = extract_pack(path)
        if _MD5.fullmatch(path.parent.name):  # fetched: <cache>/reference/<md5>/<name>
            checksum = f"md5:{path.parent.name}"
    else:
        directory = path
    pgens = sorted(directory.rglob("*.pgen"))
    of_build = [p for p in pgens if p.name.startswith(build)] or (pgens if len(pgens) == 1 else [])
    if len(of_build) != 1:
        raise ReferencePanelError(
            f"{path}: {len(of_build) or 'no'} PLINK 2 fileset(s) for {build} "
            f"(.pgen files: {', '.join(p.name for p in pgens) or 'none'})"
        )
    pgen = of_build[0]
    psam = pgen.with_suffix(".psam")
    if not psam.is_file():
        raise ReferencePanelError(f"{pgen}: no {psam.name} beside it (the population labels)")
    related = _related_list(directory, build)
    if checksum is None:
        pvar = pgen.with_suffix(".pvar")
        pvar = pvar if pvar.is_file() else pgen.with_name(pgen.stem + ".pvar.zst")
        files = [pgen, pvar, psam, *([related] if related else [])]
        checksum = "sha256:" + ",".join(file_checksum(f) for f in files if f.is_file())
    return PackFiles(pgen, psam, related, build, checksum)


def _related_list(directory: Path, build: str) -> Path | None:
    found = sorted(directory.rglob("*king.cutoff.out.id"))
    if len(found) <= 1:
        return found[0] if found else None
    hints = ("hg38", "grch38") if build == "GRCh38" else ("hg19", "grch37", "phase3")
    named = [f for f in found if any(h in f.name.lower() for h in hints)]
    if len(named) != 1:
        raise ReferencePanelError(
            f"{directory}: several related-sample lists ({', '.join(f.name for f in found)}) "
            f"and not one naming {build}"
        )
    return named[0]
