"""Chromosome names: one canonical spelling shared by every stage.

Scoring files and VCFs spell chromosomes differently (``chr22``/``22``, ``X``/``23``,
``MT``/``M``/``chrM``). Every stage compares the canonical form returned by
:func:`normalize_chrom`: autosomes ``"1"``..``"22"``, then ``"X"``, ``"Y"``, ``"XY"``
(pseudo-autosomal, PLINK's code 25) and ``"MT"``. Other contigs (``GL000192.1``,
``chr6_cox_hap2``) keep their name without a ``chr`` prefix.
"""

from __future__ import annotations

_ALIASES = {
    "23": "X",
    "24": "Y",
    "25": "XY",
    "26": "MT",
    "M": "MT",
    "MT": "MT",
    "X": "X",
    "Y": "Y",
    "XY": "XY",
    "PAR1": "XY",
    "PAR2": "XY",
}


def normalize_chrom(name: str) -> str:
    """Return the canonical spelling of a chromosome name.

    Parameters
    ----------
    name
        A chromosome as written in a scoring or genotype file.

    Returns
    -------
    str
        ``"1"``..``"22"``, ``"X"``, ``"Y"``, ``"XY"``, ``"MT"``, or the name without a
        ``chr`` prefix for other contigs.

    Examples
    --------
    >>> [normalize_chrom(c) for c in ["chr22", "22", "chrX", "23", "chrM", "MT", "01"]]
    ['22', '22', 'X', 'X', 'MT', 'MT', '1']
    """
    text = name.strip()
    if text[:3].lower() == "chr":
        text = text[3:]
    upper = text.upper()
    if upper in _ALIASES:
        return _ALIASES[upper]
    if upper.isdigit():
        return str(int(upper))
    return text


def is_sex_chrom_x(chrom: str) -> bool:
    """True for the canonical X chromosome (haploid in males outside the PARs)."""
    return chrom == "X"


#: The largest position prs accepts, in a VCF and in a scoring file alike: VCF's POS is a
#: 32-bit signed integer (VCF 4.3 section 1.6.2) and PLINK 2 refuses larger positions. A
#: larger value is an error naming the file and line, never truncated or wrapped.
MAX_POSITION = 2**31 - 1
