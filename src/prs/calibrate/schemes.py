"""Risk-category schemes and prevention pathways, read from TOML data files.

A scheme names a measure (absolute risk over an age interval, percentile, or relative risk)
and cuts it into labelled bands with explicit boundary inclusivity. A pathway maps each
category label of a scheme to a recommended action. Shipped files live in
``prs/data/schemes`` and ``prs/data/pathways`` and cite their published source; users pass
their own file path instead of a name. The file formats are documented in
``docs/calibrate.md``.
"""

from __future__ import annotations

import itertools
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from prs.calibrate._inputs import shipped_names, shipped_or_path
from prs.calibrate.absolute import MAX_AGE
from prs.errors import CalibrationError

MeasureKind = Literal["absolute_risk", "percentile", "relative_risk"]

#: What a scheme (or pathway) rests on, stated by every shipped file's ``kind``:
#: a published clinical guideline, a trial's protocol, a rule derived by this project from
#: published figures, or an illustration. Files without ``kind`` are "unstated".
SCHEME_KINDS = ("guideline", "trial protocol", "derived", "illustrative")

#: The risk window of an absolute-risk measure: a fixed age interval, the same for everybody
#: (NICE CG164: 40 to 50, lifetime from 20), or an interval starting at the person's current age.
WINDOWS = ("fixed", "from-current-age")

#: Ontology terms (EFO / MONDO) accepted for each cancer a shipped scheme, pathway or rate table
#: names. A score whose ``trait_efo`` shares a term with a scheme's cancer is a score for that
#: cancer; terms as the PGS Catalog maps its scores (breast carcinoma EFO_0000305, prostate
#: carcinoma EFO_0001663, colorectal cancer EFO_0005842) and their MONDO equivalents.
CANCER_TERMS: dict[str, tuple[str, ...]] = {
    "breast": ("EFO_0000305", "MONDO_0007254"),
    "prostate": ("EFO_0001663", "MONDO_0008315"),
    "colorectal": ("EFO_0005842", "MONDO_0005575", "EFO_1001951"),
    # lung carcinoma / lung cancer: the shipped lung rate tables declare the same terms
    "lung": ("EFO_0001071", "MONDO_0008903"),
}

#: Whom a scheme, pathway or rate table applies to.
SEXES = ("female", "male", "any")


def cancer_terms(cancer: str, declared: Any = None, where: str = "") -> tuple[str, ...]:
    """The ontology terms of a cancer: the file's own ``cancer_efo`` list, else
    :data:`CANCER_TERMS` for a known name, else () (``any`` or an unknown name: not checkable).
    """
    if declared is not None:
        if isinstance(declared, str):
            declared = [t for t in declared.replace(",", "|").split("|")]
        terms = tuple(str(t).strip().replace(":", "_") for t in declared if str(t).strip())
        if not terms:
            raise CalibrationError(f"{where}: cancer_efo is empty")
        return terms
    return CANCER_TERMS.get(cancer.strip().lower(), ())


def same_cancer(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """True when two term lists share a term (both non-empty)."""
    return bool(set(a) & set(b))


def _sex(doc: Mapping[str, Any], where: str) -> str:
    sex = str(doc.get("sex", "any")).strip().lower()
    if sex not in SEXES:
        raise CalibrationError(f"{where}: sex {sex!r} is not one of {', '.join(SEXES)}")
    return sex


@dataclass(frozen=True)
class Band:
    """One category: values between ``lower`` and ``upper`` (inclusivity explicit)."""

    label: str
    lower: float = -math.inf
    upper: float = math.inf
    lower_inclusive: bool = True
    upper_inclusive: bool = False

    def contains(self, values: np.ndarray) -> np.ndarray:
        above = values >= self.lower if self.lower_inclusive else values > self.lower
        below = values <= self.upper if self.upper_inclusive else values < self.upper
        return above & below

    def describe(self) -> str:
        lo = "[" if self.lower_inclusive else "("
        hi = "]" if self.upper_inclusive else ")"
        return f"{self.label}: {lo}{self.lower:g}, {self.upper:g}{hi}"


@dataclass(frozen=True)
class Measure:
    """What a scheme categorises.

    Attributes
    ----------
    kind
        ``absolute_risk`` (percent), ``percentile`` (0-100) or ``relative_risk``.
    from_age
        Absolute risk only: a fixed start age (``window = "fixed"``: 40 for NICE's risk between
        40 and 50, 20 for NICE lifetime risk) or None for the person's current age
        (``window = "from-current-age"``).
    years, to_age
        Absolute risk only: the horizon, ``years`` from the start or up to ``to_age`` (with
        ``from-current-age``, ``to_age`` gives the remaining lifetime risk).
    applies_from_age, applies_to_age
        Ages (inclusive, completed years) the scheme applies to. A scheme with either bound
        is *age-bounded*: a person outside its ages, or whose age is unknown, gets no
        category (``category_note`` says why), whatever the measure.
    """

    kind: MeasureKind
    from_age: int | None = None
    years: int | None = None
    to_age: int | None = None
    applies_from_age: float | None = None
    applies_to_age: float | None = None

    @property
    def age_bounded(self) -> bool:
        """True when the scheme applies to some ages only."""
        return self.applies_from_age is not None or self.applies_to_age is not None

    @property
    def window(self) -> str | None:
        """``fixed`` or ``from-current-age`` for absolute risk, None otherwise."""
        if self.kind != "absolute_risk":
            return None
        return "from-current-age" if self.from_age is None else "fixed"

    def describe(self) -> str:
        if self.kind != "absolute_risk":
            return self.kind.replace("_", " ")
        if self.from_age is None:
            if self.years:
                return f"absolute risk (%) {self.years}-year from current age"
            return f"absolute risk (%) from current age to age {self.to_age} (remaining lifetime)"
        end = self.to_age if self.to_age is not None else self.from_age + int(self.years or 0)
        return f"absolute risk (%) between ages {self.from_age} and {end} (fixed window)"


@dataclass(frozen=True)
class CategoryScheme:
    """A named, sourced cut of one measure into categories."""

    name: str
    title: str
    cancer: str
    source: str
    measure: Measure
    bands: tuple[Band, ...]
    default_pathway: str | None = None
    url: str = ""
    notes: str = ""
    kind: str = "unstated"
    #: The cancer's ontology terms (EFO/MONDO); () for ``cancer = "any"``.
    cancer_efo: tuple[str, ...] = ()
    #: Whom the scheme applies to: female, male or any.
    sex: str = "any"

    def assign(self, values: np.ndarray) -> np.ndarray:
        """Return each value's category label (None for NaN).

        Examples
        --------
        >>> s = load_scheme("nice-cg164-lifetime")
        >>> s.assign(np.array([16.99, 17.0, 29.99, 30.0])).tolist()
        ['near-population', 'moderate', 'moderate', 'high']
        """
        x = np.asarray(values, dtype=float)
        out = np.full(x.shape, None, dtype=object)
        for band in self.bands:
            out[band.contains(x) & np.isfinite(x)] = band.label
        return out

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(b.label for b in self.bands)


@dataclass(frozen=True)
class PathwayStage:
    """One age interval of an action (e.g. annual mammography 40-49, then 3-yearly 50-71)."""

    action: str
    screening_start_age: float | str | None = None
    screening_end_age: float | None = None
    interval_years: float | None = None
    modality: str | None = None


@dataclass(frozen=True)
class PathwayAction:
    """The recommended action for one category.

    The screening fields describe the first stage; ``stages`` (optional, in age order) holds
    every stage when the action changes with age. ``referral`` and ``chemoprevention`` hold
    for the category whatever the age (chemoprevention with the conditions its text states).
    """

    action: str
    screening_start_age: float | str | None = None
    screening_end_age: float | None = None
    interval_years: float | None = None
    modality: str | None = None
    referral: str | None = None
    chemoprevention: str | None = None
    stages: tuple[PathwayStage, ...] = ()

    def all_stages(self) -> tuple[PathwayStage, ...]:
        """The stages, or the action itself as its only stage."""
        if self.stages:
            return self.stages
        return (
            PathwayStage(
                action=self.action,
                screening_start_age=self.screening_start_age,
                screening_end_age=self.screening_end_age,
                interval_years=self.interval_years,
                modality=self.modality,
            ),
        )


@dataclass(frozen=True)
class Pathway:
    """Category label -> recommended action, for one cancer, with its source.

    ``benchmark_age``/``benchmark_years`` (optional) define the risk-equivalent start age: an
    action with ``screening_start_age = "risk-equivalent"`` starts at the first age at which
    the person's ``benchmark_years``-year risk reaches the population-average risk at
    ``benchmark_age``.
    """

    name: str
    title: str
    cancer: str
    source: str
    actions: Mapping[str, PathwayAction]
    benchmark_age: int | None = None
    benchmark_years: int | None = None
    url: str = ""
    notes: str = ""
    kind: str = "unstated"
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: The cancer's ontology terms (EFO/MONDO); () when not stated.
    cancer_efo: tuple[str, ...] = ()
    #: Whom the pathway applies to: female, male or any.
    sex: str = "any"


def available_schemes() -> dict[str, str]:
    """Return the shipped schemes: name -> kind, title, measure and source."""
    return {
        s.name: f"[{s.kind}] {s.title} ({s.measure.describe()}) — {s.source}"
        for s in (load_scheme(name) for name in shipped_names(_data("schemes"), ".toml"))
    }


def available_pathways() -> dict[str, str]:
    """Return the shipped pathways: name -> kind, title and source."""
    return {
        p.name: f"[{p.kind}] {p.title} — {p.source}"
        for p in (load_pathway(name) for name in shipped_names(_data("pathways"), ".toml"))
    }


def load_scheme(scheme: str | os.PathLike[str] | CategoryScheme) -> CategoryScheme:
    """Load a category scheme by shipped name or from a TOML file.

    Raises
    ------
    CalibrationError
        Unknown name, malformed file, or bands that leave gaps, overlap or are out of order.
    """
    if isinstance(scheme, CategoryScheme):
        return scheme
    doc, where = _read_toml(scheme, "schemes")
    try:
        measure = _measure(doc["measure"], where)
        bands = tuple(
            Band(
                label=str(b["label"]),
                lower=float(b.get("lower", -math.inf)),
                upper=float(b.get("upper", math.inf)),
                lower_inclusive=bool(b.get("lower_inclusive", True)),
                upper_inclusive=bool(b.get("upper_inclusive", False)),
            )
            for b in doc["category"]
        )
        result = CategoryScheme(
            name=str(doc.get("name", Path(where).stem)),
            title=str(doc.get("title", "")),
            cancer=str(doc.get("cancer", "")),
            source=str(doc["source"]),
            measure=measure,
            bands=bands,
            default_pathway=doc.get("pathway"),
            url=str(doc.get("url", "")),
            notes=str(doc.get("notes", "")),
            kind=_kind(doc, where),
            cancer_efo=cancer_terms(str(doc.get("cancer", "")), doc.get("cancer_efo"), where),
            sex=_sex(doc, where),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"{where}: malformed scheme ({exc!r} missing or wrong)") from exc
    _check_bands(result.bands, where)
    return result


def _measure(m: Mapping[str, Any], where: str) -> Measure:
    """A scheme's ``[measure]``: its kind, window and the ages it applies to, checked.

    Raises KeyError, TypeError or ValueError on a malformed table (:func:`load_scheme`
    names the file).
    """
    kind = m["kind"]
    if kind not in ("absolute_risk", "percentile", "relative_risk"):
        raise CalibrationError(
            f"{where}: measure.kind '{kind}' is not absolute_risk, percentile or relative_risk"
        )
    from_age = _window(m, kind, where)
    measure = Measure(
        kind=kind,
        from_age=from_age,
        years=None if m.get("years") is None else int(m["years"]),
        to_age=None if m.get("to_age") is None else int(m["to_age"]),
        applies_from_age=_age_bound(m, "applies_from_age", where),
        applies_to_age=_age_bound(m, "applies_to_age", where),
    )
    if (
        measure.applies_from_age is not None
        and measure.applies_to_age is not None
        and measure.applies_from_age > measure.applies_to_age
    ):
        raise CalibrationError(
            f"{where}: measure.applies_from_age {measure.applies_from_age:g} is above "
            f"applies_to_age {measure.applies_to_age:g}"
        )
    if kind == "absolute_risk" and (measure.years is None) == (measure.to_age is None):
        raise CalibrationError(f"{where}: measure needs exactly one of 'years' and 'to_age'")
    return measure


def load_pathway(pathway: str | os.PathLike[str] | Pathway) -> Pathway:
    """Load a prevention pathway by shipped name or from a TOML file.

    Raises
    ------
    CalibrationError
        Unknown name or malformed file.
    """
    if isinstance(pathway, Pathway):
        return pathway
    doc, where = _read_toml(pathway, "pathways")
    try:
        actions = {}
        for label, a in doc["actions"].items():
            actions[str(label)] = _action(a)
            _check_stages(actions[str(label)], str(label), where)
        bench = doc.get("benchmark", {})
        result = Pathway(
            name=str(doc.get("name", Path(where).stem)),
            title=str(doc.get("title", "")),
            cancer=str(doc.get("cancer", "")),
            source=str(doc["source"]),
            actions=actions,
            benchmark_age=bench.get("age"),
            benchmark_years=bench.get("years"),
            url=str(doc.get("url", "")),
            notes=str(doc.get("notes", "")),
            kind=_kind(doc, where),
            cancer_efo=cancer_terms(str(doc.get("cancer", "")), doc.get("cancer_efo"), where),
            sex=_sex(doc, where),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CalibrationError(f"{where}: malformed pathway ({exc!r} missing or wrong)") from exc
    needs_benchmark = any(a.screening_start_age == "risk-equivalent" for a in actions.values())
    if needs_benchmark and (result.benchmark_age is None or result.benchmark_years is None):
        raise CalibrationError(
            f"{where}: an action starts at the 'risk-equivalent' age but [benchmark] age/years "
            "are not given"
        )
    return result


def _action(a: Mapping[str, Any]) -> PathwayAction:
    """A pathway's ``[actions.<label>]``: screening defaults from its first stage.

    Raises KeyError, TypeError, ValueError or AttributeError on a malformed table
    (:func:`load_pathway` names the file).
    """
    stages = tuple(
        PathwayStage(
            action=str(st["action"]),
            screening_start_age=st.get("screening_start_age"),
            screening_end_age=st.get("screening_end_age"),
            interval_years=st.get("interval_years"),
            modality=st.get("modality"),
        )
        for st in a.get("stage", ())
    )
    first = stages[0] if stages else None
    return PathwayAction(
        action=str(a["action"]),
        screening_start_age=a.get("screening_start_age", first and first.screening_start_age),
        screening_end_age=a.get("screening_end_age", first and first.screening_end_age),
        interval_years=a.get("interval_years", first and first.interval_years),
        modality=a.get("modality", first and first.modality),
        referral=a.get("referral"),
        chemoprevention=a.get("chemoprevention"),
        stages=stages,
    )


def _kind(doc: Mapping[str, Any], where: str) -> str:
    """The file's ``kind`` (one of :data:`SCHEME_KINDS`), "unstated" when absent."""
    kind = doc.get("kind")
    if kind is None:
        return "unstated"
    if kind not in SCHEME_KINDS:
        raise CalibrationError(
            f"{where}: kind {kind!r} is not one of {', '.join(map(repr, SCHEME_KINDS))}"
        )
    return str(kind)


def _window(measure: Mapping[str, Any], kind: str, where: str) -> int | None:
    """The fixed start age of an absolute-risk window, None for the current age.

    ``window = "fixed"`` needs a numeric ``from_age``; ``window = "from-current-age"`` takes
    none (or ``"current"``). Without ``window`` (files older than it) the start age decides.
    """
    window = measure.get("window")
    from_age = measure.get("from_age", "current")
    if window is not None and window not in WINDOWS:
        raise CalibrationError(
            f"{where}: measure.window {window!r} is not one of {', '.join(map(repr, WINDOWS))}"
        )
    if window is not None and kind != "absolute_risk":
        raise CalibrationError(f"{where}: measure.window is for absolute_risk, not {kind}")
    if window == "fixed" and (isinstance(from_age, str) or from_age is None):
        raise CalibrationError(
            f'{where}: measure.window = "fixed" needs from_age = <age> (e.g. 40), '
            f"found {from_age!r}"
        )
    if window == "from-current-age" and from_age != "current":
        raise CalibrationError(
            f'{where}: measure.window = "from-current-age" starts at the current age; '
            f'remove from_age = {from_age!r} (or use window = "fixed")'
        )
    if from_age == "current":
        return None
    if isinstance(from_age, bool) or not isinstance(from_age, int | float):
        raise CalibrationError(f"{where}: measure.from_age {from_age!r} is not an age")
    return int(from_age)


def _check_stages(action: PathwayAction, label: str, where: str) -> None:
    """Stages in age order, each with numeric ages where given (no overlaps)."""
    previous_end = -math.inf
    for stage in action.stages:
        start, end = stage.screening_start_age, stage.screening_end_age
        if isinstance(start, str) and start != "risk-equivalent":
            raise CalibrationError(
                f"{where}: actions.{label} stage '{stage.action}': screening_start_age "
                f"{start!r} is not an age or 'risk-equivalent'"
            )
        lo = start if isinstance(start, int | float) else None
        if lo is not None and lo <= previous_end:
            raise CalibrationError(
                f"{where}: actions.{label} stages overlap or are out of age order at "
                f"'{stage.action}' (starts at {lo:g}, the previous stage ends at "
                f"{previous_end:g})"
            )
        if end is not None:
            previous_end = float(end)


def _age_bound(measure: Mapping[str, Any], key: str, where: str) -> float | None:
    """An optional age bound of a scheme: a number of years within 0-:data:`MAX_AGE`, or absent."""
    value = measure.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalibrationError(f"{where}: measure.{key} {value!r} is not a number of years")
    if not (math.isfinite(value) and 0 <= value <= MAX_AGE):
        raise CalibrationError(f"{where}: measure.{key} {value!r} is not an age within 0-{MAX_AGE}")
    return float(value)


def _check_bands(bands: tuple[Band, ...], where: str) -> None:
    if not bands:
        raise CalibrationError(f"{where}: no [[category]] entries")
    labels = [b.label for b in bands]
    if len(set(labels)) != len(labels):
        raise CalibrationError(f"{where}: category labels repeat ({labels})")
    for band in bands:
        if not band.lower <= band.upper:
            raise CalibrationError(f"{where}: category {band.describe()} has lower > upper")
    for prev, nxt in itertools.pairwise(bands):
        if prev.upper != nxt.lower:
            raise CalibrationError(
                f"{where}: categories '{prev.label}' and '{nxt.label}' leave a gap or overlap "
                f"({prev.upper:g} vs {nxt.lower:g}); list them in increasing order, each "
                "starting where the previous ends"
            )
        if prev.upper_inclusive == nxt.lower_inclusive:
            state = "both include" if prev.upper_inclusive else "neither includes"
            raise CalibrationError(
                f"{where}: at {prev.upper:g}, '{prev.label}' and '{nxt.label}' {state} the "
                "boundary; exactly one must (set upper_inclusive / lower_inclusive)"
            )


def _data(kind: str) -> Path:
    return Path(str(resources.files("prs") / "data" / kind))


def _read_toml(spec: str | os.PathLike[str], kind: str) -> tuple[dict[str, Any], str]:
    path, _ = shipped_or_path(
        spec, _data(kind), ".toml", what=kind[:-1], instead="a TOML file path"
    )
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh), str(path)
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"{path}: not valid TOML ({exc})") from exc
