"""Kernel step 1 of the fast VCF path: find the records in decompressed text and check them.

The fast VCF path (:mod:`prs.genotypes.fastvcf`) inflates BGZF blocks into a ``uint8`` buffer
and calls :func:`scan_records` on it: it finds the records, checks their fixed columns the way
the checked path (:mod:`prs.genotypes.vcf`) does and lists those at wanted positions. Kernels
never raise: problems come back as a status code and a byte offset in a ``state`` array (its
slots are named below), which the Python wrapper turns into a
:class:`~prs.errors.GenotypeFileError` naming the file, the line and chrom:pos.
"""

from __future__ import annotations

import numpy as np

from prs.kernels.jit import kernel

# -- status codes of scan_records (``state[STATE_STATUS]``) ------------------------------------
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

#: The largest POS (:data:`prs.genome.MAX_POSITION`): larger is :data:`ERR_BAD_POS`.
MAX_POSITION = 2**31 - 1

# -- the slots of scan_records' ``int64[8]`` state ---------------------------------------------
#: In and out: records so far, lines so far, records listed so far.
STATE_RECORDS, STATE_LINES, STATE_LISTED = 0, 1, 2
#: Out: the status (``SCAN_*`` / ``ERR_*``), the offset of the line it concerns and a detail
#: (the number of columns found, for the column-count errors).
STATE_STATUS, STATE_OFFSET, STATE_DETAIL = 3, 4, 5
#: Running counts: records with POS 0 (checked and numbered, never listed) and lines starting
#: with ``#`` (more than the header's are repeated headers among the records).
STATE_POS_ZERO, STATE_HASH_LINES = 6, 7
#: Size of the state array.
STATE_SIZE = 8

# -- the slots of number_lines' ``int64[4]`` state ---------------------------------------------
#: Records so far, lines so far, next query, and 1 when the chunk starts at a line start.
NUMBER_RECORDS, NUMBER_LINES, NUMBER_QUERY, NUMBER_AT_LINE_START = 0, 1, 2, 3
NUMBER_STATE_SIZE = 4

_M7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
_TABS = np.uint64(0x0909090909090909)
_ONES = np.uint64(0x0101010101010101)
_SHIFT7 = np.uint64(7)
_SHIFT56 = np.uint64(56)


@kernel
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


@kernel
def _is_space(c: int) -> bool:
    return c == 32 or c == 9 or c == 10 or c == 13 or c == 11 or c == 12


@kernel
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


@kernel
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


@kernel
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
    record = state[STATE_RECORDS]
    lineno = state[STATE_LINES]
    listed = state[STATE_LISTED]
    capacity = len(out_pos)
    state[STATE_STATUS] = SCAN_DONE
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
            state[STATE_HASH_LINES] += 1
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
                state[STATE_STATUS] = ERR_BLANK
                state[STATE_OFFSET] = p
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
            state[STATE_STATUS] = ERR_FEW_COLUMNS
            state[STATE_OFFSET] = p
            state[STATE_DETAIL] = found + 1
            break
        empty_chrom = True
        for k in range(p, f1):
            if not _is_space(buf[k]):
                empty_chrom = False
                break
        if empty_chrom:
            state[STATE_STATUS] = ERR_EMPTY_CHROM
            state[STATE_OFFSET] = p
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
            state[STATE_STATUS] = ERR_BAD_POS
            state[STATE_OFFSET] = p
            break
        if n_columns >= 0 and tabs + 1 != n_columns:
            state[STATE_STATUS] = ERR_COLUMN_COUNT
            state[STATE_OFFSET] = p
            state[STATE_DETAIL] = tabs + 1
            break
        if f4 == f3 + 1 or (f4 == f3 + 2 and buf[f3 + 1] == 46):
            state[STATE_STATUS] = ERR_EMPTY_REF
            state[STATE_OFFSET] = p
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
                state[STATE_STATUS] = SCAN_NEW_CHROM
                state[STATE_OFFSET] = p
                break
            if name_valid[name] == 0:
                state[STATE_STATUS] = ERR_BAD_CHROM
                state[STATE_OFFSET] = p
                break
            last_chrom_id = name_chrom[name]
            last_chrom_start = p
            last_chrom_len = clen
        chrom = last_chrom_id
        if stop_chrom >= 0 and (chrom != stop_chrom or pos > stop_pos):
            state[STATE_STATUS] = SCAN_STOP
            state[STATE_OFFSET] = p
            break
        if pos == 0:
            state[STATE_POS_ZERO] += 1
        wanted = want_all and pos > 0
        if not wanted and chrom >= 0 and pos > 0:
            lo = wanted_offsets[chrom]
            hi = wanted_offsets[chrom + 1]
            if hi > lo:
                k = np.searchsorted(wanted_positions[lo:hi], pos)
                wanted = k < hi - lo and wanted_positions[lo + k] == pos
        if wanted:
            if listed >= capacity:
                state[STATE_STATUS] = SCAN_FULL
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
    state[STATE_RECORDS] = record
    state[STATE_LINES] = lineno
    state[STATE_LISTED] = listed
    return p


@kernel
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
    records = state[NUMBER_RECORDS]
    lines = state[NUMBER_LINES]
    qi = state[NUMBER_QUERY]
    p = begin
    if state[NUMBER_AT_LINE_START] == 0 and p < end:
        q, _t = find_line_end(buf, words, p, end)
        if q >= end:
            return
        p = q + 1
    state[NUMBER_AT_LINE_START] = 1
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
            state[NUMBER_AT_LINE_START] = 0
            break
        p = q + 1
    state[NUMBER_RECORDS] = records
    state[NUMBER_LINES] = lines
    state[NUMBER_QUERY] = qi


@kernel
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
