"""``prs calibrate`` (build a reference), ``prs categorise`` (score -> category -> pathway) and
``prs evaluate`` (discrimination and calibration on a cohort with outcomes)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from prs.calibrate._inputs import (
    read_id_list,
    read_sample_values,
    read_scores,
)
from prs.calibrate.absolute import (
    DEFAULT_INCIDENCE,
    DEFAULT_MORTALITY,
    LIFETIME_END_AGE,
    available_rate_tables,
)
from prs.calibrate.ancestry import DEFAULT_N_PCS, fit_ancestry_adjustment, read_pcs
from prs.calibrate.categorisation import DEFAULT_HORIZONS, categorise
from prs.calibrate.evaluate import join_evaluation_tables
from prs.calibrate.export import canrisk_table
from prs.calibrate.reference import (
    build_reference,
    build_references,
    read_megsap_percentiles,
    reference_from_parameters,
    save_reference,
)
from prs.calibrate.risk_factors import FAMILY_HISTORY_MODELS, PRS_ONLY, parse_numbers
from prs.calibrate.schemes import available_pathways, available_schemes
from prs.calibrate.uncertainty import DEFAULT_NEAR_THRESHOLD, genotype_variance_from_vcf
from prs.cli import Stages, add_report_option, write_run_report
from prs.errors import CalibrationError
from prs.output import output_set, write_json, write_table

SCORES_HELP = (
    "score table: prs score's scores.tsv, a wide table (sample_id + a column per score), a "
    "PLINK 2 .sscore(.zst) or pgsc_calc's aggregated_scores.txt(.gz); sample IDs from "
    "sample_id or IID"
)
SCORE_HELP = (
    "score to use when the table holds several (pgsc_calc with several samplesets: SAMPLESET:PGS)"
)
COLUMN_HELP = "value column, SUM or AVG (a .sscore's <score>_SUM/_AVG; default SUM)"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate``, ``categorise`` and ``evaluate`` commands to the ``prs`` parser."""
    _add_calibrate(subparsers)
    _add_categorise(subparsers)
    _add_evaluate(subparsers)


def _add_calibrate(subparsers: argparse._SubParsersAction) -> None:
    """``prs calibrate``: the reference source and where to write it."""
    cal = subparsers.add_parser(
        "calibrate",
        help="build a reference distribution (reference.json) from reference-cohort scores",
        description=(
            "Build a versioned reference distribution file from scores that 'prs score' "
            "computed on a reference cohort, from a megSAP ##percentiles= VCF header, or from "
            "published mean and SD."
        ),
    )
    source = cal.add_mutually_exclusive_group(required=True)
    source.add_argument("--scores", type=Path, help=SCORES_HELP)
    source.add_argument(
        "--from-megsap", type=Path, metavar="VCF", help="megSAP PRS VCF with ##percentiles="
    )
    source.add_argument("--mean", type=float, help="published mean of the score (with --sd)")
    cal.add_argument("--sd", type=float, help="published SD of the score (with --mean)")
    cal.add_argument("--score", help=SCORE_HELP)
    cal.add_argument("--column", default="SUM", help=COLUMN_HELP)
    cal.add_argument(
        "--groups",
        type=Path,
        help="TSV with sample_id and a group column: build one reference per group",
    )
    cal.add_argument("--group-column", default="group", help="group column of --groups")
    cal.add_argument(
        "--summary-only",
        action="store_true",
        help="store 0.5%%..99.5%% quantiles, min and max instead of every reference value",
    )
    cal.add_argument("--source", default="", help="citation for --mean/--sd")
    cal.add_argument(
        "--pcs",
        type=Path,
        help="PCs of the reference samples (IID, PC1..): also fit the PC ancestry adjustment",
    )
    cal.add_argument(
        "--n-pcs", type=int, default=DEFAULT_N_PCS, help=f"PCs in the adjustment ({DEFAULT_N_PCS})"
    )
    cal.add_argument(
        "--exclude",
        type=Path,
        help="file of sample IDs to leave out of the PC adjustment and of the per-population "
        "references (related samples, e.g. PLINK 2's king.cutoff.out.id)",
    )
    cal.add_argument(
        "--population-labels",
        type=Path,
        metavar="PSAM",
        help="reference panel labels (.psam-like: IID, SuperPop, Population): build one "
        "reference per population, for 'prs categorise --target-pcs'",
    )
    cal.add_argument(
        "--population-column",
        default="SuperPop",
        help="label column of --population-labels (SuperPop, as pgsc_calc)",
    )
    cal.add_argument("--out", type=Path, required=True, help="reference JSON to write")
    cal.set_defaults(handler=run_calibrate)


def _add_categorise(subparsers: argparse._SubParsersAction) -> None:
    """``prs categorise``: one argument group after another."""
    cat = subparsers.add_parser(
        "categorise",
        aliases=["categorize"],
        help="percentiles, risks, risk categories and pathway actions per sample",
        description=(
            "Place each sample's score in a reference, derive relative and absolute risks, "
            "assign a risk category under a named scheme and the pathway action it maps to."
        ),
    )
    cat.add_argument("--list", action="store_true", help="list shipped schemes, pathways, rates")
    _add_categorise_inputs(cat)
    _add_categorise_risks(cat)
    _add_categorise_binding(cat)
    _add_categorise_method(cat)
    _add_categorise_uncertainty(cat)
    _add_categorise_risk_factors(cat)
    _add_categorise_canrisk(cat)
    cat.set_defaults(handler=run_categorise)


def _add_categorise_inputs(cat: argparse.ArgumentParser) -> None:
    """The scores, the reference, the scheme and the pathway."""
    cat.add_argument("--scores", type=Path, help=SCORES_HELP)
    cat.add_argument("--score", help=SCORE_HELP)
    cat.add_argument("--column", default="SUM", help=COLUMN_HELP)
    cat.add_argument(
        "--reference",
        type=Path,
        help="reference JSON from 'prs calibrate' (default: the scores themselves, warned)",
    )
    cat.add_argument("--groups", type=Path, help="TSV sample_id + group (per-group references)")
    cat.add_argument("--group-column", default="group", help="group column of --groups")
    cat.add_argument(
        "--scheme", default="nice-cg164-lifetime", help="scheme name or TOML (see --list)"
    )
    cat.add_argument(
        "--pathway",
        default="default",
        help="pathway name or TOML; 'default' = the scheme's own, 'none' = no actions",
    )


def _add_categorise_risks(cat: argparse.ArgumentParser) -> None:
    """The effect size, ages, horizons and rate tables."""
    effect = cat.add_mutually_exclusive_group()
    effect.add_argument("--or-per-sd", type=float, help="OR (or HR) per SD of the score")
    effect.add_argument(
        "--percentile-bands", type=Path, help="CSV of relative risk by percentile band"
    )
    ages = cat.add_mutually_exclusive_group()
    ages.add_argument("--age", type=float, help="current age of every sample")
    ages.add_argument("--age-file", type=Path, help="TSV with sample_id and age columns")
    cat.add_argument("--age-column", default="age", help="age column of --age-file")
    cat.add_argument(
        "--horizons",
        default=",".join(map(str, DEFAULT_HORIZONS)),
        help="N-year risks from the current age, comma-separated (default 5,10)",
    )
    cat.add_argument(
        "--lifetime-to-age",
        type=int,
        default=LIFETIME_END_AGE,
        help=f"lifetime risk end ({LIFETIME_END_AGE})",
    )
    cat.add_argument(
        "--incidence",
        help="incidence table name or CSV (default: the shipped table declared for the "
        "scheme's cancer and sex; none for another cancer: the scheme is refused if it needs "
        f"rates; shipped breast: {DEFAULT_INCIDENCE})",
    )
    cat.add_argument(
        "--mortality",
        default="auto",
        help="competing mortality table name or CSV; 'none' ignores competing death; default "
        f"'auto': the shipped table for the incidence table's cancer and sex ({DEFAULT_MORTALITY} "
        "for breast)",
    )
    cat.add_argument(
        "--rates-population",
        metavar="NAME",
        help="population of the shipped rate tables when several fit the scheme's cancer and "
        "sex (e.g. England, 'United States'); default the table declared default (see --list)",
    )


def _add_categorise_binding(cat: argparse.ArgumentParser) -> None:
    """Each person's sex and the research override."""
    sexes = cat.add_mutually_exclusive_group()
    sexes.add_argument(
        "--sex",
        help="sex of every sample (female/male); a sex-specific scheme refuses the other sex",
    )
    sexes.add_argument(
        "--sex-file",
        type=Path,
        help="TSV with sample_id and sex (female/male, F/M or PLINK 2/1; 0/empty = unknown: "
        "no category under a sex-specific scheme)",
    )
    cat.add_argument("--sex-column", default="sex", help="sex column of --sex-file")
    cat.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="research override: let a score, rate table or person of another cancer or sex "
        "through; written into every affected row (binding_override) and <out>.inputs.json",
    )


def _add_categorise_method(cat: argparse.ArgumentParser) -> None:
    """z-scores, the risk population, benchmark, ancestry and the output."""
    cat.add_argument("--z-method", choices=["moments", "rank"], default="moments")
    cat.add_argument(
        "--risk-population",
        choices=["normal", "reference"],
        default="normal",
        help="population averaging RR to 1 and defining the baseline hazard: N(0,1) or the "
        "reference's own scores (as iCARE's reference data set)",
    )
    cat.add_argument(
        "--benchmark-age",
        type=int,
        help="report the risk-equivalent age: first age whose N-year risk reaches the average "
        "N-year risk at this age (N = --benchmark-years)",
    )
    cat.add_argument("--benchmark-years", type=int, default=10, help="N for --benchmark-age")
    cat.add_argument(
        "--pcs",
        type=Path,
        help="PCs of the samples projected on the reference PCA: ancestry-adjusted z "
        "(needs a reference built with 'prs calibrate --pcs')",
    )
    cat.add_argument(
        "--ancestry-method",
        choices=["mean", "mean+variance"],
        default="mean+variance",
        help="PC adjustment of the mean only (Z_norm1) or mean and variance (Z_norm2)",
    )
    _add_categorise_population(cat)
    cat.add_argument(
        "--out",
        type=Path,
        help="table to write (.tsv or .parquet); the inputs go to <out>.inputs.json",
    )
    add_report_option(
        cat, "report.html beside --out; the run's files are read from --scores' directory"
    )
    cat.add_argument(
        "--development-ancestry",
        help="ancestry of the score's development samples, for statement_development_ancestry "
        "(default: from the scores table if it carries it, else 'not stated')",
    )


def _add_categorise_population(cat: argparse.ArgumentParser) -> None:
    """The most similar reference population (issue 14): PCs, labels and the support rule."""
    from prs.ancestry.similarity import DEFAULT_N_PCS as POPULATION_PCS
    from prs.ancestry.similarity import DEFAULT_SEED

    pop = cat.add_argument_group(
        "most similar population",
        "place each person in the reference of their most similar population (a RandomForest "
        "on reference PCs, as pgsc_calc); --reference from 'prs calibrate --population-labels'",
    )
    pop.add_argument("--target-pcs", type=Path, help="PCs of the scored samples (IID, PC1..)")
    pop.add_argument("--reference-pcs", type=Path, help="PCs of the reference panel")
    pop.add_argument(
        "--population-labels", type=Path, metavar="PSAM", help="reference panel labels (.psam)"
    )
    pop.add_argument(
        "--population-column", default="SuperPop", help="label column (SuperPop, as pgsc_calc)"
    )
    pop.add_argument("--related", type=Path, help="related reference samples to leave out")
    pop.add_argument(
        "--population-pcs",
        type=int,
        default=POPULATION_PCS,
        help=f"PCs of the RandomForest ({POPULATION_PCS}, pgsc_calc --n_popcomp)",
    )
    pop.add_argument(
        "--population-seed", type=int, default=DEFAULT_SEED, help=f"seed ({DEFAULT_SEED})"
    )
    pop.add_argument(
        "--support-max-knn-ratio",
        type=float,
        default=3.0,
        help="decline people farther from the nearest reference samples than this many times "
        "the reference's own 99th percentile (3; 0 = off)",
    )
    pop.add_argument(
        "--support-min-mahalanobis-p",
        type=float,
        help="decline people whose Mahalanobis P to their population is below this (off)",
    )
    pop.add_argument(
        "--support-min-probability",
        type=float,
        help="decline people whose RF probability is below this (off; < 0.5 is flagged)",
    )


def _add_categorise_uncertainty(cat: argparse.ArgumentParser) -> None:
    """The sources of each person's intervals and category probabilities."""
    unc = cat.add_argument_group(
        "uncertainty",
        "95 % intervals (<risk>_lo/_hi, scheme_measure_lo/_hi), category probabilities "
        "(p_<category>) and near_threshold, from every source available (docs/calibrate.md, "
        "Uncertainty)",
    )
    unc.add_argument(
        "--or-per-sd-ci",
        metavar="LO,HI",
        help="95 %% confidence interval of --or-per-sd, e.g. 1.57,1.65 (without it the OR per "
        "SD is taken as exact, said in <out>.inputs.json)",
    )
    unc.add_argument(
        "--coverage",
        type=float,
        metavar="RHO2",
        help="share of the full score's variance the matched variants carry (rho^2); default "
        "from --scorefile and --match-report",
    )
    unc.add_argument(
        "--scorefile", help="the scoring file the scores came from (with --match-report)"
    )
    unc.add_argument(
        "--match-report", type=Path, help="prs score's match_report.tsv (with --scorefile)"
    )
    unc.add_argument(
        "--genotype-var",
        type=Path,
        help="TSV sample_id, GENOTYPE_VAR: each sample's score variance from dosage "
        "uncertainty (GP), score units squared",
    )
    unc.add_argument(
        "--gp-vcf",
        type=Path,
        metavar="VCF",
        help="the target VCF with GP: each sample's dosage variance computed over the matched "
        "variants (needs --scorefile and --match-report; instead of --genotype-var)",
    )
    unc.add_argument(
        "--near-threshold",
        type=float,
        default=DEFAULT_NEAR_THRESHOLD,
        help="flag near_threshold when the most likely category's probability is below this "
        f"(default {DEFAULT_NEAR_THRESHOLD})",
    )
    unc.add_argument(
        "--no-uncertainty",
        action="store_true",
        help="do not compute intervals and category probabilities",
    )


def _add_categorise_risk_factors(cat: argparse.ArgumentParser) -> None:
    """Risk factors beside the PRS."""
    rf = cat.add_argument_group(
        "risk factors beside the PRS (docs/risk-factors.md)",
        "combined with the PRS as iCARE (family history attenuated for the PRS); the output "
        "then gives relative_risk_prs, log_rr_prs, log_rr_family_history, log_rr_other and "
        "each row's model",
    )
    rf.add_argument(
        "--risk-factors",
        type=Path,
        metavar="FILE",
        help="TSV: sample_id, log_rr or rr (other factors), family_history (affected "
        "first-degree relatives); combined with the PRS as iCARE",
    )
    fh = rf.add_mutually_exclusive_group()
    fh.add_argument(
        "--family-history-model",
        metavar="NAME",
        help="shipped family-history relative risks (breast-cghfbc-2001; see --list)",
    )
    fh.add_argument(
        "--family-history-rr",
        help="RR of one affected first-degree relative, or RR1,RR2,... by number of relatives "
        "(needs --family-history-prevalence and --family-history-source)",
    )
    rf.add_argument(
        "--family-history-prevalence",
        help="population share with 1 (or 1,2,...) affected relatives, e.g. 0.073",
    )
    rf.add_argument("--family-history-source", help="publication of --family-history-rr")
    rf.add_argument(
        "--other-source",
        help="model the other factors' RR comes from (default the file's '# source:' line)",
    )
    rf.add_argument(
        "--risk-factors-population",
        type=Path,
        metavar="FILE",
        help="TSV log_rr or rr [+ weight]: the other factors over a population sample (else "
        "their RR must average 1)",
    )


def _add_categorise_canrisk(cat: argparse.ArgumentParser) -> None:
    """The CanRisk export."""
    cat.add_argument(
        "--canrisk",
        type=Path,
        help="also write each person's CanRisk '##PRS_BC=alpha=..., zscore=...' line (breast "
        "scores only) to this table",
    )
    cat.add_argument(
        "--canrisk-alpha",
        type=float,
        help="the score's CanRisk alpha (square root of the share of BOADICEA's polygenic "
        "variance it explains)",
    )
    cat.add_argument(
        "--canrisk-alpha-version",
        help="parameter version: a label for --canrisk-alpha, or the published alpha to use "
        "(see prs.calibrate.export.PUBLISHED_ALPHAS)",
    )


def _add_evaluate(subparsers: argparse._SubParsersAction) -> None:
    """``prs evaluate``: scores, outcomes, predicted risks and outputs."""
    ev = subparsers.add_parser(
        "evaluate",
        help="OR per SD, AUC, C-index and calibration of scores/risks on a cohort with outcomes",
        description=(
            "Evaluate a score (and, with --predicted, its predicted risks) on a cohort with "
            "0/1 outcomes: OR per SD, AUC, top vs middle quintile OR, C-index, E/O, "
            "calibration-in-the-large and slope, Hosmer-Lemeshow, decile table, recalibration."
        ),
    )
    ev.add_argument("--scores", type=Path, required=True, help=SCORES_HELP)
    ev.add_argument("--score", help=SCORE_HELP)
    ev.add_argument("--column", default="SUM", help=COLUMN_HELP)
    ev.add_argument(
        "--outcomes", type=Path, required=True, help="TSV with sample_id and the outcome (0/1)"
    )
    ev.add_argument("--outcome-column", default="outcome", help="outcome column (outcome)")
    ev.add_argument(
        "--covariates", default="", help="comma-separated covariate columns of --outcomes"
    )
    ev.add_argument("--time-column", help="follow-up time column of --outcomes (C-index)")
    ev.add_argument(
        "--predicted",
        type=Path,
        help="categories.tsv from 'prs categorise' (or any TSV with sample_id) for calibration",
    )
    ev.add_argument("--risk-column", default="risk_10y", help="risk column of --predicted")
    ev.add_argument("--groups", type=int, default=10, help="risk groups of the table (10)")
    ev.add_argument(
        "--predictions",
        choices=("external", "fitted"),
        default="external",
        help="Hosmer-Lemeshow df: groups used (external, default: --predicted risks from a "
        "model not fitted on this cohort) or groups used - 2 (fitted on this cohort)",
    )
    ev.add_argument("--out", type=Path, required=True, help="metrics JSON to write")
    ev.add_argument("--table", type=Path, help="calibration table TSV to write")
    ev.set_defaults(handler=run_evaluate)


def run_calibrate(args: argparse.Namespace) -> int:
    """Handler of ``prs calibrate``: the reference built, then written (each stage timed
    at ``-v``; a bar of stages on a terminal)."""
    with Stages(args, ["build the reference", "write"]) as stage:
        with stage("build the reference"):
            ref, adjustment, read_from = _build_reference(args)
        with stage("write") as step:
            save_reference(ref, args.out, ancestry=adjustment)
            step.detail = str(args.out)
    if getattr(args, "quiet", False):  # -q: errors only
        return 0
    if adjustment is not None:
        print(f"PC adjustment on {', '.join(adjustment.pcs)} (n={adjustment.n})")
    refs = [ref] if not isinstance(ref, dict) else list(ref.values())
    for r in refs:
        print(
            f"{r.label}: {r.kind}, n={r.n}, mean={r.mean:.6g}, sd={r.sd:.6g} -> {args.out}"
            f"{read_from}",
            file=sys.stdout,
        )
    return 0


def _build_reference(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """The reference(s) ``prs calibrate`` was asked for, the PC adjustment (or None) and
    what was read (for the summary line)."""
    if args.mean is not None:
        if args.sd is None:
            raise CalibrationError("--mean needs --sd")
        ref: Any = reference_from_parameters(
            args.mean, args.sd, score_id=args.score, column=args.column, source=args.source
        )
    elif args.from_megsap is not None:
        ref = read_megsap_percentiles(args.from_megsap)
    elif args.groups is not None or args.population_labels is not None:
        if args.groups is not None and args.population_labels is not None:
            raise CalibrationError("give --groups or --population-labels, not both")
        if args.groups is not None:
            groups = read_sample_values(args.groups, args.group_column, "groups")
        else:
            groups = _population_labels(args.population_labels, args.population_column)
            if args.exclude is not None:  # related samples: out, as pgsc_calc
                groups = groups.drop(read_id_list(args.exclude), errors="ignore")
        ref = build_references(
            args.scores,
            groups,
            score_id=args.score,
            column=args.column,
            keep_values=not args.summary_only,
        )
    else:
        ref = build_reference(
            args.scores, score_id=args.score, column=args.column, keep_values=not args.summary_only
        )
    adjustment = None
    if args.pcs is not None:
        if args.scores is None:
            raise CalibrationError("--pcs needs --scores (the reference samples' scores)")
        exclude = None if args.exclude is None else read_id_list(args.exclude)
        adjustment = fit_ancestry_adjustment(
            args.scores,
            read_pcs(args.pcs),
            score_id=args.score,
            column=args.column,
            n_pcs=args.n_pcs,
            exclude=exclude,
        )
    read_from = ""
    if args.scores is not None:
        # which layout, score, sampleset and column were read: said and kept in provenance
        table = read_scores(args.scores, score_id=args.score, column=args.column)
        ref = _with_table(ref, table.table_info())
        read_from = f" (read {args.scores}: {table.describe()})"
    return ref, adjustment, read_from


def _population_labels(path: Path, column: str) -> pd.Series:
    """Sample ID -> population of a ``.psam``-like label file."""
    from prs.ancestry.reference import read_population_labels

    table = read_population_labels(path)
    if column not in table.columns:
        raise CalibrationError(
            f"{path}: no population column '{column}' (columns: {', '.join(table.columns)})"
        )
    return pd.Series(table[column].to_numpy(), index=table["IID"].astype(str).to_numpy())


def _population(args: argparse.Namespace) -> Any:
    """Each target's most similar reference population (--target-pcs with --reference-pcs and
    --population-labels); None without --target-pcs."""
    given = [args.target_pcs, args.reference_pcs, args.population_labels]
    if all(v is None for v in given):
        return None
    if any(v is None for v in given):
        raise CalibrationError(
            "the most similar population needs --target-pcs, --reference-pcs and "
            "--population-labels together"
        )
    from prs.ancestry.similarity import SupportRule, fit_population_model

    model = fit_population_model(
        read_pcs(args.reference_pcs),
        _population_labels(args.population_labels, args.population_column),
        n_pcs=args.population_pcs,
        related=None if args.related is None else read_id_list(args.related),
        seed=args.population_seed,
        label=args.population_column,
    )
    rule = SupportRule(
        min_mahalanobis_p=args.support_min_mahalanobis_p,
        max_knn_ratio=None if args.support_max_knn_ratio <= 0 else args.support_max_knn_ratio,
        min_probability=args.support_min_probability,
    )
    return model.assign(read_pcs(args.target_pcs), support=rule)


def _with_table(ref: Any, info: dict[str, Any]) -> Any:
    """The reference(s) with ``provenance["scores_table"]`` = ``info``."""
    if isinstance(ref, dict):
        return {key: _with_table(value, info) for key, value in ref.items()}
    return dataclasses.replace(ref, provenance={**dict(ref.provenance), "scores_table": info})


def run_categorise(args: argparse.Namespace) -> int:
    """Handler of ``prs categorise``."""
    if args.list:
        _print_shipped()
        return 0
    if args.scores is None or args.out is None:
        raise CalibrationError("prs categorise needs --scores and --out (or --list)")
    people = _people(args)
    with Stages(args, ["read scores", "categorise", "write"]) as stage:
        with stage("read scores") as step:
            table = read_scores(args.scores, score_id=args.score, column=args.column)
            step.detail = table.describe()
        with stage("categorise"):
            result = categorise(args.scores, **_categorise_options(args, people))
            frame = result.to_frame()
        with stage("write") as step:
            inputs_path = args.out.with_name(args.out.name.split(".")[0] + ".inputs.json")
            inputs = dict(result.inputs)
            inputs["scores_table"] = table.table_info()
            tables = [(args.out, frame), *_canrisk_tables(args, result, inputs)]
            _publish(tables, (inputs_path, inputs))
            step.detail = f"{len(frame)} rows into {args.out}"
    _print_categorised(args, result, frame, table)
    write_run_report(
        args, args.scores.parent, args.out.with_name("report.html"), categories=args.out
    )
    return 0


def _print_shipped() -> None:
    """``--list``: the shipped schemes, pathways, rate tables and family-history models."""
    for title, entries in (
        ("schemes", available_schemes()),
        ("pathways", available_pathways()),
        ("rate tables", available_rate_tables()),
        (
            "family-history models",
            {k: m.describe() for k, m in FAMILY_HISTORY_MODELS.items()},
        ),
    ):
        print(f"{title}:")
        for name, text in entries.items():
            print(f"  {name}: {text}")


def _people(args: argparse.Namespace) -> dict[str, Any]:
    """The horizons and each person's age, group and sex, as :func:`categorise` takes them."""
    try:
        horizons = [int(h) for h in args.horizons.split(",") if h.strip()]
    except ValueError as exc:
        raise CalibrationError(f"--horizons '{args.horizons}': not whole numbers") from exc
    age: Any = args.age
    if args.age_file is not None:
        age = read_sample_values(args.age_file, args.age_column, "ages", numeric=True)
    groups = (
        read_sample_values(args.groups, args.group_column, "groups")
        if args.groups is not None
        else None
    )
    sex: Any = args.sex
    if args.sex_file is not None:
        sex = read_sample_values(args.sex_file, args.sex_column, "sexes")
    return {"horizons": horizons, "age": age, "groups": groups, "sex": sex}


def _categorise_options(args: argparse.Namespace, people: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`categorise` from the command line (in its order, so
    the first bad option is the one reported)."""
    return dict(
        reference=args.reference,
        score_id=args.score,
        column=args.column,
        scheme=args.scheme,
        pathway=None if args.pathway == "none" else args.pathway,
        or_per_sd=args.or_per_sd,
        percentile_bands=args.percentile_bands,
        age=people["age"],
        horizons=people["horizons"],
        lifetime_to_age=args.lifetime_to_age,
        incidence=args.incidence,
        mortality=None if args.mortality == "none" else args.mortality,
        groups=people["groups"],
        z_method=args.z_method,
        risk_population=args.risk_population,
        benchmark_age=args.benchmark_age,
        benchmark_years=args.benchmark_years,
        pcs=args.pcs,
        ancestry_method=args.ancestry_method,
        population=_population(args),
        sex=people["sex"],
        allow_mismatch=args.allow_mismatch,
        development_ancestry=args.development_ancestry,
        or_per_sd_ci=_pair(args.or_per_sd_ci, "--or-per-sd-ci"),
        uncertainty=not args.no_uncertainty,
        coverage=args.coverage,
        scorefile=args.scorefile,
        match_report=args.match_report,
        genotype_variance=_genotype_variance(args),
        near_threshold=args.near_threshold,
        risk_factors=args.risk_factors,
        family_history_model=args.family_history_model,
        family_history_rr=None
        if args.family_history_rr is None
        else parse_numbers(args.family_history_rr, "--family-history-rr"),
        family_history_prevalence=None
        if args.family_history_prevalence is None
        else parse_numbers(args.family_history_prevalence, "--family-history-prevalence"),
        family_history_source=args.family_history_source,
        other_source=args.other_source,
        other_population=args.risk_factors_population,
        rates_population=args.rates_population,
    )


def _canrisk_tables(
    args: argparse.Namespace, result: Any, inputs: dict[str, Any]
) -> list[tuple[Path, pd.DataFrame]]:
    """The ``--canrisk`` table to write (recorded in ``inputs``); none without ``--canrisk``."""
    if args.canrisk is None:
        if args.canrisk_alpha is not None or args.canrisk_alpha_version is not None:
            raise CalibrationError("--canrisk-alpha / --canrisk-alpha-version need --canrisk FILE")
        return []
    # built before anything is written: a refusal leaves no partial outputs
    canrisk = canrisk_table(result, alpha=args.canrisk_alpha, version=args.canrisk_alpha_version)
    inputs["canrisk"] = {
        "path": str(args.canrisk),
        "alpha": float(canrisk["alpha"].iloc[0]) if len(canrisk) else args.canrisk_alpha,
        "alpha_version": str(canrisk["alpha_version"].iloc[0]) if len(canrisk) else None,
        "alpha_source": str(canrisk["alpha_source"].iloc[0]) if len(canrisk) else None,
    }
    return [(args.canrisk, canrisk)]


def _print_categorised(
    args: argparse.Namespace, result: Any, frame: pd.DataFrame, table: Any
) -> None:
    """The one-line summary of a ``prs categorise`` run (and its uncertainty line)."""
    if getattr(args, "quiet", False):  # -q: errors only
        return
    counts = frame["category"].value_counts(dropna=False).to_dict()
    summary = ", ".join(f"{'no category' if pd.isna(k) else k}: {v}" for k, v in counts.items())
    model = result.inputs["statements"]["statement_model"]
    print(
        f"{len(frame)} samples -> {args.out} ({summary}); read {args.scores}: {table.describe()}"
        + ("" if model == PRS_ONLY else f"; model: {model}"),
        file=sys.stdout,
    )
    unc = result.inputs.get("uncertainty") or {}
    if unc.get("computed"):
        print(
            f"uncertainty: 95 % intervals and category probabilities from "
            f"{', '.join(unc['propagated'])}; not propagated: "
            f"{', '.join(unc['not_propagated']) or 'none'}; near a threshold (most likely "
            f"category below {args.near_threshold:g}): {unc.get('near_threshold_count', 0)}",
            file=sys.stdout,
        )


def _genotype_variance(args: argparse.Namespace) -> Any:
    """``--genotype-var`` FILE, or the variance computed from ``--gp-vcf``'s GP over the
    variants ``--match-report`` matched (None when neither is given)."""
    if args.gp_vcf is None:
        return args.genotype_var
    if args.genotype_var is not None:
        raise CalibrationError("give --genotype-var or --gp-vcf, not both")
    if args.scorefile is None or args.match_report is None:
        raise CalibrationError(
            "--gp-vcf needs --scorefile and --match-report (the matched variants and weights)"
        )
    return genotype_variance_from_vcf(
        args.gp_vcf, args.scorefile, args.match_report, score_id=args.score
    )


def _pair(text: str | None, flag: str) -> tuple[float, float] | None:
    """``LO,HI`` as two numbers (None when not given)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError as exc:
        raise CalibrationError(
            f"{flag} '{text}': expected two numbers LO,HI (e.g. 1.57,1.65)"
        ) from exc
    return lo, hi


def run_evaluate(args: argparse.Namespace) -> int:
    """Handler of ``prs evaluate``: the joins and metrics are
    :func:`~prs.calibrate.evaluate.join_evaluation_tables` and its ``evaluate``."""
    covariates = [c.strip() for c in args.covariates.split(",") if c.strip()]
    with Stages(args, ["join tables", "evaluate", "write"]) as stage:
        with stage("join tables"):
            joined = join_evaluation_tables(
                args.scores,
                args.outcomes,
                score_id=args.score,
                column=args.column,
                outcome_column=args.outcome_column,
                covariates=covariates,
                time_column=args.time_column,
                predicted=args.predicted,
                risk_column=args.risk_column,
            )
        if not getattr(args, "quiet", False):
            print(joined.describe(), file=sys.stdout)
        with stage("evaluate"):
            result = joined.evaluate(groups=args.groups, predictions=args.predictions)
        with stage("write"):
            tables = []
            if args.table is not None and result.calibration_table is not None:
                tables.append((args.table, result.calibration_table))
            _publish(tables, (args.out, result.to_dict()))
    if not getattr(args, "quiet", False):
        print(result.summary().to_string(index=False), file=sys.stdout)
    return 0


def _publish(tables: list[tuple[Path, pd.DataFrame]], last: tuple[Path, Any]) -> None:
    """Write a command's files through :mod:`prs.output`: as one set (all published or
    none, the JSON last, under a lock on the directory) when they share a directory, else
    one by one (each atomic), the JSON last."""
    paths = [path for path, _ in tables] + [last[0]]
    names = [path.name for path in paths]
    if len({path.absolute().parent for path in paths}) == 1 and len(set(names)) == len(names):
        with output_set(last[0].parent, marker=last[0].name) as outputs:
            for path, frame in tables:
                outputs.write_table(frame, path.name)
            outputs.write_json(last[1], last[0].name)
        return
    for path, frame in tables:
        write_table(frame, path)
    write_json(last[1], last[0])
