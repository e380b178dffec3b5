"""Numba kernels that read VCF text straight from a decompressed buffer.

The fast VCF path (:mod:`prs.genotypes.fastvcf`) inflates BGZF blocks into a ``uint8``
buffer and calls these kernels on it; they find the records, check their fixed columns the
way the checked path (:mod:`prs.genotypes.vcf`) does, and turn the sample columns of the
records the caller wants into allele indexes (GT) or numbers (DS, GP). They never raise:
problems come back as a status code and a byte offset, which the Python wrapper turns into a
:class:`~prs.errors.GenotypeFileError` naming the file, the line and chrom:pos.

Anything a kernel does not handle exactly as htslib would (a ploidy above 2, an allele index
above 127, a number its fast decimal parser cannot round exactly, an odd FORMAT) is flagged
per record, and the wrapper sends that record through the checked cyvcf2 path instead.
"""

from __future__ import annotations

import numba
import numpy as np

# -- status codes of scan_records ------------------------------------------------------------
#: Scanned up to ``end``; the remainder (if any) is an unfinished line.
SCAN_DONE = 0
#: A record on a chromosome spelling the caller has not mapped yet (see ``chrom_names``).
SCAN_NEW_CHROM = 1
#: The output arrays are full; call again from the returned offset.
SCAN_FULL = 2
#: A record after ``stop_pos`` on ``stop_chrom`` (region reads).
SCAN_STOP = 3
#: Structural errors, in the order the checked path tests them.
ERR_BLANK = 10
ERR_FEW_COLUMNS = 11
ERR_EMPTY_CHROM = 12
ERR_BAD_POS = 13
ERR_COLUMN_COUNT = 14
ERR_EMPTY_REF = 15
#: A CHROM that is not a valid contig name (VCF 4.3 section 1.4.7); see ``name_valid``.
ERR_BAD_CHROM = 16

#: The largest POS (:data:`prs.chrom.MAX_POSITION`): larger is :data:`ERR_BAD_POS`.
MAX_POSITION = 2**31 - 1

# -- per-record flags of the sample parsers ---------------------------------------------------
#: Parsed completely by the kernel.
REC_OK = 0
#: Needs the checked path (structure the kernel does not reproduce exactly).
REC_FALLBACK = 1
#: FORMAT has no GT (or, for DS/GP parsing, no such field).
REC_NO_FIELD = 2

#: Allele code of a missing allele (``.``) and of an absent one (second allele of a haploid
#: call); the same values cyvcf2's ``genotype.array()`` uses.
ALLELE_MISSING = -1
ALLELE_ABSENT = -2

# -- dosage error codes -------------------------------------------------------------------------
DOSAGE_OK = 0
DOSAGE_HALF_CALL = 1
DOSAGE_ALLELE_RANGE = 2
DOSAGE_VALUE = 3

HALF_ERROR, HALF_MISSING, HALF_HAPLOID, HALF_REFERENCE = 0, 1, 2, 3
HAPLOID_AS_DIPLOID, HAPLOID_HAPLOID = 0, 1

_M7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
_TABS = np.uint64(0x0909090909090909)
_ONES = np.uint64(0x0101010101010101)
_SHIFT7 = np.uint64(7)
_SHIFT56 = np.uint64(56)

_POW10 = np.array([10.0**k for k in range(23)])


@numba.njit(cache=True, nogil=True)
def find_line_end(buf: np.ndarray, words: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Offset of the first newline at or after ``start`` (or ``end``) and the tabs before it.

    ``words`` is ``buf`` viewed as ``uint64`` (``buf`` 8-byte aligned); whole words are
    tested eight bytes at a time (exact zero-byte detection, SWAR).
    """
    q = start
    tabs = 0
    while q < end and (q & 7) != 0:
        c = buf[q]
        if c == 10:
            return q, tabs
        if c == 9:
            tabs += 1
        q += 1
    while q + 8 <= end:
        w = words[q >> 3]
        a = w ^ _NEWLINES
        za = ~(((a & _M7) + _M7) | a | _M7)
        if za != 0:
            break
        b = w ^ _TABS
        zb = ~(((b & _M7) + _M7) | b | _M7)
        tabs += int(((zb >> _SHIFT7) * _ONES) >> _SHIFT56)
        q += 8
    while q < end:
        c = buf[q]
        if c == 10:
            return q, tabs
        if c == 9:
            tabs += 1
        q += 1
    return end, tabs


@numba.njit(cache=True, nogil=True)
def _is_space(c: int) -> bool:
    return c == 32 or c == 9 or c == 10 or c == 13 or c == 11 or c == 12


@numba.njit(cache=True, nogil=True)
def _chrom_id(buf: np.ndarray, p: int, q: int, names: np.ndarray, name_offsets: np.ndarray) -> int:
    n_names = len(name_offsets) - 1
    length = q - p
    for k in range(n_names):
        a = name_offsets[k]
        b = name_offsets[k + 1]
        if b - a != length:
            continue
        same = True
        for i in range(length):
            if names[a + i] != buf[p + i]:
                same = False
                break
        if same:
            return k
    return -1


@numba.njit(cache=True, nogil=True)
def _fixed_gt_ok(
    w32: np.ndarray,
    q: int,
    n: int,
    end: int,
    buf: np.ndarray,
    counts: np.ndarray,
) -> bool:
    """True when the ``n`` samples at ``q`` are exactly ``d|d\\t...d|d\\n`` with d in 0/1.

    ``w32`` is the buffer viewed as ``uint32`` from offset ``q % 4``; the ALT-1 count of
    each sample goes to ``counts``.
    """
    if n < 1 or q + 4 * n > end:
        return False
    base = q >> 2
    bad = np.uint32(0)
    for s in range(n - 1):
        x = w32[base + s]
        sep = x & np.uint32(0xFF00FF00)
        bad |= np.uint32((sep != np.uint32(0x09007C00)) & (sep != np.uint32(0x09002F00)))
        bad |= (x & np.uint32(0x00FE00FE)) ^ np.uint32(0x00300030)
        counts[s] = np.uint8((x & np.uint32(1)) + ((x >> np.uint32(16)) & np.uint32(1)))
    if bad != 0:
        return False
    last = q + 4 * (n - 1)
    c0 = buf[last]
    c1 = buf[last + 1]
    c2 = buf[last + 2]
    c3 = buf[last + 3]
    if not ((c0 == 48 or c0 == 49) and (c1 == 124 or c1 == 47) and (c2 == 48 or c2 == 49)):
        return False
    if c3 != 10:
        return False
    counts[n - 1] = (c0 - 48) + (c2 - 48)
    return True


@numba.njit(cache=True, nogil=True)
def scan_records(
    buf: np.ndarray,
    words: np.ndarray,
    w0: np.ndarray,
    w1: np.ndarray,
    w2: np.ndarray,
    w3: np.ndarray,
    start: int,
    end: int,
    final: bool,
    names: np.ndarray,
    name_offsets: np.ndarray,
    name_chrom: np.ndarray,
    name_valid: np.ndarray,
    wanted_offsets: np.ndarray,
    wanted_positions: np.ndarray,
    want_all: bool,
    n_columns: int,
    pack_samples: int,
    stop_chrom: int,
    stop_pos: int,
    out_line: np.ndarray,
    out_fields: np.ndarray,
    out_pos: np.ndarray,
    out_chrom: np.ndarray,
    out_record: np.ndarray,
    out_lineno: np.ndarray,
    out_packed: np.ndarray,
    out_simple: np.ndarray,
    state: np.ndarray,
) -> int:
    """Find the records in ``buf[start:end]``, check them and list those at wanted positions.

    Parameters
    ----------
    buf, words, w0, w1, w2, w3
        The text (``uint8``), the same memory as ``uint64`` words, and four ``uint32``
        views of it starting at byte offsets 0, 1, 2 and 3.
    start, end
        Byte range to scan; ``start`` is at a line start.
    final
        True when ``end`` is the end of the file (a last line without newline is complete).
    names, name_offsets, name_chrom
        Raw CHROM spellings met so far (concatenated bytes and CSR offsets) and the
        canonical chromosome id of each; an unknown spelling stops the scan
        (:data:`SCAN_NEW_CHROM`) so the caller can add it.
    name_valid
        ``uint8`` per spelling: 0 when it is not a valid contig name (a record on it is
        :data:`ERR_BAD_CHROM`).
    wanted_offsets, wanted_positions
        CSR table: sorted wanted positions of each canonical chromosome id.
    want_all
        List every record (``wanted=None``).
    n_columns
        Expected columns per record (9 + samples), or -1 not to check.
    pack_samples
        Samples per record (> 0) to try the fixed ``GT``-only layout (``0|1`` calls, one
        tab between): such records are checked eight bytes at a time and, when listed,
        packed into ``out_packed`` (2-bit ALT-1 counts) with ``out_simple`` True. 0: never.
    stop_chrom, stop_pos
        Stop at the first record beyond ``stop_pos`` on ``stop_chrom`` or on another
        chromosome (region reads); ``stop_chrom`` -1 never stops.
    out_line, out_fields, out_pos, out_chrom, out_record, out_lineno
        Outputs per listed record: ``out_line[i] = (line start, line end)``,
        ``out_fields[i] = (end of ALT, start of FORMAT, start of first sample, start of ID,
        alleles)`` (offsets -1 when absent), position, chromosome id, record number and
        line number.
    state
        ``int64[8]``: in ``[0]`` records so far, ``[1]`` lines so far, ``[2]`` records
        listed; out ``[3]`` status, ``[4]`` offset of the offending line, ``[5]`` a detail
        (columns found); ``[6]`` counts records with POS 0 (telomeres, VCF 4.3), which are
        checked and numbered but never listed (no scoring position is 0); ``[7]`` counts
        the lines starting with ``#`` (header lines; more than the header's are repeated
        headers among the records).

    Returns
    -------
    int
        Offset where scanning stopped (start of the first line not consumed).
    """
    record = state[0]
    lineno = state[1]
    listed = state[2]
    capacity = len(out_pos)
    state[3] = SCAN_DONE
    last_chrom_start = -1
    last_chrom_len = -1
    last_chrom_id = -1
    counts = np.empty(max(pack_samples, 1), dtype=np.uint8)
    p = start
    while p < end:
        c = buf[p]
        if c == 35:  # '#': header or comment lines are skipped (and counted)
            q, _t = find_line_end(buf, words, p, end)
            if q >= end and not final:
                break
            state[7] += 1
            lineno += 1
            p = q + 1
            continue
        if _is_space(c):
            q, _t = find_line_end(buf, words, p, end)
            if q >= end and not final:
                break
            text_end = q
            while text_end > p and buf[text_end - 1] == 13:
                text_end -= 1
            blank = True
            for i in range(p, text_end):
                if not _is_space(buf[i]):
                    blank = False
                    break
            if blank:
                state[3] = ERR_BLANK
                state[4] = p
                break
        # Fixed columns: up to nine tabs, or the end of the line.
        f1 = -1
        f2 = -1
        f3 = -1
        f4 = -1
        f5 = -1
        f8 = -1
        f9 = -1
        found = 0
        commas = 0
        i = p
        while i < end:
            c = buf[i]
            if c == 10:
                break
            if c == 9:
                found += 1
                if found == 1:
                    f1 = i
                elif found == 2:
                    f2 = i
                elif found == 3:
                    f3 = i
                elif found == 4:
                    f4 = i
                elif found == 5:
                    f5 = i
                elif found == 8:
                    f8 = i
                elif found == 9:
                    f9 = i
                    break
            elif c == 44 and found == 4:
                commas += 1
            i += 1
        if i >= end and not final:
            break
        simple = False
        if f9 >= 0:
            q9 = f9 + 1
            if (
                pack_samples > 0
                and f9 - f8 == 3
                and buf[f8 + 1] == 71
                and buf[f8 + 2] == 84
                and q9 + 4 * pack_samples <= end
            ):
                shift = q9 & 3
                w = w0 if shift == 0 else (w1 if shift == 1 else (w2 if shift == 2 else w3))
                simple = _fixed_gt_ok(w, q9, pack_samples, end, buf, counts)
            if simple:
                q = q9 + 4 * pack_samples - 1
                tabs = 8 + pack_samples
            else:
                q, more = find_line_end(buf, words, f9, end)
                if q >= end and not final:
                    break
                tabs = 8 + more
        else:
            q = i
            tabs = found
        text_end = q
        while text_end > p and buf[text_end - 1] == 13:
            text_end -= 1
        if found < 7:
            state[3] = ERR_FEW_COLUMNS
            state[4] = p
            state[5] = found + 1
            break
        empty_chrom = True
        for k in range(p, f1):
            if not _is_space(buf[k]):
                empty_chrom = False
                break
        if empty_chrom:
            state[3] = ERR_EMPTY_CHROM
            state[4] = p
            break
        pos = 0
        bad_pos = f2 == f1 + 1
        for k in range(f1 + 1, f2):
            c = buf[k]
            if c < 48 or c > 57 or pos > MAX_POSITION:
                bad_pos = True
                break
            pos = pos * 10 + (c - 48)
        if bad_pos or pos > MAX_POSITION:
            state[3] = ERR_BAD_POS
            state[4] = p
            break
        if n_columns >= 0 and tabs + 1 != n_columns:
            state[3] = ERR_COLUMN_COUNT
            state[4] = p
            state[5] = tabs + 1
            break
        if f4 == f3 + 1 or (f4 == f3 + 2 and buf[f3 + 1] == 46):
            state[3] = ERR_EMPTY_REF
            state[4] = p
            break
        # Chromosome id (cached while the spelling repeats).
        clen = f1 - p
        same = clen == last_chrom_len
        if same:
            for k in range(clen):
                if buf[p + k] != buf[last_chrom_start + k]:
                    same = False
                    break
        if not same:
            name = _chrom_id(buf, p, f1, names, name_offsets)
            if name < 0:
                state[3] = SCAN_NEW_CHROM
                state[4] = p
                break
            if name_valid[name] == 0:
                state[3] = ERR_BAD_CHROM
                state[4] = p
                break
            last_chrom_id = name_chrom[name]
            last_chrom_start = p
            last_chrom_len = clen
        chrom = last_chrom_id
        if stop_chrom >= 0 and (chrom != stop_chrom or pos > stop_pos):
            state[3] = SCAN_STOP
            state[4] = p
            break
        if pos == 0:
            state[6] += 1
        wanted = want_all and pos > 0
        if not wanted and chrom >= 0 and pos > 0:
            lo = wanted_offsets[chrom]
            hi = wanted_offsets[chrom + 1]
            if hi > lo:
                k = np.searchsorted(wanted_positions[lo:hi], pos)
                wanted = k < hi - lo and wanted_positions[lo + k] == pos
        if wanted:
            if listed >= capacity:
                state[3] = SCAN_FULL
                break
            out_line[listed, 0] = p
            out_line[listed, 1] = text_end
            out_fields[listed, 0] = f5 if f5 >= 0 else text_end
            out_fields[listed, 1] = f8 + 1 if f8 >= 0 else -1
            out_fields[listed, 2] = f9 + 1 if f9 >= 0 else -1
            out_fields[listed, 3] = f2 + 1
            alt_end = f5 if f5 >= 0 else text_end
            no_alt = alt_end == f4 + 1 or (alt_end == f4 + 2 and buf[f4 + 1] == 46)
            out_fields[listed, 4] = 1 if no_alt else commas + 2
            out_pos[listed] = pos
            out_chrom[listed] = chrom
            out_record[listed] = record
            out_lineno[listed] = lineno + 1
            # The packed store holds 0/1 ALT counts of a biallelic record: a record without
            # ALT must have its allele indexes range-checked (a "1" is an error).
            simple = simple and not no_alt
            out_simple[listed] = simple
            if simple:
                for b in range(out_packed.shape[1]):
                    out_packed[listed, b] = 0
                for s in range(pack_samples):
                    out_packed[listed, s >> 2] |= np.uint8(counts[s] << (2 * (s & 3)))
            listed += 1
        record += 1
        lineno += 1
        p = q + 1
    state[0] = record
    state[1] = lineno
    state[2] = listed
    return p


@numba.njit(cache=True, nogil=True)
def number_lines(
    buf: np.ndarray,
    words: np.ndarray,
    begin: int,
    end: int,
    base: int,
    queries: np.ndarray,
    out_record: np.ndarray,
    out_line: np.ndarray,
    state: np.ndarray,
) -> None:
    """Record and line numbers of the lines starting at ``queries`` (text offsets).

    Walks the lines of ``buf[begin:end]`` (text offset ``base + i``), counting line starts
    and record starts (lines not starting with ``#``), so an indexed read, which parses
    only a few windows, numbers its records as a sequential read does.

    Parameters
    ----------
    buf, words
        The text and the same memory as ``uint64`` words (``buf`` 8-byte aligned).
    queries
        Sorted text offsets of line starts to number.
    out_record, out_line
        Out, per query: records before it (its 0-based record number in the file) and its
        1-based line number; -1 for a query that is not at a line start.
    state
        ``int64[4]``, carried between calls over consecutive chunks: records so far, lines
        so far, next query, and 1 when ``buf[begin]`` starts a line (0 inside a line).
    """
    records = state[0]
    lines = state[1]
    qi = state[2]
    p = begin
    if state[3] == 0 and p < end:
        q, _t = find_line_end(buf, words, p, end)
        if q >= end:
            return
        p = q + 1
    state[3] = 1
    while p < end:
        here = base + p
        while qi < len(queries) and queries[qi] < here:
            out_record[qi] = -1
            out_line[qi] = -1
            qi += 1
        if qi < len(queries) and queries[qi] == here:
            out_record[qi] = records
            out_line[qi] = lines + 1
            qi += 1
        if buf[p] != 35:
            records += 1
        lines += 1
        q, _t = find_line_end(buf, words, p, end)
        if q >= end:
            state[3] = 0
            break
        p = q + 1
    state[0] = records
    state[1] = lines
    state[2] = qi


@numba.njit(cache=True, nogil=True)
def gather_segments(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, out: np.ndarray, offset: int
) -> int:
    """Copy ``buf[starts[i]:ends[i]]`` into ``out`` from ``offset``, each followed by ``\\n``.

    Returns the offset after the last byte written.
    """
    o = offset
    for i in range(len(starts)):
        for k in range(starts[i], ends[i]):
            out[o] = buf[k]
            o += 1
        out[o] = 10
        o += 1
    return o


@numba.njit(cache=True, nogil=True)
def _format_index(buf: np.ndarray, p: int, key0: int, key1: int) -> tuple[int, int]:
    """Index of a two-letter key in the FORMAT column at ``p`` (-1 absent) and field count."""
    index = 0
    found = -1
    k = p
    start = p
    while True:
        c = buf[k] if k < len(buf) else 9
        if c == 58 or c == 9 or c == 10 or c == 13:
            if k - start == 2 and buf[start] == key0 and buf[start + 1] == key1 and found < 0:
                found = index
            index += 1
            if c != 58:
                break
            start = k + 1
        k += 1
    return found, index


@numba.njit(cache=True, nogil=True)
def parse_gt_alleles(
    buf: np.ndarray,
    lines: np.ndarray,
    fields: np.ndarray,
    rows: np.ndarray,
    sample_out: np.ndarray,
    alleles: np.ndarray,
    flags: np.ndarray,
) -> None:
    """Parse the GT of every sample of records ``rows`` into allele indexes.

    Parameters
    ----------
    buf
        The text.
    lines, fields
        From :func:`scan_records` (line start/end; ALT end, FORMAT start, samples start).
    rows
        Which listed records to parse; output row ``j`` belongs to ``rows[j]``.
    sample_out
        ``int64[n_file_samples]``: output column of each sample in the file, -1 to skip.
    alleles
        ``int8[len(rows), n_out, 2]`` out: allele indexes, :data:`ALLELE_MISSING` for ``.``,
        :data:`ALLELE_ABSENT` as the second allele of a haploid call.
    flags
        ``int8[len(rows)]`` out: :data:`REC_OK`, :data:`REC_FALLBACK` or
        :data:`REC_NO_FIELD`.
    """
    n_file = len(sample_out)
    for j in range(len(rows)):
        r = rows[j]
        line_end = lines[r, 1]
        fmt = fields[r, 1]
        q = fields[r, 2]
        if fmt < 0 or q < 0:
            flags[j] = REC_NO_FIELD
            continue
        gt_index, n_fields = _format_index(buf, fmt, 71, 84)  # "GT"
        if gt_index < 0:
            flags[j] = REC_NO_FIELD
            continue
        flag = REC_OK
        for s in range(n_file):
            # Skip to the GT subfield.
            skip = gt_index
            while skip > 0:
                c = buf[q] if q < line_end else 9
                if c == 9:
                    break
                if c == 58:
                    skip -= 1
                q += 1
            a0 = ALLELE_ABSENT
            a1 = ALLELE_ABSENT
            c0 = buf[q] if q + 3 < line_end else 0
            c1 = buf[q + 1] if q + 3 < line_end else 0
            c2 = buf[q + 2] if q + 3 < line_end else 0
            c3 = buf[q + 3] if q + 3 < line_end else 0
            if (
                skip == 0
                and 48 <= c0 <= 57
                and (c1 == 124 or c1 == 47)
                and 48 <= c2 <= 57
                and (c3 == 9 or c3 == 58)
            ):
                a0 = c0 - 48
                a1 = c2 - 48
                q += 3
            else:
                ploidy = 0
                value = -3  # -3: nothing read in this allele yet
                bad = skip != 0
                while not bad:
                    c = buf[q] if q < line_end else 9
                    if 48 <= c <= 57:
                        if value == ALLELE_MISSING:
                            bad = True
                            break
                        value = (c - 48) if value < 0 else value * 10 + (c - 48)
                        if value > 127:
                            bad = True
                            break
                    elif c == 46:  # '.'
                        if value != -3:
                            bad = True
                            break
                        value = ALLELE_MISSING
                    elif c == 47 or c == 124 or c == 58 or c == 9:
                        if value == -3:
                            bad = True
                            break
                        if ploidy == 0:
                            a0 = value
                        elif ploidy == 1:
                            a1 = value
                        ploidy += 1
                        value = -3
                        if c == 58 or c == 9:
                            break
                    else:
                        bad = True
                        break
                    q += 1
                if bad or ploidy > 2:
                    flag = REC_FALLBACK
                    break
            # Advance to the next sample column; more subfields than FORMAT keys is an
            # error htslib reports, so the checked path must see the record.
            extra = 0
            while q < line_end and buf[q] != 9:
                if buf[q] == 58:
                    extra += 1
                q += 1
            q += 1
            if gt_index + extra + 1 > n_fields:
                flag = REC_FALLBACK
                break
            col = sample_out[s]
            if col >= 0:
                alleles[j, col, 0] = a0
                alleles[j, col, 1] = a1
        flags[j] = flag


@numba.njit(cache=True, nogil=True)
def _parse_number(buf: np.ndarray, q: int, stop: int) -> tuple[float, int, bool]:
    """A decimal number at ``q``: (value, offset after it, exact).

    Exact (correctly rounded, as strtod) when the digits fit 2**53 and the power of ten is
    at most 22 (Clinger's fast path); otherwise ``exact`` is False and the caller falls back.
    """
    negative = False
    c = buf[q] if q < stop else 0
    if c == 45 or c == 43:
        negative = c == 45
        q += 1
    mantissa = 0
    digits = 0
    scale = 0
    seen_point = False
    any_digit = False
    while q < stop:
        c = buf[q]
        if 48 <= c <= 57:
            any_digit = True
            if mantissa == 0 and c == 48:
                if seen_point:
                    scale -= 1
            else:
                if digits >= 18:
                    return 0.0, q, False
                mantissa = mantissa * 10 + (c - 48)
                digits += 1
                if seen_point:
                    scale -= 1
        elif c == 46 and not seen_point:
            seen_point = True
        else:
            break
        q += 1
    if not any_digit:
        return 0.0, q, False
    if q < stop and (buf[q] == 101 or buf[q] == 69):  # exponent
        q += 1
        exp_negative = False
        if q < stop and (buf[q] == 45 or buf[q] == 43):
            exp_negative = buf[q] == 45
            q += 1
        exponent = 0
        exp_digits = 0
        while q < stop and 48 <= buf[q] <= 57:
            exponent = exponent * 10 + (buf[q] - 48)
            exp_digits += 1
            if exponent > 400:
                return 0.0, q, False
            q += 1
        if exp_digits == 0:
            return 0.0, q, False
        scale += -exponent if exp_negative else exponent
    if mantissa >= 9007199254740992:
        return 0.0, q, False
    value = float(mantissa)
    if mantissa == 0:
        value = 0.0
    elif scale < 0:
        if -scale > 22:
            return 0.0, q, False
        value = value / _POW10[-scale]
    elif scale > 0:
        if scale > 22:
            return 0.0, q, False
        value = value * _POW10[scale]
    return (-value if negative else value), q, True


@numba.njit(cache=True, nogil=True)
def parse_float_field(
    buf: np.ndarray,
    lines: np.ndarray,
    fields: np.ndarray,
    rows: np.ndarray,
    sample_out: np.ndarray,
    key0: int,
    key1: int,
    values: np.ndarray,
    counts: np.ndarray,
    flags: np.ndarray,
) -> None:
    """Parse a numeric FORMAT field (``DS``, ``GP``) of every sample of records ``rows``.

    Values are rounded to float32 as htslib stores them, then widened; ``.`` is NaN.

    Parameters
    ----------
    key0, key1
        The field's two letters (``ord("D"), ord("S")``).
    values
        ``float64[len(rows), n_out, width]`` out.
    counts
        ``int8[len(rows), n_out]`` out: values written for the sample (a lone ``.`` is one).
    flags
        ``int8[len(rows)]`` out: :data:`REC_OK`, :data:`REC_FALLBACK` (a value the kernel
        cannot parse exactly, or more than ``width`` values) or :data:`REC_NO_FIELD`.
    """
    n_file = len(sample_out)
    width = values.shape[2]
    for j in range(len(rows)):
        r = rows[j]
        line_end = lines[r, 1]
        fmt = fields[r, 1]
        q = fields[r, 2]
        if fmt < 0 or q < 0:
            flags[j] = REC_NO_FIELD
            continue
        index, n_fields = _format_index(buf, fmt, key0, key1)
        if index < 0:
            flags[j] = REC_NO_FIELD
            continue
        flag = REC_OK
        for s in range(n_file):
            skip = index
            while skip > 0 and q < line_end:
                c = buf[q]
                if c == 9:
                    break
                if c == 58:
                    skip -= 1
                q += 1
            col = sample_out[s]
            count = 0
            if skip == 0:
                while True:
                    c = buf[q] if q < line_end else 9
                    if c == 46 and (q + 1 >= line_end or buf[q + 1] in (44, 58, 9)):
                        value = np.nan
                        q += 1
                    else:
                        value, q, exact = _parse_number(buf, q, line_end)
                        if not exact:
                            flag = REC_FALLBACK
                            break
                        value = float(np.float32(value))
                    if count >= width:
                        flag = REC_FALLBACK
                        break
                    if col >= 0:
                        values[j, col, count] = value
                    count += 1
                    c = buf[q] if q < line_end else 9
                    if c == 44:
                        q += 1
                        continue
                    if c == 58 or c == 9:
                        break
                    flag = REC_FALLBACK
                    break
                if flag != REC_OK:
                    break
            if col >= 0:
                counts[j, col] = count
            extra = 0
            while q < line_end and buf[q] != 9:
                if buf[q] == 58:
                    extra += 1
                q += 1
            q += 1
            if skip == 0 and index + extra + 1 > n_fields:
                flag = REC_FALLBACK
                break
        flags[j] = flag


@numba.njit(cache=True, nogil=True)
def parse_gt_and_float_field(
    buf: np.ndarray,
    lines: np.ndarray,
    fields: np.ndarray,
    rows: np.ndarray,
    sample_out: np.ndarray,
    key0: int,
    key1: int,
    alleles: np.ndarray,
    flags: np.ndarray,
    values: np.ndarray,
    counts: np.ndarray,
    vflags: np.ndarray,
    fused: np.ndarray,
) -> None:
    """:func:`parse_gt_alleles` and :func:`parse_float_field` in one walk over the text.

    For records whose FORMAT has ``GT`` before the numeric field (``GT:DS:GP``, as
    imputation servers write it) each sample column is read once, not twice; outputs are
    those of the two kernels, except that a record either kernel would flag
    :data:`REC_FALLBACK` is flagged so in both (the caller sends such a record to the
    checked path either way). Other records get ``fused[j] = False`` and nothing else:
    the caller parses them with the two kernels.

    The per-sample code of the two kernels is repeated here on purpose: shared through
    ``@njit`` helpers (even ``inline="always"``) this walk measured ~25 % slower on the DS
    benchmark (1.3-1.5 s -> 1.7-2.0 s); ``tests/test_vcf_text.py`` holds the copies equal.
    """
    n_file = len(sample_out)
    width = values.shape[2]
    for j in range(len(rows)):
        r = rows[j]
        line_end = lines[r, 1]
        fmt = fields[r, 1]
        q = fields[r, 2]
        fused[j] = False
        if fmt < 0 or q < 0:
            continue
        gt_index, n_fields = _format_index(buf, fmt, 71, 84)  # "GT"
        v_index, _ = _format_index(buf, fmt, key0, key1)
        if gt_index < 0 or v_index <= gt_index:
            continue
        fused[j] = True
        flag = REC_OK
        for s in range(n_file):
            col = sample_out[s]
            # Fields before GT.
            skip = gt_index
            while skip > 0:
                c = buf[q] if q < line_end else 9
                if c == 9:
                    break
                if c == 58:
                    skip -= 1
                q += 1
            # GT (as parse_gt_alleles).
            a0 = ALLELE_ABSENT
            a1 = ALLELE_ABSENT
            c0 = buf[q] if q + 3 < line_end else 0
            c1 = buf[q + 1] if q + 3 < line_end else 0
            c2 = buf[q + 2] if q + 3 < line_end else 0
            c3 = buf[q + 3] if q + 3 < line_end else 0
            if (
                skip == 0
                and 48 <= c0 <= 57
                and (c1 == 124 or c1 == 47)
                and 48 <= c2 <= 57
                and (c3 == 9 or c3 == 58)
            ):
                a0 = c0 - 48
                a1 = c2 - 48
                q += 3
            else:
                ploidy = 0
                value = -3
                bad = skip != 0
                while not bad:
                    c = buf[q] if q < line_end else 9
                    if 48 <= c <= 57:
                        if value == ALLELE_MISSING:
                            bad = True
                            break
                        value = (c - 48) if value < 0 else value * 10 + (c - 48)
                        if value > 127:
                            bad = True
                            break
                    elif c == 46:
                        if value != -3:
                            bad = True
                            break
                        value = ALLELE_MISSING
                    elif c == 47 or c == 124 or c == 58 or c == 9:
                        if value == -3:
                            bad = True
                            break
                        if ploidy == 0:
                            a0 = value
                        elif ploidy == 1:
                            a1 = value
                        ploidy += 1
                        value = -3
                        if c == 58 or c == 9:
                            break
                    else:
                        bad = True
                        break
                    q += 1
                if bad or ploidy > 2:
                    flag = REC_FALLBACK
                    break
            if col >= 0:
                alleles[j, col, 0] = a0
                alleles[j, col, 1] = a1
            # q is at the ':' or tab ending GT. Fields between GT and the numeric field.
            skip = v_index - gt_index
            while skip > 0 and q < line_end:
                c = buf[q]
                if c == 9:
                    break
                if c == 58:
                    skip -= 1
                q += 1
            # The numeric field (as parse_float_field); absent in a short column: no values.
            count = 0
            if skip == 0:
                while True:
                    c = buf[q] if q < line_end else 9
                    if c == 46 and (q + 1 >= line_end or buf[q + 1] in (44, 58, 9)):
                        number = np.nan
                        q += 1
                    else:
                        number, q, exact = _parse_number(buf, q, line_end)
                        if not exact:
                            flag = REC_FALLBACK
                            break
                        number = float(np.float32(number))
                    if count >= width:
                        flag = REC_FALLBACK
                        break
                    if col >= 0:
                        values[j, col, count] = number
                    count += 1
                    c = buf[q] if q < line_end else 9
                    if c == 44:
                        q += 1
                        continue
                    if c == 58 or c == 9:
                        break
                    flag = REC_FALLBACK
                    break
                if flag != REC_OK:
                    break
            if col >= 0:
                counts[j, col] = count
            # The rest of the column; more subfields than FORMAT keys goes to htslib.
            reached = v_index if skip == 0 else gt_index
            extra = 0
            while q < line_end and buf[q] != 9:
                if buf[q] == 58:
                    extra += 1
                q += 1
            q += 1
            if reached + extra + 1 > n_fields:
                flag = REC_FALLBACK
                break
        flags[j] = flag
        vflags[j] = flag


@numba.njit(cache=True, nogil=True)
def gt_dosages(
    alleles: np.ndarray,
    rows: np.ndarray,
    want: np.ndarray,
    n_alleles: np.ndarray,
    half_call: int,
    haploid: int,
    dosage: np.ndarray,
    ploidy: np.ndarray,
    error: np.ndarray,
) -> None:
    """Dosage of allele ``want[i]`` in parsed record ``rows[i]`` (the checked path's rules).

    A call's ploidy is its number of alleles. A half-missing call (``0/.``) is an error
    (``half_call`` :data:`HALF_ERROR`), missing, haploid or REF for the missing allele. A
    call with no allele is missing (NaN). A haploid call counts double with ploidy 2 under
    :data:`HAPLOID_AS_DIPLOID` (PLINK 2's VCF import).

    ``error`` (``int64[3]``) gets (code, request index, sample) of the first problem:
    :data:`DOSAGE_HALF_CALL` or :data:`DOSAGE_ALLELE_RANGE`.
    """
    n = alleles.shape[1]
    for i in range(len(rows)):
        r = rows[i]
        a = want[i]
        limit = n_alleles[i]
        # Fast case: every call diploid, called, within range.
        plain = True
        for s in range(n):
            a0 = alleles[r, s, 0]
            a1 = alleles[r, s, 1]
            if a0 < 0 or a1 < 0 or a0 >= limit or a1 >= limit:
                plain = False
                break
        if plain:
            for s in range(n):
                dosage[i, s] = float((alleles[r, s, 0] == a) + (alleles[r, s, 1] == a))
                ploidy[i, s] = 2
            continue
        for s in range(n):
            a0 = alleles[r, s, 0]
            a1 = alleles[r, s, 1]
            p = 2 if a1 != ALLELE_ABSENT else 1
            if a0 == ALLELE_ABSENT:
                p = 0
            if p == 2 and (a0 == ALLELE_MISSING) != (a1 == ALLELE_MISSING):
                if half_call == HALF_ERROR:
                    if error[0] == DOSAGE_OK:
                        error[0] = DOSAGE_HALF_CALL
                        error[1] = i
                        error[2] = s
                    continue
                if half_call == HALF_MISSING:
                    a0 = ALLELE_MISSING
                    a1 = ALLELE_MISSING
                elif half_call == HALF_REFERENCE:
                    if a0 == ALLELE_MISSING:
                        a0 = 0
                    if a1 == ALLELE_MISSING:
                        a1 = 0
                else:
                    if a0 == ALLELE_MISSING:
                        a0 = a1
                    a1 = ALLELE_ABSENT
                    p = 1
            if a0 >= limit or a1 >= limit:
                if error[0] == DOSAGE_OK:
                    error[0] = DOSAGE_ALLELE_RANGE
                    error[1] = i
                    error[2] = s
                continue
            count = 0.0
            if a0 == a:
                count += 1.0
            if p == 2 and a1 == a:
                count += 1.0
            effective = p
            if haploid == HAPLOID_AS_DIPLOID and p == 1:
                count *= 2.0
                effective = 2
            called = a0 >= 0 or (p == 2 and a1 >= 0)
            dosage[i, s] = count if called else np.nan
            ploidy[i, s] = effective


@numba.njit(cache=True, nogil=True)
def gt_ploidy(
    alleles: np.ndarray, r: int, half_call: int, out: np.ndarray, error: np.ndarray, i: int
) -> None:
    """Ploidy of each call of parsed record ``r`` after half-call rules (DS/GP need it)."""
    for s in range(alleles.shape[1]):
        a0 = alleles[r, s, 0]
        a1 = alleles[r, s, 1]
        p = 2 if a1 != ALLELE_ABSENT else 1
        if a0 == ALLELE_ABSENT:
            p = 0
        if p == 2 and (a0 == ALLELE_MISSING) != (a1 == ALLELE_MISSING):
            if half_call == HALF_ERROR:
                if error[0] == DOSAGE_OK:
                    error[0] = DOSAGE_HALF_CALL
                    error[1] = i
                    error[2] = s
            elif half_call == HALF_HAPLOID:
                p = 1
        out[s] = p


@numba.njit(cache=True, nogil=True)
def ds_dosages(
    values: np.ndarray,
    counts: np.ndarray,
    call_ploidy: np.ndarray,
    r: int,
    n_alt: int,
    want: np.ndarray,
    haploid: int,
    dosage: np.ndarray,
    ploidy: np.ndarray,
    out_row: int,
    error: np.ndarray,
) -> None:
    """DS dosages of alleles ``want`` at parsed record ``r`` into rows ``out_row...``.

    ALT ``a`` has dosage ``DS[a-1]``; REF has ``ploidy - sum(DS)`` (at least 0). A sample
    with a ``.`` or fewer values than ALT alleles is missing. A value below 0 or a sum above
    the ploidy (+0.001) sets ``error`` (:data:`DOSAGE_VALUE`, row, sample).
    """
    n = values.shape[1]
    for s in range(n):
        p = call_ploidy[s]
        diploid = 2 if p == 0 else p
        scale = 1.0
        effective = p
        if haploid == HAPLOID_AS_DIPLOID and p == 1:
            scale = 2.0
            effective = 2
        missing = counts[r, s] < n_alt
        total = 0.0
        negative = False
        for k in range(n_alt):
            if k < counts[r, s]:
                v = values[r, s, k]
                if np.isnan(v):
                    missing = True
                else:
                    total += v
                    if v < 0:
                        negative = True
        if not missing and (negative or total > diploid + 1e-3):
            if error[0] == DOSAGE_OK:
                error[0] = DOSAGE_VALUE
                error[1] = out_row
                error[2] = s
            continue
        for k in range(len(want)):
            a = want[k]
            if missing:
                d = np.nan
            elif a == 0:
                d = diploid - total
                if d < 0.0:
                    d = 0.0
                d *= scale
            else:
                d = values[r, s, a - 1] * scale
            dosage[out_row + k, s] = d
            ploidy[out_row + k, s] = effective


@numba.njit(cache=True, nogil=True)
def gp_dosages(
    values: np.ndarray,
    counts: np.ndarray,
    call_ploidy: np.ndarray,
    r: int,
    want: np.ndarray,
    haploid: int,
    dosage: np.ndarray,
    ploidy: np.ndarray,
    out_row: int,
    error: np.ndarray,
) -> None:
    """GP dosages (biallelic): ALT ``GP[1] + 2 GP[2]`` (haploid ``GP[1]``), REF the rest."""
    n = values.shape[1]
    width = values.shape[2]
    for s in range(n):
        p = call_ploidy[s]
        diploid = 2 if p == 0 else p
        scale = 1.0
        effective = p
        if haploid == HAPLOID_AS_DIPLOID and p == 1:
            scale = 2.0
            effective = 2
        c = counts[r, s]
        missing = False
        total = 0.0
        bad = False
        for k in range(width):
            v = values[r, s, k] if k < c else 0.0
            if np.isnan(v):
                missing = True
                v = 0.0
            if v < 0.0 or v > 1.0 + 1e-3:
                bad = True
            total += v
        if not missing and (bad or abs(total - 1.0) > 0.01):
            if error[0] == DOSAGE_OK:
                error[0] = DOSAGE_VALUE
                error[1] = out_row
                error[2] = s
            continue
        gp1 = values[r, s, 1] if c > 1 else 0.0
        gp2 = values[r, s, 2] if c > 2 else 0.0
        alt = gp1 if c == 2 else gp1 + 2.0 * gp2
        for k in range(len(want)):
            d = alt if want[k] == 1 else diploid - alt
            dosage[out_row + k, s] = np.nan if missing else d * scale
            ploidy[out_row + k, s] = effective


@numba.njit(cache=True, nogil=True)
def packed_dosages(
    packed: np.ndarray,
    rows: np.ndarray,
    want: np.ndarray,
    n: int,
    dosage: np.ndarray,
    ploidy: np.ndarray,
    out_rows: np.ndarray,
) -> None:
    """Dosages of allele ``want[i]`` from packed record ``rows[i]`` into ``out_rows[i]``."""
    table = np.empty((3, 256, 4))
    for byte in range(256):
        for k in range(4):
            count = (byte >> (2 * k)) & 3
            table[0, byte, k] = 2.0 - count
            table[1, byte, k] = float(count)
            table[2, byte, k] = 0.0
    full = n >> 2
    for i in range(len(rows)):
        r = rows[i]
        a = want[i]
        which = a if a < 2 else 2
        o = out_rows[i]
        for b in range(full):
            byte = packed[r, b]
            for k in range(4):
                dosage[o, 4 * b + k] = table[which, byte, k]
        for s in range(4 * full, n):
            dosage[o, s] = table[which, packed[r, s >> 2], s & 3]
        for s in range(n):
            ploidy[o, s] = 2


@numba.njit(cache=True, nogil=True)
def decode_requests(
    alleles: np.ndarray,
    gt_flags: np.ndarray,
    values: np.ndarray,
    counts: np.ndarray,
    value_flags: np.ndarray,
    field: int,
    rows: np.ndarray,
    want: np.ndarray,
    n_alleles: np.ndarray,
    half_call: int,
    haploid: int,
    dosage: np.ndarray,
    ploidy: np.ndarray,
    out_rows: np.ndarray,
    status: np.ndarray,
) -> None:
    """Dosages of many requests from parsed records, the checked path's rules.

    ``field`` is 0 (GT), 1 (DS) or 2 (GP); a DS/GP record without that field is read from
    GT (``status`` 2, counted by the caller). Requests the kernel cannot answer exactly
    (a flagged record, a value or call the checked path rejects) get ``status`` 1 and are
    left to the checked path.
    """
    n = alleles.shape[1]
    call_ploidy = np.empty(n, dtype=np.int8)
    error = np.zeros(3, dtype=np.int64)
    one_row = np.zeros(1, dtype=np.int64)
    one_want = np.zeros(1, dtype=np.int64)
    one_n = np.zeros(1, dtype=np.int64)
    for i in range(len(rows)):
        j = rows[i]
        o = out_rows[i]
        use = field
        if field != 0:
            if value_flags[j] == REC_NO_FIELD:
                use = 0
                status[i] = 2
            elif value_flags[j] == REC_FALLBACK or gt_flags[j] == REC_FALLBACK:
                status[i] = 1
                continue
            else:
                top = 0
                for s in range(n):
                    if counts[j, s] > top:
                        top = counts[j, s]
                if field == 1 and top != n_alleles[i] - 1:
                    status[i] = 1
                    continue
                if field == 2 and (n_alleles[i] != 2 or top != 3):
                    status[i] = 1
                    continue
        if use == 0:
            if gt_flags[j] != REC_OK:
                status[i] = 1
                continue
            error[0] = DOSAGE_OK
            one_row[0] = j
            one_want[0] = want[i]
            one_n[0] = n_alleles[i]
            gt_dosages(
                alleles,
                one_row,
                one_want,
                one_n,
                half_call,
                haploid,
                dosage[o : o + 1],
                ploidy[o : o + 1],
                error,
            )
            if error[0] != DOSAGE_OK:
                status[i] = 1
            continue
        error[0] = DOSAGE_OK
        if gt_flags[j] == REC_NO_FIELD:
            for s in range(n):
                call_ploidy[s] = 2
        else:
            gt_ploidy(alleles, j, half_call, call_ploidy, error, 0)
            # GT gives only the ploidy here, but an allele index beyond the record's
            # alleles is the checked path's error all the same.
            for s in range(n):
                if alleles[j, s, 0] >= n_alleles[i] or alleles[j, s, 1] >= n_alleles[i]:
                    error[0] = DOSAGE_ALLELE_RANGE
                    break
        if error[0] != DOSAGE_OK:
            status[i] = 1
            continue
        one_want[0] = want[i]
        if use == 1:
            ds_dosages(
                values,
                counts,
                call_ploidy,
                j,
                n_alleles[i] - 1,
                one_want,
                haploid,
                dosage,
                ploidy,
                o,
                error,
            )
        else:
            gp_dosages(values, counts, call_ploidy, j, one_want, haploid, dosage, ploidy, o, error)
        if error[0] != DOSAGE_OK:
            status[i] = 1
