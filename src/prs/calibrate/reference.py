"""Reference distributions: where a score sits among a reference population.

A :class:`Reference` is built from scores that ``prs score`` computed on a reference cohort
(:func:`build_reference`), from a published quantile table (:func:`reference_from_quantiles`,
:func:`read_megsap_percentiles`) or from published parameters (:func:`reference_from_parameters`).
It is saved as a versioned JSON file with its provenance (:func:`save_reference`,
:func:`load_reference`) so that every run and site places scores against the same population.

Percentile convention (mid-rank)
--------------------------------
For an empirical reference of ``n`` sorted values the percentile of ``x`` is
``100 * (number of reference values < x + 0.5 * number equal to x) / n``: ties share the
middle of their rank range, so a score equal to the reference median sits at 50. Scores
outside the reference range are flagged (``out_of_range`` -1 below, +1 above) and their
percentile is clipped to the open interval ``[50 / n, 100 - 50 / n]`` (half a rank from
either end), never 0 or 100. For a quantile table the percentile is interpolated linearly
between the tabulated quantiles (tied quantile values take the middle of their levels). A
score below the table's first value lies in the band below the first level ``L1`` (e.g. the
bottom 1 % for levels 1, 2, ..., 100): its percentile is that band's middle ``L1 / 2``;
likewise a score above the last value, when the last level ``Lk`` is below 100, gets
``(Lk + 100) / 2``. With the table's ``n`` known, percentiles are kept within
``[50 / n, 100 - 50 / n]`` as for an empirical reference. For a parametric reference the
percentile is ``100 * Phi(z)``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from prs import errors
from prs._compat import LazyModule
from prs._version import __version__
from prs.calibrate._inputs import ScoresLike, by_sample, finite_number, read_scores
from prs.errors import CalibrationError, CalibrationWarning
from prs.output import write_json
from prs.provenance import file_record, record

stats = LazyModule("scipy.stats")  # (imported at first use: ~0.3 s)

#: Version of the reference file format written by :func:`save_reference`.
FORMAT_VERSION = 1

#: Smallest reference cohort accepted without a warning: with 500 samples the standard
#: error of an empirical percentile is at most 2.2 percentage points (sqrt(0.25 / 500)).
MIN_REFERENCE_SIZE = 500

#: |skewness| above this is "clearly skewed" (Bulmer 1979: beyond 0.5 is moderately skewed).
MAX_ABS_SKEWNESS = 0.5

#: Sarle's bimodality coefficient above 5/9 (its value for a uniform) suggests bimodality;
#: a normal distribution gives 1/3 (SAS/STAT User's Guide, PROC CLUSTER).
MAX_BIMODALITY_COEFFICIENT = 5.0 / 9.0

#: Bound of a rank-based z (:meth:`Reference.z` with ``method="rank"``): the |z| whose normal
#: tail probability is the smallest positive double (``-Phi^-1(5e-324)``, about 38.47). No
#: percentile a double can hold lies further out, so every rank z is finite.
RANK_Z_LIMIT = 38.467405617144344  # (literal: SciPy is imported when used; tests/test_startup.py)

#: Levels (percent) kept when a reference is saved without its individual values.
SUMMARY_LEVELS = np.round(np.arange(0.5, 100.0, 0.5), 1)

ReferenceKind = Literal["empirical", "quantiles", "parametric"]


@dataclass(frozen=True)
class ReferenceCheck:
    """Whether a reference supports z-based risks.

    Attributes
    ----------
    n
        Reference size (None when unknown, e.g. published parameters).
    skewness, excess_kurtosis, bimodality_coefficient
        Shape statistics of the reference values (or of the distribution a quantile table
        implies); NaN for a parametric reference, which is normal by construction.
    issues
        Human-readable problems; empty when none.
    """

    n: int | None
    skewness: float
    excess_kurtosis: float
    bimodality_coefficient: float
    issues: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no issue was found."""
        return not self.issues


@dataclass(frozen=True)
class Reference:
    """The distribution of one score in a reference population.

    Build with :func:`build_reference`, :func:`reference_from_quantiles` or
    :func:`reference_from_parameters`; do not fill the fields by hand.

    Attributes
    ----------
    score_id
        The score's ID (e.g. ``PGS000004``), or None.
    column
        The ``prs score`` column the values come from (``SUM`` by default).
    kind
        ``"empirical"`` (sorted values), ``"quantiles"`` (a quantile table) or ``"parametric"``.
    n
        Number of reference samples (None when unknown).
    mean, sd
        Mean and standard deviation used for z-scores (sample SD, ddof=1).
    values
        Sorted reference values (empirical references only).
    quantile_levels, quantile_values
        Percent levels in (0, 100] and the score at each (quantile references only).
    group
        The ancestry/population group this reference describes, or None.
    provenance
        Where the reference came from: prs version, creation time, source file and its SHA-256,
        options.
    """

    score_id: str | None
    column: str
    kind: ReferenceKind
    n: int | None
    mean: float
    sd: float
    values: np.ndarray | None = None
    quantile_levels: np.ndarray | None = None
    quantile_values: np.ndarray | None = None
    group: str | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)

    # -- placing scores -------------------------------------------------------------------
    def percentile(self, scores: ScoresLike) -> np.ndarray:
        """Return the percentile (0-100, open interval) of each score; see the module notes.

        Examples
        --------
        >>> ref = build_reference([1.0, 2.0, 3.0, 4.0])
        >>> ref.percentile([2.0, 2.5, 9.0]).tolist()
        [37.5, 50.0, 87.5]
        """
        x = _as_array(scores)
        if self.kind == "parametric":
            with np.errstate(over="ignore"):  # |z| beyond 1e308: +-inf, percentile 0 or 100
                z = (x - self.mean) / self.sd
            pct = 100.0 * stats.norm.cdf(z)
            return np.clip(pct, np.nextafter(0.0, 1.0), np.nextafter(100.0, 0.0))
        if self.kind == "empirical":
            assert self.values is not None
            n = self.values.size
            below = np.searchsorted(self.values, x, side="left")
            at_or_below = np.searchsorted(self.values, x, side="right")
            pct = 100.0 * (below + 0.5 * (at_or_below - below)) / n
            return np.clip(pct, 50.0 / n, 100.0 - 50.0 / n)
        levels, values = self._collapsed_quantiles()
        pct = np.interp(x, values, levels)
        assert self.quantile_levels is not None
        # beyond the table: the middle of the band below the first (above the last) level,
        # so the bottom band (e.g. the bottom 1 % of a 1..100 table) is reachable
        first, last = float(self.quantile_levels[0]), float(self.quantile_levels[-1])
        pct = np.where(x < values[0], first / 2.0, pct)
        pct = np.where(x > values[-1], (last + 100.0) / 2.0, pct)
        if self.n:
            pct = np.clip(pct, 50.0 / self.n, 100.0 - 50.0 / self.n)
        return np.clip(pct, np.nextafter(0.0, 1.0), np.nextafter(100.0, 0.0))

    def out_of_range(self, scores: ScoresLike) -> np.ndarray:
        """Return -1 for scores below the reference range, +1 above, 0 within (int8)."""
        x = _as_array(scores)
        if self.kind == "parametric":
            return np.zeros(x.shape, dtype=np.int8)
        low, high = self.range
        return (np.where(x < low, -1, 0) + np.where(x > high, 1, 0)).astype(np.int8)

    @property
    def range(self) -> tuple[float, float]:
        """The smallest and largest value the reference describes."""
        if self.kind == "empirical":
            assert self.values is not None
            return float(self.values[0]), float(self.values[-1])
        if self.kind == "quantiles":
            assert self.quantile_values is not None
            return float(self.quantile_values[0]), float(self.quantile_values[-1])
        return -math.inf, math.inf

    def z(
        self, scores: ScoresLike, *, method: Literal["moments", "rank"] = "moments"
    ) -> np.ndarray:
        """Return z-scores of ``scores`` against this reference.

        Parameters
        ----------
        scores
            Score values (array-like).
        method
            ``"moments"`` (default): ``(x - mean) / sd``, as the PGS Catalog Calculator's
            ancestry normalisation and most published OR-per-SD estimates use.
            ``"rank"``: ``Phi^-1(percentile / 100)``, the rank-based inverse normal, robust to
            a non-normal reference. It is always finite: computed from the tail on the
            score's side (so upper-tail percentiles keep their precision) and bounded to
            +/- :data:`RANK_Z_LIMIT` (38.47); for a parametric reference, whose percentile is
            ``100 Phi(z)``, it is the moments z itself (``Phi^-1(Phi(z)) = z``) within that
            bound.

        Examples
        --------
        >>> reference_from_parameters(10.0, 2.0).z([12.0, 7.0]).tolist()
        [1.0, -1.5]
        """
        x = _as_array(scores)
        if method == "moments":
            with np.errstate(over="ignore"):  # beyond 1e308 SDs: +-inf, refused downstream
                return (x - self.mean) / self.sd
        if method == "rank":
            if self.kind == "parametric":  # no round trip through Phi: it saturates at |z| ~ 8
                with np.errstate(over="ignore"):
                    z = (x - self.mean) / self.sd
            else:
                pct = self.percentile(x)
                z = np.where(
                    pct <= 50.0,
                    stats.norm.ppf(pct / 100.0),
                    stats.norm.isf((100.0 - pct) / 100.0),
                )
            return np.clip(z, -RANK_Z_LIMIT, RANK_Z_LIMIT)
        raise CalibrationError(f"z method '{method}' is not one of 'moments', 'rank'")

    # -- shape ----------------------------------------------------------------------------
    def pseudo_sample(self, size: int = 2000) -> np.ndarray:
        """Values describing the distribution: the reference itself, or quantile-table draws.

        For a quantile table, the quantile function (linear between tabulated levels, flat
        beyond the first and last) evaluated at the mid-points of ``size`` equal bins.
        """
        if self.kind == "empirical":
            assert self.values is not None
            return self.values
        levels = 100.0 * (np.arange(size) + 0.5) / size
        if self.kind == "parametric":
            return self.mean + self.sd * stats.norm.ppf(levels / 100.0)
        assert self.quantile_levels is not None and self.quantile_values is not None
        return np.interp(levels, self.quantile_levels, self.quantile_values)

    def check(self, *, warn: bool = True) -> ReferenceCheck:
        """Check that the reference is large and close enough to normal for z-based risks.

        Flags a reference smaller than :data:`MIN_REFERENCE_SIZE`, with |skewness| above
        :data:`MAX_ABS_SKEWNESS`, or with Sarle's bimodality coefficient above
        :data:`MAX_BIMODALITY_COEFFICIENT`.

        Parameters
        ----------
        warn
            Emit one :class:`CalibrationWarning` listing the issues (default True).

        Returns
        -------
        ReferenceCheck
        """
        issues: list[str] = []
        label = self.label
        if self.n is not None and self.n < MIN_REFERENCE_SIZE:
            issues.append(
                f"reference {label} has {self.n} samples, fewer than {MIN_REFERENCE_SIZE}: "
                "percentiles and z-scores are imprecise"
            )
        if self.kind == "parametric":
            skew = kurt = bc = math.nan
        else:
            sample = self.pseudo_sample()
            skew, kurt, bc = _shape(sample)
            if abs(skew) > MAX_ABS_SKEWNESS:
                issues.append(
                    f"reference {label} is skewed (skewness {skew:.2f}, limit "
                    f"{MAX_ABS_SKEWNESS}): z-based risks assume a normal score; prefer "
                    "percentile-based risks or z method 'rank'"
                )
            if bc > MAX_BIMODALITY_COEFFICIENT:
                issues.append(
                    f"reference {label} looks bimodal (bimodality coefficient {bc:.2f} > "
                    f"{MAX_BIMODALITY_COEFFICIENT:.3f}): it may mix ancestries; build one "
                    "reference per group"
                )
        if warn and issues:
            errors.warn(
                f"{len(issues)} reference issue(s): " + "; ".join(issues),
                CalibrationWarning,
            )
        return ReferenceCheck(self.n, skew, kurt, bc, tuple(issues))

    @property
    def label(self) -> str:
        """A short name: score ID, column and group."""
        name = f"{self.score_id or 'score'}:{self.column}"
        return f"{name} [{self.group}]" if self.group else name

    # -- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form written by :func:`save_reference`."""
        out: dict[str, Any] = {
            "score_id": self.score_id,
            "column": self.column,
            "group": self.group,
            "kind": self.kind,
            "n": self.n,
            "mean": self.mean,
            "sd": self.sd,
        }
        if self.values is not None:
            out["values"] = self.values.tolist()
        if self.quantile_levels is not None and self.quantile_values is not None:
            out["quantiles"] = {
                "levels_percent": self.quantile_levels.tolist(),
                "values": self.quantile_values.tolist(),
            }
        out["provenance"] = dict(self.provenance)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "reference") -> Reference:
        """Rebuild a reference from :meth:`to_dict` output, checking every field.

        Raises
        ------
        CalibrationError
            A field missing or of the wrong type; a value that is not a finite number (JSON
            allows ``NaN`` and ``Infinity``: refused); ``n`` not a whole number >= 1; quantile
            levels not increasing within 0-100 or values decreasing; ``sd`` <= 0; an empirical
            reference whose ``n``, ``mean`` or ``sd`` disagree with its values.
        """
        if not isinstance(data, Mapping):
            raise CalibrationError(f"{where}: a reference entry must be a JSON object")
        try:
            kind = data["kind"]
            if kind not in ("empirical", "quantiles", "parametric"):
                raise CalibrationError(f"{where}: unknown reference kind {kind!r}")
            values = None
            levels = qvalues = None
            if kind == "empirical":
                values = np.sort(_finite_array(data["values"], f"{where} values"))
            if kind == "quantiles":
                quantiles = data["quantiles"]
                if not isinstance(quantiles, Mapping):
                    raise CalibrationError(f"{where}: 'quantiles' must be a JSON object")
                levels = _finite_array(
                    quantiles["levels_percent"], f"{where} quantiles.levels_percent"
                )
                qvalues = _finite_array(quantiles["values"], f"{where} quantiles.values")
            n = data.get("n")
            if n is not None and (
                isinstance(n, bool) or not isinstance(n, int | float) or n != int(n) or n < 1
            ):
                raise CalibrationError(f"{where}: n {n!r} is not a whole number >= 1")
            ref = cls(
                score_id=data.get("score_id"),
                column=str(data.get("column", "SUM")),
                kind=kind,
                n=None if n is None else int(n),
                mean=_finite_field(data, "mean", where),
                sd=_finite_field(data, "sd", where),
                values=values,
                quantile_levels=levels,
                quantile_values=qvalues,
                group=data.get("group"),
                provenance=dict(data.get("provenance", {})),
            )
        except KeyError as exc:
            raise CalibrationError(f"{where}: malformed reference entry (no {exc})") from exc
        except (TypeError, ValueError) as exc:
            raise CalibrationError(f"{where}: malformed reference entry ({exc!r})") from exc
        _validate(ref, where)
        if ref.kind == "empirical":
            _check_moments(ref, where)
        return ref

    def _collapsed_quantiles(self) -> tuple[np.ndarray, np.ndarray]:
        assert self.quantile_levels is not None and self.quantile_values is not None
        values, inverse = np.unique(self.quantile_values, return_inverse=True)
        low = np.full(values.size, np.inf)
        high = np.full(values.size, -np.inf)
        np.minimum.at(low, inverse, self.quantile_levels)
        np.maximum.at(high, inverse, self.quantile_levels)
        return (low + high) / 2.0, values


# -- building ------------------------------------------------------------------------------
def build_reference(
    scores: ScoresLike,
    *,
    score_id: str | None = None,
    column: str = "SUM",
    group: str | None = None,
    keep_values: bool = True,
    check: bool = True,
) -> Reference:
    """Build an empirical reference from scores computed by ``prs score`` on a reference cohort.

    Parameters
    ----------
    scores
        A ``scores.tsv`` path, its DataFrame (long format: ``sample_id``, ``score``, value
        columns), a Series or a plain array of values.
    score_id
        Which score to use when the table holds several (e.g. ``"PGS000004"``).
    column
        The value column (default ``"SUM"``, the polygenic score of ``prs score``).
    group
        Label of the population/ancestry group these samples form (recorded in the file).
    keep_values
        Keep every sorted reference value (default True: exact mid-rank percentiles). False
        keeps only the quantiles at 0.5 %, 1 %, ..., 99.5 % plus min and max, for sharing a
        reference without individual-level scores.
    check
        Run :meth:`Reference.check` and warn on a small or non-normal reference (default True).

    Returns
    -------
    Reference

    Raises
    ------
    CalibrationError
        Missing or non-finite values, fewer than 2 samples, or zero variance.

    Examples
    --------
    >>> ref = build_reference([0.1, 0.4, 0.2, 0.3], check=False)
    >>> ref.n, round(ref.mean, 3)
    (4, 0.25)
    """
    col = read_scores(scores, score_id=score_id, column=column)
    values = np.sort(col.values)
    where = col.source or "scores"
    if values.size < 2:
        raise CalibrationError(
            f"{where}: a reference needs at least 2 samples, found {values.size}"
        )
    mean, sd = _moments(values, where)
    if not sd > 0:
        raise CalibrationError(f"{where}: every reference score equals {values[0]}; sd is 0")
    provenance = _provenance(col.source, options={"keep_values": keep_values})
    common = dict(
        score_id=col.score_id,
        column=column,
        n=int(values.size),
        mean=mean,
        sd=sd,
        group=group,
        provenance=provenance,
    )
    if keep_values:
        ref = Reference(kind="empirical", values=values, **common)  # type: ignore[arg-type]
    else:
        levels = np.concatenate([[0.0], SUMMARY_LEVELS, [100.0]])
        qvalues = np.quantile(values, levels / 100.0, method="hazen")
        qvalues[0], qvalues[-1] = values[0], values[-1]
        # interpolation cannot leave [min, max]; a rounding step may break the order
        qvalues = np.maximum.accumulate(np.clip(qvalues, values[0], values[-1]))
        ref = Reference(
            kind="quantiles",
            quantile_levels=levels,
            quantile_values=qvalues,
            **common,  # type: ignore[arg-type]
        )
    _validate(ref, where)
    if check:
        ref.check()
    return ref


def build_references(
    scores: ScoresLike,
    groups: Mapping[str, str] | pd.Series,
    *,
    score_id: str | None = None,
    column: str = "SUM",
    keep_values: bool = True,
    check: bool = True,
) -> dict[str, Reference]:
    """Build one empirical reference per population/ancestry group.

    Parameters
    ----------
    scores
        As for :func:`build_reference`.
    groups
        Group label per sample ID (a mapping or a Series indexed by sample ID), e.g. the
        genetically inferred ancestry of each reference sample. Samples without a label are
        left out (counted in a warning).
    score_id, column, keep_values, check
        As for :func:`build_reference`.

    Returns
    -------
    dict
        Group label -> :class:`Reference`.

    Raises
    ------
    CalibrationError
        When no sample has a group label.
    """
    col = read_scores(scores, score_id=score_id, column=column)
    assigned = by_sample(groups, col.sample_ids)
    missing = int(assigned.isna().sum())
    if missing == col.sample_ids.size:
        raise CalibrationError("no reference sample has a group label; check the sample IDs")
    if missing:
        errors.warn(
            f"{missing} of {col.sample_ids.size} reference samples have no group label and "
            "are left out",
            CalibrationWarning,
        )
    out: dict[str, Reference] = {}
    for label in sorted(pd.unique(assigned.dropna().astype(str))):
        mask = (assigned.astype(str) == label).to_numpy() & assigned.notna().to_numpy()
        ref = build_reference(
            col.values[mask], column=column, group=label, keep_values=keep_values, check=check
        )
        out[label] = _replace(
            ref,
            score_id=col.score_id,
            provenance=_provenance(
                col.source, options={"keep_values": keep_values, "group": label}
            ),
        )
    return out


def reference_from_parameters(
    mean: float,
    sd: float,
    *,
    score_id: str | None = None,
    column: str = "SUM",
    n: int | None = None,
    group: str | None = None,
    source: str = "",
) -> Reference:
    """Build a normal reference from published parameters (mean and SD of the score).

    Parameters
    ----------
    mean, sd
        The score's mean and standard deviation in the reference population.
    score_id, column, group
        Labels recorded with the reference.
    n
        Size of the population the parameters were estimated in, if known.
    source
        Citation of the parameters (recorded in the provenance).

    Examples
    --------
    >>> ref = reference_from_parameters(0.0, 1.0)
    >>> round(float(ref.percentile([1.6448536])[0]), 3)
    95.0
    """
    mean = finite_number(mean, "reference mean (--mean)")
    sd = finite_number(sd, "reference sd (--sd)")
    if not sd > 0:
        raise CalibrationError(f"reference sd (--sd) must be > 0, got {sd!r}")
    _check_n(n, "reference parameters")
    return Reference(
        score_id=score_id,
        column=column,
        kind="parametric",
        n=n,
        mean=float(mean),
        sd=float(sd),
        group=group,
        provenance=_provenance(None, options={"source": source}),
    )


def reference_from_quantiles(
    levels_percent: np.ndarray | list[float],
    values: np.ndarray | list[float],
    *,
    score_id: str | None = None,
    column: str = "SUM",
    n: int | None = None,
    group: str | None = None,
    source: str = "",
    source_file: str | os.PathLike[str] | None = None,
) -> Reference:
    """Build a reference from a quantile table (percent level -> score value).

    Mean and SD (for z-scores) are those of the distribution the table implies: the quantile
    function linear between levels and flat beyond the first and last level.

    Parameters
    ----------
    levels_percent
        Increasing levels in (0, 100], e.g. 1, 2, ..., 100 (100 = the maximum).
    values
        Non-decreasing score values at those levels.
    score_id, column, n, group
        Labels recorded with the reference (``n`` = samples the table was computed on).
    source, source_file
        Citation and the file read (its SHA-256 is recorded).

    Raises
    ------
    CalibrationError
        Levels not increasing within [0, 100], values decreasing, or lengths differing.
    """
    levels = np.asarray(levels_percent, dtype=float)
    qvalues = np.asarray(values, dtype=float)
    where = str(source_file) if source_file else "quantile table"
    if levels.shape != qvalues.shape or levels.ndim != 1 or levels.size < 3:
        raise CalibrationError(
            f"{where}: need at least 3 levels and as many values, got {levels.size} and "
            f"{qvalues.size}"
        )
    _finite_array(levels, f"{where} levels")
    _finite_array(qvalues, f"{where} values")
    _check_n(n, where)
    if np.any(np.diff(levels) <= 0) or levels[0] < 0 or levels[-1] > 100:
        raise CalibrationError(f"{where}: levels must increase strictly within [0, 100]")
    if np.any(np.diff(qvalues) < 0):
        bad = int(np.flatnonzero(np.diff(qvalues) < 0)[0]) + 1
        raise CalibrationError(
            f"{where}: quantile values must not decrease (value {bad + 1}: {qvalues[bad]} < "
            f"{qvalues[bad - 1]})"
        )
    draft = Reference(
        score_id=score_id,
        column=column,
        kind="quantiles",
        n=n,
        mean=0.0,
        sd=1.0,
        quantile_levels=levels,
        quantile_values=qvalues,
        group=group,
    )
    sample = draft.pseudo_sample(20000)
    mean, sd = _moments(sample, where)
    if not sd > 0:
        raise CalibrationError(f"{where}: every quantile equals {qvalues[0]}")
    return _replace(
        draft,
        mean=mean,
        sd=sd,
        provenance=_provenance(source_file, options={"source": source, "moments": "from table"}),
    )


def read_megsap_percentiles(path: str | os.PathLike[str]) -> Reference:
    """Read the ``##percentiles=`` reference of a megSAP PRS VCF.

    megSAP's scoring VCFs carry, in their header, the 1st to 100th percentile of the score
    in a reference cohort (``##percentiles=v1,...,v100``), its size (``##sample_count=``)
    and the PGS ID (``##pgs_id=``).

    Raises
    ------
    CalibrationError
        When the header has no ``##percentiles=`` line or a value is not a number.
    """
    path = Path(path)
    header: dict[str, str] = {}
    try:
        with path.open("rt", encoding="utf-8") as fh:
            for line in fh:
                if not line.startswith("##"):
                    break
                key, _, value = line[2:].rstrip("\n").partition("=")
                header.setdefault(key, value)
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if "percentiles" not in header:
        raise CalibrationError(f"{path}: no '##percentiles=' header line")
    try:
        values = [float(v) for v in header["percentiles"].split(",")]
    except ValueError as exc:
        raise CalibrationError(f"{path}: ##percentiles= holds a non-number ({exc})") from exc
    count = header.get("sample_count")
    levels = 100.0 * np.arange(1, len(values) + 1) / len(values)
    return reference_from_quantiles(
        levels,
        values,
        score_id=header.get("pgs_id"),
        column="SUM",
        n=int(count) if count and count.isdigit() else None,
        source=f"megSAP ##percentiles ({header.get('citation', 'no citation')})",
        source_file=path,
    )


# -- files ---------------------------------------------------------------------------------
def save_reference(
    reference: Reference | Mapping[str, Reference],
    path: str | os.PathLike[str],
    *,
    ancestry: Any = None,
) -> Path:
    """Write one reference (or one per group) as a versioned JSON file, atomically.

    The file holds ``format_version`` (:data:`FORMAT_VERSION`), ``kind: "prs-reference"``,
    a list ``references`` of :meth:`Reference.to_dict` entries and, when ``ancestry`` (an
    :class:`~prs.calibrate.ancestry.AncestryAdjustment`) is given, ``ancestry_adjustment``.
    """
    refs = [reference] if isinstance(reference, Reference) else list(reference.values())
    if not refs:
        raise CalibrationError(f"{path}: no reference to save")
    for i, ref in enumerate(refs):
        # what load_reference would refuse is never written
        _validate(ref, f"{path} references[{i}] ({ref.label})")
    if ancestry is not None:
        ancestry.validate(f"{path} ancestry_adjustment")
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "kind": "prs-reference",
        "prs_version": __version__,
        "references": [r.to_dict() for r in refs],
    }
    if ancestry is not None:
        doc["ancestry_adjustment"] = ancestry.to_dict()
    return write_json(doc, path)


def load_ancestry_adjustment(path: str | os.PathLike[str]) -> Any:
    """Return the PC ancestry adjustment stored in a reference file, or None."""
    from prs.calibrate.ancestry import AncestryAdjustment

    doc = _read_reference_doc(Path(path))
    entry = doc.get("ancestry_adjustment")
    return None if entry is None else AncestryAdjustment.from_dict(entry, where=str(path))


def load_references(path: str | os.PathLike[str]) -> dict[str | None, Reference]:
    """Read every reference of a file written by :func:`save_reference`, keyed by group.

    Raises
    ------
    CalibrationError
        Unreadable file, not a prs reference, or a ``format_version`` newer than this prs
        reads (upgrade prs) or unknown.
    """
    path = Path(path)
    doc = _read_reference_doc(path)
    entries = doc.get("references")
    if not isinstance(entries, list) or not entries:
        raise CalibrationError(f"{path}: 'references' is missing or empty")
    out: dict[str | None, Reference] = {}
    for i, entry in enumerate(entries):
        ref = Reference.from_dict(entry, where=f"{path} references[{i}]")
        if ref.group in out:
            raise CalibrationError(f"{path}: group {ref.group!r} appears twice")
        out[ref.group] = ref
    return out


def _read_reference_doc(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CalibrationError(f"{path}: reference file not found") from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: not a readable JSON reference ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("kind") != "prs-reference":
        raise CalibrationError(f"{path}: not a prs reference file (kind != 'prs-reference')")
    version = doc.get("format_version")
    if not isinstance(version, int) or version < 1 or version > FORMAT_VERSION:
        raise CalibrationError(
            f"{path}: reference format_version {version!r} is not supported by prs "
            f"{__version__} (reads 1..{FORMAT_VERSION}); upgrade prs or rebuild the reference"
        )
    return doc


def load_reference(path: str | os.PathLike[str], *, group: str | None = None) -> Reference:
    """Read one reference from a file written by :func:`save_reference`.

    Parameters
    ----------
    path
        The reference JSON file.
    group
        Which group's reference to return; None takes the file's only reference.

    Raises
    ------
    CalibrationError
        As :func:`load_references`, or when ``group`` is absent / ambiguous.
    """
    refs = load_references(path)
    if group is None:
        if len(refs) != 1:
            raise CalibrationError(
                f"{path}: holds {len(refs)} group references ({', '.join(map(str, refs))}); "
                "name one with group=..."
            )
        return next(iter(refs.values()))
    if group not in refs:
        raise CalibrationError(f"{path}: no reference for group {group!r} (found {list(refs)})")
    return refs[group]


# -- helpers -------------------------------------------------------------------------------
def _as_array(scores: ScoresLike) -> np.ndarray:
    if isinstance(scores, np.ndarray | list | tuple | pd.Series | float | int):
        return np.asarray(scores, dtype=float)
    return read_scores(scores).values


def _shape(sample: np.ndarray) -> tuple[float, float, float]:
    n = sample.size
    if n < 4 or np.std(sample) == 0:
        return math.nan, math.nan, math.nan
    skew = float(stats.skew(sample, bias=False))
    kurt = float(stats.kurtosis(sample, bias=False))
    bc = (skew**2 + 1.0) / (kurt + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3)))
    return skew, kurt, float(bc)


def _validate(ref: Reference, where: str) -> None:
    """Refuse a reference that would place scores wrongly (every way in: built, loaded, saved)."""
    if not (math.isfinite(ref.mean) and math.isfinite(ref.sd) and ref.sd > 0):
        raise CalibrationError(
            f"{where}: mean {ref.mean!r} and sd {ref.sd!r} must be finite with sd > 0"
        )
    _check_n(ref.n, where)
    if ref.kind == "empirical":
        if ref.values is None or ref.values.size < 2:
            raise CalibrationError(f"{where}: an empirical reference needs at least 2 values")
        _finite_array(ref.values, f"{where} values")
        if ref.n is not None and ref.n != ref.values.size:
            raise CalibrationError(
                f"{where}: n is {ref.n} but the reference holds {ref.values.size} values"
            )
    if ref.kind == "quantiles":
        levels, values = ref.quantile_levels, ref.quantile_values
        if levels is None or values is None or levels.shape != values.shape:
            raise CalibrationError(f"{where}: quantile levels and values differ in length")
        if levels.ndim != 1 or levels.size < 3:
            raise CalibrationError(f"{where}: a quantile table needs at least 3 levels")
        _finite_array(levels, f"{where} quantiles.levels_percent")
        _finite_array(values, f"{where} quantiles.values")
        if np.any(np.diff(levels) <= 0) or levels[0] < 0 or levels[-1] > 100:
            i = _first_break(np.diff(levels) <= 0)
            raise CalibrationError(
                f"{where}: quantile levels must increase strictly within 0-100"
                + (
                    f" (level {i + 1} is {float(levels[i])!r} after {float(levels[i - 1])!r})"
                    if i
                    else ""
                )
            )
        if np.any(np.diff(values) < 0):
            i = _first_break(np.diff(values) < 0)
            raise CalibrationError(
                f"{where}: quantile values must not decrease (value {i + 1} is "
                f"{float(values[i])!r} after {float(values[i - 1])!r})"
            )


def _first_break(flags: np.ndarray) -> int:
    """1-based position after the first True of a diff's flags (0 when none)."""
    return int(np.flatnonzero(flags)[0]) + 1 if flags.any() else 0


def _check_n(n: Any, where: str) -> None:
    if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1):
        raise CalibrationError(f"{where}: n {n!r} is not a whole number >= 1")


def _finite_array(data: Any, where: str) -> np.ndarray:
    """A 1-D float array of finite numbers (JSON's NaN/Infinity, strings, booleans refused)."""
    if isinstance(data, np.ndarray):
        values = data.astype(float, copy=False)
    else:
        if not isinstance(data, list | tuple):
            raise CalibrationError(f"{where}: must be a list of numbers")
        for i, item in enumerate(data):
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise CalibrationError(f"{where}[{i}]: {item!r} is not a number")
        values = np.asarray(data, dtype=float)
    if values.ndim != 1:
        raise CalibrationError(f"{where}: must be a list of numbers")
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CalibrationError(
            f"{where}[{i}]: {float(values[i])!r} is not a finite number ({int(bad.sum())} such); "
            "the reference is unusable: rebuild it with prs calibrate"
        )
    return values


def _finite_field(data: Mapping[str, Any], key: str, where: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalibrationError(f"{where}: {key} {value!r} is not a number")
    if not math.isfinite(value):
        raise CalibrationError(f"{where}: {key} {value!r} is not a finite number")
    return float(value)


def _moments(values: np.ndarray, where: str) -> tuple[float, float]:
    """Mean and sample SD; values so large that these overflow double precision are refused
    (numpy would return inf or NaN with a RuntimeWarning)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.mean(values))
        sd = float(np.std(values, ddof=1))
    if not (math.isfinite(mean) and math.isfinite(sd)):
        largest = float(np.max(np.abs(values)))
        raise CalibrationError(
            f"{where}: the scores' mean or SD is not a finite number (largest |score| "
            f"{largest:.3g}: beyond double precision); these are not usable polygenic scores"
        )
    return mean, sd


#: Relative tolerance (in SDs) within which a loaded empirical reference's mean and sd must
#: equal those of its values: far above rounding, far below any edit that matters.
_MOMENT_TOLERANCE = 1e-6


def _check_moments(ref: Reference, where: str) -> None:
    assert ref.values is not None
    mean, sd = _moments(ref.values, where)
    if abs(mean - ref.mean) > _MOMENT_TOLERANCE * sd or abs(sd - ref.sd) > _MOMENT_TOLERANCE * sd:
        raise CalibrationError(
            f"{where}: mean {ref.mean!r} / sd {ref.sd!r} disagree with its values (mean "
            f"{mean!r}, sd {sd!r}); the file was edited or damaged: rebuild it with prs calibrate"
        )


def _replace(ref: Reference, **changes: Any) -> Reference:
    import dataclasses

    return dataclasses.replace(ref, **changes)


def _provenance(source: str | os.PathLike[str] | None, *, options: Mapping[str, Any]) -> dict:
    """The reference's provenance (:func:`prs.provenance.record`), with its ``source`` file."""
    has_file = source is not None and Path(source).is_file()
    return record(options, source=file_record(source) if has_file else None)
