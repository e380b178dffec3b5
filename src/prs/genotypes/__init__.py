"""Genotype sources: one module per format behind :func:`open_genotypes`.

The layout, one concern per module (each imports only modules above it in this list):

* :mod:`~prs.genotypes.base`: the :class:`GenotypeSource` protocol (and what a source may
  also say: build, notes, records read from GT), the site-table columns, dosage chunks;
* :mod:`~prs.genotypes.options`: the words the readers' options take;
* :mod:`~prs.genotypes.bgzf`: BGZF blocks, the threaded reader, block re-reads;
  :mod:`~prs.genotypes.tabix`: tabix/CSI indexes and window -> block arithmetic;
* :mod:`~prs.genotypes.sniff`: one look at each file (magic, EOF block, BCF or VCF);
* :mod:`~prs.genotypes.vcf_header`: the VCF header, the genome build, the input rules both
  engines share; :mod:`~prs.genotypes.vcf_record`: one record decoded by htslib, named by
  its location;
* the engines: :mod:`~prs.genotypes.vcf` (checked, cyvcf2) and
  :mod:`~prs.genotypes.fastvcf` (fast, Numba kernels: source, scan, regions, cache,
  decode, fallback, site table);
* :mod:`~prs.genotypes.plink`: PLINK 2 ``.pgen`` and PLINK 1 ``.bed`` filesets (pgenlib).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from prs.errors import GenotypeFileError
from prs.genotypes.base import SITE_COLUMNS, DosageChunk, GenotypeSource
from prs.genotypes.plink import PlinkSource, missing_files, plink_fileset
from prs.genotypes.sniff import GenotypeFile, sniff
from prs.genotypes.vcf import VcfSource
from prs.genotypes.vcf_header import read_vcf_header
from prs.vocab import ENGINES

__all__ = [
    "SITE_COLUMNS",
    "DosageChunk",
    "GenotypeFile",
    "GenotypeSource",
    "PlinkSource",
    "VcfSource",
    "open_genotypes",
    "read_vcf_header",
    "sniff",
]

_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")


def open_genotypes(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    format: str | None = None,
    engine: str = "auto",
    **options: object,
) -> GenotypeSource:
    """Open genotype files as a :class:`GenotypeSource`.

    Parameters
    ----------
    paths
        One file, or several (e.g. one VCF per chromosome) holding the same samples.
    format
        ``"vcf"`` (VCF or BCF) or ``"plink"`` (``.pgen/.pvar/.psam`` or ``.bed/.bim/.fam``,
        :class:`~prs.genotypes.plink.PlinkSource`; ``"pgen"``/``"bed"`` say the same).
        Default: from the file name (a ``.pgen``/``.bed``, a companion, or the prefix).
    engine
        VCF only: ``"fast"`` (Numba text parser over threaded BGZF inflate,
        :class:`prs.genotypes.fastvcf.FastVcfSource`), ``"checked"`` (cyvcf2,
        :class:`~prs.genotypes.vcf.VcfSource`) or ``"auto"`` (default: fast for bgzipped text
        VCFs, checked for BCF, plain and gzip files). Both give identical dosages and errors.
    **options
        Passed to the format's source, e.g. ``samples``, ``dosage="DS"``,
        ``half_call="missing"`` (see :class:`prs.genotypes.vcf.VcfSource`).

    Each file is looked at once (:func:`prs.genotypes.sniff.sniff`: magic bytes, BGZF
    end-of-file block) and what was found is handed to the source, which checks it and
    reads the header.

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
            format = _plink_by_name(paths)
    if format.lower() in ("plink", "pgen", "bed"):
        return PlinkSource(paths, **options)  # type: ignore[arg-type]
    if engine not in ENGINES:
        raise GenotypeFileError(f"engine must be 'auto', 'fast' or 'checked', not {engine!r}")
    if format.lower() in ("vcf", "bcf"):
        # (A missing or cut-short file is named by the source, in its order of checks.)
        files = [sniff(p) for p in paths]
        if engine != "checked":
            from prs.genotypes.fastvcf import FastVcfSource, qualifies

            if engine == "fast" or all(qualifies(f) for f in files):
                return FastVcfSource(files, **options)  # type: ignore[arg-type]
        return VcfSource(files, **options)  # type: ignore[arg-type]
    raise GenotypeFileError(
        f"unsupported genotype format {format!r} (supported: vcf, bcf, plink, pgen, bed)"
    )


def _plink_by_name(paths: Sequence[str | os.PathLike[str]]) -> str:
    """``"plink"`` when every path names a complete PLINK fileset, else a
    :class:`GenotypeFileError` saying what is missing (the name alone does not tell)."""
    hint = (
        "VCF/BCF: .vcf, .vcf.gz, .bcf; PLINK: .pgen or .bed with its companions, or the "
        "fileset's prefix; pass format='vcf' or format='plink'"
    )
    for path in paths or [""]:
        fileset = plink_fileset(path)
        if fileset is None:
            raise GenotypeFileError(
                f"{path}: cannot tell the genotype format from the name ({hint})"
            )
        missing = missing_files(fileset)
        if missing:
            raise GenotypeFileError(
                f"{path}: cannot tell the genotype format: a PLINK {fileset.kind} fileset, "
                f"but {', '.join(missing)} missing ({hint})"
            )
    return "plink"
