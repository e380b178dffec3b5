"""VCF and BCF genotypes through cyvcf2: the checked path.

Reading happens in two passes over each file:

1. A text pre-scan (VCF) validates every record's fixed columns before htslib sees them
   (cyvcf2 crashes on a blank line or an empty CHROM, and htslib reads a bgzip file cut at
   a block boundary as a valid shorter file) and builds the site table. BGZF text is read
   through :class:`prs.genotypes.bgzf.BgzfReader` (each block's CRC checked before its
   text is used; several members, e.g. files joined with ``cat``, read in order).
2. cyvcf2 streams the records; only requested ones are decoded into dosages, from allele
   indexes (never from ``gt_types``), DS or GP. A record htslib cannot parse is an error
   only when it is requested (the fast engine never parses the others either).

Record numbers are global across the files of a source, in reading order; the second pass
checks that it meets the same records (chrom and position) the first one saw.

The rules both engines share, each a :class:`~prs.errors.GenotypeFileError` naming the file
(and line): the first line is ``##fileformat=VCF...`` (no UTF-8 byte-order mark); htslib
parses the header; the ``#CHROM`` line lists samples; the file has records; CHROM is a VCF
4.3 contig name; POS is at most :data:`prs.chrom.MAX_POSITION`; a DS/GP field read is
declared ``Type=Float``; a FORMAT key read has a value in some sample. What both engines
read but warn about (:class:`~prs.errors.GenotypeWarning`, also kept in ``notes``): records
at POS 0 (skipped: no scoring position is 0), header lines among the records (skipped),
records repeating an earlier chrom:pos:ref:alt (the first is used). A call of more than two
alleles is missing, as in PLINK 2.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io
import os
import re
import shutil
import tempfile
import warnings
import weakref
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from isal import isal_zlib

from prs.chrom import MAX_POSITION, normalize_chrom
from prs.errors import GenotypeFileError, GenotypeWarning
from prs.genotypes import bgzf
from prs.genotypes.base import SITE_COLUMNS, DosageChunk
from prs.genotypes.bgzf import BGZF_EOF  # noqa: F401  (re-exported: the EOF block)

DOSAGE_FIELDS = ("GT", "DS", "GP")
HALF_CALL_POLICIES = ("error", "missing", "haploid", "reference")
HAPLOID_POLICIES = ("as-diploid", "haploid")

# htslib's float sentinels (bit patterns) for a missing value and a vector end.
_FLOAT_MISSING = np.uint32(0x7F800001)
_FLOAT_VECTOR_END = np.uint32(0x7F800002)

# Chromosome lengths that tell GRCh37 from GRCh38 (##contig length=...).
_CONTIG_LENGTHS = {
    "GRCh37": {"1": 249250621, "2": 243199373, "20": 63025520, "22": 51304566, "X": 155270560},
    "GRCh38": {"1": 248956422, "2": 242193529, "20": 64444167, "22": 50818468, "X": 156040895},
}


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

    def build(self) -> str | None:
        """The genome build the header implies (contig lengths, then ##reference), or None."""
        votes: set[str] = set()
        for raw, length in self.contigs.items():
            chrom = normalize_chrom(raw)
            for build, lengths in _CONTIG_LENGTHS.items():
                if length is not None and lengths.get(chrom) == length:
                    votes.add(build)
        if len(votes) == 1:
            return votes.pop()
        if self.reference:
            ref = self.reference.lower()
            if any(k in ref for k in ("grch38", "hg38", "hs38", "b38")):
                return "GRCh38"
            if any(k in ref for k in ("grch37", "hg19", "hs37", "b37", "human_g1k_v37")):
                return "GRCh37"
        return None


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


def repeated_header_lines(path: str | os.PathLike[str], n_header_lines: int) -> list[int]:
    """Line numbers of lines starting with ``#`` after the header's ``n_header_lines``."""
    found = []
    with _open_text(Path(path)) as fh:
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


def check_bgzf_complete(path: Path) -> None:
    """Raise if a BGZF file (``.vcf.gz``, ``.bcf``) lacks its end-of-file block
    (:func:`prs.genotypes.bgzf.check_eof`); plain gzip detects truncation itself."""
    if bgzf.is_bgzf(path):
        bgzf.check_eof(path)


#: What a decompressor (isal's igzip, gzip, zlib) raises on a corrupt or cut-short stream.
DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    zlib.error,
    isal_zlib.error,
    gzip.BadGzipFile,
)


def _open_text(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        try:
            from isal import igzip

            return igzip.open(path, "rb")
        except ImportError:  # pragma: no cover - isal is a dependency
            return gzip.open(path, "rb")
    return open(path, "rb")


def _only_fields(line: bytes, keep: Sequence[str]) -> bytes:
    """A record line with ID, QUAL, FILTER and INFO set to ``.`` and only the FORMAT keys in
    ``keep`` (first occurrences, in the line's order; a subfield a sample lacks before a
    kept one becomes ``.``)."""
    fields = line.split(b"\t")
    fields[2] = b"."
    fields[5:8] = [b".", b".", b"."]
    if len(fields) < 10:
        return b"\t".join(fields)
    keys = fields[8].split(b":")
    wanted = {k.encode() for k in keep}
    index = [i for i, k in enumerate(keys) if k in wanted and keys.index(k) == i]
    if not index:
        return b"\t".join(fields)
    out = [*fields[:8], b":".join(keys[i] for i in index)]
    for cell in fields[9:]:
        parts = cell.split(b":")
        values = [parts[i] if i < len(parts) else None for i in index]
        while values and values[-1] is None:
            values.pop()
        out.append(b":".join(b"." if v is None else v for v in values) or b".")
    return b"\t".join(out)


def _text_of(variant: object, name: str) -> str:
    """A cyvcf2 variant's text attribute, or ``'?'`` where its bytes are not UTF-8."""
    try:
        return str(getattr(variant, name))
    except UnicodeDecodeError:
        return "?"


def _text_lines(path: Path) -> Iterator[bytes]:
    """The lines of a text VCF (plain, gzip or BGZF), each with its newline.

    A BGZF file is read block by block through :class:`prs.genotypes.bgzf.BgzfReader`,
    which checks each block's CRC-32 before its text is used (a streaming gzip reader
    hands out a corrupt member's text before its CRC fails) and reads several members
    (files joined with cat) the same way the fast engine does: corrupt data is the same
    error on both engines.
    """
    if not bgzf.is_bgzf(path):
        with _open_text(path) as fh:
            yield from fh
        return
    carry = b""
    for chunk in bgzf.BgzfReader(path):
        text = chunk.buffer[bgzf.CARRY_ROOM : bgzf.CARRY_ROOM + chunk.size].tobytes()
        lines = (carry + text).split(b"\n")
        carry = lines.pop()
        for line in lines:
            yield line + b"\n"
    if carry:
        yield carry


def _is_bcf(path: Path) -> bool:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        with gzip.open(path, "rb") as gz:
            return gz.read(3) == b"BCF"
    return magic == b"BC"


def _parse_header_lines(path: Path, lines: list[bytes]) -> VcfHeader:
    contigs: dict[str, int | None] = {}
    formats: set[str] = set()
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
    return VcfHeader(samples, contigs, frozenset(formats), reference, len(lines))


def read_vcf_header(path: str | os.PathLike[str]) -> VcfHeader:
    """Read a VCF/BCF header (samples, contigs, FORMAT fields, reference)."""
    path = Path(path)
    if path.is_dir():
        raise GenotypeFileError(f"{path}: is a directory, not a VCF file; name the file(s)")
    if not path.is_file():
        raise GenotypeFileError(f"{path}: genotype file not found")
    check_bgzf_complete(path)
    try:
        if _is_bcf(path):
            return _bcf_header(path)
        lines: list[bytes] = []
        with _open_text(path) as fh:
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


def _keys_without_data(rest: bytes) -> frozenset[str]:
    """GT, DS or GP listed in FORMAT (``rest`` is FORMAT and the sample columns) but
    reached by no sample's subfields. htslib types such a field as empty and exits the
    process (``exit(1)``) when asked for its values, so the decoder refuses it first."""
    fmt, _, samples = rest.partition(b"\t")
    keys = fmt.split(b":")
    first_at: dict[bytes, int] = {}
    for i, key in enumerate(keys):
        first_at.setdefault(key, i)  # (htslib and the fast kernels use the first)
    late = {k.decode(): i for k, i in first_at.items() if i >= 1 and k in (b"GT", b"DS", b"GP")}
    if not late:
        return frozenset()
    first = samples.split(b"\t", 1)[0]
    reach = first.count(b":")
    if all(i <= reach for i in late.values()):
        return frozenset()
    reach = max(cell.count(b":") for cell in samples.split(b"\t"))
    return frozenset(k for k, i in late.items() if i > reach)


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

    ``sample_index[i]`` is the file column of output sample ``i``.
    """

    paths: tuple[str, ...]
    headers: tuple[VcfHeader, ...]
    file_samples: tuple[str, ...]
    samples: tuple[str, ...]
    sample_index: np.ndarray


def check_vcf_inputs(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    samples: Sequence[str] | None,
    dosage: str,
    half_call: str,
    haploid: str,
    check_path: Callable[[str], None] | None = None,
) -> VcfInputs:
    """Validate a VCF source's options, read every header (then ``check_path`` each file)
    and resolve the sample subset; every problem is a :class:`GenotypeFileError`."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    names = tuple(str(p) for p in paths)
    if not names:
        raise GenotypeFileError("no genotype files given")
    if dosage not in DOSAGE_FIELDS:
        raise GenotypeFileError(f"dosage must be one of {DOSAGE_FIELDS}, not {dosage!r}")
    if half_call not in HALF_CALL_POLICIES:
        raise GenotypeFileError(f"half_call must be one of {HALF_CALL_POLICIES}")
    if haploid not in HAPLOID_POLICIES:
        raise GenotypeFileError(f"haploid must be one of {HAPLOID_POLICIES}")
    headers = tuple(read_vcf_header(p) for p in names)
    if check_path is not None:
        for path in names:
            check_path(path)
    first = headers[0].samples
    for path, header in zip(names[1:], headers[1:], strict=True):
        if header.samples != first:
            raise GenotypeFileError(
                f"{path}: its samples differ from those of {names[0]} "
                f"({len(header.samples)} vs {len(first)} samples, or another order); "
                "files of one source must list the same samples in the same order"
            )
    if samples is None:
        return VcfInputs(names, headers, first, first, np.arange(len(first), dtype=np.int64))
    if not len(samples):
        raise GenotypeFileError(f"{names[0]}: samples= selects no sample (an empty list)")
    repeated = pd.Index(list(samples))[pd.Index(list(samples)).duplicated()]
    if len(repeated):
        raise GenotypeFileError(
            f"{names[0]}: sample '{repeated[0]}' is requested more than once; list each sample once"
        )
    position = {s: i for i, s in enumerate(first)}
    missing = [s for s in samples if s not in position]
    if missing:
        raise GenotypeFileError(
            f"{names[0]}: {len(missing)} requested sample(s) not in the file, e.g. '{missing[0]}'"
        )
    index = np.array([position[s] for s in samples], dtype=np.int64)
    return VcfInputs(names, headers, first, tuple(samples), index)


class VcfSource:
    """Genotypes from one VCF/BCF file or several (e.g. one per chromosome).

    Parameters
    ----------
    paths
        One path or a sequence; every file must list the same samples in the same order.
    samples
        Keep only these sample IDs (output in this order). Default: all.
    dosage
        ``"GT"`` hard calls (default), ``"DS"`` dosages (per ALT allele, as imputation
        servers write them; records without DS fall back to GT, counted), or ``"GP"``
        genotype probabilities converted to dosage (biallelic records).
    half_call
        What a half-missing call such as ``0/.`` means: ``"error"`` (default, as PLINK 2's
        ``--vcf-half-call error``), ``"missing"`` (the whole call is missing),
        ``"haploid"`` (the called allele alone), ``"reference"`` (the missing allele is REF).
    haploid
        ``"as-diploid"`` (default, as PLINK 2 scores VCF haploid calls such as chrX in
        males: a haploid ``1`` counts as two copies and two alleles) or ``"haploid"``
        (one copy, one allele).

    Attributes
    ----------
    notes
        The message of every :class:`~prs.errors.GenotypeWarning` the source issued, in
        order (for the run's provenance).

    Raises
    ------
    GenotypeFileError
        A missing or truncated file, a malformed header or record (named by file, line,
        chrom:pos and value; see the module's rules), or files whose samples differ.
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        samples: Sequence[str] | None = None,
        dosage: str = "GT",
        half_call: str = "error",
        haploid: str = "as-diploid",
    ) -> None:
        inputs = check_vcf_inputs(
            paths, samples=samples, dosage=dosage, half_call=half_call, haploid=haploid
        )
        self.paths = inputs.paths
        self.headers = inputs.headers
        self.samples: tuple[str, ...] = inputs.samples
        self._sample_index = inputs.sample_index
        first = inputs.file_samples
        self.dosage_field = dosage
        self.half_call = half_call
        self.haploid = haploid
        # cyvcf2 returns a sample subset in file order; this maps it to the requested order.
        file_sorted = np.sort(self._sample_index)
        self._file_order_names = tuple(first[j] for j in file_sorted)
        self._to_output = np.searchsorted(file_sorted, self._sample_index)
        self._subset = (
            None
            if len(self._sample_index) == len(first)
            and np.array_equal(self._sample_index, np.arange(len(first)))
            else list(self._file_order_names)
        )
        self._sites: pd.DataFrame | None = None
        self._records: list[tuple[int, int, str, int]] | None = None  # file, line, chrom, pos
        self.fallback_to_gt = 0
        #: Every :class:`~prs.errors.GenotypeWarning` this source issued (records skipped
        #: or duplicated, ...), in order, for the run's provenance.
        self.notes: list[str] = []
        self._repeated_header: dict[str, list[int]] = {}
        self._empty_keys: dict[int, frozenset[str]] = {}  # record -> FORMAT keys without data
        # record -> ALT count, FORMAT keys (None: from cyvcf2, for BCF)
        self._record_info: dict[int, tuple[int, tuple[str, ...] | None]] = {}
        self._copies: dict[str, str] = {}
        self._nul_lines: set[tuple[str, int]] = set()  # (path, line) holding a NUL byte
        self._undeclared: dict[str, list[bytes]] = {}  # CHROMs the header does not declare

    def build(self) -> str | None:
        """The genome build the headers agree on (``##contig`` lengths, ``##reference``),
        or None."""
        return headers_build(self.headers)

    def _note(self, message: str) -> None:
        """Warn (:class:`~prs.errors.GenotypeWarning`) and keep the message in notes."""
        self.notes.append(message)
        warnings.warn(message, GenotypeWarning, stacklevel=3)

    # -- pass 1 ---------------------------------------------------------------------------
    def sites(self, wanted: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
        """Validate every record's fixed columns and return the site table.

        See :meth:`prs.genotypes.base.GenotypeSource.sites`. All records are validated
        whatever ``wanted`` says; only those at wanted positions are tabulated.
        """
        wanted_sets = None
        if wanted is not None:
            wanted_sets = {
                c: set(np.asarray(p, dtype=np.int64).tolist()) for c, p in wanted.items()
            }
        rows: dict[str, list] = {c: [] for c in SITE_COLUMNS}
        records: list[tuple[int, int, str, int]] = []
        record = 0
        for file_index, path in enumerate(self.paths):
            header = self.headers[file_index]
            if _is_bcf(Path(path)):
                scan = self._scan_bcf(Path(path))
            else:
                scan = self._scan_text(Path(path), header)
            zero = 0
            for line_no, chrom, pos, vid, ref, alts, empty, keys in scan:
                records.append((file_index, line_no, chrom, pos))
                if empty:
                    self._empty_keys[record] = empty
                if pos == 0:  # numbered (htslib reads it) but never listed
                    zero += 1
                elif wanted_sets is None or pos in wanted_sets.get(chrom, ()):
                    # What the decoder needs from the text (cyvcf2 fails on non-UTF-8 ALT
                    # or FORMAT bytes, which the fast engine reads as bytes).
                    self._record_info[record] = (len(alts), keys)
                    n_alleles = len(alts) + 1
                    # A record without ALT (monomorphic) is still a site: REF can match.
                    for k, alt in enumerate(alts or [""], start=1 if alts else 0):
                        rows["chrom"].append(chrom)
                        rows["pos"].append(pos)
                        rows["ref"].append(ref)
                        rows["alt"].append(alt)
                        rows["allele_index"].append(k)
                        rows["n_alleles"].append(n_alleles)
                        rows["record"].append(record)
                        rows["file"].append(file_index)
                        rows["id"].append(vid)
                record += 1
            if zero:
                self._note(zero_pos_message(path, zero))
            if self._repeated_header.get(path):
                self._note(repeated_header_message(path, self._repeated_header[path]))
            if not records or records[-1][0] != file_index:
                raise GenotypeFileError(no_records_message(path))
        self._records = records
        table = pd.DataFrame(rows, columns=list(SITE_COLUMNS))
        table = table.astype(
            {
                "pos": np.int64,
                "allele_index": np.int16,
                "n_alleles": np.int16,
                "record": np.int64,
                "file": np.int32,
            }
        )
        self._sites = table
        duplicates = duplicate_records_message(self.paths, table)
        if duplicates:
            self._note(duplicates)
        return table

    def _scan_text(
        self, path: Path, header: VcfHeader
    ) -> Iterator[tuple[int, str, int, str, str, list[str], frozenset[str], tuple[str, ...]]]:
        n_columns = 9 + len(header.samples) if header.samples else None
        chrom_cache: dict[bytes, str] = {}
        valid_names: set[bytes] = set()
        # Header lines after the header (files joined with cat): skipped here and by the
        # fast engine; htslib cannot read past them, so read() gives it a copy without.
        repeated = self._repeated_header[str(path)] = []
        declared = {name.encode() for name in header.contigs}
        undeclared = self._undeclared[str(path)] = []
        line_no = 0
        try:
            for line in _text_lines(path):
                line_no += 1
                if line.startswith(b"#"):
                    if line_no > header.n_header_lines:
                        repeated.append(line_no)
                    continue
                text = line.rstrip(b"\r\n")
                where = f"{path} line {line_no}"
                if b"\x00" in text:  # htslib's C strings end there: see read()
                    self._nul_lines.add((str(path), line_no))
                if not text.strip():
                    raise GenotypeFileError(f"{where}: blank line inside the records")
                fields = text.split(b"\t", 8)
                if len(fields) < 8:
                    raise GenotypeFileError(
                        f"{where}: {len(fields)} tab-separated columns, a VCF record needs "
                        "at least 8"
                    )
                raw_chrom, raw_pos, vid, ref, alt = fields[:5]
                if not raw_chrom.strip():
                    raise GenotypeFileError(f"{where}: empty CHROM")
                if not raw_pos.isdigit() or int(raw_pos) > MAX_POSITION:
                    raise GenotypeFileError(pos_message(where, raw_pos))
                pos = int(raw_pos)
                chrom = chrom_cache.get(raw_chrom)
                if chrom is None:
                    chrom = normalize_chrom(raw_chrom.decode(errors="replace"))
                    chrom_cache[raw_chrom] = chrom
                if n_columns is not None:
                    found = text.count(b"\t") + 1
                    if found != n_columns:
                        raise GenotypeFileError(
                            f"{where} ({chrom}:{pos}): {found} columns, expected "
                            f"{n_columns} (9 fixed + {len(header.samples)} samples)"
                        )
                ref_s = ref.decode(errors="replace").upper()
                if not ref_s or ref_s == ".":
                    raise GenotypeFileError(f"{where} ({chrom}:{pos}): empty REF")
                if raw_chrom not in valid_names:
                    if not valid_contig_name(raw_chrom):
                        raise GenotypeFileError(bad_chrom_message(where, raw_chrom))
                    valid_names.add(raw_chrom)
                    if raw_chrom not in declared:
                        undeclared.append(raw_chrom)
                alt_s = alt.decode(errors="replace").upper()
                alts = [] if alt_s in (".", "") else alt_s.split(",")
                rest = fields[8] if len(fields) > 8 else b""
                empty = _keys_without_data(rest) if rest else frozenset()
                keys = tuple(rest.split(b"\t", 1)[0].decode(errors="replace").split(":"))
                yield line_no, chrom, pos, vid.decode(errors="replace"), ref_s, alts, empty, keys
        except DECOMPRESS_ERRORS as exc:
            raise GenotypeFileError(
                f"{path}: cannot decompress after line {line_no} ({type(exc).__name__}: "
                f"{exc}); the file is truncated or corrupt"
            ) from exc

    def _scan_bcf(
        self, path: Path
    ) -> Iterator[
        tuple[int, str, int, str, str, list[str], frozenset[str], tuple[str, ...] | None]
    ]:
        from cyvcf2 import VCF

        vcf = VCF(str(path), samples=[])
        try:
            for ordinal, variant in enumerate(vcf, start=1):
                chrom = normalize_chrom(variant.CHROM)
                yield (
                    ordinal,
                    chrom,
                    int(variant.POS),
                    variant.ID or ".",
                    variant.REF.upper(),
                    [a.upper() for a in variant.ALT],
                    frozenset(),
                    None,  # FORMAT: read from the decoded variant (here it would crash)
                )
        finally:
            vcf.close()

    # -- pass 2 ---------------------------------------------------------------------------
    def read(
        self, records: np.ndarray, alleles: np.ndarray, *, chunk_size: int = 1024
    ) -> Iterator[DosageChunk]:
        """Stream dosages of ``alleles[i]`` at ``records[i]`` (see the protocol)."""
        from cyvcf2 import VCF

        if self._records is None:
            self.sites()
        assert self._records is not None
        records = np.asarray(records, dtype=np.int64)
        alleles = np.asarray(alleles, dtype=np.int64)
        if len(records) and np.any(np.diff(records) < 0):
            raise ValueError("records must be sorted ascending")
        counts = np.bincount([r[0] for r in self._records], minlength=len(self.paths))
        first_record_of_file = np.concatenate([[0], np.cumsum(counts)])

        buf_req: list[int] = []
        buf_dos: list[np.ndarray] = []
        buf_plo: list[np.ndarray] = []
        i = 0
        total = len(records)
        for file_index, path in enumerate(self.paths):
            lo, hi = first_record_of_file[file_index], first_record_of_file[file_index + 1]
            if i >= total or records[i] >= hi:
                continue
            vcf = VCF(self._htslib_path(path), samples=self._subset, gts012=False, strict_gt=False)
            record = lo
            iterator = iter(vcf)
            try:
                while i < total and records[i] < hi:
                    failure: Exception | None = None
                    try:
                        variant = next(iterator)
                    except StopIteration:
                        raise GenotypeFileError(
                            f"{path}: ended at record {record - lo} but the pre-scan saw "
                            f"{hi - lo}; the file changed while it was read"
                        ) from None
                    except Exception as exc:  # htslib parse error on this record
                        if records[i] != record:
                            # Not requested: the fast engine never parses it either, and
                            # htslib goes on with the next line.
                            record += 1
                            continue
                        failure = exc
                    if records[i] != record:
                        record += 1
                        continue
                    _f, line_no, chrom, pos = self._records[record]
                    if failure is None and (path, line_no) in self._nul_lines:
                        # htslib reads the line only up to a NUL byte (in ID, INFO...): parse
                        # again without the fields prs does not read, as for a refused line.
                        failure = GenotypeFileError("a NUL byte in the record")
                    if failure is None and int(variant.POS) != pos:
                        raise GenotypeFileError(
                            f"{path} line {line_no}: expected {chrom}:{pos}, read "
                            f"{_text_of(variant, 'CHROM')}:{variant.POS}; the file "
                            "changed while it was read"
                        )
                    want: list[int] = []
                    while i < total and records[i] == record:
                        want.append(int(alleles[i]))
                        i += 1
                    where = f"{path} line {line_no} ({chrom}:{pos})"
                    with contextlib.ExitStack() as stack:
                        if failure is not None:
                            variant = stack.enter_context(
                                self._reparsed(path, file_index, line_no, where, failure)
                            )
                        dos, plo = self._decode(
                            variant,
                            want,
                            where,
                            self.headers[file_index],
                            self._empty_keys.get(record, frozenset()),
                            self._record_info[record],
                        )
                    if self._subset is not None:
                        dos, plo = dos[:, self._to_output], plo[:, self._to_output]
                    for k in range(len(want)):
                        buf_req.append(i - len(want) + k)
                        buf_dos.append(dos[k])
                        buf_plo.append(plo[k])
                    if len(buf_req) >= chunk_size:
                        yield DosageChunk(
                            np.array(buf_req, dtype=np.int64),
                            np.vstack(buf_dos),
                            np.vstack(buf_plo).astype(np.int8),
                        )
                        buf_req, buf_dos, buf_plo = [], [], []
                    record += 1
            finally:
                vcf.close()
        if buf_req:
            yield DosageChunk(
                np.array(buf_req, dtype=np.int64),
                np.vstack(buf_dos),
                np.vstack(buf_plo).astype(np.int8),
            )
        if i != total:
            raise GenotypeFileError(f"{self.paths[0]}: {total - i} requested records not found")

    @contextlib.contextmanager
    def _reparsed(
        self, path: str, file_index: int, line_no: int, where: str, failure: Exception
    ) -> Iterator[object]:
        """The record at ``line_no`` parsed by htslib with only the fields prs reads.

        htslib parses every field of a record and refuses it for a malformed one that prs
        never reads (QUAL, INFO, a FORMAT field other than GT and the dosage field); the
        fast engine and PLINK 2 read on. So a requested record htslib refuses is parsed
        again from a copy with QUAL, FILTER and INFO set to ``.`` and only those FORMAT
        fields; if htslib refuses that too, the error names the record.
        """
        from cyvcf2 import VCF

        header_lines: list[bytes] = []
        line = b""
        n_header = self.headers[file_index].n_header_lines
        for number, text in enumerate(_text_lines(Path(path)), start=1):
            if number <= n_header:
                header_lines.append(text)
            elif number == line_no:
                line = text.rstrip(b"\r\n")
                break
        keep = ("GT",) if self.dosage_field == "GT" else ("GT", self.dosage_field)
        chrom = line.split(b"\t", 1)[0]
        if chrom.decode(errors="replace") not in self.headers[file_index].contigs:
            # htslib can crash on a bad record of an undeclared contig: declare it.
            header_lines.insert(-1, b"##contig=<ID=" + chrom + b">\n")
        with tempfile.TemporaryDirectory(prefix="prs-record-") as folder:
            mini = Path(folder) / "record.vcf"
            mini.write_bytes(b"".join(header_lines) + _only_fields(line, keep) + b"\n")
            vcf = VCF(str(mini), samples=self._subset, gts012=False, strict_gt=False)
            try:
                try:
                    variant = next(iter(vcf))
                except Exception:
                    raise GenotypeFileError(
                        f"{where}: htslib cannot parse the record ({failure}); check its "
                        "FORMAT/sample fields"
                    ) from failure
                yield variant
            finally:
                vcf.close()

    def _htslib_path(self, path: str) -> str:
        """``path``, or a temporary plain copy htslib can read safely: without header lines
        among the records (VCFs joined with cat: htslib stops at them), and with a
        ``##contig`` line for each CHROM the header does not declare (htslib can crash,
        SIGSEGV, on a malformed record of an undeclared contig)."""
        repeated = self._repeated_header.get(path, [])
        undeclared = self._undeclared.get(path, [])
        if not repeated and not undeclared:
            return path
        if path not in self._copies:
            folder = tempfile.mkdtemp(prefix="prs-vcf-")
            weakref.finalize(self, shutil.rmtree, folder, True)
            copy = Path(folder) / "records.vcf"
            skip = set(repeated)
            with open(copy, "wb") as out:
                for line_no, line in enumerate(_text_lines(Path(path)), start=1):
                    if line_no in skip:
                        continue
                    if line.startswith(b"#CHROM") and undeclared:
                        out.writelines(b"##contig=<ID=" + name + b">\n" for name in undeclared)
                        undeclared = []
                    out.write(line)
            self._copies[path] = str(copy)
        return self._copies[path]

    def _genotype_alleles(
        self, variant, where: str, n_alleles: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Allele indexes (n, P) with -1 missing, and ploidy per sample, half-calls resolved.

        A call of more than two alleles (``0|0|1``) is a missing diploid call, as PLINK 2
        reads it."""
        try:
            gt = variant.genotype.array()[:, :-1].astype(np.int16)
        except Exception as exc:
            raise GenotypeFileError(f"{where}: no readable GT field ({exc})") from exc
        present = gt != -2
        ploidy = present.sum(axis=1).astype(np.int8)
        polyploid = ploidy > 2
        if polyploid.any():
            # As PLINK 2: a call of more than two alleles (0|0|1) is missing, diploid.
            gt[polyploid] = -2
            gt[polyploid, :2] = -1
            present = gt != -2
            ploidy[polyploid] = 2
        missing = gt == -1
        half = missing.any(axis=1) & (gt >= 0).any(axis=1)
        if half.any():
            s = int(np.flatnonzero(half)[0])
            if self.half_call == "error":
                call = "/".join("." if a == -1 else str(a) for a in gt[s][present[s]])
                raise GenotypeFileError(
                    f"{where}: sample {self._sample_name(s)} has a half-missing "
                    f"call '{call}' ({int(half.sum())} in this record); choose a policy with "
                    "half_call='missing'|'haploid'|'reference' (--half-call)"
                )
            rows = np.flatnonzero(half)
            if self.half_call == "missing":
                gt[rows] = np.where(present[rows], -1, gt[rows])
            elif self.half_call == "reference":
                gt[rows] = np.where(gt[rows] == -1, 0, gt[rows])
            else:  # haploid: keep the called allele only
                gt[rows] = np.where(gt[rows] == -1, -2, gt[rows])
                present = gt != -2
                ploidy = present.sum(axis=1).astype(np.int8)
        too_big = gt >= n_alleles
        if too_big.any():
            s, k = (int(x[0]) for x in np.nonzero(too_big))
            raise GenotypeFileError(
                f"{where}: sample {self._sample_name(s)} has allele index "
                f"{gt[s, k]} but the record has {n_alleles - 1} ALT allele(s)"
            )
        return gt, ploidy

    def _sample_name(self, file_order_index: int) -> str:
        return self._file_order_names[file_order_index]

    def _decode(
        self,
        variant,
        want: list[int],
        where: str,
        header: VcfHeader,
        empty: frozenset[str],
        info: tuple[int, tuple[str, ...] | None],
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(self._sample_index)
        n_alt, text_keys = info
        keys = text_keys if text_keys is not None else tuple(variant.FORMAT)
        has_gt = "GT" in keys
        field = self.dosage_field
        for key in ("GT", field):
            if key in empty:
                raise GenotypeFileError(
                    f"{where}: FORMAT lists {key} but no sample has a value for it"
                )
        if field != "GT" and field in keys and field not in header.float_formats:
            raise GenotypeFileError(
                f"{where}: FORMAT field {field} is not declared with Type=Float in the header "
                f"(htslib would read it as text); add ##FORMAT=<ID={field},"
                f"Number={'A' if field == 'DS' else 'G'},Type=Float,Description=...>"
            )
        if field != "GT" and field not in keys:
            if not has_gt:
                raise GenotypeFileError(f"{where}: neither {field} nor GT in FORMAT")
            field = "GT"
            self.fallback_to_gt += 1
        if field == "GT" and not has_gt:
            raise GenotypeFileError(
                f"{where}: no GT in FORMAT ({':'.join(keys)}); score dosages with "
                "dosage='DS' or 'GP' (--dosage)"
            )
        if has_gt:
            gt, ploidy = self._genotype_alleles(variant, where, n_alt + 1)
            called_missing = ~(gt >= 0).any(axis=1)
        else:
            gt, ploidy = None, np.full(n, 2, dtype=np.int8)
            called_missing = np.zeros(n, dtype=bool)
        scale = np.ones(n)
        effective_ploidy = ploidy.copy()
        if self.haploid == "as-diploid":
            scale = np.where(ploidy == 1, 2.0, 1.0)
            effective_ploidy = np.where(ploidy == 1, 2, ploidy).astype(np.int8)
        out = np.empty((len(want), n))
        if field == "GT":
            assert gt is not None
            for k, a in enumerate(want):
                out[k] = (gt == a).sum(axis=1) * scale
            out[:, called_missing] = np.nan
            return out, np.broadcast_to(effective_ploidy, out.shape).copy()
        values = variant.format(field)
        if values is None:
            raise GenotypeFileError(f"{where}: {field} field could not be read")
        if np.asarray(values).dtype.kind not in "fiu":  # (header checked above: a guard)
            raise GenotypeFileError(f"{where}: {field} values are not numbers in htslib")
        values = np.asarray(values, dtype=np.float32)
        bits = values.view(np.uint32)
        value_missing = bits == _FLOAT_MISSING
        ended = bits == _FLOAT_VECTOR_END
        bad = ~np.isfinite(values) & ~value_missing & ~ended
        if bad.any():
            s = int(np.flatnonzero(bad.any(axis=1))[0])
            raise GenotypeFileError(
                f"{where}: sample {self._sample_name(s)} has {field} "
                f"value {values[s][bad[s]][0]} (not a finite number)"
            )
        values = values.astype(np.float64)
        diploid_ploidy = np.where(ploidy == 0, 2, ploidy)
        if field == "DS":
            if values.shape[1] != n_alt:
                raise GenotypeFileError(
                    f"{where}: DS has {values.shape[1]} value(s) per sample, expected "
                    f"{n_alt} (one per ALT allele)"
                )
            row_missing = (value_missing | ended).any(axis=1)
            ds = np.where(value_missing | ended, 0.0, values)
            total = ds.sum(axis=1)
            out_of_range = (ds < 0).any(axis=1) | (total > diploid_ploidy + 1e-3)
            out_of_range &= ~row_missing
            if out_of_range.any():
                s = int(np.flatnonzero(out_of_range)[0])
                raise GenotypeFileError(
                    f"{where}: sample {self._sample_name(s)} has DS "
                    f"{','.join(f'{v:g}' for v in values[s])} outside [0, ploidy "
                    f"{diploid_ploidy[s]}]"
                )
            for k, a in enumerate(want):
                if a == 0:
                    out[k] = np.clip(diploid_ploidy - total, 0.0, None)
                else:
                    out[k] = ds[:, a - 1]
        else:  # GP
            if n_alt != 1:
                raise GenotypeFileError(
                    f"{where}: GP dosage needs a biallelic record ({n_alt} ALT alleles); split "
                    "multi-allelic records (bcftools norm -m-) or use DS"
                )
            if values.shape[1] < 3:
                # Only "." everywhere (htslib then keeps one value per sample): all missing.
                if not (value_missing | ended).all():
                    raise GenotypeFileError(
                        f"{where}: GP has {values.shape[1]} value(s) per sample, expected 3"
                    )
                out[:] = np.nan
                return out, np.broadcast_to(effective_ploidy, out.shape).copy()
            row_missing = value_missing.any(axis=1)
            gp = np.where(value_missing | ended, 0.0, values)
            out_of_range = ((gp < 0) | (gp > 1 + 1e-3)).any(axis=1) | (
                np.abs(gp.sum(axis=1) - 1.0) > 0.01
            )
            out_of_range &= ~row_missing
            if out_of_range.any():
                s = int(np.flatnonzero(out_of_range)[0])
                raise GenotypeFileError(
                    f"{where}: sample {self._sample_name(s)} has GP "
                    f"{','.join(f'{v:g}' for v in values[s])}: probabilities must be in [0, 1] "
                    "and sum to 1"
                )
            haploid_gp = (~ended).sum(axis=1) == 2
            alt_dosage = np.where(haploid_gp, gp[:, 1], gp[:, 1] + 2.0 * gp[:, 2])
            for k, a in enumerate(want):
                out[k] = alt_dosage if a == 1 else diploid_ploidy - alt_dosage
        out = out * scale
        out[:, row_missing] = np.nan
        return out, np.broadcast_to(effective_ploidy, out.shape).copy()
