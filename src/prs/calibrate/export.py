"""Exports for other tools: a CanRisk-ready breast-cancer PRS line per person.

CanRisk (BOADICEA) reads a person's polygenic risk score from the header of their pedigree
file as ``##PRS_BC=alpha=<alpha>, zscore=<z>`` (CanRisk Pedigree Data v2/v3 File Format
Specification, canrisk.atlassian.net/wiki/spaces/FAQS/pages/1950875649; the v3 example header
is ``##CanRisk 3.0`` / ``##PRS_BC=alpha=0.45, zscore=1.8`` / ``##FamID Name Target ...``).
There:

* ``zscore`` is the standard-normal PRS, ``(raw PRS - mu) / sigma`` with the mean and SD of
  the score in the population relevant to the person (CanRisk FAQ "How do I enter Polygenic
  Risk Scores manually", pageId 690290689);
* ``alpha`` is the **square root** of the proportion of the overall BOADICEA polygenic
  variance explained by the PRS, a number between 0 and 1 (same pages).

A pedigree file describes one family with one target individual, and the header lines are
the target's risk factors: CanRisk takes **one file per person**. This module therefore
writes, per person, the line to put in that person's file header (a table, one row each).

The ``0.45`` of the specification's example header is an example, not a published alpha. The
CanRisk FAQ "What variants are used in the PRS?" (pageId 35979266) lists the alpha of each
PRS CanRisk implements; its value for BCAC 313 changed between page versions (0.444 in an
earlier version, 0.501 in the version listing BCAC 77/313/3820, with mu -0.424, sigma 0.611),
as BOADICEA's polygenic variance was revised. So no alpha is used silently: give ``alpha``,
or name the parameter version of :data:`PUBLISHED_ALPHAS` to take the published one; the
version used is written into every row.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs.calibrate.schemes import CANCER_TERMS, same_cancer
from prs.errors import CalibrationError
from prs.output import write_table

__all__ = [
    "PUBLISHED_ALPHAS",
    "PublishedAlpha",
    "canrisk_prs",
    "canrisk_table",
    "write_canrisk",
]


@dataclass(frozen=True)
class PublishedAlpha:
    """A CanRisk alpha published for one PRS, with the parameter version it belongs to."""

    prs: str
    alpha: float
    version: str
    source: str


_FAQ = (
    "CanRisk FAQ 'What variants are used in the PRS?' "
    "(canrisk.atlassian.net/wiki/spaces/FAQS/pages/35979266)"
)

#: Published CanRisk alphas by PGS Catalog ID, then parameter version. PGS000004 is the
#: BCAC 313-variant breast PRS (Mavaddat et al. 2019), CanRisk's "BCAC 313".
PUBLISHED_ALPHAS: Mapping[str, Mapping[str, PublishedAlpha]] = {
    "PGS000004": {
        "canrisk-faq-bcac313-v0.444": PublishedAlpha(
            "BCAC 313",
            0.444,
            "canrisk-faq-bcac313-v0.444",
            f"{_FAQ}, earlier page version (BCAC 313 mu -0.4240341, sigma 0.6031472)",
        ),
        "canrisk-faq-bcac313-v0.501": PublishedAlpha(
            "BCAC 313",
            0.501,
            "canrisk-faq-bcac313-v0.501",
            f"{_FAQ}, later page version listing BCAC 77/313/3820 (mu -0.424, sigma 0.611)",
        ),
    },
}

_BREAST = CANCER_TERMS["breast"]


def canrisk_prs(z: float | Sequence[float] | np.ndarray, alpha: float) -> list[str]:
    """The CanRisk header line ``##PRS_BC=alpha=<alpha>, zscore=<z>`` for each z-score.

    Parameters
    ----------
    z
        Standard-normal PRS of each person (z-score against the population relevant to
        them).
    alpha
        Square root of the proportion of BOADICEA's polygenic variance the PRS explains
        (0 < alpha <= 1).

    Raises
    ------
    CalibrationError
        A non-finite z (named by position) or an alpha outside (0, 1].

    Examples
    --------
    >>> canrisk_prs([1.8], 0.45)
    ['##PRS_BC=alpha=0.45, zscore=1.8']
    """
    alpha = _check_alpha(alpha)
    values = np.atleast_1d(np.asarray(z, dtype=float))
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise CalibrationError(
            f"CanRisk export: z-score of person {int(bad[0]) + 1} is {values[bad[0]]} "
            f"({bad.size} of {values.size} not finite); CanRisk needs a finite z-score"
        )
    # repr-short, round-trippable decimals ('%.6g' keeps 6 significant digits, as CanRisk's
    # own examples give 2-3)
    return [f"##PRS_BC=alpha={alpha:.6g}, zscore={v:.6g}" for v in values]


def canrisk_table(
    result: Any,
    *,
    alpha: float | None = None,
    version: str | None = None,
) -> pd.DataFrame:
    """One row per person: the CanRisk ``##PRS_BC`` line of a breast-cancer categorisation.

    Parameters
    ----------
    result
        A :class:`~prs.calibrate.categorisation.Categorisation` (its ``z`` and ``inputs``).
    alpha
        The score's alpha. None: taken from :data:`PUBLISHED_ALPHAS` for the score's ID and
        ``version``.
    version
        The parameter version: with ``alpha`` given, a free label recorded as is (default
        "user-supplied"); without, a key of :data:`PUBLISHED_ALPHAS` for the score.

    Returns
    -------
    pandas.DataFrame
        ``sample_id``, ``score_id``, ``zscore``, ``alpha``, ``alpha_version``,
        ``alpha_source``, ``canrisk_prs_bc`` (the header line).

    Raises
    ------
    CalibrationError
        The score is not a breast-cancer score (its ``trait_efo``), or has no trait metadata
        and the scheme is not for breast cancer; no alpha and no published one for this
        score and version; a non-finite z-score.
    """
    inputs = result.inputs
    score_id = inputs.get("score_id")
    _check_breast(inputs)
    alpha, version, source = _alpha(score_id, alpha, version)
    lines = canrisk_prs(result.z, alpha)
    return pd.DataFrame(
        {
            "sample_id": result.sample_id,
            "score_id": score_id,
            "zscore": np.asarray(result.z, dtype=float),
            "alpha": alpha,
            "alpha_version": version,
            "alpha_source": source,
            "canrisk_prs_bc": lines,
        }
    )


def write_canrisk(
    result: Any,
    path: str | os.PathLike[str],
    *,
    alpha: float | None = None,
    version: str | None = None,
) -> Path:
    """Write :func:`canrisk_table` atomically (TSV or Parquet, via :func:`prs.output.write_table`).

    Copy each person's ``canrisk_prs_bc`` line into the header of that person's CanRisk
    pedigree file (one file per target individual), after ``##CanRisk 2.0``/``3.0``.
    """
    return write_table(canrisk_table(result, alpha=alpha, version=version), path)


def _check_alpha(alpha: float) -> float:
    try:
        value = float(alpha)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"CanRisk alpha {alpha!r} is not a number") from exc
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise CalibrationError(
            f"CanRisk alpha {alpha!r} is not in (0, 1]: alpha is the square root of the "
            "proportion of BOADICEA's polygenic variance the PRS explains"
        )
    return value


def _check_breast(inputs: Mapping[str, Any]) -> None:
    """Refuse a score that is not for breast cancer (CanRisk's PRS_BC is breast only)."""
    trait = tuple(inputs.get("score_trait_efo") or ())
    name = inputs.get("score_id") or "(unnamed)"
    if trait:
        if not same_cancer(trait, _BREAST):
            reported = inputs.get("score_trait_reported")
            raise CalibrationError(
                f"CanRisk PRS_BC is for breast cancer ({', '.join(_BREAST)}); score {name} is "
                f"for trait {repr(reported) + ' ' if reported else ''}({', '.join(trait)})"
            )
        return
    scheme_terms = tuple(inputs.get("scheme_cancer_efo") or ())
    if not same_cancer(scheme_terms, _BREAST):
        raise CalibrationError(
            f"CanRisk PRS_BC is for breast cancer: score {name} carries no trait metadata "
            f"(trait_efo) and scheme {inputs.get('scheme')} is not a breast scheme, so nothing "
            "shows it is a breast-cancer score"
        )


def _alpha(
    score_id: str | None, alpha: float | None, version: str | None
) -> tuple[float, str, str]:
    """(alpha, parameter version, source) from the user or the published table."""
    if alpha is not None:
        return _check_alpha(alpha), version or "user-supplied", "user-supplied"
    known = PUBLISHED_ALPHAS.get(score_id or "", {})
    if not known:
        raise CalibrationError(
            f"no published CanRisk alpha for score {score_id or '(unnamed)'} (known: "
            f"{', '.join(PUBLISHED_ALPHAS)}); give alpha= / --canrisk-alpha"
        )
    if version is None or version not in known:
        raise CalibrationError(
            f"CanRisk alpha of {score_id}: name the parameter version (version= / "
            f"--canrisk-alpha-version), one of "
            + ", ".join(f"{k} (alpha {v.alpha})" for k, v in known.items())
            + (f"; {version!r} is not one of them" if version is not None else "")
            + ", or give alpha= / --canrisk-alpha"
        )
    entry = known[version]
    return entry.alpha, entry.version, entry.source
