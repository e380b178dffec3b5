"""VCF and BCF genotypes through cyvcf2: the checked path.

Reading happens in two passes over each file:

1. A text pre-scan (VCF) validates every record's fixed columns before htslib sees them
   (cyvcf2 crashes on a blank line or an empty CHROM, and htslib reads a bgzip file cut at
   a block boundary as a valid shorter file) and builds the site table. BGZF text is read
   through :class:`prs.genotypes.bgzf.BgzfReader` (each block's CRC checked before its
   text is used; several members, e.g. files joined with ``cat``, read in order).
2. cyvcf2 streams the records; only requested ones are decoded into dosages
   (:func:`prs.genotypes.vcf_record.decode_variant`). A record htslib cannot parse is an
   error only when it is requested (the fast engine never parses the others either).

Record numbers are global across the files of a source, in reading order; the second pass
checks that it meets the same records (chrom and position) the first one saw.

The rules both engines share live in :mod:`prs.genotypes.vcf_header` (header, fixed
columns, warnings) and :mod:`prs.genotypes.vcf_record` (decoding a record). What both
engines read but warn about (:class:`~prs.errors.GenotypeWarning`, also kept in ``notes``):
records at POS 0 (skipped: no scoring position is 0), header lines among the records
(skipped), records repeating an earlier chrom:pos:ref:alt (the first is used).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from prs.errors import GenotypeFileError, GenotypeWarning, warn
from prs.genome import MAX_POSITION, normalize_chrom
from prs.genotypes.base import SITE_COLUMNS, DosageChunk
from prs.genotypes.sniff import DECOMPRESS_ERRORS, GenotypeFile, text_lines
from prs.genotypes.vcf_header import (
    GenotypePaths,
    VcfHeader,
    bad_chrom_message,
    check_vcf_inputs,
    declares_quality,
    duplicate_records_message,
    headers_build,
    no_records_message,
    pos_message,
    read_vcf_header,
    repeated_header_message,
    valid_contig_name,
    zero_pos_message,
)
from prs.genotypes.vcf_record import (
    QUALITY_COLUMNS,
    DecodeOptions,
    RecordLocation,
    SampleColumns,
    TextInfo,
    decode_variant,
    info_quality,
    reparse_failed,
    text_info,
    text_of,
    unreadable_quality_message,
)

__all__ = ["VcfSource", "read_vcf_header"]

#: A site-table row as the pre-scan yields it: line, chrom, pos, ID, REF, ALTs, the
#: record's text fields (None for BCF) and its INFO column.
_ScannedRecord = tuple[int, str, int, str, str, list[str], list[bytes] | None, bytes]


class VcfSource:
    """Genotypes from one VCF/BCF file or several (e.g. one per chromosome).

    Parameters
    ----------
    paths
        One path or a sequence; every file must list the same samples in the same order.
        Items may be what :func:`prs.genotypes.sniff.sniff` found (as
        :func:`~prs.genotypes.open_genotypes` passes them; not looked at again).
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
        paths: GenotypePaths,
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
        self._files = inputs.files
        self.dosage_field = dosage
        self.half_call = half_call
        self.haploid = haploid
        self._options = DecodeOptions(dosage, half_call, haploid)
        self._columns = SampleColumns.of(inputs.file_samples, inputs.sample_index)
        self._sites: pd.DataFrame | None = None
        self._records: list[tuple[int, int, str, int]] | None = None  # file, line, chrom, pos
        #: Records whose DS/GP dosage was read from GT (they lack the field).
        self.fallback_to_gt = 0
        #: Every :class:`~prs.errors.GenotypeWarning` this source issued (records skipped
        #: or duplicated, ...), in order, for the run's provenance.
        self.notes: list[str] = []
        #: Told ``(compressed bytes read, compressed bytes of all files)`` as the sites pass
        #: goes, file by file (``prs score``'s progress bar, as the fast engine tells it).
        self.on_bytes_read: Callable[[int, int], None] | None = None
        self._repeated_header: dict[str, list[int]] = {}
        self._record_info: dict[int, TextInfo] = {}  # listed record -> what its text says
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
        warn(message, GenotypeWarning)

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
        rows: dict[str, list] = {c: [] for c in (*SITE_COLUMNS, *QUALITY_COLUMNS)}
        records: list[tuple[int, int, str, int]] = []
        record = 0
        sizes = [os.path.getsize(p) for p in self.paths] if self.on_bytes_read else []
        for file_index, path in enumerate(self.paths):
            if self.on_bytes_read is not None:
                self.on_bytes_read(sum(sizes[:file_index]), sum(sizes))
            file = self._files[file_index]
            if file.is_bcf():
                scan = self._scan_bcf(file)
            else:
                scan = self._scan_text(file, self.headers[file_index])
            zero = unreadable = 0
            for line_no, chrom, pos, vid, ref, alts, fields, info in scan:
                records.append((file_index, line_no, chrom, pos))
                if pos == 0:  # numbered (htslib reads it) but never listed
                    zero += 1
                elif wanted_sets is None or pos in wanted_sets.get(chrom, ()):
                    # What the decoder needs from the text (cyvcf2 fails on non-UTF-8 ALT
                    # or FORMAT bytes, which the fast engine reads as bytes).
                    self._record_info[record] = (
                        TextInfo(len(alts), None) if fields is None else text_info(fields)
                    )
                    n_alleles = len(alts) + 1
                    quality = info_quality(info)
                    r2, readable = quality.rows(len(alts))
                    unreadable += not readable
                    # A record without ALT (monomorphic) is still a site: REF can match.
                    for k, alt in enumerate(alts or [""], start=1 if alts else 0):
                        rows["r2"].append(r2[max(k, 1) - 1])
                        rows["imputed"].append(quality.imputed)
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
            if unreadable:
                self._note(unreadable_quality_message(path, unreadable))
            if self._repeated_header.get(path):
                self._note(repeated_header_message(path, self._repeated_header[path]))
            if not records or records[-1][0] != file_index:
                raise GenotypeFileError(no_records_message(path))
        if self.on_bytes_read is not None:
            self.on_bytes_read(sum(sizes), sum(sizes))
        self._records = records
        table = pd.DataFrame(rows, columns=[*SITE_COLUMNS, *QUALITY_COLUMNS])
        table = table.astype(
            {
                "pos": np.int64,
                "allele_index": np.int16,
                "n_alleles": np.int16,
                "record": np.int64,
                "file": np.int32,
                "r2": np.float32,
                "imputed": np.bool_,
            }
        )
        if not declares_quality(self.headers):
            table = table.drop(columns=list(QUALITY_COLUMNS))
        self._sites = table
        duplicates = duplicate_records_message(self.paths, table)
        if duplicates:
            self._note(duplicates)
        return table

    def _scan_text(self, file: GenotypeFile, header: VcfHeader) -> Iterator[_ScannedRecord]:
        path = file.path
        n_columns = 9 + len(header.samples) if header.samples else None
        chrom_cache: dict[bytes, str] = {}
        valid_names: set[bytes] = set()
        # Header lines after the header (files joined with cat): skipped here and by the
        # fast engine; htslib cannot read past them, so read() gives it a copy without.
        # (Keyed by the path as given, as the rest of the source names files: "./x.vcf"
        # and "x.vcf" are one file but two keys.)
        repeated = self._repeated_header[file.name] = []
        declared = {name.encode() for name in header.contigs}
        undeclared = self._undeclared[file.name] = []
        line_no = 0
        try:
            for line in text_lines(file):
                line_no += 1
                if line.startswith(b"#"):
                    if line_no > header.n_header_lines:
                        repeated.append(line_no)
                    continue
                text = line.rstrip(b"\r\n")
                where = f"{path} line {line_no}"
                if b"\x00" in text:  # htslib's C strings end there: see read()
                    self._nul_lines.add((file.name, line_no))
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
                vid_s = vid.decode(errors="replace")
                yield line_no, chrom, pos, vid_s, ref_s, alts, fields, fields[7]
        except DECOMPRESS_ERRORS as exc:
            raise GenotypeFileError(
                f"{path}: cannot decompress after line {line_no} ({type(exc).__name__}: "
                f"{exc}); the file is truncated or corrupt"
            ) from exc

    def _scan_bcf(self, file: GenotypeFile) -> Iterator[_ScannedRecord]:
        from cyvcf2 import VCF

        vcf = VCF(str(file.path), samples=[])
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
                    None,  # FORMAT: read from the decoded variant (here it would crash)
                    str(variant).split("\t", 8)[7].encode(),
                )
        finally:
            vcf.close()

    # -- pass 2 ---------------------------------------------------------------------------
    def read(
        self, records: np.ndarray, alleles: np.ndarray, *, chunk_size: int = 1024
    ) -> Iterator[DosageChunk]:
        """Stream dosages of ``alleles[i]`` at ``records[i]`` (see the protocol)."""
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
        for file_index in range(len(self.paths)):
            lo, hi = first_record_of_file[file_index], first_record_of_file[file_index + 1]
            if i >= total or records[i] >= hi:
                continue
            for start, stop, dos, plo in self._read_file(file_index, lo, hi, records, alleles, i):
                i = stop
                buf_req.extend(range(start, stop))
                buf_dos.extend(dos)
                buf_plo.extend(plo)
                if len(buf_req) >= chunk_size:
                    yield _chunk(buf_req, buf_dos, buf_plo)
                    buf_req, buf_dos, buf_plo = [], [], []
        if buf_req:
            yield _chunk(buf_req, buf_dos, buf_plo)
        if i != total:
            raise GenotypeFileError(f"{self.paths[0]}: {total - i} requested records not found")

    def _read_file(
        self,
        file_index: int,
        lo: int,
        hi: int,
        records: np.ndarray,
        alleles: np.ndarray,
        i: int,
    ) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
        """Decode the requests ``records[i:]`` in file ``file_index`` (global records
        ``lo..hi-1``): yields (first request, next request, dosages, ploidies) per record."""
        from cyvcf2 import VCF

        path = self.paths[file_index]
        vcf = VCF(
            self._htslib_path(file_index),
            samples=self._columns.subset,
            gts012=False,
            strict_gt=False,
        )
        assert self._records is not None
        record = lo
        iterator = iter(vcf)
        total = len(records)
        try:
            while i < total and records[i] < hi:
                failure: Exception | None = None
                variant: object = None
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
                        f"{text_of(variant, 'CHROM')}:{variant.POS}; the file "
                        "changed while it was read"
                    )
                start = i
                while i < total and records[i] == record:
                    i += 1
                where = RecordLocation(path, line_no, chrom, pos)
                want = alleles[start:i].tolist()
                dos, plo = self._decode(variant, failure, file_index, record, where, want)
                yield start, i, dos, plo
                record += 1
        finally:
            vcf.close()

    def _decode(
        self,
        variant: object,
        failure: Exception | None,
        file_index: int,
        record: int,
        where: RecordLocation,
        want: list[int],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dosages of one requested record (parsed again first if htslib refused it)."""
        with contextlib.ExitStack() as stack:
            if failure is not None:
                variant = stack.enter_context(self._reparsed(file_index, where, failure))
            dos, plo, from_gt = decode_variant(
                variant,
                want,
                where,
                self._record_info[record],
                self.headers[file_index],
                self._options,
                self._columns.names,
            )
        self.fallback_to_gt += from_gt
        return self._columns.in_output_order(dos, plo)

    def _reparsed(
        self, file_index: int, where: RecordLocation, failure: Exception
    ) -> contextlib.AbstractContextManager[object]:
        """The record at ``where`` parsed by htslib with only the fields prs reads
        (:func:`prs.genotypes.vcf_record.reparse_failed`), its line and header read again
        from the file."""
        header_lines: list[bytes] = []
        line = b""
        n_header = self.headers[file_index].n_header_lines
        for number, text in enumerate(text_lines(self._files[file_index]), start=1):
            if number <= n_header:
                header_lines.append(text)
            elif number == where.line:
                line = text.rstrip(b"\r\n")
                break
        return reparse_failed(
            b"".join(header_lines),
            line,
            where,
            failure,
            self.headers[file_index],
            self.dosage_field,
            self._columns.subset,
        )

    def _htslib_path(self, file_index: int) -> str:
        """``path``, or a temporary plain copy htslib can read safely: without header lines
        among the records (VCFs joined with cat: htslib stops at them), and with a
        ``##contig`` line for each CHROM the header does not declare (htslib can crash,
        SIGSEGV, on a malformed record of an undeclared contig)."""
        path = self.paths[file_index]
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
                for line_no, line in enumerate(text_lines(self._files[file_index]), start=1):
                    if line_no in skip:
                        continue
                    if line.startswith(b"#CHROM") and undeclared:
                        out.writelines(b"##contig=<ID=" + name + b">\n" for name in undeclared)
                        undeclared = []
                    out.write(line)
            self._copies[path] = str(copy)
        return self._copies[path]


def _chunk(requests: list[int], dosage: list[np.ndarray], ploidy: list[np.ndarray]) -> DosageChunk:
    return DosageChunk(
        np.array(requests, dtype=np.int64), np.vstack(dosage), np.vstack(ploidy).astype(np.int8)
    )
