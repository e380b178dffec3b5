"""VF7: a bgzipped VCF cut inside its first block.

Cut inside the gzip header (3 or 17 bytes): EOFError from Python's gzip in the header reader
on every engine; cut at 30 bytes: the engines named it (missing EOF block) but ``auto``
raised EOFError from its format sniffing. Must be a GenotypeFileError everywhere.
"""

from __future__ import annotations

from pathlib import Path

from prs.errors import GenotypeFileError
from tests.builders import bgzip_bytes
from tests.regressions import VALID, Regression, write_case_scorefile

FINDING = "VF7"


def _cut(n_bytes: int):
    def build(directory: Path) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        vcf = directory / "fuzz.vcf.gz"
        vcf.write_bytes(bgzip_bytes(VALID.encode())[:n_bytes])
        return vcf, write_case_scorefile(directory)

    return build


CASES = [
    # 3 and 17 bytes: fixed by e825d2a (the header reader names any decompressor error).
    Regression("vf7-bgzf-cut-to-3-bytes", FINDING, _cut(3), GenotypeFileError),
    Regression("vf7-bgzf-cut-to-17-bytes", FINDING, _cut(17), GenotypeFileError),
    # 18 and 30 bytes: auto's format sniffing (fastvcf._is_bcf) raised EOFError; fixed by 9154312.
    Regression("vf7-bgzf-cut-to-18-bytes", FINDING, _cut(18), GenotypeFileError),
    Regression("vf7-bgzf-cut-to-30-bytes", FINDING, _cut(30), GenotypeFileError),
]
