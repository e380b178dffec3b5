"""Absolute risk over an age interval from incidence, competing mortality and relative risk.

The model is iCARE's (Chatterjee, Shi & Garcia-Closas 2016, Nat Rev Genet 17:392; Bioconductor
package iCARE, Pal Choudhury et al. 2020, PLoS One 15:e0228198),
in discrete single-year steps:

* A person's disease hazard at age ``t`` is ``lambda0(t) * rr``; competing mortality ``m(t)``
  does not depend on the score.
* The baseline hazard ``lambda0`` is chosen so that the population reproduces the registry
  incidence among those still disease-free: ``lambda0(t) = lambda_m(t) / E[rr | disease-free
  at t]`` where the expectation weights each person of the population by
  ``exp(-rr * Lambda0(t))``, ``Lambda0(t) = sum_{u < t} lambda0(u)`` summed from the first age
  of the rate table. iCARE solves this by fixed-point iteration; because ``E[...]`` at ``t``
  depends only on ``lambda0`` before ``t`` it is solved here exactly, age by age.
* The risk of a person disease-free at age ``a`` over ``[a, a + years)`` is
  ``sum_{t=a}^{a+years-1} lambda0(t) rr exp(-sum_{u=a}^{t-1} (lambda0(u) rr + m(u)))``,
  the same left-Riemann sum iCARE uses (hazard of year ``t`` times survival to its start).

Ages are whole years (age in completed years); rates are per person-year.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from prs import errors
from prs.calibrate._inputs import comment_header, shipped_names, shipped_or_path
from prs.calibrate.relative import normal_population
from prs.errors import CalibrationError, CalibrationWarning

#: Shipped breast-cancer incidence (US SEER, iCARE example data).
DEFAULT_INCIDENCE = "us-seer-female-breast-incidence"
#: Shipped competing mortality (US women, deaths other than breast cancer, iCARE example data).
DEFAULT_MORTALITY = "us-female-competing-mortality"
#: Age at which "lifetime" risk ends (as NICE CG164 and most risk tools: to age 80).
LIFETIME_END_AGE = 80

#: Largest age prs accepts anywhere (a person's age, a rate table's last age): beyond any
#: recorded human life, so a larger number is a mistake (months, days, a year of birth).
MAX_AGE = 150

#: Largest annual rate per person-year a rate table may hold. Cancer incidence and mortality
#: from other causes stay far below it before the oldest ages; a larger value is almost always
#: a rate per 100,000 given in a ``rate`` column (name it ``rate_per_100000``).
MAX_ANNUAL_RATE = 1.0

#: Largest log relative risk :meth:`AbsoluteRiskModel.risk` accepts: ``exp`` of it (1e304) is
#: still a double, so the computation never overflows; any polygenic score is hundreds of
#: orders of magnitude below it (and warned about from :data:`MAX_YEARLY_HAZARD` on).
MAX_LOG_RR = 700.0


@dataclass(frozen=True)
class RateTable:
    """Annual rates per person by single year of age (contiguous ages).

    Attributes
    ----------
    ages
        Whole years of age, contiguous and increasing.
    rates
        Rate per person-year at each age.
    name, source
        Short name and published source (from the file's ``# name:``/``# source:`` lines).
    meta
        Every ``# key: value`` comment line of the file (keys lower-case): ``kind``
        (incidence or competing mortality), ``cancer`` (a name such as ``breast``),
        ``cancer_efo`` (``|``-separated EFO/MONDO terms), ``sex`` (female, male or any),
        ``population``, ``registry``, ``years``.
    """

    ages: np.ndarray
    rates: np.ndarray
    name: str
    source: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ages.size == 0 or np.any(np.diff(self.ages) != 1):
            raise CalibrationError(f"rate table {self.name}: ages must be contiguous whole years")
        if self.ages[0] < 0 or self.ages[-1] > MAX_AGE:
            raise CalibrationError(
                f"rate table {self.name}: ages {self.ages[0]}-{self.ages[-1]} are not within "
                f"0-{MAX_AGE}"
            )
        if self.rates.shape != self.ages.shape:
            raise CalibrationError(f"rate table {self.name}: one rate per age is needed")
        bad = ~np.isfinite(self.rates) | (self.rates < 0) | (self.rates > MAX_ANNUAL_RATE)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise CalibrationError(
                f"rate table {self.name}: rate {float(self.rates[i])!r} at age {self.ages[i]} is "
                f"not a finite annual rate per person-year within 0-{MAX_ANNUAL_RATE:g} (rates per "
                "100,000 go in a 'rate_per_100000' column)"
            )

    @property
    def cancer(self) -> str:
        """The declared cancer (``# cancer:``), "" when the file does not say."""
        return self.meta.get("cancer", "").strip().lower()

    @property
    def sex(self) -> str:
        """The declared sex (``# sex:``: female, male or any), "" when the file does not say."""
        return self.meta.get("sex", "").strip().lower()

    @property
    def kind(self) -> str:
        """``incidence`` or ``competing mortality`` (``# kind:``), "" when not said."""
        return self.meta.get("kind", "").strip().lower()

    @property
    def first_age(self) -> int:
        return int(self.ages[0])

    @property
    def last_age(self) -> int:
        return int(self.ages[-1])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"age": self.ages, "rate": self.rates})


def available_rate_tables() -> dict[str, str]:
    """Return the shipped rate tables: name -> source."""
    return {name: table.source for name, table in _shipped_tables()}


def _shipped_tables() -> list[tuple[str, RateTable]]:
    """Every shipped table as (name, table), sorted by name."""
    return [(name, load_rate_table(name)) for name in shipped_names(_data_dir(), ".csv")]


def _is_default(table: RateTable) -> bool:
    return table.meta.get("default", "").strip().lower() == "true"


def population_matches(table: RateTable, population: str) -> bool:
    """Whether ``population`` names the table's declared population (``# population:``).

    Case-insensitive; either the whole declaration ("England, women") or its place, the text
    before the first comma ("England", "United States").
    """
    declared = table.meta.get("population", "").strip().lower()
    wanted = population.strip().lower()
    return bool(wanted) and wanted in (declared, declared.split(",")[0].strip())


def shipped_rate_table(
    cancer: str, sex: str, kind: str, population: str | None = None
) -> str | None:
    """The name of the shipped table of ``kind`` declared for ``cancer`` and ``sex``.

    Never another cancer's table. A table declared for the exact sex is preferred to one
    declared ``any``. When several shipped tables fit (today: female breast, for the United
    States and England), ``population`` chooses among them (see :func:`population_matches`);
    without it the one declaring ``# default: true`` is used (female breast: the US SEER
    tables of iCARE, so results stay those of earlier versions and of iCARE's vignette).

    Parameters
    ----------
    cancer, sex
        The scheme's cancer name and sex (female, male or any).
    kind
        ``incidence`` or ``competing mortality``.
    population
        Optional population ("England", "United States", or a table's whole declared
        population); None: the default table.

    Returns
    -------
    str or None
        The table name, or None when no shipped table fits (the caller must then ask for
        one; it must never fall back to another cancer's rates).

    Raises
    ------
    CalibrationError
        Several tables fit and none (or more than one) of them is the default.

    Examples
    --------
    >>> shipped_rate_table("prostate", "male", "incidence")
    'england-gbd2019-male-prostate-incidence'
    >>> shipped_rate_table("breast", "female", "incidence")
    'us-seer-female-breast-incidence'
    >>> shipped_rate_table("breast", "female", "incidence", population="England")
    'england-gbd2019-female-breast-incidence'
    >>> shipped_rate_table("ovary", "female", "incidence") is None
    True
    """
    cancer, sex, kind = cancer.strip().lower(), sex.strip().lower(), kind.strip().lower()
    fits = [
        (name, table)
        for name, table in _shipped_tables()
        if table.kind == kind and table.cancer == cancer and table.sex in (sex, "any")
    ]
    exact = [(name, table) for name, table in fits if table.sex == sex]
    fits = exact or fits
    if population is not None:
        fits = [(name, table) for name, table in fits if population_matches(table, population)]
    if len(fits) <= 1:
        return fits[0][0] if fits else None
    defaults = [name for name, table in fits if _is_default(table)]
    if len(defaults) == 1:
        return defaults[0]
    raise CalibrationError(
        f"several shipped {kind} tables fit {cancer} cancer (sex {sex}"
        + (f", population {population!r}" if population else "")
        + f"): {', '.join(name for name, _ in fits)}; name one (--incidence / --mortality) "
        "or a population"
    )


def companion_mortality_table(incidence: RateTable) -> str | None:
    """The shipped competing-mortality table to go with a shipped incidence table: same
    cancer, sex and declared population (an England incidence table gets England mortality,
    never the US default). None when the incidence table declares no cancer or no shipped
    mortality table fits; for an incidence table of a population no shipped mortality table
    declares, the cancer's default mortality table."""
    if not incidence.cancer:
        return None
    sex = incidence.sex or "any"
    population = incidence.meta.get("population", "").strip()
    if population:
        found = shipped_rate_table(incidence.cancer, sex, "competing mortality", population)
        if found is not None:
            return found
    return shipped_rate_table(incidence.cancer, sex, "competing mortality")


def load_rate_table(table: str | os.PathLike[str] | RateTable) -> RateTable:
    """Load a rate table by shipped name or from a CSV file.

    CSV format (comment lines at the top start with ``#``; ``# name:`` and ``# source:`` are
    recorded): either columns ``age,rate`` (one row per single year of age, contiguous) or
    ``age_start,age_end,rate`` (bands ``[age_start, age_end)``, each year of a band gets the
    band's annual rate, as registries publish 5-year bands). Use ``rate_per_100000`` instead of
    ``rate`` for rates per 100,000 person-years.

    Parameters
    ----------
    table
        A shipped name (see :func:`available_rate_tables`), a path, or a RateTable.

    Raises
    ------
    CalibrationError
        Unknown name, missing columns, non-numbers or negative rates (with the file line),
        gaps between bands.

    Examples
    --------
    >>> t = load_rate_table("us-seer-female-breast-incidence")
    >>> t.first_age, t.last_age
    (0, 85)
    """
    if isinstance(table, RateTable):
        return table
    path, shipped = shipped_or_path(
        table, _data_dir(), ".csv", what="rate table", instead="a CSV path"
    )
    if shipped:
        name = os.fspath(table)
        return _parse_rate_csv(path.read_text(encoding="utf-8"), f"{name}.csv", name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read rate table ({exc.strerror or exc})") from exc
    return _parse_rate_csv(text, str(path), path.stem)


def _parse_rate_csv(text: str, where: str, default_name: str) -> RateTable:
    lines = text.splitlines()
    meta, first = comment_header(lines, keep_empty=True)
    try:
        frame = pd.read_csv(io.StringIO("\n".join(lines[first:])), dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise CalibrationError(
            f"{where}: no rate table after the comment lines (expected a header 'age,rate' or "
            f"'age_start,age_end,rate' and one line per age or band) ({exc})"
        ) from exc
    frame.columns = [c.strip() for c in frame.columns]
    rate_col = "rate" if "rate" in frame.columns else "rate_per_100000"
    scale = 1.0 if rate_col == "rate" else 1e-5
    if rate_col not in frame.columns:
        raise CalibrationError(
            f"{where}: no 'rate' (or 'rate_per_100000') column; found {list(frame.columns)}"
        )
    # line of the table's first row in the file (the header is line first + 1)
    row_line = first + 2
    rates = _rate_numbers(frame, rate_col, False, scale, where, row_line) * scale
    ages, rates = _yearly_ages(frame, rates, scale, where, row_line)
    return RateTable(ages, rates, meta.get("name", default_name), meta.get("source", ""), meta)


def _rate_numbers(
    frame: pd.DataFrame, col: str, integer: bool, scale: float, where: str, row_line: int
) -> np.ndarray:
    """A rate table's column as numbers: whole ages within 0-:data:`MAX_AGE` or finite
    rates within 0-:data:`MAX_ANNUAL_RATE` (in the column's unit, ``scale``)."""
    out = np.empty(len(frame))
    for i, raw in enumerate(frame[col]):
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        limit = MAX_AGE if integer else (MAX_ANNUAL_RATE / scale)
        if (
            not math.isfinite(value)
            or (integer and value != int(value))
            or value < 0
            or value > limit
        ):
            unit = "person-year" if scale == 1 else "100,000 person-years"
            kind = (
                f"a whole number of years within 0-{MAX_AGE}"
                if integer
                else f"a finite rate within 0-{limit:g} per {unit}"
            )
            raise CalibrationError(
                f"{where} line {row_line + i}: {col} {raw!r} is not {kind}"
                + (
                    "; rates per 100,000 go in a 'rate_per_100000' column"
                    if not integer and scale == 1 and math.isfinite(value) and value > limit
                    else "; give every age a rate (drop ages you do not need)"
                )
            )
        out[i] = value
    return out


def _yearly_ages(
    frame: pd.DataFrame, rates: np.ndarray, scale: float, where: str, row_line: int
) -> tuple[np.ndarray, np.ndarray]:
    """The table's whole-year ages and a rate per year (age bands expanded), contiguous."""
    if "age" in frame.columns:
        ages = _rate_numbers(frame, "age", True, scale, where, row_line).astype(int)
    elif {"age_start", "age_end"} <= set(frame.columns):
        starts = _rate_numbers(frame, "age_start", True, scale, where, row_line).astype(int)
        ends = _rate_numbers(frame, "age_end", True, scale, where, row_line).astype(int)
        for i in range(len(frame)):
            if ends[i] <= starts[i] or (i and starts[i] != ends[i - 1]):
                raise CalibrationError(
                    f"{where} line {row_line + i}: band [{starts[i]}, {ends[i]}) must be "
                    "non-empty and start where the previous band ends"
                )
        ages = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
        rates = np.repeat(rates, ends - starts)
    else:
        raise CalibrationError(
            f"{where}: need columns 'age,rate' or 'age_start,age_end,rate'; "
            f"found {list(frame.columns)}"
        )
    if ages.size == 0:
        raise CalibrationError(f"{where}: no rows")
    if np.any(np.diff(ages) != 1):
        gap = int(np.flatnonzero(np.diff(ages) != 1)[0])
        raise CalibrationError(
            f"{where} line {row_line + 1 + gap}: ages must be contiguous and increasing "
            f"({ages[gap]} is followed by {ages[gap + 1]})"
        )
    return ages, rates


#: Largest yearly hazard (relative risk x baseline incidence) :meth:`AbsoluteRiskModel.risk`
#: computes without a warning: above it iCARE's year-by-year sum departs from the
#: continuous-time risk by more than about 10 % and can exceed 1.
MAX_YEARLY_HAZARD = 0.2


@dataclass(frozen=True)
class AbsoluteRiskModel:
    """Baseline hazard and competing mortality on a common age grid (see the module notes).

    Build with :func:`fit_absolute_risk_model`.

    Attributes
    ----------
    ages
        Whole years covered by both tables.
    marginal_incidence, baseline_hazard, mortality
        Registry incidence, derived baseline hazard ``lambda0`` and competing mortality
        (zeros when none given) at each age.
    population_log_rr, population_weights
        The population's log relative risks and weights the baseline was derived over.
    incidence_name, mortality_name
        Names of the rate tables used.
    """

    ages: np.ndarray
    marginal_incidence: np.ndarray
    baseline_hazard: np.ndarray
    mortality: np.ndarray
    population_log_rr: np.ndarray
    population_weights: np.ndarray
    incidence_name: str
    mortality_name: str | None

    def _index(self, age_start: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first, last = int(self.ages[0]), int(self.ages[-1])
        start = np.floor(age_start).astype(int)
        if np.any(years < 1) or np.any(years != np.floor(years)):
            raise CalibrationError("years must be whole numbers >= 1")
        end = start + years.astype(int)
        bad = (start < first) | (end - 1 > last)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise CalibrationError(
                f"age interval [{start[i]}, {end[i]}) is outside the rate tables' ages "
                f"{first}-{last} ({self.incidence_name}"
                + (f", {self.mortality_name}" if self.mortality_name else "")
                + "); use a shorter interval or tables covering those ages"
            )
        return start - first, end - first

    def risk(
        self,
        log_rr: np.ndarray | float,
        *,
        age_start: np.ndarray | float,
        years: np.ndarray | int,
    ) -> np.ndarray:
        """Absolute risk over ``[age_start, age_start + years)`` for people disease-free at start.

        Parameters
        ----------
        log_rr
            Log relative risk of each person (population average of RR is 1).
        age_start
            Current age (completed years; fractions are floored).
        years
            Length of the interval in whole years.

        Returns
        -------
        numpy.ndarray
            Probability of developing the disease in the interval, competing death allowed
            (iCARE's year-by-year sum).

        Warns
        -----
        CalibrationWarning
            When a person's yearly hazard ``rr * lambda0(t)`` exceeds
            :data:`MAX_YEARLY_HAZARD` in the interval: the yearly sum then overstates the risk
            and can exceed 1 (from a relative risk around 40 with breast cancer incidence),
            far beyond any polygenic score's relative risk.
        """
        return self._risk(log_rr, age_start=age_start, years=years, warn=True)

    def _risk(
        self,
        log_rr: np.ndarray | float,
        *,
        age_start: np.ndarray | float,
        years: np.ndarray | int,
        warn: bool,
    ) -> np.ndarray:
        # ``warn=False`` for integration nodes and population bands (population averages):
        # the extreme Gauss-Hermite nodes carry relative risks no person has (weights ~1e-46),
        # so a warning about them would be about nobody and would fail ``--strict`` runs.
        lrr, start, span = np.broadcast_arrays(
            np.asarray(log_rr, dtype=float),
            np.asarray(age_start, dtype=float),
            np.asarray(years, dtype=float),
        )
        shape = lrr.shape
        lrr, start, span = lrr.ravel(), start.ravel(), span.ravel()
        i0, i1 = self._index(start, span)
        if np.any(np.isnan(lrr)) or np.any(lrr > MAX_LOG_RR):
            worst = lrr[np.isnan(lrr) | (lrr > MAX_LOG_RR)][0]
            raise CalibrationError(
                f"log relative risk {worst!r} is not a number up to {MAX_LOG_RR:g}: no absolute "
                "risk (a score hundreds of SDs from its reference? check the reference)"
            )
        rr = np.exp(lrr)  # no overflow: lrr <= MAX_LOG_RR (-inf gives RR 0)
        base_cum = np.concatenate([[0.0], np.cumsum(self.baseline_hazard)])
        mort_cum = np.concatenate([[0.0], np.cumsum(self.mortality)])
        out = np.empty(rr.size)
        warned = False
        width = int((i1 - i0).max())
        offsets = np.arange(width)
        for lo in range(0, rr.size, 4096):
            sl = slice(lo, lo + 4096)
            idx = i0[sl, None] + offsets[None, :]
            inside = idx < i1[sl, None]
            idx = np.minimum(idx, self.ages.size - 1)
            cum_before = rr[sl, None] * (base_cum[idx] - base_cum[i0[sl], None]) + (
                mort_cum[idx] - mort_cum[i0[sl], None]
            )
            terms = self.baseline_hazard[idx] * rr[sl, None] * np.exp(-cum_before)
            out[sl] = np.where(inside, terms, 0.0).sum(axis=1)
            hazard = np.where(inside, self.baseline_hazard[idx] * rr[sl, None], 0.0)
            worst = hazard.max(axis=1) if hazard.size else np.zeros(0)
            if warn and not warned and np.any(worst > MAX_YEARLY_HAZARD):
                i = lo + int(np.flatnonzero(worst > MAX_YEARLY_HAZARD)[0])
                warned = True
                errors.warn(
                    f"relative risk {rr[i]:.3g} (log {lrr[i]:.3g}) at ages "
                    f"{int(start[i])}-{int(start[i] + span[i])} gives a yearly hazard of "
                    f"{worst[i - lo]:.3g} ({self.incidence_name}): beyond "
                    f"{MAX_YEARLY_HAZARD} the yearly risk sum overstates the risk and can "
                    "exceed 1; check the score's OR per SD and its reference",
                    CalibrationWarning,
                )
        return out.reshape(shape)

    def population_risk(self, *, age_start: float, years: int) -> float:
        """Average risk over the interval among the population **still disease-free** at its start.

        One of two population-average estimands (see also :meth:`population_mean_risk`):
        each population member is weighted by its probability of being disease-free at
        ``age_start`` (``exp(-rr * Lambda0(age_start))``, with ``Lambda0`` summed from the
        rate table's first age); competing mortality, independent of the score, cancels from
        the weights. It is the risk of the average person who reaches ``age_start`` without the
        disease, the population a screening benchmark at that age describes (used for the
        benchmark risk of risk-equivalent ages). For ``years = 1`` it equals the registry
        incidence at ``age_start`` exactly. High-risk people are under-represented among the
        disease-free at older ages, so it is slightly below :meth:`population_mean_risk`
        (SEER breast cancer, normal log relative risk of SD 0.3197, 50 to 80: 0.0958 vs
        0.0960).

        Never warns: the population is described by integration nodes (or bands), not people.

        Examples
        --------
        >>> model = fit_absolute_risk_model(or_per_sd=1.61)
        >>> one_year = model.population_risk(age_start=50, years=1)
        >>> round(one_year / float(model.marginal_incidence[50]), 12)
        1.0
        """
        i0, _ = self._index(np.array([age_start], dtype=float), np.array([years], dtype=float))
        base_before = float(np.sum(self.baseline_hazard[: i0[0]]))
        rr = np.exp(self.population_log_rr)
        weights = self.population_weights * np.exp(-rr * base_before)
        risks = self._risk(self.population_log_rr, age_start=age_start, years=years, warn=False)
        return float(np.sum(weights * risks) / np.sum(weights))

    def population_mean_risk(self, *, age_start: float, years: int) -> float:
        """Plain population mean of the risk over the interval, everyone taken disease-free.

        The other population-average estimand (see :meth:`population_risk`): the mean over
        the population of each member's :meth:`risk` from ``age_start``, every member
        weighted by its population weight only, as if all were disease-free at ``age_start``.
        This is the mean absolute risk iCARE reports for a reference population (its
        vignette's SNP-only breast cancer model, 50 to 80: 0.09601; here, with the same SEER
        tables and a normal log relative risk of SD 0.3197: 0.0960).

        Never warns (the population is integration nodes or bands, not people).

        Examples
        --------
        >>> import math
        >>> model = fit_absolute_risk_model(or_per_sd=math.exp(0.3197))
        >>> round(model.population_mean_risk(age_start=50, years=30), 4)
        0.096
        """
        risks = self._risk(self.population_log_rr, age_start=age_start, years=years, warn=False)
        return float(np.sum(self.population_weights * risks) / np.sum(self.population_weights))

    def risk_equivalent_age(
        self,
        log_rr: np.ndarray | float,
        *,
        years: int,
        benchmark_risk: float,
        min_age: int | None = None,
        max_age: int | None = None,
    ) -> np.ndarray:
        """First age at which each person's ``years``-year risk reaches ``benchmark_risk``.

        Parameters
        ----------
        log_rr
            Log relative risk of each person.
        years
            Risk horizon (e.g. 10).
        benchmark_risk
            The risk to reach, e.g. ``population_risk(age_start=50, years=10)`` (the average
            risk at the standard screening start age).
        min_age, max_age
            Ages searched (default: the rate tables' range that fits the horizon).

        Returns
        -------
        numpy.ndarray
            Age in whole years; NaN when the benchmark is not reached within the ages searched
            (and ``min_age`` when it is already reached there).
        """
        lrr = np.atleast_1d(np.asarray(log_rr, dtype=float))
        lo = int(self.ages[0]) if min_age is None else int(min_age)
        hi = int(self.ages[-1]) - int(years) + 1 if max_age is None else int(max_age)
        if hi < lo:
            raise CalibrationError(f"no age between {lo} and {hi} to search")
        candidate_ages = np.arange(lo, hi + 1)
        grid = self.risk(
            lrr[:, None], age_start=candidate_ages[None, :], years=np.full(1, int(years))
        )
        reached = grid >= benchmark_risk
        first = np.argmax(reached, axis=1)
        out = candidate_ages[first].astype(float)
        out[~reached.any(axis=1)] = np.nan
        return out.reshape(np.shape(log_rr)) if np.ndim(log_rr) else out


def baseline_hazard(
    marginal_incidence: np.ndarray,
    *,
    population_log_rr: np.ndarray,
    population_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Derive the baseline hazard that reproduces the marginal incidence (iCARE's step).

    Parameters
    ----------
    marginal_incidence
        Registry incidence per person-year at consecutive ages, from the first age onwards
        (everyone is disease-free at the first age).
    population_log_rr
        Log relative risks of the population (a reference sample or quadrature nodes).
    population_weights
        Weights of those (default equal).

    Returns
    -------
    numpy.ndarray
        ``lambda0`` at each age: ``lambda_m(t) / E[rr | disease-free at t]``.
    """
    lam_m = np.asarray(marginal_incidence, dtype=float)
    lrr = np.asarray(population_log_rr, dtype=float)
    w = np.ones_like(lrr) if population_weights is None else np.asarray(population_weights, float)
    w = w / w.sum()
    rr = np.exp(lrr)
    out = np.empty_like(lam_m)
    cumulative = 0.0
    for t, rate in enumerate(lam_m):
        survival = w * np.exp(-rr * cumulative)
        expected_rr = float(np.sum(survival * rr) / np.sum(survival))
        out[t] = rate / expected_rr
        cumulative += out[t]
    return out


def fit_absolute_risk_model(
    incidence: str | os.PathLike[str] | RateTable = DEFAULT_INCIDENCE,
    mortality: str | os.PathLike[str] | RateTable | None = DEFAULT_MORTALITY,
    *,
    or_per_sd: float | None = None,
    population_log_rr: np.ndarray | None = None,
    population_weights: np.ndarray | None = None,
) -> AbsoluteRiskModel:
    """Derive the baseline hazard for a population and return a ready absolute-risk model.

    Parameters
    ----------
    incidence
        Age-specific incidence (shipped name, CSV path or RateTable); default the shipped US
        SEER female breast cancer incidence (iCARE example data).
    mortality
        Competing mortality (same forms), default the shipped US female mortality from causes
        other than breast cancer; None ignores competing death.
    or_per_sd
        OR/HR per SD of a normal score: the population is ``N(0, 1)`` (Gauss-Hermite nodes).
    population_log_rr, population_weights
        Alternatively, the population's log relative risks (e.g. of the reference samples, or
        of percentile bands with the bands' widths as weights).

    Raises
    ------
    CalibrationError
        Neither or both of ``or_per_sd`` and ``population_log_rr`` given.

    Examples
    --------
    >>> model = fit_absolute_risk_model(or_per_sd=1.61)
    >>> r = model.risk([0.0, 0.5], age_start=40, years=10)
    >>> bool(r[1] > r[0])
    True
    """
    if (or_per_sd is None) == (population_log_rr is None):
        raise CalibrationError("give exactly one of or_per_sd and population_log_rr")
    if or_per_sd is not None:
        population_log_rr, population_weights = normal_population(or_per_sd)
    assert population_log_rr is not None
    inc = load_rate_table(incidence)
    mort = None if mortality is None else load_rate_table(mortality)
    first = inc.first_age
    last = inc.last_age if mort is None else min(inc.last_age, mort.last_age)
    if mort is not None and mort.first_age > first:
        raise CalibrationError(
            f"mortality table {mort.name} starts at {mort.first_age}, after the incidence table "
            f"{inc.name} ({first}); cover the same ages from the start"
        )
    ages = np.arange(first, last + 1)
    lam_m = inc.rates[: ages.size]
    mort_rates = (
        np.zeros(ages.size)
        if mort is None
        else mort.rates[first - mort.first_age : first - mort.first_age + ages.size]
    )
    weights = (
        np.full(np.size(population_log_rr), 1.0 / np.size(population_log_rr))
        if population_weights is None
        else np.asarray(population_weights, dtype=float) / np.sum(population_weights)
    )
    lam0 = baseline_hazard(lam_m, population_log_rr=population_log_rr, population_weights=weights)
    return AbsoluteRiskModel(
        ages=ages,
        marginal_incidence=lam_m,
        baseline_hazard=lam0,
        mortality=mort_rates,
        population_log_rr=np.asarray(population_log_rr, dtype=float),
        population_weights=weights,
        incidence_name=inc.name,
        mortality_name=None if mort is None else mort.name,
    )


def absolute_risk(
    relative_risk: np.ndarray | Sequence[float] | float,
    *,
    age: np.ndarray | Sequence[float] | float,
    years: int | None = None,
    to_age: int | None = None,
    or_per_sd: float,
    incidence: str | os.PathLike[str] | RateTable = DEFAULT_INCIDENCE,
    mortality: str | os.PathLike[str] | RateTable | None = DEFAULT_MORTALITY,
) -> np.ndarray:
    """Absolute risk for people with a normal score's relative risks, in one call.

    Parameters
    ----------
    relative_risk
        Relative risk of each person (population average 1), e.g. from
        :func:`~prs.calibrate.relative_risk_per_sd`.
    age
        Current age of each person (completed years).
    years, to_age
        The horizon: ``years`` (e.g. 5 or 10), or up to ``to_age`` (e.g. 80 for "lifetime").
    or_per_sd
        OR per SD used for the relative risks (defines the population for the baseline).
    incidence, mortality
        As for :func:`fit_absolute_risk_model`.

    Examples
    --------
    >>> r = absolute_risk([1.0], age=50, years=10, or_per_sd=1.61)
    >>> bool(0.01 < r[0] < 0.05)
    True
    """
    if (years is None) == (to_age is None):
        raise CalibrationError("give exactly one of years and to_age")
    model = fit_absolute_risk_model(incidence, mortality, or_per_sd=or_per_sd)
    ages = np.asarray(age, dtype=float)
    span = np.floor(to_age - np.floor(ages)) if to_age is not None else np.asarray(years)
    return model.risk(np.log(np.asarray(relative_risk, dtype=float)), age_start=ages, years=span)


def _data_dir() -> Path:
    return Path(str(resources.files("prs") / "data" / "incidence"))
