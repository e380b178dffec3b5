"""VF2: CHROM with a leading or trailing space on a scored record.

The fast engine read ``22 `` as chromosome 22 and scored it; htslib (checked) refused the
record. The engines must agree.
"""

from __future__ import annotations

from pathlib import Path

from tests.regressions import VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF2"


def _chrom(value: str):
    def build(directory: Path) -> tuple[Path, Path]:
        return write_case_vcf(
            directory, VALID.replace("22\t400", f"{value}\t400")
        ), write_case_scorefile(directory)

    return build


CASES = [Regression(f"vf2-chrom-{v!r}", FINDING, _chrom(v)) for v in ("22 ", " 22")]
