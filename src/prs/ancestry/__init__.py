"""Ancestry from genotypes (issue 14): a reference PCA, and targets projected onto it.

* :mod:`~prs.ancestry.pca`: variant selection (biallelic SNPs, MAF, strand-ambiguous and
  long-range high-LD regions excluded, LD pruning), standardisation, randomized SVD;
* :mod:`~prs.ancestry.reference`: the :class:`ReferencePanel` artefact (build, save, load;
  versioned and checksummed);
* :mod:`~prs.ancestry.project`: projection of targets, FRAPOSA's OADP or simple projection,
  streaming over variants, one person or many;
* :mod:`~prs.ancestry.similarity`: the most similar reference population (RandomForest on
  reference PCs, as the PGS Catalog Calculator), distances from the reference and the
  support rule;
* :mod:`~prs.ancestry.place`: both in one call (:func:`place`);
* :mod:`~prs.ancestry.fetch`: published reference packs downloaded, verified and extracted.

Scoring with the reference's per-population allele frequencies, and per-population score
distributions from a pack, are in :mod:`prs.scoring.reference_freq` (they score genotypes).

docs/ancestry.md describes the method, its sources and its limits.
"""

from __future__ import annotations

from prs.ancestry.pca import PcaOptions, high_ld_regions
from prs.ancestry.place import Placement, place
from prs.ancestry.project import METHODS, Projection, project
from prs.ancestry.reference import (
    FREQUENCY_SETS,
    ReferencePanel,
    ReferencePanelError,
    build_reference,
    load_reference,
    population_distribution,
    read_population_labels,
    save_reference,
    with_scores,
)
from prs.ancestry.similarity import (
    PopulationModel,
    PopulationSimilarity,
    SupportRule,
    fit_population_model,
    most_similar_population,
)

__all__ = [
    "FREQUENCY_SETS",
    "METHODS",
    "PcaOptions",
    "Placement",
    "PopulationModel",
    "PopulationSimilarity",
    "Projection",
    "ReferencePanel",
    "ReferencePanelError",
    "SupportRule",
    "build_reference",
    "fit_population_model",
    "high_ld_regions",
    "load_reference",
    "most_similar_population",
    "place",
    "population_distribution",
    "project",
    "read_population_labels",
    "save_reference",
    "with_scores",
]
