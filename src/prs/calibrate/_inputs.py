"""Reading the scoring stage's output: one score column per sample, from a path or a table."""

from __future__ import annotations

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


def read_scores(
    scores: ScoresLike,
    *,
    score_id: str | None = None,
    column: str = "SUM",
) -> ScoreColumn:
    """Return one score's values from a ``prs score`` table, a DataFrame or a plain array.

    A table in long format (columns ``sample_id``, ``score`` and ``column``) holding several
    scores needs ``score_id``; a table holding one score uses it. A wide table (``sample_id``
    plus the value column) and plain arrays are accepted too.
    """
    source: str | None = None
    if isinstance(scores, str | os.PathLike):
        path = Path(scores)
        source = str(path)
        if not path.exists():
            raise CalibrationError(f"{path}: scores file not found")
        try:
            frame = pd.read_csv(
                path,
                sep="\t",
                comment=None,
                dtype={"sample_id": str},
                **EXACT_FLOATS,
            )
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise CalibrationError(f"{path}: cannot read as a TSV scores table ({exc})") from exc
    elif isinstance(scores, pd.DataFrame):
        frame = scores
        source = "DataFrame"
    elif isinstance(scores, pd.Series):
        values = scores.to_numpy(dtype=float)
        ids = np.asarray(scores.index.astype(str))
        return _checked(ScoreColumn(ids, values, score_id, column, "Series"), "Series")
    else:
        values = np.asarray(scores, dtype=float).ravel()
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
        ids = frame["sample_id"].astype(str).to_numpy()
    else:
        ids = frame.index.astype(str).to_numpy()
    if len(set(ids)) != len(ids):
        raise CalibrationError(f"{where}: sample_id is not unique for score '{score_id}'")
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    return _checked(ScoreColumn(np.asarray(ids), values, score_id, column, source), where)


def _checked(col: ScoreColumn, where: str) -> ScoreColumn:
    bad = ~np.isfinite(col.values)
    if bad.any():
        first = col.sample_ids[np.flatnonzero(bad)[0]]
        raise CalibrationError(
            f"{where}: {int(bad.sum())} of {bad.size} values of '{col.column}' are missing or not "
            f"finite (first: sample {first}); drop or re-score those samples"
        )
    if col.values.size == 0:
        raise CalibrationError(f"{where}: no score values")
    return col


def by_sample(values: Any, sample_ids: np.ndarray) -> pd.Series:
    """A mapping or Series keyed by sample ID, lined up with ``sample_ids`` (NaN where
    absent); the caller's object is left untouched."""
    series = pd.Series(values) if not isinstance(values, pd.Series) else values.copy()
    series.index = series.index.astype(str)
    return series.reindex(sample_ids)
