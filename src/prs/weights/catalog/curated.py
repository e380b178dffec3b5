"""The curated PGS Catalog scores for risk-informed cancer prevention (package data)."""

from __future__ import annotations

import importlib.resources

import pandas as pd

from prs.errors import CatalogError

#: Columns of :func:`curated`, in order.
CURATED_COLUMNS = (
    "cancer",
    "pgs_id",
    "pgs_name",
    "trait",
    "trait_efo",
    "pgp_id",
    "publication",
    "doi",
    "variants_number",
    "variants_number_source",
    "original_build",
    "builds_available",
    "development_ancestry",
    "evaluation_ancestry",
    "evaluation_sample",
    "effect_measure",
    "effect_per_sd",
    "effect_per_sd_lower",
    "effect_per_sd_upper",
    "auc",
    "auc_lower",
    "auc_upper",
    "other_metric",
    "other_estimate",
    "other_lower",
    "other_upper",
    "performance_source",
    "metadata_source",
    "notes",
)
_NUMERIC = (
    "variants_number",
    "effect_per_sd",
    "effect_per_sd_lower",
    "effect_per_sd_upper",
    "auc",
    "auc_lower",
    "auc_upper",
    "other_estimate",
    "other_lower",
    "other_upper",
)
_CURATED_FILE = "cancer_scores.tsv"


def _read_curated() -> pd.DataFrame:
    resource = importlib.resources.files("prs") / "data" / "weights" / _CURATED_FILE
    with resource.open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, sep="\t", comment="#", dtype=str, keep_default_na=False)
    missing = [c for c in CURATED_COLUMNS if c not in frame.columns]
    if missing:
        raise CatalogError(f"package data {_CURATED_FILE}: missing column(s) {missing}")
    frame = frame.loc[:, list(CURATED_COLUMNS)]
    for column in _NUMERIC:
        frame[column] = pd.to_numeric(frame[column].replace("", None), errors="raise")
    frame["variants_number"] = frame["variants_number"].astype("Int64")
    return frame


def curated(cancer: str | None = None) -> pd.DataFrame:
    """The curated PGS Catalog scores for risk-informed cancer prevention, as a table.

    One row per (score, published evaluation): the score's trait, publication, variant
    count, builds the Catalog provides, the ancestry of its development (GWAS) sample, and
    the performance published for one evaluation sample — effect per SD
    (``effect_measure`` OR or HR, with 95% CI), AUC (with 95% CI) and, where that is what
    was published, another metric (``other_metric``, e.g. OR of the top decile) — with the
    source of every figure (``performance_source``, ``variants_number_source``,
    ``metadata_source``). Cells that could not be verified are empty and ``notes`` says
    why: figures are never estimated. These figures feed calibration. The file is
    ``prs/data/weights/cancer_scores.tsv``; its README cites the sources.

    Parameters
    ----------
    cancer
        Keep only one site: ``"breast"``, ``"prostate"``, ``"colorectal"`` or ``"lung"``
        (case-insensitive). None (default) or ``"all"``: every row.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CURATED_COLUMNS`; numeric columns are floats (NaN where not
        verified), ``variants_number`` is a nullable integer.

    Raises
    ------
    CatalogError
        Unknown cancer site.

    Examples
    --------
    >>> table = curated("breast")
    >>> "PGS000004" in set(table["pgs_id"])
    True
    >>> float(table.loc[table["pgs_id"] == "PGS000004", "effect_per_sd"].iloc[0])
    1.61
    """
    frame = _read_curated()
    if cancer is None or cancer.strip().lower() == "all":
        return frame.reset_index(drop=True)
    site = cancer.strip().lower()
    sites = sorted(set(frame["cancer"]))
    if site not in sites:
        raise CatalogError(
            f"no curated scores for cancer {cancer!r}: expected one of {', '.join(sites)} or 'all'"
        )
    return frame[frame["cancer"] == site].reset_index(drop=True)


def curated_ids(cancer: str | None = None) -> list[str]:
    """PGS IDs of the curated set (for one site, or all), without duplicates, in table order.

    Examples
    --------
    >>> curated_ids("prostate")
    ['PGS000662']
    """
    return list(dict.fromkeys(curated(cancer)["pgs_id"]))
