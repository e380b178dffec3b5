"""One VCF record through htslib (cyvcf2): parse it, decode the requested alleles' dosages.

The checked engine (:class:`prs.genotypes.vcf.VcfSource`) decodes every requested record
here, and the fast engine (:mod:`prs.genotypes.fastvcf`) sends here the records its kernels
do not reproduce exactly. Each function takes the record's location
(:class:`RecordLocation`: file, line, chrom:pos), so an error names the record in the file
the user gave, whichever engine met it.

The rules (each a :class:`~prs.errors.GenotypeFileError` naming the record): dosages come
from allele indexes (never from ``gt_types``), DS, GP or HDS (``HDS1 + HDS2``, one value
per haplotype of the call); a DS/GP/HDS field read is declared ``Type=Float``; a FORMAT key
read has a value in some sample; a half-missing call follows ``half_call``; a call of more
than two alleles is missing, diploid (as PLINK 2); a haploid call counts double under
``haploid="as-diploid"`` (PLINK 2's VCF import).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prs.errors import GenotypeFileError
from prs.genome import normalize_chrom
from prs.genotypes.vcf_header import VcfHeader
from prs.vocab import DOSAGE_FIELDS

# htslib's float sentinels (bit patterns) for a missing value and a vector end.
_FLOAT_MISSING = np.uint32(0x7F800001)
_FLOAT_VECTOR_END = np.uint32(0x7F800002)


@dataclass(frozen=True)
class RecordLocation:
    """Where a record is: its file (as the user named it), line, and canonical chrom:pos.

    Examples
    --------
    >>> str(RecordLocation("a.vcf.gz", 12, "22", 16050075))
    'a.vcf.gz line 12 (22:16050075)'
    """

    path: str
    line: int
    chrom: str
    pos: int

    def __str__(self) -> str:
        return f"{self.path} line {self.line} ({self.chrom}:{self.pos})"


@dataclass(frozen=True)
class DecodeOptions:
    """How calls become dosages (the words of :mod:`prs.vocab`)."""

    dosage: str = "GT"
    half_call: str = "error"
    haploid: str = "as-diploid"


@dataclass(frozen=True)
class SampleColumns:
    """The samples read, as cyvcf2 gives them and in output order.

    cyvcf2 returns a sample subset in file order: ``subset`` is what it is asked for
    (None: every sample, in file order), ``names`` the columns it returns, and
    ``to_output[i]`` the column of output sample ``i``.
    """

    names: tuple[str, ...]
    subset: list[str] | None
    to_output: np.ndarray

    @classmethod
    def of(cls, file_samples: Sequence[str], sample_index: np.ndarray) -> SampleColumns:
        """The columns for output samples ``file_samples[sample_index[i]]``."""
        file_sorted = np.sort(sample_index)
        names = tuple(file_samples[j] for j in file_sorted)
        everyone = len(sample_index) == len(file_samples) and np.array_equal(
            sample_index, np.arange(len(file_samples))
        )
        return cls(
            names, None if everyone else list(names), np.searchsorted(file_sorted, sample_index)
        )

    def in_output_order(
        self, dosage: np.ndarray, ploidy: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``dosage`` and ``ploidy`` (columns as cyvcf2 gives them) in output order."""
        if self.subset is None:
            return dosage, ploidy
        return dosage[:, self.to_output], ploidy[:, self.to_output]


@dataclass(frozen=True)
class TextInfo:
    """What the decoder takes from a record's text rather than from htslib (cyvcf2 fails on
    non-UTF-8 ALT or FORMAT bytes, which the fast engine reads as bytes).

    ``keys`` is None for BCF (then read from the decoded variant); ``empty`` lists GT, DS,
    GP or HDS keys no sample has a value for (:func:`keys_without_data`).
    """

    n_alt: int
    keys: tuple[str, ...] | None
    empty: frozenset[str] = frozenset()


def text_info(fields: Sequence[bytes]) -> TextInfo:
    """:class:`TextInfo` of a record split as ``line.split(b"\\t", 8)``."""
    alt_s = fields[4].decode(errors="replace").upper()
    alts = [] if alt_s in (".", "") else alt_s.split(",")
    rest = fields[8] if len(fields) > 8 else b""
    empty = keys_without_data(rest) if rest else frozenset()
    keys = tuple(rest.split(b"\t", 1)[0].decode(errors="replace").split(":"))
    return TextInfo(len(alts), keys, empty)


def keys_without_data(rest: bytes) -> frozenset[str]:
    """GT, DS, GP or HDS listed in FORMAT (``rest`` is FORMAT and the sample columns) but
    reached by no sample's subfields. htslib types such a field as empty and exits the
    process (``exit(1)``) when asked for its values, so the decoder refuses it first."""
    fmt, _, samples = rest.partition(b"\t")
    keys = fmt.split(b":")
    first_at: dict[bytes, int] = {}
    for i, key in enumerate(keys):
        first_at.setdefault(key, i)  # (htslib and the fast kernels use the first)
    read = {name.encode() for name in DOSAGE_FIELDS}
    late = {k.decode(): i for k, i in first_at.items() if i >= 1 and k in read}
    if not late:
        return frozenset()
    first = samples.split(b"\t", 1)[0]
    reach = first.count(b":")
    if all(i <= reach for i in late.values()):
        return frozenset()
    reach = max(cell.count(b":") for cell in samples.split(b"\t"))
    return frozenset(k for k, i in late.items() if i > reach)


def only_fields(line: bytes, keep: Sequence[str]) -> bytes:
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


def read_fields(dosage: str) -> tuple[str, ...]:
    """The FORMAT keys the decoder reads under ``dosage`` (GT, and DS, GP or HDS)."""
    return ("GT",) if dosage == "GT" else ("GT", dosage)


def text_of(variant: object, name: str) -> str:
    """A cyvcf2 variant's text attribute, or ``'?'`` where its bytes are not UTF-8."""
    try:
        return str(getattr(variant, name))
    except UnicodeDecodeError:
        return "?"


@contextlib.contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    """A path htslib can open holding ``data``: an anonymous in-memory file where the system
    has them (Linux, with /proc mounted), else a temporary file."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("prs-record")
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="prs-record-") as folder:
        path = Path(folder) / "record.vcf"
        path.write_bytes(data)
        yield str(path)


def _declare_contig(header_text: bytes, chrom: bytes) -> bytes:
    """``header_text`` with a ``##contig`` line for ``chrom`` before its ``#CHROM`` line."""
    at = header_text.rfind(b"#CHROM")
    return header_text[:at] + b"##contig=<ID=" + chrom + b">\n" + header_text[at:]


@contextlib.contextmanager
def htslib_record(
    header_text: bytes, line: bytes, contigs: Sequence[str] | dict, subset: list[str] | None
) -> Iterator[object]:
    """htslib's parse of one record ``line`` under a header (a cyvcf2 variant).

    A CHROM the header does not declare is declared first (htslib can crash, SIGSEGV, on a
    bad record of an undeclared contig). Raises what cyvcf2 raises (a bare ``Exception``)
    when htslib refuses the line, ``StopIteration`` when it reads no record from it.
    """
    from cyvcf2 import VCF

    chrom = line.split(b"\t", 1)[0]
    if chrom.decode(errors="replace") not in contigs:
        header_text = _declare_contig(header_text, chrom)
    with _memory_file(header_text + line + b"\n") as name:
        vcf = VCF(name, samples=subset, gts012=False, strict_gt=False)
        try:
            yield next(iter(vcf))
        finally:
            vcf.close()


@contextlib.contextmanager
def reparse_failed(
    header_text: bytes,
    line: bytes,
    where: RecordLocation,
    failure: BaseException,
    header: VcfHeader,
    dosage: str,
    subset: list[str] | None,
) -> Iterator[object]:
    """The record ``line`` parsed by htslib with only the fields prs reads.

    htslib parses every field of a record and refuses it for a malformed one that prs
    never reads (QUAL, INFO, a FORMAT field other than GT and the dosage field); the fast
    engine and PLINK 2 read on. So a requested record htslib refuses is parsed again with
    QUAL, FILTER and INFO set to ``.`` and only those FORMAT fields; if htslib refuses that
    too, the error names the record.
    """
    reduced = only_fields(line, read_fields(dosage))
    with contextlib.ExitStack() as stack:
        try:
            variant = stack.enter_context(
                htslib_record(header_text, reduced, header.contigs, subset)
            )
        except Exception:
            raise GenotypeFileError(
                f"{where}: htslib cannot parse the record ({failure}); check its "
                "FORMAT/sample fields"
            ) from failure
        yield variant


def decode_record_line(
    line: bytes,
    path: str,
    line_no: int,
    header: VcfHeader,
    want: Sequence[int],
    options: DecodeOptions,
    samples: SampleColumns,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Decode one record's text as the checked engine decodes it.

    Parameters
    ----------
    line
        The record as written (no newline), already through the fixed-column checks.
    path, line_no
        Where it is (errors name it so).
    header
        Its file's header (htslib parses the line under :attr:`VcfHeader.text`).
    want
        Allele indexes (0 = REF) whose dosages are wanted.
    options, samples
        How calls become dosages; which samples, in which order.

    Returns
    -------
    dosage, ploidy, from_gt
        ``float64[len(want), n]`` and ``int8[len(want), n]`` in output sample order, and
        True when a DS/GP dosage was read from GT (the record lacks the field).
    """
    text = line.rstrip(b"\r\n")
    fields = text.split(b"\t", 8)
    where = RecordLocation(
        path, line_no, normalize_chrom(fields[0].decode(errors="replace")), int(fields[1])
    )
    with contextlib.ExitStack() as stack:
        failure: BaseException | None = None
        try:
            variant = stack.enter_context(
                htslib_record(header.text, line, header.contigs, samples.subset)
            )
        except Exception as exc:  # htslib refuses the record (or reads none from it)
            failure = exc
        if failure is None and b"\x00" in text:
            # htslib reads the line only up to a NUL byte (in ID, INFO...): parse again
            # without the fields prs does not read, as for a refused line.
            failure = GenotypeFileError("a NUL byte in the record")
        if failure is None and int(variant.POS) != where.pos:  # type: ignore[attr-defined]
            raise GenotypeFileError(
                f"{path} line {line_no}: expected {where.chrom}:{where.pos}, read "
                f"{text_of(variant, 'CHROM')}:{variant.POS}; the file "  # type: ignore[attr-defined]
                "changed while it was read"
            )
        if failure is not None:
            variant = stack.enter_context(
                reparse_failed(
                    header.text, text, where, failure, header, options.dosage, samples.subset
                )
            )
        dosage, ploidy, from_gt = decode_variant(
            variant, want, where, text_info(fields), header, options, samples.names
        )
    return (*samples.in_output_order(dosage, ploidy), from_gt)


def decode_variant(
    variant: object,
    want: Sequence[int],
    where: RecordLocation | str,
    info: TextInfo,
    header: VcfHeader,
    options: DecodeOptions,
    sample_names: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Dosages of alleles ``want`` in a cyvcf2 variant (columns as cyvcf2 gives them).

    Returns ``(dosage, ploidy, from_gt)``: ``float64[len(want), n]`` (NaN missing),
    ``int8[len(want), n]``, and True when a DS/GP/HDS dosage was read from GT.
    """
    n = len(sample_names)
    keys = info.keys if info.keys is not None else tuple(variant.FORMAT)  # type: ignore[attr-defined]
    field, from_gt = _field_to_read(keys, info.empty, where, header, options.dosage)
    if "GT" in keys:
        gt, ploidy = genotype_alleles(
            variant, where, info.n_alt + 1, options.half_call, sample_names
        )
        called_missing = ~(gt >= 0).any(axis=1)
    else:
        gt, ploidy = None, np.full(n, 2, dtype=np.int8)
        called_missing = np.zeros(n, dtype=bool)
    scale = np.ones(n)
    effective_ploidy = ploidy.copy()
    if options.haploid == "as-diploid":
        scale = np.where(ploidy == 1, 2.0, 1.0)
        effective_ploidy = np.where(ploidy == 1, 2, ploidy).astype(np.int8)
    if field == "GT":
        assert gt is not None
        out = np.empty((len(want), n))
        for k, a in enumerate(want):
            out[k] = (gt == a).sum(axis=1) * scale
        out[:, called_missing] = np.nan
    else:
        values = _float_values(variant, field, where, sample_names)
        diploid_ploidy = np.where(ploidy == 0, 2, ploidy)
        if field in ("DS", "HDS"):
            out = _ds_dosages(
                values, want, info.n_alt, diploid_ploidy, where, sample_names, field == "HDS"
            )
        else:
            out = _gp_dosages(values, want, info.n_alt, diploid_ploidy, where, sample_names)
        if out is not None:
            out = out * scale
        else:  # GP "." everywhere: all missing, unscaled
            out = np.full((len(want), n), np.nan)
    return out, np.broadcast_to(effective_ploidy, out.shape).copy(), from_gt


#: The ``Number`` of each dosage field's ``##FORMAT`` line (as imputation servers write it).
_FIELD_NUMBER = {"DS": "A", "GP": "G", "HDS": "2"}


def _field_to_read(
    keys: Sequence[str],
    empty: frozenset[str],
    where: RecordLocation | str,
    header: VcfHeader,
    dosage: str,
) -> tuple[str, bool]:
    """The field dosages are read from (``dosage``, or GT when the record lacks it) and
    whether that is the GT fallback; raises for a field that cannot be read."""
    for key in ("GT", dosage):
        if key in empty:
            raise GenotypeFileError(f"{where}: FORMAT lists {key} but no sample has a value for it")
    if dosage != "GT" and dosage in keys and dosage not in header.float_formats:
        raise GenotypeFileError(
            f"{where}: FORMAT field {dosage} is not declared with Type=Float in the header "
            f"(htslib would read it as text); add ##FORMAT=<ID={dosage},"
            f"Number={_FIELD_NUMBER[dosage]},Type=Float,Description=...>"
        )
    has_gt = "GT" in keys
    if dosage != "GT" and dosage not in keys:
        if not has_gt:
            raise GenotypeFileError(f"{where}: neither {dosage} nor GT in FORMAT")
        return "GT", True
    if dosage == "GT" and not has_gt:
        raise GenotypeFileError(
            f"{where}: no GT in FORMAT ({':'.join(keys)}); score dosages with "
            "dosage='DS', 'GP' or 'HDS' (--dosage)"
        )
    return dosage, False


def genotype_alleles(
    variant: object,
    where: RecordLocation | str,
    n_alleles: int,
    half_call: str,
    sample_names: Sequence[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Allele indexes (n, P) with -1 missing, and ploidy per sample, half-calls resolved.

    A call of more than two alleles (``0|0|1``) is a missing diploid call, as PLINK 2
    reads it."""
    try:
        gt = variant.genotype.array()[:, :-1].astype(np.int16)  # type: ignore[attr-defined]
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
        if half_call == "error":
            call = "/".join("." if a == -1 else str(a) for a in gt[s][present[s]])
            raise GenotypeFileError(
                f"{where}: sample {sample_names[s]} has a half-missing "
                f"call '{call}' ({int(half.sum())} in this record); choose a policy with "
                "half_call='missing'|'haploid'|'reference' (--half-call)"
            )
        rows = np.flatnonzero(half)
        if half_call == "missing":
            gt[rows] = np.where(present[rows], -1, gt[rows])
        elif half_call == "reference":
            gt[rows] = np.where(gt[rows] == -1, 0, gt[rows])
        else:  # haploid: keep the called allele only
            gt[rows] = np.where(gt[rows] == -1, -2, gt[rows])
            present = gt != -2
            ploidy = present.sum(axis=1).astype(np.int8)
    too_big = gt >= n_alleles
    if too_big.any():
        s, k = (int(x[0]) for x in np.nonzero(too_big))
        raise GenotypeFileError(
            f"{where}: sample {sample_names[s]} has allele index "
            f"{gt[s, k]} but the record has {n_alleles - 1} ALT allele(s)"
        )
    return gt, ploidy


@dataclass(frozen=True)
class _FloatValues:
    """A DS/GP/HDS field's values with htslib's missing and vector-end markers."""

    values: np.ndarray  # float64[n, width]
    missing: np.ndarray  # bool[n, width]
    ended: np.ndarray  # bool[n, width]


def _float_values(
    variant: object, field: str, where: RecordLocation | str, sample_names: Sequence[str]
) -> _FloatValues:
    values = variant.format(field)  # type: ignore[attr-defined]
    if values is None:
        raise GenotypeFileError(f"{where}: {field} field could not be read")
    if np.asarray(values).dtype.kind not in "fiu":  # (header checked: a guard)
        raise GenotypeFileError(f"{where}: {field} values are not numbers in htslib")
    values = np.asarray(values, dtype=np.float32)
    bits = values.view(np.uint32)
    value_missing = bits == _FLOAT_MISSING
    ended = bits == _FLOAT_VECTOR_END
    bad = ~np.isfinite(values) & ~value_missing & ~ended
    if bad.any():
        s = int(np.flatnonzero(bad.any(axis=1))[0])
        raise GenotypeFileError(
            f"{where}: sample {sample_names[s]} has {field} "
            f"value {values[s][bad[s]][0]} (not a finite number)"
        )
    return _FloatValues(values.astype(np.float64), value_missing, ended)


def _ds_dosages(
    field: _FloatValues,
    want: Sequence[int],
    n_alt: int,
    diploid_ploidy: np.ndarray,
    where: RecordLocation | str,
    sample_names: Sequence[str],
    per_haplotype: bool = False,
) -> np.ndarray:
    """Unscaled DS dosages of alleles ``want``, NaN where a value is missing.

    With ``per_haplotype`` the field is HDS (:func:`_hds_alt`): ALT's dosage is the sum of
    the haplotypes' values, as DS ``HDS1 + HDS2``."""
    if per_haplotype:
        alt, row_missing = _hds_alt(field, n_alt, diploid_ploidy, where, sample_names)
        return _allele_dosages(want, alt, diploid_ploidy, row_missing)
    values = field.values
    if values.shape[1] != n_alt:
        raise GenotypeFileError(
            f"{where}: DS has {values.shape[1]} value(s) per sample, expected "
            f"{n_alt} (one per ALT allele)"
        )
    absent = field.missing | field.ended
    row_missing = absent.any(axis=1)
    ds = np.where(absent, 0.0, values)
    total = ds.sum(axis=1)
    out_of_range = (ds < 0).any(axis=1) | (total > diploid_ploidy + 1e-3)
    out_of_range &= ~row_missing
    if out_of_range.any():
        s = int(np.flatnonzero(out_of_range)[0])
        raise GenotypeFileError(
            f"{where}: sample {sample_names[s]} has DS "
            f"{','.join(f'{v:g}' for v in values[s])} outside [0, ploidy "
            f"{diploid_ploidy[s]}]"
        )
    return _allele_dosages(want, ds, diploid_ploidy, row_missing)


def _allele_dosages(
    want: Sequence[int], alt: np.ndarray, diploid_ploidy: np.ndarray, row_missing: np.ndarray
) -> np.ndarray:
    """Dosages of alleles ``want`` from the ALT dosages ``alt`` (``[n, n_alt]``): ALT ``a``
    has ``alt[:, a-1]``, REF ``ploidy - sum`` (at least 0); NaN where ``row_missing``."""
    total = alt.sum(axis=1)
    out = np.empty((len(want), len(alt)))
    for k, a in enumerate(want):
        out[k] = np.clip(diploid_ploidy - total, 0.0, None) if a == 0 else alt[:, a - 1]
    out[:, row_missing] = np.nan
    return out


def _hds_alt(
    field: _FloatValues,
    n_alt: int,
    diploid_ploidy: np.ndarray,
    where: RecordLocation | str,
    sample_names: Sequence[str],
) -> tuple[np.ndarray, np.ndarray]:
    """ALT dosages (``[n, 1]``) of a biallelic record's HDS, and which samples are missing.

    A call has one value per haplotype (as many as its ploidy: one for a haploid chrX
    call), each the haplotype's ALT dosage in [0, 1] (+0.001); ALT's dosage is their sum
    (REF's ``ploidy - sum``, as DS). A ``.`` among a sample's values makes it missing."""
    values = field.values
    if n_alt != 1:
        raise GenotypeFileError(
            f"{where}: HDS dosage needs a biallelic record ({n_alt} ALT alleles); split "
            "multi-allelic records (bcftools norm -m-) or use DS"
        )
    row_missing = field.missing.any(axis=1)
    count = (~field.ended).sum(axis=1)
    hds = np.where(field.missing | field.ended, 0.0, values)
    wrong_count = (count != diploid_ploidy) & ~row_missing
    if wrong_count.any():
        s = int(np.flatnonzero(wrong_count)[0])
        raise GenotypeFileError(
            f"{where}: sample {sample_names[s]} has {count[s]} HDS value(s) for a call of "
            f"ploidy {diploid_ploidy[s]} (HDS has one value per haplotype)"
        )
    out_of_range = ((hds < 0) | (hds > 1 + 1e-3)).any(axis=1) & ~row_missing
    if out_of_range.any():
        s = int(np.flatnonzero(out_of_range)[0])
        shown = ",".join(f"{v:g}" for v in values[s][: count[s]])
        raise GenotypeFileError(
            f"{where}: sample {sample_names[s]} has HDS {shown}: each haplotype's dosage "
            "must be in [0, 1]"
        )
    return hds.sum(axis=1)[:, None], row_missing


def _gp_dosages(
    field: _FloatValues,
    want: Sequence[int],
    n_alt: int,
    diploid_ploidy: np.ndarray,
    where: RecordLocation | str,
    sample_names: Sequence[str],
) -> np.ndarray | None:
    """Unscaled GP dosages of alleles ``want``, NaN where a value is missing; None when the
    field is ``.`` in every sample (all missing)."""
    values = field.values
    if n_alt != 1:
        raise GenotypeFileError(
            f"{where}: GP dosage needs a biallelic record ({n_alt} ALT alleles); split "
            "multi-allelic records (bcftools norm -m-) or use DS"
        )
    if values.shape[1] < 3:
        # Only "." everywhere (htslib then keeps one value per sample): all missing.
        if not (field.missing | field.ended).all():
            raise GenotypeFileError(
                f"{where}: GP has {values.shape[1]} value(s) per sample, expected 3"
            )
        return None
    row_missing = field.missing.any(axis=1)
    gp = np.where(field.missing | field.ended, 0.0, values)
    out_of_range = ((gp < 0) | (gp > 1 + 1e-3)).any(axis=1) | (np.abs(gp.sum(axis=1) - 1.0) > 0.01)
    out_of_range &= ~row_missing
    if out_of_range.any():
        s = int(np.flatnonzero(out_of_range)[0])
        raise GenotypeFileError(
            f"{where}: sample {sample_names[s]} has GP "
            f"{','.join(f'{v:g}' for v in values[s])}: probabilities must be in [0, 1] "
            "and sum to 1"
        )
    haploid_gp = (~field.ended).sum(axis=1) == 2
    alt_dosage = np.where(haploid_gp, gp[:, 1], gp[:, 1] + 2.0 * gp[:, 2])
    out = np.empty((len(want), len(values)))
    for k, a in enumerate(want):
        out[k] = alt_dosage if a == 1 else diploid_ploidy - alt_dosage
    out[:, row_missing] = np.nan
    return out


#: Site-table columns the VCF engines add for imputation quality (issue 15): ``r2``
#: (float32, NaN when the record states none) and ``imputed`` (bool).
QUALITY_COLUMNS = ("r2", "imputed")
#: INFO keys holding an imputation quality, in order of preference: Minimac4's ``R2``,
#: Beagle's ``DR2``, IMPUTE's ``INFO``.
QUALITY_KEYS = (b"R2", b"DR2", b"INFO")
#: INFO flags marking an imputed record: Minimac's ``IMPUTED``, Beagle's ``IMP`` (Minimac's
#: ``TYPED`` overrides either: a typed variant is not imputed).
IMPUTED_FLAGS = frozenset({b"IMPUTED", b"IMP"})


@dataclass(frozen=True)
class InfoQuality:
    """Imputation quality stated in a record's INFO column.

    Attributes
    ----------
    r2
        The first of :data:`QUALITY_KEYS` present: its values rounded to float32 as htslib
        stores a ``Type=Float`` INFO value (``.`` is NaN); empty when no key is present.
    imputed
        One of :data:`IMPUTED_FLAGS` (``IMPUTED``, ``IMP``) is present, and ``TYPED`` is
        not (a typed variant is not imputed).
    readable
        False when the value is not a number (it is then NaN).
    """

    r2: tuple[float, ...]
    imputed: bool
    readable: bool = True

    def rows(self, n_alt: int) -> tuple[list[float], bool]:
        """The value of each site-table row of a record with ``n_alt`` ALT alleles (one
        value for all, or one per ALT; NaN when absent), and whether it was readable (a
        count that is neither is not)."""
        n_rows = max(n_alt, 1)
        if not self.r2:
            return [float("nan")] * n_rows, self.readable
        if len(self.r2) == 1:
            return [self.r2[0]] * n_rows, self.readable
        if len(self.r2) == n_rows:
            return list(self.r2), self.readable
        return [float("nan")] * n_rows, False


def info_quality(info: bytes) -> InfoQuality:
    """:class:`InfoQuality` of an INFO column (``key=value`` and flags, ``;``-separated;
    the first of a repeated key counts, as htslib reads it)."""
    values: dict[bytes, bytes] = {}
    flags: set[bytes] = set()
    for item in info.split(b";"):
        key, equals, value = item.partition(b"=")
        if equals:
            values.setdefault(key, value)
        else:
            flags.add(key)
    imputed = not flags.isdisjoint(IMPUTED_FLAGS) and b"TYPED" not in flags
    raw = next((values[key] for key in QUALITY_KEYS if key in values), None)
    if raw is None:
        return InfoQuality((), imputed)
    out: list[float] = []
    for part in raw.split(b","):
        if part == b".":
            out.append(float("nan"))
            continue
        try:
            if b"_" in part or part != part.strip():  # Python's float() takes these
                raise ValueError(part)
            out.append(float(np.float32(float(part))))
        except ValueError:
            return InfoQuality((float("nan"),), imputed, readable=False)
    return InfoQuality(tuple(out), imputed)


def unreadable_quality_message(path: str, count: int) -> str:
    """The warning for records whose R2/DR2/INFO value is not a number (read as NaN)."""
    return (
        f"{path}: {count} listed record(s) have an imputation quality (INFO R2, DR2 or "
        "INFO) that is not a number, or not one value per ALT allele; their r2 is NaN"
    )
