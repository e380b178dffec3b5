"""VF3: a byte that is not UTF-8 in the ID column.

The checked engine raised UnicodeDecodeError (a traceback) from its sites scan; the fast
engine scored. The engines must agree, and never with a non-PRSError exception.
"""

from __future__ import annotations

from pathlib import Path

from tests.regressions import VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF3"


def build(directory: Path) -> tuple[Path, Path]:
    vcf = write_case_vcf(directory, VALID.encode().replace(b"\tv2\t", b"\tv\xff2\t"))
    return vcf, write_case_scorefile(directory)


def build_plain(directory: Path) -> tuple[Path, Path]:
    text = VALID.encode().replace(b"\tv2\t", b"\tv\xff2\t")
    return write_case_vcf(directory, text, container="plain"), write_case_scorefile(directory)


CASES = [
    Regression("vf3-non-utf8-id", FINDING, build),
    Regression("vf3-non-utf8-id-plain", FINDING, build_plain),
]
