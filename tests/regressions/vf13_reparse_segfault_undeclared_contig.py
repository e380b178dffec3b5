"""VF13: a record htslib refuses, on a contig the header does not declare.

The checked engine's re-parse of a refused record (a one-record copy read by cyvcf2) died
with SIGSEGV when the record's contig had no ``##contig`` line (many real VCFs have none)
and its GT was malformed. Must be a GenotypeFileError, as it is with the contig declared.
The regression test runs it in a worker process (a segfault must not end the test run).
Fixed by 5fc49a2.
"""

from __future__ import annotations

from pathlib import Path

from prs.errors import GenotypeFileError
from tests.regressions import VALID, Regression, write_case_scorefile, write_case_vcf

FINDING = "VF13"

_RECORD = "1\t100\tv1\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:1\t1|1:2\t0/0:0"  # scored


def build_no_contig_line(directory: Path) -> tuple[Path, Path]:
    text = VALID.replace("##contig=<ID=1>\n", "").replace(
        _RECORD, _RECORD.replace("0|1:1", "-1/0:1")
    )
    return write_case_vcf(directory, text), write_case_scorefile(directory)


def build_no_contig_lines_at_all(directory: Path) -> tuple[Path, Path]:
    text = (
        VALID.replace("##contig=<ID=1>\n", "")
        .replace("##contig=<ID=22>\n", "")
        .replace("0/0:0\t./.:.\t1|0:1", "-1/0:0\t./.:.\t1|0:1")
    )
    return write_case_vcf(directory, text), write_case_scorefile(directory)


CASES = [
    Regression("vf13-undeclared-contig-bad-gt", FINDING, build_no_contig_line, GenotypeFileError),
    Regression(
        "vf13-no-contig-lines-bad-gt", FINDING, build_no_contig_lines_at_all, GenotypeFileError
    ),
]
