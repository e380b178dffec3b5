"""``prs score`` through the fast engine, for CLIs that do not offer ``--engine`` yet.

Same arguments as ``prs score``; genotypes are read by
:class:`prs.genotypes.fastvcf.FastVcfSource` and everything else is the CLI's own code
(options, scoring, output files). Only the ``score`` command is registered, so the other
commands' imports (statsmodels, scipy.stats: about 2 s here) are not paid.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from prs import score_cli
    from prs.genotypes.fastvcf import FastVcfSource

    parser = argparse.ArgumentParser(prog="prs")
    score_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["score", *(sys.argv[1:] if argv is None else argv)])
    source = FastVcfSource(
        args.vcf,
        samples=score_cli._samples_from(args.samples),
        dosage=args.dosage,
        half_call=args.half_call,
        haploid=args.haploid,
    )
    result = score_cli.score_from_args(args, source, args.scorefile)
    score_cli.write_score_outputs(result, args.out, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
