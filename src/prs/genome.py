"""Genome vocabulary: chromosome names, genome-build names and build detection.

One home for what every stage says about the genome, so a scoring file's header, a
``prs fetch --build`` argument and a VCF header all reach the same answer.

Chromosomes
    Scoring files and VCFs spell chromosomes differently (``chr22``/``22``, ``X``/``23``,
    ``MT``/``M``/``chrM``). Every stage compares the canonical form returned by
    :func:`normalize_chrom`: autosomes ``"1"``..``"22"``, then ``"X"``, ``"Y"``, ``"XY"``
    (pseudo-autosomal, PLINK's code 25) and ``"MT"``. Other contigs (``GL000192.1``,
    ``chr6_cox_hap2``) keep their name without a ``chr`` prefix.

Genome builds
    :data:`BUILD_ALIASES` maps every accepted spelling (case-insensitive) to one canonical
    name: ``GRCh38``, ``GRCh37``, ``NCBI36`` or ``NCBI35``; :data:`BUILD_NOT_REPORTED` lists
    the spellings of "the build is unknown" (the PGS Catalog's ``NR``).
    :func:`canonical_build` reads a name; :func:`build_from_reference_name` and
    :func:`build_from_contig_lengths` detect a build from a VCF header's ``##reference`` and
    ``##contig`` lines (:func:`detect_build` combines them as the VCF reader does).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AUTOSOME",
    "BUILD_ALIASES",
    "BUILD_NOT_REPORTED",
    "CONTIG_LENGTHS",
    "KNOWN_BUILDS_TEXT",
    "MAX_POSITION",
    "MT",
    "PAR",
    "PAR_BOUNDS",
    "X_NONPAR",
    "Y",
    "build_from_contig_lengths",
    "build_from_reference_name",
    "build_not_reported",
    "canonical_build",
    "chromosome_class",
    "detect_build",
    "is_sex_chrom_x",
    "normalize_chrom",
]

# --------------------------------------------------------------------------------------
# Chromosomes
# --------------------------------------------------------------------------------------

_CHROM_ALIASES = {
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
    if upper in _CHROM_ALIASES:
        return _CHROM_ALIASES[upper]
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
#: The builds prs scores against: their PAR bounds and contig lengths are known, and the PGS
#: Catalog harmonizes scoring files to them (``--build``, ``prs fetch --build``).
SCORING_BUILDS: tuple[str, ...] = ("GRCh37", "GRCh38")

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

# --------------------------------------------------------------------------------------
# Genome builds
# --------------------------------------------------------------------------------------

#: Every accepted build name (lower case) -> its canonical name. The PGS Catalog's
#: ``genome_build`` field takes GRCh37, GRCh38, NCBI36 or NR; pygscatalog
#: (``GenomeBuild.from_string``) also reads hg19/hg38/hg18 and NCBI35/hg17. ``b37``/``b38``
#: are the Broad's and PLINK 2's (``--split-par b37``) names; the bare numbers ``37``/``38``
#: are what users type at ``--build``. GRCh36/b36/36 name NCBI36 (the GRC named its
#: assemblies from 37 on; "GRCh36" is a common back-formation for NCBI Build 36).
BUILD_ALIASES: dict[str, str] = {
    "grch38": "GRCh38",
    "hg38": "GRCh38",
    "b38": "GRCh38",
    "38": "GRCh38",
    "grch37": "GRCh37",
    "hg19": "GRCh37",
    "b37": "GRCh37",
    "37": "GRCh37",
    "ncbi36": "NCBI36",
    "grch36": "NCBI36",
    "hg18": "NCBI36",
    "b36": "NCBI36",
    "36": "NCBI36",
    "ncbi35": "NCBI35",
    "hg17": "NCBI35",
}

#: Spellings (lower case, stripped) of "the build is not reported": the positions' build
#: is unknown, and score() warns and assumes the target's.
BUILD_NOT_REPORTED = frozenset({"", "nr", "na", "n/a", "not reported"})

#: The accepted names, as error messages list them.
KNOWN_BUILDS_TEXT = "GRCh37/hg19, GRCh38/hg38, NCBI36/hg18, NCBI35/hg17, or NR (not reported)"


def canonical_build(name: str | None) -> str | None:
    """Return the canonical name of a genome build, or None for NR, empty or unknown names.

    Parameters
    ----------
    name
        A build as written in a scoring-file header, an option or a VCF header field.

    Returns
    -------
    str or None
        ``"GRCh38"``, ``"GRCh37"``, ``"NCBI36"`` or ``"NCBI35"``; None for a name not in
        :data:`BUILD_ALIASES` (use :func:`build_not_reported` to tell NR from unknown).

    Examples
    --------
    >>> canonical_build("hg19"), canonical_build("NR"), canonical_build("T2T-CHM13")
    ('GRCh37', None, None)
    >>> canonical_build(" GRCh38 "), canonical_build("37")
    ('GRCh38', 'GRCh37')
    """
    if name is None:
        return None
    return BUILD_ALIASES.get(str(name).strip().lower())


def build_not_reported(name: str | None) -> bool:
    """True when ``name`` says the build is unknown (None, empty, ``NR``, ``NA``, ...).

    Examples
    --------
    >>> build_not_reported("NR"), build_not_reported(None), build_not_reported("GRCh37")
    (True, True, False)
    """
    return name is None or str(name).strip().lower() in BUILD_NOT_REPORTED


# Substrings of a ##reference value (a FASTA path or URL) that name a build. GRCh38 is
# checked first, as the VCF reader always has. hs37/hs38 are the 1000 Genomes decoy names
# (hs37d5, hs38DH); human_g1k_v37 is the 1000 Genomes phase 1 GRCh37 FASTA.
_REFERENCE_SUBSTRINGS = (
    ("GRCh38", ("grch38", "hg38", "hs38", "b38")),
    ("GRCh37", ("grch37", "hg19", "hs37", "b37", "human_g1k_v37")),
)


def build_from_reference_name(text: str | None) -> str | None:
    """The build a reference name (a VCF ``##reference`` value) implies, or None.

    The name is searched for GRCh38 markers (``grch38``, ``hg38``, ``hs38``, ``b38``)
    first, then GRCh37 ones (``grch37``, ``hg19``, ``hs37``, ``b37``, ``human_g1k_v37``),
    case-insensitively.

    Examples
    --------
    >>> build_from_reference_name("file:///ref/human_g1k_v37.fasta")
    'GRCh37'
    >>> build_from_reference_name("GRCh38_full_analysis_set.fa"), build_from_reference_name("x")
    ('GRCh38', None)
    """
    if not text:
        return None
    lowered = text.lower()
    for build, markers in _REFERENCE_SUBSTRINGS:
        if any(marker in lowered for marker in markers):
            return build
    return None


#: Chromosome lengths that tell GRCh37 from GRCh38 (``##contig=<ID=..,length=..>``).
CONTIG_LENGTHS: dict[str, dict[str, int]] = {
    "GRCh37": {"1": 249250621, "2": 243199373, "20": 63025520, "22": 51304566, "X": 155270560},
    "GRCh38": {"1": 248956422, "2": 242193529, "20": 64444167, "22": 50818468, "X": 156040895},
}


def build_from_contig_lengths(contigs: Mapping[str, int | None]) -> str | None:
    """The one build whose lengths some contigs match, or None (no match, or both builds).

    Parameters
    ----------
    contigs
        Contig name as written (``chr1``, ``1``) -> declared length (None when absent).

    Examples
    --------
    >>> build_from_contig_lengths({"chr22": 50818468, "chrUn": None})
    'GRCh38'
    >>> build_from_contig_lengths({"22": 51304566, "1": 248956422}) is None  # conflicting
    True
    """
    votes: set[str] = set()
    for raw, length in contigs.items():
        if length is None:
            continue
        chrom = normalize_chrom(raw)
        for build, lengths in CONTIG_LENGTHS.items():
            if lengths.get(chrom) == length:
                votes.add(build)
    return votes.pop() if len(votes) == 1 else None


def detect_build(contigs: Mapping[str, int | None], reference: str | None) -> str | None:
    """The build a VCF header implies: its ``##contig`` lengths, else its ``##reference``.

    Examples
    --------
    >>> detect_build({"1": 249250621}, "GRCh38.fa")  # the lengths win
    'GRCh37'
    >>> detect_build({}, "hs38DH.fa"), detect_build({}, None)
    ('GRCh38', None)
    """
    return build_from_contig_lengths(contigs) or build_from_reference_name(reference)
