"""VF11 and VF12: the ``samples`` selection with a sample listed twice, or empty.

VF11: ``samples=["S0", "S0"]`` raised IndexError (every engine) and ``["S1", "S0", "S1"]``
scored 3 samples on the fast engine but raised ValueError on the checked one. VF12:
``samples=[]`` scored 0 samples on the fast engine, while the checked one said "no readable
GT field". Each must be a named error, the same on every engine (the CLI already refuses
an empty --samples file with a ScoreError). VF11 was fixed by a35dc02, VF12 by 5fc49a2.
"""

from __future__ import annotations

from pathlib import Path

from prs.errors import PRSError
from tests.regressions import VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF11"


def build(directory: Path) -> tuple[Path, Path]:
    return write_case_vcf(directory, VALID), write_case_scorefile(directory)


CASES = [
    Regression("vf11-sample-twice", FINDING, build, PRSError, {"samples": ["S0", "S0"]}),
    Regression(
        "vf11-sample-twice-among-others",
        FINDING,
        build,
        PRSError,
        {"samples": ["S1", "S0", "S1"]},
    ),
    Regression("vf12-no-sample-selected", "VF12", build, PRSError, {"samples": []}),
]
