"""The result of a scoring run: per sample x score totals with PLINK 2's meanings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prs.match import MatchReport
from prs.weights.scorefile import TraitInfo

#: Columns of :meth:`ScoreResult.to_frame` (and of ``scores.tsv``), in order.
SCORE_COLUMNS = (
    "sample_id",
    "score",
    "SUM",
    "AVG",
    "ALLELE_CT",
    "DENOM",
    "NAMED_ALLELE_DOSAGE_SUM",
    "VARIANTS_USED",
    "MISSING_CT",
    # What each score is of, from its scoring file's header (empty where not given), so a
    # later step (calibrate, categorise) can check a scheme against the score's trait.
    "trait_reported",
    "trait_efo",
    "weight_type",
    "development_ancestry",
)

#: The trait columns of ``scores.tsv`` (text; ``trait_efo`` holds IDs joined with ``|``).
TRAIT_COLUMNS = ("trait_reported", "trait_efo", "weight_type", "development_ancestry")


@dataclass(frozen=True)
class ScoreResult:
    """Per sample x score totals, with PLINK 2's meanings.

    Attributes
    ----------
    samples, score_ids
        Row and column labels.
    sums
        ``float64[n, s]`` SUM: sum of weight x effect-allele dosage (imputed where missing).
    allele_ct
        ALLELE_CT: alleles observed (non-missing calls x ploidy; the ploidy of a call by
        chromosome class and sex as PLINK 2 counts it, see :mod:`prs.ploidy`: 1 on MT and
        on a male's chrY, none on a female's chrY).
    denom
        DENOM: alleles counted, imputed calls included when imputing (AVG = SUM / DENOM).
    named_dosage
        NAMED_ALLELE_DOSAGE_SUM: effect-allele dosage summed over observed calls.
    missing_ct
        ``int64[n, s]`` missing calls (imputed, or skipped with ``missing="none"``); a chrY
        call of a non-male is not counted at all, so it is not missing either.
    variants_used
        ``int64[s]`` matched variants per score.
    match_report
        Every scoring row's fate (:class:`prs.match.MatchReport`), all files together.
    provenance
        Library version, options, inputs and their checksums, counts.
    score_info
        Per score ID, its scoring file's trait metadata (:class:`prs.weights.scorefile.
        TraitInfo`: ``trait_reported``, ``trait_mapped``, ``trait_efo``, ``weight_type``,
        ``development_ancestry``, ...); a score missing here has none.
    """

    samples: tuple[str, ...]
    score_ids: tuple[str, ...]
    sums: np.ndarray
    allele_ct: np.ndarray
    denom: np.ndarray
    named_dosage: np.ndarray
    missing_ct: np.ndarray
    variants_used: np.ndarray
    match_report: MatchReport
    provenance: dict[str, Any] = field(default_factory=dict)
    score_info: dict[str, TraitInfo] = field(default_factory=dict)

    @property
    def avg(self) -> np.ndarray:
        """AVG = SUM / DENOM (NaN where DENOM is 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.denom > 0, self.sums / self.denom, np.nan)

    def to_frame(self) -> pd.DataFrame:
        """Long table, one row per sample x score (columns :data:`SCORE_COLUMNS`)."""
        n, s = self.sums.shape
        infos = [self.score_info.get(sid, TraitInfo()) for sid in self.score_ids]
        # One value per score, repeated per sample (None: an empty cell).
        trait = {
            "trait_reported": [i.trait_reported for i in infos],
            "trait_efo": ["|".join(i.trait_efo) or None for i in infos],
            "weight_type": [i.weight_type for i in infos],
            "development_ancestry": [i.development_ancestry for i in infos],
        }
        return pd.DataFrame(
            {
                "sample_id": np.repeat(np.array(self.samples, dtype=object), s),
                "score": np.tile(np.array(self.score_ids, dtype=object), n),
                "SUM": self.sums.ravel(),
                "AVG": self.avg.ravel(),
                "ALLELE_CT": self.allele_ct.ravel().astype(np.int64),
                "DENOM": self.denom.ravel().astype(np.int64),
                "NAMED_ALLELE_DOSAGE_SUM": self.named_dosage.ravel(),
                "VARIANTS_USED": np.tile(self.variants_used, n),
                "MISSING_CT": self.missing_ct.ravel(),
                **{
                    name: np.tile(np.array(values, dtype=object), n)
                    for name, values in trait.items()
                },
            },
            columns=list(SCORE_COLUMNS),
        )

    def to_wide(self, column: str = "SUM") -> pd.DataFrame:
        """Samples x scores table of one quantity (``SUM``, ``AVG``, ...)."""
        values = {
            "SUM": self.sums,
            "AVG": self.avg,
            "ALLELE_CT": self.allele_ct,
            "DENOM": self.denom,
            "NAMED_ALLELE_DOSAGE_SUM": self.named_dosage,
            "MISSING_CT": self.missing_ct,
        }[column]
        return pd.DataFrame(
            values, index=pd.Index(self.samples, name="sample_id"), columns=list(self.score_ids)
        )
