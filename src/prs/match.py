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

from prs.errors import MatchError
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

#: Default minimum fraction of a score's rows that must match (as the PGS Catalog Calculator).
DEFAULT_MIN_OVERLAP = 0.75


def complement(allele: str) -> str:
    """Complement of a nucleotide string (``"AC"`` -> ``"TG"``), not reversed."""
    return allele.translate(_COMPLEMENT)


def is_ambiguous(a: str, b: str) -> bool:
    """True for a strand-ambiguous SNP pair (A/T or C/G)."""
    return len(a) == 1 and len(b) == 1 and complement(a) == b


def _complement_all(alleles: np.ndarray) -> np.ndarray:
    """:func:`complement` of every allele, computed once per distinct allele."""
    codes, uniques = pd.factorize(alleles)
    done = np.array([complement(str(a)) for a in uniques], dtype=object)
    return done[codes] if len(alleles) else np.array([], dtype=object)


def _ambiguous_all(a: np.ndarray, a_complement: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`is_ambiguous` of every pair (vectorised; ``a_complement`` from
    :func:`_complement_all`)."""
    single = (pd.Series(a, dtype=object).str.len().to_numpy() == 1) & (
        pd.Series(b, dtype=object).str.len().to_numpy() == 1
    )
    return single & (a_complement == b)


@dataclass(frozen=True)
class MatchPlan:
    """What to read and how to weight it: one entry per (target record, allele) used.

    Attributes
    ----------
    record, allele
        ``int64[m]`` target record and allele index to count (0 = REF), sorted by record.
    effect_type
        ``int8[m]``: 0 additive, 1 dominant, 2 recessive.
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


_EFFECT_CODES = {"additive": 0, "dominant": 1, "recessive": 2}


def _candidates(scoring: ScoringFile, sites: pd.DataFrame, keep_ambiguous: bool) -> pd.DataFrame:
    """All (scoring row, target ALT row) pairs that match, with their match type."""
    rows = scoring.variants.reset_index(drop=True).assign(row=lambda d: np.arange(len(d)))
    rows = rows[rows["pos"] >= 0]
    pairs = rows.merge(sites.rename(columns={"id": "target_id"}), on=["chrom", "pos"], how="inner")
    if pairs.empty:
        return pairs.assign(
            match_type=pd.Series(dtype=object),
            priority=pd.Series(dtype=int),
            ambiguous=pd.Series(dtype=bool),
        )
    ea = pairs["effect_allele"].to_numpy(dtype=object)
    oa = pairs["other_allele"].to_numpy(dtype=object)
    ref = pairs["ref"].to_numpy(dtype=object)
    alt = pairs["alt"].to_numpy(dtype=object)
    no_other = oa == ""
    ea_c = _complement_all(ea)
    oa_c = _complement_all(oa)
    # Ambiguity: from the scoring alleles, or from the target's when no other allele is given.
    partner = np.where(no_other, np.where(ea != ref, ref, alt), oa)
    ambiguous = _ambiguous_all(ea, ea_c, partner.astype(object))
    monomorphic = alt == ""  # a record without ALT: only REF can be the effect allele
    alt_match = (ea == alt) & (no_other | (oa == ref)) & ~monomorphic
    ref_match = (ea == ref) & (no_other | (oa == alt) | monomorphic)
    alt_flip = (ea_c == alt) & (no_other | (oa_c == ref)) & ~ambiguous & ~monomorphic
    ref_flip = (ea_c == ref) & (no_other | (oa_c == alt) | monomorphic) & ~ambiguous
    match_type = np.select(
        [alt_match, ref_match, alt_flip, ref_flip],
        ["alt", "ref", "alt_flip", "ref_flip"],
        default="",
    )
    priority = np.select([alt_match | ref_match, alt_flip | ref_flip], [0, 1], default=9)
    pairs = pairs.assign(match_type=match_type, priority=priority, ambiguous=ambiguous)
    pairs = pairs[pairs["match_type"] != ""]
    return pairs


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
    pairs = _candidates(scoring, sites, keep_ambiguous)
    position_hit = np.zeros(n_rows, dtype=bool)
    if n_rows and len(sites):
        keys = pd.MultiIndex.from_frame(sites[["chrom", "pos"]])
        position_hit = np.asarray(pd.MultiIndex.from_frame(variants[["chrom", "pos"]]).isin(keys))

    # Best candidate per scoring row: exact before flipped, then the first target record.
    pairs = pairs.sort_values(["row", "priority", "record", "allele_index"], kind="stable")
    best = pairs.drop_duplicates("row", keep="first").set_index("row").reindex(range(n_rows))
    top = pairs[pairs["priority"] == pairs.groupby("row")["priority"].transform("min")]
    n_fitting = top.groupby("row")["record"].nunique().reindex(range(n_rows), fill_value=0)

    has_match = best["record"].notna().to_numpy()
    record = best["record"].fillna(-1).to_numpy(dtype=np.int64)
    allele_index = best["allele_index"].fillna(0).to_numpy(dtype=np.int64)
    match_type = best["match_type"].fillna("").to_numpy(dtype=object)
    ambiguous = best["ambiguous"].fillna(False).to_numpy(dtype=bool)
    counted_allele = np.where(np.char.startswith(match_type.astype(str), "ref"), 0, allele_index)

    outcome = np.where(
        variants["pos"].to_numpy() < 0,
        "unmatched_no_position",
        np.where(
            has_match,
            "matched",
            np.where(position_hit, "unmatched_allele_mismatch", "unmatched_no_site"),
        ),
    ).astype(object)
    outcome[has_match & ambiguous & (not keep_ambiguous)] = "excluded_ambiguous"
    reason_for = {
        "unmatched_no_position": (
            "no position in the scoring file (rsID only, or harmonization failed)"
        ),
        "unmatched_allele_mismatch": "target site at this position has other alleles",
        "unmatched_no_site": "no target variant at this position",
        "excluded_ambiguous": "strand-ambiguous A/T or C/G SNP (keep_ambiguous=False)",
        "matched": "",
    }
    fitting = n_fitting.to_numpy()
    duplicate_targets = np.full(n_rows, "", dtype=object)
    several = np.flatnonzero(has_match & (fitting > 1))
    duplicate_targets[several] = [
        f"{k} target records fit; the first is used, the others are duplicates"
        for k in fitting[several]
    ]
    base = pd.DataFrame(
        {
            "line": variants["line"].to_numpy(),
            "chrom": variants["chrom"].to_numpy(),
            "pos": variants["pos"].to_numpy(),
            "effect_allele": variants["effect_allele"].to_numpy(),
            "other_allele": variants["other_allele"].to_numpy(),
            "effect_type": variants["effect_type"].to_numpy(),
            "match_type": match_type,
            "target_record": record,
            "target_id": best["target_id"].fillna("").to_numpy(dtype=object),
            "target_ref": best["ref"].fillna("").to_numpy(dtype=object),
            "target_alt": best["alt"].fillna("").to_numpy(dtype=object),
            "flipped": np.char.endswith(match_type.astype(str), "flip"),
            "ambiguous": ambiguous,
            "multiallelic": best["n_alleles"].fillna(2).to_numpy() > 2,
        }
    )

    weighted = ~np.isnan(scoring.weights)  # rows x scores: the score weights this row
    matched = outcome == "matched"
    # Within one score a target allele counts once: a later row of the same score at the
    # same (record, counted allele) is a duplicate. Only rows sharing a key with another
    # matched row can differ between scores; they are resolved score by score.
    candidates = np.flatnonzero(matched)
    keys = pd.DataFrame({"r": record[candidates], "a": counted_allele[candidates]})
    shared = candidates[keys.duplicated(keep=False).to_numpy()]
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
    codes = pd.Categorical(outcome, categories=list(OUTCOMES)).codes
    onehot = np.zeros((n_rows, len(OUTCOMES)), dtype=np.int64)
    onehot[np.arange(n_rows), codes] = 1
    table = weighted.T.astype(np.int64) @ onehot
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
    reason = pd.Series(outcome, dtype=object).map(reason_for).to_numpy(dtype=object)
    reason = np.where(matched, duplicate_targets, reason)
    pieces = [
        _report_rows(
            base,
            single,
            score=np.where(one, ids[own_score], "*"),
            n_scores=n_weighting[single],
            weight=np.where(one, scoring.weights[single, own_score], np.nan),
            outcome=outcome[single],
            reason=reason[single],
        )
    ]
    split_rows, split_scores = np.nonzero(weighted & differs[:, None])
    if len(split_rows):
        is_dup = duplicate[split_rows, split_scores]
        pieces.append(
            _report_rows(
                base,
                split_rows,
                score=ids[split_scores],
                n_scores=np.ones(len(split_rows), dtype=np.int64),
                weight=scoring.weights[split_rows, split_scores],
                outcome=np.where(is_dup, "excluded_duplicate_row", outcome[split_rows]),
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
    effect_codes = variants["effect_type"].map(_EFFECT_CODES).to_numpy()
    plan = MatchPlan(
        record=record[plan_rows],
        allele=counted_allele[plan_rows].astype(np.int64),
        effect_type=effect_codes[plan_rows].astype(np.int8),
        weights=weights,
        allele_frequency=variants["allele_frequency"].to_numpy(dtype=np.float64)[plan_rows],
        line=variants["line"].to_numpy(dtype=np.int64)[plan_rows],
        score_ids=scoring.score_ids,
    )
    return plan, match_report


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
    frame = base.iloc[rows].reset_index(drop=True)
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
        warnings.warn(note, stacklevel=3)
    return notes


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
