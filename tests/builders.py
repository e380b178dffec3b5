"""Builders of test inputs: VCF files (from genotype cells or from text), scoring files,
random cohorts and VCF text, match-target site tables.

Two VCF writers with distinct jobs:

* :func:`write_vcf` builds a VCF from genotype *cells* (one tuple per record), declaring the
  contigs and FORMAT fields for you;
* :func:`write_vcf_text` writes VCF *text* (or bytes) as given, for tests whose point is the
  exact bytes (malformed lines, header damage), as plain text, BGZF or plain gzip.

Both bgzip through htslib (pysam) and tabix-index when asked. Independent implementations the
tests compare against (PLINK 2 runs, numpy twins of the kernels) live in ``tests/reference.py``;
the hypothesis strategy :func:`cohorts` draws random cohorts.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_DATA

# --------------------------------------------------------------------------------------------
# VCF from genotype cells

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


# --------------------------------------------------------------------------------------------
# VCF from text


BASES = "ACGT"


def vcf_header(samples: list[str], *, contig: str = "22", formats: str = "GT") -> str:
    """A VCF header for ``samples`` with one declared contig and the FORMAT fields named in
    ``formats`` (GT always; DS and GP when named)."""
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={contig},length=51304566>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    ]
    if "DS" in formats:
        lines.append('##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">')
    if "GP" in formats:
        lines.append('##FORMAT=<ID=GP,Number=G,Type=Float,Description="Probabilities">')
    lines.append(
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(samples)
    )
    return "\n".join(lines) + "\n"


def bgzip_bytes(text: bytes) -> bytes:
    """``text`` as a BGZF file (htslib's writer through pysam), EOF block included."""
    with tempfile.TemporaryDirectory() as d:
        plain = Path(d) / "x.vcf"
        plain.write_bytes(text)
        pysam.tabix_compress(str(plain), str(plain) + ".gz", force=True)
        return Path(str(plain) + ".gz").read_bytes()


def write_vcf_text(
    path: Path, text: str | bytes, *, container: str = "bgzf", index: bool = True
) -> Path:
    """Write ``text`` as given: ``container`` "plain" (``path`` without ``.gz``), "bgzf"
    (``path`` + ``.gz``, tabix-indexed when ``index``) or "gzip" (plain gzip, never indexed).
    Returns the path written."""
    data = text.encode() if isinstance(text, str) else text
    plain = Path(str(path).removesuffix(".gz"))
    if container == "plain":
        plain.write_bytes(data)
        return plain
    out = Path(str(plain) + ".gz")
    if container == "gzip":
        out.write_bytes(gzip.compress(data, mtime=0))
        return out
    if container != "bgzf":
        raise ValueError(f"container must be plain, bgzf or gzip, not {container!r}")
    out.write_bytes(bgzip_bytes(data))
    if index:
        pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def _call(rng: np.random.Generator, n_alleles: int, haploid: bool, half: bool) -> str:
    roll = rng.random()
    if haploid:
        return "." if roll < 0.05 else str(int(rng.integers(n_alleles)))
    if roll < 0.05:
        return "./."
    if half and roll < 0.1:
        allele = int(rng.integers(n_alleles))
        return f"{allele}/." if roll < 0.075 else f".|{allele}"
    sep = "|" if rng.random() < 0.7 else "/"
    return f"{int(rng.integers(n_alleles))}{sep}{int(rng.integers(n_alleles))}"


def random_vcf_text(
    seed: int,
    *,
    n_samples: int = 7,
    n_records: int = 40,
    contig: str = "22",
    multiallelic: bool = True,
    haploid: bool = True,
    half_calls: bool = False,
    dosage: bool = False,
) -> str:
    """A random VCF as text (sorted positions, some repeated)."""
    rng = np.random.default_rng(seed)
    samples = [f"S{i}" for i in range(n_samples)]
    formats = "GT:DS:GP" if dosage else "GT"
    out = [vcf_header(samples, contig=contig, formats=formats)]
    pos = 100
    haploid_samples = rng.random(n_samples) < 0.3 if haploid else np.zeros(n_samples, bool)
    for r in range(n_records):
        if rng.random() > 0.15:
            pos += int(rng.integers(1, 50))
        ref = BASES[int(rng.integers(4))]
        if dosage or not multiallelic:
            n_alt = 1
        else:
            n_alt = int(rng.choice([1, 1, 1, 2, 3, 11]))
        alts = []
        for k in range(n_alt):
            alts.append("".join(rng.choice(list(BASES), size=1 + (k % 3))))
        calls = []
        for s in range(n_samples):
            gt = _call(rng, n_alt + 1, bool(haploid_samples[s]), half_calls)
            if dosage:
                if rng.random() < 0.05:
                    calls.append(f"{gt}:.:.")
                    continue
                p = rng.dirichlet([1, 1, 1])
                gp = np.round(p, 3)
                gp[0] = round(1 - gp[1] - gp[2], 3)
                ds = round(gp[1] + 2 * gp[2], 3)
                calls.append(f"{gt}:{ds:g}:{gp[0]:g},{gp[1]:g},{gp[2]:g}")
            else:
                calls.append(gt)
        out.append(
            "\t".join(
                [contig, str(pos), f"rs{r}", ref, ",".join(alts), ".", "PASS", ".", formats, *calls]
            )
            + "\n"
        )
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Scoring files


#: The columns :func:`write_scorefile` writes unless told otherwise: a variant by position.
POSITION_COLUMNS = ("chr_name", "chr_position", "effect_allele", "other_allele", "effect_weight")
#: ... plus the effect allele's frequency (``missing="scorefile-freq"``).
FREQ_COLUMNS = (*POSITION_COLUMNS, "allelefrequency_effect")
#: ... plus the dominant / recessive flags of each variant's effect type.
EFFECT_TYPE_COLUMNS = (*POSITION_COLUMNS, "is_dominant", "is_recessive")


def write_scorefile(
    path: Path,
    rows: Sequence[tuple],
    *,
    header: dict[str, str] | None = None,
    columns: Sequence[str] = POSITION_COLUMNS,
) -> Path:
    """Write a PGS-Catalog-style scoring file (format 2.0 header when ``header`` given);
    ``rows`` hold one value per column of ``columns``."""
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


def write_alt_effect_case(
    directory: Path,
    samples: Sequence[str],
    records: Sequence[tuple],
    weights: Sequence[float],
    *,
    frequencies: Sequence[float] | None = None,
    header: dict[str, str] | None = None,
    vcf_name: str = "g.vcf.gz",
    scorefile_name: str = "w.txt",
) -> tuple[Path, Path]:
    """A VCF of ``records`` (as :func:`write_vcf` takes them, biallelic) and a scoring file
    whose row k names record k's ALT as the effect allele, its REF as the other allele,
    weight ``weights[k]`` (and effect-allele frequency ``frequencies[k]`` when given)."""
    vcf = write_vcf(directory / vcf_name, samples, records)
    rows = [
        (chrom, pos, alt, ref, weight)
        for (chrom, pos, _, ref, alt, _), weight in zip(records, weights, strict=True)
    ]
    if frequencies is not None:
        rows = [(*row, f) for row, f in zip(rows, frequencies, strict=True)]
    columns = POSITION_COLUMNS if frequencies is None else FREQ_COLUMNS
    return vcf, write_scorefile(directory / scorefile_name, rows, header=header, columns=columns)


# --------------------------------------------------------------------------------------------
# Target site tables for the matcher


def site_table(rows: Sequence[tuple]) -> pd.DataFrame:
    """rows: (chrom, pos, ref, alts, id) -> the site table ``match_variants`` takes."""
    out = []
    for record, (chrom, pos, ref, alts, vid) in enumerate(rows):
        for k, alt in enumerate(alts.split(","), start=1):
            out.append((chrom, pos, ref, alt, k, len(alts.split(",")) + 1, record, 0, vid))
    return pd.DataFrame(
        out,
        columns=["chrom", "pos", "ref", "alt", "allele_index", "n_alleles", "record", "file", "id"],
    ).astype({"pos": np.int64})


#: A small target: biallelic, ambiguous, multi-allelic and duplicated records on chromosome 1.
MATCH_TARGET = site_table(
    [
        ("1", 100, "A", "G", "r0"),
        ("1", 200, "C", "T", "r1"),
        ("1", 300, "A", "T", "r2"),  # ambiguous
        ("1", 400, "G", "A,T", "r3"),  # multi-allelic
        ("1", 500, "T", "C", "r4"),
        ("1", 500, "T", "C", "r5"),  # duplicated target record
    ]
)


# --------------------------------------------------------------------------------------------
# Random cohorts (hypothesis)


def tmp_path_settings(max_examples: int) -> settings:
    """Hypothesis settings for a property test that also takes pytest's ``tmp_path``: no
    deadline (files are written and read) and no complaint about the function-scoped fixture
    (each example writes its files under fresh names or overwrites them)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


_NON_AMBIGUOUS = [("A", "G"), ("A", "C"), ("G", "T"), ("C", "T"), ("G", "A"), ("T", "C")]


@st.composite
def cohorts(draw, max_samples: int = 12, max_variants: int = 15):
    """A cohort dict: samples, records (chrom, pos, ref, alt, GT cells), weights (m, 2)."""
    n = draw(st.integers(2, max_samples))
    m = draw(st.integers(1, max_variants))
    chroms = sorted(
        draw(st.lists(st.sampled_from(["1", "2", "3"]), min_size=m, max_size=m)), key=int
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    records = []
    for k, chrom in enumerate(chroms):
        ref, alt = _NON_AMBIGUOUS[int(rng.integers(len(_NON_AMBIGUOUS)))]
        calls = rng.integers(0, 2, size=(n, 2))
        missing = rng.random(n) < 0.1
        cells = ["./." if miss else f"{a}/{b}" for (a, b), miss in zip(calls, missing, strict=True)]
        records.append((chrom, 1000 + 10 * k, f"v{k}", ref, alt, cells))
    weights = np.round(rng.normal(size=(m, 2)), 6)
    effect_is_alt = rng.random(m) < 0.5
    return {
        "samples": [f"s{i}" for i in range(n)],
        "records": records,
        "weights": weights,
        "effect_is_alt": effect_is_alt,
    }


# -- score tables for the calibration tests ------------------------------------------------


def shared_file(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def scores_table(values: dict[str, np.ndarray], *, prefix: str = "S") -> pd.DataFrame:
    """A long-format table with the exact columns of `prs score`'s scores.tsv."""
    rows = []
    for score_id, vals in values.items():
        n = len(vals)
        rows.append(
            pd.DataFrame(
                {
                    "sample_id": [f"{prefix}{i:05d}" for i in range(n)],
                    "score": score_id,
                    "SUM": np.asarray(vals, dtype=float),
                    "AVG": np.asarray(vals, dtype=float) / 626.0,
                    "ALLELE_CT": 626,
                    "NAMED_ALLELE_DOSAGE_SUM": 300.0,
                    "VARIANTS_USED": 313,
                    "MISSING_CT": 0,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def write_scores(path: Path, values: dict[str, np.ndarray], **kwargs) -> Path:
    scores_table(values, **kwargs).to_csv(path, sep="\t", index=False)
    return path


def traited_scores(
    values, trait_efo: str | None, score: str = "PGS000004", trait: str | None = None
) -> pd.DataFrame:
    """A long ``scores.tsv`` as ``prs score`` writes it, with or without trait metadata."""
    frame = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(len(values))],
            "score": score,
            "SUM": np.asarray(values, dtype=float),
        }
    )
    if trait_efo is not None:
        frame["trait_efo"] = trait_efo
        frame["trait_reported"] = trait
    return frame


def quiet_categorise(**kwargs):
    """``prs.calibrate.categorise`` with its CalibrationWarnings silenced."""
    import warnings

    from prs.calibrate import categorise
    from prs.errors import CalibrationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        return categorise(**kwargs)
