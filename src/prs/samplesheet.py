"""Sample sheets: many samplesets scored in one run, each its own cohort.

A sample sheet is a CSV (or TSV) table naming *samplesets* (cohorts) and their genotype files.
Two layouts are read:

pgsc_calc's (v2), unchanged
    ``sampleset,path_prefix,chrom,format`` with ``format`` one of ``pfile``, ``bfile``,
    ``vcf``, ``bcf`` and ``path_prefix`` the path without extensions (``pfile``:
    ``<prefix>.pgen/.pvar(.zst)/.psam``; ``bfile``: ``<prefix>.bed/.bim/.fam``; ``vcf``:
    ``<prefix>.vcf.gz``, else ``<prefix>.vcf``; ``bcf``: ``<prefix>.bcf``). One row per file:
    a sampleset split by chromosome has one row per chromosome, each with its ``chrom``.
    The optional ``vcf_genotype_field`` (``GT``/``DS``) picks the VCF field of that sampleset.
prs's
    ``sampleset,path,format`` and optionally ``sex``, ``chrom``, ``dosage``: ``path`` is one
    file or several separated by ``;`` (e.g. one per chromosome), ``format`` a word of
    :data:`prs.vocab.GENOTYPE_FORMATS` (``pfile``/``bfile`` are read as ``plink``),
    ``sex`` a ``.psam``, ``.fam`` or TSV as :func:`prs.score`'s ``sex=`` takes, ``dosage``
    ``GT``, ``DS`` or ``GP``. ``sex`` may also be given in pgsc_calc's layout.

Relative paths are relative to the sheet's directory (as pgsc_calc resolves them). The sheet
is checked whole before anything is scored, and every refusal names the sheet, the line and
the column (:func:`read_samplesheet` lists the rules).

Each sampleset is scored by its own :func:`prs.score` run (:func:`score_samplesheet`): a
sample ID present in two samplesets is two people of two cohorts, never pooled, and missing
calls are imputed from the sampleset's own frequencies (as pgsc_calc, which scores each
sampleset separately). :func:`write_samplesheet_outputs` writes each sampleset's files (those
of ``prs score``) into ``<out>/<sampleset>/`` and the combined tables into ``<out>``, all
published together or not at all.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from prs.errors import PRSError, ScoreError
from prs.genome import normalize_chrom
from prs.genotypes.plink import missing_files, plink_fileset
from prs.output import ReportOutputs, output_set
from prs.provenance import file_checksum, record
from prs.report import ScoreFileOptions, new_directories, removed_if_failed, write_score_files
from prs.scoring import ScoreResult, score
from prs.vocab import DOSAGE_FIELDS, GENOTYPE_FORMATS

__all__ = [
    "SampleSet",
    "SampleSheet",
    "SampleSheetResult",
    "read_samplesheet",
    "score_samplesets",
    "score_samplesheet",
    "write_samplesheet_outputs",
]

#: The layouts a sheet may take, told from its header (``path_prefix`` or ``path``).
LAYOUTS = ("pgsc_calc", "prs")

#: Columns of each layout: (required, optional).
_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pgsc_calc": (("sampleset", "path_prefix", "chrom", "format"), ("vcf_genotype_field", "sex")),
    "prs": (("sampleset", "path", "format"), ("sex", "chrom", "dosage")),
}

#: pgsc_calc's format words and the prs format each is read as.
PGSC_CALC_FORMATS = {"pfile": "plink", "bfile": "plink", "vcf": "vcf", "bcf": "vcf"}

#: The files a pgsc_calc ``path_prefix`` names, per format, in order of preference (the first
#: that exists is read; pgsc_calc also tries ``.vcf.zst``, which prs cannot read).
_PREFIX_SUFFIXES = {
    "pfile": (".pgen",),
    "bfile": (".bed",),
    "vcf": (".vcf.gz", ".vcf.bgz", ".vcf"),
    "bcf": (".bcf",),
}

#: Chromosomes a ``chrom`` cell may name (after :func:`prs.genome.normalize_chrom`).
_CHROMOSOMES = frozenset([str(i) for i in range(1, 23)] + ["X", "Y", "XY", "MT"])

#: A sampleset name: letters, digits and ``-``, starting with a letter or digit. pgsc_calc
#: forbids ``_`` and ``.`` (it splits its file names on them) and spaces; prs uses the name
#: as a directory name and a column value, so ``/`` and a leading ``.`` are out too.
_SAMPLESET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
#: Sampleset names pgsc_calc reserves (its ancestry reference panel).
_RESERVED_NAMES = frozenset({"reference"})

#: Separator of several files in prs's ``path`` cell.
PATH_SEPARATOR = ";"


@dataclass(frozen=True)
class SampleSet:
    """One sampleset of a sheet: its genotype files and what its rows say about them.

    Attributes
    ----------
    name
        The sampleset's name (a directory name of the outputs, and their ``sampleset``).
    paths
        Its genotype files, absolute, in sheet order (for PLINK the ``.pgen``/``.bed``).
    genotype_format
        The prs format word (:data:`prs.vocab.GENOTYPE_FORMATS`) the files are read as.
    sheet_format
        The format word as the sheet wrote it (``pfile``, ``bfile``, ``vcf``, ...).
    chroms
        Each file's ``chrom`` (None: the file holds several chromosomes).
    sex
        Its sex file (absolute), or None.
    dosage
        The genotype field its rows name (``GT``/``DS``/``GP``), or None (the run's).
    lines
        The sheet lines of its rows.
    """

    name: str
    paths: tuple[Path, ...]
    genotype_format: str
    sheet_format: str
    chroms: tuple[str | None, ...]
    sex: Path | None = None
    dosage: str | None = None
    lines: tuple[int, ...] = ()

    def score_options(self) -> dict[str, Any]:
        """The :func:`prs.score` options this sampleset's rows set (``genotype_format``,
        and ``sex``/``dosage`` where given)."""
        options: dict[str, Any] = {"genotype_format": self.genotype_format}
        if self.sex is not None:
            options["sex"] = self.sex
        if self.dosage is not None:
            options["dosage"] = self.dosage
        return options


@dataclass(frozen=True)
class SampleSheet:
    """A checked sample sheet (:func:`read_samplesheet`).

    Attributes
    ----------
    path
        The sheet, absolute.
    sha256
        Its checksum.
    layout
        ``"pgsc_calc"`` or ``"prs"`` (:data:`LAYOUTS`).
    samplesets
        Its samplesets, in order of first appearance.
    rows
        Every data row as written (column -> cell, plus ``line``).
    """

    path: Path
    sha256: str
    layout: str
    samplesets: tuple[SampleSet, ...]
    rows: tuple[dict[str, str], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The samplesets' names, in sheet order."""
        return tuple(s.name for s in self.samplesets)

    def provenance(self) -> dict[str, Any]:
        """The sheet in a provenance record: path, checksum, layout and rows."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "layout": self.layout,
            "rows": [dict(r) for r in self.rows],
        }


@dataclass(frozen=True)
class SampleSheetResult:
    """Each sampleset's :class:`~prs.scoring.ScoreResult`, in sheet order.

    Attributes
    ----------
    sheet
        The sample sheet.
    results
        Sampleset name -> its result (its provenance holds the sheet, under
        ``"samplesheet"``).
    provenance
        The run's record: options, the sheet, the samplesets.
    """

    sheet: SampleSheet
    results: Mapping[str, ScoreResult]
    provenance: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ScoreResult:
        return self.results[name]

    def to_frame(self) -> pd.DataFrame:
        """Every sampleset's scores in one long table: ``sampleset`` then the columns of
        :meth:`ScoreResult.to_frame` (a sample is keyed by sampleset and ID, as pgsc_calc's
        aggregated scores)."""
        return _labelled({n: r.to_frame() for n, r in self.results.items()})

    def match_summary(self) -> pd.DataFrame:
        """Every sampleset's match summary (one row per score): ``sampleset`` then the
        columns of ``match_summary.tsv``."""
        return _labelled({n: r.match_report.counts.reset_index() for n, r in self.results.items()})


def _labelled(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The frames one under another, each led by a ``sampleset`` column of its name."""
    parts = [f.assign(sampleset=name)[["sampleset", *f.columns]] for name, f in frames.items()]
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Reading and checking a sheet


class _Refusal:
    """Raises the errors of one sheet, each naming the sheet, the line and the column."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(
        self, message: str, line: int | None = None, column: str | None = None
    ) -> NoReturn:
        where = str(self.path)
        if line is not None:
            where += f" line {line}"
        if column is not None:
            where += f", column {column}"
        raise ScoreError(f"{where}: {message}")


def _read_rows(path: Path, refuse: _Refusal) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (lower-cased) and each data row with its line; comma- or tab-separated
    (told from the header line), blank lines skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # (a spreadsheet's byte-order mark)
    except FileNotFoundError:
        refuse("no such sample sheet")
    except (OSError, UnicodeDecodeError) as exc:
        refuse(f"cannot read the sample sheet ({getattr(exc, 'strerror', None) or exc})")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first else ","
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip().lower() for c in cells]
                continue
            rows.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        refuse(f"not a readable CSV/TSV table ({exc})", reader.line_num)
    if header is None:
        refuse("the sample sheet is empty (expected a header line and one row per file)")
    return header or [], rows


def _layout(header: list[str], refuse: _Refusal) -> str:
    """The layout the header names; refuses a header of neither, or with unknown or
    repeated columns."""
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        refuse(f"column {repeated[0]!r} appears twice in the header", 1)
    if {"vcf_path", "bfile_path", "pfile_path"} & set(header):
        refuse(
            "pgsc_calc's layout before v2 (vcf_path, bfile_path, pfile_path) is not read: write "
            "it as sampleset,path_prefix,chrom,format (pgsc_calc v2) or sampleset,path,format",
            1,
        )
    if "file_format" in header or "genotyping_method" in header:
        refuse(
            "pgsc_calc v3's layout (file_format, genotyping_method, bgen_sample_file) is not "
            "read yet: write it as sampleset,path,format (prs's layout, docs/samplesheets.md)",
            1,
        )
    if "path_prefix" in header and "path" in header:
        refuse("give either path_prefix (pgsc_calc's layout) or path (prs's), not both", 1)
    layout = "pgsc_calc" if "path_prefix" in header else "prs"
    required, optional = _COLUMNS[layout]
    missing = [c for c in required if c not in header]
    if missing:
        refuse(
            f"the header lacks {', '.join(missing)} (expected pgsc_calc's "
            f"{','.join(_COLUMNS['pgsc_calc'][0])} or prs's {','.join(_COLUMNS['prs'][0])}"
            f"[,{','.join(_COLUMNS['prs'][1])}])",
            1,
        )
    unknown = [c for c in header if c not in required + optional]
    if unknown:
        refuse(
            f"unknown column {unknown[0]!r} (a {layout} sheet has "
            f"{', '.join(required + optional)})",
            1,
        )
    return layout


def _resolve(cell: str, base: Path) -> Path:
    """A sheet's path: ``~`` expanded, relative paths from the sheet's directory."""
    # (normalised, not resolved: a symbolic link stays the path the sheet gave)
    return Path(os.path.normpath(base / os.path.expanduser(cell)))


def _prefix_file(prefix: Path, sheet_format: str) -> Path | None:
    """The genotype file a pgsc_calc ``path_prefix`` names for its format, or None."""
    for suffix in _PREFIX_SUFFIXES[sheet_format]:
        candidate = Path(f"{prefix}{suffix}")
        if candidate.exists():
            return candidate
    return None


def _plink_kind(path: Path, word: str) -> Path:
    """A fileset prefix given as ``pgen``/``bed``: its ``.pgen``/``.bed`` (a prefix alone
    names the pgen fileset when both exist)."""
    if word in ("pgen", "bed") and not path.exists():
        return Path(f"{path}.{word}")
    return path


def _check_files(path: Path, genotype_format: str) -> str | None:
    """What is missing of the genotype file ``path`` (None: nothing)."""
    if genotype_format in ("plink", "pgen", "bed") or (
        genotype_format == "auto" and not path.exists()
    ):
        fileset = plink_fileset(path)
        if fileset is None:
            return "no such file" if genotype_format == "auto" else "not a PLINK fileset"
        missing = missing_files(fileset)
        return f"{', '.join(missing)} missing" if missing else None
    return None if path.exists() else "no such file"


@dataclass
class _Row:
    line: int
    sampleset: str
    paths: list[Path]
    sheet_format: str
    genotype_format: str
    chrom: str | None
    sex: Path | None
    dosage: str | None


def _parse_row(line: int, cells: dict[str, str], layout: str, base: Path, refuse: _Refusal) -> _Row:
    """One data row, checked: name, format, files, chrom, sex, dosage."""
    name = cells["sampleset"]
    if not name:
        refuse("the sampleset name is empty", line, "sampleset")
    if not _SAMPLESET_NAME.match(name):
        refuse(
            f"sampleset name {name!r}: use letters, digits and '-' only (pgsc_calc forbids "
            "spaces, '_' and '.'; prs names a directory after it)",
            line,
            "sampleset",
        )
    if name.lower() in _RESERVED_NAMES:
        refuse(
            f"sampleset name {name!r} is reserved (pgsc_calc's ancestry reference panel)",
            line,
            "sampleset",
        )
    fmt = cells["format"].lower()
    if layout == "pgsc_calc":
        if fmt not in PGSC_CALC_FORMATS:
            refuse(
                f"unknown format {cells['format']!r} (pgsc_calc's layout: "
                f"{', '.join(PGSC_CALC_FORMATS)})",
                line,
                "format",
            )
        genotype_format = PGSC_CALC_FORMATS[fmt]
        prefix_cell = cells["path_prefix"]
        if not prefix_cell:
            refuse("the path prefix is empty", line, "path_prefix")
        prefix = _resolve(prefix_cell, base)
        found = _prefix_file(prefix, fmt)
        if found is None:
            tried = ", ".join(f"{prefix}{s}" for s in _PREFIX_SUFFIXES[fmt])
            refuse(
                f"no {fmt} file for path prefix {prefix_cell!r} (looked for {tried}; the "
                "prefix is the path without extensions)",
                line,
                "path_prefix",
            )
        paths = [found]
        path_column = "path_prefix"
    else:
        word = {"pfile": "pgen", "bfile": "bed"}.get(fmt, fmt)
        if word not in GENOTYPE_FORMATS:
            refuse(
                f"unknown format {cells['format']!r} (one of "
                f"{', '.join(GENOTYPE_FORMATS)}; pgsc_calc's pfile and bfile read as plink)",
                line,
                "format",
            )
        genotype_format = word
        parts = [p.strip() for p in cells["path"].split(PATH_SEPARATOR)]
        if not any(parts):
            refuse("no genotype file given", line, "path")
        if not all(parts):
            refuse(f"an empty file name in {cells['path']!r}", line, "path")
        paths = [_plink_kind(_resolve(p, base), word) for p in parts]
        path_column = "path"
    for path in paths:
        problem = _check_files(path, genotype_format)
        if problem is not None:
            refuse(f"{path}: {problem}", line, path_column)
    chrom = None
    if cells.get("chrom"):
        chrom = normalize_chrom(cells["chrom"])
        if chrom not in _CHROMOSOMES:
            refuse(
                f"chromosome {cells['chrom']!r} is not one of 1-22, X, Y, XY, MT (leave it "
                "empty for a file of several chromosomes)",
                line,
                "chrom",
            )
    sex = None
    if cells.get("sex"):
        sex = _resolve(cells["sex"], base)
        if not sex.is_file():
            refuse(f"{sex}: no such sex file", line, "sex")
    dosage_column = "vcf_genotype_field" if layout == "pgsc_calc" else "dosage"
    dosage = cells.get(dosage_column) or None
    if dosage is not None:
        allowed = ("GT", "DS") if layout == "pgsc_calc" else DOSAGE_FIELDS
        if dosage.upper() not in allowed:
            refuse(f"{dosage!r} is not one of {', '.join(allowed)}", line, dosage_column)
        dosage = dosage.upper()
    return _Row(line, name, paths, fmt, genotype_format, chrom, sex, dosage)


def _sampleset(name: str, rows: list[_Row], layout: str, refuse: _Refusal) -> SampleSet:
    """One sampleset from its rows: one format, one sex file, one genotype field; one row
    per chromosome when several (as pgsc_calc), no file twice."""
    first = rows[0]
    for row in rows[1:]:
        if row.sheet_format != first.sheet_format:
            refuse(
                f"sampleset {name!r} is {first.sheet_format} on line {first.line} but "
                f"{row.sheet_format} here (one sampleset, one format)",
                row.line,
                "format",
            )
    if len(rows) > 1:
        for row in rows:
            if row.chrom is None:
                lines = ", ".join(str(r.line) for r in rows)
                hint = (
                    f"; list several files in one row separated by '{PATH_SEPARATOR}'"
                    if layout == "prs"
                    else ""
                )
                refuse(
                    f"sampleset {name!r} has {len(rows)} rows (lines {lines}): each needs its "
                    f"chromosome, and an empty chrom (a file of several chromosomes) is "
                    f"allowed only as the sampleset's one row (as pgsc_calc){hint}",
                    row.line,
                    "chrom",
                )
        seen: dict[str, int] = {}
        for row in rows:
            assert row.chrom is not None
            if row.chrom in seen:
                refuse(
                    f"chromosome {row.chrom} of sampleset {name!r} is also on line "
                    f"{seen[row.chrom]}",
                    row.line,
                    "chrom",
                )
            seen[row.chrom] = row.line
    files: dict[Path, int] = {}
    for row in rows:
        for path in row.paths:
            key = Path(os.path.realpath(path))
            if key in files:
                refuse(
                    f"{path} is listed twice for sampleset {name!r} (also line {files[key]})",
                    row.line,
                    "path_prefix" if layout == "pgsc_calc" else "path",
                )
            files[key] = row.line
    sex = _one_value(name, rows, "sex", refuse)
    dosage = _one_value(
        name, rows, "vcf_genotype_field" if layout == "pgsc_calc" else "dosage", refuse
    )
    return SampleSet(
        name=name,
        paths=tuple(p for r in rows for p in r.paths),
        genotype_format=first.genotype_format,
        sheet_format=first.sheet_format,
        chroms=tuple(r.chrom for r in rows for _ in r.paths),
        sex=sex,
        dosage=dosage,
        lines=tuple(r.line for r in rows),
    )


def _one_value(name: str, rows: list[_Row], column: str, refuse: _Refusal) -> Any:
    """The one value of ``column`` across a sampleset's rows (empty cells say nothing)."""
    attr = "sex" if column == "sex" else "dosage"
    given = [(r.line, getattr(r, attr)) for r in rows if getattr(r, attr) is not None]
    for line, value in given[1:]:
        if value != given[0][1]:
            refuse(
                f"sampleset {name!r} has {given[0][1]} on line {given[0][0]} but {value} "
                "here (one value per sampleset)",
                line,
                column,
            )
    return given[0][1] if given else None


def read_samplesheet(path: str | os.PathLike[str]) -> SampleSheet:
    """Read and check a sample sheet (pgsc_calc's layout or prs's, CSV or TSV).

    Parameters
    ----------
    path
        The sheet. Comma-separated, or tab-separated when its header line holds a tab.

    Returns
    -------
    SampleSheet
        Its samplesets in order of first appearance, their files resolved and checked.

    Raises
    ------
    ScoreError
        Naming the sheet, the line and the column, when: the header is neither layout
        (or has an unknown or repeated column); a sampleset name is empty, holds other
        than letters, digits and ``-``, or is ``reference`` (pgsc_calc's rules; two names
        may not differ only in case: they would share a directory on some filesystems);
        a format is unknown; a genotype file, a PLINK companion or a sex file is missing;
        a ``chrom`` is not 1-22, X, Y, XY or MT; a sampleset's rows disagree on format,
        sex or genotype field, repeat a chromosome or a file, or mix a row without
        ``chrom`` with others (pgsc_calc: one row per chromosome, or one row); the sheet has
        no rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from prs.example import example_paths
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> vcf = example_paths().vcf
    >>> _ = (d / "sheet.csv").write_text(f"sampleset,path,format\\ndemo,{vcf},vcf\\n")
    >>> sheet = read_samplesheet(d / "sheet.csv")
    >>> sheet.layout, sheet.names, sheet.samplesets[0].genotype_format
    ('prs', ('demo',), 'vcf')
    """
    sheet_path = Path(os.path.abspath(path))
    refuse = _Refusal(Path(path))
    header, raw_rows = _read_rows(sheet_path, refuse)
    layout = _layout(header, refuse)
    if not raw_rows:
        refuse("the sample sheet has a header but no rows")
    base = sheet_path.parent
    rows: list[dict[str, str]] = []
    parsed: dict[str, list[_Row]] = {}
    for line, cells in raw_rows:
        if len(cells) != len(header):
            refuse(f"{len(cells)} cells where the header has {len(header)} columns", line)
        named = dict(zip(header, cells, strict=True))
        rows.append({"line": str(line), **named})
        row = _parse_row(line, named, layout, base, refuse)
        parsed.setdefault(row.sampleset, []).append(row)
    folded: dict[str, str] = {}
    for name, group in parsed.items():
        other = folded.setdefault(name.lower(), name)
        if other != name:
            refuse(
                f"sampleset names {other!r} and {name!r} differ only in case (their output "
                "directories would be one on some filesystems)",
                group[0].line,
                "sampleset",
            )
    samplesets = tuple(_sampleset(n, g, layout, refuse) for n, g in parsed.items())
    return SampleSheet(
        path=sheet_path,
        sha256=file_checksum(sheet_path),
        layout=layout,
        samplesets=samplesets,
        rows=tuple(rows),
    )


# --------------------------------------------------------------------------------------------
# Scoring


def _sheet_of(sheet: SampleSheet | str | os.PathLike[str]) -> SampleSheet:
    return sheet if isinstance(sheet, SampleSheet) else read_samplesheet(sheet)


def _plain(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options as a provenance can hold them (paths as text; objects by their type)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif isinstance(value, (list, tuple)):
            value = [os.fspath(v) if isinstance(v, os.PathLike) else v for v in value]
        elif value is not None and not isinstance(value, (str, int, float, bool, dict)):
            value = type(value).__name__
        out[key] = value
    return out


def score_samplesets(
    sheet: SampleSheet | str | os.PathLike[str],
    score_one: Callable[[SampleSet, dict[str, Any]], ScoreResult],
    *,
    sex: object = None,
    options: Mapping[str, Any] | None = None,
) -> SampleSheetResult:
    """Score each sampleset of ``sheet`` with ``score_one``, in sheet order.

    The loop :func:`score_samplesheet` and the command line share: ``score_one(sampleset,
    overrides)`` runs one scoring (``overrides``: :meth:`SampleSet.score_options`, the
    options the sheet sets for it) and returns its result, whose provenance then gains the
    sheet (``"samplesheet"``: path, checksum, layout, rows, and this sampleset's name).

    Parameters
    ----------
    sheet
        A :class:`SampleSheet` or the path of one.
    score_one
        Scores one sampleset.
    sex
        The run's own sex input, if any: refused when the sheet also gives a sampleset a sex
        file (which of the two holds is not for prs to guess).
    options
        The run's options, for the run's provenance.

    Raises
    ------
    PRSError
        Of the class ``score_one`` raised, its message led by the sampleset's name and
        lines; ScoreError for a sex file given twice.
    """
    sheet = _sheet_of(sheet)
    if sex is not None:
        both = [s for s in sheet.samplesets if s.sex is not None]
        if both:
            raise ScoreError(
                f"{sheet.path} line {both[0].lines[0]}, column sex: sampleset "
                f"{both[0].name!r} has a sex file in the sheet and the run was given one "
                f"too ({sex}); give it in one place"
            )
    results: dict[str, ScoreResult] = {}
    for sampleset in sheet.samplesets:
        try:
            result = score_one(sampleset, sampleset.score_options())
        except PRSError as exc:
            lines = ", ".join(str(n) for n in sampleset.lines)
            where = f"{sheet.path} line{'s' if len(sampleset.lines) > 1 else ''} {lines}"
            try:
                labelled = type(exc)(f"sampleset {sampleset.name!r} ({where}): {exc}")
            except TypeError:  # an error class of other arguments: raised as it came
                raise exc from None
            raise labelled from exc
        provenance = {
            **result.provenance,
            "samplesheet": {**sheet.provenance(), "sampleset": sampleset.name},
        }
        results[sampleset.name] = dataclasses.replace(result, provenance=provenance)
    run = record(
        _plain(options or {}),
        samplesheet=sheet.provenance(),
        samplesets={
            name: {"samples": len(r.samples), "scores": list(r.score_ids)}
            for name, r in results.items()
        },
    )
    return SampleSheetResult(sheet=sheet, results=results, provenance=run)


def score_samplesheet(
    sheet: SampleSheet | str | os.PathLike[str],
    scorefiles: Any,
    **score_options: Any,
) -> SampleSheetResult:
    """Score every sampleset of a sample sheet, each as its own cohort.

    Parameters
    ----------
    sheet
        A sample sheet's path (pgsc_calc's layout or prs's, :func:`read_samplesheet`) or a
        :class:`SampleSheet`.
    scorefiles
        As :func:`prs.score` takes them; every sampleset is scored with all of them.
    **score_options
        Options of :func:`prs.score` for every sampleset. The sheet's ``format`` sets
        ``genotype_format`` (so it is not an option here), its ``sex`` (may not also be
        given here) and ``vcf_genotype_field``/``dosage`` set ``sex`` and ``dosage`` of
        their sampleset.

    Returns
    -------
    SampleSheetResult
        Per sampleset, in sheet order, what :func:`prs.score` returns for its files alone:
        a sample ID in two samplesets is scored in each, never pooled, and ``missing=
        "mean-impute"`` imputes from each sampleset's own calls (as pgsc_calc).

    Raises
    ------
    ScoreError
        A sheet refused by :func:`read_samplesheet`; ``genotype_format`` given; ``sex``
        given here and in the sheet.
    PRSError
        What :func:`prs.score` raises for a sampleset, its message led by the sampleset's
        name and sheet lines. Nothing is scored past it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from prs.example import example_paths
    >>> paths = example_paths()
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "sheet.csv").write_text(
    ...     f"sampleset,path,format\\nfirst,{paths.vcf},vcf\\nsecond,{paths.vcf},vcf\\n"
    ... )
    >>> result = score_samplesheet(d / "sheet.csv", paths.scorefile)
    >>> list(result.results), result.to_frame().shape[0]
    (['first', 'second'], 400)
    """
    if "genotype_format" in score_options:
        raise ScoreError(
            "genotype_format is given by the sample sheet's format column, per sampleset"
        )
    given_sex = score_options.get("sex")

    def score_one(sampleset: SampleSet, overrides: dict[str, Any]) -> ScoreResult:
        return score(list(sampleset.paths), scorefiles, **{**score_options, **overrides})

    return score_samplesets(sheet, score_one, sex=given_sex, options=score_options)


# --------------------------------------------------------------------------------------------
# Writing


def write_samplesheet_outputs(
    result: SampleSheetResult,
    out: str | os.PathLike[str],
    table_format: str = "tsv",
    options: ScoreFileOptions | None = None,
) -> dict[str, Path]:
    """Write every sampleset's outputs and the combined tables, all together or none.

    ``<out>/<sampleset>/`` gets what ``prs score`` writes (``scores``, ``match_report``,
    ``match_summary``, ``provenance.json``, the sheet in the provenance); ``<out>`` gets
    ``scores`` (every sampleset's, led by a ``sampleset`` column), ``match_summary`` (every
    sampleset's, likewise) and ``provenance.json`` (the run: options, sheet, samplesets).

    Every directory is written as one staged set (:func:`prs.output.output_set`), and all
    sets are staged before any is published: a failure while writing any of them (a full
    disk, an unwritable directory, an interrupt) discards them all, and leaves no directory
    this run created. Then each sampleset's directory is published, ``<out>`` last: a
    ``<out>/provenance.json`` says the whole run is in place. A sampleset directory of an
    earlier run into ``<out>`` that this sheet does not name is left as it was.

    Parameters
    ----------
    result
        From :func:`score_samplesheet`.
    out
        The output directory.
    table_format
        ``"tsv"`` (default) or ``"parquet"``.
    options
        Score layouts, compression, FID/IID split and digits
        (:class:`prs.report.ScoreFileOptions`), for every sampleset's directory (each with
        its own name as the ``pgsc`` layout's sampleset) and the combined tables: ``scores``
        (long layout) and ``aggregated_scores.txt`` (pgsc layout: every sampleset's rows,
        as pgsc_calc aggregates them).

    Returns
    -------
    dict
        The combined files (``scores``, ``match_summary``, ``provenance``) and each
        sampleset's as ``<sampleset>/scores`` etc.

    Raises
    ------
    ReportError
        When a file cannot be written (nothing is then published).
    """
    options = options or ScoreFileOptions()
    for sampleset_result in result.results.values():
        options.check(sampleset_result)  # (an unsplittable sample ID: before anything)
    with samplesheet_outputs(out, list(result.results)) as outputs:
        return outputs.write(result, table_format, options)


class SampleSheetOutputs:
    """The output sets of a sample-sheet run, open (staged) while it scores: ``<out>``
    (:attr:`combined`) and each sampleset's directory (:attr:`sets`). Made by
    :func:`samplesheet_outputs`; a sampleset's match report can be written while it is
    scored (:meth:`report_writer`), the rest by :meth:`write` once every sampleset is."""

    def __init__(self, out: Path, combined: ReportOutputs, sets: dict[str, ReportOutputs]) -> None:
        self.out = out
        self.combined = combined
        self.sets = sets
        #: Match reports already written, by sampleset (:meth:`report_writer`).
        self.reports: dict[str, Path] = {}

    def report_writer(
        self, name: str, table_format: str = "tsv", options: ScoreFileOptions | None = None
    ) -> Callable[[Iterator[pd.DataFrame]], None]:
        """A ``prs.score(match_report_rows=...)`` writer of sampleset ``name``'s match
        report into its directory, as the rows come (never held whole)."""
        ext = (options or ScoreFileOptions()).table_ext(table_format)
        outs = self.sets[name]

        def write(rows: Iterator[pd.DataFrame]) -> None:
            self.reports[name] = outs.write_table_pieces(rows, f"match_report{ext}")

        return write

    def write(
        self,
        result: SampleSheetResult,
        table_format: str = "tsv",
        options: ScoreFileOptions | None = None,
    ) -> dict[str, Path]:
        """Add every sampleset's files and the combined tables (see
        :func:`write_samplesheet_outputs`); returns their paths."""
        options = options or ScoreFileOptions()
        suffix, ext = options.suffix, options.table_ext(table_format)
        written: dict[str, Path] = {}
        for name, sampleset_result in result.results.items():
            own = dataclasses.replace(options, sampleset=name)
            files = write_score_files(
                sampleset_result,
                self.sets[name],
                table_format,
                own,
                match_report=self.reports.get(name),
            )
            for key, path in files.items():
                written[f"{name}/{key}"] = path
        combined = self.combined
        if "long" in options.layouts:
            written["scores"] = combined.write_table(result.to_frame(), f"scores{ext}")
        if "pgsc" in options.layouts:
            aggregated = pd.concat(
                [
                    r.to_aggregated(sampleset=name, id_delim=options.id_delim)
                    for name, r in result.results.items()
                ],
                ignore_index=True,
            )
            written["aggregated_scores"] = combined.write_table(
                aggregated, "aggregated_scores.txt" + suffix
            )
        written["match_summary"] = combined.write_table(
            result.match_summary(), f"match_summary{ext}"
        )
        written["provenance"] = combined.write_json(
            {
                **result.provenance,
                "outputs": {k: str(v) for k, v in written.items()},
            },
            "provenance.json",
        )
        return written


@contextlib.contextmanager
def samplesheet_outputs(
    out: str | os.PathLike[str], names: list[str]
) -> Iterator[SampleSheetOutputs]:
    """``<out>`` and ``<out>/<name>`` for each sampleset name, open as staged output sets
    (:func:`prs.output.output_set`) for the block: all published when it ends without an
    exception (each sampleset's directory first, ``<out>`` last: its ``provenance.json``
    says the whole run is in place), or none, leaving no directory this run created.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with samplesheet_outputs(Path(tmp) / "run", ["a", "b"]) as outputs:
    ...         sorted(outputs.sets)
    ['a', 'b']
    """
    out = Path(out)
    directories = [*new_directories(out), *(out / n for n in names)]
    with removed_if_failed(directories), contextlib.ExitStack() as stack:
        # Entered first, so published last: its provenance.json marks a complete run.
        combined = stack.enter_context(output_set(out, marker="provenance.json"))
        sets = {
            name: stack.enter_context(output_set(out / name, marker="provenance.json"))
            for name in names
        }
        yield SampleSheetOutputs(out, combined, sets)
