"""Ancestry-aware normalisation: z-scores adjusted for genetic principal components.

Two ways to make percentiles and z-scores comparable across ancestries:

* **Group references** (:func:`~prs.calibrate.build_references`): one empirical reference per
  labelled group (e.g. 1000 Genomes super-population); each person is placed in their group's
  reference.
* **PC adjustment** (this module), the continuous method of Khera et al. 2019
  (Circulation 139:1593) as the PGS Catalog Calculator implements it (pgsc_calc,
  ``Z_norm1``/``Z_norm2``; pgscatalog-calc 0.3.1 ``pgs_adjust``): in an unrelated reference
  panel, regress the score on the first principal components (ordinary least squares) so that
  ``Z_norm1 = (score - predicted mean) / SD(reference residuals)`` (SD with ``ddof=0``, as
  pgsc_calc); then (Khan et al. 2022, Nat Med 28:1412) model mean and variance jointly,
  ``score ~ Normal(a + b.PCs, exp(c + d.PCs))``, by maximum likelihood started from the OLS
  fit and a Gamma GLM (log link) of the squared residuals, so that ``Z_norm2 = (score - mean)
  / sqrt(variance)``. pgsc_calc fits the same joint model (its "full likelihood" default,
  adapted from the Broad's palantir-workflows); ``variance_fit="two-step"`` keeps the OLS
  mean and the Gamma GLM variance instead. Target samples need PCs projected onto the
  reference panel's PCA.
* **Most similar population** (:func:`population_z_percentile`): percentile and z of each
  person's score in the score distribution of their most similar reference population
  (:mod:`prs.ancestry.similarity`), pgsc_calc's ``percentile_MostSimilarPop`` and
  ``Z_MostSimilarPop``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from prs._compat import EXACT_FLOATS
from prs.calibrate._inputs import ScoresLike, read_scores
from prs.errors import CalibrationError

#: Principal components used by default: 4, as the PGS Catalog Calculator's
#: ``--n_normalization`` default.
DEFAULT_N_PCS = 4


@dataclass(frozen=True)
class AncestryAdjustment:
    """A fitted PC adjustment of one score (see the module notes).

    Attributes
    ----------
    pcs
        Names of the principal-component columns used, in order.
    mean_coefficients
        Intercept and one coefficient per PC of the mean model (OLS).
    residual_sd
        SD of the reference residuals (ddof=1).
    variance_coefficients
        Intercept and one coefficient per PC of the log-variance model (joint maximum
        likelihood, or the Gamma GLM of a two-step fit).
    n
        Reference samples fitted.
    score_id, column
        Which score and value column.
    variance_mean_coefficients
        Intercept and one coefficient per PC of the mean in ``Z_norm2`` (the joint fit's);
        None: the OLS ``mean_coefficients`` (a two-step fit, or a reference saved before).
    """

    pcs: tuple[str, ...]
    mean_coefficients: np.ndarray
    residual_sd: float
    variance_coefficients: np.ndarray
    n: int
    score_id: str | None = None
    column: str = "SUM"
    variance_mean_coefficients: np.ndarray | None = None

    def z(
        self,
        scores: ScoresLike,
        pcs: pd.DataFrame,
        *,
        method: Literal["mean", "mean+variance"] = "mean+variance",
        sample_ids: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Return ancestry-adjusted z-scores (``Z_norm1`` for "mean", ``Z_norm2`` otherwise).

        Parameters
        ----------
        scores
            Score values (array aligned with ``sample_ids``) or a scores table.
        pcs
            PCs of the same samples, projected onto the reference PCA: a table with a sample
            ID column (``IID`` or ``sample_id``) and the PC columns named in :attr:`pcs`.
        method
            ``"mean+variance"`` (default, ``Z_norm2``) or ``"mean"`` (``Z_norm1``).
        sample_ids
            IDs of plain-array scores, to align with ``pcs``.

        Raises
        ------
        CalibrationError
            PC columns missing, or samples without PCs.
        """
        col = read_scores(scores, score_id=self.score_id, column=self.column)
        ids = col.sample_ids if sample_ids is None else np.asarray(sample_ids, dtype=str)
        design = _design(pcs, self.pcs, ids, "target PCs")
        if method not in ("mean", "mean+variance"):
            raise CalibrationError(f"method '{method}' is not 'mean' or 'mean+variance'")
        with np.errstate(all="ignore"):  # overflow from absurd PCs is refused just below
            residual = col.values - design @ self.mean_coefficients
            if method == "mean":
                z = residual / self.residual_sd
            else:
                if self.variance_mean_coefficients is not None:
                    residual = col.values - design @ self.variance_mean_coefficients
                variance = np.exp(design @ self.variance_coefficients)
                z = residual / np.sqrt(variance)
                z[~(np.isfinite(variance) & (variance > 0))] = np.nan
        bad = ~np.isfinite(z)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CalibrationError(
                f"target PCs: sample {ids[i]} gets no finite ancestry-adjusted z (score "
                f"{col.values[i]!r}, PCs {design[i, 1:].tolist()}): its PCs lie far outside "
                "the reference panel's; check that they were projected onto the reference PCA"
            )
        return z

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "Khera 2019 PC adjustment (pgsc_calc Z_norm1/Z_norm2)",
            "score_id": self.score_id,
            "column": self.column,
            "pcs": list(self.pcs),
            "mean_coefficients": self.mean_coefficients.tolist(),
            "residual_sd": self.residual_sd,
            "variance_coefficients": self.variance_coefficients.tolist(),
            "variance_mean_coefficients": (
                None
                if self.variance_mean_coefficients is None
                else self.variance_mean_coefficients.tolist()
            ),
            "n": self.n,
        }

    def validate(self, where: str = "ancestry adjustment") -> None:
        """Refuse an adjustment that would give wrong z-scores: coefficients that are not
        finite numbers, one per PC plus the intercept; ``residual_sd`` > 0; ``n`` >= 1."""
        k = len(self.pcs) + 1
        names = ["mean_coefficients", "variance_coefficients"]
        if self.variance_mean_coefficients is not None:
            names.append("variance_mean_coefficients")
        if any(getattr(self, name).shape != (k,) for name in names):
            raise CalibrationError(f"{where}: coefficient count does not match the PCs")
        for name in names:
            values = getattr(self, name)
            if not np.all(np.isfinite(values)):
                i = int(np.flatnonzero(~np.isfinite(values))[0])
                raise CalibrationError(
                    f"{where}: {name}[{i}] {float(values[i])!r} is not a finite number"
                )
        if not (math.isfinite(self.residual_sd) and self.residual_sd > 0):
            raise CalibrationError(
                f"{where}: residual_sd {self.residual_sd!r} must be a finite number > 0"
            )
        if self.n < 1:
            raise CalibrationError(f"{where}: n {self.n!r} must be >= 1")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "ancestry adjustment") -> Any:
        if not isinstance(data, dict):
            raise CalibrationError(f"{where}: must be a JSON object")
        try:
            out = cls(
                pcs=tuple(data["pcs"]),
                mean_coefficients=np.asarray(data["mean_coefficients"], dtype=float),
                residual_sd=float(data["residual_sd"]),
                variance_coefficients=np.asarray(data["variance_coefficients"], dtype=float),
                n=int(data["n"]),
                score_id=data.get("score_id"),
                column=str(data.get("column", "SUM")),
                variance_mean_coefficients=(
                    None
                    if data.get("variance_mean_coefficients") is None
                    else np.asarray(data["variance_mean_coefficients"], dtype=float)
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"{where}: malformed ancestry adjustment ({exc!r})") from exc
        out.validate(where)
        return out


def read_pcs(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a PC table (PLINK 2 ``.eigenvec``/``.pcs``-style TSV with ``IID`` and ``PC1``...)."""
    path = Path(path)
    try:
        frame = pd.read_csv(
            path,
            sep=r"\s+",
            dtype={"IID": str, "#IID": str, "sample_id": str},
            **EXACT_FLOATS,
        )
    except FileNotFoundError as exc:
        raise CalibrationError(f"{path}: PC file not found") from exc
    except pd.errors.EmptyDataError as exc:
        raise CalibrationError(f"{path}: PC file is empty (expected IID, PC1, PC2, ...)") from exc
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise CalibrationError(f"{path}: cannot read PCs ({exc})") from exc
    return frame.rename(columns={"#IID": "IID", "#FID": "FID"})


def fit_ancestry_adjustment(
    reference_scores: ScoresLike,
    reference_pcs: pd.DataFrame,
    *,
    score_id: str | None = None,
    column: str = "SUM",
    n_pcs: int = DEFAULT_N_PCS,
    exclude: Sequence[str] | None = None,
    variance_fit: Literal["joint", "two-step"] = "joint",
) -> AncestryAdjustment:
    """Fit the PC adjustment on an unrelated reference panel.

    Parameters
    ----------
    reference_scores
        Scores of the reference panel (``scores.tsv`` path or table, long format).
    reference_pcs
        The panel's PCs: sample ID column (``IID`` or ``sample_id``) and ``PC1``, ``PC2``, ...
    score_id, column
        Which score and value column.
    n_pcs
        Number of leading PCs in the models (default 4, as pgsc_calc ``--n_normalization``).
    exclude
        Sample IDs to leave out (e.g. related samples, as pgsc_calc drops KING-related ones).
    variance_fit
        ``"joint"`` (default, as pgsc_calc): mean and log-variance fitted together by maximum
        likelihood for ``Z_norm2``; ``"two-step"``: OLS mean, then a Gamma GLM of the squared
        residuals.

    Raises
    ------
    CalibrationError
        Too few samples with both a score and PCs, or missing PC columns.
    """
    col = read_scores(reference_scores, score_id=score_id, column=column)
    names = tuple(f"PC{i}" for i in range(1, n_pcs + 1))
    keep = np.ones(col.sample_ids.size, dtype=bool)
    if exclude is not None:
        keep &= ~np.isin(col.sample_ids, np.asarray(list(exclude), dtype=str))
    ids_with_pcs = set(_ids(reference_pcs, "reference PCs"))
    keep &= np.isin(col.sample_ids, list(ids_with_pcs))
    if keep.sum() < 10 * (n_pcs + 1):
        raise CalibrationError(
            f"only {int(keep.sum())} reference samples have both a score and PCs; need at least "
            f"{10 * (n_pcs + 1)} for {n_pcs} PCs"
        )
    ids = col.sample_ids[keep]
    y = col.values[keep]
    design = _design(reference_pcs, names, ids, "reference PCs")
    if variance_fit not in ("joint", "two-step"):
        raise CalibrationError(f"variance_fit '{variance_fit}' is not 'joint' or 'two-step'")
    import statsmodels.api as sm  # (heavy: imported when a model is fitted, not by the CLI)

    with np.errstate(all="ignore"):  # non-finite fits are refused just below
        mean_fit = sm.OLS(y, design).fit()
        residual = y - design @ mean_fit.params
        variance_fit_glm = sm.GLM(
            residual**2, design, family=sm.families.Gamma(link=sm.families.links.Log())
        ).fit()
    mean_coefficients = np.asarray(mean_fit.params, dtype=float)
    variance_coefficients = np.asarray(variance_fit_glm.params, dtype=float)
    variance_mean = None
    if variance_fit == "joint":
        variance_mean, variance_coefficients = _joint_fit(
            y, design, mean_coefficients, variance_coefficients
        )
    adjustment = AncestryAdjustment(
        pcs=names,
        mean_coefficients=mean_coefficients,
        residual_sd=float(np.std(residual, ddof=0)),  # ddof=0 as pgsc_calc
        variance_coefficients=variance_coefficients,
        n=int(y.size),
        score_id=col.score_id,
        column=column,
        variance_mean_coefficients=variance_mean,
    )
    adjustment.validate("PC adjustment fitted on the reference panel")
    return adjustment


def _joint_fit(
    y: np.ndarray, design: np.ndarray, mean_start: np.ndarray, variance_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum likelihood of ``y ~ Normal(design @ a, exp(design @ c))`` (pgsc_calc's full
    likelihood fit), from the two-step estimates; returns ``(a, c)`` on the PCs' own scale.

    Fitted on centred, standardised PCs and a centred score (the optimum is the same; the
    problem is far better conditioned), by BFGS with the analytic gradient to a gradient norm
    of 1e-9 per sample, then mapped back.
    """
    from scipy import optimize

    centre = design[:, 1:].mean(axis=0)
    scale = design[:, 1:].std(axis=0)
    scale[scale == 0] = 1.0
    x = np.column_stack([np.ones(y.size), (design[:, 1:] - centre) / scale])
    offset = float(y.mean())
    yc = y - offset
    # the start in standardised coordinates: b_std_j = b_j s_j, b0_std = b0 + sum b_j m_j
    k = x.shape[1]

    def to_std(coef: np.ndarray, shift: float) -> np.ndarray:
        return np.r_[coef[0] + coef[1:] @ centre - shift, coef[1:] * scale]

    start = np.r_[to_std(mean_start, offset), to_std(variance_start, 0.0)]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        log_variance = x @ theta[k:]
        weight = np.exp(-log_variance)
        residual = yc - x @ theta[:k]
        value = 0.5 * np.sum(log_variance + residual**2 * weight)
        grad = np.r_[-(x.T @ (residual * weight)), x.T @ (0.5 - 0.5 * residual**2 * weight)]
        return float(value), grad

    with np.errstate(all="ignore"):  # a diverging step is rejected by the line search
        fit = optimize.minimize(
            objective,
            start,
            jac=True,
            method="BFGS",
            options={"gtol": 1e-9 * y.size, "maxiter": 10_000},
        )
    theta = fit.x
    grad_norm = float(np.max(np.abs(objective(theta)[1])))
    if not np.all(np.isfinite(theta)) or grad_norm > 1e-4 * y.size:
        raise CalibrationError(
            "PC adjustment: the joint mean and variance fit did not converge "
            f"({fit.message}; gradient {grad_norm:.3g}); use variance_fit='two-step'"
        )

    def from_std(coef: np.ndarray, shift: float) -> np.ndarray:
        slopes = coef[1:] / scale
        return np.r_[coef[0] + shift - slopes @ centre, slopes]

    return from_std(theta[:k], offset), from_std(theta[k:], 0.0)


def _ids(pcs: pd.DataFrame, where: str) -> np.ndarray:
    for name in ("sample_id", "IID", "#IID"):
        if name in pcs.columns:
            return pcs[name].astype(str).to_numpy()
    raise CalibrationError(f"{where}: no sample ID column (IID or sample_id)")


def _design(pcs: pd.DataFrame, names: Sequence[str], ids: np.ndarray, where: str) -> np.ndarray:
    missing = [n for n in names if n not in pcs.columns]
    if missing:
        raise CalibrationError(f"{where}: missing PC column(s) {missing}")
    numbers = pcs[list(names)].apply(pd.to_numeric, errors="coerce")
    bad = (numbers.isna() & pcs[list(names)].notna()) | np.isinf(numbers)
    if bad.to_numpy().any():
        row, col = (int(v[0]) for v in np.nonzero(bad.to_numpy()))
        raise CalibrationError(
            f"{where}: {names[col]} {pcs[names[col]].iloc[row]!r} of sample "
            f"{_ids(pcs, where)[row]} is not a finite number"
        )
    table = pd.DataFrame(numbers.to_numpy(dtype=float), index=_ids(pcs, where))
    if table.index.has_duplicates:
        raise CalibrationError(f"{where}: a sample ID appears more than once")
    aligned = table.reindex(ids)
    absent = aligned.isna().any(axis=1).to_numpy()
    if absent.any():
        raise CalibrationError(
            f"{where}: {int(absent.sum())} samples have no (complete) PCs, first "
            f"{ids[np.flatnonzero(absent)[0]]}; project them onto the reference PCA"
        )
    values = aligned.to_numpy()
    return np.column_stack([np.ones(len(ids)), values]) if values.size else np.ones((0, 1))


def adjusted_percentile(z: np.ndarray) -> np.ndarray:
    """Percentile implied by an ancestry-adjusted z-score: ``100 * Phi(z)``."""
    from scipy import stats

    return 100.0 * stats.norm.cdf(np.asarray(z, dtype=float))


@dataclass(frozen=True)
class PopulationPlacement:
    """Each score placed in its most similar reference population (pgsc_calc's
    ``percentile_MostSimilarPop`` and ``Z_MostSimilarPop``).

    Attributes
    ----------
    sample_ids, population
        Sample IDs and the population each is compared with.
    percentile
        ``scipy.stats.percentileofscore(kind="rank")`` of the score among the population's
        reference scores (0-100; ties count half, a score equal to a reference score is
        counted as itself too, exactly as pgsc_calc).
    z
        ``(score - mean) / SD`` of the population's reference scores (SD with ``ddof=0``).
    reference_n
        Reference scores of each person's population.
    """

    sample_ids: np.ndarray
    population: np.ndarray
    percentile: np.ndarray
    z: np.ndarray
    reference_n: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "sample_id": self.sample_ids,
                "MostSimilarPop": self.population,
                "percentile_MostSimilarPop": self.percentile,
                "Z_MostSimilarPop": self.z,
                "reference_n": self.reference_n,
            }
        )


def population_z_percentile(
    scores: ScoresLike,
    populations: Any,
    reference_scores: ScoresLike,
    reference_labels: Any,
    *,
    score_id: str | None = None,
    column: str = "SUM",
    exclude: Sequence[str] | None = None,
) -> PopulationPlacement:
    """Percentile and z of each score in its most similar reference population, as pgsc_calc.

    Parameters
    ----------
    scores
        Scores to place (``scores.tsv`` path or table, long format).
    populations
        Population of each scored sample: a
        :class:`~prs.ancestry.similarity.PopulationSimilarity` (its ``MostSimilarPop``) or a
        mapping / Series sample ID -> population.
    reference_scores
        Scores of the reference panel.
    reference_labels
        Population of each reference sample (mapping / Series sample ID -> label).
    score_id, column
        Which score and value column.
    exclude
        Reference samples to leave out (related ones, as pgsc_calc).

    Raises
    ------
    CalibrationError
        A scored sample without a population, or a population without reference scores.

    Examples
    --------
    >>> ref = pd.DataFrame({"sample_id": list("abcdef"), "score": "s",
    ...                     "SUM": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0]})
    >>> labels = dict(zip("abcdef", "AAABBB"))
    >>> scores = pd.Series([2.0, 25.0], index=["x", "y"])
    >>> out = population_z_percentile(scores, {"x": "A", "y": "B"}, ref, labels)
    >>> out.percentile.round(2).tolist(), out.z.round(3).tolist()
    ([66.67, 66.67], [0.0, 0.612])

    (2 among 1, 2, 3: (1 below + 2 at or below + 1 for the tie) x 50 / 3; 25 among 10, 20,
    30: (2 + 2) x 50 / 3; z = (25 - 20) / 8.165.)
    """
    from scipy import stats

    from prs.ancestry.similarity import PopulationSimilarity

    col = read_scores(scores, score_id=score_id, column=column)
    if isinstance(populations, PopulationSimilarity):
        assigned = populations.most_similar[populations.for_samples(col.sample_ids)]
    else:
        series = pd.Series(populations, dtype=object)
        series.index = series.index.astype(str)
        found = series.reindex(col.sample_ids)
        if found.isna().any():
            first = col.sample_ids[np.flatnonzero(found.isna().to_numpy())[0]]
            raise CalibrationError(
                f"populations: {int(found.isna().sum())} scored samples have no population, "
                f"first {first}"
            )
        assigned = found.astype(str).to_numpy()
    ref = read_scores(reference_scores, score_id=score_id, column=column)
    labels = pd.Series(reference_labels, dtype=object)
    labels.index = labels.index.astype(str)
    ref_labels = labels.reindex(ref.sample_ids).to_numpy()
    keep = pd.notna(ref_labels)
    if exclude is not None:
        keep &= ~np.isin(ref.sample_ids, np.asarray(list(exclude), dtype=str))
    percentile = np.full(col.values.size, np.nan)
    z = np.full(col.values.size, np.nan)
    reference_n = np.zeros(col.values.size, dtype=np.int64)
    for pop in pd.unique(assigned):
        values = ref.values[keep & (ref_labels == pop)]
        if values.size < 2:
            raise CalibrationError(
                f"reference scores: population {pop} has {values.size} unrelated reference "
                "score(s); need at least 2 to place a score in it"
            )
        mask = assigned == pop
        percentile[mask] = stats.percentileofscore(values, col.values[mask], kind="rank")
        z[mask] = (col.values[mask] - values.mean()) / values.std(ddof=0)
        reference_n[mask] = values.size
    return PopulationPlacement(col.sample_ids, assigned, percentile, z, reference_n)
