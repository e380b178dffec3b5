"""What a scoring run writes: its scores, match report, match summary and provenance.

The files are written through :mod:`prs.output` (staged, locked, published as one set).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from prs.output import ReportOutputs, output_set

if TYPE_CHECKING:
    from prs.scoring import ScoreResult

__all__ = ["write_score_files", "write_score_outputs"]


def write_score_outputs(
    result: ScoreResult, out: str | os.PathLike[str], table_format: str = "tsv"
) -> dict[str, Path]:
    """Write scores, match report, match summary and provenance into ``out`` as one set.

    The files are staged and published together under a lock on ``out``, provenance.json
    last (:func:`prs.report.output_set`): ``out`` holds the previous complete set or this
    one, never a mix. Raises :class:`~prs.errors.ReportError` when they cannot be written.
    """
    with output_set(out, marker="provenance.json") as outs:
        return write_score_files(result, outs, table_format)


def write_score_files(
    result: ScoreResult, outs: ReportOutputs, table_format: str = "tsv"
) -> dict[str, Path]:
    """Add a scoring run's files (scores, match report, match summary, provenance.json) to
    an open output set, which its caller publishes (:func:`write_score_outputs`, or one of
    several sets published together, as :mod:`prs.samplesheet` does)."""
    ext = ".parquet" if table_format == "parquet" else ".tsv"
    paths = {
        "scores": outs.write_table(result.to_frame(), f"scores{ext}"),
        # (the report itself: to_frame() would copy it)
        "match_report": outs.write_table(result.match_report.variants, f"match_report{ext}"),
        "match_summary": outs.write_table(
            result.match_report.counts.reset_index(), f"match_summary{ext}"
        ),
    }
    paths["provenance"] = outs.write_json(
        {**result.provenance, "outputs": {k: str(v) for k, v in paths.items()}},
        "provenance.json",
    )
    return paths
