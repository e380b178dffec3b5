"""Decoding runs of BGEN records (layout 2) into dosage rows, in one call without the GIL.

:func:`decode_bgen_records` parses each record's header, inflates its probability block with
libdeflate (a ctypes function the caller binds: :mod:`prs.genotypes.bgen`), checks it is the
common record (unphased, two alleles, every sample diploid, 8 or 16 bits) and writes the
requested allele's dosage of each output sample; any other record is left to the caller
(:data:`RECORD_OTHER`), a record that does not parse or inflate is reported by a code.
Every read is bounds-checked against the record's bytes: a corrupt file gives a status,
never a read outside the buffers.

The dosages are the Python decoder's bit for bit: each is an integer numerator (``2 p11 +
p12``, or ``2 top - 2 p11 - p12`` for the second allele), exact in float64 whatever the
order of its sums, divided once by ``top = 2**bits - 1`` — what the decoder's 8-bit table
and 16-bit sums compute.
"""

from __future__ import annotations

import numpy as np

from prs.kernels.jit import kernel

#: Status codes of each record (``status[k, 0]``; ``status[k, 1:]`` hold the numbers the
#: message needs).
RECORD_OK = 0
#: Not the common record (or compressed larger than the scratch buffer): the caller decodes
#: it another way. Its rows are NaN.
RECORD_OTHER = 1
#: The record's header (IDs, alleles, block size) runs past its bytes (``[1]``: its size).
RECORD_HEADER_SHORT = 2
#: The genotype block needs ``[1]`` bytes, the record has ``[2]``.
RECORD_BLOCK_SHORT = 3
#: The compressed block does not inflate (libdeflate status ``[1]``).
RECORD_NOT_INFLATING = 4
#: The block's sample count ``[1]`` is not the file's ``[2]``.
RECORD_SAMPLES = 5
#: The probability block's ``[1]`` bytes are short of the samples' ``[2]``.
RECORD_PROBABILITIES_SHORT = 6
#: The block inflates to another size than its stated ``[1]`` bytes.
RECORD_INFLATED_SIZE = 7


@kernel
def _u16(data: np.ndarray, at: int) -> int:
    return np.int64(data[at]) | (np.int64(data[at + 1]) << 8)


@kernel
def _u32(data: np.ndarray, at: int) -> int:
    return (
        np.int64(data[at])
        | (np.int64(data[at + 1]) << 8)
        | (np.int64(data[at + 2]) << 16)
        | (np.int64(data[at + 3]) << 24)
    )


@kernel
def _block_at(data: np.ndarray, start: int, end: int, status: np.ndarray) -> int:
    """Offset of the record's genotype block size field (``status`` set, -1, when its
    header runs past ``end``)."""
    at = start
    for _ in range(3):  # variant ID, rsID, chromosome
        if at + 2 > end:
            status[0] = RECORD_HEADER_SHORT
            status[1] = end - start
            return -1
        at += 2 + _u16(data, at)
    if at + 6 > end:  # position, allele count
        status[0] = RECORD_HEADER_SHORT
        status[1] = end - start
        return -1
    n_alleles = _u16(data, at + 4)
    at += 6
    for _ in range(n_alleles):
        if at + 4 > end:
            status[0] = RECORD_HEADER_SHORT
            status[1] = end - start
            return -1
        at += 4 + _u32(data, at)
    if at + 4 > end:
        status[0] = RECORD_HEADER_SHORT
        status[1] = end - start
        return -1
    return at


@kernel
def _write_row(
    block: np.ndarray,
    flags: int,
    probabilities: int,
    columns: np.ndarray,
    identity: bool,
    bits: int,
    allele: int,
    out: np.ndarray,
) -> None:
    """One row of the allele's dosages from the stored ``(p11, p12)`` integers: the
    numerator ``2 p11 + p12`` (first allele) or ``2 top - 2 p11 - p12`` (second; ``top`` =
    ``2**bits - 1``) is an exact integer in float64, so one division gives the one double
    the Python decoder's table (8 bits) or sums (16 bits) give. ``identity``: the columns
    are the file's samples in order (contiguous loops the compiler vectorises)."""
    n_out = len(columns)
    top = 255.0 if bits == 8 else 65535.0
    if bits == 8:
        values = block[probabilities : probabilities + 2 * n_out] if identity else block
        if identity:
            if allele == 0:
                for j in range(n_out):
                    out[j] = (2.0 * np.float64(values[2 * j]) + np.float64(values[2 * j + 1])) / top
            else:
                for j in range(n_out):
                    out[j] = (
                        2.0 * top - 2.0 * np.float64(values[2 * j]) - np.float64(values[2 * j + 1])
                    ) / top
        else:
            for j in range(n_out):
                at = probabilities + 2 * columns[j]
                first, second = np.float64(block[at]), np.float64(block[at + 1])
                if allele == 0:
                    out[j] = (2.0 * first + second) / top
                else:
                    out[j] = (2.0 * top - 2.0 * first - second) / top
    elif identity:
        values = block[probabilities : probabilities + 4 * n_out]
        for j in range(n_out):
            first = np.float64(np.int64(values[4 * j]) | (np.int64(values[4 * j + 1]) << 8))
            second = np.float64(np.int64(values[4 * j + 2]) | (np.int64(values[4 * j + 3]) << 8))
            if allele == 0:
                out[j] = (2.0 * first + second) / top
            else:
                out[j] = (2.0 * top - 2.0 * first - second) / top
    else:
        for j in range(n_out):
            at = probabilities + 4 * columns[j]
            first = np.float64(np.int64(block[at]) | (np.int64(block[at + 1]) << 8))
            second = np.float64(np.int64(block[at + 2]) | (np.int64(block[at + 3]) << 8))
            if allele == 0:
                out[j] = (2.0 * first + second) / top
            else:
                out[j] = (2.0 * top - 2.0 * first - second) / top
    for j in range(n_out):  # missing samples (ploidy byte's top bit)
        if block[flags + (j if identity else columns[j])] >= 128:
            out[j] = np.nan


#: 1.5 * 2**52: ``(x + _ROUNDER) - _ROUNDER`` is ``x`` rounded to the nearest integer, ties
#: to even (IEEE round-to-nearest), as ``np.rint``, for ``|x| < 2**51`` (dosages are within
#: -1..3) and NaN; with ``x``'s sign (-0.3 -> -0.0) it is ``np.rint``'s double, inlined,
#: where ``np.rint`` is a libm call per value.
_ROUNDER = 6755399441055744.0


@kernel
def _rint(value: float) -> float:
    return np.copysign((value + _ROUNDER) - _ROUNDER, value)


@kernel
def _call_rows(dosage: np.ndarray, r0: int, r1: int, threshold: float) -> int:
    """Rows ``r0:r1`` (one record's) made hard calls in place: per sample, each row's
    nearest integer when every row is within ``threshold`` of its own, else NaN in every
    row. Returns 1 when some dosage was more than 1e-6 from an integer."""
    fractional = 0
    if r1 - r0 == 1:  # (one allele of the record: the usual score)
        row = dosage[r0]
        for j in range(len(row)):
            value = row[j]
            rounded = _rint(value)
            distance = abs(value - rounded)
            fractional = fractional | (distance > 1e-6)
            row[j] = np.nan if distance > threshold else rounded
        return fractional
    for j in range(dosage.shape[1]):
        far = False
        for r in range(r0, r1):
            distance = abs(dosage[r, j] - _rint(dosage[r, j]))
            far = far or distance > threshold
            fractional = fractional | (distance > 1e-6)
        for r in range(r0, r1):
            dosage[r, j] = np.nan if far else _rint(dosage[r, j])
    return fractional


@kernel
def decode_bgen_records(
    data: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    n_samples: int,
    compressed: bool,
    inflate: object,
    decompressor: int,
    scratch: np.ndarray,
    first_row: np.ndarray,
    row_allele: np.ndarray,
    columns: np.ndarray,
    hard_call_threshold: float,
    dosage: np.ndarray,
    ploidy: np.ndarray,
    status: np.ndarray,
) -> int:
    """Decode records ``k`` (bytes ``data[starts[k]:ends[k]]``) into rows
    ``first_row[k]:first_row[k + 1]`` of ``dosage``/``ploidy``.

    Parameters
    ----------
    data
        ``uint8``, writable: the bytes read, holding every record.
    starts, ends
        ``int64[n_records]``: each record's bytes in ``data``.
    n_samples
        Samples the file holds.
    compressed
        The file's probability blocks are zlib (BGEN compression 1), else stored (0).
    inflate, decompressor
        ``libdeflate_zlib_decompress`` as a ctypes function over integer addresses, and a
        decompressor of this thread's.
    scratch
        ``uint8``: room for one inflated block; a record whose block is larger is not the
        common one and is left as :data:`RECORD_OTHER`.
    first_row
        ``int64[n_records + 1]``: record ``k``'s output rows.
    row_allele
        ``int64[rows]``: the stored allele (0 or 1) each output row holds.
    columns
        ``int64[n_out]``: the sample of each output column.
    hard_call_threshold
        Negative: dosages. Else hard calls as PLINK 2 imports them: a record's rows
        rounded to the nearest integer where every row of the sample is within this of
        one, else NaN; ``status[k, 1]`` is then 1 when some dosage was fractional (more
        than 1e-6 from an integer), else 0.
    dosage, ploidy
        ``float64``/``int8`` ``[rows, n_out]``: written (NaN for a missing sample; NaN rows
        for a record not decoded).
    status
        ``int64[n_records, 3]``: each record's code (:data:`RECORD_OK`, ...) and numbers.

    Returns
    -------
    int
        Records decoded (:data:`RECORD_OK`); -1 (nothing read) when a column is not a
        sample of the file.
    """
    identity = len(columns) == n_samples
    for j in range(len(columns)):
        if columns[j] < 0 or columns[j] >= n_samples:
            return -1  # (the caller's mistake: no record is read)
        identity = identity and columns[j] == j
    done = 0
    for k in range(len(starts)):
        code = status[k]
        code[:] = 0
        r0, r1 = first_row[k], first_row[k + 1]
        inflated, base, length = _probability_block(
            data, starts[k], ends[k], compressed, inflate, decompressor, scratch, code
        )
        block = scratch if inflated else data
        bits = 0 if length < 0 else _common_bits(block, base, length, n_samples, code)
        for r in range(r0, r1):
            if row_allele[r] != 0 and row_allele[r] != 1 and bits:
                code[0] = RECORD_OTHER  # (an allele the table lists but the block lacks)
                bits = 0
        if not bits:
            for r in range(r0, r1):  # (rows not decoded are NaN: never stale values)
                row = dosage[r]
                for j in range(len(row)):
                    row[j] = np.nan
            continue
        flags = base + 8
        probabilities = base + 10 + n_samples
        for r in range(r0, r1):
            row_ploidy = ploidy[r]
            for j in range(len(row_ploidy)):
                row_ploidy[j] = 2
            _write_row(
                block, flags, probabilities, columns, identity, bits, row_allele[r], dosage[r]
            )
        if hard_call_threshold >= 0.0:
            code[1] = _call_rows(dosage, r0, r1, hard_call_threshold)
        done += 1
    return done


@kernel
def _probability_block(
    data: np.ndarray,
    start: int,
    end: int,
    compressed: bool,
    inflate: object,
    decompressor: int,
    scratch: np.ndarray,
    code: np.ndarray,
) -> tuple[bool, int, int]:
    """``(inflated into scratch, offset, length)`` of a record's probability block; length
    -1 when it cannot be had (``code`` says why)."""
    if start < 0 or end > len(data) or start > end:
        code[0] = RECORD_HEADER_SHORT
        code[1] = end - start
        return False, 0, -1
    at = _block_at(data, start, end, code)
    if at < 0:
        return False, 0, -1
    size = _u32(data, at)
    at += 4
    if at + size > end:
        code[0] = RECORD_BLOCK_SHORT
        code[1] = at + size - start
        code[2] = end - start
        return False, 0, -1
    if not compressed:
        return False, at, size
    if size < 4:
        code[0] = RECORD_BLOCK_SHORT
        code[1] = at + 4 - start
        code[2] = at + size - start
        return False, 0, -1
    length = _u32(data, at)
    if length > len(scratch):
        code[0] = RECORD_OTHER
        return False, 0, -1
    result = inflate(
        decompressor,
        data.ctypes.data + np.uint64(at + 4),
        size - 4,
        scratch.ctypes.data,
        length,
        0,
    )
    if result == 1:
        code[0] = RECORD_NOT_INFLATING
        code[1] = result
        return False, 0, -1
    if result != 0:  # short output (2) or no room (3): not the stated size
        code[0] = RECORD_INFLATED_SIZE
        code[1] = length
        return False, 0, -1
    return True, 0, length


@kernel
def _common_bits(
    block: np.ndarray, base: int, length: int, n_samples: int, code: np.ndarray
) -> int:
    """8 or 16 when the layout-2 probability block at ``block[base:base + length]`` is the
    common record's (n samples, 2 alleles, ploidy 2 throughout, unphased), else 0 (``code``
    says whether it is another kind of record or a corrupt one)."""
    # n, alleles, min and max ploidy, a ploidy byte per sample, phased, bits, then the values
    if length < 8:
        code[0] = RECORD_PROBABILITIES_SHORT
        code[1] = length
        code[2] = 8
        return 0
    n = _u32(block, base)
    if n != n_samples:
        code[0] = RECORD_SAMPLES
        code[1] = n
        code[2] = n_samples
        return 0
    if _u16(block, base + 4) != 2 or block[base + 6] != 2 or block[base + 7] != 2:
        code[0] = RECORD_OTHER
        return 0
    if length < 10 + n:
        code[0] = RECORD_PROBABILITIES_SHORT
        code[1] = length
        code[2] = 10 + n
        return 0
    phased, bits = block[base + 8 + n], np.int64(block[base + 9 + n])
    if phased != 0 or (bits != 8 and bits != 16):
        code[0] = RECORD_OTHER
        return 0
    if length < 10 + n + n * bits // 4:  # two values of bits / 8 bytes per sample
        code[0] = RECORD_PROBABILITIES_SHORT
        code[1] = length
        code[2] = 10 + n + n * bits // 4
        return 0
    return bits
