"""A run's output directory read back: what ``prs score``, ``categorise`` and ``evaluate`` wrote.

Files are found by name where prs names them (``provenance.json``, ``match_summary.*``,
``scores.*``) and by their header where the user names them (a categorisation table has
``category`` and ``statement_score_id``; an evaluation JSON has ``auc`` and ``or_per_sd``; a
calibration table has ``mean_predicted`` and ``observed_rate``; a PC table has ``PC1`` and
``PC2``). Only header lines are read to recognise a table, so a large match report costs
nothing here. What could not be read is said in :attr:`RunOutputs.notes`, never skipped
silently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from prs._compat import EXACT_FLOATS
from prs.errors import PRSError, ReportError

_TABLE_SUFFIXES = (".tsv", ".tsv.gz", ".tsv.zst", ".txt", ".txt.gz", ".parquet")


@dataclass(frozen=True)
class RunOutputs:
    """What a run's directory holds, read back for the report.

    Attributes
    ----------
    directory
        The run's output directory.
    provenance
        ``provenance.json`` (``prs score``), or None.
    match_summary
        One row per score (and sampleset): the outcome counts, ``n_rows``, ``match_rate``.
    match_types
        The match report's ``score``, ``outcome``, ``match_type`` and ``other_allele``
        columns (only these are read), or None.
    scores
        Long table: ``score``, ``sample_id``, ``SUM`` (and ``AVG``, ``sampleset`` where
        written), whatever layout the file had.
    categories, categories_inputs
        ``prs categorise``'s table and its ``<out>.inputs.json``, or None.
    evaluation, calibration_table
        ``prs evaluate``'s metrics JSON and calibration (decile) table, or None.
    roc_data
        ``score_value`` and the 0/1 outcome per sample of the evaluated cohort (re-joined from
        the files the metrics JSON names), or None.
    pcs, reference_pcs
        The scored samples' and the reference panel's principal components, or None.
    reference
        The reference distributions (``prs calibrate``'s JSON, else the reference panel's
        ``reference_scores`` table), :class:`~prs.calibrate.Reference` by score ID, or empty.
    files
        The file each part was read from.
    notes
        What was looked for and not found or not readable, one sentence each.
    """

    directory: Path
    provenance: Mapping[str, Any] | None = None
    match_summary: pd.DataFrame | None = None
    match_types: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    categories: pd.DataFrame | None = None
    categories_inputs: Mapping[str, Any] | None = None
    evaluation: Mapping[str, Any] | None = None
    calibration_table: pd.DataFrame | None = None
    roc_data: pd.DataFrame | None = None
    pcs: pd.DataFrame | None = None
    reference_pcs: pd.DataFrame | None = None
    reference: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, Path] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def score_ids(self) -> list[str]:
        """The scores of the run, in the match summary's (else the scores table's) order."""
        for table in (self.match_summary, self.scores):
            if table is not None and "score" in table.columns:
                return list(dict.fromkeys(table["score"].astype(str)))
        return []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read as JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ReportError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    return doc


def read_table(path: Path) -> pd.DataFrame:
    """A TSV (plain, .gz or .zst) or Parquet table, IDs as text; ReportError when unreadable."""
    try:
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(
            path,
            sep="\t",
            dtype={c: str for c in ("sample_id", "score", "sampleset", "IID", "#IID", "FID")},
            **EXACT_FLOATS,
        )
    except (OSError, ValueError, ImportError, pd.errors.ParserError) as exc:
        raise ReportError(f"{path}: cannot read as a table ({exc})") from exc


def _header(path: Path) -> list[str]:
    """A table's column names (the first line only; Parquet's schema)."""
    try:
        if path.name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        frame = pd.read_csv(path, sep="\t", nrows=0)
    except (OSError, ValueError, ImportError, pd.errors.ParserError):
        return []
    return [str(c) for c in frame.columns]


def _tables(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.name.endswith(_TABLE_SUFFIXES)
    )


def _named(directory: Path, stem: str) -> Path | None:
    """``<stem>.tsv`` (or another table suffix) in ``directory``."""
    for suffix in _TABLE_SUFFIXES:
        path = directory / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def _resolve(name: str | None, directory: Path) -> Path | None:
    """A path a JSON recorded: as written (absolute or from the working directory), else
    the same name in ``directory`` (a run directory moved or read from elsewhere)."""
    if not name:
        return None
    path = Path(name)
    for candidate in (path, directory / path, directory / path.name):
        if candidate.is_file():
            return candidate
    return None


def _long_scores(path: Path, score_ids: list[str]) -> pd.DataFrame:
    """The scores table in long form (score, sample_id, SUM[, AVG, sampleset])."""
    frame = read_table(path)
    if {"sample_id", "score", "SUM"} <= set(frame.columns):
        return frame
    from prs.calibrate import read_scores

    parts = []
    for score_id in score_ids:
        try:
            col = read_scores(path, score_id=score_id, column="SUM")
        except PRSError as exc:
            raise ReportError(f"{path}: cannot read score {score_id} ({exc})") from exc
        parts.append(
            pd.DataFrame({"score": score_id, "sample_id": col.sample_ids, "SUM": col.values})
        )
    if not parts:
        raise ReportError(f"{path}: not a prs scores table and no score IDs to read from it")
    return pd.concat(parts, ignore_index=True)


def read_run(
    directory: str | os.PathLike[str],
    *,
    categories: str | os.PathLike[str] | None = None,
    evaluation: str | os.PathLike[str] | None = None,
    calibration_table: str | os.PathLike[str] | None = None,
    pcs: str | os.PathLike[str] | None = None,
    reference_pcs: str | os.PathLike[str] | None = None,
    reference: str | os.PathLike[str] | None = None,
) -> RunOutputs:
    """Read what a run wrote into ``directory`` (and the optional files named).

    Parameters
    ----------
    directory
        The run's output directory (``prs score --out``; ``prs demo --out``).
    categories, evaluation, calibration_table, pcs, reference_pcs, reference
        Files outside ``directory`` (or to pick one of several inside): ``prs categorise``'s
        table, ``prs evaluate``'s metrics JSON and ``--table``, the samples' PCs (``prs
        reference project``), the reference panel's PCs (with a population column), and
        ``prs calibrate``'s reference JSON. Found in ``directory`` by their headers when
        not given.

    Returns
    -------
    RunOutputs

    Raises
    ------
    ReportError
        ``directory`` missing or holding none of a run's files; a named file unreadable.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ReportError(f"{root}: not a directory (give a run's output directory)")
    files: dict[str, Path] = {}
    notes: list[str] = []
    parts: dict[str, Any] = {}

    prov_path = root / "provenance.json"
    if prov_path.is_file():
        parts["provenance"] = _read_json(prov_path)
        files["provenance"] = prov_path
    else:
        notes.append("no provenance.json: inputs and options of the scoring run are not shown")
    summary_path = _named(root, "match_summary")
    if summary_path is not None:
        parts["match_summary"] = read_table(summary_path)
        files["match_summary"] = summary_path
    else:
        notes.append("no match_summary table: match outcomes are not shown")
    headers = {path: _header(path) for path in _tables(root)}
    report_path = _named(root, "match_report")
    if report_path is not None:
        parts["match_types"] = _match_types(report_path, headers.get(report_path, []))
        files["match_report"] = report_path
    scores_path = _scores_path(root, parts.get("provenance"))
    if scores_path is not None:
        ids = (
            []
            if summary_path is None
            else list(dict.fromkeys(parts["match_summary"]["score"].astype(str)))
        )
        parts["scores"] = _long_scores(scores_path, ids)
        files["scores"] = scores_path
    else:
        notes.append("no scores table: score distributions are not shown")

    _find_categories(root, categories, headers, parts, files, notes)
    _find_evaluation(root, evaluation, calibration_table, headers, parts, files, notes)
    _find_pcs(root, pcs, reference_pcs, headers, parts, files, notes)
    _find_reference(root, reference, parts, files, notes)
    if not files:
        raise ReportError(
            f"{root}: none of a run's files (provenance.json, match_summary, scores, a "
            "categorisation or evaluation): give the directory prs score/demo wrote"
        )
    return RunOutputs(directory=root, files=files, notes=tuple(notes), **parts)


def _match_types(path: Path, header: list[str]) -> pd.DataFrame | None:
    """The match report's columns the report counts (not the whole table)."""
    wanted = [c for c in ("score", "outcome", "match_type", "other_allele") if c in header]
    if len(wanted) < 4 and not path.name.endswith(".parquet"):
        return None
    try:
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path, columns=["score", "outcome", "match_type", "other_allele"])
        return pd.read_csv(path, sep="\t", usecols=wanted, dtype=str, keep_default_na=False)
    except (OSError, ValueError, ImportError, pd.errors.ParserError) as exc:
        raise ReportError(f"{path}: cannot read the match report ({exc})") from exc


def _scores_path(root: Path, provenance: Mapping[str, Any] | None) -> Path | None:
    recorded = ((provenance or {}).get("outputs") or {}).get("scores")
    if recorded:
        path = _resolve(recorded, root)
        if path is not None and path.parent.resolve() == root.resolve():
            return path
    return _named(root, "scores")


def _find_categories(
    root: Path,
    given: str | os.PathLike[str] | None,
    headers: Mapping[Path, list[str]],
    parts: dict[str, Any],
    files: dict[str, Path],
    notes: list[str],
) -> None:
    path = (
        Path(given)
        if given is not None
        else next(
            (p for p, h in headers.items() if {"category", "statement_score_id"} <= set(h)), None
        )
    )
    if path is None:
        notes.append(
            "no categorisation table (prs categorise): categories and pathway actions are not shown"
        )
        return
    parts["categories"] = read_table(path)
    files["categories"] = path
    inputs = path.with_name(path.name.split(".")[0] + ".inputs.json")
    if inputs.is_file():
        parts["categories_inputs"] = _read_json(inputs)
        files["categories_inputs"] = inputs


def _find_evaluation(
    root: Path,
    given: str | os.PathLike[str] | None,
    given_table: str | os.PathLike[str] | None,
    headers: Mapping[Path, list[str]],
    parts: dict[str, Any],
    files: dict[str, Path],
    notes: list[str],
) -> None:
    path = Path(given) if given is not None else None
    if path is None:
        for candidate in sorted(root.glob("*.json")):
            if candidate.name in ("provenance.json",) or candidate.name.endswith(".inputs.json"):
                continue
            try:
                doc = _read_json(candidate)
            except ReportError:
                continue
            if "auc" in doc and "or_per_sd" in doc:
                path = candidate
                break
    table = (
        Path(given_table)
        if given_table is not None
        else next(
            (p for p, h in headers.items() if {"mean_predicted", "observed_rate"} <= set(h)), None
        )
    )
    if path is None and table is None:
        notes.append(
            "no evaluation (prs evaluate): calibration plots and the ROC curve are not shown"
        )
        return
    if table is not None:
        parts["calibration_table"] = read_table(table)
        files["calibration_table"] = table
    if path is None:
        return
    doc = _read_json(path)
    parts["evaluation"] = doc
    files["evaluation"] = path
    inputs = doc.get("inputs") or {}
    scores, outcomes = _resolve(inputs.get("scores"), root), _resolve(inputs.get("outcomes"), root)
    if scores is None or outcomes is None:
        notes.append(
            f"ROC curve not drawn: the evaluated scores ({inputs.get('scores')}) or outcomes "
            f"({inputs.get('outcomes')}) file named in {path.name} was not found"
        )
        return
    from prs.calibrate import join_evaluation_tables

    try:
        joined = join_evaluation_tables(
            scores,
            outcomes,
            score_id=inputs.get("score_id"),
            column=inputs.get("column") or "SUM",
            outcome_column=inputs.get("outcome_column") or "outcome",
        )
    except PRSError as exc:
        notes.append(f"ROC curve not drawn: {exc}")
        return
    outcome_column = inputs.get("outcome_column") or "outcome"
    parts["roc_data"] = joined.cohort[["sample_id", "score_value", outcome_column]].rename(
        columns={outcome_column: "outcome"}
    )
    files["outcomes"] = outcomes


def _find_pcs(
    root: Path,
    given: str | os.PathLike[str] | None,
    given_reference: str | os.PathLike[str] | None,
    headers: Mapping[Path, list[str]],
    parts: dict[str, Any],
    files: dict[str, Path],
    notes: list[str],
) -> None:
    with_pcs = [p for p, h in headers.items() if {"PC1", "PC2"} <= set(h)]
    # prs demo's ancestry.tsv (PCs and the most similar population) first
    with_pcs.sort(key=lambda p: not p.name.startswith("ancestry"))
    path = Path(given) if given is not None else next(iter(with_pcs), None)
    if path is None:
        notes.append("no principal components (prs reference project): no ancestry PCA plot")
        return
    parts["pcs"] = read_table(path)
    files["pcs"] = path
    if given_reference is not None:
        parts["reference_pcs"] = read_table(Path(given_reference))
        files["reference_pcs"] = Path(given_reference)


def _reference_scores(root: Path, parts: dict[str, Any], files: dict[str, Path]) -> None:
    """Each score's reference from the reference panel's scores table, when there is one."""
    path = _named(root, "reference_scores")
    if path is None:
        return
    from prs.calibrate import build_reference

    table = _long_scores(path, [])
    refs = {}
    for score_id, rows in table.groupby(table["score"].astype(str), sort=False):
        try:
            refs[score_id] = build_reference(
                rows["SUM"].to_numpy(dtype=float), score_id=score_id, check=False
            )
        except PRSError as exc:
            raise ReportError(f"{path}: score {score_id}: {exc}") from exc
    parts["reference"] = refs
    files["reference"] = path


def _find_reference(
    root: Path,
    given: str | os.PathLike[str] | None,
    parts: dict[str, Any],
    files: dict[str, Path],
    notes: list[str],
) -> None:
    """The reference distribution: given, else the file the categorisation recorded, else
    the reference panel's scores ``prs demo`` writes (``reference_scores.tsv``)."""
    inputs = parts.get("categories_inputs") or {}
    path = Path(given) if given is not None else _resolve(inputs.get("reference"), root)
    if path is None:
        _reference_scores(root, parts, files)
        return
    from prs.calibrate.reference import load_references

    try:
        refs = load_references(path)
    except PRSError as exc:
        if given is not None:
            raise ReportError(f"{path}: cannot read the reference ({exc})") from exc
        notes.append(f"reference {path} not read ({exc}): distributions drawn without it")
        return
    parts["reference"] = {
        (ref.score_id or str(key)): ref
        for key, ref in refs.items()
        if ref.group is None or len(refs) == 1
    }
    files["reference"] = path
