"""The words the genotype readers' options take, spelled once.

Both engines (and, later, the CLI's ``choices=``) take these tuples; the fast engine maps
the words to its kernels' integer codes (:mod:`prs.genotypes.fastvcf.decode`). A module the
lead can fold into :mod:`prs.vocab` as it is.
"""

from __future__ import annotations

from prs.errors import GenotypeFileError

#: The FORMAT field dosages are read from: hard calls, per-ALT dosages, or genotype
#: probabilities (``dosage=``, ``--dosage``). The index is the kernels' ``FIELD_*`` code.
DOSAGE_FIELDS: tuple[str, ...] = ("GT", "DS", "GP")

#: What a half-missing call such as ``0/.`` means (``half_call=``, ``--half-call``), in the
#: kernels' ``HALF_*`` code order.
HALF_CALL_POLICIES: tuple[str, ...] = ("error", "missing", "haploid", "reference")

#: How a haploid call counts (``haploid=``, ``--haploid``), in the kernels' ``HAPLOID_*``
#: code order.
HAPLOID_POLICIES: tuple[str, ...] = ("as-diploid", "haploid")

#: The VCF engines :func:`prs.genotypes.open_genotypes` chooses from (``engine=``).
ENGINES: tuple[str, ...] = ("auto", "fast", "checked")

#: When the fast engine reads through a tabix/CSI index (``index=``).
INDEX_MODES: tuple[str, ...] = ("auto", "always", "never")


def check_read_options(*, dosage: str, half_call: str, haploid: str) -> None:
    """Raise :class:`GenotypeFileError` for a word outside its vocabulary (both engines).

    Examples
    --------
    >>> check_read_options(dosage="DS", half_call="missing", haploid="haploid")
    >>> check_read_options(dosage="XX", half_call="error", haploid="haploid")
    Traceback (most recent call last):
    ...
    prs.errors.GenotypeFileError: dosage must be one of ('GT', 'DS', 'GP'), not 'XX'
    """
    if dosage not in DOSAGE_FIELDS:
        raise GenotypeFileError(f"dosage must be one of {DOSAGE_FIELDS}, not {dosage!r}")
    if half_call not in HALF_CALL_POLICIES:
        raise GenotypeFileError(f"half_call must be one of {HALF_CALL_POLICIES}")
    if haploid not in HAPLOID_POLICIES:
        raise GenotypeFileError(f"haploid must be one of {HAPLOID_POLICIES}")
