"""What a scoring run writes: its scores, match report, match summary and provenance.

The files are written through :mod:`prs.output` (staged, locked, published as one set).

Score tables come in three layouts (:data:`SCORE_LAYOUTS`, any of them in one run):

``long`` (``scores.tsv``)
    prs's own: one row per sample x score, every count PLINK 2 gives plus the score's trait
    (:meth:`prs.scoring.ScoreResult.to_frame`).
``plink`` (``scores.sscore``)
    PLINK 2's ``.sscore`` as ``plink2 --score ... cols=+scoresums,+denom`` writes it: one
    row per sample, ``#IID`` (or ``#FID IID``), counts, ``<score>_AVG``, ``<score>_SUM``
    (:meth:`~prs.scoring.ScoreResult.to_sscore`).
``pgsc`` (``aggregated_scores.txt``)
    pgsc_calc's ``aggregated_scores.txt.gz``: ``sampleset FID IID PGS SUM DENOM AVG``
    (:meth:`~prs.scoring.ScoreResult.to_aggregated`).

Sample IDs are split into FID and IID only when a delimiter is given (``id_delim``, as PLINK
2's ``--id-delim``); without one the ``plink`` layout has ``#IID`` alone (as PLINK 2 from a
VCF) and the ``pgsc`` layout FID = IID (as pgsc_calc). Floats are written in full (the
shortest text that reads back as the same float64, up to 17 significant digits) unless
``digits`` asks for fewer (PLINK 2 writes 6).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from prs.errors import ReportError
from prs.output import ReportOutputs, output_set
from prs.output.tables import require_zstandard
from prs.scoring.result import split_sample_ids

if TYPE_CHECKING:
    from prs.scoring import ScoreResult

__all__ = [
    "COMPRESSIONS",
    "SCORE_LAYOUTS",
    "ScoreFileOptions",
    "new_directories",
    "removed_if_failed",
    "write_score_files",
    "write_score_outputs",
]

#: Score-table layouts and the file each writes (before compression's suffix).
SCORE_LAYOUTS = {"long": "scores", "plink": "scores.sscore", "pgsc": "aggregated_scores.txt"}

#: Compressions of text tables and their suffixes.
COMPRESSIONS = {"gzip": ".gz", "zstd": ".zst"}


@dataclass(frozen=True)
class ScoreFileOptions:
    """How a scoring run's tables are written (the defaults: today's ``scores.tsv``).

    Attributes
    ----------
    layouts
        Which score tables (:data:`SCORE_LAYOUTS`: ``long``, ``plink``, ``pgsc``), each its
        own file; default ``("long",)``.
    compress
        ``"gzip"`` or ``"zstd"`` (needs the ``zstandard`` package): text tables (scores in
        every layout, match report, match summary) get ``.gz``/``.zst``; Parquet tables
        keep Parquet's own compression; provenance.json stays plain. None: uncompressed.
    id_delim
        Split sample IDs into FID and IID at this delimiter in the ``plink`` and ``pgsc``
        layouts, as PLINK 2's ``--id-delim`` (every ID must hold it exactly once); the
        ``long`` layout keeps ``sample_id`` whole.
    digits
        Significant digits of the floats of the score tables (text only; ``%.Ng`` as C's
        printf, PLINK 2 writes 6). None (default): every float in full, so the file reads
        back as the exact float64 prs computed.
    sampleset
        The ``sampleset`` column of the ``pgsc`` layout.

    Raises
    ------
    ReportError
        For an unknown layout or compression, an empty layout list, ``digits`` outside 1-17,
        an empty delimiter, or zstd without the ``zstandard`` package.
    """

    layouts: tuple[str, ...] = ("long",)
    compress: str | None = None
    id_delim: str | None = None
    digits: int | None = None
    sampleset: str = "cohort"

    def __post_init__(self) -> None:
        unknown = [x for x in self.layouts if x not in SCORE_LAYOUTS]
        if unknown or not self.layouts:
            raise ReportError(
                f"score layout {', '.join(unknown) or '(none)'}: expected one or more of "
                f"{', '.join(SCORE_LAYOUTS)}"
            )
        if self.compress is not None and self.compress not in COMPRESSIONS:
            raise ReportError(
                f"compression {self.compress!r}: expected one of {', '.join(COMPRESSIONS)}"
            )
        if self.compress == "zstd":
            require_zstandard()
        if self.digits is not None and not 1 <= self.digits <= 17:
            raise ReportError(f"--digits {self.digits}: expected 1 to 17 significant digits")
        if self.id_delim == "":
            raise ReportError("--id-delim: the delimiter is empty")

    @property
    def suffix(self) -> str:
        """The compression's suffix of text tables (``""``, ``.gz`` or ``.zst``)."""
        return COMPRESSIONS[self.compress] if self.compress else ""

    def table_ext(self, table_format: str = "tsv") -> str:
        """The extension of prs's own tables (scores, match report, match summary):
        ``.parquet``, or ``.tsv`` with the compression's suffix."""
        return ".parquet" if table_format == "parquet" else ".tsv" + self.suffix

    def check(self, result: ScoreResult) -> None:
        """Raise what writing ``result`` would raise about its sample IDs (a ScoreError
        naming the first ID ``id_delim`` does not split), before any file is written."""
        if self.id_delim is not None and set(self.layouts) - {"long"}:
            split_sample_ids(result.samples, self.id_delim)


@contextlib.contextmanager
def removed_if_failed(directories: Sequence[Path]) -> Iterator[None]:
    """On an exception, remove those of ``directories`` (parents first) that this run
    created and left empty (an output set discarded leaves no empty ``--out`` behind)."""
    created = [d for d in directories if not d.exists()]
    try:
        yield
    except BaseException:
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise


def new_directories(out: str | os.PathLike[str]) -> list[Path]:
    """``out`` and its parents, outermost first: what :func:`removed_if_failed` watches."""
    out = Path(out)
    return [*reversed(out.absolute().parents), out.absolute()]


def write_score_outputs(
    result: ScoreResult,
    out: str | os.PathLike[str],
    table_format: str = "tsv",
    options: ScoreFileOptions | None = None,
) -> dict[str, Path]:
    """Write scores, match report, match summary and provenance into ``out`` as one set.

    The files are staged and published together under a lock on ``out``, provenance.json
    last (:func:`prs.report.output_set`): ``out`` holds the previous complete set or this
    one, never a mix. ``options`` chooses the score layouts, compression, FID/IID split and
    digits (:class:`ScoreFileOptions`; default: ``scores.tsv`` in full precision). Raises
    :class:`~prs.errors.ReportError` when they cannot be written.
    """
    (options or ScoreFileOptions()).check(result)  # (before ``out`` is touched)
    with output_set(out, marker="provenance.json") as outs:
        return write_score_files(result, outs, table_format, options)


def write_score_files(
    result: ScoreResult,
    outs: ReportOutputs,
    table_format: str = "tsv",
    options: ScoreFileOptions | None = None,
    match_report: Path | None = None,
) -> dict[str, Path]:
    """Add a scoring run's files (scores in each layout, match report, match summary,
    provenance.json) to an open output set, which its caller publishes
    (:func:`write_score_outputs`, or one of several sets published together, as
    :mod:`prs.samplesheet` does).

    ``match_report``: the match report already added to ``outs`` while the run went
    (``prs.score(match_report_rows=...)``, whose result then holds no report rows): it is
    not written again, only listed. Default None: written from ``result.match_report``.

    Keys of the returned paths: ``scores`` (long layout), ``sscore`` (plink),
    ``aggregated_scores`` (pgsc), ``match_report``, ``match_summary``, ``provenance``.
    """
    options = options or ScoreFileOptions()
    suffix, ext = options.suffix, options.table_ext(table_format)
    paths: dict[str, Path] = {}
    for layout in options.layouts:
        if layout == "long":
            frame, key, name = result.to_frame(), "scores", f"scores{ext}"
        elif layout == "plink":
            frame = result.to_sscore(id_delim=options.id_delim)
            key, name = "sscore", SCORE_LAYOUTS[layout] + suffix
        else:
            frame = result.to_aggregated(sampleset=options.sampleset, id_delim=options.id_delim)
            key, name = "aggregated_scores", SCORE_LAYOUTS[layout] + suffix
        if not name.endswith(".parquet"):
            frame = _floats_as_text(frame, options.digits, nan="nan" if layout == "plink" else "")
        paths[key] = outs.write_table(frame, name)
    # (the report itself: to_frame() would copy it)
    paths["match_report"] = match_report or outs.write_table(
        result.match_report.variants, f"match_report{ext}"
    )
    paths["match_summary"] = outs.write_table(
        result.match_report.counts.reset_index(), f"match_summary{ext}"
    )
    paths["provenance"] = outs.write_json(
        {
            **result.provenance,
            "outputs": {k: str(v) for k, v in paths.items()},
            "output_options": {
                "layouts": list(options.layouts),
                "compress": options.compress,
                "id_delim": options.id_delim,
                "digits": options.digits,
                "sampleset": options.sampleset,
            },
        },
        "provenance.json",
    )
    return paths


def _floats_as_text(frame: pd.DataFrame, digits: int | None, nan: str) -> pd.DataFrame:
    """``frame`` with float columns as text where the table writer's defaults do not give
    what the layout needs: ``digits`` significant digits (``%.Ng``), and NaN written as
    ``nan`` (PLINK 2's ``.sscore``: AVG of a sample with DENOM 0) rather than an empty cell.
    Full precision without NaN: the frame as it is (the writer's shortest round-trip text)."""
    out = None
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype.kind != "f":
            continue
        missing = np.isnan(values)
        if digits is None and (nan == "" or not missing.any()):
            continue
        if digits is None:
            text = np.array([repr(v) for v in values.tolist()], dtype=object)
        else:
            text = np.char.mod(f"%.{digits}g", values).astype(object)
        text[missing] = nan
        out = frame.copy() if out is None else out
        out[name] = text
    return frame if out is None else out
