"""Kernel step 3 of the fast VCF path: dosages from parsed calls, the checked path's rules.

Half-calls, haploid calls, DS, HDS and GP follow :mod:`prs.genotypes.vcf_record` exactly; a
request the kernels cannot answer exactly gets a status (``DECODE_*``) and is left to the
checked path.
"""

from __future__ import annotations

import numpy as np

from prs.kernels.fields import (
    ALLELE_ABSENT,
    ALLELE_MISSING,
    DS_CODE_MISSING,
    REC_FALLBACK,
    REC_NO_FIELD,
    REC_OK,
)
from prs.kernels.jit import kernel

# -- dosage error codes (``error[0]``) ---------------------------------------------------------
DOSAGE_OK = 0
DOSAGE_HALF_CALL = 1
DOSAGE_ALLELE_RANGE = 2
DOSAGE_VALUE = 3

# -- half-call and haploid policies (codes of the words in prs.genotypes) -----------------------
HALF_ERROR, HALF_MISSING, HALF_HAPLOID, HALF_REFERENCE = 0, 1, 2, 3
HAPLOID_AS_DIPLOID, HAPLOID_HAPLOID = 0, 1

# -- the genotype field decode_requests reads ---------------------------------------------------
FIELD_GT, FIELD_DS, FIELD_GP, FIELD_HDS = 0, 1, 2, 3

# -- per-request status of decode_requests ------------------------------------------------------
#: Answered by the kernel.
DECODE_OK = 0
#: Left to the checked path (a flagged record, a value or call the checked path rejects).
DECODE_CHECKED_PATH = 1
#: A DS/GP/HDS request whose record has no such field: read from GT (counted by the caller).
DECODE_FROM_GT = 2


@kernel
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


@kernel
def gt_ploidy(
    alleles: np.ndarray, r: int, half_call: int, out: np.ndarray, error: np.ndarray, i: int
) -> None:
    """Ploidy of each call of parsed record ``r`` after half-call rules (DS/GP/HDS need it)."""
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


@kernel
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
    per_haplotype: bool,
) -> None:
    """DS (or HDS) dosages of alleles ``want`` at parsed record ``r`` into rows ``out_row...``.

    DS: ALT ``a`` has dosage ``DS[a-1]``; REF has ``ploidy - sum(DS)`` (at least 0). A
    sample with a ``.`` or fewer values than ALT alleles is missing. A value below 0 or a
    sum above the ploidy (+0.001) sets ``error`` (:data:`DOSAGE_VALUE`, row, sample).

    HDS (``per_haplotype``, a biallelic record: ``n_alt`` 1): the values are the ALT
    dosages of the call's haplotypes, as many as its ploidy (a haploid chrX call has one),
    each in [0, 1] (+0.001); ALT has their sum, REF ``ploidy - sum`` (at least 0), as DS
    ``HDS1 + HDS2``. A sample with a ``.`` among its values is missing; another count or
    range sets ``error``.
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
        c = counts[r, s]
        n_values = c if per_haplotype else n_alt
        missing = c == 0 if per_haplotype else c < n_alt
        total = 0.0
        bad = per_haplotype and c != diploid
        for k in range(n_values):
            if k < c:
                v = values[r, s, k]
                if np.isnan(v):
                    missing = True
                else:
                    total += v
                    if v < 0 or (per_haplotype and v > 1.0 + 1e-3):
                        bad = True
        if not missing and (bad or total > diploid + 1e-3):
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
                d = (total if per_haplotype else values[r, s, a - 1]) * scale
            dosage[out_row + k, s] = d
            ploidy[out_row + k, s] = effective


@kernel
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


@kernel
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


@kernel
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

    ``field`` is 0 (GT), 1 (DS), 2 (GP) or 3 (HDS); a DS/GP/HDS record without that field
    is read from GT (``status`` 2, counted by the caller). Requests the kernel cannot answer exactly
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
        if field != FIELD_GT:
            if value_flags[j] == REC_NO_FIELD:
                use = FIELD_GT
                status[i] = DECODE_FROM_GT
            elif value_flags[j] == REC_FALLBACK or gt_flags[j] == REC_FALLBACK:
                status[i] = DECODE_CHECKED_PATH
                continue
            else:
                top = 0
                for s in range(n):
                    if counts[j, s] > top:
                        top = counts[j, s]
                if field == FIELD_DS and top != n_alleles[i] - 1:
                    status[i] = DECODE_CHECKED_PATH
                    continue
                if field == FIELD_GP and (n_alleles[i] != 2 or top != 3):
                    status[i] = DECODE_CHECKED_PATH
                    continue
                # (top 0: FORMAT lists HDS but no sample has a value, the checked path's
                # error; DS and GP meet it through their exact counts.)
                if field == FIELD_HDS and (n_alleles[i] != 2 or top > 2 or top == 0):
                    status[i] = DECODE_CHECKED_PATH
                    continue
        if use == FIELD_GT:
            if gt_flags[j] != REC_OK:
                status[i] = DECODE_CHECKED_PATH
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
                status[i] = DECODE_CHECKED_PATH
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
            status[i] = DECODE_CHECKED_PATH
            continue
        one_want[0] = want[i]
        if use == FIELD_DS or use == FIELD_HDS:
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
                use == FIELD_HDS,
            )
        else:
            gp_dosages(values, counts, call_ploidy, j, one_want, haploid, dosage, ploidy, o, error)
        if error[0] != DOSAGE_OK:
            status[i] = DECODE_CHECKED_PATH


@kernel
def simple_ds_dosages(
    codes: np.ndarray,
    milli: np.ndarray,
    rows: np.ndarray,
    want: np.ndarray,
    dosage: np.ndarray,
    ploidy: np.ndarray,
    out_rows: np.ndarray,
) -> None:
    """Dosages of allele ``want[i]`` (0 REF, 1 ALT) from kept row ``rows[i]`` (codes of
    :func:`prs.kernels.fields.parse_short_values`, ``[rows, n, width]``, values
    ``milli[code]``) into ``out_rows[i]``: the checked path's rule for a diploid call (ALT
    = DS, or HDS1 + HDS2 with width 2; REF = 2 - ALT, at least 0; NaN for a missing value),
    ploidy 2."""
    n = codes.shape[1]
    width = codes.shape[2]
    for i in range(len(rows)):
        r = rows[i]
        o = out_rows[i]
        ref = want[i] == 0
        for s in range(n):
            ploidy[o, s] = 2
        if width == 2:  # HDS: the two haplotypes' values, one loop (no inner loop per call)
            for s in range(n):
                c0 = codes[r, s, 0]
                c1 = codes[r, s, 1]
                if c0 == DS_CODE_MISSING or c1 == DS_CODE_MISSING:
                    dosage[o, s] = np.nan
                    continue
                alt = np.float64(milli[c0]) + np.float64(milli[c1])  # float64, as the checked path
                if ref:
                    d = 2.0 - alt
                    dosage[o, s] = d if d > 0.0 else 0.0
                else:
                    dosage[o, s] = alt
            continue
        for s in range(n):
            alt = 0.0
            missing = False
            for k in range(width):
                code = codes[r, s, k]
                if code == DS_CODE_MISSING:
                    missing = True
                else:
                    alt += float(milli[code])
            if missing:
                dosage[o, s] = np.nan
            elif ref:
                d = 2.0 - alt
                dosage[o, s] = d if d > 0.0 else 0.0
            else:
                dosage[o, s] = alt
