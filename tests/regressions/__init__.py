"""Regression cases found by the VCF fuzz suite (``tests/test_fuzz_vcf.py``).

Each ``vf<N>_*.py`` module builds its input files from code (no binary files in the
repository) and lists them as :class:`Regression` objects in ``CASES``: how to write the
case, and the correct behaviour (``"agree"``: every engine that reads the file gives the same
numbers or the same named error; or a :class:`prs.errors.PRSError` subclass every engine must
raise). ``open_finding`` marks a case whose engine fix is still awaited (a strict xfail: the
test turns red once the fix lands, which says to clear the flag).

:func:`write_vcf` and :func:`write_scorefile` are the shared builders.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysam

#: A small valid VCF: two chromosomes, three samples, biallelic and one multi-allelic site.
HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=1>\n"
    "##contig=<ID=22>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS0\tS1\tS2\n"
)
RECORDS = (
    "1\t100\tv1\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:1\t1|1:2\t0/0:0\n"
    "1\t200\tv2\tC\tT\t.\tPASS\t.\tGT:DS\t0/0:0\t./.:.\t1|0:1\n"
    "22\t300\tv3\tG\tA,C\t.\tPASS\t.\tGT:DS\t0|2:0,1\t1/1:2,0\t0|1:1,0\n"
    "22\t400\tv4\tT\tC\t.\tPASS\t.\tGT:DS\t1|1:2\t0|1:1\t0|0:0\n"
)
VALID = HEADER + RECORDS

SCOREFILE = (
    "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
    "1\t100\tG\tA\t0.5\n"
    "1\t200\tT\tC\t-0.25\n"
    "22\t300\tA\tG\t1.125\n"
    "22\t400\tC\tT\t0.75\n"
)


def bgzip_bytes(text: bytes) -> bytes:
    """``text`` bgzipped by htslib (through pysam), EOF block included."""
    with tempfile.TemporaryDirectory() as d:
        plain = Path(d) / "x.vcf"
        plain.write_bytes(text)
        pysam.tabix_compress(str(plain), str(plain) + ".gz", force=True)
        return Path(str(plain) + ".gz").read_bytes()


def write_vcf(
    directory: Path, data: bytes | str, *, container: str = "bgzf", index: bool = False
) -> Path:
    """Write VCF text as ``fuzz.vcf`` (plain), or ``fuzz.vcf.gz`` (bgzf or gzip); index it."""
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    if container == "plain":
        path = directory / "fuzz.vcf"
        path.write_bytes(data)
        return path
    path = directory / "fuzz.vcf.gz"
    if container == "gzip":
        path.write_bytes(gzip.compress(data, mtime=0))
        return path
    path.write_bytes(bgzip_bytes(data))
    if index:
        pysam.tabix_index(str(path), preset="vcf", force=True, keep_original=True)
    return path


def write_scorefile(directory: Path, text: str = SCOREFILE) -> Path:
    """Write the scoring file ``weights.txt``."""
    path = directory / "weights.txt"
    path.write_text(text)
    return path


def older(path: Path, seconds: int = 60) -> None:
    """Set ``path``'s mtime ``seconds`` into the past."""
    st = path.stat()
    os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


@dataclass(frozen=True)
class Regression:
    """One regression case: ``build(directory) -> (vcf, scorefile)`` and what must happen."""

    name: str
    finding: str
    build: Callable[[Path], tuple[Path, Path]]
    expected: Any = "agree"  # "agree" or the PRSError subclass every engine raises
    options: dict[str, Any] = field(default_factory=dict)
    open_finding: bool = False


def all_cases() -> list[Regression]:
    """Every case of every ``vf*`` module in this package, in module order."""
    import importlib
    import pkgutil

    found: list[Regression] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("vf"):
            found.extend(importlib.import_module(f"{__name__}.{info.name}").CASES)
    return found
