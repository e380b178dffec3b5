"""``prs reference``: build an ancestry reference, project targets onto it, fetch a pack.

Examples::

    prs reference build --genotypes ref_chr*.vcf.gz --labels ref.psam \\
        --related ref.king.cutoff.id --build GRCh37 --out ref.prsref
    prs reference project --reference ref.prsref --genotypes person.vcf.gz --out pcs.tsv
    prs reference fetch 1000G                      # pgsc_calc's 1000 Genomes pack, verified
    prs reference distribution --reference 1000G --scorefile PGS000001 --build GRCh38 \
        --out PGS000001_by_superpop.tsv             # scored once, then from the cache
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from prs.ancestry import (
    FREQUENCY_SETS,
    METHODS,
    PcaOptions,
    build_reference,
    load_reference,
    project,
    save_reference,
    with_scores,
)
from prs.ancestry.fetch import PACKS, fetch_reference_pack
from prs.calibrate._inputs import read_id_list
from prs.cli import add_transfer_limits
from prs.genotypes import open_genotypes
from prs.output import write_table
from prs.weights import catalog


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``reference`` command (build, project, fetch) to the ``prs`` command line."""
    parser = subparsers.add_parser(
        "reference",
        help="ancestry reference panels: build one, project targets onto it, fetch a pack",
        description="Ancestry reference panels (docs/ancestry.md).",
    )
    actions = parser.add_subparsers(dest="reference_action", metavar="ACTION", required=True)
    _register_build(actions)
    _register_project(actions)
    _register_fetch(actions)
    _register_distribution(actions)
    return parser


def _register_build(actions: argparse._SubParsersAction) -> None:
    build = actions.add_parser(
        "build",
        help="build a reference PCA from reference genotypes and population labels",
        description=(
            "Select PCA variants (biallelic autosomal SNPs, MAF >= --maf, strand-ambiguous "
            "and long-range high-LD regions excluded, LD-pruned), standardise them, compute "
            "the PCA and write a checksummed reference directory."
        ),
    )
    build.add_argument("--genotypes", nargs="+", required=True, help="reference genotype files")
    build.add_argument(
        "--labels", required=True, help="population labels (.psam-like: IID, SuperPop, Population)"
    )
    build.add_argument("--related", help="sample IDs to leave out, one per line (KING cutoff)")
    build.add_argument(
        "--target", nargs="+", help="target genotype files: keep only variants they have too"
    )
    build.add_argument("--build", help="genome build when the files do not say it (GRCh37/38)")
    build.add_argument("--n-pcs", type=int, default=10, help="PCs (10, as pgsc_calc)")
    build.add_argument("--maf", type=float, default=0.05, help="minimum MAF (0.05)")
    build.add_argument(
        "--indep-pairwise",
        nargs=3,
        metavar=("WINDOW", "STEP", "R2"),
        default=("1000", "50", "0.05"),
        help="LD pruning window (variants), step and r² (1000 50 0.05)",
    )
    build.add_argument(
        "--keep-high-ld", action="store_true", help="do not exclude long-range high-LD regions"
    )
    build.add_argument(
        "--scores",
        help="the reference samples' scores (TSV with IID and one column per score, e.g. "
        "prs score's output on the reference genotypes): kept for per-population distributions",
    )
    build.add_argument(
        "--frequencies",
        choices=FREQUENCY_SETS,
        default="pca",
        help="per-population allele frequencies kept: of the PCA variants (pca, default) or "
        "of every candidate site before MAF/LD filtering (candidates: what prs score "
        "--missing reference-freq imputes from)",
    )
    build.add_argument("--name", help="name of the reference (default: the output's name)")
    build.add_argument("-o", "--out", type=Path, required=True, help="reference directory")
    build.set_defaults(handler=run_build)


def _register_project(actions: argparse._SubParsersAction) -> None:
    proj = actions.add_parser(
        "project", help="project target samples onto a reference's PCs (OADP or simple)"
    )
    proj.add_argument("--reference", type=Path, required=True, help="reference directory")
    proj.add_argument("--genotypes", nargs="+", required=True, help="target genotype files")
    proj.add_argument("--method", choices=METHODS, default="oadp", help="projection (oadp)")
    proj.add_argument("-o", "--out", type=Path, required=True, help="output table (.tsv)")
    proj.set_defaults(handler=run_project)


def _register_fetch(actions: argparse._SubParsersAction) -> None:
    fetch = actions.add_parser(
        "fetch",
        help="download a published reference pack (pgsc_calc's) into the cache, verified",
        epilog=f"packs: {', '.join(f'{k} ({v})' for k, v in PACKS.items())}",
    )
    fetch.add_argument("pack", help=f"{' or '.join(PACKS)}, a URL, or a path")
    fetch.add_argument("--md5", help="expected MD5 (default: the one published as <url>.md5)")
    fetch.add_argument("--cache-dir", type=Path, help="cache directory (as prs fetch)")
    fetch.add_argument("--offline", action="store_true", default=None, help="cache only")
    fetch.add_argument(
        "--no-verify", dest="verify", action="store_false", help="accept an unverified file"
    )
    add_transfer_limits(fetch, what="the download")
    fetch.set_defaults(handler=run_fetch_pack)


def _register_distribution(actions: argparse._SubParsersAction) -> None:
    dist = actions.add_parser(
        "distribution",
        help="per-population distribution of a score over a reference pack (cached)",
        description=(
            "Score the unrelated, labelled samples of a reference pack (pgsc_calc's, fetched "
            "by name or URL, or a local archive or directory) and print per population n, "
            "mean, SD and percentiles. The result is cached under the pack's checksum, the "
            "score, the build and the scoring file's checksum: a second call does not score."
        ),
    )
    dist.add_argument(
        "--reference", required=True, help=f"{' or '.join(PACKS)}, a URL, an archive or a directory"
    )
    dist.add_argument("--scorefile", required=True, help="scoring file path or PGS ID")
    dist.add_argument("--build", required=True, choices=("GRCh37", "GRCh38"), help="genome build")
    dist.add_argument(
        "--by", choices=("SuperPop", "Population"), default="SuperPop", help="label level"
    )
    dist.add_argument("--md5", help="expected MD5 of a fetched pack")
    dist.add_argument("--cache-dir", type=Path, help="cache directory (as prs fetch)")
    dist.add_argument("--offline", action="store_true", default=None, help="cache only")
    dist.add_argument("--min-overlap", type=float, help="minimum match rate (0.75, as prs score)")
    dist.add_argument("-o", "--out", type=Path, help="output table (.tsv; default: stdout)")
    dist.set_defaults(handler=run_distribution)


def run_build(args: argparse.Namespace) -> int:
    """Handler of ``prs reference build``."""
    window, step, r2 = args.indep_pairwise
    options = PcaOptions(
        n_pcs=args.n_pcs,
        maf=args.maf,
        ld_window=int(window),
        ld_step=int(step),
        ld_r2=float(r2),
        exclude_high_ld=not args.keep_high_ld,
    )
    target = open_genotypes(args.target) if args.target else None
    panel = build_reference(
        args.genotypes,
        args.labels,
        related=read_id_list(args.related) if args.related else None,
        target=target,
        build=args.build,
        options=options,
        name=args.name or args.out.name,
        frequencies=args.frequencies,
    )
    if args.scores:
        table = pd.read_csv(args.scores, sep="\t", dtype={"IID": str, "sample_id": str})
        panel = with_scores(panel, table.rename(columns={"sample_id": "IID", "#IID": "IID"}))
    panel = save_reference(panel, args.out)
    if getattr(args, "quiet", False):  # -q: errors only
        return 0
    print(
        f"{args.out}\t{panel.n_variants} variants\t{len(panel.samples)} samples\t"
        f"sha256 {panel.checksum}"
    )
    return 0


def run_project(args: argparse.Namespace) -> int:
    """Handler of ``prs reference project``."""
    reference = load_reference(args.reference)
    result = project(reference, open_genotypes(args.genotypes), method=args.method)
    write_table(result.to_frame(), args.out)
    if getattr(args, "quiet", False):  # -q: errors only
        return 0
    print(
        f"{args.out}\t{len(result.samples)} samples\t{result.n_matched} of "
        f"{result.n_variants} reference variants matched",
        file=sys.stderr,
    )
    return 0


def run_fetch_pack(args: argparse.Namespace) -> int:
    """Handler of ``prs reference fetch``: prints MD5, cached/downloaded, path."""
    config = catalog.CatalogConfig.from_options(
        cache_dir=args.cache_dir,
        offline=args.offline,
        timeout=args.timeout,
        retries=args.retries,
        backoff=args.backoff,
        verify=args.verify,
    )
    got = fetch_reference_pack(args.pack, md5=args.md5, config=config)
    print(f"{got.md5}\t{'downloaded' if got.downloaded else 'cached'}\t{got.path}")
    return 0


def run_distribution(args: argparse.Namespace) -> int:
    """Handler of ``prs reference distribution``."""
    from prs.scoring.reference_freq import reference_score_distribution

    config = catalog.CatalogConfig.from_options(cache_dir=args.cache_dir, offline=args.offline)
    pack = Path(args.reference)
    if not pack.exists():  # a pack name or URL: fetched (or found) in the cache
        pack = fetch_reference_pack(args.reference, md5=args.md5, config=config).path
    got = reference_score_distribution(
        pack,
        args.scorefile,
        build=args.build,
        cache_dir=config.cache_dir,
        catalog_options={"offline": config.offline},
        **({} if args.min_overlap is None else {"min_overlap": args.min_overlap}),
    )
    table = got.distribution(by=args.by)
    if args.out is None:
        table.to_csv(sys.stdout, sep="\t", index=False)
    else:
        write_table(table, args.out)
    print(
        f"{'cached' if got.cached else 'scored'}\t{got.provenance.get('samples')} samples\t"
        f"key {got.key}",
        file=sys.stderr,
    )
    return 0
