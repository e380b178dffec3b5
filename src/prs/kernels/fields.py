"""Kernel step 2 of the fast VCF path: the sample columns of listed records, as numbers.

:func:`parse_gt_alleles` turns each call's ``GT`` into allele indexes and
:func:`parse_float_field` reads a numeric FORMAT field (``DS``, ``GP``). Anything they do not
handle exactly as htslib would (a ploidy above 2, an allele index above 127, a number the fast
decimal parser cannot round exactly, an odd FORMAT) is flagged per record (``REC_*``) and the
wrapper sends that record through the checked cyvcf2 path instead.
"""

from __future__ import annotations

import numpy as np

from prs.kernels.jit import kernel

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

_POW10 = np.array([10.0**k for k in range(23)])


@kernel
def _format_index(buf: np.ndarray, p: int, key0: int, key1: int, key2: int) -> tuple[int, int]:
    """Index of a key in the FORMAT column at ``p`` (-1 absent) and field count.

    The key is two letters (``key2`` 0: ``GT``, ``DS``, ``GP``) or three (``HDS``)."""
    length = 2 if key2 == 0 else 3
    index = 0
    found = -1
    k = p
    start = p
    while True:
        c = buf[k] if k < len(buf) else 9
        if c == 58 or c == 9 or c == 10 or c == 13:
            if (
                k - start == length
                and found < 0
                and buf[start] == key0
                and buf[start + 1] == key1
                and (length == 2 or buf[start + 2] == key2)
            ):
                found = index
            index += 1
            if c != 58:
                break
            start = k + 1
        k += 1
    return found, index


@kernel
def _record_at(lines: np.ndarray, fields: np.ndarray, r: int) -> tuple[int, int, int]:
    """Record ``r``'s line end, FORMAT start and first sample column (-1 when absent)."""
    return lines[r, 1], fields[r, 1], fields[r, 2]


@kernel
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
        line_end, fmt, q = _record_at(lines, fields, rows[j])
        if fmt < 0 or q < 0:
            flags[j] = REC_NO_FIELD
            continue
        gt_index, n_fields = _format_index(buf, fmt, 71, 84, 0)  # "GT"
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


@kernel
def _parse_number(buf: np.ndarray, q: int, stop: int) -> tuple[float, int, bool]:
    """A decimal number at ``q``: (value, offset after it, exact).

    Exact (correctly rounded, as strtod) when the digits fit 2**53 and the power of ten is
    at most 22 (Clinger's fast path); otherwise ``exact`` is False and the caller falls back.
    """
    negative = False
    # int(): without the JIT (NUMBA_DISABLE_JIT=1) uint8 arithmetic would wrap
    c = int(buf[q]) if q < stop else 0
    if c == 45 or c == 43:
        negative = c == 45
        q += 1
    mantissa = 0
    digits = 0
    scale = 0
    seen_point = False
    any_digit = False
    while q < stop:
        c = int(buf[q])
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
            exponent = exponent * 10 + (int(buf[q]) - 48)
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


@kernel
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
    key2: int = 0,
) -> None:
    """Parse a numeric FORMAT field (``DS``, ``GP``, ``HDS``) of every sample of records ``rows``.

    Values are rounded to float32 as htslib stores them, then widened; ``.`` is NaN.

    Parameters
    ----------
    key0, key1, key2
        The field's letters (``ord("D"), ord("S")``; ``key2`` the third letter of a
        three-letter key such as ``HDS``, 0 for a two-letter one).
    values
        ``float32[len(rows), n_out, width]`` (or float64) out: the first ``counts[j, s]``
        values of each sample are written.
    counts
        ``int8[len(rows), n_out]`` out: values written for the sample (a lone ``.`` is one).
    flags
        ``int8[len(rows)]`` out: :data:`REC_OK`, :data:`REC_FALLBACK` (a value the kernel
        cannot parse exactly, or more than ``width`` values) or :data:`REC_NO_FIELD`.
    """
    n_file = len(sample_out)
    width = values.shape[2]
    for j in range(len(rows)):
        line_end, fmt, q = _record_at(lines, fields, rows[j])
        if fmt < 0 or q < 0:
            flags[j] = REC_NO_FIELD
            continue
        index, n_fields = _format_index(buf, fmt, key0, key1, key2)
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


@kernel
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
    key2: int = 0,
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
        line_end, fmt, q = _record_at(lines, fields, rows[j])
        fused[j] = False
        if fmt < 0 or q < 0:
            continue
        gt_index, n_fields = _format_index(buf, fmt, 71, 84, 0)  # "GT"
        v_index, _ = _format_index(buf, fmt, key0, key1, key2)
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


# -- INFO imputation quality (R2 / DR2 / INFO, IMPUTED / IMP / TYPED) ---------------------------
#: Per-record status of :func:`parse_info_quality`: read, or left to Python
#: (:func:`prs.genotypes.vcf_record.info_quality`: several values, or not a short number).
INFO_OK = 0
INFO_PYTHON = 1


@kernel
def _info_key(buf: np.ndarray, a: int, b: int) -> int:
    """Which INFO key ``buf[a:b]`` is: 0 R2, 1 DR2, 2 INFO, 3 IMPUTED (Minimac) or IMP
    (Beagle), 4 TYPED, -1 other."""
    n = b - a
    if n == 2 and buf[a] == 82 and buf[a + 1] == 50:
        return 0
    if n == 3 and buf[a] == 68 and buf[a + 1] == 82 and buf[a + 2] == 50:
        return 1
    if n == 3 and buf[a] == 73 and buf[a + 1] == 77 and buf[a + 2] == 80:
        return 3
    if n == 4 and buf[a] == 73 and buf[a + 1] == 78 and buf[a + 2] == 70 and buf[a + 3] == 79:
        return 2
    if n == 7 and buf[a] == 73 and buf[a + 1] == 77 and buf[a + 2] == 80 and buf[a + 6] == 68:
        if buf[a + 3] == 85 and buf[a + 4] == 84 and buf[a + 5] == 69:
            return 3
    if n == 5 and buf[a] == 84 and buf[a + 1] == 89 and buf[a + 2] == 80 and buf[a + 3] == 69:
        if buf[a + 4] == 68:
            return 4
    return -1


@kernel
def parse_info_quality(
    buf: np.ndarray,
    lines: np.ndarray,
    fields: np.ndarray,
    r2: np.ndarray,
    imputed: np.ndarray,
    status: np.ndarray,
) -> None:
    """Imputation quality in the INFO column of each listed record (as
    :func:`prs.genotypes.vcf_record.info_quality`, which the tests hold it to).

    Parameters
    ----------
    buf, lines, fields
        The text and :func:`scan_records`' outputs (line start/end; FORMAT start or -1 in
        ``fields[:, 1]``).
    r2
        ``float32[k]`` out: the value of ``R2``, else ``DR2``, else ``INFO`` (first
        occurrence), rounded to float32 as htslib stores it; NaN when absent or ``.``.
    imputed
        ``bool[k]`` out: ``IMPUTED`` (Minimac) or ``IMP`` (Beagle) present and ``TYPED``
        absent.
    status
        ``int8[k]`` out: :data:`INFO_OK`, or :data:`INFO_PYTHON` for a value the kernel
        does not read exactly (several values, not a short decimal): Python reads those.
    """
    for j in range(len(r2)):
        end = fields[j, 1] - 1 if fields[j, 1] >= 0 else lines[j, 1]
        start = end
        while buf[start - 1] != 9:
            start -= 1
        best = 3  # index into (R2, DR2, INFO) of the value kept; 3: none yet
        value = np.nan
        flag_imputed = False
        flag_typed = False
        ok = True
        a = start
        while a < end:
            b = a
            eq = -1
            while b < end and buf[b] != 59:
                if buf[b] == 61 and eq < 0:
                    eq = b
                b += 1
            key = _info_key(buf, a, eq if eq >= 0 else b)
            if eq < 0:
                if key == 3:
                    flag_imputed = True
                elif key == 4:
                    flag_typed = True
            elif 0 <= key < best:
                best = key
                if b == eq + 2 and buf[eq + 1] == 46:
                    value = np.nan
                else:
                    number, after, exact = _parse_number(buf, eq + 1, b)
                    if not exact or after != b:
                        ok = False
                    value = float(np.float32(number))
            a = b + 1
        r2[j] = value
        imputed[j] = flag_imputed and not flag_typed
        status[j] = INFO_OK if ok else INFO_PYTHON


# -- DS kept from the sites pass ---------------------------------------------------------------
#: float32 of ``m / 1000`` for m = 0..2000: a DS of at most three decimals in [0, 2] is this
#: table at ``m * 10**(3 - decimals)`` — the same number as strtod's correctly rounded double
#: (m and 1000 exact, one IEEE division) cast to float32, which is what htslib stores.
DS_MILLI = np.array([np.float32(m / 1000.0) for m in range(2001)], dtype=np.float32)
#: The code of a missing DS (``.``) in :func:`parse_simple_ds`' output.
DS_CODE_MISSING = 65535
_SCALE3 = np.array([1000, 100, 10, 1], dtype=np.int64)


def field_key(name: str) -> tuple[int, int, int]:
    """A FORMAT key of two or three letters as the kernels take it (``key0, key1, key2``;
    ``key2`` 0 for two letters).

    >>> field_key("DS"), field_key("HDS")
    ((68, 83, 0), (72, 68, 83))
    """
    codes = name.encode()
    return codes[0], codes[1], codes[2] if len(codes) > 2 else 0


#: Bytes a column repeated verbatim may span to be decoded once (:func:`parse_short_values`).
MEMO_BYTES = 16
_U1 = np.uint64(1)
_U63 = np.uint64(63)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def text_words(buf: np.ndarray) -> tuple[np.ndarray, int]:
    """``buf`` as ``uint64`` words for :func:`parse_short_values`: the words from the first
    8-byte aligned byte, and that byte's offset (``buf[align + 8 * k]`` starts
    ``words[k]``).

    >>> words, align = text_words(np.arange(20, dtype=np.uint8)[1:])
    >>> int(words[0]) & 0xFF == 1 + align
    True
    """
    align = -buf.ctypes.data % 8
    count = max(len(buf) - align, 0) // 8
    return np.frombuffer(buf, dtype=np.uint64, count=count, offset=align), align


def parse_simple_ds(
    buf: np.ndarray,
    lines: np.ndarray,
    fields: np.ndarray,
    rows: np.ndarray,
    sample_out: np.ndarray,
    codes: np.ndarray,
    simple: np.ndarray,
) -> None:
    """DS of biallelic records: :func:`parse_short_values` of ``DS`` into ``uint16[len(rows),
    n_out]`` codes."""
    words, align = text_words(buf)
    parse_short_values(
        buf,
        words,
        align,
        lines,
        fields,
        rows,
        sample_out,
        68,
        83,
        0,
        codes.reshape((codes.shape[0], codes.shape[1], 1)),
        simple,
    )


@kernel
def parse_short_values(
    buf: np.ndarray,
    words: np.ndarray,
    align: int,
    lines: np.ndarray,
    fields: np.ndarray,
    rows: np.ndarray,
    sample_out: np.ndarray,
    key0: int,
    key1: int,
    key2: int,
    codes: np.ndarray,
    simple: np.ndarray,
) -> None:
    """DS (one value a call) or HDS (two) of biallelic records whose every call is a diploid
    ``a|b`` or ``a/b`` (a, b in 0/1), FORMAT starting with ``GT`` and holding the field
    (``GT:DS``, ``GT:DS:HDS:GP``: imputation servers' layouts).

    Such a record's dosages need nothing but the field (ploidy 2, no half-calls, no allele
    out of range), so the sites pass keeps the values and ``read()`` never sees its text
    again. A value of at most three decimals (trailing zeros aside) in [0, 2] (DS) or [0, 1]
    (HDS, a haplotype's), as imputation servers write them, is kept as its code ``m`` (the
    value is m / 1000, 2 bytes a value); :data:`DS_MILLI` turns codes into exactly the
    float32 htslib stores. ``.`` is :data:`DS_CODE_MISSING` (a lone ``.`` for HDS: both).
    Anything else (more decimals, an exponent, a sign, a value out of range, another count
    of values, more subfields than FORMAT keys, ...) leaves the record to the general path
    (``simple[j] = False``), whose parser rounds as strtod then float32.

    Columns repeat: most calls of an imputed variant are written alike
    (``0|0:0:0,0:1,0,0``). A column of at most :data:`MEMO_BYTES` bytes with its tab,
    once parsed, is remembered (one per GT, for the record); a later column of the same
    bytes, compared 16 bytes at once, takes its codes without being parsed again (the
    same bytes: the same codes, the same checks passed).

    Parameters
    ----------
    words, align
        :func:`text_words` of ``buf``.
    rows
        Listed records to try; output row ``j`` belongs to ``rows[j]``.
    key0, key1, key2
        The field (:func:`field_key`).
    codes
        ``uint16[len(rows), n_out, width]`` out, ``width`` values a call (1 DS, 2 HDS; rows
        with ``simple`` False are left unspecified).
    simple
        ``bool[len(rows)]`` out.
    """
    n_file = len(sample_out)
    width = codes.shape[2]
    limit = 2000 if width == 1 else 1000
    loadable = align + 8 * len(words)  # an 8-byte load at q needs q + 8 <= loadable
    # Remembered columns, one per GT ((a0 & 1) * 2 + (a1 & 1)): their first 16 bytes as two
    # words, the masks of the bytes that count, length (0: none) and codes.
    memo_lo = np.zeros(4, dtype=np.uint64)
    memo_hi = np.zeros(4, dtype=np.uint64)
    mask_lo = np.zeros(4, dtype=np.uint64)
    mask_hi = np.zeros(4, dtype=np.uint64)
    memo_len = np.zeros(4, dtype=np.int64)
    memo_code = np.zeros((4, width), dtype=np.int64)
    for j in range(len(rows)):
        line_end, fmt, q = _record_at(lines, fields, rows[j])
        simple[j] = False
        if fmt < 0 or q < 0:
            continue
        gt_index, n_fields = _format_index(buf, fmt, 71, 84, 0)  # "GT"
        v_index, _ = _format_index(buf, fmt, key0, key1, key2)
        if gt_index != 0 or v_index < 1:
            continue
        memo = q >= align and line_end + 24 <= loadable
        for slot in range(4):
            memo_len[slot] = 0
        ok = True
        for s in range(n_file):
            col = sample_out[s]
            slot = 0
            w0 = np.uint64(0)
            w1 = np.uint64(0)
            if memo:
                # The column's first 16 bytes (two unaligned words from three aligned).
                slot = ((buf[q] & 1) << 1) | (buf[q + 2] & 1)
                i = q - align
                shift = np.uint64((i & 7) * 8)
                k = i >> 3
                w0 = (words[k] >> shift) | ((words[k + 1] << _U1) << (_U63 - shift))
                w1 = (words[k + 1] >> shift) | ((words[k + 2] << _U1) << (_U63 - shift))
                length = memo_len[slot]
                if (
                    length > 0
                    and q + length <= line_end
                    and (
                        ((w0 ^ memo_lo[slot]) & mask_lo[slot])
                        | ((w1 ^ memo_hi[slot]) & mask_hi[slot])
                    )
                    == 0
                ):
                    if col >= 0:
                        for k in range(width):
                            codes[j, col, k] = memo_code[slot, k]
                    q += length
                    continue
            start = q
            # GT: exactly d|d or d/d, d in 0/1, then ':'.
            if q + 5 > line_end:
                ok = False
                break
            c0 = buf[q]
            c1 = buf[q + 1]
            c2 = buf[q + 2]
            if not (
                (c0 == 48 or c0 == 49)
                and (c1 == 124 or c1 == 47)
                and (c2 == 48 or c2 == 49)
                and buf[q + 3] == 58
            ):
                ok = False
                break
            q += 4
            # Fields between GT and the one read.
            skip = v_index - 1
            while skip > 0 and q < line_end and buf[q] != 9:
                if buf[q] == 58:
                    skip -= 1
                q += 1
            if skip > 0:
                ok = False
                break
            for k in range(width):
                # A value: '.', or digits[.digits].
                c = buf[q] if q < line_end else 9
                code = DS_CODE_MISSING
                if c == 46 and (q + 1 >= line_end or buf[q + 1] in (58, 9, 44)):
                    q += 1
                else:
                    m = 0
                    digits = 0
                    while q < line_end and 48 <= buf[q] <= 57 and digits < 15:
                        m = m * 10 + (int(buf[q]) - 48)
                        digits += 1
                        q += 1
                    decimals = 0
                    if q < line_end and buf[q] == 46:
                        q += 1
                        while q < line_end and 48 <= buf[q] <= 57 and digits < 15:
                            m = m * 10 + (int(buf[q]) - 48)
                            digits += 1
                            decimals += 1
                            q += 1
                    if digits == 0:
                        ok = False
                        break
                    while decimals > 3 and m % 10 == 0:
                        m //= 10
                        decimals -= 1
                    if decimals > 3:
                        ok = False
                        break
                    index = m * _SCALE3[decimals]
                    if index > limit:
                        ok = False
                        break
                    code = index
                if col >= 0:
                    codes[j, col, k] = code
                c = buf[q] if q < line_end else 9
                if c == 58 or c == 9:
                    if k == width - 1:
                        break
                    if k == 0 and code == DS_CODE_MISSING:  # a lone '.': all missing
                        if col >= 0:
                            for rest in range(1, width):
                                codes[j, col, rest] = DS_CODE_MISSING
                        break
                    ok = False
                    break
                if c != 44 or k == width - 1:
                    ok = False
                    break
                q += 1
            if not ok:
                break
            # The rest of the column: more subfields than FORMAT keys is htslib's error.
            # (Byte by byte: SWAR skips measured slower, the rest being ~10-30 bytes.)
            extra = 0
            while q < line_end:
                c = buf[q]
                if c == 9:
                    break
                if c == 58:
                    extra += 1
                q += 1
            q += 1
            if v_index + extra + 1 > n_fields:
                ok = False
                break
            length = q - start  # (with the tab; the last column has none: never matched)
            if memo and col >= 0 and length <= MEMO_BYTES and buf[q - 1] == 9:
                memo_len[slot] = length
                memo_lo[slot] = w0
                memo_hi[slot] = w1
                mask_lo[slot] = _ALL if length >= 8 else (_U1 << np.uint64(8 * length)) - _U1
                if length <= 8:
                    mask_hi[slot] = np.uint64(0)
                elif length == 16:
                    mask_hi[slot] = _ALL
                else:
                    mask_hi[slot] = (_U1 << np.uint64(8 * (length - 8))) - _U1
                for k in range(width):
                    memo_code[slot, k] = codes[j, col, k]
        simple[j] = ok
