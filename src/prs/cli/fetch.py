"""``prs fetch``: download PGS Catalog scoring files by accession into the cache.

Examples::

    prs fetch PGS000004 --build GRCh38
    prs fetch PGS000004 PGS000662 EFO_0000305 PGP000002 --build GRCh37
    prs fetch --curated breast --build GRCh38 --out weights/
    prs fetch PGS000004 --build GRCh38 --offline            # cache only, names what is missing
    prs fetch PGS000004 --build GRCh38 --mirror /data/pgs   # a local copy of the FTP tree
    prs fetch --list-curated

Prints one tab-separated line per file: PGS ID, build (``author`` for author-reported), MD5,
``cached``/``downloaded``, path.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from prs.cli import add_transfer_limits
from prs.errors import CatalogError
from prs.output import atomic_write
from prs.weights import catalog


def _copy_out(path: Path, out_dir: Path) -> Path:
    """Copy a cached file into ``out_dir`` atomically (``--out``)."""
    target = out_dir / path.name
    with path.open("rb") as src, atomic_write(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return target


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``fetch`` command to the ``prs`` command line."""
    parser = subparsers.add_parser(
        "fetch",
        help="download PGS Catalog scoring files (by PGS ID, trait or publication)",
        description=(
            "Fetch PGS Catalog scoring files into the cache, verify their published MD5, "
            "and print where they are. With --build, the harmonized file for that build is "
            "fetched; without it (or with --author-reported) the author-reported file."
        ),
        epilog=(
            "environment: PRS_CACHE_DIR (cache), PRS_OFFLINE=1 (offline), PRS_PGS_MIRROR "
            "(mirror), PRS_PGS_API_URL, PRS_PGS_FTP_URL (Catalog servers). "
            "Exit code 7 on a Catalog error."
        ),
    )
    _add_selection(parser)
    _add_sources(parser)
    _add_transfer(parser)
    parser.set_defaults(handler=run_fetch)
    return parser


def _add_selection(parser: argparse.ArgumentParser) -> None:
    """Which scores and which of their files."""
    parser.add_argument(
        "accessions",
        nargs="*",
        metavar="ACCESSION",
        help="PGS ID (PGS000004), publication (PGP000002) or trait (EFO_0000305)",
    )
    parser.add_argument(
        "--curated",
        metavar="CANCER",
        help="also fetch the curated scores for a cancer site (breast, prostate, colorectal, "
        "lung, or all); see --list-curated",
    )
    parser.add_argument(
        "--list-curated",
        action="store_true",
        help="print the curated cancer-score table (TSV) and exit",
    )
    parser.add_argument(
        "-b",
        "--build",
        choices=catalog.BUILDS,
        help="genome build of your genotypes: fetch the Catalog's harmonized file for it",
    )
    parser.add_argument(
        "--author-reported",
        action="store_true",
        help="fetch the author-reported file even with --build",
    )


def _add_sources(parser: argparse.ArgumentParser) -> None:
    """Where files come from and are kept (the catalog options)."""
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="cache directory (default: $PRS_CACHE_DIR or the platform's user cache dir)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="never touch the network: use the cache only and list what is missing",
    )
    parser.add_argument(
        "--mirror",
        metavar="URL_OR_DIR",
        help="base URL or directory laid out like the Catalog FTP tree (scores/PGS.../...)",
    )
    parser.add_argument("--api-url", help="PGS Catalog REST API root")
    parser.add_argument("--ftp-url", help="PGS Catalog FTP root")


def _add_transfer(parser: argparse.ArgumentParser) -> None:
    """How files are transferred, verified and copied out."""
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        metavar="DIR",
        help="also copy the fetched files into DIR",
    )
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="accept files without a published MD5 (not recommended)",
    )
    add_transfer_limits(parser)
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always show a progress bar",
    )
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show a progress bar"
    )


def run_fetch(args: argparse.Namespace) -> int:
    """Handler of ``prs fetch``; returns the exit code (errors raise CatalogError)."""
    if args.list_curated:
        table = catalog.curated(args.curated)
        table.to_csv(sys.stdout, sep="\t", index=False, lineterminator="\n")
        return 0
    accessions = list(args.accessions)
    if args.curated:
        accessions += [a for a in catalog.curated_ids(args.curated) if a not in accessions]
    if not accessions:
        raise CatalogError(
            "prs fetch: name at least one accession (e.g. PGS000004) or --curated CANCER"
        )
    config = catalog.CatalogConfig.from_options(
        cache_dir=args.cache_dir,
        offline=args.offline,
        mirror=args.mirror,
        api_url=args.api_url,
        ftp_url=args.ftp_url,
        timeout=args.timeout,
        retries=args.retries,
        backoff=args.backoff,
        verify=args.verify,
        # (-q: no bar unless --progress asks for one)
        progress=False
        if getattr(args, "quiet", False) and args.progress is None
        else args.progress,
    )
    results = catalog.fetch_all(
        accessions, build=args.build, author_reported=args.author_reported, config=config
    )
    for result in results:
        path = result.path
        if args.out is not None:
            path = _copy_out(result.path, args.out)
        print(
            "\t".join(
                (
                    result.pgs_id,
                    result.build or "author",
                    result.md5,
                    "cached" if result.from_cache else "downloaded",
                    str(path),
                )
            )
        )
    return 0
