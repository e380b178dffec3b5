"""Dosages for the fast VCF path: from the genotype cache or from records' text.

:class:`Decoder` holds a source's decoding options as the kernels take them (the words of
:mod:`prs.vocab` mapped to the kernels' codes) and turns parsed calls and
DS/GP/HDS values into dosages with :mod:`prs.kernels.dosage`, by the checked path's rules. A
request the kernels cannot answer exactly is returned to the caller as a
:class:`CheckedRequests` for the checked path (:mod:`prs.genotypes.fastvcf.fallback`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from prs.genotypes.fastvcf.cache import GenotypeCache
from prs.genotypes.fastvcf.scan import Listed
from prs.kernels import dosage as kd
from prs.kernels import fields as kf
from prs.vocab import DOSAGE_FIELDS, HALF_CALL_POLICIES, HAPLOID_POLICIES

#: Half-call policy word -> kernel code.
HALF_CALL_CODES: dict[str, int] = {
    "error": kd.HALF_ERROR,
    "missing": kd.HALF_MISSING,
    "haploid": kd.HALF_HAPLOID,
    "reference": kd.HALF_REFERENCE,
}
#: Haploid policy word -> kernel code.
HAPLOID_CODES: dict[str, int] = {
    "as-diploid": kd.HAPLOID_AS_DIPLOID,
    "haploid": kd.HAPLOID_HAPLOID,
}
#: Dosage field word -> kernel code.
FIELD_CODES: dict[str, int] = {
    "GT": kd.FIELD_GT,
    "DS": kd.FIELD_DS,
    "GP": kd.FIELD_GP,
    "HDS": kd.FIELD_HDS,
}
#: A numeric dosage field's FORMAT key as the parsing kernels take it (three letters, the
#: third 0 for a two-letter key).
FIELD_KEYS: dict[str, tuple[int, int, int]] = {
    name: kf.field_key(name) for name in DOSAGE_FIELDS if name != "GT"
}
assert set(HALF_CALL_CODES) == set(HALF_CALL_POLICIES)
assert set(HAPLOID_CODES) == set(HAPLOID_POLICIES)
assert set(FIELD_CODES) == set(DOSAGE_FIELDS)


@dataclass
class CheckedRequests:
    """Requests left to the checked path: per listed row, the alleles wanted and the
    output rows they go to; and how many records read a DS/GP/HDS dosage from GT."""

    rows: list[int] = field(default_factory=list)
    wants: list[np.ndarray] = field(default_factory=list)
    targets: list[np.ndarray] = field(default_factory=list)
    from_gt: int = 0

    def add(self, row: int, want: np.ndarray, target: np.ndarray) -> None:
        self.rows.append(row)
        self.wants.append(want)
        self.targets.append(target)


class RecordText(NamedTuple):
    """Records' text in a buffer: each line's ``[start, end)`` and the offsets of ALT's
    end, FORMAT and the first sample column (-1 when absent)."""

    buf: np.ndarray
    lines: np.ndarray  # int64[k, 2]
    fields: np.ndarray  # int64[k, 3]


@dataclass(frozen=True)
class Decoder:
    """One source's decoding: its samples and options, as the kernels take them.

    Attributes
    ----------
    n_samples
        Output samples.
    sample_out
        Output column of each file sample, -1 to skip.
    dosage
        ``"GT"``, ``"DS"``, ``"GP"`` or ``"HDS"``.
    half_call, haploid
        Kernel codes of the policies.
    undeclared_files
        Files whose header does not declare the DS/GP/HDS field ``Type=Float`` (htslib reads it
        as text there, so the checked path names the error).
    """

    n_samples: int
    sample_out: np.ndarray
    dosage: str
    half_call: int
    haploid: int
    undeclared_files: tuple[int, ...] = ()

    def cached(
        self,
        cache: GenotypeCache,
        packed: np.ndarray,
        cached: np.ndarray,
        want: np.ndarray,
        n_alleles: np.ndarray,
        dosage: np.ndarray,
        ploidy: np.ndarray,
    ) -> int:
        """Write the dosages of requests whose record is in the cache (``packed`` /
        ``cached``: its rows there, -1 if not); -1, or the first request the kernels
        refuse (the checked path names its error)."""
        in_packed = np.flatnonzero(packed >= 0)
        if len(in_packed):
            kd.packed_dosages(
                cache.packed,
                packed[in_packed],
                want[in_packed],
                self.n_samples,
                dosage,
                ploidy,
                in_packed.astype(np.int64),
            )
        in_alleles = np.flatnonzero((packed < 0) & (cached >= 0))
        if not len(in_alleles):
            return -1
        sub_d = np.empty((len(in_alleles), self.n_samples))
        sub_p = np.empty((len(in_alleles), self.n_samples), dtype=np.int8)
        error = np.zeros(3, dtype=np.int64)
        kd.gt_dosages(
            cache.alleles,
            cached[in_alleles],
            want[in_alleles],
            n_alleles[in_alleles].astype(np.int64),
            self.half_call,
            self.haploid,
            sub_d,
            sub_p,
            error,
        )
        if error[0] != kd.DOSAGE_OK:
            return int(in_alleles[error[1]])
        dosage[in_alleles] = sub_d
        ploidy[in_alleles] = sub_p
        return -1

    def decode_rows(
        self,
        text: RecordText,
        listed: Listed,
        listed_rows: np.ndarray,
        rows: np.ndarray,
        want: np.ndarray,
        out_rows: np.ndarray,
        dosage: np.ndarray,
        ploidy: np.ndarray,
    ) -> CheckedRequests:
        """Decode records ``listed_rows`` (their text in ``text``, in that order) for the
        requests ``(rows[i], want[i])``, into ``dosage[out_rows[i]]``/``ploidy[...]``."""
        parsed = self._parse(text, listed, listed_rows)
        request_of = np.searchsorted(listed_rows, rows).astype(np.int64)
        if self.dosage == "GT" and bool((parsed.flags == kf.REC_OK).all()):
            # Common case: one kernel call for every request, scattered afterwards.
            sub_d = np.empty((len(rows), self.n_samples))
            sub_p = np.empty((len(rows), self.n_samples), dtype=np.int8)
            error = np.zeros(3, dtype=np.int64)
            kd.gt_dosages(
                parsed.alleles,
                request_of,
                want.astype(np.int64),
                listed.n_alleles[rows].astype(np.int64),
                self.half_call,
                self.haploid,
                sub_d,
                sub_p,
                error,
            )
            if error[0] == kd.DOSAGE_OK:
                dosage[out_rows] = sub_d
                ploidy[out_rows] = sub_p
                return CheckedRequests()
        status = np.zeros(len(rows), dtype=np.int8)
        kd.decode_requests(
            parsed.alleles,
            parsed.flags,
            parsed.values,
            parsed.counts,
            parsed.vflags,
            FIELD_CODES[self.dosage],
            request_of,
            want.astype(np.int64),
            listed.n_alleles[rows].astype(np.int64),
            self.half_call,
            self.haploid,
            dosage,
            ploidy,
            out_rows.astype(np.int64),
            status,
        )
        left = CheckedRequests(from_gt=len(np.unique(rows[status == kd.DECODE_FROM_GT])))
        checked = np.flatnonzero(status == kd.DECODE_CHECKED_PATH)
        for row in np.unique(rows[checked]).tolist():
            mine = checked[rows[checked] == row]
            left.add(row, want[mine], out_rows[mine])
        return left

    def _parse(self, text: RecordText, listed: Listed, listed_rows: np.ndarray) -> _Parsed:
        """GT (and the DS/GP/HDS field) of every record in ``text``."""
        k = len(listed_rows)
        local = np.arange(k, dtype=np.int64)
        alleles = np.empty((k, self.n_samples, 2), dtype=np.int8)
        flags = np.zeros(k, dtype=np.int8)
        if self.dosage == "GT":
            parsed = _Parsed(
                alleles,
                flags,
                np.zeros((1, 1, 1), dtype=np.float32),
                np.zeros((1, 1), dtype=np.int8),
                np.zeros(1, dtype=np.int8),
            )
            if self.n_samples:
                kf.parse_gt_alleles(
                    text.buf, text.lines, text.fields, local, self.sample_out, alleles, flags
                )
            return parsed
        # GP: 3 values (biallelic); HDS: one per haplotype; DS: one per ALT.
        width = {"GP": 3, "HDS": 2}.get(self.dosage, 0) or int(listed.n_alleles[listed_rows].max())
        parsed = _Parsed(
            alleles,
            flags,
            # float32 holds the values exactly (htslib's own type); only the first
            # ``counts`` values of a sample are ever read, so no fill is needed.
            np.empty((k, self.n_samples, width), dtype=np.float32),
            np.zeros((k, self.n_samples), dtype=np.int8),
            np.zeros(k, dtype=np.int8),
        )
        if self.n_samples:
            self._parse_gt_and_field(text, local, parsed)
        if self.undeclared_files:
            # A DS/GP/HDS field the header does not declare as Float: htslib reads it as text,
            # so the checked path names the error (records that have the field only).
            has_field = parsed.vflags != kf.REC_NO_FIELD
            undeclared = np.isin(listed.file[listed_rows], self.undeclared_files)
            parsed.vflags[undeclared & has_field] = kf.REC_FALLBACK
        return parsed

    def _parse_gt_and_field(self, text: RecordText, local: np.ndarray, parsed: _Parsed) -> None:
        """GT and the DS/GP/HDS field of records ``local``: one walk over each sample column
        (``GT`` first in FORMAT, the usual layout), the two kernels for any other layout."""
        key = FIELD_KEYS[self.dosage]
        fused = np.zeros(len(local), dtype=np.bool_)

        def part(a: int, b: int) -> None:
            kf.parse_gt_and_float_field(
                text.buf,
                text.lines,
                text.fields,
                local[a:b],
                self.sample_out,
                key[0],
                key[1],
                parsed.alleles[a:b],
                parsed.flags[a:b],
                parsed.values[a:b],
                parsed.counts[a:b],
                parsed.vflags[a:b],
                fused[a:b],
                key[2],
            )

        # Two threads, each on half of the records (the kernel releases the GIL; the
        # halves write disjoint rows of the outputs).
        half = len(local) // 2
        if half >= 16:
            with ThreadPoolExecutor(1, thread_name_prefix="prs-parse") as helper:
                job = helper.submit(part, half, len(local))
                part(0, half)
                job.result()
        else:
            part(0, len(local))
        rest = np.flatnonzero(~fused)
        if len(rest):
            self._parse_apart(text, local[rest], rest, parsed)

    def _parse_apart(
        self, text: RecordText, rows: np.ndarray, rest: np.ndarray, parsed: _Parsed
    ) -> None:
        """GT and the DS/GP/HDS field of records ``rows`` by the two separate kernels, into
        rows ``rest`` of ``parsed``."""
        key = FIELD_KEYS[self.dosage]
        sub_alleles = np.empty((len(rest), *parsed.alleles.shape[1:]), dtype=np.int8)
        sub_flags = np.zeros(len(rest), dtype=np.int8)
        sub_values = np.empty((len(rest), *parsed.values.shape[1:]), dtype=np.float32)
        sub_counts = np.zeros((len(rest), parsed.counts.shape[1]), dtype=parsed.counts.dtype)
        sub_vflags = np.zeros(len(rest), dtype=np.int8)
        kf.parse_gt_alleles(
            text.buf, text.lines, text.fields, rows, self.sample_out, sub_alleles, sub_flags
        )
        kf.parse_float_field(
            text.buf,
            text.lines,
            text.fields,
            rows,
            self.sample_out,
            key[0],
            key[1],
            sub_values,
            sub_counts,
            sub_vflags,
            key[2],
        )
        parsed.alleles[rest] = sub_alleles
        parsed.flags[rest] = sub_flags
        parsed.values[rest] = sub_values
        parsed.counts[rest] = sub_counts
        parsed.vflags[rest] = sub_vflags


class _Parsed(NamedTuple):
    """Parsed calls and field values of some records (the kernels' output arrays)."""

    alleles: np.ndarray  # int8[k, n, 2]
    flags: np.ndarray  # int8[k]: REC_* per record (GT)
    values: np.ndarray  # float32[k, n, width]: DS/GP/HDS values (the first ``counts`` set)
    counts: np.ndarray  # int8[k, n]: values per sample
    vflags: np.ndarray  # int8[k]: REC_* per record (the field)
