"""VF9: a FORMAT whose first key is undeclared and whose GT has no data in any sample.

htslib's ``bcf_get_format_values`` calls ``exit(1)`` on such a field ("Unexpected type 0"):
the Python process died on every engine (the fast engine hands the record to the checked
decoder). Must be a GenotypeFileError. The regression test runs it in a worker process.
"""

from __future__ import annotations

from pathlib import Path

from prs.errors import GenotypeFileError
from tests.regressions import VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF9"

_RECORD = "1\t200\tv2\tC\tT\t.\tPASS\t.\tGT:DS\t0/0:0\t./.:.\t1|0:1"


def _format(fmt: str):
    def build(directory: Path) -> tuple[Path, Path]:
        text = VALID.replace(_RECORD, f"1\t200\tv2\tC\tT\t.\tPASS\t.\t{fmt}\t0/0\t./.\t1|0")
        return write_case_vcf(directory, text), write_case_scorefile(directory)

    return build


CASES = [
    Regression(f"vf9-format-{f}", FINDING, _format(f), GenotypeFileError)
    # DS:GT: DS declared as Float in VALID, GT still without data (found again by CI's draws).
    for f in ("XX:GT", "GP:XX:GT", "DS:GT")
]
