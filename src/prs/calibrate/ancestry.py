"""Ancestry-aware normalisation: z-scores adjusted for genetic principal components.

Two ways to make percentiles and z-scores comparable across ancestries:

* **Group references** (:func:`~prs.calibrate.build_references`): one empirical reference per
  labelled group (e.g. 1000 Genomes super-population); each person is placed in their group's
  reference.
* **PC adjustment** (this module), the continuous method of Khera et al. 2019
  (Circulation 139:1593) as the PGS Catalog Calculator implements it (pgsc_calc,
  ``Z_norm1``/``Z_norm2``): in an unrelated reference panel, regress the score on the first
  principal components (ordinary least squares) so that ``Z_norm1 = (score - predicted mean) /
  SD(reference residuals)``; then model the variance of the residuals with a Gamma GLM with
  log link on the same PCs, so that ``Z_norm2 = residual / sqrt(predicted variance)``.
  Target samples need PCs projected onto the reference panel's PCA.
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
        Intercept and one coefficient per PC of the log-variance model (Gamma GLM).
    n
        Reference samples fitted.
    score_id, column
        Which score and value column.
    """

    pcs: tuple[str, ...]
    mean_coefficients: np.ndarray
    residual_sd: float
    variance_coefficients: np.ndarray
    n: int
    score_id: str | None = None
    column: str = "SUM"

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
            "n": self.n,
        }

    def validate(self, where: str = "ancestry adjustment") -> None:
        """Refuse an adjustment that would give wrong z-scores: coefficients that are not
        finite numbers, one per PC plus the intercept; ``residual_sd`` > 0; ``n`` >= 1."""
        k = len(self.pcs) + 1
        if self.mean_coefficients.shape != (k,) or self.variance_coefficients.shape != (k,):
            raise CalibrationError(f"{where}: coefficient count does not match the PCs")
        for name in ("mean_coefficients", "variance_coefficients"):
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
    import statsmodels.api as sm  # (heavy: imported when a model is fitted, not by the CLI)

    with np.errstate(all="ignore"):  # non-finite fits are refused just below
        mean_fit = sm.OLS(y, design).fit()
        residual = y - design @ mean_fit.params
        variance_fit = sm.GLM(
            residual**2, design, family=sm.families.Gamma(link=sm.families.links.Log())
        ).fit()
    adjustment = AncestryAdjustment(
        pcs=names,
        mean_coefficients=np.asarray(mean_fit.params, dtype=float),
        residual_sd=float(np.std(residual, ddof=1)),
        variance_coefficients=np.asarray(variance_fit.params, dtype=float),
        n=int(y.size),
        score_id=col.score_id,
        column=column,
    )
    adjustment.validate("PC adjustment fitted on the reference panel")
    return adjustment


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
