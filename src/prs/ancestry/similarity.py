"""Most similar reference population of each person, from principal components.

The method is the PGS Catalog Calculator's (pgsc_calc ``--run_ancestry``; pgscatalog-calc 0.3.1,
``pgscatalog.calc.lib._ancestry.tools.compare_ancestry``), re-implemented here:

* a random forest (scikit-learn ``RandomForestClassifier`` with its default settings: 100 trees,
  Gini impurity, bootstrap, ``sqrt`` features per split) is trained on the first ``n_pcs`` PCs
  (default 5, as ``--n_popcomp``) of the **unrelated** reference samples, with the population
  labels (default ``SuperPop``) as classes; seed 32 as pgsc_calc's ``random_state``;
* ``RF_P_<POP>`` is the forest's probability of each population, ``MostSimilarPop`` the most
  probable one, ``MostSimilarPop_LowConfidence`` is true when that probability is below 0.5.

A trained forest predicts each row on its own, so a person's assignment does not depend on who
else is in the run: one person alone, a batch, or the whole cohort get the same answer (the
pgsc_calc issue #495 came from re-running the whole pipeline, PCA included, per batch).

prs adds a distance of each person from the reference cloud and a rule that declines to place
someone the reference does not cover (:class:`SupportRule`):

* ``Mahalanobis_dist``: the Mahalanobis distance (not squared) from the assigned population's
  unrelated reference samples (their mean and maximum-likelihood covariance in the same PCs),
  and ``Mahalanobis_P``, its chi-square tail probability with ``n_pcs`` degrees of freedom
  (pgsc_calc's Mahalanobis method uses ``n_pcs - 1``; ``n_pcs`` is the distribution of a squared
  distance of a ``n_pcs``-dimensional normal);
* ``knn_distance``: the mean Euclidean distance to the ``k`` (default 10) nearest unrelated
  reference samples, and ``knn_ratio``, that distance over the 99th percentile of the reference
  samples' own (leave-one-out) k-nearest-neighbour distances.

A forest always names a population, even for a person far from every reference sample; the
distances say how far that is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prs.errors import CalibrationError

#: PCs of the population comparison: 5, as pgsc_calc ``--n_popcomp``.
DEFAULT_N_PCS = 5
#: Seed of the random forest: 32, pgsc_calc's ``RandomForestClassifier(random_state=32)``.
DEFAULT_SEED = 32
#: Below this forest probability the assignment is low-confidence (pgsc_calc's RandomForest
#: threshold, ``comparison_method_threshold["RandomForest"]``).
LOW_CONFIDENCE = 0.5
#: Neighbours of the k-nearest-neighbour distance.
DEFAULT_K = 10
#: Quantile of the reference's own k-nearest-neighbour distances that ``knn_ratio`` divides by.
KNN_QUANTILE = 0.99

_ID_COLUMNS = ("sample_id", "IID", "#IID")


@dataclass(frozen=True)
class SupportRule:
    """When to decline a percentile to someone the reference does not cover.

    Each bound is optional (None: not applied); a person failing any bound is declined, with
    every failed bound in ``support_reason``.

    Attributes
    ----------
    min_mahalanobis_p
        Decline when ``Mahalanobis_P`` (to the assigned population) is below this (default
        None; 1e-10 is the threshold of pgsc_calc's Mahalanobis method). Strict: it declines
        people between two reference populations (315 of pgsc_calc's 929 HGDP test samples
        at 1e-10, against 1000 Genomes super-populations), so it is reported, not applied, by
        default.
    max_knn_ratio
        Decline when ``knn_ratio`` exceeds this (default 3: three times farther from the
        nearest reference samples than 99 % of reference samples are from theirs; 54 of the
        929 HGDP samples).
    min_probability
        Decline when the forest's probability of the assigned population is below this
        (default None: a low-confidence assignment is flagged, not declined, as pgsc_calc).

    Examples
    --------
    >>> SupportRule().describe()
    'knn_ratio <= 3'
    >>> SupportRule(min_mahalanobis_p=1e-10, max_knn_ratio=None, min_probability=0.5).describe()
    'Mahalanobis_P >= 1e-10; RF probability >= 0.5'
    """

    min_mahalanobis_p: float | None = None
    max_knn_ratio: float | None = 3.0
    min_probability: float | None = None

    def __post_init__(self) -> None:
        for name, low, high in (
            ("min_mahalanobis_p", 0.0, 1.0),
            ("max_knn_ratio", 0.0, math.inf),
            ("min_probability", 0.0, 1.0),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CalibrationError(f"support rule: {name} {value!r} is not a number")
            if not (low <= value <= high) or math.isnan(value):
                raise CalibrationError(f"support rule: {name} {value!r} is outside [{low}, {high}]")

    def describe(self) -> str:
        """The rule in words, for provenance and reports."""
        parts = []
        if self.min_mahalanobis_p is not None:
            parts.append(f"Mahalanobis_P >= {self.min_mahalanobis_p:g}")
        if self.max_knn_ratio is not None:
            parts.append(f"knn_ratio <= {self.max_knn_ratio:g}")
        if self.min_probability is not None:
            parts.append(f"RF probability >= {self.min_probability:g}")
        return "; ".join(parts) if parts else "none (every person placed)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_mahalanobis_p": self.min_mahalanobis_p,
            "max_knn_ratio": self.max_knn_ratio,
            "min_probability": self.min_probability,
        }


@dataclass(frozen=True)
class PopulationSimilarity:
    """Most similar reference population of each target sample (see the module notes).

    Attributes
    ----------
    sample_ids
        Target sample IDs, in input order.
    populations
        Population labels, in the order of the columns of ``probabilities`` (sorted, as the
        forest's classes).
    probabilities
        ``(samples, populations)`` forest probabilities (``RF_P_<POP>``).
    most_similar
        ``MostSimilarPop``: the most probable population.
    low_confidence
        ``MostSimilarPop_LowConfidence``: its probability is below 0.5.
    mahalanobis, mahalanobis_p
        Mahalanobis distance to the assigned population and its chi-square tail probability.
    knn_distance, knn_ratio
        Mean distance to the ``k`` nearest reference samples, and over the reference's own.
    supported
        False for people the :class:`SupportRule` declines to place.
    support_reason
        Why a person is declined ("" when supported).
    info
        Settings and reference counts (PCs, seed, trees, rule, samples per population).
    """

    sample_ids: np.ndarray
    populations: tuple[str, ...]
    probabilities: np.ndarray
    most_similar: np.ndarray
    low_confidence: np.ndarray
    mahalanobis: np.ndarray
    mahalanobis_p: np.ndarray
    knn_distance: np.ndarray
    knn_ratio: np.ndarray
    supported: np.ndarray
    support_reason: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def probability(self) -> np.ndarray:
        """The forest's probability of each person's assigned population."""
        column = {pop: i for i, pop in enumerate(self.populations)}
        index = np.array([column[p] for p in self.most_similar], dtype=np.intp)
        return self.probabilities[np.arange(index.size), index]

    def to_frame(self) -> pd.DataFrame:
        """One row per sample: ``sample_id``, ``RF_P_<POP>``..., ``MostSimilarPop``,
        ``MostSimilarPop_LowConfidence`` (pgsc_calc's names), then the distances and the
        support decision."""
        frame = pd.DataFrame({"sample_id": self.sample_ids})
        for i, pop in enumerate(self.populations):
            frame[f"RF_P_{pop}"] = self.probabilities[:, i]
        frame["MostSimilarPop"] = self.most_similar
        frame["MostSimilarPop_LowConfidence"] = self.low_confidence
        frame["Mahalanobis_dist"] = self.mahalanobis
        frame["Mahalanobis_P"] = self.mahalanobis_p
        frame["knn_distance"] = self.knn_distance
        frame["knn_ratio"] = self.knn_ratio
        frame["supported"] = self.supported
        frame["support_reason"] = self.support_reason
        return frame

    def for_samples(self, sample_ids: Iterable[str], where: str = "scores") -> np.ndarray:
        """Row index of each of ``sample_ids`` (CalibrationError naming the first absent)."""
        position = {sid: i for i, sid in enumerate(self.sample_ids)}
        ids = [str(s) for s in sample_ids]
        absent = [s for s in ids if s not in position]
        if absent:
            raise CalibrationError(
                f"{where}: {len(absent)} samples have no population assignment (no target "
                f"PCs), first {absent[0]}; project them onto the reference PCA"
            )
        return np.array([position[s] for s in ids], dtype=np.intp)


@dataclass(frozen=True)
class PopulationModel:
    """A random forest and distance model fitted on a reference panel's PCs.

    Fit once (:func:`fit_population_model`), then :meth:`assign` any number of targets, one
    at a time or together: the answers do not depend on the batch.
    """

    pcs: tuple[str, ...]
    populations: tuple[str, ...]
    forest: Any  # sklearn.ensemble.RandomForestClassifier, fitted
    means: np.ndarray  # (populations, pcs)
    inverse_covariances: np.ndarray  # (populations, pcs, pcs)
    train_pcs: np.ndarray  # (unrelated reference samples, pcs)
    knn_scale: float  # KNN_QUANTILE of the reference's own kNN distances
    k: int
    seed: int
    n_train: dict[str, int]
    n_related_dropped: int
    label: str

    def assign(
        self, target_pcs: pd.DataFrame, *, support: SupportRule | None = None
    ) -> PopulationSimilarity:
        """Most similar population, distances and support decision of each target sample.

        Parameters
        ----------
        target_pcs
            Target PCs projected onto the reference PCA: a sample ID column (``IID``,
            ``#IID`` or ``sample_id``) and the PC columns of :attr:`pcs`.
        support
            The rule declining people outside the reference (default :class:`SupportRule`).

        Raises
        ------
        CalibrationError
            PC columns missing, values not finite numbers, a sample ID repeated.
        """
        rule = SupportRule() if support is None else support
        ids, x = _pc_matrix(target_pcs, self.pcs, "target PCs")
        probabilities = np.asarray(self.forest.predict_proba(x), dtype=float)
        classes = tuple(str(c) for c in self.forest.classes_)
        assert classes == self.populations
        # predict() is the argmax of predict_proba (first class on ties), as pgsc_calc's
        most = np.asarray(self.populations, dtype=object)[np.argmax(probabilities, axis=1)]
        probability = probabilities.max(axis=1) if len(ids) else np.zeros(0)
        which = np.argmax(probabilities, axis=1)
        centred = x - self.means[which]
        squared = np.einsum("ij,ijk,ik->i", centred, self.inverse_covariances[which], centred)
        mahalanobis = np.sqrt(np.maximum(squared, 0.0))
        from scipy import spatial, stats

        mahalanobis_p = stats.chi2.sf(squared, len(self.pcs))
        tree = spatial.cKDTree(self.train_pcs)
        k = min(self.k, self.train_pcs.shape[0])
        distance, _ = tree.query(x, k=k)
        knn = np.asarray(distance, dtype=float).reshape(len(ids), k).mean(axis=1)
        knn_ratio = knn / self.knn_scale
        reasons = _support_reasons(rule, most, probability, mahalanobis, mahalanobis_p, knn_ratio)
        return PopulationSimilarity(
            sample_ids=ids,
            populations=self.populations,
            probabilities=probabilities,
            most_similar=most.astype(str),
            low_confidence=probability < LOW_CONFIDENCE,
            mahalanobis=mahalanobis,
            mahalanobis_p=mahalanobis_p,
            knn_distance=knn,
            knn_ratio=knn_ratio,
            supported=reasons == "",
            support_reason=reasons,
            info={**self.to_dict(), "support_rule": rule.to_dict(), "support": rule.describe()},
        )

    def to_dict(self) -> dict[str, Any]:
        """Settings and counts, for provenance."""
        return {
            "method": "RandomForest on reference PCs (as pgsc_calc --run_ancestry)",
            "classifier": "sklearn.ensemble.RandomForestClassifier (default settings)",
            "n_estimators": int(self.forest.n_estimators),
            "seed": self.seed,
            "pcs": list(self.pcs),
            "label": self.label,
            "low_confidence_below": LOW_CONFIDENCE,
            "n_train": dict(self.n_train),
            "n_related_dropped": self.n_related_dropped,
            "knn_k": self.k,
            "knn_scale": self.knn_scale,
        }


def fit_population_model(
    ref_pcs: pd.DataFrame,
    ref_labels: Mapping[str, str] | pd.Series | pd.DataFrame,
    *,
    n_pcs: int = DEFAULT_N_PCS,
    related: Iterable[str] | None = None,
    seed: int = DEFAULT_SEED,
    label: str = "SuperPop",
    k: int = DEFAULT_K,
) -> PopulationModel:
    """Fit the population classifier and the distance model on a reference panel.

    Parameters
    ----------
    ref_pcs
        The reference panel's PCs: a sample ID column (``IID``, ``#IID`` or ``sample_id``;
        ``FID`` too if present) and ``PC1``, ``PC2``, ...
    ref_labels
        Population of each reference sample: a mapping or Series sample ID -> label, or a
        ``.psam``-like table with an ID column and the ``label`` column (as
        :func:`prs.ancestry.reference.read_population_labels` reads).
    n_pcs
        Leading PCs used (default 5, pgsc_calc ``--n_popcomp``).
    related
        Sample IDs of related reference samples (e.g. PLINK 2's ``king.cutoff.out.id``), left
        out of the training, as pgsc_calc does; matched against ``IID`` and, when present,
        ``FID`` (pgsc_calc matches the FID column).
    seed
        Random forest seed (default 32, as pgsc_calc).
    label
        Label column of a ``ref_labels`` table (default ``SuperPop``).
    k
        Neighbours of the k-nearest-neighbour distance (default 10).

    Raises
    ------
    CalibrationError
        Fewer than two populations, a population with fewer than ``n_pcs + 1`` unrelated
        samples (its covariance is singular), reference samples without a label, bad PCs.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> centres = {"A": (0.0, 0.0), "B": (10.0, 0.0)}
    >>> rows = [(f"{p}{i}", p, *(np.array(c) + rng.normal(size=2)))
    ...         for p, c in centres.items() for i in range(50)]
    >>> ref = pd.DataFrame(rows, columns=["IID", "pop", "PC1", "PC2"])
    >>> model = fit_population_model(ref, ref.set_index("IID")["pop"], n_pcs=2)
    >>> target = pd.DataFrame({"IID": ["x", "far"], "PC1": [9.5, 100.0], "PC2": [0.3, 0.0]})
    >>> out = model.assign(target).to_frame()
    >>> out["MostSimilarPop"].tolist(), out["supported"].tolist()
    (['B', 'B'], [True, False])
    """
    if not isinstance(n_pcs, int) or isinstance(n_pcs, bool) or n_pcs < 1:
        raise CalibrationError(f"n_pcs {n_pcs!r} must be an integer >= 1")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise CalibrationError(f"k {k!r} must be an integer >= 1")
    names = tuple(f"PC{i}" for i in range(1, n_pcs + 1))
    ids, x = _pc_matrix(ref_pcs, names, "reference PCs")
    labels = _labels(ref_labels, label).reindex(ids)
    if labels.isna().any():
        first = ids[np.flatnonzero(labels.isna().to_numpy())[0]]
        raise CalibrationError(
            f"reference labels: {int(labels.isna().sum())} reference samples with PCs have no "
            f"population label ({label}), first {first}"
        )
    keep = np.ones(ids.size, dtype=bool)
    if related is not None:
        drop = {str(r) for r in related}
        keep &= ~np.isin(ids, list(drop))
        if "FID" in ref_pcs.columns:
            keep &= ~ref_pcs["FID"].astype(str).isin(drop).to_numpy()
    y = labels.astype(str).to_numpy()[keep]
    train = x[keep]
    populations, counts = np.unique(y, return_counts=True)
    if populations.size < 2:
        raise CalibrationError(
            f"reference labels: {populations.size} population(s) among the unrelated reference "
            "samples; need at least 2 to compare"
        )
    small = populations[counts <= n_pcs]
    if small.size:
        raise CalibrationError(
            f"reference labels: population {small[0]} has {int(counts[counts <= n_pcs][0])} "
            f"unrelated samples; need more than {n_pcs} (one per PC) for its covariance"
        )
    from sklearn.ensemble import RandomForestClassifier  # (heavy: imported when fitted)

    forest = RandomForestClassifier(random_state=seed).fit(train, y)
    means = np.stack([train[y == p].mean(axis=0) for p in populations])
    inverse = []
    for p in populations:
        cov = np.atleast_2d(np.cov(train[y == p], rowvar=False, ddof=0))
        try:
            inverse.append(np.linalg.inv(cov))
        except np.linalg.LinAlgError as exc:
            raise CalibrationError(
                f"reference PCs: the covariance of population {p}'s PCs is singular ({exc})"
            ) from exc
    from scipy import spatial

    tree = spatial.cKDTree(train)
    kk = min(k, train.shape[0] - 1)
    distance, _ = tree.query(train, k=kk + 1)  # the first neighbour is the sample itself
    own = np.asarray(distance, dtype=float).reshape(train.shape[0], kk + 1)[:, 1:].mean(axis=1)
    scale = float(np.quantile(own, KNN_QUANTILE))
    if not scale > 0:
        raise CalibrationError("reference PCs: the reference samples' PCs are all equal")
    return PopulationModel(
        pcs=names,
        populations=tuple(str(p) for p in populations),
        forest=forest,
        means=means,
        inverse_covariances=np.stack(inverse),
        train_pcs=train,
        knn_scale=scale,
        k=kk,
        seed=seed,
        n_train={str(p): int(c) for p, c in zip(populations, counts, strict=True)},
        n_related_dropped=int((~keep).sum()),
        label=label,
    )


def most_similar_population(
    ref_pcs: pd.DataFrame,
    ref_labels: Mapping[str, str] | pd.Series | pd.DataFrame,
    target_pcs: pd.DataFrame,
    *,
    n_pcs: int = DEFAULT_N_PCS,
    related: Iterable[str] | None = None,
    seed: int = DEFAULT_SEED,
    label: str = "SuperPop",
    support: SupportRule | None = None,
) -> PopulationSimilarity:
    """Most similar reference population of each target sample, as pgsc_calc, with distances.

    :func:`fit_population_model` then :meth:`PopulationModel.assign`; see both for the
    parameters. Seeded: repeated runs, and runs of one person or of any batch, agree.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"IID": [f"s{i}" for i in range(40)],
    ...                     "PC1": [float(i % 2) * 5 + i / 40 for i in range(40)]})
    >>> labels = {f"s{i}": "AB"[i % 2] for i in range(40)}
    >>> target = pd.DataFrame({"IID": ["t"], "PC1": [5.4]})
    >>> most_similar_population(ref, labels, target, n_pcs=1).most_similar.tolist()
    ['B']
    """
    model = fit_population_model(
        ref_pcs, ref_labels, n_pcs=n_pcs, related=related, seed=seed, label=label
    )
    return model.assign(target_pcs, support=support)


def _labels(labels: Mapping[str, str] | pd.Series | pd.DataFrame, label: str) -> pd.Series:
    if isinstance(labels, pd.DataFrame):
        id_column = next((c for c in _ID_COLUMNS if c in labels.columns), None)
        if id_column is None:
            raise CalibrationError("population labels: no sample ID column (IID or #IID)")
        if label not in labels.columns:
            raise CalibrationError(
                f"population labels: no '{label}' column (columns: {list(labels.columns)})"
            )
        series = pd.Series(
            labels[label].astype(str).to_numpy(), index=labels[id_column].astype(str)
        )
    else:
        series = pd.Series(labels, dtype=object)
        series.index = series.index.astype(str)
    if series.index.has_duplicates:
        first = series.index[series.index.duplicated()][0]
        raise CalibrationError(f"population labels: sample {first} appears more than once")
    return series.replace("", np.nan)


def _pc_matrix(
    pcs: pd.DataFrame, names: tuple[str, ...], where: str
) -> tuple[np.ndarray, np.ndarray]:
    id_column = next((c for c in _ID_COLUMNS if c in pcs.columns), None)
    if id_column is None:
        raise CalibrationError(f"{where}: no sample ID column (IID or sample_id)")
    missing = [n for n in names if n not in pcs.columns]
    if missing:
        raise CalibrationError(f"{where}: missing PC column(s) {missing}")
    ids = pcs[id_column].astype(str).to_numpy()
    dup = pd.Index(ids).duplicated()
    if dup.any():
        raise CalibrationError(f"{where}: sample {ids[dup][0]} appears more than once")
    values = pcs[list(names)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise CalibrationError(
            f"{where}: {names[col]} {pcs[names[col]].iloc[row]!r} of sample {ids[row]} is not "
            "a finite number"
        )
    return ids, np.ascontiguousarray(values)


def _support_reasons(
    rule: SupportRule,
    most: np.ndarray,
    probability: np.ndarray,
    mahalanobis: np.ndarray,
    mahalanobis_p: np.ndarray,
    knn_ratio: np.ndarray,
) -> np.ndarray:
    reasons = np.full(most.size, "", dtype=object)
    for i in range(most.size):
        parts = []
        if rule.min_mahalanobis_p is not None and mahalanobis_p[i] < rule.min_mahalanobis_p:
            parts.append(
                f"Mahalanobis distance {mahalanobis[i]:.3g} from {most[i]} "
                f"(P {mahalanobis_p[i]:.2g} < {rule.min_mahalanobis_p:g})"
            )
        if rule.max_knn_ratio is not None and knn_ratio[i] > rule.max_knn_ratio:
            parts.append(
                f"{knn_ratio[i]:.3g} times as far from the nearest reference samples as 99% of "
                f"them are from theirs (> {rule.max_knn_ratio:g})"
            )
        if rule.min_probability is not None and probability[i] < rule.min_probability:
            parts.append(
                f"RF probability of {most[i]} {probability[i]:.2f} < {rule.min_probability:g}"
            )
        if parts:
            reasons[i] = "outside the reference's support: " + "; ".join(parts)
    return reasons.astype(str)
