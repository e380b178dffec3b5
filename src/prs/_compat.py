"""Differences between the pandas versions prs supports (2.1 and newer)."""

from __future__ import annotations

import importlib
import types
from typing import Any

import pandas as pd

#: ``read_csv`` options that parse floats exactly: pandas 3 does by default (and deprecates
#: the option); pandas 2's default C parser can be one unit in the last place off
#: (``0.30000000000000004`` read as ``0.3``).
EXACT_FLOATS: dict[str, str] = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
)


class LazyModule(types.ModuleType):
    """A module imported at its first attribute access: ``stats = LazyModule("scipy.stats")``
    at the top of a module keeps ``stats.norm.ppf(...)`` call sites as they are while the
    import (SciPy's ``stats``: ~0.3 s) is paid only by runs that use it (``prs --help``,
    ``prs score`` never do; tests/test_startup.py holds ``import prs`` to it)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        # Later lookups go straight to the module (this __getattr__ runs only on a miss).
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)
