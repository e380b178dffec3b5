"""String columns built by Arrow from integer codes (no Python object per row)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["coded_strings"]


def coded_strings(codes: np.ndarray, names: Sequence[str]) -> pd.Series:
    """The column ``names[codes[i]]``: pandas' string dtype (Arrow-backed under pandas 3).

    A table of a million rows holding a handful of distinct texts (outcomes, match types,
    chromosome names) is built in milliseconds; a numpy object array of the same texts is
    converted by pandas value by value.
    """
    dictionary = pa.array([str(n) for n in names], type=pa.string())
    return dictionary.take(pa.array(np.asarray(codes, dtype=np.int32))).to_pandas()
