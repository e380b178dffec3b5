"""The VCF header, and the input rules both VCF engines share.

One module for what the checked engine (:mod:`prs.genotypes.vcf`, cyvcf2) and the fast
engine (:mod:`prs.genotypes.fastvcf`, Numba kernels) must agree on, so they cannot drift:

* the header (:func:`read_vcf_header`): the first line is ``##fileformat=VCF...`` (no UTF-8
  byte-order mark); htslib parses the header; the ``#CHROM`` line has the fixed columns and
  lists samples, none twice; the genome build the header implies (:meth:`VcfHeader.build`,
  through :func:`prs.genome.detect_build`);
* the source's arguments (:func:`check_vcf_inputs`): option words, files listing the same
  samples, the sample subset;
* the records' fixed columns, as messages both engines raise or warn with: CHROM is a VCF
  4.3 contig name, POS is at most :data:`prs.genome.MAX_POSITION`, the file has records;
  records at POS 0, header lines among the records and repeated chrom:pos:ref:alt are
  warned about (:class:`~prs.errors.GenotypeWarning`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from prs.errors import GenotypeFileError
from prs.genome import MAX_POSITION, detect_build
from prs.genotypes.options import check_read_options
from prs.genotypes.sniff import DECOMPRESS_ERRORS, GenotypeFile, open_text, sniff

#: One genotype file or several, as paths or as sniffed files.
GenotypePaths = (
    str | os.PathLike[str] | GenotypeFile | Sequence[str | os.PathLike[str] | GenotypeFile]
)


@dataclass(frozen=True)
class VcfHeader:
    """What prs uses from a VCF header."""

    samples: tuple[str, ...]
    contigs: dict[str, int | None]
    formats: frozenset[str]
    reference: str | None
    n_header_lines: int
    #: FORMAT IDs htslib reads as ``Type=Float`` (DS and GP must be: htslib reads an
    #: undeclared field as text).
    float_formats: frozenset[str] = frozenset()
    #: INFO IDs the header declares (``##INFO=<ID=...``).
    infos: frozenset[str] = frozenset()
    #: The header's bytes as read (every line through ``#CHROM``), which htslib parses a
    #: single record under (:func:`prs.genotypes.vcf.decode_record_line`).
    text: bytes = field(default=b"", repr=False, compare=False)

    def build(self) -> str | None:
        """The genome build the header implies (contig lengths, then ##reference), or None
        (:func:`prs.genome.detect_build`)."""
        return detect_build(self.contigs, self.reference)


#: A valid contig name (VCF 4.3 section 1.4.7): CHROM of every record must be one, as
#: PLINK 2 requires ("Invalid chromosome code"); htslib fails on some (``<1``, ``,1``) and
#: takes others (``*1``), so prs refuses all of them on both engines.
_CONTIG_NAME = re.compile(rb"[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*")


def valid_contig_name(raw: bytes) -> bool:
    """True when ``raw`` (a CHROM as written) is a valid VCF 4.3 contig name."""
    return _CONTIG_NAME.fullmatch(raw) is not None


def bad_chrom_message(where: str, raw: bytes) -> str:
    """The error for a CHROM that is not a valid contig name (both engines)."""
    return (
        f"{where}: CHROM {raw.decode(errors='replace')!r} is not a valid contig name (VCF "
        "4.3 section 1.4.7: letters, digits and !#$%&+./:;?@^_|~- only, not starting "
        "with * or =; no whitespace, commas, quotes or brackets)"
    )


def pos_message(where: str, raw: bytes) -> str:
    """The error for a POS that is not a position in 0..MAX_POSITION (both engines)."""
    text = raw.decode(errors="replace")
    if raw.isdigit():
        return (
            f"{where}: POS {text} is larger than {MAX_POSITION}, the largest position a VCF "
            "can hold (a 32-bit integer; htslib would wrap it)"
        )
    return f"{where}: POS '{text}' is not a position >= 1"


def repeated_header_message(path: str, lines: Sequence[int]) -> str:
    """The warning for header lines among the records (both engines skip them)."""
    return (
        f"{path}: {len(lines)} header line(s) among the records skipped, from line "
        f"{lines[0]} (a repeated header: bgzipped VCFs joined with cat?)"
    )


def repeated_header_lines(
    path: str | os.PathLike[str] | GenotypeFile, n_header_lines: int
) -> list[int]:
    """Line numbers of lines starting with ``#`` after the header's ``n_header_lines``."""
    found = []
    with open_text(sniff(path)) as fh:
        for line_no, line in enumerate(fh, start=1):
            if line_no > n_header_lines and line.startswith(b"#"):
                found.append(line_no)
    return found


def duplicate_records_message(paths: Sequence[str], sites: pd.DataFrame) -> str | None:
    """The warning for records at wanted positions that repeat an earlier record's
    chrom:pos:ref:alt (the matcher uses the first; the report names the others), or None.
    Counted on the site table, so both engines count the same."""
    pos = sites["pos"].to_numpy()
    if len(pos) < 2:
        return None
    values, counts = np.unique(pos, return_counts=True)
    shared = np.isin(pos, values[counts > 1])
    if not shared.any():
        return None
    subset = sites[shared]
    repeated = subset.duplicated(["chrom", "pos", "ref", "alt"], keep="first")
    records = subset["record"][repeated]
    if not len(records):
        return None
    first = subset[repeated].iloc[0]
    where = paths[0] if len(paths) == 1 else f"{paths[0]} (and {len(paths) - 1} more)"
    return (
        f"{where}: {records.nunique()} record(s) repeat an earlier record's "
        f"chrom:pos:ref:alt (e.g. {first['chrom']}:{first['pos']} {first['ref']}>"
        f"{first['alt']}); the first is used, the report lists the others as duplicates"
    )


def no_records_message(path: str) -> str:
    """The error for a VCF with a header and no records (both engines, as PLINK 2's "No
    variants"): nothing in it could be scored, and a run would only fail later on a match
    rate of 0."""
    return f"{path}: no variant records after the header (the file holds only a header)"


def zero_pos_message(path: str, count: int) -> str:
    """The warning for records at POS 0 (telomeres), skipped by both engines."""
    return (
        f"{path}: {count} record(s) at POS 0 (a telomere, VCF 4.3) skipped: no scoring "
        "position is 0, so they cannot match"
    )


def _parse_header_lines(path: Path, lines: list[bytes]) -> VcfHeader:
    contigs: dict[str, int | None] = {}
    formats: set[str] = set()
    infos: set[str] = set()
    reference = None
    samples: tuple[str, ...] | None = None
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("##contig=<"):
            body = line[len("##contig=<") :].rstrip(">")
            fields = dict(part.split("=", 1) for part in body.split(",") if "=" in part)
            length = fields.get("length")
            contigs[fields.get("ID", "")] = int(length) if length and length.isdigit() else None
        elif line.startswith("##FORMAT=<"):
            for part in line[len("##FORMAT=<") :].split(","):
                if part.startswith("ID="):
                    formats.add(part[3:])
        elif line.startswith("##INFO=<"):
            for part in line[len("##INFO=<") :].split(","):
                if part.startswith("ID="):
                    infos.add(part[3:])
        elif line.startswith("##reference="):
            reference = line[len("##reference=") :]
        elif line.startswith("#CHROM"):
            columns = line.split("\t")
            fixed = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
            if columns[:8] != fixed:
                raise GenotypeFileError(
                    f"{path}: the #CHROM header line does not have the 8 fixed VCF columns "
                    f"(found {columns[:8]})"
                )
            if len(columns) > 8 and columns[8] != "FORMAT":
                raise GenotypeFileError(
                    f"{path}: the #CHROM header line's 9th column is {columns[8]!r}, "
                    "expected FORMAT (columns must be tab-separated)"
                )
            samples = tuple(columns[9:])
            if not samples:
                # Both engines, one rule (as PLINK 2's "No samples"): a sites-only VCF has
                # no genotypes to score.
                raise GenotypeFileError(
                    f"{path}: no samples in the #CHROM line (a sites-only VCF has no "
                    "genotypes to score)"
                )
    if samples is None:
        raise GenotypeFileError(f"{path}: no #CHROM header line (not a VCF file?)")
    dup = pd.Index(samples)[pd.Index(samples).duplicated()]
    if len(dup):
        raise GenotypeFileError(f"{path}: duplicated sample ID '{dup[0]}' in the header")
    return VcfHeader(
        samples,
        contigs,
        frozenset(formats),
        reference,
        len(lines),
        infos=frozenset(infos),
        text=b"".join(lines),
    )


#: INFO IDs that make the VCF engines' site tables carry ``r2`` and ``imputed``
#: (:data:`prs.genotypes.vcf_record.QUALITY_COLUMNS`).
QUALITY_INFOS = frozenset({"R2", "DR2", "INFO", "IMPUTED", "IMP", "TYPED"})


def declares_quality(headers: Sequence[VcfHeader]) -> bool:
    """True when a header declares an imputation-quality INFO field (R2, DR2, INFO,
    IMPUTED, IMP or TYPED, as Minimac, Beagle and imputation servers write them): the site
    table then has ``r2`` and ``imputed``. Files without (typed arrays, sequencing) keep the
    plain site table."""
    return any(h.infos & QUALITY_INFOS for h in headers)


def read_vcf_header(path: str | os.PathLike[str] | GenotypeFile) -> VcfHeader:
    """Read a VCF/BCF header (samples, contigs, FORMAT fields, reference), after checking
    the file is there and whole.

    Parameters
    ----------
    path
        A file, or what :func:`prs.genotypes.sniff.sniff` found about it (then the file is
        not looked at again before its header is read).

    Returns
    -------
    VcfHeader

    Raises
    ------
    GenotypeFileError
        A missing file or a directory, a BGZF file without its end-of-file block, a header
        that cannot be read, lacks ``##fileformat`` or ``#CHROM`` (or its samples), or that
        htslib refuses.

    Examples
    --------
    >>> from prs.example import example_paths
    >>> header = read_vcf_header(example_paths().vcf)
    >>> len(header.samples), header.build()
    (200, 'GRCh38')
    """
    file = sniff(path)
    file.check_present()
    file.check_complete()
    path = file.path
    try:
        if file.is_bcf():
            return _bcf_header(path)
        lines: list[bytes] = []
        with open_text(file) as fh:
            for line in fh:
                if not line.startswith(b"#"):
                    if not lines:
                        lines.append(line)  # (named by the ##fileformat check below)
                    break
                lines.append(line)
                if line.startswith(b"#CHROM"):
                    break
    except DECOMPRESS_ERRORS as exc:
        raise GenotypeFileError(
            f"{path}: cannot read the header ({type(exc).__name__}: {exc}); the file is "
            "truncated or corrupt"
        ) from exc
    check_fileformat(path, lines[0] if lines else b"")
    header = _parse_header_lines(path, lines)
    return dataclasses.replace(header, float_formats=_htslib_float_formats(path))


def _htslib_float_formats(path: Path) -> frozenset[str]:
    """The FORMAT IDs htslib reads as Float, after checking htslib parses the header (a
    ``#comment`` among the ``##`` lines, a NUL byte...). The checked engine reads records
    through htslib, so both engines refuse a header htslib refuses, before any record is
    read, and both take a field's type from htslib's reading of the header (it drops a
    malformed ``##FORMAT`` line and then reads the field as text)."""
    from cyvcf2 import VCF

    try:
        vcf = VCF(str(path), lazy=True)
    except Exception as exc:  # cyvcf2 raises a bare Exception
        raise GenotypeFileError(
            f"{path}: htslib cannot parse the header ({exc}); check its ## lines (each "
            "starts with ##, no NUL bytes, well-formed <...> fields)"
        ) from None
    try:
        return frozenset(
            str(line.info().get("ID"))
            for line in vcf.header_iter()
            if line.type == "FORMAT" and line.info().get("Type") == "Float"
        )
    finally:
        vcf.close()


def check_fileformat(path: Path | str, first: bytes) -> None:
    """Raise unless ``first`` (a text VCF's first line) is ``##fileformat=VCF...``.

    One rule for both engines: htslib refuses a VCF without it (an ``OSError`` from
    cyvcf2), so the fast engine refuses it too, plain or bgzipped; a UTF-8 byte-order mark
    (left by some Windows editors) is named as such.
    """
    if first.startswith(b"\xef\xbb\xbf"):
        raise GenotypeFileError(
            f"{path}: starts with a UTF-8 byte-order mark (EF BB BF), which VCF does not "
            "allow; save the file without it"
        )
    text = first.rstrip(b"\r\n")
    if not text.startswith(b"##fileformat=VCF"):
        shown = text[:60].decode(errors="replace")
        found = (
            f"found {shown!r}"
            if text
            else "found an empty file"
            if not first
            else "found an empty line"
        )
        raise GenotypeFileError(
            f"{path} line 1: expected the ##fileformat=VCFv4.x line ({found}); every VCF "
            "starts with it (htslib refuses a file without it)"
        )


def _bcf_header(path: Path) -> VcfHeader:
    from cyvcf2 import VCF

    vcf = VCF(str(path), lazy=True)
    try:
        raw = vcf.raw_header.encode()
    finally:
        vcf.close()
    header = _parse_header_lines(path, raw.splitlines(keepends=True))
    return dataclasses.replace(header, float_formats=_htslib_float_formats(path))


def headers_build(headers: Sequence[VcfHeader]) -> str | None:
    """The genome build every header that names one agrees on, or None."""
    builds = {h.build() for h in headers} - {None}
    return builds.pop() if len(builds) == 1 else None


@dataclass(frozen=True)
class VcfInputs:
    """Checked constructor arguments shared by the VCF sources.

    ``sample_index[i]`` is the file column of output sample ``i``; ``files[i]`` is what
    :func:`~prs.genotypes.sniff.sniff` found about ``paths[i]``.
    """

    paths: tuple[str, ...]
    headers: tuple[VcfHeader, ...]
    file_samples: tuple[str, ...]
    samples: tuple[str, ...]
    sample_index: np.ndarray
    files: tuple[GenotypeFile, ...] = ()


def check_vcf_inputs(
    paths: GenotypePaths,
    *,
    samples: Sequence[str] | None,
    dosage: str,
    half_call: str,
    haploid: str,
    check_file: Callable[[GenotypeFile], None] | None = None,
) -> VcfInputs:
    """Validate a VCF source's options, read every header (then ``check_file`` each file)
    and resolve the sample subset; every problem is a :class:`GenotypeFileError`.

    ``paths`` may hold what :func:`~prs.genotypes.sniff.sniff` found (as
    :func:`prs.genotypes.open_genotypes` passes them): those files are not looked at again.
    """
    if isinstance(paths, (str, os.PathLike, GenotypeFile)):
        paths = [paths]
    files = tuple(sniff(p) for p in paths)  # (records what it finds; raises nothing)
    names = tuple(file.name for file in files)
    if not names:
        raise GenotypeFileError("no genotype files given")
    check_read_options(dosage=dosage, half_call=half_call, haploid=haploid)
    headers = tuple(read_vcf_header(file) for file in files)
    if check_file is not None:
        for file in files:
            check_file(file)
    first = headers[0].samples
    for path, header in zip(names[1:], headers[1:], strict=True):
        if header.samples != first:
            raise GenotypeFileError(
                f"{path}: its samples differ from those of {names[0]} "
                f"({len(header.samples)} vs {len(first)} samples, or another order); "
                "files of one source must list the same samples in the same order"
            )
    if samples is None:
        everyone = np.arange(len(first), dtype=np.int64)
        return VcfInputs(names, headers, first, first, everyone, files)
    return VcfInputs(names, headers, first, *_sample_subset(names[0], first, samples), files)


def _sample_subset(
    path: str, file_samples: tuple[str, ...], samples: Sequence[str]
) -> tuple[tuple[str, ...], np.ndarray]:
    """The requested samples and their file columns, each checked to be there once."""
    if not len(samples):
        raise GenotypeFileError(f"{path}: samples= selects no sample (an empty list)")
    repeated = pd.Index(list(samples))[pd.Index(list(samples)).duplicated()]
    if len(repeated):
        raise GenotypeFileError(
            f"{path}: sample '{repeated[0]}' is requested more than once; list each sample once"
        )
    position = {s: i for i, s in enumerate(file_samples)}
    missing = [s for s in samples if s not in position]
    if missing:
        raise GenotypeFileError(
            f"{path}: {len(missing)} requested sample(s) not in the file, e.g. '{missing[0]}'"
        )
    index = np.array([position[s] for s in samples], dtype=np.int64)
    return tuple(samples), index
