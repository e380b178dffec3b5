"""Place target samples on a reference panel in one call: project them onto its PCA, then name
each one's most similar reference population (with the distances and the support decision).

This is :func:`prs.ancestry.project` followed by :meth:`PopulationModel.assign
<prs.ancestry.similarity.PopulationModel.assign>` with the model fitted on the panel's own
reference PCs (:meth:`ReferencePanel.population_model
<prs.ancestry.reference.ReferencePanel.population_model>`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from prs.ancestry.project import Projection, project
from prs.ancestry.reference import ReferencePanel
from prs.ancestry.similarity import PopulationModel, PopulationSimilarity, SupportRule
from prs.genotypes.base import GenotypeSource


@dataclass(frozen=True)
class Placement:
    """Target samples' PCs on a reference and their most similar population.

    Attributes
    ----------
    projection
        The PCs (:class:`~prs.ancestry.project.Projection`).
    similarity
        Population probabilities, ``MostSimilarPop``, distances, support
        (:class:`~prs.ancestry.similarity.PopulationSimilarity`), rows in the same order.
    """

    projection: Projection
    similarity: PopulationSimilarity

    def to_frame(self) -> pd.DataFrame:
        """One row per sample: ``sample_id``, ``PC1``..``PCk``, ``missing_variants``, then
        the columns of :meth:`PopulationSimilarity.to_frame`."""
        pcs = self.projection.to_frame().rename(columns={"IID": "sample_id"})
        return pcs.merge(self.similarity.to_frame(), on="sample_id", how="left", sort=False)


def place(
    reference: ReferencePanel,
    genotypes: GenotypeSource,
    *,
    method: str = "oadp",
    label: str = "SuperPop",
    model: PopulationModel | None = None,
    support: SupportRule | None = None,
) -> Placement:
    """Project ``genotypes``' samples onto ``reference`` and assign each its most similar
    reference population.

    Parameters
    ----------
    reference
        A :class:`~prs.ancestry.reference.ReferencePanel`.
    genotypes
        The targets (any number of samples, one included).
    method
        Projection, ``"oadp"`` (default) or ``"simple"`` (:func:`~prs.ancestry.project`).
    label
        Label level the populations are named at: ``"SuperPop"`` (default) or
        ``"Population"``.
    model
        A model already fitted (``reference.population_model(...)``): fit once, place many.
        Default: fitted here with pgsc_calc's settings (5 PCs, seed 32).
    support
        The rule declining people outside the reference (default
        :class:`~prs.ancestry.similarity.SupportRule`).

    Returns
    -------
    Placement

    Raises
    ------
    GenotypeFileError
        No reference variant is in the target (:func:`~prs.ancestry.project`).
    """
    projection = project(reference, genotypes, method=method)
    model = model or reference.population_model(label=label)
    pcs = projection.to_frame()
    return Placement(projection, model.assign(pcs, support=support))
