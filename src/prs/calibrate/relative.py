"""Relative risk implied by a score: per standard deviation, or by published percentile bands.

Relative risks are scaled so that their population average is 1: the risk of a person
relative to the average person of the population, not to the person at the mean score.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prs._compat import EXACT_FLOATS
from prs.errors import CalibrationError

#: Plausible range of an OR (or HR) per SD of a polygenic score, exclusive. Published cancer
#: scores lie between about 1.1 and 3 (PGS000004: 1.61; the strongest, e.g. for prostate
#: cancer, below 3); 100 per SD means a person 1 SD above the mean has 100 times the odds, far
#: beyond any score, and is taken as a unit mistake (a percent, a log OR given as an OR, a
#: value per allele). The range is symmetric on the log scale (protective scores below 1).
OR_PER_SD_RANGE = (0.01, 100.0)


def log_relative_risk_per_sd(
    z: np.ndarray | list[float] | float,
    *,
    or_per_sd: float,
    population_z: np.ndarray | None = None,
) -> np.ndarray:
    """Return the log relative risk of each z-score under an OR (or HR) per SD.

    ``log RR = b z - c`` with ``b = ln(or_per_sd)``; ``c`` makes the population average of
    RR equal to 1: ``c = b**2 / 2`` for a standard normal score (closed form of
    ``ln E[exp(b Z)]``), or ``c = ln mean(exp(b z_ref))`` over ``population_z`` when given.

    Parameters
    ----------
    z
        z-scores (relative to the reference population).
    or_per_sd
        Odds ratio (or hazard ratio) per standard deviation of the score, e.g. 1.61 for
        PGS000004 (Mavaddat et al. 2019, Am J Hum Genet 104:21-34, prospective validation).
    population_z
        z-scores of the reference population; None assumes a standard normal score.

    Raises
    ------
    CalibrationError
        When ``or_per_sd`` is not a positive finite number.

    Examples
    --------
    >>> import numpy as np
    >>> float(np.exp(log_relative_risk_per_sd(0.0, or_per_sd=np.e)))  # exp(-1/2)
    0.6065306597126334
    """
    b = _log_or(or_per_sd)
    zz = np.asarray(z, dtype=float)
    if population_z is None:
        centre = b * b / 2.0
    else:
        pop = b * np.asarray(population_z, dtype=float)
        if pop.size == 0 or not np.all(np.isfinite(pop)):
            raise CalibrationError("population_z must be finite z-scores of at least one person")
        centre = float(np.log(np.mean(np.exp(pop - pop.max()))) + pop.max())
    with np.errstate(over="ignore"):  # |z| near 1e308: +-inf, the limit of b z
        return b * zz - centre


def relative_risk_per_sd(
    z: np.ndarray | list[float] | float,
    *,
    or_per_sd: float,
    population_z: np.ndarray | None = None,
) -> np.ndarray:
    """Return ``exp(log_relative_risk_per_sd(...))``: population-average relative risk 1.

    Examples
    --------
    >>> round(float(relative_risk_per_sd(1.0, or_per_sd=2.0)), 4)  # exp(ln2 - ln2**2/2)
    1.5729
    """
    log_rr = log_relative_risk_per_sd(z, or_per_sd=or_per_sd, population_z=population_z)
    with np.errstate(over="ignore"):  # a z hundreds of SDs out: inf, the limit
        return np.exp(log_rr)


def normal_population(or_per_sd: float, *, nodes: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Log relative risks and weights describing a normal score's population (Gauss-Hermite).

    Returns ``(log_rr, weights)`` with weights summing to 1, such that
    ``sum(w * f(log_rr))`` approximates ``E[f(b Z - b^2/2)]`` for ``Z ~ N(0, 1)``.
    """
    b = _log_or(or_per_sd)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return b * x - b * b / 2.0, w / w.sum()


@dataclass(frozen=True)
class PercentileBands:
    """Published relative risk by percentile band (e.g. "top 1 %: RR 2.8").

    Band ``k`` covers percentiles ``[lower[k], upper[k])``; the last band includes 100.
    Bands tile 0-100 without gaps or overlaps.
    """

    lower: np.ndarray
    upper: np.ndarray
    relative_risk: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        lo, hi, rr = self.lower, self.upper, self.relative_risk
        if not (lo.shape == hi.shape == rr.shape) or lo.size == 0:
            raise CalibrationError("percentile bands: lower, upper and relative_risk differ")
        if lo[0] != 0 or hi[-1] != 100 or np.any(lo[1:] != hi[:-1]) or np.any(hi <= lo):
            raise CalibrationError(
                "percentile bands must tile 0-100 in order without gaps (lower of each band = "
                f"upper of the previous); got {list(zip(lo.tolist(), hi.tolist(), strict=True))}"
            )
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise CalibrationError("percentile bands: percentiles must be finite numbers")
        if np.any(~np.isfinite(rr)) or np.any(rr <= 0):
            raise CalibrationError(
                "percentile bands: relative risks must be finite numbers > 0, got "
                f"{rr[~(np.isfinite(rr) & (rr > 0))][:3].tolist()}"
            )

    @property
    def population_weights(self) -> np.ndarray:
        """Share of the population in each band."""
        return (self.upper - self.lower) / 100.0

    def population_average(self) -> float:
        """Population-average relative risk of the bands as published."""
        return float(np.sum(self.population_weights * self.relative_risk))


def read_percentile_bands(path: str | os.PathLike[str]) -> PercentileBands:
    """Read percentile bands from CSV: ``lower_percentile,upper_percentile,relative_risk``.

    Lines starting with ``#`` at the top are comments; ``# source: ...`` is recorded.

    Raises
    ------
    CalibrationError
        Missing columns, non-numbers, or bands that do not tile 0-100.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    source = ""
    body = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            if key.strip().lower() == "source":
                source = value.strip()
            continue
        body.append(line)
    try:
        frame = pd.read_csv(io.StringIO("\n".join(body)), **EXACT_FLOATS)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise CalibrationError(
            f"{path}: no percentile bands (expected lower_percentile,upper_percentile,"
            f"relative_risk and one line per band) ({exc})"
        ) from exc
    need = ["lower_percentile", "upper_percentile", "relative_risk"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise CalibrationError(f"{path}: missing column(s) {missing}; expected {need}")
    try:
        arrays = [frame[c].astype(float).to_numpy() for c in need]
    except ValueError as exc:
        raise CalibrationError(f"{path}: a band value is not a number ({exc})") from exc
    try:
        return PercentileBands(*arrays, source=source or str(path))
    except CalibrationError as exc:
        raise CalibrationError(f"{path}: {exc}") from exc


def relative_risk_from_bands(
    percentiles: np.ndarray | list[float],
    bands: PercentileBands,
    *,
    rescale: bool = True,
) -> np.ndarray:
    """Return each person's relative risk from the band their percentile falls in.

    Parameters
    ----------
    percentiles
        Percentiles in [0, 100] (e.g. from :meth:`Reference.percentile`).
    bands
        Published risk by band (:func:`read_percentile_bands`).
    rescale
        Divide by the bands' population average so that the average person has RR 1
        (default True; published bands are often relative to the middle quintile).

    Examples
    --------
    >>> import numpy as np
    >>> bands = PercentileBands(np.array([0., 50.]), np.array([50., 100.]), np.array([1., 3.]))
    >>> relative_risk_from_bands([10, 50, 100], bands).tolist()
    [0.5, 1.5, 1.5]
    """
    pct = np.asarray(percentiles, dtype=float)
    if np.any((pct < 0) | (pct > 100) | ~np.isfinite(pct)):
        raise CalibrationError("percentiles must lie within 0-100")
    index = np.clip(np.searchsorted(bands.lower, pct, side="right") - 1, 0, bands.lower.size - 1)
    rr = bands.relative_risk[index]
    return rr / bands.population_average() if rescale else rr


def check_or_per_sd(or_per_sd: float) -> float:
    """Return ``or_per_sd`` as a float, refusing what no score has.

    Raises
    ------
    CalibrationError
        Not a number, not finite, or outside :data:`OR_PER_SD_RANGE` (0.01-100, exclusive).

    Examples
    --------
    >>> check_or_per_sd(1.61)
    1.61
    """
    try:
        value = float(or_per_sd)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(
            f"or_per_sd (--or-per-sd) must be a number, got {or_per_sd!r}"
        ) from exc
    low, high = OR_PER_SD_RANGE
    if isinstance(or_per_sd, bool) or not (math.isfinite(value) and low < value < high):
        raise CalibrationError(
            f"or_per_sd (--or-per-sd) {or_per_sd!r} is not a plausible OR (or HR) per SD: "
            f"it must be a finite number between {low:g} and {high:g} (published polygenic "
            "scores: about 1.1-3, e.g. 1.61 for PGS000004); give the odds ratio itself, not "
            "its logarithm, a percent or a per-allele value"
        )
    return value


def _log_or(or_per_sd: float) -> float:
    return math.log(check_or_per_sd(or_per_sd))
