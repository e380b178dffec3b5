"""Figures of a run: score distributions, match fates, ancestry PCs, calibration and ROC.

Each function returns a :class:`matplotlib.figure.Figure` (shown inline by Jupyter, saved with
``fig.savefig(...)``); ``prs report`` embeds the same figures in its HTML page
(:func:`to_data_uri`). The figures are made without :mod:`matplotlib.pyplot`: no global figure
registry, no interactive backend, nothing to close; PNG output renders through Agg.

matplotlib (the ``plot`` extra) is imported inside the functions, never by ``import prs`` or
``import prs.plot``: start-up time of the command line matters, and scoring never draws.

Examples
--------
>>> import numpy as np
>>> from prs import plot
>>> fig = plot.distribution(np.random.default_rng(1).normal(size=200), highlight={"me": 1.5})
>>> fig.axes[0].get_xlabel()
'score'
>>> plot.to_data_uri(fig).startswith("data:image/svg+xml;base64,")
True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from prs.errors import ReportError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from prs.calibrate.reference import Reference

__all__ = [
    "DEFAULT_PERCENTILES",
    "calibration",
    "categories",
    "distribution",
    "match_summary",
    "pca",
    "roc",
    "roc_points",
    "to_data_uri",
]

#: Percentiles marked on a distribution by default (dashed lines).
DEFAULT_PERCENTILES: tuple[float, ...] = (5.0, 50.0, 95.0)

#: Figure size in inches (width, height) of every figure; 100 dpi for PNG.
FIGSIZE = (6.4, 3.6)

#: Colours (the colour-blind-safe Okabe-Ito palette), cycled over populations and series.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)

#: Above this many points a scatter is drawn as an embedded image inside the SVG (a vector
#: circle per point would make the page megabytes for a biobank).
RASTER_POINTS = 2000


def _figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = FIGSIZE) -> Any:
    """A new Figure and its axes, without pyplot (the ``plot`` extra is needed)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is in the dev extra
        raise ReportError(
            "figures need matplotlib: pip install 'prs-risk[plot]' (or pip install matplotlib)"
        ) from exc
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, ncols)


def _square_with_diagonal(top: float, label: str) -> Any:
    """A new Figure for a rate-against-rate plot: both axes 0..``top`` and the dashed
    diagonal (``label``: what it stands for)."""
    fig, ax = _figure(figsize=(FIGSIZE[1] * 1.3, FIGSIZE[1] * 1.2))
    ax.plot([0, top], [0, top], color="#999999", linestyle="--", linewidth=1, label=label)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    return fig, ax


def _finish(
    fig: Figure,
    ax: Any,
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    legend: Mapping[str, Any] | None = None,
) -> Figure:
    """Label the axes, add the legend (``legend``: its options; none when None) and the
    title (left, when given); returns ``fig``."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if legend is not None:
        ax.legend(frameon=False, **legend)
    if title:
        ax.set_title(title, loc="left")
    return fig


def _finite(values: Any, what: str) -> np.ndarray:
    """``values`` as a 1-D float array; ReportError naming ``what`` when not all finite."""
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise ReportError(f"{what}: not numbers ({exc})") from exc
    bad = ~np.isfinite(array)
    if bad.any():
        raise ReportError(
            f"{what}: {int(bad.sum())} of {array.size} values are missing or not finite "
            f"(first at position {int(np.flatnonzero(bad)[0])})"
        )
    return array


def distribution(
    values: Sequence[float] | np.ndarray | pd.Series,
    *,
    reference: Reference | Sequence[float] | np.ndarray | None = None,
    highlight: Mapping[str, float] | None = None,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    bins: int | str = "auto",
    xlabel: str = "score",
    title: str | None = None,
) -> Figure:
    """Histogram of a score with the reference, the cohort's or a person's position.

    Parameters
    ----------
    values
        The scored samples' values (the cohort; a single value is a person and is drawn as a
        line, not a histogram).
    reference
        The reference distribution: a :class:`~prs.calibrate.Reference` (empirical values,
        or draws from its quantile table or normal parameters) or plain values. Drawn as a
        grey histogram behind the cohort; the percentile lines are then the reference's.
    highlight
        Named positions to mark with a vertical line (e.g. ``{"HG00096": 1.21}``).
    percentiles
        Percentiles (0-100) to mark with dashed lines: of the reference when given, else of
        ``values`` (default 5, 50, 95).
    bins
        Histogram bins, as :func:`numpy.histogram_bin_edges` takes them (``"auto"``).
    xlabel, title
        Axis label and title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: densities (each histogram integrates to 1, so a cohort of 100 and a
        reference of 2,500 compare).

    Raises
    ------
    ReportError
        A value missing or not finite; no values and no reference; matplotlib absent.
    """
    cohort = _finite(values, "values")
    ref = None if reference is None else _reference_values(reference)
    if cohort.size == 0 and (ref is None or ref.size == 0):
        raise ReportError("distribution: no values and no reference to draw")
    fig, ax = _figure()
    pooled = np.concatenate([cohort, ref if ref is not None else []])
    edges = np.histogram_bin_edges(pooled, bins=bins) if pooled.size > 1 else bins
    if ref is not None and ref.size:
        ax.hist(ref, bins=edges, density=True, color="#bbbbbb", label=f"reference (n={ref.size})")
    if cohort.size > 1:
        ax.hist(
            cohort,
            bins=edges,
            density=True,
            color=PALETTE[0],
            alpha=0.6 if ref is not None else 0.9,
            label=f"scored samples (n={cohort.size})",
        )
    elif cohort.size == 1:
        ax.axvline(
            cohort[0], color=PALETTE[5], linewidth=2.5, label=f"this sample ({cohort[0]:.4g})"
        )
    basis = ref if ref is not None and ref.size else cohort
    for level in percentiles:
        ax.axvline(
            float(np.percentile(basis, level)), color="#444444", linestyle="--", linewidth=0.8
        )
        ax.annotate(
            f"{level:g}%",
            (float(np.percentile(basis, level)), 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            ha="center",
            va="bottom",
        )
    for i, (name, position) in enumerate((highlight or {}).items()):
        ax.axvline(float(position), color=PALETTE[(i + 1) % len(PALETTE)], linewidth=2, label=name)
    return _finish(
        fig, ax, xlabel=xlabel, ylabel="density", title=title,
        legend={"fontsize": 7, "loc": "upper right"},
    )  # fmt: skip


def _reference_values(reference: Any) -> np.ndarray:
    """The values describing a reference: a Reference's own sample (or draws), or values."""
    if hasattr(reference, "pseudo_sample"):
        return _finite(reference.pseudo_sample(), "reference")
    return _finite(reference, "reference")


def match_summary(
    counts: Mapping[str, int] | pd.Series,
    *,
    names: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Horizontal bars: how many scoring-file rows had each fate.

    Parameters
    ----------
    counts
        Rows per outcome (a row of ``match_summary.tsv``; only the outcome columns are
        drawn: ``n_rows``, ``match_rate``, ``score`` and ``sampleset`` are left out).
    names
        A second name per outcome shown beside prs's (e.g. pgsc_calc's), when known.
    title
        Title (e.g. the score ID).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = match_summary({"matched": 272, "excluded_ambiguous": 8, "unmatched_no_site": 20})
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['matched', 'excluded_ambiguous', 'unmatched_no_site']
    """
    skip = {"score", "sampleset", "n_rows", "match_rate"}
    items = [(str(k), int(v)) for k, v in dict(counts).items() if k not in skip]
    fig, ax = _figure(figsize=(FIGSIZE[0], 0.35 * len(items) + 1.0))
    labels = [k if not names or not names.get(k) else f"{k} ({names[k]})" for k, _ in items]
    heights = [v for _, v in items]
    colours = [
        PALETTE[2] if k == "matched" else PALETTE[1] if k.startswith("excluded") else PALETTE[5]
        for k, _ in items
    ]
    bars = ax.barh(range(len(items)), heights, color=colours)
    ax.set_yticks(range(len(items)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"{v:,}" for v in heights], fontsize=8, padding=2)
    ax.margins(x=0.15)
    return _finish(fig, ax, xlabel="scoring-file rows", title=title)


def categories(counts: Mapping[str, int] | pd.Series, *, title: str | None = None) -> Figure:
    """Bars: how many people each risk category holds (in the order given).

    Parameters
    ----------
    counts
        People per category (``categories.tsv``'s ``category`` counted; "no category" for
        people the scheme does not place).
    title
        Title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    items = [(str(k), int(v)) for k, v in dict(counts).items()]
    fig, ax = _figure()
    bars = ax.bar(range(len(items)), [v for _, v in items], color=PALETTE[0])
    ax.set_xticks(range(len(items)), [k for k, _ in items], fontsize=8)
    ax.bar_label(bars, labels=[f"{v:,}" for _, v in items], fontsize=8, padding=2)
    ax.margins(y=0.15)
    return _finish(fig, ax, ylabel="people", title=title)


def pca(
    pcs: pd.DataFrame,
    *,
    x: str = "PC1",
    y: str = "PC2",
    population: str | None = None,
    reference: pd.DataFrame | None = None,
    reference_population: str | None = None,
    title: str | None = None,
) -> Figure:
    """Scatter of two principal components: the reference panel by population, the targets.

    Parameters
    ----------
    pcs
        The scored samples' PCs (``prs reference project``'s table: ``IID``, ``PC1``...).
    x, y
        The columns to plot (``PC1``, ``PC2``).
    population
        Column of ``pcs`` colouring the targets (e.g. ``MostSimilarPop``); one colour
        otherwise.
    reference
        The reference panel's PCs, drawn small and grey or coloured by
        ``reference_population`` (e.g. ``SuperPop``), under the targets.
    reference_population
        Column of ``reference`` naming each reference sample's population.
    title
        Title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ReportError
        ``x`` or ``y`` absent from a table, or not finite numbers.
    """
    for name, table in (("pcs", pcs), ("reference", reference)):
        if table is not None:
            absent = [c for c in (x, y) if c not in table.columns]
            if absent:
                raise ReportError(
                    f"pca: {name} has no column {', '.join(absent)} "
                    f"(columns: {', '.join(map(str, table.columns))})"
                )
    fig, ax = _figure(figsize=(FIGSIZE[0], FIGSIZE[0] * 0.75))
    colour_of: dict[str, str] = {}

    def colour(label: str) -> str:
        return colour_of.setdefault(label, PALETTE[len(colour_of) % len(PALETTE)])

    if reference is not None:
        rx, ry = _finite(reference[x], f"reference {x}"), _finite(reference[y], f"reference {y}")
        raster = rx.size > RASTER_POINTS
        if reference_population and reference_population in reference.columns:
            labels = reference[reference_population].astype(str).to_numpy()
            for label in sorted(set(labels)):
                keep = labels == label
                ax.scatter(
                    rx[keep],
                    ry[keep],
                    s=6,
                    alpha=0.35,
                    color=colour(label),
                    label=f"{label} (reference)",
                    rasterized=raster,
                )
        else:
            ax.scatter(
                rx, ry, s=6, alpha=0.35, color="#999999", label="reference", rasterized=raster
            )
    tx, ty = _finite(pcs[x], f"{x}"), _finite(pcs[y], f"{y}")
    raster = tx.size > RASTER_POINTS
    if population and population in pcs.columns:
        labels = pcs[population].astype(str).to_numpy()
        for label in sorted(set(labels)):
            keep = labels == label
            ax.scatter(
                tx[keep],
                ty[keep],
                s=22,
                marker="x",
                color=colour(label),
                label=f"{label} (scored)",
                rasterized=raster,
            )
    else:
        ax.scatter(
            tx,
            ty,
            s=22,
            marker="x",
            color="#000000",
            label=f"scored samples (n={tx.size})",
            rasterized=raster,
        )
    legend = {"fontsize": 7, "loc": "best", "markerscale": 1.5}
    return _finish(fig, ax, xlabel=x, ylabel=y, title=title, legend=legend)


def calibration(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Calibration curve: observed event rate against mean predicted risk per risk group.

    Parameters
    ----------
    table
        ``prs evaluate``'s calibration table (``--table``;
        :func:`prs.calibrate.calibration_table`): ``mean_predicted``, ``observed_rate`` and
        its Wilson interval ``ci_low``/``ci_high`` per group.
    title
        Title.

    Returns
    -------
    matplotlib.figure.Figure
        The groups with their 95 % intervals and the diagonal of perfect calibration.

    Raises
    ------
    ReportError
        A column missing or a value not finite.
    """
    needed = ["mean_predicted", "observed_rate", "ci_low", "ci_high"]
    absent = [c for c in needed if c not in table.columns]
    if absent:
        raise ReportError(f"calibration table: no column {', '.join(absent)}")
    pred, obs, lo, hi = (_finite(table[c], c) for c in needed)
    top = float(max(pred.max(), hi.max())) * 1.05 if pred.size else 1.0
    fig, ax = _square_with_diagonal(top, "perfect")
    ax.errorbar(
        pred,
        obs,
        yerr=[obs - lo, hi - obs],
        fmt="o",
        color=PALETTE[0],
        capsize=3,
        label="risk groups (95 % CI)",
    )
    return _finish(
        fig, ax, xlabel="mean predicted risk", ylabel="observed rate", title=title,
        legend={"fontsize": 7, "loc": "upper left"},
    )  # fmt: skip


def roc_points(
    score: Sequence[float] | np.ndarray | pd.Series,
    outcome: Sequence[float] | np.ndarray | pd.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """The ROC curve's points: false and true positive rates at every distinct threshold.

    Thresholds run from above the highest score down to the lowest ("positive" = score at or
    above the threshold); tied scores move together, so the curve starts at (0, 0) and ends
    at (1, 1), and its trapezoid area is the AUC with ties counted one half.

    Parameters
    ----------
    score
        Each person's score (higher = more risk).
    outcome
        0/1 outcome (1 = event).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        False positive rates and true positive rates, non-decreasing.

    Raises
    ------
    ReportError
        Lengths differ, a value not finite, an outcome not 0/1, or one class only.

    Examples
    --------
    >>> fpr, tpr = roc_points([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    s, y = _finite(score, "score"), _finite(outcome, "outcome")
    if s.size != y.size:
        raise ReportError(f"roc: {s.size} scores but {y.size} outcomes")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ReportError("roc: outcomes must be 0 or 1")
    events = int(y.sum())
    if events == 0 or events == y.size:
        raise ReportError("roc: the outcome has one class only (no ROC curve)")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    # last index of each run of equal scores: the thresholds
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    fpr = np.r_[0.0, fp / (y.size - events)]
    tpr = np.r_[0.0, tp / events]
    return fpr, tpr


def roc(
    score: Sequence[float] | np.ndarray | pd.Series,
    outcome: Sequence[float] | np.ndarray | pd.Series,
    *,
    auc: float | None = None,
    title: str | None = None,
) -> Figure:
    """ROC curve of a score against a 0/1 outcome, with its AUC.

    Parameters
    ----------
    score, outcome
        As :func:`roc_points`.
    auc
        The AUC to print in the legend (e.g. ``prs evaluate``'s, with its interval); default
        the curve's trapezoid area.
    title
        Title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ReportError
        As :func:`roc_points`.
    """
    fpr, tpr = roc_points(score, outcome)
    area = float(np.trapezoid(tpr, fpr)) if auc is None else float(auc)
    fig, ax = _square_with_diagonal(1.0, "chance")
    ax.plot(fpr, tpr, color=PALETTE[0], linewidth=1.8, label=f"AUC {area:.3f}")
    return _finish(
        fig, ax, xlabel="false positive rate", ylabel="true positive rate", title=title,
        legend={"fontsize": 8, "loc": "lower right"},
    )  # fmt: skip


def to_data_uri(fig: Figure, *, image_format: str = "svg") -> str:
    """The figure as a ``data:`` URI for an ``<img src=...>`` (self-contained HTML).

    Parameters
    ----------
    fig
        The figure.
    image_format
        ``"svg"`` (default: sharp at any zoom; text drawn as paths, so no font is needed to
        view it) or ``"png"`` (100 dpi, through Agg).

    Returns
    -------
    str
        ``data:image/svg+xml;base64,...`` or ``data:image/png;base64,...``. The bytes carry
        no creation date, so the same figure gives the same URI.
    """
    if image_format not in ("svg", "png"):
        raise ReportError(f"image_format must be 'svg' or 'png', got {image_format!r}")
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "prs"}):
        metadata: dict[str, Any] = {"Date": None} if image_format == "svg" else {"Software": None}
        fig.savefig(buffer, format=image_format, dpi=100, metadata=metadata)
    mime = "image/svg+xml" if image_format == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"
