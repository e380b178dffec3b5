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


#: Chromosome classes, as PLINK 2 scores them (see :mod:`prs.ploidy`): autosomes and other
#: contigs, chrX outside the pseudo-autosomal regions, chrY, mitochondria, and the PARs
#: (``XY``, or chrX positions inside the PARs when the build is known).
AUTOSOME, X_NONPAR, Y, MT, PAR = 0, 1, 2, 3, 4

#: Pseudo-autosomal regions of chrX as PLINK 2's ``--split-par b37|b38`` draws them: a chrX
#: position at or below the first bound, or at or above the second, is in a PAR
#: (measured with plink2 v2.00a3.5: b37 2699520 / 154931044, b38 2781479 / 155701383).
PAR_BOUNDS = {"GRCh37": (2_699_520, 154_931_044), "GRCh38": (2_781_479, 155_701_383)}


def chromosome_class(chrom: str, pos: int, build: str | None = None) -> int:
    """Class of a canonical chromosome and position: :data:`AUTOSOME`, :data:`X_NONPAR`,
    :data:`Y`, :data:`MT` or :data:`PAR`.

    chrX positions are split into the PARs only when ``build`` is ``"GRCh37"`` or
    ``"GRCh38"`` (as PLINK 2's ``--split-par``); without a build all of chrX is
    :data:`X_NONPAR` (as PLINK 2 without ``--split-par``).

    Examples
    --------
    >>> [chromosome_class(c, 5_000_000) for c in ["1", "X", "Y", "MT", "XY", "GL000192.1"]]
    [0, 1, 2, 3, 4, 0]
    >>> chromosome_class("X", 100_000, "GRCh38"), chromosome_class("X", 100_000)
    (4, 1)
    """
    if chrom == "X":
        bounds = PAR_BOUNDS.get(build or "")
        if bounds is not None and (pos <= bounds[0] or pos >= bounds[1]):
            return PAR
        return X_NONPAR
    return {"Y": Y, "MT": MT, "XY": PAR}.get(chrom, AUTOSOME)


#: The largest position prs accepts, in a VCF and in a scoring file alike: VCF's POS is a
#: 32-bit signed integer (VCF 4.3 section 1.6.2) and PLINK 2 refuses larger positions. A
#: larger value is an error naming the file and line, never truncated or wrapped.
MAX_POSITION = 2**31 - 1
