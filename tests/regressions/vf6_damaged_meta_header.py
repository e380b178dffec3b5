"""VF6: a ``#comment`` line or a NUL byte among the ``##`` meta-information lines.

cyvcf2 raised a bare ``Exception: cannot parse VCF header`` (a traceback) on the checked
engine; the fast engine scored. The engines must agree, with a PRSError if they refuse.
"""

from __future__ import annotations

from pathlib import Path

from tests.regressions import VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF6"


def build_comment(directory: Path) -> tuple[Path, Path]:
    text = VALID.replace("##contig=<ID=22>\n", "##contig=<ID=22>\n#comment\n")
    return write_case_vcf(directory, text), write_case_scorefile(directory)


def build_nul(directory: Path) -> tuple[Path, Path]:
    text = VALID.replace("##contig=<ID=22>", "##contig=<ID=2\x002>")
    return write_case_vcf(directory, text), write_case_scorefile(directory)


CASES = [
    Regression("vf6-comment-in-meta-header", FINDING, build_comment),
    Regression("vf6-nul-in-meta-header", FINDING, build_nul),
]
