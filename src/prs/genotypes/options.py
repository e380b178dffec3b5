"""The check both engines make of the words their options take (:mod:`prs.vocab`).

The fast engine maps the words to its kernels' integer codes
(:mod:`prs.genotypes.fastvcf.decode`).
"""

from __future__ import annotations

from prs.errors import GenotypeFileError
from prs.vocab import DOSAGE_FIELDS, HALF_CALL_POLICIES, HAPLOID_POLICIES


def check_read_options(
    *,
    dosage: str,
    half_call: str,
    haploid: str,
    fields: tuple[str, ...] = DOSAGE_FIELDS,
    kind: str = "VCF",
) -> None:
    """Raise :class:`GenotypeFileError` for a word outside its vocabulary (every reader).

    ``fields`` are the dosage fields the reader of ``kind`` files can give: a field of the
    vocabulary its format does not store is refused rather than read as something else.

    Examples
    --------
    >>> check_read_options(dosage="DS", half_call="missing", haploid="haploid")
    >>> check_read_options(dosage="XX", half_call="error", haploid="haploid")
    Traceback (most recent call last):
    ...
    prs.errors.GenotypeFileError: dosage must be one of ('GT', 'DS', 'GP', 'HDS'), not 'XX'
    >>> check_read_options(
    ...     dosage="HDS", half_call="error", haploid="haploid", fields=("GT", "DS"), kind="PLINK"
    ... )
    Traceback (most recent call last):
    ...
    prs.errors.GenotypeFileError: dosage='HDS': PLINK files give only GT, DS; use one of those
    """
    if dosage not in DOSAGE_FIELDS:
        raise GenotypeFileError(f"dosage must be one of {DOSAGE_FIELDS}, not {dosage!r}")
    if dosage not in fields:
        raise GenotypeFileError(
            f"dosage={dosage!r}: {kind} files give only {', '.join(fields)}; use one of those"
        )
    if half_call not in HALF_CALL_POLICIES:
        raise GenotypeFileError(f"half_call must be one of {HALF_CALL_POLICIES}")
    if haploid not in HAPLOID_POLICIES:
        raise GenotypeFileError(f"haploid must be one of {HAPLOID_POLICIES}")
