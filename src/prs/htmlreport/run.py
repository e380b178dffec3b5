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
        The match report's ``score``, ``outcome``, ``match_type``, ``other_allele`` (and
        ``n_scores``) columns (only these are read), or None.
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
    from prs.calibrate._inputs import read_scores

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
    reader = _Reader(root, {path: _header(path) for path in _tables(root)})
    reader.scoring_run()
    reader.categories(categories)
    reader.evaluation(evaluation, calibration_table)
    reader.pcs(pcs, reference_pcs)
    reader.reference(reference)
    if not reader.files:
        raise ReportError(
            f"{root}: none of a run's files (provenance.json, match_summary, scores, a "
            "categorisation or evaluation): give the directory prs score/demo wrote"
        )
    return RunOutputs(directory=root, files=reader.files, notes=tuple(reader.notes), **reader.parts)


def _match_types(path: Path, header: list[str]) -> pd.DataFrame | None:
    """The match report's columns the report counts (not the whole table): ``score``,
    ``outcome``, ``match_type``, ``other_allele`` and ``n_scores`` where written."""
    needed = ["score", "outcome", "match_type", "other_allele"]
    wanted = [c for c in needed if c in header]
    if len(wanted) < 4 and not path.name.endswith(".parquet"):
        return None
    if "n_scores" in header:
        wanted.append("n_scores")
    try:
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path, columns=wanted if len(wanted) > 4 else needed)
        frame = pd.read_csv(path, sep="\t", usecols=wanted, dtype=str, keep_default_na=False)
        if "n_scores" in frame.columns:
            frame["n_scores"] = pd.to_numeric(frame["n_scores"], errors="coerce")
        return frame
    except (OSError, ValueError, ImportError, pd.errors.ParserError) as exc:
        raise ReportError(f"{path}: cannot read the match report ({exc})") from exc


@dataclass
class _Reader:
    """What :func:`read_run` has found so far: the parts of :class:`RunOutputs`, the file
    each came from and the notes on what is missing."""

    root: Path
    #: Column names of each table in the directory (first lines only).
    headers: Mapping[Path, list[str]]
    parts: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, part: str, value: Any, path: Path, file_key: str | None = None) -> None:
        self.parts[part] = value
        self.files[file_key or part] = path

    def with_columns(self, given: str | os.PathLike[str] | None, *columns: str) -> Path | None:
        """``given``, else the first table of the directory having ``columns``."""
        if given is not None:
            return Path(given)
        return next((p for p, h in self.headers.items() if set(columns) <= set(h)), None)

    def scoring_run(self) -> None:
        """``prs score``'s files: provenance, match summary and report, scores."""
        root = self.root
        if (root / "provenance.json").is_file():
            self.add("provenance", _read_json(root / "provenance.json"), root / "provenance.json")
        else:
            self.notes.append(
                "no provenance.json: inputs and options of the scoring run are not shown"
            )
        ids: list[str] = []
        summary = _named(root, "match_summary")
        if summary is not None:
            self.add("match_summary", read_table(summary), summary)
            ids = list(dict.fromkeys(self.parts["match_summary"]["score"].astype(str)))
        else:
            self.notes.append("no match_summary table: match outcomes are not shown")
        report = _named(root, "match_report")
        if report is not None:
            types = _match_types(report, list(self.headers.get(report, [])))
            self.add("match_types", types, report, "match_report")
        scores = _scores_path(root, self.parts.get("provenance"))
        if scores is not None:
            self.add("scores", _long_scores(scores, ids), scores)
        else:
            self.notes.append("no scores table: score distributions are not shown")

    def categories(self, given: str | os.PathLike[str] | None) -> None:
        """``prs categorise``'s table and its ``<name>.inputs.json``."""
        path = self.with_columns(given, "category", "statement_score_id")
        if path is None:
            self.notes.append(
                "no categorisation table (prs categorise): categories and pathway actions are "
                "not shown"
            )
            return
        self.add("categories", read_table(path), path)
        inputs = path.with_name(path.name.split(".")[0] + ".inputs.json")
        if inputs.is_file():
            self.add("categories_inputs", _read_json(inputs), inputs)

    def evaluation(
        self,
        given: str | os.PathLike[str] | None,
        given_table: str | os.PathLike[str] | None,
    ) -> None:
        """``prs evaluate``'s metrics JSON and calibration table; the cohort for the ROC."""
        path = Path(given) if given is not None else _metrics_json(self.root)
        table = self.with_columns(given_table, "mean_predicted", "observed_rate")
        if path is None and table is None:
            self.notes.append(
                "no evaluation (prs evaluate): calibration plots and the ROC curve are not shown"
            )
            return
        if table is not None:
            self.add("calibration_table", read_table(table), table)
        if path is not None:
            doc = _read_json(path)
            self.add("evaluation", doc, path)
            self.roc_cohort(doc.get("inputs") or {}, path)

    def roc_cohort(self, inputs: Mapping[str, Any], metrics: Path) -> None:
        """Each evaluated person's score and outcome, re-joined from the files the metrics
        JSON names (a note when they are gone)."""
        scores = _resolve(inputs.get("scores"), self.root)
        outcomes = _resolve(inputs.get("outcomes"), self.root)
        if scores is None or outcomes is None:
            self.notes.append(
                f"ROC curve not drawn: the evaluated scores ({inputs.get('scores')}) or "
                f"outcomes ({inputs.get('outcomes')}) file named in {metrics.name} was not found"
            )
            return
        from prs.calibrate import join_evaluation_tables

        outcome_column = inputs.get("outcome_column") or "outcome"
        try:
            joined = join_evaluation_tables(
                scores,
                outcomes,
                score_id=inputs.get("score_id"),
                column=inputs.get("column") or "SUM",
                outcome_column=outcome_column,
            )
        except PRSError as exc:
            self.notes.append(f"ROC curve not drawn: {exc}")
            return
        cohort = joined.cohort[["sample_id", "score_value", outcome_column]]
        self.add(
            "roc_data", cohort.rename(columns={outcome_column: "outcome"}), outcomes, "outcomes"
        )

    def pcs(
        self,
        given: str | os.PathLike[str] | None,
        given_reference: str | os.PathLike[str] | None,
    ) -> None:
        """The samples' PCs (``ancestry.tsv`` of ``prs demo`` first) and the panel's."""
        with_pcs = [p for p, h in self.headers.items() if {"PC1", "PC2"} <= set(h)]
        with_pcs.sort(key=lambda p: not p.name.startswith("ancestry"))
        path = Path(given) if given is not None else next(iter(with_pcs), None)
        if path is None:
            self.notes.append(
                "no principal components (prs reference project): no ancestry PCA plot"
            )
            return
        self.add("pcs", read_table(path), path)
        if given_reference is not None:
            self.add("reference_pcs", read_table(Path(given_reference)), Path(given_reference))

    def reference(self, given: str | os.PathLike[str] | None) -> None:
        """The reference distribution: given, else the file the categorisation recorded,
        else the reference panel's scores ``prs demo`` writes (``reference_scores.tsv``)."""
        inputs = self.parts.get("categories_inputs") or {}
        path = Path(given) if given is not None else _resolve(inputs.get("reference"), self.root)
        if path is None:
            self.reference_scores()
            return
        from prs.calibrate.reference import load_references

        try:
            refs = load_references(path)
        except PRSError as exc:
            if given is not None:
                raise ReportError(f"{path}: cannot read the reference ({exc})") from exc
            self.notes.append(f"reference {path} not read ({exc}): distributions drawn without it")
            return
        by_score = {
            (ref.score_id or str(key)): ref
            for key, ref in refs.items()
            if ref.group is None or len(refs) == 1
        }
        self.add("reference", by_score, path)

    def reference_scores(self) -> None:
        """Each score's reference from the reference panel's scores table, if there is one."""
        path = _named(self.root, "reference_scores")
        if path is None:
            return
        from prs.calibrate import build_reference

        table = _long_scores(path, [])
        refs = {}
        for score_id, rows in table.groupby(table["score"].astype(str), sort=False):
            try:
                values = rows["SUM"].to_numpy(dtype=float)
                refs[score_id] = build_reference(values, score_id=score_id, check=False)
            except PRSError as exc:
                raise ReportError(f"{path}: score {score_id}: {exc}") from exc
        self.add("reference", refs, path)


def _metrics_json(root: Path) -> Path | None:
    """A JSON of the directory holding ``prs evaluate``'s metrics (``auc``, ``or_per_sd``)."""
    for candidate in sorted(root.glob("*.json")):
        if candidate.name == "provenance.json" or candidate.name.endswith(".inputs.json"):
            continue
        try:
            doc = _read_json(candidate)
        except ReportError:
            continue
        if "auc" in doc and "or_per_sd" in doc:
            return candidate
    return None


#: The score tables ``prs score`` writes (its ``--layout``s), as provenance names them, in
#: the order the report reads them: the long table, PLINK 2's, pgsc_calc's.
_SCORE_TABLES = (
    ("scores", ("scores.tsv", "scores.tsv.gz", "scores.tsv.zst", "scores.parquet")),
    ("sscore", ("scores.sscore", "scores.sscore.gz", "scores.sscore.zst")),
    (
        "aggregated_scores",
        ("aggregated_scores.txt", "aggregated_scores.txt.gz", "aggregated_scores.txt.zst"),
    ),
)


def _scores_path(root: Path, provenance: Mapping[str, Any] | None) -> Path | None:
    """The run's score table: the one provenance names (in this directory), else by name."""
    outputs = (provenance or {}).get("outputs") or {}
    for key, names in _SCORE_TABLES:
        path = _resolve(outputs.get(key), root)
        if path is not None and path.parent.resolve() == root.resolve():
            return path
        for name in names:
            if (root / name).is_file():
                return root / name
    return None
