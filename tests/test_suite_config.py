"""The suite's own rules (issue 12): warnings are errors unless listed in pyproject.toml, and
conftest's marks by node id name tests that exist."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from prs.errors import CalibrationWarning, ScoreWarning

ROOT = Path(__file__).resolve().parents[1]


def test_a_leaked_file_warning_is_an_error() -> None:
    with pytest.raises(ResourceWarning):
        warnings.warn("unclosed file", ResourceWarning, stacklevel=1)


def test_a_numpy_runtime_warning_is_an_error() -> None:
    with pytest.raises(RuntimeWarning, match="overflow"):
        np.exp(np.array([1000.0]))


def test_a_library_deprecation_is_an_error() -> None:
    with pytest.raises(DeprecationWarning):
        warnings.warn("old API", DeprecationWarning, stacklevel=1)


def test_prs_warnings_are_not_errors_and_pytest_warns_still_sees_them() -> None:
    warnings.warn("expected in many tests", ScoreWarning, stacklevel=1)  # no error
    with pytest.warns(CalibrationWarning, match="asserted"):
        warnings.warn("asserted where it matters", CalibrationWarning, stacklevel=1)
