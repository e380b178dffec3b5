"""``prs score --sample-sheet``: every sampleset of a sample sheet scored in one run.

The handler reads the sheet (:func:`prs.samplesheet.read_samplesheet`), scores each sampleset
with the options ``prs score`` parsed (through :func:`prs.cli.score.score_from_args`, the
sheet setting each sampleset's format, sex file and genotype field), then writes every
sampleset's outputs into ``--out/<sampleset>/`` and the combined tables into ``--out``, all
published together (:func:`prs.samplesheet.write_samplesheet_outputs`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from prs.cli.score import print_score_summary, score_file_options, score_from_args
from prs.errors import ScoreError
from prs.samplesheet import (
    SampleSet,
    read_samplesheet,
    samplesheet_outputs,
    score_samplesets,
)
from prs.scoring import ScoreResult

#: Parsed arguments that are not scoring options (left out of the run's provenance).
_NOT_OPTIONS = ("handler", "command", "vcf", "verbose", "quiet", "strict")


def run_sample_sheet(args: argparse.Namespace) -> int:
    """Handler of ``prs score --sample-sheet SHEET``: the options of ``prs score`` for every
    sampleset, one line per sampleset and score on stderr (as ``prs score`` prints)."""
    if args.genotype_format not in (None, "auto"):
        raise ScoreError(
            "--genotype-format is given by the sample sheet's format column, per sampleset"
        )
    sheet = read_samplesheet(args.sample_sheet)
    table_options = score_file_options(args)
    options = {k: v for k, v in vars(args).items() if k not in _NOT_OPTIONS}
    # Every directory is open (staged) while the samplesets are scored: each one's match
    # report is written as it goes, never held; all published together at the end, or none.
    with samplesheet_outputs(args.out, [s.name for s in sheet.samplesets]) as outputs:

        def score_one(sampleset: SampleSet, overrides: dict[str, Any]) -> ScoreResult:
            # (named first, so the warnings of its run are seen to be its own)
            if not args.quiet:
                print(f"{sampleset.name}: scoring {len(sampleset.paths)} file(s)", file=sys.stderr)
            own = argparse.Namespace(**{**vars(args), **overrides})
            return score_from_args(
                own,
                [str(p) for p in sampleset.paths],
                args.scorefile,
                match_report_rows=outputs.report_writer(sampleset.name, args.format, table_options),
            )

        result = score_samplesets(sheet, score_one, sex=args.sex, options=options)
        for sampleset_result in result.results.values():
            table_options.check(sampleset_result)
        paths = outputs.write(result, args.format, table_options)
    if args.quiet:
        return 0
    for name, sampleset_result in result.results.items():
        print_score_summary(sampleset_result, prefix=f"{name}: ")
    combined = [str(p) for key, p in paths.items() if "/" not in key]
    print(
        f"wrote {', '.join(combined)} and {len(result.results)} sampleset directories "
        f"({', '.join(str(args.out / name) for name in result.results)})",
        file=sys.stderr,
    )
    return 0
