"""Arrow kernels that turn a scoring file's text columns into compact values.

Each takes one column of text as read (Arrow strings) and returns its values, or None when
a value is not plain (a position that is not a whole number of at most 10 digits, a weight
that is not a finite number, ...). None is never an answer: the caller then reads the file
with the checked reader of :mod:`prs.weights.scorefile`, which names the line and value.
Both readers use these kernels, so a value is converted the same way on either path.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prs.genome import MAX_POSITION

__all__ = ["NUCLEOTIDES_REGEX", "alleles", "numbers", "positions"]

#: An allele prs scores (after trimming and upper-casing): one or more of A, C, G, T, N.
NUCLEOTIDES_REGEX = "^[ACGTN]+$"


def positions(text: pa.Array | pa.ChunkedArray, *, allow_empty: bool = False) -> np.ndarray | None:
    """``int64`` positions, -1 where empty (``allow_empty``); None unless every value,
    trimmed, is a whole number of 1 to 10 ASCII digits no larger than
    :data:`prs.genome.MAX_POSITION`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> positions(pa.array([" 12", "0", ""]), allow_empty=True).tolist()
    [12, 0, -1]
    >>> positions(pa.array(["12", "1e3"])) is None
    True
    """
    if len(text) == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        trimmed = pc.utf8_trim_whitespace(text)
        whole = pc.match_substring_regex(trimmed, "^[0-9]{1,10}$")
        empty = pc.equal(trimmed, "")
        if allow_empty:
            whole = pc.or_(whole, empty)
        if not pc.all(whole).as_py():
            return None
        values = pc.cast(pc.if_else(empty, None, trimmed), pa.int64())
        out = values.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    return out if int(out.max()) <= MAX_POSITION else None


def numbers(text: pa.Array | pa.ChunkedArray, *, allow_empty: bool) -> np.ndarray | None:
    """``float64`` values, NaN where empty (``allow_empty``); None unless every value,
    trimmed, is a finite number Arrow's cast reads (it refuses text, ``1_000`` and hex;
    NaN, inf and overflows such as ``1e999`` give None here).

    Examples
    --------
    >>> import pyarrow as pa
    >>> numbers(pa.array(["0.5", " -1e-3", ""]), allow_empty=True).tolist()
    [0.5, -0.001, nan]
    >>> numbers(pa.array(["0.5", ""]), allow_empty=False) is None
    True
    """
    try:
        trimmed = pc.utf8_trim_whitespace(text)
        empty = pc.equal(trimmed, "")
        if not allow_empty and pc.any(empty).as_py():
            return None
        out = pc.cast(pc.if_else(empty, None, trimmed), pa.float64())
        out = out.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    filled = ~empty.to_numpy(zero_copy_only=False)
    if not np.isfinite(out[filled]).all():
        return None
    return out


def alleles(text: pa.Array | pa.ChunkedArray) -> tuple[pa.Array | pa.ChunkedArray, bool]:
    """The alleles trimmed and upper-cased (``large_string``, pandas' storage), and whether
    every one is made of A, C, G, T and N only (:data:`NUCLEOTIDES_REGEX`).

    Examples
    --------
    >>> import pyarrow as pa
    >>> values, plain = alleles(pa.array([" a", "CtG"]))
    >>> values.to_pylist(), plain
    (['A', 'CTG'], True)
    """
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(text)).cast(pa.large_string())
    plain = len(upper) == 0 or bool(
        pc.all(pc.match_substring_regex(upper, NUCLEOTIDES_REGEX)).as_py()
    )
    return upper, plain
