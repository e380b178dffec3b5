"""PGS Catalog accessions (the one PGS-ID rule), build names it harmonizes to, and its FTP
layout."""

from __future__ import annotations

import re

from prs.errors import CatalogError
from prs.genome import canonical_build
from prs.weights.catalog.config import BUILDS

_PGS_ID = re.compile(r"PGS\d{6}")
_PGP_ID = re.compile(r"PGP\d{6}")
# Ontology terms as the Catalog maps traits: EFO_0000305, MONDO_0005575, HP_0000001, ...
_TRAIT_ID = re.compile(r"[A-Za-z]+_\d+")


def is_accession(spec: object) -> bool:
    """True when ``spec`` is a PGS score ID (``PGS`` followed by six digits).

    Examples
    --------
    >>> is_accession("PGS000004"), is_accession("pgs000004"), is_accession("scores.txt")
    (True, True, False)
    """
    return isinstance(spec, str) and _PGS_ID.fullmatch(spec.strip().upper()) is not None


def _normalise_pgs(spec: str) -> str:
    value = spec.strip().upper()
    if not _PGS_ID.fullmatch(value):
        raise CatalogError(
            f"{spec!r} is not a PGS Catalog score ID: expected 'PGS' and six digits, e.g. PGS000004"
        )
    return value


def _normalise_build(build: str | None) -> str | None:
    """The canonical name of a build the Catalog harmonizes to (aliases: :mod:`prs.genome`)."""
    if build is None:
        return None
    value = canonical_build(str(build))
    if value not in BUILDS:
        raise CatalogError(
            f"genome build {build!r} is not one the PGS Catalog harmonizes to: "
            f"expected one of {', '.join(BUILDS)}"
        )
    return value


def _relative_path(pgs_id: str, build: str | None) -> str:
    """Path of a scoring file under the FTP root, as the Catalog lays it out."""
    if build is None:
        return f"scores/{pgs_id}/ScoringFiles/{pgs_id}.txt.gz"
    return f"scores/{pgs_id}/ScoringFiles/Harmonized/{pgs_id}_hmPOS_{build}.txt.gz"
