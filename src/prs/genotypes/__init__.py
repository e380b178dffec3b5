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
* :mod:`~prs.genotypes.plink`: PLINK 2 ``.pgen`` and PLINK 1 ``.bed`` filesets (pgenlib);
* :mod:`~prs.genotypes.bgen`: BGEN 1.2/1.3 files (imported when a BGEN is opened);
* :mod:`~prs.genotypes.zarr`: VCF Zarr stores, as bio2zarr writes them (imported when one
  is opened).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from prs.errors import GenotypeFileError
from prs.genotypes.base import SITE_COLUMNS, DosageChunk, GenotypeSource
from prs.genotypes.bgzf import read_block_table
from prs.genotypes.plink import PlinkSource, missing_files, plink_fileset
from prs.genotypes.sniff import GenotypeFile, sniff
from prs.genotypes.vcf import VcfSource
from prs.genotypes.vcf_header import read_vcf_header
from prs.kernels.jit import numba_started
from prs.vocab import ENGINES, GENOTYPE_FORMATS

__all__ = [
    "SITE_COLUMNS",
    "DosageChunk",
    "GenotypeFile",
    "GenotypeSource",
    "PlinkSource",
    "VcfSource",
    "genotype_format",
    "open_genotypes",
    "read_vcf_header",
    "sniff",
]

_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
_BGEN_SUFFIXES = (".bgen",)
#: A VCF Zarr store is a directory (or a zip of one): named so, or holding Zarr metadata.
_ZARR_SUFFIXES = (".vcz", ".zarr", ".vcz.zip", ".zarr.zip")
_ZARR_METADATA = ("zarr.json", ".zgroup", ".zmetadata")

#: Under ``engine="auto"``, bgzipped VCFs of at most this many compressed bytes in all and
#: :data:`SMALL_VCF_RECORDS` records (estimated: :func:`estimated_lines`) are read by the
#: checked engine, which starts no Numba (~0.3 s a process: docs/performance.md,
#: "Start-up"). Measured on 200-sample GT:DS files (the embedded example's records,
#: repeated), the checked engine's whole run took 0.6-0.8x the fast one's up to ~4 MB and
#: ~1.0x at 7 MB; on 1- and 20-sample files of 44,000 records, 0.7-0.8x.
SMALL_VCF_BYTES = 4 << 20
#: See :data:`SMALL_VCF_BYTES` (the checked engine's pre-scan costs ~7 us a record).
SMALL_VCF_RECORDS = 40_000
#: Options the checked engine takes (others, e.g. ``threads``, are the fast engine's).
_CHECKED_OPTIONS = frozenset({"samples", "dosage", "half_call", "haploid"})


def genotype_format(path: str | os.PathLike[str]) -> str | None:
    """The genotype format ``path``'s name (or, for a directory, its Zarr metadata) says:
    ``"vcf"``, ``"bgen"``, ``"vcf-zarr"``, ``"plink"`` or None when it does not tell.

    Examples
    --------
    >>> genotype_format("chr1.dose.vcf.gz"), genotype_format("ukb_imp_chr1.bgen")
    ('vcf', 'bgen')
    >>> genotype_format("cohort.vcz"), genotype_format("cohort.pgen"), genotype_format("x.dat")
    ('vcf-zarr', 'plink', None)
    """
    name = Path(path).name.lower().rstrip("/")
    if name.endswith(_VCF_SUFFIXES):
        return "vcf"
    if name.endswith(_BGEN_SUFFIXES):
        return "bgen"
    if name.endswith(_ZARR_SUFFIXES) or (
        Path(path).is_dir() and any((Path(path) / m).exists() for m in _ZARR_METADATA)
    ):
        return "vcf-zarr"
    if plink_fileset(path) is not None:
        return "plink"
    return None


def open_genotypes(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    format: str | None = None,
    engine: str = "auto",
    **options: object,
) -> GenotypeSource:
    """Open genotype files as a :class:`GenotypeSource`.

    Each file is looked at once (:func:`prs.genotypes.sniff.sniff`: magic bytes, BGZF
    end-of-file block) and what was found is handed to the source, which checks it and
    reads the header.

    Parameters
    ----------
    paths
        One file, or several (e.g. one VCF per chromosome) holding the same samples.
    format
        One of :data:`prs.vocab.GENOTYPE_FORMATS`: ``"vcf"`` (VCF or BCF), ``"plink"``
        (``.pgen/.pvar/.psam`` or ``.bed/.bim/.fam``,
        :class:`~prs.genotypes.plink.PlinkSource`; ``"pgen"``/``"bed"`` say the same),
        ``"bgen"`` (:class:`prs.genotypes.bgen.BgenSource`) or ``"vcf-zarr"``
        (:class:`prs.genotypes.zarr.VcfZarrSource`). Default (None or ``"auto"``): from
        the file names (:func:`genotype_format`; for PLINK a ``.pgen``/``.bed``, a companion,
        or the prefix). All files of one call are of one format.
    engine
        VCF only: ``"fast"`` (Numba text parser over threaded BGZF inflate,
        :class:`prs.genotypes.fastvcf.FastVcfSource`), ``"checked"`` (cyvcf2,
        :class:`~prs.genotypes.vcf.VcfSource`) or ``"auto"`` (default: fast for bgzipped text
        VCFs, checked for BCF, plain and gzip files, and for small bgzipped VCFs while Numba
        has not started in the process: see :data:`SMALL_VCF_BYTES`). Both give identical
        dosages and errors.
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
    if format is None or format == "auto":
        format = _format_by_name(paths)
    format = format.lower()
    if format not in GENOTYPE_FORMATS:
        raise GenotypeFileError(
            f"unsupported genotype format {format!r} (supported: "
            f"{', '.join(f for f in GENOTYPE_FORMATS if f != 'auto')})"
        )
    if format in ("plink", "pgen", "bed"):
        return PlinkSource(paths, **options)  # type: ignore[arg-type]
    if format == "bgen":
        from prs.genotypes.bgen import BgenSource

        return BgenSource(paths, **options)  # type: ignore[arg-type]
    if format == "vcf-zarr":
        from prs.genotypes.zarr import VcfZarrSource

        return VcfZarrSource(paths, **options)  # type: ignore[arg-type]
    if engine not in ENGINES:
        raise GenotypeFileError(f"engine must be 'auto', 'fast' or 'checked', not {engine!r}")
    if format.lower() in ("vcf", "bcf"):
        # (A missing or cut-short file is named by the source, in its order of checks.)
        files = [sniff(p) for p in paths]
        if engine == "auto" and _small_for_checked(files, options):
            # (before the fast engine's modules are imported: ~15 ms a small run saves)
            return VcfSource(files, **options)  # type: ignore[arg-type]
        if engine != "checked":
            from prs.genotypes.fastvcf import FastVcfSource, qualifies

            if engine == "fast" or all(qualifies(f) for f in files):
                return FastVcfSource(files, **options)  # type: ignore[arg-type]
        return VcfSource(files, **options)  # type: ignore[arg-type]
    raise AssertionError(format)  # pragma: no cover - every GENOTYPE_FORMATS word is above


def _small_for_checked(files: Sequence[GenotypeFile], options: dict[str, object]) -> bool:
    """Whether ``engine="auto"`` reads these BGZF files with the checked engine: Numba
    not started yet, options both engines take, at most :data:`SMALL_VCF_BYTES` and
    :data:`SMALL_VCF_RECORDS` (BCF, BGZF too, goes there anyway; a file whose blocks
    cannot be listed, e.g. plain, gzip or corrupt, is left to the usual choice, so errors
    are named as before)."""
    if numba_started() or not set(options) <= _CHECKED_OPTIONS:
        return False
    if sum(f.size for f in files) > SMALL_VCF_BYTES:
        return False
    records = 0
    for f in files:
        lines = estimated_lines(f.path)
        if lines is None:
            return False
        records += lines
    return records <= SMALL_VCF_RECORDS


def estimated_lines(path: str | os.PathLike[str]) -> int | None:
    """Lines in a BGZF file, estimated from its block table (text bytes in all) and the
    densest of up to 8 blocks spread over it (fewest bytes a line: an over-estimate rather
    than an under-estimate); None when the file cannot be read so (not BGZF, corrupt).

    Examples
    --------
    >>> from prs.example import example_paths
    >>> 2_000 < estimated_lines(example_paths().vcf) < 4_000  # 2,740 records
    True
    """
    try:
        table = read_block_table(path)
        filled = (table.usize > 0).nonzero()[0]
        if len(filled) == 0:
            return 0
        # Up to 8 blocks spread over the file (the header's first block only when alone):
        # one block of a few long lines would make a long file look short.
        body = filled[1:] if len(filled) > 1 else filled
        sampled = body[np.unique(np.linspace(0, len(body) - 1, min(8, len(body))).astype(int))]
        per_line = []
        with open(path, "rb") as fh:
            for block in sampled:
                fh.seek(int(table.coffset[block]))
                text = zlib.decompress(fh.read(int(table.csize[block])), wbits=31)
                per_line.append(len(text) / max(1, text.count(b"\n")))
    except (GenotypeFileError, OSError, zlib.error):
        return None
    return round(int(table.usize.sum()) / min(per_line))


def _format_by_name(paths: Sequence[str | os.PathLike[str]]) -> str:
    """The one format every path's name says (:func:`genotype_format`), else a
    :class:`GenotypeFileError` naming the path that does not tell (or a PLINK fileset's
    missing companions)."""
    found = [genotype_format(p) for p in paths]
    if found and all(f == found[0] for f in found) and found[0] not in (None, "plink"):
        return str(found[0])
    if found and len({f for f in found if f is not None}) > 1:
        kinds = ", ".join(f"{p} ({f or 'unknown'})" for p, f in zip(paths, found, strict=True))
        raise GenotypeFileError(
            f"genotype files of different formats in one run: {kinds}; give one format "
            "(a sample sheet scores several samplesets, each in its own format)"
        )
    unknown = [p for p, f in zip(paths, found, strict=True) if f is None]
    if unknown and any(f not in (None, "plink") for f in found):
        return _plink_by_name(unknown)  # names the first path that does not tell
    return _plink_by_name(paths)


def _plink_by_name(paths: Sequence[str | os.PathLike[str]]) -> str:
    """``"plink"`` when every path names a complete PLINK fileset, else a
    :class:`GenotypeFileError` saying what is missing (the name alone does not tell)."""
    hint = (
        "VCF/BCF: .vcf, .vcf.gz, .bcf; PLINK: .pgen or .bed with its companions, or the "
        "fileset's prefix; BGEN: .bgen; VCF Zarr: .vcz or .zarr; or pass format= "
        "(--genotype-format)"
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
