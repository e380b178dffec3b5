"""Reading the calibration stage's per-sample inputs: score tables, ages, groups, outcomes.

Every way a user's table can be bad is a :class:`~prs.errors.CalibrationError` naming the
file, the column, the line (1 = the header line) and the value: an empty file, a header
only, missing columns, a sample ID twice or empty, a value that is not a number.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs._compat import EXACT_FLOATS
from prs.errors import CalibrationError

ScoresLike = str | os.PathLike[str] | pd.DataFrame | pd.Series | np.ndarray | Sequence[float]


@dataclass(frozen=True)
class ScoreColumn:
    """One score's values per sample, with where they came from."""

    sample_ids: np.ndarray
    values: np.ndarray
    score_id: str | None
    column: str
    source: str | None


def read_sample_table(
    path: str | os.PathLike[str],
    what: str,
    *,
    required: Sequence[str] = ("sample_id",),
    unique_ids: bool = True,
) -> pd.DataFrame:
    """Read a per-sample TSV (``sample_id`` as text) whose row labels are file line numbers.

    Blank lines are dropped but counted, so ``frame.index`` is each row's line in the file
    (the header is line 1) and errors can name it.

    Parameters
    ----------
    path
        The TSV file.
    what
        What the file holds, for messages (``"scores"``, ``"outcomes"``, ...).
    required
        Columns that must be present; ``sample_id`` must also be non-empty.
    unique_ids
        Refuse a ``sample_id`` on two lines (default; off for long tables holding several
        scores per sample, checked per score by the caller).

    Raises
    ------
    CalibrationError
        Missing or unreadable file, empty file, header only, missing columns, an empty or
        repeated ``sample_id``.
    """
    path = Path(path)
    if path.is_dir():
        raise CalibrationError(f"{path}: is a directory, expected a {what} TSV file")
    try:
        frame = pd.read_csv(
            path,
            sep="\t",
            comment=None,
            dtype={"sample_id": str},
            skip_blank_lines=False,
            **EXACT_FLOATS,
        )
    except FileNotFoundError as exc:
        raise CalibrationError(f"{path}: {what} file not found") from exc
    except pd.errors.EmptyDataError as exc:
        raise CalibrationError(
            f"{path}: {what} file is empty (expected a header line with "
            f"{', '.join(required)} and one line per sample)"
        ) from exc
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise CalibrationError(f"{path}: cannot read {what} as TSV ({exc})") from exc
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    frame = frame[frame.notna().any(axis=1)]  # blank lines (their numbers are kept)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CalibrationError(
            f"{path}: no column(s) {', '.join(map(repr, missing))} in the {what} file (found "
            f"{', '.join(map(str, frame.columns))}); it must be tab-separated with a header line"
        )
    if frame.empty:
        raise CalibrationError(f"{path}: the {what} file has a header line but no samples")
    if "sample_id" in frame.columns:
        _check_ids(frame["sample_id"], str(path), unique=unique_ids)
    return frame


def numeric_column(
    frame: pd.DataFrame,
    column: str,
    where: str,
    *,
    allow_missing: bool = False,
    lines: bool = True,
) -> np.ndarray:
    """Return ``frame[column]`` as floats; a value that is not a number is a CalibrationError
    naming its line (``frame.index``, from :func:`read_sample_table`; a row label when not
    ``lines``) and sample. Empty cells are NaN when ``allow_missing``; ``inf`` is never
    accepted."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    empty = raw.isna().to_numpy()
    bad = (np.isnan(values) & ~empty) | np.isinf(values)
    if not allow_missing:
        bad |= empty
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        label = frame.index[i]
        sample = frame["sample_id"].iloc[i] if "sample_id" in frame.columns else None
        place = f"line {label}" if lines else f"row {label}"
        value = (
            "is missing (empty or NA)"
            if empty[i]
            else f"{str(raw.iloc[i])!r} is not a finite number"
        )
        of = f" (sample {sample})" if sample is not None else ""
        raise CalibrationError(
            f"{where} {place}{of}: {column} {value}"
            + (f"; {int(bad.sum())} such values in all" if bad.sum() > 1 else "")
        )
    return values


def _check_ids(ids: pd.Series, where: str, *, unique: bool = True, unit: str = "line") -> None:
    """Sample IDs must be non-empty and unique (a merge on a repeated ID would duplicate
    people silently)."""
    empty = ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        raise CalibrationError(
            f"{where} {unit} {ids.index[int(np.flatnonzero(empty)[0])]}: empty sample_id "
            f"({int(empty.sum())} such)"
        )
    dup = ids.duplicated(keep="first").to_numpy()
    if unique and dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])
        raise CalibrationError(
            f"{where} {unit} {ids.index[i]}: sample_id {ids.iloc[i]} appears more than once "
            f"(first on {unit} {ids.index[first]}); give each sample one {unit}"
        )


def read_scores(
    scores: ScoresLike,
    *,
    score_id: str | None = None,
    column: str = "SUM",
) -> ScoreColumn:
    """Return one score's values from a ``prs score`` table, a DataFrame or a plain array.

    A table in long format (columns ``sample_id``, ``score`` and ``column``) holding several
    scores needs ``score_id``; a table holding one score uses it. A wide table (``sample_id``
    plus the value column) and plain arrays are accepted too. A file must have a
    ``sample_id`` column; a DataFrame without one uses its index.

    Raises
    ------
    CalibrationError
        Unreadable, empty or header-only file; missing columns; several scores and no
        ``score_id``; an empty or repeated sample ID; a value that is missing, not a number
        or not finite (the message names the line and the value).
    """
    source: str | None = None
    if isinstance(scores, str | os.PathLike):
        path = Path(scores)
        source = str(path)
        frame = read_sample_table(path, "scores", required=("sample_id",), unique_ids=False)
        lines = True
    elif isinstance(scores, pd.DataFrame):
        frame = scores
        source = "DataFrame"
        lines = False
    elif isinstance(scores, pd.Series):
        ids = np.asarray(scores.index.astype(str))
        values = _floats(scores.to_numpy(), "Series", column, ids)
        return _checked(ScoreColumn(ids, values, score_id, column, "Series"), "Series")
    else:
        try:
            values = np.asarray(scores, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise CalibrationError(f"scores: not an array of numbers ({exc})") from exc
        ids = np.array([str(i) for i in range(values.size)])
        return _checked(ScoreColumn(ids, values, score_id, column, "array"), "array")

    where = source or "table"
    if column not in frame.columns:
        raise CalibrationError(
            f"{where}: no column '{column}' (found {', '.join(map(str, frame.columns))}); "
            "choose the value column with column=... (--column)"
        )
    if "score" in frame.columns:
        available = pd.unique(frame["score"].astype(str))
        if score_id is None:
            if len(available) != 1:
                raise CalibrationError(
                    f"{where}: holds {len(available)} scores ({', '.join(available[:5])}); "
                    "name one with score_id=... (--score)"
                )
            score_id = str(available[0])
        elif score_id not in set(available):
            raise CalibrationError(
                f"{where}: score '{score_id}' not found (found {', '.join(available[:5])})"
            )
        frame = frame[frame["score"].astype(str) == score_id]
    if "sample_id" in frame.columns:
        id_series = frame["sample_id"]
    else:
        id_series = pd.Series(frame.index.astype(str), index=frame.index)
    if len(frame) == 0:
        raise CalibrationError(f"{where}: no score values")
    try:
        _check_ids(id_series, where, unit="line" if lines else "row")
    except CalibrationError as exc:
        raise CalibrationError(f"{exc} for score '{score_id}'") from None
    ids = id_series.astype(str).to_numpy()
    if lines:
        values = numeric_column(frame, column, where)
    else:
        values = _floats(frame[column].to_numpy(), where, column, ids)
    return _checked(ScoreColumn(np.asarray(ids), values, score_id, column, source), where)


def _floats(raw: np.ndarray, where: str, column: str, ids: np.ndarray) -> np.ndarray:
    values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & pd.notna(pd.Series(raw)).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CalibrationError(f"{where}: {column} {raw[i]!r} of sample {ids[i]} is not a number")
    return values


def _checked(col: ScoreColumn, where: str) -> ScoreColumn:
    if col.values.size == 0:
        raise CalibrationError(f"{where}: no score values")
    bad = ~np.isfinite(col.values)
    if bad.any():
        first = col.sample_ids[np.flatnonzero(bad)[0]]
        raise CalibrationError(
            f"{where}: {int(bad.sum())} of {bad.size} values of '{col.column}' are missing or not "
            f"finite (first: sample {first}); drop or re-score those samples"
        )
    return col


def read_sample_values(
    path: str | os.PathLike[str],
    column: str,
    what: str,
    *,
    numeric: bool = False,
) -> pd.Series:
    """One column of a per-sample TSV as a Series indexed by sample ID (ages, groups).

    Empty cells are missing values (NaN); with ``numeric`` any other value that is not a
    finite number is a CalibrationError naming its line.
    """
    frame = read_sample_table(path, what, required=("sample_id", column))
    if numeric:
        values: Any = numeric_column(frame, column, str(path), allow_missing=True)
    else:
        values = frame[column].to_numpy()
    return pd.Series(values, index=frame["sample_id"].astype(str).to_numpy())


def by_sample(values: Any, sample_ids: np.ndarray) -> pd.Series:
    """A mapping or Series keyed by sample ID, lined up with ``sample_ids`` (NaN where
    absent); the caller's object is left untouched."""
    series = pd.Series(values) if not isinstance(values, pd.Series) else values.copy()
    series.index = series.index.astype(str)
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()][0]
        raise CalibrationError(f"sample_id {dup} appears more than once in a per-sample input")
    return series.reindex(sample_ids)


def finite_number(value: Any, name: str) -> float:
    """``value`` as a float, or a CalibrationError naming ``name`` when it is not a finite
    number."""
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{name} must be a number, got {value!r}") from exc
    if isinstance(value, bool) or not math.isfinite(out):
        raise CalibrationError(f"{name} must be a finite number, got {value!r}")
    return out
