"""Genotype sources: one module per format behind :func:`open_genotypes`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from prs.errors import GenotypeFileError
from prs.genotypes.base import SITE_COLUMNS, DosageChunk, GenotypeSource
from prs.genotypes.vcf import VcfSource, read_vcf_header

__all__ = [
    "SITE_COLUMNS",
    "DosageChunk",
    "GenotypeSource",
    "VcfSource",
    "open_genotypes",
    "read_vcf_header",
]

_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")


def open_genotypes(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    format: str | None = None,
    **options: object,
) -> GenotypeSource:
    """Open genotype files as a :class:`GenotypeSource`.

    Parameters
    ----------
    paths
        One file, or several (e.g. one VCF per chromosome) holding the same samples.
    format
        ``"vcf"`` (VCF or BCF). Default: from the file name.
    **options
        Passed to the format's source, e.g. ``samples``, ``dosage="DS"``,
        ``half_call="missing"`` (see :class:`prs.genotypes.vcf.VcfSource`).

    Returns
    -------
    GenotypeSource

    Raises
    ------
    GenotypeFileError
        Unknown format, missing or malformed files.

    Examples
    --------
    >>> from prs.example import example_paths
    >>> source = open_genotypes(example_paths().vcf)
    >>> len(source.samples)
    200
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    names = [Path(p).name.lower() for p in paths]
    if format is None:
        if names and all(n.endswith(_VCF_SUFFIXES) for n in names):
            format = "vcf"
        else:
            raise GenotypeFileError(
                f"{paths[0]}: cannot tell the genotype format from the name; "
                "pass format='vcf' (VCF/BCF are supported)"
            )
    if format.lower() in ("vcf", "bcf"):
        return VcfSource(paths, **options)  # type: ignore[arg-type]
    raise GenotypeFileError(f"unsupported genotype format {format!r} (supported: vcf, bcf)")
