"""Configuration of PGS Catalog access: defaults, environment variables, :class:`CatalogConfig`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from prs.errors import CatalogError
from prs.genome import SCORING_BUILDS

#: Genome builds the Catalog harmonizes to (the builds prs scores against).
BUILDS = SCORING_BUILDS
#: The PGS Catalog REST API root.
DEFAULT_API_URL = "https://www.pgscatalog.org/rest"
#: Root of the PGS Catalog FTP tree (served over HTTPS as well).
DEFAULT_FTP_URL = "https://ftp.ebi.ac.uk/pub/databases/spot/pgs"

ENV_CACHE_DIR = "PRS_CACHE_DIR"
ENV_OFFLINE = "PRS_OFFLINE"
ENV_MIRROR = "PRS_PGS_MIRROR"
ENV_API_URL = "PRS_PGS_API_URL"
ENV_FTP_URL = "PRS_PGS_FTP_URL"


def default_cache_dir() -> Path:
    """Return the cache directory: ``$PRS_CACHE_DIR`` or the platform's user cache dir.

    Examples
    --------
    >>> import os
    >>> os.environ["PRS_CACHE_DIR"] = "/scratch/prs-cache"
    >>> default_cache_dir()
    PosixPath('/scratch/prs-cache')
    >>> del os.environ["PRS_CACHE_DIR"]
    """
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("prs", appauthor=False))


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class CatalogConfig:
    """Where and how to reach the PGS Catalog; build one with :meth:`CatalogConfig.from_options`.

    Attributes
    ----------
    cache_dir
        Root of the cache (files live under ``cache_dir / "pgs"``).
    offline
        Never touch the network; serve from the cache (or a mirror *directory*) or fail
        naming what is missing.
    mirror
        Base URL (``http(s)://``, ``file://``) or local directory laid out like the Catalog's
        FTP tree (containing ``scores/``). When set, files come from it and the REST API is
        used only to expand traits and publications.
    api_url, ftp_url
        REST API root and FTP root (no trailing slash).
    timeout
        Seconds to wait for a connection or for the next block of data.
    retries
        Further attempts after the first for a failed request (network errors, timeouts,
        5xx, rate limiting, checksum mismatch).
    backoff
        Seconds before the first retry; doubles with each further retry.
    verify
        Check each file against the MD5 published beside it (required unless False).
    progress
        Show a progress bar: None (default) shows one on a terminal for files over 1 MiB.
    """

    cache_dir: Path
    offline: bool = False
    mirror: str | None = None
    api_url: str = DEFAULT_API_URL
    ftp_url: str = DEFAULT_FTP_URL
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    verify: bool = True
    progress: bool | None = None

    @classmethod
    def from_options(
        cls,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        offline: bool | None = None,
        mirror: str | os.PathLike[str] | None = None,
        api_url: str | None = None,
        ftp_url: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 1.0,
        verify: bool = True,
        progress: bool | None = None,
    ) -> CatalogConfig:
        """Combine explicit options with the environment (``PRS_*``) and the defaults.

        Every public function of :mod:`prs.catalog` takes these options as keywords (or a
        ready ``config=``).

        Parameters
        ----------
        cache_dir
            Cache root. Default ``$PRS_CACHE_DIR`` or the platform's user cache directory
            (``platformdirs.user_cache_dir("prs")``).
        offline
            Never touch the network; serve from the cache (or from ``mirror`` when it is a
            local directory) and name what is missing. Default ``$PRS_OFFLINE`` (``1`` =
            on), else off.
        mirror
            Base URL or local directory laid out like the Catalog FTP tree (a hospital or
            HPC copy). Default ``$PRS_PGS_MIRROR``, else none.
        api_url, ftp_url
            REST API and FTP roots. Defaults ``$PRS_PGS_API_URL`` / ``$PRS_PGS_FTP_URL``,
            else the EBI servers.
        timeout
            Seconds to wait for a connection or for more data (default 30).
        retries
            Further attempts after a transient failure (default 3, as pgscatalog-download).
        backoff
            Seconds before the first retry, doubling after each (default 1).
        verify
            Require and check the published MD5 (default True).
        progress
            Progress bar: None (default) on a terminal for files over 1 MiB; True/False
            force.

        Raises
        ------
        CatalogError
            A timeout that is not positive, negative retries or back-off.

        Examples
        --------
        >>> CatalogConfig.from_options(cache_dir="/tmp/c", retries=0).retries
        0
        """
        if timeout <= 0:
            raise CatalogError(f"timeout must be positive seconds, got {timeout!r}")
        if retries < 0:
            raise CatalogError(f"retries must be 0 or more, got {retries!r}")
        if backoff < 0:
            raise CatalogError(f"backoff must be 0 or more seconds, got {backoff!r}")
        mirror_value = os.fspath(mirror) if mirror is not None else os.environ.get(ENV_MIRROR)
        return cls(
            cache_dir=Path(cache_dir).expanduser()
            if cache_dir is not None
            else default_cache_dir(),
            offline=_env_flag(ENV_OFFLINE) if offline is None else bool(offline),
            mirror=mirror_value or None,
            api_url=(api_url or os.environ.get(ENV_API_URL) or DEFAULT_API_URL).rstrip("/"),
            ftp_url=(ftp_url or os.environ.get(ENV_FTP_URL) or DEFAULT_FTP_URL).rstrip("/"),
            timeout=float(timeout),
            retries=int(retries),
            backoff=float(backoff),
            verify=verify,
            progress=progress,
        )


class CatalogOptions(TypedDict, total=False):
    """The keyword options of :meth:`CatalogConfig.from_options`, accepted by every public
    function of :mod:`prs.catalog` (``fetch(pgs_id, build=..., **options)``) so that they
    are spelled once, here and in :class:`CatalogConfig`."""

    cache_dir: str | os.PathLike[str] | None
    offline: bool | None
    mirror: str | os.PathLike[str] | None
    api_url: str | None
    ftp_url: str | None
    timeout: float
    retries: int
    backoff: float
    verify: bool
    progress: bool | None


def config_from(config: CatalogConfig | None, options: CatalogOptions) -> CatalogConfig:
    """``config`` when given (then no keyword options may be), else one built from
    ``options`` (:meth:`CatalogConfig.from_options`)."""
    if config is None:
        return CatalogConfig.from_options(**options)
    if options:
        raise CatalogError(
            f"give either config= or catalog options ({', '.join(sorted(options))}), not both"
        )
    return config
