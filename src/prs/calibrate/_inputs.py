"""Reading the calibration stage's per-sample inputs: score tables, ages, groups, outcomes.

Every way a user's table can be bad is a :class:`~prs.errors.CalibrationError` naming the
file, the column, the line (1 = the header line) and the value: an empty file, a header
only, missing columns, a sample ID twice or empty, a value that is not a number.

Score tables are read by :func:`read_scores` in any of four layouts (see
:data:`TABLE_LAYOUTS`): ``prs score``'s long ``scores.tsv``, a wide table (``sample_id`` and
one column per score), PLINK 2's ``.sscore`` and pgsc_calc's ``aggregated_scores.txt``
(``.gz``/``.zst`` compressed too). The sample ID is ``sample_id`` or, in the PLINK 2 and
pgsc_calc tables, ``IID`` (as pgsc_calc keys samples by sampleset and IID); it is never a
row number.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs._compat import EXACT_FLOATS
from prs.errors import CalibrationError

ScoresLike = str | os.PathLike[str] | pd.DataFrame | pd.Series | np.ndarray | Sequence[float]


def comment_header(lines: Sequence[str], *, keep_empty: bool = False) -> tuple[dict[str, str], int]:
    """The ``# key: value`` lines (and blank lines) at the top of a user's table.

    Returns the pairs (keys stripped and lower-case, values stripped) and the index of the
    first other line (the table's header). A ``# key:`` with nothing after the colon is kept
    as ``""`` when ``keep_empty`` (rate tables), dropped otherwise; a ``#`` line without a
    colon is a plain comment. The one reader of this header, for rate tables and risk
    factors.

    >>> comment_header(["# name: SEER", "# note", "", "age,rate", "50,0.1"])
    ({'name': 'SEER'}, 3)
    >>> comment_header(["# Source: x", "# default: ", "age,rate"], keep_empty=True)
    ({'source': 'x', 'default': ''}, 2)
    >>> comment_header(["# Source: x", "# default: ", "age,rate"])
    ({'source': 'x'}, 2)
    """
    meta: dict[str, str] = {}
    first = 0
    while first < len(lines) and (lines[first].startswith("#") or not lines[first].strip()):
        key, _, value = lines[first][1:].partition(":")
        if value.strip() or (keep_empty and value):
            meta[key.strip().lower()] = value.strip()
        first += 1
    return meta, first


def shipped_names(directory: Path, suffix: str) -> list[str]:
    """The names of the shipped data files ending in ``suffix`` in ``directory``, sorted."""
    return sorted(p.name[: -len(suffix)] for p in directory.iterdir() if p.name.endswith(suffix))


def shipped_or_path(
    spec: str | os.PathLike[str], directory: Path, suffix: str, *, what: str, instead: str
) -> tuple[Path, bool]:
    """A shipped data file by name, or the user's path; the one lookup for rate tables,
    schemes and pathways.

    ``spec`` without a suffix that is not an existing file is a shipped name:
    ``directory/<spec><suffix>``. Returns the path and whether it is a shipped file.

    Raises
    ------
    CalibrationError
        An unknown shipped name, naming the shipped ones and ``instead`` (what else to give).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("b-1.csv", "a.csv", "notes.md"):
    ...     _ = (folder / name).write_text("")
    >>> shipped_or_path("a", folder, ".csv", what="rate table", instead="a CSV path")[1]
    True
    >>> shipped_or_path("a.csv", folder, ".csv", what="rate table", instead="a CSV path")[1]
    False
    >>> shipped_or_path("nope", folder, ".csv", what="rate table", instead="a CSV path")
    Traceback (most recent call last):
    ...
    prs.errors.CalibrationError: no shipped rate table 'nope' (shipped: a, b-1); or give a CSV path
    """
    text = os.fspath(spec)
    path = Path(text)
    if path.suffix or path.exists():
        return path, False
    shipped = directory / f"{text}{suffix}"
    if not shipped.is_file():
        names = ", ".join(shipped_names(directory, suffix))
        raise CalibrationError(f"no shipped {what} '{text}' (shipped: {names}); or give {instead}")
    return shipped, True


@dataclass(frozen=True)
class ScoreColumn:
    """One score's values per sample, with where they came from."""

    sample_ids: np.ndarray
    values: np.ndarray
    score_id: str | None
    column: str
    source: str | None
    #: The table's layout, a key of :data:`TABLE_LAYOUTS` (``"values"`` for arrays/Series).
    layout: str = "values"
    #: The header of the column the values were read from (``PGS001229_SUM`` in a ``.sscore``).
    value_column: str | None = None
    #: pgsc_calc's sampleset the rows were taken from, or None.
    sampleset: str | None = None
    #: The score's reported trait, from the table's ``trait_reported`` column (``prs score``
    #: writes it from the scoring file's header), or None when the table does not say.
    trait_reported: str | None = None
    #: The trait's ontology IDs (EFO/MONDO/HP) from ``trait_efo`` (``|``-joined), or ().
    trait_efo: tuple[str, ...] = ()
    #: The scoring file's ``weight_type`` from the ``weight_type`` column, or None.
    weight_type: str | None = None
    #: The score's development ancestry from the ``development_ancestry`` column, or None.
    development_ancestry: str | None = None

    def table_info(self) -> dict[str, Any]:
        """Which table layout, score, sampleset and column the values came from (for
        provenance and ``*.inputs.json``)."""
        return {
            "layout": self.layout,
            "layout_description": TABLE_LAYOUTS.get(self.layout, self.layout),
            "score_id": self.score_id,
            "sampleset": self.sampleset,
            "column": self.value_column or self.column,
            "n": int(self.values.size),
            "trait_reported": self.trait_reported,
            "trait_efo": list(self.trait_efo),
            "weight_type": self.weight_type,
            "development_ancestry": self.development_ancestry,
        }

    def describe(self) -> str:
        """One line for a command's summary: layout, score, sampleset, column."""
        parts = [TABLE_LAYOUTS.get(self.layout, self.layout)]
        if self.score_id is not None:
            parts.append(f"score {self.score_id}")
        if self.sampleset is not None:
            parts.append(f"sampleset {self.sampleset}")
        parts.append(f"column {self.value_column or self.column}")
        return ", ".join(parts)


#: Layouts :func:`read_scores` recognises, with the name said in outputs.
TABLE_LAYOUTS: dict[str, str] = {
    "prs-long": "prs score long table (sample_id, score, SUM, AVG, ...)",
    "prs-wide": "wide table (sample_id and value column(s))",
    "plink2-sscore": "PLINK 2 .sscore (IID, <score>_AVG/_SUM)",
    "pgsc_calc": "pgsc_calc aggregated_scores (sampleset, IID, PGS, SUM, DENOM, AVG)",
    "values": "plain values",
}

#: Text columns of the layouts (read as text: '007' stays '007').
#: Per-score trait columns of ``prs score``'s table (never values, never a score column).
TRAIT_COLUMNS = ("trait_reported", "trait_efo", "weight_type", "development_ancestry")
_TEXT_COLUMNS = (
    "sample_id", "score", "#FID", "#IID", "FID", "IID", "SID", "sampleset", "PGS",
    *TRAIT_COLUMNS,
)  # fmt: skip
#: PLINK 2 .sscore columns that end like a score column but are not one.
_SSCORE_NOT_SCORES = frozenset({"NAMED_ALLELE_DOSAGE_SUM"})
_SSCORE_VALUE = re.compile(r"(.+)_(AVG|SUM)")


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
            dtype={name: str for name in _TEXT_COLUMNS},
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
    except ImportError as exc:  # .zst without the zstandard module
        raise CalibrationError(
            f"{path}: cannot decompress the {what} file ({exc}); install the missing module "
            "or decompress it first"
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
    """Return one score's values from a score table, a DataFrame or a plain array.

    The table's layout is recognised from its header (the result's ``layout`` says which):

    ``plink2-sscore``
        PLINK 2 ``--score`` output: first column ``#FID`` or ``#IID``, then optional
        ``SID``, ``PHENO1``, ``SEX``, ``ALLELE_CT``, ``DENOM``, ``NAMED_ALLELE_DOSAGE_SUM``
        and ``<score>_AVG`` / ``<score>_SUM`` per score (``SCORE1_AVG`` ... when the scoring
        file had no names). ``column`` (``SUM``/``AVG``) picks ``<score>_<column>``; an
        exact header (``PGS001229_SUM``) is accepted too.
    ``pgsc_calc``
        pgsc_calc's ``aggregated_scores.txt(.gz)``: ``sampleset``, ``IID`` (``FID`` in older
        versions), ``PGS``, ``SUM``, ``DENOM``, ``AVG``, one row per sample and score. A
        table with several samplesets needs ``score_id="<sampleset>:<PGS>"``.
    ``prs-long``
        ``prs score``'s ``scores.tsv``: ``sample_id``, ``score`` and the value ``column``.
    ``prs-wide``
        ``sample_id`` and either the value ``column`` (one score, ``score_id`` is then only
        its label) or one column per score (``score_id`` names the column).

    The sample ID is ``sample_id``, or ``IID`` in the PLINK 2 and pgsc_calc layouts (FID
    is not part of it: pgsc_calc keys samples by sampleset and IID); an IID repeated under
    different FIDs is refused. A DataFrame without an ID column uses its index; plain
    arrays are numbered 0, 1, ...

    Raises
    ------
    CalibrationError
        Unreadable, empty or header-only file; a layout that is none of the above (the
        message lists the columns found); a table of several scores (or samplesets) and no
        ``score_id``; a ``score_id`` or ``column`` that is not in the table (the message
        lists what is); an empty or repeated sample ID; a value that is missing, not a
        number or not finite (the message names the line and the value).
    """
    if isinstance(scores, pd.Series):
        return _series_column(scores, score_id, column)
    if not isinstance(scores, str | os.PathLike | pd.DataFrame):
        return _array_column(scores, score_id, column)
    frame, source, lines = _score_table(scores)
    where = source or "table"
    layout = _layout(frame, where, index_ids=not lines)
    picker = {
        "plink2-sscore": _pick_sscore,
        "pgsc_calc": _pick_pgsc_calc,
        "prs-long": _pick_long,
        "prs-wide": _pick_wide,
    }[layout]
    rows, id_column, value_column, score_id, sampleset = picker(frame, where, score_id, column)
    frame = frame[rows] if rows is not None else frame
    if len(frame) == 0:
        raise CalibrationError(f"{where}: no score values")
    label = f" for score '{score_id}'" + (f" in sampleset '{sampleset}'" if sampleset else "")
    ids, values = _picked_values(frame, id_column, value_column, where, lines, label)
    trait_reported, trait_efo, weight_type, ancestry = _trait_fields(frame, where, score_id)
    col = ScoreColumn(
        np.asarray(ids), values, score_id, column, source, layout, value_column, sampleset,
        trait_reported, trait_efo, weight_type, ancestry,
    )  # fmt: skip
    return _checked(col, where)


def _series_column(scores: pd.Series, score_id: str | None, column: str) -> ScoreColumn:
    """A Series of scores indexed by sample ID."""
    ids = np.asarray(scores.index.astype(str))
    values = _floats(scores.to_numpy(), "Series", column, ids)
    return _checked(ScoreColumn(ids, values, score_id, column, "Series"), "Series")


def _array_column(scores: Any, score_id: str | None, column: str) -> ScoreColumn:
    """Plain numbers: samples numbered 0, 1, ..."""
    try:
        values = np.asarray(scores, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"scores: not an array of numbers ({exc})") from exc
    ids = np.array([str(i) for i in range(values.size)])
    return _checked(ScoreColumn(ids, values, score_id, column, "array"), "array")


def _score_table(scores: str | os.PathLike[str] | pd.DataFrame) -> tuple[pd.DataFrame, str, bool]:
    """The score table, its source for messages and whether its rows are file lines."""
    if isinstance(scores, pd.DataFrame):
        frame = scores
        if "sample_id" not in frame.columns and frame.index.name == "sample_id":
            frame = frame.reset_index()  # ScoreResult.to_wide()
        return frame, "DataFrame", False
    path = Path(scores)
    return read_sample_table(path, "scores", required=(), unique_ids=False), str(path), True


def _picked_values(
    frame: pd.DataFrame,
    id_column: str | None,
    value_column: str,
    where: str,
    lines: bool,
    label: str,
) -> tuple[np.ndarray, np.ndarray]:
    """The picked rows' sample IDs (checked: non-empty, once) and values (numbers)."""
    if id_column is None:
        id_series = pd.Series(frame.index.astype(str), index=frame.index)
    else:
        id_series = frame[id_column]
    try:
        _check_ids(id_series, where, unit="line" if lines else "row")
    except CalibrationError as exc:
        raise CalibrationError(f"{exc}{label}{_fid_hint(frame, id_column)}") from None
    ids = id_series.astype(str).to_numpy()
    sub = pd.DataFrame({"sample_id": ids, value_column: frame[value_column]}, index=frame.index)
    if lines:
        values = numeric_column(sub, value_column, where)
    else:
        values = _floats(sub[value_column].to_numpy(), where, value_column, ids)
    return ids, values


def _trait_fields(
    frame: pd.DataFrame, where: str, score_id: str | None
) -> tuple[str | None, tuple[str, ...], str | None, str | None]:
    """The chosen score's trait fields from the rows read (``prs score`` repeats them on
    every row of a score); None/() where the table has no such column or leaves it empty."""
    found: dict[str, str | None] = {}
    for name in TRAIT_COLUMNS:
        if name not in frame.columns:
            found[name] = None
            continue
        raw = frame[name]
        present = raw[raw.notna()].astype(str).str.strip()
        distinct = list(pd.unique(present[present != ""]))
        if len(distinct) > 1:
            raise CalibrationError(
                f"{where}: score '{score_id}' has {len(distinct)} different {name} values "
                f"({_listing(distinct, 5)}); one score has one trait: the table is a mix of "
                "runs or was edited"
            )
        found[name] = str(distinct[0]) if distinct else None
    efo = found["trait_efo"]
    ids = tuple(x.strip() for x in efo.split("|") if x.strip()) if efo else ()
    return found["trait_reported"], ids, found["weight_type"], found["development_ancestry"]


_Pick = tuple[pd.Series | None, str | None, str, str | None, str | None]


def _layout(frame: pd.DataFrame, where: str, *, index_ids: bool) -> str:
    """Which of :data:`TABLE_LAYOUTS` a table is, from its column names."""
    cols = [str(c) for c in frame.columns]
    has_iid = "#IID" in cols or "IID" in cols
    if cols and cols[0] in ("#FID", "#IID"):
        return "plink2-sscore"
    if has_iid and "PGS" in cols:
        return "pgsc_calc"
    if has_iid and _sscore_columns(cols):
        return "plink2-sscore"  # a .sscore whose '#' was stripped
    if "sample_id" in cols:
        return "prs-long" if "score" in cols else "prs-wide"
    if index_ids:
        return "prs-wide"  # a DataFrame's index holds the IDs the caller chose
    raise CalibrationError(
        f"{where}: unknown score table layout: no column(s) 'sample_id' (nor IID) "
        f"(columns: {', '.join(cols)}); expected a "
        "tab-separated table with a header: 'prs score' scores.tsv (sample_id, score, SUM, "
        "...), a wide table (sample_id and one column per score), a PLINK 2 .sscore (#FID or "
        "#IID, <score>_AVG/_SUM) or pgsc_calc aggregated_scores (sampleset, IID, PGS, SUM, "
        "AVG)"
    )


def _sscore_columns(cols: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{score: {"AVG": header, "SUM": header}}`` of a PLINK 2 .sscore header."""
    out: dict[str, dict[str, str]] = {}
    for name in cols:
        match = _SSCORE_VALUE.fullmatch(name)
        if match and name not in _SSCORE_NOT_SCORES:
            out.setdefault(match[1], {})[match[2]] = name
    return out


def _near(score_id: str, available: Sequence[str]) -> str:
    """' (did you mean X?)' when one available name extends ``score_id`` (PGS000018 for
    PGS000018_hmPOS_GRCh37); never used to pick the score."""
    close = [str(a) for a in available if str(a).startswith(f"{score_id}_")]
    return f" (did you mean {close[0]}?)" if len(close) == 1 else ""


def _listing(names: Sequence[str], limit: int = 30) -> str:
    names = [str(n) for n in names]
    more = f", ... ({len(names)} in all)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _pick_sscore(frame: pd.DataFrame, where: str, score_id: str | None, column: str) -> _Pick:
    cols = [str(c) for c in frame.columns]
    by_score = _sscore_columns(cols)
    if not by_score:
        raise CalibrationError(
            f"{where}: PLINK 2 .sscore without score columns (columns: {', '.join(cols)}); "
            "expected <score>_AVG or <score>_SUM"
        )
    exact = next((s for s, kinds in by_score.items() if column in kinds.values()), None)
    if exact is not None:  # column given as a header, e.g. PGS001229_SUM
        if score_id is not None and score_id != exact:
            raise CalibrationError(
                f"{where}: column {column} belongs to score '{exact}', not '{score_id}'"
            )
        score_id = exact
        value_column = column
    else:
        if score_id is None:
            if len(by_score) != 1:
                raise CalibrationError(
                    f"{where}: PLINK 2 .sscore holds {len(by_score)} scores "
                    f"({_listing(list(by_score))}); name one with score_id=... (--score)"
                )
            score_id = next(iter(by_score))
        elif score_id not in by_score:
            raise CalibrationError(
                f"{where}: score '{score_id}' not found; the PLINK 2 .sscore holds "
                f"{_listing(list(by_score))}"
                f"{_near(score_id, list(by_score))}"
            )
        kinds = by_score[score_id]
        if column.upper() not in kinds:
            found = ", ".join(kinds.values())
            hint = (
                " (PLINK 2 writes sums only with cols=+scoresums: use --column AVG)"
                if column.upper() == "SUM"
                else ""
            )
            raise CalibrationError(
                f"{where}: no column {score_id}_{column} for score '{score_id}' (found "
                f"{found}){hint}; choose with column=... (--column SUM or AVG)"
            )
        value_column = kinds[column.upper()]
    id_column = "#IID" if "#IID" in cols else "IID"
    return None, id_column, value_column, score_id, None


def _pick_pgsc_calc(frame: pd.DataFrame, where: str, score_id: str | None, column: str) -> _Pick:
    cols = [str(c) for c in frame.columns]
    if column not in cols:
        raise CalibrationError(
            f"{where}: no column '{column}' in the pgsc_calc table (found {', '.join(cols)}); "
            "choose with column=... (--column SUM or AVG)"
        )
    pgs = frame["PGS"].astype(str)
    available = list(pd.unique(pgs))
    sets = frame["sampleset"].astype(str) if "sampleset" in cols else None
    sampleset: str | None = None
    if score_id is None:
        if len(available) != 1:
            raise CalibrationError(
                f"{where}: pgsc_calc table holds {len(available)} scores "
                f"({_listing(available)}); name one with score_id=... (--score)"
            )
        score_id = available[0]
    elif score_id not in available:
        prefix, _, rest = score_id.partition(":")
        if sets is not None and rest in available and prefix in set(sets):
            sampleset, score_id = prefix, rest
        else:
            in_sets = (
                f" in samplesets {_listing(list(pd.unique(sets)))}" if sets is not None else ""
            )
            raise CalibrationError(
                f"{where}: score '{score_id}' not found; the pgsc_calc table holds "
                f"{_listing(available)}{in_sets}{_near(score_id, available)}"
            )
    rows = pgs == score_id
    if sets is not None:
        if sampleset is None:
            present = pd.unique(sets[rows])
            if len(present) > 1:
                counts = sets[rows].value_counts()
                listed = ", ".join(f"{s} (n={int(counts[s])})" for s in present)
                raise CalibrationError(
                    f"{where}: score '{score_id}' has samples in {len(present)} samplesets "
                    f"({listed}); name one with score_id='<sampleset>:{score_id}' "
                    f"(--score {present[0]}:{score_id})"
                )
            sampleset = str(present[0])
        else:
            rows = rows & (sets == sampleset)
    return rows, "IID", column, score_id, sampleset


def _pick_long(frame: pd.DataFrame, where: str, score_id: str | None, column: str) -> _Pick:
    if column not in frame.columns:
        raise CalibrationError(
            f"{where}: no column '{column}' (found {', '.join(map(str, frame.columns))}); "
            "choose the value column with column=... (--column)"
        )
    available = list(pd.unique(frame["score"].astype(str)))
    if score_id is None:
        if len(available) != 1:
            raise CalibrationError(
                f"{where}: holds {len(available)} scores ({_listing(available)}); "
                "name one with score_id=... (--score)"
            )
        score_id = available[0]
    elif score_id not in set(available):
        raise CalibrationError(
            f"{where}: score '{score_id}' not found (found {_listing(available)})"
            f"{_near(score_id, available)}"
        )
    rows = frame["score"].astype(str) == score_id
    return rows, "sample_id" if "sample_id" in frame.columns else None, column, score_id, None


def _pick_wide(frame: pd.DataFrame, where: str, score_id: str | None, column: str) -> _Pick:
    id_column = "sample_id" if "sample_id" in frame.columns else None
    if column in frame.columns:
        # one value column: score_id, when given, can only be its label
        return None, id_column, column, score_id, None
    others = [str(c) for c in frame.columns if c != "sample_id" and c not in TRAIT_COLUMNS]
    if score_id is not None and score_id in others:
        return None, id_column, score_id, score_id, None
    if score_id is None and len(others) == 1:
        return None, id_column, others[0], others[0], None
    if score_id is None:
        what = f"no column '{column}' and {len(others)} columns ({_listing(others)})"
        ask = "name the score column with score_id=... (--score) or column=... (--column)"
    else:
        what = f"score '{score_id}' not found (columns: {_listing(others)})"
        ask = "name one of them with score_id=... (--score)"
    raise CalibrationError(f"{where}: wide table with {what}; {ask}")


def _fid_hint(frame: pd.DataFrame, id_column: str | None) -> str:
    """Why a repeated IID is refused when the table also has FIDs."""
    fid = next((c for c in ("#FID", "FID") if c in frame.columns), None)
    if fid is None or id_column not in ("IID", "#IID"):
        return ""
    return (
        f" (the table's {fid} column is not part of the sample ID: prs uses IID, as "
        "pgsc_calc does; give each sample a distinct IID)"
    )


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


def read_id_list(path: str | os.PathLike[str]) -> list[str]:
    """Sample IDs, the first word of each line (``#`` lines and blank lines skipped), e.g.
    ``prs calibrate --exclude`` (samples left out of the PC adjustment)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CalibrationError(f"{path}: sample ID list not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read the sample ID list ({exc})") from exc
    return [line.split()[0] for line in text.splitlines() if line.strip() and line[0] != "#"]
