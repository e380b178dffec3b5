"""Time ``prs score`` on a VCF Zarr store against ``prs score`` on the VCF it was made from.

Usage::

    python -m benchmarks.zarr_case            # 2,000 samples, 16 Mb of chr22 (msprime)
    python -m benchmarks.zarr_case --small    # 500 samples, 4 Mb (a quick check)
    python -m benchmarks.zarr_case --large    # 2,000 samples, 48 Mb
    python -m benchmarks.zarr_case --before DIR/src   # another tree's prs in the same rounds

One phased GT VCF is simulated (:func:`benchmarks.generate.simulate`, written by
:func:`benchmarks.generate.write_gt_vcf`, with a dense score over half its biallelic
records, :func:`benchmarks.generate.choose_score`) and converted once by bio2zarr
(``vcf2zarr``'s ``convert``, two worker processes: zarr format 3, bio2zarr's default chunks
of 1,000 variants x 10,000 samples) to a directory store and a zip of one. Each layout is
scored end to end by the console script (interpreter start, imports, reading, matching,
scoring, writing; Numba cache warm), best of ``--repeats`` under ``/usr/bin/time`` (wall,
peak RSS), against ``prs score`` on the VCF with the fast engine (the VCF path
``--engine auto`` takes for a bgzipped VCF). The scores must be identical. Then
:func:`prs.score` is timed in the benchmark's own warm process (no interpreter start,
imports or Numba cache loading), for each input. The issue's target: the Zarr path faster
than the VCF path on the same genotypes. The machine may be shared: read the ratios, which
come from the same run. Results go to ``benchmarks/results/zarr[-small|-large].json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.engine import _best_of
from benchmarks.generate import (
    choose_score,
    default_data_dir,
    simulate,
    write_gt_vcf,
    write_score_files,
)
from benchmarks.run import RESULTS, _timed, best_interleaved, cpu_ratio

#: Bump when the generated files change, so cached ones are rebuilt.
ZARR_VERSION = 1


@dataclass(frozen=True)
class ZarrSpec:
    """What to simulate and convert."""

    samples: int = 2000
    length: float = 16e6
    seed: int = 20240605
    dense_fraction: float = 0.5


ZARR_SMALL = ZarrSpec(samples=500, length=4e6)
ZARR_FULL = ZarrSpec()
#: Three times the variants of the full case: reading weighs more against start-up.
ZARR_LARGE = ZarrSpec(length=48e6)


def make_dataset(out: Path, spec: ZarrSpec) -> dict[str, object]:
    """The VCF, its two stores and the score in ``out`` (made once; reused while the stamp
    matches). Returns the paths and the one-time conversion's wall time."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "vcf": out / "gt.vcf.gz",
        "directory": out / "gt.vcz",
        "zip": out / "gt_zip.vcz.zip",
        "score": out / "dense.prs.txt",
    }
    stamp = out / "zarr-spec.json"
    if stamp.exists():
        made = json.loads(stamp.read_text())
        if made.get("spec") == f"{ZARR_VERSION} {spec!r}":
            return {**paths, "convert_s": made["convert_s"], "records": made["records"]}
    from bio2zarr import vcf as bio2zarr_vcf

    sim = simulate(spec.samples, spec.length, spec.seed)
    records = write_gt_vcf(sim, paths["vcf"])
    dense = choose_score(
        sim,
        records=np.arange(len(sim.positions)),
        n_variants=int(len(sim.positions) * spec.dense_fraction),
        n_scores=1,
        seed=spec.seed,
    )
    write_score_files(dense, paths["score"], out / "dense.plink.tsv")
    for store in (paths["directory"], paths["zip"]):
        shutil.rmtree(store, ignore_errors=True)
        Path(store).unlink(missing_ok=True)
    started = time.perf_counter()
    options = {"zarr_format": 3, "worker_processes": 2}
    bio2zarr_vcf.convert([str(paths["vcf"])], str(paths["directory"]), **options)
    convert_s = time.perf_counter() - started
    bio2zarr_vcf.convert([str(paths["vcf"])], str(paths["zip"]), **options)
    stamp.write_text(
        json.dumps({"spec": f"{ZARR_VERSION} {spec!r}", "convert_s": convert_s, "records": records})
    )
    return {**paths, "convert_s": convert_s, "records": records}


def prs_score_command(genotypes: Path, scorefile: Path, out: Path) -> list[str]:
    """``prs score`` on ``genotypes`` (format from the name; the fast engine for a VCF)."""
    prs = shutil.which("prs", path=str(Path(sys.executable).parent)) or "prs"
    cmd = [prs, "score", "--genotypes", str(genotypes), "--scorefile", str(scorefile)]
    cmd += ["--out", str(out)]
    return [*cmd, "--engine", "fast"] if str(genotypes).endswith(".vcf.gz") else cmd


def _scores(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "scores.tsv", sep="\t")


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 1)


def run(spec: ZarrSpec, data: Path, repeats: int, before: Path | None = None) -> dict[str, object]:
    """Make the dataset if needed, time the three inputs, compare their scores. With
    ``before`` (another tree's ``src``, e.g. ``git archive REV src | tar -x -C DIR``), its
    ``prs score`` on the two stores runs in the same rounds (``zip_before``,
    ``directory_before``)."""
    made = make_dataset(data, spec)
    work = Path(tempfile.mkdtemp(prefix="prs-zarr-bench-"))
    row: dict[str, object] = {
        "case": "VCF Zarr vs VCF, phased GT, dense score",
        "samples": spec.samples,
        "variants": made["records"],
        "convert_s": round(float(made["convert_s"]), 1),  # type: ignore[arg-type]
    }
    try:
        commands = {}
        for name in ("vcf", "directory", "zip"):
            path = Path(made[name])  # type: ignore[arg-type]
            cmd = prs_score_command(path, Path(made["score"]), work / name)  # type: ignore[arg-type]
            try:
                _timed(cmd)  # the Numba cache warm
            except RuntimeError as exc:
                row[f"{name}_error"] = str(exc).strip().splitlines()[-1]
                continue
            commands[name] = cmd
            row[f"{name}_mb"] = _size_mb(path)
        if before is not None:
            for name in ("directory", "zip"):
                if name in commands:
                    earlier = ["env", f"PYTHONPATH={before}", *commands[name]]
                    earlier[earlier.index("--out") + 1] = str(work / f"{name}_before")
                    _timed(earlier)  # (its Numba cache warm)
                    commands[f"{name}_before"] = earlier
        # in turn (vcf, directory, zip, then again): load from other jobs falls on all alike
        timings = best_interleaved(commands, repeats)
        reference = _scores(work / "vcf")
        for name, timing in timings.items():
            row[f"{name}_s"] = round(timing.seconds, 3)
            row[f"{name}_runs"] = timing.runs
            row[f"{name}_peak_mb"] = round(timing.peak_mb, 1)
            row[f"{name}_cpu_s"] = round(timing.cpu_seconds, 3)
            if name != "vcf":
                row[f"{name}_vs_vcf_time"] = round(timing.seconds / timings["vcf"].seconds, 3)
                row[f"{name}_vs_vcf_cpu"] = cpu_ratio(
                    timing.cpu_seconds, timings["vcf"].cpu_seconds
                )
                row[f"{name}_vs_vcf_memory"] = round(timing.peak_mb / timings["vcf"].peak_mb, 3)
                row[f"{name}_scores_identical"] = bool(reference.equals(_scores(work / name)))
        row["genotypes"] = int(made["records"]) * spec.samples  # type: ignore[call-overload]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    row.update(warm(made, repeats))
    return row


def warm(made: dict[str, object], repeats: int) -> dict[str, object]:
    """The whole of :func:`prs.score` (reading, matching, scoring; no start-up) in this warm
    process, best of ``repeats`` after a warm-up, for each input. (Not the read loop alone:
    the fast VCF engine decodes genotypes while it lists the sites, so a read after
    ``sites()`` would leave its decoding out.)"""
    import warnings

    import prs

    out: dict[str, object] = {}
    score = str(made["score"])
    for name in ("vcf", "directory", "zip"):
        path = str(made[name])
        engine = "fast" if name == "vcf" else "auto"

        def once(path: str = path, engine: str = engine) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prs.score(path, score, engine=engine)

        try:
            out[f"{name}_warm_score_s"] = round(_best_of(once, repeats), 3)
        except OSError as exc:  # a directory store until provenance hashes directories
            out[f"{name}_warm_score_error"] = f"{type(exc).__name__}: {exc}"
    for name in ("directory", "zip"):
        if f"{name}_warm_score_s" in out:
            out[f"{name}_vs_vcf_warm_score"] = round(
                float(out[f"{name}_warm_score_s"])  # type: ignore[arg-type]
                / float(out["vcf_warm_score_s"]),  # type: ignore[arg-type]
                3,
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="500 samples, 4 Mb")
    parser.add_argument("--large", action="store_true", help="2,000 samples, 48 Mb")
    parser.add_argument("--repeats", type=int, default=2, help="best of N runs (default 2)")
    parser.add_argument("--data", type=Path, help="where the files are cached")
    parser.add_argument(
        "--before",
        type=Path,
        help="another tree's src directory: its prs score on the stores in the same rounds",
    )
    args = parser.parse_args(argv)
    spec = ZARR_SMALL if args.small else ZARR_LARGE if args.large else ZARR_FULL
    label = "zarr-small" if args.small else "zarr-large" if args.large else "zarr"
    row = run(spec, args.data or default_data_dir(label), args.repeats, args.before)
    for key, value in row.items():
        print(f"{key:>28}: {value}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{label}.json").write_text(json.dumps(row, indent=2) + "\n")
    identical = [v for k, v in row.items() if k.endswith("_scores_identical")]
    return 0 if identical and all(identical) else 1


if __name__ == "__main__":
    raise SystemExit(main())
