"""PGS Catalog scores by accession: fetch, verify, cache, and a curated set of cancer scores.

Users name scores the way the field does — ``PGS000004``, a trait (``EFO_0000305``) or a
publication (``PGP000002``) — and this module turns the name into a verified local scoring
file:

1. **Resolve** the accession through the PGS Catalog REST API (``/rest/score/{id}``, or
   ``/rest/score/search?trait_id=`` / ``?pgp_id=`` for traits and publications, following
   the ``next`` links of paginated answers), or, with a *mirror*, straight from the FTP
   layout (``scores/{id}/ScoringFiles/[Harmonized/]...``) without any API call.
2. **Choose the file**: the harmonized file for the requested build
   (``{id}_hmPOS_GRCh37.txt.gz`` / ``_GRCh38``) by default when a build is given; the
   author-reported file (``{id}.txt.gz``) when no build is given or on request.
3. **Download** into the cache: stream to a ``.part`` file, resume with an HTTP ``Range``
   request where the server allows it (``206``) and restart otherwise, retry with
   exponential back-off, show a progress bar for long files.
4. **Verify** the MD5 the Catalog publishes beside every file (``<file>.md5``, text
   ``<md5>  <name>``) and check the header names the right PGS ID and build. A mismatch
   deletes the part file: a bad download never lands in the cache.
5. **Keep** it: the part file is renamed atomically to
   ``<cache>/pgs/<PGS ID>/<build or "author">/<md5>/<file name>``. Later calls find it
   there; with the network off, or in offline mode, the cache is all that is used.

Configuration (options win over environment variables, which win over defaults):

=====================  ==========================  =============================================
option                 environment variable        default
=====================  ==========================  =============================================
``cache_dir``          ``PRS_CACHE_DIR``           ``platformdirs.user_cache_dir("prs")``
``offline``            ``PRS_OFFLINE`` (``1``)     off
``mirror``             ``PRS_PGS_MIRROR``          none
``api_url``            ``PRS_PGS_API_URL``         ``https://www.pgscatalog.org/rest``
``ftp_url``            ``PRS_PGS_FTP_URL``         ``https://ftp.ebi.ac.uk/pub/databases/spot/pgs``
=====================  ==========================  =============================================
"""

from __future__ import annotations

from prs.weights.catalog.accessions import is_accession
from prs.weights.catalog.api import ScoreInfo, expand, score_info
from prs.weights.catalog.config import (
    BUILDS,
    DEFAULT_API_URL,
    DEFAULT_FTP_URL,
    CatalogConfig,
    CatalogOptions,
    default_cache_dir,
)
from prs.weights.catalog.curated import CURATED_COLUMNS, curated, curated_ids
from prs.weights.catalog.fetch import FetchResult, fetch, fetch_all, resolve
from prs.weights.catalog.store import cached

__all__ = [
    "BUILDS",
    "CURATED_COLUMNS",
    "DEFAULT_API_URL",
    "DEFAULT_FTP_URL",
    "CatalogConfig",
    "CatalogOptions",
    "FetchResult",
    "ScoreInfo",
    "cached",
    "curated",
    "curated_ids",
    "default_cache_dir",
    "expand",
    "fetch",
    "fetch_all",
    "is_accession",
    "resolve",
    "score_info",
]
