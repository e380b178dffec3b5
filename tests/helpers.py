"""Small builders for tests: VCF text -> bgzipped, indexed files; scoring files; PLINK 2 runs."""

from __future__ import annotations

import gzip
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

VCF_HEADER = (
    "##fileformat=VCFv4.2\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">\n'
    '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Genotype probabilities">\n'
)


def write_vcf(
    path: Path,
    samples: Sequence[str],
    records: Sequence[tuple],
    *,
    fmt: str = "GT",
    contigs: dict[str, int] | None = None,
    compress: bool = True,
    index: bool = True,
    extra_header: str = "",
) -> Path:
    """Write a VCF. ``records``: (chrom, pos, id, ref, alt, cells) with cells a list of
    per-sample strings (or raw text for a whole malformed line when ``cells`` is a str)."""
    contigs = contigs or {}
    lines = [VCF_HEADER + extra_header]
    for chrom, length in contigs.items():
        lines.append(f"##contig=<ID={chrom},length={length}>\n")
    if not contigs:
        for chrom in dict.fromkeys(str(r[0]) for r in records if isinstance(r, tuple)):
            if chrom:
                lines.append(f"##contig=<ID={chrom}>\n")
    lines.append(
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
    )
    for rec in records:
        if isinstance(rec, str):
            lines.append(rec if rec.endswith("\n") else rec + "\n")
            continue
        chrom, pos, vid, ref, alt, cells = rec
        lines.append(
            f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t.\t{fmt}\t" + "\t".join(cells) + "\n"
        )
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    plain.write_text("".join(lines))
    if not compress:
        return plain
    out = plain.with_name(plain.name + ".gz")
    pysam.tabix_compress(str(plain), str(out), force=True)
    plain.unlink()
    if index:
        pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def write_scorefile(
    path: Path,
    rows: Sequence[tuple],
    *,
    header: dict[str, str] | None = None,
    columns: Sequence[str] = (
        "chr_name",
        "chr_position",
        "effect_allele",
        "other_allele",
        "effect_weight",
    ),
) -> Path:
    """Write a PGS-Catalog-style scoring file (format 2.0 header when ``header`` given)."""
    text = []
    if header is not None:
        text.append("###PGS CATALOG SCORING FILE - test\n#format_version=2.0\n")
        text.extend(f"#{k}={v}\n" for k, v in header.items())
    text.append("\t".join(columns) + "\n")
    text.extend("\t".join(str(x) for x in row) + "\n" for row in rows)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as fh:
        fh.write("".join(text))
    return path


def random_genotype_cells(
    rng: np.random.Generator,
    n: int,
    n_alt: int = 1,
    *,
    missing: float = 0.0,
    haploid: np.ndarray | None = None,
) -> list[str]:
    """GT strings under random allele frequencies, some missing, some haploid."""
    probs = rng.dirichlet(np.ones(n_alt + 1))
    cells = []
    for i in range(n):
        a, b = rng.choice(n_alt + 1, size=2, p=probs)
        if haploid is not None and haploid[i]:
            cells.append("." if rng.random() < missing else str(a))
        elif rng.random() < missing:
            cells.append("./.")
        else:
            cells.append(f"{a}{'|' if rng.random() < 0.5 else '/'}{b}")
    return cells


def relabel_vcf(sources: Sequence[Path], out_dir: Path) -> list[Path]:
    """Copy VCFs with ID = r<global record number>, so PLINK 2 names variants as prs does."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record = 0
    outputs = []
    for k, src in enumerate(sources):
        plain = out_dir / f"relabel{k}.vcf"
        opener = gzip.open if str(src).endswith(".gz") else open
        with opener(src, "rb") as fh, open(plain, "wb") as out:
            for line in fh:
                if line.startswith(b"#"):
                    out.write(line)
                    continue
                fields = line.split(b"\t", 3)
                fields[2] = f"r{record}".encode()
                out.write(b"\t".join(fields))
                record += 1
        gz = plain.with_name(plain.name + ".gz")
        pysam.tabix_compress(str(plain), str(gz), force=True)
        plain.unlink()
        outputs.append(gz)
    return outputs


def plink2_scores(
    plink2: str,
    result,
    vcfs: Sequence[Path],
    workdir: Path,
    *,
    dosage: str = "GT",
    missing: str = "mean-impute",
    half_call: str = "error",
) -> pd.DataFrame:
    """Score with PLINK 2 exactly the variants prs matched; returns samples x scores SUM
    (plus ALLELE_CT, DENOM, NAMED per score as extra columns ``<score>_<COL>``).

    Each (score, effect type) becomes one ``--score`` run (PLINK 2 takes one effect allele
    per variant and one effect type per run); runs over several files are summed.
    """
    relabelled = relabel_vcf(vcfs, workdir / "relabel")
    report = result.match_report.variants
    matched = report[report["outcome"] == "matched"]
    frames = {}
    for score_id in result.score_ids:
        rows = matched[matched["score"] == score_id]
        effect_type = result_effect_types(result, rows)
        total = None
        for et in sorted(set(effect_type)):
            sel = rows[effect_type == et]
            allele = np.where(
                sel["match_type"].str.startswith("ref"), sel["target_ref"], sel["target_alt"]
            )
            table = pd.DataFrame(
                {
                    "ID": [f"r{r}" for r in sel["target_record"]],
                    "A1": allele,
                    "W": sel["effect_weight"].to_numpy(),
                }
            )
            wfile = workdir / f"w_{score_id}_{et}.tsv"
            table.to_csv(wfile, sep="\t", index=False)
            for k, vcf in enumerate(relabelled):
                out = workdir / f"o_{score_id}_{et}_{k}"
                mods = ["header", "cols=+scoresums,+denom,+dosagesum", "ignore-dup-ids"]
                if missing == "none":
                    mods.append("no-mean-imputation")
                if et != "additive":
                    mods.append(et)
                vcf_arg = [str(vcf)] + ([f"dosage={dosage}"] if dosage != "GT" else [])
                cmd = [
                    plink2,
                    "--vcf",
                    *vcf_arg,
                    "--vcf-half-call",
                    half_call,
                    "--score",
                    str(wfile),
                    "1",
                    "2",
                    "3",
                    *mods,
                    "--threads",
                    "1",
                    "--out",
                    str(out),
                ]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                log = out.with_suffix(".log")
                if (
                    "no valid variants" in (log.read_text() if log.exists() else "")
                    or "No valid variants" in proc.stdout
                ):
                    continue
                if proc.returncode != 0:
                    raise RuntimeError(
                        f"plink2 failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
                    )
                sscore = pd.read_csv(out.with_suffix(".sscore"), sep="\t")
                part = sscore.set_index("#IID")[
                    ["SCORE1_SUM", "ALLELE_CT", "DENOM", "NAMED_ALLELE_DOSAGE_SUM"]
                ].astype(float)
                # PLINK 2 prints 6 significant digits: half a unit of the last one, per run.
                magnitude = np.floor(np.log10(np.maximum(part["SCORE1_SUM"].abs(), 1e-300)))
                part["TOL"] = 0.5 * 10.0 ** (magnitude - 5)
                total = part if total is None else total + part
        frames[score_id] = total
    out = pd.DataFrame({sid: f["SCORE1_SUM"] for sid, f in frames.items()})
    for sid, f in frames.items():
        out[f"{sid}_ALLELE_CT"] = f["ALLELE_CT"]
        out[f"{sid}_DENOM"] = f["DENOM"]
        out[f"{sid}_NAMED"] = f["NAMED_ALLELE_DOSAGE_SUM"]
        out[f"{sid}_TOL"] = f["TOL"]
    return out


def result_effect_types(result, rows: pd.DataFrame) -> np.ndarray:
    """Effect type of each matched report row (from the provenance-free scoring lines)."""
    if "effect_type" in rows:
        return rows["effect_type"].to_numpy()
    return np.array(["additive"] * len(rows))
