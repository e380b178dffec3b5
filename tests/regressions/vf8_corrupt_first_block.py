"""VF8: corrupt deflate data in the first BGZF block (the header's block).

Every engine raised ``zlib.error`` from Python's gzip in the header reader, before the
engines' own named BGZF checks. Must be a GenotypeFileError everywhere.
"""

from __future__ import annotations

from pathlib import Path

from prs.errors import GenotypeFileError
from tests.builders import bgzip_bytes
from tests.regressions import VALID, Regression, write_case_scorefile

FINDING = "VF8"


def build(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    raw = bytearray(bgzip_bytes(VALID.encode()))
    raw[40] ^= 0xFF  # inside the first block's deflate stream (its header is 18 bytes)
    vcf = directory / "fuzz.vcf.gz"
    vcf.write_bytes(bytes(raw))
    return vcf, write_case_scorefile(directory)


CASES = [Regression("vf8-corrupt-deflate-first-block", FINDING, build, GenotypeFileError)]
