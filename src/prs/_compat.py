"""Differences between the pandas versions prs supports (2.1 and newer)."""

from __future__ import annotations

import pandas as pd

#: ``read_csv`` options that parse floats exactly: pandas 3 does by default (and deprecates
#: the option); pandas 2's default C parser can be one unit in the last place off
#: (``0.30000000000000004`` read as ``0.3``).
EXACT_FLOATS: dict[str, str] = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
)
