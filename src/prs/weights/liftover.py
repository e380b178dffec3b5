"""Liftover of scoring-file positions between GRCh37 and GRCh38, with every row's fate.

A scoring file whose positions are in another build than the genotypes is refused
(:func:`prs.match.check_builds`) unless the user allows a liftover (``liftover=True`` or a
chain file); then, before matching, :func:`lift_to_build` lifts it:

1. **The chain file**: UCSC's ``hg19ToHg38.over.chain.gz`` / ``hg38ToHg19.over.chain.gz``
   (or one the user names: a path, ``file://`` or ``http(s)://`` URL) is fetched,
   verified and cached exactly as PGS Catalog files are
   (:func:`prs.weights.catalog.download.download_into_cache`): the MD5 published beside it
   (``<file>.md5``, or the directory's ``md5sum.txt`` as UCSC publishes it) or one the
   user gives, and a SHA-256 when the user gives one; a mismatch deletes the download.
   It lives at ``<cache>/chains/<file name>/<md5>/<file name>``.
2. **Each row** is lifted by the `liftover <https://github.com/jeremymcrae/liftover>`_
   package (C++; chosen over pure-Python ``pyliftover``: same answers on 100,000
   positions, 35-45x faster to load a chain and 6-8x faster per position, see
   ``docs/matching.md``). Its fate is one of :data:`prs.vocab.LIFTOVER_FATES`: ``lifted``;
   ``lifted_reverse`` (the chain maps it to the reverse strand: alleles reverse
   complemented); ``unmapped``, ``multiple``, ``other_chrom``, ``reverse_indel``
   (unliftable: position -1, matched as ``unmatched_unliftable``); ``no_position``.
3. The lifted file states the target build and keeps ``source_chrom``, ``source_pos``
   and ``liftover`` per row; the match report carries them, and a
   :class:`~prs.errors.LiftoverWarning` counts the fates. In a run that lifts some files,
   the others carry the same columns (their own positions, an empty ``liftover`` fate),
   so every file's report has the same columns.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import pandas as pd

from prs.errors import CatalogError, LiftoverWarning, ScoreError, ScoringFileError, warn
from prs.genome import build_from_contig_lengths, canonical_build, normalize_chrom
from prs.weights.catalog.config import CatalogConfig, CatalogOptions, config_from
from prs.weights.catalog.download import _parse_md5, download_into_cache
from prs.weights.catalog.transport import _is_remote, _local_path, _NotFound, _read_small
from prs.weights.scorefile import ScoringFile

#: UCSC's chain files, by (from build, to build): (UCSC assembly directory, file name).
CHAINS: dict[tuple[str, str], tuple[str, str]] = {
    ("GRCh37", "GRCh38"): ("hg19", "hg19ToHg38.over.chain.gz"),
    ("GRCh38", "GRCh37"): ("hg38", "hg38ToHg19.over.chain.gz"),
}

#: Where UCSC publishes them: ``<base>/<assembly>/liftOver/<file name>`` (with md5sum.txt).
DEFAULT_CHAIN_BASE = "https://hgdownload.soe.ucsc.edu/goldenPath"

#: Environment variable overriding :data:`DEFAULT_CHAIN_BASE` (a mirror URL or directory
#: laid out the same way).
ENV_CHAIN_BASE = "PRS_CHAIN_BASE"

#: Fates of a lifted row that give it a position in the target build.
LIFTED = ("lifted", "lifted_reverse")

_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def chain_location(source_build: str, target_build: str, base: str | None = None) -> str:
    """Where the chain file from ``source_build`` to ``target_build`` is published.

    Parameters
    ----------
    source_build, target_build
        ``GRCh37`` or ``GRCh38`` (aliases such as ``hg19`` accepted).
    base
        Root laid out as UCSC's ``goldenPath``; default ``$PRS_CHAIN_BASE`` or UCSC's.

    Examples
    --------
    >>> chain_location("hg19", "GRCh38", base="https://mirror.example/goldenPath")
    'https://mirror.example/goldenPath/hg19/liftOver/hg19ToHg38.over.chain.gz'
    """
    assembly, name = _chain_name(source_build, target_build)
    root = (base or os.environ.get(ENV_CHAIN_BASE) or DEFAULT_CHAIN_BASE).rstrip("/")
    if _is_remote(root) or root.startswith("file:"):
        return f"{root}/{assembly}/liftOver/{name}"
    return str(Path(root) / assembly / "liftOver" / name)


def _chain_name(source_build: str, target_build: str) -> tuple[str, str]:
    pair = (canonical_build(source_build) or source_build, canonical_build(target_build))
    if pair not in CHAINS:
        raise ScoringFileError(
            f"no liftover chain from {source_build} to {target_build}: prs lifts between "
            "GRCh37 and GRCh38 only (pass a chain file of your own for other builds)"
        )
    return CHAINS[pair]  # type: ignore[index]


def fetch_chain(
    source_build: str | None = None,
    target_build: str | None = None,
    *,
    location: str | os.PathLike[str] | None = None,
    md5: str | None = None,
    sha256: str | None = None,
    config: CatalogConfig | None = None,
    **options: Unpack[CatalogOptions],
) -> Path:
    """The chain file, verified and cached as PGS Catalog files are.

    Parameters
    ----------
    source_build, target_build
        The builds to lift between (to find UCSC's file); not needed with ``location``.
    location
        A chain file of the user's: path, ``file://`` or ``http(s)://`` URL.
    md5
        Expected MD5; default the one published beside the file (``<file>.md5``) or in
        its directory's ``md5sum.txt``.
    sha256
        Expected SHA-256 (checked as well, on the download and on a cached copy).
    config, **options
        Cache, offline mode, timeouts, retries (:class:`~prs.weights.catalog.CatalogConfig`
        options: ``cache_dir=``, ``offline=``, ``verify=``, ...).

    Returns
    -------
    pathlib.Path
        ``<cache>/chains/<name>/<md5>/<name>``.

    Raises
    ------
    CatalogError
        Not found, offline and not cached, a checksum mismatch, no checksum to verify
        against (unless ``verify=False``), or not a chain file.
    """
    cfg = config_from(config, options)
    if location is None:
        if source_build is None or target_build is None:
            raise CatalogError("fetch_chain: give source_build and target_build, or location")
        where = chain_location(source_build, target_build)
    else:
        where = os.fspath(location)
    name = Path(urllib.parse.urlsplit(where).path).name or "chain"
    entry = cfg.cache_dir / "chains" / name
    if sha256 is not None and not _SHA256.fullmatch(sha256):
        raise CatalogError(f"sha256={sha256!r}: expected 64 hex digits")
    expected = md5.lower() if md5 else None
    if expected is None and cfg.offline:
        hit = _newest(entry, name)
        if hit is None:
            raise CatalogError(
                f"chain file {name}: offline and not in the cache {cfg.cache_dir}; fetch it on "
                "a machine with network access (same cache dir), or pass a local chain file"
            )
        _check_sha256(hit, sha256)
        return hit
    if expected is None:
        expected = _published_chain_md5(where, cfg)
    if expected is None and cfg.verify and sha256 is None:
        raise CatalogError(
            f"{where}: no published checksum (neither {where}.md5 nor md5sum.txt beside it); "
            "pass md5= or sha256= (--chain-md5/--chain-sha256) to verify it, or verify=False "
            "to accept it unverified"
        )
    if expected is not None:
        hit = entry / expected / name
        if hit.is_file():
            _check_sha256(hit, sha256)
            return hit

    def check(part: Path) -> None:
        _check_chain_text(part, where)
        _check_sha256(part, sha256, where)

    return download_into_cache(
        where,
        entry=entry,
        name=name,
        lock=cfg.cache_dir / "chains" / ".locks" / f"{name}.lock",
        label=f"chain file {name}",
        expected_md5=expected,
        config=cfg,
        check=check,
        what="chain file",
    )


def _newest(entry: Path, name: str) -> Path | None:
    hits = [p for p in entry.glob(f"*/{name}") if re.fullmatch(r"[0-9a-f]{32}", p.parent.name)]
    return max(hits, key=lambda p: p.stat().st_mtime) if hits else None


def _published_chain_md5(location: str, config: CatalogConfig) -> str | None:
    """``<location>.md5`` (as the Catalog), else the line naming the file in the
    directory's ``md5sum.txt`` (as UCSC), else None."""
    try:
        return _parse_md5(_read_small(location + ".md5", config, "checksum"), location + ".md5")
    except _NotFound:
        pass
    name = location.rstrip("/").rsplit("/", 1)[-1]
    if _is_remote(location) or location.startswith("file:"):
        listing = location[: -len(name)] + "md5sum.txt"
    else:
        listing = str(_local_path(location).with_name("md5sum.txt"))
    try:
        text = _read_small(listing, config, "checksum list").decode("ascii", errors="replace")
    except _NotFound:
        return None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == name:
            return _parse_md5(parts[0].encode(), listing)
    return None


def _check_sha256(path: Path, sha256: str | None, where: str | None = None) -> None:
    if sha256 is None:
        return
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256.lower():
        raise CatalogError(
            f"{where or path}: SHA-256 mismatch: expected {sha256.lower()}, got {digest}"
            + ("; the download was deleted" if where else "")
        )


def _check_chain_text(path: Path, where: str) -> None:
    """The file is a (gzipped) chain file: its first line is a ``chain`` header."""
    with path.open("rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    try:
        with gzip.open(path, "rt") if gz else path.open("rt") as fh:
            first = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{where}: not a readable (gzipped) chain file ({exc})") from exc
    fields = first.split()
    if len(fields) not in (12, 13) or fields[0] != "chain":
        raise CatalogError(
            f"{where}: not a chain file (first line {first[:60]!r}; expected "
            "'chain score tName tSize tStrand tStart tEnd qName qSize qStrand qStart qEnd id')"
        )


def read_chain(path: str | os.PathLike[str]) -> Any:
    """Open a chain file with the ``liftover`` package (a ``liftover.ChainFile``).

    Raises
    ------
    CatalogError
        The package is missing, or the file is not a chain file.
    """
    try:
        import liftover
    except ImportError as exc:  # pragma: no cover - a dependency
        raise CatalogError("liftover needs the 'liftover' package (pip install liftover)") from exc
    _check_chain_text(Path(path), os.fspath(path))
    return liftover.ChainFile(os.fspath(path))


def _reverse_complement(allele: str) -> str:
    return allele.translate(_COMPLEMENT)[::-1]


def lift_scoring_file(
    scoring: ScoringFile,
    target_build: str,
    chain: str | os.PathLike[str] | Any,
    *,
    chain_name: str | None = None,
) -> ScoringFile:
    """The scoring file with its positions lifted to ``target_build``.

    Parameters
    ----------
    scoring
        A scoring file stating its build (``scoring.genome_build``).
    target_build
        The genotypes' build.
    chain
        A chain file path, or a ``liftover.ChainFile`` already open.
    chain_name
        How the provenance names the chain (default its path).

    Returns
    -------
    ScoringFile
        Same rows, weights and lines, ``genome_build=target_build``; ``chrom``/``pos``
        lifted (``pos`` -1 where a row could not be lifted) and the columns
        ``source_chrom``, ``source_pos`` and ``liftover`` (its fate,
        :data:`prs.vocab.LIFTOVER_FATES`); alleles reverse complemented where the chain
        maps to the reverse strand. The header records ``liftover`` (from, to, chain).

    Raises
    ------
    ScoringFileError
        The scoring file states no build.

    Warns
    -----
    LiftoverWarning
        How many rows lifted and how many did not, by fate.
    """
    if scoring.genome_build is None:
        raise ScoringFileError(
            f"{scoring.path}: the scoring file states no genome build; a liftover needs one"
        )
    target = canonical_build(target_build) or target_build
    handle = chain if hasattr(chain, "convert_coordinate") else read_chain(chain)
    name = chain_name or (os.fspath(chain) if isinstance(chain, (str, os.PathLike)) else "chain")
    variants = scoring.variants
    chrom = variants["chrom"].fillna("").astype(str).to_numpy(dtype=object)
    pos = variants["pos"].to_numpy(dtype=np.int64)
    new_pos = np.full(len(pos), -1, dtype=np.int64)
    new_chrom = chrom.copy()
    fate = np.full(len(pos), "no_position", dtype=object)
    effect = variants["effect_allele"].fillna("").astype(str).to_numpy(dtype=object).copy()
    other = variants["other_allele"].fillna("").astype(str).to_numpy(dtype=object).copy()
    for c in pd.unique(chrom[pos >= 0]):
        rows = np.flatnonzero((chrom == c) & (pos >= 0))
        in_chain = "chrM" if c == "MT" else f"chr{c}"  # the package also tries it unprefixed
        for i in rows:
            hits = handle.convert_coordinate(in_chain, int(pos[i]) - 1)  # counts from 0
            if not hits:
                fate[i] = "unmapped"
                continue
            if len(hits) > 1:
                fate[i] = "multiple"
                continue
            to_chrom, to_pos, strand = hits[0]
            if normalize_chrom(to_chrom) != c:
                fate[i] = "other_chrom"
                continue
            if strand == "-":
                if len(effect[i]) > 1 or len(other[i]) > 1:
                    fate[i] = "reverse_indel"  # its first base is not the lifted base
                    continue
                effect[i], other[i] = _reverse_complement(effect[i]), _reverse_complement(other[i])
                fate[i] = "lifted_reverse"
            else:
                fate[i] = "lifted"
            new_pos[i] = int(to_pos) + 1
    lifted = variants.copy()
    lifted["source_chrom"] = variants["chrom"]
    lifted["source_pos"] = variants["pos"]
    lifted["chrom"] = new_chrom
    lifted["pos"] = new_pos
    lifted["effect_allele"] = effect
    lifted["other_allele"] = other
    lifted["liftover"] = fate
    counts = pd.Series(fate).value_counts()
    summary = ", ".join(f"{k}={int(v)}" for k, v in counts.items())
    note = f"lifted {scoring.genome_build} -> {target} with {name}: {summary}"
    failed = int(sum(v for k, v in counts.items() if k not in (*LIFTED, "no_position")))
    warn(
        f"{scoring.path}: positions lifted from {scoring.genome_build} to {target} "
        f"({summary}); {failed} row(s) could not be lifted (unmatched_unliftable in the "
        "match report, which names each row's fate in its liftover column)",
        LiftoverWarning,
    )
    return replace(
        scoring,
        variants=lifted,
        genome_build=target,
        header={**scoring.header, "liftover": note},
        warnings=(*scoring.warnings, note),
    )


def lift_to_build(
    scoring: Sequence[ScoringFile],
    target_build: str | None,
    liftover: bool | str | os.PathLike[str] = False,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    config: CatalogConfig | None = None,
    **options: Unpack[CatalogOptions],
) -> list[ScoringFile]:
    """Lift every scoring file whose build differs from the genotypes', when allowed.

    Parameters
    ----------
    scoring
        The run's scoring files.
    target_build
        The genotypes' build (None: unknown; refused when ``liftover`` is asked for and a
        file states its build).
    liftover
        False (default): nothing is lifted (a build mismatch stays an error in
        :func:`prs.match.check_builds`). True: UCSC's chain for each file's builds,
        fetched and verified (:func:`fetch_chain`). A path or URL: that chain file (for
        every file in another build), verified against ``md5``/``sha256`` or a published
        checksum.
    md5, sha256
        Expected checksums of the chain file (see :func:`fetch_chain`).
    config, **options
        Cache and network options, as for the PGS Catalog.

    Returns
    -------
    list[ScoringFile]
        The files, lifted where their build differs from ``target_build`` (each lift note
        names the chain's direction as its header lengths tell, or says it is unchecked).
        When any file is lifted, the others get ``source_chrom``/``source_pos`` (their own)
        and an empty ``liftover`` fate, so every match report has the same columns.

    Raises
    ------
    ScoreError
        ``liftover`` asked for with ``target_build`` unknown; a chain file whose header
        lengths show another direction than a file's build -> ``target_build``; one chain
        file for files in several other builds.
    CatalogError
        As :func:`fetch_chain` and :func:`read_chain`.
    """
    if not liftover:
        return list(scoring)
    if target_build is None:
        stated = [sf for sf in scoring if sf.genome_build is not None]
        if stated:
            raise ScoreError(
                f"liftover needs the genotypes' build, which they do not state: give "
                f"genome_build= (--build) to lift {stated[0].path} ({stated[0].genome_build})"
            )
        return list(scoring)
    target = canonical_build(target_build) or target_build
    others = [sf for sf in scoring if sf.genome_build not in (None, target)]
    if liftover is not True and len({sf.genome_build for sf in others}) > 1:
        raise ScoreError(
            f"one chain file ({liftover}) cannot lift files in several builds to {target}: "
            + ", ".join(f"{sf.path} ({sf.genome_build})" for sf in others)
        )
    out: list[ScoringFile] = []
    chains: dict[str, tuple[Any, str]] = {}
    for sf in scoring:
        if sf not in others:
            out.append(sf)
            continue
        if liftover is True:
            path = fetch_chain(
                sf.genome_build, target, md5=md5, sha256=sha256, config=config, **options
            )
        else:
            path = fetch_chain(location=liftover, md5=md5, sha256=sha256, config=config, **options)
        key = str(path)
        if key not in chains:
            chains[key] = (read_chain(path), _chain_direction(path))
        chain, (source, to) = chains[key]
        if (source and source != sf.genome_build) or (to and to != target):
            raise ScoreError(
                f"chain file {path.name} maps {source or '?'} -> {to or '?'} (its chromosome "
                f"lengths), not {sf.path}'s {sf.genome_build} -> {target}: give the chain "
                f"from {sf.genome_build} to {target}"
            )
        direction = (
            f"chain {source} -> {to}"
            if source and to
            else "chain's builds not known from its lengths: direction unchecked"
        )
        out.append(lift_scoring_file(sf, target, chain, chain_name=f"{path.name} ({direction})"))
    if any("liftover" in sf.variants.columns for sf in out):
        out = [sf if "liftover" in sf.variants.columns else _not_lifted(sf) for sf in out]
    return out


def _chain_direction(path: Path) -> tuple[str | None, str | None]:
    """The builds a chain file maps from and to, known from the chromosome lengths in its
    ``chain`` header lines (``tName tSize`` the source, ``qName qSize`` the target, as
    UCSC writes them; :data:`prs.genome.CONTIG_LENGTHS`); None where no length tells."""
    source: str | None = None
    to: str | None = None
    with path.open("rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rt") if gz else path.open("rt") as fh:
        for line in fh:
            if not line.startswith("chain"):
                continue
            fields = line.split()
            if len(fields) < 12:
                continue
            source = source or build_from_contig_lengths({fields[2]: int(fields[3])})
            to = to or build_from_contig_lengths({fields[7]: int(fields[8])})
            if source and to:
                break
    return source, to


def _not_lifted(scoring: ScoringFile) -> ScoringFile:
    """``scoring`` with the columns of a lifted file: ``source_chrom``/``source_pos`` its
    own positions and an empty ``liftover`` fate (not lifted). In a run that lifts another
    file, every file's match report then has the same columns (the report's rows are
    written file by file, into one table)."""
    variants = scoring.variants.copy()
    variants["source_chrom"] = variants["chrom"]
    variants["source_pos"] = variants["pos"]
    variants["liftover"] = np.full(len(variants), "", dtype=object)
    return replace(scoring, variants=variants)
