"""The fast VCF path: bgzipped VCF text read by Numba kernels (see :mod:`.source`).

One concern per module: :mod:`.source` (the :class:`FastVcfSource` orchestration),
:mod:`.scan` (the sites pass over a file's text), :mod:`.regions` (indexed reads),
:mod:`.cache` (genotypes kept from the sites pass), :mod:`.sitetable` (the site table from
the records' bytes), :mod:`.decode` (dosages by the kernels) and :mod:`.fallback` (records
left to the checked path).
"""

from prs.genotypes.fastvcf.source import DEFAULT_CACHE_BYTES, FastVcfSource, qualifies

__all__ = ["DEFAULT_CACHE_BYTES", "FastVcfSource", "qualifies"]
