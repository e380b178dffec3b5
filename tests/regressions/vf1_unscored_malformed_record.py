"""VF1: a record htslib cannot parse, not scored itself but between scored records.

The checked engine parses every record it passes and refused the file; the fast engine
never parsed the record and scored. The engines must agree (both refuse, or both score).
"""

from __future__ import annotations

from pathlib import Path

from tests.regressions import SCOREFILE, VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF1"

#: The scoring file without 1:200, so the malformed record 1:200 is not scored.
SCOREFILE_WITHOUT_1_200 = SCOREFILE.replace("1\t200\tT\tC\t-0.25\n", "")
_CELLS = "0/0:0\t./.:.\t1|0:1"  # the cells of record 1:200


def _gt(value: str):
    def build(directory: Path) -> tuple[Path, Path]:
        vcf = write_case_vcf(directory, VALID.replace(_CELLS, f"{value}:0\t./.:.\t1|0:1"))
        return vcf, write_case_scorefile(directory, SCOREFILE_WITHOUT_1_200)

    return build


def _chrom(value: str):
    def build(directory: Path) -> tuple[Path, Path]:
        vcf = write_case_vcf(directory, VALID.replace("1\t200\t", f"{value}\t200\t"))
        return vcf, write_case_scorefile(directory, SCOREFILE_WITHOUT_1_200)

    return build


def _format(value: str):
    def build(directory: Path) -> tuple[Path, Path]:
        text = VALID.replace(
            "1\t200\tv2\tC\tT\t.\tPASS\t.\tGT:DS", f"1\t200\tv2\tC\tT\t.\tPASS\t.\t{value}"
        )
        return write_case_vcf(directory, text), write_case_scorefile(
            directory, SCOREFILE_WITHOUT_1_200
        )

    return build


CASES = [
    *(
        Regression(f"vf1-unscored-gt-{v!r}", FINDING, _gt(v))
        for v in ("0//1", "-1/0", "0|", "a/b", "1/0 ")
    ),
    *(
        # Fixed by e825d2a (CHROM must be a VCF 4.3 contig name, on both engines).
        Regression(f"vf1-unscored-chrom-{v!r}", FINDING, _chrom(v))
        for v in ("<1", "22 ")
    ),
    Regression("vf1-unscored-format-DS:GT", FINDING, _format("DS:GT")),
]
