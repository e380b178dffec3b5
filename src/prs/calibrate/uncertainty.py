"""Uncertainty of each person's risks and category: intervals and category probabilities.

Issue 11, item 4. Three sources are propagated into a distribution of each person's
**full-score** z, and from it (with the OR per SD's own uncertainty) into every risk column,
the scheme's measure and the probability of each category:

(a) **the OR (HR) per SD**: ``b = ln OR`` is taken as normal with the standard error of its
    95 % confidence interval, ``se = (ln hi - ln lo) / (2 x 1.96)``;
(b) **the reference**: the mean and SD of a reference of ``n`` people
    (``SE(mean) = sd / sqrt(n)``, ``SE(sd) ~ sd / sqrt(2 (n - 1))``, so a moments z has
    variance ``1/n + z^2 / (2 (n - 1))``); a percentile read from an empirical or quantile
    reference has the binomial error ``p (1 - p) / n``, on the z scale divided by
    ``phi(z)^2``; a reference of published parameters without ``n`` is not propagated;
(c) **genotypes**: *coverage* — the scoring file's variants missing from the target carry
    ``V_miss = sum w^2 2p(1-p)`` of the score's variance, the matched ones ``V_obs``; with
    ``rho^2 = V_obs / (V_obs + V_miss)`` the full-score z given the partial one is
    ``N(rho z, 1 - rho^2)``; *missing calls* — a mean-imputed call adds its variant's
    ``w^2 2p(1-p)`` to the error, on average ``MISSING_CT / VARIANTS_USED`` of the partial
    score's variance (z units); *dosage uncertainty* — ``sum w^2 Var(dosage | GP)`` per
    person (:func:`genotype_variance_from_vcf`), divided by the reference variance.

The person's full-score z is then normal, mean ``rho z_c`` and variance
``rho^2 v + 1 - rho^2`` (``v`` the partial score's error variance from (b) and (c)). A
risk depends on ``(b, z)`` through the log relative risk ``eta = b z - c(b)`` and, through
the population average, the baseline hazard (re-derived for each ``b``). ``eta`` is taken
as normal: mean ``b z_mean - c(b)``, variance ``(b^2 + se^2) var_z + (d eta / d b)^2 se^2``,
where ``d eta / d b`` is the change of the *equivalent* log relative risk under the model at
``b`` — the risk under ``b +- se`` (baseline re-derived) mapped back through the model at
``b`` — by central differences. Every risk is a monotone function of ``eta`` under the
model at ``b``, so its interval is that function of ``eta``'s interval (exact for a normal
``eta``), and a category's probability is the normal probability between the ``eta``
values of its bounds. The functions of ``eta`` are tabulated per (start age, years) on a
grid (:data:`ETA_GRID`) and interpolated on the log-risk scale.

The simulation of ``tests/test_calibrate_uncertainty.py`` checks the coverage of the
nominal 95 % intervals and the calibration of the category probabilities.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs._compat import LazyModule
from prs.calibrate.absolute import AbsoluteRiskModel
from prs.calibrate.relative import check_or_per_sd
from prs.calibrate.schemes import CategoryScheme
from prs.errors import CalibrationError

stats = LazyModule("scipy.stats")  # (imported at first use: ~0.3 s)

#: Level of every interval (``*_lo`` / ``*_hi``).
LEVEL = 0.95
#: The standard-normal quantile of :data:`LEVEL` (1.959964).
Z_LEVEL = 1.959963984540054  # (literal: SciPy is imported when used; tests/test_startup.py)

#: Default of ``near_threshold``: a person is flagged when the most likely category has a
#: probability below it. At 0.8 a flagged person has at least a 1 in 5 chance of another
#: category; for a measure whose uncertainty is normal this flags the people within 0.84
#: SD of a threshold (0.9 would flag those within 1.28 SD).
DEFAULT_NEAR_THRESHOLD = 0.8

#: Log relative risks over which risks are tabulated (step 0.02: linear interpolation of
#: log risk errs by under 1e-4 relative). RR from e^-8 to e^8 covers any polygenic score
#: (z within about +-16 SD at OR 1.61); beyond it intervals are clipped to the grid's ends.
ETA_GRID = np.linspace(-8.0, 8.0, 801)


# -- (a) the OR per SD ------------------------------------------------------------------------
def log_or_standard_error(or_per_sd: float, ci: Sequence[float]) -> float:
    """Standard error of ``ln OR`` from its 95 % confidence interval ``(lo, hi)``.

    ``se = (ln hi - ln lo) / (2 x 1.96)``, the interval taken as symmetric on the log scale
    (as a Wald interval of a log OR from logistic or Cox regression is).

    Raises
    ------
    CalibrationError
        ``ci`` not two plausible ORs (see :func:`~prs.calibrate.relative.check_or_per_sd`)
        with ``lo < or_per_sd < hi``.

    Examples
    --------
    >>> round(log_or_standard_error(1.61, (1.57, 1.65)), 5)
    0.01268
    """
    try:
        lo, hi = (float(v) for v in ci)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(
            f"or_per_sd_ci (--or-per-sd-ci) {ci!r}: expected two numbers, the 95 % confidence "
            "interval of the OR per SD (e.g. 1.57,1.65)"
        ) from exc
    lo, hi = check_or_per_sd(lo), check_or_per_sd(hi)
    if not lo < float(or_per_sd) < hi:
        raise CalibrationError(
            f"or_per_sd_ci (--or-per-sd-ci) {lo:g}-{hi:g} does not contain the OR per SD "
            f"{float(or_per_sd):g}; give the interval published with it (lower, upper)"
        )
    return (math.log(hi) - math.log(lo)) / (2.0 * Z_LEVEL)


# -- (b) the reference ----------------------------------------------------------------------
def reference_z_variance(
    z: np.ndarray, percentile: np.ndarray, *, n: int, by_percentile: bool
) -> np.ndarray:
    """Variance of each person's z from the reference's sampling error (``n`` people).

    ``by_percentile=False`` (a z from the reference's mean and SD): ``1/n + z^2/(2(n-1))``
    (normal approximation, ``SE(sd) ~ sd / sqrt(2(n-1))``). ``by_percentile=True`` (a rank
    percentile of an empirical or quantile reference): the binomial variance of the
    percentile, ``p (1 - p) / n``, carried to the z scale by ``1 / phi(z_p)^2``,
    ``z_p = Phi^-1(p)``.

    Examples
    --------
    >>> reference_z_variance(np.array([0.0]), np.array([50.0]), n=100, by_percentile=False)
    array([0.01])
    """
    n_eff = max(int(n), 2)
    if not by_percentile:
        return 1.0 / n_eff + np.square(z) / (2.0 * (n_eff - 1))
    p = np.clip(np.asarray(percentile, dtype=float) / 100.0, 1e-300, 1.0 - 1e-16)
    zp = stats.norm.ppf(p)
    return p * (1.0 - p) / n_eff / np.square(stats.norm.pdf(zp))


# -- (c) genotypes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """How much of the score's variance the matched variants carry.

    Attributes
    ----------
    rho2
        ``V_obs / (V_obs + V_miss)``: the squared correlation of the partial score (matched
        variants) with the full score, variants taken as independent (no LD).
    matched_variance, missing_variance
        ``sum w^2 2p(1-p)`` over the matched and the unmatched rows of the score.
    n_matched, n_missing
        Rows of the score matched and not matched (unmatched, excluded).
    frequency_source
        Where the allele frequencies came from (the scoring file's
        ``allelefrequency_effect``, an assumed value, or none: equal heterozygosity).
    """

    rho2: float
    matched_variance: float = math.nan
    missing_variance: float = math.nan
    n_matched: int | None = None
    n_missing: int | None = None
    frequency_source: str = "given"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rho2": self.rho2,
            "matched_variance": None
            if math.isnan(self.matched_variance)
            else self.matched_variance,
            "missing_variance": None
            if math.isnan(self.missing_variance)
            else self.missing_variance,
            "n_matched": self.n_matched,
            "n_missing": self.n_missing,
            "frequency_source": self.frequency_source,
        }


def coverage_from_match(
    scorefile: Any,
    match_report: str | os.PathLike[str] | pd.DataFrame,
    *,
    score_id: str | None = None,
    assumed_frequency: float | None = None,
) -> Coverage:
    """The share of the score's variance the target's matched variants carry.

    Parameters
    ----------
    scorefile
        The scoring file (path or :class:`~prs.weights.ScoringFile`) the score was computed
        from; its ``allelefrequency_effect`` column gives ``p``.
    match_report
        ``match_report.tsv`` of ``prs score`` (path or DataFrame; columns ``line``,
        ``score``, ``outcome``): rows with outcome ``matched`` are in the score.
    score_id
        Which score of a multi-score file (default: the only one).
    assumed_frequency
        ``p`` for rows without a frequency. Default: rows without one get the mean
        heterozygosity ``2p(1-p)`` of the rows with one; with no frequency at all every row
        has the same heterozygosity (``rho^2 = sum_matched w^2 / sum w^2``).

    Returns
    -------
    Coverage

    Raises
    ------
    CalibrationError
        The match report lacks the columns, names another score, or no row matched.
    """
    from prs.weights import ScoringFile, read_scorefile

    sf = scorefile if isinstance(scorefile, ScoringFile) else read_scorefile(scorefile)
    score_id = _one_score(sf, score_id)
    where, matched_lines = _matched_lines(match_report, score_id)
    k = sf.score_ids.index(score_id)
    weights = sf.weights[:, k]
    in_score = ~np.isnan(weights)
    lines = sf.variants["line"].to_numpy()[in_score]
    w2 = np.square(weights[in_score])
    matched = np.isin(
        lines, np.fromiter(matched_lines, dtype=lines.dtype, count=len(matched_lines))
    )
    if not matched.any():
        raise CalibrationError(
            f"{where}: no row of score {score_id} ({sf.path}) is matched; is it this score's "
            "match report?"
        )
    freq = sf.variants["allele_frequency"].to_numpy(dtype=float)[in_score]
    het, source = _heterozygosity(freq, assumed_frequency)
    v_obs = float(np.sum(w2[matched] * het[matched]))
    v_miss = float(np.sum(w2[~matched] * het[~matched]))
    total = v_obs + v_miss
    rho2 = 1.0 if total <= 0 else v_obs / total
    return Coverage(
        rho2=rho2,
        matched_variance=v_obs,
        missing_variance=v_miss,
        n_matched=int(matched.sum()),
        n_missing=int((~matched).sum()),
        frequency_source=source,
    )


def _one_score(sf: Any, score_id: str | None) -> str:
    """``score_id`` checked against the scoring file, or its only score when None."""
    if score_id is None:
        if len(sf.score_ids) != 1:
            raise CalibrationError(
                f"{sf.path}: holds {len(sf.score_ids)} scores ({', '.join(sf.score_ids)}); name "
                "the score (score_id=)"
            )
        score_id = sf.score_ids[0]
    if score_id not in sf.score_ids:
        raise CalibrationError(
            f"{sf.path}: no score '{score_id}' (found {', '.join(sf.score_ids)})"
        )
    return score_id


def _matched_lines(
    match_report: str | os.PathLike[str] | pd.DataFrame, score_id: str
) -> tuple[str, set[int]]:
    """The match report's name for messages and the scoring-file lines of ``score_id``
    whose outcome is ``matched``."""
    report, where = _read_match_report(match_report)
    missing_cols = [c for c in ("line", "outcome") if c not in report.columns]
    if missing_cols:
        raise CalibrationError(
            f"{where}: no column(s) {missing_cols}; give prs score's match_report.tsv"
        )
    matched_lines = set(pd.to_numeric(_matched_rows(report, score_id)["line"]).astype(int))
    return where, matched_lines


def _read_match_report(
    match_report: str | os.PathLike[str] | pd.DataFrame,
) -> tuple[pd.DataFrame, str]:
    """``match_report.tsv`` (or a DataFrame of it) as text, and its name for messages."""
    if isinstance(match_report, pd.DataFrame):
        return match_report, "match report"
    return pd.read_csv(match_report, sep="\t", dtype=str, keep_default_na=False), str(match_report)


def _matched_rows(report: pd.DataFrame, score_id: str) -> pd.DataFrame:
    """The match report's rows of ``score_id`` (all rows without a ``score`` column) whose
    outcome is ``matched``."""
    if "score" in report.columns:
        report = report[report["score"].astype(str) == str(score_id)]
    return report[report["outcome"].astype(str) == "matched"]


def _heterozygosity(freq: np.ndarray, assumed_frequency: float | None) -> tuple[np.ndarray, str]:
    """Each row's ``2p(1-p)`` (rows without ``p``: ``assumed_frequency``, else the mean of
    the rows with one, else 1 for every row) and a line saying which."""
    het = 2.0 * freq * (1.0 - freq)
    known = np.isfinite(het)
    if assumed_frequency is not None:
        p = float(assumed_frequency)
        if not 0.0 < p < 1.0:
            raise CalibrationError(f"assumed_frequency {p!r} is not within (0, 1)")
        het = np.where(known, het, 2.0 * p * (1.0 - p))
        source = (
            f"scoring file allelefrequency_effect ({int(known.sum())} of {known.size} rows), "
            f"assumed p={p:g} for the rest"
        )
    elif known.all():
        source = "scoring file allelefrequency_effect (every row)"
    elif known.any():
        het = np.where(known, het, float(np.mean(het[known])))
        source = (
            f"scoring file allelefrequency_effect ({int(known.sum())} of {known.size} rows); "
            "the rest given the mean heterozygosity of those"
        )
    else:
        het = np.ones_like(freq)
        source = (
            "no allele frequencies in the scoring file: every variant assumed to have the same "
            "heterozygosity (rho^2 = sum of matched w^2 / sum of w^2)"
        )
    return het, source


def missing_call_fraction(
    scores: Any, sample_ids: np.ndarray, *, score_id: str | None = None
) -> tuple[np.ndarray | None, str | None]:
    """Each person's missing calls as a share of the score's variants, from the score table.

    ``MISSING_CT / VARIANTS_USED`` (``prs score``'s ``scores.tsv``), else ``1 - ALLELE_CT /
    DENOM`` (a PLINK 2 ``.sscore`` written with ``cols=+denom``). Under mean imputation (the
    default of ``prs score`` and PLINK 2) a missing call's error has variance
    ``w^2 2p(1-p)``; averaged over the variants that is this share of the partial score's
    variance (z units).

    Returns
    -------
    (numpy.ndarray | None, str | None)
        The share per sample (aligned with ``sample_ids``; NaN for a sample not found) and
        the columns used; ``(None, None)`` when the table carries neither pair.
    """
    frame = _score_table_columns(
        scores,
        {"sample_id", "score", "#IID", "IID", "MISSING_CT", "VARIANTS_USED", "ALLELE_CT", "DENOM"},
    )
    if frame is None:
        return None, None
    id_col = next((c for c in ("sample_id", "#IID", "IID") if c in frame.columns), None)
    if id_col is None:
        return None, None
    frame = _of_score(frame, score_id)
    if {"MISSING_CT", "VARIANTS_USED"} <= set(frame.columns):
        miss = pd.to_numeric(frame["MISSING_CT"], errors="coerce").to_numpy(float)
        used = pd.to_numeric(frame["VARIANTS_USED"], errors="coerce").to_numpy(float)
        columns = "MISSING_CT / VARIANTS_USED"
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(used > 0, miss / used, np.nan)
    elif {"ALLELE_CT", "DENOM"} <= set(frame.columns):
        count = pd.to_numeric(frame["ALLELE_CT"], errors="coerce").to_numpy(float)
        denom = pd.to_numeric(frame["DENOM"], errors="coerce").to_numpy(float)
        columns = "1 - ALLELE_CT / DENOM"
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(denom > 0, 1.0 - count / denom, np.nan)
    else:
        return None, None
    return _per_sample(np.clip(share, 0.0, 1.0), frame[id_col], sample_ids), columns


def table_variance_column(
    scores: Any, sample_ids: np.ndarray, column: str, *, score_id: str | None = None
) -> np.ndarray | None:
    """A per-sample variance column of the score table (``GENOTYPE_VAR``: dosage variance
    from GP; ``MISSING_VAR``: the exact variance of the mean-imputed calls, ``sum w^2
    2p(1-p)`` over each person's missing calls; score units squared), aligned with
    ``sample_ids`` (NaN where absent); None when the table has no such column."""
    frame = _score_table_columns(scores, {"sample_id", "score", column})
    if frame is None or column not in frame.columns or "sample_id" not in frame.columns:
        return None
    frame = _of_score(frame, score_id)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
    return _per_sample(values, frame["sample_id"], sample_ids)


def _score_table_columns(scores: Any, wanted: set[str]) -> pd.DataFrame | None:
    """The score table's columns among ``wanted`` as text (a path is read; a DataFrame is
    taken as it is); None for anything else or a table that cannot be read."""
    if isinstance(scores, str | os.PathLike):
        try:
            return pd.read_csv(
                Path(scores),
                sep="\t",
                dtype=str,
                keep_default_na=False,
                usecols=lambda c: c in wanted,
            )
        except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
            return None
    if isinstance(scores, pd.DataFrame):
        return scores
    return None


def _of_score(frame: pd.DataFrame, score_id: str | None) -> pd.DataFrame:
    """The rows of ``score_id`` in a long table (with a ``score`` column); else all rows."""
    if "score" in frame.columns and score_id is not None:
        return frame[frame["score"].astype(str) == str(score_id)]
    return frame


def _per_sample(values: np.ndarray, ids: pd.Series, sample_ids: np.ndarray) -> np.ndarray:
    """``values`` keyed by ``ids`` (first of a repeated ID), lined up with ``sample_ids``."""
    by_id = pd.Series(values, index=ids.astype(str).to_numpy())
    by_id = by_id[~by_id.index.duplicated()]
    return by_id.reindex(np.asarray(sample_ids, dtype=str)).to_numpy(float)


def genotype_variance_from_vcf(
    vcf: str | os.PathLike[str],
    scorefile: Any,
    match_report: str | os.PathLike[str] | pd.DataFrame,
    *,
    score_id: str | None = None,
) -> pd.Series:
    """Each sample's score variance from genotype probabilities: ``sum_v w_v^2 Var(d_v | GP)``.

    For each matched biallelic variant whose records carry ``GP`` (P(0), P(1), P(2) copies
    of ALT), ``Var(d) = P1 + 4 P2 - (P1 + 2 P2)^2`` of the ALT dosage (the effect allele's
    dosage has the same variance); hard calls and records without ``GP`` add nothing.
    Reads only the matched sites (``target_record``/``chrom``/``pos`` of the match report).

    Parameters
    ----------
    vcf
        The target VCF/BCF the score was computed from (indexed for region queries).
    scorefile, match_report, score_id
        As :func:`coverage_from_match`.

    Returns
    -------
    pandas.Series
        Variance in score units squared, indexed by sample ID (``GENOTYPE_VAR``); pass it as
        ``categorise(genotype_variance=...)`` or write it as a TSV for ``--genotype-var``.
    """
    import cyvcf2

    from prs.weights import ScoringFile, read_scorefile

    sf = scorefile if isinstance(scorefile, ScoringFile) else read_scorefile(scorefile)
    score_id = score_id or sf.score_ids[0]
    report = _matched_rows(_read_match_report(match_report)[0], score_id)
    reader = cyvcf2.VCF(os.fspath(vcf), lazy=True, threads=1)
    samples = list(reader.samples)
    total = np.zeros(len(samples))
    for (chrom, pos), ws in _site_weights(report, sf, score_id).items():
        var = _site_gp_variance(reader, chrom, pos)
        if var is not None:
            total += sum(w * w for w in ws) * var
    reader.close()
    return pd.Series(total, index=pd.Index(samples, name="sample_id"), name="GENOTYPE_VAR")


def _site_weights(report: pd.DataFrame, sf: Any, score_id: str) -> dict[tuple[str, int], list]:
    """The score's finite weights of the matched rows, by site (chrom, pos)."""
    k = sf.score_ids.index(score_id)
    weight_by_line = pd.Series(sf.weights[:, k], index=sf.variants["line"].to_numpy())
    by_site: dict[tuple[str, int], list[float]] = {}
    for _, row in report.iterrows():
        w = weight_by_line.get(int(row["line"]))
        if w is None or not np.isfinite(w):
            continue
        by_site.setdefault((str(row["chrom"]), int(row["pos"])), []).append(float(w))
    return by_site


def _site_gp_variance(reader: Any, chrom: str, pos: int) -> np.ndarray | None:
    """Each sample's ALT-dosage variance from GP at the first biallelic record at ``pos``
    carrying GP; None when there is none (the site adds nothing)."""
    for region in (f"{chrom}:{pos}-{pos}", f"chr{chrom}:{pos}-{pos}"):
        try:
            records = list(reader(region))
        except Exception:  # cyvcf2 raises plain exceptions for unknown contigs
            records = []
        if records:
            break
    for record in records:
        if record.POS != pos or len(record.ALT) != 1:
            continue
        try:
            gp = record.format("GP")
        except KeyError:
            gp = None
        if gp is None or gp.shape[1] < 3:
            continue
        gp = np.asarray(gp[:, :3], dtype=float)
        gp[~np.isfinite(gp) | (gp < 0)] = 0.0
        p1, p2 = gp[:, 1], gp[:, 2]
        return np.clip(p1 + 4.0 * p2 - np.square(p1 + 2.0 * p2), 0.0, None)
    return None


def read_genotype_variance(path: str | os.PathLike[str]) -> pd.Series:
    """A ``sample_id``, ``GENOTYPE_VAR`` TSV (score units squared) as a Series."""
    from prs.calibrate._inputs import read_sample_values

    values = read_sample_values(path, "GENOTYPE_VAR", "genotype variances", numeric=True)
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    bad = ~np.isfinite(series.to_numpy(float)) | (series.to_numpy(float) < 0)
    if bad.any():
        raise CalibrationError(
            f"{path}: GENOTYPE_VAR of sample {series.index[np.flatnonzero(bad)[0]]} is not a "
            "finite variance >= 0"
        )
    return series.astype(float)


# -- the distribution of each person's full-score z ---------------------------------------------
def full_score_z(
    z_centre: np.ndarray, partial_variance: np.ndarray, rho2: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the full-score z given the partial one.

    ``z_full = rho z_part + N(0, 1 - rho^2)`` (the unmatched variants' part, independent of
    the matched ones), ``z_part ~ N(z_centre, partial_variance)`` (reference and genotype
    errors): mean ``rho z_centre``, variance ``rho^2 partial_variance + 1 - rho^2``.

    Examples
    --------
    >>> full_score_z(np.array([2.0]), np.array([0.0]), 0.81)
    (array([1.8]), array([0.19]))
    """
    if not 0.0 < rho2 <= 1.0:
        raise CalibrationError(f"coverage rho^2 {rho2!r} is not within (0, 1]")
    rho = math.sqrt(rho2)
    mean = rho * np.asarray(z_centre, dtype=float)
    var = rho2 * np.asarray(partial_variance, dtype=float) + (1.0 - rho2)
    return mean, np.round(var, 15) if rho2 == 1.0 else var


# -- from the z distribution to risks, measures and categories ------------------------------------
@dataclass
class _Tables:
    """Log risk on :data:`ETA_GRID` for each (start age, years) group, under one model."""

    log_risk: np.ndarray  # (groups, grid), non-decreasing along the grid

    def forward(self, eta: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Log risk at ``eta`` (clipped to the grid) for each person's group."""
        step = ETA_GRID[1] - ETA_GRID[0]
        pos = np.clip((eta - ETA_GRID[0]) / step, 0.0, ETA_GRID.size - 1.0)
        i = np.minimum(np.floor(pos).astype(np.int64), ETA_GRID.size - 2)
        frac = pos - i
        lo = self.log_risk[group, i]
        hi = self.log_risk[group, i + 1]
        return lo + frac * (hi - lo)

    def inverse(self, log_risk: np.ndarray, group: np.ndarray) -> np.ndarray:
        """The ``eta`` whose risk is ``exp(log_risk)``; -inf / +inf beyond the grid's risks."""
        table = self.log_risk
        n_grid = ETA_GRID.size
        # one sorted array: group g's row shifted by g * span keeps every row apart
        span = float(np.nanmax(table) - np.nanmin(table)) + 1.0
        offsets = np.arange(table.shape[0], dtype=float) * span
        flat = (table - table[:, :1] + offsets[:, None]).ravel()
        target = log_risk - table[group, 0] + offsets[group]
        k = np.searchsorted(flat, target, side="right") - 1 - group * n_grid
        k = np.clip(k, 0, n_grid - 2)
        lo = table[group, k]
        hi = table[group, k + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(hi > lo, (log_risk - lo) / (hi - lo), 0.0)
        eta = ETA_GRID[k] + np.clip(frac, 0.0, 1.0) * (ETA_GRID[1] - ETA_GRID[0])
        eta = np.where(log_risk < table[group, 0], -np.inf, eta)
        return np.where(log_risk > table[group, -1], np.inf, eta)


def _tables(model: AbsoluteRiskModel, starts: np.ndarray, spans: np.ndarray) -> _Tables:
    """Risk over each (start, span) at every grid ``eta`` (one vectorised model call)."""
    # a grid of log RRs, not people: no warning about extreme relative risks
    risk = model._risk(
        ETA_GRID[None, :], age_start=starts[:, None], years=spans[:, None], warn=False
    )
    with np.errstate(divide="ignore"):
        log_risk = np.log(np.maximum(risk, 1e-300))
    return _Tables(np.maximum.accumulate(log_risk, axis=1))


@dataclass(frozen=True)
class EffectUncertainty:
    """The OR per SD and how the model depends on it, for :func:`risk_interval`.

    Attributes
    ----------
    log_or, log_or_se
        ``b`` and its standard error (0: not propagated).
    centre
        ``c(b)``: the log of the population-average ``exp(b z)`` (``b^2/2`` for a normal
        score), so that ``eta = b z - c(b)``.
    model_at
        The absolute-risk model fitted with OR per SD ``exp(b)`` (baseline re-derived), or
        None when no absolute risk is computed.
    """

    log_or: float
    log_or_se: float
    centre: Callable[[float], float]
    model_at: Callable[[float], AbsoluteRiskModel] | None = None


def normal_centre(b: float) -> float:
    """``c(b) = b^2 / 2``: log of E[exp(b Z)] for a standard-normal score."""
    return b * b / 2.0


def reference_centre(population_z: np.ndarray) -> Callable[[float], float]:
    """``c(b) = ln mean exp(b z_ref)`` over a reference population's z-scores."""
    pz = np.asarray(population_z, dtype=float)

    def centre(b: float) -> float:
        x = b * pz
        top = float(x.max())
        return float(np.log(np.mean(np.exp(x - top))) + top)

    return centre


@dataclass(frozen=True)
class Spread:
    """A measure's interval and the probabilities of values below given thresholds.

    ``lo`` and ``hi`` bound the nominal :data:`LEVEL` interval; ``below[k]`` is
    P(value < thresholds[k]) per person and ``above[k]`` its complement from the upper
    tail; ``sd`` the standard deviation of the normal variable (eta or z) the value is a
    monotone function of (0 when nothing is uncertain).
    """

    lo: np.ndarray
    hi: np.ndarray
    below: np.ndarray | None
    sd: np.ndarray
    #: P(value > thresholds[k]) computed from the upper tail (precise where ``below`` is
    #: near 1); None with ``below``.
    above: np.ndarray | None = None


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return stats.norm.cdf(x)


def _normal_sf(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return stats.norm.sf(x)


def risk_interval(
    effect: EffectUncertainty,
    z_mean: np.ndarray,
    z_var: np.ndarray,
    *,
    age_start: np.ndarray,
    years: np.ndarray,
    point: np.ndarray,
    thresholds: Sequence[float] = (),
) -> Spread:
    """Interval of each person's absolute risk over ``[age_start, age_start + years)`` and
    P(risk < threshold) for each threshold (risks as probabilities).

    People whose ``point`` risk is NaN (interval outside the tables, no age) get NaN.
    """
    assert effect.model_at is not None
    n = point.size
    ok = np.isfinite(point) & np.isfinite(z_mean) & np.isfinite(z_var)
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    sd_out = np.full(n, np.nan)
    below = np.full((len(thresholds), n), np.nan) if thresholds else None
    above = np.full((len(thresholds), n), np.nan) if thresholds else None
    if not ok.any():
        return Spread(lo, hi, below, sd_out, above)
    start = np.floor(age_start[ok]).astype(np.int64)
    span = np.asarray(years, dtype=float)[ok].astype(np.int64)
    keys, group = np.unique(np.stack([start, span], axis=1), axis=0, return_inverse=True)
    group = group.ravel()
    b, se = effect.log_or, effect.log_or_se
    zm, zv = z_mean[ok], z_var[ok]
    base = _tables(effect.model_at(b), keys[:, 0], keys[:, 1])
    eta = b * zm - effect.centre(b)
    var = (b * b + se * se) * zv
    if se > 0:
        # the equivalent log RR under the model at b of the risk under b +- se (baseline
        # re-derived there): its slope in b carries both b z and the population average
        moved = []
        for bb in (b + se, b - se):
            shifted = _tables(effect.model_at(bb), keys[:, 0], keys[:, 1])
            log_r = shifted.forward(bb * zm - effect.centre(bb), group)
            moved.append(base.inverse(log_r, group))
        slope = (moved[0] - moved[1]) / (2.0 * se)
        slope = np.where(np.isfinite(slope), slope, zm - b)
        var = var + np.square(slope) * se * se
    sd = np.sqrt(np.maximum(var, 0.0))
    exact = sd == 0
    lo_ok = np.exp(base.forward(eta - Z_LEVEL * sd, group))
    hi_ok = np.exp(base.forward(eta + Z_LEVEL * sd, group))
    p = point[ok]
    lo[ok] = np.where(exact, p, lo_ok)
    hi[ok] = np.where(exact, p, hi_ok)
    sd_out[ok] = sd
    if below is not None and above is not None:
        for k, t in enumerate(thresholds):
            if t <= 0:
                below[k, ok], above[k, ok] = 0.0, 1.0
                continue
            eta_t = base.inverse(np.full(eta.size, math.log(t)), group)
            with np.errstate(divide="ignore", invalid="ignore"):
                x = (eta_t - eta) / sd
            below[k, ok] = np.where(exact, (p < t).astype(float), _normal_cdf(x))
            above[k, ok] = np.where(exact, (p >= t).astype(float), _normal_sf(x))
    return Spread(lo, hi, below, sd_out, above)


def relative_risk_interval(
    effect: EffectUncertainty,
    z_mean: np.ndarray,
    z_var: np.ndarray,
    *,
    point: np.ndarray,
    thresholds: Sequence[float] = (),
) -> Spread:
    """Interval of each person's relative risk ``exp(b z - c(b))`` and P(RR < threshold)."""
    b, se = effect.log_or, effect.log_or_se
    eta = b * z_mean - effect.centre(b)
    var = (b * b + se * se) * z_var
    if se > 0:
        slope = z_mean - (effect.centre(b + se) - effect.centre(b - se)) / (2.0 * se)
        var = var + np.square(slope) * se * se
    sd = np.sqrt(np.maximum(var, 0.0))
    return _monotone(eta, sd, point, np.exp, np.log, thresholds)


def percentile_interval(
    z_mean: np.ndarray, z_var: np.ndarray, *, point: np.ndarray, thresholds: Sequence[float] = ()
) -> Spread:
    """Interval of each person's percentile ``100 Phi(z)`` and P(percentile < threshold)."""
    sd = np.sqrt(np.maximum(z_var, 0.0))

    def to_value(z: np.ndarray) -> np.ndarray:
        return 100.0 * stats.norm.cdf(z)

    def from_value(v: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return stats.norm.ppf(np.clip(v, 0.0, 100.0) / 100.0)

    return _monotone(z_mean, sd, point, to_value, from_value, thresholds)


def _monotone(
    centre: np.ndarray,
    sd: np.ndarray,
    point: np.ndarray,
    to_value: Callable[[np.ndarray], np.ndarray],
    from_value: Callable[[np.ndarray], np.ndarray],
    thresholds: Sequence[float],
) -> Spread:
    ok = np.isfinite(point) & np.isfinite(centre) & np.isfinite(sd)
    exact = sd == 0
    lo = np.where(ok, np.where(exact, point, to_value(centre - Z_LEVEL * sd)), np.nan)
    hi = np.where(ok, np.where(exact, point, to_value(centre + Z_LEVEL * sd)), np.nan)
    below = above = None
    if thresholds:
        below = np.full((len(thresholds), point.size), np.nan)
        above = np.full((len(thresholds), point.size), np.nan)
        for k, t in enumerate(thresholds):
            with np.errstate(divide="ignore", invalid="ignore"):
                x = (from_value(np.array(float(t))) - centre) / sd
            below[k] = np.where(
                ok, np.where(exact, (point < t).astype(float), _normal_cdf(x)), np.nan
            )
            above[k] = np.where(
                ok, np.where(exact, (point >= t).astype(float), _normal_sf(x)), np.nan
            )
    return Spread(lo, hi, below, np.where(ok, sd, np.nan), above)


def band_probabilities(bands: Any, z_mean: np.ndarray, z_var: np.ndarray) -> np.ndarray:
    """P(the person's true percentile lies in each band), ``(people, bands)``, from a normal
    z (percentile ``100 Phi(z)``); one-hot where the variance is 0."""
    edges = stats.norm.ppf(np.clip(np.append(bands.lower, bands.upper[-1]) / 100.0, 0.0, 1.0))
    sd = np.sqrt(np.maximum(z_var, 0.0))[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (edges[None, :] - z_mean[:, None]) / sd
        below = stats.norm.cdf(x)
        above = stats.norm.sf(x)
    upper_tail = above[:, :-1] - above[:, 1:]
    lower_tail = below[:, 1:] - below[:, :-1]
    probs = np.where(below[:, :-1] > 0.5, upper_tail, lower_tail)
    exact = sd[:, 0] == 0
    if exact.any():
        pct = 100.0 * stats.norm.cdf(z_mean[exact])
        index = np.clip(
            np.searchsorted(bands.lower, pct, side="right") - 1, 0, bands.lower.size - 1
        )
        probs[exact] = np.eye(bands.lower.size)[index]
    return np.clip(probs, 0.0, 1.0)


def discrete_spread(
    values: np.ndarray, probs: np.ndarray, point: np.ndarray, thresholds: Sequence[float] = ()
) -> Spread:
    """Interval and threshold probabilities of a value taking ``values[i, k]`` with
    probability ``probs[i, k]`` (percentile bands): the 2.5 % and 97.5 % quantiles of that
    discrete distribution; the point value where one band is certain."""
    n = point.size
    ok = np.isfinite(point) & np.isfinite(values).all(axis=1)
    order = np.argsort(np.where(np.isfinite(values), values, np.inf), axis=1)
    v = np.take_along_axis(values, order, axis=1)
    cum = np.cumsum(np.take_along_axis(probs, order, axis=1), axis=1)
    tail = (1.0 - LEVEL) / 2.0
    k_lo = np.minimum((cum < tail - 1e-12).sum(axis=1), values.shape[1] - 1)
    k_hi = np.minimum((cum < 1.0 - tail - 1e-12).sum(axis=1), values.shape[1] - 1)
    rows = np.arange(n)
    certain = probs.max(axis=1) >= 1.0 - 1e-15
    lo = np.where(ok, np.where(certain, point, v[rows, k_lo]), np.nan)
    hi = np.where(ok, np.where(certain, point, v[rows, k_hi]), np.nan)
    below = above = None
    if thresholds:
        below = np.full((len(thresholds), n), np.nan)
        above = np.full((len(thresholds), n), np.nan)
        for k, t in enumerate(thresholds):
            low = (probs * (values < t)).sum(axis=1)
            below[k] = np.where(ok, np.where(certain, (point < t).astype(float), low), np.nan)
            above[k] = np.where(ok, 1.0 - below[k], np.nan)
    sd = np.where(certain, 0.0, 1.0)  # only "certain or not" matters downstream
    return Spread(lo, hi, below, np.where(ok, sd, np.nan), above)


def band_risks(
    model: AbsoluteRiskModel,
    log_rr: np.ndarray,
    *,
    age_start: np.ndarray,
    years: np.ndarray,
    valid: np.ndarray,
) -> np.ndarray:
    """Each person's risk over ``[age_start, age_start + years)`` at each band's log RR,
    ``(people, bands)``; NaN for people not ``valid`` (no age, interval beyond the tables)."""
    n = age_start.size
    out = np.full((n, log_rr.size), np.nan)
    if not valid.any():
        return out
    start = np.floor(age_start[valid]).astype(np.int64)
    span = np.asarray(years, dtype=float)[valid].astype(np.int64)
    keys, group = np.unique(np.stack([start, span], axis=1), axis=0, return_inverse=True)
    table = model._risk(  # bands, not people: no warning about extreme relative risks
        log_rr[None, :], age_start=keys[:, :1], years=keys[:, 1:], warn=False
    )
    out[valid] = table[group.ravel()]
    return out


def discrete_category_probabilities(
    scheme: CategoryScheme, values: np.ndarray, probs: np.ndarray, category: np.ndarray
) -> dict[str, np.ndarray]:
    """P(each category) when the measure takes ``values[i, k]`` with probability
    ``probs[i, k]`` (percentile bands), each value categorised as the scheme does (its
    inclusive and exclusive bounds); NaN where the person has no category."""
    labels = scheme.assign(values.ravel()).reshape(values.shape)
    has = np.array([c is not None for c in category], dtype=bool)
    certain = probs.max(axis=1) >= 1.0 - 1e-15
    out: dict[str, np.ndarray] = {}
    for band in scheme.bands:
        p = np.clip((probs * (labels == band.label)).sum(axis=1), 0.0, 1.0)
        p = np.where(certain, (category == band.label).astype(float), p)
        out[band.label] = np.where(has, p, np.nan)
    return out


def category_probabilities(
    scheme: CategoryScheme, spread: Spread, category: np.ndarray
) -> dict[str, np.ndarray]:
    """P(each category of ``scheme``) per person from ``spread.below`` at the scheme's
    thresholds (:func:`scheme_thresholds`); NaN where the person has no category.

    A person with no uncertainty (sd 0) gets 1 for their category and 0 for the others.
    """
    thresholds = scheme_thresholds(scheme)
    n = category.size
    has = np.array([c is not None for c in category], dtype=bool)
    # P(value < t) and P(value > t) at each threshold, each from its own tail so that a
    # small probability of the top (or bottom) category is not lost to 1 - (1 - p)
    below = {-math.inf: np.zeros(n), math.inf: np.ones(n)}
    above = {-math.inf: np.ones(n), math.inf: np.zeros(n)}
    for k, t in enumerate(thresholds):
        assert spread.below is not None and spread.above is not None
        below[t], above[t] = spread.below[k], spread.above[k]
    out: dict[str, np.ndarray] = {}
    exact = spread.sd == 0
    for band in scheme.bands:
        lower_tail = below[band.upper] - below[band.lower]
        upper_tail = above[band.lower] - above[band.upper]
        p = np.where(below[band.lower] > 0.5, upper_tail, lower_tail)
        p = np.clip(p, 0.0, 1.0)
        p = np.where(exact, (category == band.label).astype(float), p)
        out[band.label] = np.where(has, p, np.nan)
    return out


def scheme_thresholds(scheme: CategoryScheme) -> list[float]:
    """The finite boundaries between the scheme's categories, in its measure's unit."""
    values = {b.lower for b in scheme.bands} | {b.upper for b in scheme.bands}
    return sorted(v for v in values if math.isfinite(v))


def near_threshold_flags(
    probabilities: Mapping[str, np.ndarray], category: np.ndarray, threshold: float
) -> np.ndarray:
    """True where the most likely category's probability is below ``threshold``; None where
    the person has no category."""
    if not 0.0 < threshold <= 1.0:
        raise CalibrationError(f"near_threshold {threshold!r} is not within (0, 1]")
    stacked = np.vstack(list(probabilities.values()))
    with np.errstate(invalid="ignore"):
        top = np.nanmax(np.where(np.isnan(stacked), -1.0, stacked), axis=0)
    out = np.full(category.size, None, dtype=object)
    has = np.array([c is not None for c in category], dtype=bool)
    out[has] = top[has] < threshold
    return out
