"""Time ``prs score`` against ``plink2 --score`` and the bgzip floor, in one run.

Usage::

    python -m benchmarks.run            # full datasets (2,000 samples; scale series; PLINK)
    python -m benchmarks.run --small    # the CI-sized datasets
    python -m benchmarks.run --only pgen bed   # only the cases whose names start so

Every case runs each tool best-of-``--repeats`` on the same files: ``prs score`` end to end
(the console script: interpreter start, imports, reading, matching, scoring, writing; Numba
cache warm, and once with a cold cache), ``plink2 --vcf ... --score`` with ``--threads 2``,
and ``bgzip -dc FILE > /dev/null`` (the decompression floor, one core). The PLINK cases
(``pgen``, ``bed``: ``plink2 --dummy`` filesets at issue 13's target sizes, 20,000 samples x
100,000 variants, and 200,000 and 50,000 samples x 20,000 variants for memory and time
against samples) run ``prs score --vcf FILE.pgen`` against ``plink2 --pfile``/``--bfile ...
--score`` and take ``cat FILE > /dev/null`` as the floor (the binary file is read as it is,
no inflating); their engine figure is the scoring loop alone (``python -m benchmarks.engine
--scoring``: reading and accumulating every chunk in a warm process). Scores are compared
(PLINK 2 prints six significant digits; DS dosages are stored by PLINK 2 in 1/16384 steps,
so the DS tolerance adds that quantization). Results go to ``benchmarks/results/`` as
markdown and JSON; a full run also refreshes the table in README.md and
docs/performance.md. Timings on a shared machine are noisy: read the ratios, which come from
the same run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.generate import (
    FULL,
    PLINK_TARGETS,
    PLINK_TARGETS_SMALL,
    SMALL,
    DatasetSpec,
    PlinkSpec,
    default_data_dir,
    generate,
    generate_plink,
)

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Case:
    """One benchmark: genotypes, a scoring file (both spellings) and the dosage field.

    ``kind`` is ``"vcf"``, or ``"pgen"``/``"bed"`` for a PLINK fileset (``vcf`` then names
    its ``.pgen``/``.bed``).
    """

    name: str
    vcf: str
    score: str  # stem: <stem>.prs.txt / <stem>.plink.tsv
    dosage: str = "GT"
    n_scores: int = 1
    kind: str = "vcf"


@dataclass
class Timing:
    """Best-of-N wall time and the peak memory of that best run; ``cpu_seconds``: the
    least CPU time (user + system, all threads) of the runs (less sensitive than wall time
    to other jobs on a shared machine)."""

    seconds: float
    peak_mb: float
    runs: list[float] = field(default_factory=list)
    cpu_seconds: float = float("nan")


def plink_targets(spec: DatasetSpec) -> tuple[PlinkSpec, ...]:
    """The PLINK filesets that go with a dataset spec (the small ones with ``SMALL``)."""
    return PLINK_TARGETS_SMALL if spec == SMALL else PLINK_TARGETS


def cases(spec: DatasetSpec) -> list[Case]:
    """The cases of a dataset spec."""
    out = [
        Case("dense GT", "gt.vcf.gz", "dense"),
        Case("imputed DS", "imputed.vcf.gz", "imputed", dosage="DS"),
        Case("sparse (300 variants)", "gt.vcf.gz", "sparse"),
        Case(f"{spec.many_scores} scores", "gt.vcf.gz", "many", n_scores=spec.many_scores),
    ]
    out += [Case(f"scale {c}x", f"scale{c}.vcf.gz", f"scale{c}") for c in spec.scale_copies]
    # The same (1x) score on the larger files: memory and time as the VCF alone grows.
    out += [
        Case(f"scale {c}x VCF, 1x score", f"scale{c}.vcf.gz", f"scale{spec.scale_copies[0]}")
        for c in spec.scale_copies[1:]
    ]
    # PLINK filesets (plink2 --dummy hard calls), the dense score over every variant: the
    # issue's pgen and bed target, then pgen filesets of one variant count, more samples.
    target, *by_samples = plink_targets(spec)
    out += [
        Case("pgen hard calls", f"{target.name}.pgen", target.score, kind="pgen"),
        Case("bed hard calls", f"{target.name}.bed", target.score, kind="bed"),
    ]
    out += [
        Case(f"pgen {p.samples:,} samples", f"{p.name}.pgen", p.score, kind="pgen")
        for p in by_samples
    ]
    return out


def cpu_ratio(a: float, b: float) -> float:
    """``a / b`` of two CPU times, NaN when ``b`` is 0: /usr/bin/time counts CPU in 10 ms
    steps, so a tiny run can report none."""
    return round(a / b, 3) if b > 0 else float("nan")


def _timed(cmd: list[str], *, env: dict[str, str] | None = None, shell: bool = False) -> Timing:
    """Run ``cmd`` under /usr/bin/time (wall, max RSS, CPU time)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        timer = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", report.name]
        full = [*timer, "bash", "-c", cmd[0]] if shell else [*timer, *cmd]
        started = time.perf_counter()
        proc = subprocess.run(full, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
        text = report.read().split()
    peak_kb = float(text[-1]) if text else float("nan")
    cpu = float(text[-3]) + float(text[-2]) if len(text) >= 3 else float("nan")
    return Timing(wall, peak_kb / 1024.0, cpu_seconds=cpu)


def _best(cmd: list[str], repeats: int, **kwargs: object) -> Timing:
    return _best_of_runs([_timed(cmd, **kwargs) for _ in range(repeats)])


def _best_of_runs(runs: list[Timing]) -> Timing:
    best = min(runs, key=lambda t: t.seconds)
    return Timing(
        best.seconds,
        best.peak_mb,
        [round(t.seconds, 3) for t in runs],
        min(t.cpu_seconds for t in runs),
    )


def best_interleaved(commands: dict[str, list[str]], repeats: int) -> dict[str, Timing]:
    """Best of ``repeats`` runs of each command, run in turn (one run of each, then the
    next round), so a burst of load on a shared machine falls on all of them alike.

    The order alternates between rounds (A B, B A, A B, ...): with two commands (every case
    here but ``zarr_case``'s) each runs as often right after the other as after itself; with
    more, each round's order is the reverse of the one before. In a fixed order one command
    always starts after the other's run, and what the run before left matters here: on this
    VM, memory freed more than ~2 s earlier has gone back to the host (virtio-balloon free
    page reporting), and a process touching it again pays ~1-2 ms a MB (400 MB touched: 0.05
    s right after a process freed it, 0.35-0.45 s after 3-6 s idle, 0.85-0.95 s after a
    PLINK 2 run; ``prs score`` after PLINK 2 measured 1.75-2.26 s, median 2.18, against
    1.77-1.98, median 1.79, after itself).
    """
    runs: dict[str, list[Timing]] = {name: [] for name in commands}
    for round_ in range(repeats):
        names = list(commands) if round_ % 2 == 0 else list(reversed(commands))
        for name in names:
            runs[name].append(_timed(commands[name]))
    return {name: _best_of_runs(timings) for name, timings in runs.items()}


def _is_plink(path: Path) -> bool:
    return path.suffix in (".pgen", ".bed")


def prs_command(vcf: Path, scorefile: Path, out: Path, dosage: str) -> list[str]:
    """The ``prs score`` command line (the fast engine, as ``--engine auto`` picks here, for
    a VCF; a ``.pgen``/``.bed`` is read by the PLINK reader, picked from the name)."""
    prs = shutil.which("prs", path=str(Path(sys.executable).parent)) or "prs"
    cmd = [prs, "score", "--vcf", str(vcf), "--scorefile", str(scorefile), "--out", str(out)]
    if dosage != "GT":
        cmd += ["--dosage", dosage]
    return cmd if _is_plink(vcf) else [*cmd, "--engine", "fast"]


def plink_command(vcf: Path, scorefile: Path, out: Path, dosage: str, n_scores: int) -> list[str]:
    """``plink2 --vcf ... --score`` keyed by the variant IDs (rsIDs), two threads;
    ``--pfile``/``--bfile PREFIX`` for a ``.pgen``/``.bed``."""
    if _is_plink(vcf):
        flag = "--pfile" if vcf.suffix == ".pgen" else "--bfile"
        source = [flag, str(vcf.with_suffix(""))]
    else:
        source = ["--vcf", str(vcf)] + (["dosage=DS"] if dosage == "DS" else [])
    columns = ["1", "2", "3"] if n_scores == 1 else ["1", "2"]
    cmd = [
        "plink2",
        *source,
        "--score",
        str(scorefile),
        *columns,
        "header",
        "cols=+scoresums",
        "--threads",
        "2",
        "--out",
        str(out),
    ]
    if n_scores > 1:
        cmd += ["--score-col-nums", f"3-{2 + n_scores}"]
    return cmd


def compare(prs_dir: Path, plink_prefix: Path, weights: Path, dosage: str) -> dict[str, float]:
    """Max relative difference of SUM per sample and score, and whether it is in tolerance."""
    plink = pd.read_csv(f"{plink_prefix}.sscore", sep="\t")
    sums = [c for c in plink.columns if c.endswith("_SUM") and c != "NAMED_ALLELE_DOSAGE_SUM"]
    plink_sums = plink[sums].to_numpy()
    table = pd.read_csv(prs_dir / "scores.tsv", sep="\t")
    order = list(dict.fromkeys(table["score"]))
    wide = table.pivot(index="sample_id", columns="score", values="SUM")[order]
    wide = wide.loc[plink["#IID"] if "#IID" in plink else plink["IID"]]
    prs_sums = wide.to_numpy()
    w = pd.read_csv(weights, sep="\t").iloc[:, 2:].to_numpy()
    # PLINK 2 prints 6 significant digits; DS dosages are stored in 1/16384 steps.
    tolerance = 1e-5 * np.abs(plink_sums) + 1e-12
    if dosage == "DS":
        tolerance = tolerance + np.abs(w).sum(axis=0)[None, :] * 2.0**-15
    diff = np.abs(prs_sums - plink_sums)
    rel = diff / np.maximum(np.abs(plink_sums), 1e-300)
    return {
        "max_rel_diff": float(rel.max()),
        "max_abs_diff": float(diff.max()),
        "agree": bool(np.all(diff <= tolerance)),
    }


def _count_lines(path: Path) -> int:
    """Rows of a text file (blank lines and ``#`` header lines not counted)."""
    with open(path) as fh:
        return sum(1 for line in fh if line.strip() and not line.startswith("#"))


def _count_genotypes(vcf: Path) -> tuple[int, int]:
    """Records and samples of a VCF (from its tabix index stats and header), or of a PLINK
    fileset (its variant and sample files' rows)."""
    from prs.genotypes.vcf import read_vcf_header

    if _is_plink(vcf):
        variants, samples = (".pvar", ".psam") if vcf.suffix == ".pgen" else (".bim", ".fam")
        return _count_lines(vcf.with_suffix(variants)), _count_lines(vcf.with_suffix(samples))

    samples = len(read_vcf_header(vcf).samples)
    proc = subprocess.run(["tabix", "-l", str(vcf)], capture_output=True, text=True)
    records = 0
    if proc.returncode == 0:
        out = subprocess.run(
            ["bash", "-c", f"bgzip -dc {vcf} | grep -vc '^#'"], capture_output=True, text=True
        )
        records = int(out.stdout.strip() or 0)
    return records, samples


def run_case(case: Case, data: Path, work: Path, repeats: int) -> dict[str, object]:
    """Time one case with both tools and the floor; compare scores."""
    vcf = data / case.vcf
    prs_w = data / f"{case.score}.prs.txt"
    plink_w = data / f"{case.score}.plink.tsv"
    out_prs = work / f"{case.score}-{case.vcf}-prs"
    out_plink = work / f"{case.score}-{case.vcf}-plink"
    records, samples = _count_genotypes(vcf)
    prs_cmd = prs_command(vcf, prs_w, out_prs, case.dosage)
    # Cold Numba cache (compilation included), then warm runs.
    cold_dir = tempfile.mkdtemp(prefix="prs-numba-cold-")
    cold = _timed(prs_cmd, env={**os.environ, "NUMBA_CACHE_DIR": cold_dir})
    shutil.rmtree(cold_dir, ignore_errors=True)
    _timed(prs_cmd)  # warm the default cache
    plink_cmd = plink_command(vcf, plink_w, out_plink, case.dosage, case.n_scores)
    timings = best_interleaved({"prs": prs_cmd, "plink": plink_cmd}, repeats)
    prs, plink = timings["prs"], timings["plink"]
    reader = "cat" if _is_plink(vcf) else "bgzip -dc"
    floor = _best([f"{reader} {vcf} > /dev/null"], repeats, shell=True)
    engine = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.engine",
            str(vcf),
            str(prs_w),
            "--dosage",
            case.dosage,
            "--repeats",
            str(repeats),
            # PLINK: the scoring loop (read + accumulate), not the reader alone
            *(["--scoring"] if _is_plink(vcf) else []),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    engine_s = float(engine.stdout.split()[-1])
    # --scoring prints the genotypes it scored first (every variant of the dense score)
    engine_genotypes = int(engine.stdout.split()[-2]) if _is_plink(vcf) else None
    agreement = compare(out_prs, out_plink, plink_w, case.dosage)
    genotypes = records * samples
    return {
        "case": case.name,
        "vcf": case.vcf,
        "kind": case.kind,
        "dosage": case.dosage,
        "records": records,
        "samples": samples,
        "scores": case.n_scores,
        "vcf_mb": round(vcf.stat().st_size / 1e6, 1),
        "prs_s": round(prs.seconds, 3),
        "prs_cold_s": round(cold.seconds, 3),
        "plink2_s": round(plink.seconds, 3),
        "bgzip_floor_s": round(floor.seconds, 3),
        "engine_s": round(engine_s, 3),
        "ratio_engine": round(engine_s / plink.seconds, 3),
        "engine_genotypes": engine_genotypes,
        "engine_genotypes_per_s": (engine_genotypes or genotypes) / engine_s,
        "prs_runs": prs.runs,
        "plink2_runs": plink.runs,
        "ratio_time": round(prs.seconds / plink.seconds, 3),
        "prs_cpu_s": round(prs.cpu_seconds, 3),
        "plink2_cpu_s": round(plink.cpu_seconds, 3),
        "ratio_cpu": cpu_ratio(prs.cpu_seconds, plink.cpu_seconds),
        "prs_genotypes_per_s": genotypes / prs.seconds,
        "plink2_genotypes_per_s": genotypes / plink.seconds,
        "prs_peak_mb": round(prs.peak_mb, 1),
        "plink2_peak_mb": round(plink.peak_mb, 1),
        "ratio_memory": round(prs.peak_mb / plink.peak_mb, 3),
        **agreement,
        "prs_command": " ".join(prs_cmd),
    }


def markdown(rows: list[dict[str, object]], meta: dict[str, object]) -> str:
    """The results table."""
    head = (
        "| case | genotypes | prs s (cold) | PLINK 2 s | floor s | prs / PLINK 2 time | "
        "engine s | engine / PLINK 2 | engine Mgeno/s | prs Mgeno/s | PLINK 2 Mgeno/s | prs MB | "
        "PLINK 2 MB | prs / PLINK 2 memory | scores agree |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['records']:,} x {r['samples']:,} | {r['prs_s']:.2f} "
            f"({r['prs_cold_s']:.2f}) | {r['plink2_s']:.2f} | {r['bgzip_floor_s']:.2f} | "
            f"**{r['ratio_time']:.2f}** | {r.get('engine_s', float('nan')):.2f} | "
            f"**{r.get('ratio_engine', float('nan')):.2f}** | "
            f"{r.get('engine_genotypes_per_s', float('nan')) / 1e6:,.0f} | "
            f"{r['prs_genotypes_per_s'] / 1e6:,.0f} | "
            f"{r['plink2_genotypes_per_s'] / 1e6:,.0f} | {r['prs_peak_mb']:.0f} | "
            f"{r['plink2_peak_mb']:.0f} | {r['ratio_memory']:.2f} | "
            f"{'yes' if r['agree'] else 'NO'} (max rel {r['max_rel_diff']:.1e}) |"
        )
    notes = (
        f"\nCommand: `{meta['command']}` on {meta['machine']} ({meta['cpus']} CPUs), "
        f"{meta['date']}; best of {meta['repeats']}; load average at start "
        f"{meta['load']}. prs = `prs score` end to end (interpreter start included); "
        "prs cold = its first run with an empty Numba cache; floor = `bgzip -dc FILE > "
        "/dev/null` (VCF; one core) or `cat FILE > /dev/null` (.pgen/.bed); engine = the "
        "genotype reader alone in a warm process (`python -m benchmarks.engine`: sites + "
        "dosages; the fast VCF engine), for .pgen/.bed the scoring loop alone (`--scoring`: "
        "read + accumulate every chunk, 2 threads, no start-up, parsing or matching). "
        "pgen/bed: `plink2 --dummy` filesets (hard calls, no missing calls), a dense score "
        "over every variant, PLINK 2 with `--pfile`/`--bfile`.\n"
    )
    return head + "\n".join(lines) + "\n" + notes + sample_scaling(rows)


def sample_scaling(rows: list[dict[str, object]]) -> str:
    """How time grows with samples on the pgen cases of one variant count (1.00 = linear)."""
    by_samples = sorted(
        (r for r in rows if str(r["case"]).endswith(" samples") and r["kind"] == "pgen"),
        key=lambda r: int(r["samples"]),  # type: ignore[call-overload]
    )
    if len(by_samples) < 2:
        return ""
    low, high = by_samples[0], by_samples[-1]
    factor = int(high["samples"]) / int(low["samples"])  # type: ignore[call-overload]

    def growth(key: str) -> str:
        return f"{float(high[key]) / float(low[key]) / factor:.2f}"  # type: ignore[arg-type]

    return (
        f"\nTime against samples ({int(low['samples']):,} -> {int(high['samples']):,} "
        f"samples, {factor:g}x; time ratio / {factor:g}, 1.00 = linear): prs end to end "
        f"{growth('prs_s')}, engine {growth('engine_s')}, PLINK 2 {growth('plink2_s')}; "
        f"peak memory {float(low['prs_peak_mb']):.0f} -> {float(high['prs_peak_mb']):.0f} MB "
        f"(PLINK 2 {float(low['plink2_peak_mb']):.0f} -> {float(high['plink2_peak_mb']):.0f}).\n"
    )


#: Files whose ``<!-- results-table -->`` block shows the current full table.
DOCS = ("README.md", "docs/performance.md")


def update_docs(table: str) -> None:
    """Put the full table between the results-table markers of the README and the docs."""
    root = RESULTS.parent.parent
    block = "<!-- results-table -->\n" + table.strip() + "\n<!-- /results-table -->"
    pattern = re.compile(r"<!-- results-table -->.*?<!-- /results-table -->", re.S)
    for name in DOCS:
        path = root / name
        if path.exists() and pattern.search(text := path.read_text()):
            path.write_text(pattern.sub(lambda _: block, text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="prs vs PLINK 2 vs the bgzip floor")
    parser.add_argument("--small", action="store_true", help="CI-sized datasets")
    parser.add_argument("--data", type=Path, help="dataset directory (generated if needed)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="run only cases whose name starts so")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    for tool in ("plink2", "bgzip", "tabix"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH (make tools)")
    # Byte-compile prs (an editable install leaves it uncompiled, and PYTHONDONTWRITEBYTECODE
    # may be set): otherwise every timed run would spend ~0.1 s compiling its modules.
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "src"), quiet=1)
    spec = SMALL if args.small else FULL
    plink_specs = plink_targets(spec)
    label = "small" if args.small else "full"
    data = args.data or default_data_dir(label)
    generate(data, spec)
    for plink_spec in plink_specs:
        generate_plink(data, plink_spec)
    rows = []
    with tempfile.TemporaryDirectory(prefix="prs-bench-") as tmp:
        for case in cases(spec):
            if args.only and not any(case.name.startswith(o) for o in args.only):
                continue
            row = run_case(case, data, Path(tmp), args.repeats)
            rows.append(row)
            print(
                f"{row['case']}: prs {row['prs_s']} s, PLINK 2 {row['plink2_s']} s "
                f"(ratio {row['ratio_time']}; CPU {row['prs_cpu_s']} vs {row['plink2_cpu_s']} s), "
                f"floor {row['bgzip_floor_s']} s, memory ratio "
                f"{row['ratio_memory']}, agree {row['agree']}",
                file=sys.stderr,
            )
    meta = {
        "command": "python -m benchmarks.run" + (" --small" if args.small else ""),
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "repeats": args.repeats,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "spec": asdict(spec),
        "plink_specs": [asdict(p) for p in plink_specs],
        "plink2": subprocess.run(
            ["plink2", "--version"], capture_output=True, text=True
        ).stdout.strip(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    previous = args.out / f"{label}.json"
    if args.only and previous.exists():  # a partial run updates its rows of the last table
        fresh = {r["case"] for r in rows}
        kept = [r for r in json.loads(previous.read_text())["rows"] if r["case"] not in fresh]
        order = [c.name for c in cases(spec)]
        rows = sorted(
            kept + rows, key=lambda r: order.index(r["case"]) if r["case"] in order else len(order)
        )
        meta["command"] += " (rows updated by: --only " + " ".join(args.only) + ")"
    (args.out / f"{label}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (args.out / f"{label}.md").write_text(markdown(rows, meta))
    if label == "full" and args.out == RESULTS:
        update_docs(markdown(rows, meta))
    print(markdown(rows, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
