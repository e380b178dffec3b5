"""The site table of the fast VCF path, built from the listed records' bytes.

ID, REF and ALT of every listed record are gathered by the scan into one byte array
(``ID\tREF\tALT\n`` per record) and turned into Arrow strings without a Python object
per record (:func:`site_strings`); bytes outside ASCII go through Python's ``str.upper``
(:func:`site_strings_python`), as the checked path decodes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from prs.genotypes.base import SITE_COLUMNS
from prs.genotypes.fastvcf.scan import Listed
from prs.genotypes.vcf_record import QUALITY_COLUMNS


def site_table(
    listed: Listed,
    blobs: list[np.ndarray],
    chrom_ids: np.ndarray,
    names: dict[int, str],
    quality_rows: dict[tuple[int, int], list[float]] | None = None,
) -> pd.DataFrame:
    """The site table (:data:`prs.genotypes.base.SITE_COLUMNS` and
    :data:`~prs.genotypes.vcf_record.QUALITY_COLUMNS`) of the listed records.

    ``blobs`` hold each listed record's ``ID\tREF\tALT\n`` bytes in order, ``chrom_ids``
    its chromosome id, ``names`` the canonical name of each id, ``quality_rows`` the r2 of
    each ALT of records stating one per ALT, by (file, text start); None: the headers
    declare no quality field and the table has no quality columns.
    """
    columns = [*SITE_COLUMNS, *(QUALITY_COLUMNS if quality_rows is not None else ())]
    dtypes = {
        "pos": np.int64,
        "allele_index": np.int16,
        "n_alleles": np.int16,
        "record": np.int64,
        "file": np.int32,
        "r2": np.float32,
        "imputed": np.bool_,
    }
    if not len(listed.record):
        dtypes = {c: t for c, t in dtypes.items() if c in columns}
        return pd.DataFrame({c: [] for c in columns}, columns=columns).astype(dtypes)
    n_alleles = listed.n_alleles.astype(np.int64)
    n_alt = n_alleles - 1
    # A record without ALT still gets one row (alt "", allele_index 0): REF can match.
    rows_per = np.maximum(n_alt, 1)
    strings = site_strings(np.concatenate(blobs), n_alt, rows_per)
    if strings is None:  # non-ASCII bytes: decoded and upper-cased by Python
        strings = site_strings_python(np.concatenate(blobs), n_alt)
    ids, refs, alt_rows = strings
    repeat = np.repeat(np.arange(len(n_alt)), rows_per)
    if len(repeat) == len(n_alt):
        allele_index = np.ones(len(n_alt), dtype=np.int16)
    else:
        ids, refs = ids.take(repeat), refs.take(repeat)
        allele_index = (
            np.arange(len(repeat)) - np.repeat(np.cumsum(rows_per) - rows_per, rows_per) + 1
        ).astype(np.int16)
    allele_index[n_alt[repeat] == 0] = 0
    r2 = listed.r2[repeat]
    for (file_index, text_start), values in (quality_rows or {}).items():
        row = np.flatnonzero((listed.file == file_index) & (listed.text_start == text_start))
        if len(row):
            first = int(np.cumsum(rows_per)[row[0]] - rows_per[row[0]])
            r2[first : first + len(values)] = values
    chrom_names = pa.array([names[i] for i in range(len(names))], type=pa.string())
    table = pd.DataFrame(
        {
            "chrom": chrom_names.take(chrom_ids[repeat]).to_pandas(),
            "pos": listed.pos[repeat],
            "ref": refs.to_pandas(),
            "alt": alt_rows.to_pandas(),
            "allele_index": allele_index,
            "n_alleles": n_alleles[repeat].astype(np.int16),
            "record": listed.record[repeat],
            "file": listed.file[repeat].astype(np.int32),
            # IDs are (nearly) all distinct: Arrow's deduplication of the Python strings
            # it makes would only add a table of them (measured: 3x the IDs' memory).
            "id": ids.to_pandas(deduplicate_objects=False),
            "r2": r2,
            "imputed": listed.imputed[repeat],
        },
        columns=columns,
        # (the columns are new arrays: one copy of each, into 2-D blocks, is not needed;
        # measured +240 MB at 2M sites)
        copy=False,
    )
    return table


def site_strings(
    data: np.ndarray, n_alt: np.ndarray, rows_per: np.ndarray
) -> tuple[pa.Array, pa.Array, pa.Array] | None:
    """ID, REF (upper case) and one ALT per row (upper case) from ``ID\tREF\tALT\n`` per
    record, as Arrow strings built from the bytes: no Python object per record.

    ALT rows: the ALT field of a biallelic record, each allele of a multi-allelic one, ""
    for a record without ALT. None for bytes outside ASCII (Python decodes those).
    """
    k = len(n_alt)
    if (data >= 0x80).any():
        return None  # non-ASCII: Python's str.upper (the checked path's) differs from Arrow's
    sep = np.flatnonzero((data == 9) | (data == 10))
    if len(sep) != 3 * k:
        raise AssertionError(f"site fields: {len(sep)} separators for {k} records")
    starts = np.empty(3 * k, dtype=np.int64)
    starts[:1] = 0
    starts[1:] = sep[:-1] + 1
    keep = np.ones(len(data), dtype=bool)
    keep[sep] = False
    text = data[keep]
    offsets = np.zeros(3 * k + 1, dtype=np.int64)
    np.cumsum(sep - starts, out=offsets[1:])
    large = offsets[-1] >= 2**31 - 1
    kind = pa.large_string() if large else pa.string()
    offsets = offsets if large else offsets.astype(np.int32)
    fields = pa.Array.from_buffers(kind, 3 * k, [None, pa.py_buffer(offsets), pa.py_buffer(text)])
    try:
        fields.validate(full=True)
    except pa.ArrowInvalid:
        return None
    ids = fields.take(np.arange(0, 3 * k, 3))
    refs = pc.utf8_upper(fields.take(np.arange(1, 3 * k, 3)))
    alts = pc.utf8_upper(fields.take(np.arange(2, 3 * k, 3)))
    if np.all(n_alt == 1):
        return ids, refs, alts
    alt_rows = pc.list_flatten(pc.split_pattern(alts, ","))
    if len(alt_rows) != int(rows_per.sum()):
        raise AssertionError("ALT alleles disagree with the scanned allele counts")
    no_alt = np.repeat(n_alt == 0, rows_per)
    if no_alt.any():
        alt_rows = pc.if_else(pa.array(no_alt), pa.scalar("", alt_rows.type), alt_rows)
    return ids, refs, alt_rows


def site_strings_python(data: np.ndarray, n_alt: np.ndarray) -> tuple[pa.Array, ...]:
    """:func:`site_strings` for bytes that are not UTF-8 (replacement characters)."""
    text = data.tobytes()[:-1].decode(errors="replace")
    parts = text.replace("\n", "\t").split("\t")
    alt_rows: list[str] = []
    for m, alt in zip(n_alt.tolist(), parts[2::3], strict=True):
        alt_rows.extend(alt.upper().split(",") if m > 1 else [alt.upper() if m == 1 else ""])
    return (
        pa.array(parts[0::3], type=pa.string()),
        pa.array([r.upper() for r in parts[1::3]], type=pa.string()),
        pa.array(alt_rows, type=pa.string()),
    )
