"""Evaluation on cohorts with outcomes: discrimination, calibration and recalibration.

Outcomes are 0/1 (1 = event). A cohort coded 1/2, with one class only or with missing
outcomes is refused with a :class:`~prs.errors.CalibrationError`; fewer than
:data:`MIN_EVENTS` events gives a :class:`~prs.calibrate.CalibrationWarning`. Calibration
compares predicted risks over a fixed horizon with observed binary outcomes over that horizon
(complete follow-up, or outcomes already defined for that horizon); censoring is not modelled.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from prs._compat import LazyModule
from prs.calibrate._inputs import (
    ScoreColumn,
    ScoresLike,
    numeric_column,
    read_sample_table,
    read_scores,
)
from prs.calibrate.reference import Reference
from prs.errors import CalibrationError, CalibrationWarning, warn

special = LazyModule("scipy.special")  # (imported at first use: ~0.3 s)
stats = LazyModule("scipy.stats")  # (imported at first use: ~0.3 s)

#: Fewer events than this gives a warning: estimates and CIs are unreliable.
MIN_EVENTS = 10


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval (``level`` e.g. 0.95)."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    level: float
    n: int
    n_events: int

    def to_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class CalibrationResult:
    """Calibration of predicted risks against observed outcomes.

    Attributes
    ----------
    expected, observed
        Sum of predicted risks and number of events.
    eo_ratio
        Expected / observed with CI (``ln O`` Poisson: ``E/O * exp(-/+ z / sqrt(O))``).
    calibration_in_the_large
        Intercept ``a`` of ``logit P(y) = a + logit(p)`` (0 when calibrated), Wald CI.
    calibration_slope
        Slope ``b`` of ``logit P(y) = a + b logit(p)`` (1 when calibrated), Wald CI.
    hosmer_lemeshow, hl_df, hl_p_value
        Hosmer-Lemeshow statistic over the risk groups, its degrees of freedom and p-value:
        ``hl_groups`` for predictions made outside the cohort (``predictions="external"``),
        ``hl_groups - 2`` for risks fitted on it (``"fitted"``).
    hl_groups
        Number of risk groups actually used: fewer than asked when tied predicted risks make
        quantile cut points coincide (ties are never split between groups).
    hl_predictions
        ``"external"`` or ``"fitted"``, as given to :func:`calibration`.
    groups
        Per risk group (deciles of predicted risk by default): n, mean predicted, observed
        rate, expected and observed counts, and a Wilson CI of the observed rate.
    """

    n: int
    expected: float
    observed: int
    eo_ratio: Estimate
    calibration_in_the_large: Estimate
    calibration_slope: Estimate
    hosmer_lemeshow: float
    hl_df: int
    hl_p_value: float
    groups: pd.DataFrame
    hl_groups: int = 0
    hl_predictions: str = "external"

    def summary(self) -> pd.DataFrame:
        """One row per metric: estimate and CI."""
        rows = [
            ("E/O ratio", self.eo_ratio),
            ("calibration-in-the-large", self.calibration_in_the_large),
            ("calibration slope", self.calibration_slope),
        ]
        frame = pd.DataFrame(
            [(name, e.estimate, e.ci_low, e.ci_high, e.p_value) for name, e in rows],
            columns=["metric", "estimate", "ci_low", "ci_high", "p_value"],
        )
        hl = pd.DataFrame(
            [
                (
                    f"Hosmer-Lemeshow ({self.hl_groups} groups, df {self.hl_df}, "
                    f"{self.hl_predictions} predictions)",
                    self.hosmer_lemeshow,
                    math.nan,
                    math.nan,
                    self.hl_p_value,
                )
            ],
            columns=frame.columns,
        )
        return pd.concat([frame, hl], ignore_index=True)


@dataclass(frozen=True)
class Recalibration:
    """Intercept and slope that recalibrate risks to a local cohort: ``expit(a + b logit p)``."""

    intercept: float
    slope: float

    def apply(self, predicted_risk: np.ndarray | list[float]) -> np.ndarray:
        """Return recalibrated risks.

        Examples
        --------
        >>> Recalibration(0.0, 1.0).apply([0.2]).tolist()
        [0.2]
        """
        p = _risks(predicted_risk)
        return special.expit(self.intercept + self.slope * special.logit(p))


def check_outcome(
    outcome: np.ndarray | list[float] | pd.Series, *, name: str = "outcome"
) -> np.ndarray:
    """Return the outcome as 0/1 floats, refusing degenerate cohorts.

    Raises
    ------
    CalibrationError
        Missing values, values other than 0/1 (1/2 coding is named), or one class only.

    Examples
    --------
    >>> check_outcome([0, 1, 1]).tolist()
    [0.0, 1.0, 1.0]
    """
    try:
        y = np.asarray(outcome, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{name}: outcomes must be 0/1 numbers ({exc})") from exc
    if y.size == 0:
        raise CalibrationError(f"{name}: empty cohort")
    if np.any(np.isnan(y)):
        raise CalibrationError(
            f"{name}: {int(np.isnan(y).sum())} of {y.size} outcomes are missing; drop those people"
        )
    values = set(np.unique(y).tolist())
    if not values <= {0.0, 1.0}:
        hint = (
            "it looks coded 1/2 (as PLINK phenotypes): recode as 0/1 (control = 0, case = 1)"
            if values <= {1.0, 2.0}
            else "recode as 0 (no event) / 1 (event)"
        )
        raise CalibrationError(
            f"{name}: outcomes must be 0/1, found values {sorted(values)[:5]}; {hint}"
        )
    if len(values) < 2:
        only = "events" if 1.0 in values else "non-events"
        raise CalibrationError(
            f"{name}: all {y.size} people are {only}; discrimination and calibration need both"
        )
    events = int(y.sum())
    if events < MIN_EVENTS or y.size - events < MIN_EVENTS:
        warn(
            f"{name}: only {min(events, y.size - events)} "
            f"{'events' if events < MIN_EVENTS else 'non-events'} (fewer than {MIN_EVENTS}); "
            "estimates and confidence intervals are unreliable",
            CalibrationWarning,
        )
    return y


def odds_ratio_per_sd(
    score: np.ndarray | list[float] | pd.Series,
    outcome: np.ndarray | list[float] | pd.Series,
    *,
    covariates: pd.DataFrame | np.ndarray | None = None,
    standardise: str | Reference = "controls",
    level: float = 0.95,
) -> Estimate:
    """Odds ratio per standard deviation of the score from logistic regression.

    Parameters
    ----------
    score
        Score of each person.
    outcome
        0/1 outcome.
    covariates
        Optional adjustment covariates (numeric columns, e.g. age, principal components).
    standardise
        Which SD defines "per SD": ``"controls"`` (default; the SD among non-events, as in
        Mavaddat et al. 2015/2019), ``"cohort"`` (everyone), ``"none"`` (raw units), or a
        :class:`~prs.calibrate.Reference` (its mean and SD).
    level
        Confidence level (default 0.95). CI is the Wald interval on the log scale.

    Returns
    -------
    Estimate
        OR per SD with CI, SE of log OR and Wald p-value.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(4000), np.ones(4000)]
    >>> x = rng.normal(size=8000) + np.log(1.5) * y
    >>> round(odds_ratio_per_sd(x, y).estimate, 1)
    1.5
    """
    y = check_outcome(outcome)
    x = _scores(score, y.size)
    if isinstance(standardise, Reference):
        zx = _standardised(x, standardise.mean, standardise.sd, "the reference")
    elif standardise == "controls":
        controls = x[y == 0]
        sd = controls.std(ddof=1) if controls.size > 1 else math.nan
        zx = _standardised(x, controls.mean(), sd, "the controls")
    elif standardise == "cohort":
        zx = _standardised(x, x.mean(), x.std(ddof=1), "the cohort")
    elif standardise == "none":
        zx = x
    else:
        raise CalibrationError(
            f"standardise '{standardise}' is not 'controls', 'cohort', 'none' or a Reference"
        )
    design = [np.ones_like(zx), zx]
    if covariates is not None:
        cov = np.asarray(covariates, dtype=float)
        cov = cov.reshape(y.size, -1)
        if not np.all(np.isfinite(cov)):
            raise CalibrationError("covariates hold missing or non-finite values")
        design.extend(cov.T)
    fit = _logistic(y, np.column_stack(design), what="OR per SD")
    beta, se = float(fit.params[1]), float(fit.bse[1])
    return _wald(beta, se, level, y, transform=np.exp)


def auc(
    score: np.ndarray | list[float] | pd.Series,
    outcome: np.ndarray | list[float] | pd.Series,
    *,
    level: float = 0.95,
) -> Estimate:
    """Area under the ROC curve with DeLong's standard error and a Wald CI (clipped to 0-1).

    Ties between a case and a control count one half (Mann-Whitney).

    Examples
    --------
    >>> auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]).estimate
    0.75
    """
    y = check_outcome(outcome)
    x = _scores(score, y.size)
    cases, controls = x[y == 1], x[y == 0]
    m, n = cases.size, controls.size
    ranks_all = stats.rankdata(np.concatenate([cases, controls]))
    ranks_cases = stats.rankdata(cases)
    ranks_controls = stats.rankdata(controls)
    value = (ranks_all[:m].sum() - m * (m + 1) / 2) / (m * n)
    # DeLong (1988) placement values, via midranks (Sun & Xu 2014).
    v10 = (ranks_all[:m] - ranks_cases) / n
    v01 = 1.0 - (ranks_all[m:] - ranks_controls) / m
    if m > 1 and n > 1:
        se = math.sqrt(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)
    else:  # one case or one control: DeLong's variance is undefined
        se = math.nan
    zq = float(stats.norm.ppf(0.5 + level / 2))
    p = 2 * stats.norm.sf(abs(value - 0.5) / se) if se > 0 else math.nan
    return Estimate(
        float(value),
        float(max(0.0, value - zq * se)),
        float(min(1.0, value + zq * se)),
        se,
        float(p),
        level,
        int(y.size),
        int(m),
    )


def c_index(
    time: np.ndarray | list[float] | pd.Series,
    event: np.ndarray | list[float] | pd.Series,
    score: np.ndarray | list[float] | pd.Series,
) -> float:
    """Harrell's concordance index for time-to-event outcomes (higher score = earlier event).

    A pair is comparable when the person with the shorter time had the event; at equal times,
    an event and a censoring are comparable (the event is taken as first, Harrell's convention
    as lifelines' ``concordance_index`` and R survival's ``concordance``), two events or two
    censorings are not. A comparable pair is concordant when the person with the event first
    has the higher score; equal scores count one half. Equals
    ``lifelines.utils.concordance_index(time, -score, event)``.

    Examples
    --------
    >>> c_index([1, 2, 3], [1, 1, 0], [3.0, 2.0, 1.0])
    1.0
    """
    ev = check_outcome(event, name="event")
    t = np.asarray(time, dtype=float).ravel()
    x = _scores(score, ev.size)
    if t.size != ev.size or np.any(~np.isfinite(t)):
        raise CalibrationError("time must be finite and as long as event")
    # Sweep times from the latest down, keeping a Fenwick tree of the scores of everyone
    # with a strictly later time: O(n log n).
    ranks = np.searchsorted(np.unique(x), x)  # 0-based rank of each score
    tree = np.zeros(ranks.max() + 2, dtype=np.int64)

    def count_up_to(rank: int) -> int:  # number inserted with score rank <= rank
        total, i = 0, rank + 1
        while i > 0:
            total += tree[i]
            i -= i & -i
        return int(total)

    def insert(rank: int) -> None:
        i = rank + 1
        while i < tree.size:
            tree[i] += 1
            i += i & -i

    order = np.argsort(-t, kind="stable")
    concordant = 0.0
    comparable = 0
    inserted = 0
    start = 0
    while start < order.size:
        stop = start
        while stop < order.size and t[order[stop]] == t[order[start]]:
            stop += 1
        group = order[start:stop]
        events, censored = group[ev[group] == 1], group[ev[group] == 0]
        # censorings at this time enter first: an event at the same time is compared with them
        for i in censored:
            insert(int(ranks[i]))
        inserted += censored.size
        for i in events:
            below = count_up_to(int(ranks[i]) - 1)
            equal = count_up_to(int(ranks[i])) - below
            concordant += below + 0.5 * equal
            comparable += inserted
        for i in events:
            insert(int(ranks[i]))
        inserted += events.size
        start = stop
    if comparable == 0:
        raise CalibrationError(
            "no comparable pairs: every event is at or after the last time (or tied with "
            "other events only)"
        )
    return float(concordant / comparable)


def or_top_vs_middle_quintile(
    score: np.ndarray | list[float] | pd.Series,
    outcome: np.ndarray | list[float] | pd.Series,
    *,
    level: float = 0.95,
) -> Estimate:
    """Odds ratio of the top quintile (>= 80th percentile) vs the middle (40th-60th).

    Quintiles are of the cohort's controls' scores (as Mavaddat et al. 2015); the CI is
    Woolf's (log OR +/- z sqrt(1/a + 1/b + 1/c + 1/d)). A zero cell gets 0.5 added to
    every cell (Haldane), with a warning.
    """
    y = check_outcome(outcome)
    x = _scores(score, y.size)
    q40, q60, q80 = np.quantile(x[y == 0], [0.4, 0.6, 0.8])
    top = x >= q80
    middle = (x >= q40) & (x < q60)
    a = float(np.sum(top & (y == 1)))
    b = float(np.sum(top & (y == 0)))
    c = float(np.sum(middle & (y == 1)))
    d = float(np.sum(middle & (y == 0)))
    if min(a, b, c, d) == 0:
        warn(
            "a cell of the top-vs-middle quintile table is empty; 0.5 added to every cell",
            CalibrationWarning,
        )
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    log_or = math.log(a * d / (b * c))
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return _wald(log_or, se, level, y[top | middle], transform=np.exp)


def calibration(
    predicted_risk: np.ndarray | list[float] | pd.Series,
    outcome: np.ndarray | list[float] | pd.Series,
    *,
    groups: int = 10,
    predictions: Literal["external", "fitted"] = "external",
    level: float = 0.95,
) -> CalibrationResult:
    """Calibration of predicted risks: E/O, calibration-in-the-large, slope, Hosmer-Lemeshow.

    Parameters
    ----------
    predicted_risk
        Predicted probability of the event over the cohort's follow-up horizon (0-1, exclusive).
    outcome
        Observed 0/1 outcome over the same horizon.
    groups
        Number of risk groups (quantiles of predicted risk) for the table and Hosmer-Lemeshow
        (default 10: deciles, as Hosmer & Lemeshow 2013). Groups are formed as R
        ResourceSelection's ``hoslem.test``: tied risks stay in one group, so fewer groups
        may be used (``hl_groups``); see :func:`calibration_table`.
    predictions
        Where the predicted risks come from, which sets the Hosmer-Lemeshow degrees of
        freedom: ``"external"`` (default; a model not fitted on this cohort, e.g. a published
        OR per SD with registry rates, as ``prs evaluate`` scores) uses ``df = groups used``;
        ``"fitted"`` (a logistic model fitted on this cohort) uses ``groups used - 2``
        (Hosmer & Lemeshow 2013, sections 5.2.2 and 6.4.2). R ``hoslem.test`` always uses
        ``g - 2`` with the ``g`` asked for.
    level
        Confidence level (default 0.95).

    Returns
    -------
    CalibrationResult

    Examples
    --------
    >>> result = calibration([0.1, 0.1, 0.2, 0.3] * 10, [0, 1, 0, 0] * 10, groups=4)
    >>> result.hl_groups, result.hl_df  # 0.1 is tied over the first two quartiles
    (3, 3)
    """
    if predictions not in ("external", "fitted"):
        raise CalibrationError(f"predictions '{predictions}' is not 'external' or 'fitted'")
    y = check_outcome(outcome)
    p = _risks(predicted_risk, y.size)
    lp = special.logit(p)
    expected = float(p.sum())
    observed = int(y.sum())
    eo = _eo_ratio(expected, observed, int(y.size), level)
    citl_fit = _logistic(y, np.ones((y.size, 1)), offset=lp, what="calibration-in-the-large")
    citl = _wald(float(citl_fit.params[0]), float(citl_fit.bse[0]), level, y)
    # fitted here, not in a helper: _logistic's warnings point at calibration()'s caller
    slope_fit = _logistic(y, np.column_stack([np.ones_like(lp), lp]), what="calibration slope")
    slope = _slope_estimate(float(slope_fit.params[1]), float(slope_fit.bse[1]), level, y)
    table = calibration_table(p, y, groups=groups)
    hl, used, df = _hosmer_lemeshow(table, predictions)
    return CalibrationResult(
        n=int(y.size),
        expected=expected,
        observed=observed,
        eo_ratio=eo,
        calibration_in_the_large=citl,
        calibration_slope=slope,
        hosmer_lemeshow=hl,
        hl_df=df,
        hl_p_value=float(stats.chi2.sf(hl, df)) if df > 0 else math.nan,
        groups=table,
        hl_groups=used,
        hl_predictions=predictions,
    )


def _eo_ratio(expected: float, observed: int, n: int, level: float) -> Estimate:
    """Expected / observed with the ``ln O`` Poisson CI ``E/O * exp(-/+ z / sqrt(O))``."""
    zq = float(stats.norm.ppf(0.5 + level / 2))
    eo = expected / observed
    eo_se = 1.0 / math.sqrt(observed)
    return Estimate(
        eo,
        eo * math.exp(-zq * eo_se),
        eo * math.exp(zq * eo_se),
        eo_se,
        float(2 * stats.norm.sf(abs(math.log(eo)) / eo_se)),
        level,
        n,
        observed,
    )


def _slope_estimate(slope_b: float, slope_se: float, level: float, y: np.ndarray) -> Estimate:
    """The calibration slope with its Wald CI and the p-value against a slope of 1."""
    zq = float(stats.norm.ppf(0.5 + level / 2))
    return Estimate(
        slope_b,
        slope_b - zq * slope_se,
        slope_b + zq * slope_se,
        slope_se,
        float(2 * stats.norm.sf(abs(slope_b - 1.0) / slope_se)),  # H0: slope = 1
        level,
        int(y.size),
        int(y.sum()),
    )


def _hosmer_lemeshow(
    table: pd.DataFrame, predictions: Literal["external", "fitted"]
) -> tuple[float, int, int]:
    """The Hosmer-Lemeshow statistic over the risk groups, the groups used and its df."""
    hl = float(
        np.sum(
            (table["observed"] - table["expected"]) ** 2
            / (table["expected"] * (1 - table["expected"] / table["n"]))
        )
    )
    used = len(table)
    return hl, used, used if predictions == "external" else used - 2


def calibration_table(
    predicted_risk: np.ndarray | list[float] | pd.Series,
    outcome: np.ndarray | list[float] | pd.Series,
    *,
    groups: int = 10,
    level: float = 0.95,
) -> pd.DataFrame:
    """Observed and expected events per group of predicted risk (deciles by default).

    Groups are those of R ResourceSelection's ``hoslem.test``: cut points are the quantiles
    of the predicted risks at ``0, 1/groups, ..., 1`` (R's default type 7, numpy's
    ``"linear"``), duplicates dropped; group ``k`` holds the risks in ``(q[k-1], q[k]]``, the
    first also the minimum. Tied risks therefore always share a group and the grouping does
    not depend on row order; when ties make cut points coincide fewer groups result, and a
    cut interval holding no risk is left out (R gives NaN there). Groups are numbered
    1, 2, ... in increasing risk. Columns: group, n, mean_predicted, observed_rate, ci_low,
    ci_high (Wilson), expected, observed.

    Examples
    --------
    >>> p = [0.1, 0.1, 0.1, 0.2, 0.3, 0.4]  # tertiles asked; the tied 0.1 stay together
    >>> calibration_table(p, [0, 1, 0, 0, 1, 1], groups=3)["n"].tolist()
    [4, 2]
    """
    y = np.asarray(outcome, dtype=float).ravel()
    p = _risks(predicted_risk, y.size)
    if groups < 2 or groups > y.size:
        raise CalibrationError(f"groups must be between 2 and the cohort size, got {groups}")
    cuts = np.unique(np.quantile(p, np.arange(groups + 1) / groups))
    # (q[k-1], q[k]] is interval k; the minimum (== q[0]) joins the first interval
    interval = np.maximum(np.searchsorted(cuts, p, side="left"), 1)
    labels = np.unique(interval, return_inverse=True)[1].ravel()
    frame = pd.DataFrame({"group": labels + 1, "p": p, "y": y})
    agg = frame.groupby("group").agg(
        n=("y", "size"), mean_predicted=("p", "mean"), expected=("p", "sum"), observed=("y", "sum")
    )
    agg = agg.reset_index()
    agg["observed_rate"] = agg["observed"] / agg["n"]
    low, high = _wilson(agg["observed"].to_numpy(), agg["n"].to_numpy(), level)
    agg["ci_low"], agg["ci_high"] = low, high
    return agg[
        [
            "group",
            "n",
            "mean_predicted",
            "observed_rate",
            "ci_low",
            "ci_high",
            "expected",
            "observed",
        ]
    ]


def recalibrate(
    predicted_risk: np.ndarray | list[float] | pd.Series,
    outcome: np.ndarray | list[float] | pd.Series,
    *,
    slope: bool = True,
) -> Recalibration:
    """Fit intercept (and slope) that recalibrate risks to a local cohort.

    Parameters
    ----------
    predicted_risk, outcome
        As for :func:`calibration`.
    slope
        Re-estimate the slope too (default True, "logistic recalibration"); False re-estimates
        only the intercept with slope fixed at 1 (recalibration-in-the-large).

    Returns
    -------
    Recalibration
        Apply to new predictions with :meth:`Recalibration.apply`.
    """
    y = check_outcome(outcome)
    lp = special.logit(_risks(predicted_risk, y.size))
    if slope:
        fit = _logistic(y, np.column_stack([np.ones_like(lp), lp]), what="recalibration")
        return Recalibration(float(fit.params[0]), float(fit.params[1]))
    fit = _logistic(y, np.ones((y.size, 1)), offset=lp, what="recalibration")
    return Recalibration(float(fit.params[0]), 1.0)


# -- helpers ---------------------------------------------------------------------------------
def _scores(score: np.ndarray | list[float] | pd.Series, n: int) -> np.ndarray:
    try:
        x = np.asarray(score, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"score: not numbers ({exc})") from exc
    if x.size != n:
        raise CalibrationError(f"score has {x.size} values, outcome {n}")
    if np.any(~np.isfinite(x)):
        raise CalibrationError(f"score: {int((~np.isfinite(x)).sum())} values missing/not finite")
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(np.max(x) - np.min(x))
        sd = float(np.std(x))
    if not (math.isfinite(spread) and math.isfinite(sd)):
        raise CalibrationError(
            f"score: values up to |{float(np.max(np.abs(x))):.3g}| overflow double precision "
            "(their spread or SD is not finite); these are not usable polygenic scores"
        )
    return x


def _standardised(x: np.ndarray, mean: float, sd: float, what: str) -> np.ndarray:
    if not (math.isfinite(sd) and sd > 0):
        raise CalibrationError(
            f"score: the SD of {what} is {sd!r}; 'per SD' needs a finite SD > 0 (a score "
            "constant among them?)"
        )
    return (x - mean) / sd


def _risks(predicted: np.ndarray | list[float] | pd.Series, n: int | None = None) -> np.ndarray:
    p = np.asarray(predicted, dtype=float).ravel()
    if n is not None and p.size != n:
        raise CalibrationError(f"predicted_risk has {p.size} values, outcome {n}")
    if np.any(~np.isfinite(p)) or np.any((p <= 0) | (p >= 1)):
        raise CalibrationError(
            "predicted risks must be probabilities strictly between 0 and 1 (not percent)"
        )
    return p


def _logistic(
    y: np.ndarray, design: np.ndarray, offset: np.ndarray | None = None, *, what: str
) -> Any:
    """Fit a logistic GLM. statsmodels' and numpy's warnings (perfect separation, a singular
    design, overflow in the link) do not reach the user as they are: each distinct one is
    issued once as a CalibrationWarning naming the estimate; a fit without finite estimates
    is a CalibrationError."""
    import statsmodels.api as sm  # (heavy: imported when a model is fitted, not by the CLI)

    model = sm.GLM(y, design, family=sm.families.Binomial(), offset=offset)
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            fit = model.fit()
        except (np.linalg.LinAlgError, ValueError) as exc:  # pragma: no cover - degenerate
            raise CalibrationError(f"{what}: logistic regression failed ({exc})") from exc
    params, bse = np.asarray(fit.params, dtype=float), np.asarray(fit.bse, dtype=float)
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(bse))):
        raise CalibrationError(
            f"{what}: logistic regression gave no finite estimate (estimates {params.tolist()}, "
            f"SEs {bse.tolist()}); the outcome is perfectly predicted or a column is degenerate"
        )
    for message in dict.fromkeys(str(w.message).splitlines()[0] for w in caught):
        warn(
            f"{what}: the logistic regression reported '{message}'; the estimate and its "
            "confidence interval may be unreliable",
            CalibrationWarning,
        )
    return fit


def _wald(value: float, se: float, level: float, y: np.ndarray, *, transform=None) -> Estimate:
    zq = float(stats.norm.ppf(0.5 + level / 2))
    low, high = value - zq * se, value + zq * se
    p = float(2 * stats.norm.sf(abs(value) / se)) if se > 0 else math.nan
    if transform is not None:
        with np.errstate(over="ignore"):  # an OR beyond 1e308 is reported as inf
            value, low, high = (float(transform(v)) for v in (value, low, high))
    return Estimate(value, low, high, se, p, level, int(y.size), int(y.sum()))


def _wilson(k: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    zq = stats.norm.ppf(0.5 + level / 2)
    phat = k / n
    centre = (phat + zq**2 / (2 * n)) / (1 + zq**2 / n)
    half = zq * np.sqrt(phat * (1 - phat) / n + zq**2 / (4 * n**2)) / (1 + zq**2 / n)
    return centre - half, centre + half


@dataclass(frozen=True)
class CohortEvaluation:
    """Everything :func:`evaluate_cohort` measured on one cohort."""

    n: int
    n_events: int
    or_per_sd: Estimate
    auc: Estimate
    or_top_vs_middle_quintile: Estimate
    c_index: float | None
    calibration: CalibrationResult | None
    recalibration: Recalibration | None

    def summary(self) -> pd.DataFrame:
        """One row per metric: estimate, CI and p-value."""
        rows = [
            ("OR per SD", self.or_per_sd),
            ("AUC", self.auc),
            ("OR top vs middle quintile", self.or_top_vs_middle_quintile),
        ]
        frame = pd.DataFrame(
            [(name, e.estimate, e.ci_low, e.ci_high, e.p_value) for name, e in rows],
            columns=["metric", "estimate", "ci_low", "ci_high", "p_value"],
        )
        extra = []
        if self.c_index is not None:
            extra.append(("C-index", self.c_index, math.nan, math.nan, math.nan))
        if self.recalibration is not None:
            extra.append(("recalibration intercept", self.recalibration.intercept, *[math.nan] * 3))
            extra.append(("recalibration slope", self.recalibration.slope, *[math.nan] * 3))
        parts = [frame]
        if self.calibration is not None:
            parts.append(self.calibration.summary())
        if extra:
            parts.append(pd.DataFrame(extra, columns=frame.columns))
        return pd.concat(parts, ignore_index=True)

    def to_dict(self) -> dict:
        """JSON-ready form (CLI ``prs evaluate``)."""
        out: dict = {
            "n": self.n,
            "n_events": self.n_events,
            "or_per_sd": self.or_per_sd.to_dict(),
            "auc": self.auc.to_dict(),
            "or_top_vs_middle_quintile": self.or_top_vs_middle_quintile.to_dict(),
            "c_index": self.c_index,
        }
        if self.calibration is not None:
            c = self.calibration
            out["calibration"] = {
                "expected": c.expected,
                "observed": c.observed,
                "eo_ratio": c.eo_ratio.to_dict(),
                "calibration_in_the_large": c.calibration_in_the_large.to_dict(),
                "calibration_slope": c.calibration_slope.to_dict(),
                "hosmer_lemeshow": c.hosmer_lemeshow,
                "hl_df": c.hl_df,
                "hl_p_value": c.hl_p_value,
                "hl_groups": c.hl_groups,
                "hl_predictions": c.hl_predictions,
            }
        if self.recalibration is not None:
            out["recalibration"] = {
                "intercept": self.recalibration.intercept,
                "slope": self.recalibration.slope,
            }
        return out


def evaluate_cohort(
    score: np.ndarray | list[float] | pd.Series,
    outcome: np.ndarray | list[float] | pd.Series,
    *,
    covariates: pd.DataFrame | np.ndarray | None = None,
    time: np.ndarray | list[float] | pd.Series | None = None,
    predicted_risk: np.ndarray | list[float] | pd.Series | None = None,
    groups: int = 10,
    predictions: Literal["external", "fitted"] = "external",
    level: float = 0.95,
) -> CohortEvaluation:
    """Run every evaluation the cohort's data allow.

    Parameters
    ----------
    score, outcome
        Score and 0/1 outcome of each person.
    covariates
        Adjustment covariates for the OR per SD.
    time
        Follow-up time (to event or censoring): adds Harrell's C-index.
    predicted_risk
        Predicted risk over the outcome's horizon: adds calibration and recalibration.
    groups, level
        Risk groups for the calibration table (10) and confidence level (0.95).
    predictions
        ``"external"`` (default: the predicted risks come from a model not fitted on this
        cohort, Hosmer-Lemeshow df = groups used) or ``"fitted"`` (df = groups used - 2); see
        :func:`calibration`.

    Returns
    -------
    CohortEvaluation
    """
    y = check_outcome(outcome)
    with warnings.catch_warnings():
        # the few-events warning was given once above; other warnings still reach the user
        warnings.filterwarnings(
            "ignore", message=r"outcome: only \d+ ", category=CalibrationWarning
        )
        warnings.filterwarnings("ignore", message=r"event: only \d+ ", category=CalibrationWarning)
        odds = odds_ratio_per_sd(score, y, covariates=covariates, level=level)
        area = auc(score, y, level=level)
        quintiles = or_top_vs_middle_quintile(score, y, level=level)
        concordance = None if time is None else c_index(time, y, score)
        calib = recal = None
        if predicted_risk is not None:
            calib = calibration(
                predicted_risk, y, groups=groups, predictions=predictions, level=level
            )
            recal = recalibrate(predicted_risk, y)
    return CohortEvaluation(
        n=int(y.size),
        n_events=int(y.sum()),
        or_per_sd=odds,
        auc=area,
        or_top_vs_middle_quintile=quintiles,
        c_index=concordance,
        calibration=calib,
        recalibration=recal,
    )


@dataclass(frozen=True)
class EvaluationTables:
    """``prs evaluate``'s cohort joined from its tables (:func:`join_evaluation_tables`).

    Attributes
    ----------
    scores
        The score read from the score table.
    cohort
        One row per sample in the score table, the outcomes (and the predicted risks):
        ``sample_id``, ``score_value``, the outcome column, the covariates, the time column
        and ``predicted_risk`` (when predicted risks were given), in the score table's order.
    outcome_column, covariates, time_column
        The outcome table's columns used.
    has_predicted
        Whether ``cohort`` holds ``predicted_risk``.
    inputs
        What the metrics JSON records of the inputs (``inputs``).
    """

    scores: ScoreColumn
    cohort: pd.DataFrame
    outcome_column: str
    covariates: tuple[str, ...]
    time_column: str | None
    has_predicted: bool
    inputs: Mapping[str, Any]

    def describe(self) -> str:
        """One line: how many samples were joined and what score was read."""
        return (
            f"{len(self.cohort)} samples in scores and outcomes; read {self.inputs['scores']}: "
            f"{self.scores.describe()}"
        )

    def evaluate(
        self,
        *,
        groups: int = 10,
        predictions: Literal["external", "fitted"] = "external",
        level: float = 0.95,
    ) -> TableEvaluation:
        """:func:`evaluate_cohort` on the joined cohort."""
        cohort = self.cohort
        covariates = list(self.covariates)
        result = evaluate_cohort(
            cohort["score_value"].to_numpy(),
            cohort[self.outcome_column].to_numpy(dtype=float),
            covariates=cohort[covariates].to_numpy(dtype=float) if covariates else None,
            time=cohort[self.time_column].to_numpy(dtype=float) if self.time_column else None,
            predicted_risk=(
                cohort["predicted_risk"].to_numpy(dtype=float) if self.has_predicted else None
            ),
            groups=groups,
            predictions=predictions,
            level=level,
        )
        return TableEvaluation(result, self)


@dataclass(frozen=True)
class TableEvaluation:
    """:func:`evaluate_tables`' result: the metrics and the tables they were measured on."""

    evaluation: CohortEvaluation
    tables: EvaluationTables

    def describe(self) -> str:
        """The joined cohort in one line (:meth:`EvaluationTables.describe`)."""
        return self.tables.describe()

    def summary(self) -> pd.DataFrame:
        """One row per metric (:meth:`CohortEvaluation.summary`)."""
        return self.evaluation.summary()

    @property
    def calibration_table(self) -> pd.DataFrame | None:
        """Per risk group calibration (``--table``), None without predicted risks."""
        calib = self.evaluation.calibration
        return None if calib is None else calib.groups

    def to_dict(self) -> dict:
        """The metrics JSON of ``prs evaluate``: the metrics and their ``inputs``."""
        doc = self.evaluation.to_dict()
        doc["inputs"] = dict(self.tables.inputs)
        return doc


def join_evaluation_tables(
    scores: ScoresLike,
    outcomes: str | os.PathLike[str],
    *,
    score_id: str | None = None,
    column: str = "SUM",
    outcome_column: str = "outcome",
    covariates: Sequence[str] = (),
    time_column: str | None = None,
    predicted: str | os.PathLike[str] | None = None,
    risk_column: str = "risk_10y",
) -> EvaluationTables:
    """Join a score table, an outcome table and optionally predicted risks by ``sample_id``.

    The table joins of ``prs evaluate``: the score (:func:`~prs.calibrate.read_scores`),
    the outcome table's 0/1 ``outcome_column``, numeric ``covariates`` and ``time_column``,
    and ``risk_column`` of the ``predicted`` table (e.g. ``prs categorise``'s
    ``categories.tsv``); samples in all of them are kept, in the score table's order.

    Raises
    ------
    CalibrationError
        A table unreadable or lacking a column; an outcome that is not 0/1 (1/2 coding
        named); a covariate or time that is not a number; a predicted risk outside (0, 1)
        or missing for a joined sample; no sample in both tables.
    """
    col = read_scores(scores, score_id=score_id, column=column)
    covariates = list(covariates)
    table = _outcome_table(outcomes, outcome_column, covariates, time_column)
    cohort = pd.DataFrame({"sample_id": col.sample_ids, "score_value": col.values}).merge(
        table, on="sample_id", how="inner"
    )
    if predicted is not None:
        cohort = _join_predicted(cohort, predicted, risk_column)
    if cohort.empty:
        raise CalibrationError("no sample is in both --scores and --outcomes (check sample_id)")
    inputs = {
        "scores": str(scores),
        "score_id": col.score_id,
        "column": column,
        "scores_table": col.table_info(),
        "outcomes": str(outcomes),
        "outcome_column": outcome_column,
        "covariates": covariates,
        "predicted": None if predicted is None else str(predicted),
        "risk_column": risk_column if predicted is not None else None,
    }
    return EvaluationTables(
        col, cohort, outcome_column, tuple(covariates), time_column, predicted is not None, inputs
    )


def evaluate_tables(
    scores: ScoresLike,
    outcomes: str | os.PathLike[str],
    *,
    score_id: str | None = None,
    column: str = "SUM",
    outcome_column: str = "outcome",
    covariates: Sequence[str] = (),
    time_column: str | None = None,
    predicted: str | os.PathLike[str] | None = None,
    risk_column: str = "risk_10y",
    groups: int = 10,
    predictions: Literal["external", "fitted"] = "external",
    level: float = 0.95,
) -> TableEvaluation:
    """``prs evaluate`` as a function: :func:`join_evaluation_tables`, then
    :func:`evaluate_cohort` on the joined cohort (nothing printed or written).

    ``result.to_dict()`` is the metrics JSON (``--out``) and ``result.calibration_table``
    the calibration table (``--table``).

    Raises
    ------
    CalibrationError
        As :func:`join_evaluation_tables` and :func:`evaluate_cohort`.
    """
    joined = join_evaluation_tables(
        scores,
        outcomes,
        score_id=score_id,
        column=column,
        outcome_column=outcome_column,
        covariates=covariates,
        time_column=time_column,
        predicted=predicted,
        risk_column=risk_column,
    )
    return joined.evaluate(groups=groups, predictions=predictions, level=level)


def _outcome_table(
    outcomes: str | os.PathLike[str],
    outcome_column: str,
    covariates: Sequence[str],
    time_column: str | None,
) -> pd.DataFrame:
    """``sample_id`` (text), the 0/1 outcome, the covariates and the time, as numbers."""
    needed = ["sample_id", outcome_column, *covariates]
    if time_column:
        needed.append(time_column)
    frame = read_sample_table(outcomes, "outcomes", required=needed)
    where = str(outcomes)
    table = pd.DataFrame({"sample_id": frame["sample_id"].astype(str)})
    table[outcome_column] = _outcome_values(frame, outcome_column, where)
    for name in [*covariates, *([time_column] if time_column else [])]:
        table[name] = numeric_column(frame, name, where)
    return table


def _outcome_values(frame: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """The 0/1 outcome column; the first other value is named with its line."""
    values = numeric_column(frame, column, where)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        hint = (
            "it looks coded 1/2 (as PLINK phenotypes): recode as 0/1 (control = 0, case = 1)"
            if set(np.unique(values).tolist()) <= {1.0, 2.0}
            else "recode as 0 (no event) / 1 (event)"
        )
        raw = frame[column].iloc[i]
        # a numpy scalar as the Python number it holds (its repr is the file's text)
        raw = raw.item() if hasattr(raw, "item") else raw
        raise CalibrationError(
            f"{where} line {frame.index[i]} (sample {frame['sample_id'].iloc[i]}): {column} "
            f"{raw!r} is not 0 or 1; {hint}"
        )
    return values


def _join_predicted(
    cohort: pd.DataFrame, predicted: str | os.PathLike[str], risk_column: str
) -> pd.DataFrame:
    """``cohort`` joined with the predicted risks (``predicted_risk``), each in (0, 1)."""
    table = read_sample_table(predicted, "predicted risks", required=("sample_id", risk_column))
    risk = numeric_column(table, risk_column, str(predicted), allow_missing=True)
    outside = ~np.isnan(risk) & ((risk <= 0) | (risk >= 1))
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise CalibrationError(
            f"{predicted} line {table.index[i]} (sample "
            f"{table['sample_id'].iloc[i]}): {risk_column} {float(risk[i])!r} is "
            "not a probability strictly between 0 and 1 (risks in percent? divide by 100)"
        )
    cohort = cohort.merge(
        pd.DataFrame({"sample_id": table["sample_id"].astype(str), "predicted_risk": risk}),
        on="sample_id",
        how="inner",
    )
    dropped = int(cohort["predicted_risk"].isna().sum())
    if dropped:
        raise CalibrationError(
            f"{predicted}: {dropped} samples have no {risk_column}; "
            "evaluate a horizon every sample has"
        )
    return cohort
