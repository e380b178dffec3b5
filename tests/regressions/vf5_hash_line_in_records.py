"""VF5: a line starting with '#' among the records.

A ``#comment`` line after ``#CHROM``, or a record whose CHROM starts with ``#``, before
scored records: the checked engine said "the file changed while it was read" (nothing had
changed), the fast engine scored. The engines must agree.
"""

from __future__ import annotations

from pathlib import Path

from tests.regressions import VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF5"


def build_comment(directory: Path) -> tuple[Path, Path]:
    return write_case_vcf(directory, VALID.replace("S2\n", "S2\n#comment\n")), write_case_scorefile(
        directory
    )


def build_hash_chrom(directory: Path) -> tuple[Path, Path]:
    vcf = write_case_vcf(directory, VALID.replace("1\t200\tv2", "#1\t200\tv2"))
    return vcf, write_case_scorefile(directory)


CASES = [
    Regression("vf5-comment-after-chrom-line", FINDING, build_comment),
    Regression("vf5-record-chrom-starts-with-hash", FINDING, build_hash_chrom),
]
