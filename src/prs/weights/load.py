"""Scoring files from what users give: a path, a PGS ID, or a :class:`ScoringFile`.

One rule for PGS IDs, the catalog's (:func:`prs.weights.catalog.is_accession`): ``PGS``
and six digits, in any case, surrounding spaces ignored, so ``prs.score(vcf, "pgs000004")``
fetches the score as ``prs fetch pgs000004`` does. An existing file wins over an ID of the
same name (a file called ``PGS000004`` in the working directory is read, not fetched);
anything else is a path, and a missing one is the reader's
:class:`~prs.errors.ScoringFileError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prs.errors import ScoreError
from prs.weights.catalog import is_accession, resolve
from prs.weights.catalog.transport import NotHarmonizedError
from prs.weights.liftover import lift_to_build
from prs.weights.scorefile import ScoringFile, read_scorefile

__all__ = ["ScoringFileSpec", "load_scorefile", "load_scorefiles"]

#: What names a scoring file: a path, a PGS ID, or one already read.
ScoringFileSpec = str | os.PathLike[str] | ScoringFile


def load_scorefile(
    spec: ScoringFileSpec,
    *,
    drop_unscorable: bool = False,
    use_harmonized: bool | None = None,
    build: str | None = None,
    catalog_options: dict[str, Any] | None = None,
    liftover: bool | str | os.PathLike[str] = False,
) -> ScoringFile:
    """Read one scoring file given as a path, a PGS ID (fetched) or a ScoringFile (as is).

    Parameters
    ----------
    spec
        A path; a PGS ID (``PGS000004``, any case) not naming an existing file, fetched
        from the PGS Catalog (:func:`prs.catalog.resolve`), harmonized to ``build`` when
        given; or a :class:`ScoringFile`, returned as is.
    drop_unscorable, use_harmonized
        As :func:`prs.weights.read_scorefile`.
    build
        The genotypes' genome build: which harmonized file to fetch for a PGS ID.
    catalog_options
        Keyword options of :func:`prs.catalog.resolve` (``cache_dir``, ``offline``,
        ``mirror``, ...).
    liftover
        When allowed (True, or a chain file) and the Catalog has no file harmonized to
        ``build`` for a PGS ID, its author-reported file is fetched instead (to be lifted
        by :func:`load_scorefiles`); False: that is an error.

    Returns
    -------
    ScoringFile

    Raises
    ------
    ScoringFileError, CatalogError
        As :func:`prs.weights.read_scorefile` and :func:`prs.catalog.resolve`.

    Examples
    --------
    >>> from prs.example import example_paths
    >>> load_scorefile(example_paths().scorefile).score_ids
    ('EXAMPLE_BC01',)
    """
    if isinstance(spec, ScoringFile):
        return spec
    path = Path(spec)
    if not path.exists() and is_accession(os.fspath(spec)):
        try:
            path = resolve(os.fspath(spec), build=build, **(catalog_options or {}))
        except NotHarmonizedError:
            if not liftover:
                raise
            path = resolve(os.fspath(spec), build=None, **(catalog_options or {}))
    return read_scorefile(path, drop_unscorable=drop_unscorable, use_harmonized=use_harmonized)


def scorefile_specs(
    scorefiles: ScoringFileSpec | Sequence[ScoringFileSpec],
) -> list[ScoringFileSpec]:
    """``scorefiles`` as a list: one path, PGS ID or :class:`ScoringFile`, or several.

    Examples
    --------
    >>> scorefile_specs("PGS000004")
    ['PGS000004']
    >>> scorefile_specs(("a.txt", "b.txt"))
    ['a.txt', 'b.txt']
    """
    if isinstance(scorefiles, (str, os.PathLike, ScoringFile)):
        return [scorefiles]
    return list(scorefiles)


def load_scorefiles(
    scorefiles: ScoringFileSpec | Sequence[ScoringFileSpec],
    *,
    drop_unscorable: bool = False,
    use_harmonized: bool | None = None,
    build: str | None = None,
    catalog_options: dict[str, Any] | None = None,
    liftover: bool | str | os.PathLike[str] = False,
    liftover_md5: str | None = None,
    liftover_sha256: str | None = None,
) -> list[ScoringFile]:
    """Read scoring files (:func:`load_scorefile` each) whose score names are unique,
    lifted to ``build`` where their build differs and ``liftover`` allows it.

    Parameters
    ----------
    scorefiles
        Paths, PGS IDs or :class:`ScoringFile` objects.
    drop_unscorable, use_harmonized, build, catalog_options
        As :func:`load_scorefile`.
    liftover
        False (default): nothing is lifted (a build mismatch is refused later, by
        :func:`prs.match.check_builds`). True: UCSC's GRCh37<->GRCh38 chain, fetched,
        verified and cached as Catalog files are; a path or URL: that chain file
        (:func:`prs.weights.liftover.lift_to_build`).
    liftover_md5, liftover_sha256
        Expected checksums of the chain file (default: the published MD5).

    Raises
    ------
    ScoringFileError, CatalogError
        As :func:`load_scorefile` and :func:`prs.weights.liftover.fetch_chain`.
    ScoreError
        Two scores with the same name.

    Warns
    -----
    LiftoverWarning
        Per lifted file, its rows' fates.
    """
    scorefiles = scorefile_specs(scorefiles)
    loaded = [
        load_scorefile(
            spec,
            drop_unscorable=drop_unscorable,
            use_harmonized=use_harmonized,
            build=build,
            catalog_options=catalog_options,
            liftover=liftover,
        )
        for spec in scorefiles
    ]
    loaded = lift_to_build(
        loaded,
        build,
        liftover,
        md5=liftover_md5,
        sha256=liftover_sha256,
        **(catalog_options or {}),
    )
    seen: dict[str, str] = {}
    for sf in loaded:
        for sid in sf.score_ids:
            if sid in seen:
                raise ScoreError(
                    f"score name {sid!r} appears in {seen[sid]} and {sf.path}; "
                    "score names must be unique in one run"
                )
            seen[sid] = sf.path
    return loaded
