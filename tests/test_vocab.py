"""prs.vocab: each word spelled once; the kernels' integer constants equal it."""

from __future__ import annotations

import numpy as np

from prs import vocab
from prs.kernels import accumulate


def test_effect_type_codes_equal_the_kernel_constants():
    assert vocab.EFFECT_TYPE_CODES == {
        "additive": accumulate.ADDITIVE,
        "dominant": accumulate.DOMINANT,
        "recessive": accumulate.RECESSIVE,
    }
    assert (vocab.ADDITIVE, vocab.DOMINANT, vocab.RECESSIVE) == (
        accumulate.ADDITIVE,
        accumulate.DOMINANT,
        accumulate.RECESSIVE,
    )


def test_effect_type_words_are_sorted_so_searchsorted_gives_their_codes():
    """The scoring-file reader turns words into codes with np.searchsorted: it needs the
    words in sorted order."""
    words = np.array(vocab.EFFECT_TYPES)
    assert list(np.searchsorted(words, words)) == list(range(len(words)))


def test_the_scoring_file_and_the_plan_use_the_vocabulary(tmp_path):
    from prs.match import match_variants
    from prs.weights import read_scorefile, scorefile
    from tests.builders import MATCH_TARGET

    assert scorefile.EFFECT_TYPES is vocab.EFFECT_TYPES
    path = tmp_path / "w.txt"
    path.write_text(
        "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\teffect_type\n"
        "1\t100\tA\tG\t0.5\trecessive\n1\t200\tT\tC\t0.7\tdominant\n"
    )
    sf = read_scorefile(path)
    assert sf.variants["effect_type"].tolist() == ["recessive", "dominant"]
    assert sf.effect_type_codes().tolist() == [vocab.RECESSIVE, vocab.DOMINANT]
    plan, _ = match_variants(sf, MATCH_TARGET, min_overlap=0.0)
    assert sorted(plan.effect_type.tolist()) == [accumulate.DOMINANT, accumulate.RECESSIVE]


def test_every_word_to_code_mapping_has_exactly_the_vocabulary_words():
    """Issue 12: the option words were spelled again in CLI choices= and engine tables; each
    mapping beside its code now has exactly prs.vocab's words, and the CLI offers them."""
    from prs.cli import build_parser
    from prs.genotypes.fastvcf.decode import HALF_CALL_CODES, HAPLOID_CODES
    from prs.kernels import dosage
    from prs.ploidy import XCHR_MODELS
    from prs.report import COMPRESSIONS, SCORE_LAYOUTS
    from prs.scoring import MISSING_POLICIES
    from prs.scoring.pipeline import ON_UNMATCHED

    assert list(MISSING_POLICIES) == list(vocab.MISSING_POLICIES)
    assert list(XCHR_MODELS) == list(vocab.HAPLOID_POLICIES)
    assert [HALF_CALL_CODES[w] for w in vocab.HALF_CALL_POLICIES] == [
        dosage.HALF_ERROR,
        dosage.HALF_MISSING,
        dosage.HALF_HAPLOID,
        dosage.HALF_REFERENCE,
    ]
    assert [HAPLOID_CODES[w] for w in vocab.HAPLOID_POLICIES] == [
        dosage.HAPLOID_AS_DIPLOID,
        dosage.HAPLOID_HAPLOID,
    ]
    assert list(vocab.DOSAGE_FIELDS) == ["GT", "DS", "GP", "HDS"]
    assert [dosage.FIELD_GT, dosage.FIELD_DS, dosage.FIELD_GP, dosage.FIELD_HDS] == [0, 1, 2, 3]
    parser = build_parser(["prs.cli.score"])
    score = parser._subparsers._group_actions[0].choices["score"]
    choices = {a.dest: a.choices for a in score._actions if a.choices}
    assert choices == {
        "dosage": vocab.DOSAGE_FIELDS,
        "missing": (*vocab.MISSING_POLICIES, "reference-freq"),  # (prs.cli.score's own)
        "build": ("GRCh37", "GRCh38"),
        "half_call": vocab.HALF_CALL_POLICIES,
        "haploid": vocab.HAPLOID_POLICIES,
        "engine": vocab.ENGINES,
        "genotype_format": vocab.GENOTYPE_FORMATS,
        "format": vocab.TABLE_FORMATS,
        "layout": tuple(SCORE_LAYOUTS),
        "compress": tuple(COMPRESSIONS),
        "on_unmatched": ON_UNMATCHED,
    }
