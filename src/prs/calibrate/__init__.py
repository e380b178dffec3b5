"""From score to risk category: reference distributions, absolute risk, categories, pathways.

The stages, each a module:

* :mod:`~prs.calibrate.reference` — reference distributions (empirical, quantile table,
  published parameters), percentiles, z-scores, normality checks, versioned reference files.
* :mod:`~prs.calibrate.ancestry` — PC-adjusted (ancestry-aware) z-scores (Khera et al. 2019,
  as the PGS Catalog Calculator); per-group references live in ``reference``.
* :mod:`~prs.calibrate.relative` — relative risk per SD or by percentile band (average 1).
* :mod:`~prs.calibrate.absolute` — iCARE-style absolute risk over an age interval from
  incidence and competing mortality; risk-equivalent ages.
* :mod:`~prs.calibrate.categories` — category schemes and prevention pathways (data files).
* :mod:`~prs.calibrate.categorise` — the whole path per person (:func:`categorise`).
* :mod:`~prs.calibrate.evaluate` — OR per SD, AUC, C-index, calibration, recalibration.
"""

from prs.calibrate.absolute import (
    DEFAULT_INCIDENCE,
    DEFAULT_MORTALITY,
    LIFETIME_END_AGE,
    MAX_AGE,
    AbsoluteRiskModel,
    RateTable,
    absolute_risk,
    available_rate_tables,
    baseline_hazard,
    fit_absolute_risk_model,
    load_rate_table,
)
from prs.calibrate.ancestry import (
    AncestryAdjustment,
    adjusted_percentile,
    fit_ancestry_adjustment,
    read_pcs,
)
from prs.calibrate.categories import (
    Band,
    CategoryScheme,
    Measure,
    Pathway,
    PathwayAction,
    available_pathways,
    available_schemes,
    load_pathway,
    load_scheme,
)
from prs.calibrate.categorise import Categorisation, categorise, run_demo_path
from prs.calibrate.evaluate import (
    CalibrationResult,
    CohortEvaluation,
    Estimate,
    Recalibration,
    auc,
    c_index,
    calibration,
    calibration_table,
    check_outcome,
    evaluate_cohort,
    odds_ratio_per_sd,
    or_top_vs_middle_quintile,
    recalibrate,
)
from prs.calibrate.reference import (
    FORMAT_VERSION,
    MIN_REFERENCE_SIZE,
    CalibrationWarning,
    Reference,
    ReferenceCheck,
    build_reference,
    build_references,
    load_ancestry_adjustment,
    load_reference,
    load_references,
    read_megsap_percentiles,
    reference_from_parameters,
    reference_from_quantiles,
    save_reference,
)
from prs.calibrate.relative import (
    OR_PER_SD_RANGE,
    PercentileBands,
    check_or_per_sd,
    log_relative_risk_per_sd,
    normal_population,
    read_percentile_bands,
    relative_risk_from_bands,
    relative_risk_per_sd,
)

__all__ = [
    "DEFAULT_INCIDENCE",
    "DEFAULT_MORTALITY",
    "FORMAT_VERSION",
    "LIFETIME_END_AGE",
    "MAX_AGE",
    "MIN_REFERENCE_SIZE",
    "OR_PER_SD_RANGE",
    "AbsoluteRiskModel",
    "AncestryAdjustment",
    "Band",
    "CalibrationResult",
    "CalibrationWarning",
    "Categorisation",
    "CategoryScheme",
    "CohortEvaluation",
    "Estimate",
    "Measure",
    "Pathway",
    "PathwayAction",
    "PercentileBands",
    "RateTable",
    "Recalibration",
    "Reference",
    "ReferenceCheck",
    "absolute_risk",
    "adjusted_percentile",
    "auc",
    "available_pathways",
    "available_rate_tables",
    "available_schemes",
    "baseline_hazard",
    "build_reference",
    "build_references",
    "c_index",
    "calibration",
    "calibration_table",
    "categorise",
    "check_or_per_sd",
    "check_outcome",
    "evaluate_cohort",
    "fit_absolute_risk_model",
    "fit_ancestry_adjustment",
    "load_ancestry_adjustment",
    "load_pathway",
    "load_rate_table",
    "load_reference",
    "load_references",
    "load_scheme",
    "log_relative_risk_per_sd",
    "normal_population",
    "odds_ratio_per_sd",
    "or_top_vs_middle_quintile",
    "read_megsap_percentiles",
    "read_pcs",
    "read_percentile_bands",
    "recalibrate",
    "reference_from_parameters",
    "reference_from_quantiles",
    "relative_risk_from_bands",
    "relative_risk_per_sd",
    "run_demo_path",
    "save_reference",
]
