"""VF10: a scored record with a field htslib refuses in a column the fast engine never reads.

FILTER with a leading or trailing space or a NUL byte, a NUL byte as INFO or ID, or text in
a Float FORMAT field other than the scored one (DS ``1e`` while scoring GT): the checked
engine refused the record ("htslib cannot parse the record"), the fast engine scored it.
The engines must agree.
"""

from __future__ import annotations

from pathlib import Path

from tests.regressions import VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF10"

_RECORD = "1\t100\tv1\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:1\t1|1:2\t0/0:0"  # scored


def _edit(old: str, new: str):
    def build(directory: Path) -> tuple[Path, Path]:
        text = VALID.replace(_RECORD, _RECORD.replace(old, new))
        return write_case_vcf(directory, text), write_case_scorefile(directory)

    return build


#: (name, old, new, still open). FILTER and unscored-field cases fixed by 8fef8ba, NUL
#: bytes in INFO and ID by 29f71db (all agree).
_CASES = (
    ("filter-leading-space", "PASS", " ASS", False),
    ("filter-trailing-space", "PASS", "PASS ", False),
    ("filter-nul", "PASS", "PASS\x00", False),
    ("info-nul", "PASS\t.", "PASS\t\x00", False),
    ("id-nul", "\tv1\t", "\t\x00\t", False),
    ("unscored-ds-1e", "0|1:1", "0|1:1e", False),
    ("unscored-ds-unicode-minus", "0|1:1", "0|1:\u22121", False),
)

CASES = [
    Regression(f"vf10-{name}", FINDING, _edit(old, new), open_finding=still_open)
    for name, old, new, still_open in _CASES
]
