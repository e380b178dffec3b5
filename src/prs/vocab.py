"""The words options and columns take, each spelled once.

Every option that takes a word (``dosage=``, ``half_call=``, ``missing=``, ...) and the CLI's
``choices=`` for it read the words from here; modules that map a word to a code (the kernels,
:mod:`prs.ploidy`, :mod:`prs.scoring`) keep their mapping beside the code, and
``tests/test_vocab.py`` asserts each mapping's words equal these.

Effect types
    A scoring row's effect type is a word in files and tables (``effect_type`` of a
    :class:`~prs.weights.ScoringFile`'s variants and of the match report) and a small
    integer in arrays (:attr:`prs.match.MatchPlan.effect_type`, the kernels' ``effect_type``
    arguments). :data:`EFFECT_TYPES` lists the words in code order: the code of a word is
    its index. The kernels cannot import Python tuples into compiled code, so
    :mod:`prs.kernels.accumulate` spells the codes again as ``ADDITIVE, DOMINANT, RECESSIVE``;
    they must equal :data:`EFFECT_TYPE_CODES` (``tests/test_vocab.py`` asserts it).

Genotype reading
    :data:`DOSAGE_FIELDS`, :data:`HALF_CALL_POLICIES`, :data:`HAPLOID_POLICIES` (in the
    kernels' code order), :data:`ENGINES`, :data:`GENOTYPE_FORMATS`, :data:`INDEX_MODES`.

Scoring and outputs
    :data:`MISSING_POLICIES`, :data:`TABLE_FORMATS`.

Matching
    :data:`MATCH_KEYS` (how a scoring row found its target variant, the match report's
    ``matched_by``), :data:`LIFTOVER_FATES` (the report's ``liftover`` column).
"""

from __future__ import annotations

__all__ = [
    "ADDITIVE",
    "DOMINANT",
    "DOSAGE_FIELDS",
    "EFFECT_TYPES",
    "EFFECT_TYPE_CODES",
    "ENGINES",
    "GENOTYPE_FORMATS",
    "HALF_CALL_POLICIES",
    "HAPLOID_POLICIES",
    "INDEX_MODES",
    "LIFTOVER_FATES",
    "MATCH_KEYS",
    "MISSING_POLICIES",
    "RECESSIVE",
    "TABLE_FORMATS",
]

#: Effect types a scoring row can carry, in code order (the code is the index). Additive
#: unless the scoring file sets ``is_dominant``/``is_recessive`` (PGS Catalog format) or an
#: ``effect_type`` column.
EFFECT_TYPES: tuple[str, ...] = ("additive", "dominant", "recessive")

#: Word -> integer code (the kernels' constants).
EFFECT_TYPE_CODES: dict[str, int] = {name: code for code, name in enumerate(EFFECT_TYPES)}

#: The codes by name, for code that compares arrays of codes.
ADDITIVE, DOMINANT, RECESSIVE = (EFFECT_TYPE_CODES[name] for name in EFFECT_TYPES)

#: The FORMAT field dosages are read from: hard calls, per-ALT dosages, genotype
#: probabilities, or per-haplotype ALT dosages (Minimac's ``HDS``: the dosage is
#: ``HDS1 + HDS2``, one value for a haploid call) (``dosage=``, ``--dosage``). The index is
#: the kernels' ``FIELD_*`` code.
DOSAGE_FIELDS: tuple[str, ...] = ("GT", "DS", "GP", "HDS")

#: What a half-missing call such as ``0/.`` means (``half_call=``, ``--half-call``), in the
#: kernels' ``HALF_*`` code order.
HALF_CALL_POLICIES: tuple[str, ...] = ("error", "missing", "haploid", "reference")

#: How a haploid call counts (``haploid=``, ``--haploid``), in the kernels' ``HAPLOID_*``
#: code order; also a male's chrX call in scoring (PLINK 2's ``--xchr-model``, :mod:`prs.ploidy`).
HAPLOID_POLICIES: tuple[str, ...] = ("as-diploid", "haploid")

#: The VCF engines :func:`prs.genotypes.open_genotypes` chooses from (``engine=``, ``--engine``).
ENGINES: tuple[str, ...] = ("auto", "fast", "checked")

#: Genotype formats :func:`prs.genotypes.open_genotypes` reads (``format=``,
#: ``--genotype-format``); ``"auto"`` tells the format from the file names.
#: ``"pgen"`` and ``"bed"`` are PLINK's two filesets; ``"bcf"`` is read as ``"vcf"``.
GENOTYPE_FORMATS: tuple[str, ...] = (
    "auto",
    "vcf",
    "bcf",
    "plink",
    "pgen",
    "bed",
    "bgen",
    "vcf-zarr",
)

#: When the fast engine reads through a tabix/CSI index (``index=``).
INDEX_MODES: tuple[str, ...] = ("auto", "always", "never")

#: How a missing call counts in a score (``missing=``, ``--missing``): PLINK 2's mean
#: imputation, the scoring file's allele frequency, or nothing.
MISSING_POLICIES: tuple[str, ...] = ("mean-impute", "scorefile-freq", "none")

#: Table formats of the outputs (``--format``).
TABLE_FORMATS: tuple[str, ...] = ("tsv", "parquet")

#: How a scoring row found its target variant (the match report's ``matched_by``): by
#: (chromosome, position), or by rsID through the target's variant IDs when the row has no
#: position (an rsID carries no genome build). Empty for rows that did not match.
MATCH_KEYS: tuple[str, ...] = ("position", "rsid")

#: What liftover did to a scoring row (the match report's ``liftover`` column, present when
#: the scoring file was lifted): ``lifted`` to one position; ``lifted_reverse`` (to the
#: reverse strand: alleles reverse complemented); unliftable: ``unmapped`` (the chain maps
#: no base there), ``multiple`` (several places), ``other_chrom`` (another chromosome),
#: ``reverse_indel`` (a multi-base allele on the reverse strand, whose first base is not
#: the lifted one); ``no_position`` (the row had none to lift).
LIFTOVER_FATES: tuple[str, ...] = (
    "lifted",
    "lifted_reverse",
    "unmapped",
    "multiple",
    "other_chrom",
    "reverse_indel",
    "no_position",
)
