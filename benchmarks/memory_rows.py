"""Peak memory of ``prs score`` as the scoring file's rows grow (issue 13, item 3).

Usage::

    python -m benchmarks.memory_rows                       # 0.5M, 1M, 2M rows
    python -m benchmarks.memory_rows --rows 500000 1000000 2000000 6000000
    python -m benchmarks.memory_rows --stages 1000000      # tracemalloc per stage, one run
    python -m benchmarks.memory_rows --rows 6000000 --read --no-plink   # + reading alone

One bgzipped, tabix-indexed VCF of ``max(rows)`` biallelic SNPs over chromosomes 1-22 and a
few samples (memory in samples is another benchmark) is written once (seeded) into
``$PRS_BENCH_DATA/memory_rows`` (default: the temp dir's ``prs-benchmarks/memory_rows``);
each scoring file takes ``rows`` of its records at random (PGS Catalog layout for prs, and
the same rows keyed by ID for ``plink2 --score``). Every run is a fresh process under
``/usr/bin/time`` (its maximum resident set size): ``prs score`` end to end (reading, matching,
scoring, writing the match report), and ``plink2 --vcf ... --score`` on the same files;
with ``--read``, also the reading of the scoring file alone (``load_scorefiles``).
The table gives each run's peak and the slope between runs (bytes of peak per scoring row).
Peaks on a shared machine are steady; wall times are not.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Unambiguous REF/ALT pairs (prs drops A/T and C/G by default; PLINK 2 scores them).
_PAIRS = np.array([b"AC", b"AG", b"CA", b"CT", b"GA", b"GT", b"TC", b"TG"])
SEED = 20261130


def data_dir() -> Path:
    """``$PRS_BENCH_DATA/memory_rows`` (default under the temp dir)."""
    root = os.environ.get("PRS_BENCH_DATA", str(Path(tempfile.gettempdir()) / "prs-benchmarks"))
    return Path(root) / "memory_rows"


def _records(n_records: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chromosome (1-22), position and allele-pair index of every record, seeded."""
    rng = np.random.default_rng(SEED)
    chrom = np.sort(rng.integers(1, 23, n_records)).astype(np.int64)
    gaps = rng.integers(1, 60, n_records)
    starts = np.flatnonzero(np.r_[True, chrom[1:] != chrom[:-1]])
    pos = np.cumsum(gaps)
    first = np.repeat(pos[starts] - gaps[starts], np.diff(np.r_[starts, n_records]))
    pos = pos - first + 10_000
    pair = rng.integers(0, len(_PAIRS), n_records)
    return chrom, pos, pair


def write_vcf(path: Path, n_records: int, n_samples: int) -> None:
    """A bgzipped, indexed VCF of ``n_records`` SNPs (phased GT, seeded) and its index."""
    chrom, pos, pair = _records(n_records)
    rng = np.random.default_rng(SEED + 1)
    header = [
        "##fileformat=VCFv4.2",
        "##source=prs-benchmarks memory_rows",
        *(f"##contig=<ID={c},length=250000000>" for c in range(1, 23)),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
            + [f"S{i:04d}" for i in range(n_samples)]
        ),
    ]
    with open(path, "wb") as out:
        proc = subprocess.Popen(["bgzip", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out)
        assert proc.stdin is not None
        proc.stdin.write(("\n".join(header) + "\n").encode())
        batch = 50_000
        for start in range(0, n_records, batch):
            stop = min(n_records, start + batch)
            calls = rng.integers(0, 2, (stop - start, n_samples, 2), dtype=np.uint8)
            text = np.empty((stop - start, n_samples, 4), dtype=np.uint8)
            text[:, :, 0] = calls[:, :, 0] + 48
            text[:, :, 1] = ord("|")
            text[:, :, 2] = calls[:, :, 1] + 48
            text[:, :, 3] = 9
            text[:, -1, 3] = 10
            lines = []
            for k in range(stop - start):
                i = start + k
                ref, alt = chr(_PAIRS[pair[i]][0]), chr(_PAIRS[pair[i]][1])
                lines.append(f"{chrom[i]}\t{pos[i]}\tv{i}\t{ref}\t{alt}\t.\tPASS\t.\tGT\t".encode())
                lines.append(text[k].tobytes())
            proc.stdin.write(b"".join(lines))
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError(f"bgzip failed writing {path}")
    subprocess.run(["tabix", "-f", "-p", "vcf", str(path)], check=True)


def write_scores(prs_path: Path, plink_path: Path, n_records: int, n_rows: int) -> None:
    """``n_rows`` of the VCF's records at random (seeded), effect allele REF or ALT at random,
    as a PGS Catalog style file and a PLINK 2 ``--score`` table (ID, A1, weight)."""
    chrom, pos, pair = _records(n_records)
    rng = np.random.default_rng(SEED + n_rows)
    rows = np.sort(rng.choice(n_records, size=n_rows, replace=False))
    flip = rng.random(n_rows) < 0.5
    weights = np.round(rng.normal(0.0, 0.05, n_rows), 6)
    with open(prs_path, "w") as prs_fh, open(plink_path, "w") as plink_fh:
        prs_fh.write("#pgs_name=memory_rows\n#genome_build=GRCh37\n")
        prs_fh.write("rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n")
        plink_fh.write("ID\tA1\tscore1\n")
        batch = 200_000
        for start in range(0, n_rows, batch):
            prs_lines, plink_lines = [], []
            for k in range(start, min(n_rows, start + batch)):
                i = rows[k]
                ref, alt = chr(_PAIRS[pair[i]][0]), chr(_PAIRS[pair[i]][1])
                ea, oa = (ref, alt) if flip[k] else (alt, ref)
                w = f"{weights[k]:.6g}"
                prs_lines.append(f"v{i}\t{chrom[i]}\t{pos[i]}\t{ea}\t{oa}\t{w}\n")
                plink_lines.append(f"v{i}\t{ea}\t{w}\n")
            prs_fh.write("".join(prs_lines))
            plink_fh.write("".join(plink_lines))


def prepare(rows: list[int], n_samples: int) -> tuple[Path, dict[int, tuple[Path, Path]]]:
    """The VCF (``max(rows)`` records) and one scoring file pair per row count (cached)."""
    out = data_dir()
    out.mkdir(parents=True, exist_ok=True)
    n_records = max(rows)
    vcf = out / f"v{n_records}_s{n_samples}.vcf.gz"
    if not (vcf.exists() and Path(f"{vcf}.tbi").exists()):
        started = time.perf_counter()
        write_vcf(vcf, n_records, n_samples)
        print(f"wrote {vcf} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    scores = {}
    for n in rows:
        prs_path = out / f"v{n_records}_r{n}.prs.txt"
        plink_path = out / f"v{n_records}_r{n}.plink.tsv"
        if not (prs_path.exists() and plink_path.exists()):
            write_scores(prs_path, plink_path, n_records, n)
        scores[n] = (prs_path, plink_path)
    return vcf, scores


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``cmd`` in a fresh process (``/usr/bin/time``)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", report.name, *cmd], capture_output=True, text=True
        )
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
        peak_kb = float(report.read().split()[-1])
    return wall, peak_kb / 1024.0


def prs_command(vcf: Path, scorefile: Path, out: Path, stream_rows: int | None = None) -> list[str]:
    """``prs score`` (``stream_rows`` None), or :func:`run_streamed` in a fresh process: the
    API with ``stream_rows`` and the match report written piece by piece, as the CLI writes
    it once it passes ``match_report_rows``."""
    if stream_rows is not None:
        return [
            sys.executable,
            "-m",
            "benchmarks.memory_rows",
            "--run-streamed",
            str(vcf),
            str(scorefile),
            str(out),
            str(stream_rows),
        ]
    prs = shutil.which("prs", path=str(Path(sys.executable).parent)) or "prs"
    return [prs, "score", "--vcf", str(vcf), "--scorefile", str(scorefile), "--out", str(out)]


def run_streamed(vcf: str, scorefile: str, out: str, stream_rows: int) -> None:
    """Score in pieces of ``stream_rows`` rows, the match report written as it goes, then
    the scores, summary and provenance (what ``prs score`` writes)."""
    import prs
    from prs.output import output_set

    with output_set(out) as outs:
        result = prs.score(
            vcf,
            scorefile,
            stream_rows=stream_rows,
            match_report_rows=lambda rows: outs.write_table_pieces(rows, "match_report.tsv"),
        )
        outs.write_table(result.to_frame(), "scores.tsv")
        outs.write_table(result.match_report.counts.reset_index(), "match_summary.tsv")
        outs.write_json(result.provenance, "provenance.json")


def read_command(scorefile: Path) -> list[str]:
    """:func:`run_read` in a fresh process."""
    return [sys.executable, "-m", "benchmarks.memory_rows", "--run-read", str(scorefile)]


def run_read(scorefile: str) -> None:
    """Read the scoring file as ``prs.score`` does (``load_scorefiles``), nothing else."""
    from prs.weights.load import load_scorefiles

    load_scorefiles([scorefile], build="GRCh37")


def plink_command(vcf: Path, scorefile: Path, out: Path) -> list[str]:
    return [
        "plink2",
        "--vcf",
        str(vcf),
        "--score",
        str(scorefile),
        "1",
        "2",
        "3",
        "header",
        "cols=+scoresums",
        # no missing calls here; without it PLINK 2 wants >= 50 samples for frequencies
        "no-mean-imputation",
        "--threads",
        "2",
        "--out",
        str(out),
    ]


def stage_peaks(vcf: Path, scorefile: Path) -> None:
    """Python-heap peaks (tracemalloc) and RSS after each stage of one run, in this process."""
    import resource
    import tracemalloc

    import prs
    from prs.match import combine_plans, combine_reports, match_variants, wanted_positions
    from prs.output import write_table
    from prs.weights.load import load_scorefiles

    def rss() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    source = prs.open_genotypes(vcf)
    tracemalloc.start()
    base = rss()
    print(f"{'stage':<28} {'held MB':>8} {'peak MB':>8} {'max RSS MB':>10}")

    def show(stage: str) -> None:
        held, peak = tracemalloc.get_traced_memory()
        print(f"{stage:<28} {held / 2**20:8.0f} {peak / 2**20:8.0f} {rss():10.0f}")
        tracemalloc.reset_peak()

    print(f"{'(opened)':<28} {'':>8} {'':>8} {base:10.0f}")
    scoring = load_scorefiles([str(scorefile)], build="GRCh37")
    show("read scoring file")
    wanted = wanted_positions(scoring)
    show("wanted positions")
    sites = source.sites(wanted)
    show("site table")
    plan, report = match_variants(scoring[0], sites)
    show("match_variants")
    plan, report = combine_plans([plan]), combine_reports([report])
    show("combine")
    del sites, wanted
    show("site table freed")
    scoring.clear()
    show("scoring file freed")
    with tempfile.TemporaryDirectory() as tmp:
        write_table(report.variants, Path(tmp) / "match_report.tsv")
    show("match report written")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[500_000, 1_000_000, 2_000_000])
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--no-plink", action="store_true", help="skip plink2")
    parser.add_argument("--stages", type=int, default=None, help="tracemalloc run of N rows")
    parser.add_argument(
        "--stream-rows",
        type=int,
        default=None,
        help="score through the API in pieces of N rows, the match report written as it "
        "goes (default: prs score as it is)",
    )
    parser.add_argument(
        "--read", action="store_true", help="also the reading of the scoring file alone"
    )
    parser.add_argument("--run-streamed", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--run-read", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_read:
        run_read(args.run_read)
        return 0
    if args.run_streamed:
        vcf, scorefile, out, stream_rows = args.run_streamed
        run_streamed(vcf, scorefile, out, int(stream_rows))
        return 0
    rows = sorted(args.rows)
    if args.stages is not None:
        vcf, scores = prepare(sorted({*rows, args.stages}), args.samples)
        stage_peaks(vcf, scores[args.stages][0])
        return 0
    vcf, scores = prepare(rows, args.samples)
    print(f"VCF: {vcf} ({max(rows):,} records x {args.samples} samples)")
    print(
        f"{'rows':>10} {'prs s':>7} {'prs MB':>8} {'plink2 s':>9} {'plink2 MB':>10}"
        + (f" {'read s':>7} {'read MB':>8}" if args.read else "")
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in rows:
            prs_path, plink_path = scores[n]
            prs_s, prs_mb = timed(
                prs_command(vcf, prs_path, Path(tmp) / f"prs{n}", args.stream_rows)
            )
            plink_s = plink_mb = float("nan")
            if not args.no_plink and shutil.which("plink2"):
                plink_s, plink_mb = timed(plink_command(vcf, plink_path, Path(tmp) / f"pl{n}"))
            results.append((n, prs_mb, plink_mb))
            read = ""
            if args.read:
                read_s, read_mb = timed(read_command(prs_path))
                read = f" {read_s:7.1f} {read_mb:8.0f}"
            print(f"{n:>10,} {prs_s:7.1f} {prs_mb:8.0f} {plink_s:9.1f} {plink_mb:10.0f}{read}")
    for (n0, p0, q0), (n1, p1, q1) in itertools.pairwise(results):
        per_row = (p1 - p0) * 2**20 / (n1 - n0)
        plink_per_row = (q1 - q0) * 2**20 / (n1 - n0)
        print(
            f"slope {n0:,} -> {n1:,} rows: prs {per_row:.0f} B/row, "
            f"plink2 {plink_per_row:.0f} B/row"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
