"""Risk factors beside the PRS: family history and other factors, combined as iCARE does.

A person's relative risk is the product of the PRS's, an attenuated family-history relative
risk and a relative risk from other factors (e.g. a clinical model)::

    log RR = log RR_prs + log RR*_fh(k) + log RR_other - c

* ``k`` is the number of affected first-degree relatives (0/1 when only "any" is known).
* ``log RR*_fh(k) = log RR_fh(k) - k v / 2``: the published (marginal) family-history log
  relative risk **attenuated for the PRS**, ``v`` the population variance of the PRS's log
  relative risk (``b**2`` for a normal score with log OR per SD ``b``). For ``k = 1`` this is
  iCARE's rule: ``computeAbsoluteRisk`` subtracts ``alpha = var_prs / 2``, ``var_prs =
  sum(beta^2 * 2 p (1 - p))``, from the family-history coefficient when SNPs are in the model
  (Bioconductor iCARE, ``computeAbsoluteRisk``, the ``if(attenuate.fh)`` block; the Python
  port py-icare, ``icare/snp_model.py``, ``SnpModel._set_beta_estimates``). Why: an affected
  first-degree relative shares half the polygenic load, so under a rare disease the PRS of a
  person with family history is shifted by ``v / 2`` on the log-RR scale (iCARE's
  ``sim_snps`` draws each SNP of such a person from ``P(g) exp(beta g / 2)``), and part of the
  published family-history effect is already carried by the measured PRS. For ``k``
  relatives the shift is ``k v / 2`` (each relative's polygenic expectation is half the
  person's); this extension is derived here, iCARE only handles a binary family history.
* ``c`` makes the relative risk average 1 over the population (:func:`combine_risk_factors`).

The population over which the baseline hazard is derived (``fit_absolute_risk_model(...,
population_log_rr=, population_weights=)``) is the PRS population split by family history as
iCARE simulates it: a share ``pi_k`` with ``k`` affected relatives, whose PRS log RR ``s`` is
distributed as the PRS population tilted by ``exp(k s / 2)`` (for a normal score ``z | k ~
N(k b / 2, 1)``), those without family history untilted (iCARE's ``sim_snps``: ``fh_status ==
0`` rows drawn from Hardy-Weinberg frequencies); other factors independent of both.

A person whose family history is unknown gets the expected attenuated family-history relative
risk given their PRS, ``log sum_k P(k | s) RR*_fh(k)``, ``P(k | s)`` from that same population
(derived; iCARE instead averages the risks of reference people with similar observed linear
predictor). A person whose other factors are unknown gets their population average, RR 1.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs.calibrate._inputs import comment_header
from prs.calibrate.relative import normal_population
from prs.errors import CalibrationError, CalibrationWarning, warn

#: Most affected first-degree relatives a family-history model or a person may have (a larger
#: number is a mistake: a count of all relatives, a year, an age).
MAX_AFFECTED_RELATIVES = 20

#: Largest number of population nodes kept for the other factors' population sample (its
#: equal-probability groups): the absolute-risk model's work grows with the node count.
MAX_OTHER_NODES = 200

#: Text of ``statement_model`` (and the per-person ``model`` column) when no factor is used.
PRS_ONLY = "PRS only"

_FH_YES = {"yes", "y", "true", "t"}
_FH_NO = {"no", "n", "false", "f"}
_UNKNOWN = {"", "na", "nan", "unknown", ".", "-9", "none", "null"}


@dataclass(frozen=True)
class FamilyHistoryModel:
    """Published family-history relative risks and their population prevalence.

    Attributes
    ----------
    rr
        Marginal (not PRS-adjusted) relative risk for 1, 2, ..., K affected first-degree
        relatives against none; the last applies to "K or more". One value = binary family
        history ("any affected first-degree relative", as iCARE).
    prevalence
        Population share with exactly 1, 2, ..., K (the last: K or more) affected relatives.
    source, prevalence_source
        Where the relative risks and the prevalence come from (cited in the outputs).
    cancer
        The cancer the relative risks are for (e.g. ``breast``), "" if not stated.
    """

    rr: tuple[float, ...]
    prevalence: tuple[float, ...]
    source: str
    prevalence_source: str
    cancer: str = ""

    def __post_init__(self) -> None:
        if not self.rr or len(self.rr) != len(self.prevalence):
            raise CalibrationError(
                "family history: give one relative risk and one prevalence per number of "
                f"affected relatives (got {len(self.rr)} relative risks and "
                f"{len(self.prevalence)} prevalences)"
            )
        if len(self.rr) > MAX_AFFECTED_RELATIVES:
            raise CalibrationError(
                f"family history: at most {MAX_AFFECTED_RELATIVES} relative risks (one per "
                f"number of affected relatives), got {len(self.rr)}"
            )
        for k, value in enumerate(self.rr, start=1):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise CalibrationError(
                    f"family-history relative risk for {k} affected relative(s): {value!r} is "
                    "not a finite number > 0 (give the relative risk itself, not its log)"
                )
        for k, value in enumerate(self.prevalence, start=1):
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value < 1):
                raise CalibrationError(
                    f"family-history prevalence for {k} affected relative(s): {value!r} is not "
                    "a share within [0, 1) (give 0.073, not 7.3 %)"
                )
        if sum(self.prevalence) >= 1:
            raise CalibrationError(
                f"family-history prevalences sum to {sum(self.prevalence):g}: the share with "
                "no affected relative must be above 0"
            )

    @classmethod
    def from_rr(
        cls,
        rr: float | Sequence[float],
        prevalence: float | Sequence[float],
        *,
        source: str,
        prevalence_source: str,
        cancer: str = "",
    ) -> FamilyHistoryModel:
        """Build from one relative risk (binary) or one per number of affected relatives."""

        def as_tuple(v: float | Sequence[float]) -> tuple[float, ...]:
            return (float(v),) if isinstance(v, int | float) else tuple(map(float, v))

        try:
            return cls(as_tuple(rr), as_tuple(prevalence), source, prevalence_source, cancer)
        except (TypeError, ValueError) as exc:
            raise CalibrationError(
                f"family history: relative risks {rr!r} and prevalences {prevalence!r} must be "
                "numbers"
            ) from exc

    @property
    def binary(self) -> bool:
        """True when only "any affected first-degree relative" is modelled (iCARE's case)."""
        return len(self.rr) == 1

    @property
    def max_count(self) -> int:
        return len(self.rr)

    def log_rr(self) -> np.ndarray:
        """Marginal log relative risk for 0, 1, ..., K affected relatives (0 first)."""
        return np.concatenate([[0.0], np.log(np.asarray(self.rr, dtype=float))])

    def shares(self) -> np.ndarray:
        """Population share with 0, 1, ..., K affected relatives."""
        p = np.asarray(self.prevalence, dtype=float)
        return np.concatenate([[1.0 - p.sum()], p])

    def attenuated_log_rr(self, prs_variance: float) -> np.ndarray:
        """Log relative risk for 0..K affected relatives adjusted for the PRS.

        ``log RR_fh(k) - k v / 2`` with ``v`` the PRS log-RR variance: iCARE's
        ``beta_fh - var_prs / 2`` for a binary family history; for counts, ``k`` relatives
        each carrying half the person's polygenic expectation (derived).
        """
        if not (math.isfinite(prs_variance) and prs_variance >= 0):
            raise CalibrationError(f"PRS log-RR variance {prs_variance!r} is not a number >= 0")
        k = np.arange(self.max_count + 1, dtype=float)
        return self.log_rr() - k * prs_variance / 2.0

    def describe(self) -> str:
        """One line: the relative risks and their sources."""
        if self.binary:
            rr = f"RR {self.rr[0]:g} for any affected first-degree relative"
            prev = f"prevalence {self.prevalence[0]:g}"
        else:
            parts = [f"{k}: {v:g}" for k, v in enumerate(self.rr, start=1)]
            parts[-1] = f"{self.max_count}+: {self.rr[-1]:g}"
            rr = "RR by affected first-degree relatives " + ", ".join(parts)
            prev = "prevalence " + "/".join(f"{v:g}" for v in self.prevalence)
        return f"{rr} ({self.source}); {prev} ({self.prevalence_source})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rr": list(self.rr),
            "prevalence": list(self.prevalence),
            "source": self.source,
            "prevalence_source": self.prevalence_source,
            "cancer": self.cancer,
            "binary": self.binary,
        }


_CGHFBC_2001 = (
    "Collaborative Group on Hormonal Factors in Breast Cancer, Lancet 2001;358:1389-99 "
    "(52 studies; RR 1.80 for one, 2.93 for two affected first-degree relatives)"
)

#: Shipped family-history models, by name. Only values a publication states, or derived from
#: them by a stated formula.
FAMILY_HISTORY_MODELS: dict[str, FamilyHistoryModel] = {
    # RR 1.80 (one), 2.93 (two), 3.90 (three or more) affected first-degree relatives; 7.3 %
    # of the 101,986 controls had one or more; 12 % of cases had one and 1 % two or more.
    # The split of the controls' 7.3 % is derived from the cases' shares divided by the RRs
    # (0.12 / 1.80 : 0.01 / 2.93, rounded figures): 6.94 % one, 0.36 % two or more. Three or
    # more relatives (RR 3.90) are taken at the two-relative RR: no prevalence is published.
    "breast-cghfbc-2001": FamilyHistoryModel(
        rr=(1.80, 2.93),
        prevalence=(0.0694, 0.0036),
        source=_CGHFBC_2001 + "; 2 = two or more (3+: 3.90 not used)",
        prevalence_source=(
            "7.3 % of controls with one or more affected relatives (same paper); split "
            "6.94 % / 0.36 % derived from the cases' 12 % / 1 % divided by the RRs"
        ),
        cancer="breast",
    ),
}


@dataclass(frozen=True)
class RiskFactors:
    """Per-person risk factors beside the PRS (aligned on ``sample_ids``).

    Attributes
    ----------
    sample_ids
        Sample IDs (strings), unique.
    other_log_rr
        Log relative risk from other factors per person, centred so that the relative risk
        averages 1 over the population (``E[RR] = 1``) unless ``other_population_log_rr`` is
        given (then centred here over that population); NaN = unknown (population average).
        None: no other factors.
    family_history
        Number of affected first-degree relatives (0/1 for "any"), NaN = unknown. None: no
        family history.
    family_history_model
        The published family-history relative risks and prevalence (needed with
        ``family_history``).
    other_source
        What the other factors' log relative risk comes from (e.g. "Tyrer-Cuzick v8 without
        family history"), cited in the outputs.
    other_population_log_rr, other_population_weights
        The other factors' log relative risks over a sample representing the population (as
        iCARE's ``model.ref.dataset``), optional: without it the other factors enter the
        baseline-hazard population as their average (RR 1).
    source
        The file the factors were read from, or None.
    """

    sample_ids: np.ndarray
    other_log_rr: np.ndarray | None = None
    family_history: np.ndarray | None = None
    family_history_model: FamilyHistoryModel | None = None
    other_source: str | None = None
    other_population_log_rr: np.ndarray | None = None
    other_population_weights: np.ndarray | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        ids = np.asarray(self.sample_ids, dtype=object)
        n = ids.size
        where = self.source or "risk factors"
        if len(set(ids.tolist())) != n:
            dup = pd.Index(ids).duplicated()
            raise CalibrationError(f"{where}: sample_id {ids[dup][0]} appears more than once")
        for name in ("other_log_rr", "family_history"):
            values = getattr(self, name)
            if values is not None and np.shape(values) != (n,):
                raise CalibrationError(
                    f"{where}: {name} needs one value per sample ({n}), got {np.shape(values)}"
                )
        if self.other_log_rr is not None:
            bad = np.isinf(self.other_log_rr)
            if bad.any():
                raise CalibrationError(
                    f"{where}: log RR of other factors of sample {ids[bad][0]} is not finite"
                )
        if self.family_history is not None:
            fh = self.family_history
            bad = ~np.isnan(fh) & ((fh < 0) | (fh != np.floor(fh)) | (fh > MAX_AFFECTED_RELATIVES))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise CalibrationError(
                    f"{where}: family history of sample {ids[i]}: {fh[i]!r} is not a number of "
                    f"affected first-degree relatives (0-{MAX_AFFECTED_RELATIVES})"
                )
            if self.family_history_model is None:
                raise CalibrationError(
                    f"{where}: family history given but no family-history relative risk: give "
                    "family_history_model= (--family-history-rr and --family-history-prevalence, "
                    f"or a shipped model: {', '.join(FAMILY_HISTORY_MODELS)})"
                )
        if self.other_population_log_rr is not None:
            pop = np.asarray(self.other_population_log_rr, dtype=float)
            if pop.size == 0 or not np.all(np.isfinite(pop)):
                raise CalibrationError(
                    f"{where}: the other factors' population log RRs must be finite, at least one"
                )
        if self.other_log_rr is None and self.family_history is None:
            raise CalibrationError(
                f"{where}: neither other factors (log_rr / rr) nor family history given"
            )

    @property
    def uses_family_history(self) -> bool:
        return self.family_history is not None

    @property
    def uses_other(self) -> bool:
        return self.other_log_rr is not None

    def describe(self) -> str:
        """The model line for ``statement_model``, e.g. "PRS + family history (...)"."""
        parts = ["PRS"]
        if self.uses_family_history:
            assert self.family_history_model is not None
            kind = "any affected" if self.family_history_model.binary else "number of affected"
            parts.append(
                f"family history ({kind} first-degree relatives, attenuated for the PRS as "
                f"iCARE; {self.family_history_model.describe()})"
            )
        if self.uses_other:
            parts.append(f"other factors ({self.other_source or 'source not stated'})")
        return " + ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """What ``inputs.json`` records of the risk factors."""
        fh = self.family_history
        return {
            "source_file": self.source,
            "n": int(np.asarray(self.sample_ids).size),
            "family_history": None
            if fh is None
            else {
                "model": None
                if self.family_history_model is None
                else self.family_history_model.to_dict(),
                "n_known": int(np.count_nonzero(~np.isnan(fh))),
                "n_with_affected_relative": int(np.count_nonzero(fh >= 1)),
            },
            "other": None
            if self.other_log_rr is None
            else {
                "source": self.other_source,
                "n_known": int(np.count_nonzero(~np.isnan(self.other_log_rr))),
                "population_given": self.other_population_log_rr is not None,
            },
        }


def load_family_history_model(name: str) -> FamilyHistoryModel:
    """A shipped family-history model by name (see :data:`FAMILY_HISTORY_MODELS`)."""
    try:
        return FAMILY_HISTORY_MODELS[name]
    except KeyError:
        raise CalibrationError(
            f"no shipped family-history model '{name}' (shipped: "
            f"{', '.join(FAMILY_HISTORY_MODELS)}); or give the relative risks and prevalence"
        ) from None


def read_risk_factors(
    path: str | os.PathLike[str],
    *,
    family_history_model: FamilyHistoryModel | str | None = None,
    other_source: str | None = None,
    sample_ids: Sequence[str] | np.ndarray | None = None,
    other_population_log_rr: np.ndarray | None = None,
    other_population_weights: np.ndarray | None = None,
) -> RiskFactors:
    """Read per-person risk factors from a TSV file.

    Format: optional ``# key: value`` lines at the top (``# source:`` names the other
    factors' model), then a tab-separated header with ``sample_id`` (or ``IID``) and at least
    one of ``log_rr`` (log relative risk from other factors, population-centred) or ``rr``
    (the same as a relative risk), and ``family_history`` (number of affected first-degree
    relatives, or yes/no, 1/0). Empty, ``NA`` or ``unknown`` = not known.

    Parameters
    ----------
    path
        The TSV file.
    family_history_model
        The family-history relative risks (object or shipped name), needed with a
        ``family_history`` column.
    other_source
        What the other factors come from (default the file's ``# source:`` line).
    sample_ids
        The scored samples: a file sample not among them is refused.
    other_population_log_rr, other_population_weights
        See :class:`RiskFactors`.

    Raises
    ------
    CalibrationError
        Naming the file, line and value: no usable column, both ``log_rr`` and ``rr``, a
        duplicate or empty sample ID, a value that is not a finite number, a relative risk
        <= 0, a family history that is not a count, a sample not among ``sample_ids``.
    """
    where, meta, frame, first = _read_commented_tsv(
        path,
        cannot_read="cannot read risk factors",
        no_table=(
            "no risk-factor table (expected a tab-separated header with sample_id and "
            "log_rr, rr and/or family_history)"
        ),
    )
    header_line = first + 1
    id_col, rr_col, has_fh = _risk_factor_columns(frame, where, header_line)
    ids = _risk_factor_ids(frame[id_col], id_col, where, header_line, sample_ids)
    other = None
    if rr_col is not None:
        other = np.empty(len(frame))
        for i, raw in enumerate(frame[rr_col]):
            other[i] = _log_rr_value(raw, rr_col, where, header_line + 1 + i)
    family = None
    if has_fh:
        family = np.empty(len(frame))
        for i, raw in enumerate(frame["family_history"]):
            family[i] = _family_history_value(raw, where, header_line + 1 + i)
    model = (
        load_family_history_model(family_history_model)
        if isinstance(family_history_model, str)
        else family_history_model
    )
    return RiskFactors(
        sample_ids=ids,
        other_log_rr=other,
        family_history=family,
        family_history_model=model if has_fh else None,
        other_source=other_source or meta.get("source") or (None if other is None else where),
        other_population_log_rr=other_population_log_rr,
        other_population_weights=other_population_weights,
        source=where,
    )


def _read_commented_tsv(
    path: str | os.PathLike[str], *, cannot_read: str, no_table: str
) -> tuple[str, dict[str, str], pd.DataFrame, int]:
    """A tab-separated table (all text) after optional ``# key: value`` / blank lines.

    Returns the path as text, the ``# key: value`` pairs (keys lower-case), the table (its
    column names stripped) and the 0-based index of the header line. The one reader of the
    risk-factor and other-factor population files.
    """
    where = os.fspath(path)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CalibrationError(f"{where}: {cannot_read} ({exc.strerror or exc})") from exc
    meta, first = comment_header(lines)
    try:
        frame = pd.read_csv(
            io.StringIO("\n".join(lines[first:])), sep="\t", dtype=str, keep_default_na=False
        )
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise CalibrationError(f"{where}: {no_table} ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return where, meta, frame, first


def _risk_factor_columns(
    frame: pd.DataFrame, where: str, header_line: int
) -> tuple[str, str | None, bool]:
    """The sample-ID column, the other factors' column (``log_rr``/``rr``/None) and whether
    a ``family_history`` column is present; refuses a table with none of them or no rows."""
    id_col = next((c for c in ("sample_id", "IID", "#IID") if c in frame.columns), None)
    if id_col is None:
        raise CalibrationError(
            f"{where} line {header_line}: no sample_id (or IID) column; found {list(frame.columns)}"
        )
    if "log_rr" in frame.columns and "rr" in frame.columns:
        raise CalibrationError(
            f"{where} line {header_line}: both log_rr and rr columns; give one of them"
        )
    rr_col = "log_rr" if "log_rr" in frame.columns else ("rr" if "rr" in frame.columns else None)
    has_fh = "family_history" in frame.columns
    if rr_col is None and not has_fh:
        raise CalibrationError(
            f"{where} line {header_line}: no risk-factor column: expected log_rr or rr (other "
            f"factors) and/or family_history; found {list(frame.columns)}"
        )
    if frame.empty:
        raise CalibrationError(f"{where}: header only, no samples")
    return id_col, rr_col, has_fh


def _risk_factor_ids(
    column: pd.Series,
    id_col: str,
    where: str,
    header_line: int,
    sample_ids: Sequence[str] | np.ndarray | None,
) -> np.ndarray:
    """The sample IDs, each non-empty, once, and among the scored ``sample_ids`` if given."""
    ids = column.str.strip().to_numpy(dtype=object)
    seen: dict[str, int] = {}
    for i, sid in enumerate(ids):
        line = header_line + 1 + i
        if not sid:
            raise CalibrationError(f"{where} line {line}: empty {id_col}")
        if sid in seen:
            raise CalibrationError(
                f"{where} line {line}: sample_id {sid} appears more than once (also line "
                f"{seen[sid]})"
            )
        seen[sid] = line
    if sample_ids is not None:
        known = {str(s) for s in np.asarray(sample_ids, dtype=object)}
        unknown = [i for i, sid in enumerate(ids) if sid not in known]
        if unknown:
            i = unknown[0]
            raise CalibrationError(
                f"{where} line {header_line + 1 + i}: sample_id {ids[i]} is not among the scored "
                f"samples ({len(unknown)} such); risk factors must be for the people scored"
            )
    return ids


def read_other_population(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read the other factors' log relative risks over a population sample.

    A tab-separated file (``#`` lines at the top skipped) with ``log_rr`` or ``rr`` and an
    optional ``weight`` column (sampling weights, as iCARE's ``model.ref.dataset.weights``):
    the other factors' model applied to people representing the population (as iCARE's
    ``model.ref.dataset``). Returns ``(log_rr, weights)``, weights summing to 1.

    Raises
    ------
    CalibrationError
        Naming the file, line and value: no ``log_rr``/``rr`` column, a value that is not a
        finite number (none may be unknown), a relative risk <= 0, a weight < 0.
    """
    where, _, frame, first = _read_commented_tsv(
        path, cannot_read="cannot read", no_table="no table (expected a log_rr or rr column)"
    )
    column = "log_rr" if "log_rr" in frame.columns else ("rr" if "rr" in frame.columns else None)
    if column is None or frame.empty:
        raise CalibrationError(
            f"{where} line {first + 1}: expected a log_rr or rr column and one line per person; "
            f"found {list(frame.columns)} and {len(frame)} lines"
        )
    values = np.empty(len(frame))
    weights = np.ones(len(frame))
    for i, raw in enumerate(frame[column]):
        line = first + 2 + i
        values[i] = _log_rr_value(raw, column, where, line)
        if math.isnan(values[i]):
            raise CalibrationError(
                f"{where} line {line}: {column} is empty: every member of the population sample "
                "needs a value"
            )
        if "weight" in frame.columns:
            try:
                weights[i] = float(frame["weight"].iloc[i])
            except ValueError:
                weights[i] = math.nan
            if not (math.isfinite(weights[i]) and weights[i] >= 0):
                raise CalibrationError(
                    f"{where} line {line}: weight {frame['weight'].iloc[i]!r} is not a finite "
                    "number >= 0"
                )
    if weights.sum() <= 0:
        raise CalibrationError(f"{where}: the weights sum to 0")
    return values, weights / weights.sum()


def _log_rr_value(raw: str, column: str, where: str, line: int) -> float:
    text = raw.strip()
    if text.lower() in _UNKNOWN:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise CalibrationError(
            f"{where} line {line}: {column} {raw!r} is not a finite number (leave it empty or NA "
            "when unknown)"
        )
    if column == "rr":
        if value <= 0:
            raise CalibrationError(
                f"{where} line {line}: rr {raw!r} is not a relative risk > 0 (a log relative "
                "risk goes in a log_rr column)"
            )
        return math.log(value)
    return value


def _family_history_value(raw: str, where: str, line: int) -> float:
    text = raw.strip().lower()
    if text in _UNKNOWN:
        return math.nan
    if text in _FH_YES:
        return 1.0
    if text in _FH_NO:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value == int(value) and 0 <= value <= MAX_AFFECTED_RELATIVES):
        raise CalibrationError(
            f"{where} line {line}: family_history {raw!r} is not a number of affected "
            f"first-degree relatives (0-{MAX_AFFECTED_RELATIVES}), yes/no, or empty/NA when "
            "unknown"
        )
    return value


@dataclass(frozen=True)
class CombinedRisk:
    """Each person's total log relative risk and the population it averages 1 over.

    ``log_rr = log_rr_prs + log_rr_family_history + log_rr_other - centring``; the
    population nodes ``population_log_rr`` (weights ``population_weights``, summing to 1)
    are what :func:`~prs.calibrate.fit_absolute_risk_model` needs, with
    ``sum(w * exp(population_log_rr)) == 1``.
    """

    log_rr: np.ndarray
    log_rr_prs: np.ndarray
    log_rr_family_history: np.ndarray
    log_rr_other: np.ndarray
    centring: float
    population_log_rr: np.ndarray
    population_weights: np.ndarray
    statement_model: str
    #: Per person: "PRS only", or the factors used and which were unknown.
    model: np.ndarray
    prs_only: bool
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def columns(self) -> dict[str, np.ndarray]:
        """The per-person output columns (``log_rr_prs``, ``log_rr_family_history``,
        ``log_rr_other``, ``model``)."""
        return {
            "log_rr_prs": self.log_rr_prs,
            "log_rr_family_history": self.log_rr_family_history,
            "log_rr_other": self.log_rr_other,
            "model": self.model,
        }


def prs_log_rr_variance(population_log_rr: np.ndarray, population_weights: np.ndarray) -> float:
    """Population variance of the PRS's log relative risk (iCARE's ``var_prs``).

    ``b**2`` for a normal score with log OR per SD ``b`` (Gauss-Hermite nodes reproduce it to
    rounding); the weighted variance over a reference sample or percentile bands otherwise.
    """
    lrr = np.asarray(population_log_rr, dtype=float)
    w = np.asarray(population_weights, dtype=float)
    w = w / w.sum()
    mean = float(np.sum(w * lrr))
    return float(np.sum(w * (lrr - mean) ** 2))


def combine_risk_factors(
    prs_log_rr: np.ndarray,
    *,
    sample_ids: np.ndarray | Sequence[str],
    risk_factors: RiskFactors | None,
    prs_population_log_rr: np.ndarray,
    prs_population_weights: np.ndarray | None = None,
) -> CombinedRisk:
    """Combine each person's PRS log relative risk with family history and other factors.

    Parameters
    ----------
    prs_log_rr
        The PRS's log relative risk per person (population average of RR 1), NaN where not
        computable (then the total is NaN too).
    sample_ids
        The scored samples, aligned with ``prs_log_rr``.
    risk_factors
        The factors (:func:`read_risk_factors`), or None: everything is the PRS's.
    prs_population_log_rr, prs_population_weights
        The PRS's population (the nodes the PRS-only baseline hazard would be fitted over:
        :func:`~prs.calibrate.relative.normal_population`, a reference's log RRs, or bands).

    Returns
    -------
    CombinedRisk
        Per-person components and total, and the joint population (see the module notes):
        PRS x family-history classes (PRS tilted by ``exp(k s / 2)`` for ``k`` affected
        relatives, as iCARE's ``sim_snps``) x other factors (independent), centred so that
        the relative risk averages 1.

    Warns
    -----
    CalibrationWarning
        Scored samples absent from the risk factors (taken as unknown: family history
        averaged given the PRS, other factors at their population average).

    Examples
    --------
    >>> import numpy as np
    >>> from prs.calibrate.relative import normal_population
    >>> nodes, weights = normal_population(1.61)
    >>> fh = FamilyHistoryModel.from_rr(1.8, 0.1, source="example", prevalence_source="example")
    >>> rf = RiskFactors(np.array(["a", "b"], dtype=object), family_history=np.array([0.0, 1.0]),
    ...                  family_history_model=fh)
    >>> out = combine_risk_factors(np.zeros(2), sample_ids=["a", "b"], risk_factors=rf,
    ...                            prs_population_log_rr=nodes, prs_population_weights=weights)
    >>> round(float(np.exp(out.log_rr_family_history[1])), 4)  # 1.8 * exp(-ln(1.61)**2 / 2)
    1.607
    >>> round(float(np.sum(out.population_weights * np.exp(out.population_log_rr))), 12)
    1.0
    """
    prs = np.asarray(prs_log_rr, dtype=float)
    ids = np.asarray(sample_ids, dtype=object).astype(str).astype(object)
    pop_s, pop_w = _normalised_population(prs_population_log_rr, prs_population_weights)
    if risk_factors is None:
        return _prs_only(prs, pop_s, pop_w)
    index, absent = _align_risk_factors(risk_factors, ids)
    family = _family_history_part(risk_factors, prs, index, absent, pop_s, pop_w)
    other = _other_factors_part(risk_factors, index, absent)
    # the joint population: family-history classes x other factors (independent)
    joint_s = (family.population_log_rr[:, None] + other.population_log_rr[None, :]).ravel()
    joint_w = (family.population_weights[:, None] * other.population_weights[None, :]).ravel()
    return _centred_combination(prs, risk_factors, family, other, joint_s, joint_w, absent)


@dataclass(frozen=True)
class _Part:
    """One factor's share of :func:`combine_risk_factors`: per-person log RR, the person's
    raw value (for the ``model`` column), the population it adds and its ``inputs`` entry."""

    log_rr: np.ndarray
    person: np.ndarray | None
    population_log_rr: np.ndarray
    population_weights: np.ndarray
    info: dict[str, Any] | None


def _normalised_population(
    log_rr: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The PRS's population nodes and weights summing to 1 (equal weights when None)."""
    pop_s = np.asarray(log_rr, dtype=float)
    pop_w = (
        np.full(pop_s.size, 1.0 / pop_s.size)
        if weights is None
        else np.asarray(weights, dtype=float) / np.sum(weights)
    )
    return pop_s, pop_w


def _prs_only(prs: np.ndarray, pop_s: np.ndarray, pop_w: np.ndarray) -> CombinedRisk:
    """The combination without risk factors: everything is the PRS's."""
    n = prs.size
    return CombinedRisk(
        log_rr=prs,
        log_rr_prs=prs,
        log_rr_family_history=np.zeros(n),
        log_rr_other=np.zeros(n),
        centring=0.0,
        population_log_rr=pop_s,
        population_weights=pop_w,
        statement_model=PRS_ONLY,
        model=np.full(n, PRS_ONLY, dtype=object),
        prs_only=True,
        inputs={"model": PRS_ONLY, "prs_only": True},
    )


def _align_risk_factors(rf: RiskFactors, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each scored sample's row in ``rf`` (0 where absent) and the absent mask.

    Warns (for :func:`combine_risk_factors`'s caller) when scored samples are absent.
    """
    n = ids.size
    lookup = pd.Series(np.arange(rf.sample_ids.size), index=pd.Index(rf.sample_ids.astype(str)))
    pos = lookup.reindex(ids).to_numpy(dtype=float)
    absent = np.isnan(pos)
    if absent.any():
        warn(
            f"{int(absent.sum())} of {n} scored samples are not in the risk factors "
            f"{rf.source or ''} (first: {ids[absent][0]}): their family history and other "
            "factors are taken as unknown",
            CalibrationWarning,
        )
    return np.where(absent, 0, pos).astype(int), absent


def _family_history_part(
    rf: RiskFactors,
    prs: np.ndarray,
    index: np.ndarray,
    absent: np.ndarray,
    pop_s: np.ndarray,
    pop_w: np.ndarray,
) -> _Part:
    """Attenuated family-history log RR per person, and the PRS population split by class.

    Without family history: zeros, and the PRS population as it is.
    """
    n = prs.size
    if not rf.uses_family_history:
        return _Part(np.zeros(n), None, pop_s, pop_w, None)
    assert rf.family_history is not None and rf.family_history_model is not None
    model = rf.family_history_model
    v = prs_log_rr_variance(pop_s, pop_w)
    adjusted = model.attenuated_log_rr(v)
    shares = model.shares()
    counts = np.arange(model.max_count + 1)
    # E_0[exp(k s / 2)]: normaliser of the tilted PRS distribution of class k
    shift = pop_s.max() if pop_s.size else 0.0
    tilt_norm = np.array([float(np.sum(pop_w * np.exp(k * (pop_s - shift) / 2.0))) for k in counts])
    classes_s: list[np.ndarray] = []
    classes_w: list[np.ndarray] = []
    for k in counts:
        w_k = pop_w * np.exp(k * (pop_s - shift) / 2.0) / tilt_norm[k]
        classes_s.append(pop_s + adjusted[k])
        classes_w.append(shares[k] * w_k)
    fh_person = np.where(absent, np.nan, rf.family_history[index])
    known = ~np.isnan(fh_person)
    fh_part = np.zeros(n)
    k_person = np.minimum(np.nan_to_num(fh_person), model.max_count).astype(int)
    fh_part[known] = adjusted[k_person[known]]
    unknown = ~known & ~np.isnan(prs)
    if unknown.any():
        fh_part[unknown] = _expected_family_history_log_rr(
            prs[unknown], shares, counts, shift, tilt_norm, adjusted
        )
    info = {
        "model": model.to_dict(),
        "prs_log_rr_variance": v,
        "attenuated_rr": np.exp(adjusted[1:]).tolist(),
        "attenuation_rule": (
            "log RR_fh(k) - k * var(PRS log RR) / 2 (iCARE computeAbsoluteRisk: beta_fh - "
            "var_prs / 2, binary family history; counts derived)"
        ),
        "n_unknown": int(np.count_nonzero(~known)),
    }
    return _Part(fh_part, fh_person, np.concatenate(classes_s), np.concatenate(classes_w), info)


def _expected_family_history_log_rr(
    prs: np.ndarray,
    shares: np.ndarray,
    counts: np.ndarray,
    shift: float,
    tilt_norm: np.ndarray,
    adjusted: np.ndarray,
) -> np.ndarray:
    """``log sum_k P(k | s) RR*_fh(k)`` for people whose family history is unknown."""
    # P(k | s) proportional to share_k exp(k s / 2) / E_0[exp(k s / 2)]
    s = prs[:, None]
    log_post = (
        np.log(np.maximum(shares, 1e-300))[None, :]
        + counts[None, :] * (s - shift) / 2.0
        - np.log(tilt_norm)[None, :]
    )
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    post /= post.sum(axis=1, keepdims=True)
    return np.log(post @ np.exp(adjusted))


def _other_factors_part(rf: RiskFactors, index: np.ndarray, absent: np.ndarray) -> _Part:
    """Other factors' log RR per person, centred; their population nodes (independent of
    the PRS and the family history). Without other factors: zeros and one node at 0."""
    if not rf.uses_other:
        return _Part(np.zeros(index.size), None, np.zeros(1), np.ones(1), None)
    assert rf.other_log_rr is not None
    other_person = np.where(absent, np.nan, rf.other_log_rr[index])
    if rf.other_population_log_rr is not None:
        o_s, o_w = _compress(
            np.asarray(rf.other_population_log_rr, dtype=float),
            rf.other_population_weights,
        )
        o_centre = float(np.log(np.sum(o_w * np.exp(o_s))))
        o_s = o_s - o_centre
    else:
        # asserted E[RR_other] = 1: the population carries the other factors as their mean
        o_s, o_w, o_centre = np.zeros(1), np.ones(1), 0.0
    other_part = np.where(np.isnan(other_person), 0.0, other_person - o_centre)
    info = {
        "source": rf.other_source,
        "population": "given" if rf.other_population_log_rr is not None else "asserted E[RR]=1",
        "population_centring": o_centre,
        "n_unknown": int(np.count_nonzero(np.isnan(other_person))),
    }
    return _Part(other_part, other_person, o_s, o_w, info)


def _centred_combination(
    prs: np.ndarray,
    rf: RiskFactors,
    family: _Part,
    other: _Part,
    joint_s: np.ndarray,
    joint_w: np.ndarray,
    absent: np.ndarray,
) -> CombinedRisk:
    """The total log RR centred so that the relative risk averages 1 over the joint
    population, with the per-person components and the ``inputs`` record."""
    joint_w = joint_w / joint_w.sum()
    top = joint_s.max()
    centring = float(np.log(np.sum(joint_w * np.exp(joint_s - top))) + top)
    total = prs + family.log_rr + other.log_rr - centring
    statement = rf.describe()
    per_person = _per_person_model(prs.size, family.person, other.person)
    return CombinedRisk(
        log_rr=total,
        log_rr_prs=prs,
        log_rr_family_history=np.where(np.isnan(prs), np.nan, family.log_rr),
        log_rr_other=other.log_rr,
        centring=centring,
        population_log_rr=joint_s - centring,
        population_weights=joint_w,
        statement_model=statement,
        model=per_person,
        prs_only=False,
        inputs={
            "model": statement,
            "prs_only": False,
            "risk_factors": rf.to_dict(),
            "family_history": family.info,
            "other": other.info,
            "centring": centring,
            "population_nodes": int(joint_s.size),
            "n_not_in_risk_factors": int(absent.sum()),
            "assumptions": (
                "multiplicative relative risks (log-additive), constant over age; other factors "
                "independent of the PRS and the family history and excluding family history; "
                "family history's PRS distribution as iCARE (tilted by exp(k s / 2), rare "
                "disease)"
            ),
        },
    )


def _per_person_model(
    n: int, family_history: np.ndarray | None, other: np.ndarray | None
) -> np.ndarray:
    """Per person: which factors the relative risk rests on, unknowns named."""
    out = np.empty(n, dtype=object)
    for i in range(n):
        parts = ["PRS"]
        if family_history is not None:
            fh = family_history[i]
            parts.append(
                "family history (unknown: averaged given the PRS)"
                if np.isnan(fh)
                else f"family history ({int(fh)} affected)"
            )
        if other is not None:
            parts.append(
                "other factors (unknown: population average)"
                if np.isnan(other[i])
                else "other factors"
            )
        out[i] = " + ".join(parts)
    return out


def _compress(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """At most :data:`MAX_OTHER_NODES` weighted nodes: equal-probability groups of the
    sorted sample, each at the log of its mean relative risk (keeps E[RR] exactly)."""
    w = np.full(values.size, 1.0) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != values.shape or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise CalibrationError(
            "other factors' population weights: one finite weight >= 0 per value, not all 0"
        )
    w = w / w.sum()
    if values.size <= MAX_OTHER_NODES:
        return values, w
    order = np.argsort(values, kind="stable")
    v, ww = values[order], w[order]
    group = np.minimum((np.cumsum(ww) - ww / 2) * MAX_OTHER_NODES, MAX_OTHER_NODES - 1).astype(int)
    sums = np.bincount(group, weights=ww, minlength=MAX_OTHER_NODES)
    rr_sums = np.bincount(group, weights=ww * np.exp(v), minlength=MAX_OTHER_NODES)
    keep = sums > 0
    return np.log(rr_sums[keep] / sums[keep]), sums[keep]


def resolve_risk_factors(
    risk_factors: RiskFactors | str | os.PathLike[str] | None,
    *,
    sample_ids: Sequence[str] | np.ndarray,
    family_history_model: FamilyHistoryModel | str | None = None,
    family_history_rr: float | Sequence[float] | None = None,
    family_history_prevalence: float | Sequence[float] | None = None,
    family_history_source: str | None = None,
    other_source: str | None = None,
    other_population: str | os.PathLike[str] | tuple[np.ndarray, np.ndarray] | None = None,
) -> RiskFactors | None:
    """The risk factors of :func:`~prs.calibrate.categorise` from its arguments (or CLI flags).

    ``risk_factors`` is a :class:`RiskFactors` or a TSV path (:func:`read_risk_factors`,
    checked against the scored ``sample_ids``). The family-history relative risks are a
    shipped model (``family_history_model``, e.g. ``breast-cghfbc-2001``) or the user's
    ``family_history_rr`` (one value: any affected first-degree relative; several: 1, 2, ...
    relatives) with ``family_history_prevalence`` and ``family_history_source``, both required
    (no unsourced default). ``other_population`` is the other factors' population sample
    (:func:`read_other_population` path, or ``(log_rr, weights)``).

    Returns None when no risk factors are given (the PRS-only path).

    Raises
    ------
    CalibrationError
        Family-history or other-factor options without ``risk_factors``; both a shipped model
        and user relative risks; user relative risks without prevalence or source.
    """
    if risk_factors is None:
        _refuse_options_without_risk_factors(
            family_history_model=family_history_model,
            family_history_rr=family_history_rr,
            family_history_prevalence=family_history_prevalence,
            other_population=other_population,
        )
        return None
    model = _family_history_model_from_options(
        family_history_model, family_history_rr, family_history_prevalence, family_history_source
    )
    population: tuple[np.ndarray, np.ndarray] | None
    if other_population is None or isinstance(other_population, tuple):
        population = other_population
    else:
        population = read_other_population(other_population)
    if isinstance(risk_factors, RiskFactors):
        return _with_options(risk_factors, sample_ids, model, other_source, population)
    return read_risk_factors(
        risk_factors,
        family_history_model=model,
        other_source=other_source,
        sample_ids=sample_ids,
        other_population_log_rr=None if population is None else population[0],
        other_population_weights=None if population is None else population[1],
    )


def _refuse_options_without_risk_factors(**options: Any) -> None:
    """Refuse family-history or other-factor options given without the risk factors."""
    flags = {
        "family_history_model": "--family-history-model",
        "family_history_rr": "--family-history-rr",
        "family_history_prevalence": "--family-history-prevalence",
        "other_population": "--risk-factors-population",
    }
    given = [f"{name} ({flags[name]})" for name, value in options.items() if value is not None]
    if given:
        raise CalibrationError(
            f"{', '.join(given)} given without the people's risk factors: give "
            "risk_factors= / --risk-factors FILE (sample_id, log_rr or rr, family_history)"
        )


def _family_history_model_from_options(
    family_history_model: FamilyHistoryModel | str | None,
    family_history_rr: float | Sequence[float] | None,
    family_history_prevalence: float | Sequence[float] | None,
    family_history_source: str | None,
) -> FamilyHistoryModel | None:
    """The family-history model: a shipped one (object or name) or the user's sourced
    relative risks and prevalence, never both and never unsourced."""
    if family_history_rr is not None:
        if family_history_model is not None:
            raise CalibrationError(
                "give a shipped family-history model (--family-history-model) or your own "
                "relative risks (--family-history-rr), not both"
            )
        if family_history_prevalence is None or not family_history_source:
            raise CalibrationError(
                "--family-history-rr needs --family-history-prevalence (the population share "
                "with an affected first-degree relative: it sets the baseline hazard) and "
                "--family-history-source (the publication): neither has a default"
            )
        return FamilyHistoryModel.from_rr(
            family_history_rr,
            family_history_prevalence,
            source=family_history_source,
            prevalence_source=family_history_source,
        )
    if family_history_prevalence is not None:
        raise CalibrationError("--family-history-prevalence needs --family-history-rr")
    if isinstance(family_history_model, str):
        return load_family_history_model(family_history_model)
    return family_history_model


def _with_options(
    risk_factors: RiskFactors,
    sample_ids: Sequence[str] | np.ndarray,
    model: FamilyHistoryModel | None,
    other_source: str | None,
    population: tuple[np.ndarray, np.ndarray] | None,
) -> RiskFactors:
    """Given :class:`RiskFactors`, checked against the scored samples, with the options'
    model, other-factor source and population put in."""
    scored = {str(s) for s in np.asarray(sample_ids, dtype=object)}
    unknown = [s for s in risk_factors.sample_ids if str(s) not in scored]
    if unknown:
        raise CalibrationError(
            f"risk factors: sample_id {unknown[0]} is not among the scored samples "
            f"({len(unknown)} such)"
        )
    replace: dict[str, Any] = {}
    if model is not None and risk_factors.uses_family_history:
        replace["family_history_model"] = model
    if other_source is not None:
        replace["other_source"] = other_source
    if population is not None:
        replace["other_population_log_rr"], replace["other_population_weights"] = population
    return dataclasses.replace(risk_factors, **replace) if replace else risk_factors


def parse_numbers(text: str, option: str) -> tuple[float, ...]:
    """``"1.80,2.93"`` -> ``(1.8, 2.93)`` for a comma-separated CLI option."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise CalibrationError(f"{option} '{text}': not comma-separated numbers") from exc
    if not values:
        raise CalibrationError(f"{option} '{text}': no number")
    return values


def prs_population(
    *,
    or_per_sd: float | None = None,
    population_log_rr: np.ndarray | None = None,
    bands: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The PRS's population nodes and weights, as :func:`categorise` fits the PRS-only model.

    ``or_per_sd`` alone: Gauss-Hermite nodes of a normal score; with ``population_log_rr``
    (the reference's own log relative risks, ``risk_population="reference"``): those, equal
    weights; ``bands`` (:class:`~prs.calibrate.relative.PercentileBands`): the bands' log
    relative risks over their population average, weighted by the bands' widths.
    """
    if population_log_rr is not None:
        values = np.asarray(population_log_rr, dtype=float)
        return values, np.full(values.size, 1.0 / values.size)
    if or_per_sd is not None:
        return normal_population(or_per_sd)
    if bands is not None:
        return (
            np.log(bands.relative_risk / bands.population_average()),
            np.asarray(bands.population_weights, dtype=float),
        )
    raise CalibrationError(
        "risk factors need the PRS's relative risk: give or_per_sd (--or-per-sd) or "
        "percentile_bands"
    )
