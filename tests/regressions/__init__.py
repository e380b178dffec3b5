"""Regression cases found by the VCF fuzz suite (``tests/test_fuzz_vcf.py``).

Each ``vf<N>_*.py`` module builds its input files from code (no binary files in the
repository) and lists them as :class:`Regression` objects in ``CASES``: how to write the
case, and the correct behaviour (``"agree"``: every engine that reads the file gives the same
numbers or the same named error; or a :class:`prs.errors.PRSError` subclass every engine must
raise). ``open_finding`` marks a case whose engine fix is still awaited (a strict xfail: the
test turns red once the fix lands, which says to clear the flag).

:func:`write_case_vcf` and :func:`write_case_scorefile` write a case's files under their
fixed names (``fuzz.vcf[.gz]``, ``weights.txt``); the general builders are in ``tests/builders.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.builders import write_vcf_text

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


def write_case_vcf(
    directory: Path, data: bytes | str, *, container: str = "bgzf", index: bool = False
) -> Path:
    """Write a case's VCF text as ``fuzz.vcf`` (plain), or ``fuzz.vcf.gz`` (bgzf or gzip);
    index it when asked."""
    directory.mkdir(parents=True, exist_ok=True)
    return write_vcf_text(directory / "fuzz.vcf", data, container=container, index=index)


def write_case_scorefile(directory: Path, text: str = SCOREFILE) -> Path:
    """Write a case's scoring file as ``weights.txt``."""
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
