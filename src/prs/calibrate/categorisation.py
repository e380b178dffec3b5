"""From score to pathway: percentile, z, relative and absolute risk, category and action."""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from prs._version import __version__
from prs.calibrate._inputs import ScoresLike, by_sample, read_scores
from prs.calibrate.absolute import (
    LIFETIME_END_AGE,
    MAX_AGE,
    MAX_LOG_RR,
    AbsoluteRiskModel,
    RateTable,
    available_rate_tables,
    companion_mortality_table,
    fit_absolute_risk_model,
    load_rate_table,
    shipped_rate_table,
)
from prs.calibrate.ancestry import (
    AncestryAdjustment,
    adjusted_percentile,
    read_pcs,
)
from prs.calibrate.reference import (
    Reference,
    build_reference,
    load_ancestry_adjustment,
    load_references,
)
from prs.calibrate.relative import (
    PercentileBands,
    check_or_per_sd,
    log_relative_risk_per_sd,
    read_percentile_bands,
    relative_risk_from_bands,
)
from prs.calibrate.risk_factors import (
    PRS_ONLY,
    CombinedRisk,
    FamilyHistoryModel,
    RiskFactors,
    combine_risk_factors,
    prs_population,
    resolve_risk_factors,
)
from prs.calibrate.schemes import (
    CategoryScheme,
    Pathway,
    cancer_terms,
    load_pathway,
    load_scheme,
    same_cancer,
)
from prs.calibrate.uncertainty import (
    DEFAULT_NEAR_THRESHOLD,
    LEVEL,
    Coverage,
    EffectUncertainty,
    band_probabilities,
    band_risks,
    category_probabilities,
    coverage_from_match,
    discrete_category_probabilities,
    discrete_spread,
    full_score_z,
    log_or_standard_error,
    missing_call_fraction,
    near_threshold_flags,
    normal_centre,
    percentile_interval,
    read_genotype_variance,
    reference_centre,
    reference_z_variance,
    relative_risk_interval,
    risk_interval,
    scheme_thresholds,
    table_variance_column,
)
from prs.errors import CalibrationError, CalibrationWarning, warn

if TYPE_CHECKING:  # (the forest and its imports load only when a population is given)
    from prs.ancestry.similarity import PopulationSimilarity

#: Default N-year horizons reported from each person's current age.
DEFAULT_HORIZONS = (5, 10)

#: OR per SD of PGS000004 (BCAC 313) and its 95 % CI, prospective validation (Mavaddat et
#: al. 2019, Am J Hum Genet 104:21-34): the demo's defaults.
PGS000004_OR = 1.61
PGS000004_OR_CI = (1.57, 1.65)

#: The standard caveats every per-person row carries (``statement_caveats``).
STATEMENT_CAVEATS = (
    "Not a diagnosis; a low score does not rule out risk; calibrated to the named "
    "population only (statement_reference, statement_rates_population)"
)

#: The statement columns of every per-person row (constant within a run).
STATEMENT_FIELDS = (
    "statement_score_id",
    "statement_development_ancestry",
    "statement_reference",
    "statement_rates_population",
    "statement_model",
    "statement_caveats",
)


@dataclass(frozen=True)
class Categorisation:
    """Per-person results of :func:`categorise` (arrays aligned on ``sample_id``).

    Absolute risks are probabilities (0-1); the scheme's measure is in the scheme's units
    (percent for absolute risk). ``inputs`` records every input used.
    """

    sample_id: np.ndarray
    score: np.ndarray
    group: np.ndarray
    percentile: np.ndarray
    out_of_range: np.ndarray
    z: np.ndarray
    relative_risk: np.ndarray
    age: np.ndarray
    risks: Mapping[str, np.ndarray]
    scheme_measure: np.ndarray
    category: np.ndarray
    category_note: np.ndarray
    actions: Mapping[str, np.ndarray]
    risk_equivalent_age: np.ndarray
    inputs: Mapping[str, Any] = field(default_factory=dict)
    #: Each person's sex as given (female / male / None = unknown or not given).
    sex: np.ndarray | None = None
    #: The mismatches let through by ``allow_mismatch`` that affect each row (None: none).
    binding_override: np.ndarray | None = None
    #: Intervals and category probabilities (issue 11, item 4): ``<risk>_lo``/``_hi``,
    #: ``scheme_measure_lo``/``_hi``, ``p_<category>``, ``near_threshold``; empty when no
    #: source of uncertainty was available (or ``uncertainty=False``).
    uncertainty: Mapping[str, np.ndarray] = field(default_factory=dict)
    #: Risk factors beside the PRS (issue 11, item 5): ``log_rr_prs``,
    #: ``log_rr_family_history``, ``log_rr_other``, ``family_history`` and ``model`` per
    #: person; empty when PRS only.
    risk_factors: Mapping[str, np.ndarray] = field(default_factory=dict)
    #: Most similar population (issue 14): ``population``, ``population_reference``,
    #: ``population_probability`` (RF), ``population_low_confidence``,
    #: ``projection_distance`` (Mahalanobis, with ``_p``), ``knn_ratio``,
    #: ``population_supported`` and ``population_support_reason``; empty without it.
    population: Mapping[str, np.ndarray] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per person: results, then the inputs used (constant columns)."""
        frame = pd.DataFrame(
            {
                "sample_id": self.sample_id,
                "score_id": self.inputs.get("score_id"),
                "score": self.score,
                "group": self.group,
                **dict(self.population),
                "percentile": self.percentile,
                "out_of_range": self.out_of_range,
                "z": self.z,
                "relative_risk": self.relative_risk,
                "age": self.age,
            }
        )
        rf = self.risk_factors
        if rf:
            # relative_risk is the total (PRS and the other factors); its parts beside it
            frame["relative_risk_prs"] = np.exp(rf["log_rr_prs"])
            for key in ("log_rr_prs", "log_rr_family_history", "log_rr_other", "family_history"):
                if key in rf:
                    frame[key] = rf[key]
        # what each person's risk rests on, in every run ("PRS only" without risk factors)
        frame["model"] = rf["model"] if rf else PRS_ONLY
        if self.sex is not None:
            frame["sex"] = self.sex
        unc = self.uncertainty
        for name, values in self.risks.items():
            frame[name] = values
            for end in ("lo", "hi"):
                if f"{name}_{end}" in unc:
                    frame[f"{name}_{end}"] = unc[f"{name}_{end}"]
        frame["scheme_measure"] = self.scheme_measure
        for end in ("lo", "hi"):
            if f"scheme_measure_{end}" in unc:
                frame[f"scheme_measure_{end}"] = unc[f"scheme_measure_{end}"]
        # what the categories rest on: guideline, trial protocol, derived or illustrative
        frame["scheme_kind"] = self.inputs.get("scheme_kind")
        frame["category"] = self.category
        frame["category_note"] = self.category_note
        for name, values in unc.items():
            if name.startswith("p_") or name == "near_threshold":
                frame[name] = values
        if self.actions:
            frame["pathway_kind"] = self.inputs.get("pathway_kind")
        for name, values in self.actions.items():
            frame[name] = values
        frame["risk_equivalent_age"] = self.risk_equivalent_age
        # the research override (allow_mismatch), in every row it affects
        frame["binding_override"] = (
            self.binding_override if self.binding_override is not None else None
        )
        for key in ("scheme", "pathway", "or_per_sd", "incidence", "mortality", "reference"):
            value = self.inputs.get(key)
            if isinstance(value, Mapping):  # one table per sex
                value = "; ".join(f"{k}: {v}" for k, v in value.items())
            frame[f"input_{key}"] = value
        # what a report must say beside each person's result (issue 11, item 8)
        statements = self.inputs.get("statements") or {}
        for key in STATEMENT_FIELDS:
            frame[key] = statements.get(key)
        return frame

    def _category_counts(self) -> pd.Series:
        """People per category, in order of first appearance (uncategorised as "none")."""
        labels = pd.Series(self.category, dtype=object).fillna("none")
        return labels.value_counts(sort=False)

    def _head(self) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "sample_id": self.sample_id[:_REPR_ROWS],
                "percentile": self.percentile[:_REPR_ROWS],
                "scheme_measure": self.scheme_measure[:_REPR_ROWS],
                "category": self.category[:_REPR_ROWS],
            }
        )
        return frame.set_index("sample_id")

    def _title(self) -> str:
        score_id = self.inputs.get("score_id") or "score"
        scheme = self.inputs.get("scheme") or "?"
        return f"{len(self.sample_id)} people, {score_id}, scheme {scheme}"

    def __repr__(self) -> str:
        """A few lines: who, which scheme, people per category, where to look next (the
        per-person arrays are attributes; :meth:`to_frame` has them all)."""
        lines = [f"<Categorisation: {self._title()}>"]
        lines += [f"  {name}: {count}" for name, count in self._category_counts().items()]
        lines.append(_CATEGORISATION_NEXT)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """For notebooks: people per category, the first rows, where to look next."""
        import html

        counts = self._category_counts().rename("people").to_frame()
        counts.index.name = "category"
        more = len(self.sample_id) - _REPR_ROWS
        return (
            f"<div><p><b>Categorisation</b>: {html.escape(self._title())}</p>"
            f"{counts.to_html()}"
            f"<p>First rows{f' ({more} more)' if more > 0 else ''}:</p>"
            f"{self._head().to_html(float_format=lambda x: f'{x:.3g}')}"
            f"<p><small>{html.escape(_CATEGORISATION_NEXT.strip())}</small></p></div>"
        )


#: Rows a categorisation's HTML repr shows.
_REPR_ROWS = 5
_CATEGORISATION_NEXT = (
    "  next: .to_frame() (one row per person: risks, category, actions, inputs), .inputs "
    "(what was used), .uncertainty (intervals), prs report (an HTML report)"
)


def categorise(
    scores: ScoresLike,
    *,
    reference: Reference | Mapping[str | None, Reference] | str | os.PathLike[str] | None = None,
    score_id: str | None = None,
    column: str = "SUM",
    scheme: str | os.PathLike[str] | CategoryScheme = "nice-cg164-lifetime",
    pathway: str | os.PathLike[str] | Pathway | Literal["default"] | None = "default",
    or_per_sd: float | None = None,
    percentile_bands: PercentileBands | str | os.PathLike[str] | None = None,
    age: float | Sequence[float] | np.ndarray | Mapping[str, float] | pd.Series | None = None,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    lifetime_to_age: int = LIFETIME_END_AGE,
    incidence: str | os.PathLike[str] | RateTable | None = None,
    mortality: str | os.PathLike[str] | RateTable | Literal["auto"] | None = "auto",
    groups: Mapping[str, str] | pd.Series | None = None,
    z_method: Literal["moments", "rank"] = "moments",
    benchmark_age: int | None = None,
    benchmark_years: int = 10,
    pcs: pd.DataFrame | str | os.PathLike[str] | None = None,
    ancestry: AncestryAdjustment | None = None,
    ancestry_method: Literal["mean", "mean+variance"] = "mean+variance",
    population: PopulationSimilarity | None = None,
    risk_population: Literal["normal", "reference"] = "normal",
    sex: str | Sequence[Any] | Mapping[str, Any] | pd.Series | None = None,
    allow_mismatch: bool = False,
    development_ancestry: str | None = None,
    or_per_sd_ci: Sequence[float] | None = None,
    uncertainty: bool = True,
    coverage: float | Coverage | None = None,
    scorefile: Any = None,
    match_report: str | os.PathLike[str] | pd.DataFrame | None = None,
    genotype_variance: Mapping[str, float] | pd.Series | str | os.PathLike[str] | None = None,
    near_threshold: float = DEFAULT_NEAR_THRESHOLD,
    risk_factors: RiskFactors | str | os.PathLike[str] | None = None,
    family_history_model: FamilyHistoryModel | str | None = None,
    family_history_rr: float | Sequence[float] | None = None,
    family_history_prevalence: float | Sequence[float] | None = None,
    family_history_source: str | None = None,
    other_source: str | None = None,
    other_population: str | os.PathLike[str] | tuple[np.ndarray, np.ndarray] | None = None,
    rates_population: str | None = None,
) -> Categorisation:
    """Place each person's score in the reference, derive risks, category and pathway action.

    Parameters
    ----------
    scores
        ``scores.tsv`` of ``prs score`` (path or DataFrame, long format), a Series indexed by
        sample ID, or an array.
    reference
        A :class:`Reference`, a reference file (:func:`save_reference`), or a mapping group ->
        Reference used with ``groups``. None builds the reference from ``scores`` themselves
        (self-referential: percentiles are then relative to this very cohort; a
        :class:`CalibrationWarning` says so).
    score_id, column
        Which score of a multi-score table and which value column (default ``SUM``).
    scheme
        Shipped scheme name or TOML path (default ``nice-cg164-lifetime``, NICE CG164).
    pathway
        Shipped pathway name or TOML path; ``"default"`` (default) uses the scheme's own
        pathway, None skips actions.
    or_per_sd
        OR (or HR) per SD of the score, for relative risk ``exp(b z - b^2/2)``. E.g. 1.61 for
        PGS000004 (Mavaddat et al. 2019). Needed for any risk unless ``percentile_bands``.
    percentile_bands
        Alternatively, published relative risk by percentile band (object or CSV path).
    age
        Current age: one number for everybody, an array aligned with the scores, or a mapping
        / Series sample ID -> age. None: risks from the current age are not computed.
    horizons
        N-year risks reported from the current age (default 5 and 10 years).
    lifetime_to_age
        End of "lifetime" risk from the current age (default 80, as NICE CG164).
    incidence, mortality
        Rate tables (shipped name, CSV path or RateTable). Default (None / ``"auto"``): the
        shipped tables declared for the scheme's cancer and sex (today only female breast:
        US SEER incidence and US female competing mortality, iCARE example data). Never
        another cancer's table: with no matching table an absolute-risk scheme, or a pathway
        needing risks (risk-equivalent age), is refused (CalibrationError saying which table
        to supply); a percentile or relative-risk scheme runs without absolute risks.
        ``mortality=None`` ignores competing death. A table whose declared cancer or sex
        (``# cancer:`` / ``# sex:``) differs from the scheme's is refused.
    groups
        Group label per sample ID, selecting the group's reference when ``reference`` holds
        one reference per group (ancestry-aware percentiles and z-scores).
    z_method
        ``"moments"`` (default) or ``"rank"`` (see :meth:`Reference.z`).
    benchmark_age, benchmark_years
        Report each person's risk-equivalent age: the first age at which their
        ``benchmark_years``-year risk reaches the population-average risk at ``benchmark_age``
        (e.g. 50 and 10: the average 10-year risk at the screening start age). Default: the
        pathway's own benchmark if it has one (colorectal), else not computed.
    pcs
        Principal components of the samples (table or file with ``IID``/``sample_id`` and
        ``PC1``...), projected onto the reference panel: z-scores are then ancestry-adjusted
        (:mod:`prs.calibrate.ancestry`) and percentiles are ``100 * Phi(z)``.
    ancestry
        The fitted :class:`~prs.calibrate.ancestry.AncestryAdjustment`; default the one stored
        in the ``reference`` file (``prs calibrate --pcs``).
    ancestry_method
        ``"mean+variance"`` (default, pgsc_calc ``Z_norm2``) or ``"mean"`` (``Z_norm1``).
    population
        Each person's most similar reference population
        (:func:`prs.ancestry.similarity.most_similar_population` on their PCs): each person is
        placed in the ``reference`` of that population (a mapping or a file of per-population
        references, e.g. ``prs calibrate --groups`` with the reference panel's labels), and
        the rows name the population, the reference used, the RF probability, the distances
        from the reference and the support decision; a person the support rule declines gets
        no percentile, z or category (``category_note`` says why). Not with ``groups`` or
        ``pcs``.
    risk_population
        The population over which relative risks average 1 and the baseline hazard is
        derived: ``"normal"`` (default; z ~ N(0, 1), RR = exp(b z - b^2/2)) or ``"reference"``
        (the empirical reference's own z-scores, as iCARE averages over a reference data set;
        needs a single empirical reference and per-SD risks).
    sex
        Each person's sex (one value, an aligned sequence, or a mapping / Series sample ID ->
        sex; female/male, F/M or PLINK 2/1, 0 or empty = unknown). Under a sex-specific
        scheme a person of the other sex is refused and a person of unknown sex gets no
        category (``category_note`` says why); None: not checked (a warning, recorded in
        ``inputs["binding_unchecked"]``).
    allow_mismatch
        Research override: a score whose trait (``trait_efo``) is not the scheme's cancer, a
        rate table of another cancer or sex, or people of the other sex are let through with
        a warning, and the override is written into every affected row (``binding_override``)
        and into ``inputs["binding_overrides"]``.
    development_ancestry
        The ancestry of the samples the score was developed in (e.g. "European"), for the
        ``statement_development_ancestry`` column; default the score's metadata if the scores
        table carries it, else "not stated".
    or_per_sd_ci
        The 95 % confidence interval ``(lo, hi)`` of ``or_per_sd`` (e.g. ``(1.57, 1.65)``
        for PGS000004): propagated into the intervals and category probabilities. Without
        it the OR per SD is taken as exact (``inputs["uncertainty"]["not_propagated"]``
        says so).
    uncertainty
        Compute each person's 95 % intervals (``<risk>_lo``/``_hi``,
        ``scheme_measure_lo``/``_hi``), category probabilities (``p_<category>``) and the
        ``near_threshold`` flag (default True) whenever at least one source is available:
        the OR per SD's interval, the reference's ``n``, coverage (``coverage`` or
        ``scorefile`` + ``match_report``), missing calls (``MISSING_CT``/``VARIANTS_USED``
        of a ``prs score`` table) or ``genotype_variance``. See
        :mod:`prs.calibrate.uncertainty` and docs/calibrate.md, "Uncertainty".
    coverage
        ``rho^2``, the share of the full score's variance the matched variants carry (a
        number or a :class:`~prs.calibrate.uncertainty.Coverage`); default computed from
        ``scorefile`` and ``match_report`` when both are given, else not propagated.
    scorefile, match_report
        The scoring file and ``prs score``'s ``match_report.tsv``, for ``coverage``
        (:func:`~prs.calibrate.uncertainty.coverage_from_match`).
    genotype_variance
        Per-sample variance of the score from dosage uncertainty (score units squared;
        mapping, Series or a TSV ``sample_id``, ``GENOTYPE_VAR``), e.g. from
        :func:`~prs.calibrate.uncertainty.genotype_variance_from_vcf`; default the scores
        table's ``GENOTYPE_VAR`` column when it has one.
    near_threshold
        ``near_threshold`` is True where the most likely category's probability is below
        this (default 0.8: at least a 1 in 5 chance of another category).
    risk_factors
        Risk factors beside the PRS (issue 11, item 5): a
        :class:`~prs.calibrate.risk_factors.RiskFactors` or a TSV (``sample_id``, ``log_rr``
        or ``rr`` from other factors, ``family_history`` = number of affected first-degree
        relatives; docs/risk-factors.md). Combined with the PRS as iCARE does: the
        family-history relative risk attenuated for the PRS (``log RR_fh - k var(PRS log
        RR) / 2``), the baseline hazard derived over the population split by family history.
        ``relative_risk`` and every risk are then the total; ``relative_risk_prs``,
        ``log_rr_prs``, ``log_rr_family_history``, ``log_rr_other`` give the parts and
        ``model`` (every run) says what each person's risk rests on. None (default): PRS
        only.
    family_history_model, family_history_rr, family_history_prevalence, family_history_source
        The family-history relative risks: a shipped model (``"breast-cghfbc-2001"``) or your
        own relative risk(s) with their population prevalence and source (no default). A
        shipped model of another cancer than the scheme's is refused (unless
        ``allow_mismatch``).
    other_source, other_population
        What the other factors come from; their log RRs over a population sample (TSV
        ``log_rr``/``rr`` [+ ``weight``], or ``(log_rr, weights)``); without it their RR must
        average 1 over the population.
    rates_population
        Population of the shipped rate tables when several are shipped for the scheme's
        cancer and sex (e.g. ``"England"`` or ``"United States"`` for female breast); default
        the table declared as default. Ignored for a table named by ``incidence``.

    Returns
    -------
    Categorisation
        ``.to_frame()`` gives one row per person, with ``scheme_kind`` (guideline, trial
        protocol, derived, illustrative) and, with a pathway, ``pathway_kind`` and the action
        relative to the current age: ``pathway_status`` ("starts at age N", "in progress",
        "ended at age N", "no age limits", "age unknown"), the screening fields of the stage
        in progress or next (empty once every stage is past), ``pathway_referral`` and
        ``pathway_chemoprevention``.

    Raises
    ------
    CalibrationError
        Missing inputs the scheme needs (age, or_per_sd), unknown names, unusable files; a
        score, rate table, pathway or person that is not what the scheme is for (cancer or
        sex), unless ``allow_mismatch``; no rate table for the scheme's cancer when it needs
        absolute risks.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> ref = build_reference(rng.normal(size=2000), check=False)
    >>> out = categorise([0.0, 2.5], reference=ref, or_per_sd=1.61, age=45)
    >>> out.to_frame()["category"].tolist()
    ['near-population', 'moderate']
    """
    call = dict(locals())  # every argument, for the per-sex runs of a both-sexes scheme
    or_per_sd, log_or_se = _effect_size(or_per_sd, or_per_sd_ci, near_threshold)
    run = _Run.of(call, or_per_sd=or_per_sd, log_or_se=log_or_se)
    col = read_scores(scores, score_id=score_id, column=column)
    bound = _bind(col, call)
    by_sex = _tables_by_sex(
        bound.scheme,
        incidence,
        mortality,
        rates_population,
        bound.sexes,
        has_effect=or_per_sd is not None or percentile_bands is not None,
        needs_rates=_needs_rates(bound.scheme, bound.pathway, benchmark_age),
    )
    if by_sex is not None:
        return _categorise_by_sex(call, by_sex, bound)
    placed = _place(run, col, reference, groups, pcs, ancestry, ancestry_method, population)
    effect = _relative_risk(run, bound, placed, percentile_bands)
    rates = _rates(run, bound, effect, incidence, mortality, benchmark_age)
    risks = _absolute_risks(run, rates.model, effect.log_rr, bound.ages)
    measured = _measure_and_category(bound, placed, effect, rates.model)
    bench = _benchmark(bound.pathway, rates.model, effect.log_rr, benchmark_age, benchmark_years)
    actions = _apply_pathway(bound.pathway, measured.category, bench.equivalent_age, bound.ages)
    point = _Point(run, bound, placed, effect, rates, risks, measured)
    unc_columns, unc_info = _intervals(point)
    inputs = _inputs(point, bench, unc_info)
    return _result(point, bench, actions, inputs, unc_columns)


# -- the steps of categorise, in order -------------------------------------------------------
# Each step is called by categorise itself; its warnings (prs.errors.warn) point at the line
# that called categorise, however deep they are raised (tests/test_calibrate_categorise_steps.py).
@dataclass(frozen=True)
class _Run:
    """The arguments of one :func:`categorise` run that its later steps read."""

    scores: Any
    column: str
    z_method: str
    risk_population: str
    horizons: Sequence[int]
    lifetime_to_age: int
    or_per_sd: float | None  # checked (check_or_per_sd)
    or_per_sd_ci: Sequence[float] | None
    log_or_se: float
    uncertainty: bool
    coverage: float | Coverage | None
    scorefile: Any
    match_report: Any
    genotype_variance: Any
    near_threshold: float
    development_ancestry: str | None
    rates_population: str | None

    @classmethod
    def of(cls, call: Mapping[str, Any], **checked: Any) -> _Run:
        """The run's arguments from ``call`` (``locals()`` of categorise), ``checked`` ones
        replaced by their checked values."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{**{k: v for k, v in call.items() if k in names}, **checked})


@dataclass(frozen=True)
class _Bound:
    """The scores and what they are bound to: risk factors, scheme, pathway, ages, sexes."""

    col: Any
    rf: RiskFactors | None
    scheme: CategoryScheme
    pathway: Pathway | None
    ages: np.ndarray
    binding: _Binding
    sexes: np.ndarray | None
    sex_unknown: np.ndarray


@dataclass(frozen=True)
class _Placement:
    """Each person's place in the reference: percentile, z and the reference(s) used."""

    z: np.ndarray
    percentile: np.ndarray
    out_of_range: np.ndarray
    refs: dict[Any, Reference]
    reference_label: str
    group_labels: np.ndarray
    #: the PC ancestry adjustment used (None when the z-scores are not PC-adjusted)
    ancestry: AncestryAdjustment | None
    #: the population columns of each row (empty without ``population``)
    population: dict[str, np.ndarray] = field(default_factory=dict)
    #: the population assignment's settings, for ``inputs`` (None without ``population``)
    population_info: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Effect:
    """Each person's log relative risk and the population it averages over."""

    log_rr: np.ndarray
    bands: PercentileBands | None
    population_z: np.ndarray | None
    combined: CombinedRisk | None


@dataclass(frozen=True)
class _Rates:
    """The rate tables chosen and the absolute-risk model fitted on them (None: no rates)."""

    inc_table: RateTable | None
    mort_table: RateTable | None
    no_rates: str | None
    model: AbsoluteRiskModel | None


@dataclass(frozen=True)
class _Measured:
    """The scheme's measure per person, why some get no category, and the category."""

    value: np.ndarray
    note: np.ndarray
    category: np.ndarray


@dataclass(frozen=True)
class _Benchmark:
    """The risk-equivalent age's benchmark (the pathway's own when not given)."""

    age: int | None
    years: int
    risk: float | None
    equivalent_age: np.ndarray


@dataclass(frozen=True)
class _Point:
    """Every point estimate of a run, for the intervals around them and the result."""

    run: _Run
    bound: _Bound
    placed: _Placement
    effect: _Effect
    rates: _Rates
    risks: dict[str, np.ndarray]
    measured: _Measured


def _effect_size(
    or_per_sd: float | None, or_per_sd_ci: Sequence[float] | None, near_threshold: float
) -> tuple[float | None, float]:
    """The checked OR per SD and the standard error of its log (0 without an interval)."""
    if or_per_sd is not None:
        or_per_sd = check_or_per_sd(or_per_sd)
    if not 0.0 < float(near_threshold) <= 1.0:
        raise CalibrationError(
            f"near_threshold (--near-threshold) {near_threshold!r} is not a probability within "
            "(0, 1]"
        )
    log_or_se = 0.0
    if or_per_sd_ci is not None:
        if or_per_sd is None:
            raise CalibrationError(
                "or_per_sd_ci (--or-per-sd-ci) is the confidence interval of or_per_sd "
                "(--or-per-sd): give both"
            )
        log_or_se = log_or_standard_error(or_per_sd, or_per_sd_ci)
    return or_per_sd, log_or_se


def _bind(col: Any, call: Mapping[str, Any]) -> _Bound:
    """Risk factors, scheme, pathway, ages and sexes, each checked against the scheme.

    Called by :func:`categorise` only: its warnings point at categorise's caller.
    """
    rf = resolve_risk_factors(
        call["risk_factors"],
        sample_ids=col.sample_ids,
        family_history_model=call["family_history_model"],
        family_history_rr=call["family_history_rr"],
        family_history_prevalence=call["family_history_prevalence"],
        family_history_source=call["family_history_source"],
        other_source=call["other_source"],
        other_population=call["other_population"],
    )
    scheme = load_scheme(call["scheme"])
    pathway = _pathway(call["pathway"], scheme)
    ages = _ages(call["age"], col.sample_ids)
    _check_ages_for_scheme(scheme, ages, given=call["age"] is not None)
    binding = _Binding(scheme, col.values.size, allow_mismatch=call["allow_mismatch"])
    binding.check_trait(col)
    binding.check_pathway(pathway)
    binding.check_family_history(rf)
    sexes = _sexes(call["sex"], col.sample_ids)
    sex_unknown = binding.check_sex(sexes, col.sample_ids)
    return _Bound(col, rf, scheme, pathway, ages, binding, sexes, sex_unknown)


def _categorise_by_sex(
    call: Mapping[str, Any], by_sex: Mapping[str, str], bound: _Bound
) -> Categorisation:
    """One run per sex on its own tables, merged; the warnings they share said once."""
    assert bound.sexes is not None
    with warnings.catch_warnings(record=True) as caught:
        runs = {key: categorise(**{**call, "incidence": table}) for key, table in by_sex.items()}
    # each run repeats the warnings of the inputs they share: said once
    said = {f"cannot check: {text}" for text in bound.binding.unchecked}
    for caught_warning in caught:
        text = str(caught_warning.message)
        if text not in said:
            said.add(text)
            warn(text, caught_warning.category)
    return _merge_by_sex(runs, bound.sexes, bound.scheme, bound.pathway)


def _place(
    run: _Run,
    col: Any,
    reference: Any,
    groups: Mapping[str, str] | pd.Series | None,
    pcs: pd.DataFrame | str | os.PathLike[str] | None,
    ancestry: AncestryAdjustment | None,
    ancestry_method: Literal["mean", "mean+variance"],
    population: PopulationSimilarity | None = None,
) -> _Placement:
    """Percentile and z of each score: PC-adjusted with ``pcs``, in its most similar
    population's reference with ``population``, else in its group's reference; scores outside
    the reference range are warned about."""
    if population is not None:
        if pcs is not None or groups is not None:
            raise CalibrationError(
                "population places each person in their most similar population's reference: "
                "give it without groups (--groups) or pcs (--pcs)"
            )
        placed = _place_by_population(run, col, reference, population)
    elif pcs is not None:
        placed = _place_by_pcs(col, reference, pcs, ancestry, ancestry_method)
    else:
        placed = _place_in_references(run, col, reference, groups)
    n = col.values.size
    n_out = int(np.count_nonzero(placed.out_of_range))
    if n_out:
        warn(
            f"{n_out} of {n} scores lie outside the reference range; their percentiles are "
            "clipped (out_of_range column)",
            CalibrationWarning,
        )
    return placed


def _place_by_pcs(
    col: Any,
    reference: Any,
    pcs: pd.DataFrame | str | os.PathLike[str],
    ancestry: AncestryAdjustment | None,
    ancestry_method: Literal["mean", "mean+variance"],
) -> _Placement:
    """z adjusted for the samples' principal components; percentile ``100 Phi(z)``."""
    n = col.values.size
    if ancestry is None and isinstance(reference, str | os.PathLike):
        ancestry = load_ancestry_adjustment(reference)
    if ancestry is None:
        raise CalibrationError(
            "pcs given but no ancestry adjustment: fit one with fit_ancestry_adjustment / "
            "prs calibrate --pcs, or pass ancestry="
        )
    pc_table = read_pcs(pcs) if isinstance(pcs, str | os.PathLike) else pcs
    z = ancestry.z(col.values, pc_table, method=ancestry_method, sample_ids=col.sample_ids)
    return _Placement(
        z=z,
        percentile=adjusted_percentile(z),
        out_of_range=np.zeros(n, dtype=np.int8),
        refs={},
        reference_label=f"PC adjustment ({ancestry_method}, {', '.join(ancestry.pcs)})",
        group_labels=np.full(n, None, dtype=object),
        ancestry=ancestry,
    )


def _place_by_population(
    run: _Run, col: Any, reference: Any, population: PopulationSimilarity
) -> _Placement:
    """Percentile and z in each person's most similar population's reference; none for
    people outside the reference's support (the rule's reason in their row)."""
    rows = population.for_samples(col.sample_ids, "population")
    most = population.most_similar[rows]
    _warn_effect_ancestry(run, col, most[population.supported[rows]])
    placed = _place_in_references(run, col, reference, pd.Series(most, index=col.sample_ids))
    declined = ~population.supported[rows]
    percentile, z = placed.percentile.copy(), placed.z.copy()
    out_of_range = placed.out_of_range.copy()
    percentile[declined] = np.nan
    z[declined] = np.nan
    out_of_range[declined] = 0
    by_name = {str(k): ref for k, ref in placed.refs.items()}
    columns = {
        "population": most.astype(object),
        "population_reference": np.array(
            [f"{by_name[p].label} (n={by_name[p].n})" for p in most], dtype=object
        ),
        "population_probability": population.probability[rows],
        "population_low_confidence": population.low_confidence[rows],
        "projection_distance": population.mahalanobis[rows],
        "projection_distance_p": population.mahalanobis_p[rows],
        "knn_ratio": population.knn_ratio[rows],
        "population_supported": population.supported[rows],
        "population_support_reason": population.support_reason[rows].astype(object),
    }
    return dataclasses.replace(
        placed,
        percentile=percentile,
        z=z,
        out_of_range=out_of_range,
        reference_label=f"most similar population's reference ({placed.reference_label})",
        population=columns,
        population_info={**population.info, "declined": int(declined.sum())},
    )


#: Words of a stated development ancestry that cover each 1000 Genomes / HGDP super-population
#: (pgsc_calc's reference labels); GWAS Catalog ancestry categories use these words.
_ANCESTRY_WORDS = {
    "AFR": ("africa",),
    "AMR": ("hispanic", "latin", "america"),
    "EAS": ("east asia",),
    "EUR": ("europe",),
    "SAS": ("south asia",),
}


def _warn_effect_ancestry(run: _Run, col: Any, populations: np.ndarray) -> None:
    """Warn when the OR per SD is applied to people most similar to a population other than
    the one it was estimated in: PCs place a person; they do not transfer effect sizes."""
    if run.or_per_sd is None or populations.size == 0:
        return
    stated = run.development_ancestry or getattr(col, "development_ancestry", None)
    found = sorted({str(p) for p in populations})
    if not stated:
        outside = found
        said = "in an ancestry not stated"
    else:
        text = str(stated).lower()
        outside = [
            p for p in found if not any(w in text for w in _ANCESTRY_WORDS.get(p, (p.lower(),)))
        ]
        said = f"in {stated}"
    if outside:
        n = int(np.isin(populations, outside).sum())
        warn(
            f"the OR per SD ({run.or_per_sd:g}) was estimated {said}; {n} of "
            f"{populations.size} people are most similar to {', '.join(outside)}: their "
            "percentiles are placed in their own population, but their relative and absolute "
            "risks assume the OR holds there too (effect sizes do not transfer across "
            "ancestries; give development_ancestry / --development-ancestry)",
            CalibrationWarning,
        )


def _place_in_references(
    run: _Run, col: Any, reference: Any, groups: Mapping[str, str] | pd.Series | None
) -> _Placement:
    """Percentile and z of each score in its group's reference (the one reference)."""
    n = col.values.size
    refs, reference_label = _references(reference, col, run.column)
    group_labels = _groups(groups, col.sample_ids, refs)
    percentile = np.empty(n)
    z = np.empty(n)
    out_of_range = np.zeros(n, dtype=np.int8)
    for label in pd.unique(group_labels):
        ref = refs[label]
        mask = group_labels == label
        percentile[mask] = ref.percentile(col.values[mask])
        z[mask] = ref.z(col.values[mask], method=run.z_method)
        out_of_range[mask] = ref.out_of_range(col.values[mask])
        if run.or_per_sd is not None and run.z_method == "moments":
            ref.check()
    return _Placement(z, percentile, out_of_range, refs, reference_label, group_labels, None)


def _relative_risk(run: _Run, bound: _Bound, placed: _Placement, percentile_bands: Any) -> _Effect:
    """Each person's log relative risk (per SD or from percentile bands; combined with the
    risk factors when given) and the population it averages over."""
    bands = (
        read_percentile_bands(percentile_bands)
        if isinstance(percentile_bands, str | os.PathLike)
        else percentile_bands
    )
    or_per_sd, scheme = run.or_per_sd, bound.scheme
    if or_per_sd is not None and bands is not None:
        raise CalibrationError("give or_per_sd or percentile_bands, not both")
    population_z = _population_z(run, placed)
    n = placed.z.size
    if or_per_sd is not None:
        log_rr = log_relative_risk_per_sd(placed.z, or_per_sd=or_per_sd, population_z=population_z)
        # a score hundreds of SDs from its reference (either side): no relative risk to speak
        # of, whatever the limit says; noted per person instead of a category
        log_rr[~(np.abs(log_rr) <= MAX_LOG_RR)] = np.nan
    elif bands is not None:
        log_rr = np.log(relative_risk_from_bands(placed.percentile, bands))
    else:
        log_rr = np.full(n, np.nan)
    combined: CombinedRisk | None = None
    if bound.rf is not None:
        if scheme.measure.kind == "percentile":
            warn(
                f"risk factors given but scheme {scheme.name} categorises the PRS "
                "percentile: they change the absolute risks reported, not the category",
                CalibrationWarning,
            )
        combined = _combine(bound.rf, log_rr, bound.col.sample_ids, or_per_sd, population_z, bands)
        log_rr = combined.log_rr
    needs_rr = scheme.measure.kind in ("absolute_risk", "relative_risk")
    if needs_rr and or_per_sd is None and bands is None:
        raise CalibrationError(
            f"scheme {scheme.name} categorises {scheme.measure.describe()}: give the "
            "score's OR per SD (or_per_sd / --or-per-sd) or percentile_bands"
        )
    return _Effect(log_rr, bands, population_z, combined)


def _population_z(run: _Run, placed: _Placement) -> np.ndarray | None:
    """The z-scores of the population relative risks average over (None: N(0, 1))."""
    if run.risk_population == "reference":
        refs = placed.refs
        only = next(iter(refs.values())) if len(refs) == 1 else None
        if run.or_per_sd is None or only is None or only.kind != "empirical":
            raise CalibrationError(
                "risk_population='reference' needs or_per_sd and one empirical reference "
                "(built from reference-cohort scores with their values kept)"
            )
        assert only.values is not None
        return only.z(only.values, method=run.z_method)
    if run.risk_population != "normal":
        raise CalibrationError(
            f"risk_population '{run.risk_population}' is not normal or reference"
        )
    return None


def _rates(
    run: _Run,
    bound: _Bound,
    effect: _Effect,
    incidence: Any,
    mortality: Any,
    benchmark_age: int | None,
) -> _Rates:
    """The rate tables (checked against the scheme) and the absolute-risk model on them."""
    needs_rates = _needs_rates(bound.scheme, bound.pathway, benchmark_age)
    inc_table: RateTable | None = None
    mort_table: RateTable | None = None
    no_rates = None
    if run.or_per_sd is not None or effect.bands is not None:
        inc_table, mort_table, no_rates = _rate_tables(
            bound.scheme,
            bound.pathway,
            incidence,
            mortality,
            needs_rates=needs_rates,
            population=run.rates_population,
        )
        if no_rates is not None:
            warn(no_rates, CalibrationWarning)
        if inc_table is not None:
            bound.binding.check_table(inc_table, "incidence")
        if mort_table is not None:
            bound.binding.check_table(mort_table, "competing-mortality")
    model = None if inc_table is None else _fit_model(run, effect, inc_table, mort_table)
    return _Rates(inc_table, mort_table, no_rates, model)


def _fit_model(
    run: _Run, effect: _Effect, inc_table: RateTable, mort_table: RateTable | None
) -> AbsoluteRiskModel | None:
    """The absolute-risk model over the population the relative risks average over."""
    or_per_sd, bands, population_z = run.or_per_sd, effect.bands, effect.population_z
    if effect.combined is not None:
        # the population split by family history and other factors (PRS-only path untouched)
        return fit_absolute_risk_model(
            inc_table,
            mort_table,
            population_log_rr=effect.combined.population_log_rr,
            population_weights=effect.combined.population_weights,
        )
    if or_per_sd is not None:
        if population_z is None:
            return fit_absolute_risk_model(inc_table, mort_table, or_per_sd=or_per_sd)
        return fit_absolute_risk_model(
            inc_table,
            mort_table,
            population_log_rr=log_relative_risk_per_sd(
                population_z, or_per_sd=or_per_sd, population_z=population_z
            ),
        )
    if bands is not None:
        return fit_absolute_risk_model(
            inc_table,
            mort_table,
            population_log_rr=np.log(bands.relative_risk / bands.population_average()),
            population_weights=bands.population_weights,
        )
    return None


def _absolute_risks(
    run: _Run, model: AbsoluteRiskModel | None, log_rr: np.ndarray, ages: np.ndarray
) -> dict[str, np.ndarray]:
    """The N-year and lifetime risks from each person's current age (none without a model)."""
    risks: dict[str, np.ndarray] = {}
    if model is not None:
        n = log_rr.size
        for years in run.horizons:
            risks[f"risk_{int(years)}y"] = _safe_risk(model, log_rr, ages, np.full(n, years))
        lifetime_span = np.floor(run.lifetime_to_age - np.floor(ages))
        risks[f"risk_to_{run.lifetime_to_age}"] = _safe_risk(model, log_rr, ages, lifetime_span)
    return risks


def _measure_and_category(
    bound: _Bound, placed: _Placement, effect: _Effect, model: AbsoluteRiskModel | None
) -> _Measured:
    """The scheme's measure, the reason for no category (None: categorised), the category."""
    scheme, ages, log_rr = bound.scheme, bound.ages, effect.log_rr
    measure = scheme.measure
    n = ages.size
    if measure.kind == "percentile":
        value = placed.percentile.copy()
    elif measure.kind == "relative_risk":
        value = np.exp(log_rr)
    else:
        assert model is not None
        start = ages if measure.from_age is None else np.full(n, float(measure.from_age))
        span = (
            np.full(n, float(measure.years))
            if measure.years is not None
            else np.floor(float(measure.to_age or 0) - np.floor(start))
        )
        value = 100.0 * _safe_risk(model, log_rr, start, span)
    note = _category_notes(scheme, ages, log_rr, placed.z, value, model)
    note[bound.sex_unknown & (note == None)] = (  # noqa: E711 (element-wise)
        f"sex unknown: {scheme.name} applies to sex {scheme.sex} only"
    )
    if placed.population:
        declined = ~placed.population["population_supported"]
        note[declined] = placed.population["population_support_reason"][declined]
    value = np.where(note == None, value, np.nan)  # noqa: E711 (element-wise)
    return _Measured(value, note, scheme.assign(value))


def _benchmark(
    pathway: Pathway | None,
    model: AbsoluteRiskModel | None,
    log_rr: np.ndarray,
    benchmark_age: int | None,
    benchmark_years: int,
) -> _Benchmark:
    """Each person's risk-equivalent age against the benchmark (the pathway's own when none
    is given; NaN when there is none)."""
    if benchmark_age is None and pathway is not None and pathway.benchmark_age:
        benchmark_age = int(pathway.benchmark_age)
        benchmark_years = int(pathway.benchmark_years or benchmark_years)
    equivalent_age = np.full(log_rr.size, np.nan)
    benchmark_risk = None
    if benchmark_age is not None:
        if model is None:
            raise CalibrationError(
                "a risk-equivalent age needs absolute risks: give or_per_sd or percentile_bands"
            )
        benchmark_risk = model.population_risk(age_start=benchmark_age, years=benchmark_years)
        finite = ~np.isnan(log_rr)
        equivalent_age[finite] = model.risk_equivalent_age(
            log_rr[finite], years=benchmark_years, benchmark_risk=benchmark_risk
        )
    return _Benchmark(benchmark_age, benchmark_years, benchmark_risk, equivalent_age)


def _intervals(point: _Point) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Intervals and category probabilities (issue 11, item 4), unless ``uncertainty=False``."""
    if not point.run.uncertainty:
        return {}, {"computed": False, "reason": "uncertainty=False"}
    # scores hundreds of SDs out give inf/NaN bounds (their rows carry a note), never a
    # numpy warning
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _uncertainty(point)


def _inputs(point: _Point, bench: _Benchmark, unc_info: dict[str, Any]) -> dict[str, Any]:
    """Every input the run used (``Categorisation.inputs``), the statements last."""
    run, bound, placed, effect, rates = (
        point.run,
        point.bound,
        point.placed,
        point.effect,
        point.rates,
    )
    scheme, pathway, col, model = bound.scheme, bound.pathway, bound.col, rates.model
    inc_table, mort_table, combined = rates.inc_table, rates.mort_table, effect.combined
    inputs = {
        "prs_version": __version__,
        "score_id": col.score_id,
        "column": run.column,
        "scores_source": col.source,
        "reference": placed.reference_label,
        "reference_groups": sorted(str(k) for k in placed.refs),
        "z_method": run.z_method,
        "risk_population": run.risk_population,
        "scheme": scheme.name,
        "scheme_source": scheme.source,
        "scheme_kind": scheme.kind,
        "scheme_measure": scheme.measure.describe(),
        "pathway": None if pathway is None else pathway.name,
        "pathway_source": None if pathway is None else pathway.source,
        "pathway_kind": None if pathway is None else pathway.kind,
        "or_per_sd": run.or_per_sd,
        "percentile_bands": None if effect.bands is None else effect.bands.source,
        "incidence": None if model is None else model.incidence_name,
        "mortality": None if model is None else model.mortality_name,
        "rates_population": run.rates_population,
        "incidence_declared": None if inc_table is None else dict(inc_table.meta),
        "mortality_declared": None if mort_table is None else dict(mort_table.meta),
        "absolute_risks_not_computed": rates.no_rates,
        "scheme_cancer": scheme.cancer,
        "scheme_cancer_efo": list(scheme.cancer_efo),
        "scheme_sex": scheme.sex,
        "score_trait_reported": col.trait_reported,
        "score_trait_efo": list(col.trait_efo),
        "sex_given": bound.sexes is not None,
        "binding_overrides": list(bound.binding.overrides),
        "binding_unchecked": list(bound.binding.unchecked),
        "horizons": [int(h) for h in run.horizons],
        "lifetime_to_age": run.lifetime_to_age,
        "benchmark_age": bench.age,
        "benchmark_years": bench.years if bench.age is not None else None,
        "benchmark_risk": bench.risk,
        "or_per_sd_ci": None if run.or_per_sd_ci is None else [float(v) for v in run.or_per_sd_ci],
        "uncertainty": unc_info,
        "risk_factors": None if combined is None else dict(combined.inputs),
        "population_similarity": placed.population_info,
    }
    model_statement = PRS_ONLY if combined is None else combined.statement_model
    if combined is not None and scheme.measure.kind == "percentile":
        model_statement += "; the category rests on the PRS percentile only"
    inputs["statements"] = _statements(
        col,
        refs=placed.refs,
        reference_label=placed.reference_label,
        ancestry=placed.ancestry,
        incidence=inc_table if model is not None else None,
        mortality=mort_table if model is not None else None,
        development_ancestry=run.development_ancestry,
        model_statement=model_statement,
    )
    return inputs


def _result(
    point: _Point,
    bench: _Benchmark,
    actions: dict[str, np.ndarray],
    inputs: dict[str, Any],
    unc_columns: dict[str, np.ndarray],
) -> Categorisation:
    """The :class:`Categorisation` of a run."""
    bound, placed, effect, measured = point.bound, point.placed, point.effect, point.measured
    col, sexes = bound.col, bound.sexes
    rf_columns: dict[str, np.ndarray] = {}
    if effect.combined is not None:
        rf_columns = dict(effect.combined.columns())
        rf_columns["family_history"] = _family_history_counts(bound.rf, col.sample_ids)
    return Categorisation(
        sample_id=col.sample_ids,
        score=col.values,
        group=np.array([None if g is None else str(g) for g in placed.group_labels], dtype=object),
        percentile=placed.percentile,
        out_of_range=placed.out_of_range,
        z=placed.z,
        relative_risk=np.exp(effect.log_rr),
        age=bound.ages,
        risks=point.risks,
        scheme_measure=measured.value,
        category=measured.category,
        category_note=measured.note,
        actions=actions,
        risk_equivalent_age=bench.equivalent_age,
        inputs=inputs,
        sex=np.full(col.values.size, None, dtype=object) if sexes is None else sexes,
        binding_override=bound.binding.row,
        uncertainty=unc_columns,
        risk_factors=rf_columns,
        population=placed.population,
    )


def run_demo_path(
    scores: ScoresLike,
    *,
    score_id: str | None = None,
    or_per_sd: float = PGS000004_OR,
    or_per_sd_ci: Sequence[float] | Literal["default"] | None = "default",
    age: float = 45.0,
    scheme: str = "nice-cg164-lifetime",
    sex: str | Sequence[Any] | Mapping[str, Any] | pd.Series | None = None,
    scorefile: Any = None,
    match_report: str | os.PathLike[str] | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Run the whole path on a scores table with shipped defaults, for demonstrations.

    The reference is the scores themselves (a :class:`CalibrationWarning` says it is
    self-referential), incidence and mortality are the shipped US SEER breast tables, the
    scheme is NICE CG164 lifetime risk and the pathway its breast surveillance pathway.
    ``or_per_sd`` defaults to 1.61 with its 95 % confidence interval 1.57-1.65, the OR per SD
    of PGS000004 (Mavaddat et al. 2019, Am J Hum Genet 104:21-34; ``or_per_sd_ci="default"``
    is that interval for 1.61 and none for another OR); ``age`` is everybody's
    current age; ``sex`` each person's sex (see :func:`categorise`; None: not checked, a
    warning says so). ``scorefile`` and ``match_report`` (optional) give the coverage of the
    score; with the reference's n, the OR's interval and the table's missing calls they make
    the intervals and category probabilities (``p_<category>``, ``near_threshold``).

    Returns
    -------
    pandas.DataFrame
        :meth:`Categorisation.to_frame` of :func:`categorise`.
    """
    if isinstance(or_per_sd_ci, str):
        or_per_sd_ci = PGS000004_OR_CI if or_per_sd == PGS000004_OR else None
    result = categorise(
        scores,
        score_id=score_id,
        or_per_sd=or_per_sd,
        or_per_sd_ci=or_per_sd_ci,
        age=age,
        scheme=scheme,
        sex=sex,
        scorefile=scorefile,
        match_report=match_report,
    )
    return result.to_frame()


# -- helpers ---------------------------------------------------------------------------------
def _statements(
    col: Any,
    *,
    refs: Mapping[Any, Reference],
    reference_label: str,
    ancestry: AncestryAdjustment | None,
    incidence: RateTable | None,
    mortality: RateTable | None,
    development_ancestry: str | None,
    model_statement: str = PRS_ONLY,
) -> dict[str, str]:
    """The statement fields a report needs beside each result (constant within a run).

    The development ancestry is the user's (``development_ancestry``), else the score's
    metadata when the scores table carries it, else "not stated"; the reference names its
    label, group, n and source; the rates name each table's declared ``# population:`` line.
    """
    stated = development_ancestry or getattr(col, "development_ancestry", None)
    return {
        "statement_score_id": col.score_id or "not stated",
        "statement_development_ancestry": str(stated) if stated else "not stated",
        "statement_reference": _reference_statement(refs, reference_label, ancestry),
        "statement_rates_population": _rates_statement(incidence, mortality),
        # "PRS only", or the risk factors the risks rest on (item 5)
        "statement_model": model_statement,
        "statement_caveats": STATEMENT_CAVEATS,
    }


# -- risk factors beside the PRS ---------------------------------------------------------------
def _prs_nodes(
    or_per_sd: float | None, population_z: np.ndarray | None, bands: PercentileBands | None
) -> tuple[np.ndarray, np.ndarray]:
    """The PRS's population nodes, the same the PRS-only model is fitted over."""
    return prs_population(
        or_per_sd=or_per_sd,
        population_log_rr=None
        if population_z is None or or_per_sd is None
        else log_relative_risk_per_sd(population_z, or_per_sd=or_per_sd, population_z=population_z),
        bands=bands,
    )


def _combine(
    rf: RiskFactors,
    log_rr_prs: np.ndarray,
    sample_ids: np.ndarray,
    or_per_sd: float | None,
    population_z: np.ndarray | None,
    bands: PercentileBands | None,
) -> CombinedRisk:
    """Each person's PRS log RR combined with their risk factors (iCARE's attenuation)."""
    nodes, weights = _prs_nodes(or_per_sd, population_z, bands)
    return combine_risk_factors(
        log_rr_prs,
        sample_ids=sample_ids,
        risk_factors=rf,
        prs_population_log_rr=nodes,
        prs_population_weights=weights,
    )


def _family_history_counts(rf: RiskFactors | None, sample_ids: np.ndarray) -> np.ndarray:
    """Each scored person's affected relatives as given (NaN: unknown, absent or not used)."""
    if rf is None or not rf.uses_family_history or rf.family_history is None:
        return np.full(sample_ids.size, np.nan)
    given = pd.Series(rf.family_history, index=pd.Index(rf.sample_ids.astype(str)))
    return given.reindex(sample_ids.astype(str)).to_numpy(dtype=float)


# -- uncertainty ------------------------------------------------------------------------------
def _uncertainty(point: _Point) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Each person's intervals and category probabilities from the sources available, and
    what was and was not propagated (for ``inputs["uncertainty"]``).

    With risk factors (per-SD risks only), each person's offset (total log RR - PRS log RR)
    is recomputed at every OR per SD ``b`` and the model re-derived over the combined
    population at ``b``, so iCARE's family-history attenuation (``- k var(PRS log RR) / 2``,
    ``var = b^2``) follows ``b``; the factors' own relative risks are taken as exact.
    """
    run = point.run
    propagated: dict[str, Any] = {}
    not_propagated: dict[str, str] = {}
    if _risk_factors_of(point) is not None:
        if run.or_per_sd is None:
            return {}, _bands_with_risk_factors(run, not_propagated)
        not_propagated["risk_factors"] = (
            "the family-history and other-factor relative risks are taken as exact (their "
            "confidence intervals are not given); the family-history attenuation and the "
            "baseline follow the OR per SD; an unknown family history is averaged given the "
            "person's point PRS"
        )
    _effect_sources(point, propagated, not_propagated)
    var_ref_z, var_ref_pct = _reference_variance(point, propagated, not_propagated)
    var_geno = _genotype_variance_z(point, propagated, not_propagated)
    cover = _coverage(point, propagated, not_propagated)
    info: dict[str, Any] = {
        "level": LEVEL,
        "propagated": propagated,
        "not_propagated": not_propagated,
        "near_threshold": run.near_threshold,
    }
    if not propagated:
        info.update(computed=False, reason="no source of uncertainty available")
        return {}, info
    rho2 = 1.0 if cover is None else cover.rho2
    z_mean, z_var = full_score_z(point.placed.z, var_ref_z + var_geno, rho2)
    columns_out: dict[str, np.ndarray] = {}
    effect = None
    if run.or_per_sd is not None:
        effect = _effect_uncertainty(point)
        if point.rates.model is not None:
            spans = _risk_spans(point)
            for name, risk_point in point.risks.items():
                spread = _risk_spread(
                    effect, z_mean, z_var, age_start=point.bound.ages, years=spans[name],
                    point=risk_point,
                )  # fmt: skip
                columns_out[f"{name}_lo"] = spread.lo
                columns_out[f"{name}_hi"] = spread.hi
    pct = full_score_z(_percentile_z(point.placed.percentile), var_ref_pct + var_geno, rho2)
    _measure_intervals(point, effect, (z_mean, z_var), pct, columns_out, info)
    info.update(
        computed=True,
        method=(
            "full-score z ~ N(rho z, rho^2 v + 1 - rho^2); log RR eta normal with variance "
            "(b^2 + se^2) var_z + (d eta/d b)^2 se^2, d eta/d b by central differences with the "
            "baseline re-derived at b +- se; risks monotone in eta (exact transform); see "
            "docs/calibrate.md, Uncertainty"
        ),
    )
    return columns_out, info


def _risk_factors_of(point: _Point) -> RiskFactors | None:
    """The risk factors the point risks were combined with (None: PRS only)."""
    return point.bound.rf if point.effect.combined is not None else None


def _bands_with_risk_factors(run: _Run, not_propagated: dict[str, str]) -> dict[str, Any]:
    """``inputs["uncertainty"]`` for percentile bands with risk factors: no intervals."""
    # the bands' discrete intervals are PRS-only: never shown beside a combined risk
    not_propagated["risk_factors"] = (
        "intervals not computed: with percentile bands the risk intervals would be the "
        "PRS's alone, not of the PRS combined with the risk factors"
    )
    return {
        "computed": False,
        "reason": "risk factors with percentile bands (see not_propagated)",
        "level": LEVEL,
        "propagated": {},
        "not_propagated": not_propagated,
        "near_threshold": run.near_threshold,
    }


def _effect_sources(
    point: _Point, propagated: dict[str, Any], not_propagated: dict[str, str]
) -> None:
    """(a) The OR per SD's interval, or why the effect size is taken as exact."""
    run = point.run
    if run.or_per_sd is not None and run.or_per_sd_ci is not None:
        propagated["or_per_sd_ci"] = {
            "ci": [float(v) for v in run.or_per_sd_ci],
            "log_or_se": run.log_or_se,
        }
    elif run.or_per_sd is not None:
        not_propagated["or_per_sd"] = (
            "no confidence interval given (or_per_sd_ci / --or-per-sd-ci): the OR per SD is "
            "taken as exact"
        )
    if point.effect.bands is not None:
        not_propagated["percentile_bands"] = (
            "the bands' own relative risks are taken as exact (their confidence intervals are "
            "not given); the uncertainty of each person's band is propagated"
        )


def _reference_variance(
    point: _Point, propagated: dict[str, Any], not_propagated: dict[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """(b) The reference: variance of each person's z, for risks and for percentiles."""
    placed, z_method = point.placed, point.run.z_method
    z, percentile, ancestry = placed.z, placed.percentile, placed.ancestry
    n = z.size
    var_ref_z = np.zeros(n)
    var_ref_pct = np.zeros(n)
    if ancestry is not None:
        var_ref_z = reference_z_variance(z, percentile, n=ancestry.n, by_percentile=False)
        propagated["reference"] = {
            "kind": "PC adjustment",
            "n": int(ancestry.n),
            "model": "1/n + z^2/(2(n-1)) (the adjustment's own parameters approximated by a "
            "mean and SD)",
        }
        return var_ref_z, var_ref_z
    used: list[dict[str, Any]] = []
    for label, ref in placed.refs.items():
        mask = placed.group_labels == label
        name = ref.label if label is None else f"{ref.label} (group {label})"
        if ref.n is None:
            not_propagated[f"reference {name}"] = (
                f"{ref.kind} reference without n (published parameters): its sampling "
                "error is not known"
            )
            continue
        rank = ref.kind != "parametric"
        var_ref_z[mask] = reference_z_variance(
            z[mask], percentile[mask], n=ref.n, by_percentile=rank and z_method == "rank"
        )
        var_ref_pct[mask] = reference_z_variance(
            z[mask], percentile[mask], n=ref.n, by_percentile=rank
        )
        used.append(
            {
                "reference": name,
                "kind": ref.kind,
                "n": int(ref.n),
                "z": "percentile binomial p(1-p)/n / phi(z)^2"
                if rank and z_method == "rank"
                else "1/n + z^2/(2(n-1))",
                "percentile": "binomial p(1-p)/n" if rank else "1/n + z^2/(2(n-1))",
            }
        )
    if used:
        propagated["reference"] = used
    return var_ref_z, var_ref_pct


def _genotype_variance_z(
    point: _Point, propagated: dict[str, Any], not_propagated: dict[str, str]
) -> np.ndarray:
    """(c) Genotypes: each person's score variance from missing calls and dosage
    uncertainty, in z units (divided by the reference variance)."""
    placed = point.placed
    n = placed.z.size
    ref_var = np.full(n, np.nan)  # the reference variance, to put score variances in z units
    if placed.ancestry is not None:
        ref_var[:] = float(placed.ancestry.residual_sd) ** 2
    else:
        for label, ref in placed.refs.items():
            ref_var[placed.group_labels == label] = ref.sd**2
    var_geno = _missing_call_variance(point, ref_var, propagated, not_propagated)
    per_sample, source = _dosage_variance(point)
    if per_sample is not None:
        var_geno += np.nan_to_num(per_sample, nan=0.0) / ref_var
        propagated["genotype_variance"] = {
            "source": source,
            "people": int(np.count_nonzero(np.isfinite(per_sample))),
            "model": "GENOTYPE_VAR (sum of w^2 Var(dosage | GP)) / reference variance",
        }
    else:
        not_propagated["genotype_variance"] = (
            "no per-person dosage variance given (genotype_variance / --genotype-var; "
            "prs.calibrate.uncertainty.genotype_variance_from_vcf computes it from GP)"
        )
    return var_geno


def _missing_call_variance(
    point: _Point,
    ref_var: np.ndarray,
    propagated: dict[str, Any],
    not_propagated: dict[str, str],
) -> np.ndarray:
    """Each person's z variance from their missing calls (zero when the table cannot say)."""
    scores, col = point.run.scores, point.bound.col
    var_geno = np.zeros(ref_var.size)
    exact_missing = table_variance_column(
        scores, col.sample_ids, "MISSING_VAR", score_id=col.score_id
    )
    share, columns = missing_call_fraction(scores, col.sample_ids, score_id=col.score_id)
    if exact_missing is not None:
        var_geno += np.nan_to_num(exact_missing, nan=0.0) / ref_var
        propagated["missing_calls"] = {
            "columns": "MISSING_VAR (sum of w^2 2p(1-p) over each person's missing calls)",
            "people_with_missing_calls": int(np.count_nonzero(np.nan_to_num(exact_missing) > 0)),
            "assumption": "mean-imputed calls; MISSING_VAR divided by the reference variance",
        }
    elif share is not None:
        var_geno += np.nan_to_num(share, nan=0.0)
        propagated["missing_calls"] = {
            "columns": columns,
            "people_with_missing_calls": int(np.count_nonzero(np.nan_to_num(share) > 0)),
            "assumption": "mean-imputed calls (prs score and PLINK 2 default); each missing "
            "call adds the average variant's share of the partial score's variance",
        }
    else:
        not_propagated["missing_calls"] = (
            "the scores table has no MISSING_CT/VARIANTS_USED (or ALLELE_CT/DENOM) columns"
        )
    return var_geno


def _dosage_variance(point: _Point) -> tuple[np.ndarray | None, str]:
    """Each person's score variance from dosage uncertainty (score units squared) and where
    it came from: the user's ``genotype_variance``, else the table's GENOTYPE_VAR column."""
    run, col = point.run, point.bound.col
    genotype_variance = run.genotype_variance
    if genotype_variance is None:
        in_table = table_variance_column(
            run.scores, col.sample_ids, "GENOTYPE_VAR", score_id=col.score_id
        )
        return in_table, "GENOTYPE_VAR column of the scores table"
    gv = (
        read_genotype_variance(genotype_variance)
        if isinstance(genotype_variance, str | os.PathLike)
        else pd.Series(genotype_variance, dtype=float)
    )
    return by_sample(gv, col.sample_ids).to_numpy(float), "genotype_variance / --genotype-var"


def _coverage(
    point: _Point, propagated: dict[str, Any], not_propagated: dict[str, str]
) -> Coverage | None:
    """The share of the full score's variance the matched variants carry (None: not given)."""
    run, col = point.run, point.bound.col
    coverage, scorefile, match_report = run.coverage, run.scorefile, run.match_report
    cover: Coverage | None = None
    if coverage is not None:
        cover = coverage if isinstance(coverage, Coverage) else Coverage(rho2=float(coverage))
    elif scorefile is not None and match_report is not None:
        cover = coverage_from_match(scorefile, match_report, score_id=col.score_id)
    elif scorefile is not None or match_report is not None:
        raise CalibrationError(
            "coverage needs both the scoring file and prs score's match report "
            "(scorefile= and match_report= / --scorefile and --match-report)"
        )
    if cover is not None:
        propagated["coverage"] = cover.as_dict()
    else:
        not_propagated["coverage"] = (
            "no coverage given (coverage= / --coverage, or the scoring file and match report): "
            "the matched variants are taken as the whole score"
        )
    return cover


def _effect_uncertainty(point: _Point) -> EffectUncertainty:
    """The OR per SD's uncertainty: its log, SE, the centre ``c(b)`` (with the risk factors'
    per-person offsets) and the model re-derived at each ``b`` (None without rates)."""
    run, rates, effect = point.run, point.rates, point.effect
    assert run.or_per_sd is not None
    population_z, model = effect.population_z, rates.model
    inc_table, mort_table = rates.inc_table, rates.mort_table
    prs_centre = normal_centre if population_z is None else reference_centre(population_z)
    cache: dict[float, AbsoluteRiskModel] = {}
    combined_at = _combined_at(
        _risk_factors_of(point), point.bound.col.sample_ids, point.placed.z, population_z,
        prs_centre,
    )  # fmt: skip

    def model_at(b: float) -> AbsoluteRiskModel:
        if b not in cache:
            assert inc_table is not None
            if combined_at is not None:
                at_b = combined_at(b)
                cache[b] = fit_absolute_risk_model(
                    inc_table,
                    mort_table,
                    population_log_rr=at_b.population_log_rr,
                    population_weights=at_b.population_weights,
                )
            elif population_z is None:
                cache[b] = fit_absolute_risk_model(inc_table, mort_table, or_per_sd=math.exp(b))
            else:
                cache[b] = fit_absolute_risk_model(
                    inc_table,
                    mort_table,
                    population_log_rr=b * population_z - prs_centre(b),
                )
        return cache[b]

    centre: Any = prs_centre
    if combined_at is not None:
        # eta = b z - c(b) + offset(b): the offset enters as a per-person "centre"
        def centre(bb: float) -> Any:
            at_b = combined_at(bb)
            return prs_centre(bb) - (at_b.log_rr - at_b.log_rr_prs)

    b = math.log(run.or_per_sd)
    if model is not None:
        cache[b] = model
    return EffectUncertainty(b, run.log_or_se, centre, model_at if model is not None else None)


def _risk_spans(point: _Point) -> dict[str, np.ndarray]:
    """The years each reported risk spans from each person's current age, by column name."""
    run, ages = point.run, point.bound.ages
    n = ages.size
    lifetime_span = np.floor(run.lifetime_to_age - np.floor(ages))
    spans = {f"risk_{int(h)}y": np.full(n, float(h)) for h in run.horizons}
    spans[f"risk_to_{run.lifetime_to_age}"] = lifetime_span
    return spans


def _percentile_z(percentile: np.ndarray) -> np.ndarray:
    """The percentile's own z (rank z of an empirical reference), for percentile schemes and
    percentile bands."""
    from scipy import stats  # (imported when used: ~0.3 s that scoring runs need not pay)

    return np.clip(
        np.where(
            percentile <= 50.0,
            stats.norm.ppf(percentile / 100.0),
            stats.norm.isf((100.0 - percentile) / 100.0),
        ),
        -40.0,
        40.0,
    )


def _measure_window(point: _Point) -> tuple[np.ndarray, np.ndarray]:
    """Start age and years of the scheme's absolute-risk measure for each person."""
    m, ages = point.bound.scheme.measure, point.bound.ages
    n = ages.size
    measure_start = ages if m.from_age is None else np.full(n, float(m.from_age))
    measure_span = (
        np.full(n, float(m.years))
        if m.years is not None
        else np.floor(float(m.to_age or 0) - np.floor(measure_start))
    )
    return measure_start, measure_span


def _band_intervals(
    point: _Point, pct: tuple[np.ndarray, np.ndarray], columns_out: dict[str, np.ndarray]
) -> tuple[Any, Any]:
    """With percentile bands: each risk's interval over the bands a person may be in (into
    ``columns_out``), and the measure's spread and category probabilities (None, None when
    the measure has no band values)."""
    bands, model, scheme = point.effect.bands, point.rates.model, point.bound.scheme
    assert bands is not None
    m, ages, measured = scheme.measure, point.bound.ages, point.measured
    # each band's relative risk (average 1) and the probability of each band
    band_lrr = np.log(bands.relative_risk / bands.population_average())
    band_p = band_probabilities(bands, *pct)
    if model is not None:
        spans = _risk_spans(point)
        for name, risk_point in point.risks.items():
            values = band_risks(
                model, band_lrr, age_start=ages, years=spans[name], valid=np.isfinite(risk_point)
            )
            one = discrete_spread(values, band_p, risk_point)
            columns_out[f"{name}_lo"] = one.lo
            columns_out[f"{name}_hi"] = one.hi
    band_values = None
    if m.kind == "relative_risk":
        band_values = np.broadcast_to(np.exp(band_lrr), band_p.shape)
    elif m.kind == "absolute_risk" and model is not None:
        measure_start, measure_span = _measure_window(point)
        band_values = 100.0 * band_risks(
            model,
            band_lrr,
            age_start=measure_start,
            years=measure_span,
            valid=np.isfinite(measured.value),
        )
    if band_values is None:
        return None, None
    spread = discrete_spread(band_values, band_p, measured.value)
    return spread, discrete_category_probabilities(scheme, band_values, band_p, measured.category)


def _measure_spread(
    point: _Point,
    effect: EffectUncertainty | None,
    z: tuple[np.ndarray, np.ndarray],
    pct: tuple[np.ndarray, np.ndarray],
    spread: Any,
) -> Any:
    """The scheme measure's interval from the per-SD effect or the percentile (``spread``,
    the bands' one, otherwise)."""
    scheme, value = point.bound.scheme, point.measured.value
    m = scheme.measure
    thresholds = scheme_thresholds(scheme)
    if m.kind == "percentile":
        return percentile_interval(*pct, point=value, thresholds=thresholds)
    if effect is not None and m.kind == "relative_risk":
        return relative_risk_interval(effect, *z, point=value, thresholds=thresholds)
    if effect is not None and m.kind == "absolute_risk" and effect.model_at is not None:
        measure_start, measure_span = _measure_window(point)
        risk_spread = _risk_spread(
            effect,
            *z,
            age_start=measure_start,
            years=measure_span,
            point=value / 100.0,
            thresholds=[t / 100.0 for t in thresholds],
        )
        return dataclasses.replace(
            risk_spread, lo=100.0 * risk_spread.lo, hi=100.0 * risk_spread.hi
        )
    return spread


def _measure_intervals(
    point: _Point,
    effect: EffectUncertainty | None,
    z: tuple[np.ndarray, np.ndarray],
    pct: tuple[np.ndarray, np.ndarray],
    columns_out: dict[str, np.ndarray],
    info: dict[str, Any],
) -> None:
    """The scheme measure's interval, category probabilities and near_threshold flags (into
    ``columns_out``; the count into ``info``), or why there is none."""
    scheme, category = point.bound.scheme, point.measured.category
    m = scheme.measure
    spread = None
    probabilities = None
    if point.effect.bands is not None:
        spread, probabilities = _band_intervals(point, pct, columns_out)
    if m.kind == "percentile":
        probabilities = None
    spread = _measure_spread(point, effect, z, pct, spread)
    if spread is None:
        info["not_propagated"]["scheme_measure"] = (
            f"{m.describe()}: no interval (risks need or_per_sd or percentile_bands and rate "
            "tables)"
        )
        return
    columns_out["scheme_measure_lo"] = spread.lo
    columns_out["scheme_measure_hi"] = spread.hi
    if probabilities is None:
        probabilities = category_probabilities(scheme, spread, category)
    for label, p in probabilities.items():
        columns_out[f"p_{label}"] = p
    columns_out["near_threshold"] = near_threshold_flags(
        probabilities, category, point.run.near_threshold
    )
    flagged = columns_out["near_threshold"]
    info["near_threshold_count"] = int(np.count_nonzero(flagged == True))  # noqa: E712


def _combined_at(
    risk_factors: RiskFactors | None,
    sample_ids: np.ndarray,
    z: np.ndarray,
    population_z: np.ndarray | None,
    prs_centre: Any,
) -> Any:
    """``b -> CombinedRisk`` at OR per SD ``exp(b)`` (cached; None without risk factors):
    the PRS's log RR ``b z - c(b)`` and its population at ``b``, combined with the factors."""
    if risk_factors is None:
        return None
    cache: dict[float, CombinedRisk] = {}

    def at(b: float) -> CombinedRisk:
        if b not in cache:
            log_rr_prs = b * z - prs_centre(b)
            log_rr_prs[~(np.abs(log_rr_prs) <= MAX_LOG_RR)] = np.nan
            nodes, weights = _prs_nodes(math.exp(b), population_z, None)
            with warnings.catch_warnings():
                # absent samples were warned about once, by the point estimate
                warnings.simplefilter("ignore", CalibrationWarning)
                cache[b] = combine_risk_factors(
                    log_rr_prs,
                    sample_ids=sample_ids,
                    risk_factors=risk_factors,
                    prs_population_log_rr=nodes,
                    prs_population_weights=weights,
                )
        return cache[b]

    return at


def _risk_spread(
    effect: EffectUncertainty,
    z_mean: np.ndarray,
    z_var: np.ndarray,
    *,
    age_start: np.ndarray,
    years: np.ndarray,
    point: np.ndarray,
    thresholds: Sequence[float] = (),
) -> Any:
    """:func:`~prs.calibrate.uncertainty.risk_interval` where ``effect.centre`` may return
    one value per person (risk factors' offsets): computed on the people it keeps, whose
    per-person centre then lines up with theirs."""
    probe = effect.centre(effect.log_or)
    if np.ndim(probe) == 0:
        return risk_interval(
            effect,
            z_mean,
            z_var,
            age_start=age_start,
            years=years,
            point=point,
            thresholds=thresholds,
        )
    n = point.size
    ok = np.isfinite(point) & np.isfinite(z_mean) & np.isfinite(z_var) & np.isfinite(probe)
    sub = dataclasses.replace(effect, centre=lambda bb: np.asarray(effect.centre(bb))[ok])
    part = risk_interval(
        sub,
        z_mean[ok],
        z_var[ok],
        age_start=np.asarray(age_start)[ok],
        years=np.asarray(years)[ok],
        point=point[ok],
        thresholds=thresholds,
    )

    def full(values: np.ndarray | None) -> np.ndarray | None:
        if values is None:
            return None
        out = np.full((*values.shape[:-1], n), np.nan)
        out[..., ok] = values
        return out

    return dataclasses.replace(
        part,
        lo=full(part.lo),
        hi=full(part.hi),
        below=full(part.below),
        sd=full(part.sd),
        above=full(part.above),
    )


def _reference_statement(
    refs: Mapping[Any, Reference], reference_label: str, ancestry: AncestryAdjustment | None
) -> str:
    """Reference population(s), their n and source, as one line."""
    if ancestry is not None:
        return f"{reference_label}, fitted on a reference panel of n={ancestry.n}"
    parts = []
    for label, ref in refs.items():
        source = (
            _recorded_source(ref.provenance)
            or (
                "the scored samples themselves (self-referential)"
                if label is None and reference_label.startswith("self")
                else None
            )
            or "source not recorded"
        )
        group = f"group {ref.group or label}, " if (ref.group or label) is not None else ""
        n = "n unknown" if ref.n is None else f"n={ref.n}"
        parts.append(f"{ref.label}: {group}{n}, {ref.kind}, from {source}")
    return "; ".join(parts) if parts else reference_label


def _recorded_source(provenance: Mapping[str, Any]) -> str | None:
    """Where a reference came from, as its provenance records it: the citation given
    (``options["source"]``) and the file read (``source["path"]``, see
    :func:`prs.provenance.file_record`), either or both; None when neither is recorded.

    Examples
    --------
    >>> _recorded_source({"source": {"path": "/data/ref.tsv", "sha256": "0f"}, "options": {}})
    '/data/ref.tsv'
    >>> _recorded_source({"source": {"path": "/t.tsv"}, "options": {"source": "UKB controls"}})
    'UKB controls (/t.tsv)'
    >>> _recorded_source({"source": None, "options": {"keep_values": True}}) is None
    True
    """
    section = provenance.get("source")
    path = section.get("path") if isinstance(section, Mapping) else None
    options = provenance.get("options")
    citation = options.get("source") if isinstance(options, Mapping) else None
    if path and citation:
        return f"{citation} ({path})"
    return str(path or citation) if (path or citation) else None


def _rates_statement(incidence: RateTable | None, mortality: RateTable | None) -> str:
    """The rate tables' declared populations (``# population:``), as one line."""
    if incidence is None:
        return "no rate tables used (no absolute risks computed)"
    parts = []
    for role, table in (("incidence", incidence), ("competing mortality", mortality)):
        if table is None:
            continue
        population = table.meta.get("population") or "population not declared"
        extra = ", ".join(
            f"{key} {table.meta[key]}" for key in ("registry", "years") if table.meta.get(key)
        )
        parts.append(f"{role} {table.name}: {population}" + (f" ({extra})" if extra else ""))
    if mortality is None:
        parts.append("competing mortality ignored")
    return "; ".join(parts)


def _pathway(
    pathway: str | os.PathLike[str] | Pathway | None, scheme: CategoryScheme
) -> Pathway | None:
    if pathway is None:
        return None
    if isinstance(pathway, str) and pathway == "default":
        return None if scheme.default_pathway is None else load_pathway(scheme.default_pathway)
    loaded = load_pathway(pathway)
    unknown = [label for label in scheme.labels if label not in loaded.actions]
    if unknown:
        raise CalibrationError(
            f"pathway {loaded.name} has no action for categories {unknown} of scheme "
            f"{scheme.name}; add [actions.<label>] entries or pick a matching pathway"
        )
    return loaded


def _references(
    reference: Reference | Mapping[str | None, Reference] | str | os.PathLike[str] | None,
    col: Any,
    column: str,
) -> tuple[dict[Any, Reference], str]:
    if reference is None:
        warn(
            f"no reference given: percentiles and z-scores are relative to these {col.values.size}"
            " scores themselves (self-referential); build a reference from a reference cohort "
            "with build_reference / prs calibrate",
            CalibrationWarning,
        )
        ref = build_reference(col.values, column=column, check=False)
        ref = dataclasses.replace(ref, score_id=col.score_id)
        return {None: ref}, "self (the scored samples)"
    if isinstance(reference, Reference):
        refs = {None: reference}
        label = reference.label
    elif isinstance(reference, Mapping):
        refs = dict(reference)
        label = "mapping"
    else:
        refs = load_references(reference)
        label = os.fspath(reference)
    for ref in refs.values():
        if ref.score_id and col.score_id and ref.score_id != col.score_id:
            raise CalibrationError(
                f"reference {ref.label} is for score {ref.score_id}, the scores are "
                f"{col.score_id}; use the reference built for this score"
            )
        if ref.column != column:
            raise CalibrationError(
                f"reference {ref.label} was built from column {ref.column}, scores use {column}"
            )
    return refs, label


def _groups(
    groups: Mapping[str, str] | pd.Series | None,
    sample_ids: np.ndarray,
    refs: Mapping[Any, Reference],
) -> np.ndarray:
    if groups is None:
        if len(refs) != 1:
            raise CalibrationError(
                f"the reference holds {len(refs)} groups ({', '.join(map(str, refs))}); give "
                "each sample's group (groups= / --groups)"
            )
        return np.array([next(iter(refs))] * sample_ids.size, dtype=object)
    labels = by_sample(groups, sample_ids)
    missing = labels.isna().to_numpy()
    if missing.any():
        raise CalibrationError(
            f"{int(missing.sum())} samples have no group label (first: "
            f"{sample_ids[np.flatnonzero(missing)[0]]}); give every sample a group"
        )
    labels = labels.astype(str).to_numpy(dtype=object)
    unknown = sorted(set(labels) - {str(k) for k in refs})
    if unknown:
        raise CalibrationError(
            f"no reference for group(s) {unknown} (reference groups: {sorted(map(str, refs))})"
        )
    by_name = {str(k): k for k in refs}
    return np.array([by_name[g] for g in labels], dtype=object)


def _ages(age: Any, sample_ids: np.ndarray) -> np.ndarray:
    """Each sample's current age; NaN where unknown. Ages that are not numbers, not finite,
    negative or above :data:`MAX_AGE` are refused (a mistake, never an age)."""
    n = sample_ids.size
    if age is None:
        return np.full(n, np.nan)
    if isinstance(age, Mapping | pd.Series):
        raw = by_sample(age, sample_ids)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
        bad = np.isnan(values) & raw.notna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CalibrationError(
                f"age of sample {sample_ids[i]}: {raw.iloc[i]!r} is not a number of years"
            )
    else:
        try:
            values = np.broadcast_to(np.asarray(age, dtype=float), (n,)).copy()
        except (TypeError, ValueError) as exc:
            raise CalibrationError(
                f"age: expected one number or one per sample ({n}), got {age!r:.80}"
            ) from exc
    wrong = ~np.isnan(values) & ~((values >= 0) & (values <= MAX_AGE))
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise CalibrationError(
            f"age of sample {sample_ids[i]}: {float(values[i])!r} is not an age in years within "
            f"0-{MAX_AGE} ({int(wrong.sum())} such); give completed years"
        )
    return values


def _age_dependent(scheme: CategoryScheme) -> str | None:
    """Why the scheme needs each person's age (None when it does not)."""
    m = scheme.measure
    if m.age_bounded:
        return f"{scheme.name} applies to ages {_age_range(scheme)}"
    if m.kind == "absolute_risk" and m.from_age is None:
        return f"{scheme.name} categorises {m.describe()}"
    return None


def _age_range(scheme: CategoryScheme) -> str:
    m = scheme.measure
    lo = "0" if m.applies_from_age is None else f"{m.applies_from_age:g}"
    hi = "" if m.applies_to_age is None else f"{m.applies_to_age:g}"
    return f"{lo}-{hi}" if hi else f"{lo} and over"


def _check_ages_for_scheme(scheme: CategoryScheme, ages: np.ndarray, *, given: bool) -> None:
    """An age-dependent scheme with no age at all is an error; some unknown ages a warning
    (those people get no category)."""
    why = _age_dependent(scheme)
    unknown = int(np.count_nonzero(np.isnan(ages)))
    if why is not None and unknown == ages.size:
        detail = "no age was given" if not given else "no sample has an age"
        raise CalibrationError(
            f"scheme {why}, so it needs each person's current age and {detail}; give age= "
            "(--age / --age-file)"
        )
    if given and unknown:
        effect = (
            f"they get no category ({why})"
            if why is not None
            else "their age-dependent risks are NaN"
        )
        warn(
            f"{unknown} of {ages.size} samples have no age: {effect}",
            CalibrationWarning,
        )


def _category_notes(
    scheme: CategoryScheme,
    ages: np.ndarray,
    log_rr: np.ndarray,
    z: np.ndarray,
    value: np.ndarray,
    model: AbsoluteRiskModel | None,
) -> np.ndarray:
    """Why each person gets no category (None where they get one); the first reason wins.

    An age-bounded scheme never categorises a person of unknown age or outside its ages,
    whatever its measure (percentile, relative or absolute risk).
    """
    n = ages.size
    note = np.full(n, None, dtype=object)

    def put(mask: np.ndarray, text: str) -> None:
        note[mask & (note == None)] = text  # noqa: E711 (element-wise)

    m = scheme.measure
    unknown = np.isnan(ages)
    if m.age_bounded:
        lo = -np.inf if m.applies_from_age is None else m.applies_from_age
        hi = np.inf if m.applies_to_age is None else m.applies_to_age
        put(unknown, f"age unknown: {scheme.name} applies to ages {_age_range(scheme)}")
        completed = np.floor(np.where(unknown, 0.0, ages))
        put(
            ~unknown & ((completed < lo) | (completed > hi)),
            f"age outside {_age_range(scheme)} covered by {scheme.name}",
        )
    if m.kind == "absolute_risk" and m.from_age is None:
        put(unknown, f"age unknown: {scheme.name} categorises {m.describe()}")
    if m.kind != "percentile" and np.isnan(log_rr).any():
        far = np.abs(z[np.isnan(log_rr)])
        far = far[~np.isnan(far)]
        put(
            np.isnan(log_rr),
            "relative risk not computable: the score lies too far from the reference "
            f"(|z| up to {far.max() if far.size else math.nan:.3g}); check the reference",
        )
    if model is not None and m.kind == "absolute_risk":
        put(
            value > 100.0,
            "absolute risk above 100 %: the relative risk is beyond the yearly risk model "
            "(check the OR per SD and the reference)",
        )
        put(
            np.isnan(value),
            f"risk interval outside the rate tables' ages {int(model.ages[0])}-"
            f"{int(model.ages[-1])}",
        )
    put(~np.isfinite(value), "measure not computable")
    return note


def _safe_risk(
    model: AbsoluteRiskModel, log_rr: np.ndarray, start: np.ndarray, span: np.ndarray
) -> np.ndarray:
    """Risks where the interval fits the rate tables; NaN (counted in a warning) elsewhere."""
    out = np.full(log_rr.size, np.nan)
    first, last = int(model.ages[0]), int(model.ages[-1])
    ok = (
        np.isfinite(start)
        & ~np.isnan(log_rr)
        & (span >= 1)
        & (np.floor(start) >= first)
        & (np.floor(start) + span - 1 <= last)
    )
    skipped = int(np.count_nonzero(~ok & np.isfinite(start) & ~np.isnan(log_rr)))
    if skipped:
        warn(
            f"{skipped} of {log_rr.size} risks not computed: the interval lies outside the rate "
            f"tables' ages {first}-{last} or is empty",
            CalibrationWarning,
        )
    if ok.any():
        out[ok] = model.risk(log_rr[ok], age_start=start[ok], years=span[ok])
    return out


def _apply_pathway(
    pathway: Pathway | None,
    category: np.ndarray,
    equivalent: np.ndarray,
    ages: np.ndarray,
) -> dict[str, np.ndarray]:
    """Each person's action, relative to their current age.

    Of an action's stages (in age order) the one in progress, else the next to start, is
    prescribed; ``pathway_status`` says which ("in progress", "starts at age N", ...). When
    every stage's ages are past, nothing is prescribed: the screening fields are empty and
    the status and action say "ended". Unknown age: the first stage, status "age unknown".
    Referral and chemoprevention are category-level and kept at every age.
    """
    if pathway is None:
        return {}
    n = ages.size
    fields = (
        "action",
        "status",
        "screening_start_age",
        "screening_end_age",
        "interval_years",
        "modality",
        "referral",
        "chemoprevention",
    )
    columns = {f"pathway_{f}": np.full(n, None, dtype=object) for f in fields}
    for i, label in enumerate(category):
        if label is None or label not in pathway.actions:
            continue
        act = pathway.actions[label]
        columns["pathway_referral"][i] = act.referral
        columns["pathway_chemoprevention"][i] = act.chemoprevention
        stages = [_resolved(stage, equivalent[i]) for stage in act.all_stages()]
        age = float(ages[i])
        chosen, status = _stage_for_age(stages, age)
        if chosen is None:
            # past intervals are not prescribed: the action text would name them
            columns["pathway_action"][i] = (
                f"Ended: the pathway's screening ages are past ({status}); no screening "
                "prescribed by this pathway"
            )
            columns["pathway_status"][i] = status
            continue
        columns["pathway_action"][i] = act.action if len(stages) == 1 else chosen.action
        columns["pathway_status"][i] = status
        columns["pathway_screening_start_age"][i] = chosen.screening_start_age
        columns["pathway_screening_end_age"][i] = chosen.screening_end_age
        columns["pathway_interval_years"][i] = chosen.interval_years
        columns["pathway_modality"][i] = chosen.modality
    return columns


def _resolved(stage: Any, equivalent: float) -> Any:
    """The stage with a "risk-equivalent" start replaced by the person's age (None if none)."""
    if stage.screening_start_age != "risk-equivalent":
        return stage
    start = None if np.isnan(equivalent) else float(equivalent)
    return dataclasses.replace(stage, screening_start_age=start)


def _stage_for_age(stages: list[Any], age: float) -> tuple[Any | None, str]:
    """The stage prescribed at ``age`` (completed years) and its status; None when all past."""
    if np.isnan(age):
        return stages[0], "age unknown: actions as from their start ages"
    now = math.floor(age)
    last_end: float | None = None
    for stage in stages:
        start, end = stage.screening_start_age, stage.screening_end_age
        if end is not None and now > float(end):
            last_end = float(end)
            continue
        if start is not None and now < float(start):
            return stage, f"starts at age {float(start):g} (now {now})"
        if start is None and end is None:
            return stage, "no age limits"
        return stage, f"in progress (now {now}" + (
            f", until age {float(end):g})" if end is not None else ")"
        )
    assert last_end is not None
    return None, f"ended at age {last_end:g} (now {now})"


# -- binding: the scheme's cancer and sex against the score, the rates and the people -------
_SEX_CODES = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "2": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "1": "male",
}


class _Binding:
    """Checks that the score, the rate tables and the people are what the scheme is for.

    A mismatch is a :class:`CalibrationError` naming both sides, unless ``allow_mismatch``:
    then it is a :class:`CalibrationWarning` and is written into every affected output row
    (``binding_override``) and the inputs. What cannot be checked (no trait metadata, a rate
    table or a cohort that does not declare cancer or sex) is a warning, recorded in the
    inputs (``binding_unchecked``).
    """

    def __init__(self, scheme: CategoryScheme, n: int, *, allow_mismatch: bool) -> None:
        self.scheme = scheme
        self.allow = allow_mismatch
        self.row = np.full(n, None, dtype=object)
        self.overrides: list[str] = []
        self.unchecked: list[str] = []

    def cancer_label(self) -> str:
        terms = ", ".join(self.scheme.cancer_efo)
        return f"{self.scheme.cancer} ({terms})" if terms else self.scheme.cancer

    def mismatch(self, text: str, rows: np.ndarray | None = None) -> None:
        if not self.allow:
            raise CalibrationError(
                f"{text}; use the matching input, or allow_mismatch=True / --allow-mismatch "
                "for research use (the override is written into every affected row)"
            )
        # 5: here, the check, the step of categorise (_bind / _rates), categorise, its caller
        warn(f"mismatch overridden (allow_mismatch): {text}", CalibrationWarning)
        self.overrides.append(text)
        mask = np.ones(self.row.size, bool) if rows is None else rows
        for i in np.flatnonzero(mask):
            self.row[i] = text if self.row[i] is None else f"{self.row[i]}; {text}"

    def cannot_check(self, text: str) -> None:
        warn(f"cannot check: {text}", CalibrationWarning)
        self.unchecked.append(text)

    def check_trait(self, col: Any) -> None:
        if not self.scheme.cancer_efo:
            return
        if not col.trait_efo:
            self.cannot_check(
                f"score {col.score_id or '(unnamed)'} carries no trait metadata (trait_efo), so "
                f"nothing shows it is a score for {self.cancer_label()}, the cancer of scheme "
                f"{self.scheme.name}"
            )
            return
        if not same_cancer(tuple(col.trait_efo), self.scheme.cancer_efo):
            trait = f"'{col.trait_reported}' " if col.trait_reported else ""
            self.mismatch(
                f"score {col.score_id or '(unnamed)'} is for trait {trait}"
                f"({', '.join(col.trait_efo)}), scheme {self.scheme.name} is for "
                f"{self.cancer_label()} cancer"
            )

    def check_pathway(self, pathway: Pathway | None) -> None:
        if pathway is None or not pathway.cancer_efo or not self.scheme.cancer_efo:
            return
        if not same_cancer(pathway.cancer_efo, self.scheme.cancer_efo):
            self.mismatch(
                f"pathway {pathway.name} is for {pathway.cancer} cancer, scheme "
                f"{self.scheme.name} is for {self.cancer_label()}"
            )

    def check_family_history(self, rf: RiskFactors | None) -> None:
        """A family-history model must be for the scheme's cancer."""
        fh = None if rf is None else rf.family_history_model
        if fh is None or not rf.uses_family_history or not fh.cancer or not self.scheme.cancer:
            return
        if fh.cancer.strip().lower() != self.scheme.cancer.strip().lower():
            self.mismatch(
                f"family-history relative risks ({fh.source}) are for {fh.cancer} cancer, "
                f"scheme {self.scheme.name} is for {self.cancer_label()}"
            )

    def check_table(self, table: RateTable, role: str) -> None:
        s = self.scheme
        if s.cancer_efo:
            declared = cancer_terms(table.cancer, table.meta.get("cancer_efo"), table.name)
            if not table.cancer and not declared:
                self.cannot_check(
                    f"{role} table {table.name} declares no cancer ('# cancer:' line), scheme "
                    f"{s.name} is for {self.cancer_label()}"
                )
            elif not same_cancer(declared, s.cancer_efo) and table.cancer != s.cancer:
                self.mismatch(
                    f"{role} table {table.name} is for {table.cancer or ', '.join(declared)} "
                    f"cancer, scheme {s.name} is for {self.cancer_label()}"
                )
        if s.sex != "any":
            if not table.sex:
                self.cannot_check(
                    f"{role} table {table.name} declares no sex ('# sex:' line), scheme "
                    f"{s.name} applies to {s.sex}s"
                )
            elif table.sex not in (s.sex, "any"):
                self.mismatch(
                    f"{role} table {table.name} is for sex {table.sex}, scheme {s.name} "
                    f"applies to sex {s.sex}"
                )

    def check_sex(self, sexes: np.ndarray | None, sample_ids: np.ndarray) -> np.ndarray:
        """Each person's sex against the scheme's; returns the rows of unknown sex (no
        category) under a sex-specific scheme."""
        s = self.scheme
        unknown = np.zeros(sample_ids.size, bool)
        if s.sex == "any":
            return unknown
        if sexes is None:
            self.cannot_check(
                f"no sex given: scheme {s.name} applies to sex {s.sex} only; give each "
                "person's sex (sex= / --sex-file) to check it"
            )
            return unknown
        unknown = sexes == None  # noqa: E711 (element-wise)
        wrong = ~unknown & (sexes != s.sex)
        if wrong.any():
            first = sample_ids[np.flatnonzero(wrong)[0]]
            self.mismatch(
                f"{int(wrong.sum())} of {sample_ids.size} people are not of sex {s.sex} "
                f"(first: {first}, sex {sexes[np.flatnonzero(wrong)[0]]}), scheme {s.name} "
                f"applies to sex {s.sex}",
                rows=wrong,
            )
        if unknown.any():
            warn(
                f"{int(unknown.sum())} of {sample_ids.size} people have no known sex: they get "
                f"no category (scheme {s.name} applies to sex {s.sex})",
                CalibrationWarning,
            )
        return unknown


def _sexes(sex: Any, sample_ids: np.ndarray) -> np.ndarray | None:
    """Each sample's sex as "female" / "male" / None (unknown), from one value for everyone,
    an aligned sequence, or a mapping / Series sample ID -> sex. Accepted codes: female/male,
    F/M, and PLINK's 2/1 (0 or missing = unknown); anything else is refused."""
    if sex is None:
        return None
    n = sample_ids.size
    if isinstance(sex, Mapping | pd.Series):
        raw = by_sample(sex, sample_ids).to_numpy(dtype=object)
    elif isinstance(sex, str):
        raw = np.full(n, sex, dtype=object)
    else:
        raw = np.asarray(list(sex), dtype=object)
        if raw.size != n:
            raise CalibrationError(
                f"sex: expected one value or one per sample ({n}), got {raw.size}"
            )
    out = np.full(n, None, dtype=object)
    for i, value in enumerate(raw):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        text = str(value).strip().lower()
        if text.endswith(".0"):
            text = text[:-2]
        if text in ("", "0", "na", "nan", "unknown", "u", "-9"):
            continue
        if text not in _SEX_CODES:
            raise CalibrationError(
                f"sex of sample {sample_ids[i]}: {value!r} is not female/male (F/M, or PLINK "
                "2/1; 0 or empty = unknown)"
            )
        out[i] = _SEX_CODES[text]
    return out


def _rate_tables(
    scheme: CategoryScheme,
    pathway: Pathway | None,
    incidence: str | os.PathLike[str] | RateTable | None,
    mortality: str | os.PathLike[str] | RateTable | Literal["auto"] | None,
    *,
    needs_rates: str | None,
    population: str | None = None,
) -> tuple[RateTable | None, RateTable | None, str | None]:
    """The incidence and mortality tables for the scheme: the user's, else the shipped ones
    declared for the scheme's cancer and sex (of ``population`` when given). Never another
    cancer's table: when none is shipped, a scheme or pathway that needs rates
    (``needs_rates`` says why) is refused, and otherwise no absolute risk is computed (the
    third value says why). ``mortality="auto"`` with a shipped incidence table takes its
    companion (same cancer, sex and population: England incidence, England mortality)."""
    inc_name = incidence
    if inc_name is None:
        found = (
            shipped_rate_table(scheme.cancer, scheme.sex, "incidence", population)
            if scheme.cancer_efo
            else None
        )
        if found is None and population is not None and scheme.cancer_efo:
            anywhere = shipped_rate_table(scheme.cancer, scheme.sex, "incidence")
            if anywhere is not None:
                raise CalibrationError(
                    f"no shipped incidence table for {scheme.cancer} cancer (sex "
                    f"{scheme.sex}) declares population {population!r} (rates_population / "
                    f"--rates-population); shipped for it: {_populations(scheme)}"
                )
        if found is None:
            why = (
                f"no incidence table is shipped for {scheme.cancer} cancer (sex {scheme.sex}) "
                f"of scheme {scheme.name}"
                if scheme.cancer_efo
                else f"scheme {scheme.name} names no cancer ({scheme.cancer!r}), so no incidence "
                "table can be chosen for it"
            )
            supply = (
                "supply the population's rates: incidence= / --incidence FILE and mortality= / "
                "--mortality FILE (CSV 'age,rate' with '# cancer:' and '# sex:' lines, see "
                "docs/calibrate.md)"
            )
            if needs_rates is not None:
                raise CalibrationError(f"{needs_rates}, but {why}; {supply}")
            return None, None, f"{why}; absolute risks not computed ({supply})"
        inc_name = found
    inc = load_rate_table(inc_name)
    if isinstance(mortality, str) and mortality == "auto":
        cancer = inc.cancer or scheme.cancer
        sex = inc.sex if inc.sex in ("female", "male") else scheme.sex
        found = (
            companion_mortality_table(inc)
            if _is_shipped(inc_name)
            else shipped_rate_table(cancer, sex, "competing mortality", population)
        )
        if found is None and not _is_shipped(inc_name) and population is not None:
            found = shipped_rate_table(cancer, sex, "competing mortality")
        if found is None:
            raise CalibrationError(
                f"no competing-mortality table is shipped for {cancer} cancer (sex {sex}) to go "
                f"with incidence table {inc.name}; supply one (mortality= / --mortality FILE), "
                "or mortality=None / --mortality none to ignore competing death"
            )
        mortality = found
    mort = None if mortality is None else load_rate_table(mortality)
    return inc, mort, None


def _needs_rates(
    scheme: CategoryScheme, pathway: Pathway | None, benchmark_age: int | None
) -> str | None:
    """Why the run needs absolute risks (None when it does not)."""
    if scheme.measure.kind == "absolute_risk":
        return f"scheme {scheme.name} categorises {scheme.measure.describe()}"
    if benchmark_age is not None or (pathway is not None and pathway.benchmark_age):
        return (
            "a risk-equivalent age (benchmark_age / pathway "
            f"{'' if pathway is None else pathway.name}) needs absolute risks"
        )
    return None


def _is_shipped(table: str | os.PathLike[str] | RateTable) -> bool:
    """Whether ``table`` names a shipped rate table (as :func:`load_rate_table` reads it)."""
    if isinstance(table, RateTable):
        return False
    text = os.fspath(table)
    return not Path(text).suffix and not Path(text).exists() and text in available_rate_tables()


def _populations(scheme: CategoryScheme) -> str:
    """The declared populations of the shipped incidence tables of the scheme's cancer."""
    names = [
        f"{name} ({load_rate_table(name).meta.get('population', 'population not declared')})"
        for name in available_rate_tables()
        if load_rate_table(name).cancer == scheme.cancer
        and load_rate_table(name).kind == "incidence"
    ]
    return ", ".join(names) or "none"


def _tables_by_sex(
    scheme: CategoryScheme,
    incidence: Any,
    mortality: Any,
    population: str | None,
    sexes: np.ndarray | None,
    *,
    has_effect: bool,
    needs_rates: str | None,
) -> dict[str, str] | None:
    """The shipped incidence table per sex for a both-sexes scheme with no both-sexes table.

    None when the split does not apply (tables named by the user, a sex-specific scheme, a
    both-sexes table shipped, no relative risk, or not both sexes' tables shipped). With no
    sex given at all and rates needed: refused (CalibrationError naming what to give).
    """
    if incidence is not None or scheme.sex != "any" or not scheme.cancer_efo or not has_effect:
        return None
    if not (mortality is None or (isinstance(mortality, str) and mortality == "auto")):
        return None  # the user's own mortality table: one table for everybody, as named
    if shipped_rate_table(scheme.cancer, "any", "incidence", population) is not None:
        return None
    tables = {
        key: shipped_rate_table(scheme.cancer, key, "incidence", population)
        for key in ("female", "male")
    }
    if any(name is None for name in tables.values()):
        return None
    if sexes is None:
        if needs_rates is None:
            return None  # no absolute risks; _rate_tables says why
        raise CalibrationError(
            f"{needs_rates}, but scheme {scheme.name} applies to both sexes and the shipped "
            f"{scheme.cancer} tables are per sex ({tables['female']} for women, "
            f"{tables['male']} for men) and no sex was given: give each person's sex (sex= / "
            "--sex or --sex-file), or supply one table for everybody (incidence= / "
            "--incidence FILE and mortality= / --mortality FILE)"
        )
    return {key: str(name) for key, name in tables.items()}


def _merge_by_sex(
    runs: Mapping[str, Categorisation],
    sexes: np.ndarray,
    scheme: CategoryScheme,
    pathway: Pathway | None,
) -> Categorisation:
    """One result from one run per sex: each person's row from their own sex's run; people
    of unknown sex get no absolute risk (and no category when the scheme or its pathway
    needs one), ``category_note`` saying why."""
    female, male = runs["female"], runs["male"]
    is_male = sexes == "male"
    unknown = (sexes != "female") & ~is_male

    def pick(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.where(is_male, b, a)
        return out.astype(a.dtype) if a.dtype == object else out

    def blank(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        if out.dtype == object:
            out[unknown] = None
        else:
            out = out.astype(float)
            out[unknown] = np.nan
        return out

    needs = (
        scheme.measure.kind == "absolute_risk"
        or (pathway is not None and bool(pathway.benchmark_age))
        or female.inputs.get("benchmark_age") is not None
    )
    risks = {k: blank(pick(v, male.risks[k])) for k, v in female.risks.items()}
    unc = {}
    for key, values in female.uncertainty.items():
        merged = pick(values, male.uncertainty[key])
        risk_column = key.endswith(("_lo", "_hi")) and not key.startswith("scheme_measure")
        unc[key] = blank(merged) if risk_column or needs else merged
    measure = pick(female.scheme_measure, male.scheme_measure)
    category = pick(female.category, male.category)
    note = pick(female.category_note, male.category_note)
    if needs:
        measure = blank(measure) if scheme.measure.kind == "absolute_risk" else measure
        category = blank(category)
    reason = (
        f"sex unknown: scheme {scheme.name} applies to both sexes but its rates are per sex "
        "(give the sex for an absolute risk)"
    )
    note[unknown & (note == None)] = reason  # noqa: E711 (element-wise)
    equivalent = blank(pick(female.risk_equivalent_age, male.risk_equivalent_age))
    actions = _apply_pathway(pathway, category, equivalent, female.age)
    inputs = _merged_inputs(female, male, unknown)
    if int(unknown.sum()):
        warn(
            f"{int(unknown.sum())} of {sexes.size} people have no known sex: no absolute risk "
            f"(scheme {scheme.name}'s rates are per sex)",
            CalibrationWarning,
        )
    return dataclasses.replace(
        female,
        relative_risk=pick(female.relative_risk, male.relative_risk),
        risks=risks,
        scheme_measure=measure,
        category=category,
        category_note=note,
        actions=actions,
        risk_equivalent_age=equivalent,
        inputs=inputs,
        uncertainty=unc,
    )


def _merged_inputs(
    female: Categorisation, male: Categorisation, unknown: np.ndarray
) -> dict[str, Any]:
    """The inputs of the per-sex runs as one: the rate tables and benchmark per sex."""
    inputs = dict(female.inputs)
    for key in ("incidence", "mortality", "incidence_declared", "mortality_declared"):
        inputs[key] = {"female": female.inputs.get(key), "male": male.inputs.get(key)}
    inputs["benchmark_risk"] = {
        "female": female.inputs.get("benchmark_risk"),
        "male": male.inputs.get("benchmark_risk"),
    }
    inputs["rates_by_sex"] = (
        "one model per sex: each person's risks from their own sex's tables; "
        f"{int(unknown.sum())} of {unknown.size} of unknown sex get no absolute risk"
    )
    statements = dict(female.inputs["statements"])
    statements["statement_rates_population"] = (
        f"women: {female.inputs['statements']['statement_rates_population']}; men: "
        f"{male.inputs['statements']['statement_rates_population']}"
    )
    inputs["statements"] = statements
    return inputs
