"""Suite-wide fixtures: the shared real data (the one ``SHARED_DATA`` path) and PLINK 2.

Builders of test inputs are in ``tests/builders.py``; independent implementations the tests
compare against are in ``tests/reference.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: ../shared/data beside the repository (CI always has it).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data in ../shared/data; skips with a reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent (CI always has it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def plink2() -> str:
    """Path of the plink2 binary; skips with a reason when it is not installed."""
    path = shutil.which("plink2")
    if path is None:
        pytest.skip("plink2 is not on PATH (install Debian's plink2; `make test` does)")
    return path
