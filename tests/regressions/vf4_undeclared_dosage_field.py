"""VF4: dosage="DS" or "GP" when the header has no ##FORMAT line for that field.

htslib types an undeclared field as String; every engine then failed with IndexError (DS)
or ValueError (GP) tracebacks in the checked decoder. Must be a GenotypeFileError.
"""

from __future__ import annotations

from pathlib import Path

from prs.errors import GenotypeFileError
from tests.regressions import VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF4"

_DS_LINE = '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">\n'

#: GT:GP records (GP for diploid biallelic calls), with no ##FORMAT line for GP.
GP_UNDECLARED = VALID.replace(_DS_LINE, "").replace("22\t300\tv3\tG\tA,C", "22\t300\tv3\tG\tA")
for _old, _new in (
    ("0|1:1,0\n", "0|1:0,1,0\n"),
    ("0|1:1", "0|1:0,1,0"),
    ("1|1:2", "1|1:0,0,1"),
    ("0/0:0", "0/0:1,0,0"),
    ("1|0:1", "1|0:0,1,0"),
    ("0|2:0,1", "0|1:0,1,0"),
    ("1/1:2,0", "1/1:0,0,1"),
    ("0|0:0", "0|0:1,0,0"),
):
    GP_UNDECLARED = GP_UNDECLARED.replace(_old, _new)
GP_UNDECLARED = GP_UNDECLARED.replace("GT:DS", "GT:GP")


def build_ds(directory: Path) -> tuple[Path, Path]:
    return write_case_vcf(directory, VALID.replace(_DS_LINE, "")), write_case_scorefile(directory)


def build_gp(directory: Path) -> tuple[Path, Path]:
    return write_case_vcf(directory, GP_UNDECLARED), write_case_scorefile(directory)


def build_gp_plain(directory: Path) -> tuple[Path, Path]:
    return write_case_vcf(directory, GP_UNDECLARED, container="plain"), write_case_scorefile(
        directory
    )


CASES = [
    Regression("vf4-ds-undeclared", FINDING, build_ds, GenotypeFileError, {"dosage": "DS"}),
    Regression("vf4-gp-undeclared", FINDING, build_gp, GenotypeFileError, {"dosage": "GP"}),
    Regression(
        "vf4-gp-undeclared-plain",
        FINDING,
        build_gp_plain,
        GenotypeFileError,
        {"dosage": "GP"},
    ),
]
