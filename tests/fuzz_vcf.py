"""VCF fuzzing: a valid small VCF, a list of mutations, and the engines' verdicts compared.

A fuzz example is a :class:`Case`: the seed of a valid base VCF (and its scoring file), the
mutations applied to its lines, its bytes or its BGZF blocks, the container it is written in
(plain text, BGZF, plain gzip) and what sits beside it as a tabix index (fresh, stale, foreign,
cut short, garbage). :func:`build_case` writes it deterministically, so ``repr(case)`` is a
reproducer. :func:`run_engines` scores it with each engine and :func:`verdict_problems` says
what breaks the engines' contract: the same numbers, or the same named error, never another
exception.

The strategies here are used by ``tests/test_fuzz_vcf.py``; the example count comes from
``PRS_FUZZ_EXAMPLES`` (``make fuzz`` runs 2,000 of each, randomly; CI runs a small fixed set).
"""

from __future__ import annotations

import atexit
import gzip
import multiprocessing
import os
import shutil
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pysam
from hypothesis import strategies as st

import prs
from prs.errors import PRSError, exit_code_for
from tests.builders import bgzip_bytes

#: BGZF's 28-byte empty EOF block (SAM/BAM spec 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

#: The fast engine's refusal of a file it is not built for (plain, gzip, BCF): by design.
FAST_REFUSAL = "the fast VCF path reads bgzipped text VCF only"

ENGINES = ("fast", "checked", "auto")

BASES = "ACGT"
FIXED = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]

# Odd values per column, the ones a hostile or broken pipeline writes.
# fmt: off
ODD_CHROM = [
    "<1", ",1", "chr22", "22 ", " 22", "2\x002", "é", "*", "1:2", "X" * 300, "22\r", "MT", "0",
    "chr1_KI270706v1_random", "=", "#22",
]
ODD_POS = [
    "0", "-1", "-0", "2147483646", "2147483647", "2147483648", "4294967297",
    "99999999999999999999", "abc", "1e3", "+5", " 5", "5 ", "", "05", "1.0", "0x10", "٣",
]
ODD_ALLELE = [
    "", ".", "*", "N", "acg", "<DEL>", "A,A", "A,,C", "A.", "A" * 500, "T]22:100]", "-", "A C",
    "AC,<NON_REF>", "ÄB", "C,G,T,AA,AC,AG,AT,CA,CC,CG,CT", "C,G,T,AA,AC,AG,AT,CA,CC,CG,CT,C",
]
ODD_FORMAT = [
    "DS:GT", "GT:GT", "", ".", "XX", "GT:", ":GT", "GP:DS:GT", "GT:DS:DS", "gt", "GT:AD:DS:GP",
]
ODD_GT = [
    "0|0|1", "0/0/0", "1", ".", "./.", ".|.", "0/.", "./1", ".|0", "2/2", "9|0", "-1/0", "0//1",
    "0|", "|0", "", "00", "1000000/0", "0/1/", "a/b", "0:1", "01|1", "0 |1", "1/0 ", "0/1\r",
    "18446744073709551617/0", "0\\1", "0|1|", "...", "11|3", "10/0", "12|12", "3|11",
]
ODD_NUMBER = [
    "-1", "3", "nan", "NaN", "inf", "-inf", "1e309", "1e-320", "", "x", ".", "0.5,0.5",
    "2.0000001", "1" * 400, "0x1", "+1", "1.", ".5", "1e", "\u22121",
]
ODD_BYTES = [
    b"\t", b"\n", b"\r", b"\x00", b" ", b",", b"|", b"/", b".", b"\xff", b"\xef\xbb\xbf", b":",
    b";", b"#", b"\r\n", b"\t\t",
]
# fmt: on


@dataclass(frozen=True)
class Case:
    """One fuzz example, rebuilt byte for byte by :func:`build_case`.

    ``line_ops`` act on the list of text lines, ``byte_ops`` on the whole text, ``bgzf_ops``
    on the compressed bytes; ``container`` is ``"bgzf"``, ``"plain"`` or ``"gzip"``;
    ``index`` is what is written as ``<vcf>.tbi`` (or ``.csi``); ``split_ops``, when given,
    split the file in two (chromosome 1, chromosome 22: one file per chromosome, as
    imputation servers deliver them) and act on the second file (:func:`apply_split_op`).
    """

    seed: int
    n_samples: int = 4
    n_records: int = 12
    dosage_fields: bool = False
    line_ops: tuple = ()
    byte_ops: tuple = ()
    container: str = "bgzf"
    bgzf_ops: tuple = ()
    index: str = "fresh"
    options: tuple = ()  # (name, value) pairs passed to prs.score
    split_ops: tuple = ()  # non-empty: one file per chromosome, these ops on the second file
    chroms: tuple = ("1", "22")  # the base's two chromosomes (X, Y, MT: PLINK 2's ploidy rules)

    def score_options(self) -> dict[str, Any]:
        return dict(self.options)


# --------------------------------------------------------------------------------------------
# The base: a valid VCF and a scoring file that matches most of it


def base_lines(
    seed: int,
    n_samples: int,
    n_records: int,
    dosage_fields: bool,
    chroms: tuple[str, str] = ("1", "22"),
) -> list[bytes]:
    """A valid VCF (two chromosomes, sorted, some repeated positions) as lines with newlines."""
    rng = np.random.default_rng(seed)
    fmt = "GT:DS:GP" if dosage_fields else "GT"
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={chroms[0]}>",
        f"##contig=<ID={chroms[1]}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    ]
    if dosage_fields:
        lines.append('##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">')
        lines.append('##FORMAT=<ID=GP,Number=G,Type=Float,Description="Probabilities">')
    lines.append("\t".join(FIXED + [f"S{i}" for i in range(n_samples)]))
    n_first = int(rng.integers(0, n_records + 1))
    for chrom, count in ((chroms[0], n_first), (chroms[1], n_records - n_first)):
        pos = int(rng.integers(1, 1000))
        for r in range(count):
            if r and rng.random() > 0.15:
                pos += int(rng.integers(1, 40))
            ref = BASES[int(rng.integers(4))]
            n_alt = 1 if dosage_fields else int(rng.choice([1, 1, 1, 2, 3]))
            alts = [b for b in BASES if b != ref][:n_alt]
            cells = []
            for _ in range(n_samples):
                roll = rng.random()
                if roll < 0.06:
                    gt = "./."
                elif roll < 0.12:
                    gt = str(int(rng.integers(n_alt + 1)))  # haploid
                else:
                    sep = "|" if rng.random() < 0.6 else "/"
                    gt = f"{int(rng.integers(n_alt + 1))}{sep}{int(rng.integers(n_alt + 1))}"
                if dosage_fields:
                    p = np.round(rng.dirichlet([1, 1, 1]), 2)
                    p[0] = round(1 - p[1] - p[2], 2)
                    ds = round(p[1] + 2 * p[2], 2)
                    cells.append(f"{gt}:{ds:g}:{p[0]:g},{p[1]:g},{p[2]:g}")
                else:
                    cells.append(gt)
            lines.append(
                "\t".join(
                    [
                        chrom,
                        str(pos),
                        f"v{chrom}_{r}",
                        ref,
                        ",".join(alts),
                        ".",
                        "PASS",
                        ".",
                        fmt,
                        *cells,
                    ]
                )
            )
    return [(line + "\n").encode() for line in lines]


def _chrom_rank(chrom: str) -> int:
    return {"X": 23, "Y": 24, "MT": 26}.get(chrom) or int(chrom)


def scorefile_text(seed: int, lines: list[bytes]) -> str:
    """A scoring file weighting most records of the *base* VCF, plus a few absent positions."""
    rng = np.random.default_rng(seed + 1)
    rows = []
    for line in lines:
        if line.startswith(b"#"):
            continue
        chrom, pos, _, ref, alt = line.decode().split("\t")[:5]
        if rng.random() < 0.25:
            continue
        alleles = [ref, *alt.split(",")]
        k = int(rng.integers(len(alleles)))
        other = alleles[0] if k else alleles[1]
        weight = float(np.round(rng.normal(), 3))
        rows.append((chrom, pos, alleles[k], other, weight))
    rows.append(("22", "7", "A", "G", 0.5))
    rows.append(("1", "999999", "C", "T", -0.25))
    # Positions as numbers, so repeated sites keep the file sorted as a PGS file would be.
    rows.sort(key=lambda r: (_chrom_rank(r[0]), int(r[1])))
    head = "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
    return head + "".join(f"{c}\t{p}\t{e}\t{o}\t{w!r}\n" for c, p, e, o, w in rows)


# --------------------------------------------------------------------------------------------
# Mutations


def _records(lines: list[bytes]) -> list[int]:
    return [i for i, line in enumerate(lines) if not line.startswith(b"#")]


def _pick(items: list[int], k: int) -> int | None:
    return items[k % len(items)] if items else None


def apply_line_op(lines: list[bytes], op: tuple) -> list[bytes]:
    """Apply one line-level mutation; indexes are taken modulo the length, so any fits."""
    kind = op[0]
    lines = list(lines)
    records = _records(lines)
    header = [i for i in range(len(lines)) if i not in set(records)]
    if kind == "drop":  # any line
        if lines:
            del lines[op[1] % len(lines)]
    elif kind == "dup":
        if lines:
            i = op[1] % len(lines)
            lines.insert(i, lines[i])
    elif kind == "swap":
        if lines:
            i, j = op[1] % len(lines), op[2] % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
    elif kind == "dup_all_records":
        lines = lines + [lines[i] for i in records]
    elif kind == "reverse_records":
        body = [lines[i] for i in records][::-1]
        lines = [lines[i] for i in header] + body
    elif kind == "field":  # ("field", record k, column, value)
        i = _pick(records, op[1])
        if i is not None:
            fields = lines[i].rstrip(b"\n").split(b"\t")
            col = op[2] % (len(fields) + 1)
            value = op[3].encode() if isinstance(op[3], str) else op[3]
            if col == len(fields):
                fields.append(value)  # an extra column
            else:
                fields[col] = value
            lines[i] = b"\t".join(fields) + b"\n"
    elif kind == "subfield":  # ("subfield", record k, sample s, FORMAT key index, value)
        i = _pick(records, op[1])
        if i is not None:
            fields = lines[i].rstrip(b"\n").split(b"\t")
            if len(fields) > 9:
                s = 9 + op[2] % (len(fields) - 9)
                parts = fields[s].split(b":")
                parts[op[3] % len(parts)] = op[4].encode()
                fields[s] = b":".join(parts)
                lines[i] = b"\t".join(fields) + b"\n"
    elif kind == "many_alts":  # ("many_alts", record k, n_alt): multi-digit allele indexes
        i = _pick(records, op[1])
        if i is not None:
            fields = lines[i].rstrip(b"\n").split(b"\t")
            n_alt = op[2]
            ref = fields[3][:1] or b"A"
            alts = [a for a in (_kmer(j) for j in range(n_alt + 1)) if a != ref][:n_alt]
            fields[4] = b",".join(alts)
            if len(fields) > 9:
                fields[8] = b"GT"
                for s in range(9, len(fields)):
                    a, b = (s * 7) % (n_alt + 1), (s * 3 + n_alt) % (n_alt + 1)
                    fields[s] = f"{a}|{b}".encode()
            lines[i] = b"\t".join(fields) + b"\n"
    elif kind == "drop_cell":
        i = _pick(records, op[1])
        if i is not None:
            fields = lines[i].rstrip(b"\n").split(b"\t")
            if len(fields) > 1:
                del fields[op[2] % len(fields)]
                lines[i] = b"\t".join(fields) + b"\n"
    elif kind == "insert":  # ("insert", at, raw bytes line)
        lines.insert(op[1] % (len(lines) + 1), op[2])
    elif kind == "header":
        lines = _header_op(lines, header, records, op[1])
    else:
        raise ValueError(f"unknown line op {op!r}")
    return lines


def _kmer(j: int) -> bytes:
    """The j-th allele of A, C, G, T, AA, AC, ... (distinct alleles for many-ALT records)."""
    out = b""
    j += 1
    while j:
        j, r = divmod(j - 1, 4)
        out = BASES[r].encode() + out
    return out


def _header_op(lines: list[bytes], header: list[int], records: list[int], what: str) -> list[bytes]:
    head = [lines[i] for i in header]
    body = [lines[i] for i in records]
    if what == "no_fileformat":
        head = [h for h in head if not h.startswith(b"##fileformat")]
    elif what == "empty_fileformat":
        head = [b"##fileformat=\n" if h.startswith(b"##fileformat") else h for h in head]
    elif what == "fileformat_not_first":
        ff = [h for h in head if h.startswith(b"##fileformat")]
        head = [h for h in head if not h.startswith(b"##fileformat")]
        head = head[:-1] + ff + head[-1:]
    elif what == "no_chrom_line":
        head = [h for h in head if not h.startswith(b"#CHROM")]
    elif what == "no_samples":
        head = [
            "\t".join(FIXED[:8]).encode() + b"\n" if h.startswith(b"#CHROM") else h for h in head
        ]
        body = [b"\t".join(r.split(b"\t")[:8]).rstrip(b"\n") + b"\n" for r in body]
    elif what == "format_no_samples":
        head = ["\t".join(FIXED).encode() + b"\n" if h.startswith(b"#CHROM") else h for h in head]
    elif what == "repeat_header":
        head = head + head
    elif what == "header_mid_records":
        k = len(body) // 2
        body = body[:k] + head + body[k:]
    elif what == "bom":
        if head:
            head[0] = b"\xef\xbb\xbf" + head[0]
    elif what == "crlf":
        head = [h.replace(b"\n", b"\r\n") for h in head]
        body = [r.replace(b"\n", b"\r\n") for r in body]
    elif what == "dup_sample_names":
        head = [_dup_sample(h) if h.startswith(b"#CHROM") else h for h in head]
    elif what == "space_chrom_line":
        head = [h.replace(b"\t", b" ") if h.startswith(b"#CHROM") else h for h in head]
    elif what == "header_only":
        body = []
    elif what == "no_meta":
        head = [h for h in head if h.startswith(b"#CHROM")]
    elif what == "vcf43":
        head = [b"##fileformat=VCFv4.3\n" if h.startswith(b"##fileformat") else h for h in head]
    elif what == "bcf_magic":
        head[0:0] = [b"BCF\x02\x02"]
    else:
        raise ValueError(f"unknown header op {what!r}")
    return head + body


def _dup_sample(chrom_line: bytes) -> bytes:
    fields = chrom_line.rstrip(b"\n").split(b"\t")
    if len(fields) > 10:
        fields[10] = fields[9]
    return b"\t".join(fields) + b"\n"


def apply_byte_op(data: bytes, op: tuple) -> bytes:
    """Apply one byte-level mutation to the VCF text."""
    kind = op[0]
    if not data:
        return data
    if kind == "truncate":
        return data[: op[1] % len(data)]
    if kind == "flip":  # XOR one byte
        i = op[1] % len(data)
        return data[:i] + bytes([data[i] ^ (op[2] or 1)]) + data[i + 1 :]
    if kind == "put":  # overwrite with odd bytes
        i = op[1] % len(data)
        return data[:i] + op[2] + data[i + len(op[2]) :]
    if kind == "insert":
        i = op[1] % (len(data) + 1)
        return data[:i] + op[2] + data[i:]
    if kind == "no_final_newline":
        return data.rstrip(b"\n")
    raise ValueError(f"unknown byte op {op!r}")


def bgzf_blocks(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every BGZF block in ``data`` (stops at the first non-BGZF bytes)."""
    blocks = []
    at = 0
    while at + 18 <= len(data) and data[at : at + 4] == b"\x1f\x8b\x08\x04":
        bsize = int.from_bytes(data[at + 16 : at + 18], "little") + 1
        blocks.append((at, bsize))
        at += bsize
    return blocks


def apply_bgzf_op(data: bytes, op: tuple, text: bytes) -> bytes:
    """Apply one mutation to the compressed bytes (``text`` is what they hold)."""
    kind = op[0]
    blocks = bgzf_blocks(data)
    if kind == "cut_at_block":  # a file cut at a block boundary (htslib reads it silently)
        if blocks:
            at, _ = blocks[op[1] % len(blocks)]
            return data[:at]
        return data
    if kind == "no_eof":
        return data[: -len(BGZF_EOF)] if data.endswith(BGZF_EOF) else data
    if kind == "concat":  # two bgzipped halves joined with cat (valid BGZF, two EOF markers)
        lines = text.splitlines(keepends=True)
        k = op[1] % (len(lines) + 1)
        return bgzip_bytes(b"".join(lines[:k])) + bgzip_bytes(b"".join(lines[k:]))
    if kind == "concat_self":
        return data + data
    if kind == "truncate":
        return data[: op[1] % max(len(data), 1)]
    if kind == "flip":  # anywhere: header, deflate data, CRC, ISIZE
        if not data:
            return data
        i = op[1] % len(data)
        return data[:i] + bytes([data[i] ^ (op[2] or 1)]) + data[i + 1 :]
    if kind == "flip_deflate":  # inside a block's compressed data only
        data_blocks = [(a, s) for a, s in blocks if s > 28]
        if not data_blocks:
            return data
        at, size = data_blocks[op[1] % len(data_blocks)]
        i = at + 18 + op[2] % (size - 26)
        return data[:i] + bytes([data[i] ^ (op[3] or 1)]) + data[i + 1 :]
    if kind == "bad_isize":
        data_blocks = [(a, s) for a, s in blocks if s > 28]
        if not data_blocks:
            return data
        at, size = data_blocks[op[1] % len(data_blocks)]
        i = at + size - 4
        return data[:i] + (op[2] % 2**32).to_bytes(4, "little") + data[i + 4 :]
    if kind == "append":
        return data + op[1]
    if kind == "small_blocks":  # the same text in many small blocks (block-edge handling)
        size = 1 + op[1] % 200
        out = b"".join(_bgzf_block(text[i : i + size]) for i in range(0, len(text), size))
        return out + BGZF_EOF
    raise ValueError(f"unknown bgzf op {op!r}")


def _bgzf_block(payload: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = comp.compress(payload) + comp.flush()
    bsize = 18 + len(deflated) + 8 - 1
    head = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00" + bsize.to_bytes(
        2, "little"
    )
    tail = (zlib.crc32(payload) & 0xFFFFFFFF).to_bytes(4, "little") + len(payload).to_bytes(
        4, "little"
    )
    return head + deflated + tail


# --------------------------------------------------------------------------------------------
# Writing a case


@dataclass
class Built:
    """A case on disk."""

    vcf: Path
    scorefile: Path
    text: bytes  # the (mutated) VCF text before compression
    base_text: bytes
    index: Path | None = None
    notes: list[str] = field(default_factory=list)
    vcfs: list[Path] = field(default_factory=list)  # all files when split (vcf is the first)

    def genotypes(self) -> list[str]:
        """The genotype paths to score (one, or one per chromosome)."""
        return [str(p) for p in (self.vcfs or [self.vcf])]


def case_text(case: Case) -> tuple[bytes, list[bytes]]:
    """The mutated VCF text of ``case`` and the base lines it came from."""
    lines = base_lines(case.seed, case.n_samples, case.n_records, case.dosage_fields, case.chroms)
    base = list(lines)
    for op in case.line_ops:
        lines = apply_line_op(lines, op)
    data = b"".join(lines)
    for op in case.byte_ops:
        data = apply_byte_op(data, op)
    return data, base


def build_case(case: Case, directory: Path) -> Built:
    """Write ``case`` into ``directory``: the VCF (and index) and its scoring file."""
    directory.mkdir(parents=True, exist_ok=True)
    data, base = case_text(case)
    base_text = b"".join(base)
    scorefile = directory / "weights.txt"
    scorefile.write_text(scorefile_text(case.seed, base))
    if case.split_ops:
        return _build_split(case, directory, data, base_text, scorefile)
    if case.container == "plain":
        vcf = directory / "fuzz.vcf"
        vcf.write_bytes(data)
        return Built(vcf, scorefile, data, base_text)
    vcf = directory / "fuzz.vcf.gz"
    if case.container == "gzip":
        vcf.write_bytes(gzip.compress(data, mtime=0))
        return Built(vcf, scorefile, data, base_text)
    compressed = bgzip_bytes(data)
    for op in case.bgzf_ops:
        compressed = apply_bgzf_op(compressed, op, data)
    vcf.write_bytes(compressed)
    built = Built(vcf, scorefile, data, base_text)
    write_index(case, built, directory)
    return built


def apply_split_op(first: list[bytes], second: list[bytes], op: tuple) -> tuple[list, list]:
    """Mutate the second of two per-chromosome files (or the pair): samples, contigs, order."""
    kind = op[0]
    chrom_at = next((i for i, line in enumerate(second) if line.startswith(b"#CHROM")), None)
    records = [i for i, line in enumerate(second) if not line.startswith(b"#")]
    if kind in ("rename_sample", "swap_samples", "drop_sample") and chrom_at is not None:
        fields = second[chrom_at].rstrip(b"\n").split(b"\t")
        if len(fields) <= 9:
            return first, second
        k = 9 + op[1] % (len(fields) - 9) if len(op) > 1 else 9
        if kind == "rename_sample":
            fields[k] = b"Z" + fields[k]
        elif kind == "swap_samples" and len(fields) > 10:
            fields[9], fields[10] = fields[10], fields[9]
        elif kind == "drop_sample":
            del fields[k]
            for i in records:
                cells = second[i].rstrip(b"\n").split(b"\t")
                if len(cells) > k:
                    del cells[k]
                second[i] = b"\t".join(cells) + b"\n"
        second[chrom_at] = b"\t".join(fields) + b"\n"
    elif kind == "overlap":  # the second file also holds the first file's records
        body = [line for line in first if not line.startswith(b"#")]
        header = [line for line in second if line.startswith(b"#")]
        second = header + body + [second[i] for i in records]
    elif kind == "same_file":
        second = list(first)
    elif kind == "swap_files":
        first, second = second, first
    elif kind == "header_only":
        second = [line for line in second if line.startswith(b"#")]
    else:
        raise ValueError(f"unknown split op {op!r}")
    return first, second


def _build_split(
    case: Case, directory: Path, data: bytes, base_text: bytes, scorefile: Path
) -> Built:
    lines = data.splitlines(keepends=True)
    header = [line for line in lines if line.startswith(b"#")]
    body = [line for line in lines if not line.startswith(b"#")]
    last = case.chroms[1].encode() + b"\t"
    first = header + [line for line in body if not line.startswith(last)]
    second = header + [line for line in body if line.startswith(last)]
    for op in case.split_ops:
        first, second = apply_split_op(first, second, op)
    paths = []
    for k, part in enumerate((first, second)):
        path = directory / f"part{k}.vcf.gz"
        path.write_bytes(bgzip_bytes(b"".join(part)))
        if case.index != "none":
            _tabix(path)
        paths.append(path)
    return Built(paths[0], scorefile, data, base_text, vcfs=paths)


def _tabix(path: Path, *, csi: bool = False) -> Path | None:
    """Index ``path`` with htslib; None when htslib refuses the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = pysam.tabix_index(
                str(path), preset="vcf", force=True, keep_original=True, csi=csi
            )
    except (OSError, ValueError, RuntimeError, TypeError):
        return None
    return (
        Path(out + (".csi" if csi else ".tbi")) if not out.endswith((".tbi", ".csi")) else Path(out)
    )


def write_index(case: Case, built: Built, directory: Path) -> None:
    """Put the index ``case.index`` asks for beside ``built.vcf``."""
    kind = case.index
    tbi = Path(str(built.vcf) + ".tbi")
    if kind == "none":
        return
    if kind in ("fresh", "truncated", "garbage_tail"):
        made = _tabix(built.vcf)
        if made is None or not made.exists():
            built.notes.append("htslib could not index the mutated file: no index")
            return
        built.index = made
        if kind == "truncated":
            raw = made.read_bytes()
            made.write_bytes(raw[: len(raw) // 2])
        elif kind == "garbage_tail":
            raw = gzip.decompress(made.read_bytes())
            made.write_bytes(gzip.compress(raw[: len(raw) - 8] + b"\xff" * 8))
        return
    if kind == "csi":
        made = _tabix(built.vcf, csi=True)
        if made is None:
            built.notes.append("htslib could not index the mutated file: no index")
        built.index = made
        return
    other_dir = directory / "other"
    other_dir.mkdir(exist_ok=True)
    if kind == "stale":  # the index of the unmutated file, older than the data
        text = built.base_text
    elif kind == "foreign":  # the index of an unrelated VCF
        text = b"".join(base_lines(case.seed + 7919, 3, 30, False))
    elif kind == "garbage":
        tbi.write_bytes(gzip.compress(b"TBI\x01" + bytes(range(256)) * 3))
        built.index = tbi
        return
    else:
        raise ValueError(f"unknown index kind {kind!r}")
    other = other_dir / "other.vcf.gz"
    other.write_bytes(bgzip_bytes(text))
    made = _tabix(other)
    if made is None:
        return
    shutil.copyfile(made, tbi)
    if kind == "stale":
        st_data = built.vcf.stat()
        os.utime(tbi, (st_data.st_atime - 60, st_data.st_mtime - 60))
    built.index = tbi


# --------------------------------------------------------------------------------------------
# Running the engines and judging


@dataclass
class Outcome:
    """What one engine did: a result (arrays), a named error, or something else."""

    engine: str
    kind: str  # "result", "error" (a PRSError) or "crash" (any other exception)
    arrays: dict[str, np.ndarray] | None = None
    counts: Any = None
    error_class: type | None = None
    message: str = ""

    def describe(self) -> str:
        if self.kind == "result":
            sums = self.arrays["sums"]
            return f"result: {sums.shape[0]} samples, SUM[:2]={sums[:2].ravel().tolist()}"
        name = self.error_class.__name__ if self.error_class else "?"
        text = self.message
        if len(text) > 600:  # a traceback's end says where it was raised
            text = "..." + text[-600:] if self.kind == "crash" else text[:600] + "..."
        return f"{self.kind}: {name}: {text}"


def run_engine(vcf: Path | list[str], scorefile: Path, engine: str, **options: Any) -> Outcome:
    """Score with one engine; never raises (a non-PRSError exception is a ``crash``)."""
    options = {"min_overlap": 0.0, **options}
    genotypes = vcf if isinstance(vcf, list) else str(vcf)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = prs.score(genotypes, str(scorefile), engine=engine, **options)
    except PRSError as exc:
        return Outcome(engine, "error", error_class=type(exc), message=str(exc))
    except Exception as exc:
        return Outcome(
            engine,
            "crash",
            error_class=type(exc),
            message="".join(traceback.format_exception(exc))[-2000:],
        )
    arrays = {
        "sums": result.sums,
        "allele_ct": result.allele_ct,
        "denom": result.denom,
        "named_dosage": result.named_dosage,
        "missing_ct": result.missing_ct,
        "variants_used": result.variants_used,
    }
    counts = result.match_report.counts.drop(columns=["match_rate"], errors="ignore")
    return Outcome(
        engine, "result", arrays=arrays, counts=counts, message=f"{len(result.samples)} samples"
    )


class ProcessDied(Exception):
    """The process scoring an example died (htslib calls ``exit(1)`` on some records)."""


def _worker_main(conn: Any) -> None:
    """The worker's loop: score requests until the pipe closes (see :class:`EngineWorker`)."""
    warnings.simplefilter("ignore")
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request[0] == "score":
            _, vcf, scorefile, engine, options = request
            vcf = vcf if isinstance(vcf, list) else Path(vcf)
            conn.send(run_engine(vcf, Path(scorefile), engine, **options))
        elif request[0] == "cli":
            from prs.cli import main

            try:
                code = main(request[1])
            except BaseException as exc:  # reported to the parent as a crash
                code = f"{type(exc).__name__}: {exc}"
            conn.send(code)


class EngineWorker:
    """A process of its own that scores examples, so an example that kills the interpreter
    (htslib's ``exit(1)``, a segfault) is reported as a crash instead of ending the test run.

    One process serves many examples (prs and Numba load once); it is restarted after a
    death, and an example that takes longer than ``timeout`` seconds counts as a hang.
    """

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout
        self._process: Any = None
        self._conn: Any = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_worker_main, args=(child,), daemon=True)
        self._process.start()
        child.close()

    def _ask(self, request: tuple) -> tuple[bool, Any]:
        """(True, answer), or (False, why the worker gave none)."""
        if self._process is None or not self._process.is_alive():
            self._start()
        try:
            self._conn.send(request)
            if not self._conn.poll(self.timeout):
                self.close()
                return False, f"no answer within {self.timeout:.0f} s (a hang)"
            return True, self._conn.recv()
        except (EOFError, OSError):
            self._process.join(10)
            code = self._process.exitcode
            self._process = None
            return False, f"the scoring process died (exit code {code})"

    def score(self, vcf: Path | list[str], scorefile: Path, engine: str, **options: Any) -> Outcome:
        vcf = vcf if isinstance(vcf, list) else str(vcf)
        ok, answer = self._ask(("score", vcf, str(scorefile), engine, options))
        if ok:
            return answer
        return Outcome(engine, "crash", error_class=ProcessDied, message=answer)

    def cli(self, argv: list[str]) -> int | str:
        """``prs.cli.main(argv)``'s exit code, or a text saying how it failed otherwise."""
        return self._ask(("cli", argv))[1]

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.pid is not None:
            process.kill()
            process.join(10)


_WORKER: EngineWorker | None = None


def worker() -> EngineWorker:
    """The shared :class:`EngineWorker` (started on first use, ended at exit)."""
    global _WORKER
    if _WORKER is None:
        _WORKER = EngineWorker()
        atexit.register(_WORKER.close)
    return _WORKER


def run_engines(built: Built, case: Case, *, isolated: bool = True) -> dict[str, Outcome]:
    """Each engine's outcome on ``built`` (in the worker process when ``isolated``)."""
    run = worker().score if isolated else run_engine
    genotypes = built.genotypes() if built.vcfs else built.vcf
    return {e: run(genotypes, built.scorefile, e, **case.score_options()) for e in ENGINES}


def _same(a: Outcome, b: Outcome) -> str | None:
    """None when ``a`` and ``b`` agree; else what differs."""
    if a.kind != b.kind:
        return f"{a.engine} gave {a.kind}, {b.engine} gave {b.kind}"
    if a.kind == "error":
        if a.error_class is not b.error_class:
            return (
                f"{a.engine} raised {a.error_class.__name__}, {b.engine} {b.error_class.__name__}"
            )
        return None
    if a.kind == "crash":
        return f"{a.engine} and {b.engine} both crashed"
    for name, x in a.arrays.items():
        y = b.arrays[name]
        # Exact equality (NaN == NaN): both engines feed the same accumulator the same
        # dosages in the same order, so there is no rounding that could differ.
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return f"{name} differs between {a.engine} and {b.engine}"
    if not a.counts.equals(b.counts):
        return f"match counts differ between {a.engine} and {b.engine}"
    return None


def verdict_problems(outcomes: dict[str, Outcome]) -> list[str]:
    """Everything that breaks the contract: crashes, disagreement, undocumented exit codes."""
    problems = []
    for o in outcomes.values():
        if o.kind == "crash":
            problems.append(f"{o.engine}: not a PRSError: {o.error_class.__name__}")
        if (
            o.kind == "error"
            and exit_code_for(o.error_class("x")) == 2
            and o.error_class is not PRSError
        ):
            problems.append(f"{o.engine}: {o.error_class.__name__} has no exit code of its own")
    fast, checked, auto = outcomes["fast"], outcomes["checked"], outcomes["auto"]
    fast_refused = fast.kind == "error" and FAST_REFUSAL in fast.message
    if not fast_refused:
        diff = _same(fast, checked)
        if diff:
            problems.append(diff)
        diff = _same(fast, auto)
        if diff:
            problems.append(diff)
    diff = _same(checked, auto)
    if diff and not (fast_refused and auto.kind == "error" and FAST_REFUSAL in auto.message):
        problems.append(diff)
    elif fast_refused and auto.kind == "error" and FAST_REFUSAL in auto.message:
        problems.append("auto picked the fast engine for a file the fast engine refuses (F16)")
    return problems


def describe(case: Case, built: Built, outcomes: dict[str, Outcome]) -> str:
    """A human summary of a failing example, for the findings notes."""
    lines = [f"case: {case!r}"] + [f"  {e}: {o.describe()}" for e, o in outcomes.items()]
    lines += [f"  note: {n}" for n in built.notes]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Strategies

_ints = st.integers(0, 10_000)

#: The mutation families (one fuzz test each).
FAMILIES = ("lines", "header", "bytes", "bgzf", "index", "plain", "multi")

_line_ops = st.one_of(
    st.tuples(st.just("drop"), _ints),
    st.tuples(st.just("dup"), _ints),
    st.tuples(st.just("swap"), _ints, _ints),
    st.tuples(st.just("dup_all_records")),
    st.tuples(st.just("reverse_records")),
    st.tuples(st.just("field"), _ints, st.just(0), st.sampled_from(ODD_CHROM)),
    st.tuples(st.just("field"), _ints, st.just(1), st.sampled_from(ODD_POS)),
    st.tuples(st.just("field"), _ints, st.sampled_from([3, 4]), st.sampled_from(ODD_ALLELE)),
    st.tuples(st.just("field"), _ints, st.just(8), st.sampled_from(ODD_FORMAT)),
    st.tuples(st.just("field"), _ints, st.integers(9, 20), st.sampled_from(ODD_GT)),
    st.tuples(st.just("field"), _ints, st.integers(0, 20), st.text(max_size=6)),
    st.tuples(st.just("subfield"), _ints, _ints, st.just(0), st.sampled_from(ODD_GT)),
    st.tuples(st.just("subfield"), _ints, _ints, st.integers(1, 2), st.sampled_from(ODD_NUMBER)),
    st.tuples(st.just("drop_cell"), _ints, _ints),
    st.tuples(st.just("many_alts"), _ints, st.sampled_from([9, 10, 11, 12, 99, 100])),
    st.tuples(
        st.just("insert"),
        _ints,
        st.sampled_from([b"\n", b"#comment\n", b"\t\n", b"22\t5\n", b"##x=1\n"]),
    ),
)

_header_ops = st.tuples(
    st.just("header"),
    st.sampled_from(
        [
            "no_fileformat",
            "empty_fileformat",
            "fileformat_not_first",
            "no_chrom_line",
            "no_samples",
            "format_no_samples",
            "repeat_header",
            "header_mid_records",
            "bom",
            "crlf",
            "dup_sample_names",
            "space_chrom_line",
            "header_only",
            "no_meta",
            "vcf43",
        ]
    ),
)

_byte_ops = st.one_of(
    st.tuples(st.just("truncate"), _ints),
    st.tuples(st.just("flip"), _ints, st.integers(1, 255)),
    st.tuples(st.just("put"), _ints, st.sampled_from(ODD_BYTES)),
    st.tuples(st.just("insert"), _ints, st.sampled_from(ODD_BYTES)),
    st.tuples(st.just("no_final_newline")),
)

_bgzf_ops = st.one_of(
    st.tuples(st.just("cut_at_block"), _ints),
    st.tuples(st.just("no_eof")),
    st.tuples(st.just("concat"), _ints),
    st.tuples(st.just("concat_self")),
    st.tuples(st.just("truncate"), _ints),
    st.tuples(st.just("flip"), _ints, st.integers(1, 255)),
    st.tuples(st.just("flip_deflate"), _ints, _ints, st.integers(1, 255)),
    st.tuples(st.just("bad_isize"), _ints, st.integers(0, 2**32 - 1)),
    st.tuples(st.just("append"), st.sampled_from([b"\x00", b"garbage", BGZF_EOF, b"\x1f\x8b"])),
    st.tuples(st.just("small_blocks"), _ints),
)

_options = st.sampled_from(
    [
        (),
        (("half_call", "missing"),),
        (("missing", "none"),),
        (("haploid", "haploid"),),
        (("half_call", "reference"), ("missing", "none")),
    ]
)

# Sample selections (drawn by the multi-file family, where files may disagree on samples).
_sample_options = st.sampled_from(
    [
        (("samples", ("S0",)),),
        (("samples", ("S1", "S0")),),
        (("samples", ("S0", "S0")),),
        (("samples", ("nobody",)),),
        (("samples", ()),),
    ]
)

_split_ops = st.one_of(
    st.tuples(st.just("rename_sample"), _ints),
    st.tuples(st.just("swap_samples")),
    st.tuples(st.just("drop_sample"), _ints),
    st.tuples(st.just("overlap")),
    st.tuples(st.just("same_file")),
    st.tuples(st.just("swap_files")),
    st.tuples(st.just("header_only")),
)


@st.composite
def cases(draw: st.DrawFn, family: str | None = None) -> Case:
    """A fuzz case from one mutation family (drawn when not given)."""
    family = family or draw(st.sampled_from(FAMILIES))
    dosage_fields = (
        draw(st.booleans()) if family in ("lines", "plain", "header", "bytes", "multi") else False
    )
    options = draw(_options)
    if dosage_fields and draw(st.booleans()):
        options = (*options, ("dosage", draw(st.sampled_from(["DS", "GP"]))))
    kwargs: dict[str, Any] = {
        "chroms": draw(
            st.sampled_from([("1", "22"), ("1", "22"), ("1", "X"), ("22", "Y"), ("X", "MT")])
        ),
        "seed": draw(st.integers(0, 2**20)),
        "n_samples": draw(st.integers(1, 6)),
        "n_records": draw(st.integers(0, 25)),
        "dosage_fields": dosage_fields,
        "options": options,
        "index": draw(st.sampled_from(["fresh", "fresh", "none"])),
    }
    if family == "lines":
        kwargs["line_ops"] = tuple(draw(st.lists(_line_ops, min_size=1, max_size=3)))
    elif family == "header":
        kwargs["line_ops"] = tuple(
            draw(st.lists(st.one_of(_header_ops, _line_ops), min_size=1, max_size=2))
        )
    elif family == "bytes":
        kwargs["byte_ops"] = tuple(draw(st.lists(_byte_ops, min_size=1, max_size=2)))
    elif family == "bgzf":
        kwargs["bgzf_ops"] = tuple(draw(st.lists(_bgzf_ops, min_size=1, max_size=2)))
    elif family == "index":
        kwargs["index"] = draw(
            st.sampled_from(
                ["stale", "foreign", "truncated", "garbage", "garbage_tail", "csi", "none"]
            )
        )
        kwargs["line_ops"] = tuple(draw(st.lists(_line_ops, max_size=1)))
    elif family == "multi":
        kwargs["options"] = draw(st.one_of(_options, _sample_options))
        kwargs["split_ops"] = tuple(draw(st.lists(_split_ops, max_size=2)))
        if not kwargs["split_ops"]:
            kwargs["split_ops"] = (("swap_files",), ("swap_files",))  # split, unchanged
        kwargs["line_ops"] = tuple(draw(st.lists(_line_ops, max_size=1)))
    elif family == "plain":
        kwargs["container"] = draw(st.sampled_from(["plain", "gzip"]))
        kwargs["line_ops"] = tuple(draw(st.lists(st.one_of(_header_ops, _line_ops), max_size=2)))
        kwargs["byte_ops"] = tuple(draw(st.lists(_byte_ops, max_size=1)))
        kwargs["index"] = "none"
    return Case(**kwargs)
