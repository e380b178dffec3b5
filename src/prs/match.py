"""Matching scoring-file rows to target variants, with every row's fate explained.

A scoring row matches a target record at the same canonical chromosome and position when
its alleles fit the record's, tried in this order:

1. ``alt``: effect allele = an ALT allele (other allele = REF, or not given);
2. ``ref``: effect allele = REF (other allele = an ALT, or not given);
3. ``alt_flip`` / ``ref_flip``: the same after complementing both alleles (the scoring file
   was written on the other strand).

Strand-ambiguous SNPs (A/T, C/G) cannot be told apart from their flip; they are excluded by
default (as the PGS Catalog Calculator does) and matched without flipping when
``keep_ambiguous=True``. Within one score a target allele is used at most once (duplicated
scoring rows and duplicated target records are excluded after the first, with a reason).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from prs.columns import coded_strings
from prs.errors import MatchError, ScoreWarning, ScoringFileError
from prs.memory import release_memory
from prs.weights.scorefile import ScoringFile

_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")

#: Outcomes of a scoring row, per score, as written in the match report.
OUTCOMES = (
    "matched",
    "excluded_ambiguous",
    "excluded_duplicate_row",
    "excluded_duplicate_target",
    "unmatched_no_position",
    "unmatched_no_site",
    "unmatched_allele_mismatch",
)

_OUTCOME_CODE = {name: i for i, name in enumerate(OUTCOMES)}

#: Default minimum fraction of a score's rows that must match (as the PGS Catalog Calculator).
DEFAULT_MIN_OVERLAP = 0.75


def complement(allele: str) -> str:
    """Complement of a nucleotide string (``"AC"`` -> ``"TG"``), not reversed."""
    return allele.translate(_COMPLEMENT)


def is_ambiguous(a: str, b: str) -> bool:
    """True for a strand-ambiguous SNP pair (A/T or C/G)."""
    return len(a) == 1 and len(b) == 1 and complement(a) == b


def _shared_codes(columns: list[pd.Series]) -> tuple[list[np.ndarray], pd.Index]:
    """Integer codes of several string columns in one shared vocabulary (Arrow-backed
    columns are encoded without a Python object per row)."""
    codes: list[np.ndarray] = []
    uniques: list[np.ndarray] = []
    for column in columns:
        c, u = pd.factorize(pd.Series(column, copy=False).fillna(""))
        codes.append(c)
        uniques.append(np.asarray(u, dtype=object))
    vocab = pd.Index(np.concatenate(uniques) if uniques else [], dtype=object).unique()
    shared = [vocab.get_indexer(u).astype(np.int32)[c] for c, u in zip(codes, uniques, strict=True)]
    return shared, vocab


class _Alleles:
    """Allele columns as codes in one vocabulary, with each code's complement and length.

    The complement of an allele that no column holds gets a code of its own below -1, so it
    equals nothing; comparisons of codes are then comparisons of the strings.
    """

    def __init__(self, columns: list[pd.Series]) -> None:
        self.codes, vocab = _shared_codes(columns)
        complements = vocab.get_indexer([complement(str(a)) for a in vocab]).astype(np.int32)
        absent = np.flatnonzero(complements < 0)
        complements[absent] = -2 - absent
        self.complement = complements
        self.length = np.array([len(str(a)) for a in vocab], dtype=np.int32)
        self.empty = int(vocab.get_indexer([""])[0])  # -1: no empty allele anywhere


@dataclass(frozen=True)
class MatchPlan:
    """What to read and how to weight it: one entry per (target record, allele) used.

    Attributes
    ----------
    record, allele
        ``int64[m]`` target record and allele index to count (0 = REF), sorted by record.
    effect_type
        ``int8[m]``: codes of :data:`prs.vocab.EFFECT_TYPES` (0 additive, 1 dominant,
        2 recessive), as the kernels take them.
    weights
        ``float64[m, n_scores]``; NaN where the score does not use this entry.
    allele_frequency
        ``float64[m]`` effect-allele frequency from the scoring file (NaN where absent).
    line
        ``int64[m]`` scoring-file line of the row behind each entry.
    score_ids
        Score names, one per weight column.
    """

    record: np.ndarray
    allele: np.ndarray
    effect_type: np.ndarray
    weights: np.ndarray
    allele_frequency: np.ndarray
    line: np.ndarray
    score_ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.record)


@dataclass(frozen=True)
class MatchReport:
    """Every scoring row's fate.

    Attributes
    ----------
    variants
        One row per scoring row: line, score (the ID of the score that weights the row, or
        ``*`` when several do), n_scores (how many), chrom, pos, effect/other allele,
        effect_type, match_type (alt, ref, alt_flip, ref_flip or empty), effect_weight (empty
        for ``*``), target record, target ID/REF/ALT, flipped, ambiguous, multiallelic,
        excluded, outcome, reason. A row whose fate differs between the scores that weight
        it (a duplicate in one score only) is given one row per score instead. A PGS
        Catalog file (one score) therefore has exactly one report row per scoring row, and
        a table of 100 weight columns does not need 100 times the rows.
    counts
        Outcome counts per score (index: score, columns: :data:`OUTCOMES`, n_rows, match_rate).
    """

    variants: pd.DataFrame
    counts: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    def match_rate(self, score_id: str) -> float:
        """Fraction of ``score_id``'s rows that matched."""
        return float(self.counts.loc[score_id, "match_rate"])

    def to_frame(self) -> pd.DataFrame:
        """The per-variant table (what ``prs score`` writes as ``match_report.tsv``)."""
        return self.variants.copy()


_MATCH_TYPES = ("", "alt", "ref", "alt_flip", "ref_flip")


@dataclass(frozen=True)
class _Candidates:
    """Every (scoring row, site-table row) pair whose alleles fit, and per scoring row
    whether any target site shares its position."""

    row: np.ndarray
    site: np.ndarray
    match_type: np.ndarray  # int8 index into _MATCH_TYPES
    priority: np.ndarray  # 0 exact, 1 flipped
    ambiguous: np.ndarray
    position_hit: np.ndarray  # bool[n_rows]


def _candidates(scoring: ScoringFile, sites: pd.DataFrame) -> _Candidates:
    """All (scoring row, target ALT row) pairs that match, with their match type.

    Rows and sites are joined on (chromosome, position) by a sorted search over integer
    keys and compared as allele codes: no Python object per row or pair.
    """
    variants = scoring.variants
    n_rows = len(variants)
    (chrom_rows, chrom_sites), _ = _shared_codes([variants["chrom"], sites["chrom"]])
    pos_rows = variants["pos"].to_numpy(dtype=np.int64)
    key_rows, key_sites = _position_keys(
        chrom_rows, np.maximum(pos_rows, 0), chrom_sites, sites["pos"].to_numpy(dtype=np.int64)
    )
    order = np.argsort(key_sites, kind="stable")
    sorted_keys = key_sites[order]
    del key_sites
    lo = np.searchsorted(sorted_keys, key_rows, side="left")
    n_at = np.searchsorted(sorted_keys, key_rows, side="right") - lo
    del sorted_keys, key_rows
    n_at[pos_rows < 0] = 0
    # Pair k: scoring row row[k] with the site at sorted place lo[row] + (k - first pair of row).
    row = np.repeat(np.arange(n_rows, dtype=np.int64), n_at)
    place = np.arange(len(row), dtype=np.int64)
    place += np.repeat(lo - (np.cumsum(n_at) - n_at), n_at)
    site = order[place]
    del place, order, lo

    alleles = _Alleles(
        [variants["effect_allele"], variants["other_allele"], sites["ref"], sites["alt"]]
    )
    ea_rows, oa_rows, ref_sites, alt_sites = alleles.codes
    ea, oa, ref, alt = ea_rows[row], oa_rows[row], ref_sites[site], alt_sites[site]
    no_other = oa == alleles.empty
    ea_c, oa_c = alleles.complement[ea], alleles.complement[oa]
    # Ambiguity: from the scoring alleles, or from the target's when no other allele is given.
    partner = np.where(no_other, np.where(ea != ref, ref, alt), oa)
    ambiguous = (alleles.length[ea] == 1) & (alleles.length[partner] == 1) & (ea_c == partner)
    monomorphic = alt == alleles.empty  # a record without ALT: only REF can be the effect allele
    alt_match = (ea == alt) & (no_other | (oa == ref)) & ~monomorphic
    ref_match = (ea == ref) & (no_other | (oa == alt) | monomorphic)
    alt_flip = (ea_c == alt) & (no_other | (oa_c == ref)) & ~ambiguous & ~monomorphic
    ref_flip = (ea_c == ref) & (no_other | (oa_c == alt) | monomorphic) & ~ambiguous
    match_type = np.select([alt_match, ref_match, alt_flip, ref_flip], [1, 2, 3, 4], default=0)
    fits = match_type > 0
    return _Candidates(
        row=row[fits],
        site=site[fits],
        match_type=match_type[fits].astype(np.int8),
        priority=(match_type[fits] > 2).astype(np.int8),
        ambiguous=ambiguous[fits],
        position_hit=n_at > 0,
    )


def _position_keys(
    chrom_a: np.ndarray, pos_a: np.ndarray, chrom_b: np.ndarray, pos_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One int64 per (chromosome code, position), equal exactly when both are: the code
    in the high bits when positions fit in 40 bits (always, for real genomes), otherwise
    (a position typo in a scoring file) the pair's rank among all pairs."""
    top = max(int(pos_a.max(initial=0)), int(pos_b.max(initial=0)))
    n_codes = max(int(chrom_a.max(initial=0)), int(chrom_b.max(initial=0))) + 1
    if top < 2**40 and n_codes < 2**22:
        return (
            (chrom_a.astype(np.int64) << 40) | pos_a,
            (chrom_b.astype(np.int64) << 40) | pos_b,
        )
    pairs = np.stack(
        [np.concatenate([chrom_a, chrom_b]).astype(np.int64), np.concatenate([pos_a, pos_b])],
        axis=1,
    )
    rank = np.unique(pairs, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return rank[: len(pos_a)], rank[len(pos_a) :]


def _arrow_strings(column: pd.Series) -> pa.Array:
    """A string column as one Arrow array (no copy for Arrow-backed columns)."""
    try:
        values = pa.array(column, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. integer IDs from a custom source
        values = pa.array(column.astype(str), type=pa.string(), from_pandas=True)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _take_strings(column: pd.Series, index: np.ndarray) -> pd.Series:
    """``column`` at ``index``, "" where the index is -1."""
    if not len(column):
        return pd.Series(np.full(len(index), "", dtype=object))
    taken = _arrow_strings(column).take(pa.array(np.maximum(index, 0), mask=index < 0))
    return pc.fill_null(taken, "").to_pandas()


def match_variants(
    scoring: ScoringFile,
    sites: pd.DataFrame,
    *,
    keep_ambiguous: bool = False,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    scoring_build: str | None = None,
    target_build: str | None = None,
) -> tuple[MatchPlan, MatchReport]:
    """Match a scoring file's rows to a target's sites.

    Parameters
    ----------
    scoring
        A scoring file from :func:`prs.weights.read_scorefile`.
    sites
        The target's site table (:meth:`prs.genotypes.base.GenotypeSource.sites`).
    keep_ambiguous
        Keep strand-ambiguous A/T and C/G SNPs (matched as written, never flipped).
        Default False, as the PGS Catalog Calculator.
    min_overlap
        Minimum fraction of each score's rows that must match; below it
        :class:`~prs.errors.MatchError` is raised. Default 0.75, as the PGS Catalog
        Calculator. Zero matches always fail.
    scoring_build, target_build
        Builds, used only to explain a low match rate.

    Returns
    -------
    (MatchPlan, MatchReport)

    Raises
    ------
    MatchError
        A score whose match rate is below ``min_overlap`` (or zero), naming the likely cause.
    """
    variants = scoring.variants.reset_index(drop=True)
    n_rows, n_scores = scoring.weights.shape
    if n_scores == 0:  # e.g. only dosage_*_weight columns, whose rows were all dropped
        raise ScoringFileError(
            f"{scoring.path}: nothing to score: no additive weight column"
            + (f" (dropped as unscorable: {scoring.dropped})" if scoring.dropped else "")
        )
    pairs = _candidates(scoring, sites)
    release_memory()  # the candidates' temporaries
    site_record = sites["record"].to_numpy(dtype=np.int64)
    site_allele = sites["allele_index"].to_numpy(dtype=np.int64)

    # Best candidate per scoring row: exact before flipped, then the first target record.
    order = np.lexsort(
        (site_allele[pairs.site], site_record[pairs.site], pairs.priority, pairs.row)
    )
    row, site = pairs.row[order], pairs.site[order]
    priority, pair_record = pairs.priority[order], site_record[site]
    first = np.ones(len(row), dtype=bool)
    first[1:] = row[1:] != row[:-1]
    best_site = np.full(n_rows, -1, dtype=np.int64)
    best_site[row[first]] = site[first]
    code = np.zeros(n_rows, dtype=np.int8)
    code[row[first]] = pairs.match_type[order][first]
    ambiguous = np.zeros(n_rows, dtype=bool)
    ambiguous[row[first]] = pairs.ambiguous[order][first]
    # Target records that fit as well as the best one (same priority), counted once each.
    top = priority == np.repeat(priority[first], np.diff(np.flatnonzero(np.r_[first, True])))
    new_record = first.copy()
    new_record[1:] |= pair_record[1:] != pair_record[:-1]
    fitting = np.bincount(row[top & new_record], minlength=n_rows)[:n_rows]

    has_match = best_site >= 0

    def at_best(values: np.ndarray, fill: int) -> np.ndarray:
        """The best site's value per scoring row, ``fill`` where none matched."""
        out = np.full(n_rows, fill, dtype=values.dtype)
        out[has_match] = values[best_site[has_match]]
        return out

    record = at_best(site_record, -1)
    allele_index = at_best(site_allele, 0)
    counted_allele = np.where((code == 2) | (code == 4), 0, allele_index)

    outcome_code = np.where(
        variants["pos"].to_numpy() < 0,
        _OUTCOME_CODE["unmatched_no_position"],
        np.where(
            has_match,
            _OUTCOME_CODE["matched"],
            np.where(
                pairs.position_hit,
                _OUTCOME_CODE["unmatched_allele_mismatch"],
                _OUTCOME_CODE["unmatched_no_site"],
            ),
        ),
    )
    if not keep_ambiguous:
        outcome_code[has_match & ambiguous] = _OUTCOME_CODE["excluded_ambiguous"]
    matched = outcome_code == _OUTCOME_CODE["matched"]
    reason_for = {
        "unmatched_no_position": (
            "no position in the scoring file (rsID only, or harmonization failed)"
        ),
        "unmatched_allele_mismatch": "target site at this position has other alleles",
        "unmatched_no_site": "no target variant at this position",
        "excluded_ambiguous": "strand-ambiguous A/T or C/G SNP (keep_ambiguous=False)",
        "matched": "",
    }
    # Reasons as codes: one text per outcome, then one per count of fitting duplicates.
    reason_names = [reason_for.get(o, "") for o in OUTCOMES]
    reason_code = outcome_code.astype(np.int64)
    several = np.flatnonzero(matched & (fitting > 1))
    if len(several):
        _warn_duplicate_targets(scoring, variants, several, fitting)
    counts_fitting, which = np.unique(fitting[several], return_inverse=True)
    reason_names += [
        f"{k} target records fit; the first is used, the others are duplicates"
        for k in counts_fitting.tolist()
    ]
    reason_code[several] = len(OUTCOMES) + which
    base = pd.DataFrame(
        {
            # Scoring-file columns as they are (Arrow-backed strings stay so: no copies).
            "line": variants["line"],
            "chrom": variants["chrom"],
            "pos": variants["pos"],
            "effect_allele": variants["effect_allele"],
            "other_allele": variants["other_allele"],
            "effect_type": variants["effect_type"],
            "match_type": coded_strings(code, _MATCH_TYPES),
            "target_record": record,
            "target_id": _take_strings(sites["id"], best_site),
            "target_ref": _take_strings(sites["ref"], best_site),
            "target_alt": _take_strings(sites["alt"], best_site),
            "flipped": code >= 3,
            "ambiguous": ambiguous,
            "multiallelic": at_best(sites["n_alleles"].to_numpy(), 0) > 2,
        }
    )

    weighted = ~np.isnan(scoring.weights)  # rows x scores: the score weights this row
    # Within one score a target allele counts once: a later row of the same score at the
    # same (record, counted allele) is a duplicate. Only rows sharing a key with another
    # matched row can differ between scores; they are resolved score by score.
    candidates = np.flatnonzero(matched)
    shared = candidates[_repeated_pairs(record[candidates], counted_allele[candidates])]
    duplicate = np.zeros((n_rows, n_scores), dtype=bool)
    duplicate_reason: dict[tuple[int, int], str] = {}
    if len(shared):
        lines = variants["line"].to_numpy()
        for score_index in range(n_scores):
            first: dict[tuple[int, int], int] = {}
            for row in shared[weighted[shared, score_index]]:
                key = (int(record[row]), int(counted_allele[row]))
                if key in first:
                    duplicate[row, score_index] = True
                    duplicate_reason[(int(row), score_index)] = (
                        f"same target variant as line {lines[first[key]]} of this score"
                    )
                else:
                    first[key] = row
    used = weighted & matched[:, None] & ~duplicate

    # Outcome counts per score, straight from the row outcomes and the duplicates.
    table = np.stack(
        [
            np.bincount(outcome_code[weighted[:, j]], minlength=len(OUTCOMES))
            for j in range(n_scores)
        ]
    ).astype(np.int64)
    n_duplicates = duplicate.sum(axis=0)
    table[:, OUTCOMES.index("matched")] -= n_duplicates
    table[:, OUTCOMES.index("excluded_duplicate_row")] += n_duplicates
    counts = pd.DataFrame(table, index=list(scoring.score_ids), columns=list(OUTCOMES))
    counts["n_rows"] = counts[list(OUTCOMES)].sum(axis=1)
    counts["match_rate"] = np.where(
        counts["n_rows"] > 0, counts["matched"] / counts["n_rows"].clip(lower=1), 0.0
    )
    counts.index.name = "score"

    # The per-variant table: one row per scoring row when its fate is the same in every
    # score that weights it (the score's ID, or "*" for several, with n_scores); one row per
    # score for rows whose fate differs between scores (a duplicate in some of them).
    n_weighting = weighted.sum(axis=1)
    differs = duplicate.any(axis=1)
    single = np.flatnonzero(~differs & (n_weighting > 0))
    one = n_weighting[single] == 1
    own_score = np.argmax(weighted[single], axis=1)
    ids = np.asarray(scoring.score_ids, dtype=object)
    pieces = [
        _report_rows(
            base,
            single,
            score=coded_strings(np.where(one, own_score, len(ids)), [*ids, "*"]),
            n_scores=n_weighting[single],
            weight=np.where(one, scoring.weights[single, own_score], np.nan),
            outcome=coded_strings(outcome_code[single], OUTCOMES),
            reason=coded_strings(reason_code[single], reason_names),
        )
    ]
    split_rows, split_scores = np.nonzero(weighted & differs[:, None])
    if len(split_rows):
        is_dup = duplicate[split_rows, split_scores]
        reason = np.array(reason_names, dtype=object)[reason_code]
        pieces.append(
            _report_rows(
                base,
                split_rows,
                score=ids[split_scores],
                n_scores=np.ones(len(split_rows), dtype=np.int64),
                weight=scoring.weights[split_rows, split_scores],
                outcome=np.where(
                    is_dup,
                    "excluded_duplicate_row",
                    np.array(OUTCOMES, dtype=object)[outcome_code[split_rows]],
                ),
                reason=np.array(
                    [
                        duplicate_reason.get((int(r), int(c)), reason[r])
                        for r, c in zip(split_rows, split_scores, strict=True)
                    ],
                    dtype=object,
                ),
            )
        )
    report = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    if len(pieces) > 1:
        report = report.sort_values(["line", "score"], kind="stable", ignore_index=True)
    notes = _check_overlap(counts, min_overlap, scoring, scoring_build, target_build, sites)
    match_report = MatchReport(variants=report, counts=counts, notes=tuple(notes))

    plan_rows = np.flatnonzero(used.any(axis=1))
    order = np.lexsort((counted_allele[plan_rows], record[plan_rows]))
    plan_rows = plan_rows[order]
    weights = np.where(used[plan_rows], scoring.weights[plan_rows], np.nan)
    effect_codes = scoring.effect_type_codes()
    plan = MatchPlan(
        record=record[plan_rows],
        allele=counted_allele[plan_rows].astype(np.int64),
        effect_type=effect_codes[plan_rows],
        weights=weights,
        allele_frequency=variants["allele_frequency"].to_numpy(dtype=np.float64)[plan_rows],
        line=variants["line"].to_numpy(dtype=np.int64)[plan_rows],
        score_ids=scoring.score_ids,
    )
    return plan, match_report


def _repeated_pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Whether each ``(first[i], second[i])`` pair occurs more than once."""
    order = np.lexsort((second, first))
    a, b = first[order], second[order]
    same = np.zeros(len(order) + 1, dtype=bool)
    same[1:-1] = (a[1:] == a[:-1]) & (b[1:] == b[:-1])
    repeated = np.empty(len(order), dtype=bool)
    repeated[order] = same[:-1] | same[1:]
    return repeated


def _report_rows(
    base: pd.DataFrame,
    rows: np.ndarray,
    *,
    score: np.ndarray,
    n_scores: np.ndarray,
    weight: np.ndarray,
    outcome: np.ndarray,
    reason: np.ndarray,
) -> pd.DataFrame:
    """Report rows for scoring rows ``rows`` (columns in the report's order)."""
    # Every row once, in order: the frame itself, shared, not copied. (Split rows repeat a
    # row once per score, so a count equal to the frame's is not enough.)
    whole = len(rows) == len(base) and np.array_equal(rows, np.arange(len(base)))
    frame = base.copy(deep=False) if whole else base.iloc[rows].reset_index(drop=True)
    frame.insert(1, "score", score)
    frame.insert(2, "n_scores", n_scores)
    frame.insert(9, "effect_weight", weight)
    frame["excluded"] = outcome != "matched"
    frame["outcome"] = outcome
    frame["reason"] = reason
    return frame


def _check_overlap(
    counts: pd.DataFrame,
    min_overlap: float,
    scoring: ScoringFile,
    scoring_build: str | None,
    target_build: str | None,
    sites: pd.DataFrame,
) -> list[str]:
    notes: list[str] = []
    for score_id, row in counts.iterrows():
        rate = float(row["match_rate"])
        if row["n_rows"] and rate >= min_overlap and row["matched"] > 0:
            if rate < 1.0:
                notes.append(f"{score_id}: {int(row['matched'])}/{int(row['n_rows'])} rows matched")
            continue
        cause = _likely_cause(row, scoring, scoring_build, target_build, sites)
        raise MatchError(
            f"{scoring.path}: score {score_id} matched {int(row['matched'])} of "
            f"{int(row['n_rows'])} rows ({rate:.1%}), below the minimum {min_overlap:.0%}"
            f"{'' if row['matched'] else ' (zero matches never score)'}. Likely cause: {cause}. "
            f"Outcomes: " + ", ".join(f"{k}={int(row[k])}" for k in OUTCOMES if row[k])
        )
    for note in notes:
        warnings.warn(note, ScoreWarning, stacklevel=3)
    return notes


def _warn_duplicate_targets(
    scoring: ScoringFile, variants: pd.DataFrame, rows: np.ndarray, fitting: np.ndarray
) -> None:
    """Scoring rows that fit several target records equally well (duplicate VCF records:
    same position and alleles): the first record is used, which a later record's different
    genotypes would contradict; say so with a count and an example (the match report
    names every one)."""
    first = int(rows[0])
    warnings.warn(
        f"{scoring.path}: {len(rows)} matched row(s) fit more than one target record at "
        f"their position (duplicate VCF records, or split records its alleles cannot tell "
        f"apart), e.g. line "
        f"{variants['line'].iloc[first]} at {variants['chrom'].iloc[first]}:"
        f"{variants['pos'].iloc[first]} ({int(fitting[first])} records); the first record "
        "is used (reason column of the match report); deduplicate the VCF (e.g. bcftools "
        "norm -d exact) if their genotypes differ",
        ScoreWarning,
        stacklevel=3,
    )


def _likely_cause(
    row: pd.Series,
    scoring: ScoringFile,
    scoring_build: str | None,
    target_build: str | None,
    sites: pd.DataFrame,
) -> str:
    n = max(int(row["n_rows"]), 1)
    if scoring_build and target_build and scoring_build != target_build:
        return (
            f"genome build mismatch (scoring file {scoring_build}, genotypes {target_build}); "
            "use a scoring file harmonized to the target's build"
        )
    score_chroms = set(scoring.variants["chrom"]) - {""}
    target_chroms = set(sites["chrom"]) if len(sites) else set()
    if row["unmatched_no_position"] / n > 0.5:
        return "the scoring file has no positions for most rows (rsID-only or failed harmonization)"
    if target_chroms and not (score_chroms & target_chroms):
        return (
            f"no chromosome in common (scoring file: {', '.join(sorted(score_chroms)[:5])}; "
            f"genotypes: {', '.join(sorted(target_chroms)[:5])})"
        )
    if row["excluded_ambiguous"] / n > 0.25:
        return "many strand-ambiguous A/T, C/G SNPs (keep_ambiguous=True keeps them)"
    if row["unmatched_allele_mismatch"] / n > 0.25:
        return "alleles differ at matching positions (strand or allele coding, or another build)"
    return (
        "positions missing from the genotypes: another genome build, a different chromosome "
        "subset, or a WGS VCF that omits homozygous-reference sites (score a gVCF or a joint "
        "call set with all sites)"
    )
