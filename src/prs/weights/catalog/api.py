"""The PGS Catalog REST API: score metadata (:func:`score_info`) and accession expansion
(:func:`expand`: traits and publications to PGS IDs, following pages)."""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Unpack

from prs.errors import CatalogError
from prs.weights.catalog.accessions import _PGP_ID, _PGS_ID, _TRAIT_ID, _normalise_pgs
from prs.weights.catalog.config import CatalogConfig, CatalogOptions, config_from
from prs.weights.catalog.store import _score_json_path, _write_json_atomic
from prs.weights.catalog.transport import _get_json, _NotFound, _UnknownScore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreInfo:
    """What the REST API says about one score (the fields prs uses).

    Attributes
    ----------
    pgs_id, name
        Accession and short name (``PRS313_BC``).
    trait_reported
        Trait as the authors reported it.
    trait_efo
        Mapped ontology term IDs.
    variants_number
        Number of variants in the score.
    genome_build
        Build of the author-reported file (``variants_genomebuild``), e.g. ``GRCh37``/``NR``.
    pgp_id, citation
        Publication accession and a short citation.
    ftp_scoring_file
        URL of the author-reported file.
    ftp_harmonized
        Build → URL of the harmonized-positions file.
    license
        Terms the authors attached.
    """

    pgs_id: str
    name: str = ""
    trait_reported: str = ""
    trait_efo: tuple[str, ...] = ()
    variants_number: int | None = None
    genome_build: str = ""
    pgp_id: str = ""
    citation: str = ""
    ftp_scoring_file: str = ""
    ftp_harmonized: dict[str, str] = field(default_factory=dict)
    license: str = ""

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> ScoreInfo:
        """Build from one score object of the REST API (``/rest/score/{id}``)."""
        publication = record.get("publication") or {}
        harmonized: dict[str, str] = {}
        for build, entry in (record.get("ftp_harmonized_scoring_files") or {}).items():
            if isinstance(entry, dict) and entry.get("positions"):
                harmonized[str(build)] = str(entry["positions"])
        citation = ""
        if isinstance(publication, dict) and publication:
            citation = " ".join(
                str(part)
                for part in (
                    publication.get("firstauthor"),
                    "et al.",
                    publication.get("journal"),
                    f"({str(publication.get('date_publication') or '')[:4]})",
                )
                if part
            )
        number = record.get("variants_number")
        return cls(
            pgs_id=str(record.get("id", "")),
            name=str(record.get("name") or ""),
            trait_reported=str(record.get("trait_reported") or ""),
            trait_efo=tuple(
                str(t.get("id")) for t in record.get("trait_efo") or [] if isinstance(t, dict)
            ),
            variants_number=int(number)
            if isinstance(number, int | str) and str(number).isdigit()
            else None,
            genome_build=str(record.get("variants_genomebuild") or ""),
            pgp_id=str(publication.get("id") or "") if isinstance(publication, dict) else "",
            citation=citation,
            ftp_scoring_file=str(record.get("ftp_scoring_file") or ""),
            ftp_harmonized=harmonized,
            license=str(record.get("license") or ""),
        )


def _fetch_score_json(pgs_id: str, config: CatalogConfig) -> dict[str, Any]:
    url = f"{config.api_url}/score/{pgs_id}"
    try:
        data = _get_json(url, config, f"metadata of {pgs_id}")
    except _NotFound as exc:
        raise _UnknownScore(
            f"{pgs_id}: no such score in the PGS Catalog ({url} answered 404); "
            "check the ID at https://www.pgscatalog.org"
        ) from exc
    if not isinstance(data, dict) or not data.get("id"):
        # The Catalog answers an unknown ID with an empty object.
        raise _UnknownScore(
            f"{pgs_id}: no such score in the PGS Catalog ({url} returned no score); "
            "check the ID at https://www.pgscatalog.org"
        )
    if str(data["id"]).upper() != pgs_id:
        raise CatalogError(f"{url}: asked for {pgs_id}, the API answered {data['id']}")
    _write_json_atomic(_score_json_path(config, pgs_id), data)
    return data


def score_info(
    pgs_id: str,
    *,
    refresh: bool = False,
    config: CatalogConfig | None = None,
    **options: Unpack[CatalogOptions],
) -> ScoreInfo:
    """Return the REST API's metadata for one score (cached beside its files).

    Parameters
    ----------
    pgs_id
        A PGS ID, e.g. ``"PGS000004"``.
    refresh
        Ask the API even when the metadata is cached (default False).
    config, **options
        Where and how to reach the Catalog: a :class:`CatalogConfig`, or its options
        (``cache_dir``, ``offline``, ``api_url``, ``timeout``, ...) as keywords
        (:meth:`CatalogConfig.from_options`).

    Returns
    -------
    ScoreInfo

    Raises
    ------
    CatalogError
        Unknown ID, API unreachable, or offline with nothing cached.

    Examples
    --------
    >>> score_info("PGS000004").variants_number  # doctest: +SKIP
    313
    """
    return _score_info(_normalise_pgs(pgs_id), config_from(config, options), refresh=refresh)


def _score_info(pgs_id: str, config: CatalogConfig, *, refresh: bool = False) -> ScoreInfo:
    cached_json = _score_json_path(config, pgs_id)
    if cached_json.is_file() and (config.offline or not refresh):
        try:
            return ScoreInfo.from_json(json.loads(cached_json.read_text(encoding="utf-8")))
        except ValueError:
            logger.warning("%s: unreadable cached metadata, asking the API again", cached_json)
    if config.offline:
        raise CatalogError(
            f"{pgs_id}: offline and no metadata cached in {cached_json.parent}; fetch it "
            "once with the network on"
        )
    return ScoreInfo.from_json(_fetch_score_json(pgs_id, config))


def _paginate(url: str, config: CatalogConfig, what: str) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    next_url: str | None = url
    while next_url:
        if next_url in seen:  # a server that loops would otherwise never end
            raise CatalogError(f"{next_url}: pagination loops back on itself")
        seen.add(next_url)
        try:
            page = _get_json(next_url, config, what)
        except _NotFound as exc:
            raise CatalogError(f"{what}: the REST API answered 404 for {next_url}") from exc
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise CatalogError(
                f"{next_url}: expected a paginated answer with 'results', found {str(page)[:80]!r}"
            )
        yield from (r for r in page["results"] if isinstance(r, dict))
        next_url = page.get("next") or None


def expand(
    accession: str,
    *,
    config: CatalogConfig | None = None,
    **options: Unpack[CatalogOptions],
) -> list[str]:
    """Turn a score, trait or publication accession into the PGS IDs it names.

    Traits (``EFO_0000305``, ``MONDO_0005575``) are searched with
    ``/rest/score/search?trait_id=``, publications (``PGP000002``) with
    ``/rest/score/search?pgp_id=``; every page is read (the API pages 50 results at a time).
    The answer is cached, so the same expansion works offline afterwards.

    Parameters
    ----------
    accession
        ``PGS…``, ``PGP…`` or an ontology trait ID.
    config, **options
        As for :func:`score_info`.

    Returns
    -------
    list of str
        PGS IDs, in the API's order, without duplicates.

    Raises
    ------
    CatalogError
        Unrecognised accession, nothing found, API unreachable, or offline with no cached
        answer.

    Examples
    --------
    >>> expand("PGS000004")
    ['PGS000004']
    >>> expand("PGP000002")  # doctest: +SKIP
    ['PGS000004', 'PGS000005', 'PGS000006', 'PGS000007', 'PGS000008', 'PGS000009']
    """
    return _expand(accession, config_from(config, options))


def _expand(accession: str, config: CatalogConfig) -> list[str]:
    value = accession.strip()
    if _PGS_ID.fullmatch(value.upper()):
        return [value.upper()]
    if _PGP_ID.fullmatch(value.upper()):
        kind, key, value = "publication", "pgp_id", value.upper()
    elif _TRAIT_ID.fullmatch(value):
        kind, key = "trait", "trait_id"
        prefix, _, number = value.partition("_")
        value = f"{prefix.upper()}_{number}"
    else:
        raise CatalogError(
            f"{accession!r} is not a PGS Catalog accession: expected a score (PGS000004), "
            "a publication (PGP000002) or a trait ontology ID (EFO_0000305)"
        )
    cached_answer = config.cache_dir / "pgs" / "queries" / f"{value}.json"
    if config.offline:
        if cached_answer.is_file():
            return list(json.loads(cached_answer.read_text(encoding="utf-8")))
        raise CatalogError(
            f"{value}: offline and the {kind}'s scores were never looked up "
            f"(no {cached_answer}); run `prs fetch {value}` once with the network on"
        )
    url = f"{config.api_url}/score/search?{urllib.parse.urlencode({key: value})}"
    ids: list[str] = []
    for record in _paginate(url, config, f"scores of {kind} {value}"):
        pgs_id = str(record.get("id", "")).upper()
        if not _PGS_ID.fullmatch(pgs_id) or pgs_id in ids:
            continue
        ids.append(pgs_id)
        # The search returns whole score objects: keep them, saving a request per score.
        _write_json_atomic(_score_json_path(config, pgs_id), record)
    if not ids:
        raise CatalogError(f"{value}: the PGS Catalog lists no scores for this {kind} ({url})")
    _write_json_atomic(cached_answer, ids)
    return ids
