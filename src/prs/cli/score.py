"""``prs score`` and ``prs demo``: the scoring commands of the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prs.cli import (
    Stages,
    add_report_option,
    add_transfer_limits,
    show_progress,
    write_run_report,
)
from prs.errors import ScoreError
from prs.genome import SCORING_BUILDS
from prs.match import DEFAULT_MIN_OVERLAP
from prs.output import output_set
from prs.report import (
    COMPRESSIONS,
    SCORE_LAYOUTS,
    ScoreFileOptions,
    new_directories,
    removed_if_failed,
    write_score_files,
)
from prs.scoring import ScoreResult, score
from prs.scoring.pipeline import DEFAULT_STREAM_ROWS, ON_UNMATCHED, ReportRowsWriter
from prs.vocab import (
    DOSAGE_FIELDS,
    ENGINES,
    GENOTYPE_FORMATS,
    HALF_CALL_POLICIES,
    HAPLOID_POLICIES,
    MISSING_POLICIES,
    TABLE_FORMATS,
)

#: ``--missing`` word for imputing at the reference panel's population frequencies
#: (:func:`prs.scoring.reference_freq.score_with_reference_frequencies`), beside the
#: kernels' policies (:data:`prs.vocab.MISSING_POLICIES`).
REFERENCE_FREQ = "reference-freq"

#: The ``--missing`` choices.
MISSING_CHOICES = (*MISSING_POLICIES, REFERENCE_FREQ)

#: Files ``prs score`` writes into ``--out`` (TSV; ``--format parquet`` for the tables;
#: ``--layout`` adds or replaces the scores' file, see :mod:`prs.report`).
OUTPUT_FILES = ("scores", "match_report", "match_summary", "provenance.json")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``score`` and ``demo`` to the ``prs`` command line."""
    p = subparsers.add_parser(
        "score",
        help="score genotypes with PGS Catalog / custom scoring files",
        description="Score genotypes (VCF/BCF, PLINK pgen/bed, BGEN, VCF Zarr) with one or "
        "more scoring files in one pass. "
        "Writes scores, the match report (every variant's fate) and provenance into --out.",
    )
    inputs = p.add_mutually_exclusive_group(required=True)
    inputs.add_argument(
        "--sample-sheet",
        type=Path,
        metavar="SHEET",
        help="a sample sheet (CSV/TSV: pgsc_calc's sampleset,path_prefix,chrom,format or "
        "prs's sampleset,path,format[,sex]): score every sampleset, each as its own cohort, "
        "into --out/<sampleset>/ plus combined tables in --out (docs/samplesheets.md)",
    )
    inputs.add_argument(
        "--genotypes",
        "--vcf",
        dest="vcf",
        nargs="+",
        metavar="FILE",
        help="genotype file(s) of one format, e.g. one per chromosome (same samples): "
        "VCF/BCF, PLINK 2 .pgen (with .pvar/.psam) or PLINK 1 .bed (with .bim/.fam) or their "
        "fileset prefix, BGEN (.bgen), VCF Zarr (.vcz/.zarr)",
    )
    p.add_argument(
        "--scorefile",
        nargs="+",
        required=True,
        metavar="FILE_OR_PGS_ID",
        help="scoring files (PGS Catalog or custom) or PGS IDs to fetch",
    )
    p.add_argument("--out", required=True, type=Path, help="output directory")
    add_scoring_options(p)
    add_report_option(p, "OUT/report.html")
    p.set_defaults(handler=run_score)

    d = subparsers.add_parser(
        "demo",
        help="run the whole path on the embedded example (no network needed)",
        description="Score the embedded example cohort with the embedded scoring file, then "
        "place each person in a reference distribution, risk category and pathway.",
    )
    d.add_argument("--out", type=Path, default=Path("demo-output"), help="output directory")
    d.set_defaults(handler=run_demo)


def add_scoring_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that scores (in this order in ``--help``)."""
    _add_sample_options(p)
    _add_matching_options(p)
    _add_reading_options(p)
    _add_execution_options(p)
    _add_output_options(p)


def _add_sample_options(p: argparse.ArgumentParser) -> None:
    """Which genotype field, which samples, their sex, and how missing calls count."""
    p.add_argument(
        "--dosage",
        choices=DOSAGE_FIELDS,
        default="GT",
        help="genotype field: GT hard calls (default), DS, GP or HDS dosages",
    )
    p.add_argument(
        "--allow-gt-fallback",
        action="store_true",
        help="with --dosage DS/GP/HDS, score the hard calls (GT) of a file that has no such "
        "field instead of failing (recorded per score in provenance.json)",
    )
    p.add_argument(
        "--samples",
        type=Path,
        metavar="FILE",
        help="file with one sample ID per line: score only these, in this order",
    )
    p.add_argument(
        "--sex",
        type=Path,
        metavar="PATH",
        help="a sample sheet giving each sample's sex: .psam, .fam or a TSV with sample and "
        "sex columns; used for chrX/chrY/MT as PLINK 2",
    )
    p.add_argument(
        "--missing",
        choices=MISSING_CHOICES,
        default="mean-impute",
        help="missing genotypes: mean-impute (PLINK 2 default), scorefile-freq, none, or "
        "reference-freq (at the allele frequencies of each person's most similar population "
        "in --ancestry-reference)",
    )
    p.add_argument(
        "--ancestry-reference",
        type=Path,
        metavar="DIR",
        help="reference panel (prs reference build/fetch) for --missing reference-freq: each "
        "person is projected onto its PCs and imputed at their population's frequencies",
    )


def _add_matching_options(p: argparse.ArgumentParser) -> None:
    """How scoring rows are matched to the genotypes."""
    p.add_argument(
        "--keep-ambiguous",
        action="store_true",
        help="keep strand-ambiguous A/T and C/G SNPs (matched without flipping)",
    )
    p.add_argument(
        "--min-overlap",
        type=float,
        default=DEFAULT_MIN_OVERLAP,
        help="minimum match rate per score (default %(default)s)",
    )
    p.add_argument(
        "--on-unmatched",
        choices=ON_UNMATCHED,
        default="error",
        help="a score below --min-overlap: error (default) stops the run; skip leaves it "
        "out, scores the others and records why (match summary, provenance.json)",
    )
    p.add_argument(
        "--min-r2",
        type=float,
        metavar="R2",
        help="leave out matches at variants whose imputation r2 (INFO R2/DR2/INFO) is "
        "below R2 (excluded_low_r2 in the match report); default: no filter",
    )
    p.add_argument(
        "--drop-unscorable",
        action="store_true",
        help="drop (and count) haplotype/interaction/HLA rows instead of failing",
    )
    p.add_argument(
        "--author-positions",
        action="store_true",
        help="use chr_name/chr_position even when harmonized hm_* columns exist",
    )
    p.add_argument(
        "--build",
        choices=SCORING_BUILDS,
        help="genotypes' genome build (default: detected from the VCF header)",
    )
    p.add_argument(
        "--no-rsid-match",
        dest="match_rsids",
        action="store_false",
        help="do not match scoring rows that have an rsID but no position through the "
        "genotypes' variant IDs (they stay unmatched_no_position)",
    )
    lift = p.add_argument_group(
        "liftover (a scoring file in the other build: GRCh37 <-> GRCh38)",
        "UCSC's chain files are fetched from $PRS_CHAIN_BASE (a mirror laid out as UCSC's "
        "goldenPath; default https://hgdownload.soe.ucsc.edu/goldenPath), verified and "
        "cached in --cache-dir as PGS Catalog files are",
    )
    lift.add_argument(
        "--liftover",
        action="store_true",
        help="lift scoring files in another build than the genotypes' with UCSC's chain "
        "(default: such a file is an error); every row's fate is in the match report",
    )
    lift.add_argument(
        "--chain",
        metavar="PATH|URL",
        help="lift with this chain file instead of UCSC's (implies --liftover)",
    )
    lift.add_argument(
        "--chain-md5",
        metavar="HEX",
        help="expected MD5 of the chain file (default: the one published beside it)",
    )
    lift.add_argument("--chain-sha256", metavar="HEX", help="expected SHA-256 of the chain file")


def _add_reading_options(p: argparse.ArgumentParser) -> None:
    """How calls are read: half-calls, haploid calls, chunks, the engine."""
    p.add_argument(
        "--half-call",
        choices=HALF_CALL_POLICIES,
        default="error",
        help="meaning of 0/. calls (default: error, as PLINK 2)",
    )
    p.add_argument(
        "--haploid",
        choices=HAPLOID_POLICIES,
        default="as-diploid",
        help="how a male's chrX call counts (needs --sex): as-diploid (PLINK 2's default "
        "--xchr-model 2) or haploid (--xchr-model 1)",
    )
    p.add_argument(
        "--genotype-format",
        choices=GENOTYPE_FORMATS,
        default="auto",
        help="format of the genotype files (default: told from their names)",
    )
    p.add_argument("--chunk-size", type=int, default=1024, help="variants per chunk")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="VCF reader: auto (fast for bgzipped VCF; checked for a small one, <= 4 MB, while "
        "Numba has not started: no compilation), fast (Numba), checked (cyvcf2)",
    )


def _add_execution_options(p: argparse.ArgumentParser) -> None:
    """How the work is cut into tasks and where they run (docs/scale.md)."""
    p.add_argument(
        "--task-variants",
        type=int,
        metavar="N",
        help="matched variants per task (default: 64 x --chunk-size)",
    )
    p.add_argument(
        "--sample-block",
        type=int,
        metavar="N",
        help="samples per block (default: all in one); memory per chunk is chunk size x block",
    )
    p.add_argument(
        "--stream-rows",
        type=int,
        default=DEFAULT_STREAM_ROWS,
        metavar="N",
        help="scoring rows per piece: more rows are matched and scored in pieces of whole "
        "chromosomes, so memory follows N, not the file (default %(default)s)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run the tasks on a local Dask cluster of N single-threaded worker processes "
        "(pip install 'prs-risk[dask]'); same scores bit for bit",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the tasks on an existing Dask cluster (e.g. tcp://host:8786)",
    )


def _add_output_options(p: argparse.ArgumentParser) -> None:
    """The outputs' format and layout, and where scores given by PGS ID come from."""
    out = p.add_argument_group("outputs (layouts: see prs.report)")
    out.add_argument(
        "--format",
        choices=TABLE_FORMATS,
        default="tsv",
        help="table format of the outputs (the plink and pgsc layouts are always text)",
    )
    out.add_argument(
        "--layout",
        nargs="+",
        choices=tuple(SCORE_LAYOUTS),
        default=["long"],
        metavar="LAYOUT",
        help="score tables to write, one or more: long (scores.tsv, one row per sample x "
        "score; default), plink (scores.sscore: PLINK 2's --score cols=+scoresums,+denom "
        "columns, #IID or #FID IID, ALLELE_CT, DENOM, NAMED_ALLELE_DOSAGE_SUM, <score>_AVG, "
        "<score>_SUM; counts per score when there are several), pgsc (aggregated_scores.txt: "
        "pgsc_calc's sampleset FID IID PGS SUM DENOM AVG)",
    )
    out.add_argument(
        "--compress",
        choices=tuple(COMPRESSIONS),
        help="compress the text tables: gzip (.gz) or zstd (.zst, needs the zstandard "
        "package); provenance.json stays plain",
    )
    out.add_argument(
        "--id-delim",
        nargs="?",
        const="_",
        metavar="D",
        help="split sample IDs into FID and IID at D (default _) in the plink and pgsc "
        "layouts, as PLINK 2's --id-delim: HG00096_HG00096 -> FID HG00096, IID HG00096; an "
        "ID without D exactly once is an error. Without it: plink writes #IID only, pgsc "
        "FID = IID (as pgsc_calc)",
    )
    out.add_argument(
        "--digits",
        type=int,
        metavar="N",
        help="significant digits of the scores' floats in text tables (PLINK 2 writes 6); "
        "default: full precision (up to 17 digits, reads back as the exact float64)",
    )
    out.add_argument(
        "--sampleset",
        default="cohort",
        metavar="NAME",
        help="the sampleset column of the pgsc layout (default %(default)s)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        help="PGS Catalog cache for scores given by ID (env PRS_CACHE_DIR)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="never touch the network for PGS IDs (env PRS_OFFLINE=1)",
    )
    p.add_argument("--mirror", help="URL or directory laid out like the PGS Catalog FTP tree")
    add_transfer_limits(p, defaults=False)


def _samples_from(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    try:
        ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise ScoreError(f"{path}: cannot read the sample list ({exc.strerror})") from exc
    if not ids:
        raise ScoreError(f"{path}: the sample list is empty")
    return ids


@contextmanager
def dask_client(args: argparse.Namespace) -> Iterator[Any]:
    """The Dask client ``--workers``/``--scheduler`` ask for (None: run here), closed (with
    the local cluster it started) on the way out; prints the dashboard's address."""
    workers, address = getattr(args, "workers", None), getattr(args, "scheduler", None)
    if workers is None and address is None:
        yield None
        return
    from prs.scoring.distributed import local_cluster, require_distributed

    distributed = require_distributed()
    cluster = local_cluster(workers) if workers is not None else None
    try:
        with distributed.Client(cluster if cluster is not None else address) as client:
            where = f"{workers} local workers" if cluster is not None else address
            print(f"dask: {where}; dashboard {client.dashboard_link}", file=sys.stderr)
            yield client
    finally:
        if cluster is not None:
            cluster.close()


class _TaskBar:
    """tqdm bars on stderr, only when it is a terminal and not ``-q``
    (:func:`prs.cli.show_progress`): genotype bytes read (a VCF's pass over every record),
    then tasks done; counts the tasks for the log either way."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        self._bytes: Any = None
        self.enabled = enabled
        self.total = 0

    def bytes_read(self, done: int, total: int) -> None:
        """The first bar: compressed genotype bytes read by the fast VCF engine's pass over
        every record (``prs.score``'s ``read_progress``), before any task runs."""
        if not self.enabled:
            return
        from tqdm import tqdm

        if self._bytes is None:
            self._bytes = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc="genotypes read",
                file=sys.stderr,
                leave=False,
            )
        self._bytes.update(done - self._bytes.n)

    def __call__(self, done: int, total: int) -> None:
        self.total = total
        if not self.enabled:
            return
        from tqdm import tqdm

        if self._bytes is not None:  # the pass is over: the tasks' bar follows
            self._bytes.close()
            self._bytes = None

        if self._bar is None:
            self._bar = tqdm(total=total, unit="task", file=sys.stderr, leave=False)
        elif self._bar.total != total:
            # (a streamed run learns of more tasks chromosome by chromosome: one bar grows)
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        for bar in (self._bar, self._bytes):
            if bar is not None:
                bar.close()
        self._bar = self._bytes = None


def score_from_args(
    args: argparse.Namespace,
    vcf: list[str],
    scorefiles: list[str],
    match_report_rows: ReportRowsWriter | None = None,
) -> ScoreResult:
    """Run :func:`prs.score` with the options parsed by :func:`add_scoring_options` (on the
    Dask cluster ``--workers``/``--scheduler`` give, with a bar of tasks done on a
    terminal); logged at ``-v`` with its time. ``match_report_rows``: as
    :func:`prs.score`'s (the report written as it goes)."""
    bar = _TaskBar(show_progress(args))
    try:
        with dask_client(args) as client, Stages(args, ["score"]) as stage:
            with stage("score (open genotypes, match, read and sum)") as step:
                result = _score(args, vcf, scorefiles, client, bar, match_report_rows)
                if isinstance(result, ScoreResult):
                    step.detail = (
                        f"{len(result.samples)} samples x {len(result.score_ids)} scores, "
                        f"{bar.total} tasks"
                    )
            return result
    finally:
        bar.close()


def _score(
    args: argparse.Namespace,
    vcf: list[str],
    scorefiles: list[str],
    client: Any,
    progress: _TaskBar,
    match_report_rows: ReportRowsWriter | None = None,
) -> ScoreResult:
    options: dict[str, Any] = dict(
        dosage=args.dosage,
        keep_ambiguous=args.keep_ambiguous,
        min_overlap=args.min_overlap,
        drop_unscorable=args.drop_unscorable,
        use_harmonized=False if args.author_positions else None,
        genome_build=args.build,
        half_call=args.half_call,
        haploid=args.haploid,
        chunk_size=args.chunk_size,
        engine=args.engine,
        genotype_format=args.genotype_format,
        sex=args.sex,
        task_variants=getattr(args, "task_variants", None),
        sample_block=getattr(args, "sample_block", None),
        client=client,
        progress=progress,
        read_progress=progress.bytes_read,
        on_unmatched=args.on_unmatched,
        allow_gt_fallback=args.allow_gt_fallback,
        min_r2=args.min_r2,
        stream_rows=args.stream_rows,
        match_rsids=args.match_rsids,
        **_liftover_options(args),
        catalog_options={
            k: v
            for k, v in (
                ("cache_dir", args.cache_dir),
                ("offline", args.offline),
                ("mirror", args.mirror),
                ("timeout", args.timeout),
                ("retries", args.retries),
                ("backoff", args.backoff),
            )
            if v is not None
        },
    )
    samples = _samples_from(args.samples)
    reference = _ancestry_reference(args)
    if reference is None:
        return score(
            vcf,
            scorefiles,
            samples=samples,
            missing=args.missing,
            match_report_rows=match_report_rows,
            **options,
        )
    from prs.scoring.reference_freq import score_with_reference_frequencies

    # (each population group is scored on its own: the report comes with the result)
    return score_with_reference_frequencies(vcf, scorefiles, reference, samples=samples, **options)


def _ancestry_reference(args: argparse.Namespace) -> Path | None:
    """The reference panel ``--missing reference-freq`` imputes from (None: another
    ``--missing``); either option without the other is an error naming it."""
    reference = getattr(args, "ancestry_reference", None)
    if args.missing == REFERENCE_FREQ and reference is None:
        raise ScoreError(
            f"--missing {REFERENCE_FREQ} needs --ancestry-reference DIR (a panel from prs "
            "reference build --frequencies candidates, or prs reference fetch)"
        )
    if reference is not None and args.missing != REFERENCE_FREQ:
        raise ScoreError(
            f"--ancestry-reference is used only with --missing {REFERENCE_FREQ} (missing "
            f"genotypes imputed at its populations' frequencies), not --missing {args.missing}"
        )
    return reference


def _liftover_options(args: argparse.Namespace) -> dict[str, Any]:
    """``prs.score``'s liftover keywords from ``--liftover``/``--chain``/``--chain-md5``/
    ``--chain-sha256`` (a checksum without a liftover is an error: it would check nothing)."""
    liftover: bool | str = args.chain or args.liftover
    if not liftover and (args.chain_md5 or args.chain_sha256):
        raise ScoreError(
            "--chain-md5/--chain-sha256 check a chain file: give --liftover or --chain too"
        )
    return {
        "liftover": liftover,
        "liftover_md5": args.chain_md5,
        "liftover_sha256": args.chain_sha256,
    }


def run_score(args: argparse.Namespace) -> int:
    """Handler of ``prs score``."""
    options = score_file_options(args)  # (checked before the run: a typo fails at once)
    if args.sample_sheet is not None:
        from prs.cli.samplesheet import run_sample_sheet  # (it imports this module)

        code = run_sample_sheet(args)
        write_run_report(args, args.out)
        return code
    # The set is open while scoring: the match report is written as it goes (never held),
    # and every file is published together once the run ends, or none (output_set).
    # (an error before anything is published leaves no --out it created behind)
    with (
        removed_if_failed(new_directories(args.out)),
        output_set(args.out, marker="provenance.json") as outs,
    ):
        written: list[Path] = []
        result = score_from_args(
            args,
            args.vcf,
            args.scorefile,
            match_report_rows=lambda rows: written.append(
                outs.write_table_pieces(rows, f"match_report{options.table_ext(args.format)}")
            ),
        )
        options.check(result)
        with Stages(args, ["write"]) as stage, stage("write") as step:
            paths = write_score_files(
                result, outs, args.format, options, match_report=written[0] if written else None
            )
            step.detail = f"{len(paths)} files into {args.out}"
    if not args.quiet:
        print_score_summary(result)
        print(f"wrote {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    write_run_report(args, args.out)
    return 0


def score_file_options(args: argparse.Namespace) -> ScoreFileOptions:
    """The tables' layout, compression, FID/IID split and digits ``prs score`` was given
    (:class:`prs.report.ScoreFileOptions`; raises ReportError for a bad combination)."""
    return ScoreFileOptions(
        layouts=tuple(dict.fromkeys(args.layout)),
        compress=args.compress,
        id_delim=args.id_delim,
        digits=args.digits,
        sampleset=args.sampleset,
    )


def print_score_summary(result: ScoreResult, prefix: str = "") -> None:
    """One line per score on stderr: variants matched, samples scored, the trait (each line
    led by ``prefix``, e.g. a sampleset's name); a score left out by ``--on-unmatched
    skip``: ``skipped (<reason>)``."""
    for score_id, row in result.match_report.counts.iterrows():
        if bool(row.get("skipped", False)):  # (--on-unmatched skip: not in the scores)
            print(f"{prefix}{score_id}: skipped ({row['skip_reason']})", file=sys.stderr)
            continue
        info = result.score_info.get(str(score_id))
        # Which trait the score is of, so a wrong score is seen before it is calibrated.
        trait = ""
        if info is not None and (info.trait_reported or info.trait_efo):
            efo = f"[{', '.join(info.trait_efo)}]" if info.trait_efo else None
            trait = "; trait: " + " ".join(x for x in (info.trait_reported, efo) if x)
        print(
            f"{prefix}{score_id}: {int(row['matched'])}/{int(row['n_rows'])} variants matched "
            f"({row['match_rate']:.1%}), {len(result.samples)} samples scored{trait}",
            file=sys.stderr,
        )


def run_demo(args: argparse.Namespace) -> int:
    """Handler of ``prs demo``: the whole path on the embedded example."""
    from prs.example import run_demo as demo

    demo(args.out)
    return 0
