"""The words options and columns take, each spelled once (today: effect types only).

Effect types
    A scoring row's effect type is a word in files and tables (``effect_type`` of a
    :class:`~prs.weights.ScoringFile`'s variants and of the match report) and a small
    integer in arrays (:attr:`prs.match.MatchPlan.effect_type`, the kernels' ``effect_type``
    arguments). :data:`EFFECT_TYPES` lists the words in code order: the code of a word is
    its index. The kernels cannot import Python tuples into compiled code, so
    :mod:`prs.kernels.accumulate` spells the codes again as ``ADDITIVE, DOMINANT, RECESSIVE``;
    they must equal :data:`EFFECT_TYPE_CODES` (``tests/test_vocab.py`` asserts it).

Still spelled elsewhere (issue 12 moves them here next): the half-call, haploid, dosage and
engine words of the genotype readers and the CLI's ``choices=``.
"""

from __future__ import annotations

__all__ = ["ADDITIVE", "DOMINANT", "EFFECT_TYPES", "EFFECT_TYPE_CODES", "RECESSIVE"]

#: Effect types a scoring row can carry, in code order (the code is the index). Additive
#: unless the scoring file sets ``is_dominant``/``is_recessive`` (PGS Catalog format) or an
#: ``effect_type`` column.
EFFECT_TYPES: tuple[str, ...] = ("additive", "dominant", "recessive")

#: Word -> integer code (the kernels' constants).
EFFECT_TYPE_CODES: dict[str, int] = {name: code for code, name in enumerate(EFFECT_TYPES)}

#: The codes by name, for code that compares arrays of codes.
ADDITIVE, DOMINANT, RECESSIVE = (EFFECT_TYPE_CODES[name] for name in EFFECT_TYPES)
